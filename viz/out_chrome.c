/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * out_chrome.c - sink.lwkt.chrome: Chrome trace-event JSON, streamed.
 *
 * One process per traced process (pid = its vpid, 1 when the trace has
 * none; of the second, third... host of a several-host trace, vpid +
 * host index * 2^22, above any Linux pid, and the host in its name: the
 * processes of a host sort together) whose threads are its lwkt cpus (tid = cpu + 1, thread_name
 * "CPU n"): Perfetto attaches flows to thread tracks only, and its older
 * versions merged a JSON tid 0 into tid 1 (so no lane has tid 0).  Every
 * record has a "cat" (metadata: "__metadata"): some viewers filter on it.
 * Running thread / idle / sleep / critical section / IPI handling are
 * complete events ("X"), written when they close (so, per track, in order
 * of their end time); each hop of a message is a flow s -> f (send ->
 * dispatch -> reply -> sender resumes), and so are an IPI, a token
 * transfer, a baseline mutexq enqueue -> dequeue or MPI send -> recv,
 * every finish bound to its enclosing slice ("bp":"e"); a hop whose end
 * is not in the trace has no finish.  Waits and token holds, which may
 * overlap, are async slices ("b"/"e"); benchmark runs are slices on a
 * "benchmarks" track (tid VIZ_BENCH_TID).  Flow ids are unique per file (a
 * counter; the trace's msg_id is in the args).  Other events are thread
 * instants with their payload as args.  Lost events are "X" slices named
 * "LOST ..." (category "lost") on a track of their own under each cpu
 * (tid VIZ_GAP_TID + lane, "CPU n lost events"): babeltrace2 only bounds
 * a loss by packet ends, so the range overlaps events still in the trace
 * and cannot nest in the cpu's own track.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "viz.h"

#define VIZ_GAP_TID 100000
#define VIZ_BENCH_TID 200000

/* The JSON tid of an lwkt cpu's track: never 0 (see the header). */
static int64_t
cpu_tid(int cpu)
{
	return (int64_t)cpu + 1;
}

static void
rec_start(struct viz_comp *c)
{
	if (!c->first_rec)
		fputs_unlocked(",\n", c->f);
	c->first_rec = false;
	c->recs++;
}

/* Linux pids are below 2^22 (PID_MAX_LIMIT). */
#define CH_HOST_PID_STRIDE (1u << 22)

static uint32_t
host_pid(int host, uint32_t vpid)
{
	return (vpid ? vpid : 1) + (uint32_t)host * CH_HOST_PID_STRIDE;
}

static uint32_t
lane_pid(struct viz_comp *c, int lane)
{
	return host_pid(viz_model_lane_host(&c->model, lane),
			viz_model_lane_vpid(&c->model, lane));
}

/* ,"pid":P,"tid":T,"ts":us */
static void
where_pt(struct viz_comp *c, uint32_t pid, int64_t tid, uint64_t ts)
{
	fprintf(c->f, ",\"pid\":%" PRIu32 ",\"tid\":", pid);
	viz_json_i64(c->f, tid);
	fputs_unlocked(",\"ts\":", c->f);
	viz_json_us(c->f, ts);
}

static void
where(struct viz_comp *c, int lane, uint64_t ts)
{
	where_pt(c, lane_pid(c, lane), cpu_tid(viz_model_lane_cpu(&c->model, lane)), ts);
}

static int
ch_begin(struct viz_comp *c)
{
	fputs_unlocked("{\"traceEvents\":[\n", c->f);
	c->first_rec = true;
	return ferror(c->f) ? -1 : 0;
}

static void
meta_thread(struct viz_comp *c, uint32_t pid, int64_t tid, const char *name,
	    int64_t sort)
{
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"M\",\"cat\":\"__metadata\",\"pid\":%" PRIu32
		",\"tid\":%" PRId64 ",\"name\":\"thread_name\",\"args\":{\"name\":"
		"\"%s\"}}", pid, tid, name);
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"M\",\"cat\":\"__metadata\",\"pid\":%" PRIu32
		",\"tid\":%" PRId64 ",\"name\":\"thread_sort_index\",\"args\":"
		"{\"sort_index\":%" PRId64 "}}", pid, tid, sort);
}

