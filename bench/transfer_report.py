"""Turns one bench/transfer_bench.sh results directory into the markdown summary it prints, and results.json.

    python bench/transfer_report.py bench/results/transfer-<run>

Exit status: 0 all targets met, 1 the run is invalid (too many non-201 answers, socket errors, a failed
verification), 2 a target is missed.
"""

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

RATIO_TARGET = 0.15  # settled transfers/s ÷ pgbench tps
P99_TARGET_MS = 150.0
NOISY_CORES = 0.15  # more CPU than this used by other processes during a run is called out
PROFILE_FUNCTIONS = [  # (label, function name as py-spy prints it), shown in this order
    ("request handling (WSGI, middleware, DRF)", "WSGIHandler.__call__"),
    ("authentication (JWT, cached user)", "Request._authenticate"),
    ("URL resolution", "URLResolver.resolve"),
    ("request body parsing and validation", "BaseSerializer.is_valid"),
    ("idempotent_call (key claim or replay, stored answer)", "idempotent_call"),
    ("token_transfer (the service)", "token_transfer"),
    ("  wallet_ref (address parsing, EIP-55)", "wallet_ref"),
    ("  database path: token_transfer_sql", "token_transfer_sql"),
    ("    _read (the facts call: key claim, locks, rule facts)", "_read"),
    ("    decide (the rule engine itself)", "decide"),
    ("    AnswerSlot.prepare (the stored answer's JSON)", "AnswerSlot.prepare"),
    ("    audit_append_args (the event's canonical JSON pieces)", "audit_append_args"),
    ("    prepared_record (both calls, round trips included)", "prepared_record"),
    ("  ORM path: _evaluate (locks + facts for the rules)", "_evaluate@ledger.py"),
    ("  ORM path: _post (entry, legs, balances)", "_post@ledger.py"),
    ("  ORM path: audit_event_record (chain head lock, hash, insert)", "audit_event_record"),
    ("PII decryption (investor rows loaded)", "pii_decrypt"),
    ("transaction commit", "Atomic.__exit__"),
    ("SQL through Django's cursor (incl. lock waits)", "CursorWrapper._execute"),
    ("psycopg sending a statement", "_execute_send"),
    ("psycopg BEGIN (its own round trip)", "BaseConnection._exec_command"),
    ("psycopg waiting on the server (every statement, commit)", "Connection.wait"),
    ("ORM: compiling SQL (SQLCompiler.as_sql)", "SQLCompiler.as_sql"),
    ("gunicorn waiting for a connection", "SyncWorker.wait"),
]


def _env_file(path: Path) -> dict[str, str]:
    return dict(part.split("=", 1) for part in path.read_text().split() if "=" in part)


def _env(out: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (out / "run.env").read_text().splitlines() if "=" in line)


def _cpu(out: Path, name: str, master: int | None, db_name: str) -> dict:
    """Cores used in the steady state of a run (snapshots taken a second after it started and a second before its
    deadline) by the gunicorn tree, the PostgreSQL backends of `db_name`, PostgreSQL's background processes, the
    load generator (wrk or pgbench) and everything else (by difference from /proc/stat)."""
    start = json.loads((out / f"cpu-{name}-start.json").read_text())
    end = json.loads((out / f"cpu-{name}-end.json").read_text())
    hz, wall = end["hz"], end["time"] - start["time"]
    backend = re.compile(rf"^postgres: (\S+: )?\S+ {re.escape(db_name)} ")
    aux = re.compile(r"^postgres: (\S+: )?(checkpointer|background writer|walwriter|autovacuum|logical|stats)")
    client = re.compile(r"^(\S*/)?(wrk|pgbench) ")
    used = {"server": 0, "postgres": 0, "postgres_aux": 0, "client": 0}
    others: dict[str, int] = defaultdict(int)
    for pid, proc in end["procs"].items():
        before = start["procs"].get(pid)
        delta = proc["jiffies"] - (before["jiffies"] if before and before["cmd"] == proc["cmd"] else 0)
        if master is not None and (int(pid) == master or proc["ppid"] == master):
            used["server"] += delta
        elif backend.match(proc["cmd"]):
            used["postgres"] += delta
        elif aux.match(proc["cmd"]):
            used["postgres_aux"] += delta
        elif client.match(proc["cmd"]):
            used["client"] += delta
        elif delta > 0:
            others[" ".join(proc["cmd"].split()[:4])[:80] or f"pid {pid}"] += delta
    cores = {key: value / hz / wall for key, value in used.items()}
    total = (end["busy"] - start["busy"]) / hz / wall
    cores["other"] = max(0.0, total - sum(cores.values()))
    cores["total"] = total
    cores["other_top"] = sorted(((cmd, round(j / hz / wall, 2)) for cmd, j in others.items()), key=lambda x: -x[1])[:3]
    return cores


