"""`auth/me/` and the rate-limited token endpoints."""

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView

from rwa_service.accounts.roles import user_roles
from rwa_service.accounts.serializers import MeSerializer
from rwa_service.api.permissions import SIGNED_IN
from rwa_service.api.viewsets import BaseViewSet
from tokenization.selectors import investor_id_of


class MeViewSet(BaseViewSet):
    """Who the caller is: user, roles and linked investor."""

    role_rules = {"list": SIGNED_IN}
    serializer_class = MeSerializer
    pagination_class = None
    filter_backends = []

    def scoped_queryset(self, *, user):
        return User.objects.filter(pk=user.pk)

    @extend_schema(summary="The signed-in user, their roles and linked investor", responses=MeSerializer)
    def list(self, request: Request) -> Response:
        user = request.user
        body = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "roles": sorted(str(role) for role in user_roles(user)),
            "investor": investor_id_of(user=user),
        }
        return Response(MeSerializer(body).data)


@extend_schema_view(
    post=extend_schema(
        summary="Log out: blacklist a refresh token",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="An empty object: the token is blacklisted."),
            401: OpenApiResponse(description="Problem document."),
        },
    )
)
class LogoutView(TokenBlacklistView):
    """SimpleJWT's blacklist view, with its answer typed in the OpenAPI document."""


@method_decorator(
    ratelimit(key="ip", rate=lambda group, request: settings.LOGIN_RATE_LIMIT, method="POST", block=True),
    name="post",
)
class RateLimitedTokenObtainView(TokenObtainPairView):
    """SimpleJWT's obtain view, limited per client address against password guessing."""
