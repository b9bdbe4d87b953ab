/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_value.c - small messages sent BY VALUE to a thread port on
 * another cpu (lwkt_msg_byvalue, msgport.h).  By reference, a round trip
 * moves the message's lines twice more than the IPI slots that carry it:
 * the target reads the sender's message, writes it (queue links, flags,
 * error), and the sender takes it back.  By value the sender's message
 * never leaves its cache: the IPI entry carries its few live header
 * fields and its body (lwkt_priv.h, "value" entries), the target's cpu
 * builds a copy of its own for the handler, and the reply is an ordinary
 * IPI back to the sending cpu carrying ms_error and the result, where the
 * sender's message is completed and replied locally (DONE is set by the
 * sending cpu).
 *
 * DragonFly carries every message by reference (kern/lwkt_msgport.c,
 * lwkt_thread_putport -> _lwkt_putport_oncpu); its IPI entries are one
 * function and two arguments (kern/lwkt_ipiq.c, lwkt_send_ipiq3).  Here
 * the contracts stay DragonFly's for both paths (msgport.h).
 *
 * Copies (struct vmsg) belong to one cpu at a time, like the thread port
 * whose handler holds them:
 *   gd_vfree   the cpu's free copies (LIFO; at most LWKT_VMSG_KEEP kept);
 *   gd_vlive   the copies made on this cpu and not yet replied: an abort,
 *              which runs on the port's cpu, finds the copy there.
 * Both lists are the own cpu's (in a critical section: IPI functions or
 * the handler's calls).  A copy replied on another cpu (the handler
 * forwarded it, or its thread migrated) goes home by IPI to leave the
 * live list.
 */
#include <stddef.h>
#include <string.h>

#include "ipiq_fast.h"
#include "msgport_priv.h"

#define LWKT_VMSG_KEEP 256

/*
 * A copy.  vm_msg is what the handler gets; the body follows the header
 * at the offset it has in the sender's request struct (right after its
 * struct lwkt_msg), so the handler's cast to its request type reads it.
 *   vm_msg, vm_body   the copy's owner (handler side), as any message;
 *   vm_origin, vm_src set at arrival, read-only after;
 *   vm_home           the cpu whose gd_vlive links it (arrival's cpu);
 *   vm_next, vm_prev  that list, or gd_vfree (vm_next): home cpu only.
 */
struct vmsg {
	struct lwkt_msg vm_msg;
	unsigned char vm_body[LWKT_MSG_VALUE_MAX];
	lwkt_msg_t vm_origin;
	struct vmsg *vm_next, *vm_prev;
	int vm_src;
	int vm_home;
};
_Static_assert(offsetof(struct vmsg, vm_body) == sizeof(struct lwkt_msg),
	       "a copy's body follows its header as in the request struct");
#define VMSG_BYTES ((sizeof(struct vmsg) + LWKT_CACHELINE - 1) & \
		    ~(size_t)(LWKT_CACHELINE - 1))

/* The reply port of every copy: its replyport sends the reply home. */
static struct lwkt_port value_port;

/* ---- the sending cpu ---- */

int
lwkt_msg_byvalue(lwkt_msg_t msg, size_t body)
{
	LWKT_ASSERT(msg != NULL, "lwkt_msg_byvalue: NULL message");
	if (body > LWKT_MSG_VALUE_MAX)
		return EINVAL;
	msg->ms_valsize = (uint16_t)body;
	return 0;
}

/*
 * Sends m (MSGF_BYVALUE, owned by us) to thread port p on cpu `cpu` (not
 * ours) by value if the ring takes it at once; false (m unchanged) if not.
 * The entry: head {port, message, flags | body size << 32}, tail 1 {id,
 * body[0..16)}, tail 2 {body[16..40)} if the body needs it.
 */
