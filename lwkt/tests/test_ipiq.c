/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ipiq.c - IPI rings: FIFO per pair with checksums, no lost wake-up
 * with a zero idle spin (both fence modes), full-ring self-drain with a
 * 4-entry ring, critical sections deferring IPIs, cpusync, hard IPIs.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/thread.h"
#include "lt_util.h"
/* The lost-wake-up test reads each cpu's idle word and run queue. */
#include "../src/lwkt_priv.h"
#ifdef __SANITIZE_THREAD__
/* Exported by libtsan, not declared by its header. */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#endif

/* ---- FIFO per (src,dst) over >= 10^6 IPIs, both directions ---- */
#define FIFO_N 1000000ull

struct fifo_dir {
	uint64_t expect;		/* receiver cpu only */
	uint64_t sum;			/* receiver cpu only */
	_Atomic uint64_t done;		/* receiver stores, main reads */
	_Atomic int bad;
};
static struct fifo_dir dir[2];

static void
fifo_recv(void *a1, void *a2)
{
	struct fifo_dir *d = a2;
	uint64_t v = (uint64_t)(uintptr_t)a1;
	if (v != d->expect)
		atomic_store(&d->bad, 1);
	d->expect = v + 1;
	d->sum += v * 2654435761u;
	atomic_store_explicit(&d->done, d->expect, memory_order_release);
}

static void
fifo_sender(void *arg)
{
	int me = (int)(intptr_t)arg, peer = 1 - me;
	for (uint64_t i = 0; i < FIFO_N; i++)
		lwkt_send_ipiq2(peer, fifo_recv, (void *)(uintptr_t)i,
				&dir[me]);
}

START_TEST(t_fifo_million)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	lwkt_thread_t t0, t1;
	ck_assert_int_eq(lwkt_create(fifo_sender, (void *)0, 0, 0, &t0, "s0"), 0);
	ck_assert_int_eq(lwkt_create(fifo_sender, (void *)1, 1, 0, &t1, "s1"), 0);
	lt_wait_u64(&dir[0].done, FIFO_N);
	lt_wait_u64(&dir[1].done, FIFO_N);
	ck_assert_int_eq(lwkt_join(t0), 0);
	ck_assert_int_eq(lwkt_join(t1), 0);
	uint64_t want = 0;
	for (uint64_t i = 0; i < FIFO_N; i++)
		want += i * 2654435761u;
	for (int d = 0; d < 2; d++) {
		ck_assert_int_eq(atomic_load(&dir[d].bad), 0);
		ck_assert_uint_eq(dir[d].sum, want);
	}
	struct lwkt_stats st;
	ck_assert_int_eq(lwkt_stats(0, &st), 0);
	ck_assert_uint_ge(st.ls_ipis_sent, FIFO_N);
	ck_assert_uint_ge(st.ls_ipis_received, FIFO_N);
	ck_assert_int_eq(lwkt_stats(5, &st), EINVAL);
	lwkt_shutdown();
}
END_TEST

/* ---- no lost wake-up: the target sleeps at once between bursts ---- */
struct burst {
	lwkt_thread_t sender;
	_Atomic int acked;		/* set on cpu 0 by the ack IPI */
	unsigned got;			/* cpu 1 only */
};
static struct burst bu;

static void
burst_ack(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_store_explicit(&bu.acked, 1, memory_order_relaxed);
	lwkt_schedule(bu.sender);
}

static void
burst_recv(void *a1, void *a2)
{
	(void)a2;
	bu.got++;
	if ((uintptr_t)a1)		/* last of the burst: answer */
		lwkt_send_ipiq(0, burst_ack, NULL);
}

