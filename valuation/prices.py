"""The embedded price source: observations stored in PostgreSQL (or SQLite), FX conversion through FX series."""

from datetime import date
from decimal import Decimal

from valuation.errors import ValuationError
from valuation.models import PriceObservation, PriceSeries, SeriesKind


class StoredPrices:
    """Reads the stored series. One instance may serve a whole run: series look-ups are remembered."""

    def __init__(self) -> None:
        self._series: dict[str, PriceSeries | None] = {}

    def series(self, code: str) -> PriceSeries | None:
        if code not in self._series:
            self._series[code] = PriceSeries.objects.filter(code=code).first()
        return self._series[code]

    def observation(self, *, code: str, on_or_before: date) -> tuple[date, Decimal]:
        series = self.series(code)
        if series is None:
            raise ValuationError(f"No price series {code!r}.", code="series_missing")
        found = (
            PriceObservation.objects.filter(series=series, date__lte=on_or_before)
            .order_by("-date")
            .values_list("date", "value")
            .first()
        )
        if found is None:
            raise ValuationError(f"Series {code!r} has no observation on or before {on_or_before}.", code="no_price")
        return found

    def convert(self, *, amount: Decimal, from_currency: str, to_currency: str, as_of: date) -> Decimal:
        if from_currency == to_currency:
            return amount
        direct = f"{from_currency}-{to_currency}"
        inverse = f"{to_currency}-{from_currency}"
        for code, invert in ((direct, False), (inverse, True)):
            series = self.series(code)
            if series is not None and series.kind == SeriesKind.FX:
                _, rate = self.observation(code=code, on_or_before=as_of)
                return amount / rate if invert else amount * rate
        raise ValuationError(
            f"No FX rate from {from_currency} to {to_currency} (series {direct} or {inverse}).", code="fx_missing"
        )
