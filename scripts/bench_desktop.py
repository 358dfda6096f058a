#!/usr/bin/env python3
"""Desktop-app benchmark (not a test): launch to first interactive screen, and resident memory
after it settles, measured through tauri-driver under Xvfb. Prints Markdown table rows.

Usage: bench_desktop.py DRIVER_URL APP_BINARY [ROUNDS]
"""
import json
import os
import statistics
import sys
import time
import urllib.request

DRIVER, APP = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
READY = ("return !!document.querySelector('#view-start:not([hidden]) #btn-demo')"
         " || !!document.querySelector('#view-passkeys:not([hidden])');")


def call(method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(DRIVER + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def descendants(pid):
    """pid and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def app_pid():
    name = os.path.basename(APP)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
                if os.path.basename(argv0) == name:
                    return int(entry)
            except OSError:
                pass
    return None


launch, own_rss, total_rss = [], [], []
for _ in range(ROUNDS):
    caps = {"capabilities": {"alwaysMatch": {"browserName": "wry",
                                             "tauri:options": {"application": APP}}}}
    t0 = time.monotonic()
    session = call("POST", "/session", caps)["value"]["sessionId"]
    deadline = t0 + 30
    while True:
        ok = call("POST", f"/session/{session}/execute/sync", {"script": READY, "args": []})["value"]
        if ok:
            break
        if time.monotonic() > deadline:
            sys.exit("the app did not show its first screen within 30 s")
        time.sleep(0.01)
    launch.append(time.monotonic() - t0)
    time.sleep(3)  # let it settle before reading memory (benchmark, not a test)
    pid = app_pid()
    if pid:
        own_rss.append(rss_kib(pid))
        total_rss.append(sum(rss_kib(p) for p in descendants(pid)))
    call("DELETE", f"/session/{session}")

med = statistics.median
print(f"| desktop app: launch to first interactive screen | {med(launch) * 1000:.0f} ms "
      f"| {ROUNDS} launches under Xvfb via tauri-driver (includes WebDriver session set-up) |")
if own_rss:
    print(f"| desktop app: resident memory after 3 s | {med(own_rss) / 1024:.0f} MiB "
          f"(with WebKit processes {med(total_rss) / 1024:.0f} MiB) | VmRSS from /proc |")
