"""The ledger under concurrency, through the API: supply is conserved, no balance goes negative, every success
is one committed entry, no server error and no deadlock reaches a client."""

import random
import threading
import uuid
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.selectors import audit_chain_verify
from tokenization.models import Account, AccountKind, EntryKind, LedgerEntry, TokenClass
from tokenization.services.ledger import ledger_is_balanced

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client: APIClient, path: str, body: dict):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def _run_threads(count: int, work) -> list:
    results, errors = [[] for _ in range(count)], []
    barrier = threading.Barrier(count)

    def runner(index: int) -> None:
        try:
            barrier.wait()
            work(index, results[index])
        except Exception as exc:  # collected and asserted below: a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    return [item for chunk in results for item in chunk]


def test_16_clients_x_300_random_transfers_among_50_holders_conserve_supply(users, make_token, funded):
    token = make_token()
    wallets = [funded(token, 1000) for _ in range(50)]
    addresses = [wallet.address for wallet in wallets]
    path = f"/api/v1/tokens/{token.pk}/transfers/"
    operator = users["operator"]

    def work(index: int, out: list) -> None:
        client = APIClient()
        client.force_authenticate(operator)
        rng = random.Random(index)
        for _ in range(300):
            sender, receiver = rng.sample(addresses, 2)
            response = _post(client, path, {"from_wallet": sender, "to_wallet": receiver, "amount": rng.randint(1, 80)})
            out.append((response.status_code, response.json().get("app_code")))

    answers = _run_threads(16, work)
    statuses = Counter(status for status, _ in answers)
    assert len(answers) == 16 * 300
    assert set(statuses) <= {201, 422}, statuses  # no 5xx, no 409 (no deadlock, no exhausted retry)
    assert {code for status, code in answers if status == 422} <= {"balance"}
    token = TokenClass.objects.get(pk=token.pk)
    holders = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER)
    assert sum(a.balance for a in holders) == token.total_supply == 50 * 1000
    assert not holders.filter(balance__lt=0).exists()
    assert LedgerEntry.objects.filter(token_class=token, kind=EntryKind.TRANSFER).count() == statuses[201]
    assert ledger_is_balanced(token_id=token.pk)
    assert audit_chain_verify().valid


def test_50_parallel_transfers_of_100_from_1000_let_exactly_10_through(users, make_token, funded):
    token = make_token()
    source = funded(token, 1000)
    targets = [funded(token).address for _ in range(50)]
    path = f"/api/v1/tokens/{token.pk}/transfers/"
    operator = users["operator"]

    def work(index: int, out: list) -> None:
        client = APIClient()
        client.force_authenticate(operator)
        response = _post(client, path, {"from_wallet": source.address, "to_wallet": targets[index], "amount": 100})
        out.append((response.status_code, response.json()))

    answers = _run_threads(50, work)
    succeeded = [body for status, body in answers if status == 201]
    refused = [body for status, body in answers if status != 201]
    assert len(succeeded) == 10
    assert len(refused) == 40
    assert all(body["status"] == 422 and body["status_code"] == "0x52" for body in refused), refused[:3]
    assert Account.objects.get(token_class=token, wallet=source).balance == 0
    assert ledger_is_balanced(token_id=token.pk)
