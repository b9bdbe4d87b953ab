/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * model.c - turns the lwkt event stream into spans, overlays, flows,
 * latencies and per-message stage breakdowns (see model.h).  Memory: per
 * lane a fixed struct; one hash entry per lane, process PU, thread,
 * message, IPI, wait or token hold in flight; 8 (16 when calibrated)
 * bytes per latency or stage sample.  Everything else is handed to the
 * output as soon as it closes.
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
	"msg", "ipi", "mutexq", "mpi", "token",
};

const char *const viz_span_kind_name[VIZ_SPAN__COUNT] = {
	"thread", "idle", "sleep", "crit", "ipi", "unknown", "netisr",
	"sysmsg",
};

const char *const viz_ov_kind_name[VIZ_OV__COUNT] = {
	"wait for reply", "wait for token", "token held",
};

const char *const viz_lat_name[VIZ_LAT__COUNT] = {
	"send->dispatch", "send->reply", "ipi send->recv",
	"mutexq enqueue->dequeue", "mpi send->recv",
	"msg total", "-> ring write", "-> target notices", "-> dispatch",
	"handler (-> reply)", "-> reply ring write", "-> sender notices",
	"-> sender resumes",
	"token request->acquire", "token -> transfer", "token -> acquire",
	"mutexq -> wake", "mutexq -> dequeue",
};

enum viz_evk
viz_evk_from_name(const char *name)
{
	const struct viz_evdesc *d = viz_evdesc_get();

	for (int k = 1; k < VIZ_EV__COUNT; k++)
		if (strcmp(d[k].name, name) == 0)
			return (enum viz_evk)k;
	return VIZ_EV_GENERIC;
}

/* ---- a small open-addressing hash: (k1, k2) -> slot */

struct viz_frame {
	enum viz_span_kind kind;
	uint64_t t0, label;
	int name_id;
	unsigned flags;		/* VIZ_SPAN_RESUMED */
};

/* One entry; which fields are used depends on the key type (KT_*). */
struct viz_slot {
	uint64_t k1, k2;	/* k2 == 0: empty (keys never are 0) */
	struct viz_msg msg;	/* KT_MSG, KT_IPI, KT_MQ, KT_MPI, KT_TOKX */
	char *name;		/* owned: KT_THR's name */
	size_t name_len;
	int ival;		/* KT_LANE: lane; KT_PU: cpu; KT_LAT: index;
				 * KT_PROC: process key;
				 * KT_THR: name id; spans: lane */
	struct viz_frame saved[VIZ_MAX_DEPTH];	/* KT_THR: suspended */
	int nsaved;
	struct viz_overlay ov;	/* KT_WAIT, KT_TOKW, KT_TOKH */
	uint64_t t_xfer, cnt0;	/* KT_TOKW: transfer time, events at request */
	uint64_t t_wake;	/* KT_MQW */
};

struct viz_map {
	struct viz_slot *s;
	size_t cap, n;		/* cap: power of two; n < cap / 2 */
};

/* Key types: the top byte of k2. */
enum {
	KT_LANE = 1, KT_PU, KT_THR, KT_MSG, KT_IPI, KT_MQ, KT_MPI,
	KT_NETISR, KT_SYSMSG, KT_WAIT, KT_TOKW, KT_TOKH, KT_TOKX, KT_LAT,
	KT_MQW, KT_IPIWIN, KT_PROC,
};

/* k2: type | process (22 bits) | runtime instance (10) | a (12) | b (12).
 * The process is the model's process key (pk), not the vpid: a dense
 * index of (host, vpid), so that processes of several hosts (whose pids
 * may be equal) never share a key; every `vpid` argument below is one. */
static uint64_t
key2(unsigned type, uint32_t vpid, unsigned inst, uint64_t a, uint64_t b)
{
	return (uint64_t)type << 56 | (uint64_t)(vpid & 0x3fffff) << 34 |
	       (uint64_t)(inst & 0x3ff) << 24 | (a & 0xfff) << 12 | (b & 0xfff);
}

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

/* Finds or inserts; *fresh tells which.  NULL on ENOMEM.  A pointer into
 * the map is valid until the next map_put or map_del on it. */
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

/* ---- processes */

struct viz_proc {
	struct viz_proc *next;	/* owned: a list, so pointers stay valid */
	uint32_t pk;		/* process key: (host, vpid) */
	unsigned inst;		/* runtime instance: runtime_init count */
	int bench;		/* benchmark running now, 0 none */
	uint64_t bench_t0;
};

static struct viz_proc *
proc_get(struct viz_model *m, uint32_t vpid)
{
	struct viz_proc *p;

	for (p = m->procs; p; p = p->next)
		if (p->pk == vpid)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pk = vpid;
	p->next = m->procs;
	m->procs = p;
	m->nprocs++;
	return p;
}

/* ---- lanes */

struct viz_lane {
	bool used;
	uint32_t pk;		/* process key: (host, vpid) */
	int cpu;		/* lwkt cpu (or PU for a lane of PU events) */
	int pu;			/* last PU seen recording this lane */
	bool have_tid;		/* cur_tid known (a switch was seen) */
	uint64_t cur_tid;
	int sp;			/* open frames: st[0] state, st[1..] nested */
	struct viz_frame st[VIZ_MAX_DEPTH];
	uint64_t tlast;		/* latest event time on this lane */
	uint64_t gend;		/* end of the lane's latest gap */
	uint64_t nev;		/* events recorded on this lane so far */
	/* The latest message sent (and reply sent) here that waits for
	 * the IPI carrying it: the next ipi_send of this lane. */
	bool pend_msg, pend_reply;
	uint64_t pend_msg_id, pend_reply_id;
	uint32_t pend_msg_dst, pend_reply_dst;
};

/* The lane of (vpid, cpu), created on first use.  -1 on a bad cpu,
 * -2 on ENOMEM or an output error. */
