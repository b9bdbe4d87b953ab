/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_trace.c - what one `lwkt` trace site costs, in its three states:
 *
 *   overhead/tracepoint_unloaded            provider .so not loaded
 *   overhead/tracepoint_loaded_no_session   liblwkt-tp.so dlopen()ed, no
 *                                           session enables the event
 *   overhead/tracepoint_recording           a session records the event
 *                                           (per recorded event)
 *
 * The site is the runtime's own (LWKT_TRACE(ipi_send, ...)), with
 * arguments that change every iteration so nothing folds.  The provider
 * is found as $LWKT_TP_LIB, else liblwkt-tp.so beside the executable,
 * else by the dynamic loader's search path.  A benchmark that loads it
 * dlclose()s it after its loop, so the states hold in any order (random
 * interleaving); one that finds it loaded from outside (LD_PRELOAD) or a
 * session recording says so in its label.
 *
 * The recording benchmark drives the lttng CLI outside the timed loop: it
 * starts lttng-sessiond when none answers (and stops it after), creates a
 * private session with large per-cpu buffers (discard mode), enables only
 * lwkt:ipi_send, and waits until the site sees the session.  Events the
 * buffers had to discard are reported as the counter `discarded` (a
 * discarded event is cheaper than a recorded one: a non-zero figure makes
 * the time per event optimistic).  No lttng-tools or no session daemon:
 * the benchmark is skipped with an error naming the cause.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "gbench.h"

#include "../lwkt/src/lwkt_trace.h"

static __attribute__((unused)) void bench_trace_fn(void) { }

/* The site under test: the runtime's ipi_send with live arguments. */
static inline void
bench_trace_site(uint64_t i)
{
	(void)i;	/* unused with -DLWKT_TRACE_DISABLE */
	LWKT_TRACE(ipi_send, (uint32_t)(i & 1), (uint32_t)(~i & 1), i,
		   (const void *)bench_trace_fn);
}

static void
bench_trace_loop(gbench_state *st)
{
	uint64_t i = (uint64_t)gbench_range_x(st, 0);

	GBENCH_LOOP(st) {
		bench_trace_site(i);
		i++;
		GBENCH_KEEP(i);
	}
	gbench_set_items_processed(st, gbench_iterations_done(st));
}

/* Path of the provider: see the file comment. */
static const char *
bench_trace_tp_path(char *buf, size_t len)
{
	const char *env = getenv("LWKT_TP_LIB");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/liblwkt-tp.so", exe) < len &&
			    access(buf, R_OK) == 0)
				return buf;
		}
	}
	return "liblwkt-tp.so";
}

/* Whether the provider is in the process (preloaded or dlopen()ed). */
static bool
bench_trace_tp_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "lttng_ust_tracepoint_provider_lwkt") != NULL;
}

/* Loads the provider; false (with a message in err) on failure.  *h is
 * the handle to give to bench_trace_tp_unload() (NULL if it was already
 * in the process, e.g. preloaded by lwkt-record: then it stays). */
static bool
bench_trace_tp_load(void **h, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	const char *path;

	*h = NULL;
	if (bench_trace_tp_loaded())
		return true;
	path = bench_trace_tp_path(buf, sizeof(buf));
	*h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!*h) {
		snprintf(err, errlen, "cannot load the provider %s: %s "
			 "(build it: make; or set LWKT_TP_LIB)", path, dlerror());
		return false;
	}
	return true;
}

/* Unloads what bench_trace_tp_load() loaded: the provider's destructor
 * unregisters its probes (LTTng-UST supports dlclose of a provider), so
 * benchmarks run later in any order still find the "unloaded" state. */
static void
bench_trace_tp_unload(void *h)
{
	if (h)
		dlclose(h);
}

