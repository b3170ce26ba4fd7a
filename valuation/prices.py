"""The embedded price source: observations stored in PostgreSQL (or SQLite), FX conversion through FX series."""

from datetime import date
from decimal import Decimal

from django.db.models import Q

from valuation.errors import ValuationError
from valuation.models import PriceObservation, PriceSeries, SeriesKind


class StoredPrices:
    """Reads the stored series. One instance may serve a revaluation chunk: series and observation look-ups are
    remembered, so a thousand assets on one index read its two levels once (a snapshot for the chunk's duration)."""

    def __init__(self) -> None:
        self._series: dict[str, PriceSeries | None] = {}
        self._fx: dict[tuple[str, str], list[PriceSeries]] = {}
        self._latest_seen: dict[tuple[int, date], tuple[date, Decimal] | None] = {}

    def series(self, code: str) -> PriceSeries | None:
        if code not in self._series:
            self._series[code] = PriceSeries.objects.filter(code=code).first()
        return self._series[code]

    def observation(self, *, code: str, on_or_before: date) -> tuple[date, Decimal]:
        series = self.series(code)
        if series is None:
            raise ValuationError(f"No price series {code!r}.", code="series_missing")
        found = self._latest(series=series, on_or_before=on_or_before)
        if found is None:
            raise ValuationError(f"Series {code!r} has no observation on or before {on_or_before}.", code="no_price")
        return found

    def _fx_series(self, from_currency: str, to_currency: str) -> list[PriceSeries]:
        """The FX series quoting this pair either way: the one coded `FROM-TO` or `TO-FROM` first, then any other
        (an FX series says what it quotes by its currencies, whatever its code)."""
        key = (from_currency, to_currency)
        if key not in self._fx:
            pair = Q(base_currency=from_currency, currency=to_currency) | Q(
                base_currency=to_currency, currency=from_currency
            )
            preferred = {f"{from_currency}-{to_currency}": 0, f"{to_currency}-{from_currency}": 1}
            found = list(PriceSeries.objects.filter(pair, kind=SeriesKind.FX))
            found.sort(key=lambda series: (preferred.get(series.code, 2), series.code))
            self._fx[key] = found
        return self._fx[key]

    def convert(self, *, amount: Decimal, from_currency: str, to_currency: str, as_of: date) -> Decimal:
        """`amount` of `from_currency` in `to_currency` at the latest rate on or before `as_of`. An FX series gives
        units of its `currency` per one unit of its `base_currency`: multiply going base → currency, divide back."""
        from_currency, to_currency = from_currency.upper(), to_currency.upper()
        if from_currency == to_currency:
            return amount
        candidates = self._fx_series(from_currency, to_currency)
        for series in candidates:
            found = self._latest(series=series, on_or_before=as_of)
            if found is None or found[1] <= 0:
                continue
            rate = found[1]
            return amount * rate if series.base_currency == from_currency else amount / rate
        if candidates:
            codes = ", ".join(series.code for series in candidates)
            raise ValuationError(
                f"No FX rate from {from_currency} to {to_currency} on or before {as_of} (series {codes}).",
                code="fx_missing",
            )
        raise ValuationError(
            f"No FX rate from {from_currency} to {to_currency} "
            f"(no FX series {from_currency}-{to_currency} or {to_currency}-{from_currency}).",
            code="fx_missing",
        )

    def _latest(self, *, series: PriceSeries, on_or_before: date) -> tuple[date, Decimal] | None:
        key = (series.pk, on_or_before)
        if key not in self._latest_seen:
            found = (
                PriceObservation.objects.filter(series=series, date__lte=on_or_before)
                .order_by("-date")
                .values_list("date", "value")
                .first()
            )
            self._latest_seen[key] = (found[0], Decimal(found[1])) if found is not None else None
        return self._latest_seen[key]
