/* SPDX-License-Identifier: BSD-3-Clause */
/* urcuq_memb.c - the RCU table stress test under liburcu's urcu-memb. */
#define URCUQ_IS_QSBR 0
#define URCUQ_NAME(x) urcuq_memb_##x
#include "urcuq_flavour.h"
#include "urcuq_stress.h"
