"""Ledger writes: mint, burn, transfer, forced transfer, and the dry-run check that shares their code path.

Locks are taken in one global order so that concurrent movements never deadlock: the investors involved, then their
accounts, each group in primary-key order, then the token class row (mint, burn, or a movement that changes the
number of holders while a max-holders rule is on); the audit chain head comes last. Rules are evaluated on the state
read under those locks. On PostgreSQL a transfer takes the same locks in the same order in two database calls
(transfer_sql.py); every other movement, and every movement on SQLite, runs here.
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
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import Conflict, ValidationFailed
from rwa_service.idempotency.services import AnswerSlot
from rwa_service.transactions import service_atomic
from tokenization.compliance import Decision, Facts, Mode, Party, TransferBlocked, decide
from tokenization.gateways import chain_gateway
from tokenization.models import Account, AccountKind, EntryKind, Investor, LedgerEntry, LedgerLeg, TokenClass, Wallet
from tokenization.models.token import TransferRules
from tokenization.services.common import WalletRef, actor_of, parse_amount, require_role, wallet_ref
from tokenization.services.transfer_sql import token_transfer_sql, transfer_check_sql, transfer_sql_enabled
from tokenization.snapshots import entry_snapshot


@dataclass
class _Locked:
    token: TokenClass
    sender_account: Account | None
    receiver_account: Account | None
    issuance: Account | None
    sender: Wallet | None = None
    receiver: Wallet | None = None


def _token(token_id: Any, *, lock: bool) -> TokenClass:
    query = TokenClass.objects.select_for_update(of=("self",), no_key=True) if lock else TokenClass.objects
    query = query.select_related("rules")  # the rules come with the token: one read
    return one_or_not_found(query, "No such token class.", pk=token_id)


def _rules(token: TokenClass) -> TransferRules:
    try:
        return token.rules  # read with the token (select_related)
    except TransferRules.DoesNotExist:
        return TransferRules(token_class=token)


def _holder_account(*, token: TokenClass, wallet: Wallet) -> Account:
    account, _ = Account.objects.get_or_create(token_class=token, wallet=wallet, kind=AccountKind.HOLDER)
    return account


def _issuance_account(*, token: TokenClass) -> Account:
    account, _ = Account.objects.get_or_create(token_class=token, kind=AccountKind.ISSUANCE, wallet=None)
    return account


def _lock_accounts(*, token: TokenClass, wallets: list[Wallet], issuance: bool) -> dict:
    """Locks the wallets' holder accounts in this token (and its issuance account) in primary-key order, in one
    query; accounts that do not exist yet are created first, and then everything is locked in order."""
    wanted = Q(kind=AccountKind.HOLDER, wallet__in=[w.pk for w in wallets])
    if issuance:
        wanted |= Q(kind=AccountKind.ISSUANCE, wallet=None)
    expected = len({w.pk for w in wallets}) + (1 if issuance else 0)

    def lock() -> dict:
        return {
            a.pk: a
            for a in Account.objects.select_for_update(no_key=True).filter(wanted, token_class=token).order_by("pk")
        }

    accounts = lock()
    if len(accounts) < expected:  # a first receipt (or a first mint): create what is missing, then lock in order
        for wallet in wallets:
            _holder_account(token=token, wallet=wallet)
        if issuance:
            _issuance_account(token=token)
        accounts = lock()
    return accounts


_PARTY_FIELDS = (
    "id",
    "investor_id",
    "address",
    "frozen",
    "status",
    "investor__id",
    "investor__kyc_status",
    "investor__kyc_expires_at",
    "investor__country",
    "investor__accreditation",
)


def _parties(refs: list[WalletRef], *, lock: bool) -> list[Wallet]:
    """The named wallets with the investor facts the rules read (never the encrypted PII), in one query, in the
    order of `refs` (the first one missing is a 404); to execute, the investors' rows are locked, in primary-key
    order, by that same query."""
    wanted = Q(pk__in=[])
    for ref in refs:
        wanted |= ref.as_q()
    query = Wallet.objects.filter(wanted).select_related("investor").only(*_PARTY_FIELDS)
    if lock:
        query = query.select_for_update(of=("investor",), no_key=True).order_by("investor_id", "pk")
    found = list(query)
    wallets = []
    for ref in refs:
        wallet = next((w for w in found if ref.names(w)), None)
        if wallet is None:
            raise ref.not_found()
        wallets.append(wallet)
    return wallets


def _investor_totals(token: TokenClass, investor_ids: list) -> dict:
    """Each investor's holding in this token, summed over all their wallets: one grouped query."""
    rows = (
        Account.objects.filter(token_class=token, kind=AccountKind.HOLDER, wallet__investor_id__in=investor_ids)
        .values("wallet__investor_id")
        .annotate(total=Sum("balance"))
        .order_by()
    )
    totals = {row["wallet__investor_id"]: row["total"] for row in rows}
    return {investor_id: totals.get(investor_id) or Decimal(0) for investor_id in investor_ids}


