"""Asset writes. Each service is the one path for the API, the admin, commands and tasks: it checks the actor's
role, locks the rows it changes, records exactly one audit event, and runs in one transaction."""

import codecs
import hashlib
import re
from typing import Any
from uuid import UUID

import pycountry
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assets.asset_types import REFERENCE_PREFIXES, AssetType, metadata_errors
from assets.lifecycle import DOCUMENT_STATES, EDITABLE_STATES, TRANSITIONS
from assets.models import Asset, AssetReferenceCounter, AssetStatus, Document, DocumentKind
from assets.snapshots import asset_snapshot, document_snapshot
from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import (
    Conflict,
    IllegalTransition,
    PayloadTooLarge,
    PermissionRefused,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)

EDITABLE_FIELDS = ("name", "asset_type", "jurisdiction", "currency", "description", "metadata", "issuer_name")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REFERENCE_SCHEMES = ("https://", "s3://", "ipfs://")
# Leading bytes each allowed binary type must start with; text types are checked for valid UTF-8 instead.
_MAGIC = {"application/pdf": (b"%PDF-",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",)}


def _require_role(actor: AbstractBaseUser, role: Role) -> None:
    if not user_has_role(actor, role):
        raise PermissionRefused(f"This action needs the {role} role.")


def asset_fields_errors(*, values: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with a set of asset fields, metadata schema included, by field; empty when valid.
    The admin form shows these beside their fields; the services raise them."""
    try:
        cleaned = _validate_fields(values=values)
    except ValidationFailed as exc:
        return exc.errors or {}
    if "asset_type" in cleaned and "metadata" in cleaned:
        return metadata_errors(asset_type=cleaned["asset_type"], metadata=cleaned["metadata"])
    return {}


def _validate_fields(*, values: dict[str, Any]) -> dict[str, Any]:
    """Normalises codes and checks what the database cannot: names, types, countries, currencies."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)
    if "name" in cleaned and not str(cleaned["name"]).strip():
        errors["name"] = ["This field may not be blank."]
    if "asset_type" in cleaned and cleaned["asset_type"] not in AssetType.values:
        errors["asset_type"] = [f"'{cleaned['asset_type']}' is not an asset type."]
    if "jurisdiction" in cleaned:
        code = str(cleaned["jurisdiction"]).upper()
        if pycountry.countries.get(alpha_2=code) is None or len(code) != 2:
            errors["jurisdiction"] = [f"'{cleaned['jurisdiction']}' is not an ISO 3166-1 alpha-2 country code."]
        cleaned["jurisdiction"] = code
    if "currency" in cleaned:
        code = str(cleaned["currency"]).upper()
        if pycountry.currencies.get(alpha_3=code) is None or len(code) != 3:
            errors["currency"] = [f"'{cleaned['currency']}' is not an ISO 4217 currency code."]
        cleaned["currency"] = code
    if "metadata" in cleaned and not isinstance(cleaned["metadata"], dict):
        errors["metadata"] = ["Metadata must be a JSON object."]
    if errors:
        raise ValidationFailed("One or more fields are invalid.", errors=errors)
    return cleaned


def _validate_metadata(*, asset: Asset) -> None:
    errors = metadata_errors(asset_type=asset.asset_type, metadata=asset.metadata)
    if errors:
        raise ValidationFailed(f"Metadata does not match the {asset.asset_type} schema.", errors=errors)


def _next_reference(*, asset_type: str) -> str:
    prefix, year = REFERENCE_PREFIXES[asset_type], timezone.now().year
    AssetReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
    counter = AssetReferenceCounter.objects.select_for_update(no_key=True).get(prefix=prefix, year=year)
    counter.last += 1
    counter.save(update_fields=["last", "updated_at"])
    return f"{prefix}-{year}-{counter.last:06d}"


def _locked_asset(*, asset_id: UUID | str) -> Asset:
    return one_or_not_found(Asset.objects.select_for_update(no_key=True), "No such asset.", pk=asset_id)


def _check_version(*, asset: Asset, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != asset.version:
        raise PreconditionFailed(
            f"The asset is at version {asset.version}, not {expected_version}; re-read it and retry.",
            code="stale_version",
        )


@transaction.atomic
def asset_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    asset_type: str,
    jurisdiction: str,
    currency: str,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    issuer_name: str = "",
) -> Asset:
    """Registers a draft asset with a fresh reference."""
    _require_role(actor, Role.OPERATOR)
    values = _validate_fields(
        values={
            "name": name,
            "asset_type": asset_type,
            "jurisdiction": jurisdiction,
            "currency": currency,
            "description": description,
            "metadata": metadata if metadata is not None else {},
            "issuer_name": issuer_name,
        }
    )
    asset = Asset(created_by=actor, status=AssetStatus.DRAFT, **values)
    _validate_metadata(asset=asset)
    asset.reference = _next_reference(asset_type=asset.asset_type)
    asset.save(force_insert=True)
    audit_event_record(
        actor=Actor.of(actor),
        action="asset.created",
        object_type="asset",
        object_id=asset.pk,
        before=None,
        after=asset_snapshot(asset),
    )
    return asset


@transaction.atomic
def asset_update(
    *, actor: AbstractBaseUser, asset_id: UUID | str, changes: dict[str, Any], expected_version: int | None = None
) -> Asset:
    """Edits a draft. Only the editable fields may change; anything else is a validation error."""
    _require_role(actor, Role.OPERATOR)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed(
            "Some fields cannot be set.", errors={field: ["This field is read-only."] for field in unknown}
        )
    asset = _locked_asset(asset_id=asset_id)
    _check_version(asset=asset, expected_version=expected_version)
    if asset.status not in EDITABLE_STATES:
        raise IllegalTransition(f"Only draft assets can be edited; this one is {asset.status}.", code="not_editable")
    before = asset_snapshot(asset)
    changed = {
        field: value for field, value in _validate_fields(values=changes).items() if getattr(asset, field) != value
    }
    if not changed:  # nothing to change: same version, no event
        return asset
    for field, value in changed.items():
        setattr(asset, field, value)
    _validate_metadata(asset=asset)
    asset.version += 1
    asset.save()
    audit_event_record(
        actor=Actor.of(actor),
        action="asset.updated",
        object_type="asset",
        object_id=asset.pk,
        before=before,
        after=asset_snapshot(asset),
    )
    return asset


@transaction.atomic
def asset_delete(*, actor: AbstractBaseUser, asset_id: UUID | str, expected_version: int | None = None) -> None:
    """Deletes a draft (and its documents). Any other state is kept: retire it instead."""
    _require_role(actor, Role.OPERATOR)
    asset = _locked_asset(asset_id=asset_id)
    _check_version(asset=asset, expected_version=expected_version)
    if asset.status != AssetStatus.DRAFT:
        raise IllegalTransition(f"Only drafts can be deleted; this asset is {asset.status}.", code="not_deletable")
    before = asset_snapshot(asset)
    before["documents"] = [document_snapshot(doc) for doc in asset.documents.order_by("created_at", "id")]
    asset_pk = asset.pk
    asset.delete()
    audit_event_record(
        actor=Actor.of(actor),
        action="asset.deleted",
        object_type="asset",
        object_id=asset_pk,
        before=before,
        after=None,
    )


@transaction.atomic
def asset_transition(
    *,
    actor: AbstractBaseUser,
    asset_id: UUID | str,
    transition: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Asset:
    """Moves an asset along its lifecycle (submit, approve, reject, suspend, reinstate, retire)."""
    step = TRANSITIONS.get(transition)
    if step is None:
        raise ValidationFailed(f"Unknown transition '{transition}'.", errors={"transition": ["Unknown transition."]})
    _require_role(actor, step.role)
    reason = (reason or "").strip()
    if step.reason_required and not reason:
        raise ValidationFailed(f"A reason is required to {transition}.", errors={"reason": ["This field is required."]})
    asset = _locked_asset(asset_id=asset_id)
    _check_version(asset=asset, expected_version=expected_version)
    if asset.status not in step.sources:
        raise IllegalTransition(f"Cannot {transition} an asset that is {asset.status}.")
    if transition == "retire":
        _refuse_outstanding_supply(asset=asset)
    if step.maker_checker and asset.submitted_by_id == actor.pk:
        raise PermissionRefused(
            f"Maker-checker: the submitter cannot {transition} their own submission.", code="maker_checker"
        )
    before = asset_snapshot(asset)
    now = timezone.now()
    if transition == "submit":
        _validate_metadata(asset=asset)
        asset.submitted_by, asset.submitted_at = actor, now
    if step.maker_checker:
        asset.reviewed_by, asset.reviewed_at = actor, now
    if transition == "suspend":
        asset.suspended_from = asset.status
    asset.status = step.target or asset.suspended_from
    if transition == "reinstate":
        asset.suspended_from = ""
    asset.status_reason = reason
    asset.version += 1
    asset.save()
    audit_event_record(
        actor=Actor.of(actor),
        action=step.action,
        object_type="asset",
        object_id=asset.pk,
        before=before,
        after=asset_snapshot(asset),
        reason=reason,
    )
    return asset


def _refuse_outstanding_supply(*, asset: Asset) -> None:
    from tokenization.selectors import asset_outstanding_supply

    outstanding = asset_outstanding_supply(asset_id=asset.pk)
    if outstanding:
        raise Conflict(
            f"{outstanding} token units of this asset are outstanding; burn them before retiring it.",
            code="supply_outstanding",
        )


@transaction.atomic
def asset_mark_tokenized(*, actor: Actor, asset_id: UUID | str) -> Asset:
    """approved → tokenized when its first token class is issued (by the tokenize operation). Idempotent: an asset
    already tokenized stays as it is and records nothing."""
    asset = _locked_asset(asset_id=asset_id)
    if asset.status == AssetStatus.TOKENIZED:
        return asset
    if asset.status != AssetStatus.APPROVED:
        raise IllegalTransition(f"Cannot tokenize an asset that is {asset.status}.")
    before = asset_snapshot(asset)
    asset.status = AssetStatus.TOKENIZED
    asset.status_reason = ""
    asset.version += 1
    asset.save()
    audit_event_record(
        actor=actor,
        action="asset.tokenized",
        object_type="asset",
        object_id=asset.pk,
        before=before,
        after=asset_snapshot(asset),
    )
    return asset


def _check_upload(*, upload: UploadedFile, content_type: str) -> tuple[str, int]:
    """Streams the upload once: enforces size and type, and returns its SHA-256 and size."""
    if upload.size is not None and upload.size > settings.DOCUMENT_MAX_BYTES:
        raise PayloadTooLarge(f"Documents may be at most {settings.DOCUMENT_MAX_BYTES} bytes.", code="file_too_large")
    if content_type not in settings.DOCUMENT_ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(settings.DOCUMENT_ALLOWED_CONTENT_TYPES)
        raise UnsupportedMediaType(f"'{content_type}' is not accepted; allowed: {allowed}.", code="file_type")
    digest, size, head = hashlib.sha256(), 0, b""
    # Text must be UTF-8. Decoded incrementally: a character may be split across two chunks.
    utf8 = codecs.getincrementaldecoder("utf-8")() if content_type.startswith("text/") else None
    upload.seek(0)
    try:
        for chunk in upload.chunks():
            if len(head) < 16:
                head += chunk[:16]
            digest.update(chunk)
            size += len(chunk)
            if size > settings.DOCUMENT_MAX_BYTES:
                raise PayloadTooLarge(
                    f"Documents may be at most {settings.DOCUMENT_MAX_BYTES} bytes.", code="file_too_large"
                )
            if utf8 is not None:
                utf8.decode(chunk)
        if utf8 is not None:
            utf8.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType("Text documents must be UTF-8.", code="file_type_mismatch") from exc
    magic = _MAGIC.get(content_type)
    if magic is not None and not head.startswith(magic):
        raise UnsupportedMediaType(f"The file's content is not {content_type}.", code="file_type_mismatch")
    upload.seek(0)
    return digest.hexdigest(), size


def document_download_path(*, document: Document) -> str:
    """Where the API serves a stored document's file: its `uri`."""
    return reverse("asset-document-download", kwargs={"pk": document.asset_id, "document_id": document.pk})


def document_add(
    *,
    actor: AbstractBaseUser,
    asset_id: UUID | str,
    name: str,
    kind: str,
    upload: UploadedFile | None = None,
    uri: str = "",
    sha256: str = "",
) -> Document:
    """Attaches a document to a draft: an upload, hashed here, or a reference by `uri` (https://, s3://, ipfs://)
    with the `sha256` the caller computed. An upload's `uri` is its API download path, whatever the caller sent.

    The upload is read, hashed and checked before the transaction starts, so no lock is held while a large file
    streams; the file is stored under the asset's lock and deleted again if the transaction fails (unless another
    document row names the same content-addressed file).
    """
    _require_role(actor, Role.OPERATOR)
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = ["This field is required."]
    if kind not in DocumentKind.values:
        errors["kind"] = [f"'{kind}' is not one of {', '.join(DocumentKind.values)}."]
    if upload is None and not uri:
        errors["file"] = ["Upload a file, or give `uri` and `sha256`."]
    if upload is None and uri and not uri.lower().startswith(_REFERENCE_SCHEMES):
        errors["uri"] = [f"A referenced document's URI must start with {', '.join(_REFERENCE_SCHEMES)}."]
    if upload is None and uri and not _SHA256.match((sha256 or "").lower()):
        errors["sha256"] = ["A referenced document needs its SHA-256 as 64 hex digits."]
    if errors:
        raise ValidationFailed("The document is invalid.", errors=errors)
    document = Document(name=name.strip(), kind=kind, uploaded_by=actor)
    if upload is not None:
        document.content_type = (upload.content_type or "").split(";")[0].strip().lower()
        document.sha256, document.size = _check_upload(upload=upload, content_type=document.content_type)
    else:
        document.uri, document.sha256 = uri, sha256.lower()
    return _document_attach(actor=actor, asset_id=asset_id, document=document, upload=upload)


@transaction.atomic
def _document_attach(
    *, actor: AbstractBaseUser, asset_id: UUID | str, document: Document, upload: UploadedFile | None
) -> Document:
    asset = _locked_asset(asset_id=asset_id)
    _check_documents_open(asset=asset)
    document.asset = asset
    stored = ""  # the file this call wrote, if it wrote one
    if upload is not None:
        path = document.file.field.generate_filename(document, document.sha256)
        storage = document.file.storage
        if storage.exists(path):  # content-addressed: the same bytes are already stored for this asset
            document.file.name = path
        else:
            stored = document.file.name = storage.save(path, upload)
        document.uri = document_download_path(document=document)
    try:
        with transaction.atomic():  # a savepoint, so the orphan check below can still query after a failure
            document.save(force_insert=True)
            asset.version += 1
            asset.save(update_fields=["version", "updated_at"])
            audit_event_record(
                actor=Actor.of(actor),
                action="document.added",
                object_type="asset",
                object_id=asset.pk,
                before=None,
                after=document_snapshot(document),
            )
    except BaseException:
        # Still under the asset's lock, so nobody else can start using the file between this check and the delete.
        if stored and not Document.objects.filter(file=stored).exists():
            document.file.storage.delete(stored)
        raise
    return document


def _check_documents_open(*, asset: Asset) -> None:
    if asset.status not in DOCUMENT_STATES:
        raise IllegalTransition(
            f"Documents can be added or removed only while the asset is a draft; this one is {asset.status}.",
            code="documents_closed",
        )


@transaction.atomic
def document_remove(
    *, actor: AbstractBaseUser, asset_id: UUID | str, document_id: UUID | str, reason: str = ""
) -> None:
    """Marks a document removed (who, when, why); the row and its hash stay for the record."""
    _require_role(actor, Role.OPERATOR)
    asset = _locked_asset(asset_id=asset_id)
    document = one_or_not_found(
        asset.documents.select_for_update(no_key=True), "No such document.", pk=document_id, removed_at__isnull=True
    )
    _check_documents_open(asset=asset)
    before = document_snapshot(document)
    document.removed_at, document.removed_by, document.removal_reason = timezone.now(), actor, (reason or "").strip()
    document.save(update_fields=["removed_at", "removed_by", "removal_reason", "updated_at"])
    asset.version += 1
    asset.save(update_fields=["version", "updated_at"])
    audit_event_record(
        actor=Actor.of(actor),
        action="document.removed",
        object_type="asset",
        object_id=asset.pk,
        before=before,
        after=document_snapshot(document),
        reason=document.removal_reason,
    )
