/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_plan.c - the bench matrix planner on machines we do not have
 * (hwloc synthetic topologies and an XML export), on this host, and its
 * CLI's errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hwloc.h>

#include "ltest.h"
#include "plan.h"

#define PLAN LWKT_BUILD_DIR "/lwkt-matrix-plan"

/* 2 sockets x 8 cores x 2 SMT, one L3 per socket, private L2, a NUMA
 * node per socket (a Xeon-like dual-socket server). */
#define XEON "pack:2 numa:1 l3:1 l2:8 core:1 pu:2"
/* 2 sockets x 4 dies (each its own NUMA node) x 2 CCX (L3) x 4 cores
 * with private L2 x 2 SMT (an EPYC 7001-like machine). */
#define EPYC "pack:2 die:4 numa:1 l3:2 l2:4 core:1 pu:2"
/* One socket, 4 CCX (L3) per die, 4 cores each, no SMT. */
#define EPYC_CCX "pack:1 die:1 l3:4 l2:4 core:1 pu:1"

static struct mplan
build(const char *topo, enum mplan_mode mode, unsigned per_class,
      unsigned max_pairs, const char *list)
{
	struct mplan_opts o = {
		.mo_topology = topo,
		.mo_mode = mode,
		.mo_per_class = per_class,
		.mo_max_pairs = max_pairs,
		.mo_list = list,
	};
	struct mplan p;
	char err[600];
	int rc = mplan_build(&o, &p, err, sizeof err);
	ck_assert_msg(rc == 0, "mplan_build(%s): %s", topo ? topo : "host",
		      err);
	return p;
}

/* The class names, nearest first, joined by spaces. */
static void
class_names(const struct mplan *p, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < p->mp_nclass; i++) {
		strncat(buf, i ? " " : "", len - strlen(buf) - 1);
		strncat(buf, p->mp_class[i].cl_name, len - strlen(buf) - 1);
	}
}

static size_t
class_pairs(const struct mplan *p, const char *name)
{
	int c = mplan_class_index(p, name);
	ck_assert_msg(c >= 0, "no class %s", name);
	return p->mp_class[c].cl_npairs;
}

static const char *
class_of(const struct mplan *p, unsigned a, unsigned b)
{
	for (size_t i = 0; i < p->mp_npairs; i++)
		if ((p->mp_pair[i].pp_a == a && p->mp_pair[i].pp_b == b) ||
		    (p->mp_pair[i].pp_a == b && p->mp_pair[i].pp_b == a))
			return p->mp_class[p->mp_pair[i].pp_class].cl_name;
	return NULL;
}

/* Every class has min(per_class, its pairs) chosen, the sum is the plan. */
static void
check_representatives(const struct mplan *p, unsigned k)
{
	size_t sum = 0;
	for (unsigned i = 0; i < p->mp_nclass; i++) {
		const struct mplan_class *c = &p->mp_class[i];
		size_t want = c->cl_npairs < k ? c->cl_npairs : k;
		ck_assert_uint_eq(c->cl_nchosen, want);
		sum += c->cl_nchosen;
	}
	ck_assert_uint_eq(sum, p->mp_npairs);
	size_t total = 0;
	for (unsigned i = 0; i < p->mp_nclass; i++)
		total += p->mp_class[i].cl_npairs;
	ck_assert_uint_eq(total, (size_t)p->mp_npus * (p->mp_npus - 1) / 2);
}

