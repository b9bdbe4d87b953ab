/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_netisr.c - protocol service threads: per-flow order and every
 * packet accounted for through the pipeline (Zipf flows, generators on
 * every cpu, a small batch limit so rollups run often); the BGL /
 * adaptive / no-BGL flip under load with both token designs, checking
 * that the big lock really is held (and exclusive) in every non-MPSAFE
 * handler; each mode's rule, one message at a time; inline self domsg;
 * the sync barrier; bad configs and misuse; the README example, run and
 * compared byte for byte with the copy in lwkt/README.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwkt/netisr.h"
#include "lwkt/thread.h"
#include "lwkt/token.h"
#include "lt_util.h"

static _Atomic int t_bad;	/* first failure code, 0 = none */

static void
t_fail(int code)
{
	int z = 0;
	atomic_compare_exchange_strong(&t_bad, &z, code);
}

static void
skip(const char *test, const char *why)
{
	printf("SKIPPED: netisr/%s: %s\n", test, why);
	fflush(stdout);
}

/* ---------------------------------------------------------------------- */
/* the pipeline: generators -> hash -> service tables (owned, no lock) */

#define NGEN 4
#define FPG 64			/* flows per generator */
#define NFLOWS (NGEN * FPG)
#define WINDOW 32
#define PKTS 20000		/* per generator */

struct pkt {
	struct netmsg_base p_nm;	/* first */
	int p_gen;
	uint32_t p_flow;
	uint64_t p_fseq;		/* per flow */
	uint64_t p_gseq;		/* per (generator, service cpu) */
};

/* Per service cpu; written only by that cpu's service thread (handlers
 * and rollup), read by main after netisr_sync. */
struct svc_table {
	_Alignas(64) uint64_t fexp[NFLOWS];	/* next seq per flow */
	uint64_t gexp[NGEN];			/* next seq per generator */
	uint64_t handled;
	uint64_t under_bgl;			/* handlers that held it */
	uint64_t rollups;
};
static struct svc_table tab[LWKT_MAXCPU];

/* Shared by every handler that holds the big lock: a plain counter (TSan
 * sees a race unless the token orders them) and an overlap detector. */
static uint64_t bgl_plain;
static _Atomic int bgl_inside;

/* 0: no mode rule checked; 1: no-BGL never set, so every non-MPSAFE
 * handler must hold the big lock. */
static _Atomic int strict_bgl;

static uint32_t
flow_hash(uint32_t flow)
{
	uint32_t h = flow * 0x9e3779b1u;
	h ^= h >> 15;
	h *= 0x85ebca6bu;
	return h ^ (h >> 13);
}

static void
pkt_handler(struct netmsg_base *nm)
{
	struct pkt *p = (struct pkt *)nm;
	int cpu = lwkt_mycpuid();
	struct svc_table *t = &tab[cpu];
	bool held = lwkt_token_is_held(netisr_bgl());
	bool mpsafe = lwkt_msg_flags(&nm->lmsg) & NETMSGF_MPSAFE;

	if (!netisr_in_service(cpu))
		t_fail(1);		/* not on the service thread */
	if (netisr_hashcpu(flow_hash(p->p_flow)) != cpu)
		t_fail(2);		/* on the wrong cpu */
	if (t->fexp[p->p_flow] != p->p_fseq)
		t_fail(3);		/* per-flow order broken */
	if (t->gexp[p->p_gen] != p->p_gseq)
		t_fail(4);		/* per-sender FIFO broken */
	if (!mpsafe && !held && atomic_load(&strict_bgl))
		t_fail(5);		/* non-MPSAFE without the big lock */
	if (held) {
		if (atomic_exchange(&bgl_inside, 1) != 0)
			t_fail(6);	/* two big-lock holders at once */
		bgl_plain++;
		t->under_bgl++;
		atomic_store(&bgl_inside, 0);
	}
	t->fexp[p->p_flow]++;
	t->gexp[p->p_gen]++;
	t->handled++;
	lwkt_replymsg(&nm->lmsg, 0);
}

