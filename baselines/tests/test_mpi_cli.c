/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mpi_cli.c - lwkt-bench-mpi and `make bench-mpi` at their edges, as
 * an operator meets them: a path that needs JSON escaping, --cpus errors
 * that say why, the --cpus space form that never takes a flag as its
 * value, and an MPI_CPUS that must not reach a shell.  Runs the real
 * binary of this build (under mpiexec where the MPI run is the point).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ltest.h"

#define MPIBIN LWKT_BUILD_DIR "/lwkt-bench-mpi"

static char out[1 << 16];

/* Runs cmd through sh; stdout+stderr into out; returns the exit code. */
static int
run(const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The binary's path quoted for sh (it is ours: no single quote in it). */
static const char *
bin(void)
{
	static char path[4096];
	if (path[0] == '\0') {
		char *rp = realpath(MPIBIN, NULL);
		ck_assert_msg(rp != NULL, "%s not built", MPIBIN);
		snprintf(path, sizeof path, "%s", rp);
		free(rp);
	}
	return path;
}

/* --cpus errors name the reason, not just the input. */
START_TEST(t_cpus_reason)
{
	static const struct { const char *arg, *why; } cases[] = {
		{"--cpus=0,0", "named twice"},
		{"--cpus=0,99999", "no PU 99999"},
		{"--cpus=abc", "bad cpu list"},
		{"--cpus=", "empty cpu list"},
		{"--cpus=0", "exactly two PUs"},
	};
	char cmd[4200];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(cmd, sizeof cmd, "'%s' %s", bin(), cases[i].arg);
		ck_assert_int_eq(run(cmd), 2);
		ck_assert_msg(strstr(out, cases[i].why), "%s: no '%s' in:\n%s",
			      cases[i].arg, cases[i].why, out);
	}
}
END_TEST

/* `--cpus A,B` works like --cpus=A,B; `--cpus --flag` is an error that
 * says so, never a cpu list named "--flag". */
START_TEST(t_cpus_space_form)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "'%s' --cpus 0,1 --help", bin());
	ck_assert_msg(run(cmd) == 0 && strstr(out, "usage:"),
		      "--cpus 0,1 --help:\n%s", out);
	snprintf(cmd, sizeof cmd, "'%s' --cpus --quick", bin());
	ck_assert_int_eq(run(cmd), 2);
	ck_assert_msg(strstr(out, "--cpus needs a value"), "%s", out);
	snprintf(cmd, sizeof cmd, "'%s' --cpus", bin());
	ck_assert_int_eq(run(cmd), 2);
	ck_assert_msg(strstr(out, "--cpus needs a value"), "%s", out);
}
END_TEST

/* A run whose executable path holds a quote, a backslash, a tab and a
 * byte that is not UTF-8 writes valid JSON naming that exact path. */
START_TEST(t_json_escapes_path)
{
	if (run("command -v mpiexec") != 0) {
		printf("SKIPPED: mpi-cli/json_escapes_path: no mpiexec "
		       "(Debian package mpich)\n");
		return;
	}
	char tmpl[] = "/tmp/lwkt-mpi-cli-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char dir[256], exe[512], cmd[4200], json[600];
	snprintf(dir, sizeof dir, "%s/we\"ird\\dir\t\xff", tmpl);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(exe, sizeof exe, "%s/lwkt-bench-mpi", dir);
	snprintf(json, sizeof json, "%s/out.json", tmpl);
	/* A symlink keeps the build's binary (and its sanitizer runtime). */
	ck_assert_int_eq(symlink(bin(), exe), 0);
	/* The path goes through the environment: no shell quoting of it. */
	setenv("LWKT_T_EXE", exe, 1);
	setenv("LWKT_T_JSON", json, 1);
	/* Under TSan, UCX's mmap hook (which patches mmap/munmap) crashes
	 * the ranks in MPI_Init (SIGSEGV); shared-memory transfers do not
	 * need it (it keeps RDMA registration caches coherent). */
#if defined(__SANITIZE_THREAD__)
	setenv("UCX_MEM_MMAP_HOOK_MODE", "none", 1);
#endif
	snprintf(cmd, sizeof cmd, "LTTNG_UST_REGISTER_TIMEOUT=0 timeout "
		 "--kill-after=10 300 mpiexec -n 2 -bind-to none "
		 "\"$LWKT_T_EXE\" --quick --sizes=1-2 --iters=20 --warmup=2 "
		 "--bw-iters=2 --bw-warmup=1 --out=\"$LWKT_T_JSON\"");
	int rc = run(cmd);
	ck_assert_msg(rc == 0, "mpiexec exited %d:\n%s", rc, out);
	rc = run("/usr/bin/python3 -c 'import json, os, sys\n"
		 "raw = open(os.environ[\"LWKT_T_JSON\"], \"rb\").read()\n"
		 "d = json.loads(raw.decode(\"utf-8\"))\n"
		 "want = os.fsencode(os.environ[\"LWKT_T_EXE\"])"
		 ".decode(\"utf-8\", \"replace\")\n"
		 "got = d[\"context\"][\"executable\"]\n"
		 "sys.exit(0 if got == want else \"executable %r != %r\" "
		 "% (got, want))'");
	ck_assert_msg(rc == 0, "JSON invalid or wrong path:\n%s", out);
	unlink(json);
	unlink(exe);
	rmdir(dir);
	rmdir(tmpl);
}
END_TEST

