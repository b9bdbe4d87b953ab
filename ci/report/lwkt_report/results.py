# SPDX-License-Identifier: BSD-3-Clause
"""Reading benchmark results: google-benchmark JSON files (one file = one
process run = one cell, its floors measured in the same process).

Every problem with an input file is a ResultError whose message names the
file and the problem; nothing is guessed from a file that does not look
like google-benchmark output.
"""
import csv
import json
import math
import os
import re

# google-benchmark's time units (benchmark.h: TimeUnit) -> nanoseconds.
_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class ResultError(Exception):
    """A bad input file: the message names the file and the problem."""


class Run:
    """One google-benchmark process run.

    samples: benchmark key -> list of per-repetition times in ns
    errors:  benchmark key -> the benchmark's own error message
    context: google-benchmark's "context" object (host_name, date, ...)
    """

    def __init__(self, path, context):
        self.path = path
        self.context = context
        self.samples = {}
        self.errors = {}
        self.order = []          # keys in file order
        self.cell = None         # a matrix cell ("Package 0-1"), else None

    def host(self):
        return self.context.get("host_name", "?")

    def __repr__(self):
        return "Run(%s, %d benchmarks)" % (self.path, len(self.samples))


def bench_key(name):
    """The benchmark's key: its name without google-benchmark's
    /real_time and /manual_time components (the family name and params,
    e.g. reqrep/lwkt_msg/clients:4)."""
    return "/".join(p for p in name.split("/")
                    if p not in ("real_time", "manual_time"))


def split_key(key):
    """(workload, mechanism, params) of a key `workload/mechanism/...`."""
    parts = key.split("/")
    return (parts[0], parts[1] if len(parts) > 1 else "",
            "/".join(parts[2:]))


def _where(text, pos):
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return "line %d column %d" % (line, col)


