/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport.c - LWKT messages and ports (DragonFly's lwkt_msgport.c
 * contracts, our code).  The thread port is the point of the exercise:
 * its queue belongs to its owner's cpu, so a sender on another cpu hands
 * the message over with one IPI that queues it and schedules the owner
 * in the same function (seed 000) — no lock, no atomic RMW on the port.
 * Spin, serializer and function ports are the comparisons.
 *
 * Waiting (waitmsg, waitport on a thread port): while the waiter is the
 * only runnable thread of its cpu, it polls its IPI rings itself for up
 * to the runtime's idle spin budget (lc_idle_spin_ns), exactly what the
 * idle loop would do, minus two context switches; then it sleeps
 * (deschedule + switch), and the idle loop's own spin/futex policy
 * takes over.  With lc_idle_spin_ns = 0 a waiter sleeps at once.
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lwkt/msgport.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"

/* ---------------------------------------------------------------------- */
/* ids for the trace schema (lwkt_trace.h)
 *
 * msg_id: unique per process, no shared counter on the send path: a
 * per-cpu sequence (written by its cpu only, own cache line) tagged with
 * cpu+1 in the top 16 bits; outside senders use a shared atomic counter
 * (tag 0; not a measured path).  port_id: one atomic counter (init only).
 */
static struct {
	_Alignas(LWKT_CACHELINE) uint64_t ms_next;
} msg_seq[LWKT_MAXCPU];
static _Atomic uint64_t msg_seq_outside;
static _Atomic uint64_t port_seq;

static inline uint64_t
next_msg_id(struct lwkt_cpu *gd)
{
	if (gd != NULL)
		return ((uint64_t)(gd->gd_cpuid + 1) << 48) |
		       ++msg_seq[gd->gd_cpuid].ms_next;
	return atomic_fetch_add_explicit(&msg_seq_outside, 1,
					 memory_order_relaxed) + 1;
}

static inline uint32_t
cpu_u32(struct lwkt_cpu *gd)
{
	return gd ? (uint32_t)gd->gd_cpuid : UINT32_MAX;
}

static inline uint64_t
cur_tid(struct lwkt_cpu *gd)
{
	return gd ? gd->gd_curthread->td_id : 0;
}

/* ---------------------------------------------------------------------- */
/* flags: the owner's plain stores (never an RMW); DONE with release */

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

/* ---------------------------------------------------------------------- */
/* port queue: doubly linked, FIFO; caller owns the port (see msgport.h) */

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

static bool
q_contains(lwkt_port_t p, lwkt_msg_t m)
{
	for (lwkt_msg_t x = p->mp_head; x; x = x->ms_next)
		if (x == m)
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* critical sections without the trace/lookup of crit_enter (hot path) */

static inline void
crit_in(struct lwkt_thread *td)
{
	td->td_critcount++;
	atomic_signal_fence(memory_order_seq_cst);
}

/* Drops the count; at zero, runs what arrived meanwhile (crit.h). */
static inline void
crit_out(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (--td->td_critcount == 0 &&
	    (_lwkt_ipiq_pending(gd) ||
	     atomic_load_explicit(&gd->gd_inbox_any, memory_order_relaxed))) {
		td->td_critcount++;
		_lwkt_poll_pending(gd);
		td->td_critcount--;
	}
}

/* ---------------------------------------------------------------------- */
/* the waiting policy (file header) */

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
 * the first 64 polls: PAUSE costs ~25 ns on the reference EPYC, and a
 * round trip is a few of them (domsg 276 -> ~235 ns without); longer
 * waits pause, to be kind to an SMT sibling. */
static inline void
spin_step(struct lwkt_cpu *gd, const struct spinwait *sw)
{
	_lwkt_poll_pending(gd);
	if (sw->sw_n >= 64)
		lwkt_cpu_relax();
}

/* Sleeps until scheduled (caller in its critical section, descheduled
 * by us).  Returns the cpu (unchanged: threads with ports don't migrate). */
static inline struct lwkt_cpu *
block_self(struct lwkt_cpu *gd)
{
	(void)gd;
	lwkt_deschedule_self();
	lwkt_switch();
	return mycpu();
}

/* ---------------------------------------------------------------------- */
/* panicking stubs: unsupported ops are never NULL (STYLE.md (c)) */

static lwkt_msg_t
panic_getport(lwkt_port_t p)
{
	lwkt_panic("getport on port %llu (kind %#x): this port flavour has "
		   "no queue to read", (unsigned long long)p->mp_id,
		   p->mp_kind);
}

static lwkt_msg_t
panic_waitport(lwkt_port_t p, int flags)
{
	(void)flags;
	lwkt_panic("waitport on port %llu (kind %#x): this port flavour has "
		   "no queue to wait on", (unsigned long long)p->mp_id,
		   p->mp_kind);
}

static int
panic_waitmsg(lwkt_msg_t m, int flags)
{
	(void)flags;
	lwkt_panic("waitmsg on message %p (id %#llx): its reply port %llu "
		   "cannot be waited on", (void *)m,
		   (unsigned long long)m->ms_id,
		   (unsigned long long)m->ms_reply_port->mp_id);
}

static void
panic_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	lwkt_panic("reply of message %p (id %#llx) to port %llu (kind %#x): "
		   "a function port cannot be a reply port", (void *)m,
		   (unsigned long long)m->ms_id, (unsigned long long)p->mp_id,
		   p->mp_kind);
}

