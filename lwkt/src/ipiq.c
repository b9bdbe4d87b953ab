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
			for (int s = 0; s < rt->rt_ncpus; s++)
				free(gd->gd_inring[s]);
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

int
_lwkt_ipiq_process(struct lwkt_cpu *gd)
{
	unsigned mask = gd->gd_ipiq_mask;
	int n = 0;

	for (int i = 0; i < gd->gd_nin; i++) {
		struct lwkt_ipiring *r = gd->gd_inlist[i];
		int src = gd->gd_insrc[i];
		(void)src;	/* for the trace sites only */
		for (;;) {
			uint64_t ri = atomic_load_explicit(
			    &r->ir_rindex, memory_order_relaxed);
			struct lwkt_ipislot *s = &r->ir_slot[ri & mask];
			/* acquire: pairs with the sender's release store of
			 * is_seq; func/args below are then complete. */
			if (atomic_load_explicit(&s->is_seq,
						 memory_order_acquire) != ri + 1)
				break;
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

/* Hard IPI: runs the rings now unless the interrupted code is inside a
 * critical section (then the crit_exit that drops to zero runs them). */
static void
ipi_signal_handler(int sig)
{
	(void)sig;
	int saved = errno;
	struct lwkt_cpu *gd = mycpu();
	if (gd != NULL) {
		atomic_store_explicit(&gd->gd_sigpend, 0,
				      memory_order_relaxed);
		struct lwkt_thread *td = gd->gd_curthread;
		if (td->td_critcount == 0) {
			td->td_critcount++;
			_lwkt_ipiq_process(gd);
			td->td_critcount--;
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

/* Runs our own incoming IPIs while we wait on someone else. */
static void
drain_self(struct lwkt_cpu *gd)
{
	struct lwkt_thread *td = gd->gd_curthread;
	td->td_critcount++;
	_lwkt_ipiq_process(gd);
	_lwkt_inbox_process(gd);
	td->td_critcount--;
}

static int
ipiq_send(struct lwkt_cpu *gd, int cpu, lwkt_ipifunc_t func, void *a1,
	  void *a2)
{
	struct lwkt_cpu *to = lwkt_rt->rt_cpu[cpu];

	if (to == gd) {
		/* Our own cpu: run it now, in a critical section. */
		gd->gd_curthread->td_critcount++;
		func(a1, a2);
		gd->gd_curthread->td_critcount--;
		return 0;
	}
	struct lwkt_ipiring *r = gd->gd_outring[cpu];
	unsigned size = lwkt_rt->rt_ipiq_size;
	uint64_t w = r->ir_windex;

	if (w - r->ir_rcache >= size) {
		/* acquire: pairs with the target's release of ir_rindex; the
		 * slots it passed are free to overwrite. */
		r->ir_rcache = atomic_load_explicit(&r->ir_rindex,
						    memory_order_acquire);
		if (w - r->ir_rcache >= size) {
			/* Full: wait until it is down to a quarter, running
			 * our own IPIs meanwhile (never drop, never
			 * deadlock), and make sure the target is awake. */
			lwkt_stat_inc(&gd->gd_st_ringfull_waits);
			LWKT_TRACE(ipi_ring_full, gd->gd_cpuid, cpu,
				   (unsigned)(w - r->ir_rcache));
			do {
				_lwkt_wake_cpu(gd, to);
				drain_self(gd);
				lwkt_cpu_relax();
				r->ir_rcache = atomic_load_explicit(
				    &r->ir_rindex, memory_order_acquire);
			} while (w - r->ir_rcache > size / 4);
		}
	}
	struct lwkt_ipislot *s = &r->ir_slot[w & (size - 1)];
	s->is_func = func;
	s->is_arg1 = a1;
	s->is_arg2 = a2;
	/* release: publishes func/args; pairs with the target's acquire. */
	atomic_store_explicit(&s->is_seq, w + 1, memory_order_release);
	r->ir_windex = w + 1;
	lwkt_stat_inc(&gd->gd_st_ipis_sent);
	LWKT_TRACE(ipi_send, gd->gd_cpuid, cpu, w, func);
	_lwkt_wake_cpu(gd, to);
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
	if (td->td_critcount > 0)
		return 0;
	td->td_critcount++;
	int n = _lwkt_ipiq_process(gd) + _lwkt_inbox_process(gd);
	td->td_critcount--;
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
		gd->gd_curthread->td_critcount++;
		func(arg, NULL);
		gd->gd_curthread->td_critcount--;
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
