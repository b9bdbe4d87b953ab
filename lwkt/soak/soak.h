/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak.h - what lwkt-soak's two files share: the options, the message and
 * actor structs, run control.  soak.c: command line, storm, watchdog,
 * main and the verdict; soak_actors.c: the actors (LWKT threads) and the
 * ports they use.  A program, not a library: no install, no ABI.
 */
#ifndef LWKT_SOAK_SOAK_H
#define LWKT_SOAK_SOAK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lwkt/lwkt.h"

enum { PK_THREAD, PK_SPIN, PK_SERIAL, PK_FUNC, PK_N };
extern const char *const pk_name[PK_N];
enum { TK_CPU, TK_ATOMIC, TK_N };
extern const char *const tk_name[TK_N];

#define SOAK_MAXWIN 64
#define SOAK_MAXCLIENTS 16
#define SOAK_MAXMIX 1000000

/* The command line (soak.c); read-only once the actors start. */
struct soak_options {
	double duration_s;		/* 0: until --messages */
	uint64_t messages;		/* 0: until --duration */
	const char *cpus;
	unsigned ring;			/* 0: the runtime's default */
	unsigned ports;			/* 1 << PK_* */
	unsigned tokens;		/* 1 << TK_* */
	bool hard_ipi;
	enum lwkt_fence_mode fence;
	int64_t idle_spin_ns;		/* < 0: the runtime's default */
	unsigned ipi_batch;		/* lc_ipi_batch: 0 = off */
	bool storm;
	bool idle_phases;
	unsigned mix_msgs;		/* --mix msgs=N: client rounds per
					 * round of the other actors; 1: none */
	int clients;
	int window;
	double progress_s;		/* 0: no progress lines */
	double stall_s;
	uint64_t seed;
};
extern struct soak_options soak_opt;
extern int soak_ncpu;

/* Test-only faults (environment, see --help): each must make the soak
 * fail, which shows that the check it targets can fail.  0: off. */
extern uint64_t plant_lose, plant_noreply, plant_token, plant_wakeup;

/* Prints the verdict, the actors and the runtime's state, and exits 1.
 * From any thread; the first caller wins, later ones wait for the exit. */
__attribute__((noreturn, format(printf, 1, 2)))
void soak_fail(const char *fmt, ...);

enum { OP_WORK, OP_QUIT };

struct actor;

/*
 * A soak message.  Owned like any LWKT message (msgport.h): the sender
 * until sent, the handler until replied, the sender again after; so the
 * plain fields need no atomics (the runtime's hand-overs order them).
 */
struct soak_msg {
	struct lwkt_msg sm_lmsg;	/* first */
	uint64_t sm_id;			/* (sender no + 1) << 40 | sequence */
	uint64_t sm_sent_ns;
	struct actor *sm_from;		/* accounts inline handling */
	uint32_t sm_handled;		/* handlers: ++; sender: must be 1 */
	int sm_op;
	int sm_kind;			/* PK_* */
	int sm_cpu;			/* target cpu (thread, func) */
	int sm_slot;			/* index in the sender's pool */
};

/* Sum and xor of message ids: the sender's (replies checked) against the
 * handlers' (messages handled).  n: single writer, relaxed (progress
 * lines read it); the rest is read after lwkt_join. */
struct soak_acct {
	_Atomic uint64_t n;
	uint64_t sum, xor;
};

static inline void
acct_add(struct soak_acct *a, uint64_t id)
{
	atomic_store_explicit(&a->n, atomic_load_explicit(&a->n,
			      memory_order_relaxed) + 1, memory_order_relaxed);
	a->sum += id;
	a->xor ^= id;
}

enum actor_kind { A_SERVER, A_CLIENT, A_TOKEN, A_PING, A_PONG, A_CHURN };

/*
 * ping (cpu c) issues ticket t and sleeps until pong (cpu c+1) acks it;
 * pong sleeps until a new ticket appears.  Tickets only grow by one (the
 * next is issued after the ack), so pong checks it sees t = seen + 1.
 * A wake-up that is lost leaves one side asleep with its condition true:
 * the watchdog shows both counters.  p_last (stored before the final
 * ticket, seq_cst) tells pong which ticket is the last one.
 */
struct pair {
	_Alignas(64) _Atomic uint64_t p_ticket;	/* ping writes */
	_Alignas(64) _Atomic uint64_t p_ack;	/* pong writes */
	_Atomic uint64_t p_last;		/* ping writes, once */
	int p_no;
};

/*
 * One long-lived LWKT thread.  Written by that thread only (and, for a
 * churner, by its child while the churner waits in lwkt_join); the
 * watchdog reads only the atomic fields (relaxed: a recent value).
 */
