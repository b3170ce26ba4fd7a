"""A revaluation chunk valued at once: one transaction, a few set-based statements, one audit event per valuation.

The result is what valuation_record would give asset by asset (same valuations, statuses, current valuation and
audit events, in asset order) for a fraction of the round trips: the assets are locked together in primary-key
order, their policies, prior valuations and whatever the methods read (ValuationMethod.prefetch) are loaded in one
query each, as values rather than model instances, the values are computed in Python by the same method classes,
and the writes are one UPDATE of the superseded valuations, one COPY of the new ones, one UPDATE of the assets'
current valuation and one COPY of their events (chained and hashed as audit_event_record would, without a model
instance per row). An asset whose method fails is a failure with its reason; the others are valued. The chunk
commits whole or not at all.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from assets.models import Asset
from audit.canonical import CanonicalJson, string_map_json
from audit.services import Actor, EventDraft, audit_batch_append, audit_events_encode
from rwa_service.db.ids import uuid7_texts
from rwa_service.db.lookups import AnyOf, array_param
from rwa_service.db.rows import json_text, values_append
from rwa_service.db.uuid_text import UuidText
from rwa_service.exceptions import NotFound, ValidationFailed
from valuation.errors import ValuationError
from valuation.methods import method_for
from valuation.methods.base import AssetFacts, Computed, PriceSource
from valuation.models import RevaluationFailure, RevaluationRun, Valuation, ValuationStatus
from valuation.snapshots import valuation_snapshot_json


@dataclass
class ChunkOutcome:
    """What a chunk did: assets valued now, assets found valued already, each failure's reason by asset id, and the
    run as read under its row lock, which the chunk's transaction holds from before the chain head to its end."""

    valued: int = 0
    skipped: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    run: RevaluationRun | None = None


def failure_reason(exc: ValuationError | ValidationFailed | NotFound) -> str:
    return exc.detail if not exc.errors else f"{exc.detail} {exc.errors}"


def _locked_assets(*, asset_ids: Sequence[str], as_of: date) -> list[tuple[AssetFacts, str | None, Any]]:
    """The chunk's assets, locked in primary-key order, each with its policy's method and inputs (None, None
    without a policy) and whatever its method prefetches. Read as values, not model instances: the methods read
    the type, currency and metadata (AssetFacts), and a method reading another field needs it added here."""
    locked = Asset.objects.select_for_update(no_key=True, of=("self",)).filter(AnyOf(F("pk"), asset_ids)).order_by("pk")
    chunk = [
        (AssetFacts(pk=pk, asset_type=asset_type, currency=currency, metadata_json=metadata), method, inputs)
        for pk, asset_type, currency, metadata, method, inputs in locked.annotate(
            key=UuidText("pk"),  # keys as text: a chunk uses them as text, and builds no UUID for each
            metadata_json=Cast("metadata", TextField()),  # parsed only by a method that reads it
        ).values_list(
            "key", "asset_type", "currency", "metadata_json", "valuation_policy__method", "valuation_policy__inputs"
        )  # fmt: skip
    ]
    by_method: dict[str, list[AssetFacts]] = {}
    for asset, method, _ in chunk:
        if method is not None:
            by_method.setdefault(method, []).append(asset)
    for code, assets in by_method.items():
        try:
            method = method_for(code)
        except ValidationFailed:
            continue  # an unknown method fails its assets one by one, with the reason
        method.prefetch(assets=assets, as_of=as_of)
    return chunk


def _compute(
    *, asset: AssetFacts, code: str | None, inputs: Any, run: RevaluationRun, prices: PriceSource
) -> tuple[str, Computed]:
    if code is None:
        raise ValuationError("The asset no longer has a valuation policy.", code="no_policy")
    method = method_for(code)
    if method.manual:
        raise ValidationFailed("A revaluation run cannot record a manual valuation.", errors={"method": [method.code]})
    cleaned = method.validate(inputs or {}, asset=asset)
    return method.code, method.compute(asset=asset, as_of=run.as_of, inputs=cleaned, prices=prices)


# The columns of a run's valuation, in the order _valuation_row gives them.
_VALUATION_FIELDS = ("id", "asset_id", "method", "value", "currency", "as_of", "inputs", "status", "recorded_by_id",
                     "recorded_by_name", "approved_by_id", "approved_at", "status_reason", "run_id", "created_at",
                     "updated_at")  # fmt: skip


class _NewValuation(NamedTuple):
    pk: str
    asset_id: str
    method: str
    computed: Computed
    status: str
    inputs: Any  # the computed inputs, or their canonical JSON (CanonicalJson) when that needs no normalising


