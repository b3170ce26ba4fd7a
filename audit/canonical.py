"""Canonical JSON and the chain hash. The same bytes are produced when an event is written and when it is verified,
whichever database stored it (PostgreSQL's jsonb reorders keys and prints integral numbers without a fraction)."""

import hashlib
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _float_or_int(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


# Built once: json.dumps and json.loads build a new encoder or decoder on every call with arguments like these, which
# costs more than encoding a short value (an audit event encodes about ten).
_PLAIN_ENCODER = DjangoJSONEncoder()
_NORMALISING_DECODER = json.JSONDecoder(parse_float=_float_or_int)
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_json_value(value: Any) -> Any:
    """Turns Decimals, UUIDs, dates and the like into plain JSON values, normalised for hashing: what
    `_normalise(json.loads(json.dumps(value)))` gives, with the integral floats turned to int as they are parsed."""
    return _NORMALISING_DECODER.decode(_PLAIN_ENCODER.encode(value))


def format_time(moment: datetime) -> str:
    """UTC, microsecond precision, fixed width: the form hashed for `occurred_at`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, prev_hash: str, fields: dict[str, Any], normalised: bool = False) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the event's fields (`normalised`: the writer's
    fields are to_json_value's output already; what is read back from a database is normalised again)."""
    canonical = _CANONICAL_ENCODER.encode(fields if normalised else _normalise(fields))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the form every hashed value takes."""
    return _CANONICAL_ENCODER.encode(value)


def canonical_pieces(fields: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of an event's hashed fields, cut around `occurred_at` and `seq`, which only the writer
    holding the chain head knows: head + occurred_at + tail + str(seq) + "}" is exactly the JSON `event_hash`
    hashes. `fields` holds every other hashed field, normalised (to_json_value); keys sort as json.dumps sorts them,
    and `seq` sorts last."""
    return encoded_pieces({name: canonical_json(value) for name, value in fields.items()})


def encoded_pieces(encoded: dict[str, str]) -> tuple[str, str]:
    """canonical_pieces of fields given as their canonical JSON text already (a writer that stores that text too
    encodes each value once)."""
    names = sorted([*encoded, "occurred_at", "seq"])
    if names[-1] != "seq":
        raise ValueError("a hashed field sorts after seq")
    at = names.index("occurred_at")
    before = ",".join(f"{canonical_json(name)}:{encoded[name]}" for name in names[:at])
    after = ",".join(f"{canonical_json(name)}:{encoded[name]}" for name in names[at + 1 : -1])
    head = "{" + (before + "," if before else "") + '"occurred_at":"'
    tail = '",' + (after + "," if after else "") + '"seq":'
    return head, tail


def pieces_hash(*, prev_hash: str, head: str, tail: str, moment: str, seq: int) -> str:
    """event_hash of the event whose canonical JSON canonical_pieces cut into `head` and `tail`, at `moment`
    (format_time of its occurred_at)."""
    return hashlib.sha256(f"{prev_hash}{head}{moment}{tail}{seq}}}".encode()).hexdigest()


class CanonicalJson(str):
    """A before or after state given as its canonical JSON text already (canonical_json(to_json_value(state))), by a
    writer that builds it faster from its known shape; stored and hashed as the state it encodes."""


def canonical_json_of(value: Any) -> str:
    """canonical_json(to_json_value(value)); a dict of strings (what most methods' inputs are) needs no normalising
    round trip and is encoded at once; a CanonicalJson is that text already."""
    if isinstance(value, CanonicalJson):
        return value
    text = string_map_json(value)
    return text if text is not None else canonical_json(to_json_value(value))


def string_map_json(value: Any) -> CanonicalJson | None:
    """The canonical JSON of a dict whose keys and values are all strings, as it is (no normalising round trip
    changes such a dict); None for any other value, or for text holding a surrogate code point (the round trip may
    join a pair)."""
    if type(value) is dict and all(type(key) is str and type(item) is str for key, item in value.items()):
        text = canonical_json(value)
        if utf8_clean(text):
            return CanonicalJson(text)
    return None


def utf8_clean(text: str) -> bool:
    """Whether `text` holds no surrogate code point (it encodes as UTF-8 as it is)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _canonical_text(state: Any) -> str | None:
    if state is None:
        return None
    return state if isinstance(state, CanonicalJson) else canonical_json_of(state)


class EncodedEvent(NamedTuple):
    """An event's fields as they are stored and hashed, each JSON value encoded once: `before` and `after` are their
    canonical JSON text (None: no state, stored as NULL, hashed as null), `head` and `tail` the canonical pieces
    around `occurred_at` and `seq` (canonical_pieces)."""

    object_id: str
    before: str | None
    after: str | None
    reason: str
    head: str
    tail: str


def encoded_event(
    *, actor: str, actor_user_id: int | None, action: str, object_type: str, object_id: object, before: Any,
    after: Any, reason: str, request_id: str,
) -> EncodedEvent:  # fmt: skip
    """An event's fields ready to chain: only the writer holding the chain head adds `seq` and `occurred_at`."""
    template = EventTemplate(actor=actor, actor_user_id=actor_user_id, action=action, object_type=object_type,
                             reason=reason, request_id=request_id)  # fmt: skip
    return template.encoded(object_id=object_id, before=before, after=after)


# Where a template's varying fields go: a raw control character never appears in canonical JSON (it is escaped).
_HOLES = {"object_id": "\x00o", "before": "\x00b", "after": "\x00a"}


class EventTemplate:
    """encoded_event for the events of one writer that differ only in object_id, before and after (a revaluation
    chunk's thousand `valuation.recorded` events): the canonical pieces are cut once, by encoded_pieces, with holes
    where those three go, and each event is filled in by one str.format. Same EncodedEvent as encoded_event."""

    def __init__(
        self, *, actor: str, actor_user_id: int | None, action: str, object_type: str, reason: str, request_id: str
    ) -> None:
        self.reason = reason or ""
        plain = {"actor": actor, "actor_user_id": actor_user_id, "action": action, "object_type": object_type,
                 "reason": self.reason, "request_id": request_id}  # fmt: skip
        encoded = {name: canonical_json(value) for name, value in plain.items()}
        head, tail = encoded_pieces({**encoded, **_HOLES})
        self._head, self._tail = _format_of(head), _format_of(tail)

    def encoded(self, *, object_id: object, before: Any, after: Any) -> EncodedEvent:
        object_text = str(object_id)
        before_text, after_text = _canonical_text(before), _canonical_text(after)
        values = {"o": encode_basestring(object_text), "b": before_text or "null", "a": after_text or "null"}
        return EncodedEvent(object_text, before_text, after_text, self.reason, self._head.format_map(values),
                            self._tail.format_map(values))  # fmt: skip


def _format_of(piece: str) -> str:
    """A canonical piece with holes as a str.format template: its braces doubled, each hole a named field."""
    piece = piece.replace("{", "{{").replace("}", "}}")
    for hole in _HOLES.values():
        piece = piece.replace(hole, "{" + hole[1:] + "}")
    return piece
