#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""test_matrix.py BUILD_DIR: the bench matrix runner as a user meets it.

A tiny matrix on this host (real lwkt-bench, short min_time): outputs,
Ctrl-C then --resume, compare.py on the raw JSON; dry runs of synthetic
machines; the renderer on a larger planned machine with known values;
CLI errors.  Each subprocess has a timeout.
"""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "lwkt-matrix")
PLAN = os.path.join(BUILD, "lwkt-matrix-plan")
COMPARE = "/usr/share/benchmark/compare.py"
TINY = ["--min-time=0.01", "--repetitions=2", "--progress=line",
        "--filter=^roundtrip/lwkt_ipi/|^stream/lwkt_ipi/|^call/floor"]
XEON = "pack:2 numa:1 l3:1 l2:8 core:1 pu:2"
SVG = "{http://www.w3.org/2000/svg}"


def npus():
    out = subprocess.run([PLAN], capture_output=True, text=True,
                         timeout=60).stdout
    return int(re.search(r"^pus\t(\d+)", out, re.M).group(1))


def run(args, timeout=300, **kw):
    return subprocess.run([RUNNER, "--build=" + BUILD] + args,
                          capture_output=True, text=True, timeout=timeout,
                          **kw)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))


class Cli(unittest.TestCase):
    def test_help_and_errors(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: lwkt-matrix", p.stdout)
        self.assertIn("--resume", p.stdout)
        bad = [(["--bogus"], "unknown argument '--bogus'"),
               (["--pairs=x"], "--pairs"),
               (["--repetitions=1"], ">= 2"),
               (["--profile=slow"], "quick or full"),
               (["--min-time=-1"], "positive"),
               (["--filter=("], "bad regex"),
               (["--param=reqrep"], "WORKLOAD.KEY"),
               (["--topology=" + XEON], "--dry-run"),
               (["--resume", "--overwrite"], "contradict"),
               (["--dry-run", "--pairs=0:99999"], "no PU 99999"),
               (["--dry-run", "--filter=^nothing$"], "no benchmark")]
        for args, msg in bad:
            p = run(args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(msg, p.stderr, args)
            self.assertIn("usage:", p.stderr, args)
        with tempfile.TemporaryDirectory() as d:
            p = run(["--resume", "--out=" + d])
            self.assertEqual(p.returncode, 2)
            self.assertIn("no run of host", p.stderr)
            p = run(["--report", "--out=" + d])
            self.assertEqual(p.returncode, 1)
            self.assertIn("no matrix results", p.stderr)

    def test_dry_run_synthetic(self):
        p = run(["--dry-run", "--topology=" + XEON, "--profile=quick"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for c in ("Core", "L3", "Machine-xNUMA", "cross Package",
                  "7 cells: 6 pairs", "estimated time"):
            self.assertIn(c, p.stdout)
        n = {}
        for extra in ([], ["--param=reqrep.clients=1",
                           "--param=readmostly.update_pct=0,1"]):
            p = run(["--dry-run"] + extra)
            self.assertEqual(p.returncode, 0, p.stderr)
            n[len(extra)] = int(re.search(r"x (\d+) benchmarks",
                                          p.stdout).group(1))
        self.assertLess(n[2], n[0])
        p = run(["--dry-run", "--topology=pack:1 core:1 pu:1"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("one PU: no pair", p.stdout)
        p = run(["--dry-run", "--pairs=all", "--max-pairs=100",
                 "--topology=pack:4 numa:2 l3:1 core:36 pu:2"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("576 PUs (heat-map sample of 14 PUs)", p.stdout)
        cells = int(re.search(r"(\d+) cells", p.stdout).group(1))
        self.assertLessEqual(cells, 100 + 2 * 4 + 1)


@unittest.skipIf(npus() < 2, "one PU")
class TinyRun(unittest.TestCase):
    """A real tiny matrix: one pair cell and the single-PU cell."""

    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="lwkt-matrix-test-")
        cls.p = run(["--out=" + cls.out, "--host-id=h1", "--mpi"] + TINY)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def test_outputs(self):
        self.assertEqual(self.p.returncode, 0, self.p.stdout + self.p.stderr)
        self.assertIn("2 of 2 cells in", self.p.stdout)
        self.assertRegex(self.p.stdout, r"heat maps: \S+/heatmaps/h1/\S+\.svg")
        self.assertIn("1/2 cells done", self.p.stderr)
        self.assertIn("ETA", self.p.stderr)
        hd = os.path.join(self.out, "hosts", "h1")
        host = json.loads(read(os.path.join(hd, "host.json")))
        self.assertIn("<topology", host["hwloc_topology_xml"])
        rows = rows_of(os.path.join(self.out, "results.csv"))
        self.assertEqual(list(rows[0].keys())[:12], [
            "host", "workload", "mechanism", "class", "cpu_a", "cpu_b",
            "params", "median_ns", "p10_ns", "p90_ns", "cv", "ratio"])
        by = {(r["workload"], r["mechanism"]): r for r in rows}
        for k in (("roundtrip", "floor_cacheline"), ("roundtrip",
                  "floor_futex"), ("stream", "floor_spsc"),
                  ("roundtrip", "lwkt_ipi"), ("stream", "lwkt_ipi"),
                  ("call", "floor_indirect")):
            self.assertIn(k, by)
            r = by[k]
            self.assertEqual(r["host"], "h1")
            self.assertEqual(r["n"], "2")
            self.assertGreater(float(r["median_ns"]), 0)
            self.assertLessEqual(float(r["p10_ns"]), float(r["median_ns"]))
            self.assertLessEqual(float(r["median_ns"]), float(r["p90_ns"]))
        # Ratios are to the floor of the same cell.
        rt = by[("roundtrip", "lwkt_ipi")]
        self.assertEqual(rt["floor"], "roundtrip/floor_cacheline")
        self.assertAlmostEqual(float(rt["ratio"]), float(rt["median_ns"]) /
                               float(by[("roundtrip", "floor_cacheline")]
                                     ["median_ns"]), delta=1e-3 *
                               float(rt["ratio"]) + 1e-9)
        self.assertEqual(by[("stream", "lwkt_ipi")]["floor"],
                         "stream/floor_spsc")
        self.assertEqual(by[("call", "floor_indirect")]["class"], "PU")
        self.assertEqual(float(by[("stream", "floor_spsc")]["ratio"]), 1.0)
        # --mpi: MPICH ranks pinned to the pair, against the cell's floor.
        mpi = [r for r in rows if r["mechanism"] == "mpi"]
        self.assertTrue(mpi, "no MPI rows")
        r8 = [r for r in mpi if r["workload"] == "roundtrip" and
              r["params"] == "bytes:8"][0]
        self.assertEqual(r8["floor_median_ns"],
                         by[("roundtrip", "floor_cacheline")]["median_ns"])
        self.assertGreater(float(r8["ratio"]), 0)
        summ = read(os.path.join(self.out, "summary.md"))
        self.assertIn("| mechanism / floor |", summ)
        self.assertRegex(summ, r"\| roundtrip/lwkt_ipi \| [0-9.e+-]+ \|")

    def test_heatmaps(self):
        d = os.path.join(self.out, "heatmaps", "h1")
        svg = ET.parse(os.path.join(d, "roundtrip_lwkt_ipi.svg")).getroot()
        panels = svg.findall(SVG + "g")
        self.assertEqual(len(panels), 3)   # mechanism, floor, ratio
        titles = [t.text for t in svg.iter(SVG + "title")]
        self.assertEqual(len(titles), 3 * 2)   # (a,b) and (b,a)
        self.assertTrue(os.path.exists(os.path.join(
            self.out, "heatmaps", "index.html")))

    def test_compare_py_reads_raw(self):
        raw = os.path.join(self.out, "hosts", "h1", "raw")
        js = sorted(f for f in os.listdir(raw) if f.endswith(".json"))
        self.assertEqual(len([f for f in js if "-mpi" not in f]), 2)
        self.assertEqual(len([f for f in js if "-mpi" in f]), 1)
        self.assertFalse([f for f in os.listdir(raw) if "tmp" in f])
        a = os.path.join(raw, [f for f in js if "-mpi" not in f][0])
        p = subprocess.run(["/usr/bin/python3", COMPARE, "benchmarks", a, a],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("roundtrip/lwkt_ipi", p.stdout)

    def test_rerun_needs_resume_or_overwrite(self):
        p = run(["--out=" + self.out, "--host-id=h1"] + TINY)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--resume continues it", p.stderr)
        p = run(["--out=" + self.out, "--host-id=h1", "--resume",
                 "--repetitions=3"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("differs from the interrupted run", p.stderr)


@unittest.skipIf(npus() < 2, "one PU")
class InterruptResume(unittest.TestCase):
    def test_ctrl_c_then_resume(self):
        out = tempfile.mkdtemp(prefix="lwkt-matrix-int-")
        try:
            # The single-PU cell (second) lasts >= 3 x 2 x 0.3 s: long
            # enough to be interrupted after the pair cell finished.
            args = [RUNNER, "--build=" + BUILD, "--out=" + out,
                    "--host-id=h2", "--min-time=0.3", "--repetitions=2",
                    "--progress=line",
                    "--filter=^roundtrip/lwkt_ipi/|^(call|lock|atomic)/"]
            p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 start_new_session=True,
                                 # A background job ignores SIGINT, and so
                                 # would the runner: give it the default.
                                 preexec_fn=lambda: signal.signal(
                                     signal.SIGINT, signal.SIG_DFL))
            journal = os.path.join(out, "hosts", "h2", "cells.tsv")
            t0 = time.time()
            while time.time() - t0 < 240:
                if os.path.exists(journal) and \
                        read(journal).count("\n") >= 2:
                    break
                time.sleep(0.05)
            # Ctrl-C at a terminal: SIGINT to the whole process group.
            os.killpg(p.pid, signal.SIGINT)
            so, se = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 130, so + se)
            self.assertIn("1 of 2 cells kept", so)
            self.assertIn("--resume", so)
            raw = os.path.join(out, "hosts", "h2", "raw")
            kept = [f for f in os.listdir(raw) if f.endswith(".json")]
            self.assertEqual(len(kept), 1)
            self.assertFalse([f for f in os.listdir(raw) if "tmp" in f])
            first = os.path.join(raw, kept[0])
            mtime = os.stat(first).st_mtime_ns
            rows = rows_of(os.path.join(out, "results.csv"))
            self.assertTrue(rows)
            self.assertEqual({r["class"] for r in rows} - {"PU"},
                             {r["class"] for r in rows})
            with open(os.path.join(out, "results.csv")) as f:
                self.assertTrue(f.read().endswith("\n"))

            p = run(["--out=" + out, "--host-id=h2", "--resume",
                     "--progress=line"])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("resuming: 1 of 2 cells already done", p.stdout)
            self.assertEqual(os.stat(first).st_mtime_ns, mtime)
            rows = rows_of(os.path.join(out, "results.csv"))
            self.assertIn("PU", {r["class"] for r in rows})
            self.assertIn(("lock", "floor_pthread_mutex"),
                          {(r["workload"], r["mechanism"]) for r in rows})
            self.assertEqual(len(rows), len({(r["workload"], r["mechanism"],
                                              r["params"], r["class"])
                                             for r in rows}))
        finally:
            shutil.rmtree(out, ignore_errors=True)


def fake_gbench(values):
    """google-benchmark JSON with 3 repetitions per name."""
    b = []
    for name, v in values.items():
        for i, x in enumerate((v * 0.9, v, v * 1.1)):
            b.append({"name": name, "run_name": name, "run_type":
                      "iteration", "repetitions": 3, "repetition_index": i,
                      "iterations": 1000, "real_time": x, "cpu_time": x,
                      "time_unit": "ns"})
    return {"context": {"host_name": "fake"}, "benchmarks": b}


class Render(unittest.TestCase):
    """The renderer on an 8-PU two-socket plan with known values: every
    pair measured, mechanism = 3 x its pair's floor."""

    def test_two_hosts(self):
        out = tempfile.mkdtemp(prefix="lwkt-matrix-render-")
        try:
            topo = "pack:2 l3:1 core:2 pu:2"
            plan = subprocess.run([PLAN, "--topology=" + topo,
                                   "--pairs=all"], capture_output=True,
                                  text=True, timeout=60, check=True).stdout
            pairs = re.findall(r"^pair\t(\d+)\t(\d+)\t(\S+)$", plan, re.M)
            self.assertEqual(len(pairs), 28)
            floor_of = {"Core": 50.0, "L3": 100.0, "Machine": 400.0}
            for host, k in (("a", 1.0), ("b", 2.0)):
                hd = os.path.join(out, "hosts", host)
                os.makedirs(os.path.join(hd, "raw"))
                write(os.path.join(hd, "plan.tsv"), plan)
                j = ["cell\tclass\tcpu_a\tcpu_b\tjson\tseconds\tmpi_json\n"]
                for i, (a, b, cls) in enumerate(pairs):
                    f = floor_of[cls] * k
                    name = "raw/cell-%03d.json" % i
                    write(os.path.join(hd, name), json.dumps(fake_gbench({
                        "roundtrip/floor_cacheline/real_time": f,
                        "stream/floor_spsc/real_time": f / 2,
                        "roundtrip/lwkt_ipi/real_time": 3 * f,
                        "reqrep/lwkt_msg/clients:2/real_time": 5 * f,
                        "syscall/direct/null/real_time": 7.0,
                        "syscall/direct/pipe/real_time": 11.0,
                        "syscall/sysmsg_remote/pipe/batch:16/real_time":
                        22.0})))
                    j.append("cell-%03d\t%s\t%s\t%s\t%s\t1.0\t\n"
                             % (i, cls, a, b, name))
                # A torn last line (a crash mid-append) is ignored.
                write(os.path.join(hd, "cells.tsv"),
                      "".join(j) + "cell-999\tL3\t0")
            p = run(["--report", "--out=" + out])
            self.assertEqual(p.returncode, 0, p.stderr)
            rows = rows_of(os.path.join(out, "results.csv"))
            self.assertEqual(len(rows), 2 * 28 * 7)
            for r in rows:
                if r["workload"] == "syscall":
                    # The floor with the same parameters, not another.
                    self.assertEqual(r["floor"], "syscall/direct/" +
                                     r["params"].split("/")[0])
                    self.assertAlmostEqual(float(r["ratio"]), 2.0 if
                                           "batch" in r["params"] else 1.0)
                    continue
                want = {"lwkt_ipi": 3, "lwkt_msg": 5}.get(r["mechanism"], 1)
                self.assertAlmostEqual(float(r["ratio"]), want, places=6)
                if r["mechanism"] == "lwkt_msg":
                    self.assertEqual(r["params"], "clients:2")
                self.assertAlmostEqual(float(r["cv"]), 0.1, places=6)
            summ = read(os.path.join(out, "summary.md"))
            self.assertIn("| roundtrip/lwkt_ipi | 3 | 3 | 3 |", summ)
            self.assertIn("| roundtrip/floor_cacheline | 50 | 100 | 400 |",
                          summ)
            self.assertIn("| roundtrip/floor_cacheline | 100 | 200 | 800 |",
                          summ)
            self.assertIn("## Hosts compared", summ)
            self.assertIn("| a Core | b Core |", summ)
            svg = ET.parse(os.path.join(out, "heatmaps", "b",
                                        "reqrep_lwkt_msg_clients_2.svg"))
            root = svg.getroot()
            self.assertEqual(len(root.findall(SVG + "g")), 3)
            self.assertEqual(len(list(root.iter(SVG + "title"))), 3 * 56)
            # Axes in topology order: the PUs of one package together.
            labels = [t.text for t in root.find(SVG + "g").iter(SVG + "text")
                      if t.get("text-anchor") == "end"][:8]
            self.assertEqual(labels, [str(i) for i in range(8)])
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.argv[1:] = []
    r = unittest.main(verbosity=2, exit=False).result
    skipped = [s for s in r.skipped]
    for test, why in skipped:
        print("SKIPPED: matrix/%s: %s" % (test.id().split(".")[-1], why))
    sys.exit(0 if r.wasSuccessful() else 1)
