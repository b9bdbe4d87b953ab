/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipiq_fast.h - the common case of an IPI send, inline in its callers
 * (the message path, lwkt_send_ipiq2): an LWKT cpu sends to another cpu
 * in soft-IPI mode, not from inside a full-ring wait, with no overflow
 * pending and a free slot known without reading the target's index, and
 * the target is not asleep.  Then the send is the slot's stores, its
 * release, and one load of the target's idle word.  Everything else
 * returns false and the caller takes the full send (ipiq.c, ipiq_send),
 * which handles the same state from where this left it: nothing was
 * written then.  Private.
 */
#ifndef LWKT_SRC_IPIQ_FAST_H
#define LWKT_SRC_IPIQ_FAST_H

#include "lwkt_priv.h"
#include "lwkt_trace.h"

/*
 * Fills slot w of r, the ring from gd to cpu (the caller made sure it is
 * free: w - ir_rcache < size), all but its sequence word, and moves the
 * write index past it.  The one slot writer of calls: the inline send
 * below and the full send (ipiq.c, ring_put) both start here; publishing
 * (and signalling) is theirs.  Returns the slot.
 */
static inline __attribute__((always_inline)) struct lwkt_ipislot *
_lwkt_ring_fill(struct lwkt_cpu *gd, int cpu, struct lwkt_ipiring *r,
		uint64_t w, lwkt_ipifunc_t func, void *a1, void *a2)
{
	struct lwkt_ipislot *s = &r->ir_slot[w & gd->gd_ipiq_mask];
	s->is_func = func;
	s->is_arg1 = a1;
	s->is_arg2 = a2;
	r->ir_windex = w + 1;	/* producer-only field: plain */
	lwkt_stat_inc(&gd->gd_st_ipis_sent);
	LWKT_TRACE(ipi_send, gd->gd_cpuid, (uint32_t)cpu, w, func);
	(void)cpu;	/* for the trace site only */
	return s;
}

/* After a fast send's publish: wake the target if it sleeps.  The sender
 * half of the idle Dekker (_lwkt_wake_cpu, ipiq.c): a compiler barrier
 * (asymmetric: the sleeper's membarrier) or a full fence (symmetric),
 * then the target's idle word (relaxed: the barrier orders it). */
static inline __attribute__((always_inline)) void
_lwkt_ipiq_signal_fast(struct lwkt_cpu *gd, int cpu)
{
	struct lwkt_cpu *to = lwkt_rt->rt_cpu[cpu];
	if (gd->gd_fence_sym)
		lwkt_fence_seq_cst();
	else
		atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(atomic_load_explicit(&to->gd_idle,
						  memory_order_relaxed) != 0,
			     0))
		_lwkt_wake_cpu(gd, to);
	else
		lwkt_stat_inc(&gd->gd_st_wakeups_avoided);
}

/*
 * Makes a fast send's entry visible: its head slot s, sequence word seq,
 * already written up to that word.  Without batching: the release store,
 * then the wake-up check.  With it (gd_ipi_batch > 0): held back (ring
 * layout in lwkt_priv.h, "Held sends"): the first held entry keeps its
 * word in r->ir_hold_seq; later ones store theirs now, relaxed, invisible
 * behind it; the flush (ipiq.c, _lwkt_ipiq_flush) releases the burst and
 * checks the target's sleep once.  A ring that holds gd_ipi_batch
 * entries flushes at once, so a sender that never polls still delivers.
 */
static inline __attribute__((always_inline)) void
_lwkt_ipiq_commit(struct lwkt_cpu *gd, int cpu, struct lwkt_ipiring *r,
		  struct lwkt_ipislot *s, uint64_t seq)
{
	if (__builtin_expect(gd->gd_ipi_batch == 0, 1)) {
		/* release: publishes the entry; pairs with the target's
		 * acquire in _lwkt_ipiq_process. */
		atomic_store_explicit(&s->is_seq, seq, memory_order_release);
		_lwkt_ipiq_signal_fast(gd, cpu);
		return;
	}
	if (r->ir_nheld++ == 0) {
		r->ir_hold = s;
		r->ir_hold_seq = seq;
		gd->gd_held |= 1ull << cpu;
	} else {
		/* relaxed: the consumer stops at the held head; the flush's
		 * release of it orders this store before the consumer's
		 * acquire-load of this word. */
		atomic_store_explicit(&s->is_seq, seq, memory_order_relaxed);
	}
	if (__builtin_expect(r->ir_nheld >= gd->gd_ipi_batch, 0))
		_lwkt_ipiq_flush(gd);
}

