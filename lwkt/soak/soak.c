/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak.c - lwkt-soak: a long, mixed workload over liblwkt's public API
 * that checks, all the time it runs, what the unit tests check once, in
 * the spirit of the Linux kernel's rcutorture (Documentation/RCU/
 * torture.rst): every message handled exactly once, tokens excluding,
 * no lost wake-up, no stall, and a histogram of message ages at the end.
 * This file: command line, storm, watchdog, main and the verdict; the
 * actors are in soak_actors.c.
 *
 * Actors (LWKT threads), per cpu:
 *   servers   one on its own thread port, one on the shared spin port,
 *             one on the shared serializer port; the function port
 *             handles even ids inline and forwards odd ones to a thread
 *             server (lwkt_forwardmsg).
 *   clients   --clients each: lwkt_domsg and windows of lwkt_sendmsg to
 *             random ports and cpus; each reply is checked.
 *   token     takes the cpu-owned and/or the atomic token (both, in a
 *             random order, a quarter of the time; shared reads of the
 *             atomic one), checks and updates the pair (a, b) the token
 *             protects, and blocks while holding it (yield, a domsg to
 *             another cpu, a migration): the token must be back, and the
 *             pair intact, when it runs again.
 *   ping/pong a tsleep/wakeup ping-pong with tickets between cpu c and
 *             c+1: each side sleeps until the other's ticket arrives.
 *   churn     creates a thread per round (it may migrate, then domsgs a
 *             server) and joins it, a detached one every fourth round,
 *             and cpu 0's churner runs an lwkt_cpusync every 16 rounds.
 * Idle phases pause every actor (tsleep on one channel) for a few ms, so
 * the cpus go to sleep and are woken from outside.  A storm (--storm)
 * adds a busy host thread pinned to every PU: the kernel then preempts
 * the LWKT cpus' host threads at any instruction.
 *
 * Accounting: a message carries a handled count (its handler increments
 * it; its sender wants exactly 1 at the reply); every sender sums and
 * xors the ids whose replies it checked, every handler the ids it
 * handled: the totals must match.  A watchdog (a host thread) watches one
 * progress counter per actor and per cpu; a stall longer than --stall
 * prints every actor's state and outstanding messages, lwkt_dump()'s view
 * of every cpu, and fails.
 *
 * Exit: 0 all checks passed, 1 a check failed (the line says which, with
 * the message id), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soak.h"

/* ---------------------------------------------------------------------- */
/* configuration */

const char *const pk_name[PK_N] = {"thread", "spin", "serial", "func"};
const char *const tk_name[TK_N] = {"cpu-owned", "atomic"};

struct soak_options soak_opt = {
	.duration_s = 10, .ports = (1u << PK_N) - 1,
	.tokens = (1u << TK_N) - 1, .fence = LWKT_FENCE_ASYMMETRIC,
	.idle_spin_ns = -1, .idle_phases = true, .mix_msgs = 1, .clients = 2,
	.window = 8,
	.progress_s = 10, .stall_s = 10, .seed = 1,
};
/* Short name for this file. */
static struct soak_options *const o = &soak_opt;
int soak_ncpu;
static char g_config[512];	/* the configuration, for every verdict */

uint64_t plant_lose, plant_noreply, plant_token, plant_wakeup;

struct actor **g_actor;
int g_nactors;
struct soak_cpu_progress g_cpu_progress[LWKT_MAXCPU];
static _Atomic int g_sigint;	/* SIGINT/SIGTERM: stop early */

/* ---------------------------------------------------------------------- */
/* failing loudly */

static atomic_flag g_failing = ATOMIC_FLAG_INIT;
static void dump_actors(void);

void
soak_fail(const char *fmt, ...)
{
	if (atomic_flag_test_and_set(&g_failing))
		for (;;)
			pause();
	fflush(stdout);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "lwkt-soak: FAIL: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	dump_actors();
	lwkt_dump(2, 1000);
	fprintf(stderr, "lwkt-soak: FAIL; config: %s\n", g_config);
	fflush(stderr);
	_exit(1);
}

/* ---------------------------------------------------------------------- */
/* preemption storm: a busy host thread pinned to each PU */

static _Atomic int g_hog_stop;
static uint64_t g_hog_deadline;	/* set before the hogs start */

