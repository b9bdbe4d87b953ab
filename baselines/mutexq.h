/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mutexq.h - the "traditional mutex design" message queue: a bounded FIFO
 * of 64-bit messages under one pthread mutex, any number of producers and
 * consumers.  A blocked side waits either on a condition variable
 * (MUTEXQ_CONDVAR) or by spinning on a lock-free mirror of the fill count
 * and then sleeping on a futex (MUTEXQ_SPINFUTEX).
 *
 * Exclusion: every field marked (L) is read and written with mq_lock held.
 * The queue is FIFO for all messages: with several producers, each
 * producer's messages stay in its own order.
 */
#ifndef LWKT_BASELINES_MUTEXQ_H
#define LWKT_BASELINES_MUTEXQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwkt/arch.h"

enum mutexq_wait {
	MUTEXQ_CONDVAR,		/* pthread_cond_wait while empty/full */
	MUTEXQ_SPINFUTEX,	/* spin on mq_count, then futex */
};

/*
 * One side's sleepers (consumers waiting for "non-empty" or producers
 * waiting for "non-full").  ws_sleepers and the ws_seq bump happen under
 * mq_lock; a sleeper samples ws_seq under the lock after seeing the
 * condition false, then futex-waits on that value outside it, so a bump
 * between its unlock and its wait makes the wait return at once.
 */
struct mutexq_waitset {
	unsigned ws_sleepers;		/* (L) threads blocked or about to */
	_Atomic uint32_t ws_seq;	/* (L) write; futex word */
	pthread_cond_t ws_cond;		/* MUTEXQ_CONDVAR only */
};

struct mutexq {
	_Alignas(LWKT_CACHELINE) pthread_mutex_t mq_lock;
	uint64_t mq_head;		/* (L) next slot to dequeue */
	uint64_t mq_tail;		/* (L) next slot to enqueue */
	uint64_t mq_enq_seq;		/* (L) messages ever enqueued */
	uint64_t mq_deq_seq;		/* (L) messages ever dequeued */
	struct mutexq_waitset mq_nonempty;
	struct mutexq_waitset mq_nonfull;
	uint64_t *mq_ring;		/* (L) mq_cap slots */
	size_t mq_cap;			/* power of two; constant */
	enum mutexq_wait mq_mode;	/* constant */
	uint64_t mq_spin_ns;		/* constant: spin budget (SPINFUTEX) */
	unsigned mq_id;			/* constant: trace queue_id */
	/* Fill count mirror for spinners: written (relaxed) under the lock
	 * after every change; read without it only as a hint to stop
	 * spinning, the decision is always re-made under the lock.  Its own
	 * line: spinners poll it while the owner updates the rest. */
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t mq_count;
};

/*
 * Initialises q with `capacity` slots (a power of two, 1 .. 2^24).
 * spin_ns: how long a MUTEXQ_SPINFUTEX waiter spins before sleeping (0:
 * never spin); ignored for MUTEXQ_CONDVAR.  id: the trace queue_id.
 * Returns 0, EINVAL (bad capacity or mode) or ENOMEM; on error q is not
 * initialised and nothing needs freeing.
 */
int mutexq_init(struct mutexq *q, unsigned id, size_t capacity,
		enum mutexq_wait mode, uint64_t spin_ns);
/* Frees q's ring.  No thread may use q during or after this. */
void mutexq_destroy(struct mutexq *q);

/* Appends msg, blocking while the queue is full.  cpu: the caller's PU
 * (trace only; -1 if unknown). */
void mutexq_send(struct mutexq *q, uint64_t msg, int cpu);
/* Appends msg if there is room; false (nothing changed) if full. */
bool mutexq_trysend(struct mutexq *q, uint64_t msg, int cpu);
/* Removes the oldest message, blocking while the queue is empty. */
uint64_t mutexq_recv(struct mutexq *q, int cpu);
/* Removes the oldest message into *msg if any; false if empty. */
bool mutexq_tryrecv(struct mutexq *q, uint64_t *msg, int cpu);

#endif /* LWKT_BASELINES_MUTEXQ_H */
