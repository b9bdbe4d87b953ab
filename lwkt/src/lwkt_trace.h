/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_trace.h - the runtime's trace sites (private).
 *
 * Every costly step of the runtime calls LWKT_TRACE(event, args...).  The
 * event list below is the schema shared with trace/ (the LTTng-UST
 * provider `lwkt`, trace/lwkt_tp.h, loaded only when tracing) and viz/
 * (which joins send -> dispatch -> reply across cpus by these ids).  Ids:
 *   cpu      lwkt cpu index (0..ncpus-1), not the host PU number
 *   tid      lwkt thread id (unique per runtime, 0 = the cpu's idle/sched)
 *   ipi_id   per (src,dst) ring sequence number: (src, dst, ipi_id) unique
 *   msg_id   runtime-wide message sequence number, set at send
 *   port_id  runtime-wide port sequence number, set at port init
 *   tok      the token's address
 *
 *   runtime_init(ncpus)  runtime_shutdown(ncpus)   lwkt_init done /
 *                                           lwkt_shutdown starts; ids
 *                                           are unique per instance
 *   ipi_send(src, dst, ipi_id, func)        ring write done
 *   ipi_recv(src, dst, ipi_id, func)        target starts the callback
 *   ipi_done(src, dst, ipi_id)              callback returned
 *   ipi_ring_full(src, dst, fill)           sender found the ring full
 *   ipi_wake(src, dst, mode)                mode 0 futex, 1 signal
 *   idle_enter(cpu)  idle_sleep(cpu)  idle_exit(cpu)
 *   thread_create(cpu, tid, name)           name: the thread's name
 *   thread_switch(cpu, from_tid, to_tid)
 *   thread_exit(cpu, tid)
 *   crit_enter(cpu, tid)  crit_exit(cpu, tid)   outermost level only
 *   msg_send(msg_id, port_id, src, dst, tid, flags)
 *   msg_dispatch(msg_id, port_id, cpu, tid)
 *   msg_reply(msg_id, port_id, src, dst, tid, error)  src: replier cpu,
 *                                            dst: the reply port's cpu
 *   msg_wait_begin(msg_id, cpu, tid)  msg_wait_end(msg_id, cpu, tid)
 *   token_request(tok, cpu, tid)  token_transfer(tok, from_cpu, to_cpu)
 *   token_acquire(tok, cpu, tid)  token_release(tok, cpu, tid)
 *
 * Field types (trace/lwkt_tp.h): cpus uint32_t, ids uint64_t, func and
 * tok `const void *` (a function pointer needs a cast), name a C string
 * (NULL allowed), flags uint32_t, error and mode int.  Add an event here
 * and in trace/lwkt_tp.h together, and document it in trace/README.md.
 *
 * Cost: the tracepoints are defined with LTTng-UST dynamic linkage
 * (lwkt_trace.c): liblwkt needs only -ldl, the probes live in
 * liblwkt-tp.so, and a site whose event is not enabled by a session is
 * one load of the tracepoint's state and one not-taken branch; the
 * arguments are evaluated only when the event is enabled, so they may be
 * expressions with no side effects.  -DLWKT_TRACE_DISABLE compiles every
 * site out (the reference for the "unloaded adds <= 2%" target).
 */
#ifndef LWKT_SRC_TRACE_H
#define LWKT_SRC_TRACE_H

#ifdef LWKT_TRACE_DISABLE
/* The arguments stay "used" (no unused-variable errors) but are never
 * evaluated: the call sits in a dead branch. */
static inline void
_lwkt_trace_nop(int unused, ...)
{
	(void)unused;
}
#define LWKT_TRACE(event, ...)						\
	do { if (0) _lwkt_trace_nop(0, __VA_ARGS__); } while (0)
#else
/* Relative path: no -I needed by the objects that include it. */
#include "../../trace/lwkt_tp.h"
#define LWKT_TRACE(event, ...) lttng_ust_tracepoint(lwkt, event, __VA_ARGS__)
#endif

/* True when a session records `event` (e.g. to skip computing costly
 * arguments); always false with LWKT_TRACE_DISABLE. */
#ifdef LWKT_TRACE_DISABLE
#define LWKT_TRACE_ENABLED(event) 0
#else
#define LWKT_TRACE_ENABLED(event) lttng_ust_tracepoint_enabled(lwkt, event)
#endif

#endif /* LWKT_SRC_TRACE_H */
