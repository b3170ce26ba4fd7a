"""What the computed methods share: rounding to the stored precision, and reading a series' description."""

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from valuation.errors import ValuationError
from valuation.methods.base import PriceSource
from valuation.models import PriceSeries

# Valuation.value is max_digits=28, decimal_places=6: at most 22 digits before the point.
PLACES = Decimal("0.000001")
LIMIT = Decimal(10) ** 22
# Working precision of the methods' arithmetic (more than the 28 digits stored, so rounding happens once, at the end).
PRECISION = 40
# That precision as a context to compute in (`ARITHMETIC.multiply(a, b)`): what `with localcontext() as c: c.prec =
# PRECISION` gives (the default traps and rounding), without entering and leaving a context per value.
ARITHMETIC = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN)


def money(value: Decimal) -> Decimal:
    """`value` rounded half-even to the 6 decimal places a valuation stores; ValuationError if it cannot be stored."""
    try:
        rounded = value.quantize(PLACES, rounding=ROUND_HALF_EVEN, context=ARITHMETIC)
    except InvalidOperation:  # more digits than the working precision: far beyond what a valuation stores
        rounded = None
    if rounded is None or not rounded.is_finite() or abs(rounded) >= LIMIT:
        raise ValuationError(f"The computed value {value} is too large to record.", code="value_out_of_range")
    return rounded + 0  # normalises -0.000000 to 0.000000


def series_of(prices: PriceSource, code: str) -> PriceSeries:
    """The series `code` as the price source knows it (StoredPrices remembers them); ValuationError if missing."""
    lookup = getattr(prices, "series", None)
    found = lookup(code) if callable(lookup) else PriceSeries.objects.filter(code=code).first()
    if found is None:
        raise ValuationError(f"No price series {code!r}.", code="series_missing")
    return found


def require_kind(series: PriceSeries, kind: str) -> None:
    """ValuationError unless `series` is of `kind` (an index for `index`, a price for `market`)."""
    if series.kind != kind:
        raise ValuationError(
            f"Series {series.code!r} is a {series.kind} series, not a {kind} series.", code="series_wrong_kind"
        )
