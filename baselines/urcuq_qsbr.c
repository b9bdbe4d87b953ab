/* SPDX-License-Identifier: BSD-3-Clause */
/* urcuq_qsbr.c - the RCU table stress test under liburcu's urcu-qsbr. */
#define URCUQ_IS_QSBR 1
#define URCUQ_NAME(x) urcuq_qsbr_##x
#include "urcuq_flavour.h"
#include "urcuq_stress.h"
