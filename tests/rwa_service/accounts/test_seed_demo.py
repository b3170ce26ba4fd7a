"""`manage.py seed_demo`: the demo users and assets, once, every asset with its audit trail; refused in production."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assets.lifecycle import TRANSITIONS
from assets.models import Asset
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from rwa_service.accounts.roles import Role, user_roles
from rwa_service.demo import DEMO_ASSETS, DEMO_USERS


def _seed(monkeypatch, password: str | None = "demo-pass-word-123") -> str:
    if password is None:
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DEMO_PASSWORD", password)
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_seeds_once_and_a_second_run_seeds_nothing(monkeypatch):
    first = _seed(monkeypatch)
    users, assets, events = get_user_model().objects.count(), Asset.objects.count(), AuditEvent.objects.count()

    second = _seed(monkeypatch)

    assert "Demo data seeded" in first and "DEMO_PASSWORD" in first
    assert "nothing seeded" in second
    assert (get_user_model().objects.count(), Asset.objects.count(), AuditEvent.objects.count()) == (
        users,
        assets,
        events,
    )
    assert assets == len(DEMO_ASSETS)


@pytest.mark.django_db
def test_the_demo_users_hold_their_roles_and_sign_in_with_the_password(monkeypatch):
    _seed(monkeypatch)

    for username, role in DEMO_USERS.items():
        user = get_user_model().objects.get(username=username)
        assert role in user_roles(user), username
        assert user.check_password("demo-pass-word-123")
        assert user.is_staff == (role != Role.INVESTOR)


@pytest.mark.django_db
def test_without_demo_password_a_generated_one_is_shown_once(monkeypatch):
    output = _seed(monkeypatch, password=None)

    shown = output.split("Generated demo password (shown once): ")[1].split()[0]
    assert get_user_model().objects.get(username="demo-operator").check_password(shown)


@pytest.mark.django_db
def test_every_seeded_asset_has_its_audit_events(monkeypatch):
    _seed(monkeypatch)

    for name, *_rest, path in DEMO_ASSETS:
        asset = Asset.objects.get(name=name)
        events = list(AuditEvent.objects.filter(object_type="asset", object_id=str(asset.pk)).order_by("seq"))
        steps = [step[0] if isinstance(step, tuple) else step for step in path]
        expected = ["asset.created"] + [TRANSITIONS[step].action for step in steps]
        # The lifecycle path, then whatever the demo's tokenization recorded (the gold bars are tokenized).
        assert [event.action for event in events][: len(expected)] == expected, name
        assert {event.action for event in events[len(expected) :]} <= {"asset.tokenized"}, name
        assert (events[-1].after["status"], events[-1].after["version"]) == (asset.status, asset.version), name
    created_users = AuditEvent.objects.filter(action="user.created").values_list("after__username", flat=True)
    assert sorted(created_users) == sorted(DEMO_USERS)
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_it_is_refused_where_demo_data_is_not_allowed(monkeypatch, settings):
    settings.DEMO_ALLOWED = False

    with pytest.raises(CommandError, match="refused"):
        _seed(monkeypatch)

    assert not get_user_model().objects.filter(username__startswith="demo-").exists()
    assert not Asset.objects.exists() and not AuditEvent.objects.exists()
