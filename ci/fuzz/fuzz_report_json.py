#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""fuzz_report_json.py: a structured mutation test of lwkt-report's JSON
reader (ci/report/lwkt_report/results.py: load_run, check_pair).

AFL++ cannot drive it: it is Python, and Debian 12 ships no python-afl
(no PyPI here either).  This is a seeded, time-bounded mutation loop in
the same spirit: it starts from the committed seeds
(ci/fuzz/corpus/report-json/, real google-benchmark output), mutates them
at two levels, and checks the reader's contract on each result:

  bytes      bit flips, interesting bytes, insertions/deletions of
             JSON tokens, cuts, splices of two seeds, huge numbers,
             deep nesting, invalid UTF-8
  structure  the parsed document with a node replaced by a value of
             another type (null, bool, huge int, NaN, inf, string,
             list, object), a key removed, a known key added

Contract: load_run returns a Run or raises ResultError (a message naming
the file); nothing else -- a traceback is a crash.  A Run holds finite
positive samples; check_pair on it returns or raises ResultError.

Every crash input is saved (build/fuzz/crashes/report-json/) with its
traceback, and the run fails.  The committed regression inputs
(ci/fuzz/regress/report-json/) are replayed first.

usage: fuzz_report_json.py [--seconds N] [--seed S] [--out DIR] [FILE...]
  FILE...  replay these inputs only
Last line: "fuzz/report-json: N executions, N crashes"; exit 0 when no
crash.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "ci", "report"))
from lwkt_report import results  # noqa: E402
import fuzzlib  # noqa: E402

KEYS = ["context", "benchmarks", "name", "run_name", "run_type", "real_time",
        "cpu_time", "time_unit", "error_occurred", "error_message",
        "iterations", "host_name", "num_cpus", "repetitions", "aggregate_name"]
TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"null", b"true", b"false",
          b"-0", b"1e308", b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity",
          b"\\u0000", b"\\ud800", b'"iteration"', b'"aggregate"', b'"us"',
          b'"real_time"', b'"time_unit"', b'"benchmarks"', b'"context"',
          b"9" * 400, b"9" * 5000, b"[" * 5000, b"{\"a\":" * 3000, b"\xff",
          b"\xc3", b"\xed\xa0\x80", b"\x00", b"\n", b" " * 64]


def rand_value(r, depth=0):
    k = r.randrange(12)
    if k == 0:
        return None
    if k == 1:
        return r.choice([True, False])
    if k == 2:
        return r.choice([0, -1, 1, 2 ** 63, -2 ** 63, 10 ** 400, 10 ** 30])
    if k == 3:
        return r.choice([0.0, -0.0, 1e-300, 1e308, float("nan"), float("inf"),
                         float("-inf"), 3.5])
    if k == 4:
        return r.choice(["", "ns", "us", "ms", "s", "iteration", "aggregate",
                         "x" * 1000, "a/b/real_time", "\u2028", "\ud800",
                         "/", "//", "real_time"])
    if k == 5 and depth < 4:
        return [rand_value(r, depth + 1) for _ in range(r.randrange(4))]
    if k == 6 and depth < 4:
        return {r.choice(KEYS): rand_value(r, depth + 1) for _ in range(r.randrange(4))}
    if k == 7:
        return []
    if k == 8:
        return {}
    return r.choice(["x", 1, 2.5, None])


def nodes(doc, path=()):
    """Every (container, key) pair of the document."""
    out = []
    if isinstance(doc, dict):
        for k in list(doc):
            out.append((doc, k))
            out += nodes(doc[k])
    elif isinstance(doc, list):
        for i in range(len(doc)):
            out.append((doc, i))
            out += nodes(doc[i])
    return out


def mutate_struct(r, doc):
    doc = copy.deepcopy(doc)
    for _ in range(1 + r.randrange(3)):
        ns = nodes(doc)
        if not ns:
            return rand_value(r)
        c, k = r.choice(ns)
        op = r.randrange(4)
        if op == 0:
            c[k] = rand_value(r)
        elif op == 1:
            del c[k]
        elif op == 2 and isinstance(c, dict):
            c[r.choice(KEYS)] = rand_value(r)
        elif op == 3 and isinstance(c, list):
            c.insert(r.randrange(len(c) + 1), copy.deepcopy(r.choice(c)) if c else rand_value(r))
    return doc


def dumps(doc, r):
    s = json.dumps(doc, allow_nan=True, indent=r.choice([None, 1]),
                   ensure_ascii=r.choice([True, False]))
    return s.encode("utf-8", "surrogatepass")


