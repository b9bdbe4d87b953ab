/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_msgport.c - messages and ports: exactly-once replies and FIFO per
 * (sender, port) over 10^6 messages (thread and spin ports, senders on
 * both cpus), domsg never EASYNC through a function port that randomly
 * handles inline or queues, sendmsg's reply when handled inline, waitport
 * woken across cpus from a sleeping idle cpu, abort exactly once, drop,
 * serializer port, calls from outside LWKT.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/crit.h"
#include "lwkt/ipiq.h"
#include "lwkt/msgport.h"
#include "lwkt/thread.h"
#include "lt_util.h"

/* ---------------------------------------------------------------------- */
/* 10^6 messages: 8 senders (4 per cpu) x 4 ports (a thread port and a
 * spin port served on each cpu), windows of 16 async sends each. */

#define M_SENDERS 8
#define M_PORTS 4
#define M_PER_SENDER 125000u	/* 8 x 125000 = 10^6 */
#define M_WINDOW 16

struct tmsg {
	struct lwkt_msg t_msg;	/* first: a lwkt_msg_t is a struct tmsg * */
	int t_sender;
	int t_quit;
	uint64_t t_seq;		/* per (sender, port) */
	uint32_t t_served;	/* servings of the current send */
};

static struct lwkt_port m_spin[2];
static lwkt_port_t m_port[M_PORTS];	/* tport0, tport1, spin0, spin1 */
static _Atomic int m_ready;
static _Atomic int m_bad;		/* first failure code */
static _Atomic uint64_t m_replies;

static void
m_fail(int code)
{
	int z = 0;
	atomic_compare_exchange_strong(&m_bad, &z, code);
}

struct server {
	lwkt_port_t s_port;		/* NULL: its own thread port */
	uint64_t s_expect[M_SENDERS];	/* server thread only */
	uint64_t s_served;
};
static struct server m_srv[M_PORTS];

static void
server_main(void *arg)
{
	struct server *s = arg;
	if (s->s_port == NULL) {
		s->s_port = lwkt_thread_port(NULL);
		m_port[s - m_srv] = s->s_port;
	} else {
		m_port[s - m_srv] = s->s_port;
	}
	atomic_fetch_add(&m_ready, 1);
	for (;;) {
		struct tmsg *m = (struct tmsg *)lwkt_waitport(s->s_port, 0);
		if (lwkt_msg_flags(&m->t_msg) & MSGF_REPLY)
			m_fail(1);	/* a reply arrived at a server */
		if (m->t_quit) {
			lwkt_replymsg(&m->t_msg, 0);
			return;
		}
		if (m->t_seq != s->s_expect[m->t_sender])
			m_fail(2);	/* FIFO per (sender, port) broken */
		s->s_expect[m->t_sender] = m->t_seq + 1;
		m->t_served++;
		s->s_served++;
		lwkt_replymsg(&m->t_msg, 0);
	}
}

static void
sender_main(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct tmsg w[M_WINDOW];
	uint64_t seq[M_PORTS] = {0};
	uint32_t sent = 0, got = 0;
	lwkt_port_t self = lwkt_thread_port(NULL);

	for (int i = 0; i < M_WINDOW; i++) {
		memset(&w[i], 0, sizeof w[i]);
		lwkt_initmsg(&w[i].t_msg, NULL, 0);
		w[i].t_sender = me;
	}
	/* Message k goes to port k % 4 with the next seq of that port:
	 * the server must see each sender's seqs in order. */
	for (int i = 0; i < M_WINDOW && sent < M_PER_SENDER; i++, sent++) {
		int p = (int)(sent % M_PORTS);
		w[i].t_seq = seq[p]++;
		w[i].t_served = 0;
		lwkt_sendmsg(m_port[p], &w[i].t_msg);
	}
	while (got < M_PER_SENDER) {
		struct tmsg *m = (struct tmsg *)lwkt_waitport(self, 0);
		uint32_t f = lwkt_msg_flags(&m->t_msg);
		if ((f & (MSGF_DONE | MSGF_REPLY | MSGF_QUEUED)) !=
		    (MSGF_DONE | MSGF_REPLY) || m->t_served != 1 ||
		    m->t_msg.ms_error != 0)
			m_fail(3);	/* not replied exactly once */
		got++;
		atomic_fetch_add_explicit(&m_replies, 1, memory_order_relaxed);
		if (sent < M_PER_SENDER) {
			int p = (int)(sent % M_PORTS);
			m->t_seq = seq[p]++;
			m->t_served = 0;
			lwkt_sendmsg(m_port[p], &m->t_msg);
			sent++;
		}
	}
	if (lwkt_getport(self) != NULL)
		m_fail(4);	/* an extra reply */
}

