# baselines/: the same workloads on pthread mutex+condvar, liburcu and MPICH.
#   libbaselines.a   mutexq_*, urcuq_* (queues, RCU table stress), linked
#                    into lwkt-bench (its benchmarks live in bench/)
#   mpi/             build/lwkt-bench-mpi (MPICH, OSU method), its own binary
#   tests/test_*.c   Check tests -> $(B)/tests/baselines_test_*
BL_URCU_PKGS := liburcu-memb liburcu-qsbr liburcu-cds
BL_LIB_SRCS := baselines/mutexq.c baselines/urcuq.c baselines/urcuq_wfcq.c \
	baselines/urcuq_memb.c baselines/urcuq_qsbr.c \
	baselines/flowtab.c baselines/syscalls.c
BL_LIB_OBJS := $(BL_LIB_SRCS:%.c=$(B)/%.o)
BL_LIBS := $(call pc_libs,$(BL_URCU_PKGS)) $(call pc_libs,liburing)

$(B)/baselines/%.o: MOD_CFLAGS = -Ibaselines $(call pc_cflags,$(BL_URCU_PKGS))

$(B)/libbaselines.a: $(BL_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

ALL_TARGETS += $(B)/libbaselines.a
# lwkt-bench's prerequisites were expanded before this file was read: add
# ours to the target; the link recipe expands BENCH_OBJS/BENCH_LIBS late.
BENCH_OBJS += $(B)/libbaselines.a
BENCH_LIBS += $(BL_LIBS)
$(B)/lwkt-bench: $(B)/libbaselines.a

# Tests: one Check binary per file.
BL_TEST_SRCS := $(wildcard baselines/tests/test_*.c)
BL_TEST_BINS := $(BL_TEST_SRCS:baselines/tests/%.c=$(B)/tests/baselines_%)
TEST_BINS += $(BL_TEST_BINS)
$(B)/baselines/tests/%.o: MOD_CFLAGS = $(TEST_CFLAGS) -Ibaselines -DLWKT_BUILD_DIR='"$(B)"' \
	$(call pc_cflags,$(BL_URCU_PKGS))
# BL_TRACE sites need the tracepoint definitions (lwkt_trace.o, dynamic
# linkage: -ldl); nothing else of liblwkt, so the tests do not depend on
# the runtime's state.
BL_TRACE_OBJS := $(B)/lwkt/src/lwkt_trace.o
$(B)/tests/baselines_%: $(B)/baselines/tests/%.o $(B)/libbaselines.a $(BL_TRACE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(BL_LIBS) -ldl

-include baselines/mpi/mpi.mk
