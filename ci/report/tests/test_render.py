# SPDX-License-Identifier: BSD-3-Clause
"""report.md (PR-comment sized, complete) and report.html (self-contained,
escaped, every chart drawn in headless Chromium with no JS error)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import synth  # noqa: E402
from lwkt_report import cli, history, render, results, stats  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHOTS = os.environ.get("REPORT_CHECK_DIR", os.path.join(REPO, "build", "report-check"))
CHROME = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
          "--no-first-run", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=10000"]


def full_report(tmp, markup=False, with_history=True):
    rng = synth.rng(5)
    base = synth.runs(10, rng)
    head = synth.runs(10, rng, slow={"token/cpu_owned_local/real_time": 1.4,
                                     "stream/lwkt_sendmsg/real_time": 0.6})
    if markup:
        for r in head + base:
            r.samples["x/<script>alert(1)</script>"] = [5.0, 5.1, 5.2]
            r.order.append("x/<script>alert(1)</script>")
    head[0].samples["new/only_head"] = [1.0]
    head[0].order.append("new/only_head")
    cfg = stats.Config()
    cmp = stats.compare(base, head, cfg)
    db = None
    if with_history:
        db = os.path.join(tmp, "h.sqlite")
        h = history.open_db(db)
        r2 = np.random.default_rng(1)
        for i in range(24):
            lvl = 1.0 if i < 14 else 1.3
            rows = [{"key": k, "floor": "x", "value": lvl * np.exp(r2.normal(0, 0.02)),
                     "raw_ns": 1.0, "n": 10} for k in ("token/cpu_owned_local", "switch/lwkt_thread")]
            history.append(h, "c%02d" % i, {"hostname": "vm"}, rows)
        history.append_aa(h, {"hostname": "vm"}, "aa", 0, 12, 0.01)
    rep = cli.build_report(cmp, cfg, {"label": "base <b>"}, {"label": "head"}, base,
                           {"hostname": "vm", "hwloc_topology_xml": "<topology/>"},
                           runlog={"rounds": 10, "extra_rounds": 2, "budget_rounds": 10,
                                   "repetitions": 3, "min_time": 0.05, "cpus": "0,1",
                                   "seconds": 12.0, "order": "interleaved"},
                           hist_db=db)
    rep["matrix"] = [{"title": "roundtrip: ratio to the pair's floor", "rows": ["lwkt_ipi", "lwkt_domsg"],
                      "cols": ["cpu0-cpu1", "cpu0-cpu2"], "values": [[1.3, 2.0], [2.5, None]]}]
    return rep


class Markdown(unittest.TestCase):
    def test_content_and_size(self):
        with tempfile.TemporaryDirectory() as d:
            rep = full_report(d)
        md = render.markdown(rep)
        self.assertLess(len(md), 65536)            # a GitHub comment's limit
        self.assertIn("**1 SLOWER · 1 FASTER", md)
        self.assertRegex(md, r"\| `token/cpu_owned_local` \| \+\d+\.\d % \| \[\+")
        self.assertIn("### Improvements (FASTER)", md)
        self.assertIn("`stream/lwkt_sendmsg`", md)
        self.assertIn("**False-positive rate**: claimed ≤ 1 %", md)
        self.assertIn("A/A runs on record (1 runs): 0 of 12", md)
        self.assertIn("only in head: `new/only_head`", md)
        self.assertIn("Mechanism / floor table", md)
        self.assertIn("### Floors", md)
        self.assertIn("**Change points on main**", md)
        self.assertIn("[report.html](report.html)", md)


class Html(unittest.TestCase):
    def test_escaped_and_self_contained(self):
        with tempfile.TemporaryDirectory() as d:
            page = render.html_page(full_report(d, markup=True))
        self.assertFalse("<script>alert" in page, "markup from a name reached the page")
        self.assertFalse("base <b>" in page, "markup from a label reached the page")
        self.assertIn("x/&lt;script&gt;", page)
        # offline: nothing loaded from anywhere
        self.assertIsNone(re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page))
        self.assertEqual(page.count("<script"), 2)   # the data and the code

    def test_chromium_draws_every_chart(self):
        if shutil.which("chromium") is None:
            print("SKIPPED: report/html-chromium: chromium is not installed")
            return
        os.makedirs(SHOTS, exist_ok=True)
        with tempfile.TemporaryDirectory() as d:
            rep = full_report(d, markup=True)
            paths = render.write(rep, d)
            page = paths["report.html"]
            expect = len(render.charts_spec(rep))
            kinds = {c["kind"] for c in render.charts_spec(rep)}
            self.assertEqual(kinds, {"bars", "heatmap", "history"})
            prof = os.path.join(d, "profile")
            dom = subprocess.run(CHROME + ["--user-data-dir=" + prof, "--enable-logging=stderr",
                                           "--v=0", "--dump-dom", "file://" + page],
                                 capture_output=True, text=True, timeout=180)
            shot = os.path.join(SHOTS, "report.png")
            subprocess.run(CHROME + ["--user-data-dir=" + prof, "--window-size=1400,2400",
                                     "--screenshot=" + shot, "file://" + page],
                           capture_output=True, timeout=180)
            shutil.copy(page, os.path.join(SHOTS, "report.html"))
        m = re.search(r'<div id="status"([^>]*)>', dom.stdout)
        self.assertIsNotNone(m, dom.stderr[-2000:])
        attrs = m.group(1)
        self.assertIn('data-state="ok"', attrs, attrs)
        self.assertIn('data-charts-drawn="%d"' % expect, attrs)
        self.assertNotIn("Uncaught", dom.stderr)
        # The floor is drawn as lines, change points as marks.
        self.assertIn('class="floorline"', dom.stdout)
        self.assertIn('class="changepoint"', dom.stdout)
        self.assertGreater(os.path.getsize(shot), 10000)
        print("report.html: %d charts drawn; screenshot %s" % (expect, shot))

    def test_broken_chart_is_reported(self):
        """Control for the check above: a chart that cannot be drawn makes
        the page say so (data-state is not ok)."""
        if shutil.which("chromium") is None:
            print("SKIPPED: report/html-chromium-control: chromium is not installed")
            return
        with tempfile.TemporaryDirectory() as d:
            rep = full_report(d, with_history=False)
            rep["matrix"] = [{"title": "bad", "rows": ["a"], "cols": ["b"], "values": None}]
            page = render.write(rep, d)["report.html"]
            dom = subprocess.run(CHROME + ["--user-data-dir=" + os.path.join(d, "p"),
                                           "--dump-dom", "file://" + page],
                                 capture_output=True, text=True, timeout=180)
        m = re.search(r'<div id="status"([^>]*)>', dom.stdout)
        self.assertIsNotNone(m)
        self.assertNotIn('data-state="ok"', m.group(1))


if __name__ == "__main__":
    unittest.main()
