/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_priv.h - what the message API (msgport.c) and the port flavours
 * (msgport_{thread,spin,serialize,func,outside}.c) share: flag and queue
 * helpers, the waiting policy, one port_init(&ops).  Private.
 */
#ifndef LWKT_SRC_MSGPORT_PRIV_H
#define LWKT_SRC_MSGPORT_PRIV_H

#include <errno.h>

#include "lwkt/msgport.h"
#include "lwkt/serialize.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"

/* ---- trace arguments ---- */

static inline uint32_t
_lwkt_msg_cpu(struct lwkt_cpu *gd)
{
	return gd ? (uint32_t)gd->gd_cpuid : UINT32_MAX;
}

static inline uint64_t
_lwkt_msg_tid(struct lwkt_cpu *gd)
{
	return gd ? gd->gd_curthread->td_id : 0;
}

/* The port's cpu.  A thread's own port follows its owner when it
 * migrates: the old cpu stores the new value (relaxed) before it hands
 * the thread over, so a sender may read a stale cpu, whose on-cpu
 * function then forwards (msgport_thread.c). */
static inline int
_lwkt_port_cpuid(lwkt_port_t p)
{
	return __atomic_load_n(&p->mp_cpuid, __ATOMIC_RELAXED);
}

/* ---- flags: the owner's plain stores (never an RMW); DONE with release */

static inline uint32_t
fl_get(lwkt_msg_t m)
{
	return atomic_load_explicit(&m->ms_flags, memory_order_relaxed);
}

static inline void
fl_put(lwkt_msg_t m, uint32_t f)
{
	atomic_store_explicit(&m->ms_flags, f, memory_order_relaxed);
}

/* Hands the message back: every write to it before this store is seen by
 * the waiter whose acquire load of ms_flags sees MSGF_DONE. */
static inline void
fl_done(lwkt_msg_t m)
{
	atomic_store_explicit(&m->ms_flags, fl_get(m) | MSGF_DONE,
			      memory_order_release);
}

static inline bool
is_done(lwkt_msg_t m)
{
	/* acquire: pairs with fl_done's release. */
	return atomic_load_explicit(&m->ms_flags, memory_order_acquire) &
	       MSGF_DONE;
}

/* ---- port queue: doubly linked, FIFO; the caller owns the port's queue
 * (msgport.h says who that is for each flavour) ---- */

static inline void
q_append(lwkt_port_t p, lwkt_msg_t m)
{
	m->ms_next = NULL;
	m->ms_prev = p->mp_tail;
	if (p->mp_tail)
		p->mp_tail->ms_next = m;
	else
		p->mp_head = m;
	p->mp_tail = m;
	fl_put(m, (fl_get(m) | MSGF_QUEUED) & ~MSGF_INTRANSIT);
}

static inline void
q_remove(lwkt_port_t p, lwkt_msg_t m)
{
	if (m->ms_prev)
		m->ms_prev->ms_next = m->ms_next;
	else
		p->mp_head = m->ms_next;
	if (m->ms_next)
		m->ms_next->ms_prev = m->ms_prev;
	else
		p->mp_tail = m->ms_prev;
	m->ms_next = m->ms_prev = NULL;
	fl_put(m, fl_get(m) & ~MSGF_QUEUED);
}

static inline lwkt_msg_t
q_pop(lwkt_port_t p)
{
	lwkt_msg_t m = p->mp_head;
	if (m != NULL)
		q_remove(p, m);
	return m;
}

static inline bool
q_contains(lwkt_port_t p, lwkt_msg_t m)
{
	for (lwkt_msg_t x = p->mp_head; x; x = x->ms_next)
		if (x == m)
			return true;
	return false;
}

/* Removes m if it is queued on p; true if it was. */
static inline bool
q_take(lwkt_port_t p, lwkt_msg_t m)
{
	bool queued = q_contains(p, m);
	if (queued)
		q_remove(p, m);
	return queued;
}

/* The reply side shared by the queueing flavours (queue owned by the
 * caller): a SYNC message is handed back by the DONE store alone, an
 * async one is queued first.  m is not touched after fl_done: its owner
 * may reuse it at once. */
static inline void
q_reply(lwkt_port_t p, lwkt_msg_t m)
{
	if (!(fl_get(m) & MSGF_SYNC))
		q_append(p, m);
	fl_done(m);
}

/* Dropmsg shared by the queueing flavours (queue owned by the caller). */
static inline int
q_drop(lwkt_port_t p, lwkt_msg_t m)
{
	if ((fl_get(m) & MSGF_REPLY) || !q_take(p, m))
		return ENOENT;
	fl_done(m);
	return 0;
}

/* Clears WAITING if set; true if it was.  The flag shares its line with
 * the queue, but a store nobody needs still dirties it: write it only
 * when it changes (the queue's owner). */
static inline bool
port_clear_waiting(lwkt_port_t p)
{
	if (!(p->mp_flags & MSGPORTF_WAITING))
		return false;
	p->mp_flags &= ~MSGPORTF_WAITING;
	return true;
}

