"""The computed valuation methods (index, dcf, depreciation, market) against hand-computed values, their edge cases,
their input validation, and one through the record service."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from assets.selectors import asset_revision
from rwa_service.exceptions import ValidationFailed
from tests.factories import UserFactory
from valuation.errors import ValuationError
from valuation.methods import method_codes, method_for
from valuation.methods.base import AssetFacts
from valuation.methods.dcf import months_before
from valuation.models import PriceObservation, PriceSeries, Valuation, ValuationStatus
from valuation.prices import StoredPrices
from valuation.selectors import valuation_current
from valuation.services import valuation_approve, valuation_record

FIXED_INCOME = {
    "principal": "1000",
    "coupon_rate": "5",
    "coupon_frequency": "annual",
    "issue_date": "2022-01-01",
    "maturity_date": "2027-01-01",
}
PRIVATE_CREDIT = {
    "borrower": "Acme Ltd",
    "principal": "500000",
    "interest_rate": "8",
    "maturity_date": "2026-01-01",
    "seniority": "senior_secured",
}
GOLD = {"commodity": "gold", "quantity": "100", "unit": "troy_oz", "vault": "Zurich", "price_series": "XAU-USD"}


def _series(code, kind, *, currency="", base_currency="", observations=()):
    series = PriceSeries.objects.create(code=code, kind=kind, currency=currency, base_currency=base_currency)
    for day, value in observations:
        PriceObservation.objects.create(series=series, date=day, value=Decimal(value))
    return series


def _value(method, asset, as_of, inputs, prices=None):
    chosen = method_for(method)
    cleaned = chosen.validate(inputs, asset=asset)
    return chosen.compute(asset=asset, as_of=as_of, inputs=cleaned, prices=prices or StoredPrices())


def _appraisal(asset, value, as_of, *, status=ValuationStatus.APPROVED, currency=None):
    return Valuation.objects.create(
        asset=asset,
        method="appraisal",
        value=Decimal(value),
        currency=currency or asset.currency,
        as_of=as_of,
        inputs={"value": value},
        status=status,
        approved_at=timezone.now() if status in (ValuationStatus.APPROVED, ValuationStatus.SUPERSEDED) else None,
        recorded_by_name="valuer-user",
    )


def _refusal(method, asset, inputs) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        method_for(method).validate(inputs, asset=asset)
    return caught.value.errors


def test_every_method_is_registered():
    assert method_codes() == ["appraisal", "dcf", "depreciation", "index", "market"]
    assert not any(method_for(code).manual for code in ["dcf", "depreciation", "index", "market"])


# --- index ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def hpi(db):
    return _series(
        "HPI-GB-LDN",
        "index",
        observations=[(date(2023, 12, 1), "200"), (date(2024, 3, 1), "205"), (date(2024, 6, 30), "210")],
    )


def test_index_moves_the_last_approved_appraisal_by_the_index(make_asset, hpi):
    asset = make_asset("approved")
    _appraisal(asset, "800000", date(2023, 6, 1), status=ValuationStatus.SUPERSEDED)  # older
    appraisal = _appraisal(asset, "1000000", date(2024, 1, 1))  # the one the index moves
    _appraisal(asset, "5000000", date(2024, 2, 1), status=ValuationStatus.DRAFT)  # not approved
    _appraisal(asset, "6000000", date(2024, 2, 2), status=ValuationStatus.REJECTED)  # not approved
    _appraisal(asset, "7000000", date(2024, 8, 1), status=ValuationStatus.SUPERSEDED)  # after as_of
    computed = _value("index", asset, date(2024, 7, 15), {"series": "HPI-GB-LDN"})
    # Levels: on or before 2024-01-01 → 200 (2023-12-01); on or before 2024-07-15 → 210 (2024-06-30).
    # 1,000,000 × 210 / 200 = 1,050,000
    assert computed.value == Decimal("1050000.000000") and computed.currency == "GBP"
    assert computed.inputs == {
        "series": "HPI-GB-LDN",
        "appraisal_id": str(appraisal.pk),
        "appraisal_as_of": "2024-01-01",
        "appraisal_value": "1000000.000000",
        "appraisal_currency": "GBP",
        "base_index_date": "2023-12-01",
        "base_index_level": "200.0000000000",
        "index_date": "2024-06-30",
        "index_level": "210.0000000000",
    }


def test_index_rounds_half_even_to_six_places_in_the_appraisal_currency(make_asset, db):
    _series("HPI-X", "index", observations=[(date(2024, 1, 1), "112.7"), (date(2024, 5, 1), "118.4")])
    asset = make_asset("approved")
    _appraisal(asset, "250000", date(2024, 1, 1), currency="EUR")
    computed = _value("index", asset, date(2024, 5, 1), {"series": "HPI-X"})
    # 250,000 × 118.4 / 112.7 = 29,600,000 / 112.7 = 262,644.18811002661… → 262644.188110
    assert computed.value == Decimal("262644.188110") and computed.currency == "EUR"


def test_index_needs_a_prior_approved_appraisal(make_asset, hpi):
    asset = make_asset("approved")
    _appraisal(asset, "1000000", date(2024, 1, 1), status=ValuationStatus.DRAFT)
    _appraisal(asset, "1000000", date(2024, 9, 1))  # later than as_of
    with pytest.raises(ValuationError) as caught:
        _value("index", asset, date(2024, 7, 15), {"series": "HPI-GB-LDN"})
    assert caught.value.code == "no_appraisal" and "2024-07-15" in caught.value.detail


def test_index_refuses_a_missing_series_or_a_price_series(make_asset, db):
    asset = make_asset("approved")
    _appraisal(asset, "1000000", date(2024, 1, 1))
    _series("XAU-USD", "price", currency="USD", observations=[(date(2024, 1, 1), "2000")])
    with pytest.raises(ValuationError) as missing:
        _value("index", asset, date(2024, 7, 15), {"series": "HPI-NOPE"})
    with pytest.raises(ValuationError) as wrong_kind:
        _value("index", asset, date(2024, 7, 15), {"series": "XAU-USD"})
    assert missing.value.code == "series_missing" and "HPI-NOPE" in missing.value.detail
    assert wrong_kind.value.code == "series_wrong_kind"


def test_index_needs_an_observation_at_the_appraisal_date(make_asset, db):
    _series("HPI-NEW", "index", observations=[(date(2024, 3, 1), "100")])  # starts after the appraisal
    asset = make_asset("approved")
    _appraisal(asset, "1000000", date(2024, 1, 1))
    with pytest.raises(ValuationError) as caught:
        _value("index", asset, date(2024, 7, 15), {"series": "HPI-NEW"})
    assert caught.value.code == "no_price" and "2024-01-01" in caught.value.detail


class _ZeroIndex(StoredPrices):
    """The database refuses a level of zero; a price source may still report one."""

    def observation(self, *, code, on_or_before):
        return (date(2023, 12, 1), Decimal(0)) if on_or_before < date(2024, 2, 1) else (date(2024, 6, 30), Decimal(1))


def test_index_refuses_a_level_of_zero(make_asset, hpi):
    asset = make_asset("approved")
    _appraisal(asset, "1000000", date(2024, 1, 1))
    with pytest.raises(ValuationError) as caught:
        _value("index", asset, date(2024, 7, 15), {"series": "HPI-GB-LDN"}, prices=_ZeroIndex())
    assert caught.value.code == "index_not_positive" and "2023-12-01" in caught.value.detail


def test_index_inputs_name_the_series(make_asset, db):
    asset = make_asset("approved")
    assert set(_refusal("index", asset, {})) == {"series"}
    assert set(_refusal("index", asset, {"series": 12})) == {"series"}
    assert set(_refusal("index", asset, {"series": "  "})) == {"series"}


# --- dcf ------------------------------------------------------------------------------------------------------------


def test_dcf_discounts_explicit_cash_flows_ignoring_paid_ones(make_asset):
    asset = make_asset("approved", currency="USD")
    inputs = {
        "discount_rate": "0.05",
        "cash_flows": [
            {"date": "2027-01-01", "amount": "110.25"},
            {"date": "2026-01-01", "amount": "105"},
            {"date": "2026-01-01", "amount": "-52.50"},  # a payment out
            {"date": "2025-01-01", "amount": "999"},  # on as_of: already paid
            {"date": "2024-06-01", "amount": 999},  # before as_of: already paid
        ],
    }
    computed = _value("dcf", asset, date(2025, 1, 1), inputs)
    # t = 365/365 = 1 for 2026-01-01, 730/365 = 2 for 2027-01-01, r = 5%:
    # 105 / 1.05 + (−52.50) / 1.05 + 110.25 / 1.05² = 100 − 50 + 110.25 / 1.1025 (= 100) = 150
    assert computed.value == Decimal("150.000000") and computed.currency == "USD"
    assert computed.inputs["ignored_paid_flows"] == 2
    assert [flow["present_value"] for flow in computed.inputs["discounted"]] == [
        "100.000000",
        "-50.000000",
        "100.000000",
    ]


def test_dcf_uses_fractional_years(make_asset):
    asset = make_asset("approved")
    inputs = {"discount_rate": "0.61051", "cash_flows": [{"date": "2025-03-15", "amount": "110"}], "currency": "eur"}
    computed = _value("dcf", asset, date(2025, 1, 1), inputs)
    # 2025-01-01 → 2025-03-15 is 73 days: t = 73/365 = 0.2; 1.61051 = 1.1⁵, so 1.61051^0.2 = 1.1; 110 / 1.1 = 100
    assert computed.value == Decimal("100.000000") and computed.currency == "EUR"


def test_dcf_a_negative_total_is_a_negative_value(make_asset):
    asset = make_asset("approved")
    inputs = {"discount_rate": "0", "cash_flows": [{"date": "2026-01-01", "amount": "-10.5"}]}
    # r = 0: the flows are undiscounted: −10.5
    assert _value("dcf", asset, date(2025, 1, 1), inputs).value == Decimal("-10.500000")


def test_dcf_derives_fixed_income_flows_from_the_metadata(make_asset):
    asset = make_asset("approved", asset_type="fixed_income", currency="USD", metadata=dict(FIXED_INCOME))
    computed = _value("dcf", asset, date(2025, 1, 1), {"discount_rate": "0.05"})
    # Annual coupons of 1000 × 5% = 50 on 2026-01-01 and 2027-01-01 (2025-01-01 is as_of: paid), principal at maturity:
    # 50 / 1.05 + (50 + 1000) / 1.05² = 47.619047… + 952.380952… = 1000 (a par bond at its coupon rate)
    assert computed.value == Decimal("1000.000000") and computed.currency == "USD"
    assert [(flow["date"], flow["amount"]) for flow in computed.inputs["discounted"]] == [
        ("2026-01-01", "50"),
        ("2027-01-01", "50"),
        ("2027-01-01", "1000"),
    ]
    assert computed.inputs["schedule"]["coupon_rate"] == "5" and "cash_flows" not in computed.inputs


def test_dcf_reads_the_metadata_of_asset_facts_given_as_json_text(make_asset):
    asset = make_asset("approved", asset_type="fixed_income", currency="USD", metadata=dict(FIXED_INCOME))
    facts = AssetFacts(pk=asset.pk, asset_type="fixed_income", currency="USD", metadata_json=json.dumps(FIXED_INCOME))
    assert "metadata" not in vars(facts)  # parsed when a method first reads it, once
    method = method_for("dcf")
    inputs = method.validate({"discount_rate": "0.05"}, asset=facts)
    computed = method.compute(asset=facts, as_of=date(2025, 1, 1), inputs=inputs, prices=StoredPrices())
    assert computed == _value("dcf", asset, date(2025, 1, 1), {"discount_rate": "0.05"})
    assert vars(facts)["metadata"] == FIXED_INCOME


def test_dcf_derives_semiannual_coupons(make_asset):
    metadata = FIXED_INCOME | {"coupon_rate": "4", "coupon_frequency": "semiannual", "maturity_date": "2026-01-01"}
    asset = make_asset("approved", asset_type="fixed_income", metadata=metadata)
    computed = _value("dcf", asset, date(2025, 2, 1), {"discount_rate": "0"})
    # Coupons of 1000 × 4% / 2 = 20 on 2025-07-01 and 2026-01-01 (2025-01-01 is before as_of), principal 1000;
    # r = 0: 20 + 20 + 1000 = 1040
    assert computed.value == Decimal("1040.000000")
    assert [flow["date"] for flow in computed.inputs["discounted"]] == ["2025-07-01", "2026-01-01", "2026-01-01"]


def test_dcf_zero_coupon_pays_only_the_principal(make_asset):
    metadata = FIXED_INCOME | {"coupon_frequency": "zero"}
    asset = make_asset("approved", asset_type="fixed_income", metadata=metadata)
    computed = _value("dcf", asset, date(2025, 1, 1), {"discount_rate": "0.05"})
    # 1000 / 1.05² = 1000 / 1.1025 = 907.029478458… → 907.029478
    assert computed.value == Decimal("907.029478")


def test_dcf_derives_private_credit_flows_with_annual_interest(make_asset):
    asset = make_asset("approved", asset_type="private_credit", metadata=dict(PRIVATE_CREDIT))
    computed = _value("dcf", asset, date(2025, 1, 1), {"discount_rate": "0.08"})
    # Interest 500,000 × 8% = 40,000 and principal on 2026-01-01 (t = 1): 540,000 / 1.08 = 500,000
    assert computed.value == Decimal("500000.000000")
    assert computed.inputs["schedule"]["coupon_frequency"] == "annual"


def test_dcf_refuses_a_past_maturity(make_asset):
    metadata = FIXED_INCOME | {"maturity_date": "2024-12-31"}
    asset = make_asset("approved", asset_type="fixed_income", metadata=metadata)
    with pytest.raises(ValuationError) as caught:
        _value("dcf", asset, date(2025, 1, 1), {"discount_rate": "0.05"})
    assert caught.value.code == "matured" and "matured on 2024-12-31" in caught.value.detail


def test_dcf_refuses_when_every_flow_is_paid(make_asset):
    asset = make_asset("approved")
    inputs = {"discount_rate": "0.05", "cash_flows": [{"date": "2024-01-01", "amount": "100"}]}
    with pytest.raises(ValuationError) as caught:
        _value("dcf", asset, date(2025, 1, 1), inputs)
    assert caught.value.code == "no_future_cash_flows"


def test_dcf_inputs_name_every_bad_field(make_asset):
    asset = make_asset("approved")
    errors = _refusal(
        "dcf",
        asset,
        {
            "discount_rate": "-1",
            "currency": "ABC",
            "coupon_frequency": "weekly",
            "cash_flows": [
                {"date": "2026-01-01", "amount": 1.5},
                {"date": "01/01/2026", "amount": "1"},
                {"amount": "x"},
                "nope",
            ],
        },
    )
    assert set(errors) == {
        "discount_rate",
        "currency",
        "coupon_frequency",
        "cash_flows.0.amount",
        "cash_flows.1.date",
        "cash_flows.2.date",
        "cash_flows.2.amount",
        "cash_flows.3",
    }
    assert set(_refusal("dcf", asset, {"discount_rate": 0.05, "cash_flows": []})) == {"discount_rate", "cash_flows"}
    assert set(_refusal("dcf", asset, {"discount_rate": "0", "cash_flows": {}, "coupon_frequency": ["annual"]})) == {
        "cash_flows",
        "coupon_frequency",
    }


def test_dcf_needs_cash_flows_for_an_asset_without_a_schedule(make_asset):
    asset = make_asset("approved")  # real estate
    errors = _refusal("dcf", asset, {"discount_rate": "0.05"})
    assert set(errors) == {"cash_flows"}


def test_months_before_keeps_the_day_or_clips_it_to_the_month_end():
    maturity = date(2026, 8, 31)
    assert [months_before(maturity, 3 * step) for step in range(5)] == [
        date(2026, 8, 31),
        date(2026, 5, 31),
        date(2026, 2, 28),
        date(2025, 11, 30),
        date(2025, 8, 31),
    ]
    assert months_before(date(2025, 1, 15), 1) == date(2024, 12, 15)


# --- depreciation ---------------------------------------------------------------------------------------------------

DEPRECIATION = {"cost": "10000", "salvage_value": "1000", "in_service": "2021-01-01", "useful_life_years": "5"}


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # 730 days = 2 years: 10,000 − 9,000 × 2/5 = 6,400
        (date(2023, 1, 1), "6400.000000"),
        # 90 days: 10,000 − 9,000 × 90/(365 × 5) = 10,000 − 443.835616438… = 9,556.164383561… → 9556.164384
        (date(2021, 4, 1), "9556.164384"),
        # in service that day: nothing depreciated yet
        (date(2021, 1, 1), "10000.000000"),
        # before it is in service: the cost
        (date(2020, 6, 1), "10000.000000"),
        # 1826 days (2024 is a leap year) > 5 × 365: past its life, the salvage value
        (date(2026, 1, 1), "1000.000000"),
        (date(2040, 1, 1), "1000.000000"),
    ],
)
def test_depreciation_is_straight_line_from_cost_to_salvage(make_asset, as_of, expected):
    computed = _value("depreciation", make_asset("approved"), as_of, dict(DEPRECIATION))
    assert computed.value == Decimal(expected) and computed.currency == "GBP"


def test_depreciation_records_how_far_it_has_gone(make_asset):
    asset = make_asset("approved")
    past = _value("depreciation", asset, date(2026, 1, 1), DEPRECIATION | {"currency": "USD"})
    assert past.inputs["fully_depreciated"] is True and past.currency == "USD"
    assert past.inputs["elapsed_days"] == 1826 and past.inputs["depreciated_fraction"] == "1.0000000000"
    midway = _value("depreciation", asset, date(2023, 1, 1), DEPRECIATION | {"useful_life_years": "2.5"})
    # 2 of 2.5 years: 10,000 − 9,000 × 0.8 = 2,800
    assert midway.value == Decimal("2800.000000") and midway.inputs["fully_depreciated"] is False


def test_depreciation_inputs_name_every_bad_field(make_asset):
    asset = make_asset("approved")
    errors = _refusal(
        "depreciation",
        asset,
        {"cost": 10000.0, "salvage_value": "-1", "in_service": "2021-13-01", "useful_life_years": "0"},
    )
    assert set(errors) == {"cost", "salvage_value", "in_service", "useful_life_years"}
    assert set(_refusal("depreciation", asset, DEPRECIATION | {"salvage_value": "10000.01"})) == {"salvage_value"}
    assert set(_refusal("depreciation", asset, {})) == {"cost", "salvage_value", "in_service", "useful_life_years"}


# --- market ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def gold_price(db):
    return _series(
        "XAU-USD",
        "price",
        currency="USD",
        observations=[(date(2025, 1, 10), "2650.50"), (date(2025, 1, 20), "2700.25")],
    )


def test_market_is_quantity_times_the_latest_price(make_asset, gold_price):
    asset = make_asset("approved", currency="USD")
    computed = _value("market", asset, date(2025, 1, 15), {"quantity": "12.5", "series": "XAU-USD"})
    # The price on or before 2025-01-15 is 2,650.50 (2025-01-10): 12.5 × 2,650.50 = 33,131.25 USD
    assert computed.value == Decimal("33131.250000") and computed.currency == "USD"
    assert computed.inputs["price_date"] == "2025-01-10" and computed.inputs["price_currency"] == "USD"


def test_market_converts_to_the_asset_currency(make_asset, gold_price):
    _series("GBP-USD", "fx", currency="USD", base_currency="GBP", observations=[(date(2025, 1, 1), "1.25")])
    asset = make_asset("approved")  # GBP
    computed = _value("market", asset, date(2025, 1, 15), {"quantity": "12.5", "series": "XAU-USD"})
    # 12.5 × 2,650.50 = 33,131.25 USD; GBP-USD is 1.25 USD per GBP: 33,131.25 / 1.25 = 26,505 GBP
    assert computed.value == Decimal("26505.000000") and computed.currency == "GBP"


def test_market_converts_to_the_currency_the_inputs_give(make_asset, gold_price):
    _series("USD-EUR", "fx", currency="EUR", base_currency="USD", observations=[(date(2025, 1, 2), "0.92")])
    asset = make_asset("approved")
    inputs = {"quantity": "12.5", "series": "XAU-USD", "currency": "EUR"}
    computed = _value("market", asset, date(2025, 1, 20), inputs)
    # 12.5 × 2,700.25 = 33,753.125 USD; × 0.92 EUR per USD = 31,052.875 EUR
    assert computed.value == Decimal("31052.875000") and computed.currency == "EUR"


def test_market_refuses_a_missing_fx_rate(make_asset, gold_price):
    asset = make_asset("approved", currency="CHF")
    with pytest.raises(ValuationError) as caught:
        _value("market", asset, date(2025, 1, 15), {"quantity": "1", "series": "XAU-USD"})
    assert caught.value.code == "fx_missing" and "CHF" in caught.value.detail


def test_market_refuses_no_price_a_missing_series_or_an_index(make_asset, gold_price, hpi):
    asset = make_asset("approved", currency="USD")
    with pytest.raises(ValuationError) as early:
        _value("market", asset, date(2025, 1, 9), {"quantity": "1", "series": "XAU-USD"})
    with pytest.raises(ValuationError) as missing:
        _value("market", asset, date(2025, 1, 15), {"quantity": "1", "series": "XAG-USD"})
    with pytest.raises(ValuationError) as index:
        _value("market", asset, date(2025, 1, 15), {"quantity": "1", "series": "HPI-GB-LDN"})
    assert (early.value.code, missing.value.code, index.value.code) == (
        "no_price",
        "series_missing",
        "series_wrong_kind",
    )


def test_market_takes_a_commodity_quantity_and_series_from_its_metadata(make_asset, gold_price):
    asset = make_asset("approved", asset_type="commodity", currency="USD", metadata=dict(GOLD))
    computed = _value("market", asset, date(2025, 1, 20), {})
    # 100 troy oz × 2,700.25 = 270,025 USD
    assert computed.value == Decimal("270025.000000")
    assert computed.inputs["quantity"] == "100" and computed.inputs["series"] == "XAU-USD"


def test_market_inputs_name_every_bad_field(make_asset, db):
    asset = make_asset("approved")
    assert set(_refusal("market", asset, {})) == {"quantity", "series"}
    assert set(_refusal("market", asset, {"quantity": "0", "series": "XAU-USD", "currency": "usdollar"})) == {
        "quantity",
        "currency",
    }
    assert set(_refusal("market", asset, {"quantity": 1.5, "series": "XAU-USD"})) == {"quantity"}
    assert set(_refusal("market", asset, {"quantity": "-3", "series": "XAU-USD"})) == {"quantity"}


# --- through the record service -------------------------------------------------------------------------------------


def test_a_computed_valuation_is_recorded_approved_and_current(users, make_asset, gold_price):
    asset = make_asset("approved", currency="USD")
    revision = asset_revision(user=users["auditor"], asset_id=asset.pk)
    valuation = valuation_record(
        actor=users["valuer"],
        asset_id=asset.pk,
        method="market",
        as_of=date(2025, 1, 15),
        inputs={"quantity": "12.5", "series": "XAU-USD"},
    )
    # 12.5 × 2,650.50 = 33,131.25 USD
    assert valuation.status == ValuationStatus.APPROVED and valuation.approved_at is not None
    assert (valuation.value, valuation.currency, valuation.method) == (Decimal("33131.250000"), "USD", "market")
    assert valuation_current(asset_id=asset.pk).pk == valuation.pk
    stored = Valuation.objects.get(pk=valuation.pk)
    assert stored.inputs["price"] == "2650.5000000000" and stored.value == Decimal("33131.25")
    # the asset's representation (and ETag) now names this valuation; the asset row itself is unchanged
    assert asset_revision(user=users["auditor"], asset_id=asset.pk) == f"{revision}-{valuation.pk.hex}"


def test_an_index_valuation_moves_an_approved_appraisal_through_the_services(users, make_asset, hpi):
    asset = make_asset("approved")
    appraisal = valuation_record(
        actor=users["valuer"],
        asset_id=asset.pk,
        method="appraisal",
        as_of=date(2024, 1, 1),
        inputs={"value": "1000000"},
    )
    valuation_approve(actor=UserFactory(username="valuer2-user", roles=["valuer"]), valuation_id=appraisal.pk)
    moved = valuation_record(
        actor=users["valuer"],
        asset_id=asset.pk,
        method="index",
        as_of=date(2024, 3, 31),
        inputs={"series": "HPI-GB-LDN"},
    )
    # 1,000,000 × 205 (2024-03-01) / 200 (2023-12-01) = 1,025,000
    assert moved.value == Decimal("1025000.000000") and moved.status == ValuationStatus.APPROVED
    assert Valuation.objects.get(pk=appraisal.pk).status == ValuationStatus.SUPERSEDED
    assert valuation_current(asset_id=asset.pk).pk == moved.pk
