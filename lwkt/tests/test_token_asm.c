/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_token_asm.c - proves that the owner-cpu paths of the 2004
 * (cpu-owned) token design contain no bus-locked instruction: the
 * library's out-of-line fast paths (_lwkt_token_cpu_fastget/fastrel, used
 * in hard-IPI mode) and the inline paths of lwkt/token_inline.h as they
 * compile in a user's code (the probes below).
 *
 * How: this test binary links liblwkt.a, so it contains the very code the
 * calls run; lt_asm.h disassembles one function of it at a time.  The
 * strict check (assert_clean) fails on any locked instruction, any call,
 * any jump out of the function, fewer than 8 instructions or no `ret`.
 * What lwkt_gettoken()/lwkt_reltoken() expand to in user code may call
 * its fallback (the library function) and nothing else.
 * It cannot pass by accident: negative controls run the same checker on
 * lwkt_gettoken (which inlines the atomic design's compare-and-swap and
 * calls the fast path) and must see its `lock cmpxchg` and its calls, on
 * a missing symbol (reported as missing, not as clean), and with the
 * wrong callee allowed (the fallback call is then seen).
 * Sanitizer builds: see lt_asm.h (instrumentation calls allowed, locked
 * instructions still rejected); the uninstrumented build (the one that
 * is measured) gets the strict check.
 */
#include <stdlib.h>
#include <unistd.h>

#include "lwkt/token.h"
#include "lt_asm.h"
#include "ltest.h"

static void
exe_path(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);
	ck_assert_int_gt(k, 0);
	buf[k] = '\0';
}

/* sym in this test binary, allowing calls/jumps to `allow` only. */
static void
check_function_allow(const char *sym, const char *allow, struct asm_result *r)
{
	char exe[4096];
	exe_path(exe, sizeof exe);
	lt_asm_check(exe, sym, allow, r);
}

static void
check_function(const char *sym, struct asm_result *r)
{
	check_function_allow(sym, NULL, r);
}

static void
assert_clean(const char *sym)
{
	struct asm_result r;
	check_function(sym, &r);
	ck_assert_msg(r.found, "%s not found in the test binary (nm -S)",
		      sym);
	ck_assert_msg(r.insns >= 8, "%s: only %d instructions disassembled",
		      sym, r.insns);
	ck_assert_msg(r.rets >= 1, "%s: no ret", sym);
	ck_assert_msg(r.locked == 0, "%s: locked instruction: %s", sym,
		      r.first_bad);
	ck_assert_msg(r.calls == 0, "%s: calls out: %s", sym, r.first_bad);
	ck_assert_msg(r.jumps_out == 0, "%s: jumps out: %s", sym,
		      r.first_bad);
}

/* Referenced so the linker keeps token.o (and its fast paths); the two
 * are internal to liblwkt (token.c), declared here for that only. */
bool _lwkt_token_cpu_fastget(struct lwkt_token *tok);
bool _lwkt_token_cpu_fastrel(struct lwkt_token *tok);
void *volatile lt_keep[3] = {
	(void *)_lwkt_token_cpu_fastget, (void *)_lwkt_token_cpu_fastrel,
	(void *)lwkt_gettoken,
};

/*
 * The inline paths of lwkt/token_inline.h, compiled here as in any
 * user's code (this file includes lwkt/token.h like a user):
 *   lt_probe_fast   the inline get and release alone: the whole owner
 *                   path, checked strictly (no lock, no call, no jump
 *                   out);
 *   lt_probe_get/rel  what lwkt_gettoken()/lwkt_reltoken() expand to:
 *                   the inline path plus its fallback call, which is the
 *                   one call (or tail jump) allowed; still no locked
 *                   instruction anywhere in them.
 */
__attribute__((noinline, noclone, used)) bool
lt_probe_fast(struct lwkt_token *tok)
{
	if (!_lwkt_tokcpu_get_inline(tok))
		return false;
	return _lwkt_tokcpu_rel_inline(tok);
}

