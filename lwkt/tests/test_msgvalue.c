/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_msgvalue.c - messages sent by value (lwkt_msg_byvalue): the
 * handler gets a copy (MSGF_VCOPY) whose body is the sender's, only
 * ms_error and the result come back, DONE/REPLY/QUEUED mean what they
 * mean by reference; domsg never EASYNC; FIFO per cpu pair with by-value
 * and by-reference sends mixed; exactly-once replies; a reply from
 * another cpu than the copy's (the handler migrated); abort (queued copy,
 * held copy, from a thread that is not the sender); drop; a copy replied
 * twice aborts with a message.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/crit.h"
#include "lwkt/msgport.h"
#include "lwkt/thread.h"
#include "lt_util.h"

/* A request: a 40-byte body after the header (the most by value). */
struct vq {
	struct lwkt_msg v_msg;	/* first */
	uint64_t v_a;		/* body bytes 0..16: a, b */
	uint64_t v_b;
	uint64_t v_seq;		/* 16..24 */
	uint32_t v_op;		/* 24..28: 0 add, 2 quit */
	uint32_t v_pad32;
	uint64_t v_pad;
};
/* The bytes a handler may read: the body sent (by value), else all. */
#define V_HAS(m, field)							\
	((m)->v_msg.ms_valsize == 0 ||					\
	 (m)->v_msg.ms_valsize >= offsetof(struct vq, field) -		\
	 sizeof(struct lwkt_msg) + sizeof((m)->field))
/* The error the server replies for a request (a function of the body,
 * which every send carries). */
#define V_ERROR(a) (((a) & 3) == 0 ? EIO : 0)
_Static_assert(sizeof(struct vq) - sizeof(struct lwkt_msg) ==
	       LWKT_MSG_VALUE_MAX, "the test body is the largest by value");

static _Atomic(lwkt_port_t) v_port;	/* the server's port */
static _Atomic int v_bad;		/* first failure code */
static char v_why[160];

static void
v_fail(int code, const char *why)
{
	int z = 0;
	if (atomic_compare_exchange_strong(&v_bad, &z, code))
		snprintf(v_why, sizeof v_why, "%s", why);
}

static lwkt_port_t
v_wait_port(void)
{
	lwkt_port_t p;
	while ((p = atomic_load(&v_port)) == NULL)
		lwkt_yield();
	return p;
}

/* The server: every request must be a copy; it scribbles on the copy's
 * body (the sender must not see it) and answers a + b. */
static uint64_t v_expect_seq;	/* server only: FIFO check (mixed test) */
static _Atomic uint64_t v_served;

static void
v_server(void *arg)
{
	bool fifo = arg != NULL;
	lwkt_port_t self = lwkt_thread_port(NULL);
	atomic_store(&v_port, self);
	for (;;) {
		struct vq *m = (struct vq *)lwkt_waitport(self, 0);
		uint32_t f = lwkt_msg_flags(&m->v_msg);
		if (V_HAS(m, v_op) && m->v_op == 2) {
			lwkt_replymsg(&m->v_msg, 0);
			return;
		}
		bool byvalue = m->v_msg.ms_valsize != 0;
		if (byvalue != ((f & MSGF_VCOPY) != 0))
			v_fail(1, "a by-value send did not arrive as a copy "
			       "(or a by-reference one did)");
		if (f & (MSGF_REPLY | MSGF_QUEUED | MSGF_INTRANSIT |
			 MSGF_BYVALUE))
			v_fail(2, "a received request has reply/queue flags");
		if (fifo && !V_HAS(m, v_seq)) {
			v_fail(4, "the mixed test's body lacks v_seq");
		} else if (fifo) {
			if (m->v_seq != v_expect_seq)
				v_fail(3, "FIFO per cpu pair broken");
			v_expect_seq = m->v_seq + 1;
		}
		int error = V_ERROR(m->v_a);
		m->v_msg.u.ms_result64 = (int64_t)(m->v_a + m->v_b);
		if (byvalue)
			m->v_a = ~m->v_a;	/* not seen by the sender */
		atomic_fetch_add(&v_served, 1);
		lwkt_replymsg(&m->v_msg, error);
	}
}