static void
burst_sender(void *arg)
{
	unsigned rounds = (unsigned)(uintptr_t)arg, seed = 12345;
	for (unsigned r = 0; r < rounds; r++) {
		unsigned k = 1 + rand_r(&seed) % 8;
		atomic_store_explicit(&bu.acked, 0, memory_order_relaxed);
		for (unsigned i = 0; i < k; i++)
			lwkt_send_ipiq(1, burst_recv,
				       (void *)(uintptr_t)(i == k - 1));
		/* Block until the ack: the check and the sleep are one
		 * critical section, so the ack's schedule cannot slip by. */
		crit_enter();
		while (!atomic_load_explicit(&bu.acked, memory_order_relaxed))
			lwkt_sleep();
		crit_exit();
		/* A random pause lets the target fall asleep (spin 0). */
		for (unsigned s = rand_r(&seed) % 20000; s; s--)
			lwkt_cpu_relax();
	}
}

/* A config with a zero idle spin: the target sleeps between bursts. */
static struct lwkt_config *
burst_cfg(enum lwkt_fence_mode mode)
{
	static struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 0;
	cfg.lc_fence = mode;
	return &cfg;
}

static void
run_bursts(void)	/* runtime started with burst_cfg() */
{
	ck_assert_int_eq(lwkt_create(burst_sender, (void *)(uintptr_t)1500, 0,
				     0, &bu.sender, "burst"), 0);
	ck_assert_int_eq(lwkt_join(bu.sender), 0);
	ck_assert_uint_gt(bu.got, 1500);
	struct lwkt_stats st;
	lwkt_stats(1, &st);
	/* The target really slept between bursts. */
	ck_assert_uint_gt(st.ls_idle_sleeps, 100);
	lwkt_shutdown();
}

START_TEST(t_no_lost_wakeup_asym)
{
	LT_NEED_CPUS(lt_start(burst_cfg(LWKT_FENCE_ASYMMETRIC)), 2);
	run_bursts();
}
END_TEST
START_TEST(t_no_lost_wakeup_sym)
{
	LT_NEED_CPUS(lt_start(burst_cfg(LWKT_FENCE_SYMMETRIC)), 2);
	run_bursts();
}
END_TEST

/* ---- full ring: 4 entries, both cpus flooding each other ---- */
/* Enough to wrap a 4-entry ring 10^4 times; each hand-off needs both
 * host threads on a PU at once, so a loaded machine makes it crawl. */
#define FLOOD_N 50000ull
static _Atomic uint64_t flood_got[2];
static uint64_t flood_next[2];

static void
flood_recv(void *a1, void *a2)
{
	(void)a2;
	int me = lwkt_mycpuid();
	ck_assert_uint_eq((uint64_t)(uintptr_t)a1, flood_next[me]);
	flood_next[me]++;
	atomic_store_explicit(&flood_got[me], flood_next[me],
			      memory_order_release);
}

static void
flooder(void *arg)
{
	int peer = 1 - (int)(intptr_t)arg;
	for (uint64_t i = 0; i < FLOOD_N; i++)
		lwkt_send_ipiq(peer, flood_recv, (void *)(uintptr_t)i);
}

START_TEST(t_full_ring_self_drain)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_ipiq_size = 4;
	LT_NEED_CPUS(lt_start(&cfg), 2);
	lwkt_thread_t a, b;
	/* Each flooder never yields: only the drain-while-full rule lets
	 * the other side's ring empty. */
	lwkt_create(flooder, (void *)0, 0, 0, &a, "flood0");
	lwkt_create(flooder, (void *)1, 1, 0, &b, "flood1");
	lt_wait_u64(&flood_got[0], FLOOD_N);
	lt_wait_u64(&flood_got[1], FLOOD_N);
	lwkt_join(a);
	lwkt_join(b);
	struct lwkt_stats s0, s1;
	lwkt_stats(0, &s0);
	lwkt_stats(1, &s1);
	ck_assert_uint_gt(s0.ls_ringfull_waits + s1.ls_ringfull_waits, 0);
	lwkt_shutdown();
}
END_TEST

/*
 * ---- nested sends on a full ring: small-ring soak ----
 * cpu 0's flooder fills ring 0->1; while it waits it runs cpu 1's
 * requests, and each request sends an answer on the SAME ring 0->1 (as a
 * cpu-owned token grant does).  Every message must arrive exactly once,
 * for rings of 2, 4, 8 and 16 entries, within a deadline (a lost message
 * or a livelocked sender fails the test instead of hanging it).
 */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define NEST_N 20000u
