/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * model.c - turns the lwkt event stream into spans, flows and latencies
 * (see model.h).  Memory: per lane a fixed struct; one hash entry per
 * message or IPI in flight and per named thread; 8 bytes per latency
 * sample.  Everything else is handed to the output as soon as it closes.
 */
#include "model.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * The descriptors, from the schema table: names and types at compile
 * time (a dispatch on the number of "TYPE, field" items, 2..12); the own
 * and tid indexes by name at first use (pthread_once).
 */
#define VD_NARG(...) VD_NARG_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define VD_NARG_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, n, ...) n
#define VD_CAT(a, b) VD_CAT_(a, b)
#define VD_CAT_(a, b) a##b
#define VD_N(...) VD_CAT(VD_N, VD_NARG(__VA_ARGS__))(__VA_ARGS__)
#define VD_N2(t, n) #n
#define VD_N4(t, n, ...) #n, VD_N2(__VA_ARGS__)
#define VD_N6(t, n, ...) #n, VD_N4(__VA_ARGS__)
#define VD_N8(t, n, ...) #n, VD_N6(__VA_ARGS__)
#define VD_N10(t, n, ...) #n, VD_N8(__VA_ARGS__)
#define VD_N12(t, n, ...) #n, VD_N10(__VA_ARGS__)
#define VD_T(...) VD_CAT(VD_T, VD_NARG(__VA_ARGS__))(__VA_ARGS__)
#define VD_T2(t, n) VIZ_FT_##t
#define VD_T4(t, n, ...) VIZ_FT_##t, VD_T2(__VA_ARGS__)
#define VD_T6(t, n, ...) VIZ_FT_##t, VD_T4(__VA_ARGS__)
#define VD_T8(t, n, ...) VIZ_FT_##t, VD_T6(__VA_ARGS__)
#define VD_T10(t, n, ...) VIZ_FT_##t, VD_T8(__VA_ARGS__)
#define VD_T12(t, n, ...) VIZ_FT_##t, VD_T10(__VA_ARGS__)

static struct viz_evdesc evdesc[VIZ_EV__COUNT] = {
	[VIZ_EV_GENERIC] = { "", { NULL }, { 0 }, -1, -1 },
#define LWKT_EVENT(name, own, doc, ...) \
	[VIZ_EV_##name] = { #name, { VD_N(__VA_ARGS__), NULL }, \
			    { VD_T(__VA_ARGS__) }, -1, -1 },
#include "../trace/lwkt_events.def"
#undef LWKT_EVENT
};

static const char *const evown[VIZ_EV__COUNT] = {
	[VIZ_EV_GENERIC] = "NONE",
#define LWKT_EVENT(name, own, doc, ...) [VIZ_EV_##name] = #own,
#include "../trace/lwkt_events.def"
#undef LWKT_EVENT
};

static pthread_once_t evdesc_once = PTHREAD_ONCE_INIT;

static void
evdesc_init(void)
{
	for (int k = 1; k < VIZ_EV__COUNT; k++) {
		for (int i = 0; evdesc[k].f[i]; i++) {
			if (strcmp(evdesc[k].f[i], evown[k]) == 0)
				evdesc[k].own = i;
			/* thread_create's tid is the new thread, not the one
			 * running (the table says so). */
			if (strcmp(evdesc[k].f[i], "tid") == 0 &&
			    k != VIZ_EV_thread_create)
				evdesc[k].tid = i;
		}
	}
}

const struct viz_evdesc *
viz_evdesc_get(void)
{
	pthread_once(&evdesc_once, evdesc_init);
	return evdesc;
}

const char *const viz_msg_cat_name[VIZ_MSG__COUNT] = {
	"msg", "ipi", "mutexq", "mpi",
};

const char *const viz_span_kind_name[VIZ_SPAN__COUNT] = {
	"thread", "idle", "sleep", "crit", "ipi", "unknown", "netisr",
	"sysmsg",
};

const char *const viz_lat_name[VIZ_LAT__COUNT] = {
	"send->dispatch", "send->reply", "ipi send->recv",
	"mutexq enqueue->dequeue", "mpi send->recv",
};

