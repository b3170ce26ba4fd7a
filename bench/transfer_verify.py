"""The database side of bench/transfer_bench.sh (issue #3), run with the benchmark's environment:

    python bench/transfer_verify.py snapshot --token ID > before.json
    python bench/transfer_verify.py check --token ID --before before.json --after after.json --wrk wrk.json
    python bench/transfer_verify.py queries --token ID --username U --password P --wallets FILE [--requests 20]

`snapshot` records what the run will be judged against: transfer entries, audit events, idempotency keys by
status, the supply and the holders' balances. `check` compares two snapshots with what wrk saw, counts the transfer
entries created inside the run's wall-clock window (--window: the measured rate), and proves the run did what it
claims: every settled transfer has exactly one ledger entry (two legs), one `transfer.settled` audit
event and one stored 201 idempotency answer; the supply did not change and equals the holders' balances; the ledger
is balanced; the audit chain verifies end to end. It prints JSON and exits 1 if any of that fails.

`queries` sends a few transfers through the whole Django stack in-process (test client, production settings,
this database) inside a transaction that is rolled back, and lists the SQL one transfer costs; the measured run is
not touched and nothing is left behind.
"""

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max, Min, Sum  # noqa: E402

from audit.models import AuditChainHead, AuditEvent  # noqa: E402
from audit.selectors import audit_chain_verify  # noqa: E402
from rwa_service.idempotency.models import IdempotencyKey  # noqa: E402
from tokenization.models import Account, AccountKind, EntryKind, LedgerEntry, LedgerLeg, TokenClass  # noqa: E402
from tokenization.services.ledger import ledger_is_balanced  # noqa: E402


def snapshot(token_id: str) -> dict:
    token = TokenClass.objects.get(pk=token_id)
    entries = LedgerEntry.objects.filter(token_class=token)
    keys = dict(IdempotencyKey.objects.values_list("response_status").annotate(n=Count("id")))
    holders = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER).aggregate(s=Sum("balance"))["s"]
    return {
        "time": time.time(),
        "transfers": entries.filter(kind=EntryKind.TRANSFER).count(),
        "entries": entries.count(),
        "max_entry_id": entries.aggregate(m=Max("id"))["m"] or 0,
        "legs": LedgerLeg.objects.filter(account__token_class=token).count(),
        "audit_head_seq": AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0,
        "audit_transfer_events": AuditEvent.objects.filter(action="transfer.settled").count(),
        "idempotency_keys": {str(status): n for status, n in keys.items()},
        "total_supply": str(token.total_supply),
        "holders_sum": str(holders or 0),
    }


