/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c - lwkt-bench: the project's benchmark binary.  Takes the
 * project's own flags, hands every --benchmark_* flag to google-benchmark,
 * and rejects anything else with usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_main.h"
#include "gbench.h"
#include "lwkt/topo.h"

static void
usage(FILE *f)
{
	fputs("usage: lwkt-bench [--cpus=A,B] [--profile=quick|full] "
	      "[--host-json=FILE] [--benchmark_*...]\n"
	      "\n"
	      "Runs lwkt-lab's benchmark suite (google-benchmark; names are\n"
	      "<workload>/<mechanism>[/<params>], see bench/README.md).\n"
	      "\n"
	      "project flags:\n"
	      "  --cpus=A,B         the two PUs (OS indices) for cross-cpu runs;\n"
	      "                     default: the first two PUs.  Also accepts\n"
	      "                     ranges (0-1) and count=2.\n"
	      "  --profile=quick    min_time 0.05 s, 3 repetitions, interleaved,\n"
	      "                     aggregates shown (the `make run` profile)\n"
	      "  --profile=full     min_time 0.5 s, 9 repetitions, interleaved\n"
	      "                     (later --benchmark_* flags override a profile)\n"
	      "  --host-json=FILE   write the host record (hwloc XML, kernel, cpu,\n"
	      "                     membarrier, compiler, git revision) first\n"
	      "  -h, --help         this text\n"
	      "\n", f);
	gbench_print_flags();
}

/*
 * google-benchmark 1.7 answers a bad value of these flags by printing its
 * usage and exiting 0 (PrintUsageAndExit in benchmark.cc): a caller would
 * take the run for a success.  Check them here and fail with exit 2.
 */
static int
check_gbench_value(const char *a)
{
	static const struct {
		const char *flag;
		const char *ok[5];
	} v[] = {
	    {"--benchmark_format=", {"console", "json", "csv"}},
	    {"--benchmark_out_format=", {"console", "json", "csv"}},
	    {"--benchmark_time_unit=", {"ns", "us", "ms", "s"}},
	};
	if (strcmp(a, "--benchmark_color=") == 0) {
		fputs("lwkt-bench: bad value '' for --benchmark_color "
		      "(auto, true, false...)\n", stderr);
		return -1;
	}
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t n = strlen(v[i].flag);
		if (strncmp(a, v[i].flag, n) != 0)
			continue;
		for (size_t j = 0; j < 5 && v[i].ok[j] != NULL; j++)
			if (strcmp(a + n, v[i].ok[j]) == 0)
				return 0;
		fprintf(stderr, "lwkt-bench: bad value '%s' for %.*s (one of:",
			a + n, (int)n - 1, a);
		for (size_t j = 0; j < 5 && v[i].ok[j] != NULL; j++)
			fprintf(stderr, " %s", v[i].ok[j]);
		fputs(")\n", stderr);
		return -1;
	}
	return 0;
}

static int
set_cpus(const char *spec)
{
	unsigned pus[LWKT_TOPO_MAXPU], n;
	char err[256];
	if (lwkt_topo_parse(spec, pus, LWKT_TOPO_MAXPU, &n, err, sizeof err)) {
		fprintf(stderr, "lwkt-bench: --cpus: %s\n", err);
		return -1;
	}
	if (n != 2) {
		fprintf(stderr, "lwkt-bench: --cpus wants exactly two PUs "
			"(got %u in '%s')\n", n, spec);
		return -1;
	}
	bench_cpu[0] = pus[0];
	bench_cpu[1] = pus[1];
	bench_ncpus = 2;
	return 0;
}

int
main(int argc, char **argv)
{
	/* argv for google-benchmark: argv[0], profile flags, then the
	 * user's --benchmark_* flags (later ones win). */
	char **gargv = calloc((size_t)argc + 8, sizeof *gargv);
	int gargc = 0;
	const char *cpus = NULL, *host = NULL, *profile = NULL;

	if (gargv == NULL)
		return 1;
	gargv[gargc++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			free(gargv);
			return 0;
		} else if (strncmp(a, "--cpus=", 7) == 0) {
			cpus = a + 7;
		} else if (strcmp(a, "--cpus") == 0) {
			/* "--cpus --benchmark_filter=x" is a missing value, not
			 * a cpu list. */
			if (i + 1 >= argc || argv[i + 1][0] == '-') {
				fprintf(stderr, "lwkt-bench: --cpus needs a value "
					"(e.g. --cpus=0,1)\n");
				free(gargv);
				return 2;
			}
			cpus = argv[++i];
		} else if (strncmp(a, "--profile=", 10) == 0) {
			profile = a + 10;
		} else if (strncmp(a, "--host-json=", 12) == 0) {
			host = a + 12;
		} else if (strncmp(a, "--benchmark_", 12) == 0 ||
			   strncmp(a, "--v=", 4) == 0) {
			if (check_gbench_value(a) != 0) {
				free(gargv);
				return 2;
			}
			continue;	/* added after the profile, below */
		} else {
			fprintf(stderr, "lwkt-bench: unknown argument '%s'\n\n",
				a);
			usage(stderr);
			free(gargv);
			return 2;
		}
	}
	if (profile != NULL) {
		if (strcmp(profile, "quick") == 0) {
			gargv[gargc++] = "--benchmark_min_time=0.05";
			gargv[gargc++] = "--benchmark_repetitions=3";
		} else if (strcmp(profile, "full") == 0) {
			gargv[gargc++] = "--benchmark_min_time=0.5";
			gargv[gargc++] = "--benchmark_repetitions=9";
		} else {
			fprintf(stderr, "lwkt-bench: unknown profile '%s' "
				"(quick or full)\n", profile);
			free(gargv);
			return 2;
		}
		gargv[gargc++] = "--benchmark_enable_random_interleaving=true";
		gargv[gargc++] = "--benchmark_display_aggregates_only=true";
	}
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--benchmark_", 12) == 0 ||
		    strncmp(argv[i], "--v=", 4) == 0)
			gargv[gargc++] = argv[i];
	gargv[gargc] = NULL;

	if (lwkt_topo_init() != 0) {
		fprintf(stderr, "lwkt-bench: cannot load the hwloc topology\n");
		free(gargv);
		return 1;
	}
	if (cpus != NULL) {
		if (set_cpus(cpus) != 0) {
			free(gargv);
			return 2;
		}
	} else {
		bench_ncpus = lwkt_topo_npus() >= 2 ? 2 : 1;
		bench_cpu[0] = (unsigned)lwkt_topo_pu(0);
		bench_cpu[1] = (unsigned)lwkt_topo_pu(bench_ncpus - 1);
	}
	/* google-benchmark runs single-threaded benchmarks on this thread. */
	int e = lwkt_topo_bind_self(bench_cpu[0]);
	if (e != 0) {
		fprintf(stderr, "lwkt-bench: cannot bind to PU %u: %s\n",
			bench_cpu[0], strerror(e));
		free(gargv);
		return 1;
	}
	if (host != NULL && bench_write_host_json(host) != 0) {
		free(gargv);
		return 1;
	}
	int rc = gbench_main(gargc, gargv);
	if (rc == 2)
		usage(stderr);
	free(gargv);
	return rc;
}