static void *
hog_main(void *arg)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((unsigned)(uintptr_t)arg, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	/* Bounded: the run's end, or its deadline if the run hangs. */
	while (!atomic_load_explicit(&g_hog_stop, memory_order_relaxed) &&
	       lwkt_now_ns() < g_hog_deadline)
		for (int i = 0; i < 1000; i++)
			lwkt_cpu_relax();
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* the watchdog */

static _Atomic int g_wd_stop;
static _Atomic uint64_t g_stop_ns;	/* when the stop began; 0 before */

static void
fmt_ns(char *buf, size_t n, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, n, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, n, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", (double)ns / 1e9);
}

/* Every actor's state and outstanding messages (atomic fields only: the
 * actors may still run). */
static void
dump_actors(void)
{
	uint64_t now = lwkt_now_ns();
	for (int i = 0; i < g_nactors; i++) {
		struct actor *a = g_actor[i];
		if (atomic_load(&a->a_done))
			continue;
		fprintf(stderr, "lwkt-soak: actor %s (cpu %d): %s, progress "
			"%" PRIu64, a->a_name, atomic_load(&a->a_cpu),
			atomic_load(&a->a_state),
			atomic_load(&a->a_progress));
		if (a->a_pair)
			fprintf(stderr, "; ticket %" PRIu64 ", ack %" PRIu64,
				atomic_load(&a->a_pair->p_ticket),
				atomic_load(&a->a_pair->p_ack));
		fprintf(stderr, "\n");
		if (a->a_pool == NULL)
			continue;
		for (int s = 0; s <= o->window; s++) {
			uint64_t id = atomic_load_explicit(&a->a_slot_id[s],
						memory_order_relaxed);
			if (id == 0)
				continue;
			uint32_t w = atomic_load_explicit(&a->a_slot_where[s],
						memory_order_relaxed);
			uint64_t t = atomic_load_explicit(&a->a_slot_sent[s],
						memory_order_relaxed);
			char age[32];
			fmt_ns(age, sizeof age, now > t ? now - t : 0);
			fprintf(stderr, "lwkt-soak:   outstanding message %#"
				PRIx64 " to the %s port (cpu %u), sent %s ago"
				"\n", id, pk_name[w >> 16 < PK_N ? w >> 16 : 0],
				w & 0xffff, age);
		}
	}
}

static void
stall(const char *who, double secs, double starved)
{
	soak_fail("STALL: %s made no progress for %.1f s (bound --stall %.1f "
		  "s; not counted: %.1f s more in which a cpu's host thread "
		  "was runnable without a PU)", who, secs, o->stall_s, starved);
}

/*
 * Host starvation is not a stall: on a 2-vCPU guest under load the
 * host's scheduler can leave a cpu's host thread runnable without a PU
 * for seconds.  g_starved_ns is a clock that advances by each watchdog
 * tick in which some cpu's host thread ended runnable ('R') having run
 * under a tenth of the tick (lwkt_cpu_host_sched; the kernel's run-queue
 * wait only shows once a wait ends, so the state is read instead); a
 * watched item's time without progress is the wall time minus what that
 * clock gained meanwhile.  A lost message leaves the cpus asleep ('S')
 * and a livelock keeps them running: both still caught.  g_sched_lock
 * keeps the reads off a runtime that lwkt_shutdown frees.
 */
static pthread_mutex_t g_sched_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_sched_off;	/* under g_sched_lock */
static uint64_t g_starved_ns;	/* the watchdog's own */

static void
starved_tick(uint64_t *prev_run, uint64_t tick_ns)
{
	bool starved = false;
	pthread_mutex_lock(&g_sched_lock);
	for (int c = 0; c < soak_ncpu && !g_sched_off; c++) {
		struct lwkt_host_sched hs;
		if (lwkt_cpu_host_sched(c, &hs) != 0)
			continue;
		if (prev_run[c] != 0 && hs.hs_state == 'R' &&
		    hs.hs_run_ns - prev_run[c] < tick_ns / 10)
			starved = true;
		prev_run[c] = hs.hs_run_ns;
	}
	pthread_mutex_unlock(&g_sched_lock);
	if (starved)
		g_starved_ns += tick_ns;
}

/* One watched item (an actor, a cpu): its progress counter as last
 * seen, since when (0: restart the clock), and g_starved_ns then. */
struct wd_item {
	uint64_t last, since, since_st;
};

/* The time item w has made no progress, host starvation not counted (0
 * when its counter v moved); *starved: the time not counted. */
static uint64_t
wd_idle(struct wd_item *w, uint64_t v, uint64_t now, uint64_t *starved)
{
	if (w->since == 0 || v != w->last) {
		w->last = v;
		w->since = now;
		w->since_st = g_starved_ns;
		return 0;
	}
	*starved = g_starved_ns - w->since_st;
	return now - w->since - *starved;
}

static void *
watchdog_main(void *arg)
{
	(void)arg;
	struct wd_item *wd = calloc((size_t)g_nactors + LWKT_MAXCPU,
				    sizeof *wd);
	uint64_t prev_run[LWKT_MAXCPU] = { 0 };
	if (!wd)
		soak_fail("watchdog: out of memory");
	uint64_t bound = (uint64_t)(o->stall_s * 1e9), epoch = ~0ull;
	uint64_t tick_t = lwkt_now_ns(), idle, starved;
	while (!atomic_load(&g_wd_stop)) {
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
		uint64_t now = lwkt_now_ns();
		starved_tick(prev_run, now - tick_t);
		tick_t = now;
		uint64_t ep = atomic_load(&g_pause_epoch);
		if (atomic_load(&g_pause) || ep != epoch) {
			/* Idle phase: nothing has to progress. */
			epoch = ep;
			for (int i = 0; i < g_nactors + LWKT_MAXCPU; i++)
				wd[i].since = 0;
			continue;
		}
		for (int i = 0; i < g_nactors; i++) {
			struct actor *a = g_actor[i];
			if (a->a_kind == A_SERVER || atomic_load(&a->a_done))
				continue;
			if (atomic_load_explicit(&a->a_state,
			    memory_order_relaxed) == soak_mix_state) {
				/* Paced: its clients are timed instead. */
				wd[i].since = 0;
				continue;
			}
			idle = wd_idle(&wd[i], atomic_load_explicit(
				       &a->a_progress, memory_order_relaxed),
				       now, &starved);
			if (idle > bound) {
				char who[96];
				snprintf(who, sizeof who, "actor %s (%s)",
					 a->a_name, atomic_load(&a->a_state));
				stall(who, (double)idle / 1e9,
				      (double)starved / 1e9);
			}
		}
		uint64_t st = atomic_load(&g_stop_ns);
		for (int c = 0; c < soak_ncpu && st == 0; c++) {
			idle = wd_idle(&wd[g_nactors + c], atomic_load_explicit(
				       &g_cpu_progress[c].v,
				       memory_order_relaxed), now, &starved);
			if (idle > bound) {
				char who[32];
				snprintf(who, sizeof who, "cpu %d", c);
				stall(who, (double)idle / 1e9,
				      (double)starved / 1e9);
			}
		}
		/* The end (drain, joins, quits, shutdown) is bounded too
		 * (in wall time: the runtime goes away under it). */
		if (st != 0 && now - st > 2 * bound + 5000000000ull)
			stall("the shutdown", (double)(now - st) / 1e9, 0);
	}
	free(wd);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* command line */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lwkt-soak [OPTION]...\n"
"\n"
"A long mixed workload over liblwkt that checks, while it runs, that every\n"
"message is handled exactly once, that tokens exclude (also across blocking\n"
"while holding them), that no tsleep/wakeup is lost, and that nothing\n"
"stalls.  Per cpu: a server on its thread port, one on the shared spin port,\n"
"one on the shared serializer port (the function port handles even ids\n"
"inline and forwards odd ones); clients mixing lwkt_domsg with windows of\n"
"lwkt_sendmsg to random ports and cpus; a token worker; a tsleep/wakeup\n"
"ping-pong with tickets to the next cpu; a thread churner (create,\n"
"migrate, join, detached threads, lwkt_cpusync).  Idle phases pause every\n"
"actor now and then so the cpus sleep and are woken again.\n"
"\n"
"  -d, --duration=TIME   how long: seconds, or with a unit (90s, 3m, 1.5h);\n"
"                        0 = until --messages (default 10s)\n"
"  -m, --messages=N      stop once N messages were handled (default: no\n"
"                        limit); with --duration, whichever comes first\n"
"  -c, --cpus=LIST       the cpus (topo.h lists: all, count=N, 0,2-3;\n"
"                        default all; LWKT_CPUS overrides)\n"
"  -r, --ring=N          IPI ring entries, a power of two >= 2 (0 = the\n"
"                        runtime's default, 256)\n"
"      --batch=N         held IPI sends: up to N per ring until the sending\n"
"                        cpu polls or switches (lc_ipi_batch; default 0,\n"
"                        off; off with --hard-ipi)\n"
"  -p, --ports=LIST      port kinds the clients use: thread,spin,serial,func\n"
"                        or all (default all)\n"
"  -t, --tokens=LIST     token designs the token workers take: cpu (the\n"
"                        cpu-owned design), atomic, all or none (default all)\n"
"      --hard-ipi[=on|off]  hard IPIs (a signal to a cpu running a thread)\n"
"                        (default off)\n"
"      --fence=asym|sym  the sleep/wake fence: membarrier on the sleeper\n"
"                        (asym) or a fence on both sides (default asym)\n"
"      --idle-spin=NS    how long an idle cpu polls before sleeping, ns\n"
"                        (default: the runtime's, 50000; 0 = sleep at once)\n"
"      --storm[=on|off]  preemption storm: a busy host thread pinned to each\n"
"                        PU for the whole run (default off)\n"
"      --idle-phases=on|off  pause every actor for 2-20 ms a few times a\n"
"                        second (default on)\n"
"      --mix=msgs=N      weight the mix towards messages: the token\n"
"                        workers, ping/pong and the churners run one round\n"
"                        per N client rounds on their cpu and sleep in\n"
"                        between, so the rate is bounded by the message\n"
"                        path (same accounting; for long runs aiming at\n"
"                        10^8 messages, e.g. msgs=1000); 1..%u (default 1:\n"
"                        every actor runs flat out)\n"
"      --clients=N       client threads per cpu, 1..%d (default 2)\n"
"      --window=N        asynchronous messages in flight per client, 1..%d\n"
"                        (default 8)\n"
"      --stall=SECS      watchdog bound: an actor or a cpu without progress\n"
"                        that long fails the run (default 10); time in which\n"
"                        a cpu's host thread was runnable without a PU is\n"
"                        not counted\n"
"      --progress=SECS   a progress line every SECS (0: none; default 10)\n"
"      --seed=N          random seed (default 1)\n"
"  -h, --help            this text\n"
"\n"
"Output: progress lines, then the age histogram of messages (time from\n"
"send to handler, power-of-2 buckets, as rcutorture's pipe histograms),\n"
"then one line: PASS or FAIL, messages, rate, max latency, configuration.\n"
"Expected histogram: the mass below 100 us (tens of ns for the function\n"
"port's inline handling and same-cpu ports, 1-100 us across cpus); a tail\n"
"into the milliseconds when a cpu's host thread is preempted (--storm, a\n"
"loaded host: a scheduler tick is 1-4 ms) or a small ring is full (tens of\n"
"ms with --ring 2-16); nothing near --stall, where the watchdog fails the\n"
"run.  Run-to-run tail growth on a quiet host, same options, is worth a\n"
"look, not a failure.\n"
"\n"
"On a failure it prints what failed (with the message id), every actor's\n"
"state and outstanding messages, and lwkt_dump()'s view of each cpu (its\n"
"thread, crit depth, run queue, IPI ring indices).\n"
"Exit status: 0 passed, 1 a check failed, 2 bad usage.\n"
"\n"
"Test-only faults (environment; each must make the run fail):\n"
"  LWKT_SOAK_TEST_LOSE=N     the Nth handled message is replied uncounted\n"
"  LWKT_SOAK_TEST_NOREPLY=N  the Nth handled message is never replied\n"
"  LWKT_SOAK_TEST_TOKEN=N    the Nth token update leaves a != b\n"
"  LWKT_SOAK_TEST_WAKEUP=N   the Nth tsleep ack is sent without its wake-up\n",
		SOAK_MAXMIX, SOAK_MAXCLIENTS, SOAK_MAXWIN);
}