START_TEST(t_xeon)
{
	struct mplan p = build(XEON, MPLAN_REPRESENTATIVE, 3, 0, NULL);
	char names[256];
	class_names(&p, names, sizeof names);
	ck_assert_str_eq(names, "Core L3 Machine-xNUMA");
	ck_assert_uint_eq(p.mp_npus, 32);
	ck_assert_uint_eq(class_pairs(&p, "Core"), 16);
	/* 16 PUs per socket: 120 pairs, minus the 8 sibling pairs. */
	ck_assert_uint_eq(class_pairs(&p, "L3"), 2 * (120 - 8));
	ck_assert_uint_eq(class_pairs(&p, "Machine-xNUMA"), 16 * 16);
	check_representatives(&p, 3);
	/* Round robin: the first cells cover every class. */
	ck_assert_str_eq(p.mp_class[p.mp_pair[0].pp_class].cl_name, "Core");
	ck_assert_str_eq(p.mp_class[p.mp_pair[1].pp_class].cl_name, "L3");
	ck_assert_str_eq(p.mp_class[p.mp_pair[2].pp_class].cl_name,
			 "Machine-xNUMA");
	ck_assert_ptr_nonnull(strstr(p.mp_class[0].cl_desc, "SMT"));
	ck_assert_ptr_nonnull(strstr(p.mp_class[2].cl_desc, "cross Package"));
	ck_assert_ptr_nonnull(strstr(p.mp_class[2].cl_desc, "NUMA"));
	/* Representatives are spread: not all in the first socket. */
	int second = 0;
	for (size_t i = 0; i < p.mp_npairs; i++)
		if (strcmp(p.mp_class[p.mp_pair[i].pp_class].cl_name,
			   "Core") == 0 && p.mp_pair[i].pp_a >= 16)
			second = 1;
	ck_assert_int_eq(second, 1);
	mplan_free(&p);
}
END_TEST

START_TEST(t_epyc)
{
	struct mplan p = build(EPYC, MPLAN_REPRESENTATIVE, 2, 0, NULL);
	char names[256];
	class_names(&p, names, sizeof names);
	ck_assert_str_eq(names, "Core L3 Die Package-xNUMA Machine-xNUMA");
	ck_assert_uint_eq(p.mp_npus, 128);
	ck_assert_uint_eq(class_pairs(&p, "Core"), 64);
	/* 8 PUs per CCX: 28 pairs - 4 siblings, x 16 CCX. */
	ck_assert_uint_eq(class_pairs(&p, "L3"), 16 * 24);
	/* Per die: 8 x 8 PU pairs across its two CCX, x 8 dies. */
	ck_assert_uint_eq(class_pairs(&p, "Die"), 8 * 64);
	/* Per package: 4 dies of 16 PUs: 6 die pairs x 256, x 2. */
	ck_assert_uint_eq(class_pairs(&p, "Package-xNUMA"), 2 * 6 * 256);
	ck_assert_uint_eq(class_pairs(&p, "Machine-xNUMA"), 64 * 64);
	check_representatives(&p, 2);
	mplan_free(&p);

	p = build(EPYC_CCX, MPLAN_REPRESENTATIVE, 2, 0, NULL);
	class_names(&p, names, sizeof names);
	/* One die, one package, one NUMA node: the L3 is the near class and
	 * the far one is the whole package (hwloc keeps the deepest of
	 * objects with equal cpusets: Die). */
	ck_assert_str_eq(names, "L3 Die");
	ck_assert_uint_eq(class_pairs(&p, "L3"), 4 * 6);
	ck_assert_uint_eq(class_pairs(&p, "Die"), 6 * 16);
	mplan_free(&p);
}
END_TEST

START_TEST(t_single_core_vm)
{
	struct mplan p = build("pack:1 core:1 pu:1", MPLAN_REPRESENTATIVE, 2,
			       0, NULL);
	ck_assert_uint_eq(p.mp_npus, 1);
	ck_assert_uint_eq(p.mp_nclass, 0);
	ck_assert_uint_eq(p.mp_npairs, 0);
	mplan_free(&p);
	p = build("pack:1 core:1 pu:1", MPLAN_ALL, 2, 256, NULL);
	ck_assert_uint_eq(p.mp_npairs, 0);
	mplan_free(&p);
}
END_TEST

/* Linux on some dual-socket boards numbers cpu0 on socket 0, cpu1 on
 * socket 1, cpu2 on socket 0...: classes follow the topology and the PU
 * order is the topology's, not the OS numbering. */
