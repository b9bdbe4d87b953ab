/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token.c - LWKT tokens, two designs behind one API (lwkt/token.h):
 * the 2004 cpu-owned token (seed 001: the owning cpu takes it with plain
 * stores in a critical section, a foreign cpu asks by IPI) and today's
 * atomic token (CAS on a count word, shared/exclusive).  Both share the
 * per-thread held list and the release-at-switch-out / re-acquire-at-
 * switch-in protocol that makes tokens deadlock-free across blocking.
 *
 * Per-thread state (struct lwkt_tokstate, td->td_tokens) is touched only
 * by the thread's own cpu, inside a critical section where it matters.
 *
 * Held list protocol (both designs):
 *   - lwkt_gettoken pushes a tokref; it is "held" (tr_held) once the
 *     token is physically taken.  While the thread runs, all its tokrefs
 *     are held.
 *   - Switch-out (_lwkt_token_switch_out): every held tokref is given up
 *     physically; the tokrefs stay.  Switch-in: all are taken again
 *     before the thread's code continues (_lwkt_token_switch_in).
 *   - An acquisition that cannot complete gives up EVERYTHING the thread
 *     holds before it waits (no hold-and-wait: no deadlock), then retries
 *     the whole list.  Hence "no atomicity across a blocking call".
 *
 * CPU-owned design, the foreign path:
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
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lwkt/token.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"
#include "token_priv.h"

#define LWKT_TOKEN_MAGIC 0x746f6b6eu	/* "tokn" */

/* tr_mode */
#define TR_EXCL		0
#define TR_SHARED	1

struct lwkt_tokref {
	struct lwkt_token *tr_tok;
	uint8_t tr_mode;	/* TR_EXCL / TR_SHARED as requested */
	uint8_t tr_held;	/* physically held now */
	uint8_t tr_counted;	/* atomic: this ref changed t_count (not a
				 * recursive hold under our own exclusive) */
};

/* Owned by the thread's cpu; lives in td->td_tokens. */
struct lwkt_tokstate {
	struct lwkt_tokref ts_ref[LWKT_MAXTOKENS];
	int ts_n;			/* stack depth */
	bool ts_inslow;			/* in acquire_all(): the switch-in
					 * hook stands aside */
	bool ts_waiting;		/* on tok_waitq[cpu] */
	struct lwkt_tokstate *ts_wnext;	/* tok_waitq link */
	struct lwkt_thread *ts_td;
};

/* Per-cpu: threads waiting for cpu-owned tokens, and counters.  Entry c
 * is written by cpu c only (own line each). */
static struct tok_percpu {
	_Alignas(LWKT_CACHELINE) struct lwkt_tokstate *tp_waitq;
	_Atomic uint64_t tp_requests;
	_Atomic uint64_t tp_transfers;
	_Atomic uint64_t tp_contended;
} tok_pcpu[LWKT_MAXCPU];

/* Runtime default design: 0 until resolved (then 1 or 2).  Relaxed: a
 * racing first use resolves it twice to the same value. */
static _Atomic int tok_default;

/* ---------------------------------------------------------------------- */
/* configuration, init */

int
lwkt_token_set_default(enum lwkt_token_design design)
{
	if (design != LWKT_TOKEN_CPU_OWNED && design != LWKT_TOKEN_ATOMIC)
		return EINVAL;
	atomic_store_explicit(&tok_default, design, memory_order_relaxed);
	return 0;
}

enum lwkt_token_design
lwkt_token_get_default(void)
{
	int d = atomic_load_explicit(&tok_default, memory_order_relaxed);
	if (d != 0)
		return d;
	const char *e = getenv("LWKT_TOKEN_DESIGN");
	d = LWKT_TOKEN_ATOMIC;
	if (e != NULL && (strcmp(e, "cpu_owned") == 0 || strcmp(e, "cpu") == 0))
		d = LWKT_TOKEN_CPU_OWNED;
	else if (e != NULL && *e && strcmp(e, "atomic") != 0)
		fprintf(stderr, "lwkt: LWKT_TOKEN_DESIGN=%s unknown (want "
			"cpu_owned or atomic): using atomic\n", e);
	atomic_store_explicit(&tok_default, d, memory_order_relaxed);
	return d;
}

