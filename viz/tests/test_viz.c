/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_viz.c - unit tests of the viz (every build, sanitizers included):
 * the JSON escaping, the streaming model's spans / flows / latencies /
 * gaps, and the plugin .so of this build loaded through libbabeltrace2
 * (its parameter errors).  The end-to-end checks on recorded traces are
 * in viz/tests/viz-check (make check, extra).
 */
#include <babeltrace2/babeltrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "ltest.h"
#include "model.h"
#include "pbw.h"

/* ---- escaping */

static char *
esc(const char *s, size_t n)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	viz_json_strn(f, s, n);
	fclose(f);
	return buf;
}

START_TEST(t_escape_markup)
{
	const char *in = "</script><b onclick=\"x\">&amp;";
	char *o = esc(in, strlen(in));

	ck_assert_ptr_null(strchr(o, '<'));
	ck_assert_ptr_null(strchr(o, '>'));
	ck_assert_ptr_null(strchr(o, '&'));
	ck_assert_str_eq(o, "\"\\u003c/script\\u003e\\u003cb onclick=\\\"x\\\"\\u003e"
			 "\\u0026amp;\"");
	free(o);
}
END_TEST

START_TEST(t_escape_control_utf8)
{
	/* tab, newline, NUL, bad UTF-8 byte, é, U+2028 */
	const char in[] = "a\tb\nc\0d\xff" "e\xc3\xa9\xe2\x80\xa8";
	char *o = esc(in, sizeof(in) - 1);

	ck_assert_str_eq(o, "\"a\\tb\\nc\\u0000d\\ufffde\xc3\xa9\\u2028\"");
	free(o);

	char buf[8];
	size_t need = viz_json_escape_buf(buf, sizeof(buf), "<<<<", 4);
	ck_assert_uint_eq(need, 24);
	ck_assert_uint_eq(strlen(buf), 7);	/* truncated, terminated */
}
END_TEST

START_TEST(t_us_format)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	viz_json_us(f, 1234567);
	fputc(' ', f);
	viz_json_us(f, 5);
	fputc(' ', f);
	viz_json_i64(f, -42);
	fclose(f);
	ck_assert_str_eq(buf, "1234.567 0.005 -42");
	free(buf);
}
END_TEST

/* ---- the model, with an output that records what it is told */

struct rec {
	struct viz_span span[128];
	int nspan;
	struct viz_overlay ov[32];
	int nov;
	int flows[3];
	struct viz_msg done[32];
	int ndone;
	int instants, gaps, lanes, names, benches;
	uint64_t gap_count;
	uint64_t last_end[16];	/* per lane: the ordering contract */
	int order_bad;
	/* span_open: the frames each lane has open, as the output saw them
	 * open (every span() must close the innermost one, with its t0). */
	uint64_t open_t0[16][VIZ_MAX_DEPTH];
	int open_sp[16];
	uint64_t last_open[16];
	int opens;
};

static void
order(struct rec *r, int lane, uint64_t t)
{
	if (t < r->last_end[lane])
		r->order_bad++;
	r->last_end[lane] = t;
}

static int
r_lane(void *o, int lane)
{
	(void)lane;
	((struct rec *)o)->lanes++;
	return 0;
}

static int
r_open(void *o, const struct viz_span *s)
{
	struct rec *r = o;

	ck_assert_int_lt(s->lane, 16);
	ck_assert_int_eq(s->depth, r->open_sp[s->lane]);
	ck_assert_int_lt(s->depth, VIZ_MAX_DEPTH);
	ck_assert_uint_eq(s->t0, s->t1);
	ck_assert_uint_ge(s->t0, r->last_open[s->lane]);	/* time order */
	r->last_open[s->lane] = s->t0;
	r->open_t0[s->lane][r->open_sp[s->lane]++] = s->t0;
	r->opens++;
	return 0;
}

static int
r_span(void *o, const struct viz_span *s)
{
	struct rec *r = o;

	ck_assert_int_lt(r->nspan, 128);
	ck_assert_uint_le(s->t0, s->t1);
	/* It closes the innermost span the output saw open, with its start. */
	ck_assert_int_eq(s->depth, r->open_sp[s->lane] - 1);
	ck_assert_uint_eq(s->t0, r->open_t0[s->lane][s->depth]);
	r->open_sp[s->lane]--;
	order(r, s->lane, s->t1);
	r->span[r->nspan++] = *s;
	return 0;
}

static int
r_overlay(void *o, const struct viz_overlay *v)
{
	struct rec *r = o;

	ck_assert_int_lt(r->nov, 32);
	ck_assert_uint_le(v->t0, v->t1);
	r->ov[r->nov++] = *v;
	return 0;
}

static int
r_flow(void *o, enum viz_flow_step st, const struct viz_msg *m, int lane,
       uint64_t ts)
{
	struct rec *r = o;

	(void)m;
	order(r, lane, ts);
	r->flows[st]++;
	return 0;
}

static int
r_done(void *o, const struct viz_msg *m)
{
	struct rec *r = o;

	ck_assert_int_lt(r->ndone, 32);
	r->done[r->ndone++] = *m;
	return 0;
}

static int
r_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	struct rec *r = o;

	(void)ev;
	order(r, lane, ts);
	r->instants++;
	return 0;
}

static int
r_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t n, bool pk)
{
	struct rec *r = o;

	(void)lane; (void)pk;
	ck_assert_uint_le(t0, t1);
	r->gaps++;
	r->gap_count += n;
	return 0;
}

static int
r_name(void *o, int id, uint64_t tid, const char *n, size_t len)
{
	(void)id; (void)tid; (void)n; (void)len;
	((struct rec *)o)->names++;
	return 0;
}

static int
r_bench(void *o, int b, uint64_t t0, uint64_t t1, uint64_t it)
{
	(void)b; (void)t0; (void)t1; (void)it;
	((struct rec *)o)->benches++;
	return 0;
}

static const struct viz_out_ops rops = {
	.lane_new = r_lane, .span_open = r_open, .span = r_span, .overlay = r_overlay,
	.flow = r_flow, .msg_done = r_done, .instant = r_instant,
	.gap = r_gap, .thread_name = r_name, .bench_run = r_bench,
};

static const char *ev_str = "<srv>";

static void
evp(struct viz_model *m, uint32_t vpid, enum viz_evk k, uint64_t ts, int pu,
    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
    uint64_t a5)
{
	struct viz_ev e = { .k = k, .ts = 1000000 + ts, .pu = pu, .vpid = vpid,
		.a = { a0, a1, a2, a3, a4, a5 }, .name = "x" };

	if (VIZ_EVDESC[k].f[0] && (k == VIZ_EV_thread_create ||
	    k == VIZ_EV_bench_begin || k == VIZ_EV_bench_end ||
	    k == VIZ_EV_record_info)) {
		e.str = ev_str;
		e.str_len = strlen(ev_str);
	}
	ck_assert_int_eq(viz_model_event(m, &e), 0);
}