#else
#define NEST_N 100000u
#endif
static uint8_t nest_seen[2 * NEST_N];	/* cpu 1 only */
static _Atomic uint64_t nest_got, nest_dup;

static void
nest_count(void *a1, void *a2)
{
	(void)a2;
	uintptr_t tag = (uintptr_t)a1;	/* 2i: flood i; 2i+1: answer i */
	if (nest_seen[tag]++)
		atomic_fetch_add_explicit(&nest_dup, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&nest_got, 1, memory_order_release);
}

/* On cpu 0, from its flooder's full-ring drain (or its idle loop). */
static void
nest_answer(void *a1, void *a2)
{
	(void)a2;
	lwkt_send_ipiq(1, nest_count, (void *)((uintptr_t)a1 * 2 + 1));
}

static void
nest_flooder(void *arg)
{
	(void)arg;
	for (uintptr_t i = 0; i < NEST_N; i++)
		lwkt_send_ipiq(1, nest_count, (void *)(i * 2));
}

static void
nest_asker(void *arg)
{
	(void)arg;
	for (uintptr_t i = 0; i < NEST_N; i++)
		lwkt_send_ipiq(0, nest_answer, (void *)i);
}

START_TEST(t_nested_send_small_rings)
{
	static const unsigned sizes[] = {2, 4, 8, 16};
	for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct lwkt_config cfg;
		lwkt_config_default(&cfg);
		cfg.lc_ipiq_size = sizes[k];
		LT_NEED_CPUS(lt_start(&cfg), 2);
		memset(nest_seen, 0, sizeof nest_seen);
		atomic_store(&nest_got, 0);
		lwkt_thread_t f, a;
		ck_assert_int_eq(lwkt_create(nest_flooder, NULL, 0, 0, &f,
					     "flood"), 0);
		ck_assert_int_eq(lwkt_create(nest_asker, NULL, 1, 0, &a,
					     "ask"), 0);
		/* A loss stalls the count, a livelock too: fail after 20 s
		 * without progress (a loaded machine may be slow, not stuck). */
		uint64_t t0 = lwkt_now_ns(), got, last = 0;
		while ((got = atomic_load_explicit(&nest_got,
				memory_order_acquire)) < 2 * NEST_N) {
			uint64_t now = lwkt_now_ns();
			if (got != last) {
				last = got;
				t0 = now;
			}
			ck_assert_msg(now - t0 < 20000000000ull, "ring of %u: "
				      "cpu 1 received %llu of %u messages, none "
				      "for 20 s (lost or livelocked)", sizes[k],
				      (unsigned long long)got, 2 * NEST_N);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		ck_assert_uint_eq(atomic_load(&nest_dup), 0);
		ck_assert_int_eq(lwkt_join(f), 0);
		ck_assert_int_eq(lwkt_join(a), 0);
		struct lwkt_stats st;
		lwkt_stats(0, &st);
		ck_assert_uint_gt(st.ls_ringfull_waits, 0);
		lwkt_shutdown();
	}
}
END_TEST

/*
 * ---- IPI watchdog: a target stalled in a critical section ----
 * cpu 1 holds a critical section for 600 ms while cpu 0 sends 64 IPIs
 * into a 4-entry ring; with a 100 ms bound the sender warns once (cpus,
 * indices, the target's thread and crit depth), says when the target
 * drained, and every message arrives.  Soft and hard IPIs.
 */
#define WD_MSGS 64
static _Atomic int wd_stalling;
static _Atomic uint64_t wd_got;

static void
wd_count(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_fetch_add_explicit(&wd_got, 1, memory_order_release);
}

static void
wd_staller(void *arg)
{
	(void)arg;
	crit_enter();
	atomic_store(&wd_stalling, 1);
	uint64_t t0 = lwkt_now_ns();
	/* Spins as a thread polling a flag would (the atomic load also
	 * lets TSan deliver the sniff signal: it defers signals to such
	 * points). */
	while (lwkt_now_ns() - t0 < 600000000u &&
	       atomic_load(&wd_stalling) != 2)
		lwkt_cpu_relax();
	crit_exit();
}

