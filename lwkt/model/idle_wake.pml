/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * idle_wake.pml: the LWKT idle/wake protocol (signalling mode 2: idle target)
 * between one sender cpu S and one target cpu T, under x86-TSO.
 *
 * One source; the variant is chosen with -DVARIANT=n at "spin -a" time:
 *   VARIANT 1  asymmetric: S has a compiler barrier only, T going idle
 *              issues membarrier(PRIVATE_EXPEDITED)       -> must hold
 *   VARIANT 2  symmetric: mfence on both sides             -> must hold
 *   VARIANT 3  asymmetric with the membarrier removed (compiler barrier
 *              on both sides)                               -> must FAIL
 *   VARIANT 4  symmetric without T's mfence (S fences only) -> must FAIL
 *   VARIANT 5  symmetric without S's mfence (T fences only) -> must FAIL
 * 4 and 5 show that each fence of the symmetric protocol is needed.
 * NPOSTS (default 4; the runner passes it) bounds the number of IPIs S posts.
 *
 * Memory model (x86-TSO): each cpu has a FIFO store buffer (sb[cpu]);
 * a store enters the buffer; a load returns the newest buffered store of
 * the same cpu to that address, else memory; a drainer process per cpu
 * moves the oldest buffered store to memory at any time; mfence and
 * locked RMW (xchg, the futex hash-bucket lock) wait until the buffer of
 * their cpu is empty.  Only S writes W and only T writes IDLE (apart
 * from S's xchg, a locked RMW that goes straight to memory).
 *
 * Property (no lost wake-up), checked in every reachable state by the
 * monitor: never T asleep in FUTEX_WAIT while S is between posts (its
 * last post, wake included, is complete) and an item S posted is not yet
 * consumed.  In addition pan's end-state check fails if the run can stop
 * with T blocked in FUTEX_WAIT (no end label there).
 */

#ifndef VARIANT
#define VARIANT 1
#endif
#ifndef NPOSTS
#define NPOSTS 4
#endif

/* What each side issues between its store and its load. */
#define BAR_NONE	0	/* compiler barrier only: no instruction */
#define BAR_MFENCE	1	/* full fence on this cpu */
#define BAR_MEMBARRIER	2	/* membarrier(PRIVATE_EXPEDITED), T only */
#if VARIANT == 1
#define S_BAR	BAR_NONE
#define T_BAR	BAR_MEMBARRIER
#elif VARIANT == 2
#define S_BAR	BAR_MFENCE
#define T_BAR	BAR_MFENCE
#elif VARIANT == 3
#define S_BAR	BAR_NONE
#define T_BAR	BAR_NONE
#elif VARIANT == 4
#define S_BAR	BAR_MFENCE
#define T_BAR	BAR_NONE
#elif VARIANT == 5
#define S_BAR	BAR_NONE
#define T_BAR	BAR_MFENCE
#else
#error VARIANT must be 1..5
#endif

#define S	0	/* sender cpu */
#define T	1	/* target cpu (goes idle) */
#define W	0	/* address: ring write index (the "slot" S publishes) */
#define IDLE	1	/* address: T's idle futex word, 1 = asleep or about to */
#define NADDR	2
/* Store-buffer entries per cpu: room for every store S makes (a full
 * buffer would stall the cpu, which hides interleavings) plus T's two
 * idle stores between its fences. */
#define SBSZ	(NPOSTS + 2)

byte mem[NADDR];			/* shared memory */
chan sb[2] = [SBSZ] of { byte, byte };	/* per-cpu store buffer {addr, val} */
byte pend[4];		/* [cpu*NADDR+addr]: stores of cpu to addr not drained */
byte shadow[4];		/* [cpu*NADDR+addr]: newest buffered value */

/* Ghost state for the property (not part of the protocol). */
bool t_asleep;		/* T is blocked in FUTEX_WAIT (woken: false) */
bool s_between = 1;	/* S is not inside a post */
byte s_posted;		/* posts S has completed */
byte t_consumed;	/* items T has processed (its read index) */

/* TSO store: into the cpu's own buffer (blocks while it is full). */
inline tso_store(cpu, a, v)
{
	atomic {
		sb[cpu]!a, v;
		pend[cpu*NADDR+a]++;
		shadow[cpu*NADDR+a] = v
	}
}

/* TSO load: own newest buffered store first (store forwarding). */
inline tso_load(cpu, a, x)
{
	atomic {
		if
		:: pend[cpu*NADDR+a] > 0 -> x = shadow[cpu*NADDR+a]
		:: else -> x = mem[a]
		fi
	}
}

/* Move the oldest buffered store of cpu to memory; caller is atomic. */
inline drain_one(cpu, da, dv)
{
	sb[cpu]?da, dv;
	mem[da] = dv;
	pend[cpu*NADDR+da]--
}

/* mfence: wait until the store buffer of cpu has drained. */
inline mfence(cpu)
{
	empty(sb[cpu])
}

/*
 * Store-buffer drainer: memory sees the cpu's buffered stores, oldest
 * first, at any time.  The printf lines only label the replayed trail
 * (pan does not print them while it searches).
 */
proctype drainer(byte cpu)
{
	byte da, dv;
end:	do
	:: atomic {
		nempty(sb[cpu]) -> drain_one(cpu, da, dv);
		if
		:: da == W -> printf("MSC: drain: S's store W=%d reaches memory\n", dv)
		:: else -> printf("MSC: drain: T's store idle=%d reaches memory\n", dv)
		fi
	   }
	od
}

proctype sender()
{
	byte w, idle, old;

	do
	:: w < NPOSTS ->
		/* (1) publish the slot: a plain (release) store. */
		atomic {
			s_between = 0;
			w++;
			tso_store(S, W, w);
			printf("MSC: S: post %d: store W=%d (into S's store buffer)\n", w, w)
		}
		/* (2) pairs with T's barrier before its ring re-check. */
#if S_BAR == BAR_MFENCE
		atomic { mfence(S); printf("MSC: S: mfence\n") }
#endif
		/* (3) is T asleep or about to sleep? */
		atomic {
			tso_load(S, IDLE, idle);
			printf("MSC: S: post %d: load idle -> %d\n", w, idle)
		}
		if
		:: idle == 1 ->
			/* locked xchg: drains S's buffer, then swaps in memory */
			atomic {
				mfence(S) -> old = mem[IDLE]; mem[IDLE] = 0;
				printf("MSC: S: xchg(idle, 0) -> old %d\n", old)
			}
			if
			:: old == 1 ->
				/* FUTEX_WAKE: under the bucket lock, wakes a sleeper */
				atomic {
					printf("MSC: S: FUTEX_WAKE (T asleep: %d)\n", t_asleep);
					t_asleep = 0; s_posted++; s_between = 1
				}
			:: else ->
				atomic { s_posted++; s_between = 1 }
			fi
		:: else ->
			/* T polls (or so S saw): the ring write is all. */
			atomic {
				s_posted++; s_between = 1;
				printf("MSC: S: post %d done, no wake\n", w)
			}
		fi
	:: else -> break
	od
}

proctype target()
{
	byte w, da, dv;

	do
	:: t_consumed == NPOSTS -> break
	:: else ->
		/* Process what the ring shows; zero spin budget: if it is
		 * empty, go idle at once. */
		atomic {
			tso_load(T, W, w);
			printf("MSC: T: poll ring: W=%d, consumed %d\n", w, t_consumed)
		}
		if
		:: w != t_consumed -> t_consumed = w
		:: else ->
			/* (1) announce: asleep or about to sleep. */
			atomic {
				tso_store(T, IDLE, 1);
				printf("MSC: T: store idle=1 (into T's store buffer)\n")
			}
			/* (2) the barrier before the re-check. */
#if T_BAR == BAR_MEMBARRIER
			/* membarrier(PRIVATE_EXPEDITED): T's own full fence, then
			 * every other running thread (S) passes a full fence at
			 * one point of its program: S's stores issued before that
			 * point reach memory, in order. */
			atomic { mfence(T); printf("MSC: T: membarrier: own fence\n") }
			atomic {
				do
				:: nempty(sb[S]) -> drain_one(S, da, dv)
				:: empty(sb[S]) -> break
				od;
				printf("MSC: T: membarrier: S fenced, S's stores visible\n")
			}
#elif T_BAR == BAR_MFENCE
			atomic { mfence(T); printf("MSC: T: mfence\n") }
#endif
			/* (3) re-check the ring. */
			atomic {
				tso_load(T, W, w);
				printf("MSC: T: re-check ring: W=%d, consumed %d\n", w, t_consumed)
			}
			if
			:: w != t_consumed ->
				/* an IPI came in: cancel the sleep and process */
				tso_store(T, IDLE, 0);
				t_consumed = w
			:: else ->
				/* (4) FUTEX_WAIT(&idle, 1): takes the hash-bucket lock
				 * (a locked op: drains T's buffer), then checks
				 * idle == 1 and sleeps, atomically against FUTEX_WAKE. */
				atomic {
					mfence(T) ->
					if
					:: mem[IDLE] == 1 -> t_asleep = 1;
						printf("MSC: T: FUTEX_WAIT: idle==1, sleeps\n")
					:: else -> /* EAGAIN: returns at once */
						printf("MSC: T: FUTEX_WAIT: idle!=1, returns\n")
					fi
				}
				/* Blocked here until a FUTEX_WAKE: no end label, so a
				 * run that stops here is an invalid end state. */
				!t_asleep;
				tso_store(T, IDLE, 0)
				/* loop: process the ring */
			fi
		fi
	od
}

/*
 * No lost wake-up: the assertion is evaluated in every reachable state
 * (the monitor may take its one step at any point of any interleaving).
 * -DNO_MONITOR leaves only pan's end-state check: then a violation is a
 * run that ends with S done and T asleep forever.
 */
#ifndef NO_MONITOR
active proctype monitor()
{
	assert(!(t_asleep && s_between && s_posted != t_consumed))
}
#endif

init
{
	atomic {
		mem[W] = 0;
		mem[IDLE] = 0;
		run drainer(S);
		run drainer(T);
		run sender();
		run target()
	}
}