static int
lane_id(struct viz_model *m, uint32_t vpid, uint64_t cpu)
{
	struct viz_slot *s;
	bool fresh;

	if (cpu >= VIZ_MAX_LANES)
		return -1;
	s = map_put(m->keys, cpu, key2(KT_LANE, vpid, 0, 0, 0), &fresh);
	if (!s)
		return -2;
	if (!fresh)
		return s->ival;
	if (m->nlanes == VIZ_MAX_LANES) {
		map_del(m->keys, s);
		return -1;
	}
	if (m->nlanes == m->caplanes) {
		int n = m->caplanes ? m->caplanes * 2 : 8;
		struct viz_lane *l = realloc(m->lanes, (size_t)n * sizeof(*l));
		if (!l) {
			map_del(m->keys, s);
			return -2;
		}
		m->lanes = l;
		m->caplanes = n;
	}
	int id = m->nlanes++;
	s->ival = id;
	m->lanes[id] = (struct viz_lane){ .used = true, .pk = vpid,
		.cpu = (int)cpu, .pu = -1 };
	if (m->ops->lane_new(m->out, id))
		return -2;
	return id;
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

uint32_t
viz_model_lane_vpid(const struct viz_model *m, int lane)
{
	return viz_model_lane_used(m, lane) ? m->pks[m->lanes[lane].pk].vpid : 0;
}

int
viz_model_lane_host(const struct viz_model *m, int lane)
{
	return viz_model_lane_used(m, lane) ? m->pks[m->lanes[lane].pk].host : 0;
}

int
viz_model_host(struct viz_model *m, const char *name, size_t len)
{
	for (int i = 0; i < m->nhosts; i++)
		if (strlen(m->hosts[i]) == len && memcmp(m->hosts[i], name, len) == 0)
			return i;
	char **h = realloc(m->hosts, (size_t)(m->nhosts + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	m->hosts = h;
	if (!(h[m->nhosts] = strndup(name, len)))
		return -ENOMEM;
	return m->nhosts++;
}

const char *
viz_model_host_name(const struct viz_model *m, int host)
{
	return host >= 0 && host < m->nhosts ? m->hosts[host] : "";
}

/* The process key of (host, vpid), made on first use; 0 on ENOMEM (key 0
 * is never handed out).  The last one is cached: events come in runs. */
static uint32_t
pk_get(struct viz_model *m, int host, uint32_t vpid)
{
	struct viz_slot *s;
	bool fresh;

	if (m->npks && host == m->pk_host && vpid == m->pk_vpid)
		return m->pk_last;
	s = map_put(m->keys, vpid, key2(KT_PROC, 0, 0, (uint64_t)host >> 12,
					 (uint64_t)host), &fresh);
	if (!s)
		return 0;
	if (fresh) {
		if (m->npks == 0)
			m->npks = 1;	/* 0: none */
		if (m->npks >= m->cappks) {
			uint32_t n = m->cappks ? m->cappks * 2 : 16;
			void *p = n < 0x3fffff ? realloc(m->pks, n * sizeof(*m->pks)) : NULL;
			if (!p) {
				map_del(m->keys, s);
				return 0;
			}
			m->pks = p;
			m->cappks = n;
		}
		m->pks[m->npks].vpid = vpid;
		m->pks[m->npks].host = host;
		s->ival = (int)m->npks++;
	}
	m->pk_host = host;
	m->pk_vpid = vpid;
	m->pk_last = (uint32_t)s->ival;
	return m->pk_last;
}

int
viz_model_lane_cpu(const struct viz_model *m, int lane)
{
	return viz_model_lane_used(m, lane) ? m->lanes[lane].cpu : -1;
}

/* Closes frames down to (and including) depth d at t, inner first. */
static int
lane_close_to(struct viz_model *m, int lane, struct viz_lane *l, int d,
	      uint64_t t, unsigned inner_flags, unsigned self_flags)
{
	while (l->sp > d) {
		struct viz_frame *f = &l->st[--l->sp];
		struct viz_span s = { lane, l->sp, f->kind, f->t0, t, f->label,
			f->flags | (l->sp > d ? inner_flags : self_flags),
			f->name_id };
		if (m->ops->span(m->out, &s))
			return -1;
	}
	return 0;
}

/* Pushes a frame and tells the output (span_open), if it asks. */
static int
lane_open(struct viz_model *m, int lane, struct viz_lane *l,
	  enum viz_span_kind k, uint64_t t, uint64_t label, int name_id,
	  unsigned flags)
{
	struct viz_span s = { lane, l->sp, k, t, t, label, flags, name_id };

	l->st[l->sp++] = (struct viz_frame){ k, t, label, name_id, flags };
	return m->ops->span_open ? m->ops->span_open(m->out, &s) : 0;
}

/* The name id of thread tid of the lane's process, -1 if unnamed. */
static int
thread_name_id(struct viz_model *m, uint32_t vpid, uint64_t tid)
{
	struct viz_proc *p = proc_get(m, vpid);
	struct viz_slot *s;

	if (!p)
		return -1;
	s = map_find(m->keys, tid, key2(KT_THR, vpid, p->inst, 0, 0));
	return s && s->name ? s->ival : -1;
}

/* Sets the running state (depth 0) to kind k from t. */
static int
lane_state(struct viz_model *m, int lane, struct viz_lane *l,
	   enum viz_span_kind k, uint64_t t, uint64_t label)
{
	if (lane_close_to(m, lane, l, 0, t, VIZ_SPAN_CUT, 0))
		return -1;
	return lane_open(m, lane, l, k, t, label, k == VIZ_SPAN_THREAD ?
			 thread_name_id(m, l->pk, label) : -1, 0);
}

static int
lane_push(struct viz_model *m, int lane, struct viz_lane *l,
	  enum viz_span_kind k, uint64_t t, uint64_t label)
{
	/* crit_enter is traced at the outermost level only and IPI
	 * callbacks do not nest: one of the same kind still open lost its
	 * end (lost events, or a trace that starts inside it). */
	if (k == VIZ_SPAN_CRIT || k == VIZ_SPAN_IPI) {
		for (int d = l->sp - 1; d >= 1; d--) {
			if (l->st[d].kind == k) {
				m->c.unmatched++;
				if (lane_close_to(m, lane, l, d, t, VIZ_SPAN_CUT,
						  VIZ_SPAN_CUT))
					return -1;
				break;
			}
		}
	}
	if (l->sp == 0 &&	/* keeps depths stable */
	    lane_open(m, lane, l, VIZ_SPAN_UNKNOWN, t, 0, -1, 0))
		return -1;
	if (l->sp >= VIZ_MAX_DEPTH) {
		m->c.depth_overflow++;
		return 0;
	}
	return lane_open(m, lane, l, k, t, label, k == VIZ_SPAN_CRIT ?
			 thread_name_id(m, l->pk, label) : -1, 0);
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

/*
 * A thread switch on a lane: the sections above the running state that
 * belong to the outgoing thread (a critical section, a protocol handler,
 * a served system call) are not over: they are closed as "suspended" and
 * saved with the thread, and reopened ("resumed") when it runs again.  An
 * IPI section belongs to the cpu: a switch inside one cuts everything.
 */
static int
lane_switch(struct viz_model *m, int lane, struct viz_lane *l,
	    uint64_t from, uint64_t to, uint64_t t)
{
	struct viz_proc *p = proc_get(m, l->pk);
	struct viz_slot *s;
	bool fresh, cpu_owned = false;

	if (!p)
		return ENOMEM;
	for (int d = 1; d < l->sp; d++)
		if (l->st[d].kind == VIZ_SPAN_IPI)
			cpu_owned = true;
	if (l->sp > 1 && !cpu_owned && l->have_tid && l->cur_tid == from) {
		s = map_put(m->keys, from, key2(KT_THR, l->pk, p->inst, 0, 0),
			    &fresh);
		if (!s)
			return ENOMEM;
		s->nsaved = l->sp - 1;
		memcpy(s->saved, &l->st[1], (size_t)s->nsaved * sizeof(s->saved[0]));
		m->c.suspended += (uint64_t)s->nsaved;
		if (lane_close_to(m, lane, l, 1, t, VIZ_SPAN_SUSPENDED,
				  VIZ_SPAN_SUSPENDED))
			return -1;
	}
	l->have_tid = true;
	l->cur_tid = to;
	if (lane_state(m, lane, l, VIZ_SPAN_THREAD, t, to))
		return -1;
	s = map_find(m->keys, to, key2(KT_THR, l->pk, p->inst, 0, 0));
	if (s && s->nsaved) {
		int n = s->nsaved;
		s->nsaved = 0;	/* reopened below, told to the output */
		struct viz_frame saved[VIZ_MAX_DEPTH];
		memcpy(saved, s->saved, (size_t)n * sizeof(saved[0]));
		for (int i = 0; i < n && l->sp < VIZ_MAX_DEPTH; i++)
			if (lane_open(m, lane, l, saved[i].kind, t, saved[i].label,
				      saved[i].name_id, VIZ_SPAN_RESUMED))
				return -1;
	}
	return 0;
}

/* ---- latency and stage samples */

static int
lat_add(struct viz_model *m, int bench, enum viz_lat_metric metric, int src,
	int dst, uint64_t v, uint64_t events)
{
	struct viz_slot *s;
	bool fresh;

	if (src < 0 || dst < 0 || !m->keep_samples)
		return 0;
	s = map_put(m->lat_idx, (uint64_t)bench << 8 | (uint64_t)metric,
		    key2(KT_LAT, 0, 0, (uint64_t)src, (uint64_t)dst), &fresh);
	if (!s)
		return ENOMEM;
	if (fresh) {
		if (m->nlat == m->caplat) {
			size_t nc = m->caplat ? m->caplat * 2 : 16;
			struct viz_lat *nl = realloc(m->lat, nc * sizeof(*nl));
			if (!nl)
				return ENOMEM;
			m->lat = nl;
			m->caplat = nc;
		}
		m->lat[m->nlat] = (struct viz_lat){ bench, metric, src, dst,
			0, 0, NULL, NULL };
		s->ival = (int)m->nlat++;
	}
	struct viz_lat *l = &m->lat[s->ival];
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		uint64_t *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return ENOMEM;
		l->v = nv;
		/* Counted from the first sample on, or not at all (a cost
		 * recorded after this metric's first samples). */
		if (m->event_cost_ps && (l->vc || l->n == 0)) {
			nv = realloc(l->vc, nc * sizeof(*nv));
			if (!nv)
				return ENOMEM;
			l->vc = nv;
		}
		l->cap = nc;
	}
	/*
	 * For the estimate without tracing: `events` is how many recorded
	 * events the interval holds (those of the cpu that did the later
	 * step, that step's own included), each costing the per-event cost
	 * that viz_model_finish() settles (calib_check) and subtracts.
	 */
	if (l->vc)
		l->vc[l->n] = events;
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
rank(const uint64_t *v, size_t n, unsigned pct)
{
	/* Nearest rank: the smallest value with at least pct% at or below. */
	size_t r = (n * pct + 99) / 100;
	return v[r ? r - 1 : 0];
}

void
viz_stats(uint64_t *v, size_t n, struct viz_lat_stats *st)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	st->min = v[0];
	st->p50 = rank(v, n, 50);
	st->p90 = rank(v, n, 90);
	st->p99 = rank(v, n, 99);
	st->max = v[n - 1];
	st->mean = sum / (double)n;
}

void
viz_lat_stats(struct viz_lat *l, struct viz_lat_stats *st)
{
	viz_stats(l->v, l->n, st);
}

/* ---- life cycle */

int
viz_model_init(struct viz_model *m, const struct viz_out_ops *ops, void *out)
{
	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->out = out;
	m->next_flow = 1;
	m->keys = map_new();
	m->open = map_new();
	m->lat_idx = map_new();
	m->bench = calloc(8, sizeof(*m->bench));
	if (!m->keys || !m->open || !m->lat_idx || !m->bench) {
		viz_model_fini(m);
		return ENOMEM;
	}
	m->capbench = 8;
	m->nbench = 1;		/* [0]: outside any benchmark */
	m->keep_samples = true;
	(void)viz_evdesc_get();
	return 0;
}

void
viz_model_fini(struct viz_model *m)
{
	map_free(m->keys);
	map_free(m->open);
	map_free(m->lat_idx);
	for (size_t i = 0; i < m->nlat; i++) {
		free(m->lat[i].v);
		free(m->lat[i].vc);
	}
	free(m->lat);
	for (int i = 0; i < m->nbench; i++)
		free(m->bench ? m->bench[i].name : NULL);
	free(m->bench);
	free(m->lanes);
	free(m->pgaps);
	for (int i = 0; i < m->nhosts; i++)
		free(m->hosts[i]);
	free(m->hosts);
	free(m->pks);
	while (m->procs) {
		struct viz_proc *n = m->procs->next;
		free(m->procs);
		m->procs = n;
	}
	free(m->command);
	memset(m, 0, sizeof(*m));
}

/* ---- events */

static int flush_pgaps(struct viz_model *m, int host, int pu, int lane);

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
			return lane_open(m, lane, l, VIZ_SPAN_UNKNOWN, t, 0, -1, 0);
		return 0;
	}
	if (l->sp > 0 && l->st[0].kind != VIZ_SPAN_UNKNOWN)
		return 0;
	l->have_tid = true;
	l->cur_tid = ev->a[tf];
	if (l->sp > 1) {
		l->st[0].kind = VIZ_SPAN_THREAD;
		l->st[0].label = ev->a[tf];
		l->st[0].name_id = thread_name_id(m, l->pk, ev->a[tf]);
		return 0;
	}
	return lane_state(m, lane, l, VIZ_SPAN_THREAD, t, ev->a[tf]);
}

static void
snap(struct viz_model *m, struct viz_msg *g, int st, int lane, uint64_t t)
{
	g->t[st] = t;
	g->lane[st] = lane;
	g->cnt[st][0] = g->src >= 0 ? m->lanes[g->src].nev : 0;
	g->cnt[st][1] = g->dst >= 0 ? m->lanes[g->dst].nev : 0;
}

static const enum viz_lat_metric stage_metric[VIZ_ST__COUNT] = {
	VIZ_LAT__COUNT, VIZ_LAT_ST_REQ_RING, VIZ_LAT_ST_REQ_NOTICE,
	VIZ_LAT_ST_DISPATCH, VIZ_LAT_ST_HANDLER, VIZ_LAT_ST_REP_RING,
	VIZ_LAT_ST_REP_NOTICE, VIZ_LAT_ST_RESUME,
};

/* Events on the lane of step `to` since step `from` (the later step's
 * own event included): what tracing added to that stage. */
static uint64_t
stage_events(const struct viz_msg *g, int from, int to)
{
	int i = g->lane[to] == g->src ? 0 : g->lane[to] == g->dst ? 1 : -1;

	if (i < 0 || g->cnt[to][i] < g->cnt[from][i])
		return 1;
	return g->cnt[to][i] - g->cnt[from][i];
}

/* A message is over: its stages (each from the latest step present
 * before it; a receive traced before its send counts 0) and its total. */
static int
msg_finish(struct viz_model *m, struct viz_slot *s)
{
	struct viz_msg *g = &s->msg;
	int dst = g->lane[VIZ_ST_DISPATCH] >= 0 ? g->lane[VIZ_ST_DISPATCH] : g->dst;
	int prev = VIZ_ST_SEND, last = VIZ_ST_SEND;
	uint64_t total_ev = 0;

	for (int st = 1; st < VIZ_ST__COUNT; st++) {
		if (g->t[st] == VIZ_NONE)
			continue;
		uint64_t d = g->t[st] >= g->t[prev] ? g->t[st] - g->t[prev] : 0;
		uint64_t k = stage_events(g, prev, st);
		if (lat_add(m, g->bench, stage_metric[st], g->src, dst, d, k))
			return ENOMEM;
		total_ev += k;
		prev = last = st;
	}
	if (last != VIZ_ST_SEND &&
	    lat_add(m, g->bench, VIZ_LAT_MSG_TOTAL, g->src, dst,
		    g->t[last] - g->t[VIZ_ST_SEND], total_ev))
		return ENOMEM;
	if (m->ops->msg_done(m->out, g))
		return -1;
	m->c.msgs_done++;
	map_del(m->open, s);
	return 0;
}

/*
 * The reply sent last on lane l waits for the next IPI of l to carry it
 * back; that IPI went elsewhere, or another reply took its place (one IPI
 * may carry several replies: the ring is read in batches).  Nothing more
 * of it will be seen: one that nobody waits for is over now (its back hop
 * has no end: none is invented; a wait that begins only later, after
 * lwkt_sendmsg and other work, is then not joined to it).  Without this, each such message would
 * stay in flight to the end of the trace: memory growing with the trace.
 * WARNING: map_del moves entries: pointers into m->open are stale after.
 */
static int
reply_unlinked(struct viz_model *m, struct viz_proc *p, uint32_t vpid,
	       struct viz_lane *l)
{
	struct viz_slot *s;

	if (!l->pend_reply)
		return 0;
	l->pend_reply = false;
	s = map_find(m->open, l->pend_reply_id, key2(KT_MSG, vpid, p->inst, 0, 0));
	if (!s || s->msg.waited || s->msg.t[VIZ_ST_REP_RING] != VIZ_NONE)
		return 0;
	return msg_finish(m, s);
}

static int
on_msg(struct viz_model *m, struct viz_proc *p, const struct viz_ev *ev,
       int lane, struct viz_lane *l, uint64_t t)
{
	const uint64_t *a = ev->a;
	uint64_t k2 = key2(KT_MSG, ev->pk, p->inst, 0, 0);
	struct viz_slot *s;
	bool fresh;

	switch (ev->k) {
	case VIZ_EV_msg_send: {
		int dl = a[3] == UINT32_MAX ? -1 : lane_id(m, ev->pk, a[3]);
		if (dl == -2)
			return ENOMEM;
		l = &m->lanes[lane];	/* lane_id may have moved the lanes */
		s = map_put(m->open, a[0], k2, &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {
			/* Sent again while open: the old one is unfinished
			 * (no end is invented). */
			s->msg.open = true;
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.msgs_open++;
			m->c.ids_reused++;
		}
		s->msg = (struct viz_msg){ .cat = VIZ_MSG, .id = a[0],
			.port = a[1], .flow = m->next_flow++, .src = lane,
			.dst = dl, .dst_cpu = (int)(int32_t)a[3],
			.bench = p->bench, .carries = -1 };
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			s->msg.t[i] = VIZ_NONE;
			s->msg.lane[i] = -1;
		}
		snap(m, &s->msg, VIZ_ST_SEND, lane, t);
		l->pend_msg = true;
		l->pend_msg_id = a[0];
		l->pend_msg_dst = (uint32_t)a[3];
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	}
	case VIZ_EV_msg_dispatch:
		s = map_find(m->open, a[0], k2);
		if (!s || s->msg.t[VIZ_ST_DISPATCH] != VIZ_NONE) {
			m->c.unmatched++;
			return 0;
		}
		if (s->msg.dst < 0)
			s->msg.dst = lane;
		snap(m, &s->msg, VIZ_ST_DISPATCH, lane, t);
		if (lat_add(m, s->msg.bench, VIZ_LAT_SEND_DISPATCH, s->msg.src,
			    lane, t - s->msg.t[VIZ_ST_SEND], 1))
			return ENOMEM;
		/* One flow per hop: send -> dispatch ends, dispatch -> reply
		 * starts. */
		if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t))
			return -1;
		s->msg.flow = m->next_flow++;
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	case VIZ_EV_msg_reply: {
		s = map_find(m->open, a[0], k2);
		if (!s || s->msg.t[VIZ_ST_REPLY] != VIZ_NONE) {
			m->c.unmatched++;
			return 0;
		}
		struct viz_msg *g = &s->msg;
		snap(m, g, VIZ_ST_REPLY, lane, t);
		g->error = (int64_t)(int32_t)a[5];
		if (lat_add(m, g->bench, VIZ_LAT_SEND_REPLY, g->src,
			    g->lane[VIZ_ST_DISPATCH] >= 0 ? g->lane[VIZ_ST_DISPATCH] : lane,
			    t - g->t[VIZ_ST_SEND], 1))
			return ENOMEM;
		if (g->t[VIZ_ST_DISPATCH] != VIZ_NONE &&
		    m->ops->flow(m->out, VIZ_FLOW_END, g, lane, t))
			return -1;
		/* The way back: to the reply port's cpu by IPI (the next
		 * ipi_send of this lane to it), or nothing more to see. */
		int back = a[3] == UINT32_MAX ? -1 : lane_id(m, ev->pk, a[3]);
		if (back == -2)
			return ENOMEM;
		l = &m->lanes[lane];
		if (back >= 0 && back != lane) {
			if (l->pend_reply && l->pend_reply_id != a[0]) {
				int rc = reply_unlinked(m, p, ev->pk, l);
				if (rc)
					return rc;
				s = map_find(m->open, a[0], k2);	/* moved */
				g = &s->msg;
			}
			g->flow = m->next_flow++;
			if (m->ops->flow(m->out, VIZ_FLOW_START, g, lane, t))
				return -1;
			g->flow |= 1ull << 62;	/* a back hop is open */
			l->pend_reply = true;
			l->pend_reply_id = a[0];
			l->pend_reply_dst = (uint32_t)a[3];
			return 0;
		}
		return g->waited ? 0 : msg_finish(m, s);
	}
	case VIZ_EV_msg_wait_begin:
		s = map_find(m->open, a[0], k2);
		if (s)
			s->msg.waited = true;
		s = map_put(m->open, a[0], key2(KT_WAIT, ev->pk, p->inst, 0, 0),
			    &fresh);
		if (!s)
			return ENOMEM;
		s->ov = (struct viz_overlay){ lane, VIZ_OV_WAIT_REPLY, t, t,
			a[0], a[2], 0 };
		return 0;
	case VIZ_EV_msg_wait_end:
		s = map_find(m->open, a[0], key2(KT_WAIT, ev->pk, p->inst, 0, 0));
		if (s) {
			s->ov.t1 = t;
			if (m->ops->overlay(m->out, &s->ov))
				return -1;
			map_del(m->open, s);
		}
		s = map_find(m->open, a[0], k2);
		if (!s)
			return 0;
		snap(m, &s->msg, VIZ_ST_RESUME, lane, t);
		if ((s->msg.flow >> 62) & 1) {
			s->msg.flow &= ~(1ull << 62);
			if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t))
				return -1;
		}
		return msg_finish(m, s);
	default:
		return 0;
	}
}

