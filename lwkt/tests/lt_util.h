/* SPDX-License-Identifier: BSD-3-Clause */
/* lt_util.h - helpers for the runtime tests: start a 2-cpu runtime, wait
 * for a counter from outside LWKT. */
#ifndef LWKT_TESTS_LT_UTIL_H
#define LWKT_TESTS_LT_UTIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "lwkt/arch.h"
#include "lwkt/cpu.h"
#include "lwkt/topo.h"
#include "ltest.h"

/* Starts 2 cpus on the first two allowed PUs (1 on a one-PU host; the
 * cross-cpu tests then skip with LT_NEED_CPUS).  Returns the count. */
static inline int
lt_start(struct lwkt_config *cfg)
{
	struct lwkt_config def;
	if (cfg == NULL) {
		lwkt_config_default(&def);
		cfg = &def;
	}
	if (cfg->lc_cpus == NULL || cfg->lc_cpus[0] == 'a')
		cfg->lc_cpus = lwkt_topo_npus() >= 2 ? "count=2" : "count=1";
	int e = lwkt_init(cfg);
	ck_assert_int_eq(e, 0);
	return lwkt_ncpus();
}

/* Skips the running test, after stopping the runtime, unless `ncpu`
 * (lt_start's result) reaches `want`: a one-PU host, a one-PU cpuset or
 * LWKT_CPUS=0 leaves cross-cpu tests nothing to test. */
#define LT_NEED_CPUS(ncpu, want)					\
	do {								\
		int lt_n_ = (ncpu);					\
		if (lt_n_ < (want)) {					\
			lwkt_shutdown();				\
			LTEST_SKIP("needs %d cpus, %d started (one PU, "	\
				   "a cpuset or LWKT_CPUS)", (want), lt_n_); \
		}							\
	} while (0)

/* Waits (outside LWKT) until *c >= want. */
static inline void
lt_wait_u64(_Atomic uint64_t *c, uint64_t want)
{
	while (atomic_load_explicit(c, memory_order_acquire) < want) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
}

#endif
