/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * floors.c - the physical floors every mechanism is compared against, in
 * the same binary and run: cache-line and futex ping-pong, an SPSC ring
 * whose slots carry their own sequence (and, for comparison, the classic
 * ring with shared indices), an indirect call, an uncontended mutex, an
 * uncontended CAS, membarrier.
 *
 * Cross-cpu floors run the benchmark thread on bench_cpu[0] and a partner
 * on bench_cpu[1]; the partner is created and pinned before the timed loop
 * and joined after it, and every result is checked or kept alive.
 */
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "lwkt/arch.h"

/* ---------------------------------------------------------------------- */
/* roundtrip/floor_cacheline: one line, two writers taking turns.
 *
 * pp_line holds a sequence number: the benchmark thread writes odd values,
 * the partner answers with the next even one.  Each store is a release and
 * each poll an acquire, so a turn carries exactly one line transfer each
 * way.  pp_stop sits on its own line: it is read-only until the end.
 */
struct pp_line {
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t pp_line;
	_Alignas(LWKT_CACHELINE) _Atomic int pp_stop;
};

static void *
pp_partner(void *p)
{
	struct pp_line *pp = p;
	uint64_t expect = 1;

	for (;;) {
		/* acquire: pairs with the benchmark thread's release store. */
		uint64_t v = atomic_load_explicit(&pp->pp_line,
						  memory_order_acquire);
		if (v == expect) {
			atomic_store_explicit(&pp->pp_line, v + 1,
					      memory_order_release);
			expect += 2;
		} else if (atomic_load_explicit(&pp->pp_stop,
						memory_order_relaxed)) {
			break;
		} else {
			lwkt_cpu_relax();
		}
	}
	return NULL;
}

