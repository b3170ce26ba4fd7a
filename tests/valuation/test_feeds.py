"""The price-feed adapters: the HTTP feed against a real local server scripted per test (answers, 404, transient
failures and retries, timeouts, malformed bodies), its circuit breaker (opens, fails fast without a request,
half-opens after the reset), FX through the feed, the `price_source()` factory, and a market valuation priced by the
feed through the record service."""

import json
import socket
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from valuation.errors import ValuationError
from valuation.feeds import CircuitBreaker, HttpPriceFeed, breaker_for, price_source, reset_breakers
from valuation.models import PriceSeries, ValuationStatus
from valuation.prices import StoredPrices
from valuation.services import valuation_record

DAY = date(2025, 1, 15)
GOOD = (200, {"date": "2025-01-10", "value": "2650.50"})
HANG = "hang"


class FeedServer:
    """A local feed. `script` is a list of answers served in turn (the last one repeats), or a callable of
    (code, on_or_before) → answer; an answer is (status, JSON-able body or raw bytes) or HANG. `requests` lists the
    (code, on_or_before) of every request that reached it."""

    def __init__(self) -> None:
        self.script: list | Callable = [GOOD]
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")  # v1, series, {code}, observations
                code = segments[2] if segments[:2] == ["v1", "series"] and segments[3:] == ["observations"] else ""
                on_or_before = parse_qs(parts.query).get("on_or_before", [""])[0]
                answer = server.answer(code, on_or_before)
                if answer == HANG:
                    server.release.wait(5)  # longer than any client timeout in these tests
                    return
                status, body = answer
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, code: str, on_or_before: str):
        with self._lock:
            self.requests.append((code, on_or_before))
            if callable(self.script):
                return self.script(code, on_or_before)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture(autouse=True)
def fresh_breakers():
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def feed_server():
    server = FeedServer()
    server.thread.start()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _feed(server: FeedServer, **options) -> HttpPriceFeed:
    sleeps = options.pop("sleeps", [])
    options = {"timeout": 0.2, "retries": 2, "sleep": sleeps.append} | options
    return HttpPriceFeed(server.url, **options)


def _refusal(feed: HttpPriceFeed, code: str = "XAU-USD") -> ValuationError:
    with pytest.raises(ValuationError) as caught:
        feed.observation(code=code, on_or_before=DAY)
    return caught.value


# --- answers --------------------------------------------------------------------------------------------------------


def test_a_good_answer_is_the_observation_as_decimal(feed_server):
    assert _feed(feed_server).observation(code="XAU-USD", on_or_before=DAY) == (date(2025, 1, 10), Decimal("2650.50"))
    assert feed_server.requests == [("XAU-USD", "2025-01-15")]


def test_a_json_number_is_read_as_decimal_never_float(feed_server):
    feed_server.script = [(200, b'{"date": "2025-01-10", "value": 0.1}')]
    _, value = _feed(feed_server).observation(code="XAU-USD", on_or_before=DAY)
    assert isinstance(value, Decimal) and value == Decimal("0.1")


def test_not_found_is_no_price_and_not_retried(feed_server):
    feed_server.script = [(404, {"detail": "none"})]
    refusal = _refusal(_feed(feed_server))
    assert refusal.code == "no_price" and "XAU-USD" in refusal.detail
    assert len(feed_server.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"date": "2025-01-10"}',
        b'{"date": "2025-13-01", "value": "1"}',
        b'{"date": "2025-01-10", "value": "abc"}',
        b'{"date": "2025-01-10", "value": NaN}',
        b'{"date": "2025-01-10", "value": true}',
        b'{"date": "2025-01-16", "value": "1"}',  # after the day asked for
    ],
)
def test_a_malformed_answer_is_feed_bad_answer_and_not_retried(feed_server, body):
    feed_server.script = [(200, body)]
    refusal = _refusal(_feed(feed_server))
    assert refusal.code == "feed_bad_answer" and feed_server.url in refusal.detail
    assert len(feed_server.requests) == 1


def test_another_client_error_is_a_bad_answer_not_retried(feed_server):
    feed_server.script = [(400, {"detail": "bad code"})]
    assert _refusal(_feed(feed_server)).code == "feed_bad_answer"
    assert len(feed_server.requests) == 1


# --- retries --------------------------------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_backoff_then_succeed(feed_server):
    feed_server.script = [(500, {}), (503, {}), GOOD]
    sleeps: list[float] = []
    feed = _feed(feed_server, retries=2, backoff=0.1, sleeps=sleeps)
    assert feed.observation(code="XAU-USD", on_or_before=DAY)[1] == Decimal("2650.50")
    assert len(feed_server.requests) == 3 and sleeps == [0.1, 0.2]
    assert feed.breaker.state == CircuitBreaker.CLOSED


