"""Admin permissions by role (SPEC §3) instead of per-model Django permissions."""

from django.contrib import admin
from django.http import HttpRequest

from rwa_service.accounts.roles import Role, user_has_role


class RoleAdminMixin:
    """Declare which roles may view, add, change and delete; `admin` always may."""

    view_roles: tuple[Role, ...] = (Role.OPERATOR, Role.COMPLIANCE, Role.VALUER, Role.AUDITOR)
    add_roles: tuple[Role, ...] = ()
    change_roles: tuple[Role, ...] = ()
    delete_roles: tuple[Role, ...] = ()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff and self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_has_role(request.user, *self.view_roles, *self.change_roles)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return user_has_role(request.user, *self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_has_role(request.user, *self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_has_role(request.user, *self.delete_roles)


class ReadOnlyRoleAdmin(RoleAdminMixin, admin.ModelAdmin):
    """A model shown to the reading roles and changed by nobody through the admin."""