static void
wd_sender(void *arg)
{
	(void)arg;
	while (!atomic_load(&wd_stalling))
		lwkt_cpu_relax();
	for (int i = 0; i < WD_MSGS; i++)
		lwkt_send_ipiq(1, wd_count, NULL);
}

static int
count_substr(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

START_TEST(t_ipiq_watchdog)
{
	for (int hard = 0; hard < 2; hard++) {
		struct lwkt_config cfg;
		lwkt_config_default(&cfg);
		cfg.lc_ipiq_size = 4;
		cfg.lc_ipiq_watchdog_ms = 100;
		cfg.lc_hard_ipi = hard;
		/* The warning goes to stderr: catch it in a file. */
		fflush(stderr);
		FILE *log = tmpfile();
		ck_assert_ptr_nonnull(log);
		int saved = dup(2);
		ck_assert_int_ge(saved, 0);
		ck_assert_int_eq(dup2(fileno(log), 2), 2);
		int n = lt_start(&cfg);
		if (n < 2) {
			dup2(saved, 2);
			close(saved);
		}
		LT_NEED_CPUS(n, 2);
		atomic_store(&wd_stalling, 0);
		atomic_store(&wd_got, 0);
		lwkt_thread_t st, sd;
		ck_assert_int_eq(lwkt_create(wd_staller, NULL, 1, 0, &st,
					     "staller"), 0);
		ck_assert_int_eq(lwkt_create(wd_sender, NULL, 0, 0, &sd,
					     "sender"), 0);
		ck_assert_int_eq(lwkt_join(sd), 0);
		ck_assert_int_eq(lwkt_join(st), 0);
		lt_wait_u64(&wd_got, WD_MSGS);
		lwkt_shutdown();
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		char text[4096] = "";
		rewind(log);
		size_t len = fread(text, 1, sizeof text - 1, log);
		text[len] = '\0';
		fclose(log);
		fputs(text, stderr);	/* shown in the test log */
		ck_assert_uint_eq(atomic_load(&wd_got), WD_MSGS);
		/* One warning per stall, each with its recovery line (a
		 * loaded host can add a stall of its own: not one more
		 * warning for the same one). */
		int warns = count_substr(text, "lwkt: ipiq watchdog: cpu 0 -> "
					 "cpu 1 not draining for ");
		ck_assert_msg(warns >= 1 && warns == count_substr(text,
			      "lwkt: ipiq watchdog: cpu 0 -> cpu 1 drained "
			      "after "), "hard=%d: want one warning and one "
			      "recovery line per stall, got: %s", hard, text);
		ck_assert_msg(strstr(text, "ring full (windex ") &&
			      strstr(text, ", 4 entries); cpu 1 runs thread "
				     "'staller' (id ") &&
			      strstr(text, ") at crit depth 1"),
			      "hard=%d: warning lacks indices or the target's "
			      "state: %s", hard, text);
		/* The host's account of the target's thread, where the
		 * kernel keeps one (its words depend on the load). */
		if (access("/proc/self/schedstat", R_OK) == 0)
			ck_assert_msg(strstr(text, "; its host thread (tid ") &&
				      strstr(text, " s: on a PU ") &&
				      strstr(text, " s, state "),
				      "hard=%d: warning lacks the host thread's "
				      "account: %s", hard, text);

	}
}
END_TEST

/*
 * ---- lwkt_dump: the state of a cpu stalled in a critical section ----
 * cpu 1 sits in a critical section (until released) while cpu 0 fills
 * their 4-entry ring: the dump names cpu 1's thread, its crit depth and
 * run queue, and shows the ring full (rindex 0, windex 4).
 */
static void
dump_staller(void *arg)
{
	(void)arg;
	crit_enter();
	atomic_store(&wd_stalling, 1);
	uint64_t t0 = lwkt_now_ns();
	/* Capped at 20 s: a failing test still ends. */
	while (lwkt_now_ns() - t0 < 20000000000ull &&
	       atomic_load(&wd_stalling) != 2)
		lwkt_cpu_relax();
	crit_exit();
}

START_TEST(t_dump)
{
	for (int hard = 0; hard < 2; hard++) {
		struct lwkt_config cfg;
		lwkt_config_default(&cfg);
		cfg.lc_ipiq_size = 4;
		cfg.lc_ipiq_watchdog_ms = -1;
		cfg.lc_hard_ipi = hard;
		ck_assert_int_eq(lwkt_dump(2, 0), EINVAL);	/* not started */
		int n = lt_start(&cfg);
		LT_NEED_CPUS(n, 2);
		atomic_store(&wd_stalling, 0);
		atomic_store(&wd_got, 0);
		lwkt_thread_t st, sd;
		ck_assert_int_eq(lwkt_create(dump_staller, NULL, 1, 0, &st,
					     "staller"), 0);
		ck_assert_int_eq(lwkt_create(wd_sender, NULL, 0, 0, &sd,
					     "sender"), 0);
		struct lwkt_stats s0;
		do {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
			lwkt_stats(0, &s0);
		} while (s0.ls_ringfull_waits == 0);
		FILE *log = tmpfile();
		ck_assert_ptr_nonnull(log);
		ck_assert_int_eq(lwkt_dump(fileno(log), 5000), 0);
		atomic_store(&wd_stalling, 2);
		ck_assert_int_eq(lwkt_join(sd), 0);
		ck_assert_int_eq(lwkt_join(st), 0);
		lt_wait_u64(&wd_got, WD_MSGS);
		lwkt_shutdown();
		char text[4096] = "";
		rewind(log);
		size_t len = fread(text, 1, sizeof text - 1, log);
		text[len] = '\0';
		fclose(log);
		fputs(text, stderr);	/* shown in the test log */
		ck_assert_msg(strstr(text, "lwkt: dump: cpu 1 (PU ") &&
			      strstr(text, "): runs thread 'staller' (id ") &&
			      strstr(text, ") at crit depth 1; run queue ") &&
			      /* the running thread counts (it stays queued) */
			      strstr(text, ", threads 1; idle word 0; ipis "
				     "sent "),
			      "hard=%d: cpu 1's line lacks its thread, crit "
			      "depth or run queue: %s", hard, text);
		ck_assert_msg(strstr(text, "lwkt: dump: cpu 0 (PU ") &&
			      strstr(text, "'sender'"),
			      "hard=%d: no line for cpu 0: %s", hard, text);
		ck_assert_msg(strstr(text, "lwkt: dump:   ring cpu 0 -> cpu 1: "
				     "rindex 0, windex 4 (4 of 4 entries "
				     "pending)\n"),
			      "hard=%d: the full ring is not shown: %s", hard,
			      text);
	}
}
END_TEST

START_TEST(t_bad_ring_size)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_ipiq_size = 3;
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	ck_assert_int_eq(lwkt_ncpus(), 0);
	ck_assert_int_eq(lwkt_send_ipiq(0, flood_recv, NULL), EINVAL);
}
END_TEST

