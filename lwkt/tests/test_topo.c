/* SPDX-License-Identifier: BSD-3-Clause */
/* test_topo.c - the cpu-list parser shared by --cpus, LWKT_CPUS, lwkt_init. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwkt/cpu.h"
#include "lwkt/topo.h"
#include "ltest.h"

static unsigned pus[LWKT_TOPO_MAXPU], n;
static char err[256];

static int
parse(const char *spec)
{
	err[0] = '\0';
	return lwkt_topo_parse(spec, pus, LWKT_TOPO_MAXPU, &n, err, sizeof err);
}

START_TEST(t_all_and_count)
{
	unsigned npu = lwkt_topo_npus();
	ck_assert_uint_ge(npu, 1);
	ck_assert_int_eq(parse("all"), 0);
	ck_assert_uint_eq(n, npu);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq((int)pus[i], lwkt_topo_pu(i));
	ck_assert_int_eq(parse("count=1"), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(pus[0], (unsigned)lwkt_topo_pu(0));
}
END_TEST

START_TEST(t_list_and_range)
{
	if (lwkt_topo_npus() < 2)
		LTEST_SKIP("needs 2 PUs, this process may use %u",
			   lwkt_topo_npus());
	unsigned a = (unsigned)lwkt_topo_pu(0), b = (unsigned)lwkt_topo_pu(1);
	char spec[64];
	snprintf(spec, sizeof spec, "%u,%u", b, a);
	ck_assert_int_eq(parse(spec), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(pus[0], b);	/* order is kept */
	ck_assert_uint_eq(pus[1], a);
	if (b == a + 1) {
		snprintf(spec, sizeof spec, "%u-%u", a, b);
		ck_assert_int_eq(parse(spec), 0);
		ck_assert_uint_eq(n, 2);
	}
}
END_TEST

START_TEST(t_bad_lists)
{
	static const char *bad[] = {"", "x", "0,", ",0", "0,,1", "1-0",
				    "0-", "count=0", "count=", "count=x",
				    "99999", "4000", "0,0", "-1", "0 1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(parse(bad[i]) == EINVAL, "'%s' accepted", bad[i]);
		ck_assert_msg(strlen(err) > 10, "no reason for '%s'", bad[i]);
	}
	ck_assert_int_eq(parse(NULL), EINVAL);
	char spec[32];
	snprintf(spec, sizeof spec, "count=%u", lwkt_topo_npus() + 1);
	ck_assert_int_eq(parse(spec), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "PUs"));
	ck_assert_int_eq(parse("0,0"), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
}
END_TEST

START_TEST(t_bind_and_distance)
{
	unsigned a = (unsigned)lwkt_topo_pu(0);
	ck_assert_int_eq(lwkt_topo_bind_self(a), 0);
	ck_assert_int_eq(sched_getcpu(), (int)a);
	ck_assert_int_ne(lwkt_topo_bind_self(100000), 0);
	ck_assert_str_eq(lwkt_topo_distance(a, a), "same_pu");
	if (lwkt_topo_npus() >= 2) {
		const char *d = lwkt_topo_distance(a, (unsigned)lwkt_topo_pu(1));
		ck_assert_str_ne(d, "same_pu");
		ck_assert_str_ne(d, "unknown");
	}
	char *xml = lwkt_topo_xml();
	ck_assert_ptr_nonnull(xml);
	ck_assert_ptr_nonnull(strstr(xml, "<topology"));
	free(xml);
}
END_TEST

/*
 * ---- the process's CPU binding (taskset/cpuset) is respected ----
 * A child binds itself to one PU before the topology loads, as
 * `taskset -c P` would: "all" is then that PU alone, lwkt_init starts one
 * cpu there, and a list naming another PU is a clear error.
 */
static int
binding_child(unsigned keep, int other)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(keep, &set);
	/* Every thread, as taskset does (a sanitizer runtime may have one
	 * of its own): hwloc takes the union of the threads' bindings. */
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		return 10;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		if (sched_setaffinity(atoi(e->d_name), sizeof set, &set) != 0)
			return 10;
	}
	closedir(d);
	if (lwkt_topo_npus() != 1)
		return 11;
	if (parse("all") != 0 || n != 1 || pus[0] != keep)
		return 12;
	if (lwkt_init(NULL) != 0 || lwkt_ncpus() != 1 ||
	    lwkt_cpu_pu(0) != keep)
		return 13;
	lwkt_shutdown();
	if (other >= 0) {
		char spec[32];
		snprintf(spec, sizeof spec, "%u,%d", keep, other);
		if (parse(spec) != EINVAL)
			return 14;
		if (strstr(err, "outside this process's CPU binding") == NULL)
			return 15;
		fprintf(stderr, "binding child: %s\n", err);
		struct lwkt_config cfg;
		lwkt_config_default(&cfg);
		cfg.lc_cpus = spec;
		if (lwkt_init(&cfg) != EINVAL || lwkt_ncpus() != 0)
			return 16;
	}
	return 0;
}

START_TEST(t_respects_cpu_binding)
{
	/* In a child that has not loaded the topology yet (a fork after a
	 * lwkt_topo_* call would inherit the loaded one). */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsetenv("LWKT_CPUS");
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof set, &set) != 0)
			_exit(9);
		int first = -1, last = -1;
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set)) {
				if (first < 0)
					first = c;
				last = c;
			}
		_exit(binding_child((unsigned)last,
				    first != last ? first : -1));
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "binding child failed at step %d (status %#x)",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, st);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "topo", 30);
	tcase_add_test(tc, t_all_and_count);
	tcase_add_test(tc, t_list_and_range);
	tcase_add_test(tc, t_bad_lists);
	tcase_add_test(tc, t_bind_and_distance);
	tcase_add_test(tc, t_respects_cpu_binding);
}
LTEST_MAIN("topo", add)