static int
panic_putport(lwkt_port_t p, lwkt_msg_t m)
{
	lwkt_panic("send of message %p to port %llu (kind %#x): this port "
		   "only receives replies", (void *)m,
		   (unsigned long long)p->mp_id, p->mp_kind);
}

static int
enoent_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	(void)p, (void)m;
	return ENOENT;
}

static void
port_base(lwkt_port_t p, uint32_t kind)
{
	memset(p, 0, sizeof *p);
	p->mp_kind = kind;
	p->mp_cpuid = -1;
	p->mp_id = atomic_fetch_add_explicit(&port_seq, 1,
					     memory_order_relaxed) + 1;
	p->mp_getport = panic_getport;
	p->mp_putport = panic_putport;
	p->mp_waitmsg = panic_waitmsg;
	p->mp_waitport = panic_waitport;
	p->mp_replyport = panic_replyport;
	p->mp_dropmsg = enoent_dropmsg;
}

/* ---------------------------------------------------------------------- */
/* thread port */

static struct lwkt_cpu *
port_cpu(lwkt_port_t p, const char *what, lwkt_msg_t m)
{
	struct lwkt_runtime *rt = lwkt_rt;
	if (rt == NULL || p->mp_cpuid >= rt->rt_ncpus ||
	    rt->rt_cpu[p->mp_cpuid]->gd_stopping)
		lwkt_panic("%s of message %p (id %#llx): port %llu lives on "
			   "cpu %d, which has shut down", what, (void *)m,
			   (unsigned long long)m->ms_id,
			   (unsigned long long)p->mp_id, p->mp_cpuid);
	return rt->rt_cpu[p->mp_cpuid];
}

/* On the port's cpu, in a critical section: the owner waits on the port
 * (WAITING set before it blocked): make it runnable. */
static inline void
tport_wake_owner(struct lwkt_cpu *gd, lwkt_port_t p)
{
	if (p->mp_flags & MSGPORTF_WAITING) {
		p->mp_flags &= ~MSGPORTF_WAITING;
		_lwkt_setrunqueue(gd, p->mp_td);
	}
}

/* On the port's cpu, in a critical section: queue and wake the owner.
 * One function for both halves of seed 000's "queue + schedule". */
static inline void
tport_put_local(struct lwkt_cpu *gd, lwkt_port_t p, lwkt_msg_t m)
{
	q_append(p, m);
	tport_wake_owner(gd, p);
}

/* IPI function: the hand-over's acquire side is the ring (ipiq.c). */
static void
tport_put_remote(void *a1, void *a2)
{
	tport_put_local(mycpu(), a1, a2);
}

static int
tport_putport(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd != NULL && gd->gd_cpuid == p->mp_cpuid) {
		crit_in(gd->gd_curthread);
		tport_put_local(gd, p, m);
		gd->gd_curthread->td_critcount--;
	} else {
		port_cpu(p, "send", m);
		fl_put(m, fl_get(m) | MSGF_INTRANSIT);
		/* The ring's release store publishes m to the port cpu. */
		lwkt_send_ipiq2(p->mp_cpuid, tport_put_remote, p, m);
	}
	return EASYNC;
}

static inline struct lwkt_thread *
tport_owner_check(struct lwkt_cpu *gd, lwkt_port_t p, const char *fn)
{
	struct lwkt_thread *td = gd->gd_curthread;
	if (__builtin_expect(p->mp_td != td || gd->gd_cpuid != p->mp_cpuid,
			     0))
		lwkt_panic("%s: thread port %llu belongs to thread '%s' on cpu "
			   "%d; only its owner may read or wait on it", fn,
			   (unsigned long long)p->mp_id, p->mp_td->td_name,
			   p->mp_cpuid);
	return td;
}

