"""The fast verification read agrees with the reference hash on every kind of value: ordinary events take the fast
path, values the fast path writes differently (floats in exponent form, huge integers) fall back to the reference
and still verify, and a tampered event fails either way."""

import pytest
from django.db import connection, transaction

from audit import chain_rows
from audit.selectors import audit_chain_verify
from audit.services import Actor, audit_event_record
from tests.audit.triggers import audit_triggers_disabled

AWKWARD = [
    {"plain": "text", "n": 12, "nested": {"b": [1, 2, {"z": None, "a": True}], "a": "é ✓ 𝄞"}},
    {"control": 'tab\t nl\n cr\r bell\x07 del\x7f quote" backslash\\ slash/', "empty": {}, "list": []},
    {"float": 1.5, "tiny": 1.5e-7, "huge": 1.5e300, "integral": 2.0, "negative": -0.25},
    {"bigint": 2**70, "negative_big": -(2**65), "zero": 0},
    None,
]


@pytest.fixture
def counted(monkeypatch):
    calls = {"n": 0}
    real = chain_rows._reference_hash

    def counting(*args):
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(chain_rows, "_reference_hash", counting)
    return calls


def _record(values: list) -> None:
    with transaction.atomic():
        for n, value in enumerate(values):
            audit_event_record(actor=Actor.system("t"), action="thing.changed", object_type="thing",
                               object_id=n, before=value, after={"copy": value}, reason=f"r{n}")  # fmt: skip


@pytest.mark.django_db
def test_ordinary_events_verify_on_the_fast_path(counted):
    _record(AWKWARD[:2] * 20)
    result = audit_chain_verify()
    assert result.valid and result.length == 40
    if connection.vendor == "postgresql":
        assert counted["n"] == 0


@pytest.mark.django_db
def test_values_the_fast_path_writes_differently_fall_back_and_still_verify(counted):
    _record(AWKWARD)
    result = audit_chain_verify()
    assert result.valid and result.length == len(AWKWARD)
    rows = list(chain_rows.chain_rows(up_to_seq=len(AWKWARD)))
    assert all(row.recomputed == row.hash for row in rows)
    if connection.vendor == "postgresql":  # 1.5e-07 (orjson writes 1.5e-7) and 2**70 (beyond orjson's 64 bits)
        assert counted["n"] == 2 * 2  # two events, verified twice


@pytest.mark.django_db
def test_a_tampered_event_fails_on_either_path():
    _record(AWKWARD)
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'forged' WHERE seq = 3")
    result = audit_chain_verify()
    assert (result.valid, result.first_bad_seq) == (False, 3)


@pytest.mark.django_db
def test_stopping_early_leaves_the_connection_usable():
    _record(AWKWARD[:1] * 30)
    rows = chain_rows.chain_rows(up_to_seq=30, chunk_size=4)
    assert next(rows).seq == 1
    rows.close()  # what verification does at the first bad event
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
