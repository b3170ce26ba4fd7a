"""The audit chain: each event links to the previous hash; recomputing the chain gives the stored hashes."""

import pytest
from django.db import connection, transaction

from audit.canonical import GENESIS_HASH, event_hash
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, audit_event_record
from rwa_service.exceptions import Conflict


def _record(n: int = 1, **overrides):
    fields = {
        "actor": Actor.system("test"),
        "action": "thing.changed",
        "object_type": "thing",
        "object_id": "42",
        "before": {"value": 1.0, "nested": {"b": 2, "a": [1, 2.5]}},
        "after": {"value": 2, "amount": "10.50"},
    } | overrides
    with transaction.atomic():
        return [audit_event_record(**fields) for _ in range(n)]


@pytest.mark.django_db
def test_recomputing_the_chain_over_stored_events_gives_the_stored_hashes():
    _record(5)
    prev = GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq"):  # re-read from the database, not the objects written
        assert event.prev_hash == prev
        assert event_hash(prev_hash=prev, fields=event.hashed_fields()) == event.hash
        prev = event.hash
    assert AuditChainHead.objects.get().hash == prev
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


@pytest.mark.django_db
def test_verify_reports_a_valid_chain_with_its_head():
    events = _record(3)
    result = audit_chain_verify()
    assert (result.valid, result.length, result.head_hash, result.first_bad_seq) == (True, 3, events[-1].hash, None)


@pytest.mark.django_db
def test_verify_names_the_first_event_edited_behind_the_orms_back():
    _record(4)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE seq = 3", ["forged"])
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq, result.length) == (False, 3, 2)


@pytest.mark.django_db
def test_verify_detects_a_deleted_event():
    _record(4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 2")
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq) == (False, 2)


@pytest.mark.django_db
def test_events_cannot_be_updated_or_deleted_through_the_orm():
    (event,) = _record(1)
    event.reason = "changed"
    with pytest.raises(Conflict):
        event.save()
    with pytest.raises(Conflict):
        event.delete()
    with pytest.raises(Conflict):
        AuditEvent.objects.filter(seq=event.seq).update(reason="x")
    with pytest.raises(Conflict):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(seq=event.seq).reason == ""


@pytest.mark.django_db(transaction=True)  # no test-wide transaction around it
def test_recording_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit_event_record(actor=Actor.system("t"), action="a", object_type="t", object_id=1, before=None, after=None)


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_neither_event_nor_a_gap():
    _record(1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        _record(2)
        1 / 0  # noqa: B018
    _record(1)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2]
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_actor_user_and_request_id_are_recorded(users):
    from rwa_service.middleware import _current_request_id

    token = _current_request_id.set("req-77")
    try:
        (event,) = _record(1, actor=Actor.of(users["operator"]))
    finally:
        _current_request_id.reset(token)
    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.actor, stored.actor_user_id, stored.request_id) == ("operator-user", users["operator"].pk, "req-77")
