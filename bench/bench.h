/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h - what every benchmark family of lwkt-bench shares: the two PUs
 * chosen with --cpus, and pinned helper threads started outside the timed
 * loop.
 */
#ifndef LWKT_BENCH_BENCH_H
#define LWKT_BENCH_BENCH_H

#include <pthread.h>
#include <stdbool.h>

#include "gbench.h"

/* PU OS indices: bench_cpu[0] runs the benchmark thread (main, pinned at
 * start-up), bench_cpu[1] the partner.  bench_ncpus is 1 on a one-PU host,
 * where cross-cpu benchmarks skip with an error. */
extern unsigned bench_cpu[2];
extern unsigned bench_ncpus;

/* A host thread pinned with hwloc to one PU before it runs fn(arg). */
struct bench_thread {
	pthread_t bt_tid;
	void *(*bt_fn)(void *);
	void *bt_arg;
	unsigned bt_pu;
	int bt_bind_err;	/* written before bt_fn runs; read after join */
};

/* Starts t on PU `pu`; 0 or errno.  Pinning failure is reported at join. */
int bench_thread_start(struct bench_thread *t, unsigned pu,
		       void *(*fn)(void *), void *arg);
/* Joins; returns the pin error (0 if the thread ran where asked). */
int bench_thread_join(struct bench_thread *t);

/* Skips the benchmark with an error unless two PUs are available. */
bool bench_need_two_cpus(gbench_state *st);

/* Pins the calling thread; on failure marks st skipped and returns false. */
bool bench_pin_self(gbench_state *st, unsigned pu);

/* The end of a readmostly/ benchmark: skips it with `err` when not NULL,
 * else reports reads (both threads') and updates as rates and `items`
 * operations of the benchmark thread. */
void bench_rm_report(gbench_state *st, const char *err, uint64_t reads,
		     uint64_t updates, uint64_t items);

#endif /* LWKT_BENCH_BENCH_H */