/* ---- critical sections defer IPIs; the last crit_exit runs them ---- */
static _Atomic int crit_ran, crit_sent;

static void
crit_func(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_store(&crit_ran, 1);
}

static void
crit_sender(void *arg)
{
	(void)arg;
	lwkt_send_ipiq(1, crit_func, NULL);
	atomic_store(&crit_sent, 1);
}

static void
crit_holder(void *arg)
{
	(void)arg;
	crit_enter();
	crit_enter();
	ck_assert_int_eq(crit_depth(), 2);
	lwkt_create(crit_sender, NULL, 0, LWKT_CREATE_DETACHED, NULL, "snd");
	while (!atomic_load(&crit_sent))
		lwkt_cpu_relax();
	/* The IPI is in our ring: polling inside a critical section and
	 * the inner crit_exit must not run it. */
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(lwkt_ipiq_poll(), 0);
	crit_exit();
	ck_assert_int_eq(atomic_load(&crit_ran), 0);
	crit_exit();	/* to zero: runs it */
	ck_assert_int_eq(atomic_load(&crit_ran), 1);
	ck_assert_int_eq(crit_depth(), 0);
}

START_TEST(t_crit_defers_ipis)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	lwkt_thread_t t;
	lwkt_create(crit_holder, NULL, 1, 0, &t, "holder");
	lwkt_join(t);
	lwkt_shutdown();
}
END_TEST

