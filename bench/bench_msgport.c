/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_msgport.c - LWKT messages against the floors of the same run:
 *   roundtrip/lwkt_domsg            cross-cpu, thread ports  vs floor_cacheline
 *                                   (the 16-byte body by value: lwkt_msg_byvalue)
 *   roundtrip/lwkt_domsg_byref      the same message by reference
 *   roundtrip/lwkt_domsg_local      same cpu (two switches)  vs call/floor_indirect
 *   roundtrip/lwkt_domsg_spinport   cross-cpu, spin ports    vs lwkt_domsg
 *   stream/lwkt_sendmsg             one-way, 64 in flight    vs stream/floor_spsc
 *                                   (by value)
 *   stream/lwkt_sendmsg_byref       the same by reference
 *   stream/lwkt_sendmsg_batch       by value, sends held until the sender
 *                                   waits (lc_ipi_batch = STREAM_BATCH)
 *   reqrep/lwkt_msg/clients:N       N clients over both cpus, one server
 *
 * Waiting: the runtime's idle spin budget is set to 1 s, so a waiter that
 * is alone on its cpu polls its IPI rings inside lwkt_domsg/lwkt_waitport
 * (msgport.c) and never sleeps on its futex: the round trip measures the
 * message path, not a futex wake-up (floor_futex covers that).
 * Every benchmark checks that the server saw every message.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_lwkt.h"
#include "lwkt/arch.h"
#include "lwkt/msgport.h"

#define SPIN_FOREVER 1000000000	/* ns: waiters poll, never sleep */

/*
 * A request.  Cache-line aligned: messages in flight side by side must not
 * share a line (false sharing between the client filling one and the
 * server reading its neighbour).  The body follows the header with no gap:
 * with a header of H bytes the request takes ceil((H + body) / 64) lines,
 * the fewest the header allows (one line once H <= 48); today's 80-byte
 * header puts the body on its second line, beside ms_id and the result,
 * which every send writes anyway.
 */
struct bmsg {
	_Alignas(LWKT_CACHELINE) struct lwkt_msg b_msg;	/* first */
	uint32_t b_quit;
	uint32_t b_client;	/* reqrep: the sending client's index */
	uint64_t b_payload;
};
#define BMSG_BODY (sizeof(uint64_t) + 2 * sizeof(uint32_t))
_Static_assert(sizeof(struct bmsg) ==
	       (sizeof(struct lwkt_msg) + BMSG_BODY + LWKT_CACHELINE - 1) /
	       LWKT_CACHELINE * LWKT_CACHELINE,
	       "a request takes more cache lines than its header forces");

/*
 * The server's side of a benchmark.  Lines: the first is set before the
 * server starts (s_port, s_per) or written once (s_ready); the second is
 * written by the server thread alone for every message, so that no client
 * write (their counters live in their own structs, on their own lines)
 * steals it from the server while it serves.
 */
struct srv {
	lwkt_port_t s_port;	/* NULL: the server's own thread port */
	uint64_t *s_per;	/* reqrep: requests served per client, or NULL */
	_Atomic(lwkt_port_t) s_ready;	/* published by the server */
	/* Server only; read after join (or relaxed by a client for a rate). */
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t s_served;
	uint64_t s_sum;
};

static void
server_main(void *arg)
{
	struct srv *s = arg;
	lwkt_port_t p = s->s_port ? s->s_port : lwkt_thread_port(NULL);
	uint64_t served = 0;
	atomic_store_explicit(&s->s_ready, p, memory_order_release);
	for (;;) {
		struct bmsg *m = (struct bmsg *)lwkt_waitport(p, 0);
		if (m->b_quit) {
			lwkt_replymsg(&m->b_msg, 0);
			break;
		}
		s->s_sum += m->b_payload;
		if (s->s_per)
			s->s_per[m->b_client]++;
		atomic_store_explicit(&s->s_served, ++served,
				      memory_order_relaxed);
		lwkt_replymsg(&m->b_msg, 0);
	}
}

static lwkt_port_t
wait_server(struct srv *s)
{
	lwkt_port_t p;
	while ((p = atomic_load_explicit(&s->s_ready, memory_order_acquire))
	       == NULL)
		lwkt_yield();
	return p;
}

static void
quit_server(lwkt_port_t p, lwkt_port_t rport)
{
	struct bmsg q;
	memset(&q, 0, sizeof q);
	lwkt_initmsg(&q.b_msg, rport, 0);
	q.b_quit = 1;
	lwkt_domsg(p, &q.b_msg, 0);
}

/* ---------------------------------------------------------------------- */
/* round trips */

/* Each spin port on its own line: both sides write both, but a message
 * and its reply must not contend for one line they do not need. */
