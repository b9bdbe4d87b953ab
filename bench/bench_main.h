/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_main.h - lwkt-bench's own entry points (host record). */
#ifndef LWKT_BENCH_MAIN_H
#define LWKT_BENCH_MAIN_H

/* Writes the host record (JSON) to path; 0 or 1 after a message. */
int bench_write_host_json(const char *path);

#endif
