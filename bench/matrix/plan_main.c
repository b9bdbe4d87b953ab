/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plan_main.c - lwkt-matrix-plan: prints the bench matrix plan (PUs in
 * topology order, distance classes, the pairs to measure) as TSV for the
 * runner (bench/matrix/lwkt-matrix), or as a table for people.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static void
usage(FILE *f)
{
	fputs("usage: lwkt-matrix-plan [--topology=FILE.xml|SYNTHETIC] "
	      "[--pairs=N|all|A:B,...]\n"
	      "                        [--max-pairs=N] [--format=tsv|text]\n"
	      "\n"
	      "Groups the PU pairs of a topology into distance classes (the\n"
	      "deepest object both PUs share, named as lstopo names it; -xNUMA\n"
	      "when their NUMA nodes differ) and picks the pairs the bench\n"
	      "matrix measures.\n"
	      "\n"
	      "  --topology=T     this host if absent; an hwloc XML file\n"
	      "                   (lstopo foo.xml); or an hwloc synthetic\n"
	      "                   description, e.g. 'pack:2 l3:1 core:4 pu:2'\n"
	      "  --pairs=N        N representative pairs per class (default 2)\n"
	      "  --pairs=all      every pair (heat maps); above --max-pairs a\n"
	      "                   sample of PUs, plus 2 pairs of every class\n"
	      "  --pairs=A:B,...  these pairs (OS indices; A runs the benchmark\n"
	      "                   thread)\n"
	      "  --max-pairs=N    bound for --pairs=all (default 256)\n"
	      "  --format=tsv     machine-readable lines (default)\n"
	      "  --format=text    a table\n"
	      "  -h, --help       this text\n", f);
}

static int
parse_count(const char *s, unsigned *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || x > 1000000)
		return -1;
	*v = (unsigned)x;
	return 0;
}

static void
write_text(const struct mplan *p)
{
	printf("topology: %s; %u PUs", p->mp_source, p->mp_npus);
	if (p->mp_nsampled < p->mp_npus)
		printf(" (heat-map sample: %u PUs)", p->mp_nsampled);
	printf("\n");
	if (p->mp_nclass == 0) {
		printf("one PU: no pair to measure\n");
		return;
	}
	printf("%-16s %-40s %10s %7s  %s\n", "class", "meaning", "pairs",
	       "chosen", "example");
	for (unsigned i = 0; i < p->mp_nclass; i++) {
		const struct mplan_class *c = &p->mp_class[i];
		printf("%-16s %-40s %10zu %7zu  %u:%u\n", c->cl_name,
		       c->cl_desc, c->cl_npairs, c->cl_nchosen, c->cl_ex_a,
		       c->cl_ex_b);
	}
	printf("%zu pairs:", p->mp_npairs);
	for (size_t i = 0; i < p->mp_npairs && i < 64; i++)
		printf(" %u:%u", p->mp_pair[i].pp_a, p->mp_pair[i].pp_b);
	printf("%s\n", p->mp_npairs > 64 ? " ..." : "");
}

int
main(int argc, char **argv)
{
	struct mplan_opts o = {
		.mo_mode = MPLAN_REPRESENTATIVE,
		.mo_per_class = 2,
		.mo_max_pairs = 256,
	};
	int text = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strncmp(a, "--topology=", 11) && a[11] != '\0') {
			o.mo_topology = a + 11;
		} else if (!strcmp(a, "--pairs=all")) {
			o.mo_mode = MPLAN_ALL;
		} else if (!strncmp(a, "--pairs=", 8) && strchr(a, ':')) {
			o.mo_mode = MPLAN_LIST;
			o.mo_list = a + 8;
		} else if (!strncmp(a, "--pairs=", 8)) {
			if (parse_count(a + 8, &o.mo_per_class) != 0 ||
			    o.mo_per_class == 0) {
				fprintf(stderr, "lwkt-matrix-plan: --pairs: "
					"'%s' is not all, N >= 1, or a list "
					"A:B,C:D\n", a + 8);
				return 2;
			}
			o.mo_mode = MPLAN_REPRESENTATIVE;
		} else if (!strncmp(a, "--max-pairs=", 12)) {
			if (parse_count(a + 12, &o.mo_max_pairs) != 0 ||
			    o.mo_max_pairs == 0) {
				fprintf(stderr, "lwkt-matrix-plan: "
					"--max-pairs: '%s' is not a number "
					">= 1\n", a + 12);
				return 2;
			}
		} else if (!strcmp(a, "--format=tsv")) {
			text = 0;
		} else if (!strcmp(a, "--format=text")) {
			text = 1;
		} else {
			fprintf(stderr, "lwkt-matrix-plan: unknown argument "
				"'%s'\n\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (o.mo_mode == MPLAN_ALL && o.mo_per_class == 0)
		o.mo_per_class = 2;

	struct mplan p;
	char err[600];
	if (mplan_build(&o, &p, err, sizeof err) != 0) {
		fprintf(stderr, "lwkt-matrix-plan: %s\n", err);
		/* A bad --pairs list is a usage error; an unreadable
		 * topology is not. */
		return strncmp(err, "--", 2) == 0 ? 2 : 1;
	}
	if (text)
		write_text(&p);
	else
		mplan_write_tsv(stdout, &p);
	mplan_free(&p);
	return fflush(stdout) == 0 ? 0 : 1;
}
