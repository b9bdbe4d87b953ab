/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * thread.c - lightweight threads and the per-cpu scheduler: run queues by
 * priority, switch/yield/sleep, wait channels, exit and join, migration.
 *
 * Everything here runs on the thread's own cpu, inside a critical section
 * where it touches scheduler state, so none of it needs a lock or an
 * atomic: another cpu that wants to change our state (schedule a thread,
 * wake a channel, hand us a migrating thread) sends us an IPI.
 * Critical sections are in crit.c, panic and the per-cpu TLS in cpu.c.
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lwkt_priv.h"
#include "lwkt_trace.h"
#include "token_priv.h"

/* ---------------------------------------------------------------------- */
/* run queue: one list per priority; gd_rqmask bit p = list p non-empty */

static inline void
rq_remove(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	int p = td->td_pri;
	if (td->td_rqprev)
		td->td_rqprev->td_rqnext = td->td_rqnext;
	else
		gd->gd_rqhead[p] = td->td_rqnext;
	if (td->td_rqnext)
		td->td_rqnext->td_rqprev = td->td_rqprev;
	else
		gd->gd_rqtail[p] = td->td_rqprev;
	if (gd->gd_rqhead[p] == NULL)
		gd->gd_rqmask &= ~(1u << p);
	td->td_rqnext = td->td_rqprev = NULL;
	td->td_flags &= ~TDF_RUNQ;
}

static inline void
rq_append(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	int p = td->td_pri;
	td->td_rqnext = NULL;
	td->td_rqprev = gd->gd_rqtail[p];
	if (gd->gd_rqtail[p])
		gd->gd_rqtail[p]->td_rqnext = td;
	else
		gd->gd_rqhead[p] = td;
	gd->gd_rqtail[p] = td;
	gd->gd_rqmask |= 1u << p;
	td->td_flags |= TDF_RUNQ;
}

void
_lwkt_setrunqueue(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	if (!(td->td_flags & (TDF_RUNQ | TDF_EXITING | TDF_IDLE)))
		rq_append(gd, td);
}

static inline struct lwkt_thread *
choose(struct lwkt_cpu *gd)
{
	if (gd->gd_rqmask == 0)
		return NULL;
	return gd->gd_rqhead[31 - __builtin_clz(gd->gd_rqmask)];
}

struct lwkt_thread *
_lwkt_choose(struct lwkt_cpu *gd)
{
	return choose(gd);
}

/* ---------------------------------------------------------------------- */
/* switching */

static void
wakeup_local(void *ident, void *unused);

/* The runtime's list of live threads (lwkt_shutdown names them). */
static void
all_link(struct lwkt_runtime *rt, struct lwkt_thread *td)
{
	pthread_mutex_lock(&rt->rt_threads_lock);
	td->td_allprev = NULL;
	td->td_allnext = rt->rt_threads;
	if (rt->rt_threads)
		rt->rt_threads->td_allprev = td;
	rt->rt_threads = td;
	pthread_mutex_unlock(&rt->rt_threads_lock);
}

static void
all_unlink(struct lwkt_runtime *rt, struct lwkt_thread *td)
{
	pthread_mutex_lock(&rt->rt_threads_lock);
	if (td->td_allprev)
		td->td_allprev->td_allnext = td->td_allnext;
	else
		rt->rt_threads = td->td_allnext;
	if (td->td_allnext)
		td->td_allnext->td_allprev = td->td_allprev;
	pthread_mutex_unlock(&rt->rt_threads_lock);
}

/* Frees what a dead thread left: its stack (we are off it now), its TSan
 * fiber; then hands td to its joiner (or frees it if detached). */