/* Links an ipi_send to the message (or reply) this lane just sent. */
static void
ipi_link(struct viz_model *m, struct viz_proc *p, uint32_t vpid,
	 struct viz_lane *l, struct viz_msg *ipi, int lane, uint64_t t)
{
	uint32_t dst = (uint32_t)ipi->port;	/* set by the caller: dst cpu */
	struct viz_slot *s;

	if (l->pend_msg && l->pend_msg_dst == dst) {
		s = map_find(m->open, l->pend_msg_id, key2(KT_MSG, vpid, p->inst, 0, 0));
		if (s && s->msg.t[VIZ_ST_REQ_RING] == VIZ_NONE) {
			snap(m, &s->msg, VIZ_ST_REQ_RING, lane, t);
			ipi->carries = (int64_t)s->msg.id;
			ipi->role = 1;
		}
	} else if (l->pend_reply && l->pend_reply_dst == dst) {
		s = map_find(m->open, l->pend_reply_id, key2(KT_MSG, vpid, p->inst, 0, 0));
		if (s && s->msg.t[VIZ_ST_REP_RING] == VIZ_NONE) {
			snap(m, &s->msg, VIZ_ST_REP_RING, lane, t);
			ipi->carries = (int64_t)s->msg.id;
			ipi->role = 2;
		}
	}
	/* The IPI right after a send carries it; any later one does not. */
	l->pend_msg = l->pend_reply = false;
}

