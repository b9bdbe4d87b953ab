/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_pipeline.c - the protocol pipeline: packet generators on both
 * cpus emit synthetic flows (IPv4 5-tuples; Zipf(s=1) or uniform over
 * each generator's own flows), and each packet updates its flow's state
 * (baselines/flowtab.h: lookup, per-flow sequence check, counters, ack).
 *
 *   pipeline/lwkt_netisr       the flow's hash picks a cpu; the packet is
 *                              a message to that cpu's protocol thread,
 *                              which owns its table (no lock) and replies
 *                              (the ack); handlers MPSAFE (adaptive mode)
 *   pipeline/lwkt_netisr_bgl   the same in BGL mode: every handler holds
 *                              the big-lock token (DragonFly before 2008)
 *   pipeline/mutex             one shared table under one pthread mutex;
 *                              each generator handles its packets itself
 *   pipeline/bucket_mutex      the same with a mutex per hash bucket
 *   pipeline/urcu              liburcu read-side lookups, a spinlock per
 *                              flow for the update
 *   pipeline/workpool_mutexq   flows hashed to worker threads (one per
 *                              cpu), each fed by a mutex+condvar queue and
 *                              owning its flows (no table lock)
 *
 * Parameters: flows (all generators together), generators (placed on the
 * two cpus alternately), zipf (1: Zipf, 0: uniform).  Every flow gets one
 * packet before the timed loop (the table is warm; the loop measures
 * lookups and updates).  Generator 0 runs the timed loop (an iteration is
 * one of its packets); items are the packets acked by all generators
 * during the loop, so items/s is the pipeline's rate and ns_per_pkt its
 * inverse.  Each generator keeps up to PL_WINDOW packets in flight where
 * packets travel (netisr, worker pool).  After the run every packet sent
 * must be in the tables and in order, else the benchmark fails.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"
#include "bench_lwkt.h"
#include "lwkt/msgport.h"
#include "lwkt/netisr.h"

#define PL_WINDOW 64
#define PL_MAXGEN 16
#define PL_ZIPF_TAB 65536	/* sampled flow indices (power of two) */
#define PL_LEN 512		/* bytes per packet (counted, not moved) */
#define SPIN_FOREVER 1000000000	/* ns: LWKT waiters poll, never sleep */

enum pl_mech {
	PL_NETISR, PL_NETISR_BGL, PL_MUTEX, PL_BUCKET, PL_URCU, PL_WORKPOOL
};

/* A packet as a message to a protocol thread. */
struct npkt {
	_Alignas(64) struct netmsg_base n_nm;	/* first */
	struct bl_flowkey n_key;
	uint32_t n_hash;
	uint32_t n_len;
	uint64_t n_seq;
	uint64_t n_ack;
};

/* A generator.  Everything but g_acked is its own thread's; g_acked is
 * read (relaxed) by generator 0 for the item count: its own line. */
struct pgen {
	_Alignas(64) uint64_t g_rng;
	uint32_t g_base, g_nflows;
	uint64_t *g_nextseq;		/* per own flow */
	uint64_t g_sent, g_bad;
	int g_id, g_cpu;
	struct npkt *g_nwin;		/* netisr window */
	struct bl_pkt *g_pwin;		/* worker-pool window */
	_Alignas(64) _Atomic uint64_t g_acked;
};

struct pl {
	gbench_state *st;
	enum pl_mech mech;
	int ngen;
	bool zipf;
	uint32_t *ztab;			/* PL_ZIPF_TAB indices < per-gen flows */
	struct pgen gen[PL_MAXGEN];
	struct bl_flowtab shared;	/* mutex, bucket, urcu */
	struct bl_flowtab owned[LWKT_MAXCPU];	/* netisr: per service cpu */
	struct bl_flowpool *pool;
	_Atomic int ready;		/* generators warmed up */
	_Atomic int go;			/* generator 0 started its loop */
	_Atomic int stop;		/* generator 0 finished */
	uint64_t items;
	size_t capacity, buckets;
};

static uint64_t
xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Zipf(s = 1) over n ranks, sampled into a table once per run: a packet
 * costs one table load, not a search. */
static uint32_t *
zipf_table(uint32_t n)
{
	uint32_t *t = malloc(PL_ZIPF_TAB * sizeof *t);
	double *cdf = malloc(n * sizeof *cdf);
	if (t == NULL || cdf == NULL) {
		free(t);
		free(cdf);
		return NULL;
	}
	double sum = 0, acc = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += 1.0 / (i + 1);
	for (uint32_t i = 0; i < n; i++)
		cdf[i] = (acc += 1.0 / (i + 1) / sum);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	for (uint32_t k = 0; k < PL_ZIPF_TAB; k++) {
		double u = (double)(xs(&rng) >> 11) / (double)(1ull << 53);
		uint32_t lo = 0, hi = n - 1;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			if (u < cdf[mid])
				hi = mid;
			else
				lo = mid + 1;
		}
		t[k] = lo;
	}
	free(cdf);
	return t;
}

