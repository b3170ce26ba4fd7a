"""Valuation writes: record, approve and reject. Each runs in one transaction with its one audit event.

Lock order: the asset row (FOR NO KEY UPDATE), then its valuations. A new current valuation is also noted on the
asset row (`current_valuation_ref`, not part of the asset's audited fields or its version): the asset's ETag and
cached representation follow it (assets.selectors.asset_revision) without a join.
"""

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assets.models import Asset
from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import Conflict, NotFound, PermissionRefused, ValidationFailed
from valuation.feeds import price_source
from valuation.methods import method_for
from valuation.methods.base import PriceSource
from valuation.models import RevaluationRun, Valuation, ValuationStatus
from valuation.snapshots import valuation_snapshot


def _require_valuer(actor: AbstractBaseUser | Actor) -> None:
    if isinstance(actor, Actor):
        return  # system work (revaluation runs) is authorised by whoever started it
    if not user_has_role(actor, Role.VALUER):
        raise PermissionRefused("This action needs the valuer role.")


def _locked_asset(asset_id: Any) -> Asset:
    return one_or_not_found(Asset.objects.select_for_update(no_key=True), "No such asset.", pk=asset_id)


def _check_as_of(as_of: date) -> None:
    if as_of > timezone.localdate():
        raise ValidationFailed("A valuation cannot be dated in the future.", errors={"as_of": ["Not in the future."]})


def _make_current(*, asset: Asset, valuation: Valuation) -> None:
    """Approves `valuation`: it becomes the asset's current valuation unless the current one is dated later (then
    it is recorded as approved and at once superseded, so the current one stays the latest approved)."""
    current = Valuation.objects.filter(asset=asset, status=ValuationStatus.APPROVED).first()
    valuation.approved_at = timezone.now()
    if current is not None and current.as_of > valuation.as_of:
        valuation.status = ValuationStatus.SUPERSEDED
        return
    if current is not None:
        current.status = ValuationStatus.SUPERSEDED
        current.save(update_fields=["status", "updated_at"])
    valuation.status = ValuationStatus.APPROVED
    Asset.objects.filter(pk=asset.pk).update(current_valuation_ref=valuation.pk)  # the row is locked: see docstring


@transaction.atomic
def valuation_record(
    *,
    actor: AbstractBaseUser | Actor,
    asset_id: Any,
    method: str,
    as_of: date,
    inputs: dict[str, Any],
    run: RevaluationRun | None = None,
    prices: PriceSource | None = None,
) -> Valuation:
    """Records a valuation by `method`. A manual one (appraisal) waits as a draft for a second valuer; a computed
    one is approved at once and becomes current (if it is the latest). `run` names the revaluation run that made
    an automatic one (runs pass their own price source, shared across a chunk)."""
    _require_valuer(actor)
    _check_as_of(as_of)
    chosen = method_for(method)
    if run is not None and chosen.manual:
        raise ValidationFailed("A revaluation run cannot record a manual valuation.", errors={"method": [method]})
    asset = _locked_asset(asset_id)
    cleaned = chosen.validate(inputs or {}, asset=asset)
    computed = chosen.compute(asset=asset, as_of=as_of, inputs=cleaned, prices=prices or price_source())
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    valuation = Valuation(
        asset=asset,
        method=chosen.code,
        value=computed.value,
        currency=computed.currency,
        as_of=as_of,
        inputs=computed.inputs,
        recorded_by_id=who.user_id,
        recorded_by_name=who.name,
        run=run,
    )
    if not chosen.manual:
        _make_current(asset=asset, valuation=valuation)
    valuation.save(force_insert=True)
    audit_event_record(
        actor=who,
        action="valuation.recorded",
        object_type="valuation",
        object_id=valuation.pk,
        before=None,
        after=valuation_snapshot(valuation),
    )
    return valuation


def _locked_draft(*, valuation_id: Any) -> tuple[Asset, Valuation]:
    found = Valuation.objects.filter(pk=valuation_id).values_list("asset_id", flat=True).first()
    if found is None:
        raise NotFound("No such valuation.")
    asset = _locked_asset(found)
    valuation = Valuation.objects.select_for_update(no_key=True).get(pk=valuation_id)
    if valuation.status != ValuationStatus.DRAFT:
        raise Conflict(f"The valuation is {valuation.status}, not a draft.", code="valuation_not_draft")
    return asset, valuation


def _check_not_recorder(*, actor: AbstractBaseUser, valuation: Valuation, verb: str) -> None:
    if valuation.recorded_by_id == actor.pk:
        raise PermissionRefused(f"Maker-checker: the recorder cannot {verb} their own valuation.", code="maker_checker")


@transaction.atomic
def valuation_approve(*, actor: AbstractBaseUser, valuation_id: Any) -> Valuation:
    """A second valuer approves a draft: it supersedes the asset's current valuation (when it is not older)."""
    _require_valuer(actor)
    asset, valuation = _locked_draft(valuation_id=valuation_id)
    _check_not_recorder(actor=actor, valuation=valuation, verb="approve")
    before = valuation_snapshot(valuation)
    valuation.approved_by = actor
    _make_current(asset=asset, valuation=valuation)
    valuation.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    audit_event_record(
        actor=Actor.of(actor),
        action="valuation.approved",
        object_type="valuation",
        object_id=valuation.pk,
        before=before,
        after=valuation_snapshot(valuation),
    )
    return valuation


@transaction.atomic
def valuation_reject(*, actor: AbstractBaseUser, valuation_id: Any, reason: str) -> Valuation:
    """A second valuer rejects a draft, with a reason; it stays in the history."""
    _require_valuer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A rejection needs a reason.", errors={"reason": ["This field is required."]})
    _, valuation = _locked_draft(valuation_id=valuation_id)
    _check_not_recorder(actor=actor, valuation=valuation, verb="reject")
    before = valuation_snapshot(valuation)
    valuation.status, valuation.status_reason = ValuationStatus.REJECTED, reason
    valuation.save(update_fields=["status", "status_reason", "updated_at"])
    audit_event_record(
        actor=Actor.of(actor),
        action="valuation.rejected",
        object_type="valuation",
        object_id=valuation.pk,
        before=before,
        after=valuation_snapshot(valuation),
        reason=reason,
    )
    return valuation
