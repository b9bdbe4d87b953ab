/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipiq.c - IPI rings between LWKT cpus, and the signalling that makes a
 * target act on them: nothing (it polls), a futex wake-up (it sleeps), or
 * a signal (hard IPI: it runs a thread that does not yield).
 *
 * One SPSC ring per ordered (src, dst) pair, FIFO per pair, no mutex, no
 * atomic read-modify-write on the fast path: the sender's slot store and
 * the target's slot load are the whole hand-over (ring layout and ordering
 * in lwkt_priv.h).  A full ring makes the sender run its own incoming IPIs
 * while it waits, as DragonFly's lwkt_send_ipiq3 does, so two cpus
 * flooding each other drain each other (Seastar's bounded smp queue lacked
 * this and deadlocked at --smp=2: scylladb issue 1088).
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipiq_fast.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"

#define LWKT_IPI_SIGNAL SIGURG	/* ignored by default: a stray one is harmless */

static size_t
ring_bytes(unsigned size)
{
	return sizeof(struct lwkt_ipiring) + size * sizeof(struct lwkt_ipislot);
}

int
_lwkt_ipiq_alloc(struct lwkt_runtime *rt)
{
	int n = rt->rt_ncpus;
	for (int c = 0; c < n; c++) {
		struct lwkt_cpu *gd = rt->rt_cpu[c];
		gd->gd_inring = calloc((size_t)n, sizeof *gd->gd_inring);
		gd->gd_outring = calloc((size_t)n, sizeof *gd->gd_outring);
		gd->gd_inlist = calloc((size_t)n, sizeof *gd->gd_inlist);
		gd->gd_insrc = calloc((size_t)n, sizeof *gd->gd_insrc);
		if (!gd->gd_inring || !gd->gd_outring || !gd->gd_inlist ||
		    !gd->gd_insrc)
			return ENOMEM;
		gd->gd_ipiq_mask = rt->rt_ipiq_size - 1;
	}
	size_t bytes = ring_bytes(rt->rt_ipiq_size);
	bytes = (bytes + LWKT_CACHELINE - 1) & ~(size_t)(LWKT_CACHELINE - 1);
	for (int src = 0; src < n; src++) {
		for (int dst = 0; dst < n; dst++) {
			if (src == dst)
				continue;
			struct lwkt_ipiring *r = aligned_alloc(LWKT_CACHELINE,
							       bytes);
			if (r == NULL)
				return ENOMEM;
			memset(r, 0, bytes);	/* is_seq 0: no message yet */
			struct lwkt_cpu *d = rt->rt_cpu[dst];
			d->gd_inring[src] = r;
			d->gd_inlist[d->gd_nin] = r;
			d->gd_insrc[d->gd_nin++] = src;
			rt->rt_cpu[src]->gd_outring[dst] = r;
		}
	}
	return 0;
}

void
_lwkt_ipiq_free(struct lwkt_runtime *rt)
{
	for (int c = 0; c < rt->rt_ncpus; c++) {
		struct lwkt_cpu *gd = rt->rt_cpu[c];
		if (gd == NULL)
			continue;
		if (gd->gd_inring)
			for (int s = 0; s < rt->rt_ncpus; s++) {
				if (gd->gd_inring[s])
					free(gd->gd_inring[s]->ir_ovf);
				free(gd->gd_inring[s]);
			}
		free(gd->gd_inring);
		free(gd->gd_outring);
		free(gd->gd_inlist);
		free(gd->gd_insrc);
		gd->gd_inring = gd->gd_outring = gd->gd_inlist = NULL;
		gd->gd_insrc = NULL;
		gd->gd_nin = 0;
	}
}

/* ---------------------------------------------------------------------- */
/* consumer side (the ring's dst cpu, in a critical section) */

/* A value entry at ri (head s, sequence sq): copies head and tails out,
 * frees their slots, hands the copy to the message layer.  Returns the
 * index after the entry. */