/* The next packet of generator g: flow index (own), key, hash, seq. */
static inline void
next_packet(struct pl *pl, struct pgen *g, struct bl_flowkey *k,
	    uint32_t *hash, uint64_t *seq)
{
	uint64_t r = xs(&g->g_rng);
	uint32_t i = pl->zipf ? pl->ztab[r & (PL_ZIPF_TAB - 1)]
			      : (uint32_t)(r % g->g_nflows);
	bl_flowkey_make(k, g->g_base + i);
	*hash = bl_flowkey_hash(k);
	*seq = g->g_nextseq[i]++;
	g->g_sent++;
}

/* The warm-up packet of own flow i. */
static inline void
warm_packet(struct pgen *g, uint32_t i, struct bl_flowkey *k,
	    uint32_t *hash, uint64_t *seq)
{
	bl_flowkey_make(k, g->g_base + i);
	*hash = bl_flowkey_hash(k);
	*seq = g->g_nextseq[i]++;
	g->g_sent++;
}

static inline void
acked(struct pgen *g)
{
	atomic_store_explicit(&g->g_acked, atomic_load_explicit(&g->g_acked,
				memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static uint64_t
sum_acked(struct pl *pl)
{
	uint64_t s = 0;
	for (int i = 0; i < pl->ngen; i++)
		s += atomic_load_explicit(&pl->gen[i].g_acked,
					  memory_order_relaxed);
	return s;
}

/*
 * The loop shape every mechanism shares: warm up, wait for all, then
 * generator 0 runs the timed loop while the others run until it stops.
 * PACKET(k, hash, seq) handles one packet (and its ack); DRAIN() waits
 * for what is still in flight.
 */
#define PL_RUN(pl, g, PACKET, DRAIN)					\
	do {								\
		struct bl_flowkey k_;					\
		uint32_t h_;						\
		uint64_t s_;						\
		for (uint32_t i_ = 0; i_ < (g)->g_nflows; i_++) {	\
			warm_packet((g), i_, &k_, &h_, &s_);		\
			PACKET(k_, h_, s_);				\
		}							\
		DRAIN();						\
		atomic_fetch_add(&(pl)->ready, 1);			\
		if ((g)->g_id == 0) {					\
			while (atomic_load(&(pl)->ready) < (pl)->ngen)	\
				pl_yield();				\
			atomic_store(&(pl)->go, 1);			\
			uint64_t a0_ = sum_acked(pl);			\
			GBENCH_LOOP((pl)->st) {				\
				next_packet((pl), (g), &k_, &h_, &s_);	\
				PACKET(k_, h_, s_);			\
			}						\
			(pl)->items = sum_acked(pl) - a0_;		\
			atomic_store(&(pl)->stop, 1);			\
		} else {						\
			while (!atomic_load(&(pl)->go))			\
				pl_yield();				\
			while (!atomic_load_explicit(&(pl)->stop,	\
						     memory_order_relaxed)) {\
				next_packet((pl), (g), &k_, &h_, &s_);	\
				PACKET(k_, h_, s_);			\
			}						\
		}							\
		DRAIN();						\
	} while (0)

/* ---------------------------------------------------------------------- */
/* LWKT protocol threads */

static struct pl *pl_cur;	/* the run in progress (handlers' tables) */
static bool pl_in_lwkt;

static void
pl_yield(void)
{
	if (pl_in_lwkt)
		lwkt_yield();
	else
		sched_yield();
}

static void
npkt_handler(struct netmsg_base *nm)
{
	struct npkt *p = (struct npkt *)nm;
	int e = bl_flowtab_packet(&pl_cur->owned[lwkt_mycpuid()], &p->n_key,
				  p->n_hash, p->n_seq, p->n_len, &p->n_ack);
	lwkt_replymsg(&nm->lmsg, e);
}

static void
lgen_main(void *arg)
{
	struct pgen *g = arg;
	struct pl *pl = pl_cur;
	lwkt_port_t self = lwkt_thread_port(NULL);
	uint32_t mpsafe = pl->mech == PL_NETISR ? NETMSGF_MPSAFE : 0;
	int fresh = 0;
	uint64_t inflight = 0;

#define NPKT(k, h, s)							\
	do {								\
		struct npkt *p_;					\
		if (fresh < PL_WINDOW) {				\
			p_ = &g->g_nwin[fresh++];			\
		} else {						\
			p_ = (struct npkt *)lwkt_waitport(self, 0);	\
			inflight--;					\
			if (p_->n_nm.lmsg.ms_error != 0)		\
				g->g_bad++;				\
			acked(g);					\
		}							\
		netmsg_init(&p_->n_nm, NULL, mpsafe, npkt_handler);	\
		p_->n_key = (k);					\
		p_->n_hash = (h);					\
		p_->n_seq = (s);					\
		p_->n_len = PL_LEN;					\
		inflight++;						\
		netisr_sendmsg(&p_->n_nm, netisr_hashcpu(h));		\
	} while (0)
#define NDRAIN()							\
	do {								\
		while (inflight > 0) {					\
			struct npkt *p_ = (struct npkt *)		\
				lwkt_waitport(self, 0);			\
			inflight--;					\
			if (p_->n_nm.lmsg.ms_error != 0)		\
				g->g_bad++;				\
			acked(g);					\
		}							\
		fresh = 0;						\
	} while (0)

	PL_RUN(pl, g, NPKT, NDRAIN);
#undef NPKT
#undef NDRAIN
}

static bool
run_netisr(struct pl *pl)
{
	gbench_state *st = pl->st;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return false;
	pl_in_lwkt = true;
	int ncpu = lwkt_ncpus();
	for (int c = 0; c < ncpu; c++)
		if (bl_flowtab_init(&pl->owned[c], BL_FT_OWNED, pl->buckets,
				    pl->capacity) != 0) {
			gbench_skip_with_error(st, "flow table: no memory");
			lwkt_shutdown();
			return false;
		}
	struct netisr_config nc;
	netisr_config_default(&nc);
	nc.nc_mode = pl->mech == PL_NETISR ? NETISR_MODE_ADAPTIVE
					   : NETISR_MODE_BGL;
	if (netisr_start(&nc) != 0) {
		gbench_skip_with_error(st, "netisr_start failed");
		lwkt_shutdown();
		return false;
	}
	lwkt_thread_t td[PL_MAXGEN];
	for (int i = 0; i < pl->ngen; i++)
		lwkt_create(lgen_main, &pl->gen[i], pl->gen[i].g_cpu, 0,
			    &td[i], "gen");
	for (int i = 0; i < pl->ngen; i++)
		lwkt_join(td[i]);
	netisr_sync();
	netisr_stop();
	bench_lwkt_stop(st);
	pl_in_lwkt = false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* shared tables: each generator handles its own packets */

static void *
tgen_main(void *arg)
{
	struct pgen *g = arg;
	struct pl *pl = pl_cur;
	struct bl_flowtab *t = &pl->shared;
	bl_flowtab_thread_online(t);
#define TPKT(k, h, s)							\
	do {								\
		uint64_t ack_;						\
		if (bl_flowtab_packet(t, &(k), (h), (s), PL_LEN, &ack_)) \
			g->g_bad++;					\
		GBENCH_KEEP(ack_);					\
		acked(g);						\
	} while (0)
#define TDRAIN() do { } while (0)
	PL_RUN(pl, g, TPKT, TDRAIN);
#undef TPKT
#undef TDRAIN
	bl_flowtab_thread_offline(t);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* the worker pool */

static inline void
wait_done(struct bl_pkt *p, struct pgen *g)
{
	unsigned spins = 0;
	/* acquire: pairs with the worker's release store of p_done. */
	while (!atomic_load_explicit(&p->p_done, memory_order_acquire)) {
		if (++spins > 256)
			sched_yield();
		else
			lwkt_cpu_relax();
	}
	if (p->p_err != 0)
		g->g_bad++;
	acked(g);
}

static void *
wgen_main(void *arg)
{
	struct pgen *g = arg;
	struct pl *pl = pl_cur;
	uint64_t n = 0, waited = 0;
#define WPKT(k, h, s)							\
	do {								\
		struct bl_pkt *p_ = &g->g_pwin[n % PL_WINDOW];		\
		if (n - waited == PL_WINDOW) {				\
			wait_done(p_, g);				\
			waited++;					\
		}							\
		p_->p_key = (k);					\
		p_->p_hash = (h);					\
		p_->p_seq = (s);					\
		p_->p_len = PL_LEN;					\
		bl_flowpool_submit(pl->pool, p_);			\
		n++;							\
	} while (0)
#define WDRAIN()							\
	do {								\
		while (waited < n) {					\
			wait_done(&g->g_pwin[waited % PL_WINDOW], g);	\
			waited++;					\
		}							\
	} while (0)
	PL_RUN(pl, g, WPKT, WDRAIN);
#undef WPKT
#undef WDRAIN
	return NULL;
}

/* ---------------------------------------------------------------------- */

static void *
gen_trampoline(void *arg)
{
	return pl_cur->mech == PL_WORKPOOL ? wgen_main(arg) : tgen_main(arg);
}

static bool
run_threads(struct pl *pl)
{
	gbench_state *st = pl->st;
	if (!bench_need_two_cpus(st))
		return false;
	if (pl->mech == PL_WORKPOOL) {
		if (bl_flowpool_start(&pl->pool, 2, bench_cpu, 1024,
				      pl->capacity) != 0) {
			gbench_skip_with_error(st, "worker pool start failed");
			return false;
		}
	} else {
		enum bl_ft_mode m = pl->mech == PL_MUTEX ? BL_FT_MUTEX
				  : pl->mech == PL_BUCKET ? BL_FT_BUCKET
							  : BL_FT_URCU;
		if (bl_flowtab_init(&pl->shared, m, pl->buckets,
				    pl->capacity) != 0) {
			gbench_skip_with_error(st, "flow table: no memory");
			return false;
		}
	}
	struct bench_thread th[PL_MAXGEN];
	for (int i = 1; i < pl->ngen; i++)
		bench_thread_start(&th[i], bench_cpu[pl->gen[i].g_cpu],
				   gen_trampoline, &pl->gen[i]);
	gen_trampoline(&pl->gen[0]);	/* main: pinned to bench_cpu[0] */
	bool ok = true;
	for (int i = 1; i < pl->ngen; i++)
		if (bench_thread_join(&th[i]) != 0)
			ok = false;
	if (!ok)
		gbench_skip_with_error(st, "a generator could not be pinned");
	return ok;
}

/* Every packet sent is in the tables (and none was out of order). */
static void
check_totals(struct pl *pl, bool ran)
{
	gbench_state *st = pl->st;
	uint64_t flows = 0, pkts = 0, sent = 0, bad = 0;
	if (pl->mech == PL_NETISR || pl->mech == PL_NETISR_BGL) {
		for (int c = 0; c < LWKT_MAXCPU; c++) {
			if (pl->owned[c].t_pool == NULL)
				continue;
			uint64_t f, p;
			bl_flowtab_totals(&pl->owned[c], &f, &p);
			flows += f;
			pkts += p;
			bl_flowtab_destroy(&pl->owned[c]);
		}
	} else if (pl->mech == PL_WORKPOOL) {
		if (pl->pool != NULL)
			bl_flowpool_stop(pl->pool, &flows, &pkts);
		pl->pool = NULL;
	} else if (pl->shared.t_pool != NULL) {
		bl_flowtab_totals(&pl->shared, &flows, &pkts);
		bl_flowtab_destroy(&pl->shared);
	}
	for (int i = 0; i < pl->ngen; i++) {
		sent += pl->gen[i].g_sent;
		bad += pl->gen[i].g_bad;
		free(pl->gen[i].g_nextseq);
		free(pl->gen[i].g_nwin);
		free(pl->gen[i].g_pwin);
	}
	free(pl->ztab);
	if (!ran)
		return;
	char msg[160];
	if (bad != 0 || pkts != sent || flows != pl->capacity) {
		snprintf(msg, sizeof msg, "packets lost or reordered: sent "
			 "%llu, in tables %llu, flows %llu of %zu, bad acks "
			 "%llu", (unsigned long long)sent,
			 (unsigned long long)pkts, (unsigned long long)flows,
			 pl->capacity, (unsigned long long)bad);
		gbench_skip_with_error(st, msg);
		return;
	}
	gbench_set_items_processed(st, (int64_t)pl->items);
	gbench_counter(st, "ns_per_pkt", (double)pl->items,
		       GBENCH_CTR_RATE | GBENCH_CTR_INVERT);
}

static void
run(gbench_state *st, enum pl_mech mech)
{
	static struct pl pl;
	memset(&pl, 0, sizeof pl);
	pl.st = st;
	pl.mech = mech;
	int64_t flows = gbench_range_x(st, 0);
	pl.ngen = (int)gbench_range_x(st, 1);
	pl.zipf = gbench_range_x(st, 2) != 0;
	if (pl.ngen < 1 || pl.ngen > PL_MAXGEN || flows < pl.ngen) {
		gbench_skip_with_error(st, "bad flows/generators");
		return;
	}
	uint32_t per = (uint32_t)(flows / pl.ngen);
	pl.capacity = (size_t)per * (size_t)pl.ngen;
	pl.buckets = 1;
	while (pl.buckets < pl.capacity)
		pl.buckets <<= 1;
	pl.ztab = zipf_table(per);
	bool mem = pl.ztab != NULL;
	for (int i = 0; i < pl.ngen; i++) {
		struct pgen *g = &pl.gen[i];
		g->g_id = i;
		g->g_cpu = i & 1;
		g->g_base = (uint32_t)i * per;
		g->g_nflows = per;
		g->g_rng = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		g->g_nextseq = calloc(per, sizeof *g->g_nextseq);
		g->g_nwin = aligned_alloc(64, PL_WINDOW * sizeof *g->g_nwin);
		g->g_pwin = calloc(PL_WINDOW, sizeof *g->g_pwin);
		mem = mem && g->g_nextseq && g->g_nwin && g->g_pwin;
	}
	pl_cur = &pl;
	bool ran = false;
	if (!mem)
		gbench_skip_with_error(st, "no memory");
	else if (mech == PL_NETISR || mech == PL_NETISR_BGL)
		ran = run_netisr(&pl);
	else
		ran = run_threads(&pl);
	check_totals(&pl, ran);
}

static void bm_netisr(gbench_state *st) { run(st, PL_NETISR); }
static void bm_netisr_bgl(gbench_state *st) { run(st, PL_NETISR_BGL); }
static void bm_mutex(gbench_state *st) { run(st, PL_MUTEX); }
static void bm_bucket(gbench_state *st) { run(st, PL_BUCKET); }
static void bm_urcu(gbench_state *st) { run(st, PL_URCU); }
static void bm_workpool(gbench_state *st) { run(st, PL_WORKPOOL); }

/* make run's quick profile (the bench matrix) runs every shape below:
 * two shapes per mechanism keep it short - a table that fits the caches
 * and one that does not, both Zipf, one generator per cpu. */
#define PL_SHAPES(f)							\
	gbench_use_real_time(f);					\
	gbench_arg_names3(f, "flows", "generators", "zipf");		\
	gbench_args3(f, 4096, 2, 1);					\
	gbench_args3(f, 65536, 2, 1)

GBENCH_REGISTER(bm_netisr, "pipeline/lwkt_netisr", PL_SHAPES(f));
GBENCH_REGISTER(bm_netisr_bgl, "pipeline/lwkt_netisr_bgl", PL_SHAPES(f));
GBENCH_REGISTER(bm_mutex, "pipeline/mutex", PL_SHAPES(f));
GBENCH_REGISTER(bm_bucket, "pipeline/bucket_mutex", PL_SHAPES(f));
GBENCH_REGISTER(bm_urcu, "pipeline/urcu", PL_SHAPES(f));
GBENCH_REGISTER(bm_workpool, "pipeline/workpool_mutexq", PL_SHAPES(f));
