/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_thread.c - lightweight threads: create/switch/exit/join, priorities,
 * migration, sleep/wake-up across cpus, join from LWKT, bad input, and
 * misuse that must abort (crit_exit underflow, calls from outside LWKT).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/thread.h"
#include "lt_util.h"
/* The guard-page test arms a private test hook. */
#include "../src/lwkt_priv.h"

/* ---- create / yield / exit / join ---- */
#define PP_ROUNDS 100000
static int pp_log[2];		/* cpu 0 only: both threads live there */
static int pp_turn;

static void
pp_thread(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < PP_ROUNDS; i++) {
		/* Strict alternation proves each yield switched. */
		while (pp_turn != me)
			lwkt_yield();
		pp_log[me]++;
		pp_turn = 1 - me;
	}
}

START_TEST(t_create_yield_join)
{
	lt_start(NULL);
	lwkt_thread_t a, b;
	ck_assert_int_eq(lwkt_create(pp_thread, (void *)0, 0, 0, &a, "ping"), 0);
	ck_assert_int_eq(lwkt_create(pp_thread, (void *)1, 0, 0, &b, "pong"), 0);
	ck_assert_str_eq(lwkt_thread_name(a), "ping");
	ck_assert_int_eq(lwkt_thread_cpu(a), 0);
	ck_assert_uint_ne(lwkt_thread_id(a), lwkt_thread_id(b));
	ck_assert_int_eq(lwkt_join(a), 0);
	ck_assert_int_eq(lwkt_join(b), 0);
	ck_assert_int_eq(pp_log[0], PP_ROUNDS);
	ck_assert_int_eq(pp_log[1], PP_ROUNDS);
	struct lwkt_stats st;
	lwkt_stats(0, &st);
	ck_assert_uint_ge(st.ls_switches, 2 * PP_ROUNDS);
	lwkt_shutdown();
}
END_TEST

/* ---- many short-lived threads, detached and joined, on all cpus ---- */
static _Atomic int churn_done;

static void
churn(void *arg)
{
	(void)arg;
	lwkt_yield();
	atomic_fetch_add(&churn_done, 1);
}

START_TEST(t_thread_churn)
{
	int n = lt_start(NULL);
	lwkt_thread_t td[200];
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(lwkt_create(churn, NULL, i % n,
					     (i & 1) ? LWKT_CREATE_DETACHED : 0,
					     &td[i], "churn"), 0);
	for (int i = 0; i < 200; i += 2)
		ck_assert_int_eq(lwkt_join(td[i]), 0);
	lwkt_shutdown();	/* waits for the detached ones too */
	ck_assert_int_eq(atomic_load(&churn_done), 200);
}
END_TEST

/* ---- priorities: a higher-priority runnable thread runs first ---- */
static int prio_order[3], prio_n;

static void
prio_rec(void *arg)
{
	prio_order[prio_n++] = (int)(intptr_t)arg;
}

static void
prio_parent(void *arg)
{
	(void)arg;
	crit_enter();	/* create all three before any runs */
	lwkt_create_pri(prio_rec, (void *)1, 0, LWKT_CREATE_DETACHED, 5, NULL, "lo");
	lwkt_create_pri(prio_rec, (void *)3, 0, LWKT_CREATE_DETACHED, 20, NULL, "hi");
	lwkt_create_pri(prio_rec, (void *)2, 0, LWKT_CREATE_DETACHED, 10, NULL, "mid");
	crit_exit();
}

START_TEST(t_priorities)
{
	lt_start(NULL);
	lwkt_thread_t p;
	/* The parent runs below all three: they run as soon as it yields. */
	lwkt_create_pri(prio_parent, NULL, 0, 0, 1, &p, "parent");
	lwkt_join(p);
	lwkt_shutdown();
	ck_assert_int_eq(prio_n, 3);
	ck_assert_int_eq(prio_order[0], 3);
	ck_assert_int_eq(prio_order[1], 2);
	ck_assert_int_eq(prio_order[2], 1);
	ck_assert_int_eq(lwkt_create_pri(prio_rec, NULL, 0, 0, 99, NULL, "x"),
			 ESHUTDOWN);
}
END_TEST

/* ---- migration ---- */
static _Atomic int mig_ok;

static void
migrator(void *arg)
{
	(void)arg;
	int ok = 1;
	for (int i = 0; i < 200; i++) {
		int to = (lwkt_mycpuid() + 1) % lwkt_ncpus();
		ok &= lwkt_migrate(to) == 0;
		ok &= lwkt_mycpuid() == to;
		ok &= sched_getcpu() == (int)lwkt_cpu_pu(to);
		ok &= lwkt_thread_cpu(lwkt_curthread()) == to;
	}
	ok &= lwkt_migrate(99) == EINVAL;
	atomic_store(&mig_ok, ok);
}

