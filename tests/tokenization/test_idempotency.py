"""Idempotency-Key on the tokenization POSTs, exactly as SPEC §5: required (400 when missing or longer than 255
characters), the same key and body replays the first answer (success or refusal) with no second effect, the same
key with another body is 422, keys are per user and kept at least 24 hours, the key is stored with the effect (a
crash leaves neither), and concurrent duplicates make one effect.

Concurrency runs real threads on both backends: each thread has its own APIClient and its own database connection
(closed at the end), the test is transactional so the threads see committed rows. On SQLite the test database is a
file (settings.test sets DATABASES TEST NAME) in WAL mode with BEGIN IMMEDIATE, so the threads genuinely contend for
the write lock and queue on it; on PostgreSQL the duplicates wait on the key's unique index. No test is skipped on
either backend. After a transactional test Django flushes the tables; nothing later depends on data from migrations
(role groups are made on demand by the factories, the audit chain head by its first writer)."""

import json
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from rwa_service.idempotency.models import IdempotencyKey
from tests.rwa_service.problems import problem_of
from tests.tokenization.factories import InvestorFactory, WalletFactory, random_address
from tokenization.gateways import LedgerGateway
from tokenization.models import Account, LedgerEntry, Operation, TokenClass, Wallet
from tokenization.services.ledger import token_mint

API = "/api/v1/"


def _balance(token, wallet) -> Decimal:
    account = Account.objects.filter(token_class=token, wallet=wallet).first()
    return account.balance if account else Decimal(0)


@pytest.fixture
def rig(users, make_token):
    token = make_token()
    alice = WalletFactory(investor=InvestorFactory(user=users["investor"]))
    bob = WalletFactory()
    token_mint(caller=users["operator"], token_id=token.pk, to_wallet=alice.pk, amount=1000)
    token.refresh_from_db()
    return token, alice, bob


def _transfer(rig, amount=10) -> tuple[str, dict]:
    token, alice, bob = rig
    return f"{API}tokens/{token.pk}/transfers/", {"from_wallet": str(alice.pk), "to_wallet": str(bob.pk),
                                                  "amount": amount}  # fmt: skip


# The POSTs of SPEC §5 that need a key, in this app: (role, path and body builder, effect counter).
def _tokenize(rig, make_asset):
    asset = make_asset("approved")
    return "operator", f"{API}assets/{asset.pk}/tokenize/", {"symbol": "IDEM", "name": "Idempotent"}


def _mint(rig, make_asset):
    token, alice, bob = rig
    return "operator", f"{API}tokens/{token.pk}/mint/", {"to_wallet": str(bob.pk), "amount": 5}


def _burn(rig, make_asset):
    token, alice, bob = rig
    return "operator", f"{API}tokens/{token.pk}/burn/", {"from_wallet": str(alice.pk), "amount": 5}


def _transfers(rig, make_asset):
    return ("investor", *_transfer(rig))


def _force_transfer(rig, make_asset):
    token, alice, bob = rig
    body = {"from_wallet": str(alice.pk), "to_wallet": str(bob.pk), "amount": 5, "reason": "Court order"}
    return "compliance", f"{API}tokens/{token.pk}/force-transfer/", body


def _recover_wallet(rig, make_asset):
    token, alice, bob = rig
    body = {"lost_wallet": str(alice.pk), "new_address": random_address().lower(), "reason": "lost keys"}
    return "compliance", f"{API}investors/{alice.investor_id}/recover-wallet/", body


KEYED = {
    "tokenize": (_tokenize, 202),
    "mint": (_mint, 201),
    "burn": (_burn, 201),
    "transfers": (_transfers, 201),
    "force-transfer": (_force_transfer, 201),
    "recover-wallet": (_recover_wallet, 201),
}


def _effects() -> tuple:
    return (
        LedgerEntry.objects.count(),
        AuditEvent.objects.count(),
        IdempotencyKey.objects.count(),
        TokenClass.objects.count(),
        Operation.objects.count(),
        Wallet.objects.count(),
    )


