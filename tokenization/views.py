"""Tokenization API: token classes, transfers and the cap table, investors and wallets, operations. Thin: each
write is one service call; POSTs that move value are idempotent."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assets.selectors import asset_list
from assets.serializers import ReasonSerializer
from rwa_service.accounts.roles import ALL_ROLES, STAFF_READERS, Role
from rwa_service.api.as_of import parse_as_of
from rwa_service.api.idempotency import idempotent_response
from rwa_service.api.pagination import CursorPage
from rwa_service.api.viewsets import BaseViewSet
from rwa_service.idempotency.services import AnswerSlot
from tokenization import selectors
from tokenization.filters import TokenClassFilter
from tokenization.serializers import (
    BurnSerializer,
    CapTableSerializer,
    DecisionSerializer,
    ForceTransferSerializer,
    FreezeSerializer,
    InvestorSerializer,
    InvestorWriteSerializer,
    LedgerEntrySerializer,
    MintSerializer,
    OperationSerializer,
    RecoverWalletSerializer,
    RulesSerializer,
    TokenClassSerializer,
    TokenizeSerializer,
    TransferSerializer,
    WalletCreateSerializer,
    WalletSerializer,
)
from tokenization.services import investors, ledger, operations, tokens

OPERATOR = frozenset({Role.OPERATOR})
COMPLIANCE = frozenset({Role.COMPLIANCE})
MOVERS = frozenset({Role.OPERATOR, Role.COMPLIANCE, Role.INVESTOR})
REGISTRY_READERS = frozenset({Role.COMPLIANCE, Role.AUDITOR, Role.INVESTOR})
_PROBLEM = OpenApiResponse(description="Problem document (application/problem+json).")
_ERRORS = {400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM}
_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description="At most 255 characters."
)
_BLOCKED = OpenApiResponse(
    DecisionSerializer, description="Blocked: a problem document carrying status_code, app_code and rules."
)


class EntryCursorPage(CursorPage):
    """Ledger entries, newest first."""

    ordering = "-id"


_ENTRY = LedgerEntrySerializer()  # fields bound once; to_representation keeps no state between calls


def _entry_answer(entry) -> tuple[int, dict]:
    return status.HTTP_201_CREATED, _ENTRY.to_representation(entry)


class AssetTokenizeViewSet(BaseViewSet):
    """`assets/{id}/tokenize/`: issue a token class over an approved asset (an operation, 202)."""

    role_rules = {"tokenize": OPERATOR}
    serializer_class = TokenizeSerializer

    def scoped_queryset(self, *, user):
        return asset_list(user=user)

    @extend_schema(
        summary="Tokenize an approved asset",
        request=TokenizeSerializer,
        parameters=[_KEY],
        responses={202: OperationSerializer, 422: _PROBLEM, **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def tokenize(self, request: Request, pk: str) -> Response:
        asset = self.get_object()
        payload = TokenizeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)

        def run():
            operation = tokens.token_class_tokenize(actor=request.user, asset_id=asset.pk, **payload.validated_data)
            return status.HTTP_202_ACCEPTED, OperationSerializer(operation).data

        return idempotent_response(request, run)


class TokenClassViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Token classes, their rules, cap table, transfers and supply actions."""

    serializer_class = TokenClassSerializer
    filterset_class = TokenClassFilter
    search_fields = ["symbol", "name"]
    ordering_fields = ["created_at", "symbol"]
    role_rules = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "rules": frozenset({Role.COMPLIANCE, Role.AUDITOR}),
        "set_rules": COMPLIANCE,
        "holders": ALL_ROLES,
        "transfer_check": MOVERS,
        "transfers": ALL_ROLES,
        "transfer": MOVERS,
        "mint": OPERATOR,
        "burn": OPERATOR,
        "force_transfer": COMPLIANCE,
        "pause": COMPLIANCE,
        "unpause": COMPLIANCE,
        "retire": frozenset({Role.OPERATOR, Role.COMPLIANCE}),
    }

    def scoped_queryset(self, *, user):
        return selectors.token_list(user=user)

    @extend_schema(summary="The token's transfer rules", responses={200: RulesSerializer, **_ERRORS})
    @action(detail=True, methods=["get"])
    def rules(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        return Response(RulesSerializer(token.rules).data)

    @extend_schema(summary="Replace the transfer rules", request=RulesSerializer, responses={200: RulesSerializer})
    @rules.mapping.put
    def set_rules(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        payload = RulesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rules = tokens.token_rules_set(actor=request.user, token_id=token.pk, rules=payload.validated_data)
        return Response(RulesSerializer(rules).data)

    @extend_schema(
        summary="Cap table, now or as of a past time or ledger sequence",
        parameters=[OpenApiParameter("as_of", OpenApiTypes.STR, description="ISO time or a ledger seq (integer).")],
        responses={200: CapTableSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def holders(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        as_of = request.query_params.get("as_of")
        seq, moment = parse_as_of(as_of, sequence="a ledger sequence")
        rows = selectors.cap_table(user=request.user, token=token, as_of_seq=seq, as_of_time=moment)
        supply = selectors.token_supply(token=token, as_of_seq=seq, as_of_time=moment)
        body = {"token": token.pk, "as_of": as_of, "total_supply": str(int(supply)), "holders": rows}
        for row in rows:
            row["balance"] = str(int(row["balance"]))
            row["frozen_amount"] = None if row["frozen_amount"] is None else str(int(row["frozen_amount"]))
        return Response(CapTableSerializer(body).data)

    @extend_schema(
        summary="Dry-run a transfer: every rule's verdict (200 whether allowed or not)",
        request=TransferSerializer,
        responses={200: DecisionSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="transfer-check")
    def transfer_check(self, request: Request, pk: str) -> Response:
        token_id = self.get_object_pk()
        payload = TransferSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        decision = ledger.transfer_check(caller=request.user, token_id=token_id, **payload.validated_data)
        return Response(decision.as_dict())

    @extend_schema(
        summary="The token's transfers (an investor sees their own)", responses=LedgerEntrySerializer(many=True)
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=EntryCursorPage)
    def transfers(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        entries = selectors.transfer_list(user=request.user, token=token)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(LedgerEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Transfer tokens (201 settled); blocked → 422 with every rule's verdict",
        request=TransferSerializer,
        parameters=[_KEY],
        responses={201: LedgerEntrySerializer, 422: _BLOCKED, **_ERRORS},
    )
    @transfers.mapping.post
    def transfer(self, request: Request, pk: str) -> Response:
        token_id = self.get_object_pk()
        payload = TransferSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # the ledger's database path claims the key in its first call and stores the answer with the transfer
        slot = AnswerSlot(render=_entry_answer, service_claims=ledger.token_transfer_claims_key())
        return idempotent_response(
            request,
            lambda: slot.answer(
                ledger.token_transfer(caller=request.user, token_id=token_id, answer=slot, **payload.validated_data)
            ),
            slot=slot,
        )

    @extend_schema(
        summary="Mint to a wallet", request=MintSerializer, parameters=[_KEY],
        responses={201: LedgerEntrySerializer, 422: _BLOCKED, **_ERRORS},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def mint(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        payload = MintSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return idempotent_response(
            request,
            lambda: _entry_answer(ledger.token_mint(caller=request.user, token_id=token.pk, **payload.validated_data)),
        )

    @extend_schema(
        summary="Burn from a wallet", request=BurnSerializer, parameters=[_KEY],
        responses={201: LedgerEntrySerializer, 422: _BLOCKED, **_ERRORS},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def burn(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        payload = BurnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return idempotent_response(
            request,
            lambda: _entry_answer(ledger.token_burn(caller=request.user, token_id=token.pk, **payload.validated_data)),
        )

    @extend_schema(
        summary="Forced transfer (compliance; reason required)", request=ForceTransferSerializer, parameters=[_KEY],
        responses={201: LedgerEntrySerializer, 422: _BLOCKED, **_ERRORS},
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="force-transfer")
    def force_transfer(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        payload = ForceTransferSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return idempotent_response(
            request,
            lambda: _entry_answer(
                ledger.token_force_transfer(caller=request.user, token_id=token.pk, **payload.validated_data)
            ),
        )

    def _set_paused(self, request: Request, paused: bool) -> Response:
        token = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token = tokens.token_set_paused(
            actor=request.user, token_id=token.pk, paused=paused, reason=payload.validated_data["reason"]
        )
        return Response(TokenClassSerializer(token).data)

    @extend_schema(summary="Pause every transfer", request=ReasonSerializer, responses={200: TokenClassSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self._set_paused(request, True)

    @extend_schema(summary="Resume transfers", request=ReasonSerializer, responses={200: TokenClassSerializer})
    @action(detail=True, methods=["post"])
    def unpause(self, request: Request, pk: str) -> Response:
        return self._set_paused(request, False)

    @extend_schema(
        summary="Retire a class with no supply", request=ReasonSerializer, responses={200: TokenClassSerializer}
    )
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token = tokens.token_retire(actor=request.user, token_id=token.pk, reason=payload.validated_data["reason"])
        return Response(TokenClassSerializer(token).data)


class InvestorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The investor registry. PII is shown to compliance and to the investor themself."""

    serializer_class = InvestorSerializer
    role_rules = {
        "list": REGISTRY_READERS,
        "retrieve": REGISTRY_READERS,
        "create": COMPLIANCE,
        "partial_update": COMPLIANCE,
        "wallets": REGISTRY_READERS,
        "add_wallet": COMPLIANCE,
        "recover_wallet": COMPLIANCE,
        "erase": COMPLIANCE,
    }
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self, *, user):
        return selectors.investor_list(user=user)

    @extend_schema(summary="Register an investor", request=InvestorWriteSerializer, responses={201: InvestorSerializer})
    def create(self, request: Request) -> Response:
        payload = InvestorWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        investor = investors.investor_create(actor=request.user, values=payload.validated_data)
        return Response(InvestorSerializer(investor, context={"request": request}).data, status=201)

    @extend_schema(
        summary="Edit an investor (KYC, accreditation: compliance)",
        request=InvestorWriteSerializer(partial=True),
        responses={200: InvestorSerializer, **_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        investor = self.get_object()
        payload = InvestorWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        values = {key: value for key, value in payload.validated_data.items() if key in request.data}
        investor = investors.investor_update(actor=request.user, investor_id=investor.pk, values=values)
        return Response(InvestorSerializer(investor, context={"request": request}).data)

    @extend_schema(summary="The investor's wallets", responses=WalletSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def wallets(self, request: Request, pk: str) -> Response:
        investor = self.get_object()
        return Response(WalletSerializer(investor.wallets.order_by("created_at"), many=True).data)

    @extend_schema(summary="Register a wallet", request=WalletCreateSerializer, responses={201: WalletSerializer})
    @wallets.mapping.post
    def add_wallet(self, request: Request, pk: str) -> Response:
        investor = self.get_object()
        payload = WalletCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        wallet = investors.wallet_create(actor=request.user, investor_id=investor.pk, **payload.validated_data)
        return Response(WalletSerializer(wallet).data, status=201)

    @extend_schema(
        summary="Move a lost wallet's holdings to a new wallet of the investor",
        request=RecoverWalletSerializer,
        parameters=[_KEY],
        responses={201: WalletSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="recover-wallet")
    def recover_wallet(self, request: Request, pk: str) -> Response:
        investor = self.get_object()
        payload = RecoverWalletSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data

        def run():
            from tokenization.services.common import wallet_by_ref

            lost = wallet_by_ref(data["lost_wallet"], field="lost_wallet")
            wallet = investors.wallet_recover(
                actor=request.user,
                investor_id=investor.pk,
                lost_wallet_id=lost.pk,
                new_address=data["new_address"],
                reason=data["reason"],
            )
            return status.HTTP_201_CREATED, WalletSerializer(wallet).data

        return idempotent_response(request, run)

    @extend_schema(
        summary="Erase the investor's PII (the ledger stays)", request=ReasonSerializer, responses=InvestorSerializer
    )
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: str) -> Response:
        investor = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        investor = investors.investor_erase(
            actor=request.user, investor_id=investor.pk, reason=payload.validated_data["reason"]
        )
        return Response(InvestorSerializer(investor, context={"request": request}).data)


class WalletViewSet(mixins.RetrieveModelMixin, BaseViewSet):
    """Wallets: read, freeze and unfreeze (whole, or part of one token's holding)."""

    serializer_class = WalletSerializer
    role_rules = {"retrieve": REGISTRY_READERS, "freeze": COMPLIANCE, "unfreeze": COMPLIANCE}

    def scoped_queryset(self, *, user):
        return selectors.wallet_list(user=user)

    def _set_frozen(self, request: Request, frozen: bool) -> Response:
        wallet = self.get_object()
        payload = FreezeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        wallet = investors.wallet_set_frozen(
            actor=request.user,
            wallet_id=wallet.pk,
            frozen=frozen,
            token_id=data.get("token"),
            amount=data.get("amount"),
            reason=data["reason"],
        )
        return Response(WalletSerializer(wallet).data)

    @extend_schema(
        summary="Freeze a wallet, or part of a holding", request=FreezeSerializer, responses=WalletSerializer
    )
    @action(detail=True, methods=["post"])
    def freeze(self, request: Request, pk: str) -> Response:
        return self._set_frozen(request, True)

    @extend_schema(summary="Unfreeze", request=FreezeSerializer, responses=WalletSerializer)
    @action(detail=True, methods=["post"])
    def unfreeze(self, request: Request, pk: str) -> Response:
        return self._set_frozen(request, False)


class OperationViewSet(mixins.RetrieveModelMixin, BaseViewSet):
    """Long-running work: read its state; retry it when it failed."""

    serializer_class = OperationSerializer
    role_rules = {"retrieve": STAFF_READERS, "retry": OPERATOR}

    def scoped_queryset(self, *, user):
        return selectors.operation_list(user=user)

    @extend_schema(summary="Retry a failed operation", request=None, responses={202: OperationSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        operation = self.get_object()
        operation = operations.operation_retry(actor=request.user, operation_id=operation.pk)
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