/* ---- cpusync: every cpu runs the function, the caller waits ---- */
static _Atomic int sync_seen[LWKT_MAXCPU];

static void
sync_func(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_fetch_add(&sync_seen[lwkt_mycpuid()], 1);
}

static void
sync_caller(void *arg)
{
	(void)arg;
	lwkt_cpusync(~0ull, sync_func, NULL);
}

START_TEST(t_cpusync)
{
	int n = lt_start(NULL);
	ck_assert_int_eq(lwkt_cpusync(~0ull, sync_func, NULL), 0); /* outside */
	lwkt_thread_t t;
	lwkt_create(sync_caller, NULL, 0, 0, &t, "sync");
	lwkt_join(t);
	for (int c = 0; c < n; c++)
		ck_assert_int_eq(atomic_load(&sync_seen[c]), 2);
	lwkt_shutdown();
}
END_TEST

/* ---- hard IPI: a thread that never yields still gets its IPI ---- */
static _Atomic int hard_flag;
static _Atomic int hard_spinning;	/* the spinner runs */

static void
hard_func(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_store(&hard_flag, 1);
}

static void
spinner(void *arg)
{
	(void)arg;
	atomic_store(&hard_spinning, 1);
	while (!atomic_load(&hard_flag))
		lwkt_cpu_relax();	/* no yield, no poll */
}

static void
hard_sender(void *arg)
{
	(void)arg;
	lwkt_send_ipiq(1, hard_func, NULL);
}

START_TEST(t_hard_ipi)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_hard_ipi = true;
	LT_NEED_CPUS(lt_start(&cfg), 2);
	lwkt_thread_t s, h;
	lwkt_create(spinner, NULL, 1, 0, &s, "spinner");
	/* The spinner must run before the IPI goes out (else cpu 1 is
	 * idle and needs no signal): a fixed sleep was too short under
	 * load (the sanitizer builds of a busy host). */
	while (!atomic_load(&hard_spinning))
		sched_yield();
	lwkt_create(hard_sender, NULL, 0, 0, &h, "hard");
	lwkt_join(h);
	lwkt_join(s);
	struct lwkt_stats st;
	lwkt_stats(0, &st);
	ck_assert_uint_ge(st.ls_signals_sent, 1);
	lwkt_shutdown();
}
END_TEST

/*
 * ---- hard IPIs, zero idle spin: no lost wake-up ----
 * Two threads on two cpus hand a turn back and forth with the documented
 * pattern (sleeper: crit_enter; while (!mine) lwkt_sleep(); crit_exit;
 * waker: set the flag, lwkt_schedule).  Each cpu goes idle and sleeps
 * between turns, and a hard-IPI signal aimed at the thread that just
 * blocked lands in the idle loop: that is where a wake-up was lost (the
 * signal ran the IPI, made the thread runnable, and the idle loop slept
 * anyway).  A stall past the deadline fails with the round it stopped at.
 */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define HW_ROUNDS 3000
#else
#define HW_ROUNDS 30000
#endif
static _Atomic int hw_turn;
static lwkt_thread_t hw_td[2];
static _Atomic uint64_t hw_done[2];

static void
hw_player(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < HW_ROUNDS; i++) {
		crit_enter();
		while (atomic_load(&hw_turn) != me)
			lwkt_sleep();
		crit_exit();
		atomic_store_explicit(&hw_done[me], (uint64_t)i + 1,
				      memory_order_release);
		atomic_store(&hw_turn, 1 - me);
		/* p1's last turn ends the game: p0 has finished and may be
		 * gone (lwkt_schedule needs a live thread: thread.h). */
		if (!(me == 1 && i == HW_ROUNDS - 1))
			lwkt_schedule(hw_td[1 - me]);
	}
}

