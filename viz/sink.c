/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sink.c - life cycle of sink.lwkt.timeline, sink.lwkt.chrome and
 * sink.lwkt.perfetto, and the decoding of babeltrace2 messages into the
 * model's events.
 *
 * Streaming: each message is decoded, fed to the model and put at once;
 * the output goes straight to a temporary file next to cfg.path that is
 * renamed over it only when the whole trace was read and written.  Any
 * failure (bad trace, no lwkt events, I/O) removes the temporary file, so
 * no half-written output is ever left behind.
 */
#include "viz.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonw.h"

#define PROVIDER "lwkt:"

static void
viz_log(struct viz_comp *c, bt_logging_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < c->log_level)
		return;
	fprintf(stderr, "%s: ", c->o->what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CAUSE(c, ...) \
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT((c)->self, __VA_ARGS__)

/* ---- destroy: tolerates a partly initialized component */

static void
comp_destroy(struct viz_comp *c)
{
	if (!c)
		return;
	if (c->o && c->o->fini)
		c->o->fini(c);
	if (c->f)
		fclose(c->f);
	if (c->tmp_path && !c->committed)
		unlink(c->tmp_path);
	free(c->tmp_path);
	bt_message_iterator_put_ref(c->it);
	if (c->model_ready)
		viz_model_fini(&c->model);
	free(c->ecls);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->spu);
	free(c->args);
	free(c->cfg.path);
	free(c->cfg.bench_json);
	free(c->pids);
	for (size_t i = 0; i < c->ntnames; i++)
		free(c->tnames[i]);
	free(c->tnames);
	free(c);
}

/* ---- parameters */

struct param_ctx {
	enum viz_format fmt;
	const char *bad;	/* the first unknown key */
};

/* The keys each sink accepts, for the walk and for the error message. */
static const char *const param_keys[][5] = {
	[VIZ_FMT_HTML] = { "path", "bench", "max_bytes", "tile_records", NULL },
	[VIZ_FMT_CHROME] = { "path", "max_bytes", NULL },
	[VIZ_FMT_PERFETTO] = { "path", NULL, NULL },
};
static const char *const param_help[] = {
	[VIZ_FMT_HTML] = "`path`, a string, `bench`, the path of a "
		"google-benchmark JSON file, `max_bytes`, an integer (0: no "
		"limit), and `tile_records`, an integer >= 1",
	[VIZ_FMT_CHROME] = "`path`, a string, and `max_bytes`, an integer "
		"(0: no limit)",
	[VIZ_FMT_PERFETTO] = "`path`, a string",
};

