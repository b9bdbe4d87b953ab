/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_bench.c - the C shim's own cost: an empty GBENCH_LOOP, to be read
 * against shim/native_empty_loop (the same loop in C++, in the shim).
 * Both bodies hold the same compiler barrier so neither loop is deleted.
 */
#include "gbench.h"

static void
bm_shim_empty_loop(gbench_state *st)
{
	GBENCH_LOOP(st) {
		gbench_clobber();
	}
}
GBENCH_REGISTER(bm_shim_empty_loop, "shim/empty_loop")