__attribute__((noreturn, format(printf, 1, 2))) static void
bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "lwkt-soak: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

static uint64_t
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	if (*s == '-' || *s == '\0')
		bad_usage("%s: '%s' is not a number", opt, s);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		bad_usage("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64,
			  opt, s, min, max);
	return v;
}

static double
parse_secs(const char *opt, const char *s, bool units)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double mul = 1;
	if (units && *end != '\0' && end[1] == '\0' && end != s) {
		switch (*end) {
		case 's': mul = 1; end++; break;
		case 'm': mul = 60; end++; break;
		case 'h': mul = 3600; end++; break;
		default: break;
		}
	}
	if (errno || end == s || *end != '\0' || !(v >= 0) || v * mul > 1e7)
		bad_usage("%s: '%s' is not a duration%s", opt, s,
			  units ? " (SECS, or a number with s, m or h)" : "");
	return v * mul;
}

static bool
parse_onoff(const char *opt, const char *s)
{
	if (s == NULL || !strcmp(s, "on") || !strcmp(s, "yes") ||
	    !strcmp(s, "1"))
		return true;
	if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "0"))
		return false;
	bad_usage("%s: '%s' is not on or off", opt, s);
}

/* A comma list of names[] (or "all"/"none") -> a bit mask. */
static unsigned
parse_set(const char *opt, const char *s, const char *const *names, int n,
	  const char *const *alias, bool none_ok)
{
	if (!strcmp(s, "all"))
		return (1u << n) - 1;
	if (!strcmp(s, "none")) {
		if (!none_ok)
			bad_usage("%s: at least one is needed", opt);
		return 0;
	}
	unsigned mask = 0;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int k = -1;
		for (int i = 0; i < n; i++)
			if (!strcmp(tok, names[i]) ||
			    (alias && alias[i] && !strcmp(tok, alias[i])))
				k = i;
		if (k < 0)
			bad_usage("%s: unknown '%s'", opt, tok);
		mask |= 1u << k;
	}
	if (mask == 0)
		bad_usage("%s: empty list", opt);
	return mask;
}

