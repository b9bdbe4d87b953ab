/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_portlife.c - where a message port lives and what becomes of
 * messages at its edges: a thread's own port follows lwkt_migrate; an
 * abort that overtakes its message (still in an IPI ring) replies it on
 * arrival, the handler never sees it; sends to the port of a thread that
 * exited (not joined) abort naming the thread; domsg before lwkt_init
 * returns ESHUTDOWN; a message never initialized is named as such;
 * lwkt_shutdown names the threads it waits for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwkt/crit.h"
#include "lwkt/msgport.h"
#include "lwkt/thread.h"
#include "lt_util.h"

/* Prints the skip line of the project's runner and returns true when
 * fewer than `pus` PUs are usable. */
static bool
skip_below(unsigned pus, const char *test)
{
	if (lwkt_topo_npus() >= pus)
		return false;
	printf("SKIPPED: portlife/%s: needs %u PUs, %u usable\n", test, pus,
	       lwkt_topo_npus());
	return true;
}

static struct lwkt_config
cfg_cpus(const char *cpus)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_cpus = cpus;
	return cfg;
}

/*
 * Runs fn in a child process with stderr captured; the child must die of
 * SIGABRT (lwkt_panic) within 20 s with `want` in what it printed.
 */
static void
expect_panic(void (*fn)(void), const char *want)
{
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	fflush(stdout);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		fn();
		_exit(0);	/* no panic: the parent reports it */
	}
	close(pfd[1]);
	char out[8192];
	size_t n = 0;
	struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
	for (int waited = 0; waited < 200;) {
		if (poll(&pf, 1, 100) == 0) {
			waited++;
			continue;
		}
		ssize_t k = read(pfd[0], out + n, sizeof out - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(pfd[0]);
	int st = 0;
	pid_t w = 0;
	/* EOF comes as the child closes its files, a moment before it can
	 * be waited for. */
	for (int i = 0; i < 200 && (w = waitpid(pid, &st, WNOHANG)) == 0;
	     i++) {
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ck_abort_msg("child still running after 20 s; it printed: %s",
			     out);
	}
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		      "child did not abort (status %#x); it printed: %s", st,
		      out);
	ck_assert_msg(strstr(out, want) != NULL,
		      "panic text lacks \"%s\": %s", want, out);
}

/* ---------------------------------------------------------------------- */
/* a thread's own port follows lwkt_migrate */

static struct {
	lwkt_port_t srv_port;
	lwkt_thread_t mover;
	_Atomic int migrated;
	_Atomic int bad;
	struct lwkt_msg queued;		/* sent to the mover before it moves */
} mg;

static void
echo_server(void *arg)
{
	(void)arg;
	mg.srv_port = lwkt_thread_port(NULL);
	for (;;) {
		lwkt_msg_t m = lwkt_waitport(mg.srv_port, 0);
		int quit = m->u.ms_result < 0;
		lwkt_replymsg(m, quit ? 0 : m->u.ms_result + 1);
		if (quit)
			return;
	}
}

static void
mover(void *arg)
{
	(void)arg;
	lwkt_port_t me = lwkt_thread_port(NULL);
	/* A message queued on our port on cpu 0 must travel with us. */
	lwkt_initmsg(&mg.queued, me, 0);
	lwkt_sendmsg(me, &mg.queued);
	if (lwkt_migrate(1) != 0 || lwkt_mycpuid() != 1)
		atomic_store(&mg.bad, 1);
	/* domsg waits on our own port, now on cpu 1. */
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	m.u.ms_result = 41;
	if (lwkt_domsg(mg.srv_port, &m, 0) != 42)
		atomic_store(&mg.bad, 2);
	if (lwkt_waitport(me, 0) != &mg.queued)
		atomic_store(&mg.bad, 3);
	lwkt_replymsg(&mg.queued, 0);
	if (lwkt_waitport(me, 0) != &mg.queued)	/* the reply, to us */
		atomic_store(&mg.bad, 4);
	atomic_store(&mg.migrated, 1);
	/* A sender on cpu 0 reaches us here. */
	lwkt_msg_t r = lwkt_waitport(me, 0);
	lwkt_replymsg(r, 7);
	lwkt_initmsg(&m, NULL, 0);
	m.u.ms_result = -1;
	lwkt_domsg(mg.srv_port, &m, 0);
}

static void
cpu0_sender(void *arg)
{
	(void)arg;
	while (!atomic_load(&mg.migrated))
		lwkt_yield();
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	if (lwkt_domsg(lwkt_thread_port(mg.mover), &m, 0) != 7)
		atomic_store(&mg.bad, 5);
}

