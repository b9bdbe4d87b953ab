/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syscalls.c - the direct call, io_uring (liburing) and the eventfd-woken
 * worker pool (syscalls.h).
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lwkt/arch.h"
#include "syscalls.h"

void
bl_call_do(struct bl_call *c)
{
	int64_t r;
	do {
		errno = 0;
		switch (c->c_call) {
		case BL_CALL_NULL:
			r = getppid();
			break;
		case BL_CALL_PREAD:
			r = pread(c->c_fd, c->c_buf, c->c_len, c->c_off);
			break;
		case BL_CALL_READ:
			r = read(c->c_fd, c->c_buf, c->c_len);
			break;
		case BL_CALL_WRITE:
			r = write(c->c_fd, c->c_buf, c->c_len);
			break;
		default:
			r = -1;
			errno = ENOSYS;
			break;
		}
	} while (r < 0 && errno == EINTR);
	c->c_result = r;
	c->c_error = r < 0 ? errno : 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* io_uring */

struct bl_uring {
	struct io_uring u_ring;
	bool u_sqpoll;
};

int
bl_uring_init(struct bl_uring **out, unsigned entries, int sqpoll_cpu,
	      char *why, size_t whylen)
{
	struct bl_uring *u = calloc(1, sizeof *u);
	if (u == NULL)
		return ENOMEM;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	if (sqpoll_cpu >= 0) {
		p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
		p.sq_thread_cpu = (unsigned)sqpoll_cpu;
		p.sq_thread_idle = 1000;	/* ms: stays awake in a run */
		u->u_sqpoll = true;
	}
	int r = io_uring_queue_init_params(entries, &u->u_ring, &p);
	if (r < 0) {
		snprintf(why, whylen, "io_uring_setup%s refused by the kernel: "
			 "%s%s", sqpoll_cpu >= 0 ? " with SQPOLL" : "",
			 strerror(-r), -r == EPERM ? " (kernel.io_uring_"
			 "disabled, a seccomp filter, or SQPOLL without "
			 "privilege)" : "");
		free(u);
		return -r;
	}
	*out = u;
	return 0;
}

int
bl_uring_run(struct bl_uring *u, struct bl_call *calls, int n)
{
	struct io_uring *ring = &u->u_ring;
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		if (sqe == NULL)
			return EOVERFLOW;	/* batch larger than the ring */
		struct bl_call *c = &calls[i];
		switch (c->c_call) {
		case BL_CALL_NULL:
			io_uring_prep_nop(sqe);
			break;
		case BL_CALL_PREAD:
			io_uring_prep_read(sqe, c->c_fd, c->c_buf,
					   (unsigned)c->c_len,
					   (uint64_t)c->c_off);
			break;
		case BL_CALL_READ:
			io_uring_prep_read(sqe, c->c_fd, c->c_buf,
					   (unsigned)c->c_len, (uint64_t)-1);
			break;
		case BL_CALL_WRITE:
			io_uring_prep_write(sqe, c->c_fd, c->c_buf,
					    (unsigned)c->c_len, (uint64_t)-1);
			break;
		default:
			io_uring_prep_nop(sqe);
			break;
		}
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
	}
	int r;
	if (u->u_sqpoll) {
		/* The poller picks the SQEs up; we poll the CQ ring: no
		 * system call when the poller is awake. */
		r = io_uring_submit(ring);
	} else {
		r = io_uring_submit_and_wait(ring, (unsigned)n);
	}
	if (r < 0)
		return -r;
	for (int got = 0; got < n;) {
		struct io_uring_cqe *cqe;
		unsigned head, k = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			struct bl_call *c = &calls[io_uring_cqe_get_data64(cqe)];
			c->c_result = cqe->res < 0 ? -1 : cqe->res;
			c->c_error = cqe->res < 0 ? -cqe->res : 0;
			if (c->c_call != BL_CALL_NULL &&
			    c->c_call != BL_CALL_PREAD &&
			    c->c_call != BL_CALL_READ &&
			    c->c_call != BL_CALL_WRITE) {
				c->c_result = -1;
				c->c_error = ENOSYS;
			}
			k++;
		}
		io_uring_cq_advance(ring, k);
		got += (int)k;
		if (got < n && k == 0) {
			if (u->u_sqpoll) {
				lwkt_cpu_relax();
			} else {
				struct io_uring_cqe *w;
				if ((r = io_uring_wait_cqe(ring, &w)) < 0)
					return -r;
			}
		}
	}
	return 0;
}

