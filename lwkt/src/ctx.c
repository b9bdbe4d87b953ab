/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctx.c - execution contexts with Boost.Context's fcontext contract
 * (jump_fcontext / make_fcontext, C ABI, no system call; on x86-64 our own
 * lighter routine with the same contract, ctx_x86_64.S), annotated for
 * ASan and TSan so their shadow stacks and happens-before graphs follow
 * each switch.
 *
 * fcontext contexts are one-shot: jump_fcontext returns, in the context
 * switched to, the saved state of the context that switched.  We pass the
 * leaving context's struct as `data`, so the arriving side stores the
 * returned fctx into it (see _lwkt_ctx_arrive).
 */
#include "lwkt_priv.h"
#ifdef LWKT_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* valgrind's client requests (header of Debian's valgrind package): a
 * few instructions that do nothing outside valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LWKT_VG_STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#define LWKT_VG_STACK_DEREGISTER(id) VALGRIND_STACK_DEREGISTER(id)
#endif
#endif
#ifndef LWKT_VG_STACK_REGISTER
#define LWKT_VG_STACK_REGISTER(lo, hi) ((void)(lo), (void)(hi), 0u)
#define LWKT_VG_STACK_DEREGISTER(id) ((void)(id))
#endif


void
_lwkt_ctx_init_self(struct lwkt_ctx *c)
{
	/* The host pthread's own stack: ASan learns its bounds at the first
	 * switch away from it (finish_switch_fiber reports the old stack). */
	c->c_fctx = NULL;
	c->c_stack_lo = NULL;
	c->c_stack_size = 0;
	c->c_vg_stack = 0;	/* valgrind knows pthread stacks */
#ifdef LWKT_TSAN
	c->c_tsan_fiber = __tsan_get_current_fiber();
#else
	c->c_tsan_fiber = NULL;
#endif
}

void
_lwkt_ctx_init_stack(struct lwkt_ctx *c, void *lo, size_t size,
		     void (*entry)(transfer_t))
{
#ifdef LWKT_ASAN
	/* A dead thread leaves its frames' redzones poisoned (it never
	 * returned from them), munmap does not clear ASan's shadow, and
	 * mmap hands the same addresses to the next stack: start clean. */
	__asan_unpoison_memory_region(lo, size);
#endif
	/* memcheck treats a jump to an unregistered stack as a huge frame
	 * and reports every access there; registered, it follows the
	 * switches (no-op outside valgrind). */
	c->c_vg_stack = LWKT_VG_STACK_REGISTER(lo, (char *)lo + size);
	/* make_fcontext wants the top of the stack (it grows down). */
	c->c_fctx = LWKT_MAKE((char *)lo + size, size, entry);
	c->c_stack_lo = lo;
	c->c_stack_size = size;
#ifdef LWKT_TSAN
	c->c_tsan_fiber = __tsan_create_fiber(0);
#else
	c->c_tsan_fiber = NULL;
#endif
}

void
_lwkt_ctx_fini(struct lwkt_ctx *c)
{
#ifdef LWKT_TSAN
	/* Never the current fiber: called by the context that reaps. */
	if (c->c_tsan_fiber)
		__tsan_destroy_fiber(c->c_tsan_fiber);
#endif
	c->c_tsan_fiber = NULL;
	if (c->c_vg_stack != 0)
		LWKT_VG_STACK_DEREGISTER(c->c_vg_stack);
	c->c_vg_stack = 0;
#ifdef LWKT_ASAN
	/* Hygiene for whoever maps these addresses next (not only us). */
	if (c->c_stack_lo != NULL)
		__asan_unpoison_memory_region(c->c_stack_lo, c->c_stack_size);
#endif
}

void
_lwkt_ctx_entered(transfer_t t)
{
	_lwkt_ctx_arrive(t, NULL);
}