static void
parse_args(int argc, char **argv)
{
	enum { O_HARD = 256, O_FENCE, O_SPIN, O_STORM, O_IDLE, O_MIX, O_CLIENTS,
	       O_WINDOW, O_STALL, O_PROGRESS, O_SEED, O_BATCH };
	static const struct option lo[] = {
		{"duration", required_argument, NULL, 'd'},
		{"messages", required_argument, NULL, 'm'},
		{"cpus", required_argument, NULL, 'c'},
		{"ring", required_argument, NULL, 'r'},
		{"ports", required_argument, NULL, 'p'},
		{"tokens", required_argument, NULL, 't'},
		{"hard-ipi", optional_argument, NULL, O_HARD},
		{"fence", required_argument, NULL, O_FENCE},
		{"idle-spin", required_argument, NULL, O_SPIN},
		{"batch", required_argument, NULL, O_BATCH},
		{"storm", optional_argument, NULL, O_STORM},
		{"idle-phases", required_argument, NULL, O_IDLE},
		{"mix", required_argument, NULL, O_MIX},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"window", required_argument, NULL, O_WINDOW},
		{"stall", required_argument, NULL, O_STALL},
		{"progress", required_argument, NULL, O_PROGRESS},
		{"seed", required_argument, NULL, O_SEED},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const pk_alias[PK_N] = {NULL, NULL, "serializer",
						   "function"};
	static const char *const tk_alias[TK_N] = {"cpu", NULL};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:m:c:r:p:t:h", lo, NULL))
	       != -1) {
		switch (c) {
		case 'd':
			o->duration_s = parse_secs("--duration", optarg, true);
			break;
		case 'm': o->messages = parse_u64("--messages", optarg, 1,
						 UINT64_MAX / 2);
			break;
		case 'c': o->cpus = optarg; break;
		case 'r':
			o->ring = (unsigned)parse_u64("--ring", optarg, 0,
						      1u << 20);
			if (o->ring == 1 || (o->ring & (o->ring - 1)))
				bad_usage("--ring: %u is not 0 or a power of "
					  "two >= 2", o->ring);
			break;
		case 'p': o->ports = parse_set("--ports", optarg, pk_name, PK_N,
					      pk_alias, false);
			break;
		case 't': o->tokens = parse_set("--tokens", optarg, tk_name,
					       TK_N, tk_alias, true);
			break;
		case O_HARD: o->hard_ipi = parse_onoff("--hard-ipi", optarg);
			break;
		case O_FENCE:
			if (!strcmp(optarg, "asym") ||
			    !strcmp(optarg, "asymmetric"))
				o->fence = LWKT_FENCE_ASYMMETRIC;
			else if (!strcmp(optarg, "sym") ||
				 !strcmp(optarg, "symmetric"))
				o->fence = LWKT_FENCE_SYMMETRIC;
			else
				bad_usage("--fence: '%s' is not asym or sym",
					  optarg);
			break;
		case O_SPIN: o->idle_spin_ns = (int64_t)parse_u64("--idle-spin",
					optarg, 0, 10000000000ull);
			break;
		case O_BATCH: o->ipi_batch = (unsigned)parse_u64("--batch",
					optarg, 0, 1u << 20);
			break;
		case O_STORM: o->storm = parse_onoff("--storm", optarg); break;
		case O_IDLE: o->idle_phases = parse_onoff("--idle-phases",
							 optarg);
			break;
		case O_MIX:
			if (strncmp(optarg, "msgs=", 5) != 0)
				bad_usage("--mix: '%s' is not msgs=N", optarg);
			o->mix_msgs = (unsigned)parse_u64("--mix msgs", optarg
							  + 5, 1, SOAK_MAXMIX);
			break;
		case O_CLIENTS: o->clients = (int)parse_u64("--clients", optarg,
						1, SOAK_MAXCLIENTS);
			break;
		case O_WINDOW: o->window = (int)parse_u64("--window", optarg, 1,
						SOAK_MAXWIN);
			break;
		case O_STALL: o->stall_s = parse_secs("--stall", optarg, false);
			if (o->stall_s < 0.5)
				bad_usage("--stall: at least 0.5 s");
			break;
		case O_PROGRESS: o->progress_s = parse_secs("--progress",
							   optarg, false);
			break;
		case O_SEED: o->seed = parse_u64("--seed", optarg, 0,
						UINT64_MAX);
			break;
		case 'h': usage(stdout); exit(0);
		case ':': bad_usage("option '%s' needs a value",
				    argv[optind - 1]);
		default: bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (o->duration_s == 0 && o->messages == 0)
		bad_usage("--duration 0 needs --messages");
}

static uint64_t
env_u64(const char *name)
{
	const char *s = getenv(name);
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || *s == '-') {
		fprintf(stderr, "lwkt-soak: %s='%s' is not a number\n", name,
			s);
		exit(2);
	}
	return v;
}

