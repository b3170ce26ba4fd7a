"""The v1 API's routes, one router for every app."""

from rest_framework.routers import DefaultRouter

from assets.views import AssetTypeViewSet, AssetViewSet
from audit.views import AuditEventViewSet, AuditVerifyViewSet, EventFeedViewSet
from audit.webhook_views import WebhookDeliveryViewSet, WebhookSubscriptionViewSet
from rwa_service.accounts.views import MeViewSet
from tokenization.views import (
    AssetTokenizeViewSet,
    InvestorViewSet,
    OperationViewSet,
    TokenClassViewSet,
    WalletViewSet,
)
from valuation.run_views import RevaluationRunViewSet
from valuation.views import (
    AssetValuationViewSet,
    PriceSeriesViewSet,
    TokenNavViewSet,
    ValuationViewSet,
)

router = DefaultRouter()
router.register("asset-types", AssetTypeViewSet, basename="asset-type")
router.register("assets", AssetViewSet, basename="asset")
router.register("assets", AssetTokenizeViewSet, basename="asset-tokenize")
router.register("assets", AssetValuationViewSet, basename="asset-valuation")
router.register("tokens", TokenClassViewSet, basename="token")
router.register("tokens", TokenNavViewSet, basename="token-nav")
router.register("investors", InvestorViewSet, basename="investor")
router.register("wallets", WalletViewSet, basename="wallet")
router.register("operations", OperationViewSet, basename="operation")
router.register("valuations", ValuationViewSet, basename="valuation")
router.register("price-series", PriceSeriesViewSet, basename="price-series")
router.register("auth/me", MeViewSet, basename="me")
router.register("revaluation-runs", RevaluationRunViewSet, basename="revaluation-run")
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("audit/verify", AuditVerifyViewSet, basename="audit-verify")
router.register("events", EventFeedViewSet, basename="event-feed")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