enum viz_evk
viz_evk_from_name(const char *name)
{
	for (int k = 1; k < VIZ_EV__COUNT; k++)
		if (strcmp(VIZ_EVDESC[k].name, name) == 0)
			return (enum viz_evk)k;
	return VIZ_EV_GENERIC;
}

/* ---- a small open-addressing hash: (k1, k2) -> struct viz_msg or name */

struct viz_slot {
	uint64_t k1, k2;	/* k2 == 0: empty (keys always set bit 63) */
	struct viz_msg msg;
	char *name;		/* owned, names map only */
	size_t name_len;
};

struct viz_map {
	struct viz_slot *s;
	size_t cap, n;		/* cap: power of two; n < cap / 2 */
};

#define KEY_MSG (1ull << 63)
#define KEY_IPI ((1ull << 63) | (1ull << 62))
#define KEY_TID ((1ull << 63) | (1ull << 61))
#define KEY_MQ ((1ull << 63) | (1ull << 60))
#define KEY_MPI ((1ull << 63) | (1ull << 59))
#define KEY_SPAN ((1ull << 63) | (1ull << 58))	/* | kind: msg -> lane */

static size_t
map_hash(uint64_t k1, uint64_t k2)
{
	uint64_t h = (k1 ^ (k2 * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return (size_t)(h ^ (h >> 29));
}

static struct viz_map *
map_new(void)
{
	struct viz_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cap = 64;
	m->s = calloc(m->cap, sizeof(*m->s));
	if (!m->s) {
		free(m);
		return NULL;
	}
	return m;
}

static void
map_free(struct viz_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->s[i].name);
	free(m->s);
	free(m);
}

static struct viz_slot *
map_find(struct viz_map *m, uint64_t k1, uint64_t k2)
{
	size_t mask = m->cap - 1;

	for (size_t i = map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
		if (m->s[i].k2 == 0)
			return NULL;
		if (m->s[i].k1 == k1 && m->s[i].k2 == k2)
			return &m->s[i];
	}
}

static int map_grow(struct viz_map *m);

/* Finds or inserts; *fresh tells which.  NULL on ENOMEM. */
static struct viz_slot *
map_put(struct viz_map *m, uint64_t k1, uint64_t k2, bool *fresh)
{
	size_t mask;

	if ((m->n + 1) * 2 > m->cap && map_grow(m))
		return NULL;
	mask = m->cap - 1;
	for (size_t i = map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
		struct viz_slot *s = &m->s[i];
		if (s->k2 == 0) {
			memset(s, 0, sizeof(*s));
			s->k1 = k1;
			s->k2 = k2;
			m->n++;
			*fresh = true;
			return s;
		}
		if (s->k1 == k1 && s->k2 == k2) {
			*fresh = false;
			return s;
		}
	}
}

static int
map_grow(struct viz_map *m)
{
	struct viz_map nm = { calloc(m->cap * 2, sizeof(*m->s)), m->cap * 2, 0 };
	bool fresh;

	if (!nm.s)
		return ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->s[i].k2 == 0)
			continue;
		struct viz_slot *d = map_put(&nm, m->s[i].k1, m->s[i].k2, &fresh);
		*d = m->s[i];
	}
	free(m->s);
	*m = nm;
	return 0;
}

/* Removes s; backward-shift deletion keeps probe chains without
 * tombstones. */
