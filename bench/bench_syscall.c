/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_syscall.c - system calls made here against system calls sent
 * elsewhere (the seed question of Dillon's 2003 "K42 OS" post: when does
 * sending the call to another cpu win over making it here?).
 *
 *   syscall/direct/<call>                 the call, on the caller's cpu
 *   syscall/sysmsg_local/<call>           lwkt_domsg to a syscall service
 *                                         on the caller's cpu (two thread
 *                                         switches); /batch:N: a client
 *                                         with N calls in flight
 *   syscall/sysmsg_remote/<call>[/batch:N] the service on the other cpu
 *                                         (FlexSC-style offload)
 *   syscall/io_uring/<call>/batch:N       liburing: N SQEs, one
 *                                         io_uring_submit_and_wait
 *   syscall/io_uring_sqpoll/<call>/batch:N the same with SQPOLL, the poller
 *                                         on the other cpu; the caller polls
 *                                         the CQ ring (no system call)
 *   syscall/workpool_eventfd/<call>/batch:N  one worker thread on the other
 *                                         cpu, fed by a mutex-protected
 *                                         queue, both sides sleeping on
 *                                         eventfds (Seastar's
 *                                         syscall_work_queue shape)
 *   syscall/workpool_eventfd_spin/...     the same, both sides polling
 *                                         50 us before they sleep
 *
 * Calls: null (getppid; IORING_OP_NOP for io_uring), pread (4 KiB at a
 * random page of a 1 MiB file in the page cache), pread64k (64 KiB),
 * pipe (a 64-byte write then a 64-byte read of one pipe: two calls; in a
 * batch, the N writes go first).  One iteration is one call (pipe: one
 * pair); items are system calls.  Every result is checked.
 *
 * Counters: caller_ns = time per call the CALLER's cpu spent on it — what
 * it could not give to other work.  Host threads (direct, io_uring,
 * workpool): the caller thread's CPU time.  LWKT (sysmsg_*): the caller's
 * cpu also runs a filler thread at the lowest priority (the "other
 * threads" of the offload scenario) whose rate alone was measured first;
 * caller_ns = (wall time - filler work / filler rate) / calls.  Offload
 * pays when caller_ns of the offload is below the direct call's time and
 * the caller has other work (bench/README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "syscalls.h"
#include "bench_lwkt.h"
#include "lwkt/arch.h"
#include "lwkt/sysmsg.h"

#define SC_FILE_SIZE (1u << 20)
#define SC_MAXBATCH 64
#define SC_PIPE_LEN 64
#define SPIN_FOREVER 1000000000	/* ns */

enum sc_call { SC_NULL, SC_PREAD, SC_PREAD64K, SC_PIPE };
enum sc_mech {
	SC_DIRECT, SC_SYSMSG_LOCAL, SC_SYSMSG_REMOTE, SC_URING,
	SC_URING_SQPOLL, SC_POOL, SC_POOL_SPIN
};

struct sc {
	gbench_state *st;
	enum sc_call call;
	enum sc_mech mech;
	int batch;			/* 0: synchronous, one call at a time */
	int fd;				/* the file */
	int pfd[2];			/* the pipe */
	pid_t ppid;
	uint64_t rng;
	char *buf;			/* SC_MAXBATCH x 64 KiB */
	char wbuf[SC_PIPE_LEN];
	uint64_t calls;			/* system calls made in the loop */
	uint64_t bad;			/* results not as expected */
	char badmsg[128];
	double caller_ns;		/* caller's cpu time, whole loop */
	/* LWKT filler */
	_Atomic uint64_t f_loops;
	_Atomic int f_stop, f_ready;
	double f_rate;			/* loops per ns, alone */
	struct sysmsg_service *svc;
};

static size_t
call_len(enum sc_call c)
{
	return c == SC_PREAD64K ? 65536 : c == SC_PREAD ? 4096 : SC_PIPE_LEN;
}

static off_t
next_off(struct sc *s)
{
	uint64_t x = s->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	size_t len = call_len(s->call);
	return (off_t)((x % (SC_FILE_SIZE / len)) * len);
}

/* The i-th call of a batch of pairs/calls into a bl_call (pipe: first
 * half writes, second half reads). */
static void
fill(struct sc *s, struct bl_call *c, int i, int n)
{
	memset(c, 0, sizeof *c);
	switch (s->call) {
	case SC_NULL:
		c->c_call = BL_CALL_NULL;
		break;
	case SC_PREAD:
	case SC_PREAD64K:
		c->c_call = BL_CALL_PREAD;
		c->c_fd = s->fd;
		c->c_len = call_len(s->call);
		c->c_buf = s->buf + (size_t)i * 65536;
		c->c_off = next_off(s);
		break;
	case SC_PIPE:
		if (i < n) {
			c->c_call = BL_CALL_WRITE;
			c->c_fd = s->pfd[1];
			c->c_buf = s->wbuf;
		} else {
			c->c_call = BL_CALL_READ;
			c->c_fd = s->pfd[0];
			c->c_buf = s->buf + (size_t)(i - n) * 65536;
		}
		c->c_len = SC_PIPE_LEN;
		break;
	}
}

static void
check(struct sc *s, int64_t result, int err, uint32_t call)
{
	/* io_uring's null call is IORING_OP_NOP: it returns 0. */
	bool nop = s->mech == SC_URING || s->mech == SC_URING_SQPOLL;
	int64_t want = call == BL_CALL_NULL ? (nop ? 0 : s->ppid)
		     : (int64_t)call_len(s->call);
	if (result == want)
		return;
	if (s->bad++ == 0)
		snprintf(s->badmsg, sizeof s->badmsg, "a call returned %lld "
			 "(errno %d), expected %lld", (long long)result, err,
			 (long long)want);
}

static double
thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Calls per iteration: a pipe iteration is a write and a read. */
static int
per_iter(const struct sc *s)
{
	return s->call == SC_PIPE ? 2 : 1;
}

/* ---------------------------------------------------------------------- */
/* host-thread mechanisms: direct, io_uring, worker pool */

static void
run_host(struct sc *s)
{
	gbench_state *st = s->st;
	struct bl_uring *u = NULL;
	struct bl_syspool *pool = NULL;
	char why[160] = "";
	int k = per_iter(s);

	if (s->mech != SC_DIRECT && !bench_need_two_cpus(st))
		return;
	if (s->mech == SC_URING || s->mech == SC_URING_SQPOLL) {
		int e = bl_uring_init(&u, 2 * SC_MAXBATCH,
				      s->mech == SC_URING_SQPOLL
				      ? (int)bench_cpu[1] : -1,
				      why, sizeof why);
		if (e != 0) {
			char msg[200];
			snprintf(msg, sizeof msg, "SKIPPED: %s", why);
			gbench_skip_with_error(st, msg);
			return;
		}
	} else if (s->mech == SC_POOL || s->mech == SC_POOL_SPIN) {
		if (bl_syspool_start(&pool, 1, &bench_cpu[1],
				     s->mech == SC_POOL_SPIN ? 50000 : 0) != 0) {
			gbench_skip_with_error(st, "worker pool start failed");
			return;
		}
	}
	int n = s->batch > 0 ? s->batch : 1;
	struct bl_call calls[2 * SC_MAXBATCH];
	int fillc = 0;
	double c0 = thread_cpu_ns();
	GBENCH_LOOP(st) {
		if (s->mech == SC_DIRECT) {
			for (int j = 0; j < k; j++) {
				fill(s, &calls[0], j, 1);
				bl_call_do(&calls[0]);
				check(s, calls[0].c_result, calls[0].c_error,
				      (uint32_t)calls[0].c_call);
			}
			continue;
		}
		fillc++;
		if (fillc < n)
			continue;
		/* a full batch: n iterations = n calls (pipe: n pairs) */
		int m = n * k;
		for (int j = 0; j < m; j++)
			fill(s, &calls[j], j, n);
		if (u != NULL) {
			int e = bl_uring_run(u, calls, m);
			if (e != 0 && s->bad++ == 0)
				snprintf(s->badmsg, sizeof s->badmsg,
					 "io_uring submit: %s", strerror(e));
		} else {
			bl_syspool_run(pool, calls, m);
		}
		for (int j = 0; j < m; j++)
			check(s, calls[j].c_result, calls[j].c_error,
			      (uint32_t)calls[j].c_call);
		fillc = 0;
	}
	/* a partial batch at the end (outside the timed loop: its calls
	 * are not counted as items) */
	s->caller_ns = thread_cpu_ns() - c0;
	int64_t iters = gbench_iterations_done(st);
	s->calls = (uint64_t)(iters - (s->mech == SC_DIRECT ? 0 : fillc)) *
		   (uint64_t)k;
	bl_uring_exit(u);
	if (pool != NULL)
		bl_syspool_stop(pool);
}

/* ---------------------------------------------------------------------- */
/* LWKT: the syscall service, with a filler on the caller's cpu */

static void
filler_main(void *arg)
{
	struct sc *s = arg;
	uint64_t x = 88172645463325252ull, loops = 0;
	/* Alone first (the caller is not created yet): our rate. */
	uint64_t t0 = lwkt_now_ns();
	while (lwkt_now_ns() - t0 < 5000000) {
		for (int i = 0; i < 32; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		loops++;
		lwkt_yield();
	}
	s->f_rate = (double)loops / (double)(lwkt_now_ns() - t0);
	atomic_store(&s->f_ready, 1);
	loops = 0;
	while (!atomic_load_explicit(&s->f_stop, memory_order_relaxed)) {
		for (int i = 0; i < 32; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		atomic_store_explicit(&s->f_loops, ++loops,
				      memory_order_relaxed);
		lwkt_yield();
	}
	GBENCH_KEEP(x);
}

static void
lwkt_client(void *arg)
{
	struct sc *s = arg;
	gbench_state *st = s->st;
	int k = per_iter(s);
	int n = s->batch;
	struct sysmsg_client *cl = NULL;
	if (n > 0 && (cl = sysmsg_client_create(2 * n)) == NULL)
		return;
	struct bl_call c;
	int fillc = 0;
	uint64_t l0 = atomic_load_explicit(&s->f_loops, memory_order_relaxed);
	uint64_t t0 = lwkt_now_ns();
	GBENCH_LOOP(st) {
		if (n == 0) {
			for (int j = 0; j < k; j++) {
				struct sysmsg sm;
				fill(s, &c, j, 1);
				sysmsg_prep(&sm, (uint32_t)c.c_call, c.c_fd,
					    c.c_buf, c.c_len, c.c_off);
				int e = sysmsg_domsg(s->svc, &sm);
				check(s, sm.sm_result, e, sm.sm_call);
			}
			continue;
		}
		if (++fillc < n)
			continue;
		int m = n * k;
		for (int j = 0; j < m; j++) {
			struct sysmsg *sm = sysmsg_client_msg(cl, j);
			fill(s, &c, j, n);
			sysmsg_prep(sm, (uint32_t)c.c_call, c.c_fd, c.c_buf,
				    c.c_len, c.c_off);
			sysmsg_client_send(cl, s->svc, sm);
		}
		struct sysmsg *sm;
		while ((sm = sysmsg_client_wait(cl)) != NULL)
			check(s, sm->sm_result, sm->sm_lmsg.ms_error,
			      sm->sm_call);
		fillc = 0;
	}
	double wall = (double)(lwkt_now_ns() - t0);
	uint64_t loops = atomic_load_explicit(&s->f_loops,
					      memory_order_relaxed) - l0;
	s->caller_ns = wall - (double)loops / s->f_rate;
	if (s->caller_ns < 0)
		s->caller_ns = 0;
	int64_t iters = gbench_iterations_done(st);
	s->calls = (uint64_t)(iters - (n > 0 ? fillc : 0)) * (uint64_t)k;
	sysmsg_client_destroy(cl);
}

static void
run_lwkt(struct sc *s)
{
	gbench_state *st = s->st;
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = SPIN_FOREVER;
	if (!bench_lwkt_start(st, &cfg))
		return;
	int scpu = s->mech == SC_SYSMSG_LOCAL ? 0 : 1;
	lwkt_thread_t ft, ct;
	if (sysmsg_service_start(scpu, &s->svc) != 0 ||
	    lwkt_create_pri(filler_main, s, 0, 0, LWKT_PRI_MIN, &ft,
			    "filler") != 0) {
		gbench_skip_with_error(st, "service or filler start failed");
		lwkt_shutdown();
		return;
	}
	while (!atomic_load(&s->f_ready)) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	if (lwkt_create(lwkt_client, s, 0, 0, &ct, "client") != 0) {
		gbench_skip_with_error(st, "client start failed");
	} else {
		lwkt_join(ct);
	}
	atomic_store(&s->f_stop, 1);
	lwkt_join(ft);
	sysmsg_service_stop(s->svc);
	bench_lwkt_stop(st);
}

/* ---------------------------------------------------------------------- */

static void
run(gbench_state *st, enum sc_mech mech, enum sc_call call, bool batched)
{
	static struct sc s;
	memset(&s, 0, sizeof s);
	s.st = st;
	s.mech = mech;
	s.call = call;
	s.ppid = getppid();
	s.rng = 0x9e3779b97f4a7c15ull;
	s.fd = -1;
	s.pfd[0] = s.pfd[1] = -1;
	if (batched)
		s.batch = (int)gbench_range_x(st, 0);
	if (batched ? s.batch < 1 || s.batch > SC_MAXBATCH
		    : mech != SC_DIRECT && mech != SC_SYSMSG_LOCAL &&
		      mech != SC_SYSMSG_REMOTE) {
		gbench_skip_with_error(st, "batch out of range");
		return;
	}
	s.buf = aligned_alloc(4096, (size_t)SC_MAXBATCH * 65536);
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[256];
	snprintf(path, sizeof path, "%s/lwkt-bench-syscall-XXXXXX", dir);
	s.fd = mkstemp(path);
	bool ok = s.buf != NULL && s.fd >= 0 && pipe(s.pfd) == 0;
	if (s.fd >= 0) {
		unlink(path);
		/* Written and read once: the benchmark reads the page cache. */
		for (size_t o = 0; ok && o < SC_FILE_SIZE; o += 65536) {
			memset(s.buf, (int)(o >> 16), 65536);
			ok = pwrite(s.fd, s.buf, 65536, (off_t)o) == 65536 &&
			     pread(s.fd, s.buf, 65536, (off_t)o) == 65536;
		}
	}
	memset(s.wbuf, 'w', sizeof s.wbuf);
	if (!ok) {
		char msg[160];
		snprintf(msg, sizeof msg, "setup failed (file in %s, pipe, "
			 "buffers): %s", dir, strerror(errno));
		gbench_skip_with_error(st, msg);
	} else if (mech == SC_SYSMSG_LOCAL || mech == SC_SYSMSG_REMOTE) {
		run_lwkt(&s);
	} else {
		run_host(&s);
	}
	if (s.fd >= 0)
		close(s.fd);
	if (s.pfd[0] >= 0) {
		close(s.pfd[0]);
		close(s.pfd[1]);
	}
	free(s.buf);
	if (!ok)
		return;
	if (s.bad != 0) {
		gbench_skip_with_error(st, s.badmsg);
		return;
	}
	gbench_set_items_processed(st, (int64_t)s.calls);
	if (s.calls > 0)
		gbench_counter(st, "caller_ns", s.caller_ns / (double)s.calls,
			       GBENCH_CTR_DEFAULT);
}

#define SC_FN(m, c, b, tag)						\
	static void bm_##tag##m##_##c(gbench_state *st) { run(st, m, c, b); }
#define SC_ALL3(m, b, tag)						\
	SC_FN(m, SC_NULL, b, tag) SC_FN(m, SC_PREAD, b, tag)		\
	SC_FN(m, SC_PREAD64K, b, tag)
#define SC_ALL(m, b, tag) SC_ALL3(m, b, tag) SC_FN(m, SC_PIPE, b, tag)
SC_ALL(SC_DIRECT, false, s_)
SC_ALL(SC_SYSMSG_LOCAL, false, s_)
SC_ALL(SC_SYSMSG_REMOTE, false, s_)
SC_ALL3(SC_SYSMSG_REMOTE, true, b_)
SC_ALL3(SC_URING, true, b_)
SC_ALL3(SC_URING_SQPOLL, true, b_)
SC_ALL3(SC_POOL, true, b_)
SC_ALL3(SC_POOL_SPIN, true, b_)

/* make run's quick profile (the bench matrix) runs all of these: keep
 * the list short - three calls (null, pread, pread64k; pipe for the
 * direct call and the synchronous service only), batch 16 for the
 * asynchronous forms and batch 1 where it is the mechanism's only
 * synchronous form. */
#define SC_SYNC(f) gbench_use_real_time(f)
#define SC_BATCH(f)							\
	gbench_use_real_time(f); gbench_arg_name(f, "batch");		\
	gbench_arg(f, 1); gbench_arg(f, 16)
#define SC_BATCH16(f)							\
	gbench_use_real_time(f); gbench_arg_name(f, "batch");		\
	gbench_arg(f, 16)

#define SC_REG3(tag, m, name, shape)					\
	GBENCH_REGISTER(bm_##tag##m##_SC_NULL, "syscall/" name "/null",	\
			shape(f));					\
	GBENCH_REGISTER(bm_##tag##m##_SC_PREAD, "syscall/" name "/pread", \
			shape(f));					\
	GBENCH_REGISTER(bm_##tag##m##_SC_PREAD64K,			\
			"syscall/" name "/pread64k", shape(f))
#define SC_REG(tag, m, name, shape)					\
	SC_REG3(tag, m, name, shape);					\
	GBENCH_REGISTER(bm_##tag##m##_SC_PIPE, "syscall/" name "/pipe",	\
			shape(f))

SC_REG(s_, SC_DIRECT, "direct", SC_SYNC);
SC_REG(s_, SC_SYSMSG_LOCAL, "sysmsg_local", SC_SYNC);
SC_REG(s_, SC_SYSMSG_REMOTE, "sysmsg_remote", SC_SYNC);
SC_REG3(b_, SC_SYSMSG_REMOTE, "sysmsg_remote", SC_BATCH16);
SC_REG3(b_, SC_URING, "io_uring", SC_BATCH);
SC_REG3(b_, SC_URING_SQPOLL, "io_uring_sqpoll", SC_BATCH16);
SC_REG3(b_, SC_POOL, "workpool_eventfd", SC_BATCH);
SC_REG3(b_, SC_POOL_SPIN, "workpool_eventfd_spin", SC_BATCH16);