/* Names a process once (pid as host_pid made it). */
static int
proc_named(struct viz_comp *c, uint32_t pid, int host)
{
	for (size_t i = 0; i < c->npids; i++)
		if (c->pids[i] == pid)
			return 0;
	uint32_t *n = realloc(c->pids, (c->npids + 1) * sizeof(*n));
	if (!n)
		return -1;
	c->pids = n;
	c->pids[c->npids++] = pid;
	const char *hn = viz_model_host_name(&c->model, host);
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"M\",\"cat\":\"__metadata\",\"pid\":%" PRIu32
		",\"name\":\"process_name\",\"args\":{\"name\":\"lwkt cpus of "
		"pid %" PRIu32, pid, pid % CH_HOST_PID_STRIDE);
	if (*hn) {
		char eh[256];
		viz_json_escape_buf(eh, sizeof(eh), hn, strlen(hn));
		fprintf(c->f, " on %s", eh);
	}
	fputs_unlocked("\"}}", c->f);
	return 0;
}

static int
ch_lane_new(void *o, int lane)
{
	struct viz_comp *c = o;
	uint32_t pid = lane_pid(c, lane);
	int cpu = viz_model_lane_cpu(&c->model, lane);
	char nm[32];

	if (proc_named(c, pid, viz_model_lane_host(&c->model, lane)))
		return -1;
	snprintf(nm, sizeof(nm), "CPU %d", cpu);
	meta_thread(c, pid, cpu_tid(cpu), nm, cpu);
	return 0;
}

static const char *
name_of(struct viz_comp *c, int id)
{
	return id >= 0 && (size_t)id < c->ntnames ? c->tnames[id] : NULL;
}

static int
ch_span(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;
	const char *nm;

	rec_start(c);
	fputs_unlocked("{\"ph\":\"X\",\"cat\":\"", c->f);
	fputs_unlocked(viz_span_kind_name[s->kind], c->f);
	fputs_unlocked("\",\"name\":", c->f);
	switch (s->kind) {
	case VIZ_SPAN_THREAD:
		if ((nm = name_of(c, s->name_id)) && *nm) {
			viz_json_str(c->f, nm);
		} else {
			fputs_unlocked("\"tid ", c->f);
			viz_json_u64(c->f, s->label);
			putc_unlocked('"', c->f);
		}
		break;
	case VIZ_SPAN_IPI:
		fputs_unlocked("\"IPI from CPU ", c->f);
		viz_json_u64(c->f, s->label);
		putc_unlocked('"', c->f);
		break;
	case VIZ_SPAN_CRIT:
		fputs_unlocked("\"critical section\"", c->f);
		break;
	case VIZ_SPAN_NETISR:
		fputs_unlocked(s->label ? "\"netisr dispatch\"" :
			       "\"netisr dispatch (global token)\"", c->f);
		break;
	case VIZ_SPAN_SYSMSG:
		fputs_unlocked("\"syscall ", c->f);
		viz_json_u64(c->f, s->label);
		putc_unlocked('"', c->f);
		break;
	default:
		putc_unlocked('"', c->f);
		fputs_unlocked(viz_span_kind_name[s->kind], c->f);
		putc_unlocked('"', c->f);
		break;
	}
	where(c, s->lane, s->t0);
	fputs_unlocked(",\"dur\":", c->f);
	viz_json_us(c->f, s->t1 - s->t0);
	fputs_unlocked(",\"args\":{", c->f);
	bool comma = false;
	if (s->kind == VIZ_SPAN_THREAD || s->kind == VIZ_SPAN_CRIT) {
		fputs_unlocked("\"tid\":", c->f);
		viz_json_u64(c->f, s->label);
		comma = true;
	}
	if (s->flags & VIZ_SPAN_CUT) {
		fputs_unlocked(comma ? ",\"cut\":true" : "\"cut\":true", c->f);
		comma = true;
	}
	if (s->flags & VIZ_SPAN_SUSPENDED) {
		fputs_unlocked(comma ? ",\"suspended\":true" : "\"suspended\":true", c->f);
		comma = true;
	}
	if (s->flags & VIZ_SPAN_RESUMED)
		fputs_unlocked(comma ? ",\"resumed\":true" : "\"resumed\":true", c->f);
	fputs_unlocked("}}", c->f);
	return 0;
}