static void
map_del(struct viz_map *m, struct viz_slot *s)
{
	size_t mask = m->cap - 1, i = (size_t)(s - m->s), j = i;

	free(s->name);
	for (;;) {
		j = (j + 1) & mask;
		if (m->s[j].k2 == 0)
			break;
		size_t h = map_hash(m->s[j].k1, m->s[j].k2) & mask;
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	memset(&m->s[i], 0, sizeof(m->s[i]));
	m->n--;
}

/* ---- lanes */

struct viz_frame {
	enum viz_span_kind kind;
	uint64_t t0, label;
};

struct viz_lane {
	bool used;
	int pu;			/* last PU seen recording this lane */
	bool have_tid;		/* cur_tid known (a switch was seen) */
	uint64_t cur_tid;
	int sp;			/* open frames: st[0] state, st[1..] nested */
	struct viz_frame st[VIZ_MAX_DEPTH];
	uint64_t tlast;		/* latest event time on this lane */
	uint64_t gend;		/* end of the lane's latest gap */
};

static int
lane_get(struct viz_model *m, int lane, struct viz_lane **out)
{
	if (lane < 0 || lane >= VIZ_MAX_LANES)
		return EINVAL;
	if (lane >= m->nlanes) {
		int n = m->nlanes ? m->nlanes : 8;
		while (n <= lane)
			n *= 2;
		struct viz_lane *l = realloc(m->lanes, (size_t)n * sizeof(*l));
		if (!l)
			return ENOMEM;
		memset(l + m->nlanes, 0, (size_t)(n - m->nlanes) * sizeof(*l));
		for (int i = m->nlanes; i < n; i++)
			l[i].pu = -1;
		m->lanes = l;
		m->nlanes = n;
	}
	struct viz_lane *l = &m->lanes[lane];
	if (!l->used) {
		l->used = true;
		if (m->ops->lane_new(m->out, lane))
			return -1;
	}
	*out = l;
	return 0;
}

bool
viz_model_lane_used(const struct viz_model *m, int lane)
{
	return lane >= 0 && lane < m->nlanes && m->lanes[lane].used;
}

int
viz_model_lane_pu(const struct viz_model *m, int lane)
{
	return viz_model_lane_used(m, lane) ? m->lanes[lane].pu : -1;
}

/* Closes frames down to (and including) depth d at t, inner first. */
static int
lane_close_to(struct viz_model *m, int lane, struct viz_lane *l, int d,
	      uint64_t t, unsigned inner_flags, unsigned self_flags)
{
	while (l->sp > d) {
		struct viz_frame *f = &l->st[--l->sp];
		struct viz_span s = { lane, l->sp, f->kind, f->t0, t, f->label,
			l->sp > d ? inner_flags : self_flags };
		if (m->ops->span(m->out, &s))
			return -1;
	}
	return 0;
}

static void
lane_open(struct viz_lane *l, enum viz_span_kind k, uint64_t t, uint64_t label)
{
	l->st[l->sp++] = (struct viz_frame){ k, t, label };
}

/* Sets the running state (depth 0) to kind k from t. */
static int
lane_state(struct viz_model *m, int lane, struct viz_lane *l,
	   enum viz_span_kind k, uint64_t t, uint64_t label)
{
	if (lane_close_to(m, lane, l, 0, t, VIZ_SPAN_CUT, 0))
		return -1;
	lane_open(l, k, t, label);
	return 0;
}

static int
lane_push(struct viz_model *m, int lane, struct viz_lane *l,
	  enum viz_span_kind k, uint64_t t, uint64_t label)
{
	/* crit_enter is traced at the outermost level only and IPI
	 * callbacks do not nest: one of the same kind still open lost its
	 * end (lost events, or a trace that starts inside it). */
	for (int d = l->sp - 1; d >= 1; d--) {
		if (l->st[d].kind == k) {
			m->c.unmatched++;
			if (lane_close_to(m, lane, l, d, t, VIZ_SPAN_CUT, VIZ_SPAN_CUT))
				return -1;
			break;
		}
	}
	if (l->sp == 0)
		lane_open(l, VIZ_SPAN_UNKNOWN, t, 0);	/* keeps depths stable */
	if (l->sp >= VIZ_MAX_DEPTH) {
		m->c.depth_overflow++;
		return 0;
	}
	lane_open(l, k, t, label);
	return 0;
}

/* Closes the innermost open section of kind k (and what is inside it). */
static int
lane_pop(struct viz_model *m, int lane, struct viz_lane *l,
	 enum viz_span_kind k, uint64_t t)
{
	for (int d = l->sp - 1; d >= 1; d--)
		if (l->st[d].kind == k)
			return lane_close_to(m, lane, l, d, t, VIZ_SPAN_CUT, 0);
	m->c.unmatched++;
	return 0;
}

/* ---- latency */

static int
lat_add(struct viz_model *m, enum viz_lat_metric metric, int src, int dst,
	uint64_t v)
{
	if (src < 0 || dst < 0 || src >= VIZ_LAT_LANES || dst >= VIZ_LAT_LANES)
		return 0;
	int *ix = &m->lat_idx[((size_t)metric * VIZ_LAT_LANES + (size_t)src) *
			      VIZ_LAT_LANES + (size_t)dst];
	if (*ix == 0) {
		if (m->nlat == m->caplat) {
			size_t nc = m->caplat ? m->caplat * 2 : 16;
			struct viz_lat *nl = realloc(m->lat, nc * sizeof(*nl));
			if (!nl)
				return ENOMEM;
			m->lat = nl;
			m->caplat = nc;
		}
		m->lat[m->nlat] = (struct viz_lat){ metric, src, dst, 0, 0, NULL };
		*ix = (int)++m->nlat;
	}
	struct viz_lat *l = &m->lat[*ix - 1];
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		uint64_t *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = v;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t
rank(const struct viz_lat *l, unsigned pct)
{
	/* Nearest rank: the smallest value with at least pct% at or below. */
	size_t r = (l->n * pct + 99) / 100;
	return l->v[r ? r - 1 : 0];
}

void
viz_lat_stats(struct viz_lat *l, struct viz_lat_stats *st)
{
	double sum = 0;

	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	for (size_t i = 0; i < l->n; i++)
		sum += (double)l->v[i];
	st->min = l->v[0];
	st->p50 = rank(l, 50);
	st->p90 = rank(l, 90);
	st->p99 = rank(l, 99);
	st->max = l->v[l->n - 1];
	st->mean = sum / (double)l->n;
}

/* ---- life cycle */

int
viz_model_init(struct viz_model *m, const struct viz_out_ops *ops, void *out)
{
	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->out = out;
	m->next_flow = 1;
	for (size_t i = 0; i < sizeof(m->pu_lane) / sizeof(m->pu_lane[0]); i++)
		m->pu_lane[i] = -1;
	m->open = map_new();
	m->names = map_new();
	m->lat_idx = calloc((size_t)VIZ_LAT__COUNT * VIZ_LAT_LANES * VIZ_LAT_LANES,
			    sizeof(*m->lat_idx));
	if (!m->open || !m->names || !m->lat_idx) {
		viz_model_fini(m);
		return ENOMEM;
	}
	return 0;
}

void
viz_model_fini(struct viz_model *m)
{
	map_free(m->open);
	map_free(m->names);
	for (size_t i = 0; i < m->nlat; i++)
		free(m->lat[i].v);
	free(m->lat);
	free(m->lat_idx);
	free(m->lanes);
	free(m->command);
	memset(m, 0, sizeof(*m));
}

const char *
viz_model_thread_name(const struct viz_model *m, uint64_t tid, size_t *len)
{
	struct viz_slot *s = map_find(m->names, tid, KEY_TID);

	if (!s)
		return NULL;
	*len = s->name_len;
	return s->name;
}

/* ---- events */

/*
 * No running state known (the trace starts mid-run, or lost events cut
 * it): an event that names the running thread starts its span; any other
 * starts an "unknown" one, so every step and flow has an enclosing span.
 * Below a nested section already open, the unknown span turns into the
 * thread's (keeping the nesting proper).
 */
static int
lane_infer(struct viz_model *m, int lane, struct viz_lane *l,
	   const struct viz_ev *ev, uint64_t t)
{
	int tf = VIZ_EVDESC[ev->k].tid;

	switch (ev->k) {
	case VIZ_EV_thread_switch: case VIZ_EV_idle_enter:
	case VIZ_EV_idle_sleep: case VIZ_EV_idle_exit:
		return 0;	/* they set the state themselves */
	default:
		break;
	}
	if (tf < 0) {
		if (l->sp == 0)
			lane_open(l, VIZ_SPAN_UNKNOWN, t, 0);
		return 0;
	}
	if (l->sp > 0 && l->st[0].kind != VIZ_SPAN_UNKNOWN)
		return 0;
	l->have_tid = true;
	l->cur_tid = ev->a[tf];
	if (l->sp > 1) {
		l->st[0].kind = VIZ_SPAN_THREAD;
		l->st[0].label = ev->a[tf];
		return 0;
	}
	return lane_state(m, lane, l, VIZ_SPAN_THREAD, t, ev->a[tf]);
}

static int
on_msg(struct viz_model *m, const struct viz_ev *ev, int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	struct viz_slot *s;
	bool fresh;

	switch (ev->k) {
	case VIZ_EV_msg_send:
		s = map_put(m->open, a[0], KEY_MSG, &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {
			/* The id was reused before a reply: close the old one. */
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.msgs_open++;
		}
		s->msg = (struct viz_msg){ .id = a[0], .port = a[1],
			.flow = m->next_flow++, .src = lane, .dst = (int)a[3],
			.t_send = t, .disp_lane = -1, .reply_lane = -1 };
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	case VIZ_EV_msg_dispatch:
		s = map_find(m->open, a[0], KEY_MSG);
		if (!s || s->msg.has_disp) {
			m->c.unmatched++;
			return 0;
		}
		s->msg.has_disp = true;
		s->msg.disp_lane = lane;
		s->msg.t_disp = t;
		if (lat_add(m, VIZ_LAT_SEND_DISPATCH, s->msg.src, lane,
			    t - s->msg.t_send))
			return ENOMEM;
		return m->ops->flow(m->out, VIZ_FLOW_STEP, &s->msg, lane, t);
	case VIZ_EV_msg_reply:
		s = map_find(m->open, a[0], KEY_MSG);
		if (!s) {
			m->c.unmatched++;
			return 0;
		}
		s->msg.has_reply = true;
		s->msg.reply_lane = lane;
		s->msg.t_reply = t;
		s->msg.error = (int64_t)a[5];
		if (lat_add(m, VIZ_LAT_SEND_REPLY, s->msg.src, s->msg.dst,
			    t - s->msg.t_send))
			return ENOMEM;
		if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t) ||
		    m->ops->msg_done(m->out, &s->msg))
			return -1;
		m->c.msgs_done++;
		map_del(m->open, s);
		return 0;
	default:
		return 0;
	}
}

static uint64_t
ipi_key(const uint64_t *a)
{
	return KEY_IPI | ((a[0] & 0xffff) << 16) | (a[1] & 0xffff);
}

static int
on_ipi(struct viz_model *m, struct viz_lane *l, const struct viz_ev *ev,
       int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	struct viz_slot *s;
	bool fresh;

	switch (ev->k) {
	case VIZ_EV_ipi_send:
		s = map_put(m->open, a[2], ipi_key(a), &fresh);
		if (!s)
			return ENOMEM;
		s->msg = (struct viz_msg){ .cat = VIZ_MSG_IPI, .id = a[2],
			.port = a[3], .flow = m->next_flow++, .src = lane,
			.dst = (int)a[1], .t_send = t, .disp_lane = -1,
			.reply_lane = -1 };
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	case VIZ_EV_ipi_recv:
		if (lane_push(m, lane, l, VIZ_SPAN_IPI, t, a[0]))
			return -1;
		s = map_find(m->open, a[2], ipi_key(a));
		if (!s) {
			m->c.unmatched++;
			return 0;
		}
		s->msg.has_disp = true;
		s->msg.disp_lane = lane;
		s->msg.t_disp = t;
		if (lat_add(m, VIZ_LAT_IPI, s->msg.src, lane, t - s->msg.t_send))
			return ENOMEM;
		if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t) ||
		    m->ops->msg_done(m->out, &s->msg))
			return -1;
		m->c.ipis_done++;
		map_del(m->open, s);
		return 0;
	case VIZ_EV_ipi_done:
		return lane_pop(m, lane, l, VIZ_SPAN_IPI, t);
	default:
		return 0;
	}
}

