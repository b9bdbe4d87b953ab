/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mpiq_bench.c - lwkt-bench-mpi: the MPI baseline (MPICH), measured as
 * OSU's osu_latency and osu_bw measure, with its two ranks pinned to the
 * same two PUs as lwkt-bench's cross-cpu benchmarks.  Rank 0 writes
 * google-benchmark-shaped JSON ("context" + "benchmarks") so the report
 * merges it with lwkt-bench's output.
 *
 *   roundtrip/mpi/bytes:N   blocking MPI_Send/MPI_Recv ping-pong.  One
 *       iteration is one round trip (real_time, ns); the OSU figure, the
 *       one-way latency time/(2 x iterations), is the counter osu_latency_ns.
 *       Every answer is checked (length, first and last byte): on data
 *       the receiver has just written, it costs nothing measurable.
 *   stream/mpi/bytes:N      OSU's osu_bw exactly: a window of 64 MPI_Isend
 *       from ONE send buffer (64 MPI_Irecv into one receive buffer on the
 *       peer), MPI_Waitall, then a 4-byte acknowledgement.  The payload is
 *       not checked (the 64 receives share a buffer, as in osu_bw); each
 *       message's length is (from the statuses Waitall fills anyway).  One
 *       iteration is one message (real_time, ns); osu_bw_MBps is OSU's
 *       MB/s (10^6).
 *   stream/mpi_checked/bytes:N  the same window from 64 distinct buffers,
 *       each message marked and checked on arrival (length, first and
 *       last byte): what a real application moving distinct data pays.
 *       At 64 KiB its 4 MiB per side exceeds the L2, so it is slower.
 *
 * Sizes: 0 (as osu_latency starts) and powers of two up to 64 KiB.
 * Iterations (OSU defaults): latency 10000 after 100 warm-up up to 8 KiB,
 * 1000 after 10 above; bandwidth 100 windows after 10 up to 8 KiB, 20
 * after 2 above.  A wrong message makes the run fail (exit 1).
 */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bl_trace.h"
#include "lwkt/topo.h"

#define MPIQ_WINDOW 64
#define MPIQ_LARGE 8192		/* OSU's large-message threshold */
#define MPIQ_TAG_DATA 1
#define MPIQ_TAG_ACK 2
#define MPIQ_ACK 4		/* OSU's acknowledgement, bytes */

/* The three families, in output order. */
enum mpiq_kind { MPIQ_LAT, MPIQ_BW, MPIQ_BW_CHECKED, MPIQ_NKINDS };

struct mpiq_cfg {
	unsigned cpus[2];
	size_t min_size, max_size;
	long lat_iters, lat_skip, lat_iters_large, lat_skip_large;
	long bw_iters, bw_skip, bw_iters_large, bw_skip_large;
	int repetitions;
	const char *out;		/* JSON file (rank 0); NULL: stdout */
	int no_pin;
};

static void
mpiq_usage(FILE *f)
{
	fputs("usage: mpiexec -n 2 lwkt-bench-mpi [--cpus=A,B] [--sizes=MIN-MAX]\n"
	      "       [--iters=N] [--warmup=N] [--bw-iters=N] [--bw-warmup=N]\n"
	      "       [--quick] [--repetitions=N] [--out=FILE] [--no-pin]\n"
	      "\n"
	      "MPI round trip and windowed stream between two ranks, measured as\n"
	      "OSU's osu_latency / osu_bw (plus a checked stream from distinct\n"
	      "buffers); rank 0 writes google-benchmark JSON.\n"
	      "\n"
	      "  --cpus=A,B       PUs (OS indices) for rank 0 and rank 1; default:\n"
	      "                   the first two PUs (as lwkt-bench); also --cpus A,B\n"
	      "  --sizes=MIN-MAX  message sizes: MIN (0 or a power of two), then\n"
	      "                   powers of two up to MAX bytes (default 0-65536)\n"
	      "  --iters=N        latency iterations up to 8 KiB (default 10000;\n"
	      "                   above: N/10)\n"
	      "  --warmup=N       latency warm-up iterations (default 100)\n"
	      "  --bw-iters=N     bandwidth windows up to 8 KiB (default 100)\n"
	      "  --bw-warmup=N    bandwidth warm-up windows (default 10)\n"
	      "  --quick          sizes 0-64, 500 latency / 20 bandwidth\n"
	      "                   iterations (the make check profile)\n"
	      "  --repetitions=N  run every benchmark N times (default 1)\n"
	      "  --out=FILE       write the JSON to FILE (default: stdout)\n"
	      "  --no-pin         do not pin the ranks (multi-host runs)\n"
	      "  -h, --help       this text\n", f);
}

