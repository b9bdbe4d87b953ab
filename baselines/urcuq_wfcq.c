/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcuq_wfcq.c - messages over liburcu's wait-free concurrent queue
 * (cds_wfcq), the receiver woken by a futex.  Senders never block and
 * never take a lock; the single receiver dequeues without the queue's
 * mutex (it is the only dequeuer).  See urcuq.h for the wake-up protocol.
 */
#include "urcuq.h"

#include "bl_futex.h"
#include "urcuq_tsan.h"

void
urcuq_wfcq_init(struct urcuq_wfcq *q, uint64_t spin_ns)
{
	__cds_wfcq_init(&q->wq_head, &q->wq_tail);
	atomic_init(&q->wq_sleeping, 0);
	q->wq_spin_ns = spin_ns;
	atomic_init(&q->wq_wakes, 0);
}

void
urcuq_wfcq_destroy(struct urcuq_wfcq *q)
{
	(void)q;	/* nodes belong to the callers; nothing allocated */
}

void
urcuq_wfcq_send(struct urcuq_wfcq *q, struct urcuq_msg *m)
{
	cds_wfcq_node_init(&m->um_node);
	/* TSan cannot see the queue's asm atomics: hand the payload over
	 * explicitly (pairs with the acquire in _urcuq_take()). */
	URCUQ_TSAN_RELEASE(m);
	/* The enqueue's xchg on the tail is a full barrier: the node is
	 * visible before the load of wq_sleeping below (Dekker, half 1). */
	cds_wfcq_enqueue(&q->wq_head, &q->wq_tail, &m->um_node);
	if (atomic_load_explicit(&q->wq_sleeping, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&q->wq_sleeping, 0,
				     memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&q->wq_wakes, 1, memory_order_relaxed);
		bl_futex_wake(&q->wq_sleeping, 1);
	}
}

static inline struct urcuq_msg *
_urcuq_take(struct urcuq_wfcq *q)
{
	struct cds_wfcq_node *n =
	    __cds_wfcq_dequeue_nonblocking(&q->wq_head, &q->wq_tail);
	if (n == NULL || n == CDS_WFCQ_WOULDBLOCK)
		return NULL;	/* empty, or an enqueue half done */
	struct urcuq_msg *m = caa_container_of(n, struct urcuq_msg, um_node);
	URCUQ_TSAN_ACQUIRE(m);
	return m;
}

struct urcuq_msg *
urcuq_wfcq_tryrecv(struct urcuq_wfcq *q)
{
	return _urcuq_take(q);
}

struct urcuq_msg *
urcuq_wfcq_recv(struct urcuq_wfcq *q)
{
	for (;;) {
		struct urcuq_msg *m = _urcuq_take(q);
		if (m != NULL)
			return m;
		struct bl_spin s;
		bl_spin_begin(&s, q->wq_spin_ns);
		while (cds_wfcq_empty(&q->wq_head, &q->wq_tail) &&
		       bl_spin_more(&s))
			;
		if (!cds_wfcq_empty(&q->wq_head, &q->wq_tail))
			continue;	/* (maybe half-enqueued: retry) */
		/* Dekker, half 2: announce the sleep (seq_cst store: a full
		 * fence on x86), then re-check the queue. */
		atomic_store_explicit(&q->wq_sleeping, 1, memory_order_seq_cst);
		if (!cds_wfcq_empty(&q->wq_head, &q->wq_tail)) {
			atomic_store_explicit(&q->wq_sleeping, 0,
					      memory_order_relaxed);
			continue;
		}
		/* Returns at once if a sender already cleared the word. */
		while (atomic_load_explicit(&q->wq_sleeping,
					    memory_order_acquire))
			bl_futex_wait(&q->wq_sleeping, 1);
	}
}
