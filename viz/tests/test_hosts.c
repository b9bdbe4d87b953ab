/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_hosts.c - the model on traces of several hosts (traces streamed to
 * one lttng-relayd and read together): lanes, runtime ids and losses are
 * per host, even where two hosts have the same pids; MPI send -> recv
 * pairs join across processes and hosts.  The end-to-end check on a real
 * two-host recording is trace/tests/relayd-check (make relayd-check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltest.h"
#include "model.h"

struct hrec {
	int lanes;
	int flows[3];
	int done, done_open, gaps;
	int gap_lane[8];
	struct viz_msg last;	/* the last msg_done */
};

static int
h_lane(void *o, int lane)
{
	(void)lane;
	((struct hrec *)o)->lanes++;
	return 0;
}

static int
h_span(void *o, const struct viz_span *s)
{
	(void)o; (void)s;
	return 0;
}

static int
h_overlay(void *o, const struct viz_overlay *v)
{
	(void)o; (void)v;
	return 0;
}

static int
h_flow(void *o, enum viz_flow_step st, const struct viz_msg *m, int lane,
       uint64_t ts)
{
	(void)m; (void)lane; (void)ts;
	((struct hrec *)o)->flows[st]++;
	return 0;
}

static int
h_done(void *o, const struct viz_msg *m)
{
	struct hrec *r = o;

	r->done++;
	r->done_open += m->open;
	r->last = *m;
	return 0;
}

static int
h_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	(void)o; (void)ev; (void)lane; (void)ts;
	return 0;
}

static int
h_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t n, bool pk)
{
	struct hrec *r = o;

	(void)t0; (void)t1; (void)n; (void)pk;
	if (r->gaps < 8)
		r->gap_lane[r->gaps] = lane;
	r->gaps++;
	return 0;
}

static int
h_name(void *o, int id, uint64_t tid, const char *n, size_t len)
{
	(void)o; (void)id; (void)tid; (void)n; (void)len;
	return 0;
}

static int
h_bench(void *o, int b, uint64_t t0, uint64_t t1, uint64_t it)
{
	(void)o; (void)b; (void)t0; (void)t1; (void)it;
	return 0;
}

static const struct viz_out_ops hops = {
	.lane_new = h_lane, .span = h_span, .overlay = h_overlay,
	.flow = h_flow, .msg_done = h_done, .instant = h_instant,
	.gap = h_gap, .thread_name = h_name, .bench_run = h_bench,
};

static void
hev(struct viz_model *m, int host, uint32_t vpid, enum viz_evk k, uint64_t ts,
    int pu, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	struct viz_ev e = { .k = k, .ts = 1000000 + ts, .pu = pu, .vpid = vpid,
		.host = host, .a = { a0, a1, a2, a3, a4, 0 }, .name = "x",
		.provider = true };

	ck_assert_int_eq(viz_model_event(m, &e), 0);
}

static int
lane_at(const struct viz_model *m, int host, uint32_t vpid, int cpu)
{
	for (int i = 0; i < m->nlanes; i++)
		if (viz_model_lane_host(m, i) == host &&
		    viz_model_lane_vpid(m, i) == vpid && viz_model_lane_cpu(m, i) == cpu)
			return i;
	return -1;
}

/* The setup of the tests below: a model recording into *r, with two
 * hosts "a" and "b" (interned in that order: ids 0 and 1). */
static void
two_hosts(struct viz_model *m, struct hrec *r, int *a, int *b)
{
	*r = (struct hrec){ 0 };
	ck_assert_int_eq(viz_model_init(m, &hops, r), 0);
	*a = viz_model_host(m, "a", 1);
	*b = viz_model_host(m, "b", 1);
	ck_assert_int_eq(*a, 0);
	ck_assert_int_eq(*b, 1);
}

/* Hosts are interned by name; two hosts with the same pid and cpu get a
 * lane each, and keep their pid. */
START_TEST(t_hosts_lanes)
{
	struct viz_model m;
	struct hrec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &hops, &r), 0);
	int a = viz_model_host(&m, "node-a", 6), b = viz_model_host(&m, "node-bx", 6);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(viz_model_host(&m, "node-a", 6), 0);
	ck_assert_int_eq(viz_model_nhosts(&m), 2);
	ck_assert_str_eq(viz_model_host_name(&m, b), "node-b");
	ck_assert_str_eq(viz_model_host_name(&m, 7), "");

	hev(&m, a, 100, VIZ_EV_idle_enter, 10, 0, 0, 0, 0, 0, 0);
	hev(&m, b, 100, VIZ_EV_idle_enter, 11, 0, 0, 0, 0, 0, 0);
	hev(&m, a, 100, VIZ_EV_idle_exit, 12, 0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(r.lanes, 2);
	int la = lane_at(&m, a, 100, 0), lb = lane_at(&m, b, 100, 0);
	ck_assert_int_ge(la, 0);
	ck_assert_int_ge(lb, 0);
	ck_assert_int_ne(la, lb);
	viz_model_fini(&m);
}
END_TEST