START_TEST(t_interleaved_os_numbering)
{
	struct mplan p = build("pack:2 l3:1 core:4 pu:1(indexes=0,2,4,6,1,3,"
			       "5,7)", MPLAN_ALL, 2, 256, NULL);
	static const unsigned order[] = {0, 2, 4, 6, 1, 3, 5, 7};
	ck_assert_uint_eq(p.mp_npus, 8);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(p.mp_pu[i].pu_os, order[i]);
	ck_assert_ptr_nonnull(strstr(p.mp_pu[4].pu_path, "Package#1"));
	ck_assert_uint_eq(p.mp_npairs, 28);
	ck_assert_str_eq(class_of(&p, 0, 1), "Machine");
	ck_assert_str_eq(class_of(&p, 0, 2), "L3");
	ck_assert_str_eq(class_of(&p, 1, 7), "L3");
	ck_assert_str_eq(class_of(&p, 6, 7), "Machine");
	/* pp_a comes first in topology order. */
	for (size_t i = 0; i < p.mp_npairs; i++)
		if (p.mp_pair[i].pp_a % 2 == 1)
			ck_assert_uint_eq(p.mp_pair[i].pp_b % 2, 1);
	mplan_free(&p);
}
END_TEST

/* --pairs=all on 128 and 576 PUs stays within the bound, keeps every
 * class, and keeps SMT siblings in the heat-map sample. */
START_TEST(t_big_machines_bounded)
{
	static const char *big[] = {
		"pack:2 numa:1 l3:8 core:4 pu:2",		/* 128 PUs */
		"pack:4 numa:2 l3:1 core:36 pu:2",		/* 576 PUs */
	};
	static const unsigned npus[] = {128, 576};
	for (int b = 0; b < 2; b++) {
		struct mplan p = build(big[b], MPLAN_ALL, 2, 200, NULL);
		ck_assert_uint_eq(p.mp_npus, npus[b]);
		ck_assert_uint_lt(p.mp_nsampled, p.mp_npus);
		ck_assert_uint_le(p.mp_nsampled * (p.mp_nsampled - 1) / 2, 200);
		ck_assert_uint_le(p.mp_npairs, 200 + 2 * p.mp_nclass);
		for (unsigned c = 0; c < p.mp_nclass; c++)
			ck_assert_msg(p.mp_class[c].cl_nchosen >= 1,
				      "%s: class %s not measured", big[b],
				      p.mp_class[c].cl_name);
		ck_assert_str_eq(p.mp_class[0].cl_name, "Core");
		ck_assert_uint_gt(p.mp_class[0].cl_nchosen, 2);
		mplan_free(&p);
	}
	/* Representatives only: few cells whatever the size. */
	struct mplan p = build(big[1], MPLAN_REPRESENTATIVE, 3, 0, NULL);
	ck_assert_uint_eq(p.mp_npairs, 3 * p.mp_nclass);
	mplan_free(&p);
}
END_TEST

START_TEST(t_list)
{
	struct mplan p = build(XEON, MPLAN_LIST, 0, 0, "1:0,0:16,2:4");
	ck_assert_uint_eq(p.mp_npairs, 3);
	ck_assert_str_eq(class_of(&p, 1, 0), "Core");
	ck_assert_str_eq(class_of(&p, 0, 16), "Machine-xNUMA");
	ck_assert_str_eq(class_of(&p, 2, 4), "L3");
	/* The given orientation is kept. */
	ck_assert_uint_eq(p.mp_pair[0].pp_a, 1);
	mplan_free(&p);

	struct mplan_opts o = {.mo_topology = XEON, .mo_mode = MPLAN_LIST};
	char err[600];
	static const char *bad[][2] = {
		{"0:0", "one PU"}, {"0:99", "no PU 99"},
		{"0:1,1:0", "twice"}, {"0-1", "not all"}, {"", "empty"},
		{"0:1,", "not all"},
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o.mo_list = bad[i][0];
		ck_assert_int_eq(mplan_build(&o, &p, err, sizeof err), -1);
		ck_assert_msg(strstr(err, bad[i][1]) != NULL,
			      "'%s': error '%s' lacks '%s'", bad[i][0], err,
			      bad[i][1]);
	}
}
END_TEST

