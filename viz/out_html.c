/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * out_html.c - sink.lwkt.timeline: one self-contained HTML page.
 *
 * The page is the template (timeline.html, embedded) with the trace data
 * as one JSON document inside <script type="application/json">, written
 * while the trace streams: every closed span, instant, message, IPI and
 * gap becomes one small array in "rec" as soon as the model reports it;
 * the summary (event names, lanes, per-cpu-pair latency percentiles and
 * histograms, counters) follows at the end.  Memory therefore stays
 * bounded by what is still open in the model plus 8 bytes per latency
 * sample (the percentiles are exact).  All strings pass viz_json_str(),
 * which escapes '<' '>' '&': no trace name can end the script element.
 *
 * Records (times: ns since the first event, base_ns; -1: not in the trace):
 *   [0, lane, depth, kind, t0, t1, label, flags, name]  span (name: a
 *        thread name id, -1; flags 1 cut, 2 suspended, 4 resumed)
 *   [1, lane, t, name_id, {args}]                       instant
 *   [2, msg_id, port_id, src_lane, dst_cpu, bench, error, open, waited,
 *       lane0, t0, ..., lane7, t7]                      message: the 8
 *        steps send, request IPI sent, noticed, dispatch, reply, reply
 *        IPI sent, noticed, sender resumes
 *   [3, id, "0xkey", src, t_send, dst_lane, t_recv, cat, carries, role,
 *       open]
 *        cat 1 IPI (key: callback; carries: the msg_id it carried, role
 *        1 request, 2 reply), 2 mutexq enqueue -> dequeue (key: queue_id,
 *        id: seq), 3 MPI send -> recv (key: tag, id: seq), 4 token
 *        transfer -> acquire (key: the token)
 *   [4, lane, t0, t1, count, packets]                   lost events / packets
 *   [5, name_id, tid, "name"]                           thread name
 *   [6, lane, kind, t0, t1, label, tid, flags]          overlay: 0 wait for
 *        reply (label msg_id), 1 wait for token, 2 token held (label tok)
 *   [7, bench, t0, t1, iterations]                      a benchmark run
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "jsonw.h"
#include "viz.h"

extern const char viz_template[];

#define MARKER "/*@LWKT_DATA@*/"
#define HIST_BINS 24

static void
rec(struct viz_comp *c, int type)
{
	if (!c->first_rec)
		putc_unlocked(',', c->f);
	c->first_rec = false;
	c->recs++;
	/* A newline now and then keeps lines short for tools that read the
	 * page line by line. */
	if ((c->recs & 63) == 0)
		putc_unlocked('\n', c->f);
	putc_unlocked('[', c->f);
	viz_json_i64(c->f, type);
}

static void
num(struct viz_comp *c, int64_t v)
{
	putc_unlocked(',', c->f);
	viz_json_i64(c->f, v);
}

static void
unum(struct viz_comp *c, uint64_t v)
{
	putc_unlocked(',', c->f);
	viz_json_u64(c->f, v);
}

static int
h_begin(struct viz_comp *c)
{
	const char *m = strstr(viz_template, MARKER);

	if (!m)
		return -1;	/* cannot happen: the build embeds it */
	fwrite_unlocked(viz_template, 1, (size_t)(m - viz_template), c->f);
	fputs_unlocked("{\"v\":1,\"rec\":[\n", c->f);
	return ferror(c->f) ? -1 : 0;
}

static int
h_lane_new(void *o, int lane)
{
	(void)o;
	(void)lane;	/* the lane list is in the summary */
	return 0;
}

