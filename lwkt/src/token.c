/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token.c - LWKT tokens, two designs behind one API (lwkt/token.h):
 * the 2004 cpu-owned token (the owning cpu takes it with plain
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
 * The designs live in token_cpu.c (cpu-owned) and token_atomic.c.
 */
/* This file defines lwkt_gettoken/lwkt_reltoken: not their inline
 * macros (token.h). */
#define LWKT_NO_INLINE 1

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "token_priv.h"

/* Per-cpu token state (token_priv.h). */
struct tok_percpu tok_pcpu[LWKT_MAXCPU];

/* What inline code of users reads (lwkt/token_inline.h): the running
 * thread's held list and the cpu id, per host thread. */
__thread struct lwkt_tok_tls _lwkt_tls_tok
	__attribute__((tls_model("initial-exec")));

/* The trace state words the inline paths test (token_inline.h).  The
 * tracepoints are defined in lwkt_trace.c; a library built with
 * LWKT_TRACE_DISABLE has no sites, and the inline paths none either. */
#ifdef LWKT_TRACE_DISABLE
static const int tok_trace_off;
const int *const _lwkt_tok_trace_acquire = &tok_trace_off;
const int *const _lwkt_tok_trace_release = &tok_trace_off;
#else
const int *const _lwkt_tok_trace_acquire =
	&lttng_ust_tracepoint_lwkt___token_acquire.state;
const int *const _lwkt_tok_trace_release =
	&lttng_ust_tracepoint_lwkt___token_release.state;
#endif

/* The inline paths' numbers are token_priv.h's. */
_Static_assert(TR_EXCL == 0, "token_inline.h pushes tr_mode 0");
_Static_assert(LWKT_TOKEN_CPU_OWNED == 1 && LWKT_TOKEN_ATOMIC == 2,
	       "token designs");

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
		/* td runs: publish its list for inline code (thread.c does
		 * it at every later switch). */
		if (td->td_gd->gd_tok_inline)
			_lwkt_tls_tok.tt_ts = ts;
	}
	return ts;
}

/* ---------------------------------------------------------------------- */
/* physical take / give-up of one tokref (critical section) */

/* Takes ts_ref[idx] if that needs no waiting.  Cpu-owned: a miss sends
 * a request (if `request`). */
static bool
take_one(struct lwkt_cpu *gd, struct lwkt_thread *td,
	 struct lwkt_tokstate *ts, int idx, bool request)
{
	struct lwkt_tokref *r = &ts->ts_ref[idx];
	bool ok = r->tr_tok->t_design == LWKT_TOKEN_ATOMIC
		? _lwkt_tokatomic_try(td, ts, idx, request)
		: _lwkt_tokcpu_take(gd, td, r, request);
	r->tr_held = ok;
	return ok;
}

static void
giveup_one(struct lwkt_cpu *gd, struct lwkt_tokref *r)
{
	if (!r->tr_held)
		return;
	r->tr_held = 0;
	if (r->tr_tok->t_design == LWKT_TOKEN_ATOMIC)
		_lwkt_tokatomic_giveup(r);
	else
		_lwkt_tokcpu_giveup(gd, r->tr_tok);
}

static void
giveup_all(struct lwkt_cpu *gd, struct lwkt_tokstate *ts)
{
	for (int i = ts->ts_n - 1; i >= 0; i--)
		giveup_one(gd, &ts->ts_ref[i]);
}

/* Withdraws the atomic-design reservations (the waiting writer's turn:
 * token_atomic.c) of every tokref but ts_ref[keep] (-1: all), so that a
 * thread keeps at most the one on the token it waits for now. */
static void
unreserve_all_but(struct lwkt_tokstate *ts, int keep)
{
	for (int i = 0; i < ts->ts_n; i++)
		if (i != keep)
			_lwkt_tokatomic_unreserve(&ts->ts_ref[i]);
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

/* True if a cpu-owned token we asked for (bit i of missed: ts_ref[i])
 * must be retried, not slept on: it came here, or our request was
 * consumed meanwhile.  (Tokens we held and just gave up are here too:
 * they are not in missed.) */
static bool
cpu_retry(struct lwkt_cpu *gd, struct lwkt_tokstate *ts, uint32_t missed)
{
	for (int i = 0; i < ts->ts_n; i++)
		if (((missed >> i) & 1) &&
		    _lwkt_tokcpu_must_retry(gd, ts->ts_ref[i].tr_tok))
			return true;
	return false;
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
		int failed = -1;	/* the atomic token we failed on */
		uint32_t missed = 0;	/* cpu-owned refs asked for */
		for (int i = 0; i < ts->ts_n; i++) {
			struct lwkt_tokref *r = &ts->ts_ref[i];
			if (r->tr_held)
				continue;
			if (!take_one(gd, td, ts, i, true)) {
				ok = false;
				if (r->tr_tok->t_design ==
				    LWKT_TOKEN_CPU_OWNED) {
					any_cpu = true;	/* request sent: */
					missed |= 1u << i;
					continue;	/* ask for all */
				}
				failed = i;
				break;
			}
		}
		if (ok)
			break;
		/* Keep only the reservation we wait on; none while we
		 * sleep for a grant or yield (token_atomic.c: no
		 * reservation may block anyone longer than its own
		 * wait). */
		unreserve_all_but(ts, any_cpu ? -1 : failed);
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
			/* A grant that ran inside a full-ring wait above saw
			 * no waiter (token_cpu.c, _lwkt_tokcpu_must_retry). */
			if (cpu_retry(gd, ts, missed))
				continue;
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
				/* Other threads of this cpu may run now: a
				 * higher-priority one waiting for our
				 * reserved token would spin forever. */
				unreserve_all_but(ts, -1);
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
	r->tr_reserved = 0;
	acquire_all(td, ts);
	struct lwkt_cpu *gd = mycpu();
	LWKT_TRACE(token_acquire, tok, (uint32_t)gd->gd_cpuid, td->td_id);
	crit_exit();
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
				_lwkt_tok_fast_done();
				trace_acquire(tok);
				return;
			}
		} else if (tok->t_design == LWKT_TOKEN_ATOMIC &&
			   _lwkt_tokatomic_fastget(tok, TR_EXCL)) {
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
	    _lwkt_tokatomic_fastget(tok, TR_SHARED)) {
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
	r->tr_reserved = 0;
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
		_lwkt_tok_fast_done();
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
