"""`manage.py bootstrap_roles`: role groups exist, `--grant user:role` grants (audited, with admin access for staff
roles) and refuses unknown users and roles."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from rwa_service.accounts.roles import Role, user_roles
from tests.factories import UserFactory


def _run(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_roles", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_missing_role_groups_and_reports_when_all_are_present():
    Group.objects.filter(name="valuer").delete()

    assert "roles created: valuer" in _run()
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}
    assert "none (all present)" in _run()


@pytest.mark.django_db
def test_grant_gives_the_role_and_admin_access_in_one_audited_event():
    alice = UserFactory(username="alice")
    assert not alice.is_staff

    output = _run("--grant", "alice:compliance")

    assert "alice: compliance granted" in output
    alice.refresh_from_db()
    assert alice.is_staff and not alice.is_superuser
    assert user_roles(alice) == {Role.COMPLIANCE}
    (event,) = AuditEvent.objects.filter(action="user.role_granted", object_id=str(alice.pk))
    assert event.actor == "system:bootstrap_roles"
    assert event.before == {"username": "alice", "roles": [], "staff": False}
    assert event.after == {"username": "alice", "roles": ["compliance"], "staff": True}


@pytest.mark.django_db
def test_granting_investor_gives_no_admin_access():
    UserFactory(username="ivan")

    _run("--grant", "ivan:investor")

    ivan = UserFactory._meta.model.objects.get(username="ivan")
    assert not ivan.is_staff and user_roles(ivan) == {Role.INVESTOR}
    assert AuditEvent.objects.get(action="user.role_granted").after["staff"] is False


@pytest.mark.django_db
def test_several_grants_at_once():
    UserFactory(username="bob")

    output = _run("--grant", "bob:operator", "--grant", "bob:valuer")

    assert "bob: operator granted" in output and "bob: valuer granted" in output
    assert user_roles(UserFactory._meta.model.objects.get(username="bob")) == {Role.OPERATOR, Role.VALUER}
    assert AuditEvent.objects.filter(action="user.role_granted").count() == 2


@pytest.mark.django_db
def test_a_role_already_held_is_reported_and_records_nothing():
    UserFactory(username="carol")
    _run("--grant", "carol:auditor")
    events = AuditEvent.objects.count()

    assert "carol: auditor already held" in _run("--grant", "carol:auditor")
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_role_held_without_admin_access_gets_it_on_a_second_grant():
    dave = UserFactory(username="dave", roles=["operator"])
    assert not dave.is_staff

    assert "dave: operator granted" in _run("--grant", "dave:operator")

    dave.refresh_from_db()
    assert dave.is_staff
    event = AuditEvent.objects.get(action="user.role_granted")
    assert (event.before["staff"], event.after["staff"]) == (False, True)
    assert event.before["roles"] == event.after["roles"] == ["operator"]


@pytest.mark.django_db
def test_an_unknown_user_is_refused():
    with pytest.raises(CommandError, match="No user 'nobody'"):
        _run("--grant", "nobody:operator")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_an_unknown_role_is_refused_and_grants_nothing():
    erin = UserFactory(username="erin")

    with pytest.raises(CommandError, match="'wizard' is not a role"):
        _run("--grant", "erin:wizard")

    erin.refresh_from_db()
    assert not erin.is_staff and user_roles(erin) == frozenset()
    assert not Group.objects.filter(name="wizard").exists()
    assert not AuditEvent.objects.exists()
