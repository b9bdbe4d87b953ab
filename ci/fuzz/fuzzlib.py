# SPDX-License-Identifier: BSD-3-Clause
"""What the Python mutation fuzzers share: finding and replaying saved inputs.

A saved input (a seed, or a regression input from a failure once found) is
replayed before any generated one, and never deduplicated by its failure
signature: each must be checked on its own.
"""
import os
import random
import time


def saved_inputs(dirs, suffix):
    """The files ending in SUFFIX in each existing directory of DIRS, sorted."""
    return [os.path.join(d, n) for d in dirs if os.path.isdir(d)
            for n in sorted(os.listdir(d)) if n.endswith(suffix)]


def replay(paths, read, one):
    """Runs ONE on the content of each path (READ opens and reads it)."""
    for p in paths:
        one(read(p), dedupe=False)


def campaign(seed, seconds):
    """A generation campaign: its seed (SEED, or the clock's when None, printed
    so that a failure can be replayed), its generator and its deadline."""
    if seed is None:
        seed = int(time.time())
    return seed, random.Random(seed), time.monotonic() + seconds
