/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_urcu_memb.c - readmostly/urcu_memb[_callrcu] in lwkt-bench. */
#define URCUQ_IS_QSBR 0
#include "urcuq_flavour.h"
#define RMU_NAME "urcu_memb"
#include "bench_urcu_rm.h"
