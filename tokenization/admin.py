"""Tokenization admin: token classes with their cap table and rules, investors (PII masked), wallets, the ledger
(read-only) and operations. Every change goes through the services of `tokenization/services/` with the signed-in
user as the actor, so the role checks and the audit trail are the API's; nothing here saves a model itself."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join

from rwa_service.accounts.admin_roles import RoleAdminMixin
from rwa_service.accounts.roles import STAFF_READERS, Role, user_has_role
from rwa_service.exceptions import DomainError, ValidationFailed
from tokenization import selectors
from tokenization.models import (
    Accreditation,
    Investor,
    LedgerEntry,
    LedgerLeg,
    Operation,
    TokenClass,
    TransferRules,
    Wallet,
)
from tokenization.services import investors, operations, tokens
from tokenization.services.common import checksum_address

MASK = "***"
REGISTRY_READERS = (Role.COMPLIANCE, Role.AUDITOR)  # investors, wallets and rules (SPEC §3)
PII_FIELDS = ("legal_name", "email", "tax_id")
TOKENIZE_HELP = (
    "Token classes are issued by the tokenize operation of the API (POST /api/v1/assets/{id}/tokenize/, operator "
    "role), never added or deleted here. Compliance pauses and unpauses them with the actions of this list."
)


class ReasonActionForm(ActionForm):
    """The action bar with a reason, recorded in the audit trail (required by erasure)."""

    reason = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 40}))


def _run_per_object(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, label: str, call: Any
) -> None:
    """Calls `call(obj)` for each selected object; a refusal is reported for that object and the others go on."""
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", level=messages.SUCCESS)


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")


class ServiceSaveMixin:
    """For admins whose save_model calls a service: a refusal raised by the service at save time (a race the form
    could not see) is shown as an error on the same page instead of a server error, and nothing is logged."""

    def _service_call(self, request: HttpRequest, obj: Any, call: Any) -> Any:
        try:
            return call()
        except DomainError as exc:
            obj._service_refused = True
            details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in (exc.errors or {}).items())
            self.message_user(request, f"{exc.detail} {details}".strip(), level=messages.ERROR)
            return None

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if getattr(obj, "_service_refused", False) else super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if getattr(obj, "_service_refused", False) else super().log_change(request, obj, message)

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        if getattr(obj, "_service_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if getattr(obj, "_service_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


def _add_service_errors(form: forms.Form, exc: ValidationFailed, fallback: str | None = None) -> None:
    """A service's validation errors beside their fields (or on the form when the field is not on it)."""
    if not exc.errors:
        form.add_error(fallback, exc.detail)
    for field, msgs in exc.errors.items():
        form.add_error(field if field in form.fields else fallback, msgs)


def _table(header: tuple[str, ...], rows: Any, empty: str) -> str:
    rows = list(rows)
    if not rows:
        return format_html("<p>{}</p>", empty)
    head = format_html_join("", "<th>{}</th>", ((title,) for title in header))
    template = "<tr>" + "<td>{}</td>" * len(header) + "</tr>"
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head,
                       format_html_join("", template, rows))  # fmt: skip


# --- Token classes and their rules ------------------------------------------------------------------------------


class TransferRulesInline(admin.StackedInline):
    """The class's transfer rules, read-only here; compliance edits them on the rules page (the change link)."""

    model = TransferRules
    fields = tokens.RULE_FIELDS
    readonly_fields = tokens.RULE_FIELDS
    extra = 0
    max_num = 1
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return user_has_role(request.user, *REGISTRY_READERS)

    def has_add_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return False


