/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_serialize.c - the serializer port: a port whose callers hold
 * its serializer (lwkt/serialize.h), as DragonFly's lwkt_serialize_*
 * port functions in kern/lwkt_msgport.c.  The serializer guards the
 * queue; a waiter drops it while it sleeps on the port.
 */
#include "msgport_priv.h"

static void
ser_assert(lwkt_port_t p, const char *fn)
{
	struct lwkt_serialize *s = p->mp_u.serialize;
	if (!_lwkt_serialize_held(s))
		lwkt_panic("%s: serializer port %llu used without holding "
			   "its serializer %p", fn,
			   (unsigned long long)p->mp_id, (void *)s);
}

static void
ser_wake_waiters(lwkt_port_t p)
{
	if (port_clear_waiting(p))
		_lwkt_port_wakeup(p);
}

static int
ser_putport(lwkt_port_t p, lwkt_msg_t m)
{
	ser_assert(p, "lwkt_sendmsg");
	q_append(p, m);
	ser_wake_waiters(p);
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
	_lwkt_crit_enter(td);
	lwkt_serialize_exit(p->mp_u.serialize);
	lwkt_tsleep(p);
	_lwkt_crit_exit(mycpu(), td);
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
	q_reply(p, m);
	ser_wake_waiters(p);
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
			   _lwkt_msg_tid(gd));
		while (!is_done(m))
			ser_sleep(p);
		gd = mycpu();
		LWKT_TRACE(msg_wait_end, m->ms_id, gd->gd_cpuid,
			   _lwkt_msg_tid(gd));
	}
	if (fl_get(m) & MSGF_QUEUED)
		q_remove(p, m);
	return m->ms_error;
}

static int
ser_dropmsg(lwkt_port_t p, lwkt_msg_t m)
{
	ser_assert(p, "lwkt_dropmsg");
	return q_drop(p, m);
}

static void
ser_abortport(lwkt_port_t p, lwkt_msg_t m)
{
	lwkt_serialize_enter(p->mp_u.serialize);
	bool queued = q_take(p, m);
	lwkt_serialize_exit(p->mp_u.serialize);
	_lwkt_abort_at_port(p, m, queued);
}

static const struct port_ops ser_ops = {
	.getport = ser_getport,
	.putport = ser_putport,
	.waitmsg = ser_waitmsg,
	.waitport = ser_waitport,
	.replyport = ser_replyport,
	.dropmsg = ser_dropmsg,
	.abortport = ser_abortport,
};

void
lwkt_initport_serialize(lwkt_port_t p, struct lwkt_serialize *s)
{
	LWKT_ASSERT(p != NULL && s != NULL, "lwkt_initport_serialize: NULL "
		    "port (%p) or serializer (%p)", (void *)p, (void *)s);
	_lwkt_port_init(p, MSGPORTF_SERIAL, &ser_ops);
	p->mp_u.serialize = s;
}
