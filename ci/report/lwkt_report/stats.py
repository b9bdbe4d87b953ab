# SPDX-License-Identifier: BSD-3-Clause
"""Verdicts: SAME / FASTER / SLOWER / UNKNOWN per benchmark.

Each value is first divided by the median of its floor in the same run
(floors.py).  Then, on log values (a ratio is a shift in logs):
  - effect: the Hodges-Lehmann estimate of the shift head - base, the
    median of all pairwise differences (Hodges & Lehmann, Ann. Math.
    Statist. 34 (1963)); its confidence interval is the distribution-free
    one built from the same differences and the Mann-Whitney null
    distribution (Moses; Hollander, Wolfe & Chicken, "Nonparametric
    Statistical Methods", 3rd ed., sec. 4.3);
  - SLOWER / FASTER: the two-sided Mann-Whitney U test rejects at alpha
    AND the estimate is beyond the effect-size floor AND the interval
    excludes 0;
  - SAME: the interval lies inside +-floor (an equivalence statement:
    whatever changed is smaller than the floor);
  - UNKNOWN: neither; more data may decide (Chromium Pinpoint's approach:
    add repetitions to undecided comparisons, within a budget).
A difference smaller than the floor is never an alarm, however small its
p-value: on shared VMs small shifts are the rule, not news.
"""
import math
import statistics

import numpy as np
from scipy import stats as sps

from . import floors

SAME, FASTER, SLOWER, UNKNOWN = "SAME", "FASTER", "SLOWER", "UNKNOWN"
VERDICTS = (SLOWER, FASTER, UNKNOWN, SAME)


class Config:
    def __init__(self, alpha=0.01, effect_floor=0.05, level=0.95, unit="auto",
                 min_n=5, claimed_fp=0.01, normalise=True, few_runs_floor=0.25,
                 floor_spread=16.0):
        self.alpha = alpha              # U-test level
        self.effect_floor = effect_floor  # relative change below which nothing is flagged
        self.level = level              # confidence level of the effect's interval
        self.unit = unit                # "run", "repetition" or "auto"
        self.min_n = min_n              # fewer samples per side: UNKNOWN
        self.claimed_fp = claimed_fp    # A/A alarms per benchmark the reports claim
        self.normalise = normalise      # divide by the floor of the same run
        # With fewer than min_n runs a side, repetitions are the unit and
        # run-to-run variation goes unmeasured: only changes beyond this
        # are flagged, and SAME is never claimed.
        self.few_runs_floor = few_runs_floor
        # A floor whose per-run medians span more than this factor on a
        # side measured the scheduler, not the hardware (an oversubscribed
        # host: a spinning two-thread ping-pong swung 800x here); ratios
        # to it are no evidence.  Regimes floors absorb were seen at 2-9x.
        self.floor_spread = floor_spread

    def as_dict(self):
        return dict(self.__dict__)


def hodges_lehmann(x, y, level):
    """(estimate, lo, hi) of the shift y - x; lo/hi are -inf/inf when the
    samples are too small for an interval at this level."""
    d = np.sort(np.subtract.outer(np.asarray(y), np.asarray(x)).ravel())
    n, m = len(x), len(y)
    est = float(np.median(d))
    z = sps.norm.ppf(1 - (1 - level) / 2)
    # k: how many differences each tail drops (normal approximation of
    # the U distribution's quantile, fine from n, m >= 5).
    k = int(math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12.0)))
    if k < 1:
        return est, -math.inf, math.inf
    return est, float(d[k - 1]), float(d[n * m - k])