START_TEST(t_million_exactly_once_fifo)
{
	LT_NEED_CPUS(lt_start(NULL), 2);
	lwkt_thread_t srv[M_PORTS], snd[M_SENDERS];
	lwkt_initport_spin(&m_spin[0]);
	lwkt_initport_spin(&m_spin[1]);
	m_srv[2].s_port = &m_spin[0];
	m_srv[3].s_port = &m_spin[1];
	for (int i = 0; i < M_PORTS; i++)
		ck_assert_int_eq(lwkt_create(server_main, &m_srv[i], i & 1, 0,
					     &srv[i], "server"), 0);
	while (atomic_load(&m_ready) < M_PORTS)
		sched_yield();
	for (int i = 0; i < M_SENDERS; i++)
		ck_assert_int_eq(lwkt_create(sender_main, (void *)(intptr_t)i,
					     i & 1, 0, &snd[i], "sender"), 0);
	for (int i = 0; i < M_SENDERS; i++)
		ck_assert_int_eq(lwkt_join(snd[i]), 0);
	/* Quit messages from outside LWKT: lwkt_domsg blocks on a futex. */
	for (int i = 0; i < M_PORTS; i++) {
		struct tmsg q;
		memset(&q, 0, sizeof q);
		lwkt_initmsg(&q.t_msg, NULL, 0);
		q.t_quit = 1;
		ck_assert_int_eq(lwkt_domsg(m_port[i], &q.t_msg, 0), 0);
		ck_assert(lwkt_msg_flags(&q.t_msg) & MSGF_DONE);
		ck_assert_int_eq(lwkt_join(srv[i]), 0);
	}
	ck_assert_int_eq(atomic_load(&m_bad), 0);
	ck_assert_uint_eq(atomic_load(&m_replies),
			  (uint64_t)M_SENDERS * M_PER_SENDER);
	uint64_t served = 0;
	for (int i = 0; i < M_PORTS; i++)
		served += m_srv[i].s_served;
	ck_assert_uint_eq(served, (uint64_t)M_SENDERS * M_PER_SENDER);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* function port: beginmsg handles inline or forwards to a worker */

#define F_N 50000

struct fmsg {
	struct lwkt_msg f_msg;
	int f_inline;		/* chosen by the sender, read by beginmsg */
	int f_result;		/* inline result */
};

static struct lwkt_port f_port;
static lwkt_port_t f_worker_port;
static _Atomic int f_ready;
static _Atomic uint64_t f_inline_n, f_queued_n;

static int
f_beginmsg(lwkt_port_t port, lwkt_msg_t msg)
{
	(void)port;
	struct fmsg *m = (struct fmsg *)msg;
	if (m->f_inline)
		return m->f_result;
	lwkt_forwardmsg(f_worker_port, msg);
	return EASYNC;
}

static void
f_worker(void *arg)
{
	(void)arg;
	f_worker_port = lwkt_thread_port(NULL);
	atomic_store(&f_ready, 1);
	for (;;) {
		struct fmsg *m = (struct fmsg *)lwkt_waitport(f_worker_port,
							     0);
		if (m->f_result < 0) {
			lwkt_replymsg(&m->f_msg, 0);
			return;
		}
		lwkt_replymsg(&m->f_msg, 5);
	}
}

static void
f_client(void *arg)
{
	uint32_t x = 2463534242u + (uint32_t)(uintptr_t)arg;
	struct fmsg m;
	lwkt_initmsg(&m.f_msg, NULL, 0);
	for (int i = 0; i < F_N; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		m.f_inline = x & 1;
		m.f_result = (int)((x >> 1) & 3);	/* 0..3 */
		int e = lwkt_domsg(&f_port, &m.f_msg, 0);
		if (e == EASYNC)
			m_fail(10);
		if (e != (m.f_inline ? m.f_result : 5))
			m_fail(11);
		if ((lwkt_msg_flags(&m.f_msg) & (MSGF_DONE | MSGF_REPLY |
						 MSGF_QUEUED)) !=
		    (MSGF_DONE | MSGF_REPLY))
			m_fail(12);
		atomic_fetch_add(m.f_inline ? &f_inline_n : &f_queued_n, 1);
	}
}

START_TEST(t_domsg_never_easync)
{
	int n = lt_start(NULL);
	lwkt_thread_t w, c0, c1;
	lwkt_initport_func(&f_port, f_beginmsg, NULL);
	ck_assert_int_eq(lwkt_create(f_worker, NULL, n - 1, 0, &w, "w"), 0);
	while (!atomic_load(&f_ready))
		sched_yield();
	ck_assert_int_eq(lwkt_create(f_client, (void *)1, 0, 0, &c0, "c0"), 0);
	ck_assert_int_eq(lwkt_create(f_client, (void *)2, n - 1, 0, &c1, "c1"),
			 0);
	ck_assert_int_eq(lwkt_join(c0), 0);
	ck_assert_int_eq(lwkt_join(c1), 0);
	/* From outside too: inline, then queued. */
	struct fmsg m;
	lwkt_initmsg(&m.f_msg, NULL, 0);
	m.f_inline = 1, m.f_result = 3;
	ck_assert_int_eq(lwkt_domsg(&f_port, &m.f_msg, 0), 3);
	m.f_inline = 0, m.f_result = 0;
	ck_assert_int_eq(lwkt_domsg(&f_port, &m.f_msg, 0), 5);
	m.f_inline = 0, m.f_result = -1;	/* worker quits */
	ck_assert_int_eq(lwkt_domsg(&f_port, &m.f_msg, 0), 0);
	ck_assert_int_eq(lwkt_join(w), 0);
	ck_assert_int_eq(atomic_load(&m_bad), 0);
	ck_assert_uint_gt(atomic_load(&f_inline_n), F_N / 4);
	ck_assert_uint_gt(atomic_load(&f_queued_n), F_N / 4);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* sendmsg to an inline-handling port: the reply still arrives */

static _Atomic int s_ok;

static int
always_inline(lwkt_port_t port, lwkt_msg_t msg)
{
	(void)port;
	msg->u.ms_result = 42;
	return 7;
}

static void
s_inline_main(void *arg)
{
	lwkt_port_t fp = arg, self = lwkt_thread_port(NULL);
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	for (int i = 0; i < 1000; i++) {
		lwkt_sendmsg(fp, &m);
		lwkt_msg_t r = lwkt_waitport(self, 0);
		if (r != &m || m.ms_error != 7 || m.u.ms_result != 42 ||
		    (lwkt_msg_flags(&m) & (MSGF_DONE | MSGF_REPLY)) !=
		    (MSGF_DONE | MSGF_REPLY))
			return;
	}
	/* lwkt_waitmsg takes the queued reply off the port. */
	lwkt_sendmsg(fp, &m);
	if (lwkt_waitmsg(&m, 0) != 7 || lwkt_getport(self) != NULL)
		return;
	atomic_store(&s_ok, 1);
}

START_TEST(t_sendmsg_inline_replies)
{
	lt_start(NULL);
	static struct lwkt_port fp, sp;
	lwkt_initport_func(&fp, always_inline, NULL);
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(s_inline_main, &fp, 0, 0, &t, "s"), 0);
	ck_assert_int_eq(lwkt_join(t), 0);
	ck_assert_int_eq(atomic_load(&s_ok), 1);
	/* From outside, with a spin port as reply port. */
	lwkt_initport_spin(&sp);
	struct lwkt_msg m;
	lwkt_initmsg(&m, &sp, 0);
	lwkt_sendmsg(&fp, &m);
	ck_assert_ptr_eq(lwkt_getport(&sp), &m);
	ck_assert_int_eq(m.ms_error, 7);
	ck_assert_ptr_null(lwkt_getport(&sp));
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* waitport on a sleeping idle cpu, woken by a cross-cpu message */

static lwkt_port_t w_port;
static _Atomic uint64_t w_served;

static void
w_server(void *arg)
{
	(void)arg;
	w_port = lwkt_thread_port(NULL);
	atomic_store_explicit(&w_served, 1, memory_order_release);
	for (;;) {
		struct tmsg *m = (struct tmsg *)lwkt_waitport(w_port, 0);
		int quit = m->t_quit;
		lwkt_replymsg(&m->t_msg, 0);
		atomic_fetch_add_explicit(&w_served, 1, memory_order_release);
		if (quit)
			return;
	}
}

struct w_client_arg {
	int rounds;
	_Atomic int ok;
};

static void
w_client(void *arg)
{
	struct w_client_arg *a = arg;
	struct tmsg m;
	memset(&m, 0, sizeof m);
	lwkt_initmsg(&m.t_msg, NULL, 0);
	uint64_t base = 0;
	for (int i = 0; i < a->rounds; i++) {
		/* Let cpu 1 fall asleep again after the last round (idle
		 * spin 0: it sleeps at once). */
		struct lwkt_stats st;
		do {
			lwkt_yield();
			lwkt_stats(1, &st);
		} while (st.ls_idle_sleeps <= base);
		base = st.ls_idle_sleeps;
		m.t_quit = (i == a->rounds - 1);
		if (lwkt_domsg(w_port, &m.t_msg, 0) != 0)
			return;
	}
	atomic_store(&a->ok, 1);
}

START_TEST(t_waitport_wakes_sleeping_cpu)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_idle_spin_ns = 0;
	LT_NEED_CPUS(lt_start(&cfg), 2);
	lwkt_thread_t s, c;
	ck_assert_int_eq(lwkt_create(w_server, NULL, 1, 0, &s, "srv"), 0);
	lt_wait_u64(&w_served, 1);
	static struct w_client_arg a = {.rounds = 200};
	ck_assert_int_eq(lwkt_create(w_client, &a, 0, 0, &c, "cli"), 0);
	ck_assert_int_eq(lwkt_join(c), 0);
	ck_assert_int_eq(lwkt_join(s), 0);
	ck_assert_int_eq(atomic_load(&a.ok), 1);
	ck_assert_uint_eq(atomic_load(&w_served), 201);
	struct lwkt_stats st;
	lwkt_stats(0, &st);
	ck_assert_uint_ge(st.ls_wakeups_sent, 100);	/* cpu 1 was asleep */
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* abort: exactly once, replied once */

#define A_N 64

struct amsg {
	struct lwkt_msg a_msg;
	_Atomic int a_abortfn_calls;
	_Atomic int a_taken;	/* the handler has it */
	int a_replies;		/* sender side */
};

static lwkt_port_t a_port;
static _Atomic int a_go, a_ready;

static void
a_abortfn(lwkt_msg_t msg)
{
	atomic_fetch_add(&((struct amsg *)msg)->a_abortfn_calls, 1);
}

static void
a_server(void *arg)
{
	(void)arg;
	a_port = lwkt_thread_port(NULL);
	atomic_store(&a_ready, 1);
	/* Phase 1: don't read the port: messages stay queued. */
	while (!atomic_load(&a_go))
		lwkt_yield();
	for (;;) {
		struct amsg *m = (struct amsg *)lwkt_waitport(a_port, 0);
		atomic_store(&m->a_taken, 1);
		if (!(lwkt_msg_flags(&m->a_msg) & MSGF_ABORTABLE)) {
			lwkt_replymsg(&m->a_msg, 0);	/* quit */
			return;
		}
		/* Work in steps until the abort callback has run. */
		while (!atomic_load(&m->a_abortfn_calls))
			lwkt_yield();
		lwkt_replymsg(&m->a_msg, EINTR);
	}
}

static _Atomic int a_ok;

/* The first check of a_client that failed, named (client thread only;
 * main reads it after joining). */
static char a_why[200];
#define A_CHECK(cond, ...)						\
	do {								\
		if (!(cond) && a_why[0] == '\0')			\
			snprintf(a_why, sizeof a_why, __VA_ARGS__);	\
	} while (0)

static void
a_client(void *arg)
{
	(void)arg;
	static struct amsg m[A_N];
	lwkt_port_t self = lwkt_thread_port(NULL);
	int e;
	for (int i = 0; i < A_N; i++) {
		lwkt_initmsg_abortable(&m[i].a_msg, NULL, 0, a_abortfn);
		lwkt_sendmsg(a_port, &m[i].a_msg);
	}
	/* Phase 1: all queued at the server: the abort replies them. */
	for (int i = 0; i < A_N; i++) {
		e = lwkt_abortmsg(&m[i].a_msg);
		A_CHECK(e == 0, "phase 1, msg %d: abort of a queued msg "
			"returned %d, want 0", i, e);
		/* EALREADY while the abort travels; with the server on our
		 * cpu (one PU) it is replied already: EINVAL, done. */
		e = lwkt_abortmsg(&m[i].a_msg);
		A_CHECK(e == EALREADY || (e == EINVAL &&
			(lwkt_msg_flags(&m[i].a_msg) & MSGF_DONE)),
			"phase 1, msg %d: second abort returned %d, want "
			"EALREADY (or EINVAL once replied)", i, e);
	}
	for (int i = 0; i < A_N; i++) {
		struct amsg *r = (struct amsg *)lwkt_waitport(self, 0);
		r->a_replies++;
		A_CHECK(r->a_msg.ms_error == ECONNABORTED, "phase 1: reply "
			"error %d, want ECONNABORTED", r->a_msg.ms_error);
	}
	for (int i = 0; i < A_N; i++)
		A_CHECK(m[i].a_replies == 1 && m[i].a_abortfn_calls == 0,
			"phase 1, msg %d: %d replies (want 1), %d abortfn "
			"calls (want 0)", i, m[i].a_replies,
			m[i].a_abortfn_calls);
	atomic_store(&a_go, 1);
	/* Phase 2: the handler has it: abortfn runs once, reply once. */
	for (int i = 0; i < A_N; i++) {
		atomic_store(&m[i].a_taken, 0);
		lwkt_sendmsg(a_port, &m[i].a_msg);
		while (!atomic_load(&m[i].a_taken))
			lwkt_yield();
		e = lwkt_abortmsg(&m[i].a_msg);
		A_CHECK(e == 0, "phase 2, msg %d: abort of a taken msg "
			"returned %d, want 0", i, e);
		e = lwkt_abortmsg(&m[i].a_msg);
		A_CHECK(e == EALREADY, "phase 2, msg %d: second abort "
			"returned %d, want EALREADY", i, e);
		e = lwkt_waitmsg(&m[i].a_msg, 0);
		A_CHECK(e == EINTR, "phase 2, msg %d: waitmsg returned %d, "
			"want EINTR", i, e);
		m[i].a_replies++;
		e = lwkt_abortmsg(&m[i].a_msg);
		A_CHECK(e == EINVAL, "phase 2, msg %d: abort of a done msg "
			"returned %d, want EINVAL", i, e);
		A_CHECK(m[i].a_abortfn_calls == 1 && m[i].a_replies == 2,
			"phase 2, msg %d: %d abortfn calls (want 1), %d "
			"replies (want 2)", i, m[i].a_abortfn_calls,
			m[i].a_replies);
	}
	A_CHECK(lwkt_getport(self) == NULL, "a reply left on the port");
	static struct amsg q;
	lwkt_initmsg(&q.a_msg, NULL, 0);
	e = lwkt_abortmsg(&q.a_msg);
	A_CHECK(e == EINVAL, "abort of a non-abortable msg returned %d, "
		"want EINVAL", e);
	lwkt_domsg(a_port, &q.a_msg, 0);		/* server quits */
	atomic_store(&a_ok, 1);
}

START_TEST(t_abort_exactly_once)
{
	int n = lt_start(NULL);
	lwkt_thread_t s, c;
	ck_assert_int_eq(lwkt_create(a_server, NULL, n - 1, 0, &s, "srv"), 0);
	while (!atomic_load(&a_ready))
		sched_yield();
	ck_assert_int_eq(lwkt_create(a_client, NULL, 0, 0, &c, "cli"), 0);
	ck_assert_int_eq(lwkt_join(c), 0);
	ck_assert_int_eq(lwkt_join(s), 0);
	ck_assert_int_eq(atomic_load(&a_ok), 1);
	ck_assert_msg(a_why[0] == '\0', "abort client: %s", a_why);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* drop, and a serializer port shared by two cpus */

static _Atomic int d_ok;

static void
d_main(void *arg)
{
	(void)arg;
	lwkt_port_t self = lwkt_thread_port(NULL);
	struct lwkt_msg a, b;
	lwkt_initmsg(&a, NULL, MSGF_DROPABLE);
	lwkt_initmsg(&b, NULL, MSGF_DROPABLE);
	lwkt_sendmsg(self, &a);
	lwkt_sendmsg(self, &b);
	int ok = lwkt_dropmsg(&a) == 0 && (lwkt_msg_flags(&a) & MSGF_DONE) &&
		 lwkt_dropmsg(&a) == ENOENT && lwkt_getport(self) == &b &&
		 lwkt_getport(self) == NULL;
	lwkt_replymsg(&b, 0);	/* b replies to ourselves */
	ok = ok && lwkt_getport(self) == &b && lwkt_dropmsg(&b) == ENOENT;
	atomic_store(&d_ok, ok);
}

#define Z_N 20000
static struct lwkt_serialize z_ser;
static struct lwkt_port z_port, z_reply;
static _Atomic int z_ok;

static void
z_consumer(void *arg)
{
	(void)arg;
	lwkt_serialize_enter(&z_ser);
	for (int i = 0; i < Z_N; i++) {
		lwkt_msg_t m = lwkt_waitport(&z_port, 0);
		if (m->u.ms_result != i)
			break;
		lwkt_replymsg(m, 0);
		if (i == Z_N - 1)
			atomic_store(&z_ok, 1);
	}
	lwkt_serialize_exit(&z_ser);
}

static void
z_producer(void *arg)
{
	(void)arg;
	static struct lwkt_msg m[Z_N];
	for (int i = 0; i < Z_N; i++) {
		lwkt_initmsg(&m[i], &z_reply, 0);
		m[i].u.ms_result = i;
		lwkt_serialize_enter(&z_ser);
		lwkt_sendmsg(&z_port, &m[i]);
		lwkt_serialize_exit(&z_ser);
		if ((i & 63) == 0)
			lwkt_yield();
	}
	for (int i = 0; i < Z_N; i++)
		if (lwkt_waitport(&z_reply, 0) != &m[i])
			atomic_store(&z_ok, 0);
}

START_TEST(t_drop_and_serializer)
{
	int n = lt_start(NULL);
	lwkt_thread_t t, c, p;
	ck_assert_int_eq(lwkt_create(d_main, NULL, 0, 0, &t, "d"), 0);
	ck_assert_int_eq(lwkt_join(t), 0);
	ck_assert_int_eq(atomic_load(&d_ok), 1);
	lwkt_serialize_init(&z_ser);
	lwkt_initport_serialize(&z_port, &z_ser);
	lwkt_initport_spin(&z_reply);
	ck_assert_int_eq(lwkt_create(z_consumer, NULL, n - 1, 0, &c, "c"), 0);
	ck_assert_int_eq(lwkt_create(z_producer, NULL, 0, 0, &p, "p"), 0);
	ck_assert_int_eq(lwkt_join(p), 0);
	ck_assert_int_eq(lwkt_join(c), 0);
	ck_assert_int_eq(atomic_load(&z_ok), 1);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* misuse: each aborts with a message */

static void
run_one(lwkt_thread_fn fn)
{
	lt_start(NULL);
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(fn, NULL, 0, 0, &t, "misuse"), 0);
	lwkt_join(t);
	lwkt_shutdown();
}

static void
x_reply_twice(void *arg)
{
	(void)arg;
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	lwkt_sendmsg(lwkt_thread_port(NULL), &m);
	lwkt_msg_t r = lwkt_getport(lwkt_thread_port(NULL));
	lwkt_replymsg(r, 0);
	lwkt_replymsg(r, 0);
}

static void
x_send_in_flight(void *arg)
{
	(void)arg;
	static struct lwkt_port sp;
	lwkt_initport_spin(&sp);
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	lwkt_sendmsg(&sp, &m);
	lwkt_sendmsg(&sp, &m);
}

static void
x_reply_unsent(void *arg)
{
	(void)arg;
	struct lwkt_msg m;
	lwkt_initmsg(&m, NULL, 0);
	lwkt_replymsg(&m, 0);
}

static lwkt_port_t x_other;
static void
x_other_main(void *arg)
{
	(void)arg;
	x_other = lwkt_thread_port(NULL);
	while (atomic_load(&m_ready) == 0)	/* never set: we die first */
		lwkt_yield();
}

static void
x_getport_foreign(void *arg)
{
	(void)arg;
	lwkt_thread_t o;
	lwkt_create(x_other_main, NULL, 0, 0, &o, "other");
	while (x_other == NULL)
		lwkt_yield();
	lwkt_getport(x_other);
}

START_TEST(t_die_reply_twice) { run_one(x_reply_twice); }
END_TEST
START_TEST(t_die_send_in_flight) { run_one(x_send_in_flight); }
END_TEST
START_TEST(t_die_reply_unsent) { run_one(x_reply_unsent); }
END_TEST
START_TEST(t_die_getport_foreign) { run_one(x_getport_foreign); }
END_TEST

/* A reply port whose cpu has shut down. */
static struct lwkt_port r_port, r_spin;
static struct lwkt_msg r_msg;

static void
r_main(void *arg)
{
	(void)arg;
	lwkt_initport_thread(&r_port, lwkt_curthread());
	lwkt_initmsg(&r_msg, &r_port, 0);
	lwkt_sendmsg(&r_spin, &r_msg);
}

START_TEST(t_die_reply_after_shutdown)
{
	lt_start(NULL);
	lwkt_initport_spin(&r_spin);
	lwkt_thread_t t;
	ck_assert_int_eq(lwkt_create(r_main, NULL, 0, 0, &t, "r"), 0);
	ck_assert_int_eq(lwkt_join(t), 0);
	lwkt_msg_t m = lwkt_getport(&r_spin);	/* outside: spin port ok */
	ck_assert_ptr_eq(m, &r_msg);
	lwkt_shutdown();
	lwkt_replymsg(m, 0);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "million", 60);
	tcase_add_test(tc, t_million_exactly_once_fifo);
	tc = ltest_tcase(s, "semantics", 30);
	tcase_add_test(tc, t_domsg_never_easync);
	tcase_add_test(tc, t_sendmsg_inline_replies);
	tcase_add_test(tc, t_waitport_wakes_sleeping_cpu);
	tcase_add_test(tc, t_abort_exactly_once);
	tcase_add_test(tc, t_drop_and_serializer);
	tc = ltest_tcase(s, "misuse", 10);
	tcase_add_test_raise_signal(tc, t_die_reply_twice, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_send_in_flight, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_reply_unsent, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_getport_foreign, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_reply_after_shutdown, SIGABRT);
}

LTEST_MAIN("msgport", add)