bool
_lwkt_vmsg_send(struct lwkt_cpu *gd, int cpu, lwkt_port_t p, lwkt_msg_t m)
{
	uint64_t v[LWKT_IPIVAL_WORDS];
	unsigned size = m->ms_valsize;
	unsigned nt = size <= 16 ? 1 : 2;
	uint32_t f = fl_get(m) | MSGF_INTRANSIT;
	v[0] = (uintptr_t)p;
	v[1] = (uintptr_t)m;
	v[2] = f | (uint64_t)size << 32;
	v[3] = m->ms_id;
	v[4] = v[5] = 0;
	if (nt == 2)
		v[6] = v[7] = v[8] = 0;
	memcpy(&v[4], m + 1, size);	/* the body: right after the header */
	/* Before the publish: an abort relayed through us (lwkt_abortmsg)
	 * and the reply read these on this cpu; the ring's release carries
	 * them to nobody else. */
	m->ms_vcpu = (int16_t)gd->gd_cpuid;
	fl_put(m, f);
	if (_lwkt_ipiq_send_value_fast(gd, cpu, v, nt))
		return true;
	fl_put(m, f & ~(uint32_t)MSGF_INTRANSIT);
	return false;
}

/* On the sending cpu: the reply of a by-value send (ms_error = error; the
 * result was stored already).  Completes m as lwkt_replymsg would have
 * on the target, and replies it to its reply port. */
static void
origin_reply(lwkt_msg_t m, int error)
{
	uint32_t f = fl_get(m);
	if (__builtin_expect((f & (MSGF_BYVALUE | MSGF_DONE | MSGF_REPLY))
			     != MSGF_BYVALUE, 0))
		lwkt_panic("reply by value for message %p (id %#llx, flags "
			   "%#x): not a by-value send in flight", (void *)m,
			   (unsigned long long)m->ms_id, f);
	m->ms_error = error;
	fl_put(m, (f & ~(uint32_t)(MSGF_BYVALUE | MSGF_INTRANSIT)) |
		  MSGF_REPLY);
	lwkt_port_t rp = m->ms_reply_port;
	rp->mp_replyport(rp, m);
}

/* IPI: reply with error 0 and the result (the common reply: one slot). */
static void
origin_reply_ok(void *a1, void *a2)
{
	lwkt_msg_t m = a1;
	m->u.ms_result64 = (int64_t)(intptr_t)a2;
	origin_reply(m, 0);
}

/* IPI pair for a reply with an error: the result first, then the error
 * (FIFO per ring keeps them in order). */
static void
origin_result(void *a1, void *a2)
{
	lwkt_msg_t m = a1;
	m->u.ms_result64 = (int64_t)(intptr_t)a2;
}

static void
origin_reply_err(void *a1, void *a2)
{
	origin_reply(a1, (int)(intptr_t)a2);
}

/* IPI: the copy was dropped (lwkt_dropmsg): m is DONE, not replied. */
static void
origin_dropped(void *a1, void *a2)
{
	(void)a2;
	lwkt_msg_t m = a1;
	fl_put(m, fl_get(m) & ~(uint32_t)(MSGF_BYVALUE | MSGF_INTRANSIT));
	fl_done(m);
}

/* Runs f(a1, a2) on cpu (the sending cpu of a copy): here, inline, or by
 * the full send. */
static void
to_cpu(struct lwkt_cpu *gd, int cpu, lwkt_ipifunc_t f, void *a1, void *a2)
{
	if (gd != NULL && _lwkt_ipiq_send_fast(gd, cpu, f, a1, a2))
		return;
	lwkt_send_ipiq2(cpu, f, a1, a2);	/* also runs it here if ours */
}

/* IPI relay of an abort of a by-value send, on its sending cpu: from
 * here the abort follows the message on the same ring (FIFO), so it
 * never overtakes it. */
static void
abort_relay(void *a1, void *a2)
{
	lwkt_port_t p = a1;
	lwkt_msg_t m = a2;
	if (fl_get(m) & MSGF_BYVALUE)
		p->mp_abortport(p, m);
	/* else: replied meanwhile; the abort has nothing left to do. */
}

