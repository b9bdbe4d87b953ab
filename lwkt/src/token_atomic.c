/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_atomic.c - the atomic token design of today's DragonFly
 * (kern/lwkt_token.c, _lwkt_trytokref): ownership by compare-and-swap
 * on a count word, shared and exclusive modes.  The uncontended fast
 * path is inline in token_priv.h (_lwkt_tokatomic_fastget).
 *
 * Fairness: the waiting writer's turn.  A plain test-and-set token lets
 * a holder that releases and re-takes at once (a loop on its own cpu,
 * where the token's line stays) win nearly every round against a waiter
 * on another cpu, whose load and CAS each need the line to travel back:
 * the free window is shorter than one line transfer, so the waiter can
 * starve (test_token: t_writer_not_starved).  DragonFly spreads its
 * contenders in time (_lwkt_trytokref_spin: exponential backoff, TSC
 * windows per cpu) and leaves TOK_EXCLREQ to hold back new readers only.
 * Here TOK_EXCLREQ is also the waiting writer's reservation:
 *
 *   - A gettoken whose exclusive try fails (the token is held, in either
 *     mode) sets TOK_EXCLREQ if it was clear, and then owns it: its
 *     tokref records that (tr_reserved).  One reserver at a time: the
 *     fetch_or's old value tells who set it.
 *   - While TOK_EXCLREQ is set, only its reserver may take the token
 *     exclusively (its CAS clears the bit: the reservation is consumed),
 *     and only readers that already read may add a shared hold.  The fast
 *     paths need t_count == 0 (exclusive) or the bit clear (shared), so
 *     they fall into this path.
 *   - Invariant: TOK_EXCLREQ is set iff exactly one tokref has
 *     tr_reserved; only that tokref's thread clears it (CAS on taking, or
 *     _lwkt_tokatomic_unreserve).  Releases (fetch_and/fetch_sub) leave
 *     the bit alone.
 *   - No reservation outlives its wait: acquire_all (token.c) withdraws
 *     every reservation but the one on the token it just failed on, and
 *     all of them before it lets another thread of its cpu run (the
 *     yield of its backoff, the sleep for a cpu-owned grant).  So a
 *     reserver is always running, polling that token, and holds no token
 *     (it gave them all up): the token's holders run on other cpus and
 *     drain, and the reserver takes it at its next retry.  A higher-
 *     priority thread of the reserver's cpu never spins against it (it
 *     cannot run meanwhile).  Two threads that reserve each other's next
 *     token withdraw on their next failure elsewhere: no reservation
 *     cycle persists.
 * The bit is a fairness hint, not the exclusion: every acquisition still
 * is a CAS with acquire on t_count, every release an RMW with release.
 */
#include "token_priv.h"

/* r's exclusive try failed on count c: reserve the next turn unless a
 * writer already has it.  Relaxed: the bit orders nothing (the protected
 * data travels with the acquire CAS and the release RMW). */
static void
reserve(struct lwkt_tokref *r, struct lwkt_token *tok, uint64_t c)
{
	if (r->tr_reserved || (c & LWKT_TOK_EXCLREQ))
		return;
	uint64_t old = atomic_fetch_or_explicit(&tok->t_count,
						LWKT_TOK_EXCLREQ,
						memory_order_relaxed);
	if (!(old & LWKT_TOK_EXCLREQ))
		r->tr_reserved = 1;	/* we set it: our turn is next */
}

void
_lwkt_tokatomic_unreserve(struct lwkt_tokref *r)
{
	if (!r->tr_reserved)
		return;
	r->tr_reserved = 0;
	atomic_fetch_and_explicit(&r->tr_tok->t_count, ~LWKT_TOK_EXCLREQ,
				  memory_order_relaxed);
}

/* Atomic design: one try, no waiting.  want_req: a failed exclusive try
 * reserves the next turn (TOK_EXCLREQ: see the file header; gettoken
 * only: a trytoken must not leave it behind). */
bool
_lwkt_tokatomic_try(struct lwkt_thread *td, struct lwkt_tokstate *ts, int idx,
	   bool want_req)
{
	struct lwkt_tokref *r = &ts->ts_ref[idx];
	struct lwkt_token *tok = r->tr_tok;
	uint64_t c = atomic_load_explicit(&tok->t_count, memory_order_relaxed);

	for (;;) {
		if (c & LWKT_TOK_EXCLUSIVE) {
			if (atomic_load_explicit(&tok->t_owner,
						 memory_order_relaxed) == td) {
				r->tr_counted = 0;	/* recursion */
				_lwkt_tokatomic_unreserve(r);
				return true;
			}
			if (r->tr_mode == TR_EXCL && want_req)
				reserve(r, tok, c);
			return false;
		}
		uint64_t n;
		if (r->tr_mode == TR_EXCL) {
			if (c & ~LWKT_TOK_EXCLREQ) {	/* readers in */
				if (want_req)
					reserve(r, tok, c);
				return false;
			}
			/* Another writer's turn: leave it the token. */
			if ((c & LWKT_TOK_EXCLREQ) && !r->tr_reserved)
				return false;
			n = LWKT_TOK_EXCLUSIVE;	/* clears our EXCLREQ */
		} else {
			/* A waiting writer holds new readers back, but not
			 * one that already reads (it would wait on itself). */
			if ((c & LWKT_TOK_EXCLREQ) &&
			    !holds_shared_only(ts, tok, idx))
				return false;
			n = c + LWKT_TOK_INCR;
		}
		/* acquire: pairs with the release RMW of the last holder. */
		if (atomic_compare_exchange_weak_explicit(
			    &tok->t_count, &c, n, memory_order_acquire,
			    memory_order_relaxed))
			break;
	}
	if (r->tr_mode == TR_EXCL) {
		atomic_store_explicit(&tok->t_owner, td, memory_order_relaxed);
		r->tr_reserved = 0;	/* consumed by the CAS, if we had it */
	}
	r->tr_counted = 1;
	return true;
}

void
_lwkt_tokatomic_giveup(struct lwkt_tokref *r)
{
	struct lwkt_token *tok = r->tr_tok;
	if (!r->tr_counted)
		return;
	/* release: publishes our writes to the next holder's acquire.
	 * Neither RMW touches TOK_EXCLREQ (a waiting writer's turn). */
	if (r->tr_mode == TR_EXCL) {
		atomic_store_explicit(&tok->t_owner, NULL,
				      memory_order_relaxed);
		atomic_fetch_and_explicit(&tok->t_count, ~LWKT_TOK_EXCLUSIVE,
					  memory_order_release);
	} else {
		atomic_fetch_sub_explicit(&tok->t_count, LWKT_TOK_INCR,
					  memory_order_release);
	}
}
