"""`audit/events/`, `audit/verify/` and `events/`: who may read them, the SPEC filters, cursor pagination in seq
order, the verification report, and a feed that resumes from `after_seq` without losing or reordering events."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor, audit_event_record
from tests.audit.triggers import audit_triggers_disabled

CALLERS = ["admin", "operator", "compliance", "valuer", "auditor", "investor", "norole", None]
ALLOWED = {"admin", "compliance", "auditor"}


def _record(n: int, **fields) -> None:
    with transaction.atomic():
        for i in range(n):
            values = {"actor": Actor.system("t"), "action": "thing.changed", "object_type": "thing",
                      "object_id": i, "before": None, "after": {"i": i}} | fields  # fmt: skip
            audit_event_record(**values)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ["/api/v1/audit/events/", "/api/v1/audit/events/1/", "/api/v1/audit/verify/",
                                  "/api/v1/events/"])  # fmt: skip
def test_only_compliance_auditors_and_admins_read_the_trail(users, client_for, caller, path):
    _record(1)
    response = client_for(users[caller] if caller else None).get(path)
    expected = 200 if caller in ALLOWED else (401 if caller is None else 403)
    assert response.status_code == expected, response.content
    if expected != 200:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_the_spec_filters_narrow_the_trail(users, client_for):
    start = AuditEvent.objects.count()
    _record(3, object_type="thing", action="thing.changed")
    _record(2, object_type="other", action="other.made", actor=Actor.system("importer"))
    client = client_for(users["auditor"])

    def seqs(query: str) -> list[int]:
        response = client.get(f"/api/v1/audit/events/?page_size=100&{query}")
        assert response.status_code == 200, response.content
        return [event["seq"] for event in response.json()["results"]]

    assert len(seqs("object_type=other")) == 2 and len(seqs("action=thing.changed")) == 3
    assert len(seqs("actor=system:importer")) == 2
    assert seqs("object_type=thing&object_id=1") == [start + 2]
    assert seqs(f"after_seq={start + 3}") == [start + 4, start + 5]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert seqs(f"since={future}") == [] and len(seqs(f"until={future}")) == start + 5
    assert client.get("/api/v1/audit/events/?after_seq=-1").status_code == 400


@pytest.mark.django_db
def test_the_trail_pages_by_cursor_in_seq_order(users, client_for):
    _record(7)
    client, seen, url = client_for(users["compliance"]), [], "/api/v1/audit/events/?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [event["seq"] for event in page["results"]]
        url = page["next"]
    assert seen == sorted(seen) == list(range(1, len(seen) + 1)) and len(seen) == AuditEvent.objects.count()


@pytest.mark.django_db
def test_verify_reports_the_chain_and_the_first_bad_event(users, client_for, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path
    _record(4)
    client = client_for(users["auditor"])
    body = client.get("/api/v1/audit/verify/").json()
    head = AuditEvent.objects.order_by("-seq").first()
    assert body == {"valid": True, "length": head.seq, "head_hash": head.hash, "first_bad_seq": None, "reason": "",
                    "checkpoints": 0, "checkpoints_rejected": 0}  # fmt: skip
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = %s", [head.seq - 1])
    body = client.get("/api/v1/audit/verify/").json()
    assert (body["valid"], body["first_bad_seq"], body["reason"]) == (False, head.seq - 1, "hash mismatch")


@pytest.mark.django_db
def test_the_feed_resumes_after_the_last_seq_and_misses_nothing(users, client_for):
    _record(5)
    client, after, seen = client_for(users["auditor"]), 0, []
    while True:
        page = client.get(f"/api/v1/events/?after_seq={after}&limit=2").json()
        seen += [event["seq"] for event in page["events"]]
        after = page["next_after_seq"]
        if not page["more"]:
            break
        _record(1)  # written while the integrator reads: it comes in a later page
    assert seen == list(range(1, AuditEvent.objects.count() + 1))
    empty = client.get(f"/api/v1/events/?after_seq={after}").json()
    assert (empty["events"], empty["next_after_seq"], empty["more"]) == ([], after, False)
    assert client.get("/api/v1/events/?limit=0").status_code == 400
    assert client.get("/api/v1/events/?after_seq=x").status_code == 400


@pytest.mark.django_db
def test_verify_is_rate_limited_per_user_as_a_problem(users, client_for, settings, tmp_path):
    from django.core.cache import cache

    settings.AUDIT_CHECKPOINT_DIR = tmp_path
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"audit_verify": "2/min"}}
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = {"audit_verify": "2/min"}
    cache.clear()
    try:
        client = client_for(users["auditor"])
        assert [client.get("/api/v1/audit/verify/").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/api/v1/audit/verify/")
        assert limited.status_code == 429 and limited["Content-Type"] == "application/problem+json"
        assert client_for(users["compliance"]).get("/api/v1/audit/verify/").status_code == 200  # per user
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()


@pytest.mark.django_db
def test_verify_counts_the_signed_checkpoints_and_the_rejected_files(users, client_for, settings, tmp_path):
    import json as jsonlib

    from audit.checkpoints import audit_checkpoint_write

    settings.AUDIT_CHECKPOINT_DIR = tmp_path
    _record(3)
    _, path = audit_checkpoint_write()
    forged = {**jsonlib.loads(path.read_text()), "hash": "f" * 64}
    (tmp_path / "checkpoint-000000000003-forged.json").write_text(jsonlib.dumps(forged))
    body = client_for(users["auditor"]).get("/api/v1/audit/verify/").json()
    assert (body["valid"], body["checkpoints"], body["checkpoints_rejected"]) == (True, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_the_feed_never_skips_an_event_committed_after_a_later_read(users, client_for):
    import threading

    _record(2)
    appended, release, errors = threading.Event(), threading.Event(), []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                audit_event_record(actor=Actor.system("slow"), action="thing.slow", object_type="thing",
                                   object_id=99, before=None, after={"late": True})  # fmt: skip
                appended.set()
                release.wait(timeout=30)  # holds its seq (and the chain head) uncommitted meanwhile
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            from django.db import connection as thread_connection

            thread_connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert appended.wait(timeout=30)
    client = client_for(users["auditor"])
    page = client.get("/api/v1/events/?after_seq=0").json()
    assert [event["seq"] for event in page["events"]] == [1, 2]  # the uncommitted third is not seen, nor skipped
    release.set()
    writer.join(timeout=30)
    assert not errors, errors
    later = client.get(f"/api/v1/events/?after_seq={page['next_after_seq']}").json()
    assert [event["action"] for event in later["events"]] == ["thing.slow"]


@pytest.mark.django_db
def test_a_feed_cursor_beyond_the_newest_event_is_refused_not_echoed(users, client_for):
    _record(2)
    client = client_for(users["auditor"])
    assert client.get("/api/v1/events/?after_seq=2").json()["events"] == []
    refused = client.get("/api/v1/events/?after_seq=9999")
    assert refused.status_code == 400 and "after_seq" in refused.json()["errors"]
