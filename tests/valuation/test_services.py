"""Valuation services: maker-checker, supersession, the current valuation, audit, and refusals."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assets.models import Asset
from assets.selectors import asset_revision
from audit.models import AuditEvent
from rwa_service.exceptions import Conflict, PermissionRefused, ValidationFailed
from tests.factories import UserFactory
from valuation.models import Valuation, ValuationStatus
from valuation.selectors import valuation_current
from valuation.services import valuation_approve, valuation_record, valuation_reject

TODAY = timezone.localdate()


@pytest.fixture
def valuer2(db):
    return UserFactory(username="valuer2-user", roles=["valuer"])


def _appraise(users, asset, value="1000000.00", as_of=TODAY, **inputs):
    return valuation_record(
        actor=users["valuer"], asset_id=asset.pk, method="appraisal", as_of=as_of, inputs={"value": value, **inputs}
    )


def test_an_appraisal_waits_as_a_draft_and_is_not_current(users, make_asset):
    asset = make_asset("approved")
    valuation = _appraise(users, asset)
    assert valuation.status == ValuationStatus.DRAFT and valuation.value == Decimal("1000000.00")
    assert valuation.currency == asset.currency and valuation.recorded_by_name == "valuer-user"
    assert valuation_current(asset_id=asset.pk) is None


def test_the_recorder_cannot_approve_or_reject_their_own_appraisal(users, make_asset):
    valuation = _appraise(users, make_asset("approved"))
    with pytest.raises(PermissionRefused) as approving:
        valuation_approve(actor=users["valuer"], valuation_id=valuation.pk)
    with pytest.raises(PermissionRefused):
        valuation_reject(actor=users["valuer"], valuation_id=valuation.pk, reason="no")
    assert approving.value.code == "maker_checker"
    assert Valuation.objects.get(pk=valuation.pk).status == ValuationStatus.DRAFT


def test_approval_by_a_second_valuer_makes_it_current_and_supersedes_the_previous(users, make_asset, valuer2):
    asset = make_asset("approved")
    first = _appraise(users, asset, "900000", as_of=TODAY - timedelta(days=30))
    valuation_approve(actor=valuer2, valuation_id=first.pk)
    before = asset_revision(user=users["auditor"], asset_id=asset.pk)
    second = _appraise(users, asset, "950000")
    approved = valuation_approve(actor=valuer2, valuation_id=second.pk)
    assert approved.status == ValuationStatus.APPROVED and approved.approved_by == valuer2
    assert Valuation.objects.get(pk=first.pk).status == ValuationStatus.SUPERSEDED
    assert valuation_current(asset_id=asset.pk).pk == second.pk
    after = asset_revision(user=users["auditor"], asset_id=asset.pk)  # the representation changed: a new ETag
    assert before.endswith(first.pk.hex) and after == f"{Asset.objects.get(pk=asset.pk).version}-{second.pk.hex}"


def test_an_older_appraisal_approved_later_does_not_displace_the_current_one(users, make_asset, valuer2):
    asset = make_asset("approved")
    recent = _appraise(users, asset, "950000")
    valuation_approve(actor=valuer2, valuation_id=recent.pk)
    older = _appraise(users, asset, "800000", as_of=TODAY - timedelta(days=400))
    approved = valuation_approve(actor=valuer2, valuation_id=older.pk)
    assert approved.status == ValuationStatus.SUPERSEDED and approved.approved_at is not None
    assert valuation_current(asset_id=asset.pk).pk == recent.pk


def test_a_future_as_of_is_refused_naming_the_field(users, make_asset):
    with pytest.raises(ValidationFailed) as refused:
        _appraise(users, make_asset("approved"), as_of=TODAY + timedelta(days=1))
    assert "as_of" in refused.value.errors
    assert not Valuation.objects.exists()


def test_bad_inputs_and_unknown_methods_are_refused_naming_the_field(users, make_asset):
    asset = make_asset("approved")
    with pytest.raises(ValidationFailed) as bad_value:
        _appraise(users, asset, value=1.5)  # a binary float is not money
    with pytest.raises(ValidationFailed) as unknown:
        valuation_record(actor=users["valuer"], asset_id=asset.pk, method="astrology", as_of=TODAY, inputs={})
    assert "value" in bad_value.value.errors and "method" in unknown.value.errors


def test_only_valuers_record(users, make_asset):
    with pytest.raises(PermissionRefused):
        valuation_record(
            actor=users["operator"], asset_id=make_asset().pk, method="appraisal", as_of=TODAY, inputs={"value": "1"}
        )


def test_a_rejection_needs_a_reason_and_a_decided_valuation_cannot_be_decided_again(users, make_asset, valuer2):
    valuation = _appraise(users, make_asset("approved"))
    with pytest.raises(ValidationFailed):
        valuation_reject(actor=valuer2, valuation_id=valuation.pk, reason="  ")
    rejected = valuation_reject(actor=valuer2, valuation_id=valuation.pk, reason="comparables are stale")
    assert rejected.status == ValuationStatus.REJECTED and rejected.status_reason == "comparables are stale"
    with pytest.raises(Conflict):
        valuation_approve(actor=valuer2, valuation_id=valuation.pk)


def test_each_service_writes_exactly_one_audit_event(users, make_asset, valuer2):
    asset = make_asset("approved")
    before = AuditEvent.objects.count()
    valuation = _appraise(users, asset)
    valuation_approve(actor=valuer2, valuation_id=valuation.pk)
    other = _appraise(users, asset, "1")
    valuation_reject(actor=valuer2, valuation_id=other.pk, reason="typo")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)[before:])
    assert actions == ["valuation.recorded", "valuation.approved", "valuation.recorded", "valuation.rejected"]


def test_a_failing_audit_write_rolls_the_valuation_back(users, make_asset, valuer2, monkeypatch):
    asset = make_asset("approved")
    valuation = _appraise(users, asset)

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("valuation.services.valuations.audit_event_record", broken)
    with pytest.raises(RuntimeError):
        valuation_approve(actor=valuer2, valuation_id=valuation.pk)
    assert Valuation.objects.get(pk=valuation.pk).status == ValuationStatus.DRAFT
    assert valuation_current(asset_id=asset.pk) is None


def test_the_asset_shows_its_current_valuation(users, make_asset, valuer2, client_for):
    asset = make_asset("approved")
    client = client_for(users["auditor"])
    assert client.get(f"/api/v1/assets/{asset.pk}/").json()["current_valuation"] is None
    valuation = _appraise(users, asset, "1234.5")
    valuation_approve(actor=valuer2, valuation_id=valuation.pk)
    shown = client.get(f"/api/v1/assets/{asset.pk}/").json()["current_valuation"]
    assert shown == {
        "id": str(valuation.pk),
        "method": "appraisal",
        "value": "1234.500000",
        "currency": asset.currency,
        "as_of": TODAY.isoformat(),
    }
    listed = client.get("/api/v1/assets/", {"status": "approved"}).json()["results"]
    assert next(a for a in listed if a["id"] == str(asset.pk))["current_valuation"] == shown


def test_the_database_refuses_to_change_a_recorded_valuations_figures(users, make_asset, valuer2):
    from django.db import DatabaseError, transaction

    valuation = _appraise(users, make_asset("approved"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Valuation.objects.filter(pk=valuation.pk).update(value=Decimal("1"))
    valuation_approve(actor=valuer2, valuation_id=valuation.pk)  # the status still moves
    assert Valuation.objects.get(pk=valuation.pk).value == Decimal("1000000.00")
