"""A revaluation chunk valued at once: one transaction, a few set-based statements, one audit event per valuation.

The result is what valuation_record would give asset by asset (same valuations, statuses, current valuation and
audit events, in asset order) for a fraction of the round trips: the assets are locked together in primary-key
order, their policies, prior valuations and whatever the methods read (ValuationMethod.prefetches) are loaded in one
query each, the values are computed in Python, and the writes are one UPDATE of the superseded valuations, one
INSERT of the new ones, one UPDATE of the assets' current valuation and one append of their events. An asset whose
method fails is a failure with its reason; the others are valued. The chunk commits whole or not at all.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, prefetch_related_objects
from django.utils import timezone

from assets.models import Asset
from audit.services import Actor, EventDraft, audit_events_record
from rwa_service.db.lookups import AnyOf
from rwa_service.db.rows import rows_append
from rwa_service.exceptions import NotFound, ValidationFailed
from valuation.errors import ValuationError
from valuation.methods import method_for
from valuation.methods.base import PriceSource
from valuation.models import RevaluationFailure, RevaluationRun, Valuation, ValuationPolicy, ValuationStatus
from valuation.snapshots import valuation_snapshot

_BATCH = 1000  # rows per INSERT


@dataclass
class ChunkOutcome:
    """What a chunk did: assets valued now, assets found valued already, and each failure's reason by asset id."""

    valued: int = 0
    skipped: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def failure_reason(exc: ValuationError | ValidationFailed | NotFound) -> str:
    return exc.detail if not exc.errors else f"{exc.detail} {exc.errors}"


# What a revaluation reads of an asset and its policy (the methods read the type, currency and metadata): the rest of
# the row, description and audit fields included, is never loaded. A method reading another field would cost one
# query per asset; tests/valuation/test_bulk.py counts a chunk's queries for every method.
_ASSET_FIELDS = ("id", "asset_type", "currency", "metadata", "valuation_policy__method", "valuation_policy__inputs")


def _locked_assets(*, asset_ids: Sequence[str], run: RevaluationRun) -> list[Asset]:
    """The chunk's assets, locked in primary-key order, with their policies and whatever their methods read."""
    locked = Asset.objects.select_for_update(no_key=True, of=("self",)).filter(AnyOf(F("pk"), asset_ids)).order_by("pk")
    assets = list(locked.select_related("valuation_policy").only(*_ASSET_FIELDS))
    codes = {asset.valuation_policy.method for asset in assets if hasattr(asset, "valuation_policy")}
    lookups = {}
    for code in codes:
        try:
            method = method_for(code)
        except ValidationFailed:
            continue  # an unknown method fails its assets one by one, with the reason
        for lookup in method.prefetches(as_of=run.as_of):
            lookups.setdefault(lookup.to_attr or lookup.prefetch_to, lookup)
    prefetch_related_objects(assets, *lookups.values())
    return assets


def _compute(
    *, asset: Asset, policy: ValuationPolicy | None, run: RevaluationRun, prices: PriceSource, actor: Actor, now: Any
) -> Valuation:
    if policy is None:
        raise ValuationError("The asset no longer has a valuation policy.", code="no_policy")
    method = method_for(policy.method)
    if method.manual:
        raise ValidationFailed("A revaluation run cannot record a manual valuation.", errors={"method": [method.code]})
    cleaned = method.validate(policy.inputs or {}, asset=asset)
    computed = method.compute(asset=asset, as_of=run.as_of, inputs=cleaned, prices=prices)
    return Valuation(
        asset=asset,
        method=method.code,
        value=computed.value,
        currency=computed.currency,
        as_of=run.as_of,
        inputs=computed.inputs,
        recorded_by_name=actor.name,
        approved_at=now,
        run=run,
    )