/* lwkt_abortmsg of m, sent by value (MSGF_BYVALUE seen): to the port's
 * cpu through the sending cpu. */
void
_lwkt_vmsg_abort(lwkt_port_t p, lwkt_msg_t m)
{
	struct lwkt_cpu *gd = mycpu();
	int cpu = m->ms_vcpu;
	if (gd != NULL && gd->gd_cpuid == cpu) {
		abort_relay(p, m);
		return;
	}
	lwkt_send_ipiq2(cpu, abort_relay, p, m);
}

/* ---- the target's cpu ---- */

static struct vmsg *
vmsg_get(struct lwkt_cpu *gd)
{
	struct vmsg *c = gd->gd_vfree;
	if (__builtin_expect(c != NULL, 1)) {
		gd->gd_vfree = c->vm_next;
		gd->gd_vnfree--;
		return c;
	}
	c = aligned_alloc(LWKT_CACHELINE, VMSG_BYTES);
	if (c == NULL)
		lwkt_panic("out of memory for a message received by value on "
			   "cpu %d", gd->gd_cpuid);
	return c;
}

/* On c's home cpu: off the live list, onto the free list. */
static void
vmsg_put_home(struct lwkt_cpu *gd, struct vmsg *c)
{
	if (c->vm_prev)
		c->vm_prev->vm_next = c->vm_next;
	else
		gd->gd_vlive = c->vm_next;
	if (c->vm_next)
		c->vm_next->vm_prev = c->vm_prev;
	if (gd->gd_vnfree >= LWKT_VMSG_KEEP) {
		free(c);
		return;
	}
	c->vm_next = gd->gd_vfree;
	gd->gd_vfree = c;
	gd->gd_vnfree++;
}

static void
vmsg_put_home_ipi(void *a1, void *a2)
{
	(void)a2;
	vmsg_put_home(mycpu(), a1);
}

/* The copy is done with (replied or dropped; m's flags say DONE, so a
 * second reply aborts while the copy waits for reuse). */
static void
vmsg_release(struct lwkt_cpu *gd, struct vmsg *c)
{
	if (gd != NULL && gd->gd_cpuid == c->vm_home) {
		struct lwkt_thread *td = gd->gd_curthread;
		_lwkt_crit_enter(td);
		vmsg_put_home(gd, c);
		_lwkt_crit_exit_noyield(td);	/* list ops only: nothing
						 * can have arrived for us */
		return;
	}
	lwkt_send_ipiq2(c->vm_home, vmsg_put_home_ipi, c, NULL);
}

/*
 * ipiq.c's consumer, in a critical section on the port's cpu: a message
 * sent by value arrived from cpu src.  Builds the copy and queues it as
 * tport_put_oncpu queues a message sent by reference (which also follows
 * an owner that migrated meanwhile, and wakes it).
 */
void
_lwkt_msg_value_arrive(struct lwkt_cpu *gd, int src, const uint64_t *v,
		       unsigned ntail)
{
	struct vmsg *c = vmsg_get(gd);
	lwkt_msg_t m = &c->vm_msg;
	lwkt_port_t p = (lwkt_port_t)(uintptr_t)v[0];
	uint32_t f = (uint32_t)v[2];

	m->ms_next = m->ms_prev = NULL;
	m->ms_target_port = p;
	m->ms_reply_port = &value_port;
	m->ms_abort_port = p;
	m->ms_abortfn = NULL;	/* an abort copies the sender's in */
	fl_put(m, (f & ~(uint32_t)(MSGF_BYVALUE | MSGF_INTRANSIT |
				   MSGF_RPORT_AUTO | MSGF_ABORT_ONARRIVAL)) |
		  MSGF_VCOPY);
	atomic_store_explicit(&m->ms_abortreq, 0, memory_order_relaxed);
	m->ms_error = 0;
	m->ms_valsize = (uint16_t)(v[2] >> 32);
	m->ms_vcpu = (int16_t)src;
	m->ms_id = v[3];
	m->u.ms_result64 = 0;
	if (ntail == 1)
		memcpy(c->vm_body, &v[4], 16);
	else
		memcpy(c->vm_body, &v[4], 40);
	c->vm_origin = (lwkt_msg_t)(uintptr_t)v[1];
	c->vm_src = src;
	c->vm_home = gd->gd_cpuid;
	c->vm_prev = NULL;
	c->vm_next = gd->gd_vlive;
	if (c->vm_next)
		c->vm_next->vm_prev = c;
	gd->gd_vlive = c;
	_lwkt_tport_put_oncpu(p, m);
}

