/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * model.h - the streaming event model shared by sink.lwkt.timeline and
 * sink.lwkt.chrome (no babeltrace2 types here, so it is unit-tested alone).
 *
 * The sink decodes each trace event into a struct viz_ev and feeds it, in
 * time order, to viz_model_event().  The model keeps only what is still
 * open (per lane: the running state and a small stack of nested sections;
 * per thread: the sections it had open when it was switched out; messages,
 * IPIs, waits and token holds in flight; thread names; latency and stage
 * samples) and hands finished pieces to the output's viz_out_ops at once:
 * closed spans, overlays (waits, token holds), flow steps, finished
 * messages, instants, lost-event gaps, benchmark runs.
 *
 * Processes: every key is scoped by the event's process, (host, vpid)
 * (lwkt-record adds the vpid context; the host is the trace's, see
 * viz_model_host), and, for the runtime's ids, by the runtime instance
 * (each runtime_init of that process starts one: ids restart).  MPI
 * send -> recv pairs are the exception: ranks are processes, on several
 * hosts too, and (sender, receiver, tag, seq) names a message of the job.
 *
 * Hosts: a trace of several hosts (traces streamed to one lttng-relayd,
 * read together) gives each event the host of its trace (the trace's
 * `hostname` environment entry).  Lanes are per host; outputs group them
 * by viz_model_lane_host().  Time: babeltrace2 places every trace's clock
 * at its offset from the Unix epoch (LTTng writes it into the metadata),
 * so hosts line up as well as their wall clocks agree.
 *
 * Lanes are (host, vpid, lwkt cpu): an lwkt event goes to the lane of its own
 * cpu field (the cpu that did the step: src of a send, dst of an IPI
 * receive, ...).  Any other event goes to the lane of the PU that recorded
 * it (the packet's cpu_id), mapped to the lwkt cpu last seen recording on
 * that PU for that process, if any.  So a trace without lwkt events gets
 * one lane per (vpid, cpu_id).
 *
 * Ordering contract with the outputs: per lane, span/flow/instant ops are
 * called in non-decreasing order of their "end" time (t1 of a span, ts of
 * anything else): spans are reported when they close, inner ones first.
 * Exceptions: gaps (babeltrace2 bounds a loss by packet ends, so a gap may
 * overlap later events of its lane; gaps of one lane come in order and do
 * not overlap each other), overlays (reported when they close, in any
 * order: they may overlap each other) and msg_done (any order).
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
	uint32_t vpid;		/* vpid context, 0 if the trace has none */
	int host;		/* viz_model_host() of the trace's hostname;
				 * 0 when there is one host */
	uint32_t pk;		/* set by the model (its process key) */
	uint64_t a[VIZ_EV_MAXF];	/* lwkt fields in the table's order */
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
#define VIZ_SPAN_SUSPENDED 2u	/* its thread was switched out: it goes on
				 * when the thread runs again */
#define VIZ_SPAN_RESUMED 4u	/* the rest of a section that was suspended */

/* Nested sections per lane above the running state. */
#define VIZ_MAX_DEPTH 6

struct viz_span {
	int lane;
	int depth;		/* 0: running state; 1.. nested sections */
	enum viz_span_kind kind;
	uint64_t t0, t1;	/* ns relative to viz_model.base */
	uint64_t label;
	unsigned flags;
	int name_id;		/* THREAD/CRIT: the thread's name, -1 none */
};

/* Spans that need not nest (they may overlap each other on a lane): what a
 * thread waits for, and what it holds. */
enum viz_ov_kind {
	VIZ_OV_WAIT_REPLY = 0,	/* msg_wait_begin -> end; label: msg_id */
	VIZ_OV_TOKEN_WAIT,	/* token_request -> acquire; label: tok */
	VIZ_OV_TOKEN_HELD,	/* token_acquire -> release; label: tok */
	VIZ_OV__COUNT
};
extern const char *const viz_ov_kind_name[VIZ_OV__COUNT];

struct viz_overlay {
	int lane;
	enum viz_ov_kind kind;
	uint64_t t0, t1;
	uint64_t label;
	uint64_t tid;		/* the waiting / holding thread */
	unsigned flags;		/* VIZ_SPAN_CUT: no end in the trace */
};

/* What travels from one lane to another. */
enum viz_msg_cat {
	VIZ_MSG = 0,		/* lwkt message: send -> dispatch -> reply */
	VIZ_MSG_IPI,		/* ipi_send -> ipi_recv */
	VIZ_MSG_MUTEXQ,		/* baseline: mutexq_enqueue -> dequeue */
	VIZ_MSG_MPI,		/* baseline: mpi_send -> mpi_recv */
	VIZ_MSG_TOKEN,		/* token_transfer -> token_acquire */
	VIZ_MSG__COUNT
};
extern const char *const viz_msg_cat_name[VIZ_MSG__COUNT];

/* The steps of a message (VIZ_MSG), in order; a step not in the trace
 * has t[] == VIZ_NONE and lane -1. */
enum viz_step {
	VIZ_ST_SEND = 0,	/* msg_send (sender's cpu) */
	VIZ_ST_REQ_RING,	/* the IPI that carried it: ipi_send */
	VIZ_ST_REQ_NOTICE,	/* ... its ipi_recv on the target cpu */
	VIZ_ST_DISPATCH,	/* msg_dispatch */
	VIZ_ST_REPLY,		/* msg_reply */
	VIZ_ST_REP_RING,	/* the reply's IPI: ipi_send */
	VIZ_ST_REP_NOTICE,	/* ... its ipi_recv on the sender's cpu */
	VIZ_ST_RESUME,		/* msg_wait_end: the sender has the reply */
	VIZ_ST__COUNT
};
#define VIZ_NONE UINT64_MAX

/* A message (or an IPI, a baseline pair, a token transfer) from its first
 * step to its last.  For all but VIZ_MSG only SEND and DISPATCH (the
 * receive) are used. */
struct viz_msg {
	enum viz_msg_cat cat;
	uint64_t id;		/* msg_id, ipi_id, seq */
	uint64_t port;		/* port_id; IPI: callback; mutexq: queue_id;
				 * MPI: tag; token: its address */
	uint64_t flow;		/* unique flow id of this output */
	int src, dst;		/* lanes of sender and destination (-1) */
	int dst_cpu;		/* VIZ_MSG: the target port's cpu field */
	uint64_t t[VIZ_ST__COUNT];
	int lane[VIZ_ST__COUNT];
	uint64_t cnt[VIZ_ST__COUNT][2];	/* events so far on the sender's
					 * [0] and the target's [1] lane */
	int64_t error;
	int bench;		/* benchmark run at the send, 0 none */
	bool waited;		/* msg_wait_begin seen */
	bool recv_first;	/* IPI: received before its send was traced */
	int64_t carries;	/* IPI: the msg_id it carried, -1 none */
	int role;		/* IPI: 0 none, 1 request, 2 reply */
	bool open;		/* reported unfinished */
};

enum viz_flow_step { VIZ_FLOW_START, VIZ_FLOW_STEP, VIZ_FLOW_END };

/* Latency and stage metrics.  Stages are named by the step that ends
 * them; a missing start step merges its stage into the next one. */
enum viz_lat_metric {
	VIZ_LAT_SEND_DISPATCH = 0,	/* msg_send -> msg_dispatch */
	VIZ_LAT_SEND_REPLY,		/* msg_send -> msg_reply */
	VIZ_LAT_IPI,			/* ipi_send -> ipi_recv */
	VIZ_LAT_MUTEXQ,			/* mutexq_enqueue -> dequeue */
	VIZ_LAT_MPI,			/* mpi_send -> mpi_recv */
	VIZ_LAT_MSG_TOTAL,		/* send -> last step */
	VIZ_LAT_ST_REQ_RING,		/* stages, in step order */
	VIZ_LAT_ST_REQ_NOTICE,
	VIZ_LAT_ST_DISPATCH,
	VIZ_LAT_ST_HANDLER,
	VIZ_LAT_ST_REP_RING,
	VIZ_LAT_ST_REP_NOTICE,
	VIZ_LAT_ST_RESUME,
	VIZ_LAT_TOK_TOTAL,		/* token_request -> acquire */
	VIZ_LAT_TOK_TRANSFER,		/* request -> transfer */
	VIZ_LAT_TOK_ACQUIRE,		/* transfer -> acquire */
	VIZ_LAT_MQ_WAKE,		/* enqueue -> the wake of a sleeper */
	VIZ_LAT_MQ_DEQUEUE,		/* wake -> dequeue */
	VIZ_LAT__COUNT
};
extern const char *const viz_lat_name[VIZ_LAT__COUNT];

/* What an output receives.  Each returns 0, or -1 after an I/O error. */
struct viz_out_ops {
	int (*lane_new)(void *o, int lane);
	/* Optional (NULL: not called): a span opens at s->t0 (t1 == t0);
	 * called in time order per lane, outer before inner, so an output can
	 * write begin/end pairs as they happen.  A span whose kind changes
	 * while open (an unknown running state that turns out to be a
	 * thread's, under a nested section) keeps the kind it opened with
	 * here; span() reports the final one. */
	int (*span_open)(void *o, const struct viz_span *s);
	int (*span)(void *o, const struct viz_span *s);
	int (*overlay)(void *o, const struct viz_overlay *v);
	int (*flow)(void *o, enum viz_flow_step step, const struct viz_msg *m,
		    int lane, uint64_t ts);
	int (*msg_done)(void *o, const struct viz_msg *m);
	int (*instant)(void *o, const struct viz_ev *ev, int lane, uint64_t ts);
	int (*gap)(void *o, int lane, uint64_t t0, uint64_t t1,
		   uint64_t count, bool packets);
	int (*thread_name)(void *o, int name_id, uint64_t tid,
			   const char *name, size_t len);
	int (*bench_run)(void *o, int bench, uint64_t t0, uint64_t t1,
			 uint64_t iterations);
};

/* Samples of one (benchmark, metric, src lane, dst lane); v: traced,
 * vc (only when a cost was recorded): the number of events each sample
 * holds until viz_model_finish(), then the estimate with the tracing
 * cost removed (traced - events x cost_used_ps). */
struct viz_lat {
	int bench;
	enum viz_lat_metric metric;
	int src, dst;
	size_t n, cap;
	uint64_t *v;		/* owned; sorted by viz_lat_stats() */
	uint64_t *vc;		/* owned, or NULL */
};

struct viz_lat_stats {
	uint64_t p50, p90, p99, max, min;
	double mean;
};

/* Sorts v (n > 0 values) and fills st (nearest-rank percentiles). */
void viz_stats(uint64_t *v, size_t n, struct viz_lat_stats *st);
/* The same on l->v. */
void viz_lat_stats(struct viz_lat *l, struct viz_lat_stats *st);

/* Counters the summary and the messages report. */
struct viz_counts {
	uint64_t events, lwkt_events, generic_events, no_cpu_events;
	uint64_t provider_events;	/* any lwkt:* event, baselines too */
	uint64_t lost_events, lost_packets, gaps;
	uint64_t bad_version;		/* lwkt events with unknown fields */
	uint64_t unmatched;		/* an exit/reply without its start */
	uint64_t depth_overflow;
	uint64_t msgs_done, msgs_open, ipis_done, ipis_open;
	uint64_t pairs_done;		/* baseline enqueue/send -> receive */
	uint64_t calib_events;		/* the recorder's calibration burst */
	uint64_t recv_before_send;	/* IPIs whose receive was traced first */
	uint64_t ids_reused;		/* an id sent again while still open */
	uint64_t suspended;		/* sections cut by a thread switch */
	uint64_t transfers;		/* token transfer -> acquire arrows */
};

/* A benchmark (bench_begin/end of the bench harness), per process. */
struct viz_bench {
	char *name;		/* owned */
	uint32_t vpid;
	int host;
	uint32_t pk;		/* the model's process key */
	uint64_t t0, t1;	/* first begin, last end (relative ns) */
	uint64_t runs, iterations;
};

struct viz_lane;
struct viz_map;
struct viz_proc;

/* A loss reported before any lane of its PU exists. */
struct viz_pgap {
	int host, pu;
	bool have_time;
	uint64_t t0, t1, count;
	bool packets;
};

struct viz_model {
	const struct viz_out_ops *ops;	/* weak */
	void *out;			/* weak: the output's state */
	bool have_base;
	uint64_t base;			/* ns from origin of the first event */
	uint64_t last;			/* relative ns of the latest input */
	struct viz_lane *lanes;		/* owned, nlanes entries */
	int nlanes, caplanes;
	struct viz_map *keys;		/* owned: lanes, PUs, threads, names */
	struct viz_map *open;		/* owned: messages/IPIs/... in flight */
	struct viz_proc *procs;		/* owned, nprocs entries */
	int nprocs;
	uint64_t next_flow;
	int next_name;
	struct viz_lat *lat;		/* owned, nlat entries */
	size_t nlat, caplat;
	struct viz_map *lat_idx;	/* owned: (bench, metric, lanes) -> lat */
	struct viz_bench *bench;	/* owned; [0] is "no benchmark" */
	int nbench, capbench;
	char *command;			/* owned: the recorded command, or NULL */
	uint64_t event_cost_ps;		/* measured cost of one event, 0: none */
	uint64_t calib_n;		/* events the measurement timed */
	uint64_t calib_bad_ps;		/* a recorded cost outside VIZ_CALIB_*
					 * (not used), 0: none */
	uint64_t calib_bound_ps;	/* the one-event stages' lowest traced
					 * p50, 0: none (viz_model_finish) */
	bool calib_over;		/* event_cost_ps > calib_bound_ps */
	uint64_t cost_used_ps;		/* subtracted: the lower of the two */
	struct viz_pgap *pgaps;		/* owned, npgaps entries */
	int npgaps;
	char **hosts;			/* owned, nhosts names */
	int nhosts;
	struct viz_pk { uint32_t vpid; int host; } *pks;	/* owned:
					 * process key -> (host, vpid) */
	uint32_t npks, cappks;
	uint32_t pk_vpid, pk_last;	/* the last lookup */
	int pk_host;
	/* false: no latency or stage samples are kept (outputs that do not
	 * show them: memory stays bounded by what is in flight). */
	bool keep_samples;
	struct viz_counts c;
};

/* A recorded per-event cost outside [MIN, MAX] ps is not plausible (a
 * disabled site costs < 1 ns; a recorded event ~0.1 us here): not used. */
#define VIZ_CALIB_MIN_PS 1000u
#define VIZ_CALIB_MAX_PS 10000000u
/* The one-event cross-check needs this many samples of a stage. */
#define VIZ_CALIB_CHECK_MIN_N 20u

#define VIZ_MAX_LANES 4096

/* 0, or ENOMEM. */
int viz_model_init(struct viz_model *m, const struct viz_out_ops *ops,
		   void *out);
void viz_model_fini(struct viz_model *m);

/* Feeds one event (time order).  Returns 0, -1 on an output error, or
 * ENOMEM. */
int viz_model_event(struct viz_model *m, const struct viz_ev *ev);

/* Lost events (count, or packets if packets) on the stream recorded by
 * pu, between absolute ns t0 and t1 (have_time false: unknown, the gap is
 * placed at the lane's last time).  vpid: 0 when unknown (per-uid buffers
 * mix processes: the gap goes to every lane of that PU). */
int viz_model_lost(struct viz_model *m, int pu, bool have_time, uint64_t t0,
		   uint64_t t1, uint64_t count, bool packets);
/* The same on a PU of host `host`. */
int viz_model_lost_host(struct viz_model *m, int host, int pu, bool have_time,
			uint64_t t0, uint64_t t1, uint64_t count, bool packets);

/* The index of host `name` (len bytes: a trace's hostname), added on
 * first use: 0 for the first one; -ENOMEM. */
int viz_model_host(struct viz_model *m, const char *name, size_t len);
/* Its name ("" for an index never handed out), and how many there are. */
const char *viz_model_host_name(const struct viz_model *m, int host);
static inline int viz_model_nhosts(const struct viz_model *m) { return m->nhosts; }

/* End of the trace: closes what is open at the last time seen, cut, and
 * reports what is still in flight as unfinished (no invented end). */
int viz_model_finish(struct viz_model *m);

/* Whether a lane was used (has reported lane_new). */
bool viz_model_lane_used(const struct viz_model *m, int lane);
/* The PU that last recorded an event of the lane, or -1. */
int viz_model_lane_pu(const struct viz_model *m, int lane);
/* The lane's process and lwkt cpu (or the PU for a lane without lwkt
 * events). */
uint32_t viz_model_lane_vpid(const struct viz_model *m, int lane);
int viz_model_lane_cpu(const struct viz_model *m, int lane);
/* The lane's host (an index for viz_model_host_name). */
int viz_model_lane_host(const struct viz_model *m, int lane);

#endif /* VIZ_MODEL_H */
