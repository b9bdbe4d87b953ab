/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sysmsg.c - system calls as messages: result and errno equal to the
 * direct call's for every case (success, short read at EOF, EOF, EBADF,
 * ESPIPE, EINVAL, EAGAIN on a full or empty non-blocking pipe, EPIPE,
 * ENOSYS), through lwkt_domsg from an LWKT thread and from outside, to a
 * service on the same cpu and on the other one, and in batches through a
 * client; EINTR retried or returned; clients that exit with calls in
 * flight (blocked in the service, or racing it) leave nothing behind;
 * misuse; the README example, run and compared with lwkt/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "lwkt/sysmsg.h"
#include "lwkt/thread.h"
#include "lt_util.h"

static void
skip(const char *test, const char *why)
{
	printf("SKIPPED: sysmsg/%s: %s\n", test, why);
	fflush(stdout);
}

/* ---------------------------------------------------------------------- */
/* the cases: each sets up fresh fds, runs one call, tears down */

#define FILE_SIZE 5000

struct fx {
	int file;		/* FILE_SIZE bytes, read-only */
	int p[2];		/* a pipe */
};

enum setup {
	S_FILE,			/* file only */
	S_PIPE_DATA,		/* pipe holding 10 bytes */
	S_PIPE_EOF,		/* pipe, write end closed, empty */
	S_PIPE_EMPTY_NB,	/* empty, non-blocking read end */
	S_PIPE_FULL_NB,		/* full, non-blocking write end */
	S_PIPE_NOREADER,	/* read end closed */
	S_BADFD,		/* fds closed */
};

static char file_path[64];

static void
fx_setup(struct fx *f, enum setup s)
{
	f->file = open(file_path, O_RDONLY);
	ck_assert_int_ge(f->file, 0);
	ck_assert_int_eq(pipe(f->p), 0);
	switch (s) {
	case S_FILE:
		break;
	case S_PIPE_DATA:
		ck_assert_int_eq(write(f->p[1], "0123456789", 10), 10);
		break;
	case S_PIPE_EOF:
		close(f->p[1]);
		f->p[1] = -1;
		break;
	case S_PIPE_EMPTY_NB:
		fcntl(f->p[0], F_SETFL, O_NONBLOCK);
		break;
	case S_PIPE_FULL_NB: {
		fcntl(f->p[1], F_SETFL, O_NONBLOCK);
		char b[4096] = {0};
		while (write(f->p[1], b, sizeof b) > 0)
			;
		ck_assert_int_eq(errno, EAGAIN);
		/* a pipe may still take a smaller write: fill to the byte */
		while (write(f->p[1], b, 1) > 0)
			;
		break;
	}
	case S_PIPE_NOREADER:
		close(f->p[0]);
		f->p[0] = -1;
		break;
	case S_BADFD:
		close(f->file);
		close(f->p[0]);
		close(f->p[1]);
		break;
	}
}

static void
fx_teardown(struct fx *f, enum setup s)
{
	if (s == S_BADFD)
		return;
	close(f->file);
	if (f->p[0] >= 0)
		close(f->p[0]);
	if (f->p[1] >= 0)
		close(f->p[1]);
}

struct tcase {
	const char *name;
	enum setup setup;
	uint32_t call;
	int which;		/* 0 file, 1 pipe read end, 2 pipe write end */
	size_t len;
	off_t off;
};

