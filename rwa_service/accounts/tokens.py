"""Refresh-token rotation that a race cannot fork: one refresh token buys exactly one new pair.

SimpleJWT's refresh view checks the blacklist, then blacklists, in separate statements, so N concurrent refreshes
of one token can all pass the check and all get a pair. Here the token's `OutstandingToken` row is locked first
(`SELECT … FOR UPDATE` by jti; on SQLite the IMMEDIATE transaction serialises writers), and the check, the
blacklisting and the new pair happen in that one transaction: the first refresh wins, the others find it
blacklisted and get 401.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch
from rest_framework_simplejwt.views import TokenRefreshView


class RotatingTokenRefreshSerializer(TokenRefreshSerializer):
    """`{"refresh"}` → `{"access", "refresh"}`; the given refresh token is blacklisted in the same transaction."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])  # signature, expiry and type; TokenError → 401 in the view
        with transaction.atomic():
            outstanding = (
                OutstandingToken.objects.select_for_update(no_key=True)
                .filter(jti=refresh[api_settings.JTI_CLAIM])
                .first()
            )
            if outstanding is None:
                raise InvalidToken("Token is unknown.")
            if BlacklistedToken.objects.filter(token=outstanding).exists():
                raise InvalidToken("Token is blacklisted.")
            user = self._active_user(refresh)
            BlacklistedToken.objects.create(token=outstanding)
            # The same claims with a new id and lifetime, as SimpleJWT rotates; recorded as outstanding.
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            OutstandingToken.objects.create(
                user=user,
                jti=refresh[api_settings.JTI_CLAIM],
                token=str(refresh),
                created_at=refresh.current_time,
                expires_at=datetime_from_epoch(refresh["exp"]),
            )
        return {"access": str(refresh.access_token), "refresh": str(refresh)}

    def _active_user(self, refresh: RefreshToken):
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first() if user_id else None
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        return user


@extend_schema(
    summary="Refresh: a new access token and a rotated refresh token (the old one is blacklisted)",
    responses={
        200: RotatingTokenRefreshSerializer,
        401: OpenApiResponse(description="Problem document: the refresh token is invalid, expired or already used."),
    },
)
class RotatingTokenRefreshView(TokenRefreshView):
    """SimpleJWT's refresh endpoint with race-free rotation."""

    serializer_class = RotatingTokenRefreshSerializer
