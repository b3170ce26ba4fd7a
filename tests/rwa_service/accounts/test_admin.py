"""The user admin: for the admin role only, with roles and privileges read-only; no Group admin at all."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

USERS = "/admin/auth/user/"


@pytest.fixture
def staff(users):
    for name in ["operator", "compliance", "auditor"]:
        users[name].is_staff = True
        users[name].save(update_fields=["is_staff"])
    return users


def test_the_group_admin_is_gone(client, users):
    assert not admin.site.is_registered(Group)
    client.force_login(users["admin"])
    assert client.get("/admin/auth/group/").status_code == 404


def test_the_admin_role_manages_users_with_roles_and_privileges_read_only(client, users):
    target = users["operator"]
    client.force_login(users["admin"])

    assert client.get(USERS).status_code == 200
    page = client.get(f"{USERS}{target.pk}/change/").content.decode()

    assert 'name="username"' in page and 'name="email"' in page
    for field in ("groups", "is_superuser", "user_permissions"):
        assert f'name="{field}"' not in page, field


def test_posting_groups_or_superuser_through_the_user_admin_changes_neither(client, users):
    target = users["operator"]
    compliance = Group.objects.get(name="compliance")
    client.force_login(users["admin"])
    form = {
        "username": target.username,
        "email": "new@example.com",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [str(compliance.pk)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = client.post(f"{USERS}{target.pk}/change/", form)

    assert response.status_code == 302, response.content[:3000]
    target = get_user_model().objects.get(pk=target.pk)
    assert target.email == "new@example.com"  # the editable fields are saved
    assert not target.is_superuser
    assert list(target.groups.values_list("name", flat=True)) == ["operator"]


@pytest.mark.parametrize("role", ["operator", "compliance", "auditor"])
def test_other_staff_roles_neither_see_nor_open_the_user_admin(client, staff, role):
    client.force_login(staff[role])

    assert USERS not in client.get("/admin/").content.decode()
    assert client.get(USERS).status_code == 403
    assert client.get(f"{USERS}{staff['admin'].pk}/change/").status_code == 403
    assert client.get(f"{USERS}add/").status_code == 403
