/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * out_html.c - sink.lwkt.timeline: one self-contained HTML page.
 *
 * The page (the template timeline.html, embedded) holds three things:
 *
 *  - the summary, a JSON document in <script id="lwkt-data">: event
 *    names, lanes, benchmarks and their runs, per-cpu-pair latency
 *    percentiles and histograms, counters, thread names, lost-event gaps,
 *    and the index of the tiles (below);
 *  - the levels of detail, <script id="lwkt-lod">: per lane, VIZ_LOD_NB
 *    time buckets at most, with the busy / critical / IPI / service /
 *    wait time, the span, mark and arrow counts, the worst latency and the
 *    dominant tid of each (pagew.h), as float32/uint32 columns, zlib and
 *    base64: the overview of any trace draws from these alone;
 *  - the tiles, one <script type="application/octet-stream"> each, after
 *    the code (the page draws its overview while the browser still parses
 *    them): the records in the order the model closes them, cut every
 *    tile_records records, varint-coded (pagew.h), zlib, base64.  A
 *    record that began before its tile was opened (a span crossing the
 *    tile's start, a long wait) goes to a "long" tile instead, so that
 *    the time range of an ordinary tile is narrow and a zoomed view
 *    decodes only the few tiles that intersect it.
 *
 * Memory: the tiles are held compressed until the end (the summary must
 * come first in the file), so a page larger than `max_bytes` is refused
 * as soon as it passes it; the model holds what is still open and 8 bytes
 * per latency sample (the percentiles are exact).  All strings pass
 * viz_json_str(), which escapes '<' '>' '&': no trace name can end a
 * script element; tiles and levels are base64.
 *
 * Records in a tile (times: ns since the first event, base_ns, each a
 * zigzag delta from the previous time of the tile; lanes and other
 * signed values zigzag; the rest LEB128):
 *   0 span     lane, depth, kind, t0, t1 - t0, label, flags, name_id
 *              (a thread name id, -1; flags 1 cut, 2 suspended, 4 resumed)
 *   1 instant  lane, t, name_id, n, n bytes of JSON args ({} when n = 0)
 *   2 message  msg_id, port_id, src_lane, dst_cpu, bench, error, open,
 *              waited, a mask of the steps present, then lane, t of each
 *              present step: send, request IPI sent, noticed, dispatch,
 *              reply, reply IPI sent, noticed, sender resumes
 *   3 pair     id, key, src, dst_lane, cat, carries, role, open, a mask
 *              (1: t_send present, 2: t_recv present), t_send, t_recv.
 *              cat 1 IPI (key: callback; carries: the msg_id it carried,
 *              role 1 request, 2 reply), 2 mutexq enqueue -> dequeue (key:
 *              queue_id, id: seq), 3 MPI send -> recv (key: tag, id: seq),
 *              4 token transfer -> acquire (key: the token)
 *   6 overlay  lane, kind, t0, t1 - t0, label, tid, flags: 0 wait for
 *              reply (label msg_id), 1 wait for token, 2 token held
 * In the summary's "grec" (JSON arrays, few):
 *   [4, lane, t0, t1, count, packets]                   lost events / packets
 *   [5, name_id, tid, "name"]                           thread name
 *   [7, bench, t0, t1, iterations]                      a benchmark run
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "pagew.h"
#include "viz.h"

extern const char viz_template[];

#define MARK_DATA "/*@LWKT_DATA@*/"
#define MARK_LOD "/*@LWKT_LOD@*/"
#define MARK_TILES "<!--@LWKT_TILES@-->"
#define HIST_BINS 24
/* A tile is cut at this many raw bytes too (a tile of instants with
 * large payloads). */
#define TILE_MAX_RAW (1u << 20)
/* zlib level: 4 is within ~5% of 6's size here at half its time. */
#define ZLEVEL 4

_Static_assert(VIZ_MAX_LANES <= sizeof(((struct viz_lod *)0)->row) /
	       sizeof(((struct viz_lod *)0)->row[0]), "a LOD row per lane");

/* A tile being filled. */
struct tile {
	struct viz_buf raw;
	uint64_t prev;		/* the delta base of its times */
	uint64_t tmin, tmax;
	uint64_t n;
};

struct tile_ix {
	uint64_t tmin, tmax, n, raw;
	size_t off, len;	/* in hs.tiles */
	bool long_;
};

struct hs {
	struct tile t, lt;	/* the ordinary tile, the long one */
	uint64_t open;		/* the latest end when t was started */
	uint64_t now;		/* the latest end so far */
	struct viz_buf tiles;	/* every tile's base64 text */
	struct tile_ix *ix;
	size_t nix, capix;
	uint64_t tile_records;
	FILE *g;		/* the global records (JSON) */
	char *gbuf;
	size_t glen;
	bool gfirst;
	struct viz_lod lod;
	bool oom;
};

static struct hs *
hs(struct viz_comp *c)
{
	return c->pf;
}

static void
tile_reset(struct tile *t)
{
	t->raw.n = 0;
	t->prev = 0;
	t->tmin = UINT64_MAX;
	t->tmax = 0;
	t->n = 0;
}

static int
flush_tile(struct viz_comp *c, struct tile *t, bool long_)
{
	struct hs *h = hs(c);

	if (!t->n)
		return 0;
	if (h->nix == h->capix) {
		size_t cap = h->capix ? 2 * h->capix : 64;
		struct tile_ix *ix = realloc(h->ix, cap * sizeof(*ix));
		if (!ix)
			return -1;
		h->ix = ix;
		h->capix = cap;
	}
	size_t off = h->tiles.n;
	if (viz_deflate_b64(&h->tiles, t->raw.p, t->raw.n, ZLEVEL))
		return -1;
	h->ix[h->nix++] = (struct tile_ix){ .tmin = t->tmin, .tmax = t->tmax,
		.n = t->n, .raw = t->raw.n, .off = off, .len = h->tiles.n - off,
		.long_ = long_ };
	c->held_bytes = h->tiles.n + 64 * h->nix;
	tile_reset(t);
	return 0;
}

/* The tile for a record over [t0, t1], with room for `more` bytes. */
static struct tile *
tile_for(struct viz_comp *c, uint64_t t0, uint64_t t1, size_t more)
{
	struct hs *h = hs(c);
	struct tile *t = t0 < h->open ? &h->lt : &h->t;

	if (viz_buf_reserve(&t->raw, more)) {
		h->oom = true;
		return NULL;
	}
	if (t0 < t->tmin)
		t->tmin = t0;
	if (t1 > t->tmax)
		t->tmax = t1;
	if (t1 > h->now)
		h->now = t1;
	t->n++;
	return t;
}

/* The record is complete: cut the tile when it is full. */
static int
tile_done(struct viz_comp *c, struct tile *t)
{
	struct hs *h = hs(c);

	if (t->n < h->tile_records && t->raw.n < TILE_MAX_RAW)
		return 0;
	if (flush_tile(c, t, t == &h->lt)) {
		h->oom = true;
		return -1;
	}
	if (t == &h->t)
		h->open = h->now;
	return 0;
}

static void
put_t(struct tile *t, uint64_t v)
{
	viz_buf_sv(&t->raw, (int64_t)(v - t->prev));
	t->prev = v;
}

/* A record's type and lane, and an interval's start, length and label. */
static void
put_head(struct tile *t, unsigned type, int lane)
{
	viz_buf_uv(&t->raw, type);
	viz_buf_sv(&t->raw, lane);
}

static void
put_range(struct tile *t, uint64_t t0, uint64_t t1, uint64_t label)
{
	put_t(t, t0);
	viz_buf_uv(&t->raw, t1 - t0);
	viz_buf_uv(&t->raw, label);
}

static int
h_begin(struct viz_comp *c)
{
	const char *m = strstr(viz_template, MARK_DATA);
	struct hs *h = calloc(1, sizeof(*h));

	if (!m || !h) {
		free(h);
		return -1;	/* !m cannot happen: the build embeds it */
	}
	c->pf = h;
	tile_reset(&h->t);
	tile_reset(&h->lt);
	h->tile_records = c->cfg.tile_records ? c->cfg.tile_records : 65536;
	h->gfirst = true;
	viz_lod_init(&h->lod);
	h->g = open_memstream(&h->gbuf, &h->glen);
	if (!h->g)
		return -1;
	fwrite_unlocked(viz_template, 1, (size_t)(m - viz_template), c->f);
	return ferror(c->f) ? -1 : 0;
}

static void
h_fini(struct viz_comp *c)
{
	struct hs *h = hs(c);

	if (!h)
		return;
	viz_buf_free(&h->t.raw);
	viz_buf_free(&h->lt.raw);
	viz_buf_free(&h->tiles);
	free(h->ix);
	if (h->g)
		fclose(h->g);
	free(h->gbuf);
	viz_lod_fini(&h->lod);
	free(h);
	c->pf = NULL;
}

static int
h_lane_new(void *o, int lane)
{
	(void)o;
	(void)lane;	/* the lane list is in the summary */
	return 0;
}

static int
lod_err(struct viz_comp *c, int rc)
{
	if (rc)
		hs(c)->oom = true;
	return rc;
}

static int
h_span(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;
	struct hs *h = hs(c);
	struct tile *t = tile_for(c, s->t0, s->t1, 80);
	int col = -1;

	if (!t)
		return ENOMEM;
	put_head(t, 0, s->lane);
	viz_buf_uv(&t->raw, (uint64_t)s->depth);
	viz_buf_uv(&t->raw, s->kind);
	put_range(t, s->t0, s->t1, s->label);
	viz_buf_uv(&t->raw, s->flags);
	viz_buf_sv(&t->raw, s->name_id);
	switch (s->kind) {
	case VIZ_SPAN_THREAD: case VIZ_SPAN_UNKNOWN: col = VIZ_LOD_BUSY; break;
	case VIZ_SPAN_CRIT: col = VIZ_LOD_CRIT; break;
	case VIZ_SPAN_IPI: col = VIZ_LOD_IPI; break;
	case VIZ_SPAN_NETISR: case VIZ_SPAN_SYSMSG: col = VIZ_LOD_SVC; break;
	default: break;
	}
	if (col >= 0 && lod_err(c, viz_lod_span(&h->lod, s->lane, col, s->t0, s->t1,
			s->kind == VIZ_SPAN_THREAD ? (int64_t)s->label : -1)))
		return ENOMEM;
	if (lod_err(c, viz_lod_count(&h->lod, s->lane, VIZ_LOD_SPANS, s->t0, 0)))
		return ENOMEM;
	return tile_done(c, t) ? ENOMEM : 0;
}

static int
h_overlay(void *o, const struct viz_overlay *v)
{
	struct viz_comp *c = o;
	struct tile *t = tile_for(c, v->t0, v->t1, 80);

	if (!t)
		return ENOMEM;
	put_head(t, 6, v->lane);
	viz_buf_uv(&t->raw, v->kind);
	put_range(t, v->t0, v->t1, v->label);
	viz_buf_uv(&t->raw, v->tid);
	viz_buf_uv(&t->raw, v->flags);
	if (lod_err(c, viz_lod_span(&hs(c)->lod, v->lane, VIZ_LOD_WAIT, v->t0,
				    v->t1, -1)))
		return ENOMEM;
	return tile_done(c, t) ? ENOMEM : 0;
}

/* A global record: [ starts it, the caller writes the rest. */
static FILE *
grec(struct viz_comp *c, int type)
{
	struct hs *h = hs(c);

	fprintf(h->g, "%s[%d", h->gfirst ? "" : ",\n", type);
	h->gfirst = false;
	return h->g;
}

static int
h_bench_run(void *o, int bench, uint64_t t0, uint64_t t1, uint64_t iters)
{
	struct viz_comp *c = o;
	FILE *g = grec(c, 7);

	fprintf(g, ",%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", bench, t0, t1, iters);
	return ferror(g) ? ENOMEM : 0;
}

static int
h_flow(void *o, enum viz_flow_step step, const struct viz_msg *m, int lane,
       uint64_t ts)
{
	(void)o; (void)step; (void)m; (void)lane; (void)ts;
	return 0;	/* the page draws a message once it is done */
}

/* The steps of m that are in the trace, of those listed: a mask (bit i:
 * idx[i]), their earliest and latest times and the first listed. */
static unsigned
steps(const struct viz_msg *m, const int *idx, int n, uint64_t *lo,
      uint64_t *hi, uint64_t *first)
{
	unsigned mask = 0;

	*lo = UINT64_MAX;
	*hi = 0;
	*first = 0;
	for (int i = 0; i < n; i++) {
		uint64_t t = m->t[idx[i]];
		if (t == VIZ_NONE)
			continue;
		if (!mask)
			*first = t;
		mask |= 1u << i;
		*lo = t < *lo ? t : *lo;
		*hi = t > *hi ? t : *hi;
	}
	if (!mask)
		*lo = 0;
	return mask;
}

static int
h_msg_done(void *o, const struct viz_msg *m)
{
	static const int all[VIZ_ST__COUNT] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const int pair[2] = { VIZ_ST_SEND, VIZ_ST_DISPATCH };
	struct viz_comp *c = o;
	bool msg = m->cat == VIZ_MSG;
	uint64_t lo, hi, first;
	unsigned mask = msg ? steps(m, all, VIZ_ST__COUNT, &lo, &hi, &first) :
			      steps(m, pair, 2, &lo, &hi, &first);
	struct tile *t = tile_for(c, lo, hi, 80 + 20 * VIZ_ST__COUNT);

	if (!t)
		return ENOMEM;
	viz_buf_uv(&t->raw, msg ? 2 : 3);
	viz_buf_uv(&t->raw, m->id);
	viz_buf_uv(&t->raw, m->port);
	viz_buf_sv(&t->raw, m->src);
	if (msg) {
		viz_buf_sv(&t->raw, m->dst_cpu);
		viz_buf_uv(&t->raw, (uint64_t)m->bench);
		viz_buf_sv(&t->raw, m->error);
		viz_buf_uv(&t->raw, (uint64_t)m->open);
		viz_buf_uv(&t->raw, (uint64_t)m->waited);
		viz_buf_uv(&t->raw, mask);
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			if (!(mask & 1u << i))
				continue;
			viz_buf_sv(&t->raw, m->lane[i]);
			put_t(t, m->t[i]);
		}
	} else {
		viz_buf_sv(&t->raw, m->lane[VIZ_ST_DISPATCH]);
		viz_buf_uv(&t->raw, m->cat);
		viz_buf_sv(&t->raw, m->carries);
		viz_buf_uv(&t->raw, (uint64_t)m->role);
		viz_buf_uv(&t->raw, (uint64_t)m->open);
		viz_buf_uv(&t->raw, mask);
		for (int i = 0; i < 2; i++)
			if (mask & 1u << i)
				put_t(t, m->t[pair[i]]);
	}
	/* The level of detail counts it where it starts, on the sender's lane
	 * (the receiver's for a pair whose send is not in the trace), with
	 * its whole latency. */
	int lane = m->src >= 0 ? m->src : m->lane[VIZ_ST_DISPATCH];
	if (mask && lod_err(c, viz_lod_count(&hs(c)->lod, lane, VIZ_LOD_ARROWS,
					     first, hi - lo)))
		return ENOMEM;
	return tile_done(c, t) ? ENOMEM : 0;
}

