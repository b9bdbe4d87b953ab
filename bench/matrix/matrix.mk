# bench/matrix/: the bench matrix runner.  build/lwkt-matrix-plan (C,
# hwloc: the planner), bench/matrix/lwkt-matrix (the runner, Python 3
# stdlib), build/lwkt-matrix-fleet (MPI: the same matrix on many hosts).
# Included by bench/module.mk.
MATRIX_PLAN := $(B)/lwkt-matrix-plan
MATRIX_FLEET := $(B)/lwkt-matrix-fleet
MATRIX_PLAN_OBJS := $(B)/bench/matrix/plan.o

$(B)/bench/matrix/%.o: MOD_CFLAGS = $(call pc_cflags,hwloc)
$(MATRIX_PLAN): $(MATRIX_PLAN_OBJS) $(B)/bench/matrix/plan_main.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,hwloc)

$(B)/bench/matrix/fleet.o: MOD_CFLAGS = $(call pc_cflags,mpich)
$(MATRIX_FLEET): $(B)/bench/matrix/fleet.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,mpich)

ALL_TARGETS += $(MATRIX_PLAN) $(MATRIX_FLEET)
# Installed, the runner finds lwkt-bench and the planner beside itself.
INSTALL_BIN += $(MATRIX_PLAN) $(MATRIX_FLEET) bench/matrix/lwkt-matrix

# The planner's tests: distance classes on synthetic machines (Check).
$(B)/bench/matrix/tests/%.o: MOD_CFLAGS = $(TEST_CFLAGS) $(call pc_cflags,hwloc) \
	-Ibench/matrix -DLWKT_BUILD_DIR='"$(B)"'
$(B)/tests/matrix_%: $(B)/bench/matrix/tests/%.o $(MATRIX_PLAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(call pc_libs,hwloc)
TEST_BINS += $(B)/tests/matrix_test_plan
TEST_DEPS += $(MATRIX_PLAN)

# make matrix: the full matrix of this host -> out/matrix/ (MATRIX_ARGS
# adds runner flags, e.g. MATRIX_ARGS='--pairs=all' or '--resume').
MATRIX_ARGS ?=
MATRIX_OUT ?= out/matrix
.PHONY: matrix matrix-quick matrix-fleet matrix-check matrix-fleet-check
matrix: $(B)/lwkt-bench $(MATRIX_PLAN)
	bench/matrix/lwkt-matrix --build=$(B) --out=$(MATRIX_OUT) $(MATRIX_ARGS)

# The first stage of make run: the quick matrix (with MPICH beside each
# pair) -> $(OUT)/matrix/ (out/ or make run's staging directory),
# replacing the previous run's results of this host.  One point of the
# long parameter sweeps keeps it to a few minutes; make matrix runs them all.
MATRIX_QUICK_PARAMS := --param=pipeline.flows=4096 --param=pipeline.generators=2 \
	--param=pipeline.zipf=1 --param=readmostly.update_pct=1 --param=reqrep.clients=1,8
matrix-quick: $(B)/lwkt-bench $(MATRIX_PLAN) $(B)/lwkt-bench-mpi
	bench/matrix/lwkt-matrix --build=$(B) --out=$(OUT)/matrix --profile=quick \
		--mpi --overwrite $(MATRIX_QUICK_PARAMS) $(MATRIX_ARGS)
RUN_STEPS += matrix-quick
RUN_OUTPUTS += matrix/

# make matrix-fleet HOSTFILE=hosts: the matrix on every host of the file
# (one rank each; the same paths on every host) -> out/fleet/.
HOSTFILE ?=
matrix-fleet: $(B)/lwkt-bench $(MATRIX_PLAN) $(MATRIX_FLEET)
	@test -n "$(HOSTFILE)" || { echo "make matrix-fleet: HOSTFILE=FILE (one host per line)" >&2; exit 2; }
	mpiexec -f $(HOSTFILE) -ppn 1 -n $$(grep -cv '^\s*\(#\|$$\)' $(HOSTFILE)) \
		$(MATRIX_FLEET) --out=$(CURDIR)/out/fleet -- --build=$(CURDIR)/$(B) $(MATRIX_ARGS)

# Once per make check: a tiny matrix on this host (outputs, Ctrl-C and
# --resume, compare.py on the raw JSON, CLI errors), and a two-host fleet
# over network namespaces (root only; SKIPPED otherwise).
matrix-check: $(B)/lwkt-bench $(MATRIX_PLAN)
	timeout --kill-after=10 600 /usr/bin/python3 bench/matrix/tests/test_matrix.py $(B)
matrix-fleet-check: $(B)/lwkt-bench $(MATRIX_PLAN) $(MATRIX_FLEET)
	timeout --kill-after=10 600 bench/matrix/tests/fleet-netns $(B)
EXTRA_CHECKS += matrix-check matrix-fleet-check