/* The IPI's receive: the message it carried noticed at t. */
static int
ipi_notice(struct viz_model *m, struct viz_proc *p, uint32_t vpid,
	   const struct viz_msg *ipi, int lane, uint64_t t)
{
	struct viz_slot *s;

	if (ipi->role == 0)
		return 0;
	s = map_find(m->open, (uint64_t)ipi->carries, key2(KT_MSG, vpid, p->inst, 0, 0));
	if (!s)
		return 0;
	int st = ipi->role == 1 ? VIZ_ST_REQ_NOTICE : VIZ_ST_REP_NOTICE;
	if (s->msg.t[st] != VIZ_NONE)
		return 0;
	snap(m, &s->msg, st, lane, t);
	/* A reply that nobody waits for ends where its IPI lands. */
	if (ipi->role == 2 && !s->msg.waited) {
		if ((s->msg.flow >> 62) & 1) {
			s->msg.flow &= ~(1ull << 62);
			if (m->ops->flow(m->out, VIZ_FLOW_END, &s->msg, lane, t))
				return -1;
		}
		return msg_finish(m, s);
	}
	return 0;
}

static int
ipi_done(struct viz_model *m, struct viz_proc *p, uint32_t vpid,
	 struct viz_slot *s, bool flow)
{
	struct viz_msg g = s->msg;
	int lane = g.lane[VIZ_ST_DISPATCH];
	uint64_t t = g.t[VIZ_ST_DISPATCH];

	if (lat_add(m, p->bench, VIZ_LAT_IPI, g.src, lane,
		    t >= g.t[VIZ_ST_SEND] ? t - g.t[VIZ_ST_SEND] : 0, 1))
		return ENOMEM;
	if (flow && m->ops->flow(m->out, VIZ_FLOW_END, &g, lane, t))
		return -1;
	if (m->ops->msg_done(m->out, &g))
		return -1;
	m->c.ipis_done++;
	map_del(m->open, s);
	return ipi_notice(m, p, vpid, &g, lane, t);
}

/*
 * A ring holds at most its size of IPIs (the sender waits when it is
 * full: lwkt_config.lc_ipiq_size, 256 by default, DragonFly's
 * MAXCPUFIFO), and ipi_id counts the pair's IPIs: when id is sent, every
 * IPI of the pair up to id - size was received.  One still open was lost
 * from the trace (its receive, or its target's whole stream): reported
 * unfinished now rather than kept to the end, so memory stays bounded.
 * Likewise on the receiving side (recv): a receive traced before its send
 * waits for the send only while it can still come (the send is traced
 * just after the ring write); past the window its send was lost (counted
 * unmatched, as at the end).  VIZ_IPI_WINDOW is above any ring size in
 * use.  Called before anything points into m->open (map_del moves
 * entries).  And when the process starts a new runtime instance, what
 * the old one left in flight is over (ipi_inst_over).
 */
#define VIZ_IPI_WINDOW (1u << 13)

