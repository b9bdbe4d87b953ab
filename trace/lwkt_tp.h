/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwkt_tp.h - the LTTng-UST provider `lwkt`: one event per costly step of
 * the runtime (and the matching steps of the baselines).  The probes are
 * built into their own shared object (build/liblwkt-tp.so) that is loaded
 * only when tracing; the runtime defines the tracepoints with dynamic
 * linkage (lwkt/src/lwkt_trace.c), so an untraced site is one load and one
 * predictable branch.
 *
 * Ids (trace/README.md is the reference for the viz):
 *   cpu, src, dst, from_cpu, to_cpu   lwkt cpu index, not the host PU
 *   tid       lwkt thread id, unique per runtime (0: the cpu's scheduler)
 *   ipi_id    per (src,dst) ring sequence: (src, dst, ipi_id) is unique
 *   msg_id    runtime-wide message sequence number, set at send
 *   port_id   runtime-wide port sequence number, set at port init
 *   tok, q    object addresses (hex), stable for the object's life
 *
 * Field types are fixed-width so the CTF metadata does not depend on the
 * caller's types; the callers' arguments convert implicitly.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER lwkt

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lwkt_tp.h"

#if !defined(LWKT_TRACE_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LWKT_TRACE_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

/* ---- runtime instances --------------------------------------------- */

/* lwkt_init started ncpus cpus / lwkt_shutdown stopped them.  A process
 * may run several runtimes one after the other (a benchmark per run):
 * ids (ipi_id, msg_id, port_id, tid) are unique within one instance. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, runtime_class,
	LTTNG_UST_TP_ARGS(uint32_t, ncpus),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, ncpus, ncpus)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, runtime_class, lwkt, runtime_init,
	LTTNG_UST_TP_ARGS(uint32_t, ncpus))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, runtime_class, lwkt, runtime_shutdown,
	LTTNG_UST_TP_ARGS(uint32_t, ncpus))

/* ---- IPI queues ---------------------------------------------------- */

/* ipi_send: the sender's ring write is published; ipi_recv: the target
 * starts the callback.  Join: (src, dst, ipi_id). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, ipi_class,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, uint64_t, ipi_id,
			  const void *, func),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_integer(uint64_t, ipi_id, ipi_id)
		lttng_ust_field_integer_hex(uintptr_t, func, (uintptr_t)func)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, ipi_class, lwkt, ipi_send,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, uint64_t, ipi_id,
			  const void *, func))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, ipi_class, lwkt, ipi_recv,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, uint64_t, ipi_id,
			  const void *, func))

/* The callback of (src, dst, ipi_id) returned (on cpu dst). */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, ipi_done,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, uint64_t, ipi_id),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_integer(uint64_t, ipi_id, ipi_id)))

/* The sender found the (src, dst) ring full with `fill` entries. */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, ipi_ring_full,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, uint32_t, fill),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_integer(uint32_t, fill, fill)))

/* The sender woke the target: mode 0 futex, 1 signal (pthread_kill). */
LTTNG_UST_TRACEPOINT_ENUM(lwkt, wake_mode,
	LTTNG_UST_TP_ENUM_VALUES(
		lttng_ust_field_enum_value("futex", 0)
		lttng_ust_field_enum_value("signal", 1)))
LTTNG_UST_TRACEPOINT_EVENT(lwkt, ipi_wake,
	LTTNG_UST_TP_ARGS(uint32_t, src, uint32_t, dst, int, mode),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_enum(lwkt, wake_mode, int, mode, mode)))

/* ---- cpu idle ------------------------------------------------------ */

/* idle_enter: nothing runnable, spin starts; idle_sleep: the spin budget
 * is spent, the cpu sleeps on its futex; idle_exit: it runs again. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, cpu_class,
	LTTNG_UST_TP_ARGS(uint32_t, cpu),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, cpu, cpu)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_class, lwkt, idle_enter,
	LTTNG_UST_TP_ARGS(uint32_t, cpu))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_class, lwkt, idle_sleep,
	LTTNG_UST_TP_ARGS(uint32_t, cpu))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_class, lwkt, idle_exit,
	LTTNG_UST_TP_ARGS(uint32_t, cpu))

/* ---- threads and critical sections --------------------------------- */

LTTNG_UST_TRACEPOINT_EVENT(lwkt, thread_create,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, tid, const char *, name),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, tid, tid)
		lttng_ust_field_string(name, name ? name : "")))

LTTNG_UST_TRACEPOINT_EVENT(lwkt, thread_switch,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, from_tid, uint64_t, to_tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, from_tid, from_tid)
		lttng_ust_field_integer(uint64_t, to_tid, to_tid)))

/* thread_exit, and crit_enter/crit_exit at the outermost level only. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, cpu_tid_class,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, tid, tid)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_tid_class, lwkt, thread_exit,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, tid))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_tid_class, lwkt, crit_enter,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, tid))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, cpu_tid_class, lwkt, crit_exit,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint64_t, tid))

/* ---- messages ------------------------------------------------------ */

/* src: the sender's cpu, dst: the target port's cpu. */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, msg_send,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint64_t, port_id, uint32_t, src,
			  uint32_t, dst, uint64_t, tid, uint32_t, flags),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg_id, msg_id)
		lttng_ust_field_integer(uint64_t, port_id, port_id)
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_integer(uint64_t, tid, tid)
		lttng_ust_field_integer_hex(uint32_t, flags, flags)))