def _pgbench(out: Path) -> dict:
    text = (out / "pgbench.txt").read_text()

    def number(pattern: str) -> float | None:
        found = re.search(pattern, text)
        return float(found.group(1)) if found else None

    result = {
        "tps": number(r"tps = ([0-9.]+) \(without initial connection time\)"),
        "latency_avg_ms": number(r"latency average = ([0-9.]+) ms"),
        "latency_stddev_ms": number(r"latency stddev = ([0-9.]+) ms"),
        "transactions": number(r"number of transactions actually processed: ([0-9]+)"),
        "failed": number(r"number of failed transactions: ([0-9]+)") or 0,
        "connection_ms": number(r"initial connection time = ([0-9.]+) ms"),
        "progress": re.findall(r"^progress: .*$", text, flags=re.M),
    }
    latencies = []
    for log in sorted((out / "pgbench-log").glob("tx*")):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]))  # µs; failed transactions are logged as "failed"/"serialization"
    if latencies:
        latencies.sort()
        for p in (50, 90, 99):
            result[f"p{p}_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] / 1000
        result["logged"] = len(latencies)
    return result


def _profile(path: Path) -> dict | None:
    """Inclusive and leaf shares per function of one py-spy raw (collapsed stacks) recording."""
    if not path.exists() or not path.stat().st_size:
        return None
    total, inclusive, leaf = 0, Counter(), Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        leaf[frames[-1]] += n
    if not total:
        return None

    def share(function: str) -> float:
        wanted, _, in_file = function.partition("@")  # "name@file.py": that function of that file only

        def named(frame: str) -> bool:
            name = frame.split(" (")[0]
            return (name == wanted or name.endswith("." + wanted)) and in_file in frame

        return sum(n for frame, n in inclusive.items() if named(frame)) / total

    return {
        "samples": total,
        "selected": {label: round(share(function), 4) for label, function in PROFILE_FUNCTIONS},
        "top_inclusive": [(frame, round(n / total, 4)) for frame, n in inclusive.most_common(60)],
        "top_leaf": [(frame, round(n / total, 4)) for frame, n in leaf.most_common(25)],
    }


def main(out: Path) -> int:
    env = _env(out)
    wrk = json.loads((out / "wrk-transfer.json").read_text())
    verify = json.loads((out / "verify.json").read_text())
    pgb = _pgbench(out)
    queries_file = out / "queries.json"
    queries = json.loads(queries_file.read_text()) if queries_file.exists() and queries_file.stat().st_size else None
    profile = {"wall": _profile(out / "profile-wall.txt"), "cpu": _profile(out / "profile-cpu.txt")}
    if (out / "profile.env").exists():
        profile_env = _env_file(out / "profile.env")
        if profile["cpu"]:
            expected = float(profile_env["rate"]) * float(profile_env["seconds"])
            profile["cpu"]["on_cpu_share"] = round(profile["cpu"]["samples"] / expected, 3)
    cpu_api = _cpu(out, "api", int(env["app_pid"]), env["db"])
    cpu_pgb = _cpu(out, "pgbench", None, env["pgbench_db"])

    duration = wrk["duration_us"] / 1e6
    statuses = {code: int(n) for code, n in wrk.get("statuses", {}).items()}
    answered = sum(statuses.values())
    non201 = answered - statuses.get("201", 0)
    settled_per_s = verify["settled_per_s"]  # entries created while wrk ran ÷ that wall-clock time
    ratio = settled_per_s / pgb["tps"] if pgb["tps"] else float("nan")
    p50, p99 = wrk["latency_us"]["p50"] / 1000, wrk["latency_us"]["p99"] / 1000
    errors = wrk["errors"]
    invalid = []
    if not answered or non201 / answered > float(env["max_non201"]):
        invalid.append(f"{non201} of {answered} answers were not 201: {statuses}")
    if errors["connect"] or errors["timeout"] or errors["read"] or errors["write"]:
        invalid.append(f"socket errors: {errors}")
    if not verify["ok"]:
        invalid.append("verification failed: " + ", ".join(k for k, ok in verify["checks"].items() if not ok))
    if not pgb["tps"] or pgb["failed"]:
        invalid.append(f"pgbench: tps {pgb['tps']}, failed transactions {pgb['failed']}")

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} ms"

    workers, threads = int(env["workers"]), int(env["threads"])
    print(
        f"`{env['command']}` at {env['date_utc']} (commit {env.get('commit', 'unknown')}) on {env['host']} "
        f"({env['cpus']} cores, {env['cpu']});\n"
        f"gunicorn `{env['gunicorn_conf']}` with workers={workers} threads={threads} "
        f"({'gthread' if threads > 1 else 'sync'}), {env['settings']}, PostgreSQL {env['postgres']} "
        f"({env['pg_settings']});\n"
        f"API: `wrk -t{env['wrk_threads']} -c{env['connections']} -d{env['seconds']}s --latency` with "
        f"`bench/wrk_transfer.lua` after a {env['warmup_seconds']} s warm-up, {env['investors']} wallets named by "
        f"{env['wallet_ref']}, every transfer rule on, audit written;\n"
        f"pgbench: `pgbench -c {env['connections']} -j {env['wrk_threads']} -T {env['seconds']} -P 5` (built-in "
        f"TPC-B-like, scale {env['pgbench_scale']}) on the same server, right after the API run.\n"
    )
    print("| run | throughput | p50 | p99 | mean | requests / transactions | errors |")
    print("|---|---:|---:|---:|---:|---:|---|")
    other_codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()) if code != "201")
    socket = ", ".join(f"{k} {v}" for k, v in errors.items() if v and k != "status")
    print(
        f"| API `POST /api/v1/tokens/{{id}}/transfers/` | **{settled_per_s:.1f} settled transfers/s** "
        f"({statuses.get('201', 0) / duration:.1f} 201/s seen by wrk) | {ms(p50)} | {ms(p99)} | "
        f"{ms(wrk['latency_us']['mean'] / 1000)} | {answered} answered, {verify['settled_in_window']} settled | "
        f"non-201: {non201}{' (' + other_codes + ')' if other_codes else ''}{'; ' + socket if socket else ''} |"
    )
    print(
        f"| pgbench TPC-B-like | **{pgb['tps']:.1f} tps** (without connection time) | {ms(pgb.get('p50_ms'))} | "
        f"{ms(pgb.get('p99_ms'))} | {ms(pgb['latency_avg_ms'])} (stddev {ms(pgb['latency_stddev_ms'])}) | "
        f"{pgb['transactions']:.0f} | failed: {pgb['failed']:.0f} |"
    )
    print(f"\n**Ratio: {settled_per_s:.1f} ÷ {pgb['tps']:.1f} = {ratio:.1%}** of pgbench's transactions per second.\n")

    targets = [
        (f"settled transfers/s ≥ {RATIO_TARGET:.0%} of pgbench tps", f"{ratio:.1%}", ratio >= RATIO_TARGET),
        (f"API p99 ≤ {P99_TARGET_MS:.0f} ms", ms(p99), p99 <= P99_TARGET_MS),
    ]
    print("| target | measured | met |")
    print("|---|---:|---|")
    for label, value, ok in targets:
        print(f"| {label} | {value} | {'yes' if ok else '**no**'} |")
    needed = RATIO_TARGET * pgb["tps"]
    if ratio < RATIO_TARGET:
        print(
            f"\nThe ratio target needs {needed:.0f} settled transfers/s: {needed / settled_per_s:.1f}× this run "
            f"({needed - settled_per_s:.0f}/s short)."
        )
    if p99 > P99_TARGET_MS:
        print(f"p99 is {p99 - P99_TARGET_MS:.0f} ms over the target ({p99 / P99_TARGET_MS:.1f}×).")

    print(f"\nCPU in cores (of the machine's {env['cpus']}) in the steady state of each run:\n")
    print("| run | server (gunicorn) | PostgreSQL backends | PostgreSQL background | load generator | other | busy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, c in (("API", cpu_api), ("pgbench", cpu_pgb)):
        print(
            f"| {label} | {c['server']:.2f} | {c['postgres']:.2f} | {c['postgres_aux']:.2f} | {c['client']:.2f} | "
            f"{c['other']:.2f} | {c['total']:.2f} |"
        )
    per = {k: cpu_api[k] / settled_per_s * 1000 for k in ("server", "postgres", "postgres_aux", "client")}
    pg_per_tx = (cpu_pgb["postgres"] + cpu_pgb["postgres_aux"]) / pgb["tps"] * 1000
    client_per_tx = cpu_pgb["client"] / pgb["tps"] * 1000
    print(
        f"\nCPU per settled transfer: server {per['server']:.2f} ms, PostgreSQL {per['postgres']:.2f} ms "
        f"(+{per['postgres_aux']:.2f} ms background), wrk {per['client']:.2f} ms. "
        f"Per pgbench transaction: PostgreSQL {pg_per_tx:.2f} ms, pgbench {client_per_tx:.2f} ms."
    )
    noisy = [name for name, c in (("API", cpu_api), ("pgbench", cpu_pgb)) if c["other"] > NOISY_CORES]
    if noisy:
        tops = {"API": cpu_api["other_top"], "pgbench": cpu_pgb["other_top"]}
        print(
            f"\n**Warning:** other processes used more than {NOISY_CORES} cores during {', '.join(noisy)}; "
            "those numbers understate this machine. Busiest others: "
            + "; ".join(f"{n}: " + ", ".join(f"`{cmd}` {c}" for cmd, c in tops[n]) for n in noisy)
        )

    checks = verify["checks"]
    print("\nVerification in the database after the run:\n")
    for label, ok in checks.items():
        print(f"- {'✔' if ok else '✘ FAILED:'} {label}")
    print(
        f"- {verify['settled_in_window']} transfer entries created in the measured window of "
        f"{verify['window_s']:.2f} s (the rate above); {verify['settled_transfers']} between the snapshots around it "
        f"(wrk saw {verify.get('wrk_201')} 201s; {verify.get('settled_minus_wrk_201')} more finished after its "
        f"deadline), {verify['audit_events_new']} audit events, idempotency answers stored by status "
        f"{verify['idempotency_keys_new_by_status']}; supply {verify['supply_after']} before and after; audit chain "
        f"{verify['audit_chain']['length']} events, valid={verify['audit_chain']['valid']}."
    )

    if queries:
        print(
            f"\nOne transfer in-process (Django test client, no concurrency, rolled back): "
            f"{'/'.join(map(str, queries['queries_per_transfer']))} SQL statements, "
            f"{queries['wall_ms_per_transfer_in_process']:.1f} ms wall of which "
            f"{queries['sql_ms_per_transfer_in_process']:.1f} ms in SQL round trips. Costliest statements:\n"
        )
        print("| per transfer | ms per transfer | statement |")
        print("|---:|---:|---|")
        for row in queries["statements"][:6]:
            print(f"| {row['per_transfer']:g} | {row['ms_per_transfer']:.2f} | `{row['sql'][:110]}…` |")
    wall, cpu = profile["wall"], profile["cpu"]
    if wall or cpu:
        on_cpu = f", on CPU {cpu['on_cpu_share']:.0%} of the time" if cpu and "on_cpu_share" in cpu else ""
        print(
            "\nWhere a worker's time goes under the same load (py-spy after the measured runs; inclusive shares; "
            f"worker 1 wall time incl. waits, {wall['samples'] if wall else 0} samples; worker 2 on-CPU time only, "
            f"{cpu['samples'] if cpu else 0} samples{on_cpu}):\n"
        )
        print("| part of a request | share of wall time | share of CPU time |")
        print("|---|---:|---:|")
        for label, _ in PROFILE_FUNCTIONS:
            w = f"{wall['selected'][label]:.1%}" if wall else "n/a"
            c = f"{cpu['selected'][label]:.1%}" if cpu else "n/a"
            print(f"| {label} | {w} | {c} |")

    for line in invalid:
        print(f"\n**Invalid run:** {line}")
    (out / "results.json").write_text(
        json.dumps(
            {
                "env": env,
                "api": {
                    "settled_transfers_per_s": settled_per_s,
                    "wrk": wrk,
                    "cpu_cores": cpu_api,
                    "cpu_ms_per_transfer": per,
                },
                "pgbench": pgb | {"cpu_cores": cpu_pgb},
                "ratio": ratio,
                "verify": verify,
                "queries": queries,
                "profile": profile,
                "targets": targets,
                "invalid": invalid,
            },
            indent=2,
            default=str,
        )
    )
    if invalid:
        return 1
    return 0 if all(ok for *_, ok in targets) else 2


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
