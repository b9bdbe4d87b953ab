/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fleet.c - lwkt-matrix-fleet: the bench matrix on many hosts at once.
 * Started by MPICH's launcher with one rank per host
 *
 *   mpiexec -f hostfile -ppn 1 -n N build/lwkt-matrix-fleet --out=DIR -- ARGS
 *
 * every rank runs the matrix runner (lwkt-matrix ARGS) on its own host
 * into a private work directory, then ships that host's results (a tar of
 * hosts/<id>/: host record, plan, raw JSON) to rank 0 over MPI; rank 0
 * unpacks them all under DIR and renders one report that compares the
 * hosts.  No shared file system is needed.  Ranks wait for each other by
 * polling with sleeps, not in MPI's busy-polling calls, so a rank that is
 * done never steals a CPU from a host still measuring.
 */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAMELEN 128
#define CHUNK (64u << 20)	/* bytes per MPI message */

static int rank, nranks;
static char *ids;	/* rank 0: every rank's host id, NAMELEN each */

static void
usage(FILE *f)
{
	fputs("usage: mpiexec -f HOSTFILE -ppn 1 -n N lwkt-matrix-fleet "
	      "--out=DIR [--runner=PATH]\n"
	      "                 [--work=DIR] [-- lwkt-matrix options...]\n"
	      "\n"
	      "Runs the bench matrix (lwkt-matrix) on every host of an MPI job\n"
	      "(one rank per host), gathers each host's results and host record\n"
	      "on rank 0 under DIR/hosts/<host>/, and renders one report\n"
	      "(DIR/results.csv, DIR/summary.md comparing the hosts, heat maps).\n"
	      "\n"
	      "  --out=DIR      where rank 0 writes the merged results\n"
	      "  --runner=PATH  the lwkt-matrix runner (default: next to this\n"
	      "                 binary, or bench/matrix/lwkt-matrix of the tree)\n"
	      "  --work=DIR     each rank's scratch directory (default $TMPDIR\n"
	      "                 or /tmp); removed afterwards\n"
	      "  -h, --help     this text\n", f);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits for a request without spinning a CPU (see the file comment). */
static void
wait_idle(MPI_Request *rq)
{
	int done = 0;
	while (MPI_Test(rq, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
		sleep_ms(20);
}

/* A barrier that sleeps while it waits. */
static void
barrier_idle(void)
{
	MPI_Request rq;
	MPI_Ibarrier(MPI_COMM_WORLD, &rq);
	wait_idle(&rq);
}

static int
run_argv(char *const argv[])
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "lwkt-matrix-fleet: cannot run %s: %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reads the whole output of a shell command into a malloc'ed buffer. */
static char *
slurp(const char *cmd, uint64_t *len)
{
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, p);
		if (r == 0)
			break;
		n += r;
	}
	if (pclose(p) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int
spill(const char *cmd, const char *buf, uint64_t len)
{
	FILE *p = popen(cmd, "w");
	if (p == NULL)
		return -1;
	size_t w = fwrite(buf, 1, len, p);
	return (pclose(p) == 0 && w == len) ? 0 : -1;
}

static void
default_runner(const char *argv0, char *buf, size_t len)
{
	char self[PATH_MAX];
	if (realpath(argv0, self) == NULL) {
		snprintf(buf, len, "lwkt-matrix");
		return;
	}
	char *slash = strrchr(self, '/');
	*slash = '\0';
	if (snprintf(buf, len, "%s/lwkt-matrix", self) < (int)len &&
	    access(buf, X_OK) == 0)
		return;
	if (snprintf(buf, len, "%s/../bench/matrix/lwkt-matrix", self) <
	    (int)len && access(buf, X_OK) == 0)
		return;
	snprintf(buf, len, "lwkt-matrix");
}

/* Host ids: the short hostname, with -rN added where two ranks share one
 * (containers and network namespaces often do). */
static void
assign_ids(char *id)
{
	char me[NAMELEN] = {0};
	gethostname(me, sizeof me - 1);
	me[strcspn(me, ".")] = '\0';
	for (char *c = me; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			*c = '_';
	if (me[0] == '\0')
		snprintf(me, sizeof me, "host");
	char *all = rank == 0 ? calloc((size_t)nranks, NAMELEN) : NULL;
	MPI_Gather(me, NAMELEN, MPI_CHAR, all, NAMELEN, MPI_CHAR, 0,
		   MPI_COMM_WORLD);
	if (rank == 0) {
		ids = calloc((size_t)nranks, NAMELEN);
		for (int r = 0; r < nranks; r++) {
			int dup = 0;
			for (int q = 0; q < nranks; q++)
				if (q != r && strcmp(all + q * NAMELEN,
						     all + r * NAMELEN) == 0)
					dup = 1;
			snprintf(ids + r * NAMELEN, NAMELEN, dup ? "%.100s-r%d"
				 : "%.100s", all + r * NAMELEN, r);
		}
		MPI_Scatter(ids, NAMELEN, MPI_CHAR, id, NAMELEN, MPI_CHAR, 0,
			    MPI_COMM_WORLD);
		free(all);
	} else {
		MPI_Scatter(NULL, NAMELEN, MPI_CHAR, id, NAMELEN, MPI_CHAR, 0,
			    MPI_COMM_WORLD);
	}
}

static void
send_bytes(const char *buf, uint64_t len, int tag)
{
	MPI_Request rq;
	MPI_Isend(&len, 1, MPI_UINT64_T, 0, tag, MPI_COMM_WORLD, &rq);
	wait_idle(&rq);
	for (uint64_t off = 0; off < len; off += CHUNK) {
		int n = (int)(len - off < CHUNK ? len - off : CHUNK);
		MPI_Isend(buf + off, n, MPI_CHAR, 0, tag, MPI_COMM_WORLD, &rq);
		wait_idle(&rq);
	}
}

static char *
recv_bytes(int from, uint64_t *len, int tag)
{
	MPI_Request rq;
	MPI_Irecv(len, 1, MPI_UINT64_T, from, tag, MPI_COMM_WORLD, &rq);
	wait_idle(&rq);
	char *buf = malloc(*len ? *len : 1);
	if (buf == NULL)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (uint64_t off = 0; off < *len; off += CHUNK) {
		int n = (int)(*len - off < CHUNK ? *len - off : CHUNK);
		MPI_Irecv(buf + off, n, MPI_CHAR, from, tag, MPI_COMM_WORLD,
			  &rq);
		wait_idle(&rq);
	}
	return buf;
}

int
main(int argc, char **argv)
{
	const char *out = NULL, *work = NULL;
	char runner[PATH_MAX] = "";
	int first = argc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strncmp(a, "--out=", 6) && a[6]) {
			out = a + 6;
		} else if (!strncmp(a, "--runner=", 9) && a[9]) {
			snprintf(runner, sizeof runner, "%s", a + 9);
		} else if (!strncmp(a, "--work=", 7) && a[7]) {
			work = a + 7;
		} else if (!strcmp(a, "--")) {
			first = i + 1;
			break;
		} else {
			fprintf(stderr, "lwkt-matrix-fleet: unknown argument "
				"'%s'\n\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (out == NULL) {
		fprintf(stderr, "lwkt-matrix-fleet: --out=DIR is required\n\n");
		usage(stderr);
		return 2;
	}
	for (int i = first; i < argc; i++)
		if (!strncmp(argv[i], "--out", 5) ||
		    !strncmp(argv[i], "--host-id", 9) ||
		    !strcmp(argv[i], "--dry-run") ||
		    !strcmp(argv[i], "--report") ||
		    !strcmp(argv[i], "--resume")) {
			fprintf(stderr, "lwkt-matrix-fleet: %s is the fleet's "
				"to set, not the runner's\n", argv[i]);
			return 2;
		}
	if (runner[0] == '\0')
		default_runner(argv[0], runner, sizeof runner);
	if (work == NULL)
		work = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);

	char id[NAMELEN];
	assign_ids(id);
	long job = (long)getpid() ^ (long)time(NULL);
	MPI_Bcast(&job, 1, MPI_LONG, 0, MPI_COMM_WORLD);
	char dir[PATH_MAX], aout[PATH_MAX + 8], ahost[NAMELEN + 16];
	snprintf(dir, sizeof dir, "%s/lwkt-matrix-fleet-%lx-%d", work, job,
		 rank);
	snprintf(aout, sizeof aout, "--out=%s", dir);
	snprintf(ahost, sizeof ahost, "--host-id=%s", id);

	/* 1. Every host measures (rank 0 shows its progress). */
	char **rargv = calloc((size_t)(argc - first) + 6, sizeof *rargv);
	int k = 0;
	rargv[k++] = runner;
	rargv[k++] = aout;
	rargv[k++] = ahost;
	rargv[k++] = rank == 0 ? "--progress=line" : "--progress=none";
	for (int i = first; i < argc; i++)
		rargv[k++] = argv[i];
	rargv[k] = NULL;
	if (rank == 0)
		printf("lwkt-matrix-fleet: %d hosts; each runs %s\n", nranks,
		       runner);
	int rc = run_argv(rargv);
	free(rargv);
	if (rank != 0 && rc != 0)
		fprintf(stderr, "lwkt-matrix-fleet: host %s: the runner "
			"exited %d\n", id, rc);

	/* 2. Each host's results travel to rank 0 as a tar stream. */
	char cmd[2 * PATH_MAX + 256];
	uint64_t len = 0;
	snprintf(cmd, sizeof cmd, "tar -C '%s' -cf - 'hosts/%s'", dir, id);
	char *tar = slurp(cmd, &len);
	if (tar == NULL) {
		len = 0;
		rc = rc ? rc : 1;
		fprintf(stderr, "lwkt-matrix-fleet: host %s: no results to "
			"send (%s)\n", id, cmd);
	}
	int status[2] = {rc, (int)(tar != NULL)};
	int *all = rank == 0 ? calloc((size_t)nranks * 2, sizeof *all) : NULL;
	MPI_Request rq;
	MPI_Igather(status, 2, MPI_INT, all, 2, MPI_INT, 0, MPI_COMM_WORLD,
		    &rq);
	wait_idle(&rq);
	int failed = 0;
	if (rank == 0) {
		mkdir(out, 0755);
		snprintf(cmd, sizeof cmd, "tar -C '%s' -xf -", out);
		for (int r = 0; r < nranks; r++) {
			uint64_t n = 0;
			char *buf = r == 0 ? tar : (all[2 * r + 1] ?
				recv_bytes(r, &n, 7) : NULL);
			if (r == 0)
				n = len;
			if (all[2 * r] != 0)
				failed++;
			if (buf == NULL)
				continue;
			/* An earlier fleet run's cells of this host must not
			 * mix with this run's. */
			char rm[PATH_MAX + 2 * NAMELEN];
			snprintf(rm, sizeof rm, "rm -rf '%s/hosts/%s'", out,
				 ids + r * NAMELEN);
			if (system(rm) != 0)
				failed++;
			if (spill(cmd, buf, n) != 0) {
				fprintf(stderr, "lwkt-matrix-fleet: cannot "
					"unpack rank %d's results into %s\n",
					r, out);
				failed++;
			}
			if (r != 0)
				free(buf);
		}
		free(all);
		free(ids);
	} else if (tar != NULL) {
		send_bytes(tar, len, 7);
	}
	free(tar);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "lwkt-matrix-fleet: cannot remove %s\n", dir);
	barrier_idle();

	/* 3. One report over every host. */
	if (rank == 0) {
		char aout0[PATH_MAX + 8];
		snprintf(aout0, sizeof aout0, "--out=%s", out);
		char *rep[] = {runner, "--report", aout0, NULL};
		if (run_argv(rep) != 0)
			failed++;
		printf("lwkt-matrix-fleet: %d hosts gathered in %s%s\n",
		       nranks, out, failed ? " (some FAILED, see above)" : "");
	}
	MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
	/*
	 * A blocking barrier, so both ranks enter MPI_Finalize at about the
	 * same time (it narrows the window, it cannot close it: the race is
	 * upstream).  Without it rank 0, done first, waits in the process
	 * manager's barrier inside MPI_Finalize, making no UCX progress,
	 * while rank 1's endpoint close over TCP waits for it: both hung
	 * there once in CI (MPICH 4.0 + UCX 1.13; the close-needs-progress
	 * race of openucx/ucx issue 8738, "TCP transport hangs during
	 * cleanup", 2022-12-01).
	 */
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Finalize();
	return failed ? 1 : 0;
}
