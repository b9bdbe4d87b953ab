/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport.h - LWKT messages and message ports, with DragonFly's names and
 * contracts (sys/sys/msgport.h, kern/lwkt_msgport.c).  A message is sent
 * to a target port and replied to its reply port; the port's flavour
 * decides how it is queued and who may wait on it:
 *
 *   thread port      owned by one thread; touched only by the owner's cpu,
 *                    inside a critical section.  Another cpu reaches it
 *                    with one IPI that queues the message AND schedules the
 *                    owner (Dillon, kernel@dragonflybsd.org, 19 Jul 2003,
 *                    "Initial messaging / message-port infrastructure is
 *                    in"): no lock, no atomic RMW on the port.
 *                    Every thread has one (lwkt_thread_port).
 *   spin port        any thread on any cpu; a spinlock guards the queue.
 *   serializer port  callers hold the port's serializer (serialize.h).
 *   function port    mp_putport is the user's beginmsg (Dillon, "Re:
 *                    messaging questions...", kernel@, 19 Nov 2003): it
 *                    handles the message inline and returns the result, or
 *                    takes it over (queues/forwards it) and returns EASYNC.
 *
 * Ownership (DragonFly's rule): a message belongs to whoever holds it: the
 * sender until it is sent, the target side (port, then handler) until it
 * is replied, the reply port's owner once MSGF_DONE is set.  Only the
 * owner writes a message; hand-overs are release/acquire (IPI ring,
 * spinlock, serializer, or the MSGF_DONE store itself).
 *
 * Misuse aborts with a message (lwkt_panic, as DragonFly panics): sending
 * a message that is in flight, replying twice, replying a message never
 * sent, getport/waitport on another thread's thread port, waiting for a
 * message whose reply port belongs to another thread, replying to a port
 * whose runtime has shut down.
 *
 * Calls from outside LWKT (main, a test driver):
 *   lwkt_domsg      allowed: the caller blocks on a futex (the message's
 *                   reply port is replaced by a futex port for that call).
 *   lwkt_sendmsg    allowed when lwkt_initmsg was given a reply port; a
 *                   spin reply port can then be polled with lwkt_getport.
 *   lwkt_getport    allowed on spin ports.
 *   lwkt_initport_*, lwkt_initmsg, lwkt_thread_port: allowed.
 *   everything else needs an LWKT thread and aborts otherwise.
 */
#ifndef LWKT_MSGPORT_H
#define LWKT_MSGPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwkt/arch.h"
#include "lwkt/serialize.h"
#include "lwkt/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The "queued, reply comes later" result of a port's putport.  Not an
 * errno value of Linux; lwkt_domsg never returns it. */
#define EASYNC 0x7f4a

typedef struct lwkt_msg *lwkt_msg_t;
typedef struct lwkt_port *lwkt_port_t;

/*
 * A message.  Embed it first in your own request struct.
 *   ms_next/ms_prev  queue links: written by whoever holds the queue the
 *                    message is on (port owner cpu / spinlock holder).
 *   ms_flags         MSGF_*: written by the message's current owner only,
 *                    with plain (relaxed) stores, never an RMW.  Atomic so
 *                    that misuse checks and DONE pollers may read it from
 *                    another cpu; MSGF_DONE is stored with release and
 *                    polled with acquire (the reply's hand-over).
 *   ms_abortreq      0, then 1 once an abort was requested: the one atomic
 *                    exchange of the API (abort is a slow path; it makes
 *                    "aborted exactly once" hold with racing aborters).
 *   everything else  the current owner.
 */
struct lwkt_msg {
	struct lwkt_msg *ms_next;
	struct lwkt_msg *ms_prev;
	lwkt_port_t ms_target_port;	/* set at send/forward */
	lwkt_port_t ms_reply_port;	/* NULL: the sending thread's port */
	lwkt_port_t ms_abort_port;	/* the port abort goes to (send) */
	void (*ms_abortfn)(lwkt_msg_t);	/* MSGF_ABORTABLE: see abortmsg */
	LWKT_ATOMIC(uint32_t) ms_flags;
	LWKT_ATOMIC(uint32_t) ms_abortreq;
	int ms_error;			/* positive errno or 0, set at reply */
	uint16_t ms_valsize;		/* lwkt_msg_byvalue: body bytes, or 0 */
	int16_t ms_vcpu;		/* sent by value: the sending cpu */
	uint64_t ms_id;			/* trace id, set at each send */
	union {
		void *ms_resultp;
		int ms_result;
		long ms_lresult;
		int64_t ms_result64;
	} u;
};

/* Message flags: DragonFly's values and meanings.  The high 16 bits are
 * free for the user. */
#define MSGF_DONE	0x0001	/* complete: replied, or never sent */
#define MSGF_REPLY	0x0002	/* replied (left set when dequeued from the
				 * reply port: request vs reply) */
#define MSGF_QUEUED	0x0004	/* on a port's queue */
#define MSGF_SYNC	0x0008	/* lwkt_domsg: the sender waits on the
				 * message itself; the reply is not queued */
#define MSGF_INTRANSIT	0x0010	/* travelling in an IPI */
#define MSGF_DROPABLE	0x0040	/* lwkt_dropmsg allowed */
#define MSGF_ABORTABLE	0x0080	/* lwkt_abortmsg allowed (ms_abortfn) */
#define MSGF_USER0	0x00010000

/* Internal: ms_reply_port was NULL at lwkt_initmsg (re-resolved to the
 * sending thread's port at each send). */
#define MSGF_RPORT_AUTO	0x8000
/* Internal: aborted while MSGF_INTRANSIT; its arrival replies it
 * ECONNABORTED instead of queueing it (set on the port's cpu). */
#define MSGF_ABORT_ONARRIVAL 0x4000
/* Internal: this send travels by value (set by the sender, cleared at
 * the reply's arrival).  The handler holds a copy (MSGF_VCOPY). */
#define MSGF_BYVALUE	0x2000
/* Internal: a copy made on the target's cpu from a message sent by value
 * (what the handler gets from getport/waitport). */
#define MSGF_VCOPY	0x1000

/* The largest body a message may carry by value (lwkt_msg_byvalue). */
#define LWKT_MSG_VALUE_MAX 40

/*
 * A port.  Queue fields (mp_head, mp_tail, mp_flags) are owned by:
 *   thread port      the owner thread's cpu, inside a critical section;
 *   spin port        whoever holds mp_u.spin;
 *   serializer port  whoever holds *mp_u.serialize.
 * mp_kind, mp_td, mp_id and the ops are set at init and read-only after
 * (senders read them without the owner's exclusion).  mp_cpuid too,
 * except in a thread's own port (lwkt_thread_port), which follows its
 * owner across lwkt_migrate: the old cpu stores the new value (relaxed
 * __atomic builtins on both sides) and forwards what still arrives.
 *
 * Two cache lines: the first 64 bytes hold what every sender reads (the
 * ops, kind, cpu), the rest what the queue's owner writes at every
 * message (and the spin lock word, taken by whoever then writes the
 * queue): the owner's stores no longer take the senders' line away.  The
 * split holds when the port is 64-byte aligned (the runtime's own ports
 * are; align yours, e.g. _Alignas(64), to get it: any alignment works).
 */
struct lwkt_port {
	/* ---- read-mostly: senders ---- */
	lwkt_msg_t (*mp_getport)(lwkt_port_t);
	int (*mp_putport)(lwkt_port_t, lwkt_msg_t);
	int (*mp_waitmsg)(lwkt_msg_t, int flags);
	lwkt_msg_t (*mp_waitport)(lwkt_port_t, int flags);
	void (*mp_replyport)(lwkt_port_t, lwkt_msg_t);
	int (*mp_dropmsg)(lwkt_port_t, lwkt_msg_t);
	/* lwkt_abortmsg's per-flavour half (internal: set by initport). */
	void (*mp_abortport)(lwkt_port_t, lwkt_msg_t);
	uint32_t mp_kind;		/* flavour: read-only after init */
#define MSGPORTF_THREAD	0x0100
#define MSGPORTF_SPIN	0x0200
#define MSGPORTF_SERIAL	0x0400
#define MSGPORTF_FUNC	0x0800
#define MSGPORTF_OUTSIDE 0x1000
	int mp_cpuid;			/* thread port: owner's cpu; else -1 */
	/* ---- owner-written (offset 64 on LP64) ---- */
	struct lwkt_msg *mp_head;
	struct lwkt_msg *mp_tail;
	uint32_t mp_flags;		/* owned like the queue; written only
					 * when it changes */
#define MSGPORTF_WAITING 0x0001	/* someone sleeps until the port changes */
#define MSGPORTF_DEAD	0x0002	/* thread port: its owner exited */
	union {
		/* spin port: 0 free, 1 held.  exchange(acquire) to take,
		 * store(release) to drop: pairs with the next taker. */
		LWKT_ATOMIC(uint32_t) spin;
		struct lwkt_serialize *serialize;
		void *data;		/* function port: user argument */
	} mp_u;
	uint64_t mp_id;			/* trace id, unique per process */
	lwkt_thread_t mp_td;		/* thread port: owner; else NULL */
};

/* ---- ports ---- */

/* The thread's own port (created with the thread; never NULL for a live
 * LWKT thread).  lwkt_thread_port(NULL): the running thread's (NULL
 * outside LWKT).  It follows the thread across lwkt_migrate.  After the
 * thread exits, the port stays until lwkt_join: a send or reply to it
 * then aborts with a message naming the thread (a message still queued
 * on it at exit aborts too).  A detached thread's port is freed at its
 * exit: never send to it after that. */
lwkt_port_t lwkt_thread_port(lwkt_thread_t td);
/* A thread port for td, on td's cpu of the moment: unlike td's own port
 * it does not follow td across lwkt_migrate (td must not migrate while
 * the port is used). */
void lwkt_initport_thread(lwkt_port_t port, lwkt_thread_t td);
void lwkt_initport_spin(lwkt_port_t port);
void lwkt_initport_serialize(lwkt_port_t port, struct lwkt_serialize *s);
/*
 * Function port (DragonFly's original port): beginmsg(port, msg) runs in the sender's
 * context, with the sender still owning the message.  It returns a result
 * (0 or a positive errno: handled inline; the message stays with the
 * sender) or EASYNC (it took the message: it must get replied later, e.g.
 * after lwkt_forwardmsg to a worker's port).  port->mp_u.data = arg.
 * getport/waitport/replyport on a function port abort.
 */
void lwkt_initport_func(lwkt_port_t port,
			int (*beginmsg)(lwkt_port_t, lwkt_msg_t), void *arg);

/* ---- messages ---- */

/* Prepares msg: reply port rport (NULL: the thread that sends it), flags
 * (MSGF_DROPABLE, MSGF_ABORTABLE, user bits).  Sets MSGF_DONE (unsent). */
void lwkt_initmsg(lwkt_msg_t msg, lwkt_port_t rport, uint32_t flags);
/* Sets the abort callback and MSGF_ABORTABLE. */
void lwkt_initmsg_abortable(lwkt_msg_t msg, lwkt_port_t rport,
			    uint32_t flags, void (*abortfn)(lwkt_msg_t));

/*
 * Lets msg travel BY VALUE: when it is sent (lwkt_domsg, lwkt_sendmsg) to a
 * thread port on another cpu, its header's few live fields and the first
 * `body` bytes that follow the struct lwkt_msg in the caller's request
 * struct are copied into the IPI ring, the target's cpu hands the handler
 * a copy of its own, and the reply carries back only ms_error and the
 * result union u, which the sending cpu stores into msg before it marks
 * it replied.  No line of msg leaves the sender's cache: a round trip
 * moves the two ring lines only.
 *
 * The contract the handler then has: it may read the body and the
 * header, and write u and (by replying) ms_error; other writes to the
 * message are NOT seen by the sender.  Everything else holds as by
 * reference: exactly one reply (a second one aborts: "already replied"),
 * MSGF_DONE/MSGF_REPLY/MSGF_QUEUED on msg mean what they mean, domsg
 * never returns EASYNC, FIFO per cpu pair (by-value and by-reference
 * sends share the ring), abort (lwkt_abortmsg(msg) reaches the copy; the
 * handler sees lwkt_msg_abort_requested and ms_abortfn on the copy),
 * dropmsg (msg becomes DONE without REPLY), forward (the copy is
 * forwarded by reference).  A send that cannot go by value (the ring has
 * no room for it, a nested or outside sender, a port of another flavour
 * or on the sender's own cpu) goes by reference, unchanged.
 *
 * Call after lwkt_initmsg (which clears it); body 0 turns it off.
 * Returns 0, or EINVAL if body > LWKT_MSG_VALUE_MAX (nothing changed).
 */
int lwkt_msg_byvalue(lwkt_msg_t msg, size_t body);

/* The current flags (relaxed read; exact for the message's owner). */
static inline uint32_t
lwkt_msg_flags(lwkt_msg_t msg)
{
	return __atomic_load_n(&msg->ms_flags, __ATOMIC_RELAXED);
}

/*
 * Synchronous: sends msg and returns its error once it is replied; may
 * block (spin-polls IPIs first while the cpu has nothing else to run,
 * for up to the idle spin budget, then sleeps).  Never returns EASYNC.
 * The reply is not queued on the reply port (MSGF_SYNC).  flags: 0.
 * From outside LWKT before lwkt_init (or after lwkt_shutdown): returns
 * ESHUTDOWN at once (nothing would run the other side).
 */
int lwkt_domsg(lwkt_port_t port, lwkt_msg_t msg, int flags);
/*
 * Asynchronous: always, from the caller's view.  The reply arrives on the
 * reply port (lwkt_getport/lwkt_waitport/lwkt_waitmsg), also when the
 * target handled the message inline.
 */
void lwkt_sendmsg(lwkt_port_t port, lwkt_msg_t msg);
/* The target side: passes an in-flight message it owns on to port (the
 * reply still goes to the original reply port).  0 or the inline result
 * (already replied then). */
int lwkt_forwardmsg(lwkt_port_t port, lwkt_msg_t msg);
/* Replies msg with error.  Exactly once per send (else abort). */
void lwkt_replymsg(lwkt_msg_t msg, int error);
/* Waits until msg is replied (removing it from the reply port's queue if
 * it was queued there) and returns ms_error.  Caller: the reply port's
 * owner (thread port) or any LWKT thread (spin/serializer port). */
int lwkt_waitmsg(lwkt_msg_t msg, int flags);
/* Next message on port, or NULL (non-blocking). */
lwkt_msg_t lwkt_getport(lwkt_port_t port);
/* Next message on port; blocks until one arrives. */
lwkt_msg_t lwkt_waitport(lwkt_port_t port, int flags);
/*
 * Asks the target to abort msg (MSGF_ABORTABLE, in flight).  The first
 * request per send wins (later ones return EALREADY).  On the side that
 * owns the port msg was sent to (a thread port: its cpu, reached by IPI):
 *   - still travelling to a thread port (MSGF_INTRANSIT): its arrival
 *     replies it ECONNABORTED; no handler ever sees it;
 *   - queued on the port: removed and replied ECONNABORTED;
 *   - a handler has it: thread port, ms_abortfn(msg) runs once on the
 *     port's cpu, between the handler's steps (if ms_abortfn is set);
 *     every port, lwkt_msg_abort_requested(msg) turns true.  The handler
 *     replies when it chooses.
 * Either way msg is replied exactly once.  Returns 0, EALREADY, or EINVAL
 * (not abortable, not in flight).  Forwarded messages: abort reaches the
 * first port only.  Call it after the send returned (from the sender or a
 * thread that learned of msg from it); with a thread port, msg must stay
 * valid until the abort ran on the port's cpu, which may be after the
 * reply.
 */
int lwkt_abortmsg(lwkt_msg_t msg);
/* The port owner removes a queued, unreplied MSGF_DROPABLE message from
 * its port without replying it (MSGF_DONE is set).  0 or ENOENT. */
int lwkt_dropmsg(lwkt_msg_t msg);
/* True once an abort was requested for the current send of msg. */
static inline bool
lwkt_msg_abort_requested(lwkt_msg_t msg)
{
	return __atomic_load_n(&msg->ms_abortreq, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif
#endif /* LWKT_MSGPORT_H */
