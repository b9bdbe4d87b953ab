/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowtab.c - the pipeline workload's flow table under each sharing
 * design (flowtab.h), and the mutex+condvar worker pool.
 */
#include "urcuq.h"		/* first: sets _LGPL_SOURCE (not under TSan) */

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "flowtab.h"
#include "mutexq.h"

int
bl_flowtab_init(struct bl_flowtab *t, enum bl_ft_mode mode, size_t buckets,
		size_t capacity)
{
	if (buckets == 0 || (buckets & (buckets - 1)) != 0 ||
	    buckets > (1u << 30) || capacity == 0 || mode > BL_FT_URCU)
		return EINVAL;
	memset(t, 0, sizeof *t);
	t->t_mode = mode;
	t->t_mask = (uint32_t)(buckets - 1);
	t->t_cap = capacity;
	t->t_bucket = aligned_alloc(LWKT_CACHELINE,
				    buckets * sizeof *t->t_bucket);
	t->t_pool = calloc(capacity, sizeof *t->t_pool);
	if (t->t_bucket == NULL || t->t_pool == NULL) {
		free(t->t_bucket);
		free(t->t_pool);
		return ENOMEM;
	}
	memset(t->t_bucket, 0, buckets * sizeof *t->t_bucket);
	pthread_mutex_init(&t->t_lock, NULL);
	for (size_t i = 0; i < buckets; i++)
		pthread_mutex_init(&t->t_bucket[i].b_lock, NULL);
	for (size_t i = 0; i < capacity; i++)
		pthread_spin_init(&t->t_pool[i].f_lock,
				  PTHREAD_PROCESS_PRIVATE);
	atomic_init(&t->t_used, 0);
	return 0;
}

void
bl_flowtab_destroy(struct bl_flowtab *t)
{
	for (size_t i = 0; i <= t->t_mask; i++)
		pthread_mutex_destroy(&t->t_bucket[i].b_lock);
	for (size_t i = 0; i < t->t_cap; i++)
		pthread_spin_destroy(&t->t_pool[i].f_lock);
	pthread_mutex_destroy(&t->t_lock);
	free(t->t_bucket);
	free(t->t_pool);
	t->t_bucket = NULL;
	t->t_pool = NULL;
}

void
bl_flowtab_thread_online(struct bl_flowtab *t)
{
	if (t->t_mode == BL_FT_URCU)
		urcu_memb_register_thread();
}

void
bl_flowtab_thread_offline(struct bl_flowtab *t)
{
	if (t->t_mode == BL_FT_URCU)
		urcu_memb_unregister_thread();
}