#define ev(m, k, ts, pu, ...) evp(m, 0, k, ts, pu, __VA_ARGS__)

/* The lane of (vpid, cpu), -1 if none. */
static int
lane_of(const struct viz_model *m, uint32_t vpid, int cpu)
{
	for (int i = 0; i < m->nlanes; i++)
		if (viz_model_lane_vpid(m, i) == vpid && viz_model_lane_cpu(m, i) == cpu)
			return i;
	return -1;
}

static const struct viz_span *
find_span(const struct rec *r, int lane, enum viz_span_kind k, int nth)
{
	for (int i = 0; i < r->nspan; i++)
		if (r->span[i].lane == lane && r->span[i].kind == k && nth-- == 0)
			return &r->span[i];
	return NULL;
}

static const struct viz_lat *
find_lat(const struct viz_model *m, int bench, enum viz_lat_metric k)
{
	for (size_t i = 0; i < m->nlat; i++)
		if (m->lat[i].bench == bench && m->lat[i].metric == k)
			return &m->lat[i];
	return NULL;
}

/*
 * A synchronous message from cpu 0 (tid 5) to a thread on cpu 1 (tid 7):
 * send, the IPI that carries it, dispatch, reply, the reply's IPI back,
 * the sender's wait ending.  Every step joins, the IPIs are linked to the
 * message, the wait is an overlay, the stages add up.
 */
START_TEST(t_model_roundtrip)
{
	struct viz_model m;
	struct rec r = { 0 };
	const struct viz_span *s;

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_thread_create, 0, 1, 1, 7, 0, 0, 0, 0);
	ev(&m, VIZ_EV_thread_switch, 10, 0, 0, 0, 5, 0, 0, 0);
	ev(&m, VIZ_EV_idle_enter, 10, 1, 1, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_idle_sleep, 15, 1, 1, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_msg_send, 20, 0, 42, 3, 0, 1, 5, 0);
	ev(&m, VIZ_EV_ipi_send, 21, 0, 0, 1, 9, 0xabc, 0, 0);
	ev(&m, VIZ_EV_msg_wait_begin, 22, 0, 42, 0, 5, 0, 0, 0);
	ev(&m, VIZ_EV_idle_exit, 30, 1, 1, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_thread_switch, 31, 1, 1, 0, 7, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 32, 1, 0, 1, 9, 0xabc, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 33, 1, 1, 7, 0, 0, 0, 0);
	ev(&m, VIZ_EV_msg_dispatch, 34, 1, 42, 3, 1, 7, 0, 0);
	ev(&m, VIZ_EV_crit_exit, 36, 1, 1, 7, 0, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_done, 37, 1, 0, 1, 9, 0, 0, 0);
	ev(&m, VIZ_EV_msg_reply, 40, 1, 42, 1, 1, 0, 7, 0);
	ev(&m, VIZ_EV_ipi_send, 41, 1, 1, 0, 4, 0xdef, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 45, 0, 1, 0, 4, 0xdef, 0, 0);
	ev(&m, VIZ_EV_ipi_done, 46, 0, 1, 0, 4, 0, 0, 0);
	ev(&m, VIZ_EV_msg_wait_end, 48, 0, 42, 0, 5, 0, 0, 0);
	ev(&m, VIZ_EV_token_acquire, 50, 1, 0x1000, 1, 7, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);

	int l0 = lane_of(&m, 0, 0), l1 = lane_of(&m, 0, 1);
	ck_assert_int_eq(r.lanes, 2);
	ck_assert_int_eq(r.order_bad, 0);
	ck_assert_int_eq(r.names, 1);
	/* cpu 1: idle 10..15, sleep 15..30, thread 7 from 31 (cut at end,
	 * named); IPI 32..37 with the critical section 33..36 inside it. */
	s = find_span(&r, l1, VIZ_SPAN_IDLE, 0);
	ck_assert_uint_eq(s->t0, 10);
	ck_assert_uint_eq(s->t1, 15);
	ck_assert_uint_eq(find_span(&r, l1, VIZ_SPAN_SLEEP, 0)->t1, 30);
	s = find_span(&r, l1, VIZ_SPAN_IPI, 0);
	ck_assert_uint_eq(s->t0, 32);
	ck_assert_uint_eq(s->t1, 37);
	ck_assert_int_eq(s->depth, 1);
	s = find_span(&r, l1, VIZ_SPAN_CRIT, 0);
	ck_assert_uint_eq(s->t0, 33);
	ck_assert_uint_eq(s->t1, 36);
	ck_assert_int_eq(s->depth, 2);
	s = find_span(&r, l1, VIZ_SPAN_THREAD, 0);
	ck_assert_uint_eq(s->label, 7);
	ck_assert_int_ge(s->name_id, 0);
	ck_assert_uint_eq(s->flags & VIZ_SPAN_CUT, VIZ_SPAN_CUT);
	/* Two IPIs and the message, linked. */
	ck_assert_int_eq(r.ndone, 3);
	ck_assert_int_eq(r.done[0].cat, VIZ_MSG_IPI);
	ck_assert_int_eq(r.done[0].carries, 42);
	ck_assert_int_eq(r.done[0].role, 1);
	ck_assert_int_eq(r.done[1].role, 2);
	const struct viz_msg *g = &r.done[2];
	ck_assert_int_eq(g->cat, VIZ_MSG);
	ck_assert_uint_eq(g->id, 42);
	ck_assert(!g->open);
	ck_assert(g->waited);
	static const uint64_t want[VIZ_ST__COUNT] = { 20, 21, 32, 34, 40, 41, 45, 48 };
	for (int i = 0; i < VIZ_ST__COUNT; i++)
		ck_assert_uint_eq(g->t[i], want[i]);
	ck_assert_int_eq(g->lane[VIZ_ST_RESUME], l0);
	/* The wait is a span of its own (an overlay), 22..48; the token
	 * acquired at 50 is held to the end (cut). */
	ck_assert_int_eq(r.nov, 2);
	ck_assert_int_eq(r.ov[1].kind, VIZ_OV_TOKEN_HELD);
	ck_assert_uint_eq(r.ov[1].flags, VIZ_SPAN_CUT);
	ck_assert_int_eq(r.ov[0].kind, VIZ_OV_WAIT_REPLY);
	ck_assert_uint_eq(r.ov[0].t0, 22);
	ck_assert_uint_eq(r.ov[0].t1, 48);
	/* Flows, one per hop: send->dispatch, dispatch->reply, reply->
	 * resume, and the two IPIs. */
	ck_assert_int_eq(r.flows[VIZ_FLOW_START], 5);
	ck_assert_int_eq(r.flows[VIZ_FLOW_END], 5);
	/* Stages (no cost measured: traced only) add up to the total. */
	uint64_t sum = 0;
	for (int k = VIZ_LAT_ST_REQ_RING; k <= VIZ_LAT_ST_RESUME; k++) {
		const struct viz_lat *l = find_lat(&m, 0, k);
		ck_assert_ptr_nonnull(l);
		ck_assert_ptr_null(l->vc);
		sum += l->v[0];
	}
	ck_assert_uint_eq(sum, 28);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_MSG_TOTAL)->v[0], 28);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_ST_REQ_NOTICE)->v[0], 11);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_SEND_DISPATCH)->v[0], 14);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_SEND_REPLY)->v[0], 20);
	viz_model_fini(&m);
}
END_TEST

