/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcuq_stress.h - the rcutorture-style stress test body for one flavour
 * (private; included by urcuq_memb.c and urcuq_qsbr.c after
 * urcuq_flavour.h).  See urcuq.h for the method.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "bl_futex.h"

#define URCUQ_STRESS_SLOTS 4u	/* few slots: readers meet removals often */
#define URCUQ_QUARANTINE 16u

struct urcuq_stress_reader {
	pthread_t sr_tid;
	struct urcuq_stress *sr_s;
	uint64_t sr_seed;
	/* Reader-owned until joined. */
	uint64_t sr_hist[URCUQ_AGE_MAX + 2];
	uint64_t sr_reads, sr_torn;
};

struct urcuq_stress {
	_Alignas(LWKT_CACHELINE) struct urcuq_entry *ss_slot[URCUQ_STRESS_SLOTS];
	/* Set once by the updater at the end (release); readers poll it
	 * (acquire) between sections. */
	_Alignas(LWKT_CACHELINE) _Atomic int ss_stop;
	unsigned ss_max_delay;
	/* call_rcu mode: entries the callbacks moved out, freed at the end.
	 * Only the call_rcu worker thread touches the list until rcu_barrier
	 * returns; then the updater does. */
	struct urcuq_entry *ss_cb_list[1 << 16];
	unsigned ss_cb_n;
	uint64_t ss_cb_dropped;
	/* Callbacks run: release by the callback after its last touch,
	 * acquire by the updater waiting for all of them at the end. */
	_Atomic uint64_t ss_cb_done;
};

static struct urcuq_stress *urcuq_stress_cur;	/* for the callback */

static inline uint64_t
urcuq_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *
urcuq_stress_reader_main(void *p)
{
	struct urcuq_stress_reader *r = p;
	struct urcuq_stress *s = r->sr_s;
	uint64_t n = 0;

	RCU(register_thread)();
	while (!atomic_load_explicit(&s->ss_stop, memory_order_acquire)) {
		uint64_t x = urcuq_rand(&r->sr_seed);
		unsigned slot = (unsigned)x % URCUQ_STRESS_SLOTS;
		unsigned delay = s->ss_max_delay ?
		    (unsigned)(x >> 32) % (s->ss_max_delay + 1) : 0;

		RCU(read_lock)();
		struct urcuq_entry *e = URCUQ_DEREF(&s->ss_slot[slot]);
		struct bl_entry copy = e->ue_e;
		for (unsigned i = 0; i < delay; i++)
			lwkt_cpu_relax();
		/* The age at the END of the section is what matters: it
		 * must never show a grace period completed meanwhile. */
		uint64_t age = atomic_load_explicit(&e->ue_age,
						    memory_order_relaxed);
		URCUQ_GP_RELEASE();
		RCU(read_unlock)();

		r->sr_hist[age > URCUQ_AGE_MAX ? URCUQ_AGE_MAX + 1 : age]++;
		r->sr_torn += !bl_entry_ok(&copy);
		n++;
		URCUQ_QS(n, URCUQ_QS_EVERY);
	}
	r->sr_reads = n;
	URCUQ_OFFLINE();
	RCU(unregister_thread)();
	return NULL;
}

static void
urcuq_stress_cb(struct rcu_head *h)
{
	struct urcuq_stress *s = urcuq_stress_cur;
	struct urcuq_entry *e = caa_container_of(h, struct urcuq_entry, ue_rcu);

	URCUQ_GP_ACQUIRE();
	atomic_store_explicit(&e->ue_age, 2, memory_order_relaxed);
	/* Kept readable until the end, so a late reader shows up in the
	 * histogram rather than as a crash; beyond the list, freed now. */
	if (s->ss_cb_n < sizeof s->ss_cb_list / sizeof s->ss_cb_list[0])
		s->ss_cb_list[s->ss_cb_n++] = e;
	else {
		s->ss_cb_dropped++;
		free(e);
	}
	atomic_fetch_add_explicit(&s->ss_cb_done, 1, memory_order_release);
}

int
URCUQ_NAME(stress)(const struct urcuq_stress_cfg *cfg,
		   struct urcuq_stress_result *res)
{
	struct urcuq_stress_reader rd[16];
	struct urcuq_entry *quar[URCUQ_QUARANTINE];
	unsigned nq = 0, started = 0;
	int err = 0;

