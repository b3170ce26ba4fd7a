"""Asset reads, scoped to what the reading user may see."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from assets.models import Asset, AssetStatus, Document
from audit.models import AuditEvent
from audit.selectors import audit_events_for_object
from rwa_service.accounts.roles import STAFF_READERS, Role, user_has_role


def asset_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Asset]:
    """Staff roles read every asset; an investor reads tokenized assets (and, once tokens exist, those they hold)."""
    assets = Asset.objects.select_related("created_by", "submitted_by", "reviewed_by")
    if user_has_role(user, *STAFF_READERS):
        return assets
    if user_has_role(user, Role.INVESTOR):
        return assets.filter(status=AssetStatus.TOKENIZED)
    return assets.none()


def asset_documents(*, asset: Asset, include_removed: bool = False) -> QuerySet[Document]:
    """An asset's documents, newest first; removed ones only on request."""
    documents = asset.documents.select_related("uploaded_by")
    return documents if include_removed else documents.filter(removed_at__isnull=True)


def asset_history(*, asset: Asset) -> QuerySet[AuditEvent]:
    """The audit events recorded against an asset, oldest first."""
    return audit_events_for_object(object_type="asset", object_id=asset.pk)
