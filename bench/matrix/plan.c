/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plan.c - the bench matrix planner (see plan.h): loads a topology with
 * hwloc, classifies every PU pair by the deepest object the two share,
 * and picks the pairs to measure.  It never binds: the topology may be
 * another machine's.
 */
#include "plan.h"

#include <errno.h>
#include <hwloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
perr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Loads this host's topology (spec NULL), an XML file (spec names an
 * existing file), or a synthetic description (anything else).
 */
static int
load_topology(const char *spec, hwloc_topology_t *tp, char *src,
	      size_t srclen, char *err, size_t errlen)
{
	hwloc_topology_t t;
	struct stat sb;

	if (hwloc_topology_init(&t) != 0)
		return perr(err, errlen, "hwloc_topology_init: %s",
			    strerror(errno));
	if (spec == NULL) {
		snprintf(src, srclen, "host");
	} else if (stat(spec, &sb) == 0) {
		if (hwloc_topology_set_xml(t, spec) != 0) {
			hwloc_topology_destroy(t);
			return perr(err, errlen, "%s: not an hwloc XML "
				    "topology (%s)", spec, strerror(errno));
		}
		snprintf(src, srclen, "xml %s", spec);
	} else if (strstr(spec, ".xml") != NULL || strchr(spec, '/')) {
		hwloc_topology_destroy(t);
		return perr(err, errlen, "cannot read topology file '%s': %s",
			    spec, strerror(ENOENT));
	} else {
		if (hwloc_topology_set_synthetic(t, spec) != 0) {
			hwloc_topology_destroy(t);
			return perr(err, errlen, "'%s' is neither a readable "
				    "XML file nor a valid hwloc synthetic "
				    "description (e.g. 'pack:2 l3:1 core:4 "
				    "pu:2')", spec);
		}
		snprintf(src, srclen, "synthetic %s", spec);
	}
	if (hwloc_topology_load(t) != 0) {
		hwloc_topology_destroy(t);
		return perr(err, errlen, "cannot load the topology%s%s: %s",
			    spec ? " " : "", spec ? spec : "",
			    strerror(errno));
	}
	*tp = t;
	return 0;
}