static __attribute__((noinline)) uint64_t
value_entry(struct lwkt_cpu *gd, struct lwkt_ipiring *r, int src,
	    struct lwkt_ipislot *s, uint64_t sq, uint64_t ri, unsigned mask)
{
	uint64_t v[LWKT_IPIVAL_WORDS];
	unsigned nt = LWKT_IPISEQ_TAILS(sq);
	v[0] = s->is_word[0];
	v[1] = s->is_word[1];
	v[2] = s->is_word[2];
	for (unsigned t = 0; t < nt; t++) {
		/* Written before the head's release: the acquire above
		 * covers them. */
		struct lwkt_ipislot *ts = &r->ir_slot[(ri + 1 + t) & mask];
		v[3 + 3 * t] = ts->is_word[0];
		v[4 + 3 * t] = ts->is_word[1];
		v[5 + 3 * t] = ts->is_word[2];
	}
	/* release: head and tails are copied out; pairs with the sender's
	 * acquire of ir_rindex before it reuses them.  Before the arrival
	 * runs, as for a call (a nested drain continues after us). */
	atomic_store_explicit(&r->ir_rindex, ri + 1 + nt, memory_order_release);
	LWKT_TRACE(ipi_recv, src, gd->gd_cpuid, ri, _lwkt_msg_value_arrive);
	lwkt_stat_inc(&gd->gd_st_ipis_received);
	_lwkt_msg_value_arrive(gd, src, v, nt);
	LWKT_TRACE(ipi_done, src, gd->gd_cpuid, ri);
	return ri + 1 + nt;
}