void
bl_uring_exit(struct bl_uring *u)
{
	if (u == NULL)
		return;
	io_uring_queue_exit(&u->u_ring);
	free(u);
}

/* ---------------------------------------------------------------------- */
/* the eventfd-woken worker pool */

#define SP_QCAP 1024u		/* queued calls at most (power of two) */
#define SP_GRAB 64		/* calls a worker takes per lock hold */

/*
 * (L): under p_lock.  The hints are relaxed mirrors stored under the lock
 * for spinners; every decision is re-made under the lock.  Sleep/wake:
 * a sleeper registers (p_wsleepers / p_waiter) under the lock, drops it
 * and reads its eventfd; a waker that sees the registration under the
 * lock writes the eventfd after dropping it.  The eventfd counter keeps a
 * write that comes before the read: no lost wake-up.
 */
struct bl_syspool {
	_Alignas(LWKT_CACHELINE) pthread_mutex_t p_lock;
	struct bl_call *p_q[SP_QCAP];	/* (L) ring of queued calls */
	uint64_t p_head, p_tail;	/* (L) */
	uint64_t p_done;		/* (L) calls completed */
	unsigned p_wsleepers;		/* (L) workers asleep or about to */
	bool p_waiter;			/* (L) the submitter sleeps */
	uint64_t p_target;		/* (L) p_done the submitter waits for */
	bool p_stop;			/* (L) */
	int p_efd_work, p_efd_done;
	uint64_t p_spin_ns;		/* constant */
	int p_nworkers;
	pthread_t *p_tid;
	unsigned *p_pu;
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t p_qlen_hint;
	_Alignas(LWKT_CACHELINE) _Atomic uint64_t p_done_hint;
	_Atomic uint64_t p_wakeups;
};

static void
efd_wake(struct bl_syspool *p, int fd)
{
	uint64_t one = 1;
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
		;
	atomic_fetch_add_explicit(&p->p_wakeups, 1, memory_order_relaxed);
}

static void
efd_sleep(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
		;
}

struct sp_arg {
	struct bl_syspool *a_p;
	int a_i;
};

static void *
sp_worker(void *arg)
{
	struct sp_arg *a = arg;
	struct bl_syspool *p = a->a_p;
	if (p->p_pu != NULL) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(p->p_pu[a->a_i], &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	free(a);
	struct bl_call *grab[SP_GRAB];
	pthread_mutex_lock(&p->p_lock);
	for (;;) {
		while (p->p_head == p->p_tail && !p->p_stop) {
			pthread_mutex_unlock(&p->p_lock);
			uint64_t t0 = p->p_spin_ns ? now_ns() : 0;
			while (p->p_spin_ns &&
			       atomic_load_explicit(&p->p_qlen_hint,
						    memory_order_relaxed) == 0 &&
			       now_ns() - t0 < p->p_spin_ns)
				lwkt_cpu_relax();
			pthread_mutex_lock(&p->p_lock);
			if (p->p_head != p->p_tail || p->p_stop)
				break;
			p->p_wsleepers++;
			pthread_mutex_unlock(&p->p_lock);
			efd_sleep(p->p_efd_work);
			pthread_mutex_lock(&p->p_lock);
			p->p_wsleepers--;
		}
		if (p->p_head == p->p_tail && p->p_stop)
			break;
		int k = 0;
		while (k < SP_GRAB && p->p_head != p->p_tail)
			grab[k++] = p->p_q[p->p_head++ & (SP_QCAP - 1)];
		atomic_store_explicit(&p->p_qlen_hint, p->p_tail - p->p_head,
				      memory_order_relaxed);
		pthread_mutex_unlock(&p->p_lock);
		for (int i = 0; i < k; i++)
			bl_call_do(grab[i]);
		pthread_mutex_lock(&p->p_lock);
		p->p_done += (uint64_t)k;
		atomic_store_explicit(&p->p_done_hint, p->p_done,
				      memory_order_relaxed);
		bool wake = p->p_waiter && p->p_done >= p->p_target;
		if (wake)
			p->p_waiter = false;
		if (wake) {
			pthread_mutex_unlock(&p->p_lock);
			efd_wake(p, p->p_efd_done);
			pthread_mutex_lock(&p->p_lock);
		}
	}
	pthread_mutex_unlock(&p->p_lock);
	return NULL;
}

int
bl_syspool_start(struct bl_syspool **out, int workers, const unsigned *pus,
		 uint64_t spin_ns)
{
	if (out == NULL || workers <= 0)
		return EINVAL;
	struct bl_syspool *p = aligned_alloc(LWKT_CACHELINE,
		(sizeof *p + LWKT_CACHELINE - 1) & ~(size_t)(LWKT_CACHELINE - 1));
	if (p == NULL)
		return ENOMEM;
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->p_lock, NULL);
	p->p_spin_ns = spin_ns;
	/* Semaphore: each write lets one worker through (stop wakes all). */
	p->p_efd_work = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	p->p_efd_done = eventfd(0, EFD_CLOEXEC);
	p->p_tid = calloc((size_t)workers, sizeof *p->p_tid);
	if (pus != NULL) {
		p->p_pu = calloc((size_t)workers, sizeof *p->p_pu);
		if (p->p_pu != NULL)
			memcpy(p->p_pu, pus, (size_t)workers * sizeof *pus);
	}
	int e = 0;
	if (p->p_efd_work < 0 || p->p_efd_done < 0)
		e = errno;
	else if (p->p_tid == NULL || (pus != NULL && p->p_pu == NULL))
		e = ENOMEM;
	for (int i = 0; e == 0 && i < workers; i++) {
		struct sp_arg *a = malloc(sizeof *a);
		if (a == NULL) {
			e = ENOMEM;
			break;
		}
		a->a_p = p;
		a->a_i = i;
		if ((e = pthread_create(&p->p_tid[i], NULL, sp_worker, a)) != 0)
			free(a);
		else
			p->p_nworkers++;
	}
	if (e != 0) {
		bl_syspool_stop(p);
		return e;
	}
	*out = p;
	return 0;
}

