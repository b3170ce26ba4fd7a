"""Ledger writes: mint, burn, transfer, forced transfer, and the dry-run check that shares their code path.

Locks are taken in one global order so that concurrent movements never deadlock: the token class row (mint, burn,
or when a holder-count rule is on), then the investors involved, then their accounts, each group in primary-key
order; the audit chain head comes last. Rules are evaluated on the state read under those locks.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import Conflict, NotFound, Unprocessable, ValidationFailed
from tokenization.compliance import Decision, Facts, Mode, Party, decide
from tokenization.gateways import chain_gateway
from tokenization.models import Account, AccountKind, EntryKind, Investor, LedgerEntry, LedgerLeg, TokenClass, Wallet
from tokenization.models.token import TransferRules
from tokenization.services.common import actor_of, parse_amount, require_role, wallet_by_ref
from tokenization.snapshots import entry_snapshot


class TransferBlocked(Unprocessable):
    """A movement the rules refuse: 422 carrying the whole decision."""

    code = "transfer_blocked"
    title = "Transfer blocked by compliance rules"

    def __init__(self, decision: Decision) -> None:
        refused = next(rule for rule in decision.rules if not rule.passed)
        super().__init__(refused.detail, extra=decision.as_dict())
        self.decision = decision


@dataclass
class _Locked:
    token: TokenClass
    sender_account: Account | None
    receiver_account: Account | None
    issuance: Account | None


def _token(token_id: Any, *, lock: bool) -> TokenClass:
    query = TokenClass.objects.select_for_update() if lock else TokenClass.objects
    try:
        return query.get(pk=token_id)
    except (TokenClass.DoesNotExist, ValueError) as exc:
        raise NotFound("No such token class.") from exc


def _rules(token: TokenClass) -> TransferRules:
    return TransferRules.objects.filter(token_class=token).first() or TransferRules(token_class=token)


def _holder_account(*, token: TokenClass, wallet: Wallet) -> Account:
    account, _ = Account.objects.get_or_create(token_class=token, wallet=wallet, kind=AccountKind.HOLDER)
    return account


def _issuance_account(*, token: TokenClass) -> Account:
    account, _ = Account.objects.get_or_create(token_class=token, kind=AccountKind.ISSUANCE, wallet=None)
    return account


def _lock_in_order(model: type, ids: list) -> dict:
    return {row.pk: row for row in model.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _investor_total(token: TokenClass, investor_id: Any) -> Decimal:
    total = Account.objects.filter(
        token_class=token, kind=AccountKind.HOLDER, wallet__investor_id=investor_id
    ).aggregate(total=Sum("balance"))["total"]
    return total or Decimal(0)


def _investor_legs(token: TokenClass, investor_id: Any, since: Any, *, incoming: bool) -> Decimal:
    legs = LedgerLeg.objects.filter(
        account__token_class=token,
        account__kind=AccountKind.HOLDER,
        account__wallet__investor_id=investor_id,
        entry__created_at__gt=since,
    )
    if incoming:
        legs = legs.filter(amount__gt=0)
    else:
        legs = legs.filter(amount__lt=0, entry__kind=EntryKind.TRANSFER)
    total = legs.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return abs(total)


def _party(*, token: TokenClass, wallet: Wallet, account: Account | None, rules: TransferRules, now: Any) -> Party:
    investor = wallet.investor
    locked = sent = Decimal(0)
    if rules.lockup_days:
        locked = _investor_legs(token, investor.pk, now - timedelta(days=rules.lockup_days), incoming=True)
    if rules.velocity_limit is not None:
        sent = _investor_legs(token, investor.pk, now - timedelta(hours=rules.velocity_window_hours), incoming=False)
    return Party(
        wallet_id=wallet.pk,
        investor_id=investor.pk,
        wallet_frozen=wallet.frozen,
        wallet_status=wallet.status,
        kyc_status=investor.kyc_status,
        kyc_expires_at=investor.kyc_expires_at,
        country=investor.country,
        accreditation=investor.accreditation,
        balance=account.balance if account else Decimal(0),
        frozen_amount=account.frozen_amount if account else Decimal(0),
        investor_total=_investor_total(token, investor.pk),
        locked_by_receipt=locked,
        sent_in_window=sent,
    )


def _holders_count(token: TokenClass) -> int:
    return (
        Account.objects.filter(token_class=token, kind=AccountKind.HOLDER, balance__gt=0)
        .values("wallet__investor_id")
        .distinct()
        .count()
    )


def _caller_owns(caller: AbstractBaseUser | Actor, wallet: Wallet | None) -> bool:
    """Operators and compliance may move any wallet; an investor only their own."""
    if wallet is None or isinstance(caller, Actor) or user_has_role(caller, Role.OPERATOR, Role.COMPLIANCE):
        return True
    return Investor.objects.filter(pk=wallet.investor_id, user_id=caller.pk).exists()


def _evaluate(
    *,
    token_id: Any,
    mode: Mode,
    sender: Wallet | None,
    receiver: Wallet | None,
    amount: Decimal,
    caller: AbstractBaseUser | Actor,
    lock: bool,
) -> tuple[Decision, _Locked]:
    """Reads (and, to execute, locks) everything the rules look at, then asks the rule engine."""
    token = _token(token_id, lock=lock and mode in (Mode.MINT, Mode.BURN))
    rules = _rules(token)
    if lock and mode not in (Mode.MINT, Mode.BURN) and rules.max_holders is not None:
        token = _token(token_id, lock=True)  # the holder count must not change under us
    accounts = {}
    if lock:
        investor_ids = sorted({w.investor_id for w in (sender, receiver) if w is not None})
        _lock_in_order(Investor, investor_ids)
        wanted = [_holder_account(token=token, wallet=w) for w in (sender, receiver) if w is not None]
        if mode in (Mode.MINT, Mode.BURN):
            wanted.append(_issuance_account(token=token))
        accounts = _lock_in_order(Account, [a.pk for a in wanted])
    sender = Wallet.objects.select_related("investor").get(pk=sender.pk) if sender else None
    receiver = Wallet.objects.select_related("investor").get(pk=receiver.pk) if receiver else None

    def account_of(wallet: Wallet | None) -> Account | None:
        if wallet is None:
            return None
        found = next((a for a in accounts.values() if a.wallet_id == wallet.pk), None)
        return found or Account.objects.filter(token_class=token, wallet=wallet, kind=AccountKind.HOLDER).first()

    now = timezone.now()
    sender_account, receiver_account = account_of(sender), account_of(receiver)
    facts = Facts(
        mode=mode,
        token_status=token.status,
        total_supply=token.total_supply,
        max_supply=token.max_supply,
        amount=amount,
        rules=rules,
        now=now,
        sender=_party(token=token, wallet=sender, account=sender_account, rules=rules, now=now) if sender else None,
        receiver=_party(token=token, wallet=receiver, account=receiver_account, rules=rules, now=now)
        if receiver
        else None,
        caller_owns_sender=_caller_owns(caller, sender) if mode == Mode.TRANSFER else True,
        holders_count=_holders_count(token) if rules.max_holders is not None else 0,
    )
    issuance = next((a for a in accounts.values() if a.kind == AccountKind.ISSUANCE), None)
    return decide(facts), _Locked(token, sender_account, receiver_account, issuance)


def transfer_check(
    *, caller: AbstractBaseUser, token_id: Any, from_wallet: Any, to_wallet: Any, amount: Any
) -> Decision:
    """The dry run: exactly the transfer's evaluation, without locks and without writing anything."""
    sender = wallet_by_ref(from_wallet, field="from_wallet")
    receiver = wallet_by_ref(to_wallet, field="to_wallet")
    decision, _ = _evaluate(
        token_id=token_id,
        mode=Mode.TRANSFER,
        sender=sender,
        receiver=receiver,
        amount=parse_amount(amount),
        caller=caller,
        lock=False,
    )
    return decision


