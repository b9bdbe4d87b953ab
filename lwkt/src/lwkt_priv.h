/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_priv.h - the runtime's private structures (never installed).
 *
 * Ownership, in one line each (details at each struct):
 *   struct lwkt_cpu     written by its own host pthread, except the fields
 *                       marked "remote" (idle word, signal flag, inbox).
 *   struct lwkt_ipiring producer fields by the src cpu, consumer fields by
 *                       the dst cpu, slots handed over by a sequence word.
 *   struct lwkt_thread  by the cpu it lives on; td_exited is published to
 *                       joiners on other threads.
 */
#ifndef LWKT_SRC_PRIV_H
#define LWKT_SRC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lwkt/arch.h"
#include "lwkt/cpu.h"
#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/thread.h"

/* ---- misuse: DragonFly panics, we abort with the context (cpu.c).
 * The one upward call every file may make: it never returns, like
 * DragonFly's panic() called from lwkt_ipiq.c and everywhere else. ---- */
__attribute__((noreturn, format(printf, 1, 2)))
void lwkt_panic(const char *fmt, ...);
#define LWKT_ASSERT(cond, ...)						\
	do { if (__builtin_expect(!(cond), 0)) lwkt_panic(__VA_ARGS__); } while (0)

/* ---- execution contexts (ctx.c): Boost.Context fcontext ---- */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
#if defined(__x86_64__)
/* ctx_x86_64.S: the same contract without the MXCSR/x87 control-word
 * save and restore (threads share the FP environment; see the file). */
transfer_t _lwkt_jump(fcontext_t const to, void *vp);
fcontext_t _lwkt_make(void *sp, size_t size, void (*fn)(transfer_t));
#define LWKT_JUMP _lwkt_jump
#define LWKT_MAKE _lwkt_make
#else
#define LWKT_JUMP jump_fcontext
#define LWKT_MAKE make_fcontext
#endif

/* A place a cpu can run: a thread's stack, or the cpu's own pthread
 * stack (its scheduler/idle loop).  Only its cpu touches it. */
struct lwkt_ctx {
	fcontext_t c_fctx;		/* saved when switched away */
	void *c_stack_lo;		/* for ASan: lowest address */
	size_t c_stack_size;
	void *c_tsan_fiber;		/* for TSan */
	unsigned c_vg_stack;		/* valgrind's stack id, 0 if none */
};

/* ---- futex: the one wrapper of the runtime (no glibc wrapper exists) */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline long
_lwkt_futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)uaddr, op, val, NULL, NULL, 0);
}

