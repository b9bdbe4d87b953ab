/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch.h - the few machine-dependent primitives lwkt-lab needs: a spin-wait
 * hint, the cache-line size, and a cycle/ns clock for hot paths.
 */
#ifndef LWKT_ARCH_H
#define LWKT_ARCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Cache-line size used to separate fields written by different cpus. */
#define LWKT_CACHELINE 64

/*
 * Atomic fields of the public structs, and their alignment, in C and C++.
 * C sees _Atomic(T).  C++ has no _Atomic before C++23, and std::atomic
 * would give the structs constructors (unions of them break), so C++
 * sees the plain T: same size and alignment as _Atomic(T) for the
 * 4- and 8-byte types used here, with GCC and Clang (test_cxx checks
 * every size and offset against the C compiler's).  Only the runtime, in
 * C, and the inline accessors of these headers, through the __atomic
 * builtins that take both, touch those fields.
 */
#ifdef __cplusplus
#define LWKT_ATOMIC(T) T
#define LWKT_ALIGNAS(n) alignas(n)
#else
#define LWKT_ATOMIC(T) _Atomic(T)
#define LWKT_ALIGNAS(n) _Alignas(n)
#endif

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
 * Full fence (StoreLoad included).  Under -fsanitize=thread GCC 12 rejects
 * the __atomic_thread_fence builtin in user code (-Wtsan; <stdatomic.h>'s
 * atomic_thread_fence compiles only because the warning is silenced in
 * system headers) and TSan does not model fences either way; there a
 * seq_cst RMW on a thread-private word stands in: on x86 a locked RMW is
 * a full fence too.  Use this, not atomic_thread_fence, in the runtime.
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

#ifdef __cplusplus
}
#endif
#endif /* LWKT_ARCH_H */