int
_lwkt_ipiq_process(struct lwkt_cpu *gd)
{
	unsigned mask = gd->gd_ipiq_mask;
	int n = 0;

	_lwkt_ipiq_flush_held(gd);	/* whoever polls may be waiting */

	for (int i = 0; i < gd->gd_nin; i++) {
		struct lwkt_ipiring *r = gd->gd_inlist[i];
		int src = gd->gd_insrc[i];
		(void)src;	/* for the trace sites only */
		for (;;) {
			uint64_t ri = atomic_load_explicit(
			    &r->ir_rindex, memory_order_relaxed);
			struct lwkt_ipislot *s = &r->ir_slot[ri & mask];
			/* acquire: pairs with the sender's release store of
			 * is_seq; func/args (and a value entry's tails)
			 * below are then complete. */
			uint64_t sq = atomic_load_explicit(
			    &s->is_seq, memory_order_acquire);
			if (!LWKT_IPISEQ_IS(sq, ri + 1))
				break;
			if (sq & LWKT_IPISEQ_VALUE) {
				ri = value_entry(gd, r, src, s, sq, ri, mask);
				n++;
				continue;
			}
			lwkt_ipifunc_t f = s->is_func;
			void *a1 = s->is_arg1, *a2 = s->is_arg2;
			/* release: the slot is copied out; pairs with the
			 * sender's acquire load before it reuses the slot.
			 * Advanced before f runs: a nested drain inside f
			 * continues after this entry (see lwkt_priv.h). */
			atomic_store_explicit(&r->ir_rindex, ri + 1,
					      memory_order_release);
			LWKT_TRACE(ipi_recv, src, gd->gd_cpuid, ri, f);
			lwkt_stat_inc(&gd->gd_st_ipis_received);
			f(a1, a2);
			LWKT_TRACE(ipi_done, src, gd->gd_cpuid, ri);
			n++;
		}
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* held sends (lwkt_priv.h, "Held sends") */

void
_lwkt_ipiq_flush(struct lwkt_cpu *gd)
{
	uint64_t held = gd->gd_held;
	gd->gd_held = 0;
	for (uint64_t m = held; m != 0; m &= m - 1) {
		struct lwkt_ipiring *r = gd->gd_outring[__builtin_ctzll(m)];
		/* release: publishes the held head and every entry written
		 * behind it (their words were stored before this); pairs
		 * with the target's acquire in _lwkt_ipiq_process. */
		atomic_store_explicit(&r->ir_hold->is_seq, r->ir_hold_seq,
				      memory_order_release);
		r->ir_nheld = 0;
	}
	/* One wake-up check per target and burst, after all releases. */
	for (uint64_t m = held; m != 0; m &= m - 1)
		_lwkt_ipiq_signal_fast(gd, __builtin_ctzll(m));
}

/* ---------------------------------------------------------------------- */
/* signalling the target */

/*
 * After a ring write (or an inbox push): wake `to` if it sleeps.  `from`
 * is the sending cpu, NULL for an outside thread (stats go nowhere).
 *
 * The sender half of the asymmetric Dekker (the sleeper half is in
 * cpu.c, idle_sleep): slot store (release), then a compiler barrier only
 * (asymmetric: the sleeper's membarrier forces our store out before it
 * re-checks) or a seq_cst fence (symmetric), then the load of gd_idle.
 */
void
_lwkt_wake_cpu(struct lwkt_cpu *from, struct lwkt_cpu *to)
{
	if (lwkt_rt->rt_fence == LWKT_FENCE_SYMMETRIC || from == NULL)
		lwkt_fence_seq_cst();
	else
		atomic_signal_fence(memory_order_seq_cst);

	if (atomic_load_explicit(&to->gd_idle, memory_order_relaxed) == 0) {
		if (from)
			lwkt_stat_inc(&from->gd_st_wakeups_avoided);
		/* Hard IPI: the target runs a thread that may not yield. */
		if (lwkt_rt->rt_hard_ipi &&
		    atomic_load_explicit(&to->gd_inthread,
					 memory_order_relaxed) &&
		    atomic_exchange_explicit(&to->gd_sigpend, 1,
					     memory_order_relaxed) == 0) {
			pthread_kill(to->gd_pthread, LWKT_IPI_SIGNAL);
			if (from) {
				lwkt_stat_inc(&from->gd_st_signals_sent);
				LWKT_TRACE(ipi_wake, from->gd_cpuid,
					   to->gd_cpuid, 1);
			}
		}
		return;
	}
	/* Exactly one waker issues the syscall (it is the slow path: the
	 * target sleeps anyway, so a locked exchange costs nothing here). */
	if (atomic_exchange_explicit(&to->gd_idle, 0, memory_order_relaxed)
	    == 1) {
		_lwkt_futex(&to->gd_idle, FUTEX_WAKE_PRIVATE, 1);
		if (from) {
			lwkt_stat_inc(&from->gd_st_wakeups_sent);
			LWKT_TRACE(ipi_wake, from->gd_cpuid, to->gd_cpuid, 0);
		}
	}
}

/* Fills the snapshot a stalled sender asked for (see ring_stall_warn):
 * runs on the target's own pthread, so it reads its own state. */
static void
sniff_answer(struct lwkt_cpu *gd)
{
	struct lwkt_thread *td = gd->gd_curthread;
	gd->gd_sniff.sn_tid = td->td_id;
	gd->gd_sniff.sn_crit = td->td_critcount;
	gd->gd_sniff.sn_idle = (td->td_flags & TDF_IDLE) != 0;
	memcpy(gd->gd_sniff.sn_name, td->td_name, sizeof td->td_name);
	/* The signal may have cut a run-queue update in half: the walk is
	 * bounded (a diagnostic; every linked thread is alive, since only
	 * this pthread reaps). */
	int rq = 0;
	for (int p = 0; p <= LWKT_PRI_MAX; p++)
		for (struct lwkt_thread *t = gd->gd_rqhead[p];
		     t != NULL && rq < 1000000; t = t->td_rqnext)
			rq++;
	gd->gd_sniff.sn_rqlen = rq;
	gd->gd_sniff.sn_nthreads = gd->gd_nthreads;
	/* release: the snapshot above; pairs with the sender's acquire. */
	atomic_fetch_add_explicit(&gd->gd_sniff.sn_seq, 1,
				  memory_order_release);
}

/* SIGURG: a hard IPI (runs the rings now unless the interrupted code is
 * inside a critical section; then the crit_exit that drops to zero runs
 * them) and/or a watchdog's sniff request.  Installed for every runtime;
 * rings are run only with lc_hard_ipi. */
static void
ipi_signal_handler(int sig)
{
	(void)sig;
	int saved = errno;
	struct lwkt_cpu *gd = mycpu();
	if (gd != NULL) {
		if (atomic_exchange_explicit(&gd->gd_sniff.sn_req, 0,
					     memory_order_acquire))
			sniff_answer(gd);
		atomic_store_explicit(&gd->gd_sigpend, 0,
				      memory_order_relaxed);
		struct lwkt_thread *td = gd->gd_curthread;
		if (lwkt_rt->rt_hard_ipi && td->td_critcount == 0) {
			_lwkt_crit_enter(td);
			gd->gd_in_sig = true;
			_lwkt_ipiq_process(gd);
			gd->gd_in_sig = false;
			/* No poll: a signal handler runs the rings only (the
			 * inbox takes a mutex and frees); a newer IPI sends
			 * its own signal. */
			_lwkt_crit_exit_noyield(td);
		}
	}
	errno = saved;
}

void
_lwkt_ipiq_signal_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ipi_signal_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(LWKT_IPI_SIGNAL, &sa, NULL);
}

/* ---------------------------------------------------------------------- */
/* producer side */

/*
 * IPI watchdog (DragonFly's "send_ipiq %d->%d tgt not draining" in
 * lwkt_send_ipiq3, with smp_sniff's sample of the target): a sender that
 * waited on a full ring longer than lc_ipiq_watchdog_ms says so once, with
 * both cpus, the indices and what the target runs.  The target reports
 * itself from its SIGURG handler (signals run inside critical sections
 * too; only the rings wait for crit_exit), so nothing of another cpu's
 * thread is read here; no answer within 1 s is said as such.
 */
bool
_lwkt_ipiq_sniff(struct lwkt_cpu *to, uint64_t timeout_ns)
{
	uint32_t seq = atomic_load_explicit(&to->gd_sniff.sn_seq,
					    memory_order_acquire);
	atomic_store_explicit(&to->gd_sniff.sn_req, 1, memory_order_release);
	pthread_kill(to->gd_pthread, LWKT_IPI_SIGNAL);
	uint64_t t0 = lwkt_now_ns();
	bool answered;
	while (!(answered = atomic_load_explicit(&to->gd_sniff.sn_seq,
				memory_order_acquire) != seq) &&
	       lwkt_now_ns() - t0 < timeout_ns)
		lwkt_cpu_relax();
	return answered;
}

/*
 * The host scheduler's account of the target's host thread over the
 * last part of the wait (from *hs, sampled at half the bound, to now):
 * whether it ran and did not drain, slept, or is runnable without a PU
 * from the host (a 2-vCPU guest under load starves a runnable thread for
 * seconds).  Empty when /proc cannot be read.
 */
struct host_sample {
	bool hs_ok;
	uint64_t hs_t;
	struct lwkt_host_sched hs_sched;
};

static void
host_sample(struct lwkt_cpu *to, struct host_sample *hs)
{
	hs->hs_t = lwkt_now_ns();
	hs->hs_ok = lwkt_cpu_host_sched(to->gd_cpuid, &hs->hs_sched) == 0;
}

static void
host_since(struct lwkt_cpu *to, const struct host_sample *a, char *buf,
	   size_t n)
{
	struct host_sample b;
	buf[0] = '\0';
	if (!a->hs_ok)
		return;
	host_sample(to, &b);
	if (!b.hs_ok || b.hs_t <= a->hs_t)
		return;
	double win = (double)(b.hs_t - a->hs_t) / 1e9;
	double run = (double)(b.hs_sched.hs_run_ns - a->hs_sched.hs_run_ns) / 1e9;
	const char *why = run >= win / 2 ? "it ran: not draining" :
		b.hs_sched.hs_state == 'R' ? "runnable, barely ran: starved "
		"by the host's scheduler" : "it sleeps";
	snprintf(buf, n, "; its host thread (tid %d) in the last %.3f s: on "
		 "a PU %.3f s, state %c now (%s)", (int)to->gd_host_tid, win,
		 run, b.hs_sched.hs_state, why);
}

static void
ring_stall_warn(struct lwkt_cpu *gd, struct lwkt_cpu *to,
		struct lwkt_ipiring *r, uint64_t w, uint64_t waited_ns,
		const struct host_sample *hs)
{
	char host[192];
	host_since(to, hs, host, sizeof host);
	bool answered = _lwkt_ipiq_sniff(to, 1000000000u);
	char what[128];
	if (answered)
		snprintf(what, sizeof what, "%s '%s' (id %llu) at crit depth "
			 "%d", to->gd_sniff.sn_idle ? "its idle loop" :
			 "thread", to->gd_sniff.sn_name,
			 (unsigned long long)to->gd_sniff.sn_tid,
			 to->gd_sniff.sn_crit);
	else
		snprintf(what, sizeof what, "(no answer to the sniff "
			 "signal in 1 s)");
	fprintf(stderr, "lwkt: ipiq watchdog: cpu %d -> cpu %d not draining "
		"for %.3f s: ring full (windex %llu, rindex %llu, %u "
		"entries); cpu %d runs %s%s\n", gd->gd_cpuid, to->gd_cpuid,
		(double)waited_ns / 1e9, (unsigned long long)w,
		(unsigned long long)r->ir_rcache, lwkt_rt->rt_ipiq_size,
		to->gd_cpuid, what, host);
}

/* Runs our own incoming IPIs while we wait on someone else. */
static void
drain_self(struct lwkt_cpu *gd)
{
	struct lwkt_thread *td = gd->gd_curthread;
	_lwkt_crit_enter(td);
	_lwkt_ipiq_process(gd);
	_lwkt_inbox_process(gd);
	_lwkt_crit_exit(gd, td);
}

/*
 * Nested sends.  While a sender waits on a full ring it runs its own
 * incoming IPIs (drain_self), and those functions may send too, on this
 * ring or another (a cpu-owned token grant does).  Two rules keep that
 * correct and bounded:
 *
 *  - The waiting sender re-reads ir_windex after every drain, never keeps
 *    it from before: a nested send may have filled a slot and moved the
 *    index, and a stale index would overwrite that message (a lost IPI)
 *    or, once it is consumed, make w - rindex wrap so that the wait never
 *    ends.  DragonFly's lwkt_send_ipiq3 likewise reads ip_windex only
 *    after its wait loop.
 *  - A nested send (gd_ipi_depth > 0) never waits: if its ring is full,
 *    or already has an overflow, the call goes to the ring's overflow
 *    array (FIFO), which the outermost send moves into the ring before
 *    it returns.  Waiting there would recurse (drain, nested send, wait,
 *    drain...) once per message the peer keeps sending, until the stack
 *    overflows; DragonFly met the same and bounded it with hysteresis
 *    ("Fix excessive ipiq recursion", July 2016).  Only where the
 *    overflow cannot grow (in the SIGURG handler: no malloc; or out of
 *    memory) does a nested send flush it and wait itself, one more level.
 *
 * Order: each context's own sends stay FIFO per ring (a send never
 * overtakes an overflow); a nested send may land before the message of
 * the send it interrupted, as an interrupt's would.
 */

/* Fills slot w (the caller made sure it is free) and signals. */
static void
ring_put(struct lwkt_cpu *gd, struct lwkt_cpu *to, struct lwkt_ipiring *r,
	 uint64_t w, lwkt_ipifunc_t func, void *a1, void *a2)
{
	struct lwkt_ipislot *s = _lwkt_ring_fill(gd, to->gd_cpuid, r, w,
						 func, a1, a2);
	/* release: publishes func/args; pairs with the target's acquire in
	 * _lwkt_ipiq_process. */
	atomic_store_explicit(&s->is_seq, w + 1, memory_order_release);
	_lwkt_wake_cpu(gd, to);
}

/* True if r has no free slot (re-reads the consumer index if needed). */
static bool
ring_full(struct lwkt_ipiring *r, unsigned size)
{
	uint64_t w = r->ir_windex;
	if (w - r->ir_rcache < size)
		return false;
	/* acquire: pairs with the target's release of ir_rindex; the
	 * slots it passed are free to overwrite. */
	r->ir_rcache = atomic_load_explicit(&r->ir_rindex,
					    memory_order_acquire);
	return w - r->ir_rcache >= size;
}

/*
 * The ring to `to` is full: wait until it is down to a quarter, running
 * our own incoming IPIs meanwhile (never drop, never deadlock), and keep
 * the target awake.  Returns the write index to use (re-read: see the
 * nested-send rules above).
 */
static uint64_t
ring_wait(struct lwkt_cpu *gd, struct lwkt_cpu *to, struct lwkt_ipiring *r,
	  unsigned size)
{
	uint64_t w = r->ir_windex, t0 = 0, now = 0;
	int64_t bound = lwkt_rt->rt_ipiq_watchdog_ns;
	bool warned = false;
	struct host_sample hs = { 0 };
	bool sampled = false;

	/* The entries we hold fill the ring too: the target must see them
	 * to drain it. */
	_lwkt_ipiq_flush_held(gd);
	lwkt_stat_inc(&gd->gd_st_ringfull_waits);
	LWKT_TRACE(ipi_ring_full, gd->gd_cpuid, to->gd_cpuid,
		   (unsigned)(w - r->ir_rcache));
	for (unsigned polls = 1;; polls++) {
		_lwkt_wake_cpu(gd, to);
		gd->gd_ipi_depth++;
		drain_self(gd);
		gd->gd_ipi_depth--;
		lwkt_cpu_relax();
		w = r->ir_windex;	/* nested sends moved it */
		/* acquire: as in ring_full. */
		r->ir_rcache = atomic_load_explicit(&r->ir_rindex,
						    memory_order_acquire);
		if (w - r->ir_rcache <= size / 4)
			break;
		/* Watchdog: the clock only every 1024 polls (~25 ns each). */
		if (bound > 0 && (polls & 1023) == 0) {
			now = lwkt_now_ns();
			if (t0 == 0)
				t0 = now;
			else if (!warned && !r->ir_stalled &&
				 (int64_t)(now - t0) > bound) {
				ring_stall_warn(gd, to, r, w, now - t0, &hs);
				warned = r->ir_stalled = true;
			} else if (!sampled && (int64_t)(now - t0) > bound / 2) {
				/* Half way: the host's account from here
				 * to the warning (a file read: only the
				 * long waits pay it). */
				host_sample(to, &hs);
				sampled = true;
			}
		}
	}
	if (warned) {
		/* Only the wait that warned reports the recovery (a nested
		 * wait on the same ring stays quiet: ir_stalled). */
		r->ir_stalled = false;
		fprintf(stderr, "lwkt: ipiq watchdog: cpu %d -> cpu %d "
			"drained after %.3f s (windex %llu, rindex %llu)\n",
			gd->gd_cpuid, to->gd_cpuid,
			(double)(lwkt_now_ns() - t0) / 1e9,
			(unsigned long long)w,
			(unsigned long long)r->ir_rcache);
	}
	return w;
}

/* A free slot's write index: at once, or after ring_wait. */
static uint64_t
ring_space(struct lwkt_cpu *gd, struct lwkt_cpu *to, struct lwkt_ipiring *r,
	   unsigned size)
{
	if (ring_full(r, size))
		return ring_wait(gd, to, r, size);
	return r->ir_windex;
}

/* Queues a nested call behind r's overflow.  False if it cannot grow
 * (in the signal handler, or out of memory). */
static bool
ovf_push(struct lwkt_cpu *gd, struct lwkt_ipiring *r, lwkt_ipifunc_t func,
	 void *a1, void *a2)
{
	if (r->ir_ovf_n == r->ir_ovf_cap) {
		if (gd->gd_in_sig)
			return false;
		uint32_t cap = r->ir_ovf_cap ? 2 * r->ir_ovf_cap : 16;
		struct lwkt_ipicall *n = malloc(cap * sizeof *n);
		if (n == NULL)
			return false;
		for (uint32_t i = 0; i < r->ir_ovf_n; i++)
			n[i] = r->ir_ovf[(r->ir_ovf_head + i) % r->ir_ovf_cap];
		free(r->ir_ovf);
		r->ir_ovf = n;
		r->ir_ovf_head = 0;
		r->ir_ovf_cap = cap;
	}
	r->ir_ovf[(r->ir_ovf_head + r->ir_ovf_n) % r->ir_ovf_cap] =
		(struct lwkt_ipicall){func, a1, a2};
	if (r->ir_ovf_n++ == 0)
		gd->gd_novf++;
	return true;
}

/* Moves r's overflow into the ring, oldest first, waiting for space. */
static void
ovf_flush(struct lwkt_cpu *gd, struct lwkt_cpu *to, struct lwkt_ipiring *r,
	  unsigned size)
{
	while (r->ir_ovf_n != 0) {
		uint64_t w = ring_space(gd, to, r, size);
		/* The wait may have run an inner flush (the fallback above):
		 * take the head as it is now. */
		if (r->ir_ovf_n == 0)
			break;
		struct lwkt_ipicall c = r->ir_ovf[r->ir_ovf_head];
		r->ir_ovf_head = (r->ir_ovf_head + 1) % r->ir_ovf_cap;
		if (--r->ir_ovf_n == 0)
			gd->gd_novf--;
		ring_put(gd, to, r, w, c.ic_func, c.ic_arg1, c.ic_arg2);
	}
}

/* Outermost send: every overflow into its ring before we return (the
 * waits below may queue more; loop until none is left). */
static void
ovf_flush_all(struct lwkt_cpu *gd)
{
	unsigned size = lwkt_rt->rt_ipiq_size;
	while (gd->gd_novf != 0)
		for (int c = 0; c < lwkt_rt->rt_ncpus; c++) {
			struct lwkt_ipiring *r = gd->gd_outring[c];
			if (r != NULL && r->ir_ovf_n != 0)
				ovf_flush(gd, lwkt_rt->rt_cpu[c], r, size);
		}
}

static int
ipiq_send(struct lwkt_cpu *gd, int cpu, lwkt_ipifunc_t func, void *a1,
	  void *a2)
{
	struct lwkt_cpu *to = lwkt_rt->rt_cpu[cpu];

	if (to == gd) {
		/* Our own cpu: run it now, in a critical section. */
		struct lwkt_thread *td = gd->gd_curthread;
		_lwkt_crit_enter(td);
		func(a1, a2);
		_lwkt_crit_exit(gd, td);
		return 0;
	}
	/*
	 * With hard IPIs, a signal between the read of ir_windex and the
	 * slot store could run an IPI function that sends on this ring: a
	 * critical section keeps the handler out.  Soft IPIs run only where
	 * we drain, so they need none.
	 */
	bool hard = lwkt_rt->rt_hard_ipi;
	struct lwkt_thread *td = gd->gd_curthread;
	if (hard)
		_lwkt_crit_enter(td);
	struct lwkt_ipiring *r = gd->gd_outring[cpu];
	unsigned size = lwkt_rt->rt_ipiq_size;

	if (__builtin_expect(gd->gd_ipi_depth > 0, 0)) {
		/* Nested: never wait (see "Nested sends"). */
		if (r->ir_ovf_n != 0 || ring_full(r, size)) {
			if (ovf_push(gd, r, func, a1, a2))
				goto out;
			ovf_flush(gd, to, r, size);	/* fallback */
		}
	} else if (__builtin_expect(r->ir_ovf_n != 0, 0)) {
		ovf_flush(gd, to, r, size);	/* keeps FIFO */
	}
	uint64_t w = r->ir_windex;
	if (__builtin_expect(w - r->ir_rcache >= size, 0))
		w = ring_space(gd, to, r, size);
	ring_put(gd, to, r, w, func, a1, a2);
out:
	if (__builtin_expect(gd->gd_novf != 0, 0) && gd->gd_ipi_depth == 0)
		ovf_flush_all(gd);
	/* The full send holds nothing back, nor lets this entry wait behind
	 * a held one of the same ring. */
	_lwkt_ipiq_flush_held(gd);
	if (hard)
		_lwkt_crit_exit(gd, td);	/* runs what the handler skipped */
	return 0;
}

int
lwkt_send_ipiq2(int cpu, lwkt_ipifunc_t func, void *arg1, void *arg2)
{
	if (lwkt_rt == NULL || cpu < 0 || cpu >= lwkt_rt->rt_ncpus ||
	    func == NULL)
		return EINVAL;
	struct lwkt_cpu *gd = mycpu();
	if (gd == NULL) {
		_lwkt_inbox_push(lwkt_rt->rt_cpu[cpu], func, arg1, arg2);
		return 0;
	}
	if (_lwkt_ipiq_send_fast(gd, cpu, func, arg1, arg2))
		return 0;
	return ipiq_send(gd, cpu, func, arg1, arg2);
}

int
lwkt_send_ipiq(int cpu, lwkt_ipifunc_t func, void *arg)
{
	return lwkt_send_ipiq2(cpu, func, arg, NULL);
}

int
lwkt_ipiq_poll(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_ipiq_poll");
	struct lwkt_thread *td = gd->gd_curthread;
	_lwkt_ipiq_flush_held(gd);	/* sending is fine in a crit section */
	if (td->td_critcount > 0)
		return 0;
	_lwkt_crit_enter(td);
	int n = _lwkt_ipiq_process(gd) + _lwkt_inbox_process(gd);
	_lwkt_crit_exit(gd, td);
	return n;
}

/* ---------------------------------------------------------------------- */
/* cpusync: run a function on a set of cpus and wait */

struct cpusync {
	lwkt_ipifunc_t cs_func;
	void *cs_arg;
	/* Decremented (release) by each target after cs_func returned;
	 * the caller acquire-loads it, so their effects are visible. */
	_Atomic int cs_remaining;
};

static void
cpusync_remote(void *arg, void *unused)
{
	(void)unused;
	struct cpusync *cs = arg;
	cs->cs_func(cs->cs_arg, NULL);
	atomic_fetch_sub_explicit(&cs->cs_remaining, 1, memory_order_release);
}

int
lwkt_cpusync(unsigned long long mask, lwkt_ipifunc_t func, void *arg)
{
	if (lwkt_rt == NULL || func == NULL)
		return EINVAL;
	int n = lwkt_rt->rt_ncpus;
	if (n < 64)
		mask &= (1ull << n) - 1;
	struct lwkt_cpu *gd = mycpu();
	struct cpusync cs = {.cs_func = func, .cs_arg = arg};
	int remote = 0;
	for (int c = 0; c < n; c++)
		if ((mask >> c) & 1 && (gd == NULL || c != gd->gd_cpuid))
			remote++;
	atomic_store_explicit(&cs.cs_remaining, remote, memory_order_relaxed);
	for (int c = 0; c < n; c++)
		if ((mask >> c) & 1 && (gd == NULL || c != gd->gd_cpuid))
			lwkt_send_ipiq(c, cpusync_remote, &cs);
	if (gd != NULL && ((mask >> gd->gd_cpuid) & 1)) {
		struct lwkt_thread *td = gd->gd_curthread;
		_lwkt_crit_enter(td);
		func(arg, NULL);
		_lwkt_crit_exit(gd, td);
	}
	while (atomic_load_explicit(&cs.cs_remaining, memory_order_acquire)
	       > 0) {
		if (gd != NULL)
			drain_self(gd);	/* a cross-call to us must run */
		else
			sched_yield();
		lwkt_cpu_relax();
	}
	return 0;
}
