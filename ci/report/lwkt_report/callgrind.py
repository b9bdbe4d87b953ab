# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per iteration of the single-cpu paths under callgrind.

Instruction counts under valgrind are repeatable where timings are not:
a changed count needs no statistics.  Method: callgrind dumps its counters
before and after each call of the benchmark's registered function
(--dump-before/--dump-after), so one dump holds exactly google-benchmark's
final run of it, whose iteration count N is in the JSON output.  The
instructions the run executed in lwkt-bench's own code (the runtime and
the benchmark, not libc or the benchmark library), counted per function
by address, are c_f*N + k_f per function f (k: set-up, tear-down, and a
cpu's idle spin, whose length depends on timing), so two runs with
different N give each slope c_f = (I2 - I1) / (N2 - N1).  The path's count
is the sum of the slopes of the functions that run per iteration
(c_f >= 0.5; the others are set-up) minus the idle loop's (timing).  Counting by address
(self cost per function) is immune to the runtime's stack switches,
which confuse callgrind's call tracking (and so --toggle-collect).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile


class CallgrindError(Exception):
    pass


# (path, benchmark key, the function google-benchmark calls)
PATHS = [
    ("switch", "switch/lwkt_thread", "bm_lwkt_switch"),
    ("same-cpu domsg", "roundtrip/lwkt_domsg_local", "bm_domsg_local"),
    ("local token get+rel", "token/cpu_owned_local", "bm_cpu_owned_local"),
    ("shim loop", "shim/empty_loop", "bm_shim_empty_loop"),
]

def self_costs(path, object_suffix):
    """{function: self Ir} over the functions of objects whose name ends
    with object_suffix, from a callgrind output file (format: valgrind
    docs, "Callgrind Format Specification")."""
    names = {"ob": {}, "fn": {}}
    cur_ob = cur_fn = None
    skip_next = False
    out = {}

    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), rest)

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False     # a call's inclusive cost
                    continue
                if cur_ob is not None and cur_ob.endswith(object_suffix):
                    parts = line.split()
                    if len(parts) >= 2:
                        out[cur_fn] = out.get(cur_fn, 0) + int(parts[1])
                continue
            key, _, rest = line.partition("=")
            if key == "ob":
                cur_ob = name("ob", rest)
            elif key == "fn":
                cur_fn = name("fn", rest)
            elif key in ("cob",):
                name("ob", rest)
            elif key == "cfn":
                name("fn", rest)
            elif key == "calls":
                skip_next = True
    return out


def _one(exe, key, fn, min_time, env, timeout=900):
    d = tempfile.mkdtemp(prefix="lwkt-cg-")
    try:
        out = os.path.join(d, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=" + fn, "--dump-after=" + fn,
               "--compress-pos=no", "--callgrind-out-file=" + out, exe,
               "--benchmark_filter=^%s(/|$)" % re.escape(key),
               "--benchmark_min_time=%g" % min_time, "--benchmark_repetitions=1",
               "--benchmark_format=json"]
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
        if p.returncode != 0:
            raise CallgrindError("%s: valgrind exited %d: %s" % (key, p.returncode,
                                                                  p.stderr[-500:]))
        try:
            doc = json.loads(p.stdout)
            runs = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
            n = int(runs[-1]["iterations"])
        except (ValueError, KeyError, IndexError) as ex:
            raise CallgrindError("%s: no iteration count in lwkt-bench's output (%s)"
                                 % (key, ex))
        dumps = sorted((f for f in os.listdir(d) if re.match(r"cg\.out\.\d+$", f)),
                       key=lambda f: int(f.rsplit(".", 1)[1]))
        if len(dumps) < 2:
            raise CallgrindError("%s: callgrind wrote no dump around %s (is it the "
                                 "benchmark's function?)" % (key, fn))
        return n, self_costs(os.path.join(d, dumps[-1]), os.path.basename(exe))
    finally:
        shutil.rmtree(d, ignore_errors=True)


# A cpu with nothing to run polls (has_work) for a time budget before it
# sleeps: those counts follow the clock, not the path.
_TIMING = re.compile(r"idle|has_work")


def per_iteration(exe, key, fn, env=None):
    """Instructions per iteration in lwkt-bench's own code, or None when
    the two runs got too close iteration counts to tell."""
    (n1, a), (n2, b) = sorted((_one(exe, key, fn, mt, env) for mt in (0.05, 0.15)),
                              key=lambda t: t[0])
    if n2 - n1 < 1000:
        return None
    total = 0.0
    for f in set(a) | set(b):
        if _TIMING.search(f or ""):
            continue
        slope = (b.get(f, 0) - a.get(f, 0)) / (n2 - n1)
        if slope >= 0.5:
            total += slope
    return round(total, 1)


def available():
    return shutil.which("valgrind") is not None


def measure(exe, env=None, keys=None):
    """Rows for the paths (those of `keys` only, when given)."""
    if not available():
        raise CallgrindError("valgrind is not installed (ci/install-deps installs it)")
    rows = []
    for path, key, fn in PATHS:
        if keys is not None and key not in keys:
            continue
        try:
            ir = per_iteration(exe, key, fn, env)
            note = None if ir is not None else "iteration counts too close"
        except CallgrindError as e:
            ir, note = None, str(e)
        rows.append({"path": path, "benchmark": key, "function": fn, "ir": ir, "note": note})
    return rows


def compare(bexe, hexe, benv=None, henv=None, keys=None):
    b = {r["benchmark"]: r for r in measure(bexe, benv, keys)}
    out = []
    for r in measure(hexe, henv, keys):
        out.append({"path": r["path"], "benchmark": r["benchmark"],
                    "base": b[r["benchmark"]]["ir"], "head": r["ir"],
                    "note": r["note"] or b[r["benchmark"]]["note"]})
    return out
