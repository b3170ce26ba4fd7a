"""Revaluation runs: start, work a chunk, cancel, finish, resume.

A run chooses the assets that have a valuation policy (optionally by type, jurisdiction or currency) and splits
them into chunks of REVALUATION_CHUNK_SIZE stored with the run, so a task needs only a chunk's id. A chunk is
valued in one transaction (valuation.services.bulk: set-based reads and writes, one audit event per valuation);
should a concurrent writer collide with it, its assets are valued one by one through valuation_record instead. An
asset already valued automatically for that date is skipped (a unique index makes a second one impossible), so
re-running a run or a chunk, or a redelivered task, never doubles a valuation. A chunk's counts are what it found
valued for the date (now or by an earlier delivery) and failing, recorded with its valuations in one transaction
(recounted from the database after an asset-by-asset fallback), and the run's are their sums, so nothing is counted
twice. The last chunk
to finish closes the run; once a run is cancelled, chunks not yet started value nothing.
"""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from assets.asset_types import AssetType
from assets.models import AssetStatus
from audit.services import Actor, audit_event_record
from rwa_service.db.lookups import AnyOf
from rwa_service.exceptions import Conflict, NotFound, ValidationFailed
from valuation.errors import ValuationError
from valuation.feeds import price_source
from valuation.methods.base import PriceSource
from valuation.models import (
    RevaluationChunk,
    RevaluationFailure,
    RevaluationRun,
    RunStatus,
    Valuation,
    ValuationPolicy,
)
from valuation.services.bulk import failure_reason, valuations_record_for_run
from valuation.services.valuations import _require_valuer, valuation_record

_OPEN = (RunStatus.PENDING, RunStatus.RUNNING)


def _run_snapshot(run: RevaluationRun) -> dict[str, Any]:
    return {
        "id": str(run.pk),
        "as_of": run.as_of.isoformat(),
        "filters": run.filters,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "failed": run.failed,
    }


def _clean_filters(*, asset_type: str | None, jurisdiction: str | None, currency: str | None) -> dict[str, str]:
    errors, filters = {}, {}
    if asset_type:
        if asset_type not in AssetType.values:
            errors["asset_type"] = [f"One of: {', '.join(AssetType.values)}."]
        filters["asset_type"] = asset_type
    if jurisdiction:
        if len(jurisdiction) != 2 or not jurisdiction.isalpha():
            errors["jurisdiction"] = ["A two-letter country code."]
        filters["jurisdiction"] = jurisdiction.upper()
    if currency:
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = ["A three-letter currency code."]
        filters["currency"] = currency.upper()
    if errors:
        raise ValidationFailed("The run's filters are invalid.", errors=errors)
    return filters


def _policies(filters: dict[str, str]):
    scope = ValuationPolicy.objects.exclude(asset__status=AssetStatus.RETIRED)
    return scope.filter(**{f"asset__{name}": value for name, value in filters.items()})


# A run's chunks in one statement on PostgreSQL: the chosen assets numbered in id order, cut every `size`, each
# chunk's ids aggregated as the JSON list of their text (what str() gives in Python). A million ids never reach Python.
_CHUNKS_SQL = """
INSERT INTO valuation_revaluationchunk (run_id, number, asset_ids, finished, done, failed, created_at, updated_at)
SELECT %s, numbered.number, jsonb_agg(numbered.asset_id::text ORDER BY numbered.asset_id), false, 0, 0, now(), now()
FROM (SELECT chosen.asset_id, (row_number() OVER (ORDER BY chosen.asset_id) - 1) / %s AS number
      FROM ({chosen}) AS chosen) AS numbered
GROUP BY numbered.number
RETURNING jsonb_array_length(asset_ids)
"""


