"""Bearer-token authentication with short-lived caches of the verified token and of the user with their roles.

Every API request needs the user (active?) and their roles: two queries. Here they come from the shared cache (Redis
in production) for at most USER_CACHE_SECONDS, in front of which each process keeps its own copy for at most
USER_LOCAL_CACHE_SECONDS (default 2 s; 0 turns it off). Any change to a user or their groups evicts both at once in
the process that makes it and the shared entry for everyone (signals below, again on commit), so a deactivated user
or a revoked role is refused on their next request, or within USER_LOCAL_CACHE_SECONDS on another process.
"""

import copy
import threading
from typing import Any

from cachetools import TTLCache
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import TokenError
from rest_framework_simplejwt.utils import aware_utcnow

from rwa_service.accounts.roles import user_roles

User = get_user_model()


def _key(user_id: Any) -> str:
    return f"auth:user:{user_id}"


_verified_lock = threading.Lock()
_verified: TTLCache | None = None


def _verified_tokens() -> TTLCache:
    global _verified
    if _verified is None:
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        _verified = TTLCache(maxsize=settings.JWT_VERIFIED_CACHE_SIZE, ttl=lifetime)
    return _verified


class CachedJWTAuthentication(JWTAuthentication):
    """SimpleJWT's authentication, reading the user (with roles resolved) through the cache.

    A token's signature is checked once per process: the verified token is kept (bounded, JWT_VERIFIED_CACHE_SIZE)
    under its exact encoded form, and each later use only re-checks its expiry. An access token cannot be revoked
    before it expires (SimpleJWT's design), so nothing else can change its verdict.
    """

    def get_validated_token(self, raw_token: bytes) -> Any:
        cache_ = _verified_tokens()
        with _verified_lock:
            token = cache_.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                with _verified_lock:
                    cache_.pop(raw_token, None)
            else:
                return token
        token = super().get_validated_token(raw_token)  # raises for a bad, expired or wrong-type token
        with _verified_lock:
            cache_[raw_token] = token
        return token

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        local = _local_users()
        with _local_lock:
            user = local.get(str(user_id)) if local is not None else None
        if user is None:
            user = cache.get(_key(user_id))
            if user is None:
                user = User.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
                if user is None:
                    raise AuthenticationFailed("User not found", code="user_not_found")
                user_roles(user)  # resolved once, cached with the user
                cache.set(_key(user_id), user, timeout=settings.USER_CACHE_SECONDS)
            if local is not None:
                with _local_lock:
                    local[str(user_id)] = user
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return _own_copy(user)  # each request its own instance: nothing a request sets on it leaks to another


def _own_copy(user: Any) -> Any:
    """A shallow copy of the cached user with its own model state: what copy.copy gives, without pickling's
    detour (__reduce_ex__ → __getstate__ → __setstate__), which cost more than the rest of the look-up."""
    clone = User.__new__(User)
    clone.__dict__.update(user.__dict__)
    clone._state = copy.copy(user._state)
    return clone


_local_lock = threading.Lock()
_local: TTLCache | None = None


def _local_users() -> TTLCache | None:
    global _local
    if _local is None and settings.USER_LOCAL_CACHE_SECONDS > 0:
        _local = TTLCache(maxsize=settings.USER_LOCAL_CACHE_SIZE, ttl=settings.USER_LOCAL_CACHE_SECONDS)
    return _local


def user_cache_evict(user_id: Any) -> None:
    """Forget the cached user: here at once, and again when the changing transaction commits (so that a request
    reading the old row before the commit cannot put it back). Other processes' own copies live at most
    USER_LOCAL_CACHE_SECONDS."""
    _evict(user_id)
    transaction.on_commit(lambda: _evict(user_id))


def _evict(user_id: Any) -> None:
    local = _local_users()
    if local is not None:
        with _local_lock:
            local.pop(str(user_id), None)
    cache.delete(_key(user_id))


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _evict_on_user_change(sender: type, instance: Any, **kwargs: Any) -> None:
    user_cache_evict(instance.pk)


@receiver(m2m_changed, sender=User.groups.through)
def _evict_on_groups_change(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if not action.startswith("post_"):
        return
    if reverse:  # group.user_set changed: every user named
        for user_id in pk_set or User.objects.filter(groups=instance).values_list("pk", flat=True):
            user_cache_evict(user_id)
    else:
        user_cache_evict(instance.pk)


class CachedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of the cached authentication: the same bearer JWT as SimpleJWT's."""

    target_class = "rwa_service.accounts.authentication.CachedJWTAuthentication"
