"""The valuation API's behaviour: recording and approving valuations (maker-checker), the lists and their filters,
price series and observations, and NAV per token with its staleness."""

from datetime import timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.rwa_service.problems import problem_of
from tests.valuation.conftest import COMMODITY_METADATA, TODAY
from valuation.models import PriceObservation, PriceSeries, Valuation, ValuationStatus
from valuation.selectors import valuation_current

API = "/api/v1/"


def _record(client, asset, value="1250000.00", as_of=TODAY, method="appraisal", **inputs):
    body = {"method": method, "as_of": str(as_of), "inputs": {"value": value, **inputs}}
    return client.post(f"{API}assets/{asset.pk}/valuations/", body, format="json")


# --- recording, approving, rejecting ---------------------------------------------------------------------------------


def test_an_appraisal_is_recorded_as_a_draft(users, client_for, make_asset):
    asset = make_asset("approved")
    response = _record(client_for(users["valuer"]), asset, "1250000.50", appraiser="Knight Frank")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["asset"], data["asset_reference"], data["method"]) == (str(asset.pk), asset.reference, "appraisal")
    assert (data["value"], data["currency"], data["as_of"], data["status"]) == (
        "1250000.500000", "GBP", str(TODAY), "draft",
    )  # fmt: skip
    assert (data["recorded_by"], data["approved_by"], data["approved_at"]) == ("valuer-user", None, None)
    assert data["inputs"] == {"value": "1250000.50", "currency": "GBP", "appraiser": "Knight Frank"}
    valuation = Valuation.objects.get(pk=data["id"])
    assert (valuation.status, valuation.value) == (ValuationStatus.DRAFT, Decimal("1250000.5"))
    assert AuditEvent.objects.filter(action="valuation.recorded", object_id=data["id"]).count() == 1
    assert valuation_current(asset_id=asset.pk) is None


def test_the_recorder_cannot_approve_their_own_valuation(users, client_for, make_asset):
    asset = make_asset("approved")
    valuer = client_for(users["valuer"])
    valuation_id = _record(valuer, asset).json()["id"]

    problem_of(valuer.post(f"{API}valuations/{valuation_id}/approve/"), status=403, code="maker_checker")
    problem_of(
        valuer.post(f"{API}valuations/{valuation_id}/reject/", {"reason": "typo"}, format="json"),
        status=403,
        code="maker_checker",
    )
    assert Valuation.objects.get(pk=valuation_id).status == ValuationStatus.DRAFT
    assert not AuditEvent.objects.filter(action__in=["valuation.approved", "valuation.rejected"]).exists()


def test_a_second_valuer_approves_it_becomes_current_and_the_previous_is_superseded(
    users, client_for, make_asset, make_current, valuer2
):
    asset = make_asset("approved")
    previous = make_current(asset, "900000", as_of=TODAY - timedelta(days=40))
    valuation_id = _record(client_for(users["valuer"]), asset, "950000").json()["id"]

    response = client_for(valuer2).post(f"{API}valuations/{valuation_id}/approve/")

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["approved_by"], data["recorded_by"]) == ("approved", "valuer2-user", "valuer-user")
    assert data["approved_at"] is not None
    assert Valuation.objects.get(pk=previous.pk).status == ValuationStatus.SUPERSEDED
    assert str(valuation_current(asset_id=asset.pk).pk) == valuation_id
    assert AuditEvent.objects.filter(action="valuation.approved", object_id=valuation_id).count() == 1
    # approving it again: it is no longer a draft
    problem_of(
        client_for(valuer2).post(f"{API}valuations/{valuation_id}/approve/"), status=409, code="valuation_not_draft"
    )


def test_a_valuation_dated_in_the_future_is_refused(users, client_for, make_asset):
    asset = make_asset("approved")
    response = _record(client_for(users["valuer"]), asset, as_of=TODAY + timedelta(days=1))

    body = problem_of(response, status=400, code="validation_error")
    assert "as_of" in body["errors"]
    assert not Valuation.objects.exists()