/*
 * Baseline pairs: mutexq (queue_id, seq) enqueue -> dequeue and MPI
 * (sender, receiver, tag, seq) send -> recv, between the lanes of the PUs
 * that recorded them.  A key seen again before its receive (a benchmark
 * restarts its queues with seq 0) reports the old one unfinished.
 */
static int
on_pair(struct viz_model *m, const struct viz_ev *ev, int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	bool mq = ev->k == VIZ_EV_mutexq_enqueue || ev->k == VIZ_EV_mutexq_dequeue;
	bool start = ev->k == VIZ_EV_mutexq_enqueue || ev->k == VIZ_EV_mpi_send;
	uint64_t k1, k2;
	struct viz_slot *s;
	bool fresh;

	if (mq) {
		k1 = a[2];
		k2 = KEY_MQ | (a[0] & 0xfffffffffffull);
	} else {
		/* send: rank = sender; recv: rank = receiver. */
		uint64_t snd = start ? a[0] : a[1], rcv = start ? a[1] : a[0];
		k1 = a[4];
		k2 = KEY_MPI | ((snd & 0xffff) << 32) | ((rcv & 0xffff) << 16) |
		     (a[2] & 0xffff);
	}
	if (start) {
		s = map_put(m->open, k1, k2, &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {
			/* Ends here, at this event's own (zero-length) slice. */
			if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t) ||
			    m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.msgs_open++;
		}
		s->msg = (struct viz_msg){ .cat = mq ? VIZ_MSG_MUTEXQ : VIZ_MSG_MPI,
			.id = mq ? a[2] : a[4], .port = mq ? a[0] : a[2],
			.flow = m->next_flow++, .src = lane, .dst = -1,
			.t_send = t, .disp_lane = -1, .reply_lane = -1 };
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	}
	s = map_find(m->open, k1, k2);
	if (!s) {
		m->c.unmatched++;
		return 0;
	}
	s->msg.has_disp = true;
	s->msg.disp_lane = lane;
	s->msg.dst = lane;
	s->msg.t_disp = t;
	if (lat_add(m, mq ? VIZ_LAT_MUTEXQ : VIZ_LAT_MPI, s->msg.src, lane,
		    t - s->msg.t_send))
		return ENOMEM;
	if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t) ||
	    m->ops->msg_done(m->out, &s->msg))
		return -1;
	m->c.pairs_done++;
	map_del(m->open, s);
	return 0;
}

