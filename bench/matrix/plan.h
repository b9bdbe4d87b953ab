/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plan.h - the bench matrix planner: which CPU pairs to measure, grouped
 * into distance classes read from an hwloc topology (this host's, an XML
 * export of another machine's, or a synthetic description).
 *
 * A pair's class is the deepest object the two PUs share, named as lstopo
 * names it ("Core" for SMT siblings, "L2", "L3", "Die", "Group0",
 * "Package", "Machine"), with "-xNUMA" appended when the two PUs sit on
 * different NUMA nodes.  Classes sort nearest first; PUs sort in topology
 * (hwloc logical) order, never by OS index, so heat-map axes keep the
 * PUs of one package together even when the OS numbers interleave
 * packages.
 */
#ifndef LWKT_BENCH_MATRIX_PLAN_H
#define LWKT_BENCH_MATRIX_PLAN_H

#include <stddef.h>
#include <stdio.h>

#define MPLAN_MAXCLASS 32
#define MPLAN_NAMELEN 32

enum mplan_mode {
	MPLAN_REPRESENTATIVE,	/* mo_per_class pairs per class */
	MPLAN_ALL,		/* every pair (of a PU sample if too many) */
	MPLAN_LIST,		/* the pairs given in mo_list */
};

struct mplan_opts {
	const char *mo_topology;	/* NULL: this host; FILE.xml; or synthetic */
	enum mplan_mode mo_mode;
	unsigned mo_per_class;		/* REPRESENTATIVE: pairs per class (>= 1) */
	unsigned mo_max_pairs;		/* ALL: bound on the pairs measured */
	const char *mo_list;		/* LIST: "A:B,C:D" (OS indices) */
};

struct mplan_pu {
	unsigned pu_os;			/* OS index (Linux cpuN) */
	char pu_path[96];		/* e.g. "Package#0 L3#1 Core#5" (logical) */
};

struct mplan_class {
	char cl_name[MPLAN_NAMELEN];	/* "L3", "Machine-xNUMA"... */
	char cl_desc[96];		/* for people: "shared L3" */
	int cl_depth;			/* depth of the shared object */
	int cl_xnuma;			/* the two PUs' NUMA nodes differ */
	size_t cl_npairs;		/* pairs of this class on the machine */
	size_t cl_nchosen;		/* of them, in the plan */
	unsigned cl_ex_a, cl_ex_b;	/* an example pair (OS indices) */
};

struct mplan_pair {
	unsigned pp_a, pp_b;		/* OS indices; pp_a first in topology order */
	unsigned pp_class;		/* index into mp_class */
};

struct mplan {
	char mp_source[512];		/* "host", "xml FILE", "synthetic DESC" */
	unsigned mp_npus;
	struct mplan_pu *mp_pu;		/* mp_npus, topology order */
	unsigned mp_nsampled;		/* PUs in the heat-map sample (ALL) */
	unsigned mp_nclass;
	struct mplan_class mp_class[MPLAN_MAXCLASS];	/* nearest first */
	size_t mp_npairs;
	struct mplan_pair *mp_pair;	/* the plan, class by class */
};

/*
 * Builds the plan.  Returns 0, or -1 with a one-line reason in err (the
 * plan is then empty and needs no mplan_free).  A machine with one PU is
 * not an error: the plan has no class and no pair.
 */
int mplan_build(const struct mplan_opts *o, struct mplan *p, char *err,
		size_t errlen);
void mplan_free(struct mplan *p);

/* Index of the class called name, or -1. */
int mplan_class_index(const struct mplan *p, const char *name);

/* The plan as tab-separated lines (format in bench/README.md). */
void mplan_write_tsv(FILE *f, const struct mplan *p);

#endif /* LWKT_BENCH_MATRIX_PLAN_H */