int
lwkt_token_init(struct lwkt_token *tok, enum lwkt_token_design design,
		const char *name)
{
	if (tok == NULL)
		return EINVAL;
	if (design == LWKT_TOKEN_DEFAULT)
		design = lwkt_token_get_default();
	if (design != LWKT_TOKEN_CPU_OWNED && design != LWKT_TOKEN_ATOMIC)
		return EINVAL;
	struct lwkt_cpu *gd = mycpu();
	memset(tok, 0, sizeof *tok);
	atomic_init(&tok->t_count, 0);
	atomic_init(&tok->t_owner, NULL);
	atomic_init(&tok->t_reqmask, 0);
	atomic_init(&tok->t_cpu, gd ? gd->gd_cpuid : 0);
	tok->t_design = design;
	tok->t_name = name ? name : "token";
	tok->t_magic = LWKT_TOKEN_MAGIC;
	return 0;
}

static void
check_token(const char *fn, struct lwkt_token *tok)
{
	if (tok == NULL)
		lwkt_panic("%s(NULL)", fn);
	if (tok->t_magic != LWKT_TOKEN_MAGIC ||
	    (tok->t_design != LWKT_TOKEN_CPU_OWNED &&
	     tok->t_design != LWKT_TOKEN_ATOMIC))
		lwkt_panic("%s(%p): token not initialized (call "
			   "lwkt_token_init first)", fn, (void *)tok);
}

/* The caller's thread; aborts for the idle loop and outside threads. */
static struct lwkt_thread *
need_thread(const char *fn)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu(fn);
	struct lwkt_thread *td = gd->gd_curthread;
	if (td->td_flags & TDF_IDLE)
		lwkt_panic("%s() from an IPI function or the idle loop: only "
			   "LWKT threads take tokens", fn);
	return td;
}

static struct lwkt_tokstate *
tokstate(struct lwkt_thread *td)
{
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL) {
		ts = calloc(1, sizeof *ts);
		if (ts == NULL)
			lwkt_panic("lwkt_gettoken: out of memory");
		ts->ts_td = td;
		td->td_tokens = ts;
	}
	return ts;
}

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
	if (gd == NULL)
		return false;
	struct lwkt_thread *td = gd->gd_curthread;
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL || ts->ts_n >= LWKT_MAXTOKENS || ts->ts_inslow)
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
		td->td_critcount++;
	atomic_signal_fence(memory_order_seq_cst);
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
	atomic_signal_fence(memory_order_seq_cst);
	if (crit)
		td->td_critcount--;
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
		td->td_critcount++;
	atomic_signal_fence(memory_order_seq_cst);
	/* A last hold with a request pending goes the slow way (give it
	 * away).  Relaxed load of the mask: a plain load; a bit set just
	 * after it is served by the requester's poke IPI. */
	if (tok->t_ref > 1 ||
	    atomic_load_explicit(&tok->t_reqmask, memory_order_relaxed) == 0) {
		tok->t_ref--;
		ts->ts_n--;
		ok = true;
	}
	atomic_signal_fence(memory_order_seq_cst);
	if (crit)
		td->td_critcount--;
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
	atomic_thread_fence(memory_order_seq_cst);
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
/* physical take / give-up of one tokref (critical section) */

static bool
holds_shared_only(struct lwkt_tokstate *ts, struct lwkt_token *tok, int n)
{
	for (int i = 0; i < n; i++)
		if (ts->ts_ref[i].tr_tok == tok &&
		    ts->ts_ref[i].tr_mode == TR_SHARED &&
		    ts->ts_ref[i].tr_counted)
			return true;
	return false;
}

/* Atomic design: one try, no waiting.  want_req: a failed exclusive try
 * sets TOK_EXCLREQ so that new readers hold back (gettoken only; a
 * trytoken must not leave it behind). */