def load_run(path):
    """Reads one google-benchmark JSON file into a Run.

    Raises ResultError naming the file when it cannot be read, is not JSON,
    is cut short, is some other JSON (not google-benchmark's), or holds an
    entry without the fields a result needs."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ResultError("%s: cannot read: %s" % (path, e.strerror or e))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ResultError("%s: not UTF-8 text (byte %d): not a google-benchmark "
                          "JSON file" % (path, e.start))
    if not text.strip():
        raise ResultError("%s: empty file (an interrupted run?)" % path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        tail = text.rstrip()
        # Cut short: the parser ran out of text (at the end, or inside a
        # string that runs to the end), as opposed to meeting a bad char.
        if e.pos >= len(tail) or (e.msg.startswith("Unterminated string")
                                  and '"' not in text[e.pos + 1:]):
            raise ResultError("%s: truncated JSON: the text ends at %s before "
                              "the document is complete (an interrupted run?)"
                              % (path, _where(text, len(tail))))
        raise ResultError("%s: malformed JSON at %s: %s"
                          % (path, _where(text, e.pos), e.msg))
    except RecursionError:
        raise ResultError("%s: JSON nested too deeply to read: not a "
                          "google-benchmark JSON file" % path)
    except ValueError as e:
        # An integer past Python's int_max_str_digits (4300 digits).
        raise ResultError("%s: malformed JSON: %s" % (path, e))
    return run_from_doc(path, doc)


def run_from_doc(path, doc):
    """Validates a parsed document (see load_run) and builds the Run."""
    if not isinstance(doc, dict):
        raise ResultError("%s: not google-benchmark JSON: the top level is a %s, "
                          "not an object with 'context' and 'benchmarks'"
                          % (path, type(doc).__name__))
    missing = [k for k in ("context", "benchmarks") if k not in doc]
    if missing:
        raise ResultError("%s: not google-benchmark JSON: no %s member (keys: %s)"
                          % (path, " and ".join("'%s'" % m for m in missing),
                             ", ".join(sorted(doc)[:8]) or "none"))
    ctx, benches = doc["context"], doc["benchmarks"]
    if not isinstance(ctx, dict) or not isinstance(benches, list):
        raise ResultError("%s: not google-benchmark JSON: 'context' must be an "
                          "object and 'benchmarks' a list" % path)
    run = Run(path, ctx)
    for i, b in enumerate(benches):
        if not isinstance(b, dict):
            raise ResultError("%s: benchmark #%d is a %s, not an object"
                              % (path, i, type(b).__name__))
        name = b.get("name")
        if not isinstance(name, str) or not name:
            raise ResultError("%s: benchmark #%d has no 'name'" % (path, i))
        if b.get("run_type", "iteration") != "iteration":
            continue             # mean/median/stddev/cv: recomputed here
        key = bench_key(b.get("run_name", name) if isinstance(
            b.get("run_name"), str) else name)
        if b.get("error_occurred"):
            run.errors[key] = str(b.get("error_message", "error"))
            if key not in run.order:
                run.order.append(key)
            continue
        if "real_time" not in b:
            raise ResultError("%s: benchmark #%d (%s) has no 'real_time'"
                              % (path, i, name))
        unit = b.get("time_unit", "ns")
        if not isinstance(unit, str) or unit not in _UNIT_NS:
            raise ResultError("%s: benchmark #%d (%s): unknown time_unit '%s'"
                              % (path, i, name, unit))
        t = b["real_time"]
        if (not isinstance(t, (int, float)) or isinstance(t, bool)
                or not _finite(t) or t <= 0):
            raise ResultError("%s: benchmark #%d (%s): real_time %r is not a "
                              "positive number" % (path, i, name, t))
        ns = float(t) * _UNIT_NS[unit]
        if not math.isfinite(ns):
            raise ResultError("%s: benchmark #%d (%s): real_time %r %s is too "
                              "large in ns" % (path, i, name, t, unit))
        if key not in run.samples:
            run.samples[key] = []
            if key not in run.order:
                run.order.append(key)
        run.samples[key].append(ns)
    if not run.samples and not run.errors:
        raise ResultError("%s: google-benchmark JSON without any benchmark result"
                          % path)
    return run


def _finite(x):
    """math.isfinite, and False for an int too large for a float (a
    JSON integer of 400 digits is valid JSON)."""
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


_ROUND_RE = re.compile(r"(\d+)")


def _natural(name):
    return [int(t) if t.isdigit() else t for t in _ROUND_RE.split(name)]


def is_matrix(spec):
    """A bench-matrix output directory (bench/matrix/lwkt-matrix --out)."""
    return (os.path.isdir(spec) and os.path.isfile(os.path.join(spec, "results.csv"))
            and os.path.isdir(os.path.join(spec, "hosts")))


def _tsv(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except OSError as e:
        raise ResultError("%s: cannot read: %s" % (path, e.strerror or e))
    except csv.Error as e:
        raise ResultError("%s: malformed TSV: %s" % (path, e))
    return rows


def load_matrix(spec):
    """The cells of a matrix output as Runs: each cell's raw
    google-benchmark JSON, with its floors measured in the same process;
    run.cell names the cell ("CLASS A-B", prefixed by the host when the
    output holds several)."""
    hdir = os.path.join(spec, "hosts")
    hosts = sorted(d for d in os.listdir(hdir) if os.path.isdir(os.path.join(hdir, d)))
    runs = []
    for h in hosts:
        cells = os.path.join(hdir, h, "cells.tsv")
        if not os.path.exists(cells):
            continue             # a host with no finished cell
        for row in _tsv(cells):
            for col in ("cell", "class", "cpu_a", "cpu_b", "json"):
                if row.get(col) is None:
                    raise ResultError("%s: not a bench-matrix cells.tsv: no '%s' column"
                                      % (cells, col))
            label = "%s %s-%s" % (row["class"], row["cpu_a"], row["cpu_b"])
            if len(hosts) > 1:
                label = "%s:%s" % (h, label)
            for j in (row["json"], row.get("mpi_json") or ""):
                if not j:
                    continue
                r = load_run(os.path.join(hdir, h, j))
                r.cell = label
                runs.append(r)
    if not runs:
        raise ResultError("%s: bench-matrix output without any finished cell" % spec)
    return runs


MATRIX_COLUMNS = ("host", "workload", "mechanism", "class", "cpu_a", "cpu_b", "params",
                  "ratio", "floor")


def load_matrix_csv(spec):
    """results.csv of a matrix output: the tidy rows (ratio to the pair's
    floor), checked for the columns the heat maps need."""
    path = os.path.join(spec, "results.csv")
    try:
        with open(path, newline="") as f:
            rd = csv.DictReader(f)
            missing = [c for c in MATRIX_COLUMNS if c not in (rd.fieldnames or [])]
            if missing:
                raise ResultError("%s: not a bench-matrix results.csv: no %s column"
                                  % (path, ", ".join(missing)))
            return list(rd)
    except OSError as e:
        raise ResultError("%s: cannot read: %s" % (path, e.strerror or e))
    except csv.Error as e:
        raise ResultError("%s: malformed CSV: %s" % (path, e))


def load_side(spec):
    """A side of a comparison: a JSON file, a directory of them (the
    rounds of an A/B run, sorted by name), or a bench-matrix output
    directory (its cells).  Returns a list of Runs."""
    if is_matrix(spec):
        return load_matrix(spec)
    if os.path.isdir(spec):
        files = sorted((f for f in os.listdir(spec) if f.endswith(".json")),
                       key=_natural)
        if not files:
            raise ResultError("%s: directory without any .json result file" % spec)
        return [load_run(os.path.join(spec, f)) for f in files]
    return [load_run(spec)]


def check_pair(base, head, allow_cross_host=False):
    """Checks two sides can be compared: at least one benchmark in common,
    and (unless allowed) the same host.  Raises ResultError naming files."""
    bk = set().union(*(r.samples.keys() for r in base))
    hk = set().union(*(r.samples.keys() for r in head))
    if not bk & hk:
        raise ResultError("mismatched results: %s and %s have no benchmark in "
                          "common (base: %s; head: %s)"
                          % (base[0].path, head[0].path,
                             ", ".join(sorted(bk)[:3]) or "none",
                             ", ".join(sorted(hk)[:3]) or "none"))
    if not allow_cross_host:
        hosts = {}
        for r in base + head:
            # Keyed by their JSON text: a context may hold any JSON value.
            key = tuple(json.dumps(v, sort_keys=True) if not isinstance(v, str) else v
                        for v in (r.host(), r.context.get("num_cpus")))
            hosts.setdefault(key, r.path)
        if len(hosts) > 1:
            desc = "; ".join("%s has host %s with %s cpus" % (p, h, n)
                             for (h, n), p in hosts.items())
            raise ResultError("mismatched results: runs from different machines "
                              "cannot be compared (%s); pass --allow-cross-host "
                              "to compare anyway" % desc)
