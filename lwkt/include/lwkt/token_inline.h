/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_inline.h - the owning cpu's get and release of a cpu-owned token
 * (the 2004 design, token.h), inline in the caller: a few plain loads and
 * stores, no call, no bus-locked instruction.  Anything else (another
 * cpu owns the token, the atomic design, a foreign request pending at
 * the last release, misuse, tracing on, hard-IPI mode) takes the call,
 * which behaves exactly as before.  token.h includes this header and
 * maps lwkt_gettoken/lwkt_reltoken to these functions unless the user
 * defines LWKT_NO_INLINE (then every get and release is a call); taking
 * the functions' addresses still gives the library's.
 *
 * What the runtime publishes for it, per host thread (cpu), in TLS
 * (_lwkt_tls_tok): the cpu's id, and the running thread's held list,
 * stored at every switch (thread.c) and when a thread's list is made
 * (token.c).  The list is NULL, so every call goes the long way, outside
 * LWKT, in the idle loop and IPI functions, before a thread's first
 * token, and always in hard-IPI mode (lc_hard_ipi), where a signal may
 * run IPI functions at any instruction outside a critical section.
 *
 * Why no critical section here: with soft IPIs nothing runs on this cpu
 * between two instructions of this code but the code itself: IPI
 * functions (a foreign request that would give the token away, a grant)
 * run only at polling points, which are calls into the runtime.  So
 * "t_cpu == this cpu" at the check stays true until the caller's next
 * runtime call, and the previous holder's writes were published to this
 * cpu by the grant IPI's acquire (token.h, t_cpu).  A request that
 * arrives after the release's relaxed load of t_reqmask is served by the
 * requester's poke IPI at the next polling point, as DragonFly's 2004
 * tokens served a request at the owner's next switch or release.
 *
 * Private layout: the structs below are the runtime's own (token.c
 * writes them); they are in an installed header only because inline code
 * reads them.  Do not touch them; they may change with the library.
 */
#ifndef LWKT_TOKEN_INLINE_H
#define LWKT_TOKEN_INLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwkt/arch.h"
#include "lwkt/token.h"		/* struct lwkt_token, LWKT_MAXTOKENS */

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of a thread's held list (a stack): owned by the thread's
 * cpu.  tr_mode: 0 exclusive, 1 shared. */
struct lwkt_tokref {
	struct lwkt_token *tr_tok;
	uint8_t tr_mode;	/* as requested */
	uint8_t tr_held;	/* physically held now (all of them while the
				 * thread runs; fewer inside the runtime's
				 * re-acquisition) */
	uint8_t tr_counted;	/* atomic design: this ref changed t_count
				 * (not a recursive hold) */
	uint8_t tr_reserved;	/* atomic design: this ref owns TOK_EXCLREQ
				 * (the waiting writer's turn); 0 outside
				 * the runtime's re-acquisition */
};

/* A thread's held list and the runtime's bookkeeping; allocated at its
 * first slow-path token, freed at its exit.  Touched by the thread's cpu
 * only.  The fields the inline code reads come first (one line). */
struct lwkt_tokstate {
	int ts_n;			/* stack depth */
	bool ts_inslow;			/* in the runtime's re-acquisition:
					 * no inline push */
	bool ts_waiting;		/* runtime: on its cpu's wait queue */
	struct lwkt_tokstate *ts_wnext;	/* runtime: wait queue link */
	void *ts_td;			/* runtime: the thread */
	struct lwkt_tokref ts_ref[LWKT_MAXTOKENS];
};

/* Per host thread: stored by its own cpu only (switch, list creation),
 * read by inline code running on that cpu: plain TLS, no ordering.
 * Initial-exec: every access is one %fs-relative load, so code that ran
 * on before a migration reads its new cpu's copy. */
struct lwkt_tok_tls {
	struct lwkt_tokstate *tt_ts;	/* running thread's list, or NULL:
					 * take the call (see the file) */
	int tt_cpuid;			/* this cpu (meaningless when tt_ts
					 * is NULL) */
};
extern __thread struct lwkt_tok_tls _lwkt_tls_tok
	__attribute__((tls_model("initial-exec")));

/* Where the runtime's token_acquire / token_release trace events keep
 * their "a session records me" word (LTTng-UST's tracepoint state; a
 * constant 0 in a library built without tracing): when it is set, the
 * inline paths take the call, which records the event. */
extern const int *const _lwkt_tok_trace_acquire;
extern const int *const _lwkt_tok_trace_release;

/* Owner-cpu get: true if taken here (pushed on the held list). */
static inline __attribute__((always_inline)) bool
_lwkt_tokcpu_get_inline(struct lwkt_token *tok)
{
	struct lwkt_tokstate *ts = _lwkt_tls_tok.tt_ts;
	if (__builtin_expect(ts == NULL || ts->ts_n >= LWKT_MAXTOKENS ||
			     ts->ts_inslow, 0))
		return false;
	if (tok->t_design != LWKT_TOKEN_CPU_OWNED ||
	    __atomic_load_n(&tok->t_cpu, __ATOMIC_RELAXED) !=
	    _lwkt_tls_tok.tt_cpuid ||
	    __builtin_expect(__atomic_load_n(_lwkt_tok_trace_acquire,
					     __ATOMIC_RELAXED) != 0, 0))
		return false;
	/* Only this cpu writes t_ref while it owns the token. */
	tok->t_ref++;
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n];
	r->tr_tok = tok;
	r->tr_mode = 0;
	r->tr_held = 1;
	r->tr_counted = 1;
	ts->ts_n++;
	/* The caller's protected accesses stay after the push. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return true;
}

/* Owner-cpu release of the most recent hold: true if done here.  A last
 * hold with a foreign request pending takes the call (it gives the
 * token away). */
static inline __attribute__((always_inline)) bool
_lwkt_tokcpu_rel_inline(struct lwkt_token *tok)
{
	struct lwkt_tokstate *ts = _lwkt_tls_tok.tt_ts;
	/* The caller's protected accesses stay before the pop. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(ts == NULL || ts->ts_n == 0, 0))
		return false;
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n - 1];
	if (r->tr_tok != tok || !r->tr_held ||
	    tok->t_design != LWKT_TOKEN_CPU_OWNED ||
	    __builtin_expect(__atomic_load_n(_lwkt_tok_trace_release,
					     __ATOMIC_RELAXED) != 0, 0))
		return false;	/* misuse too: the call names it */
	/* Relaxed load of the request mask: see the file header. */
	if (tok->t_ref > 1 ||
	    __atomic_load_n(&tok->t_reqmask, __ATOMIC_RELAXED) == 0) {
		tok->t_ref--;
		ts->ts_n--;
		return true;
	}
	return false;
}

/* What lwkt_gettoken/lwkt_reltoken expand to (token.h).  The
 * parentheses around the names call the library's functions, not the
 * macros. */
static inline void
_lwkt_gettoken_inline(struct lwkt_token *tok)
{
	if (!_lwkt_tokcpu_get_inline(tok))
		(lwkt_gettoken)(tok);
}

static inline void
_lwkt_reltoken_inline(struct lwkt_token *tok)
{
	if (!_lwkt_tokcpu_rel_inline(tok))
		(lwkt_reltoken)(tok);
}

#ifdef __cplusplus
}
#endif
#endif /* LWKT_TOKEN_INLINE_H */
