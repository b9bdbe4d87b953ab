/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * out_perfetto.c - sink.lwkt.perfetto: the trace as Perfetto's protobuf
 * trace format (a `Trace`: repeated TracePacket), written by hand with
 * pbw.c and streamed: memory is bounded by the tracks and the distinct
 * names, never by the number of events.
 *
 * Field numbers are those of Perfetto's public protos
 * (protos/perfetto/trace/trace_packet.proto, the track_event protos,
 * interned_data/interned_data.proto); viz/perfetto/trace.proto is the
 * subset written here, and what the tests decode with protoc.  The
 * format is documented at perfetto.dev, "Writing TrackEvent Protos
 * Synthetically".
 *
 * Tracks (TrackDescriptor, emitted before their first event):
 *   process  one per traced process (pid = vpid, 1 when unknown; of the
 *            second, third... host of a several-host trace, vpid + host
 *            index * 2^22, above any Linux pid: "lwkt pid N on HOST",
 *            the processes of a host side by side)
 *   CPU n    one per lwkt cpu, a thread of its process (tid = cpu + 1):
 *            the running thread / idle / asleep, and nested the critical
 *            sections, IPI handlers, netisr dispatches, syscall messages
 *            (TYPE_SLICE_BEGIN when the model opens them, _END when it
 *            closes them: in time order, so nesting is exact), instants
 *            for the other events (their fields as debug annotations),
 *            and the flow points of messages, IPIs, tokens, baselines
 *   CPU n lost events   a child of the cpu's track: "LOST" slices
 *   thread   one per lwkt thread (child of its process): where it ran;
 *            its children: its waits for replies, its waits for tokens,
 *            and one track per token it held (holds may overlap)
 *   IPI ring CPU a->b   a counter per cpu pair: IPIs sent and not yet
 *            received (the ring's occupancy as the trace sees it); its
 *            values ride on the IPI's flow instants (extra_counter_values:
 *            no packet of their own)
 *   benchmarks   the bench harness's runs, per process
 *   lwkt-lab     one instant at the end: the summary (event counts)
 *
 * Flows: each hop (send -> dispatch -> reply -> resume, IPI send ->
 * receive, token transfer -> acquire, baseline pairs) is one flow id,
 * unique in the file, set on a TYPE_INSTANT at each end (flow_ids at the
 * start, terminating_flow_ids at the end); an end and a start at the same
 * point (a dispatch) share one instant.  A hop whose end is not in the
 * trace has no end (none is invented).
 *
 * Order: Perfetto's trace processor sorts packets by timestamp, keeping
 * file order for equal ones; every track here receives its events in
 * non-decreasing time (a timestamp is clamped to its track's latest:
 * counted, see the README for when it happens), so begin/end pairs nest
 * as written.
 *
 * Compactness: one packet sequence (trusted_packet_sequence_id 1) whose
 * first packet clears the incremental state; event names, categories and
 * annotation names are interned (InternedData in the packet that first
 * uses them), so a slice begin is ~25 bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbw.h"
#include "viz.h"

/* Field numbers (Perfetto's public protos; see viz/perfetto/trace.proto). */
enum {
	F_TRACE_PACKET = 1,
	/* TracePacket */
	F_TP_TIMESTAMP = 8, F_TP_SEQ_ID = 10, F_TP_TRACK_EVENT = 11,
	F_TP_INTERNED = 12, F_TP_SEQ_FLAGS = 13, F_TP_TRACK_DESC = 60,
	F_TP_FIRST_ON_SEQ = 87,
	/* TrackEvent */
	F_TE_CATEGORY_IIDS = 3, F_TE_DEBUG = 4, F_TE_TYPE = 9, F_TE_NAME_IID = 10,
	F_TE_TRACK_UUID = 11, F_TE_NAME = 23, F_TE_COUNTER_VALUE = 30,
	F_TE_FLOW_IDS = 47, F_TE_TERM_FLOW_IDS = 48, F_TE_EXTRA_CTR_UUIDS = 31,
	F_TE_EXTRA_CTR_VALUES = 12,
	/* DebugAnnotation */
	F_DA_NAME_IID = 1, F_DA_BOOL = 2, F_DA_UINT = 3, F_DA_INT = 4,
	F_DA_STRING = 6, F_DA_POINTER = 7,
	/* InternedData */
	F_ID_CATEGORIES = 1, F_ID_NAMES = 2, F_ID_DEBUG_NAMES = 3,
	/* TrackDescriptor */
	F_TD_UUID = 1, F_TD_NAME = 2, F_TD_PROCESS = 3, F_TD_THREAD = 4,
	F_TD_PARENT = 5, F_TD_COUNTER = 8,
	/* ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
	F_PD_PID = 1, F_PD_NAME = 6, F_THD_PID = 1, F_THD_TID = 2,
	F_THD_NAME = 5, F_CD_UNIT = 3,
};

enum { TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3,
       TYPE_COUNTER = 4 };
enum { SEQ_INCREMENTAL_STATE_CLEARED = 1, SEQ_NEEDS_INCREMENTAL_STATE = 2 };
enum { UNIT_COUNT = 2 };
#define PF_SEQ 1

/* Track kinds (the key's top byte). */
enum { TR_PROC = 1, TR_GAP, TR_THR, TR_WAIT, TR_HELD, TR_RING, TR_BENCH,
       TR_SUMMARY, TR_TNAME /* not a track: tid -> name id (in value) */ };

struct pf_track {
	uint64_t k1, k2;	/* k1 == 0: empty */
	uint64_t uuid;
	uint64_t last;		/* latest timestamp written on it */
	int64_t value;		/* counters: the current value */
};

/* An interned string: (field, text) -> iid. */
struct pf_str {
	char *s;		/* owned; NULL: empty slot */
	size_t len;
	unsigned field;
	uint64_t iid;
};

/* The flow points waiting to share one instant (see the header). */
struct pf_flowpt {
	bool on;
	int lane;
	uint64_t ts;
	enum viz_msg_cat cat;
	int nout, nin;
	uint64_t out[2], in[2];
	uint64_t ctr_uuid;	/* an IPI ring counter's new value, or 0 */
	int64_t ctr_val;
};

struct pf {
	struct pbw te, ann, intern, pkt, desc, sub;
	bool first;			/* no packet written yet */
	/* Tracks. */
	struct pf_track *tr;		/* owned: open addressing */
	size_t trcap, trn;
	uint64_t next_uuid;
	struct { uint64_t uuid, last; } *cpu;	/* owned: per lane */
	size_t ncpu;
	/* Interning. */
	struct pf_str *str;		/* owned: open addressing */
	size_t strcap, strn;
	uint64_t next_iid[4];		/* per InternedData field */
	struct pf_flowpt fp;
	char *tmp;			/* owned: name scratch */
	size_t tmpcap;
	uint64_t packets, clamped;
};

/* ---- small helpers */

static uint64_t
mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 31);
}

