/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcuq_tsan.h - ThreadSanitizer annotations for liburcu (private).
 *
 * liburcu 0.13's atomics are inline asm, invisible to TSan, which then
 * reports false races on every RCU-published object.  In TSan builds only
 * (the macros vanish otherwise): publish/subscribe go through __atomic
 * builtins with the same x86 code (xchg / plain load), and a token
 * carries the grace-period happens-before edge: readers release it before
 * leaving a read-side section, reclaimers acquire it after the grace
 * period (synchronize_rcu, or at the start of a call_rcu callback).
 * Verified recipe: ../shared/TOOLCHAIN.md, liburcu section; in addition,
 * TSan builds do not inline liburcu (see urcuq.h).
 */
#ifndef LWKT_BASELINES_URCUQ_TSAN_H
#define LWKT_BASELINES_URCUQ_TSAN_H

/* The grace-period token (urcuq_wfcq.c); only its address is used. */
extern char urcuq_tsan_token;

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define URCUQ_TSAN_RELEASE(p) __tsan_release(p)
#define URCUQ_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define URCUQ_PUBLISH(pp, v) __atomic_exchange_n((pp), (v), __ATOMIC_ACQ_REL)
#define URCUQ_DEREF(pp) __atomic_load_n((pp), __ATOMIC_ACQUIRE)
#else
#define URCUQ_TSAN_RELEASE(p) do { (void)(p); } while (0)
#define URCUQ_TSAN_ACQUIRE(p) do { (void)(p); } while (0)
#define URCUQ_PUBLISH(pp, v) rcu_xchg_pointer((pp), (v))
#define URCUQ_DEREF(pp) rcu_dereference(*(pp))
#endif
#define URCUQ_GP_RELEASE() URCUQ_TSAN_RELEASE(&urcuq_tsan_token)
#define URCUQ_GP_ACQUIRE() URCUQ_TSAN_ACQUIRE(&urcuq_tsan_token)

#endif /* LWKT_BASELINES_URCUQ_TSAN_H */