struct rt {
	gbench_state *r_st;
	int r_srv_cpu;
	bool r_spin;		/* spin ports for target and reply */
	bool r_byref;		/* no lwkt_msg_byvalue */
	uint64_t r_trips;	/* the client, after its loop */
	struct srv r_srv;
	_Alignas(LWKT_CACHELINE) struct lwkt_port r_sport;
	_Alignas(LWKT_CACHELINE) struct lwkt_port r_rport;
};

static void
rt_client(void *arg)
{
	struct rt *r = arg;
	lwkt_thread_t st;
	if (lwkt_create(server_main, &r->r_srv, r->r_srv_cpu, 0, &st,
			"server") != 0)
		return;
	lwkt_port_t p = wait_server(&r->r_srv);
	lwkt_port_t rport = r->r_spin ? &r->r_rport : NULL;
	struct bmsg m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.b_msg, rport, 0);
	if (!r->r_byref)
		lwkt_msg_byvalue(&m.b_msg, BMSG_BODY);
	uint64_t x = (uint64_t)gbench_max_iterations(r->r_st), trips = 0;
	GBENCH_LOOP(r->r_st) {
		m.b_payload = x++;
		lwkt_domsg(p, &m.b_msg, 0);
		trips++;
	}
	r->r_trips = trips;
	quit_server(p, rport);
	lwkt_join(st);
}

static void
run_rt(gbench_state *st, int srv_cpu, bool spin, bool byref)
{
	static struct rt r;
	memset(&r, 0, sizeof r);
	r.r_st = st;
	r.r_srv_cpu = srv_cpu;
	r.r_spin = spin;
	r.r_byref = byref;
	if (spin) {
		lwkt_initport_spin(&r.r_sport);
		lwkt_initport_spin(&r.r_rport);
		r.r_srv.s_port = &r.r_sport;
	}
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, rt_client, &r);
	bench_lwkt_stop(st);
	uint64_t n = (uint64_t)gbench_iterations_done(st);
	if (ok && (r.r_trips != n ||
		   atomic_load(&r.r_srv.s_served) != n))
		gbench_skip_with_error(st, "a message was lost");
	gbench_set_items_processed(st, (int64_t)n);
}

static void
bm_domsg(gbench_state *st)
{
	run_rt(st, 1, false, false);
}

static void
bm_domsg_byref(gbench_state *st)
{
	run_rt(st, 1, false, true);
}

static void
bm_domsg_local(gbench_state *st)
{
	run_rt(st, 0, false, false);
}

static void
bm_domsg_spinport(gbench_state *st)
{
	run_rt(st, 1, true, false);
}

GBENCH_REGISTER(bm_domsg, "roundtrip/lwkt_domsg", gbench_use_real_time(f));
GBENCH_REGISTER(bm_domsg_byref, "roundtrip/lwkt_domsg_byref",
		gbench_use_real_time(f));
GBENCH_REGISTER(bm_domsg_local, "roundtrip/lwkt_domsg_local",
		gbench_use_real_time(f));
GBENCH_REGISTER(bm_domsg_spinport, "roundtrip/lwkt_domsg_spinport",
		gbench_use_real_time(f));

/* ---------------------------------------------------------------------- */
/* stream: one-way sends, a window of W messages in flight; replies come
 * back in batches (one IPI ring drain carries many) and free slots. */

#define STREAM_W 64
/* Held sends per ring at most (lc_ipi_batch) in stream/lwkt_sendmsg_batch:
 * half the window, so the server starts on the first half while the
 * client fills the second. */
#define STREAM_BATCH 32

struct stream {
	gbench_state *s_st;
	bool s_byref;		/* no lwkt_msg_byvalue */
	uint64_t s_sent, s_got;	/* the client, after its loop */
	struct srv s_srv;
};

static void
stream_client(void *arg)
{
	struct stream *s = arg;
	lwkt_thread_t st;
	if (lwkt_create(server_main, &s->s_srv, 1, 0, &st, "server") != 0)
		return;
	lwkt_port_t p = wait_server(&s->s_srv);
	lwkt_port_t self = lwkt_thread_port(NULL);
	static struct bmsg w[STREAM_W];
	int fresh = 0;
	uint64_t sent = 0, got = 0;	/* locals: no shared line in the loop */
	for (int i = 0; i < STREAM_W; i++) {
		memset(&w[i], 0, sizeof w[i]);
		lwkt_initmsg(&w[i].b_msg, NULL, 0);
		if (!s->s_byref)
			lwkt_msg_byvalue(&w[i].b_msg, BMSG_BODY);
	}
	GBENCH_LOOP(s->s_st) {
		struct bmsg *m;
		if (fresh < STREAM_W) {
			m = &w[fresh++];
		} else {
			m = (struct bmsg *)lwkt_waitport(self, 0);
			got++;
		}
		m->b_payload = sent++;
		lwkt_sendmsg(p, &m->b_msg);
	}
	/* Drain the window (outside the timed loop). */
	while (got < sent) {
		lwkt_waitport(self, 0);
		got++;
	}
	s->s_sent = sent;
	s->s_got = got;
	quit_server(p, NULL);
	lwkt_join(st);
}

