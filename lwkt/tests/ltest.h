/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ltest.h - the few lines every lwkt-lab test binary shares, over Check
 * (libcheck: each test in its own forked process, with a timeout).
 *
 * Criterion was the first choice but cannot start under ThreadSanitizer
 * (its inheritable arena fails to map: Snaipe/Criterion issue 274), and
 * every concurrency test must run under TSan, so the suite uses Check.
 *
 * Every test case gets a timeout (seconds, scaled by the runner's
 * CK_TIMEOUT_MULTIPLIER for sanitizer builds): a deadlock fails the test,
 * it never hangs CI.
 */
#ifndef LWKT_TESTS_LTEST_H
#define LWKT_TESTS_LTEST_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The suite's name, set by LTEST_MAIN (read by LTEST_SKIP). */
static const char *ltest_suite_name = "?";

/* Prints the skip line of the test runner: "SKIPPED: suite/test: why"
 * (test = the Check function name without its "_fn").  ci/run-tests
 * counts such a test as skipped, not passed. */
__attribute__((format(printf, 2, 3), unused)) static void
ltest_skip_line(const char *fn, const char *fmt, ...)
{
	size_t len = strlen(fn);
	if (len > 3 && strcmp(fn + len - 3, "_fn") == 0)
		len -= 3;
	printf("SKIPPED: %s/%.*s: ", ltest_suite_name, (int)len, fn);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Ends the running test as skipped, with a reason (printf format).  Use
 * it instead of a bare return: a test that ran nothing must not pass. */
#define LTEST_SKIP(...)							\
	do {								\
		ltest_skip_line(__func__, __VA_ARGS__);			\
		return;							\
	} while (0)

/* A test case with a timeout; add tests to it with tcase_add_test(). */
static inline TCase *
ltest_tcase(Suite *s, const char *name, double timeout_s)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout_s);
	suite_add_tcase(s, tc);
	return tc;
}

/* Defines main(): builds the suite with add(s), runs it verbosely, exits
 * non-zero if any test failed. */
#define LTEST_MAIN(suite_name, add)					\
	int main(void)							\
	{								\
		ltest_suite_name = suite_name;				\
		Suite *s = suite_create(suite_name);			\
		add(s);							\
		SRunner *sr = srunner_create(s);			\
		srunner_run_all(sr, CK_VERBOSE);			\
		int nf = srunner_ntests_failed(sr);			\
		srunner_free(sr);					\
		return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;		\
	}

#endif /* LWKT_TESTS_LTEST_H */
