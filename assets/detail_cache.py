"""A per-process cache of asset representations, keyed by the asset's id and revision (its `version`, and the id of
its current valuation: assets.selectors.asset_revision).

Reading one asset is the API's hottest path. The representation at a revision never changes (every service that
changes an asset bumps `version`; a new current valuation changes the revision), so each worker keeps the serialized
form of the revisions it has served and, per request, only checks the current revision with one indexed read: a
stale entry cannot be served, and no invalidation crosses processes. Entries also expire after
ASSET_DETAIL_CACHE_SECONDS, so that what a representation shows from other rows (usernames) is at most that old.
Bounded by ASSET_DETAIL_CACHE_SIZE entries per process; 0 switches it off. Each entry also keeps its JSON, rendered
the first time a JSON client asks (rwa_service.api.responses.PrerenderedJSONResponse).
"""

import threading
from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache
from django.conf import settings

from assets.models import Asset
from assets.selectors import revision_of, with_usernames
from assets.serializers import AssetSerializer
from rwa_service.api.responses import json_bytes


class Representation:
    """An asset's representation at one revision, and its JSON once rendered."""

    __slots__ = ("data", "_json")

    def __init__(self, data: dict) -> None:
        self.data = data
        self._json: bytes | None = None

    def json(self) -> bytes:
        if self._json is None:  # a race renders it twice, identically: no lock needed
            self._json = json_bytes(self.data)
        return self._json


_lock = threading.Lock()  # cachetools' caches are not thread-safe; gthread workers share this one
_cache: TTLCache | None = None


def _entries() -> TTLCache | None:
    global _cache
    if _cache is None and settings.ASSET_DETAIL_CACHE_SIZE > 0:
        _cache = TTLCache(maxsize=settings.ASSET_DETAIL_CACHE_SIZE, ttl=settings.ASSET_DETAIL_CACHE_SECONDS)
    return _cache


def asset_representation(*, asset_id: Any, revision: str) -> tuple[str, Representation] | None:
    """(revision, representation) of the asset at `revision` (assets.selectors.asset_revision) or, if it changed
    since, at its newer current one; None if it is gone. The caller has checked that the reader may see the asset."""
    cache = _entries()
    key = (str(asset_id), revision)
    if cache is not None:
        with _lock:
            data = cache.get(key)
        if data is not None:
            return revision, data
    asset = with_usernames(Asset.objects.filter(pk=asset_id)).first()
    if asset is None:
        return None
    # a plain dict: ReturnDict would keep the serializer and its fields alive
    data = Representation(dict(AssetSerializer(asset).data))
    fetched = revision_of(version=asset.version, valuation_id=asset.current_valuation_ref)
    if cache is not None:
        with _lock:
            cache[(str(asset.pk), fetched)] = data
    return fetched, data


def asset_representations(*, assets: Sequence[Asset]) -> list[dict]:
    """The representations of a page of assets, in order. Each row needs only `pk`, `version` and
    `current_valuation_ref` (the list reads no more): cached revisions are reused, the rest are read in one query,
    serialized and cached. An asset changed since its row was read is shown as it is now."""
    cache = _entries()
    found: dict[str, dict] = {}
    if cache is not None:
        with _lock:
            for asset in assets:
                revision = revision_of(version=asset.version, valuation_id=asset.current_valuation_ref)
                entry = cache.get((str(asset.pk), revision))
                if entry is not None:
                    found[str(asset.pk)] = entry.data
    missing = [asset.pk for asset in assets if str(asset.pk) not in found]
    if missing:
        for asset in with_usernames(Asset.objects.filter(pk__in=missing)):
            entry = Representation(dict(AssetSerializer(asset).data))
            found[str(asset.pk)] = entry.data
            if cache is not None:
                fetched = revision_of(version=asset.version, valuation_id=asset.current_valuation_ref)
                with _lock:
                    cache[(str(asset.pk), fetched)] = entry
    return [found[str(asset.pk)] for asset in assets if str(asset.pk) in found]


def asset_representations_clear() -> None:
    """Forget every cached representation (tests, or after editing rows behind the services' back)."""
    cache = _entries()
    if cache is not None:
        with _lock:
            cache.clear()
