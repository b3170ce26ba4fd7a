"""The audit chain read for verification, fast: on PostgreSQL a server-side cursor streams plain rows (JSON as
text, `occurred_at` already in its hashed form) and each event's canonical bytes are assembled with orjson, about
five times faster than model instances and the standard json module. Whenever that fast hash differs from the
stored one (a tampered event, or a value orjson writes differently from the reference canonical form: a float in
exponent form, say), the event is hashed again the reference way (audit.canonical.event_hash over the model's
hashed_fields) before anything is concluded, so the fast path can only make verification quicker, never change its
verdict. Elsewhere (SQLite) events come through the ORM and the reference hash."""

import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction

from audit.canonical import event_hash
from audit.models import AuditEvent

_COLUMNS = (
    "seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, actor_user_id, "
    "action, object_type, object_id, before::text, after::text, reason, request_id, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class ChainRow:
    seq: int
    prev_hash: str
    hash: str
    recomputed: str  # the hash the event's fields give after the stored prev_hash


def _canonical_json(text: str | None) -> bytes:
    return b"null" if text is None else orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS)


def _fast_hash(row: tuple) -> str:
    seq, occurred, actor, user_id, action, object_type, object_id, before, after, reason, request_id, prev, _ = row
    dumps = orjson.dumps
    canonical = b"".join((
        b'{"action":', dumps(action), b',"actor":', dumps(actor), b',"actor_user_id":', dumps(user_id),
        b',"after":', _canonical_json(after), b',"before":', _canonical_json(before),
        b',"object_id":', dumps(object_id), b',"object_type":', dumps(object_type),
        b',"occurred_at":', dumps(occurred), b',"reason":', dumps(reason), b',"request_id":', dumps(request_id),
        b',"seq":', str(seq).encode(), b"}",
    ))  # fmt: skip
    return hashlib.sha256(prev.encode() + canonical).hexdigest()


def _reference_hash(seq: int, prev_hash: str) -> str:
    event = AuditEvent.objects.get(seq=seq)
    return event_hash(prev_hash=prev_hash, fields=event.hashed_fields())


def chain_rows(*, up_to_seq: int, chunk_size: int = 5000) -> Iterator[ChainRow]:
    """Every event with seq ≤ `up_to_seq`, in seq order, with the hash recomputed from its own fields."""
    if connection.vendor != "postgresql":
        rows = AuditEvent.objects.filter(seq__lte=up_to_seq).order_by("seq").iterator(chunk_size=chunk_size)
        for event in rows:
            recomputed = event_hash(prev_hash=event.prev_hash, fields=event.hashed_fields())
            yield ChainRow(seq=event.seq, prev_hash=event.prev_hash, hash=event.hash, recomputed=recomputed)
        return
    with transaction.atomic():  # a named cursor lives in a transaction: one snapshot for the whole pass
        connection.ensure_connection()
        with connection.connection.cursor(name="audit_chain_verify") as cursor:
            cursor.execute(f"SELECT {_COLUMNS} FROM {AuditEvent._meta.db_table} WHERE seq <= %s ORDER BY seq",
                           [up_to_seq])  # fmt: skip
            for batch in _prefetched(cursor, chunk_size):
                for row in batch:
                    try:
                        recomputed = _fast_hash(row)
                    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
                        recomputed = ""
                    if recomputed != row[12]:
                        recomputed = _reference_hash(row[0], row[11])
                    yield ChainRow(seq=row[0], prev_hash=row[11], hash=row[12], recomputed=recomputed)


def _prefetched(cursor: Any, size: int) -> Iterator[list[tuple]]:
    """The cursor's rows in batches, the next batch fetched by a helper thread while this one is hashed (psycopg
    waits on the network without the GIL), at most two batches ahead: memory stays bounded."""
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                batch = cursor.fetchmany(size)
                batches.put(batch)
                if not batch:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            batches.put(exc)

    helper = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    helper.start()
    try:
        while True:
            batch = batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield batch
    finally:
        stop.set()
        while helper.is_alive():  # unblock a helper waiting to put, then let it finish its fetch
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                pass
        helper.join()