static void
bm_floor_cacheline(gbench_state *st)
{
	static struct pp_line pp;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	atomic_store(&pp.pp_line, 0);
	atomic_store(&pp.pp_stop, 0);
	if (bench_thread_start(&t, bench_cpu[1], pp_partner, &pp) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint64_t seq = 0;
	GBENCH_LOOP(st) {
		atomic_store_explicit(&pp.pp_line, seq + 1,
				      memory_order_release);
		while (atomic_load_explicit(&pp.pp_line,
					    memory_order_acquire) != seq + 2)
			lwkt_cpu_relax();
		seq += 2;
	}
	atomic_store(&pp.pp_stop, 1);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the partner thread");
	else if (seq != 2 * (uint64_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost a round trip");
}
GBENCH_REGISTER(bm_floor_cacheline, "roundtrip/floor_cacheline",
		gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* roundtrip/floor_futex: each side sleeps in FUTEX_WAIT until woken.
 *
 * fx_ping (benchmark -> partner) and fx_pong (partner -> benchmark) carry
 * 32-bit sequence numbers.  A waiter passes the value it last saw to
 * FUTEX_WAIT, so a store+wake that lands first makes the wait return at
 * once (the kernel re-checks the word under its hash-bucket lock): no lost
 * wake-up.  Stop: set fx_stop, bump fx_ping, wake.
 */
struct fx_pair {
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t fx_ping;
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t fx_pong;
	_Alignas(LWKT_CACHELINE) _Atomic int fx_stop;
};

static long
futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)uaddr, op, val, NULL, NULL, 0);
}

static void *
fx_partner(void *p)
{
	struct fx_pair *fx = p;
	uint32_t expect = 1;

	for (;;) {
		uint32_t v = atomic_load_explicit(&fx->fx_ping,
						  memory_order_acquire);
		if (atomic_load_explicit(&fx->fx_stop, memory_order_acquire))
			break;
		if (v != expect) {
			futex(&fx->fx_ping, FUTEX_WAIT_PRIVATE, v);
			continue;
		}
		atomic_store_explicit(&fx->fx_pong, expect,
				      memory_order_release);
		futex(&fx->fx_pong, FUTEX_WAKE_PRIVATE, 1);
		expect++;
	}
	return NULL;
}

static void
bm_floor_futex(gbench_state *st)
{
	static struct fx_pair fx;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	atomic_store(&fx.fx_ping, 0);
	atomic_store(&fx.fx_pong, 0);
	atomic_store(&fx.fx_stop, 0);
	if (bench_thread_start(&t, bench_cpu[1], fx_partner, &fx) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint32_t seq = 0;
	GBENCH_LOOP(st) {
		seq++;
		atomic_store_explicit(&fx.fx_ping, seq, memory_order_release);
		futex(&fx.fx_ping, FUTEX_WAKE_PRIVATE, 1);
		uint32_t v;
		while ((v = atomic_load_explicit(&fx.fx_pong,
						 memory_order_acquire)) != seq)
			futex(&fx.fx_pong, FUTEX_WAIT_PRIVATE, v);
	}
	atomic_store_explicit(&fx.fx_stop, 1, memory_order_release);
	atomic_fetch_add_explicit(&fx.fx_ping, 1, memory_order_release);
	futex(&fx.fx_ping, FUTEX_WAKE_PRIVATE, 1);
	if (bench_thread_join(&t) != 0)
		gbench_skip_with_error(st, "cannot pin the partner thread");
	else if (seq != (uint32_t)gbench_iterations_done(st))
		gbench_skip_with_error(st, "lost a round trip");
}
GBENCH_REGISTER(bm_floor_futex, "roundtrip/floor_futex",
		gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* stream/spsc_indexed: the classic single-producer single-consumer ring
 * with shared indices (Lamport's, with cached copies of the other side's
 * index).  It was this suite's stream floor until the per-slot-sequence
 * ring below measured 1.3-7x faster on the same host: kept as a mechanism
 * for comparison, no longer the floor.
 *
 * sp_head is written by the producer only, sp_tail by the consumer only,
 * each on its own cache line with that side's cached copy of the other
 * index (so a side re-reads the shared index only when the ring looks full
 * or empty).  Indices run free; fill = head - tail.  The producer's release
 * store of sp_head publishes the slot; the consumer's acquire load pairs
 * with it.  The consumer's release store of sp_tail frees slots; the
 * producer's acquire load pairs with it.
 */
#define SPSC_SIZE 1024u
struct spsc {
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t sp_head;	/* producer */
	uint64_t sp_tail_cache;					/* producer */
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t sp_tail;	/* consumer */
	uint64_t sp_head_cache;					/* consumer */
	uint64_t sp_sum;					/* consumer */
	_Alignas(LWKT_CACHELINE) _Atomic int sp_stop;
	_Alignas(LWKT_CACHELINE) uint64_t sp_slot[SPSC_SIZE];
};

static void *
spsc_consumer(void *p)
{
	struct spsc *q = p;
	uint64_t tail = atomic_load_explicit(&q->sp_tail, memory_order_relaxed);
	uint64_t sum = 0;

	for (;;) {
		if (tail == q->sp_head_cache) {
			q->sp_head_cache = atomic_load_explicit(
			    &q->sp_head, memory_order_acquire);
			if (tail == q->sp_head_cache) {
				/* stop is set after the last push, so an
				 * empty ring seen after stop is final. */
				if (atomic_load_explicit(&q->sp_stop,
							 memory_order_acquire)) {
					q->sp_head_cache = atomic_load_explicit(
					    &q->sp_head, memory_order_acquire);
					if (tail == q->sp_head_cache)
						break;
					continue;
				}
				lwkt_cpu_relax();
				continue;
			}
		}
		sum += q->sp_slot[tail & (SPSC_SIZE - 1)];
		tail++;
		atomic_store_explicit(&q->sp_tail, tail, memory_order_release);
	}
	q->sp_sum = sum;
	return NULL;
}

static void
bm_spsc_indexed(gbench_state *st)
{
	static struct spsc q;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	memset(&q, 0, sizeof q);
	if (bench_thread_start(&t, bench_cpu[1], spsc_consumer, &q) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint64_t head = 0, expect = 0;
	GBENCH_LOOP(st) {
		if (head - q.sp_tail_cache == SPSC_SIZE) {
			do {
				q.sp_tail_cache = atomic_load_explicit(
				    &q.sp_tail, memory_order_acquire);
			} while (head - q.sp_tail_cache == SPSC_SIZE &&
				 (lwkt_cpu_relax(), 1));
		}
		q.sp_slot[head & (SPSC_SIZE - 1)] = head;
		expect += head;
		head++;
		atomic_store_explicit(&q.sp_head, head, memory_order_release);
	}
	atomic_store_explicit(&q.sp_stop, 1, memory_order_release);
	if (bench_thread_join(&t) != 0) {
		gbench_skip_with_error(st, "cannot pin the consumer thread");
		return;
	}
	if (q.sp_sum != expect || head != (uint64_t)gbench_iterations_done(st)) {
		gbench_skip_with_error(st, "consumer checksum mismatch");
		return;
	}
	gbench_set_items_processed(st, (int64_t)head);
}
GBENCH_REGISTER(bm_spsc_indexed, "stream/spsc_indexed", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* stream/floor_spsc: the fastest single-producer single-consumer ring
 * known here — each slot carries its own sequence word, so the two sides
 * share no index at all (the bounded queue of D. Vyukov, "Bounded MPMC
 * queue", 1024cores.net, reduced to one producer and one consumer; the
 * same idea as FastForward's slot-as-flag, Giacomoni et al., PPoPP 2008).
 * A message moves with the line of its slot and nothing else: four 16-byte
 * slots per line, so a line carries up to four messages per transfer.
 *
 * Slot i starts with seq = i.  Position p (free-running) uses slot
 * p & (SIZE - 1):
 *   producer: wait for seq == p (free in this lap; acquire, pairs with the
 *             consumer's release), write the value, release-store
 *             seq = p + 1 (publishes the value);
 *   consumer: wait for seq == p + 1 (acquire, pairs with that release),
 *             read the value, release-store seq = p + SIZE (frees the slot
 *             for the producer's next lap; the value was read before).
 * The consumer checks every message (value == position, in order) and
 * sums them; stop is stored after the last push, so an empty slot seen
 * after stop is final.
 */
struct fspsc_slot {
	_Atomic uint64_t fs_seq;
	uint64_t fs_val;
};
struct fspsc {
	_Alignas(LWKT_CACHELINE) struct fspsc_slot fs_slot[SPSC_SIZE];
	_Alignas(LWKT_CACHELINE) _Atomic int fs_stop;
	/* The consumer's results, read after join. */
	_Alignas(LWKT_CACHELINE) uint64_t fs_sum, fs_got, fs_bad;
};
_Static_assert(sizeof(struct fspsc_slot) == 16, "16-byte slots");

static void *
fspsc_consumer(void *p)
{
	struct fspsc *q = p;
	uint64_t pos = 0, sum = 0, bad = 0;

	for (;;) {
		struct fspsc_slot *sl = &q->fs_slot[pos & (SPSC_SIZE - 1)];
		if (atomic_load_explicit(&sl->fs_seq, memory_order_acquire)
		    != pos + 1) {
			if (atomic_load_explicit(&q->fs_stop,
						 memory_order_acquire) &&
			    atomic_load_explicit(&sl->fs_seq,
						 memory_order_acquire) != pos + 1)
				break;
			lwkt_cpu_relax();
			continue;
		}
		uint64_t v = sl->fs_val;
		sum += v;
		bad += v != pos;
		atomic_store_explicit(&sl->fs_seq, pos + SPSC_SIZE,
				      memory_order_release);
		pos++;
	}
	q->fs_sum = sum;
	q->fs_got = pos;
	q->fs_bad = bad;
	return NULL;
}

static void
bm_floor_spsc(gbench_state *st)
{
	static struct fspsc q;
	struct bench_thread t;

	if (!bench_need_two_cpus(st))
		return;
	for (uint64_t i = 0; i < SPSC_SIZE; i++) {
		atomic_init(&q.fs_slot[i].fs_seq, i);
		q.fs_slot[i].fs_val = 0;
	}
	atomic_store(&q.fs_stop, 0);
	if (bench_thread_start(&t, bench_cpu[1], fspsc_consumer, &q) != 0) {
		gbench_skip_with_error(st, "pthread_create failed");
		return;
	}
	uint64_t pos = 0, expect = 0;
	GBENCH_LOOP(st) {
		struct fspsc_slot *sl = &q.fs_slot[pos & (SPSC_SIZE - 1)];
		while (atomic_load_explicit(&sl->fs_seq, memory_order_acquire)
		       != pos)
			lwkt_cpu_relax();
		sl->fs_val = pos;
		expect += pos;
		atomic_store_explicit(&sl->fs_seq, pos + 1,
				      memory_order_release);
		pos++;
	}
	atomic_store_explicit(&q.fs_stop, 1, memory_order_release);
	if (bench_thread_join(&t) != 0) {
		gbench_skip_with_error(st, "cannot pin the consumer thread");
		return;
	}
	if (q.fs_got != pos || q.fs_bad != 0 || q.fs_sum != expect ||
	    pos != (uint64_t)gbench_iterations_done(st)) {
		gbench_skip_with_error(st, "the consumer did not see every "
				       "message once, in order");
		return;
	}
	gbench_set_items_processed(st, (int64_t)pos);
}
GBENCH_REGISTER(bm_floor_spsc, "stream/floor_spsc", gbench_use_real_time(f))

/* ---------------------------------------------------------------------- */
/* switch/floor_stack: the bare stack switch under every lwkt thread
 * switch, alone: two contexts jumping to each other with the runtime's
 * own primitive (lwkt/src/ctx_x86_64.S on x86-64: callee-saved registers
 * and the stack pointer, nothing else; Boost.Context's jump_fcontext
 * elsewhere, as the runtime).  An iteration is two switches, there and
 * back, as in switch/lwkt_thread; the partner answers data + 1 and the
 * loop checks it.  No scheduler, no run queue, no IPI poll: what a
 * thread switch could not go below. */
typedef void *fs_fctx;
typedef struct {
	fs_fctx fctx;
	void *data;
} fs_transfer;
#if defined(__x86_64__)
fs_transfer _lwkt_jump(fs_fctx const to, void *vp);
fs_fctx _lwkt_make(void *sp, size_t size, void (*fn)(fs_transfer));
#define FS_JUMP _lwkt_jump
#define FS_MAKE _lwkt_make
#else
fs_transfer jump_fcontext(fs_fctx const to, void *vp);
fs_fctx make_fcontext(void *sp, size_t size, void (*fn)(fs_transfer));
#define FS_JUMP jump_fcontext
#define FS_MAKE make_fcontext
#endif
#define FS_STACK (64 * 1024)

static void
fs_partner(fs_transfer t)
{
	for (;;)
		t = FS_JUMP(t.fctx, (void *)((uintptr_t)t.data + 1));
}

static void
bm_floor_stack(gbench_state *st)
{
	static _Alignas(64) unsigned char stack[FS_STACK];
	fs_transfer t = {FS_MAKE(stack + FS_STACK, FS_STACK, fs_partner),
			 NULL};
	uintptr_t n = 0, bad = 0;
	GBENCH_LOOP(st) {
		t = FS_JUMP(t.fctx, (void *)n);
		bad += (uintptr_t)t.data != n + 1;
		n++;
	}
	/* The partner stays suspended on its stack: nothing to free. */
	if (bad != 0) {
		gbench_skip_with_error(st, "the partner context answered "
				       "wrong data");
		return;
	}
	gbench_counter(st, "s_per_switch", 2.0 * (double)n,
		       GBENCH_CTR_RATE | GBENCH_CTR_INVERT);
}
GBENCH_REGISTER(bm_floor_stack, "switch/floor_stack")

/* ---------------------------------------------------------------------- */
/* call/floor_indirect: one call through a function pointer the compiler
 * cannot see through (the pointer is laundered through an asm each
 * iteration, the callee is noinline, the result is kept). */
__attribute__((noinline)) static uint64_t
floor_callee(uint64_t x)
{
	__asm__ volatile("");
	return x + 1;
}

static void
bm_floor_indirect(gbench_state *st)
{
	uint64_t (*fn)(uint64_t) = floor_callee;
	uint64_t acc = (uint64_t)gbench_max_iterations(st);
	GBENCH_LOOP(st) {
		__asm__ volatile("" : "+r"(fn));
		acc = fn(acc);
	}
	GBENCH_KEEP(acc);
}
GBENCH_REGISTER(bm_floor_indirect, "call/floor_indirect")

/* lock/floor_pthread_mutex: uncontended lock + unlock. */
static void
bm_floor_mutex(gbench_state *st)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t counter;
	GBENCH_LOOP(st) {
		pthread_mutex_lock(&m);
		counter++;
		pthread_mutex_unlock(&m);
	}
	gbench_escape(&counter);
}
GBENCH_REGISTER(bm_floor_mutex, "lock/floor_pthread_mutex")

/* atomic/floor_cas: one successful, uncontended seq_cst compare-and-swap. */
static void
bm_floor_cas(gbench_state *st)
{
	static _Atomic uint64_t word;
	uint64_t seen = atomic_load(&word);
	GBENCH_LOOP(st) {
		/* Succeeds every time: nobody else writes `word`. */
		atomic_compare_exchange_strong(&word, &seen, seen + 1);
		seen++;
	}
	GBENCH_KEEP(seen);
	if (atomic_load(&word) != seen)
		gbench_skip_with_error(st, "CAS failed uncontended");
}
GBENCH_REGISTER(bm_floor_cas, "atomic/floor_cas")

/* ---------------------------------------------------------------------- */
/* fence/floor_membarrier/peer:{idle,spinning}: one
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED.  Its cost depends on whether another
 * thread of the process is running (the kernel IPIs its cpu) or asleep, so
 * both are measured: peer:1 keeps a thread spinning on bench_cpu[1]. */
static int
membarrier(int cmd, unsigned flags)
{
	return (int)syscall(__NR_membarrier, cmd, flags, 0);
}

static _Atomic int mb_stop;

static void *
mb_spinner(void *p)
{
	(void)p;
	while (!atomic_load_explicit(&mb_stop, memory_order_relaxed))
		lwkt_cpu_relax();
	return NULL;
}

static void
bm_floor_membarrier(gbench_state *st)
{
	int q = membarrier(MEMBARRIER_CMD_QUERY, 0);
	if (q < 0 || !(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) != 0) {
		gbench_skip_with_error(st, "membarrier PRIVATE_EXPEDITED is not "
				       "available on this kernel");
		return;
	}
	bool peer = gbench_range_x(st, 0) != 0;
	struct bench_thread t;
	if (peer) {
		if (!bench_need_two_cpus(st))
			return;
		atomic_store(&mb_stop, 0);
		if (bench_thread_start(&t, bench_cpu[1], mb_spinner, NULL)) {
			gbench_skip_with_error(st, "pthread_create failed");
			return;
		}
	}
	int fails = 0;
	GBENCH_LOOP(st) {
		fails += membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) != 0;
	}
	if (peer) {
		atomic_store(&mb_stop, 1);
		bench_thread_join(&t);
	}
	if (fails)
		gbench_skip_with_error(st, "membarrier failed during the run");
}
GBENCH_REGISTER(bm_floor_membarrier, "fence/floor_membarrier",
		gbench_arg_name(f, "peer_spinning"), gbench_arg(f, 0),
		gbench_arg(f, 1), gbench_use_real_time(f))