static void
reap(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	_lwkt_ctx_fini(&td->td_ctx);
	munmap(td->td_stack, td->td_stack_map);
	_lwkt_msgport_thread_exited(td, (td->td_flags & TDF_DETACHED) != 0);
	all_unlink(lwkt_rt, td);
	gd->gd_nthreads--;
	if (td->td_flags & TDF_DETACHED) {
		free(td);
	} else {
		/* Release: our last touches of td happen before the joiner
		 * (acquire) owns and frees it.  td is not touched after. */
		atomic_store_explicit(&td->td_exited, 1, memory_order_release);
		_lwkt_futex(&td->td_exited, FUTEX_WAKE_PRIVATE, INT32_MAX);
		lwkt_wakeup(td);	/* LWKT joiners sleep on td */
	}
	/* Last: shutdown waits for this to reach 0 (after our wakeups). */
	atomic_fetch_sub_explicit(&lwkt_rt->rt_live_threads, 1,
				  memory_order_release);
}

/* Work a switch leaves for whoever runs next on this cpu. */
static void
post_switch(struct lwkt_cpu *gd)
{
	if (gd->gd_dead) {
		struct lwkt_thread *dead = gd->gd_dead;
		gd->gd_dead = NULL;
		reap(gd, dead);
	}
	if (gd->gd_migrating) {
		/* Its stack is free now: the target may run it at once. */
		struct lwkt_thread *td = gd->gd_migrating;
		gd->gd_migrating = NULL;
		gd->gd_nthreads--;
		/* td_gd changes here, before the IPI publishes td, and only
		 * here: a thread's cpu is stable except while it migrates
		 * (do not lwkt_schedule a thread that is migrating). */
		td->td_gd = lwkt_rt->rt_cpu[td->td_migrate_to];
		_lwkt_msgport_thread_migrate(td, td->td_migrate_to);
		lwkt_send_ipiq(td->td_migrate_to, _lwkt_adopt, td);
	}
}

static inline __attribute__((always_inline)) void
switch_to(struct lwkt_cpu *gd, struct lwkt_thread *next)
{
	struct lwkt_thread *td = gd->gd_curthread;

	_lwkt_ipiq_flush_held(gd);	/* a switch ends the sender's burst */
	lwkt_stat_inc(&gd->gd_st_switches);
	LWKT_TRACE(thread_switch, gd->gd_cpuid, td->td_id, next->td_id);
	/* TOKENS: a thread that is switched away gives its tokens up here
	 * and gets them back before it runs again (token.c). */
	if (td->td_tokens != NULL)
		_lwkt_token_switch_out(gd, td);
	gd->gd_curthread = next;
	/* The inline token paths of user code read next's held list from
	 * TLS (lwkt/token_inline.h; never in hard-IPI mode). */
	if (gd->gd_tok_inline)
		_lwkt_tls_tok.tt_ts = next->td_tokens;
	atomic_store_explicit(&gd->gd_inthread, !(next->td_flags & TDF_IDLE),
			      memory_order_relaxed);
	_lwkt_ctx_switch(&td->td_ctx, &next->td_ctx,
			 (td->td_flags & TDF_EXITING) != 0);
	/* Back on td, maybe on another cpu (migrate): re-read mycpu. */
	gd = mycpu();
	if (__builtin_expect(gd->gd_dead != NULL || gd->gd_migrating != NULL,
			     0))
		post_switch(gd);
	if (td->td_tokens != NULL)
		_lwkt_token_switch_in(td);
}

void
_lwkt_switch_to(struct lwkt_cpu *gd, struct lwkt_thread *next)
{
	switch_to(gd, next);
}

/* Best runnable thread, or the idle loop. */
static struct lwkt_thread *
choose_or_idle(struct lwkt_cpu *gd)
{
	struct lwkt_thread *next = choose(gd);
	return next ? next : &gd->gd_idlethread;
}

void
lwkt_switch(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_switch");
	struct lwkt_thread *td = gd->gd_curthread;

	_lwkt_crit_enter(td);
	/* IPIs may make threads runnable, us included. */
	_lwkt_poll_pending(gd);
	struct lwkt_thread *next = choose_or_idle(gd);
	if (next != td)
		switch_to(gd, next);
	_lwkt_crit_exit(mycpu(), td);
}

void
lwkt_yield(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_yield");
	struct lwkt_thread *td = gd->gd_curthread;

	_lwkt_crit_enter(td);
	_lwkt_poll_pending(gd);
	if (td->td_flags & TDF_RUNQ) {
		/* Round-robin among equals: go to the tail of our list. */
		rq_remove(gd, td);
		rq_append(gd, td);
	}
	struct lwkt_thread *next = choose(gd);
	if (next != NULL && next != td)
		switch_to(gd, next);
	_lwkt_crit_exit(mycpu(), td);
}