START_TEST(t_own_port_follows_migrate)
{
	if (skip_below(2, "t_own_port_follows_migrate"))
		return;
	struct lwkt_config cfg = cfg_cpus("count=2");
	ck_assert_int_eq(lwkt_init(&cfg), 0);
	lwkt_thread_t srv, snd;
	ck_assert_int_eq(lwkt_create(echo_server, NULL, 0, 0, &srv, "echo"),
			 0);
	ck_assert_int_eq(lwkt_create(mover, NULL, 0, 0, &mg.mover, "mover"),
			 0);
	ck_assert_int_eq(lwkt_create(cpu0_sender, NULL, 0, 0, &snd, "snd0"),
			 0);
	lwkt_join(snd);
	lwkt_join(mg.mover);
	lwkt_join(srv);
	ck_assert_int_eq(atomic_load(&mg.bad), 0);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* abort while the message travels (MSGF_INTRANSIT) */

static struct {
	lwkt_thread_t holder;
	lwkt_port_t hport;
	struct lwkt_msg msg;
	int port_cpu, sender_cpu, aborter_cpu;
	_Atomic int hready, aready, sent, aborted, handled, abortfn_ran;
	_Atomic int abort_ret, reply_err;
} ab;

static void
ab_abortfn(lwkt_msg_t m)
{
	(void)m;
	atomic_fetch_add(&ab.abortfn_ran, 1);
}

/* Owns the port; counts what reaches its handler, replies it. */
static void
ab_holder(void *arg)
{
	(void)arg;
	ab.hport = lwkt_thread_port(NULL);
	atomic_store(&ab.hready, 1);
	lwkt_msg_t m = lwkt_waitport(ab.hport, 0);
	if (m == &ab.msg)
		atomic_fetch_add(&ab.handled, 1);
	lwkt_replymsg(m, 0);
}

/* Keeps the port's cpu from running IPIs (a critical section) until the
 * abort is issued, so the message is still in its ring. */
static void
ab_blocker(void *arg)
{
	(void)arg;
	crit_enter();
	atomic_store(&ab.aready, 1);
	while (!atomic_load(&ab.aborted))
		lwkt_cpu_relax();
	crit_exit();
}

static void
ab_aborter(void *arg)
{
	bool on_port_cpu = arg != NULL;
	if (on_port_cpu)
		crit_enter();	/* the blocker's role, here */
	atomic_store(&ab.aready, 1);
	while (!atomic_load(&ab.sent))
		lwkt_cpu_relax();
	atomic_store(&ab.abort_ret, lwkt_abortmsg(&ab.msg));
	atomic_store(&ab.aborted, 1);
	if (on_port_cpu)
		crit_exit();
}

static void
ab_sender(void *arg)
{
	(void)arg;
	lwkt_initmsg_abortable(&ab.msg, NULL, 0, ab_abortfn);
	while (!atomic_load(&ab.hready) || !atomic_load(&ab.aready))
		lwkt_yield();
	lwkt_sendmsg(ab.hport, &ab.msg);
	atomic_store(&ab.sent, 1);
	atomic_store(&ab.reply_err, lwkt_waitmsg(&ab.msg, 0));
	if (!atomic_load(&ab.handled)) {
		/* The holder still waits: give it something to reply. */
		struct lwkt_msg m;
		lwkt_initmsg(&m, NULL, 0);
		lwkt_domsg(ab.hport, &m, 0);
	}
}

static void
run_abort_in_transit(const char *cpus, int sender, int port, int aborter)
{
	struct lwkt_config cfg = cfg_cpus(cpus);
	ck_assert_int_eq(lwkt_init(&cfg), 0);
	lwkt_thread_t h, s, a, b = NULL;
	ck_assert_int_eq(lwkt_create(ab_holder, NULL, port, 0, &h, "holder"),
			 0);
	while (!atomic_load(&ab.hready))
		sched_yield();
	if (aborter != port)
		ck_assert_int_eq(lwkt_create(ab_blocker, NULL, port, 0, &b,
					     "blocker"), 0);
	ck_assert_int_eq(lwkt_create(ab_aborter,
				     aborter == port ? (void *)1 : NULL,
				     aborter, 0, &a, "aborter"), 0);
	ck_assert_int_eq(lwkt_create(ab_sender, NULL, sender, 0, &s,
				     "sender"), 0);
	lwkt_join(s);
	lwkt_join(a);
	if (b)
		lwkt_join(b);
	lwkt_join(h);
	ck_assert_int_eq(atomic_load(&ab.abort_ret), 0);
	ck_assert_int_eq(atomic_load(&ab.reply_err), ECONNABORTED);
	ck_assert_int_eq(atomic_load(&ab.handled), 0);
	ck_assert_int_eq(atomic_load(&ab.abortfn_ran), 0);
	lwkt_shutdown();
}

START_TEST(t_abort_in_transit_on_port_cpu)
{
	if (skip_below(2, "t_abort_in_transit_on_port_cpu"))
		return;
	/* sender cpu 0 -> port on cpu 1; the aborter runs on cpu 1. */
	run_abort_in_transit("count=2", 0, 1, 1);
}
END_TEST

START_TEST(t_abort_in_transit_third_cpu)
{
	if (skip_below(3, "t_abort_in_transit_third_cpu"))
		return;
	/* The port's cpu drains its rings by source cpu: the aborter (cpu
	 * 0) is read before the sender (cpu 2), so the abort overtakes. */
	run_abort_in_transit("count=3", 2, 1, 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* sending to the port of an exited, not yet joined, thread */

static _Atomic int gone_done;

static void
gone_fn(void *arg)
{
	(void)arg;
	atomic_store(&gone_done, 1);
}

static lwkt_thread_t gone_td;
static lwkt_port_t gone_port;	/* taken while the thread lived */
static struct lwkt_msg gone_msg;

static void
gone_sender(void *arg)
{
	(void)arg;
	lwkt_initmsg(&gone_msg, NULL, 0);
	lwkt_sendmsg(gone_port, &gone_msg);
}

static void
send_to_exited(void)
{
	struct lwkt_config cfg = cfg_cpus(lwkt_topo_npus() >= 2 ? "count=2"
								: "count=1");
	if (lwkt_init(&cfg) != 0)
		_exit(3);
	int last = lwkt_ncpus() - 1;
	lwkt_create(gone_fn, NULL, last, 0, &gone_td, "gone-thread");
	gone_port = lwkt_thread_port(gone_td);
	while (!atomic_load(&gone_done))
		sched_yield();
	/* Let its cpu reap it (the port must outlive that). */
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	lwkt_thread_t s;
	lwkt_create(gone_sender, NULL, 0, 0, &s, "sender");
	lwkt_join(s);
	nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
}

START_TEST(t_send_to_exited_thread_panics)
{
	expect_panic(send_to_exited, "'gone-thread'");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* silent hangs made loud */

START_TEST(t_domsg_before_init)
{
	struct lwkt_port p;
	struct lwkt_msg m;
	lwkt_initport_spin(&p);
	lwkt_initmsg(&m, &p, 0);
	ck_assert_int_eq(lwkt_domsg(&p, &m, 0), ESHUTDOWN);
	/* Nothing was queued, and the message can be sent again later. */
	ck_assert_ptr_null(lwkt_getport(&p));
	ck_assert_uint_ne(lwkt_msg_flags(&m) & MSGF_DONE, 0);
}
END_TEST

static void
send_zeroed(void)
{
	struct lwkt_config cfg = cfg_cpus("count=1");
	if (lwkt_init(&cfg) != 0)
		_exit(3);
	static struct lwkt_port p;
	static struct lwkt_msg m;	/* zeroed, never lwkt_initmsg'ed */
	lwkt_initport_spin(&p);
	lwkt_sendmsg(&p, &m);
}

START_TEST(t_zeroed_message_named)
{
	expect_panic(send_zeroed, "lwkt_initmsg");
}
END_TEST

static _Atomic int stuck_release;

/* Waits for a flag by yielding: main releases it without calling into
 * the runtime, which lwkt_shutdown may be freeing meanwhile. */
static void
stuck_fn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stuck_release))
		lwkt_yield();
}

static void *
shutdown_main(void *arg)
{
	(void)arg;
	lwkt_shutdown();
	return NULL;
}

START_TEST(t_shutdown_names_live_threads)
{
	char path[] = "/tmp/lwkt-shutdown-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	int saved = dup(2);
	dup2(fd, 2);
	struct lwkt_config cfg = cfg_cpus("count=1");
	ck_assert_int_eq(lwkt_init(&cfg), 0);
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(stuck_fn, NULL, 0, 0, &t,
				     "stuck-in-yield"), 0);
	pthread_t sd;
	ck_assert_int_eq(pthread_create(&sd, NULL, shutdown_main, NULL), 0);
	/* The warning comes after 5 s of waiting. */
	char out[4096] = "";
	for (int i = 0; i < 300 && !strstr(out, "stuck-in-yield"); i++) {
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
		ssize_t k = pread(fd, out, sizeof out - 1, 0);
		out[k > 0 ? k : 0] = '\0';
	}
	atomic_store(&stuck_release, 1);
	pthread_join(sd, NULL);
	dup2(saved, 2);
	close(fd);
	ck_assert_msg(strstr(out, "'stuck-in-yield'") != NULL,
		      "lwkt_shutdown did not name the thread: %s", out);
	ck_assert_int_eq(lwkt_join(t), 0);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "portlife", 60);
	tcase_add_test(tc, t_own_port_follows_migrate);
	tcase_add_test(tc, t_abort_in_transit_on_port_cpu);
	tcase_add_test(tc, t_abort_in_transit_third_cpu);
	tcase_add_test(tc, t_send_to_exited_thread_panics);
	tcase_add_test(tc, t_domsg_before_init);
	tcase_add_test(tc, t_zeroed_message_named);
	tcase_add_test(tc, t_shutdown_names_live_threads);
}
LTEST_MAIN("portlife", add)
