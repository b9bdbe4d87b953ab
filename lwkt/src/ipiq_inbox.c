/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipiq_inbox.c - the injection inbox: how a thread outside LWKT (main, a
 * test driver) sends an IPI to a cpu.  It has no ring of its own (rings
 * are per cpu pair), so each cpu has a mutex-protected list it polls
 * beside its rings.  Not on any measured path.
 */
#include "lwkt_priv.h"

void
_lwkt_inbox_init(struct lwkt_cpu *gd)
{
	pthread_mutex_init(&gd->gd_inbox_lock, NULL);
}

void
_lwkt_inbox_fini(struct lwkt_cpu *gd)
{
	struct lwkt_inbox_item *it = gd->gd_inbox_head;
	while (it) {
		struct lwkt_inbox_item *next = it->ii_next;
		free(it);
		it = next;
	}
	gd->gd_inbox_head = gd->gd_inbox_tail = NULL;
	pthread_mutex_destroy(&gd->gd_inbox_lock);
}

void
_lwkt_inbox_push(struct lwkt_cpu *to, lwkt_ipifunc_t f, void *a1, void *a2)
{
	struct lwkt_inbox_item *it = malloc(sizeof *it);
	if (it == NULL)
		lwkt_panic("inbox: out of memory");
	it->ii_next = NULL;
	it->ii_func = f;
	it->ii_arg1 = a1;
	it->ii_arg2 = a2;
	pthread_mutex_lock(&to->gd_inbox_lock);
	if (to->gd_inbox_tail)
		to->gd_inbox_tail->ii_next = it;
	else
		to->gd_inbox_head = it;
	to->gd_inbox_tail = it;
	atomic_store_explicit(&to->gd_inbox_any, 1, memory_order_relaxed);
	pthread_mutex_unlock(&to->gd_inbox_lock);
	/* Full fence inside: the outside sender is symmetric. */
	_lwkt_wake_cpu(NULL, to);
}

int
_lwkt_inbox_process(struct lwkt_cpu *gd)
{
	if (!atomic_load_explicit(&gd->gd_inbox_any, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&gd->gd_inbox_lock);
	struct lwkt_inbox_item *it = gd->gd_inbox_head;
	gd->gd_inbox_head = gd->gd_inbox_tail = NULL;
	atomic_store_explicit(&gd->gd_inbox_any, 0, memory_order_relaxed);
	pthread_mutex_unlock(&gd->gd_inbox_lock);
	int n = 0;
	while (it) {
		struct lwkt_inbox_item *next = it->ii_next;
		it->ii_func(it->ii_arg1, it->ii_arg2);
		free(it);
		it = next;
		n++;
	}
	return n;
}
