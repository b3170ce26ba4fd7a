"""Transfers on PostgreSQL in two database calls (functions of migration tokenization 0003): one reads, and to
execute locks, everything the rules look at; the rule engine (`decide`, the same as everywhere) decides in Python;
one writes the entry, its legs, the balances, the stored idempotent answer and the audit event. The locks, the
constraints and the audit event are those of the ORM path (`ledger._move`), which SQLite and every other movement
use; tests run the transfer suite through both."""

import json
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from audit.services import Actor
from audit.sql_append import audit_append_args
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.db.prepared import prepared_record
from rwa_service.exceptions import Conflict, NotFound
from rwa_service.idempotency.services import AnswerSlot, KeyClaim, KeyTaken
from tokenization.compliance import Decision, Facts, Mode, Party, TransferBlocked, decide
from tokenization.gateways import chain_gateway
from tokenization.models import EntryKind, LedgerEntry, Wallet
from tokenization.models.token import TransferRules
from tokenization.services.common import WalletRef, actor_of
from tokenization.snapshots import entry_snapshot

_FACTS = (
    "SELECT * FROM tokenization_transfer_facts(%s::uuid, %s::text, %s::uuid, %s::text, %s::uuid, %s::numeric, "
    "%s::timestamptz, %s::boolean, %s::integer, %s::text, %s::text, %s::text, %s::text, %s::timestamptz)"
)
_POST = (
    "SELECT tokenization_transfer_post(%s::bigint, %s::uuid, %s::text, %s::numeric, %s::uuid, %s::uuid, %s::bigint, "
    "%s::bigint, %s::text, %s::text, %s::text, %s::timestamptz, %s::bigint, %s::integer, %s::text, "
    "%s::text, %s::bigint, %s::text, %s::text, %s::text, %s::jsonb, %s::jsonb, %s::text, %s::text, %s::text, %s::text)"
)
_RULE_FIELDS = (
    "require_kyc", "min_accreditation", "max_holders", "max_balance_amount", "max_balance_percent", "lockup_until",
    "lockup_days", "velocity_limit", "velocity_window_hours",
)  # fmt: skip


def transfer_sql_enabled() -> bool:
    """Whether transfers take this path: on PostgreSQL unless LEDGER_SQL_TRANSFERS is off."""
    return connection.vendor == "postgresql" and settings.LEDGER_SQL_TRANSFERS


def _read(
    *, token_id: Any, sender: WalletRef, receiver: WalletRef, amount: Decimal, now: Any, lock: bool,
    claim: KeyClaim | None,
) -> dict:  # fmt: skip
    try:
        token_uuid = token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id))
    except ValueError as exc:
        raise NotFound("No such token class.") from exc
    key = [claim.user_id, claim.key, claim.method, claim.path, claim.request_hash, claim.expires_at] if claim else []
    row = prepared_record(  # prepared once per connection: two calls on every transfer
        _FACTS,
        [token_uuid, sender.address, sender.id, receiver.address, receiver.id, amount, now, lock, *(key or [None] * 6)],
    )
    if row["missing"] == "key":  # claimed by an earlier request: nothing was locked or read
        raise KeyTaken
    if row["missing"] == "from_wallet":
        raise sender.not_found()
    if row["missing"] == "to_wallet":
        raise receiver.not_found()
    if row["missing"] == "token":
        raise NotFound("No such token class.")
    row["token"] = token_uuid  # the id as the database holds it, whatever form the caller gave
    return row


def _rules(token_id: Any, row: dict) -> TransferRules:
    if not row["rules_found"]:
        return TransferRules(token_class_id=token_id)
    return TransferRules(
        token_class_id=token_id,
        allowed_countries=json.loads(row["allowed_countries"]),
        blocked_countries=json.loads(row["blocked_countries"]),
        **{name: row[name] for name in _RULE_FIELDS},
    )


def _party(row: dict, side: str, *, windows: tuple[Decimal, Decimal]) -> Party:
    return Party(
        wallet_id=row[f"{side}_wallet"],
        investor_id=row[f"{side}_investor"],
        wallet_frozen=row[f"{side}_frozen"],
        wallet_status=row[f"{side}_status"],
        kyc_status=row[f"{side}_kyc_status"],
        kyc_expires_at=row[f"{side}_kyc_expires_at"],
        country=row[f"{side}_country"],
        accreditation=row[f"{side}_accreditation"],
        balance=row[f"{side}_balance"],
        frozen_amount=row[f"{side}_frozen_amount"],
        investor_total=row[f"{side}_total"],
        locked_by_receipt=windows[0],
        sent_in_window=windows[1],
    )


