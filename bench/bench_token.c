/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_token.c - LWKT tokens, both designs, against pthread mutexes in
 * the same run:
 *   token/cpu_owned_local            get+rel on the owning cpu (no locked
 *   token/atomic_local               instruction) vs one CAS + one RMW
 *   token/pthread_mutex_uncontended  vs lock+unlock, one thread
 *   token/cpu_owned_remote           cpu 1 hammers the token too: nearly
 *                                    every get on cpu 0 is a foreign
 *                                    request (IPI) and a transfer
 *   token/atomic_contended           both cpus hammer one atomic token
 *   token/pthread_mutex_contended    both cpus hammer one mutex
 *   token/{cpu_owned,atomic,pthread_mutex}_mix90
 *                                    9 in 10 acquisitions of a token only
 *                                    cpu 0 uses, 1 in 10 of one that cpu 1
 *                                    hammers (seed 001: "most locks hit
 *                                    the same-cpu case")
 * Time per acquisition+release of the benchmark thread on cpu 0 (real
 * time); counters: transfers, requests, contended per iteration.
 * lwkt_gettoken/lwkt_reltoken are what users get: the owner cpu's get and
 * release inline (lwkt/token_inline.h), the rest calls.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench_lwkt.h"
#include "lwkt/arch.h"
#include "lwkt/thread.h"
#include "lwkt/token.h"

#define MIX_LOCAL 9		/* local acquisitions per foreign one */

struct tok_ctx {
	gbench_state *st;
	struct lwkt_token local;	/* used by cpu 0 only */
	struct lwkt_token shared;	/* used by both cpus */
	bool mix;			/* mix90 shape, else `shared` only */
	uint64_t data_local, data_shared;	/* protected by the tokens */
	_Atomic int stop;
	_Atomic int partner_up;
	_Atomic uint64_t partner_got;
};

static void
partner(void *arg)
{
	struct tok_ctx *c = arg;
	uint64_t n = 0;
	atomic_store(&c->partner_up, 1);
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		lwkt_gettoken(&c->shared);
		c->data_shared++;
		lwkt_reltoken(&c->shared);
		n++;
	}
	atomic_store(&c->partner_got, n);
}

static void
bencher(void *arg)
{
	struct tok_ctx *c = arg;
	unsigned k = 0;
	while (!atomic_load(&c->partner_up))
		lwkt_yield();
	GBENCH_LOOP(c->st) {
		struct lwkt_token *t = &c->shared;
		uint64_t *d = &c->data_shared;
		if (c->mix) {
			if (++k <= MIX_LOCAL) {
				t = &c->local;
				d = &c->data_local;
			} else {
				k = 0;
			}
		}
		lwkt_gettoken(t);
		(*d)++;
		lwkt_reltoken(t);
	}
	atomic_store(&c->stop, 1);
}

/* The measured loop of token/cpu_owned_local and atomic_local.  Its name
 * is looked up by bench/tests/test_token_loop.c, which checks that it has
 * no locked instruction (cpu-owned get/release inline). */
static void
tok_local_bencher(void *arg)
{
	struct tok_ctx *c = arg;
	GBENCH_LOOP(c->st) {
		lwkt_gettoken(&c->local);
		c->data_local++;
		lwkt_reltoken(&c->local);
	}
	gbench_escape(&c->data_local);
}

/*
 * TEST ONLY: LWKT_BENCH_TEST_PLANTED_SLOWDOWN=N (read once at start-up,
 * never set by default) adds N compiler-opaque steps inside every
 * token/cpu_owned_local acquisition, so the report's tests can check a
 * known slowdown is flagged SLOWER on the right benchmark.  Its own loop:
 * the default loop above stays untouched.
 */
static unsigned planted_slowdown;

__attribute__((constructor)) static void
planted_slowdown_init(void)
{
	const char *s = getenv("LWKT_BENCH_TEST_PLANTED_SLOWDOWN");
	planted_slowdown = s != NULL ? (unsigned)strtoul(s, NULL, 10) : 0;
}