static lwkt_msg_t
tport_getport(lwkt_port_t p)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_getport");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_getport");
	crit_in(td);
	lwkt_msg_t m = q_pop(p);
	crit_out(gd, td);
	return m;
}

static lwkt_msg_t
tport_waitport(lwkt_port_t p, int flags)
{
	(void)flags;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitport");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_waitport");
	struct spinwait sw = {0, 0};
	lwkt_msg_t m;

	crit_in(td);
	while ((m = q_pop(p)) == NULL) {
		if (spin_more(&sw, gd, td)) {
			spin_step(gd, &sw);
			continue;
		}
		/* tport_put_local sees WAITING and schedules us; both run
		 * on this cpu, we in our critical section: no lost wake. */
		p->mp_flags |= MSGPORTF_WAITING;
		gd = block_self(gd);
	}
	p->mp_flags &= ~MSGPORTF_WAITING;
	crit_out(gd, td);
	return m;
}

/* On the reply port's cpu: a SYNC message is handed back by the DONE
 * store alone; an async one is queued first. */
static inline void
tport_reply_local(struct lwkt_cpu *gd, lwkt_port_t p, lwkt_msg_t m)
{
	if (!(fl_get(m) & MSGF_SYNC))
		q_append(p, m);
	fl_done(m);	/* m is not touched after: its owner may reuse it */
	tport_wake_owner(gd, p);
}

static void
tport_reply_remote(void *a1, void *a2)
{
	tport_reply_local(mycpu(), a1, a2);
}

static void
tport_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd != NULL && gd->gd_cpuid == p->mp_cpuid) {
		crit_in(gd->gd_curthread);
		tport_reply_local(gd, p, m);
		gd->gd_curthread->td_critcount--;
	} else {
		port_cpu(p, "reply", m);
		lwkt_send_ipiq2(p->mp_cpuid, tport_reply_remote, p, m);
	}
}

static int
tport_waitmsg(lwkt_msg_t m, int flags)
{
	(void)flags;
	lwkt_port_t p = m->ms_reply_port;
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_waitmsg");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_waitmsg");
	struct spinwait sw = {0, 0};

	crit_in(td);
	if (!is_done(m)) {
		LWKT_TRACE(msg_wait_begin, m->ms_id, gd->gd_cpuid, td->td_id);
		while (!is_done(m)) {
			if (spin_more(&sw, gd, td)) {
				spin_step(gd, &sw);
				continue;
			}
			p->mp_flags |= MSGPORTF_WAITING;
			gd = block_self(gd);
		}
		p->mp_flags &= ~MSGPORTF_WAITING;
		LWKT_TRACE(msg_wait_end, m->ms_id, gd->gd_cpuid, td->td_id);
	}
	/* An async reply sits on our queue: take it off. */
	if (fl_get(m) & MSGF_QUEUED)
		q_remove(p, m);
	crit_out(gd, td);
	return m->ms_error;
}

static int
tport_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_dropmsg");
	struct lwkt_thread *td = tport_owner_check(gd, p, "lwkt_dropmsg");
	int e = ENOENT;
	crit_in(td);
	if (!(fl_get(m) & MSGF_REPLY) && q_contains(p, m)) {
		q_remove(p, m);
		fl_done(m);
		e = 0;
	}
	crit_out(gd, td);
	return e;
}

void
lwkt_initport_thread(lwkt_port_t p, lwkt_thread_t td)
{
	LWKT_ASSERT(p != NULL && td != NULL, "lwkt_initport_thread: NULL "
		    "port (%p) or thread (%p)", (void *)p, (void *)td);
	port_base(p, MSGPORTF_THREAD);
	p->mp_td = td;
	p->mp_cpuid = td->td_gd->gd_cpuid;
	p->mp_getport = tport_getport;
	p->mp_putport = tport_putport;
	p->mp_waitmsg = tport_waitmsg;
	p->mp_waitport = tport_waitport;
	p->mp_replyport = tport_replyport;
	p->mp_dropmsg = tport_dropmsg;
}

/* thread.c hooks: every thread gets its port at creation, freed at reap. */
int
_lwkt_msgport_thread_init(struct lwkt_thread *td, int cpu)
{
	lwkt_port_t p = malloc(sizeof *p);
	if (p == NULL)
		return ENOMEM;
	port_base(p, MSGPORTF_THREAD);
	p->mp_td = td;
	p->mp_cpuid = cpu;
	p->mp_getport = tport_getport;
	p->mp_putport = tport_putport;
	p->mp_waitmsg = tport_waitmsg;
	p->mp_waitport = tport_waitport;
	p->mp_replyport = tport_replyport;
	p->mp_dropmsg = tport_dropmsg;
	td->td_msgport = p;
	return 0;
}