def test_retries_are_bounded_then_the_feed_is_unavailable(feed_server):
    feed_server.script = [(500, {})]
    refusal = _refusal(_feed(feed_server, retries=2))
    assert refusal.code == "feed_unavailable" and "3 attempts" in refusal.detail and "HTTP 500" in refusal.detail
    assert len(feed_server.requests) == 3


def test_too_many_requests_is_transient(feed_server):
    feed_server.script = [(429, {}), GOOD]
    assert _feed(feed_server, retries=1).observation(code="XAU-USD", on_or_before=DAY)[1] == Decimal("2650.50")
    assert len(feed_server.requests) == 2


def test_a_timeout_is_transient(feed_server):
    feed_server.script = [HANG, GOOD]
    feed = _feed(feed_server, timeout=0.2, retries=1)
    assert feed.observation(code="XAU-USD", on_or_before=DAY)[1] == Decimal("2650.50")
    assert len(feed_server.requests) == 2


def test_a_feed_that_keeps_hanging_is_unavailable_within_the_timeouts(feed_server):
    feed_server.script = [HANG]
    refusal = _refusal(_feed(feed_server, timeout=0.2, retries=1))
    assert refusal.code == "feed_unavailable" and len(feed_server.requests) == 2


def test_a_refused_connection_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    feed = HttpPriceFeed(f"http://127.0.0.1:{port}", timeout=0.2, retries=1, sleep=sleeps.append)
    with pytest.raises(ValuationError) as caught:
        feed.observation(code="XAU-USD", on_or_before=DAY)
    assert caught.value.code == "feed_unavailable" and "connection failed" in caught.value.detail
    assert len(sleeps) == 1  # it was tried twice


# --- the circuit breaker --------------------------------------------------------------------------------------------


def test_the_breaker_opens_after_the_threshold_then_fails_fast_without_a_request(feed_server):
    feed_server.script = [(500, {})]
    feed = _feed(feed_server, retries=0, failure_threshold=3, reset_seconds=60)
    for _ in range(3):
        assert _refusal(feed).code == "feed_unavailable"
    assert len(feed_server.requests) == 3 and feed.breaker.state == CircuitBreaker.OPEN
    refusal = _refusal(feed)
    assert refusal.code == "feed_unavailable" and feed_server.url in refusal.detail
    assert "circuit open" in refusal.detail and "retried in 60 s" in refusal.detail
    # another instance for the same feed (the next asset, the next chunk) shares the open breaker
    other = _feed(feed_server)
    assert other.breaker is feed.breaker and _refusal(other, "XAG-USD").code == "feed_unavailable"
    assert len(feed_server.requests) == 3


def test_the_breaker_opening_mid_retries_stops_them(feed_server):
    feed_server.script = [(500, {})]
    sleeps: list[float] = []
    feed = _feed(feed_server, retries=5, failure_threshold=2, sleeps=sleeps)
    refusal = _refusal(feed)
    assert refusal.code == "feed_unavailable" and "circuit open" in refusal.detail
    assert len(feed_server.requests) == 2


def test_a_success_resets_the_consecutive_count(feed_server):
    feed_server.script = [(500, {}), GOOD, (500, {}), GOOD]
    feed = _feed(feed_server, retries=0, failure_threshold=2)
    for expected in ["feed_unavailable", None, "feed_unavailable", None]:
        if expected:
            assert _refusal(feed).code == expected
        else:
            feed.observation(code="XAU-USD", on_or_before=DAY)
    assert feed.breaker.state == CircuitBreaker.CLOSED


def test_after_the_reset_one_trial_call_closes_the_breaker_on_success(feed_server):
    clock = Clock()
    breaker = CircuitBreaker(name=feed_server.url, failure_threshold=2, reset_seconds=30, clock=clock)
    feed_server.script = [(500, {}), (500, {}), GOOD]
    feed = _feed(feed_server, retries=0, breaker=breaker)
    for _ in range(2):
        _refusal(feed)
    assert breaker.state == CircuitBreaker.OPEN
    clock.now += 29
    assert "retried in 1 s" in _refusal(feed).detail and len(feed_server.requests) == 2
    clock.now += 1
    assert feed.observation(code="XAU-USD", on_or_before=DAY)[1] == Decimal("2650.50")
    assert breaker.state == CircuitBreaker.CLOSED and len(feed_server.requests) == 3


def test_a_failed_trial_reopens_the_breaker(feed_server):
    clock = Clock()
    breaker = CircuitBreaker(name=feed_server.url, failure_threshold=1, reset_seconds=30, clock=clock)
    feed_server.script = [(500, {})]
    feed = _feed(feed_server, retries=3, breaker=breaker)
    _refusal(feed)
    clock.now += 30
    assert _refusal(feed).code == "feed_unavailable"  # the trial failed: no further retries
    assert breaker.state == CircuitBreaker.OPEN and len(feed_server.requests) == 2
    clock.now += 29
    _refusal(feed)
    assert len(feed_server.requests) == 2