static void
count_rollup(void *arg)
{
	(void)arg;
	tab[lwkt_mycpuid()].rollups++;
}

struct gen {
	int g_id;
	bool g_zipf;
	bool g_alternate;	/* every other packet not MPSAFE */
	uint64_t g_fseq[FPG];
	uint64_t g_gseq[LWKT_MAXCPU];
	_Atomic uint64_t g_replies;	/* generator writes; main polls */
	struct pkt g_win[WINDOW];
};
static struct gen gens[NGEN];

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Zipf(s = 1) over FPG flows by inversion of a precomputed CDF. */
static double zipf_cdf[FPG];

static void
zipf_init(void)
{
	double sum = 0;
	for (int i = 0; i < FPG; i++)
		sum += 1.0 / (i + 1);
	double acc = 0;
	for (int i = 0; i < FPG; i++) {
		acc += 1.0 / (i + 1) / sum;
		zipf_cdf[i] = acc;
	}
}

static int
pick_flow(struct gen *g, uint64_t *rng)
{
	uint64_t r = xorshift(rng);
	if (!g->g_zipf)
		return (int)(r % FPG);
	double u = (double)(r >> 11) / (double)(1ull << 53);
	for (int i = 0; i < FPG; i++)
		if (u < zipf_cdf[i])
			return i;
	return FPG - 1;
}

static void
gen_main(void *arg)
{
	struct gen *g = arg;
	lwkt_port_t self = lwkt_thread_port(NULL);
	uint64_t rng = 0x1234567ull * (uint64_t)(g->g_id + 1);
	int fresh = 0;

	for (uint64_t i = 0; i < PKTS; i++) {
		struct pkt *p;
		if (fresh < WINDOW) {
			p = &g->g_win[fresh++];
		} else {
			p = (struct pkt *)lwkt_waitport(self, 0);
			if (p->p_nm.lmsg.ms_error != 0)
				t_fail(10);
			g->g_replies++;
		}
		int f = pick_flow(g, &rng);
		uint32_t flow = (uint32_t)(g->g_id * FPG + f);
		int cpu = netisr_hashcpu(flow_hash(flow));
		uint32_t flags = NETMSGF_MPSAFE;
		if (g->g_alternate && (i & 1))
			flags = 0;
		netmsg_init(&p->p_nm, NULL, flags, pkt_handler);
		p->p_gen = g->g_id;
		p->p_flow = flow;
		p->p_fseq = g->g_fseq[f]++;
		p->p_gseq = g->g_gseq[cpu]++;
		netisr_sendmsg(&p->p_nm, cpu);
	}
	while (g->g_replies < PKTS) {
		struct pkt *p = (struct pkt *)lwkt_waitport(self, 0);
		if (p->p_nm.lmsg.ms_error != 0)
			t_fail(10);
		g->g_replies++;
	}
}

/* Starts NGEN generators (one cpu after the other) and, while they run,
 * calls flip(i) every ~200 us if given.  Returns the flips done. */
