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
