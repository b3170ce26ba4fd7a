"""The chain proves itself: 50 tamper trials on a chain of 2,000 events (an edited field, a deleted row, two rows
swapped, a cut tail), each caught at its first bad event; and 16 concurrent writers leave a gapless, unforked
chain."""

import json
import random
import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, EventDraft, audit_event_record, audit_events_record
from tests.audit.triggers import audit_triggers_disabled

LENGTH = 2000
COLUMNS = ["occurred_at", "actor", "actor_user_id", "action", "object_type", "object_id", "before", "after",
           "reason", "request_id", "prev_hash", "hash"]  # fmt: skip


def _chain(length: int) -> None:
    drafts = [
        EventDraft(
            action=f"thing.step{n % 7}",
            object_type="thing",
            object_id=n % 97,
            before={"n": n - 1},
            after={"n": n, "label": f"état {n}"},
            reason="r" if n % 3 else "",
        )  # fmt: skip
        for n in range(1, length + 1)
    ]
    with transaction.atomic():
        audit_events_record(actor=Actor.system("seed"), events=drafts, request_id="req-seed")


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _edit(rng: random.Random) -> int:
    seq = rng.randint(1, LENGTH)
    column, value = rng.choice([
        ("actor", "mallory"), ("action", "thing.forged"), ("object_id", "999999"), ("reason", "edited"),
        ("request_id", "req-forged"), ("after", json.dumps({"n": -1})), ("before", json.dumps(None)),
        ("occurred_at", "2001-01-01T00:00:00Z"), ("actor_user_id", 7),
    ])  # fmt: skip
    _sql(f"UPDATE audit_auditevent SET {column} = %s WHERE seq = %s", [value, seq])
    return seq


def _delete(rng: random.Random) -> int:
    seq = rng.randint(1, LENGTH)
    _sql("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    return seq


def _swap(rng: random.Random) -> int:
    first, second = sorted(rng.sample(range(1, LENGTH + 1), 2))
    rows = {
        seq: AuditEvent.objects.filter(seq=seq).values_list(*COLUMNS).get() for seq in (first, second)
    }  # fmt: skip
    for seq in (first, second):  # hash and prev_hash are unique: park both rows' before writing either
        _sql("UPDATE audit_auditevent SET hash = %s, prev_hash = %s WHERE seq = %s", [f"tmp-{seq}", f"tmp-{seq}", seq])
    for seq, other in ((first, second), (second, first)):
        values = [json.dumps(value) if name in ("before", "after") else value
                  for name, value in zip(COLUMNS, rows[other], strict=True)]  # fmt: skip
        assignments = ", ".join(f"{name} = %s" for name in COLUMNS)
        _sql(f"UPDATE audit_auditevent SET {assignments} WHERE seq = %s", [*values, seq])
    return first


def _cut(rng: random.Random) -> int:
    keep = rng.randint(1, LENGTH - 1)
    _sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    return keep + 1


@pytest.mark.django_db
def test_fifty_tamper_trials_are_each_caught_at_the_first_bad_event():
    _chain(LENGTH)
    assert audit_chain_verify().valid
    rng, kinds = random.Random(20261129), [_edit, _delete, _swap, _cut]
    caught = []
    for trial in range(50):
        tamper = kinds[trial % len(kinds)]
        with transaction.atomic():
            with audit_triggers_disabled():
                expected = tamper(rng)
            result = audit_chain_verify()
            caught.append((tamper.__name__, expected, result.valid, result.first_bad_seq))
            transaction.set_rollback(True)  # undo the tampering (and the trigger switch) for the next trial
    missed = [trial for trial in caught if trial[2] or trial[1] != trial[3]]
    assert not missed, missed
    assert {name for name, *_ in caught} == {"_edit", "_delete", "_swap", "_cut"}
    assert audit_chain_verify().valid  # every trial was undone


@pytest.mark.django_db
@pytest.mark.parametrize("statement", ["UPDATE audit_auditevent SET actor = 'x' WHERE seq = 5",
                                       "DELETE FROM audit_auditevent WHERE seq = 5"])  # fmt: skip
def test_with_the_triggers_on_updates_and_deletes_fail(statement):
    from django.db import DatabaseError

    _chain(10)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.get(seq=5).actor == "system:seed"


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_writers_leave_a_gapless_unforked_chain():
    writers, rounds, errors = 16, 25, []
    barrier = threading.Barrier(writers)

    def write(index: int) -> None:
        try:
            barrier.wait()
            for n in range(rounds):
                with transaction.atomic():
                    if n % 5 == 0:  # the batch path too: three events under one hold of the head
                        drafts = [EventDraft(action="w.batch", object_type="writer", object_id=index, before=None,
                                             after={"n": n, "k": k}) for k in range(3)]  # fmt: skip
                        audit_events_record(actor=Actor.system(f"w{index}"), events=drafts)
                    else:
                        audit_event_record(actor=Actor.system(f"w{index}"), action="w.one", object_type="writer",
                                           object_id=index, before=None, after={"n": n})  # fmt: skip
        except Exception as exc:  # asserted below: a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    events = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    expected = writers * (rounds + 2 * (rounds // 5))  # 20 single + 5 batches of 3 per writer
    assert [seq for seq, _, _ in events] == list(range(1, expected + 1))  # gapless
    assert all(events[i][1] == events[i - 1][2] for i in range(1, len(events)))  # each links to the one before
    assert len({prev for _, prev, _ in events}) == len(events)  # no two events share a parent: no fork
    result = audit_chain_verify()
    assert (result.valid, result.length) == (True, expected)
