/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token.h - LWKT tokens: two designs behind one API, chosen per token at
 * run time so one binary compares them.
 *
 *  LWKT_TOKEN_CPU_OWNED  (Dillon, "lkwt in DragonFly", kernel@dragonfly
 *      bsd.org, 6 Feb 2004) a token belongs to a cpu.  On
 *      the owning cpu, get and release are plain loads and stores inside
 *      a critical section: no bus-locked instruction.  A foreign cpu asks
 *      the owner (it sets its bit in the token's request mask and sends
 *      the owner an IPI); the token moves only at the owner's explicit
 *      release or at its next thread switch, never from under a running
 *      holder.  One mode only: lwkt_gettoken_shared() is exclusive here.
 *  LWKT_TOKEN_ATOMIC     (today's DragonFly) ownership by compare-and-
 *      swap on a count word: TOK_EXCLUSIVE, TOK_EXCLREQ and a shared count
 *      in units of TOK_INCR; shared and exclusive modes.  A failed
 *      acquisition backs off, then yields: the acquisition is retried at
 *      switch time, as DragonFly's lwkt_getalltokens().  A writer that
 *      had to wait gets the next turn (TOK_EXCLREQ): a holder that
 *      releases and re-takes in a loop cannot starve it.
 *
 * Contract common to both (users, read this):
 *  - A token protects data while its holder RUNS.  A thread that blocks
 *    (lwkt_sleep, lwkt_tsleep, lwkt_yield that switches, lwkt_migrate, or a
 *    contended lwkt_gettoken) gives up all its tokens; all of them are
 *    re-acquired before it runs again.  So a thread may hold any number of
 *    tokens across a blocking call, in any order, without deadlock — and
 *    there is NO ATOMICITY ACROSS A BLOCKING CALL: re-check what you read
 *    before blocking.
 *  - Tokens are released in the reverse order of acquisition (the held
 *    list is a stack of at most LWKT_MAXTOKENS entries, like DragonFly's
 *    td_toks_array).  Releasing a token that is not held, by the wrong
 *    thread, or out of order aborts with a message naming the token.
 *  - A thread may take a token it holds again (recursion): exclusive after
 *    exclusive, shared after shared, shared after exclusive.  Exclusive
 *    after shared (an upgrade) is refused with a clear message (abort):
 *    two upgraders would deadlock.
 *  - Only LWKT threads take tokens (not IPI functions, not the idle loop,
 *    not outside threads).  A thread must release its tokens before it
 *    exits.
 *  - A token must be initialized with lwkt_token_init() (or come from the
 *    pool) and must not be held across lwkt_shutdown().
 */
#ifndef LWKT_TOKEN_H
#define LWKT_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "lwkt/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lwkt_token_design {
	LWKT_TOKEN_DEFAULT = 0,		/* the runtime default, at init */
	LWKT_TOKEN_CPU_OWNED = 1,	/* the 2004 design */
	LWKT_TOKEN_ATOMIC = 2,		/* today's DragonFly */
};

/* Most tokens one thread holds at once (DragonFly's LWKT_MAXTOKENS). */
#define LWKT_MAXTOKENS 32

/* Count word of the atomic design (DragonFly's values). */
#define LWKT_TOK_EXCLUSIVE	0x1ull	/* held exclusively (t_owner) */
#define LWKT_TOK_EXCLREQ	0x2ull	/* a writer waits, and its turn is
					 * next: no new readers, no other
					 * writer (token_atomic.c) */
#define LWKT_TOK_INCR		0x4ull	/* one shared holder */

/*
 * A token.  Fields are private to token.c; the struct is public so tokens
 * can be embedded.  One cache line.
 *
 * Atomic design:
 *   t_count   CAS/fetch-op by any cpu.  Acquire on the CAS that takes it,
 *             release on the RMW that gives it up: the protected data
 *             written by one holder is visible to the next.
 *   t_owner   the exclusive holder (a struct lwkt_thread *): stored
 *             relaxed by the CAS winner after its CAS, cleared before the
 *             release RMW; others only compare it with themselves.
 * CPU-owned design:
 *   t_cpu     owning cpu, or -1 while in transit.  Stored only by the
 *             owner (to -1, when it gives the token away) and by the
 *             receiving cpu (to itself, in the grant IPI, after the IPI's
 *             acquire); anyone loads it.  So "t_cpu == me" implies every
 *             earlier holder's writes are visible (the IPI ring's
 *             release/acquire carries them).
 *   t_ref     holds by the thread running on the owner + pins (below).
 *             Owner cpu only, inside a critical section: plain int.
 *   t_pin     grants not yet taken by the local waiter they were for:
 *             keeps t_ref > 0 so the token is not sent on before the
 *             waiter ran.  Owner cpu only.
 *   t_reqmask bit c = cpu c asked for the token.  Set by requesters
 *             (seq_cst RMW: a slow path), cleared by the owner when it
 *             gives the token to c; the owner's fast release only loads
 *             it (relaxed: a plain load).
 */
