"""Bearer authentication reads the user through a cache that any change to the user or their roles evicts."""

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory


def _bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def test_a_cached_user_costs_no_query_for_authentication_or_roles(db):
    user = UserFactory(roles=["auditor"])
    client = _bearer(user)
    assert client.get("/api/v1/auth/me/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/auth/me/")
    assert response.json()["roles"] == ["auditor"]
    assert not [q for q in queries.captured_queries if "auth_user" in q["sql"] or "auth_group" in q["sql"]]


def test_deactivating_a_user_refuses_their_token_at_once(db):
    user = UserFactory(roles=["auditor"])
    client = _bearer(user)
    assert client.get("/api/v1/assets/").status_code == 200
    user.is_active = False
    user.save()
    response = client.get("/api/v1/assets/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_revoking_a_role_takes_effect_on_the_next_request(db):
    user = UserFactory(roles=["auditor"])
    client = _bearer(user)
    assert client.get("/api/v1/assets/").status_code == 200
    user.groups.remove(Group.objects.get(name="auditor"))
    assert client.get("/api/v1/assets/").status_code == 403


def test_granting_a_role_through_the_group_side_takes_effect_at_once(db):
    user = UserFactory(roles=["investor"])
    client = _bearer(user)
    assert client.post("/api/v1/assets/", {}, format="json").status_code == 403
    Group.objects.get_or_create(name="operator")[0].user_set.add(user)
    assert client.post("/api/v1/assets/", {}, format="json").status_code == 400  # now allowed; the body is invalid


def test_a_deleted_user_is_refused(db):
    user = UserFactory(roles=["auditor"])
    client = _bearer(user)
    assert client.get("/api/v1/assets/").status_code == 200
    user.delete()
    assert client.get("/api/v1/assets/").status_code == 401


def test_a_token_verified_once_is_still_refused_once_it_expires(db, monkeypatch):
    from datetime import timedelta

    from rwa_service.accounts import authentication

    user = UserFactory(roles=["auditor"])
    client = _bearer(user)
    assert client.get("/api/v1/assets/").status_code == 200  # verified and kept
    later = authentication.aware_utcnow() + timedelta(minutes=16)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow", lambda: later)
    response = client.get("/api/v1/assets/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_a_tampered_token_is_refused_even_when_the_genuine_one_was_verified(db):
    user = UserFactory(roles=["auditor"])
    token = str(RefreshToken.for_user(user).access_token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/assets/").status_code == 200
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert client.get("/api/v1/assets/").status_code == 401


def test_each_request_gets_its_own_copy_of_the_cached_user(db):
    from rwa_service.accounts.authentication import CachedJWTAuthentication

    user = UserFactory(roles=["auditor"])
    auth = CachedJWTAuthentication()
    token = auth.get_validated_token(str(RefreshToken.for_user(user).access_token).encode())
    first = auth.get_user(token)
    first.first_name = "changed by one request"
    second = auth.get_user(token)
    assert second.pk == user.pk and second is not first and second.first_name != "changed by one request"
    assert second._state is not first._state and second._state.db == first._state.db


def test_a_user_changed_behind_the_caches_back_is_seen_after_the_local_lifetime(db, settings):
    """Another process's change evicts the shared entry; this process's own copy lives USER_LOCAL_CACHE_SECONDS."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from rwa_service.accounts import authentication

    settings.USER_LOCAL_CACHE_SECONDS = 0  # no local copy: the shared cache's eviction is seen at once
    monkeypatched = authentication._local
    authentication._local = None
    try:
        user = UserFactory(roles=["auditor"])
        client = _bearer(user)
        assert client.get("/api/v1/assets/").status_code == 200
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal, as if elsewhere
        cache.delete(authentication._key(user.pk))  # what the other process's eviction does
        assert client.get("/api/v1/assets/").status_code == 401
    finally:
        authentication._local = monkeypatched
