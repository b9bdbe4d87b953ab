/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * out_chrome.c - sink.lwkt.chrome: Chrome trace-event JSON, streamed.
 *
 * One synthetic process (pid 1) whose threads are the cpus (tid = lane,
 * thread_name "CPU n"): Perfetto attaches flows to thread tracks only.
 * Running thread / idle / sleep / critical section / IPI handling are
 * complete events ("X"), written when they close (so, per track, in order
 * of their end time); a message is a flow s -> t -> f (send, dispatch,
 * reply), an IPI, a baseline mutexq enqueue -> dequeue or MPI send -> recv
 * a flow s -> f, every step bound to
 * its enclosing slice ("bp":"e").  Flow ids are unique per file (a
 * counter; the trace's msg_id is in the args).  Other events are thread
 * instants with their payload as args.  Lost events are "X" slices named
 * "LOST ..." (category "lost") on a track of their own under each cpu
 * (tid VIZ_GAP_TID + lane, "CPU n lost events"): babeltrace2 only bounds
 * a loss by packet ends, so the range overlaps events still in the trace
 * and cannot nest in the cpu's own track.
 */
#include <inttypes.h>
#include <string.h>

#include "jsonw.h"
#include "viz.h"

static void
rec_start(struct viz_comp *c)
{
	if (!c->first_rec)
		fputs_unlocked(",\n", c->f);
	c->first_rec = false;
	c->recs++;
}

/* ,"pid":1,"tid":lane,"ts":us */
static void
where(struct viz_comp *c, int lane, uint64_t ts)
{
	fputs_unlocked(",\"pid\":1,\"tid\":", c->f);
	viz_json_i64(c->f, lane);
	fputs_unlocked(",\"ts\":", c->f);
	viz_json_us(c->f, ts);
}

static int
ch_begin(struct viz_comp *c)
{
	fputs_unlocked("{\"traceEvents\":[\n", c->f);
	rec_start(c);
	fputs_unlocked("{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\","
		       "\"args\":{\"name\":\"lwkt cpus\"}}", c->f);
	return ferror(c->f) ? -1 : 0;
}

static int
ch_lane_new(void *o, int lane)
{
	struct viz_comp *c = o;

	rec_start(c);
	fprintf(c->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
		"\"args\":{\"name\":\"CPU %d\"}}", lane, lane);
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":"
		"\"thread_sort_index\",\"args\":{\"sort_index\":%d}}", lane, lane);
	return 0;
}

static int
ch_span(void *o, const struct viz_span *s)
{
	struct viz_comp *c = o;
	size_t nlen;
	const char *nm;

	rec_start(c);
	fputs_unlocked("{\"ph\":\"X\",\"cat\":\"", c->f);
	fputs_unlocked(viz_span_kind_name[s->kind], c->f);
	fputs_unlocked("\",\"name\":", c->f);
	switch (s->kind) {
	case VIZ_SPAN_THREAD:
		nm = viz_model_thread_name(&c->model, s->label, &nlen);
		if (nm && nlen) {
			viz_json_strn(c->f, nm, nlen);
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
	if (s->kind == VIZ_SPAN_THREAD || s->kind == VIZ_SPAN_CRIT) {
		fputs_unlocked(",\"args\":{\"tid\":", c->f);
		viz_json_u64(c->f, s->label);
		fputs_unlocked(s->flags & VIZ_SPAN_CUT ? ",\"cut\":true}" : "}", c->f);
	} else if (s->flags & VIZ_SPAN_CUT) {
		fputs_unlocked(",\"args\":{\"cut\":true}", c->f);
	}
	putc_unlocked('}', c->f);
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
		ph[step], viz_msg_cat_name[m->cat], viz_msg_cat_name[m->cat], m->flow);
	if (step != VIZ_FLOW_START)
		fputs_unlocked(",\"bp\":\"e\"", c->f);
	where(c, lane, ts);
	if (m->cat == VIZ_MSG_IPI)
		fprintf(c->f, ",\"args\":{\"ipi_id\":%" PRIu64 ",\"func\":\"0x%" PRIx64
			"\",\"src\":%d,\"dst\":%d}}", m->id, m->port, m->src, m->dst);
	else if (m->cat == VIZ_MSG_MUTEXQ)
		fprintf(c->f, ",\"args\":{\"queue_id\":%" PRIu64 ",\"seq\":%" PRIu64 "}}",
			m->port, m->id);
	else if (m->cat == VIZ_MSG_MPI)
		fprintf(c->f, ",\"args\":{\"tag\":%" PRId64 ",\"seq\":%" PRIu64 "}}",
			(int64_t)(int32_t)m->port, m->id);
	else
		fprintf(c->f, ",\"args\":{\"msg_id\":%" PRIu64 ",\"port_id\":%" PRIu64
			",\"src\":%d,\"dst\":%d}}", m->id, m->port, m->src, m->dst);
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
	if (ev->k >= VIZ_EV_mutexq_enqueue && ev->k <= VIZ_EV_mpi_recv)
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

#define VIZ_GAP_TID 100000

static int
ch_gap(void *o, int lane, uint64_t t0, uint64_t t1, uint64_t count,
       bool packets)
{
	struct viz_comp *c = o;

	if (!c->gap_track[lane]) {
		c->gap_track[lane] = true;
		rec_start(c);
		fprintf(c->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
			"\"args\":{\"name\":\"CPU %d lost events\"}}", VIZ_GAP_TID + lane, lane);
		rec_start(c);
		fprintf(c->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":"
			"\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
			VIZ_GAP_TID + lane, lane);
	}
	rec_start(c);
	fprintf(c->f, "{\"ph\":\"X\",\"cat\":\"lost\",\"name\":\"LOST %" PRIu64
		" %s\"", count, packets ? "packets" : "events");
	where(c, VIZ_GAP_TID + lane, t0);
	fputs_unlocked(",\"dur\":", c->f);
	viz_json_us(c->f, t1 - t0);
	fprintf(c->f, ",\"args\":{\"count\":%" PRIu64 ",\"packets\":%s}}", count,
		packets ? "true" : "false");
	return 0;
}

static int
ch_thread_name(void *o, uint64_t tid, const char *name, size_t len)
{
	(void)o;
	(void)tid;
	(void)name;
	(void)len;
	return 0;
}

static int
ch_end(struct viz_comp *c)
{
	const struct viz_counts *k = &c->model.c;

	fprintf(c->f, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{"
		"\"generator\":\"lwkt-lab sink.lwkt.chrome\",\"base_ns\":\"%" PRIu64
		"\",\"events\":%" PRIu64 ",\"lwkt_events\":%" PRIu64
		",\"lost_events\":%" PRIu64 ",\"lost_packets\":%" PRIu64 "}}\n",
		c->model.base, k->events, k->lwkt_events, k->lost_events,
		k->lost_packets);
	return ferror(c->f) ? -1 : 0;
}

static const struct viz_out_ops ch_ops = {
	.lane_new = ch_lane_new,
	.span = ch_span,
	.flow = ch_flow,
	.msg_done = ch_msg_done,
	.instant = ch_instant,
	.gap = ch_gap,
	.thread_name = ch_thread_name,
};

const struct viz_output viz_out_chrome = {
	.what = "sink.lwkt.chrome",
	.ops = &ch_ops,
	.begin = ch_begin,
	.end = ch_end,
};