def test_an_unknown_method_or_a_float_value_is_refused_naming_the_field(users, client_for, make_asset):
    asset = make_asset("approved")
    valuer = client_for(users["valuer"])

    assert (
        "method"
        in problem_of(_record(valuer, asset, method="astrology"), status=400, code="validation_error")["errors"]
    )
    floats = valuer.post(
        f"{API}assets/{asset.pk}/valuations/",
        {"method": "appraisal", "as_of": str(TODAY), "inputs": {"value": 1000.5}},
        format="json",
    )
    assert "value" in problem_of(floats, status=400, code="validation_error")["errors"]
    assert not Valuation.objects.exists()


def test_reject_needs_a_reason(users, client_for, make_asset, appraise, valuer2):
    draft = appraise(make_asset("approved"))
    checker = client_for(valuer2)
    path = f"{API}valuations/{draft.pk}/reject/"

    for body in ({}, {"reason": ""}, {"reason": "   "}):
        problem = problem_of(checker.post(path, body, format="json"), status=400, code="validation_error")
        assert "reason" in problem["errors"]
    assert Valuation.objects.get(pk=draft.pk).status == ValuationStatus.DRAFT

    response = checker.post(path, {"reason": "Comparables are two years old"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["status_reason"]) == (
        "rejected", "Comparables are two years old",
    )  # fmt: skip
    event = AuditEvent.objects.get(action="valuation.rejected", object_id=str(draft.pk))
    assert event.reason == "Comparables are two years old"


# --- reading ------------------------------------------------------------------------------------------------------


def test_an_assets_valuations_newest_first_in_cursor_pages(users, client_for, make_asset, appraise, make_current):
    asset, other = make_asset("approved"), make_asset("approved")
    first = make_current(asset, "800000", as_of=TODAY - timedelta(days=100))
    second = appraise(asset, "850000")
    appraise(other, "1")
    client = client_for(users["auditor"])

    page = client.get(f"{API}assets/{asset.pk}/valuations/", {"page_size": 1}).json()
    assert [row["id"] for row in page["results"]] == [str(second.pk)]
    following = client.get(page["next"]).json()
    assert [row["id"] for row in following["results"]] == [str(first.pk)]
    assert following["next"] is None


def test_valuations_list_filters_by_asset_status_and_method(users, client_for, make_asset, appraise, make_current):
    asset, other = make_asset("approved"), make_asset("approved")
    current = make_current(asset, "800000")
    draft = appraise(asset, "850000")
    elsewhere = appraise(other, "5")
    client = client_for(users["operator"])

    def ids(**params):
        return {row["id"] for row in client.get(f"{API}valuations/", params).json()["results"]}

    assert ids() == {str(current.pk), str(draft.pk), str(elsewhere.pk)}
    assert ids(asset=str(asset.pk)) == {str(current.pk), str(draft.pk)}
    assert ids(status="draft") == {str(draft.pk), str(elsewhere.pk)}
    assert ids(status="approved", asset=str(asset.pk)) == {str(current.pk)}
    assert ids(method="appraisal") == ids()
    assert ids(method="dcf") == set()
    single = client.get(f"{API}valuations/{draft.pk}/").json()
    assert (single["id"], single["value"], single["status"]) == (str(draft.pk), "850000.000000", "draft")


def test_an_investor_sees_valuations_of_tokenized_assets_only(users, client_for, make_asset, make_token_over, appraise):
    visible = make_token_over().asset
    hidden = make_asset("approved")
    shown, not_shown = appraise(visible, "10"), appraise(hidden, "20")
    investor = client_for(users["investor"])

    assert [row["id"] for row in investor.get(f"{API}valuations/").json()["results"]] == [str(shown.pk)]
    problem_of(investor.get(f"{API}valuations/{not_shown.pk}/"), status=404, code="not_found")
    problem_of(investor.get(f"{API}assets/{hidden.pk}/valuations/"), status=404, code="not_found")
    assert investor.get(f"{API}assets/{visible.pk}/valuations/").status_code == 200


# --- price series and observations -----------------------------------------------------------------------------------


def test_a_valuer_creates_a_series_once(users, client_for):
    valuer = client_for(users["valuer"])
    body = {"code": "xau-usd", "name": "Gold", "kind": "price", "unit": "troy_oz", "currency": "usd"}

    response = valuer.post(f"{API}price-series/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json() | {"created_at": None, "updated_at": None} == {
        "code": "XAU-USD", "name": "Gold", "kind": "price", "unit": "troy_oz", "currency": "USD",
        "base_currency": "", "created_at": None, "updated_at": None,
    }  # fmt: skip
    assert response["Location"].endswith("/price-series/XAU-USD/")
    event = AuditEvent.objects.get(action="price_series.created", object_id="XAU-USD")
    assert (event.actor, event.object_type, event.after["currency"]) == ("valuer-user", "price_series", "USD")
    problem_of(valuer.post(f"{API}price-series/", body, format="json"), status=409, code="series_exists")
    assert valuer.get(f"{API}price-series/XAU-USD/").json()["name"] == "Gold"
    problem_of(valuer.get(f"{API}price-series/NOPE/"), status=404, code="not_found")


def test_an_fx_series_needs_both_currencies(users, client_for):
    response = client_for(users["valuer"]).post(
        f"{API}price-series/", {"code": "EUR-USD", "kind": "fx", "currency": "USD"}, format="json"
    )

    assert "base_currency" in problem_of(response, status=400, code="validation_error")["errors"]
    assert not PriceSeries.objects.exists()


def test_observations_are_added_as_a_list_or_one_object_and_read_newest_first(users, client_for, make_series):
    make_series("HPI-GB-LDN", kind="index")
    valuer = client_for(users["valuer"])
    path = f"{API}price-series/HPI-GB-LDN/observations/"
    day = TODAY - timedelta(days=10)

    added = valuer.post(
        path, [{"date": str(day), "value": "101.25"}, {"date": str(day + timedelta(days=1)), "value": "102"}],
        format="json",
    )  # fmt: skip
    assert added.status_code == 201, added.content
    assert [(row["date"], row["value"]) for row in added.json()] == [
        (str(day + timedelta(days=1)), "102.0000000000"), (str(day), "101.2500000000"),
    ]  # fmt: skip
    one = valuer.post(path, {"date": str(day + timedelta(days=2)), "value": "103.5"}, format="json")
    assert one.status_code == 201 and len(one.json()) == 1
    events = AuditEvent.objects.filter(action="price_observations.added", object_id="HPI-GB-LDN").order_by("seq")
    assert [event.after["count"] for event in events] == [2, 1]
    assert events[0].after["observations"] == [[str(day), "101.25"], [str(day + timedelta(days=1)), "102"]]

    page = valuer.get(path, {"page_size": 2}).json()
    assert [row["value"] for row in page["results"]] == ["103.5000000000", "102.0000000000"]
    assert [row["value"] for row in valuer.get(page["next"]).json()["results"]] == ["101.2500000000"]


def test_a_duplicate_date_is_409_and_nothing_of_the_call_is_stored(users, client_for, make_series):
    make_series("XAU-USD", observations={TODAY - timedelta(days=1): "2300"})
    path = f"{API}price-series/XAU-USD/observations/"
    rows = [{"date": str(TODAY - timedelta(days=2)), "value": "2290"}, {"date": str(TODAY - timedelta(days=1)),
            "value": "2301"}]  # fmt: skip
    events = AuditEvent.objects.count()

    response = client_for(users["valuer"]).post(path, rows, format="json")

    body = problem_of(response, status=409, code="observation_exists")

    assert body["duplicates"] == [
        {
            "index": 1,
            "date": str(TODAY - timedelta(days=1)),
            "reason": "the series already has this date",
            "stored_value": "2300.0000000000",
        }
    ]
    assert list(PriceObservation.objects.values_list("value", flat=True)) == [Decimal("2300")]
    assert AuditEvent.objects.count() == events


def test_malformed_observations_are_400_naming_each_row(users, client_for, make_series):
    make_series("XAU-USD")
    rows = [
        {"date": str(TODAY), "value": "1.5"},
        {"date": "2026-02-30", "value": "1"},
        {"date": str(TODAY), "value": 2.5},
        {"date": str(TODAY - timedelta(days=3)), "value": "-4"},
        {"date": str(TODAY + timedelta(days=1)), "value": "abc"},
    ]

    response = client_for(users["valuer"]).post(f"{API}price-series/XAU-USD/observations/", rows, format="json")

    errors = problem_of(response, status=400, code="validation_error")["errors"]
    assert sorted(errors) == ["1.date", "2.value", "3.value", "4.date", "4.value"]
    assert not PriceObservation.objects.exists()


# --- NAV ------------------------------------------------------------------------------------------------------------


def test_nav_is_the_current_value_over_the_supply_in_whole_tokens(users, client_for, make_token_over, make_current):
    token = make_token_over(supply=50_000, decimals=2)  # 500.00 tokens
    valuation = make_current(token.asset, "1250000.00", as_of=TODAY - timedelta(days=10))

    response = client_for(users["investor"]).get(f"{API}tokens/{token.pk}/nav/")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "token": str(token.pk), "symbol": token.symbol, "asset": str(token.asset_id), "valuation": str(valuation.pk),
        "method": "appraisal", "currency": "GBP", "as_of": str(TODAY - timedelta(days=10)),
        "value": "1250000.000000", "total_supply": "50000", "decimals": 2, "supply": "500.00",
        "nav_per_token": "2500.0000000000", "stale": False, "stale_after_days": 365,
    }  # fmt: skip


