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


def page_data(path):
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script id="lwkt-data" type="application/json">(.*?)</script>',
                  html, re.S)
    if not m:
        sys.exit("check_viz: no lwkt-data in " + path)
    return html, json.loads(m.group(1))


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
    import bt2
    pu_lane = {}
    pairs = {}
    exp = {"base": None, "lanes": set(), "msgs": {}, "ipis": {}, "names": {},
           "switch": collections.Counter(), "crit": collections.Counter(),
           "ipi_spans": collections.Counter(), "lost": 0, "events": 0,
           "lat": collections.defaultdict(list)}
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
        pu = int(ev.packet.context_field["cpu_id"])
        if not name.startswith("lwkt:") or name[5:] not in OWN:
            lane = pu_lane.get(pu, pu)
            exp["lanes"].add(lane)
            k, p = name[5:], ev.payload_field
            # Baseline pairs: mutexq (queue_id, seq), MPI (snd, rcv, tag, seq).
            if k in ("mutexq_enqueue", "mpi_send"):
                key = ((k, int(p["queue_id"]), int(p["seq"])) if k[0] == "m" and k[1] == "u"
                       else (k, int(p["rank"]), int(p["peer"]), int(p["tag"]), int(p["seq"])))
                pairs[key] = (lane, t)
            elif k == "mutexq_dequeue":
                s = pairs.pop(("mutexq_enqueue", int(p["queue_id"]), int(p["seq"])), None)
                if s:
                    exp["lat"][("mutexq enqueue->dequeue", s[0], lane)].append(t - s[1])
            elif k == "mpi_recv":
                s = pairs.pop(("mpi_send", int(p["peer"]), int(p["rank"]), int(p["tag"]),
                               int(p["seq"])), None)
                if s:
                    exp["lat"][("mpi send->recv", s[0], lane)].append(t - s[1])
            continue
        k = name[5:]
        p = ev.payload_field
        lane = int(p[OWN[k]])
        exp["lanes"].add(lane)
        pu_lane[pu] = lane
        if k == "thread_create":
            exp["names"][int(p["tid"])] = str(p["name"])
        elif k == "thread_switch":
            exp["switch"][(lane, t, int(p["to_tid"]))] += 1
        elif k == "crit_enter":
            exp["crit"][lane] += 1
        elif k == "ipi_recv":
            exp["ipi_spans"][lane] += 1
            key = (int(p["src"]), int(p["dst"]), int(p["ipi_id"]))
            s = exp["ipis"].get(key)
            if s and "recv" not in s:
                s["recv"] = (lane, t)
                exp["lat"][("ipi send->recv", s["src"], lane)].append(t - s["t"])
        elif k == "ipi_send":
            exp["ipis"][(int(p["src"]), int(p["dst"]), int(p["ipi_id"]))] = {
                "src": lane, "t": t}
        elif k == "msg_send":
            exp["msgs"][int(p["msg_id"])] = {"src": lane, "t": t,
                                             "dst": int(p["dst"]),
                                             "port": int(p["port_id"])}
        elif k == "msg_dispatch":
            m = exp["msgs"].get(int(p["msg_id"]))
            if m and "disp" not in m:
                m["disp"] = (lane, t)
                exp["lat"][("send->dispatch", m["src"], lane)].append(t - m["t"])
        elif k == "msg_reply":
            m = exp["msgs"].get(int(p["msg_id"]))
            if m and "reply" not in m:
                m["reply"] = (lane, t)
                exp["lat"][("send->reply", m["src"], m["dst"])].append(t - m["t"])
    return exp