START_TEST(t_model_gap_and_unmatched)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_thread_switch, 0, 0, 0, 0, 3, 0, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 5, 0, 0, 3, 0, 0, 0, 0);
	/* The crit_exit is lost: the gap cuts what is open. */
	ck_assert_int_eq(viz_model_lost(&m, 0, true, 1000000 + 6, 1000000 + 50,
					17, false), 0);
	ck_assert_int_eq(r.gaps, 1);
	ck_assert_uint_eq(r.gap_count, 17);
	ck_assert_uint_eq(m.c.lost_events, 17);
	ck_assert_int_eq(r.nspan, 2);
	ck_assert_uint_eq(r.span[0].kind, VIZ_SPAN_CRIT);
	ck_assert_uint_eq(r.span[0].t1, 6);
	ck_assert_uint_eq(r.span[0].flags, VIZ_SPAN_CUT);
	/* After the gap: a send without its thread known opens the thread
	 * named by the event; a dispatch of an unknown message is counted. */
	ev(&m, VIZ_EV_msg_send, 60, 0, 1, 1, 0, 1, 3, 0);
	ev(&m, VIZ_EV_msg_dispatch, 61, 1, 99, 1, 1, 4, 0, 0);
	ck_assert_uint_eq(m.c.unmatched, 1);
	/* Two crit_enter in a row: the first lost its exit. */
	ev(&m, VIZ_EV_crit_enter, 62, 1, 1, 4, 0, 0, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 64, 1, 1, 4, 0, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	int l0 = lane_of(&m, 0, 0), l1 = lane_of(&m, 0, 1);
	ck_assert_uint_eq(find_span(&r, l0, VIZ_SPAN_THREAD, 1)->t0, 60);
	ck_assert_ptr_nonnull(find_span(&r, l1, VIZ_SPAN_CRIT, 1));
	/* The message still open at the end: reported, no end invented. */
	ck_assert_int_eq(r.flows[VIZ_FLOW_START], 1);
	ck_assert_int_eq(r.flows[VIZ_FLOW_END], 0);
	ck_assert_uint_eq(m.c.msgs_open, 1);
	ck_assert_int_eq(r.ndone, 1);
	ck_assert(r.done[0].open);
	ck_assert_uint_eq(r.done[0].t[VIZ_ST_DISPATCH], VIZ_NONE);
	ck_assert_int_eq(r.order_bad, 0);
	viz_model_fini(&m);
}
END_TEST

/*
 * Two PUs' buffers feed one lane (its host thread moved), and both lose
 * events.  babeltrace2 bounds a loss by the end of the packet that
 * counted it, so the first gap's end (50) lies ahead of the stream; the
 * second loss starts at 30.  The lane is cut at 30, where the muxer
 * delivers the loss, not at 50 where its overlay starts: events at 40 and
 * 45 still come after it.
 */
START_TEST(t_model_gaps_two_pus_one_lane)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_thread_switch, 0, 0, 0, 0, 3, 0, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 5, 1, 0, 3, 0, 0, 0, 0);
	ck_assert_int_eq(viz_model_lost(&m, 1, true, 1000000 + 6, 1000000 + 50,
					4, false), 0);
	ev(&m, VIZ_EV_thread_switch, 20, 0, 0, 0, 3, 0, 0, 0);
	ck_assert_int_eq(viz_model_lost(&m, 0, true, 1000000 + 30, 1000000 + 80,
					5, false), 0);
	ev(&m, VIZ_EV_crit_enter, 40, 1, 0, 3, 0, 0, 0, 0);
	ev(&m, VIZ_EV_crit_exit, 45, 1, 0, 3, 0, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	int l0 = lane_of(&m, 0, 0);
	ck_assert_int_eq(r.gaps, 2);
	ck_assert_uint_eq(r.gap_count, 9);
	const struct viz_span *s = find_span(&r, l0, VIZ_SPAN_THREAD, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->t0, 20);
	ck_assert_uint_eq(s->t1, 30);
	ck_assert_uint_eq(s->flags, VIZ_SPAN_CUT);
	ck_assert_int_eq(r.order_bad, 0);
	viz_model_fini(&m);
}
END_TEST

/* A critical section belongs to its thread: a switch away and back does
 * not cut it; it is drawn as a suspended piece and a resumed one. */
START_TEST(t_model_crit_across_switch)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_thread_switch, 0, 0, 0, 0, 3, 0, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 5, 0, 0, 3, 0, 0, 0, 0);
	ev(&m, VIZ_EV_thread_switch, 10, 0, 0, 3, 4, 0, 0, 0);
	ev(&m, VIZ_EV_thread_switch, 20, 0, 0, 4, 3, 0, 0, 0);
	ev(&m, VIZ_EV_crit_exit, 25, 0, 0, 3, 0, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	const struct viz_span *a = find_span(&r, 0, VIZ_SPAN_CRIT, 0);
	const struct viz_span *b = find_span(&r, 0, VIZ_SPAN_CRIT, 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->t0, 5);
	ck_assert_uint_eq(a->t1, 10);
	ck_assert_uint_eq(a->flags, VIZ_SPAN_SUSPENDED);
	ck_assert_uint_eq(b->t0, 20);
	ck_assert_uint_eq(b->t1, 25);
	ck_assert_uint_eq(b->flags, VIZ_SPAN_RESUMED);
	ck_assert_uint_eq(b->label, 3);
	ck_assert_uint_eq(m.c.unmatched, 0);
	ck_assert_int_eq(r.order_bad, 0);
	viz_model_fini(&m);
}
END_TEST

