"""rwa_service.idempotency.services on its own: one run per (user, key), stored answers, fingerprints, expiry."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from rwa_service.exceptions import Conflict, Unprocessable, ValidationFailed
from rwa_service.idempotency.models import IdempotencyKey
from rwa_service.idempotency.services import (
    MAX_KEY_LENGTH,
    AnswerSlot,
    KeyTaken,
    idempotency_keys_purge,
    idempotent_call,
)


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


class ClaimingRunner:
    """A service that takes the slot's offered key, as the database transfer path does: it inserts the key row as
    its first statement (or finds it taken) and stores its answer with its effect."""

    def __init__(self, slot, *, take_claim: bool = True, store: bool = True, raises: Exception | None = None):
        self.slot, self.take_claim, self.store, self.raises, self.calls = slot, take_claim, store, raises, 0

    def __call__(self):
        claim = self.slot.claim
        if self.take_claim and claim is not None:
            row, created = IdempotencyKey.objects.get_or_create(
                user_id=claim.user_id, key=claim.key,
                defaults={"method": claim.method, "path": claim.path, "request_hash": claim.request_hash,
                          "expires_at": claim.expires_at},
            )  # fmt: skip
            if not created:
                raise KeyTaken
            self.slot.key_id = row.pk
        self.calls += 1  # past the claim: the effect runs
        if self.raises is not None:
            raise self.raises
        result = {"n": self.calls}
        if self.store and self.slot.key_id is not None:
            status, text = self.slot.prepare(result)
            IdempotencyKey.objects.filter(pk=self.slot.key_id).update(response_status=status, response_body=text)
        return self.slot.answer(result)


def _slot_call(user, key, slot, run):
    return idempotent_call(user=user, key=key, method="POST", path="/api/v1/x/", body={"a": 1}, run=run,
                           on_error=_on_error, slot=slot)  # fmt: skip


def _answer(result):
    return 201, {"answer": result["n"]}


def test_a_service_claiming_the_key_and_storing_its_answer_runs_once_and_replays_that_answer(users):
    slot = AnswerSlot(render=_answer, service_claims=True)
    run = ClaimingRunner(slot)
    assert _slot_call(users["operator"], "s1", slot, run) == (201, {"answer": 1}, False)
    row = IdempotencyKey.objects.get(key="s1")
    assert (row.response_status, json.loads(row.response_body)) == (201, {"answer": 1})
    for _ in range(3):  # replays never reach the service's claim: the key is found first
        assert _slot_call(users["operator"], "s1", slot, run) == (201, {"answer": 1}, True)
    assert run.calls == 1 and IdempotencyKey.objects.count() == 1


def test_a_service_offered_the_key_that_does_not_claim_it_keeps_nothing(users):
    slot = AnswerSlot(render=_answer, service_claims=True)
    inner = ClaimingRunner(slot, take_claim=False)

    def run():
        IdempotencyKey.objects.create(user=users["auditor"], key="effect", method="POST", path="/",
                                      request_hash="x", expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
        return inner()

    with pytest.raises(RuntimeError):
        _slot_call(users["operator"], "s2", slot, run)
    assert not IdempotencyKey.objects.exists()


def test_without_service_claims_the_key_is_claimed_first_and_the_service_may_store_its_answer(users):
    slot = AnswerSlot(render=_answer)  # service_claims off: idempotent_call inserts the key before the effect
    seen = []

    def run():
        seen.append((slot.claim, IdempotencyKey.objects.filter(key="s2b", pk=slot.key_id).exists()))
        return ClaimingRunner(slot, take_claim=False)()

    assert _slot_call(users["operator"], "s2b", slot, run) == (201, {"answer": 1}, False)
    assert seen == [(None, True)]  # nothing offered; the key row was there before the effect ran
    row = IdempotencyKey.objects.get(key="s2b")
    assert (row.response_status, json.loads(row.response_body)) == (201, {"answer": 1})
    assert _slot_call(users["operator"], "s2b", slot, run) == (201, {"answer": 1}, True) and len(seen) == 1


def test_a_key_the_service_finds_taken_rolls_its_work_back_and_replays(users):
    first = AnswerSlot(render=_answer, service_claims=True)
    _slot_call(users["operator"], "s3", first, ClaimingRunner(first))
    # A second request that reaches the service (as a concurrent duplicate can): it finds the key taken
    slot = AnswerSlot(render=_answer, service_claims=True)

    def duplicate():
        IdempotencyKey.objects.create(user=users["auditor"], key="side-effect", method="POST", path="/",
                                      request_hash="x", expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
        raise KeyTaken

    assert _slot_call(users["operator"], "s3", slot, duplicate) == (201, {"answer": 1}, True)
    assert not IdempotencyKey.objects.filter(key="side-effect").exists()  # rolled back with the attempt


def test_a_refusal_after_the_service_claimed_the_key_is_stored_and_replayed(users):
    slot = AnswerSlot(render=_answer, service_claims=True)
    run = ClaimingRunner(slot, raises=Conflict("busy", code="ledger_busy"))
    status, body, replayed = _slot_call(users["operator"], "s4", slot, run)
    assert (status, body["code"], replayed) == (409, "ledger_busy", False)
    assert slot.stored is None
    row = IdempotencyKey.objects.get(key="s4")  # the refusal's own transaction stored it
    assert (row.response_status, json.loads(row.response_body)["code"]) == (409, "ledger_busy")
    assert _slot_call(users["operator"], "s4", slot, run)[2] is True and run.calls == 1


def test_a_refusal_leaves_the_callers_transaction_usable(users):
    """Inside a caller's transaction the request is a savepoint: a refusal rolls back only the request."""
    from django.db import transaction

    with transaction.atomic():
        slot = AnswerSlot(render=_answer, service_claims=True)
        _slot_call(users["operator"], "s5", slot, ClaimingRunner(slot, raises=Conflict("busy", code="busy")))
        assert IdempotencyKey.objects.filter(key="s5").count() == 1  # a query still works here
        status, body, replayed = _call(users["operator"], "s6", Runner(raises=Conflict("busy", code="busy")))
        assert (status, replayed) == (409, False) and IdempotencyKey.objects.filter(key="s6").count() == 1