void
_lwkt_msgport_thread_fini(struct lwkt_thread *td)
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
	td->td_msgport = NULL;
	free(p);
}

lwkt_port_t
lwkt_thread_port(lwkt_thread_t td)
{
	if (td == NULL)
		td = lwkt_curthread();
	return td ? td->td_msgport : NULL;
}

/* ---------------------------------------------------------------------- */
/* spin port: a test-and-test-and-set lock; taken inside a critical
 * section so a hard-IPI signal never runs port code under it */

static inline void
spin_lock(lwkt_port_t p)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd)
		crit_in(gd->gd_curthread);
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
		gd->gd_curthread->td_critcount--;
}

/* Wakes sleepers of port p (they tsleep on p: any cpu). */
static inline void
wake_port(lwkt_port_t p)
{
	lwkt_wakeup(p);
}

static int
spin_putport(lwkt_port_t p, lwkt_msg_t m)
{
	spin_lock(p);
	q_append(p, m);
	bool wake = p->mp_flags & MSGPORTF_WAITING;
	p->mp_flags &= ~MSGPORTF_WAITING;
	spin_unlock(p);
	if (wake)
		wake_port(p);
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
 * Sleeps on p until woken, unless cond re-checked under the lock holds.
 * WAITING is set under the lock, the lock dropped and tsleep entered in
 * one critical section: a waker's IPI to this cpu runs only inside
 * tsleep's switch, after we are on the sleep queue (no lost wake-up).
 */
static void
spin_sleep(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	struct lwkt_thread *td = gd->gd_curthread;
	crit_in(td);
	spin_lock(p);
	bool ready = m ? is_done(m) : p->mp_head != NULL;
	if (!ready)
		p->mp_flags |= MSGPORTF_WAITING;
	spin_unlock(p);
	if (!ready)
		lwkt_tsleep(p);
	crit_out(mycpu(), td);
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
		if (spin_more(&sw, gd, td)) {
			crit_in(td);
			spin_step(gd, &sw);
			td->td_critcount--;
			continue;
		}
		spin_sleep(p, NULL);
		gd = mycpu();
	}
	return m;
}

static void
spin_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	spin_lock(p);
	if (!(fl_get(m) & MSGF_SYNC))
		q_append(p, m);
	fl_done(m);
	bool wake = p->mp_flags & MSGPORTF_WAITING;
	p->mp_flags &= ~MSGPORTF_WAITING;
	spin_unlock(p);
	if (wake)
		wake_port(p);
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
			if (spin_more(&sw, gd, td)) {
				crit_in(td);
				spin_step(gd, &sw);
				td->td_critcount--;
				continue;
			}
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
	int e = ENOENT;
	spin_lock(p);
	if (!(fl_get(m) & MSGF_REPLY) && q_contains(p, m)) {
		q_remove(p, m);
		fl_done(m);
		e = 0;
	}
	spin_unlock(p);
	return e;
}

void
lwkt_initport_spin(lwkt_port_t p)
{
	LWKT_ASSERT(p != NULL, "lwkt_initport_spin: NULL port");
	port_base(p, MSGPORTF_SPIN);
	atomic_store_explicit(&p->mp_u.spin, 0, memory_order_relaxed);
	p->mp_getport = spin_getport;
	p->mp_putport = spin_putport;
	p->mp_waitmsg = spin_waitmsg;
	p->mp_waitport = spin_waitport;
	p->mp_replyport = spin_replyport;
	p->mp_dropmsg = spin_dropmsg;
}

/* ---------------------------------------------------------------------- */
/* serializer and serializer port */

static void *
ser_self(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_serialize_enter");
	return gd->gd_curthread;
}

void
lwkt_serialize_init(struct lwkt_serialize *s)
{
	atomic_store_explicit(&s->ls_lock, 0, memory_order_relaxed);
	atomic_store_explicit(&s->ls_owner, NULL, memory_order_relaxed);
}

bool
lwkt_serialize_try(struct lwkt_serialize *s)
{
	void *me = ser_self();
	/* acquire: pairs with lwkt_serialize_exit's release. */
	if (atomic_exchange_explicit(&s->ls_lock, 1, memory_order_acquire))
		return false;
	atomic_store_explicit(&s->ls_owner, me, memory_order_relaxed);
	return true;
}