static void
bench_tracepoint_unloaded(gbench_state *st)
{
#ifdef LWKT_TRACE_DISABLE
	gbench_set_label(st, "sites compiled out (LWKT_TRACE_DISABLE)");
#endif
	if (LWKT_TRACE_ENABLED(ipi_send))
		gbench_set_label(st, "NOT unloaded: a session records lwkt:ipi_send");
	else if (bench_trace_tp_loaded())
		gbench_set_label(st, "NOT unloaded: provider already loaded");
	bench_trace_loop(st);
}
GBENCH_REGISTER(bench_tracepoint_unloaded, "overhead/tracepoint_unloaded",
		gbench_arg(f, 1))

static void
bench_tracepoint_loaded_no_session(gbench_state *st)
{
	char err[PATH_MAX + 128];
	void *h;

	if (!bench_trace_tp_load(&h, err, sizeof(err))) {
		gbench_skip_with_error(st, err);
		return;
	}
	if (LWKT_TRACE_ENABLED(ipi_send))
		gbench_set_label(st, "NOT no-session: a session records lwkt:ipi_send");
	bench_trace_loop(st);
	bench_trace_tp_unload(h);
}
GBENCH_REGISTER(bench_tracepoint_loaded_no_session,
		"overhead/tracepoint_loaded_no_session", gbench_arg(f, 1))

/*
 * Runs argv with stdout/stderr to /dev/null (or to `out` for stdout), on
 * every PU: the daemons it may start must not inherit the benchmark
 * thread's pinning.  Returns the exit status, or -1.
 */
