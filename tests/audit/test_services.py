"""The audit chain: each event links to the previous hash; recomputing the chain gives the stored hashes."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection, transaction

from audit.canonical import GENESIS_HASH, event_hash, format_time
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, EventDraft, audit_event_record, audit_events_append, audit_events_record
from rwa_service.exceptions import Conflict
from tests.audit.triggers import audit_triggers_disabled


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
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE seq = 3", ["forged"])
    assert AuditEvent.objects.get(seq=3).reason == "forged"
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq, result.length) == (False, 3, 2)


@pytest.mark.django_db
def test_verify_detects_a_deleted_event():
    _record(4)
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 2")
    assert not AuditEvent.objects.filter(seq=2).exists()
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq) == (False, 2)


@pytest.mark.django_db
def test_verify_detects_a_cut_tail_against_the_chain_head():
    events = _record(4)
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 4")
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]  # what is left links up fine
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq, result.length, result.head_hash) == (False, 4, 3, events[2].hash)


@pytest.mark.django_db
def test_verify_detects_a_newest_event_rewritten_with_a_recomputed_hash():
    events = _record(3)
    forged = AuditEvent.objects.get(seq=3)
    forged.reason = "forged"
    forged_hash = event_hash(prev_hash=forged.prev_hash, fields=forged.hashed_fields())
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s, hash = %s WHERE seq = 3", ["forged", forged_hash])
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq, result.length, result.head_hash) == (False, 3, 2, events[1].hash)


@pytest.mark.django_db
def test_verify_detects_an_event_the_head_does_not_cover():
    _record(2)
    AuditChainHead.objects.filter(pk=1).update(seq=1, hash=AuditEvent.objects.get(seq=1).hash)
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq, result.length) == (False, 2, 1)


@pytest.mark.django_db
def test_verify_of_an_empty_trail_is_valid():
    result = audit_chain_verify()
    assert (result.valid, result.length, result.head_hash, result.first_bad_seq) == (True, 0, GENESIS_HASH, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditevent SET reason = 'forged' WHERE seq = 1", "DELETE FROM audit_auditevent WHERE seq = 1"],
    ids=["update", "delete"],
)
def test_the_database_refuses_raw_updates_and_deletes_of_events(statement):
    (event,) = _record(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.reason, stored.hash) == ("", event.hash)
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_the_database_refuses_to_wipe_the_whole_trail():
    # PostgreSQL: TRUNCATE (a statement trigger). SQLite has no TRUNCATE; its equivalent is an unqualified DELETE,
    # which it would run as a truncation without the trigger.
    wipe = "TRUNCATE audit_auditevent" if connection.vendor == "postgresql" else "DELETE FROM audit_auditevent"
    _record(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(wipe)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_the_triggers_are_back_after_a_test_switched_them_off():
    _record(1)
    with audit_triggers_disabled():
        pass
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


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


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_may_record_events_and_still_be_flushed_after_it():
    # The flush that ends this test must get past the append-only triggers (see tests/conftest.py).
    _record(2)
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_appending_several_events_at_once_chains_them_like_one_at_a_time():
    _record(1)
    drafts = [
        EventDraft(action="thing.changed", object_type="thing", object_id=n, before={"n": n - 1}, after={"n": n})
        for n in range(1, 6)
    ]
    with transaction.atomic():
        written = audit_events_record(actor=Actor.system("batch"), events=drafts, request_id="req-batch")
    _record(1)
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [event.seq for event in stored] == [1, 2, 3, 4, 5, 6, 7]
    assert [event.seq for event in written] == [2, 3, 4, 5, 6]
    assert [(e.object_id, e.after, e.actor, e.request_id) for e in stored[1:6]] == [
        (str(n), {"n": n}, "system:batch", "req-batch") for n in range(1, 6)
    ]
    prev = GENESIS_HASH
    for event in stored:
        assert (event.prev_hash, event_hash(prev_hash=prev, fields=event.hashed_fields())) == (prev, event.hash)
        prev = event.hash
    assert AuditChainHead.objects.get().seq == 7 and audit_chain_verify().valid


@pytest.mark.django_db
def test_appending_events_without_instances_stores_what_recording_them_stores():
    _record(1)
    drafts = [
        EventDraft(action="thing.changed", object_type="thing", object_id=n, before=None if n % 2 else {"n": n - 1.0},
                   after={"n": n, "ratio": 2.5, "text": "tab\there ✓"}, reason="because" if n == 3 else "")
        for n in range(1, 6)
    ]  # fmt: skip
    with transaction.atomic():
        assert audit_events_append(actor=Actor.system("batch"), events=drafts, request_id="req-batch") == 5
        assert audit_events_append(actor=Actor.system("batch"), events=[]) == 0
    with transaction.atomic():
        recorded = audit_events_record(actor=Actor.system("batch"), events=drafts, request_id="req-batch")
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [event.seq for event in stored] == list(range(1, 12)) and [e.seq for e in recorded] == list(range(7, 12))
    same = ["actor", "actor_user_id", "action", "object_type", "object_id", "before", "after", "reason", "request_id"]
    for appended, again in zip(stored[1:6], stored[6:], strict=True):
        assert [getattr(appended, name) for name in same] == [getattr(again, name) for name in same]
    assert stored[1].before is None and stored[2].before == {"n": 1} and stored[3].reason == "because"
    prev = GENESIS_HASH
    for event in stored:
        assert (event.prev_hash, event_hash(prev_hash=prev, fields=event.hashed_fields())) == (prev, event.hash)
        prev = event.hash
    assert AuditChainHead.objects.get().seq == 11 and audit_chain_verify().valid


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's deferred constraints")
def test_appending_events_runs_the_deferred_checks_before_locking_the_chain_head_then_defers_again(django_user_model):
    from django.db import IntegrityError

    draft = EventDraft(action="a", object_type="t", object_id=1, before=None, after=None)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # a row whose foreign key is wrong: checked at COMMIT by default, here by the append, before the head
        cursor.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (-1, -1)")
        audit_events_append(actor=Actor.system("t"), events=[draft])
        pytest.fail("the append ran with the transaction's deferred checks still pending")
    with transaction.atomic(), connection.cursor() as cursor:
        audit_events_append(actor=Actor.system("t"), events=[draft])
        cursor.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (-1, -1)")  # deferred again
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = -1")
    assert AuditChainHead.objects.get().seq == 1 and audit_chain_verify().valid


@pytest.mark.django_db
def test_appending_several_events_rolls_back_with_the_change_and_leaves_no_gap():
    _record(1)
    drafts = [EventDraft(action="a", object_type="t", object_id=n, before=None, after=None) for n in range(3)]
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_events_record(actor=Actor.system("batch"), events=drafts)
        1 / 0  # noqa: B018
    with transaction.atomic():
        assert audit_events_record(actor=Actor.system("batch"), events=[]) == []
    _record(1)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2] and audit_chain_verify().valid


@pytest.mark.django_db(transaction=True)
def test_appending_several_events_outside_a_transaction_is_refused():
    draft = EventDraft(action="a", object_type="t", object_id=1, before=None, after=None)
    with pytest.raises(RuntimeError):
        audit_events_record(actor=Actor.system("t"), events=[draft])
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("link", ["wrong", "fork", "genesis"])
def test_the_database_refuses_an_event_that_does_not_link_to_its_predecessor(link):
    """Beside the chain head: an insert written past the services must still link to event seq - 1 (the genesis
    hash for seq 1), so neither a forged link nor a second child of an event can be stored."""
    from django.db import IntegrityError
    from django.utils import timezone

    first, second = _record(2)
    seq, prev = {"wrong": (3, "f" * 64), "fork": (3, first.hash), "genesis": (1, "e" * 64)}[link]
    if link == "genesis":
        AuditChainHead.objects.all().delete()  # an empty trail: clear it (the append-only triggers off for that)
        with audit_triggers_disabled():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_auditevent")
    forged = AuditEvent(seq=seq, occurred_at=timezone.now(), actor="mallory", action="x", object_type="o",
                        object_id="1", before=None, after=None, prev_hash=prev, hash="a" * 64)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save(force_insert=True)
    assert not AuditEvent.objects.filter(actor="mallory").exists()


@pytest.mark.django_db
def test_a_statement_of_several_events_with_one_bad_link_is_refused_whole():
    """The check covers every event of a statement, the later ones linking to events of the same statement."""
    from django.db import IntegrityError
    from django.utils import timezone

    (first,) = _record(1)

    def event(seq: int, prev: str, digest: str) -> AuditEvent:
        return AuditEvent(seq=seq, occurred_at=timezone.now(), actor="tool", action="x", object_type="o",
                          object_id=str(seq), before=None, after=None, prev_hash=prev, hash=digest)  # fmt: skip

    good = [event(2, first.hash, "b" * 64), event(3, "b" * 64, "c" * 64)]
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.bulk_create([*good, event(4, "d" * 64, "e" * 64)])  # 4 does not link to 3
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1]
    AuditEvent.objects.bulk_create([*good, event(4, "c" * 64, "e" * 64)])
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]


@pytest.mark.django_db
def test_an_event_linking_to_its_predecessor_is_accepted_past_the_services_too():
    from django.utils import timezone

    (first,) = _record(1)
    linked = AuditEvent(seq=2, occurred_at=timezone.now(), actor="tool", action="x", object_type="o", object_id="1",
                        before=None, after=None, prev_hash=first.hash, hash="b" * 64)  # fmt: skip
    linked.save(force_insert=True)
    assert AuditEvent.objects.filter(seq=2, prev_hash=first.hash).exists()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's cached plans")
def test_the_link_check_reads_the_predecessor_by_key_even_when_planned_on_an_empty_trail():
    """audit migration 0009: with the statistics of an empty trail, the trigger's cached plan was a sequential scan
    (one per event appended, 11 of 12 here without the setting); it is the primary-key probe whatever they say."""

    def sequential_scans() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'audit_auditevent'")
            row = cursor.fetchone()
            return row[0] if row else 0

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")  # the statistics of an empty trail; cached plans are made again
    before = sequential_scans()
    _record(12)  # past the plan cache's first custom plans
    assert sequential_scans() == before
    assert audit_chain_verify().valid


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's deferred constraints")
def test_every_deferrable_check_is_initially_deferred_so_setting_them_all_deferred_again_restores_the_default():
    """audit_events_append and the transfer's post call run the deferred checks early, then `SET CONSTRAINTS ALL
    DEFERRED`: right only while no deferrable constraint or trigger is initially immediate."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE condeferrable AND NOT condeferred")
        assert cursor.fetchall() == []
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgdeferrable AND NOT tginitdeferred")
        assert cursor.fetchall() == []


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=2)])
def test_the_append_clock_stamps_each_event_as_format_time_writes_its_moment_across_seconds(monkeypatch, offset):
    """The batch append stamps events from integer microseconds, formatting a second's text once: the stamp must
    be the text format_time gives for the same moment (it is hashed, stored, and formatted again when verified)."""
    import audit.services as services

    ticks = [100.0, 100.000004, 100.0000045, 100.000021, 101.7, 101.7, 3700.25]
    monkeypatch.setattr(services.time, "monotonic", iter(ticks).__next__)
    start = datetime(2026, 11, 29, 10, 59, 59, 999_990, tzinfo=UTC).astimezone(timezone(offset))
    clock = services._Clock(start)
    stamps = [clock.stamp() for _ in range(6)]
    moments = [start + timedelta(microseconds=round((tick - ticks[0]) * 1e6)) for tick in ticks[1:]]
    assert stamps == [format_time(moment) for moment in moments]
    assert stamps[0] == "2026-11-29T10:59:59.999994Z" and stamps[3] == "2026-11-29T11:00:01.699990Z"
    assert stamps == sorted(stamps)
