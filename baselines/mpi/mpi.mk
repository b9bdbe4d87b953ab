# baselines/mpi/: build/lwkt-bench-mpi (MPICH via pkg-config `mpich`), the
# make targets that run it, and its checks.  Included by baselines/module.mk.
BL_MPI_BIN := $(B)/lwkt-bench-mpi
BL_MPI_OBJS := $(B)/baselines/mpi/mpiq_bench.o
# Topology (pinning) and the tracepoint definitions only, not all of liblwkt.
BL_MPI_RT_OBJS := $(B)/lwkt/src/topo.o $(B)/lwkt/src/lwkt_trace.o

$(B)/baselines/mpi/%.o: MOD_CFLAGS = -Ibaselines $(call pc_cflags,mpich)
$(BL_MPI_BIN): $(BL_MPI_OBJS) $(BL_MPI_RT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,mpich) $(call pc_libs,hwloc) -ldl

ALL_TARGETS += $(BL_MPI_BIN)
INSTALL_BIN += $(BL_MPI_BIN)
# baselines_test_mpi_cli runs it.
TEST_DEPS += $(BL_MPI_BIN)

# make bench-mpi: the full OSU-method run under mpiexec -n 2, pinned to the
# PUs lwkt-bench uses (MPI_CPUS=A,B overrides) -> out/bench-mpi.json.
# MPI_CPUS reaches a shell: it must be one word of digits and commas
# (checked with make's own functions, before any shell sees it), and it
# is single-quoted in the recipe as well.
MPI_CPUS ?=
bl_mpi_comma := ,
# What is left of MPI_CPUS (unexpanded: $(value)) once digits and commas
# are removed: must be nothing, and MPI_CPUS one word.
bl_mpi_rest = $(strip $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst \
	4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(subst \
	$(bl_mpi_comma),,$(value MPI_CPUS)))))))))))))
BL_MPI_CPUS_BAD = $(if $(value MPI_CPUS),$(if $(bl_mpi_rest),bad,$(if \
	$(filter-out 1,$(words $(value MPI_CPUS))),bad)))
.PHONY: bench-mpi mpi-check mpi-netns-check
bench-mpi: $(BL_MPI_BIN)
	$(if $(BL_MPI_CPUS_BAD),$(error MPI_CPUS must be PU numbers as A,B (digits and commas only), got '$(value MPI_CPUS)'))
	@mkdir -p $(OUT)
	ci/mpi-run $(BL_MPI_BIN) $(OUT)/bench-mpi.json $(if $(MPI_CPUS),'--cpus=$(MPI_CPUS)')
RUN_STEPS += bench-mpi
RUN_OUTPUTS += bench-mpi.json

# make check: the quick profile under mpiexec -n 2 (JSON valid, values > 0),
# and the two-namespace "multi-host" run (root only; SKIP otherwise).
mpi-check: $(BL_MPI_BIN)
	ci/mpi-check $(BL_MPI_BIN)
mpi-netns-check: $(BL_MPI_BIN)
	ci/netns-mpi $(BL_MPI_BIN)
EXTRA_CHECKS += mpi-check mpi-netns-check
