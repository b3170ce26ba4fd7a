"""Valuation policies: how an asset is revalued automatically (its method and inputs)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from audit.services import Actor, audit_event_record
from rwa_service.exceptions import NotFound, ValidationFailed
from valuation.methods import method_for
from valuation.models import ValuationPolicy
from valuation.services.valuations import _locked_asset, _require_valuer


def _snapshot(policy: ValuationPolicy | None) -> dict[str, Any] | None:
    return None if policy is None else {"asset": str(policy.asset_id), "method": policy.method, "inputs": policy.inputs}


@transaction.atomic
def valuation_policy_set(
    *, actor: AbstractBaseUser | Actor, asset_id: Any, method: str, inputs: dict[str, Any]
) -> ValuationPolicy:
    """Sets (or replaces) the asset's policy; the method must compute (not a manual appraisal) and its inputs are
    validated by the method now, not first at the nightly run."""
    _require_valuer(actor)
    chosen = method_for(method)
    if chosen.manual:
        raise ValidationFailed(
            "A revaluation policy needs a computed method, not a manual one.", errors={"method": [method]}
        )
    asset = _locked_asset(asset_id)
    cleaned = chosen.validate(inputs or {}, asset=asset)
    current = ValuationPolicy.objects.filter(asset=asset).first()
    before = _snapshot(current)
    policy, _ = ValuationPolicy.objects.update_or_create(
        asset=asset, defaults={"method": chosen.code, "inputs": cleaned}
    )
    audit_event_record(
        actor=actor if isinstance(actor, Actor) else Actor.of(actor), action="valuation_policy.set",
        object_type="valuation_policy", object_id=asset.pk, before=before, after=_snapshot(policy),
    )  # fmt: skip
    return policy


@transaction.atomic
def valuation_policy_remove(*, actor: AbstractBaseUser | Actor, asset_id: Any) -> None:
    """Removes the asset's policy: runs no longer revalue it."""
    _require_valuer(actor)
    asset = _locked_asset(asset_id)
    policy = ValuationPolicy.objects.filter(asset=asset).first()
    if policy is None:
        raise NotFound("The asset has no valuation policy.")
    before = _snapshot(policy)
    policy.delete()
    audit_event_record(
        actor=actor if isinstance(actor, Actor) else Actor.of(actor), action="valuation_policy.removed",
        object_type="valuation_policy", object_id=asset.pk, before=before, after=None,
    )  # fmt: skip
