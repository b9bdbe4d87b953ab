/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * topo.h - the host's processing units, as hwloc sees them.
 *
 * Every PU in lwkt-lab is named by its operating-system index (the N of
 * Linux's "cpuN"), and every pinning goes through hwloc.  One cpu-list
 * syntax serves --cpus, LWKT_CPUS and struct lwkt_config:
 *
 *   all         every PU this process may run on
 *   count=N     the first N of those
 *   A,B,C-D     an explicit list of OS indices, ranges allowed, in order
 *
 * An unknown or disallowed PU, a duplicate, or an empty list is an error.
 */
#ifndef LWKT_TOPO_H
#define LWKT_TOPO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LWKT_TOPO_MAXPU 1024

/* Loads the topology once (thread-safe).  Returns 0 or an errno value. */
int lwkt_topo_init(void);

/* Number of PUs this process may run on (0 if the topology cannot load). */
unsigned lwkt_topo_npus(void);

/* OS index of the i-th allowed PU, in hwloc's logical order; -1 past end. */
int lwkt_topo_pu(unsigned i);

/*
 * Parses a cpu list (syntax above) into pus[0..*n).  Returns 0, or EINVAL
 * with a one-line reason in err (pus and *n are then unspecified).
 */
int lwkt_topo_parse(const char *spec, unsigned *pus, unsigned max,
		    unsigned *n, char *err, size_t errlen);

/* Binds the calling thread to one PU (OS index) with hwloc.  0 or errno. */
int lwkt_topo_bind_self(unsigned pu);

/*
 * Distance class of two PUs: the deepest cache or grouping they share.
 * Names are stable strings for reports: "same_pu", "smt_sibling",
 * "shared_l1", "shared_l2", "shared_l3", "same_package", "same_numa",
 * "cross_numa".
 */
const char *lwkt_topo_distance(unsigned pu_a, unsigned pu_b);

/* The whole topology as hwloc XML in a malloc'ed string; NULL on error. */
char *lwkt_topo_xml(void);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_TOPO_H */
