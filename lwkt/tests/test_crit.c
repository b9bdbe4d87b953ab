/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_crit.c - critical sections and hard IPIs: a signal that finds the
 * interrupted thread inside a critical section leaves its IPIs in the
 * rings, so the exit of every critical section the runtime opens for
 * itself must run them, or a thread that never yields keeps a cpusync
 * waiting forever.  These tests loop such threads on runtime calls that
 * open short internal critical sections (lwkt_schedule, the cpu-owned
 * token fast path, a send to a local port) while another cpu cross-calls
 * them with lwkt_cpusync many times; a lost IPI hangs the test and its
 * timeout fails it.
 */
#include <stdio.h>

#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/msgport.h"
#include "lwkt/thread.h"
#include "lwkt/token.h"
#include "lt_util.h"

#define ROUNDS 3000

enum loop_kind { LOOP_SCHEDULE, LOOP_TOKEN, LOOP_SPINPORT };

static struct {
	enum loop_kind kind;
	_Atomic int stop, started, bad;
	_Atomic uint64_t syncs_ran;
	lwkt_thread_t peer;
	struct lwkt_token tok;
	struct lwkt_port port;
	struct lwkt_msg msg;
} hl;

static void
count_sync(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_fetch_add_explicit(&hl.syncs_ran, 1, memory_order_relaxed);
}

static void
peer_fn(void *arg)
{
	(void)arg;
	/* Runs only once the looper is done (same cpu, never yields). */
}

/* Never yields, never calls crit_enter itself: only the runtime's own
 * short critical sections, back to back. */
static void
looper(void *arg)
{
	(void)arg;
	if (hl.kind == LOOP_TOKEN)
		lwkt_token_init(&hl.tok, LWKT_TOKEN_CPU_OWNED, "looped");
	if (hl.kind == LOOP_SPINPORT)
		lwkt_initport_spin(&hl.port);
	atomic_store(&hl.started, 1);
	while (!atomic_load_explicit(&hl.stop, memory_order_relaxed)) {
		switch (hl.kind) {
		case LOOP_SCHEDULE:
			lwkt_schedule(hl.peer);
			break;
		case LOOP_TOKEN:
			lwkt_gettoken(&hl.tok);
			lwkt_reltoken(&hl.tok);
			break;
		case LOOP_SPINPORT:
			lwkt_initmsg(&hl.msg, &hl.port, 0);
			lwkt_sendmsg(&hl.port, &hl.msg);
			/* No ck_assert in the loop: each passing one writes
			 * to Check's pipe, which fills up. */
			if (lwkt_getport(&hl.port) != &hl.msg)
				atomic_store(&hl.bad, 1);
			lwkt_replymsg(&hl.msg, 0);
			if (lwkt_getport(&hl.port) != &hl.msg)
				atomic_store(&hl.bad, 1);
			break;
		}
	}
}

static void
syncer(void *arg)
{
	(void)arg;
	while (!atomic_load(&hl.started))
		lwkt_yield();
	for (int i = 0; i < ROUNDS; i++)
		if (lwkt_cpusync(1ull << 1, count_sync, NULL) != 0)
			atomic_store(&hl.bad, 1);
	atomic_store(&hl.stop, 1);
}

static void
run_hard_loop(enum loop_kind kind, const char *name)
{
	if (lwkt_topo_npus() < 2) {
		printf("SKIPPED: crit/%s: needs 2 PUs (cross-cpu hard IPIs)\n",
		       name);
		return;
	}
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_hard_ipi = true;
	ck_assert_int_eq(lt_start(&cfg), 2);
	hl.kind = kind;
	lwkt_thread_t lt, st;
	ck_assert_int_eq(lwkt_create(peer_fn, NULL, 1, 0, &hl.peer, "peer"),
			 0);
	ck_assert_int_eq(lwkt_create(looper, NULL, 1, 0, &lt, "looper"), 0);
	ck_assert_int_eq(lwkt_create(syncer, NULL, 0, 0, &st, "syncer"), 0);
	ck_assert_int_eq(lwkt_join(st), 0);
	ck_assert_int_eq(lwkt_join(lt), 0);
	ck_assert_int_eq(lwkt_join(hl.peer), 0);
	ck_assert_uint_eq(atomic_load(&hl.syncs_ran), ROUNDS);
	ck_assert_int_eq(atomic_load(&hl.bad), 0);
	struct lwkt_stats s0;
	lwkt_stats(0, &s0);
	/* The looper never polls by itself: the signals delivered them. */
	ck_assert_uint_gt(s0.ls_signals_sent, 0);
	lwkt_shutdown();
}

START_TEST(t_hard_cpusync_vs_schedule_loop)
{
	run_hard_loop(LOOP_SCHEDULE, "t_hard_cpusync_vs_schedule_loop");
}
END_TEST

START_TEST(t_hard_cpusync_vs_token_loop)
{
	run_hard_loop(LOOP_TOKEN, "t_hard_cpusync_vs_token_loop");
}
END_TEST

START_TEST(t_hard_cpusync_vs_spinport_loop)
{
	run_hard_loop(LOOP_SPINPORT, "t_hard_cpusync_vs_spinport_loop");
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "crit", 60);
	tcase_add_test(tc, t_hard_cpusync_vs_schedule_loop);
	tcase_add_test(tc, t_hard_cpusync_vs_token_loop);
	tcase_add_test(tc, t_hard_cpusync_vs_spinport_loop);
}
LTEST_MAIN("crit", add)