/* Length of the valid UTF-8 prefix of s[0..n) (string fields must be
 * UTF-8: protoc and the trace processor refuse anything else). */
static size_t
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], lo = 0x80, hi = 0xbf;	/* 2nd byte range */
		size_t k;
		if (c < 0x80) {
			i++;
			continue;
		}
		/* RFC 3629 section 4: no overlong forms, no surrogates, at
		 * most U+10FFFF. */
		k = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 :
		    c >= 0xf0 && c <= 0xf4 ? 3 : 0;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (!k || i + k >= n || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
		i += k + 1;
	}
	return n;
}

/* A copy of s[0..n) in pf->tmp with each byte of an invalid UTF-8
 * sequence replaced by '?'; returns it (NUL-terminated) or NULL. */
static const char *
utf8_clean(struct pf *pf, const char *s, size_t n)
{
	if (pf->tmpcap < n + 1) {
		char *t = realloc(pf->tmp, n + 1);
		if (!t)
			return NULL;
		pf->tmp = t;
		pf->tmpcap = n + 1;
	}
	size_t i = 0;
	while (i < n) {
		size_t ok = utf8_ok((const unsigned char *)s + i, n - i);
		memcpy(pf->tmp + i, s + i, ok);
		i += ok;
		if (i < n)
			pf->tmp[i++] = '?';
	}
	pf->tmp[n] = '\0';
	return pf->tmp;
}

/* A string field from the trace (any bytes). */
static void
put_text(struct pf *pf, struct pbw *b, unsigned field, const char *s, size_t n)
{
	if (utf8_ok((const unsigned char *)s, n) == n) {
		pbw_bytes(b, field, s, n);
		return;
	}
	const char *t = utf8_clean(pf, s, n);
	if (t)
		pbw_bytes(b, field, t, n);
	else
		b->oom = true;
}

/* ---- interning */