static void
v_quit(lwkt_port_t p)
{
	struct vq q;
	memset(&q, 0, sizeof q);
	lwkt_initmsg(&q.v_msg, NULL, 0);
	q.v_op = 2;
	lwkt_domsg(p, &q.v_msg, 0);
}


/* In a started runtime of 2 cpus: runs a server on cpu 1 and a client
 * on cpu 0 (a third thread on cpu 1 if `other`), joins them, checks
 * that nothing failed. */
static void
v_run(lwkt_thread_fn server, void *sarg, lwkt_thread_fn client,
      lwkt_thread_fn other)
{
	lwkt_thread_t s, c, o = NULL;
	ck_assert_int_eq(lwkt_create(server, sarg, 1, 0, &s, "srv"), 0);
	if (other != NULL)
		ck_assert_int_eq(lwkt_create(other, NULL, 1, 0, &o, "other"),
				 0);
	ck_assert_int_eq(lwkt_create(client, NULL, 0, 0, &c, "cli"), 0);
	ck_assert_int_eq(lwkt_join(c), 0);
	if (o != NULL)
		ck_assert_int_eq(lwkt_join(o), 0);
	ck_assert_int_eq(lwkt_join(s), 0);
	ck_assert_msg(atomic_load(&v_bad) == 0, "%d: %s", atomic_load(&v_bad),
		      v_why);
}

/* ---------------------------------------------------------------------- */
/* domsg by value: body in, error and result out, flags, sizes 1..40 */

#define RT_N 20000

static void
rt_client(void *arg)
{
	(void)arg;
	lwkt_port_t p = v_wait_port();
	struct vq m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.v_msg, NULL, 0);
	if (lwkt_msg_byvalue(&m.v_msg, LWKT_MSG_VALUE_MAX + 1) != EINVAL ||
	    m.v_msg.ms_valsize != 0)
		v_fail(10, "an oversized body was accepted");
	for (uint64_t i = 0; i < RT_N && !atomic_load(&v_bad); i++) {
		/* 16 (one tail) or 40 (two tails): a and b are in both. */
		size_t body = (i & 1) ? 16 : LWKT_MSG_VALUE_MAX;
		if (lwkt_msg_byvalue(&m.v_msg, body) != 0)
			v_fail(11, "lwkt_msg_byvalue refused a small body");
		m.v_a = i * 7 + 1;
		m.v_b = i << 20;
		int e = lwkt_domsg(p, &m.v_msg, 0);
		uint32_t f = lwkt_msg_flags(&m.v_msg);
		if (e == EASYNC)
			v_fail(12, "domsg returned EASYNC");
		else if (e != V_ERROR(m.v_a) || m.v_msg.ms_error != e)
			v_fail(13, "wrong error back");
		else if (m.v_msg.u.ms_result64 != (int64_t)(m.v_a + m.v_b))
			v_fail(14, "wrong result back");
		else if (m.v_a != i * 7 + 1)
			v_fail(15, "the handler's write to its copy came back");
		else if ((f & (MSGF_DONE | MSGF_REPLY | MSGF_QUEUED |
			       MSGF_INTRANSIT | MSGF_BYVALUE | MSGF_VCOPY)) !=
			 (MSGF_DONE | MSGF_REPLY))
			v_fail(16, "flags after domsg are not DONE|REPLY");
	}
	v_quit(p);
}

START_TEST(t_value_domsg)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	v_run(v_server, NULL, rt_client, NULL);
	ck_assert_uint_eq(atomic_load(&v_served), RT_N);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* sendmsg, by value and by reference mixed: FIFO per cpu pair, every
 * reply exactly once on the reply port, with its result */

#define MX_N 40000
#define MX_W 32

