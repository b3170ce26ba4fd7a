"""Turns one bench/http_bench.sh results directory into the markdown summary it prints, and results.json.

    python bench/report.py bench/results/<run>
    python bench/report.py bench/results/<run> --other RUN MASTER_PID    (cores other processes used during RUN)

The script measures each endpoint in several rounds (bare, detail, list, bare, detail, list, …). The summary gives
the median of each figure over the rounds, the ratio detail/bare as the median of the per-round ratios (each
round's two runs are a minute apart), the highest worker RSS of any round, and every round's figures.

Exit status: 0 all targets met, 1 a run is invalid (non-2xx answers, socket errors), 2 a target is missed.
"""

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ENDPOINTS = ("detail", "list", "bare")
LABELS = {
    "detail": "`GET /api/v1/assets/{id}/`",
    "list": "`GET /api/v1/assets/?asset_type=…`",
    "bare": "bare WSGI (`bench/bare_wsgi.py`)",
}
P99_TARGET_MS = 100.0
RSS_TARGET_MB = 150.0  # MB = 10^6 bytes
RATIO_TARGET = 0.20
NOISY_CORES = 0.15  # more CPU than this used by other processes during a run is called out (and re-measured)


def _env(out: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (out / "run.env").read_text().splitlines() if "=" in line)


def _rss_mb(path: Path) -> float:
    """Highest VmRSS of any single worker during the run, in MB (10^6 bytes)."""
    per_worker: dict[str, int] = defaultdict(int)
    for line in path.read_text().splitlines():
        _, pid, kib = line.split()
        per_worker[pid] = max(per_worker[pid], int(kib))
    return max(per_worker.values()) * 1024 / 1e6 if per_worker else float("nan")


def _cpu(out: Path, run: str, master: int, db_name: str) -> dict:
    """Cores used during the measured run by the gunicorn tree under test, its PostgreSQL backends, wrk and the
    rest of the machine (by difference from /proc/stat)."""
    start = json.loads((out / f"cpu-{run}-start.json").read_text())
    end = json.loads((out / f"cpu-{run}-end.json").read_text())
    hz, wall = end["hz"], end["time"] - start["time"]
    pg = re.compile(rf"^postgres: .*: \S+ {re.escape(db_name)} ")
    used = {"server": 0, "postgres": 0}
    others: dict[str, int] = defaultdict(int)
    for pid, proc in end["procs"].items():
        before = start["procs"].get(pid)
        same = before and before.get("start", proc.get("start")) == proc.get("start")  # not a reused pid
        delta = proc["jiffies"] - (before["jiffies"] if same else 0)
        if int(pid) == master or proc["ppid"] == master:
            used["server"] += delta
        elif pg.match(proc["cmd"]):
            used["postgres"] += delta
        elif delta > 0:
            others[" ".join(proc["cmd"].split()[:4])[:80] or f"pid {pid}"] += delta
    _, user, system = (float(x) for x in (out / f"wrk-{run}.time").read_text().split())
    cores = {key: value / hz / wall for key, value in used.items()}
    cores["wrk"] = (user + system) / wall
    total = (end["busy"] - start["busy"]) / hz / wall
    cores["other"] = max(0.0, total - sum(cores.values()))
    cores["total"] = total
    cores["other_top"] = sorted(((cmd, round(j / hz / wall, 2)) for cmd, j in others.items()), key=lambda x: -x[1])[:3]
    return cores


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def _run(out: Path, env: dict[str, str], name: str, rnd: int) -> dict:
    run = f"{name}-r{rnd}"
    result = json.loads((out / f"wrk-{run}.json").read_text())
    result["round"] = rnd
    result["rss_max_mb"] = _rss_mb(out / f"rss-{run}.txt")
    master = int(env["bare_pid"] if name == "bare" else env["app_pid"])
    result["cpu_cores"] = _cpu(out, run, master, env["db"])
    result["server_cpu_ms"] = result["cpu_cores"]["server"] / result["rps"] * 1000 if result["rps"] else float("nan")
    return result


