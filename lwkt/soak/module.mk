# SPDX-License-Identifier: BSD-3-Clause
# lwkt/soak/: lwkt-soak, a long mixed workload that checks the runtime
# while it runs (lwkt/README.md, "Soak").  Included by the top Makefile.
#
#   make soak [SOAK_ARGS='-d 3m -r 4 --storm'] [SAN=address|thread]
#   make soak-check | soak-check-asan | soak-check-tsan   (in make check)

SOAK_BIN := $(B)/lwkt-soak
$(SOAK_BIN): $(B)/lwkt/soak/soak.o $(B)/lwkt/soak/soak_actors.o $(B)/liblwkt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LWKT_LIBS)
ALL_TARGETS += $(SOAK_BIN)

SOAK_ARGS ?=
# The sanitizers' options as the test runner sets them.
SOAK_ENV := TSAN_OPTIONS="$$TSAN_OPTIONS halt_on_error=1 suppressions=$(CURDIR)/ci/tsan.supp" \
	UBSAN_OPTIONS="$$UBSAN_OPTIONS print_stacktrace=1 halt_on_error=1"
.PHONY: soak soak-check soak-check-asan soak-check-tsan
soak: $(SOAK_BIN)
	$(SOAK_ENV) $(SOAK_BIN) $(SOAK_ARGS)

# Bounded soaks (make check): the cycle and the planted faults in the
# normal build (about 50 s on 2 PUs), two short runs in each sanitizer
# build (built here when make check has not built them already).
soak-check: $(SOAK_BIN)
	lwkt/soak/soak-check $(SOAK_BIN)
soak-check-asan:
	$(MAKE) --no-print-directory SAN=address build-asan/lwkt-soak
	lwkt/soak/soak-check --short build-asan/lwkt-soak
soak-check-tsan:
	$(MAKE) --no-print-directory SAN=thread build-tsan/lwkt-soak
	lwkt/soak/soak-check --short build-tsan/lwkt-soak
EXTRA_CHECKS += soak-check soak-check-asan soak-check-tsan
