"""The v1 API's routes, one router for every app."""

from rest_framework.routers import DefaultRouter

from assets.views import AssetTypeViewSet, AssetViewSet
from rwa_service.accounts.views import MeViewSet
from tokenization.views import (
    AssetTokenizeViewSet,
    InvestorViewSet,
    OperationViewSet,
    TokenClassViewSet,
    WalletViewSet,
)

router = DefaultRouter()
router.register("asset-types", AssetTypeViewSet, basename="asset-type")
router.register("assets", AssetViewSet, basename="asset")
router.register("assets", AssetTokenizeViewSet, basename="asset-tokenize")
router.register("tokens", TokenClassViewSet, basename="token")
router.register("investors", InvestorViewSet, basename="investor")
router.register("wallets", WalletViewSet, basename="wallet")
router.register("operations", OperationViewSet, basename="operation")
router.register("auth/me", MeViewSet, basename="me")
