/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt.h - the whole public API of liblwkt in one include, for users who
 * do not want to pick headers one by one (each concept keeps its own
 * header; this one only includes them).
 */
#ifndef LWKT_LWKT_H
#define LWKT_LWKT_H

#include "lwkt/arch.h"
#include "lwkt/cpu.h"
#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/msgport.h"
#include "lwkt/netisr.h"
#include "lwkt/serialize.h"
#include "lwkt/sysmsg.h"
#include "lwkt/thread.h"
#include "lwkt/token.h"
#include "lwkt/topo.h"

#endif /* LWKT_LWKT_H */