/* The copies' reply port: sends ms_error and the result to the sending
 * cpu, releases the copy.  Called by lwkt_replymsg (MSGF_REPLY set). */
static void
vport_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	(void)p;
	struct vmsg *c = (struct vmsg *)m;
	struct lwkt_cpu *gd = mycpu();
	lwkt_msg_t o = c->vm_origin;
	int src = c->vm_src, error = m->ms_error;
	void *res = (void *)(intptr_t)m->u.ms_result64;
	fl_put(m, fl_get(m) | MSGF_DONE);
	vmsg_release(gd, c);	/* c is not touched after this */
	if (error == 0) {
		to_cpu(gd, src, origin_reply_ok, o, res);
	} else {
		to_cpu(gd, src, origin_result, o, res);
		to_cpu(gd, src, origin_reply_err, o, (void *)(intptr_t)error);
	}
}

/* lwkt_dropmsg dropped copy m (it is DONE): the sending cpu completes the
 * original without a reply. */
void
_lwkt_vmsg_dropped(lwkt_msg_t m)
{
	struct vmsg *c = (struct vmsg *)m;
	struct lwkt_cpu *gd = mycpu();
	lwkt_msg_t o = c->vm_origin;
	int src = c->vm_src;
	vmsg_release(gd, c);
	to_cpu(gd, src, origin_dropped, o, NULL);
}

/* On port p's cpu (tport_abort_oncpu): abort of o, sent by value.  Finds
 * its copy (unreplied) among this cpu's live copies; none: replied
 * already (the relay keeps the abort behind the arrival). */
void
_lwkt_vmsg_abort_at(lwkt_port_t p, lwkt_msg_t o)
{
	struct lwkt_cpu *gd = mycpu();
	struct vmsg *c;
	for (c = gd->gd_vlive; c != NULL; c = c->vm_next)
		if (c->vm_origin == o &&
		    !(fl_get(&c->vm_msg) & (MSGF_REPLY | MSGF_DONE)))
			break;
	if (c == NULL)
		return;
	lwkt_msg_t m = &c->vm_msg;
	/* The handler reads these from its copy.  ms_abortfn is constant
	 * while o is in flight (written by the sender before the send). */
	m->ms_abortfn = o->ms_abortfn;
	atomic_store_explicit(&m->ms_abortreq, 1, memory_order_relaxed);
	_lwkt_abort_at_port(p, m, q_take(p, m));
}

void
_lwkt_msg_value_fini(struct lwkt_cpu *gd)
{
	struct vmsg *c, *n;
	for (c = gd->gd_vfree; c != NULL; c = n) {
		n = c->vm_next;
		free(c);
	}
	for (c = gd->gd_vlive; c != NULL; c = n) {
		n = c->vm_next;
		free(c);
	}
	gd->gd_vfree = gd->gd_vlive = NULL;
	gd->gd_vnfree = 0;
}

__attribute__((constructor)) static void
value_port_init(void)
{
	static const struct port_ops ops = {.replyport = vport_replyport};
	_lwkt_port_init(&value_port, 0, &ops);	/* no flavour of its own */
}