static void
mx_client(void *arg)
{
	(void)arg;
	lwkt_port_t p = v_wait_port();
	lwkt_port_t self = lwkt_thread_port(NULL);
	static struct vq w[MX_W];
	uint64_t sent = 0, got = 0;
	for (int i = 0; i < MX_W; i++) {
		memset(&w[i], 0, sizeof w[i]);
		lwkt_initmsg(&w[i].v_msg, NULL, 0);
	}
	while (got < MX_N && !atomic_load(&v_bad)) {
		struct vq *m;
		if (sent < MX_W) {
			m = &w[sent];
		} else {
			m = (struct vq *)lwkt_waitport(self, 0);
			uint32_t f = lwkt_msg_flags(&m->v_msg);
			if ((f & (MSGF_DONE | MSGF_REPLY | MSGF_QUEUED |
				  MSGF_BYVALUE)) != (MSGF_DONE | MSGF_REPLY))
				v_fail(20, "a reply's flags are not DONE|REPLY");
			if (m->v_msg.u.ms_result64 !=
			    (int64_t)(m->v_a + m->v_b) ||
			    m->v_msg.ms_error != V_ERROR(m->v_a))
				v_fail(21, "a reply's result is wrong");
			got++;
			if (sent == MX_N)
				continue;
		}
		/* Mixed: every third send by reference. */
		lwkt_initmsg(&m->v_msg, NULL, 0);
		if (sent % 3 != 0)
			lwkt_msg_byvalue(&m->v_msg, 24);
		m->v_seq = sent;
		m->v_a = sent;
		m->v_b = sent * 3;
		m->v_op = 0;
		lwkt_sendmsg(p, &m->v_msg);
		sent++;
	}
	if (lwkt_getport(self) != NULL)
		v_fail(22, "an extra reply");
	v_quit(p);
}

START_TEST(t_value_sendmsg_fifo_mixed)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	v_run(v_server, (void *)1, mx_client, NULL);
	ck_assert_uint_eq(atomic_load(&v_served), MX_N);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the handler replies from another cpu (it migrated while holding the
 * copy; the copy goes home to be freed) */

#define MG_N 200

static _Atomic int mg_cpu_seen;
static _Atomic int mg_ready;	/* messages the server is back for */

static void
mg_server(void *arg)
{
	(void)arg;
	atomic_store(&v_port, lwkt_thread_port(NULL));
	for (int i = 0; i < MG_N; i++) {
		struct vq *m = (struct vq *)lwkt_waitport(
		    lwkt_thread_port(NULL), 0);
		if (!(lwkt_msg_flags(&m->v_msg) & MSGF_VCOPY))
			v_fail(30, "not a copy");
		/* Over to the sender's cpu (0) and back: the reply runs
		 * there, the copy's home is cpu 1. */
		int to = (i & 1) ? 0 : 1;
		lwkt_migrate(to);
		m->v_msg.u.ms_result64 = (int64_t)(m->v_a + m->v_b);
		lwkt_replymsg(&m->v_msg, V_ERROR(m->v_a));
		lwkt_migrate(1);
		/* Back on cpu 1: the next send is cross-cpu (by value). */
		atomic_store(&mg_ready, i + 1);
	}
	atomic_store(&mg_cpu_seen, 1);
}

static void
mg_client(void *arg)
{
	(void)arg;
	lwkt_port_t p = v_wait_port();
	struct vq m;
	memset(&m, 0, sizeof m);
	for (int i = 0; i < MG_N; i++) {
		while (atomic_load(&mg_ready) < i)
			lwkt_yield();
		lwkt_initmsg(&m.v_msg, NULL, 0);
		lwkt_msg_byvalue(&m.v_msg, 16);
		m.v_a = (uint64_t)i;
		m.v_b = 1000;
		if (lwkt_domsg(p, &m.v_msg, 0) != V_ERROR(m.v_a) ||
		    m.v_msg.u.ms_result64 != i + 1000)
			v_fail(31, "a reply from another cpu was wrong");
	}
}

START_TEST(t_value_reply_from_other_cpu)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	v_run(mg_server, NULL, mg_client, NULL);
	ck_assert_int_eq(atomic_load(&mg_cpu_seen), 1);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* abort: a queued copy (the handler never sees it), and a held copy
 * (abortfn on the copy, lwkt_msg_abort_requested) from a thread that is
 * not the sender (relayed through the sending cpu) */