static void
run_stream(gbench_state *st, bool byref, unsigned batch)
{
	static struct stream s;
	memset(&s, 0, sizeof s);
	s.s_st = st;
	s.s_byref = byref;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	cfg.lc_ipi_batch = batch;
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, stream_client, &s);
	bench_lwkt_stop(st);
	uint64_t n = (uint64_t)gbench_iterations_done(st);
	uint64_t want = n * (n - 1) / 2;	/* sum of payloads 0..n-1 */
	if (ok && (s.s_sent != n || s.s_got != n ||
		   atomic_load(&s.s_srv.s_served) != n ||
		   s.s_srv.s_sum != want))
		gbench_skip_with_error(st, "a message was lost");
	gbench_set_items_processed(st, (int64_t)n);
}

static void
bm_stream(gbench_state *st)
{
	run_stream(st, false, 0);
}

static void
bm_stream_byref(gbench_state *st)
{
	run_stream(st, true, 0);
}

static void
bm_stream_batch(gbench_state *st)
{
	run_stream(st, false, STREAM_BATCH);
}

GBENCH_REGISTER(bm_stream, "stream/lwkt_sendmsg", gbench_use_real_time(f));
GBENCH_REGISTER(bm_stream_byref, "stream/lwkt_sendmsg_byref",
		gbench_use_real_time(f));
GBENCH_REGISTER(bm_stream_batch, "stream/lwkt_sendmsg_batch",
		gbench_use_real_time(f));

/* ---------------------------------------------------------------------- */
/* reqrep: N clients (alternating cpus) domsg one server on cpu 1.  The
 * timed client is client 0 (cpu 0); the others run until it is done.
 * items/s = requests served by the server during the timed loop.
 *
 * Checks (after every thread is joined): each client's count of answered
 * requests equals the server's count for that client (none lost, none
 * served twice), client 0 made exactly the timed iterations, and every
 * client was served during the timed loop — when the loop is long enough
 * to give each a turn (RR_FAIR_ROUNDS requests per client): otherwise
 * items/s would be one client's rate under the name of N. */

#define RR_MAX_CLIENTS 64
#define RR_FAIR_ROUNDS 16

/* One client's counter on its own line: written by that client at each
 * answered request, read (relaxed) by client 0 at the loop's edges. */
struct rr_client {
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t c_done;
	struct reqrep *c_q;
	uint32_t c_idx;
};

struct reqrep {
	gbench_state *q_st;
	lwkt_port_t q_port;	/* set before the other clients start */
	int q_n;
	uint64_t q_items;	/* client 0, after its loop */
	uint64_t q_iters;	/* client 0, after its loop */
	int q_unserved;		/* a client not served in the loop, or -1 */
	int q_fault;		/* negative controls (tests), see below */
	_Alignas(LWKT_CACHELINE) _Atomic int q_stop;	/* written once */
	struct srv q_srv;
	uint64_t q_per[RR_MAX_CLIENTS];	/* the server's, read after join */
	struct rr_client q_cl[RR_MAX_CLIENTS];
};

/* Negative controls, chosen by LWKT_BENCH_FAULT for the tests that show
 * the checks above can fail: client 1 stalls after its first answer
 * (reqrep_starve), or miscounts its first answer (reqrep_lost). */
enum { RR_FAULT_NONE, RR_FAULT_STARVE, RR_FAULT_LOST };

static void
rr_other(void *arg)
{
	struct rr_client *c = arg;
	struct reqrep *q = c->c_q;
	struct bmsg m;
	uint64_t done = 0;
	int fault = c->c_idx == 1 ? q->q_fault : RR_FAULT_NONE;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.b_msg, NULL, 0);
	m.b_client = c->c_idx;
	while (!atomic_load_explicit(&q->q_stop, memory_order_relaxed)) {
		lwkt_domsg(q->q_port, &m.b_msg, 0);
		if (fault == RR_FAULT_LOST) {
			fault = RR_FAULT_NONE;	/* one answer uncounted */
			continue;
		}
		atomic_store_explicit(&c->c_done, ++done,
				      memory_order_relaxed);
		if (fault == RR_FAULT_STARVE && done == 1) {
			while (!atomic_load_explicit(&q->q_stop,
						     memory_order_relaxed))
				lwkt_yield();
		}
	}
}

