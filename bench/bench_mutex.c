/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_mutex.c - the mutex baselines in lwkt-bench: roundtrip, stream and
 * reqrep over mutexq (condvar and spin-then-futex wake-ups), and the
 * read-mostly table under a pthread mutex and a pthread rwlock.
 *
 * The benchmark thread runs on bench_cpu[0], the partner(s) on
 * bench_cpu[1], created and pinned before the timed loop; every run checks
 * that each message arrived once and in order, else skips with an error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bl_futex.h"
#include "bl_table.h"
#include "mutexq.h"

/* ---------------------------------------------------------------------- */
/* roundtrip: ping carries seq to the partner, pong carries it back. */
struct rt_pair {
	struct mutexq rt_ping, rt_pong;
	uint64_t rt_bad;	/* partner: out-of-order messages (partner only
				 * until joined) */
};

#define RT_STOP UINT64_MAX

static void *
rt_partner(void *p)
{
	struct rt_pair *rt = p;
	uint64_t expect = 0;
	int cpu = (int)bench_cpu[1];

	for (;;) {
		uint64_t m = mutexq_recv(&rt->rt_ping, cpu);
		if (m == RT_STOP)
			break;
		if (m != expect)
			rt->rt_bad++;
		expect = m + 1;
		mutexq_send(&rt->rt_pong, m, cpu);
	}
	return NULL;
}

