"""The roles of SPEC §3. A user's roles are the names of their groups; `admin` (or a superuser) may do everything."""

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    COMPLIANCE = "compliance"
    VALUER = "valuer"
    AUDITOR = "auditor"
    INVESTOR = "investor"


ALL_ROLES: frozenset[Role] = frozenset(Role)
STAFF_READERS: frozenset[Role] = frozenset({Role.OPERATOR, Role.COMPLIANCE, Role.VALUER, Role.AUDITOR})
AUDIT_READERS: frozenset[Role] = frozenset({Role.COMPLIANCE, Role.AUDITOR})  # read, verify and export the trail


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[Role]:
    """The roles a user holds, cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_rwa_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(Role(name) for name in names if name in Role._value2member_map_)
        user._rwa_roles = cached
    return cached


def user_has_role(user: AbstractBaseUser | AnonymousUser, *roles: Role) -> bool:
    """True when the user holds any of `roles`, or is an admin."""
    held = user_roles(user)
    return Role.ADMIN in held or any(role in held for role in roles)
