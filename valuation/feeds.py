"""Price-feed adapters: where the valuation methods read observations.

`price_source()` chooses: the embedded default (valuation.prices.StoredPrices, the stored series) unless
`settings.PRICE_FEED_URL` names an outside feed, then an HttpPriceFeed. Either satisfies
valuation.methods.base.PriceSource, so a revaluation run shares one across a chunk whichever it is.

The HTTP feed sits behind a circuit breaker (one per feed URL, shared by every HttpPriceFeed of the process) and
retries transient failures a bounded number of times. While the breaker is open every call fails at once with
ValuationError(code="feed_unavailable"), so a run records those assets as failed with the reason instead of
waiting on a feed that is down.
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.client import HTTPException
from typing import Any

from django.conf import settings

from valuation.errors import ValuationError
from valuation.models import PriceSeries
from valuation.prices import StoredPrices

MAX_BODY_BYTES = 64 * 1024  # an observation is a few dozen bytes; anything much larger is not one


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive transient failures; while open, `before_call()` raises
    ValuationError(code="feed_unavailable") at once. `reset_seconds` after opening, one trial call is let through
    (half-open): its success closes the breaker, its failure opens it again for another `reset_seconds`.

    Thread-safe. `clock` (seconds, monotonic) is injectable for tests. A trial call that never reports back (a
    crashed thread) does not wedge the breaker: after another `reset_seconds` a new trial is allowed."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(
        self,
        *,
        name: str,
        failure_threshold: int = 5,
        reset_seconds: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = max(1, int(failure_threshold))
        self.reset_seconds = float(reset_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def before_call(self) -> None:
        """Lets a call through, or raises feed_unavailable without it touching the network."""
        with self._lock:
            if self._state == self.CLOSED:
                return
            now = self._clock()
            if self._state == self.OPEN and now - self._opened_at >= self.reset_seconds:
                self._state, self._trial_started = self.HALF_OPEN, now
                return  # this caller is the trial
            if self._state == self.HALF_OPEN and (
                self._trial_started is None or now - self._trial_started >= self.reset_seconds
            ):
                self._trial_started = now  # the previous trial never reported: allow another
                return
            retry_in = max(0.0, self._opened_at + self.reset_seconds - now)
            trial = self._state == self.HALF_OPEN
            failures = self._failures
        if trial:
            when = "a trial call is under way; it will be retried when that call succeeds"
        else:
            retry_at = datetime.now(UTC) + timedelta(seconds=retry_in)
            when = f"it will be retried in {retry_in:.0f} s, at {retry_at.isoformat(timespec='seconds')}"
        raise ValuationError(
            f"Price feed {self.name} is unavailable (circuit open after {failures} consecutive failures); {when}.",
            code="feed_unavailable",
        )

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._trial_started = self.CLOSED, 0, None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at, self._trial_started = self.OPEN, self._clock(), None


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(
    base_url: str, *, failure_threshold: int = 5, reset_seconds: float = 60, clock: Callable[[], float] = time.monotonic
) -> CircuitBreaker:
    """The process's one breaker for the feed at `base_url` (made on first use with these settings)."""
    key = base_url.rstrip("/")
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(
                name=key, failure_threshold=failure_threshold, reset_seconds=reset_seconds, clock=clock
            )
        return _breakers[key]


def reset_breakers() -> None:
    """Forgets every breaker (tests; a changed configuration)."""
    with _breakers_lock:
        _breakers.clear()


class _Transient(Exception):
    """An attempt that may succeed if repeated: connection error, timeout, HTTP 5xx or 429."""


