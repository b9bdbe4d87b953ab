# SPDX-License-Identifier: BSD-3-Clause
# The Promela models of the LWKT idle/wake protocol and of the idle loop
# under hard IPIs, checked with
# Debian's spin by lwkt/model/run-model; included by lwkt/module.mk.
# One run of "make check" runs it once (EXTRA_CHECKS, not per build):
# the correct protocols must hold, the ones with a barrier removed must
# give spin's counterexample.  Outputs and trails: build/model/<check>/.
EXTRA_CHECKS += model-check
# spin, gcc and pan only compute: it may run beside the other such checks.
EXTRA_CHECKS_CPU += model-check

.PHONY: model-check
model-check:
	lwkt/model/run-model build/model
