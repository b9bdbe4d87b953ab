/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_cpu.c - the cpu-owned token design of 2004 (Dillon, "lkwt in
 * DragonFly", kernel@dragonflybsd.org, 6 Feb 2004): a token belongs to a
 * cpu; its owner takes it with plain stores in a critical section; a
 * foreign cpu asks by IPI, and the token moves only at the owner's
 * release or thread switch.
 *
 * The foreign path:
 *   requester (cpu c): seq_cst fetch_or of bit c into t_reqmask, then a
 *     seq_cst load of t_cpu; if that names another cpu, a "poke" IPI to
 *     it.  Its waiting threads sit on c's token wait queue (tok_waitq[c]:
 *     the recorded dependency "these threads cannot run until the tokens
 *     they list come back") until a grant reschedules them.
 *   owner (cpu o): at a release that drops t_ref to 0 (explicit release
 *     or switch-out) it loads t_reqmask; in the poke IPI it re-checks.
 *     Giving away: pick a requester, clear its bit, store t_cpu = -1, send
 *     the grant IPI (its release/acquire carries the protected data).
 *   receiver: stores t_cpu = itself, clears its own bit, issues a seq_cst
 *     fence, and only then looks at t_reqmask again.  Dekker pair with
 *     the requester's RMW-then-load: either the receiver sees the new bit
 *     or the requester sees t_cpu == receiver and pokes it.
 *   Livelock breaker: an owner keeps a token (t_ref == 0) that one of its
 *   own waiting threads lists, unless a requester has a lower cpu index.
 *   The lowest-numbered cpu with waiters therefore collects what its
 *   waiters need and makes progress; nothing waits in a cycle.
 */
#include "token_priv.h"

/* ---------------------------------------------------------------------- */
/*
 * The cpu-owned fast paths.  Self-contained on purpose (no call, no
 * locked instruction): test_token_asm.c disassembles these two functions
 * in the linked binary and fails on any `lock` prefix, `xchg`, call, or
 * jump out of the function.  Keep them that way: tracing and IPI
 * processing live in the callers.
 *
 * Not processing IPIs at the end of this few-instruction critical
 * section only delays an IPI that arrived meanwhile to the thread's next
 * polling point, as any non-yielding code does; a foreign request is
 * still served here, by the release that sees t_reqmask.
 */
__attribute__((noinline, noclone)) bool
_lwkt_token_cpu_fastget(struct lwkt_token *tok)
{
	struct lwkt_cpu *gd = lwkt_tls_gd;
	struct lwkt_thread *td;
	struct lwkt_tokstate *ts = _lwkt_tok_fast_state(gd, &td);
	if (ts == NULL)
		return false;
	bool ok = false;
	/* The critical section keeps IPI functions (a poke giving tok
	 * away) out from between the check and the increment.  Soft IPIs
	 * run only at polling points, none of them in here; a hard IPI (a
	 * signal, lc_hard_ipi) can run them at any instruction outside a
	 * critical section.  So the count is bumped in hard-IPI mode only:
	 * the store-forwarding chain of four counter updates per get+rel
	 * was the largest cost of this path. */
	bool crit = lwkt_rt->rt_hard_ipi;
	if (crit)
		_lwkt_crit_enter(td);
	/* Relaxed, i.e. a plain load: only this cpu stores its own id. */
	if (atomic_load_explicit(&tok->t_cpu, memory_order_relaxed) ==
	    gd->gd_cpuid) {
		tok->t_ref++;
		struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n++];
		r->tr_tok = tok;
		r->tr_mode = TR_EXCL;
		r->tr_held = 1;
		r->tr_counted = 1;
		ok = true;
	}
	/* No poll here (it would be a call): lwkt_gettoken/lwkt_reltoken
	 * run what a signal left meanwhile (_lwkt_tok_fast_done). */
	if (crit)
		_lwkt_crit_exit_noyield(td);
	return ok;
}

