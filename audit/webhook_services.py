"""Webhook writes: subscriptions (each change audited), the dispatcher, delivery attempts and redelivery.

The audit table is the transactional outbox: an event exists if and only if the change it records committed, and
`seq` becomes visible in order (a writer takes the next seq under the chain head's lock and holds it until its
commit). The dispatcher moves each subscription's cursor (`last_enqueued_seq`) over the new events and writes one
delivery row per wanted event; a Celery task per delivery POSTs it, signed, until the receiver answers 2xx or the
attempts run out (dead letter). Delivery bookkeeping is transport state, not a business change: it is not itself
audited (that would feed the outbox with its own deliveries); creating, changing and redelivering are.
"""

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent, DeliveryStatus, WebhookDelivery, WebhookSubscription
from audit.serializers import AuditEventSerializer
from audit.services import Actor, audit_event_record
from audit.webhook_http import webhook_post
from audit.webhook_signing import SIGNATURE_HEADER, webhook_signature
from audit.webhook_urls import webhook_target, webhook_url_check, webhook_url_redacted
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import Conflict, NotFound, PermissionRefused, ValidationFailed

_EDITABLE = ("name", "url", "actions", "object_types", "active")


def _require_manager(actor: AbstractBaseUser) -> None:
    if not user_has_role(actor, Role.COMPLIANCE):
        raise PermissionRefused("Managing webhooks needs the compliance role.")


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": str(subscription.pk), "name": subscription.name, "url": webhook_url_redacted(subscription.url),
        "actions": subscription.actions, "object_types": subscription.object_types, "active": subscription.active,
    }  # fmt: skip


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for name in ("actions", "object_types"):
        value = changes.get(name, [])
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
            errors[name] = ["A list of non-empty strings."]
    if "name" in changes and not str(changes["name"] or "").strip():
        errors["name"] = ["This field is required."]
    if errors:
        raise ValidationFailed("The webhook subscription is invalid.", errors=errors)
    if "url" in changes:
        webhook_url_check(str(changes["url"]))
    return changes


@transaction.atomic
def webhook_subscription_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    url: str,
    actions: Sequence[str] = (),
    object_types: Sequence[str] = (),
    secret: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """A subscription receiving the events recorded from now on; returns it and its signing secret (generated
    unless given; shown this once, stored encrypted)."""
    _require_manager(actor)
    fields = _clean({"name": name, "url": url, "actions": list(actions), "object_types": list(object_types)})
    secret = secret or secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(**fields, secret=secret, created_by=actor.get_username())
    created = audit_event_record(
        actor=Actor.of(actor), action="webhook_subscription.created", object_type="webhook_subscription",
        object_id=subscription.pk, before=None, after=_snapshot(subscription),
    )  # fmt: skip
    subscription.last_enqueued_seq = created.seq  # it receives what happens after its own creation
    subscription.save(update_fields=["last_enqueued_seq", "updated_at"])
    return subscription, secret


@transaction.atomic
def webhook_subscription_update(
    *, actor: AbstractBaseUser, subscription_id: Any, changes: dict[str, Any]
) -> WebhookSubscription:
    """Changes the name, URL (checked again), filters or `active` flag."""
    _require_manager(actor)
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("No such webhook subscription.")
    unknown = sorted(set(changes) - set(_EDITABLE))
    if unknown:
        raise ValidationFailed("These fields cannot be changed.", errors={name: ["Read-only."] for name in unknown})
    before = _snapshot(subscription)
    for name, value in _clean(dict(changes)).items():
        setattr(subscription, name, value)
    subscription.save()
    audit_event_record(
        actor=Actor.of(actor), action="webhook_subscription.updated", object_type="webhook_subscription",
        object_id=subscription.pk, before=before, after=_snapshot(subscription),
    )  # fmt: skip
    return subscription


def webhook_deliveries_dispatch(*, batch: int | None = None) -> list[int]:
    """Turns the events after each active subscription's cursor into deliveries (those its filters want) and
    queues them once committed. Each subscription in its own transaction under its row lock (SKIP LOCKED: two
    dispatchers never advance the same one). Returns the new deliveries' ids."""
    batch = batch or settings.WEBHOOK_DISPATCH_BATCH
    created: list[int] = []
    for subscription_id in WebhookSubscription.objects.filter(active=True).values_list("pk", flat=True):
        with transaction.atomic():
            locked = WebhookSubscription.objects.select_for_update(skip_locked=True)
            subscription = locked.filter(pk=subscription_id, active=True).first()
            if subscription is None:
                continue
            events = list(
                AuditEvent.objects.filter(seq__gt=subscription.last_enqueued_seq)
                .order_by("seq")
                .values_list("seq", "action", "object_type")[:batch]
            )
            if not events:
                continue
            wanted = [seq for seq, action, kind in events if subscription.wants(action=action, object_type=kind)]
            WebhookDelivery.objects.bulk_create(
                [WebhookDelivery(subscription=subscription, event_seq=seq) for seq in wanted], ignore_conflicts=True
            )
            subscription.last_enqueued_seq = events[-1][0]
            subscription.save(update_fields=["last_enqueued_seq", "updated_at"])
            ids = list(
                WebhookDelivery.objects.filter(subscription=subscription, event_seq__in=wanted, status="pending")
                .values_list("pk", flat=True)
            )  # fmt: skip
            created += ids
            _publish_on_commit(ids)
    return created


