/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ipibatch.c - held sends (lc_ipi_batch, cpu.h): an IPI sent with
 * batching on stays invisible until the sending cpu polls or switches, or
 * until lc_ipi_batch entries wait on the ring, and then every entry
 * arrives once, in order; small rings and rings flooded both ways do not
 * deadlock (a full ring flushes what it holds); messages by value and by
 * reference keep their contracts (exactly-once replies, FIFO per cpu
 * pair, domsg never EASYNC); hard IPIs turn batching off; a bad
 * LWKT_IPI_BATCH is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/ipiq.h"
#include "lwkt/msgport.h"
#include "lwkt/thread.h"
#include "lt_util.h"

static int
start(unsigned batch, unsigned ring, bool hard)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_ipi_batch = batch;
	cfg.lc_ipiq_size = ring;
	cfg.lc_hard_ipi = hard;
	return lt_start(&cfg);
}

/* Busy-waits ns without polling: no crit_exit, no yield, no runtime call
 * (a held send must stay held across it). */
static void
spin_ns(uint64_t ns)
{
	uint64_t t0 = lwkt_now_ns();
	while (lwkt_now_ns() - t0 < ns)
		lwkt_cpu_relax();
}

/* ---------------------------------------------------------------------- */
/* held until the sender polls; the limit flushes; hard IPIs: no hold */

static _Atomic uint64_t h_seen;	/* IPIs run on cpu 1 */
static _Atomic int h_early;	/* seen during the no-poll spin */
static _Atomic int h_done;

static void
h_ipi(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_fetch_add_explicit(&h_seen, 1, memory_order_relaxed);
}

/* Sends k IPIs to cpu 1, then, without polling, waits until cpu 1 saw
 * h_want of them (at most 5 s: a loaded host may not run cpu 1 at once)
 * and 30 ms more, and records how many it saw by then; then polls until
 * all k arrived. */
static unsigned h_want;

static void
h_sender(void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < k; i++)
		ck_assert_int_eq(lwkt_send_ipiq(1, h_ipi, NULL), 0);
	uint64_t t0 = lwkt_now_ns();
	while (atomic_load(&h_seen) < h_want &&
	       lwkt_now_ns() - t0 < 5000000000u)
		lwkt_cpu_relax();
	spin_ns(30 * 1000 * 1000);
	atomic_store(&h_early, (int)atomic_load(&h_seen));
	t0 = lwkt_now_ns();
	while (atomic_load(&h_seen) < k && lwkt_now_ns() - t0 < 10000000000u)
		lwkt_ipiq_poll();
	atomic_store(&h_done, 1);
}

/* In a started runtime: runs h_sender(k) on cpu 0, expecting `want` to
 * arrive before the sender polls; returns how many did. */
static int
held_run(unsigned k, unsigned want)
{
	h_want = want;
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(h_sender, (void *)(uintptr_t)k, 0, 0, &t,
				     "sender"), 0);
	ck_assert_int_eq(lwkt_join(t), 0);
	ck_assert_msg(atomic_load(&h_seen) == k, "%llu of %u IPIs arrived "
		      "after the sender polled for 10 s",
		      (unsigned long long)atomic_load(&h_seen), k);
	lwkt_shutdown();
	return atomic_load(&h_early);
}

START_TEST(t_held_until_poll)
{
	/* 3 < 64: nothing may arrive before the sender polls. */
	LT_NEED_CPUS(start(64, 0, false), 2);
	ck_assert_int_eq(held_run(3, 0), 0);
}
END_TEST

START_TEST(t_unbatched_control)
{
	/* The negative control: without batching the target runs them
	 * during the spin (it polls in its idle loop). */
	LT_NEED_CPUS(start(0, 0, false), 2);
	ck_assert_int_eq(held_run(3, 3), 3);
}
END_TEST

START_TEST(t_limit_flushes)
{
	/* The 4th entry on the ring reaches the limit: all 4 go out
	 * without a poll; the 5th and 6th stay held. */
	LT_NEED_CPUS(start(4, 0, false), 2);
	ck_assert_int_eq(held_run(6, 4), 4);
}
END_TEST

START_TEST(t_hard_ipi_no_batch)
{
	LT_NEED_CPUS(start(64, 0, true), 2);
	ck_assert_uint_eq(lwkt_ipi_batch(), 0);
	ck_assert_int_eq(held_run(3, 3), 3);
}
END_TEST

