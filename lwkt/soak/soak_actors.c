/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak_actors.c - lwkt-soak's actors, each an LWKT thread (soak.c starts
 * them, watches them and gives the verdict): the servers of the four
 * port kinds, the clients, the token workers, the tsleep/wakeup pairs,
 * the thread churners and the closer that ends the servers.  Each checks
 * its own half of the invariants (soak.c's header lists them) and calls
 * soak_fail, naming the message id or the token, when one breaks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "soak.h"

static _Atomic uint64_t plant_seq_msg, plant_seq_tok, plant_seq_wake;

/* ---------------------------------------------------------------------- */
/* run control: stop, idle phases */

_Atomic int g_stop;	/* actors finish their round and leave */
_Atomic int g_pause;	/* idle phase: actors tsleep on &g_pause */
_Atomic uint64_t g_pause_epoch;	/* bumped by each phase */

/* Actors call this between rounds.  The test and the tsleep are one
 * critical section: the wake-up (an IPI, or an inbox item from main)
 * runs only after we are on the sleep queue. */
static void
pause_point(struct actor *a)
{
	if (!atomic_load_explicit(&g_pause, memory_order_acquire))
		return;
	const char *was = atomic_load_explicit(&a->a_state,
					       memory_order_relaxed);
	set_state(a, "idle phase (tsleep)");
	crit_enter();
	while (atomic_load_explicit(&g_pause, memory_order_acquire))
		lwkt_tsleep(&g_pause);
	crit_exit();
	set_state(a, was);
}

/* ---------------------------------------------------------------------- */
/* the mix: pacing the actors that are not clients (soak.h) */

struct soak_cpu_progress g_mix[LWKT_MAXCPU];
const char soak_mix_state[] = "paced by --mix (tsleep)";

/* A client's round on its cpu (clients never migrate). */
static inline void
mix_tick(void)
{
	unsigned n = soak_opt.mix_msgs;
	if (n <= 1)
		return;
	int c = lwkt_mycpuid();
	uint64_t v = atomic_load_explicit(&g_mix[c].v, memory_order_relaxed)
		     + 1;
	/* Only this cpu's clients write it, one at a time (no preemption
	 * between LWKT threads of one cpu): load + store is enough. */
	atomic_store_explicit(&g_mix[c].v, v, memory_order_relaxed);
	if (v % n == 0)
		lwkt_wakeup(&g_mix[c].v);
}

/* Before a paced actor's round: sleeps until its (current) cpu's clients
 * have made mix_msgs rounds, or the run stops.  Test and tsleep are one
 * critical section (see pause_point). */
static void
mix_gate(struct actor *a)
{
	unsigned n = soak_opt.mix_msgs;
	if (n <= 1)
		return;
	int c = lwkt_mycpuid();
	_Atomic uint64_t *ctr = &g_mix[c].v;
	uint64_t want = atomic_load_explicit(ctr, memory_order_relaxed) + n;
	const char *was = atomic_load_explicit(&a->a_state,
					       memory_order_relaxed);
	set_state(a, soak_mix_state);
	crit_enter();
	while (atomic_load_explicit(ctr, memory_order_relaxed) < want &&
	       !atomic_load_explicit(&g_stop, memory_order_acquire))
		lwkt_tsleep(ctr);
	crit_exit();
	set_state(a, was);
}

/* From main at the stop: no paced actor sleeps past it. */
void
mix_wake_all(void)
{
	for (int c = 0; c < soak_ncpu; c++)
		lwkt_wakeup(&g_mix[c].v);
}

/* ---------------------------------------------------------------------- */
/* ports and handling */

struct lwkt_port g_spin_port, g_ser_port, g_func_port;
struct lwkt_serialize g_ser;
lwkt_port_t g_srv_port[LWKT_MAXCPU];
_Atomic uint64_t g_cpusync_runs;
_Atomic uint64_t g_det_created, g_det_done;

static inline int
age_bucket(uint64_t ns)
{
	return ns ? 63 - __builtin_clzll(ns) : 0;
}

/*
 * The handler's half of the accounting; self is the handling actor (the
 * sender itself for inline handling).  Returns false when a planted
 * fault says the message must not be replied.
 */
static bool
soak_handle(struct actor *self, struct soak_msg *m)
{
	uint64_t now = lwkt_now_ns();
	if (__builtin_expect(plant_lose | plant_noreply, 0)) {
		uint64_t k = atomic_fetch_add(&plant_seq_msg, 1) + 1;
		if (k == plant_lose) {
			fprintf(stderr, "lwkt-soak: planted: message %#" PRIx64
				" replied without being counted\n", m->sm_id);
			return true;
		}
		if (k == plant_noreply) {
			fprintf(stderr, "lwkt-soak: planted: message %#" PRIx64
				" dropped (never replied)\n", m->sm_id);
			return false;
		}
	}
	uint32_t h = ++m->sm_handled;
	if (h != 1)
		soak_fail("message %#" PRIx64 " (%s port, cpu %d) reached a "
			  "handler %u times (%s)", m->sm_id,
			  pk_name[m->sm_kind], m->sm_cpu, h, self->a_name);
	acct_add(&self->a_handled, m->sm_id);
	uint64_t age = now > m->sm_sent_ns ? now - m->sm_sent_ns : 0;
	self->a_hist[age_bucket(age)]++;
	if (age > atomic_load_explicit(&self->a_max_age, memory_order_relaxed))
		atomic_store_explicit(&self->a_max_age, age,
				      memory_order_relaxed);
	return true;
}

static void
serve(struct actor *a, struct soak_msg *m)
{
	if (soak_handle(a, m))
		lwkt_replymsg(&m->sm_lmsg, 0);
	progress(a);
	/* Now and then the handler gives its cpu away while clients wait. */
	if ((rnd(a) & 63) == 0)
		lwkt_yield();
}

/* Thread server (its own port) and spin server (the shared port). */
void
server_main(void *arg)
{
	struct actor *a = arg;
	lwkt_port_t p = a->a_port ? a->a_port : lwkt_thread_port(NULL);
	for (;;) {
		set_state(a, "waitport");
		struct soak_msg *m = (struct soak_msg *)lwkt_waitport(p, 0);
		set_state(a, "handling");
		if (m->sm_op == OP_QUIT) {
			lwkt_replymsg(&m->sm_lmsg, 0);
			break;
		}
		serve(a, m);
	}
	atomic_store(&a->a_done, 1);
}

/* Serializer server: holds the serializer to take a message (waitport
 * drops it while sleeping), handles without it. */
void
serial_server_main(void *arg)
{
	struct actor *a = arg;
	for (;;) {
		set_state(a, "waitport (serializer)");
		lwkt_serialize_enter(&g_ser);
		struct soak_msg *m =
			(struct soak_msg *)lwkt_waitport(&g_ser_port, 0);
		lwkt_serialize_exit(&g_ser);
		set_state(a, "handling");
		if (m->sm_op == OP_QUIT) {
			lwkt_replymsg(&m->sm_lmsg, 0);
			break;
		}
		serve(a, m);
	}
	atomic_store(&a->a_done, 1);
}

/* Function port: runs in the sender's context.  Even ids are handled
 * inline (the result is the reply), odd ones forwarded to a server. */
static int
func_beginmsg(lwkt_port_t port, lwkt_msg_t lm)
{
	(void)port;
	struct soak_msg *m = (struct soak_msg *)lm;
	if (m->sm_id & 1) {
		lwkt_forwardmsg(g_srv_port[m->sm_cpu], lm);
		return EASYNC;
	}
	m->sm_from->a_inline++;
	if (!soak_handle(m->sm_from, m))
		return EASYNC;	/* planted: taken and never replied */
	return 0;
}

void
soak_ports_init(void)
{
	lwkt_initport_spin(&g_spin_port);
	lwkt_serialize_init(&g_ser);
	lwkt_initport_serialize(&g_ser_port, &g_ser);
	lwkt_initport_func(&g_func_port, func_beginmsg, NULL);
}

/* ---------------------------------------------------------------------- */
/* the sending side */

static void
prep(struct actor *a, struct soak_msg *m, int kind, int cpu)
{
	lwkt_initmsg(&m->sm_lmsg, NULL, 0);	/* reply: our own port */
	m->sm_id = ((uint64_t)(a->a_no + 1) << 40) | ++a->a_seq;
	m->sm_from = a;
	m->sm_handled = 0;
	m->sm_op = OP_WORK;
	m->sm_kind = kind;
	m->sm_cpu = cpu;
	int s = m->sm_slot;
	atomic_store_explicit(&a->a_slot_where[s], ((uint32_t)kind << 16) |
			      (uint32_t)cpu, memory_order_relaxed);
	m->sm_sent_ns = lwkt_now_ns();
	atomic_store_explicit(&a->a_slot_sent[s], m->sm_sent_ns,
			      memory_order_relaxed);
	atomic_store_explicit(&a->a_slot_id[s], m->sm_id,
			      memory_order_relaxed);
	a->a_by_kind[kind]++;
}

static lwkt_port_t
port_of(int kind, int cpu)
{
	switch (kind) {
	case PK_THREAD: return g_srv_port[cpu];
	case PK_SPIN: return &g_spin_port;
	case PK_SERIAL: return &g_ser_port;
	default: return &g_func_port;
	}
}

static void
send_async(struct soak_msg *m)
{
	if (m->sm_kind == PK_SERIAL) {
		lwkt_serialize_enter(&g_ser);
		lwkt_sendmsg(&g_ser_port, &m->sm_lmsg);
		lwkt_serialize_exit(&g_ser);
	} else {
		lwkt_sendmsg(port_of(m->sm_kind, m->sm_cpu), &m->sm_lmsg);
	}
}

/* The sender's half: the reply of a message handled exactly once. */
static void
check_reply(struct actor *a, struct soak_msg *m)
{
	if (m->sm_handled != 1)
		soak_fail("message %#" PRIx64 " (%s port, cpu %d, from %s) "
			  "came back after %u handlings: %s", m->sm_id,
			  pk_name[m->sm_kind], m->sm_cpu, a->a_name,
			  m->sm_handled, m->sm_handled ? "handled more than "
			  "once" : "lost (no handler counted it)");
	if (m->sm_lmsg.ms_error != 0)
		soak_fail("message %#" PRIx64 " (%s port) replied error %d",
			  m->sm_id, pk_name[m->sm_kind], m->sm_lmsg.ms_error);
	acct_add(&a->a_sent, m->sm_id);
	atomic_store_explicit(&a->a_slot_id[m->sm_slot], 0,
			      memory_order_relaxed);
}

/* Synchronous: lwkt_domsg (a serializer port cannot be domsg'ed while
 * holding its serializer: send, drop it, then lwkt_waitmsg). */
static void
send_sync(struct actor *a, struct soak_msg *m)
{
	int e;
	set_state(a, "domsg");
	if (m->sm_kind == PK_SERIAL) {
		lwkt_serialize_enter(&g_ser);
		lwkt_sendmsg(&g_ser_port, &m->sm_lmsg);
		lwkt_serialize_exit(&g_ser);
		e = lwkt_waitmsg(&m->sm_lmsg, 0);
	} else {
		e = lwkt_domsg(port_of(m->sm_kind, m->sm_cpu), &m->sm_lmsg,
			       0);
	}
	if (e != m->sm_lmsg.ms_error)
		soak_fail("message %#" PRIx64 ": domsg returned %d, ms_error "
			  "%d", m->sm_id, e, m->sm_lmsg.ms_error);
	a->a_sync++;
	check_reply(a, m);
}

/* One synchronous message to cpu's thread server (token workers and
 * churn children: a blocking call, often across cpus). */
static void
sync_to_server(struct actor *a, int cpu)
{
	struct soak_msg *m = &a->a_pool[soak_opt.window];
	prep(a, m, PK_THREAD, cpu);
	send_sync(a, m);
}

static int
pick_kind(struct actor *a)
{
	for (;;) {
		int k = (int)(rnd(a) % PK_N);
		if (soak_opt.ports & (1u << k))
			return k;
	}
}

/* Collects one asynchronous reply from our own port. */
static void
collect(struct actor *a, lwkt_port_t me)
{
	set_state(a, "waitport (replies)");
	struct soak_msg *m = (struct soak_msg *)lwkt_waitport(me, 0);
	if (!(lwkt_msg_flags(&m->sm_lmsg) & MSGF_REPLY) || m->sm_from != a)
		soak_fail("%s: a non-reply (flags %#x, id %#" PRIx64 ") on its "
			  "reply port", a->a_name,
			  lwkt_msg_flags(&m->sm_lmsg), m->sm_id);
	check_reply(a, m);
	a->a_free[a->a_nfree++] = m->sm_slot;
	a->a_out--;
}

void
client_main(void *arg)
{
	struct actor *a = arg;
	lwkt_port_t me = lwkt_thread_port(NULL);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		pause_point(a);
		int kind = pick_kind(a);
		int cpu = (int)(rnd(a) % (unsigned)soak_ncpu);
		if ((rnd(a) & 3) == 0) {
			struct soak_msg *m = &a->a_pool[soak_opt.window];
			prep(a, m, kind, cpu);
			send_sync(a, m);
		} else {
			if (a->a_out == soak_opt.window)
				collect(a, me);
			int slot = a->a_free[--a->a_nfree];
			struct soak_msg *m = &a->a_pool[slot];
			prep(a, m, kind, cpu);
			set_state(a, "sendmsg");
			send_async(m);
			a->a_out++;
		}
		progress(a);
		mix_tick();
	}
	while (a->a_out > 0) {
		collect(a, me);
		progress(a);
	}
	atomic_store(&a->a_done, 1);
}

