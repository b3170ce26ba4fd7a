"""A revaluation chunk valued at once (valuation.services.bulk): the same valuations, supersessions, current
valuation and audit events as valuing asset by asset, each failure with its reason, and a number of queries that
does not grow with the chunk."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.models import Asset
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from valuation.models import RevaluationFailure, RevaluationRun, RunStatus, Valuation, ValuationPolicy, ValuationStatus
from valuation.prices import StoredPrices
from valuation.services.bulk import valuations_record_for_run
from valuation.snapshots import valuation_snapshot

TODAY = timezone.localdate()
AS_OF = TODAY - timedelta(days=1)
APPRAISED = TODAY - timedelta(days=30)
SYSTEM = Actor.system("revaluation")


@pytest.fixture
def index_book(make_asset, make_current, make_series):
    """`index_book(n)` → n approved assets, each with a current appraisal of 1,000,000 + 1,000·i dated 30 days ago
    and an `index` policy on HPI (100 then, 110 on the day before the run)."""
    make_series("HPI", kind="index", observations={APPRAISED: "100", AS_OF - timedelta(days=1): "110"})

    def make(n: int) -> list[tuple[Asset, Valuation]]:
        made = []
        for i in range(n):
            asset = make_asset("approved", name=f"Block {i}")
            appraisal = make_current(asset, str(1_000_000 + 1_000 * i), APPRAISED)
            ValuationPolicy.objects.create(asset=asset, method="index", inputs={"series": "HPI"})
            made.append((asset, appraisal))
        return made

    return make


def _run(as_of=AS_OF) -> RevaluationRun:
    return RevaluationRun.objects.create(as_of=as_of, filters={}, status=RunStatus.RUNNING, started_by="valuer-user")


def _value(run, assets):
    return valuations_record_for_run(actor=SYSTEM, run=run, asset_ids=[a.pk for a in assets], prices=StoredPrices())


def test_a_chunk_moves_each_appraisal_by_the_index_supersedes_it_and_audits_each_valuation(index_book):
    book = index_book(4)
    run = _run()
    events_before = AuditEvent.objects.count()
    outcome = _value(run, [asset for asset, _ in book])
    assert (outcome.valued, outcome.skipped, outcome.failures) == (4, 0, {})
    for i, (asset, appraisal) in enumerate(book):
        (valuation,) = Valuation.objects.filter(asset=asset, as_of=AS_OF)
        assert valuation.value == Decimal(1_000_000 + 1_000 * i) * Decimal("1.1")  # hand-computed: × 110 / 100
        assert (valuation.method, valuation.currency, valuation.status) == ("index", "GBP", ValuationStatus.APPROVED)
        assert (valuation.run_id, valuation.recorded_by_name) == (run.pk, "system:revaluation")
        assert valuation.inputs["appraisal_id"] == str(appraisal.pk) and valuation.approved_at is not None
        appraisal.refresh_from_db()
        assert appraisal.status == ValuationStatus.SUPERSEDED
        assert Asset.objects.get(pk=asset.pk).current_valuation_ref == valuation.pk
        (event,) = AuditEvent.objects.filter(action="valuation.recorded", object_id=str(valuation.pk))
        assert (event.actor, event.before, event.after) == ("system:revaluation", None, valuation_snapshot(valuation))
    assert AuditEvent.objects.count() == events_before + 4 and audit_chain_verify().valid


def test_a_later_current_valuation_stays_current_and_the_run_records_its_own_as_superseded(index_book, make_current):
    (asset, _), (other, _) = index_book(2)
    later = make_current(asset, "2000000.00", TODAY)
    _value(_run(), [asset, other])
    mine = Valuation.objects.get(asset=asset, as_of=AS_OF)
    later.refresh_from_db()
    assert (mine.status, later.status) == (ValuationStatus.SUPERSEDED, ValuationStatus.APPROVED)
    assert Asset.objects.get(pk=asset.pk).current_valuation_ref == later.pk
    assert Valuation.objects.get(asset=other, as_of=AS_OF).status == ValuationStatus.APPROVED


def test_failures_name_their_reason_the_rest_is_valued_and_a_later_success_clears_the_failure(
    index_book, make_asset, make_series
):
    (good, _), (unpriced, _) = index_book(2)
    ValuationPolicy.objects.filter(asset=unpriced).update(inputs={"series": "NOPE"})
    no_appraisal = make_asset("approved", name="Never appraised")
    ValuationPolicy.objects.create(asset=no_appraisal, method="index", inputs={"series": "HPI"})
    no_policy = make_asset("approved", name="No policy")
    run = _run()
    outcome = _value(run, [good, unpriced, no_appraisal, no_policy])
    assert outcome.valued == 1 and set(outcome.failures) == {str(unpriced.pk), str(no_appraisal.pk), str(no_policy.pk)}
    reasons = dict(RevaluationFailure.objects.filter(run=run).values_list("asset_id", "reason"))
    assert "NOPE" in reasons[unpriced.pk] and "no approved appraisal" in reasons[no_appraisal.pk]
    assert "no longer has a valuation policy" in reasons[no_policy.pk]
    ValuationPolicy.objects.filter(asset=unpriced).update(inputs={"series": "HPI"})
    again = _value(run, [good, unpriced, no_appraisal, no_policy])  # a retried chunk: the good one is skipped
    assert (again.valued, again.skipped) == (1, 1)
    assert set(RevaluationFailure.objects.filter(run=run).values_list("asset_id", flat=True)) == {
        no_appraisal.pk,
        no_policy.pk,
    }
    assert Valuation.objects.filter(as_of=AS_OF, run=run).count() == 2


def test_an_asset_valued_for_the_date_by_another_run_is_skipped_not_doubled(index_book):
    book = index_book(3)
    assets = [asset for asset, _ in book]
    _value(_run(), assets[:2])
    outcome = _value(_run(), assets)
    assert (outcome.valued, outcome.skipped) == (1, 2)
    assert all(Valuation.objects.filter(asset=a, as_of=AS_OF).count() == 1 for a in assets)


def test_the_number_of_queries_does_not_grow_with_the_chunk(index_book):
    book = index_book(12)
    assets = [asset for asset, _ in book]
    counts = []
    for chunk in (assets[:2], assets[2:]):
        run = _run()
        with CaptureQueriesContext(connection) as queries:
            assert _value(run, chunk).valued == len(chunk)
        counts.append(len(queries))
    # assets (locked) with their policies, their prior appraisals, their valuations valued already or current,
    # series and 2 levels, supersede, insert (COPY), current ref, failures, the run (locked), chain head, events
    # (COPY), head; and the savepoint pair of the transaction; on PostgreSQL the deferred checks run before the chain
    # head is locked (SET CONSTRAINTS ALL IMMEDIATE, then DEFERRED again)
    assert counts[0] == counts[1] == (18 if connection.vendor == "postgresql" else 16)


# method → (asset fields, policy inputs); each method reads the asset's type, currency or metadata
_POLICIES = {
    "depreciation": ({}, {"cost": "1000", "salvage_value": "100", "in_service": "2020-01-01",
                          "useful_life_years": "50"}),
    "dcf": ({"asset_type": "fixed_income", "currency": "USD",
             "metadata": {"principal": "1000", "coupon_rate": "5", "coupon_frequency": "annual",
                          "maturity_date": "2027-01-01", "issue_date": "2020-01-01"}}, {"discount_rate": "0.05"}),
    "market": ({"currency": "USD"}, {"quantity": "10", "series": "XAU-USD"}),
}  # fmt: skip


@pytest.mark.parametrize("method", sorted(_POLICIES))
def test_every_method_values_a_chunk_without_a_query_per_asset(method, make_asset, make_series):
    """The chunk loads only the asset fields the methods read: a method reading another one would cost a query per
    asset, and the count would grow with the chunk."""
    make_series("XAU-USD", observations={AS_OF - timedelta(days=3): "2000"})
    fields, inputs = _POLICIES[method]
    assets = [make_asset("approved", **fields) for _ in range(7)]
    for asset in assets:
        ValuationPolicy.objects.create(asset=asset, method=method, inputs=inputs)
    counts = []
    for chunk in (assets[:2], assets[2:]):
        with CaptureQueriesContext(connection) as queries:
            outcome = _value(_run(), chunk)
        assert (outcome.valued, outcome.failures) == (len(chunk), {}), outcome.failures
        counts.append(len(queries))
    assert counts[0] == counts[1]
