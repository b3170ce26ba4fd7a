"""Token classes: tokenize an approved asset (as an operation), rules, pause/unpause, retire."""

import re
from typing import Any

import pycountry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from assets.models import Asset, AssetStatus
from audit.services import audit_event_record
from rwa_service.accounts.roles import Role
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import Conflict, IllegalTransition, ValidationFailed
from tokenization.gateways import chain_gateway
from tokenization.models import Account, AccountKind, Operation, OperationKind, TokenClass, TokenStatus, TransferRules
from tokenization.models.investor import Accreditation
from tokenization.services.common import actor_of, parse_amount, require_role
from tokenization.snapshots import rules_snapshot, token_snapshot

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
RULE_FIELDS = (
    "require_kyc",
    "min_accreditation",
    "allowed_countries",
    "blocked_countries",
    "max_holders",
    "max_balance_amount",
    "max_balance_percent",
    "lockup_until",
    "lockup_days",
    "velocity_limit",
    "velocity_window_hours",
)


def _countries(values: Any, field: str, errors: dict) -> list[str]:
    if not isinstance(values, list):
        errors[field] = ["A list of ISO 3166-1 alpha-2 codes."]
        return []
    codes = [str(value).upper() for value in values]
    bad = [code for code in codes if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None]
    if bad:
        errors[field] = [f"Not countries: {', '.join(bad)}."]
    return sorted(set(codes))