/* ---------------------------------------------------------------------- */
/* tokens */

struct soak_tok g_tok[TK_N];

static void
tok_verify(struct actor *a, int t, const char *when)
{
	struct soak_tok *k = &g_tok[t];
	if (!lwkt_token_is_held(&k->st_tok))
		soak_fail("%s: the %s token is not held %s", a->a_name,
			  tk_name[t], when);
	if (k->st_a != k->st_b)
		soak_fail("%s: %s token: a != b %s (a %" PRIu64 ", b %" PRIu64
			  "): another holder ran inside a hold", a->a_name,
			  tk_name[t], when, k->st_a, k->st_b);
}

static void
tok_update(struct actor *a, int t)
{
	struct soak_tok *k = &g_tok[t];
	k->st_a++;
	/* A window where a second holder would see a != b. */
	for (int i = 0; i < 16; i++)
		lwkt_cpu_relax();
	if (__builtin_expect(plant_token != 0, 0) &&
	    atomic_fetch_add(&plant_seq_tok, 1) + 1 == plant_token) {
		fprintf(stderr, "lwkt-soak: planted: %s token: b not "
			"incremented\n", tk_name[t]);
		return;
	}
	k->st_b++;
	a->a_tok_incs[t]++;
}

void
token_main(void *arg)
{
	struct actor *a = arg;
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		pause_point(a);
		mix_gate(a);
		int t1 = (int)(rnd(a) % TK_N), t2 = -1;
		if (!(soak_opt.tokens & (1u << t1)))
			t1 = 1 - t1;
		if (soak_opt.tokens == 3 && (rnd(a) & 3) == 0)
			t2 = 1 - t1;
		bool shared = t2 < 0 && t1 == TK_ATOMIC && (rnd(a) & 7) == 0;
		set_state(a, "gettoken");
		if (shared)
			lwkt_gettoken_shared(&g_tok[t1].st_tok);
		else
			lwkt_gettoken(&g_tok[t1].st_tok);
		if (t2 >= 0)
			lwkt_gettoken(&g_tok[t2].st_tok);
		set_state(a, "holding");
		tok_verify(a, t1, "after the take");
		if (!shared)
			tok_update(a, t1);
		if (t2 >= 0) {
			tok_verify(a, t2, "after the take");
			tok_update(a, t2);
		}
		bool blocked = true;
		switch (rnd(a) & 7) {
		case 0:
			set_state(a, "yield holding tokens");
			lwkt_yield();
			break;
		case 1:
			/* sets "domsg" */
			sync_to_server(a, (int)(rnd(a) % (unsigned)soak_ncpu));
			break;
		case 2:
			if (soak_ncpu > 1) {
				set_state(a, "migrate holding tokens");
				lwkt_migrate((int)(rnd(a) %
						   (unsigned)soak_ncpu));
				break;
			}
			/* fall through */
		default:
			blocked = false;
		}
		if (blocked) {
			/* Tokens were given up and must be back, the pair
			 * intact (we left it so). */
			a->a_tok_blocks++;
			tok_verify(a, t1, "after blocking");
			if (!shared)
				tok_update(a, t1);
			if (t2 >= 0) {
				tok_verify(a, t2, "after blocking");
				tok_update(a, t2);
			}
		}
		if (t2 >= 0)
			lwkt_reltoken(&g_tok[t2].st_tok);
		lwkt_reltoken(&g_tok[t1].st_tok);
		a->a_tok_holds++;
		a->a_tok_shared += shared;
		set_state(a, "running");
		progress(a);
	}
	atomic_store(&a->a_done, 1);
}