void
bl_syspool_run(struct bl_syspool *p, struct bl_call *calls, int n)
{
	for (int done = 0; done < n;) {
		int k = n - done;
		pthread_mutex_lock(&p->p_lock);
		if (k > (int)(SP_QCAP - (p->p_tail - p->p_head)))
			k = (int)(SP_QCAP - (p->p_tail - p->p_head));
		for (int i = 0; i < k; i++)
			p->p_q[p->p_tail++ & (SP_QCAP - 1)] = &calls[done + i];
		atomic_store_explicit(&p->p_qlen_hint, p->p_tail - p->p_head,
				      memory_order_relaxed);
		uint64_t target = p->p_done + (p->p_tail - p->p_head);
		bool wake = p->p_wsleepers > 0;
		pthread_mutex_unlock(&p->p_lock);
		if (wake)
			efd_wake(p, p->p_efd_work);
		done += k;
		/* Wait for everything queued so far. */
		uint64_t t0 = p->p_spin_ns ? now_ns() : 0;
		while (p->p_spin_ns &&
		       atomic_load_explicit(&p->p_done_hint,
					    memory_order_relaxed) < target &&
		       now_ns() - t0 < p->p_spin_ns)
			lwkt_cpu_relax();
		pthread_mutex_lock(&p->p_lock);
		while (p->p_done < target) {
			p->p_waiter = true;
			p->p_target = target;
			pthread_mutex_unlock(&p->p_lock);
			efd_sleep(p->p_efd_done);
			pthread_mutex_lock(&p->p_lock);
		}
		pthread_mutex_unlock(&p->p_lock);
	}
}

uint64_t
bl_syspool_wakeups(struct bl_syspool *p)
{
	return atomic_load_explicit(&p->p_wakeups, memory_order_relaxed);
}

void
bl_syspool_stop(struct bl_syspool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->p_lock);
	p->p_stop = true;
	pthread_mutex_unlock(&p->p_lock);
	for (int i = 0; i < p->p_nworkers; i++)
		efd_wake(p, p->p_efd_work);
	for (int i = 0; i < p->p_nworkers; i++)
		pthread_join(p->p_tid[i], NULL);
	if (p->p_efd_work >= 0)
		close(p->p_efd_work);
	if (p->p_efd_done >= 0)
		close(p->p_efd_done);
	pthread_mutex_destroy(&p->p_lock);
	free(p->p_tid);
	free(p->p_pu);
	free(p);
}
