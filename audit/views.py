"""Audit API: the trail (`audit/events/`), its verification (`audit/verify/`) and the integrators' feed (`events/`).
Read-only; compliance and auditors (SPEC §3: read the audit trail, verify, export)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify_signed, audit_feed_page
from audit.serializers import AuditEventSerializer, ChainVerificationSerializer, EventFeedSerializer
from rwa_service.accounts.roles import AUDIT_READERS
from rwa_service.api.pagination import SeqCursorPage
from rwa_service.api.viewsets import BaseViewSet
from rwa_service.exceptions import ValidationFailed


@extend_schema_view(
    list=extend_schema(summary="The audit trail, oldest first, filtered"),
    retrieve=extend_schema(summary="One audit event by seq"),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """`audit/events/`: every recorded change, by `seq`; filters and cursor pagination."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = SeqCursorPage
    lookup_value_regex = r"\d+"
    role_rules = {"list": AUDIT_READERS, "retrieve": AUDIT_READERS}

    def scoped_queryset(self, *, user):
        return AuditEvent.objects.order_by("seq")


class AuditVerifyViewSet(BaseViewSet):
    """`audit/verify/`: the chain recomputed now, in one streaming pass, against the signed checkpoints. A full pass
    is expensive (≈ 7 s per million events): each user may ask AUDIT_VERIFY_RATE times (default 6 a minute); for very
    long chains use `manage.py verify_audit`, which has no request timeout."""

    serializer_class = ChainVerificationSerializer
    pagination_class = None
    filter_backends = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "audit_verify"
    role_rules = {"list": AUDIT_READERS}

    def scoped_queryset(self, *, user):
        return AuditEvent.objects.none()

    @extend_schema(summary="Verify the audit chain", responses={200: ChainVerificationSerializer})
    def list(self, request: Request) -> Response:
        signed = audit_chain_verify_signed()
        payload = {**signed.result.__dict__, "checkpoints_rejected": len(signed.rejected)}
        return Response(ChainVerificationSerializer(payload).data)


class EventFeedViewSet(BaseViewSet):
    """`events/?after_seq=N&limit=M`: the feed for integrators. Events in `seq` order after the last one you
    processed; pass the answer's `next_after_seq` back to resume. Delivery is at-least-once: store `next_after_seq`
    only after processing, and a crash replays at most the last page."""

    serializer_class = EventFeedSerializer
    pagination_class = None
    filter_backends = []
    role_rules = {"list": AUDIT_READERS}

    def scoped_queryset(self, *, user):
        return AuditEvent.objects.none()

    @extend_schema(
        summary="Events after a seq (integrators' feed)",
        parameters=[
            OpenApiParameter("after_seq", OpenApiTypes.INT, description="the last seq you processed (0: start)"),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"at most this many (≤ {settings.EVENT_FEED_MAX})"),
        ],
        responses={200: EventFeedSerializer},
    )
    def list(self, request: Request) -> Response:
        after_seq = _bounded_int(request, "after_seq", default=0, low=0, high=None)
        limit = _bounded_int(request, "limit", default=100, low=1, high=settings.EVENT_FEED_MAX)
        page = audit_feed_page(after_seq=after_seq, limit=limit)
        return Response(EventFeedSerializer(page.__dict__).data)


def _bounded_int(request: Request, name: str, *, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    field = serializers.IntegerField(min_value=low, max_value=high)
    try:
        return field.run_validation(raw)
    except serializers.ValidationError as exc:
        raise ValidationFailed(f"Invalid {name}.", errors={name: exc.detail}) from exc
