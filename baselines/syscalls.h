/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syscalls.h - ways to make a system call that people use today, for the
 * syscall-offload workload (the LWKT way is lwkt/sysmsg.h):
 *
 *   direct           the call, here (bl_call_do)
 *   io_uring         liburing: a batch of SQEs, one io_uring_submit_and_wait
 *                    (IORING_OP_NOP is the null call; READ/WRITE with an
 *                    offset for pread, -1 for pipes); optionally SQPOLL, a
 *                    kernel thread polling the submission queue on a cpu
 *                    of our choice
 *   eventfd pool     worker threads fed by a mutex-protected queue, woken
 *                    by an eventfd; completions counted under the same
 *                    mutex, the submitter woken by its own eventfd
 *                    (Seastar's syscall_work_queue shape).  Both sides may
 *                    spin a budget before they sleep.
 *
 * A call is described by struct bl_call; results come back in it: the
 * call's return value (-1 on failure) and its errno (0 on success).
 */
#ifndef LWKT_BASELINES_SYSCALLS_H
#define LWKT_BASELINES_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum bl_callno {
	BL_CALL_NULL = 1,	/* getppid; IORING_OP_NOP for io_uring */
	BL_CALL_PREAD = 2,
	BL_CALL_READ = 3,
	BL_CALL_WRITE = 4,
};

struct bl_call {
	int c_call;		/* enum bl_callno */
	int c_fd;
	void *c_buf;
	size_t c_len;
	off_t c_off;		/* BL_CALL_PREAD */
	int64_t c_result;
	int c_error;
};

/* The direct call (EINTR retried). */
void bl_call_do(struct bl_call *c);

/* ---- io_uring ---- */
struct bl_uring;
/*
 * Sets up a ring of `entries` (>= the largest batch).  sqpoll_cpu >= 0:
 * IORING_SETUP_SQPOLL with the poller bound to that cpu
 * (IORING_SETUP_SQ_AFF).  Returns 0, or an errno with a one-line reason
 * in why (e.g. the kernel refused SQPOLL, io_uring disabled by
 * kernel.io_uring_disabled or a seccomp filter).
 */
int bl_uring_init(struct bl_uring **out, unsigned entries, int sqpoll_cpu,
		  char *why, size_t whylen);
/* Submits calls[0..n) in order and waits for all n completions.  0, or
 * the errno of a failed submit (then the results are not valid). */
int bl_uring_run(struct bl_uring *u, struct bl_call *calls, int n);
void bl_uring_exit(struct bl_uring *u);

/* ---- eventfd-woken worker pool ---- */
struct bl_syspool;
/*
 * Starts `workers` threads (worker i pinned to PU pus[i], or unpinned if
 * pus is NULL).  spin_ns: how long a worker polls its queue, and a
 * submitter its completions, before sleeping on the eventfd (0: sleep at
 * once).  With several workers, calls of one batch may run in parallel,
 * in any order.  0 or errno.
 */
int bl_syspool_start(struct bl_syspool **out, int workers,
		     const unsigned *pus, uint64_t spin_ns);
/* Queues calls[0..n) (one wake-up for the batch) and waits until all are
 * done.  One submitter at a time. */
void bl_syspool_run(struct bl_syspool *p, struct bl_call *calls, int n);
/* Wake-ups the pool did (eventfd writes) since it started. */
uint64_t bl_syspool_wakeups(struct bl_syspool *p);
void bl_syspool_stop(struct bl_syspool *p);

#endif /* LWKT_BASELINES_SYSCALLS_H */