static void
pu_path(hwloc_obj_t pu, char *buf, size_t len)
{
	hwloc_obj_t chain[64];
	int n = 0;
	for (hwloc_obj_t o = pu->parent; o != NULL && n < 64; o = o->parent) {
		if (o->type == HWLOC_OBJ_MACHINE)
			break;
		/* Instruction caches and L1d duplicate the Core level. */
		if (o->type == HWLOC_OBJ_L1CACHE || o->type == HWLOC_OBJ_L1ICACHE ||
		    o->type == HWLOC_OBJ_L2ICACHE || o->type == HWLOC_OBJ_L3ICACHE)
			continue;
		chain[n++] = o;
	}
	size_t off = 0;
	buf[0] = '\0';
	for (int i = n - 1; i >= 0 && off < len; i--) {
		char ty[32];
		hwloc_obj_type_snprintf(ty, sizeof ty, chain[i], 0);
		int w = snprintf(buf + off, len - off, "%s%s#%u",
				 off ? " " : "", ty, chain[i]->logical_index);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Finds or adds the class of PUs a and b; returns its index or -1. */
static int
pair_class(hwloc_topology_t t, struct mplan *p, hwloc_obj_t a, hwloc_obj_t b,
	   int npackages)
{
	hwloc_obj_t c = hwloc_get_common_ancestor_obj(t, a, b);
	int xnuma = !hwloc_bitmap_isequal(a->nodeset, b->nodeset);
	char ty[24], name[MPLAN_NAMELEN];

	hwloc_obj_type_snprintf(ty, sizeof ty, c, 0);
	snprintf(name, sizeof name, "%s%s", ty, xnuma ? "-xNUMA" : "");
	for (unsigned i = 0; i < p->mp_nclass; i++)
		if (strcmp(p->mp_class[i].cl_name, name) == 0)
			return (int)i;
	if (p->mp_nclass == MPLAN_MAXCLASS)
		return -1;
	struct mplan_class *cl = &p->mp_class[p->mp_nclass];
	memset(cl, 0, sizeof *cl);
	snprintf(cl->cl_name, sizeof cl->cl_name, "%s", name);
	cl->cl_depth = (int)c->depth;
	cl->cl_xnuma = xnuma;
	cl->cl_ex_a = a->os_index;
	cl->cl_ex_b = b->os_index;
	const char *x = xnuma ? ", cross NUMA node" : "";
	switch (c->type) {
	case HWLOC_OBJ_CORE:
		snprintf(cl->cl_desc, sizeof cl->cl_desc,
			 "SMT siblings (same Core)%s", x);
		break;
	case HWLOC_OBJ_PACKAGE:
		snprintf(cl->cl_desc, sizeof cl->cl_desc, "same Package%s", x);
		break;
	case HWLOC_OBJ_MACHINE:
		snprintf(cl->cl_desc, sizeof cl->cl_desc, "%s%s",
			 npackages > 1 ? "cross Package" : "same Machine", x);
		break;
	default:
		snprintf(cl->cl_desc, sizeof cl->cl_desc, "%s %s%s",
			 hwloc_obj_type_is_cache(c->type) ? "shared" : "same",
			 ty, x);
		break;
	}
	return (int)p->mp_nclass++;
}

/* Nearest first: the deeper the shared object, the nearer the pair. */
static int
class_cmp(const void *x, const void *y)
{
	const struct mplan_class *a = x, *b = y;
	if (a->cl_depth != b->cl_depth)
		return a->cl_depth > b->cl_depth ? -1 : 1;
	if (a->cl_xnuma != b->cl_xnuma)
		return a->cl_xnuma - b->cl_xnuma;
	return strcmp(a->cl_name, b->cl_name);
}

/* Index of pair (i, j), i < j < n, in the triangle. */
static size_t
tri(size_t i, size_t j, size_t n)
{
	return i * n - i * (i + 1) / 2 + (j - i - 1);
}

static int
parse_uint(const char **pp, unsigned *v)
{
	const char *s = *pp;
	unsigned long x = 0;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		x = x * 10 + (unsigned long)(*s++ - '0');
		if (x > 1u << 20)
			return -1;
	}
	*v = (unsigned)x;
	*pp = s;
	return 0;
}

struct chosen {
	unsigned *pos;		/* topology positions, pairs (i, j) flattened */
	size_t n, cap;
	unsigned char *mark;	/* per triangle index: already chosen */
};

static int
choose(struct chosen *c, unsigned i, unsigned j, size_t npus)
{
	if (i > j) {
		unsigned t = i;
		i = j;
		j = t;
	}
	size_t k = tri(i, j, npus);
	if (c->mark[k])
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		unsigned *np = realloc(c->pos, cap * 2 * sizeof *np);
		if (np == NULL)
			return -1;
		c->pos = np;
		c->cap = cap;
	}
	c->mark[k] = 1;
	c->pos[2 * c->n] = i;
	c->pos[2 * c->n + 1] = j;
	c->n++;
	return 0;
}

int
mplan_class_index(const struct mplan *p, const char *name)
{
	for (unsigned i = 0; i < p->mp_nclass; i++)
		if (strcmp(p->mp_class[i].cl_name, name) == 0)
			return (int)i;
	return -1;
}

void
mplan_free(struct mplan *p)
{
	free(p->mp_pu);
	free(p->mp_pair);
	memset(p, 0, sizeof *p);
}

/* Picks k of the class's pairs at evenly spaced ordinals (midpoints). */
static int
choose_representatives(struct mplan *p, const unsigned char *cls,
		       size_t npus, unsigned k, struct chosen *ch)
{
	size_t *seen = calloc(p->mp_nclass, sizeof *seen);
	unsigned *next = calloc(p->mp_nclass, sizeof *next);
	if (seen == NULL || next == NULL) {
		free(seen);
		free(next);
		return -1;
	}
	for (size_t i = 0; i < npus; i++)
		for (size_t j = i + 1; j < npus; j++) {
			unsigned c = cls[tri(i, j, npus)];
			size_t np = p->mp_class[c].cl_npairs;
			unsigned kk = np < k ? (unsigned)np : k;
			if (next[c] < kk &&
			    seen[c] == (2 * (size_t)next[c] + 1) * np /
					       (2 * (size_t)kk)) {
				if (choose(ch, (unsigned)i, (unsigned)j,
					   npus) != 0) {
					free(seen);
					free(next);
					return -1;
				}
				next[c]++;
			}
			seen[c]++;
		}
	free(seen);
	free(next);
	return 0;
}

/*
 * The heat-map sample of --pairs=all on a big machine: m PUs as m/2
 * blocks of two topology neighbours spread evenly, so near classes (SMT
 * siblings, shared L2) stay in the sample beside the far ones.
 */
