/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt-trace-runtime - a short run of the real LWKT runtime for the trace
 * round-trip check: two cpus, one thread on each; cpu 0's thread sends
 * IPI pings to cpu 1 whose callback pongs back to cpu 0, in windows, and
 * cpu 1's thread yields and sleeps in between, so the trace holds the
 * runtime's own ipi_send/recv/done, thread create/switch/exit, critical
 * sections and idle events.  Exits 0 when every pong came back.
 *
 *   lwkt-trace-runtime [--pings N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lwkt/cpu.h>
#include <lwkt/ipiq.h>
#include <lwkt/thread.h>

#define RT_WINDOW 8

/* Pongs seen on cpu 0: written by pong IPIs on cpu 0 only (relaxed: the
 * pinger reads it on the same cpu, after lwkt_ipiq_poll ran them). */
static _Atomic uint64_t rt_pongs;
/* Pings seen on cpu 1 (written on cpu 1; read after join). */
static _Atomic uint64_t rt_pings_seen;
static uint64_t rt_npings = 2000;

static void
rt_pong(void *a1, void *a2)
{
	(void)a1; (void)a2;
	atomic_fetch_add_explicit(&rt_pongs, 1, memory_order_relaxed);
}

/* Runs on cpu 1: answers on cpu 1's ring to cpu 0. */
static void
rt_ping(void *a1, void *a2)
{
	(void)a1; (void)a2;
	atomic_fetch_add_explicit(&rt_pings_seen, 1, memory_order_relaxed);
	lwkt_send_ipiq(0, rt_pong, NULL);
}

static void
rt_pinger(void *arg)
{
	(void)arg;
	for (uint64_t sent = 0; sent < rt_npings;) {
		uint64_t n = rt_npings - sent < RT_WINDOW ? rt_npings - sent : RT_WINDOW;

		for (uint64_t k = 0; k < n; k++)
			lwkt_send_ipiq(1, rt_ping, NULL);
		sent += n;
		while (atomic_load_explicit(&rt_pongs, memory_order_relaxed) < sent)
			if (lwkt_ipiq_poll() == 0)
				lwkt_yield();
	}
}

/* A second thread on cpu 1 that yields now and then: thread switches. */
static void
rt_yielder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		lwkt_yield();
}

int
main(int argc, char **argv)
{
	struct lwkt_config cfg;
	lwkt_thread_t a, b;
	int err;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--pings") && i + 1 < argc) {
			errno = 0;
			rt_npings = strtoull(argv[++i], &end, 10);
			if (*end || errno || rt_npings == 0) {
				fprintf(stderr, "lwkt-trace-runtime: --pings needs "
					"an integer >= 1\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: lwkt-trace-runtime [--pings N]\n");
			return 2;
		}
	}
	lwkt_config_default(&cfg);
	cfg.lc_cpus = "count=2";
	if ((err = lwkt_init(&cfg)) != 0) {
		fprintf(stderr, "lwkt-trace-runtime: lwkt_init: %s\n", strerror(err));
		return 1;
	}
	if ((err = lwkt_create(rt_pinger, NULL, 0, 0, &a, "pinger")) != 0 ||
	    (err = lwkt_create(rt_yielder, NULL, 1, 0, &b, "yielder")) != 0) {
		fprintf(stderr, "lwkt-trace-runtime: lwkt_create: %s\n", strerror(err));
		lwkt_shutdown();
		return 1;
	}
	lwkt_join(a);
	lwkt_join(b);
	lwkt_shutdown();
	if (atomic_load(&rt_pongs) != rt_npings ||
	    atomic_load(&rt_pings_seen) != rt_npings) {
		fprintf(stderr, "lwkt-trace-runtime: %" PRIu64 " pings, %" PRIu64
			" seen, %" PRIu64 " pongs\n", rt_npings,
			atomic_load(&rt_pings_seen), atomic_load(&rt_pongs));
		return 1;
	}
	printf("lwkt-trace-runtime: %" PRIu64 " ping/pong IPIs\n", rt_npings);
	return 0;
}
