"""A per-process cache of asset representations, keyed by the asset's id and version.

Reading one asset is the API's hottest path. The representation of a version never changes (every service that
changes an asset bumps `version`), so each worker keeps the serialized form of the versions it has served and, per
request, only checks the current version with one indexed read (assets.selectors.asset_version): a stale entry
cannot be served, and no invalidation crosses processes. Entries also expire after ASSET_DETAIL_CACHE_SECONDS, so
that what a representation shows from other rows (usernames) is at most that old. Bounded by
ASSET_DETAIL_CACHE_SIZE entries per process; 0 switches it off.
"""

import threading
from typing import Any

from cachetools import TTLCache
from django.conf import settings

from assets.models import Asset
from assets.selectors import with_usernames
from assets.serializers import AssetSerializer

_lock = threading.Lock()  # cachetools' caches are not thread-safe; gthread workers share this one
_cache: TTLCache | None = None


def _entries() -> TTLCache | None:
    global _cache
    if _cache is None and settings.ASSET_DETAIL_CACHE_SIZE > 0:
        _cache = TTLCache(maxsize=settings.ASSET_DETAIL_CACHE_SIZE, ttl=settings.ASSET_DETAIL_CACHE_SECONDS)
    return _cache


def asset_representation(*, asset_id: Any, version: int) -> tuple[int, dict] | None:
    """(version, representation) of the asset at `version` or, if it changed since, at its newer current version;
    None if it is gone. The caller has checked that the reader may see the asset."""
    cache = _entries()
    key = (str(asset_id), version)
    if cache is not None:
        with _lock:
            data = cache.get(key)
        if data is not None:
            return version, data
    asset = with_usernames(Asset.objects.filter(pk=asset_id)).first()
    if asset is None:
        return None
    data = dict(AssetSerializer(asset).data)  # a plain dict: ReturnDict would keep the serializer and its fields alive
    if cache is not None:
        with _lock:
            cache[(str(asset.pk), asset.version)] = data
    return asset.version, data


def asset_representations_clear() -> None:
    """Forget every cached representation (tests, or after editing rows behind the services' back)."""
    cache = _entries()
    if cache is not None:
        with _lock:
            cache.clear()
