/* SPDX-License-Identifier: BSD-3-Clause */
/* token_priv.h - the two hooks the scheduler calls for tokens (token.c),
 * from _lwkt_switch_to() in thread.c.  Private. */
#ifndef LWKT_SRC_TOKEN_PRIV_H
#define LWKT_SRC_TOKEN_PRIV_H

#include "lwkt_priv.h"

/* td is about to be switched away from gd (in a critical section): gives
 * up every token it holds (they stay in its held list).  td exiting with
 * tokens held aborts; an exiting thread's token state is freed here. */
void _lwkt_token_switch_out(struct lwkt_cpu *gd, struct lwkt_thread *td);

/* td runs again (on its own stack, in a critical section, maybe on a new
 * cpu): re-acquires all its tokens before returning, waiting (switching
 * to other threads) as long as needed. */
void _lwkt_token_switch_in(struct lwkt_thread *td);

#endif
