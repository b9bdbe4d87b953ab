# SPDX-License-Identifier: BSD-3-Clause
"""Same-run A/B: builds two revisions out of tree and runs them in
interleaved rounds (AB, BA, AB, ...) on the same pinned cpus, so both see
the same machine, minute by minute.  Undecided benchmarks get more rounds
within a stated budget."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from . import floors, results, stats


class RunError(Exception):
    pass


def log(msg):
    print("lwkt-report: " + msg, file=sys.stderr, flush=True)


def git(repo, *args):
    p = subprocess.run(["git", "-C", repo] + list(args), capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RunError("git %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout.strip()


def resolve(repo, rev):
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", rev + "^{commit}")
    except RunError:
        raise RunError("'%s' is not a commit of %s" % (rev, repo))


def default_base(repo):
    """The merge-base of HEAD and main (or origin/main); HEAD~1 when HEAD
    is on main."""
    head = resolve(repo, "HEAD")
    mb = head
    for main in ("main", "origin/main"):
        try:
            mb = git(repo, "merge-base", "HEAD", main)
            break
        except RunError:
            continue
    return mb if mb != head else resolve(repo, "HEAD~1")


def build_rev(repo, rev, cache, jobs):
    """Builds lwkt-bench of commit `rev` in a temporary worktree; the binary
    is kept in cache/<sha>/ (a commit builds once).  Returns its path."""
    sha = resolve(repo, rev)
    out = os.path.join(cache, sha)
    exe = os.path.join(out, "lwkt-bench")
    # The tracing provider goes beside the binary: lwkt-bench's overhead/*
    # benchmarks dlopen it from there (bench/bench_trace.c).
    tp = os.path.join(out, "liblwkt-tp.so")
    if os.path.exists(exe) and os.path.exists(tp):
        log("%s: cached build %s" % (rev, exe))
        return sha, exe
    tmp = tempfile.mkdtemp(prefix="lwkt-report-")
    wt = os.path.join(tmp, sha[:12])
    try:
        git(repo, "worktree", "add", "--detach", wt, sha)
        log("%s (%s): building lwkt-bench out of tree in %s" % (rev, sha[:12], wt))
        p = subprocess.run(["make", "-C", wt, "-j%d" % jobs, "build/lwkt-bench"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            raise RunError("building %s failed:\n%s" % (rev, p.stdout[-3000:]))
        os.makedirs(out, exist_ok=True)
        # A commit without the provider's target: its overhead/* benchmarks
        # report the error and are listed as not compared.
        q = subprocess.run(["make", "-C", wt, "-j%d" % jobs, "build/liblwkt-tp.so"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if q.returncode != 0:
            log("%s: no tracing provider built (overhead/* will not run): %s"
                % (rev, q.stdout.strip().splitlines()[-1:]))
            open(tp, "w").close()       # tried: cached as such
        # The provider first: a cache entry is whole when the binary is there.
        names = (("liblwkt-tp.so", tp),) if q.returncode == 0 else ()
        for name, dst in names + (("lwkt-bench", exe),):
            shutil.copy2(os.path.join(wt, "build", name), dst + ".tmp")
            os.replace(dst + ".tmp", dst)
    finally:
        subprocess.run(["git", "-C", repo, "worktree", "remove", "--force", wt],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return sha, exe


def bench_filter(keys):
    """A google-benchmark filter (POSIX ERE) matching exactly these keys."""
    esc = [re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", k) for k in sorted(keys)]
    return "^(%s)(/|$)" % "|".join(esc)


class Side:
    def __init__(self, name, exe, env=None, label=None):
        self.name, self.exe, self.env = name, exe, env or {}
        self.label = label or name
        self.runs = []


def run_once(side, outdir, idx, args, host_json=None, timeout=1800):
    path = os.path.join(outdir, "%s-%03d.json" % (side.name, idx))
    cmd = [side.exe, "--benchmark_out=" + path + ".tmp",
           "--benchmark_out_format=json", "--benchmark_format=console",
           "--benchmark_color=false",
           "--benchmark_enable_random_interleaving=true"] + args
    if host_json:
        cmd.append("--host-json=" + host_json)
    env = dict(os.environ)
    env.update(side.env)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RunError("%s round %d failed (exit %d): %s\n%s"
                       % (side.name, idx, p.returncode, " ".join(cmd),
                          p.stdout[-2000:]))
    os.replace(path + ".tmp", path)
    side.runs.append(results.load_run(path))


def ab(base, head, outdir, cfg, cpus=None, bfilter=None, rounds=10, budget=10,
       reps=3, min_time=0.05, budget_seconds=None):
    """Runs `rounds` interleaved rounds of both sides, then up to `budget`
    more rounds over the benchmarks still UNKNOWN (with their floors).
    Returns (comparison, run log dict)."""
    os.makedirs(outdir, exist_ok=True)
    common = ["--benchmark_repetitions=%d" % reps,
              "--benchmark_min_time=%g" % min_time]
    if cpus:
        common.append("--cpus=" + cpus)
    t0 = time.monotonic()
    idx = 0

    def one_round(args):
        nonlocal idx
        order = (base, head) if idx % 2 == 0 else (head, base)
        for s in order:
            run_once(s, outdir, idx, args,
                     host_json=os.path.join(outdir, "host.json") if idx == 0 and s is head else None)
        idx += 1

    first = common + (["--benchmark_filter=" + bfilter] if bfilter else [])
    for r in range(rounds):
        log("round %d/%d (%s first)" % (r + 1, rounds, "base" if r % 2 == 0 else "head"))
        one_round(first)
    cmp = stats.compare(base.runs, head.runs, cfg)
    extra = 0
    extra_keys = []
    while extra < budget:
        unknown = [x["key"] for x in cmp["results"] if x.get("verdict") == stats.UNKNOWN]
        if not unknown:
            break
        if budget_seconds and time.monotonic() - t0 > budget_seconds:
            log("time budget of %gs spent: %d benchmark(s) stay UNKNOWN"
                % (budget_seconds, len(unknown)))
            break
        need = set(unknown)
        for k in unknown:
            f = floors.floor_of(k, set().union(*(r.samples.keys() for r in base.runs)))
            if f:
                need.add(f)
        extra_keys = sorted(set(extra_keys) | set(unknown))
        log("extra round %d/%d for %d UNKNOWN benchmark(s)" % (extra + 1, budget, len(unknown)))
        one_round(common + ["--benchmark_filter=" + bench_filter(need)])
        extra += 1
        cmp = stats.compare(base.runs, head.runs, cfg)
    runlog = {"rounds": rounds, "extra_rounds": extra, "budget_rounds": budget,
              "budget_seconds": budget_seconds, "extra_keys": extra_keys,
              "repetitions": reps, "min_time": min_time, "cpus": cpus,
              "filter": bfilter, "seconds": round(time.monotonic() - t0, 1),
              "order": "AB, BA, AB, ..."}
    return cmp, runlog
