/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crit.c - critical sections (lwkt/crit.h): a per-thread count, saved
 * across a switch as DragonFly's td_critcount.  The runtime's own code
 * uses the lighter private variants of lwkt_priv.h.
 */
#include "lwkt_priv.h"
#include "lwkt_trace.h"

void
crit_enter(void)
{
	struct lwkt_thread *td = _lwkt_need_cpu("crit_enter")->gd_curthread;
	if (td->td_critcount++ == 0)
		LWKT_TRACE(crit_enter, td->td_gd->gd_cpuid, td->td_id);
	/* Keeps the protected accesses after the increment. */
	atomic_signal_fence(memory_order_seq_cst);
}

void
crit_exit(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("crit_exit");
	struct lwkt_thread *td = gd->gd_curthread;

	if (td->td_critcount <= 0)
		lwkt_panic("crit_exit() without crit_enter() (depth %d)",
			   td->td_critcount);
	if (td->td_critcount == 1)
		LWKT_TRACE(crit_exit, gd->gd_cpuid, td->td_id);
	/* The crit_exit that drops the count to zero runs what waited. */
	_lwkt_crit_exit(gd, td);
}

int
crit_depth(void)
{
	struct lwkt_cpu *gd = mycpu();
	return gd ? gd->gd_curthread->td_critcount : 0;
}
