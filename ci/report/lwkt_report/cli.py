# SPDX-License-Identifier: BSD-3-Clause
"""The lwkt-report command line (see `lwkt-report --help`)."""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys

from . import callgrind, history, render, results, runner, stats

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

DESCRIPTION = """\
Same-run A/B performance reports for lwkt-lab.

  lwkt-report ab [--base REV] [--head REV] [-o DIR]
      build both revisions out of tree (git worktree + make), run them in
      interleaved rounds (AB, BA, ...) on the same pinned cpus, decide a
      verdict per benchmark, write DIR/report.md, report.html, data.json
      and the raw runs (DIR/runs/{base,head}-NNN.json)
  lwkt-report compare BASE HEAD [-o DIR]
      the same verdicts from existing results: each side a google-benchmark
      JSON file, a directory of them (the rounds of one side), or a
      bench-matrix output directory
  lwkt-report aa [--bin EXE] [--history DB]
      A/A: one build against itself, interleaved like `ab`; prints the
      alarm rate (SLOWER/FASTER verdicts over benchmarks compared) and
      records it in the history database
  lwkt-report history DB
      list the series in a history database and their change points
  lwkt-report callgrind --bin EXE [--bin EXE2]
      instructions per iteration of the single-cpu paths (valgrind)

Verdicts.  Each value is divided by the median of its floor measured in
the same process run (roundtrip/floor_cacheline for cross-cpu messages,
roundtrip/floor_futex for mechanisms that sleep, stream/floor_spsc for
streams, call/floor_indirect for same-cpu paths...: the report lists the
mapping).  Per benchmark, on log ratios: SLOWER/FASTER when the two-sided
Mann-Whitney U test rejects at --alpha AND the Hodges-Lehmann effect is
beyond --effect-floor AND its CI excludes 0; SAME when the --level CI is
inside +-effect-floor; UNKNOWN otherwise.  In `ab`, UNKNOWN benchmarks
(with their floors) get extra rounds up to --budget rounds.  The unit of a
sample is one run (its median) when each side has at least 5 runs, else
one repetition; then run-to-run variation goes unmeasured (repetitions of
one run share its drift), so only changes beyond --few-runs-floor (25%)
are flagged and SAME is never claimed.  A floor whose per-run medians span
more than --floor-spread (16x) on a side measured the scheduler, not the
hardware (an oversubscribed host): benchmarks divided by it stay UNKNOWN.
So does a benchmark whose ratio moved with its floor alone (the floor's raw
times moved between the sides, the benchmark's did not).  Bench-matrix outputs
(lwkt-matrix --out DIR) compare cell by cell ("KEY @CLASS A-B"), with
heat maps of the ratios from results.csv.  Floors themselves get no verdict: their raw change shows
how the machine moved between the sides.

False-positive rate.  Every report prints the rate it claims (--claimed-fp,
alarms per benchmark in an A/A comparison) and what was measured: an A/A
comparison of alternate base rounds of this run, the A/A runs recorded in
--history, and ci/report/tests' synthetic calibration.

Exit status: 0 done, 1 bad input or failed run (message names the file and
the problem), 2 usage, 3 with --fail-on-slower when a benchmark is SLOWER.
"""


def _env_pairs(items):
    out = {}
    for s in items or []:
        if "=" not in s:
            raise SystemExit("lwkt-report: error: --*-env wants NAME=VALUE, got '%s'" % s)
        k, v = s.split("=", 1)
        out[k] = v
    return out


