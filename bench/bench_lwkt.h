/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_lwkt.h - running a benchmark loop inside the LWKT runtime.
 *
 * google-benchmark calls the benchmark function on the main thread; the
 * loop itself must run in an LWKT thread (IPIs are sent from cpus, not
 * from outside).  The state is only a pointer: the LWKT thread runs
 * GBENCH_LOOP on it while main waits in lwkt_join.  Runtime start-up,
 * thread creation and shutdown all happen outside the timed loop.
 */
#ifndef LWKT_BENCH_LWKT_H
#define LWKT_BENCH_LWKT_H

#include <stdbool.h>

#include "bench.h"
#include "lwkt/cpu.h"
#include "lwkt/thread.h"

/* Starts two cpus on bench_cpu[0] (cpu 0) and bench_cpu[1] (cpu 1), with
 * cfg's other settings (NULL = defaults).  false: skipped with the reason. */
bool bench_lwkt_start(gbench_state *st, const struct lwkt_config *cfg);

/* Runs fn(arg) in a new LWKT thread on cpu and waits for it to end. */
bool bench_lwkt_run_on(gbench_state *st, int cpu, lwkt_thread_fn fn,
		       void *arg);

/* Reports both cpus' lwkt_stats as counters (per iteration), then shuts
 * the runtime down. */
void bench_lwkt_stop(gbench_state *st);

#endif /* LWKT_BENCH_LWKT_H */
