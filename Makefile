# SPDX-License-Identifier: BSD-3-Clause
# lwkt-lab: GNU make, C11, out-of-tree builds.
#
#   make            build everything into build/
#   make run        install deps, build, the quick bench matrix, trace, timeline -> out/
#   make check      install deps, build, run every test (normal, ASan+UBSan, TSan)
#   make SAN=address|thread|undefined   sanitizer build into build-asan/ ...
#   make matrix     the full bench matrix of this host -> out/matrix/
#   make bench-mpi  the MPI baseline -> out/bench-mpi.json
#   make trace      record out/trace/;  make view: -> out/timeline.{html,json}
#   make install [PREFIX=/usr/local LIBDIR=... DESTDIR=...];  make uninstall
#   make help       every target and variable
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

# Install locations (GNU/Debian names).  A Debian package passes
# PREFIX=/usr LIBDIR=/usr/lib/$(DEB_HOST_MULTIARCH).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# babeltrace2 loads plugins from its own system directory without
# --plugin-path; any other directory must be named (see make install).
BT2_PLUGINDIR ?= $(LIBDIR)/babeltrace2/plugins
CC := gcc
CXX := g++
PKG_CONFIG ?= pkg-config
# "unknown" outside a git checkout (a release tarball) or without git.
GIT_REV := $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(shell \
	git rev-parse --git-dir >/dev/null 2>&1 && { git diff --quiet HEAD 2>/dev/null || echo -dirty; })

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -pthread -fPIC \
	-Ilwkt/include $(SANFLAGS)
ALL_CXXFLAGS := -std=c++17 $(CXXFLAGS) $(WARN) -pthread -fPIC $(SANFLAGS)
ALL_LDFLAGS := -pthread $(SANFLAGS) $(LDFLAGS)

# Packages.  pkg-config below runs at parse time, so packages are handled
# before anything is read: `make run`, `make check` and `make deps`
# install what is missing (INSTALL_DEPS=no: only check); every other
# target installs nothing and stops naming the missing packages -- the
# build packages for building and installing, all of them for the targets
# that run things (trace, view, bench-mpi, the extra checks...).
INSTALL_DEPS ?= yes
NODEPS_GOALS := clean distclean help uninstall
BUILD_GOALS := all tests test install man
GOALS := $(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))
ifneq ($(filter run check deps,$(GOALS)),)
  ifeq ($(INSTALL_DEPS),yes)
    DEPS_CMD := ci/install-deps
  else
    DEPS_CMD := ci/install-deps --check
  endif
else ifneq ($(filter-out $(NODEPS_GOALS) $(BUILD_GOALS) $(B)/% build%,$(GOALS)),)
  DEPS_CMD := ci/install-deps --check
else ifneq ($(filter-out $(NODEPS_GOALS),$(GOALS)),)
  DEPS_CMD := ci/install-deps --check --group=build
endif
ifneq ($(DEPS_CMD),)
  DEPS_STATUS := $(shell $(DEPS_CMD) >&2; echo $$?)
  ifneq ($(DEPS_STATUS),0)
    $(error $(DEPS_CMD) failed (see above))
  endif
endif

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs = $(shell $(PKG_CONFIG) --libs $(1))
pc_var = $(shell $(PKG_CONFIG) --variable=$(1) $(2))

# Lists the modules append to.
ALL_TARGETS :=
TEST_BINS :=
TEST_DEPS :=
EXTRA_CHECKS :=
# Of those, the ones that only compute (ci/check-extra -c: run beside
# each other, one per core, before the rest).
EXTRA_CHECKS_CPU :=
RUN_STEPS :=
RUN_OUTPUTS :=
INSTALL_BIN :=
INSTALL_LIB :=
INSTALL_BT2_PLUGIN :=

include lwkt/module.mk
include bench/module.mk
-include baselines/module.mk
-include trace/module.mk
-include viz/module.mk
-include ci/report/module.mk
-include ci/fuzz/module.mk
-include lwkt/soak/module.mk

.PHONY: all deps run check check-extra test bench install uninstall man \
	help clean distclean tests

