/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport.c - the LWKT message API with DragonFly's contracts
 * (kern/lwkt_msgport.c: lwkt_initmsg, lwkt_domsg, lwkt_sendmsg,
 * lwkt_forwardmsg, lwkt_replymsg, lwkt_waitmsg, lwkt_getport,
 * lwkt_waitport, lwkt_abortmsg, lwkt_dropmsg; our code), message and port
 * ids for the trace, and the one port initializer.  Each port flavour
 * lives in its own file (msgport_thread.c, msgport_spin.c,
 * msgport_serialize.c, msgport_func.c, msgport_outside.c) behind the ops
 * of struct lwkt_port.
 */
#include <stddef.h>
#include <string.h>

#include "msgport_priv.h"

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

/* ---------------------------------------------------------------------- */
/* panicking stubs: an unsupported op is never NULL */

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

/* A port without an abort op (function port): the request flag that
 * lwkt_msg_abort_requested() reads is all the handler gets. */
static void
flag_only_abortport(lwkt_port_t p, lwkt_msg_t m)
{
	(void)p, (void)m;
}

/* The senders' line and the owner's line (msgport.h). */
_Static_assert(sizeof(void *) != 8 ||
	       offsetof(struct lwkt_port, mp_head) == LWKT_CACHELINE,
	       "struct lwkt_port: the owner-written fields start a line");

void
_lwkt_port_init(lwkt_port_t p, uint32_t kind, const struct port_ops *ops)
{
	memset(p, 0, sizeof *p);
	p->mp_kind = kind;
	p->mp_cpuid = -1;
	p->mp_id = atomic_fetch_add_explicit(&port_seq, 1,
					     memory_order_relaxed) + 1;
	p->mp_getport = ops->getport ? ops->getport : panic_getport;
	p->mp_putport = ops->putport ? ops->putport : panic_putport;
	p->mp_waitmsg = ops->waitmsg ? ops->waitmsg : panic_waitmsg;
	p->mp_waitport = ops->waitport ? ops->waitport : panic_waitport;
	p->mp_replyport = ops->replyport ? ops->replyport : panic_replyport;
	p->mp_dropmsg = ops->dropmsg ? ops->dropmsg : enoent_dropmsg;
	p->mp_abortport = ops->abortport ? ops->abortport
					 : flag_only_abortport;
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
	if (__builtin_expect(!(f & MSGF_DONE), 0) && f == 0 && msg->ms_id == 0)
		lwkt_panic("%s: message %p was never initialized (flags 0, "
			   "never sent): call lwkt_initmsg before the first "
			   "send", fn, (void *)msg);
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
			     MSGF_INTRANSIT | MSGF_ABORT_ONARRIVAL |
			     MSGF_BYVALUE)) |
	    setflags;
	/* By value may be tried (tport_putport decides): a small message
	 * from an LWKT cpu to a thread port.  Never for a copy (a handler
	 * re-sending what it received), never on forward (lwkt_forwardmsg
	 * does not come here). */
	if (msg->ms_valsize != 0 && gd != NULL &&
	    (port->mp_kind & MSGPORTF_THREAD) && !(f & MSGF_VCOPY))
		f |= MSGF_BYVALUE;
	fl_put(msg, f);
	LWKT_TRACE(msg_send, msg->ms_id, port->mp_id, _lwkt_msg_cpu(gd),
		   (uint32_t)_lwkt_port_cpuid(port), _lwkt_msg_tid(gd), f);
}

/* Hands msg to port (mp_putport); a function port runs its handler here. */
static inline int
beginmsg(struct lwkt_cpu *gd, lwkt_port_t port, lwkt_msg_t msg)
{
	if (port->mp_kind & MSGPORTF_FUNC)
		LWKT_TRACE(msg_dispatch, msg->ms_id, port->mp_id, _lwkt_msg_cpu(gd),
			   _lwkt_msg_tid(gd));
	return port->mp_putport(port, msg);
}

