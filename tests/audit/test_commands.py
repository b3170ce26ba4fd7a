"""verify_audit, export_audit and audit_checkpoint: exit statuses, streamed exports that an auditor can verify
offline line by line, date windows, and the checkpoint task beat runs."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.canonical import GENESIS_HASH, event_hash
from audit.models import AuditEvent
from audit.services import Actor, audit_event_record
from audit.tasks import sign_audit_checkpoint
from tests.audit.triggers import audit_triggers_disabled


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"


def _record(n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            audit_event_record(actor=Actor.system("t"), action="thing.changed", object_type="thing", object_id=i,
                               before={"i": i - 1, "note": "ünïcode, \"quoted\"\n"}, after={"i": i, "x": 1.5},
                               reason="because")  # fmt: skip


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_verify_audit_succeeds_on_a_sound_chain_and_fails_naming_the_first_bad_event():
    _record(6)
    assert "valid: 6 events" in _run("verify_audit")
    report = json.loads(_run("verify_audit", "--json"))
    assert (report["valid"], report["length"], report["first_bad_seq"]) == (True, 6, None)
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 4")
    with pytest.raises(CommandError, match="INVALID at seq 4") as failed:
        _run("verify_audit")
    assert failed.value.returncode == 1


@pytest.mark.django_db
def test_verify_audit_checks_the_signed_checkpoints_and_refuses_a_forged_file(tmp_path):
    _record(3)
    assert "signed seq 3" in _run("audit_checkpoint")
    assert "1 signed checkpoint(s)" in _run("verify_audit")
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({"seq": 3, "hash": "0" * 64, "signed_at": "x", "key_id": "y", "signature": "AA=="}))
    with pytest.raises(CommandError) as refused:
        _run("verify_audit", "--checkpoint", str(forged))
    assert refused.value.returncode == 2
    from django.conf import settings

    (settings.AUDIT_CHECKPOINT_DIR / "checkpoint-000000000003-forged.json").write_text(forged.read_text())
    with pytest.raises(CommandError, match="did not verify") as suspicious:  # a forged file among the real ones
        _run("verify_audit")
    assert suspicious.value.returncode == 1


@pytest.mark.django_db
def test_the_jsonl_export_can_be_verified_offline_line_by_line(tmp_path):
    _record(5)
    path = tmp_path / "trail.jsonl"
    _run("export_audit", "--format", "jsonl", "--output", str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    hashed = list(AuditEvent.objects.first().hashed_fields())
    assert len(lines) == AuditEvent.objects.count() == 5
    prev = GENESIS_HASH
    for line in lines:
        record = json.loads(line)
        fields = {name: record[name] for name in hashed}
        assert record["prev_hash"] == prev and event_hash(prev_hash=prev, fields=fields) == record["hash"]
        prev = record["hash"]


@pytest.mark.django_db
def test_the_csv_export_has_a_header_every_event_and_json_columns():
    _record(3)
    rows = list(csv.DictReader(io.StringIO(_run("export_audit", "--format", "csv"))))
    assert [int(row["seq"]) for row in rows] == [1, 2, 3]
    assert json.loads(rows[1]["after"]) == {"i": 1, "x": 1.5} and json.loads(rows[0]["before"])["note"].endswith("\n")
    assert rows[2]["hash"] == AuditEvent.objects.get(seq=3).hash


@pytest.mark.django_db
def test_the_export_window_is_since_inclusive_until_exclusive_and_bad_dates_are_refused():
    _record(2)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert _run("export_audit", "--since", tomorrow) == ""
    assert len(_run("export_audit", "--until", tomorrow).splitlines()) == 2
    first = AuditEvent.objects.get(seq=1).occurred_at.isoformat()
    assert len(_run("export_audit", "--since", first).splitlines()) == 2
    assert _run("export_audit", "--until", first) == ""
    with pytest.raises(CommandError, match="not a date"):
        _run("export_audit", "--since", "yesterday")


@pytest.mark.django_db
def test_beat_signs_a_checkpoint_hourly_through_an_editable_periodic_task(settings):
    task = PeriodicTask.objects.get(name="audit checkpoint")
    assert task.task == "audit.tasks.sign_audit_checkpoint" and task.enabled and task.crontab.minute == "5"
    _record(2)
    assert sign_audit_checkpoint.delay().get() == 2
    assert len(list(settings.AUDIT_CHECKPOINT_DIR.glob("checkpoint-000000000002-*.json"))) == 1


@pytest.mark.django_db
def test_an_export_whose_reader_stops_early_ends_quietly():
    _record(3)

    class ClosedAfterOneLine(io.StringIO):
        def write(self, text):
            if self.getvalue():
                raise BrokenPipeError
            return super().write(text)

    out = ClosedAfterOneLine()
    call_command("export_audit", stdout=out, stderr=io.StringIO())  # no exception: `| head -1` is not a failure
    assert out.getvalue().count("\n") == 1


@pytest.mark.django_db
def test_an_export_of_awkward_values_still_verifies_offline(tmp_path):
    with transaction.atomic():
        for value in ({"tiny": 1.5e-7, "big": 2**70}, {"text": 'é\t"\\\n', "nested": [1, None, True]}):
            audit_event_record(actor=Actor.system("t"), action="thing.changed", object_type="thing", object_id=1,
                               before=None, after=value)  # fmt: skip
    path = tmp_path / "trail.jsonl"
    _run("export_audit", "--output", str(path))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0]["after"]["big"] == 2**70 and records[1]["after"]["text"] == 'é\t"\\\n'
    prev = GENESIS_HASH
    for record in records:
        fields = {name: record[name] for name in AuditEvent.objects.first().hashed_fields()}
        assert event_hash(prev_hash=prev, fields=fields) == record["hash"]
        prev = record["hash"]