all: $(ALL_TARGETS)
tests: $(TEST_BINS)

# The packages were installed while the Makefile was read (see above).
deps:
	@ci/install-deps -v

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MOD_CFLAGS) -MMD -MP -c $< -o $@

$(B)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -fPIC -MMD -MP -c $< -o $@

$(B)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $(call pc_cflags,benchmark) -MMD -MP -c $< -o $@

# Runs this build's tests (one Criterion binary per test file);
# RUN_TESTS_FLAGS=--one-pu: each under taskset to one PU (ci/run-tests).
RUN_TESTS_FLAGS ?=
test: $(TEST_BINS) $(TEST_DEPS)
	@ci/run-tests $(RUN_TESTS_FLAGS) $(B) $(TEST_BINS)

# The main job: see README.md.  Later stages append make targets to
# RUN_STEPS; each writes its outputs under $(OUT) (a private staging
# directory during make run: the run's outputs replace out/'s together,
# or not at all when a stage fails or Ctrl-C stops it).
OUT ?= out
run: all
	@RUN_OUTPUTS='$(RUN_OUTPUTS)' ci/make-run $(OUT) $(RUN_STEPS)

bench: all
	$(B)/lwkt-bench $(BENCH_ARGS)

# Every test in every build; the last line is "N passed, N failed, N skipped".
check: deps
	ci/check

# Checks that are not per build (model checking, trace round trips...):
# modules append make targets to EXTRA_CHECKS; each counts as one check
# (skipped when it printed a "SKIPPED: ..." line).
check-extra:
	@ci/check-extra -o build/extra-summary -c '$(EXTRA_CHECKS_CPU)' $(EXTRA_CHECKS)

# Tests of the ci/ scripts themselves (skip protocol, interruption...).
.PHONY: ci-check
ci-check: $(B)/lwkt-bench
	ci/tests/ci-check $(B)
EXTRA_CHECKS += ci-check

# shellcheck over every shell script (exceptions justified in place).
.PHONY: shellcheck
shellcheck:
	ci/shellcheck-all
EXTRA_CHECKS += shellcheck
EXTRA_CHECKS_CPU += shellcheck

# make install/uninstall as an operator and a packager run them.
.PHONY: install-check
install-check:
	ci/tests/install-check
EXTRA_CHECKS += install-check

# ci/netns-mpi leaves nothing behind: failures at each step, signals,
# SIGKILL (root only; SKIPPED otherwise).
.PHONY: netns-cleanup-check
netns-cleanup-check: $(BL_MPI_BIN)
	ci/tests/netns-check $(BL_MPI_BIN)
EXTRA_CHECKS += netns-cleanup-check

# Installed binaries find what they load at run time (liblwkt-tp.so,
# dlopen()ed by name) without LD_LIBRARY_PATH: a RUNPATH to LIBDIR, except
# where the dynamic linker looks anyway (Debian policy: no rpath there).
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
SYSTEM_LIBDIRS := /lib /usr/lib $(if $(MULTIARCH),/lib/$(MULTIARCH) /usr/lib/$(MULTIARCH))
RPATH_LDFLAGS := $(if $(filter $(LIBDIR),$(SYSTEM_LIBDIRS)),,-Wl,-rpath,$(LIBDIR))
INSTALL_LINKED := $(B)/lwkt-bench $(BL_MPI_BIN)
$(INSTALL_LINKED): ALL_LDFLAGS += $(RPATH_LDFLAGS)
# Relinked when LIBDIR or the SONAME changes (make does not track flags):
# what was linked with other ones is removed while the Makefile is read.
LINK_STAMP := $(B)/link-flags.stamp
LINK_FLAGS_NOW := $(RPATH_LDFLAGS) soname=$(LWKT_SOVERSION)
# Not under make -n, which must change nothing (a test runs it).
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
ifneq ($(filter-out $(NODEPS_GOALS),$(GOALS)),)
  ifeq ($(DRY_RUN),)
  ifneq ($(file < $(LINK_STAMP)),$(LINK_FLAGS_NOW))
    $(shell mkdir -p $(B) && rm -f $(INSTALL_LINKED) $(B)/liblwkt.so && \
	printf '%s' '$(LINK_FLAGS_NOW)' > $(LINK_STAMP))
  endif
  endif
