"""The audit admin is read-only, and only compliance and auditors see it."""

import pytest

from audit.models import AuditEvent
from tests.audit.test_services import _record


@pytest.fixture
def event(db):
    return _record(1)[0]


def _staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_auditor_can_list_and_view_but_not_change_or_add(client, users, event):
    client.force_login(_staff(users["auditor"]))
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{event.seq}/change/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.seq}/change/", {"reason": "forged"})
    assert client.post(f"/admin/audit/auditevent/{event.seq}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(seq=event.seq).reason == ""


def test_operator_cannot_see_the_audit_admin(client, users, event):
    client.force_login(_staff(users["operator"]))
    assert client.get("/admin/audit/auditevent/").status_code == 403
