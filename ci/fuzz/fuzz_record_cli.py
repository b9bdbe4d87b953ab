#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""fuzz_record_cli.py: a structured mutation test of lwkt-record's
option parsing (trace/lwkt-record, a bash script).

Why not AFL++: AFL++ steers by the coverage its compiler instrumentation
records; bash is not instrumented (afl-fuzz -n would mutate blind, one
bash start per input), and an accepted command line starts a session
daemon and records a program.  So: random command lines from the
option grammar and mutations of them, each run as
    PATH=<a directory holding only cat> bash trace/lwkt-record ARGS...
With no lttng on PATH the script stops at its tool check (exit 3,
"lttng-tools not found") right after parsing and validating every
option -- before it creates anything or starts any process.

Contract checked on each run:
  - exit status 0 (only when -h/--help came before the end of the
    options), 2 (bad usage: a message and the usage line on stderr), or
    3 with the tool-check message;
  - no diagnostic from bash itself ("line N: ...": an unbound variable,
    an arithmetic error, a syntax error);
  - nothing created in the working directory.
A failing command line is saved (build/fuzz/crashes/record-cli/) and the
run fails.  The regression inputs (ci/fuzz/regress/record-cli/, one
argument per line) are replayed first.

usage: fuzz_record_cli.py [--seconds N] [--seed S] [--out DIR] [FILE...]
Last line: "fuzz/record-cli: N executions, N failures"; exit 0 when none.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import fuzzlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(ROOT, "trace", "lwkt-record")

FLAGS_VAL = ["-o", "--output", "--buffers", "--events", "--provider"]
FLAGS = ["--no-provider", "--no-count", "--no-calib", "--keep-sessiond", "--force"]
BUFFERS = ["4Mx8", "4kx2", "4Kx2", "4096x2", "1Gx2", "08kx2", "4kx08", "010x2",
           "0x2", "4kx0", "4kx1", "4kx3", "3kx2", "x", "4k", "kx2", "4kx", "4 kx2",
           "99999999999999999999x2", "4x99999999999999999999",
           "9223372036854775807x2", "4611686018427387904x2", "1gx9223372036854775808",
           "4Mx8 ", " 4Mx8", "4mx8\n", "-4kx2", "+4kx2", "4kx-2", "0004kx2", ""]
WORDS = ["", "-", "--", "---", "-x", "--bogus", "--output=", "--buffers=", "--events=",
         "--provider=", "--help=1", "-oh", "lwkt:*", "*", "a b", "$(id)", "`id`",
         "\\", "'", '"', "%s", "\u00e9", "-h", "--help", "--no-count=1", "/nonexistent",
         "/nonexistent/cmd", "x" * 300]
CMDS = ["/nonexistent/lwkt-fuzz-cmd", "lwkt-fuzz-no-such-command", "true", "/bin/true"]


def gen(r):
    args = []
    for _ in range(r.randrange(6)):
        k = r.randrange(5)
        if k == 0:
            f = r.choice(FLAGS_VAL)
            v = r.choice(BUFFERS) if f == "--buffers" or r.random() < 0.3 else r.choice(WORDS)
            if r.random() < 0.5 and f.startswith("--"):
                args.append(f + "=" + v)
            else:
                args.append(f)
                if r.random() < 0.9:
                    args.append(v)
        elif k == 1:
            args.append(r.choice(FLAGS))
        elif k == 2:
            args.append(r.choice(WORDS))
        elif k == 3:
            args += ["--buffers", r.choice(BUFFERS)]
        else:
            args.append(r.choice(["-h", "--help", "--"]))
    if r.random() < 0.8:
        args += ["--"] if r.random() < 0.7 else []
        args += [r.choice(CMDS)] + [r.choice(WORDS) for _ in range(r.randrange(3))]
    return args


def mutate(r, args):
    a = list(args)
    for _ in range(1 + r.randrange(3)):
        op = r.randrange(5)
        i = r.randrange(len(a) + 1)
        if op == 0 and a:
            del a[min(i, len(a) - 1)]
        elif op == 1:
            a.insert(i, r.choice(WORDS + BUFFERS + FLAGS + FLAGS_VAL))
        elif op == 2 and a:
            j = min(i, len(a) - 1)
            s = a[j]
            if s:
                p = r.randrange(len(s))
                a[j] = s[:p] + r.choice(["0", "9", "x", "k", "=", "-", "", " "]) + s[p + 1:]
        elif op == 3 and a:
            j = min(i, len(a) - 1)
            a[j] = a[j] + r.choice(["0", "x2", "=", "k"])
        elif op == 4 and len(a) > 1:
            j, k = r.randrange(len(a)), r.randrange(len(a))
            a[j], a[k] = a[k], a[j]
    return a


