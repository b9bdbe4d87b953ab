/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cpu.h - LWKT cpus ("globaldata"): one host pthread per cpu, bound with
 * hwloc to one processing unit, each running its own scheduler of
 * lightweight threads and draining its own IPI rings.
 *
 * Calls allowed from a thread that is not an LWKT thread (main, a test
 * driver): lwkt_init, lwkt_shutdown, lwkt_ncpus, lwkt_cpu_pu, lwkt_stats,
 * lwkt_create, lwkt_join, lwkt_schedule, lwkt_send_ipiq*, lwkt_cpusync,
 * lwkt_wakeup.  They reach a cpu through its injection inbox (a mutex-
 * protected list: correct, not fast, not on any measured path).  Everything
 * else (crit_*, lwkt_yield, lwkt_switch, lwkt_sleep, lwkt_exit,
 * lwkt_migrate, lwkt_tsleep) needs an LWKT thread and aborts with a clear
 * message when called from outside one.
 */
#ifndef LWKT_CPU_H
#define LWKT_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a sender makes sure a target that went to sleep sees its IPI. */
enum lwkt_fence_mode {
	/* Sender: compiler barrier only.  Cpu going idle: membarrier
	 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED) before re-checking its rings.
	 * Falls back to LWKT_FENCE_SYMMETRIC, with a notice, when the
	 * kernel lacks membarrier. */
	LWKT_FENCE_ASYMMETRIC = 0,
	/* Both sides: a full fence (seq_cst). */
	LWKT_FENCE_SYMMETRIC = 1,
};

struct lwkt_config {
	/* Which PUs: a cpu list as in topo.h ("all", "count=N", "0,2-3").
	 * NULL means "all".  The LWKT_CPUS environment variable overrides. */
	const char *lc_cpus;
	/* Entries per (src,dst) IPI ring; a power of two >= 2.  0 = 256
	 * (DragonFly's MAXCPUFIFO). */
	unsigned lc_ipiq_size;
	/* How long an idle cpu polls before it sleeps on its futex, ns.
	 * 0 = sleep at once.  LWKT_IDLE_SPIN_DEFAULT if negative. */
	int64_t lc_idle_spin_ns;
	enum lwkt_fence_mode lc_fence;
	/* Hard IPI: signal (SIGURG) a target that is running a thread, so
	 * IPIs are handled without waiting for it to yield.  Handled only
	 * outside critical sections; IPI functions must then be safe to run
	 * from a signal handler (no malloc, no locks). */
	bool lc_hard_ipi;
	/* Polls a waiter (lwkt_domsg, lwkt_waitport, lwkt_waitmsg) makes
	 * without a PAUSE before it pauses between polls: 0 = the default
	 * (LWKT_POLL_PAUSE_DEFAULT), negative = PAUSE from the first poll.
	 * Without PAUSE the waiter sees an arrival one PAUSE (~25 ns on the
	 * reference EPYC) sooner; with it, it takes the awaited line away
	 * from its writer less often, which was seen to matter more when a
	 * cache-line transfer is slow (several hundred ns).  The
	 * LWKT_POLL_PAUSE environment variable (an integer) overrides. */
	int lc_poll_pause;
	/* Stack size of lightweight threads, bytes (0 = 256 KiB). */
	size_t lc_stack_size;
	/* IPI watchdog: a sender that waits on a full ring longer than this
	 * prints one warning on stderr (both cpus, the ring indices, the
	 * target's current thread and crit depth), and one line when the
	 * target drains.  0 = LWKT_IPIQ_WATCHDOG_DEFAULT; negative = off. */
	int lc_ipiq_watchdog_ms;
	/* Batching (0 = off, the default: every IPI is visible to its
	 * target when the send returns, as in DragonFly).  N > 0: an IPI
	 * sent by the inline fast path stays invisible to its target until
	 * the sending cpu next polls its own rings (any wait: lwkt_domsg,
	 * lwkt_waitport, lwkt_waitmsg, a token or serializer wait,
	 * lwkt_ipiq_poll) or switches threads, or until N entries wait on
	 * one ring; then the burst goes out with one release and one
	 * wake-up check.  Code that sends and then spins on a plain
	 * variable without polling must not run with batching.  Capped at
	 * the ring size; off with lc_hard_ipi.  The LWKT_IPI_BATCH
	 * environment variable (an integer) overrides. */
	unsigned lc_ipi_batch;
};

