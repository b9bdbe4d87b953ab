/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_lwkt.c - the runtime core against the floors of the same run:
 *   roundtrip/lwkt_ipi            polled IPI round trip  vs floor_cacheline
 *   roundtrip/lwkt_ipi_idle/fence both sides asleep      vs floor_futex
 *   stream/lwkt_ipi               one-way IPIs           vs floor_spsc
 *   switch/lwkt_thread            same-cpu thread switch vs call/floor_indirect
 */
#include <stdatomic.h>
#include <stdio.h>

#include "bench_lwkt.h"
#include "lwkt/crit.h"
#include "lwkt/ipiq.h"

bool
bench_lwkt_start(gbench_state *st, const struct lwkt_config *cfg)
{
	struct lwkt_config c;
	char cpus[32];

	if (!bench_need_two_cpus(st))
		return false;
	if (cfg)
		c = *cfg;
	else
		lwkt_config_default(&c);
	snprintf(cpus, sizeof cpus, "%u,%u", bench_cpu[0], bench_cpu[1]);
	c.lc_cpus = cpus;
	if (lwkt_init(&c) != 0) {
		gbench_skip_with_error(st, "lwkt_init failed (see stderr)");
		return false;
	}
	return true;
}

bool
bench_lwkt_run_on(gbench_state *st, int cpu, lwkt_thread_fn fn, void *arg)
{
	lwkt_thread_t td;
	if (lwkt_create(fn, arg, cpu, 0, &td, "bench") != 0) {
		gbench_skip_with_error(st, "lwkt_create failed");
		return false;
	}
	lwkt_join(td);
	return true;
}

void
bench_lwkt_stop(gbench_state *st)
{
	struct lwkt_stats s[2];
	lwkt_stats(0, &s[0]);
	lwkt_stats(1, &s[1]);
	lwkt_shutdown();
	const uint32_t per_iter = GBENCH_CTR_AVG_ITERATIONS;
	gbench_counter(st, "ipis", (double)(s[0].ls_ipis_sent +
					   s[1].ls_ipis_sent), per_iter);
	gbench_counter(st, "wakeups", (double)(s[0].ls_wakeups_sent +
					      s[1].ls_wakeups_sent), per_iter);
	gbench_counter(st, "wake_avoided",
		       (double)(s[0].ls_wakeups_avoided +
				s[1].ls_wakeups_avoided), per_iter);
	gbench_counter(st, "ring_full", (double)(s[0].ls_ringfull_waits +
						s[1].ls_ringfull_waits),
		       per_iter);
	gbench_counter(st, "idle_sleeps", (double)(s[0].ls_idle_sleeps +
						  s[1].ls_idle_sleeps),
		       per_iter);
}

/* ---------------------------------------------------------------------- */
/* round trips: cpu 0 sends, cpu 1's function answers with an IPI back */

struct rt_ctx {
	gbench_state *st;
	lwkt_thread_t td;	/* the pinger, to wake when it sleeps */
	bool sleep;		/* pinger blocks (idle) instead of polling */
	/* Set by pong_done, which runs on cpu 0 (the pinger's cpu) in a
	 * critical section: only cpu 0 touches it. */
	volatile int answered;
	uint64_t trips;
};

static void
pong_done(void *arg, void *unused)
{
	(void)unused;
	struct rt_ctx *c = arg;
	c->answered = 1;
	if (c->sleep)
		lwkt_schedule(c->td);
}

static void
pong(void *arg, void *unused)
{
	(void)unused;
	lwkt_send_ipiq(0, pong_done, arg);
}

static void
pinger(void *arg)
{
	struct rt_ctx *c = arg;
	c->td = lwkt_curthread();
	GBENCH_LOOP(c->st) {
		c->answered = 0;
		lwkt_send_ipiq(1, pong, c);
		if (c->sleep) {
			crit_enter();
			while (!c->answered)
				lwkt_sleep();
			crit_exit();
		} else {
			while (!c->answered)
				lwkt_ipiq_poll();
		}
		c->trips++;
	}
}

