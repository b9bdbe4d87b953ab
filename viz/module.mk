# viz/: the babeltrace2 plugin (sink.lwkt.timeline, sink.lwkt.chrome,
# sink.lwkt.perfetto).
# The .so goes alone into $(B)/viz/ because babeltrace2's --plugin-path
# loads every plugin file of a directory and does not recurse.
VIZ_DIR := $(B)/viz
VIZ_PLUGIN := $(VIZ_DIR)/lwkt-viz.so
VIZ_SRCS := viz/plugin.c viz/sink.c viz/model.c viz/jsonw.c viz/out_html.c \
	viz/out_chrome.c viz/out_perfetto.c viz/pbw.c viz/template.c viz/pagew.c
VIZ_OBJS := $(VIZ_SRCS:viz/%.c=$(B)/viz-obj/%.o)
VIZ_BT_CFLAGS := $(call pc_cflags,babeltrace2)

$(B)/viz-obj/%.o: viz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(VIZ_BT_CFLAGS) -Iviz -MMD -MP -c $< -o $@
$(B)/viz-obj/template.o: viz/timeline.html

# What the plugin links with (the fuzz build of it too): zlib for the page.
VIZ_LIBS = $(call pc_libs,babeltrace2) -lz -lm
$(VIZ_PLUGIN): $(VIZ_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $^ $(VIZ_LIBS)

ALL_TARGETS += $(VIZ_PLUGIN)
# Installed into BT2_PLUGINDIR (LIBDIR/babeltrace2/plugins): a directory
# of plugins only, as --plugin-path is not recursive and loads every .so.
INSTALL_BT2_PLUGIN += $(VIZ_PLUGIN)

# Check tests (every build): the model, the escaping, and the plugin
# loaded through libbabeltrace2 (parameters, bad input).
VIZ_TEST_SRCS := $(wildcard viz/tests/test_*.c)
VIZ_TEST_BINS := $(VIZ_TEST_SRCS:viz/tests/%.c=$(B)/tests/viz_%)
TEST_BINS += $(VIZ_TEST_BINS)
TEST_DEPS += $(VIZ_PLUGIN)
$(B)/viz-obj/tests/%.o: viz/tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(VIZ_BT_CFLAGS) -Iviz \
		-DVIZ_PLUGIN_PATH='"$(VIZ_PLUGIN)"' -MMD -MP -c $< -o $@
$(B)/tests/viz_%: $(B)/viz-obj/tests/%.o $(B)/viz-obj/model.o $(B)/viz-obj/jsonw.o \
		$(B)/viz-obj/pbw.o $(B)/viz-obj/pagew.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(call pc_libs,babeltrace2) -lz

# make view: out/trace/ (make trace) -> out/timeline.html,
# out/timeline.perfetto-trace, out/timeline.json (the JSON only when a
# viewer can load it: sink.lwkt.chrome refuses past 256 MiB, and make view
# then says so and goes on without it).
# The trace's metadata is checked first (babeltrace2 2.0.4 hangs forever on
# one cut inside a packet), and each babeltrace2 run is bounded anyway
# (--foreground: a Ctrl-C still reaches it).
VIZ_BT := babeltrace2 --plugin-path=$(VIZ_DIR)
VIEW_TRACE ?= $(OUT)/trace
VIEW_HTML ?= $(OUT)/timeline.html
VIEW_JSON ?= $(OUT)/timeline.json
VIEW_PFTRACE ?= $(OUT)/timeline.perfetto-trace
# sink.lwkt.chrome's cap (bytes; 256 MiB: chrome://tracing's limit).
VIEW_JSON_MAX ?= 268435456
VIEW_TIMEOUT ?= 900
# The floors and untraced times beside the stage breakdown, when present.
VIEW_BENCH ?= out/bench.json
# A time window of the trace (babeltrace2's --begin/--end, times as
# babeltrace2 prints them: 12:00:01.5, or ns from the origin): make view
# VIEW_BEGIN=T0 VIEW_END=T1 renders only that part (a trace too large for
# one page).
VIEW_BEGIN ?=
VIEW_END ?=
# sink.lwkt.timeline's bound (bytes; empty: the sink's default, 0: none;
# viz/README.md).
VIEW_PAGE_MAX ?=
VIEW_BT = timeout --foreground $(VIEW_TIMEOUT) $(VIZ_BT) $(if $(VIEW_BEGIN),--begin='$(VIEW_BEGIN)') $(if $(VIEW_END),--end='$(VIEW_END)')
VIEW_FAIL = { rc=$$?; [ $$rc -eq 124 ] && echo "make view: babeltrace2 did not finish within $(VIEW_TIMEOUT) s (VIEW_TIMEOUT): is $(VIEW_TRACE) damaged?" >&2; exit $$rc; }
.PHONY: view viz-check viz-bench
view: $(VIZ_PLUGIN)
	@if [ ! -d '$(VIEW_TRACE)' ]; then \
	  echo "make view: $(VIEW_TRACE)/ is missing: record it first with 'make trace' (make run does both)" >&2; \
	  exit 1; fi
	@mkdir -p '$(dir $(VIEW_HTML))' '$(dir $(VIEW_JSON))' '$(dir $(VIEW_PFTRACE))'
	@trace/lwkt-trace-verify '$(VIEW_TRACE)' || { \
	  echo "make view: $(VIEW_TRACE) cannot be read safely (above): record it again ('make trace')" >&2; exit 1; }
	@echo "$(VIEW_BT) '$(VIEW_TRACE)' -c sink.lwkt.timeline -p 'path=\"$(VIEW_HTML)\"...'"
	@$(VIEW_BT) '$(VIEW_TRACE)' -c sink.lwkt.timeline \
		-p 'path="$(VIEW_HTML)"'"$$( [ -n '$(VIEW_PAGE_MAX)' ] && printf ',max_bytes=%s' '$(VIEW_PAGE_MAX)' )$$( [ -f '$(VIEW_BENCH)' ] && printf ',bench="%s"' '$(VIEW_BENCH)' )" \
		2>'$(VIEW_HTML).log' || { \
	  rc=$$?; cat '$(VIEW_HTML).log' >&2; \
	  if grep -q "a browser would need" '$(VIEW_HTML).log'; then \
	    rm -f '$(VIEW_HTML).log'; \
	    echo "make view: no $(VIEW_HTML) (too large for one page, above): a time window with VIEW_BEGIN=T0 VIEW_END=T1, or $(VIEW_PFTRACE) in ui.perfetto.dev" >&2; \
	  else rm -f '$(VIEW_HTML).log'; [ $$rc -eq 124 ] && echo "make view: babeltrace2 did not finish within $(VIEW_TIMEOUT) s (VIEW_TIMEOUT)" >&2; exit $$rc; fi; }
	@cat '$(VIEW_HTML).log' 2>/dev/null >&2; rm -f '$(VIEW_HTML).log'
	$(VIEW_BT) '$(VIEW_TRACE)' -c sink.lwkt.perfetto -p 'path="$(VIEW_PFTRACE)"' || $(VIEW_FAIL)
	@echo "$(VIEW_BT) '$(VIEW_TRACE)' -c sink.lwkt.chrome -p 'path=\"$(VIEW_JSON)\",max_bytes=$(VIEW_JSON_MAX)'"
	@$(VIEW_BT) '$(VIEW_TRACE)' -c sink.lwkt.chrome -p 'path="$(VIEW_JSON)",max_bytes=$(VIEW_JSON_MAX)' 2>'$(VIEW_JSON).log' || { \
	  rc=$$?; cat '$(VIEW_JSON).log' >&2; \
	  if grep -q "no viewer can load it" '$(VIEW_JSON).log'; then \
	    rm -f '$(VIEW_JSON)' '$(VIEW_JSON).log'; \
	    echo "make view: no $(VIEW_JSON) (too large for a JSON viewer, above): open $(VIEW_PFTRACE) in ui.perfetto.dev" >&2; \
	  else rm -f '$(VIEW_JSON).log'; [ $$rc -eq 124 ] && echo "make view: babeltrace2 did not finish within $(VIEW_TIMEOUT) s (VIEW_TIMEOUT)" >&2; exit $$rc; fi; }
	@cat '$(VIEW_JSON).log' 2>/dev/null >&2; rm -f '$(VIEW_JSON).log'
	@echo "make view: $$( [ -f '$(VIEW_HTML)' ] && echo '$(VIEW_HTML) (open in a browser), ')$(VIEW_PFTRACE) (ui.perfetto.dev)$$( [ -f '$(VIEW_JSON)' ] && echo ', $(VIEW_JSON) (chrome://tracing)')"
RUN_STEPS += view
RUN_OUTPUTS += timeline.html timeline.perfetto-trace timeline.json

# The generic-trace generator used by viz-check (normal build only).
VIZ_TRACEF := build/viz-obj/tracef_gen
$(VIZ_TRACEF): viz/tests/tracef_gen.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g $(WARN) -D_GNU_SOURCE -pthread $(call pc_cflags,lttng-ust) \
		-o $@ $< $(call pc_libs,lttng-ust) -ldl
VIZ_OLDVER := build/viz-obj/oldver_gen
$(VIZ_OLDVER): viz/tests/oldver_gen.c viz/tests/oldver_tp.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g $(WARN) -D_GNU_SOURCE -pthread -Iviz/tests $(call pc_cflags,lttng-ust) \
		-o $@ $< $(call pc_libs,lttng-ust) -ldl

# make check: record real traces (trace-sample, a tracef trace), golden
# checks of the page data and the JSON, bad input, headless chromium.
viz-check: $(VIZ_PLUGIN) $(TRACE_TP_LIB) $(TRACE_SAMPLE) $(VIZ_TRACEF) $(VIZ_OLDVER)
	$(HOLD_SESSIOND) viz/tests/viz-check $(B)
EXTRA_CHECKS += viz-check

# Recording across hosts: two namespace hosts (ci/netns-mpi --trace), one
# lttng-relayd, the collection read by babeltrace2 and drawn by the viz
# (root only; SKIPPED otherwise).  Here: it needs the plugin and the MPI
# baseline, both defined by now.
.PHONY: relayd-check
relayd-check: $(VIZ_PLUGIN) $(TRACE_TP_LIB) $(TRACE_CALIB) $(BL_MPI_BIN)
	trace/tests/relayd-check $(BL_MPI_BIN) $(VIZ_DIR)
EXTRA_CHECKS += relayd-check

# Throughput: events/s through sink.lwkt.timeline vs sink.text.pretty.
viz-bench: $(VIZ_PLUGIN) $(TRACE_TP_LIB) $(TRACE_SAMPLE) $(VIZ_TRACEF)
	viz/tests/viz-bench $(B)

