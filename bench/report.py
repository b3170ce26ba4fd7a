"""Turns one bench/http_bench.sh results directory into the markdown summary it prints, and results.json.

    python bench/report.py bench/results/<run>

Exit status: 0 all targets met, 1 a run is invalid (non-2xx answers, socket errors), 2 a target is missed.
"""

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

LABELS = {
    "detail": "`GET /api/v1/assets/{id}/`",
    "list": "`GET /api/v1/assets/?asset_type=…`",
    "bare": "bare WSGI (`bench/bare_wsgi.py`)",
}
P99_TARGET_MS = 100.0
RSS_TARGET_MB = 150.0  # MB = 10^6 bytes
RATIO_TARGET = 0.20
NOISY_CORES = 0.15  # more CPU than this used by other processes during a run is called out


def _env(out: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (out / "run.env").read_text().splitlines() if "=" in line)


def _rss_mb(path: Path) -> tuple[float, int]:
    """Highest VmRSS of any single worker during the run, in MB, and how many workers were seen."""
    per_worker: dict[str, int] = defaultdict(int)
    for line in path.read_text().splitlines():
        _, pid, kib = line.split()
        per_worker[pid] = max(per_worker[pid], int(kib))
    return (max(per_worker.values()) * 1024 / 1e6 if per_worker else float("nan")), len(per_worker)


def _cpu(out: Path, name: str, master: int, db_name: str) -> dict[str, float]:
    """Cores used during the measured run by the gunicorn tree under test, its PostgreSQL backends, wrk and the
    rest of the machine (by difference from /proc/stat)."""
    start = json.loads((out / f"cpu-{name}-start.json").read_text())
    end = json.loads((out / f"cpu-{name}-end.json").read_text())
    hz, wall = end["hz"], end["time"] - start["time"]
    pg = re.compile(rf"^postgres: .*: \S+ {re.escape(db_name)} ")
    used = {"server": 0, "postgres": 0}
    others: dict[str, int] = defaultdict(int)
    for pid, proc in end["procs"].items():
        before = start["procs"].get(pid)
        delta = proc["jiffies"] - (before["jiffies"] if before and before["cmd"] == proc["cmd"] else 0)
        if int(pid) == master or proc["ppid"] == master:
            used["server"] += delta
        elif pg.match(proc["cmd"]):
            used["postgres"] += delta
        elif delta > 0:
            others[" ".join(proc["cmd"].split()[:4])[:80] or f"pid {pid}"] += delta
    real, user, system = (float(x) for x in (out / f"wrk-{name}.time").read_text().split())
    cores = {key: value / hz / wall for key, value in used.items()}
    cores["wrk"] = (user + system) / wall
    total = (end["busy"] - start["busy"]) / hz / wall
    cores["other"] = max(0.0, total - sum(cores.values()))
    cores["total"] = total
    cores["other_top"] = sorted(((cmd, round(j / hz / wall, 2)) for cmd, j in others.items()), key=lambda x: -x[1])[:3]
    return cores


