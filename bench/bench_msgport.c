/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_msgport.c - LWKT messages against the floors of the same run:
 *   roundtrip/lwkt_domsg            cross-cpu, thread ports  vs floor_cacheline
 *   roundtrip/lwkt_domsg_local      same cpu (two switches)  vs call/floor_indirect
 *   roundtrip/lwkt_domsg_spinport   cross-cpu, spin ports    vs lwkt_domsg
 *   stream/lwkt_sendmsg             one-way, 64 in flight    vs stream/floor_spsc
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
#include <string.h>

#include "bench_lwkt.h"
#include "lwkt/msgport.h"

#define SPIN_FOREVER 1000000000	/* ns: waiters poll, never sleep */

/* Cache-line aligned: messages in flight side by side must not share a
 * line (false sharing between the client filling one and the server
 * reading its neighbour). */
struct bmsg {
	_Alignas(64) struct lwkt_msg b_msg;	/* first */
	int b_quit;
	uint64_t b_payload;
};

struct srv {
	lwkt_port_t s_port;	/* NULL: the server's own thread port */
	_Atomic(lwkt_port_t) s_ready;	/* published by the server */
	/* Written by the server thread only; read after join (or relaxed
	 * from a client for a rate). */
	_Atomic uint64_t s_served;
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

struct rt {
	gbench_state *r_st;
	struct srv r_srv;
	int r_srv_cpu;
	bool r_spin;		/* spin ports for target and reply */
	struct lwkt_port r_sport, r_rport;
	uint64_t r_trips;
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
	uint64_t x = (uint64_t)gbench_max_iterations(r->r_st);
	GBENCH_LOOP(r->r_st) {
		m.b_payload = x++;
		lwkt_domsg(p, &m.b_msg, 0);
		r->r_trips++;
	}
	quit_server(p, rport);
	lwkt_join(st);
}

static void
run_rt(gbench_state *st, int srv_cpu, bool spin)
{
	static struct rt r;
	memset(&r, 0, sizeof r);
	r.r_st = st;
	r.r_srv_cpu = srv_cpu;
	r.r_spin = spin;
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
	run_rt(st, 1, false);
}

static void
bm_domsg_local(gbench_state *st)
{
	run_rt(st, 0, false);
}

static void
bm_domsg_spinport(gbench_state *st)
{
	run_rt(st, 1, true);
}

GBENCH_REGISTER(bm_domsg, "roundtrip/lwkt_domsg", gbench_use_real_time(f));
GBENCH_REGISTER(bm_domsg_local, "roundtrip/lwkt_domsg_local",
		gbench_use_real_time(f));
GBENCH_REGISTER(bm_domsg_spinport, "roundtrip/lwkt_domsg_spinport",
		gbench_use_real_time(f));

/* ---------------------------------------------------------------------- */
/* stream: one-way sends, a window of W messages in flight; replies come
 * back in batches (one IPI ring drain carries many) and free slots. */

#define STREAM_W 64

struct stream {
	gbench_state *s_st;
	struct srv s_srv;
	uint64_t s_sent, s_got;
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
	for (int i = 0; i < STREAM_W; i++) {
		memset(&w[i], 0, sizeof w[i]);
		lwkt_initmsg(&w[i].b_msg, NULL, 0);
	}
	GBENCH_LOOP(s->s_st) {
		struct bmsg *m;
		if (fresh < STREAM_W) {
			m = &w[fresh++];
		} else {
			m = (struct bmsg *)lwkt_waitport(self, 0);
			s->s_got++;
		}
		m->b_payload = s->s_sent++;
		lwkt_sendmsg(p, &m->b_msg);
	}
	/* Drain the window (outside the timed loop). */
	while (s->s_got < s->s_sent) {
		lwkt_waitport(self, 0);
		s->s_got++;
	}
	quit_server(p, NULL);
	lwkt_join(st);
}

static void
bm_stream(gbench_state *st)
{
	static struct stream s;
	memset(&s, 0, sizeof s);
	s.s_st = st;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, stream_client, &s);
	bench_lwkt_stop(st);
	uint64_t n = (uint64_t)gbench_iterations_done(st);
	uint64_t want = n * (n - 1) / 2;	/* sum of payloads 0..n-1 */
	if (ok && (s.s_sent != n || atomic_load(&s.s_srv.s_served) != n ||
		   s.s_srv.s_sum != want))
		gbench_skip_with_error(st, "a message was lost");
	gbench_set_items_processed(st, (int64_t)n);
}

GBENCH_REGISTER(bm_stream, "stream/lwkt_sendmsg", gbench_use_real_time(f));

/* ---------------------------------------------------------------------- */
/* reqrep: N clients (alternating cpus) domsg one server on cpu 1.  The
 * timed client is client 0 (cpu 0); the others run until it is done.
 * items/s = requests served by the server during the timed loop. */

struct reqrep {
	gbench_state *q_st;
	struct srv q_srv;
	lwkt_port_t q_port;
	_Atomic int q_stop;
	_Atomic int q_running;
	uint64_t q_items;
};

static void
rr_other(void *arg)
{
	struct reqrep *q = arg;
	struct bmsg m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.b_msg, NULL, 0);
	atomic_fetch_add(&q->q_running, 1);
	while (!atomic_load_explicit(&q->q_stop, memory_order_relaxed))
		lwkt_domsg(q->q_port, &m.b_msg, 0);
}

static void
rr_client0(void *arg)
{
	struct reqrep *q = arg;
	int n = (int)gbench_range_x(q->q_st, 0);
	lwkt_thread_t srv, others[64];
	if (lwkt_create(server_main, &q->q_srv, 1, 0, &srv, "server") != 0)
		return;
	q->q_port = wait_server(&q->q_srv);
	for (int i = 1; i < n; i++)
		lwkt_create(rr_other, q, i & 1, 0, &others[i], "client");
	while (atomic_load(&q->q_running) < n - 1)
		lwkt_yield();
	struct bmsg m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.b_msg, NULL, 0);
	uint64_t s0 = 0;
	bool first = true;
	GBENCH_LOOP(q->q_st) {
		if (first) {
			s0 = atomic_load_explicit(&q->q_srv.s_served,
						  memory_order_relaxed);
			first = false;
		}
		lwkt_domsg(q->q_port, &m.b_msg, 0);
	}
	q->q_items = atomic_load_explicit(&q->q_srv.s_served,
					  memory_order_relaxed) - s0;
	atomic_store(&q->q_stop, 1);
	for (int i = 1; i < n; i++)
		lwkt_join(others[i]);
	quit_server(q->q_port, NULL);
	lwkt_join(srv);
}

static void
bm_reqrep(gbench_state *st)
{
	static struct reqrep q;
	memset(&q, 0, sizeof q);
	q.q_st = st;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, rr_client0, &q);
	bench_lwkt_stop(st);
	if (ok && q.q_items < (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "the server missed requests");
	gbench_set_items_processed(st, (int64_t)q.q_items);
}

GBENCH_REGISTER(bm_reqrep, "reqrep/lwkt_msg", gbench_use_real_time(f),
		gbench_arg_name(f, "clients"), gbench_arg(f, 1),
		gbench_arg(f, 2), gbench_arg(f, 8), gbench_arg(f, 32));
