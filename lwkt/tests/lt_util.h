/* SPDX-License-Identifier: BSD-3-Clause */
/* lt_util.h - helpers for the runtime tests: start a 2-cpu runtime, wait
 * for a counter from outside LWKT, compare a README example with its
 * test copy. */
#ifndef LWKT_TESTS_LT_UTIL_H
#define LWKT_TESTS_LT_UTIL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Reads a repository file (tests run from the repository root). */
static inline char *
lt_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		ck_abort_msg("cannot open %s (tests run from the repository "
			     "root): %s", path, strerror(errno));
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Fails unless lwkt/README.md holds `copy` (a test header, e.g.
 * "lwkt/tests/test_netisr_readme.h") byte for byte in the fenced C block
 * after its marker line "<!-- example: COPY -->".  `what` names the
 * example in the failure message. */
static inline void
lt_readme_matches(const char *what, const char *copy)
{
	char marker[256];
	snprintf(marker, sizeof marker, "<!-- example: %s -->\n```c\n", copy);
	char *readme = lt_slurp("lwkt/README.md");
	char *text = lt_slurp(copy);
	char *start = strstr(readme, marker);
	ck_assert_msg(start != NULL, "lwkt/README.md lacks the marker %s",
		      marker);
	start += strlen(marker);
	char *end = strstr(start, "```\n");
	ck_assert(end != NULL);
	*end = '\0';
	ck_assert_msg(strcmp(start, text) == 0, "the %s example in "
		      "lwkt/README.md differs from %s: keep them identical",
		      what, copy);
	free(readme);
	free(text);
}

#endif
