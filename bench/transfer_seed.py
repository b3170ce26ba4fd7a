"""Seeds the transfer benchmark's database (issue #3): an operator and a compliance user (through the accounts
service, so roles and audit are real), one approved asset tokenized into a class with every transfer rule switched
on, N verified investors with one wallet each, each minted a large balance. Run by bench/transfer_bench.sh with
the benchmark's environment (production settings, PostgreSQL).

    python bench/transfer_seed.py --username bench-tx-operator --password ... --out-dir DIR

"All rules on" means every rule of the token is set, so each one is evaluated on every transfer, and set so that a
transfer of 1..10 units between two seeded wallets passes all of them:

    require_kyc True, min_accreditation accredited, allowed_countries GB/DE/FR, blocked_countries KP/IR,
    max_holders 1000, max_balance_amount 10^15, max_balance_percent 100, lockup_until 30 days ago,
    lockup_days 1, velocity_limit 10^15 per velocity_window_hours 24

`lockup_days` locks what an investor received in the last day, so it would lock the freshly minted balances. After
minting, this script therefore backdates the mint entries by two days. The ledger is append-only by trigger, so
the trigger is disabled for that one UPDATE and enabled again in the same transaction: a SEED-ONLY step on a
throw-away database, never something the service does. Transfers made by the benchmark are not touched.

Writes to --out-dir: token.txt (token class id), wallets-address.txt and wallets-id.txt (one wallet per line, the
same order), rules.json (the rules as stored) and seed.json (counts and balances).
"""

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

import tokenization.tasks  # noqa: E402
from assets.services import asset_create, asset_transition  # noqa: E402
from audit.services import Actor  # noqa: E402
from rwa_service.accounts.services import user_create  # noqa: E402
from tokenization.models import Account, AccountKind, EntryKind, LedgerEntry, TokenClass, TransferRules  # noqa: E402
from tokenization.services.investors import investor_create, wallet_create  # noqa: E402
from tokenization.services.ledger import ledger_is_balanced, token_mint, transfer_check  # noqa: E402
from tokenization.services.operations import operation_execute  # noqa: E402
from tokenization.services.tokens import token_class_tokenize  # noqa: E402
from tokenization.snapshots import rules_snapshot  # noqa: E402

HUGE = 10**15
COUNTRIES = ["GB", "DE", "FR"]
ACCREDITATIONS = ["accredited", "qualified", "professional"]  # every one at least the required "accredited"
EXPECTED_RULES = {  # every rule the engine evaluates on a transfer, and the verdict text proving it was configured
    "token-active": "active",
    "same-wallet": None,  # only reported when it refuses
    "not-owner": "may move",
    "sender-frozen": "not frozen",
    "sender-kyc": "verified",
    "balance": "holds enough",
    "frozen-amount": "unfrozen",
    "lockup": "No lock-up applies",
    "velocity": "Within the volume limit",
    "receiver-frozen": "not frozen",
    "receiver-kyc": "verified",
    "country": "is allowed",
    "accreditation": "suffices",
    "max-holders": "at most 1000",  # between existing holders: "does not change (at most 1000)"
    "max-balance": "Within the limit of",
}


def _rules() -> dict:
    return {
        "require_kyc": True,
        "min_accreditation": "accredited",
        "allowed_countries": list(COUNTRIES),
        "blocked_countries": ["KP", "IR"],
        "max_holders": 1000,
        "max_balance_amount": str(HUGE),
        "max_balance_percent": 100,
        "lockup_until": timezone.now() - timedelta(days=30),
        "lockup_days": 1,
        "velocity_limit": str(HUGE),
        "velocity_window_hours": 24,
    }


