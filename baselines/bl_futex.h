/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bl_futex.h - futex wait/wake and a bounded spin for the baselines.
 *
 * bl_futex_wait(w, v) sleeps only while *w == v: the kernel re-checks the
 * word under its hash-bucket lock, so a store + bl_futex_wake() that lands
 * first makes the wait return at once (no lost wake-up).  Spurious returns
 * happen (EINTR, EAGAIN): callers re-check their condition in a loop.
 */
#ifndef LWKT_BASELINES_BL_FUTEX_H
#define LWKT_BASELINES_BL_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lwkt/arch.h"

/* Monotonic ns.  Inline here: the baselines do not link liblwkt (whose
 * lwkt_now_ns is the same clock). */
static inline uint64_t
bl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
bl_futex_wait(_Atomic uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static inline void
bl_futex_wake(_Atomic uint32_t *w, int n)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Default spin budget before sleeping: several microseconds, because a
 * wake-up on this machine kind costs tens of microseconds (TOOLCHAIN.md). */
#define BL_SPIN_NS_DEFAULT 20000u

/* A spin deadline: the clock is read every 64 pauses only. */
struct bl_spin {
	uint64_t bs_deadline;
	unsigned bs_n;
};

static inline void
bl_spin_begin(struct bl_spin *s, uint64_t budget_ns)
{
	s->bs_deadline = budget_ns ? bl_now_ns() + budget_ns : 0;
	s->bs_n = 0;
}

/* One pause; false once the budget is spent. */
static inline int
bl_spin_more(struct bl_spin *s)
{
	if (s->bs_deadline == 0)
		return 0;
	lwkt_cpu_relax();
	if ((++s->bs_n & 63) == 0 && bl_now_ns() >= s->bs_deadline)
		return 0;
	return 1;
}

#endif /* LWKT_BASELINES_BL_FUTEX_H */