def test_nav_rounds_to_ten_places_half_even(users, client_for, make_token_over, make_current):
    token = make_token_over(supply=3)
    make_current(token.asset, "1000000")

    data = client_for(users["valuer"]).get(f"{API}tokens/{token.pk}/nav/").json()

    assert (data["supply"], data["nav_per_token"]) == ("3", "333333.3333333333")
    assert Decimal(data["nav_per_token"]) == (Decimal(1000000) / 3).quantize(Decimal("1E-10"))


@pytest.mark.parametrize(
    ("asset_fields", "age_days", "stale"),
    [
        ({}, 365, False),  # real estate: a year
        ({}, 366, True),
        ({"asset_type": "commodity", "metadata": COMMODITY_METADATA}, 1, False),  # commodities: a day
        ({"asset_type": "commodity", "metadata": COMMODITY_METADATA}, 2, True),
    ],
)
def test_nav_is_stale_by_the_asset_types_policy(
    asset_fields, age_days, stale, users, client_for, make_token_over, make_current
):
    token = make_token_over(supply=10, **asset_fields)
    make_current(token.asset, "100", as_of=TODAY - timedelta(days=age_days))

    data = client_for(users["auditor"]).get(f"{API}tokens/{token.pk}/nav/").json()

    assert (data["stale"], data["nav_per_token"]) == (stale, "10.0000000000")


def test_nav_stale_policy_can_be_overridden_by_a_setting(users, client_for, make_token_over, make_current, settings):
    settings.VALUATION_STALE_AFTER_DAYS = {"real_estate": 7}
    token = make_token_over(supply=10)
    make_current(token.asset, "100", as_of=TODAY - timedelta(days=8))

    data = client_for(users["auditor"]).get(f"{API}tokens/{token.pk}/nav/").json()

    assert (data["stale"], data["stale_after_days"]) == (True, 7)


def test_nav_without_a_current_valuation_or_without_supply_is_409(
    users, client_for, make_token_over, appraise, make_current
):
    client = client_for(users["operator"])
    unvalued = make_token_over(supply=10)
    appraise(unvalued.asset, "100")  # a draft is not current
    problem_of(client.get(f"{API}tokens/{unvalued.pk}/nav/"), status=409, code="no_current_valuation")

    empty = make_token_over(supply=0)
    make_current(empty.asset, "100")
    problem_of(client.get(f"{API}tokens/{empty.pk}/nav/"), status=409, code="no_supply")
