/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_tp.c - the probes of provider `lwkt` (trace/lwkt_tp.h), built alone
 * into liblwkt-tp.so.  Loading it (LD_PRELOAD or dlopen) registers the
 * probes with LTTng-UST; a session then enables the sites in liblwkt.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "lwkt_tp.h"
