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
    assert third["Retry-After"] == "60"
    request_id_of(third)


def test_unexpected_exception_in_an_api_view_is_500_problem_without_internals(users, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom secret")

    monkeypatch.setattr("assets.selectors.asset_scope", explode)  # what the asset list reads through
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


def test_a_multipart_body_over_the_memory_limit_is_413_problem_not_500(users, client_for, make_asset, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    asset = make_asset("draft")
    form = {"name": "x" * 5000, "kind": "other", "uri": "s3://b/k", "sha256": "a" * 64}

    response = client_for(users["operator"]).post(f"{ASSETS}{asset.pk}/documents/", form, format="multipart")

    body = problem_of(response, status=413, code="payload_too_large")
    assert "DATA_UPLOAD" not in body["detail"]
    request_id_of(response)


def test_other_suspicious_requests_are_400_bad_request_problems(users, client_for, make_asset, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    asset = make_asset("draft")
    form = {f"field{n}": "x" for n in range(10)} | {"name": "Deed", "kind": "other"}

    response = client_for(users["operator"]).post(f"{ASSETS}{asset.pk}/documents/", form, format="multipart")

    problem_of(response, status=400, code="bad_request")


@pytest.mark.django_db
def test_a_disallowed_host_is_400_problem_from_handler400():
    response = APIClient().get("/healthz", HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="bad-host-1")

    body = problem_of(response, status=400, code="bad_request")
    assert body["instance"] == "urn:request:bad-host-1"
    assert "evil.example" not in body["detail"]


@pytest.mark.django_db
def test_a_form_body_over_the_memory_limit_outside_drf_is_413_problem(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = APIClient().post(
        "/admin/login/", "username=" + "x" * 5000, content_type="application/x-www-form-urlencoded"
    )

    problem_of(response, status=413, code="payload_too_large")


def test_permission_denied_outside_drf_is_403_problem_from_handler403(users):
    from django.test import Client

    users["valuer"].is_staff = True
    users["valuer"].save(update_fields=["is_staff"])
    client = Client()
    client.force_login(users["valuer"])

    response = client.get("/admin/assets/asset/add/")

    problem_of(response, status=403, code="permission_denied")


def test_a_post_without_its_csrf_token_is_403_csrf_problem(users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["operator"])

    response = client.post("/admin/logout/", {})

    body = problem_of(response, status=403, code="csrf_failed")
    assert "csrf" in body["detail"].lower()


@pytest.mark.parametrize("view_name", ["ratelimited_view", "permission_denied_view"])
def test_a_rate_limit_outside_drf_is_429_with_retry_after(view_name):
    from django.test import RequestFactory
    from django_ratelimit.exceptions import Ratelimited

    from rwa_service.api import errors

    response = getattr(errors, view_name)(RequestFactory().post("/somewhere"), Ratelimited())

    problem_of(response, status=429, code="rate_limited")
    assert response["Retry-After"] == "60"


@pytest.mark.django_db
def test_the_browsable_api_shows_an_error_as_an_html_page_labelled_html(users):
    anonymous = APIClient().get(ASSETS, HTTP_ACCEPT="text/html")
    assert anonymous.status_code == 401 and anonymous["Content-Type"].startswith("text/html")
    assert b"not_authenticated" in anonymous.content or b"Authentication" in anonymous.content
    json_client = APIClient().get(ASSETS)
    assert json_client.status_code == 401 and json_client["Content-Type"] == "application/problem+json"
