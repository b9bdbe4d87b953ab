/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netisr.c - protocol service threads on the public message API (our
 * code; the shape is DragonFly's sys/net/netisr.c netmsg_service_loop,
 * netisr_domsg_port and the 2008 mpsafe modes of the protocol threads).
 * Each service thread waits on its own thread port, handles up to a batch
 * of messages, then runs the rollups; a non-MPSAFE handler holds the
 * big-lock token.
 *
 * Built only on lwkt/msgport.h, thread.h and token.h: a service is what a
 * user of the runtime could write, which is the point of the exercise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwkt/arch.h"
#include "lwkt/cpu.h"
#include "lwkt/netisr.h"
#include "lwkt/thread.h"
#include "lwkt_trace.h"

#define NETISR_BATCH_DEFAULT 512	/* DragonFly netmsg_service_loop */

/*
 * One service.  Ownership:
 *   nc_td, nc_port, nc_inline   written by netisr_start before the
 *                               service count is published (release on
 *                               ni_ncpus); read-only while running.
 *   nc_stop                     the service thread only (set by the stop
 *                               handler, which runs on that thread).
 *   nc_st                       the service thread only, relaxed stores
 *                               (no RMW); others read relaxed.
 * One cache line per service at least: the services never share a line.
 */
struct netisr_cpu {
	_Alignas(LWKT_CACHELINE) lwkt_thread_t nc_td;
	lwkt_port_t nc_port;
	struct lwkt_port nc_inline;	/* function port: handler runs in
					 * the sender (self domsg) */
	bool nc_stop;
	struct {
		_Atomic uint64_t dispatched, inl, bgl, batches, replies,
			max_batch;
	} nc_st;
};

static struct netisr_cpu ni_cpu[LWKT_MAXCPU];
/*
 * Service count: 0 when stopped.  Stored with release by netisr_start
 * after every nc_* field above is set; loaded with acquire by the lookups,
 * so a sender that sees n > 0 sees the ports.  netisr_stop stores 0 after
 * the threads exited.
 */
static _Atomic int ni_ncpus;
static int ni_batch;			/* set by start, read-only after */
/* The mode: any thread stores (relaxed: a flip needs no ordering with
 * other data, each message reads it once before its handler). */
static _Atomic int ni_mode = NETISR_MODE_ADAPTIVE;
static struct lwkt_token ni_bgl;	/* initialized by netisr_start */
static bool ni_running;			/* start/stop callers only */
/* Services whose counters netisr_stats reports: set by start (before the
 * threads exist), kept after stop so the final counts can be read. */
static _Atomic int ni_nstat;

/* Rollups: changed only while stopped (before the threads are created,
 * so thread creation orders them before every read). */
static struct {
	netisr_ru_t ru_fn;
	void *ru_arg;
} ni_ru[NETISR_MAXROLLUPS];
static int ni_nru;

static _Noreturn void __attribute__((format(printf, 1, 2)))
netisr_panic(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "netisr panic (cpu %d, thread '%s'): ",
		lwkt_mycpuid(),
		lwkt_curthread() ? lwkt_thread_name(lwkt_curthread()) : "-");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static inline void
st_inc(_Atomic uint64_t *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + by, memory_order_relaxed);
}

/* ---------------------------------------------------------------------- */
/* dispatch */

/*
 * Runs nm's handler on service nc, holding the big lock when the mode and
 * the message's MPSAFE flag say so.  The flag and the mode are read before
 * the handler: after it, nm belongs to whoever it was replied to.
 */
