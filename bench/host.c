/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host.c - the host record written beside every result set: what a reader
 * needs to interpret the numbers (topology, kernel, cpu model, membarrier,
 * compiler, revision).  JSON, one object.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>

#include "bench.h"
#include "bench_main.h"
#include "lwkt/topo.h"

#ifndef LWKT_GIT_REV
#define LWKT_GIT_REV "unknown"
#endif

/* Writes s as a JSON string literal. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				c += 1 + (c[1] == ' ');
				c[strcspn(c, "\n")] = '\0';
				snprintf(buf, len, "%s", c);
			}
			break;
		}
	}
	fclose(f);
}

static int
count_type(hwloc_obj_type_t t)
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) != 0)
		return -1;
	int n = -1;
	if (hwloc_topology_load(topo) == 0)
		n = hwloc_get_nbobjs_by_type(topo, t);
	hwloc_topology_destroy(topo);
	return n;
}

int
bench_write_host_json(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "lwkt-bench: cannot write %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	struct utsname u;
	uname(&u);
	char model[256];
	cpu_model(model, sizeof model);
	int mq = (int)syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	char *xml = lwkt_topo_xml();
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

	fprintf(f, "{\n  \"schema\": \"lwkt-lab/host/1\",\n  \"date\": ");
	json_str(f, date);
	fprintf(f, ",\n  \"hostname\": ");
	json_str(f, u.nodename);
	fprintf(f, ",\n  \"kernel\": ");
	json_str(f, u.release);
	fprintf(f, ",\n  \"machine\": ");
	json_str(f, u.machine);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, model);
	fprintf(f, ",\n  \"packages\": %d,\n  \"numa_nodes\": %d,\n"
		"  \"cores\": %d,\n  \"pus\": %d,\n",
		count_type(HWLOC_OBJ_PACKAGE), count_type(HWLOC_OBJ_NUMANODE),
		count_type(HWLOC_OBJ_CORE), count_type(HWLOC_OBJ_PU));
	fprintf(f, "  \"membarrier_private_expedited\": %s,\n",
		mq >= 0 && (mq & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ? "true"
								   : "false");
	fprintf(f, "  \"bench_cpus\": [%u, %u],\n  \"bench_cpus_distance\": ",
		bench_cpu[0], bench_cpu[1]);
	json_str(f, bench_ncpus >= 2 ? lwkt_topo_distance(bench_cpu[0],
							  bench_cpu[1])
				     : "none");
	fprintf(f, ",\n  \"compiler\": ");
	json_str(f, "gcc " __VERSION__);
	fprintf(f, ",\n  \"hwloc_version\": ");
	json_str(f, HWLOC_VERSION);
	fprintf(f, ",\n  \"git_revision\": ");
	json_str(f, LWKT_GIT_REV);
	fprintf(f, ",\n  \"hwloc_topology_xml\": ");
	json_str(f, xml ? xml : "");
	fprintf(f, "\n}\n");
	free(xml);
	if (fclose(f) != 0) {
		fprintf(stderr, "lwkt-bench: error writing %s\n", path);
		return 1;
	}
	return 0;
}