def _add_stats(p):
    g = p.add_argument_group("verdicts")
    g.add_argument("--alpha", type=float, default=0.01, help="U-test level (default 0.01)")
    g.add_argument("--effect-floor", type=float, default=0.05,
                   help="smallest relative change ever flagged (default 0.05 = 5%%)")
    g.add_argument("--level", type=float, default=0.95, help="CI level (default 0.95)")
    g.add_argument("--unit", choices=("auto", "run", "repetition"), default="auto",
                   help="sample unit (default auto: run when >= 5 runs per side)")
    g.add_argument("--few-runs-floor", type=float, default=0.25,
                   help="effect floor when a side has fewer than 5 runs (default 0.25)")
    g.add_argument("--floor-spread", type=float, default=16.0,
                   help="a floor spanning more than this factor across a side's runs "
                   "gives no verdicts (default 16)")
    g.add_argument("--claimed-fp", type=float, default=0.01,
                   help="A/A alarm rate per benchmark the report claims (default 0.01)")
    g.add_argument("--raw", action="store_true",
                   help="no floor normalisation (compare raw times: not robust on VMs)")
    g.add_argument("--allow-cross-host", action="store_true",
                   help="compare results of different machines (meaningless for A/B)")
    g.add_argument("--fail-on-slower", action="store_true", help="exit 3 on any SLOWER")
    g.add_argument("--history", metavar="DB", help="SQLite history: A/A totals, change points")
    g.add_argument("--load-note", help="a sentence printed at the top (e.g. 'taken under load')")


def _add_run(p):
    g = p.add_argument_group("runs")
    g.add_argument("--filter", help="google-benchmark filter (regex) of the first rounds")
    g.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    g.add_argument("--budget", type=int, default=10,
                   help="extra rounds at most for UNKNOWN benchmarks (default 10)")
    g.add_argument("--budget-seconds", type=float, help="and at most this long in all")
    g.add_argument("--reps", type=int, default=3, help="repetitions per run (default 3)")
    g.add_argument("--min-time", type=float, default=0.05,
                   help="--benchmark_min_time per repetition (default 0.05)")
    g.add_argument("--cpus", default=None, help="the two pinned PUs, e.g. 0,1 (lwkt-bench --cpus)")
    g.add_argument("-o", "--out", default="out/report", help="output dir (default out/report)")


