"""Role management: granting and revoking roles, each change audited."""

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_roles
from rwa_service.exceptions import ValidationFailed


@transaction.atomic
def roles_ensure() -> list[str]:
    """Creates any missing role group; returns the names it created."""
    created = []
    for role in Role:
        _, was_created = Group.objects.get_or_create(name=role.value)
        if was_created:
            created.append(role.value)
    return created


@transaction.atomic
def user_role_grant(*, actor: Actor, user: AbstractBaseUser, role: str) -> bool:
    """Gives `user` the role, and for a staff role (any but investor) admin access (`is_staff`); False when they
    already held both. Audited as one `user.role_granted` event covering the role and the staff flag."""
    if role not in Role._value2member_map_:
        raise ValidationFailed(f"'{role}' is not a role.", errors={"role": [f"Choose one of {', '.join(Role)}."]})
    group, _ = Group.objects.get_or_create(name=role)
    locked = type(user).objects.select_for_update(no_key=True).get(pk=user.pk)
    held = locked.groups.filter(pk=group.pk).exists()
    needs_staff = role != Role.INVESTOR and not locked.is_staff
    if held and not needs_staff:
        return False
    before = {"username": locked.get_username(), "roles": sorted(user_roles(locked)), "staff": locked.is_staff}
    if not held:
        locked.groups.add(group)
        locked._rwa_roles = None
    if needs_staff:
        locked.is_staff = True
        locked.save(update_fields=["is_staff"])
    audit_event_record(
        actor=actor,
        action="user.role_granted",
        object_type="user",
        object_id=locked.pk,
        before=before,
        after={"username": locked.get_username(), "roles": sorted(user_roles(locked)), "staff": locked.is_staff},
    )
    user.is_staff, user._rwa_roles = locked.is_staff, None  # the caller's copy reflects the grant
    return True


@transaction.atomic
def user_create(
    *, actor: Actor, username: str, password: str, roles: list[str], email: str = "", staff: bool = False
) -> AbstractBaseUser:
    """Creates a user holding `roles`. Audited as `user.created` (never with the password)."""
    from django.contrib.auth import get_user_model

    unknown = [role for role in roles if role not in Role._value2member_map_]
    if unknown:
        raise ValidationFailed(f"Unknown roles: {', '.join(unknown)}.", errors={"roles": ["Unknown role."]})
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValidationFailed(f"User '{username}' exists.", errors={"username": ["Already taken."]})
    user = user_model.objects.create_user(
        username=username,
        email=email,
        password=password,
        is_staff=staff or Role.ADMIN in roles,
        is_superuser=Role.ADMIN in roles,
    )
    user.groups.add(*Group.objects.filter(name__in=roles))
    audit_event_record(
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=user.pk,
        before=None,
        after={"username": username, "email": email, "roles": sorted(roles), "staff": user.is_staff},
    )
    return user
