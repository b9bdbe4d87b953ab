/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * oldver_gen - fires lwkt:thread_switch with the fields of oldver_tp.h
 * (not the current schema), five times.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "oldver_tp.h"

int
main(void)
{
	for (unsigned i = 0; i < 5; i++)
		lttng_ust_tracepoint(lwkt, thread_switch, i % 2, "<old>");
	return 0;
}