endif

# Man pages, rendered by help2man from each program's --help.
MAN_PAGES := $(B)/man/lwkt-bench.1 $(B)/man/lwkt-bench-mpi.1 $(B)/man/lwkt-record.1
HELP2MAN = help2man --no-info --no-discard-stderr --version-string=$(LWKT_VERSION) \
	--source=lwkt-lab -N
$(B)/man/lwkt-bench.1: $(B)/lwkt-bench
$(B)/man/lwkt-bench-mpi.1: $(BL_MPI_BIN)
$(B)/man/lwkt-record.1: trace/lwkt-record
$(B)/man/%.1:
	@mkdir -p $(dir $@)
	$(HELP2MAN) -n "$(MAN_DESC_$*)" -o $@.tmp $< && mv $@.tmp $@
MAN_DESC_lwkt-bench := message-passing, lock and RCU benchmarks of lwkt-lab (google-benchmark)
MAN_DESC_lwkt-bench-mpi := MPI latency and bandwidth baseline of lwkt-lab (OSU method)
MAN_DESC_lwkt-record := record an LTTng trace of an lwkt-lab program
man: $(MAN_PAGES)

# liblwkt.so is installed as liblwkt.so.VERSION with the links
# liblwkt.so.SOVERSION (its SONAME, for programs) and liblwkt.so (for -llwkt).
LWKT_SHLIB := $(B)/liblwkt.so
LWKT_SONAME := liblwkt.so.$(LWKT_SOVERSION)
LWKT_SOFILE := liblwkt.so.$(LWKT_VERSION)
BT2_SYSTEM_PLUGINDIR := $(call pc_var,libdir,babeltrace2)/babeltrace2/plugins
D := $(DESTDIR)
install: all man
	install -d $(D)$(BINDIR) $(D)$(LIBDIR) $(D)$(INCLUDEDIR)/lwkt \
		$(D)$(PKGCONFIGDIR) $(D)$(MANDIR)/man1
	install -m 644 lwkt/include/lwkt/*.h $(D)$(INCLUDEDIR)/lwkt/
	@# Scripts learn LIBDIR (where their helpers were installed).
	set -e; for f in $(INSTALL_BIN); do \
	  case $$f in \
	  $(B)/*) echo "install -m 755 $$f $(D)$(BINDIR)/"; install -m 755 $$f $(D)$(BINDIR)/ ;; \
	  *) echo "sed @LWKT_LIBDIR@ $$f > $(D)$(BINDIR)/$${f##*/}"; \
	     sed 's|@LWKT_LIBDIR@|$(LIBDIR)|g' $$f > $(D)$(BINDIR)/$${f##*/}; \
	     chmod 755 $(D)$(BINDIR)/$${f##*/} ;; \
	  esac; done
	install -m 644 $(filter-out $(LWKT_SHLIB),$(INSTALL_LIB)) $(D)$(LIBDIR)/
	install -m 644 $(LWKT_SHLIB) $(D)$(LIBDIR)/$(LWKT_SOFILE)
	ln -sf $(LWKT_SOFILE) $(D)$(LIBDIR)/$(LWKT_SONAME)
	ln -sf $(LWKT_SONAME) $(D)$(LIBDIR)/liblwkt.so
	install -m 644 $(MAN_PAGES) $(D)$(MANDIR)/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LWKT_VERSION)|' \
		-e 's|@REQUIRES@|$(LWKT_PC_REQUIRES)|' -e 's|@LIBS@|$(LWKT_PC_LIBS)|' \
		lwkt/lwkt.pc.in > $(D)$(PKGCONFIGDIR)/lwkt.pc
	$(if $(INSTALL_BT2_PLUGIN),install -d $(D)$(BT2_PLUGINDIR) && \
		install -m 644 $(INSTALL_BT2_PLUGIN) $(D)$(BT2_PLUGINDIR)/)
	@if [ "$(BT2_PLUGINDIR)" != "$(BT2_SYSTEM_PLUGINDIR)" ]; then \
	  echo "make install: babeltrace2 finds the viz plugin only when told where:"; \
	  echo "  babeltrace2 --plugin-path=$(BT2_PLUGINDIR) ...  (or BABELTRACE_PLUGIN_PATH=$(BT2_PLUGINDIR))"; \
	  echo "  (its own directory is $(BT2_SYSTEM_PLUGINDIR): install with LIBDIR=$(patsubst %/babeltrace2/plugins,%,$(BT2_SYSTEM_PLUGINDIR)) to use it)"; \
	fi
	@# Programs linked with -llwkt find liblwkt.so.$(LWKT_SOVERSION) once the cache knows LIBDIR.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Removes exactly what install put there (same PREFIX/LIBDIR/DESTDIR).
