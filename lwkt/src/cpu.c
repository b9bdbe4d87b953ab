/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cpu.c - LWKT cpus: start-up on hwloc-bound host pthreads, the idle loop
 * (poll, spin a bounded time, then sleep on the idle futex word),
 * statistics, shutdown; the per-cpu TLS pointer and lwkt_panic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lwkt/token.h"
#include "lwkt/topo.h"
#include "lwkt_priv.h"
#include "lwkt_trace.h"

struct lwkt_runtime *lwkt_rt;

__thread struct lwkt_cpu *lwkt_tls_gd __attribute__((tls_model("initial-exec")));

void
lwkt_panic(const char *fmt, ...)
{
	va_list ap;
	struct lwkt_cpu *gd = mycpu();

	fflush(stdout);
	fprintf(stderr, "lwkt panic: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (gd != NULL)
		fprintf(stderr, " [cpu %d, thread '%s' id %llu]", gd->gd_cpuid,
			gd->gd_curthread->td_name,
			(unsigned long long)gd->gd_curthread->td_id);
	else
		fprintf(stderr, " [not an LWKT thread]");
	fputc('\n', stderr);
	abort();
}

void
_lwkt_not_lwkt(const char *fn)
{
	lwkt_panic("%s() called from a thread that is not an LWKT thread "
		   "(see lwkt/cpu.h for the calls allowed there)", fn);
}

uint64_t
lwkt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
lwkt_config_default(struct lwkt_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->lc_cpus = "all";
	cfg->lc_ipiq_size = 256;
	cfg->lc_idle_spin_ns = LWKT_IDLE_SPIN_DEFAULT;
	cfg->lc_fence = LWKT_FENCE_ASYMMETRIC;
	cfg->lc_stack_size = 256 * 1024;
}

static int
membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

/* ---------------------------------------------------------------------- */
/* the idle loop */

/*
 * The sleeper half of the asymmetric Dekker (sender half: ipiq.c,
 * _lwkt_wake_cpu).  Store gd_idle = 1, then membarrier: every other thread
 * of the process executes a full barrier, so a sender's slot store that
 * preceded its gd_idle load is visible to our re-check below — or its
 * load comes after our store and sees 1.  The symmetric mode uses a
 * seq_cst fence on both sides instead.
 */
static void
idle_sleep(struct lwkt_cpu *gd)
{
	/* Nothing may stay held while we sleep (the loop's poll flushed
	 * already; this keeps it true whatever runs in between). */
	_lwkt_ipiq_flush_held(gd);
	atomic_store_explicit(&gd->gd_idle, 1, memory_order_seq_cst);
	if (lwkt_rt->rt_fence == LWKT_FENCE_ASYMMETRIC)
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	else
		lwkt_fence_seq_cst();
	/* The run queue too: anything that made a thread runnable since
	 * the idle loop chose none (belt and braces: the loop's critical
	 * section already keeps the hard-IPI handler out). */
	if (_lwkt_work_pending(gd) || gd->gd_rqmask != 0 ||
	    gd->gd_stopping) {
		atomic_store_explicit(&gd->gd_idle, 0, memory_order_relaxed);
		return;
	}
	lwkt_stat_inc(&gd->gd_st_idle_sleeps);
	LWKT_TRACE(idle_sleep, gd->gd_cpuid);
	/* Returns at once if a sender already flipped gd_idle to 0. */
	while (atomic_load_explicit(&gd->gd_idle, memory_order_relaxed) == 1)
		_lwkt_futex(&gd->gd_idle, FUTEX_WAIT_PRIVATE, 1);
}

/*
 * The idle loop runs in a critical section from start to end: it polls
 * its rings itself, so a hard-IPI signal that lands here (senders signal
 * the thread they last saw running, and it may just have blocked) leaves
 * its IPIs in the ring, where the pre-sleep re-check sees them.  With the
 * count dropped between "no thread to run" and the sleep, the handler ran
 * such an IPI, made a thread runnable, and the cpu slept anyway: a lost
 * wake-up (lwkt/model/idle_hard.pml has both versions).
 */
void
_lwkt_cpu_idle_loop(struct lwkt_cpu *gd)
{
	struct lwkt_thread *idle = &gd->gd_idlethread;
	uint64_t idle_since = 0;	/* 0: not idling */

	_lwkt_crit_enter(idle);
	for (;;) {
		int n = _lwkt_ipiq_process(gd) + _lwkt_inbox_process(gd);
		struct lwkt_thread *next = _lwkt_choose(gd);
		if (next != NULL) {
			if (idle_since) {
				LWKT_TRACE(idle_exit, gd->gd_cpuid);
				idle_since = 0;
			}
			_lwkt_switch_to(gd, next);
			continue;
		}
		if (gd->gd_stopping && gd->gd_nthreads == 0)
			break;
		if (n != 0)
			continue;
		uint64_t now = lwkt_now_ns();
		if (idle_since == 0) {
			idle_since = now;
			LWKT_TRACE(idle_enter, gd->gd_cpuid);
		}
		if ((int64_t)(now - idle_since) < lwkt_rt->rt_idle_spin_ns) {
			/* Poll the rings; read the clock (~25 ns) only every
			 * 256 polls, so an arrival is seen within one poll. */
			for (int i = 0; i < 256 && !_lwkt_work_pending(gd); i++)
				lwkt_cpu_relax();
			continue;
		}
		idle_sleep(gd);
		idle_since = lwkt_now_ns();	/* spin again after a wake */
	}
	/* The cpu stops: no thread is left, and the rings are drained
	 * (no IPI is sent after lwkt_shutdown saw every thread reaped). */
	_lwkt_crit_exit_noyield(idle);
}

/* ---------------------------------------------------------------------- */
/* start-up and shutdown */

struct cpu_start {
	struct lwkt_cpu *cs_gd;
	/* 0 running, >0 errno; written by the cpu, read by lwkt_init after
	 * cs_done (futex word, release/acquire). */
	int cs_err;
	_Atomic uint32_t cs_done;
};

static void *
cpu_main(void *arg)
{
	struct cpu_start *cs = arg;
	struct lwkt_cpu *gd = cs->cs_gd;

	int e = lwkt_topo_bind_self(gd->gd_pu);
	cs->cs_err = e;
	gd->gd_host_tid = (pid_t)syscall(SYS_gettid);
	/* release: cs_err and gd_host_tid to lwkt_init's acquire. */
	atomic_store_explicit(&cs->cs_done, 1, memory_order_release);
	_lwkt_futex(&cs->cs_done, FUTEX_WAKE_PRIVATE, 1);
	if (e != 0)
		return NULL;
	lwkt_tls_gd = gd;
	/* Token list for inline code: none in the idle loop (thread.c
	 * stores each thread's at its switch). */
	_lwkt_tls_tok.tt_ts = NULL;
	_lwkt_tls_tok.tt_cpuid = gd->gd_cpuid;
	_lwkt_thread_init_idle(gd);
	_lwkt_cpu_idle_loop(gd);
	_lwkt_tls_tok.tt_ts = NULL;
	lwkt_tls_gd = NULL;
	return NULL;
}

static void
stop_ipi(void *arg, void *unused)
{
	(void)arg, (void)unused;
	mycpu()->gd_stopping = true;
}

static void
runtime_free(struct lwkt_runtime *rt)
{
	_lwkt_ipiq_free(rt);
	for (int c = 0; c < rt->rt_ncpus; c++) {
		struct lwkt_cpu *gd = rt->rt_cpu[c];
		if (gd == NULL)
			continue;
		_lwkt_inbox_fini(gd);
		_lwkt_msg_value_fini(gd);
		free(gd);
	}
	pthread_mutex_destroy(&rt->rt_threads_lock);
	free(rt);
}

/* Stops and joins the first `started` cpus. */
static void
stop_cpus(struct lwkt_runtime *rt, int started)
{
	for (int c = 0; c < started; c++)
		_lwkt_inbox_push(rt->rt_cpu[c], stop_ipi, NULL, NULL);
	for (int c = 0; c < started; c++)
		pthread_join(rt->rt_cpu[c]->gd_pthread, NULL);
}

static int
init_error(int e, const char *fmt, const char *arg)
{
	fprintf(stderr, "lwkt_init: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return e;
}

int
lwkt_init(const struct lwkt_config *cfg_in)
{
	struct lwkt_config cfg;
	char err[256];
	unsigned pus[LWKT_MAXCPU], n;

	if (lwkt_rt != NULL)
		return init_error(EBUSY, "%s", "already started");
	if (mycpu() != NULL)
		return init_error(EINVAL, "%s", "called from an LWKT thread");
	if (cfg_in)
		cfg = *cfg_in;
	else
		lwkt_config_default(&cfg);
	const char *spec = getenv("LWKT_CPUS");
	const char *src = "LWKT_CPUS";
	if (spec == NULL || *spec == '\0') {
		spec = cfg.lc_cpus ? cfg.lc_cpus : "all";
		src = "config";
	}
	if (lwkt_topo_parse(spec, pus, LWKT_MAXCPU, &n, err, sizeof err)) {
		fprintf(stderr, "lwkt_init: %s: %s\n", src, err);
		return EINVAL;
	}
	unsigned qs = cfg.lc_ipiq_size ? cfg.lc_ipiq_size : 256;
	if (qs < 2 || (qs & (qs - 1)) != 0 || qs > (1u << 20))
		return init_error(EINVAL, "%s", "lc_ipiq_size must be a power "
				  "of two between 2 and 2^20");

	/* Waiters' PAUSE policy: config, then LWKT_POLL_PAUSE. */
	long pp = cfg.lc_poll_pause;
	const char *pe = getenv("LWKT_POLL_PAUSE");
	if (pe != NULL && *pe != '\0') {
		char *end;
		pp = strtol(pe, &end, 10);
		if (*end != '\0')
			return init_error(EINVAL, "LWKT_POLL_PAUSE=%s: not an "
					  "integer", pe);
	}
	unsigned poll_pause = pp == 0 ? LWKT_POLL_PAUSE_DEFAULT
			      : pp < 0 ? 0 : (unsigned)(pp > 1 << 30 ? 1 << 30
							: pp);

	/* Batching: config, then LWKT_IPI_BATCH; at most a ring. */
	unsigned long batch = cfg.lc_ipi_batch;
	const char *be = getenv("LWKT_IPI_BATCH");
	if (be != NULL && *be != '\0') {
		char *end;
		errno = 0;
		batch = strtoul(be, &end, 10);
		if (*end != '\0' || *be == '-' || errno != 0)
			return init_error(EINVAL, "LWKT_IPI_BATCH=%s: not a "
					  "count (0 = off)", be);
	}
	if (batch > qs)
		batch = qs;
	if (cfg.lc_hard_ipi)
		batch = 0;	/* the fast paths are off there */

	struct lwkt_runtime *rt = calloc(1, sizeof *rt);
	if (rt == NULL)
		return ENOMEM;
	rt->rt_ncpus = (int)n;
	rt->rt_ipiq_size = qs;
	rt->rt_idle_spin_ns = cfg.lc_idle_spin_ns < 0 ? LWKT_IDLE_SPIN_DEFAULT
						      : cfg.lc_idle_spin_ns;
	rt->rt_fence = cfg.lc_fence;
	rt->rt_hard_ipi = cfg.lc_hard_ipi;
	rt->rt_ipiq_watchdog_ns = cfg.lc_ipiq_watchdog_ms < 0 ? 0 :
		(int64_t)(cfg.lc_ipiq_watchdog_ms ? cfg.lc_ipiq_watchdog_ms :
			  LWKT_IPIQ_WATCHDOG_DEFAULT) * 1000000;
	rt->rt_stack_size = cfg.lc_stack_size ? cfg.lc_stack_size : 256 * 1024;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	rt->rt_stack_size = (rt->rt_stack_size + page - 1) & ~(page - 1);
	atomic_store(&rt->rt_next_tid, 1);
	pthread_mutex_init(&rt->rt_threads_lock, NULL);

	if (rt->rt_fence == LWKT_FENCE_ASYMMETRIC) {
		int q = membarrier(MEMBARRIER_CMD_QUERY);
		if (q < 0 || !(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
		    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)) {
			fprintf(stderr, "lwkt_init: notice: membarrier "
				"PRIVATE_EXPEDITED unavailable; idle wake-ups "
				"use a fence on both sides\n");
			rt->rt_fence = LWKT_FENCE_SYMMETRIC;
		}
	}
	int e = 0;
	for (unsigned c = 0; c < n; c++) {
		struct lwkt_cpu *gd = aligned_alloc(LWKT_CACHELINE,
			(sizeof *gd + LWKT_CACHELINE - 1) &
			~(size_t)(LWKT_CACHELINE - 1));
		if (gd == NULL) {
			e = ENOMEM;
			break;
		}
		memset(gd, 0, sizeof *gd);
		gd->gd_cpuid = (int)c;
		gd->gd_pu = pus[c];
		gd->gd_tok_inline = !rt->rt_hard_ipi;
		gd->gd_ipi_fast = !rt->rt_hard_ipi;
		gd->gd_fence_sym = rt->rt_fence == LWKT_FENCE_SYMMETRIC;
		gd->gd_ncpus = (int)n;
		gd->gd_poll_pause = poll_pause;
		gd->gd_ipi_batch = (unsigned)batch;
		_lwkt_inbox_init(gd);
		rt->rt_cpu[c] = gd;
	}
	if (e == 0)
		e = _lwkt_ipiq_alloc(rt);
	if (e != 0) {
		runtime_free(rt);
		return init_error(e, "%s", "out of memory");
	}
	/* SIGURG: hard IPIs, and the IPI watchdog's sniff in every mode. */
	_lwkt_ipiq_signal_init();
	lwkt_rt = rt;

	struct cpu_start cs[LWKT_MAXCPU];
	int started = 0;
	for (unsigned c = 0; c < n; c++) {
		cs[c].cs_gd = rt->rt_cpu[c];
		cs[c].cs_err = 0;
		atomic_store(&cs[c].cs_done, 0);
		e = pthread_create(&rt->rt_cpu[c]->gd_pthread, NULL, cpu_main,
				   &cs[c]);
		if (e != 0)
			break;
		started++;
		while (atomic_load_explicit(&cs[c].cs_done,
					    memory_order_acquire) == 0)
			_lwkt_futex(&cs[c].cs_done, FUTEX_WAIT_PRIVATE, 0);
		if ((e = cs[c].cs_err) != 0) {
			fprintf(stderr, "lwkt_init: cannot bind cpu %u to PU "
				"%u: %s\n", c, pus[c], strerror(e));
			break;
		}
		rt->rt_cpu[c]->gd_started = true;
	}
	if (e != 0) {
		stop_cpus(rt, started);
		lwkt_rt = NULL;
		runtime_free(rt);
		return e;
	}
	/* Ids (ipi_id...) restart with each runtime: the viz splits on it. */
	LWKT_TRACE(runtime_init, (uint32_t)n);
	return 0;
}

/* Names every thread lwkt_shutdown still waits for (name and id are
 * immutable after create; the list is under its lock). */
static void
warn_live_threads(struct lwkt_runtime *rt)
{
	pthread_mutex_lock(&rt->rt_threads_lock);
	fprintf(stderr, "lwkt_shutdown: still waiting for %d thread(s) to "
		"exit:", atomic_load(&rt->rt_live_threads));
	for (struct lwkt_thread *td = rt->rt_threads; td; td = td->td_allnext)
		fprintf(stderr, " '%s' (id %llu%s)", td->td_name,
			(unsigned long long)td->td_id,
			td->td_joinable ? "" : ", detached");
	fputc('\n', stderr);
	pthread_mutex_unlock(&rt->rt_threads_lock);
}

void
lwkt_shutdown(void)
{
	struct lwkt_runtime *rt = lwkt_rt;
	if (rt == NULL)
		return;
	if (mycpu() != NULL)
		lwkt_panic("lwkt_shutdown() called from an LWKT thread");
	LWKT_TRACE(runtime_shutdown, (uint32_t)rt->rt_ncpus);
	/* Every thread must have exited (and been reaped: the count drops
	 * after the reaper's last IPI), so no IPI is sent after this. */
	uint64_t t0 = lwkt_now_ns();
	bool warned = false;
	while (atomic_load_explicit(&rt->rt_live_threads,
				    memory_order_acquire) > 0) {
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
		if (!warned && lwkt_now_ns() - t0 > 5000000000ull) {
			warn_live_threads(rt);
			warned = true;
		}
	}
	stop_cpus(rt, rt->rt_ncpus);
	lwkt_rt = NULL;
	runtime_free(rt);
}

int
lwkt_ncpus(void)
{
	return lwkt_rt ? lwkt_rt->rt_ncpus : 0;
}

unsigned
lwkt_ipi_batch(void)
{
	/* Every cpu has the same (set at start, read-only after). */
	return lwkt_rt ? lwkt_rt->rt_cpu[0]->gd_ipi_batch : 0;
}

unsigned
lwkt_cpu_pu(int cpu)
{
	if (lwkt_rt == NULL || cpu < 0 || cpu >= lwkt_rt->rt_ncpus)
		return ~0u;
	return lwkt_rt->rt_cpu[cpu]->gd_pu;
}

/* Reads /proc/self/task/TID/NAME into buf (NUL-terminated); 0 or an
 * errno.  open/read: the IPI watchdog calls this from the SIGURG
 * handler's IPIs too. */
static int
read_task_file(pid_t tid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = read(fd, buf, size - 1);
	int e = n < 0 ? errno : 0;
	close(fd);
	if (n <= 0)
		return e ? e : EIO;
	buf[n] = '\0';
	return 0;
}

int
lwkt_cpu_host_sched(int cpu, struct lwkt_host_sched *hs)
{
	if (lwkt_rt == NULL || cpu < 0 || cpu >= lwkt_rt->rt_ncpus)
		return EINVAL;
	pid_t tid = lwkt_rt->rt_cpu[cpu]->gd_host_tid;
	/* schedstat: ns on a PU, ns waiting on a run queue, timeslices
	 * (Documentation/scheduler/sched-stats.rst). */
	char buf[512];
	int e = read_task_file(tid, "schedstat", buf, sizeof buf);
	if (e != 0)
		return e;
	char *end;
	errno = 0;
	unsigned long long r = strtoull(buf, &end, 10);
	unsigned long long w = strtoull(end, &end, 10);
	if (errno != 0 || end == buf)
		return EIO;
	/* stat: "pid (comm) state ...": the comm may hold ") ", so the
	 * state follows the last ')'. */
	if ((e = read_task_file(tid, "stat", buf, sizeof buf)) != 0)
		return e;
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return EIO;
	hs->hs_run_ns = r;
	hs->hs_wait_ns = w;
	hs->hs_state = p[2];
	return 0;
}

int
lwkt_mycpuid(void)
{
	struct lwkt_cpu *gd = mycpu();
	return gd ? gd->gd_cpuid : -1;
}

int
lwkt_stats(int cpu, struct lwkt_stats *out)
{
	if (lwkt_rt == NULL || cpu < 0 || cpu >= lwkt_rt->rt_ncpus)
		return EINVAL;
	struct lwkt_cpu *gd = lwkt_rt->rt_cpu[cpu];
#define LD(f) atomic_load_explicit(&gd->f, memory_order_relaxed)
	out->ls_ipis_sent = LD(gd_st_ipis_sent);
	out->ls_ipis_received = LD(gd_st_ipis_received);
	out->ls_wakeups_sent = LD(gd_st_wakeups_sent);
	out->ls_wakeups_avoided = LD(gd_st_wakeups_avoided);
	out->ls_signals_sent = LD(gd_st_signals_sent);
	out->ls_ringfull_waits = LD(gd_st_ringfull_waits);
	out->ls_idle_sleeps = LD(gd_st_idle_sleeps);
	out->ls_switches = LD(gd_st_switches);
#undef LD
	return 0;
}
