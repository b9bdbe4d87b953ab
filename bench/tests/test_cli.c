/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cli.c - lwkt-bench as a user meets it: flags, errors, the floors'
 * JSON and the host record.  Runs the real binary of this build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ltest.h"

#define BENCH LWKT_BUILD_DIR "/lwkt-bench"

/* Runs cmd through sh, captures stdout+stderr into out; returns exit code. */
static int
run(const char *cmd, char *out, size_t len)
{
	char full[1024];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char out[1 << 20];

static int
count(const char *s, const char *what)
{
	int n = 0;
	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

START_TEST(t_help)
{
	ck_assert_int_eq(run(BENCH " --help", out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: lwkt-bench"));
	ck_assert_ptr_nonnull(strstr(out, "--cpus"));
	ck_assert_ptr_nonnull(strstr(out, "--benchmark_filter"));
}
END_TEST

START_TEST(t_unknown_flag)
{
	ck_assert_int_eq(run(BENCH " --bogus", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown argument '--bogus'"));
	ck_assert_ptr_nonnull(strstr(out, "usage:"));
	ck_assert_int_eq(run(BENCH " --profile=slow", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown profile"));
	/* google-benchmark's own check for a misspelt --benchmark_ flag */
	ck_assert_int_eq(run(BENCH " --benchmark_filterx=a", out, sizeof out),
			 2);
}
END_TEST

/* google-benchmark itself prints usage and exits 0 for these. */
START_TEST(t_bad_gbench_values)
{
	static const char *bad[] = {
	    " --benchmark_format=xml", " --benchmark_out_format=xml",
	    " --benchmark_time_unit=h", " --benchmark_color="};
	char cmd[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, BENCH "%s", bad[i]);
		ck_assert_msg(run(cmd, out, sizeof out) == 2, "%s: not exit 2",
			      bad[i]);
		ck_assert_msg(strstr(out, "bad value"), "%s: %s", bad[i], out);
	}
	/* A flag where --cpus wants its value. */
	ck_assert_int_eq(run(BENCH " --cpus --benchmark_filter=x", out,
			     sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "--cpus needs a value"));
}
END_TEST

START_TEST(t_bad_cpus)
{
	ck_assert_int_eq(run(BENCH " --cpus=0,0", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "twice"));
	ck_assert_int_eq(run(BENCH " --cpus=9999,0", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "no PU 9999"));
	ck_assert_int_eq(run(BENCH " --cpus=0", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "exactly two"));
	ck_assert_int_eq(run(BENCH " --cpus=", out, sizeof out), 2);
}
END_TEST

START_TEST(t_floors_json)
{
	ck_assert_int_eq(run(BENCH " --benchmark_filter='floor_(cacheline|spsc"
			     "|indirect|cas)|spsc_indexed|shim/' "
			     "--benchmark_min_time=0.01"
			     " --benchmark_format=json", out, sizeof out), 0);
	static const char *names[] = {
	    "\"roundtrip/floor_cacheline/real_time\"",
	    "\"stream/floor_spsc/real_time\"",
	    "\"stream/spsc_indexed/real_time\"", "\"call/floor_indirect\"",
	    "\"atomic/floor_cas\"", "\"shim/empty_loop\"",
	    "\"shim/native_empty_loop\""};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ck_assert_msg(strstr(out, names[i]), "%s missing", names[i]);
	/* One PU (taskset, a cpuset): the cross-cpu floors must say so and
	 * nothing else may fail; the test is then skipped, not passed. */
	int errs = count(out, "\"error_occurred\": true");
	if (errs > 0 && errs == count(out, "\"error_message\": \"needs two "
				      "PUs")) {
		printf("SKIPPED: cli/t_floors_json: the cross-cpu floors need "
		       "two PUs (%d reported it)\n", errs);
		return;
	}
	ck_assert_msg(errs == 0, "%d benchmarks failed:\n%s", errs, out);
	ck_assert_ptr_nonnull(strstr(out, "\"items_per_second\""));
}
END_TEST

START_TEST(t_host_json)
{
	char path[] = "/tmp/lwkt-host-XXXXXX", cmd[1024];
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof cmd, BENCH " --host-json=%s "
		 "--benchmark_filter=NONE_MATCHES", path);
	ck_assert_int_eq(run(cmd, out, sizeof out), 0);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json,sys; "
		 "d=json.load(open(\"%s\")); k=[\"kernel\",\"cpu_model\",\"pus\","
		 "\"cores\",\"membarrier_private_expedited\",\"compiler\","
		 "\"git_revision\",\"hwloc_topology_xml\"]; m=[x for x in k if "
		 "x not in d]; print(\"missing\",m) if m else None; "
		 "sys.exit(1 if m or \"<topology\" not in "
		 "d[\"hwloc_topology_xml\"] else 0)'", path);
	ck_assert_int_eq(run(cmd, out, sizeof out), 0);
	unlink(path);
	ck_assert_int_eq(run(BENCH " --host-json=/nonexistent/dir/h.json",
			     out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "cannot write"));
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "cli", 120);
	tcase_add_test(tc, t_help);
	tcase_add_test(tc, t_unknown_flag);
	tcase_add_test(tc, t_bad_gbench_values);
	tcase_add_test(tc, t_bad_cpus);
	tcase_add_test(tc, t_floors_json);
	tcase_add_test(tc, t_host_json);
}
LTEST_MAIN("bench-cli", add)