static const struct tcase cases[] = {
	{"getppid", S_FILE, SYSMSG_GETPPID, 0, 0, 0},
	{"pread full", S_FILE, SYSMSG_PREAD, 0, 4096, 0},
	{"pread short at EOF", S_FILE, SYSMSG_PREAD, 0, 4096, 4096},
	{"pread at EOF", S_FILE, SYSMSG_PREAD, 0, 4096, FILE_SIZE},
	{"pread past EOF", S_FILE, SYSMSG_PREAD, 0, 100, FILE_SIZE + 100},
	{"pread negative offset", S_FILE, SYSMSG_PREAD, 0, 100, -1},
	{"pread on a pipe", S_PIPE_DATA, SYSMSG_PREAD, 1, 10, 0},
	{"pread EBADF", S_BADFD, SYSMSG_PREAD, 0, 100, 0},
	{"read short", S_PIPE_DATA, SYSMSG_READ, 1, 100, 0},
	{"read file", S_FILE, SYSMSG_READ, 0, 4096, 0},
	{"read EOF", S_PIPE_EOF, SYSMSG_READ, 1, 100, 0},
	{"read EAGAIN", S_PIPE_EMPTY_NB, SYSMSG_READ, 1, 100, 0},
	{"read EBADF", S_BADFD, SYSMSG_READ, 1, 100, 0},
	{"read from write end", S_PIPE_DATA, SYSMSG_READ, 2, 10, 0},
	{"write", S_PIPE_DATA, SYSMSG_WRITE, 2, 64, 0},
	{"write EAGAIN full pipe", S_PIPE_FULL_NB, SYSMSG_WRITE, 2, 64, 0},
	{"write EPIPE", S_PIPE_NOREADER, SYSMSG_WRITE, 2, 64, 0},
	{"write EBADF", S_BADFD, SYSMSG_WRITE, 2, 64, 0},
	{"write to read-only file", S_FILE, SYSMSG_WRITE, 0, 64, 0},
	{"unknown call", S_FILE, 99, 0, 0, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static int
fd_of(const struct fx *f, int which)
{
	return which == 0 ? f->file : f->p[which - 1];
}

static char wbuf[4096];

/* The direct call: its result and errno (0 on success). */
static int64_t
direct(const struct tcase *c, int fd, char *buf, int *err)
{
	int64_t r;
	errno = 0;
	switch (c->call) {
	case SYSMSG_GETPPID:
		r = getppid();
		break;
	case SYSMSG_PREAD:
		r = pread(fd, buf, c->len, c->off);
		break;
	case SYSMSG_READ:
		r = read(fd, buf, c->len);
		break;
	case SYSMSG_WRITE:
		r = write(fd, wbuf, c->len);
		break;
	default:
		r = -1;
		errno = ENOSYS;	/* what syscall(2) says for no such call */
		break;
	}
	*err = r < 0 ? errno : 0;
	return r;
}

enum how { H_DOMSG, H_WRAPPER, H_CLIENT };

/* The same through svc: H_DOMSG (sysmsg_domsg), H_WRAPPER (the libc-like
 * functions: -1 and errno), H_CLIENT (a client, async). */
static int64_t
via(struct sysmsg_service *svc, const struct tcase *c, int fd, char *buf,
    int *err, enum how how)
{
	if (how == H_WRAPPER && c->call != 99) {
		int64_t r;
		errno = 0;
		switch (c->call) {
		case SYSMSG_GETPPID:
			r = sysmsg_getppid(svc);
			break;
		case SYSMSG_PREAD:
			r = sysmsg_pread(svc, fd, buf, c->len, c->off);
			break;
		case SYSMSG_READ:
			r = sysmsg_read(svc, fd, buf, c->len);
			break;
		default:
			r = sysmsg_write(svc, fd, wbuf, c->len);
			break;
		}
		*err = r < 0 ? errno : 0;
		return r;
	}
	if (how == H_CLIENT) {
		struct sysmsg_client *cl = sysmsg_client_create(1);
		ck_assert_ptr_nonnull(cl);
		struct sysmsg *sm = sysmsg_client_msg(cl, 0);
		sysmsg_prep(sm, c->call, fd,
			    c->call == SYSMSG_WRITE ? wbuf : buf, c->len,
			    c->off);
		sysmsg_client_send(cl, svc, sm);
		ck_assert_int_eq(sysmsg_client_inflight(cl), 1);
		ck_assert_ptr_eq(sysmsg_client_wait(cl), sm);
		ck_assert_int_eq(sysmsg_client_inflight(cl), 0);
		ck_assert_ptr_null(sysmsg_client_wait(cl));
		*err = sm->sm_lmsg.ms_error;
		int64_t r = sm->sm_result;
		sysmsg_client_destroy(cl);
		return r;
	}
	struct sysmsg sm;
	sysmsg_prep(&sm, c->call, fd, c->call == SYSMSG_WRITE ? wbuf : buf,
		    c->len, c->off);
	*err = sysmsg_domsg(svc, &sm);
	ck_assert_int_eq(*err, sm.sm_lmsg.ms_error);
	return sm.sm_result;
}

static void
compare_all(struct sysmsg_service *svc, enum how how)
{
	for (size_t i = 0; i < NCASES; i++) {
		const struct tcase *c = &cases[i];
		struct fx f;
		char b1[4096], b2[4096];
		memset(b1, 0xa5, sizeof b1);
		memset(b2, 0xa5, sizeof b2);
		int e1, e2;
		fx_setup(&f, c->setup);
		int64_t r1 = direct(c, fd_of(&f, c->which), b1, &e1);
		fx_teardown(&f, c->setup);
		fx_setup(&f, c->setup);
		int64_t r2 = via(svc, c, fd_of(&f, c->which), b2, &e2, how);
		fx_teardown(&f, c->setup);
		ck_assert_msg(r1 == r2 && e1 == e2, "case '%s' (how %d, "
			      "service cpu %d): direct %lld errno %d, as a "
			      "message %lld errno %d", c->name, (int)how,
			      sysmsg_service_cpu(svc), (long long)r1, e1,
			      (long long)r2, e2);
		ck_assert_msg(memcmp(b1, b2, sizeof b1) == 0,
			      "case '%s': the buffers differ", c->name);
	}
}

static struct sysmsg_service *svcs[2];
static int nsvcs;
static _Atomic int lwkt_side_done;

static void
lwkt_client(void *arg)
{
	(void)arg;
	for (int s = 0; s < nsvcs; s++) {
		compare_all(svcs[s], H_DOMSG);
		compare_all(svcs[s], H_WRAPPER);
		compare_all(svcs[s], H_CLIENT);
	}
	atomic_store(&lwkt_side_done, 1);
}

static void
make_file(void)
{
	/* mkstemp: a fixed /tmp name would follow another user's symlink. */
	snprintf(file_path, sizeof file_path, "/tmp/lwkt-sysmsg-XXXXXX");
	int fd = mkstemp(file_path);
	ck_assert_int_ge(fd, 0);
	char b[FILE_SIZE];
	for (int i = 0; i < FILE_SIZE; i++)
		b[i] = (char)(i * 7);
	ck_assert_int_eq(write(fd, b, sizeof b), FILE_SIZE);
	close(fd);
	for (size_t i = 0; i < sizeof wbuf; i++)
		wbuf[i] = (char)i;
	signal(SIGPIPE, SIG_IGN);	/* EPIPE, not a signal */
}

START_TEST(t_results_equal_direct)
{
	make_file();
	int n = lt_start(NULL);
	nsvcs = n >= 2 ? 2 : 1;
	if (n < 2)
		skip("results_equal_direct/remote", "one PU: the service on "
		     "another cpu is not tested");
	for (int s = 0; s < nsvcs; s++)
		ck_assert_int_eq(sysmsg_service_start(s, &svcs[s]), 0);
	lwkt_thread_t td;
	ck_assert_int_eq(lwkt_create(lwkt_client, NULL, 0, 0, &td, "c"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	ck_assert_int_eq(atomic_load(&lwkt_side_done), 1);
	/* and from outside LWKT (domsg on a futex), sync forms only */
	for (int s = 0; s < nsvcs; s++) {
		compare_all(svcs[s], H_DOMSG);
		compare_all(svcs[s], H_WRAPPER);
	}
	for (int s = 0; s < nsvcs; s++) {
		struct sysmsg_stats st;
		sysmsg_service_stats(svcs[s], &st);
		ck_assert_uint_eq(st.ss_calls, 5 * NCASES);
		ck_assert_uint_eq(st.ss_abandoned, 0);
		sysmsg_service_stop(svcs[s]);
	}
	lwkt_shutdown();
	unlink(file_path);
}
END_TEST

/* A batch: every case's call in flight at once through one client (to
 * the other cpu if there is one), results equal to the direct ones. */
static void
batch_client(void *arg)
{
	struct sysmsg_service *svc = arg;
	struct fx f[NCASES];
	int64_t r1[NCASES];
	int e1[NCASES];
	static char b1[NCASES][4096], b2[NCASES][4096];
	memset(b1, 0x5a, sizeof b1);
	memset(b2, 0x5a, sizeof b2);
	for (size_t i = 0; i < NCASES; i++) {
		fx_setup(&f[i], cases[i].setup);
		r1[i] = direct(&cases[i], fd_of(&f[i], cases[i].which), b1[i],
			       &e1[i]);
		fx_teardown(&f[i], cases[i].setup);
	}
	/* all fds of all cases open at once, then all calls in flight */
	for (size_t i = 0; i < NCASES; i++)
		fx_setup(&f[i], cases[i].setup);
	for (size_t i = 0; i < NCASES; i++)
		if (cases[i].setup == S_BADFD) {
			/* closed fds may have been reused by later setups */
			f[i].file = f[i].p[0] = f[i].p[1] = INT_MAX;
		}
	struct sysmsg_client *cl = sysmsg_client_create(NCASES);
	for (size_t i = 0; i < NCASES; i++) {
		struct sysmsg *sm = sysmsg_client_msg(cl, (int)i);
		sysmsg_prep(sm, cases[i].call, fd_of(&f[i], cases[i].which),
			    cases[i].call == SYSMSG_WRITE ? wbuf : b2[i],
			    cases[i].len, cases[i].off);
		sysmsg_client_send(cl, svc, sm);
	}
	ck_assert_int_eq(sysmsg_client_inflight(cl), (int)NCASES);
	size_t got = 0;
	struct sysmsg *sm;
	while ((sm = sysmsg_client_wait(cl)) != NULL) {
		size_t i = (size_t)(sm - sysmsg_client_msg(cl, 0));
		ck_assert_uint_eq(i, got);	/* one service: FIFO */
		ck_assert_msg(sm->sm_result == r1[i] &&
			      sm->sm_lmsg.ms_error == e1[i],
			      "batched case '%s': direct %lld errno %d, "
			      "message %lld errno %d", cases[i].name,
			      (long long)r1[i], e1[i],
			      (long long)sm->sm_result, sm->sm_lmsg.ms_error);
		ck_assert(memcmp(b1[i], b2[i], 4096) == 0);
		got++;
	}
	ck_assert_uint_eq(got, NCASES);
	sysmsg_client_destroy(cl);
	for (size_t i = 0; i < NCASES; i++)
		fx_teardown(&f[i], cases[i].setup);
}

START_TEST(t_batch_results_equal_direct)
{
	make_file();
	int n = lt_start(NULL);
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(n - 1, &svc), 0);
	lwkt_thread_t td;
	ck_assert_int_eq(lwkt_create(batch_client, svc, 0, 0, &td, "b"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	sysmsg_service_stop(svc);
	lwkt_shutdown();
	unlink(file_path);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* EINTR: the service blocks in read(2); signals without SA_RESTART hit
 * every thread of the process but this one. */

static void
on_usr1(int sig)
{
	(void)sig;
}

static void
signal_others(void)
{
	DIR *d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	pid_t me = (pid_t)syscall(SYS_gettid);
	while ((e = readdir(d)) != NULL) {
		pid_t t = (pid_t)atoi(e->d_name);
		if (t > 0 && t != me)
			syscall(SYS_tgkill, getpid(), t, SIGUSR1);
	}
	closedir(d);
}

static void
eintr_case(bool norestart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	int n = lt_start(NULL);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(n - 1, &svc), 0);
	struct sysmsg_client *cl = sysmsg_client_create(1);
	struct sysmsg *sm = sysmsg_client_msg(cl, 0);
	char buf[16];
	sysmsg_prep(sm, SYSMSG_READ, p[0], buf, sizeof buf, 0);
	if (norestart)
		sm->sm_flags |= SYSMSGF_NORESTART;
	/* From outside LWKT: the reply is polled on the client's port. */
	sysmsg_client_send(cl, svc, sm);
	struct sysmsg_stats st;
	struct sysmsg *done = NULL;
	for (;;) {
		signal_others();
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
		sysmsg_service_stats(svc, &st);
		if ((done = sysmsg_client_poll(cl)) != NULL || st.ss_restarts)
			break;
	}
	if (!norestart) {
		ck_assert_ptr_null(done);	/* retried, still blocked */
		ck_assert_int_eq(write(p[1], "abc", 3), 3);
		while ((done = sysmsg_client_poll(cl)) == NULL)
			sched_yield();
		ck_assert_int_eq(done->sm_result, 3);
		ck_assert_int_eq(done->sm_lmsg.ms_error, 0);
		ck_assert(memcmp(buf, "abc", 3) == 0);
	} else {
		ck_assert_ptr_nonnull(done);
		ck_assert_int_eq(done->sm_result, -1);
		ck_assert_int_eq(done->sm_lmsg.ms_error, EINTR);
		sysmsg_service_stats(svc, &st);
		ck_assert_uint_eq(st.ss_restarts, 0);
	}
	sysmsg_client_destroy(cl);
	sysmsg_service_stop(svc);
	lwkt_shutdown();
	close(p[0]);
	close(p[1]);
}

START_TEST(t_eintr_retried)
{
	eintr_case(false);
}
END_TEST

START_TEST(t_eintr_returned_norestart)
{
	eintr_case(true);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* clients that exit with calls in flight */

static int blk[2];
static char *blk_buf;	/* the read's buffer: outlives the client thread */
#define BLK_EXTRA 8

static void
abandon_blocked(void *arg)
{
	struct sysmsg_service *svc = arg;
	struct sysmsg_client *cl = sysmsg_client_create(1 + BLK_EXTRA);
	struct sysmsg *sm = sysmsg_client_msg(cl, 0);
	sysmsg_prep(sm, SYSMSG_READ, blk[0], blk_buf, 64, 0);
	sysmsg_client_send(cl, svc, sm);	/* blocks in the service */
	for (int i = 1; i <= BLK_EXTRA; i++) {
		sm = sysmsg_client_msg(cl, i);
		sysmsg_prep(sm, SYSMSG_GETPPID, -1, NULL, 0, 0);
		sysmsg_client_send(cl, svc, sm);
	}
	sysmsg_client_destroy(cl);		/* and the thread exits */
}

START_TEST(t_client_exits_while_call_blocks)
{
	lt_start(NULL);
	ck_assert_int_eq(pipe(blk), 0);
	blk_buf = malloc(64);
	int n = lwkt_ncpus();
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(n - 1, &svc), 0);
	lwkt_thread_t td;
	/* The client runs on cpu 0; with one PU the service shares it and
	 * blocks only after the client has exited (cooperative cpu). */
	ck_assert_int_eq(lwkt_create(abandon_blocked, svc, 0, 0, &td, "c"),
			 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	struct sysmsg_stats st;
	sysmsg_service_stats(svc, &st);
	ck_assert_uint_eq(st.ss_calls, 0);	/* the read still blocks */
	ck_assert_int_eq(write(blk[1], "x", 1), 1);
	do {
		sched_yield();
		sysmsg_service_stats(svc, &st);
	} while (st.ss_calls < 1 + BLK_EXTRA);
	sysmsg_service_stop(svc);
	lwkt_shutdown();
	ck_assert_uint_eq(st.ss_abandoned, 1 + BLK_EXTRA);
	ck_assert_int_eq(blk_buf[0], 'x');
	free(blk_buf);
	close(blk[0]);
	close(blk[1]);
	/* LeakSanitizer (ASan build) checks the client was freed. */
}
END_TEST

/* Racing: clients destroy at random points while the other cpu works. */
#define ROUNDS 300
#define RACE_MSGS 32

static _Atomic uint64_t race_sent, race_collected;
/* Closed by the test after sysmsg_service_stop(): an abandoned call may
 * still be reading it after its client is gone (closing it in the
 * client raced the service's pread, and a reused fd number would make
 * that call read another file). */
static int race_fd = -1;

static void
race_client(void *arg)
{
	struct sysmsg_service *svc = arg;
	static char buf[RACE_MSGS][512];
	int fd = open(file_path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	race_fd = fd;
	uint64_t rng = 88172645463325252ull;
	for (int r = 0; r < ROUNDS; r++) {
		struct sysmsg_client *cl = sysmsg_client_create(RACE_MSGS);
		int k = 1 + (int)(rng % RACE_MSGS);
		for (int i = 0; i < k; i++) {
			struct sysmsg *sm = sysmsg_client_msg(cl, i);
			sysmsg_prep(sm, SYSMSG_PREAD, fd, buf[i], 512,
				    (off_t)(i * 64));
			sysmsg_client_send(cl, svc, sm);
		}
		atomic_fetch_add(&race_sent, (uint64_t)k);
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		int take = (int)(rng % (uint64_t)(k + 1));
		for (int i = 0; i < take; i++) {
			struct sysmsg *sm = sysmsg_client_wait(cl);
			ck_assert_ptr_nonnull(sm);
			ck_assert_int_eq(sm->sm_lmsg.ms_error, 0);
			atomic_fetch_add(&race_collected, 1);
		}
		if (rng & 1)
			lwkt_yield();
		sysmsg_client_destroy(cl);
	}
}

START_TEST(t_clients_destroyed_racing_the_service)
{
	make_file();
	int n = lt_start(NULL);
	if (n < 2)
		skip("clients_destroyed_racing_the_service", "one PU: no "
		     "race between cpus (runs on one cpu)");
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(n - 1, &svc), 0);
	lwkt_thread_t td;
	ck_assert_int_eq(lwkt_create(race_client, svc, 0, 0, &td, "r"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	sysmsg_service_stop(svc);	/* everything sent was handled */
	close(race_fd);
	lwkt_shutdown();
	/* every call ran; each was collected, freed at destroy (queued
	 * reply) or freed by the service (abandoned) - counted by LSan */
	ck_assert_uint_ge(atomic_load(&race_sent),
			  atomic_load(&race_collected));
	unlink(file_path);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* bad input, misuse */

START_TEST(t_bad_input)
{
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(0, &svc), ESHUTDOWN);
	ck_assert_ptr_null(svc);
	ck_assert_int_eq(sysmsg_service_start(0, NULL), EINVAL);
	int n = lt_start(NULL);
	ck_assert_int_eq(sysmsg_service_start(n, &svc), EINVAL);
	ck_assert_int_eq(sysmsg_service_start(-1, &svc), EINVAL);
	errno = 0;
	ck_assert_ptr_null(sysmsg_client_create(0));
	ck_assert_int_eq(errno, EINVAL);
	sysmsg_service_stop(NULL);
	sysmsg_client_destroy(NULL);
	lwkt_shutdown();
}
END_TEST

START_TEST(t_die_foreign_message)
{
	lt_start(NULL);
	struct sysmsg_service *svc;
	ck_assert_int_eq(sysmsg_service_start(0, &svc), 0);
	struct sysmsg_client *a = sysmsg_client_create(1);
	struct sysmsg_client *b = sysmsg_client_create(1);
	sysmsg_client_send(b, svc, sysmsg_client_msg(a, 0));
}
END_TEST

START_TEST(t_die_bad_index)
{
	struct sysmsg_client *a = sysmsg_client_create(2);
	sysmsg_client_msg(a, 2);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the README example */

#define main readme_example_main
#include "test_sysmsg_readme.h"
#undef main

START_TEST(t_readme_example_runs)
{
	struct stat st;
	ck_assert_int_eq(stat("/proc/self/exe", &st), 0);
	ck_assert_int_eq(readme_example_main(), 0);
	ck_assert_int_eq(total, st.st_size);
}
END_TEST

START_TEST(t_readme_example_matches)
{
	lt_readme_matches("sysmsg", "lwkt/tests/test_sysmsg_readme.h");
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "results", 60);
	tcase_add_test(tc, t_results_equal_direct);
	tcase_add_test(tc, t_batch_results_equal_direct);
	tcase_add_test(tc, t_eintr_retried);
	tcase_add_test(tc, t_eintr_returned_norestart);
	tc = ltest_tcase(s, "lifetime", 60);
	tcase_add_test(tc, t_client_exits_while_call_blocks);
	tcase_add_test(tc, t_clients_destroyed_racing_the_service);
	tc = ltest_tcase(s, "misc", 30);
	tcase_add_test(tc, t_bad_input);
	tcase_add_test(tc, t_readme_example_runs);
	tcase_add_test(tc, t_readme_example_matches);
	tc = ltest_tcase(s, "misuse", 10);
	tcase_add_test_raise_signal(tc, t_die_foreign_message, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_bad_index, SIGABRT);
}

LTEST_MAIN("sysmsg", add)