START_TEST(t_migrate)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	lwkt_thread_t t;
	lwkt_create(migrator, NULL, 0, 0, &t, "migrator");
	lwkt_join(t);
	ck_assert_int_eq(atomic_load(&mig_ok), 1);
	lwkt_shutdown();
}
END_TEST

/* ---- the host scheduler's account of a cpu's host thread ---- */
static _Atomic uint64_t hs_spun_ns;

/* Spins 30 ms of its host thread's CPU time: lwkt threads run on their
 * cpu's host thread, so that thread's schedstat run time grows as much
 * (whatever the load: CPU time, not wall time). */
static void
hs_spinner(void *arg)
{
	(void)arg;
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000ll + b.tv_nsec - a.tv_nsec <
	       30000000);
	atomic_store(&hs_spun_ns, (uint64_t)((b.tv_sec - a.tv_sec) *
			1000000000ll + b.tv_nsec - a.tv_nsec));
}

START_TEST(t_cpu_host_sched)
{
	struct lwkt_host_sched h0, h1, ho;
	ck_assert_int_eq(lwkt_cpu_host_sched(0, &h0), EINVAL);	/* not started */
	int n = lt_start(NULL);
	if (access("/proc/self/schedstat", R_OK) != 0) {
		lwkt_shutdown();
		LTEST_SKIP("no /proc/PID/schedstat (a kernel without "
			   "CONFIG_SCHED_INFO)");
	}
	ck_assert_int_eq(lwkt_cpu_host_sched(-1, &h0), EINVAL);
	ck_assert_int_eq(lwkt_cpu_host_sched(n, &h0), EINVAL);
	int c = n - 1, other = n > 1 ? 0 : -1;
	ck_assert_int_eq(lwkt_cpu_host_sched(c, &h0), 0);
	ck_assert_msg(strchr("RSD", h0.hs_state) != NULL, "state '%c'",
		      h0.hs_state);
	if (other >= 0)
		ck_assert_int_eq(lwkt_cpu_host_sched(other, &ho), 0);
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(hs_spinner, NULL, c, 0, &t, "spinner"), 0);
	ck_assert_int_eq(lwkt_join(t), 0);
	ck_assert_int_eq(lwkt_cpu_host_sched(c, &h1), 0);
	/* Its cpu's host thread ran the 30 ms, and no time went back. */
	ck_assert_uint_ge(atomic_load(&hs_spun_ns), 30000000);
	ck_assert_msg(h1.hs_run_ns - h0.hs_run_ns >= 30000000 &&
		      h1.hs_wait_ns >= h0.hs_wait_ns,
		      "cpu %d's host thread: run %llu -> %llu ns, wait %llu -> %llu",
		      c, (unsigned long long)h0.hs_run_ns,
		      (unsigned long long)h1.hs_run_ns,
		      (unsigned long long)h0.hs_wait_ns,
		      (unsigned long long)h1.hs_wait_ns);
	if (other >= 0) {
		/* Another cpu's host thread, idle meanwhile: not that one. */
		struct lwkt_host_sched h2;
		ck_assert_int_eq(lwkt_cpu_host_sched(other, &h2), 0);
		ck_assert_msg(h2.hs_run_ns - ho.hs_run_ns < 30000000,
			      "cpu %d's run time grew %llu ns while cpu %d "
			      "spun", other, (unsigned long long)
			      (h2.hs_run_ns - ho.hs_run_ns), c);
	}
	lwkt_shutdown();
	ck_assert_int_eq(lwkt_cpu_host_sched(0, &h0), EINVAL);
}
END_TEST

/* ---- sleep/wake-up across cpus on a wait channel, idle cpus asleep ---- */
#define SW_ROUNDS 2000
static int sw_turn;			/* the wait channel and the state */
static _Atomic int sw_count[2];

static void
sw_thread(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < SW_ROUNDS; i++) {
		/* sw_turn is read/written by both cpus: atomics. */
		crit_enter();
		while (__atomic_load_n(&sw_turn, __ATOMIC_ACQUIRE) != me)
			lwkt_tsleep(&sw_turn);
		crit_exit();
		atomic_fetch_add(&sw_count[me], 1);
		__atomic_store_n(&sw_turn, 1 - me, __ATOMIC_RELEASE);
		lwkt_wakeup(&sw_turn);
	}
}