START_TEST(t_bad_env)
{
	ck_assert_uint_eq(lwkt_ipi_batch(), 0);	/* not started */
	setenv("LWKT_IPI_BATCH", "8x", 1);
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	setenv("LWKT_IPI_BATCH", "-1", 1);
	ck_assert_int_eq(lwkt_init(&cfg), EINVAL);
	/* A good value overrides the config: held as with lc_ipi_batch. */
	setenv("LWKT_IPI_BATCH", "64", 1);
	LT_NEED_CPUS(start(0, 0, false), 2);
	ck_assert_uint_eq(lwkt_ipi_batch(), 64);
	ck_assert_int_eq(held_run(3, 0), 0);
	unsetenv("LWKT_IPI_BATCH");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* FIFO and exactly once, both directions flooding, rings of 2..256 */

/* Fewer under the sanitizers (5-15x slower): on rings of 2 a direction
 * moves only while its target polls. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define FL_N 20000
#else
#define FL_N 100000
#endif

struct fdir {
	uint64_t next;		/* receiver cpu only */
	_Atomic uint64_t got;
	_Atomic uint64_t bad;
};
static struct fdir fl[2];	/* fl[d]: traffic to cpu d */

static void
fl_ipi(void *a1, void *a2)
{
	struct fdir *d = a1;
	uint64_t seq = (uint64_t)(uintptr_t)a2;
	if (seq != d->next)
		atomic_fetch_add_explicit(&d->bad, 1, memory_order_relaxed);
	d->next = seq + 1;
	atomic_store_explicit(&d->got, d->got + 1, memory_order_release);
}

static void
fl_sender(void *arg)
{
	int to = (int)(uintptr_t)arg;
	unsigned seed = (unsigned)to + 7;
	for (uint64_t i = 0; i < FL_N; i++) {
		ck_assert_int_eq(lwkt_send_ipiq2(to, fl_ipi, &fl[to],
						 (void *)(uintptr_t)i), 0);
		/* Now and then a wait (a poll: flushes) or a switch. */
		unsigned r = rand_r(&seed) % 64;
		if (r == 0)
			lwkt_yield();
		else if (r == 1)
			lwkt_ipiq_poll();
	}
	/* Until the peer has everything: our polls flush and run its
	 * IPIs (it may be waiting on a ring we must drain). */
	while (atomic_load_explicit(&fl[to].got, memory_order_acquire) < FL_N)
		lwkt_ipiq_poll();
}

/* In a started runtime whose batching limit in force is `limit`. */
static void
flood(unsigned limit)
{
	ck_assert_uint_eq(lwkt_ipi_batch(), limit);
	memset(fl, 0, sizeof fl);
	lwkt_thread_t t0, t1;
	ck_assert_int_eq(lwkt_create(fl_sender, (void *)1, 0, 0, &t0, "to1"),
			 0);
	ck_assert_int_eq(lwkt_create(fl_sender, (void *)0, 1, 0, &t1, "to0"),
			 0);
	ck_assert_int_eq(lwkt_join(t0), 0);
	ck_assert_int_eq(lwkt_join(t1), 0);
	for (int d = 0; d < 2; d++) {
		ck_assert_uint_eq(atomic_load(&fl[d].got), FL_N);
		ck_assert_uint_eq(atomic_load(&fl[d].bad), 0);
	}
	lwkt_shutdown();
}

START_TEST(t_flood_ring2)
{
	LT_NEED_CPUS(start(8, 2, false), 2);
	flood(2);	/* the limit is capped at the ring */
}
END_TEST

START_TEST(t_flood_ring4)
{
	LT_NEED_CPUS(start(3, 4, false), 2);
	flood(3);
}
END_TEST