def decide(x, y, cfg, few_runs=False):
    """Verdict of head samples y against base samples x (positive values,
    lower is better).  Returns a dict: verdict, p, effect (relative change
    of head vs base), ci (relative), reason."""
    out = {"n_base": len(x), "n_head": len(y), "p": None, "effect": None,
           "ci": None}
    if len(x) < cfg.min_n or len(y) < cfg.min_n:
        out.update(verdict=UNKNOWN, reason="fewer than %d samples per side"
                   % cfg.min_n)
        return out
    lx, ly = np.log(x), np.log(y)
    if np.all(lx == lx[0]) and np.all(ly == ly[0]):
        p = 1.0 if lx[0] == ly[0] else 0.0
    else:
        p = float(sps.mannwhitneyu(ly, lx, alternative="two-sided").pvalue)
    est, lo, hi = hodges_lehmann(lx, ly, cfg.level)
    lf = math.log1p(max(cfg.effect_floor, cfg.few_runs_floor if few_runs else 0))
    out.update(p=p, effect=math.expm1(est),
               ci=(math.expm1(lo) if lo > -math.inf else -1.0,
                   math.expm1(hi) if hi < math.inf else math.inf))
    if p < cfg.alpha and est >= lf and lo > 0:
        out.update(verdict=SLOWER, reason="p < %g and effect >= +%g%%"
                   % (cfg.alpha, 100 * math.expm1(lf)))
    elif p < cfg.alpha and est <= -lf and hi < 0:
        out.update(verdict=FASTER, reason="p < %g and effect <= -%g%%"
                   % (cfg.alpha, 100 * math.expm1(lf)))
    elif few_runs:
        out.update(verdict=UNKNOWN, reason="fewer than %d runs a side: run-to-run "
                   "variation unmeasured (only changes beyond %g%% are flagged)"
                   % (cfg.min_n, 100 * cfg.few_runs_floor))
    elif lo > -lf and hi < lf:
        out.update(verdict=SAME, reason="%g%% CI inside +-%g%%"
                   % (100 * cfg.level, 100 * cfg.effect_floor))
    else:
        out.update(verdict=UNKNOWN, reason="CI wider than the effect floor")
    return out


def _median(v):
    return statistics.median(v)


def unit_for(base, head, cfg):
    if cfg.unit != "auto":
        return cfg.unit
    return "run" if min(len(base), len(head)) >= cfg.min_n else "repetition"


def side_samples(runs, key, unit, normalise=True, beta=1.0):
    """Floor-normalised samples of `key` over runs (divided by the floor's
    median to the power beta, see floor_beta), the raw medians, and the
    floor used (None: none in these runs, values are raw)."""
    vals, raw, used = [], [], {}
    for r in runs:
        xs = r.samples.get(key)
        if not xs:
            continue
        f = floors.floor_of(key, r.samples.keys()) if normalise else None
        fm = _median(r.samples[f]) ** beta if f else None
        used[f] = used.get(f, 0) + 1
        norm = [v / fm for v in xs] if fm else list(xs)
        if unit == "run":
            vals.append(_median(norm))
            raw.append(_median(xs))
        else:
            vals.extend(norm)
            raw.extend(xs)
    floor = max(used, key=lambda k: used[k]) if used else None
    return vals, raw, floor


def floor_beta(base, head, key, min_runs=4, regime=0.25):
    """How much of the floor's run-to-run movement `key` follows: the
    slope of log(key) on log(floor) over the per-run medians, pooled
    within each side (centred per side), clipped to [0, 1].  Samples are
    divided by floor**beta (a control variate).  A regime change moves the
    floor and the benchmark together (beta near 1: the plain ratio); on a
    quiet host the floor's own jitter is independent of the benchmark
    (beta near 0: dividing by it would only add that jitter to every
    benchmark normalised by it at once -- in a real A/A run here the
    indirect-call floor read +6 % on one side and three benchmarks came
    out 6-7 % FASTER).  With fewer than min_runs runs a side the slope
    is not estimable, and a floor whose median moved more than `regime`
    between the sides saw a regime change (2-9x here) that the slope
    within the sides says nothing of: both give 1, the plain ratio."""
    xs, fs, mids = [], [], []
    for runs in (base, head):
        lx, lf = [], []
        for r in runs:
            f = floors.floor_of(key, r.samples.keys())
            if f and r.samples.get(key) and r.samples.get(f):
                lx.append(math.log(_median(r.samples[key])))
                lf.append(math.log(_median(r.samples[f])))
        if len(lx) < min_runs:
            return 1.0
        mx, mf = sum(lx) / len(lx), sum(lf) / len(lf)
        xs += [v - mx for v in lx]
        fs += [v - mf for v in lf]
        mids.append(statistics.median(lf))
    if abs(mids[1] - mids[0]) > math.log1p(regime):
        return 1.0
    sff = sum(v * v for v in fs)
    if sff <= 1e-12:
        return 1.0
    return min(1.0, max(0.0, sum(a * b for a, b in zip(xs, fs)) / sff))


