#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_perfetto.py TRACE_DIR FILE.perfetto-trace [--min-events N]

Checks what sink.lwkt.perfetto wrote for TRACE_DIR against babeltrace2's
own text reading of the same trace (`babeltrace2 --clock-seconds TRACE`):

  decode     protoc --decode=perfetto.protos.Trace with the project's schema
             subset (viz/perfetto/trace.proto): no field outside it
  interning  every iid defined once, before (or in) the packet using it
  tracks     every track used is described, parents first, uuids unique;
             one "CPU n" thread track (tid n + 1) per (process, lwkt cpu)
             the trace has; counters only on counter tracks
  nesting    per track, in timestamp order (file order for equal ones, as
             Perfetto's trace processor sorts), begins and ends pair up
  times      the first event at the trace's first drawn event, the last at
             its last; none outside
  counts     the summary's event count is babeltrace2's; per cpu, the
             instants of each kind are the trace's events of that kind on
             that cpu, the IPI slices its ipi_recv events
  flows      every IPI (send traced before its receive) is one flow from
             its sender's track at the send to the target's at the receive;
             every message's send -> dispatch and dispatch -> reply hops are
             flows at those times and tracks; each flow starts once, ends at
             most once, never before it starts
  counters   per cpu pair, the IPI ring counter never goes negative and
             ends at the IPIs sent and never received

Exit 0 when all hold; every failure is printed.
"""
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "trace"))
import lwkt_schema  # noqa: E402

OWN = {e.name: e.own for e in lwkt_schema.events().values() if e.own}
HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "perfetto")
FAILS = []
# Events the model turns into an instant on their lane, whatever else.
INSTANT_KINDS = {
    "ipi_ring_full", "ipi_wake", "idle_sleep", "thread_create", "thread_exit",
    "netisr_rollup", "token_request", "token_transfer", "token_acquire",
    "token_release", "runtime_init", "runtime_shutdown", "mutexq_enqueue",
    "mutexq_dequeue", "mutexq_wake", "mpi_send", "mpi_recv", "sysmsg_end",
}


def fail(msg):
    FAILS.append(msg)
    print("check_perfetto: FAIL " + msg)


# ---- protoc's text format, parsed into nested dicts of lists

TOKEN = re.compile(r'\s*(?:([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\s*(\{|:\s*(.*))|(\}))\s*$')


def unquote(s):
    # protoc writes C escapes; bytes >= 0x80 as octal: rebuild the bytes.
    assert s[0] == '"' and s[-1] == '"', s
    out, i, s = bytearray(), 0, s[1:-1]
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        nx = s[i + 1]
        if nx in "01234567":
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in "01234567":
                j += 1
            out.append(int(s[i + 1:j], 8))
            i = j
        else:
            out += {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'",
                    "\\": b"\\"}.get(nx, nx.encode())
            i += 2
    return out.decode("utf-8")


def decode(path):
    proto = os.path.join(PROTO_DIR, "trace.proto")
    with open(path, "rb") as f:
        r = subprocess.run(["protoc", "--decode=perfetto.protos.Trace",
                            "-I" + PROTO_DIR, proto], stdin=f,
                           capture_output=True, timeout=600)
    if r.returncode != 0:
        fail("protoc --decode failed: %s" % r.stderr.decode(errors="replace")[:500])
        return []
    root = {}
    stack = [root]
    for ln, line in enumerate(r.stdout.decode("utf-8").splitlines()):
        m = TOKEN.match(line)
        if not m:
            fail("decode: cannot read line %d: %r" % (ln + 1, line))
            return []
        key, brace, val, close = m.groups()
        if close:
            stack.pop()
            continue
        if key[0].isdigit():
            fail("decode: field %s is outside the schema subset (line %d)" % (key, ln + 1))
        if brace == "{":
            d = {}
            stack[-1].setdefault(key, []).append(d)
            stack.append(d)
        else:
            v = val.strip()
            if v.startswith('"'):
                v = unquote(v)
            elif re.fullmatch(r"-?[0-9]+", v):
                v = int(v)
            stack[-1].setdefault(key, []).append(v)
    return root.get("packet", [])


def one(d, k, default=None):
    v = d.get(k)
    return v[0] if v else default


# ---- babeltrace2's text reading

LINE = re.compile(r"^\[(\d+)\.(\d{9})\] \([^)]*\) \S+ ([^:]+:[^:]+): (.*)$")


def fields(s):
    """{ a = 1, b = "x" }, { c = 2 }: every scalar member, merged."""
    out, i, n = {}, 0, len(s)
    key = None
    while i < n:
        ch = s[i]
        if ch in " ,{}":
            i += 1
            continue
        if ch == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if key:
                out[key] = s[i + 1:j]
                key = None
            i = j + 1
            continue
        if ch == "[":  # arrays: skipped
            depth = 0
            while i < n:
                depth += s[i] == "["
                depth -= s[i] == "]"
                i += 1
                if depth == 0:
                    break
            key = None
            continue
        j = i
        while j < n and s[j] not in " ,}":
            j += 1
        tok = s[i:j]
        if j + 2 < n and s[j:j + 3] == " = ":
            key = tok
            i = j + 3
            continue
        if key:
            out[key] = tok
            key = None
        i = j
    return out


def num(v):
    return int(v, 16) if v.startswith("0x") else int(v)


def read_bt(trace):
    r = subprocess.run(["babeltrace2", "--clock-seconds", trace],
                       capture_output=True, timeout=900)
    if r.returncode != 0:
        fail("babeltrace2 failed: %s" % r.stderr.decode(errors="replace")[:300])
    evs = []
    for line in r.stdout.decode("utf-8", errors="replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        ts = int(m.group(1)) * 10 ** 9 + int(m.group(2))
        evs.append((ts, m.group(3), fields(m.group(4))))
    return evs


def expected(evs):
    """What the trace holds, read the simple way (lanes as the viz
    defines them: an lwkt event's own cpu field, else the lwkt cpu last
    seen on the PU that recorded it)."""
    exp = {"events": len(evs), "first": None, "last": None, "lanes": set(),
           "instants": collections.Counter(), "ipi_spans": collections.Counter(),
           "ipi_flows": collections.Counter(), "hops": collections.Counter(),
           "ring": collections.Counter()}
    pu_lane, inst, ipis, msgs = {}, collections.Counter(), {}, {}
    exp["drawn"] = 0
    for ts, name, f in evs:
        k = name[5:] if name.startswith("lwkt:") else None
        if k in ("calib_tick", "record_info"):
            continue
        exp["drawn"] += 1
        if exp["first"] is None:
            exp["first"] = ts
        exp["last"] = ts
        vpid = num(f.get("vpid", "0"))
        pid = vpid or 1
        pu = num(f["cpu_id"]) if "cpu_id" in f else None
        if k in OWN:
            cpu = num(f[OWN[k]])
            if pu is not None:
                pu_lane[(vpid, pu)] = cpu
        elif pu is None:
            continue
        else:
            cpu = pu_lane.get((vpid, pu), pu)
        lane = (pid, cpu)
        exp["lanes"].add(lane)
        if k is None or k in INSTANT_KINDS:
            exp["instants"][(lane, name)] += 1
        if k == "runtime_init":
            inst[vpid] += 1
        iv = inst[vpid]
        if k in ("ipi_send", "ipi_recv"):
            key = (vpid, iv, num(f["src"]), num(f["dst"]), num(f["ipi_id"]))
            s = ipis.setdefault(key, {})
            s[k] = (lane, ts)
            if k == "ipi_recv":
                exp["ipi_spans"][lane] += 1
                if "ipi_send" in s:
                    exp["ipi_flows"][(s["ipi_send"], s["ipi_recv"])] += 1
                    exp["ring"][(pid, key[2], key[3])] -= 1
                    del ipis[key]
            elif "ipi_recv" in s:
                del ipis[key]  # received before its send was traced: no flow
            else:
                exp["ring"][(pid, key[2], key[3])] += 1
        elif k in ("msg_send", "msg_dispatch", "msg_reply"):
            key = (vpid, iv, num(f["msg_id"]))
            if k == "msg_send":
                msgs[key] = {"send": (lane, ts)}
            elif key in msgs and k[4:] not in msgs[key]:
                m = msgs[key]
                m[k[4:]] = (lane, ts)
                if k == "msg_dispatch":
                    exp["hops"][(m["send"], (lane, ts))] += 1
                elif "dispatch" in m:
                    exp["hops"][(m["dispatch"], (lane, ts))] += 1
    return exp


# ---- the checks

def check(trace, pf, min_events):
    pk = decode(pf)
    if not pk:
        fail("no packets in %s" % pf)
        return
    exp = expected(read_bt(trace))
    if exp["events"] < min_events:
        fail("babeltrace2 read %d events, expected at least %d" % (exp["events"], min_events))
    names = {}      # (field, iid) -> text
    tracks = {}     # uuid -> descriptor
    cpu_track = {}  # uuid -> (pid, cpu)
    counter_tracks = set()
    per_track = collections.defaultdict(list)  # uuid -> [(ts, idx, type, name, cat)]
    flows_out, flows_in = {}, {}
    counters = collections.defaultdict(list)
    summary = None
    first_seq = None
    for i, p in enumerate(pk):
        if one(p, "trusted_packet_sequence_id") != 1:
            fail("packet %d: not on sequence 1" % i)
            break
        if first_seq is None:
            first_seq = one(p, "sequence_flags", 0)
            if not first_seq & 1 or one(p, "first_packet_on_sequence") != "true":
                fail("the first packet does not clear the incremental state")
        for idata in p.get("interned_data", []):
            for field in ("event_categories", "event_names", "debug_annotation_names"):
                for e in idata.get(field, []):
                    key = (field, one(e, "iid"))
                    if key in names:
                        fail("iid %s defined twice" % (key,))
                    names[key] = one(e, "name")
        td = one(p, "track_descriptor")
        if td:
            u = one(td, "uuid")
            parent = one(td, "parent_uuid")
            if parent is not None and parent not in tracks:
                fail("track %s: parent %s not described before it" % (u, parent))
            if u in tracks and u != 0 and one(tracks[u], "name") != "lwkt-lab" and \
                    one(td, "name") != "lwkt-lab":
                fail("track uuid %s described twice" % u)
            tracks[u] = td
            th = one(td, "thread")
            if th:
                tid, tname = one(th, "tid"), one(th, "thread_name")
                if tid < 1 or tname != "CPU %d" % (tid - 1):
                    fail("thread track %s: tid %s named %r" % (u, tid, tname))
                cpu_track[u] = (one(th, "pid"), tid - 1)
            if one(td, "counter"):
                counter_tracks.add(u)
            continue
        te = one(p, "track_event")
        if not te:
            fail("packet %d: neither a track event nor a descriptor" % i)
            continue
        ts = one(p, "timestamp")
        u = one(te, "track_uuid")
        if u not in tracks:
            fail("packet %d: track %s used before it is described" % (i, u))
            continue
        typ = one(te, "type")
        name = one(te, "name")
        iid = one(te, "name_iid")
        if iid is not None:
            name = names.get(("event_names", iid))
            if name is None:
                fail("packet %d: name iid %s not interned" % (i, iid))
        cats = [names.get(("event_categories", c)) for c in te.get("category_iids", [])]
        if None in cats:
            fail("packet %d: category iid not interned" % i)
        for a in te.get("debug_annotations", []):
            if ("debug_annotation_names", one(a, "name_iid")) not in names:
                fail("packet %d: annotation name iid not interned" % i)
        for cu, cv in zip(te.get("extra_counter_track_uuids", []),
                          te.get("extra_counter_values", [])):
            if cu not in counter_tracks:
                fail("packet %d: an extra counter value for a track that is no counter" % i)
            counters[cu].append((ts, i, cv))
        if len(te.get("extra_counter_track_uuids", [])) != len(te.get("extra_counter_values", [])):
            fail("packet %d: extra counter uuids and values differ in number" % i)
        if typ == "TYPE_COUNTER":
            if u not in counter_tracks:
                fail("packet %d: a counter value on a track that is no counter" % i)
            counters[u].append((ts, i, one(te, "counter_value")))
            continue
        if u in counter_tracks:
            fail("packet %d: %s on a counter track" % (i, typ))
        if not cats and typ != "TYPE_SLICE_END":
            fail("packet %d: %s without a category" % (i, typ))
        per_track[u].append((ts, i, typ, name, cats[0] if cats else None))
        for fid in te.get("flow_ids", []):
            if fid in flows_out:
                fail("flow %d starts twice" % fid)
            flows_out[fid] = (u, ts, cats[0] if cats else None)
        for fid in te.get("terminating_flow_ids", []):
            if fid in flows_in:
                fail("flow %d ends twice" % fid)
            flows_in[fid] = (u, ts)
        if cats == ["summary"]:
            summary = {names[("debug_annotation_names", one(a, "name_iid"))]:
                       one(a, "uint_value") for a in te.get("debug_annotations", [])}
    # Tracks: one CPU track per lane of the trace (a loss on a PU before
    # any event of it gets a track of its own, with nothing but its gaps
    # under it: not a lane of events).
    lanes = collections.Counter(v for u, v in cpu_track.items() if per_track.get(u))
    if set(lanes) != exp["lanes"] or max(lanes.values(), default=1) != 1:
        fail("cpu tracks %s, expected %s" % (sorted(lanes), sorted(exp["lanes"])))
    # Nesting, per track, in the trace processor's order.
    tmin, tmax, n_te = None, None, 0
    for u, evs in per_track.items():
        evs.sort(key=lambda e: (e[0], e[1]))
        # A track of lost-event slices (their ends carry no category):
        # once per track, not per event (a lossy trace has ~10^4 of each).
        lost_track = any(e[4] == "lost" for e in evs)
        depth = 0
        for ts, i, typ, name, cat in evs:
            n_te += 1
            # Losses are bounded by packet ends (babeltrace2): they may
            # reach past the last event.
            if cat != "lost" and not (typ == "TYPE_SLICE_END" and lost_track):
                tmin = ts if tmin is None else min(tmin, ts)
                tmax = ts if tmax is None else max(tmax, ts)
            if typ == "TYPE_SLICE_BEGIN":
                depth += 1
            elif typ == "TYPE_SLICE_END":
                depth -= 1
                if depth < 0:
                    fail("track %s: an end without its begin (packet %d)" % (u, i))
                    break
        if depth > 0:
            fail("track %s: %d slices never end" % (u, depth))
    # Times.
    if tmin != exp["first"] or tmax != exp["last"]:
        fail("events from %s to %s, the trace's from %s to %s" %
             (tmin, tmax, exp["first"], exp["last"]))
    # Counts.
    if summary is None:
        fail("no summary")
    elif summary.get("events") != exp["events"]:
        fail("summary: %s events, babeltrace2 read %d" % (summary.get("events"), exp["events"]))
    got = collections.Counter()
    ipi_spans = collections.Counter()
    for u, evs in per_track.items():
        if u not in cpu_track:
            continue
        for ts, i, typ, name, cat in evs:
            if typ == "TYPE_INSTANT" and cat in ("lwkt", "event"):
                got[(cpu_track[u], name)] += 1
            elif typ == "TYPE_SLICE_BEGIN" and cat == "ipi":
                ipi_spans[cpu_track[u]] += 1
    if got != exp["instants"]:
        diff = sorted(set(got.items()) ^ set(exp["instants"].items()))[:6]
        fail("per-cpu instants differ from the trace's events (got ^ expected): %s" % diff)
    if ipi_spans != exp["ipi_spans"]:
        fail("IPI slices per cpu %s, expected %s" % (dict(ipi_spans), dict(exp["ipi_spans"])))
    # Flows.
    for fid, (u, ts) in flows_in.items():
        if fid not in flows_out:
            fail("flow %d ends but never starts" % fid)
            break
        if ts < flows_out[fid][1]:
            fail("flow %d ends before it starts" % fid)
            break
    def pt(u, ts):
        return (cpu_track.get(u), ts)
    ipi_got, hop_got = collections.Counter(), collections.Counter()
    for fid, (u, ts, cat) in flows_out.items():
        if fid not in flows_in:
            continue
        key = (pt(u, ts), pt(*flows_in[fid]))
        if cat == "ipi":
            ipi_got[key] += 1
        elif cat == "msg":
            hop_got[key] += 1
    if ipi_got != exp["ipi_flows"]:
        fail("IPI flows: %d, expected %d; first differences %s" %
             (sum(ipi_got.values()), sum(exp["ipi_flows"].values()),
              sorted(set(ipi_got) ^ set(exp["ipi_flows"]))[:4]))
    missing = exp["hops"] - hop_got
    if missing:
        fail("message hops missing from the flows: %d of %d, e.g. %s" %
             (sum(missing.values()), sum(exp["hops"].values()), list(missing)[:3]))
    # Counters: the ring occupancy per cpu pair.
    ring = {}
    for u, vals in counters.items():
        vals.sort(key=lambda v: (v[0], v[1]))
        if min(v[2] for v in vals) < 0:
            fail("counter %s goes negative" % one(tracks[u], "name"))
        m = re.fullmatch(r"IPI ring CPU (\d+)->(\d+) in flight", one(tracks[u], "name") or "")
        parent = tracks.get(one(tracks[u], "parent_uuid"))
        pid = one(one(parent, "process"), "pid") if parent else None
        if m and pid is not None:
            ring[(pid, int(m.group(1)), int(m.group(2)))] = vals[-1][2]
    want_ring = {k: v for k, v in exp["ring"].items() if v}
    got_ring = {k: v for k, v in ring.items() if v}
    if got_ring != want_ring:
        fail("IPI rings left in flight %s, expected %s" % (got_ring, want_ring))
    size = os.path.getsize(pf)
    print("check_perfetto: %d packets, %d track events on %d tracks (%d cpus), "
          "%d flows, %d counter tracks; %d trace events (%d drawn: not the "
          "recorder's calibration), %.1f bytes per drawn event" %
          (len(pk), n_te, len(tracks), len(cpu_track), len(flows_out),
           len(counter_tracks), exp["events"], exp["drawn"],
           size / max(1, exp["drawn"])))


def main(argv):
    if len(argv) >= 2 and argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--min-events"):
        print(__doc__, file=sys.stderr)
        return 2
    check(argv[1], argv[2], int(argv[4]) if len(argv) == 5 else 1)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