def main(out: Path) -> int:
    env = _env(out)
    masters = {"detail": int(env["app_pid"]), "list": int(env["app_pid"]), "bare": int(env["bare_pid"])}
    rows, invalid = {}, []
    for name in ("detail", "list", "bare"):
        result = json.loads((out / f"wrk-{name}.json").read_text())
        result["rss_max_mb"], result["workers_seen"] = _rss_mb(out / f"rss-{name}.txt")
        result["cpu_cores"] = _cpu(out, name, masters[name], env["db"])
        rows[name] = result
        errors = result["errors"]
        if errors["status"] or errors["connect"] or errors["timeout"] or not result["requests"]:
            invalid.append(f"{name}: {errors}")

    def ms(us: float) -> str:
        return f"{us / 1000:.1f} ms"

    print(
        f"`bash bench/http_bench.sh` at {env['date_utc']} (commit {env.get('commit', '?')}) on {env['host']} "
        f"({env['cpus']} cores, {env['cpu']});\n"
        f"gunicorn `{env['gunicorn_conf']}` with workers={env['workers']} threads={env['threads']} "
        f"({'gthread' if int(env['threads']) > 1 else 'sync'}) for both apps, {env['settings']}, PostgreSQL "
        f"{env['postgres']}, {env['assets']} assets;\n"
        f"`wrk -t{env['wrk_threads']} -c{env['connections']} -d{env['duration']} --latency` after a "
        f"{env['warmup']} warm-up.\n"
    )
    if int(env.get("access_log_lines", "0")):
        print(f"Access log: on ({env['access_log_lines']} lines written by the two servers).\n")
    if env.get("app_wsgi", "rwa_service.wsgi:application") != "rwa_service.wsgi:application":
        print(f"**Not the service as committed:** the app was served from `{env['app_wsgi']}`.\n")
    print(
        "| endpoint | rps | p50 | p99 | worker RSS (max) | requests | errors | server CPU per request "
        "| CPU cores: server / postgres / wrk / other |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---|")
    for name in ("detail", "list", "bare"):
        r, c = rows[name], rows[name]["cpu_cores"]
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items() if v) or "none"
        print(
            f"| {LABELS[name]} | {r['rps']:.0f} | {ms(r['latency_us']['p50'])} | {ms(r['latency_us']['p99'])} | "
            f"{r['rss_max_mb']:.1f} MB | {r['requests']} | {errors} | {c['server'] / r['rps'] * 1000:.2f} ms | "
            f"{c['server']:.2f} / {c['postgres']:.2f} / {c['wrk']:.2f} / {c['other']:.2f} |"
        )
    ratio = rows["detail"]["rps"] / rows["bare"]["rps"]
    rss = max(rows["detail"]["rss_max_mb"], rows["list"]["rss_max_mb"])
    targets = [
        (f"detail rps ≥ {RATIO_TARGET:.0%} of bare WSGI", f"{ratio:.1%}", ratio >= RATIO_TARGET),
        (
            f"detail p99 ≤ {P99_TARGET_MS:.0f} ms",
            ms(rows["detail"]["latency_us"]["p99"]),
            rows["detail"]["latency_us"]["p99"] <= P99_TARGET_MS * 1000,
        ),
        (
            f"list p99 ≤ {P99_TARGET_MS:.0f} ms",
            ms(rows["list"]["latency_us"]["p99"]),
            rows["list"]["latency_us"]["p99"] <= P99_TARGET_MS * 1000,
        ),
        (f"app worker RSS ≤ {RSS_TARGET_MB:.0f} MB", f"{rss:.1f} MB", rss <= RSS_TARGET_MB),
    ]
    print("\n| target | measured | met |")
    print("|---|---:|---|")
    for label, value, ok in targets:
        print(f"| {label} | {value} | {'yes' if ok else '**no**'} |")
    print(
        "\nMB = 10^6 bytes; RSS is the highest VmRSS of any one worker, sampled every 0.5 s during the run. CPU is in"
    )
    print("cores (of the machine's 2) during each run; `other` is every process outside the benchmark.")
    noisy = [name for name in rows if rows[name]["cpu_cores"]["other"] > NOISY_CORES]
    if noisy:
        print(
            f"\n**Warning:** other processes used more than {NOISY_CORES} cores during {', '.join(noisy)}; "
            "those numbers understate this machine. Busiest other processes (cores; short-lived ones are not listed): "
            + "; ".join(
                f"{name}: " + ", ".join(f"`{cmd}` {c}" for cmd, c in rows[name]["cpu_cores"]["other_top"])
                for name in noisy
            )
        )
    discarded = sorted(p.name.split("-", 1)[1].rsplit(".", 1)[0] for p in out.glob("discarded-*/wrk-*.json"))
    if discarded:
        print(
            f"\nMeasured again because other processes used more than {NOISY_CORES} cores during the first try: "
            f"{', '.join(discarded)} (the discarded tries are in `discarded-*/`)."
        )
    for line in invalid:
        print(f"\n**Invalid run:** {line}")
    (out / "results.json").write_text(
        json.dumps({"env": env, "results": rows, "detail_over_bare": ratio, "targets": targets}, indent=2)
    )
    if invalid:
        return 1
    return 0 if all(ok for *_, ok in targets) else 2


if __name__ == "__main__":
    if (
        len(sys.argv) == 5 and sys.argv[2] == "--other"
    ):  # report.py DIR --other NAME MASTER_PID: "other" cores of one run
        out_dir = Path(sys.argv[1])
        db = dict(line.split("=", 1) for line in (out_dir / "db.env").read_text().splitlines())["db"]
        print(f"{_cpu(out_dir, sys.argv[3], int(sys.argv[4]), db)['other']:.2f}")
        sys.exit(0)
    sys.exit(main(Path(sys.argv[1])))