/* ---------------------------------------------------------------------- */
/* tsleep/wakeup with tickets */

/* Sleeps on the counter's address until it reaches want.  The test and
 * the tsleep are one critical section, so the other side's store and
 * lwkt_wakeup (same channel) cannot fall between them. */
static void
sleep_until(struct actor *a, const char *state, _Atomic uint64_t *ctr,
	    uint64_t want)
{
	set_state(a, state);
	crit_enter();
	while (atomic_load(ctr) < want)
		lwkt_tsleep(ctr);
	crit_exit();
	set_state(a, "running");
}

void
ping_main(void *arg)
{
	struct actor *a = arg;
	struct pair *p = a->a_pair;
	for (bool last = false; !last;) {
		if (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
			pause_point(a);
			mix_gate(a);
		}
		last = atomic_load_explicit(&g_stop, memory_order_relaxed);
		uint64_t t = atomic_load(&p->p_ticket) + 1;
		if (last)
			atomic_store(&p->p_last, t);
		atomic_store(&p->p_ticket, t);
		lwkt_wakeup(&p->p_ticket);
		sleep_until(a, "tsleep until acked", &p->p_ack, t);
		progress(a);
	}
	atomic_store(&a->a_done, 1);
}

void
pong_main(void *arg)
{
	struct actor *a = arg;
	struct pair *p = a->a_pair;
	uint64_t seen = 0;
	for (;;) {
		/* Tickets only grow: "a new one" is "at least seen + 1". */
		sleep_until(a, "tsleep until a ticket", &p->p_ticket, seen + 1);
		uint64_t t = atomic_load(&p->p_ticket);
		if (t != seen + 1)
			soak_fail("tsleep pair %d: ticket went from %" PRIu64
				  " to %" PRIu64 " (one at a time expected)",
				  p->p_no, seen, t);
		seen = t;
		atomic_store(&p->p_ack, t);
		if (__builtin_expect(plant_wakeup != 0, 0) &&
		    atomic_fetch_add(&plant_seq_wake, 1) + 1 == plant_wakeup)
			fprintf(stderr, "lwkt-soak: planted: pair %d: wake-up "
				"for ack %" PRIu64 " not sent\n", p->p_no, t);
		else
			lwkt_wakeup(&p->p_ack);
		progress(a);
		if (t == atomic_load(&p->p_last))
			break;
	}
	atomic_store(&a->a_done, 1);
}

