# ci/fuzz/: AFL++ harnesses, their seed corpora and regression inputs, and
# the structured mutation tests of the Python and shell parsers.  See
# ci/fuzz/README.md.
#
#   make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS='cpulist ctf-meta']
#   make fuzz-replay     every seed and regression input, once (ASan+UBSan)
#   make fuzz-check      make check's bounded pass (FUZZ_CHECK_SECONDS each,
#                        FUZZ_CHECK_JOBS at once: one per core)
#
# The harnesses are built with afl-clang-fast (AFL++'s LLVM PCGUARD
# instrumentation) and ASan+UBSan into $(B)/fuzz/, always from the normal
# build's objects: a sanitizer build (SAN=...) has its own runtime.

ifneq ($(SAN),)
  ifneq ($(filter fuzz%,$(MAKECMDGOALS)),)
    $(error the fuzz targets build their own ASan+UBSan harnesses from the normal build: run them without SAN=)
  endif
endif
FUZZ_B := $(B)/fuzz
FUZZ_CC ?= afl-clang-fast
FUZZ_CXX ?= afl-clang-fast++
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# Others' sources are compiled by clang here; their warnings are gcc's
# -Werror build's business, so only the harnesses get -Werror.
FUZZ_CFLAGS := -std=c11 -O1 -g -D_GNU_SOURCE -pthread -fPIC -Ilwkt/include \
	-Wall -Wextra $(FUZZ_SANFLAGS)
FUZZ_OWN := -Werror -Ici/fuzz
FUZZ_TARGETS_ALL := cpulist bench-cli calib-cli ctf-stream ctf-meta
FUZZ_TARGETS ?= $(FUZZ_TARGETS_ALL)
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 15
# make check's targets at once: one afl-fuzz per core (each still gets
# FUZZ_CHECK_SECONDS; nothing else runs beside the extra checks).
FUZZ_CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_MUT_SECONDS ?= 10

FUZZ_BIN_cpulist := $(FUZZ_B)/fuzz_cpulist
FUZZ_BIN_bench-cli := $(FUZZ_B)/fuzz_bench_cli
FUZZ_BIN_calib-cli := $(FUZZ_B)/fuzz_calib_cli
FUZZ_BIN_ctf-stream := $(FUZZ_B)/fuzz_ctf_stream
FUZZ_BIN_ctf-meta := $(FUZZ_B)/fuzz_ctf_meta
FUZZ_BINS := $(foreach t,$(FUZZ_TARGETS_ALL),$(FUZZ_BIN_$(t)))
FUZZ_VIZ := $(FUZZ_B)/viz/lwkt-viz.so

# Instrumented objects: $(FUZZ_B)/obj/<source path>.o
$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_MOD_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_B)/obj/ci/fuzz/%.o: FUZZ_MOD_CFLAGS = $(FUZZ_OWN)
$(FUZZ_B)/obj/lwkt/src/topo.o: FUZZ_MOD_CFLAGS = $(call pc_cflags,hwloc)
# main() of the programs under test, renamed for the harness.
$(FUZZ_B)/obj/bench/main.o: FUZZ_MOD_CFLAGS = -Dmain=lwkt_bench_main -Ibench \
	-DLWKT_GIT_REV='"$(GIT_REV)"'
$(FUZZ_B)/obj/trace/lwkt_trace_calib.o: FUZZ_MOD_CFLAGS = -Dmain=calib_main \
	$(LTTNG_UST_CFLAGS) -Itrace
$(FUZZ_B)/obj/viz/%.o: FUZZ_MOD_CFLAGS = $(VIZ_BT_CFLAGS) -Iviz
$(FUZZ_B)/obj/viz/template.o: viz/timeline.html
# The two CTF targets: one source.  Static pattern rules (a plain
# pattern would also offer make a way to "remake" the .d files).
FUZZ_CTF_OBJS := $(FUZZ_B)/obj/ci/fuzz/fuzz_ctf_stream.o $(FUZZ_B)/obj/ci/fuzz/fuzz_ctf_meta.o
$(FUZZ_CTF_OBJS): $(FUZZ_B)/obj/ci/fuzz/fuzz_ctf_%.o: ci/fuzz/fuzz_ctf.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OWN) $(VIZ_BT_CFLAGS) \
		-DFUZZ_CTF_META=$(if $(filter meta,$*),1,0) \
		-DFUZZ_VIZ_PLUGIN='"$(abspath $(FUZZ_VIZ))"' \
		-DFUZZ_CTF_BASE_DEFAULT='"$(abspath ci/fuzz/ctf-base)"' \
		-MMD -MP -c $< -o $@

