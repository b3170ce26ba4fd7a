"""Users in the admin, for the admin role only. Roles are not granted here: groups, superuser status and per-user
permissions are read-only, because roles are granted with `manage.py bootstrap_roles --grant user:role`, which is
audited. Django's own Group admin is removed for the same reason."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from rwa_service.accounts.admin_roles import RoleAdminMixin

admin.site.unregister(Group)
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class RoleUserAdmin(RoleAdminMixin, UserAdmin):
    """Django's user admin, seen by the admin role only, with roles and privileges read-only."""

    view_roles = ()  # RoleAdminMixin: nobody but the admin role views, adds, changes or deletes
    readonly_fields = ("groups", "is_superuser", "user_permissions")