def _sender_windows(*, token: TokenClass, investor_id: Any, rules: TransferRules, now: Any) -> tuple[Decimal, Decimal]:
    """(received within the lock-up days, sent by transfer within the velocity window) by the sending investor
    over all their wallets in this token, only when those rules are on. Read from the entries, which name both
    wallets and carry the amount of their legs (indexes ledger_entry_received_idx and ledger_entry_sent_idx); the
    database path (tokenization_transfer_facts) sums the same way."""
    received = sent = Decimal(0)
    entries = LedgerEntry.objects.filter(token_class=token)
    if rules.lockup_days:
        since = now - timedelta(days=rules.lockup_days)
        mine = entries.filter(created_at__gt=since, to_wallet__investor_id=investor_id)
        received = mine.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    if rules.velocity_limit is not None:
        since = now - timedelta(hours=rules.velocity_window_hours)
        mine = entries.filter(kind=EntryKind.TRANSFER, created_at__gt=since, from_wallet__investor_id=investor_id)
        sent = mine.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return received, sent


def _party(*, wallet: Wallet, account: Account | None, total: Decimal, windows: tuple[Decimal, Decimal]) -> Party:
    investor = wallet.investor
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
        investor_total=total,
        locked_by_receipt=windows[0],
        sent_in_window=windows[1],
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


def _holder_count_changes(*, sender: Wallet | None, receiver: Wallet | None, totals: dict, amount: Decimal) -> bool:
    """Whether this movement makes an investor a holder or leaves one holding nothing (the max-holders rule's only
    inputs that a movement can change)."""
    same = sender is not None and receiver is not None and sender.investor_id == receiver.investor_id
    if same:
        return False
    joins = receiver is not None and totals[receiver.investor_id] == 0
    leaves = sender is not None and totals[sender.investor_id] == amount
    return joins or leaves


def _evaluate(
    *,
    token_id: Any,
    mode: Mode,
    sender: WalletRef | None,
    receiver: WalletRef | None,
    amount: Decimal,
    caller: AbstractBaseUser | Actor,
    lock: bool,
) -> tuple[Decision, _Locked]:
    """Reads (and, to execute, locks) everything the rules look at, then asks the rule engine.

    Lock order, the same for every movement: the investors involved, then their accounts, each in primary-key
    order; then the token class row, only for mint and burn (the supply changes) and for a movement that changes
    the number of holders while a max-holders rule is on (so two such movements cannot both pass the limit); the
    audit chain head last. Movements between existing holders of a token therefore run in parallel.

    Every row lock is FOR NO KEY UPDATE (`no_key=True`), as everywhere in the services: the rows' keys never change,
    and the foreign keys of rows this transaction inserts (entry → token class, wallets) are checked at COMMIT,
    after the audit head is held, with FOR KEY SHARE, which FOR UPDATE would block (a deadlock with a mint holding
    the token row and waiting for the audit head) and FOR NO KEY UPDATE does not."""
    named = _parties([ref for ref in (sender, receiver) if ref is not None], lock=lock)  # under the investor locks
    sender_wallet = named.pop(0) if sender is not None else None
    receiver_wallet = named.pop(0) if receiver is not None else None
    sender, receiver = sender_wallet, receiver_wallet
    wallets = [w for w in (sender, receiver) if w is not None]
    token = _token(token_id, lock=False)
    rules = _rules(token)
    if lock:
        accounts = _lock_accounts(token=token, wallets=wallets, issuance=mode in (Mode.MINT, Mode.BURN))
    else:
        accounts = {
            a.pk: a
            for a in Account.objects.filter(
                token_class=token, kind=AccountKind.HOLDER, wallet__in=[w.pk for w in wallets]
            )
        }

    def account_of(wallet: Wallet | None) -> Account | None:
        return next((a for a in accounts.values() if wallet and a.wallet_id == wallet.pk), None)

    now = timezone.now()
    totals = _investor_totals(token, sorted({w.investor_id for w in wallets}))
    holders_change = _holder_count_changes(sender=sender, receiver=receiver, totals=totals, amount=amount)
    if lock and (mode in (Mode.MINT, Mode.BURN) or (rules.max_holders is not None and holders_change)):
        token = _token(token_id, lock=True)  # supply, or the holder count, must not change under us
    windows = (Decimal(0), Decimal(0))
    if sender is not None and mode == Mode.TRANSFER:
        windows = _sender_windows(token=token, investor_id=sender.investor_id, rules=rules, now=now)
    sender_account, receiver_account = account_of(sender), account_of(receiver)
    facts = Facts(
        mode=mode,
        token_status=token.status,
        total_supply=token.total_supply,
        max_supply=token.max_supply,
        amount=amount,
        rules=rules,
        now=now,
        sender=_party(wallet=sender, account=sender_account, total=totals[sender.investor_id], windows=windows)
        if sender
        else None,
        receiver=_party(wallet=receiver, account=receiver_account, total=totals[receiver.investor_id], windows=(0, 0))
        if receiver
        else None,
        caller_owns_sender=_caller_owns(caller, sender) if mode == Mode.TRANSFER else True,
        holders_count=_holders_count(token) if rules.max_holders is not None and holders_change else 0,
    )
    issuance = next((a for a in accounts.values() if a.kind == AccountKind.ISSUANCE), None)
    return decide(facts), _Locked(token, sender_account, receiver_account, issuance, sender, receiver)


