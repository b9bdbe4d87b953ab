/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipiq.h - inter-processor interrupts between LWKT cpus.
 *
 * Every ordered (src, dst) cpu pair has one single-producer single-consumer
 * ring of {func, arg1, arg2}: FIFO per pair, no mutex anywhere.  The target
 * runs func(arg1, arg2) in a critical section, on its own cpu, when it next
 * polls: in its idle loop, at a thread switch, at the crit_exit that drops
 * the count to zero, in lwkt_ipiq_poll(), or (hard IPI mode) from a signal.
 *
 * A full ring never drops and never deadlocks: the sender runs its own
 * incoming IPIs while it waits (DragonFly's rule).
 */
#ifndef LWKT_IPIQ_H
#define LWKT_IPIQ_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lwkt_ipifunc_t)(void *arg1, void *arg2);

/* Queues func(arg) on cpu.  From an LWKT cpu: its ring to cpu (runs func
 * directly, in a critical section, if cpu is the current one).  From
 * outside: the target's injection inbox.  0, or EINVAL for a bad cpu. */
int lwkt_send_ipiq(int cpu, lwkt_ipifunc_t func, void *arg);
int lwkt_send_ipiq2(int cpu, lwkt_ipifunc_t func, void *arg1, void *arg2);

/* Runs pending IPIs of the current cpu unless in a critical section.
 * Returns how many ran.  Needs an LWKT thread. */
int lwkt_ipiq_poll(void);

/*
 * Runs func(arg) on every cpu whose bit is set in mask (bit i = cpu i;
 * ~0ull = all) and returns when all have finished.  Ours runs directly.
 * From an LWKT thread the wait processes incoming IPIs, so two cpus
 * cross-calling each other cannot deadlock.  0 or EINVAL.
 */
int lwkt_cpusync(unsigned long long mask, lwkt_ipifunc_t func, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_IPIQ_H */