/* ---------------------------------------------------------------------- */
/* main */

static struct actor *
new_actor(int kind, int cpu, const char *what)
{
	struct actor *a = aligned_alloc(64, sizeof *a);
	if (a == NULL) {
		fprintf(stderr, "lwkt-soak: out of memory\n");
		exit(1);
	}
	memset(a, 0, sizeof *a);
	a->a_kind = kind;
	a->a_no = g_nactors;
	a->a_home = cpu;
	a->a_rng = (o->seed + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)g_nactors
		   * 0xBF58476D1CE4E5B9ull;
	if (a->a_rng == 0)
		a->a_rng = 1;
	snprintf(a->a_name, sizeof a->a_name, "%s/%d.%d", what, cpu,
		 g_nactors);
	atomic_store(&a->a_cpu, cpu);
	atomic_store(&a->a_state, "starting");
	if (kind == A_CLIENT || kind == A_TOKEN || kind == A_CHURN) {
		a->a_pool = calloc((size_t)o->window + 1, sizeof *a->a_pool);
		a->a_free = calloc((size_t)o->window, sizeof *a->a_free);
		if (!a->a_pool || !a->a_free) {
			fprintf(stderr, "lwkt-soak: out of memory\n");
			exit(1);
		}
		for (int s = 0; s <= o->window; s++)
			a->a_pool[s].sm_slot = s;
		for (int s = 0; s < o->window; s++)
			a->a_free[a->a_nfree++] = o->window - 1 - s;
	}
	g_actor[g_nactors++] = a;
	return a;
}

static void
start(struct actor *a, lwkt_thread_fn fn)
{
	int e = lwkt_create(fn, a, a->a_home, 0, &a->a_td, a->a_name);
	if (e != 0)
		soak_fail("lwkt_create %s: error %d", a->a_name, e);
}

static void
on_sigint(int sig)
{
	(void)sig;
	atomic_store(&g_sigint, 1);
}

