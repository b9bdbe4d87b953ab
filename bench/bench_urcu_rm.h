/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_urcu_rm.h - readmostly/urcu_<flavour>[_callrcu]/update_pct:P for
 * one flavour (private; included by bench_urcu_memb.c / _qsbr.c after
 * urcuq_flavour.h).  Same shape as readmostly/mutex in bench_mutex.c: the
 * partner on bench_cpu[1] only reads, the benchmark thread reads and
 * updates update_pct of its operations.  qsbr readers announce a quiescent
 * state every qs_every operations (the second parameter).
 */
#include "bench.h"

struct rmu_shared {
	struct urcuq_table ru_t;
	_Alignas(LWKT_CACHELINE) _Atomic int ru_stop;	/* relaxed hint */
	uint64_t ru_qs_every;		/* set before the partner starts */
	uint64_t ru_reads, ru_torn;		/* partner only until joined */
};

static void *
rmu_reader(void *p)
{
	struct rmu_shared *s = p;
	uint64_t n = 0, torn = 0, every = s->ru_qs_every;
	struct bl_entry e;

	RCU(register_thread)();
	while (!atomic_load_explicit(&s->ru_stop, memory_order_relaxed)) {
		urcuq_read(&s->ru_t, (unsigned)n & (BL_TABLE_SLOTS - 1), &e);
		torn += !bl_entry_ok(&e);
		n++;
		URCUQ_QS(n, every);
	}
	URCUQ_OFFLINE();
	RCU(unregister_thread)();
	s->ru_reads = n;
	s->ru_torn = torn;
	return NULL;
}

static void
rmu_bench(gbench_state *st, enum urcuq_reclaim how)
{
	static struct rmu_shared s;
	struct bench_thread th;
	unsigned pct = (unsigned)gbench_range_x(st, 0), acc = 0;
	/* qsbr: the quiescent-state interval is the second parameter. */
	uint64_t every = URCUQ_IS_QSBR ? (uint64_t)gbench_range_x(st, 1)
				  : URCUQ_QS_EVERY;

	if (!bench_need_two_cpus(st))
		return;
	if (pct > 100) {
		gbench_skip_with_error(st, "update_pct must be 0..100");
		return;
	}
	if (every == 0 || (every & (every - 1)) != 0) {
		gbench_skip_with_error(st, "qs_every must be a power of two");
		return;
	}
	s.ru_qs_every = every;
	if (urcuq_table_init(&s.ru_t)) {
		gbench_skip_with_error(st, "out of memory");
		return;
	}
	atomic_store(&s.ru_stop, 0);
	s.ru_reads = s.ru_torn = 0;
	if (bench_thread_start(&th, bench_cpu[1], rmu_reader, &s) != 0) {
		urcuq_table_fini(&s.ru_t);
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	RCU(register_thread)();
	uint64_t i = 0, reads = 0, updates = 0, torn = 0, nomem = 0;
	uint64_t cb0 = atomic_load(&urcuq_cb_done);
	struct bl_entry e;
	GBENCH_LOOP(st) {
		unsigned slot = (unsigned)(i * 7) & (BL_TABLE_SLOTS - 1);
		if (bl_update_due(&acc, pct)) {
			nomem += urcuq_update(&s.ru_t, slot, ++updates, how) != 0;
		} else {
			urcuq_read(&s.ru_t, slot, &e);
			torn += !bl_entry_ok(&e);
			reads++;
		}
		i++;
		URCUQ_QS(i, every);
	}
	atomic_store_explicit(&s.ru_stop, 1, memory_order_relaxed);
	int pin = bench_thread_join(&th);
	URCUQ_OFFLINE();
	if (how == URCUQ_CALL_RCU)	/* every old entry freed */
		urcuq_wait_callbacks(cb0 + updates - nomem);
	URCUQ_ONLINE();
	RCU(unregister_thread)();
	urcuq_table_fini(&s.ru_t);
	bench_rm_report(st, pin ? "cannot pin the reader thread" :
			nomem ? "out of memory during updates" :
			torn || s.ru_torn ? "a reader saw a torn entry" : NULL,
			reads + s.ru_reads, updates, i);
}

static void rmu_sync(gbench_state *st) { rmu_bench(st, URCUQ_SYNC); }
static void rmu_callrcu(gbench_state *st) { rmu_bench(st, URCUQ_CALL_RCU); }
#if URCUQ_IS_QSBR
/* qs_every:64 is the default (see URCUQ_QS); 1024, liburcu's own count of
 * bare-pointer reads, shows what a too-rare quiescent state costs.
 * update_pct:100 is the shape of liburcu's test_urcu_qsbr with one reader
 * and one writer (the benchmark thread only updates): compare with it. */
#define RMU_ARGS(f)							\
	gbench_arg_names2(f, "update_pct", "qs_every"),			\
	gbench_args2(f, 0, URCUQ_QS_EVERY), gbench_args2(f, 1, URCUQ_QS_EVERY),\
	gbench_args2(f, 10, URCUQ_QS_EVERY),				\
	gbench_args2(f, 100, URCUQ_QS_EVERY), gbench_args2(f, 1, 1024),	\
	gbench_args2(f, 10, 1024), gbench_args2(f, 100, 1024)
#else
#define RMU_ARGS(f)							\
	gbench_arg_name(f, "update_pct"), gbench_arg(f, 0),		\
	gbench_arg(f, 1), gbench_arg(f, 10)
#endif
GBENCH_REGISTER(rmu_sync, "readmostly/" RMU_NAME, gbench_use_real_time(f),
		RMU_ARGS(f))
GBENCH_REGISTER(rmu_callrcu, "readmostly/" RMU_NAME "_callrcu",
		gbench_use_real_time(f), RMU_ARGS(f))