struct lwkt_token {
	LWKT_ALIGNAS(64) LWKT_ATOMIC(uint64_t) t_count;
	LWKT_ATOMIC(void *) t_owner;
	LWKT_ATOMIC(uint64_t) t_reqmask;
	LWKT_ATOMIC(int) t_cpu;
	int t_ref;
	int t_pin;
	int t_design;		/* enum lwkt_token_design, never DEFAULT */
	uint32_t t_magic;	/* LWKT_TOKEN_MAGIC once initialized */
	const char *t_name;
};

/*
 * Initializes tok with design (LWKT_TOKEN_DEFAULT: the runtime default)
 * and a name used in messages (not copied; may be NULL).  A cpu-owned
 * token starts owned by the calling cpu (cpu 0 when called from outside
 * LWKT).  0, or EINVAL (NULL tok, unknown design).  The token must not
 * be held by anyone.
 */
int lwkt_token_init(struct lwkt_token *tok, enum lwkt_token_design design,
		    const char *name);

/* Sets the runtime default design (used by LWKT_TOKEN_DEFAULT and the
 * pool).  Without a call: $LWKT_TOKEN_DESIGN ("cpu_owned" or "atomic"),
 * else LWKT_TOKEN_ATOMIC.  0 or EINVAL. */
int lwkt_token_set_default(enum lwkt_token_design design);
enum lwkt_token_design lwkt_token_get_default(void);

/* Takes tok exclusively, blocking (and giving up the caller's other
 * tokens meanwhile) if needed. */
void lwkt_gettoken(struct lwkt_token *tok);
/* Takes tok shared (atomic design); exclusive for cpu-owned tokens. */
void lwkt_gettoken_shared(struct lwkt_token *tok);
/* Takes tok exclusively if that needs no waiting; false otherwise (a
 * cpu-owned token owned by another cpu: false, and no request is left
 * behind; an atomic token whose next turn a waiting writer has: false).
 * Never blocks. */
bool lwkt_trytoken(struct lwkt_token *tok);
/* Releases the caller's most recent hold, which must be on tok. */
void lwkt_reltoken(struct lwkt_token *tok);
/* True if the running thread holds tok (any mode).  From outside an
 * LWKT thread: false. */
bool lwkt_token_is_held(struct lwkt_token *tok);

/* A token shared by all objects whose address hashes to it (DragonFly's
 * lwkt_token_pool_lookup): cheap per-object locking without a token per
 * object.  Two objects may share a token: a holder of one pool token may
 * not assume anything about another address's token.  Pool tokens use
 * the default design at the first lookup. */
struct lwkt_token *lwkt_token_pool_lookup(const void *ptr);

/* Counters (all cpus, since the process started; relaxed reads). */
struct lwkt_token_stats {
	uint64_t lts_requests;		/* cpu-owned: foreign requests sent */
	uint64_t lts_transfers;		/* cpu-owned: grants sent */
	uint64_t lts_contended;		/* acquisitions that had to wait */
};
void lwkt_token_stats(struct lwkt_token_stats *out);

#ifdef __cplusplus
}
#endif

/* The owning cpu's get/release of a cpu-owned token inline in the caller
 * (token_inline.h), unless LWKT_NO_INLINE is defined: every other case
 * still calls the functions above.  Not under ThreadSanitizer: GCC
 * computes the TLS block's address (%fs:0) once per function for TSan's
 * checks and reuses it after calls, so a thread that lwkt_migrate'd in
 * between had its (correct) loads of the cpu's TLS reported at the old
 * cpu's block, racing that cpu's switches (lwkt-soak --storm under
 * TSan). */
#include "lwkt/token_inline.h"
#if !defined(LWKT_NO_INLINE) && !defined(__SANITIZE_THREAD__)
#define lwkt_gettoken(tok) _lwkt_gettoken_inline(tok)
#define lwkt_reltoken(tok) _lwkt_reltoken_inline(tok)
#endif
#endif /* LWKT_TOKEN_H */
