/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowtab.h - the flow table of the protocol-pipeline workload and the
 * designs people use today to share it between cpus:
 *
 *   BL_FT_OWNED    no lock: one thread owns the table (a protocol thread
 *                  per cpu, each with its own table: the LWKT design)
 *   BL_FT_MUTEX    one table, one pthread mutex around every packet
 *   BL_FT_BUCKET   one table, a pthread mutex per hash bucket
 *   BL_FT_URCU     one table: lookups under a liburcu (urcu-memb) read-side
 *                  section, a per-flow spinlock for the update, inserts
 *                  under a per-bucket mutex, published with release
 *
 * One packet = find the flow of its 5-tuple (insert it on the first
 * packet), check its sequence number follows the flow's last one (per-flow
 * order), count packets and bytes, and return an ack (the flow's packet
 * count).  Flows are never removed during a run, so the RCU design never
 * waits for a grace period: its cost here is the read-side section and
 * the per-flow lock (a table with expiry would add synchronize_rcu or
 * call_rcu on removals).
 *
 * The table is a chained hash of 2^k buckets over a preallocated pool of
 * entries (no malloc on the packet path, the same for every design).
 */
#ifndef LWKT_BASELINES_FLOWTAB_H
#define LWKT_BASELINES_FLOWTAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lwkt/arch.h"

/* An IPv4 5-tuple (16 bytes with padding, compared as two words). */
struct bl_flowkey {
	uint32_t k_saddr, k_daddr;
	uint16_t k_sport, k_dport;
	uint8_t k_proto;
	uint8_t k_pad[3];
};

/* The synthetic flow number -> 5-tuple of the workload (deterministic). */
static inline void
bl_flowkey_make(struct bl_flowkey *k, uint32_t flow)
{
	k->k_saddr = 0x0a000000u | (flow & 0xffffu);
	k->k_daddr = 0xc0a80000u | ((flow >> 16) & 0xffffu);
	k->k_sport = (uint16_t)(1024 + (flow % 50000u));
	k->k_dport = (uint16_t)(80 + (flow & 7u));
	k->k_proto = (flow & 1u) ? 17 : 6;
	k->k_pad[0] = k->k_pad[1] = k->k_pad[2] = 0;
}

/* Toeplitz-free but well mixed: a 64-bit multiply-xorshift of the tuple.
 * The same hash picks the LWKT service cpu and the table bucket. */
static inline uint32_t
bl_flowkey_hash(const struct bl_flowkey *k)
{
	uint64_t a = ((uint64_t)k->k_saddr << 32) | k->k_daddr;
	uint64_t b = ((uint64_t)k->k_sport << 24) | ((uint64_t)k->k_dport << 8)
		     | k->k_proto;
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * A flow.  f_next and f_key are written once, before the entry is
 * published (release store into its bucket head or predecessor), and
 * read-only after.  The counters are written under the design's lock
 * (BL_FT_MUTEX: the table's, BUCKET: the bucket's, URCU: f_lock, OWNED:
 * the owner thread).
 */
struct bl_flow {
	_Atomic(struct bl_flow *) f_next;
	struct bl_flowkey f_key;
	uint64_t f_pkts;
	uint64_t f_bytes;
	uint64_t f_nextseq;		/* the seq the next packet must carry */
	pthread_spinlock_t f_lock;	/* BL_FT_URCU */
};

enum bl_ft_mode { BL_FT_OWNED, BL_FT_MUTEX, BL_FT_BUCKET, BL_FT_URCU };

/* A bucket: its head and (BUCKET, URCU) its mutex, one cache line. */
struct bl_ftbucket {
	_Alignas(LWKT_CACHELINE) _Atomic(struct bl_flow *) b_head;
	pthread_mutex_t b_lock;
};

struct bl_flowtab {
	_Alignas(LWKT_CACHELINE) pthread_mutex_t t_lock;	/* BL_FT_MUTEX */
	enum bl_ft_mode t_mode;		/* constant */
	uint32_t t_mask;		/* buckets - 1; constant */
	struct bl_ftbucket *t_bucket;
	struct bl_flow *t_pool;		/* t_cap entries */
	size_t t_cap;
	/* Next free pool entry: fetch_add by inserters (relaxed: the entry
	 * is published by the bucket's release store). */
	_Alignas(LWKT_CACHELINE) _Atomic size_t t_used;
};

/* Initializes t for up to `capacity` flows over `buckets` (a power of two)
 * buckets.  0, EINVAL or ENOMEM. */
int bl_flowtab_init(struct bl_flowtab *t, enum bl_ft_mode mode,
		    size_t buckets, size_t capacity);
void bl_flowtab_destroy(struct bl_flowtab *t);

/* A thread that calls bl_flowtab_packet on a BL_FT_URCU table must be
 * registered with urcu-memb first (and unregistered before it exits). */
void bl_flowtab_thread_online(struct bl_flowtab *t);
void bl_flowtab_thread_offline(struct bl_flowtab *t);

/* Handles one packet of flow k (hash = bl_flowkey_hash(k)) with sequence
 * number seq and len bytes.  Returns 0 and the ack (the flow's packet
 * count) in *ack; EPROTO if seq is not the flow's next (a reordered
 * packet: counted, not applied); ENOSPC when the pool is full. */
int bl_flowtab_packet(struct bl_flowtab *t, const struct bl_flowkey *k,
		      uint32_t hash, uint64_t seq, uint32_t len, uint64_t *ack);

/* Totals (call when no packet is in progress): flows and packets. */
void bl_flowtab_totals(struct bl_flowtab *t, uint64_t *flows, uint64_t *pkts);

/* ---- a worker pool fed by mutex+condvar queues (one per worker) ------
 * Flows are hashed to workers (hash % workers) so each worker owns its
 * part of the flows: a BL_FT_OWNED table per worker, no table lock; the
 * queue (baselines/mutexq.h, MUTEXQ_CONDVAR) is the only shared object.
 * A submitted packet is acked by the worker: p_ack, then p_done = 1
 * (release; the submitter's acquire load of p_done pairs with it). */
struct bl_pkt {
	struct bl_flowkey p_key;
	uint32_t p_hash;
	uint32_t p_len;
	uint64_t p_seq;
	uint64_t p_ack;
	int p_err;			/* bl_flowtab_packet's result */
	_Atomic uint32_t p_done;	/* 0 in flight, 1 acked */
};

struct bl_flowpool;
/* Starts `workers` threads, worker i pinned to PU pus[i] (NULL: not
 * pinned), each with a queue of qcap packets and a table for `capacity`
 * flows.  0 or errno. */
int bl_flowpool_start(struct bl_flowpool **out, int workers,
		      const unsigned *pus, size_t qcap, size_t capacity);
/* Queues p to its worker (blocks while that queue is full). */
void bl_flowpool_submit(struct bl_flowpool *fp, struct bl_pkt *p);
/* Stops the workers (after what was queued), frees everything; the
 * totals of all worker tables are returned first. */
void bl_flowpool_stop(struct bl_flowpool *fp, uint64_t *flows,
		      uint64_t *pkts);

#endif /* LWKT_BASELINES_FLOWTAB_H */
