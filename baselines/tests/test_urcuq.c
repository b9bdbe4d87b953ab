/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_urcuq.c - the liburcu baselines: the RCU table's stress mode
 * (rcutorture's age histogram: no reader ever holds an entry across a
 * whole grace period, no torn entry) for both flavours and both reclaim
 * modes; and the cds_wfcq queue delivers every message once and in order,
 * including when every wait goes through the futex (no lost wake-up: a
 * lost one hangs and the test's timeout fails it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltest.h"
#include "urcuq.h"

static void
stress(enum urcuq_flavour fl, enum urcuq_reclaim how)
{
	struct urcuq_stress_cfg cfg = {
		.sc_flavour = fl, .sc_reclaim = how, .sc_readers = 2,
		.sc_duration_ms = 400, .sc_max_delay = 200,
	};
	struct urcuq_stress_result r;

	ck_assert_int_eq(urcuq_stress(&cfg, &r), 0);
	printf("stress %s/%s: reads %llu updates %llu freed %llu ages:",
	       fl == URCUQ_MEMB ? "memb" : "qsbr",
	       how == URCUQ_SYNC ? "sync" : "call_rcu",
	       (unsigned long long)r.sr_reads,
	       (unsigned long long)r.sr_updates,
	       (unsigned long long)r.sr_freed);
	for (unsigned a = 0; a < URCUQ_AGE_MAX + 2; a++)
		printf(" %llu", (unsigned long long)r.sr_age_hist[a]);
	printf("\n");
	ck_assert_uint_gt(r.sr_reads, 0);
	ck_assert_uint_gt(r.sr_updates, 0);
	ck_assert_uint_eq(r.sr_freed, r.sr_updates);	/* no leak */
	ck_assert_uint_eq(r.sr_torn, 0);
	for (unsigned a = 2; a < URCUQ_AGE_MAX + 2; a++)
		ck_assert_msg(r.sr_age_hist[a] == 0,
			      "%llu reads saw an entry of age %u: a grace "
			      "period ended under a reader",
			      (unsigned long long)r.sr_age_hist[a], a);
}

START_TEST(t_stress_memb_sync) { stress(URCUQ_MEMB, URCUQ_SYNC); }
END_TEST
START_TEST(t_stress_memb_callrcu) { stress(URCUQ_MEMB, URCUQ_CALL_RCU); }
END_TEST
START_TEST(t_stress_qsbr_sync) { stress(URCUQ_QSBR, URCUQ_SYNC); }
END_TEST
START_TEST(t_stress_qsbr_callrcu) { stress(URCUQ_QSBR, URCUQ_CALL_RCU); }
END_TEST

/* Negative control: without grace periods the same histogram must show
 * readers holding entries that were "reclaimed" under them.  Readers
 * delay inside their sections; the updater keeps going until it has
 * retired 256 entries, which it does in microseconds, so it waits a
 * little between updates to let sections overlap removals. */
START_TEST(t_stress_detects_missing_gp)
{
	struct urcuq_stress_cfg cfg = {
		.sc_flavour = URCUQ_MEMB, .sc_reclaim = URCUQ_BROKEN_NO_GP,
		.sc_readers = 2, .sc_duration_ms = 2000, .sc_max_delay = 20000,
	};
	struct urcuq_stress_result r;
	uint64_t late = 0;

	ck_assert_int_eq(urcuq_stress(&cfg, &r), 0);
	for (unsigned a = 2; a < URCUQ_AGE_MAX + 2; a++)
		late += r.sr_age_hist[a];
	printf("negative control: reads %llu updates %llu, %llu reads saw "
	       "age >= 2\n", (unsigned long long)r.sr_reads,
	       (unsigned long long)r.sr_updates, (unsigned long long)late);
	ck_assert_uint_eq(r.sr_freed, r.sr_updates);
	ck_assert_msg(late > 0, "the age histogram missed reclaim without "
		      "a grace period");
}
END_TEST

START_TEST(t_stress_bad_cfg)
{
	struct urcuq_stress_result r;
	struct urcuq_stress_cfg ok = {URCUQ_MEMB, URCUQ_SYNC, 1, 10, 0}, c;
	c = ok; c.sc_readers = 0;
	ck_assert_int_eq(urcuq_stress(&c, &r), EINVAL);
	c = ok; c.sc_readers = 17;
	ck_assert_int_eq(urcuq_stress(&c, &r), EINVAL);
	c = ok; c.sc_duration_ms = 0;
	ck_assert_int_eq(urcuq_stress(&c, &r), EINVAL);
	c = ok; c.sc_flavour = (enum urcuq_flavour)9;
	ck_assert_int_eq(urcuq_stress(&c, &r), EINVAL);
	c = ok; c.sc_reclaim = (enum urcuq_reclaim)9;
	ck_assert_int_eq(urcuq_stress(&c, &r), EINVAL);
}
END_TEST

/* ---- cds_wfcq messaging: producers malloc, the consumer frees. */
#define WMSG 40000u

struct wprod {
	struct urcuq_wfcq *q;
	unsigned id, n;
	int fail;
};

static void *
wproducer(void *p)
{
	struct wprod *w = p;
	for (unsigned i = 0; i < w->n; i++) {
		struct urcuq_msg *m = malloc(sizeof *m);
		if (m == NULL) {
			w->fail = 1;
			return NULL;
		}
		m->um_val = ((uint64_t)w->id << 32) | i;
		urcuq_wfcq_send(w->q, m);
	}
	return NULL;
}

static void
wrun(unsigned nprod, uint64_t spin_ns, unsigned n)
{
	struct urcuq_wfcq q;
	pthread_t t[8];
	struct wprod w[8];
	int64_t last[8];
	uint64_t sum = 0, expect_sum = 0;

	urcuq_wfcq_init(&q, spin_ns);
	ck_assert_ptr_null(urcuq_wfcq_tryrecv(&q));
	for (unsigned i = 0; i < nprod; i++) {
		w[i] = (struct wprod){.q = &q, .id = i, .n = n};
		last[i] = -1;
		ck_assert_int_eq(pthread_create(&t[i], NULL, wproducer, &w[i]), 0);
	}
	for (unsigned k = 0; k < nprod * n; k++) {
		struct urcuq_msg *m = urcuq_wfcq_recv(&q);
		unsigned id = (unsigned)(m->um_val >> 32);
		unsigned seq = (unsigned)m->um_val;
		ck_assert_uint_lt(id, nprod);
		ck_assert_msg((int64_t)seq == last[id] + 1,
			      "producer %u: got %u after %lld", id, seq,
			      (long long)last[id]);
		last[id] = seq;
		sum += m->um_val;
		free(m);
	}
	for (unsigned i = 0; i < nprod; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].fail, 0);
		for (unsigned s = 0; s < n; s++)
			expect_sum += ((uint64_t)i << 32) | s;
	}
	ck_assert_uint_eq(sum, expect_sum);
	ck_assert_ptr_null(urcuq_wfcq_tryrecv(&q));
	urcuq_wfcq_destroy(&q);
}

