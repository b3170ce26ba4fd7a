"""The v1 API's routes, one router for every app."""

from rest_framework.routers import DefaultRouter

from assets.views import AssetTypeViewSet, AssetViewSet
from rwa_service.accounts.views import MeViewSet

router = DefaultRouter()
router.register("asset-types", AssetTypeViewSet, basename="asset-type")
router.register("assets", AssetViewSet, basename="asset")
router.register("auth/me", MeViewSet, basename="me")