static uint64_t
str_hash(unsigned field, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ field;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int
str_grow(struct pf *pf)
{
	size_t nc = pf->strcap ? pf->strcap * 2 : 256;
	struct pf_str *n = calloc(nc, sizeof(*n));

	if (!n)
		return -1;
	for (size_t i = 0; i < pf->strcap; i++) {
		struct pf_str *o = &pf->str[i];
		if (!o->s)
			continue;
		size_t j = str_hash(o->field, o->s, o->len) & (nc - 1);
		while (n[j].s)
			j = (j + 1) & (nc - 1);
		n[j] = *o;
	}
	free(pf->str);
	pf->str = n;
	pf->strcap = nc;
	return 0;
}

/* The iid of s (n bytes) in InternedData field `field`; a new one is
 * added to this packet's interned data.  0 on ENOMEM (0 is no iid). */
static uint64_t
intern(struct pf *pf, unsigned field, const char *s, size_t n)
{
	size_t i;

	if ((pf->strn + 1) * 2 > pf->strcap && str_grow(pf))
		return 0;
	uint64_t h = str_hash(field, s, n);
	for (i = h & (pf->strcap - 1); pf->str[i].s; i = (i + 1) & (pf->strcap - 1)) {
		struct pf_str *e = &pf->str[i];
		if (e->field == field && e->len == n && memcmp(e->s, s, n) == 0)
			return e->iid;
	}
	char *c = malloc(n + 1);
	if (!c)
		return 0;
	memcpy(c, s, n);
	c[n] = '\0';
	struct pf_str *e = &pf->str[i];
	*e = (struct pf_str){ c, n, field, ++pf->next_iid[field] };
	pf->strn++;
	/* EventCategory / EventName / DebugAnnotationName: {iid 1, name 2}. */
	pbw_reset(&pf->sub);
	pbw_u64(&pf->sub, 1, e->iid);
	put_text(pf, &pf->sub, 2, c, n);
	pbw_msg(&pf->intern, field, &pf->sub);
	return e->iid;
}

static uint64_t
intern_s(struct pf *pf, unsigned field, const char *s)
{
	return intern(pf, field, s, strlen(s));
}

/* ---- packets */

static void
pkt_start(struct pf *pf)
{
	pbw_reset(&pf->te);
	pbw_reset(&pf->intern);
}

/* Writes one TracePacket: the given body (a TrackDescriptor when desc,
 * else pf->te as a TrackEvent at ts) and this packet's interned data. */
static int
pkt_write(struct viz_comp *c, struct pf *pf, bool desc, uint64_t ts)
{
	struct pbw *p = &pf->pkt;
	uint8_t hdr[11];

	pbw_reset(p);
	if (!desc)
		pbw_u64(p, F_TP_TIMESTAMP, ts);
	pbw_msg(p, desc ? F_TP_TRACK_DESC : F_TP_TRACK_EVENT, desc ? &pf->desc : &pf->te);
	if (pf->intern.n)
		pbw_msg(p, F_TP_INTERNED, &pf->intern);
	pbw_u64(p, F_TP_SEQ_ID, PF_SEQ);
	if (pf->first) {
		/* The sequence starts with empty interning tables. */
		pbw_u64(p, F_TP_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED |
			SEQ_NEEDS_INCREMENTAL_STATE);
		pbw_u64(p, F_TP_FIRST_ON_SEQ, 1);
		pf->first = false;
	} else if (!desc) {
		pbw_u64(p, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	}
	if (p->oom || pf->te.oom || pf->desc.oom || pf->intern.oom || pf->ann.oom ||
	    pf->sub.oom)
		return -1;
	hdr[0] = F_TRACE_PACKET << 3 | PBW_LEN;
	size_t h = 1 + pbw_varint_to(hdr + 1, p->n);
	fwrite_unlocked(hdr, 1, h, c->f);
	fwrite_unlocked(p->p, 1, p->n, c->f);
	pf->packets++;
	pbw_reset(&pf->intern);
	return 0;
}

/* ---- tracks */

static struct pf_track *
track_find(struct pf *pf, uint64_t k1, uint64_t k2, bool *fresh)
{
	size_t i;

	if ((pf->trn + 1) * 2 > pf->trcap) {
		size_t nc = pf->trcap ? pf->trcap * 2 : 64;
		struct pf_track *n = calloc(nc, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t j = 0; j < pf->trcap; j++) {
			if (!pf->tr[j].k1)
				continue;
			for (i = mix(pf->tr[j].k1, pf->tr[j].k2) & (nc - 1); n[i].k1;
			     i = (i + 1) & (nc - 1))
				;
			n[i] = pf->tr[j];
		}
		free(pf->tr);
		pf->tr = n;
		pf->trcap = nc;
	}
	for (i = mix(k1, k2) & (pf->trcap - 1); pf->tr[i].k1; i = (i + 1) & (pf->trcap - 1))
		if (pf->tr[i].k1 == k1 && pf->tr[i].k2 == k2) {
			*fresh = false;
			return &pf->tr[i];
		}
	pf->tr[i] = (struct pf_track){ k1, k2, ++pf->next_uuid, 0, 0 };
	pf->trn++;
	*fresh = true;
	return &pf->tr[i];
}

static uint64_t
key1(unsigned kind, uint32_t vpid)
{
	return (uint64_t)kind << 56 | (uint64_t)vpid << 8 | 1;	/* never 0 */
}

/* Emits a TrackDescriptor: name (n bytes, may be NULL), parent (0: none);
 * pid >= 0: a process track; tid >= 0: a thread of pid; counter. */
static int
desc_write(struct viz_comp *c, struct pf *pf, uint64_t uuid, uint64_t parent,
	   const char *name, size_t n, int64_t pid, int64_t tid, bool counter)
{
	struct pbw *d = &pf->desc, *s = &pf->sub;

	pkt_start(pf);
	pbw_reset(d);
	pbw_u64(d, F_TD_UUID, uuid);
	if (parent)
		pbw_u64(d, F_TD_PARENT, parent);
	if (tid >= 0) {
		pbw_reset(s);
		pbw_i64(s, F_THD_PID, pid);
		pbw_i64(s, F_THD_TID, tid);
		if (name)
			put_text(pf, s, F_THD_NAME, name, n);
		pbw_msg(d, F_TD_THREAD, s);
	} else if (pid >= 0) {
		pbw_reset(s);
		pbw_i64(s, F_PD_PID, pid);
		if (name)
			put_text(pf, s, F_PD_NAME, name, n);
		pbw_msg(d, F_TD_PROCESS, s);
	} else if (name) {
		put_text(pf, d, F_TD_NAME, name, n);
	}
	if (counter) {
		pbw_reset(s);
		pbw_u64(s, F_CD_UNIT, UNIT_COUNT);
		pbw_msg(d, F_TD_COUNTER, s);
	}
	return pkt_write(c, pf, true, 0);
}

/* Outputs key processes by "hpid": the vpid, plus host index * 2^22 on
 * the second, third... host (Linux pids are below 2^22, PID_MAX_LIMIT). */
#define PF_HOST_SHIFT 22
#define PF_PID_MASK ((1u << PF_HOST_SHIFT) - 1)

static uint32_t
lane_hpid(struct viz_comp *c, int lane)
{
	return viz_model_lane_vpid(&c->model, lane) +
	       ((uint32_t)viz_model_lane_host(&c->model, lane) << PF_HOST_SHIFT);
}

static uint32_t
pid_of(uint32_t vpid)
{
	return vpid ? vpid : 1;
}

/* The process track of vpid, described on first use. */
static struct pf_track *
proc_track(struct viz_comp *c, struct pf *pf, uint32_t vpid)
{
	bool fresh;
	struct pf_track *t = track_find(pf, key1(TR_PROC, vpid), 0, &fresh);
	char nm[320];

	if (t && fresh) {
		const char *hn = viz_model_host_name(&c->model, (int)(vpid >> PF_HOST_SHIFT));
		snprintf(nm, sizeof(nm), "lwkt pid %" PRIu32 "%s%.256s",
			 pid_of(vpid & PF_PID_MASK), *hn ? " on " : "", hn);
		if (desc_write(c, pf, t->uuid, 0, nm, strlen(nm), pid_of(vpid), -1,
			       false))
			return NULL;
	}
	return t;
}

/* A child track of the process (or of parent when nonzero), named. */
static struct pf_track *
child_track(struct viz_comp *c, struct pf *pf, uint64_t k1, uint64_t k2,
	    uint32_t vpid, uint64_t parent, const char *name, size_t n,
	    bool counter)
{
	bool fresh;
	struct pf_track *p = parent ? NULL : proc_track(c, pf, vpid);

	if (!parent && !p)
		return NULL;
	uint64_t puuid = parent ? parent : p->uuid;
	struct pf_track *t = track_find(pf, k1, k2, &fresh);
	/* desc_write does not touch the table: t stays valid. */
	if (t && fresh && desc_write(c, pf, t->uuid, puuid, name, n, -1, -1, counter))
		return NULL;
	return t;
}

/* ---- events */

/* Clamps ts to the track's latest (see "Order" in the header). */
static uint64_t
clamp(struct pf *pf, uint64_t *last, uint64_t ts)
{
	if (ts < *last) {
		pf->clamped++;
		return *last;
	}
	*last = ts;
	return ts;
}

static void
te_head(struct pf *pf, int type, uint64_t uuid)
{
	pbw_u64(&pf->te, F_TE_TYPE, (uint64_t)type);
	pbw_u64(&pf->te, F_TE_TRACK_UUID, uuid);
}

static void
te_name(struct pf *pf, const char *s, size_t n)
{
	uint64_t iid = intern(pf, F_ID_NAMES, s, n);

	if (iid)
		pbw_u64(&pf->te, F_TE_NAME_IID, iid);
	else
		pf->te.oom = true;
}

static void
te_cat(struct pf *pf, const char *cat)
{
	uint64_t iid = intern_s(pf, F_ID_CATEGORIES, cat);

	if (iid)
		pbw_u64(&pf->te, F_TE_CATEGORY_IIDS, iid);
	else
		pf->te.oom = true;
}

/* Debug annotations: name interned, then one value field. */
static void
ann_begin(struct pf *pf, const char *name)
{
	uint64_t iid = intern_s(pf, F_ID_DEBUG_NAMES, name);

	pbw_reset(&pf->ann);
	if (!iid)
		pf->ann.oom = true;
	pbw_u64(&pf->ann, F_DA_NAME_IID, iid);
}

static void
ann_u64(struct pf *pf, const char *name, unsigned field, uint64_t v)
{
	ann_begin(pf, name);
	pbw_u64(&pf->ann, field, v);
	pbw_msg(&pf->te, F_TE_DEBUG, &pf->ann);
}

static void
ann_text(struct pf *pf, const char *name, const char *s, size_t n)
{
	ann_begin(pf, name);
	put_text(pf, &pf->ann, F_DA_STRING, s, n);
	pbw_msg(&pf->te, F_TE_DEBUG, &pf->ann);
}

static void
ann_flags(struct pf *pf, unsigned flags)
{
	if (flags & VIZ_SPAN_CUT)
		ann_u64(pf, "cut", F_DA_BOOL, 1);
	if (flags & VIZ_SPAN_SUSPENDED)
		ann_u64(pf, "suspended", F_DA_BOOL, 1);
	if (flags & VIZ_SPAN_RESUMED)
		ann_u64(pf, "resumed", F_DA_BOOL, 1);
}

static uint64_t
abs_ts(struct viz_comp *c, uint64_t t)
{
	return c->model.base + t;
}

static int flow_flush(struct viz_comp *c, struct pf *pf);

static int
pf_begin(struct viz_comp *c)
{
	struct pf *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return -1;
	pf->first = true;
	c->pf = pf;
	return 0;
}

static void
pf_fini(struct viz_comp *c)
{
	struct pf *pf = c->pf;

	if (!pf)
		return;
	pbw_free(&pf->te);
	pbw_free(&pf->ann);
	pbw_free(&pf->intern);
	pbw_free(&pf->pkt);
	pbw_free(&pf->desc);
	pbw_free(&pf->sub);
	free(pf->tr);
	free(pf->cpu);
	for (size_t i = 0; i < pf->strcap; i++)
		free(pf->str[i].s);
	free(pf->str);
	free(pf->tmp);
	free(pf);
	c->pf = NULL;
}

static int
pf_lane_new(void *o, int lane)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	uint32_t vpid = lane_hpid(c, lane);
	int cpu = viz_model_lane_cpu(&c->model, lane);
	char nm[32];

	if ((size_t)lane >= pf->ncpu) {
		size_t n = (size_t)lane + 16;
		void *np = realloc(pf->cpu, n * sizeof(*pf->cpu));
		if (!np)
			return -1;
		pf->cpu = np;
		memset(pf->cpu + pf->ncpu, 0, (n - pf->ncpu) * sizeof(*pf->cpu));
		pf->ncpu = n;
	}
	struct pf_track *p = proc_track(c, pf, vpid);
	if (!p)
		return -1;
	pf->cpu[lane].uuid = ++pf->next_uuid;
	snprintf(nm, sizeof(nm), "CPU %d", cpu);
	return desc_write(c, pf, pf->cpu[lane].uuid, p->uuid, nm, strlen(nm),
			  pid_of(vpid), (int64_t)cpu + 1, false);
}

static const char *
tname(struct viz_comp *c, int id)
{
	return id >= 0 && (size_t)id < c->ntnames ? c->tnames[id] : NULL;
}

/* The slice name of a span (into buf). */
static size_t
span_name(struct viz_comp *c, const struct viz_span *s, char *buf, size_t cap)
{
	const char *nm;
	int n;

	switch (s->kind) {
	case VIZ_SPAN_THREAD:
		if ((nm = tname(c, s->name_id)) && *nm)
			n = snprintf(buf, cap, "%s (tid %" PRIu64 ")", nm, s->label);
		else
			n = snprintf(buf, cap, "tid %" PRIu64, s->label);
		break;
	case VIZ_SPAN_IDLE:
		n = snprintf(buf, cap, "idle");
		break;
	case VIZ_SPAN_SLEEP:
		n = snprintf(buf, cap, "asleep");
		break;
	case VIZ_SPAN_CRIT:
		n = snprintf(buf, cap, "critical section (tid %" PRIu64 ")", s->label);
		break;
	case VIZ_SPAN_IPI:
		n = snprintf(buf, cap, "IPI from CPU %" PRIu64, s->label);
		break;
	case VIZ_SPAN_NETISR:
		n = snprintf(buf, cap, "%s", s->label ? "netisr dispatch" :
			     "netisr dispatch (global token)");
		break;
	case VIZ_SPAN_SYSMSG:
		n = snprintf(buf, cap, "syscall %" PRIu64, s->label);
		break;
	default:
		n = snprintf(buf, cap, "running (thread unknown)");
		break;
	}
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static int
pf_span_open(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	char nm[320];
	size_t n = span_name(c, s, nm, sizeof(nm));

	if (flow_flush(c, pf))
		return -1;
	uint64_t ts = clamp(pf, &pf->cpu[s->lane].last, abs_ts(c, s->t0));
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_BEGIN, pf->cpu[s->lane].uuid);
	te_cat(pf, viz_span_kind_name[s->kind]);
	te_name(pf, nm, n);
	ann_flags(pf, s->flags);
	return pkt_write(c, pf, false, ts);
}

/* The track of lwkt thread tid of process vpid ("thread N name"),
 * described on first use.  The pointer is valid until the next lookup. */
static struct pf_track *
thread_track(struct viz_comp *c, struct pf *pf, uint32_t vpid, uint64_t tid)
{
	bool fresh;
	struct pf_track *n = track_find(pf, key1(TR_TNAME, 0), tid, &fresh);
	if (!n)
		return NULL;
	if (fresh)
		n->value = -1;	/* no thread_create seen for it */
	const char *nm = tname(c, (int)n->value);
	char tn[320];

	if (nm && *nm)
		snprintf(tn, sizeof(tn), "thread %" PRIu64 " %s", tid, nm);
	else
		snprintf(tn, sizeof(tn), "thread %" PRIu64, tid);
	return child_track(c, pf, key1(TR_THR, vpid), tid, vpid, 0, tn, strlen(tn),
			   false);
}

/* Where a thread ran: its own track, one slice per run ("CPU n"). */
static int
thread_run(struct viz_comp *c, struct pf *pf, const struct viz_span *s)
{
	uint32_t vpid = lane_hpid(c, s->lane);
	char cn[32];
	struct pf_track *t = thread_track(c, pf, vpid, s->label);

	if (!t)
		return -1;
	uint64_t a = clamp(pf, &t->last, abs_ts(c, s->t0));
	uint64_t b = clamp(pf, &t->last, abs_ts(c, s->t1));
	int cn_n = snprintf(cn, sizeof(cn), "CPU %d", viz_model_lane_cpu(&c->model, s->lane));
	uint64_t uuid = t->uuid;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_BEGIN, uuid);
	te_cat(pf, "thread");
	te_name(pf, cn, (size_t)cn_n);
	if (pkt_write(c, pf, false, a))
		return -1;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_END, uuid);
	ann_flags(pf, s->flags & VIZ_SPAN_CUT);
	return pkt_write(c, pf, false, b);
}