static int
choose_sample(struct mplan *p, size_t npus, size_t max_pairs,
	      struct chosen *ch)
{
	size_t m = 2;
	while ((m + 1) * m / 2 <= max_pairs && m + 1 <= npus)
		m++;
	if (m < npus)
		m &= ~(size_t)1;
	if (m >= npus) {
		for (size_t i = 0; i < npus; i++)
			for (size_t j = i + 1; j < npus; j++)
				if (choose(ch, (unsigned)i, (unsigned)j,
					   npus) != 0)
					return -1;
		p->mp_nsampled = (unsigned)npus;
		return 0;
	}
	unsigned *s = malloc(m * sizeof *s);
	if (s == NULL)
		return -1;
	for (size_t t = 0; t < m / 2; t++) {
		s[2 * t] = (unsigned)(t * npus / (m / 2));
		s[2 * t + 1] = s[2 * t] + 1;
	}
	for (size_t a = 0; a < m; a++)
		for (size_t b = a + 1; b < m; b++)
			if (choose(ch, s[a], s[b], npus) != 0) {
				free(s);
				return -1;
			}
	free(s);
	p->mp_nsampled = (unsigned)m;
	return 0;
}

static int
choose_list(const char *list, hwloc_topology_t t, size_t npus,
	    struct chosen *ch, char *err, size_t errlen)
{
	const char *s = list;
	if (*s == '\0')
		return perr(err, errlen, "--pairs: empty list");
	for (;;) {
		unsigned a, b;
		if (parse_uint(&s, &a) != 0 || *s++ != ':' ||
		    parse_uint(&s, &b) != 0 || (*s != ',' && *s != '\0'))
			return perr(err, errlen, "--pairs: '%s' is not "
				    "all, N, or a list A:B,C:D of OS "
				    "indices", list);
		hwloc_obj_t oa = hwloc_get_pu_obj_by_os_index(t, a);
		hwloc_obj_t ob = hwloc_get_pu_obj_by_os_index(t, b);
		if (oa == NULL || ob == NULL)
			return perr(err, errlen, "--pairs: no PU %u in this "
				    "topology", oa == NULL ? a : b);
		if (a == b)
			return perr(err, errlen, "--pairs: %u:%u is one PU, "
				    "not a pair", a, b);
		size_t before = ch->n;
		if (choose(ch, oa->logical_index, ob->logical_index,
			   npus) != 0)
			return perr(err, errlen, "out of memory");
		if (ch->n == before)
			return perr(err, errlen, "--pairs: pair %u:%u given "
				    "twice", a, b);
		/* Keep the user's orientation: A runs the benchmark thread. */
		ch->pos[2 * (ch->n - 1)] = oa->logical_index;
		ch->pos[2 * (ch->n - 1) + 1] = ob->logical_index;
		if (*s == '\0')
			break;
		s++;
	}
	return 0;
}

