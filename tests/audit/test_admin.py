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


@pytest.fixture
def _public_dns(monkeypatch):
    import socket

    def getaddrinfo(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("_public_dns")
def test_compliance_subscribes_through_the_admin_and_sees_the_secret_once(client, users):
    from audit.models import WebhookSubscription

    client.force_login(_staff(users["compliance"]))
    response = client.post("/admin/audit/webhooksubscription/add/",
                           {"name": "erp", "url": "https://erp.example/in", "actions": "asset., token.minted",
                            "object_types": "", "active": "on"}, follow=True)  # fmt: skip
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.actions == ["asset.", "token.minted"] and subscription.created_by == "compliance-user"
    shown = [str(message) for message in response.context["messages"]]
    assert any(subscription.secret in message for message in shown)
    assert AuditEvent.objects.filter(action="webhook_subscription.created").count() == 1
    refused = client.post("/admin/audit/webhooksubscription/add/",
                          {"name": "x", "url": "https://user:pw@erp.example/", "active": "on"})  # fmt: skip
    assert refused.status_code == 200 and "credentials" in refused.content.decode()
    assert WebhookSubscription.objects.count() == 1


@pytest.mark.usefixtures("_public_dns")
def test_auditors_read_webhooks_in_the_admin_but_cannot_add_or_redeliver(client, users):
    from audit.models import DeliveryStatus, WebhookDelivery
    from audit.webhook_services import webhook_subscription_create

    subscription, _ = webhook_subscription_create(actor=users["compliance"], name="s", url="https://h.example/x")
    delivery = WebhookDelivery.objects.create(subscription=subscription, event_seq=_record(1)[0].seq,
                                              status=DeliveryStatus.DEAD, attempts=8)  # fmt: skip
    client.force_login(_staff(users["auditor"]))
    assert client.get("/admin/audit/webhooksubscription/").status_code == 200
    assert client.get("/admin/audit/webhookdelivery/").status_code == 200
    assert client.get("/admin/audit/webhooksubscription/add/").status_code == 403
    client.post("/admin/audit/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DEAD
    client.force_login(_staff(users["compliance"]))
    client.post("/admin/audit/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.get(pk=delivery.pk).status != DeliveryStatus.DEAD
