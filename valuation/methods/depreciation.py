"""`depreciation`: straight line from cost down to the salvage value over the useful life.

value = cost − (cost − salvage) × min(elapsed ÷ life, 1), elapsed = (as_of − in_service).days / 365 years: the cost
before the asset is in service, the salvage value once its life is over.
"""

from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from rwa_service.exceptions import ValidationFailed
from valuation.methods.base import AssetLike, Computed, PriceSource, ValuationMethod
from valuation.methods.common import PRECISION, money
from valuation.methods.inputs import currency_input, date_input, decimal_input, positive_decimal_input
from valuation.methods.registry import register

DAYS_A_YEAR = Decimal(365)


@register
class StraightLineDepreciation(ValuationMethod):
    code = "depreciation"
    label = "Straight-line depreciation"
    manual = False

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        cost = decimal_input(inputs, "cost", errors, minimum=Decimal(0))
        salvage = decimal_input(inputs, "salvage_value", errors, minimum=Decimal(0))
        if cost is not None and salvage is not None and salvage > cost:
            errors["salvage_value"] = ["Must not exceed the cost."]
        in_service = date_input(inputs, "in_service", errors)
        life = positive_decimal_input(inputs, "useful_life_years", errors)
        currency = currency_input(inputs, "currency", errors, default=asset.currency)
        if errors:
            raise ValidationFailed("The depreciation inputs are invalid.", errors=errors)
        return {
            "cost": str(cost),
            "salvage_value": str(salvage),
            "in_service": in_service.isoformat(),
            "useful_life_years": str(life),
            "currency": currency,
        }

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        cost, salvage = Decimal(inputs["cost"]), Decimal(inputs["salvage_value"])
        life = Decimal(inputs["useful_life_years"])
        elapsed_days = max((as_of - date.fromisoformat(inputs["in_service"])).days, 0)
        with localcontext() as context:
            context.prec = PRECISION
            fraction = min(Decimal(elapsed_days) / DAYS_A_YEAR / life, Decimal(1))
            value = cost - (cost - salvage) * fraction
        return Computed(
            value=money(value),
            currency=inputs["currency"],
            inputs={
                **inputs,
                "elapsed_days": elapsed_days,
                "depreciated_fraction": str(fraction.quantize(Decimal("0.0000000001"))),
                "fully_depreciated": fraction == 1,
            },
        )