void
lwkt_serialize_enter(struct lwkt_serialize *s)
{
	while (!lwkt_serialize_try(s)) {
		struct lwkt_cpu *gd = mycpu();
		struct lwkt_thread *td = gd->gd_curthread;
		/* The holder may be a thread of this cpu that blocked, or
		 * wait for one of our IPIs: let both happen. */
		if (td->td_critcount == 0 && !(td->td_flags & TDF_IDLE)) {
			lwkt_yield();
		} else {
			crit_in(td);
			_lwkt_poll_pending(gd);
			td->td_critcount--;
		}
		lwkt_cpu_relax();
	}
}

void
lwkt_serialize_exit(struct lwkt_serialize *s)
{
	void *me = ser_self();
	if (atomic_load_explicit(&s->ls_owner, memory_order_relaxed) != me)
		lwkt_panic("lwkt_serialize_exit: serializer %p not held by "
			   "this thread", (void *)s);
	atomic_store_explicit(&s->ls_owner, NULL, memory_order_relaxed);
	atomic_store_explicit(&s->ls_lock, 0, memory_order_release);
}

static void
ser_assert(lwkt_port_t p, const char *fn)
{
	struct lwkt_serialize *s = p->mp_u.serialize;
	if (atomic_load_explicit(&s->ls_owner, memory_order_relaxed) !=
	    ser_self())
		lwkt_panic("%s: serializer port %llu used without holding "
			   "its serializer %p", fn,
			   (unsigned long long)p->mp_id, (void *)s);
}

static int
ser_putport(lwkt_port_t p, lwkt_msg_t m)
{
	ser_assert(p, "lwkt_sendmsg");
	q_append(p, m);
	if (p->mp_flags & MSGPORTF_WAITING) {
		p->mp_flags &= ~MSGPORTF_WAITING;
		wake_port(p);
	}
	return EASYNC;
}

static lwkt_msg_t
ser_getport(lwkt_port_t p)
{
	ser_assert(p, "lwkt_getport");
	return q_pop(p);
}

/* Sleeps on p with the serializer dropped, in one critical section (a
 * waker's IPI runs only after tsleep queued us); re-enters it after. */
static void
ser_sleep(lwkt_port_t p)
{
	struct lwkt_thread *td = mycpu()->gd_curthread;
	p->mp_flags |= MSGPORTF_WAITING;
	crit_in(td);
	lwkt_serialize_exit(p->mp_u.serialize);
	lwkt_tsleep(p);
	crit_out(mycpu(), td);
	lwkt_serialize_enter(p->mp_u.serialize);
}

static lwkt_msg_t
ser_waitport(lwkt_port_t p, int flags)
{
	(void)flags;
	ser_assert(p, "lwkt_waitport");
	lwkt_msg_t m;
	while ((m = q_pop(p)) == NULL)
		ser_sleep(p);
	return m;
}

static void
ser_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	ser_assert(p, "lwkt_replymsg");
	if (!(fl_get(m) & MSGF_SYNC))
		q_append(p, m);
	fl_done(m);
	if (p->mp_flags & MSGPORTF_WAITING) {
		p->mp_flags &= ~MSGPORTF_WAITING;
		wake_port(p);
	}
}

static int
ser_waitmsg(lwkt_msg_t m, int flags)
{
	(void)flags;
	lwkt_port_t p = m->ms_reply_port;
	ser_assert(p, "lwkt_waitmsg");
	struct lwkt_cpu *gd = mycpu();
	if (!is_done(m)) {
		LWKT_TRACE(msg_wait_begin, m->ms_id, gd->gd_cpuid,
			   cur_tid(gd));
		while (!is_done(m))
			ser_sleep(p);
		gd = mycpu();
		LWKT_TRACE(msg_wait_end, m->ms_id, gd->gd_cpuid, cur_tid(gd));
	}
	if (fl_get(m) & MSGF_QUEUED)
		q_remove(p, m);
	return m->ms_error;
}

static int
ser_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	ser_assert(p, "lwkt_dropmsg");
	if ((fl_get(m) & MSGF_REPLY) || !q_contains(p, m))
		return ENOENT;
	q_remove(p, m);
	fl_done(m);
	return 0;
}

void
lwkt_initport_serialize(lwkt_port_t p, struct lwkt_serialize *s)
{
	LWKT_ASSERT(p != NULL && s != NULL, "lwkt_initport_serialize: NULL "
		    "port (%p) or serializer (%p)", (void *)p, (void *)s);
	port_base(p, MSGPORTF_SERIAL);
	p->mp_u.serialize = s;
	p->mp_getport = ser_getport;
	p->mp_putport = ser_putport;
	p->mp_waitmsg = ser_waitmsg;
	p->mp_waitport = ser_waitport;
	p->mp_replyport = ser_replyport;
	p->mp_dropmsg = ser_dropmsg;
}

