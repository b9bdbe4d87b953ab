/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_trace.c - defines the `lwkt` tracepoints for liblwkt (and for the
 * baselines and tools linked with it), in LTTng-UST's dynamic linkage
 * mode: the probes are not linked in; liblwkt-tp.so provides them when
 * it is LD_PRELOADed or dlopen()ed (trace/lwkt-record does it).  Without
 * it every site stays disabled and costs one branch.
 *
 * This is the only unit that defines LTTNG_UST_TRACEPOINT_DEFINE: the
 * constructor it emits registers the tracepoints with
 * liblttng-ust-tracepoint.so.1 (dlopen()ed, hence -ldl).  Every object
 * with an LWKT_TRACE site references the tracepoint symbols defined here,
 * which pulls this object out of liblwkt.a.
 */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
/* Directly, not through lwkt_trace.h: the definitions stay even with
 * -DLWKT_TRACE_DISABLE, for other sites (baselines) linked with liblwkt. */
#include "../../trace/lwkt_tp.h"
