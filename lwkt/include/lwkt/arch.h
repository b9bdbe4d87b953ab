/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch.h - the few machine-dependent primitives lwkt-lab needs: a spin-wait
 * hint, the cache-line size, and a cycle/ns clock for hot paths.
 */
#ifndef LWKT_ARCH_H
#define LWKT_ARCH_H

#include <stdint.h>

/* Cache-line size used to separate fields written by different cpus. */
#define LWKT_CACHELINE 64

/* Spin-wait hint: PAUSE on x86 (yields the pipeline to an SMT sibling and
 * avoids the memory-order-violation flush when the awaited line arrives). */
static inline void
lwkt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/*
 * Full fence (StoreLoad included).  GCC refuses atomic_thread_fence under
 * -fsanitize=thread (TSan does not model fences); there a seq_cst RMW on a
 * thread-private word stands in: on x86 a locked RMW is a full fence too.
 */
#if defined(__SANITIZE_THREAD__)
static inline void
lwkt_fence_seq_cst(void)
{
	static __thread unsigned lwkt_fence_word;
	__atomic_fetch_add(&lwkt_fence_word, 0, __ATOMIC_SEQ_CST);
}
#else
static inline void
lwkt_fence_seq_cst(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#endif

/* Monotonic nanoseconds (CLOCK_MONOTONIC through the vDSO, ~28 ns on the
 * reference host).  Out of line so this header needs no POSIX feature
 * macro from its users. */
uint64_t lwkt_now_ns(void);

#endif /* LWKT_ARCH_H */
