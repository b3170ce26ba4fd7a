"""`audit_event_append`: one audit event appended to the chain by a single call on PostgreSQL, for write paths that
run as database functions (a transfer). The caller sends the event's canonical JSON in two pieces, around the two
values only the locked chain head can give: `occurred_at` (the clock read under the lock, so seqs and times agree in
order) and `seq`. The hash is SHA-256 over prev_hash + head + occurred_at + tail + seq + "}", exactly the bytes
`audit.canonical.event_hash` hashes (`audit.canonical.canonical_pieces` cuts them; a test holds the two equal)."""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_event_append(
    p_actor text, p_actor_user_id bigint, p_action text, p_object_type text, p_object_id text,
    p_before jsonb, p_after jsonb, p_reason text, p_request_id text, p_canon_head text, p_canon_tail text
) RETURNS bigint AS $$
DECLARE
    v_seq bigint;
    v_prev text;
    v_moment timestamptz;
    v_hash text;
BEGIN
    SELECT seq, hash INTO v_seq, v_prev FROM audit_auditchainhead WHERE id = 1 FOR NO KEY UPDATE;
    IF NOT FOUND THEN  -- an empty database: create the head once, then lock it like every writer does
        INSERT INTO audit_auditchainhead (id, seq, hash, created_at, updated_at)
            VALUES (1, 0, repeat('0', 64), clock_timestamp(), clock_timestamp()) ON CONFLICT (id) DO NOTHING;
        SELECT seq, hash INTO v_seq, v_prev FROM audit_auditchainhead WHERE id = 1 FOR NO KEY UPDATE;
    END IF;
    v_seq := v_seq + 1;
    v_moment := clock_timestamp();
    v_hash := encode(sha256(convert_to(
        v_prev || p_canon_head || to_char(v_moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        || p_canon_tail || v_seq::text || '}', 'UTF8')), 'hex');
    INSERT INTO audit_auditevent (seq, occurred_at, actor, actor_user_id, action, object_type, object_id, before,
                                  after, reason, request_id, prev_hash, hash)
        VALUES (v_seq, v_moment, p_actor, p_actor_user_id, p_action, p_object_type, p_object_id, p_before, p_after,
                p_reason, p_request_id, v_prev, v_hash);
    UPDATE audit_auditchainhead SET seq = v_seq, hash = v_hash, updated_at = v_moment WHERE id = 1;
    RETURN v_seq;
END;
$$ LANGUAGE plpgsql
"""

PG_REVERSE = (
    "DROP FUNCTION IF EXISTS audit_event_append(text, bigint, text, text, text, jsonb, jsonb, text, text, text, text)"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_webhook_dispatch_schedule")]
    operations = [migrations.RunPython(forward, reverse)]