def _post(
    *, locked: _Locked, kind: str, amount: Decimal, debit: Account, credit: Account, actor: Actor, reason: str
) -> LedgerEntry:
    entry = LedgerEntry.objects.create(
        token_class=locked.token,
        kind=kind,
        amount=amount,
        from_wallet_id=debit.wallet_id,
        to_wallet_id=credit.wallet_id,
        actor=actor.name,
        reason=reason,
        settlement_ref=chain_gateway().name,  # where it settles; entries are never updated afterwards
    )
    LedgerLeg.objects.bulk_create(
        [LedgerLeg(entry=entry, account=debit, amount=-amount), LedgerLeg(entry=entry, account=credit, amount=amount)]
    )
    debit.balance -= amount
    credit.balance += amount
    for account in sorted((debit, credit), key=lambda a: a.pk):
        account.save(update_fields=["balance", "frozen_amount", "updated_at"])
    return entry


def _settle(entry: LedgerEntry, settlement_call: Any) -> None:
    """Hands the posted entry to the chain gateway. The ledger backend settles at once; a gateway that cannot
    settle synchronously is refused here until asynchronous settlement exists (the entry rolls back with it)."""
    settlement = settlement_call(entry_id=entry.pk)
    if not settlement.settled:
        raise Conflict("This chain gateway settles asynchronously, which is not supported yet.", code="settlement")


