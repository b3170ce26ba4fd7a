"""Valuation API: an asset's valuations, the valuations list with approve and reject, price series and their
observations, and NAV per token. Thin: every write is one service call, every read a scoped selector."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assets.selectors import asset_scope
from rwa_service.accounts.roles import ALL_ROLES, STAFF_READERS, Role
from rwa_service.api.pagination import CursorPage
from rwa_service.api.viewsets import BaseViewSet
from rwa_service.exceptions import ValidationFailed
from tokenization import selectors as token_selectors
from valuation import price_services, selectors, services
from valuation.models import PriceSeries, Valuation, ValuationStatus
from valuation.selectors import token_nav, valuation_list
from valuation.serializers import (
    NavSerializer,
    ObservationInputSerializer,
    PriceObservationSerializer,
    PriceSeriesCreateSerializer,
    PriceSeriesSerializer,
    RejectSerializer,
    ValuationCreateSerializer,
    ValuationSerializer,
)

READERS = ALL_ROLES  # investors: only valuations of assets they may see (the selectors scope them)
VALUER = frozenset({Role.VALUER})
SERIES_READERS = STAFF_READERS  # market data for the staff roles; investors read NAV, not the series behind it
_PROBLEM = OpenApiResponse(description="Problem document (application/problem+json).")
_ERRORS = {400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM}
_READ_ERRORS = {401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM}


def _valuations(user) -> object:
    return valuation_list(user=user).select_related("asset")


class ObservationCursorPage(CursorPage):
    """Observations, newest date first (one per series and date: the cursor is exact)."""

    ordering = "-date"


class AssetValuationViewSet(BaseViewSet):
    """`assets/{id}/valuations/`: the asset's valuations, and recording a new one (valuer)."""

    role_rules = {"valuations": READERS, "record_valuation": VALUER}
    serializer_class = ValuationSerializer

    def scoped_queryset(self, *, user):
        return asset_scope(user=user)

    @extend_schema(
        summary="The asset's valuations (newest recorded first, cursor pages)",
        responses={200: ValuationSerializer(many=True), **_READ_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=CursorPage)
    def valuations(self, request: Request, pk: str) -> Response:
        asset = self.get_object()
        page = self.paginate_queryset(_valuations(request.user).filter(asset=asset))
        return self.get_paginated_response(ValuationSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a valuation (valuer): a manual one is a draft awaiting a second valuer, a computed one is "
        "approved at once",
        request=ValuationCreateSerializer,
        responses={201: ValuationSerializer, 422: _PROBLEM, **_ERRORS},
    )
    @valuations.mapping.post
    def record_valuation(self, request: Request, pk: str) -> Response:
        asset = self.get_object()
        payload = ValuationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        valuation = services.valuation_record(actor=request.user, asset_id=asset.pk, **payload.validated_data)
        valuation = _valuations(request.user).get(pk=valuation.pk)
        return Response(ValuationSerializer(valuation).data, status=status.HTTP_201_CREATED)


class ValuationFilter(django_filters.FilterSet):
    asset = django_filters.UUIDFilter(field_name="asset_id")
    status = django_filters.MultipleChoiceFilter(choices=ValuationStatus.choices, distinct=False)
    method = django_filters.CharFilter(field_name="method")

    class Meta:
        model = Valuation
        fields = ["asset", "status", "method"]


@extend_schema_view(
    list=extend_schema(summary="List valuations", responses={200: ValuationSerializer(many=True), **_READ_ERRORS}),
    retrieve=extend_schema(summary="Read a valuation", responses={200: ValuationSerializer, **_READ_ERRORS}),
)
class ValuationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Valuations of the assets the user may see; a second valuer approves or rejects drafts."""

    serializer_class = ValuationSerializer
    filterset_class = ValuationFilter
    ordering_fields = ["created_at", "as_of"]
    role_rules = {"list": READERS, "retrieve": READERS, "approve": VALUER, "reject": VALUER}

    def scoped_queryset(self, *, user):
        return _valuations(user)

    @extend_schema(
        summary="Approve a draft (valuer; not the recorder): it becomes the asset's current valuation",
        request=None,
        responses={200: ValuationSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        valuation = self.get_object()
        services.valuation_approve(actor=request.user, valuation_id=valuation.pk)
        return Response(ValuationSerializer(_valuations(request.user).get(pk=valuation.pk)).data)

    @extend_schema(
        summary="Reject a draft, with a reason (valuer; not the recorder)",
        request=RejectSerializer,
        responses={200: ValuationSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        valuation = self.get_object()
        payload = RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.valuation_reject(
            actor=request.user, valuation_id=valuation.pk, reason=payload.validated_data["reason"]
        )
        return Response(ValuationSerializer(_valuations(request.user).get(pk=valuation.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="List price series", responses={200: PriceSeriesSerializer(many=True), **_READ_ERRORS}),
    retrieve=extend_schema(summary="Read a price series", responses={200: PriceSeriesSerializer, **_READ_ERRORS}),
)
class PriceSeriesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Price series (indices, prices, FX rates) by code, and their dated observations."""

    serializer_class = PriceSeriesSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    search_fields = ["code", "name"]
    ordering_fields = ["code", "created_at"]
    role_rules = {
        "list": SERIES_READERS,
        "retrieve": SERIES_READERS,
        "create": VALUER,
        "observations": SERIES_READERS,
        "add_observations": VALUER,
    }

    class Filter(django_filters.FilterSet):
        kind = django_filters.CharFilter(field_name="kind")
        currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact")

        class Meta:
            model = PriceSeries
            fields = ["kind", "currency"]

    filterset_class = Filter

    def scoped_queryset(self, *, user):
        return selectors.price_series_list(user=user)

    @extend_schema(
        summary="Create a price series (valuer)",
        request=PriceSeriesCreateSerializer,
        responses={201: PriceSeriesSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        payload = PriceSeriesCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        series = price_services.price_series_create(actor=request.user, **payload.validated_data)
        response = Response(PriceSeriesSerializer(series).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{series.code}/"
        return response

    @extend_schema(
        summary="The series' observations (newest date first, cursor pages)",
        responses={200: PriceObservationSerializer(many=True), **_READ_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=ObservationCursorPage)
    def observations(self, request: Request, code: str) -> Response:
        series = self.get_object()
        page = self.paginate_queryset(selectors.price_observations(series=series))
        return self.get_paginated_response(PriceObservationSerializer(page, many=True).data)

    @extend_schema(
        summary="Add observations (valuer): a list of {date, value} or one object, all or nothing",
        description=(
            "Values are decimal strings. Malformed rows → 400 with `errors` keyed `<index>.<field>`; a date the "
            "series already has (or one given twice) → 409 `observation_exists` with `duplicates`. Observations "
            f"are never overwritten. At most {price_services.MAX_OBSERVATIONS_PER_CALL} per call."
        ),
        request=ObservationInputSerializer(many=True),
        responses={201: PriceObservationSerializer(many=True), **_ERRORS},
    )
    @observations.mapping.post
    def add_observations(self, request: Request, code: str) -> Response:
        series = self.get_object()
        rows = request.data
        if isinstance(rows, dict):
            rows = [rows]
        if not isinstance(rows, list):
            raise ValidationFailed(
                "A list of {date, value} objects, or one object, is required.",
                errors={"non_field_errors": ["A list or an object is required."]},
            )
        created = price_services.price_observations_add(actor=request.user, series_code=series.code, observations=rows)
        created.sort(key=lambda observation: observation.date, reverse=True)
        return Response(PriceObservationSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class TokenNavViewSet(BaseViewSet):
    """`tokens/{id}/nav/`: NAV per token of the class, from its asset's current valuation."""

    role_rules = {"nav": READERS}
    serializer_class = NavSerializer

    def scoped_queryset(self, *, user):
        return token_selectors.token_list(user=user)

    @extend_schema(
        summary="NAV per token: the asset's current value ÷ circulating supply (whole tokens)",
        description="409 `no_current_valuation` when the asset has no approved valuation; 409 `no_supply` when "
        "nothing is in circulation. `stale` follows the asset type's policy (valuation.staleness).",
        responses={200: NavSerializer, **_READ_ERRORS, 409: _PROBLEM},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def nav(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        body = token_nav(token=token)
        return Response(NavSerializer(body).data)
