/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msgport_func.c - the function port, the original message port of
 * DragonFly (Dillon, "Re: messaging questions...", kernel@dragonflybsd.org,
 * 19 Nov 2003): the port's putport is the user's beginmsg, run in the
 * sender's context; it handles the message inline and returns the result,
 * or takes it over (queues or forwards it) and returns EASYNC.  The port
 * has no queue of its own: getport, waitport and replyport panic, and an
 * abort reaches the handler only as lwkt_msg_abort_requested().
 */
#include "msgport_priv.h"

void
lwkt_initport_func(lwkt_port_t p, int (*beginmsg)(lwkt_port_t, lwkt_msg_t),
		   void *arg)
{
	LWKT_ASSERT(p != NULL && beginmsg != NULL, "lwkt_initport_func: NULL "
		    "port (%p) or beginmsg", (void *)p);
	const struct port_ops ops = {.putport = beginmsg};
	_lwkt_port_init(p, MSGPORTF_FUNC, &ops);
	p->mp_u.data = arg;
}
