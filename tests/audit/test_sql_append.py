"""audit.sql_append: an event appended by the database function hashes and chains exactly as audit_event_record."""

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from audit.canonical import canonical_pieces, event_hash, format_time, to_json_value
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, audit_event_record
from audit.sql_append import audit_append_args, audit_event_append

pytestmark = pytest.mark.django_db
_postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="audit_event_append is a PostgreSQL function"
)

_FIELDS = [
    {"actor": "alice", "actor_user_id": 7, "action": "transfer.settled", "object_type": "token",
     "object_id": "t-1", "before": None, "after": {"seq": 3, "amount": "10"}, "reason": "", "request_id": "r1"},
    {"actor": "système:tâche", "actor_user_id": None, "action": "x", "object_type": "thing", "object_id": "ü",
     "before": {"b": [1, 2.5, {"z": "ß", "a": None}]}, "after": {}, "reason": "naïve \"quoted\" \\ reason\n",
     "request_id": ""},
]  # fmt: skip


@pytest.mark.parametrize("fields", _FIELDS)
def test_the_pieces_around_time_and_seq_make_exactly_the_hashed_json(fields):
    moment, seq, prev = datetime(2026, 11, 29, 9, 30, 1, 123, tzinfo=UTC), 12345, "ab" * 32
    head, tail = canonical_pieces(to_json_value(fields))
    joined = head + format_time(moment) + tail + str(seq) + "}"
    expected = event_hash(prev_hash=prev, fields=fields | {"occurred_at": format_time(moment), "seq": seq})
    assert hashlib.sha256((prev + joined).encode("utf-8")).hexdigest() == expected


def test_a_field_sorting_after_seq_is_refused():
    with pytest.raises(ValueError):
        canonical_pieces({"zzz": 1})


def _append(**overrides):
    args = {
        "actor": Actor("bob", 3),
        "action": "thing.changed",
        "object_type": "thing",
        "object_id": uuid.uuid4(),
        "before": {"value": Decimal("1.50")},
        "after": {"value": 2, "name": "Zoë"},
        "reason": "why",
    } | overrides
    return audit_event_append(args=audit_append_args(**args))  # fmt: skip


@_postgresql_only
def test_events_appended_by_the_database_chain_with_those_recorded_in_python():
    with transaction.atomic():
        audit_event_record(actor=Actor.system("t"), action="a", object_type="o", object_id=1, before=None, after={})
        first = _append()
        audit_event_record(actor=Actor.system("t"), action="b", object_type="o", object_id=2, before={}, after=None)
        second = _append(reason="", before=None)
    assert second == first + 2
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    stored = AuditEvent.objects.get(seq=first)
    assert (stored.actor, stored.actor_user_id, stored.before, stored.after, stored.reason) == (
        "bob", 3, {"value": "1.50"}, {"value": 2, "name": "Zoë"}, "why",
    )  # fmt: skip
    assert stored.hash == event_hash(prev_hash=stored.prev_hash, fields=stored.hashed_fields())
    assert AuditChainHead.objects.get(pk=1).seq == 4
    assert audit_chain_verify().valid
    times = [e.occurred_at for e in events]  # both writers stamp from one clock, under the head lock
    assert times == sorted(times)


@_postgresql_only
def test_the_database_stamps_time_under_the_head_lock_in_seq_order():
    with transaction.atomic():
        seqs = [_append() for _ in range(5)]
    times = list(AuditEvent.objects.filter(seq__in=seqs).order_by("seq").values_list("occurred_at", flat=True))
    assert times == sorted(times)


@_postgresql_only
def test_the_first_event_of_an_empty_chain_creates_the_head():
    AuditChainHead.objects.all().delete()
    with transaction.atomic():
        assert _append() == 1
    assert AuditEvent.objects.get(seq=1).prev_hash == "0" * 64 and audit_chain_verify().valid


@pytest.mark.django_db(transaction=True)
def test_appending_outside_a_transaction_is_refused():
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError):
        _append()
    assert not AuditEvent.objects.exists()


@_postgresql_only
def test_a_failure_after_the_append_rolls_the_event_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        _append()
        1 / 0  # noqa: B018
    assert not AuditEvent.objects.exists()