/* Two processes in one trace: own lanes, own ids, own thread names. */
START_TEST(t_model_processes)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	evp(&m, 100, VIZ_EV_thread_create, 0, 0, 0, 1, 0, 0, 0, 0);
	evp(&m, 200, VIZ_EV_thread_create, 1, 0, 0, 1, 0, 0, 0, 0);
	evp(&m, 100, VIZ_EV_msg_send, 2, 0, 7, 1, 0, 1, 1, 0);
	evp(&m, 200, VIZ_EV_msg_send, 3, 0, 7, 1, 0, 1, 1, 0);
	evp(&m, 200, VIZ_EV_msg_dispatch, 4, 1, 7, 1, 1, 2, 0, 0);
	evp(&m, 100, VIZ_EV_msg_dispatch, 9, 1, 7, 1, 1, 2, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_int_eq(r.lanes, 4);
	ck_assert_int_ne(lane_of(&m, 100, 0), lane_of(&m, 200, 0));
	ck_assert_int_eq(r.names, 2);
	ck_assert_uint_eq(m.c.ids_reused, 0);
	ck_assert_int_eq(r.ndone, 2);	/* both open: no reply */
	for (int i = 0; i < 2; i++) {
		uint32_t v = viz_model_lane_vpid(&m, r.done[i].src);
		ck_assert_uint_eq(r.done[i].t[VIZ_ST_DISPATCH] - r.done[i].t[VIZ_ST_SEND],
				  v == 100 ? 7 : 1);
	}
	viz_model_fini(&m);
}
END_TEST

/* An IPI whose receive is traced before its send (the send is traced
 * after the ring write): joined, latency 0, counted; a new runtime
 * instance reuses ids without overwriting; an id reused while open
 * reports the old one unfinished. */
START_TEST(t_model_ipi_joins)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_runtime_init, 0, 0, 2, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 10, 1, 0, 1, 0, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_send, 11, 0, 0, 1, 0, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_done, 12, 1, 0, 1, 0, 0, 0, 0);
	ck_assert_uint_eq(m.c.recv_before_send, 1);
	ck_assert_uint_eq(m.c.ipis_done, 1);
	ck_assert_uint_eq(m.c.unmatched, 0);
	const struct viz_lat *l = find_lat(&m, 0, VIZ_LAT_IPI);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_uint_eq(l->v[0], 0);
	/* Open at the runtime's end; the next runtime sends id 1 again. */
	ev(&m, VIZ_EV_ipi_send, 20, 0, 0, 1, 1, 0xa, 0, 0);
	ev(&m, VIZ_EV_runtime_init, 30, 0, 2, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_send, 31, 0, 0, 1, 1, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 35, 1, 0, 1, 1, 0xa, 0, 0);
	ck_assert_uint_eq(m.c.ids_reused, 0);
	l = find_lat(&m, 0, VIZ_LAT_IPI);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_uint_eq(l->v[1], 4);
	/* Same instance, same id twice while open. */
	ev(&m, VIZ_EV_ipi_send, 40, 0, 0, 1, 2, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_send, 41, 0, 0, 1, 2, 0xa, 0, 0);
	ck_assert_uint_eq(m.c.ids_reused, 1);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.ipis_open, 3);	/* 1 of run 1, 2 twice */
	viz_model_fini(&m);
}
END_TEST

/* Latencies per benchmark: the bench harness's boundaries split them. */
START_TEST(t_model_bench)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev_str = "roundtrip/a";
	ev(&m, VIZ_EV_bench_begin, 0, 0, 0, 1, 0, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_send, 1, 0, 0, 1, 0, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 3, 1, 0, 1, 0, 0xa, 0, 0);
	ev(&m, VIZ_EV_bench_end, 5, 0, 0, 1, 10, 0, 0, 0);
	ev_str = "roundtrip/b";
	ev(&m, VIZ_EV_bench_begin, 6, 0, 0, 2, 0, 0, 0, 0);
	ev(&m, VIZ_EV_ipi_send, 7, 0, 0, 1, 1, 0xa, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 17, 1, 0, 1, 1, 0xa, 0, 0);
	ev(&m, VIZ_EV_bench_end, 20, 0, 0, 2, 20, 0, 0, 0);
	ev_str = "<srv>";
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_int_eq(m.nbench, 3);
	ck_assert_str_eq(m.bench[2].name, "roundtrip/b");
	ck_assert_uint_eq(m.bench[2].iterations, 20);
	ck_assert_int_eq(r.benches, 2);
	ck_assert_uint_eq(find_lat(&m, 1, VIZ_LAT_IPI)->v[0], 2);
	ck_assert_uint_eq(find_lat(&m, 2, VIZ_LAT_IPI)->v[0], 10);
	ck_assert_ptr_null(find_lat(&m, 0, VIZ_LAT_IPI));
	viz_model_fini(&m);
}
END_TEST

/* Tokens: the request -> acquire wait and the hold are overlays, the
 * transfer an arrow to the acquire, the stages request -> transfer ->
 * acquire.  With a measured event cost, the stages also get the estimate
 * without tracing: traced - events x cost. */
START_TEST(t_model_tokens_calibrated)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_record_info, 0, 0, 0, 2000, 100, 0, 0, 0);	/* 2 ns */
	ck_assert_uint_eq(m.event_cost_ps, 2000);
	ev(&m, VIZ_EV_thread_switch, 0, 1, 1, 0, 7, 0, 0, 0);
	ev(&m, VIZ_EV_token_request, 10, 1, 0x1000, 1, 7, 0, 0, 0);
	ev(&m, VIZ_EV_token_transfer, 20, 0, 0x1000, 0, 1, 0, 0, 0);
	ev(&m, VIZ_EV_crit_enter, 25, 1, 1, 7, 0, 0, 0, 0);
	ev(&m, VIZ_EV_token_acquire, 40, 1, 0x1000, 1, 7, 0, 0, 0);
	ev(&m, VIZ_EV_crit_exit, 45, 1, 1, 7, 0, 0, 0, 0);
	ev(&m, VIZ_EV_token_release, 50, 1, 0x1000, 1, 7, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.transfers, 1);
	ck_assert_int_eq(r.nov, 2);
	ck_assert_int_eq(r.ov[0].kind, VIZ_OV_TOKEN_WAIT);
	ck_assert_uint_eq(r.ov[0].t0, 10);
	ck_assert_uint_eq(r.ov[0].t1, 40);
	ck_assert_int_eq(r.ov[1].kind, VIZ_OV_TOKEN_HELD);
	ck_assert_uint_eq(r.ov[1].t1, 50);
	const struct viz_lat *tot = find_lat(&m, 0, VIZ_LAT_TOK_TOTAL);
	ck_assert_uint_eq(tot->v[0], 30);
	/* cpu 1 recorded crit_enter and the acquire since the request: 2
	 * events of 2 ns. */
	ck_assert_ptr_nonnull(tot->vc);
	ck_assert_uint_eq(tot->vc[0], 26);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_TOK_TRANSFER)->v[0], 10);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_TOK_ACQUIRE)->v[0], 20);
	viz_model_fini(&m);
}
END_TEST

/* The calibration tests finish more messages than struct rec keeps. */
static int
r_done_drop(void *o, const struct viz_msg *m)
{
	(void)o; (void)m;
	return 0;
}

static int
r_ov_drop(void *o, const struct viz_overlay *ov)
{
	(void)o; (void)ov;
	return 0;
}

static int
r_span_drop(void *o, const struct viz_span *sp)
{
	(void)o; (void)sp;
	return 0;
}