def _audit(*, actor: Actor, action: str, entry: LedgerEntry, reason: str = "", before: dict | None = None) -> None:
    audit_event_record(
        actor=actor,
        action=action,
        object_type="token",
        object_id=entry.token_class_id,
        before=before,
        after=entry_snapshot(entry),
        reason=reason,
    )


# mode → (ledger entry kind, audit action, chain gateway method)
_MOVES = {
    Mode.TRANSFER: (EntryKind.TRANSFER, "transfer.settled", "transfer"),
    Mode.FORCED: (EntryKind.FORCED_TRANSFER, "transfer.forced", "force_transfer"),
    Mode.MINT: (EntryKind.MINT, "token.minted", "mint"),
    Mode.BURN: (EntryKind.BURN, "token.burned", "burn"),
}


def _move(
    *,
    mode: Mode,
    caller: AbstractBaseUser | Actor,
    token_id: Any,
    sender: Wallet | None,
    receiver: Wallet | None,
    amount: Any,
    reason: str,
) -> LedgerEntry:
    """The one path of every movement: evaluate the rules under locks, post the balanced entry, keep the supply,
    settle through the chain gateway, and record the audit event, all in the caller's transaction."""
    value = parse_amount(amount)
    decision, locked = _evaluate(
        token_id=token_id, mode=mode, sender=sender, receiver=receiver, amount=value, caller=caller, lock=True
    )
    if not decision.allowed:
        raise TransferBlocked(decision)
    kind, action, gateway_method = _MOVES[mode]
    debit = locked.issuance if mode == Mode.MINT else locked.sender_account
    credit = locked.issuance if mode == Mode.BURN else locked.receiver_account
    before = None
    if mode == Mode.FORCED:
        free = debit.balance - debit.frozen_amount
        before = {"from_frozen_amount": str(debit.frozen_amount)}
        if value > free:
            debit.frozen_amount -= value - free  # unfreeze exactly the shortfall
    actor = actor_of(caller)
    entry = _post(locked=locked, kind=kind, amount=value, debit=debit, credit=credit, actor=actor, reason=reason)
    if mode in (Mode.MINT, Mode.BURN):
        locked.token.total_supply += value if mode == Mode.MINT else -value
        locked.token.save(update_fields=["total_supply", "updated_at"])
    addresses = {}
    if sender is not None:
        addresses["from_address"] = sender.address
    if receiver is not None:
        addresses["to_address"] = receiver.address
    settle = getattr(chain_gateway(), gateway_method)
    _settle(entry, lambda entry_id: settle(token_id=str(locked.token.pk), amount=value, entry_id=entry_id, **addresses))
    _audit(actor=actor, action=action, entry=entry, reason=reason, before=before)
    return entry


