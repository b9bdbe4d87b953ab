# SPDX-License-Identifier: BSD-3-Clause
"""Which floor of the same run normalises which benchmark.

A benchmark's value is divided by the median of its floor in the same
process run: when the host moves vCPUs and every timing moves 2-9x, the
ratio moves much less (bench/README.md, "The floors").  The floor is the
physical limit of the same kind of work: a cache-line round trip for
cross-cpu messages, a futex round trip for mechanisms that sleep, an SPSC
ring for streams, an indirect call for same-cpu paths.
"""

CACHELINE = "roundtrip/floor_cacheline"
FUTEX = "roundtrip/floor_futex"
SPSC = "stream/floor_spsc"
INDIRECT = "call/floor_indirect"

# (workload, mechanism) -> floor; checked before the workload table.
_BY_MECHANISM = {
    ("roundtrip", "lwkt_ipi_idle"): FUTEX,     # both cpus asleep between messages
    ("roundtrip", "mutex_condvar"): FUTEX,     # the consumer sleeps on a condvar
    ("roundtrip", "urcu_wfcq"): FUTEX,         # the receiver is woken by futex
    ("roundtrip", "lwkt_domsg_local"): INDIRECT,   # one cpu: no cache-line transfer
    ("token", "cpu_owned_local"): INDIRECT,
    ("token", "atomic_local"): INDIRECT,
    ("token", "pthread_mutex_uncontended"): INDIRECT,
}

_BY_WORKLOAD = {
    "roundtrip": CACHELINE,
    "reqrep": CACHELINE,
    "readmostly": CACHELINE,
    "token": CACHELINE,         # remote/contended/mix90: the line moves
    "stream": SPSC,
    "switch": INDIRECT,
    "call": INDIRECT,
    "shim": INDIRECT,
    "overhead": INDIRECT,
    "lock": "lock/floor_pthread_mutex",
    "atomic": "atomic/floor_cas",
    "fence": "fence/floor_membarrier",
}


def is_floor(key):
    parts = key.split("/")
    return len(parts) > 1 and parts[1].startswith("floor_")


def floor_of(key, present=None):
    """The floor benchmark normalising `key`, or None when `key` is a
    floor itself or no floor for it is in `present` (a set of keys of the
    same run); falls back to the indirect-call floor, the cpu's speed."""
    if is_floor(key):
        return None
    parts = key.split("/")
    wl, mech = parts[0], parts[1] if len(parts) > 1 else ""
    f = _BY_MECHANISM.get((wl, mech)) or _BY_WORKLOAD.get(wl) or INDIRECT
    if present is None or f in present:
        return f
    return INDIRECT if INDIRECT in present else None


def table():
    """The mapping as rows (what, floor) for the reports."""
    rows = [("%s/%s" % k, v) for k, v in sorted(_BY_MECHANISM.items())]
    rows += [("%s/*" % k, v) for k, v in sorted(_BY_WORKLOAD.items())]
    return rows
