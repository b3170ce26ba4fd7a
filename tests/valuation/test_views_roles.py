"""The SPEC §3 role matrix over every valuation endpoint: each role gets exactly its answer, the body says what
happened and the database shows it (or, for a refusal, that nothing happened at all)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from assets.models import Asset
from audit.models import AuditEvent
from tests.rwa_service.problems import problem_of
from tests.valuation.conftest import TODAY
from tokenization.models import TokenClass
from tokenization.services.tokens import token_class_tokenize
from valuation.models import PriceObservation, PriceSeries, Valuation, ValuationStatus

ALL = ["anonymous", "norole", "admin", "operator", "compliance", "valuer", "auditor", "investor"]
STAFF = {"admin", "operator", "compliance", "valuer", "auditor"}
EVERYONE = STAFF | {"investor"}
VALUERS = {"admin", "valuer"}
API = "/api/v1/"
PROBLEM_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


def _expect(allowed: set[str], ok: int, *, investor: int | None = None) -> dict[str, int]:
    """Anonymous 401; allowed roles `ok`; the investor `investor` when given (404: not theirs); others 403."""
    answers = {}
    for role in ALL:
        if role == "anonymous":
            answers[role] = 401
        elif role == "investor" and investor is not None:
            answers[role] = investor
        elif role in allowed:
            answers[role] = ok
        else:
            answers[role] = 403
    return answers


@dataclass
class World:
    """`token` (500 whole tokens) over a tokenized asset `visible` whose current valuation is 1,000,000 GBP and
    which has a draft by `valuer2`; `hidden` is an approved, not tokenized asset (an investor may not see it) with a
    draft of its own; `XAU-USD` is a price series with one observation."""

    users: dict
    token: TokenClass
    visible: Asset
    hidden: Asset
    current: Valuation
    draft: Valuation
    hidden_draft: Valuation
    series: PriceSeries


@pytest.fixture
def world(users, make_asset, make_token_over, make_current, appraise, valuer2, make_series) -> World:
    token = make_token_over(supply=500)
    current = make_current(token.asset, "1000000", as_of=TODAY - timedelta(days=30))
    draft = appraise(token.asset, "1100000", by=valuer2)
    hidden = make_asset("approved")
    hidden_draft = appraise(hidden, "5000", by=valuer2)
    series = make_series("XAU-USD", observations={TODAY - timedelta(days=1): "2300.5"})
    return World(users, token, token.asset, hidden, current, draft, hidden_draft, series)


@dataclass
class Call:
    method: str
    path: str
    body: Any = None
    check: Callable[[Any, str], None] | None = None  # asserts the body and the database after the expected answer


# --- the calls -----------------------------------------------------------------------------------------------------


def asset_valuations(w: World) -> Call:
    def check(response, role):
        assert [row["id"] for row in response.json()["results"]] == [str(w.draft.pk), str(w.current.pk)]

    return Call("get", f"assets/{w.visible.pk}/valuations/", check=check)


def hidden_asset_valuations(w: World) -> Call:
    def check(response, role):
        assert [row["id"] for row in response.json()["results"]] == [str(w.hidden_draft.pk)]

    return Call("get", f"assets/{w.hidden.pk}/valuations/", check=check)


def record(w: World) -> Call:
    body = {"method": "appraisal", "as_of": str(TODAY), "inputs": {"value": "1200000.25"}}

    def check(response, role):
        data = response.json()
        valuation = Valuation.objects.get(pk=data["id"])
        assert (data["status"], data["value"], data["recorded_by"]) == ("draft", "1200000.250000", f"{role}-user")
        assert (valuation.asset_id, valuation.value, valuation.status) == (w.visible.pk, Decimal("1200000.25"), "draft")
        assert AuditEvent.objects.filter(action="valuation.recorded", object_id=data["id"]).count() == 1

    return Call("post", f"assets/{w.visible.pk}/valuations/", body, check=check)


def valuations_list(w: World) -> Call:
    def check(response, role):
        ids = {row["id"] for row in response.json()["results"]}
        mine = {str(w.current.pk), str(w.draft.pk)}
        assert ids == (mine if role == "investor" else mine | {str(w.hidden_draft.pk)})

    return Call("get", "valuations/", check=check)


def valuation_retrieve(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert (data["id"], data["status"], data["value"]) == (str(w.current.pk), "approved", "1000000.000000")

    return Call("get", f"valuations/{w.current.pk}/", check=check)


def hidden_valuation_retrieve(w: World) -> Call:
    def check(response, role):
        assert response.json()["id"] == str(w.hidden_draft.pk)

    return Call("get", f"valuations/{w.hidden_draft.pk}/", check=check)


def approve(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert (data["status"], data["approved_by"]) == ("approved", f"{role}-user")
        assert Valuation.objects.get(pk=w.current.pk).status == ValuationStatus.SUPERSEDED
        assert Valuation.objects.get(pk=w.draft.pk).status == ValuationStatus.APPROVED

    return Call("post", f"valuations/{w.draft.pk}/approve/", check=check)


def reject(w: World) -> Call:
    def check(response, role):
        assert (response.json()["status"], response.json()["status_reason"]) == ("rejected", "stale comparables")
        assert Valuation.objects.get(pk=w.draft.pk).status == ValuationStatus.REJECTED
        assert Valuation.objects.get(pk=w.current.pk).status == ValuationStatus.APPROVED

    return Call("post", f"valuations/{w.draft.pk}/reject/", {"reason": "stale comparables"}, check=check)


def series_list(w: World) -> Call:
    def check(response, role):
        assert [row["code"] for row in response.json()["results"]] == ["XAU-USD"]

    return Call("get", "price-series/", check=check)


def series_retrieve(w: World) -> Call:
    def check(response, role):
        assert (response.json()["code"], response.json()["kind"]) == ("XAU-USD", "price")

    return Call("get", "price-series/XAU-USD/", check=check)


def series_create(w: World) -> Call:
    body = {"code": "EUR-USD", "name": "Euro in dollars", "kind": "fx", "currency": "USD", "base_currency": "EUR"}

    def check(response, role):
        assert response.json()["code"] == "EUR-USD"
        series = PriceSeries.objects.get(code="EUR-USD")
        assert (series.kind, series.currency, series.base_currency) == ("fx", "USD", "EUR")
        assert AuditEvent.objects.get(action="price_series.created", object_id="EUR-USD").actor == f"{role}-user"

    return Call("post", "price-series/", body, check=check)


def observations_list(w: World) -> Call:
    def check(response, role):
        rows = [(row["date"], row["value"]) for row in response.json()["results"]]
        assert rows == [(str(TODAY - timedelta(days=1)), "2300.5000000000")]

    return Call("get", "price-series/XAU-USD/observations/", check=check)


def observations_add(w: World) -> Call:
    body = [{"date": str(TODAY), "value": "2310.75"}]

    def check(response, role):
        assert [(row["date"], row["value"]) for row in response.json()] == [(str(TODAY), "2310.7500000000")]
        assert PriceObservation.objects.get(series=w.series, date=TODAY).value == Decimal("2310.75")
        event = AuditEvent.objects.get(action="price_observations.added", object_id="XAU-USD")
        assert (event.actor, event.after["count"]) == (f"{role}-user", 1)

    return Call("post", "price-series/XAU-USD/observations/", body, check=check)


def nav(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert (data["valuation"], data["value"], data["supply"]) == (str(w.current.pk), "1000000.000000", "500")
        assert (data["nav_per_token"], data["currency"], data["stale"]) == ("2000.0000000000", "GBP", False)

    return Call("get", f"tokens/{w.token.pk}/nav/", check=check)


def nav_of_a_pending_token(w: World) -> Call:
    """A class whose tokenize operation has not run, over the approved (not tokenized) asset that has only a draft:
    staff learn there is no current valuation; an investor may not see the class at all."""
    operation = token_class_tokenize(actor=w.users["operator"], asset_id=w.hidden.pk, symbol="PEND", name="Pending")
    pending = TokenClass.objects.get(pk=operation.inputs["token"])

    def check(response, role):
        problem_of(response, status=409, code="no_current_valuation")

    return Call("get", f"tokens/{pending.pk}/nav/", check=check)


MATRIX: dict[str, tuple[Callable[[World], Call], dict[str, int]]] = {
    "asset valuations": (asset_valuations, _expect(EVERYONE, 200)),
    "asset valuations: asset not theirs": (hidden_asset_valuations, _expect(STAFF, 200, investor=404)),
    "record valuation": (record, _expect(VALUERS, 201)),
    "valuations list": (valuations_list, _expect(EVERYONE, 200)),
    "valuation retrieve": (valuation_retrieve, _expect(EVERYONE, 200)),
    "valuation retrieve: asset not theirs": (hidden_valuation_retrieve, _expect(STAFF, 200, investor=404)),
    "approve": (approve, _expect(VALUERS, 200)),
    "reject": (reject, _expect(VALUERS, 200)),
    "price series list": (series_list, _expect(STAFF, 200)),
    "price series retrieve": (series_retrieve, _expect(STAFF, 200)),
    "price series create": (series_create, _expect(VALUERS, 201)),
    "observations list": (observations_list, _expect(STAFF, 200)),
    "observations add": (observations_add, _expect(VALUERS, 201)),
    "nav": (nav, _expect(EVERYONE, 200)),
    "nav of a pending token": (nav_of_a_pending_token, _expect(STAFF, 409, investor=404)),
}


def _state() -> tuple:
    return (
        AuditEvent.objects.count(),
        tuple(Valuation.objects.order_by("pk").values_list("pk", "status")),
        PriceSeries.objects.count(),
        PriceObservation.objects.count(),
    )


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("role", ALL)
def test_role_gets_the_spec_answer(endpoint, role, world, users, client_for):
    make_call, answers = MATRIX[endpoint]
    call = make_call(world)
    before = _state()
    client = client_for(None if role == "anonymous" else users[role])
    if call.body is None:
        response = getattr(client, call.method)(API + call.path)
    else:
        response = getattr(client, call.method)(API + call.path, call.body, format="json")
    expected = answers[role]
    assert response.status_code == expected, response.content
    if expected in PROBLEM_CODES:
        problem_of(response, status=expected, code=PROBLEM_CODES[expected])
        assert _state() == before  # a refusal changes nothing: no event, no valuation moved, no row
        if expected == 401:
            assert response["WWW-Authenticate"].startswith("Bearer")
    else:
        call.check(response, role)
