"""Valuation policies (how runs revalue an asset): set through the service, the admin, audited, validated."""

import pytest

from audit.models import AuditEvent
from rwa_service.exceptions import NotFound, PermissionRefused, ValidationFailed
from valuation.models import RevaluationRun, RunStatus, ValuationPolicy
from valuation.services import valuation_policy_remove, valuation_policy_set

DEPRECIATION = {"cost": "1000", "salvage_value": "0", "in_service": "2020-01-01", "useful_life_years": "10"}


def test_a_policy_is_validated_by_its_method_and_audited(users, make_asset):
    asset = make_asset("approved")
    policy = valuation_policy_set(actor=users["valuer"], asset_id=asset.pk, method="depreciation", inputs=DEPRECIATION)
    assert policy.method == "depreciation" and policy.inputs["currency"] == asset.currency
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.object_id, event.before) == ("valuation_policy.set", str(asset.pk), None)
    with pytest.raises(ValidationFailed) as bad:
        valuation_policy_set(actor=users["valuer"], asset_id=asset.pk, method="depreciation", inputs={"cost": "x"})
    assert "cost" in bad.value.errors
    assert ValuationPolicy.objects.get(asset=asset).inputs["cost"] == "1000"


def test_a_manual_method_cannot_be_a_policy_and_only_valuers_set_one(users, make_asset):
    asset = make_asset("approved")
    with pytest.raises(ValidationFailed):
        valuation_policy_set(actor=users["valuer"], asset_id=asset.pk, method="appraisal", inputs={"value": "1"})
    with pytest.raises(PermissionRefused):
        valuation_policy_set(actor=users["operator"], asset_id=asset.pk, method="depreciation", inputs=DEPRECIATION)
    assert not ValuationPolicy.objects.exists()


def test_removing_a_policy(users, make_asset):
    asset = make_asset("approved")
    valuation_policy_set(actor=users["valuer"], asset_id=asset.pk, method="depreciation", inputs=DEPRECIATION)
    valuation_policy_remove(actor=users["valuer"], asset_id=asset.pk)
    assert not ValuationPolicy.objects.exists()
    with pytest.raises(NotFound):
        valuation_policy_remove(actor=users["valuer"], asset_id=asset.pk)


@pytest.fixture
def staff_valuer(users):
    users["valuer"].is_staff = True
    users["valuer"].save(update_fields=["is_staff"])
    return users["valuer"]


def test_the_admin_sets_a_policy_through_the_service(client, staff_valuer, make_asset):
    asset = make_asset("approved")
    client.force_login(staff_valuer)
    response = client.post(
        "/admin/valuation/valuationpolicy/add/",
        {
            "asset": asset.pk,
            "method": "depreciation",
            "inputs": '{"cost": "500", "salvage_value": "0", "in_service": "2021-01-01", "useful_life_years": "5"}',
        },  # fmt: skip
        follow=True,
    )
    assert response.status_code == 200
    assert ValuationPolicy.objects.get(asset=asset).inputs["cost"] == "500"
    assert AuditEvent.objects.filter(action="valuation_policy.set").count() == 1


def test_the_admin_lists_runs_and_cancels_an_open_one(client, staff_valuer):
    from django.utils import timezone

    run = RevaluationRun.objects.create(as_of=timezone.localdate(), status=RunStatus.RUNNING, started_by="x", total=3)
    client.force_login(staff_valuer)
    assert client.get("/admin/valuation/revaluationrun/").status_code == 200
    assert client.get(f"/admin/valuation/revaluationrun/{run.pk}/change/").status_code == 200
    data = {"action": "cancel_runs", "_selected_action": [str(run.pk)], "index": "0"}
    client.post("/admin/valuation/revaluationrun/", data, follow=True)
    assert RevaluationRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED


@pytest.mark.django_db
@pytest.mark.parametrize("asset_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_policy_for_an_asset_id_that_names_nothing_is_not_found(users, asset_id):
    with pytest.raises(NotFound, match="No such asset"):
        valuation_policy_set(actor=users["valuer"], asset_id=asset_id, method="index", inputs={"series": "HPI"})
    with pytest.raises(NotFound, match="No such asset"):
        valuation_policy_remove(actor=users["valuer"], asset_id=asset_id)
