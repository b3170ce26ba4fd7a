"""Revaluation runs over the API: start (202, Idempotency-Key), read progress and failures, cancel. Thin: one
service call each."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assets.asset_types import AssetType
from rwa_service.accounts.roles import STAFF_READERS, Role
from rwa_service.api.idempotency import idempotent_response
from rwa_service.api.pagination import CursorPage
from rwa_service.api.viewsets import BaseViewSet
from valuation import selectors
from valuation.models import RevaluationFailure, RevaluationRun, RunStatus
from valuation.services import revaluation_run_cancel, revaluation_run_start

VALUER = frozenset({Role.VALUER})
_PROBLEM = OpenApiResponse(description="Problem document (application/problem+json).")
_ERRORS = {400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM}
_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="Unique per request (per user)."
)


class RevaluationRunStartSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    asset_type = serializers.ChoiceField(choices=AssetType.choices, required=False)
    jurisdiction = serializers.CharField(min_length=2, max_length=2, required=False)
    currency = serializers.CharField(min_length=3, max_length=3, required=False)


class RevaluationRunSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=RunStatus.choices, read_only=True)

    class Meta:
        model = RevaluationRun
        fields = ["id", "as_of", "filters", "status", "total", "done", "failed", "started_by", "created_at",
                  "finished_at"]  # fmt: skip
        read_only_fields = fields


class RevaluationFailureSerializer(serializers.ModelSerializer):
    asset_reference = serializers.CharField(source="asset.reference", read_only=True)

    class Meta:
        model = RevaluationFailure
        fields = ["asset", "asset_reference", "reason", "created_at"]
        read_only_fields = fields


class FailureCursorPage(CursorPage):
    ordering = "-created_at"


@extend_schema_view(
    list=extend_schema(summary="Revaluation runs, newest first", responses={200: RevaluationRunSerializer(many=True)}),
    retrieve=extend_schema(summary="A run's progress", responses={200: RevaluationRunSerializer, **_ERRORS}),
)
class RevaluationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """`revaluation-runs/`: valuers start and cancel runs; staff read their progress and failures."""

    serializer_class = RevaluationRunSerializer
    filter_backends = []
    role_rules = {
        "list": STAFF_READERS,
        "retrieve": STAFF_READERS,
        "create": VALUER,
        "cancel": VALUER,
        "failures": STAFF_READERS,
    }

    def scoped_queryset(self, *, user):
        return selectors.revaluation_run_list(user=user)

    @extend_schema(
        summary="Start a revaluation run (202; chunks are worked by Celery workers)",
        request=RevaluationRunStartSerializer,
        parameters=[_KEY],
        responses={202: RevaluationRunSerializer, 422: _PROBLEM, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        payload = RevaluationRunStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)

        def run():
            started = revaluation_run_start(actor=request.user, **payload.validated_data)
            return status.HTTP_202_ACCEPTED, RevaluationRunSerializer(started).data

        return idempotent_response(request, run)

    @extend_schema(summary="Cancel an open run", request=None, responses={200: RevaluationRunSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        return Response(RevaluationRunSerializer(revaluation_run_cancel(actor=request.user, run_id=run.pk)).data)

    @extend_schema(
        summary="The assets a run could not value, with the reasons",
        responses={200: RevaluationFailureSerializer(many=True), **_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=FailureCursorPage)
    def failures(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        page = self.paginate_queryset(selectors.revaluation_failures(run=run))
        return self.get_paginated_response(RevaluationFailureSerializer(page, many=True).data)
