"""Asset API: registry, lifecycle actions, documents and history. Thin: every write is one service call."""

import mimetypes

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from assets import selectors, services
from assets.asset_types import METADATA_SCHEMAS, AssetType
from assets.detail_cache import asset_representation, asset_representations
from assets.filters import AssetFilter
from assets.models import Asset
from assets.serializers import (
    AssetSerializer,
    AssetStateAsOfSerializer,
    AssetTypeSerializer,
    AssetWriteSerializer,
    DocumentCreateSerializer,
    DocumentSerializer,
    ReasonSerializer,
)
from audit.serializers import AuditEventPageSerializer, AuditEventSerializer
from rwa_service.accounts.roles import ALL_ROLES, AUDIT_READERS, Role
from rwa_service.api.as_of import parse_as_of
from rwa_service.api.etag import etag_for, expected_version
from rwa_service.api.pagination import CursorPage, SeqCursorPage
from rwa_service.api.responses import PrerenderedJSONResponse
from rwa_service.api.viewsets import BaseViewSet
from rwa_service.exceptions import NotFound, PayloadTooLarge

READERS = ALL_ROLES
OPERATOR = frozenset({Role.OPERATOR})
COMPLIANCE = frozenset({Role.COMPLIANCE})

_PROBLEM = OpenApiResponse(description="Problem document (application/problem+json).")
_ERRORS = {400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM, 412: _PROBLEM}
_IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="ETag of the version.")


# What a list row is read with: the key, the revision, and every field a cursor may order by.
_LIST_ROW_FIELDS = ("id", "version", "current_valuation_ref", "created_at", "updated_at", "name", "reference")


def _with_etag(response: Response, asset: Asset) -> Response:
    revision = selectors.revision_of(version=asset.version, valuation_id=asset.current_valuation_ref)
    response["ETag"] = etag_for(pk=asset.pk, version=revision)
    return response