class HttpPriceFeed:
    """Observations from an outside feed over HTTP; PriceSource-compatible.

    Contract: `GET {base_url}/series/{code}/observations?on_or_before=YYYY-MM-DD` answers 200 with the JSON object
    `{"date": "YYYY-MM-DD", "value": "123.45"}`: the latest observation of series `code` dated on or before the day
    (`value` a decimal string, or a JSON number, read as Decimal, never float). 404 means there is none
    (ValuationError no_price). A body that is not such an object, a date after the one asked for, or another 4xx
    is ValuationError feed_bad_answer. Connection errors, timeouts (`timeout` seconds per request), 5xx and 429
    are transient: retried at most `retries` more times with exponential backoff (`backoff`, ×2 each time,
    through the injectable `sleep`), then ValuationError feed_unavailable.

    Every attempt goes through the feed's CircuitBreaker: each transient failure counts toward opening it, and
    once open the remaining attempts (and every other call, by any instance, for the same URL) fail at once.

    FX rates are series too: `convert` reads `{FROM}-{TO}` (units of TO per one FROM: multiply) or else
    `{TO}-{FROM}` (divide). The series' descriptions (kind, currency, unit), which the methods check, stay those
    stored locally: `series(code)` reads them through StoredPrices (`catalogue`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5,
        retries: int = 2,
        backoff: float = 0.1,
        breaker: CircuitBreaker | None = None,
        failure_threshold: int = 5,
        reset_seconds: float = 60,
        sleep: Callable[[float], None] = time.sleep,
        catalogue: StoredPrices | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.breaker = breaker or breaker_for(
            self.base_url, failure_threshold=failure_threshold, reset_seconds=reset_seconds
        )
        self._sleep = sleep
        self._catalogue = catalogue or StoredPrices()

    def __repr__(self) -> str:
        return f"HttpPriceFeed({self.base_url!r})"

    # --- PriceSource -------------------------------------------------------------------------------------------

    def series(self, code: str) -> PriceSeries | None:
        """The stored description of series `code` (see the class docstring)."""
        return self._catalogue.series(code)

    def observation(self, *, code: str, on_or_before: date) -> tuple[date, Decimal]:
        query = urllib.parse.urlencode({"on_or_before": on_or_before.isoformat()})
        url = f"{self.base_url}/series/{urllib.parse.quote(code, safe='')}/observations?{query}"
        status, body = self._get(url, code=code)
        if status == 404:
            raise ValuationError(
                f"Series {code!r} has no observation on or before {on_or_before} (price feed {self.base_url}).",
                code="no_price",
            )
        if status != 200:
            raise self._bad(code, f"answered HTTP {status}")
        return self._parse(code=code, body=body, on_or_before=on_or_before)

    def convert(self, *, amount: Decimal, from_currency: str, to_currency: str, as_of: date) -> Decimal:
        from_currency, to_currency = from_currency.upper(), to_currency.upper()
        if from_currency == to_currency:
            return amount
        for code, multiply in ((f"{from_currency}-{to_currency}", True), (f"{to_currency}-{from_currency}", False)):
            try:
                _, rate = self.observation(code=code, on_or_before=as_of)
            except ValuationError as exc:
                if exc.code == "no_price":
                    continue  # the other direction may be quoted
                raise  # the feed is down or wrong: say so, not "no rate"
            if rate <= 0:
                continue
            return amount * rate if multiply else amount / rate
        raise ValuationError(
            f"No FX rate from {from_currency} to {to_currency} on or before {as_of} "
            f"(price feed {self.base_url} has no {from_currency}-{to_currency} or {to_currency}-{from_currency}).",
            code="fx_missing",
        )

    # --- HTTP --------------------------------------------------------------------------------------------------

    def _get(self, url: str, *, code: str) -> tuple[int, bytes]:
        """(status, body) of the first non-transient answer; feed_unavailable once retries or the breaker say so."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            self.breaker.before_call()  # raises feed_unavailable while open
            try:
                answer = self._attempt(url)
            except _Transient as exc:
                self.breaker.record_failure()
                last = str(exc)
                continue
            except BaseException:
                self.breaker.record_failure()  # never leave a half-open trial unreported
                raise
            self.breaker.record_success()
            return answer
        raise ValuationError(
            f"Price feed {self.base_url} did not answer for series {code!r} after {self.retries + 1} attempts "
            f"({last}).",
            code="feed_unavailable",
        )

    def _attempt(self, url: str) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"}, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code == 429:
                raise _Transient(f"HTTP {exc.code}") from exc
            return exc.code, b""
        except urllib.error.URLError as exc:
            raise _Transient(f"connection failed: {exc.reason}") from exc
        except TimeoutError as exc:
            raise _Transient(f"no answer within {self.timeout:g} s") from exc
        except (OSError, HTTPException) as exc:
            raise _Transient(f"connection failed: {exc.__class__.__name__}: {exc}") from exc

    # --- answers -----------------------------------------------------------------------------------------------

    def _bad(self, code: str, why: str) -> ValuationError:
        return ValuationError(
            f"Price feed {self.base_url} gave a bad answer for series {code!r}: {why}.", code="feed_bad_answer"
        )

    def _parse(self, *, code: str, body: bytes, on_or_before: date) -> tuple[date, Decimal]:
        if len(body) > MAX_BODY_BYTES:
            raise self._bad(code, "the body is too large")
        try:
            data: Any = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._bad(code, "not JSON") from exc
        if not isinstance(data, dict):
            raise self._bad(code, "not a JSON object")
        raw_date, raw_value = data.get("date"), data.get("value")
        try:
            day = date.fromisoformat(raw_date) if isinstance(raw_date, str) and len(raw_date) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise self._bad(code, f"'date' is not a YYYY-MM-DD date: {raw_date!r}")
        if day > on_or_before:
            raise self._bad(code, f"the observation is dated {day}, after {on_or_before}")
        try:
            value = Decimal(raw_value) if isinstance(raw_value, str | Decimal) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise self._bad(code, f"'value' is not a decimal number: {raw_value!r}")
        return day, value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def price_source() -> StoredPrices | HttpPriceFeed:
    """The configured price source: StoredPrices, or an HttpPriceFeed when `settings.PRICE_FEED_URL` is set (with
    PRICE_FEED_TIMEOUT_SECONDS, PRICE_FEED_RETRIES, PRICE_FEED_BREAKER_THRESHOLD, PRICE_FEED_BREAKER_RESET_SECONDS)."""
    url = getattr(settings, "PRICE_FEED_URL", "") or ""
    if not url.strip():
        return StoredPrices()
    return HttpPriceFeed(
        url.strip(),
        timeout=float(getattr(settings, "PRICE_FEED_TIMEOUT_SECONDS", 5)),
        retries=int(getattr(settings, "PRICE_FEED_RETRIES", 2)),
        failure_threshold=int(getattr(settings, "PRICE_FEED_BREAKER_THRESHOLD", 5)),
        reset_seconds=float(getattr(settings, "PRICE_FEED_BREAKER_RESET_SECONDS", 60)),
    )