static bool
atomic_try(struct lwkt_thread *td, struct lwkt_tokstate *ts, int idx,
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

static void
atomic_giveup(struct lwkt_tokref *r)
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

/* Takes ts_ref[idx] if that needs no waiting.  Cpu-owned: a miss sends
 * a request (if `request`). */
static bool
take_one(struct lwkt_cpu *gd, struct lwkt_thread *td,
	 struct lwkt_tokstate *ts, int idx, bool request)
{
	struct lwkt_tokref *r = &ts->ts_ref[idx];
	struct lwkt_token *tok = r->tr_tok;
	bool ok;

	if (tok->t_design == LWKT_TOKEN_ATOMIC) {
		ok = atomic_try(td, ts, idx, request);
	} else if (atomic_load_explicit(&tok->t_cpu, memory_order_relaxed)
		   == gd->gd_cpuid) {
		if (tok->t_pin > 0)
			tok->t_pin--;	/* the grant's hold becomes ours */
		else
			tok->t_ref++;
		r->tr_counted = 1;
		ok = true;
	} else {
		if (request)
			cpu_request(gd, td, tok);
		ok = false;
	}
	r->tr_held = ok;
	return ok;
}

static void
giveup_one(struct lwkt_cpu *gd, struct lwkt_tokref *r)
{
	struct lwkt_token *tok = r->tr_tok;
	if (!r->tr_held)
		return;
	r->tr_held = 0;
	if (tok->t_design == LWKT_TOKEN_ATOMIC) {
		atomic_giveup(r);
	} else if (--tok->t_ref == 0) {
		/* Explicit release or switch: the moment seed 001 lets a
		 * foreign request take the token. */
		if (atomic_load_explicit(&tok->t_reqmask,
					 memory_order_relaxed) != 0)
			cpu_give_away(gd, tok);
	}
}

static void
giveup_all(struct lwkt_cpu *gd, struct lwkt_tokstate *ts)
{
	for (int i = ts->ts_n - 1; i >= 0; i--)
		giveup_one(gd, &ts->ts_ref[i]);
}

/* ---------------------------------------------------------------------- */
/* acquiring a whole held list (gettoken slow path and switch-in) */

static void
waitq_remove(struct lwkt_cpu *gd, struct lwkt_tokstate *ts)
{
	if (!ts->ts_waiting)
		return;
	struct lwkt_tokstate **pp = &tok_pcpu[gd->gd_cpuid].tp_waitq;
	while (*pp != ts)
		pp = &(*pp)->ts_wnext;
	*pp = ts->ts_wnext;
	ts->ts_wnext = NULL;
	ts->ts_waiting = false;
}

/* Runs this cpu's IPIs while we spin (a holder elsewhere may wait for
 * one of ours, e.g. a cpusync). */
static void
drain(struct lwkt_cpu *gd)
{
	_lwkt_ipiq_process(gd);
	_lwkt_inbox_process(gd);
}

/*
 * Makes every tokref of ts held.  Critical section; may switch (then the
 * thread may resume on another cpu only via lwkt_migrate, which does not
 * happen in here).  Tries everything; on a miss gives up everything and
 * waits: cpu-owned on this cpu's wait queue (rescheduled by the grant),
 * atomic by backing off then yielding.
 */
static void
acquire_all(struct lwkt_thread *td, struct lwkt_tokstate *ts)
{
	unsigned spins = 0;
	bool counted = false;

	ts->ts_inslow = true;
	for (;;) {
		struct lwkt_cpu *gd = mycpu();
		bool ok = true, any_cpu = false;
		for (int i = 0; i < ts->ts_n; i++) {
			struct lwkt_tokref *r = &ts->ts_ref[i];
			if (r->tr_held)
				continue;
			if (!take_one(gd, td, ts, i, true)) {
				ok = false;
				if (r->tr_tok->t_design ==
				    LWKT_TOKEN_CPU_OWNED) {
					any_cpu = true;	/* request sent: */
					continue;	/* ask for all */
				}
				break;
			}
		}
		if (ok)
			break;
		if (!counted) {
			lwkt_stat_inc(&tok_pcpu[gd->gd_cpuid].tp_contended);
			counted = true;
		}
		if (any_cpu) {
			/* Record the dependency first, so giving up our
			 * tokens keeps those our waiters list (livelock
			 * breaker), then sleep until a grant. */
			if (!ts->ts_waiting) {
				ts->ts_wnext = tok_pcpu[gd->gd_cpuid].tp_waitq;
				tok_pcpu[gd->gd_cpuid].tp_waitq = ts;
				ts->ts_waiting = true;
			}
			giveup_all(gd, ts);
			lwkt_deschedule_self();
			lwkt_switch();
		} else {
			giveup_all(gd, ts);
			/* Back off (exponential, bounded), running our IPIs;
			 * then let other threads run: the retry happens when
			 * the scheduler comes back to us. */
			if (spins < 10) {
				for (unsigned k = 0; k < (1u << spins); k++)
					lwkt_cpu_relax();
				drain(gd);
				spins++;
			} else {
				lwkt_yield();
				spins = 6;
			}
		}
	}
	waitq_remove(mycpu(), ts);
	ts->ts_inslow = false;
}

/* ---------------------------------------------------------------------- */
/* the API */

static void
gettoken_slow(struct lwkt_token *tok, int mode)
{
	struct lwkt_thread *td = need_thread("lwkt_gettoken");
	check_token("lwkt_gettoken", tok);
	struct lwkt_tokstate *ts = tokstate(td);
	if (ts->ts_inslow)
		lwkt_panic("lwkt_gettoken('%s'): called while this thread "
			   "waits for tokens (from an IPI function?)",
			   tok->t_name);
	if (ts->ts_n >= LWKT_MAXTOKENS)
		lwkt_panic("lwkt_gettoken('%s'): thread already holds %d "
			   "tokens (LWKT_MAXTOKENS)", tok->t_name,
			   LWKT_MAXTOKENS);
	if (tok->t_design == LWKT_TOKEN_CPU_OWNED)
		mode = TR_EXCL;		/* one mode in the 2004 design */
	else if (mode == TR_EXCL && holds_shared_only(ts, tok, ts->ts_n) &&
		 atomic_load_explicit(&tok->t_owner, memory_order_relaxed)
		 != td)
		lwkt_panic("lwkt_gettoken('%s' %p): this thread holds it "
			   "shared; taking it exclusive too (an upgrade) is "
			   "refused: release the shared hold first",
			   tok->t_name, (void *)tok);
	crit_enter();
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n++];
	r->tr_tok = tok;
	r->tr_mode = (uint8_t)mode;
	r->tr_held = 0;
	r->tr_counted = 0;
	acquire_all(td, ts);
	struct lwkt_cpu *gd = mycpu();
	LWKT_TRACE(token_acquire, tok, (uint32_t)gd->gd_cpuid, td->td_id);
	crit_exit();
}