uninstall:
	rm -f $(addprefix $(D)$(BINDIR)/,$(notdir $(INSTALL_BIN))) \
		$(addprefix $(D)$(LIBDIR)/,$(notdir $(filter-out $(LWKT_SHLIB),$(INSTALL_LIB)))) \
		$(D)$(LIBDIR)/$(LWKT_SOFILE) $(D)$(LIBDIR)/$(LWKT_SONAME) $(D)$(LIBDIR)/liblwkt.so \
		$(addprefix $(D)$(INCLUDEDIR)/lwkt/,$(notdir $(wildcard lwkt/include/lwkt/*.h))) \
		$(addprefix $(D)$(MANDIR)/man1/,$(notdir $(MAN_PAGES))) \
		$(D)$(PKGCONFIGDIR)/lwkt.pc \
		$(addprefix $(D)$(BT2_PLUGINDIR)/,$(notdir $(INSTALL_BT2_PLUGIN)))
	-rmdir $(D)$(INCLUDEDIR)/lwkt 2>/dev/null

help:
	@echo 'lwkt-lab targets (see README.md):'
	@echo '  make run          install missing packages, build, bench -> out/ (the main job)'
	@echo '  make check        install missing packages, build, every test; last line'
	@echo '                    "N passed, N failed, N skipped"'
	@echo '  make deps         install the missing Debian packages (ci/install-deps)'
	@echo '  make [all]        build into build/ (needs the build packages only)'
	@echo '  make SAN=address|thread|undefined   sanitizer build (build-asan/ ...)'
	@echo '  make tests        the test binaries;  make test: run this build'"'"'s tests'
	@echo '  make check-extra  the once-only checks: $(EXTRA_CHECKS)'
	@echo '  make bench BENCH_ARGS=...   run lwkt-bench'
	@echo '  make soak [SOAK_ARGS=...]   the runtime soak (lwkt-soak --help)'
	@echo '  make matrix [MATRIX_ARGS=...]   the bench matrix -> out/matrix/'
	@echo '                    (bench/matrix/lwkt-matrix --help lists its flags)'
	@echo '  make $(RUN_STEPS)   the later stages of make run'
	@echo '  make view [VIEW_TRACE=dir VIEW_BEGIN=T0 VIEW_END=T1]   a trace -> out/timeline.html and'
	@echo '                    .perfetto-trace; VIEW_BEGIN/END: a time window (babeltrace2 --begin/--end,'
	@echo '                    e.g. 12:00:01.5), the way to view a trace too large for one page'
	@echo '  make man          man pages (help2man) -> $(B)/man/'
	@echo '  make install      PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) DESTDIR=$(DESTDIR)'
	@echo '                    (also BINDIR INCLUDEDIR MANDIR PKGCONFIGDIR BT2_PLUGINDIR)'
	@echo '  make uninstall    remove what install put there (same variables)'
	@echo '  make clean        remove build*/;  make distclean: also out/'
	@echo 'variables: INSTALL_DEPS=no (run/check: only check packages), CFLAGS, LDFLAGS'

clean:
	rm -rf build build-*/

distclean: clean
	rm -rf out

# Keep objects of test binaries (otherwise deleted as intermediates).
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
