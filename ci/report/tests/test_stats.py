# SPDX-License-Identifier: BSD-3-Clause
"""Verdicts on synthetic runs with a shared VM's noise (synth.py)."""
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from lwkt_report import stats  # noqa: E402

PLANT = "token/cpu_owned_local"


def verdicts(cmp):
    return {r["key"]: r["verdict"] for r in cmp["results"] if r["verdict"]}


class Verdicts(unittest.TestCase):
    def test_planted_slowdown_is_slower_and_named(self):
        rng = synth.rng(1)
        base = synth.runs(10, rng)
        head = synth.runs(10, rng, slow={PLANT + "/real_time": 1.25})
        cmp = stats.compare(base, head, stats.Config())
        v = verdicts(cmp)
        self.assertEqual(v[PLANT], stats.SLOWER)
        flagged = [r["key"] for r in stats.alarms(cmp)]
        self.assertEqual(flagged, [PLANT])
        r = next(r for r in cmp["results"] if r["key"] == PLANT)
        self.assertTrue(r["ci"][0] < 0.25 < r["ci"][1], r["ci"])

    def test_planted_speedup_is_faster(self):
        rng = synth.rng(2)
        base = synth.runs(10, rng)
        head = synth.runs(10, rng, slow={"stream/lwkt_sendmsg/real_time": 0.7})
        v = verdicts(stats.compare(base, head, stats.Config()))
        self.assertEqual(v["stream/lwkt_sendmsg"], stats.FASTER)

    def test_aa_flags_nothing(self):
        rng = synth.rng(3)
        cmp = stats.compare(synth.runs(20, rng), synth.runs(20, rng), stats.Config())
        self.assertEqual(stats.alarms(cmp), [])
        # and decides half the benchmarks SAME (the test is not vacuous)
        self.assertGreaterEqual(stats.counts(cmp)["SAME"], 6, stats.counts(cmp))

    def test_below_effect_floor_is_never_an_alarm(self):
        rng = synth.rng(4)
        base = synth.runs(30, rng, regime_sigma=0.0, jitter=0.002, drift=0.002)
        head = synth.runs(30, rng, regime_sigma=0.0, jitter=0.002, drift=0.002,
                          slow={PLANT + "/real_time": 1.02})
        r = next(r for r in stats.compare(base, head, stats.Config())["results"]
                 if r["key"] == PLANT)
        self.assertLess(r["p"], 0.01)          # significant...
        self.assertEqual(r["verdict"], stats.SAME)  # ...but below the 5 % floor

    def test_whole_machine_slower_keeps_verdicts(self):
        """Every timing of one side x3 (a slow regime during head's runs):
        the floor-normalised verdicts do not move; raw verdicts would."""
        for seed in (5, 6):
            rng = synth.rng(seed)
            base = synth.runs(10, rng)
            st = rng.bit_generator.state
            head = synth.runs(10, rng, slow={PLANT + "/real_time": 1.3})
            rng.bit_generator.state = st
            head3 = synth.runs(10, rng, slow={PLANT + "/real_time": 1.3}, scale=3.0)
            v1 = verdicts(stats.compare(base, head, stats.Config()))
            v3 = verdicts(stats.compare(base, head3, stats.Config()))
            self.assertEqual(v1, v3)
            self.assertEqual(v3[PLANT], stats.SLOWER)
            # control: without the floors, everything is "SLOWER"
            raw = verdicts(stats.compare(base, head3, stats.Config(normalise=False)))
            self.assertGreater(list(raw.values()).count(stats.SLOWER), len(raw) // 2)

    def test_unstable_floor_gives_no_verdict(self):
        """An oversubscribed host: the cache-line floor swings 100x between
        runs while the benchmarks it normalises do not follow.  Ratios to
        it are noise: UNKNOWN, however the test comes out; benchmarks of
        a stable floor keep their verdicts."""
        rng = synth.rng(13)
        base = synth.runs(8, rng)
        head = synth.runs(8, rng, slow={PLANT + "/real_time": 1.5,
                                        "roundtrip/lwkt_ipi/real_time": 1.5})
        for i, r in enumerate(base + head):
            r.samples["roundtrip/floor_cacheline"] = [
                v * (100.0 if i % 3 == 0 else 1.0) for v in r.samples["roundtrip/floor_cacheline"]]
        cmp = stats.compare(base, head, stats.Config())
        res = {r["key"]: r for r in cmp["results"]}
        self.assertEqual(res["roundtrip/lwkt_ipi"]["verdict"], stats.UNKNOWN)
        self.assertIn("oversubscribed", res["roundtrip/lwkt_ipi"]["reason"])
        self.assertGreater(res["roundtrip/floor_cacheline"]["spread"], 16)
        self.assertEqual(res[PLANT]["verdict"], stats.SLOWER)
        # control: without the gate the noisy ratio would be judged
        loose = stats.compare(base, head, stats.Config(floor_spread=1e9))
        self.assertNotIn("oversubscribed", next(
            r for r in loose["results"] if r["key"] == "roundtrip/lwkt_ipi")["reason"])

    def test_floor_moving_alone_is_no_verdict(self):
        """The floor reads +50 % on one side and nothing else moved (a
        neighbour on the sibling hyperthread slowed the indirect call, not
        the loops it normalises): their ratios fall 33 %, their own times
        do not move, so no FASTER; a benchmark whose own times moved keeps
        its verdict."""
        quiet = dict(regime_sigma=0.0, jitter=0.01, drift=0.005, outlier_p=0.0)
        rng = synth.rng(17)
        base = synth.runs(8, rng, **quiet)
        head = synth.runs(8, rng, slow={"call/floor_indirect": 1.5,
                                        PLANT + "/real_time": 4.0}, **quiet)
        res = {r["key"]: r for r in stats.compare(base, head, stats.Config())["results"]}
        self.assertAlmostEqual(res["call/floor_indirect"]["raw_change"], 0.5, delta=0.05)
        for k in ("shim/empty_loop", "token/atomic_local", "switch/lwkt_thread"):
            self.assertEqual(res[k]["verdict"], stats.UNKNOWN, res[k])
            self.assertIn("floor alone", res[k]["reason"])
            self.assertLess(res[k]["effect"], -0.25)    # the ratio did fall
        self.assertEqual(res[PLANT]["verdict"], stats.SLOWER)
        # benchmarks of the other floors: untouched
        self.assertEqual(res["roundtrip/lwkt_ipi"]["verdict"], stats.SAME)

    def test_too_few_samples_is_unknown(self):
        rng = synth.rng(7)
        cmp = stats.compare(synth.runs(1, rng, reps=2), synth.runs(1, rng, reps=2),
                            stats.Config())
        self.assertEqual(cmp["unit"], "repetition")
        self.assertEqual(set(verdicts(cmp).values()), {stats.UNKNOWN})

    def test_single_runs_flag_only_large_changes(self):
        """One run a side: its repetitions share the run's own drift, so a
        repetition-level test would call that drift significant.  Such
        comparisons flag only changes beyond few_runs_floor and never
        claim SAME."""
        cfg = stats.Config()
        alarms = 0
        for seed in range(30):
            rng = synth.rng(300 + seed)
            cmp = stats.compare(synth.runs(1, rng, reps=9),
                                synth.runs(1, rng, reps=9), cfg)
            alarms += len(stats.alarms(cmp))
            self.assertEqual(stats.counts(cmp)["SAME"], 0)
        self.assertEqual(alarms, 0)
        # control: the same data judged as if repetitions were independent
        loose = stats.Config(few_runs_floor=0.0)
        bad = 0
        for seed in range(30):
            rng = synth.rng(300 + seed)
            cmp = stats.compare(synth.runs(1, rng, reps=9),
                                synth.runs(1, rng, reps=9), loose)
            bad += len(stats.alarms(cmp))
        self.assertGreater(bad, 0)
        rng = synth.rng(7)
        cmp = stats.compare(synth.runs(1, rng, reps=9),
                            synth.runs(1, rng, reps=9, slow={PLANT + "/real_time": 1.6}), cfg)
        self.assertEqual([r["key"] for r in stats.alarms(cmp)], [PLANT])

    def test_unit_auto(self):
        rng = synth.rng(8)
        self.assertEqual(stats.compare(synth.runs(5, rng), synth.runs(5, rng),
                                       stats.Config())["unit"], "run")
        self.assertEqual(stats.compare(synth.runs(2, rng, reps=9), synth.runs(2, rng, reps=9),
                                       stats.Config())["unit"], "repetition")


class Interval(unittest.TestCase):
    def test_hodges_lehmann_coverage(self):
        """The 95 % interval covers a known shift about 95 % of the time."""
        rng = np.random.default_rng(9)
        hit, n = 0, 400
        for _ in range(n):
            x = rng.normal(0, 1, 10)
            y = rng.normal(0.5, 1, 12)
            est, lo, hi = stats.hodges_lehmann(x, y, 0.95)
            hit += lo <= 0.5 <= hi
        self.assertGreater(hit / n, 0.91)
        self.assertLess(hit / n, 0.99)

    def test_hodges_lehmann_small_sample_unbounded(self):
        est, lo, hi = stats.hodges_lehmann([1.0, 2.0], [3.0], 0.95)
        self.assertEqual((lo, hi), (-math.inf, math.inf))
        self.assertEqual(est, 1.5)


class FalsePositiveRate(unittest.TestCase):
    """The claim every report prints: at most claimed_fp of the benchmarks
    of an A/A comparison are flagged.  Measured here on 150 synthetic A/A
    pairs with the noise of a shared VM, per-run regimes included."""

    def test_aa_rate_below_claim(self):
        cfg = stats.Config()
        rng = synth.rng(10)
        alarms = comparisons = 0
        for _ in range(150):
            a = synth.runs(10, rng, outlier_p=0.03)
            b = synth.runs(10, rng, outlier_p=0.03)
            cmp = stats.compare(a, b, cfg)
            alarms += len(stats.alarms(cmp))
            comparisons += sum(1 for r in cmp["results"] if r["verdict"])
        rate = alarms / comparisons
        print("synthetic A/A: %d alarms in %d comparisons (%.3f %%), claimed <= %g %%"
              % (alarms, comparisons, 100 * rate, 100 * cfg.claimed_fp))
        self.assertLess(rate, cfg.claimed_fp)

    def test_aa_rate_is_not_zero_by_construction(self):
        """Control: the same procedure with the effect floor off and a
        loose alpha does alarm on A/A noise, so the test above can fail."""
        cfg = stats.Config(alpha=0.2, effect_floor=0.0)
        rng = synth.rng(11)
        alarms = comparisons = 0
        for _ in range(20):
            cmp = stats.compare(synth.runs(10, rng), synth.runs(10, rng), cfg)
            alarms += len(stats.alarms(cmp))
            comparisons += sum(1 for r in cmp["results"] if r["verdict"])
        self.assertGreater(alarms / comparisons, 0.02)

    def test_floor_jitter_alone_is_no_alarm(self):
        """A quiet host (no regime change) where only the indirect-call
        floor reads 6 % slower on one side, as in a real A/A run here: the
        benchmarks normalised to it must not all come out FASTER.  The
        plain ratio (beta forced to 1) does move them 6 % -- the control;
        the floor-moved-alone guard is then what keeps them unflagged."""
        rng = synth.rng(13)
        quiet = dict(regime_sigma=0.0, jitter=0.01, drift=0.005, outlier_p=0.0)
        base = synth.runs(8, rng, **quiet)
        head = synth.runs(8, rng, **quiet)
        for r in head:
            r.samples["call/floor_indirect"] = [v * 1.06 for v in r.samples["call/floor_indirect"]]
        v = verdicts(stats.compare(base, head, stats.Config()))
        self.assertNotIn(stats.FASTER, v.values(), v)
        self.assertNotIn(stats.SLOWER, v.values(), v)
        orig = stats.floor_beta
        try:
            stats.floor_beta = lambda *a, **k: 1.0
            plain = {r["key"]: r for r in stats.compare(base, head, stats.Config())["results"]}
        finally:
            stats.floor_beta = orig
        self.assertLess(plain[PLANT]["effect"], -0.05)
        self.assertEqual(plain[PLANT]["verdict"], stats.UNKNOWN)
        self.assertIn("floor alone", plain[PLANT]["reason"])
        # ...and a real change on that quiet host is still found.
        slow = synth.runs(8, rng, slow={PLANT + "/real_time": 1.3}, **quiet)
        for r in slow:
            r.samples["call/floor_indirect"] = [v * 1.06 for v in r.samples["call/floor_indirect"]]
        self.assertEqual(verdicts(stats.compare(base, slow, stats.Config()))[PLANT], stats.SLOWER)

    def test_inrun_split(self):
        rng = synth.rng(12)
        a, n, flagged = stats.aa_rate(synth.runs(10, rng), stats.Config())
        self.assertEqual(n, 12)     # the 12 non-floor benchmarks
        self.assertEqual(a, 0, flagged)


if __name__ == "__main__":
    unittest.main()