/* One round trip cpu 0 -> cpu 1 -> cpu 0 at t: the send -> ring write
 * stage holds one event and lasts `ring` ns (< 110), the reply's 80 ns. */
static void
calib_roundtrip(struct viz_model *m, uint64_t t, uint64_t id, uint64_t ring)
{
	ev(m, VIZ_EV_msg_send, t, 0, id, 3, 0, 1, 5, 0);
	ev(m, VIZ_EV_ipi_send, t + ring, 0, 0, 1, id, 0xabc, 0, 0);
	ev(m, VIZ_EV_msg_wait_begin, t + 110, 0, id, 0, 5, 0, 0, 0);
	ev(m, VIZ_EV_ipi_recv, t + 200, 1, 0, 1, id, 0xabc, 0, 0);
	ev(m, VIZ_EV_msg_dispatch, t + 300, 1, id, 3, 1, 7, 0, 0);
	ev(m, VIZ_EV_ipi_done, t + 350, 1, 0, 1, id, 0, 0, 0);
	ev(m, VIZ_EV_msg_reply, t + 400, 1, id, 1, 1, 0, 7, 0);
	ev(m, VIZ_EV_ipi_send, t + 480, 1, 1, 0, id, 0xdef, 0, 0);
	ev(m, VIZ_EV_ipi_recv, t + 600, 0, 1, 0, id, 0xdef, 0, 0);
	ev(m, VIZ_EV_ipi_done, t + 620, 0, 1, 0, id, 0, 0, 0);
	ev(m, VIZ_EV_msg_wait_end, t + 700, 0, id, 0, 5, 0, 0, 0);
}

/* The estimate subtracts the lower of the recorded per-event cost and
 * the trace's one-event stages' median (each bounds the cost from above;
 * calib_over says the measurement was the higher).  A measured 500 ns is
 * above the 80 ns of "-> reply ring write": 80 ns is subtracted. */
START_TEST(t_model_calib_bound)
{
	static const uint64_t cost[2] = { 500000, 30000 };

	struct viz_out_ops ops = rops;

	ops.msg_done = r_done_drop;
	ops.overlay = r_ov_drop;
	for (int c = 0; c < 2; c++) {
		struct viz_model m;
		struct rec r = { 0 };

		ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
		ev(&m, VIZ_EV_record_info, 0, 0, 0, cost[c], 22000, 0, 0, 0);
		ev(&m, VIZ_EV_thread_switch, 1, 0, 0, 0, 5, 0, 0, 0);
		ev(&m, VIZ_EV_thread_switch, 1, 1, 1, 0, 7, 0, 0, 0);
		for (uint64_t i = 0; i < VIZ_CALIB_CHECK_MIN_N; i++)
			calib_roundtrip(&m, 1000 + i * 1000, i + 1, 100);
		ck_assert_int_eq(viz_model_finish(&m), 0);
		ck_assert_uint_eq(m.c.msgs_done, VIZ_CALIB_CHECK_MIN_N);
		ck_assert_uint_eq(m.calib_bound_ps, 80000);
		ck_assert_int_eq(m.calib_over, c == 0);
		ck_assert_uint_eq(m.cost_used_ps, c == 0 ? 80000 : 30000);
		const struct viz_lat *ring = find_lat(&m, 0, VIZ_LAT_ST_REQ_RING);
		const struct viz_lat *rep = find_lat(&m, 0, VIZ_LAT_ST_REP_RING);
		ck_assert_ptr_nonnull(ring->vc);
		ck_assert_uint_eq(ring->v[0], 100);
		ck_assert_uint_eq(ring->vc[0], c == 0 ? 20 : 70);
		ck_assert_uint_eq(rep->vc[0], c == 0 ? 0 : 50);
		/* The estimate never exceeds the traced time. */
		const struct viz_lat *tot = find_lat(&m, 0, VIZ_LAT_MSG_TOTAL);
		ck_assert_uint_eq(tot->v[0], 700);
		ck_assert_uint_lt(tot->vc[0], 700);
		viz_model_fini(&m);
	}

	/* The bound is the nearest-rank median: 21 ring writes of 30..90 ns
	 * in a shuffled order (step 3, i * 8 mod 21), the 11th is 60 ns,
	 * below the reply's 80. */
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	ev(&m, VIZ_EV_record_info, 0, 0, 0, 500000, 22000, 0, 0, 0);
	for (uint64_t i = 0; i < 21; i++)
		calib_roundtrip(&m, 1000 + i * 1000, i + 1, 30 + (i * 8 % 21) * 3);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.calib_bound_ps, 60000);
	ck_assert_uint_eq(m.cost_used_ps, 60000);
	/* The selection works on a copy: v keeps its order. */
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_ST_REQ_RING)->v[1], 30 + 8 * 3);
	viz_model_fini(&m);
}
END_TEST

/* Bad or late calibration data: an implausible recorded cost is kept for
 * the message and never subtracted; no cost, no estimate; a cost that
 * comes after a metric's first samples gives that metric no estimate
 * (never one from uninitialised counts). */
START_TEST(t_model_calib_bad)
{
	struct viz_model m;
	struct rec r = { 0 };
	struct viz_out_ops ops = rops;

	ops.msg_done = r_done_drop;
	ops.overlay = r_ov_drop;

	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	ev(&m, VIZ_EV_record_info, 0, 0, 0, 20000000000ull, 22000, 0, 0, 0);
	ck_assert_ptr_nonnull(m.command);
	ck_assert_uint_eq(m.event_cost_ps, 0);
	ck_assert_uint_eq(m.calib_bad_ps, 20000000000ull);
	for (uint64_t i = 0; i < VIZ_CALIB_CHECK_MIN_N; i++)
		calib_roundtrip(&m, 1000 + i * 1000, i + 1, 100);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_ptr_null(find_lat(&m, 0, VIZ_LAT_MSG_TOTAL)->vc);
	ck_assert_uint_eq(m.cost_used_ps, 0);
	ck_assert_int_eq(m.calib_over, 0);
	viz_model_fini(&m);

	/* Without record_info: traced times only. */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	calib_roundtrip(&m, 1000, 1, 100);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_ptr_null(m.command);
	ck_assert_ptr_null(find_lat(&m, 0, VIZ_LAT_MSG_TOTAL)->vc);
	viz_model_fini(&m);

	/* Late: the first message's metrics have no estimate, also once
	 * their sample arrays grow (past 64 samples). */
	ops.span_open = NULL;
	ops.span = r_span_drop;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	calib_roundtrip(&m, 1000, 1, 100);
	ev(&m, VIZ_EV_record_info, 1800, 0, 0, 100000, 22000, 0, 0, 0);
	for (uint64_t i = 1; i < 70; i++)
		calib_roundtrip(&m, 2000 + i * 1000, i + 1, 100);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.event_cost_ps, 100000);
	ck_assert_uint_eq(find_lat(&m, 0, VIZ_LAT_MSG_TOTAL)->n, 70);
	ck_assert_ptr_null(find_lat(&m, 0, VIZ_LAT_MSG_TOTAL)->vc);
	viz_model_fini(&m);
}
END_TEST

