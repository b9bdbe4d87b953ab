/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netisr.h - protocol service threads, after DragonFly's sys/net/netisr.c
 * and sys/net/netmsg.h: one service thread per cpu runs a message service
 * loop (netmsg_service_loop: up to a batch of messages per wake-up, then
 * the registered "rollup" functions, as tcp_willblock).  A message carries
 * its own handler (struct netmsg_base: lwkt_msg + nm_dispatch); work is
 * spread by hashing (a flow's hash picks its cpu), so per-cpu state such
 * as a flow table is owned by one thread and needs no lock.
 *
 * The big lock: a handler that is not MPSAFE runs holding one global
 * token (netisr_bgl()).  Three modes, switchable on a running system as
 * DragonFly's 2008 protocol-thread patch allowed (Sepherosa Ziehau,
 * "protocol threads mpsafe mode", kernel@dragonflybsd.org, 22 Sep 2008:
 * one service loop that takes the MP lock according to the handler's
 * NETISR_FLAG_MPSAFE and the threads' mpsafe setting, which made the mode
 * changeable on a running system):
 *   NETISR_MODE_BGL       every handler holds the big lock
 *   NETISR_MODE_ADAPTIVE  only handlers not flagged NETMSGF_MPSAFE hold it
 *   NETISR_MODE_NOBGL     no handler holds it
 * The mode is read once per message, before its handler runs: a flip
 * takes effect at the next message, never in the middle of a handler.
 *
 * Ordering: messages from one sender thread to one service port are
 * handled in the order sent (the runtime's per-cpu-pair FIFO); so every
 * flow whose packets come from one generator keeps its order.
 *
 * Which thread may call what:
 *   netisr_start/stop     outside LWKT or an LWKT thread that is not a
 *                         service thread; not concurrently with each other.
 *   netisr_sendmsg        any LWKT thread; outside LWKT when the message
 *                         has a reply port (lwkt_sendmsg's rule).
 *   netisr_domsg*         any thread.  A service thread sending to its
 *                         OWN port runs the handler inline (it would wait
 *                         for itself otherwise); a service thread other
 *                         than cpu 0's may not domsg another service (two
 *                         services waiting for each other would deadlock;
 *                         DragonFly's rule in netisr_domsg_port) - it aborts.
 *   netisr_sync           outside LWKT, a plain LWKT thread, or service 0.
 *   netisr_set_mode       any thread, any time.
 * NOTE: a plain lwkt_domsg() from a service thread to its own port waits
 * for itself forever: use netisr_domsg_port().
 *
 * Replies that arrive at a service thread's port (a handler sent an
 * asynchronous message without a reply port) are taken off the queue by
 * the service loop and not dispatched: they are done already.
 */
#ifndef LWKT_NETISR_H
#define LWKT_NETISR_H

#include <stdbool.h>
#include <stdint.h>

#include "lwkt/msgport.h"
#include "lwkt/token.h"

#ifdef __cplusplus
extern "C" {
#endif

struct netmsg_base;
/* A handler.  It owns the message: it must reply it (lwkt_replymsg) or
 * pass it on (lwkt_forwardmsg), exactly once, and not touch it after. */
typedef void (*netisr_fn_t)(struct netmsg_base *nm);
/* A rollup: runs on each service cpu after every batch of messages. */
typedef void (*netisr_ru_t)(void *arg);

/* Message flag (a user bit of ms_flags): the handler is MPSAFE. */
#define NETMSGF_MPSAFE	MSGF_USER0

/* DragonFly's netmsg_base.  Embed it first in your own message. */
struct netmsg_base {
	struct lwkt_msg lmsg;		/* first */
	netisr_fn_t nm_dispatch;	/* set by netmsg_init */
};

enum netisr_mode {
	NETISR_MODE_BGL = 0,
	NETISR_MODE_ADAPTIVE = 1,
	NETISR_MODE_NOBGL = 2,
};

struct netisr_config {
	/* Service threads on lwkt cpus 0..nc_ncpus-1; 0: every cpu. */
	int nc_ncpus;
	/* Messages handled per wake-up before the rollups run; 0: 512
	 * (DragonFly's netmsg_service_loop limit). */
	int nc_batch;
	/* Initial mode (NETISR_MODE_BGL, the zero value, is the safe one). */
	enum netisr_mode nc_mode;
	/* Priority of the service threads; 0: LWKT_PRI_NORMAL. */
	int nc_pri;
};

/* Fills cfg with the defaults: every cpu, batch 512, adaptive mode
 * (a zeroed config means BGL mode). */
void netisr_config_default(struct netisr_config *cfg);

/*
 * Starts the service threads (the runtime must be running) and returns
 * when every service port accepts messages.  0, or EINVAL (bad config),
 * EBUSY (already started), ESHUTDOWN (runtime not started), or what
 * lwkt_create returned; nothing is left running on failure.
 */
int netisr_start(const struct netisr_config *cfg);
/*
 * Stops the service threads: each handles what was queued before the
 * stop message of this call, then exits; returns when all have exited.
 * Messages sent to a service after netisr_stop began are a bug (the
 * runtime aborts when a thread exits with messages queued).  Rollups
 * stay registered.  0, or ESRCH if not started.
 */
int netisr_stop(void);

/* Registers fn(arg) to run on every service cpu after each batch.  Only
 * while stopped (EBUSY otherwise); at most NETISR_MAXROLLUPS (ENOSPC). */
#define NETISR_MAXROLLUPS 16
int netisr_register_rollup(netisr_ru_t fn, void *arg);
/* Removes every rollup (while stopped; EBUSY otherwise). */
int netisr_clear_rollups(void);

/* Number of service cpus (0 when stopped). */
int netisr_ncpus(void);
/* The service port of cpu (0 <= cpu < netisr_ncpus(); aborts otherwise). */
lwkt_port_t netisr_cpuport(int cpu);
/* The cpu that owns hash (hash modulo the service count): a stable map
 * while the service runs.  The service must be running. */
int netisr_hashcpu(uint32_t hash);
/* The service port that owns hash (DragonFly's netisr_hashport). */
lwkt_port_t netisr_hashport(uint32_t hash);
/* True if the running thread is the service thread of cpu. */
bool netisr_in_service(int cpu);

/* Prepares a message: reply port rport (NULL: the sending thread's own
 * port), flags (NETMSGF_MPSAFE, MSGF_DROPABLE, user bits), handler. */
void netmsg_init(struct netmsg_base *nm, lwkt_port_t rport, uint32_t flags,
		 netisr_fn_t dispatch);

/* Asynchronous send to cpu's service; the reply comes to the reply port. */
void netisr_sendmsg(struct netmsg_base *nm, int cpu);
/* Synchronous send to cpu's service (or to port); returns the handler's
 * reply error.  Inline when the caller is that service (see above). */
int netisr_domsg(struct netmsg_base *nm, int cpu);
int netisr_domsg_port(struct netmsg_base *nm, lwkt_port_t port);
/* Barrier: a message through every service port in turn, so everything
 * each service was sent before (by this thread) has been handled. */
int netisr_sync(void);

/* Mode switch (see above); takes effect at each service's next message. */
void netisr_set_mode(enum netisr_mode mode);
enum netisr_mode netisr_get_mode(void);
/* The big lock: the global token non-MPSAFE handlers hold.  Code outside
 * the service threads that shares their data takes it too. */
struct lwkt_token *netisr_bgl(void);

/* Per-service counters: written by the service thread only; read relaxed.
 * A handler's counts are in before it runs (so after its reply);
 * batches are exact once the service stopped.  They stay readable after
 * netisr_stop until the next netisr_start. */
struct netisr_stats {
	uint64_t ns_dispatched;		/* handlers run (queued + inline) */
	uint64_t ns_inline;		/* of which inline (self domsg) */
	uint64_t ns_bgl;		/* of which under the big lock */
	uint64_t ns_batches;		/* wake-ups (rollup rounds) */
	uint64_t ns_replies_seen;	/* replies consumed by the loop */
	uint64_t ns_max_batch;		/* largest batch */
};
/* 0, or EINVAL for a cpu without a service (since the last start). */
int netisr_stats(int cpu, struct netisr_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_NETISR_H */
