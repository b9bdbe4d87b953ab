/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_ctf.c - the viz plugin (every sink of viz/'s `lwkt` plugin) on
 * mutated CTF, through the real babeltrace2 graph the CLI builds:
 * src.ctf.fs -> flt.utils.muxer -> sink.lwkt.<each>.
 *
 * One source, two targets (-DFUZZ_CTF_META=0/1):
 *   ctf-stream  the input is one packet stream file; the metadata is the
 *               base trace's (so the events decode, and their payloads,
 *               timestamps, packet contexts are what is mutated)
 *   ctf-meta    the input is the metadata (TSDL, packetized or text);
 *               the stream files are the base trace's
 * The plugin is FUZZ_VIZ_PLUGIN (environment, else the path built in).
 * The base trace (FUZZ_CTF_BASE, default ci/fuzz/ctf-base/) is a small
 * LTTng trace recorded with trace/lwkt-record; each input is written
 * into a scratch trace directory that the graph then reads.
 *
 * Properties (abort() when violated), for each sink: the graph ends with
 * OK or ERROR (never another status); after OK the output file exists,
 * after ERROR no file at all is left (the sink's "no half-written
 * output" promise, viz/sink.c); the JSON it wrote is valid (RFC 8259,
 * UTF-8: json_check.h) -- the whole file of sink.lwkt.chrome, the data
 * element of sink.lwkt.timeline's page, which also holds no '<' (a
 * "</script" or "<!--" in it would end or derail the element).  Set-up checks that every sink renders
 * the unmutated base trace, so the fuzzing is never vacuous.
 *
 * Persistent: a graph per input; the plugins are loaded once, before
 * the fork server (their .so files are what costs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <babeltrace2/babeltrace.h>

#define FUZZ_PERSISTENT 1
#include "fuzz_main.h"
#include "json_check.h"

#ifndef FUZZ_CTF_META
#error "define FUZZ_CTF_META (0: stream file target, 1: metadata target)"
#endif
#ifndef FUZZ_CTF_BASE_DEFAULT
#define FUZZ_CTF_BASE_DEFAULT "ci/fuzz/ctf-base"
#endif
#ifndef FUZZ_VIZ_PLUGIN
#error "define FUZZ_VIZ_PLUGIN (the path of the viz plugin .so to load)"
#endif

#define MAXSINKS 8
#define MAXSTREAMS 16

static const bt_plugin *ctf_plugin, *utils_plugin;
static const bt_plugin_set *viz_set;
static const bt_component_class_source *src_cls;
static const bt_component_class_filter *mux_cls;
static const bt_component_class_sink *sinks[MAXSINKS];
static const char *sink_names[MAXSINKS];
static int nsinks;
static int setting_up;	/* fuzz_setup's check of each sink on the base */

/* The scratch trace directory, and the output directory beside it (the
 * trace directory must hold trace files only: src.ctf.fs reads every
 * file in it as a stream). */
static char trace_dir[PATH_MAX], out_dir[PATH_MAX], out_path[PATH_MAX];
static char fuzzed_path[PATH_MAX];

static void
die(const char *fmt, const char *arg)
{
	fputs("fuzz_ctf: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(3);
}

static void
write_file(const char *path, const uint8_t *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("cannot create %s", path);
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot write %s", path);
		b += w;
		n -= (size_t)w;
	}
	close(fd);
}

static uint8_t *
read_file(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	uint8_t *b = fuzz_read_all(fd, n);
	close(fd);
	return b;
}

/* Files in out_dir: 0 none, 1 exactly out_path, -1 anything else. */
static int
out_state(void)
{
	DIR *d = opendir(out_dir);
	int files = 0, ours = 0;
	struct dirent *e;

	if (!d)
		die("cannot list %s", out_dir);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		files++;
		if (!strcmp(e->d_name, "out"))
			ours = 1;
	}
	closedir(d);
	return files == 0 ? 0 : files == 1 && ours ? 1 : -1;
}

