/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_thread.c - the thread port: owned by one thread, its queue
 * touched only by the owner's cpu inside a critical section.  A sender on
 * another cpu hands the message over with one IPI that queues it and
 * schedules the owner in the same function (Dillon, "Initial messaging /
 * message-port infrastructure is in", kernel@dragonflybsd.org, 19 Jul
 * 2003) — no lock, no atomic RMW on the port.  DragonFly's thread port
 * functions in kern/lwkt_msgport.c (lwkt_thread_putport and its
 * _remote half) follow the same pattern.  Every thread has one, made at
 * creation and freed at reap.
 */
#include <stdlib.h>

#include "ipiq_fast.h"
#include "msgport_priv.h"

/* Sleeps until scheduled (caller in its critical section, descheduled
 * by us).  Returns the cpu it runs on after the wake-up. */
static inline struct lwkt_cpu *
block_self(void)
{
	lwkt_deschedule_self();
	lwkt_switch();
	return mycpu();
}

static int
port_cpu(lwkt_port_t p, const char *what, lwkt_msg_t m)
{
	struct lwkt_runtime *rt = lwkt_rt;
	int cpu = _lwkt_port_cpuid(p);
	if (rt == NULL || cpu >= rt->rt_ncpus || rt->rt_cpu[cpu]->gd_stopping)
		lwkt_panic("%s of message %p (id %#llx): port %llu lives on "
			   "cpu %d, which has shut down", what, (void *)m,
			   (unsigned long long)m->ms_id,
			   (unsigned long long)p->mp_id, cpu);
	return cpu;
}

/* Runs f(p, m) on the port's cpu (`cpu`, read once by the caller)
 * inside a critical section: here if we (gd, NULL outside LWKT) are that
 * cpu, else by one IPI (whose ring release/acquire hands m over), inline
 * in the common case (ipiq_fast.h).  FIFO per ring keeps a send's later
 * abort after its arrival. */
static inline __attribute__((always_inline)) void
on_port_cpu_at(struct lwkt_cpu *gd, int cpu, lwkt_port_t p, lwkt_msg_t m,
	       const char *what, void (*f)(void *, void *))
{
	if (gd != NULL) {
		if (gd->gd_cpuid == cpu) {
			struct lwkt_thread *td = gd->gd_curthread;
			_lwkt_crit_enter(td);
			f(p, m);
			_lwkt_crit_exit(gd, td);
			return;
		}
		if (_lwkt_ipiq_send_fast(gd, cpu, f, p, m))
			return;
	}
	/* The full send; port_cpu names a port whose cpu is gone. */
	lwkt_send_ipiq2(port_cpu(p, what, m), f, p, m);
}

static inline void
on_port_cpu(lwkt_port_t p, lwkt_msg_t m, const char *what,
	    void (*f)(void *, void *))
{
	on_port_cpu_at(mycpu(), _lwkt_port_cpuid(p), p, m, what, f);
}

/* On the port's cpu: the owner exited (its port lives until lwkt_join
 * so that this is a clear panic, not a use-after-free). */
static __attribute__((noreturn, cold)) void
dead_owner(lwkt_port_t p, lwkt_msg_t m, const char *what)
{
	lwkt_panic("%s of message %p (id %#llx) to port %llu of thread '%s' "
		   "(id %llu), which has exited: nobody will read it",
		   what, (void *)m, (unsigned long long)m->ms_id,
		   (unsigned long long)p->mp_id, p->mp_td->td_name,
		   (unsigned long long)p->mp_td->td_id);
}

/* In an on-cpu function: true if the owner moved on (lwkt_migrate) after
 * the sender read the port's cpu; then f follows it there, as
 * DragonFly's thread-port remote functions chase td->td_gd. */
static inline bool
moved_on(lwkt_port_t p, lwkt_msg_t m, void (*f)(void *, void *))
{
	int cpu = _lwkt_port_cpuid(p);
	if (__builtin_expect(cpu == mycpu()->gd_cpuid, 1))
		return false;
	lwkt_send_ipiq2(cpu, f, p, m);
	return true;
}

/* On the port's cpu, in a critical section: the owner waits on the port
 * (WAITING set before it blocked): make it runnable. */
static inline void
tport_wake_owner(struct lwkt_cpu *gd, lwkt_port_t p)
{
	if (port_clear_waiting(p))
		_lwkt_setrunqueue(gd, p->mp_td);
}

/* Queue and wake the owner: both halves of the hand-over in one function
 * on the port's cpu (ring acquire side: ipiq.c). */
