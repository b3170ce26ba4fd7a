"""Revaluation runs: fan-out in chunks, progress, failures with reasons, idempotency per asset and date, a crashed
chunk finished by the sweeper, cancellation, and the nightly schedule editable in django-celery-beat."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from rwa_service.exceptions import Conflict, PermissionRefused, ValidationFailed
from valuation.models import RevaluationChunk, RevaluationRun, RunStatus, Valuation, ValuationPolicy, ValuationStatus
from valuation.selectors import valuation_current
from valuation.services import bulk as bulk_services
from valuation.services import revaluation_chunk_process, revaluation_run_cancel, revaluation_run_start
from valuation.services import runs as run_services
from valuation.services.runs import revaluation_runs_resume

AS_OF = timezone.localdate() - timedelta(days=1)
DEPRECIATION = {"cost": "1000", "salvage_value": "100", "in_service": "2020-01-01", "useful_life_years": "50"}


@pytest.fixture
def book(make_asset, settings):
    """Five assets valued by depreciation and two whose market series does not exist (they must fail)."""
    settings.REVALUATION_CHUNK_SIZE = 3
    good = [make_asset("approved", name=f"Plant {i}") for i in range(5)]
    bad = [make_asset("approved", name=f"Gold {i}") for i in range(2)]
    for asset in good:
        ValuationPolicy.objects.create(asset=asset, method="depreciation", inputs=DEPRECIATION)
    for asset in bad:
        ValuationPolicy.objects.create(asset=asset, method="market", inputs={"quantity": "10", "series": "NOPE-USD"})
    return good, bad


def _start(users, django_capture_on_commit_callbacks, execute=True, **filters):
    with django_capture_on_commit_callbacks(execute=execute):
        return revaluation_run_start(actor=users["valuer"], as_of=AS_OF, **filters)


def test_a_run_values_the_rest_and_lists_each_failure_with_its_reason(users, book, django_capture_on_commit_callbacks):
    good, bad = book
    run = RevaluationRun.objects.get(pk=_start(users, django_capture_on_commit_callbacks).pk)
    assert (run.status, run.total, run.done, run.failed) == (RunStatus.SUCCEEDED, 7, 5, 2)
    assert run.chunks.count() == 3  # 7 assets in chunks of 3
    reasons = {f.asset_id: f.reason for f in run.failures.all()}
    assert set(reasons) == {a.pk for a in bad} and all("NOPE-USD" in reason for reason in reasons.values())
    for asset in good:
        (valuation,) = Valuation.objects.filter(asset=asset, as_of=AS_OF)
        assert valuation.run_id == run.pk and valuation.status == ValuationStatus.APPROVED
        assert valuation_current(asset_id=asset.pk).pk == valuation.pk
        assert valuation.recorded_by_name == "system:revaluation"


def test_a_run_cuts_its_assets_in_id_order_into_chunks_of_the_configured_size(
    users, book, django_capture_on_commit_callbacks, make_asset
):
    retired = make_asset("retired", name="Gone")
    ValuationPolicy.objects.create(asset=retired, method="depreciation", inputs=DEPRECIATION)
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    expected = sorted(str(asset.pk) for asset in [*book[0], *book[1]])  # the retired asset is not chosen
    assert run.total == 7
    assert [(c.number, c.asset_ids) for c in run.chunks.order_by("number")] == [
        (0, expected[0:3]), (1, expected[3:6]), (2, expected[6:7])
    ]  # fmt: skip
    only = _start(users, django_capture_on_commit_callbacks, execute=False, asset_type=book[0][0].asset_type)
    assert only.total == len([a for a in [*book[0], *book[1]] if a.asset_type == book[0][0].asset_type])


def test_running_a_chunk_again_or_the_whole_run_again_never_doubles_a_valuation(
    users, book, django_capture_on_commit_callbacks
):
    run = _start(users, django_capture_on_commit_callbacks)
    for chunk in RevaluationChunk.objects.filter(run=run):
        RevaluationChunk.objects.filter(pk=chunk.pk).update(finished=False)
        RevaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
        revaluation_chunk_process(chunk_id=chunk.pk)  # a redelivered task
    again = RevaluationRun.objects.get(pk=_start(users, django_capture_on_commit_callbacks).pk)
    assert Valuation.objects.filter(as_of=AS_OF).count() == 5
    assert RevaluationRun.objects.get(pk=run.pk).done == 5
    assert (again.status, again.done, again.failed) == (RunStatus.SUCCEEDED, 5, 2)  # valued already: counted done


def test_a_chunk_whose_worker_died_midway_is_finished_by_the_sweeper_exactly_once(
    users, book, django_capture_on_commit_callbacks, monkeypatch
):
    def dies_while_auditing(**kwargs):
        raise SystemExit("worker killed")  # the process dies after the chunk's valuations were written, uncommitted

    monkeypatch.setattr(bulk_services, "audit_batch_append", dies_while_auditing)
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    first = run.chunks.order_by("number").first()
    with pytest.raises(SystemExit):
        revaluation_chunk_process(chunk_id=first.pk)
    assert not Valuation.objects.filter(as_of=AS_OF).exists()  # the chunk is one transaction: nothing half-done
    assert not RevaluationChunk.objects.get(pk=first.pk).finished
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True) as published:  # queued only once the sweep commits
        assert revaluation_runs_resume(stale_after=timedelta(0)) == 3  # every unfinished chunk, the dead one included
    assert len(published) == 1
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == (RunStatus.SUCCEEDED, 5, 2)
    assert all(Valuation.objects.filter(asset=a, as_of=AS_OF).count() == 1 for a in book[0])
    assert AuditEvent.objects.filter(action="valuation.recorded").count() == 5


def test_a_chunk_records_its_counts_in_the_transaction_of_its_valuations(
    users, book, django_capture_on_commit_callbacks, monkeypatch
):
    def dies_while_counting(run):
        raise SystemExit("worker killed")  # after the chunk's valuations and its own counts, before the run's

    monkeypatch.setattr(run_services, "_refresh", dies_while_counting)
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    first = run.chunks.order_by("number").first()
    with pytest.raises(SystemExit):
        revaluation_chunk_process(chunk_id=first.pk)
    assert (
        not Valuation.objects.filter(as_of=AS_OF).exists()
        and not AuditEvent.objects.filter(action="valuation.recorded").exists()
    )
    assert not RevaluationChunk.objects.get(pk=first.pk).finished
    monkeypatch.undo()
    for chunk in run.chunks.order_by("number"):
        revaluation_chunk_process(chunk_id=chunk.pk)
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == (RunStatus.SUCCEEDED, 5, 2)
    good = {str(asset.pk) for asset in book[0]}
    for chunk in run.chunks.all():
        valued = len(good & {str(asset_id) for asset_id in chunk.asset_ids})
        assert (chunk.done, chunk.failed, chunk.finished) == (valued, len(chunk.asset_ids) - valued, True)


def test_a_run_cancelled_while_a_chunk_values_keeps_what_it_valued_and_counts_nothing_more(
    users, book, django_capture_on_commit_callbacks, monkeypatch
):
    real = bulk_services._record_failures

    def cancelled_meanwhile(**kwargs):
        real(**kwargs)
        RevaluationRun.objects.filter(pk=kwargs["run"].pk).update(status=RunStatus.CANCELLED)

    monkeypatch.setattr(bulk_services, "_record_failures", cancelled_meanwhile)
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    first = run.chunks.order_by("number").first()
    revaluation_chunk_process(chunk_id=first.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and (run.done, run.failed) == (0, 0)
    valued = len({str(asset.pk) for asset in book[0]} & {str(asset_id) for asset_id in first.asset_ids})
    assert valued and Valuation.objects.filter(as_of=AS_OF, run=run).count() == valued  # what was valued stays
    assert AuditEvent.objects.filter(action="valuation.recorded").count() == valued
    assert not RevaluationChunk.objects.get(pk=first.pk).finished


def test_a_chunk_the_database_refuses_is_valued_one_asset_at_a_time_and_a_death_there_is_resumed(
    users, book, django_capture_on_commit_callbacks, monkeypatch
):
    def refused(**kwargs):
        raise IntegrityError("a unique index refused a row")

    real, calls = run_services._value_one, {"n": 0}

    def dies_after_two(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")  # the process dies: nothing after this asset runs
        real(**kwargs)

    monkeypatch.setattr(run_services, "valuations_record_for_run", refused)
    monkeypatch.setattr(run_services, "_value_one", dies_after_two)
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    first = run.chunks.order_by("number").first()
    with pytest.raises(SystemExit):
        revaluation_chunk_process(chunk_id=first.pk)
    valued, failed = Valuation.objects.filter(as_of=AS_OF).count(), run.failures.count()
    assert valued + failed == 2  # one transaction per asset: the first two stay (valued, or failed with a reason)
    monkeypatch.setattr(run_services, "_value_one", real)
    with django_capture_on_commit_callbacks(execute=True):
        revaluation_runs_resume(stale_after=timedelta(0))
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == (RunStatus.SUCCEEDED, 5, 2)
    assert all(Valuation.objects.filter(asset=a, as_of=AS_OF).count() == 1 for a in book[0])
    assert set(run.failures.values_list("asset_id", flat=True)) == {a.pk for a in book[1]}


def test_a_cancelled_run_values_nothing_more_and_cannot_be_cancelled_twice(
    users, book, django_capture_on_commit_callbacks
):
    run = _start(users, django_capture_on_commit_callbacks, execute=False)
    cancelled = revaluation_run_cancel(actor=users["valuer"], run_id=run.pk)
    for chunk in run.chunks.all():
        revaluation_chunk_process(chunk_id=chunk.pk)
    assert cancelled.status == RunStatus.CANCELLED and not Valuation.objects.exists()
    with pytest.raises(Conflict):
        revaluation_run_cancel(actor=users["valuer"], run_id=run.pk)


def test_filters_choose_the_assets(users, book, django_capture_on_commit_callbacks, make_asset):
    other = make_asset("approved", jurisdiction="FR", name="Usine")
    ValuationPolicy.objects.create(asset=other, method="depreciation", inputs=DEPRECIATION)
    run = _start(users, django_capture_on_commit_callbacks, jurisdiction="fr")
    assert (run.total, run.filters) == (1, {"jurisdiction": "FR"})
    assert Valuation.objects.filter(as_of=AS_OF).get().asset_id == other.pk


def test_bad_requests_are_refused(users, book, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationFailed) as future:
        revaluation_run_start(actor=users["valuer"], as_of=timezone.localdate() + timedelta(days=1))
    with pytest.raises(ValidationFailed) as bad_type:
        revaluation_run_start(actor=users["valuer"], as_of=AS_OF, asset_type="tulips")
    with pytest.raises(PermissionRefused):
        revaluation_run_start(actor=users["operator"], as_of=AS_OF)
    assert "as_of" in future.value.errors and "asset_type" in bad_type.value.errors
    assert not RevaluationRun.objects.exists()


def test_the_nightly_run_is_a_periodic_task_operators_can_edit(db):
    task = PeriodicTask.objects.get(name="nightly revaluation")
    assert task.task == "valuation.tasks.revalue_nightly" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")


def test_the_revalue_command_works_inline_with_progress_and_fails_on_failures(book, capsys):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as failed:  # two assets cannot be valued: non-zero exit, listed
        call_command("revalue", "--as-of", AS_OF.isoformat(), "--inline")
    out, err = capsys.readouterr()
    assert "5 valued, 2 failed of 7" in str(failed.value)
    assert out.count("failed: ") == 2 and "NOPE-USD" in out
    assert "7/7 (done 5, failed 2)" in err
    assert Valuation.objects.filter(as_of=AS_OF).count() == 5


def test_the_revalue_command_refuses_bad_filters(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="asset_type"):
        call_command("revalue", "--asset-type", "tulips")


def test_with_the_outside_feed_down_a_run_fails_those_assets_with_the_reason_and_does_not_hang(
    users, make_asset, settings, django_capture_on_commit_callbacks
):
    import time

    from valuation.feeds import reset_breakers
    from valuation.models import PriceSeries

    PriceSeries.objects.create(code="XAU-USD", kind="price", currency="USD", unit="troy_oz")
    for i in range(6):
        asset = make_asset("approved", name=f"Bars {i}", currency="USD")
        ValuationPolicy.objects.create(asset=asset, method="market", inputs={"quantity": "10", "series": "XAU-USD"})
    settings.PRICE_FEED_URL = "http://127.0.0.1:9"  # nothing listens: every attempt is refused
    settings.PRICE_FEED_RETRIES, settings.PRICE_FEED_TIMEOUT_SECONDS = 1, 0.2
    settings.PRICE_FEED_BREAKER_THRESHOLD, settings.PRICE_FEED_BREAKER_RESET_SECONDS = 2, 60
    reset_breakers()
    try:
        started = time.monotonic()
        run = RevaluationRun.objects.get(pk=_start(users, django_capture_on_commit_callbacks).pk)
        elapsed = time.monotonic() - started
    finally:
        reset_breakers()
    assert (run.status, run.done, run.failed) == (RunStatus.FAILED, 0, 6)
    reasons = list(run.failures.values_list("reason", flat=True))
    assert all("127.0.0.1:9" in reason or "feed" in reason.lower() for reason in reasons), reasons
    assert elapsed < 10  # the breaker opened: later assets failed at once, nothing waited on the dead feed
