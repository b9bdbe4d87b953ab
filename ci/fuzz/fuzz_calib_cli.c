/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_calib_cli.c - the C part of lwkt-record's command line: the
 * arguments lwkt-record hands to lwkt-trace-calib (its flags, then the
 * recorded command's words, joined into the trace's title).
 * trace/lwkt_trace_calib.c's main() is compiled here as calib_main.
 *
 * lwkt-record itself is a bash script: AFL++ measures coverage through
 * the compiler's instrumentation, which bash does not have, and every
 * accepted command line would start a session daemon and a recording.
 * Its option parsing is fuzzed by a structured mutation test instead
 * (fuzz_record_cli.py).
 *
 * Input: the arguments, NUL-separated (at most 64).  No session records
 * here, so an accepted command line ends with status 3 ("not recorded")
 * after the parsing and the title.  Property: the status is 0, 2 or 3.
 * Persistent: calib_main keeps no state between calls.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_PERSISTENT 1
#include "fuzz_main.h"
#define MAXARGS 64

int calib_main(int argc, char **argv);

static void
fuzz_setup(void)
{
}

static void
fuzz_one(const uint8_t *buf, size_t len)
{
	/* Each word in its own exact-size allocation: an over-read of an
	 * argument is an ASan report. */
	char *argv[MAXARGS + 2];
	int argc = 0;
	argv[argc++] = "lwkt-trace-calib";
	for (size_t i = 0; i < len && argc <= MAXARGS;) {
		size_t n = strnlen((const char *)buf + i, len - i);
		char *w = malloc(n + 1);
		if (!w)
			abort();
		memcpy(w, buf + i, n);
		w[n] = '\0';
		argv[argc++] = w;
		i += n + 1;
	}
	argv[argc] = NULL;
	int rc = calib_main(argc, argv);
	if (rc != 0 && rc != 2 && rc != 3) {
		fprintf(stderr, "fuzz_calib_cli: exit status %d (0, 2 or 3 expected)\n", rc);
		abort();
	}
	for (int i = 1; i < argc; i++)
		free(argv[i]);
}

