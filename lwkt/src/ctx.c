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


void
_lwkt_ctx_init_self(struct lwkt_ctx *c)
{
	/* The host pthread's own stack: ASan learns its bounds at the first
	 * switch away from it (finish_switch_fiber reports the old stack). */
	c->c_fctx = NULL;
	c->c_stack_lo = NULL;
	c->c_stack_size = 0;
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
}

void
_lwkt_ctx_entered(transfer_t t)
{
	_lwkt_ctx_arrive(t, NULL);
}