__attribute__((noinline, noclone)) bool
_lwkt_token_cpu_fastrel(struct lwkt_token *tok)
{
	struct lwkt_cpu *gd = lwkt_tls_gd;
	if (gd == NULL)
		return false;
	struct lwkt_thread *td = gd->gd_curthread;
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL || ts->ts_n == 0)
		return false;
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n - 1];
	if (r->tr_tok != tok || !r->tr_held)
		return false;	/* misuse: the slow path names it */
	bool ok = false;
	bool crit = lwkt_rt->rt_hard_ipi;	/* as in fastget */
	if (crit)
		_lwkt_crit_enter(td);
	/* A last hold with a request pending goes the slow way (give it
	 * away).  Relaxed load of the mask: a plain load; a bit set just
	 * after it is served by the requester's poke IPI. */
	if (tok->t_ref > 1 ||
	    atomic_load_explicit(&tok->t_reqmask, memory_order_relaxed) == 0) {
		tok->t_ref--;
		ts->ts_n--;
		ok = true;
	}
	/* No poll here (it would be a call): lwkt_gettoken/lwkt_reltoken
	 * run what a signal left meanwhile (_lwkt_tok_fast_done). */
	if (crit)
		_lwkt_crit_exit_noyield(td);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* cpu-owned: the foreign path (IPIs; may use locked instructions) */

static void cpu_grant_ipi(void *tok, void *unused);

/* Does a thread waiting on this cpu list tok?  (The recorded dependency:
 * those threads cannot run until tok is here.) */
static bool
local_waiter_wants(struct lwkt_cpu *gd, struct lwkt_token *tok)
{
	for (struct lwkt_tokstate *w = tok_pcpu[gd->gd_cpuid].tp_waitq; w;
	     w = w->ts_wnext)
		for (int i = 0; i < w->ts_n; i++)
			if (w->ts_ref[i].tr_tok == tok)
				return true;
	return false;
}

/*
 * Owner cpu, critical section, t_ref == 0: sends tok to a requester, if
 * any (see the livelock breaker in the file header).
 */
static void
cpu_give_away(struct lwkt_cpu *gd, struct lwkt_token *tok)
{
	int me = gd->gd_cpuid;
	uint64_t mine = 1ull << me;
	/* acquire: pairs with the requester's seq_cst RMW (not needed for
	 * data, which travels with IPIs; keeps the mask read fresh). */
	uint64_t mask = atomic_load_explicit(&tok->t_reqmask,
					     memory_order_acquire);
	if (mask & mine) {	/* our own request, already satisfied */
		atomic_fetch_and_explicit(&tok->t_reqmask, ~mine,
					  memory_order_relaxed);
		mask &= ~mine;
	}
	if (mask == 0)
		return;
	if (local_waiter_wants(gd, tok)) {
		mask &= mine - 1;	/* only lower-numbered cpus win */
		if (mask == 0)
			return;
	}
	/* Round robin: the first requester above us, else the lowest. */
	uint64_t above = me == 63 ? 0 : mask & ~((mine << 1) - 1);
	int to = __builtin_ctzll(above ? above : mask);
	atomic_fetch_and_explicit(&tok->t_reqmask, ~(1ull << to),
				  memory_order_relaxed);
	atomic_store_explicit(&tok->t_cpu, -1, memory_order_relaxed);
	lwkt_stat_inc(&tok_pcpu[me].tp_transfers);
	LWKT_TRACE(token_transfer, tok, (uint32_t)me, (uint32_t)to);
	/* The IPI's release (ring slot) publishes the protected data and
	 * our token fields to the receiver's acquire. */
	lwkt_send_ipiq(to, cpu_grant_ipi, tok);
}

/* Runs on the receiving cpu. */
static void
cpu_grant_ipi(void *arg, void *unused)
{
	(void)unused;
	struct lwkt_token *tok = arg;
	struct lwkt_cpu *gd = mycpu();
	int me = gd->gd_cpuid;

	atomic_store_explicit(&tok->t_cpu, me, memory_order_seq_cst);
	atomic_fetch_and_explicit(&tok->t_reqmask, ~(1ull << me),
				  memory_order_seq_cst);
	/* Receiver half of the Dekker pair (file header): after this fence
	 * we see every request whose requester saw t_cpu != me. */
	lwkt_fence_seq_cst();
	tok->t_ref = 0;
	tok->t_pin = 0;
	bool woke = false;
	for (struct lwkt_tokstate *w = tok_pcpu[me].tp_waitq; w;
	     w = w->ts_wnext) {
		for (int i = 0; i < w->ts_n; i++) {
			if (w->ts_ref[i].tr_tok == tok) {
				_lwkt_setrunqueue(gd, w->ts_td);
				woke = true;
				break;
			}
		}
	}
	if (woke) {
		/* Held for the waiters until one of them runs. */
		tok->t_pin = 1;
		tok->t_ref = 1;
	} else {
		cpu_give_away(gd, tok);
	}
}

