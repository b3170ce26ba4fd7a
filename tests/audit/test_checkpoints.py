"""Signed checkpoints: written atomically out of the database, verified by signature, and what they catch that the
chain alone cannot (a tail cut with the head moved back; a history rewritten with every hash recomputed)."""

import base64
import json
import os

import pytest
from django.db import connection, transaction

from audit.canonical import event_hash
from audit.checkpoints import CheckpointRejected, audit_checkpoint_write, checkpoint_load, checkpoints_load
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, audit_event_record
from tests.audit.triggers import audit_triggers_disabled


@pytest.fixture(autouse=True)
def _checkpoint_dir(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    return settings.AUDIT_CHECKPOINT_DIR


def _record(n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            audit_event_record(actor=Actor.system("t"), action="thing.changed", object_type="thing", object_id=i,
                               before=None, after={"i": i})  # fmt: skip


@pytest.mark.django_db
def test_a_checkpoint_names_the_head_and_its_signature_verifies(_checkpoint_dir):
    _record(5)
    checkpoint, path = audit_checkpoint_write()
    assert (checkpoint.seq, checkpoint.hash) == tuple(AuditChainHead.objects.values_list("seq", "hash").get())
    assert path.parent == _checkpoint_dir and checkpoint_load(path) == checkpoint
    assert not list(_checkpoint_dir.glob(".checkpoint-*"))  # the temporary file was renamed, none is left


@pytest.mark.django_db
def test_a_forged_or_foreign_checkpoint_is_rejected(_checkpoint_dir, settings):
    _record(3)
    _, path = audit_checkpoint_write()
    fields = json.loads(path.read_text())
    forged = _checkpoint_dir / "checkpoint-999999999999-forged.json"
    forged.write_text(json.dumps({**fields, "seq": 2}))
    with pytest.raises(CheckpointRejected, match="does not verify"):
        checkpoint_load(forged)
    settings.AUDIT_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()  # a new key: the old one is unknown now
    with pytest.raises(CheckpointRejected, match="unknown key"):
        checkpoint_load(path)
    (_checkpoint_dir / "checkpoint-000000000001-junk.json").write_text("{not json")
    accepted, rejected = checkpoints_load()
    assert accepted == [] and len(rejected) == 3


@pytest.mark.django_db
def test_an_old_key_listed_in_audit_verify_keys_still_verifies(settings):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from audit.checkpoints import signing_key

    _record(2)
    _, path = audit_checkpoint_write()
    old_public = signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    settings.AUDIT_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.AUDIT_VERIFY_KEYS = [base64.b64encode(old_public).decode()]
    assert checkpoint_load(path).seq == 2


@pytest.mark.django_db
def test_a_tail_cut_together_with_the_head_is_caught_only_with_the_checkpoint():
    _record(10)
    audit_checkpoint_write()
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > 7")
    seven = AuditEvent.objects.get(seq=7)
    AuditChainHead.objects.filter(pk=1).update(seq=7, hash=seven.hash)  # the head moved back with the tail
    assert audit_chain_verify().valid  # the chain alone cannot tell
    checkpoints, _ = checkpoints_load()
    result = audit_chain_verify(checkpoints=checkpoints)
    assert (result.valid, result.first_bad_seq, result.length) == (False, 8, 7)
    assert "signed checkpoint" in result.reason


@pytest.mark.django_db
def test_a_history_rewritten_with_recomputed_hashes_fails_at_the_checkpoint_it_contradicts():
    _record(4)
    audit_checkpoint_write()
    _record(2)
    with audit_triggers_disabled():
        events, prev = list(AuditEvent.objects.order_by("seq")), None
        for event in events:
            if event.seq == 3:
                event.after = {"i": "rewritten"}
            event.prev_hash = prev or event.prev_hash
            event.hash = event_hash(prev_hash=event.prev_hash, fields=event.hashed_fields())
            prev = event.hash
            with connection.cursor() as cursor:
                cursor.execute("UPDATE audit_auditevent SET after = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                               [json.dumps(event.after), event.prev_hash, event.hash, event.seq])  # fmt: skip
    AuditChainHead.objects.filter(pk=1).update(hash=prev)
    assert audit_chain_verify().valid  # consistent, recomputed: the chain alone cannot tell
    checkpoints, _ = checkpoints_load()
    result = audit_chain_verify(checkpoints=checkpoints)
    assert (result.valid, result.first_bad_seq, result.reason) == (False, 4, "differs from a signed checkpoint")


@pytest.mark.django_db
def test_a_verifier_needs_only_the_public_key_and_cannot_sign(settings):
    from django.core.exceptions import ImproperlyConfigured

    from audit.checkpoints import public_key_text, signing_key

    _record(3)
    _, path = audit_checkpoint_write()
    public = public_key_text(signing_key())
    settings.AUDIT_SIGNING_KEY, settings.AUDIT_KEY_FROM_SECRET, settings.AUDIT_VERIFY_KEYS = "", False, [public]
    assert checkpoint_load(path).seq == 3  # a web process with the public key only verifies
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        audit_checkpoint_write()  # and cannot forge one
    settings.AUDIT_VERIFY_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="AUDIT_VERIFY_KEYS"):
        checkpoint_load(path)
