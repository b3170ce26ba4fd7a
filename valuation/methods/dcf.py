"""`dcf`: discounted cash flows. value = Σ amount_i / (1 + r)^(t_i), t_i = (date_i − as_of).days / 365.

The flows are the inputs' `cash_flows` (negative amounts allowed; those dated on or before `as_of` are already paid
and ignored) or, without them, for fixed income and private credit, the schedule the asset's metadata describes:
a coupon (principal × rate% ÷ payments a year) on each schedule date after `as_of`, counted back from the maturity
date, and the principal at maturity.
"""

import calendar
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from assets.asset_types import AssetType
from rwa_service.exceptions import ValidationFailed
from valuation.errors import ValuationError
from valuation.methods.base import AssetLike, Computed, PriceSource, ValuationMethod
from valuation.methods.common import PRECISION, money
from valuation.methods.inputs import currency_input, date_input, decimal_input
from valuation.methods.registry import register

DAYS_A_YEAR = Decimal(365)
MAX_CASH_FLOWS = 10_000
# Months between payments, by the `coupon_frequency` of the fixed-income metadata; None: no coupons (zero coupon).
FREQUENCIES: dict[str, int | None] = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1, "zero": None}
DEFAULT_FREQUENCY = "annual"
# The metadata field holding the rate (in percent) for each type with a schedule.
RATE_FIELDS = {AssetType.FIXED_INCOME: "coupon_rate", AssetType.PRIVATE_CREDIT: "interest_rate"}


