"""Read-only admin for the audit trail: browse, filter and search; never add, change or delete."""

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("seq", "occurred_at", "actor", "action", "object_type", "object_id", "request_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor", "action", "request_id", "hash")
    date_hierarchy = "occurred_at"
    ordering = ("-seq",)
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        from rwa_service.accounts.roles import Role, user_has_role

        return user_has_role(request.user, Role.COMPLIANCE, Role.AUDITOR)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)
