"""Webhook API: `webhooks/` (subscriptions: compliance manages, auditors read) and `webhook-deliveries/` (the
outbox rows with their attempts; compliance redelivers a dead one). Thin: every write is one service call."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit import webhook_services as services
from audit.models import WebhookDelivery, WebhookSubscription
from audit.serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionSerializer,
    WebhookSubscriptionWriteSerializer,
)
from rwa_service.accounts.roles import AUDIT_READERS, Role
from rwa_service.api.viewsets import BaseViewSet

MANAGERS = frozenset({Role.COMPLIANCE})


class WebhookSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Subscriptions receiving the audit events as signed POSTs."""

    serializer_class = WebhookSubscriptionSerializer
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]
    role_rules = {"list": AUDIT_READERS, "retrieve": AUDIT_READERS, "create": MANAGERS,
                  "partial_update": MANAGERS, "deliveries": AUDIT_READERS}  # fmt: skip

    def scoped_queryset(self, *, user):
        return WebhookSubscription.objects.order_by("name", "id")

    @extend_schema(summary="Subscribe a URL to the audit events", request=WebhookSubscriptionWriteSerializer,
                   responses={201: WebhookSubscriptionCreatedSerializer})  # fmt: skip
    def create(self, request: Request) -> Response:
        payload = WebhookSubscriptionWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = {key: value for key, value in payload.validated_data.items() if key != "active"}
        subscription, secret = services.webhook_subscription_create(actor=request.user, **fields)
        subscription.secret = secret
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a subscription (URL, filters, active)",
                   request=WebhookSubscriptionWriteSerializer(partial=True),
                   responses={200: WebhookSubscriptionSerializer})  # fmt: skip
    def partial_update(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        payload = WebhookSubscriptionWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key in request.data}
        subscription = services.webhook_subscription_update(
            actor=request.user, subscription_id=subscription.pk, changes=changes
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(summary="The subscription's deliveries, newest event first",
                   responses={200: WebhookDeliverySerializer(many=True)})  # fmt: skip
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        page = self.paginate_queryset(subscription.deliveries.order_by("-event_seq"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryViewSet(mixins.RetrieveModelMixin, BaseViewSet):
    """One delivery (`webhook-deliveries/{id}/`) and its manual redelivery."""

    serializer_class = WebhookDeliverySerializer
    filter_backends = []
    role_rules = {"retrieve": AUDIT_READERS, "redeliver": MANAGERS}

    def scoped_queryset(self, *, user):
        return WebhookDelivery.objects.all()

    @extend_schema(summary="Send a dead or delivered delivery again", request=None,
                   responses={202: WebhookDeliverySerializer})  # fmt: skip
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str) -> Response:
        delivery = services.webhook_delivery_redeliver(actor=request.user, delivery_id=self.get_object().pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