/* ---------------------------------------------------------------------- */
/* function port */

void
lwkt_initport_func(lwkt_port_t p, int (*beginmsg)(lwkt_port_t, lwkt_msg_t),
		   void *arg)
{
	LWKT_ASSERT(p != NULL && beginmsg != NULL, "lwkt_initport_func: NULL "
		    "port (%p) or beginmsg", (void *)p);
	port_base(p, MSGPORTF_FUNC);
	p->mp_u.data = arg;
	p->mp_putport = beginmsg;
}

/* ---------------------------------------------------------------------- */
/* the outside caller's reply port: a futex on ms_flags (cpu.h: outside
 * calls block on futexes) */

static void
outside_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	(void)p;
	fl_done(m);
	/* m may be gone once DONE is visible; FUTEX_WAKE only uses the
	 * address as a key, it never dereferences it in user space. */
	_lwkt_futex(&m->ms_flags, FUTEX_WAKE_PRIVATE, 1);
}

static struct lwkt_port outside_port;
static pthread_once_t outside_once = PTHREAD_ONCE_INIT;

static void
outside_init(void)
{
	port_base(&outside_port, MSGPORTF_OUTSIDE);
	outside_port.mp_replyport = outside_replyport;
}

static int
outside_wait(lwkt_msg_t m)
{
	uint32_t f;
	/* acquire: pairs with fl_done in outside_replyport. */
	while (!((f = atomic_load_explicit(&m->ms_flags,
					   memory_order_acquire)) & MSGF_DONE))
		_lwkt_futex(&m->ms_flags, FUTEX_WAIT_PRIVATE, f);
	return m->ms_error;
}

/* ---------------------------------------------------------------------- */
/* the API */

void
lwkt_initmsg(lwkt_msg_t msg, lwkt_port_t rport, uint32_t flags)
{
	LWKT_ASSERT(msg != NULL, "lwkt_initmsg: NULL message");
	memset(msg, 0, sizeof *msg);
	msg->ms_reply_port = rport;
	flags &= ~(uint32_t)(MSGF_REPLY | MSGF_QUEUED | MSGF_SYNC |
			     MSGF_INTRANSIT | MSGF_RPORT_AUTO);
	if (rport == NULL)
		flags |= MSGF_RPORT_AUTO;
	/* Unsent messages are DONE (DragonFly). */
	fl_put(msg, flags | MSGF_DONE);
}

void
lwkt_initmsg_abortable(lwkt_msg_t msg, lwkt_port_t rport, uint32_t flags,
		       void (*abortfn)(lwkt_msg_t))
{
	lwkt_initmsg(msg, rport, flags | MSGF_ABORTABLE);
	msg->ms_abortfn = abortfn;
}

/* Common start of a send: misuse checks, reply port, id, trace. */
static inline void
begin_send(struct lwkt_cpu *gd, lwkt_port_t port, lwkt_msg_t msg,
	   uint32_t setflags, const char *fn)
{
	uint32_t f = fl_get(msg);
	if (__builtin_expect(!(f & MSGF_DONE), 0))
		lwkt_panic("%s: message %p (id %#llx, flags %#x) is still in "
			   "flight: a message may be sent again only after "
			   "its reply", fn, (void *)msg,
			   (unsigned long long)msg->ms_id, f);
	if (__builtin_expect(port == NULL, 0))
		lwkt_panic("%s: message %p sent to a NULL port", fn,
			   (void *)msg);
	if (f & MSGF_RPORT_AUTO) {
		if (gd == NULL || (gd->gd_curthread->td_flags & TDF_IDLE))
			lwkt_panic("%s: message %p has no reply port and the "
				   "sender is not an LWKT thread (give "
				   "lwkt_initmsg a reply port)", fn,
				   (void *)msg);
		msg->ms_reply_port = gd->gd_curthread->td_msgport;
	}
	msg->ms_target_port = port;
	msg->ms_abort_port = port;
	atomic_store_explicit(&msg->ms_abortreq, 0, memory_order_relaxed);
	msg->ms_error = 0;
	msg->ms_id = next_msg_id(gd);
	f = (f & ~(uint32_t)(MSGF_DONE | MSGF_REPLY | MSGF_QUEUED | MSGF_SYNC |
			     MSGF_INTRANSIT)) | setflags;
	fl_put(msg, f);
	LWKT_TRACE(msg_send, msg->ms_id, port->mp_id, cpu_u32(gd),
		   (uint32_t)port->mp_cpuid, cur_tid(gd), f);
}

