/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt-trace-calib - measures what one recorded `lwkt` event costs on
 * this host, for trace/lwkt-record, and stores the result with the
 * command in the trace (lwkt:record_info), so a reader can estimate each
 * traced interval with the tracing cost removed.
 *
 * Two modes, both run by lwkt-record with the provider preloaded:
 *
 *   lwkt-trace-calib [--events N] [--rounds R] [--warm W] [--no-info]
 *                    [--] COMMAND TEXT...
 *     measures.  lwkt-record runs it in a calibration session of its own
 *     (snapshot mode, a small per-cpu ring of the recording channel's
 *     kind, the same contexts vpid/vtid/procname), before the recording
 *     session starts.  Method: pinned to its cpu; 3 rounds of N
 *     back-to-back lwkt:calib_tick events in the fresh ring (the cost of
 *     a ring's first lap, reported as cold_event_cost_ps: it is not
 *     used), then W events that wrap the small ring several times, then
 *     R timed rounds of N events; the cost per event is the median round
 *     time / N (the median drops rounds that a preemption hit).
 *     Why the warm-up: on this kind of host the first lap through a
 *     freshly created ring costs back-to-back events 1.5-2.5x what they
 *     cost once the ring has wrapped (same process, same buffers: the
 *     drop follows the ring size, not the time), while the events of a
 *     traced program, spaced by its own work, cost the lower figure
 *     (lwkt-bench's overhead/tracepoint_recording measures it in
 *     process; calib-compare checks it against the untraced benchmark).
 *     The loop without a session costs < 1 ns per event (the
 *     tracepoint's disabled branch): not subtracted.
 *
 *   lwkt-trace-calib --cost PS [--calib-events E] [--] COMMAND TEXT...
 *     records lwkt:record_info(COMMAND, PS, E) in the session that now
 *     records (PS 0: no cost measured; the viz then shows traced times
 *     only).
 *
 * Prints "event_cost_ps=P calib_events=E cold_event_cost_ps=C
 * spread_ps=LO-HI" (LO, HI: the rounds' quartiles) after a measurement;
 * exits 3 when the event it needs is not enabled (no session, or the
 * provider is not loaded): nothing measured or recorded; 2: bad usage.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lwkt/src/lwkt_trace.h"

#define CALIB_MAX_ROUNDS 101
#define CALIB_COLD_ROUNDS 3
#define USAGE "usage: lwkt-trace-calib [--events N] [--rounds R] [--warm W] " \
	"[--no-info] [--] COMMAND TEXT...\n" \
	"       lwkt-trace-calib --cost PS [--calib-events E] [--] COMMAND TEXT...\n"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
uarg(const char *flag, const char *s, unsigned long long lo,
     unsigned long long hi, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "lwkt-trace-calib: %s needs an integer in [%llu, %llu] "
		"(got '%s')\n" USAGE, flag, lo, hi, s ? s : "");
	return -1;
}

/* R rounds of n events each: per-round times (ns) into t[], sorted. */
static void
burst(uint64_t *t, unsigned long rounds, unsigned long n, uint64_t *seq)
{
	for (unsigned long r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		for (unsigned long k = 0; k < n; k++)
			LWKT_TRACE(calib_tick, (*seq)++);
		t[r] = now_ns() - t0;
	}
	qsort(t, rounds, sizeof(t[0]), cmp_u64);
}

int
main(int argc, char **argv)
{
	unsigned long long n = 2000, rounds = 11, warm = 32768, cost = 0,
			   cevents = 0;
	bool info = true, have_cost = false;
	uint64_t t[CALIB_MAX_ROUNDS], seq = 0;
	char cmd[4096];
	size_t len = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long *dst = NULL, lo = 0, hi = 0;

		if (!strcmp(a, "--events"))
			dst = &n, lo = 16, hi = 1000000;
		else if (!strcmp(a, "--rounds"))
			dst = &rounds, lo = 1, hi = CALIB_MAX_ROUNDS;
		else if (!strcmp(a, "--warm"))
			dst = &warm, lo = 0, hi = 100000000;
		else if (!strcmp(a, "--cost"))
			dst = &cost, lo = 0, hi = UINT64_MAX, have_cost = true;
		else if (!strcmp(a, "--calib-events"))
			dst = &cevents, lo = 0, hi = UINT64_MAX;
		if (dst) {
			if (uarg(a, v, lo, hi, dst))
				return 2;
			i++;
		} else if (!strcmp(a, "--no-info")) {
			info = false;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf(USAGE);
			return 0;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-') {
			fprintf(stderr, "lwkt-trace-calib: unknown option '%s'\n"
				USAGE, a);
			return 2;
		} else {
			break;
		}
	}
	cmd[0] = '\0';
	for (; i < argc; i++) {
		int w = snprintf(cmd + len, sizeof(cmd) - len, "%s%s",
				 len ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(cmd) - len) {
			len = sizeof(cmd) - 1;	/* truncated: still a title */
			break;
		}
		len += (size_t)w;
	}

	if (have_cost) {
		if (!LWKT_TRACE_ENABLED(record_info)) {
			fprintf(stderr, "lwkt-trace-calib: lwkt:record_info is "
				"not recorded (no session, or the provider is "
				"not loaded): nothing recorded\n");
			return 3;
		}
		LWKT_TRACE(record_info, cmd, (uint64_t)cost, (uint64_t)cevents);
		return 0;
	}
	if (!LWKT_TRACE_ENABLED(calib_tick)) {
		fprintf(stderr, "lwkt-trace-calib: lwkt:calib_tick is not "
			"recorded (no session, or the provider is not loaded): "
			"nothing measured\n");
		return 3;
	}
	/* One cpu, one ring: a migration would start a cold ring mid-round. */
	int cpu = sched_getcpu();
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		(void)sched_setaffinity(0, sizeof(set), &set);
	}
	burst(t, CALIB_COLD_ROUNDS, n, &seq);
	uint64_t cold_ps = t[CALIB_COLD_ROUNDS / 2] * 1000u / n;
	for (unsigned long long k = 0; k < warm; k++)
		LWKT_TRACE(calib_tick, seq++);
	burst(t, rounds, n, &seq);
	uint64_t ps = t[rounds / 2] * 1000u / n;
	uint64_t lo_ps = t[rounds / 4] * 1000u / n;
	uint64_t hi_ps = t[(3 * rounds) / 4] * 1000u / n;
	uint64_t timed = (uint64_t)(n * rounds);
	if (info)
		LWKT_TRACE(record_info, cmd, ps, timed);
	printf("event_cost_ps=%" PRIu64 " calib_events=%" PRIu64
	       " cold_event_cost_ps=%" PRIu64 " spread_ps=%" PRIu64 "-%" PRIu64
	       "\n", ps, timed, cold_ps, lo_ps, hi_ps);
	return 0;
}
