/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * oldver_tp.h - a provider named `lwkt` whose thread_switch has other
 * fields than trace/lwkt_tp.h's (as an older or newer schema would): the
 * viz check records it to test the "unknown event version" path.  Only
 * oldver_gen links it; it never shares a process with the real provider.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER lwkt

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./oldver_tp.h"

#if !defined(VIZ_OLDVER_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define VIZ_OLDVER_TP_H

#include <lttng/tracepoint.h>

/* "v0": the thread as a name, no to_tid. */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, thread_switch,
	LTTNG_UST_TP_ARGS(unsigned, cpu, const char *, to),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(unsigned, cpu, cpu)
		lttng_ust_field_string(to, to)))

#endif /* VIZ_OLDVER_TP_H */

#include <lttng/tracepoint-event.h>