def parser():
    p = argparse.ArgumentParser(prog="lwkt-report", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True
    a = sub.add_parser("ab", help="same-run A/B of two revisions or binaries")
    a.add_argument("--base", help="base revision (default: merge-base with main, or HEAD~1 on main)")
    a.add_argument("--head", default=None, help="head revision (default HEAD)")
    a.add_argument("--base-bin", help="use this lwkt-bench as base (no build)")
    a.add_argument("--head-bin", help="use this lwkt-bench as head (no build)")
    a.add_argument("--base-env", action="append", metavar="NAME=VALUE",
                   help="environment of the base runs (repeatable)")
    a.add_argument("--head-env", action="append", metavar="NAME=VALUE",
                   help="environment of the head runs (repeatable), e.g. a runtime knob")
    a.add_argument("--cache", default=os.path.join(REPO, "build", "report-cache"),
                   help="built binaries per commit (default build/report-cache)")
    a.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a.add_argument("--callgrind", action="store_true",
                   help="add instruction counts of the single-cpu paths (valgrind)")
    a.add_argument("--record", action="store_true",
                   help="append head's results to --history (the main branch's runs)")
    _add_run(a)
    _add_stats(a)
    c = sub.add_parser("compare", help="verdicts from existing result files")
    c.add_argument("base", help="base: google-benchmark JSON file or a directory of them")
    c.add_argument("head", help="head: the same")
    c.add_argument("-o", "--out", default="out/report")
    _add_stats(c)
    q = sub.add_parser("aa", help="A/A: measure the alarm rate")
    q.add_argument("--bin", help="lwkt-bench to run (default build/lwkt-bench)")
    _add_run(q)
    _add_stats(q)
    h = sub.add_parser("history", help="list a history database's change points")
    h.add_argument("db")
    h.add_argument("--effect-floor", type=float, default=0.05)
    g = sub.add_parser("callgrind", help="instructions per iteration, single-cpu paths")
    g.add_argument("--bin", required=True, action="append",
                   help="lwkt-bench (give two to compare)")
    return p


def cfg_of(args):
    return stats.Config(alpha=args.alpha, effect_floor=args.effect_floor, level=args.level,
                        unit=args.unit, claimed_fp=args.claimed_fp,
                        normalise=not args.raw, few_runs_floor=args.few_runs_floor, floor_spread=args.floor_spread)


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _host_of(runs, path=None):
    if path and os.path.exists(path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            pass
    ctx = runs[0].context if runs else {}
    return {"hostname": ctx.get("host_name"), "num_cpus": ctx.get("num_cpus"),
            "mhz_per_cpu": ctx.get("mhz_per_cpu"), "date": ctx.get("date"),
            "library_build_type": ctx.get("library_build_type")}


def build_report(cmp, cfg, base_info, head_info, base_runs, host, runlog=None,
                 hist_db=None, cg=None, load_note=None):
    a, n, flagged = stats.aa_rate(base_runs, cfg) if len(base_runs) >= 2 or \
        (base_runs and max(len(v) for v in base_runs[0].samples.values()) >= 2) else (0, 0, [])
    rep = {"base": base_info, "head": head_info, "config": cfg.as_dict(),
           "unit": cmp["unit"], "results": cmp["results"], "base_only": cmp["base_only"],
           "head_only": cmp["head_only"], "errors": cmp["errors"],
           "counts": stats.counts(cmp), "aa_inrun": {"alarms": a, "comparisons": n,
                                                     "flagged": flagged},
           "runlog": runlog, "host": host, "callgrind": cg, "load_note": load_note,
           "links": {"report.html": "report.html", "data.json": "data.json"}}
    if runlog:
        rep["links"]["raw runs"] = "runs/"
    if hist_db:
        db = history.open_db(hist_db)
        al, cm, nr = history.aa_totals(db, host)
        rep["aa_history"] = {"alarms": al, "comparisons": cm, "runs": nr}
        rep["history"], rep["history_cps"] = history_charts(db, host, cfg.effect_floor)
    return _finite(rep)


def history_charts(db, host, effect_floor):
    charts, cps = [], []
    for (hid, bench), pts in history.series(db, host).items():
        vals = [p[2] for p in pts]
        cp = history.change_points(vals, effect_floor=effect_floor) if len(vals) >= 6 else []
        charts.append({"title": "history: " + bench, "benchmark": bench,
                       "points": [[p[0], p[1], p[2]] for p in pts], "change_points": cp,
                       "unit": "× floor" if not bench.split("/")[-1].startswith("floor_") else "ns"})
        for i in cp:
            before = sum(vals[:i]) / i
            after = sum(vals[i:]) / (len(vals) - i)
            cps.append({"benchmark": bench, "commit": pts[i][1], "index": i,
                        "change": after / before - 1})
    return charts, cps


def record(hist_db, commit, host, cmp, subject=None):
    rows = [{"key": r["key"], "floor": r["floor"], "value": r["head_norm"],
             "raw_ns": r["head_ns"], "n": r["n_head"]} for r in cmp["results"]]
    db = history.open_db(hist_db)
    history.append(db, commit, host, rows, subject)


def finish(args, rep):
    paths = render.write(rep, args.out)
    sys.stdout.write(render.markdown(rep))
    print("lwkt-report: wrote %s" % ", ".join(paths.values()), file=sys.stderr)
    if getattr(args, "fail_on_slower", False) and rep["counts"]["SLOWER"]:
        return 3
    return 0


def cmd_compare(args):
    base = results.load_side(args.base)
    head = results.load_side(args.head)
    results.check_pair(base, head, args.allow_cross_host)
    cfg = cfg_of(args)
    cmp = stats.compare_cells(base, head, cfg)
    host = _host_of(head)
    if results.is_matrix(args.head):
        hosts = os.path.join(args.head, "hosts")
        for h in sorted(os.listdir(hosts)):
            host = _host_of(head, os.path.join(hosts, h, "host.json"))
            break
    rep = build_report(cmp, cfg, {"label": args.base}, {"label": args.head}, base,
                       host, hist_db=args.history, load_note=args.load_note)
    rep["matrix"] = matrix_maps(args.base, args.head)
    return finish(args, rep)


def _cell_maps(rows, title):
    """Heat maps (one per host and workload): rows mechanism[/params],
    columns the cells, values the ratio to the pair's floor."""
    maps = {}
    for r in rows:
        try:
            v = float(r["ratio"]) if r["ratio"] else None
        except ValueError:
            v = None
        if v is not None and not (v > 0 and math.isfinite(v)):
            v = None
        m = maps.setdefault((r["host"], r["workload"]), {"rows": [], "cols": [], "v": {}})
        row = r["mechanism"] + ("/" + r["params"] if r["params"] else "")
        col = "%s %s-%s" % (r["class"], r["cpu_a"], r["cpu_b"])
        if row not in m["rows"]:
            m["rows"].append(row)
        if col not in m["cols"]:
            m["cols"].append(col)
        m["v"][(row, col)] = v
    out = []
    for (h, wl), m in maps.items():
        vals = [[m["v"].get((r, c)) for c in m["cols"]] for r in m["rows"]]
        if any(v is not None for row in vals for v in row):
            out.append({"title": "%s %s: %s" % (h, wl, title), "rows": m["rows"],
                        "cols": m["cols"], "values": vals})
    return out


def matrix_maps(base_spec, head_spec):
    """The heat maps of bench-matrix outputs: head's ratios to the pair's
    floor, and head / base per cell when both sides are matrices."""
    if not results.is_matrix(head_spec):
        return None
    hrows = results.load_matrix_csv(head_spec)
    maps = _cell_maps(hrows, "ratio to the pair's floor (head)")
    if results.is_matrix(base_spec):
        brows = {(r["host"], r["workload"], r["mechanism"], r["params"], r["class"],
                  r["cpu_a"], r["cpu_b"]): r for r in results.load_matrix_csv(base_spec)}
        change = []
        for r in hrows:
            b = brows.get((r["host"], r["workload"], r["mechanism"], r["params"], r["class"],
                           r["cpu_a"], r["cpu_b"]))
            try:
                v = float(r["ratio"]) / float(b["ratio"]) if b else None
            except (ValueError, ZeroDivisionError, TypeError):
                v = None
            change.append(dict(r, ratio="" if v is None else repr(v)))
        maps += _cell_maps(change, "head / base of the ratio")
    return maps


def _prepare_out(out):
    rdir = os.path.join(out, "runs")
    if os.path.isdir(rdir):
        shutil.rmtree(rdir)
    os.makedirs(rdir)
    return rdir


def cmd_ab(args):
    cfg = cfg_of(args)
    # Both revisions are resolved before either is built: a branch that
    # moves during a build (main, in a shared clone) must not shift one
    # side only.
    brev = None if args.base_bin else (args.base or runner.default_base(REPO))
    hrev = None if args.head_bin else (args.head or "HEAD")
    bsha = runner.resolve(REPO, brev) if brev else None
    hsha = runner.resolve(REPO, hrev) if hrev else None
    if args.base_bin:
        bexe, binfo = args.base_bin, {"label": args.base_bin}
    else:
        rev = brev
        sha, bexe = runner.build_rev(REPO, bsha, args.cache, args.jobs)
        binfo = {"label": "%s (%s)" % (rev, sha[:12]) if rev != sha else sha[:12], "sha": sha}
    if args.head_bin:
        hexe, hinfo = args.head_bin, {"label": args.head_bin}
    else:
        rev = hrev
        sha, hexe = runner.build_rev(REPO, hsha, args.cache, args.jobs)
        hinfo = {"label": "%s (%s)" % (rev, sha[:12]), "sha": sha}
    benv, henv = _env_pairs(args.base_env), _env_pairs(args.head_env)
    if benv:
        binfo["label"] += " " + " ".join("%s=%s" % kv for kv in benv.items())
    if henv:
        hinfo["label"] += " " + " ".join("%s=%s" % kv for kv in henv.items())
    rdir = _prepare_out(args.out)
    base = runner.Side("base", bexe, benv)
    head = runner.Side("head", hexe, henv)
    cmp, runlog = runner.ab(base, head, rdir, cfg, cpus=args.cpus, bfilter=args.filter,
                            rounds=args.rounds, budget=args.budget, reps=args.reps,
                            min_time=args.min_time, budget_seconds=args.budget_seconds)
    host = _host_of(head.runs, os.path.join(rdir, "host.json"))
    cg = None
    if args.callgrind:
        ran = {k for r in base.runs + head.runs for k in r.samples}
        cg = callgrind.compare(bexe, hexe, benv, henv, keys=ran)
    if args.record:
        if not args.history or "sha" not in hinfo:
            raise runner.RunError("--record needs --history and a head revision")
        record(args.history, hinfo["sha"], host, cmp)
    rep = build_report(cmp, cfg, binfo, hinfo, base.runs, host, runlog, args.history, cg,
                       args.load_note)
    return finish(args, rep)


def cmd_aa(args):
    cfg = cfg_of(args)
    exe = args.bin or os.path.join(REPO, "build", "lwkt-bench")
    rdir = _prepare_out(args.out)
    a, b = runner.Side("base", exe), runner.Side("head", exe)
    cmp, runlog = runner.ab(a, b, rdir, cfg, cpus=args.cpus, bfilter=args.filter,
                            rounds=args.rounds, budget=args.budget, reps=args.reps,
                            min_time=args.min_time, budget_seconds=args.budget_seconds)
    host = _host_of(b.runs, os.path.join(rdir, "host.json"))
    decided = [r for r in cmp["results"] if r.get("verdict")]
    flagged = stats.alarms(cmp)
    if args.history:
        history.append_aa(history.open_db(args.history), host, "aa " + exe, len(flagged),
                          len(decided), cfg.claimed_fp)
    rep = build_report(cmp, cfg, {"label": exe + " (A)"}, {"label": exe + " (A')"},
                       a.runs, host, runlog, args.history, None, args.load_note)
    rc = finish(args, rep)
    print("lwkt-report: A/A alarms: %d of %d benchmarks (%s); claimed rate %g"
          % (len(flagged), len(decided), ", ".join(r["key"] for r in flagged) or "none",
             cfg.claimed_fp), file=sys.stderr)
    return rc


def cmd_history(args):
    if not os.path.exists(args.db):
        raise results.ResultError("%s: no such history database" % args.db)
    db = history.open_db(args.db)
    n = 0
    for (hid, bench), pts in sorted(history.series(db).items()):
        vals = [p[2] for p in pts]
        cps = history.change_points(vals, effect_floor=args.effect_floor) if len(vals) >= 6 else []
        print("%s %s: %d commits, change points: %s" % (hid, bench, len(vals), ", ".join(
            "%s (%+.1f%%)" % (pts[i][1][:12], 100 * ((sum(vals[i:]) / (len(vals) - i)) /
                                                    (sum(vals[:i]) / i) - 1)) for i in cps) or "none"))
        n += 1
    al, cm, nr = history.aa_totals(db)
    print("A/A: %d runs, %d alarms in %d comparisons" % (nr, al, cm))
    return 0


def cmd_callgrind(args):
    if len(args.bin) > 2:
        raise SystemExit("lwkt-report: error: --bin at most twice")
    rows = callgrind.compare(args.bin[0], args.bin[-1]) if len(args.bin) == 2 else \
        [dict(r, base=r["ir"]) for r in callgrind.measure(args.bin[0])]
    for r in rows:
        print("%-28s %-32s base %s head %s" % (r["path"], r["benchmark"],
                                               render._ir(r.get("base")), render._ir(r.get("head"))))
    return 0


class _Stopped(Exception):
    pass


def _stop(signum, frame):
    raise _Stopped(signal.Signals(signum).name)


def main(argv=None):
    args = parser().parse_args(argv)
    # SIGTERM/SIGHUP unwind like Ctrl-C: subprocess.run kills the running
    # lwkt-bench or valgrind, the temporary worktrees are removed.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    try:
        return {"ab": cmd_ab, "compare": cmd_compare, "aa": cmd_aa, "history": cmd_history,
                "callgrind": cmd_callgrind}[args.cmd](args)
    except (results.ResultError, runner.RunError, callgrind.CallgrindError) as e:
        print("lwkt-report: error: %s" % e, file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Stopped) as e:
        print("lwkt-report: stopped (%s): the runs so far are in the output "
              "directory's runs/" % (e or "SIGINT"), file=sys.stderr)
        return 130
    except subprocess.TimeoutExpired as e:
        print("lwkt-report: error: timed out: %s" % e, file=sys.stderr)
        return 1