static int
ipi_window(struct viz_model *m, struct viz_proc *p, uint32_t vpid,
	   uint64_t src, uint64_t dst, uint64_t id, bool recv)
{
	bool fresh;
	struct viz_slot *w = map_put(m->keys, recv ? 2 : 1, key2(KT_IPIWIN, vpid,
						      p->inst, src, dst), &fresh);

	if (!w)
		return ENOMEM;
	if (fresh)
		w->t_xfer = id;		/* the lowest id that may be open */
	uint64_t lo = w->t_xfer, hi;
	if (id < lo) {
		/* The ids start again (a runtime whose runtime_init is not
		 * in the trace): all of the old sequence is over. */
		hi = lo + VIZ_IPI_WINDOW;
		w->t_xfer = id;
	} else if (id < lo + VIZ_IPI_WINDOW) {
		return 0;
	} else {
		hi = id - VIZ_IPI_WINDOW + 1;
		w->t_xfer = hi;
		if (hi - lo > VIZ_IPI_WINDOW)	/* a jump: at most a window */
			lo = hi - VIZ_IPI_WINDOW;	/* was open */
	}
	for (uint64_t k = lo; k < hi; k++) {
		struct viz_slot *s = map_find(m->open, k, key2(KT_IPI, vpid, p->inst,
							       src, dst));
		if (!s || s->msg.recv_first != recv)
			continue;
		if (recv) {
			m->c.unmatched++;	/* its send was never traced */
		} else {
			s->msg.open = true;
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.ipis_open++;
		}
		map_del(m->open, s);
	}
	return 0;
}

static int
ipi_inst_over(struct viz_model *m, uint32_t vpid, unsigned inst)
{
	struct viz_map *o = m->open;

	for (size_t i = 0; i < o->cap;) {
		struct viz_slot *s = &o->s[i];
		if (!s->k2 || (unsigned)(s->k2 >> 56) != KT_IPI ||
		    ((s->k2 >> 34) & 0x3fffff) != (vpid & 0x3fffff) ||
		    ((s->k2 >> 24) & 0x3ff) != (inst & 0x3ff)) {
			i++;
			continue;
		}
		if (s->msg.recv_first) {
			m->c.unmatched++;
		} else {
			s->msg.open = true;
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.ipis_open++;
		}
		map_del(o, s);	/* i again: a later entry may move here */
	}
	return 0;
}

