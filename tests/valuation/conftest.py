"""Fixtures for the valuation API, admin and command tests: a second valuer, appraisals (draft or current), price
series, and token classes over assets of any type with supply in circulation."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.tokenization.factories import WalletFactory
from tokenization.models import TokenClass
from tokenization.services.ledger import token_mint
from tokenization.services.operations import operation_execute
from tokenization.services.tokens import token_class_tokenize
from valuation.models import PriceObservation, PriceSeries, Valuation
from valuation.services import valuation_approve, valuation_record

TODAY = timezone.localdate()
COMMODITY_METADATA = {"commodity": "gold", "quantity": "1000", "unit": "troy_oz", "vault": "London"}


@pytest.fixture
def valuer2(db):
    return UserFactory(username="valuer2-user", roles=["valuer"])


@pytest.fixture
def appraise(users):
    """`appraise(asset, value, as_of=today, by=valuer)` → a draft appraisal recorded through the service."""

    def make(asset, value: str = "1000000.00", as_of: date = TODAY, by=None) -> Valuation:
        return valuation_record(
            actor=by or users["valuer"], asset_id=asset.pk, method="appraisal", as_of=as_of, inputs={"value": value}
        )

    return make


@pytest.fixture
def make_current(appraise, valuer2):
    """`make_current(asset, value, as_of)` → an appraisal approved by a second valuer: the asset's current one."""

    def make(asset, value: str = "1000000.00", as_of: date = TODAY) -> Valuation:
        draft = appraise(asset, value, as_of)
        return valuation_approve(actor=valuer2, valuation_id=draft.pk)

    return make


@pytest.fixture
def make_series(db):
    """`make_series(code, kind="price", **fields, observations={date: "value"})` → a series written directly."""

    def make(code: str = "XAU-USD", kind: str = "price", observations: dict | None = None, **fields) -> PriceSeries:
        if kind in ("price", "fx"):
            fields.setdefault("currency", "USD")
        if kind == "fx":
            fields.setdefault("base_currency", "EUR")
        series = PriceSeries.objects.create(code=code, kind=kind, name=fields.pop("name", code), **fields)
        for day, value in (observations or {}).items():
            PriceObservation.objects.create(series=series, date=day, value=Decimal(value))
        return series

    return make


@pytest.fixture
def make_token_over(users, make_asset):
    """`make_token_over(supply=..., decimals=0, **asset_fields)` → an active token class over a new (tokenized) asset,
    with `supply` base units minted to a new wallet."""
    counter = {"n": 0}

    def make(supply: int = 0, decimals: int = 0, **asset_fields) -> TokenClass:
        counter["n"] += 1
        asset = make_asset("approved", **asset_fields)
        operation = token_class_tokenize(
            actor=users["operator"],
            asset_id=asset.pk,
            symbol=f"NAV{counter['n']}",
            name="NAV token",
            decimals=decimals,
            max_supply=None,
            rules={},
        )
        operation_execute(operation_id=operation.pk)
        token = TokenClass.objects.get(pk=operation.inputs["token"])
        if supply:
            token_mint(caller=users["operator"], token_id=token.pk, to_wallet=WalletFactory().pk, amount=supply)
            token.refresh_from_db()
        return token

    return make
