/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * model.h - the streaming event model shared by sink.lwkt.timeline and
 * sink.lwkt.chrome (no babeltrace2 types here, so it is unit-tested alone).
 *
 * The sink decodes each trace event into a struct viz_ev and feeds it, in
 * time order, to viz_model_event().  The model keeps only what is still
 * open (per lane: the running state and a small stack of nested sections;
 * messages and IPIs sent but not yet handled; thread names; latency
 * samples) and hands finished pieces to the output's viz_out_ops at once:
 * closed spans, flow steps, finished messages, instants, lost-event gaps.
 *
 * Lanes: an lwkt event goes to the lane of its own lwkt cpu field (the cpu
 * that did the step: src of a send, dst of an IPI receive, ...).  Any other
 * event goes to the lane of the PU that recorded it (the packet's cpu_id),
 * mapped to the lwkt cpu last seen recording on that PU, if any.  So a
 * trace without lwkt events gets one lane per cpu_id.
 *
 * Ordering contract with the outputs: per lane, ops are called in
 * non-decreasing order of their "end" time (t1 of a span, ts of anything
 * else): spans are reported when they close, inner ones first.  Gaps
 * (lost events) are the exception: babeltrace2 bounds a loss by packet
 * ends, so a gap may overlap later events of its lane; gaps of one lane
 * come in order and do not overlap each other.
 */
#ifndef VIZ_MODEL_H
#define VIZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event kinds: one per row of the schema table, trace/lwkt_events.def
 * (VIZ_EV_ipi_send...); VIZ_EV_GENERIC is any other event. */
enum viz_evk {
	VIZ_EV_GENERIC = 0,
#define LWKT_EVENT(name, own, doc, ...) VIZ_EV_##name,
#include "../trace/lwkt_events.def"
#undef LWKT_EVENT
	VIZ_EV__COUNT
};

#define VIZ_EV_MAXF 6

/* Field types of the table (argument type -> what the trace holds). */
enum viz_ft {
	VIZ_FT_U8, VIZ_FT_U32, VIZ_FT_U64, VIZ_FT_I32, VIZ_FT_I64,
	VIZ_FT_HEX32, VIZ_FT_PTR, VIZ_FT_STR, VIZ_FT_WAKE_MODE,
};

/* The schema, per kind: the event name after "lwkt:", the fields in the
 * order viz_ev.a[] holds them (a STR field, at most one per event, is
 * viz_ev.str instead), the index in a[] of its own-cpu field (-1: the
 * event goes to the lane of the PU that recorded it) and of its `tid`
 * field (-1: none).  Built from trace/lwkt_events.def. */
struct viz_evdesc {
	const char *name;
	const char *f[VIZ_EV_MAXF + 1];	/* NULL-terminated */
	enum viz_ft t[VIZ_EV_MAXF];
	int own;
	int tid;
};
/* The table, filled on first use. */
const struct viz_evdesc *viz_evdesc_get(void);
#define VIZ_EVDESC (viz_evdesc_get())

/* Looks up "ipi_send" (without the provider prefix); VIZ_EV_GENERIC if
 * it is not an lwkt event name. */
enum viz_evk viz_evk_from_name(const char *name);

/* One decoded event.  Pointers are borrowed for the call only. */
struct viz_ev {
	enum viz_evk k;
	uint64_t ts;		/* ns from the clock's origin */
	int pu;			/* packet cpu_id, -1 if the trace has none */
	uint64_t a[VIZ_EV_MAXF];	/* lwkt fields in viz_evdesc order */
	const char *str;	/* the event's STR field (len bytes) */
	size_t str_len;
	const char *name;	/* full event class name */
	int name_id;		/* small index for name, stable per class */
	const char *args;	/* payload as a JSON object text, or NULL */
	size_t args_len;
	bool provider;		/* from the lwkt provider (any lwkt:*) */
};

enum viz_span_kind {
	VIZ_SPAN_THREAD = 0,	/* label: tid running */
	VIZ_SPAN_IDLE,		/* idle, spinning */
	VIZ_SPAN_SLEEP,		/* idle, asleep on its futex */
	VIZ_SPAN_CRIT,		/* label: tid in the critical section */
	VIZ_SPAN_IPI,		/* label: sending cpu */
	VIZ_SPAN_UNKNOWN,	/* running, thread unknown (after a gap, or
				 * before the first switch) */
	VIZ_SPAN_NETISR,	/* label: mpsafe; a protocol thread's handler */
	VIZ_SPAN_SYSMSG,	/* label: callno; a syscall message served */
	VIZ_SPAN__COUNT
};
extern const char *const viz_span_kind_name[VIZ_SPAN__COUNT];

#define VIZ_SPAN_CUT 1u		/* closed early: parent closed, or a gap */

/* Nested sections per lane above the running state (crit, IPI). */
#define VIZ_MAX_DEPTH 6

struct viz_span {
	int lane;
	int depth;		/* 0: running state; 1.. nested sections */
	enum viz_span_kind kind;
	uint64_t t0, t1;	/* ns relative to viz_model.base */
	uint64_t label;
	unsigned flags;
};

/* What travels from one lane to another. */
enum viz_msg_cat {
	VIZ_MSG = 0,		/* lwkt message: send -> dispatch -> reply */
	VIZ_MSG_IPI,		/* ipi_send -> ipi_recv */
	VIZ_MSG_MUTEXQ,		/* baseline: mutexq_enqueue -> dequeue */
	VIZ_MSG_MPI,		/* baseline: mpi_send -> mpi_recv */
	VIZ_MSG__COUNT
};
extern const char *const viz_msg_cat_name[VIZ_MSG__COUNT];

/* A message (or an IPI...) from send to its last step.  Lanes -1 / times
 * 0 with has_* false where a step is not in the trace.  For all but
 * VIZ_MSG the receive is the "dispatch" step. */
struct viz_msg {
	enum viz_msg_cat cat;
	uint64_t id;		/* msg_id, or ipi_id */
	uint64_t port;		/* port_id; IPI: callback; mutexq: queue_id;
				 * MPI: tag */
	uint64_t flow;		/* unique flow id of this output */
	int src, dst;		/* lanes of sender and destination */
	uint64_t t_send;
	bool has_disp, has_reply;
	int disp_lane, reply_lane;
	uint64_t t_disp, t_reply;
	int64_t error;
};

enum viz_flow_step { VIZ_FLOW_START, VIZ_FLOW_STEP, VIZ_FLOW_END };

enum viz_lat_metric {
	VIZ_LAT_SEND_DISPATCH = 0,	/* msg_send -> msg_dispatch */
	VIZ_LAT_SEND_REPLY,		/* msg_send -> msg_reply */
	VIZ_LAT_IPI,			/* ipi_send -> ipi_recv */
	VIZ_LAT_MUTEXQ,			/* mutexq_enqueue -> dequeue */
	VIZ_LAT_MPI,			/* mpi_send -> mpi_recv */
	VIZ_LAT__COUNT
};
extern const char *const viz_lat_name[VIZ_LAT__COUNT];

/* What an output receives.  Each returns 0, or -1 after an I/O error. */
struct viz_out_ops {
	int (*lane_new)(void *o, int lane);
	int (*span)(void *o, const struct viz_span *s);
	int (*flow)(void *o, enum viz_flow_step step, const struct viz_msg *m,
		    int lane, uint64_t ts);
	int (*msg_done)(void *o, const struct viz_msg *m);
	int (*instant)(void *o, const struct viz_ev *ev, int lane, uint64_t ts);
	int (*gap)(void *o, int lane, uint64_t t0, uint64_t t1,
		   uint64_t count, bool packets);
	int (*thread_name)(void *o, uint64_t tid, const char *name, size_t len);
};

/* Latency samples of one (metric, src lane, dst lane). */
struct viz_lat {
	enum viz_lat_metric metric;
	int src, dst;
	size_t n, cap;
	uint64_t *v;		/* owned; sorted by viz_lat_stats() */
};

struct viz_lat_stats {
	uint64_t p50, p90, p99, max, min;
	double mean;
};

/* Sorts l->v and fills st (nearest-rank percentiles).  n must be > 0. */
void viz_lat_stats(struct viz_lat *l, struct viz_lat_stats *st);

/* Counters the summary and the messages report. */
struct viz_counts {
	uint64_t events, lwkt_events, generic_events, no_cpu_events;
	uint64_t provider_events;	/* any lwkt:* event, baselines too */
	uint64_t lost_events, lost_packets, gaps;
	uint64_t bad_version;		/* lwkt events with unknown fields */
	uint64_t unmatched;		/* an exit/reply without its start */
	uint64_t depth_overflow;
	uint64_t msgs_done, msgs_open, ipis_done;
	uint64_t pairs_done;		/* baseline enqueue/send -> receive */
	uint64_t calib_events;		/* the recorder's calibration burst */
};

struct viz_lane;
struct viz_map;

struct viz_model {
	const struct viz_out_ops *ops;	/* weak */
	void *out;			/* weak: the output's state */
	bool have_base;
	uint64_t base;			/* ns from origin of the first event */
	uint64_t last;			/* relative ns of the latest input */
	struct viz_lane *lanes;		/* owned, nlanes entries */
	int nlanes;
	int pu_lane[1024];		/* PU -> lwkt lane, -1 unknown */
	struct viz_map *open;		/* owned: messages/IPIs in flight */
	struct viz_map *names;		/* owned: tid -> thread name */
	uint64_t next_flow;
	struct viz_lat *lat;		/* owned, nlat entries */
	size_t nlat, caplat;
	int *lat_idx;			/* owned: [metric][src][dst] -> lat+1 */
	char *command;			/* owned: the recorded command, or NULL */
	uint64_t event_cost_ps;		/* measured cost of one event, 0: none */
	uint64_t calib_n;		/* events the measurement recorded */
	struct viz_counts c;
};

#define VIZ_MAX_LANES 1024
#define VIZ_LAT_LANES 64		/* latency tables for lanes below */

/* 0, or ENOMEM. */
int viz_model_init(struct viz_model *m, const struct viz_out_ops *ops,
		   void *out);
void viz_model_fini(struct viz_model *m);

/* Feeds one event (time order).  Returns 0, -1 on an output error, or
 * ENOMEM. */
int viz_model_event(struct viz_model *m, const struct viz_ev *ev);

/* Lost events (count, or packets if packets) on the stream recorded by
 * pu, between absolute ns t0 and t1 (have_time false: unknown, the gap is
 * placed at the lane's last time). */
int viz_model_lost(struct viz_model *m, int pu, bool have_time, uint64_t t0,
		   uint64_t t1, uint64_t count, bool packets);

/* End of the trace: closes what is open at the last time seen and reports
 * messages still in flight. */
int viz_model_finish(struct viz_model *m);

/* Thread name of tid, or NULL (len in *len). */
const char *viz_model_thread_name(const struct viz_model *m, uint64_t tid,
				  size_t *len);

/* Whether a lane was used (has reported lane_new). */
bool viz_model_lane_used(const struct viz_model *m, int lane);
/* The PU that last recorded an event of the lane, or -1. */
int viz_model_lane_pu(const struct viz_model *m, int lane);

#endif /* VIZ_MODEL_H */
