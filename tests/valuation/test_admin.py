"""The valuation admin: approve and reject actions go through the services (maker-checker, audit), figures are
read-only, and series and observations are added through the price services."""

from datetime import timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.valuation.conftest import TODAY
from valuation.models import PriceObservation, PriceSeries, Valuation, ValuationStatus

ADMIN = "/admin/valuation"


@pytest.fixture
def staff(users, valuer2):
    for user in [users["valuer"], users["auditor"], users["operator"], valuer2]:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return users | {"valuer2": valuer2}


def _action(client, action, objects, reason=""):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], "reason": reason, "index": "0"}
    return client.post(f"{ADMIN}/valuation/", data, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_second_valuer_approves_drafts_with_the_admin_action(client, staff, make_asset, appraise, make_current):
    asset = make_asset("approved")
    previous = make_current(asset, "900000", as_of=TODAY - timedelta(days=10))
    draft = appraise(asset, "950000")  # recorded by `valuer`
    client.force_login(staff["valuer2"])

    response = _action(client, "approve_valuations", [draft])

    assert response.status_code == 200
    assert "Approved: 1 valuation(s)." in _messages(response)
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by_id) == (ValuationStatus.APPROVED, staff["valuer2"].pk)
    assert Valuation.objects.get(pk=previous.pk).status == ValuationStatus.SUPERSEDED
    assert AuditEvent.objects.filter(action="valuation.approved", object_id=str(draft.pk)).count() == 1


def test_the_recorder_is_refused_with_a_message_and_the_others_go_on(client, staff, make_asset, appraise):
    own = appraise(make_asset("approved"), "100")  # by `valuer`
    theirs = appraise(make_asset("approved"), "200", by=staff["valuer2"])
    client.force_login(staff["valuer"])

    response = _action(client, "approve_valuations", [own, theirs])

    messages = _messages(response)
    assert any("Maker-checker" in message and own.asset.reference in message for message in messages), messages
    assert "Approved: 1 valuation(s)." in messages
    assert Valuation.objects.get(pk=own.pk).status == ValuationStatus.DRAFT
    assert Valuation.objects.get(pk=theirs.pk).status == ValuationStatus.APPROVED


def test_reject_needs_the_reason_from_the_action_bar(client, staff, make_asset, appraise):
    draft = appraise(make_asset("approved"))
    client.force_login(staff["valuer2"])

    refused = _action(client, "reject_valuations", [draft])
    assert any("needs a reason" in message for message in _messages(refused))
    assert Valuation.objects.get(pk=draft.pk).status == ValuationStatus.DRAFT

    _action(client, "reject_valuations", [draft], reason="Wrong floor area")
    draft.refresh_from_db()
    assert (draft.status, draft.status_reason) == (ValuationStatus.REJECTED, "Wrong floor area")


def test_only_valuers_see_the_actions_and_nobody_edits_figures(client, staff, make_asset, appraise):
    draft = appraise(make_asset("approved"))
    client.force_login(staff["auditor"])
    page = client.get(f"{ADMIN}/valuation/").content.decode()
    assert draft.asset.reference in page
    assert "approve_valuations" not in page
    refused = _action(client, "approve_valuations", [draft])
    assert Valuation.objects.get(pk=draft.pk).status == ValuationStatus.DRAFT
    assert refused.status_code == 200

    client.force_login(staff["valuer"])
    assert "approve_valuations" in client.get(f"{ADMIN}/valuation/").content.decode()
    change = client.get(f"{ADMIN}/valuation/{draft.pk}/change/").content.decode()
    assert 'name="value"' not in change and "1000000" in change  # read-only


def test_a_valuer_records_an_appraisal_through_the_add_form(client, staff, make_asset):
    asset = make_asset("approved")
    client.force_login(staff["valuer"])

    response = client.post(
        f"{ADMIN}/valuation/add/",
        {"asset": str(asset.pk), "method": "appraisal", "as_of": str(TODAY), "inputs": '{"value": "777000.00"}'},
        follow=True,
    )

    assert response.status_code == 200
    valuation = Valuation.objects.get(asset=asset)
    assert (valuation.status, valuation.value) == ("draft", Decimal("777000"))
    assert valuation.recorded_by_name == "valuer-user"
    assert AuditEvent.objects.filter(action="valuation.recorded", object_id=str(valuation.pk)).count() == 1

    bad = client.post(
        f"{ADMIN}/valuation/add/",
        {"asset": str(asset.pk), "method": "appraisal", "as_of": str(TODAY), "inputs": '{"value": "-1"}'},
    )
    assert bad.status_code == 200 and "value: Must be at least 0" in bad.content.decode()
    assert Valuation.objects.filter(asset=asset).count() == 1


def test_series_and_observations_are_added_through_the_price_services(client, staff):
    client.force_login(staff["valuer"])

    client.post(
        f"{ADMIN}/priceseries/add/",
        {"code": "xag-usd", "name": "Silver", "kind": "price", "unit": "troy_oz", "currency": "usd",
         "base_currency": ""},
    )  # fmt: skip
    series = PriceSeries.objects.get(code="XAG-USD")
    assert (series.currency, series.unit) == ("USD", "troy_oz")
    assert AuditEvent.objects.filter(action="price_series.created", object_id="XAG-USD").count() == 1

    client.post(f"{ADMIN}/priceobservation/add/", {"series": series.pk, "date": str(TODAY), "value": "29.125"})
    assert PriceObservation.objects.get(series=series).value == Decimal("29.125")
    duplicate = client.post(f"{ADMIN}/priceobservation/add/", {"series": series.pk, "date": str(TODAY), "value": "30"})
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()  # the form's own check
    assert PriceObservation.objects.filter(series=series).count() == 1
    assert AuditEvent.objects.filter(action="price_observations.added", object_id="XAG-USD").count() == 1

    again = client.post(f"{ADMIN}/priceseries/add/", {"code": "XAG-USD", "kind": "index"})
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert PriceSeries.objects.count() == 1

    page = client.get(f"{ADMIN}/priceseries/{series.pk}/change/").content.decode()
    assert "29.125" in page and f"series__id__exact={series.pk}" in page


def test_only_valuers_add_series(client, staff):
    client.force_login(staff["operator"])
    assert client.get(f"{ADMIN}/priceseries/").status_code == 200
    assert client.get(f"{ADMIN}/priceseries/add/").status_code == 403
    assert client.post(f"{ADMIN}/priceseries/add/", {"code": "X", "kind": "index"}).status_code == 403
    assert not PriceSeries.objects.exists()
