/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_trace.h - the runtime's trace sites (private).
 *
 * Every costly step of the runtime calls LWKT_TRACE(event, args...), with
 * the event's fields in the order of its row in trace/lwkt_events.def,
 * the one schema table (the LTTng-UST provider `lwkt`, trace/lwkt_tp.h,
 * is generated from it, and so are the viz's event descriptors; the ids
 * and the field types are documented there).  Examples:
 *   LWKT_TRACE(ipi_send, src, dst, ipi_id, (const void *)func);
 *   LWKT_TRACE(netisr_dispatch_begin, msg, cpu, mpsafe);
 *   LWKT_TRACE(netisr_dispatch_end, msg);
 *   LWKT_TRACE(netisr_rollup, cpu, nmsgs);
 *   LWKT_TRACE(sysmsg_begin, msg, callno);
 *   LWKT_TRACE(sysmsg_end, msg, callno, result, error);
 * An event is added to the table only; the compiler then checks every
 * site's argument count against it.
 *
 * Cost: the tracepoints are defined with LTTng-UST dynamic linkage
 * (lwkt_trace.c): liblwkt needs only -ldl, the probes live in
 * liblwkt-tp.so, and a site whose event is not enabled by a session is
 * one load of the tracepoint's state and one not-taken branch; the
 * arguments are evaluated only when the event is enabled, so they may be
 * expressions with no side effects.  -DLWKT_TRACE_DISABLE compiles every
 * site out (the reference for the "unloaded adds <= 2%" target).
 */
#ifndef LWKT_SRC_TRACE_H
#define LWKT_SRC_TRACE_H

#ifdef LWKT_TRACE_DISABLE
/* The arguments stay "used" (no unused-variable errors) but are never
 * evaluated: the call sits in a dead branch. */
static inline void
_lwkt_trace_nop(int unused, ...)
{
	(void)unused;
}
#define LWKT_TRACE(event, ...)						\
	do { if (0) _lwkt_trace_nop(0, __VA_ARGS__); } while (0)
#else
/* Relative path: no -I needed by the objects that include it. */
#include "../../trace/lwkt_tp.h"
#define LWKT_TRACE(event, ...) lttng_ust_tracepoint(lwkt, event, __VA_ARGS__)
#endif

/* True when a session records `event` (e.g. to skip computing costly
 * arguments); always false with LWKT_TRACE_DISABLE. */
#ifdef LWKT_TRACE_DISABLE
#define LWKT_TRACE_ENABLED(event) 0
#else
#define LWKT_TRACE_ENABLED(event) lttng_ust_tracepoint_enabled(lwkt, event)
#endif

#endif /* LWKT_SRC_TRACE_H */
