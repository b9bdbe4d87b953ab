/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tracef_gen - a small program that records plain (non-lwkt) LTTng-UST
 * events with lttng_ust_tracef, one pinned thread per PU, with markup in
 * the messages: the viz check records it to test the generic per-cpu
 * lanes of sink.lwkt.chrome, the "no lwkt events" error of
 * sink.lwkt.timeline and the escaping of names in both outputs.
 *
 *   tracef_gen [N]     N events per thread (default 20)
 */
#include <lttng/tracef.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long nev = 20;

static void *
worker(void *arg)
{
	long cpu = (long)arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	/* Pinning may fail in a restricted cpuset: the events still carry
	 * the cpu they ran on. */
	(void)sched_setaffinity(0, sizeof(set), &set);
	for (long i = 0; i < nev; i++)
		lttng_ust_tracef("</script><b onmouseover=alert(1)>step %ld</b> & \"cpu\" %ld",
				 i, cpu);
	return NULL;
}

int
main(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t[64];

	if (argc > 1 && (nev = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: tracef_gen [N]\n");
		return 2;
	}
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	for (long i = 0; i < ncpu; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	for (long i = 0; i < ncpu; i++)
		pthread_join(t[i], NULL);
	return 0;
}