/* Waits and holds may overlap: async slices, written when they close. */
static int
ch_overlay(void *o, const struct viz_overlay *v)
{
	struct viz_comp *c = o;
	uint64_t id = ++c->async_id;

	for (int end = 0; end < 2; end++) {
		rec_start(c);
		fprintf(c->f, "{\"ph\":\"%c\",\"cat\":\"%s\",\"name\":\"%s\",\"id\":%"
			PRIu64, end ? 'e' : 'b',
			v->kind == VIZ_OV_WAIT_REPLY ? "wait" : "token",
			viz_ov_kind_name[v->kind], id);
		where(c, v->lane, end ? v->t1 : v->t0);
		fprintf(c->f, ",\"args\":{\"%s\":\"%s%" PRIx64 "\",\"tid\":%" PRIu64
			"%s}}", v->kind == VIZ_OV_WAIT_REPLY ? "msg_id" : "token",
			v->kind == VIZ_OV_WAIT_REPLY ? "" : "0x", v->label, v->tid,
			v->flags & VIZ_SPAN_CUT ? ",\"cut\":true" : "");
	}
	return 0;
}

static int
ch_flow(void *o, enum viz_flow_step step, const struct viz_msg *m, int lane,
	uint64_t ts)
{
	static const char ph[] = { 's', 't', 'f' };
	struct viz_comp *c = o;

	rec_start(c);
	fprintf(c->f, "{\"ph\":\"%c\",\"cat\":\"%s\",\"name\":\"%s\",\"id\":%" PRIu64,
		ph[step], viz_msg_cat_name[m->cat], viz_msg_cat_name[m->cat],
		(uint64_t)(m->flow & ~((uint64_t)1 << 62)));
	if (step != VIZ_FLOW_START)
		fputs_unlocked(",\"bp\":\"e\"", c->f);
	where(c, lane, ts);
	if (m->cat == VIZ_MSG_IPI)
		fprintf(c->f, ",\"args\":{\"ipi_id\":%" PRIu64 ",\"src\":%d,\"dst\":%d}}",
			m->id, m->src, m->dst);
	else if (m->cat == VIZ_MSG_MUTEXQ)
		fprintf(c->f, ",\"args\":{\"queue_id\":%" PRIu64 ",\"seq\":%" PRIu64 "}}",
			m->port, m->id);
	else if (m->cat == VIZ_MSG_MPI)
		fprintf(c->f, ",\"args\":{\"tag\":%" PRId64 ",\"seq\":%" PRIu64 "}}",
			(int64_t)(int32_t)m->port, m->id);
	else if (m->cat == VIZ_MSG_TOKEN)
		fprintf(c->f, ",\"args\":{\"token\":\"0x%" PRIx64 "\"}}", m->port);
	else
		fprintf(c->f, ",\"args\":{\"msg_id\":%" PRIu64 ",\"port_id\":%" PRIu64
			"}}", m->id, m->port);
	return 0;
}

static int
ch_msg_done(void *o, const struct viz_msg *m)
{
	(void)o;
	(void)m;
	return 0;
}