static _Atomic int ab_phase;		/* test sequencing */
static _Atomic int ab_fn_calls;
static _Atomic int ab_fn_on_copy;
static _Atomic int ab_seen_first;	/* the server saw message 1 */
static struct vq ab_m1, ab_m2;

static void
ab_fn(lwkt_msg_t m)
{
	atomic_fetch_add(&ab_fn_calls, 1);
	if ((lwkt_msg_flags(m) & MSGF_VCOPY) && m != &ab_m2.v_msg)
		atomic_store(&ab_fn_on_copy, 1);
}

static void
ab_server(void *arg)
{
	(void)arg;
	lwkt_port_t self = lwkt_thread_port(NULL);
	atomic_store(&v_port, self);
	/* Phase 0: do not read the port until the client's first abort is
	 * done (its copy is queued meanwhile: the abort replies it). */
	while (atomic_load(&ab_phase) < 1)
		lwkt_yield();
	/* Phase 1: message 2 arrives; hold it until its abort request. */
	struct vq *m = (struct vq *)lwkt_waitport(self, 0);
	if (m->v_seq == 1)
		atomic_store(&ab_seen_first, 1);
	if (!(lwkt_msg_flags(&m->v_msg) & MSGF_VCOPY))
		v_fail(40, "message 2 is not a copy");
	atomic_store(&ab_phase, 2);
	while (!lwkt_msg_abort_requested(&m->v_msg))
		lwkt_yield();
	lwkt_replymsg(&m->v_msg, EINTR);
	if (lwkt_getport(self) != NULL)
		v_fail(41, "an aborted message reached the handler");
}

/* The third party: on the server's cpu, aborts message 2. */
static void
ab_other(void *arg)
{
	(void)arg;
	while (atomic_load(&ab_phase) < 2)
		lwkt_yield();
	if (lwkt_abortmsg(&ab_m2.v_msg) != 0)
		v_fail(42, "abort of a held copy failed");
	if (lwkt_abortmsg(&ab_m2.v_msg) != EALREADY &&
	    !(lwkt_msg_flags(&ab_m2.v_msg) & MSGF_DONE))
		v_fail(43, "a second abort did not say EALREADY");
}

static void
ab_client(void *arg)
{
	(void)arg;
	lwkt_port_t p = v_wait_port();
	lwkt_initmsg_abortable(&ab_m1.v_msg, NULL, 0, ab_fn);
	lwkt_msg_byvalue(&ab_m1.v_msg, 24);
	ab_m1.v_seq = 1;
	lwkt_sendmsg(p, &ab_m1.v_msg);
	if (lwkt_abortmsg(&ab_m1.v_msg) != 0)
		v_fail(44, "abort of a queued copy failed");
	if (lwkt_abortmsg(&ab_m1.v_msg) != EALREADY)
		v_fail(45, "a second abort did not say EALREADY");
	if (lwkt_waitmsg(&ab_m1.v_msg, 0) != ECONNABORTED)
		v_fail(46, "a queued copy's abort did not reply ECONNABORTED");
	if (lwkt_abortmsg(&ab_m1.v_msg) != EINVAL)
		v_fail(47, "abort after the reply did not say EINVAL");
	atomic_store(&ab_phase, 1);
	lwkt_initmsg_abortable(&ab_m2.v_msg, NULL, 0, ab_fn);
	lwkt_msg_byvalue(&ab_m2.v_msg, 24);
	ab_m2.v_seq = 2;
	if (lwkt_domsg(p, &ab_m2.v_msg, 0) != EINTR)
		v_fail(48, "the held copy's handler reply did not come back");
}

START_TEST(t_value_abort)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	v_run(ab_server, NULL, ab_client, ab_other);
	ck_assert_int_eq(atomic_load(&ab_seen_first), 0);
	ck_assert_int_eq(atomic_load(&ab_fn_calls), 1);	/* the held one */
	ck_assert_int_eq(atomic_load(&ab_fn_on_copy), 1);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* drop: the port's owner drops a queued copy; the sender's message is
 * DONE, not replied */

