"""Tokenization reads, scoped to what the reading user may see."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet, Sum

from assets.models import AssetStatus
from audit.models import AuditEvent
from rwa_service.accounts.roles import STAFF_READERS, Role, user_has_role
from tokenization.models import (
    Account,
    AccountKind,
    EntryKind,
    Investor,
    LedgerEntry,
    LedgerLeg,
    Operation,
    TokenClass,
    Wallet,
)

User = AbstractBaseUser | AnonymousUser


def _investor_of(user: User) -> Investor | None:
    if not user or not user.is_authenticated:
        return None
    return Investor.objects.filter(user_id=user.pk).first()


def investor_id_of(*, user: User) -> Any:
    """The id of the investor record linked to a user, or None."""
    investor = _investor_of(user)
    return investor.pk if investor else None


def token_list(*, user: User) -> QuerySet[TokenClass]:
    """Staff read every class; an investor reads classes of tokenized assets and those they hold."""
    tokens = TokenClass.objects.select_related("asset")
    if user_has_role(user, *STAFF_READERS):
        return tokens
    if user_has_role(user, Role.INVESTOR):
        investor = _investor_of(user)
        held = Q(accounts__wallet__investor=investor, accounts__balance__gt=0) if investor else Q(pk__in=[])
        return tokens.filter(Q(asset__status=AssetStatus.TOKENIZED) | held).distinct()
    return tokens.none()


def investor_list(*, user: User) -> QuerySet[Investor]:
    """Compliance and auditors read the registry; an investor reads only their own record."""
    investors = Investor.objects.select_related("user")
    if user_has_role(user, Role.COMPLIANCE, Role.AUDITOR):
        return investors
    if user_has_role(user, Role.INVESTOR):
        return investors.filter(user_id=user.pk)
    return investors.none()


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    return Wallet.objects.filter(investor__in=investor_list(user=user)).select_related("investor")


def can_read_pii(*, user: User, investor: Investor) -> bool:
    """PII is for compliance and the investor themself."""
    return user_has_role(user, Role.COMPLIANCE) or (investor.user_id is not None and investor.user_id == user.pk)


def transfer_list(*, user: User, token: TokenClass) -> QuerySet[LedgerEntry]:
    """A token's ledger entries; an investor sees only those touching their wallets."""
    entries = LedgerEntry.objects.filter(token_class=token).select_related("from_wallet", "to_wallet")
    if user_has_role(user, *STAFF_READERS):
        return entries.order_by("-id")
    investor = _investor_of(user)
    if investor is None:
        return entries.none()
    mine = Q(from_wallet__investor=investor) | Q(to_wallet__investor=investor)
    return entries.filter(mine).order_by("-id")


def cap_table(
    *, user: User, token: TokenClass, as_of_seq: int | None = None, as_of_time: datetime | None = None
) -> list[dict[str, Any]]:
    """Holders with their balances, now or as of a ledger sequence or a time (rebuilt from the legs). An investor
    sees only their own rows."""
    accounts = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER)
    if not user_has_role(user, *STAFF_READERS):
        investor = _investor_of(user)
        accounts = accounts.filter(wallet__investor=investor) if investor else accounts.none()
    rows = accounts.select_related("wallet").order_by("wallet__address")
    if as_of_seq is None and as_of_time is None:
        return [
            {"wallet": r.wallet.address, "wallet_id": str(r.wallet_id), "investor": str(r.wallet.investor_id),
             "balance": r.balance, "frozen_amount": r.frozen_amount}
            for r in rows if r.balance > 0
        ]  # fmt: skip
    legs = LedgerLeg.objects.filter(account__in=accounts)
    if as_of_seq is not None:
        legs = legs.filter(entry_id__lte=as_of_seq)
    if as_of_time is not None:
        legs = legs.filter(entry__created_at__lte=as_of_time)
    totals = dict(legs.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    return [
        {"wallet": r.wallet.address, "wallet_id": str(r.wallet_id), "investor": str(r.wallet.investor_id),
         "balance": totals[r.pk], "frozen_amount": None}
        for r in rows if totals.get(r.pk, 0) > 0
    ]  # fmt: skip


def token_supply(*, token: TokenClass, as_of_seq: int | None = None, as_of_time: datetime | None = None) -> Decimal:
    """The class's total supply, now or as it stood at a ledger sequence or a time (from the issuance legs)."""
    if as_of_seq is None and as_of_time is None:
        return token.total_supply
    legs = LedgerLeg.objects.filter(account__token_class=token, account__kind=AccountKind.ISSUANCE)
    if as_of_seq is not None:
        legs = legs.filter(entry_id__lte=as_of_seq)
    if as_of_time is not None:
        legs = legs.filter(entry__created_at__lte=as_of_time)
    return -(legs.aggregate(total=Sum("amount"))["total"] or Decimal(0))


def asset_outstanding_supply(*, asset_id: Any) -> Decimal:
    """Units of every class over the asset still in holders' hands."""
    total = TokenClass.objects.filter(asset_id=asset_id).aggregate(total=Sum("total_supply"))["total"]
    return total or Decimal(0)


def operation_list(*, user: User) -> QuerySet[Operation]:
    """Operations are read by the staff roles."""
    return Operation.objects.all() if user_has_role(user, *STAFF_READERS) else Operation.objects.none()


def cap_table_rebuilt(
    *, token_id: object, as_of_seq: int | None = None, as_of_time: datetime | None = None
) -> dict[str, Decimal]:
    """Balances by wallet id as they stood after the last audit event at or before `as_of_seq` (or `as_of_time`),
    rebuilt from the audit trail alone: each ledger event of the class (its entry: kind, amount, wallets) and each
    wallet recovery that moved the class's units. Wallets at zero are left out. Compare with cap_table_balances."""
    events = AuditEvent.objects.filter(
        Q(object_type="token", object_id=str(token_id), after__kind__in=EntryKind.values) | Q(action="wallet.recovered")
    ).order_by("seq")
    if as_of_seq is not None:
        events = events.filter(seq__lte=as_of_seq)
    if as_of_time is not None:
        events = events.filter(occurred_at__lte=as_of_time)
    balances: dict[str, Decimal] = {}

    def move(source: str | None, target: str | None, amount: Decimal) -> None:
        if source:
            balances[source] = balances.get(source, Decimal(0)) - amount
        if target:
            balances[target] = balances.get(target, Decimal(0)) + amount

    for action, after in events.values_list("action", "after").iterator(chunk_size=2000):
        if action == "wallet.recovered":
            for moved in after.get("moved", []):
                if moved["token"] == str(token_id):
                    move(after["lost"]["id"], after["new"]["id"], Decimal(moved["amount"]))
            continue
        amount = Decimal(after["amount"])
        move(after.get("from_wallet"), after.get("to_wallet"), amount)
    return {wallet: balance for wallet, balance in balances.items() if balance != 0}


def cap_table_balances(*, token: TokenClass) -> dict[str, Decimal]:
    """The live balances by wallet id (holders with a balance), in the form cap_table_rebuilt gives."""
    accounts = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER, balance__gt=0)
    return {str(wallet_id): balance for wallet_id, balance in accounts.values_list("wallet_id", "balance")}
