"""The audited form of an asset and a document: what `before` and `after` hold in their events."""

from typing import Any

from assets.models import Asset, Document


def asset_snapshot(asset: Asset) -> dict[str, Any]:
    """The asset's contract fields, as an auditor reads them."""
    return {
        "id": str(asset.pk),
        "reference": asset.reference,
        "name": asset.name,
        "asset_type": asset.asset_type,
        "status": asset.status,
        "jurisdiction": asset.jurisdiction,
        "currency": asset.currency,
        "description": asset.description,
        "metadata": asset.metadata,
        "issuer_name": asset.issuer_name,
        "status_reason": asset.status_reason,
        "version": asset.version,
    }


def document_snapshot(document: Document) -> dict[str, Any]:
    """A document's record, without its bytes."""
    return {
        "id": str(document.pk),
        "asset": str(document.asset_id),
        "name": document.name,
        "kind": document.kind,
        "uri": document.uri,
        "sha256": document.sha256,
        "size": document.size,
        "content_type": document.content_type,
        "removed_at": document.removed_at,
        "removal_reason": document.removal_reason,
    }