def months_before(day: date, months: int) -> date:
    """`day` moved back by `months` calendar months; the day of month is kept, or clipped to the month's last day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _cash_flows_input(raw: Any, errors: dict) -> list[dict[str, str]] | None:
    if not isinstance(raw, list) or not raw:
        errors["cash_flows"] = ["A non-empty list of {date, amount} is required."]
        return None
    if len(raw) > MAX_CASH_FLOWS:
        errors["cash_flows"] = [f"At most {MAX_CASH_FLOWS} cash flows."]
        return None
    flows: list[dict[str, str]] = []
    for position, item in enumerate(raw):
        name = f"cash_flows.{position}"
        if not isinstance(item, dict):
            errors[name] = ["An object with a date and an amount is required."]
            continue
        item_errors: dict[str, list[str]] = {}
        day = date_input(item, "date", item_errors)
        amount = decimal_input(item, "amount", item_errors)
        for field, messages in item_errors.items():
            errors[f"{name}.{field}"] = messages
        if day is not None and amount is not None:
            flows.append({"date": day.isoformat(), "amount": str(amount)})
    flows.sort(key=lambda flow: flow["date"])
    return flows


@register
class DiscountedCashFlows(ValuationMethod):
    code = "dcf"
    label = "Discounted cash flows"
    manual = False

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        rate = decimal_input(inputs, "discount_rate", errors)
        if rate is not None and rate <= -1:
            errors["discount_rate"] = ["Must be greater than -1 (an annual rate, e.g. 0.05)."]
        currency = currency_input(inputs, "currency", errors, default=asset.currency)
        cleaned: dict[str, Any] = {"discount_rate": str(rate), "currency": currency}
        if inputs.get("cash_flows") is not None:
            cleaned["cash_flows"] = _cash_flows_input(inputs["cash_flows"], errors)
        elif asset.asset_type not in RATE_FIELDS:
            errors["cash_flows"] = [
                f"Required: a {asset.asset_type} asset has no cash-flow schedule in its metadata "
                "(only fixed income and private credit do)."
            ]
        frequency = inputs.get("coupon_frequency")
        if frequency is not None:
            if not isinstance(frequency, str) or frequency not in FREQUENCIES:
                errors["coupon_frequency"] = [f"One of: {', '.join(FREQUENCIES)}."]
            cleaned["coupon_frequency"] = frequency
        if errors:
            raise ValidationFailed("The discounted-cash-flow inputs are invalid.", errors=errors)
        return cleaned

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        rate = Decimal(inputs["discount_rate"])
        recorded: dict[str, Any] = {"discount_rate": inputs["discount_rate"], "currency": inputs["currency"]}
        if inputs.get("cash_flows") is not None:
            flows = [(date.fromisoformat(flow["date"]), Decimal(flow["amount"])) for flow in inputs["cash_flows"]]
            recorded["cash_flows"] = inputs["cash_flows"]
        else:
            flows, schedule = self._scheduled_flows(asset=asset, as_of=as_of, frequency=inputs.get("coupon_frequency"))
            recorded["schedule"] = schedule
            if inputs.get("coupon_frequency"):
                recorded["coupon_frequency"] = inputs["coupon_frequency"]
        future = [(day, amount) for day, amount in flows if day > as_of]
        if not future:
            raise ValuationError(
                f"Every cash flow is dated on or before {as_of} (already paid): nothing is left to discount.",
                code="no_future_cash_flows",
            )
        discounted = []
        total = Decimal(0)
        try:
            with localcontext() as context:
                context.prec = PRECISION
                for day, amount in future:
                    days = (day - as_of).days
                    present = amount / (1 + rate) ** (Decimal(days) / DAYS_A_YEAR)
                    total += present
                    discounted.append(
                        {
                            "date": day.isoformat(),
                            "amount": str(amount),
                            "days": days,
                            "present_value": str(money(present)),
                        }
                    )
        except ArithmeticError as exc:
            raise ValuationError(
                "The discounted value is out of range (check the discount rate and the amounts).",
                code="value_out_of_range",
            ) from exc
        recorded["discounted"] = discounted
        recorded["ignored_paid_flows"] = len(flows) - len(future)
        return Computed(value=money(total), currency=inputs["currency"], inputs=recorded)

    @staticmethod
    def _scheduled_flows(
        *, asset: AssetLike, as_of: date, frequency: str | None
    ) -> tuple[list[tuple[date, Decimal]], dict[str, Any]]:
        """The coupons and principal after `as_of` that the fixed-income or private-credit metadata describes."""
        metadata = asset.metadata if isinstance(asset.metadata, dict) else {}
        rate_field = RATE_FIELDS.get(asset.asset_type)
        if rate_field is None:
            raise ValuationError(
                f"A {asset.asset_type} asset has no cash-flow schedule: give the cash flows.", code="no_schedule"
            )
        try:
            principal = Decimal(str(metadata["principal"]))
            percent = Decimal(str(metadata[rate_field]))
            maturity = date.fromisoformat(str(metadata["maturity_date"]))
            issued = date.fromisoformat(str(metadata["issue_date"])) if metadata.get("issue_date") else None
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise ValuationError(
                f"The asset's metadata does not describe its cash flows (principal, {rate_field}, maturity_date).",
                code="metadata_incomplete",
            ) from exc
        frequency = frequency or metadata.get("coupon_frequency") or DEFAULT_FREQUENCY
        if not isinstance(frequency, str) or frequency not in FREQUENCIES:
            raise ValuationError(f"Unknown coupon frequency {frequency!r}.", code="metadata_incomplete")
        if maturity <= as_of:
            raise ValuationError(
                f"The asset matured on {maturity.isoformat()}: no cash flows are left after {as_of}.", code="matured"
            )
        months = FREQUENCIES[frequency]
        flows: list[tuple[date, Decimal]] = []
        coupon = Decimal(0)
        if months is not None and percent:
            coupon = principal * percent / 100 / (12 // months)
            step = 0
            while (day := months_before(maturity, step * months)) > as_of and (issued is None or day > issued):
                flows.append((day, coupon))
                step += 1
        flows.reverse()  # counted back from maturity: oldest first
        flows.append((maturity, principal))  # the principal after the last coupon
        schedule = {
            "source": "metadata",
            "principal": str(principal),
            rate_field: str(percent),
            "coupon_frequency": frequency,
            "coupon": str(coupon),
            "maturity_date": maturity.isoformat(),
        }
        if issued is not None:
            schedule["issue_date"] = issued.isoformat()
        return flows, schedule
