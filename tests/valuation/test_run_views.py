"""`revaluation-runs/` over the API: roles, 202 with an Idempotency-Key, progress, failures, cancel."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from valuation.models import RevaluationRun, RunStatus, ValuationPolicy

AS_OF = (timezone.localdate() - timedelta(days=1)).isoformat()
URL = "/api/v1/revaluation-runs/"
CALLERS = ["admin", "operator", "compliance", "valuer", "auditor", "investor", "norole", None]


@pytest.fixture
def policies(make_asset):
    good = make_asset("approved", name="Plant")
    bad = make_asset("approved", name="Gold")
    ValuationPolicy.objects.create(
        asset=good,
        method="depreciation",
        inputs={"cost": "1000", "salvage_value": "0", "in_service": "2020-01-01", "useful_life_years": "10"},
    )
    ValuationPolicy.objects.create(asset=bad, method="market", inputs={"quantity": "1", "series": "NOPE-USD"})
    return good, bad


def _client(users, client_for, who):
    return client_for(users[who] if who else None)


def _start(client, body=None, key=None):
    return client.post(URL, body or {"as_of": AS_OF}, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_start_a_run(users, client_for, policies, who, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _start(_client(users, client_for, who))
    expected = {"admin": 202, "valuer": 202, None: 401}.get(who, 403)
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_runs_and_their_failures(users, client_for, policies, who, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = _start(client_for(users["valuer"])).json()["id"]
    client = _client(users, client_for, who)
    expected = {"investor": 403, "norole": 403, None: 401}.get(who, 200)
    for path in (URL, f"{URL}{run_id}/", f"{URL}{run_id}/failures/"):
        assert client.get(path).status_code == expected, path


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_cancel(users, client_for, policies, who):
    run_id = _start(client_for(users["valuer"])).json()["id"]  # not executed: the run stays open
    response = _client(users, client_for, who).post(f"{URL}{run_id}/cancel/")
    expected = {"admin": 200, "valuer": 200, None: 401}.get(who, 403)
    assert response.status_code == expected


def test_a_run_reports_progress_and_each_failure(users, client_for, policies, django_capture_on_commit_callbacks):
    client = client_for(users["valuer"])
    with django_capture_on_commit_callbacks(execute=True):
        started = _start(client)
    assert started.status_code == 202 and started.json()["total"] == 2
    run = client.get(f"{URL}{started.json()['id']}/").json()
    assert (run["status"], run["done"], run["failed"]) == ("succeeded", 1, 1)
    (failure,) = client.get(f"{URL}{run['id']}/failures/").json()["results"]
    assert failure["asset"] == str(policies[1].pk) and "NOPE-USD" in failure["reason"]


def test_starting_needs_a_key_and_a_replay_answers_the_same_run(users, client_for, policies):
    client = client_for(users["valuer"])
    missing = client.post(URL, {"as_of": AS_OF}, format="json")
    first, again = _start(client, key="run-1"), _start(client, key="run-1")
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert RevaluationRun.objects.count() == 1


def test_bad_bodies_are_400_naming_the_field(users, client_for, policies):
    client = client_for(users["valuer"])
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    assert "as_of" in _start(client, {"as_of": future}).json()["errors"]
    assert "asset_type" in _start(client, {"as_of": AS_OF, "asset_type": "tulips"}).json()["errors"]
    assert not RevaluationRun.objects.exists()


def test_cancelling_twice_is_409(users, client_for, policies):
    client = client_for(users["valuer"])
    run_id = _start(client).json()["id"]
    assert client.post(f"{URL}{run_id}/cancel/").json()["status"] == RunStatus.CANCELLED
    assert client.post(f"{URL}{run_id}/cancel/").status_code == 409