/* The runtime's message ids are per process: msg 5 sent on host A is not
 * dispatched by host B's process of the same pid. */
START_TEST(t_hosts_ids_apart)
{
	struct viz_model m;
	struct hrec r;
	int a, b;

	two_hosts(&m, &r, &a, &b);
	/* msg_send(msg_id, port_id, src, dst, tid); msg_dispatch(msg_id,
	 * port_id, cpu, tid) */
	hev(&m, a, 100, VIZ_EV_msg_send, 10, 0, 5, 1, 0, 1, 7);
	hev(&m, b, 100, VIZ_EV_msg_dispatch, 20, 1, 5, 1, 1, 8, 0);
	ck_assert_uint_eq(m.c.unmatched, 1);
	hev(&m, a, 100, VIZ_EV_msg_dispatch, 30, 1, 5, 1, 1, 8, 0);
	ck_assert_uint_eq(m.c.unmatched, 1);	/* host A's own joins */
	ck_assert_int_ge(lane_at(&m, a, 100, 1), 0);
	ck_assert_int_ge(lane_at(&m, b, 100, 1), 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	viz_model_fini(&m);
}
END_TEST

/* An MPI message joins from rank 0 on host A to rank 1 on host B (same
 * pid on both): the flow ends on host B's lane. */
START_TEST(t_hosts_mpi_flow)
{
	struct viz_model m;
	struct hrec r;
	int a, b;

	two_hosts(&m, &r, &a, &b);
	/* mpi_send/recv(rank, peer, tag, bytes, seq) */
	hev(&m, a, 100, VIZ_EV_mpi_send, 10, 0, 0, 1, 1, 8, 3);
	hev(&m, b, 100, VIZ_EV_mpi_recv, 25, 0, 1, 0, 1, 8, 3);
	ck_assert_int_eq(r.flows[VIZ_FLOW_START], 1);
	ck_assert_int_eq(r.flows[VIZ_FLOW_END], 1);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(r.last.src, lane_at(&m, a, 100, 0));
	ck_assert_int_eq(r.last.dst, lane_at(&m, b, 100, 0));
	ck_assert_int_ne(r.last.src, r.last.dst);
	ck_assert_uint_eq(r.last.t[VIZ_ST_DISPATCH] - r.last.t[VIZ_ST_SEND], 15);
	/* The answer, another tag: a second pair, back. */
	hev(&m, b, 100, VIZ_EV_mpi_send, 30, 0, 1, 0, 1, 8, 3);
	hev(&m, a, 100, VIZ_EV_mpi_recv, 41, 0, 0, 1, 1, 8, 3);
	ck_assert_int_eq(r.done, 2);
	ck_assert_int_eq(r.last.src, lane_at(&m, b, 100, 0));
	ck_assert_int_eq(r.last.dst, lane_at(&m, a, 100, 0));
	ck_assert_uint_eq(m.c.unmatched, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_int_eq(r.done_open, 0);
	viz_model_fini(&m);
}
END_TEST

/* A loss on host B's PU 0 is drawn on host B's lanes of PU 0 only; one
 * that comes before any lane of its PU waits for that host's. */
START_TEST(t_hosts_losses)
{
	struct viz_model m;
	struct hrec r;
	int a, b;

	two_hosts(&m, &r, &a, &b);
	hev(&m, a, 100, VIZ_EV_mpi_send, 10, 0, 0, 1, 1, 8, 1);
	hev(&m, b, 200, VIZ_EV_mpi_recv, 20, 0, 1, 0, 1, 8, 1);
	ck_assert_int_eq(viz_model_lost_host(&m, b, 0, true, 1000000 + 21,
					     1000000 + 22, 3, false), 0);
	ck_assert_int_eq(r.gaps, 1);
	ck_assert_int_eq(r.gap_lane[0], lane_at(&m, b, 200, 0));
	/* PU 1 of host A has no lane yet: the gap waits for it, and host
	 * B's PU 1 does not take it. */
	ck_assert_int_eq(viz_model_lost_host(&m, a, 1, true, 1000000 + 23,
					     1000000 + 24, 2, false), 0);
	ck_assert_int_eq(r.gaps, 1);
	hev(&m, b, 200, VIZ_EV_mpi_send, 30, 1, 1, 0, 1, 8, 2);
	ck_assert_int_eq(r.gaps, 1);
	hev(&m, a, 100, VIZ_EV_mpi_recv, 40, 1, 0, 1, 1, 8, 2);
	ck_assert_int_eq(r.gaps, 2);
	ck_assert_int_eq(r.gap_lane[1], lane_at(&m, a, 100, 1));
	ck_assert_uint_eq(m.c.lost_events, 5);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	viz_model_fini(&m);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "hosts", 10);
	tcase_add_test(tc, t_hosts_lanes);
	tcase_add_test(tc, t_hosts_ids_apart);
	tcase_add_test(tc, t_hosts_mpi_flow);
	tcase_add_test(tc, t_hosts_losses);
}

LTEST_MAIN("viz_hosts", add)