/*
 * Sections joined by an object's address (its begin may be the only step
 * that names the cpu): a protocol thread's handler (netisr_dispatch_begin
 * on its cpu -> netisr_dispatch_end) and a served system call
 * (sysmsg_begin -> sysmsg_end, on the lane of the PU that recorded them).
 * The map remembers the lane of the begin.
 */
static int
on_span(struct viz_model *m, const struct viz_ev *ev, int lane,
	struct viz_lane *l, uint64_t t)
{
	bool begin = ev->k == VIZ_EV_netisr_dispatch_begin ||
		     ev->k == VIZ_EV_sysmsg_begin;
	bool netisr = ev->k == VIZ_EV_netisr_dispatch_begin ||
		      ev->k == VIZ_EV_netisr_dispatch_end;
	enum viz_span_kind kind = netisr ? VIZ_SPAN_NETISR : VIZ_SPAN_SYSMSG;
	uint64_t k2 = KEY_SPAN | (uint64_t)kind;
	struct viz_slot *s;
	bool fresh;

	if (begin) {
		s = map_put(m->open, ev->a[0], k2, &fresh);
		if (!s)
			return ENOMEM;
		s->msg = (struct viz_msg){ .src = lane };
		return lane_push(m, lane, l, kind, t, netisr ? ev->a[2] : ev->a[1]);
	}
	s = map_find(m->open, ev->a[0], k2);
	if (!s) {
		m->c.unmatched++;
		return m->ops->instant(m->out, ev, lane, t);
	}
	int bl = s->msg.src;
	map_del(m->open, s);
	if (bl != lane && lane_get(m, bl, &l))
		return 0;
	if (bl != lane)
		l->tlast = t;
	if (ev->k == VIZ_EV_sysmsg_end && m->ops->instant(m->out, ev, bl, t))
		return -1;
	return lane_pop(m, bl, l, kind, t);
}