static int
h_span(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;

	rec(c, 0);
	num(c, s->lane);
	num(c, s->depth);
	num(c, s->kind);
	unum(c, s->t0);
	unum(c, s->t1);
	unum(c, s->label);
	num(c, s->flags);
	num(c, s->name_id);
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_overlay(void *o, const struct viz_overlay *v)
{
	struct viz_comp *c = o;

	rec(c, 6);
	num(c, v->lane);
	num(c, v->kind);
	unum(c, v->t0);
	unum(c, v->t1);
	fprintf(c->f, ",\"0x%" PRIx64 "\"", v->label);
	unum(c, v->tid);
	num(c, v->flags);
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_bench_run(void *o, int bench, uint64_t t0, uint64_t t1, uint64_t iters)
{
	struct viz_comp *c = o;

	rec(c, 7);
	num(c, bench);
	unum(c, t0);
	unum(c, t1);
	unum(c, iters);
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_flow(void *o, enum viz_flow_step step, const struct viz_msg *m, int lane,
       uint64_t ts)
{
	(void)o; (void)step; (void)m; (void)lane; (void)ts;
	return 0;	/* the page draws a message once it is done */
}

static int64_t
tv(uint64_t t)
{
	return t == VIZ_NONE ? -1 : (int64_t)t;
}

static int
h_msg_done(void *o, const struct viz_msg *m)
{
	struct viz_comp *c = o;

	if (m->cat != VIZ_MSG) {
		rec(c, 3);
		unum(c, m->id);
		fprintf(c->f, ",\"0x%" PRIx64 "\"", m->port);
		num(c, m->src);
		num(c, tv(m->t[VIZ_ST_SEND]));
		num(c, m->lane[VIZ_ST_DISPATCH]);
		num(c, tv(m->t[VIZ_ST_DISPATCH]));
		num(c, m->cat);
		num(c, m->carries);
		num(c, m->role);
		num(c, m->open);
	} else {
		rec(c, 2);
		unum(c, m->id);
		unum(c, m->port);
		num(c, m->src);
		num(c, m->dst_cpu);
		num(c, m->bench);
		num(c, m->error);
		num(c, m->open);
		num(c, m->waited);
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			num(c, m->lane[i]);
			num(c, tv(m->t[i]));
		}
	}
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	struct viz_comp *c = o;

	rec(c, 1);
	num(c, lane);
	unum(c, ts);
	num(c, ev->name_id);
	putc_unlocked(',', c->f);
	if (ev->args)
		fwrite_unlocked(ev->args, 1, ev->args_len, c->f);
	else
		fputs_unlocked("{}", c->f);
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t count,
      bool packets)
{
	struct viz_comp *c = o;

	rec(c, 4);
	num(c, lane);
	unum(c, t0);
	unum(c, t1);
	unum(c, count);
	num(c, packets);
	putc_unlocked(']', c->f);
	return 0;
}

static int
h_thread_name(void *o, int name_id, uint64_t tid, const char *name, size_t len)
{
	struct viz_comp *c = o;

	rec(c, 5);
	num(c, name_id);
	unum(c, tid);
	putc_unlocked(',', c->f);
	viz_json_strn(c->f, name, len);
	putc_unlocked(']', c->f);
	return 0;
}

/* Log-spaced histogram from min to max (one bin if they are equal). */
static void
write_hist(struct viz_comp *c, const struct viz_lat *l,
	   const struct viz_lat_stats *st)
{
	uint64_t edge[HIST_BINS + 1], cnt[HIST_BINS] = { 0 };
	int nb = st->max > st->min ? HIST_BINS : 1;
	double lo = log((double)(st->min ? st->min : 1));
	double hi = log((double)st->max + 1);

	for (int i = 0; i <= nb; i++)
		edge[i] = i == 0 ? st->min : i == nb ? st->max + 1 :
			  (uint64_t)exp(lo + (hi - lo) * i / nb);
	for (size_t i = 0, b = 0; i < l->n; i++) {	/* l->v is sorted */
		while (b + 1 < (size_t)nb && l->v[i] >= edge[b + 1])
			b++;
		cnt[b]++;
	}
	fputs_unlocked(",\"edges\":[", c->f);
	for (int i = 0; i <= nb; i++) {
		if (i)
			putc_unlocked(',', c->f);
		viz_json_u64(c->f, edge[i]);
	}
	fputs_unlocked("],\"counts\":[", c->f);
	for (int i = 0; i < nb; i++) {
		if (i)
			putc_unlocked(',', c->f);
		viz_json_u64(c->f, cnt[i]);
	}
	putc_unlocked(']', c->f);
}

static int
h_end(struct viz_comp *c)
{
	const struct viz_model *m = &c->model;
	const struct viz_counts *k = &m->c;
	const char *mk = strstr(viz_template, MARKER);
	bool first = true;

	fputs_unlocked("\n],\"names\":", c->f);
	viz_write_names(c);
	fputs_unlocked(",\"lanes\":[", c->f);
	for (int i = 0; i < m->nlanes; i++) {
		if (!viz_model_lane_used(m, i))
			continue;
		fprintf(c->f, "%s{\"lane\":%d,\"vpid\":%" PRIu32 ",\"cpu\":%d,"
			"\"pu\":%d}", first ? "" : ",", i, viz_model_lane_vpid(m, i),
			viz_model_lane_cpu(m, i), viz_model_lane_pu(m, i));
		first = false;
	}
	fputs_unlocked("],\"bench\":[", c->f);
	for (int i = 0; i < m->nbench; i++) {
		const struct viz_bench *b = &m->bench[i];
		fprintf(c->f, "%s{\"id\":%d,\"name\":", i ? "," : "", i);
		viz_json_str(c->f, i ? b->name : "");
		fprintf(c->f, ",\"vpid\":%" PRIu32 ",\"t0\":%" PRIu64 ",\"t1\":%"
			PRIu64 ",\"runs\":%" PRIu64 ",\"iterations\":%" PRIu64 "}",
			b->vpid, b->t0, b->t1, b->runs, b->iterations);
	}
	fputs_unlocked("],\"lat\":[", c->f);
	for (size_t i = 0; i < m->nlat; i++) {
		struct viz_lat *l = &m->lat[i];
		struct viz_lat_stats st;

		/* The calibrated values first: the traced sort reorders v
		 * alone, and vc[i] belongs to v[i] only before it. */
		if (l->vc) {
			viz_stats(l->vc, l->n, &st);
			fprintf(c->f, "%s{\"cal\":{\"min\":%" PRIu64 ",\"p50\":%"
				PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
				",\"max\":%" PRIu64 ",\"mean\":%.1f},", i ? "," : "",
				st.min, st.p50, st.p90, st.p99, st.max, st.mean);
		} else {
			fputs_unlocked(i ? ",{" : "{", c->f);
		}
		viz_lat_stats(l, &st);
		fprintf(c->f, "\"bench\":%d,\"metric\":\"%s\",\"src\":%d,\"dst\":%d,"
			"\"n\":%zu,\"min\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p90\":%"
			PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64 ",\"mean\":%.1f",
			l->bench, viz_lat_name[l->metric], l->src, l->dst, l->n,
			st.min, st.p50, st.p90, st.p99, st.max, st.mean);
		write_hist(c, l, &st);
		putc_unlocked('}', c->f);
	}
	fputs_unlocked("],\"benchjson\":", c->f);
	if (c->cfg.bench_json) {
		/* Embedded as is, < > & escaped (they can only be inside
		 * JSON strings): it cannot end the script element. */
		for (const char *p = c->cfg.bench_json; *p; p++) {
			if (*p == '<' || *p == '>' || *p == '&')
				fprintf(c->f, "\\u%04x", (unsigned)*p);
			else
				putc_unlocked(*p, c->f);
		}
	} else {
		fputs_unlocked("null", c->f);
	}
	fprintf(c->f, ",\"base_ns\":\"%" PRIu64 "\",\"end\":%" PRIu64
		",\"counts\":{\"events\":%" PRIu64 ",\"lwkt_events\":%" PRIu64
		",\"generic_events\":%" PRIu64 ",\"lost_events\":%" PRIu64
		",\"lost_packets\":%" PRIu64 ",\"gaps\":%" PRIu64
		",\"bad_version\":%" PRIu64 ",\"unmatched\":%" PRIu64
		",\"msgs\":%" PRIu64 ",\"msgs_unfinished\":%" PRIu64
		",\"ipis\":%" PRIu64 ",\"ipis_unfinished\":%" PRIu64
		",\"pairs\":%" PRIu64 ",\"provider_events\":%" PRIu64
		",\"no_clock\":%" PRIu64 ",\"calib_events\":%" PRIu64
		",\"recv_before_send\":%" PRIu64 ",\"ids_reused\":%" PRIu64
		",\"suspended\":%" PRIu64 ",\"transfers\":%" PRIu64
		",\"processes\":%d},\"event_cost_ps\":%" PRIu64 ",\"calib_n\":%" PRIu64
		",\"output\":",
		m->base, m->last, k->events, k->lwkt_events, k->generic_events,
		k->lost_events, k->lost_packets, k->gaps, k->bad_version,
		k->unmatched, k->msgs_done, k->msgs_open, k->ipis_done,
		k->ipis_open, k->pairs_done, k->provider_events,
		c->no_clock_events, k->calib_events, k->recv_before_send,
		k->ids_reused, k->suspended, k->transfers, m->nprocs,
		m->event_cost_ps, m->calib_n);
	viz_json_str(c->f, c->cfg.path);
	/* The title: the recorded command (lwkt-record's record_info event),
	 * else the output's name. */
	fputs_unlocked(",\"title\":", c->f);
	viz_json_str(c->f, m->command ? m->command : c->cfg.path);
	putc_unlocked('}', c->f);
	fputs_unlocked(mk + strlen(MARKER), c->f);
	return ferror(c->f) ? -1 : 0;
}

static const struct viz_out_ops h_ops = {
	.lane_new = h_lane_new,
	.span = h_span,
	.flow = h_flow,
	.msg_done = h_msg_done,
	.instant = h_instant,
	.gap = h_gap,
	.thread_name = h_thread_name,
	.overlay = h_overlay,
	.bench_run = h_bench_run,
};

const struct viz_output viz_out_html = {
	.what = "sink.lwkt.timeline",
	.ops = &h_ops,
	.begin = h_begin,
	.end = h_end,
};