static inline void
netisr_dispatch(struct netisr_cpu *nc, struct netmsg_base *nm, bool inl)
{
	uint32_t f = lwkt_msg_flags(&nm->lmsg);
	int mode = atomic_load_explicit(&ni_mode, memory_order_relaxed);
	bool bgl = mode == NETISR_MODE_BGL ||
		   (mode == NETISR_MODE_ADAPTIVE && !(f & NETMSGF_MPSAFE));
	netisr_fn_t fn = nm->nm_dispatch;

	if (__builtin_expect(fn == NULL, 0))
		netisr_panic("message %p (id %#llx, flags %#x) reached the "
			     "service of cpu %d without a handler (netmsg_init "
			     "sets one)", (void *)nm,
			     (unsigned long long)nm->lmsg.ms_id, f,
			     (int)(nc - ni_cpu));
	LWKT_TRACE(netisr_dispatch_begin, (const void *)nm,
		   (uint32_t)(nc - ni_cpu), (uint8_t)!bgl);
	/* Counted before the handler: once its reply is seen, the counts
	 * include it. */
	st_inc(&nc->nc_st.dispatched, 1);
	if (bgl)
		st_inc(&nc->nc_st.bgl, 1);
	if (inl)
		st_inc(&nc->nc_st.inl, 1);
	if (bgl)
		lwkt_gettoken(&ni_bgl);
	fn(nm);			/* nm is not ours after this */
	if (bgl)
		lwkt_reltoken(&ni_bgl);
	LWKT_TRACE(netisr_dispatch_end, (const void *)nm);
}

/* The service loop (DragonFly netmsg_service_loop): a batch, then the
 * rollups. */
static void
netisr_loop(void *arg)
{
	struct netisr_cpu *nc = arg;
	lwkt_port_t port = lwkt_thread_port(NULL);
	uint32_t cpu = (uint32_t)(nc - ni_cpu);
	int batch = ni_batch;

	while (!nc->nc_stop) {
		lwkt_msg_t m = lwkt_waitport(port, 0);
		uint64_t n = 0;
		do {
			if (lwkt_msg_flags(m) & MSGF_REPLY) {
				/* A reply to one of our handlers' async
				 * sends: already DONE, nothing to run. */
				st_inc(&nc->nc_st.replies, 1);
				continue;
			}
			netisr_dispatch(nc, (struct netmsg_base *)m, false);
			if (++n >= (uint64_t)batch || nc->nc_stop)
				break;
		} while ((m = lwkt_getport(port)) != NULL);
		for (int i = 0; i < ni_nru; i++)
			ni_ru[i].ru_fn(ni_ru[i].ru_arg);
		LWKT_TRACE(netisr_rollup, cpu, (uint32_t)n);
		st_inc(&nc->nc_st.batches, 1);
		if (n > atomic_load_explicit(&nc->nc_st.max_batch,
					     memory_order_relaxed))
			atomic_store_explicit(&nc->nc_st.max_batch, n,
					      memory_order_relaxed);
	}
}

/* The inline port's beginmsg: the sender is the service thread itself
 * (self domsg).  The handler replies (DONE, lwkt_domsg returns at once)
 * or forwards the message (lwkt_domsg waits for that reply). */
static int
netisr_inline_put(lwkt_port_t port, lwkt_msg_t m)
{
	netisr_dispatch(port->mp_u.data, (struct netmsg_base *)m, true);
	return EASYNC;
}

static void
netisr_stop_handler(struct netmsg_base *nm)
{
	ni_cpu[lwkt_mycpuid()].nc_stop = true;
	lwkt_replymsg(&nm->lmsg, 0);
}

static void
netisr_sync_handler(struct netmsg_base *nm)
{
	lwkt_replymsg(&nm->lmsg, 0);
}

/* ---------------------------------------------------------------------- */
/* lookups */

static inline int
ncpus_acq(void)
{
	return atomic_load_explicit(&ni_ncpus, memory_order_acquire);
}

int
netisr_ncpus(void)
{
	return ncpus_acq();
}

lwkt_port_t
netisr_cpuport(int cpu)
{
	int n = ncpus_acq();
	if (__builtin_expect(cpu < 0 || cpu >= n, 0))
		netisr_panic("netisr_cpuport(%d): %s", cpu,
			     n == 0 ? "the netisr service is not running"
				    : "no service on that cpu");
	return ni_cpu[cpu].nc_port;
}

int
netisr_hashcpu(uint32_t hash)
{
	int n = ncpus_acq();
	if (__builtin_expect(n == 0, 0))
		netisr_panic("netisr_hashcpu: the netisr service is not "
			     "running");
	return (int)(hash % (uint32_t)n);
}

