# SPDX-License-Identifier: BSD-3-Clause
"""Synthetic google-benchmark JSON for the statistics tests: runs shaped
like lwkt-bench's (per-repetition entries plus aggregates), with the noise
of a shared VM: a per-run machine factor that moves the floor and the
benchmarks of the same run together (regimes 2-9x apart), per-repetition
jitter, and rare outliers."""
import json
import math
import os

import numpy as np

# key -> (true ns, floor key or None)
SUITE = {
    "roundtrip/floor_cacheline/real_time": (150.0, None),
    "roundtrip/floor_futex/real_time": (40000.0, None),
    "stream/floor_spsc/real_time": (20.0, None),
    "call/floor_indirect": (1.8, None),
    "roundtrip/lwkt_ipi/real_time": (210.0, "c"),
    "roundtrip/lwkt_domsg/real_time": (420.0, "c"),
    "roundtrip/mutex_condvar/real_time": (52000.0, "f"),
    "roundtrip/lwkt_domsg_local/real_time": (60.0, "i"),
    "stream/lwkt_ipi/real_time": (25.0, "s"),
    "stream/lwkt_sendmsg/real_time": (90.0, "s"),
    "reqrep/lwkt_msg/clients:4/real_time": (700.0, "c"),
    "token/cpu_owned_local/real_time": (6.5, "i"),
    "token/atomic_local/real_time": (17.0, "i"),
    "token/cpu_owned_remote/real_time": (900.0, "c"),
    "switch/lwkt_thread/real_time": (14.0, "i"),
    "shim/empty_loop": (0.5, "i"),
}


def make_run(rng, reps=3, scale=None, slow=None, regime_sigma=0.6, jitter=0.04,
             outlier_p=0.01, factor=None, drift=0.02):
    """One process run: a list of google-benchmark entries.  scale
    multiplies every timing (the whole machine slower); slow maps a key to
    a factor on that benchmark only (a regression)."""
    machine = factor if factor is not None else math.exp(rng.normal(0, regime_sigma))
    # Benchmarks follow the machine with a little independent drift of
    # their own (a regime moves cache-line and syscall costs alike, not
    # exactly alike).
    entries = []
    for key, (ns, _) in SUITE.items():
        own = math.exp(rng.normal(0, drift))
        for r in range(reps):
            t = ns * machine * own * math.exp(rng.normal(0, jitter))
            if rng.random() < outlier_p:
                t *= 1 + rng.exponential(1.0)
            t *= (scale or 1.0) * (slow or {}).get(key, 1.0)
            entries.append({"name": key, "run_name": key, "run_type": "iteration",
                            "repetitions": reps, "repetition_index": r, "threads": 1,
                            "iterations": 1000, "real_time": t, "cpu_time": t,
                            "time_unit": "ns"})
        entries.append({"name": key + "_median", "run_name": key, "run_type": "aggregate",
                        "aggregate_name": "median", "real_time": ns, "cpu_time": ns,
                        "time_unit": "ns", "iterations": reps})
    return entries


def doc(entries, host="vm"):
    return {"context": {"date": "2026-11-30T00:00:00+00:00", "host_name": host,
                        "executable": "lwkt-bench", "num_cpus": 2, "mhz_per_cpu": 2096,
                        "library_build_type": "debug"},
            "benchmarks": entries}


def write_side(dirname, n, rng, **kw):
    os.makedirs(dirname, exist_ok=True)
    for i in range(n):
        with open(os.path.join(dirname, "run-%03d.json" % i), "w") as f:
            json.dump(doc(make_run(rng, **kw)), f)
    return dirname


def runs(n, rng, **kw):
    """Runs in memory (through the real validator)."""
    from lwkt_report import results
    return [results.run_from_doc("synthetic-%d.json" % i, doc(make_run(rng, **kw)))
            for i in range(n)]


def rng(seed):
    return np.random.default_rng(seed)