static int
ch_instant(void *o, const struct viz_ev *ev, int lane, uint64_t ts)
{
	struct viz_comp *c = o;

	rec_start(c);
	/* A baseline pair's ends are zero-length slices: Perfetto binds
	 * flow steps to slices, not to instants. */
	if (ev->k == VIZ_EV_mutexq_enqueue || ev->k == VIZ_EV_mutexq_dequeue ||
	    ev->k == VIZ_EV_mpi_send || ev->k == VIZ_EV_mpi_recv ||
	    ev->k == VIZ_EV_token_transfer || ev->k == VIZ_EV_token_acquire)
		fputs_unlocked("{\"ph\":\"X\",\"dur\":0,\"cat\":\"event\",\"name\":", c->f);
	else
		fputs_unlocked("{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"event\",\"name\":", c->f);
	viz_json_str(c->f, ev->name);
	where(c, lane, ts);
	if (ev->args) {
		fputs_unlocked(",\"args\":", c->f);
		fwrite_unlocked(ev->args, 1, ev->args_len, c->f);
	}
	putc_unlocked('}', c->f);
	return 0;
}

static int
ch_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t count,
       bool packets)
{
	struct viz_comp *c = o;
	uint32_t pid = lane_pid(c, lane);
	int cpu = viz_model_lane_cpu(&c->model, lane);

	if (!c->gap_track[lane]) {
		char nm[48];
		c->gap_track[lane] = true;
		snprintf(nm, sizeof(nm), "CPU %d lost events", cpu);
		meta_thread(c, pid, VIZ_GAP_TID + cpu, nm, cpu);
	}
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"X\",\"cat\":\"lost\",\"name\":\"LOST %" PRIu64
		" %s\"", count, packets ? "packets" : "events");
	where_pt(c, pid, VIZ_GAP_TID + cpu, t0);
	fputs_unlocked(",\"dur\":", c->f);
	viz_json_us(c->f, t1 - t0);
	fprintf(c->f, ",\"args\":{\"count\":%" PRIu64 ",\"packets\":%s}}", count,
		packets ? "true" : "false");
	return 0;
}

static int
ch_thread_name(void *o, int name_id, uint64_t tid, const char *name,
	       size_t len)
{
	struct viz_comp *c = o;

	(void)tid;
	if (name_id < 0)
		return 0;
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
ch_bench_run(void *o, int bench, uint64_t t0, uint64_t t1, uint64_t iters)
{
	struct viz_comp *c = o;
	const struct viz_bench *b = &c->model.bench[bench];
	uint32_t pid = host_pid(b->host, b->vpid);

	if (!c->bench_track_named) {
		c->bench_track_named = true;
		if (proc_named(c, pid, b->host))
			return -1;
		meta_thread(c, pid, VIZ_BENCH_TID, "benchmarks", -1);
	}
	rec_start(c);
	fputs_unlocked("{\"ph\":\"X\",\"cat\":\"bench\",\"name\":", c->f);
	viz_json_str(c->f, b->name);
	where_pt(c, pid, VIZ_BENCH_TID, t0);
	fputs_unlocked(",\"dur\":", c->f);
	viz_json_us(c->f, t1 - t0);
	fprintf(c->f, ",\"args\":{\"iterations\":%" PRIu64 "}}", iters);
	return 0;
}

static int
ch_end(struct viz_comp *c)
{
	const struct viz_counts *k = &c->model.c;

	fprintf(c->f, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{"
		"\"generator\":\"lwkt-lab sink.lwkt.chrome\",\"base_ns\":\"%" PRIu64
		"\",\"events\":%" PRIu64 ",\"lwkt_events\":%" PRIu64
		",\"lost_events\":%" PRIu64 ",\"lost_packets\":%" PRIu64
		",\"event_cost_ps\":%" PRIu64 "}}\n",
		c->model.base, k->events, k->lwkt_events, k->lost_events,
		k->lost_packets, c->model.event_cost_ps);
	return ferror(c->f) ? -1 : 0;
}

static const struct viz_out_ops ch_ops = {
	.lane_new = ch_lane_new,
	.span = ch_span,
	.overlay = ch_overlay,
	.flow = ch_flow,
	.msg_done = ch_msg_done,
	.instant = ch_instant,
	.gap = ch_gap,
	.thread_name = ch_thread_name,
	.bench_run = ch_bench_run,
};

const struct viz_output viz_out_chrome = {
	.what = "sink.lwkt.chrome",
	.ops = &ch_ops,
	.begin = ch_begin,
	.end = ch_end,
};