static const char *
build_name(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return "asan";
#elif defined(__SANITIZE_THREAD__)
	return "tsan";
#else
	return "normal";
#endif
}

static void
describe_config(void)
{
	char ports[64] = "", toks[32] = "", lim[64] = "";
	for (int k = 0; k < PK_N; k++)
		if (o->ports & (1u << k))
			snprintf(ports + strlen(ports), sizeof ports -
				 strlen(ports), "%s%s", *ports ? "," : "",
				 pk_name[k]);
	for (int k = 0; k < TK_N; k++)
		if (o->tokens & (1u << k))
			snprintf(toks + strlen(toks), sizeof toks -
				 strlen(toks), "%s%s", *toks ? "," : "",
				 k ? "atomic" : "cpu");
	if (o->messages)
		snprintf(lim, sizeof lim, " messages=%" PRIu64, o->messages);
	/* Batching as the runtime applies it (LWKT_IPI_BATCH, the ring cap,
	 * hard IPIs: cpu.h, lwkt_ipi_batch). */
	char batch[16] = "off";
	if (lwkt_ipi_batch() != 0)
		snprintf(batch, sizeof batch, "%u", lwkt_ipi_batch());
	char spin[32];
	if (o->idle_spin_ns < 0)
		snprintf(spin, sizeof spin, "default");
	else
		snprintf(spin, sizeof spin, "%" PRId64 "ns", o->idle_spin_ns);
	snprintf(g_config, sizeof g_config, "cpus=%d ring=%u ports=%s "
		 "tokens=%s hard-ipi=%s fence=%s idle-spin=%s batch=%s storm=%s "
		 "idle-phases=%s mix=msgs=%u clients=%d window=%d "
		 "duration=%gs%s "
		 "stall=%gs seed=%" PRIu64 " build=%s", soak_ncpu,
		 o->ring ? o->ring : 256, ports, *toks ? toks : "none",
		 o->hard_ipi ? "on" : "off",
		 o->fence == LWKT_FENCE_SYMMETRIC ? "sym" : "asym", spin, batch,
		 o->storm ? "on" : "off", o->idle_phases ? "on" : "off",
		 o->mix_msgs, o->clients, o->window, o->duration_s, lim, o->stall_s, o->seed,
		 build_name());
}

static uint64_t
total_handled(void)
{
	uint64_t n = 0;
	for (int i = 0; i < g_nactors; i++)
		n += atomic_load_explicit(&g_actor[i]->a_handled.n,
					  memory_order_relaxed);
	return n;
}