/* Runs on the cpu a requester believed to be the owner. */
static void
cpu_poke_ipi(void *arg, void *unused)
{
	(void)unused;
	struct lwkt_token *tok = arg;
	struct lwkt_cpu *gd = mycpu();
	if (atomic_load_explicit(&tok->t_cpu, memory_order_relaxed) ==
	    gd->gd_cpuid && tok->t_ref == 0)
		cpu_give_away(gd, tok);
	/* Otherwise: a holder runs (its release serves the request), or
	 * the token left (its receiver sees the bit: Dekker above). */
}

static void
cpu_request(struct lwkt_cpu *gd, struct lwkt_thread *td,
	    struct lwkt_token *tok)
{
	int me = gd->gd_cpuid;
	/* Requester half of the Dekker pair: RMW, then load t_cpu. */
	atomic_fetch_or_explicit(&tok->t_reqmask, 1ull << me,
				 memory_order_seq_cst);
	int owner = atomic_load_explicit(&tok->t_cpu, memory_order_seq_cst);
	if (owner >= lwkt_rt->rt_ncpus)
		lwkt_panic("lwkt_gettoken: token '%s' (%p) is owned by cpu %d "
			   "but only %d cpus run (initialized under another "
			   "runtime?)", tok->t_name, (void *)tok, owner,
			   lwkt_rt->rt_ncpus);
	lwkt_stat_inc(&tok_pcpu[me].tp_requests);
	LWKT_TRACE(token_request, tok, (uint32_t)me, td->td_id);
	if (owner >= 0 && owner != me)
		lwkt_send_ipiq(owner, cpu_poke_ipi, tok);
}

/* ---------------------------------------------------------------------- */
/* physical take / give-up (critical section) */

bool
_lwkt_tokcpu_take(struct lwkt_cpu *gd, struct lwkt_thread *td,
		  struct lwkt_tokref *r, bool request)
{
	struct lwkt_token *tok = r->tr_tok;
	if (atomic_load_explicit(&tok->t_cpu, memory_order_relaxed) ==
	    gd->gd_cpuid) {
		if (tok->t_pin > 0)
			tok->t_pin--;	/* the grant's hold becomes ours */
		else
			tok->t_ref++;
		r->tr_counted = 1;
		return true;
	}
	if (request)
		cpu_request(gd, td, tok);
	return false;
}

void
_lwkt_tokcpu_giveup(struct lwkt_cpu *gd, struct lwkt_token *tok)
{
	/* Explicit release or switch: the moment a foreign request may
	 * take the token. */
	if (--tok->t_ref == 0 &&
	    atomic_load_explicit(&tok->t_reqmask, memory_order_relaxed) != 0)
		cpu_give_away(gd, tok);
}

/*
 * A thread that missed a cpu-owned token sends its request, puts itself on
 * this cpu's wait queue and gives up what it holds before it sleeps; the
 * request's poke and the give-ups' grants are IPI sends, and a send that
 * finds its ring full runs this cpu's incoming IPIs while it waits.  A
 * grant run there, before the thread is on the wait queue, finds no
 * waiter: it keeps the token here unwoken (the livelock breaker then
 * refuses every higher-numbered requester: deadlock) or passes it on,
 * clearing this cpu's request bit.  The waiter checks both before it
 * sleeps (it is in its critical section: nothing runs in between).
 */
bool
_lwkt_tokcpu_must_retry(struct lwkt_cpu *gd, struct lwkt_token *tok)
{
	return atomic_load_explicit(&tok->t_cpu, memory_order_relaxed) ==
	       gd->gd_cpuid ||
	       !(atomic_load_explicit(&tok->t_reqmask, memory_order_seq_cst) &
		 (1ull << gd->gd_cpuid));
}
