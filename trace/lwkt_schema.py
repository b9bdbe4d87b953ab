# SPDX-License-Identifier: BSD-3-Clause
"""lwkt_schema.py - reads the one event table, trace/lwkt_events.def, for
the Python checkers (trace/tests/check_trace.py, viz/tests/check_viz.py).

  events()  -> {name: Event(name, own, doc, fields=[(TYPE, field), ...])}
  own(name) -> the own-cpu field of an event, or None (lane of the PU)

Run as a script, prints the table as Markdown (trace/README.md shows how).
"""
import collections
import os
import re
import sys

DEF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lwkt_events.def")
Event = collections.namedtuple("Event", "name own doc fields")
_ROW = re.compile(r'^LWKT_EVENT\(\s*(\w+)\s*,\s*(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*,(.*)\)\s*$',
                  re.S)


def events(path=DEF):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = collections.OrderedDict()
    # A row runs from LWKT_EVENT( to the line ending in ')'.
    for chunk in re.split(r"\n(?=LWKT_EVENT\()", "\n" + text):
        chunk = chunk.strip()
        if not chunk.startswith("LWKT_EVENT("):
            continue
        m = _ROW.match(chunk)
        if not m:
            raise ValueError("lwkt_events.def: cannot parse %r" % chunk[:60])
        items = [x.strip() for x in m.group(4).split(",")]
        if len(items) % 2 or not items:
            raise ValueError("lwkt_events.def: %s: odd field list" % m.group(1))
        fields = list(zip(items[0::2], items[1::2]))
        own = None if m.group(2) == "NONE" else m.group(2)
        if own is not None and own not in [f for _, f in fields]:
            raise ValueError("lwkt_events.def: %s: own field %s missing" % (m.group(1), own))
        out[m.group(1)] = Event(m.group(1), own, m.group(3), fields)
    return out


def markdown(evs):
    lines = ["| event | fields | lane | when |", "|---|---|---|---|"]
    for e in evs.values():
        lines.append("| `%s` | %s | %s | %s |" % (
            e.name, ", ".join("%s %s" % (f, t.lower()) for t, f in e.fields),
            e.own or "PU", e.doc))
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(events(sys.argv[1] if len(sys.argv) > 1 else DEF)))