/* Atomic design fast path: uncontended, first hold. */
static inline bool
atomic_fastget(struct lwkt_token *tok, int mode)
{
	struct lwkt_cpu *gd = lwkt_tls_gd;
	if (gd == NULL)
		return false;
	struct lwkt_thread *td = gd->gd_curthread;
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL || ts->ts_n >= LWKT_MAXTOKENS || ts->ts_inslow)
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

static inline void
trace_acquire(struct lwkt_token *tok)
{
	LWKT_TRACE(token_acquire, tok, (uint32_t)lwkt_tls_gd->gd_cpuid,
		   lwkt_tls_gd->gd_curthread->td_id);
}

void
lwkt_gettoken(struct lwkt_token *tok)
{
	if (tok != NULL) {
		if (tok->t_design == LWKT_TOKEN_CPU_OWNED) {
			if (__builtin_expect(_lwkt_token_cpu_fastget(tok), 1)) {
				trace_acquire(tok);
				return;
			}
		} else if (tok->t_design == LWKT_TOKEN_ATOMIC &&
			   atomic_fastget(tok, TR_EXCL)) {
			trace_acquire(tok);
			return;
		}
	}
	gettoken_slow(tok, TR_EXCL);
}

void
lwkt_gettoken_shared(struct lwkt_token *tok)
{
	if (tok != NULL && tok->t_design == LWKT_TOKEN_ATOMIC &&
	    atomic_fastget(tok, TR_SHARED)) {
		trace_acquire(tok);
		return;
	}
	if (tok != NULL && tok->t_design == LWKT_TOKEN_CPU_OWNED) {
		lwkt_gettoken(tok);
		return;
	}
	gettoken_slow(tok, TR_SHARED);
}

