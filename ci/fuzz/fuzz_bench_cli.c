/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_bench_cli.c - lwkt-bench's command line: bench/main.c's main(),
 * compiled here as lwkt_bench_main (-Dmain=lwkt_bench_main), linked with
 * every benchmark family, google-benchmark and liblwkt, as lwkt-bench is.
 *
 * Input: the arguments, separated by NUL bytes (at most 64).  Run as
 *   lwkt-bench ARGS... --benchmark_list_tests=true
 * so an accepted command line lists the benchmarks it selected instead of
 * running them (the last flag wins in google-benchmark).  File names of
 * --host-json= and --benchmark_out= lose their '/' (they land in the
 * fuzzer's scratch directory, never elsewhere).
 *
 * Properties (abort() when violated): the exit status is 0, 1 or 2; the
 * program returns from main (google-benchmark answers some bad flag
 * values with its usage and exit(0) deep inside Initialize(): a caller
 * would take the bad command line for a success -- main.c checks those
 * values first, and this harness catches any it misses).
 *
 * Not persistent: google-benchmark keeps its flags in globals.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/topo.h"

#define FUZZ_PERSISTENT 0
#include "fuzz_main.h"
#define MAXARGS 64

int lwkt_bench_main(int argc, char **argv);

static volatile int in_main;

/*
 * exit() from inside lwkt_bench_main: libbenchmark.so's call resolves to
 * this definition (the executable's symbols come first).  A zero status
 * there is the false success above; anything else goes on to libc.
 */
void
exit(int status)
{
	static void (*real_exit)(int);

	if (in_main && status == 0) {
		fputs("fuzz_bench_cli: exit(0) from inside lwkt-bench's main: a "
		      "command line taken for a success without returning\n",
		      stderr);
		abort();
	}
	if (!real_exit)
		real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	if (!real_exit)
		_exit(status);
	real_exit(status);
	__builtin_unreachable();
}

static void
fuzz_setup(void)
{
	/* The topology load (hwloc) is the slow part: once, before the
	 * fork server.  main.c's own call then finds it loaded. */
	if (lwkt_topo_init() != 0) {
		fputs("fuzz_bench_cli: cannot load the hwloc topology\n", stderr);
		_exit(3);
	}
}

static void
defang(char *a, const char *flag)
{
	size_t n = strlen(flag);
	if (strncmp(a, flag, n) != 0)
		return;
	for (char *p = a + n; *p; p++)
		if (*p == '/')
			*p = '_';
}

static void
fuzz_one(const uint8_t *buf, size_t len)
{
	char *argv[MAXARGS + 3];
	int argc = 0;
	/* NUL-separated words; a copy so each ends in a NUL. */
	char *copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, buf, len);
	copy[len] = '\0';
	argv[argc++] = "lwkt-bench";
	for (size_t i = 0; i < len && argc <= MAXARGS; i += strlen(copy + i) + 1) {
		defang(copy + i, "--host-json=");
		defang(copy + i, "--benchmark_out=");
		argv[argc++] = copy + i;
	}
	argv[argc++] = "--benchmark_list_tests=true";
	argv[argc] = NULL;

	in_main = 1;
	int rc = lwkt_bench_main(argc, argv);
	in_main = 0;
	if (rc < 0 || rc > 2) {
		fprintf(stderr, "fuzz_bench_cli: exit status %d (0, 1 or 2 expected)\n", rc);
		abort();
	}
	free(copy);
	fflush(NULL);
	_exit(rc);
}