/* ---------------------------------------------------------------------- */
/* thread churn */

/* The child sends through its parent's sending state (pool, sequence,
 * accounting: the parent waits in lwkt_join meanwhile and touches none
 * of it); the parent keeps its random generator, so the child gets its
 * choices made. */
struct child {
	struct actor *c_parent;
	int c_to;		/* -1: no migration */
	int c_srv;		/* the server's cpu */
};

static void
child_main(void *arg)
{
	struct child *c = arg;
	if (c->c_to >= 0)
		lwkt_migrate(c->c_to);
	sync_to_server(c->c_parent, c->c_srv);
}

static void
detached_main(void *arg)
{
	int to = (int)(intptr_t)arg;
	lwkt_yield();
	if (to >= 0)
		lwkt_migrate(to);
	atomic_fetch_add_explicit(&g_det_done, 1, memory_order_release);
}

/* An IPI function: also runs from the hard-IPI signal handler. */
static void
cpusync_fn(void *a1, void *a2)
{
	(void)a1, (void)a2;
	atomic_fetch_add_explicit(&g_cpusync_runs, 1, memory_order_relaxed);
}

void
churn_main(void *arg)
{
	struct actor *a = arg;
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		pause_point(a);
		mix_gate(a);
		if (atomic_load_explicit(&g_stop, memory_order_relaxed))
			break;
		struct child c = {a, (rnd(a) & 1) && soak_ncpu > 1 ?
				  (int)(rnd(a) % (unsigned)soak_ncpu) : -1,
				  (int)(rnd(a) % (unsigned)soak_ncpu)};
		lwkt_thread_t td;
		set_state(a, "create");
		int cpu = (int)(rnd(a) % (unsigned)soak_ncpu);
		int e = lwkt_create(child_main, &c, cpu, 0, &td,
				    "churn-child");
		if (e != 0)
			soak_fail("%s: lwkt_create: error %d", a->a_name, e);
		if ((rnd(a) & 3) == 0) {
			int to = soak_ncpu > 1 ?
				 (int)(rnd(a) % (unsigned)soak_ncpu) : -1;
			atomic_fetch_add(&g_det_created, 1);
			e = lwkt_create(detached_main, (void *)(intptr_t)to,
					(int)(rnd(a) % (unsigned)soak_ncpu),
					LWKT_CREATE_DETACHED, NULL,
					"churn-detached");
			if (e != 0)
				soak_fail("%s: lwkt_create (detached): error "
					  "%d", a->a_name, e);
			a->a_detached++;
		}
		set_state(a, "join");
		if ((e = lwkt_join(td)) != 0)
			soak_fail("%s: lwkt_join: error %d", a->a_name, e);
		a->a_created++;
		if (a->a_home == 0 && a->a_created % 16 == 0) {
			set_state(a, "cpusync");
			lwkt_cpusync(~0ull, cpusync_fn, NULL);
			a->a_cpusyncs++;
		}
		set_state(a, "running");
		progress(a);
	}
	/* Detached children domsg nobody, but end before the servers. */
	set_state(a, "waiting for detached children");
	while (atomic_load_explicit(&g_det_done, memory_order_acquire) <
	       atomic_load(&g_det_created))
		lwkt_yield();
	atomic_store(&a->a_done, 1);
}

/* ---------------------------------------------------------------------- */
/* the end: one thread sends every server its quit message */

void
closer_main(void *arg)
{
	(void)arg;
	struct soak_msg q;
	memset(&q, 0, sizeof q);
	for (int i = 0; i < g_nactors; i++) {
		struct actor *s = g_actor[i];
		if (s->a_kind != A_SERVER)
			continue;
		lwkt_initmsg(&q.sm_lmsg, NULL, 0);
		q.sm_op = OP_QUIT;
		q.sm_id = 0;
		lwkt_port_t p = s->a_port ? s->a_port : g_srv_port[s->a_home];
		if (p == &g_ser_port) {
			lwkt_serialize_enter(&g_ser);
			lwkt_sendmsg(p, &q.sm_lmsg);
			lwkt_serialize_exit(&g_ser);
			lwkt_waitmsg(&q.sm_lmsg, 0);
		} else {
			lwkt_domsg(p, &q.sm_lmsg, 0);
		}
	}
}