int
viz_model_event(struct viz_model *m, const struct viz_ev *ev)
{
	struct viz_lane *l;
	int lane, rc;
	uint64_t t;

	m->c.events++;
	/* The recorder's calibration burst and its result come before the
	 * command: not drawn, and not the start of the timeline. */
	if (ev->k == VIZ_EV_calib_tick) {
		m->c.calib_events++;
		return 0;
	}
	if (ev->k == VIZ_EV_record_info) {
		char *cmd = malloc(ev->str_len + 1);
		if (!cmd)
			return ENOMEM;
		memcpy(cmd, ev->str ? ev->str : "", ev->str_len);
		cmd[ev->str_len] = '\0';
		free(m->command);
		m->command = cmd;
		m->event_cost_ps = ev->a[1];
		m->calib_n = ev->a[2];
		return 0;
	}
	if (!m->have_base) {
		m->have_base = true;
		m->base = ev->ts;
	}
	/* The muxer delivers time order; clamp a clock going backwards
	 * (it would break the outputs' per-lane order). */
	t = ev->ts >= m->base ? ev->ts - m->base : 0;
	if (t < m->last)
		t = m->last;
	m->last = t;

	if (ev->provider)
		m->c.provider_events++;
	if (VIZ_EVDESC[ev->k].own < 0) {
		if (ev->pu < 0) {
			m->c.no_cpu_events++;
			return 0;
		}
		m->c.generic_events++;
		lane = ev->pu < VIZ_MAX_LANES && m->pu_lane[ev->pu] >= 0 ?
		       m->pu_lane[ev->pu] : ev->pu;
		if ((rc = lane_get(m, lane, &l)))
			return rc == EINVAL ? 0 : rc;
		l->tlast = t;
		l->pu = ev->pu;
		switch (ev->k) {
		case VIZ_EV_mutexq_enqueue: case VIZ_EV_mutexq_dequeue:
		case VIZ_EV_mpi_send: case VIZ_EV_mpi_recv:
			if ((rc = on_pair(m, ev, lane, t)))
				return rc;
			break;
		case VIZ_EV_netisr_dispatch_end:
		case VIZ_EV_sysmsg_begin: case VIZ_EV_sysmsg_end:
			return on_span(m, ev, lane, l, t);
		default:
			break;
		}
		return m->ops->instant(m->out, ev, lane, t);
	}

	m->c.lwkt_events++;
	lane = (int)ev->a[VIZ_EVDESC[ev->k].own];
	if (ev->a[VIZ_EVDESC[ev->k].own] >= VIZ_MAX_LANES) {
		m->c.bad_version++;
		return 0;
	}
	if ((rc = lane_get(m, lane, &l)))
		return rc;
	l->tlast = t;
	if (ev->pu >= 0 && ev->pu < VIZ_MAX_LANES) {
		l->pu = ev->pu;
		m->pu_lane[ev->pu] = lane;
	}

	if (lane_infer(m, lane, l, ev, t))
		return -1;

	switch (ev->k) {
	case VIZ_EV_thread_switch:
		l->have_tid = true;
		l->cur_tid = ev->a[2];
		return lane_state(m, lane, l, VIZ_SPAN_THREAD, t, ev->a[2]);
	case VIZ_EV_idle_enter:
		return lane_state(m, lane, l, VIZ_SPAN_IDLE, t, 0);
	case VIZ_EV_idle_sleep:
		if (m->ops->instant(m->out, ev, lane, t))
			return -1;
		return lane_state(m, lane, l, VIZ_SPAN_SLEEP, t, 0);
	case VIZ_EV_idle_exit:
		if (l->have_tid)
			return lane_state(m, lane, l, VIZ_SPAN_THREAD, t, l->cur_tid);
		return lane_close_to(m, lane, l, 0, t, VIZ_SPAN_CUT, 0);
	case VIZ_EV_thread_exit:
		if (m->ops->instant(m->out, ev, lane, t))
			return -1;
		if (l->have_tid && l->cur_tid == ev->a[1] && l->sp > 0 &&
		    l->st[0].kind == VIZ_SPAN_THREAD) {
			l->have_tid = false;
			return lane_close_to(m, lane, l, 0, t, VIZ_SPAN_CUT, 0);
		}
		return 0;
	case VIZ_EV_crit_enter:
		return lane_push(m, lane, l, VIZ_SPAN_CRIT, t, ev->a[1]);
	case VIZ_EV_crit_exit:
		return lane_pop(m, lane, l, VIZ_SPAN_CRIT, t);
	case VIZ_EV_thread_create: {
		bool fresh;
		struct viz_slot *s = map_put(m->names, ev->a[1], KEY_TID, &fresh);
		char *nm = malloc(ev->str_len + 1);
		if (!s || !nm) {
			free(nm);
			return ENOMEM;
		}
		memcpy(nm, ev->str ? ev->str : "", ev->str_len);
		nm[ev->str_len] = '\0';
		free(s->name);
		s->name = nm;
		s->name_len = ev->str_len;
		if (m->ops->thread_name(m->out, ev->a[1], nm, ev->str_len))
			return -1;
		return m->ops->instant(m->out, ev, lane, t);
	}
	case VIZ_EV_msg_send:
	case VIZ_EV_msg_dispatch:
	case VIZ_EV_msg_reply:
		return on_msg(m, ev, lane, t);
	case VIZ_EV_netisr_dispatch_begin:
		return on_span(m, ev, lane, l, t);
	case VIZ_EV_ipi_send:
	case VIZ_EV_ipi_recv:
	case VIZ_EV_ipi_done:
		return on_ipi(m, l, ev, lane, t);
	default:
		/* ring full, wake, waits, tokens: marks on the lane. */
		return m->ops->instant(m->out, ev, lane, t);
	}
}