START_TEST(t_percentiles)
{
	uint64_t v[100];
	struct viz_lat l = { 0, VIZ_LAT_SEND_REPLY, 0, 1, 100, 100, v, NULL };
	struct viz_lat_stats st;

	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(100 - i) * 10;	/* 1000 .. 10, unsorted */
	viz_lat_stats(&l, &st);
	ck_assert_uint_eq(st.min, 10);
	ck_assert_uint_eq(st.p50, 500);
	ck_assert_uint_eq(st.p90, 900);
	ck_assert_uint_eq(st.p99, 990);
	ck_assert_uint_eq(st.max, 1000);
}
END_TEST

START_TEST(t_evk_names)
{
	ck_assert_int_eq(viz_evk_from_name("msg_reply"), VIZ_EV_msg_reply);
	ck_assert_int_eq(viz_evk_from_name("token_release"), VIZ_EV_token_release);
	ck_assert_int_eq(viz_evk_from_name("mutexq_lock"), VIZ_EV_GENERIC);
	ck_assert_int_eq(viz_evk_from_name(""), VIZ_EV_GENERIC);
}
END_TEST

/* The descriptors come from trace/lwkt_events.def: the own-cpu and tid
 * indexes by field name, the string field by type. */
START_TEST(t_schema_table)
{
	const struct viz_evdesc *d = viz_evdesc_get();

	ck_assert_str_eq(d[VIZ_EV_ipi_recv].name, "ipi_recv");
	ck_assert_str_eq(d[VIZ_EV_ipi_recv].f[d[VIZ_EV_ipi_recv].own], "dst");
	ck_assert_int_eq(d[VIZ_EV_msg_send].own, 2);
	ck_assert_int_eq(d[VIZ_EV_msg_send].tid, 4);
	ck_assert_int_eq(d[VIZ_EV_thread_create].tid, -1);
	ck_assert_int_eq(d[VIZ_EV_thread_create].t[2], VIZ_FT_STR);
	ck_assert_int_eq(d[VIZ_EV_mutexq_enqueue].own, -1);
	ck_assert_int_eq(d[VIZ_EV_netisr_dispatch_begin].own, 1);
	ck_assert_int_eq(d[VIZ_EV_netisr_dispatch_end].own, -1);
	ck_assert_int_eq(d[VIZ_EV_sysmsg_end].t[2], VIZ_FT_I64);
	ck_assert_ptr_null(d[VIZ_EV_sysmsg_end].f[4]);
	ck_assert_int_eq(viz_evk_from_name("netisr_rollup"), VIZ_EV_netisr_rollup);
}
END_TEST

/* A protocol thread's dispatch is a section on its cpu, closed by an end
 * that names no cpu; a served syscall is one on the recording PU's lane. */
START_TEST(t_model_netisr_sysmsg)
{
	struct viz_model m;
	struct rec r = { 0 };
	const struct viz_span *s;

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	ev(&m, VIZ_EV_thread_switch, 0, 1, 1, 0, 4, 0, 0, 0);
	ev(&m, VIZ_EV_thread_switch, 0, 0, 0, 0, 3, 0, 0, 0);
	ev(&m, VIZ_EV_netisr_dispatch_begin, 10, 1, 0xbeef, 1, 0, 0, 0, 0);
	ev(&m, VIZ_EV_sysmsg_begin, 12, 0, 0xf00d, 39, 0, 0, 0, 0);
	/* recorded on PU 0 (lane 0) but it closes cpu 1's section */
	ev(&m, VIZ_EV_netisr_dispatch_end, 15, 0, 0xbeef, 0, 0, 0, 0, 0);
	ev(&m, VIZ_EV_sysmsg_end, 20, 0, 0xf00d, 39, 7, 0, 0, 0);
	ev(&m, VIZ_EV_netisr_dispatch_end, 21, 1, 0x1234, 0, 0, 0, 0, 0);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	s = find_span(&r, lane_of(&m, 0, 1), VIZ_SPAN_NETISR, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->t0, 10);
	ck_assert_uint_eq(s->t1, 15);
	ck_assert_uint_eq(s->label, 0);		/* not mpsafe */
	ck_assert_uint_eq(s->flags & VIZ_SPAN_CUT, 0);
	s = find_span(&r, lane_of(&m, 0, 0), VIZ_SPAN_SYSMSG, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->t0, 12);
	ck_assert_uint_eq(s->t1, 20);
	ck_assert_uint_eq(s->label, 39);
	ck_assert_uint_eq(m.c.unmatched, 1);	/* the end without begin */
	ck_assert_int_eq(r.order_bad, 0);
	viz_model_fini(&m);
}
END_TEST

/* Replies batched into one IPI (the ring is read in batches): only the
 * last is carried by it; the others are over when superseded, so nothing
 * stays in flight (memory bounded on long traces). */
START_TEST(t_model_replies_one_ipi)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	for (uint64_t i = 1; i <= 3; i++)	/* cpu 0 -> port on cpu 1 */
		ev(&m, VIZ_EV_msg_send, i, 0, i, 7, 0, 1, 5, 0);
	for (uint64_t i = 1; i <= 3; i++) {
		ev(&m, VIZ_EV_msg_dispatch, 10 + 2 * i, 1, i, 7, 1, 9, 0, 0);
		ev(&m, VIZ_EV_msg_reply, 11 + 2 * i, 1, i, 3, 1, 0, 9, 0);
	}
	ck_assert_uint_eq(m.c.msgs_done, 2);	/* 1 and 2: superseded */
	ev(&m, VIZ_EV_ipi_send, 20, 1, 1, 0, 1, 0xf0, 0, 0);
	ev(&m, VIZ_EV_ipi_recv, 25, 0, 1, 0, 1, 0xf0, 0, 0);
	ev(&m, VIZ_EV_ipi_done, 26, 0, 1, 0, 1, 0, 0, 0);
	ck_assert_uint_eq(m.c.msgs_done, 3);	/* 3: its IPI landed */
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.msgs_open, 0);
	ck_assert_uint_eq(m.c.unmatched, 0);
	/* Message 3's reply hop ends where the IPI landed: 3 hops end in
	 * all for dispatches, 3 for replies, 1 for the way back, 1 IPI. */
	ck_assert_int_eq(r.flows[VIZ_FLOW_END], 3 + 3 + 1 + 1);
	viz_model_fini(&m);
}
END_TEST

static int
r_span_none(void *o, const struct viz_span *s)
{
	(void)o;
	(void)s;
	return 0;
}

static int n_open_done;
static int
r_done_count(void *o, const struct viz_msg *m)
{
	(void)o;
	n_open_done += m->open;
	return 0;
}

