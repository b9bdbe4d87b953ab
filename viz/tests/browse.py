#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""browse.py [--timeout S] URL DOM PNG [URL DOM PNG...]: loads pages in
ONE headless chromium, driven over the DevTools protocol (CDP) on a pipe.

Each page (URL: a file:// URL with its #hash) is opened in a tab of its
own (1400x900); once its #status element leaves data-state "loading" (or
after S seconds, default 120), its DOM (documentElement.outerHTML, what
`chromium --dump-dom` prints) is written to DOM, a screenshot to PNG
(unless PNG is -), and what the page reported to DOM.console: uncaught
exceptions ("Uncaught ..."), console.error/warn calls and the browser's
log entries of level error.

One browser start for every page: a chromium start costs seconds here, a
page load a fraction of one.  The protocol: --remote-debugging-pipe
(chromium reads commands on fd 3 and writes replies and events on fd 4,
each a JSON object ended by a NUL byte), the Target, Page, Runtime, Log
and Emulation domains of https://chromedevtools.github.io/devtools-protocol/.

Exit 0 when every page was loaded and written (its content is the
caller's to check), 1 when the browser failed, 2 on bad usage.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--window-size=1400,900", "--remote-debugging-pipe"]
STATE_JS = ("(function(){var s=document.getElementById('status');"
            "return s?s.dataset.state:null;})()")


class Browser:
    def __init__(self, exe, deadline):
        self.deadline = deadline
        self.prof = tempfile.mkdtemp(prefix="lwkt-browse-")
        cmd_r, self.cmd_w = os.pipe()
        self.ev_r, ev_w = os.pipe()
        # fd 3: commands to chromium, fd 4: its replies (through bash: the
        # numbers must be exactly those; the child's ends first moved
        # above them, as os.pipe() may have returned 3 or 4).
        cmd_r, ev_w = [self._high(fd) for fd in (cmd_r, ev_w)]
        sh = 'exec "$0" "$@" 3<&%d 4>&%d %d<&- %d>&-' % (cmd_r, ev_w, cmd_r, ev_w)
        self.proc = subprocess.Popen(
            ["bash", "-c", sh, exe] + FLAGS + ["--user-data-dir=" + self.prof],
            pass_fds=(cmd_r, ev_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(ev_w)
        self.buf = b""
        self.next_id = 0
        self.events = []   # (sessionId, method, params) not yet handled

    @staticmethod
    def _high(fd):
        hi = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return hi

    def close(self):
        try:
            self.send("Browser.close", wait=False)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.ev_r)
        shutil.rmtree(self.prof, ignore_errors=True)

    def _read(self, until):
        """One message, or None once `until` (monotonic seconds) passed."""
        while b"\0" not in self.buf:
            left = min(until, self.deadline) - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.ev_r], [], [], left)
            if not r:
                return None
            chunk = os.read(self.ev_r, 1 << 20)
            if not chunk:
                raise OSError("chromium closed its end of the pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, wait=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        if not wait:
            return None
        while True:
            m = self._read(self.deadline)
            if m is None:
                raise OSError("no reply to %s in time" % method)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise OSError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def drain(self, seconds=0.0):
        """Collects the events that arrive within `seconds`."""
        until = time.monotonic() + seconds
        while True:
            m = self._read(until)
            if m is None:
                return
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))


def console_lines(events, session):
    out = []
    for sid, method, p in events:
        if sid != session:
            continue
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text", "")
            out.append("Uncaught %s (%s:%s)" % (desc, d.get("url", ""), d.get("lineNumber", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append("console.%s: %s" % (p["type"], args))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append("log.error: %s %s" % (e.get("text", ""), e.get("url", "")))
    return out


def load(b, url, dom, png, timeout):
    tid = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = b.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
    for dom_ in ("Page", "Runtime", "Log"):
        b.send(dom_ + ".enable", session=sid)
    b.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900,
           "deviceScaleFactor": 1, "mobile": False}, session=sid)
    t0 = time.monotonic()
    nav = b.send("Page.navigate", {"url": url}, session=sid)
    if nav.get("errorText"):
        raise OSError("%s: %s" % (url, nav["errorText"]))
    state = None
    while time.monotonic() - t0 < timeout:
        state = b.send("Runtime.evaluate", {"expression": STATE_JS, "returnByValue": True},
                       session=sid).get("result", {}).get("value")
        if state not in (None, "loading"):
            break
        b.drain(0.1)
    # What the page still reports right after (a redraw it scheduled).
    b.drain(0.2)
    html = b.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                  "returnByValue": True}, session=sid)["result"].get("value", "")
    with open(dom, "w") as f:
        f.write(html + "\n")
    if png:
        shot = b.send("Page.captureScreenshot", {"format": "png"}, session=sid)
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    lines = console_lines(b.events, sid)
    b.events = [e for e in b.events if e[0] != sid]
    with open(dom + ".console", "w") as f:
        f.write("".join(ln + "\n" for ln in lines))
    b.send("Target.closeTarget", {"targetId": tid})
    print("browse: %s: state %s in %.1f s%s" % (url.split("/")[-1], state, time.monotonic() - t0,
          ", %d console error(s)" % len(lines) if lines else ""))


def main(argv):
    timeout = 120.0
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv[:1] == ["--timeout"]:
        if len(argv) < 2:
            print("browse.py: --timeout wants seconds", file=sys.stderr)
            return 2
        timeout = float(argv[1])
        argv = argv[2:]
    usage = "usage: browse.py [--timeout S] URL DOM PNG [URL DOM PNG...] (PNG - for none)"
    if not argv or len(argv) % 3 or any(a.startswith("-") and a != "-" for a in argv):
        print(usage, file=sys.stderr)
        return 2
    pages = [(argv[i], argv[i + 1], None if argv[i + 2] == "-" else argv[i + 2])
             for i in range(0, len(argv), 3)]
    exe = shutil.which("chromium")
    if not exe:
        print("browse.py: chromium is not installed", file=sys.stderr)
        return 1
    # The browser's start (seconds under load) and every page's bound.
    b = Browser(exe, time.monotonic() + 60 + (timeout + 10) * len(pages))
    try:
        for url, dom, png in pages:
            load(b, url, dom, png, timeout)
    except (OSError, KeyError, ValueError) as e:
        print("browse.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
