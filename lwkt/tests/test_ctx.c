/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ctx.c - the raw context switch (ctx_x86_64.S on x86-64, else
 * Boost.Context): data and contexts handed over correctly across 10^6
 * switches, callee-saved values intact, new contexts entered with an
 * ABI-aligned stack.  Runs the switch without the runtime around it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../src/lwkt_priv.h"
#include "ltest.h"

#define STACK (64 * 1024)

static fcontext_t main_ctx;
static uint64_t seen, bad_align;

/* Keeps many values live across each switch (callee-saved registers
 * and stack slots) and clobbers registers between switches. */
static __attribute__((noinline)) uint64_t
mix(uint64_t x)
{
	volatile uint64_t v[8];
	for (int i = 0; i < 8; i++)
		v[i] = x * (uint64_t)(i + 3) + (uint64_t)i;
	return v[1] ^ v[6];
}

static void
entry(transfer_t t)
{
	/* Frame pointer of a function entered through the trampoline: a
	 * 16-byte aligned call site gives rbp % 16 == 0. */
	if (((uintptr_t)__builtin_frame_address(0) & 15) != 0)
		bad_align++;
	for (;;) {
		uint64_t v = (uint64_t)(uintptr_t)t.data;
		uint64_t a = v * 7, b = v ^ 0x5555, c = v + 11, d = mix(v);
		seen = v;
		/* Answer v + 1; resume with whatever main sends next. */
		t = LWKT_JUMP(t.fctx, (void *)(uintptr_t)(v + 1));
		main_ctx = t.fctx;
		if (a != v * 7 || b != (v ^ 0x5555) || c != v + 11 ||
		    d != mix(v))
			abort();	/* a callee-saved value was lost */
	}
}

START_TEST(t_switch_million)
{
	char *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(stk, MAP_FAILED);
	fcontext_t ctx = LWKT_MAKE(stk + STACK, STACK, entry);
	ck_assert_ptr_nonnull(ctx);
	uint64_t x = 1000, y = 0xabcdef, z = 42;
	for (uint64_t i = 0; i < 1000000; i++) {
		uint64_t keep1 = x + i, keep2 = y ^ i, keep3 = mix(i);
		transfer_t t = LWKT_JUMP(ctx, (void *)(uintptr_t)(i * 2));
		ctx = t.fctx;
		/* Plain compares: each passing ck_assert writes a mark to
		 * Check's pipe (a system call), six per switch were most of
		 * the run; the message names the first broken value. */
		if (__builtin_expect((uint64_t)(uintptr_t)t.data != i * 2 + 1
				     || seen != i * 2 || keep1 != x + i ||
				     keep2 != (y ^ i) || keep3 != mix(i) ||
				     z != 42, 0))
			ck_abort_msg("switch %llu: data %llu (want %llu), seen "
				     "%llu (want %llu), kept %llu/%llu/%llu/%llu "
				     "(want %llu/%llu/%llu/42)",
				     (unsigned long long)i,
				     (unsigned long long)(uintptr_t)t.data,
				     (unsigned long long)(i * 2 + 1),
				     (unsigned long long)seen,
				     (unsigned long long)(i * 2),
				     (unsigned long long)keep1,
				     (unsigned long long)keep2,
				     (unsigned long long)keep3,
				     (unsigned long long)z,
				     (unsigned long long)(x + i),
				     (unsigned long long)(y ^ i),
				     (unsigned long long)mix(i));
	}
	ck_assert_uint_eq(bad_align, 0);
	munmap(stk, STACK);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "ctx", 30);
	tcase_add_test(tc, t_switch_million);
}
LTEST_MAIN("ctx", add)
