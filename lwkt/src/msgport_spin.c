/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_spin.c - the spin port: any thread on any cpu (and outside
 * callers, for sendmsg/getport) uses it; a test-and-test-and-set lock
 * guards the queue, as DragonFly's lwkt_spin_* port functions
 * (kern/lwkt_msgport.c) guard theirs with a spinlock.  Sleepers tsleep on
 * the port and are woken by lwkt_wakeup from any cpu.
 */
#include "msgport_priv.h"

/* The lock is taken inside a critical section, so a hard-IPI signal
 * never runs port code under it. */
static inline void
spin_lock(lwkt_port_t p)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd)
		_lwkt_crit_enter(gd->gd_curthread);
	/* acquire: pairs with the release in spin_unlock. */
	while (atomic_exchange_explicit(&p->mp_u.spin, 1,
					memory_order_acquire) != 0)
		while (atomic_load_explicit(&p->mp_u.spin,
					    memory_order_relaxed) != 0)
			lwkt_cpu_relax();
}

static inline void
spin_unlock(lwkt_port_t p)
{
	atomic_store_explicit(&p->mp_u.spin, 0, memory_order_release);
	struct lwkt_cpu *gd = mycpu();
	if (gd)
		_lwkt_crit_exit(gd, gd->gd_curthread);
}

/* Queues m (reply: q_reply's rules) under the lock, then wakes the
 * port's sleepers if WAITING was set (after the lock: lwkt_wakeup may
 * send IPIs). */
static void
spin_queue(lwkt_port_t p, lwkt_msg_t m, bool reply)
{
	spin_lock(p);
	if (reply)
		q_reply(p, m);
	else
		q_append(p, m);
	bool wake = port_clear_waiting(p);
	spin_unlock(p);
	if (wake)
		_lwkt_port_wakeup(p);
}

static int
spin_putport(lwkt_port_t p, lwkt_msg_t m)
{
	spin_queue(p, m, false);
	return EASYNC;
}

static lwkt_msg_t
spin_getport(lwkt_port_t p)
{
	spin_lock(p);
	lwkt_msg_t m = q_pop(p);
	spin_unlock(p);
	return m;
}

/*
 * Sleeps on p until woken, unless the condition re-checked under the lock
 * holds (m != NULL: m is done; else: p is not empty).  WAITING is set
 * under the lock, the lock dropped and tsleep entered in one critical
 * section: a waker's IPI to this cpu runs only inside tsleep's switch,
 * after we are on the sleep queue (no lost wake-up).
 */
static void
spin_sleep(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	struct lwkt_thread *td = gd->gd_curthread;
	_lwkt_crit_enter(td);
	spin_lock(p);
	bool ready = m ? is_done(m) : p->mp_head != NULL;
	if (!ready)
		p->mp_flags |= MSGPORTF_WAITING;
	spin_unlock(p);
	if (!ready)
		lwkt_tsleep(p);
	_lwkt_crit_exit(mycpu(), td);
}

/* One step of a spin-port waiter: poll (true) or sleep (false). */
static bool
spin_wait_step(struct spinwait *sw, struct lwkt_cpu *gd,
	       struct lwkt_thread *td)
{
	if (!spin_more(sw, gd, td))
		return false;
	_lwkt_crit_enter(td);
	spin_step(gd, sw);
	/* No poll: spin_step just ran everything pending, and the caller
	 * polls again at its next step. */
	_lwkt_crit_exit_noyield(td);
	return true;
}

static lwkt_msg_t
spin_waitport(lwkt_port_t p, int flags)
{
	(void)flags;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitport");
	struct lwkt_thread *td = gd->gd_curthread;
	struct spinwait sw = {0, 0};
	lwkt_msg_t m;
	while ((m = spin_getport(p)) == NULL) {
		if (spin_wait_step(&sw, gd, td))
			continue;
		spin_sleep(p, NULL);
		gd = mycpu();
	}
	return m;
}

static void
spin_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	spin_queue(p, m, true);
}

static int
spin_waitmsg(lwkt_msg_t m, int flags)
{
	(void)flags;
	lwkt_port_t p = m->ms_reply_port;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitmsg");
	struct lwkt_thread *td = gd->gd_curthread;
	struct spinwait sw = {0, 0};
	if (!is_done(m)) {
		LWKT_TRACE(msg_wait_begin, m->ms_id, gd->gd_cpuid, td->td_id);
		while (!is_done(m)) {
			if (spin_wait_step(&sw, gd, td))
				continue;
			spin_sleep(p, m);
			gd = mycpu();
		}
		LWKT_TRACE(msg_wait_end, m->ms_id, gd->gd_cpuid, td->td_id);
	}
	if (fl_get(m) & MSGF_QUEUED) {
		spin_lock(p);
		q_remove(p, m);
		spin_unlock(p);
	}
	return m->ms_error;
}

static int
spin_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	spin_lock(p);
	int e = q_drop(p, m);
	spin_unlock(p);
	return e;
}

static void
spin_abortport(lwkt_port_t p, lwkt_msg_t m)
{
	spin_lock(p);
	bool queued = q_take(p, m);
	spin_unlock(p);
	_lwkt_abort_at_port(p, m, queued);
}

static const struct port_ops spin_ops = {
	.getport = spin_getport,
	.putport = spin_putport,
	.waitmsg = spin_waitmsg,
	.waitport = spin_waitport,
	.replyport = spin_replyport,
	.dropmsg = spin_dropmsg,
	.abortport = spin_abortport,
};

void
lwkt_initport_spin(lwkt_port_t p)
{
	LWKT_ASSERT(p != NULL, "lwkt_initport_spin: NULL port");
	_lwkt_port_init(p, MSGPORTF_SPIN, &spin_ops);
	atomic_store_explicit(&p->mp_u.spin, 0, memory_order_relaxed);
}
