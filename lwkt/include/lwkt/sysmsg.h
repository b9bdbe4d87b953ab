/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sysmsg.h - system calls as messages.  "The syscall is a message: libc
 * builds it, dispatches it and waits for it" (Matthew Dillon, "K42 OS",
 * kernel@dragonflybsd.org, 20 Nov 2003, answering Michal Ostrowski on
 * K42's Protected Procedure Calls).  A syscall service is an LWKT thread
 * on a cpu of your choice that performs real system calls for its
 * clients:
 *
 *   synchronous   sysmsg_getppid/pread/read/write: a message on the
 *                 caller's stack, lwkt_domsg, result and errno as the
 *                 libc call returns them (K42's synchronous PPC).
 *   asynchronous  a sysmsg_client with its own messages: send up to N,
 *                 collect the replies as they come (FlexSC-style batching
 *                 when the service runs on another cpu).
 *
 * Why: a blocking system call made inside an LWKT thread blocks the host
 * thread of its cpu, so every other LWKT thread of that cpu stalls with
 * it (no IPI is handled, nothing else runs).  Sending the call to a
 * service on a cpu set aside for it keeps the caller's cpu running its
 * other threads while the call blocks there.
 *
 * Results: sm_result is what the system call returned (-1 on failure) and
 * the message's error (lwkt_domsg's return, sm_lmsg.ms_error) is its errno
 * (0 on success): never lost, never mixed with another thread's errno.
 * EINTR: the service retries the call unless SYSMSGF_NORESTART is set,
 * in which case EINTR is returned (as a call without SA_RESTART).
 *
 * Clients that go away: sysmsg_client_destroy() abandons what is still in
 * flight; the service frees each abandoned message when its call returns
 * (and the client with the last one), so a client thread may exit with
 * messages in flight.
 */
#ifndef LWKT_SYSMSG_H
#define LWKT_SYSMSG_H

#include <stdint.h>
#include <sys/types.h>

#include "lwkt/msgport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The calls a service performs (callno in the trace events). */
enum sysmsg_call {
	SYSMSG_GETPPID = 1,	/* the null call */
	SYSMSG_PREAD = 2,
	SYSMSG_READ = 3,
	SYSMSG_WRITE = 4,
};

/* sm_flags */
#define SYSMSGF_NORESTART 0x0001	/* return EINTR instead of retrying */

struct sysmsg_client;

/* A system call message.  Embed or allocate; sm_lmsg first. */
struct sysmsg {
	struct lwkt_msg sm_lmsg;	/* ms_error: errno at reply */
	uint32_t sm_call;		/* enum sysmsg_call */
	uint32_t sm_flags;		/* SYSMSGF_* */
	int sm_fd;
	void *sm_buf;
	size_t sm_len;
	off_t sm_off;			/* SYSMSG_PREAD */
	int64_t sm_result;		/* the call's return value */
	struct sysmsg_client *sm_client;	/* owner (async), or NULL */
};

/* Fills in a call (does not send it). */
void sysmsg_prep(struct sysmsg *sm, uint32_t call, int fd, void *buf,
		 size_t len, off_t off);

/* ---- the service ---- */

struct sysmsg_service;

/* Starts a service thread on lwkt cpu `cpu`.  0, or EINVAL (bad cpu,
 * NULL out), ESHUTDOWN (runtime not running), ENOMEM. */
int sysmsg_service_start(int cpu, struct sysmsg_service **out);
/* Handles what was sent before, stops the thread, frees the service.
 * Sending to it afterwards is a bug.  From outside LWKT or an LWKT
 * thread other than the service. */
void sysmsg_service_stop(struct sysmsg_service *svc);
lwkt_port_t sysmsg_service_port(struct sysmsg_service *svc);
int sysmsg_service_cpu(struct sysmsg_service *svc);

/* Counters, written by the service thread, read relaxed. */
struct sysmsg_stats {
	uint64_t ss_calls;		/* calls performed and handed back */
	uint64_t ss_restarts;		/* EINTR retries */
	uint64_t ss_abandoned;		/* messages freed: client destroyed */
};
void sysmsg_service_stats(struct sysmsg_service *svc,
			  struct sysmsg_stats *out);

/* ---- synchronous calls (libc-like: -1 and errno on failure) ----
 * From an LWKT thread (it blocks in lwkt_domsg: other threads of its cpu
 * run meanwhile) or from outside LWKT (it blocks on a futex). */
pid_t sysmsg_getppid(struct sysmsg_service *svc);
ssize_t sysmsg_pread(struct sysmsg_service *svc, int fd, void *buf,
		     size_t len, off_t off);
ssize_t sysmsg_read(struct sysmsg_service *svc, int fd, void *buf,
		    size_t len);
ssize_t sysmsg_write(struct sysmsg_service *svc, int fd, const void *buf,
		     size_t len);
/* Sends sm (prepared) and waits: returns its errno (0 on success). */
int sysmsg_domsg(struct sysmsg_service *svc, struct sysmsg *sm);

/* ---- asynchronous clients ----
 * A client owns nmsgs messages and a reply port (a spin port: any LWKT
 * thread may wait on it, an outside thread may poll it).  One thread at a
 * time uses a client. */
struct sysmsg_client *sysmsg_client_create(int nmsgs);	/* NULL: errno */
/* Message i (0 <= i < nmsgs), owned by the client while not in flight. */
struct sysmsg *sysmsg_client_msg(struct sysmsg_client *c, int i);
/* Sends sm (one of c's, prepared, not in flight) to svc. */
void sysmsg_client_send(struct sysmsg_client *c, struct sysmsg_service *svc,
			struct sysmsg *sm);
/* The next completed message: blocks (LWKT thread), or NULL at once when
 * nothing is in flight.  poll: NULL when none has completed yet. */
struct sysmsg *sysmsg_client_wait(struct sysmsg_client *c);
struct sysmsg *sysmsg_client_poll(struct sysmsg_client *c);
/* Messages sent and not yet collected. */
int sysmsg_client_inflight(struct sysmsg_client *c);
/* Gives the client up: replies already back are freed now, calls still
 * running are freed by their service when they return, the client with
 * the last of them.  c must not be used after. */
void sysmsg_client_destroy(struct sysmsg_client *c);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_SYSMSG_H */
