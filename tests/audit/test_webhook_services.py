"""Webhooks end to end against a real local receiver: the dispatcher turns committed events into deliveries (none
for a rolled-back change, none twice), a receiver that fails twice then succeeds gets the event exactly once after
its success with a signature it verifies, a receiver down for good ends in the dead letter, and redelivery."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent, DeliveryStatus, WebhookDelivery
from audit.services import Actor, audit_event_record
from audit.webhook_services import (
    webhook_deliveries_dispatch,
    webhook_deliveries_requeue,
    webhook_delivery_redeliver,
    webhook_subscription_create,
    webhook_subscription_update,
)
from audit.webhook_signing import SIGNATURE_HEADER, webhook_signature_valid
from rwa_service.exceptions import Conflict, PermissionRefused
from tests.audit.webhook_receiver import webhook_receiver


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    settings.WEBHOOK_ALLOWED_SCHEMES = ["http", "https"]
    settings.WEBHOOK_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_MAX_ATTEMPTS = 4


def _record(action: str = "asset.approved", object_type: str = "asset", n: int = 1) -> list[AuditEvent]:
    with transaction.atomic():
        return [audit_event_record(actor=Actor.system("t"), action=action, object_type=object_type, object_id=i,
                                   before=None, after={"i": i}) for i in range(n)]  # fmt: skip


def _time_passes() -> None:
    """The retry is due now (what the clock would do after the back-off)."""
    WebhookDelivery.objects.filter(status=DeliveryStatus.RETRYING).update(next_attempt_at=timezone.now())


def _dispatch(capture) -> None:
    with capture(execute=True):
        webhook_deliveries_dispatch()


def _requeue(capture) -> None:
    with capture(execute=True):
        webhook_deliveries_requeue()


def test_a_receiver_failing_twice_gets_the_event_once_after_success_signed(users, django_capture_on_commit_callbacks):
    with webhook_receiver([500, 503, 200]) as receiver:
        subscription, secret = webhook_subscription_create(actor=users["compliance"], name="erp", url=receiver.url)
        (event,) = _record()
        _dispatch(django_capture_on_commit_callbacks)  # attempt 1 (fails; the eager retry is not due yet)
        delivery = WebhookDelivery.objects.get(subscription=subscription, event_seq=event.seq)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.RETRYING, 1, 500)
        for _ in range(2):
            _time_passes()
            _requeue(django_capture_on_commit_callbacks)  # attempts 2 (503) and 3 (200)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.delivered_at is not None) == ("delivered", 3, True)
        for _ in range(2):  # afterwards nothing sends it again: not the sweeper, not the dispatcher
            _time_passes()
            _requeue(django_capture_on_commit_callbacks)
            _dispatch(django_capture_on_commit_callbacks)
        assert len(receiver.requests) == 3
        headers, body = receiver.requests[-1]
        assert webhook_signature_valid(secret=secret, body=body, header=headers[SIGNATURE_HEADER.lower()])
        assert not webhook_signature_valid(secret="wrong", body=body, header=headers[SIGNATURE_HEADER.lower()])
        assert not webhook_signature_valid(secret=secret, body=body + b" ", header=headers[SIGNATURE_HEADER.lower()])
        payload = json.loads(body)
        assert payload["event"]["seq"] == event.seq and payload["event"]["hash"] == event.hash
        assert headers["x-rwa-event-seq"] == str(event.seq) and payload["delivery"] == delivery.pk


def test_a_receiver_down_for_good_ends_dead_and_a_redelivery_reaches_it_later(
    users, django_capture_on_commit_callbacks
):
    with webhook_receiver([500]) as down:
        subscription, _ = webhook_subscription_create(actor=users["compliance"], name="down", url=down.url)
        _record()
        _dispatch(django_capture_on_commit_callbacks)
        for _ in range(6):
            _time_passes()
            _requeue(django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get(subscription=subscription)
        assert (delivery.status, delivery.attempts, len(down.requests)) == (DeliveryStatus.DEAD, 4, 4)
    with webhook_receiver([200]) as back:
        webhook_subscription_update(actor=users["compliance"], subscription_id=subscription.pk,
                                    changes={"url": back.url})  # fmt: skip
        with pytest.raises(PermissionRefused):
            webhook_delivery_redeliver(actor=users["auditor"], delivery_id=delivery.pk)
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_redeliver(actor=users["compliance"], delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, len(back.requests)) == (DeliveryStatus.DELIVERED, 1, 1)
        assert AuditEvent.objects.filter(action="webhook_delivery.redelivered").count() == 1


def test_a_delivery_still_being_tried_cannot_be_redelivered(users, django_capture_on_commit_callbacks):
    with webhook_receiver([500]) as receiver:
        subscription, _ = webhook_subscription_create(actor=users["compliance"], name="x", url=receiver.url)
        _record()
        _dispatch(django_capture_on_commit_callbacks)
        with pytest.raises(Conflict):
            webhook_delivery_redeliver(actor=users["compliance"], delivery_id=subscription.deliveries.get().pk)


def test_the_dispatcher_sends_only_committed_wanted_events_after_the_subscription_and_never_twice(
    users, django_capture_on_commit_callbacks
):
    _record(n=2)  # before the subscription: not sent
    with webhook_receiver([200]) as receiver:
        assets, _ = webhook_subscription_create(actor=users["compliance"], name="assets", url=receiver.url,
                                                actions=["asset."], object_types=["asset"])  # fmt: skip
        everything, _ = webhook_subscription_create(actor=users["compliance"], name="all", url=receiver.url)
        wanted = _record("asset.approved")
        _record("token.minted", object_type="token")
        with pytest.raises(ZeroDivisionError), transaction.atomic():  # rolled back: no event, no delivery
            _record("asset.retired")
            1 / 0  # noqa: B018
        for _ in range(2):
            _dispatch(django_capture_on_commit_callbacks)
        assert list(assets.deliveries.values_list("event_seq", flat=True)) == [wanted[0].seq]
        assert everything.deliveries.count() == 2  # the asset event and the token one, after its creation
        assert len(receiver.requests) == 3
        assert all(d.status == DeliveryStatus.DELIVERED for d in WebhookDelivery.objects.all())


def test_subscriptions_are_managed_by_compliance_audited_and_keep_the_secret_encrypted(users):
    from django.db import connection

    with pytest.raises(PermissionRefused):
        webhook_subscription_create(actor=users["operator"], name="x", url="https://example.com/hook")
    subscription, secret = webhook_subscription_create(
        actor=users["compliance"], name="x", url="https://93.184.215.14/hook", secret="s3cret-value"
    )
    assert secret == "s3cret-value"
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM audit_webhooksubscription WHERE id = %s", [subscription.pk.hex
                       if connection.vendor == "sqlite" else subscription.pk])  # fmt: skip
        (raw,) = cursor.fetchone()
    assert "s3cret" not in raw
    event = AuditEvent.objects.get(action="webhook_subscription.created")
    assert "secret" not in event.after and "s3cret" not in json.dumps(event.after)


def test_retries_back_off_doubling_up_to_the_cap(users, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_BACKOFF_SECONDS, settings.WEBHOOK_BACKOFF_MAX_SECONDS = 6, 10, 35
    with webhook_receiver([500]) as receiver:
        webhook_subscription_create(actor=users["compliance"], name="slow", url=receiver.url)
        _record()
        _dispatch(django_capture_on_commit_callbacks)
        delays = []
        for _ in range(4):
            delivery = WebhookDelivery.objects.get()
            delays.append(round((delivery.next_attempt_at - delivery.updated_at).total_seconds()))
            _time_passes()
            _requeue(django_capture_on_commit_callbacks)
        assert delays == [10, 20, 35, 35]


def test_a_redirect_is_an_answer_never_followed(users, django_capture_on_commit_callbacks):
    with webhook_receiver(["redirect"]) as receiver:
        webhook_subscription_create(actor=users["compliance"], name="moved", url=receiver.url)
        _record()
        _dispatch(django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_status_code, len(receiver.requests)) == ("retrying", 302, 1)


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_overall_deadline(
    users, settings, django_capture_on_commit_callbacks
):
    import time

    settings.WEBHOOK_TIMEOUT_SECONDS = 0.8  # each byte comes within 0.1 s; the whole answer would take ≈ 4 s
    with webhook_receiver(["trickle"]) as receiver:
        webhook_subscription_create(actor=users["compliance"], name="slow", url=receiver.url)
        _record()
        started = time.monotonic()
        _dispatch(django_capture_on_commit_callbacks)
        elapsed = time.monotonic() - started
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_error) == ("retrying", "timed out") and elapsed < 2.5


def test_the_delivery_connects_to_the_address_it_checked(users, settings, monkeypatch,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    import socket

    settings.WEBHOOK_PRIVATE_HOSTS = ["hooks.test"]
    answers = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "hooks.test":
            return real(host, port, *args, **kwargs)
        answers.append(host)  # first answer: the receiver; any later one: an address that is not it
        address = "127.0.0.1" if len(answers) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with webhook_receiver([200]) as receiver:
        url = receiver.url.replace("127.0.0.1", "hooks.test")
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        webhook_subscription_create(actor=users["compliance"], name="pinned", url=url)
        answers.clear()
        _record()
        _dispatch(django_capture_on_commit_callbacks)
        assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED and answers == ["hooks.test"]
        assert receiver.requests[0][0]["host"].startswith("hooks.test")


def test_an_inactive_subscription_is_not_tried_nor_requeued_and_resumes_when_active(
    users, django_capture_on_commit_callbacks
):
    with webhook_receiver([500, 200]) as receiver:
        subscription, _ = webhook_subscription_create(actor=users["compliance"], name="paused", url=receiver.url)
        _record()
        _dispatch(django_capture_on_commit_callbacks)  # attempt 1 fails
        webhook_subscription_update(actor=users["compliance"], subscription_id=subscription.pk,
                                    changes={"active": False})  # fmt: skip
        _time_passes()
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_deliveries_requeue() == []
        assert len(receiver.requests) == 1
        webhook_subscription_update(actor=users["compliance"], subscription_id=subscription.pk,
                                    changes={"active": True})  # fmt: skip
        _requeue(django_capture_on_commit_callbacks)
        assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED and len(receiver.requests) == 2


def test_the_trail_records_a_webhook_url_without_its_query(users):
    subscription, _ = webhook_subscription_create(actor=users["compliance"], name="tok",
                                                  url="http://127.0.0.1:8/hook?token=s3cr3t#frag")  # fmt: skip
    event = AuditEvent.objects.get(action="webhook_subscription.created", object_id=str(subscription.pk))
    assert event.after["url"] == "http://127.0.0.1:8/hook" and "s3cr3t" not in json.dumps(event.after)
