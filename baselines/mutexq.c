/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mutexq.c - a bounded FIFO under a pthread mutex, woken by a condition
 * variable or by spin-then-futex (see mutexq.h).  This is the design the
 * LWKT messages are measured against, so it is tuned as its users would
 * tune it: signal only when someone sleeps, and signal after the unlock
 * so the woken thread does not block on the mutex we still hold.
 */
#include "mutexq.h"

#include <errno.h>
#include <stdlib.h>

#include "bl_futex.h"
#include "bl_trace.h"

int
mutexq_init(struct mutexq *q, unsigned id, size_t capacity,
	    enum mutexq_wait mode, uint64_t spin_ns)
{
	if (capacity == 0 || capacity > (1u << 24) ||
	    (capacity & (capacity - 1)) != 0)
		return EINVAL;
	if (mode != MUTEXQ_CONDVAR && mode != MUTEXQ_SPINFUTEX)
		return EINVAL;
	q->mq_ring = calloc(capacity, sizeof *q->mq_ring);
	if (q->mq_ring == NULL)
		return ENOMEM;
	pthread_mutex_init(&q->mq_lock, NULL);
	q->mq_head = q->mq_tail = q->mq_enq_seq = q->mq_deq_seq = 0;
	struct mutexq_waitset *ws[2] = {&q->mq_nonempty, &q->mq_nonfull};
	for (int i = 0; i < 2; i++) {
		ws[i]->ws_sleepers = 0;
		atomic_init(&ws[i]->ws_seq, 0);
		pthread_cond_init(&ws[i]->ws_cond, NULL);
	}
	q->mq_cap = capacity;
	q->mq_mode = mode;
	q->mq_spin_ns = mode == MUTEXQ_SPINFUTEX ? spin_ns : 0;
	q->mq_id = id;
	atomic_init(&q->mq_count, 0);
	return 0;
}

void
mutexq_destroy(struct mutexq *q)
{
	pthread_cond_destroy(&q->mq_nonempty.ws_cond);
	pthread_cond_destroy(&q->mq_nonfull.ws_cond);
	pthread_mutex_destroy(&q->mq_lock);
	free(q->mq_ring);
	q->mq_ring = NULL;
}

/* Marks a waitset for waking.  MUST hold mq_lock.  Returns whether the
 * caller must call _mutexq_wake() after its unlock. */