lwkt_port_t
netisr_hashport(uint32_t hash)
{
	return ni_cpu[netisr_hashcpu(hash)].nc_port;
}

/* The service the running thread is, or -1. */
static inline int
my_service(void)
{
	int me = lwkt_mycpuid();
	if (me < 0 || me >= ncpus_acq() || ni_cpu[me].nc_td != lwkt_curthread())
		return -1;
	return me;
}

bool
netisr_in_service(int cpu)
{
	int me = my_service();
	return me >= 0 && me == cpu;
}

/* ---------------------------------------------------------------------- */
/* messages */

void
netmsg_init(struct netmsg_base *nm, lwkt_port_t rport, uint32_t flags,
	    netisr_fn_t dispatch)
{
	if (nm == NULL || dispatch == NULL)
		netisr_panic("netmsg_init: NULL message (%p) or handler",
			     (void *)nm);
	lwkt_initmsg(&nm->lmsg, rport, flags);
	nm->nm_dispatch = dispatch;
}

void
netisr_sendmsg(struct netmsg_base *nm, int cpu)
{
	lwkt_sendmsg(netisr_cpuport(cpu), &nm->lmsg);
}

int
netisr_domsg_port(struct netmsg_base *nm, lwkt_port_t port)
{
	int me = my_service();
	if (me >= 0) {
		if (port == ni_cpu[me].nc_port)
			return lwkt_domsg(&ni_cpu[me].nc_inline, &nm->lmsg, 0);
		if (me != 0) {
			int n = ncpus_acq();
			for (int i = 0; i < n; i++)
				if (ni_cpu[i].nc_port == port)
					netisr_panic("netisr_domsg: service %d "
						     "may not wait for service "
						     "%d (two services waiting "
						     "for each other deadlock; "
						     "only service 0 may)",
						     me, i);
		}
	}
	return lwkt_domsg(port, &nm->lmsg, 0);
}

int
netisr_domsg(struct netmsg_base *nm, int cpu)
{
	return netisr_domsg_port(nm, netisr_cpuport(cpu));
}