/* Hands msg to port (mp_putport); a function port runs its handler here. */
static inline int
beginmsg(struct lwkt_cpu *gd, lwkt_port_t port, lwkt_msg_t msg)
{
	if (port->mp_kind & MSGPORTF_FUNC)
		LWKT_TRACE(msg_dispatch, msg->ms_id, port->mp_id, cpu_u32(gd),
			   cur_tid(gd));
	return port->mp_putport(port, msg);
}

int
lwkt_domsg(lwkt_port_t port, lwkt_msg_t msg, int flags)
{
	struct lwkt_cpu *gd = mycpu();
	int error;

	if (gd == NULL) {
		/* Outside LWKT: wait on a futex, reply port swapped for
		 * this call only. */
		pthread_once(&outside_once, outside_init);
		lwkt_port_t saved = msg->ms_reply_port;
		uint32_t f = fl_get(msg);
		fl_put(msg, f & ~(uint32_t)MSGF_RPORT_AUTO);
		msg->ms_reply_port = &outside_port;
		begin_send(NULL, port, msg, MSGF_SYNC, "lwkt_domsg");
		error = beginmsg(NULL, port, msg);
		if (error == EASYNC) {
			error = outside_wait(msg);
		} else {
			msg->ms_error = error;
			fl_put(msg, fl_get(msg) | MSGF_DONE | MSGF_REPLY);
		}
		msg->ms_reply_port = saved;
		fl_put(msg, fl_get(msg) | (f & MSGF_RPORT_AUTO));
		return error;
	}
	if (gd->gd_curthread->td_flags & TDF_IDLE)
		lwkt_panic("lwkt_domsg from an IPI function: it may block");
	begin_send(gd, port, msg, MSGF_SYNC, "lwkt_domsg");
	error = beginmsg(gd, port, msg);
	if (error == EASYNC) {
		error = msg->ms_reply_port->mp_waitmsg(msg, flags);
	} else {
		/* Handled inline: the message never left us. */
		msg->ms_error = error;
		fl_put(msg, fl_get(msg) | MSGF_DONE | MSGF_REPLY);
	}
	return error;
}

void
lwkt_sendmsg(lwkt_port_t port, lwkt_msg_t msg)
{
	struct lwkt_cpu *gd = mycpu();
	begin_send(gd, port, msg, 0, "lwkt_sendmsg");
	int error = beginmsg(gd, port, msg);
	/* Handled inline: still asynchronous for the caller (seed 002). */
	if (error != EASYNC)
		lwkt_replymsg(msg, error);
}

int
lwkt_forwardmsg(lwkt_port_t port, lwkt_msg_t msg)
{
	struct lwkt_cpu *gd = mycpu();
	uint32_t f = fl_get(msg);
	if (f & (MSGF_DONE | MSGF_REPLY | MSGF_QUEUED))
		lwkt_panic("lwkt_forwardmsg: message %p (id %#llx, flags %#x) "
			   "is not held by a handler (unsent, replied or "
			   "still queued)", (void *)msg,
			   (unsigned long long)msg->ms_id, f);
	LWKT_ASSERT(port != NULL, "lwkt_forwardmsg: NULL port");
	msg->ms_target_port = port;
	LWKT_TRACE(msg_send, msg->ms_id, port->mp_id, cpu_u32(gd),
		   (uint32_t)port->mp_cpuid, cur_tid(gd), f);
	int error = beginmsg(gd, port, msg);
	if (error != EASYNC) {
		lwkt_replymsg(msg, error);
		return error;
	}
	return 0;
}

void
lwkt_replymsg(lwkt_msg_t msg, int error)
{
	uint32_t f = fl_get(msg);
	if (__builtin_expect(f & (MSGF_DONE | MSGF_REPLY | MSGF_QUEUED), 0)) {
		const char *why = (f & MSGF_REPLY) ? "it was already replied"
			: (f & MSGF_DONE) ? "it was never sent"
			: "it is still queued on a port (get it first)";
		lwkt_panic("lwkt_replymsg: message %p (id %#llx, flags %#x): "
			   "%s", (void *)msg, (unsigned long long)msg->ms_id,
			   f, why);
	}
	lwkt_port_t rp = msg->ms_reply_port;
	struct lwkt_cpu *gd = mycpu();
	msg->ms_error = error;
	fl_put(msg, f | MSGF_REPLY);
	LWKT_TRACE(msg_reply, msg->ms_id, rp->mp_id, cpu_u32(gd),
		   (uint32_t)rp->mp_cpuid, cur_tid(gd), error);
	rp->mp_replyport(rp, msg);
}