static int
pf_span(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;

	if (flow_flush(c, pf))
		return -1;
	uint64_t ts = clamp(pf, &pf->cpu[s->lane].last, abs_ts(c, s->t1));
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_END, pf->cpu[s->lane].uuid);
	ann_flags(pf, s->flags & (VIZ_SPAN_CUT | VIZ_SPAN_SUSPENDED));
	if (pkt_write(c, pf, false, ts))
		return -1;
	/* tid 0 is each cpu's scheduler context, not a thread. */
	if (s->kind == VIZ_SPAN_THREAD && s->label != 0)
		return thread_run(c, pf, s);
	return 0;
}

/*
 * A thread's waits and holds, each kind on tracks of its own under the
 * thread's: these are reported when they close, so one track must hold a
 * sequence of intervals that do not overlap.  A blocked thread waits for
 * one reply at a time, and for one token at a time (but a token wait may
 * fall inside a reply wait: tokens are taken back before the thread runs
 * again); holds of different tokens may overlap: a track per token.
 */
static int
pf_overlay(void *o, const struct viz_overlay *v)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	uint32_t vpid = lane_hpid(c, v->lane);
	char nm[96];
	int n;

	if (flow_flush(c, pf))
		return -1;
	/* The thread's track first (the parent of what follows). */
	struct pf_track *th = thread_track(c, pf, vpid, v->tid);
	if (!th)
		return -1;
	uint64_t thuuid = th->uuid;
	struct pf_track *t;
	if (v->kind == VIZ_OV_TOKEN_HELD) {
		n = snprintf(nm, sizeof(nm), "thread %" PRIu64 " holds 0x%" PRIx64,
			     v->tid, v->label);
		t = child_track(c, pf, key1(TR_HELD, vpid), mix(v->tid, v->label), vpid,
				thuuid, nm, (size_t)n, false);
	} else {
		n = snprintf(nm, sizeof(nm), "thread %" PRIu64 " waits for %s", v->tid,
			     v->kind == VIZ_OV_WAIT_REPLY ? "replies" : "tokens");
		t = child_track(c, pf, key1(TR_WAIT, vpid), mix(v->tid, v->kind), vpid,
				thuuid, nm, (size_t)n, false);
	}
	if (!t)
		return -1;
	uint64_t a = clamp(pf, &t->last, abs_ts(c, v->t0));
	uint64_t b = clamp(pf, &t->last, abs_ts(c, v->t1));
	uint64_t uuid = t->uuid;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_BEGIN, uuid);
	te_cat(pf, v->kind == VIZ_OV_WAIT_REPLY ? "wait" : "token");
	if (v->kind == VIZ_OV_WAIT_REPLY) {
		te_name(pf, "wait for reply", 14);
		ann_u64(pf, "msg_id", F_DA_UINT, v->label);
	} else {
		n = snprintf(nm, sizeof(nm), "%s 0x%" PRIx64,
			     v->kind == VIZ_OV_TOKEN_WAIT ? "wait for token" :
			     "token held", v->label);
		te_name(pf, nm, (size_t)n);
	}
	if (pkt_write(c, pf, false, a))
		return -1;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_END, uuid);
	ann_flags(pf, v->flags & VIZ_SPAN_CUT);
	return pkt_write(c, pf, false, b);
}