@transaction.atomic
def valuations_record_for_run(
    *, actor: Actor, run: RevaluationRun, asset_ids: Sequence[Any], prices: PriceSource
) -> ChunkOutcome:
    """Values, for `run`, every asset of `asset_ids` not yet valued automatically for the run's date, in one
    transaction (see the module docstring). An IntegrityError means a concurrent writer got in first (a manual
    valuation of the same asset and date): the caller then values the chunk asset by asset."""
    asset_ids = [str(asset_id) for asset_id in asset_ids]
    chunk = _locked_assets(asset_ids=asset_ids, as_of=run.as_of)
    valued_already, current = set(), {}
    for pk, asset_id, as_of, status, run_id in (
        Valuation.objects.filter(AnyOf(F("asset_id"), asset_ids))
        .filter(Q(status=ValuationStatus.APPROVED) | Q(as_of=run.as_of, run__isnull=False))
        .annotate(key=UuidText("pk"), asset_key=UuidText("asset_id"))
        .values_list("key", "asset_key", "as_of", "status", "run_id")
    ):
        if run_id is not None and as_of == run.as_of:
            valued_already.add(asset_id)
        if status == ValuationStatus.APPROVED:
            current[asset_id] = (pk, as_of)
    outcome, new, superseded, now = ChunkOutcome(skipped=len(valued_already)), [], [], timezone.now()
    ids = iter(uuid7_texts(len(chunk)))
    for asset, code, inputs in chunk:
        key = asset.pk
        if key in valued_already:
            continue
        try:
            method, computed = _compute(asset=asset, code=code, inputs=inputs, run=run, prices=prices)
        except (ValuationError, ValidationFailed, NotFound) as exc:
            outcome.failures[key] = failure_reason(exc)
            continue
        previous = current.get(key)
        if previous and previous[1] > run.as_of:  # a later current valuation stays current; this one is superseded
            status = ValuationStatus.SUPERSEDED
        else:
            status = ValuationStatus.APPROVED
            if previous:
                superseded.append(previous[0])
        inputs = string_map_json(computed.inputs) or computed.inputs  # encoded once, for the row and the event
        new.append(_NewValuation(next(ids), key, method, computed, status, inputs))
    if superseded:
        Valuation.objects.filter(AnyOf(F("pk"), superseded)).update(status=ValuationStatus.SUPERSEDED, updated_at=now)
    shared = _RowTexts(now=now.isoformat(), as_of=run.as_of.isoformat(), run=str(run.pk), actor=actor.name)
    values_append(model=Valuation, fields=_VALUATION_FIELDS, rows=[_valuation_row(v, shared) for v in new])
    _current_refs_set(made_current={v.asset_id: v.pk for v in new if v.status == ValuationStatus.APPROVED})
    _record_failures(run=run, asset_ids=asset_ids, failures=outcome.failures)
    events = audit_events_encode(actor=actor, events=[_recorded_event(valuation, actor, run) for valuation in new])
    # The run's row before the chain head, the order of every writer of a run (cancel, the run's close), so the
    # caller may record the chunk's counts in this transaction without a deadlock; after the events' encoding, which
    # needs no lock.
    outcome.run = RevaluationRun.objects.select_for_update(no_key=True).get(pk=run.pk)
    audit_batch_append(batch=events)
    outcome.valued = len(new)
    return outcome


def _current_refs_set(*, made_current: dict[Any, Any]) -> None:
    """Points each asset at its new current valuation (the asset rows are locked: see valuation.services.valuations):
    on PostgreSQL the ids are sent, paired, in one UPDATE; elsewhere each asset's one approved valuation is looked up
    (the partial unique index keeps it to one)."""
    if not made_current:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE assets_asset AS a SET current_valuation_ref = v.ref "
                "FROM unnest(%s::uuid[], %s::uuid[]) AS v(id, ref) WHERE a.id = v.id",
                [array_param(made_current, "uuid"), array_param(made_current.values(), "uuid")],
            )
        return
    current_of = Valuation.objects.filter(asset_id=OuterRef("pk"), status=ValuationStatus.APPROVED)
    Asset.objects.filter(AnyOf(F("pk"), list(made_current))).update(
        current_valuation_ref=Subquery(current_of.values("pk")[:1])
    )


@dataclass(frozen=True)
class _RowTexts:
    """What every valuation row of a chunk shares, as the text COPY sends (formatted once, not once a row)."""

    now: str
    as_of: str
    run: str
    actor: str


def _valuation_row(valuation: _NewValuation, shared: _RowTexts) -> tuple[Any, ...]:
    computed = valuation.computed
    inputs = json_text(valuation.inputs) if isinstance(valuation.inputs, CanonicalJson) else valuation.inputs
    return (valuation.pk, valuation.asset_id, valuation.method, computed.value, computed.currency, shared.as_of,
            inputs, valuation.status, None, shared.actor, None, shared.now, "", shared.run, shared.now,
            shared.now)  # fmt: skip


def _recorded_event(valuation: _NewValuation, actor: Actor, run: RevaluationRun) -> EventDraft:
    computed = valuation.computed
    after = valuation_snapshot_json(
        pk=valuation.pk, asset_id=valuation.asset_id, method=valuation.method, value=computed.value,
        currency=computed.currency, as_of=run.as_of, inputs=valuation.inputs, status=valuation.status,
        recorded_by_name=actor.name, approved_by=None,
    )  # fmt: skip
    return EventDraft(action="valuation.recorded", object_type="valuation", object_id=valuation.pk, before=None,
                      after=after)  # fmt: skip


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