int
viz_model_lost(struct viz_model *m, int pu, bool have_time, uint64_t t0,
	       uint64_t t1, uint64_t count, bool packets)
{
	struct viz_lane *l;
	int lane, rc;

	if (packets)
		m->c.lost_packets += count;
	else
		m->c.lost_events += count;
	m->c.gaps++;
	if (pu < 0 || pu >= VIZ_MAX_LANES)
		return 0;
	lane = m->pu_lane[pu] >= 0 ? m->pu_lane[pu] : pu;
	if ((rc = lane_get(m, lane, &l)))
		return rc;
	if (!m->have_base) {
		m->have_base = true;
		m->base = have_time ? t0 : 0;
	}
	t0 = have_time && t0 >= m->base ? t0 - m->base : l->tlast;
	t1 = have_time && t1 >= m->base ? t1 - m->base : l->tlast;
	/* Gaps of one lane do not overlap (two streams of one PU, or a PU
	 * that recorded two lwkt cpus): start after the previous one. */
	if (t0 < l->gend)
		t0 = l->gend;
	if (t1 < t0)
		t1 = t0;
	l->gend = t1;
	/*
	 * babeltrace2 bounds the loss by [end of the previous packet, end of
	 * the packet that counted it]: events of that packet inside the
	 * range are still in the trace.  So the gap is an overlay on the
	 * lane (its own Chrome track), and what was open on the lane is
	 * unknown from its start: close it, cut, there (not before what
	 * the lane already reported).
	 */
	if (lane_close_to(m, lane, l, 0, t0 > l->tlast ? t0 : l->tlast,
			  VIZ_SPAN_CUT, VIZ_SPAN_CUT))
		return -1;
	l->have_tid = false;
	return m->ops->gap(m->out, lane, t0, t1, count, packets);
}

