/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * serialize.c - the serializer (lwkt/serialize.h; DragonFly's
 * kern/lwkt_serialize.c contract, our code): an exchange-based lock
 * whose waiters keep their cpu's IPIs running and yield to the holder.
 */
#include "lwkt/serialize.h"
#include "lwkt_priv.h"

static void *
ser_self(void)
{
	struct lwkt_cpu *gd = _lwkt_need_cpu("lwkt_serialize_enter");
	return gd->gd_curthread;
}

void
lwkt_serialize_init(struct lwkt_serialize *s)
{
	atomic_store_explicit(&s->ls_lock, 0, memory_order_relaxed);
	atomic_store_explicit(&s->ls_owner, NULL, memory_order_relaxed);
}

bool
lwkt_serialize_try(struct lwkt_serialize *s)
{
	void *me = ser_self();
	/* acquire: pairs with lwkt_serialize_exit's release. */
	if (atomic_exchange_explicit(&s->ls_lock, 1, memory_order_acquire))
		return false;
	atomic_store_explicit(&s->ls_owner, me, memory_order_relaxed);
	return true;
}

void
lwkt_serialize_enter(struct lwkt_serialize *s)
{
	while (!lwkt_serialize_try(s)) {
		struct lwkt_cpu *gd = mycpu();
		struct lwkt_thread *td = gd->gd_curthread;
		/* The holder may be a thread of this cpu that blocked, or
		 * wait for one of our IPIs: let both happen. */
		if (td->td_critcount == 0 && !(td->td_flags & TDF_IDLE)) {
			lwkt_yield();
		} else {
			_lwkt_crit_enter(td);
			_lwkt_poll_pending(gd);
			/* No poll: everything pending just ran, and the
			 * loop polls again before its next try. */
			_lwkt_crit_exit_noyield(td);
		}
		lwkt_cpu_relax();
	}
}

void
lwkt_serialize_exit(struct lwkt_serialize *s)
{
	void *me = ser_self();
	if (atomic_load_explicit(&s->ls_owner, memory_order_relaxed) != me)
		lwkt_panic("lwkt_serialize_exit: serializer %p not held by "
			   "this thread", (void *)s);
	atomic_store_explicit(&s->ls_owner, NULL, memory_order_relaxed);
	atomic_store_explicit(&s->ls_lock, 0, memory_order_release);
}

/* True if the calling thread holds s (misuse checks of the port). */
bool
_lwkt_serialize_held(struct lwkt_serialize *s)
{
	return atomic_load_explicit(&s->ls_owner, memory_order_relaxed) ==
	       ser_self();
}