def mutate_bytes(r, data, seeds):
    b = bytearray(data)
    for _ in range(1 + r.randrange(4)):
        op = r.randrange(7)
        pos = r.randrange(len(b) + 1)
        if op == 0 and b:
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
        elif op == 1 and b:
            b[r.randrange(len(b))] = r.choice([0, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d,
                                               0x2c, 0x3a, 0xff, 0x80, 0x30, 0x2d])
        elif op == 2:
            b[pos:pos] = r.choice(TOKENS)
        elif op == 3 and b:
            n = r.randrange(1, 1 + min(64, len(b)))
            del b[pos:pos + n]
        elif op == 4:
            del b[pos:]
        elif op == 5:
            other = r.choice(seeds)
            j = r.randrange(len(other) + 1)
            b = b[:pos] + other[j:]
        elif op == 6 and b:
            n = r.randrange(1, 1 + min(64, len(b)))
            b[pos:pos] = b[max(0, pos - n):pos]
    return bytes(b)


class Crash(Exception):
    pass


def check(path, ref_run):
    """The reader's contract on one file; raises Crash with the
    traceback when it is broken."""
    try:
        try:
            run = results.load_run(path)
        except results.ResultError as e:
            if path not in str(e):
                raise Crash("ResultError without the file name: %s" % e)
            return
        for k, v in run.samples.items():
            if not isinstance(k, str) or not v:
                raise Crash("Run with a bad sample list for %r" % (k,))
            for x in v:
                if not (isinstance(x, float) and math.isfinite(x) and x > 0):
                    raise Crash("Run with a sample %r for %s" % (x, k))
        for pair in (([ref_run], [run]), ([run], [run])):
            try:
                results.check_pair(*pair)
            except results.ResultError:
                pass
    except Crash:
        raise
    except Exception:  # noqa: BLE001 - any other exception is the finding
        raise Crash(traceback.format_exc())


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def save(outdir, data, why):
    os.makedirs(outdir, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:16]
    p = os.path.join(outdir, "crash-%s.json" % h)
    with open(p, "wb") as f:
        f.write(data)
    with open(p + ".txt", "w") as f:
        f.write(why)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: from the clock; printed)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "fuzz", "crashes",
                                                  "report-json"))
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.seconds <= 0:
        ap.error("--seconds must be positive")
    cdir = os.path.join(HERE, "corpus", "report-json")
    rdir = os.path.join(HERE, "regress", "report-json")
    seeds = []
    for d in (cdir,):
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                seeds.append(f.read())
    ref_run = results.load_run(os.path.join(cdir, sorted(os.listdir(cdir))[0]))
    docs = [json.loads(s) for s in seeds]

    tmp = tempfile.TemporaryDirectory(prefix="lwkt-fuzz-json.")
    path = os.path.join(tmp.name, "input.json")
    crashes = 0
    execs = 0
    sigs = set()

    def one(data, dedupe=True):
        """Checks one input; a crash counts once per signature (the
        exception type and the innermost frame, as AFL++ counts unique
        crashes by their path)."""
        nonlocal crashes, execs
        with open(path, "wb") as f:
            f.write(data)
        execs += 1
        try:
            check(path, ref_run)
        except Crash as c:
            lines = str(c).rstrip().splitlines()
            frames = [ln for ln in lines if ln.lstrip().startswith("File ")]
            sig = (frames[-1] if frames else "", lines[-1].split(":")[0] if lines else "")
            if dedupe and sig in sigs:
                return
            sigs.add(sig)
            crashes += 1
            p = save(a.out, data, str(c))
            print("fuzz/report-json: CRASH (saved %s):\n%s" % (p, str(c).rstrip()[-1500:]))

    # Replays: the given files, else the seeds and every regression input.
    fuzzlib.replay(a.files or fuzzlib.saved_inputs([cdir, rdir], ".json"), read_bytes, one)
    nreplay = execs
    if a.files:
        print("fuzz/report-json: %d inputs replayed, %d crashes" % (execs, crashes))
        return 1 if crashes else 0

    seed, r, t_end = fuzzlib.campaign(a.seed, a.seconds)
    seen = set()
    while time.monotonic() < t_end:
        if r.random() < 0.5:
            data = mutate_bytes(r, r.choice(seeds), seeds)
        else:
            data = dumps(mutate_struct(r, r.choice(docs)), r)
            if r.random() < 0.3:
                data = mutate_bytes(r, data, seeds)
        h = hashlib.sha1(data).digest()
        if h in seen:
            continue
        seen.add(h)
        one(data)
    print("fuzz/report-json: seed %d, %d regression/seed inputs replayed, %d mutated "
          "inputs in %.0f s, %d crashes" % (seed, nreplay, execs - nreplay, a.seconds, crashes))
    print("fuzz/report-json: %d executions, %d crashes" % (execs, crashes))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