static int
run_generators(bool zipf, bool alternate, void (*flip)(int))
{
	int ncpu = lwkt_ncpus();
	lwkt_thread_t td[NGEN];
	memset(gens, 0, sizeof gens);
	for (int g = 0; g < NGEN; g++) {
		gens[g].g_id = g;
		gens[g].g_zipf = zipf;
		gens[g].g_alternate = alternate;
		ck_assert_int_eq(lwkt_create(gen_main, &gens[g], g % ncpu, 0,
					     &td[g], "gen"), 0);
	}
	int flips = 0;
	if (flip != NULL) {
		/* Flip until every generator has been answered. */
		for (;;) {
			uint64_t done = 0;
			for (int g = 0; g < NGEN; g++)
				done += atomic_load_explicit(
					&gens[g].g_replies,
					memory_order_relaxed);
			if (done >= (uint64_t)NGEN * PKTS)
				break;
			flip(flips++);
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
	for (int g = 0; g < NGEN; g++)
		ck_assert_int_eq(lwkt_join(td[g]), 0);
	return flips;
}

/* Every packet accounted for: each flow's last seq, each generator's
 * replies, the services' counts and stats agree. */
static void
check_accounting(void)
{
	int n = netisr_ncpus();
	ck_assert_int_eq(netisr_sync(), 0);	/* quiet now */
	uint64_t handled = 0, under = 0, disp = 0, bgl = 0;
	for (int c = 0; c < n; c++) {
		struct netisr_stats s;
		ck_assert_int_eq(netisr_stats(c, &s), 0);
		handled += tab[c].handled;
		under += tab[c].under_bgl;
		disp += s.ns_dispatched;
		bgl += s.ns_bgl;
	}
	ck_assert_uint_eq(handled, (uint64_t)NGEN * PKTS);
	/* netisr_sync's messages are dispatched too (one per service) */
	ck_assert_uint_eq(disp, handled + (uint64_t)n);
	/* every handler under the big lock saw it held, and only those */
	ck_assert_uint_eq(under, bgl_plain);
	ck_assert_uint_le(under, bgl);
	for (int g = 0; g < NGEN; g++) {
		ck_assert_uint_eq(gens[g].g_replies, PKTS);
		for (int f = 0; f < FPG; f++) {
			uint32_t flow = (uint32_t)(g * FPG + f);
			int c = netisr_hashcpu(flow_hash(flow));
			ck_assert_uint_eq(tab[c].fexp[flow], gens[g].g_fseq[f]);
		}
	}
	ck_assert_int_eq(atomic_load(&t_bad), 0);
}

static void
reset_tables(void)
{
	memset(tab, 0, sizeof tab);
	bgl_plain = 0;
	atomic_store(&t_bad, 0);
}

START_TEST(t_pipeline_order_and_accounting)
{
	lt_start(NULL);
	zipf_init();
	reset_tables();
	ck_assert_int_eq(netisr_register_rollup(count_rollup, NULL), 0);
	struct netisr_config cfg;
	netisr_config_default(&cfg);
	cfg.nc_batch = 8;		/* rollups run often */
	ck_assert_int_eq(netisr_start(&cfg), 0);
	atomic_store(&strict_bgl, 1);
	run_generators(true, false, NULL);
	check_accounting();
	int n = netisr_ncpus();
	ck_assert_int_eq(netisr_stop(), 0);	/* batches exact now */
	for (int c = 0; c < n; c++) {
		struct netisr_stats s;
		netisr_stats(c, &s);
		ck_assert_uint_le(s.ns_max_batch, 8);
		ck_assert_uint_gt(s.ns_batches, 0);
		ck_assert_uint_eq(tab[c].rollups, s.ns_batches);
		/* adaptive mode, all MPSAFE: the big lock was never taken
		 * by a packet (the sync message is MPSAFE too) */
		ck_assert_uint_eq(s.ns_bgl, 0);
	}
	/* uniform flows too */
	netisr_clear_rollups();
	reset_tables();
	ck_assert_int_eq(netisr_start(&cfg), 0);
	run_generators(false, false, NULL);
	check_accounting();
	ck_assert_int_eq(netisr_stop(), 0);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the mode flip under load */

static void
flip_bgl_adaptive(int i)
{
	netisr_set_mode((i & 1) ? NETISR_MODE_ADAPTIVE : NETISR_MODE_BGL);
}

static void
flip_all(int i)
{
	static const enum netisr_mode m[] = {
		NETISR_MODE_BGL, NETISR_MODE_NOBGL, NETISR_MODE_ADAPTIVE,
		NETISR_MODE_NOBGL };
	netisr_set_mode(m[i % 4]);
}

static void
mode_flip(enum lwkt_token_design design)
{
	lt_start(NULL);
	zipf_init();
	ck_assert_int_eq(lwkt_token_set_default(design), 0);
	reset_tables();
	struct netisr_config cfg;
	netisr_config_default(&cfg);
	cfg.nc_batch = 16;
	ck_assert_int_eq(netisr_start(&cfg), 0);

	/* Phase 1: BGL <-> adaptive: every non-MPSAFE handler (half the
	 * packets) must hold the big lock, whatever the flip timing. */
	atomic_store(&strict_bgl, 1);
	int flips = run_generators(true, true, flip_bgl_adaptive);
	check_accounting();
	ck_assert_int_ge(flips, 2);
	ck_assert_uint_ge(bgl_plain, (uint64_t)NGEN * PKTS / 2);
	ck_assert_int_eq(netisr_stop(), 0);

	/* Phase 2: through no-BGL as well: nothing lost or reordered; the
	 * holders still never overlap. */
	reset_tables();
	ck_assert_int_eq(netisr_start(&cfg), 0);
	atomic_store(&strict_bgl, 0);
	flips = run_generators(true, true, flip_all);
	check_accounting();
	ck_assert_int_ge(flips, 2);
	ck_assert_int_eq(netisr_stop(), 0);
	lwkt_shutdown();
}

START_TEST(t_mode_flip_atomic_token)
{
	mode_flip(LWKT_TOKEN_ATOMIC);
}
END_TEST

START_TEST(t_mode_flip_cpu_owned_token)
{
	mode_flip(LWKT_TOKEN_CPU_OWNED);
}
END_TEST

/* Each mode's rule, one message at a time (no flip in between). */
struct probe {
	struct netmsg_base nm;
	int held;		/* -1 until the handler ran */
};

static void
probe_handler(struct netmsg_base *nm)
{
	((struct probe *)nm)->held = lwkt_token_is_held(netisr_bgl());
	lwkt_replymsg(&nm->lmsg, 0);
}

static bool
probe(bool mpsafe, int cpu)
{
	struct probe p;
	netmsg_init(&p.nm, NULL, mpsafe ? NETMSGF_MPSAFE : 0, probe_handler);
	p.held = -1;
	ck_assert_int_eq(netisr_domsg(&p.nm, cpu), 0);
	ck_assert_int_ne(p.held, -1);
	return p.held == 1;
}

START_TEST(t_mode_rules)
{
	lt_start(NULL);
	ck_assert_int_eq(netisr_start(NULL), 0);
	ck_assert_int_eq(netisr_get_mode(), NETISR_MODE_ADAPTIVE);
	for (int c = 0; c < netisr_ncpus(); c++) {
		netisr_set_mode(NETISR_MODE_BGL);
		ck_assert(probe(true, c));
		ck_assert(probe(false, c));
		netisr_set_mode(NETISR_MODE_ADAPTIVE);
		ck_assert(!probe(true, c));
		ck_assert(probe(false, c));
		netisr_set_mode(NETISR_MODE_NOBGL);
		ck_assert(!probe(true, c));
		ck_assert(!probe(false, c));
	}
	ck_assert_int_eq(netisr_stop(), 0);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* inline self domsg, service 0 -> 1, sync */

struct nest {
	struct netmsg_base nm;
	int target;		/* the cpu the handler domsgs */
	int inner_cpu;
};

static void
inner_handler(struct netmsg_base *nm)
{
	((struct nest *)nm)->inner_cpu = lwkt_mycpuid();
	lwkt_replymsg(&nm->lmsg, 42);
}

static void
outer_handler(struct netmsg_base *nm)
{
	struct nest *o = (struct nest *)nm;
	struct nest in;
	netmsg_init(&in.nm, NULL, NETMSGF_MPSAFE, inner_handler);
	int e = netisr_domsg(&in.nm, o->target);
	o->inner_cpu = in.inner_cpu;
	lwkt_replymsg(&nm->lmsg, e == 42 ? 0 : EIO);
}

static _Atomic int nest_done;

static void
nest_client(void *arg)
{
	(void)arg;
	int n = netisr_ncpus();
	for (int c = 0; c < n; c++) {
		struct nest o;
		netmsg_init(&o.nm, NULL, 0, outer_handler);
		o.target = c;		/* its own port: inline */
		ck_assert_int_eq(netisr_domsg(&o.nm, c), 0);
		ck_assert_int_eq(o.inner_cpu, c);
	}
	if (n > 1) {
		struct nest o;
		netmsg_init(&o.nm, NULL, 0, outer_handler);
		o.target = 1;		/* service 0 may wait for 1 */
		ck_assert_int_eq(netisr_domsg(&o.nm, 0), 0);
		ck_assert_int_eq(o.inner_cpu, 1);
	}
	ck_assert_int_eq(netisr_sync(), 0);	/* from an LWKT thread */
	atomic_store(&nest_done, 1);
}

START_TEST(t_inline_self_domsg_and_sync)
{
	lt_start(NULL);
	ck_assert_int_eq(netisr_start(NULL), 0);
	lwkt_thread_t td;
	ck_assert_int_eq(lwkt_create(nest_client, NULL, 0, 0, &td, "c"), 0);
	ck_assert_int_eq(lwkt_join(td), 0);
	ck_assert_int_eq(atomic_load(&nest_done), 1);
	ck_assert_int_eq(netisr_sync(), 0);	/* from outside */
	for (int c = 0; c < netisr_ncpus(); c++) {
		struct netisr_stats s;
		ck_assert_int_eq(netisr_stats(c, &s), 0);
		ck_assert_uint_ge(s.ns_inline, 1);
	}
	ck_assert_int_eq(netisr_stop(), 0);
	lwkt_shutdown();
}
END_TEST

/* Replies to a handler's own async sends come back to the service port:
 * the loop consumes them without dispatching. */
static struct netmsg_base echo_msg;

static void
echo_handler(struct netmsg_base *nm)
{
	lwkt_replymsg(&nm->lmsg, 0);
}

static void
fire_handler(struct netmsg_base *nm)
{
	/* No reply port: the reply comes to this service's port. */
	netmsg_init(&echo_msg, NULL, NETMSGF_MPSAFE, echo_handler);
	netisr_sendmsg(&echo_msg, netisr_ncpus() - 1);
	lwkt_replymsg(&nm->lmsg, 0);
}

START_TEST(t_replies_to_service_port)
{
	lt_start(NULL);
	ck_assert_int_eq(netisr_start(NULL), 0);
	struct netmsg_base m;
	netmsg_init(&m, NULL, 0, fire_handler);
	ck_assert_int_eq(netisr_domsg(&m, 0), 0);
	/* wait until service 0 has seen the echo's reply */
	struct netisr_stats s;
	do {
		ck_assert_int_eq(netisr_sync(), 0);
		netisr_stats(0, &s);
	} while (s.ns_replies_seen == 0);
	ck_assert_uint_eq(s.ns_replies_seen, 1);
	ck_assert(lwkt_msg_flags(&echo_msg.lmsg) & MSGF_DONE);
	ck_assert_int_eq(netisr_stop(), 0);
	lwkt_shutdown();
}
END_TEST

/* ---------------------------------------------------------------------- */
/* bad configs, misuse */

static void
nop_ru(void *arg)
{
	(void)arg;
}

START_TEST(t_bad_config)
{
	struct netisr_config cfg;
	netisr_config_default(&cfg);
	ck_assert_int_eq(netisr_start(&cfg), ESHUTDOWN);	/* no runtime */
	ck_assert_int_eq(netisr_stop(), ESRCH);
	ck_assert_int_eq(netisr_sync(), ESRCH);
	int n = lt_start(NULL);
	cfg.nc_ncpus = n + 1;
	ck_assert_int_eq(netisr_start(&cfg), EINVAL);
	netisr_config_default(&cfg);
	cfg.nc_batch = -1;
	ck_assert_int_eq(netisr_start(&cfg), EINVAL);
	netisr_config_default(&cfg);
	cfg.nc_mode = (enum netisr_mode)7;
	ck_assert_int_eq(netisr_start(&cfg), EINVAL);
	netisr_config_default(&cfg);
	cfg.nc_pri = LWKT_PRI_MAX + 1;
	ck_assert_int_eq(netisr_start(&cfg), EINVAL);
	ck_assert_int_eq(netisr_register_rollup(NULL, NULL), EINVAL);
	for (int i = 0; i < NETISR_MAXROLLUPS; i++)
		ck_assert_int_eq(netisr_register_rollup(nop_ru, NULL), 0);
	ck_assert_int_eq(netisr_register_rollup(nop_ru, NULL), ENOSPC);
	netisr_config_default(&cfg);
	cfg.nc_ncpus = 1;
	ck_assert_int_eq(netisr_start(&cfg), 0);
	ck_assert_int_eq(netisr_ncpus(), 1);
	ck_assert_int_eq(netisr_start(&cfg), EBUSY);
	ck_assert_int_eq(netisr_register_rollup(nop_ru, NULL), EBUSY);
	ck_assert_int_eq(netisr_clear_rollups(), EBUSY);
	struct netisr_stats s;
	ck_assert_int_eq(netisr_stats(1, &s), EINVAL);
	ck_assert_int_eq(netisr_stats(-1, &s), EINVAL);
	ck_assert_int_eq(netisr_hashcpu(12345), 0);
	ck_assert_int_eq(netisr_stop(), 0);
	ck_assert_int_eq(netisr_ncpus(), 0);
	ck_assert_int_eq(netisr_clear_rollups(), 0);
	lwkt_shutdown();
}
END_TEST

START_TEST(t_die_cpuport_stopped)
{
	netisr_cpuport(0);
}
END_TEST

START_TEST(t_die_no_handler)
{
	lt_start(NULL);
	ck_assert_int_eq(netisr_start(NULL), 0);
	struct netmsg_base m;
	lwkt_initmsg(&m.lmsg, NULL, 0);	/* not netmsg_init: no handler */
	m.nm_dispatch = NULL;
	lwkt_domsg(netisr_cpuport(0), &m.lmsg, 0);
}
END_TEST

static void
cross_handler(struct netmsg_base *nm)
{
	struct netmsg_base in;
	netmsg_init(&in, NULL, 0, echo_handler);
	netisr_domsg(&in, 0);		/* service 1 waits for 0: refused */
	lwkt_replymsg(&nm->lmsg, 0);
}

START_TEST(t_die_cross_service_domsg)
{
	if (lt_start(NULL) < 2) {
		skip("die_cross_service_domsg", "needs 2 PUs");
		abort();	/* the test expects SIGABRT */
	}
	ck_assert_int_eq(netisr_start(NULL), 0);
	struct netmsg_base m;
	netmsg_init(&m, NULL, 0, cross_handler);
	netisr_domsg(&m, 1);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the README example: it runs, and it is the README's text */

#define main readme_example_main
#include "test_netisr_readme.h"
#undef main

START_TEST(t_readme_example_runs)
{
	ck_assert_int_eq(readme_example_main(), 0);
	uint64_t sum = 0, ones = 0;
	for (int c = 0; c < LWKT_MAXCPU; c++)
		for (int k = 0; k < NKEYS; k++) {
			sum += table[c][k];
			ones += table[c][k] == 2;
		}
	ck_assert_uint_eq(sum, 16);	/* 8 keys, twice */
	ck_assert_uint_eq(ones, 8);	/* each key on one cpu only */
}
END_TEST

START_TEST(t_readme_example_matches)
{
	lt_readme_matches("netisr", "lwkt/tests/test_netisr_readme.h");
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "pipeline", 120);
	tcase_add_test(tc, t_pipeline_order_and_accounting);
	tcase_add_test(tc, t_mode_flip_atomic_token);
	tcase_add_test(tc, t_mode_flip_cpu_owned_token);
	tc = ltest_tcase(s, "semantics", 30);
	tcase_add_test(tc, t_mode_rules);
	tcase_add_test(tc, t_inline_self_domsg_and_sync);
	tcase_add_test(tc, t_replies_to_service_port);
	tcase_add_test(tc, t_bad_config);
	tcase_add_test(tc, t_readme_example_runs);
	tcase_add_test(tc, t_readme_example_matches);
	tc = ltest_tcase(s, "misuse", 10);
	tcase_add_test_raise_signal(tc, t_die_cpuport_stopped, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_no_handler, SIGABRT);
	tcase_add_test_raise_signal(tc, t_die_cross_service_domsg, SIGABRT);
}

LTEST_MAIN("netisr", add)