/* The ring occupancy of an IPI's cpu pair moves by d: the counter's new
 * value goes with the pending flow instant (pf->fp). */
static int
ring_count(struct viz_comp *c, struct pf *pf, const struct viz_msg *m, int d)
{
	if (m->src < 0 || m->dst < 0)
		return 0;
	uint32_t vpid = lane_hpid(c, m->src);
	int a = viz_model_lane_cpu(&c->model, m->src);
	int b = viz_model_lane_cpu(&c->model, m->dst);
	char nm[64];
	int n = snprintf(nm, sizeof(nm), "IPI ring CPU %d->%d in flight", a, b);
	struct pf_track *t = child_track(c, pf, key1(TR_RING, vpid),
					 (uint64_t)a << 32 | (uint32_t)b, vpid, 0,
					 nm, (size_t)n, true);
	if (!t)
		return -1;
	t->value += d;
	pf->fp.ctr_uuid = t->uuid;
	pf->fp.ctr_val = t->value;
	return 0;
}

static int
flow_flush(struct viz_comp *c, struct pf *pf)
{
	struct pf_flowpt *f = &pf->fp;
	char nm[32];

	if (!f->on)
		return 0;
	f->on = false;
	uint64_t ts = clamp(pf, &pf->cpu[f->lane].last, f->ts);
	int n = snprintf(nm, sizeof(nm), "%s %s", viz_msg_cat_name[f->cat],
			 f->nin && f->nout ? "in/out" : f->nin ? "in" : "out");
	pkt_start(pf);
	te_head(pf, TYPE_INSTANT, pf->cpu[f->lane].uuid);
	te_cat(pf, viz_msg_cat_name[f->cat]);
	te_name(pf, nm, (size_t)n);
	for (int i = 0; i < f->nout; i++)
		pbw_fixed64(&pf->te, F_TE_FLOW_IDS, f->out[i]);
	for (int i = 0; i < f->nin; i++)
		pbw_fixed64(&pf->te, F_TE_TERM_FLOW_IDS, f->in[i]);
	if (f->ctr_uuid) {
		pbw_u64(&pf->te, F_TE_EXTRA_CTR_UUIDS, f->ctr_uuid);
		pbw_i64(&pf->te, F_TE_EXTRA_CTR_VALUES, f->ctr_val);
	}
	return pkt_write(c, pf, false, ts);
}

