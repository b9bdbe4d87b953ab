/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_main.h - the main() every harness shares.  A harness defines
 * FUZZ_PERSISTENT (1: many inputs per process, AFL++'s persistent mode;
 * 0: the code under test keeps global state or may exit, so each input
 * runs in a fresh fork of the set-up process), includes this file, and
 * defines
 *
 *   static void fuzz_setup(void);     once, before the fork server starts
 *                                     (topology, plugins: the slow part)
 *   static void fuzz_one(const uint8_t *buf, size_t len);
 *                                     one input; abort() when a property
 *                                     of the code under test is violated
 *
 *   harness FILE...   replays each FILE (make fuzz-replay, a crash input)
 *   harness           under afl-fuzz: the fork server (deferred until
 *                     fuzz_setup() returned), inputs from shared memory
 *                     or stdin; run by hand: one input from stdin
 *
 * The AFL++ macros (__AFL_INIT, __AFL_LOOP, __AFL_FUZZ_TESTCASE_BUF) are
 * those of AFL++'s docs/fuzzing_in_depth.md ("persistent mode"); they
 * exist only under afl-clang-fast, so a plain compiler builds a replayer.
 */
#ifndef LWKT_FUZZ_MAIN_H
#define LWKT_FUZZ_MAIN_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUZZ_PERSISTENT
#error "define FUZZ_PERSISTENT (0 or 1) before including fuzz_main.h"
#endif

static void fuzz_setup(void);
static void fuzz_one(const uint8_t *buf, size_t len);

/* Largest input read; afl-fuzz's own cap (MAX_FILE) is 1 MiB. */
#define FUZZ_MAX_INPUT (1u << 20)

/* Shared-memory inputs in persistent mode only: the macro also marks
 * the binary, and afl-fuzz then stops feeding stdin. */
#if defined(__AFL_FUZZ_TESTCASE_LEN) && FUZZ_PERSISTENT
#define FUZZ_SHM 1
__AFL_FUZZ_INIT();
#endif

/* Reads all of fd into a malloc'ed buffer (one spare byte); NULL on error. */
static inline uint8_t *
fuzz_read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap + 1);

	while (b) {
		if (n == cap) {
			uint8_t *nb = cap < FUZZ_MAX_INPUT ? realloc(b, cap * 2 + 1) : NULL;
			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			*len = n;
			return b;
		}
		n += (size_t)r;
	}
	free(b);
	return NULL;
}

/* Replays one file: the harness gets an exact-size heap copy, so an
 * over-read by one byte is an ASan report, as under afl-fuzz. */
static int
fuzz_replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t len = 0;
	uint8_t *all = fuzz_read_all(fileno(f), &len);
	fclose(f);
	if (!all) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		return -1;
	}
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(all);
		return -1;
	}
	memcpy(exact, all, len);
	free(all);
	fuzz_one(exact, len);
	free(exact);
	return 0;
}

int
main(int argc, char **argv)
{
	fuzz_setup();
	if (argc > 1) {
		int bad = 0;
		for (int i = 1; i < argc; i++) {
#if !FUZZ_PERSISTENT
			/* One input per process, as under afl-fuzz. */
			fflush(NULL);
			pid_t p = fork();
			if (p == 0) {
				_exit(fuzz_replay(argv[i]) ? 3 : 0);
			}
			int st = 0;
			if (p < 0 || waitpid(p, &st, 0) != p) {
				perror("fuzz: fork");
				return 3;
			}
			if (WIFSIGNALED(st)) {
				fprintf(stderr, "fuzz: %s: killed by signal %d\n",
					argv[i], WTERMSIG(st));
				return 1;
			}
			if (WEXITSTATUS(st) == 3)
				bad = 1;
#else
			if (fuzz_replay(argv[i]))
				bad = 1;
#endif
		}
		return bad ? 3 : 0;
	}
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
#endif
#ifdef FUZZ_SHM
	const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
	/* A fresh process every 1000 inputs bounds what a leak in a
	 * library (libbabeltrace2's caches) can accumulate. */
	while (__AFL_LOOP(1000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
		uint8_t *exact = malloc(len ? len : 1);
		if (!exact)
			abort();
		memcpy(exact, buf, len);
		fuzz_one(exact, len);
		free(exact);
	}
	return 0;
#endif
	size_t len = 0;
	uint8_t *in = fuzz_read_all(0, &len);
	if (!in) {
		fprintf(stderr, "fuzz: cannot read standard input\n");
		return 3;
	}
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		return 3;
	memcpy(exact, in, len);
	free(in);
	fuzz_one(exact, len);
	free(exact);
	return 0;
}

#endif /* LWKT_FUZZ_MAIN_H */