int
lwkt_waitmsg(lwkt_msg_t msg, int flags)
{
	lwkt_port_t p = msg->ms_reply_port;
	if (p == &outside_port)
		return outside_wait(msg);
	return p->mp_waitmsg(msg, flags);	/* each checks its caller */
}

lwkt_msg_t
lwkt_getport(lwkt_port_t port)
{
	lwkt_msg_t m = port->mp_getport(port);
	if (m != NULL && !(fl_get(m) & MSGF_REPLY)) {
		struct lwkt_cpu *gd = mycpu();
		LWKT_TRACE(msg_dispatch, m->ms_id, port->mp_id, cpu_u32(gd),
			   cur_tid(gd));
	}
	return m;
}

lwkt_msg_t
lwkt_waitport(lwkt_port_t port, int flags)
{
	lwkt_msg_t m = port->mp_waitport(port, flags);
	if (!(fl_get(m) & MSGF_REPLY)) {
		struct lwkt_cpu *gd = mycpu();
		LWKT_TRACE(msg_dispatch, m->ms_id, port->mp_id, cpu_u32(gd),
			   cur_tid(gd));
	}
	return m;
}

/* ---- abort ---- */

/* On the side that owns port p's queue. */
static void
abort_at_port(lwkt_port_t p, lwkt_msg_t m, bool queued)
{
	if (queued) {
		/* The handler never saw it: the abort replies it. */
		lwkt_replymsg(m, ECONNABORTED);
	} else if (!(fl_get(m) & (MSGF_REPLY | MSGF_DONE)) && m->ms_abortfn &&
		   (p->mp_kind & MSGPORTF_THREAD)) {
		/* A handler on this cpu has it; it runs again only after
		 * us (cooperative cpu), so the callback can't race it. */
		m->ms_abortfn(m);
	}
}

static void
tport_abort_remote(void *a1, void *a2)
{
	lwkt_port_t p = a1;
	lwkt_msg_t m = a2;
	bool queued = q_contains(p, m);
	if (queued)
		q_remove(p, m);
	abort_at_port(p, m, queued);
}

int
lwkt_abortmsg(lwkt_msg_t msg)
{
	uint32_t f = fl_get(msg);
	if (!(f & MSGF_ABORTABLE) || (f & MSGF_DONE))
		return EINVAL;
	/* The one RMW: racing aborters, one wins. */
	if (atomic_exchange_explicit(&msg->ms_abortreq, 1,
				     memory_order_relaxed) != 0)
		return EALREADY;
	lwkt_port_t p = msg->ms_abort_port;
	if (p->mp_kind & MSGPORTF_THREAD) {
		/* Same ring as the send from this cpu: FIFO puts the abort
		 * after the message's arrival. */
		struct lwkt_cpu *gd = mycpu();
		if (gd != NULL && gd->gd_cpuid == p->mp_cpuid) {
			crit_in(gd->gd_curthread);
			tport_abort_remote(p, msg);
			gd->gd_curthread->td_critcount--;
		} else {
			port_cpu(p, "abort", msg);
			lwkt_send_ipiq2(p->mp_cpuid, tport_abort_remote, p,
					msg);
		}
	} else if (p->mp_kind & MSGPORTF_SPIN) {
		spin_lock(p);
		bool queued = q_contains(p, msg);
		if (queued)
			q_remove(p, msg);
		spin_unlock(p);
		abort_at_port(p, msg, queued);
	} else if (p->mp_kind & MSGPORTF_SERIAL) {
		lwkt_serialize_enter(p->mp_u.serialize);
		bool queued = q_contains(p, msg);
		if (queued)
			q_remove(p, msg);
		lwkt_serialize_exit(p->mp_u.serialize);
		abort_at_port(p, msg, queued);
	}
	/* Function ports: the request flag is all the handler gets. */
	return 0;
}

int
lwkt_dropmsg(lwkt_msg_t msg)
{
	uint32_t f = fl_get(msg);
	if (!(f & MSGF_DROPABLE))
		lwkt_panic("lwkt_dropmsg: message %p (id %#llx, flags %#x) is "
			   "not MSGF_DROPABLE", (void *)msg,
			   (unsigned long long)msg->ms_id, f);
	lwkt_port_t p = msg->ms_target_port;
	if (p == NULL)
		return ENOENT;
	return p->mp_dropmsg(p, msg);
}