bool
lwkt_trytoken(struct lwkt_token *tok)
{
	struct lwkt_thread *td = need_thread("lwkt_trytoken");
	check_token("lwkt_trytoken", tok);
	struct lwkt_tokstate *ts = tokstate(td);
	if (ts->ts_n >= LWKT_MAXTOKENS)
		lwkt_panic("lwkt_trytoken('%s'): thread already holds %d "
			   "tokens (LWKT_MAXTOKENS)", tok->t_name,
			   LWKT_MAXTOKENS);
	crit_enter();
	struct lwkt_cpu *gd = mycpu();
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n];
	r->tr_tok = tok;
	r->tr_mode = TR_EXCL;
	r->tr_held = 0;
	r->tr_counted = 0;
	bool ok = take_one(gd, td, ts, ts->ts_n, false);
	if (ok) {
		ts->ts_n++;
		LWKT_TRACE(token_acquire, tok, (uint32_t)gd->gd_cpuid,
			   td->td_id);
	}
	crit_exit();
	return ok;
}

static __attribute__((noreturn)) void
reltoken_misuse(struct lwkt_thread *td, struct lwkt_tokstate *ts,
		struct lwkt_token *tok)
{
	int n = ts ? ts->ts_n : 0;
	for (int i = n - 2; i >= 0; i--)
		if (ts->ts_ref[i].tr_tok == tok)
			lwkt_panic("lwkt_reltoken('%s' %p): released out of "
				   "order: this thread's most recent token is "
				   "'%s' %p (release in reverse order)",
				   tok->t_name, (void *)tok,
				   ts->ts_ref[n - 1].tr_tok->t_name,
				   (void *)ts->ts_ref[n - 1].tr_tok);
	void *owner = tok->t_design == LWKT_TOKEN_ATOMIC
		? atomic_load_explicit(&tok->t_owner, memory_order_relaxed)
		: NULL;
	if (owner != NULL && owner != td) {
		struct lwkt_thread *o = owner;
		lwkt_panic("lwkt_reltoken('%s' %p): not held by this thread "
			   "(holds %d tokens); it is held by thread '%s' id "
			   "%llu", tok->t_name, (void *)tok, n, o->td_name,
			   (unsigned long long)o->td_id);
	}
	lwkt_panic("lwkt_reltoken('%s' %p): not held by this thread (holds "
		   "%d tokens)", tok->t_name, (void *)tok, n);
}

void
lwkt_reltoken(struct lwkt_token *tok)
{
	if (tok != NULL && tok->t_design == LWKT_TOKEN_CPU_OWNED &&
	    __builtin_expect(_lwkt_token_cpu_fastrel(tok), 1)) {
		LWKT_TRACE(token_release, tok, (uint32_t)lwkt_tls_gd->gd_cpuid,
			   lwkt_tls_gd->gd_curthread->td_id);
		return;
	}
	struct lwkt_thread *td = need_thread("lwkt_reltoken");
	check_token("lwkt_reltoken", tok);
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL || ts->ts_n == 0 ||
	    ts->ts_ref[ts->ts_n - 1].tr_tok != tok)
		reltoken_misuse(td, ts, tok);
	crit_enter();
	struct lwkt_cpu *gd = mycpu();
	struct lwkt_tokref *r = &ts->ts_ref[ts->ts_n - 1];
	LWKT_ASSERT(r->tr_held, "lwkt_reltoken('%s'): running thread's "
		    "token not held (internal)", tok->t_name);
	LWKT_TRACE(token_release, tok, (uint32_t)gd->gd_cpuid, td->td_id);
	giveup_one(gd, r);
	ts->ts_n--;
	crit_exit();
}

