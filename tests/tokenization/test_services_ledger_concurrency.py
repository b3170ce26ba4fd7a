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


@pytest.mark.usefixtures("transfer_path")
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


@pytest.mark.usefixtures("transfer_path")
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


def _rules(users, token, **rules) -> None:
    from tokenization.services.tokens import token_rules_set

    token_rules_set(actor=users["compliance"], token_id=token.pk, rules=rules)


@pytest.mark.usefixtures("transfer_path")
def test_12_parallel_transfers_to_new_holders_with_one_seat_left_let_exactly_one_through(users, make_token, funded):
    """Transfers that add a holder take the token row's lock, so two of them cannot both pass max-holders."""
    token = make_token()
    sources = [funded(token, 100) for _ in range(12)]
    newcomers = [funded(token).address for _ in range(12)]
    _rules(users, token, max_holders=13)  # 12 hold now: one more may join
    path = f"/api/v1/tokens/{token.pk}/transfers/"
    operator = users["operator"]

    def work(index: int, out: list) -> None:
        client = APIClient()
        client.force_authenticate(operator)
        body = {"from_wallet": sources[index].address, "to_wallet": newcomers[index], "amount": 10}
        response = _post(client, path, body)
        out.append((response.status_code, response.json()))

    answers = _run_threads(12, work)
    assert sorted(status for status, _ in answers) == [201] + [422] * 11, answers
    assert {body["app_code"] for status, body in answers if status == 422} == {"max-holders"}
    holders = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER, balance__gt=0).count()
    assert holders == 13


@pytest.mark.usefixtures("transfer_path")
def test_mints_burns_and_holder_changing_transfers_in_parallel_never_deadlock_or_lose_supply(users, make_token, funded):
    """Every movement takes its locks in one order (investors, accounts, token, audit head): a mix of the kinds that
    lock the token row, run concurrently, ends with no server error, no 409 and the supply conserved."""
    token = make_token()
    holders = [funded(token, 500) for _ in range(8)]
    empties = [funded(token) for _ in range(8)]
    _rules(users, token, max_holders=1000)
    base = f"/api/v1/tokens/{token.pk}"
    operator = users["operator"]

    def work(index: int, out: list) -> None:
        client = APIClient()
        client.force_authenticate(operator)
        rng = random.Random(index)
        for step in range(30):
            kind = (index + step) % 3
            if kind == 0:
                response = _post(client, f"{base}/mint/", {"to_wallet": rng.choice(empties).address, "amount": 5})
            elif kind == 1:
                response = _post(client, f"{base}/burn/", {"from_wallet": rng.choice(holders).address, "amount": 1})
            else:
                sender, receiver = rng.choice(holders), rng.choice(empties + holders)
                if sender.pk == receiver.pk:
                    continue
                body = {"from_wallet": sender.address, "to_wallet": receiver.address, "amount": 3}
                response = _post(client, f"{base}/transfers/", body)
            out.append((response.status_code, response.json()))

    answers = _run_threads(8, work)
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 422}, [body for status, body in answers if status not in (201, 422)][:3]
    assert statuses[201] > 0
    token = TokenClass.objects.get(pk=token.pk)
    accounts = Account.objects.filter(token_class=token, kind=AccountKind.HOLDER)
    assert sum(a.balance for a in accounts) == token.total_supply
    assert not accounts.filter(balance__lt=0).exists()
    assert ledger_is_balanced(token_id=token.pk)
    assert audit_chain_verify().valid
