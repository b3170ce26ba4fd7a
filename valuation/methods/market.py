"""`market`: quantity × the latest price on or before `as_of`, converted to the valuation's currency.

The price series (kind `price`) quotes in its own `currency`; the valuation is in the asset's currency unless the
inputs give `currency`, through the FX series when the two differ. A commodity asset's metadata may supply the
quantity and the series (`quantity`, `price_series`).
"""

from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from assets.asset_types import AssetType
from rwa_service.exceptions import ValidationFailed
from valuation.methods.base import AssetLike, Computed, PriceSource, ValuationMethod
from valuation.methods.common import PRECISION, money, require_kind, series_of
from valuation.methods.inputs import currency_input, positive_decimal_input, series_code_input
from valuation.methods.registry import register
from valuation.models import SeriesKind


def _with_metadata_defaults(inputs: dict[str, Any], asset: AssetLike) -> dict[str, Any]:
    """A commodity's metadata supplies the quantity and series the inputs leave out."""
    if asset.asset_type != AssetType.COMMODITY or not isinstance(asset.metadata, dict):
        return inputs
    defaults = {"quantity": asset.metadata.get("quantity"), "series": asset.metadata.get("price_series")}
    return {**{name: value for name, value in defaults.items() if value not in (None, "")}, **inputs}


@register
class MarketPrice(ValuationMethod):
    code = "market"
    label = "Quantity × market price"
    manual = False

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        inputs = _with_metadata_defaults(inputs, asset)
        errors: dict[str, list[str]] = {}
        quantity = positive_decimal_input(inputs, "quantity", errors)
        series = series_code_input(inputs, "series", errors)
        currency = currency_input(inputs, "currency", errors, default=asset.currency)
        if errors:
            raise ValidationFailed("The market method's inputs are invalid.", errors=errors)
        return {"quantity": str(quantity), "series": series, "currency": currency}

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        code, currency = inputs["series"], inputs["currency"]
        quantity = Decimal(inputs["quantity"])
        series = series_of(prices, code)
        require_kind(series, SeriesKind.PRICE)
        price_date, price = prices.observation(code=code, on_or_before=as_of)
        with localcontext() as context:
            context.prec = PRECISION
            amount = quantity * price
            value = prices.convert(amount=amount, from_currency=series.currency, to_currency=currency, as_of=as_of)
        return Computed(
            value=money(value),
            currency=currency,
            inputs={
                **inputs,
                "price_date": price_date.isoformat(),
                "price": str(Decimal(price)),
                "price_currency": series.currency,
                "unit": series.unit,
                "amount_in_price_currency": str(amount),
            },
        )
