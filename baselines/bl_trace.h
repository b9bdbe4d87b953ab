/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bl_trace.h - the baselines' trace sites (private to baselines/).
 *
 * Each costly step of a baseline calls BL_TRACE(event, args...).  The list
 * below is the schema shared with trace/ (the LTTng-UST provider wires this
 * macro later) and viz/ (which draws the events as it draws lwkt ones).
 * Ids:
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
 * Until the provider is wired in, BL_TRACE compiles to nothing (the
 * arguments are still evaluated by the compiler's eyes only, so they count
 * as used and must be integers): keep the argument lists as above.
 */
#ifndef LWKT_BASELINES_BL_TRACE_H
#define LWKT_BASELINES_BL_TRACE_H

static inline void
_bl_trace_nop(int unused, ...)
{
	(void)unused;
}

#define BL_TRACE(event, ...) \
	do { if (0) _bl_trace_nop(0, __VA_ARGS__); } while (0)

#endif /* LWKT_BASELINES_BL_TRACE_H */
