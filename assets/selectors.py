"""Asset reads, scoped to what the reading user may see."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from assets.models import Asset, AssetStatus, Document
from audit.models import AuditEvent
from audit.selectors import audit_events_for_object
from rwa_service.accounts.roles import STAFF_READERS, Role, user_has_role
from tokenization.models import Account


def asset_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Asset]:
    """Staff roles read every asset; an investor reads tokenized assets and those they hold (even suspended)."""
    assets = Asset.objects.annotate(  # the usernames shown, without joining three whole user rows
        created_by_name=F("created_by__username"),
        submitted_by_name=F("submitted_by__username"),
        reviewed_by_name=F("reviewed_by__username"),
    )
    if user_has_role(user, *STAFF_READERS):
        return assets
    if user_has_role(user, Role.INVESTOR):
        held = Exists(
            Account.objects.filter(token_class__asset=OuterRef("pk"), wallet__investor__user_id=user.pk, balance__gt=0)
        )
        return assets.filter(Q(status=AssetStatus.TOKENIZED) | Q(held))
    return assets.none()


def asset_documents(*, asset: Asset, include_removed: bool = False) -> QuerySet[Document]:
    """An asset's documents, newest first; removed ones only on request."""
    documents = asset.documents.select_related("uploaded_by")
    return documents if include_removed else documents.filter(removed_at__isnull=True)


def asset_history(*, asset: Asset) -> QuerySet[AuditEvent]:
    """The audit events recorded against an asset, oldest first."""
    return audit_events_for_object(object_type="asset", object_id=asset.pk)
