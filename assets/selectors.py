"""Asset reads, scoped to what the reading user may see."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from assets.models import Asset, AssetStatus, Document
from assets.snapshots import asset_snapshot, document_snapshot
from audit.canonical import to_json_value
from audit.models import AuditEvent
from audit.selectors import audit_events_for_object
from rwa_service.accounts.roles import STAFF_READERS, Role, user_has_role
from rwa_service.db.prepared import prepared_row
from tokenization.models import Account
from valuation.models import Valuation, ValuationStatus


def asset_scope(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Asset]:
    """The assets `user` may see, bare: staff roles read every asset; an investor reads tokenized assets and those
    they hold (even suspended); anyone else none."""
    if user_has_role(user, *STAFF_READERS):
        return Asset.objects.all()
    if user_has_role(user, Role.INVESTOR):
        held = Exists(
            Account.objects.filter(token_class__asset=OuterRef("pk"), wallet__investor__user_id=user.pk, balance__gt=0)
        )
        return Asset.objects.filter(Q(status=AssetStatus.TOKENIZED) | Q(held))
    return Asset.objects.none()


def asset_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Asset]:
    """The assets `user` may see (asset_scope), with the usernames shown, without joining three whole user rows."""
    return with_usernames(asset_scope(user=user))


def with_usernames(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """Annotates the usernames an asset's representation shows, and prefetches its current valuation (one query
    per page, not per asset)."""
    current = Prefetch(
        "valuations", queryset=Valuation.objects.filter(status=ValuationStatus.APPROVED), to_attr="current_valuations"
    )
    return assets.annotate(
        created_by_name=F("created_by__username"),
        submitted_by_name=F("submitted_by__username"),
        reviewed_by_name=F("reviewed_by__username"),
    ).prefetch_related(current)


def asset_revision(*, user: AbstractBaseUser | AnonymousUser, asset_id: object) -> str | None:
    """What identifies the current representation of an asset `user` may see: its `version`, and the id of its
    current valuation when it has one (a valuation changes the representation, not the asset row). None when there
    is no such asset or it is not theirs. One read: what a cached representation and the ETag are checked against.
    Staff read every asset, so theirs is a fixed statement, prepared on PostgreSQL (the hot path)."""
    try:
        asset_id = asset_id if isinstance(asset_id, UUID) else UUID(str(asset_id))
    except ValueError:  # not a UUID: no such asset
        return None
    if user_has_role(user, *STAFF_READERS):
        row = prepared_row(_REVISION_SQL, [Asset._meta.pk.get_db_prep_value(asset_id, connection)])
    else:
        row = asset_scope(user=user).filter(pk=asset_id).values_list("version", "current_valuation_ref").first()
    return None if row is None else revision_of(version=row[0], valuation_id=row[1])


def revision_of(*, version: int, valuation_id: object | None) -> str:
    """`<version>` or `<version>-<current valuation id, hex>`: see asset_revision."""
    if valuation_id is None:
        return str(version)
    return f"{version}-{UUID(str(valuation_id)).hex}"


_REVISION_SQL = f"SELECT version, current_valuation_ref FROM {Asset._meta.db_table} WHERE id = %s"  # names: the model


def asset_documents(*, asset: Asset, include_removed: bool = False) -> QuerySet[Document]:
    """An asset's documents, newest first; removed ones only on request."""
    documents = asset.documents.select_related("uploaded_by")
    return documents if include_removed else documents.filter(removed_at__isnull=True)


def asset_history(*, asset: Asset) -> QuerySet[AuditEvent]:
    """The audit events recorded against an asset, oldest first."""
    return audit_events_for_object(object_type="asset", object_id=asset.pk)


def asset_state_as_of(
    *, asset_id: object, as_of_seq: int | None = None, as_of_time: datetime | None = None
) -> dict[str, Any] | None:
    """The asset as it stood after the last audit event at or before `as_of_seq` (or `as_of_time`), rebuilt from
    its events alone: the contract fields of the latest `asset.*` event's `after`, `version` moved on by each later
    document event, and its documents (removed ones too) from the document events. None before it existed or
    after it was deleted. Compare with asset_state_live: equal for every asset whose trail is intact."""
    events = audit_events_for_object(object_type="asset", object_id=asset_id)
    if as_of_seq is not None:
        events = events.filter(seq__lte=as_of_seq)
    if as_of_time is not None:
        events = events.filter(occurred_at__lte=as_of_time)
    state: dict[str, Any] | None = None
    documents: dict[str, dict[str, Any]] = {}
    for action, after in events.values_list("action", "after"):
        if action.startswith("asset."):
            state = dict(after) if after else None
            if state is None:
                documents = {}
        elif action in ("document.added", "document.removed") and state is not None:
            documents[after["id"]] = after
            state["version"] += 1
    if state is not None:
        state["documents"] = sorted(documents.values(), key=lambda document: document["id"])
    return state


def asset_state_live(*, asset: Asset) -> dict[str, Any]:
    """The asset's live state in the form asset_state_as_of rebuilds (JSON values, documents by id)."""
    state = to_json_value(asset_snapshot(asset))
    documents = [to_json_value(document_snapshot(document)) for document in asset.documents.all()]
    state["documents"] = sorted(documents, key=lambda document: document["id"])
    return state