@pytest.mark.parametrize("endpoint", list(KEYED))
def test_a_missing_key_is_a_400_and_does_nothing(endpoint, rig, users, client_for, make_asset):
    role, path, body = KEYED[endpoint][0](rig, make_asset)
    before = _effects()
    response = client_for(users[role]).post(path, body, format="json")
    problem = problem_of(response, status=400, code="idempotency_key_missing")
    assert problem["errors"] == {"Idempotency-Key": ["This header is required."]}
    empty = client_for(users[role]).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="")
    problem_of(empty, status=400, code="idempotency_key_missing")
    assert _effects() == before


@pytest.mark.parametrize("endpoint", list(KEYED))
def test_a_key_longer_than_255_characters_is_a_400_and_255_is_fine(endpoint, rig, users, client_for, make_asset):
    make, ok = KEYED[endpoint]
    role, path, body = make(rig, make_asset)
    before = _effects()
    response = client_for(users[role]).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    problem = problem_of(response, status=400, code="idempotency_key_invalid")
    assert "Idempotency-Key" in problem["errors"]
    assert _effects() == before
    accepted = client_for(users[role]).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert accepted.status_code == ok, accepted.content
    assert IdempotencyKey.objects.get(user=users[role]).key == "k" * 255


@pytest.mark.parametrize("endpoint", list(KEYED))
def test_a_replay_answers_the_first_answer_and_does_nothing_more(endpoint, rig, users, client_for, make_asset):
    make, ok = KEYED[endpoint]
    role, path, body = make(rig, make_asset)
    client, key = client_for(users[role]), str(uuid.uuid4())
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == ok, first.content
    assert "Idempotent-Replayed" not in first
    after_first = _effects()
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (ok, first.json(), "true")
    assert _effects() == after_first


@pytest.mark.usefixtures("transfer_path")  # the database path and the ORM path
def test_twenty_sequential_replays_make_one_transfer_and_twenty_identical_answers(rig, users, client_for):
    token, alice, bob = rig
    path, body = _transfer(rig, amount=7)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    answers = [client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key) for _ in range(20)]
    assert {response.status_code for response in answers} == {201}
    assert all(response.json() == answers[0].json() for response in answers)
    assert all(response["Content-Type"] == answers[0]["Content-Type"] for response in answers)
    assert "Idempotent-Replayed" not in answers[0]
    assert [response["Idempotent-Replayed"] for response in answers[1:]] == ["true"] * 19
    entries = LedgerEntry.objects.filter(token_class=token, kind="transfer")
    assert entries.count() == 1 and entries.get().pk == answers[0].json()["seq"]
    assert (_balance(token, alice), _balance(token, bob)) == (993, 7)
    assert AuditEvent.objects.filter(action="transfer.settled").count() == 1
    row = IdempotencyKey.objects.get(user=users["investor"], key=key)
    stored = (row.response_status, json.loads(row.response_body), row.method, row.path)
    assert stored == (201, answers[0].json(), "POST", path)
    assert answers[1].content == answers[0].content  # byte for byte


