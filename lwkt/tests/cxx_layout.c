/* SPDX-License-Identifier: BSD-3-Clause */
/* cxx_layout.c - the C compiler's view of the public structs, for
 * test_cxx.cc to compare with the C++ compiler's. */
#include <stddef.h>

#include "lwkt/lwkt.h"
#include "cxx_layout.h"

#define LAYOUT_C
#include "cxx_layout.h"
