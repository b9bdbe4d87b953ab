# SPDX-License-Identifier: BSD-3-Clause
# lwkt-lab: GNU make, C11, out-of-tree builds.
#
#   make            build everything into build/
#   make run        install deps, build, run the quick bench profile -> out/
#   make check      install deps, build, run every test (normal, ASan+UBSan, TSan)
#   make SAN=address|thread|undefined   sanitizer build into build-asan/ ...
#   make bench-mpi  the MPI baseline -> out/bench-mpi.json
#   make trace      record out/trace/;  make view: -> out/timeline.{html,json}
#   make install PREFIX=/usr/local
#
# Each directory adds its sources, binaries and tests in its module.mk.

SHELL := /bin/bash
.DEFAULT_GOAL := all

SAN ?=
ifeq ($(SAN),)
  B := build
  SANFLAGS :=
else ifeq ($(SAN),address)
  # The "address" build is ASan+UBSan together (one build, both checkers).
  B := build-asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
  B := build-tsan
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SAN),undefined)
  B := build-ubsan
  SANFLAGS := -fsanitize=undefined -fno-sanitize-recover=undefined
else
  $(error SAN must be empty, address, thread or undefined (got '$(SAN)'))
endif

PREFIX ?= /usr/local
CC := gcc
CXX := g++
PKG_CONFIG ?= pkg-config
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -pthread -fPIC \
	-Ilwkt/include $(SANFLAGS)
ALL_CXXFLAGS := -std=c++17 $(CXXFLAGS) $(WARN) -pthread -fPIC $(SANFLAGS)
ALL_LDFLAGS := -pthread $(SANFLAGS) $(LDFLAGS)

# Every entry point needs the packages, and pkg-config below needs them at
# parse time: install what is missing first (a no-op when all are present).
ifeq ($(filter clean distclean help,$(MAKECMDGOALS)),)
  DEPS_STATUS := $(shell ci/install-deps >&2; echo $$?)
  ifneq ($(DEPS_STATUS),0)
    $(error ci/install-deps failed (see above))
  endif
endif

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs = $(shell $(PKG_CONFIG) --libs $(1))

# Lists the modules append to.
ALL_TARGETS :=
TEST_BINS :=
TEST_DEPS :=
EXTRA_CHECKS :=
RUN_STEPS :=
RUN_OUTPUTS :=
INSTALL_BIN :=
INSTALL_LIB :=

include lwkt/module.mk
include bench/module.mk
-include baselines/module.mk
-include trace/module.mk
-include viz/module.mk

.PHONY: all deps run check check-extra test bench install clean distclean tests

all: $(ALL_TARGETS)
tests: $(TEST_BINS)

deps:
	@ci/install-deps

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MOD_CFLAGS) -MMD -MP -c $< -o $@

$(B)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -fPIC -MMD -MP -c $< -o $@

$(B)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $(call pc_cflags,benchmark) -MMD -MP -c $< -o $@

# Runs this build's tests (one Criterion binary per test file).
test: $(TEST_BINS) $(TEST_DEPS)
	@ci/run-tests $(B) $(TEST_BINS)

# The main job: see README.md.  Later stages append to RUN_STEPS.
run: deps all
	@mkdir -p out
	ci/bench-run $(B) out
	@$(foreach s,$(RUN_STEPS),$(MAKE) --no-print-directory $(s) &&) true
	@echo "make run: results in out/: bench.txt bench.json host.json $(RUN_OUTPUTS)"

bench: all
	$(B)/lwkt-bench $(BENCH_ARGS)

# Every test in every build; the last line is "N passed, N failed, N skipped".
check: deps
	ci/check

# Checks that are not per build (model checking, trace round trips...):
# modules append make targets to EXTRA_CHECKS; each counts as one check
# (skipped when it printed a "SKIPPED: ..." line).
check-extra:
	@ci/check-extra -o build/extra-summary $(EXTRA_CHECKS)

# Tests of the ci/ scripts themselves (skip protocol, interruption...).
.PHONY: ci-check
ci-check:
	ci/tests/ci-check
EXTRA_CHECKS += ci-check

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/lwkt $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 lwkt/include/lwkt/*.h $(DESTDIR)$(PREFIX)/include/lwkt/
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(INSTALL_LIB) $(DESTDIR)$(PREFIX)/lib/
	$(INSTALL_EXTRA)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LWKT_VERSION)|' \
		-e 's|@REQUIRES@|$(LWKT_PC_REQUIRES)|' -e 's|@LIBS@|$(LWKT_PC_LIBS)|' \
		lwkt/lwkt.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lwkt.pc

clean:
	rm -rf build build-*/

distclean: clean
	rm -rf out

# Keep objects of test binaries (otherwise deleted as intermediates).
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