int
netisr_sync(void)
{
	int n = ncpus_acq();
	if (n == 0)
		return ESRCH;
	for (int i = 0; i < n; i++) {
		struct netmsg_base m;
		netmsg_init(&m, NULL, NETMSGF_MPSAFE, netisr_sync_handler);
		int e = netisr_domsg(&m, i);
		if (e != 0)
			return e;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* modes, counters */

void
netisr_set_mode(enum netisr_mode mode)
{
	if (mode != NETISR_MODE_BGL && mode != NETISR_MODE_ADAPTIVE &&
	    mode != NETISR_MODE_NOBGL)
		netisr_panic("netisr_set_mode(%d): not a mode", (int)mode);
	atomic_store_explicit(&ni_mode, (int)mode, memory_order_relaxed);
}

enum netisr_mode
netisr_get_mode(void)
{
	return (enum netisr_mode)atomic_load_explicit(&ni_mode,
						      memory_order_relaxed);
}

struct lwkt_token *
netisr_bgl(void)
{
	return &ni_bgl;
}

int
netisr_stats(int cpu, struct netisr_stats *out)
{
	if (cpu < 0 || out == NULL ||
	    cpu >= atomic_load_explicit(&ni_nstat, memory_order_relaxed))
		return EINVAL;
	struct netisr_cpu *nc = &ni_cpu[cpu];
#define RD(x) atomic_load_explicit(&nc->nc_st.x, memory_order_relaxed)
	out->ns_dispatched = RD(dispatched);
	out->ns_inline = RD(inl);
	out->ns_bgl = RD(bgl);
	out->ns_batches = RD(batches);
	out->ns_replies_seen = RD(replies);
	out->ns_max_batch = RD(max_batch);
#undef RD
	return 0;
}

/* ---------------------------------------------------------------------- */
/* start, stop, rollups */

void
netisr_config_default(struct netisr_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->nc_batch = NETISR_BATCH_DEFAULT;
	cfg->nc_mode = NETISR_MODE_ADAPTIVE;
	cfg->nc_pri = LWKT_PRI_NORMAL;
}

int
netisr_register_rollup(netisr_ru_t fn, void *arg)
{
	if (fn == NULL)
		return EINVAL;
	if (ni_running)
		return EBUSY;
	if (ni_nru == NETISR_MAXROLLUPS)
		return ENOSPC;
	ni_ru[ni_nru].ru_fn = fn;
	ni_ru[ni_nru].ru_arg = arg;
	ni_nru++;
	return 0;
}

int
netisr_clear_rollups(void)
{
	if (ni_running)
		return EBUSY;
	ni_nru = 0;
	return 0;
}

/* Stops services 0..n-1 (their threads exist) and joins them. */
static void
stop_services(int n)
{
	for (int i = 0; i < n; i++) {
		struct netmsg_base q;
		netmsg_init(&q, NULL, NETMSGF_MPSAFE, netisr_stop_handler);
		lwkt_domsg(ni_cpu[i].nc_port, &q.lmsg, 0);
	}
	for (int i = 0; i < n; i++) {
		lwkt_join(ni_cpu[i].nc_td);
		ni_cpu[i].nc_td = NULL;
		ni_cpu[i].nc_port = NULL;
	}
}

int
netisr_start(const struct netisr_config *cfg)
{
	struct netisr_config def;
	if (cfg == NULL) {
		netisr_config_default(&def);
		cfg = &def;
	}
	int total = lwkt_ncpus();
	if (total == 0) {
		fprintf(stderr, "netisr_start: the LWKT runtime is not "
			"running (lwkt_init first)\n");
		return ESHUTDOWN;
	}
	if (ni_running)
		return EBUSY;
	int n = cfg->nc_ncpus == 0 ? total : cfg->nc_ncpus;
	int pri = cfg->nc_pri == 0 ? LWKT_PRI_NORMAL : cfg->nc_pri;
	if (n < 0 || n > total || cfg->nc_batch < 0 ||
	    pri < LWKT_PRI_MIN || pri > LWKT_PRI_MAX ||
	    (cfg->nc_mode != NETISR_MODE_BGL &&
	     cfg->nc_mode != NETISR_MODE_ADAPTIVE &&
	     cfg->nc_mode != NETISR_MODE_NOBGL)) {
		fprintf(stderr, "netisr_start: bad config (ncpus %d of %d, "
			"batch %d, mode %d, pri %d)\n", cfg->nc_ncpus, total,
			cfg->nc_batch, (int)cfg->nc_mode, cfg->nc_pri);
		return EINVAL;
	}
	ni_batch = cfg->nc_batch == 0 ? NETISR_BATCH_DEFAULT : cfg->nc_batch;
	atomic_store_explicit(&ni_mode, (int)cfg->nc_mode,
			      memory_order_relaxed);
	int e = lwkt_token_init(&ni_bgl, LWKT_TOKEN_DEFAULT, "netisr_bgl");
	if (e != 0)
		return e;
	atomic_store_explicit(&ni_nstat, n, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		struct netisr_cpu *nc = &ni_cpu[i];
		memset(&nc->nc_st, 0, sizeof nc->nc_st);
		nc->nc_stop = false;
		lwkt_initport_func(&nc->nc_inline, netisr_inline_put, nc);
		char name[32];
		snprintf(name, sizeof name, "netisr_cpu %d", i);
		e = lwkt_create_pri(netisr_loop, nc, i, 0, pri, &nc->nc_td,
				    name);
		if (e != 0) {
			stop_services(i);
			return e;
		}
		nc->nc_port = lwkt_thread_port(nc->nc_td);
	}
	ni_running = true;
	/* Publishes nc_td/nc_port/nc_inline: pairs with ncpus_acq(). */
	atomic_store_explicit(&ni_ncpus, n, memory_order_release);
	return 0;
}

int
netisr_stop(void)
{
	if (!ni_running)
		return ESRCH;
	if (my_service() >= 0)
		netisr_panic("netisr_stop from a service thread: it would "
			     "wait for itself");
	int n = ncpus_acq();
	stop_services(n);
	atomic_store_explicit(&ni_ncpus, 0, memory_order_release);
	ni_running = false;
	return 0;
}