void
lwkt_deschedule_self(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_deschedule_self");
	struct lwkt_thread *td = gd->gd_curthread;
	if (td->td_flags & TDF_IDLE)
		lwkt_panic("lwkt_deschedule_self() from an IPI function or "
			   "the idle loop: only threads can block");
	if (td->td_flags & TDF_RUNQ)
		rq_remove(gd, td);
}

static void
schedule_ipi(void *arg, void *unused)
{
	(void)unused;
	struct lwkt_thread *td = arg;
	_lwkt_setrunqueue(td->td_gd, td);
}

void
lwkt_schedule(lwkt_thread_t td)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd == td->td_gd) {
		struct lwkt_thread *me = gd->gd_curthread;
		_lwkt_crit_enter(me);
		_lwkt_setrunqueue(gd, td);
		_lwkt_crit_exit(gd, me);
	} else {
		/* One IPI carries the whole wake-up (Dillon, kernel@
		 * dragonflybsd.org, 19 Jul 2003: "queue + schedule"). */
		lwkt_send_ipiq(td->td_gd->gd_cpuid, schedule_ipi, td);
	}
}

void
lwkt_sleep(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_sleep");
	struct lwkt_thread *td = gd->gd_curthread;
	_lwkt_crit_enter(td);
	lwkt_deschedule_self();
	lwkt_switch();
	_lwkt_crit_exit(mycpu(), td);
}

/* ---------------------------------------------------------------------- */
/* wait channels: a per-cpu list of sleepers; a wake-up reaches every cpu
 * by IPI and each wakes its own sleepers. */

static void
wakeup_local(void *ident, void *unused)
{
	(void)unused;
	struct lwkt_cpu *gd = mycpu();
	struct lwkt_thread **pp = &gd->gd_sleepq, *td;
	while ((td = *pp) != NULL) {
		if (td->td_wchan == ident) {
			*pp = td->td_slnext;
			td->td_slnext = NULL;
			td->td_wchan = NULL;
			_lwkt_setrunqueue(gd, td);
		} else {
			pp = &td->td_slnext;
		}
	}
}

static void
sleepq_remove(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	for (struct lwkt_thread **pp = &gd->gd_sleepq; *pp;
	     pp = &(*pp)->td_slnext) {
		if (*pp == td) {
			*pp = td->td_slnext;
			break;
		}
	}
	td->td_slnext = NULL;
	td->td_wchan = NULL;
}

void
lwkt_tsleep(const void *ident)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_tsleep");
	struct lwkt_thread *td = gd->gd_curthread;

	_lwkt_crit_enter(td);
	td->td_wchan = ident;
	td->td_slnext = gd->gd_sleepq;
	gd->gd_sleepq = td;
	lwkt_deschedule_self();
	lwkt_switch();
	/* Scheduled by something other than a wake-up: leave the queue. */
	gd = mycpu();
	if (td->td_wchan != NULL)
		sleepq_remove(gd, td);
	_lwkt_crit_exit(gd, td);
}

