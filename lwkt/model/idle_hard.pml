/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * idle_hard.pml: the LWKT idle loop with hard IPIs (lc_hard_ipi, zero
 * idle spin).  A sleeper thread D lives on cpu T; a waker on cpu S sets
 * D's flag and sends the "schedule D" IPI to T, and signals T (SIGURG)
 * when it believes T runs a thread.  The signal handler runs T's rings
 * only if T's current context is outside a critical section.
 *
 * The variant is chosen with -DVARIANT=n at "spin -a" time:
 *   VARIANT 1  the runtime: the idle loop keeps its critical section from
 *              "no thread to run" through the re-check and the sleep, and
 *              the re-check looks at the run queue too        -> must hold
 *   VARIANT 2  the old loop: the count is dropped after choosing no
 *              thread, the re-check looks at the rings only    -> must FAIL
 *   VARIANT 3  count dropped, re-check sees the run queue      -> must hold
 *   VARIANT 4  count kept, re-check looks at the rings only    -> must hold
 * 3 and 4 show that either half of the fix alone closes the window.
 *
 * Memory: sequentially consistent.  The ordering of the ring write
 * against the idle word is idle_wake.pml's subject (x86-TSO, membarrier);
 * here that Dekker pair is taken as correct and the question is only the
 * interleaving of the signal handler with the idle loop.
 *
 * Property (no lost wake-up): never T asleep in FUTEX_WAIT, the waker
 * done, and D runnable or its IPI unread.  Also pan's end-state check: a
 * run may not stop with T blocked in FUTEX_WAIT (no end label there).
 */

#ifndef VARIANT
#define VARIANT 1
#endif
#if VARIANT == 1
#define KEEP_CRIT 1
#define SEE_RUNQ 1
#elif VARIANT == 2
#define KEEP_CRIT 0
#define SEE_RUNQ 0
#elif VARIANT == 3
#define KEEP_CRIT 0
#define SEE_RUNQ 1
#elif VARIANT == 4
#define KEEP_CRIT 1
#define SEE_RUNQ 0
#else
#error VARIANT must be 1..4
#endif

bool ring;		/* the "schedule D" IPI sits in T's incoming ring */
bool runq;		/* D is on T's run queue */
bool ran;		/* D ran (it saw its flag): the wake-up arrived */
byte crit;		/* T's current context's critical-section count */
bool idle;		/* T's idle futex word: 1 = asleep or about to */
bool sigpend;		/* a SIGURG is pending for T */
bool t_asleep;		/* T blocked in FUTEX_WAIT */
bool w_done;		/* the waker finished its send (wake included) */

/* Runs T's ring: the IPI makes D runnable. */
inline process_ring()
{
	if
	:: ring -> ring = 0; runq = 1
	:: else -> skip
	fi
}

/*
 * The waker on cpu S: flag, ring write, then the sender half of the
 * idle/wake Dekker (SC here).  With idle == 0 it may signal T: gd_inthread
 * is read relaxed, so a stale 1 (T's thread just blocked) is allowed.
 */
proctype waker()
{
	atomic { ring = 1; printf("MSC: S: flag=1, schedule-D IPI into T's ring\n") }
	if
	:: atomic { idle == 0 ->
		if
		:: sigpend = 1; printf("MSC: S: idle==0, T seen in a thread: SIGURG\n")
		:: printf("MSC: S: idle==0, T seen polling: no signal\n")
		fi }
	:: atomic { idle == 1 -> idle = 0; t_asleep = 0;
		printf("MSC: S: idle==1: xchg to 0, FUTEX_WAKE\n") }
	fi;
	w_done = 1
}

/*
 * SIGURG on T, at any point of T's execution (also in FUTEX_WAIT: the
 * wait returns EINTR and T re-checks the idle word).  The handler runs
 * the rings only outside a critical section.
 */
proctype handler()
{
end:	do
	:: atomic {
		sigpend ->
		sigpend = 0;
		if
		:: crit == 0 -> process_ring();
			printf("MSC: T: SIGURG handler, crit 0: runs the ring (D runnable: %d)\n", runq)
		:: else -> printf("MSC: T: SIGURG handler, crit %d: leaves the ring\n", crit)
		fi;
		t_asleep = 0	/* EINTR: back to the idle-word check */
	   }
	od
}

/* T's idle loop, zero spin budget, until D has run. */
proctype target()
{
	do
	:: ran -> break
	:: else ->
		atomic { crit = 1; printf("MSC: T: idle loop: crit 1\n") }
		atomic { process_ring(); printf("MSC: T: runs its ring (D runnable: %d)\n", runq) }
		if
		:: runq ->
			/* switch to D: it sees its flag and finishes */
			atomic { runq = 0; ran = 1; crit = 0;
				 printf("MSC: T: switches to D: the wake-up arrived\n") }
		:: else ->
#if !KEEP_CRIT
			atomic { crit = 0; printf("MSC: T: no thread: crit 0\n") }
#endif
			atomic { idle = 1; printf("MSC: T: idle=1 (then membarrier)\n") }
			/* the re-check before the sleep */
			if
			:: atomic { (ring
#if SEE_RUNQ
				     || runq
#endif
				    ) -> idle = 0;
				printf("MSC: T: re-check: work, no sleep\n") }
			:: atomic { !(ring
#if SEE_RUNQ
				      || runq
#endif
				     ) ->
				printf("MSC: T: re-check: nothing (ring %d, runq %d)\n", ring, runq) }
				/* while (idle == 1) FUTEX_WAIT(&idle, 1) */
				do
				:: atomic { idle == 1 -> t_asleep = 1;
					printf("MSC: T: FUTEX_WAIT: sleeps\n") }
					/* no end label: blocked here forever is
					 * an invalid end state */
					!t_asleep
				:: atomic { idle == 0 -> break }
				od
			fi
#if !KEEP_CRIT
			;
			atomic { crit = 1 }
#endif
		fi
	od
}

#ifndef NO_MONITOR
active proctype monitor()
{
	assert(!(t_asleep && w_done && (runq || ring)))
}
#endif

init
{
	atomic {
		run handler();
		run target();
		run waker()
	}
}
