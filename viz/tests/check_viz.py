#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_viz.py - golden and structural checks of the viz outputs.

  check_viz.py golden TRACE PAGE.html CHROME.json
      Reads TRACE independently with python3-bt2 and checks that the
      page's embedded data and the Chrome JSON carry the same lanes,
      messages (send -> dispatch -> reply), IPIs, thread names, spans,
      lost events and per-cpu-pair latency percentiles.
  check_viz.py chrome CHROME.json [--lanes N] [--generic]
      Structural validation: every flow start has one finish, flow ids
      unique, timestamps non-decreasing per track (end time of complete
      events), slices properly nested, flow steps inside a slice, one
      named "CPU n" track per lane.
  check_viz.py spans PAGE.html KIND
      Prints how many spans of KIND (a VIZ_SPAN_* number) the page has,
      and how many of them are cut.
  check_viz.py page PAGE.html KEY
      Prints one value of the embedded data (for the shell script).

Exit status 0 when every check passed; failures are listed on stderr.
"""
import bisect
import collections
import json
import os
import re
import sys

FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("check_viz: FAIL: " + msg, file=sys.stderr)


def _uv(b, p):
    v, s = 0, 0
    while True:
        c = b[p]
        p += 1
        v |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return v, p


def decode_tile(b):
    """The records of one tile (viz/out_html.c's layout) as the arrays
    the page's JSON held before the compact encoding: [type, fields...],
    times absolute (ns since base_ns), -1 for a time not in the trace."""
    out, p, t = [], 0, [0]

    def uv():
        nonlocal p
        v, p = _uv(b, p)
        return v

    def sv():
        v = uv()
        return -(v + 1) // 2 if v & 1 else v // 2

    def tm():
        t[0] += sv()
        return t[0]
    while p < len(b):
        ty = uv()
        if ty == 0:
            lane, depth, kind = sv(), uv(), uv()
            t0 = tm()
            t1 = t0 + uv()
            out.append([0, lane, depth, kind, t0, t1, uv(), uv(), sv()])
        elif ty == 1:
            lane, ts, nid, n = sv(), tm(), uv(), uv()
            args = json.loads(bytes(b[p:p + n]).decode("utf-8")) if n else {}
            p += n
            out.append([1, lane, ts, nid, args])
        elif ty == 2:
            r = [2, uv(), uv(), sv(), sv(), uv(), sv(), uv(), uv()]
            mask = uv()
            for i in range(8):
                r += [sv(), tm()] if mask & (1 << i) else [-1, -1]
            out.append(r)
        elif ty == 3:
            mid, key, src, dl, cat, carries, role, op, mask = \
                uv(), uv(), sv(), sv(), uv(), sv(), uv(), uv(), uv()
            ts = tm() if mask & 1 else -1
            td = tm() if mask & 2 else -1
            out.append([3, mid, "0x%x" % key, src, ts, dl, td, cat, carries, role, op])
        elif ty == 6:
            lane, kind = sv(), uv()
            t0 = tm()
            t1 = t0 + uv()
            out.append([6, lane, kind, t0, t1, "0x%x" % uv(), uv(), uv()])
        else:
            raise ValueError("unknown record type %d at byte %d" % (ty, p))
    return out


def page_data(path):
    """The page's summary with "rec": every record of its tiles (decoded,
    each checked against its index entry) and of its "grec"."""
    import base64
    import zlib
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script id="lwkt-data" type="application/json">(.*?)</script>',
                  html, re.S)
    if not m:
        sys.exit("check_viz: no lwkt-data in " + path)
    d = json.loads(m.group(1))
    tiles = dict(re.findall(r'<script type="application/octet-stream" id="lwkt-t(\d+)">(.*?)</script>',
                            html, re.S))
    if len(tiles) != len(d["tiles"]):
        sys.exit("check_viz: %d tiles in %s, its index says %d" % (len(tiles), path, len(d["tiles"])))
    rec = []
    for i, (t0, t1, n, raw, _) in enumerate(d["tiles"]):
        b = zlib.decompress(base64.b64decode(tiles[str(i)]))
        if len(b) != raw:
            sys.exit("check_viz: tile %d: %d bytes, its index says %d" % (i, len(b), raw))
        r = decode_tile(b)
        if len(r) != n:
            sys.exit("check_viz: tile %d: %d records, its index says %d" % (i, len(r), n))
        for x in r:
            ts = [x[k] for k in {0: (4, 5), 1: (2,), 2: range(10, 25, 2), 3: (4, 6),
                                 6: (3, 4)}[x[0]] if x[k] >= 0]
            if ts and (min(ts) < t0 or max(ts) > t1):
                sys.exit("check_viz: tile %d [%d, %d] holds a record at %s" % (i, t0, t1, ts))
        rec += r
    d["rec"] = rec + d["grec"]
    m = re.search(r'<script id="lwkt-lod" type="application/octet-stream">(.*?)</script>',
                  html, re.S)
    lod = zlib.decompress(base64.b64decode(m.group(1))) if m else b""
    if len(lod) != d["lod"]["bytes"] or \
            len(lod) != 4 * d["lod"]["nb"] * d["lod"]["lanes"] * len(d["lod"]["cols"]):
        sys.exit("check_viz: levels of detail of %d bytes, expected %d" % (len(lod), d["lod"]["bytes"]))
    d["lodbytes"] = lod
    return html, d


def nearest_rank(sorted_v, pct):
    r = (len(sorted_v) * pct + 99) // 100
    return sorted_v[max(r, 1) - 1]


# Own-cpu field of each lwkt event (the lane it is drawn on), from the
# schema table (trace/lwkt_events.def); events without one are drawn on
# the lane of the PU that recorded them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "trace"))
import lwkt_schema  # noqa: E402
OWN = {e.name: e.own for e in lwkt_schema.events().values() if e.own}


def read_trace(path):
    """The trace read independently: lanes are (vpid, cpu), ids scoped by
    (vpid, runtime instance), latencies per (benchmark, metric, lanes)."""
    import bt2
    pu_lane = {}
    pairs = {}
    inst = collections.Counter()
    bench_of = {}           # vpid -> current benchmark name
    exp = {"base": None, "lanes": set(), "msgs": {}, "ipis": {}, "names": [],
           "switch": collections.Counter(), "crit": collections.Counter(),
           "ipi_spans": collections.Counter(), "lost": 0, "events": 0,
           "lat": collections.defaultdict(list), "recv_first": 0}
    for msg in bt2.TraceCollectionMessageIterator(path):
        if type(msg) is bt2._DiscardedEventsMessageConst:
            exp["lost"] += msg.count or 0
            continue
        if type(msg) is not bt2._EventMessageConst:
            continue
        ev = msg.event
        ts = msg.default_clock_snapshot.ns_from_origin
        if ev.name in ("lwkt:calib_tick", "lwkt:record_info"):
            exp["events"] += 1  # the recorder's calibration: not drawn
            continue
        if exp["base"] is None:
            exp["base"] = ts
        t = ts - exp["base"]
        exp["events"] += 1
        name = ev.name
        try:
            vpid = int(ev.common_context_field["vpid"])
        except (KeyError, TypeError):
            vpid = 0
        pu = int(ev.packet.context_field["cpu_id"])
        k, p = name[5:], ev.payload_field
        bench = bench_of.get(vpid, "")
        if not name.startswith("lwkt:") or k not in OWN:
            lane = (vpid, pu_lane.get((vpid, pu), pu))
            exp["lanes"].add(lane)
            if name == "lwkt:runtime_init":
                inst[vpid] += 1
            elif name == "lwkt:bench_begin":
                bench_of[vpid] = str(p["name"])
            elif name == "lwkt:bench_end":
                bench_of[vpid] = ""
            # Baseline pairs: mutexq (queue_id, seq) per process, MPI
            # (snd, rcv, tag, seq) across processes (ranks are processes).
            if k in ("mutexq_enqueue", "mpi_send"):
                key = ((vpid, k, int(p["queue_id"]), int(p["seq"])) if k[1] == "u"
                       else (None, k, int(p["rank"]), int(p["peer"]), int(p["tag"]),
                             int(p["seq"])))
                pairs[key] = (lane, t, bench)
            elif k == "mutexq_dequeue":
                s = pairs.pop((vpid, "mutexq_enqueue", int(p["queue_id"]), int(p["seq"])), None)
                if s:
                    exp["lat"][(s[2], "mutexq enqueue->dequeue", s[0], lane)].append(t - s[1])
            elif k == "mpi_recv":
                s = pairs.pop((None, "mpi_send", int(p["peer"]), int(p["rank"]), int(p["tag"]),
                               int(p["seq"])), None)
                if s:
                    exp["lat"][(s[2], "mpi send->recv", s[0], lane)].append(t - s[1])
            continue
        lane = (vpid, int(p[OWN[k]]))
        exp["lanes"].add(lane)
        pu_lane[(vpid, pu)] = lane[1]
        iv = inst[vpid]
        if k == "thread_create":
            exp["names"].append(str(p["name"]))
        elif k == "thread_switch":
            exp["switch"][(lane, t, int(p["to_tid"]))] += 1
        elif k == "crit_enter":
            exp["crit"][lane] += 1
        elif k in ("ipi_recv", "ipi_send"):
            key = (vpid, iv, int(p["src"]), int(p["dst"]), int(p["ipi_id"]))
            s = exp["ipis"].setdefault(key, {})
            if k == "ipi_recv":
                exp["ipi_spans"][lane] += 1
                s["recv"] = (lane, t)
                if "send" not in s:
                    s["bench"] = bench
            else:
                s["send"] = (lane, t)
                s["bench"] = bench
                if "recv" in s:
                    exp["recv_first"] += 1
            if "send" in s and "recv" in s and "done" not in s:
                s["done"] = True
                exp["lat"][(s["bench"], "ipi send->recv", s["send"][0], s["recv"][0])].append(
                    max(0, s["recv"][1] - s["send"][1]))
        elif k == "msg_send":
            exp["msgs"][(vpid, iv, int(p["msg_id"]))] = {
                "src": lane, "t": t, "dst": int(p["dst"]), "port": int(p["port_id"]),
                "bench": bench}
        elif k == "msg_dispatch":
            m = exp["msgs"].get((vpid, iv, int(p["msg_id"])))
            if m and "disp" not in m:
                m["disp"] = (lane, t)
                exp["lat"][(m["bench"], "send->dispatch", m["src"], lane)].append(t - m["t"])
        elif k == "msg_reply":
            m = exp["msgs"].get((vpid, iv, int(p["msg_id"])))
            if m and "reply" not in m:
                m["reply"] = (lane, t)
                exp["lat"][(m["bench"], "send->reply", m["src"],
                            m["disp"][0] if "disp" in m else lane)].append(t - m["t"])
        elif k == "msg_wait_begin":
            m = exp["msgs"].get((vpid, iv, int(p["msg_id"])))
            if m:
                m["waited"] = True
                m.setdefault("wait_t", t)
        elif k == "msg_wait_end":
            m = exp["msgs"].get((vpid, iv, int(p["msg_id"])))
            if m and "resume" not in m:
                m["resume"] = (lane, t)
    return exp


def late_ok(m):
    """Whether the model must join this waited message's resume: yes when
    the wait began before the reply.  A wait that begins only after the
    reply (lwkt_sendmsg, other work, then lwkt_waitmsg) is not joined when
    the reply's IPI was superseded first: the model ends such a message
    then rather than keep every replied message for a wait that may never
    come (memory; viz/model.c, reply_unlinked)."""
    return "reply" not in m or m["wait_t"] < m["reply"][1]


def golden(trace, page, chrome):
    exp = read_trace(trace)
    html, d = page_data(page)
    # Escaping: no raw markup from the trace may reach the page.
    if "<b onmouseover" in html or "</script><b" in html:
        fail("raw markup from the trace in the page")
    lane_key = {l["lane"]: (l["vpid"], l["cpu"]) for l in d["lanes"]}
    bench_name = {b["id"]: b["name"] for b in d["bench"]}
    # A loss on a PU before any event of it (very lossy runs) gets a lane
    # of its own at the end: a lane holding only gaps is not a lane of
    # events.
    busy = {r[1] for r in d["rec"] if r[0] in (0, 1, 6)}   # lane-first records
    busy |= {r[3] for r in d["rec"] if r[0] == 2}          # a message's sender
    busy |= {r[i] for r in d["rec"] if r[0] == 2 for i in range(9, 25, 2)}
    busy |= {r[j] for r in d["rec"] if r[0] == 3 for j in (3, 5)}
    only_gaps = {l for l in lane_key if l not in busy and
                 any(r[0] == 4 and r[1] == l for r in d["rec"])}
    lane_key = {l: k for l, k in lane_key.items() if l not in only_gaps}
    if sorted(lane_key.values()) != sorted(exp["lanes"]):
        fail("lanes %s, expected %s" % (sorted(lane_key.values()), sorted(exp["lanes"])))
    if str(exp["base"]) != d["base_ns"]:
        fail("base_ns %s, expected %s" % (d["base_ns"], exp["base"]))
    if d["counts"]["events"] != exp["events"]:
        fail("events %d, expected %d" % (d["counts"]["events"], exp["events"]))
    recs = collections.defaultdict(list)
    for r in d["rec"]:
        recs[r[0]].append(r)
    # Messages: every send, dispatch, reply and resume at its lane and time.
    got = collections.defaultdict(list)
    for r in recs[2]:
        got[r[1]].append(r)
    if len(recs[2]) != len(exp["msgs"]):
        fail("%d messages, expected %d" % (len(recs[2]), len(exp["msgs"])))
    for (vpid, _, mid), m in exp["msgs"].items():
        cands = [r for r in got.get(mid, []) if lane_key.get(r[3], (None,))[0] == vpid and
                 r[10] == m["t"]]
        r = cands[0] if cands else None
        def step(i):
            return (lane_key.get(r[9 + 2 * i]), r[10 + 2 * i]) if r[10 + 2 * i] >= 0 else None
        if r is None or lane_key[r[3]] != m["src"] or r[2] != m["port"] or \
                r[4] != (m["dst"] if m["dst"] < 2 ** 31 else m["dst"] - 2 ** 32) or \
                step(3) != m.get("disp") or step(4) != m.get("reply") or \
                (m.get("waited") and late_ok(m) and step(7) != m.get("resume")):
            fail("message %d: %s, expected %s" % (mid, r, m))
            break
    # IPIs, with those received before their send was traced.
    n_ipi = sum(1 for s in exp["ipis"].values() if "done" in s)
    got_ipi = sum(1 for r in recs[3] if r[5] >= 0 and r[7] == 1 and r[4] >= 0)
    if got_ipi != n_ipi:
        fail("%d IPIs received, expected %d" % (got_ipi, n_ipi))
    if d["counts"]["recv_before_send"] != exp["recv_first"]:
        fail("%d IPIs received before their send, expected %d" %
             (d["counts"]["recv_before_send"], exp["recv_first"]))
    # Thread names.
    names = sorted(r[3] for r in recs[5])
    if names != sorted(exp["names"]):
        fail("thread names %s, expected %s" % (names, sorted(exp["names"])))
    # Spans: one running span per switch, one per critical section (its
    # resumed pieces aside), one per IPI.
    sw = collections.Counter((lane_key[r[1]], r[4], r[6]) for r in recs[0]
                             if r[3] == 0 and r[2] == 0)
    for key, n in exp["switch"].items():
        if sw[key] < n:
            fail("no running span for switch %s" % (key,))
            break
    crit = collections.Counter(lane_key[r[1]] for r in recs[0] if r[3] == 3 and not r[7] & 4)
    if dict(crit) != dict(exp["crit"]):
        fail("critical sections %s, expected %s" % (dict(crit), dict(exp["crit"])))
    ipis = collections.Counter(lane_key[r[1]] for r in recs[0] if r[3] == 4)
    if dict(ipis) != dict(exp["ipi_spans"]):
        fail("IPI spans %s, expected %s" % (dict(ipis), dict(exp["ipi_spans"])))
    for r in recs[0]:
        if r[5] < r[4]:
            fail("span ends before it starts: %s" % r)
            break
    # Lost events.
    lost = sum(r[4] for r in recs[4] if not r[5])
    if d["counts"]["lost_events"] != exp["lost"] or (lost < exp["lost"] and exp["lost"]):
        fail("lost events %d (gaps) / %d, expected %d" %
             (lost, d["counts"]["lost_events"], exp["lost"]))
    # Latency percentiles, exact, per benchmark.
    basic = ("send->dispatch", "send->reply", "ipi send->recv",
             "mutexq enqueue->dequeue", "mpi send->recv")
    lat = {(bench_name[l["bench"]], l["metric"], lane_key[l["src"]], lane_key[l["dst"]]): l
           for l in d["lat"] if l["metric"] in basic}
    if set(lat) != set(exp["lat"]):
        fail("latency pairs %s, expected %s" % (sorted(lat), sorted(exp["lat"])))
    for key, v in exp["lat"].items():
        v.sort()
        l = lat.get(key)
        if not l:
            continue
        want = {"n": len(v), "min": v[0], "p50": nearest_rank(v, 50),
                "p90": nearest_rank(v, 90), "p99": nearest_rank(v, 99),
                "max": v[-1]}
        for f, x in want.items():
            if l[f] != x:
                fail("latency %s %s = %s, expected %s" % (key, f, l[f], x))
        if sum(l["counts"]) != len(v):
            fail("histogram of %s holds %d samples, expected %d" %
                 (key, sum(l["counts"]), len(v)))
    # The Chrome JSON: each hop of a message is a flow, at the same times.
    c = json.load(open(chrome))
    hops = set()
    for e in c["traceEvents"]:
        if e["ph"] in "sf" and e.get("cat") == "msg":
            # A cpu's track is tid cpu + 1 (never 0).
            hops.add((e["pid"], e["args"]["msg_id"], e["ph"], e["tid"] - 1, e["ts"]))
    nmsg = 0
    for (vpid, _, mid), m in exp["msgs"].items():
        pid = vpid or 1
        want = [(pid, mid, "s", m["src"][1], round(m["t"] / 1000, 3))]
        if "disp" in m:
            want.append((pid, mid, "f", m["disp"][0][1], round(m["disp"][1] / 1000, 3)))
        for w in want:
            if w not in hops:
                fail("chrome: no flow %s" % (w,))
                break
        nmsg += 1
    print("check_viz: golden: %d lanes, %d messages, %d IPIs (%d received before "
          "their send), %d latency pairs, %d lost events" %
          (len(lane_key), nmsg, n_ipi, exp["recv_first"], len(exp["lat"]), exp["lost"]))


def truths(page, filt, pid):
    """What a kernel engineer must be able to trust, on a recorded trace
    of the runtime's workloads (process pid: the session may also hold
    other processes of the user)."""
    html, d = page_data(page)
    c = d["counts"]
    mine = {l["lane"] for l in d["lanes"] if l["vpid"] == pid}
    recs = collections.defaultdict(list)
    for r in d["rec"]:
        if r[0] in (0, 6) and r[1] not in mine:
            continue
        if r[0] in (2, 3) and r[3] not in mine:
            continue
        recs[r[0]].append(r)
    d["lat"] = [l for l in d["lat"] if l["src"] in mine]
    d["lanes"] = [l for l in d["lanes"] if l["lane"] in mine]
    d["bench"] = [d["bench"][0]] + [b for b in d["bench"][1:] if b["vpid"] == pid]
    # The title is the recorded command, and the per-event cost is known.
    if "lwkt-bench" not in d["title"] or d["event_cost_ps"] <= 0:
        fail("title %r / event cost %s: not from the recording" % (d["title"], d["event_cost_ps"]))
    # The estimate subtracts the lower of the measured cost and the
    # one-event stages' median (both upper bounds of one event's cost).
    # (no bound: too few one-event samples, e.g. a short run under load)
    bound = d["calib_bound_ps"] or d["event_cost_ps"]
    if d["cost_used_ps"] != min(d["event_cost_ps"], bound) \
            or d["calib_over"] != (d["event_cost_ps"] > bound):
        fail("calibration: measured %s, one-event bound %s, used %s, over %s" %
             (d["event_cost_ps"], d["calib_bound_ps"], d["cost_used_ps"], d["calib_over"]))
    # One benchmark entry per recorded benchmark; tables never merged.
    names = [b["name"] for b in d["bench"][1:]]
    for want in [f.strip("/") for f in filt.split("|")]:
        if not any(n.startswith(want.split("/")[0]) and want.split("/")[1] in n for n in names):
            fail("no benchmark %r among %s" % (want, names))
    if any(l["bench"] == 0 for l in d["lat"] if l["metric"] in ("send->reply", "ipi send->recv")):
        fail("latencies outside any benchmark in a benchmark-only recording")
    # Critical sections are never cut by a switch (only by the trace end
    # or a gap): a cut one per lane at most.
    cut = sum(1 for r in recs[0] if r[3] == 3 and r[7] & 1)
    if cut > len(d["lanes"]) + c["gaps"]:
        fail("%d critical sections cut (switches must suspend, not cut)" % cut)
    # Tokens: holds, waits, transfer arrows; stages request->acquire.
    ovk = collections.Counter(r[2] for r in recs[6])
    xfers = sum(1 for r in recs[3] if r[7] == 4)
    if not ovk[2] or not ovk[1] or not xfers:
        fail("token overlays %s / transfers %d" % (dict(ovk), xfers))
    # Messages: linked to their IPIs, waits as overlays, the stages and
    # their estimate without tracing; nothing joined is lost.
    linked = sum(1 for r in recs[3] if r[7] == 1 and r[8] >= 0)
    if not linked or not ovk[0]:
        fail("%d IPIs linked to a message, %d reply waits" % (linked, ovk[0]))
    st = {l["metric"] for l in d["lat"] if "cal" in l}
    for want in ("-> target notices", "-> dispatch", "handler (-> reply)", "msg total"):
        if want not in st:
            fail("no calibrated stage %r (%s)" % (want, sorted(st)))
    for l in d["lat"]:
        if "cal" in l and l["cal"]["p50"] > l["p50"]:
            fail("estimate above the traced time: %s" % l)
            break
    # (counted over the whole trace: only meaningful when the session
    # recorded no other process, which may start or end mid-run)
    if c["unmatched"] and c["processes"] == 1:
        fail("%d unmatched steps in a lossless trace" % c["unmatched"])
    if d["benchjson"] is None:
        fail("the bench JSON is not in the page")
    print("check_viz: truths: %d benchmarks, %d IPIs linked, overlays %s, %d transfers, "
          "%d crit cut, %d received before their send" %
          (len(names), linked, dict(ovk), xfers, cut, c["recv_before_send"]))


def chrome(path, lanes=None, generic=False):
    raw = open(path, encoding="utf-8").read()
    if "<" in raw:
        fail("a raw '<' in the JSON (names must be escaped)")
    c = json.loads(raw)
    evs = c["traceEvents"]
    named = {}
    per_track = collections.defaultdict(list)
    flows = collections.defaultdict(lambda: collections.Counter())
    flow_pts = []
    last = {}
    for i, e in enumerate(evs):
        ph = e.get("ph")
        if not isinstance(e.get("cat"), str) or not e["cat"]:
            fail("event %d has no \"cat\": %s" % (i, json.dumps(e)[:200]))
            break
        if "tid" in e and e["tid"] < 1:
            fail("event %d on tid %r (older Perfetto merges tid 0 into 1)" % (i, e["tid"]))
            break
        if ph in ("b", "e"):
            continue  # async slices (waits, holds): any order, may overlap
        if ph not in ("M", "X", "i", "s", "t", "f"):
            fail("event %d: unknown ph %r" % (i, ph))
            continue
        if ph == "M":
            if e["name"] == "thread_name":
                named[(e["pid"], e["tid"])] = e["args"]["name"]
            continue
        tr = (e["pid"], e["tid"])
        ts = e["ts"]
        if not isinstance(ts, (int, float)) or ts < 0:
            fail("event %d: bad ts %r" % (i, ts))
            continue
        key = ts
        if ph == "X":
            if e["dur"] < 0:
                fail("event %d: negative dur" % i)
            key = ts + e["dur"]
            per_track[tr].append((ts, ts + e["dur"]))
        if key + 1e-6 < last.get(tr, 0):
            fail("track %s: time goes back at event %d (%s < %s)" %
                 (tr, i, key, last[tr]))
        last[tr] = max(last.get(tr, 0), key)
        if ph in "stf":
            fid = (e["cat"], e["id"])
            flows[fid][ph] += 1
            if ph != "s" and e.get("bp") != "e":
                fail("flow step %d not bound to its enclosing slice" % i)
            flow_pts.append((tr, ts, fid))
    for fid, n in flows.items():
        # A hop whose end is not in the trace has no finish (none is
        # invented); a finish always has its start.
        if n["s"] != 1 or n["f"] > 1:
            fail("flow %s: %d starts, %d finishes" % (fid, n["s"], n["f"]))
            break
    if len({fid[1] for fid in flows}) != len(flows):
        fail("flow ids are not unique across categories")
    # Nesting and enclosing slices, per track.
    cover = {}
    for tr, sl in per_track.items():
        sl.sort(key=lambda x: (x[0], -x[1]))
        stack = []
        for a, b in sl:
            while stack and stack[-1] <= a + 1e-6:
                stack.pop()
            if stack and b > stack[-1] + 1e-6:
                fail("track %s: slice %s..%s overlaps its parent" % (tr, a, b))
                break
            stack.append(b)
        starts = [a for a, _ in sl]
        pmax, m = [], 0
        for _, b in sl:
            m = max(m, b)
            pmax.append(m)
        cover[tr] = (starts, pmax)
    for tr, ts, fid in flow_pts:
        starts, pmax = cover.get(tr, ([], []))
        j = bisect.bisect_right(starts, ts + 1e-6) - 1
        if j < 0 or pmax[j] + 1e-6 < ts:
            fail("flow %s step at %s on %s has no enclosing slice" % (fid, ts, tr))
            break
    tracks = sorted({tr for tr in last if tr[1] < 100000})
    for t in tracks:
        if named.get(t) != "CPU %d" % (t[1] - 1):
            fail("track %s is not named 'CPU %d' (%r)" % (t, t[1] - 1, named.get(t)))
    for t in sorted({tr for tr in last if 100000 <= tr[1] < 200000}):
        if named.get(t) != "CPU %d lost events" % (t[1] - 100000):
            fail("lost-events track %s is named %r" % (t, named.get(t)))
    if lanes is not None and len(tracks) != lanes:
        fail("%d cpu tracks, expected %d" % (len(tracks), lanes))
    if generic and not any(e.get("ph") == "i" for e in evs):
        fail("no instant events in a generic trace")
    print("check_viz: chrome: %d events, %d tracks, %d flows" %
          (len(evs), len(tracks), len(flows)))


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) >= 5 and argv[1] == "golden":
        golden(argv[2], argv[3], argv[4])
    elif len(argv) >= 3 and argv[1] == "chrome":
        lanes = None
        if "--lanes" in argv:
            lanes = int(argv[argv.index("--lanes") + 1])
        chrome(argv[2], lanes, "--generic" in argv)
    elif len(argv) == 5 and argv[1] == "truths":
        truths(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 4 and argv[1] == "procmsgs":
        # procmsgs PAGE PID: messages sent by that process
        _, d = page_data(argv[2])
        mine = {l["lane"] for l in d["lanes"] if l["vpid"] == int(argv[3])}
        print(sum(1 for r in d["rec"] if r[0] == 2 and r[3] in mine))
        return 0
    elif len(argv) == 4 and argv[1] == "dense":
        # dense PAGE WIDTH: "t0,t1", a view of WIDTH ns at the busiest
        # message traffic (for the browser's 4 us view)
        _, d = page_data(argv[2])
        w = int(argv[3])
        ts = sorted(r[10] for r in d["rec"] if r[0] == 2 and r[10] >= 0 and r[16] >= 0)
        best, at, j = -1, 0, 0
        for i, t in enumerate(ts):
            while ts[j] < t - w:
                j += 1
            if i - j > best:
                best, at = i - j, t
        print("%d,%d" % (max(0, at - w), at) if ts else "0,%d" % w)
        return 0
    elif len(argv) in (4, 5) and argv[1] == "spans":
        # spans PAGE KIND [PID]: "N M": spans of that kind (of that
        # process), and how many are cut
        _, d = page_data(argv[2])
        mine = {l["lane"] for l in d["lanes"] if len(argv) == 4 or l["vpid"] == int(argv[4])}
        sp = [r for r in d["rec"] if r[0] == 0 and r[3] == int(argv[3]) and r[1] in mine]
        print(len(sp), sum(1 for r in sp if r[7] & 1))
        return 0
    elif len(argv) == 4 and argv[1] == "page":
        _, d = page_data(argv[2])
        v = d
        for k in argv[3].split("."):
            v = v[k]
        print(json.dumps(v) if not isinstance(v, (str, int)) else v)
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
