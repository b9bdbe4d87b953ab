/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_token_loop.c - the measured loop of token/cpu_owned_local, as
 * lwkt-bench of this build has it, holds no bus-locked instruction: the
 * owner cpu's get and release are inline there (lwkt/token_inline.h), and
 * only their fallbacks, out of the loop's body, are calls into the
 * library.  The loop is tok_local_bencher (bench/bench_token.c),
 * disassembled with lt_asm.h: no lock prefix, xchg, cmpxchg, xadd or
 * mfence, and the TLS loads of the inline path are there (a build with
 * LWKT_NO_INLINE, where the loop only calls, fails that).  Negative
 * control: the same checker sees the atomic design's `lock cmpxchg` in
 * the library's lwkt_gettoken of the same binary.
 */
#include "lt_asm.h"
#include "ltest.h"

#define BENCH LWKT_BUILD_DIR "/lwkt-bench"

START_TEST(t_cpu_owned_local_loop_no_lock)
{
#ifdef __SANITIZE_THREAD__
	/* lwkt/token.h keeps the inline path out of TSan builds. */
	LTEST_SKIP("TSan builds call the library for every get and release "
		   "(no inline path to check)");
#endif
	struct asm_result r;
	lt_asm_check(BENCH, "tok_local_bencher", NULL, &r);
	ck_assert_msg(r.found, "tok_local_bencher not found in %s", BENCH);
	ck_assert_msg(r.insns >= 16, "tok_local_bencher: %d instructions",
		      r.insns);
	ck_assert_msg(r.locked == 0, "the loop has a locked instruction: %s",
		      r.first_bad);
	ck_assert_msg(r.fs >= 2, "the loop reads no TLS (%d %%fs operands): "
		      "the inline get/release is not in it", r.fs);
}
END_TEST

START_TEST(t_checker_sees_lock)
{
	struct asm_result r;
	lt_asm_check(BENCH, "lwkt_gettoken", NULL, &r);
	ck_assert_msg(r.found, "lwkt_gettoken not found in %s", BENCH);
#ifndef __SANITIZE_THREAD__
	/* TSan turns the CAS into a call to its runtime. */
	ck_assert_msg(r.locked > 0, "the checker missed lwkt_gettoken's "
		      "lock cmpxchg: it is blind");
#endif
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "asm", 30);
	tcase_add_test(tc, t_cpu_owned_local_loop_no_lock);
	tcase_add_test(tc, t_checker_sees_lock);
}

LTEST_MAIN("bench-token-loop", add)