def token_rules_errors(*, values: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with a set of transfer rules, by field; empty when valid."""
    try:
        _clean_rules(values)
    except ValidationFailed as exc:
        return exc.errors or {}
    return {}


def _clean_rules(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(RULE_FIELDS))
    errors: dict[str, list[str]] = {field: ["Unknown rule."] for field in unknown}
    cleaned = {key: value for key, value in values.items() if key in RULE_FIELDS}
    for field in ("allowed_countries", "blocked_countries"):
        if field in cleaned:
            cleaned[field] = _countries(cleaned[field], field, errors)
    if cleaned.get("min_accreditation", Accreditation.NONE) not in Accreditation.values:
        errors["min_accreditation"] = [f"One of {', '.join(Accreditation.values)}."]
    for field in ("max_balance_amount", "velocity_limit"):
        if cleaned.get(field) is not None:
            try:
                cleaned[field] = parse_amount(cleaned[field], field=field)
            except ValidationFailed as exc:
                errors.update(exc.errors or {})
    if cleaned.get("velocity_limit") is not None and not cleaned.get("velocity_window_hours"):
        errors["velocity_window_hours"] = ["A volume limit needs its window in hours."]
    if errors:
        raise ValidationFailed("The transfer rules are invalid.", errors=errors)
    return cleaned


@transaction.atomic
def token_class_tokenize(
    *,
    actor: AbstractBaseUser,
    asset_id: Any,
    symbol: str,
    name: str,
    decimals: int = 0,
    max_supply: Any = None,
    rules: dict[str, Any] | None = None,
) -> Operation:
    """Creates a pending token class over an approved (or already tokenized) asset and the operation that issues
    it; the worker is told only after this transaction commits."""
    require_role(actor, Role.OPERATOR)
    symbol = (symbol or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not _SYMBOL.match(symbol):
        errors["symbol"] = ["2-12 letters and digits, starting with a letter."]
    elif TokenClass.objects.filter(symbol=symbol).exists():
        errors["symbol"] = ["This symbol is taken."]
    if not (name or "").strip():
        errors["name"] = ["This field is required."]
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 18:
        errors["decimals"] = ["An integer from 0 to 18."]
    cap = None
    if max_supply not in (None, ""):
        try:
            cap = parse_amount(max_supply, field="max_supply")
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ValidationFailed("The token class is invalid.", errors=errors)
    cleaned_rules = _clean_rules(rules or {})
    asset = one_or_not_found(Asset.objects.select_for_update(no_key=True), "No such asset.", pk=asset_id)
    if asset.status not in (AssetStatus.APPROVED, AssetStatus.TOKENIZED):
        raise IllegalTransition(f"Only approved assets can be tokenized; this one is {asset.status}.")
    token = TokenClass.objects.create(
        asset=asset,
        symbol=symbol,
        name=name.strip(),
        decimals=decimals,
        max_supply=cap,
        created_by=actor,
        chain=chain_gateway().name,
    )
    TransferRules.objects.create(token_class=token, **cleaned_rules)
    Account.objects.create(token_class=token, kind=AccountKind.ISSUANCE)
    operation = Operation.objects.create(
        kind=OperationKind.TOKENIZE,
        inputs={"asset": str(asset.pk), "token": str(token.pk), "symbol": symbol},
        created_by=actor,
    )
    audit_event_record(
        actor=actor_of(actor),
        action="token.created",
        object_type="token",
        object_id=token.pk,
        before=None,
        after=token_snapshot(token) | {"rules": rules_snapshot(token.rules), "operation": str(operation.pk)},
    )
    from tokenization.tasks import enqueue_operation

    enqueue_operation(operation_id=operation.pk)
    return operation


def _locked_token(token_id: Any) -> TokenClass:
    return one_or_not_found(TokenClass.objects.select_for_update(no_key=True), "No such token class.", pk=token_id)


@transaction.atomic
def token_rules_set(*, actor: AbstractBaseUser, token_id: Any, rules: dict[str, Any]) -> TransferRules:
    """Replaces the token's transfer rules (fields not given return to "no limit")."""
    require_role(actor, Role.COMPLIANCE)
    token = _locked_token(token_id)
    cleaned = _clean_rules(rules)
    current, _ = TransferRules.objects.get_or_create(token_class=token)
    before = rules_snapshot(current)
    fresh = TransferRules(token_class=token, **cleaned)
    fresh.created_at = current.created_at
    fresh.save()
    audit_event_record(
        actor=actor_of(actor),
        action="token.rules_changed",
        object_type="token",
        object_id=token.pk,
        before=before,
        after=rules_snapshot(fresh),
    )
    return fresh


@transaction.atomic
def token_set_paused(*, actor: AbstractBaseUser, token_id: Any, paused: bool, reason: str = "") -> TokenClass:
    """Pauses (active → paused) or unpauses (paused → active) every transfer of the class."""
    require_role(actor, Role.COMPLIANCE)
    token = _locked_token(token_id)
    source, target = (TokenStatus.ACTIVE, TokenStatus.PAUSED) if paused else (TokenStatus.PAUSED, TokenStatus.ACTIVE)
    if token.status != source:
        raise IllegalTransition(f"Cannot {'pause' if paused else 'unpause'} a token that is {token.status}.")
    before = token_snapshot(token)
    token.status, token.status_reason = target, (reason or "").strip()
    token.save(update_fields=["status", "status_reason", "updated_at"])
    chain_gateway().pause(token_id=str(token.pk), paused=paused)
    audit_event_record(
        actor=actor_of(actor),
        action="token.paused" if paused else "token.unpaused",
        object_type="token",
        object_id=token.pk,
        before=before,
        after=token_snapshot(token),
        reason=token.status_reason,
    )
    return token


@transaction.atomic
def token_retire(*, actor: AbstractBaseUser, token_id: Any, reason: str) -> TokenClass:
    """Retires a class whose supply is zero."""
    require_role(actor, Role.OPERATOR, Role.COMPLIANCE)
    token = _locked_token(token_id)
    if token.total_supply:
        raise Conflict(f"{token.total_supply} units are outstanding; burn them first.", code="supply_outstanding")
    if token.status == TokenStatus.RETIRED:
        raise IllegalTransition("The token is already retired.")
    before = token_snapshot(token)
    token.status, token.status_reason = TokenStatus.RETIRED, (reason or "").strip()
    token.save(update_fields=["status", "status_reason", "updated_at"])
    audit_event_record(
        actor=actor_of(actor),
        action="token.retired",
        object_type="token",
        object_id=token.pk,
        before=before,
        after=token_snapshot(token),
        reason=token.status_reason,
    )
    return token
