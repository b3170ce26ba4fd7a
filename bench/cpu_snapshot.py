"""Prints a JSON snapshot of CPU time on this machine: busy jiffies from /proc/stat and, per live process, its
user+system jiffies, parent and command line. bench/report.py diffs two snapshots taken around a wrk run to show
where the two cores went: the server under test, its PostgreSQL backends, wrk, and everything else (other users of
the machine; their share is why a run on a busy machine reads low)."""

import json
import os
import time


def _busy() -> int:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait
    return sum(fields[:8]) - fields[3] - fields[4]


def snapshot() -> dict:
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                after_comm = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):
            continue
        # after_comm[0] is field 3 (state); ppid is field 4, utime 14, stime 15, starttime 22 (tells reused pids apart)
        procs[name] = {
            "ppid": int(after_comm[1]),
            "jiffies": int(after_comm[11]) + int(after_comm[12]),
            "start": int(after_comm[19]),
            "cmd": cmd[:200],
        }
    return {"time": time.monotonic(), "busy": _busy(), "hz": os.sysconf("SC_CLK_TCK"), "procs": procs}


if __name__ == "__main__":
    print(json.dumps(snapshot()))