int
lwkt_domsg(lwkt_port_t port, lwkt_msg_t msg, int flags)
{
	struct lwkt_cpu *gd = mycpu();
	int error;

	if (gd == NULL) {
		/* No runtime: nothing would ever run a port's other side
		 * (the runtime is "not started": as lwkt_create). */
		if (lwkt_rt == NULL)
			return ESHUTDOWN;
		/* Outside LWKT: wait on a futex, reply port swapped for
		 * this call only. */
		lwkt_port_t saved = msg->ms_reply_port;
		uint32_t f = fl_get(msg);
		fl_put(msg, f & ~(uint32_t)MSGF_RPORT_AUTO);
		msg->ms_reply_port = _lwkt_outside_port();
		begin_send(NULL, port, msg, MSGF_SYNC, "lwkt_domsg");
		error = beginmsg(NULL, port, msg);
		if (error == EASYNC) {
			error = _lwkt_outside_wait(msg);
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
	/* Handled inline: still asynchronous for the caller (Dillon, "Re: messaging questions...", kernel@dragonflybsd.org,
	 * 19 Nov 2003). */
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
	LWKT_TRACE(msg_send, msg->ms_id, port->mp_id, _lwkt_msg_cpu(gd),
		   (uint32_t)_lwkt_port_cpuid(port), _lwkt_msg_tid(gd), f);
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
	LWKT_TRACE(msg_reply, msg->ms_id, rp->mp_id, _lwkt_msg_cpu(gd),
		   (uint32_t)_lwkt_port_cpuid(rp), _lwkt_msg_tid(gd), error);
	rp->mp_replyport(rp, msg);
}

int
lwkt_waitmsg(lwkt_msg_t msg, int flags)
{
	lwkt_port_t p = msg->ms_reply_port;
	if (p->mp_kind & MSGPORTF_OUTSIDE)
		return _lwkt_outside_wait(msg);
	return p->mp_waitmsg(msg, flags);	/* each checks its caller */
}

lwkt_msg_t
lwkt_getport(lwkt_port_t port)
{
	lwkt_msg_t m = port->mp_getport(port);
	if (m != NULL && !(fl_get(m) & MSGF_REPLY)) {
		struct lwkt_cpu *gd = mycpu();
		LWKT_TRACE(msg_dispatch, m->ms_id, port->mp_id, _lwkt_msg_cpu(gd),
			   _lwkt_msg_tid(gd));
	}
	return m;
}

lwkt_msg_t
lwkt_waitport(lwkt_port_t port, int flags)
{
	lwkt_msg_t m = port->mp_waitport(port, flags);
	if (!(fl_get(m) & MSGF_REPLY)) {
		struct lwkt_cpu *gd = mycpu();
		LWKT_TRACE(msg_dispatch, m->ms_id, port->mp_id, _lwkt_msg_cpu(gd),
			   _lwkt_msg_tid(gd));
	}
	return m;
}

/* ---- abort ---- */

void
_lwkt_abort_at_port(lwkt_port_t p, lwkt_msg_t m, bool queued)
{
	if (!queued && (fl_get(m) & MSGF_INTRANSIT)) {
		/* Not arrived yet (a thread port's IPI is still in a ring):
		 * no handler has it.  Its arrival, on this cpu after us,
		 * replies it ECONNABORTED instead of queueing it. */
		fl_put(m, fl_get(m) | MSGF_ABORT_ONARRIVAL);
	} else if (queued) {
		/* The handler never saw it: the abort replies it. */
		lwkt_replymsg(m, ECONNABORTED);
	} else if (!(fl_get(m) & (MSGF_REPLY | MSGF_DONE)) && m->ms_abortfn &&
		   (p->mp_kind & MSGPORTF_THREAD)) {
		/* A handler on this cpu has it; it runs again only after
		 * us (cooperative cpu), so the callback can't race it. */
		m->ms_abortfn(m);
	}
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
	if (f & MSGF_BYVALUE)
		_lwkt_vmsg_abort(p, msg);	/* FIFO behind the send */
	else
		p->mp_abortport(p, msg);
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
	int e = p->mp_dropmsg(p, msg);
	if (e == 0 && (f & MSGF_VCOPY))
		_lwkt_vmsg_dropped(msg);	/* the sender's message too */
	return e;
}
