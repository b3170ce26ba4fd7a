"""tokenization.services.transfer_sql: the transfer as two database calls decides and writes as the ORM path does."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from rwa_service.exceptions import NotFound
from rwa_service.idempotency.models import IdempotencyKey
from rwa_service.idempotency.services import AnswerSlot, KeyClaim, KeyTaken
from tests.tokenization.factories import WalletFactory
from tokenization.models import Account, LedgerEntry
from tokenization.services.common import wallet_ref
from tokenization.services.ledger import token_transfer, transfer_check
from tokenization.services.transfer_sql import token_transfer_sql, transfer_sql_enabled

pytestmark = pytest.mark.django_db


def test_transfers_take_the_database_path_on_postgresql_unless_switched_off(settings):
    settings.LEDGER_SQL_TRANSFERS = True
    assert transfer_sql_enabled() is (connection.vendor == "postgresql")
    settings.LEDGER_SQL_TRANSFERS = False
    assert transfer_sql_enabled() is False


def _backdate_entries(token, *, days: int) -> None:
    """Test-only: moves the token's entries back in time, past the ledger's append-only trigger (on PostgreSQL
    ordinary triggers do not fire for a session in the replica role)."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET LOCAL session_replication_role = replica")
        LedgerEntry.objects.filter(token_class=token).update(created_at=timezone.now() - timedelta(days=days))
        if postgres:
            cursor.execute("SET LOCAL session_replication_role = origin")


def _decisions(*, users, token, sender, receiver, amounts) -> list[dict]:
    return [
        transfer_check(caller=users["operator"], token_id=token.pk, from_wallet=sender.pk, to_wallet=receiver.pk,
                       amount=amount).as_dict()
        for amount in amounts
    ]  # fmt: skip


def test_both_paths_decide_alike_on_lockup_and_velocity_windows(users, make_token, funded, settings):
    """Receipts inside the lock-up days and transfers out inside the velocity window, over two wallets of one
    investor, with older history outside both windows: every rule's verdict and allowance is the same on both
    paths, for amounts on either side of each limit."""
    token = make_token({"lockup_days": 1, "velocity_limit": 500, "velocity_window_hours": 24})
    alice, bob = funded(token, 1000), funded(token, 1000)
    alice2 = WalletFactory(investor=alice.investor)  # a second wallet of alice's investor
    _backdate_entries(token, days=3)  # the minting becomes old history, outside both windows
    moves = ((120, alice, bob), (120, alice, alice2), (80, alice2, bob), (300, bob, alice2), (50, bob, alice))
    for amount, source, target in moves:
        token_transfer(caller=users["operator"], token_id=token.pk, from_wallet=source.pk, to_wallet=target.pk,
                       amount=amount)  # fmt: skip
    amounts = [1, 99, 100, 101, 150, 299, 300, 301, 600, 650, 651, 700]
    results = {}
    for path in (True, False):
        settings.LEDGER_SQL_TRANSFERS = path
        results[path] = _decisions(users=users, token=token, sender=alice, receiver=bob, amounts=amounts)
    assert results[True] == results[False]
    verdicts = {r["rule"]: r for r in results[True][0]["rules"]}
    assert verdicts["velocity"]["allowed_amount"] == str(500 - 120 - 120 - 80)  # alice's investor sent 320 in 24 h
    assert {d["app_code"] for d in results[True]} >= {"", "velocity"}


def test_a_missing_token_or_wallet_is_a_404(users, make_token, funded, settings):
    settings.LEDGER_SQL_TRANSFERS = True
    token = make_token()
    alice, bob = funded(token, 10), funded(token)
    cases = [
        (uuid.uuid4(), alice.pk, bob.pk, "No such token class."),
        ("not-a-uuid", alice.pk, bob.pk, "No such token class."),
        (token.pk, uuid.uuid4(), bob.pk, "No such wallet"),
        (token.pk, alice.pk, "0x" + "ab" * 20, "No such wallet"),
    ]
    for token_id, sender, receiver, detail in cases:
        for call in (token_transfer, transfer_check):
            with pytest.raises(NotFound) as caught:
                call(caller=users["operator"], token_id=token_id, from_wallet=sender, to_wallet=receiver, amount=1)
            assert caught.value.detail.startswith(detail)
    assert LedgerEntry.objects.filter(kind="transfer").count() == 0