static _Atomic int dr_phase;
static struct vq dr_m;

static void
dr_server(void *arg)
{
	(void)arg;
	lwkt_port_t self = lwkt_thread_port(NULL);
	atomic_store(&v_port, self);
	while (atomic_load(&dr_phase) < 1)
		lwkt_yield();
	/* The owner peeks at its queue's head (in a critical section, as
	 * the queue's owner) until the copy is there: its IPI may still be
	 * in the ring when the sender's send has returned. */
	lwkt_msg_t m;
	for (;;) {
		crit_enter();
		m = self->mp_head;
		crit_exit();
		if (m != NULL)
			break;
		lwkt_yield();
	}
	if (!(lwkt_msg_flags(m) & MSGF_VCOPY))
		v_fail(50, "no queued copy to drop");
	else if (lwkt_dropmsg(m) != 0)
		v_fail(51, "dropmsg of a queued copy failed");
	else if (lwkt_getport(self) != NULL)
		v_fail(52, "the dropped copy is still queued");
	atomic_store(&dr_phase, 2);
}

static void
dr_client(void *arg)
{
	(void)arg;
	lwkt_port_t p = v_wait_port();
	lwkt_initmsg(&dr_m.v_msg, NULL, MSGF_DROPABLE);
	lwkt_msg_byvalue(&dr_m.v_msg, 8);
	lwkt_sendmsg(p, &dr_m.v_msg);
	atomic_store(&dr_phase, 1);
	while (!(lwkt_msg_flags(&dr_m.v_msg) & MSGF_DONE))
		lwkt_yield();
	uint32_t f = lwkt_msg_flags(&dr_m.v_msg);
	if (f & (MSGF_REPLY | MSGF_QUEUED | MSGF_BYVALUE | MSGF_INTRANSIT))
		v_fail(53, "a dropped message looks replied or in flight");
	if (lwkt_getport(lwkt_thread_port(NULL)) != NULL)
		v_fail(54, "a dropped message was replied");
}

START_TEST(t_value_drop)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	v_run(dr_server, NULL, dr_client, NULL);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* misuse: a copy replied twice aborts ("already replied") */

static void
tw_server(void *arg)
{
	(void)arg;
	atomic_store(&v_port, lwkt_thread_port(NULL));
	lwkt_msg_t m = lwkt_waitport(lwkt_thread_port(NULL), 0);
	if (!(lwkt_msg_flags(m) & MSGF_VCOPY))
		exit(3);	/* not the path under test: fail, no SIGABRT */
	lwkt_replymsg(m, 0);
	lwkt_replymsg(m, 0);
}

static void
tw_client(void *arg)
{
	(void)arg;
	struct vq m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.v_msg, NULL, 0);
	lwkt_msg_byvalue(&m.v_msg, 16);
	lwkt_domsg(v_wait_port(), &m.v_msg, 0);
	for (;;)
		lwkt_yield();	/* the server's abort ends the process */
}

START_TEST(t_die_value_reply_twice)
{
	int n = lt_start(NULL);
	if (n < 2) {
		/* Raise what the test expects, after saying why. */
		lwkt_shutdown();
		ltest_skip_line(__func__, "needs 2 cpus, %d started", n);
		raise(SIGABRT);
	}
	lwkt_thread_t s, c;
	lwkt_create(tw_server, NULL, 1, 0, &s, "srv");
	lwkt_create(tw_client, NULL, 0, 0, &c, "cli");
	lwkt_join(s);
	lwkt_join(c);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "value", 60);
	tcase_add_test(tc, t_value_domsg);
	tcase_add_test(tc, t_value_sendmsg_fifo_mixed);
	tcase_add_test(tc, t_value_reply_from_other_cpu);
	tcase_add_test(tc, t_value_abort);
	tcase_add_test(tc, t_value_drop);
	tc = ltest_tcase(s, "misuse", 20);
	tcase_add_test_raise_signal(tc, t_die_value_reply_twice, SIGABRT);
}

LTEST_MAIN("msgvalue", add)
