"""Valuation admin: valuations (read-only figures; valuers record appraisals and approve or reject others' drafts),
price series and their observations. Every change goes through the services (valuation.services,
valuation.price_services) with the signed-in user as the actor, so role checks, maker-checker and the audit trail
are the API's; nothing here saves a model itself."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assets.models import Asset
from rwa_service.accounts.admin_roles import RoleAdminMixin
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import DomainError, ValidationFailed
from valuation import price_services, services
from valuation.methods import method_codes, method_for
from valuation.models import (
    PriceObservation,
    PriceSeries,
    RevaluationFailure,
    RevaluationRun,
    Valuation,
    ValuationPolicy,
)

VALUER = (Role.VALUER,)
LATEST_SHOWN = 20


class ReasonActionForm(ActionForm):
    """The action bar with a reason, required by reject (recorded in the audit trail)."""

    reason = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 40}))


class ServiceErrorsAsMessages:
    """A domain error a service raises while the admin saves (a value that cannot be computed, a race the form could
    not see): the admin's transaction rolls back and the user is sent back to the form with the reason, not a 500."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in (exc.errors or {}).items())
            self.message_user(request, f"{exc.detail} {details}".strip(), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _add_service_errors(form: forms.Form, exc: ValidationFailed) -> None:
    """A service's validation errors beside their fields (or on the form when the field is not on it)."""
    if not exc.errors:
        form.add_error(None, exc.detail)
    for field, msgs in (exc.errors or {}).items():
        form.add_error(field if field in form.fields else None, msgs)


def _per_object(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, label: str, call: Any) -> None:
    """Calls `call(obj)` for each selected object; a refusal is reported for that object and the others go on."""
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj.asset.reference} {obj.as_of}: {exc.detail}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} valuation(s).", level=messages.SUCCESS)


# --- Valuations ----------------------------------------------------------------------------------------------------