START_TEST(t_sleep_wakeup_cross_cpu)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 0;	/* the sleeper's cpu really sleeps */
	LT_NEED_CPUS(lt_start(&cfg), 2);
	lwkt_thread_t a, b;
	lwkt_create(sw_thread, (void *)0, 0, 0, &a, "sw0");
	lwkt_create(sw_thread, (void *)1, 1, 0, &b, "sw1");
	lwkt_join(a);
	lwkt_join(b);
	ck_assert_int_eq(atomic_load(&sw_count[0]), SW_ROUNDS);
	ck_assert_int_eq(atomic_load(&sw_count[1]), SW_ROUNDS);
	struct lwkt_stats st;
	lwkt_stats(0, &st);
	ck_assert_uint_gt(st.ls_idle_sleeps, 0);
	lwkt_shutdown();
}
END_TEST

/* ---- join from an LWKT thread on the other cpu; schedule from main ----
 * lwkt_schedule needs a thread that cannot be freed meanwhile (thread.h):
 * the sleeper leaves only after main's wake-up, and says when it sleeps,
 * so main never touches a thread that may have exited and been joined
 * (it did, under load, when main assumed a 10 ms head start). */
static _Atomic int jw_state, jw_asleep, jw_go;
static lwkt_thread_t jw_target;

static void
jw_sleeper(void *arg)
{
	(void)arg;
	crit_enter();
	while (!atomic_load(&jw_go)) {
		atomic_store(&jw_asleep, 1);
		lwkt_sleep();
	}
	crit_exit();
}

static void
jw_joiner(void *arg)
{
	(void)arg;
	atomic_store(&jw_state, 2);
	ck_assert_int_eq(lwkt_join(jw_target), 0);
	atomic_store(&jw_state, 3);
}

START_TEST(t_join_from_lwkt)
{
	int n = lt_start(NULL);
	lwkt_thread_t j;
	lwkt_create(jw_sleeper, NULL, 0, 0, &jw_target, "sleeper");
	lwkt_create(jw_joiner, NULL, n - 1, 0, &j, "joiner");
	struct timespec ts = {0, 1000000};
	while (atomic_load(&jw_state) != 2 || !atomic_load(&jw_asleep))
		nanosleep(&ts, NULL);
	atomic_store(&jw_go, 1);
	lwkt_schedule(jw_target);	/* from main: through the inbox */
	lwkt_join(j);
	ck_assert_int_eq(atomic_load(&jw_state), 3);
	lwkt_shutdown();
}
END_TEST

/* ---- guard page: a failed mprotect fails the create, nothing leaks ---- */
static int
count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