def _chunks_create(*, run: RevaluationRun, filters: dict[str, str], size: int) -> int:
    """Cuts the run's assets (those with a policy, by id) into chunks of `size`; returns how many assets. Elsewhere
    than PostgreSQL the ids are read and grouped here, a batch of chunks at a time."""
    chosen = _policies(filters).order_by("asset_id").values_list("asset_id", flat=True)
    if connection.vendor == "postgresql":
        sql, params = chosen.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(_CHUNKS_SQL.replace("{chosen}", sql), [run.pk, size, *params])
            return sum(length for (length,) in cursor.fetchall())
    batch, chunks, total, number = [], [], 0, 0
    for asset_id in chosen.iterator(chunk_size=size * 10):
        batch.append(str(asset_id))
        total += 1
        if len(batch) == size:
            chunks.append(RevaluationChunk(run=run, number=number, asset_ids=batch))
            batch, number = [], number + 1
            if len(chunks) == 100:  # memory stays bounded: a hundred chunks' ids at most
                RevaluationChunk.objects.bulk_create(chunks)
                chunks = []
    if batch:
        chunks.append(RevaluationChunk(run=run, number=number, asset_ids=batch))
    RevaluationChunk.objects.bulk_create(chunks)
    return total


@transaction.atomic
def revaluation_run_start(
    *,
    actor: AbstractBaseUser | Actor,
    as_of: date,
    asset_type: str | None = None,
    jurisdiction: str | None = None,
    currency: str | None = None,
) -> RevaluationRun:
    """Creates a run and its chunks, and queues the chunks once this transaction commits."""
    _require_valuer(actor)
    if as_of > timezone.localdate():
        raise ValidationFailed("A run cannot value as of a future date.", errors={"as_of": ["Not in the future."]})
    filters = _clean_filters(asset_type=asset_type, jurisdiction=jurisdiction, currency=currency)
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    run = RevaluationRun.objects.create(as_of=as_of, filters=filters, status=RunStatus.RUNNING, started_by=who.name)
    run.total = _chunks_create(run=run, filters=filters, size=settings.REVALUATION_CHUNK_SIZE)
    total = run.total
    if total == 0:
        run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
    run.save(update_fields=["total", "status", "finished_at", "updated_at"])
    audit_event_record(
        actor=who, action="revaluation_run.started", object_type="revaluation_run", object_id=run.pk,
        before=None, after=_run_snapshot(run),
    )  # fmt: skip
    if total:
        from valuation.tasks import enqueue_chunks

        enqueue_chunks(run_id=run.pk)
    return run


def _value_one(*, run: RevaluationRun, asset_id: str, prices: PriceSource, actor: Actor) -> None:
    """Values one asset for the run in its own transaction; a failure is recorded with its reason instead."""
    with transaction.atomic():
        if Valuation.objects.filter(asset_id=asset_id, as_of=run.as_of, run__isnull=False).exists():
            RevaluationFailure.objects.filter(run=run, asset_id=asset_id).delete()
            return  # valued already (this run before a redelivery, or an earlier run for the same date)
        policy = ValuationPolicy.objects.filter(asset_id=asset_id).first()
        try:
            if policy is None:
                raise ValuationError("The asset no longer has a valuation policy.", code="no_policy")
            with transaction.atomic():
                valuation_record(
                    actor=actor, asset_id=asset_id, method=policy.method, as_of=run.as_of, inputs=policy.inputs,
                    run=run, prices=prices,
                )  # fmt: skip
            RevaluationFailure.objects.filter(run=run, asset_id=asset_id).delete()
        except IntegrityError:
            return  # a concurrent copy of this chunk valued it first: done
        except (ValuationError, ValidationFailed, NotFound) as exc:
            reason = failure_reason(exc)
            RevaluationFailure.objects.update_or_create(run=run, asset_id=asset_id, defaults={"reason": reason})