def read_args(path):
    """A saved command line: one argument per line."""
    with open(path) as f:
        return f.read().split("\n")[:-1]


def help_before_end(args):
    """Whether the script's option loop meets -h/--help before it stops:
    it mirrors that loop's case patterns (a flag with a value consumes
    the next word or is a usage error; "--", a non-option word or an
    unknown option ends it)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a in FLAGS_VAL:
            if i + 1 >= len(args):
                return False
            i += 2
        elif re.match(r"^--(output|buffers|events|provider)=", a) or a in FLAGS:
            i += 1
        elif a in ("-h", "--help"):
            return True
        else:
            return False
    return False


def run(args, bindir, cwd):
    env = {"PATH": bindir, "HOME": cwd, "LANG": "C"}
    try:
        p = subprocess.run(["/bin/bash", SCRIPT] + args, cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after 30 s"
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def verdict(args, rc, out, err, cwd):
    """None when the run keeps the contract, else what broke."""
    if rc is None:
        return err
    m = re.search(r"^.*line [0-9]+: .*$", err, re.M)
    if m:
        return "bash diagnostic: " + m.group(0)
    if os.listdir(cwd):
        return "created %s" % ", ".join(sorted(os.listdir(cwd)))
    want_help = help_before_end(args)
    if rc == 0:
        return None if want_help and "usage: lwkt-record" in out else \
            "exit 0 without --help (stdout: %r)" % out[:200]
    if want_help:
        return "--help came first, but exit %d" % rc
    if rc == 2:
        return None if "lwkt-record: " in err and "usage: lwkt-record" in err else \
            "exit 2 without the message and usage line (stderr: %r)" % err[:300]
    if rc == 3:
        return None if "lttng-tools not found" in err else \
            "exit 3 but not the tool check (stderr: %r)" % err[:300]
    return "exit %d (0, 2 or 3 expected; stderr: %r)" % (rc, err[:300])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "fuzz", "crashes",
                                                  "record-cli"))
    ap.add_argument("files", nargs="*", help="replay these (one argument per line)")
    a = ap.parse_args()
    if a.seconds <= 0:
        ap.error("--seconds must be positive")
    cat = shutil.which("cat", path="/usr/bin:/bin")
    if not cat:
        print("SKIPPED: fuzz/record-cli: no cat(1) to give the script for its --help")
        return 0
    with tempfile.TemporaryDirectory(prefix="lwkt-fuzz-rec.") as tmp:
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(cat, os.path.join(bindir, "cat"))
        cwd = os.path.join(tmp, "cwd")
        os.mkdir(cwd)
        execs = fails = 0
        sigs = set()

        def one(args, dedupe=True):
            nonlocal execs, fails
            execs += 1
            rc, out, err = run(args, bindir, cwd)
            why = verdict(args, rc, out, err, cwd)
            for n in os.listdir(cwd):
                shutil.rmtree(os.path.join(cwd, n), ignore_errors=True)
                if os.path.exists(os.path.join(cwd, n)):
                    os.unlink(os.path.join(cwd, n))
            if why is None:
                return
            sig = re.sub(r"[0-9]+", "N", why)[:80]
            if dedupe and sig in sigs:
                return
            sigs.add(sig)
            fails += 1
            os.makedirs(a.out, exist_ok=True)
            text = "\n".join(args) + "\n"
            p = os.path.join(a.out, "fail-%s.args" % hashlib.sha1(text.encode()).hexdigest()[:16])
            with open(p, "w") as f:
                f.write(text)
            print("fuzz/record-cli: FAIL (saved %s): lwkt-record %s\n  %s"
                  % (p, " ".join(repr(x) for x in args), why))

        rdir = os.path.join(HERE, "regress", "record-cli")
        fuzzlib.replay(a.files or fuzzlib.saved_inputs([rdir], ".args"), read_args, one)
        nreplay = execs
        if a.files:
            print("fuzz/record-cli: %d executions, %d failures" % (execs, fails))
            return 1 if fails else 0
        seed, r, t_end = fuzzlib.campaign(a.seed, a.seconds)
        pool = [gen(r) for _ in range(16)]
        while time.monotonic() < t_end:
            args = gen(r) if r.random() < 0.5 else mutate(r, r.choice(pool))
            if r.random() < 0.1:
                pool[r.randrange(len(pool))] = args
            one(args)
        print("fuzz/record-cli: seed %d, %d regression inputs replayed, %d generated "
              "command lines in %.0f s" % (seed, nreplay, execs - nreplay, a.seconds))
        print("fuzz/record-cli: %d executions, %d failures" % (execs, fails))
        return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