	if (cfg->sc_readers < 1 || cfg->sc_readers > 16 ||
	    cfg->sc_duration_ms < 1 || cfg->sc_duration_ms > 60000 ||
	    (cfg->sc_reclaim != URCUQ_SYNC && cfg->sc_reclaim != URCUQ_CALL_RCU &&
	     cfg->sc_reclaim != URCUQ_BROKEN_NO_GP))
		return EINVAL;
	struct urcuq_stress *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ENOMEM;
	memset(res, 0, sizeof *res);
	s->ss_max_delay = cfg->sc_max_delay;
	urcuq_stress_cur = s;
	for (unsigned i = 0; i < URCUQ_STRESS_SLOTS; i++) {
		s->ss_slot[i] = urcuq_entry_new(i, 0);
		if (s->ss_slot[i] == NULL) {
			err = ENOMEM;
			goto out_free;
		}
	}
	RCU(register_thread)();
	for (; started < cfg->sc_readers; started++) {
		struct urcuq_stress_reader *r = &rd[started];
		memset(r, 0, sizeof *r);
		r->sr_s = s;
		r->sr_seed = 0x9e3779b97f4a7c15ull * (started + 1);
		err = pthread_create(&r->sr_tid, NULL,
				     urcuq_stress_reader_main, r);
		if (err)
			break;
	}
	uint64_t gen = 0, seed = 12345;
	uint64_t end = bl_now_ns() + (uint64_t)cfg->sc_duration_ms * 1000000u;
	while (!err && bl_now_ns() < end) {
		unsigned slot = (unsigned)urcuq_rand(&seed) % URCUQ_STRESS_SLOTS;
		struct urcuq_entry *n = urcuq_entry_new(slot, ++gen), *old;
		if (n == NULL) {
			err = ENOMEM;
			break;
		}
		old = URCUQ_PUBLISH(&s->ss_slot[slot], n);
		atomic_store_explicit(&old->ue_age, 1, memory_order_relaxed);
		res->sr_updates++;
		if (cfg->sc_reclaim == URCUQ_CALL_RCU) {
			URCUQ_GP_RELEASE();
			RCU(call_rcu)(&old->ue_rcu, urcuq_stress_cb);
			URCUQ_QS(gen, URCUQ_QS_EVERY);
			continue;
		}
		if (cfg->sc_reclaim == URCUQ_BROKEN_NO_GP) {
			/* No grace period: pretend one passed.  Kept (not
			 * freed) until the readers are gone. */
			atomic_store_explicit(&old->ue_age, 2,
					      memory_order_relaxed);
			for (unsigned i = 0; i < s->ss_cb_n; i++)
				atomic_fetch_add_explicit(
				    &s->ss_cb_list[i]->ue_age, 1,
				    memory_order_relaxed);
			s->ss_cb_list[s->ss_cb_n++] = old;
			if (s->ss_cb_n == 256)
				break;
			/* Let reader sections overlap the removals. */
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
			continue;
		}
		RCU(synchronize_rcu)();
		URCUQ_GP_ACQUIRE();
		/* One more grace period for everything in quarantine. */
		for (unsigned i = 0; i < nq; i++)
			atomic_fetch_add_explicit(&quar[i]->ue_age, 1,
						  memory_order_relaxed);
		atomic_store_explicit(&old->ue_age, 2, memory_order_relaxed);
		if (nq == URCUQ_QUARANTINE) {
			free(quar[0]);
			res->sr_freed++;
			memmove(quar, quar + 1, (nq - 1) * sizeof quar[0]);
			nq--;
		}
		quar[nq++] = old;
	}
	atomic_store_explicit(&s->ss_stop, 1, memory_order_release);
	URCUQ_OFFLINE();
	for (unsigned i = 0; i < started; i++) {
		pthread_join(rd[i].sr_tid, NULL);
		for (unsigned a = 0; a < URCUQ_AGE_MAX + 2; a++)
			res->sr_age_hist[a] += rd[i].sr_hist[a];
		res->sr_reads += rd[i].sr_reads;
		res->sr_torn += rd[i].sr_torn;
	}
	/* Every callback has run (rcu_barrier()'s internal hand-off is
	 * invisible to TSan; counting is not). */
	if (cfg->sc_reclaim == URCUQ_CALL_RCU)
		while (atomic_load_explicit(&s->ss_cb_done,
					    memory_order_acquire) <
		       res->sr_updates) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	URCUQ_GP_ACQUIRE();
	URCUQ_ONLINE();
	RCU(unregister_thread)();
	for (unsigned i = 0; i < nq; i++, res->sr_freed++)
		free(quar[i]);
	for (unsigned i = 0; i < s->ss_cb_n; i++, res->sr_freed++)
		free(s->ss_cb_list[i]);
	res->sr_freed += s->ss_cb_dropped;
out_free:
	for (unsigned i = 0; i < URCUQ_STRESS_SLOTS; i++)
		free(s->ss_slot[i]);
	urcuq_stress_cur = NULL;
	free(s);
	return err;
}