def _caller_owns(caller: AbstractBaseUser | Actor, row: dict) -> bool:
    """Operators and compliance may move any wallet; an investor only their own."""
    if isinstance(caller, Actor) or user_has_role(caller, Role.OPERATOR, Role.COMPLIANCE):
        return True
    return row["s_user"] is not None and row["s_user"] == caller.pk


def _evaluate(
    *, caller: AbstractBaseUser | Actor, token_id: Any, sender: WalletRef, receiver: WalletRef, amount: Decimal,
    lock: bool, claim: KeyClaim | None = None,
) -> tuple[Decision, dict]:  # fmt: skip
    row = _read(token_id=token_id, sender=sender, receiver=receiver, amount=amount, now=timezone.now(), lock=lock,
                claim=claim)  # fmt: skip
    now = row["facts_now"]  # this clock once the locks are held (waiting for them included): the rules' moment
    facts = Facts(
        mode=Mode.TRANSFER,
        token_status=row["token_status"],
        total_supply=row["total_supply"],
        max_supply=row["max_supply"],
        amount=amount,
        rules=_rules(row["token"], row),
        now=now,
        sender=_party(row, "s", windows=(row["s_received"], row["s_sent"])),
        receiver=_party(row, "r", windows=(Decimal(0), Decimal(0))),
        caller_owns_sender=_caller_owns(caller, row),
        holders_count=row["holders_count"],
    )
    return decide(facts), row


def transfer_check_sql(
    *, caller: AbstractBaseUser, token_id: Any, sender: WalletRef, receiver: WalletRef, amount: Decimal
) -> Decision:
    """The dry run: the transfer's own read, without locks, nothing written."""
    decision, _ = _evaluate(caller=caller, token_id=token_id, sender=sender, receiver=receiver, amount=amount,
                            lock=False)  # fmt: skip
    return decision


def token_transfer_sql(
    *,
    caller: AbstractBaseUser | Actor,
    token_id: Any,
    sender: WalletRef,
    receiver: WalletRef,
    amount: Decimal,
    answer: AnswerSlot | None,
) -> LedgerEntry:
    """Evaluates under the locks, settles through the chain gateway, then posts everything in one call. Runs in
    the caller's transaction (ledger.token_transfer's)."""
    claim = answer.claim if answer is not None else None  # the request's key, claimed by the first call
    decision, row = _evaluate(caller=caller, token_id=token_id, sender=sender, receiver=receiver, amount=amount,
                              lock=True, claim=claim)  # fmt: skip
    if claim is not None:
        answer.key_id = row["key_id"]
    if not decision.allowed:
        raise TransferBlocked(decision)
    gateway = chain_gateway()
    actor = actor_of(caller)
    entry = LedgerEntry(
        id=row["entry_id"],
        token_class_id=row["token"],
        kind=EntryKind.TRANSFER,
        amount=amount,
        from_wallet=Wallet(id=row["s_wallet"], investor_id=row["s_investor"], address=row["s_address"]),
        to_wallet=Wallet(id=row["r_wallet"], investor_id=row["r_investor"], address=row["r_address"]),
        actor=actor.name,
        reason="",
        settlement_ref=gateway.name,  # where it settles; entries are never updated afterwards
        created_at=row["facts_now"],
    )
    settlement = gateway.transfer(token_id=str(row["token"]), from_address=row["s_address"],
                                  to_address=row["r_address"], amount=amount, entry_id=entry.pk)  # fmt: skip
    if not settlement.settled:
        raise Conflict("This chain gateway settles asynchronously, which is not supported yet.", code="settlement")
    stored = answer.prepare(entry) if answer is not None else None
    audit = audit_append_args(actor=actor, action="transfer.settled", object_type="token", object_id=row["token"],
                              before=None, after=entry_snapshot(entry))  # fmt: skip
    prepared_record(
        _POST,
        [
            entry.pk, entry.token_class_id, entry.kind, amount, entry.from_wallet_id, entry.to_wallet_id,
            row["s_account"], row["r_account"], entry.actor, entry.reason, entry.settlement_ref, entry.created_at,
            answer.key_id if stored else None, stored[0] if stored else None, stored[1] if stored else None,
            *audit.values(),
        ],
    )  # fmt: skip
    entry._state.adding = False
    return entry