/* Parses a decimal in [lo, hi]; -1 on error. */
static int
mpiq_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* 0 ok, 1 --help shown, 2 bad flag (message printed by rank 0). */
static int
mpiq_parse(int argc, char **argv, struct mpiq_cfg *c, int loud)
{
	const char *cpus = NULL;
	long v;

	*c = (struct mpiq_cfg){
		.min_size = 0, .max_size = 65536,
		.lat_iters = 10000, .lat_skip = 100,
		.lat_iters_large = 1000, .lat_skip_large = 10,
		.bw_iters = 100, .bw_skip = 10,
		.bw_iters_large = 20, .bw_skip_large = 2,
		.repetitions = 1,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			if (loud)
				mpiq_usage(stdout);
			return 1;
		} else if (!strncmp(a, "--cpus=", 7)) {
			cpus = a + 7;
		} else if (!strcmp(a, "--cpus")) {
			/* The space form takes the next word, never a flag. */
			if (i + 1 >= argc || argv[i + 1][0] == '-') {
				if (loud) {
					fprintf(stderr, "lwkt-bench-mpi: --cpus "
						"needs a value (--cpus=A,B)\n");
					mpiq_usage(stderr);
				}
				return 2;
			}
			cpus = argv[++i];
		} else if (!strncmp(a, "--sizes=", 8)) {
			char buf[64], *dash;
			long lo, hi;
			snprintf(buf, sizeof buf, "%s", a + 8);
			dash = strchr(buf, '-');
			if (dash == NULL)
				goto bad;
			*dash = '\0';
			if (mpiq_num(buf, 0, 1 << 24, &lo) ||
			    mpiq_num(dash + 1, 0, 1 << 24, &hi) || lo > hi ||
			    (lo & (lo - 1)) || (hi & (hi - 1)))
				goto bad;
			c->min_size = (size_t)lo;
			c->max_size = (size_t)hi;
		} else if (!strncmp(a, "--iters=", 8)) {
			if (mpiq_num(a + 8, 1, 100000000, &v))
				goto bad;
			c->lat_iters = v;
			c->lat_iters_large = v / 10 ? v / 10 : 1;
		} else if (!strncmp(a, "--warmup=", 9)) {
			if (mpiq_num(a + 9, 0, 100000000, &v))
				goto bad;
			c->lat_skip = v;
			c->lat_skip_large = v / 10;
		} else if (!strncmp(a, "--bw-iters=", 11)) {
			if (mpiq_num(a + 11, 1, 100000000, &v))
				goto bad;
			c->bw_iters = v;
			c->bw_iters_large = v / 5 ? v / 5 : 1;
		} else if (!strncmp(a, "--bw-warmup=", 12)) {
			if (mpiq_num(a + 12, 0, 100000000, &v))
				goto bad;
			c->bw_skip = v;
			c->bw_skip_large = v / 5;
		} else if (!strcmp(a, "--quick")) {
			c->min_size = 0;
			c->max_size = 64;
			c->lat_iters = c->lat_iters_large = 500;
			c->lat_skip = c->lat_skip_large = 20;
			c->bw_iters = c->bw_iters_large = 20;
			c->bw_skip = c->bw_skip_large = 2;
		} else if (!strncmp(a, "--repetitions=", 14)) {
			if (mpiq_num(a + 14, 1, 1000, &v))
				goto bad;
			c->repetitions = (int)v;
		} else if (!strncmp(a, "--out=", 6) && a[6] != '\0') {
			c->out = a + 6;
		} else if (!strcmp(a, "--no-pin")) {
			c->no_pin = 1;
		} else {
			goto bad;
		}
		continue;
bad:
		if (loud) {
			fprintf(stderr, "lwkt-bench-mpi: bad argument '%s'\n", a);
			mpiq_usage(stderr);
		}
		return 2;
	}
	if (lwkt_topo_init() != 0) {
		if (loud)
			fprintf(stderr, "lwkt-bench-mpi: hwloc topology failed\n");
		return 2;
	}
	if (cpus != NULL) {
		unsigned pus[LWKT_TOPO_MAXPU], n;
		char err[256];
		if (lwkt_topo_parse(cpus, pus, LWKT_TOPO_MAXPU, &n, err,
				    sizeof err) != 0) {
			if (loud)
				fprintf(stderr, "lwkt-bench-mpi: --cpus: %s\n",
					err);
			return 2;
		}
		if (n != 2) {
			if (loud)
				fprintf(stderr, "lwkt-bench-mpi: --cpus wants "
					"exactly two PUs (one per rank), got "
					"%u\n", n);
			return 2;
		}
		c->cpus[0] = pus[0];
		c->cpus[1] = pus[1];
	} else {
		unsigned npu = lwkt_topo_npus();
		c->cpus[0] = (unsigned)lwkt_topo_pu(0);
		c->cpus[1] = (unsigned)lwkt_topo_pu(npu > 1 ? 1 : 0);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* JSON output (rank 0).  Every string from outside (the executable's
 * path, host name, kernel, library version) goes through mpiq_json_str. */
struct mpiq_out {
	FILE *f;
	int first;
	long family;
};

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t
mpiq_utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned min;
	unsigned cp;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF are not
	 * UTF-8 (RFC 3629, section 3). */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Writes s as a JSON string (RFC 8259): quotes, backslash and control
 * characters escaped, valid UTF-8 kept, each invalid byte replaced by
 * U+FFFD, so the file stays valid whatever the path holds. */
static void
mpiq_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	putc('"', f);
	while (*p) {
		size_t n = mpiq_utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
		} else if (*p == '"' || *p == '\\') {
			putc('\\', f);
			putc(*p++, f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	putc('"', f);
}

static void
mpiq_json_context(struct mpiq_out *o, const struct mpiq_cfg *c, char **argv)
{
	char host[256] = "unknown", date[64], ver[MPI_MAX_LIBRARY_VERSION_STRING];
	int verlen = 0;
	time_t now = time(NULL);
	struct tm tm;
	struct utsname u;

	gethostname(host, sizeof host - 1);
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", &tm);
	MPI_Get_library_version(ver, &verlen);
	char *cut = strstr(ver, "MPICH configure");	/* keep it short */
	if (cut != NULL)
		*cut = '\0';
	for (char *p = ver; *p; p++)	/* one line */
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	char kernel[2 * sizeof u.release + 2] = "unknown";
	if (uname(&u) == 0)
		snprintf(kernel, sizeof kernel, "%s %s", u.sysname, u.release);
	fputs("{\n  \"context\": {\n    \"date\": ", o->f);
	mpiq_json_str(o->f, date);
	fputs(",\n    \"host_name\": ", o->f);
	mpiq_json_str(o->f, host);
	fputs(",\n    \"executable\": ", o->f);
	mpiq_json_str(o->f, argv[0]);
	fprintf(o->f, ",\n    \"num_cpus\": %ld,\n    \"kernel\": ",
		sysconf(_SC_NPROCESSORS_ONLN));
	mpiq_json_str(o->f, kernel);
	fputs(",\n    \"library_build_type\": \"release\",\n"
	      "    \"mpi_library_version\": ", o->f);
	mpiq_json_str(o->f, ver);
	fprintf(o->f, ",\n"
		"    \"mpi_ranks\": 2,\n    \"cpus\": [%u, %u],\n"
		"    \"pinned\": %s,\n"
		"    \"method\": \"OSU osu_latency/osu_bw: window %d, ack %d B; "
		"stream/mpi one buffer per side (as osu_bw), "
		"stream/mpi_checked %d distinct buffers, every message "
		"checked\"\n"
		"  },\n  \"benchmarks\": [",
		c->cpus[0], c->cpus[1], c->no_pin ? "false" : "true",
		MPIQ_WINDOW, MPIQ_ACK, MPIQ_WINDOW);
	o->first = 1;
}

static void
mpiq_json_result(struct mpiq_out *o, const char *name, int rep, int reps,
		 long iters, double real_ns, double cpu_ns, const char *extra)
{
	fprintf(o->f,
		"%s\n    {\n      \"name\": \"%s\",\n"
		"      \"family_index\": %ld,\n"
		"      \"per_family_instance_index\": 0,\n"
		"      \"run_name\": \"%s\",\n      \"run_type\": \"iteration\",\n"
		"      \"repetitions\": %d,\n      \"repetition_index\": %d,\n"
		"      \"threads\": 1,\n      \"iterations\": %ld,\n"
		"      \"real_time\": %.6e,\n      \"cpu_time\": %.6e,\n"
		"      \"time_unit\": \"ns\"%s\n    }",
		o->first ? "" : ",", name, o->family, name, reps, rep, iters,
		real_ns, cpu_ns, extra);
	o->first = 0;
}

/* ---------------------------------------------------------------------- */
static double
mpiq_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Marks message i in its first and last byte (a 0-byte message has only
 * its length to check). */
static inline void
mpiq_mark(char *buf, size_t size, long i)
{
	if (size == 0)
		return;
	buf[size - 1] = (char)((i >> 7) & 0x7f);
	buf[0] = (char)(i & 0x7f);	/* last: wins when size == 1 */
}

static inline int
mpiq_len_ok(size_t size, MPI_Status *st)
{
	int n;
	MPI_Get_count(st, MPI_BYTE, &n);
	return n >= 0 && (size_t)n == size;
}

static inline int
mpiq_check(const char *buf, size_t size, long i, MPI_Status *st)
{
	return mpiq_len_ok(size, st) &&
	       (size == 0 || (buf[0] == (char)(i & 0x7f) &&
			      (size == 1 ||
			       buf[size - 1] == (char)((i >> 7) & 0x7f))));
}

/* Ping-pong; returns the bad-message count of this rank; *t: seconds of
 * the timed iterations (rank 0). */
static long
mpiq_latency(int rank, size_t size, long iters, long skip, char *sbuf,
	     char *rbuf, double *t, double *cpu, uint64_t *seq)
{
	int peer = !rank;
	long bad = 0;
	double t0 = 0, c0 = 0;
	MPI_Status st;

	MPI_Barrier(MPI_COMM_WORLD);
	for (long i = 0; i < iters + skip; i++) {
		if (i == skip) {
			t0 = MPI_Wtime();
			c0 = mpiq_cpu_s();
		}
		if (rank == 0) {
			mpiq_mark(sbuf, size, i);
			BL_TRACE(mpi_send, rank, peer, MPIQ_TAG_DATA, size, *seq);
			MPI_Send(sbuf, (int)size, MPI_BYTE, peer, MPIQ_TAG_DATA,
				 MPI_COMM_WORLD);
			MPI_Recv(rbuf, (int)size, MPI_BYTE, peer, MPIQ_TAG_DATA,
				 MPI_COMM_WORLD, &st);
			BL_TRACE(mpi_recv, rank, peer, MPIQ_TAG_DATA, size, *seq);
			bad += !mpiq_check(rbuf, size, i, &st);
		} else {
			MPI_Recv(rbuf, (int)size, MPI_BYTE, peer, MPIQ_TAG_DATA,
				 MPI_COMM_WORLD, &st);
			BL_TRACE(mpi_recv, rank, peer, MPIQ_TAG_DATA, size, *seq);
			bad += !mpiq_check(rbuf, size, i, &st);
			/* Echo what arrived: rank 0 checks it came back. */
			mpiq_mark(sbuf, size, i);
			BL_TRACE(mpi_send, rank, peer, MPIQ_TAG_DATA, size, *seq);
			MPI_Send(sbuf, (int)size, MPI_BYTE, peer, MPIQ_TAG_DATA,
				 MPI_COMM_WORLD);
		}
		(*seq)++;
	}
	*t = MPI_Wtime() - t0;
	*cpu = mpiq_cpu_s() - c0;
	return bad;
}

/* The windowed stream rank 0 -> rank 1, a 4-byte ack per window.
 * Unchecked (OSU's osu_bw): every message of the window uses the same
 * buffer (win[j] all alike) and only lengths are checked (the statuses
 * are filled by MPI_Waitall anyway; the payload is never touched, as in
 * osu_bw).  Checked: MPIQ_WINDOW distinct buffers, every message marked
 * by the sender and checked by the receiver. */
static long
mpiq_bandwidth(int rank, size_t size, long iters, long skip, char *const *win,
	       char *ack, bool checked, double *t, double *cpu, uint64_t *seq)
{
	int peer = !rank;
	long bad = 0;
	double t0 = 0, c0 = 0;
	MPI_Request req[MPIQ_WINDOW];
	MPI_Status st[MPIQ_WINDOW];

	MPI_Barrier(MPI_COMM_WORLD);
	for (long i = 0; i < iters + skip; i++) {
		if (i == skip) {
			t0 = MPI_Wtime();
			c0 = mpiq_cpu_s();
		}
		if (rank == 0) {
			for (int j = 0; j < MPIQ_WINDOW; j++) {
				if (checked)
					mpiq_mark(win[j], size, i * MPIQ_WINDOW + j);
				BL_TRACE(mpi_send, rank, peer, MPIQ_TAG_DATA,
					 size, *seq + (uint64_t)j);
				MPI_Isend(win[j], (int)size, MPI_BYTE, peer,
					  MPIQ_TAG_DATA, MPI_COMM_WORLD, &req[j]);
			}
			MPI_Waitall(MPIQ_WINDOW, req, st);
			MPI_Recv(ack, MPIQ_ACK, MPI_BYTE, peer, MPIQ_TAG_ACK,
				 MPI_COMM_WORLD, &st[0]);
			bad += !mpiq_len_ok(MPIQ_ACK, &st[0]);
		} else {
			for (int j = 0; j < MPIQ_WINDOW; j++)
				MPI_Irecv(win[j], (int)size, MPI_BYTE, peer,
					  MPIQ_TAG_DATA, MPI_COMM_WORLD, &req[j]);
			MPI_Waitall(MPIQ_WINDOW, req, st);
			for (int j = 0; j < MPIQ_WINDOW; j++) {
				BL_TRACE(mpi_recv, rank, peer, MPIQ_TAG_DATA,
					 size, *seq + (uint64_t)j);
				bad += checked
				    ? !mpiq_check(win[j], size,
						  i * MPIQ_WINDOW + j, &st[j])
				    : !mpiq_len_ok(size, &st[j]);
			}
			MPI_Send(ack, MPIQ_ACK, MPI_BYTE, peer, MPIQ_TAG_ACK,
				 MPI_COMM_WORLD);
		}
		*seq += MPIQ_WINDOW;
	}
	*t = MPI_Wtime() - t0;
	*cpu = mpiq_cpu_s() - c0;
	return bad;
}

int
main(int argc, char **argv)
{
	struct mpiq_cfg cfg;
	int rank = 0, nranks = 0, rc = 0;
	const char *pmi_rank = getenv("PMI_RANK");
	/* Only rank 0 (or a run outside mpiexec) prints parse errors. */
	int loud = pmi_rank == NULL || !strcmp(pmi_rank, "0");

	int p = mpiq_parse(argc, argv, &cfg, loud);
	if (p == 1)
		return 0;
	if (p == 2)
		return 2;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "lwkt-bench-mpi: needs exactly 2 ranks "
				"(mpiexec -n 2), got %d\n", nranks);
		MPI_Finalize();
		return 2;
	}
	if (!cfg.no_pin) {
		int e = lwkt_topo_bind_self(cfg.cpus[rank]);
		if (e != 0) {
			fprintf(stderr, "lwkt-bench-mpi: rank %d: cannot pin to "
				"PU %u: %s\n", rank, cfg.cpus[rank], strerror(e));
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
	}

	/* At least the ack's bytes: OSU's stream acks from its buffers. */
	size_t bufsize = cfg.max_size > MPIQ_ACK ? cfg.max_size : MPIQ_ACK;
	char *sbuf = malloc(bufsize), *rbuf = malloc(bufsize);
	char *bufs[MPIQ_WINDOW], ack[MPIQ_ACK] = {0};
	int oom = sbuf == NULL || rbuf == NULL;
	for (int j = 0; j < MPIQ_WINDOW; j++)
		oom |= (bufs[j] = malloc(bufsize)) == NULL;
	if (oom) {
		fprintf(stderr, "lwkt-bench-mpi: rank %d: out of memory\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	/* osu_bw's window: one buffer a side, the ack from the other one. */
	char *one[MPIQ_WINDOW];
	for (int j = 0; j < MPIQ_WINDOW; j++)
		one[j] = rank == 0 ? sbuf : rbuf;
	memset(sbuf, 0, bufsize);

	struct mpiq_out o = {.f = stdout};
	char tmp[4096];
	if (rank == 0 && cfg.out != NULL) {
		snprintf(tmp, sizeof tmp, "%s.tmp", cfg.out);
		o.f = fopen(tmp, "w");
		if (o.f == NULL) {
			fprintf(stderr, "lwkt-bench-mpi: %s: %s\n", tmp,
				strerror(errno));
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
	}
	if (rank == 0)
		mpiq_json_context(&o, &cfg, argv);

	uint64_t seq = 0;
	long bad = 0;
	char name[128], extra[256];
	static const char *const kind_name[MPIQ_NKINDS] = {
		"roundtrip/mpi", "stream/mpi", "stream/mpi_checked"};
	for (int kind = 0; kind < MPIQ_NKINDS; kind++) {
		for (size_t size = cfg.min_size; size <= cfg.max_size;
		     size = size ? size * 2 : 1) {
			int large = size > MPIQ_LARGE;
			for (int rep = 0; rep < cfg.repetitions; rep++) {
				double t, cpu;
				long iters, skip;
				if (kind == MPIQ_LAT) {
					iters = large ? cfg.lat_iters_large : cfg.lat_iters;
					skip = large ? cfg.lat_skip_large : cfg.lat_skip;
					bad += mpiq_latency(rank, size, iters, skip,
					    sbuf, rbuf, &t, &cpu, &seq);
				} else {
					iters = large ? cfg.bw_iters_large : cfg.bw_iters;
					skip = large ? cfg.bw_skip_large : cfg.bw_skip;
					bool chk = kind == MPIQ_BW_CHECKED;
					bad += mpiq_bandwidth(rank, size, iters,
					    skip, chk ? bufs : one, chk ? ack :
					    rank == 0 ? rbuf : sbuf, chk,
					    &t, &cpu, &seq);
				}
				if (rank != 0)
					continue;
				snprintf(name, sizeof name, "%s/bytes:%zu/real_time",
					 kind_name[kind], size);
				if (kind == MPIQ_LAT) {
					snprintf(extra, sizeof extra,
						 ",\n      \"osu_latency_ns\": %.6e",
						 t * 1e9 / (2.0 * (double)iters));
					mpiq_json_result(&o, name, rep, cfg.repetitions,
						iters, t * 1e9 / (double)iters,
						cpu * 1e9 / (double)iters, extra);
				} else {
					double msgs = (double)iters * MPIQ_WINDOW;
					snprintf(extra, sizeof extra,
						 ",\n      \"items_per_second\": %.6e,"
						 "\n      \"bytes_per_second\": %.6e,"
						 "\n      \"osu_bw_MBps\": %.6e",
						 msgs / t, msgs * (double)size / t,
						 msgs * (double)size / t / 1e6);
					mpiq_json_result(&o, name, rep, cfg.repetitions,
						(long)msgs, t * 1e9 / msgs,
						cpu * 1e9 / msgs, extra);
				}
				fflush(o.f);
			}
			o.family++;
			if (size > SIZE_MAX / 2)
				break;
		}
	}
	long total_bad = 0;
	MPI_Reduce(&bad, &total_bad, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		fprintf(o.f, "\n  ]\n}\n");
		if (total_bad) {
			fprintf(stderr, "lwkt-bench-mpi: %ld messages arrived "
				"wrong (length or content)\n", total_bad);
			rc = 1;
		}
		if (cfg.out != NULL) {
			if (fclose(o.f) != 0 ||
			    (rc == 0 && rename(tmp, cfg.out) != 0)) {
				fprintf(stderr, "lwkt-bench-mpi: cannot write %s: "
					"%s\n", cfg.out, strerror(errno));
				rc = 1;
			}
			if (rc)
				unlink(tmp);
		}
	}
	for (int j = 0; j < MPIQ_WINDOW; j++)
		free(bufs[j]);
	free(sbuf);
	free(rbuf);
	/*
	 * Both ranks enter MPI_Finalize together: rank 0, still writing
	 * its results, otherwise arrives late while rank 1 waits in the
	 * process manager's barrier inside MPI_Finalize, making no UCX
	 * progress, and rank 0's endpoint close over TCP waits for it:
	 * both hung there (seen under lwkt-record between two namespace
	 * hosts: MPICH 4.0 + UCX 1.13, openucx/ucx issue 8738, "TCP
	 * transport hangs during cleanup").  It narrows the window; the
	 * race is upstream.
	 */
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Finalize();
	return rc;
}
