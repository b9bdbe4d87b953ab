/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mutexq.c - the mutex baseline delivers every message exactly once
 * and in order (per producer), in both wake-up modes, with the queue
 * small enough that producers block on "full" as often as consumers on
 * "empty"; and it rejects bad configurations.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ltest.h"
#include "mutexq.h"

#define NMSG 60000u

struct prod {
	struct mutexq *q;
	unsigned id, n;
};

static void *
producer(void *p)
{
	struct prod *pr = p;
	for (unsigned i = 0; i < pr->n; i++)
		mutexq_send(pr->q, ((uint64_t)pr->id << 32) | i, -1);
	return NULL;
}

struct cons {
	struct mutexq *q;
	unsigned nprod, total;		/* messages this consumer takes */
	uint64_t stop;			/* stop marker value */
	unsigned *seen;			/* [nprod * n] exactly-once map */
	unsigned n;
	unsigned bad_order, got;
};

static void *
consumer(void *p)
{
	struct cons *c = p;
	int64_t last[16];
	for (unsigned i = 0; i < 16; i++)
		last[i] = -1;
	for (;;) {
		uint64_t m = mutexq_recv(c->q, -1);
		if (m == c->stop)
			break;
		unsigned id = (unsigned)(m >> 32), seq = (unsigned)m;
		if (id >= c->nprod || seq >= c->n) {
			c->bad_order++;
			continue;
		}
		if ((int64_t)seq <= last[id])
			c->bad_order++;
		last[id] = seq;
		__atomic_fetch_add(&c->seen[id * c->n + seq], 1,
				   __ATOMIC_RELAXED);
		c->got++;
	}
	return NULL;
}

/* nprod producers, ncons consumers, capacity cap: every message once,
 * each consumer sees each producer's messages in increasing order. */
static void
run(enum mutexq_wait mode, uint64_t spin_ns, unsigned nprod, unsigned ncons,
    size_t cap, unsigned n)
{
	struct mutexq q;
	pthread_t pt[16], ct[16];
	struct prod pr[16];
	struct cons cs[16];
	unsigned *seen = calloc((size_t)nprod * n, sizeof *seen);
	const uint64_t stop = UINT64_MAX;

	ck_assert_ptr_nonnull(seen);
	ck_assert_int_eq(mutexq_init(&q, 7, cap, mode, spin_ns), 0);
	for (unsigned i = 0; i < ncons; i++) {
		cs[i] = (struct cons){.q = &q, .nprod = nprod, .stop = stop,
				      .seen = seen, .n = n};
		ck_assert_int_eq(pthread_create(&ct[i], NULL, consumer, &cs[i]), 0);
	}
	for (unsigned i = 0; i < nprod; i++) {
		pr[i] = (struct prod){.q = &q, .id = i, .n = n};
		ck_assert_int_eq(pthread_create(&pt[i], NULL, producer, &pr[i]), 0);
	}
	for (unsigned i = 0; i < nprod; i++)
		pthread_join(pt[i], NULL);
	for (unsigned i = 0; i < ncons; i++)
		mutexq_send(&q, stop, -1);
	unsigned got = 0;
	for (unsigned i = 0; i < ncons; i++) {
		pthread_join(ct[i], NULL);
		ck_assert_uint_eq(cs[i].bad_order, 0);
		got += cs[i].got;
	}
	ck_assert_uint_eq(got, nprod * n);
	for (size_t i = 0; i < (size_t)nprod * n; i++)
		ck_assert_msg(seen[i] == 1, "message %zu seen %u times", i,
			      seen[i]);
	uint64_t m;
	ck_assert(!mutexq_tryrecv(&q, &m, -1));
	mutexq_destroy(&q);
	free(seen);
}

START_TEST(t_spsc_condvar) { run(MUTEXQ_CONDVAR, 0, 1, 1, 8, NMSG); }
END_TEST
START_TEST(t_spsc_spinfutex) { run(MUTEXQ_SPINFUTEX, 20000, 1, 1, 8, NMSG); }
END_TEST
/* No spin at all: every wait goes through the futex path. */
START_TEST(t_spsc_futex_only) { run(MUTEXQ_SPINFUTEX, 0, 1, 1, 2, NMSG / 2); }
END_TEST
START_TEST(t_mpmc_condvar) { run(MUTEXQ_CONDVAR, 0, 4, 2, 16, NMSG / 4); }
END_TEST
START_TEST(t_mpmc_spinfutex) { run(MUTEXQ_SPINFUTEX, 5000, 4, 2, 16, NMSG / 4); }
END_TEST

START_TEST(t_try_and_bad_input)
{
	struct mutexq q;
	uint64_t m;
	ck_assert_int_eq(mutexq_init(&q, 0, 0, MUTEXQ_CONDVAR, 0), EINVAL);
	ck_assert_int_eq(mutexq_init(&q, 0, 3, MUTEXQ_CONDVAR, 0), EINVAL);
	ck_assert_int_eq(mutexq_init(&q, 0, (size_t)1 << 25, MUTEXQ_CONDVAR, 0),
			 EINVAL);
	ck_assert_int_eq(mutexq_init(&q, 0, 4, (enum mutexq_wait)7, 0), EINVAL);
	ck_assert_int_eq(mutexq_init(&q, 0, 2, MUTEXQ_SPINFUTEX, 100), 0);
	ck_assert(!mutexq_tryrecv(&q, &m, -1));
	ck_assert(mutexq_trysend(&q, 10, -1));
	ck_assert(mutexq_trysend(&q, 11, -1));
	ck_assert(!mutexq_trysend(&q, 12, -1));	/* full: unchanged */
	ck_assert(mutexq_tryrecv(&q, &m, -1));
	ck_assert_uint_eq(m, 10);
	ck_assert_uint_eq(mutexq_recv(&q, -1), 11);
	ck_assert(!mutexq_tryrecv(&q, &m, -1));
	mutexq_destroy(&q);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "mutexq", 60);
	tcase_add_test(tc, t_try_and_bad_input);
	tcase_add_test(tc, t_spsc_condvar);
	tcase_add_test(tc, t_spsc_spinfutex);
	tcase_add_test(tc, t_spsc_futex_only);
	tcase_add_test(tc, t_mpmc_condvar);
	tcase_add_test(tc, t_mpmc_spinfutex);
}

LTEST_MAIN("baselines_mutexq", add)
