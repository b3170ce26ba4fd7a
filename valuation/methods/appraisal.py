"""`appraisal`: a valuer's own figure (e.g. from a surveyor's report). Manual: a second valuer must approve it."""

from datetime import date
from decimal import Decimal
from typing import Any

from rwa_service.exceptions import ValidationFailed
from valuation.methods.base import AssetLike, Computed, PriceSource, ValuationMethod
from valuation.methods.inputs import decimal_input
from valuation.methods.registry import register


@register
class Appraisal(ValuationMethod):
    code = "appraisal"
    label = "Appraisal (manual)"
    manual = True

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        value = decimal_input(inputs, "value", errors, minimum=Decimal(0))
        currency = str(inputs.get("currency") or asset.currency).upper()
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = ["A three-letter currency code is required."]
        if errors:
            raise ValidationFailed("The appraisal's inputs are invalid.", errors=errors)
        cleaned = {"value": str(value), "currency": currency}
        for note in ("appraiser", "report"):
            if inputs.get(note):
                cleaned[note] = str(inputs[note])[:500]
        return cleaned

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        return Computed(value=Decimal(inputs["value"]), currency=inputs["currency"], inputs=dict(inputs))
