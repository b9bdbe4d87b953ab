# SPDX-License-Identifier: BSD-3-Clause
"""The A/B runner's pieces that need no benchmark run: the base revision
it picks, the filter it gives google-benchmark, and interleaving."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from lwkt_report import runner, stats  # noqa: E402


def sh(cwd, *cmd):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Runner(unittest.TestCase):
    def test_default_base(self):
        with tempfile.TemporaryDirectory() as d:
            sh(d, "git", "init", "-q", "-b", "main")
            for i in range(3):
                with open(os.path.join(d, "f"), "w") as f:
                    f.write(str(i))
                sh(d, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam" if i else "-qm",
                   "c%d" % i, *([] if i else ["--allow-empty"]))
                if i == 0:
                    sh(d, "git", "add", "f")
                    sh(d, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "f")
            main_head = sh(d, "git", "rev-parse", "HEAD")
            parent = sh(d, "git", "rev-parse", "HEAD~1")
            self.assertEqual(runner.default_base(d), parent)        # on main: HEAD~1
            sh(d, "git", "checkout", "-qb", "topic")
            with open(os.path.join(d, "g"), "w") as f:
                f.write("x")
            sh(d, "git", "add", "g")
            sh(d, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t1")
            sh(d, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t2",
               "--allow-empty")
            self.assertEqual(runner.default_base(d), main_head)     # the merge-base
            with self.assertRaises(runner.RunError):
                runner.resolve(d, "no-such-rev")

    def test_filter_matches_exactly_the_keys(self):
        keys = ["reqrep/lwkt_msg/clients:1", "call/floor_indirect", "a.b/c+d"]
        rx = re.compile(runner.bench_filter(keys))
        for name in ("reqrep/lwkt_msg/clients:1/real_time", "call/floor_indirect",
                     "a.b/c+d/real_time"):
            self.assertTrue(rx.search(name), name)
        for name in ("reqrep/lwkt_msg/clients:16/real_time", "call/floor_indirect2",
                     "aXb/c+d", "x/call/floor_indirect"):
            self.assertFalse(rx.search(name), name)

    def test_rounds_interleave_and_extra_rounds_stop_at_budget(self):
        """A fake lwkt-bench (a script writing google-benchmark JSON):
        rounds alternate which side goes first, UNKNOWN benchmarks get at
        most `budget` extra rounds, and those rounds run only them and
        their floors."""
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "order.log")
            fake = os.path.join(d, "fake-bench")
            with open(fake, "w") as f:
                f.write("""#!/usr/bin/python3
import json, os, random, re, sys
out = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark_out=")][0]
flt = ([a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark_filter=")] or [""])[0]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(os.environ["SIDE"] + " " + flt + "\\n")
rng = random.Random()
names = {"call/floor_indirect": 2.0, "token/cpu_owned_local": 6.0, "shim/empty_loop": 0.5}
bs = []
for n, t in names.items():
    if flt and not re.search(flt, n):
        continue
    for i in range(3):
        # the shim loop is pure noise: it stays UNKNOWN
        v = t * (rng.uniform(0.2, 5) if n.startswith("shim") else rng.uniform(0.999, 1.001))
        bs.append({"name": n, "run_type": "iteration", "real_time": v, "time_unit": "ns"})
json.dump({"context": {"host_name": "h", "num_cpus": 2}, "benchmarks": bs}, open(out, "w"))
""")
            os.chmod(fake, 0o755)
            os.environ["FAKE_LOG"] = log
            a = runner.Side("base", fake, {"SIDE": "A"})
            b = runner.Side("head", fake, {"SIDE": "B"})
            cmp, rl = runner.ab(a, b, os.path.join(d, "runs"), stats.Config(), rounds=5,
                                budget=3, reps=3, min_time=0.01)
            with open(log) as f:
                lines = [ln.split(" ", 1) for ln in f.read().splitlines()]
            sides = "".join(s for s, _ in lines)
            self.assertEqual(sides[:10], "ABBAABBAAB")
            self.assertEqual(rl["extra_rounds"], 3)
            self.assertEqual(len(lines), 2 * (5 + 3))
            for _, flt in lines[10:]:
                self.assertEqual(flt, runner.bench_filter(["call/floor_indirect",
                                                           "shim/empty_loop"]))
            v = {r["key"]: r["verdict"] for r in cmp["results"] if r["verdict"]}
            self.assertEqual(v["token/cpu_owned_local"], stats.SAME)
            self.assertEqual(v["shim/empty_loop"], stats.UNKNOWN)


if __name__ == "__main__":
    unittest.main()
