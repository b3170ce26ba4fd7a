"""Asset admin: operators and compliance officers walk the whole lifecycle here. Every change goes through the
same services as the API (role checks, maker-checker, audit); fields are read-only where the state forbids edits."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets import selectors, services
from assets.models import Asset, AssetStatus, Document
from rwa_service.accounts.admin_roles import RoleAdminMixin
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import DomainError
from valuation.charts import valuation_history_svg

SERVER_OWNED = (
    "reference",
    "status",
    "status_reason",
    "version",
    "created_by",
    "submitted_by",
    "submitted_at",
    "reviewed_by",
    "reviewed_at",
    "created_at",
    "updated_at",
    "audit_history",
)


class ReasonActionForm(ActionForm):
    """The action bar with a reason, required by reject, suspend and retire."""

    reason = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 40}))


class ServiceErrorsAsMessages:
    """A domain error a service raises while the admin saves (a race the form could not see, an upload the service
    refuses): the admin's transaction rolls back and the user is sent back to the form with the reason, not a 500."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class AssetAdminForm(forms.ModelForm):
    """Runs the service's own field and metadata validation so errors show on the form, beside their field.

    `expected_version` carries the version the form was opened at: saving over someone else's later edit is
    refused on the form instead of silently overwriting it (the admin's If-Match)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    class Meta:
        model = Asset
        fields = ["name", "asset_type", "jurisdiction", "currency", "issuer_name", "description", "metadata"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self) -> dict:
        cleaned = super().clean()
        expected = cleaned.get("expected_version")
        if self.instance.pk and expected is not None and expected != self.instance.version:
            raise forms.ValidationError(
                f"Someone else changed this asset after you opened it (it is now at version {self.instance.version},"
                f" you opened version {expected}). Reload it and make your edits again.",
                code="stale_version",
            )
        values = {field: cleaned[field] for field in self.Meta.fields if field in cleaned}
        errors = services.asset_fields_errors(values=values)
        for field, messages_ in errors.items():
            self.add_error(field if field in self.fields else "metadata", messages_)
        return cleaned


def _transition_action(transition: str, label: str):
    def run(modeladmin: "AssetAdmin", request: HttpRequest, queryset: QuerySet[Asset]) -> None:
        reason = request.POST.get("reason", "")
        done = 0
        for asset in queryset:
            try:
                services.asset_transition(actor=request.user, asset_id=asset.pk, transition=transition, reason=reason)
                done += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"{asset.reference}: {exc.detail}", level=messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{label}: {done} asset(s).", level=messages.SUCCESS)

    run.__name__ = f"action_{transition}"
    run.short_description = label
    run.allowed_permissions = (transition,)
    return run


_ACTIONS = {
    "submit": ("Submit for review", Role.OPERATOR),
    "approve": ("Approve (not your own submission)", Role.COMPLIANCE),
    "reject": ("Reject (reason required)", Role.COMPLIANCE),
    "suspend": ("Suspend (reason required)", Role.COMPLIANCE),
    "reinstate": ("Reinstate", Role.COMPLIANCE),
    "retire": ("Retire (reason required)", Role.COMPLIANCE),
}


class DocumentInline(admin.TabularInline):
    model = Document
    fields = ("name", "kind", "sha256", "size", "content_type", "uri", "removed_at", "removal_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        return user_has_role(request.user, *RoleAdminMixin.view_roles)

    def has_add_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    form = AssetAdminForm
    action_form = ReasonActionForm
    add_roles = change_roles = delete_roles = (Role.OPERATOR,)
    list_display = ("reference", "name", "asset_type", "status", "jurisdiction", "currency", "version", "updated_at")
    list_filter = ("status", "asset_type", "jurisdiction", "currency")
    search_fields = ("reference", "name", "issuer_name", "description")
    ordering = ("-created_at",)
    list_per_page = 50
    inlines = [DocumentInline]
    actions = [_transition_action(name, label) for name, (label, _) in _ACTIONS.items()]

    def get_fields(self, request: HttpRequest, obj: Asset | None = None) -> list[str]:
        editable = list(AssetAdminForm.Meta.fields)
        return editable if obj is None else [*editable, "expected_version", *SERVER_OWNED, "valuation_history"]

    def get_readonly_fields(self, request: HttpRequest, obj: Asset | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if obj.status != AssetStatus.DRAFT or not user_has_role(request.user, Role.OPERATOR):
            return (*AssetAdminForm.Meta.fields, *SERVER_OWNED, "valuation_history")
        return (*SERVER_OWNED, "valuation_history")

    @admin.display(description="valuation history")
    def valuation_history(self, obj: Asset) -> str:
        """Approved and superseded valuations over time, as a server-rendered SVG chart."""
        return valuation_history_svg(asset_id=obj.pk)

    def has_change_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        # Compliance needs the change list to run its actions; the form itself stays read-only for them.
        return user_has_role(request.user, Role.OPERATOR, Role.COMPLIANCE)

    def has_delete_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        return user_has_role(request.user, Role.OPERATOR) and (obj is None or obj.status == AssetStatus.DRAFT)

    def save_model(self, request: HttpRequest, obj: Asset, form: forms.ModelForm, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in AssetAdminForm.Meta.fields if field in form.cleaned_data}
        if change:
            changes = {field: values[field] for field in form.changed_data if field in values}
            if not changes:  # read-only form, or nothing edited: no new version, no event
                return
            saved = services.asset_update(
                actor=request.user,
                asset_id=obj.pk,
                changes=changes,
                expected_version=form.cleaned_data.get("expected_version"),
            )
        else:
            saved = services.asset_create(actor=request.user, **values)
        obj.pk, obj.reference, obj.version, obj._state.adding = saved.pk, saved.reference, saved.version, False

    def delete_model(self, request: HttpRequest, obj: Asset) -> None:
        services.asset_delete(actor=request.user, asset_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> None:
        for asset in queryset:
            try:
                services.asset_delete(actor=request.user, asset_id=asset.pk)
            except DomainError as exc:
                self.message_user(request, f"{asset.reference}: {exc.detail}", level=messages.ERROR)

    @admin.display(description="Audit history")
    def audit_history(self, obj: Asset) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (event.seq, event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), event.actor, event.action, event.reason)
                for event in selectors.asset_history(asset=obj)
            ),
        )
        header = mark_safe("<tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Reason</th></tr>")
        return format_html("<table>{}{}</table>", header, rows)


# The admin shows a transition action only when `has_<name>_permission` is true: only to holders of its role.
for _name, (_label, _role) in _ACTIONS.items():
    setattr(
        AssetAdmin,
        f"has_{_name}_permission",
        (lambda role: lambda self, request: user_has_role(request.user, role))(_role),
    )


class DocumentAdminForm(forms.ModelForm):
    """An upload (hashed server-side) or a reference by URI with its SHA-256; the service checks either."""

    upload = forms.FileField(required=False, help_text="The file; its SHA-256, size and type are computed here.")
    uri = forms.CharField(
        required=False,
        max_length=500,
        help_text="For a document kept elsewhere: an https://, s3:// or ipfs:// URI (ignored with an upload).",
    )
    sha256 = forms.RegexField(r"^[0-9a-fA-F]{64}$", required=False, help_text="SHA-256 of a referenced document.")

    class Meta:
        model = Document
        fields = ["asset", "name", "kind"]

    def clean(self) -> dict:
        cleaned = super().clean()
        asset = cleaned.get("asset")
        if asset is not None and asset.status != AssetStatus.DRAFT:
            self.add_error("asset", "Documents can be added only while the asset is a draft.")
        uri = cleaned.get("uri") or ""
        if not cleaned.get("upload") and uri and not uri.lower().startswith(("https://", "s3://", "ipfs://")):
            self.add_error("uri", "A referenced document's URI must start with https://, s3:// or ipfs://.")
        return cleaned


@admin.register(Document)
class DocumentAdmin(ServiceErrorsAsMessages, RoleAdminMixin, admin.ModelAdmin):
    """Upload or reference documents; removal is an audited action, never a delete."""

    form = DocumentAdminForm
    add_roles = (Role.OPERATOR,)
    list_display = ("name", "asset", "kind", "size", "content_type", "created_at", "removed_at")
    list_filter = ("kind", "content_type")
    search_fields = ("name", "sha256", "asset__reference", "asset__name")
    readonly_fields = ("size", "content_type", "file", "uploaded_by", "removed_at", "removed_by", "removal_reason")
    actions = ["remove_documents"]
    action_form = ReasonActionForm
    autocomplete_fields = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> tuple[str, ...]:
        if obj is not None:
            return ("asset", "name", "kind", "uri", "sha256", *self.readonly_fields)
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: object):
        if db_field.name == "asset":  # documents change only while the asset is a draft
            kwargs["queryset"] = Asset.objects.filter(status=AssetStatus.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        if obj is None:
            return ["asset", "name", "kind", "upload", "uri", "sha256"]
        return ["asset", "name", "kind", "uri", "sha256", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: Document, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        document = services.document_add(
            actor=request.user,
            asset_id=data["asset"].pk,
            name=data["name"],
            kind=data["kind"],
            upload=data.get("upload"),
            uri=data.get("uri") or "",
            sha256=data.get("sha256") or "",
        )
        obj.pk, obj._state.adding = document.pk, False

    @admin.action(description="Remove (recorded with the reason)", permissions=["remove"])
    def remove_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        for document in queryset.filter(removed_at__isnull=True):
            try:
                services.document_remove(
                    actor=request.user,
                    asset_id=document.asset_id,
                    document_id=document.pk,
                    reason=request.POST.get("reason", ""),
                )
            except DomainError as exc:
                self.message_user(request, f"{document.name}: {exc.detail}", level=messages.ERROR)

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.OPERATOR)

    def has_change_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return user_has_role(request.user, Role.OPERATOR) and obj is None
