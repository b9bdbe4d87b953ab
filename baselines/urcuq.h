/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcuq.h - the liburcu baselines: the read-mostly table under the
 * urcu-memb and urcu-qsbr flavours (updates by copy + publish +
 * synchronize_rcu or call_rcu), its rcutorture-style stress mode, and a
 * message queue over cds_wfcq woken by a futex.
 */
#ifndef LWKT_BASELINES_URCUQ_H
#define LWKT_BASELINES_URCUQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * _LGPL_SOURCE inlines liburcu's read side and queue fast paths, as an
 * expert user builds them.  Not under ThreadSanitizer: liburcu 0.13's
 * inline code uses volatile accesses and asm for its atomics, which TSan
 * would instrument as plain accesses and report as races inside liburcu
 * (e.g. the gp futex word in the read-unlock wake-up).  TSan builds call
 * the out-of-line functions of the (uninstrumented) shared libraries
 * instead, and carry happens-before with annotations (urcuq_tsan.h).
 */
#if !defined(__SANITIZE_THREAD__) && !defined(_LGPL_SOURCE)
#define _LGPL_SOURCE 1
#endif
/* The blocking wfcqueue calls sleep 10 ms (poll) after 10 spins when they
 * meet an enqueue in progress; that would wreck every latency figure.
 * Keep spinning instead (TOOLCHAIN.md, liburcu 0.13). */
#define CDS_WFCQ_WAIT_SLEEP(msec) caa_cpu_relax()
#include <urcu/wfcqueue.h>

#include "lwkt/arch.h"

/* ---- stress mode (rcutorture's method, tests/regression/rcutorture.h) --
 * Readers take a read-side section, load a table slot, read the entry's
 * age twice (at the start and at the end of the section, with a random
 * delay between) and count the age seen at the end in a histogram.  The
 * updater replaces entries: the removed one gets age 1; after a grace
 * period, 2; it then waits URCUQ_AGE_MAX more grace periods in quarantine
 * (age growing) before it is really freed.  A reader that sees age >= 2
 * held an entry across a whole grace period: RCU broke its guarantee.
 * The quarantine also keeps such an entry readable so the bug shows as a
 * count, not a crash (ASan would still flag a real use after free). */
#define URCUQ_AGE_MAX 8

enum urcuq_flavour { URCUQ_MEMB, URCUQ_QSBR };
enum urcuq_reclaim {
	URCUQ_SYNC,		/* synchronize_rcu() then free */
	URCUQ_CALL_RCU,		/* call_rcu(free) */
	/* Stress mode only, the negative control: "reclaim" with NO grace
	 * period (entries are aged as if one had passed, never freed
	 * before the readers stop).  The histogram must show ages >= 2. */
	URCUQ_BROKEN_NO_GP,
};

struct urcuq_stress_cfg {
	enum urcuq_flavour sc_flavour;
	enum urcuq_reclaim sc_reclaim;
	unsigned sc_readers;		/* 1..16 reader threads */
	unsigned sc_duration_ms;	/* 1..60000 */
	unsigned sc_max_delay;		/* max pauses inside a section */
};

struct urcuq_stress_result {
	uint64_t sr_age_hist[URCUQ_AGE_MAX + 2];  /* [age], last: beyond */
	uint64_t sr_reads;
	uint64_t sr_updates;
	uint64_t sr_torn;		/* entries whose check word mismatched */
	uint64_t sr_freed;		/* entries really freed */
};

/* Runs the stress test; 0, or EINVAL for a bad cfg (nothing run), or an
 * errno from thread creation.  The result is valid when 0 is returned. */
int urcuq_stress(const struct urcuq_stress_cfg *cfg,
		 struct urcuq_stress_result *res);
/* The per-flavour implementations behind urcuq_stress(). */
int urcuq_memb_stress(const struct urcuq_stress_cfg *cfg,
		      struct urcuq_stress_result *res);
int urcuq_qsbr_stress(const struct urcuq_stress_cfg *cfg,
		      struct urcuq_stress_result *res);

/* ---- messaging over cds_wfcq ----------------------------------------
 * Any number of senders (wait-free enqueue), ONE receiver.  The receiver
 * polls, spins up to wq_spin_ns, then sleeps on wq_sleeping.  Wake-up is a
 * Dekker pair with a full fence on both sides:
 *   sender:   enqueue (an xchg on the tail: full barrier) ; load sleeping
 *   receiver: store sleeping = 1 (seq_cst) ; re-check the queue ; wait
 * so either the sender sees sleeping == 1 and wakes, or the receiver sees
 * the new node and does not sleep.
 */
struct urcuq_msg {
	struct cds_wfcq_node um_node;
	uint64_t um_val;
};

struct urcuq_wfcq {
	_Alignas(LWKT_CACHELINE) struct __cds_wfcq_head wq_head; /* receiver */
	_Alignas(LWKT_CACHELINE) struct cds_wfcq_tail wq_tail;	 /* senders */
	/* 1 while the receiver is asleep or about to sleep: set by the
	 * receiver (seq_cst), cleared by the waking sender (seq_cst xchg)
	 * or by the receiver when its re-check finds work. */
	_Alignas(LWKT_CACHELINE) _Atomic uint32_t wq_sleeping;
	uint64_t wq_spin_ns;		/* constant */
	_Atomic uint64_t wq_wakes;	/* futex wakes sent (relaxed: statistics) */
};

void urcuq_wfcq_init(struct urcuq_wfcq *q, uint64_t spin_ns);
void urcuq_wfcq_destroy(struct urcuq_wfcq *q);
/* Enqueues m (wait-free) and wakes the receiver if it sleeps.  m must not
 * be on any queue.  Callable from any thread. */
void urcuq_wfcq_send(struct urcuq_wfcq *q, struct urcuq_msg *m);
/* Receiver only: the oldest message, blocking while empty. */
struct urcuq_msg *urcuq_wfcq_recv(struct urcuq_wfcq *q);
/* Receiver only: the oldest message or NULL, never blocks. */
struct urcuq_msg *urcuq_wfcq_tryrecv(struct urcuq_wfcq *q);

#endif /* LWKT_BASELINES_URCUQ_H */