static inline bool
key_eq(const struct bl_flowkey *a, const struct bl_flowkey *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* Walks bucket b's chain.  Acquire loads: pair with the release store
 * that published each entry (insert_locked), so its key is visible. */
static inline struct bl_flow *
lookup(struct bl_ftbucket *b, const struct bl_flowkey *k)
{
	for (struct bl_flow *f = atomic_load_explicit(&b->b_head,
						      memory_order_acquire);
	     f != NULL;
	     f = atomic_load_explicit(&f->f_next, memory_order_acquire))
		if (key_eq(&f->f_key, k))
			return f;
	return NULL;
}

/* Inserts k at the head of b.  The caller excludes other inserters of b
 * (table lock, bucket lock, or ownership); readers may walk b meanwhile. */
static struct bl_flow *
insert_locked(struct bl_flowtab *t, struct bl_ftbucket *b,
	      const struct bl_flowkey *k)
{
	size_t i = atomic_fetch_add_explicit(&t->t_used, 1,
					     memory_order_relaxed);
	if (i >= t->t_cap)
		return NULL;
	struct bl_flow *f = &t->t_pool[i];
	f->f_key = *k;
	f->f_pkts = f->f_bytes = f->f_nextseq = 0;
	atomic_store_explicit(&f->f_next,
			      atomic_load_explicit(&b->b_head,
						   memory_order_relaxed),
			      memory_order_relaxed);
	/* Publishes f (key, next): pairs with lookup's acquire. */
	atomic_store_explicit(&b->b_head, f, memory_order_release);
	return f;
}

/* The per-packet update, under whatever excludes other updaters of f. */
static inline int
update(struct bl_flow *f, uint64_t seq, uint32_t len, uint64_t *ack)
{
	int e = 0;
	if (seq != f->f_nextseq)
		e = EPROTO;
	else
		f->f_nextseq = seq + 1;
	f->f_pkts++;
	f->f_bytes += len;
	*ack = f->f_pkts;
	return e;
}

int
bl_flowtab_packet(struct bl_flowtab *t, const struct bl_flowkey *k,
		  uint32_t hash, uint64_t seq, uint32_t len, uint64_t *ack)
{
	struct bl_ftbucket *b = &t->t_bucket[hash & t->t_mask];
	struct bl_flow *f;
	int e;

	switch (t->t_mode) {
	case BL_FT_OWNED:
		if ((f = lookup(b, k)) == NULL &&
		    (f = insert_locked(t, b, k)) == NULL)
			return ENOSPC;
		return update(f, seq, len, ack);
	case BL_FT_MUTEX:
		pthread_mutex_lock(&t->t_lock);
		if ((f = lookup(b, k)) == NULL &&
		    (f = insert_locked(t, b, k)) == NULL) {
			pthread_mutex_unlock(&t->t_lock);
			return ENOSPC;
		}
		e = update(f, seq, len, ack);
		pthread_mutex_unlock(&t->t_lock);
		return e;
	case BL_FT_BUCKET:
		pthread_mutex_lock(&b->b_lock);
		if ((f = lookup(b, k)) == NULL &&
		    (f = insert_locked(t, b, k)) == NULL) {
			pthread_mutex_unlock(&b->b_lock);
			return ENOSPC;
		}
		e = update(f, seq, len, ack);
		pthread_mutex_unlock(&b->b_lock);
		return e;
	case BL_FT_URCU:
		urcu_memb_read_lock();
		f = lookup(b, k);
		if (f == NULL) {
			/* Miss: insert under the bucket lock, re-checking
			 * (another inserter may have won). */
			pthread_mutex_lock(&b->b_lock);
			if ((f = lookup(b, k)) == NULL)
				f = insert_locked(t, b, k);
			pthread_mutex_unlock(&b->b_lock);
			if (f == NULL) {
				urcu_memb_read_unlock();
				return ENOSPC;
			}
		}
		pthread_spin_lock(&f->f_lock);
		e = update(f, seq, len, ack);
		pthread_spin_unlock(&f->f_lock);
		urcu_memb_read_unlock();
		return e;
	}
	return EINVAL;
}

void
bl_flowtab_totals(struct bl_flowtab *t, uint64_t *flows, uint64_t *pkts)
{
	size_t used = atomic_load_explicit(&t->t_used, memory_order_relaxed);
	if (used > t->t_cap)
		used = t->t_cap;
	uint64_t p = 0;
	for (size_t i = 0; i < used; i++)
		p += t->t_pool[i].f_pkts;
	*flows = used;
	*pkts = p;
}

/* ---------------------------------------------------------------------- */
/* the worker pool */

struct bl_worker {
	_Alignas(LWKT_CACHELINE) struct mutexq w_q;
	struct bl_flowtab w_tab;	/* the worker's own flows */
	pthread_t w_tid;
	int w_pu;			/* -1: not pinned */
};

struct bl_flowpool {
	int fp_n;
	struct bl_worker *fp_w;
};

static void *
worker_main(void *arg)
{
	struct bl_worker *w = arg;
	if (w->w_pu >= 0) {
		/* PU OS index = Linux cpu number; best effort (a benchmark
		 * that needs the pinning checks the cpu itself). */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->w_pu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	for (;;) {
		struct bl_pkt *p = (struct bl_pkt *)(uintptr_t)
			mutexq_recv(&w->w_q, w->w_pu);
		if (p == NULL)
			return NULL;
		p->p_err = bl_flowtab_packet(&w->w_tab, &p->p_key, p->p_hash,
					     p->p_seq, p->p_len, &p->p_ack);
		/* Hands the packet back: pairs with the submitter's acquire
		 * load of p_done. */
		atomic_store_explicit(&p->p_done, 1, memory_order_release);
	}
}

int
bl_flowpool_start(struct bl_flowpool **out, int workers, const unsigned *pus,
		  size_t qcap, size_t capacity)
{
	if (out == NULL || workers <= 0)
		return EINVAL;
	struct bl_flowpool *fp = calloc(1, sizeof *fp);
	if (fp == NULL)
		return ENOMEM;
	fp->fp_w = aligned_alloc(LWKT_CACHELINE,
				 (size_t)workers * sizeof *fp->fp_w);
	if (fp->fp_w == NULL) {
		free(fp);
		return ENOMEM;
	}
	memset(fp->fp_w, 0, (size_t)workers * sizeof *fp->fp_w);
	size_t buckets = 1;
	while (buckets < capacity)
		buckets <<= 1;
	int e = 0, n;
	for (n = 0; n < workers; n++) {
		struct bl_worker *w = &fp->fp_w[n];
		w->w_pu = pus ? (int)pus[n] : -1;
		if ((e = mutexq_init(&w->w_q, 0x70000u + (unsigned)n, qcap,
				     MUTEXQ_CONDVAR, 0)) != 0)
			break;
		if ((e = bl_flowtab_init(&w->w_tab, BL_FT_OWNED, buckets,
					 capacity)) != 0) {
			mutexq_destroy(&w->w_q);
			break;
		}
		if ((e = pthread_create(&w->w_tid, NULL, worker_main, w)) != 0) {
			bl_flowtab_destroy(&w->w_tab);
			mutexq_destroy(&w->w_q);
			break;
		}
	}
	fp->fp_n = n;
	if (e != 0) {
		uint64_t a, b;
		bl_flowpool_stop(fp, &a, &b);
		return e;
	}
	*out = fp;
	return 0;
}

void
bl_flowpool_submit(struct bl_flowpool *fp, struct bl_pkt *p)
{
	atomic_store_explicit(&p->p_done, 0, memory_order_relaxed);
	/* The queue's mutex publishes *p to the worker. */
	mutexq_send(&fp->fp_w[p->p_hash % (uint32_t)fp->fp_n].w_q,
		    (uint64_t)(uintptr_t)p, -1);
}

void
bl_flowpool_stop(struct bl_flowpool *fp, uint64_t *flows, uint64_t *pkts)
{
	*flows = *pkts = 0;
	for (int i = 0; i < fp->fp_n; i++)
		mutexq_send(&fp->fp_w[i].w_q, 0, -1);	/* NULL: stop */
	for (int i = 0; i < fp->fp_n; i++) {
		struct bl_worker *w = &fp->fp_w[i];
		pthread_join(w->w_tid, NULL);
		uint64_t f, p;
		bl_flowtab_totals(&w->w_tab, &f, &p);
		*flows += f;
		*pkts += p;
		bl_flowtab_destroy(&w->w_tab);
		mutexq_destroy(&w->w_q);
	}
	free(fp->fp_w);
	free(fp);
}
