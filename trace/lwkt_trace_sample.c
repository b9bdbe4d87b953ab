/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt-trace-sample - a small two-cpu request/reply run that fires the
 * real `lwkt` tracepoints (the same sites as the runtime, through
 * LWKT_TRACE) with the runtime's id rules, so the provider, the record
 * script, the trace checker and the viz can be exercised before (and
 * independently of) the runtime's own workloads.
 *
 * Two host threads, "cpu 0" (client, lwkt tid 1) and "cpu 1" (server,
 * lwkt tid 2), pinned to the first two PUs when there are two.  The client
 * sends windows of messages; each message travels as one IPI on the 0->1
 * ring, the server dispatches it, replies, and the reply travels as one
 * IPI on the 1->0 ring.  A token moves between the cpus once per window.
 *
 *   lwkt-trace-sample [--msgs N] [--window W] [--services] [--exit-code C]
 *
 * --services: the server also acts as a protocol service thread (each
 * dispatch inside netisr_dispatch_begin/end, alternately mpsafe, a
 * netisr_rollup per window) and serves a real system call (getppid) as a
 * syscall message every 8th message (sysmsg_begin/end).
 * --exit-code C: after the run, exit with status C (tests a failing
 * command under trace/lwkt-record).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lwkt/arch.h>
#include <lwkt/topo.h>

#include "../lwkt/src/lwkt_trace.h"

#define SAMPLE_RING 64		/* slots per ring, a power of two */
#define SAMPLE_CLIENT_PORT 1	/* the client's reply port id */
#define SAMPLE_SERVER_PORT 2	/* the server's port id */
#define SAMPLE_FLAGS 0x1	/* "MSGF_SYNC"-like, only carried */

/*
 * One IPI ring src -> dst: single producer (cpu src), single consumer
 * (cpu dst).  Slot k's sequence tells its state for position p = k mod
 * SAMPLE_RING: seq == p free for the producer at p, seq == p + 1 full for
 * the consumer at p.  Producer: acquire-load seq == p (pairs with the
 * consumer's release of p - SAMPLE_RING + SAMPLE_RING), write the payload,
 * release-store p + 1.  Consumer: acquire-load seq == p + 1 (pairs with
 * that release), read the payload, release-store p + SAMPLE_RING so the
 * producer may reuse the slot.  sr_wpos / sr_rpos are private to their
 * side; each slot is its own cache line, so a message moves one line.
 */
struct sample_slot {
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t ss_seq;
	uint64_t ss_msg_id;	/* written by the producer before seq */
};

struct sample_ring {
	struct sample_slot sr_slot[SAMPLE_RING];
	_Alignas(LWKT_CACHELINE) uint64_t sr_wpos;	/* producer only */
	_Alignas(LWKT_CACHELINE) uint64_t sr_rpos;	/* consumer only */
};

struct sample {
	struct sample_ring s_ring[2];	/* [0]: 0 -> 1, [1]: 1 -> 0 */
	uint64_t s_msgs;
	uint64_t s_window;
	int s_pu[2];			/* host PU per cpu, -1: unpinned */
	uint64_t s_served;		/* server only, read after join */
	bool s_services;		/* netisr / sysmsg events too */
	char s_token;			/* its address is the token id */
};

static void
sample_ring_init(struct sample_ring *r)
{
	for (uint64_t i = 0; i < SAMPLE_RING; i++)
		atomic_init(&r->sr_slot[i].ss_seq, i);
	r->sr_wpos = r->sr_rpos = 0;
}

/* Stand-ins for the IPI callbacks: their addresses are the `func` ids. */
static void sample_ipi_request(void) { }
static void sample_ipi_reply(void) { }

/* Sends one IPI carrying msg_id; the ring position is the ipi_id. */
static void
sample_ipi_send(struct sample_ring *r, uint32_t src, uint32_t dst,
		uint64_t msg_id, void (*func)(void))
{
	uint64_t p = r->sr_wpos++;
	struct sample_slot *s = &r->sr_slot[p & (SAMPLE_RING - 1)];

	/* Pairs with the consumer's release of p (slot free again). */
	if (atomic_load_explicit(&s->ss_seq, memory_order_acquire) != p)
		LWKT_TRACE(ipi_ring_full, src, dst, SAMPLE_RING);
	while (atomic_load_explicit(&s->ss_seq, memory_order_acquire) != p)
		lwkt_cpu_relax();
	s->ss_msg_id = msg_id;
	/* Publishes ss_msg_id; pairs with the acquire in sample_ipi_recv(). */
	atomic_store_explicit(&s->ss_seq, p + 1, memory_order_release);
	LWKT_TRACE(ipi_send, src, dst, p, (const void *)func);
}

