"""`tokenization_transfer_post`, second form: the transaction's deferred checks (the foreign keys of the entry, its
legs and the idempotency key, and the legs-sum-to-zero trigger) run before the audit chain head is locked instead of
at COMMIT. The head serialises every writer from the append to the end of the transaction; the checks, a dozen
look-ups, no longer run while the other transfers wait for it. `SET CONSTRAINTS ALL DEFERRED` restores the
default afterwards (every deferrable constraint here is initially deferred)."""

import importlib

from django.db import migrations

_V1 = importlib.import_module("tokenization.migrations.0003_transfer_functions")

_OLD_TAIL = """    RETURN audit_event_append(p_audit_actor, p_audit_actor_user_id, p_audit_action, p_audit_object_type,
                              p_audit_object_id, p_audit_before, p_audit_after, p_audit_reason, p_audit_request_id,
                              p_audit_canon_head, p_audit_canon_tail);
END;"""
_NEW_TAIL = """    SET CONSTRAINTS ALL IMMEDIATE;  -- the deferred checks now, before the chain head is held
    v_seq := audit_event_append(p_audit_actor, p_audit_actor_user_id, p_audit_action, p_audit_object_type,
                                p_audit_object_id, p_audit_before, p_audit_after, p_audit_reason, p_audit_request_id,
                                p_audit_canon_head, p_audit_canon_tail);
    SET CONSTRAINTS ALL DEFERRED;
    RETURN v_seq;
END;"""


def _v2(post: str) -> str:
    if post.count(_OLD_TAIL) != 1 or post.count("\nBEGIN\n") != 1:
        raise RuntimeError("tokenization_transfer_post: the first form's tail was not found once")
    return post.replace(_OLD_TAIL, _NEW_TAIL).replace("\nBEGIN\n", "\nDECLARE\n    v_seq bigint;\nBEGIN\n")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_v2(_V1.POST), params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_V1.POST, params=None)


class Migration(migrations.Migration):
    dependencies = [("tokenization", "0007_transfer_facts_locked_read")]
    operations = [migrations.RunPython(forward, reverse)]