/* ---- single-writer counters: a plain add, never a locked RMW ---- */
static inline void
lwkt_stat_inc(_Atomic uint64_t *c)
{
	/* Only the owning cpu writes: load+store, relaxed (readers only
	 * want a recent value).  fetch_add would be a bus-locked add. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + 1, memory_order_relaxed);
}

/* ---- IPI ring (ipiq.c) ---- */

/*
 * One slot carries its own sequence word, so the target polls the slot,
 * not a shared index: one cache-line transfer carries one message (two
 * 32-byte slots per line).  Measured on the reference 2-core EPYC VM:
 * a polled round trip 1.08-1.41x the raw cache-line ping-pong of the same
 * run (a ring with shared head/tail indices moves two lines a message).
 *
 * (is_seq & LWKT_IPISEQ_NUM) == n + 1 means "slot holds entry n" (n =
 * free-running index).  Producer: writes the words (plain), then
 * release-stores is_seq.  Consumer: acquire-loads is_seq, copies out.
 *
 * Two kinds of entry:
 *   call   one slot, is_func(is_arg1, is_arg2).
 *   value  LWKT_IPISEQ_VALUE set: a message travelling by value
 *          (msgport_value.c): the head's three words, then
 *          LWKT_IPISEQ_TAILS(seq) (1 or 2) tail slots of three data words
 *          each, whose is_seq is 0 (never a valid sequence: a consumer
 *          that meets a stale tail at its read index sees "empty").  The
 *          producer writes the tails before the head's release store; the
 *          consumer copies head and tails out before it moves ir_rindex
 *          past them all.
 */
struct lwkt_ipislot {
	_Atomic uint64_t is_seq;
	union {
		struct {
			lwkt_ipifunc_t is_func;
			void *is_arg1;
			void *is_arg2;
		};
		uint64_t is_word[3];	/* value entries */
	};
};
#define LWKT_IPISEQ_VALUE	(1ull << 63)
#define LWKT_IPISEQ_TAILSHIFT	61
#define LWKT_IPISEQ_TAILS(seq)	((unsigned)((seq) >> LWKT_IPISEQ_TAILSHIFT) & 3)
#define LWKT_IPISEQ_NUM		((1ull << LWKT_IPISEQ_TAILSHIFT) - 1)
/* True if sequence word sq says "entry n" (n + 1 = want), of either kind:
 * the low 61 bits equal.  A shift drops the kind bits (xor + shift: one
 * instruction less than a 64-bit mask on the poll paths). */
#define LWKT_IPISEQ_IS(sq, want) \
	((((sq) ^ (want)) << (64 - LWKT_IPISEQ_TAILSHIFT)) == 0)
/* A value entry's words: 3 in the head, 3 per tail, at most 2 tails. */
#define LWKT_IPIVAL_MAXTAILS	2
#define LWKT_IPIVAL_WORDS	(3 + 3 * LWKT_IPIVAL_MAXTAILS)

/* A call waiting in a ring's overflow (src cpu only). */
struct lwkt_ipicall {
	lwkt_ipifunc_t ic_func;
	void *ic_arg1, *ic_arg2;
};

/*
 * Ring from cpu src to cpu dst.  Indices run free: fill = w - r.
 *   ir_windex     producer only (src cpu).
 *   ir_rcache     producer only: last ir_rindex seen (re-read when the
 *                 ring looks full).
 *   ir_stalled    producer only: a full-ring wait on this ring has warned
 *                 (the IPI watchdog); nested waits stay quiet.
 *   ir_ovf*       producer only: calls made by IPI functions that ran
 *                 inside a full-ring wait of the src cpu and found this
 *                 ring full (ipiq.c, "nested sends"), oldest at
 *                 ir_ovf_head of a circular array of ir_ovf_cap.
 *   ir_rindex     written by the consumer (dst) with release after it
 *                 copied a slot out; the producer acquire-loads it before
 *                 reusing slots.  Advanced BEFORE the function runs, so a
 *                 nested poll (a function that sends into a full ring and
 *                 drains meanwhile) continues after it, never re-runs it.
 *   ir_hold       producer only: the first held entry's slot, the
 *   ir_hold_seq   sequence word it waits for, and how many entries are
 *   ir_nheld      held in all (0: none).
 * Producer and consumer fields sit on separate cache lines.
 *
 * Held sends (batching, lc_ipi_batch > 0): the fast send paths
 * (ipiq_fast.h) write their entries as usual but keep back the release
 * store of the FIRST entry's sequence word; the entries behind it store
 * theirs at once (relaxed).  The consumer reads in order from ir_rindex,
 * so it cannot see past the held head: the burst stays invisible until
 * the flush release-stores that one word, which also publishes every
 * word written before it (the consumer's acquire of the head pairs with
 * it).  One release, one line hand-over per two slots and one wake-up
 * check per burst instead of per entry: the batching of Seastar's
 * smp_message_queue (core/smp.cc, flush_request_batch), flushed here
 * when the sending cpu polls or switches.
 */
struct lwkt_ipiring {
	_Alignas(LWKT_CACHELINE) uint64_t ir_windex;	/* src only */
	uint64_t ir_rcache;				/* src only */
	bool ir_stalled;				/* src only */
	uint32_t ir_ovf_head, ir_ovf_n, ir_ovf_cap;	/* src only */
	struct lwkt_ipicall *ir_ovf;			/* src only */
	struct lwkt_ipislot *ir_hold;			/* src only */
	uint64_t ir_hold_seq;				/* src only */
	unsigned ir_nheld;				/* src only */
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t ir_rindex;	/* dst writes */
	_Alignas(LWKT_CACHELINE) struct lwkt_ipislot ir_slot[];	/* 2^n */
};

/* Outside callers' inbox entry (ipiq_inbox.c). */
struct lwkt_inbox_item {
	struct lwkt_inbox_item *ii_next;
	lwkt_ipifunc_t ii_func;
	void *ii_arg1, *ii_arg2;
};

/* ---- run queue / threads (thread.c) ---- */
struct lwkt_thread {
	struct lwkt_ctx td_ctx;
	struct lwkt_cpu *td_gd;		/* cpu it lives on (changes only by
					 * migrate, while not running) */
	struct lwkt_thread *td_rqnext;	/* run queue link (td_gd only) */
	struct lwkt_thread *td_rqprev;
	struct lwkt_thread *td_slnext;	/* tsleep queue link (td_gd only) */
	const void *td_wchan;		/* tsleep channel, NULL if none */
	int td_pri;
	int td_critcount;		/* saved crit depth (crit.h) */
	unsigned td_flags;
#define TDF_RUNQ	0x0001		/* on td_gd's run queue */
#define TDF_EXITING	0x0002
#define TDF_DETACHED	0x0004
#define TDF_IDLE	0x0008		/* the cpu's own scheduler context */
#define TDF_MIGRATING	0x0010
	uint64_t td_id;
	lwkt_thread_fn td_fn;
	void *td_arg;
	void *td_stack;			/* mmap base (guard page first) */
	size_t td_stack_map;		/* bytes mapped */
	/* 0 while alive; 1 once the stack is gone.  Release-stored by the
	 * reaping cpu after its last touch of td; joiners acquire-load it
	 * (then own td).  Also a futex word for outside joiners. */
	_Atomic uint32_t td_exited;
	int td_migrate_to;		/* target cpu while TDF_MIGRATING */
	bool td_joinable;		/* immutable after lwkt_create: join
					 * reads it from any thread */
	void *td_msgport;		/* its own port (msgport_thread.c) */
	void *td_tokens;		/* held tokens (token.c) */
	char td_name[32];
	/* All live threads of the runtime (rt_threads, under
	 * rt_threads_lock): linked at create, unlinked at reap, read by
	 * lwkt_shutdown to name the threads it waits for. */
	struct lwkt_thread *td_allnext, *td_allprev;
};

/* ---- a cpu ("globaldata") ---- */
struct lwkt_cpu {
	int gd_cpuid;
	unsigned gd_pu;
	pthread_t gd_pthread;
	struct lwkt_thread *gd_curthread;	/* own cpu only */
	struct lwkt_thread gd_idlethread;	/* scheduler context */
	/* Run queue: one doubly-linked list per priority, bitmap of the
	 * non-empty ones.  Own cpu only. */
	struct lwkt_thread *gd_rqhead[LWKT_PRI_MAX + 1];
	struct lwkt_thread *gd_rqtail[LWKT_PRI_MAX + 1];
	uint32_t gd_rqmask;
	struct lwkt_thread *gd_sleepq;		/* tsleep'ing threads */
	int gd_nthreads;			/* live threads on this cpu */
	/* Work left by a switch for the context that resumes (thread.c):
	 * a dead thread whose stack we just left, a migrating thread. */
	struct lwkt_thread *gd_dead;
	struct lwkt_thread *gd_migrating;
	bool gd_stopping;			/* own cpu (set by an IPI) */
	bool gd_started;

	/* Incoming rings: gd_inring[src] (src's producer side lives in the
	 * same struct); owned by whom the ring comments say. */
	struct lwkt_ipiring **gd_inring;	/* [ncpus], NULL for self */
	/* The same incoming rings packed (no NULL), their source cpus, and
	 * the ring index mask: read on every poll, so kept here instead of
	 * behind lwkt_rt (shorter dependent-load chain).  Set at init,
	 * read-only after. */
	struct lwkt_ipiring **gd_inlist;	/* [gd_nin] */
	int *gd_insrc;				/* [gd_nin] */
	int gd_nin;
	unsigned gd_ipiq_mask;
	struct lwkt_ipiring **gd_outring;	/* [ncpus] = dst's inring[us] */
	/* Own cpu only (ipiq.c): how many full-ring waits are draining
	 * (nested sends inside them never wait), how many of our out rings
	 * hold an overflow, and whether the SIGURG handler runs IPIs (no
	 * malloc there). */
	int gd_ipi_depth;
	int gd_novf;
	bool gd_in_sig;
	/* Set at start, read-only after, copied from the runtime so the
	 * fast paths read this cpu's own (hot) struct only:
	 *   gd_tok_inline  the running thread's token list is published for
	 *                  inline code (_lwkt_tls_tok); false with hard IPIs,
	 *                  where that code would need a critical section;
	 *   gd_ipi_fast    the inline IPI send may run (ipiq_fast.h); false
	 *                  with hard IPIs, for the same reason;
	 *   gd_fence_sym   LWKT_FENCE_SYMMETRIC is in force;
	 *   gd_ncpus       the runtime's cpu count. */
	bool gd_tok_inline;
	bool gd_ipi_fast;
	bool gd_fence_sym;
	int gd_ncpus;
	/* Polls a waiter makes before it PAUSEs (lc_poll_pause; 0: from
	 * the first). */
	unsigned gd_poll_pause;
	/* Held sends: gd_ipi_batch is lc_ipi_batch (0: off; read-only after
	 * start); gd_held has bit c set while the ring to cpu c holds
	 * entries back (own cpu only).  Flushed at every poll of the
	 * incoming rings and every switch (_lwkt_ipiq_flush), or when a
	 * ring holds gd_ipi_batch entries. */
	unsigned gd_ipi_batch;
	uint64_t gd_held;
	/* Messages received by value (msgport_value.c), own cpu only: the
	 * free copies (a LIFO list, at most LWKT_VMSG_KEEP kept), their
	 * count, and the copies a handler holds (doubly linked: an abort
	 * finds them there). */
	void *gd_vfree;
	unsigned gd_vnfree;
	void *gd_vlive;

	/*
	 * Remote-written fields, each on its own line.
	 *
	 * gd_idle: 0 = running or polling, 1 = asleep or about to sleep on
	 * this word (FUTEX_WAIT).  The cpu stores 1, issues the fence of the
	 * configured mode (membarrier or seq_cst fence), re-checks its rings,
	 * then sleeps.  A sender release-stores its slot, issues a compiler
	 * barrier (asymmetric) or a seq_cst fence (symmetric), loads gd_idle,
	 * and if it reads 1 exchanges it to 0 and FUTEX_WAKEs.  Either the
	 * cpu's re-check sees the slot, or the sender sees 1: no lost wake-up
	 * (lwkt/model/ checks this with spin).
	 */
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t gd_idle;
	/* gd_sigpend: 1 while a hard-IPI signal is in flight (exchange by
	 * senders, cleared by the handler), so at most one is pending. */
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t gd_sigpend;
	/* gd_inthread: 1 while a thread (not the idle loop) runs; read by
	 * hard-IPI senders.  Own cpu stores (relaxed): a stale read costs one
	 * useless or one late signal, never a lost IPI. */
	_Atomic uint32_t gd_inthread;
	/* IPI watchdog sniff (ipiq.c, ring_stall_warn): a stalled sender
	 * stores sn_req = 1 (release) and signals; the handler, on this
	 * cpu's pthread, exchanges sn_req to 0 (acquire), fills the rest
	 * and bumps sn_seq (release); the sender acquire-loads sn_seq and
	 * then reads the rest.  Two stalled senders may both read one
	 * snapshot: it is a diagnostic. */
	_Alignas(LWKT_CACHELINE) struct {
		_Atomic uint32_t sn_req;
		_Atomic uint32_t sn_seq;
		int sn_crit;
		bool sn_idle;
		uint64_t sn_tid;
		char sn_name[32];
		int sn_rqlen;		/* threads on the run queue */
		int sn_nthreads;	/* live threads on this cpu */
	} gd_sniff;
	/* Injection inbox for outside callers: gd_inbox_lock protects the
	 * list; gd_inbox_any is a hint the cpu polls without the lock. */
	_Alignas(LWKT_CACHELINE) pthread_mutex_t gd_inbox_lock;
	struct lwkt_inbox_item *gd_inbox_head, *gd_inbox_tail;
	_Atomic uint32_t gd_inbox_any;
	/* The host thread's kernel id (lwkt_cpu_host_sched): written by
	 * that thread before cs_done's release store, read-only after.
	 * Here, in the padding of a cold line, so that the hot fields
	 * keep the layout the benchmarks measured. */
	pid_t gd_host_tid;

	/* Statistics: written by this cpu only (lwkt_stat_inc). */
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t gd_st_ipis_sent;
	_Atomic uint64_t gd_st_ipis_received;
	_Atomic uint64_t gd_st_wakeups_sent;
	_Atomic uint64_t gd_st_wakeups_avoided;
	_Atomic uint64_t gd_st_signals_sent;
	_Atomic uint64_t gd_st_ringfull_waits;
	_Atomic uint64_t gd_st_idle_sleeps;
	_Atomic uint64_t gd_st_switches;
};

/* ---- the runtime (cpu.c) ---- */
struct lwkt_runtime {
	int rt_ncpus;
	unsigned rt_ipiq_size;		/* power of two */
	int64_t rt_idle_spin_ns;
	enum lwkt_fence_mode rt_fence;
	bool rt_hard_ipi;
	int64_t rt_ipiq_watchdog_ns;	/* <= 0: no watchdog */
	size_t rt_stack_size;
	struct lwkt_cpu *rt_cpu[LWKT_MAXCPU];
	_Atomic uint64_t rt_next_tid;
	_Atomic int rt_live_threads;	/* all cpus; shutdown waits for 0 */
	pthread_mutex_t rt_threads_lock;	/* create, reap, shutdown */
	struct lwkt_thread *rt_threads;		/* under rt_threads_lock */
};
extern struct lwkt_runtime *lwkt_rt;

/* The cpu this host pthread is (NULL outside).  Initial-exec TLS: every
 * access reads %fs, so a thread that migrated sees its new cpu (a
 * cached __tls_get_addr result would not). */
extern __thread struct lwkt_cpu *lwkt_tls_gd
	__attribute__((tls_model("initial-exec")));

static inline struct lwkt_cpu *
mycpu(void)
{
	return lwkt_tls_gd;
}

/* Aborts unless called on an LWKT cpu; returns it. */
__attribute__((noreturn, cold)) void _lwkt_not_lwkt(const char *fn);
static inline struct lwkt_cpu *
_lwkt_need_cpu(const char *fn)
{
	struct lwkt_cpu *gd = mycpu();
	if (__builtin_expect(gd == NULL, 0))
		_lwkt_not_lwkt(fn);
	return gd;
}

/* ---- critical sections, the runtime's own variants ----
 * crit_enter()/crit_exit() (crit.c) look the thread up, check misuse and
 * trace.  Inside the runtime the thread is at hand, so these three do the
 * count only, as DragonFly's crit_enter_quick()/crit_exit_quick()/
 * crit_exit_noyield() (sys/sys/thread2.h):
 *   _lwkt_crit_enter(td)          count++.
 *   _lwkt_crit_exit(gd, td)       count--; at zero, runs what arrived
 *                                 meanwhile (a hard-IPI signal that found
 *                                 the count up left its IPIs for this).
 *   _lwkt_crit_exit_noyield(td)   count-- and nothing else: each caller
 *                                 states why nothing can be left waiting.
 * The signal fences keep the protected accesses between the count
 * updates (the count is read by our own signal handler, nobody else). */
static inline void
_lwkt_crit_enter(struct lwkt_thread *td)
{
	td->td_critcount++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void
_lwkt_crit_exit_noyield(struct lwkt_thread *td)
{
	atomic_signal_fence(memory_order_seq_cst);
	td->td_critcount--;
}

static inline void _lwkt_crit_exit(struct lwkt_cpu *gd,
				   struct lwkt_thread *td);

/* ipiq.c */
int _lwkt_ipiq_alloc(struct lwkt_runtime *rt);
void _lwkt_ipiq_free(struct lwkt_runtime *rt);
int _lwkt_ipiq_process(struct lwkt_cpu *gd);	/* in crit; returns count */
/* Publishes every held send of gd and wakes their targets if they sleep
 * (out of line: the inline check below calls it only when one is held). */
void _lwkt_ipiq_flush(struct lwkt_cpu *gd);
static inline void
_lwkt_ipiq_flush_held(struct lwkt_cpu *gd)
{
	if (__builtin_expect(gd->gd_held != 0, 0))
		_lwkt_ipiq_flush(gd);
}

/* True if an incoming ring holds a message.  A hint (relaxed loads):
 * _lwkt_ipiq_process re-reads each slot with acquire.  Inline: it is on
 * every yield, switch and outermost crit_exit. */
static inline bool
_lwkt_ipiq_pending(struct lwkt_cpu *gd)
{
	unsigned mask = gd->gd_ipiq_mask;
	for (int i = 0; i < gd->gd_nin; i++) {
		struct lwkt_ipiring *r = gd->gd_inlist[i];
		/* We are the only writer of ir_rindex. */
		uint64_t ri = atomic_load_explicit(&r->ir_rindex,
						   memory_order_relaxed);
		if (LWKT_IPISEQ_IS(atomic_load_explicit(
					   &r->ir_slot[ri & mask].is_seq,
					   memory_order_relaxed), ri + 1))
			return true;
	}
	return false;
}

/* ipiq_inbox.c: outside callers -> one cpu (a mutex-protected list). */
void _lwkt_inbox_init(struct lwkt_cpu *gd);
void _lwkt_inbox_fini(struct lwkt_cpu *gd);	/* frees unrun items */
void _lwkt_inbox_push(struct lwkt_cpu *to, lwkt_ipifunc_t f, void *a1,
		      void *a2);
int _lwkt_inbox_process(struct lwkt_cpu *gd);	/* in crit; count */

/* True if an IPI or an inbox item waits (hints, relaxed). */
static inline bool
_lwkt_work_pending(struct lwkt_cpu *gd)
{
	return _lwkt_ipiq_pending(gd) ||
	       atomic_load_explicit(&gd->gd_inbox_any, memory_order_relaxed);
}

/* Runs pending IPIs and inbox items; the caller holds a crit section. */
static inline void
_lwkt_poll_pending(struct lwkt_cpu *gd)
{
	_lwkt_ipiq_flush_held(gd);	/* a poll is a wait: send what waits */
	if (_lwkt_ipiq_pending(gd))
		_lwkt_ipiq_process(gd);
	if (atomic_load_explicit(&gd->gd_inbox_any, memory_order_relaxed))
		_lwkt_inbox_process(gd);
}
void _lwkt_ipiq_signal_init(void);
/* Asks `to` for its gd_sniff snapshot (signal; its handler answers) and
 * waits up to timeout_ns: true once answered (fields then readable). */
bool _lwkt_ipiq_sniff(struct lwkt_cpu *to, uint64_t timeout_ns);
void _lwkt_wake_cpu(struct lwkt_cpu *from, struct lwkt_cpu *to);

/* The re-check after the last decrement closes a window: a hard-IPI
 * signal that lands after the poll found the rings empty but before the
 * count is back at 0 finds the count up and leaves its IPI in the ring
 * (the sender writes the slot before it signals), so the loop sees it;
 * a signal after the decrement runs the IPI itself. */
static inline void
_lwkt_crit_exit(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	atomic_signal_fence(memory_order_seq_cst);
	while (--td->td_critcount == 0 && _lwkt_work_pending(gd)) {
		td->td_critcount++;
		atomic_signal_fence(memory_order_seq_cst);
		_lwkt_poll_pending(gd);
		atomic_signal_fence(memory_order_seq_cst);
	}
}

/* cpu.c */
void _lwkt_cpu_idle_loop(struct lwkt_cpu *gd);

/* thread.c */
/* Test hook: while > 0, each thread creation's guard-page mprotect
 * "fails" (and decrements it), as near vm.max_map_count. */
extern _Atomic int _lwkt_test_fail_guard;
void _lwkt_thread_init_idle(struct lwkt_cpu *gd);
void _lwkt_setrunqueue(struct lwkt_cpu *gd, struct lwkt_thread *td);
struct lwkt_thread *_lwkt_choose(struct lwkt_cpu *gd);
void _lwkt_switch_to(struct lwkt_cpu *gd, struct lwkt_thread *next);
void _lwkt_adopt(void *td, void *unused);

/* msgport_thread.c: the thread's own port, made at create, freed at
 * reap. */
int _lwkt_msgport_thread_init(struct lwkt_thread *td, int cpu);
void _lwkt_msgport_thread_migrate(struct lwkt_thread *td, int cpu);
void _lwkt_msgport_thread_exited(struct lwkt_thread *td, bool detached);
void _lwkt_msgport_thread_fini(struct lwkt_thread *td);

/* msgport_value.c: a message that travelled by value arrived from cpu src
 * (ipiq.c's consumer, in a critical section; v: the entry's words, copied
 * out of the ring; ntail: its tail count).  Frees what is left at
 * shutdown. */
void _lwkt_msg_value_arrive(struct lwkt_cpu *gd, int src, const uint64_t *v,
			    unsigned ntail);
void _lwkt_msg_value_fini(struct lwkt_cpu *gd);

/* serialize.c: true if the calling thread holds s. */
struct lwkt_serialize;
bool _lwkt_serialize_held(struct lwkt_serialize *s);

/* ctx.c */
/* A new context on the stack [lo, lo + size) that starts in entry. */
void _lwkt_ctx_init_stack(struct lwkt_ctx *c, void *lo, size_t size,
			  void (*entry)(transfer_t));
void _lwkt_ctx_init_self(struct lwkt_ctx *c);
void _lwkt_ctx_fini(struct lwkt_ctx *c);
/* First code on a new context: completes the switch bookkeeping. */
void _lwkt_ctx_entered(transfer_t t);

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define LWKT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define LWKT_TSAN 1
#endif

/* The arriving side of every switch: save the leaver's fctx (fcontext
 * contexts are one-shot), tell ASan which stack we came from. */
static inline void
_lwkt_ctx_arrive(transfer_t t, void *fake_stack)
{
	struct lwkt_ctx *prev = t.data;
	prev->c_fctx = t.fctx;
#ifdef LWKT_ASAN
	const void *lo;
	size_t size;
	__sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
	if (prev->c_stack_lo == NULL) {
		prev->c_stack_lo = (void *)lo;
		prev->c_stack_size = size;
	}
#else
	(void)fake_stack;
#endif
}

/* Switches from `from` to `to`; returns when something switches back.
 * dying: `from` never runs again (ASan drops its fake stack).  Inline:
 * every call frame between a thread's code and jump_fcontext costs a
 * mispredicted return after the switch (the return-stack buffer holds
 * the other thread's frames). */
static inline __attribute__((always_inline)) void
_lwkt_ctx_switch(struct lwkt_ctx *from, struct lwkt_ctx *to, bool dying)
{
	void *fake = NULL;
#ifdef LWKT_ASAN
	/* NULL save slot: `from` is dying, ASan may free its fake stack. */
	__sanitizer_start_switch_fiber(dying ? NULL : &fake, to->c_stack_lo,
				       to->c_stack_size);
#else
	(void)dying;
#endif
#ifdef LWKT_TSAN
	__tsan_switch_to_fiber(to->c_tsan_fiber, 0);
#endif
	transfer_t t = LWKT_JUMP(to->c_fctx, from);
	_lwkt_ctx_arrive(t, fake);
}

#endif /* LWKT_SRC_PRIV_H */