def _backdate_mints(token: TokenClass) -> int:
    """SEED ONLY: moves the mint entries two days into the past so that `lockup_days` (1) does not lock them.
    The append-only trigger is off for this single statement, inside one transaction, and back on before commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tokenization_ledgerentry DISABLE TRIGGER ledgerentry_append_only")
        cursor.execute(
            "UPDATE tokenization_ledgerentry SET created_at = now() - interval '2 days' "
            "WHERE token_class_id = %s AND kind = %s",
            [token.pk, EntryKind.MINT],
        )
        moved = cursor.rowcount
        cursor.execute("ALTER TABLE tokenization_ledgerentry ENABLE TRIGGER ledgerentry_append_only")
    with connection.cursor() as cursor:  # prove the guard is back: an UPDATE must be refused again
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledgerentry_append_only' "
            "AND tgrelid = 'tokenization_ledgerentry'::regclass"
        )
        (state,) = cursor.fetchone()
    if state != "O":
        raise SystemExit(f"the append-only trigger is not enabled again (tgenabled={state!r})")
    return moved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--username", required=True, help="the operator the benchmark authenticates as")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--investors", type=int, default=50)
    parser.add_argument("--balance", type=int, default=10**9, help="units minted to each wallet")
    args = parser.parse_args()
    out = Path(args.out_dir)
    started = time.monotonic()
    # token_class_tokenize queues the issuing operation on the broker after commit; the seed runs it here instead
    # (operation_execute below), so nothing is left on the broker.
    tokenization.tasks.enqueue_operation = lambda **_: None

    system = Actor.system("bench")
    operator = user_create(actor=system, username=args.username, password=args.password, roles=["operator"])
    compliance = user_create(
        actor=system, username=f"{args.username}-compliance", password=args.password, roles=["compliance"]
    )
    asset = asset_create(
        actor=operator,
        name="Bench transfer asset",
        asset_type="real_estate",
        jurisdiction="GB",
        currency="GBP",
        description="Created by bench/transfer_seed.py.",
        metadata={"address": "1 Main St", "property_type": "commercial", "area_sqm": 1200},
        issuer_name="Bench Issuer Ltd",
    )
    asset_transition(actor=operator, asset_id=asset.pk, transition="submit")
    asset_transition(actor=compliance, asset_id=asset.pk, transition="approve")
    operation = token_class_tokenize(
        actor=operator, asset_id=asset.pk, symbol="BTX", name="Bench transfer token", decimals=0, rules=_rules()
    )
    token_id = operation_execute(operation_id=operation.pk).result["token"]

    wallets = []
    kyc_until = timezone.now() + timedelta(days=365)
    for i in range(args.investors):
        investor = investor_create(
            actor=compliance,
            values={
                "type": "individual",
                "legal_name": f"Bench Investor {i:03d}",
                "email": f"investor{i:03d}@example.com",
                "country": COUNTRIES[i % len(COUNTRIES)],
                "kyc_status": "verified",
                "kyc_expires_at": kyc_until,
                "accreditation": ACCREDITATIONS[i % len(ACCREDITATIONS)],
            },
        )
        wallet = wallet_create(actor=compliance, investor_id=investor.pk, address=f"0x{0xB0000000 + i:040x}")
        token_mint(caller=operator, token_id=token_id, to_wallet=wallet.pk, amount=args.balance, reason="Bench seed")
        wallets.append(wallet)
    token = TokenClass.objects.get(pk=token_id)
    backdated = _backdate_mints(token)

    # Every rule is set, and a sample transfer passes every one of them (the dry run shares the transfer's code).
    rules = rules_snapshot(TransferRules.objects.get(token_class=token))
    unset = [name for name, value in rules.items() if value in (None, [], "", False, "none")]
    if unset:
        raise SystemExit(f"rules not set: {unset}")
    decision = transfer_check(
        caller=operator, token_id=token_id, from_wallet=wallets[0].address, to_wallet=wallets[1].address, amount="7"
    )
    verdicts = {rule.rule: rule.detail for rule in decision.rules}
    missing = [name for name, text in EXPECTED_RULES.items() if text and text not in verdicts.get(name, "")]
    if not decision.allowed or missing:
        raise SystemExit(f"sample transfer not allowed by every configured rule: {decision.as_dict()} {missing}")
    if not ledger_is_balanced(token_id=token_id):
        raise SystemExit("the seeded ledger is not balanced")

    holders = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER).aggregate(s=Sum("balance"))["s"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "token.txt").write_text(f"{token_id}\n")
    (out / "wallets-address.txt").write_text("".join(f"{w.address}\n" for w in wallets))
    (out / "wallets-id.txt").write_text("".join(f"{w.pk}\n" for w in wallets))
    (out / "rules.json").write_text(json.dumps(rules, indent=2, default=str) + "\n")
    summary = {
        "token": str(token_id),
        "investors": len(wallets),
        "balance_each": args.balance,
        "total_supply": str(token.total_supply),
        "holders_sum": str(holders),
        "mint_entries_backdated": backdated,
        "entries": LedgerEntry.objects.filter(token_class=token).count(),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / "seed.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"seeded token {token_id} with {len(wallets)} wallets of {args.balance} units (supply {token.total_supply}), "
        f"{backdated} mint entries backdated 2 days, every rule set and a sample transfer allowed, "
        f"in {summary['seconds']}s"
    )


if __name__ == "__main__":
    main()