@extend_schema_view(
    list=extend_schema(summary="List assets", responses={200: AssetSerializer(many=True), **_ERRORS}),
    retrieve=extend_schema(summary="Read an asset", responses={200: AssetSerializer, 304: None, **_ERRORS}),
)
class AssetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Assets and their lifecycle. Investors see only tokenized assets (and later those they hold)."""

    serializer_class = AssetSerializer
    filterset_class = AssetFilter
    search_fields = ["name", "reference", "issuer_name", "description"]
    ordering_fields = ["created_at", "updated_at", "name", "reference"]
    ordering = ["-created_at"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    role_rules = {
        "list": READERS,
        "retrieve": READERS,
        "create": OPERATOR,
        "partial_update": OPERATOR,
        "destroy": OPERATOR,
        "submit": OPERATOR,
        "approve": COMPLIANCE,
        "reject": COMPLIANCE,
        "suspend": COMPLIANCE,
        "reinstate": COMPLIANCE,
        "retire": COMPLIANCE,
        "documents": READERS,
        "add_document": OPERATOR,
        "document": READERS,
        "remove_document": OPERATOR,
        "download_document": READERS,
        "history": AUDIT_READERS,
    }

    def scoped_queryset(self, *, user):
        return selectors.asset_list(user=user)

    def list(self, request: Request) -> Response:
        """The page's rows are read bare (the fields the cursor and the revision need); their representations come
        from the per-revision cache, the missing ones read and serialized together (assets.detail_cache)."""
        rows = self.filter_queryset(selectors.asset_scope(user=request.user)).only(*_LIST_ROW_FIELDS)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(asset_representations(assets=page))

    def retrieve(self, request: Request, pk: str) -> Response:
        revision = selectors.asset_revision(user=request.user, asset_id=pk)
        if revision is not None and request.headers.get("If-None-Match") == (tag := etag_for(pk=pk, version=revision)):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
        found = None if revision is None else asset_representation(asset_id=pk, revision=revision)
        if found is None:
            raise NotFound("No asset with this id.")
        revision, representation = found
        return PrerenderedJSONResponse(
            representation.data, rendered_json=representation.json,
            headers={"ETag": etag_for(pk=representation.data["id"], version=revision)},
        )  # fmt: skip

    @extend_schema(summary="Register a draft asset", request=AssetWriteSerializer, responses={201: AssetSerializer})
    def create(self, request: Request) -> Response:
        payload = AssetWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        asset = services.asset_create(actor=request.user, **payload.validated_data)
        response = Response(AssetSerializer(asset).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{asset.pk}/"
        return _with_etag(response, asset)

    @extend_schema(
        summary="Edit a draft asset",
        request=AssetWriteSerializer(partial=True),
        responses={200: AssetSerializer, **_ERRORS},
        parameters=[_IF_MATCH],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        asset = self.get_object()
        payload = AssetWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key in request.data}
        asset = services.asset_update(
            actor=request.user,
            asset_id=asset.pk,
            changes=changes,
            expected_version=expected_version(request, pk=asset.pk),
        )
        return _with_etag(Response(AssetSerializer(asset).data), asset)

    @extend_schema(summary="Delete a draft asset", responses={204: None, **_ERRORS}, parameters=[_IF_MATCH])
    def destroy(self, request: Request, pk: str) -> Response:
        asset = self.get_object()
        services.asset_delete(
            actor=request.user, asset_id=asset.pk, expected_version=expected_version(request, pk=asset.pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, request: Request, transition: str) -> Response:
        asset = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        asset = services.asset_transition(
            actor=request.user,
            asset_id=asset.pk,
            transition=transition,
            reason=payload.validated_data["reason"],
            expected_version=expected_version(request, pk=asset.pk),
        )
        return _with_etag(Response(AssetSerializer(asset).data), asset)

    _transition_schema = extend_schema(
        request=ReasonSerializer, responses={200: AssetSerializer, **_ERRORS}, parameters=[_IF_MATCH]
    )

    @_transition_schema
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """draft → under_review."""
        return self._transition(request, "submit")

    @_transition_schema
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """under_review → approved (compliance; not the submitter)."""
        return self._transition(request, "approve")

    @_transition_schema
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """under_review → draft, with a reason (compliance; not the submitter)."""
        return self._transition(request, "reject")

    @_transition_schema
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str) -> Response:
        """approved/tokenized → suspended, with a reason."""
        return self._transition(request, "suspend")

    @_transition_schema
    @action(detail=True, methods=["post"])
    def reinstate(self, request: Request, pk: str) -> Response:
        """suspended → the state it was suspended from."""
        return self._transition(request, "reinstate")

    @_transition_schema
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        """any → retired, with a reason."""
        return self._transition(request, "retire")

    @extend_schema(
        summary="List an asset's documents (newest first, cursor pages)",
        responses={200: DocumentSerializer(many=True), **_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=CursorPage)
    def documents(self, request: Request, pk: str) -> Response:
        """The asset's documents, newest first; removed ones are not listed."""
        asset = self.get_object()
        page = self.paginate_queryset(selectors.asset_documents(asset=asset))
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        summary="Attach a document (multipart upload, or a JSON reference with its sha256)",
        request={"multipart/form-data": DocumentCreateSerializer, "application/json": DocumentCreateSerializer},
        responses={201: DocumentSerializer, 413: _PROBLEM, 415: _PROBLEM, **_ERRORS},
    )
    @documents.mapping.post
    def add_document(self, request: Request, pk: str) -> Response:
        limit = settings.DOCUMENT_MAX_BYTES + 64 * 1024  # room for the multipart envelope
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            raise PayloadTooLarge(
                f"Documents may be at most {settings.DOCUMENT_MAX_BYTES} bytes.", code="file_too_large"
            )
        asset = self.get_object()
        payload = DocumentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        document = services.document_add(
            actor=request.user,
            asset_id=asset.pk,
            name=data["name"],
            kind=data["kind"],
            upload=data.get("file"),
            uri=data["uri"],
            sha256=data["sha256"],
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    def _document_or_404(self, asset: Asset, document_id: str):
        document = (
            selectors.asset_documents(asset=asset).filter(pk=document_id).first() if _is_uuid(document_id) else None
        )
        if document is None:
            raise NotFound("No such document.")
        return document

    @extend_schema(summary="Read one document", responses={200: DocumentSerializer, **_ERRORS})
    @action(detail=True, methods=["get"], url_path=r"documents/(?P<document_id>[0-9a-fA-F-]{36})")
    def document(self, request: Request, pk: str, document_id: str) -> Response:
        document = self._document_or_404(self.get_object(), document_id)
        return Response(DocumentSerializer(document).data)

    @extend_schema(summary="Remove a document (recorded, not erased)", request=ReasonSerializer, responses={204: None})
    @document.mapping.delete
    def remove_document(self, request: Request, pk: str, document_id: str) -> Response:
        asset = self.get_object()
        document = self._document_or_404(asset, document_id)
        payload = ReasonSerializer(data=request.data if request.data else {})
        payload.is_valid(raise_exception=True)
        services.document_remove(
            actor=request.user, asset_id=asset.pk, document_id=document.pk, reason=payload.validated_data["reason"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Download a stored document's file",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with the content type it was stored with."
            ),
            **_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"documents/(?P<document_id>[0-9a-fA-F-]{36})/download",
        url_name="document-download",
    )
    def download_document(self, request: Request, pk: str, document_id: str) -> FileResponse:
        """The stored bytes, as an attachment. References (no stored file) and removed documents are 404."""
        document = self._document_or_404(self.get_object(), document_id)
        if not document.file:
            raise NotFound("This document is a reference; no file is stored here.")
        try:
            handle = document.file.open("rb")
        except FileNotFoundError as exc:
            raise NotFound("The document's file is missing from storage.") from exc
        content_type = document.content_type or "application/octet-stream"
        extension = mimetypes.guess_extension(content_type) or ""
        filename = document.name if document.name.lower().endswith(extension) else document.name + extension
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(
        summary="The asset's audit events (oldest first, cursor pages), or its state rebuilt as of a past point",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.STR,
                description="an audit `seq` or an ISO 8601 time: answer the asset's state "
                "rebuilt from its events as of then (`{as_of_seq, as_of_time, state}`) instead of the events",
            )
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="AssetHistoryOrState",
                serializers=[AuditEventPageSerializer, AssetStateAsOfSerializer],
                resource_type_field_name=None,
                many=False,
            ),
            **_ERRORS,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=SeqCursorPage)
    def history(self, request: Request, pk: str) -> Response:
        """The audit events recorded against this asset, oldest first (by `seq`); with `?as_of=` the asset's state
        rebuilt from them as of that `seq` or time (null before it existed)."""
        asset = self.get_object()
        if "as_of" in request.query_params:
            as_of_seq, as_of_time = parse_as_of(request.query_params["as_of"], sequence="an audit seq")
            state = selectors.asset_state_as_of(asset_id=asset.pk, as_of_seq=as_of_seq, as_of_time=as_of_time)
            payload = {"as_of_seq": as_of_seq, "as_of_time": as_of_time, "state": state}
            return Response(AssetStateAsOfSerializer(payload).data)
        page = self.paginate_queryset(selectors.asset_history(asset=asset))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class AssetTypeViewSet(BaseViewSet):
    """The asset types and the JSON Schema of each type's metadata, for building forms."""

    role_rules = {"list": READERS}
    serializer_class = AssetTypeSerializer
    pagination_class = None
    filter_backends = []

    def scoped_queryset(self, *, user):
        return Asset.objects.none()

    @extend_schema(summary="List asset types with their metadata schemas", responses=AssetTypeSerializer(many=True))
    def list(self, request: Request) -> Response:
        rows = [
            {"type": value, "label": label, "metadata_schema": METADATA_SCHEMAS[value]}
            for value, label in AssetType.choices
        ]
        return Response(AssetTypeSerializer(rows, many=True).data)
