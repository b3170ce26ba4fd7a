"""Every error leaves the API as application/problem+json (RFC 9457), with the request id as `instance`."""

import json
import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from assets.models import Asset
from audit.models import AuditEvent
from tests.factories import REAL_ESTATE_METADATA
from tests.rwa_service.problems import problem_of, request_id_of

ASSETS = "/api/v1/assets/"


def _asset_payload(**overrides) -> dict:
    return {
        "name": "Harbour Office",
        "asset_type": "real_estate",
        "jurisdiction": "GB",
        "currency": "GBP",
        "metadata": dict(REAL_ESTATE_METADATA),
    } | overrides


@pytest.mark.django_db
def test_anonymous_list_is_401_problem_with_www_authenticate():
    response = APIClient().get(ASSETS)

    body = problem_of(response, status=401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["title"] == "Authentication required"
    request_id_of(response)


@pytest.mark.django_db
def test_invalid_bearer_token_is_401_problem_not_a_500():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = client.get(ASSETS)

    problem_of(response, status=401, code="authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_user_without_role_creating_an_asset_is_403_problem_and_nothing_is_written(users, client_for):
    events_before = AuditEvent.objects.count()

    response = client_for(users["norole"]).post(ASSETS, _asset_payload(), format="json")

    body = problem_of(response, status=403, code="permission_denied")
    assert "WWW-Authenticate" not in response
    assert "role" in body["detail"].lower()
    request_id_of(response)
    assert Asset.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_unknown_asset_id_is_404_problem(users, client_for):
    response = client_for(users["operator"]).get(f"{ASSETS}{uuid.uuid4()}/")

    body = problem_of(response, status=404, code="not_found")
    request_id_of(response)
    assert "errors" not in body


def test_malformed_asset_id_is_404_problem_not_500(users, client_for):
    response = client_for(users["operator"]).get(f"{ASSETS}not-a-uuid/")

    problem_of(response, status=404, code="not_found")


@pytest.mark.django_db
def test_unknown_url_under_api_v1_is_404_problem_from_handler404(settings):
    assert settings.DEBUG is False  # handler404 only applies without DEBUG

    response = APIClient().get("/api/v1/no-such-collection/", HTTP_X_REQUEST_ID="missing-route-1")

    body = problem_of(response, status=404, code="not_found")
    assert body["instance"] == "urn:request:missing-route-1"
    assert response["X-Request-ID"] == "missing-route-1"


def test_put_on_an_asset_is_405_problem_and_allow_omits_put(users, client_for, make_asset):
    asset = make_asset("draft")

    response = client_for(users["operator"]).put(f"{ASSETS}{asset.pk}/", _asset_payload(name="Other"), format="json")

    body = problem_of(response, status=405, code="method_not_allowed")
    assert "PUT" in body["detail"]
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert "PUT" not in allowed
    assert {"GET", "PATCH", "DELETE"} <= allowed
    asset.refresh_from_db()
    assert asset.name == "Harbour Office"
    assert asset.version == 1


def test_xml_body_is_415_problem_and_nothing_is_written(users, client_for):
    response = client_for(users["operator"]).post(
        ASSETS, data="<asset><name>X</name></asset>", content_type="application/xml"
    )

    body = problem_of(response, status=415, code="unsupported_media_type")
    assert "application/xml" in body["detail"]
    assert Asset.objects.count() == 0


def test_malformed_json_body_is_400_parse_error_problem(users, client_for):
    response = client_for(users["operator"]).post(ASSETS, data='{"name": ', content_type="application/json")

    problem_of(response, status=400, code="parse_error")
    assert Asset.objects.count() == 0


def test_bad_jurisdiction_is_400_validation_problem_with_field_errors(users, client_for):
    response = client_for(users["operator"]).post(ASSETS, _asset_payload(jurisdiction="XX"), format="json")

    body = problem_of(response, status=400, code="validation_error")
    assert set(body["errors"]) == {"jurisdiction"}
    assert isinstance(body["errors"]["jurisdiction"], list) and body["errors"]["jurisdiction"]
    assert "XX" in body["errors"]["jurisdiction"][0]
    request_id_of(response)
    assert Asset.objects.count() == 0


def test_serializer_validation_errors_are_listed_per_field(users, client_for):
    response = client_for(users["operator"]).post(ASSETS, {"asset_type": "spaceship"}, format="json")

    body = problem_of(response, status=400, code="validation_error")
    assert {"name", "asset_type", "jurisdiction", "currency"} <= set(body["errors"])
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_token_endpoint_is_rate_limited_with_a_429_problem(users, settings):
    settings.LOGIN_RATE_LIMIT = "2/m"
    cache.clear()
    client = APIClient()
    credentials = {"username": users["operator"].username, "password": "wrong-password"}
    try:
        first = client.post("/api/v1/auth/token/", credentials, format="json")
        second = client.post("/api/v1/auth/token/", credentials, format="json")
        third = client.post(
            "/api/v1/auth/token/", {"username": users["operator"].username, "password": "pass-word-123"}, format="json"
        )
    finally:
        cache.clear()

    assert first.status_code == second.status_code == 401
    body = problem_of(third, status=429, code="rate_limited")
    assert "access" not in body and "refresh" not in body
    request_id_of(third)


def test_unexpected_exception_in_an_api_view_is_500_problem_without_internals(users, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom secret")

    monkeypatch.setattr("assets.selectors.asset_list", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(users["operator"])

    response = client.get(ASSETS, HTTP_X_REQUEST_ID="req-500-api")

    body = problem_of(response, status=500, code="server_error")
    text = response.content.decode()
    assert "boom secret" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    assert body["instance"] == "urn:request:req-500-api"


@pytest.mark.django_db
def test_unexpected_exception_outside_drf_is_500_problem_from_handler500(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom secret")

    monkeypatch.setattr("rwa_service.health.JsonResponse", explode)
    client = APIClient(raise_request_exception=False)

    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-500-plain")

    body = problem_of(response, status=500, code="server_error")
    text = response.content.decode()
    assert "boom secret" not in text
    assert "Traceback" not in text
    assert body["instance"] == "urn:request:req-500-plain"
    assert response["X-Request-ID"] == "req-500-plain"


def test_problem_body_is_plain_json_even_when_the_client_accepts_anything(users, client_for):
    response = client_for(users["norole"]).post(ASSETS, _asset_payload(), format="json", HTTP_ACCEPT="*/*")

    problem_of(response, status=403, code="permission_denied")
    assert json.loads(response.content)["status"] == 403