def test_a_replay_is_byte_for_byte_the_first_answer(rig, users, client_for):
    """SPEC "replays the first response exactly": the same bytes, not only equal JSON (key order included), for a
    settled transfer and for a refused one."""
    client = client_for(users["investor"])
    for amount in (10, 5000):
        path, body = _transfer(rig, amount=amount)
        key = str(uuid.uuid4())
        first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert first.status_code in (201, 422)
        replays = [client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key) for _ in range(3)]
        for replay in replays:
            assert (replay.status_code, replay["Content-Type"]) == (first.status_code, first["Content-Type"])
            assert replay.content == first.content


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(rig, users, client_for):
    path, body = _transfer(rig, amount=10)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    before = _effects()
    for other in ({**body, "amount": 11}, {**body, "to_wallet": str(rig[1].pk)}, {**body, "extra": 1}):
        response = client.post(path, other, format="json", HTTP_IDEMPOTENCY_KEY=key)
        problem_of(response, status=422, code="idempotency_key_reused")
        assert "Idempotent-Replayed" not in response
    token = rig[0]
    response = client.post(f"{API}tokens/{token.pk}/transfer-check/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 200  # the dry run is not idempotency-keyed at all
    mint = client_for(users["operator"])
    assert mint.post(f"{API}tokens/{token.pk}/mint/", {"to_wallet": str(rig[2].pk), "amount": 1}, format="json",
                     HTTP_IDEMPOTENCY_KEY=key).status_code == 201  # another user: another key  # fmt: skip
    assert LedgerEntry.objects.count() == before[0] + 1
    # the same user reusing the key on another endpoint is another request too
    reused = client_for(users["operator"]).post(
        f"{API}tokens/{token.pk}/burn/", {"from_wallet": str(rig[1].pk), "amount": 1}, format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )  # fmt: skip
    problem_of(reused, status=422, code="idempotency_key_reused")
    assert LedgerEntry.objects.count() == before[0] + 1


@pytest.mark.usefixtures("transfer_path")  # the database path and the ORM path
def test_a_blocked_transfer_replays_the_same_422_even_once_it_would_pass(rig, users, client_for):
    token, alice, bob = rig
    path, body = _transfer(rig, amount=1500)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    problem = problem_of(first, status=422, code="transfer_blocked")
    assert (problem["status_code"], problem["app_code"]) == ("0x52", "balance")
    token_mint(caller=users["operator"], token_id=token.pk, to_wallet=alice.pk, amount=1000)  # now it would pass
    replay = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (replay.status_code, replay.json(), replay["Idempotent-Replayed"]) == (422, first.json(), "true")
    assert replay["Content-Type"] == "application/problem+json"
    assert not LedgerEntry.objects.filter(kind="transfer").exists()
    fresh = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert fresh.status_code == 201
    assert (_balance(token, alice), _balance(token, bob)) == (500, 1500)


def test_keys_are_per_user(rig, users, client_for):
    token, alice, bob = rig
    path, body = _transfer(rig, amount=10)
    key = "shared-key-1"
    answers = [client_for(users[role]).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
               for role in ("investor", "operator", "compliance")]  # fmt: skip
    assert [response.status_code for response in answers] == [201, 201, 201]
    assert all("Idempotent-Replayed" not in response for response in answers)
    assert len({response.json()["seq"] for response in answers}) == 3
    assert LedgerEntry.objects.filter(kind="transfer").count() == 3
    assert (_balance(token, alice), _balance(token, bob)) == (970, 30)
    assert IdempotencyKey.objects.filter(key=key).count() == 3


def test_keys_are_kept_at_least_24_hours_then_may_be_used_afresh(rig, users, client_for):
    token, alice, bob = rig
    path, body = _transfer(rig, amount=10)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    started = timezone.now()
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    row = IdempotencyKey.objects.get(user=users["investor"], key=key)
    assert row.expires_at >= started + timedelta(hours=24)
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)["Idempotent-Replayed"] == "true"
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert LedgerEntry.objects.filter(kind="transfer").count() == 2
    assert IdempotencyKey.objects.filter(user=users["investor"], key=key).count() == 1


@pytest.mark.usefixtures("transfer_path")  # the database path and the ORM path
def test_a_crash_stores_neither_the_effect_nor_the_key_so_a_retry_runs(rig, users, client_for, monkeypatch):
    token, alice, bob = rig
    path, body = _transfer(rig, amount=10)
    key = str(uuid.uuid4())
    client = client_for(users["investor"])
    client.raise_request_exception = False

    def explode(self, **kwargs):
        raise RuntimeError("gateway fell over")

    with monkeypatch.context() as patch:
        patch.setattr(LedgerGateway, "transfer", explode)
        before = _effects()
        crashed = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        problem_of(crashed, status=500, code="server_error")
        assert _effects() == before
        assert not IdempotencyKey.objects.filter(key=key).exists()
    retried = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert (_balance(token, alice), _balance(token, bob)) == (990, 10)


def test_a_malformed_request_is_not_stored_and_the_key_stays_usable(rig, users, client_for):
    path, body = _transfer(rig)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    incomplete = {name: value for name, value in body.items() if name != "amount"}
    problem_of(client.post(path, incomplete, format="json", HTTP_IDEMPOTENCY_KEY=key), status=400,
               code="validation_error")  # fmt: skip
    assert not IdempotencyKey.objects.filter(key=key).exists()
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201