static uint64_t
max_age(void)
{
	uint64_t m = 0;
	for (int i = 0; i < g_nactors; i++) {
		uint64_t v = atomic_load_explicit(&g_actor[i]->a_max_age,
						  memory_order_relaxed);
		if (v > m)
			m = v;
	}
	return m;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u),
			      (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
print_histogram(const uint64_t *hist, uint64_t total)
{
	int lo = 64, hi = -1;
	for (int b = 0; b < 64; b++)
		if (hist[b]) {
			if (lo > b)
				lo = b;
			hi = b;
		}
	printf("lwkt-soak: message age, send to handler (buckets of powers "
	       "of 2 ns):\n");
	for (int b = lo; b <= hi; b++) {
		char from[32], to[32];
		fmt_ns(from, sizeof from, 1ull << b);
		fmt_ns(to, sizeof to, 2ull << b);
		printf("lwkt-soak:   [%9s, %9s) %12" PRIu64 " %7.3f%%\n", from,
		       to, hist[b], total ? 100.0 * (double)hist[b] /
		       (double)total : 0.0);
	}
	printf("lwkt-soak: expected: the mass below 100 us; a tail into the "
	       "ms when host threads are preempted or small rings fill; "
	       "nothing near the stall bound (%.1f s)\n", o->stall_s);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	plant_lose = env_u64("LWKT_SOAK_TEST_LOSE");
	plant_noreply = env_u64("LWKT_SOAK_TEST_NOREPLY");
	plant_token = env_u64("LWKT_SOAK_TEST_TOKEN");
	plant_wakeup = env_u64("LWKT_SOAK_TEST_WAKEUP");
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_cpus = o->cpus;
	cfg.lc_ipiq_size = o->ring;
	if (o->idle_spin_ns >= 0)
		cfg.lc_idle_spin_ns = o->idle_spin_ns;
	cfg.lc_fence = o->fence;
	cfg.lc_hard_ipi = o->hard_ipi;
	cfg.lc_ipi_batch = o->ipi_batch;
	int e = lwkt_init(&cfg);
	if (e != 0) {
		fprintf(stderr, "lwkt-soak: lwkt_init: error %d (%s)\n", e,
			strerror(e));
		return 1;
	}
	soak_ncpu = lwkt_ncpus();
	describe_config();
	printf("lwkt-soak: start: %s\n", g_config);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESETHAND;	/* a second Ctrl-C kills */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (int t = 0; t < TK_N; t++)
		lwkt_token_init(&g_tok[t].st_tok, t == TK_CPU ?
				LWKT_TOKEN_CPU_OWNED : LWKT_TOKEN_ATOMIC,
				tk_name[t]);
	soak_ports_init();

	int per_cpu = 3 + o->clients + 1 + 2 + 1;
	g_actor = calloc((size_t)soak_ncpu * (size_t)per_cpu, sizeof *g_actor);
	struct pair *pairs = calloc((size_t)soak_ncpu, sizeof *pairs);
	if (!g_actor || !pairs) {
		fprintf(stderr, "lwkt-soak: out of memory\n");
		return 1;
	}
	/* Servers first: everything else sends to them. */
	for (int c = 0; c < soak_ncpu; c++) {
		struct actor *a = new_actor(A_SERVER, c, "thread-server");
		start(a, server_main);
		g_srv_port[c] = lwkt_thread_port(a->a_td);
		if (o->ports & (1u << PK_SPIN)) {
			a = new_actor(A_SERVER, c, "spin-server");
			a->a_port = &g_spin_port;
			start(a, server_main);
		}
		if (o->ports & (1u << PK_SERIAL)) {
			a = new_actor(A_SERVER, c, "serial-server");
			a->a_port = &g_ser_port;
			start(a, serial_server_main);
		}
	}
	for (int c = 0; c < soak_ncpu; c++) {
		for (int k = 0; k < o->clients; k++)
			start(new_actor(A_CLIENT, c, "client"), client_main);
		if (o->tokens)
			start(new_actor(A_TOKEN, c, "token"), token_main);
		struct pair *p = &pairs[c];
		p->p_no = c;
		atomic_store(&p->p_last, UINT64_MAX);
		struct actor *ping = new_actor(A_PING, c, "ping");
		struct actor *pong = new_actor(A_PONG, (c + 1) % soak_ncpu,
					       "pong");
		ping->a_pair = pong->a_pair = p;
		start(ping, ping_main);
		start(pong, pong_main);
		start(new_actor(A_CHURN, c, "churn"), churn_main);
	}

	uint64_t t0 = lwkt_now_ns();
	uint64_t dur = (uint64_t)(o->duration_s * 1e9);
	pthread_t hogs[LWKT_MAXCPU] = {0};
	if (o->storm) {
		g_hog_deadline = t0 + (dur ? dur : 3600000000000ull) +
				 (uint64_t)(4 * o->stall_s * 1e9) +
				 10000000000ull;
		for (int c = 0; c < soak_ncpu; c++)
			if (pthread_create(&hogs[c], NULL, hog_main,
					   (void *)(uintptr_t)lwkt_cpu_pu(c))) {
				fprintf(stderr, "lwkt-soak: pthread_create: "
					"the storm\n");
				return 1;
			}
	}
	pthread_t wd;
	if (pthread_create(&wd, NULL, watchdog_main, NULL)) {
		fprintf(stderr, "lwkt-soak: pthread_create: the watchdog\n");
		return 1;
	}

	/* The run: progress lines and idle phases until the end. */
	uint64_t rng = o->seed * 0xD6E8FEB86659FD93ull + 1;
	uint64_t next_prog = t0 + (uint64_t)(o->progress_s * 1e9);
	uint64_t next_idle = t0 + 200000000u;
	for (;;) {
		uint64_t now = lwkt_now_ns();
		if ((dur && now - t0 >= dur) ||
		    (o->messages && total_handled() >= o->messages) ||
		    atomic_load(&g_sigint))
			break;
		if (o->idle_phases && now >= next_idle) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			atomic_store(&g_pause, 1);
			atomic_fetch_add(&g_pause_epoch, 1);
			sleep_ns(2000000u + rng % 18000000u);
			atomic_store(&g_pause, 0);
			lwkt_wakeup(&g_pause);
			atomic_fetch_add(&g_pause_epoch, 1);
			next_idle = lwkt_now_ns() + 150000000u +
				    (rng >> 20) % 500000000u;
		}
		if (o->progress_s > 0 && now >= next_prog) {
			char age[32];
			fmt_ns(age, sizeof age, max_age());
			uint64_t n = total_handled();
			double el = (double)(now - t0) / 1e9;
			printf("lwkt-soak: %6.0f s: %" PRIu64 " messages "
			       "(%.0f/s), max age %s\n", el, n, (double)n / el,
			       age);
			next_prog += (uint64_t)(o->progress_s * 1e9);
		}
		sleep_ns(5000000u);
	}
	uint64_t t_end = lwkt_now_ns();
	if (atomic_load(&g_sigint))
		printf("lwkt-soak: interrupted: stopping\n");

	/* The end: actors finish (clients drain), then the servers quit. */
	atomic_store(&g_stop_ns, t_end);
	atomic_store(&g_stop, 1);
	atomic_store(&g_pause, 0);
	lwkt_wakeup(&g_pause);
	mix_wake_all();
	for (int i = 0; i < g_nactors; i++)
		if (g_actor[i]->a_kind != A_SERVER &&
		    (e = lwkt_join(g_actor[i]->a_td)) != 0)
			soak_fail("lwkt_join %s: error %d", g_actor[i]->a_name,
				  e);
	lwkt_thread_t closer;
	if ((e = lwkt_create(closer_main, NULL, 0, 0, &closer, "closer")))
		soak_fail("lwkt_create closer: error %d", e);
	lwkt_join(closer);
	for (int i = 0; i < g_nactors; i++)
		if (g_actor[i]->a_kind == A_SERVER)
			lwkt_join(g_actor[i]->a_td);
	if (o->storm) {
		atomic_store(&g_hog_stop, 1);
		for (int c = 0; c < soak_ncpu; c++)
			pthread_join(hogs[c], NULL);
	}
	uint64_t det_c = atomic_load(&g_det_created),
		 det_d = atomic_load(&g_det_done),
		 syncs_run = atomic_load(&g_cpusync_runs);
	pthread_mutex_lock(&g_sched_lock);
	g_sched_off = true;	/* the watchdog reads no more of the runtime */
	pthread_mutex_unlock(&g_sched_lock);
	lwkt_shutdown();
	atomic_store(&g_wd_stop, 1);
	pthread_join(wd, NULL);

	/* The verdict: every actor is joined, its fields are ours now. */
	struct soak_acct sent = {0}, handled = {0};
	uint64_t hist[64] = {0}, by_kind[PK_N] = {0}, sync = 0, inl = 0;
	uint64_t incs[TK_N] = {0}, holds = 0, blocks = 0, shared = 0;
	uint64_t created = 0, detached = 0, cpusyncs = 0, wakeups = 0;
	for (int i = 0; i < g_nactors; i++) {
		struct actor *a = g_actor[i];
		sent.n += a->a_sent.n;
		sent.sum += a->a_sent.sum;
		sent.xor ^= a->a_sent.xor;
		handled.n += a->a_handled.n;
		handled.sum += a->a_handled.sum;
		handled.xor ^= a->a_handled.xor;
		for (int b = 0; b < 64; b++)
			hist[b] += a->a_hist[b];
		for (int k = 0; k < PK_N; k++)
			by_kind[k] += a->a_by_kind[k];
		sync += a->a_sync, inl += a->a_inline;
		for (int t = 0; t < TK_N; t++)
			incs[t] += a->a_tok_incs[t];
		holds += a->a_tok_holds, blocks += a->a_tok_blocks;
		shared += a->a_tok_shared;
		created += a->a_created, detached += a->a_detached;
		cpusyncs += a->a_cpusyncs;
		if (a->a_kind == A_PONG)
			wakeups += atomic_load(&a->a_progress);
	}
	if (sent.n != handled.n || sent.sum != handled.sum ||
	    sent.xor != handled.xor)
		soak_fail("accounting: senders checked %" PRIu64 " replies "
			  "(sum %#" PRIx64 ", xor %#" PRIx64 "), handlers "
			  "counted %" PRIu64 " (sum %#" PRIx64 ", xor %#" PRIx64
			  ")", (uint64_t)sent.n, sent.sum, sent.xor,
			  (uint64_t)handled.n, handled.sum, handled.xor);
	for (int t = 0; t < TK_N; t++)
		if (g_tok[t].st_a != incs[t] || g_tok[t].st_b != incs[t])
			soak_fail("%s token: the pair is (%" PRIu64 ", %" PRIu64
				  ") after %" PRIu64 " updates: updates lost",
				  tk_name[t], g_tok[t].st_a, g_tok[t].st_b,
				  incs[t]);
	if (det_d != det_c)
		soak_fail("%" PRIu64 " detached threads created, %" PRIu64
			  " ran", det_c, det_d);
	if (syncs_run != cpusyncs * (uint64_t)soak_ncpu)
		soak_fail("%" PRIu64 " lwkt_cpusync calls on %d cpus ran the "
			  "function %" PRIu64 " times", cpusyncs, soak_ncpu,
			  syncs_run);

	double el = (double)(t_end - t0) / 1e9;
	print_histogram(hist, handled.n);
	printf("lwkt-soak: by port: thread %" PRIu64 ", spin %" PRIu64
	       ", serial %" PRIu64 ", func %" PRIu64 " (%" PRIu64 " inline); "
	       "%" PRIu64 " synchronous\n", by_kind[PK_THREAD],
	       by_kind[PK_SPIN], by_kind[PK_SERIAL], by_kind[PK_FUNC], inl,
	       sync);
	printf("lwkt-soak: tokens: %" PRIu64 " holds (%" PRIu64 " blocking "
	       "while held, %" PRIu64 " shared), updates cpu-owned %" PRIu64
	       ", atomic %" PRIu64 "; tsleep wake-ups %" PRIu64 "; threads "
	       "created %" PRIu64 " (+%" PRIu64 " detached); cpusyncs %"
	       PRIu64 "\n", holds, blocks, shared, incs[TK_CPU],
	       incs[TK_ATOMIC], wakeups, created, detached, cpusyncs);
	char age[32];
	fmt_ns(age, sizeof age, max_age());
	printf("lwkt-soak: PASS: %" PRIu64 " messages, each handled exactly "
	       "once, in %.1f s (%.0f msg/s), max latency %s (send to "
	       "handler); config: %s\n", (uint64_t)handled.n, el,
	       (double)handled.n / el, age, g_config);
	return 0;
}

