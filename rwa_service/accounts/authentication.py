"""Bearer-token authentication with a short-lived cache of the user and their roles.

Every API request needs the user (active?) and their roles: two queries. Here they come from the cache (Redis in
production) for at most USER_CACHE_SECONDS, and any change to a user or their groups evicts the entry at once
(signals below), so a deactivated user or a revoked role takes effect on the next request.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from rwa_service.accounts.roles import user_roles

User = get_user_model()


def _key(user_id: Any) -> str:
    return f"auth:user:{user_id}"


class CachedJWTAuthentication(JWTAuthentication):
    """SimpleJWT's authentication, reading the user (with roles resolved) through the cache."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = cache.get(_key(user_id))
        if user is None:
            user = User.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
            if user is None:
                raise AuthenticationFailed("User not found", code="user_not_found")
            user_roles(user)  # resolved once, cached with the user
            cache.set(_key(user_id), user, timeout=settings.USER_CACHE_SECONDS)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user


def user_cache_evict(user_id: Any) -> None:
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
