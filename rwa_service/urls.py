"""Top-level URLs: the v1 API, auth, admin, health, metrics and the OpenAPI document."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from rwa_service import health
from rwa_service.accounts.tokens import RotatingTokenRefreshView
from rwa_service.accounts.views import LogoutView, RateLimitedTokenObtainView
from rwa_service.api.router import router

api_v1 = [
    path("auth/token/", RateLimitedTokenObtainView.as_view(), name="token_obtain_pair"),
    path("auth/token/refresh/", RotatingTokenRefreshView.as_view(), name="token_refresh"),
    path("auth/token/blacklist/", LogoutView.as_view(), name="token_blacklist"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),
]

handler400 = "rwa_service.api.errors.bad_request_view"
handler403 = "rwa_service.api.errors.permission_denied_view"
handler404 = "rwa_service.api.errors.not_found_view"
handler500 = "rwa_service.api.errors.server_error_view"