START_TEST(t_flood_default)
{
	LT_NEED_CPUS(start(32, 0, false), 2);
	flood(32);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* messages: a window of sendmsg by value and by reference (FIFO, each
 * reply once, with its result), then domsg (never EASYNC) */

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define MS_N 10000
#else
#define MS_N 60000
#endif
#define MS_W 48

struct req {
	struct lwkt_msg r_msg;	/* first */
	uint64_t r_seq;
	uint64_t r_quit;
};

static _Atomic(lwkt_port_t) m_port;
static uint64_t m_expect;	/* server only */
static _Atomic uint64_t m_bad, m_served;

static void
m_server(void *arg)
{
	(void)arg;
	lwkt_port_t self = lwkt_thread_port(NULL);
	atomic_store(&m_port, self);
	for (;;) {
		struct req *r = (struct req *)lwkt_waitport(self, 0);
		if (r->r_quit) {
			lwkt_replymsg(&r->r_msg, 0);
			return;
		}
		if (r->r_seq != m_expect)
			atomic_fetch_add(&m_bad, 1);
		m_expect = r->r_seq + 1;
		r->r_msg.u.ms_result64 = (int64_t)(r->r_seq * 3);
		atomic_fetch_add_explicit(&m_served, 1, memory_order_relaxed);
		lwkt_replymsg(&r->r_msg, 0);
	}
}

static void
m_client(void *arg)
{
	(void)arg;
	lwkt_port_t p;
	while ((p = atomic_load(&m_port)) == NULL)
		lwkt_yield();
	lwkt_port_t self = lwkt_thread_port(NULL);
	static struct req w[MS_W];
	static uint8_t replied[MS_N];
	uint64_t sent = 0, got = 0;
	for (int i = 0; i < MS_W; i++) {
		memset(&w[i], 0, sizeof w[i]);
		lwkt_initmsg(&w[i].r_msg, NULL, 0);
	}
	while (got < MS_N) {
		struct req *r;
		if (sent < MS_W) {
			r = &w[sent];
		} else {
			r = (struct req *)lwkt_waitport(self, 0);
			if (r->r_msg.u.ms_result64 != (int64_t)(r->r_seq * 3) ||
			    replied[r->r_seq]++ != 0 ||
			    !(lwkt_msg_flags(&r->r_msg) & MSGF_DONE))
				atomic_fetch_add(&m_bad, 1);
			got++;
			if (sent == MS_N)
				continue;
		}
		/* Alternate by value and by reference (FIFO across both). */
		r->r_msg.ms_valsize = 0;
		if (sent & 1)
			lwkt_msg_byvalue(&r->r_msg, sizeof(uint64_t) * 2);
		r->r_seq = sent++;
		lwkt_sendmsg(p, &r->r_msg);
	}
	for (int i = 0; i < 2000; i++) {
		struct req d;
		memset(&d, 0, sizeof d);
		lwkt_initmsg(&d.r_msg, NULL, 0);
		if (i & 1)
			lwkt_msg_byvalue(&d.r_msg, sizeof(uint64_t) * 2);
		d.r_seq = MS_N + (uint64_t)i;
		if (lwkt_domsg(p, &d.r_msg, 0) != 0 ||
		    d.r_msg.u.ms_result64 != (int64_t)(d.r_seq * 3))
			atomic_fetch_add(&m_bad, 1);
	}
	struct req q;
	memset(&q, 0, sizeof q);
	lwkt_initmsg(&q.r_msg, NULL, 0);
	q.r_quit = 1;
	lwkt_domsg(p, &q.r_msg, 0);
}

START_TEST(t_messages)
{
	LT_NEED_CPUS(start(16, 64, false), 2);
	lwkt_thread_t s, c;
	ck_assert_int_eq(lwkt_create(m_server, NULL, 1, 0, &s, "srv"), 0);
	ck_assert_int_eq(lwkt_create(m_client, NULL, 0, 0, &c, "cli"), 0);
	ck_assert_int_eq(lwkt_join(c), 0);
	ck_assert_int_eq(lwkt_join(s), 0);
	ck_assert_uint_eq(atomic_load(&m_bad), 0);
	ck_assert_uint_eq(atomic_load(&m_served), MS_N + 2000);
	lwkt_shutdown();
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "ipibatch", 120);
	tcase_add_test(tc, t_held_until_poll);
	tcase_add_test(tc, t_unbatched_control);
	tcase_add_test(tc, t_limit_flushes);
	tcase_add_test(tc, t_hard_ipi_no_batch);
	tcase_add_test(tc, t_bad_env);
	tcase_add_test(tc, t_flood_ring2);
	tcase_add_test(tc, t_flood_ring4);
	tcase_add_test(tc, t_flood_default);
	tcase_add_test(tc, t_messages);
}
LTEST_MAIN("ipibatch", add)
