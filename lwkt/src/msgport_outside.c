/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_outside.c - the reply port of callers outside LWKT (main, a
 * test driver): lwkt_domsg swaps it in for the call and waits on a futex
 * on the message's flags word (outside threads have no cpu to poll).
 */
#include <linux/futex.h>
#include <pthread.h>

#include "msgport_priv.h"

static void
outside_replyport(lwkt_port_t p, lwkt_msg_t m)
{
	(void)p;
	fl_done(m);
	/* m may be gone once DONE is visible; FUTEX_WAKE only uses the
	 * address as a key, it never dereferences it in user space. */
	_lwkt_futex(&m->ms_flags, FUTEX_WAKE_PRIVATE, 1);
}

static const struct port_ops outside_ops = {
	.replyport = outside_replyport,
};
static struct lwkt_port outside_port;
static pthread_once_t outside_once = PTHREAD_ONCE_INIT;

static void
outside_init(void)
{
	_lwkt_port_init(&outside_port, MSGPORTF_OUTSIDE, &outside_ops);
}

lwkt_port_t
_lwkt_outside_port(void)
{
	pthread_once(&outside_once, outside_init);
	return &outside_port;
}

int
_lwkt_outside_wait(lwkt_msg_t m)
{
	uint32_t f;
	/* acquire: pairs with fl_done in outside_replyport. */
	while (!((f = atomic_load_explicit(&m->ms_flags,
					   memory_order_acquire)) & MSGF_DONE))
		_lwkt_futex(&m->ms_flags, FUTEX_WAIT_PRIVATE, f);
	return m->ms_error;
}
