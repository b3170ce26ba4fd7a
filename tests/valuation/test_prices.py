"""The stored price source: latest observation on or before a day, FX conversion either way, clear refusals."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from valuation.errors import ValuationError
from valuation.models import PriceObservation, PriceSeries
from valuation.prices import StoredPrices


def _series(code, kind, *, currency="", base_currency="", observations=()):
    series = PriceSeries.objects.create(code=code, kind=kind, currency=currency, base_currency=base_currency)
    for day, value in observations:
        PriceObservation.objects.create(series=series, date=day, value=Decimal(value))
    return series


@pytest.fixture
def gold(db):
    return _series(
        "XAU-USD",
        "price",
        currency="USD",
        observations=[(date(2025, 1, 10), "2650.50"), (date(2025, 1, 20), "2700.25")],
    )


def test_observation_is_the_latest_on_or_before_the_day(gold):
    prices = StoredPrices()
    assert prices.observation(code="XAU-USD", on_or_before=date(2025, 1, 15)) == (date(2025, 1, 10), Decimal("2650.5"))
    assert prices.observation(code="XAU-USD", on_or_before=date(2025, 1, 20)) == (
        date(2025, 1, 20),
        Decimal("2700.25"),
    )
    day, value = prices.observation(code="XAU-USD", on_or_before=date(2026, 1, 1))
    assert day == date(2025, 1, 20) and isinstance(value, Decimal)


def test_observation_refuses_a_missing_series_or_a_day_before_the_first_observation(gold):
    prices = StoredPrices()
    with pytest.raises(ValuationError) as missing:
        prices.observation(code="XAG-USD", on_or_before=date(2025, 1, 15))
    with pytest.raises(ValuationError) as early:
        prices.observation(code="XAU-USD", on_or_before=date(2025, 1, 9))
    assert missing.value.code == "series_missing" and "XAG-USD" in missing.value.detail
    assert early.value.code == "no_price" and "2025-01-09" in early.value.detail
    assert early.value.status_code == 422


def test_observations_must_be_positive(gold):
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceObservation.objects.create(series=gold, date=date(2025, 2, 1), value=Decimal(0))


def test_convert_in_the_same_currency_is_the_amount(db):
    assert StoredPrices().convert(
        amount=Decimal("12.34"), from_currency="USD", to_currency="USD", as_of=date(2025, 1, 1)
    ) == Decimal("12.34")


def test_convert_multiplies_base_to_quote_and_divides_back(db):
    # GBP-USD 1.25: USD per one GBP.
    _series("GBP-USD", "fx", currency="USD", base_currency="GBP", observations=[(date(2025, 1, 1), "1.25")])
    prices = StoredPrices()
    # 100 GBP × 1.25 = 125 USD
    assert prices.convert(amount=Decimal(100), from_currency="GBP", to_currency="USD", as_of=date(2025, 1, 5)) == 125
    # 125 USD ÷ 1.25 = 100 GBP
    assert prices.convert(amount=Decimal(125), from_currency="USD", to_currency="GBP", as_of=date(2025, 1, 5)) == 100


def test_convert_uses_the_rate_on_or_before_the_day(db):
    _series(
        "EUR-USD",
        "fx",
        currency="USD",
        base_currency="EUR",
        observations=[(date(2025, 1, 1), "1.10"), (date(2025, 2, 1), "1.20")],
    )
    prices = StoredPrices()
    # 10 EUR × 1.10 = 11 USD (the February rate is later than the day)
    assert prices.convert(amount=Decimal(10), from_currency="EUR", to_currency="USD", as_of=date(2025, 1, 31)) == 11
    # 10 EUR × 1.20 = 12 USD
    assert prices.convert(amount=Decimal(10), from_currency="EUR", to_currency="USD", as_of=date(2025, 2, 1)) == 12


def test_convert_finds_an_fx_series_by_its_currencies_whatever_its_code(db):
    _series("ECB-CHF", "fx", currency="CHF", base_currency="EUR", observations=[(date(2025, 1, 1), "0.94")])
    prices = StoredPrices()
    # 100 EUR × 0.94 = 94 CHF; 47 CHF ÷ 0.94 = 50 EUR
    assert prices.convert(amount=Decimal(100), from_currency="EUR", to_currency="CHF", as_of=date(2025, 1, 2)) == 94
    assert prices.convert(amount=Decimal(47), from_currency="chf", to_currency="eur", as_of=date(2025, 1, 2)) == 50


def test_convert_trusts_the_series_currencies_over_its_code(db):
    # Coded USD-JPY but quoting USD per one JPY (base JPY): 1000 JPY × 0.0065 = 6.5 USD.
    _series("USD-JPY", "fx", currency="USD", base_currency="JPY", observations=[(date(2025, 1, 1), "0.0065")])
    converted = StoredPrices().convert(
        amount=Decimal(1000), from_currency="JPY", to_currency="USD", as_of=date(2025, 1, 2)
    )
    assert converted == Decimal("6.5")


def test_convert_falls_back_to_the_inverse_series_when_the_direct_one_has_no_rate_yet(db):
    _series("GBP-USD", "fx", currency="USD", base_currency="GBP", observations=[(date(2025, 3, 1), "1.30")])
    _series("USD-GBP", "fx", currency="GBP", base_currency="USD", observations=[(date(2025, 1, 1), "0.80")])
    # On 2025-02-01 only USD-GBP has a rate: 100 GBP ÷ 0.80 = 125 USD.
    converted = StoredPrices().convert(
        amount=Decimal(100), from_currency="GBP", to_currency="USD", as_of=date(2025, 2, 1)
    )
    assert converted == 125


def test_convert_refuses_a_missing_rate(db):
    _series("XAU-USD", "price", currency="USD", observations=[(date(2025, 1, 1), "2000")])
    _series("EUR-USD", "fx", currency="USD", base_currency="EUR", observations=[(date(2025, 6, 1), "1.1")])
    prices = StoredPrices()
    with pytest.raises(ValuationError) as no_series:
        prices.convert(amount=Decimal(1), from_currency="USD", to_currency="CHF", as_of=date(2025, 7, 1))
    with pytest.raises(ValuationError) as too_early:
        prices.convert(amount=Decimal(1), from_currency="USD", to_currency="EUR", as_of=date(2025, 5, 1))
    assert no_series.value.code == too_early.value.code == "fx_missing"
    assert "USD" in no_series.value.detail and "CHF" in no_series.value.detail
    assert "EUR-USD" in too_early.value.detail and "2025-05-01" in too_early.value.detail


def test_a_price_series_is_not_an_fx_rate(db):
    # XAU-USD is a price series: it is no rate between XAU and USD.
    _series("XAU-USD", "price", currency="USD", base_currency="XAU", observations=[(date(2025, 1, 1), "2000")])
    with pytest.raises(ValuationError) as caught:
        StoredPrices().convert(amount=Decimal(1), from_currency="XAU", to_currency="USD", as_of=date(2025, 1, 2))
    assert caught.value.code == "fx_missing"
