#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_trace.py TRACE_DIR [options]: reads an lwkt trace back with
babeltrace2 (python3-bt2; run with /usr/bin/python3) and checks that the
events join as trace/README.md promises:

  * every ipi_send (src, dst, ipi_id) has exactly one ipi_recv and at most
    one ipi_done with the same key and func, and per (src, dst) the
    receiver takes them in send order (FIFO);
  * every msg_send has one msg_dispatch (same port, on cpu == dst, not
    before the send) and one msg_reply (src == the dispatch cpu, dst == the
    sender's cpu, not before the dispatch); dst 4294967295 means a port
    with no owning cpu (spin, serializer, function port) and matches any; every msg_wait_end has its
    msg_wait_begin and comes after the reply;
  * every mutexq_enqueue (queue_id, seq) has its mutexq_dequeue, in FIFO
    order per queue (seq 0 starts a new run of a re-initialised queue);
  * no event was discarded (a loss would make joins fail for no bug).

Ids are scoped by process (vpid context) and runtime instance (each
lwkt:runtime_init starts one); an IPI ring's ids restarting at 0 start a
new generation of that ring (the runtime re-creates its rings at every
lwkt_init, e.g. once per benchmark run).  Exit 0 when all hold, 1 with
the first failures listed, 2 on usage or read errors."""
import argparse
import collections
import os
import sys

try:
    import bt2
except ImportError:
    sys.exit("check_trace: python3-bt2 missing (use /usr/bin/python3; "
             "Debian package python3-bt2)")


def fail(msgs, what):
    msgs.append(what)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--expect-none", action="store_true",
                    help="the trace must hold no lwkt event")
    ap.add_argument("--require", default="",
                    help="comma-separated events that must occur")
    ap.add_argument("--expect-msgs", type=int, default=None,
                    help="exact number of msg_send events")
    ap.add_argument("--pid", type=int, default=None,
                    help="only the events of this process (a session also "
                    "records the other processes of the user that load the "
                    "provider at the same time)")
    a = ap.parse_args()

    counts = collections.Counter()
    discarded = 0
    ipi_send = {}        # (vpid, src, dst, id) -> func
    ipi_recv = {}        # key -> func
    ipi_done = collections.Counter()
    ipi_order = collections.defaultdict(list)  # ring generation -> recv ids
    ipi_gen_send = collections.Counter()  # (vpid, inst, src, dst) -> gen
    ipi_gen_recv = collections.Counter()
    inst = collections.Counter()  # vpid -> runtime instance (runtime_init)
    sends = {}           # (vpid, msg_id) -> (port, src, dst, ts)
    disp = {}            # (vpid, msg_id) -> (port, cpu, ts)
    reply = {}           # (vpid, msg_id) -> (src, dst, ts)
    wait_begin = set()
    mq_enq = set()       # (vpid, queue_id, generation, seq)
    mq_deq = collections.defaultdict(list)  # (vpid, queue_id, gen) -> seqs
    mq_gen_enq = collections.Counter()
    mq_gen_deq = collections.Counter()
    errs = []
    dup = collections.Counter()

    # A session whose application never registered (no provider) leaves
    # a directory without any CTF stream: that is an empty trace.
    has_ctf = any("metadata" in files for _, _, files in os.walk(a.trace))
    if not os.path.isdir(a.trace):
        print(f"check_trace: {a.trace}: not a directory", file=sys.stderr)
        return 2
    try:
        it = bt2.TraceCollectionMessageIterator(a.trace) if has_ctf else []
        for m in it:
            if type(m) is bt2._DiscardedEventsMessageConst:
                discarded += m.count if m.count is not None else 1
                continue
            if type(m) is bt2._DiscardedPacketsMessageConst:
                discarded += 1
                continue
            if type(m) is not bt2._EventMessageConst:
                continue
            ev = m.event
            name = ev.name
            if not name.startswith("lwkt:"):
                continue
            name = name[5:]
            vpid = int(ev.common_context_field["vpid"]) \
                if ev.common_context_field is not None else 0
            if a.pid is not None and vpid != a.pid:
                continue
            counts[name] += 1
            ts = m.default_clock_snapshot.ns_from_origin
            f = ev.payload_field
            if name == "runtime_init":
                inst[vpid] += 1
            elif name in ("ipi_send", "ipi_recv", "ipi_done"):
                # Rings are re-created by every lwkt_init: ids restart at
                # 0 (a new generation of that ring), and runtime_init
                # starts a new runtime instance.
                pair = (vpid, inst[vpid], int(f["src"]), int(f["dst"]))
                iid = int(f["ipi_id"])
                gens = ipi_gen_send if name == "ipi_send" else ipi_gen_recv
                if iid == 0 and name != "ipi_done":
                    gens[pair] += 1
                key = pair + (gens[pair], iid)
                if name == "ipi_send":
                    if key in ipi_send:
                        dup[("ipi_send",) + key] += 1
                    ipi_send[key] = int(f["func"])
                elif name == "ipi_recv":
                    if key in ipi_recv:
                        dup[("ipi_recv",) + key] += 1
                    ipi_recv[key] = int(f["func"])
                    ipi_order[pair + (gens[pair],)].append(iid)
                else:
                    ipi_done[key] += 1
            elif name == "msg_send":
                key = (vpid, inst[vpid], int(f["msg_id"]))
                if key in sends:
                    dup[("msg_send",) + key] += 1
                sends[key] = (int(f["port_id"]), int(f["src"]),
                              int(f["dst"]), ts)
            elif name == "msg_dispatch":
                key = (vpid, inst[vpid], int(f["msg_id"]))
                if key in disp:
                    dup[("msg_dispatch",) + key] += 1
                disp[key] = (int(f["port_id"]), int(f["cpu"]), ts)
            elif name == "msg_reply":
                key = (vpid, inst[vpid], int(f["msg_id"]))
                if key in reply:
                    dup[("msg_reply",) + key] += 1
                reply[key] = (int(f["src"]), int(f["dst"]), ts)
            elif name in ("mutexq_enqueue", "mutexq_dequeue"):
                # A benchmark re-inits its queues (same queue_id, seq from
                # 0) at every run: seq 0 starts a new generation.
                qid = (vpid, int(f["queue_id"]))
                seq = int(f["seq"])
                gens = mq_gen_enq if name == "mutexq_enqueue" else mq_gen_deq
                if seq == 0:
                    gens[qid] += 1
                q = qid + (gens[qid],)
                if name == "mutexq_enqueue":
                    if q + (seq,) in mq_enq:
                        dup[("mutexq_enqueue",) + q + (seq,)] += 1
                    mq_enq.add(q + (seq,))
                else:
                    mq_deq[q].append(seq)
            elif name == "msg_wait_begin":
                wait_begin.add((vpid, inst[vpid], int(f["msg_id"])))
            elif name == "msg_wait_end":
                key = (vpid, inst[vpid], int(f["msg_id"]))
                if key not in wait_begin:
                    fail(errs, f"msg_wait_end without msg_wait_begin: {key}")
                if key in reply and ts < reply[key][2]:
                    fail(errs, f"msg_wait_end before msg_reply: {key}")
    except Exception as e:  # bt2 raises its own error types
        print(f"check_trace: cannot read {a.trace}: {e}", file=sys.stderr)
        return 2

    total = sum(counts.values())
    if a.expect_none:
        if total:
            fail(errs, f"expected no lwkt events, found {total}: {dict(counts)}")
    if discarded:
        fail(errs, f"{discarded} events/packets discarded: joins cannot be checked")
    for ev in filter(None, a.require.split(",")):
        if counts[ev] == 0:
            fail(errs, f"required event lwkt:{ev} not in the trace")
    if a.expect_msgs is not None and counts["msg_send"] != a.expect_msgs:
        fail(errs, f"expected {a.expect_msgs} msg_send, found {counts['msg_send']}")
    for k, n in dup.items():
        fail(errs, f"duplicate {k[0]} for id {k[1:]} ({n + 1} times)")

    for key, func in ipi_send.items():
        if key not in ipi_recv:
            fail(errs, f"ipi_send {key} has no ipi_recv")
        elif ipi_recv[key] != func:
            fail(errs, f"ipi {key}: recv func {ipi_recv[key]:#x} != send func {func:#x}")
    for key in ipi_recv:
        if key not in ipi_send:
            fail(errs, f"ipi_recv {key} has no ipi_send")
    for key, n in ipi_done.items():
        if key not in ipi_recv:
            fail(errs, f"ipi_done {key} has no ipi_recv")
        if n > 1:
            fail(errs, f"ipi_done {key} {n} times")
    for pair, ids in ipi_order.items():
        if any(b <= a_ for a_, b in zip(ids, ids[1:])):
            fail(errs, f"ipi ring {pair[2]}->{pair[3]} (pid {pair[0]}) not FIFO")

    NOCPU = 4294967295
    for key, (port, src, dst, ts) in sends.items():
        d = disp.get(key)
        r = reply.get(key)
        if d is None:
            fail(errs, f"msg {key} sent ({src}->{dst}) but never dispatched")
            continue
        # A port with no owning cpu (spin, serializer, function port)
        # traces dst = NOCPU: any cpu may dispatch from it.
        if d[0] != port or (dst != NOCPU and d[1] != dst) or d[2] < ts:
            fail(errs, f"msg {key}: dispatch (port {d[0]}, cpu {d[1]}) "
                       f"does not match send (port {port}, dst {dst}) or precedes it")
        if r is None:
            fail(errs, f"msg {key} dispatched but never replied")
            continue
        # The same for a reply port with no owning cpu.
        if r[0] != d[1] or (r[1] != NOCPU and r[1] != src) or r[2] < d[2]:
            fail(errs, f"msg {key}: reply {r[0]}->{r[1]} does not match "
                       f"dispatch cpu {d[1]} / sender cpu {src}, or precedes it")
    for key in list(disp) + list(reply):
        if key not in sends:
            fail(errs, f"msg {key} dispatched/replied but never sent")

    ndeq = 0
    for q, seqs in mq_deq.items():
        ndeq += len(seqs)
        for seq in seqs:
            if q + (seq,) not in mq_enq:
                fail(errs, f"mutexq {q[1]} run {q[2]} (pid {q[0]}): dequeue of seq {seq} never enqueued")
        if any(b <= a_ for a_, b in zip(seqs, seqs[1:])):
            fail(errs, f"mutexq {q[1]} run {q[2]} (pid {q[0]}): dequeues not FIFO")
    if ndeq != len(mq_enq):
        fail(errs, f"mutexq: {len(mq_enq)} enqueued, {ndeq} dequeued")

    joined = sum(1 for k in sends if k in disp and k in reply)
    print(f"check_trace: {total} lwkt events ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
          f"{len(ipi_send)} ipis, {joined}/{len(sends)} messages joined; "
          f"{discarded} discarded")
    if errs:
        for e in errs[:20]:
            print("check_trace: FAIL:", e, file=sys.stderr)
        if len(errs) > 20:
            print(f"check_trace: ... and {len(errs) - 20} more", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