def main(out: Path) -> int:
    env = _env(out)
    rounds = int(env["rounds"])
    runs = {name: [_run(out, env, name, r) for r in range(1, rounds + 1)] for name in ENDPOINTS}
    invalid = [
        f"{name} round {r['round']}: {r['errors']}"
        for name in ENDPOINTS
        for r in runs[name]
        if r["errors"]["status"] or r["errors"]["connect"] or r["errors"]["timeout"] or not r["requests"]
    ]
    med = {
        name: {
            "rps": statistics.median(r["rps"] for r in runs[name]),
            "p50_us": statistics.median(r["latency_us"]["p50"] for r in runs[name]),
            "p99_us": statistics.median(r["latency_us"]["p99"] for r in runs[name]),
            "p99_worst_us": max(r["latency_us"]["p99"] for r in runs[name]),
            "rss_max_mb": max(r["rss_max_mb"] for r in runs[name]),
            "server_cpu_ms": statistics.median(r["server_cpu_ms"] for r in runs[name]),
            "requests": sum(r["requests"] for r in runs[name]),
        }
        for name in ENDPOINTS
    }
    ratios = [d["rps"] / b["rps"] for d, b in zip(runs["detail"], runs["bare"], strict=True)]
    ratio = statistics.median(ratios)

    print(
        f"`bash bench/http_bench.sh` at {env['date_utc']} (commit {env.get('commit', '?')}) on {env['host']} "
        f"({env['cpus']} cores, {env['cpu']});\n"
        f"gunicorn `{env['gunicorn_conf']}` with workers={env['workers']} threads={env['threads']} "
        f"({'gthread' if int(env['threads']) > 1 else 'sync'}) for both apps, {env['settings']}, PostgreSQL "
        f"{env['postgres']}, {env['assets']} assets;\n"
        f"`wrk -t{env['wrk_threads']} -c{env['connections']} -d{env['duration']} --latency` after a "
        f"{env['warmup']} warm-up, {rounds} rounds (bare, detail, list in turn); medians over the rounds.\n"
    )
    if int(env.get("access_log_lines", "0")):
        print(f"Access log: on ({env['access_log_lines']} lines written by the two servers).\n")
    if env.get("app_wsgi", "rwa_service.wsgi:application") != "rwa_service.wsgi:application":
        print(f"**Not the service as committed:** the app was served from `{env['app_wsgi']}`.\n")

    print("| endpoint | rps | p50 | p99 | worker RSS (max) | server CPU per request |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ENDPOINTS:
        m = med[name]
        print(
            f"| {LABELS[name]} | {m['rps']:.0f} | {_ms(m['p50_us'])} | {_ms(m['p99_us'])} | "
            f"{m['rss_max_mb']:.1f} MB | {m['server_cpu_ms']:.2f} ms |"
        )
    rss = max(med["detail"]["rss_max_mb"], med["list"]["rss_max_mb"])
    targets = [
        (f"detail rps ≥ {RATIO_TARGET:.0%} of bare WSGI", f"{ratio:.1%}", ratio >= RATIO_TARGET),
        (
            f"detail p99 ≤ {P99_TARGET_MS:.0f} ms",
            _ms(med["detail"]["p99_us"]),
            med["detail"]["p99_us"] <= P99_TARGET_MS * 1000,
        ),
        (
            f"list p99 ≤ {P99_TARGET_MS:.0f} ms",
            _ms(med["list"]["p99_us"]),
            med["list"]["p99_us"] <= P99_TARGET_MS * 1000,
        ),
        (f"app worker RSS ≤ {RSS_TARGET_MB:.0f} MB", f"{rss:.1f} MB", rss <= RSS_TARGET_MB),
    ]
    print("\n| target | measured (median of rounds; RSS: highest) | met |")
    print("|---|---:|---|")
    for label, value, ok in targets:
        print(f"| {label} | {value} | {'yes' if ok else '**no**'} |")

    print("\nEvery round:\n")
    print(
        "| round | endpoint | rps | p50 | p99 | worker RSS (max) | requests | errors | server CPU per request "
        "| CPU cores: server / postgres / wrk / other |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|---|")
    for rnd in range(1, rounds + 1):
        for name in ENDPOINTS:
            r = runs[name][rnd - 1]
            c = r["cpu_cores"]
            errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items() if v) or "none"
            print(
                f"| {rnd} | {name} | {r['rps']:.0f} | {_ms(r['latency_us']['p50'])} | {_ms(r['latency_us']['p99'])} | "
                f"{r['rss_max_mb']:.1f} MB | {r['requests']} | {errors} | {r['server_cpu_ms']:.2f} ms | "
                f"{c['server']:.2f} / {c['postgres']:.2f} / {c['wrk']:.2f} / {c['other']:.2f} |"
            )
    print(f"\ndetail/bare per round: {', '.join(f'{x:.1%}' for x in ratios)}.")
    print(
        "\nMB = 10^6 bytes; RSS is the highest VmRSS of any one worker, sampled every 0.5 s during a run. CPU is in "
        "cores (of the machine's 2) during each run; `other` is every process outside the benchmark."
    )
    noisy = [(name, r) for name in ENDPOINTS for r in runs[name] if r["cpu_cores"]["other"] > NOISY_CORES]
    if noisy:
        print(
            f"\n**Warning:** other processes used more than {NOISY_CORES} cores during "
            + "; ".join(
                f"{name} round {r['round']} ("
                + ", ".join(f"`{cmd}` {c}" for cmd, c in r["cpu_cores"]["other_top"])
                + ")"
                for name, r in noisy
            )
            + "; those runs understate this machine."
        )
    discarded = sorted(p.name[4:-5] for p in out.glob("discarded-*/wrk-*.json"))
    if discarded:
        print(
            f"\nMeasured again because other processes used more than {NOISY_CORES} cores during the first try: "
            f"{', '.join(discarded)} (the discarded tries are in `discarded-*/`)."
        )
    for line in invalid:
        print(f"\n**Invalid run:** {line}")
    (out / "results.json").write_text(
        json.dumps(
            {"env": env, "medians": med, "detail_over_bare": ratio, "ratios": ratios, "targets": targets, "runs": runs},
            indent=2,
        )
    )
    if invalid:
        return 1
    return 0 if all(ok for *_, ok in targets) else 2


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[2] == "--other":
        out_dir = Path(sys.argv[1])
        db = dict(line.split("=", 1) for line in (out_dir / "db.env").read_text().splitlines())["db"]
        print(f"{_cpu(out_dir, sys.argv[3], int(sys.argv[4]), db)['other']:.2f}")
        sys.exit(0)
    sys.exit(main(Path(sys.argv[1])))