#define DATA_OPEN "<script id=\"lwkt-data\" type=\"application/json\">"

/* The JSON a successful sink wrote is valid (see the file's header). */
static void
check_output(int si)
{
	size_t n;
	uint8_t *b = read_file(out_path, &n);
	const char *p, *e, *bad;

	if (!b)
		die("cannot read %s", out_path);
	b[n] = '\0';	/* fuzz_read_all leaves a spare byte */
	p = (const char *)b;
	e = p + n;
	if (!strcmp(sink_names[si], "timeline")) {
		p = strstr(p, DATA_OPEN);
		e = p ? strstr(p, "</script") : NULL;
		if (!p || !e) {
			fputs("fuzz_ctf: sink.lwkt.timeline: no data element in the page\n",
			      stderr);
			abort();
		}
		p += strlen(DATA_OPEN);
		if (memchr(p, '<', (size_t)(e - p))) {
			fputs("fuzz_ctf: sink.lwkt.timeline: a '<' inside the data "
			      "element\n", stderr);
			abort();
		}
	} else if (strcmp(sink_names[si], "chrome") != 0) {
		free(b);
		return;		/* not JSON (another sink's format) */
	}
	if ((bad = json_check(p, (size_t)(e - p))) != NULL) {
		fprintf(stderr, "fuzz_ctf: sink.lwkt.%s wrote invalid JSON at byte "
			"%zu: '%.40s'\n", sink_names[si], (size_t)(bad - (const char *)b),
			bad);
		abort();
	}
	free(b);
}

/* Runs the graph src.ctf.fs(trace_dir) -> muxer -> sink once.
 * Returns 0 (OK), 1 (ERROR), 2 (the sink refused its parameters: only
 * while setting up); aborts on a broken promise. */