void
_lwkt_tport_put_oncpu(void *a1, void *a2)
{
	lwkt_port_t p = a1;
	lwkt_msg_t m = a2;
	if (moved_on(p, m, _lwkt_tport_put_oncpu))
		return;
	if (__builtin_expect(p->mp_flags & MSGPORTF_DEAD, 0))
		dead_owner(p, m, "send");
	if (__builtin_expect(fl_get(m) & MSGF_ABORT_ONARRIVAL, 0)) {
		/* Aborted in transit (_lwkt_abort_at_port): the handler
		 * never sees it. */
		fl_put(m, fl_get(m) & ~(MSGF_INTRANSIT | MSGF_ABORT_ONARRIVAL));
		lwkt_replymsg(m, ECONNABORTED);
		return;
	}
	q_append(p, m);
	tport_wake_owner(mycpu(), p);
}

/* A send: by value if begin_send allowed it (MSGF_BYVALUE: a small
 * message from an LWKT cpu) and the port is on another cpu whose ring
 * takes it at once (msgport_value.c); else by reference. */
static int
tport_putport(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	int cpu = _lwkt_port_cpuid(p);
	uint32_t f = fl_get(m);
	if (f & MSGF_BYVALUE) {
		if (gd->gd_cpuid != cpu && _lwkt_vmsg_send(gd, cpu, p, m))
			return EASYNC;
		f &= ~(uint32_t)MSGF_BYVALUE;
		fl_put(m, f);
	}
	if (gd == NULL || gd->gd_cpuid != cpu)
		fl_put(m, f | MSGF_INTRANSIT);
	on_port_cpu_at(gd, cpu, p, m, "send", _lwkt_tport_put_oncpu);
	return EASYNC;
}

static inline struct lwkt_thread *
tport_owner_check(struct lwkt_cpu *gd, lwkt_port_t p, const char *fn)
{
	struct lwkt_thread *td = gd->gd_curthread;
	if (__builtin_expect(p->mp_td != td ||
			     gd->gd_cpuid != _lwkt_port_cpuid(p), 0))
		lwkt_panic("%s: thread port %llu belongs to thread '%s' on cpu "
			   "%d; only its owner may read or wait on it", fn,
			   (unsigned long long)p->mp_id, p->mp_td->td_name,
			   _lwkt_port_cpuid(p));
	return td;
}

static lwkt_msg_t
tport_getport(lwkt_port_t p)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_getport");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_getport");
	_lwkt_crit_enter(td);
	lwkt_msg_t m = q_pop(p);
	_lwkt_crit_exit(gd, td);
	return m;
}

/* One round of the owner waiting on its port (in its critical section)
 * after it found nothing: poll a while, else sleep.  Returns the cpu. */
static inline struct lwkt_cpu *
tport_wait_step(struct spinwait *sw, struct lwkt_cpu *gd,
		struct lwkt_thread *td, lwkt_port_t p)
{
	if (spin_more(sw, gd, td)) {
		spin_step(gd, sw);
		return gd;
	}
	/* tport_*_oncpu see WAITING and schedule us; they run on this cpu,
	 * we in our critical section: no lost wake-up. */
	p->mp_flags |= MSGPORTF_WAITING;
	return block_self();
}

static lwkt_msg_t
tport_waitport(lwkt_port_t p, int flags)
{
	(void)flags;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitport");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_waitport");
	struct spinwait sw = {0, 0};
	lwkt_msg_t m;

	_lwkt_crit_enter(td);
	while ((m = q_pop(p)) == NULL)
		gd = tport_wait_step(&sw, gd, td, p);
	port_clear_waiting(p);
	_lwkt_crit_exit(gd, td);
	return m;
}

static void
tport_reply_oncpu(void *a1, void *a2)
{
	lwkt_port_t p = a1;
	if (moved_on(p, a2, tport_reply_oncpu))
		return;
	if (__builtin_expect(p->mp_flags & MSGPORTF_DEAD, 0))
		dead_owner(p, a2, "reply");
	q_reply(p, a2);
	tport_wake_owner(mycpu(), p);
}

static void
tport_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	on_port_cpu(p, m, "reply", tport_reply_oncpu);
}

static int
tport_waitmsg(lwkt_msg_t m, int flags)
{
	(void)flags;
	lwkt_port_t p = m->ms_reply_port;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitmsg");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_waitmsg");
	struct spinwait sw = {0, 0};

	_lwkt_crit_enter(td);
	if (!is_done(m)) {
		LWKT_TRACE(msg_wait_begin, m->ms_id, gd->gd_cpuid, td->td_id);
		while (!is_done(m))
			gd = tport_wait_step(&sw, gd, td, p);
		port_clear_waiting(p);
		LWKT_TRACE(msg_wait_end, m->ms_id, gd->gd_cpuid, td->td_id);
	}
	/* An async reply sits on our queue: take it off. */
	if (fl_get(m) & MSGF_QUEUED)
		q_remove(p, m);
	_lwkt_crit_exit(gd, td);
	return m->ms_error;
}