def webhook_deliveries_requeue() -> list[int]:
    """Beat: queues again, for active subscriptions, the deliveries whose retry (or lease) is due and pending ones
    untouched for a minute (a lost message), least recently touched first, and stamps them so each is queued again
    at most once a minute however long the queue. Harmless if one is already queued: an attempt claims its row
    first and skips what is not due."""
    now = timezone.now()
    active = WebhookDelivery.objects.filter(subscription__active=True)
    due = active.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, updated_at__lt=now - timedelta(minutes=1))
    )
    ids = list(due.order_by("updated_at").values_list("pk", flat=True)[:1000])
    WebhookDelivery.objects.filter(pk__in=ids).update(updated_at=now)
    _publish_on_commit(ids)
    return ids


def _publish_on_commit(ids: list[int]) -> None:
    from audit.tasks import deliver_webhook

    if ids:
        transaction.on_commit(lambda: [deliver_webhook.delay(delivery_id) for delivery_id in ids])


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    retry_in: float | None = None


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Takes a due delivery for one attempt: a lease (its next_attempt_at moved past the attempt's deadline) set in
    a short transaction, so no lock is held during the HTTP call and a concurrent attempt finds it not due."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        now = timezone.now()
        if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            return None
        if (delivery.next_attempt_at and delivery.next_attempt_at > now) or not delivery.subscription.active:
            return None
        lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
    return delivery


def _post(*, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POSTs the event, signed, to the checked address; (HTTP status, error). Never raises for the receiver's or
    the network's faults."""
    subscription = delivery.subscription
    body = json.dumps(
        {"delivery": delivery.pk, "event": AuditEventSerializer(AuditEvent.objects.get(seq=delivery.event_seq)).data},
        ensure_ascii=False, separators=(",", ":"), default=str,
    ).encode()  # fmt: skip
    headers = {
        "Content-Type": "application/json", "User-Agent": "rwa-asset-service-webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, body=body),
        "X-RWA-Event-Seq": str(delivery.event_seq), "X-RWA-Delivery": str(delivery.pk),
    }  # fmt: skip
    try:
        target = webhook_target(subscription.url)  # checked again now; the POST goes to this very address
    except ValidationFailed as exc:
        return None, exc.detail
    return webhook_post(target=target, body=body, headers=headers)


def webhook_delivery_attempt(*, delivery_id: int) -> AttemptOutcome | None:
    """One attempt of one delivery: claimed (a lease), POSTed outside any transaction, then its result recorded.
    None when there is nothing to do now (delivered, dead, not yet due, claimed by another attempt, or its
    subscription inactive: it resumes when the subscription is active again)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    status, error = _post(delivery=delivery)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        now, retry_in = timezone.now(), None
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status, error
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.DEAD, None
        else:
            retry_in = min(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1),
                           settings.WEBHOOK_BACKOFF_MAX_SECONDS)  # fmt: skip
            delivery.status, delivery.next_attempt_at = DeliveryStatus.RETRYING, now + timedelta(seconds=retry_in)
        delivery.save()
    return AttemptOutcome(status=delivery.status, retry_in=retry_in)


@transaction.atomic
def webhook_delivery_redeliver(*, actor: AbstractBaseUser, delivery_id: Any) -> WebhookDelivery:
    """Sends a dead (or already delivered) delivery again, from a fresh count of attempts."""
    _require_manager(actor)
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    if delivery.status not in (DeliveryStatus.DEAD, DeliveryStatus.DELIVERED):
        raise Conflict(f"The delivery is {delivery.status}: it is still being tried.", code="delivery_in_progress")
    before = {"status": delivery.status, "attempts": delivery.attempts}
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, None
    delivery.save()
    audit_event_record(
        actor=Actor.of(actor), action="webhook_delivery.redelivered", object_type="webhook_delivery",
        object_id=delivery.pk, before=before, after={"status": delivery.status, "event": delivery.event_seq,
                                                     "subscription": str(delivery.subscription_id)},
    )  # fmt: skip
    _publish_on_commit([delivery.pk])
    return delivery
