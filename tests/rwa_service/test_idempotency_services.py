"""rwa_service.idempotency.services on its own: one run per (user, key), stored answers, fingerprints, expiry."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from rwa_service.exceptions import Conflict, Unprocessable, ValidationFailed
from rwa_service.idempotency.models import IdempotencyKey
from rwa_service.idempotency.services import MAX_KEY_LENGTH, idempotency_keys_purge, idempotent_call


class Runner:
    """A `run` that counts its calls and answers (201, {"n": calls}), or raises what it is told to."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.calls, self.raises = 0, raises

    def __call__(self):
        self.calls += 1
        if self.raises is not None:
            raise self.raises
        return 201, {"n": self.calls, "when": timezone.now()}


def _on_error(exc):
    return exc.status_code, {"code": exc.code, "detail": exc.detail}


def _call(user, key, run, *, body=None, path="/api/v1/x/"):
    return idempotent_call(
        user=user, key=key, method="POST", path=path, body=body or {"a": 1}, run=run, on_error=_on_error
    )


@pytest.mark.parametrize("key", [None, ""])
def test_a_key_is_required(users, key):
    run = Runner()
    with pytest.raises(ValidationFailed) as caught:
        _call(users["operator"], key, run)
    assert caught.value.code == "idempotency_key_missing"
    assert run.calls == 0 and not IdempotencyKey.objects.exists()


def test_keys_are_at_most_255_characters(users):
    run = Runner()
    with pytest.raises(ValidationFailed) as caught:
        _call(users["operator"], "x" * (MAX_KEY_LENGTH + 1), run)
    assert caught.value.code == "idempotency_key_invalid" and run.calls == 0
    assert _call(users["operator"], "x" * MAX_KEY_LENGTH, run)[0] == 201


def test_runs_once_and_replays_the_stored_answer(users):
    run = Runner()
    status, body, replayed = _call(users["operator"], "k1", run)
    assert (status, body["n"], replayed) == (201, 1, False)
    assert isinstance(body["when"], str)  # stored as JSON: what a replay will give back
    for _ in range(3):
        assert _call(users["operator"], "k1", run) == (201, body, True)
    assert run.calls == 1
    row = IdempotencyKey.objects.get()
    stored = (row.response_status, json.loads(row.response_body), row.method, row.path)
    assert stored == (201, body, "POST", "/api/v1/x/")
    assert row.expires_at - row.created_at >= timedelta(hours=24)


def test_another_body_or_path_with_the_same_key_is_refused(users):
    run = Runner()
    _call(users["operator"], "k1", run)
    for kwargs in ({"body": {"a": 2}}, {"path": "/api/v1/y/"}):
        with pytest.raises(Unprocessable) as caught:
            _call(users["operator"], "k1", run, **kwargs)
        assert caught.value.code == "idempotency_key_reused"
    assert run.calls == 1


def test_the_body_fingerprint_ignores_key_order(users):
    run = Runner()
    _call(users["operator"], "k1", run, body={"a": 1, "b": 2})
    assert _call(users["operator"], "k1", run, body={"b": 2, "a": 1})[2] is True
    assert run.calls == 1


def test_keys_are_scoped_per_user(users):
    run = Runner()
    assert _call(users["operator"], "k1", run)[2] is False
    assert _call(users["compliance"], "k1", run)[2] is False
    assert run.calls == 2 and IdempotencyKey.objects.count() == 2


def test_a_domain_error_is_stored_and_replayed(users):
    run = Runner(raises=Conflict("busy", code="ledger_busy"))
    first = _call(users["operator"], "k1", run)
    assert first == (409, {"code": "ledger_busy", "detail": "busy"}, False)
    assert _call(users["operator"], "k1", run) == (409, {"code": "ledger_busy", "detail": "busy"}, True)
    assert run.calls == 1


def test_an_unexpected_error_stores_nothing(users):
    run = Runner(raises=RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        _call(users["operator"], "k1", run)
    assert not IdempotencyKey.objects.exists()
    run.raises = None
    assert _call(users["operator"], "k1", run)[:1] == (201,)


def test_an_expired_key_runs_again_and_purge_deletes_only_expired_keys(users):
    run = Runner()
    _call(users["operator"], "old", run)
    _call(users["operator"], "fresh", run)
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _call(users["operator"], "old", run)[2] is False and run.calls == 3
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
