/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * thread.h - lightweight threads: cooperative, each on one cpu, with its
 * own mmap'ed stack (guard page below), a priority and a name.  A thread
 * moves to another cpu only by lwkt_migrate().  Switches are user-level
 * (Boost.Context fcontext): no system call on the switch path.
 */
#ifndef LWKT_THREAD_H
#define LWKT_THREAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lwkt_thread *lwkt_thread_t;
typedef void (*lwkt_thread_fn)(void *arg);

/* Priorities: higher runs first; same priority round-robins on yield. */
#define LWKT_PRI_MIN	0
#define LWKT_PRI_NORMAL	10
#define LWKT_PRI_MAX	31

/* lwkt_create flags */
#define LWKT_CREATE_DETACHED	0x0001	/* freed at exit; not joinable */

/*
 * Creates a thread running fn(arg) on cpu at LWKT_PRI_NORMAL, runnable at
 * once.  name is copied (truncated to 31 bytes).  *tdp gets the handle
 * (may be NULL for detached threads).  0, EINVAL (bad cpu, NULL fn),
 * ENOMEM, or ESHUTDOWN when the runtime is not started.
 */
int lwkt_create(lwkt_thread_fn fn, void *arg, int cpu, int flags,
		lwkt_thread_t *tdp, const char *name);
/* Same with a priority. */
int lwkt_create_pri(lwkt_thread_fn fn, void *arg, int cpu, int flags,
		    int pri, lwkt_thread_t *tdp, const char *name);

/* Waits for td to exit and frees it.  From outside LWKT (blocks on a
 * futex) or from another LWKT thread (sleeps).  0, or EINVAL (detached,
 * self). */
int lwkt_join(lwkt_thread_t td);

/* The running thread; NULL outside LWKT threads. */
lwkt_thread_t lwkt_curthread(void);
uint64_t lwkt_thread_id(lwkt_thread_t td);
int lwkt_thread_cpu(lwkt_thread_t td);
const char *lwkt_thread_name(lwkt_thread_t td);

/* Gives the cpu to another runnable thread of equal or higher priority,
 * running pending IPIs first. */
void lwkt_yield(void);

/* Switches to the best runnable thread (or the cpu's idle loop).  The
 * caller stays runnable only if it is on the run queue: to block, call
 * lwkt_deschedule_self() first, inside a critical section. */
void lwkt_switch(void);

/* Takes the running thread off the run queue (it keeps running until it
 * switches).  Call inside a critical section. */
void lwkt_deschedule_self(void);

/* Makes td runnable.  td on another cpu: one IPI to that cpu does it.
 * Scheduling a runnable or running thread does nothing.
 * td must stay allocated until the wake-up is delivered: it must not be
 * able to exit and be joined (or, detached, reaped) meanwhile - e.g. it is
 * blocked waiting for this very wake-up.  To wake a thread that may be
 * exiting, make it sleep on a wait channel (lwkt_tsleep) and call
 * lwkt_wakeup(channel): that touches no thread struct, only each cpu's
 * queue of sleepers. */
void lwkt_schedule(lwkt_thread_t td);

/* Blocks the running thread until lwkt_schedule(it).  Tokens held are
 * given up and re-acquired before it returns. */
void lwkt_sleep(void);

/* DragonFly-like wait channels: sleep on ident until lwkt_wakeup(ident)
 * (from any cpu, or from outside).  Wakes every sleeper on ident. */
void lwkt_tsleep(const void *ident);
void lwkt_wakeup(const void *ident);

/* Ends the running thread.  Does not return. */
__attribute__((noreturn)) void lwkt_exit(void);

/* Moves the running thread to cpu; returns running there.  Its own
 * message port (lwkt_thread_port) moves with it: messages queued there
 * stay queued, and sends that raced the move are forwarded.  Its tokens
 * are given up and re-acquired.  0 or EINVAL. */
int lwkt_migrate(int cpu);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_THREAD_H */