static int
run_graph(int si)
{
	bt_graph *g = bt_graph_create(0);
	bt_value *sp = bt_value_map_create(), *mp = bt_value_map_create();
	bt_value *inputs = NULL;
	const bt_component_source *src = NULL;
	const bt_component_filter *mux = NULL;
	const bt_component_sink *snk = NULL;
	int rc = 1;

	unlink(out_path);
	if (!g || !sp || !mp)
		abort();
	if (bt_value_map_insert_empty_array_entry(sp, "inputs", &inputs) ||
	    bt_value_array_append_string_element(inputs, trace_dir) ||
	    bt_value_map_insert_string_entry(mp, "path", out_path))
		abort();
	if (bt_graph_add_source_component(g, src_cls, "src", sp,
					  BT_LOGGING_LEVEL_NONE, &src) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK)
		goto out;	/* the metadata or a packet header is refused */
	if (bt_graph_add_filter_component(g, mux_cls, "mux", NULL,
					  BT_LOGGING_LEVEL_NONE, &mux) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK)
		abort();
	if (bt_graph_add_sink_component(g, sinks[si], "sink", mp,
					BT_LOGGING_LEVEL_NONE, &snk) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		fprintf(stderr, "fuzz_ctf: sink.lwkt.%s refused path=%s\n",
			sink_names[si], out_path);
		if (!setting_up)
			abort();
		rc = 2;
		goto out;
	}
	uint64_t n = bt_component_source_get_output_port_count(src);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = bt_component_filter_get_input_port_count(mux);
		if (bt_graph_connect_ports(g,
			bt_component_source_borrow_output_port_by_index_const(src, i),
			bt_component_filter_borrow_input_port_by_index_const(mux, k - 1),
			NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK)
			abort();
	}
	if (bt_graph_connect_ports(g,
		bt_component_filter_borrow_output_port_by_index_const(mux, 0),
		bt_component_sink_borrow_input_port_by_index_const(snk, 0),
		NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK)
		abort();
	bt_graph_run_status st;
	do
		st = bt_graph_run(g);
	while (st == BT_GRAPH_RUN_STATUS_AGAIN);
	if (st == BT_GRAPH_RUN_STATUS_OK)
		rc = 0;
	else if (st != BT_GRAPH_RUN_STATUS_ERROR &&
		 st != BT_GRAPH_RUN_STATUS_MEMORY_ERROR) {
		fprintf(stderr, "fuzz_ctf: sink.lwkt.%s: graph status %d\n",
			sink_names[si], (int)st);
		abort();
	}
out:
	/* The sink's finalize (removing a temporary file) runs here. */
	bt_graph_put_ref(g);
	bt_value_put_ref(sp);
	bt_value_put_ref(mp);
	bt_current_thread_clear_error();
	int os = out_state();
	if (rc == 0 && os != 1) {
		fprintf(stderr, "fuzz_ctf: sink.lwkt.%s succeeded but %s\n",
			sink_names[si], os == 0 ? "wrote no file" :
			"left other files beside its output");
		abort();
	}
	if (rc == 2)
		return rc;
	if (rc != 0 && os != 0) {
		fprintf(stderr, "fuzz_ctf: sink.lwkt.%s failed and left a file in %s\n",
			sink_names[si], out_dir);
		abort();
	}
	if (rc == 0)
		check_output(si);
	return rc;
}

/* The scratch directories go when the set-up process itself exits (a
 * replay); the fork server's children share them and leave them. */
static pid_t setup_pid;
static char scratch[PATH_MAX];

static void
remove_scratch(void)
{
	char *const dirs[] = { trace_dir, out_dir, NULL };

	if (getpid() != setup_pid)
		return;
	for (int i = 0; dirs[i]; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		char p[PATH_MAX + 256];
		while (d && (e = readdir(d)) != NULL) {
			snprintf(p, sizeof p, "%s/%s", dirs[i], e->d_name);
			if (e->d_name[0] != '.')
				unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(dirs[i]);
	}
	rmdir(scratch);
}

static void
fuzz_setup(void)
{
	const char *base = getenv("FUZZ_CTF_BASE");
	char p[PATH_MAX + 64];
	const char *tmp = getenv("TMPDIR");

	if (!base || !*base)
		base = FUZZ_CTF_BASE_DEFAULT;
	/* Python plugins are not needed, and their provider starts an
	 * interpreter. */
	setenv("LIBBABELTRACE2_DISABLE_PYTHON_PLUGINS", "1", 1);
	bt_logging_set_global_level(BT_LOGGING_LEVEL_NONE);
	if (bt_plugin_find("ctf", BT_FALSE, BT_FALSE, BT_TRUE, BT_TRUE, BT_FALSE,
			   &ctf_plugin) != BT_PLUGIN_FIND_STATUS_OK ||
	    bt_plugin_find("utils", BT_FALSE, BT_FALSE, BT_TRUE, BT_TRUE, BT_FALSE,
			   &utils_plugin) != BT_PLUGIN_FIND_STATUS_OK)
		die("babeltrace2's ctf and utils plugins not found%s", "");
	src_cls = bt_plugin_borrow_source_component_class_by_name_const(ctf_plugin, "fs");
	mux_cls = bt_plugin_borrow_filter_component_class_by_name_const(utils_plugin,
									"muxer");
	if (!src_cls || !mux_cls)
		die("src.ctf.fs or flt.utils.muxer missing%s", "");
	/* FUZZ_VIZ_PLUGIN in the environment: a copy of the harnesses
	 * (a long campaign beside a rebuild). */
	const char *plugin = getenv("FUZZ_VIZ_PLUGIN");
	if (!plugin || !*plugin)
		plugin = FUZZ_VIZ_PLUGIN;
	if (bt_plugin_find_all_from_file(plugin, BT_TRUE, &viz_set) !=
	    BT_PLUGIN_FIND_ALL_FROM_FILE_STATUS_OK)
		die("cannot load the viz plugin %s", plugin);
	const bt_plugin *viz = bt_plugin_set_borrow_plugin_by_index_const(viz_set, 0);
	uint64_t ns = bt_plugin_get_sink_component_class_count(viz);
	for (uint64_t i = 0; i < ns && nsinks < MAXSINKS; i++) {
		sinks[nsinks] = bt_plugin_borrow_sink_component_class_by_index_const(viz, i);
		sink_names[nsinks] = bt_component_class_get_name(
			bt_component_class_sink_as_component_class_const(sinks[nsinks]));
		nsinks++;
	}

	/* Scratch directories. */
	snprintf(p, sizeof p, "%s/lwkt-fuzz-ctf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(p))
		die("cannot create a directory in %s", tmp && *tmp ? tmp : "/tmp");
	snprintf(scratch, sizeof scratch, "%s", p);
	snprintf(trace_dir, sizeof trace_dir, "%s/trace", p);
	snprintf(out_dir, sizeof out_dir, "%s/out", p);
	snprintf(out_path, sizeof out_path, "%s/out", out_dir);
	setup_pid = getpid();
	atexit(remove_scratch);
	if (mkdir(trace_dir, 0755) || mkdir(out_dir, 0755))
		die("cannot create the scratch directories in %s", p);

	/* The base trace: metadata and the stream files. */
	DIR *d = opendir(base);
	struct dirent *e;
	int nstreams = 0, meta = 0;
	if (!d)
		die("cannot open the base trace %s", base);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char src[PATH_MAX + 256], dst[PATH_MAX + 256];
		snprintf(src, sizeof src, "%s/%s", base, e->d_name);
		struct stat st;
		if (stat(src, &st) || !S_ISREG(st.st_mode))
			continue;
		size_t n;
		uint8_t *b = read_file(src, &n);
		if (!b)
			die("cannot read %s", src);
		snprintf(dst, sizeof dst, "%s/%s", trace_dir, e->d_name);
		if (!strcmp(e->d_name, "metadata")) {
			meta = 1;
			if (FUZZ_CTF_META)
				snprintf(fuzzed_path, sizeof fuzzed_path, "%s", dst);
		} else {
			nstreams++;
			/* The stream target fuzzes the first stream file
			 * (in name order: lwkt_0) and drops the others. */
			if (!FUZZ_CTF_META) {
				if (!fuzzed_path[0] || strcmp(dst, fuzzed_path) < 0) {
					if (fuzzed_path[0])
						unlink(fuzzed_path);
					snprintf(fuzzed_path, sizeof fuzzed_path, "%s", dst);
				} else {
					free(b);
					continue;
				}
			}
		}
		write_file(dst, b, n);
		free(b);
	}
	closedir(d);
	if (!meta || nstreams == 0 || nstreams > MAXSTREAMS)
		die("%s: not a CTF trace directory (metadata and stream files)", base);
	/* Not vacuous: the base trace renders with each sink.  The two
	 * sinks this harness knows must; another one (a newer sink with
	 * other parameters) is left out with a warning. */
	setting_up = 1;
	for (int i = 0; i < nsinks; i++) {
		if (run_graph(i) == 0)
			continue;
		if (!strcmp(sink_names[i], "timeline") || !strcmp(sink_names[i], "chrome"))
			die("sink.lwkt.%s cannot render the base trace", sink_names[i]);
		fprintf(stderr, "fuzz_ctf: warning: sink.lwkt.%s cannot render the "
			"base trace with path=FILE only: not fuzzed\n", sink_names[i]);
		for (int j = i; j + 1 < nsinks; j++) {
			sinks[j] = sinks[j + 1];
			sink_names[j] = sink_names[j + 1];
		}
		nsinks--;
		i--;
	}
	setting_up = 0;
	if (nsinks == 0)
		die("the viz plugin has no sink%s", "");
	fputs("fuzz_ctf: sinks:", stderr);
	for (int i = 0; i < nsinks; i++)
		fprintf(stderr, " sink.lwkt.%s", sink_names[i]);
	fputc('\n', stderr);
}

static void
fuzz_one(const uint8_t *buf, size_t len)
{
	write_file(fuzzed_path, buf, len);
	for (int i = 0; i < nsinks; i++)
		run_graph(i);
}