def test_a_refused_amount_is_an_answer_and_replays_as_such(rig, users, client_for):
    """The service refused the amount (400): that answer is the key's, replayed for the same body."""
    path, body = _transfer(rig)
    client, key = client_for(users["investor"]), str(uuid.uuid4())
    first = client.post(path, {**body, "amount": "ten"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    problem = problem_of(first, status=400, code="validation_error")
    assert "amount" in problem["errors"]
    replay = client.post(path, {**body, "amount": "ten"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (replay.status_code, replay.json(), replay["Idempotent-Replayed"]) == (400, first.json(), "true")
    assert not LedgerEntry.objects.filter(kind="transfer").exists()


# --- concurrency ----------------------------------------------------------------------------------------------------


def _post_concurrently(calls: list[tuple], *, threads: int) -> list:
    """Runs `calls` (user, path, body, key) from `threads` threads released together; returns the responses."""
    barrier = threading.Barrier(threads)
    answers: list = [None] * len(calls)

    def worker(index: int, user, path: str, body: dict, key: str) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user)
            client.raise_request_exception = False  # a crash must show up as the 500 it would be
            barrier.wait(timeout=30)
            answers[index] = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        except Exception as exc:  # reported by the assertions below
            answers[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(index, *call)) for index, call in enumerate(calls)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in workers)
    return answers


@pytest.mark.usefixtures("transfer_path")  # the database path and the ORM path
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_duplicates_make_exactly_one_transfer(users, make_token):
    token = make_token()
    alice = WalletFactory(investor=InvestorFactory(user=users["investor"]))
    bob = WalletFactory()
    token_mint(caller=users["operator"], token_id=token.pk, to_wallet=alice.pk, amount=1000)
    path = f"{API}tokens/{token.pk}/transfers/"
    body = {"from_wallet": str(alice.pk), "to_wallet": str(bob.pk), "amount": 25}
    key = str(uuid.uuid4())

    answers = _post_concurrently([(users["investor"], path, body, key)] * 10, threads=10)

    assert not [answer for answer in answers if isinstance(answer, Exception)], answers
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 409}, [answer.content for answer in answers]
    assert 500 not in statuses
    created = [answer for answer in answers if answer.status_code == 201]
    assert len(created) >= 1
    assert sum("Idempotent-Replayed" not in answer for answer in created) == 1  # one ran, the others replayed
    assert all(answer.json() == created[0].json() for answer in created)
    for answer in answers:
        if answer.status_code == 409:
            problem_of(answer, status=409, code=answer.json()["code"])
    entries = LedgerEntry.objects.filter(token_class=token, kind="transfer")
    assert entries.count() == 1 and entries.get().pk == created[0].json()["seq"]
    assert (_balance(token, alice), _balance(token, bob)) == (975, 25)
    assert AuditEvent.objects.filter(action="transfer.settled").count() == 1
    assert IdempotencyKey.objects.filter(key=key).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_two_keys_make_exactly_two_transfers(users, make_token):
    """Five threads send key A and five key B (same body): the ledger gets one transfer per key, no more."""
    token = make_token()
    alice = WalletFactory(investor=InvestorFactory(user=users["investor"]))
    bob = WalletFactory()
    token_mint(caller=users["operator"], token_id=token.pk, to_wallet=alice.pk, amount=1000)
    path = f"{API}tokens/{token.pk}/transfers/"
    body = {"from_wallet": str(alice.pk), "to_wallet": str(bob.pk), "amount": 25}
    keys = [str(uuid.uuid4()), str(uuid.uuid4())]
    calls = [(users["investor"], path, body, keys[index % 2]) for index in range(10)]

    answers = _post_concurrently(calls, threads=10)

    assert not [answer for answer in answers if isinstance(answer, Exception)], answers
    assert {answer.status_code for answer in answers} <= {201, 409}, [answer.content for answer in answers]
    for key in keys:
        mine = [answer for index, answer in enumerate(answers) if calls[index][3] == key and answer.status_code == 201]
        assert sum("Idempotent-Replayed" not in answer for answer in mine) == 1
        assert len({answer.json()["seq"] for answer in mine}) == 1
    assert LedgerEntry.objects.filter(token_class=token, kind="transfer").count() == 2
    assert (_balance(token, alice), _balance(token, bob)) == (950, 50)