START_TEST(t_wfcq_spsc) { wrun(1, 20000, WMSG); }
END_TEST
START_TEST(t_wfcq_mpsc) { wrun(4, 20000, WMSG / 4); }
END_TEST
START_TEST(t_wfcq_futex_only) { wrun(2, 0, WMSG / 4); }
END_TEST

/* Ping-pong with no spin: each side sleeps every time. */
struct wpp {
	struct urcuq_wfcq a, b;
	struct urcuq_msg ma, mb;
	unsigned n, bad;
};

static void *
wpp_partner(void *p)
{
	struct wpp *w = p;
	for (unsigned i = 0; i < w->n; i++) {
		struct urcuq_msg *m = urcuq_wfcq_recv(&w->a);
		w->bad += m->um_val != i;
		w->mb.um_val = i;
		urcuq_wfcq_send(&w->b, &w->mb);
	}
	return NULL;
}

START_TEST(t_wfcq_pingpong_sleeping)
{
	static struct wpp w;
	pthread_t t;
	unsigned bad = 0;

	w.n = 3000;
	w.bad = 0;
	urcuq_wfcq_init(&w.a, 0);
	urcuq_wfcq_init(&w.b, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, wpp_partner, &w), 0);
	for (unsigned i = 0; i < w.n; i++) {
		w.ma.um_val = i;
		urcuq_wfcq_send(&w.a, &w.ma);
		bad += urcuq_wfcq_recv(&w.b)->um_val != i;
	}
	pthread_join(t, NULL);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(w.bad, 0);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "rcu_stress", 60);
	tcase_add_test(tc, t_stress_bad_cfg);
	tcase_add_test(tc, t_stress_memb_sync);
	tcase_add_test(tc, t_stress_memb_callrcu);
	tcase_add_test(tc, t_stress_qsbr_sync);
	tcase_add_test(tc, t_stress_qsbr_callrcu);
	tcase_add_test(tc, t_stress_detects_missing_gp);
	tc = ltest_tcase(s, "wfcq", 60);
	tcase_add_test(tc, t_wfcq_spsc);
	tcase_add_test(tc, t_wfcq_mpsc);
	tcase_add_test(tc, t_wfcq_futex_only);
	tcase_add_test(tc, t_wfcq_pingpong_sleeping);
}

LTEST_MAIN("baselines_urcuq", add)