def transfer_check(
    *, caller: AbstractBaseUser, token_id: Any, from_wallet: Any, to_wallet: Any, amount: Any
) -> Decision:
    """The dry run: exactly the transfer's evaluation, without locks and without writing anything."""
    sender = wallet_ref(from_wallet, field="from_wallet")
    receiver = wallet_ref(to_wallet, field="to_wallet")
    value = parse_amount(amount)
    if transfer_sql_enabled():
        return transfer_check_sql(caller=caller, token_id=token_id, sender=sender, receiver=receiver, amount=value)
    decision, _ = _evaluate(
        token_id=token_id, mode=Mode.TRANSFER, sender=sender, receiver=receiver, amount=value, caller=caller, lock=False
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
    sender: WalletRef | None,
    receiver: WalletRef | None,
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
    sender, receiver = locked.sender, locked.receiver  # the wallets, as read under the locks
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
    entry.from_wallet, entry.to_wallet = sender, receiver  # already read: the answer names them without a query
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


def token_transfer(
    *,
    caller: AbstractBaseUser,
    token_id: Any,
    from_wallet: Any,
    to_wallet: Any,
    amount: Any,
    answer: AnswerSlot | None = None,
) -> LedgerEntry:
    """Moves `amount` between two wallets when every rule allows it; otherwise 422 with the decision. On
    PostgreSQL in two database calls (transfer_sql), storing the idempotent `answer` with the effect."""
    require_role(caller, Role.OPERATOR, Role.COMPLIANCE, Role.INVESTOR)
    sender = wallet_ref(from_wallet, field="from_wallet")
    receiver = wallet_ref(to_wallet, field="to_wallet")
    with service_atomic():
        if transfer_sql_enabled():
            return token_transfer_sql(
                caller=caller, token_id=token_id, sender=sender, receiver=receiver, amount=parse_amount(amount),
                answer=answer,
            )  # fmt: skip
        return _move(
            mode=Mode.TRANSFER, caller=caller, token_id=token_id, sender=sender, receiver=receiver, amount=amount,
            reason="",
        )  # fmt: skip


def token_transfer_claims_key() -> bool:
    """Whether token_transfer claims the request's Idempotency-Key itself (AnswerSlot.service_claims): on its
    database path, in its first call."""
    return transfer_sql_enabled()


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
        sender=wallet_ref(from_wallet, field="from_wallet"),
        receiver=wallet_ref(to_wallet, field="to_wallet"),
        amount=amount,
        reason=reason,
    )


@transaction.atomic
def token_mint(
    *, caller: AbstractBaseUser | Actor, token_id: Any, to_wallet: Any, amount: Any, reason: str = ""
) -> LedgerEntry:
    """Issues new supply to a wallet whose investor the receiver-side rules admit."""
    require_role(caller, Role.OPERATOR)
    receiver = wallet_ref(to_wallet, field="to_wallet")
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
    sender = wallet_ref(from_wallet, field="from_wallet")
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