static int
on_ipi(struct viz_model *m, struct viz_proc *p, struct viz_lane *l,
       const struct viz_ev *ev, int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	uint64_t k2 = key2(KT_IPI, ev->pk, p->inst, a[0], a[1]);
	struct viz_slot *s;
	bool fresh;

	switch (ev->k) {
	case VIZ_EV_ipi_send: {
		int dl = lane_id(m, ev->pk, a[1]);
		if (dl == -2)
			return ENOMEM;
		int rc = ipi_window(m, p, ev->pk, a[0], a[1], a[2], false);
		if (rc)
			return rc;
		l = &m->lanes[lane];
		/* ipi_link below carries the pending reply only to its own
		 * cpu, and not when a request to that cpu is pending too. */
		if (l->pend_reply && (l->pend_reply_dst != (uint32_t)a[1] ||
				      (l->pend_msg && l->pend_msg_dst == (uint32_t)a[1]))) {
			int rc = reply_unlinked(m, p, ev->pk, l);
			if (rc)
				return rc;
		}
		s = map_put(m->open, a[2], k2, &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh && s->msg.recv_first) {
			/* Traced after its receive (the send is traced after
			 * the ring write): joined, latency 0, no arrow in the
			 * JSON (it would point back in time). */
			s->msg.src = lane;
			s->msg.t[VIZ_ST_SEND] = t;
			s->msg.port = a[1];
			ipi_link(m, p, ev->pk, l, &s->msg, lane, t);
			s->msg.port = a[3];
			m->c.recv_before_send++;
			return ipi_done(m, p, ev->pk, s, false);
		}
		if (!fresh) {
			s->msg.open = true;	/* an id reused while open */
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.ipis_open++;
			m->c.ids_reused++;
		}
		s->msg = (struct viz_msg){ .cat = VIZ_MSG_IPI, .id = a[2],
			.port = a[1], .flow = m->next_flow++, .src = lane,
			.dst = dl, .carries = -1 };
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			s->msg.t[i] = VIZ_NONE;
			s->msg.lane[i] = -1;
		}
		s->msg.t[VIZ_ST_SEND] = t;
		s->msg.lane[VIZ_ST_SEND] = lane;
		ipi_link(m, p, ev->pk, l, &s->msg, lane, t);
		s->msg.port = a[3];	/* the callback */
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	}
	case VIZ_EV_ipi_recv: {
		int rc = ipi_window(m, p, ev->pk, a[0], a[1], a[2], true);
		if (rc)
			return rc;
		if (lane_push(m, lane, l, VIZ_SPAN_IPI, t, a[0]))
			return -1;
		s = map_put(m->open, a[2], k2, &fresh);
		if (!s)
			return ENOMEM;
		if (fresh) {
			/* Its send is not traced yet: kept until it is. */
			s->msg = (struct viz_msg){ .cat = VIZ_MSG_IPI, .id = a[2],
				.port = a[3], .src = -1, .dst = lane,
				.recv_first = true, .carries = -1 };
			for (int i = 0; i < VIZ_ST__COUNT; i++) {
				s->msg.t[i] = VIZ_NONE;
				s->msg.lane[i] = -1;
			}
			s->msg.t[VIZ_ST_DISPATCH] = t;
			s->msg.lane[VIZ_ST_DISPATCH] = lane;
			return 0;
		}
		if (s->msg.recv_first || s->msg.t[VIZ_ST_DISPATCH] != VIZ_NONE) {
			m->c.unmatched++;
			return 0;
		}
		s->msg.t[VIZ_ST_DISPATCH] = t;
		s->msg.lane[VIZ_ST_DISPATCH] = lane;
		return ipi_done(m, p, ev->pk, s, true);
	}
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
on_pair(struct viz_model *m, struct viz_proc *p, const struct viz_ev *ev,
	int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	bool mq = ev->k == VIZ_EV_mutexq_enqueue || ev->k == VIZ_EV_mutexq_dequeue;
	bool start = ev->k == VIZ_EV_mutexq_enqueue || ev->k == VIZ_EV_mpi_send;
	uint64_t k1, k2;
	struct viz_slot *s;
	bool fresh;

	if (mq) {
		k1 = a[2];
		k2 = key2(KT_MQ, ev->pk, (unsigned)(a[0] >> 24), a[0] >> 12, a[0]);
	} else {
		/* send: rank = sender; recv: rank = receiver. */
		uint64_t snd = start ? a[0] : a[1], rcv = start ? a[1] : a[0];
		k1 = a[4];
		/* Not per process: ranks are processes, of several hosts
		 * too; (sender, receiver, tag, seq) names a message of the
		 * job. */
		k2 = key2(KT_MPI, 0, (unsigned)a[2], snd, rcv);
	}
	if (start) {
		s = map_put(m->open, k1, k2, &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {
			s->msg.open = true;
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			m->c.msgs_open++;
		}
		s->msg = (struct viz_msg){ .cat = mq ? VIZ_MSG_MUTEXQ : VIZ_MSG_MPI,
			.id = mq ? a[2] : a[4], .port = mq ? a[0] : a[2],
			.flow = m->next_flow++, .src = lane, .dst = -1,
			.bench = p->bench, .carries = -1 };
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			s->msg.t[i] = VIZ_NONE;
			s->msg.lane[i] = -1;
		}
		s->msg.t[VIZ_ST_SEND] = t;
		s->msg.lane[VIZ_ST_SEND] = lane;
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	}
	s = map_find(m->open, k1, k2);
	if (!s) {
		m->c.unmatched++;
		return 0;
	}
	struct viz_msg g = s->msg;
	map_del(m->open, s);
	g.dst = lane;
	g.t[VIZ_ST_DISPATCH] = t;
	g.lane[VIZ_ST_DISPATCH] = lane;
	if (lat_add(m, g.bench, mq ? VIZ_LAT_MUTEXQ : VIZ_LAT_MPI, g.src, lane,
		    t - g.t[VIZ_ST_SEND], 1))
		return ENOMEM;
	if (mq) {
		/* enqueue -> wake -> dequeue when a sleeper was woken. */
		s = map_find(m->open, a[0], key2(KT_MQW, ev->pk, 0, 0, 0));
		if (s && s->t_wake >= g.t[VIZ_ST_SEND] && s->t_wake <= t &&
		    (lat_add(m, g.bench, VIZ_LAT_MQ_WAKE, g.src, lane,
			     s->t_wake - g.t[VIZ_ST_SEND], 1) ||
		     lat_add(m, g.bench, VIZ_LAT_MQ_DEQUEUE, g.src, lane,
			     t - s->t_wake, 1)))
			return ENOMEM;
	}
	if (m->ops->flow(m->out, VIZ_FLOW_END, &g, lane, t) ||
	    m->ops->msg_done(m->out, &g))
		return -1;
	m->c.pairs_done++;
	return 0;
}

/*
 * Tokens: a request opens a wait (overlay) on the requesting thread; a
 * transfer from the owning cpu is an arrow to the acquire on the new
 * owner; the acquire ends the wait (stages request -> transfer ->
 * acquire) and opens "held" until the release.
 */
static int
on_token(struct viz_model *m, struct viz_proc *p, const struct viz_ev *ev,
	 int lane, uint64_t t)
{
	const uint64_t *a = ev->a;
	uint32_t vp = ev->pk;
	struct viz_slot *s;
	bool fresh;

	switch (ev->k) {
	case VIZ_EV_token_request:
		s = map_put(m->open, a[0], key2(KT_TOKW, vp, 0, a[1], 0), &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {	/* asked again without an acquire */
			s->ov.t1 = t;
			s->ov.flags = VIZ_SPAN_CUT;
			if (m->ops->overlay(m->out, &s->ov))
				return -1;
		}
		s->ov = (struct viz_overlay){ lane, VIZ_OV_TOKEN_WAIT, t, t,
			a[0], a[2], 0 };
		s->t_xfer = VIZ_NONE;
		s->cnt0 = m->lanes[lane].nev;
		return 0;
	case VIZ_EV_token_transfer: {
		int to = lane_id(m, vp, a[2]);
		if (to == -2)
			return ENOMEM;
		s = map_find(m->open, a[0], key2(KT_TOKW, vp, 0, a[2], 0));
		if (s && s->t_xfer == VIZ_NONE)
			s->t_xfer = t;
		s = map_put(m->open, a[0], key2(KT_TOKX, vp, 0, a[2], 0), &fresh);
		if (!s)
			return ENOMEM;
		s->msg = (struct viz_msg){ .cat = VIZ_MSG_TOKEN, .id = 0,
			.port = a[0], .flow = m->next_flow++, .src = lane,
			.dst = to, .bench = p->bench, .carries = -1 };
		for (int i = 0; i < VIZ_ST__COUNT; i++) {
			s->msg.t[i] = VIZ_NONE;
			s->msg.lane[i] = -1;
		}
		s->msg.t[VIZ_ST_SEND] = t;
		s->msg.lane[VIZ_ST_SEND] = lane;
		return m->ops->flow(m->out, VIZ_FLOW_START, &s->msg, lane, t);
	}
	case VIZ_EV_token_acquire:
		s = map_find(m->open, a[0], key2(KT_TOKX, vp, 0, a[1], 0));
		if (s) {
			struct viz_msg g = s->msg;
			map_del(m->open, s);
			g.t[VIZ_ST_DISPATCH] = t;
			g.lane[VIZ_ST_DISPATCH] = lane;
			if (m->ops->flow(m->out, VIZ_FLOW_END, &g, lane, t) ||
			    m->ops->msg_done(m->out, &g))
				return -1;
			m->c.transfers++;
		}
		s = map_find(m->open, a[0], key2(KT_TOKW, vp, 0, a[1], 0));
		if (s && s->ov.tid == a[2]) {
			struct viz_overlay ov = s->ov;
			uint64_t tx = s->t_xfer;
			uint64_t k = m->lanes[lane].nev - s->cnt0;
			map_del(m->open, s);
			ov.t1 = t;
			if (m->ops->overlay(m->out, &ov))
				return -1;
			if (lat_add(m, p->bench, VIZ_LAT_TOK_TOTAL, lane, lane,
				    t - ov.t0, k))
				return ENOMEM;
			if (tx != VIZ_NONE && tx >= ov.t0 && tx <= t &&
			    (lat_add(m, p->bench, VIZ_LAT_TOK_TRANSFER, lane, lane,
				     tx - ov.t0, 1) ||
			     lat_add(m, p->bench, VIZ_LAT_TOK_ACQUIRE, lane, lane,
				     t - tx, k > 1 ? k - 1 : 1)))
				return ENOMEM;
		}
		s = map_put(m->open, a[0], key2(KT_TOKH, vp, 0, a[2], a[1]), &fresh);
		if (!s)
			return ENOMEM;
		if (!fresh) {
			s->ov.t1 = t;
			s->ov.flags = VIZ_SPAN_CUT;
			if (m->ops->overlay(m->out, &s->ov))
				return -1;
		}
		s->ov = (struct viz_overlay){ lane, VIZ_OV_TOKEN_HELD, t, t,
			a[0], a[2], 0 };
		return 0;
	case VIZ_EV_token_release:
		s = map_find(m->open, a[0], key2(KT_TOKH, vp, 0, a[2], a[1]));
		if (!s) {
			m->c.unmatched++;
			return 0;
		}
		s->ov.t1 = t;
		if (m->ops->overlay(m->out, &s->ov))
			return -1;
		map_del(m->open, s);
		return 0;
	default:
		return 0;
	}
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
	uint64_t k2 = key2(netisr ? KT_NETISR : KT_SYSMSG, ev->pk, 0, 0, 0);
	struct viz_slot *s;
	bool fresh;

	if (begin) {
		s = map_put(m->open, ev->a[0], k2, &fresh);
		if (!s)
			return ENOMEM;
		s->ival = lane;
		return lane_push(m, lane, l, kind, t, netisr ? ev->a[2] : ev->a[1]);
	}
	s = map_find(m->open, ev->a[0], k2);
	if (!s) {
		m->c.unmatched++;
		return m->ops->instant(m->out, ev, lane, t);
	}
	int bl = s->ival;
	map_del(m->open, s);
	l = &m->lanes[bl];
	if (ev->k == VIZ_EV_sysmsg_end && m->ops->instant(m->out, ev, bl, t))
		return -1;
	return lane_pop(m, bl, l, kind, t);
}

/* A benchmark of the bench harness starts or ends in process p. */
static int
on_bench(struct viz_model *m, struct viz_proc *p, const struct viz_ev *ev,
	 uint64_t t)
{
	int b = 0;

	for (int i = 1; i < m->nbench; i++) {
		if (m->bench[i].pk == ev->pk &&
		    strlen(m->bench[i].name) == ev->str_len &&
		    memcmp(m->bench[i].name, ev->str, ev->str_len) == 0) {
			b = i;
			break;
		}
	}
	if (ev->k == VIZ_EV_bench_end) {
		if (!p->bench || (b && b != p->bench)) {
			m->c.unmatched++;
			return 0;
		}
		struct viz_bench *bb = &m->bench[p->bench];
		bb->t1 = t;
		bb->runs++;
		bb->iterations += ev->a[2];
		b = p->bench;
		p->bench = 0;
		return m->ops->bench_run(m->out, b, p->bench_t0, t, ev->a[2]);
	}
	if (!b) {
		if (m->nbench == m->capbench) {
			struct viz_bench *n = realloc(m->bench,
				(size_t)m->capbench * 2 * sizeof(*n));
			if (!n)
				return ENOMEM;
			m->bench = n;
			m->capbench *= 2;
		}
		char *nm = malloc(ev->str_len + 1);
		if (!nm)
			return ENOMEM;
		memcpy(nm, ev->str ? ev->str : "", ev->str_len);
		nm[ev->str_len] = '\0';
		b = m->nbench++;
		m->bench[b] = (struct viz_bench){ .name = nm, .vpid = ev->vpid,
			.host = ev->host, .pk = ev->pk, .t0 = t, .t1 = t };
	}
	p->bench = b;
	p->bench_t0 = t;
	return 0;
}

static int
on_thread_create(struct viz_model *m, struct viz_proc *p,
		 const struct viz_ev *ev, int lane, uint64_t t)
{
	bool fresh;
	struct viz_slot *s = map_put(m->keys, ev->a[1],
				     key2(KT_THR, ev->pk, p->inst, 0, 0), &fresh);
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
	s->ival = m->next_name++;
	if (m->ops->thread_name(m->out, s->ival, ev->a[1], nm, ev->str_len))
		return -1;
	return m->ops->instant(m->out, ev, lane, t);
}

int
viz_model_event(struct viz_model *m, const struct viz_ev *ev)
{
	const struct viz_evdesc *d = &VIZ_EVDESC[ev->k];
	struct viz_proc *p;
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
		/* The first one is the recorder's own: a session records
		 * every process of the user, another recorder's too. */
		if (m->command)
			return 0;
		char *cmd = malloc(ev->str_len + 1);
		if (!cmd)
			return ENOMEM;
		memcpy(cmd, ev->str ? ev->str : "", ev->str_len);
		cmd[ev->str_len] = '\0';
		free(m->command);
		m->command = cmd;
		/* 0: not measured.  An implausible cost is kept aside for
		 * the message, never subtracted. */
		if (ev->a[1] != 0 && (ev->a[1] < VIZ_CALIB_MIN_PS ||
				      ev->a[1] > VIZ_CALIB_MAX_PS)) {
			m->calib_bad_ps = ev->a[1];
			return 0;
		}
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
	/* From here the event's process is its key (host, vpid). */
	struct viz_ev e = *ev;
	if (!(e.pk = pk_get(m, ev->host, ev->vpid)))
		return ENOMEM;
	ev = &e;
	if (!(p = proc_get(m, ev->pk)))
		return ENOMEM;

	if (d->own < 0) {
		/* The lane of the PU that recorded it, as the lwkt cpu last
		 * seen there for this process. */
		if (ev->pu < 0) {
			m->c.no_cpu_events++;
			return 0;
		}
		m->c.generic_events++;
		struct viz_slot *ps = map_find(m->keys, (uint64_t)ev->pu,
					       key2(KT_PU, ev->pk, 0, 0, 0));
		lane = lane_id(m, ev->pk, ps ? (uint64_t)ps->ival : (uint64_t)ev->pu);
		if (lane == -2)
			return ENOMEM;
		if (lane < 0)
			return 0;
		l = &m->lanes[lane];
		l->tlast = t;
		bool first = l->pu < 0;
		l->pu = ev->pu;
		l->nev++;
		if (first && m->npgaps && (rc = flush_pgaps(m, ev->host, ev->pu, lane)))
			return rc;
		l = &m->lanes[lane];
		switch (ev->k) {
		case VIZ_EV_mutexq_enqueue: case VIZ_EV_mutexq_dequeue:
		case VIZ_EV_mpi_send: case VIZ_EV_mpi_recv:
			if ((rc = on_pair(m, p, ev, lane, t)))
				return rc;
			break;
		case VIZ_EV_mutexq_wake: {
			bool fresh;
			struct viz_slot *s = map_put(m->open, ev->a[0],
				key2(KT_MQW, ev->pk, 0, 0, 0), &fresh);
			if (!s)
				return ENOMEM;
			s->t_wake = t;
			break;
		}
		case VIZ_EV_netisr_dispatch_end:
		case VIZ_EV_sysmsg_begin: case VIZ_EV_sysmsg_end:
			return on_span(m, ev, lane, l, t);
		case VIZ_EV_bench_begin: case VIZ_EV_bench_end:
			return on_bench(m, p, ev, t);
		case VIZ_EV_runtime_init:
			/* A new runtime: its ids start again; the old one's
			 * IPIs still open were lost from the trace. */
			if ((rc = ipi_inst_over(m, ev->pk, p->inst)))
				return rc;
			p->inst++;
			break;
		default:
			break;
		}
		return m->ops->instant(m->out, ev, lane, t);
	}

	m->c.lwkt_events++;
	lane = lane_id(m, ev->pk, ev->a[d->own]);
	if (lane == -1) {
		m->c.bad_version++;
		return 0;
	}
	if (lane < 0)
		return ENOMEM;
	l = &m->lanes[lane];
	l->tlast = t;
	l->nev++;
	if (ev->pu >= 0) {
		bool fresh;
		struct viz_slot *ps = map_put(m->keys, (uint64_t)ev->pu,
					      key2(KT_PU, ev->pk, 0, 0, 0), &fresh);
		if (!ps)
			return ENOMEM;
		ps->ival = l->cpu;
		bool first = l->pu < 0;
		l->pu = ev->pu;
		if (first && m->npgaps && (rc = flush_pgaps(m, ev->host, ev->pu, lane)))
			return rc;
		l = &m->lanes[lane];
	}

	if (lane_infer(m, lane, l, ev, t))
		return -1;

	switch (ev->k) {
	case VIZ_EV_thread_switch:
		return lane_switch(m, lane, l, ev->a[1], ev->a[2], t);
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
	case VIZ_EV_thread_exit: {
		if (m->ops->instant(m->out, ev, lane, t))
			return -1;
		struct viz_slot *s = map_find(m->keys, ev->a[1],
			key2(KT_THR, ev->pk, p->inst, 0, 0));
		if (s)
			s->nsaved = 0;
		if (l->have_tid && l->cur_tid == ev->a[1] && l->sp > 0 &&
		    l->st[0].kind == VIZ_SPAN_THREAD) {
			l->have_tid = false;
			return lane_close_to(m, lane, l, 0, t, VIZ_SPAN_CUT, 0);
		}
		return 0;
	}
	case VIZ_EV_crit_enter:
		return lane_push(m, lane, l, VIZ_SPAN_CRIT, t, ev->a[1]);
	case VIZ_EV_crit_exit:
		return lane_pop(m, lane, l, VIZ_SPAN_CRIT, t);
	case VIZ_EV_thread_create:
		return on_thread_create(m, p, ev, lane, t);
	case VIZ_EV_msg_send: case VIZ_EV_msg_dispatch: case VIZ_EV_msg_reply:
	case VIZ_EV_msg_wait_begin: case VIZ_EV_msg_wait_end:
		return on_msg(m, p, ev, lane, l, t);
	case VIZ_EV_ipi_send: case VIZ_EV_ipi_recv: case VIZ_EV_ipi_done:
		return on_ipi(m, p, l, ev, lane, t);
	case VIZ_EV_netisr_dispatch_begin:
		return on_span(m, ev, lane, l, t);
	case VIZ_EV_token_request: case VIZ_EV_token_transfer:
	case VIZ_EV_token_acquire: case VIZ_EV_token_release:
		if ((rc = on_token(m, p, ev, lane, t)))
			return rc;
		return m->ops->instant(m->out, ev, lane, t);
	default:
		/* ring full, wake, rollups: marks on the lane. */
		return m->ops->instant(m->out, ev, lane, t);
	}
}

static int lost_on_lanes(struct viz_model *m, int host, int pu, bool have_time,
			 uint64_t t0, uint64_t t1, uint64_t count, bool packets,
			 int force_lane);

int
viz_model_lost(struct viz_model *m, int pu, bool have_time, uint64_t t0,
	       uint64_t t1, uint64_t count, bool packets)
{
	return viz_model_lost_host(m, 0, pu, have_time, t0, t1, count, packets);
}

int
viz_model_lost_host(struct viz_model *m, int host, int pu, bool have_time,
		    uint64_t t0, uint64_t t1, uint64_t count, bool packets)
{
	if (packets)
		m->c.lost_packets += count;
	else
		m->c.lost_events += count;
	m->c.gaps++;
	if (pu < 0)
		return 0;
	if (!m->have_base) {
		/* Before the first event (the calibration's burst overflowed
		 * small buffers): kept until the timeline has its start. */
		struct viz_pgap *g = realloc(m->pgaps, (size_t)(m->npgaps + 1) * sizeof(*g));
		if (!g)
			return ENOMEM;
		m->pgaps = g;
		g[m->npgaps++] = (struct viz_pgap){ host, pu, have_time, t0, t1, count, packets };
		return 0;
	}
	return lost_on_lanes(m, host, pu, have_time, t0, t1, count, packets, -1);
}

/* Gaps that waited for a lane of their PU: lane `lane` records it now
 * (or, at the end of the trace, lane -1: a lane of its own). */
static int
flush_pgaps(struct viz_model *m, int host, int pu, int lane)
{
	int rc = 0;

	for (int i = 0; i < m->npgaps && rc == 0; i++) {
		struct viz_pgap g = m->pgaps[i];
		if (pu >= 0 && (g.pu != pu || g.host != host))
			continue;
		m->pgaps[i--] = m->pgaps[--m->npgaps];
		int l = lane;
		if (l < 0) {
			uint32_t pk = pk_get(m, g.host, 0);
			if (!pk)
				return ENOMEM;
			if ((l = lane_id(m, pk, (uint64_t)g.pu)) < 0)
				return l == -2 ? ENOMEM : 0;
		}
		m->lanes[l].pu = g.pu;
		rc = lost_on_lanes(m, g.host, g.pu, g.have_time, g.t0, g.t1, g.count,
				   g.packets, l);
	}
	return rc;
}

static int
lost_on_lanes(struct viz_model *m, int host, int pu, bool have_time, uint64_t t0,
	      uint64_t t1, uint64_t count, bool packets, int force_lane)
{
	int lanes[64], n = 0;

	/* Per-uid buffers mix the processes of a PU: every lane that PU
	 * recorded lost what was there. */
	if (force_lane >= 0)
		lanes[n++] = force_lane;
	/* Per process, the lwkt cpu last seen recording on that PU. */
	for (struct viz_proc *p = m->procs; p && force_lane < 0 && n < 64; p = p->next) {
		if (m->pks[p->pk].host != host)
			continue;
		struct viz_slot *ps = map_find(m->keys, (uint64_t)pu,
					       key2(KT_PU, p->pk, 0, 0, 0));
		int id = ps ? lane_id(m, p->pk, (uint64_t)ps->ival) : -1;
		if (id == -2)
			return ENOMEM;
		if (id >= 0)
			lanes[n++] = id;
	}
	for (int i = 0; i < m->nlanes && n == 0 && force_lane < 0; i++)
		if (m->lanes[i].pu == pu && m->pks[m->lanes[i].pk].host == host)
			lanes[n++] = i;
	if (n == 0) {
		/* No lane of that PU yet (the loss came first): it waits for
		 * the first lane the PU records (or the end of the trace). */
		struct viz_pgap *g = realloc(m->pgaps, (size_t)(m->npgaps + 1) * sizeof(*g));
		if (!g)
			return ENOMEM;
		m->pgaps = g;
		g[m->npgaps++] = (struct viz_pgap){ host, pu, have_time, t0, t1, count, packets };
		return 0;
	}
	for (int i = 0; i < n; i++) {
		struct viz_lane *l = &m->lanes[lanes[i]];
		uint64_t a = have_time && t0 >= m->base ? t0 - m->base : l->tlast;
		uint64_t b = have_time && t1 >= m->base ? t1 - m->base : l->tlast;
		/* The cut is at the loss's start: the muxer delivers the
		 * message at that time, so nothing later on the lane is
		 * earlier.  Not at the overlay's start below: that can be a
		 * previous gap's end, still in the future (two PUs' buffers
		 * both feed one lane). */
		uint64_t cut = a > l->tlast ? a : l->tlast;
		/* Gaps of one lane do not overlap: start after the last. */
		if (a < l->gend)
			a = l->gend;
		if (b < a)
			b = a;
		l->gend = b;
		/*
		 * babeltrace2 bounds the loss by [end of the previous packet,
		 * end of the packet that counted it]: events of that packet
		 * inside the range are still in the trace.  So the gap is an
		 * overlay on the lane (its own Chrome track), and what was
		 * open on the lane is unknown from its start: close it, cut,
		 * there (not before what the lane already reported).
		 */
		if (lane_close_to(m, lanes[i], l, 0, cut, VIZ_SPAN_CUT,
				  VIZ_SPAN_CUT))
			return -1;
		l->have_tid = false;
		if (m->ops->gap(m->out, lanes[i], a, b, count, packets))
			return -1;
	}
	return 0;
}

/* The k-th smallest of v[0..n) (k < n); reorders v.  Wirth's selection
 * (Algorithms + Data Structures = Programs, 1976, "find"). */
static uint64_t
select_kth(uint64_t *v, size_t n, size_t k)
{
	ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

	while (l < r) {
		uint64_t x = v[kk];
		ptrdiff_t i = l, j = r;

		do {
			while (v[i] < x)
				i++;
			while (x < v[j])
				j--;
			if (i <= j) {
				uint64_t t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				j--;
			}
		} while (i <= j);
		if (j < kk)
			l = i;
		if (kk < i)
			r = j;
	}
	return v[kk];
}

/*
 * The calibration's cross-check against the trace itself, and the
 * estimate.  The stages "-> ring write" and "-> reply ring write" of a
 * message that hold exactly one recorded event (the later step's) cost
 * that event plus the ring write: one event cannot cost more than their
 * traced median.  calib_bound_ps: the lowest such median (stages with
 * VIZ_CALIB_CHECK_MIN_N one-event samples or more).  Both it and the
 * recorder's measurement bound the cost from above; the estimate
 * subtracts the lower one (cost_used_ps), and calib_over says the
 * measurement was the higher (the outputs say so).  Then each vc turns
 * from event counts into the estimate.  The medians are taken on
 * copies: v keeps its order for the outputs.
 */
static int
calib_check(struct viz_model *m)
{
	uint64_t *tmp = NULL, bound = 0;
	size_t cap = 0;

	for (size_t i = 0; i < m->nlat; i++) {
		struct viz_lat *l = &m->lat[i];
		size_t n = 0;

		if ((l->metric != VIZ_LAT_ST_REQ_RING &&
		     l->metric != VIZ_LAT_ST_REP_RING) || !l->vc)
			continue;
		if (l->n > cap) {
			uint64_t *t = realloc(tmp, l->n * sizeof(*t));
			if (!t) {
				free(tmp);
				return ENOMEM;
			}
			tmp = t;
			cap = l->n;
		}
		for (size_t j = 0; j < l->n; j++)
			if (l->vc[j] == 1)
				tmp[n++] = l->v[j];
		if (n < VIZ_CALIB_CHECK_MIN_N)
			continue;
		/* The nearest-rank median, as viz_stats computes it. */
		uint64_t p50 = select_kth(tmp, n, (n * 50 + 99) / 100 - 1);
		if (bound == 0 || p50 * 1000 < bound)
			bound = p50 * 1000;
	}
	free(tmp);
	m->calib_bound_ps = bound;
	m->calib_over = bound && m->event_cost_ps > bound;
	m->cost_used_ps = m->calib_over ? bound : m->event_cost_ps;
	for (size_t i = 0; i < m->nlat; i++) {
		struct viz_lat *l = &m->lat[i];

		for (size_t j = 0; l->vc && j < l->n; j++) {
			uint64_t cost = l->vc[j] * m->cost_used_ps / 1000;
			l->vc[j] = l->v[j] > cost ? l->v[j] - cost : 0;
		}
	}
	return 0;
}

int
viz_model_finish(struct viz_model *m)
{
	if (m->npgaps && !m->have_base) {
		m->have_base = true;
		m->base = m->pgaps[0].have_time ? m->pgaps[0].t0 : 0;
	}
	if (m->npgaps && flush_pgaps(m, 0, -1, -1))
		return -1;
	/* What is still in flight is reported unfinished: no end is
	 * invented (a flow stays without its finish). */
	for (size_t i = 0; i < m->open->cap; i++) {
		struct viz_slot *s = &m->open->s[i];
		unsigned kt = (unsigned)(s->k2 >> 56);

		if (s->k2 == 0)
			continue;
		switch (kt) {
		case KT_MSG: case KT_IPI: case KT_MQ: case KT_MPI: case KT_TOKX:
			if (kt == KT_IPI && s->msg.recv_first) {
				m->c.unmatched++;	/* its send was never traced */
				break;
			}
			s->msg.open = true;
			if (m->ops->msg_done(m->out, &s->msg))
				return -1;
			if (kt == KT_IPI)
				m->c.ipis_open++;
			else
				m->c.msgs_open++;
			break;
		case KT_WAIT: case KT_TOKW: case KT_TOKH:
			s->ov.t1 = m->last;
			s->ov.flags |= VIZ_SPAN_CUT;
			if (m->ops->overlay(m->out, &s->ov))
				return -1;
			break;
		default:
			break;
		}
	}
	for (int i = 0; i < m->nlanes; i++) {
		struct viz_lane *l = &m->lanes[i];
		if (l->used && lane_close_to(m, i, l, 0, m->last, VIZ_SPAN_CUT,
					     VIZ_SPAN_CUT))
			return -1;
	}
	if (calib_check(m)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
