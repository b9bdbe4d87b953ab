/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_cpulist.c - lwkt_topo_parse(), the cpu-list parser behind --cpus,
 * LWKT_CPUS and struct lwkt_config, on the real hwloc topology of the
 * host.
 *
 * Input: byte 0 picks `max` (1..8, or LWKT_TOPO_MAXPU when its top bit is
 * set), byte 1 the error buffer's size (0: no buffer), the rest up to the
 * first NUL is the list.  Properties checked (abort() when violated):
 *   - success: 1 <= n <= max, no PU twice, every PU is one of the
 *     topology's, and the list printed back as "a,b,c" parses to the same
 *     PUs in the same order;
 *   - failure: EINVAL, and a non-empty, terminated reason that fits the
 *     buffer;
 *   - nothing is written past pus[max] or past the error buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/topo.h"

#define FUZZ_PERSISTENT 1
#include "fuzz_main.h"

#define CANARY 0xa5u

static void
fail(const char *spec, const char *what)
{
	fprintf(stderr, "fuzz_cpulist: list '%s': %s\n", spec, what);
	abort();
}

static void
fuzz_setup(void)
{
	int e = lwkt_topo_init();
	if (e != 0) {
		fprintf(stderr, "fuzz_cpulist: cannot load the hwloc topology: %s\n",
			strerror(e));
		exit(3);
	}
}

static void
fuzz_one(const uint8_t *buf, size_t len)
{
	static unsigned pus[LWKT_TOPO_MAXPU + 1], again[LWKT_TOPO_MAXPU + 1];
	static char err[256 + 16];

	if (len < 2)
		return;
	unsigned max = buf[0] & 0x80 ? LWKT_TOPO_MAXPU : 1u + buf[0] % 8u;
	size_t errlen = buf[1];
	size_t sl = strnlen((const char *)buf + 2, len - 2);
	/* Exactly the string's bytes on the heap: an over-read is caught. */
	char *spec = malloc(sl + 1);
	if (!spec)
		abort();
	memcpy(spec, buf + 2, sl);
	spec[sl] = '\0';

	pus[max] = CANARY;
	memset(err, CANARY, sizeof err);
	unsigned n = 12345;
	int rc = lwkt_topo_parse(spec, pus, max, &n, errlen ? err : NULL, errlen);
	if (pus[max] != CANARY)
		fail(spec, "wrote past pus[max]");
	for (size_t i = errlen; i < sizeof err; i++)
		if ((unsigned char)err[i] != CANARY)
			fail(spec, "wrote past the error buffer");
	if (rc != 0) {
		if (rc != EINVAL)
			fail(spec, "an error other than EINVAL");
		if (errlen > 1 && (err[0] == '\0' || memchr(err, '\0', errlen) == NULL))
			fail(spec, "error reason empty or not terminated");
		if (errlen == 1 && err[0] != '\0')
			fail(spec, "error reason not terminated in a 1-byte buffer");
		free(spec);
		return;
	}
	if (n < 1 || n > max)
		fail(spec, "success with a count outside 1..max");
	/* The PUs: known to hwloc, none twice; printed back as a list. */
	char *list = malloc((size_t)n * 12 + 1), *w = list;
	if (!list)
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(lwkt_topo_distance(pus[i], pus[i]), "same_pu") != 0)
			fail(spec, "a PU that is not in the topology");
		for (unsigned j = 0; j < i; j++)
			if (pus[j] == pus[i])
				fail(spec, "a PU named twice in the result");
		w += sprintf(w, "%s%u", i ? "," : "", pus[i]);
	}
	unsigned m = 0;
	char e2[256];
	if (lwkt_topo_parse(list, again, max, &m, e2, sizeof e2) != 0) {
		fprintf(stderr, "fuzz_cpulist: '%s' -> '%s': %s\n", spec, list, e2);
		fail(spec, "its result printed as a list does not parse");
	}
	if (m != n || memcmp(again, pus, n * sizeof pus[0]) != 0)
		fail(spec, "its result printed as a list parses differently");
	free(list);
	free(spec);
}