static int
pf_flow(void *o, enum viz_flow_step step, const struct viz_msg *m, int lane,
	uint64_t ts)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	struct pf_flowpt *f = &pf->fp;
	uint64_t id = m->flow & ~((uint64_t)1 << 62);
	uint64_t at = abs_ts(c, ts);
	bool in = step == VIZ_FLOW_END;

	if (f->on && (f->lane != lane || f->ts != at || f->cat != m->cat ||
		      (in ? f->nin : f->nout) == 2) && flow_flush(c, pf))
		return -1;
	if (!f->on)
		*f = (struct pf_flowpt){ .on = true, .lane = lane, .ts = at,
					 .cat = m->cat };
	if (in)
		f->in[f->nin++] = id;
	else
		f->out[f->nout++] = id;
	if (m->cat == VIZ_MSG_IPI) {
		/* Counted at the flow's ends: an IPI received before its send
		 * was traced has neither, so it never counts.  One counter
		 * value per instant: written at once. */
		if (ring_count(c, pf, m, in ? -1 : 1))
			return -1;
		return flow_flush(c, pf);
	}
	return 0;
}

static int
pf_msg_done(void *o, const struct viz_msg *m)
{
	(void)o;
	(void)m;
	return 0;
}

static int
pf_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	const struct viz_evdesc *d = &VIZ_EVDESC[ev->k];

	if (flow_flush(c, pf))
		return -1;
	uint64_t at = clamp(pf, &pf->cpu[lane].last, abs_ts(c, ts));
	pkt_start(pf);
	te_head(pf, TYPE_INSTANT, pf->cpu[lane].uuid);
	te_cat(pf, ev->k == VIZ_EV_GENERIC ? "event" : "lwkt");
	te_name(pf, ev->name, strlen(ev->name));
	if (ev->k != VIZ_EV_GENERIC) {
		for (int i = 0; d->f[i]; i++) {
			if (i == d->own)
				continue;	/* the track says it */
			switch (d->t[i]) {
			case VIZ_FT_STR:
				if (ev->str)
					ann_text(pf, d->f[i], ev->str, ev->str_len);
				break;
			case VIZ_FT_I32: case VIZ_FT_I64:
				ann_u64(pf, d->f[i], F_DA_INT,
					d->t[i] == VIZ_FT_I32 ?
					(uint64_t)(int64_t)(int32_t)ev->a[i] : ev->a[i]);
				break;
			case VIZ_FT_PTR:
				ann_u64(pf, d->f[i], F_DA_POINTER, ev->a[i]);
				break;
			default:
				ann_u64(pf, d->f[i], F_DA_UINT, ev->a[i]);
				break;
			}
		}
	} else if (ev->args) {
		ann_text(pf, "payload", ev->args, ev->args_len);
	}
	return pkt_write(c, pf, false, at);
}

