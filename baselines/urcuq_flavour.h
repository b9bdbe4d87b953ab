/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcuq_flavour.h - the RCU table's inline operations for one liburcu
 * flavour (private).  Include with URCUQ_IS_QSBR defined to 0 (urcu-memb) or
 * 1 (urcu-qsbr), once per translation unit; the fast paths inline
 * (_LGPL_SOURCE), as an expert user of liburcu builds them.
 *
 * The table: BL_TABLE_SLOTS pointers to immutable entries.  Invariant: an
 * entry reachable from ut_slot is never written again; an update
 * allocates a copy, publishes it with one pointer exchange and frees the
 * old entry only after a grace period (synchronize_rcu, or call_rcu).
 * Readers must be registered with the flavour; qsbr readers must announce
 * a quiescent state now and then (URCUQ_QS), outside any section.
 */
#ifndef LWKT_BASELINES_URCUQ_FLAVOUR_H
#define LWKT_BASELINES_URCUQ_FLAVOUR_H

#ifndef URCUQ_IS_QSBR
#error "define URCUQ_IS_QSBR to 0 (memb) or 1 (qsbr) before including"
#endif

#include "urcuq.h"		/* first: it sets _LGPL_SOURCE */

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#if URCUQ_IS_QSBR
#include <urcu/urcu-qsbr.h>
#define RCU(x) urcu_qsbr_##x
/*
 * URCUQ_QS(n, every): a quiescent state after every `every`-th read-side
 * operation (a power of two; n counts the operations).  The interval is a
 * trade between read cost and grace-period latency: synchronize_rcu waits
 * until each online reader has announced one, first by polling, then on a
 * futex.  liburcu's own benchmark (tests/benchmark/test_urcu_qsbr.c)
 * announces one every 1024 reads of a bare pointer, about 1 us of reading;
 * one read of this table copies and checks a 64-byte entry, ~16x longer,
 * so the same time between quiescent states is about 64 reads: the
 * default.  At 1024 of our reads the updater waits ~16 us per grace
 * period and falls back to futex sleeps.
 */
#define URCUQ_QS_EVERY 64
#define URCUQ_QS(n, every) do { \
	if (((n) & ((every) - 1)) == 0) urcu_qsbr_quiescent_state(); \
} while (0)
#define URCUQ_OFFLINE() urcu_qsbr_thread_offline()
#define URCUQ_ONLINE() urcu_qsbr_thread_online()
#else
#include <urcu/urcu-memb.h>
#define RCU(x) urcu_memb_##x
#define URCUQ_QS_EVERY 1
#define URCUQ_QS(n, every) do { (void)(n); (void)(every); } while (0)
#define URCUQ_OFFLINE() do { } while (0)
#define URCUQ_ONLINE() do { } while (0)
#endif

#include "bl_table.h"
#include "urcuq_tsan.h"

struct urcuq_entry {
	struct bl_entry ue_e;		/* immutable once published */
	/* Stress mode only: 0 live, 1 removed, 2+ grace periods since.
	 * Written by the updater (or the call_rcu thread), read by readers;
	 * relaxed: the grace period orders it (see urcuq.h). */
	_Atomic uint64_t ue_age;
	struct rcu_head ue_rcu;		/* call_rcu linkage */
};

struct urcuq_table {
	_Alignas(LWKT_CACHELINE) struct urcuq_entry *ut_slot[BL_TABLE_SLOTS];
};

static inline struct urcuq_entry *
urcuq_entry_new(unsigned slot, uint64_t gen)
{
	struct urcuq_entry *e = malloc(sizeof *e);
	if (e == NULL)
		return NULL;
	bl_entry_fill(&e->ue_e, slot, gen);
	atomic_init(&e->ue_age, 0);
	return e;
}

/* Fills every slot; 0 or ENOMEM (then the table is empty again). */
static inline int
urcuq_table_init(struct urcuq_table *t)
{
	for (unsigned i = 0; i < BL_TABLE_SLOTS; i++) {
		t->ut_slot[i] = urcuq_entry_new(i, 0);
		if (t->ut_slot[i] == NULL) {
			while (i--)
				free(t->ut_slot[i]);
			return ENOMEM;
		}
	}
	return 0;
}

/* Frees the live entries.  No reader may run; callbacks flushed. */
static inline void
urcuq_table_fini(struct urcuq_table *t)
{
	URCUQ_GP_ACQUIRE();
	for (unsigned i = 0; i < BL_TABLE_SLOTS; i++) {
		free(t->ut_slot[i]);
		t->ut_slot[i] = NULL;
	}
}

/* Copies slot's entry into *out inside one read-side section.  The
 * subscribe (URCUQ_DEREF) pairs with the publish in urcuq_update(). */
static inline void
urcuq_read(struct urcuq_table *t, unsigned slot, struct bl_entry *out)
{
	RCU(read_lock)();
	struct urcuq_entry *e = URCUQ_DEREF(&t->ut_slot[slot]);
	*out = e->ue_e;
	URCUQ_GP_RELEASE();
	RCU(read_unlock)();
}

/* Callbacks run so far (this translation unit's urcuq_free_cb): written
 * by the call_rcu thread (release, after its last touch of the entry),
 * read by urcuq_wait_callbacks() (acquire). */
static _Atomic uint64_t urcuq_cb_done;

static inline void
urcuq_free_cb(struct rcu_head *h)
{
	URCUQ_GP_ACQUIRE();	/* after the grace period: readers are out */
	free(caa_container_of(h, struct urcuq_entry, ue_rcu));
	atomic_fetch_add_explicit(&urcuq_cb_done, 1, memory_order_release);
}

/*
 * Waits until `n` urcuq_free_cb callbacks have run in total.  Used instead
 * of rcu_barrier(), whose internal hand-off TSan cannot see.  qsbr: the
 * caller MUST be offline (the call_rcu thread waits for a grace period).
 */
static inline void
urcuq_wait_callbacks(uint64_t n)
{
	while (atomic_load_explicit(&urcuq_cb_done, memory_order_acquire) < n) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
}

/* Replaces slot's entry by a new one of generation gen and reclaims the
 * old one.  MUST NOT be called inside a read-side section.  One updater
 * at a time per slot (the exchange itself is safe, the reclaim order is
 * what the caller owns).  Returns 0 or ENOMEM (table unchanged). */
static inline int
urcuq_update(struct urcuq_table *t, unsigned slot, uint64_t gen,
	     enum urcuq_reclaim how)
{
	struct urcuq_entry *n = urcuq_entry_new(slot, gen), *old;
	if (n == NULL)
		return ENOMEM;
	/* Publish: the entry's contents are written before the pointer
	 * (xchg is a full barrier; the TSan form is acq_rel). */
	old = URCUQ_PUBLISH(&t->ut_slot[slot], n);
	if (how == URCUQ_SYNC) {
		RCU(synchronize_rcu)();
		URCUQ_GP_ACQUIRE();
		free(old);
	} else {
		URCUQ_GP_RELEASE();	/* to the callback's acquire */
		RCU(call_rcu)(&old->ue_rcu, urcuq_free_cb);
	}
	return 0;
}

#endif /* LWKT_BASELINES_URCUQ_FLAVOUR_H */
