"""Investors and wallets: registry, KYC, erasure, wallets, freezes and lost-wallet recovery."""

from decimal import Decimal
from typing import Any

import pycountry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import Conflict, IllegalTransition, NotFound, ValidationFailed
from tokenization.gateways import chain_gateway
from tokenization.models import (
    Account,
    AccountKind,
    Accreditation,
    EntryKind,
    Investor,
    InvestorType,
    KycStatus,
    LedgerEntry,
    LedgerLeg,
    TokenClass,
    Wallet,
    WalletStatus,
)
from tokenization.services.common import actor_of, checksum_address, parse_amount, require_role
from tokenization.snapshots import investor_snapshot, wallet_snapshot

INVESTOR_FIELDS = (
    "type",
    "legal_name",
    "email",
    "tax_id",
    "country",
    "kyc_status",
    "kyc_expires_at",
    "accreditation",
    "user",
)
COMPLIANCE_ONLY = ("kyc_status", "kyc_expires_at", "accreditation")


def investor_values_errors(*, values: dict[str, Any], investor_id: Any = None) -> dict[str, list[str]]:
    """Every problem with investor fields, by field; empty when valid (the admin shows them on its form)."""
    try:
        _clean(values, creating=investor_id is None, investor_id=investor_id)
    except ValidationFailed as exc:
        return exc.errors or {}
    return {}


