/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viz.h - the sink component shared by sink.lwkt.timeline (HTML page),
 * sink.lwkt.chrome (Chrome trace-event JSON) and sink.lwkt.perfetto
 * (Perfetto protobuf trace).  Private to the plugin.
 *
 * One component state for both classes: sink.c decodes babeltrace2
 * messages into struct viz_ev and feeds model.c, whose callbacks are the
 * output's (out_html.c, out_chrome.c, out_perfetto.c), which write into a
 * temporary file renamed over cfg.path only after the whole trace went
 * through.
 */
#ifndef VIZ_VIZ_H
#define VIZ_VIZ_H

#include <babeltrace2/babeltrace.h>
#include <stdbool.h>
#include <stdio.h>

#include "model.h"

enum viz_format { VIZ_FMT_HTML, VIZ_FMT_CHROME, VIZ_FMT_PERFETTO };

struct viz_cfg {
	char *path;			/* owned: the output file */
	bool to_stdout;			/* path "-": standard output */
	char *bench_json;		/* owned: the `bench` file's text, or NULL */
	uint64_t max_bytes;		/* chrome, timeline: refuse a larger
					 * output (0: none) */
	uint64_t tile_records;		/* timeline: records per tile (0:
					 * the default) */
};

/* chrome://tracing's loader gives up near 256 MB of JSON (google/trace-viewer
 * issue 627, as cited in google/perfetto issue 99); Perfetto UI holds ~2 GB
 * in all, a JSON trace several times its size (perfetto.dev, "Visualising
 * large traces"). */
#define VIZ_CHROME_MAX_BYTES (256ull << 20)
/* The timeline page's bound (viz/README.md, "How large a page"): past it
 * the browser's memory, not the page's encoding, is the limit. */
#define VIZ_PAGE_MAX_BYTES (384ull << 20)

/* Per event class, found once (by class pointer) and kept. */
struct viz_ecls {
	const bt_event_class *ec;	/* weak: the key (NULL: empty slot) */
	enum viz_evk k;
	int name_id;			/* index in viz_comp.names */
	bool want_args;			/* format the payload as args */
	bool provider;			/* an lwkt:* event */
	bool bad_warned;
	int fidx[VIZ_EV_MAXF];		/* payload member index per field */
	bool fsigned[VIZ_EV_MAXF];
	int str_idx;			/* the STR member, -1 if none */
	int vpid_idx;			/* common context "vpid", -1 if none */
};

struct viz_comp;

/* An output format: model callbacks plus the start and the end of file. */
struct viz_output {
	const char *what;		/* "sink.lwkt.timeline" */
	const struct viz_out_ops *ops;
	int (*begin)(struct viz_comp *c);	/* header; 0 or -1 */
	int (*end)(struct viz_comp *c);		/* summary; 0 or -1 */
	void (*fini)(struct viz_comp *c);	/* frees c->pf; may be NULL */
};

extern const struct viz_output viz_out_html;
extern const struct viz_output viz_out_chrome;
extern const struct viz_output viz_out_perfetto;

struct viz_comp {
	enum viz_format fmt;
	const struct viz_output *o;	/* weak: static */
	struct viz_cfg cfg;
	bt_self_component *self;	/* weak */
	bt_logging_level log_level;
	bt_message_iterator *it;	/* owned */

	char *tmp_path;			/* owned: the file being written */
	FILE *f;			/* owned */
	bool committed;			/* renamed over cfg.path */

	struct viz_model model;
	bool model_ready;

	/* Decoding caches. */
	struct viz_ecls *ecls;		/* owned: open addressing */
	size_t ecls_cap, ecls_n;
	char **names;			/* owned: event class names by id */
	size_t nnames, capnames;
	const bt_packet *last_pkt;	/* weak: pu of the latest packet */
	int last_pu;
	const bt_trace *last_trace;	/* weak: host of the latest trace */
	int last_host;
	struct { const bt_stream *s; int pu; } *spu;	/* owned */
	size_t nspu, capspu;
	char *args;			/* owned: payload JSON scratch */
	size_t args_cap;
	uint64_t no_clock_events;

	/* Output state. */
	bool first_rec;			/* no comma before the next record */
	uint64_t recs;
	bool gap_track[VIZ_MAX_LANES];	/* chrome: lost-events track named */
	uint64_t async_id;		/* chrome: overlay ids */
	uint32_t *pids;			/* owned: chrome: processes named */
	size_t npids;
	char **tnames;			/* owned: chrome: thread names by id */
	size_t ntnames;
	bool bench_track_named;
	void *pf;			/* owned (o->fini): perfetto's or the
					 * page's state */
	uint64_t held_bytes;		/* output held in memory, not yet in f
					 * (the page's tiles): for max_bytes */
};

/* Writes the escaped name table as a JSON array (HTML summary). */
void viz_write_names(struct viz_comp *c);

#endif /* VIZ_VIZ_H */