class ValuationAddForm(forms.ModelForm):
    """Record a valuation: the method's own validation runs on the form, the service records it."""

    method = forms.ChoiceField(choices=())
    inputs = forms.JSONField(
        initial=dict, help_text='The method\'s inputs; numbers as strings, e.g. {"value": "1250000.00"}.'
    )

    class Meta:
        model = Valuation
        fields = ["asset", "method", "as_of", "inputs"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "method" in self.fields:  # the change page shows read-only fields only
            self.fields["method"].choices = [(code, code) for code in method_codes()]

    def clean(self) -> dict:
        cleaned = super().clean()
        asset, method, as_of = cleaned.get("asset"), cleaned.get("method"), cleaned.get("as_of")
        if as_of and as_of > timezone.localdate():
            self.add_error("as_of", "A valuation cannot be dated in the future.")
        if asset is not None and method and "inputs" in cleaned:
            if not isinstance(cleaned["inputs"], dict):
                self.add_error("inputs", "A JSON object is required.")
                return cleaned
            try:
                method_for(method).validate(cleaned["inputs"], asset=asset)
            except ValidationFailed as exc:
                for field, msgs in (exc.errors or {"inputs": [exc.detail]}).items():
                    self.add_error("inputs", [f"{field}: {msg}" for msg in msgs])
        return cleaned


@admin.register(Valuation)
class ValuationAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    """Read-only history. Valuers record valuations (the add form) and approve or reject drafts they did not record
    (the list's actions)."""

    form = ValuationAddForm
    action_form = ReasonActionForm
    add_roles = VALUER
    list_display = ("asset", "method", "value", "currency", "as_of", "status", "recorded_by_name", "approved_by",
                    "created_at")  # fmt: skip
    list_filter = ("status", "method", "currency")
    search_fields = ("asset__reference", "asset__name")
    list_select_related = ("asset", "approved_by")
    ordering = ("-created_at",)
    date_hierarchy = "as_of"
    raw_id_fields = ("asset",)
    list_per_page = 50
    DETAIL = ("id", "asset", "method", "value", "currency", "as_of", "inputs", "status", "status_reason",
              "recorded_by_name", "approved_by", "approved_at", "created_at", "updated_at")  # fmt: skip
    actions = ["approve_valuations", "reject_valuations"]

    def get_fields(self, request: HttpRequest, obj: Valuation | None = None) -> tuple[str, ...]:
        return tuple(ValuationAddForm.Meta.fields) if obj is None else self.DETAIL

    def get_readonly_fields(self, request: HttpRequest, obj: Valuation | None = None) -> tuple[str, ...]:
        return () if obj is None else self.DETAIL

    def has_change_permission(self, request: HttpRequest, obj: Valuation | None = None) -> bool:
        return False  # append-only: figures never change, statuses move by the actions

    def has_delete_permission(self, request: HttpRequest, obj: Valuation | None = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, *VALUER)

    def save_model(self, request: HttpRequest, obj: Valuation, form: ValuationAddForm, change: bool) -> None:
        data = form.cleaned_data
        saved = services.valuation_record(
            actor=request.user, asset_id=data["asset"].pk, method=data["method"], as_of=data["as_of"],
            inputs=data["inputs"],
        )  # fmt: skip
        obj.pk, obj._state.adding = saved.pk, False

    @admin.action(description="Approve (drafts recorded by someone else)", permissions=["approve"])
    def approve_valuations(self, request: HttpRequest, queryset: QuerySet[Valuation]) -> None:
        _per_object(
            self,
            request,
            queryset.select_related("asset"),
            "Approved",
            lambda valuation: services.valuation_approve(actor=request.user, valuation_id=valuation.pk),
        )

    @admin.action(description="Reject (reason required)", permissions=["approve"])
    def reject_valuations(self, request: HttpRequest, queryset: QuerySet[Valuation]) -> None:
        reason = request.POST.get("reason", "")
        _per_object(
            self,
            request,
            queryset.select_related("asset"),
            "Rejected",
            lambda valuation: services.valuation_reject(actor=request.user, valuation_id=valuation.pk, reason=reason),
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "asset":
            kwargs["queryset"] = Asset.objects.order_by("reference")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Price series and observations -----------------------------------------------------------------------------------


class PriceSeriesForm(forms.ModelForm):
    """A new series; the service's own checks run on the form so errors show beside their field."""

    class Meta:
        model = PriceSeries
        fields = list(price_services.SERIES_FIELDS)

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            values, errors = price_services.price_series_values_errors(values=cleaned)
            if errors:
                _add_service_errors(self, ValidationFailed("The price series is invalid.", errors=errors))
            else:
                cleaned.update(values)
        return cleaned


@admin.register(PriceSeries)
class PriceSeriesAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    """Series are created by valuers (through `price_series_create`) and never edited; the change page shows the
    latest observations and links to all of them."""

    form = PriceSeriesForm
    add_roles = VALUER
    list_display = ("code", "name", "kind", "unit", "currency", "base_currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("code", "name")
    ordering = ("code",)
    DETAIL = (*price_services.SERIES_FIELDS, "created_at", "updated_at", "latest_observations")

    def get_fields(self, request: HttpRequest, obj: PriceSeries | None = None) -> tuple[str, ...]:
        return price_services.SERIES_FIELDS if obj is None else self.DETAIL

    def get_readonly_fields(self, request: HttpRequest, obj: PriceSeries | None = None) -> tuple[str, ...]:
        return () if obj is None else self.DETAIL

    def has_change_permission(self, request: HttpRequest, obj: PriceSeries | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PriceSeries | None = None) -> bool:
        return False

    @admin.display(description=f"Latest observations (up to {LATEST_SHOWN})")
    def latest_observations(self, obj: PriceSeries) -> str:
        rows = list(obj.observations.order_by("-date").values_list("date", "value")[:LATEST_SHOWN])
        link = reverse("admin:valuation_priceobservation_changelist") + f"?series__id__exact={obj.pk}"
        all_link = format_html('<p><a href="{}">All observations of {}</a></p>', link, obj.code)
        if not rows:
            return format_html("<p>No observations.</p>{}", all_link)
        body = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>Date</th><th>Value</th></tr>{}</table>{}", body, all_link)

    def save_model(self, request: HttpRequest, obj: PriceSeries, form: PriceSeriesForm, change: bool) -> None:
        values = {field: form.cleaned_data.get(field, "") for field in price_services.SERIES_FIELDS}
        saved = price_services.price_series_create(actor=request.user, **values)
        obj.pk, obj._state.adding = saved.pk, False


class PriceObservationForm(forms.ModelForm):
    class Meta:
        model = PriceObservation
        fields = ["series", "date", "value"]


@admin.register(PriceObservation)
class PriceObservationAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    """Observations, read-only once added; valuers add one at a time here (`price_observations_add`), many at once
    with the API or `manage.py import_prices`."""

    form = PriceObservationForm
    add_roles = VALUER
    list_display = ("series", "date", "value", "created_at")
    list_filter = ("series__kind", "series")
    search_fields = ("series__code",)
    list_select_related = ("series",)
    ordering = ("series__code", "-date")
    date_hierarchy = "date"
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: PriceObservation | None = None) -> tuple[str, ...]:
        return () if obj is None else ("series", "date", "value", "created_at", "updated_at")

    def has_change_permission(self, request: HttpRequest, obj: PriceObservation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PriceObservation | None = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "series":
            kwargs["queryset"] = PriceSeries.objects.order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: PriceObservation, form: PriceObservationForm, change: bool) -> None:
        data = form.cleaned_data
        (saved,) = price_services.price_observations_add(
            actor=request.user,
            series_code=data["series"].code,
            observations=[{"date": data["date"], "value": data["value"]}],
        )
        obj.pk, obj._state.adding = saved.pk, False


class ValuationPolicyForm(forms.ModelForm):
    """The policy's method and inputs (JSON); the method validates the inputs when saved."""

    method = forms.ChoiceField(choices=())

    class Meta:
        model = ValuationPolicy
        fields = ["asset", "method", "inputs"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(code, code) for code in method_codes() if not method_for(code).manual]


@admin.register(ValuationPolicy)
class ValuationPolicyAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    """How each asset is revalued by runs; set and removed by valuers through `valuation_policy_set/remove`."""

    form = ValuationPolicyForm
    add_roles = change_roles = delete_roles = VALUER
    list_display = ("asset", "method", "updated_at")
    list_filter = ("method", "asset__asset_type")
    search_fields = ("asset__reference", "asset__name")
    list_select_related = ("asset",)
    autocomplete_fields = ()

    def get_readonly_fields(self, request: HttpRequest, obj: ValuationPolicy | None = None) -> tuple[str, ...]:
        return () if obj is None else ("asset",)

    def save_model(self, request: HttpRequest, obj: ValuationPolicy, form: ValuationPolicyForm, change: bool) -> None:
        data = form.cleaned_data
        asset = obj.asset if change else data["asset"]
        saved = services.valuation_policy_set(
            actor=request.user, asset_id=asset.pk, method=data["method"], inputs=data["inputs"]
        )
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request: HttpRequest, obj: ValuationPolicy) -> None:
        services.valuation_policy_remove(actor=request.user, asset_id=obj.asset_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for policy in queryset:
            services.valuation_policy_remove(actor=request.user, asset_id=policy.asset_id)


class RevaluationFailureInline(admin.TabularInline):
    model = RevaluationFailure
    fields = ("asset", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(RevaluationRun)
class RevaluationRunAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Runs with their progress and failures; valuers cancel open ones (`revaluation_run_cancel`). Runs start from
    the API, `manage.py revalue` or the nightly periodic task (Periodic tasks → "nightly revaluation")."""

    list_display = ("id", "as_of", "status", "progress", "done", "failed", "total", "started_by", "created_at")
    list_filter = ("status",)
    readonly_fields = ("as_of", "filters", "status", "total", "done", "failed", "started_by", "finished_at")
    fields = readonly_fields
    inlines = [RevaluationFailureInline]
    actions = ["cancel_runs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, run: RevaluationRun) -> str:
        return f"{100 * (run.done + run.failed) // run.total}%" if run.total else "100%"

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not user_has_role(request.user, *VALUER):
            actions.pop("cancel_runs", None)
        return actions

    @admin.action(description="Cancel the selected open runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet) -> None:
        for run in queryset:
            try:
                services.revaluation_run_cancel(actor=request.user, run_id=run.pk)
                self.message_user(request, f"Run {run.pk} cancelled.", level=messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"Run {run.pk}: {exc.detail}", level=messages.ERROR)