def key_in(run, key):
    return bool(run.samples.get(key))


def keys_of(runs):
    seen, order = set(), []
    for r in runs:
        for k in r.order:
            if k not in seen:
                seen.add(k)
                order.append(k)
    return order


def compare(base, head, cfg):
    """Compares two lists of Runs.  Returns a dict with `results` (one per
    benchmark on both sides, floors included with verdict None),
    `base_only`, `head_only`, `errors`, `unit`."""
    unit = unit_for(base, head, cfg)
    bk, hk = keys_of(base), keys_of(head)
    hset, bset = set(hk), set(bk)
    b_ok = {k for r in base for k in r.samples}
    h_ok = {k for r in head for k in r.samples}
    errors = {}
    for side, runs in (("base", base), ("head", head)):
        for r in runs:
            for k, msg in r.errors.items():
                errors.setdefault(k, []).append("%s: %s (%s)" % (side, msg, r.path))
    spread = {}
    for f in set(bk) | set(hk):
        if floors.is_floor(f):
            sp = []
            for runs in (base, head):
                m = [_median(r.samples[f]) for r in runs if r.samples.get(f)]
                if m:
                    sp.append(max(m) / min(m))
            spread[f] = max(sp) if sp else 1.0
    # How each floor moved between the sides (its raw values): a verdict
    # that exists only through that move is no evidence (below).
    moved = {}

    def floor_moved(f):
        if f not in moved:
            fx = side_samples(base, f, unit, False)[1]
            fy = side_samples(head, f, unit, False)[1]
            moved[f] = decide(fx, fy, cfg)
        return moved[f]
    results = []
    for k in bk:
        if k not in hset or k not in b_ok or k not in h_ok:
            continue
        beta = floor_beta(base, head, k) if cfg.normalise and not floors.is_floor(k) else 1.0
        x, xr, xf = side_samples(base, k, unit, cfg.normalise)
        y, yr, yf = side_samples(head, k, unit, cfg.normalise)
        if beta != 1.0:
            xt = side_samples(base, k, unit, cfg.normalise, beta)[0]
            yt = side_samples(head, k, unit, cfg.normalise, beta)[0]
        else:
            xt, yt = x, y
        wl, mech, params = k.split("/")[0], (k.split("/") + [""])[1], "/".join(k.split("/")[2:])
        res = {"key": k, "workload": wl, "mechanism": mech, "params": params,
               "floor": xf if xf == yf else None, "is_floor": floors.is_floor(k),
               "base_norm": _median(x), "head_norm": _median(y),
               "base_ns": _median(xr), "head_ns": _median(yr),
               "base_values": x, "head_values": y, "floor_beta": beta}
        if floors.is_floor(k):
            # The reference itself: its raw change says how the machine moved.
            res.update(verdict=None, raw_change=res["head_ns"] / res["base_ns"] - 1,
                       n_base=len(x), n_head=len(y), spread=spread.get(k, 1.0))
        else:
            if xf != yf:
                res["note"] = "floors differ (base %s, head %s): raw values" % (xf, yf)
            nb = sum(1 for r in base if key_in(r, k))
            nh = sum(1 for r in head if key_in(r, k))
            res.update(decide(xt, yt, cfg, few_runs=unit == "repetition"
                              and min(nb, nh) < cfg.min_n))
            res.update(runs_base=nb, runs_head=nh)
            # The floor moved between the sides, the benchmark's own times
            # did not (their CI holds 0): the ratio moved with the floor
            # alone.  Seen here: call/floor_indirect +49 % on one side (a
            # neighbour on the sibling hyperthread slows some same-cpu
            # loops, not others) made shim/empty_loop "FASTER" by -33 %.
            fm = floor_moved(res["floor"]) if res["floor"] and cfg.normalise else None
            if fm and fm["verdict"] in (SLOWER, FASTER) and res["verdict"] in (SLOWER, FASTER):
                rw = decide(xr, yr, cfg)
                if rw["ci"] is not None and rw["ci"][0] <= 0 <= rw["ci"][1]:
                    # raw_effect marks this case (render.py names it).
                    res.update(verdict=UNKNOWN, raw_effect=rw["effect"],
                               reason="floor %s moved %+.0f%% between the sides and the raw "
                               "times did not (%+.1f%%, CI holds 0): the ratio moved with the "
                               "floor alone" % (res["floor"], 100 * fm["effect"],
                                                100 * rw["effect"]))
            fs = spread.get(res["floor"], 1.0) if cfg.normalise else 1.0
            if fs > cfg.floor_spread:
                res.update(verdict=UNKNOWN, reason="floor %s spanned x%.0f across runs (> x%g):"
                           " an oversubscribed host; its ratios are no evidence"
                           % (res["floor"], fs, cfg.floor_spread))
        results.append(res)
    return {"unit": unit, "results": results,
            "base_only": [k for k in bk if k not in hset],
            "head_only": [k for k in hk if k not in bset],
            "errors": errors}


