"""`webhooks/` and `webhook-deliveries/`: roles, the secret shown once, validation (SSRF) as problem+json, changes
through PATCH, a subscription's deliveries and redelivery."""

import pytest
from django.db import transaction

from audit.models import DeliveryStatus, WebhookDelivery
from audit.services import Actor, audit_event_record
from audit.webhook_services import webhook_deliveries_dispatch, webhook_subscription_create

CALLERS = ["admin", "operator", "compliance", "valuer", "auditor", "investor", None]
READERS, MANAGERS = {"admin", "compliance", "auditor"}, {"admin", "compliance"}


@pytest.fixture(autouse=True)
def _resolves_publicly(monkeypatch):
    import socket

    def getaddrinfo(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _expected(caller, allowed, ok):
    return ok if caller in allowed else (401 if caller is None else 403)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
def test_the_role_matrix(users, client_for, caller, django_capture_on_commit_callbacks):
    subscription, _ = webhook_subscription_create(actor=users["compliance"], name="s", url="https://h.example/x")
    with transaction.atomic():
        audit_event_record(actor=Actor.system("t"), action="a", object_type="t", object_id=1, before=None, after=None)
    webhook_deliveries_dispatch()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DEAD)
    client = client_for(users[caller] if caller else None)
    base = f"/api/v1/webhooks/{subscription.pk}/"
    assert client.get("/api/v1/webhooks/").status_code == _expected(caller, READERS, 200)
    assert client.get(base).status_code == _expected(caller, READERS, 200)
    assert client.get(f"{base}deliveries/").status_code == _expected(caller, READERS, 200)
    assert client.get(f"/api/v1/webhook-deliveries/{delivery.pk}/").status_code == _expected(caller, READERS, 200)
    created = client.post("/api/v1/webhooks/", {"name": "n", "url": "https://h.example/y"}, format="json")
    assert created.status_code == _expected(caller, MANAGERS, 201)
    assert client.patch(base, {"active": False}, format="json").status_code == _expected(caller, MANAGERS, 200)
    redelivered = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert redelivered.status_code == _expected(caller, MANAGERS, 202)


@pytest.mark.django_db
def test_the_secret_is_shown_once_and_bad_input_is_a_problem(users, client_for, settings):
    client = client_for(users["compliance"])
    created = client.post("/api/v1/webhooks/", {"name": "erp", "url": "https://h.example/in", "actions": ["asset."]},
                          format="json")  # fmt: skip
    assert created.status_code == 201 and len(created.json()["secret"]) >= 32
    read = client.get(f"/api/v1/webhooks/{created.json()['id']}/").json()
    assert "secret" not in read and read["actions"] == ["asset."]
    refused = client.post("/api/v1/webhooks/", {"name": "x", "url": "http://h.example/in"}, format="json")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json"
    assert "url" in refused.json()["errors"]
    bad = client.post("/api/v1/webhooks/", {"name": "x", "url": "https://h.example/in", "actions": "asset."},
                      format="json")  # fmt: skip
    assert bad.status_code == 400
    patched = client.patch(f"/api/v1/webhooks/{created.json()['id']}/", {"url": "https://user:pw@h.example/"},
                           format="json")  # fmt: skip
    assert patched.status_code == 400
