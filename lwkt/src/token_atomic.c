/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_atomic.c - the atomic token design of today's DragonFly
 * (kern/lwkt_token.c, _lwkt_trytokref): ownership by compare-and-swap
 * on a count word, shared and exclusive modes.  The uncontended fast
 * path is inline in token_priv.h (_lwkt_tokatomic_fastget).
 */
#include "token_priv.h"

/* Atomic design: one try, no waiting.  want_req: a failed exclusive try
 * sets TOK_EXCLREQ so that new readers hold back (gettoken only; a
 * trytoken must not leave it behind). */
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
				return true;
			}
			return false;
		}
		uint64_t n;
		if (r->tr_mode == TR_EXCL) {
			if (c & ~LWKT_TOK_EXCLREQ) {	/* readers in */
				if (want_req && !(c & LWKT_TOK_EXCLREQ))
					atomic_fetch_or_explicit(
					    &tok->t_count, LWKT_TOK_EXCLREQ,
					    memory_order_relaxed);
				return false;
			}
			n = LWKT_TOK_EXCLUSIVE;		/* clears EXCLREQ */
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
	if (r->tr_mode == TR_EXCL)
		atomic_store_explicit(&tok->t_owner, td, memory_order_relaxed);
	r->tr_counted = 1;
	return true;
}

void
_lwkt_tokatomic_giveup(struct lwkt_tokref *r)
{
	struct lwkt_token *tok = r->tr_tok;
	if (!r->tr_counted)
		return;
	/* release: publishes our writes to the next holder's acquire. */
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

