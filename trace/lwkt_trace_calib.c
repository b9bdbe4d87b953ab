/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt-trace-calib - measures what one recorded `lwkt` event costs on
 * this host, in the session that is about to record a command, and
 * stores the result in the trace itself (lwkt:record_info), so a reader
 * can estimate each traced interval with the tracing cost removed.
 *
 * trace/lwkt-record runs it (with the provider preloaded) after it
 * started the session and before the command.  Method: ROUNDS rounds of
 * N back-to-back lwkt:calib_tick events, each round timed with
 * CLOCK_MONOTONIC; the cost per event is the median round time / N (the
 * median drops rounds that a preemption or a sub-buffer switch hit).  The
 * loop without a recording session costs < 1 ns per event (the
 * tracepoint's disabled branch), so it is not subtracted.
 *
 *   lwkt-trace-calib [--events N] [--rounds R] [--] COMMAND TEXT...
 *
 * Prints "event_cost_ps=P calib_events=E" on stdout; exits 3 when the
 * tracepoint is not enabled (no session, no provider): nothing measured.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lwkt/src/lwkt_trace.h"

#define CALIB_MAX_ROUNDS 101

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
uarg(const char *flag, const char *s, unsigned long lo, unsigned long hi,
     unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s == '\0' || *s == '-')
		goto bad;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "lwkt-trace-calib: %s needs an integer in [%lu, %lu] "
		"(got '%s')\n", flag, lo, hi, s ? s : "");
	return -1;
}

int
main(int argc, char **argv)
{
	unsigned long n = 2000, rounds = 11;
	uint64_t t[CALIB_MAX_ROUNDS];
	char cmd[4096];
	size_t len = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events")) {
			if (uarg("--events", argv[i + 1 < argc ? i + 1 : i], 16,
				 1000000, &n))
				return 2;
			i++;
		} else if (!strcmp(argv[i], "--rounds")) {
			if (uarg("--rounds", argv[i + 1 < argc ? i + 1 : i], 1,
				 CALIB_MAX_ROUNDS, &rounds))
				return 2;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: lwkt-trace-calib [--events N] [--rounds R] "
			       "[--] COMMAND TEXT...\n");
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "lwkt-trace-calib: unknown option '%s'\n"
				"usage: lwkt-trace-calib [--events N] [--rounds R] "
				"[--] COMMAND TEXT...\n", argv[i]);
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
	if (!LWKT_TRACE_ENABLED(calib_tick)) {
		fprintf(stderr, "lwkt-trace-calib: lwkt:calib_tick is not "
			"recorded (no session, or the provider is not loaded): "
			"nothing measured\n");
		return 3;
	}
	/* One warm-up round: page faults of the buffers, cold caches. */
	for (unsigned long k = 0; k < n; k++)
		LWKT_TRACE(calib_tick, k);
	for (unsigned long r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		for (unsigned long k = 0; k < n; k++)
			LWKT_TRACE(calib_tick, k);
		t[r] = now_ns() - t0;
	}
	qsort(t, rounds, sizeof(t[0]), cmp_u64);
	uint64_t ps = t[rounds / 2] * 1000u / n;
	LWKT_TRACE(record_info, cmd, ps, (uint64_t)(n * (rounds + 1)));
	printf("event_cost_ps=%" PRIu64 " calib_events=%lu\n", ps,
	       n * (rounds + 1));
	return 0;
}
