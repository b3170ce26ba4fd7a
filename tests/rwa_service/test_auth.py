"""JWT obtain / refresh (rotating) / blacklist, `auth/me/`, bearer use, and session login for the browsable API."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import UserFactory
from tests.rwa_service.problems import problem_of

PASSWORD = "pass-word-123"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
BLACKLIST = "/api/v1/auth/token/blacklist/"
ME = "/api/v1/auth/me/"


def _obtain(user) -> dict:
    response = APIClient().post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_obtain_returns_access_and_refresh_for_a_real_password(users):
    tokens = _obtain(users["operator"])

    assert set(tokens) == {"access", "refresh"}
    assert AccessToken(tokens["access"])["user_id"] in (users["operator"].pk, str(users["operator"].pk))
    assert RefreshToken(tokens["refresh"])["token_type"] == "refresh"
    users["operator"].refresh_from_db()
    assert users["operator"].last_login is not None


def test_obtain_with_a_wrong_password_is_401_problem_without_tokens(users):
    response = APIClient().post(TOKEN, {"username": users["operator"].username, "password": "nope"}, format="json")

    body = problem_of(response, status=401, code="authentication_failed")
    assert "access" not in body and "refresh" not in body


def test_obtain_without_credentials_is_400_validation_problem(db):
    response = APIClient().post(TOKEN, {}, format="json")

    body = problem_of(response, status=400, code="validation_error")
    assert {"username", "password"} <= set(body["errors"])


def test_access_token_lives_at_most_fifteen_minutes(users):
    access = AccessToken(_obtain(users["operator"])["access"])

    assert 0 < access["exp"] - access["iat"] <= 15 * 60


def test_refresh_rotates_and_the_old_refresh_token_is_then_refused(users):
    first = _obtain(users["operator"])

    response = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    rotated = response.json()
    assert rotated["refresh"] != first["refresh"]
    assert AccessToken(rotated["access"])["user_id"] in (users["operator"].pk, str(users["operator"].pk))
    replay = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    problem_of(replay, status=401, code="authentication_failed")
    assert "access" not in replay.json()
    again = APIClient().post(REFRESH, {"refresh": rotated["refresh"]}, format="json")
    assert again.status_code == 200


def test_blacklisted_refresh_token_is_refused(users):
    tokens = _obtain(users["operator"])

    logout = APIClient().post(BLACKLIST, {"refresh": tokens["refresh"]}, format="json")

    assert logout.status_code == 200, logout.content
    response = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    problem_of(response, status=401, code="authentication_failed")
    assert "blacklist" in response.json()["detail"].lower()


def test_garbage_refresh_token_is_401_problem(db):
    response = APIClient().post(REFRESH, {"refresh": "garbage"}, format="json")

    problem_of(response, status=401, code="authentication_failed")


def test_bearer_access_token_authenticates_api_calls(users, make_asset):
    asset = make_asset("draft")
    tokens = _obtain(users["operator"])

    response = _bearer(tokens["access"]).get("/api/v1/assets/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(asset.pk)]


def test_expired_access_token_is_401_problem(users):
    access = AccessToken.for_user(users["operator"])
    access.set_exp(lifetime=-timedelta(seconds=1))

    response = _bearer(str(access)).get("/api/v1/assets/")

    problem_of(response, status=401, code="authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_refresh_token_is_not_accepted_as_a_bearer_access_token(users):
    tokens = _obtain(users["operator"])

    response = _bearer(tokens["refresh"]).get("/api/v1/assets/")

    problem_of(response, status=401, code="authentication_failed")


def test_me_returns_username_sorted_roles_and_no_investor(db):
    user = UserFactory(username="multi-role", roles=["valuer", "auditor", "compliance"])
    tokens = _obtain(user)

    response = _bearer(tokens["access"]).get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "multi-role"
    assert body["id"] == user.pk
    assert body["email"] == "multi-role@example.com"
    assert body["roles"] == ["auditor", "compliance", "valuer"]
    assert body["investor"] is None


def test_me_for_a_superuser_includes_admin(users, client_for):
    response = client_for(users["admin"]).get(ME)

    assert response.status_code == 200
    assert "admin" in response.json()["roles"]


def test_me_for_a_signed_in_user_without_roles_answers_with_no_roles(users, client_for):
    response = client_for(users["norole"]).get(ME)

    assert response.status_code == 200, response.content
    assert response.json()["roles"] == []
    assert response.json()["username"] == "norole-user"


@pytest.mark.django_db
def test_me_for_anonymous_is_401_problem():
    response = APIClient().get(ME)

    problem_of(response, status=401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_serves_the_browsable_api_as_html(users, make_asset):
    asset = make_asset("draft")
    client = APIClient()
    assert client.login(username=users["operator"].username, password=PASSWORD)

    response = client.get("/api/v1/assets/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<html" in html.lower()
    assert asset.reference in html


@pytest.mark.django_db
def test_browsable_api_login_page_is_served():
    response = APIClient().get("/api-auth/login/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'name="password"' in response.content.decode()