static void
run_roundtrip(gbench_state *st, struct lwkt_config *cfg, bool sleep)
{
	struct rt_ctx c = {.st = st, .sleep = sleep};
	if (!bench_lwkt_start(st, cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, pinger, &c);
	bench_lwkt_stop(st);
	if (ok && c.trips != (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost a round trip");
}

static void
bm_lwkt_ipi_roundtrip(gbench_state *st)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 1000000000;	/* the target polls */
	run_roundtrip(st, &cfg, false);
}
GBENCH_REGISTER(bm_lwkt_ipi_roundtrip, "roundtrip/lwkt_ipi",
		gbench_use_real_time(f))

static void
bm_lwkt_ipi_idle_roundtrip(gbench_state *st)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 0;		/* both sides sleep at once */
	cfg.lc_fence = gbench_range_x(st, 0) ? LWKT_FENCE_SYMMETRIC
					     : LWKT_FENCE_ASYMMETRIC;
	run_roundtrip(st, &cfg, true);
}
GBENCH_REGISTER(bm_lwkt_ipi_idle_roundtrip, "roundtrip/lwkt_ipi_idle",
		gbench_arg_name(f, "fence_symmetric"), gbench_arg(f, 0),
		gbench_arg(f, 1), gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* stream: one-way IPIs, cpu 0 -> cpu 1, checksummed on arrival */

struct stream_ctx {
	gbench_state *st;
	uint64_t sent, sent_sum;	/* cpu 0 only */
	/* cpu 1's fields on their own line: no false sharing with cpu 0 */
	_Alignas(64) uint64_t got_sum;	/* cpu 1 only */
	_Atomic uint64_t got;		/* cpu 1 stores, cpu 0 reads after */
};

static void
stream_recv(void *a1, void *a2)
{
	struct stream_ctx *c = a2;
	c->got_sum += (uint64_t)(uintptr_t)a1;
	atomic_store_explicit(&c->got, atomic_load_explicit(
			      &c->got, memory_order_relaxed) + 1,
			      memory_order_release);
}

static void
streamer(void *arg)
{
	struct stream_ctx *c = arg;
	uint64_t i = 0;
	GBENCH_LOOP(c->st) {
		lwkt_send_ipiq2(1, stream_recv, (void *)(uintptr_t)i, c);
		c->sent_sum += i++;
	}
	c->sent = i;
	/* After the timer stopped: wait for the tail to land. */
	while (atomic_load_explicit(&c->got, memory_order_acquire) < i)
		lwkt_ipiq_poll();
}

static void
bm_lwkt_ipi_stream(gbench_state *st)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 1000000000;
	struct stream_ctx c = {.st = st};
	if (!bench_lwkt_start(st, &cfg))
		return;
	bool ok = bench_lwkt_run_on(st, 0, streamer, &c);
	bench_lwkt_stop(st);
	if (!ok)
		return;
	if (c.got_sum != c.sent_sum || atomic_load(&c.got) != c.sent) {
		gbench_skip_with_error(st, "stream checksum mismatch");
		return;
	}
	gbench_set_items_processed(st, (int64_t)c.sent);
}
GBENCH_REGISTER(bm_lwkt_ipi_stream, "stream/lwkt_ipi", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* switch: two threads on cpu 0 yield to each other; an iteration is one
 * yield of the timed thread, i.e. two switches (there and back). */

struct sw_ctx {
	gbench_state *st;
	volatile int stop;	/* cpu 0 only: both threads live there */
	uint64_t partner_turns;
};

static void
sw_partner(void *arg)
{
	struct sw_ctx *c = arg;
	while (!c->stop) {
		c->partner_turns++;
		lwkt_yield();
	}
}

static void
sw_timed(void *arg)
{
	struct sw_ctx *c = arg;
	lwkt_thread_t p;
	lwkt_create(sw_partner, c, 0, 0, &p, "partner");
	lwkt_yield();	/* let the partner start: out of the timed loop */
	GBENCH_LOOP(c->st) {
		lwkt_yield();
	}
	c->stop = 1;
	lwkt_join(p);
}

static void
bm_lwkt_switch(gbench_state *st)
{
	struct sw_ctx c = {.st = st};
	if (!bench_lwkt_start(st, NULL))
		return;
	bool ok = bench_lwkt_run_on(st, 0, sw_timed, &c);
	bench_lwkt_stop(st);
	if (!ok)
		return;
	int64_t it = gbench_iterations_done(st);
	/* The partner ran once per yield (plus the start-up turn). */
	if ((int64_t)c.partner_turns < it) {
		gbench_skip_with_error(st, "yield did not switch threads");
		return;
	}
	/* Seconds per switch: invert the rate of 2 switches / iteration. */
	gbench_counter(st, "s_per_switch", 2.0 * (double)it,
		       GBENCH_CTR_RATE | GBENCH_CTR_INVERT);
}
GBENCH_REGISTER(bm_lwkt_switch, "switch/lwkt_thread", gbench_use_real_time(f))