static int
tport_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_dropmsg");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_dropmsg");
	_lwkt_crit_enter(td);
	int e = q_drop(p, m);
	_lwkt_crit_exit(gd, td);
	return e;
}

static void
tport_abort_oncpu(void *a1, void *a2)
{
	lwkt_port_t p = a1;
	lwkt_msg_t m = a2;
	if (moved_on(p, m, tport_abort_oncpu))
		return;
	/* Sent by value: the handler has a copy (set before the send was
	 * published, cleared at its reply on the sending cpu: a stale
	 * "clear" cannot be read here before the arrival). */
	if (fl_get(m) & MSGF_BYVALUE) {
		_lwkt_vmsg_abort_at(p, m);
		return;
	}
	_lwkt_abort_at_port(p, m, q_take(p, m));
}

static void
tport_abortport(lwkt_port_t p, lwkt_msg_t m)
{
	on_port_cpu(p, m, "abort", tport_abort_oncpu);
}

static const struct port_ops tport_ops = {
	.getport = tport_getport,
	.putport = tport_putport,
	.waitmsg = tport_waitmsg,
	.waitport = tport_waitport,
	.replyport = tport_replyport,
	.dropmsg = tport_dropmsg,
	.abortport = tport_abortport,
};

static void
tport_init(lwkt_port_t p, struct lwkt_thread *td, int cpu)
{
	_lwkt_port_init(p, MSGPORTF_THREAD, &tport_ops);
	p->mp_td = td;
	p->mp_cpuid = cpu;
}

void
lwkt_initport_thread(lwkt_port_t p, lwkt_thread_t td)
{
	LWKT_ASSERT(p != NULL && td != NULL, "lwkt_initport_thread: NULL "
		    "port (%p) or thread (%p)", (void *)p, (void *)td);
	tport_init(p, td, td->td_gd->gd_cpuid);
}

/* thread.c hooks: every thread gets its port at creation, freed at reap. */
int
_lwkt_msgport_thread_init(struct lwkt_thread *td, int cpu)
{
	/* Aligned: the senders' and the owner's halves on their own lines
	 * (aligned_alloc wants a size that is a multiple of the alignment:
	 * ASan enforces it). */
	lwkt_port_t p = aligned_alloc(LWKT_CACHELINE,
				      (sizeof *p + LWKT_CACHELINE - 1) &
				      ~(size_t)(LWKT_CACHELINE - 1));
	if (p == NULL)
		return ENOMEM;
	tport_init(p, td, cpu);
	td->td_msgport = p;
	return 0;
}

/* thread.c hook, on the old cpu while td migrates (off its stack, in a
 * critical section), before the IPI that hands td to `cpu`: the port's
 * queue goes with it (that IPI's release publishes it). */
void
_lwkt_msgport_thread_migrate(struct lwkt_thread *td, int cpu)
{
	lwkt_port_t p = td->td_msgport;
	__atomic_store_n(&p->mp_cpuid, cpu, __ATOMIC_RELAXED);
}

/* thread.c hook, at reap on the thread's cpu: the port stays (a send
 * that raced the exit panics clearly, dead_owner) until lwkt_join, or
 * is freed now for a detached thread (nobody can join it: sending to it
 * after its exit is the sender's use-after-free). */
void
_lwkt_msgport_thread_exited(struct lwkt_thread *td, bool detached)
{
	lwkt_port_t p = td->td_msgport;
	if (p == NULL)
		return;
	if (p->mp_head != NULL)
		lwkt_panic("thread '%s' (id %llu) exited with message %p (id "
			   "%#llx) still queued on its port %llu", td->td_name,
			   (unsigned long long)td->td_id, (void *)p->mp_head,
			   (unsigned long long)p->mp_head->ms_id,
			   (unsigned long long)p->mp_id);
	p->mp_flags |= MSGPORTF_DEAD;
	if (detached)
		_lwkt_msgport_thread_fini(td);
}

/* thread.c hook: lwkt_join (after the reaper's release) or reap of a
 * detached thread. */
void
_lwkt_msgport_thread_fini(struct lwkt_thread *td)
{
	free(td->td_msgport);
	td->td_msgport = NULL;
}

lwkt_port_t
lwkt_thread_port(lwkt_thread_t td)
{
	if (td == NULL)
		td = lwkt_curthread();
	return td ? td->td_msgport : NULL;
}
