"""Role permission: each view declares which roles may run each action; anything undeclared is refused."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from rwa_service.accounts.roles import Role, user_has_role

# Actions every signed-in user may call regardless of role (OPTIONS describes, it changes nothing).
_OPEN_ACTIONS = frozenset({"metadata"})
# Put in `role_rules` for an action that any signed-in user may call whatever their roles (e.g. `auth/me/`).
SIGNED_IN: frozenset = frozenset({"*"})


class RolePermission(BasePermission):
    """Grants an action when the user holds one of the roles listed for it in `view.role_rules`."""

    message = "Your roles do not allow this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        action = getattr(view, "action", None)
        if action is None:  # no route for this method: let the view answer 405 with its Allow header
            return True
        if action in _OPEN_ACTIONS:
            return True
        allowed = view.role_rules.get(action)
        if allowed is SIGNED_IN:
            return True
        if allowed is None:  # an undeclared action is for admin only
            allowed = frozenset({Role.ADMIN})
        # A fresh instance serves each request, so the message can name this action's roles.
        self.message = f"This action needs one of the roles: {', '.join(sorted(allowed))}."
        return user_has_role(request.user, *allowed)