struct actor {
	_Alignas(64) int a_kind;
	int a_no;			/* index in g_actor */
	int a_home;			/* cpu it was created on */
	char a_name[32];
	lwkt_thread_t a_td;
	lwkt_port_t a_port;		/* servers: the port they serve */
	uint64_t a_rng;
	_Atomic uint64_t a_progress;
	_Atomic int a_cpu;		/* cpu at the last progress */
	_Atomic(const char *) a_state;
	_Atomic int a_done;		/* finished: the watchdog skips it */
	/* sending */
	uint64_t a_seq;
	struct soak_acct a_sent;
	uint64_t a_by_kind[PK_N], a_sync;
	struct soak_msg *a_pool;	/* window + 1 (the last: sync) */
	int *a_free, a_nfree, a_out;
	_Atomic uint64_t a_slot_id[SOAK_MAXWIN + 1];	/* 0: free */
	_Atomic uint64_t a_slot_sent[SOAK_MAXWIN + 1];
	_Atomic uint32_t a_slot_where[SOAK_MAXWIN + 1];	/* kind<<16|cpu */
	/* handling */
	struct soak_acct a_handled;
	uint64_t a_inline;		/* function port, handled inline */
	uint64_t a_hist[64];		/* age, bucket k: [2^k, 2^k+1) ns */
	_Atomic uint64_t a_max_age;
	/* token worker */
	uint64_t a_tok_incs[TK_N], a_tok_holds, a_tok_blocks, a_tok_shared;
	/* churner */
	uint64_t a_created, a_detached, a_cpusyncs;
	/* ping/pong */
	struct pair *a_pair;
};

extern struct actor **g_actor;
extern int g_nactors;

/* Per-cpu progress, bumped by whatever soak thread runs there. */
struct soak_cpu_progress {
	_Alignas(64) _Atomic uint64_t v;
};
extern struct soak_cpu_progress g_cpu_progress[LWKT_MAXCPU];

static inline uint64_t
rnd(struct actor *a)
{
	/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's
	 * xorshift generators, scrambled", 2016). */
	uint64_t x = a->a_rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	a->a_rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline void
progress(struct actor *a)
{
	int c = lwkt_mycpuid();
	atomic_store_explicit(&a->a_progress, atomic_load_explicit(
			      &a->a_progress, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&a->a_cpu, c, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_cpu_progress[c].v, 1,
				  memory_order_relaxed);
}

static inline void
set_state(struct actor *a, const char *s)
{
	atomic_store_explicit(&a->a_state, s, memory_order_relaxed);
}

/*
 * The mix (--mix msgs=N): the token workers, ping and the churners run
 * one round per N client rounds on their cpu, sleeping in between, so the
 * run's rate is bounded by the message path.  g_mix[c].v counts cpu c's
 * client rounds (its clients only, relaxed: a pace, not an invariant);
 * every Nth round wakes the channel &g_mix[c].v.  A paced actor waits in
 * state soak_mix_state, which the watchdog does not time (the clients it
 * waits for are timed).  main wakes every channel at the stop.
 */
extern struct soak_cpu_progress g_mix[LWKT_MAXCPU];
extern const char soak_mix_state[];
void mix_wake_all(void);

/* Run control (soak_actors.c), set by main: g_stop ends the actors'
 * loops; g_pause holds them in an idle phase (tsleep on &g_pause, woken
 * by lwkt_wakeup(&g_pause)); g_pause_epoch counts phase edges for the
 * watchdog. */
extern _Atomic int g_stop, g_pause;
extern _Atomic uint64_t g_pause_epoch;

/* Ports (soak_actors.c; soak_ports_init before the actors start):
 * g_srv_port[c] is cpu c's thread server's own port, set by main. */
extern struct lwkt_port g_spin_port, g_ser_port, g_func_port;
extern struct lwkt_serialize g_ser;
extern lwkt_port_t g_srv_port[LWKT_MAXCPU];
void soak_ports_init(void);

/*
 * A token and the pair it protects: a == b whenever no holder runs
 * between its two increments; a holder checks it at every take and after
 * every block.  Plain fields: the token's own hand-over orders them
 * (token.h: acquire on take, release on give-up, for both designs).
 */
struct soak_tok {
	struct lwkt_token st_tok;
	uint64_t st_a, st_b;
};
extern struct soak_tok g_tok[TK_N];

/* Counted by the churners' children and lwkt_cpusync (relaxed). */
extern _Atomic uint64_t g_cpusync_runs, g_det_created, g_det_done;

/* The actors' bodies (lwkt_create's fn; arg: the struct actor). */
void server_main(void *arg);
void serial_server_main(void *arg);
void client_main(void *arg);
void token_main(void *arg);
void ping_main(void *arg);
void pong_main(void *arg);
void churn_main(void *arg);
void closer_main(void *arg);	/* arg unused: quits every server */

#endif /* LWKT_SOAK_SOAK_H */