/* IPIs whose receive is not in the trace (their target's stream was lost)
 * are reported unfinished once the ring's window has passed them, not
 * kept to the end: memory stays bounded. */
START_TEST(t_model_ipi_window)
{
	struct viz_model m;
	struct rec r = { 0 };
	struct viz_out_ops ops = rops;
	const uint64_t n = (1u << 13) + 1000;

	ops.msg_done = r_done_count;
	ops.span = r_span_none;
	ops.span_open = r_span_none;
	n_open_done = 0;
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	for (uint64_t i = 0; i < n; i++)
		ev(&m, VIZ_EV_ipi_send, i, 0, 0, 1, i, 0xf0, 0, 0);
	ck_assert_int_eq(n_open_done, 1000);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.ipis_open, n);	/* every one reported, once */
	ck_assert_int_eq(n_open_done, (int)n);
	viz_model_fini(&m);

	/* The other way: receives whose sends were lost (1 -> 0). */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	for (uint64_t i = 0; i < n; i++) {
		ev(&m, VIZ_EV_ipi_recv, 2 * i, 0, 1, 0, i, 0xf0, 0, 0);
		ev(&m, VIZ_EV_ipi_done, 2 * i + 1, 0, 1, 0, i, 0, 0, 0);
	}
	ck_assert_uint_eq(m.c.unmatched, 1000);	/* past the window */
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.unmatched, n);
	viz_model_fini(&m);

	/* Ids that start again without a runtime_init in the trace: the
	 * old sequence is over (at most a window of it was open). */
	memset(&r, 0, sizeof(r));
	n_open_done = 0;
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	for (uint64_t i = 0; i < n; i++)
		ev(&m, VIZ_EV_ipi_send, i, 0, 0, 1, i, 0xf0, 0, 0);
	ck_assert_int_eq(n_open_done, 1000);
	ev(&m, VIZ_EV_ipi_send, n, 0, 0, 1, 0, 0xf0, 0, 0);
	ck_assert_int_eq(n_open_done, (int)n);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_int_eq(n_open_done, (int)n + 1);
	viz_model_fini(&m);

	/* A new runtime instance: the old one's open IPIs are over. */
	memset(&r, 0, sizeof(r));
	n_open_done = 0;
	ck_assert_int_eq(viz_model_init(&m, &ops, &r), 0);
	for (uint64_t i = 0; i < 10; i++)
		ev(&m, VIZ_EV_ipi_send, i, 0, 0, 1, i, 0xf0, 0, 0);
	ev(&m, VIZ_EV_runtime_init, 20, 0, 2, 0, 0, 0, 0, 0);
	ck_assert_int_eq(n_open_done, 10);
	ck_assert_uint_eq(m.c.ipis_open, 10);
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.ipis_open, 10);	/* not reported twice */
	viz_model_fini(&m);
}
END_TEST

/* ---- the protobuf wire writer (vectors: protobuf.dev, "Encoding") */

static void
bytes_eq(const struct pbw *b, const uint8_t *want, size_t n)
{
	ck_assert_uint_eq(b->n, n);
	ck_assert_int_eq(memcmp(b->p, want, n), 0);
	ck_assert(!b->oom);
}

START_TEST(t_pbw_wire)
{
	struct pbw b = { 0 };
	static const uint8_t v300[] = { 0xac, 0x02 };
	static const uint8_t vmax[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x01 };
	/* field 1 varint 150: the specification's first example */
	static const uint8_t f150[] = { 0x08, 0x96, 0x01 };
	/* int64 -2 in field 4: two's complement, 10 bytes */
	static const uint8_t fneg[] = { 0x20, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0x01 };
	/* fixed64 in field 47: tag 47<<3|1 = 377 = f9 02, little-endian */
	static const uint8_t ffix[] = { 0xf9, 0x02, 0x08, 0x07, 0x06, 0x05, 0x04,
		0x03, 0x02, 0x01 };
	/* a message {1: "testing"} nested as field 3: 1a 09 0a 07 ... */
	static const uint8_t fmsg[] = { 0x1a, 0x09, 0x0a, 0x07, 't', 'e', 's', 't',
		'i', 'n', 'g' };

	pbw_varint(&b, 300);
	bytes_eq(&b, v300, sizeof(v300));
	pbw_reset(&b);
	pbw_varint(&b, UINT64_MAX);
	bytes_eq(&b, vmax, sizeof(vmax));
	ck_assert_uint_eq(pbw_varint_len(UINT64_MAX), 10);
	ck_assert_uint_eq(pbw_varint_len(0), 1);
	ck_assert_uint_eq(pbw_varint_len(127), 1);
	ck_assert_uint_eq(pbw_varint_len(128), 2);
	pbw_reset(&b);
	pbw_u64(&b, 1, 150);
	bytes_eq(&b, f150, sizeof(f150));
	pbw_reset(&b);
	pbw_i64(&b, 4, -2);
	bytes_eq(&b, fneg, sizeof(fneg));
	pbw_reset(&b);
	pbw_fixed64(&b, 47, 0x0102030405060708ull);
	bytes_eq(&b, ffix, sizeof(ffix));
	struct pbw sub = { 0 };
	pbw_str(&sub, 1, "testing");
	pbw_reset(&b);
	pbw_msg(&b, 3, &sub);
	bytes_eq(&b, fmsg, sizeof(fmsg));
	/* growth past the first allocation keeps every byte */
	pbw_reset(&b);
	for (int i = 0; i < 5000; i++)
		pbw_varint(&b, (uint64_t)i & 0x7f);
	ck_assert_uint_eq(b.n, 5000);
	ck_assert_uint_eq(b.p[4999], 4999 & 0x7f);
	pbw_free(&sub);
	pbw_free(&b);
}
END_TEST

/* The streaming outputs keep no latency samples: memory stays bounded by
 * what is in flight however long the trace. */
START_TEST(t_model_no_samples)
{
	struct viz_model m;
	struct rec r = { 0 };

	ck_assert_int_eq(viz_model_init(&m, &rops, &r), 0);
	m.keep_samples = false;
	for (uint64_t i = 0; i < 30; i++) {	/* r holds 32 messages */
		ev(&m, VIZ_EV_ipi_send, 10 * i, 0, 0, 1, i, 0xf0, 0, 0);
		ev(&m, VIZ_EV_ipi_recv, 10 * i + 5, 1, 0, 1, i, 0xf0, 0, 0);
		ev(&m, VIZ_EV_ipi_done, 10 * i + 6, 1, 0, 1, i, 0, 0, 0);
	}
	ck_assert_int_eq(viz_model_finish(&m), 0);
	ck_assert_uint_eq(m.c.ipis_done, 30);
	ck_assert_uint_eq(m.nlat, 0);
	ck_assert_int_eq(r.flows[VIZ_FLOW_START], 30);
	ck_assert_int_eq(r.flows[VIZ_FLOW_END], 30);
	ck_assert_int_eq(r.opens, r.nspan);	/* every span opened, then closed */
	viz_model_fini(&m);
}
END_TEST