/* The handler (port owner or function port) starts on cpu `cpu`. */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, msg_dispatch,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint64_t, port_id, uint32_t, cpu,
			  uint64_t, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg_id, msg_id)
		lttng_ust_field_integer(uint64_t, port_id, port_id)
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, tid, tid)))

/* src: the replier's cpu, dst: the reply port's cpu; port_id: the reply
 * port. */
LTTNG_UST_TRACEPOINT_EVENT(lwkt, msg_reply,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint64_t, port_id, uint32_t, src,
			  uint32_t, dst, uint64_t, tid, int32_t, error),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg_id, msg_id)
		lttng_ust_field_integer(uint64_t, port_id, port_id)
		lttng_ust_field_integer(uint32_t, src, src)
		lttng_ust_field_integer(uint32_t, dst, dst)
		lttng_ust_field_integer(uint64_t, tid, tid)
		lttng_ust_field_integer(int32_t, error, error)))

/* A thread blocks for the reply of msg_id (begin) and gets it (end). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, msg_wait_class,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint32_t, cpu, uint64_t, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg_id, msg_id)
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, tid, tid)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, msg_wait_class, lwkt, msg_wait_begin,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint32_t, cpu, uint64_t, tid))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, msg_wait_class, lwkt, msg_wait_end,
	LTTNG_UST_TP_ARGS(uint64_t, msg_id, uint32_t, cpu, uint64_t, tid))

/* ---- tokens -------------------------------------------------------- */

LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, token_class,
	LTTNG_UST_TP_ARGS(const void *, tok, uint32_t, cpu, uint64_t, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uintptr_t, tok, (uintptr_t)tok)
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, tid, tid)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, token_class, lwkt, token_request,
	LTTNG_UST_TP_ARGS(const void *, tok, uint32_t, cpu, uint64_t, tid))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, token_class, lwkt, token_acquire,
	LTTNG_UST_TP_ARGS(const void *, tok, uint32_t, cpu, uint64_t, tid))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, token_class, lwkt, token_release,
	LTTNG_UST_TP_ARGS(const void *, tok, uint32_t, cpu, uint64_t, tid))

LTTNG_UST_TRACEPOINT_EVENT(lwkt, token_transfer,
	LTTNG_UST_TP_ARGS(const void *, tok, uint32_t, from_cpu,
			  uint32_t, to_cpu),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uintptr_t, tok, (uintptr_t)tok)
		lttng_ust_field_integer(uint32_t, from_cpu, from_cpu)
		lttng_ust_field_integer(uint32_t, to_cpu, to_cpu)))

/* ---- baselines (baselines/bl_trace.h) ------------------------------ */

/* mutexq: (queue_id, seq) joins an enqueue to its dequeue; cpu is the
 * host PU of the caller (-1 unknown), not an lwkt cpu. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, mutexq_class,
	LTTNG_UST_TP_ARGS(uint64_t, queue_id, int32_t, cpu, uint64_t, seq),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, queue_id, queue_id)
		lttng_ust_field_integer(int32_t, cpu, cpu)
		lttng_ust_field_integer(uint64_t, seq, seq)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, mutexq_class, lwkt, mutexq_enqueue,
	LTTNG_UST_TP_ARGS(uint64_t, queue_id, int32_t, cpu, uint64_t, seq))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, mutexq_class, lwkt, mutexq_dequeue,
	LTTNG_UST_TP_ARGS(uint64_t, queue_id, int32_t, cpu, uint64_t, seq))

LTTNG_UST_TRACEPOINT_EVENT(lwkt, mutexq_wake,
	LTTNG_UST_TP_ARGS(uint64_t, queue_id, int32_t, src_cpu, int32_t, dst_cpu),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, queue_id, queue_id)
		lttng_ust_field_integer(int32_t, src_cpu, src_cpu)
		lttng_ust_field_integer(int32_t, dst_cpu, dst_cpu)))

/* MPI: (sender rank, receiver rank, tag, seq) joins a send to its recv:
 * for mpi_send rank is the sender and peer the receiver, for mpi_recv
 * the other way round; seq counts per (rank, peer). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(lwkt, mpi_class,
	LTTNG_UST_TP_ARGS(int32_t, rank, int32_t, peer, int32_t, tag,
			  uint64_t, bytes, uint64_t, seq),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int32_t, rank, rank)
		lttng_ust_field_integer(int32_t, peer, peer)
		lttng_ust_field_integer(int32_t, tag, tag)
		lttng_ust_field_integer(uint64_t, bytes, bytes)
		lttng_ust_field_integer(uint64_t, seq, seq)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, mpi_class, lwkt, mpi_send,
	LTTNG_UST_TP_ARGS(int32_t, rank, int32_t, peer, int32_t, tag,
			  uint64_t, bytes, uint64_t, seq))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(lwkt, mpi_class, lwkt, mpi_recv,
	LTTNG_UST_TP_ARGS(int32_t, rank, int32_t, peer, int32_t, tag,
			  uint64_t, bytes, uint64_t, seq))

#endif /* LWKT_TRACE_TP_H */

#include <lttng/tracepoint-event.h>