@transaction.atomic
def valuations_record_for_run(
    *, actor: Actor, run: RevaluationRun, asset_ids: Sequence[Any], prices: PriceSource
) -> ChunkOutcome:
    """Values, for `run`, every asset of `asset_ids` not yet valued automatically for the run's date, in one
    transaction (see the module docstring). An IntegrityError means a concurrent writer got in first (a manual
    valuation of the same asset and date): the caller then values the chunk asset by asset."""
    asset_ids = [str(asset_id) for asset_id in asset_ids]
    assets = _locked_assets(asset_ids=asset_ids, run=run)
    valued_already, current = set(), {}
    for pk, asset_id, as_of, status, run_id in (
        Valuation.objects.filter(AnyOf(F("asset_id"), asset_ids))
        .filter(Q(status=ValuationStatus.APPROVED) | Q(as_of=run.as_of, run__isnull=False))
        .values_list("pk", "asset_id", "as_of", "status", "run_id")
    ):
        if run_id is not None and as_of == run.as_of:
            valued_already.add(str(asset_id))
        if status == ValuationStatus.APPROVED:
            current[str(asset_id)] = (pk, as_of)
    outcome, new, now = ChunkOutcome(skipped=len(valued_already)), [], timezone.now()
    for asset in assets:
        key = str(asset.pk)
        if key in valued_already:
            continue
        try:
            policy = getattr(asset, "valuation_policy", None)
            valuation = _compute(asset=asset, policy=policy, run=run, prices=prices, actor=actor, now=now)
        except (ValuationError, ValidationFailed, NotFound) as exc:
            outcome.failures[key] = failure_reason(exc)
            continue
        previous = current.get(key)
        valuation.status = (  # a later current valuation stays current; this one is recorded and superseded at once
            ValuationStatus.SUPERSEDED if previous and previous[1] > run.as_of else ValuationStatus.APPROVED
        )
        new.append((valuation, previous))
    approved = [(valuation, previous) for valuation, previous in new if valuation.status == ValuationStatus.APPROVED]
    superseded = [previous[0] for _, previous in approved if previous]
    if superseded:
        Valuation.objects.filter(AnyOf(F("pk"), superseded)).update(status=ValuationStatus.SUPERSEDED, updated_at=now)
    valuations = [valuation for valuation, _ in new]
    rows_append(model=Valuation, objects=valuations, batch_size=_BATCH)
    made_current = [valuation.asset_id for valuation in valuations if valuation.status == ValuationStatus.APPROVED]
    if made_current:  # the asset rows are locked: see valuation.services.valuations
        current_of = Valuation.objects.filter(asset_id=OuterRef("pk"), status=ValuationStatus.APPROVED)
        Asset.objects.filter(AnyOf(F("pk"), made_current)).update(
            current_valuation_ref=Subquery(current_of.values("pk")[:1])
        )
    _record_failures(run=run, asset_ids=asset_ids, failures=outcome.failures)
    audit_events_record(
        actor=actor,
        events=[
            EventDraft(
                action="valuation.recorded",
                object_type="valuation",
                object_id=valuation.pk,
                before=None,
                after=valuation_snapshot(valuation),
            )  # fmt: skip
            for valuation in valuations
        ],
    )
    outcome.valued = len(valuations)
    return outcome


def _record_failures(*, run: RevaluationRun, asset_ids: list[str], failures: dict[str, str]) -> None:
    """A failure row per asset that failed now; none for the others (a retried asset that succeeds loses its row)."""
    cleared = [asset_id for asset_id in asset_ids if asset_id not in failures]
    if RevaluationFailure.objects.filter(run=run).exists():  # most runs have none: spare the DELETE
        RevaluationFailure.objects.filter(AnyOf(F("asset_id"), cleared), run=run).delete()
    if failures:
        RevaluationFailure.objects.bulk_create(
            [RevaluationFailure(run=run, asset_id=asset_id, reason=reason) for asset_id, reason in failures.items()],
            update_conflicts=True,
            unique_fields=["run", "asset"],
            update_fields=["reason", "updated_at"],
        )
