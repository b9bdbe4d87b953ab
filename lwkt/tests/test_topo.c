/* SPDX-License-Identifier: BSD-3-Clause */
/* test_topo.c - the cpu-list parser shared by --cpus, LWKT_CPUS, lwkt_init. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

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
		return;
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

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "topo", 30);
	tcase_add_test(tc, t_all_and_count);
	tcase_add_test(tc, t_list_and_range);
	tcase_add_test(tc, t_bad_lists);
	tcase_add_test(tc, t_bind_and_distance);
}
LTEST_MAIN("topo", add)