/* ns: a futex wake-up of a sleeping cpu cost ~40 us (p50) on the
 * reference 2-vCPU KVM guest, so a short spin saves most of them. */
#define LWKT_IDLE_SPIN_DEFAULT 50000
#define LWKT_IPIQ_WATCHDOG_DEFAULT 2000	/* ms */
#define LWKT_POLL_PAUSE_DEFAULT 64	/* polls */
#define LWKT_MAXCPU 64

/* Fills cfg with the defaults (all PUs, 256-entry rings, asymmetric). */
void lwkt_config_default(struct lwkt_config *cfg);

/*
 * Starts the cpus.  Returns 0, or an errno value with a one-line message
 * on stderr: EINVAL (bad cpu list, bad ring size), EBUSY (already
 * started), or what pthread_create/hwloc returned.  Nothing is left
 * running on failure.  Call from outside LWKT.
 */
int lwkt_init(const struct lwkt_config *cfg);

/* Stops every cpu after all its threads have exited, joins, frees. */
void lwkt_shutdown(void);

/* Number of cpus started (0 before lwkt_init). */
int lwkt_ncpus(void);

/* The batching limit in force: lc_ipi_batch after LWKT_IPI_BATCH, capped
 * at the ring size, 0 with hard IPIs (and before lwkt_init). */
unsigned lwkt_ipi_batch(void);

/* The host PU (OS index) that cpu runs on. */
unsigned lwkt_cpu_pu(int cpu);

/*
 * The host scheduler's account of cpu's host thread (Linux's
 * /proc/PID/task/TID/schedstat and stat), since the thread started.  A
 * cpu that makes no progress while its state is 'R' and its run time
 * stands still is starved by the host (a guest's vCPUs under load), not
 * blocked by the runtime, which would leave it asleep ('S').
 */
struct lwkt_host_sched {
	uint64_t hs_run_ns;	/* on a PU */
	uint64_t hs_wait_ns;	/* runnable on a run queue: the kernel adds a
				 * wait when it ends, so one under way does
				 * not show (look at hs_state) */
	char hs_state;		/* now: 'R' running or runnable, 'S' asleep,
				 * ... (proc(5), /proc/PID/stat field 3) */
};

/* Fills *hs for cpu.  0, or ENOENT (no schedstat: a kernel without
 * CONFIG_SCHED_INFO), EINVAL (no such cpu), EIO or an errno of the read.
 * Any thread may call it; it reads two files (not for fast paths). */
int lwkt_cpu_host_sched(int cpu, struct lwkt_host_sched *hs);

/* This cpu's index, or -1 outside an LWKT thread (or cpu context). */
int lwkt_mycpuid(void);

/* Per-cpu counters.  Each is written by its own cpu only; another thread
 * reads a recent value (relaxed), exact once the cpu is quiet. */
struct lwkt_stats {
	uint64_t ls_ipis_sent;		/* IPIs this cpu queued */
	uint64_t ls_ipis_received;	/* IPI functions this cpu ran */
	uint64_t ls_wakeups_sent;	/* FUTEX_WAKEs this cpu issued */
	uint64_t ls_wakeups_avoided;	/* sends that found the target awake */
	uint64_t ls_signals_sent;	/* hard IPIs (signals) this cpu sent */
	uint64_t ls_ringfull_waits;	/* sends that found a ring full */
	uint64_t ls_idle_sleeps;	/* times this cpu slept on its futex */
	uint64_t ls_switches;		/* thread switches on this cpu */
};
int lwkt_stats(int cpu, struct lwkt_stats *out);

/*
 * Writes to fd what every cpu is doing, for stall watchdogs: its current
 * thread and crit depth, run-queue length and thread count (each cpu
 * answers from its SIGURG handler, as the IPI watchdog's sniff; a cpu
 * that does not within timeout_ms, <= 0 meaning 1000, is said to), its
 * statistics, and each incoming IPI ring's read and write index.  Lines
 * start with "lwkt: dump: ".  A recent sample, nothing is stopped.  From
 * any thread, LWKT or not; 0, or EINVAL before lwkt_init.
 */
int lwkt_dump(int fd, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_CPU_H */