START_TEST(t_guard_page_failure)
{
	lt_start(NULL);
	/* Warm up: the first create may grow malloc's arenas. */
	lwkt_thread_t td;
	ck_assert_int_eq(lwkt_create(churn, NULL, 0, 0, &td, "warm"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	int maps = count_maps();
	/* The next guard-page mprotect fails, as it does near
	 * vm.max_map_count (the mapping cannot be split). */
	atomic_store(&_lwkt_test_fail_guard, 1);
	td = NULL;
	ck_assert_int_eq(lwkt_create(churn, NULL, 0, 0, &td, "noguard"),
			 ENOMEM);
	ck_assert_ptr_null(td);
	ck_assert_int_eq(atomic_load(&_lwkt_test_fail_guard), 0);
	ck_assert_int_eq(count_maps(), maps);	/* the stack is unmapped */
	/* The runtime is intact: a create works, shutdown does not wait
	 * for a thread that never was. */
	ck_assert_int_eq(lwkt_create(churn, NULL, 0, 0, &td, "guarded"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	lwkt_shutdown();
}
END_TEST

/*
 * ---- a dead thread's stack, mapped again, is clean for ASan ----
 * A thread that exits from inside frames with local arrays leaves their
 * redzones poisoned (it never returns from them); the next thread's stack
 * gets the same addresses from mmap, and its own locals must not trip
 * over the old shadow.  (Meaningful in the ASan build; plain elsewhere.)
 */
static volatile int deep_limit = 40;	/* volatile: a real base case */

static __attribute__((noinline)) void
deep_exit(int depth)
{
	volatile char pad[40 + depth * 24];
	pad[0] = (char)depth;
	if (depth > 1000)
		return;
	if (depth < deep_limit)
		deep_exit(depth + 1);
	else
		lwkt_exit();	/* never returns through the frames */
	pad[1] = pad[0];
}

static void
poisoner(void *arg)
{
	(void)arg;
	deep_exit(0);
}

static _Atomic int reuse_sum;

static void
reuser(void *arg)
{
	(void)arg;
	char big[48 * 1024];	/* spans the dead thread's frames */
	memset(big, 0x5a, sizeof big);
	int sum = 0;
	for (size_t i = 0; i < sizeof big; i += 512)
		sum += big[i];
	atomic_fetch_add(&reuse_sum, sum);
}

START_TEST(t_stack_reuse_clean)
{
	lt_start(NULL);
	for (int i = 0; i < 20; i++) {
		lwkt_thread_t a, b;
		ck_assert_int_eq(lwkt_create(poisoner, NULL, 0, 0, &a, "poison"),
				 0);
		ck_assert_int_eq(lwkt_join(a), 0);	/* stack unmapped */
		ck_assert_int_eq(lwkt_create(reuser, NULL, 0, 0, &b, "reuse"),
				 0);
		ck_assert_int_eq(lwkt_join(b), 0);
	}
	ck_assert_int_eq(atomic_load(&reuse_sum), 20 * 96 * 0x5a);
	lwkt_shutdown();
}
END_TEST

/* ---- bad input ---- */
START_TEST(t_bad_config)
{
	unsetenv("LWKT_CPUS");	/* it would override the lists below */
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_cpus = "0,0";
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	cfg.lc_cpus = "99999";
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	cfg.lc_cpus = "";
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	/* LWKT_CPUS overrides the config, and is checked the same way. */
	cfg.lc_cpus = "count=1";
	setenv("LWKT_CPUS", "banana", 1);
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	setenv("LWKT_CPUS", "count=1", 1);
	/* LWKT_POLL_PAUSE must be an integer (it overrides lc_poll_pause). */
	setenv("LWKT_POLL_PAUSE", "64x", 1);
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	setenv("LWKT_POLL_PAUSE", "-1", 1);
	cfg.lc_cpus = "banana";
	ck_assert_int_eq(lwkt_init(&cfg), 0);
	unsetenv("LWKT_POLL_PAUSE");
	ck_assert_int_eq(lwkt_ncpus(), 1);
	unsetenv("LWKT_CPUS");
	ck_assert_int_eq(lwkt_init(&cfg), EBUSY);
	ck_assert_int_eq(lwkt_create(churn, NULL, 5, 0, NULL, "x"), EINVAL);
	ck_assert_int_eq(lwkt_create(NULL, NULL, 0, 0, NULL, "x"), EINVAL);
	ck_assert_int_eq(lwkt_create(churn, NULL, 0, 0x100, NULL, "x"), EINVAL);
	ck_assert_int_eq(lwkt_send_ipiq(7, NULL, NULL), EINVAL);
	ck_assert_int_eq(lwkt_join(NULL), EINVAL);
	ck_assert_int_eq(lwkt_mycpuid(), -1);
	ck_assert_ptr_null(lwkt_curthread());
	lwkt_shutdown();
	lwkt_shutdown();	/* twice: harmless */
}
END_TEST

/* ---- misuse aborts with a message ---- */
static void
underflow(void *arg)
{
	(void)arg;
	crit_enter();
	crit_exit();
	crit_exit();	/* aborts */
}

START_TEST(t_crit_exit_underflow_aborts)
{
	lt_start(NULL);
	lwkt_thread_t t;
	lwkt_create(underflow, NULL, 0, 0, &t, "underflow");
	lwkt_join(t);
}
END_TEST

START_TEST(t_crit_enter_outside_aborts)
{
	lt_start(NULL);
	crit_enter();	/* main is not an LWKT thread */
}
END_TEST

START_TEST(t_yield_outside_aborts)
{
	lwkt_yield();
}
END_TEST

START_TEST(t_exit_outside_aborts)
{
	lt_start(NULL);
	lwkt_exit();
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "thread", 60);
	tcase_add_test(tc, t_create_yield_join);
	tcase_add_test(tc, t_thread_churn);
	tcase_add_test(tc, t_priorities);
	tcase_add_test(tc, t_migrate);
	tcase_add_test(tc, t_cpu_host_sched);
	tcase_add_test(tc, t_sleep_wakeup_cross_cpu);
	tcase_add_test(tc, t_join_from_lwkt);
	tcase_add_test(tc, t_bad_config);
	tcase_add_test(tc, t_guard_page_failure);
	tcase_add_test(tc, t_stack_reuse_clean);
	TCase *death = ltest_tcase(s, "misuse", 30);
	tcase_add_test_raise_signal(death, t_crit_exit_underflow_aborts, SIGABRT);
	tcase_add_test_raise_signal(death, t_crit_enter_outside_aborts, SIGABRT);
	tcase_add_test_raise_signal(death, t_yield_outside_aborts, SIGABRT);
	tcase_add_test_raise_signal(death, t_exit_outside_aborts, SIGABRT);
}
LTEST_MAIN("thread", add)