def golden(trace, page, chrome):
    exp = read_trace(trace)
    html, d = page_data(page)
    # Escaping: no raw markup from the trace may reach the page.
    if "<b onmouseover" in html or "</script><b" in html:
        fail("raw markup from the trace in the page")
    lanes = sorted(l["lane"] for l in d["lanes"])
    if lanes != sorted(exp["lanes"]):
        fail("lanes %s, expected %s" % (lanes, sorted(exp["lanes"])))
    if str(exp["base"]) != d["base_ns"]:
        fail("base_ns %s, expected %s" % (d["base_ns"], exp["base"]))
    if d["counts"]["events"] != exp["events"]:
        fail("events %d, expected %d" % (d["counts"]["events"], exp["events"]))
    recs = collections.defaultdict(list)
    for r in d["rec"]:
        recs[r[0]].append(r)
    # Messages: every send, dispatch and reply at its lane and time.
    got = {r[1]: r for r in recs[2]}
    if len(got) != len(exp["msgs"]):
        fail("%d messages, expected %d" % (len(got), len(exp["msgs"])))
    for mid, m in exp["msgs"].items():
        r = got.get(mid)
        disp = m.get("disp", (-1, -1))
        reply = m.get("reply", (-1, -1))
        want = [2, mid, m["port"], m["src"], m["t"], disp[0], disp[1],
                reply[0], reply[1]]
        if r is None or r[:9] != want or r[10] != m["dst"]:
            fail("message %d: %s, expected %s" % (mid, r, want))
            break
    # IPIs.
    n_ipi = sum(1 for s in exp["ipis"].values() if "recv" in s)
    got_ipi = sum(1 for r in recs[3] if r[5] >= 0 and r[7] == 1)
    if got_ipi != n_ipi:
        fail("%d IPIs received, expected %d" % (got_ipi, n_ipi))
    # Thread names.
    names = {r[1]: r[2] for r in recs[5]}
    if names != exp["names"]:
        fail("thread names %s, expected %s" % (names, exp["names"]))
    # Spans: one running span per switch, one per critical section, IPI.
    sw = collections.Counter((r[1], r[4], r[6]) for r in recs[0]
                             if r[3] == 0 and r[2] == 0)
    for key, n in exp["switch"].items():
        if sw[key] < n:
            fail("no running span for switch %s" % (key,))
            break
    crit = collections.Counter(r[1] for r in recs[0] if r[3] == 3)
    if dict(crit) != dict(exp["crit"]):
        fail("critical sections %s, expected %s" % (dict(crit), dict(exp["crit"])))
    ipis = collections.Counter(r[1] for r in recs[0] if r[3] == 4)
    if dict(ipis) != dict(exp["ipi_spans"]):
        fail("IPI spans %s, expected %s" % (dict(ipis), dict(exp["ipi_spans"])))
    for r in recs[0]:
        if r[5] < r[4]:
            fail("span ends before it starts: %s" % r)
            break
    # Lost events.
    lost = sum(r[4] for r in recs[4] if not r[5])
    if lost != exp["lost"] or d["counts"]["lost_events"] != exp["lost"]:
        fail("lost events %d (gaps) / %d, expected %d" %
             (lost, d["counts"]["lost_events"], exp["lost"]))
    # Latency percentiles, exact.
    lat = {(l["metric"], l["src"], l["dst"]): l for l in d["lat"]}
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
    # The Chrome JSON: the same flows, at the same times.
    c = json.load(open(chrome))
    flows = collections.defaultdict(dict)
    for e in c["traceEvents"]:
        if e["ph"] in "stf" and e.get("cat") == "msg":
            flows[e["args"]["msg_id"]][e["ph"]] = (e["tid"], e["ts"])
    if len(flows) != len(exp["msgs"]):
        fail("chrome: %d message flows, expected %d" % (len(flows), len(exp["msgs"])))
    for mid, m in exp["msgs"].items():
        f = flows.get(mid, {})
        if f.get("s") != (m["src"], round(m["t"] / 1000, 3)):
            fail("chrome: flow of message %d starts at %s" % (mid, f.get("s")))
            break
        if "disp" in m and f.get("t") != (m["disp"][0], round(m["disp"][1] / 1000, 3)):
            fail("chrome: flow of message %d dispatch at %s" % (mid, f.get("t")))
            break
        if "reply" in m and f.get("f") != (m["reply"][0], round(m["reply"][1] / 1000, 3)):
            fail("chrome: flow of message %d reply at %s" % (mid, f.get("f")))
            break
    print("check_viz: golden: %d lanes, %d messages, %d IPIs, %d latency pairs, "
          "%d lost events" % (len(lanes), len(exp["msgs"]), n_ipi, len(exp["lat"]),
                              exp["lost"]))


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
        if ph not in ("M", "X", "i", "s", "t", "f"):
            fail("event %d: unknown ph %r" % (i, ph))
            continue
        if ph == "M":
            if e["name"] == "thread_name":
                named[e["tid"]] = e["args"]["name"]
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
        if n["s"] != 1 or n["f"] != 1:
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
    tracks = sorted({tr[1] for tr in last if tr[1] < 100000})
    for t in tracks:
        if named.get(t) != "CPU %d" % t:
            fail("track %d is not named 'CPU %d' (%r)" % (t, t, named.get(t)))
    for t in sorted({tr[1] for tr in last if tr[1] >= 100000}):
        if named.get(t) != "CPU %d lost events" % (t - 100000):
            fail("lost-events track %d is named %r" % (t, named.get(t)))
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
    elif len(argv) == 4 and argv[1] == "spans":
        # spans PAGE KIND: "N M": spans of that kind, and how many are cut
        _, d = page_data(argv[2])
        sp = [r for r in d["rec"] if r[0] == 0 and r[3] == int(argv[3])]
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
