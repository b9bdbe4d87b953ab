# lwkt-bench: the google-benchmark suite (C, through bench/gbench_shim.cc).
# Every benchmark family lives here, the baselines' too (the mechanisms
# they drive live in baselines/ and come in as libbaselines.a, which
# baselines/module.mk appends to BENCH_OBJS with its libraries in
# BENCH_LIBS).
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_OBJS += $(BENCH_SRCS:%.c=$(B)/%.o) $(B)/bench/gbench_shim.o
BENCH_LIBS += $(call pc_libs,benchmark)

# Include paths per module: bench/ for its own headers; the families that
# drive a baseline mechanism also see baselines/ (and liburcu's flags,
# BL_URCU_PKGS, expanded when the recipe runs).
$(B)/bench/%.o: MOD_CFLAGS = -Ibench -DLWKT_GIT_REV='"$(GIT_REV)"'
BENCH_BL_SRCS := bench/bench_mutex.c $(wildcard bench/bench_urcu_*.c) \
	bench/bench_pipeline.c bench/bench_syscall.c
$(BENCH_BL_SRCS:%.c=$(B)/%.o): MOD_CFLAGS += -Ibaselines \
	$(call pc_cflags,$(BL_URCU_PKGS))

# Linked with g++: the shim is C++ (TOOLCHAIN.md).  --whole-archive is not
# needed: benchmarks register from constructors in the objects themselves.
$(B)/lwkt-bench: $(BENCH_OBJS) $(B)/liblwkt.a
	$(CXX) $(ALL_LDFLAGS) -o $@ $(BENCH_OBJS) $(B)/liblwkt.a $(BENCH_LIBS) $(LWKT_LIBS)

ALL_TARGETS += $(B)/lwkt-bench
INSTALL_BIN += $(B)/lwkt-bench

BENCH_TEST_SRCS := $(wildcard bench/tests/test_*.c)
BENCH_TEST_BINS := $(BENCH_TEST_SRCS:bench/tests/%.c=$(B)/tests/bench_%)
TEST_BINS += $(BENCH_TEST_BINS)
$(B)/bench/tests/%.o: MOD_CFLAGS = $(TEST_CFLAGS) -DLWKT_BUILD_DIR='"$(B)"'
$(B)/tests/bench_%: $(B)/bench/tests/%.o $(B)/liblwkt.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LWKT_LIBS)
# The bench tests run the real binary.
TEST_DEPS += $(B)/lwkt-bench
-include bench/matrix/matrix.mk
