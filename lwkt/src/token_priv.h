/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_priv.h - what token.c (the API, the held list, the switch hooks)
 * and the two designs (token_cpu.c, token_atomic.c) share.  Private.
 */
#ifndef LWKT_SRC_TOKEN_PRIV_H
#define LWKT_SRC_TOKEN_PRIV_H

#include "lwkt/token.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"

#define LWKT_TOKEN_MAGIC 0x746f6b6eu	/* "tokn" */

/* tr_mode (struct lwkt_tokref and struct lwkt_tokstate, the held list,
 * are in lwkt/token_inline.h: inline code of users reads them) */
#define TR_EXCL		0
#define TR_SHARED	1

/* Per-cpu: threads waiting for cpu-owned tokens, and counters.  Entry c
 * is written by cpu c only (own line each). */
struct tok_percpu {
	_Alignas(LWKT_CACHELINE) struct lwkt_tokstate *tp_waitq;
	_Atomic uint64_t tp_requests;
	_Atomic uint64_t tp_transfers;
	_Atomic uint64_t tp_contended;
};
extern struct tok_percpu tok_pcpu[LWKT_MAXCPU];	/* token.c */


/* True if ts_ref[0..n) holds tok shared (counted). */
static inline bool
holds_shared_only(struct lwkt_tokstate *ts, struct lwkt_token *tok, int n)
{
	for (int i = 0; i < n; i++)
		if (ts->ts_ref[i].tr_tok == tok &&
		    ts->ts_ref[i].tr_mode == TR_SHARED &&
		    ts->ts_ref[i].tr_counted)
			return true;
	return false;
}

/* The running thread's token state if a fast path may push a tokref
 * (an LWKT cpu, a state, room, not inside acquire_all); else NULL.
 * *tdp gets the thread.  Inline: the fast paths must stay call-free. */
static inline __attribute__((always_inline)) struct lwkt_tokstate *
_lwkt_tok_fast_state(struct lwkt_cpu *gd, struct lwkt_thread **tdp)
{
	if (gd == NULL)
		return NULL;
	struct lwkt_thread *td = gd->gd_curthread;
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL || ts->ts_n >= LWKT_MAXTOKENS || ts->ts_inslow)
		return NULL;
	*tdp = td;
	return ts;
}

/* After a fast path that succeeded: in hard-IPI mode it held a critical
 * section without polling at its end, and a signal meanwhile left its
 * IPIs in the rings: run them now (count back at 0 only). */
static inline void
_lwkt_tok_fast_done(void)
{
	if (__builtin_expect(lwkt_rt->rt_hard_ipi, 0)) {
		struct lwkt_cpu *gd = lwkt_tls_gd;
		struct lwkt_thread *td = gd->gd_curthread;
		_lwkt_crit_enter(td);
		_lwkt_crit_exit(gd, td);
	}
}

/* ---- token_cpu.c: the cpu-owned design (file header there) ---- */

/* Takes r's token if this cpu owns it; else, if request, asks the owner
 * (the grant reschedules our waiters).  Critical section. */
bool _lwkt_tokcpu_take(struct lwkt_cpu *gd, struct lwkt_thread *td,
		       struct lwkt_tokref *r, bool request);
/* Drops one hold; at the last, hands the token to a requester if any. */
void _lwkt_tokcpu_giveup(struct lwkt_cpu *gd, struct lwkt_token *tok);
/* Before a waiter sleeps: true if tok is on this cpu already, or this
 * cpu's request for it is gone (a grant came and went while we could not
 * be woken): the waiter must retry instead of sleeping. */
bool _lwkt_tokcpu_must_retry(struct lwkt_cpu *gd, struct lwkt_token *tok);
/* The owner-cpu fast paths (no call, no locked instruction: checked by
 * test_token_asm.c).  False: take the slow path. */
bool _lwkt_token_cpu_fastget(struct lwkt_token *tok);
bool _lwkt_token_cpu_fastrel(struct lwkt_token *tok);

/* ---- token_atomic.c: the atomic design ---- */

/* One try at ts_ref[idx], no waiting (want_req: see the file). */
bool _lwkt_tokatomic_try(struct lwkt_thread *td, struct lwkt_tokstate *ts,
			 int idx, bool want_req);
void _lwkt_tokatomic_giveup(struct lwkt_tokref *r);
/* Withdraws r's reservation (TOK_EXCLREQ), if it holds one. */
void _lwkt_tokatomic_unreserve(struct lwkt_tokref *r);

/* Atomic design fast path: uncontended, first hold. */
static inline bool
_lwkt_tokatomic_fastget(struct lwkt_token *tok, int mode)
{
	struct lwkt_thread *td;
	struct lwkt_tokstate *ts = _lwkt_tok_fast_state(lwkt_tls_gd, &td);
	if (ts == NULL)
		return false;
	uint64_t c = atomic_load_explicit(&tok->t_count, memory_order_relaxed);
	uint64_t n;
	if (mode == TR_EXCL) {
		if (c != 0)
			return false;
		n = LWKT_TOK_EXCLUSIVE;
	} else {
		if (c & (LWKT_TOK_EXCLUSIVE | LWKT_TOK_EXCLREQ))
			return false;
		n = c + LWKT_TOK_INCR;
	}
	/* acquire: pairs with the last holder's release RMW. */
	if (!atomic_compare_exchange_strong_explicit(&tok->t_count, &c, n,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	if (mode == TR_EXCL)
		atomic_store_explicit(&tok->t_owner, td, memory_order_relaxed);
	/* No critical section needed: the tokref push is ours alone, and a
	 * switch-out (none can happen here) would give it up consistently
	 * only once pushed. */
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n];
	r->tr_tok = tok;
	r->tr_mode = (uint8_t)mode;
	r->tr_held = 1;
	r->tr_counted = 1;
	atomic_signal_fence(memory_order_seq_cst);
	ts->ts_n++;
	return true;
}

/* ---- the scheduler's hooks (thread.c, _lwkt_switch_to) ---- */

/* td is about to be switched away from gd (in a critical section): gives
 * up every token it holds (they stay in its held list).  td exiting with
 * tokens held aborts; an exiting thread's token state is freed here. */
void _lwkt_token_switch_out(struct lwkt_cpu *gd, struct lwkt_thread *td);

/* td runs again (on its own stack, in a critical section, maybe on a new
 * cpu): re-acquires all its tokens before returning, waiting (switching
 * to other threads) as long as needed. */
void _lwkt_token_switch_in(struct lwkt_thread *td);

#endif
