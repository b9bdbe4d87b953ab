# SPDX-License-Identifier: BSD-3-Clause
"""SQLite history (keys, replace on re-run, A/A totals) and change points."""
import os
import sqlite3
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lwkt_report import history  # noqa: E402

HOST = {"hostname": "vm", "cpu_model": "AMD EPYC", "pus": 2, "kernel": "6.1",
        "bench_cpus": [0, 1], "hwloc_topology_xml": "<topology/>"}


class ChangePoints(unittest.TestCase):
    def test_step_found_where_it_is(self):
        rng = np.random.default_rng(1)
        v = list(1.0 * np.exp(rng.normal(0, 0.03, 20))) + \
            list(1.25 * np.exp(rng.normal(0, 0.03, 15)))
        self.assertEqual(history.change_points(v), [20])

    def test_two_steps(self):
        rng = np.random.default_rng(2)
        v = [x * np.exp(rng.normal(0, 0.02)) for x in [1.0] * 12 + [1.4] * 12 + [1.1] * 12]
        self.assertEqual(history.change_points(v), [12, 24])

    def test_flat_noisy_series_has_none(self):
        for seed in range(20):
            rng = np.random.default_rng(100 + seed)
            v = list(np.exp(rng.normal(0, 0.08, 40)))
            self.assertEqual(history.change_points(v), [], seed)

    def test_small_significant_shift_below_floor_ignored(self):
        rng = np.random.default_rng(3)
        v = list(np.exp(rng.normal(0, 0.002, 20))) + list(1.02 * np.exp(rng.normal(0, 0.002, 20)))
        self.assertEqual(history.change_points(v, effect_floor=0.05), [])
        self.assertEqual(history.change_points(v, effect_floor=0.01), [20])


class Database(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "h.sqlite")

    def tearDown(self):
        self.tmp.cleanup()

    def rows(self, v):
        return [{"key": "token/cpu_owned_local", "floor": "call/floor_indirect",
                 "value": v, "raw_ns": 6.5 * v, "n": 10},
                {"key": "call/floor_indirect", "floor": None, "value": 1.8,
                 "raw_ns": 1.8, "n": 10}]

    def test_keyed_by_commit_host_benchmark(self):
        db = history.open_db(self.path)
        history.append(db, "c1", HOST, self.rows(3.0))
        history.append(db, "c2", HOST, self.rows(3.1))
        history.append(db, "c1", HOST, self.rows(3.2))     # re-run replaces
        other = dict(HOST, cpu_model="Xeon")
        history.append(db, "c1", other, self.rows(9.0))
        s = history.series(db, HOST)
        pts = s[(history.host_id(HOST), "token/cpu_owned_local")]
        self.assertEqual([(p[1], p[2]) for p in pts], [("c1", 3.2), ("c2", 3.1)])
        self.assertEqual(len(history.series(db)), 4)       # 2 hosts x 2 benchmarks
        # The real thing: another connection reads what was committed.
        c = sqlite3.connect(self.path)
        self.assertEqual(c.execute("SELECT COUNT(*) FROM results").fetchone()[0], 6)
        with self.assertRaises(sqlite3.IntegrityError):
            c.execute("INSERT INTO results VALUES ('c1', ?, 'call/floor_indirect', NULL, 1, 1, 1)",
                      (history.host_id(HOST),))

    def test_record_a_comparison(self):
        """What `lwkt-report ab --record` appends: head's floor-normalised
        medians (floors: their raw ns), one row per benchmark."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import synth
        from lwkt_report import cli, stats
        rng = synth.rng(1)
        cmp = stats.compare(synth.runs(6, rng), synth.runs(6, rng), stats.Config())
        cli.record(self.path, "abc123", HOST, cmp)
        cli.record(self.path, "def456", HOST, cmp)
        s = history.series(history.open_db(self.path), HOST)
        hid = history.host_id(HOST)
        self.assertEqual(len(s), len(cmp["results"]))
        tok = s[(hid, "token/cpu_owned_local")]
        self.assertEqual([p[1] for p in tok], ["abc123", "def456"])
        r = next(r for r in cmp["results"] if r["key"] == "token/cpu_owned_local")
        self.assertAlmostEqual(tok[0][2], r["head_norm"])
        self.assertAlmostEqual(s[(hid, "call/floor_indirect")][0][2],
                               next(r for r in cmp["results"]
                                    if r["key"] == "call/floor_indirect")["head_ns"])

    def test_host_id_ignores_volatile_fields(self):
        self.assertEqual(history.host_id(HOST),
                         history.host_id(dict(HOST, date="x", git_revision="y")))
        self.assertNotEqual(history.host_id(HOST), history.host_id(dict(HOST, pus=4)))

    def test_aa_totals(self):
        db = history.open_db(self.path)
        history.append_aa(db, HOST, "aa", 0, 12, 0.01)
        history.append_aa(db, HOST, "aa", 1, 12, 0.01)
        self.assertEqual(tuple(history.aa_totals(db, HOST)), (1, 24, 2))


if __name__ == "__main__":
    unittest.main()
