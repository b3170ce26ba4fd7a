"""Refresh-token rotation: one refresh token buys exactly one new pair, even when refreshes race."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import UserFactory
from tests.rwa_service.problems import problem_of

PASSWORD = "pass-word-123"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
RACERS = 6


def _obtain(user) -> dict:
    response = APIClient().post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_new_pair():
    user = UserFactory(username="racer", roles=["operator"])
    refresh = _obtain(user)["refresh"]
    barrier = threading.Barrier(RACERS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def race() -> None:
        try:
            barrier.wait(timeout=30)
            response = _refresh(refresh)
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [401] * (RACERS - 1), answers
    winner = next(body for status, body in answers if status == 200)
    assert all(body["code"] == "authentication_failed" for status, body in answers if status == 401)
    # Only the winner's refresh token is outstanding and usable; the raced one is blacklisted once.
    jti = RefreshToken(refresh, verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).count() == 1
    assert OutstandingToken.objects.filter(user=user).count() == 2  # the login's and the one rotation
    assert _refresh(winner["refresh"]).status_code == 200


def test_refresh_returns_a_pair_for_the_same_user_and_records_the_new_token(users):
    first = _obtain(users["operator"])

    response = _refresh(first["refresh"])

    assert response.status_code == 200, response.content
    body = response.json()
    rotated = RefreshToken(body["refresh"])
    assert rotated["user_id"] in (users["operator"].pk, str(users["operator"].pk))
    assert AccessToken(body["access"])["user_id"] == rotated["user_id"]
    outstanding = OutstandingToken.objects.get(jti=rotated["jti"])
    assert (outstanding.user, outstanding.token) == (users["operator"], body["refresh"])
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(first["refresh"], verify=False)["jti"]).exists()


def test_a_refresh_token_of_a_deleted_user_is_401_not_500(db):
    user = UserFactory(username="leaver", roles=["operator"])
    refresh = _obtain(user)["refresh"]
    user.delete()

    response = _refresh(refresh)

    problem_of(response, status=401, code="authentication_failed")
    assert "access" not in response.json()


def test_a_refresh_token_of_a_deactivated_user_is_401(db):
    user = UserFactory(username="suspended-user", roles=["operator"])
    refresh = _obtain(user)["refresh"]
    user.is_active = False
    user.save(update_fields=["is_active"])

    problem_of(_refresh(refresh), status=401, code="authentication_failed")


def test_a_validly_signed_refresh_token_the_server_never_issued_is_refused(db):
    user = UserFactory(username="ghost", roles=["operator"])
    token = RefreshToken.for_user(user)
    OutstandingToken.objects.filter(jti=token["jti"]).delete()  # as if issued before the blacklist app existed

    response = _refresh(str(token))

    body = problem_of(response, status=401, code="authentication_failed")
    assert "unknown" in body["detail"].lower()
