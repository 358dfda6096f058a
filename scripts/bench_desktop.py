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


def memory_kib(pid):
    """(Rss, Pss, Uss) of one process in KiB, from /proc/PID/smaps_rollup.

    Rss counts every shared library page the process touches in full (WebKitGTK, GTK, and under
    Xvfb Mesa's llvmpipe with libLLVM), although those pages are shared with the app's WebKit
    processes and every other GTK/WebKit program; Pss divides shared pages among the processes
    that map them; Uss (private pages only) is what the process alone holds."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    fields[parts[0][:-1]] = int(parts[1])
    except OSError:
        return (0, 0, 0)
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return (fields.get("Rss", 0), fields.get("Pss", 0), uss)


def uptime():
    """Seconds since boot (/proc/uptime, 10 ms resolution)."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def started_at(pid):
    """When the process started, in seconds since boot (/proc/PID/stat starttime)."""
    with open(f"/proc/{pid}/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    return ticks / os.sysconf("SC_CLK_TCK")


def app_pid():
    """The newest process running APP (the one WebKitWebDriver just launched)."""
    name = os.path.basename(APP)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
                if os.path.basename(argv0) == name:
                    found.append((started_at(int(entry)), int(entry)))
            except (OSError, ValueError, IndexError):
                pass
    return max(found)[1] if found else None


launch, first_screen, own, total = [], [], [], []
for _ in range(ROUNDS):
    caps = {"capabilities": {"alwaysMatch": {"browserName": "wry",
                                             "tauri:options": {"application": APP}}}}
    t0 = time.monotonic()
    session = call("POST", "/session", caps)["value"]["sessionId"]
    deadline = t0 + 30
    while True:
        ok = call("POST", f"/session/{session}/execute/sync", {"script": READY, "args": []})["value"]
        if ok:
            seen = uptime()
            break
        if time.monotonic() > deadline:
            sys.exit("the app did not show its first screen within 30 s")
        time.sleep(0.01)
    launch.append(time.monotonic() - t0)
    time.sleep(3)  # let it settle before reading memory (benchmark, not a test)
    pid = app_pid()
    if pid:
        first_screen.append(seen - started_at(pid))
        own.append(memory_kib(pid))
        each = [memory_kib(p) for p in descendants(pid)]
        total.append(tuple(sum(m[i] for m in each) for i in range(3)))
    call("DELETE", f"/session/{session}")

med = statistics.median
print(f"| desktop app: launch to first interactive screen | {med(launch) * 1000:.0f} ms "
      f"| {ROUNDS} launches under Xvfb via tauri-driver (includes WebDriver session set-up) |")
if first_screen:
    print(f"| desktop app: process start to first interactive screen | "
          f"{med(first_screen) * 1000:.0f} ms | process start time from /proc (10 ms ticks) to the "
          f"first poll that sees the start screen |")


def mib(rows, i):
    return med([r[i] for r in rows]) / 1024


if own:
    for i, name in enumerate(["Rss (shared libraries counted in full)", "Pss", "Uss (private)"]):
        print(f"| desktop app: memory after 3 s, {name} | {mib(own, i):.0f} MiB "
              f"(with WebKit processes {mib(total, i):.0f} MiB) | /proc/PID/smaps_rollup |")