/* The three families, the 0-byte size included, in one quick run. */
START_TEST(t_osu_shapes)
{
	if (run("command -v mpiexec") != 0) {
		printf("SKIPPED: mpi-cli/osu_shapes: no mpiexec (Debian "
		       "package mpich)\n");
		return;
	}
	char json[] = "/tmp/lwkt-mpi-shapes-XXXXXX", cmd[4200];
	int fd = mkstemp(json);
	ck_assert_int_ge(fd, 0);
	close(fd);
#if defined(__SANITIZE_THREAD__)
	setenv("UCX_MEM_MMAP_HOOK_MODE", "none", 1);	/* see above */
#endif
	snprintf(cmd, sizeof cmd, "LTTNG_UST_REGISTER_TIMEOUT=0 timeout "
		 "--kill-after=10 300 mpiexec -n 2 -bind-to none '%s' --quick "
		 "--sizes=0-2 --iters=20 --warmup=2 --bw-iters=2 "
		 "--bw-warmup=1 --out=%s", bin(), json);
	int rc = run(cmd);
	ck_assert_msg(rc == 0, "mpiexec exited %d:\n%s", rc, out);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json, sys\n"
		 "b = {x[\"name\"]: x for x in json.load(open(\"%s\"))"
		 "[\"benchmarks\"]}\n"
		 "for k in (\"roundtrip/mpi\", \"stream/mpi\", "
		 "\"stream/mpi_checked\"):\n"
		 "  for n in (0, 1, 2):\n"
		 "    name = \"%%s/bytes:%%d/real_time\" %% (k, n)\n"
		 "    assert name in b, \"missing \" + name\n"
		 "    assert b[name][\"real_time\"] > 0, name\n"
		 "assert b[\"stream/mpi/bytes:0/real_time\"][\"osu_bw_MBps\"] "
		 "== 0\n"
		 "assert b[\"roundtrip/mpi/bytes:0/real_time\"]"
		 "[\"osu_latency_ns\"] > 0\n'", json);
	rc = run(cmd);
	ck_assert_msg(rc == 0, "shapes:\n%s", out);
	unlink(json);
}
END_TEST

/* MPI_CPUS reaches `make bench-mpi`'s recipe: a value that is not a PU
 * list is refused by make itself and no part of it is run.  make -n
 * shows what would run, so nothing is executed even before the fix. */
START_TEST(t_mpi_cpus_no_injection)
{
	if (access("Makefile", R_OK) != 0 ||
	    access("baselines/mpi/mpi.mk", R_OK) != 0) {
		printf("SKIPPED: mpi-cli/mpi_cpus_no_injection: not run from "
		       "the source tree\n");
		return;
	}
	static const char *const bad[] = {
		"0,1; echo INJECTED", "0,1$(shell echo INJECTED >&2)",
		"0,1 `echo INJECTED`", "0,1'; echo INJECTED; '",
	};
	char cmd[1024];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("LWKT_T_CPUS", bad[i], 1);
		snprintf(cmd, sizeof cmd, "env -u MAKEFLAGS -u MFLAGS -u "
			 "MAKELEVEL make -n --no-print-directory bench-mpi "
			 "\"MPI_CPUS=$LWKT_T_CPUS\"");
		int rc = run(cmd);
		ck_assert_msg(rc != 0 && strstr(out, "MPI_CPUS must be"),
			      "MPI_CPUS='%s' accepted (exit %d):\n%s", bad[i],
			      rc, out);
		/* Only make's own message may quote the value. */
		char *p = out;
		int quoted = 0;
		while ((p = strstr(p, "INJECTED")) != NULL) {
			quoted++;
			p++;
		}
		ck_assert_msg(quoted == 1, "MPI_CPUS='%s' reached a recipe:"
			      "\n%s", bad[i], out);
	}
	/* A good value passes, single-quoted. */
	run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n "
	    "--no-print-directory bench-mpi MPI_CPUS=0,1");
	ck_assert_msg(strstr(out, "'--cpus=0,1'"), "%s", out);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "mpi-cli", 300);
	tcase_add_test(tc, t_cpus_reason);
	tcase_add_test(tc, t_cpus_space_form);
	tcase_add_test(tc, t_json_escapes_path);
	tcase_add_test(tc, t_osu_shapes);
	tcase_add_test(tc, t_mpi_cpus_no_injection);
}
LTEST_MAIN("mpi-cli", add)
