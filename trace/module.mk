# trace/: the LTTng-UST provider `lwkt` (its own shared object, loaded only
# when tracing), the record script, a sample program, overhead benchmarks
# and the trace round-trip checks.  See trace/README.md.

TRACE_TP_LIB := $(B)/liblwkt-tp.so
TRACE_SAMPLE := $(B)/trace/lwkt-trace-sample
LTTNG_UST_CFLAGS := $(call pc_cflags,lttng-ust)

# The probes: -llttng-ust only here, never in liblwkt.
$(B)/trace/%.o: MOD_CFLAGS = $(LTTNG_UST_CFLAGS) -Itrace
$(B)/trace/lwkt_tp.o: trace/lwkt_tp.h
$(TRACE_TP_LIB): $(B)/trace/lwkt_tp.o
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,lttng-ust)

# The sample and the tests link the runtime's trace and topology objects
# only: they do not depend on the rest of liblwkt being in a good state.
TRACE_RT_OBJS := $(B)/lwkt/src/lwkt_trace.o $(B)/lwkt/src/topo.o
$(TRACE_SAMPLE): $(B)/trace/lwkt_trace_sample.o $(TRACE_RT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LWKT_LIBS)

# The recorder's calibration (per-event cost, stored in the trace).
TRACE_CALIB := $(B)/trace/lwkt-trace-calib
$(TRACE_CALIB): $(B)/trace/lwkt_trace_calib.o $(TRACE_RT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LWKT_LIBS)

# The real runtime under trace: IPI ping-pong between two lwkt cpus.
TRACE_RUNTIME := $(B)/trace/lwkt-trace-runtime
$(TRACE_RUNTIME): $(B)/trace/lwkt_trace_runtime.o $(B)/liblwkt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LWKT_LIBS)

ALL_TARGETS += $(TRACE_TP_LIB) $(TRACE_SAMPLE) $(TRACE_RUNTIME) $(TRACE_CALIB)
INSTALL_LIB += $(TRACE_TP_LIB)
INSTALL_BIN += trace/lwkt-record trace/lwkt-trace-verify $(TRACE_CALIB)

# The overhead benchmarks (overhead/tracepoint_*) live in bench/bench_trace.c.

# Check tests (per build): the provider unloaded and loaded without session.
TRACE_TEST_SRCS := $(wildcard trace/tests/test_*.c)
TRACE_TEST_BINS := $(TRACE_TEST_SRCS:trace/tests/%.c=$(B)/tests/trace_%)
TEST_BINS += $(TRACE_TEST_BINS)
TEST_DEPS += $(TRACE_TP_LIB)
$(B)/trace/tests/%.o: MOD_CFLAGS = $(TEST_CFLAGS) -Itrace -DLWKT_BUILD_DIR='"$(B)"'
$(B)/tests/trace_%: $(B)/trace/tests/%.o $(TRACE_RT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LWKT_LIBS)

# A small real trace for the viz: build/trace-sample/ (normal build only).
TRACE_REC := trace/lwkt-record
.PHONY: trace trace-sample trace-check trace-check-unloaded
trace-sample: $(TRACE_TP_LIB) $(TRACE_SAMPLE)
	rm -rf build/trace-sample
	LWKT_TP_LIB=$(TRACE_TP_LIB) $(TRACE_REC) -o build/trace-sample -- \
		$(TRACE_SAMPLE) --msgs 200 --window 4

# make trace: a short representative run of the runtime workloads (those
# that exist: the filter names the families as they land) -> out/trace/.
TRACE_FILTER ?= roundtrip/lwkt_|stream/lwkt_|token/|roundtrip/mutex_condvar
# Short on purpose: the page and the JSON grow with the event count
# (0.001 s per benchmark: a few hundred thousand events).
TRACE_MIN_TIME ?= 0.001
trace: $(TRACE_TP_LIB) $(B)/lwkt-bench
	rm -rf $(OUT)/trace
	LWKT_TP_LIB=$(TRACE_TP_LIB) $(TRACE_REC) -o $(OUT)/trace -- \
		$(B)/lwkt-bench --benchmark_filter='$(TRACE_FILTER)' \
		--benchmark_min_time=$(TRACE_MIN_TIME) --benchmark_repetitions=1
RUN_STEPS += trace
RUN_OUTPUTS += trace/

# make check: record real traces with a session daemon started by the
# record script, read them back with babeltrace2 (python3-bt2) and check
# every join (trace/tests/check_trace.py).  The checks that record many
# traces run under trace/tests/hold-sessiond: one session daemon for all
# of their recordings, stopped after them.
HOLD_SESSIOND := trace/tests/hold-sessiond
trace-check: $(TRACE_TP_LIB) $(TRACE_SAMPLE) $(TRACE_RUNTIME)
	$(HOLD_SESSIOND) trace/tests/trace-check $(B)

trace-check-unloaded: $(TRACE_TP_LIB) $(TRACE_SAMPLE)
	trace/tests/trace-check-unloaded $(B)
EXTRA_CHECKS += trace-check trace-check-unloaded

# A traced program killed with SIGKILL mid-recording: the trace is kept,
# readable up to the kill, rendered, and the death reported (~20 s).
.PHONY: trace-sigkill-check
# (viz/module.mk comes later: its VIZ_PLUGIN is still empty here.)
trace-sigkill-check: $(TRACE_TP_LIB) $(B)/lwkt-bench $(B)/viz/lwkt-viz.so
	trace/tests/sigkill-check $(B)
EXTRA_CHECKS += trace-sigkill-check

# The cost of the trace sites on roundtrip/lwkt_domsg: compiled out
# (-DLWKT_TRACE_DISABLE, in build-notrace/) vs unloaded vs recording.
# Not in make check (a measurement, not a test).
NOTRACE_B := build-notrace
.PHONY: trace-overhead
trace-overhead: $(B)/lwkt-bench $(TRACE_TP_LIB)
	$(MAKE) --no-print-directory B=$(NOTRACE_B) \
		CFLAGS='-O2 -g -DLWKT_TRACE_DISABLE' $(NOTRACE_B)/lwkt-bench
	LWKT_TP_LIB=$(TRACE_TP_LIB) trace/overhead-compare $(B) $(NOTRACE_B) $(TRACE_OVERHEAD_FILTER)

# The viz plugin, by its path: viz/module.mk is read after this file, so
# $(VIZ_PLUGIN) would be empty in the prerequisites below.
TRACE_VIZ_PLUGIN := $(B)/viz/lwkt-viz.so

# make check: the calibration's functional checks (trace/tests/calib-test:
# the cost carried by the trace and used by the viz; --no-calib, an
# implausible cost, a failed calibration: traced times only, said).
.PHONY: trace-calib-test
trace-calib-test: $(TRACE_TP_LIB) $(TRACE_SAMPLE) $(TRACE_CALIB) $(TRACE_VIZ_PLUGIN)
	$(HOLD_SESSIOND) trace/tests/calib-test $(B)
EXTRA_CHECKS += trace-calib-test

# The calibration's error: the viz's "without tracing" estimate of the
# message total (send -> sender resumes) against the untraced benchmark,
# for roundtrip/lwkt_domsg and stream/lwkt_sendmsg (CALIB_FILTER=...,
# ROUNDS=5, MIN_TIME=0.2).  A measurement, not a test: run it alone on a
# quiet machine.  Output: a table, and $(B)/calib-compare/timeline.html.
.PHONY: trace-calib-check
trace-calib-check: $(TRACE_TP_LIB) $(TRACE_CALIB) $(B)/lwkt-bench $(TRACE_VIZ_PLUGIN)
	trace/calib-compare $(B)