__attribute__((noinline, noclone, used)) void
lt_probe_get(struct lwkt_token *tok)
{
	lwkt_gettoken(tok);
}

__attribute__((noinline, noclone, used)) void
lt_probe_rel(struct lwkt_token *tok)
{
	lwkt_reltoken(tok);
}

START_TEST(t_inline_fast_no_lock)
{
	assert_clean("lt_probe_fast");
}
END_TEST

static void
assert_clean_but(const char *sym, const char *allow)
{
	struct asm_result r;
	check_function_allow(sym, allow, &r);
	ck_assert_msg(r.found, "%s not found in the test binary", sym);
	ck_assert_msg(r.insns >= 8, "%s: only %d instructions (was the "
		      "inline path compiled in?)", sym, r.insns);
	ck_assert_msg(r.locked == 0, "%s: locked instruction: %s", sym,
		      r.first_bad);
	ck_assert_msg(r.calls == 0 && r.jumps_out == 0, "%s: calls or jumps "
		      "other than to %s: %s", sym, allow, r.first_bad);
}

START_TEST(t_inline_api_no_lock)
{
	assert_clean_but("lt_probe_get", "lwkt_gettoken");
	assert_clean_but("lt_probe_rel", "lwkt_reltoken");
}
END_TEST

/* Negative control: allowing one callee does not hide another. */
START_TEST(t_checker_allow_is_narrow)
{
	struct asm_result r;
	check_function_allow("lt_probe_get", "lwkt_reltoken", &r);
	ck_assert(r.found);
	ck_assert_msg(r.calls + r.jumps_out > 0, "the fallback call to "
		      "lwkt_gettoken went unseen");
}
END_TEST

START_TEST(t_fastget_no_lock)
{
	assert_clean("_lwkt_token_cpu_fastget");
}
END_TEST

START_TEST(t_fastrel_no_lock)
{
	assert_clean("_lwkt_token_cpu_fastrel");
}
END_TEST

/* Negative control: the checker does see a CAS. */
START_TEST(t_checker_sees_cas)
{
	struct asm_result r;
	check_function("lwkt_gettoken", &r);
	ck_assert_msg(r.found, "lwkt_gettoken not found");
	ck_assert_int_gt(r.insns, 8);
	/* It calls the fast path (and the slow path): calls are seen. */
	ck_assert_msg(r.calls > 0, "checker missed lwkt_gettoken's calls");
#ifndef __SANITIZE_THREAD__
	/* TSan turns the CAS into a call to its runtime; elsewhere it is a
	 * lock cmpxchg, which must be seen. */
	ck_assert_msg(r.locked > 0, "checker missed lwkt_gettoken's "
		      "lock cmpxchg (atomic design): the check is blind");
#endif
}
END_TEST

/* Negative control: an unknown symbol is "not found", not "clean". */
START_TEST(t_checker_missing_symbol)
{
	struct asm_result r;
	check_function("_lwkt_no_such_function", &r);
	ck_assert_int_eq(r.found, 0);
	ck_assert_int_eq(r.insns, 0);
}
END_TEST

static void
add(Suite *s)
{
	/* Each test runs nm and objdump over this binary: processes of
	 * their own that an overloaded host holds up (seen: a one-PU pass,
	 * taskset -c 0, beside a parallel suite: nm waited past 30 s). */
	TCase *tc = ltest_tcase(s, "asm", 120);
	tcase_add_test(tc, t_fastget_no_lock);
	tcase_add_test(tc, t_fastrel_no_lock);
	tcase_add_test(tc, t_checker_sees_cas);
	tcase_add_test(tc, t_checker_missing_symbol);
	tcase_add_test(tc, t_inline_fast_no_lock);
	tcase_add_test(tc, t_inline_api_no_lock);
	tcase_add_test(tc, t_checker_allow_is_narrow);
}

LTEST_MAIN("token_asm", add)
