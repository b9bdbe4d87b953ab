# SPDX-License-Identifier: BSD-3-Clause
"""History of main-branch runs in SQLite, and change points over it.

Rows are keyed by (commit, host, benchmark): one value per commit per host
record per benchmark (a re-run of a commit replaces its rows).  The host
key is a digest of the fields of the host record that change what a
benchmark can do (cpu model, PUs, kernel, the bench cpus and their
distance): runs of different hosts are separate series.

Change points: recursive binary segmentation with Student's t-test
(pooled variance: the least-squares split), the split Hunter uses in
place of E-Divisive's permutation test (Fleming et al., "Hunter: Using
Change Point Detection to Hunt for Performance Regressions", ICPE 2023;
Daly et al., ICPE 2020 for E-Divisive means in CI).  A split is kept
when its p-value, corrected for the number of
candidate split points, is below `alpha` and the two sides' means differ
by at least the effect floor.
"""
import hashlib
import json
import math
import sqlite3
import time

import numpy as np
from scipy import stats as sps

SCHEMA = """
CREATE TABLE IF NOT EXISTS hosts (
  host_id TEXT PRIMARY KEY,          -- digest of the identifying fields
  record  TEXT NOT NULL              -- the host record (JSON)
);
CREATE TABLE IF NOT EXISTS runs (
  commit_sha TEXT NOT NULL,
  host_id    TEXT NOT NULL REFERENCES hosts(host_id),
  seq        INTEGER NOT NULL,       -- order of arrival (the series' x)
  date       TEXT NOT NULL,
  subject    TEXT,
  PRIMARY KEY (commit_sha, host_id)
);
CREATE TABLE IF NOT EXISTS results (
  commit_sha TEXT NOT NULL,
  host_id    TEXT NOT NULL,
  benchmark  TEXT NOT NULL,
  floor      TEXT,                   -- NULL: a floor itself, raw ns
  value      REAL NOT NULL,          -- median ratio to the floor (or ns)
  raw_ns     REAL NOT NULL,          -- median time, ns
  n          INTEGER NOT NULL,
  PRIMARY KEY (commit_sha, host_id, benchmark),
  FOREIGN KEY (commit_sha, host_id) REFERENCES runs(commit_sha, host_id)
);
CREATE TABLE IF NOT EXISTS aa (
  date TEXT NOT NULL, host_id TEXT NOT NULL, source TEXT NOT NULL,
  alarms INTEGER NOT NULL, comparisons INTEGER NOT NULL, claimed REAL NOT NULL
);
"""

_HOST_KEYS = ("cpu_model", "pus", "cores", "packages", "numa_nodes", "kernel",
              "bench_cpus", "bench_cpus_distance", "hostname", "host_name")


def host_id(record):
    ident = {k: record.get(k) for k in _HOST_KEYS if k in record}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def open_db(path):
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def append(db, commit, host, rows, subject=None):
    """Appends (or replaces) one commit's results.  rows: dicts with key,
    floor, value, raw_ns, n."""
    hid = host_id(host)
    with db:
        db.execute("INSERT OR REPLACE INTO hosts VALUES (?, ?)",
                   (hid, json.dumps(host, sort_keys=True)))
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()[0]
        old = db.execute("SELECT seq FROM runs WHERE commit_sha=? AND host_id=?",
                         (commit, hid)).fetchone()
        if old:
            seq = old[0]
        db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                   (commit, hid, seq, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    subject))
        db.execute("DELETE FROM results WHERE commit_sha=? AND host_id=?", (commit, hid))
        db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(commit, hid, r["key"], r["floor"], r["value"], r["raw_ns"],
                         r["n"]) for r in rows])
    return hid


def append_aa(db, host, source, n_alarms, n_cmp, claimed):
    hid = host_id(host)
    with db:
        db.execute("INSERT OR REPLACE INTO hosts VALUES (?, ?)",
                   (hid, json.dumps(host, sort_keys=True)))
        db.execute("INSERT INTO aa VALUES (?, ?, ?, ?, ?, ?)",
                   (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), hid, source,
                    n_alarms, n_cmp, claimed))


def aa_totals(db, host=None):
    q = "SELECT COALESCE(SUM(alarms),0), COALESCE(SUM(comparisons),0), COUNT(*) FROM aa"
    if host is not None:
        return db.execute(q + " WHERE host_id=?", (host_id(host),)).fetchone()
    return db.execute(q).fetchone()


def series(db, host=None):
    """{(host_id, benchmark): [(seq, commit, value, raw_ns), ...]} by seq."""
    q = ("SELECT r.host_id, r.benchmark, u.seq, r.commit_sha, r.value, r.raw_ns "
         "FROM results r JOIN runs u USING (commit_sha, host_id)")
    args = ()
    if host is not None:
        q += " WHERE r.host_id=?"
        args = (host_id(host),)
    out = {}
    for hid, b, seq, c, v, raw in db.execute(q + " ORDER BY u.seq", args):
        out.setdefault((hid, b), []).append((seq, c, v, raw))
    return out


def _best_split(x, lo, hi, min_size):
    best = (1.0, None)
    for s in range(lo + min_size, hi - min_size + 1):
        a, b = x[lo:s], x[s:hi]
        if np.all(a == a[0]) and np.all(b == b[0]):
            p = 0.0 if a[0] != b[0] else 1.0
        else:
            p = float(sps.ttest_ind(a, b, equal_var=True).pvalue)
            if math.isnan(p):
                p = 1.0
        if p < best[0]:
            best = (p, s)
    return best


def change_points(values, alpha=0.001, min_size=3, effect_floor=0.05):
    """Indices i where the series changes between values[:i] and values[i:]
    (sorted), found by recursive t-test splits (see the module comment)."""
    x = np.log(np.asarray(values, dtype=float))
    found = []

    def rec(lo, hi):
        n = hi - lo
        if n < 2 * min_size:
            return
        p, s = _best_split(x, lo, hi, min_size)
        if s is None:
            return
        ncand = n - 2 * min_size + 1
        shift = abs(np.mean(x[s:hi]) - np.mean(x[lo:s]))
        if min(1.0, p * ncand) < alpha and shift >= math.log1p(effect_floor):
            found.append(s)
            rec(lo, s)
            rec(s, hi)

    rec(0, len(x))
    return sorted(found)
