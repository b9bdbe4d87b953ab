/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_util.c - pinned helper threads for the benchmark families. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lwkt/topo.h"

unsigned bench_cpu[2];
unsigned bench_ncpus;

static void *
bench_thread_trampoline(void *p)
{
	struct bench_thread *t = p;
	t->bt_bind_err = lwkt_topo_bind_self(t->bt_pu);
	return t->bt_fn(t->bt_arg);
}

int
bench_thread_start(struct bench_thread *t, unsigned pu, void *(*fn)(void *),
		   void *arg)
{
	t->bt_fn = fn;
	t->bt_arg = arg;
	t->bt_pu = pu;
	t->bt_bind_err = 0;
	return pthread_create(&t->bt_tid, NULL, bench_thread_trampoline, t);
}

int
bench_thread_join(struct bench_thread *t)
{
	pthread_join(t->bt_tid, NULL);
	return t->bt_bind_err;
}

bool
bench_need_two_cpus(gbench_state *st)
{
	if (bench_ncpus >= 2)
		return true;
	gbench_skip_with_error(st, "needs two PUs (--cpus=A,B); this host "
			       "has one");
	return false;
}

bool
bench_pin_self(gbench_state *st, unsigned pu)
{
	int e = lwkt_topo_bind_self(pu);
	if (e == 0)
		return true;
	char msg[128];
	snprintf(msg, sizeof msg, "cannot bind to PU %u: %s", pu, strerror(e));
	gbench_skip_with_error(st, msg);
	return false;
}

void
bench_rm_report(gbench_state *st, const char *err, uint64_t reads,
		uint64_t updates, uint64_t items)
{
	if (err) {
		gbench_skip_with_error(st, err);
		return;
	}
	gbench_counter(st, "reads", (double)reads, GBENCH_CTR_RATE);
	gbench_counter(st, "updates", (double)updates, GBENCH_CTR_RATE);
	gbench_set_items_processed(st, (int64_t)items);
}