/* Receives the next IPI of ring src -> dst (spins); returns its msg_id
 * and sets *ipi_id.  Traces ipi_recv; the caller traces ipi_done. */
static uint64_t
sample_ipi_recv(struct sample_ring *r, uint32_t src, uint32_t dst,
		uint64_t *ipi_id, void (*func)(void))
{
	uint64_t p = r->sr_rpos++;
	struct sample_slot *s = &r->sr_slot[p & (SAMPLE_RING - 1)];
	uint64_t v;

	/* Pairs with the producer's release of p + 1. */
	while (atomic_load_explicit(&s->ss_seq, memory_order_acquire) != p + 1)
		lwkt_cpu_relax();
	LWKT_TRACE(ipi_recv, src, dst, p, (const void *)func);
	v = s->ss_msg_id;
	/* Frees the slot; pairs with the producer's acquire at p + RING. */
	atomic_store_explicit(&s->ss_seq, p + SAMPLE_RING, memory_order_release);
	*ipi_id = p;
	return v;
}

static void
sample_pin(const struct sample *sm, uint32_t cpu)
{
	if (sm->s_pu[cpu] >= 0)
		(void)lwkt_topo_bind_self((unsigned)sm->s_pu[cpu]);
}

static void *
sample_server(void *arg)
{
	struct sample *sm = arg;
	struct sample_ring *in = &sm->s_ring[0], *out = &sm->s_ring[1];

	sample_pin(sm, 1);
	LWKT_TRACE(thread_create, 1, 2, "sample-server");
	LWKT_TRACE(thread_switch, 1, 0, 2);
	for (uint64_t i = 0; i < sm->s_msgs; i++) {
		uint64_t ipi_id;
		uint64_t msg_id;

		if (i % sm->s_window == 0) {
			/* The token comes here once per window. */
			LWKT_TRACE(token_request, &sm->s_token, 1, 2);
			LWKT_TRACE(token_transfer, &sm->s_token, 0, 1);
			LWKT_TRACE(token_acquire, &sm->s_token, 1, 2);
		}
		msg_id = sample_ipi_recv(in, 0, 1, &ipi_id, sample_ipi_request);
		LWKT_TRACE(crit_enter, 1, 2);
		LWKT_TRACE(msg_dispatch, msg_id, SAMPLE_SERVER_PORT, 1, 2);
		if (sm->s_services) {
			/* The handler's "message" is the ring slot. */
			const void *msg = &in->sr_slot[msg_id % SAMPLE_RING];

			LWKT_TRACE(netisr_dispatch_begin, msg, 1, i & 1);
			if (i % 8 == 0) {
				long r;

				LWKT_TRACE(sysmsg_begin, msg, SYS_getppid);
				r = syscall(SYS_getppid);
				LWKT_TRACE(sysmsg_end, msg, SYS_getppid, r,
					   r < 0 ? errno : 0);
			}
			LWKT_TRACE(netisr_dispatch_end, msg);
			if (i % sm->s_window == sm->s_window - 1)
				LWKT_TRACE(netisr_rollup, 1, sm->s_window);
		}
		LWKT_TRACE(msg_reply, msg_id, SAMPLE_CLIENT_PORT, 1, 0, 2, 0);
		sample_ipi_send(out, 1, 0, msg_id, sample_ipi_reply);
		LWKT_TRACE(crit_exit, 1, 2);
		LWKT_TRACE(ipi_done, 0, 1, ipi_id);
		if (i % sm->s_window == sm->s_window - 1 || i + 1 == sm->s_msgs)
			LWKT_TRACE(token_release, &sm->s_token, 1, 2);
		sm->s_served++;
	}
	LWKT_TRACE(thread_exit, 1, 2);
	LWKT_TRACE(idle_enter, 1);
	return NULL;
}