def _claim(user, key: str) -> KeyClaim:
    return KeyClaim(user_id=user.pk, key=key, method="POST", path="/p/", request_hash="h" * 64,
                    expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip


@pytest.fixture
def sql_transfer(users, make_token, funded):
    """`sql_transfer(slot)`: 30 units from a wallet holding 100 to another, through the database path, in a
    transaction of its own; None on SQLite, which has the ORM path only (run by the parametrized transfer tests)."""
    if connection.vendor != "postgresql":
        assert not transfer_sql_enabled()
        return None
    token = make_token()
    alice, bob = funded(token, 100), funded(token)

    def transfer(slot: AnswerSlot):
        sender, receiver = wallet_ref(alice.pk, field="f"), wallet_ref(bob.pk, field="t")
        with transaction.atomic():
            return token_transfer_sql(caller=users["operator"], token_id=token.pk, amount=30, answer=slot,
                                      sender=sender, receiver=receiver)  # fmt: skip

    transfer.sender_account = lambda: Account.objects.get(token_class=token, wallet=alice)
    return transfer


def test_the_first_call_claims_the_key_and_the_last_stores_the_answer_with_the_effect(users, sql_transfer):
    if sql_transfer is None:
        return
    slot = AnswerSlot(render=lambda entry: (201, {"seq": entry.pk, "amount": str(entry.amount)}), service_claims=True)
    slot.offer(_claim(users["operator"], "k-1"))
    entry = sql_transfer(slot)
    key = IdempotencyKey.objects.get(pk=slot.key_id)
    assert (key.key, key.response_status, key.response_body) == ("k-1", 201, slot.stored[1])
    assert slot.answer(entry) == (201, {"seq": entry.pk, "amount": "30"})
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 30
    assert AuditEvent.objects.filter(action="transfer.settled", after__seq=entry.pk).count() == 1
    assert audit_chain_verify().valid
    # The same key again: the first call finds it taken before locking or writing anything
    slot.offer(_claim(users["operator"], "k-1"))
    entries = LedgerEntry.objects.count()
    with pytest.raises(KeyTaken):
        sql_transfer(slot)
    assert LedgerEntry.objects.count() == entries


def test_storing_an_answer_under_a_key_this_request_does_not_hold_fails_the_whole_transfer(sql_transfer):
    if sql_transfer is None:
        return
    slot = AnswerSlot(render=lambda entry: (201, {"seq": entry.pk}))
    slot.key_id = 10**12  # no such row: the post function refuses rather than settle without its answer
    before = (LedgerEntry.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Exception, match="is not claimed"):
        sql_transfer(slot)
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == before
    assert sql_transfer.sender_account().balance == 100


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL transfer functions")
def test_the_deferred_checks_run_in_the_post_call_before_the_chain_head_is_locked(users, make_token, funded, settings):
    """tokenization migration 0008: a wrong foreign key written earlier in the transaction fails the transfer's
    post call (checked before its audit append), not the COMMIT, and no event is chained for it."""
    from django.db import IntegrityError

    settings.LEDGER_SQL_TRANSFERS = True
    token = make_token()
    alice, bob = funded(token, 100), funded(token)
    events = AuditEvent.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (-1, -1)")
        token_transfer(caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=5)
        pytest.fail("the transfer's post call returned with the transaction's deferred checks still pending")
    assert AuditEvent.objects.count() == events and not LedgerEntry.objects.filter(amount=5).exists()
    entry = token_transfer(
        caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=5
    )
    assert entry.amount == 5 and audit_chain_verify().valid