static void
rr_client0(void *arg)
{
	struct reqrep *q = arg;
	int n = q->q_n;
	lwkt_thread_t srv, others[RR_MAX_CLIENTS];
	uint64_t c0[RR_MAX_CLIENTS] = {0};
	if (lwkt_create(server_main, &q->q_srv, 1, 0, &srv, "server") != 0)
		return;
	q->q_port = wait_server(&q->q_srv);
	for (int i = 1; i < n; i++) {
		q->q_cl[i].c_q = q;
		q->q_cl[i].c_idx = (uint32_t)i;
		if (lwkt_create(rr_other, &q->q_cl[i], i & 1, 0, &others[i],
				"client") != 0) {
			fprintf(stderr, "reqrep: lwkt_create failed for "
				"client %d\n", i);
			abort();
		}
	}
	/* Setup: every client in its request loop and served once. */
	for (int i = 1; i < n; i++)
		while (atomic_load_explicit(&q->q_cl[i].c_done,
					    memory_order_relaxed) == 0)
			lwkt_yield();
	struct bmsg m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.b_msg, NULL, 0);
	m.b_client = 0;
	uint64_t s0 = 0, done = 0;
	bool first = true;
	GBENCH_LOOP(q->q_st) {
		if (first) {
			s0 = atomic_load_explicit(&q->q_srv.s_served,
						  memory_order_relaxed);
			for (int i = 1; i < n; i++)
				c0[i] = atomic_load_explicit(
					&q->q_cl[i].c_done,
					memory_order_relaxed);
			first = false;
		}
		lwkt_domsg(q->q_port, &m.b_msg, 0);
		done++;
	}
	q->q_items = atomic_load_explicit(&q->q_srv.s_served,
					  memory_order_relaxed) - s0;
	q->q_unserved = -1;
	for (int i = 1; i < n && !first; i++)
		if (atomic_load_explicit(&q->q_cl[i].c_done,
					 memory_order_relaxed) == c0[i])
			q->q_unserved = i;
	q->q_iters = done;
	atomic_store(&q->q_stop, 1);
	for (int i = 1; i < n; i++)
		lwkt_join(others[i]);
	quit_server(q->q_port, NULL);
	lwkt_join(srv);
	atomic_store_explicit(&q->q_cl[0].c_done, done, memory_order_relaxed);
}

static void
bm_reqrep(gbench_state *st)
{
	static struct reqrep q;
	int64_t n = gbench_range_x(st, 0);
	if (n < 1 || n > RR_MAX_CLIENTS) {
		gbench_skip_with_error(st, "clients must be 1..64");
		return;
	}
	memset(&q, 0, sizeof q);
	q.q_st = st;
	q.q_n = (int)n;
	q.q_srv.s_per = q.q_per;
	const char *fault = getenv("LWKT_BENCH_FAULT");
	q.q_fault = !fault ? RR_FAULT_NONE
		: !strcmp(fault, "reqrep_starve") ? RR_FAULT_STARVE
		: !strcmp(fault, "reqrep_lost") ? RR_FAULT_LOST : RR_FAULT_NONE;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, rr_client0, &q);
	bench_lwkt_stop(st);
	uint64_t iters = (uint64_t)gbench_iterations_done(st);
	gbench_set_items_processed(st, (int64_t)q.q_items);
	if (!ok)
		return;
	static char err[128];
	for (int i = 0; i < q.q_n; i++) {
		uint64_t got = atomic_load_explicit(&q.q_cl[i].c_done,
						    memory_order_relaxed);
		if (q.q_per[i] != got) {
			snprintf(err, sizeof err, "client %d: %llu answers, "
				 "the server served %llu", i,
				 (unsigned long long)got,
				 (unsigned long long)q.q_per[i]);
			gbench_skip_with_error(st, err);
			return;
		}
	}
	if (q.q_iters != iters) {
		gbench_skip_with_error(st, "client 0 lost a request");
		return;
	}
	if (q.q_unserved >= 0 && iters >= RR_FAIR_ROUNDS * (uint64_t)q.q_n) {
		snprintf(err, sizeof err, "client %d was not served during "
			 "the timed loop", q.q_unserved);
		gbench_skip_with_error(st, err);
	}
}

GBENCH_REGISTER(bm_reqrep, "reqrep/lwkt_msg", gbench_use_real_time(f),
		gbench_arg_name(f, "clients"), gbench_arg(f, 1),
		gbench_arg(f, 2), gbench_arg(f, 8), gbench_arg(f, 32));