/* ---- the plugin through libbabeltrace2 */

static const bt_component_class_sink *
sink_class(const bt_plugin_set **set, const char *name)
{
	ck_assert_int_eq(bt_plugin_find_all_from_file(VIZ_PLUGIN_PATH, BT_FALSE, set),
			 BT_PLUGIN_FIND_ALL_FROM_FILE_STATUS_OK);
	ck_assert_uint_eq(bt_plugin_set_get_plugin_count(*set), 1);
	const bt_plugin *p = bt_plugin_set_borrow_plugin_by_index_const(*set, 0);
	ck_assert_str_eq(bt_plugin_get_name(p), "lwkt");
	const bt_component_class_sink *cc =
		bt_plugin_borrow_sink_component_class_by_name_const(p, name);
	ck_assert_ptr_nonnull(cc);
	return cc;
}

/* Adds the sink with params; returns the status and the error text. */
static bt_graph_add_component_status
add_sink(const char *cls, bt_value *params, char *why, size_t whylen)
{
	const bt_plugin_set *set;
	const bt_component_class_sink *cc = sink_class(&set, cls);
	bt_graph *g = bt_graph_create(0);
	const bt_component_sink *comp = NULL;
	bt_graph_add_component_status st = bt_graph_add_sink_component(
		g, cc, "viz", params, BT_LOGGING_LEVEL_NONE, &comp);

	why[0] = '\0';
	const bt_error *err = bt_current_thread_take_error();
	if (err) {
		for (uint64_t i = 0; i < bt_error_get_cause_count(err); i++) {
			const char *m = bt_error_cause_get_message(
				bt_error_borrow_cause_by_index(err, i));
			strncat(why, m, whylen - strlen(why) - 1);
		}
		bt_error_release(err);
	}
	bt_graph_put_ref(g);
	bt_plugin_set_put_ref(set);
	return st;
}

START_TEST(t_plugin_params)
{
	char why[2048];
	bt_value *p = bt_value_map_create();

	ck_assert_int_ne(add_sink("timeline", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "missing parameter `path`"));

	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "x.json"), 0);
	ck_assert_int_eq(bt_value_map_insert_bool_entry(p, "colour", BT_TRUE), 0);
	ck_assert_int_ne(add_sink("chrome", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "unknown parameter `colour`"));
	bt_value_put_ref(p);

	p = bt_value_map_create();
	ck_assert_int_eq(bt_value_map_insert_signed_integer_entry(p, "path", 3), 0);
	ck_assert_int_ne(add_sink("timeline", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "must be a string"));
	bt_value_put_ref(p);

	/* Good parameters: the component is made (nothing written yet). */
	p = bt_value_map_create();
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path",
		"/nonexistent-dir/out.html"), 0);
	ck_assert_int_eq(add_sink("timeline", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	bt_value_put_ref(p);

	/* sink.lwkt.perfetto: its own keys, its own example. */
	p = bt_value_map_create();
	ck_assert_int_ne(add_sink("perfetto", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "out.perfetto-trace"));
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "x.pftrace"), 0);
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "bench", "b.json"), 0);
	ck_assert_int_ne(add_sink("perfetto", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "unknown parameter `bench`"));
	bt_value_put_ref(p);
	p = bt_value_map_create();
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "/nonexistent-dir/x"), 0);
	ck_assert_int_eq(add_sink("perfetto", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	bt_value_put_ref(p);

	/* sink.lwkt.chrome's size cap: an integer >= 0. */
	p = bt_value_map_create();
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "x.json"), 0);
	ck_assert_int_eq(bt_value_map_insert_signed_integer_entry(p, "max_bytes", -1), 0);
	ck_assert_int_ne(add_sink("chrome", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(why, "`max_bytes` must be an integer >= 0"));
	bt_value_put_ref(p);
	p = bt_value_map_create();
	ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "x.json"), 0);
	ck_assert_int_eq(bt_value_map_insert_signed_integer_entry(p, "max_bytes", 1000), 0);
	ck_assert_int_eq(add_sink("chrome", p, why, sizeof(why)),
			 BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	bt_value_put_ref(p);

	/* sink.lwkt.timeline's size bound and tile size: integers, and
	 * tile_records at least 1. */
	static const struct { const char *key; int64_t v; const char *why; } tp[] = {
		{ "max_bytes", -1, "`max_bytes` must be an integer >= 0" },
		{ "tile_records", 0, "`tile_records` must be an integer >= 1" },
		{ "max_bytes", 0, NULL }, { "tile_records", 1, NULL },
	};
	for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++) {
		p = bt_value_map_create();
		ck_assert_int_eq(bt_value_map_insert_string_entry(p, "path", "x.html"), 0);
		ck_assert_int_eq(bt_value_map_insert_signed_integer_entry(p, tp[i].key, tp[i].v), 0);
		bt_graph_add_component_status st = add_sink("timeline", p, why, sizeof(why));
		if (tp[i].why) {
			ck_assert_int_ne(st, BT_GRAPH_ADD_COMPONENT_STATUS_OK);
			ck_assert_ptr_nonnull(strstr(why, tp[i].why));
		} else {
			ck_assert_int_eq(st, BT_GRAPH_ADD_COMPONENT_STATUS_OK);
		}
		bt_value_put_ref(p);
	}
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "escape", 10);
	tcase_add_test(tc, t_escape_markup);
	tcase_add_test(tc, t_escape_control_utf8);
	tcase_add_test(tc, t_us_format);
	tc = ltest_tcase(s, "model", 10);
	tcase_add_test(tc, t_model_roundtrip);
	tcase_add_test(tc, t_model_gap_and_unmatched);
	tcase_add_test(tc, t_model_gaps_two_pus_one_lane);
	tcase_add_test(tc, t_model_crit_across_switch);
	tcase_add_test(tc, t_model_processes);
	tcase_add_test(tc, t_model_ipi_joins);
	tcase_add_test(tc, t_model_bench);
	tcase_add_test(tc, t_model_tokens_calibrated);
	tcase_add_test(tc, t_model_calib_bound);
	tcase_add_test(tc, t_model_calib_bad);
	tcase_add_test(tc, t_percentiles);
	tcase_add_test(tc, t_evk_names);
	tcase_add_test(tc, t_schema_table);
	tcase_add_test(tc, t_model_netisr_sysmsg);
	tcase_add_test(tc, t_model_no_samples);
	tcase_add_test(tc, t_model_replies_one_ipi);
	tcase_add_test(tc, t_model_ipi_window);
	tc = ltest_tcase(s, "pbw", 10);
	tcase_add_test(tc, t_pbw_wire);
	tc = ltest_tcase(s, "plugin", 20);
	tcase_add_test(tc, t_plugin_params);
}

LTEST_MAIN("viz", add)