/* ---- the waiting policy of thread and spin ports ----
 *
 * While the waiter is the only runnable thread of its cpu, it polls its
 * IPI rings itself for up to the runtime's idle spin budget
 * (lc_idle_spin_ns), what the idle loop would do, minus two context
 * switches; then it sleeps and the idle loop's own spin/futex policy
 * takes over.  With lc_idle_spin_ns = 0 a waiter sleeps at once. */

struct spinwait {
	uint64_t sw_t0;
	unsigned sw_n;
};

/* True if a thread other than td is runnable on gd. */
static inline bool
others_runnable(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	uint32_t mask = gd->gd_rqmask;
	if (!(td->td_flags & TDF_RUNQ))
		return mask != 0;
	if (mask & ~(1u << td->td_pri))
		return true;
	return gd->gd_rqhead[td->td_pri] != td || td->td_rqnext != NULL;
}

/* Whether the waiter td keeps polling (true) or should sleep. */
static inline bool
spin_more(struct spinwait *sw, struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	int64_t budget = lwkt_rt->rt_idle_spin_ns;
	if (budget <= 0 || others_runnable(gd, td))
		return false;
	/* No clock read on the first 64 polls: most waits end sooner, and
	 * a vDSO clock_gettime (~28 ns) would sit on the round trip. */
	if (++sw->sw_n < 64)
		return true;
	if (sw->sw_n == 64) {
		sw->sw_t0 = lwkt_now_ns();
	} else if ((sw->sw_n & 63) == 0 &&
		   (int64_t)(lwkt_now_ns() - sw->sw_t0) > budget) {
		sw->sw_n = 0;	/* a fresh budget after the next wake */
		return false;
	}
	return true;
}

/* One polling step of a waiter (in its critical section).  No PAUSE in
 * the first lc_poll_pause polls (default 64): PAUSE costs ~25 ns on the
 * reference EPYC, and a fast round trip is a few of them (domsg 276 ->
 * ~235 ns without); but a poller without PAUSE steals the awaited line
 * from its writer more often, which costs more than it saves when line
 * transfers are slow: a parameter, to be chosen per host (cpu.h). */
static inline void
spin_step(struct lwkt_cpu *gd, const struct spinwait *sw)
{
	_lwkt_poll_pending(gd);
	if (sw->sw_n >= gd->gd_poll_pause)
		lwkt_cpu_relax();
}

/* ---- ports: one init for every flavour ---- */

/* A flavour's operations; NULL entries get the panicking stubs of
 * msgport.c (unsupported ops are never NULL in a port, as DragonFly's
 * lwkt_panic_* functions in kern/lwkt_msgport.c). */
struct port_ops {
	lwkt_msg_t (*getport)(lwkt_port_t);
	int (*putport)(lwkt_port_t, lwkt_msg_t);
	int (*waitmsg)(lwkt_msg_t, int);
	lwkt_msg_t (*waitport)(lwkt_port_t, int);
	void (*replyport)(lwkt_port_t, lwkt_msg_t);
	int (*dropmsg)(lwkt_port_t, lwkt_msg_t);
	void (*abortport)(lwkt_port_t, lwkt_msg_t);
};

/* Zeroes p and gives it a kind, an id and ops. */
void _lwkt_port_init(lwkt_port_t p, uint32_t kind,
		     const struct port_ops *ops);

/* Abort, on the side that owns port p's queue: queued (the handler never
 * saw it) -> replied ECONNABORTED; a handler has it -> ms_abortfn. */
void _lwkt_abort_at_port(lwkt_port_t p, lwkt_msg_t m, bool queued);

/* Wakes the threads that tsleep on port p (any cpu). */
static inline void
_lwkt_port_wakeup(lwkt_port_t p)
{
	lwkt_wakeup(p);
}

/* msgport_thread.c: queue m on thread port p and wake its owner (on p's
 * cpu, in a critical section; follows an owner that moved on). */
void _lwkt_tport_put_oncpu(void *p, void *m);

/* msgport_value.c: messages sent by value (lwkt_msg_byvalue).
 *   _lwkt_vmsg_send      the sender, for a thread port on another cpu:
 *                        true if sent by value, else m is unchanged;
 *   _lwkt_vmsg_abort     lwkt_abortmsg of a by-value send (relayed
 *                        through the sending cpu: FIFO behind the send);
 *   _lwkt_vmsg_abort_at  the abort on the port's cpu (finds the copy);
 *   _lwkt_vmsg_dropped   lwkt_dropmsg dropped a copy (MSGF_VCOPY). */
bool _lwkt_vmsg_send(struct lwkt_cpu *gd, int cpu, lwkt_port_t p,
		     lwkt_msg_t m);
void _lwkt_vmsg_abort(lwkt_port_t p, lwkt_msg_t m);
void _lwkt_vmsg_abort_at(lwkt_port_t p, lwkt_msg_t m);
void _lwkt_vmsg_dropped(lwkt_msg_t m);

/* msgport_outside.c: the futex reply port of outside callers. */
lwkt_port_t _lwkt_outside_port(void);
int _lwkt_outside_wait(lwkt_msg_t m);

#endif /* LWKT_SRC_MSGPORT_PRIV_H */