static int
pf_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t count,
       bool packets)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	uint32_t vpid = lane_hpid(c, lane);
	char nm[64];
	int n = snprintf(nm, sizeof(nm), "CPU %d lost events",
			 viz_model_lane_cpu(&c->model, lane));

	if (flow_flush(c, pf))
		return -1;
	struct pf_track *t = child_track(c, pf, key1(TR_GAP, vpid), (uint64_t)lane,
					 vpid, pf->cpu[lane].uuid, nm, (size_t)n, false);
	if (!t)
		return -1;
	uint64_t a = clamp(pf, &t->last, abs_ts(c, t0));
	uint64_t b = clamp(pf, &t->last, abs_ts(c, t1));
	uint64_t uuid = t->uuid;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_BEGIN, uuid);
	te_cat(pf, "lost");
	/* Not interned: every loss has its own count. */
	n = snprintf(nm, sizeof(nm), "LOST %" PRIu64 " %s", count,
		     packets ? "packets" : "events");
	pbw_bytes(&pf->te, F_TE_NAME, nm, (size_t)n);
	ann_u64(pf, "count", F_DA_UINT, count);
	if (pkt_write(c, pf, false, a))
		return -1;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_END, uuid);
	return pkt_write(c, pf, false, b);
}

static int
pf_thread_name(void *o, int name_id, uint64_t tid, const char *name,
	       size_t len)
{
	struct viz_comp *c = o;
	bool fresh;

	if (name_id < 0)
		return 0;
	/* tid -> name, for the thread's track (ids are per process: the
	 * latest name wins, a track is named when it is first used). */
	struct pf_track *tn = track_find(c->pf, key1(TR_TNAME, 0), tid, &fresh);
	if (!tn)
		return -1;
	tn->value = name_id;
	if ((size_t)name_id >= c->ntnames) {
		size_t n = (size_t)name_id + 1;
		char **nn = realloc(c->tnames, n * sizeof(*nn));
		if (!nn)
			return -1;
		memset(nn + c->ntnames, 0, (n - c->ntnames) * sizeof(*nn));
		c->tnames = nn;
		c->ntnames = n;
	}
	free(c->tnames[name_id]);
	c->tnames[name_id] = strndup(name, len);
	return c->tnames[name_id] ? 0 : -1;
}