$(FUZZ_BIN_cpulist): $(FUZZ_B)/obj/ci/fuzz/fuzz_cpulist.o $(FUZZ_B)/obj/lwkt/src/topo.o
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -pthread -o $@ $^ $(call pc_libs,hwloc)

# lwkt-bench as it is linked (bench/module.mk), with the instrumented
# main.c and topo.c first (topo.o of liblwkt.a is then not pulled in).
$(FUZZ_BIN_bench-cli): $(FUZZ_B)/obj/ci/fuzz/fuzz_bench_cli.o \
		$(FUZZ_B)/obj/bench/main.o $(FUZZ_B)/obj/lwkt/src/topo.o \
		$(filter-out $(B)/bench/main.o,$(BENCH_OBJS)) $(B)/liblwkt.a
	$(FUZZ_CXX) $(FUZZ_SANFLAGS) -pthread -o $@ $^ $(BENCH_LIBS) $(LWKT_LIBS)

$(FUZZ_BIN_calib-cli): $(FUZZ_B)/obj/ci/fuzz/fuzz_calib_cli.o \
		$(FUZZ_B)/obj/trace/lwkt_trace_calib.o $(B)/lwkt/src/lwkt_trace.o
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -pthread -o $@ $^ -ldl

FUZZ_VIZ_OBJS := $(VIZ_SRCS:%.c=$(FUZZ_B)/obj/%.o)
$(FUZZ_VIZ): $(FUZZ_VIZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -shared $(FUZZ_SANFLAGS) -o $@ $^ $(VIZ_LIBS)

$(FUZZ_BIN_ctf-stream) $(FUZZ_BIN_ctf-meta): $(FUZZ_B)/fuzz_ctf_%: \
		$(FUZZ_B)/obj/ci/fuzz/fuzz_ctf_%.o | $(FUZZ_VIZ)
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -pthread -o $@ $< $(call pc_libs,babeltrace2)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-check fuzz-report-json fuzz-record-cli
fuzz-build: $(FUZZ_BINS) $(FUZZ_VIZ)

# Long runs: each target in turn (not at once: one core each is the
# machine's half), FUZZ_SECONDS each.  Output: $(FUZZ_B)/out/<target>/.
fuzz: fuzz-build
	ci/fuzz/run-fuzz --build $(FUZZ_B) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make check: every committed seed and regression input replayed (a
# fixed crash stays fixed), then a bounded AFL++ run of each target.
fuzz-replay: fuzz-build
	ci/fuzz/run-fuzz --build $(FUZZ_B) --replay $(FUZZ_TARGETS_ALL)
fuzz-check: fuzz-build
	ci/fuzz/run-fuzz --build $(FUZZ_B) --check --seconds $(FUZZ_CHECK_SECONDS) \
		--jobs $(FUZZ_CHECK_JOBS) $(FUZZ_TARGETS_ALL)
# The report's JSON reader (Python) and lwkt-record's option parsing
# (bash): structured mutation tests, no AFL (see the README).
fuzz-report-json:
	/usr/bin/python3 ci/fuzz/fuzz_report_json.py --seconds $(FUZZ_MUT_SECONDS)
fuzz-record-cli:
	/usr/bin/python3 ci/fuzz/fuzz_record_cli.py --seconds $(FUZZ_MUT_SECONDS)
EXTRA_CHECKS += fuzz-replay fuzz-check fuzz-report-json fuzz-record-cli
# (the mutation tests only compute: a core each, for their seconds)
EXTRA_CHECKS_CPU += fuzz-report-json fuzz-record-cli

# Re-records ci/fuzz/ctf-base/ and the CTF seeds (commit the result).
.PHONY: fuzz-ctf-base
fuzz-ctf-base: $(TRACE_TP_LIB) $(TRACE_SAMPLE)
	ci/fuzz/make-ctf-base $(B)