int
mplan_build(const struct mplan_opts *o, struct mplan *p, char *err,
	    size_t errlen)
{
	hwloc_topology_t t = NULL;
	struct chosen ch = {0};
	unsigned char *cls = NULL;
	int rc = -1;

	memset(p, 0, sizeof *p);
	if (o->mo_mode == MPLAN_REPRESENTATIVE && o->mo_per_class == 0)
		return perr(err, errlen, "--pairs=N wants N >= 1");
	if (o->mo_mode == MPLAN_ALL && o->mo_max_pairs == 0)
		return perr(err, errlen, "--max-pairs wants N >= 1");
	if (load_topology(o->mo_topology, &t, p->mp_source,
			  sizeof p->mp_source, err, errlen) != 0)
		return -1;

	int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
	int npk = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
	if (n <= 0) {
		perr(err, errlen, "the topology has no PU");
		goto out;
	}
	size_t npus = (size_t)n;
	p->mp_npus = (unsigned)npus;
	p->mp_nsampled = (unsigned)npus;
	p->mp_pu = calloc(npus, sizeof *p->mp_pu);
	size_t ntri = npus * (npus - 1) / 2;
	cls = calloc(ntri ? ntri : 1, 1);
	ch.mark = calloc(ntri ? ntri : 1, 1);
	if (p->mp_pu == NULL || cls == NULL || ch.mark == NULL) {
		perr(err, errlen, "out of memory (%zu PUs)", npus);
		goto out;
	}
	for (size_t i = 0; i < npus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU,
						       (unsigned)i);
		p->mp_pu[i].pu_os = pu->os_index;
		pu_path(pu, p->mp_pu[i].pu_path, sizeof p->mp_pu[i].pu_path);
	}

	/* Classify every pair, then renumber the classes nearest first. */
	for (size_t i = 0; i < npus; i++) {
		hwloc_obj_t a = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU,
						      (unsigned)i);
		for (size_t j = i + 1; j < npus; j++) {
			hwloc_obj_t b = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU,
							      (unsigned)j);
			int c = pair_class(t, p, a, b, npk);
			if (c < 0) {
				perr(err, errlen, "more than %d distance "
				     "classes", MPLAN_MAXCLASS);
				goto out;
			}
			cls[tri(i, j, npus)] = (unsigned char)c;
			p->mp_class[c].cl_npairs++;
		}
	}
	struct mplan_class old[MPLAN_MAXCLASS];
	unsigned char remap[MPLAN_MAXCLASS];
	memcpy(old, p->mp_class, sizeof old);
	qsort(p->mp_class, p->mp_nclass, sizeof p->mp_class[0], class_cmp);
	for (unsigned i = 0; i < p->mp_nclass; i++)
		remap[i] = (unsigned char)mplan_class_index(p, old[i].cl_name);
	for (size_t k = 0; k < ntri; k++)
		cls[k] = remap[cls[k]];

	switch (o->mo_mode) {
	case MPLAN_REPRESENTATIVE:
		rc = choose_representatives(p, cls, npus, o->mo_per_class,
					    &ch);
		break;
	case MPLAN_ALL:
		rc = choose_sample(p, npus, o->mo_max_pairs, &ch);
		/* Every class keeps representatives even if the sample
		 * misses it. */
		if (rc == 0 && p->mp_nsampled < npus)
			rc = choose_representatives(p, cls, npus,
						    o->mo_per_class ?
						    o->mo_per_class : 1, &ch);
		break;
	case MPLAN_LIST:
		rc = choose_list(o->mo_list ? o->mo_list : "", t, npus, &ch,
				 err, errlen);
		if (rc != 0)
			goto out;
		break;
	}
	if (rc != 0) {
		perr(err, errlen, "out of memory");
		goto out;
	}

	/*
	 * Order: round robin over the classes (nearest first), so a run cut
	 * short still has every class.  Within a class, the order chosen.
	 */
	p->mp_pair = calloc(ch.n ? ch.n : 1, sizeof *p->mp_pair);
	size_t *cursor = calloc(p->mp_nclass ? p->mp_nclass : 1,
				sizeof *cursor);
	if (p->mp_pair == NULL || cursor == NULL) {
		free(cursor);
		perr(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	while (p->mp_npairs < ch.n) {
		for (unsigned c = 0; c < p->mp_nclass; c++) {
			size_t k;
			for (k = cursor[c]; k < ch.n; k++) {
				unsigned i = ch.pos[2 * k];
				unsigned j = ch.pos[2 * k + 1];
				size_t ti = i < j ? tri(i, j, npus)
						  : tri(j, i, npus);
				if (cls[ti] != c)
					continue;
				struct mplan_pair *pp =
					&p->mp_pair[p->mp_npairs++];
				pp->pp_a = p->mp_pu[i].pu_os;
				pp->pp_b = p->mp_pu[j].pu_os;
				pp->pp_class = c;
				p->mp_class[c].cl_nchosen++;
				break;
			}
			cursor[c] = k < ch.n ? k + 1 : ch.n;
		}
	}
	free(cursor);
	rc = 0;
out:
	free(cls);
	free(ch.mark);
	free(ch.pos);
	hwloc_topology_destroy(t);
	if (rc != 0) {
		free(p->mp_pu);
		free(p->mp_pair);
		p->mp_pu = NULL;
		p->mp_pair = NULL;
		p->mp_npus = 0;
		p->mp_npairs = 0;
		p->mp_nclass = 0;
	}
	return rc;
}

void
mplan_write_tsv(FILE *f, const struct mplan *p)
{
	fprintf(f, "lwkt-matrix-plan\t1\n");
	fprintf(f, "source\t%s\n", p->mp_source);
	fprintf(f, "pus\t%u\tsampled\t%u\n", p->mp_npus, p->mp_nsampled);
	for (unsigned i = 0; i < p->mp_npus; i++)
		fprintf(f, "pu\t%u\t%u\t%s\n", i, p->mp_pu[i].pu_os,
			p->mp_pu[i].pu_path);
	for (unsigned i = 0; i < p->mp_nclass; i++) {
		const struct mplan_class *c = &p->mp_class[i];
		fprintf(f, "class\t%u\t%s\t%s\t%zu\t%zu\t%u:%u\n", i,
			c->cl_name, c->cl_desc, c->cl_npairs, c->cl_nchosen,
			c->cl_ex_a, c->cl_ex_b);
	}
	for (size_t i = 0; i < p->mp_npairs; i++)
		fprintf(f, "pair\t%u\t%u\t%s\n", p->mp_pair[i].pp_a,
			p->mp_pair[i].pp_b,
			p->mp_class[p->mp_pair[i].pp_class].cl_name);
}