static void
sample_client(struct sample *sm)
{
	struct sample_ring *out = &sm->s_ring[0], *in = &sm->s_ring[1];
	uint64_t next_id = 1;

	sample_pin(sm, 0);
	LWKT_TRACE(thread_create, 0, 1, "sample-client");
	LWKT_TRACE(thread_switch, 0, 0, 1);
	for (uint64_t sent = 0; sent < sm->s_msgs;) {
		uint64_t n = sm->s_msgs - sent;
		uint64_t first = next_id;

		if (n > sm->s_window)
			n = sm->s_window;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t id = next_id++;

			LWKT_TRACE(msg_send, id, SAMPLE_SERVER_PORT, 0, 1, 1,
				   SAMPLE_FLAGS);
			sample_ipi_send(out, 0, 1, id, sample_ipi_request);
		}
		for (uint64_t k = 0; k < n; k++) {
			uint64_t ipi_id, id;

			LWKT_TRACE(msg_wait_begin, first + k, 0, 1);
			id = sample_ipi_recv(in, 1, 0, &ipi_id, sample_ipi_reply);
			if (id != first + k) {
				fprintf(stderr, "lwkt-trace-sample: reply %" PRIu64
					" out of order (expected %" PRIu64 ")\n",
					id, first + k);
				exit(1);
			}
			LWKT_TRACE(ipi_done, 1, 0, ipi_id);
			LWKT_TRACE(msg_wait_end, id, 0, 1);
		}
		sent += n;
	}
	LWKT_TRACE(thread_exit, 0, 1);
	LWKT_TRACE(idle_enter, 0);
}

static int
sample_uarg(const char *flag, const char *s, uint64_t lo, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s ? s : "", &end, 10);
	if (!s || *s == '\0' || *s == '-' || *end != '\0' || errno || v < lo) {
		fprintf(stderr, "lwkt-trace-sample: %s needs an integer >= %"
			PRIu64 " (got '%s')\n", flag, lo, s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct sample sm;
	pthread_t srv;
	uint64_t code = 0;
	int err;

	sm.s_msgs = 1000;
	sm.s_window = 4;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc;

		if (!strcmp(a, "--msgs"))
			rc = sample_uarg(a, v, 1, &sm.s_msgs);
		else if (!strcmp(a, "--window"))
			rc = sample_uarg(a, v, 1, &sm.s_window);
		else if (!strcmp(a, "--exit-code"))
			rc = sample_uarg(a, v, 0, &code);
		else if (!strcmp(a, "--services")) {
			sm.s_services = true;
			continue;
		} else {
			fprintf(stderr, "usage: lwkt-trace-sample [--msgs N] "
				"[--window W] [--services] [--exit-code C]\n");
			return !strcmp(a, "-h") || !strcmp(a, "--help") ? 0 : 2;
		}
		if (rc)
			return 2;
		i++;
	}
	if (sm.s_window > SAMPLE_RING)
		sm.s_window = SAMPLE_RING;	/* a window never overfills */
	sm.s_pu[0] = sm.s_pu[1] = -1;
	if (lwkt_topo_init() == 0 && lwkt_topo_npus() >= 2) {
		sm.s_pu[0] = lwkt_topo_pu(0);
		sm.s_pu[1] = lwkt_topo_pu(1);
	}
	sample_ring_init(&sm.s_ring[0]);
	sample_ring_init(&sm.s_ring[1]);
	err = pthread_create(&srv, NULL, sample_server, &sm);
	if (err) {
		fprintf(stderr, "lwkt-trace-sample: pthread_create: %s\n",
			strerror(err));
		return 1;
	}
	sample_client(&sm);
	pthread_join(srv, NULL);
	if (sm.s_served != sm.s_msgs) {
		fprintf(stderr, "lwkt-trace-sample: served %" PRIu64 " of %"
			PRIu64 "\n", sm.s_served, sm.s_msgs);
		return 1;
	}
	printf("lwkt-trace-sample: %" PRIu64 " messages, window %" PRIu64
	       ", tracing %s\n", sm.s_msgs, sm.s_window,
	       LWKT_TRACE_ENABLED(msg_send) ? "on" : "off");
	return (int)code;
}
