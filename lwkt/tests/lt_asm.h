/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lt_asm.h - a disassembly checker for tests that prove a fast path has
 * no bus-locked instruction: finds a function in an executable with
 * `nm -S` (address and size: exactly the function's bytes, not the
 * padding after it), disassembles that range with `objdump -d`, and
 * counts
 *   - `lock`-prefixed instructions, `xchg` (implicitly locked with a
 *     memory operand), mfence, cmpxchg and xadd; the one exception is
 *     `xchg %ax,%ax`, objdump's name for the 2-byte NOP (66 90) gcc pads
 *     with inside functions;
 *   - calls, and jumps whose target lies outside the function (the path
 *     must be self-contained: no callee left unchecked), except to one
 *     named callee the caller allows;
 *   - instructions, `ret`s and %fs-relative operands (TLS loads).
 * Sanitizer builds instrument every memory access with calls: there the
 * checker allows calls to the sanitizer runtime (__tsan_*, __asan_*,
 * __ubsan_*) and jumps to the function's .cold part (UBSan's report
 * path), and still counts locked instructions.
 */
#ifndef LWKT_TESTS_LT_ASM_H
#define LWKT_TESTS_LT_ASM_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
	int fs;			/* %fs-relative operands (TLS loads) */
	char first_bad[256];
};

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

/* True if the operand text of a call/jump names `allow` (the function
 * a probe may call: its fallback), directly or through the PLT. */
static int
target_is(const char *ins, const char *allow)
{
	const char *lt = strchr(ins, '<');
	if (allow == NULL || lt == NULL)
		return 0;
	size_t n = strlen(allow);
	return strncmp(lt + 1, allow, n) == 0 &&
	       (lt[1 + n] == '>' || lt[1 + n] == '@');
}

/* Disassembles sym of executable exe into r (r->found = 0 if there is no
 * such symbol with a size).  allow: the one callee a call or jump may
 * name (NULL: none). */
static void
lt_asm_check(const char *exe, const char *sym, const char *allow,
	     struct asm_result *r)
{
	char cmd[8400], line[1024];
	unsigned long long lo = 0, size = 0;
	memset(r, 0, sizeof *r);
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
		if (strstr(ins, "%fs:") != NULL)
			r->fs++;
		const char *lt = strchr(ins, '<');
		int san = LT_SANITIZED && lt &&
		    (strncmp(lt + 1, "__tsan_", 7) == 0 ||
		     strncmp(lt + 1, "__asan_", 7) == 0 ||
		     strncmp(lt + 1, "__ubsan_", 8) == 0 ||
		     strstr(lt, ".cold") != NULL);	/* UBSan reports */
		san = san || target_is(ins, allow);
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

#endif /* LWKT_TESTS_LT_ASM_H */