static int
bench_trace_run(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		cpu_set_t all;
		FILE *f;

		CPU_ZERO(&all);
		for (int c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &all);
		(void)sched_setaffinity(0, sizeof(all), &all);
		f = freopen(out ? out : "/dev/null", "w", stdout);
		if (!f)
			_exit(126);
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* State of the recording benchmark's session (one at a time). */
struct bench_trace_session {
	char bs_name[64];
	char bs_dir[64];
	bool bs_started_sessiond;
	bool bs_created;
};

static pid_t
bench_trace_sessiond_pid(void)
{
	const char *files[2] = { "/var/run/lttng/lttng-sessiond.pid", NULL };
	char home[PATH_MAX];
	const char *h = getenv("LTTNG_HOME") ? getenv("LTTNG_HOME") : getenv("HOME");
	long pid = -1;

	if (geteuid() != 0 && h) {
		snprintf(home, sizeof(home), "%s/.lttng/lttng-sessiond.pid", h);
		files[0] = home;
	}
	FILE *f = fopen(files[0], "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

static void
bench_trace_session_end(struct bench_trace_session *s)
{
	char *destroy[] = { "lttng", "destroy", s->bs_name, NULL };
	char *rm[] = { "rm", "-rf", s->bs_dir, NULL };

	if (s->bs_created)
		(void)bench_trace_run(destroy, NULL);
	if (s->bs_dir[0])
		(void)bench_trace_run(rm, NULL);
	if (s->bs_started_sessiond) {
		pid_t pid = bench_trace_sessiond_pid();

		if (pid > 0)
			kill(pid, SIGTERM);
	}
	memset(s, 0, sizeof(*s));
}

/* Counts the events discarded by the session's channel (-1: unknown). */
static long
bench_trace_discarded(struct bench_trace_session *s)
{
	char out[128], line[512];
	char *list[] = { "lttng", "list", s->bs_name, NULL };
	long total = -1;
	FILE *f;

	snprintf(out, sizeof(out), "%s/list.txt", s->bs_dir);
	if (bench_trace_run(list, out) != 0 || !(f = fopen(out, "r")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "Discarded events:");
		long v;

		if (p && sscanf(p, "Discarded events: %ld", &v) == 1)
			total = (total < 0 ? 0 : total) + v;
	}
	fclose(f);
	return total;
}

/* Sets up the session; false with a message in err (session undone). */
static bool
bench_trace_session_begin(struct bench_trace_session *s, char *err, size_t len)
{
	char *version[] = { "lttng", "--version", NULL };
	char *list[] = { "lttng", "list", NULL };
	char *sessiond[] = { "lttng-sessiond", "--daemonize", NULL };
	char outopt[96];

	memset(s, 0, sizeof(*s));
	if (bench_trace_run(version, NULL) != 0) {
		snprintf(err, len, "lttng-tools not found (install lttng-tools)");
		return false;
	}
	if (bench_trace_run(list, NULL) != 0) {
		if (bench_trace_run(sessiond, NULL) != 0 ||
		    bench_trace_run(list, NULL) != 0) {
			snprintf(err, len, "no lttng-sessiond answers and "
				 "'lttng-sessiond --daemonize' failed");
			return false;
		}
		s->bs_started_sessiond = true;
	}
	snprintf(s->bs_name, sizeof(s->bs_name), "lwkt-bench-%ld", (long)getpid());
	snprintf(s->bs_dir, sizeof(s->bs_dir), "/tmp/lwkt-bench-trace-XXXXXX");
	if (!mkdtemp(s->bs_dir)) {
		snprintf(err, len, "mkdtemp: %s", strerror(errno));
		s->bs_dir[0] = '\0';
		goto fail;
	}
	snprintf(outopt, sizeof(outopt), "--output=%s/trace", s->bs_dir);
	{
		char *create[] = { "lttng", "create", s->bs_name, outopt, NULL };
		char *chan[] = { "lttng", "enable-channel", "--userspace",
				 "--session", s->bs_name, "--subbuf-size=4M",
				 "--num-subbuf=8", "bench", NULL };
		char *ev[] = { "lttng", "enable-event", "--userspace",
			       "--session", s->bs_name, "--channel=bench",
			       "lwkt:ipi_send", NULL };
		char *start[] = { "lttng", "start", s->bs_name, NULL };

		if (bench_trace_run(create, NULL) != 0) {
			snprintf(err, len, "lttng create %s failed", s->bs_name);
			goto fail;
		}
		s->bs_created = true;
		if (bench_trace_run(chan, NULL) != 0 ||
		    bench_trace_run(ev, NULL) != 0 ||
		    bench_trace_run(start, NULL) != 0) {
			snprintf(err, len, "lttng enable-channel/enable-event/"
				 "start failed for session %s", s->bs_name);
			goto fail;
		}
	}
	return true;
fail:
	bench_trace_session_end(s);
	return false;
}

static void
bench_tracepoint_recording(gbench_state *st)
{
	struct bench_trace_session s;
	char err[PATH_MAX + 128];
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	long discarded;
	int waited;
	void *h;

	if (!bench_trace_session_begin(&s, err, sizeof(err))) {
		gbench_skip_with_error(st, err);
		return;
	}
	if (!bench_trace_tp_load(&h, err, sizeof(err))) {
		bench_trace_session_end(&s);
		gbench_skip_with_error(st, err);
		return;
	}
	/* The application registers with the session daemon from a
	 * liblttng-ust thread; the session reaches the site after that. */
	for (waited = 0; !LWKT_TRACE_ENABLED(ipi_send) && waited < 1000; waited++)
		nanosleep(&ts, NULL);
	if (!LWKT_TRACE_ENABLED(ipi_send)) {
		bench_trace_tp_unload(h);
		bench_trace_session_end(&s);
		gbench_skip_with_error(st, "the session did not enable "
				       "lwkt:ipi_send within 10 s (application "
				       "not registered with lttng-sessiond?)");
		return;
	}
	bench_trace_loop(st);
	{
		char *stop[] = { "lttng", "stop", s.bs_name, NULL };

		(void)bench_trace_run(stop, NULL);
	}
	discarded = bench_trace_discarded(&s);
	gbench_counter(st, "discarded", (double)discarded, GBENCH_CTR_DEFAULT);
	if (discarded > 0)
		gbench_set_label(st, "events discarded: time per event is optimistic");
	else if (discarded < 0)
		gbench_set_label(st, "discarded count unknown");
	bench_trace_session_end(&s);
	bench_trace_tp_unload(h);
}
GBENCH_REGISTER(bench_tracepoint_recording, "overhead/tracepoint_recording",
		gbench_arg(f, 1))