def check(token_id: str, before: dict, after: dict, wrk: dict | None, window: list[float] | None) -> dict:
    token = TokenClass.objects.get(pk=token_id)
    new = LedgerEntry.objects.filter(token_class=token, id__gt=before["max_entry_id"])
    new_transfers = new.filter(kind=EntryKind.TRANSFER)
    span = new_transfers.aggregate(first=Min("created_at"), last=Max("created_at"))
    legs_per_entry = set(
        LedgerLeg.objects.filter(entry__in=new).values("entry").annotate(n=Count("id")).values_list("n", flat=True)
    )
    with connection.cursor() as cursor:  # each new entry is named by a transfer.settled event, and each event by one
        cursor.execute(
            "SELECT count(*) FROM tokenization_ledgerentry e WHERE e.token_class_id = %s AND e.id > %s AND NOT EXISTS "
            "(SELECT 1 FROM audit_auditevent a WHERE a.action = 'transfer.settled' AND a.seq > %s "
            "AND (a.after->>'seq')::bigint = e.id)",
            [str(token.pk), before["max_entry_id"], before["audit_head_seq"]],
        )
        (unmatched,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM audit_auditevent a WHERE a.action = 'transfer.settled' AND a.seq > %s AND NOT EXISTS "
            "(SELECT 1 FROM tokenization_ledgerentry e WHERE e.id = (a.after->>'seq')::bigint AND e.kind = 'transfer')",
            [before["audit_head_seq"]],
        )
        unmatched += cursor.fetchone()[0]
    keys_before, keys_after = before["idempotency_keys"], after["idempotency_keys"]
    key_delta = {s: keys_after.get(s, 0) - keys_before.get(s, 0) for s in set(keys_before) | set(keys_after)}
    key_delta = {s: n for s, n in sorted(key_delta.items()) if n}
    chain = audit_chain_verify()
    settled = after["transfers"] - before["transfers"]
    result = {
        "settled_transfers": settled,
        "other_new_entries": new.exclude(kind=EntryKind.TRANSFER).count(),
        "new_legs": after["legs"] - before["legs"],
        "legs_per_entry": sorted(legs_per_entry),
        "audit_events_new": after["audit_head_seq"] - before["audit_head_seq"],
        "audit_transfer_events_new": after["audit_transfer_events"] - before["audit_transfer_events"],
        "entries_without_event_or_events_without_entry": unmatched,
        "idempotency_keys_new_by_status": key_delta,
        "first_entry_at": span["first"].isoformat() if span["first"] else None,
        "last_entry_at": span["last"].isoformat() if span["last"] else None,
        "entry_span_s": (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0,
        "supply_before": before["total_supply"],
        "supply_after": after["total_supply"],
        "holders_sum_after": after["holders_sum"],
        "ledger_balanced": ledger_is_balanced(token_id=token.pk),
        "audit_chain": {"valid": chain.valid, "length": chain.length, "first_bad_seq": chain.first_bad_seq},
    }
    checks = {
        "supply unchanged": before["total_supply"] == after["total_supply"],
        "holders' balances == total supply": after["holders_sum"] == after["total_supply"],
        "ledger balanced (legs sum to zero, issuance == -supply)": result["ledger_balanced"],
        "only transfer entries were added": result["other_new_entries"] == 0,
        "two legs per new entry": result["legs_per_entry"] in ([], [2]) and result["new_legs"] == 2 * settled,
        "one audit event per settled transfer": result["audit_transfer_events_new"] == settled
        and result["audit_events_new"] == settled
        and unmatched == 0,
        "one stored 201 answer per settled transfer": key_delta.get("201", 0) == settled,
        "audit chain verifies": chain.valid and chain.length == after["audit_head_seq"],
    }
    if wrk is not None:
        seen = int(wrk.get("statuses", {}).get("201", 0))
        result["wrk_201"] = seen
        result["settled_minus_wrk_201"] = settled - seen
        # wrk stops counting at its deadline while the server finishes what it already accepted: a few more
        # entries than 201s wrk saw (at most one per connection) is expected, fewer is not.
        checks["settled ≈ 201s wrk saw (0 ≤ extra ≤ connections)"] = 0 <= settled - seen <= 64
    if window is not None:  # the measured rate: entries created while wrk ran, over that wall-clock time
        started, ended = (datetime.fromtimestamp(t, tz=UTC) for t in window)
        result["window_s"] = window[1] - window[0]
        result["settled_in_window"] = new_transfers.filter(created_at__gte=started, created_at__lte=ended).count()
        result["settled_per_s"] = result["settled_in_window"] / result["window_s"]
    result["checks"] = checks
    result["ok"] = all(checks.values())
    return result


_LITERALS = re.compile(r"'[^']*'|\b\d+\b")
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def _normalise(sql: str) -> str:
    return " ".join(_LITERALS.sub("?", _SAVEPOINT.sub('"sN"', sql)).split())


def queries(token_id: str, username: str, password: str, wallets: list[str], requests: int) -> dict:
    """Transfers through the test client, in a transaction rolled back at the end: the SQL one transfer sends, each
    statement timed (round trip seen by Django), and EXPLAIN ANALYZE of the most expensive ones. Inside the outer
    transaction the service's outermost atomic block becomes a savepoint, so there is one SAVEPOINT/RELEASE pair
    where production has BEGIN/COMMIT; otherwise the statements are those of a real request."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    answer = client.post("/api/v1/auth/token/", {"username": username, "password": password}, "application/json")
    access = answer.json()["access"]
    path = f"/api/v1/tokens/{token_id}/transfers/"
    per_request, wall = [], []
    by_statement: dict[str, list] = defaultdict(lambda: [0, 0.0, None])  # count, seconds, first (sql, params)
    current: list[int] = [0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            row = by_statement[_normalise(sql)]
            row[0] += 1
            row[1] += time.perf_counter() - started
            row[2] = row[2] or (sql, params)
            current[0] += 1

    def one(i: int) -> float:
        body = {"from_wallet": wallets[i % len(wallets)], "to_wallet": wallets[(i + 1) % len(wallets)], "amount": "3"}
        headers = {"HTTP_AUTHORIZATION": f"Bearer {access}", "HTTP_IDEMPOTENCY_KEY": f"queries-{uuid.uuid4()}"}
        started = time.perf_counter()
        response = client.post(path, body, "application/json", **headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 201:
            raise SystemExit(f"transfer answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    explained = []
    try:
        with transaction.atomic():
            for i in range(3):  # warm: imports, the cached user, prepared plans
                one(i)
            with connection.execute_wrapper(timed):
                for i in range(requests):
                    current[0] = 0
                    wall.append(one(i + 3))
                    per_request.append(current[0])
            statements = sorted(by_statement.items(), key=lambda item: -item[1][1])
            with connection.cursor() as cursor:
                costly = [
                    item
                    for item in statements
                    if item[1][2][0].lstrip().upper().startswith("SELECT") and "tokenization_transfer_" not in item[0]
                ]  # reads only: the transfer's database functions lock and write, EXPLAIN ANALYZE would run them
                for _, (_, _, (sql, params)) in costly[:2]:  # the two costliest reads
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    explained.append({"sql": sql, "params": [str(p) for p in params or ()], "plan": cursor.fetchall()})
            transaction.set_rollback(True)
    finally:
        connection.close()
    sql_s = sum(t for _, (_, t, _) in statements) / requests
    return {
        "requests": requests,
        "queries_per_transfer": sorted(set(per_request)),
        "wall_ms_per_transfer_in_process": round(1000 * sum(wall) / len(wall), 2),
        "sql_ms_per_transfer_in_process": round(1000 * sql_s, 2),
        "statements": [
            {"per_transfer": round(n / requests, 2), "ms_per_transfer": round(1000 * t / requests, 3), "sql": sql[:200]}
            for sql, (n, t, _) in statements
        ],
        "explain": [e | {"plan": [row[0] for row in e["plan"]]} for e in explained],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["snapshot", "check", "queries"])
    parser.add_argument("--token", required=True)
    parser.add_argument("--before")
    parser.add_argument("--after")
    parser.add_argument("--wrk")
    parser.add_argument("--window", help="file with the run's start and end (epoch seconds, one a line)")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--wallets")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    if args.command == "snapshot":
        print(json.dumps(snapshot(args.token)))
        return 0
    if args.command == "queries":
        wallets = Path(args.wallets).read_text().split()
        print(json.dumps(queries(args.token, args.username, args.password, wallets, args.requests), indent=2))
        return 0
    before = json.loads(Path(args.before).read_text())
    after = json.loads(Path(args.after).read_text())
    wrk = json.loads(Path(args.wrk).read_text()) if args.wrk else None
    window = [float(x) for x in Path(args.window).read_text().split()] if args.window else None
    result = check(args.token, before, after, wrk, window)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