int
viz_model_finish(struct viz_model *m)
{
	/* Messages and IPIs still in flight: report, ending their flows at
	 * the end of the trace on the lane of their last step, inside the
	 * spans still open there (or a zero-length "unknown" span if a gap
	 * left nothing open: a flow step needs an enclosing slice). */
	for (size_t i = 0; i < m->open->cap; i++) {
		struct viz_slot *s = &m->open->s[i];
		if (s->k2 == 0 || (s->k2 & KEY_SPAN) == KEY_SPAN)
			continue;
		int lane = s->msg.has_disp ? s->msg.disp_lane : s->msg.src;
		struct viz_lane *l;
		if (lane_get(m, lane, &l))
			continue;	/* a lane of a bad id: nothing drawn */
		if (l->sp == 0)
			lane_open(l, VIZ_SPAN_UNKNOWN, m->last, 0);
		if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, m->last) ||
		    m->ops->msg_done(m->out, &s->msg))
			return -1;
		m->c.msgs_open++;
	}
	for (int i = 0; i < m->nlanes; i++) {
		struct viz_lane *l = &m->lanes[i];
		if (l->used && lane_close_to(m, i, l, 0, m->last, VIZ_SPAN_CUT,
					     VIZ_SPAN_CUT))
			return -1;
	}
	return 0;
}