def counts(cmp):
    c = {v: 0 for v in VERDICTS}
    for r in cmp["results"]:
        if r.get("verdict"):
            c[r["verdict"]] += 1
    return c


def alarms(cmp):
    return [r for r in cmp["results"] if r.get("verdict") in (SLOWER, FASTER)]


def aa_split(runs, unit):
    """Two halves of one side for an A/A comparison inside the same run:
    alternate runs (unit "run"), or alternate repetitions of each run."""
    if unit == "run":
        return runs[0::2], runs[1::2]
    from .results import Run
    a, b = [], []
    for i, r in enumerate(runs):
        ra, rb = Run(r.path + "#even", r.context), Run(r.path + "#odd", r.context)
        ra.order = rb.order = list(r.order)
        ra.cell = rb.cell = r.cell
        for k, v in r.samples.items():
            ra.samples[k], rb.samples[k] = v[0::2], v[1::2]
        # Which half gets the first repetition alternates by run: a
        # position effect (warm-up) must not fall on one half only.
        if i % 2:
            ra, rb = rb, ra
        a.append(ra)
        b.append(rb)
    return a, b


def aa_rate(runs, cfg):
    """The in-run A/A check: alternate halves of one side compared with the
    same procedure.  Returns (alarms, comparisons, names flagged)."""
    unit = unit_for(runs, runs, cfg)
    if unit == "run" and len(runs) < 2 * cfg.min_n or any(r.cell for r in runs):
        unit = "repetition"     # (matrix cells: one run per cell)
    a, b = aa_split(runs, unit)
    sub = Config(**cfg.as_dict())
    sub.unit = unit
    cmp = compare_cells(a, b, sub)
    decided = [r for r in cmp["results"] if r.get("verdict")]
    flagged = [r["key"] for r in alarms(cmp)]
    return len(flagged), len(decided), flagged


def compare_cells(base, head, cfg):
    """compare() cell by cell when the runs are bench-matrix cells (each
    cell its own cpu pair with its own floors); keys become
    "KEY @CELL".  Plain runs: compare() as is."""
    cells = []
    for r in base + head:
        if r.cell not in cells:
            cells.append(r.cell)
    if cells == [None]:
        return compare(base, head, cfg)
    out = {"unit": None, "results": [], "base_only": [], "head_only": [], "errors": {}}
    for c in cells:
        b = [r for r in base if r.cell == c]
        h = [r for r in head if r.cell == c]
        tag = " @" + (c or "?")
        if not b or not h:
            side = out["head_only"] if not b else out["base_only"]
            side.extend(k + tag for k in keys_of(b or h))
            continue
        sub = compare(b, h, cfg)
        out["unit"] = out["unit"] or sub["unit"]
        for r in sub["results"]:
            r["key"] += tag
            if r.get("floor"):
                r["floor"] += tag
            r["cell"] = c
            out["results"].append(r)
        out["base_only"] += [k + tag for k in sub["base_only"]]
        out["head_only"] += [k + tag for k in sub["head_only"]]
        for k, v in sub["errors"].items():
            out["errors"][k + tag] = v
    out["unit"] = out["unit"] or "repetition"
    return out
