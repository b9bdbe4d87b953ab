/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crit.h - critical sections.  Inside one, the current cpu runs no IPI
 * function and does not switch the thread away (unless the thread itself
 * calls lwkt_switch/lwkt_sleep).  IPIs that arrive meanwhile wait in their
 * rings; the crit_exit() that drops the count to zero runs them.  Nesting
 * is a count.  crit_exit() without crit_enter() aborts.
 *
 * The count belongs to the current thread (it is saved across a switch,
 * as DragonFly's td_critcount), so it is also "the cpu's" count while the
 * thread runs.  Only the owning cpu touches it: no atomics, only compiler
 * barriers so the compiler keeps protected accesses inside.
 */
#ifndef LWKT_CRIT_H
#define LWKT_CRIT_H

#ifdef __cplusplus
extern "C" {
#endif

void crit_enter(void);
void crit_exit(void);
/* Current nesting depth of the running thread (0 outside). */
int crit_depth(void);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_CRIT_H */
