/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bl_trace.h - the baselines' trace sites (private to baselines/).
 *
 * Each costly step of a baseline calls BL_TRACE(event, args...).  The list
 * below is the schema shared with trace/ (the LTTng-UST provider `lwkt`,
 * trace/lwkt_tp.h, the same provider as the runtime's) and viz/ (which
 * draws the events as it draws lwkt ones).  Ids:
 *   queue_id  the mutexq's id, given at mutexq_init (unique per run)
 *   cpu       the host PU the calling thread is pinned to (or -1 unknown)
 *   seq       per-queue sequence number of the message (0, 1, ...): the
 *             (queue_id, seq) pair joins an enqueue to its dequeue
 *   rank      MPI rank of the caller; peer: the other rank
 *   tag       MPI tag; bytes: payload size; seq: per (rank, peer) counter
 *
 *   mutexq_enqueue(queue_id, cpu, seq)        message stored, lock dropped
 *   mutexq_dequeue(queue_id, cpu, seq)        message taken, lock dropped
 *   mutexq_wake(queue_id, src_cpu, dst_cpu)   a sleeper was signalled
 *                                            (dst_cpu -1: not known)
 *   mpi_send(rank, peer, tag, bytes, seq)     MPI_Send / MPI_Isend posted
 *   mpi_recv(rank, peer, tag, bytes, seq)     MPI_Recv / wait completed
 *
 * Field types (trace/lwkt_tp.h): queue_id, seq, bytes uint64_t; cpu,
 * rank, peer, tag int32_t.  The arguments are evaluated only while a
 * session records the event.
 *
 * Linking: the tracepoints are defined once, with LTTng-UST dynamic
 * linkage, in liblwkt (lwkt/src/lwkt_trace.c): a binary with BL_TRACE
 * sites links liblwkt.a after its objects (or liblwkt.so) and -ldl; the
 * probes come from liblwkt-tp.so, loaded only when tracing
 * (trace/lwkt-record).  -DBL_TRACE_DISABLE (or the runtime's
 * -DLWKT_TRACE_DISABLE) compiles every site out (for a binary that cannot
 * link liblwkt, or the sites-compiled-out reference build).
 */
#ifndef LWKT_BASELINES_BL_TRACE_H
#define LWKT_BASELINES_BL_TRACE_H

#if defined(BL_TRACE_DISABLE) || defined(LWKT_TRACE_DISABLE)
static inline void
_bl_trace_nop(int unused, ...)
{
	(void)unused;
}
/* Still type-checks the arguments (they count as used). */
#define BL_TRACE(event, ...) \
	do { if (0) _bl_trace_nop(0, __VA_ARGS__); } while (0)
#else
/* Relative path: no -I needed by the objects that include it. */
#include "../trace/lwkt_tp.h"
#define BL_TRACE(event, ...) lttng_ust_tracepoint(lwkt, event, __VA_ARGS__)
#endif

#endif /* LWKT_BASELINES_BL_TRACE_H */