static void
local_bencher_planted(void *arg)
{
	struct tok_ctx *c = arg;
	GBENCH_LOOP(c->st) {
		lwkt_gettoken(&c->local);
		for (unsigned i = 0; i < planted_slowdown; i++)
			gbench_clobber();
		c->data_local++;
		lwkt_reltoken(&c->local);
	}
	gbench_escape(&c->data_local);
}

static void
report_tokens(gbench_state *st, const struct lwkt_token_stats *a)
{
	struct lwkt_token_stats b;
	lwkt_token_stats(&b);
	const uint32_t per_iter = GBENCH_CTR_AVG_ITERATIONS;
	gbench_counter(st, "transfers",
		       (double)(b.lts_transfers - a->lts_transfers), per_iter);
	gbench_counter(st, "requests",
		       (double)(b.lts_requests - a->lts_requests), per_iter);
	gbench_counter(st, "contended",
		       (double)(b.lts_contended - a->lts_contended), per_iter);
}

static void
run_local(gbench_state *st, enum lwkt_token_design d)
{
	struct tok_ctx c = {.st = st};
	struct lwkt_token_stats a;
	if (!bench_lwkt_start(st, NULL))
		return;
	lwkt_token_init(&c.local, d, "local");	/* owned by cpu 0 */
	lwkt_token_stats(&a);
	bool ok = bench_lwkt_run_on(st, 0, planted_slowdown != 0 &&
				    d == LWKT_TOKEN_CPU_OWNED ?
				    local_bencher_planted : tok_local_bencher, &c);
	report_tokens(st, &a);
	bench_lwkt_stop(st);
	if (ok && c.data_local != (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost an acquisition");
	gbench_set_items_processed(st, gbench_iterations_done(st));
}

static void
run_shared(gbench_state *st, enum lwkt_token_design d, bool mix)
{
	struct tok_ctx c = {.st = st, .mix = mix};
	struct lwkt_token_stats a;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 1000000000;	/* waiting cpus poll */
	if (!bench_lwkt_start(st, &cfg))
		return;
	lwkt_token_init(&c.local, d, "local");
	lwkt_token_init(&c.shared, d, "shared");
	lwkt_thread_t p;
	if (lwkt_create(partner, &c, 1, 0, &p, "partner") != 0) {
		gbench_skip_with_error(st, "lwkt_create failed");
		lwkt_shutdown();
		return;
	}
	lwkt_token_stats(&a);
	bool ok = bench_lwkt_run_on(st, 0, bencher, &c);
	lwkt_join(p);
	report_tokens(st, &a);
	bench_lwkt_stop(st);
	uint64_t n = (uint64_t)gbench_iterations_done(st);
	uint64_t want_local = mix ? n - n / (MIX_LOCAL + 1) : 0;
	if (ok && (c.data_local != want_local ||
		   c.data_shared != n - want_local +
		   atomic_load(&c.partner_got)))
		gbench_skip_with_error(st, "lost an acquisition");
	gbench_counter(st, "partner_share",
		       (double)atomic_load(&c.partner_got) /
		       (double)(c.data_shared ? c.data_shared : 1),
		       GBENCH_CTR_DEFAULT);
	gbench_set_items_processed(st, (int64_t)n);
}

static void
bm_cpu_owned_local(gbench_state *st)
{
	run_local(st, LWKT_TOKEN_CPU_OWNED);
}
GBENCH_REGISTER(bm_cpu_owned_local, "token/cpu_owned_local",
		gbench_use_real_time(f))

static void
bm_atomic_local(gbench_state *st)
{
	run_local(st, LWKT_TOKEN_ATOMIC);
}
GBENCH_REGISTER(bm_atomic_local, "token/atomic_local",
		gbench_use_real_time(f))

static void
bm_cpu_owned_remote(gbench_state *st)
{
	run_shared(st, LWKT_TOKEN_CPU_OWNED, false);
}
GBENCH_REGISTER(bm_cpu_owned_remote, "token/cpu_owned_remote",
		gbench_use_real_time(f))

static void
bm_atomic_contended(gbench_state *st)
{
	run_shared(st, LWKT_TOKEN_ATOMIC, false);
}
GBENCH_REGISTER(bm_atomic_contended, "token/atomic_contended",
		gbench_use_real_time(f))

static void
bm_cpu_owned_mix90(gbench_state *st)
{
	run_shared(st, LWKT_TOKEN_CPU_OWNED, true);
}
GBENCH_REGISTER(bm_cpu_owned_mix90, "token/cpu_owned_mix90",
		gbench_use_real_time(f))

static void
bm_atomic_mix90(gbench_state *st)
{
	run_shared(st, LWKT_TOKEN_ATOMIC, true);
}
GBENCH_REGISTER(bm_atomic_mix90, "token/atomic_mix90",
		gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* pthread mutex, same shapes: the benchmark thread is main (pinned on
 * bench_cpu[0]), the partner a pinned host thread on bench_cpu[1]. */

struct mtx_ctx {
	pthread_mutex_t local, shared;
	uint64_t data_local, data_shared;	/* protected by the mutexes */
	_Atomic int stop, up;
	uint64_t partner_got;			/* partner only, read after join */
};

static void *
mtx_partner(void *arg)
{
	struct mtx_ctx *c = arg;
	uint64_t n = 0;
	atomic_store(&c->up, 1);
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		pthread_mutex_lock(&c->shared);
		c->data_shared++;
		pthread_mutex_unlock(&c->shared);
		n++;
	}
	c->partner_got = n;
	return NULL;
}

static void
bm_mutex_uncontended(gbench_state *st)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	uint64_t d = 0;
	GBENCH_LOOP(st) {
		pthread_mutex_lock(&m);
		d++;
		gbench_escape(&d);
		pthread_mutex_unlock(&m);
	}
	if (d != (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost an acquisition");
	gbench_set_items_processed(st, gbench_iterations_done(st));
}
GBENCH_REGISTER(bm_mutex_uncontended, "token/pthread_mutex_uncontended",
		gbench_use_real_time(f))

static void
run_mutex_shared(gbench_state *st, bool mix)
{
	struct mtx_ctx c = {.local = PTHREAD_MUTEX_INITIALIZER,
			    .shared = PTHREAD_MUTEX_INITIALIZER};
	struct bench_thread t;
	unsigned k = 0;
	if (!bench_need_two_cpus(st))
		return;
	if (bench_thread_start(&t, bench_cpu[1], mtx_partner, &c) != 0) {
		gbench_skip_with_error(st, "cannot start the partner");
		return;
	}
	while (!atomic_load(&c.up))
		lwkt_cpu_relax();
	GBENCH_LOOP(st) {
		pthread_mutex_t *m = &c.shared;
		uint64_t *d = &c.data_shared;
		if (mix) {
			if (++k <= MIX_LOCAL) {
				m = &c.local;
				d = &c.data_local;
			} else {
				k = 0;
			}
		}
		pthread_mutex_lock(m);
		(*d)++;
		pthread_mutex_unlock(m);
	}
	atomic_store(&c.stop, 1);
	int pin = bench_thread_join(&t);
	uint64_t n = (uint64_t)gbench_iterations_done(st);
	uint64_t want_local = mix ? n - n / (MIX_LOCAL + 1) : 0;
	if (pin != 0)
		gbench_skip_with_error(st, "partner not pinned");
	else if (c.data_local != want_local ||
		 c.data_shared != n - want_local + c.partner_got)
		gbench_skip_with_error(st, "lost an acquisition");
	gbench_counter(st, "partner_share",
		       (double)c.partner_got /
		       (double)(c.data_shared ? c.data_shared : 1),
		       GBENCH_CTR_DEFAULT);
	gbench_set_items_processed(st, (int64_t)n);
}

static void
bm_mutex_contended(gbench_state *st)
{
	run_mutex_shared(st, false);
}
GBENCH_REGISTER(bm_mutex_contended, "token/pthread_mutex_contended",
		gbench_use_real_time(f))

static void
bm_mutex_mix90(gbench_state *st)
{
	run_mutex_shared(st, true);
}
GBENCH_REGISTER(bm_mutex_mix90, "token/pthread_mutex_mix90",
		gbench_use_real_time(f))