static int
pf_bench_run(void *o, int bench, uint64_t t0, uint64_t t1, uint64_t iters)
{
	struct viz_comp *c = o;
	struct pf *pf = c->pf;
	const struct viz_bench *b = &c->model.bench[bench];

	if (flow_flush(c, pf))
		return -1;
	uint32_t hp = b->vpid + ((uint32_t)b->host << PF_HOST_SHIFT);
	struct pf_track *t = child_track(c, pf, key1(TR_BENCH, hp), 0, hp,
					 0, "benchmarks", 10, false);
	if (!t)
		return -1;
	uint64_t a = clamp(pf, &t->last, abs_ts(c, t0));
	uint64_t e = clamp(pf, &t->last, abs_ts(c, t1));
	uint64_t uuid = t->uuid;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_BEGIN, uuid);
	te_cat(pf, "bench");
	if (utf8_ok((const unsigned char *)b->name, strlen(b->name)) == strlen(b->name))
		te_name(pf, b->name, strlen(b->name));
	else
		te_name(pf, "(benchmark)", 11);
	ann_u64(pf, "iterations", F_DA_UINT, iters);
	if (pkt_write(c, pf, false, a))
		return -1;
	pkt_start(pf);
	te_head(pf, TYPE_SLICE_END, uuid);
	return pkt_write(c, pf, false, e);
}

/* The summary, as an instant at the end on a track of its own: what the
 * trace held (the tests compare it with babeltrace2's reading). */
static int
pf_end(struct viz_comp *c)
{
	struct pf *pf = c->pf;
	const struct viz_counts *k = &c->model.c;

	if (flow_flush(c, pf))
		return -1;
	bool fresh;
	struct pf_track *t = track_find(pf, key1(TR_SUMMARY, 0), 0, &fresh);
	if (!t)
		return -1;
	uint64_t uuid = t->uuid;
	if (desc_write(c, pf, uuid, 0, "lwkt-lab", 8, -1, -1, false))
		return -1;
	pkt_start(pf);
	te_head(pf, TYPE_INSTANT, uuid);
	te_cat(pf, "summary");
	te_name(pf, "lwkt-lab sink.lwkt.perfetto", 27);
	ann_u64(pf, "events", F_DA_UINT, k->events);
	ann_u64(pf, "lwkt_events", F_DA_UINT, k->lwkt_events);
	ann_u64(pf, "generic_events", F_DA_UINT, k->generic_events);
	ann_u64(pf, "calib_events", F_DA_UINT, k->calib_events);
	ann_u64(pf, "lost_events", F_DA_UINT, k->lost_events);
	ann_u64(pf, "lost_packets", F_DA_UINT, k->lost_packets);
	ann_u64(pf, "msgs_done", F_DA_UINT, k->msgs_done);
	ann_u64(pf, "ipis_done", F_DA_UINT, k->ipis_done);
	ann_u64(pf, "recv_before_send", F_DA_UINT, k->recv_before_send);
	ann_u64(pf, "base_ns", F_DA_UINT, c->model.base);
	ann_u64(pf, "event_cost_ps", F_DA_UINT, c->model.event_cost_ps);
	ann_u64(pf, "clamped", F_DA_UINT, pf->clamped);
	if (c->model.command)
		ann_text(pf, "command", c->model.command, strlen(c->model.command));
	if (pkt_write(c, pf, false, abs_ts(c, c->model.last)))
		return -1;
	return ferror(c->f) ? -1 : 0;
}

static const struct viz_out_ops pf_ops = {
	.lane_new = pf_lane_new,
	.span_open = pf_span_open,
	.span = pf_span,
	.overlay = pf_overlay,
	.flow = pf_flow,
	.msg_done = pf_msg_done,
	.instant = pf_instant,
	.gap = pf_gap,
	.thread_name = pf_thread_name,
	.bench_run = pf_bench_run,
};

const struct viz_output viz_out_perfetto = {
	.what = "sink.lwkt.perfetto",
	.ops = &pf_ops,
	.begin = pf_begin,
	.end = pf_end,
	.fini = pf_fini,
};
