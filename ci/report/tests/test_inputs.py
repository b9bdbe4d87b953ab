# SPDX-License-Identifier: BSD-3-Clause
"""Bad input: a clear error naming the file and the problem, never a
traceback; benchmarks of one side only are listed."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import synth  # noqa: E402
from lwkt_report import results, stats  # noqa: E402

CLI = os.path.join(HERE, "..", "lwkt-report")


class Inputs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.good = self.write("good.json", json.dumps(synth.doc(synth.make_run(synth.rng(1)))))

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        p = os.path.join(self.d, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def bad(self, name, text, *needles):
        p = self.write(name, text)
        with self.assertRaises(results.ResultError) as cm:
            results.load_run(p)
        msg = str(cm.exception)
        self.assertIn(p, msg)
        for n in needles:
            self.assertIn(n, msg)
        return msg

    def test_malformed(self):
        self.bad("m.json", '{"context": {}, "benchmarks": [}\n', "malformed JSON", "line 1")

    def test_truncated(self):
        with open(self.good) as f:
            text = f.read()
        for cut in (len(text) // 2, len(text) // 3, len(text) - 2, 40):
            self.bad("t.json", text[:cut], "truncated")

    def test_empty(self):
        self.bad("e.json", "", "empty")

    def test_binary(self):
        p = os.path.join(self.d, "b.json")
        with open(p, "wb") as f:
            f.write(b"\xff\xfe\x00garbage")
        with self.assertRaises(results.ResultError) as cm:
            results.load_run(p)
        self.assertIn(p, str(cm.exception))

    def test_foreign_chrome_trace(self):
        self.bad("chrome.json", json.dumps({"traceEvents": []}),
                 "not google-benchmark JSON", "'context' and 'benchmarks'")

    def test_foreign_list(self):
        self.bad("list.json", "[1, 2, 3]", "not google-benchmark JSON", "list")

    def test_entry_problems(self):
        base = synth.doc([])
        for entry, needle in (({"name": "a/b"}, "no 'real_time'"),
                              ({"real_time": 1.0}, "no 'name'"),
                              ({"name": "a/b", "real_time": -1.0}, "not a positive number"),
                              ({"name": "a/b", "real_time": "fast"}, "not a positive number"),
                              ({"name": "a/b", "real_time": 1.0, "time_unit": "fortnights"},
                               "unknown time_unit"),
                              (7, "not an object")):
            base["benchmarks"] = [entry]
            self.bad("entry.json", json.dumps(base), needle, "benchmark #0")

    def test_no_results(self):
        self.bad("none.json", json.dumps(synth.doc([])), "without any benchmark result")

    def test_missing_file_and_empty_dir(self):
        with self.assertRaises(results.ResultError) as cm:
            results.load_side(os.path.join(self.d, "nope.json"))
        self.assertIn("nope.json: cannot read", str(cm.exception))
        os.mkdir(os.path.join(self.d, "empty"))
        with self.assertRaises(results.ResultError) as cm:
            results.load_side(os.path.join(self.d, "empty"))
        self.assertIn("without any .json", str(cm.exception))

    def test_mismatched_sets(self):
        other = synth.doc([{"name": "x/y", "run_type": "iteration", "real_time": 1.0,
                            "time_unit": "ns"}])
        p = self.write("other.json", json.dumps(other))
        with self.assertRaises(results.ResultError) as cm:
            results.check_pair(results.load_side(self.good), results.load_side(p))
        self.assertIn("no benchmark in common", str(cm.exception))
        self.assertIn(p, str(cm.exception))

    def test_mismatched_hosts(self):
        p = self.write("h.json", json.dumps(synth.doc(synth.make_run(synth.rng(2)), host="other")))
        with self.assertRaises(results.ResultError) as cm:
            results.check_pair(results.load_side(self.good), results.load_side(p))
        self.assertIn("different machines", str(cm.exception))
        results.check_pair(results.load_side(self.good), results.load_side(p),
                           allow_cross_host=True)

    def test_one_side_only_and_errors_listed(self):
        rng = synth.rng(3)
        b = synth.make_run(rng)
        h = [e for e in synth.make_run(rng) if e["run_name"] != "stream/lwkt_ipi/real_time"]
        h.append({"name": "new/thing", "run_type": "iteration", "real_time": 3.0,
                  "time_unit": "us"})
        h.append({"name": "token/atomic_local/real_time", "run_type": "iteration",
                  "error_occurred": True, "error_message": "lost an acquisition"})
        h = [e for e in h if not (e["run_name"] if "run_name" in e else e["name"]).startswith(
            "token/atomic_local") or e.get("error_occurred")]
        cmp = stats.compare([results.run_from_doc("b", synth.doc(b))],
                            [results.run_from_doc("h", synth.doc(h))], stats.Config())
        self.assertEqual(cmp["base_only"], ["stream/lwkt_ipi"])
        self.assertEqual(cmp["head_only"], ["new/thing"])
        self.assertIn("lost an acquisition", cmp["errors"]["token/atomic_local"][0])
        keys = [r["key"] for r in cmp["results"]]
        self.assertNotIn("token/atomic_local", keys)
        self.assertIn("token/cpu_owned_local", keys)

    def test_time_units(self):
        d = synth.doc([{"name": "a/b", "run_type": "iteration", "real_time": 2.0,
                        "time_unit": "us"}])
        self.assertEqual(results.run_from_doc("u", d).samples["a/b"], [2000.0])

    def test_cli_errors(self):
        p = self.write("m.json", "{\"benchmarks\": [")
        r = subprocess.run([CLI, "compare", self.good, p, "-o", self.d],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("lwkt-report: error: %s: truncated" % p, r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        r = subprocess.run([CLI, "compare", "--no-such-flag", self.good, self.good],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage:", r.stderr)
        r = subprocess.run([CLI, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("False-positive rate", r.stdout)

    def test_cli_compare_writes_reports(self):
        rng = synth.rng(4)
        a = synth.write_side(os.path.join(self.d, "a"), 6, rng)
        b = synth.write_side(os.path.join(self.d, "b"), 6, rng,
                             slow={"token/cpu_owned_local/real_time": 1.5})
        out = os.path.join(self.d, "out")
        r = subprocess.run([CLI, "compare", a, b, "-o", out, "--fail-on-slower"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 3, r.stderr)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        self.assertIn("1 SLOWER", md)
        self.assertIn("`token/cpu_owned_local` | +", md)
        self.assertIn("False-positive rate", md)
        self.assertTrue(os.path.exists(os.path.join(out, "report.html")))



def write_matrix(d, rng, slow=None, reps=9):
    """A bench-matrix output as lwkt-matrix writes it: per host a
    cells.tsv, one raw google-benchmark JSON per cell, and results.csv."""
    import csv
    raw = os.path.join(d, "hosts", "vm", "raw")
    os.makedirs(raw)
    cells = [("cell-000-Package-0-1", "Package", "0", "1"), ("cell-001-PU-0-0", "PU", "0", "0")]
    with open(os.path.join(d, "hosts", "vm", "cells.tsv"), "w") as f:
        f.write("cell\tclass\tcpu_a\tcpu_b\tjson\tseconds\tmpi_json\n")
        for c, cl, a, b in cells:
            f.write("%s\t%s\t%s\t%s\traw/%s.json\t1.0\t\n" % (c, cl, a, b, c))
            with open(os.path.join(raw, c + ".json"), "w") as j:
                json.dump(synth.doc(synth.make_run(rng, reps=reps, slow=slow)), j)
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["host", "workload", "mechanism", "class", "cpu_a", "cpu_b", "params",
                    "median_ns", "ratio", "floor", "n", "error"])
        for c, cl, a, b in cells:
            for mech, ratio in (("lwkt_ipi", 1.4), ("lwkt_domsg", 2.8)):
                w.writerow(["vm", "roundtrip", mech, cl, a, b, "", 100, ratio * (
                    1.5 if slow else 1.0), "roundtrip/floor_cacheline", 9, ""])
    return d


class Matrix(unittest.TestCase):
    def test_cells_compared_cell_by_cell_with_heat_maps(self):
        rng = synth.rng(21)
        with tempfile.TemporaryDirectory() as d:
            a = write_matrix(os.path.join(d, "a"), rng)
            b = write_matrix(os.path.join(d, "b"), rng,
                             slow={"token/cpu_owned_local/real_time": 1.6})
            self.assertTrue(results.is_matrix(a))
            runs = results.load_side(b)
            self.assertEqual([r.cell for r in runs], ["Package 0-1", "PU 0-0"])
            cmp = stats.compare_cells(results.load_side(a), runs, stats.Config())
            flagged = sorted(r["key"] for r in stats.alarms(cmp))
            self.assertEqual(flagged, ["token/cpu_owned_local @PU 0-0",
                                       "token/cpu_owned_local @Package 0-1"])
            r = next(r for r in cmp["results"] if r["key"] == "token/cpu_owned_local @PU 0-0")
            self.assertEqual(r["floor"], "call/floor_indirect @PU 0-0")
            out = os.path.join(d, "out")
            p = subprocess.run([CLI, "compare", a, b, "-o", out], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "data.json")) as f:
                data = json.load(f)
            titles = [m["title"] for m in data["matrix"]]
            self.assertEqual(titles, ["vm roundtrip: ratio to the pair's floor (head)",
                                      "vm roundtrip: head / base of the ratio"])
            self.assertAlmostEqual(data["matrix"][1]["values"][0][0], 1.5)

    def test_bad_matrix_csv(self):
        with tempfile.TemporaryDirectory() as d:
            a = write_matrix(os.path.join(d, "a"), synth.rng(22))
            with open(os.path.join(a, "results.csv"), "w") as f:
                f.write("host,workload\nvm,roundtrip\n")
            with self.assertRaises(results.ResultError) as cm:
                results.load_matrix_csv(a)
            self.assertIn(os.path.join(a, "results.csv"), str(cm.exception))
            self.assertIn("no mechanism", str(cm.exception))
            with open(os.path.join(a, "hosts", "vm", "cells.tsv"), "w") as f:
                f.write("x\ty\n1\t2\n")
            with self.assertRaises(results.ResultError) as cm:
                results.load_side(a)
            self.assertIn("cells.tsv: not a bench-matrix cells.tsv", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