def _clean(values: dict[str, Any], *, creating: bool, investor_id: Any = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {field: ["Unknown field."] for field in sorted(set(values) - set(INVESTOR_FIELDS))}
    cleaned = {key: value for key, value in values.items() if key in INVESTOR_FIELDS}
    if creating:
        for field in ("type", "legal_name", "country"):
            if not cleaned.get(field):
                errors[field] = ["This field is required."]
    if "type" in cleaned and cleaned["type"] not in InvestorType.values:
        errors["type"] = [f"One of {', '.join(InvestorType.values)}."]
    if "legal_name" in cleaned and not str(cleaned["legal_name"] or "").strip():
        errors["legal_name"] = ["This field may not be blank."]
    if "country" in cleaned:
        code = str(cleaned["country"] or "").upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            errors["country"] = ["An ISO 3166-1 alpha-2 country code."]
        cleaned["country"] = code
    if "kyc_status" in cleaned and cleaned["kyc_status"] not in KycStatus.values:
        errors["kyc_status"] = [f"One of {', '.join(KycStatus.values)}."]
    if "accreditation" in cleaned and cleaned["accreditation"] not in Accreditation.values:
        errors["accreditation"] = [f"One of {', '.join(Accreditation.values)}."]
    if cleaned.get("user") is not None:
        user = get_user_model().objects.filter(pk=getattr(cleaned["user"], "pk", cleaned["user"])).first()
        if user is None or not user_has_role(user, Role.INVESTOR):
            errors["user"] = ["The linked user must exist and hold the investor role."]
        elif Investor.objects.filter(user=user).exclude(pk=investor_id).exists():
            errors["user"] = ["This user is already linked to an investor."]
        cleaned["user"] = user
    if errors:
        raise ValidationFailed("The investor is invalid.", errors=errors)
    return cleaned


@transaction.atomic
def investor_create(*, actor: AbstractBaseUser, values: dict[str, Any]) -> Investor:
    """Registers an investor; KYC status, expiry and accreditation are set by compliance only."""
    require_role(actor, Role.COMPLIANCE)
    investor = Investor.objects.create(**_clean(values, creating=True))
    audit_event_record(
        actor=actor_of(actor),
        action="investor.created",
        object_type="investor",
        object_id=investor.pk,
        before=None,
        after=investor_snapshot(investor),
    )
    return investor


def _locked_investor(investor_id: Any) -> Investor:
    return one_or_not_found(Investor.objects.select_for_update(no_key=True), "No such investor.", pk=investor_id)


@transaction.atomic
def investor_update(*, actor: AbstractBaseUser, investor_id: Any, values: dict[str, Any]) -> Investor:
    """Compliance edits an investor, KYC included; each change is one audited event."""
    require_role(actor, Role.COMPLIANCE)
    investor = _locked_investor(investor_id)
    if investor.erased_at is not None:
        raise IllegalTransition("This investor's data was erased.", code="investor_erased")
    before = investor_snapshot(investor)
    for field, value in _clean(values, creating=False, investor_id=investor.pk).items():
        setattr(investor, field, value)
    investor.save()
    audit_event_record(
        actor=actor_of(actor),
        action="investor.updated",
        object_type="investor",
        object_id=investor.pk,
        before=before,
        after=investor_snapshot(investor),
    )
    return investor


@transaction.atomic
def investor_erase(*, actor: AbstractBaseUser, investor_id: Any, reason: str) -> Investor:
    """Erasure on request: PII becomes a pseudonym; wallets, balances and the ledger stay intact."""
    require_role(actor, Role.COMPLIANCE)
    if not (reason or "").strip():
        raise ValidationFailed("Erasure needs a reason.", errors={"reason": ["This field is required."]})
    investor = _locked_investor(investor_id)
    if investor.erased_at is not None:
        raise IllegalTransition("This investor's data was already erased.", code="investor_erased")
    before = investor_snapshot(investor)
    investor.legal_name = f"erased-{str(investor.pk)[:8]}"
    investor.email = investor.tax_id = ""
    investor.erased_at = timezone.now()
    investor.save()
    audit_event_record(
        actor=actor_of(actor),
        action="investor.erased",
        object_type="investor",
        object_id=investor.pk,
        before=before,
        after=investor_snapshot(investor),
        reason=reason.strip(),
    )
    return investor


def investors_expire_kyc() -> int:
    """KYC whose expiry has passed becomes `expired`, one audited event per investor. Returns the count."""
    now, count = timezone.now(), 0
    ids = Investor.objects.filter(kyc_status=KycStatus.VERIFIED, kyc_expires_at__lte=now).values_list("pk", flat=True)
    for investor_id in list(ids):
        with transaction.atomic():
            investor = Investor.objects.select_for_update(no_key=True).get(pk=investor_id)
            if (
                investor.kyc_status != KycStatus.VERIFIED
                or not investor.kyc_expires_at
                or investor.kyc_expires_at > now
            ):
                continue
            before = investor_snapshot(investor)
            investor.kyc_status = KycStatus.EXPIRED
            investor.save(update_fields=["kyc_status", "updated_at"])
            audit_event_record(
                actor=Actor.system("expire_kyc"),
                action="investor.kyc_expired",
                object_type="investor",
                object_id=investor.pk,
                before=before,
                after=investor_snapshot(investor),
            )
            count += 1
    return count


@transaction.atomic
def wallet_create(*, actor: AbstractBaseUser, investor_id: Any, address: str) -> Wallet:
    """Registers a wallet of an investor (address stored EIP-55 checksummed)."""
    require_role(actor, Role.COMPLIANCE)
    investor = _locked_investor(investor_id)
    checksummed = checksum_address(address)
    if Wallet.objects.filter(address=checksummed).exists():
        raise Conflict("This address is already registered.", code="wallet_exists")
    wallet = Wallet.objects.create(investor=investor, address=checksummed)
    audit_event_record(
        actor=actor_of(actor),
        action="wallet.created",
        object_type="wallet",
        object_id=wallet.pk,
        before=None,
        after=wallet_snapshot(wallet),
    )
    return wallet


def _locked_wallet(wallet_id: Any) -> Wallet:
    return one_or_not_found(Wallet.objects.select_for_update(no_key=True), "No such wallet.", pk=wallet_id)


@transaction.atomic
def wallet_set_frozen(
    *,
    actor: AbstractBaseUser,
    wallet_id: Any,
    frozen: bool,
    token_id: Any = None,
    amount: Any = None,
    reason: str = "",
) -> Wallet:
    """Freezes or unfreezes a whole wallet, or (with a token and an amount) part of its holding in that token."""
    require_role(actor, Role.COMPLIANCE)
    wallet = _locked_wallet(wallet_id)
    before = wallet_snapshot(wallet)
    after_extra: dict[str, Any] = {}
    if token_id is None:
        if wallet.frozen == frozen:
            raise IllegalTransition(f"The wallet is already {'frozen' if frozen else 'not frozen'}.", code="no_change")
        wallet.frozen = frozen
        wallet.save(update_fields=["frozen", "updated_at"])
    else:
        value = parse_amount(amount)
        token = TokenClass.objects.filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such token class.")
        account = Account.objects.select_for_update(no_key=True).filter(token_class=token, wallet=wallet).first()
        current = account.frozen_amount if account else Decimal(0)
        target = current + value if frozen else current - value
        if account is None or target < 0 or target > account.balance:
            held = account.balance if account else 0
            raise Conflict(
                f"Cannot {'freeze' if frozen else 'unfreeze'} {value}: the wallet holds {held}, {current} frozen.",
                code="freeze_out_of_range",
            )
        before["frozen_amount"] = str(current)
        account.frozen_amount = target
        account.save(update_fields=["frozen_amount", "updated_at"])
        after_extra = {"token": str(token.pk), "frozen_amount": str(target)}
    chain_gateway().freeze(
        token_id=str(token_id) if token_id else None,
        address=wallet.address,
        amount=parse_amount(amount) if token_id is not None else None,
        frozen=frozen,
    )
    audit_event_record(
        actor=actor_of(actor),
        action="wallet.frozen" if frozen else "wallet.unfrozen",
        object_type="wallet",
        object_id=wallet.pk,
        before=before,
        after=wallet_snapshot(wallet) | after_extra,
        reason=(reason or "").strip(),
    )
    return wallet


@transaction.atomic
def wallet_recover(
    *, actor: AbstractBaseUser, investor_id: Any, lost_wallet_id: Any, new_address: str, reason: str
) -> Wallet:
    """Moves every balance, frozen amount and flag of a lost wallet to a new wallet of the same investor, in
    one audited event (one `recovery` ledger entry per token class)."""
    require_role(actor, Role.COMPLIANCE)
    if not (reason or "").strip():
        raise ValidationFailed("Recovery needs a reason.", errors={"reason": ["This field is required."]})
    investor = _locked_investor(investor_id)
    lost = _locked_wallet(lost_wallet_id)
    if lost.investor_id != investor.pk:
        raise NotFound("No such wallet for this investor.")
    if lost.status == WalletStatus.LOST:
        raise IllegalTransition("This wallet was already recovered.", code="wallet_already_recovered")
    address = checksum_address(new_address, field="new_address")
    new = Wallet.objects.filter(address=address).first()
    if new is not None and new.investor_id != investor.pk:
        raise Conflict("That address belongs to another investor.", code="wallet_exists")
    new = new or Wallet.objects.create(investor=investor, address=address)
    before = {"lost": wallet_snapshot(lost), "new": wallet_snapshot(new)}
    moved = []
    accounts = Account.objects.select_for_update(no_key=True).filter(
        wallet=lost, kind=AccountKind.HOLDER, balance__gt=0
    )
    for source in accounts.order_by("pk"):
        target, _ = Account.objects.get_or_create(token_class=source.token_class, wallet=new, kind=AccountKind.HOLDER)
        target = Account.objects.select_for_update(no_key=True).get(pk=target.pk)
        entry = LedgerEntry.objects.create(
            token_class=source.token_class,
            kind=EntryKind.RECOVERY,
            amount=source.balance,
            from_wallet=lost,
            to_wallet=new,
            actor=actor_of(actor).name,
            reason=reason.strip(),
            settlement_ref=chain_gateway().name,
        )
        LedgerLeg.objects.bulk_create(
            [
                LedgerLeg(entry=entry, account=source, amount=-source.balance),
                LedgerLeg(entry=entry, account=target, amount=source.balance),
            ]
        )
        moved.append({"token": str(source.token_class_id), "amount": str(source.balance),
                      "frozen_amount": str(source.frozen_amount), "seq": entry.pk})  # fmt: skip
        target.balance += source.balance
        target.frozen_amount += source.frozen_amount
        source.balance = source.frozen_amount = Decimal(0)
        for account in sorted((source, target), key=lambda a: a.pk):
            account.save(update_fields=["balance", "frozen_amount", "updated_at"])
    new.frozen = new.frozen or lost.frozen
    new.save(update_fields=["frozen", "updated_at"])
    lost.status, lost.recovered_to = WalletStatus.LOST, new
    lost.save(update_fields=["status", "recovered_to", "updated_at"])
    audit_event_record(
        actor=actor_of(actor),
        action="wallet.recovered",
        object_type="investor",
        object_id=investor.pk,
        before=before,
        after={"lost": wallet_snapshot(lost), "new": wallet_snapshot(new), "moved": moved},
        reason=reason.strip(),
    )
    return new


def investors_rotate_pii(*, chunk_size: int = 500) -> int:
    """Re-encrypts every investor's PII under the newest PII_ENCRYPTION_KEYS key (the older keys can then be
    dropped). Records one `pii.rotated` event per chunk; returns how many investors were rewritten."""
    done = 0
    ids = list(Investor.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        with transaction.atomic():
            for investor in Investor.objects.select_for_update(no_key=True).filter(pk__in=chunk).order_by("pk"):
                investor.save(update_fields=["legal_name", "email", "tax_id"])  # decrypted on load, encrypted anew
            audit_event_record(
                actor=Actor.system("rotate_pii_keys"),
                action="pii.rotated",
                object_type="investor",
                object_id="*",
                before=None,
                after={"investors": len(chunk), "first": str(chunk[0]), "last": str(chunk[-1])},
            )
        done += len(chunk)
    return done