bool
lwkt_token_is_held(struct lwkt_token *tok)
{
	struct lwkt_cpu *gd = mycpu();
	if (gd == NULL || tok == NULL)
		return false;
	struct lwkt_thread *td = gd->gd_curthread;
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts == NULL)
		return false;
	for (int i = 0; i < ts->ts_n; i++) {
		struct lwkt_tokref *r = &ts->ts_ref[i];
		if (r->tr_tok != tok || !r->tr_held)
			continue;
		/* Held in the list: check the token agrees (what the tests
		 * assert after every wake-up). */
		if (tok->t_design == LWKT_TOKEN_CPU_OWNED)
			return atomic_load_explicit(&tok->t_cpu,
			    memory_order_relaxed) == gd->gd_cpuid &&
			    tok->t_ref > 0;
		uint64_t c = atomic_load_explicit(&tok->t_count,
						  memory_order_relaxed);
		if (c & LWKT_TOK_EXCLUSIVE)
			return atomic_load_explicit(&tok->t_owner,
			    memory_order_relaxed) == td;
		return r->tr_mode == TR_SHARED && c >= LWKT_TOK_INCR;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* scheduler hooks (thread.c, _lwkt_switch_to) */

void
_lwkt_token_switch_out(struct lwkt_cpu *gd, struct lwkt_thread *td)
{
	struct lwkt_tokstate *ts = td->td_tokens;
	if (td->td_flags & TDF_EXITING) {
		if (ts && ts->ts_n > 0)
			lwkt_panic("thread exits holding %d tokens (most "
				   "recent '%s' %p): release them first",
				   ts->ts_n, ts->ts_ref[ts->ts_n - 1].tr_tok
				   ->t_name,
				   (void *)ts->ts_ref[ts->ts_n - 1].tr_tok);
		free(ts);
		td->td_tokens = NULL;
		return;
	}
	giveup_all(gd, ts);
}

void
_lwkt_token_switch_in(struct lwkt_thread *td)
{
	struct lwkt_tokstate *ts = td->td_tokens;
	if (ts->ts_inslow || ts->ts_n == 0)
		return;		/* acquire_all() below us does it */
	acquire_all(td, ts);
}

/* ---------------------------------------------------------------------- */
/* pool, stats */

#define LWKT_POOL_TOKENS 1024	/* power of two */
static struct lwkt_token tok_pool[LWKT_POOL_TOKENS];
static pthread_once_t tok_pool_once = PTHREAD_ONCE_INIT;

static void
pool_init(void)
{
	for (int i = 0; i < LWKT_POOL_TOKENS; i++)
		lwkt_token_init(&tok_pool[i], LWKT_TOKEN_DEFAULT, "pool");
}

struct lwkt_token *
lwkt_token_pool_lookup(const void *ptr)
{
	pthread_once(&tok_pool_once, pool_init);
	/* Fibonacci hashing of the address (low bits are alignment). */
	uint64_t h = ((uint64_t)(uintptr_t)ptr >> 4) * 0x9e3779b97f4a7c15ull;
	return &tok_pool[h >> (64 - 10)];
}

void
lwkt_token_stats(struct lwkt_token_stats *out)
{
	memset(out, 0, sizeof *out);
	for (int c = 0; c < LWKT_MAXCPU; c++) {
		out->lts_requests += atomic_load_explicit(
		    &tok_pcpu[c].tp_requests, memory_order_relaxed);
		out->lts_transfers += atomic_load_explicit(
		    &tok_pcpu[c].tp_transfers, memory_order_relaxed);
		out->lts_contended += atomic_load_explicit(
		    &tok_pcpu[c].tp_contended, memory_order_relaxed);
	}
}