static int
h_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	struct viz_comp *c = o;
	size_t an = ev->args ? ev->args_len : 0;
	struct tile *t = tile_for(c, ts, ts, 40 + an);

	if (!t)
		return ENOMEM;
	put_head(t, 1, lane);
	put_t(t, ts);
	viz_buf_uv(&t->raw, (uint64_t)ev->name_id);
	viz_buf_uv(&t->raw, an);
	memcpy(t->raw.p + t->raw.n, ev->args, an);
	t->raw.n += an;
	if (lod_err(c, viz_lod_count(&hs(c)->lod, lane, VIZ_LOD_MARKS, ts, 0)))
		return ENOMEM;
	return tile_done(c, t) ? ENOMEM : 0;
}

static int
h_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t count,
      bool packets)
{
	struct viz_comp *c = o;
	FILE *g = grec(c, 4);

	fprintf(g, ",%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d]", lane, t0, t1,
		count, packets);
	return ferror(g) ? ENOMEM : 0;
}

static int
h_thread_name(void *o, int name_id, uint64_t tid, const char *name, size_t len)
{
	struct viz_comp *c = o;
	FILE *g = grec(c, 5);

	fprintf(g, ",%d,%" PRIu64 ",", name_id, tid);
	viz_json_strn(g, name, len);
	putc_unlocked(']', g);
	return ferror(g) ? ENOMEM : 0;
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
	struct hs *h = hs(c);
	const char *mk = strstr(viz_template, MARK_DATA);
	const char *ml = strstr(viz_template, MARK_LOD);
	const char *mt = strstr(viz_template, MARK_TILES);
	bool first = true;

	if (!ml || !mt || flush_tile(c, &h->t, false) ||
	    flush_tile(c, &h->lt, true) || h->oom || fflush(h->g) || ferror(h->g))
		return -1;
	fputs_unlocked("{\"v\":2,\"names\":", c->f);
	viz_write_names(c);
	fputs_unlocked(",\"lanes\":[", c->f);
	for (int i = 0; i < m->nlanes; i++) {
		if (!viz_model_lane_used(m, i))
			continue;
		fprintf(c->f, "%s{\"lane\":%d,\"vpid\":%" PRIu32 ",\"cpu\":%d,"
			"\"pu\":%d,\"host\":", first ? "" : ",", i, viz_model_lane_vpid(m, i),
			viz_model_lane_cpu(m, i), viz_model_lane_pu(m, i));
		viz_json_str(c->f, viz_model_host_name(m, viz_model_lane_host(m, i)));
		fputc_unlocked('}', c->f);
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
		",\"calib_bad_ps\":%" PRIu64 ",\"calib_bound_ps\":%" PRIu64
		",\"calib_over\":%s,\"cost_used_ps\":%" PRIu64 ",\"output\":",
		m->base, m->last, k->events, k->lwkt_events, k->generic_events,
		k->lost_events, k->lost_packets, k->gaps, k->bad_version,
		k->unmatched, k->msgs_done, k->msgs_open, k->ipis_done,
		k->ipis_open, k->pairs_done, k->provider_events,
		c->no_clock_events, k->calib_events, k->recv_before_send,
		k->ids_reused, k->suspended, k->transfers, m->nprocs,
		m->event_cost_ps, m->calib_n, m->calib_bad_ps, m->calib_bound_ps,
		m->calib_over ? "true" : "false", m->cost_used_ps);
	viz_json_str(c->f, c->cfg.path);
	/* The title: the recorded command (lwkt-record's record_info event),
	 * else the output's name. */
	fputs_unlocked(",\"title\":", c->f);
	viz_json_str(c->f, m->command ? m->command : c->cfg.path);
	fputs_unlocked(",\"grec\":[", c->f);
	fwrite_unlocked(h->gbuf, 1, h->glen, c->f);
	fputs_unlocked("],\"tiles\":[", c->f);
	for (size_t i = 0; i < h->nix; i++)
		fprintf(c->f, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%d]", i ? ",\n" : "", h->ix[i].tmin, h->ix[i].tmax,
			h->ix[i].n, h->ix[i].raw, h->ix[i].long_);
	/* The levels of detail: the used lanes in the order of "lanes". */
	size_t nb = viz_lod_nb(&h->lod);
	struct viz_buf raw = { 0 }, b64 = { 0 };
	int nl = 0;
	for (int i = 0; i < m->nlanes; i++) {
		if (!viz_model_lane_used(m, i))
			continue;
		nl++;
		if (viz_lod_write(&h->lod, i, nb, &raw))
			goto oom;
	}
	if (viz_deflate_b64(&b64, raw.p, raw.n, ZLEVEL))
		goto oom;
	fprintf(c->f, "],\"lod\":{\"w\":%" PRIu64 ",\"nb\":%zu,\"lanes\":%d,"
		"\"bytes\":%zu,\"cols\":[", h->lod.w, nb, nl, raw.n);
	for (int i = 0; i < VIZ_LOD__COLS; i++)
		fprintf(c->f, "%s\"%s\"", i ? "," : "", viz_lod_col_name[i]);
	fputs_unlocked("]}}", c->f);
	fwrite_unlocked(mk + strlen(MARK_DATA), 1, (size_t)(ml - mk - strlen(MARK_DATA)), c->f);
	fwrite_unlocked(b64.p, 1, b64.n, c->f);
	viz_buf_free(&raw);
	viz_buf_free(&b64);
	fwrite_unlocked(ml + strlen(MARK_LOD), 1, (size_t)(mt - ml - strlen(MARK_LOD)), c->f);
	for (size_t i = 0; i < h->nix; i++) {
		fprintf(c->f, "<script type=\"application/octet-stream\" id=\"lwkt-t%zu\">", i);
		fwrite_unlocked(h->tiles.p + h->ix[i].off, 1, h->ix[i].len, c->f);
		fputs_unlocked("</script>\n", c->f);
	}
	fputs_unlocked(mt + strlen(MARK_TILES), c->f);
	return ferror(c->f) ? -1 : 0;
oom:
	viz_buf_free(&raw);
	viz_buf_free(&b64);
	return -1;
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
	.fini = h_fini,
};
