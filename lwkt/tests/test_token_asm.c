/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_token_asm.c - proves that the owner-cpu fast path of the 2004
 * (cpu-owned) token design contains no bus-locked instruction.
 *
 * How: this test binary links liblwkt.a, so it contains the very code
 * lwkt_gettoken/lwkt_reltoken run.  The test finds the fast-path
 * functions _lwkt_token_cpu_fastget and _lwkt_token_cpu_fastrel in its
 * own executable with `nm -S` (address and size: the check covers exactly
 * the function's bytes, not the padding after it), disassembles that range
 * with `objdump -d`, and fails on
 *   - any `lock`-prefixed instruction or any `xchg` (implicitly locked
 *     with a memory operand), and also mfence / cmpxchg / xadd; the one
 *     exception is `xchg %ax,%ax`, objdump's name for the 2-byte NOP
 *     (66 90) gcc pads with inside functions;
 *   - any call, or any jump whose target lies outside the function: the
 *     fast path must be self-contained, so there is no callee left
 *     unchecked (tracing and IPI processing live in the callers);
 * and it fails unless the function was found, is at least 8 instructions
 * long and contains a `ret`.
 * It cannot pass by accident: a negative control runs the same checker
 * on lwkt_gettoken (which inlines the atomic design's compare-and-swap
 * and calls the fast path) and must see it rejected for its `lock
 * cmpxchg` and its calls; another checks that a missing symbol is
 * reported as missing, not as clean.
 *
 * Sanitizer builds instrument every memory access with calls, so there
 * the checker allows calls to the sanitizer runtime (__tsan_*, __asan_*,
 * __ubsan_*) and jumps to the function's .cold part (UBSan's report
 * path), and still rejects locked instructions; the uninstrumented
 * build (the one that is measured) gets the strict check.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwkt/token.h"
#include "ltest.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define LT_SANITIZED 1
#else
#define LT_SANITIZED 0
#endif

struct asm_result {
	int found;		/* symbol found with a size */
	int insns;
	int rets;
	int locked;		/* lock prefix, xchg, cmpxchg, xadd, mfence */
	int calls;		/* calls not allowed in this build */
	int jumps_out;
	char first_bad[256];
};

static void
exe_path(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);
	ck_assert_int_gt(k, 0);
	buf[k] = '\0';
}

static int
sym_range(const char *exe, const char *sym, unsigned long long *lo,
	  unsigned long long *size)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "nm -S --defined-only '%s'", exe);
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run nm (binutils)");
	char line[1024];
	int found = 0;
	while (fgets(line, sizeof line, p)) {
		unsigned long long a, s;
		char type, name[512];
		if (sscanf(line, "%llx %llx %c %511s", &a, &s, &type, name)
		    == 4 && strcmp(name, sym) == 0 && s > 0) {
			*lo = a;
			*size = s;
			found = 1;
		}
	}
	pclose(p);
	return found;
}

static void
note_bad(struct asm_result *r, const char *line)
{
	if (r->first_bad[0] == '\0')
		snprintf(r->first_bad, sizeof r->first_bad, "%.200s", line);
}

static void
check_function(const char *sym, struct asm_result *r)
{
	char exe[4096], cmd[8400], line[1024];
	unsigned long long lo = 0, size = 0;
	memset(r, 0, sizeof *r);
	exe_path(exe, sizeof exe);
	if (!sym_range(exe, sym, &lo, &size))
		return;
	r->found = 1;
	snprintf(cmd, sizeof cmd, "objdump -d --no-show-raw-insn "
		 "--start-address=0x%llx --stop-address=0x%llx '%s'",
		 lo, lo + size, exe);
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run objdump (binutils)");
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		/* Instruction lines: "  401a2c:\tmnemonic operands" */
		char *colon = strchr(line, ':');
		char *tab = strchr(line, '\t');
		if (colon == NULL || tab == NULL || tab != colon + 1)
			continue;
		int hex = 1;
		for (char *c = line; c < colon; c++)
			if (!isxdigit((unsigned char)*c) && *c != ' ')
				hex = 0;
		if (!hex)
			continue;
		const char *ins = tab + 1;
		r->insns++;
		char mn[64] = "";
		sscanf(ins, "%63s", mn);
		/* "xchg %ax,%ax" is how objdump prints 66 90, the 2-byte
		 * NOP gcc pads with: no memory operand, nothing locked. */
		int nop = strcmp(mn, "xchg") == 0 &&
			  strstr(ins, "%ax,%ax") != NULL;
		if (strcmp(mn, "lock") == 0 ||
		    (strncmp(mn, "xchg", 4) == 0 && !nop) ||
		    strncmp(mn, "cmpxchg", 7) == 0 ||
		    strncmp(mn, "xadd", 4) == 0 || strcmp(mn, "mfence") == 0) {
			r->locked++;
			note_bad(r, line);
		}
		if (strncmp(mn, "ret", 3) == 0)
			r->rets++;
		const char *lt = strchr(ins, '<');
		int san = LT_SANITIZED && lt &&
		    (strncmp(lt + 1, "__tsan_", 7) == 0 ||
		     strncmp(lt + 1, "__asan_", 7) == 0 ||
		     strncmp(lt + 1, "__ubsan_", 8) == 0 ||
		     strstr(lt, ".cold") != NULL);	/* UBSan reports */
		if (strncmp(mn, "call", 4) == 0) {
			if (!san) {
				r->calls++;
				note_bad(r, line);
			}
		}
		if (mn[0] == 'j') {
			unsigned long long t;
			const char *ops = ins + strlen(mn);
			if (!san && (sscanf(ops, " %llx", &t) != 1 ||
				     t < lo || t >= lo + size)) {
				r->jumps_out++;	/* indirect or outside */
				note_bad(r, line);
			}
		}
	}
	pclose(p);
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
	TCase *tc = ltest_tcase(s, "asm", 30);
	tcase_add_test(tc, t_fastget_no_lock);
	tcase_add_test(tc, t_fastrel_no_lock);
	tcase_add_test(tc, t_checker_sees_cas);
	tcase_add_test(tc, t_checker_missing_symbol);
}

LTEST_MAIN("token_asm", add)