@transaction.atomic
def token_transfer(
    *, caller: AbstractBaseUser, token_id: Any, from_wallet: Any, to_wallet: Any, amount: Any
) -> LedgerEntry:
    """Moves `amount` between two wallets when every rule allows it; otherwise 422 with the decision."""
    require_role(caller, Role.OPERATOR, Role.COMPLIANCE, Role.INVESTOR)
    return _move(
        mode=Mode.TRANSFER,
        caller=caller,
        token_id=token_id,
        sender=wallet_by_ref(from_wallet, field="from_wallet"),
        receiver=wallet_by_ref(to_wallet, field="to_wallet"),
        amount=amount,
        reason="",
    )


@transaction.atomic
def token_force_transfer(
    *, caller: AbstractBaseUser, token_id: Any, from_wallet: Any, to_wallet: Any, amount: Any, reason: str
) -> LedgerEntry:
    """Compliance moves tokens regardless of the sender's side (frozen, lock-up, ownership), never regardless of
    the receiver's eligibility; frozen tokens it needs are unfrozen (the shortfall only)."""
    require_role(caller, Role.COMPLIANCE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A forced transfer needs a reason.", errors={"reason": ["This field is required."]})
    return _move(
        mode=Mode.FORCED,
        caller=caller,
        token_id=token_id,
        sender=wallet_by_ref(from_wallet, field="from_wallet"),
        receiver=wallet_by_ref(to_wallet, field="to_wallet"),
        amount=amount,
        reason=reason,
    )


@transaction.atomic
def token_mint(
    *, caller: AbstractBaseUser | Actor, token_id: Any, to_wallet: Any, amount: Any, reason: str = ""
) -> LedgerEntry:
    """Issues new supply to a wallet whose investor the receiver-side rules admit."""
    require_role(caller, Role.OPERATOR)
    receiver = wallet_by_ref(to_wallet, field="to_wallet")
    return _move(
        mode=Mode.MINT,
        caller=caller,
        token_id=token_id,
        sender=None,
        receiver=receiver,
        amount=amount,
        reason=(reason or "").strip(),
    )


@transaction.atomic
def token_burn(
    *, caller: AbstractBaseUser, token_id: Any, from_wallet: Any, amount: Any, reason: str = ""
) -> LedgerEntry:
    """Destroys supply held (unfrozen) by a wallet."""
    require_role(caller, Role.OPERATOR)
    sender = wallet_by_ref(from_wallet, field="from_wallet")
    return _move(
        mode=Mode.BURN,
        caller=caller,
        token_id=token_id,
        sender=sender,
        receiver=None,
        amount=amount,
        reason=(reason or "").strip(),
    )


def ledger_is_balanced(*, token_id: Any) -> bool:
    """Holder balances sum to the total supply, the issuance account holds its negative, legs sum to zero."""
    token = TokenClass.objects.get(pk=token_id)
    holders = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER).aggregate(s=Sum("balance"))["s"]
    issuance = Account.objects.filter(token_class=token, kind=AccountKind.ISSUANCE).aggregate(s=Sum("balance"))["s"]
    legs = LedgerLeg.objects.filter(account__token_class=token).aggregate(s=Sum("amount"))["s"]
    negative = Account.objects.filter(Q(token_class=token, kind=AccountKind.HOLDER, balance__lt=0)).exists()
    holders, issuance, legs = holders or 0, issuance or 0, legs or 0
    return holders == token.total_supply and issuance == -token.total_supply and legs == 0 and not negative