static void
bm_mutex_roundtrip(gbench_state *st, enum mutexq_wait mode)
{
	static struct rt_pair rt;
	struct bench_thread t;
	int cpu = (int)bench_cpu[0];

	if (!bench_need_two_cpus(st))
		return;
	rt.rt_bad = 0;
	if (mutexq_init(&rt.rt_ping, 1, 64, mode, BL_SPIN_NS_DEFAULT) ||
	    mutexq_init(&rt.rt_pong, 2, 64, mode, BL_SPIN_NS_DEFAULT)) {
		gbench_skip_with_error(st, "mutexq_init failed");
		return;
	}
	if (bench_thread_start(&t, bench_cpu[1], rt_partner, &rt) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		goto out;
	}
	uint64_t seq = 0, bad = 0;
	GBENCH_LOOP(st) {
		mutexq_send(&rt.rt_ping, seq, cpu);
		bad += mutexq_recv(&rt.rt_pong, cpu) != seq;
		seq++;
	}
	mutexq_send(&rt.rt_ping, RT_STOP, cpu);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the partner thread");
	else if (bad || rt.rt_bad || seq != (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost or reordered a round trip");
out:
	mutexq_destroy(&rt.rt_ping);
	mutexq_destroy(&rt.rt_pong);
}

static void bm_rt_condvar(gbench_state *st) { bm_mutex_roundtrip(st, MUTEXQ_CONDVAR); }
static void bm_rt_spinfutex(gbench_state *st) { bm_mutex_roundtrip(st, MUTEXQ_SPINFUTEX); }
GBENCH_REGISTER(bm_rt_condvar, "roundtrip/mutex_condvar", gbench_use_real_time(f))
GBENCH_REGISTER(bm_rt_spinfutex, "roundtrip/mutex_spinfutex", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* stream: one-way messages seq = 0, 1, ...; the consumer checks order and
 * sums them.  The stop message is the count itself with the top bit set. */
struct st_stream {
	struct mutexq ss_q;
	uint64_t ss_sum, ss_n, ss_bad;	/* consumer only until joined */
};

#define ST_STOP_BIT (1ull << 63)

static void *
st_consumer(void *p)
{
	struct st_stream *s = p;
	uint64_t expect = 0, sum = 0, bad = 0;
	int cpu = (int)bench_cpu[1];

	for (;;) {
		uint64_t m = mutexq_recv(&s->ss_q, cpu);
		if (m & ST_STOP_BIT)
			break;
		bad += m != expect;
		expect = m + 1;
		sum += m;
	}
	s->ss_bad = bad;
	s->ss_sum = sum;
	s->ss_n = expect;
	return NULL;
}

static void
bm_mutex_stream(gbench_state *st, enum mutexq_wait mode)
{
	static struct st_stream s;
	struct bench_thread t;
	int cpu = (int)bench_cpu[0];

	if (!bench_need_two_cpus(st))
		return;
	s.ss_sum = s.ss_n = s.ss_bad = 0;
	if (mutexq_init(&s.ss_q, 3, 1024, mode, BL_SPIN_NS_DEFAULT)) {
		gbench_skip_with_error(st, "mutexq_init failed");
		return;
	}
	if (bench_thread_start(&t, bench_cpu[1], st_consumer, &s) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		goto out;
	}
	uint64_t seq = 0, sum = 0;
	GBENCH_LOOP(st) {
		mutexq_send(&s.ss_q, seq, cpu);
		sum += seq;
		seq++;
	}
	mutexq_send(&s.ss_q, ST_STOP_BIT | seq, cpu);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the consumer thread");
	else if (s.ss_bad || s.ss_sum != sum || s.ss_n != seq)
		gbench_skip_with_error(st, "consumer checksum mismatch");
	else
		gbench_set_items_processed(st, (int64_t)seq);
out:
	mutexq_destroy(&s.ss_q);
}

static void bm_st_condvar(gbench_state *st) { bm_mutex_stream(st, MUTEXQ_CONDVAR); }
static void bm_st_spinfutex(gbench_state *st) { bm_mutex_stream(st, MUTEXQ_SPINFUTEX); }
GBENCH_REGISTER(bm_st_condvar, "stream/mutex_condvar", gbench_use_real_time(f))
GBENCH_REGISTER(bm_st_spinfutex, "stream/mutex_spinfutex", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* reqrep: the benchmark thread is the server on bench_cpu[0]; N client
 * threads on bench_cpu[1] each keep one request outstanding.  A request is
 * (client << 48 | seq); the reply is the request + 1 on the client's own
 * queue.  One iteration = one request served.  Stop: the server sets
 * rr_stop, then keeps serving until every client has seen it and left. */
#define RR_MAXCLIENTS 32
struct rr_client {
	struct bench_thread rc_thread;
	struct mutexq rc_reply;
	struct rr_service *rc_svc;
	unsigned rc_id;
	uint64_t rc_done, rc_bad;	/* client only until joined */
};

struct rr_service {
	struct mutexq rs_req;
	_Atomic int rs_stop;		/* server sets (relaxed): a hint that
					 * is re-read after each reply */
	_Atomic unsigned rs_left;	/* clients gone; release by a client
					 * after its last request, acquire by
					 * the server */
	struct rr_client rs_cl[RR_MAXCLIENTS];
};

static void *
rr_client_main(void *p)
{
	struct rr_client *c = p;
	struct rr_service *s = c->rc_svc;
	int cpu = (int)bench_cpu[1];
	uint64_t seq = 0, bad = 0;	/* locals: no store per request */

	while (!atomic_load_explicit(&s->rs_stop, memory_order_relaxed)) {
		uint64_t req = ((uint64_t)c->rc_id << 48) | seq;
		mutexq_send(&s->rs_req, req, cpu);
		bad += mutexq_recv(&c->rc_reply, cpu) != req + 1;
		seq++;
	}
	c->rc_done = seq;
	c->rc_bad = bad;
	atomic_fetch_add_explicit(&s->rs_left, 1, memory_order_release);
	return NULL;
}

static inline void
rr_serve(struct rr_service *s, uint64_t req, int cpu, uint64_t *bad)
{
	unsigned id = (unsigned)(req >> 48);
	if (id >= RR_MAXCLIENTS) {
		(*bad)++;
		return;
	}
	mutexq_send(&s->rs_cl[id].rc_reply, req + 1, cpu);
}

static void
bm_mutex_reqrep(gbench_state *st, enum mutexq_wait mode)
{
	static struct rr_service s;
	int64_t n = gbench_range_x(st, 0);
	int cpu = (int)bench_cpu[0];
	unsigned started = 0;
	uint64_t served = 0, bad = 0;
	bool pinerr = false;

	if (!bench_need_two_cpus(st))
		return;
	if (n < 1 || n > RR_MAXCLIENTS) {
		gbench_skip_with_error(st, "clients must be 1..32");
		return;
	}
	atomic_store(&s.rs_stop, 0);
	atomic_store(&s.rs_left, 0);
	if (mutexq_init(&s.rs_req, 10, 64, mode, BL_SPIN_NS_DEFAULT)) {
		gbench_skip_with_error(st, "mutexq_init failed");
		return;
	}
	for (unsigned i = 0; i < (unsigned)n; i++) {
		struct rr_client *c = &s.rs_cl[i];
		c->rc_svc = &s;
		c->rc_id = i;
		c->rc_done = c->rc_bad = 0;
		if (mutexq_init(&c->rc_reply, 100 + i, 4, mode,
				BL_SPIN_NS_DEFAULT))
			break;
		if (bench_thread_start(&c->rc_thread, bench_cpu[1],
				       rr_client_main, c) != 0) {
			mutexq_destroy(&c->rc_reply);
			break;
		}
		started++;
	}
	if (started == (unsigned)n) {
		GBENCH_LOOP(st) {
			rr_serve(&s, mutexq_recv(&s.rs_req, cpu), cpu, &bad);
			served++;
		}
	}
	atomic_store_explicit(&s.rs_stop, 1, memory_order_relaxed);
	/* Serve the stragglers: each client has at most one request out. */
	uint64_t extra = 0, m;
	while (atomic_load_explicit(&s.rs_left, memory_order_acquire) <
	       started) {
		if (mutexq_tryrecv(&s.rs_req, &m, cpu)) {
			rr_serve(&s, m, cpu, &bad);
			extra++;
		} else {
			lwkt_cpu_relax();
		}
	}
	uint64_t client_total = 0;
	for (unsigned i = 0; i < started; i++) {
		struct rr_client *c = &s.rs_cl[i];
		pinerr |= bench_thread_join(&c->rc_thread) != 0;
		bad += c->rc_bad;
		client_total += c->rc_done;
		mutexq_destroy(&c->rc_reply);
	}
	mutexq_destroy(&s.rs_req);
	if (started != (unsigned)n)
		gbench_skip_with_error(st, "cannot start the clients");
	else if (pinerr)
		gbench_skip_with_error(st, "cannot pin a client thread");
	else if (bad || client_total != served + extra)
		gbench_skip_with_error(st, "lost or misrouted a request");
	else
		gbench_set_items_processed(st, (int64_t)served);
}

static void bm_rr_condvar(gbench_state *st) { bm_mutex_reqrep(st, MUTEXQ_CONDVAR); }
static void bm_rr_spinfutex(gbench_state *st) { bm_mutex_reqrep(st, MUTEXQ_SPINFUTEX); }
GBENCH_REGISTER(bm_rr_condvar, "reqrep/mutex_condvar", gbench_use_real_time(f),
		gbench_arg_name(f, "clients"), gbench_arg(f, 1),
		gbench_arg(f, 2), gbench_arg(f, 8), gbench_arg(f, 32))
GBENCH_REGISTER(bm_rr_spinfutex, "reqrep/mutex_spinfutex", gbench_use_real_time(f),
		gbench_arg_name(f, "clients"), gbench_arg(f, 1),
		gbench_arg(f, 2), gbench_arg(f, 8), gbench_arg(f, 32))

/* ---------------------------------------------------------------------- */
/* readmostly: BL_TABLE_SLOTS entries updated in place under a lock.  The
 * partner on bench_cpu[1] only reads; the benchmark thread reads and, for
 * update_pct of its operations, rewrites one entry.  A reader copies the
 * entry under the lock and checks it after: a torn copy would fail. */
enum rm_lock { RM_MUTEX, RM_RWLOCK };

struct rm_table {
	_Alignas(LWKT_CACHELINE) pthread_mutex_t rt_mutex;
	pthread_rwlock_t rt_rwlock;
	enum rm_lock rt_kind;
	struct bl_entry rt_e[BL_TABLE_SLOTS];		/* under the lock */
	_Alignas(LWKT_CACHELINE) _Atomic int rt_stop;	/* relaxed hint */
	uint64_t rt_reads, rt_torn;		/* partner only until joined */
};

static inline void
rm_read(struct rm_table *t, unsigned slot, struct bl_entry *out)
{
	if (t->rt_kind == RM_MUTEX) {
		pthread_mutex_lock(&t->rt_mutex);
		*out = t->rt_e[slot];
		pthread_mutex_unlock(&t->rt_mutex);
	} else {
		pthread_rwlock_rdlock(&t->rt_rwlock);
		*out = t->rt_e[slot];
		pthread_rwlock_unlock(&t->rt_rwlock);
	}
}

static inline void
rm_update(struct rm_table *t, unsigned slot, uint64_t gen)
{
	if (t->rt_kind == RM_MUTEX) {
		pthread_mutex_lock(&t->rt_mutex);
		bl_entry_fill(&t->rt_e[slot], slot, gen);
		pthread_mutex_unlock(&t->rt_mutex);
	} else {
		pthread_rwlock_wrlock(&t->rt_rwlock);
		bl_entry_fill(&t->rt_e[slot], slot, gen);
		pthread_rwlock_unlock(&t->rt_rwlock);
	}
}

static void *
rm_reader(void *p)
{
	struct rm_table *t = p;
	uint64_t n = 0, torn = 0;
	struct bl_entry e;

	while (!atomic_load_explicit(&t->rt_stop, memory_order_relaxed)) {
		rm_read(t, (unsigned)n & (BL_TABLE_SLOTS - 1), &e);
		torn += !bl_entry_ok(&e);
		n++;
	}
	t->rt_reads = n;
	t->rt_torn = torn;
	return NULL;
}

static void
bm_readmostly_lock(gbench_state *st, enum rm_lock kind)
{
	static struct rm_table t;
	struct bench_thread th;
	unsigned pct = (unsigned)gbench_range_x(st, 0), acc = 0;

	if (!bench_need_two_cpus(st))
		return;
	if (pct > 100) {
		gbench_skip_with_error(st, "update_pct must be 0..100");
		return;
	}
	t.rt_kind = kind;
	pthread_mutex_init(&t.rt_mutex, NULL);
	/* Writer preference: glibc's default lets a steady stream of
	 * readers on the other cpu starve the updater. */
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t.rt_rwlock, &ra);
	pthread_rwlockattr_destroy(&ra);
	for (unsigned i = 0; i < BL_TABLE_SLOTS; i++)
		bl_entry_fill(&t.rt_e[i], i, 0);
	atomic_store(&t.rt_stop, 0);
	t.rt_reads = t.rt_torn = 0;
	if (bench_thread_start(&th, bench_cpu[1], rm_reader, &t) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint64_t i = 0, reads = 0, updates = 0, torn = 0;
	struct bl_entry e;
	GBENCH_LOOP(st) {
		unsigned slot = (unsigned)(i * 7) & (BL_TABLE_SLOTS - 1);
		if (bl_update_due(&acc, pct)) {
			rm_update(&t, slot, ++updates);
		} else {
			rm_read(&t, slot, &e);
			torn += !bl_entry_ok(&e);
			reads++;
		}
		i++;
	}
	atomic_store_explicit(&t.rt_stop, 1, memory_order_relaxed);
	int pin = bench_thread_join(&th);
	pthread_mutex_destroy(&t.rt_mutex);
	pthread_rwlock_destroy(&t.rt_rwlock);
	bench_rm_report(st, pin ? "cannot pin the reader thread" :
			torn || t.rt_torn ? "a reader saw a torn entry" : NULL,
			reads + t.rt_reads, updates, i);
}

static void bm_rm_mutex(gbench_state *st) { bm_readmostly_lock(st, RM_MUTEX); }
static void bm_rm_rwlock(gbench_state *st) { bm_readmostly_lock(st, RM_RWLOCK); }
GBENCH_REGISTER(bm_rm_mutex, "readmostly/mutex", gbench_use_real_time(f),
		gbench_arg_name(f, "update_pct"), gbench_arg(f, 0),
		gbench_arg(f, 1), gbench_arg(f, 10))
GBENCH_REGISTER(bm_rm_rwlock, "readmostly/rwlock", gbench_use_real_time(f),
		gbench_arg_name(f, "update_pct"), gbench_arg(f, 0),
		gbench_arg(f, 1), gbench_arg(f, 10))