void
lwkt_wakeup(const void *ident)
{
	struct lwkt_cpu *gd = mycpu();
	for (int c = 0; c < lwkt_rt->rt_ncpus; c++) {
		if (gd && c == gd->gd_cpuid) {
			struct lwkt_thread *me = gd->gd_curthread;
			_lwkt_crit_enter(me);
			wakeup_local((void *)ident, NULL);
			_lwkt_crit_exit(gd, me);
		} else {
			lwkt_send_ipiq(c, wakeup_local, (void *)ident);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* creation, exit, join, migration */

static void
thread_entry(transfer_t t)
{
	_lwkt_ctx_entered(t);
	struct lwkt_cpu *gd = mycpu();
	post_switch(gd);
	struct lwkt_thread *td = gd->gd_curthread;
	/* Created at 1: we arrived via a switch.  Runs what arrived
	 * meanwhile before the thread's own code. */
	_lwkt_crit_exit(gd, td);
	td->td_fn(td->td_arg);
	lwkt_exit();
}

/* Runs on the thread's new cpu (IPI, inbox or directly). */
void
_lwkt_adopt(void *arg, void *unused)
{
	(void)unused;
	struct lwkt_thread *td = arg;
	struct lwkt_cpu *gd = mycpu();
	if (td->td_flags & TDF_MIGRATING)
		td->td_flags &= ~TDF_MIGRATING;
	else
		LWKT_TRACE(thread_create, gd->gd_cpuid, td->td_id, td->td_name);
	LWKT_ASSERT(td->td_gd == gd, "_lwkt_adopt: thread %llu adopted by cpu"
		    " %d but bound to cpu %d", (unsigned long long)td->td_id,
		    gd->gd_cpuid, td->td_gd->gd_cpuid);
	gd->gd_nthreads++;
	_lwkt_setrunqueue(gd, td);
}

/* Test hook: the next n guard-page mprotects fail (tests only; see
 * lwkt_priv.h). */
_Atomic int _lwkt_test_fail_guard;

static int
_lwkt_guard_page(void *lo, size_t page)
{
	int n = atomic_load_explicit(&_lwkt_test_fail_guard,
				     memory_order_relaxed);
	if (__builtin_expect(n > 0, 0) &&
	    atomic_compare_exchange_strong(&_lwkt_test_fail_guard, &n, n - 1)) {
		errno = ENOMEM;
		return -1;
	}
	return mprotect(lo, page, PROT_NONE);
}

int
lwkt_create_pri(lwkt_thread_fn fn, void *arg, int cpu, int flags, int pri,
		lwkt_thread_t *tdp, const char *name)
{
	struct lwkt_runtime *rt = lwkt_rt;
	if (rt == NULL)
		return ESHUTDOWN;
	if (fn == NULL || cpu < 0 || cpu >= rt->rt_ncpus || pri < LWKT_PRI_MIN
	    || pri > LWKT_PRI_MAX || (flags & ~LWKT_CREATE_DETACHED))
		return EINVAL;
	struct lwkt_thread *td = calloc(1, sizeof *td);
	if (td == NULL)
		return ENOMEM;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	td->td_stack_map = rt->rt_stack_size + page;
	td->td_stack = mmap(NULL, td->td_stack_map, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (td->td_stack == MAP_FAILED) {
		free(td);
		return ENOMEM;
	}
	/* Guard page: an overflow faults instead of corrupting memory.
	 * mprotect splits the mapping in two: near vm.max_map_count it
	 * fails (ENOMEM), and a thread without its guard would overflow
	 * into a neighbour's memory silently: refuse to create it. */
	if (_lwkt_guard_page(td->td_stack, page) != 0) {
		munmap(td->td_stack, td->td_stack_map);
		free(td);
		return ENOMEM;
	}
	/* Every thread has its own message port (msgport_thread.c). */
	if (_lwkt_msgport_thread_init(td, cpu) != 0) {
		munmap(td->td_stack, td->td_stack_map);
		free(td);
		return ENOMEM;
	}
	td->td_fn = fn;
	td->td_arg = arg;
	td->td_pri = pri;
	td->td_critcount = 1;	/* dropped by thread_entry */
	td->td_flags = (flags & LWKT_CREATE_DETACHED) ? TDF_DETACHED : 0;
	td->td_joinable = !(flags & LWKT_CREATE_DETACHED);
	td->td_id = atomic_fetch_add_explicit(&rt->rt_next_tid, 1,
					      memory_order_relaxed);
	snprintf(td->td_name, sizeof td->td_name, "%s", name ? name : "lwkt");
	_lwkt_ctx_init_stack(&td->td_ctx, (char *)td->td_stack + page,
			     rt->rt_stack_size, thread_entry);
	td->td_gd = rt->rt_cpu[cpu];
	atomic_fetch_add_explicit(&rt->rt_live_threads, 1,
				  memory_order_relaxed);
	all_link(rt, td);
	if (tdp)
		*tdp = td;
	/* Hand it to its cpu: all of td above is published by the IPI. */
	lwkt_send_ipiq(cpu, _lwkt_adopt, td);
	return 0;
}

int
lwkt_create(lwkt_thread_fn fn, void *arg, int cpu, int flags,
	    lwkt_thread_t *tdp, const char *name)
{
	return lwkt_create_pri(fn, arg, cpu, flags, LWKT_PRI_NORMAL, tdp,
			       name);
}

void
lwkt_exit(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_exit");
	struct lwkt_thread *td = gd->gd_curthread;
	if (td->td_flags & TDF_IDLE)
		lwkt_panic("lwkt_exit() from an IPI function or idle loop");
	_lwkt_crit_enter(td);	/* never left: the thread ends here */
	LWKT_TRACE(thread_exit, gd->gd_cpuid, td->td_id);
	if (td->td_flags & TDF_RUNQ)
		rq_remove(gd, td);
	td->td_flags |= TDF_EXITING;
	gd->gd_dead = td;	/* reaped by the next context, off our stack */
	_lwkt_switch_to(gd, choose_or_idle(gd));
	lwkt_panic("lwkt_exit: a dead thread was resumed");
}

int
lwkt_join(lwkt_thread_t td)
{
	if (td == NULL || !td->td_joinable || td == lwkt_curthread())
		return EINVAL;
	struct lwkt_cpu *gd = mycpu();
	if (gd != NULL) {
		/* An LWKT joiner sleeps on td; reap() wakes it after the
		 * release store, and our check+sleep is one critical
		 * section, so the wake-up cannot slip in between. */
		struct lwkt_thread *me = gd->gd_curthread;
		_lwkt_crit_enter(me);
		while (atomic_load_explicit(&td->td_exited,
					    memory_order_acquire) == 0)
			lwkt_tsleep(td);
		_lwkt_crit_exit(mycpu(), me);
	} else {
		uint32_t v;
		while ((v = atomic_load_explicit(&td->td_exited,
						 memory_order_acquire)) == 0)
			_lwkt_futex(&td->td_exited, FUTEX_WAIT_PRIVATE, v);
	}
	_lwkt_msgport_thread_fini(td);
	free(td);
	return 0;
}

int
lwkt_migrate(int cpu)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_migrate");
	struct lwkt_thread *td = gd->gd_curthread;
	if (cpu < 0 || cpu >= lwkt_rt->rt_ncpus || (td->td_flags & TDF_IDLE))
		return EINVAL;
	if (cpu == gd->gd_cpuid)
		return 0;
	_lwkt_crit_enter(td);
	if (td->td_flags & TDF_RUNQ)
		rq_remove(gd, td);
	td->td_flags |= TDF_MIGRATING;
	td->td_migrate_to = cpu;
	gd->gd_migrating = td;	/* sent by the next context, off our stack */
	_lwkt_switch_to(gd, choose_or_idle(gd));
	/* Now on cpu `cpu` (post_switch there ran on the adopting side). */
	_lwkt_crit_exit(mycpu(), td);
	return 0;
}

lwkt_thread_t
lwkt_curthread(void)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd == NULL || (gd->gd_curthread->td_flags & TDF_IDLE))
		return NULL;
	return gd->gd_curthread;
}

uint64_t
lwkt_thread_id(lwkt_thread_t td)
{
	return td->td_id;
}

int
lwkt_thread_cpu(lwkt_thread_t td)
{
	return td->td_gd->gd_cpuid;
}

const char *
lwkt_thread_name(lwkt_thread_t td)
{
	return td->td_name;
}

void
_lwkt_thread_init_idle(struct lwkt_cpu *gd)
{
	struct lwkt_thread *td = &gd->gd_idlethread;
	memset(td, 0, sizeof *td);
	td->td_gd = gd;
	td->td_flags = TDF_IDLE;
	td->td_id = 0;
	snprintf(td->td_name, sizeof td->td_name, "idle/%d", gd->gd_cpuid);
	_lwkt_ctx_init_self(&td->td_ctx);
	gd->gd_curthread = td;
}
