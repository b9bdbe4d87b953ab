/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_urcu_qsbr.c - readmostly/urcu_qsbr[_callrcu] in lwkt-bench. */
#define URCUQ_IS_QSBR 1
#include "urcuq_flavour.h"
#define RMU_NAME "urcu_qsbr"
#include "bench_urcu_rm.h"
