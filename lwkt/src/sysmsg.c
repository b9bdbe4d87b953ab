/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sysmsg.c - a syscall service on the public message API: an LWKT thread
 * that waits on its thread port and performs each message's system call,
 * replying with the result and errno.  Asynchronous clients own their
 * messages; a client that is destroyed with calls in flight leaves them
 * to the service, which frees them when the calls return.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwkt/arch.h"
#include "lwkt/cpu.h"
#include "lwkt/sysmsg.h"
#include "lwkt/thread.h"
#include "lwkt_trace.h"

#define SYSMSG_QUIT 0x7fffffffu		/* internal: stop the service */

/*
 * A service.  ss_td/ss_port/ss_cpu: set by sysmsg_service_start before any
 * client can see svc, read-only after.  Counters: the service thread
 * stores them (relaxed, no RMW), others load them relaxed.
 */
struct sysmsg_service {
	lwkt_thread_t ss_td;
	lwkt_port_t ss_port;
	int ss_cpu;
	_Atomic uint64_t ss_calls, ss_restarts, ss_abandoned;
};

/*
 * A client.  c_lock (0 free, 1 held; exchange-acquire / store-release)
 * orders the one decision two threads can race on: a call returning
 * (service: reply to c_port, or free it if c_dead) against the client
 * giving up (client: set c_dead, free what is queued on c_port).  Held
 * only for those few steps, never across a switch (LWKT threads are
 * cooperative, so a waiter on the same cpu cannot starve the holder).
 *   c_dead      written under c_lock (client, once); read under it.
 *   c_inflight  sent and not collected: +1 at send, -1 at collect (the
 *               client), -1 for each abandoned call (the service, under
 *               c_lock); relaxed RMW, the last decrement (acq_rel) frees.
 *   c_port      a spin port: replies queue there for the client.
 *   c_msgs      the client's messages (freed with the client).
 */
struct sysmsg_client {
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t c_lock;
	bool c_dead;
	_Atomic int c_inflight;
	int c_nmsgs;
	struct lwkt_port c_port;
	struct sysmsg *c_msgs;
};

static _Noreturn void __attribute__((format(printf, 1, 2)))
sysmsg_panic(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sysmsg panic (cpu %d): ", lwkt_mycpuid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static inline void
st_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + 1, memory_order_relaxed);
}

static inline void
c_lock(struct sysmsg_client *c)
{
	/* acquire: pairs with c_unlock's release. */
	while (atomic_exchange_explicit(&c->c_lock, 1, memory_order_acquire))
		while (atomic_load_explicit(&c->c_lock, memory_order_relaxed))
			lwkt_cpu_relax();
}

static inline void
c_unlock(struct sysmsg_client *c)
{
	atomic_store_explicit(&c->c_lock, 0, memory_order_release);
}

static void
client_free(struct sysmsg_client *c)
{
	free(c->c_msgs);
	free(c);
}

/* Drops one in-flight count; true when it was the last of a dead client.
 * acq_rel: the freeing side sees every other side's writes to c. */
static inline bool
inflight_put(struct sysmsg_client *c)
{
	return atomic_fetch_sub_explicit(&c->c_inflight, 1,
					 memory_order_acq_rel) == 1;
}

/* ---------------------------------------------------------------------- */
/* the service */

/* Performs sm's call; the errno is returned, never left in errno. */
static int
do_call(struct sysmsg_service *svc, struct sysmsg *sm)
{
	for (;;) {
		int64_t r;
		errno = 0;
		switch (sm->sm_call) {
		case SYSMSG_GETPPID:
			r = getppid();
			break;
		case SYSMSG_PREAD:
			r = pread(sm->sm_fd, sm->sm_buf, sm->sm_len,
				  sm->sm_off);
			break;
		case SYSMSG_READ:
			r = read(sm->sm_fd, sm->sm_buf, sm->sm_len);
			break;
		case SYSMSG_WRITE:
			r = write(sm->sm_fd, sm->sm_buf, sm->sm_len);
			break;
		default:
			sm->sm_result = -1;
			return ENOSYS;
		}
		sm->sm_result = r;
		if (r >= 0)
			return 0;
		int e = errno;
		if (e != EINTR || (sm->sm_flags & SYSMSGF_NORESTART))
			return e;
		st_inc(&svc->ss_restarts);
	}
}

/*
 * Counts a call as finished: before its reply, so that a client that has
 * its reply (the port hand-over orders it) sees it counted -- counted
 * after, the service's host thread could be preempted between the reply
 * and the count (one PU, a loaded host) and a stats read right after the
 * call missed it -- and after an abandoned call's ss_abandoned update:
 * the release pairs with the acquire in sysmsg_service_stats, so a reader
 * that sees the count also sees that update.
 */
