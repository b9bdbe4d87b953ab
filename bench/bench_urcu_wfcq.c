/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_urcu_wfcq.c - roundtrip/urcu_wfcq and stream/urcu_wfcq: messages
 * over liburcu's wait-free queue, receivers woken by futex after a spin
 * (urcuq_wfcq_*).  Same shape and checks as the mutexq benchmarks.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"
#include "bl_futex.h"
#include "urcuq.h"

/* ---------------------------------------------------------------------- */
/* roundtrip: one node each way, reused once its trip is complete. */
struct wrt {
	struct urcuq_wfcq wr_ping, wr_pong;
	struct urcuq_msg wr_ping_m, wr_pong_m;
	uint64_t wr_bad;		/* partner only until joined */
};

#define WRT_STOP UINT64_MAX

static void *
wrt_partner(void *p)
{
	struct wrt *w = p;
	uint64_t expect = 0;

	for (;;) {
		uint64_t v = urcuq_wfcq_recv(&w->wr_ping)->um_val;
		if (v == WRT_STOP)
			break;
		w->wr_bad += v != expect;
		expect = v + 1;
		/* The pong node is free: its previous trip ended before
		 * this ping was sent. */
		w->wr_pong_m.um_val = v;
		urcuq_wfcq_send(&w->wr_pong, &w->wr_pong_m);
	}
	return NULL;
}

static void
bm_wfcq_roundtrip(gbench_state *st)
{
	static struct wrt w;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	urcuq_wfcq_init(&w.wr_ping, BL_SPIN_NS_DEFAULT);
	urcuq_wfcq_init(&w.wr_pong, BL_SPIN_NS_DEFAULT);
	w.wr_bad = 0;
	if (bench_thread_start(&t, bench_cpu[1], wrt_partner, &w) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint64_t seq = 0, bad = 0;
	GBENCH_LOOP(st) {
		w.wr_ping_m.um_val = seq;
		urcuq_wfcq_send(&w.wr_ping, &w.wr_ping_m);
		struct urcuq_msg *m = urcuq_wfcq_recv(&w.wr_pong);
		bad += m != &w.wr_pong_m || m->um_val != seq;
		seq++;
	}
	w.wr_ping_m.um_val = WRT_STOP;
	urcuq_wfcq_send(&w.wr_ping, &w.wr_ping_m);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the partner thread");
	else if (bad || w.wr_bad || seq != (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost or reordered a round trip");
	gbench_counter(st, "futex_wakes",
		       (double)(atomic_load(&w.wr_ping.wq_wakes) +
				atomic_load(&w.wr_pong.wq_wakes)),
		       GBENCH_CTR_DEFAULT);
	urcuq_wfcq_destroy(&w.wr_ping);
	urcuq_wfcq_destroy(&w.wr_pong);
}
GBENCH_REGISTER(bm_wfcq_roundtrip, "roundtrip/urcu_wfcq", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* stream: a pool of WST_POOL nodes; node i % WST_POOL is reused only once
 * the consumer has released it (ws_done, release by the consumer after it
 * read the node, acquire by the producer before rewriting it) - the same
 * bound as the SPSC floor's ring. */
#define WST_POOL 1024u
#define WST_STOP (1ull << 63)

struct wst {
	struct urcuq_wfcq ws_q;
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t ws_done;	/* consumer */
	uint64_t ws_sum, ws_n, ws_bad;		/* consumer until joined */
	struct urcuq_msg ws_pool[WST_POOL];
};

static void *
wst_consumer(void *p)
{
	struct wst *w = p;
	uint64_t expect = 0, sum = 0;

	for (;;) {
		uint64_t v = urcuq_wfcq_recv(&w->ws_q)->um_val;
		if (v & WST_STOP)
			break;
		w->ws_bad += v != expect;
		expect = v + 1;
		sum += v;
		atomic_store_explicit(&w->ws_done, expect,
				      memory_order_release);
	}
	w->ws_sum = sum;
	w->ws_n = expect;
	return NULL;
}

static void
bm_wfcq_stream(gbench_state *st)
{
	struct wst *w;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	w = aligned_alloc(LWKT_CACHELINE, sizeof *w);
	if (w == NULL) {
		gbench_skip_with_error(st, "out of memory");
		return;
	}
	urcuq_wfcq_init(&w->ws_q, BL_SPIN_NS_DEFAULT);
	atomic_init(&w->ws_done, 0);
	w->ws_sum = w->ws_n = w->ws_bad = 0;
	if (bench_thread_start(&t, bench_cpu[1], wst_consumer, w) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		free(w);
		return;
	}
	uint64_t seq = 0, sum = 0, done = 0;
	GBENCH_LOOP(st) {
		if (seq - done == WST_POOL) {
			while ((done = atomic_load_explicit(
				    &w->ws_done, memory_order_acquire)) ==
			       seq - WST_POOL)
				lwkt_cpu_relax();
		}
		struct urcuq_msg *m = &w->ws_pool[seq & (WST_POOL - 1)];
		m->um_val = seq;
		urcuq_wfcq_send(&w->ws_q, m);
		sum += seq;
		seq++;
	}
	/* The stop message needs a free node too. */
	while (seq - atomic_load_explicit(&w->ws_done, memory_order_acquire) >=
	       WST_POOL)
		lwkt_cpu_relax();
	struct urcuq_msg *m = &w->ws_pool[seq & (WST_POOL - 1)];
	m->um_val = WST_STOP | seq;
	urcuq_wfcq_send(&w->ws_q, m);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the consumer thread");
	else if (w->ws_bad || w->ws_sum != sum || w->ws_n != seq)
		gbench_skip_with_error(st, "consumer checksum mismatch");
	else
		gbench_set_items_processed(st, (int64_t)seq);
	urcuq_wfcq_destroy(&w->ws_q);
	free(w);
}
GBENCH_REGISTER(bm_wfcq_stream, "stream/urcu_wfcq", gbench_use_real_time(f))