START_TEST(t_hard_ipi_no_lost_wakeup)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_hard_ipi = getenv("HW_SOFT") == NULL;
	cfg.lc_idle_spin_ns = 0;
	LT_NEED_CPUS(lt_start(&cfg), 2);
	atomic_store(&hw_turn, 0);
	/* Created inside one crit section of nobody: both handles are set
	 * before either thread can schedule the other. */
	ck_assert_int_eq(lwkt_create(hw_player, (void *)1, 1, 0, &hw_td[1],
				     "p1"), 0);
	ck_assert_int_eq(lwkt_create(hw_player, (void *)0, 0, 0, &hw_td[0],
				     "p0"), 0);
	/* Under load a round can take seconds; a stall is a failure only
	 * with the lost wake-up's signature: a cpu asleep on its futex
	 * word while a thread of its run queue is runnable. */
	uint64_t t0 = lwkt_now_ns(), last = 0, d0, d1;
	for (;;) {
		d0 = atomic_load_explicit(&hw_done[0], memory_order_acquire);
		d1 = atomic_load_explicit(&hw_done[1], memory_order_acquire);
		if (d0 == HW_ROUNDS && d1 == HW_ROUNDS)
			break;
		uint64_t now = lwkt_now_ns();
		if (d0 + d1 != last) {
			last = d0 + d1;
			t0 = now;
		} else if (now - t0 > 2000000000ull) {
			for (int c = 0; c < 2; c++) {
				struct lwkt_cpu *g = lwkt_rt->rt_cpu[c];
				/* A diagnostic peek at the cpu's own run-queue
				 * mask (plain stores): hidden from TSan. */
#ifdef __SANITIZE_THREAD__
				__tsan_ignore_thread_begin();
#endif
				uint32_t rq = __atomic_load_n(&g->gd_rqmask,
							      __ATOMIC_RELAXED);
#ifdef __SANITIZE_THREAD__
				__tsan_ignore_thread_end();
#endif
				ck_assert_msg(!(atomic_load(&g->gd_idle) == 1 &&
					rq != 0),
					"rounds %llu/%llu of %d: cpu %d sleeps "
					"with a runnable thread: a lost wake-up",
					(unsigned long long)d0,
					(unsigned long long)d1, HW_ROUNDS, c);
			}
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(lwkt_join(hw_td[0]), 0);
	ck_assert_int_eq(lwkt_join(hw_td[1]), 0);
	struct lwkt_stats s0, s1;
	lwkt_stats(0, &s0);
	lwkt_stats(1, &s1);
	/* The cpus really slept between turns. */
	ck_assert_uint_gt(s0.ls_idle_sleeps + s1.ls_idle_sleeps, 0);
	lwkt_shutdown();
}
END_TEST

static void
add(Suite *s)
{
	/* Generous: the flooding tests crawl on a loaded 2-PU machine. */
	TCase *tc = ltest_tcase(s, "ipiq", 180);
	tcase_add_test(tc, t_fifo_million);
	tcase_add_test(tc, t_no_lost_wakeup_asym);
	tcase_add_test(tc, t_no_lost_wakeup_sym);
	tcase_add_test(tc, t_full_ring_self_drain);
	tcase_add_test(tc, t_nested_send_small_rings);
	tcase_add_test(tc, t_ipiq_watchdog);
	tcase_add_test(tc, t_dump);
	tcase_add_test(tc, t_bad_ring_size);
	tcase_add_test(tc, t_crit_defers_ipis);
	tcase_add_test(tc, t_cpusync);
	tcase_add_test(tc, t_hard_ipi);
	TCase *hw = ltest_tcase(s, "hardwake", 180);
	tcase_add_test(hw, t_hard_ipi_no_lost_wakeup);
}
LTEST_MAIN("ipiq", add)