static inline void
count_call(struct sysmsg_service *svc)
{
	atomic_store_explicit(&svc->ss_calls, atomic_load_explicit(
			      &svc->ss_calls, memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Hands a finished call back: to its waiter, or, if its client is gone,
 * to free(). */
static void
finish(struct sysmsg_service *svc, struct sysmsg *sm, int error)
{
	struct sysmsg_client *c = sm->sm_client;
	if (c == NULL) {
		count_call(svc);
		lwkt_replymsg(&sm->sm_lmsg, error);
		return;
	}
	c_lock(c);
	if (!c->c_dead) {
		/* Queued on c_port under c_lock: the client's destroy,
		 * which drains c_port under c_lock too, sees it. */
		count_call(svc);
		lwkt_replymsg(&sm->sm_lmsg, error);
		c_unlock(c);
		return;
	}
	c_unlock(c);
	st_inc(&svc->ss_abandoned);
	count_call(svc);
	if (inflight_put(c))
		client_free(c);
}

static void
service_main(void *arg)
{
	struct sysmsg_service *svc = arg;
	lwkt_port_t port = lwkt_thread_port(NULL);
	for (;;) {
		struct sysmsg *sm = (struct sysmsg *)lwkt_waitport(port, 0);
		if (lwkt_msg_flags(&sm->sm_lmsg) & MSGF_REPLY)
			continue;	/* not ours to handle: done already */
		uint32_t call = sm->sm_call;
		if (call == SYSMSG_QUIT) {
			lwkt_replymsg(&sm->sm_lmsg, 0);
			return;
		}
		LWKT_TRACE(sysmsg_begin, (const void *)sm, call);
		int e = do_call(svc, sm);
		LWKT_TRACE(sysmsg_end, (const void *)sm, call, sm->sm_result,
			   e);
		finish(svc, sm, e);	/* sm is not ours after this */
	}
}

int
sysmsg_service_start(int cpu, struct sysmsg_service **out)
{
	if (out == NULL)
		return EINVAL;
	*out = NULL;
	if (lwkt_ncpus() == 0)
		return ESHUTDOWN;
	if (cpu < 0 || cpu >= lwkt_ncpus())
		return EINVAL;
	struct sysmsg_service *svc = calloc(1, sizeof *svc);
	if (svc == NULL)
		return ENOMEM;
	svc->ss_cpu = cpu;
	int e = lwkt_create(service_main, svc, cpu, 0, &svc->ss_td,
			    "sysmsg");
	if (e != 0) {
		free(svc);
		return e;
	}
	svc->ss_port = lwkt_thread_port(svc->ss_td);
	*out = svc;
	return 0;
}

void
sysmsg_service_stop(struct sysmsg_service *svc)
{
	if (svc == NULL)
		return;
	if (lwkt_curthread() != NULL && lwkt_curthread() == svc->ss_td)
		sysmsg_panic("sysmsg_service_stop from the service itself");
	struct sysmsg q;
	memset(&q, 0, sizeof q);
	lwkt_initmsg(&q.sm_lmsg, NULL, 0);
	q.sm_call = SYSMSG_QUIT;
	lwkt_domsg(svc->ss_port, &q.sm_lmsg, 0);
	lwkt_join(svc->ss_td);
	free(svc);
}

lwkt_port_t
sysmsg_service_port(struct sysmsg_service *svc)
{
	return svc->ss_port;
}

int
sysmsg_service_cpu(struct sysmsg_service *svc)
{
	return svc->ss_cpu;
}

void
sysmsg_service_stats(struct sysmsg_service *svc, struct sysmsg_stats *out)
{
	/* Pairs with the release in service_main(): calls first. */
	out->ss_calls = atomic_load_explicit(&svc->ss_calls,
					     memory_order_acquire);
	out->ss_restarts = atomic_load_explicit(&svc->ss_restarts,
						memory_order_relaxed);
	out->ss_abandoned = atomic_load_explicit(&svc->ss_abandoned,
						 memory_order_relaxed);
}

/* ---------------------------------------------------------------------- */
/* synchronous calls */

void
sysmsg_prep(struct sysmsg *sm, uint32_t call, int fd, void *buf, size_t len,
	    off_t off)
{
	sm->sm_call = call;
	sm->sm_flags = 0;
	sm->sm_fd = fd;
	sm->sm_buf = buf;
	sm->sm_len = len;
	sm->sm_off = off;
	sm->sm_result = -1;
}

int
sysmsg_domsg(struct sysmsg_service *svc, struct sysmsg *sm)
{
	lwkt_initmsg(&sm->sm_lmsg, NULL, 0);
	sm->sm_client = NULL;
	return lwkt_domsg(svc->ss_port, &sm->sm_lmsg, 0);
}

/* libc's convention: the result, or -1 with errno set. */
static int64_t
sync_call(struct sysmsg_service *svc, uint32_t call, int fd, void *buf,
	  size_t len, off_t off)
{
	struct sysmsg sm;
	sysmsg_prep(&sm, call, fd, buf, len, off);
	int e = sysmsg_domsg(svc, &sm);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return sm.sm_result;
}

pid_t
sysmsg_getppid(struct sysmsg_service *svc)
{
	return (pid_t)sync_call(svc, SYSMSG_GETPPID, -1, NULL, 0, 0);
}

ssize_t
sysmsg_pread(struct sysmsg_service *svc, int fd, void *buf, size_t len,
	     off_t off)
{
	return sync_call(svc, SYSMSG_PREAD, fd, buf, len, off);
}

ssize_t
sysmsg_read(struct sysmsg_service *svc, int fd, void *buf, size_t len)
{
	return sync_call(svc, SYSMSG_READ, fd, buf, len, 0);
}

ssize_t
sysmsg_write(struct sysmsg_service *svc, int fd, const void *buf, size_t len)
{
	/* The service only reads the buffer of a write. */
	return sync_call(svc, SYSMSG_WRITE, fd, (void *)(uintptr_t)buf, len,
			 0);
}

/* ---------------------------------------------------------------------- */
/* asynchronous clients */

struct sysmsg_client *
sysmsg_client_create(int nmsgs)
{
	if (nmsgs <= 0) {
		errno = EINVAL;
		return NULL;
	}
	struct sysmsg_client *c = aligned_alloc(LWKT_CACHELINE,
		(sizeof *c + LWKT_CACHELINE - 1) & ~(size_t)(LWKT_CACHELINE - 1));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof *c);
	c->c_msgs = calloc((size_t)nmsgs, sizeof *c->c_msgs);
	if (c->c_msgs == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->c_nmsgs = nmsgs;
	lwkt_initport_spin(&c->c_port);
	for (int i = 0; i < nmsgs; i++) {
		lwkt_initmsg(&c->c_msgs[i].sm_lmsg, &c->c_port, 0);
		c->c_msgs[i].sm_client = c;
	}
	return c;
}

struct sysmsg *
sysmsg_client_msg(struct sysmsg_client *c, int i)
{
	if (i < 0 || i >= c->c_nmsgs)
		sysmsg_panic("sysmsg_client_msg(%d): the client has %d "
			     "messages", i, c->c_nmsgs);
	return &c->c_msgs[i];
}

void
sysmsg_client_send(struct sysmsg_client *c, struct sysmsg_service *svc,
		   struct sysmsg *sm)
{
	if (sm->sm_client != c)
		sysmsg_panic("sysmsg_client_send: message %p belongs to "
			     "another client", (void *)sm);
	atomic_fetch_add_explicit(&c->c_inflight, 1, memory_order_relaxed);
	/* Not re-initialized: lwkt_sendmsg refuses a message in flight. */
	lwkt_sendmsg(svc->ss_port, &sm->sm_lmsg);
}

struct sysmsg *
sysmsg_client_poll(struct sysmsg_client *c)
{
	struct sysmsg *sm = (struct sysmsg *)lwkt_getport(&c->c_port);
	if (sm != NULL)
		atomic_fetch_sub_explicit(&c->c_inflight, 1,
					  memory_order_relaxed);
	return sm;
}

struct sysmsg *
sysmsg_client_wait(struct sysmsg_client *c)
{
	if (atomic_load_explicit(&c->c_inflight, memory_order_relaxed) == 0)
		return NULL;
	struct sysmsg *sm = (struct sysmsg *)lwkt_waitport(&c->c_port, 0);
	atomic_fetch_sub_explicit(&c->c_inflight, 1, memory_order_relaxed);
	return sm;
}

int
sysmsg_client_inflight(struct sysmsg_client *c)
{
	return atomic_load_explicit(&c->c_inflight, memory_order_relaxed);
}

void
sysmsg_client_destroy(struct sysmsg_client *c)
{
	if (c == NULL)
		return;
	/* One extra count so that no service frees c under us. */
	atomic_fetch_add_explicit(&c->c_inflight, 1, memory_order_relaxed);
	c_lock(c);
	c->c_dead = true;
	/* Replies already queued: collected (and freed with c) here. */
	while (lwkt_getport(&c->c_port) != NULL)
		atomic_fetch_sub_explicit(&c->c_inflight, 1,
					  memory_order_relaxed);
	c_unlock(c);
	if (inflight_put(c))
		client_free(c);
}
