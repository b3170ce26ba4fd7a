"""`tokenization_transfer_facts` claims the request's idempotency key as its first statement (the row
`rwa_service.idempotency` would otherwise insert by a statement of its own, one round trip more per transfer): the
same `INSERT … ON CONFLICT (user_id, key) DO NOTHING`, which waits for a concurrent duplicate exactly as before.
When the key is taken it returns at once, before any lock (`missing` = 'key', the caller replays the first answer);
`key_id` is the claimed row."""

import importlib

from django.db import migrations

_V2 = importlib.import_module("tokenization.migrations.0004_window_indexes")
_V1 = _V2._V1

_OLD_SIGNATURE = "    p_now timestamptz, p_lock boolean,\n    OUT missing text,"
_NEW_SIGNATURE = (
    "    p_now timestamptz, p_lock boolean,\n"
    "    p_key_user integer, p_key text, p_key_method text, p_key_path text, p_key_hash text,"
    " p_key_expires timestamptz,\n"
    "    OUT key_id bigint, OUT missing text,"
)
_OLD_START = "BEGIN\n    IF p_lock THEN  -- the investors named, in primary-key order\n"
_NEW_START = """BEGIN
    IF p_key IS NOT NULL THEN  -- the request's idempotency key, before anything else
        INSERT INTO idempotency_idempotencykey (user_id, key, method, path, request_hash, response_status,
                                                response_body, expires_at, created_at, updated_at)
            VALUES (p_key_user, p_key, p_key_method, p_key_path, p_key_hash, NULL, '', p_key_expires, p_now, p_now)
            ON CONFLICT (user_id, key) DO NOTHING RETURNING id INTO key_id;
        IF key_id IS NULL THEN missing := 'key'; RETURN; END IF;
    END IF;
    IF p_lock THEN  -- the investors named, in primary-key order
"""
_V2_ARGS = "uuid, text, uuid, text, uuid, numeric, timestamptz, boolean"
_V3_ARGS = _V2_ARGS + ", integer, text, text, text, text, timestamptz"


def _v3(facts: str) -> str:
    for old in (_OLD_SIGNATURE, _OLD_START):
        if facts.count(old) != 1:
            raise RuntimeError(f"tokenization_transfer_facts: {old!r} not found once")
    return facts.replace(_OLD_SIGNATURE, _NEW_SIGNATURE).replace(_OLD_START, _NEW_START)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION tokenization_transfer_facts({_V2_ARGS})", params=None)
        _V2._create(schema_editor, _v3(_V2._facts(_V1.FACTS)))


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION tokenization_transfer_facts({_V3_ARGS})", params=None)
        _V2._create(schema_editor, _V2._facts(_V1.FACTS))


class Migration(migrations.Migration):
    dependencies = [("tokenization", "0004_window_indexes")]
    operations = [migrations.RunPython(forward, reverse)]