@admin.register(TokenClass)
class TokenClassAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Read-only for every staff reader; compliance pauses and unpauses with the list actions."""

    action_form = ReasonActionForm
    list_display = ("symbol", "name", "asset", "status", "total_supply", "decimals", "chain")
    list_filter = ("status", "chain")
    search_fields = ("symbol", "name", "asset__reference")
    list_select_related = ("asset",)
    ordering = ("-created_at",)
    list_per_page = 50
    fields = (
        "issuance",
        "symbol",
        "name",
        "asset",
        "status",
        "status_reason",
        "decimals",
        "max_supply",
        "total_supply",
        "chain",
        "contract_address",
        "created_by",
        "created_at",
        "updated_at",
        "cap_table",
    )
    readonly_fields = fields
    inlines = [TransferRulesInline]
    actions = ["pause_tokens", "unpause_tokens"]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> TokenClass | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._admin_reader = request.user  # the cap table is read as this user (selectors scope by role)
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TokenClass | None = None) -> bool:
        return False

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.COMPLIANCE)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {"subtitle": TOKENIZE_HELP, **(extra_context or {})})

    @admin.display(description="Issuance")
    def issuance(self, obj: TokenClass) -> str:
        return TOKENIZE_HELP

    @admin.display(description="Cap table (base units)")
    def cap_table(self, obj: TokenClass) -> str:
        reader = getattr(obj, "_admin_reader", None)
        if reader is None:
            return MASK
        rows = selectors.cap_table(user=reader, token=obj)
        return _table(
            ("Wallet", "Investor", "Balance", "Frozen"),
            ((row["wallet"], row["investor"], row["balance"], row["frozen_amount"]) for row in rows),
            "No holders.",
        )

    def _set_paused(self, request: HttpRequest, queryset: QuerySet[TokenClass], paused: bool, label: str) -> None:
        _run_per_object(
            self,
            request,
            queryset,
            label,
            lambda token: tokens.token_set_paused(
                actor=request.user, token_id=token.pk, paused=paused, reason=_reason(request)
            ),
        )

    @admin.action(description="Pause transfers (reason recorded)", permissions=["pause"])
    def pause_tokens(self, request: HttpRequest, queryset: QuerySet[TokenClass]) -> None:
        self._set_paused(request, queryset, True, "Paused")

    @admin.action(description="Unpause transfers", permissions=["pause"])
    def unpause_tokens(self, request: HttpRequest, queryset: QuerySet[TokenClass]) -> None:
        self._set_paused(request, queryset, False, "Unpaused")


def _country_list(value: str) -> list[str]:
    return [code.strip().upper() for code in (value or "").replace(";", ",").split(",") if code.strip()]


class TransferRulesForm(forms.ModelForm):
    """Countries as comma-separated ISO codes; the service's own validation runs before anything is saved."""

    min_accreditation = forms.ChoiceField(choices=Accreditation.choices)
    allowed_countries = forms.CharField(required=False, help_text="ISO 3166-1 alpha-2, comma-separated; empty: any.")
    blocked_countries = forms.CharField(required=False, help_text="ISO 3166-1 alpha-2, comma-separated.")

    class Meta:
        model = TransferRules
        fields = list(tokens.RULE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in ("allowed_countries", "blocked_countries"):
            if field in self.fields and self.instance.pk:
                self.initial[field] = ", ".join(getattr(self.instance, field) or [])

    def clean_allowed_countries(self) -> list[str]:
        return _country_list(self.cleaned_data.get("allowed_countries", ""))

    def clean_blocked_countries(self) -> list[str]:
        return _country_list(self.cleaned_data.get("blocked_countries", ""))

    def clean(self) -> dict:
        cleaned = super().clean()
        errors = tokens.token_rules_errors(values=self.rules())
        if errors:
            _add_service_errors(self, ValidationFailed("The transfer rules are invalid.", errors=errors))
        return cleaned

    def rules(self) -> dict[str, Any]:
        return {field: self.cleaned_data.get(field) for field in tokens.RULE_FIELDS if field in self.cleaned_data}


@admin.register(TransferRules)
class TransferRulesAdmin(ServiceSaveMixin, RoleAdminMixin, admin.ModelAdmin):
    """Compliance replaces a class's rules through `token_rules_set`; auditors read them."""

    form = TransferRulesForm
    view_roles = REGISTRY_READERS
    change_roles = (Role.COMPLIANCE,)
    list_display = ("token_class", "require_kyc", "min_accreditation", "allowed_countries", "blocked_countries",
                    "max_holders", "lockup_until", "lockup_days", "updated_at")  # fmt: skip
    list_filter = ("require_kyc", "min_accreditation")
    search_fields = ("token_class__symbol", "token_class__name")
    list_select_related = ("token_class",)
    readonly_fields = ("token_class", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: TransferRules | None = None) -> list[str]:
        return ["token_class", *tokens.RULE_FIELDS, "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rules come with the token class (tokenize)

    def has_delete_permission(self, request: HttpRequest, obj: TransferRules | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TransferRules, form: TransferRulesForm, change: bool) -> None:
        if not form.changed_data:
            return
        self._service_call(
            request,
            obj,
            lambda: tokens.token_rules_set(actor=request.user, token_id=obj.token_class_id, rules=form.rules()),
        )


# --- Investors and wallets ----------------------------------------------------------------------------------------


class InvestorForm(forms.ModelForm):
    """Compliance's form; the service's own validation runs before anything is saved."""

    class Meta:
        model = Investor
        fields = list(investors.INVESTOR_FIELDS)
        widgets = {field: forms.TextInput(attrs={"size": 60}) for field in PII_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            linked = Investor.objects.exclude(pk=self.instance.pk).exclude(user=None).values("user")
            self.fields["user"].queryset = (
                get_user_model().objects.filter(groups__name=Role.INVESTOR).exclude(pk__in=linked).order_by("username")
            )

    def values(self) -> dict[str, Any]:
        """The values for `investor_create`, or the changed ones for `investor_update`."""
        names = [f for f in self._meta.fields if f in self.cleaned_data]
        if self.instance._state.adding:
            return {field: self.cleaned_data[field] for field in names}
        return {field: self.cleaned_data[field] for field in names if field in self.changed_data}

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            investor_id = None if self.instance._state.adding else self.instance.pk
            errors = investors.investor_values_errors(values=self.values(), investor_id=investor_id)
            if errors:
                _add_service_errors(self, ValidationFailed("The investor is invalid.", errors=errors))
        return cleaned


@admin.register(Investor)
class InvestorAdmin(ServiceSaveMixin, RoleAdminMixin, admin.ModelAdmin):
    """The registry. Lists never show PII; the change page shows it to compliance only ("***" to others)."""

    form = InvestorForm
    action_form = ReasonActionForm
    view_roles = REGISTRY_READERS
    add_roles = change_roles = (Role.COMPLIANCE,)
    list_display = ("id", "type", "country", "kyc_status", "kyc_expires_at", "accreditation", "erased")
    list_filter = ("type", "kyc_status", "accreditation", "country", ("erased_at", admin.EmptyFieldListFilter))
    search_fields = ("=country",)  # PII is ciphertext in the database: never searchable
    search_help_text = "Investor id (exact) or country code. Names, e-mails and tax ids are encrypted, not searchable."
    ordering = ("-created_at",)
    list_per_page = 50
    actions = ["erase_pii"]
    SERVER_OWNED = ("id", "erased_at", "created_at", "updated_at")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        try:
            results |= queryset.filter(pk=uuid.UUID(search_term.strip()))
        except ValueError:
            pass
        return results, duplicates

    def _sees_pii(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.COMPLIANCE)

    def _editable(self, request: HttpRequest, obj: Investor | None) -> bool:
        return self._sees_pii(request) and (obj is None or obj.erased_at is None)

    def get_fields(self, request: HttpRequest, obj: Investor | None = None) -> list[str]:
        if obj is None:
            return list(investors.INVESTOR_FIELDS)
        pii = list(PII_FIELDS) if self._sees_pii(request) else ["legal_name_masked", "email_masked", "tax_id_masked"]
        rest = [field for field in investors.INVESTOR_FIELDS if field not in PII_FIELDS]
        return [*self.SERVER_OWNED[:1], *pii, *rest, *self.SERVER_OWNED[1:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Investor | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if self._editable(request, obj):
            return self.SERVER_OWNED
        return tuple(self.get_fields(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Investor | None = None) -> bool:
        return self._sees_pii(request)  # compliance; an erased record's form is all read-only fields

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.COMPLIANCE)

    @admin.display(description="Erased", boolean=True, ordering="erased_at")
    def erased(self, obj: Investor) -> bool:
        return obj.erased_at is not None

    @admin.display(description="Legal name")
    def legal_name_masked(self, obj: Investor) -> str:
        return MASK

    @admin.display(description="Email")
    def email_masked(self, obj: Investor) -> str:
        return MASK

    @admin.display(description="Tax id")
    def tax_id_masked(self, obj: Investor) -> str:
        return MASK

    def save_model(self, request: HttpRequest, obj: Investor, form: InvestorForm, change: bool) -> None:
        values = form.values()
        if change:
            if values:
                self._service_call(
                    request,
                    obj,
                    lambda: investors.investor_update(actor=request.user, investor_id=obj.pk, values=values),
                )
            return
        saved = self._service_call(request, obj, lambda: investors.investor_create(actor=request.user, values=values))
        if saved is not None:
            obj.pk, obj._state.adding = saved.pk, False

    @admin.action(description="Erase PII (pseudonymise; reason required)", permissions=["erase"])
    def erase_pii(self, request: HttpRequest, queryset: QuerySet[Investor]) -> None:
        _run_per_object(
            self,
            request,
            queryset,
            "Erased",
            lambda investor: investors.investor_erase(
                actor=request.user, investor_id=investor.pk, reason=_reason(request)
            ),
        )


class WalletAddForm(forms.ModelForm):
    class Meta:
        model = Wallet
        fields = ["investor", "address"]

    def clean_address(self) -> str:
        try:
            address = checksum_address(self.cleaned_data.get("address", ""))
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.errors["address"]) from exc
        if Wallet.objects.filter(address=address).exists():
            raise forms.ValidationError("This address is already registered.")
        return address


@admin.register(Wallet)
class WalletAdmin(ServiceSaveMixin, RoleAdminMixin, admin.ModelAdmin):
    """Compliance registers wallets (`wallet_create`) and freezes or unfreezes them; auditors read."""

    form = WalletAddForm
    action_form = ReasonActionForm
    view_roles = REGISTRY_READERS
    add_roles = (Role.COMPLIANCE,)
    list_display = ("address", "investor", "status", "frozen", "created_at")
    list_filter = ("status", "frozen")
    search_fields = ("address",)
    ordering = ("-created_at",)
    raw_id_fields = ("investor",)
    list_per_page = 50
    actions = ["freeze_wallets", "unfreeze_wallets"]
    DETAIL = ("address", "investor", "status", "frozen", "recovered_to", "holdings", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Wallet | None = None) -> list[str]:
        return ["investor", "address"] if obj is None else list(self.DETAIL)

    def get_readonly_fields(self, request: HttpRequest, obj: Wallet | None = None) -> tuple[str, ...]:
        return () if obj is None else self.DETAIL

    def has_delete_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False

    def has_freeze_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.COMPLIANCE)

    @admin.display(description="Holdings (base units)")
    def holdings(self, obj: Wallet) -> str:
        accounts = obj.accounts.select_related("token_class").order_by("token_class__symbol")
        return _table(
            ("Token", "Balance", "Frozen"),
            ((a.token_class.symbol, a.balance, a.frozen_amount) for a in accounts),
            "No holdings.",
        )

    def save_model(self, request: HttpRequest, obj: Wallet, form: WalletAddForm, change: bool) -> None:
        if change:
            return  # wallets are read-only once registered; freezes and recovery are actions
        saved = self._service_call(
            request,
            obj,
            lambda: investors.wallet_create(
                actor=request.user, investor_id=form.cleaned_data["investor"].pk, address=form.cleaned_data["address"]
            ),
        )
        if saved is not None:
            obj.pk, obj._state.adding = saved.pk, False

    def _set_frozen(self, request: HttpRequest, queryset: QuerySet[Wallet], frozen: bool, label: str) -> None:
        _run_per_object(
            self,
            request,
            queryset,
            label,
            lambda wallet: investors.wallet_set_frozen(
                actor=request.user, wallet_id=wallet.pk, frozen=frozen, reason=_reason(request)
            ),
        )

    @admin.action(description="Freeze (whole wallet; reason recorded)", permissions=["freeze"])
    def freeze_wallets(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._set_frozen(request, queryset, True, "Frozen")

    @admin.action(description="Unfreeze (whole wallet)", permissions=["freeze"])
    def unfreeze_wallets(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._set_frozen(request, queryset, False, "Unfrozen")


# --- Ledger and operations ----------------------------------------------------------------------------------------


class ReadOnlyForEveryone:
    """Neither add, change nor delete, whatever the role (admin included): the ledger and operations are written
    by their services only."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LedgerLegInline(ReadOnlyForEveryone, admin.TabularInline):
    model = LedgerLeg
    fields = ("account", "wallet", "amount", "created_at")
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: LedgerEntry | None = None) -> bool:
        return user_has_role(request.user, *STAFF_READERS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerLeg]:
        return super().get_queryset(request).select_related("account__wallet", "account__token_class")

    @admin.display(description="Wallet")
    def wallet(self, leg: LedgerLeg) -> str:
        return leg.account.wallet.address if leg.account.wallet_id else "(issuance)"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyForEveryone, RoleAdminMixin, admin.ModelAdmin):
    """The immutable ledger, for the staff readers."""

    list_display = ("id", "token_class", "kind", "amount", "from_wallet", "to_wallet", "actor", "created_at")
    list_filter = ("kind", "token_class")
    search_fields = ("token_class__symbol", "from_wallet__address", "to_wallet__address", "settlement_ref", "actor")
    list_select_related = ("token_class", "from_wallet", "to_wallet")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = ("id", "token_class", "kind", "amount", "from_wallet", "to_wallet", "actor", "reason",
              "settlement_ref", "created_at")  # fmt: skip
    readonly_fields = fields
    inlines = [LedgerLegInline]

    def get_actions(self, request: HttpRequest) -> dict:
        return {}


@admin.register(Operation)
class OperationAdmin(ReadOnlyForEveryone, RoleAdminMixin, admin.ModelAdmin):
    """Background work, read-only; an operator re-queues a failed one with the retry action."""

    list_display = ("id", "kind", "status", "attempts", "short_error", "created_by", "created_at", "updated_at")
    list_filter = ("status", "kind")
    search_fields = ("error",)  # and an exact id: see get_search_results
    ordering = ("-created_at",)
    list_per_page = 50
    fields = ("id", "kind", "status", "attempts", "error", "inputs", "result", "created_by", "created_at",
              "updated_at")  # fmt: skip
    readonly_fields = fields
    actions = ["retry_operations"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        try:
            return queryset.filter(pk=uuid.UUID(search_term.strip())), False
        except ValueError:
            return queryset.filter(Q(error__icontains=search_term) | Q(kind__iexact=search_term.strip())), False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.OPERATOR)

    @admin.display(description="Error")
    def short_error(self, obj: Operation) -> str:
        return obj.error if len(obj.error) <= 80 else f"{obj.error[:79]}…"

    @admin.action(description="Retry (failed operations only)", permissions=["retry"])
    def retry_operations(self, request: HttpRequest, queryset: QuerySet[Operation]) -> None:
        _run_per_object(
            self,
            request,
            queryset,
            "Re-queued",
            lambda operation: operations.operation_retry(actor=request.user, operation_id=operation.pk),
        )