static inline bool
_mutexq_mark(struct mutexq_waitset *ws)
{
	if (ws->ws_sleepers == 0)
		return false;
	/* Under the lock: a sleeper that sampled the old value either has
	 * not slept yet (its futex wait returns at once) or is asleep and
	 * gets the wake below. */
	atomic_store_explicit(&ws->ws_seq,
			      atomic_load_explicit(&ws->ws_seq,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return true;
}

static inline void
_mutexq_wake(struct mutexq *q, struct mutexq_waitset *ws, int cpu)
{
	BL_TRACE(mutexq_wake, q->mq_id, cpu, -1);
	if (q->mq_mode == MUTEXQ_CONDVAR)
		pthread_cond_signal(&ws->ws_cond);
	else
		bl_futex_wake(&ws->ws_seq, 1);
}

/*
 * Blocks until `ready(q)` holds.  MUST hold mq_lock; returns with it held
 * and the condition true.  SPINFUTEX: drop the lock, spin on mq_count,
 * retake it; only then sleep on the futex.
 */
static void
_mutexq_block(struct mutexq *q, struct mutexq_waitset *ws,
	      bool (*ready)(const struct mutexq *))
{
	while (!ready(q)) {
		if (q->mq_mode == MUTEXQ_CONDVAR) {
			ws->ws_sleepers++;
			pthread_cond_wait(&ws->ws_cond, &q->mq_lock);
			ws->ws_sleepers--;
			continue;
		}
		if (q->mq_spin_ns) {
			/* The count mirror is only a hint (relaxed): the
			 * decision is re-made under the lock below. */
			uint64_t seen = atomic_load_explicit(
			    &q->mq_count, memory_order_relaxed);
			struct bl_spin s;
			pthread_mutex_unlock(&q->mq_lock);
			bl_spin_begin(&s, q->mq_spin_ns);
			while (atomic_load_explicit(&q->mq_count,
						    memory_order_relaxed) ==
				   seen &&
			       bl_spin_more(&s))
				;
			pthread_mutex_lock(&q->mq_lock);
			if (ready(q))
				break;
		}
		ws->ws_sleepers++;
		uint32_t seq = atomic_load_explicit(&ws->ws_seq,
						    memory_order_relaxed);
		pthread_mutex_unlock(&q->mq_lock);
		bl_futex_wait(&ws->ws_seq, seq);
		pthread_mutex_lock(&q->mq_lock);
		ws->ws_sleepers--;
	}
}

static bool
_mutexq_nonempty(const struct mutexq *q)
{
	return q->mq_tail != q->mq_head;
}

static bool
_mutexq_nonfull(const struct mutexq *q)
{
	return q->mq_tail - q->mq_head < q->mq_cap;
}

/* Stores msg.  MUST hold mq_lock, queue not full.  Returns "wake". */
static inline bool
_mutexq_put(struct mutexq *q, uint64_t msg, int cpu)
{
	q->mq_ring[q->mq_tail & (q->mq_cap - 1)] = msg;
	q->mq_tail++;
	atomic_store_explicit(&q->mq_count, q->mq_tail - q->mq_head,
			      memory_order_relaxed);
	BL_TRACE(mutexq_enqueue, q->mq_id, cpu, q->mq_enq_seq);
	q->mq_enq_seq++;
	(void)cpu;
	return _mutexq_mark(&q->mq_nonempty);
}

static inline bool
_mutexq_take(struct mutexq *q, uint64_t *msg, int cpu)
{
	*msg = q->mq_ring[q->mq_head & (q->mq_cap - 1)];
	q->mq_head++;
	atomic_store_explicit(&q->mq_count, q->mq_tail - q->mq_head,
			      memory_order_relaxed);
	BL_TRACE(mutexq_dequeue, q->mq_id, cpu, q->mq_deq_seq);
	q->mq_deq_seq++;
	(void)cpu;
	return _mutexq_mark(&q->mq_nonfull);
}

void
mutexq_send(struct mutexq *q, uint64_t msg, int cpu)
{
	pthread_mutex_lock(&q->mq_lock);
	_mutexq_block(q, &q->mq_nonfull, _mutexq_nonfull);
	bool wake = _mutexq_put(q, msg, cpu);
	pthread_mutex_unlock(&q->mq_lock);
	if (wake)
		_mutexq_wake(q, &q->mq_nonempty, cpu);
}

bool
mutexq_trysend(struct mutexq *q, uint64_t msg, int cpu)
{
	pthread_mutex_lock(&q->mq_lock);
	if (!_mutexq_nonfull(q)) {
		pthread_mutex_unlock(&q->mq_lock);
		return false;
	}
	bool wake = _mutexq_put(q, msg, cpu);
	pthread_mutex_unlock(&q->mq_lock);
	if (wake)
		_mutexq_wake(q, &q->mq_nonempty, cpu);
	return true;
}

uint64_t
mutexq_recv(struct mutexq *q, int cpu)
{
	uint64_t msg;
	pthread_mutex_lock(&q->mq_lock);
	_mutexq_block(q, &q->mq_nonempty, _mutexq_nonempty);
	bool wake = _mutexq_take(q, &msg, cpu);
	pthread_mutex_unlock(&q->mq_lock);
	if (wake)
		_mutexq_wake(q, &q->mq_nonfull, cpu);
	return msg;
}

bool
mutexq_tryrecv(struct mutexq *q, uint64_t *msg, int cpu)
{
	pthread_mutex_lock(&q->mq_lock);
	if (!_mutexq_nonempty(q)) {
		pthread_mutex_unlock(&q->mq_lock);
		return false;
	}
	bool wake = _mutexq_take(q, msg, cpu);
	pthread_mutex_unlock(&q->mq_lock);
	if (wake)
		_mutexq_wake(q, &q->mq_nonfull, cpu);
	return true;
}