/* Another machine's topology as an XML export reads like the synthetic
 * description it came from. */
START_TEST(t_xml)
{
	hwloc_topology_t t;
	char path[] = "/tmp/lwkt-plan-XXXXXX.xml";
	int fd = mkstemps(path, 4);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(hwloc_topology_init(&t), 0);
	ck_assert_int_eq(hwloc_topology_set_synthetic(t, EPYC), 0);
	ck_assert_int_eq(hwloc_topology_load(t), 0);
	ck_assert_int_eq(hwloc_topology_export_xml(t, path, 0), 0);
	hwloc_topology_destroy(t);
	struct mplan p = build(path, MPLAN_REPRESENTATIVE, 2, 0, NULL);
	unlink(path);
	char names[256];
	class_names(&p, names, sizeof names);
	ck_assert_str_eq(names, "Core L3 Die Package-xNUMA Machine-xNUMA");
	ck_assert_ptr_nonnull(strstr(p.mp_source, "xml "));
	mplan_free(&p);
}
END_TEST

/* This host: every pair of PUs is classified; on a multi-PU host the
 * default plan measures at least one pair per class. */
START_TEST(t_this_host)
{
	struct mplan p = build(NULL, MPLAN_REPRESENTATIVE, 2, 0, NULL);
	ck_assert_str_eq(p.mp_source, "host");
	ck_assert_uint_ge(p.mp_npus, 1);
	check_representatives(&p, 2);
	if (p.mp_npus >= 2)
		ck_assert_uint_ge(p.mp_npairs, 1);
	mplan_free(&p);
}
END_TEST

static int
run(const char *cmd, char *out, size_t len)
{
	char full[1024];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *f = popen(full, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char out[1 << 20];

START_TEST(t_cli)
{
	ck_assert_int_eq(run(PLAN " --help", out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: lwkt-matrix-plan"));
	ck_assert_int_eq(run(PLAN " --bogus", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown argument '--bogus'"));
	ck_assert_ptr_nonnull(strstr(out, "usage:"));
	ck_assert_int_eq(run(PLAN " --pairs=0", out, sizeof out), 2);
	ck_assert_int_eq(run(PLAN " --max-pairs=x", out, sizeof out), 2);
	ck_assert_int_eq(run(PLAN " --topology='pack:2 core:1 pu:1' "
			     "--pairs=0:7", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "no PU 7"));
	ck_assert_int_eq(run(PLAN " --topology=/nonexistent/t.xml", out,
			     sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "cannot read topology file"));
	ck_assert_int_eq(run(PLAN " --topology='pack:two'", out, sizeof out),
			 1);
	ck_assert_ptr_nonnull(strstr(out, "synthetic"));

	ck_assert_int_eq(run(PLAN " --topology='" XEON "'", out, sizeof out),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "lwkt-matrix-plan\t1\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nclass\t0\tCore\t"));
	ck_assert_ptr_nonnull(strstr(out, "\npair\t"));
	ck_assert_int_eq(run(PLAN " --format=text --topology='" XEON "'", out,
			     sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "Machine-xNUMA"));
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "plan", 60);
	tcase_add_test(tc, t_xeon);
	tcase_add_test(tc, t_epyc);
	tcase_add_test(tc, t_single_core_vm);
	tcase_add_test(tc, t_interleaved_os_numbering);
	tcase_add_test(tc, t_big_machines_bounded);
	tcase_add_test(tc, t_list);
	tcase_add_test(tc, t_xml);
	tcase_add_test(tc, t_this_host);
	tcase_add_test(tc, t_cli);
}

LTEST_MAIN("matrix_plan", add)