def revaluation_chunk_process(*, chunk_id: Any) -> RevaluationChunk | None:
    """Values every asset of a chunk not yet valued for the run's date, then records the chunk's counts and, if it
    is the last, closes the run. Safe to run again (a redelivered task): it skips what is done."""
    chunk = RevaluationChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if chunk is None or chunk.finished or chunk.run.status not in _OPEN:
        return chunk
    run, actor, prices = chunk.run, Actor.system("revaluation"), price_source()  # one per chunk: shared look-ups
    try:
        with transaction.atomic():  # the chunk's valuations and its counts commit together
            outcome = valuations_record_for_run(actor=actor, run=run, asset_ids=chunk.asset_ids, prices=prices)
            if outcome.run.status in _OPEN:  # the run row is locked (before the chain head) by the chunk
                _chunk_finish(chunk=chunk, run=outcome.run, done=outcome.valued + outcome.skipped,
                              failed=len(outcome.failures))  # fmt: skip
            return chunk
    except IntegrityError:  # a unique index refused a row this chunk could not see yet: one asset at a time
        for index, asset_id in enumerate(chunk.asset_ids):
            if index and index % 50 == 0 and RevaluationRun.objects.get(pk=run.pk).status not in _OPEN:
                return chunk  # cancelled meanwhile
            _value_one(run=run, asset_id=asset_id, prices=prices, actor=actor)
    with transaction.atomic():
        run = RevaluationRun.objects.select_for_update(no_key=True).get(pk=run.pk)
        if run.status not in _OPEN:
            return chunk
        ids = chunk.asset_ids
        _chunk_finish(
            chunk=chunk,
            run=run,
            done=Valuation.objects.filter(AnyOf(F("asset_id"), ids), as_of=run.as_of, run__isnull=False).count(),
            failed=RevaluationFailure.objects.filter(AnyOf(F("asset_id"), ids), run=run).count(),
        )
    return chunk


def _chunk_finish(*, chunk: RevaluationChunk, run: RevaluationRun, done: int, failed: int) -> None:
    """Records a chunk's counts (its assets valued for the run's date, by this delivery or an earlier one, and those
    failing now) and refreshes the run's; `run` is locked by the caller's transaction."""
    chunk.done, chunk.failed, chunk.finished = done, failed, True
    chunk.save(update_fields=["done", "failed", "finished", "updated_at"])
    _refresh(run)


def _refresh(run: RevaluationRun) -> None:
    """The run's counts from its chunks; closes it (one audit event) when every chunk has finished."""
    sums = run.chunks.aggregate(done=Sum("done"), failed=Sum("failed"))
    run.done, run.failed = sums["done"] or 0, sums["failed"] or 0
    if not run.chunks.filter(finished=False).exists():
        run.status = RunStatus.FAILED if run.done == 0 and run.failed else RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.save(update_fields=["done", "failed", "status", "finished_at", "updated_at"])
        audit_event_record(
            actor=Actor.system("revaluation"), action="revaluation_run.finished", object_type="revaluation_run",
            object_id=run.pk, before=None, after=_run_snapshot(run),
        )  # fmt: skip
    else:
        run.save(update_fields=["done", "failed", "updated_at"])


@transaction.atomic
def revaluation_run_cancel(*, actor: AbstractBaseUser, run_id: Any) -> RevaluationRun:
    """Stops an open run: chunks not yet finished stop at their next asset; what was valued stays."""
    _require_valuer(actor)
    run = RevaluationRun.objects.select_for_update(no_key=True).filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such revaluation run.")
    if run.status not in _OPEN:
        raise Conflict(f"The run has ended ({run.status}); only an open run can be cancelled.", code="run_not_open")
    before = _run_snapshot(run)
    run.status, run.finished_at = RunStatus.CANCELLED, timezone.now()
    run.save(update_fields=["status", "finished_at", "updated_at"])
    audit_event_record(
        actor=Actor.of(actor), action="revaluation_run.cancelled", object_type="revaluation_run", object_id=run.pk,
        before=before, after=_run_snapshot(run),
    )  # fmt: skip
    return run


def revaluation_runs_resume(*, stale_after: timedelta | None = None) -> int:
    """Beat: queues again the unfinished chunks of open runs untouched for a while (a lost message, a dead
    worker); returns how many. Harmless if the original task is still running: the chunk skips what is done."""
    from valuation.tasks import revalue_chunk

    if stale_after is None:
        stale_after = timedelta(seconds=settings.REVALUATION_CHUNK_STALE_SECONDS)
    cutoff = timezone.now() - stale_after
    chunks = RevaluationChunk.objects.filter(run__status__in=_OPEN, finished=False, updated_at__lt=cutoff)
    ids = list(chunks.values_list("pk", flat=True)[:1000])
    RevaluationChunk.objects.filter(pk__in=ids).update(updated_at=timezone.now())

    def publish() -> None:
        for chunk_id in ids:
            revalue_chunk.delay(chunk_id)

    transaction.on_commit(publish)  # at once in autocommit; never for a caller's transaction that rolls back
    return len(ids)
