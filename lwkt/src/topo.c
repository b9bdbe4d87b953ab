/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * topo.c - hwloc topology: the PU list parser shared by --cpus, LWKT_CPUS
 * and lwkt_init(), thread binding, and PU-pair distance classes.
 *
 * The topology is loaded once and then only read; hwloc documents reads of
 * a loaded topology (and hwloc_set_cpubind) as safe from many threads.
 */
#include "lwkt/topo.h"

#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hwloc_topology_t topo;
static int topo_err;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;

static void
topo_load(void)
{
	if (hwloc_topology_init(&topo) != 0) {
		topo_err = errno ? errno : ENOMEM;
		return;
	}
	/* Only the PUs the process may run on (taskset, a cpuset, a
	 * container's cgroup): "all" then means "all we may use", and a
	 * list naming another PU is refused.  hwloc takes the process
	 * binding when the topology loads (the first lwkt_topo_* call);
	 * it does not follow later sched_setaffinity calls. */
	hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
				 HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING);
	if (hwloc_topology_load(topo) != 0) {
		topo_err = errno ? errno : EIO;
		hwloc_topology_destroy(topo);
		topo = NULL;
	}
}

int
lwkt_topo_init(void)
{
	pthread_once(&topo_once, topo_load);
	return topo_err;
}

unsigned
lwkt_topo_npus(void)
{
	if (lwkt_topo_init() != 0)
		return 0;
	int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	return n > 0 ? (unsigned)n : 0;
}

int
lwkt_topo_pu(unsigned i)
{
	if (lwkt_topo_init() != 0)
		return -1;
	hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, i);
	return o ? (int)o->os_index : -1;
}

static hwloc_obj_t
pu_obj(unsigned os_index)
{
	return hwloc_get_pu_obj_by_os_index(topo, os_index);
}

static int
perr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}

/* Parses a decimal number at *pp; advances *pp.  -1 if none or too big. */
static long
parse_num(const char **pp)
{
	const char *p = *pp;
	long v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > 1000000)
			return -1;
		p++;
	}
	*pp = p;
	return v;
}

/* Error for a PU that is not in the topology: absent from the host, or
 * outside the process's CPU binding. */
static int
bad_pu(char *err, size_t errlen, const char *spec, long v, unsigned npu)
{
	char allowed[128] = "?";
	hwloc_bitmap_list_snprintf(allowed, sizeof allowed,
				   hwloc_topology_get_topology_cpuset(topo));
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	if (v < conf)
		return perr(err, errlen, "cpu list '%s': PU %ld is outside this "
			    "process's CPU binding (taskset/cpuset); allowed "
			    "PUs: %s", spec, v, allowed);
	return perr(err, errlen, "cpu list '%s': no PU %ld on this host (PUs: "
		    "%u usable: %s)", spec, v, npu, allowed);
}

int
lwkt_topo_parse(const char *spec, unsigned *pus, unsigned max, unsigned *n,
		char *err, size_t errlen)
{
	*n = 0;
	if (lwkt_topo_init() != 0)
		return perr(err, errlen, "cannot load the hwloc topology: %s",
			    strerror(topo_err));
	unsigned npu = lwkt_topo_npus();
	if (spec == NULL || *spec == '\0')
		return perr(err, errlen, "empty cpu list (use all, count=N "
			    "or a list such as 0,1)");
	if (strcmp(spec, "all") == 0 || strncmp(spec, "count=", 6) == 0) {
		unsigned want = npu;
		if (spec[0] == 'c') {
			const char *p = spec + 6;
			long v = parse_num(&p);
			if (v <= 0 || *p != '\0')
				return perr(err, errlen, "bad cpu count in '%s' "
					    "(want count=N, N >= 1)", spec);
			if ((unsigned long)v > npu)
				return perr(err, errlen, "'%s' asks for %ld cpus; "
					    "this process may use %u PUs", spec,
					    v, npu);
			want = (unsigned)v;
		}
		if (want > max)
			return perr(err, errlen, "'%s': %u cpus, at most %u "
				    "supported", spec, want, max);
		for (unsigned i = 0; i < want; i++)
			pus[i] = (unsigned)lwkt_topo_pu(i);
		*n = want;
		return 0;
	}

	const char *p = spec;
	for (;;) {
		long lo = parse_num(&p), hi;
		if (lo < 0)
			return perr(err, errlen, "bad cpu list '%s' at '%s' "
				    "(want all, count=N or e.g. 0,2-3)", spec, p);
		hi = lo;
		if (*p == '-') {
			p++;
			hi = parse_num(&p);
			if (hi < lo)
				return perr(err, errlen, "bad range in cpu list "
					    "'%s'", spec);
		}
		for (long v = lo; v <= hi; v++) {
			if (pu_obj((unsigned)v) == NULL)
				return bad_pu(err, errlen, spec, v, npu);
			for (unsigned i = 0; i < *n; i++)
				if (pus[i] == (unsigned)v)
					return perr(err, errlen, "cpu list '%s':"
						    " PU %ld named twice", spec,
						    v);
			if (*n >= max)
				return perr(err, errlen, "cpu list '%s': more "
					    "than %u cpus", spec, max);
			pus[(*n)++] = (unsigned)v;
		}
		if (*p == '\0')
			break;
		if (*p != ',')
			return perr(err, errlen, "bad cpu list '%s' at '%s'",
				    spec, p);
		p++;
	}
	return 0;
}

int
lwkt_topo_bind_self(unsigned pu)
{
	int e = lwkt_topo_init();
	if (e != 0)
		return e;
	hwloc_obj_t o = pu_obj(pu);
	if (o == NULL)
		return EINVAL;
	if (hwloc_set_cpubind(topo, o->cpuset, HWLOC_CPUBIND_THREAD |
			      HWLOC_CPUBIND_STRICT) != 0)
		return errno ? errno : EINVAL;
	return 0;
}

const char *
lwkt_topo_distance(unsigned pu_a, unsigned pu_b)
{
	if (lwkt_topo_init() != 0)
		return "unknown";
	hwloc_obj_t a = pu_obj(pu_a), b = pu_obj(pu_b);
	if (a == NULL || b == NULL)
		return "unknown";
	if (a == b)
		return "same_pu";
	hwloc_obj_t c = hwloc_get_common_ancestor_obj(topo, a, b);
	for (; c != NULL; c = c->parent) {
		switch (c->type) {
		case HWLOC_OBJ_CORE:
			return "smt_sibling";
		case HWLOC_OBJ_L1CACHE:
			return "shared_l1";
		case HWLOC_OBJ_L2CACHE:
			return "shared_l2";
		case HWLOC_OBJ_L3CACHE:
			return "shared_l3";
		case HWLOC_OBJ_PACKAGE:
			return "same_package";
		default:
			break;
		}
		if (c->type == HWLOC_OBJ_MACHINE)
			break;
	}
	return hwloc_bitmap_isequal(a->nodeset, b->nodeset) ? "same_numa"
							     : "cross_numa";
}

char *
lwkt_topo_xml(void)
{
	if (lwkt_topo_init() != 0)
		return NULL;
	char *buf = NULL;
	int len = 0;
	if (hwloc_topology_export_xmlbuffer(topo, &buf, &len, 0) != 0)
		return NULL;
	char *copy = strdup(buf);
	hwloc_free_xmlbuffer(topo, buf);
	return copy;
}
