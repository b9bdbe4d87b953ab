# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per iteration of the single-cpu paths under callgrind.

Instruction counts under valgrind are repeatable where timings are not:
a changed count needs no statistics.  Method: callgrind collects only
inside the function that runs the benchmark's timed loop
(--collect-atstart=no --toggle-collect=FN) and dumps after each call
(--dump-after=FN); the last dump is the final run of google-benchmark's
iteration search, whose iteration count N is in the JSON output.  Its
count is c*N + k (k: the loop's prologue and epilogue), so two runs with
different N give c exactly: c = (I2 - I1) / (N2 - N1).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile


class CallgrindError(Exception):
    pass


# (path, benchmark filter key, the function running its timed loop)
PATHS = [
    ("shim loop", "shim/empty_loop", "bm_shim_empty_loop"),
    ("local token get+rel", "token/cpu_owned_local", "local_bencher*"),
    ("local token get+rel (atomic)", "token/atomic_local", "local_bencher*"),
    ("switch", "switch/lwkt_thread", "sw_timed"),
    ("same-cpu domsg", "roundtrip/lwkt_domsg_local", "rt_client"),
]


def available():
    return shutil.which("valgrind") is not None


def _one(exe, key, fn, min_time, env, timeout=600):
    d = tempfile.mkdtemp(prefix="lwkt-cg-")
    try:
        out = os.path.join(d, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
               "--toggle-collect=" + fn, "--dump-after=" + fn,
               "--callgrind-out-file=" + out, exe,
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
        dumps = sorted(glob.glob(out + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
        if not dumps:
            raise CallgrindError("%s: callgrind wrote no dump for %s" % (key, fn))
        with open(dumps[-1]) as f:
            m = re.search(r"^summary:\s*(\d+)", f.read(), re.M)
        if not m:
            raise CallgrindError("%s: no summary line in %s" % (key, dumps[-1]))
        return n, int(m.group(1))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def per_iteration(exe, key, fn, env=None):
    """Instructions per iteration, or None when the count is not linear in
    the iteration count (the loop function was not tracked: e.g. a stack
    switch inside it hides its calls from callgrind)."""
    pts = []
    for mt in (0.005, 0.02):
        pts.append(_one(exe, key, fn, mt, env))
    (n1, i1), (n2, i2) = sorted(pts)
    if n2 - n1 < 100:
        return None
    c = (i2 - i1) / (n2 - n1)
    k = i1 - c * n1
    # Linear with a small positive prologue, else the toggle lost track.
    if c <= 0 or k < 0 or k > 0.05 * i1 + 100000:
        return None
    return round(c, 2)


def measure(exe, env=None):
    if not available():
        raise CallgrindError("valgrind is not installed (ci/install-deps installs it)")
    rows = []
    for path, key, fn in PATHS:
        try:
            ir = per_iteration(exe, key, fn, env)
            note = None if ir is not None else "not linear in N (untracked loop)"
        except CallgrindError as e:
            ir, note = None, str(e)
        rows.append({"path": path, "benchmark": key, "function": fn, "ir": ir, "note": note})
    return rows


def compare(bexe, hexe, benv=None, henv=None):
    b = {r["benchmark"]: r for r in measure(bexe, benv)}
    out = []
    for r in measure(hexe, henv):
        out.append({"path": r["path"], "benchmark": r["benchmark"],
                    "base": b[r["benchmark"]]["ir"], "head": r["ir"],
                    "note": r["note"] or b[r["benchmark"]]["note"]})
    return out