/*
 * Sends func(a1, a2) to cpu if that is the common case; false (and
 * nothing done) otherwise.  gd: the calling cpu (mycpu()).
 *
 * Why each condition sends the rest to ipiq_send:
 *   gd_ipi_fast    false with hard IPIs: there the send needs a critical
 *                  section (a signal could nest a send on this ring).
 *   gd_ipi_depth   a nested send (inside a full-ring wait) never waits
 *                  and may go to the overflow ("Nested sends", ipiq.c).
 *   gd_novf        an overflow must reach its ring before any later send
 *                  returns (FIFO per ring).
 *   full           w - ir_rcache >= size: ring_full re-reads the
 *                  target's index, then maybe waits.
 *   target asleep  gd_idle == 1: _lwkt_wake_cpu wakes it (the slot is
 *                  written already: it is the same send, finished there).
 */
/* The mode and target conditions both fast sends share (the list
 * above, less the ring space and the target's sleep). */
static inline __attribute__((always_inline)) bool
_lwkt_ipiq_fast_ok(struct lwkt_cpu *gd, int cpu)
{
	return !__builtin_expect(!gd->gd_ipi_fast || gd->gd_ipi_depth != 0 ||
				 gd->gd_novf != 0, 0) &&
	       (unsigned)cpu < (unsigned)gd->gd_ncpus && cpu != gd->gd_cpuid;
}

static inline __attribute__((always_inline)) bool
_lwkt_ipiq_send_fast(struct lwkt_cpu *gd, int cpu, lwkt_ipifunc_t func,
		     void *a1, void *a2)
{
	if (!_lwkt_ipiq_fast_ok(gd, cpu))
		return false;
	struct lwkt_ipiring *r = gd->gd_outring[cpu];
	uint64_t w = r->ir_windex;
	if (__builtin_expect(w - r->ir_rcache > gd->gd_ipiq_mask, 0))
		return false;
	struct lwkt_ipislot *s = _lwkt_ring_fill(gd, cpu, r, w, func, a1, a2);
	_lwkt_ipiq_commit(gd, cpu, r, s, w + 1);
	return true;
}

/*
 * Sends a value entry (lwkt_priv.h: head words v[0..2], then ntail tails
 * of three words each, 1 <= ntail <= LWKT_IPIVAL_MAXTAILS) to cpu, under
 * the conditions of _lwkt_ipiq_send_fast, which also need 1 + ntail free
 * slots; false (nothing written) otherwise: the caller then sends by
 * reference (msgport_thread.c), which keeps FIFO on the same ring.
 */
static inline __attribute__((always_inline)) bool
_lwkt_ipiq_send_value_fast(struct lwkt_cpu *gd, int cpu, const uint64_t *v,
			   unsigned ntail)
{
	if (!_lwkt_ipiq_fast_ok(gd, cpu))
		return false;
	struct lwkt_ipiring *r = gd->gd_outring[cpu];
	uint64_t w = r->ir_windex;
	unsigned mask = gd->gd_ipiq_mask;
	if (__builtin_expect(w + ntail - r->ir_rcache > mask, 0)) {
		/* acquire: pairs with the target's release of ir_rindex (as
		 * ring_full, ipiq.c): the slots it passed are free. */
		r->ir_rcache = atomic_load_explicit(&r->ir_rindex,
						    memory_order_acquire);
		if (w + ntail - r->ir_rcache > mask)
			return false;
	}
	for (unsigned t = 0; t < ntail; t++) {
		struct lwkt_ipislot *ts = &r->ir_slot[(w + 1 + t) & mask];
		/* relaxed: 0 is "no entry" for a consumer that meets this
		 * slot at its read index; published with the head below. */
		atomic_store_explicit(&ts->is_seq, 0, memory_order_relaxed);
		ts->is_word[0] = v[3 + 3 * t];
		ts->is_word[1] = v[4 + 3 * t];
		ts->is_word[2] = v[5 + 3 * t];
	}
	struct lwkt_ipislot *s = &r->ir_slot[w & mask];
	s->is_word[0] = v[0];
	s->is_word[1] = v[1];
	s->is_word[2] = v[2];
	r->ir_windex = w + 1 + ntail;	/* producer-only field: plain */
	lwkt_stat_inc(&gd->gd_st_ipis_sent);
	LWKT_TRACE(ipi_send, gd->gd_cpuid, (uint32_t)cpu, w,
		   _lwkt_msg_value_arrive);
	/* Publishes head and tails (the release in _lwkt_ipiq_commit). */
	_lwkt_ipiq_commit(gd, cpu, r, s, (w + 1) | LWKT_IPISEQ_VALUE |
			  ((uint64_t)ntail << LWKT_IPISEQ_TAILSHIFT));
	return true;
}

#endif /* LWKT_SRC_IPIQ_FAST_H */