static bt_value_map_foreach_entry_const_func_status
check_key(const char *key, const bt_value *val, void *data)
{
	struct param_ctx *p = data;
	bool known = false;

	(void)val;
	for (int i = 0; i < 5 && param_keys[p->fmt][i]; i++)
		known |= strcmp(key, param_keys[p->fmt][i]) == 0;
	if (!known && !p->bad)
		p->bad = key;	/* the cause is appended after the walk */
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

/*
 * `bench`: a google-benchmark JSON file (lwkt-bench --benchmark_out) of the
 * same host, read whole before the trace (the page takes the physical
 * floors and the untraced times from it).  Only its outer shape is
 * checked here; the page reports what it cannot use.
 */
static int
read_bench(struct viz_comp *c, const bt_value *v)
{
	const char *path;
	FILE *f;
	long n;

	if (!bt_value_is_string(v)) {
		CAUSE(c, "parameter `bench` must be a string (a JSON file path)");
		return -1;
	}
	path = bt_value_string_get(v);
	if (!(f = fopen(path, "r"))) {
		CAUSE(c, "parameter `bench`: cannot read `%s`: %s", path,
		      strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    n > (64L << 20)) {
		CAUSE(c, "parameter `bench`: `%s` is not a regular file below "
		      "64 MiB", path);
		fclose(f);
		return -1;
	}
	c->cfg.bench_json = malloc((size_t)n + 1);
	if (!c->cfg.bench_json ||
	    fread(c->cfg.bench_json, 1, (size_t)n, f) != (size_t)n) {
		CAUSE(c, "parameter `bench`: cannot read `%s`", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	c->cfg.bench_json[n] = '\0';
	const char *p = c->cfg.bench_json, *e = p + n;
	while (p < e && strchr(" \t\r\n", *p))
		p++;
	while (e > p && strchr(" \t\r\n", e[-1]))
		e--;
	if (p == e || *p != '{' || e[-1] != '}' ||
	    !strstr(c->cfg.bench_json, "\"benchmarks\"")) {
		CAUSE(c, "parameter `bench`: `%s` is not google-benchmark JSON "
		      "(an object with \"benchmarks\")", path);
		return -1;
	}
	return 0;
}

static int
parse_params(struct viz_comp *c, const bt_value *params)
{
	struct param_ctx p = { c->fmt, NULL };
	const bt_value *path;

	if (!params || !bt_value_is_map(params)) {
		CAUSE(c, "parameters must be a map");
		return -1;
	}
	bt_value_map_foreach_entry_const(params, check_key, &p);
	if (p.bad) {
		CAUSE(c, "unknown parameter `%s` (%s accepts %s)", p.bad,
		      c->o->what, param_help[c->fmt]);
		return -1;
	}
	path = bt_value_map_borrow_entry_value_const(params, "path");
	if (!path) {
		CAUSE(c, "missing parameter `path` (the output file), e.g. "
		      "-p 'path=\"%s\"'",
		      c->fmt == VIZ_FMT_HTML ? "out.html" :
		      c->fmt == VIZ_FMT_CHROME ? "out.json" : "out.perfetto-trace");
		return -1;
	}
	if (!bt_value_is_string(path)) {
		CAUSE(c, "parameter `path` must be a string");
		return -1;
	}
	if (bt_value_string_get(path)[0] == '\0') {
		CAUSE(c, "parameter `path` is empty");
		return -1;
	}
	c->cfg.path = strdup(bt_value_string_get(path));
	if (!c->cfg.path)
		return -1;
	/* Refused here, before the trace is read: a directory (the final
	 * rename would fail after the whole trace went through). */
	struct stat st;
	if (strcmp(c->cfg.path, "-") == 0) {
		c->cfg.to_stdout = true;
	} else if (stat(c->cfg.path, &st) == 0 && S_ISDIR(st.st_mode)) {
		CAUSE(c, "parameter `path`: `%s` is a directory (give a file "
		      "name, or \"-\" for standard output)", c->cfg.path);
		return -1;
	}
	c->cfg.max_bytes = c->fmt == VIZ_FMT_CHROME ? VIZ_CHROME_MAX_BYTES :
			   c->fmt == VIZ_FMT_HTML ? VIZ_PAGE_MAX_BYTES : 0;
	const bt_value *mb = bt_value_map_borrow_entry_value_const(params, "max_bytes");
	if (mb) {
		if (bt_value_is_unsigned_integer(mb)) {
			c->cfg.max_bytes = bt_value_integer_unsigned_get(mb);
		} else if (bt_value_is_signed_integer(mb) &&
			   bt_value_integer_signed_get(mb) >= 0) {
			c->cfg.max_bytes = (uint64_t)bt_value_integer_signed_get(mb);
		} else {
			CAUSE(c, "parameter `max_bytes` must be an integer >= 0 "
			      "(bytes; 0: no limit)");
			return -1;
		}
	}
	const bt_value *tr = bt_value_map_borrow_entry_value_const(params, "tile_records");
	if (tr) {
		if (bt_value_is_unsigned_integer(tr) && bt_value_integer_unsigned_get(tr) >= 1) {
			c->cfg.tile_records = bt_value_integer_unsigned_get(tr);
		} else if (bt_value_is_signed_integer(tr) &&
			   bt_value_integer_signed_get(tr) >= 1) {
			c->cfg.tile_records = (uint64_t)bt_value_integer_signed_get(tr);
		} else {
			CAUSE(c, "parameter `tile_records` must be an integer >= 1");
			return -1;
		}
	}
	const bt_value *bench = bt_value_map_borrow_entry_value_const(params, "bench");
	if (bench)
		return read_bench(c, bench);
	return 0;
}

/* ---- init / finalize / graph is configured */

static bt_component_class_initialize_method_status
init_common(bt_self_component_sink *self_sink, const bt_value *params,
	    enum viz_format fmt)
{
	bt_self_component *self = bt_self_component_sink_as_self_component(self_sink);
	struct viz_comp *c = calloc(1, sizeof(*c));

	if (!c) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
			"out of memory");
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	c->fmt = fmt;
	c->o = fmt == VIZ_FMT_HTML ? &viz_out_html :
	       fmt == VIZ_FMT_CHROME ? &viz_out_chrome : &viz_out_perfetto;
	c->self = self;
	c->log_level = bt_component_get_logging_level(
		bt_self_component_as_component(self));
	c->last_pu = -1;
	c->last_host = 0;
	c->first_rec = true;
	if (bt_self_component_sink_add_input_port(self_sink, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		CAUSE(c, "cannot add the input port");
		goto error;
	}
	if (parse_params(c, params))
		goto error;
	if (viz_model_init(&c->model, c->o->ops, c)) {
		CAUSE(c, "out of memory");
		goto error;
	}
	c->model_ready = true;
	/* Only the page shows latency tables: the streaming formats keep
	 * memory bounded by what is in flight, whatever the trace's size. */
	c->model.keep_samples = fmt == VIZ_FMT_HTML;
	viz_log(c, BT_LOGGING_LEVEL_INFO, "writing %s", c->cfg.path);
	bt_self_component_set_data(self, c);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
error:
	comp_destroy(c);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
}

bt_component_class_initialize_method_status
viz_init_timeline(bt_self_component_sink *self, bt_self_component_sink_configuration *cfg,
		  const bt_value *params, void *init_data)
{
	(void)cfg;
	(void)init_data;
	return init_common(self, params, VIZ_FMT_HTML);
}

bt_component_class_initialize_method_status
viz_init_chrome(bt_self_component_sink *self, bt_self_component_sink_configuration *cfg,
		const bt_value *params, void *init_data)
{
	(void)cfg;
	(void)init_data;
	return init_common(self, params, VIZ_FMT_CHROME);
}

bt_component_class_initialize_method_status
viz_init_perfetto(bt_self_component_sink *self, bt_self_component_sink_configuration *cfg,
		  const bt_value *params, void *init_data)
{
	(void)cfg;
	(void)init_data;
	return init_common(self, params, VIZ_FMT_PERFETTO);
}

void
viz_finalize(bt_self_component_sink *self)
{
	comp_destroy(bt_self_component_get_data(
		bt_self_component_sink_as_self_component(self)));
}

/* Creates the temporary output next to cfg.path (same file system, so
 * the final rename is atomic). */
static int
open_tmp(struct viz_comp *c)
{
	size_t n = strlen(c->cfg.path) + sizeof(".tmp.XXXXXX");
	mode_t um;
	int fd;

	/* path "-": written to a temporary file first and copied to
	 * stdout at the end, so a failure leaves nothing half-written
	 * there either. */
	const char *dir = getenv("TMPDIR");
	if (c->cfg.to_stdout)
		n = strlen(dir && *dir ? dir : "/tmp") + sizeof("/lwkt-viz.XXXXXX");
	c->tmp_path = malloc(n);
	if (!c->tmp_path)
		return -1;
	if (c->cfg.to_stdout)
		snprintf(c->tmp_path, n, "%s/lwkt-viz.XXXXXX",
			 dir && *dir ? dir : "/tmp");
	else
		snprintf(c->tmp_path, n, "%s.tmp.XXXXXX", c->cfg.path);
	fd = mkstemp(c->tmp_path);
	if (fd < 0) {
		CAUSE(c, "cannot create `%s`: %s", c->tmp_path, strerror(errno));
		free(c->tmp_path);
		c->tmp_path = NULL;
		return -1;
	}
	um = umask(0);
	umask(um);
	(void)fchmod(fd, 0666 & ~um);	/* mkstemp makes it 0600 */
	c->f = fdopen(fd, "w");
	if (!c->f) {
		CAUSE(c, "cannot open `%s`: %s", c->tmp_path, strerror(errno));
		close(fd);
		return -1;
	}
	setvbuf(c->f, NULL, _IOFBF, 1 << 20);
	return c->o->begin(c);
}

bt_component_class_sink_graph_is_configured_method_status
viz_graph_is_configured(bt_self_component_sink *self_sink)
{
	struct viz_comp *c = bt_self_component_get_data(
		bt_self_component_sink_as_self_component(self_sink));
	bt_self_component_port_input *port =
		bt_self_component_sink_borrow_input_port_by_index(self_sink, 0);

	if (!bt_port_is_connected(bt_port_input_as_port_const(
		    bt_self_component_port_input_as_port_input(port)))) {
		CAUSE(c, "the input port `in` is not connected");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	if (bt_message_iterator_create_from_sink_component(self_sink, port,
							   &c->it) !=
	    BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		CAUSE(c, "cannot create the message iterator");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	if (open_tmp(c))
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

/* ---- event classes */

static size_t
ptr_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17);
}

static int ecls_fill(struct viz_comp *c, struct viz_ecls *e,
		     const bt_event_class *ec);

static struct viz_ecls *
ecls_get(struct viz_comp *c, const bt_event_class *ec)
{
	size_t mask, i;

	if (c->ecls_cap) {
		mask = c->ecls_cap - 1;
		for (i = ptr_hash(ec) & mask; c->ecls[i].ec; i = (i + 1) & mask)
			if (c->ecls[i].ec == ec)
				return &c->ecls[i];
	}
	if ((c->ecls_n + 1) * 2 > c->ecls_cap) {
		size_t ncap = c->ecls_cap ? c->ecls_cap * 2 : 64;
		struct viz_ecls *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t j = 0; j < c->ecls_cap; j++) {
			if (!c->ecls[j].ec)
				continue;
			for (i = ptr_hash(c->ecls[j].ec) & (ncap - 1); n[i].ec;
			     i = (i + 1) & (ncap - 1))
				;
			n[i] = c->ecls[j];
		}
		free(c->ecls);
		c->ecls = n;
		c->ecls_cap = ncap;
	}
	mask = c->ecls_cap - 1;
	for (i = ptr_hash(ec) & mask; c->ecls[i].ec; i = (i + 1) & mask)
		;
	if (ecls_fill(c, &c->ecls[i], ec))
		return NULL;
	c->ecls_n++;
	return &c->ecls[i];
}

static bool
want_args(enum viz_evk k)
{
	switch (k) {
	case VIZ_EV_thread_switch: case VIZ_EV_idle_enter: case VIZ_EV_idle_exit:
	case VIZ_EV_crit_enter: case VIZ_EV_crit_exit: case VIZ_EV_msg_send:
	case VIZ_EV_msg_dispatch: case VIZ_EV_msg_reply: case VIZ_EV_ipi_send:
	case VIZ_EV_ipi_recv: case VIZ_EV_ipi_done:
		return false;	/* spans and flows carry their own fields */
	default:
		return true;
	}
}

/* Resolves an lwkt event's fields by name.  Returns false (an unknown
 * version of the event) if one is missing or of another type. */
static bool
ecls_resolve(struct viz_ecls *e, const bt_event_class *ec)
{
	const bt_field_class *pfc = bt_event_class_borrow_payload_field_class_const(ec);
	const struct viz_evdesc *d = &VIZ_EVDESC[e->k];
	uint64_t n;

	if (!pfc || bt_field_class_get_type(pfc) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return false;
	n = bt_field_class_structure_get_member_count(pfc);
	for (int fi = 0; d->f[fi]; fi++) {
		bool found = false;
		for (uint64_t i = 0; i < n && !found; i++) {
			const bt_field_class_structure_member *mb =
				bt_field_class_structure_borrow_member_by_index_const(pfc, i);
			if (strcmp(bt_field_class_structure_member_get_name(mb), d->f[fi]))
				continue;
			bt_field_class_type t = bt_field_class_get_type(
				bt_field_class_structure_member_borrow_field_class_const(mb));
			if (d->t[fi] == VIZ_FT_STR) {
				if (t != BT_FIELD_CLASS_TYPE_STRING)
					return false;
				e->str_idx = (int)i;
			} else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_INTEGER)) {
				e->fidx[fi] = (int)i;
				e->fsigned[fi] = bt_field_class_type_is(t,
					BT_FIELD_CLASS_TYPE_SIGNED_INTEGER);
			} else {
				return false;
			}
			found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

static int
ecls_fill(struct viz_comp *c, struct viz_ecls *e, const bt_event_class *ec)
{
	const char *name = bt_event_class_get_name(ec);

	memset(e, 0, sizeof(*e));
	e->ec = ec;
	e->str_idx = -1;
	e->vpid_idx = -1;
	for (int i = 0; i < VIZ_EV_MAXF; i++)
		e->fidx[i] = -1;
	/* The process: joins and lanes are per vpid (lwkt-record adds it). */
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
	const bt_field_class *cc = sc ?
		bt_stream_class_borrow_event_common_context_field_class_const(sc) : NULL;
	if (cc && bt_field_class_get_type(cc) == BT_FIELD_CLASS_TYPE_STRUCTURE) {
		uint64_t nm = bt_field_class_structure_get_member_count(cc);
		for (uint64_t i = 0; i < nm; i++) {
			const bt_field_class_structure_member *mb =
				bt_field_class_structure_borrow_member_by_index_const(cc, i);
			if (strcmp(bt_field_class_structure_member_get_name(mb), "vpid") == 0 &&
			    bt_field_class_type_is(bt_field_class_get_type(
				bt_field_class_structure_member_borrow_field_class_const(mb)),
				BT_FIELD_CLASS_TYPE_INTEGER))
				e->vpid_idx = (int)i;
		}
	}
	if (!name)
		name = "(unnamed)";
	if (c->nnames == c->capnames) {
		size_t nc = c->capnames ? c->capnames * 2 : 32;
		char **nn = realloc(c->names, nc * sizeof(*nn));
		if (!nn)
			return -1;
		c->names = nn;
		c->capnames = nc;
	}
	c->names[c->nnames] = strdup(name);
	if (!c->names[c->nnames])
		return -1;
	e->name_id = (int)c->nnames++;
	if (strncmp(name, PROVIDER, strlen(PROVIDER)) == 0) {
		e->provider = true;
		e->k = viz_evk_from_name(name + strlen(PROVIDER));
	}
	if (e->k != VIZ_EV_GENERIC && !ecls_resolve(e, ec)) {
		viz_log(c, BT_LOGGING_LEVEL_WARNING,
			"event `%s` has fields this plugin does not know (an "
			"unknown event version?): drawn as a plain mark", name);
		e->k = VIZ_EV_GENERIC;
		e->bad_warned = true;
		c->model.c.bad_version++;
	}
	e->want_args = want_args(e->k);
	return 0;
}

/* ---- payload as JSON args */

static int
args_reserve(struct viz_comp *c, size_t need)
{
	if (need <= c->args_cap)
		return 0;
	size_t nc = c->args_cap ? c->args_cap : 256;
	while (nc < need)
		nc *= 2;
	char *n = realloc(c->args, nc);
	if (!n)
		return -1;
	c->args = n;
	c->args_cap = nc;
	return 0;
}

/* Appends the escaped string (no quotes). */
static int
args_str(struct viz_comp *c, size_t *len, const char *s, size_t n)
{
	size_t need = viz_json_escape_buf(NULL, 0, s, n);

	if (args_reserve(c, *len + need + 8))
		return -1;
	viz_json_escape_buf(c->args + *len, need + 1, s, n);
	*len += need;
	return 0;
}

static int
args_raw(struct viz_comp *c, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (args_reserve(c, *len + n + 8))
		return -1;
	memcpy(c->args + *len, s, n);
	*len += n;
	return 0;
}

/* The payload's scalar members as one JSON object; others are left out
 * (arrays, structures): the page shows what a hover can hold. */
static int
format_args(struct viz_comp *c, const bt_event *ev, size_t *out_len)
{
	const bt_field *p = bt_event_borrow_payload_field_const(ev);
	const bt_field_class *pfc;
	size_t len = 0;
	uint64_t n;
	char num[48];

	if (args_raw(c, &len, "{"))
		return -1;
	if (p && bt_field_get_class_type(p) == BT_FIELD_CLASS_TYPE_STRUCTURE) {
		pfc = bt_field_borrow_class_const(p);
		n = bt_field_class_structure_get_member_count(pfc);
		bool first = true;
		for (uint64_t i = 0; i < n; i++) {
			const bt_field *f =
				bt_field_structure_borrow_member_field_by_index_const(p, i);
			bt_field_class_type t = bt_field_get_class_type(f);
			const char *mname = bt_field_class_structure_member_get_name(
				bt_field_class_structure_borrow_member_by_index_const(pfc, i));
			bool isstr = false;

			if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
				snprintf(num, sizeof(num), "%" PRId64,
					 bt_field_integer_signed_get_value(f));
			else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
				snprintf(num, sizeof(num), "%" PRIu64,
					 bt_field_integer_unsigned_get_value(f));
			else if (t == BT_FIELD_CLASS_TYPE_BOOL)
				snprintf(num, sizeof(num), "%s",
					 bt_field_bool_get_value(f) ? "true" : "false");
			else if (t == BT_FIELD_CLASS_TYPE_STRING)
				isstr = true;
			else
				continue;
			if ((!first && args_raw(c, &len, ",")) ||
			    args_raw(c, &len, "\"") ||
			    args_str(c, &len, mname, strlen(mname)) ||
			    args_raw(c, &len, "\":"))
				return -1;
			first = false;
			if (isstr) {
				if (args_raw(c, &len, "\"") ||
				    args_str(c, &len, bt_field_string_get_value(f),
					     bt_field_string_get_length(f)) ||
				    args_raw(c, &len, "\""))
					return -1;
			} else if (args_raw(c, &len, num)) {
				return -1;
			}
		}
	}
	if (args_raw(c, &len, "}"))
		return -1;
	*out_len = len;
	return 0;
}

/* ---- messages */

static int
packet_pu(const bt_packet *pkt)
{
	const bt_field *ctx, *f;

	if (!pkt || !(ctx = bt_packet_borrow_context_field_const(pkt)))
		return -1;
	f = bt_field_structure_borrow_member_field_by_name_const(ctx, "cpu_id");
	if (!f || !bt_field_class_type_is(bt_field_get_class_type(f),
					  BT_FIELD_CLASS_TYPE_INTEGER))
		return -1;
	if (bt_field_class_type_is(bt_field_get_class_type(f),
				   BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		int64_t v = bt_field_integer_signed_get_value(f);
		return v < 0 || v > 1 << 20 ? -1 : (int)v;
	}
	uint64_t v = bt_field_integer_unsigned_get_value(f);
	return v > 1 << 20 ? -1 : (int)v;
}

static int
stream_pu_set(struct viz_comp *c, const bt_stream *s, int pu)
{
	for (size_t i = 0; i < c->nspu; i++) {
		if (c->spu[i].s == s) {
			c->spu[i].pu = pu;
			return 0;
		}
	}
	if (c->nspu == c->capspu) {
		size_t nc = c->capspu ? c->capspu * 2 : 16;
		void *n = realloc(c->spu, nc * sizeof(*c->spu));
		if (!n)
			return -1;
		c->spu = n;
		c->capspu = nc;
	}
	c->spu[c->nspu].s = s;
	c->spu[c->nspu++].pu = pu;
	return 0;
}

static int
stream_pu(struct viz_comp *c, const bt_stream *s)
{
	for (size_t i = 0; i < c->nspu; i++)
		if (c->spu[i].s == s)
			return c->spu[i].pu;
	return -1;
}

/* The host of a trace (its `hostname` environment entry, which LTTng
 * writes; "" without one), as the model's index; -1 on ENOMEM.  Traces
 * of several hosts read together get lane groups of their own. */
static int
trace_host(struct viz_comp *c, const bt_trace *t)
{
	if (t == c->last_trace)
		return c->last_host;
	const bt_value *v = t ? bt_trace_borrow_environment_entry_value_by_name_const(
		t, "hostname") : NULL;
	const char *name = v && bt_value_is_string(v) ? bt_value_string_get(v) : "";
	int h = viz_model_host(&c->model, name, strlen(name));
	if (h < 0)
		return -1;
	c->last_trace = t;
	c->last_host = h;
	return h;
}

static int
on_event(struct viz_comp *c, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const bt_packet *pkt;
	struct viz_ecls *e;
	struct viz_ev v;
	int64_t ns;

	if (!bt_message_event_borrow_stream_class_default_clock_class_const(msg)) {
		c->no_clock_events++;
		return 0;
	}
	if (bt_clock_snapshot_get_ns_from_origin(
		    bt_message_event_borrow_default_clock_snapshot_const(msg), &ns) !=
	    BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK || ns < 0) {
		c->no_clock_events++;
		return 0;
	}
	e = ecls_get(c, bt_event_borrow_class_const(ev));
	if (!e)
		return ENOMEM;
	pkt = bt_event_borrow_packet_const(ev);
	if (pkt != c->last_pkt) {
		c->last_pkt = pkt;
		c->last_pu = packet_pu(pkt);
		if (trace_host(c, bt_stream_borrow_trace_const(
				   bt_packet_borrow_stream_const(pkt))) < 0)
			return ENOMEM;
	}
	v.host = c->last_host;
	v.pk = 0;
	v.k = e->k;
	v.ts = (uint64_t)ns;
	v.pu = c->last_pu;
	v.str = NULL;
	v.str_len = 0;
	v.name = c->names[e->name_id];
	v.name_id = e->name_id;
	v.args = NULL;
	v.args_len = 0;
	v.provider = e->provider;
	v.vpid = 0;
	if (e->vpid_idx >= 0) {
		const bt_field *cf = bt_event_borrow_common_context_field_const(ev);
		const bt_field *f = cf ? bt_field_structure_borrow_member_field_by_index_const(
			cf, (uint64_t)e->vpid_idx) : NULL;
		if (f)
			v.vpid = bt_field_class_type_is(bt_field_get_class_type(f),
				BT_FIELD_CLASS_TYPE_SIGNED_INTEGER) ?
				(uint32_t)bt_field_integer_signed_get_value(f) :
				(uint32_t)bt_field_integer_unsigned_get_value(f);
	}
	if (e->k != VIZ_EV_GENERIC) {
		const bt_field *p = bt_event_borrow_payload_field_const(ev);
		for (int i = 0; i < VIZ_EV_MAXF; i++) {
			if (e->fidx[i] < 0) {
				v.a[i] = 0;
				continue;
			}
			const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(
				p, (uint64_t)e->fidx[i]);
			v.a[i] = e->fsigned[i] ?
				(uint64_t)bt_field_integer_signed_get_value(f) :
				bt_field_integer_unsigned_get_value(f);
		}
		if (e->str_idx >= 0) {
			const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(
				p, (uint64_t)e->str_idx);
			v.str = bt_field_string_get_value(f);
			v.str_len = bt_field_string_get_length(f);
		}
	}
	if (e->want_args) {
		if (format_args(c, ev, &v.args_len))
			return ENOMEM;
		v.args = c->args;
	}
	return viz_model_event(&c->model, &v);
}

static int
on_lost(struct viz_comp *c, const bt_message *msg, bool packets)
{
	const bt_stream *s;
	const bt_clock_snapshot *b = NULL, *e = NULL;
	uint64_t count = 0;
	int64_t t0 = 0, t1 = 0;
	bool have_time = false, have_count;

	if (packets) {
		s = bt_message_discarded_packets_borrow_stream_const(msg);
		have_count = bt_message_discarded_packets_get_count(msg, &count) ==
			     BT_PROPERTY_AVAILABILITY_AVAILABLE;
		if (bt_stream_class_discarded_packets_have_default_clock_snapshots(
			    bt_stream_borrow_class_const(s))) {
			b = bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(msg);
			e = bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(msg);
		}
	} else {
		s = bt_message_discarded_events_borrow_stream_const(msg);
		have_count = bt_message_discarded_events_get_count(msg, &count) ==
			     BT_PROPERTY_AVAILABILITY_AVAILABLE;
		if (bt_stream_class_discarded_events_have_default_clock_snapshots(
			    bt_stream_borrow_class_const(s))) {
			b = bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(msg);
			e = bt_message_discarded_events_borrow_end_default_clock_snapshot_const(msg);
		}
	}
	if (b && e &&
	    bt_clock_snapshot_get_ns_from_origin(b, &t0) == BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK &&
	    bt_clock_snapshot_get_ns_from_origin(e, &t1) == BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK &&
	    t0 >= 0 && t1 >= t0)
		have_time = true;
	int host = trace_host(c, bt_stream_borrow_trace_const(s));
	if (host < 0)
		return ENOMEM;
	return viz_model_lost_host(&c->model, host, stream_pu(c, s), have_time,
				   (uint64_t)t0, (uint64_t)t1, have_count ? count : 0,
				   packets);
}

static int
on_message(struct viz_comp *c, const bt_message *msg)
{
	switch (bt_message_get_type(msg)) {
	case BT_MESSAGE_TYPE_EVENT:
		return on_event(c, msg);
	case BT_MESSAGE_TYPE_PACKET_BEGINNING: {
		const bt_packet *p = bt_message_packet_beginning_borrow_packet_const(msg);
		c->last_pkt = NULL;	/* a new packet may reuse the address */
		return stream_pu_set(c, bt_packet_borrow_stream_const(p),
				     packet_pu(p)) ? ENOMEM : 0;
	}
	case BT_MESSAGE_TYPE_PACKET_END:
		c->last_pkt = NULL;
		return 0;
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
		return on_lost(c, msg, false);
	case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
		return on_lost(c, msg, true);
	default:
		return 0;
	}
}

static int
copy_to_stdout(struct viz_comp *c)
{
	char buf[1 << 16];
	size_t n;
	FILE *in = fopen(c->tmp_path, "r");

	if (!in) {
		CAUSE(c, "cannot reopen `%s`: %s", c->tmp_path, strerror(errno));
		return -1;
	}
	/* Gone from the file system now: a reader that stops early (a
	 * SIGPIPE) leaves no temporary file behind. */
	unlink(c->tmp_path);
	c->committed = true;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, stdout) != n) {
			CAUSE(c, "cannot write to standard output: %s",
			      strerror(errno));
			fclose(in);
			return -1;
		}
	}
	fclose(in);
	if (fflush(stdout)) {
		CAUSE(c, "cannot write to standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The Chrome JSON grew past cfg.max_bytes: no viewer loads it, so it is
 * not written (the caller fails; comp_destroy removes the temporary
 * file) and the user is told the two ways out.
 */
static bool
over_cap(struct viz_comp *c)
{
	off_t pos;

	if (!c->cfg.max_bytes || !c->f || (pos = ftello(c->f)) < 0 ||
	    (uint64_t)pos + c->held_bytes <= c->cfg.max_bytes)
		return false;
	if (c->fmt == VIZ_FMT_HTML) {
		CAUSE(c, "the timeline page passed %" PRIu64 " bytes (`max_bytes`) "
		      "after %" PRIu64 " events of the trace: a browser would need "
		      "more memory than it has to open it, so `%s` is not written.  "
		      "Render a time window instead (babeltrace2 TRACE --begin=T0 "
		      "--end=T1 -c sink.lwkt.timeline ..., times as babeltrace2 "
		      "prints them), or the whole trace with -c sink.lwkt.perfetto "
		      "-p 'path=\"out.perfetto-trace\"' (for Perfetto UI and its "
		      "trace_processor)", c->cfg.max_bytes, c->model.c.events,
		      c->cfg.path);
		return true;
	}
	CAUSE(c, "the Chrome JSON passed %" PRIu64 " bytes (`max_bytes`; "
	      "chrome://tracing loads at most ~256 MB of JSON, Perfetto UI a "
	      "few times less than its ~2 GB of memory) after %" PRIu64
	      " events of the trace: no viewer can load it, so `%s` is not "
	      "written and the partial file is removed.  Render a time window "
	      "instead (babeltrace2 TRACE --begin=T0 --end=T1 -c sink.lwkt.chrome "
	      "..., times as babeltrace2 prints them), or the whole trace with "
	      "-c sink.lwkt.perfetto -p 'path=\"out.perfetto-trace\"' (a "
	      "compact protobuf trace for Perfetto UI)", c->cfg.max_bytes,
	      c->model.c.events, c->cfg.path);
	return true;
}

/* End of the trace: checks there is something to show, writes the
 * summary and renames the temporary file over cfg.path. */
static int
finish(struct viz_comp *c)
{
	struct viz_counts *k = &c->model.c;

	if (c->fmt == VIZ_FMT_HTML && k->provider_events == 0) {
		CAUSE(c, "no lwkt events in the trace (%" PRIu64 " events read, "
		      "none named `" PROVIDER "*`): `%s` not written (use "
		      "sink.lwkt.chrome for per-cpu lanes of any trace)",
		      k->events, c->cfg.path);
		return -1;
	}
	if (k->lwkt_events == 0 && k->generic_events == 0) {	/* no lanes */
		CAUSE(c, "no events with a cpu_id in the trace (%" PRIu64
		      " events read): `%s` not written", k->events, c->cfg.path);
		return -1;
	}
	if (viz_model_finish(&c->model) || c->o->end(c)) {
		CAUSE(c, "cannot write `%s`: %s", c->tmp_path, strerror(errno));
		return -1;
	}
	if (over_cap(c))
		return -1;
	if (fflush(c->f) || ferror(c->f)) {
		CAUSE(c, "cannot write `%s`: %s", c->tmp_path, strerror(errno));
		return -1;
	}
	int rc = fclose(c->f);
	c->f = NULL;
	if (rc) {
		CAUSE(c, "cannot write `%s`: %s", c->tmp_path, strerror(errno));
		return -1;
	}
	if (c->cfg.to_stdout) {
		if (copy_to_stdout(c))
			return -1;
	} else if (rename(c->tmp_path, c->cfg.path)) {
		CAUSE(c, "cannot rename `%s` to `%s`: %s", c->tmp_path,
		      c->cfg.path, strerror(errno));
		return -1;
	}
	c->committed = true;
	if (c->model.calib_bad_ps)
		viz_log(c, BT_LOGGING_LEVEL_WARNING,
			"the trace's per-event cost (%" PRIu64 " ps, lwkt:record_info) "
			"is not plausible (outside %u ps..%u ps): not used, `%s` "
			"shows traced times only", c->model.calib_bad_ps,
			VIZ_CALIB_MIN_PS, VIZ_CALIB_MAX_PS, c->cfg.path);
	if (c->model.calib_over)
		viz_log(c, BT_LOGGING_LEVEL_WARNING,
			"the measured per-event cost (%" PRIu64 " ps) exceeds the "
			"traced median of a stage that holds one event (%" PRIu64
			" ps, -> ring write): the estimate without tracing in `%s` "
			"subtracts that median instead", c->model.event_cost_ps,
			c->model.calib_bound_ps, c->cfg.path);
	if (k->lost_events || k->lost_packets)
		viz_log(c, BT_LOGGING_LEVEL_WARNING,
			"the trace lost %" PRIu64 " events and %" PRIu64
			" packets in %" PRIu64 " gaps: marked as gaps in `%s`",
			k->lost_events, k->lost_packets, k->gaps, c->cfg.path);
	if (k->bad_version || c->no_clock_events || k->no_cpu_events)
		viz_log(c, BT_LOGGING_LEVEL_WARNING,
			"%" PRIu64 " event classes of unknown version, %" PRIu64
			" events without a timestamp, %" PRIu64
			" without a cpu_id (not drawn)", k->bad_version,
			c->no_clock_events, k->no_cpu_events);
	viz_log(c, BT_LOGGING_LEVEL_INFO, "%" PRIu64 " events (%" PRIu64
		" lwkt), %" PRIu64 " messages, %" PRIu64 " IPIs -> %s",
		k->events, k->lwkt_events, k->msgs_done, k->ipis_done,
		c->cfg.path);
	return 0;
}

bt_component_class_sink_consume_method_status
viz_consume(bt_self_component_sink *self_sink)
{
	struct viz_comp *c = bt_self_component_get_data(
		bt_self_component_sink_as_self_component(self_sink));
	bt_message_array_const msgs;
	uint64_t count = 0, i;
	int rc = 0;

	switch (bt_message_iterator_next(c->it, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		bt_message_iterator_put_ref(c->it);
		c->it = NULL;
		if (finish(c))
			return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		CAUSE(c, "out of memory reading the trace: `%s` not written",
		      c->cfg.path);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		CAUSE(c, "the trace could not be read after %" PRIu64
		      " events (truncated or corrupt?): `%s` not written",
		      c->model.c.events, c->cfg.path);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	for (i = 0; i < count && rc == 0; i++) {
		rc = on_message(c, msgs[i]);
		bt_message_put_ref(msgs[i]);
	}
	for (; i < count; i++)	/* after an error, put the rest too */
		bt_message_put_ref(msgs[i]);
	if (rc == ENOMEM) {
		CAUSE(c, "out of memory");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	}
	if (rc || ferror(c->f)) {
		CAUSE(c, "cannot write `%s`: %s", c->tmp_path, strerror(errno));
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	if (over_cap(c))
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

void
viz_write_names(struct viz_comp *c)
{
	putc_unlocked('[', c->f);
	for (size_t i = 0; i < c->nnames; i++) {
		if (i)
			putc_unlocked(',', c->f);
		viz_json_str(c->f, c->names[i]);
	}
	putc_unlocked(']', c->f);
}