def test_half_open_lets_only_one_trial_through():
    clock = Clock()
    breaker = CircuitBreaker(name="http://feed", failure_threshold=1, reset_seconds=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    breaker.before_call()  # the trial
    with pytest.raises(ValuationError) as caught:
        breaker.before_call()
    assert caught.value.code == "feed_unavailable" and "trial" in caught.value.detail
    breaker.record_success()
    breaker.before_call()
    assert breaker.state == CircuitBreaker.CLOSED


def test_one_breaker_per_feed_url():
    assert breaker_for("http://feed/v1/") is breaker_for("http://feed/v1")
    assert breaker_for("http://feed/v1") is not breaker_for("http://other/v1")
    assert HttpPriceFeed("http://feed/v1").breaker is HttpPriceFeed("http://feed/v1/").breaker


# --- FX ---------------------------------------------------------------------------------------------------------------


def _fx_script(rates: dict[str, str]):
    def answer(code, on_or_before):
        if code in rates:
            return 200, {"date": on_or_before, "value": rates[code]}
        return 404, {}

    return answer


def test_convert_multiplies_by_from_to_or_divides_by_the_inverse(feed_server):
    feed_server.script = _fx_script({"GBP-USD": "1.25"})
    feed = _feed(feed_server)
    assert feed.convert(amount=Decimal("100"), from_currency="gbp", to_currency="USD", as_of=DAY) == Decimal("125.00")
    assert feed.convert(amount=Decimal("125"), from_currency="USD", to_currency="GBP", as_of=DAY) == Decimal("100")
    assert feed.convert(amount=Decimal("7"), from_currency="USD", to_currency="USD", as_of=DAY) == Decimal("7")
    assert [code for code, _ in feed_server.requests] == ["GBP-USD", "USD-GBP", "GBP-USD"]


def test_convert_without_a_rate_is_fx_missing_and_a_down_feed_says_so(feed_server):
    feed_server.script = _fx_script({})
    with pytest.raises(ValuationError) as missing:
        _feed(feed_server).convert(amount=Decimal("1"), from_currency="USD", to_currency="CHF", as_of=DAY)
    assert missing.value.code == "fx_missing" and "CHF" in missing.value.detail
    feed_server.script = [(500, {})]
    with pytest.raises(ValuationError) as down:
        _feed(feed_server, retries=0).convert(amount=Decimal("1"), from_currency="USD", to_currency="CHF", as_of=DAY)
    assert down.value.code == "feed_unavailable"


# --- the factory ----------------------------------------------------------------------------------------------------


def test_price_source_is_the_stored_series_unless_a_feed_is_configured(settings):
    settings.PRICE_FEED_URL = ""
    assert isinstance(price_source(), StoredPrices)
    settings.PRICE_FEED_URL = "http://feed.example/v1"
    settings.PRICE_FEED_TIMEOUT_SECONDS = 3
    settings.PRICE_FEED_RETRIES = 4
    settings.PRICE_FEED_BREAKER_THRESHOLD = 7
    settings.PRICE_FEED_BREAKER_RESET_SECONDS = 90
    feed = price_source()
    assert isinstance(feed, HttpPriceFeed) and feed.base_url == "http://feed.example/v1"
    assert (feed.timeout, feed.retries) == (3, 4)
    assert (feed.breaker.failure_threshold, feed.breaker.reset_seconds) == (7, 90)


def test_price_source_defaults_without_the_other_settings(settings):
    settings.PRICE_FEED_URL = "http://feed.example/v1"
    for name in ["TIMEOUT_SECONDS", "RETRIES", "BREAKER_THRESHOLD", "BREAKER_RESET_SECONDS"]:
        if hasattr(settings, f"PRICE_FEED_{name}"):
            delattr(settings, f"PRICE_FEED_{name}")
    feed = price_source()
    assert (feed.timeout, feed.retries, feed.breaker.failure_threshold, feed.breaker.reset_seconds) == (5, 2, 5, 60)


# --- through the record service -------------------------------------------------------------------------------------


def test_a_market_valuation_uses_the_feeds_price(feed_server, users, make_asset):
    # The series' description is stored; its observations come from the feed (none are stored).
    PriceSeries.objects.create(code="XAU-USD", kind="price", currency="USD", unit="troy_oz")
    feed_server.script = _fx_script({"XAU-USD": "3000.25"})
    asset = make_asset("approved", currency="USD")
    valuation = valuation_record(
        actor=users["valuer"],
        asset_id=asset.pk,
        method="market",
        as_of=DAY,
        inputs={"quantity": "2", "series": "XAU-USD"},
        prices=_feed(feed_server),
    )
    # 2 × 3,000.25 = 6,000.50 USD
    assert valuation.value == Decimal("6000.500000") and valuation.status == ValuationStatus.APPROVED
    assert valuation.inputs["price"] == "3000.25" and valuation.inputs["price_date"] == "2025-01-15"
    assert feed_server.requests == [("XAU-USD", "2025-01-15")]
