"""Request ids: echoed when well-formed, generated otherwise, carried into audit events and problem documents."""

import uuid

import pytest
import structlog
from django.test import Client

from audit.models import AuditEvent
from rwa_service.middleware import current_request_id
from tests.factories import REAL_ESTATE_METADATA
from tests.rwa_service.problems import problem_of

ASSET_PAYLOAD = {
    "name": "Harbour Office",
    "asset_type": "real_estate",
    "jurisdiction": "GB",
    "currency": "GBP",
    "metadata": dict(REAL_ESTATE_METADATA),
}


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize("incoming", ["req-abc-123", "a.b:c_d-E9", "x", "r" * 128, str(uuid.uuid4())])
def test_well_formed_incoming_request_id_is_echoed(incoming):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=incoming)

    assert response.status_code == 200
    assert response["X-Request-ID"] == incoming


def test_request_id_is_generated_as_a_uuid_when_absent():
    first = Client().get("/healthz")
    second = Client().get("/healthz")

    assert _is_uuid(first["X-Request-ID"])
    assert _is_uuid(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "malformed",
    ["has spaces", "r" * 129, "semi;colon", "back\\slash", "<script>", "", "caf\u00e9", "req-1\n"],
    ids=["spaces", "129-chars", "semicolon", "backslash", "angle-brackets", "empty", "non-ascii", "trailing-newline"],
)
def test_malformed_incoming_request_id_is_replaced_by_a_uuid(malformed):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=malformed)

    assert response["X-Request-ID"] != malformed
    assert _is_uuid(response["X-Request-ID"])


def test_request_id_lands_on_audit_events_written_during_the_request(users, client_for):
    response = client_for(users["operator"]).post(
        "/api/v1/assets/", ASSET_PAYLOAD, format="json", HTTP_X_REQUEST_ID="req-abc-123"
    )

    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "req-abc-123"
    event = AuditEvent.objects.last()
    assert event.action == "asset.created"
    assert event.object_id == response.json()["id"]
    assert event.request_id == "req-abc-123"


def test_generated_request_id_lands_on_audit_events_too(users, client_for):
    response = client_for(users["operator"]).post("/api/v1/assets/", ASSET_PAYLOAD, format="json")

    assert response.status_code == 201
    assert AuditEvent.objects.last().request_id == response["X-Request-ID"]
    assert _is_uuid(response["X-Request-ID"])


def test_each_request_writes_its_own_request_id(users, client_for, make_asset):
    client = client_for(users["operator"])
    client.post("/api/v1/assets/", ASSET_PAYLOAD, format="json", HTTP_X_REQUEST_ID="first-request")
    client.post("/api/v1/assets/", ASSET_PAYLOAD, format="json", HTTP_X_REQUEST_ID="second-request")

    assert list(AuditEvent.objects.order_by("-seq").values_list("request_id", flat=True)[:2]) == [
        "second-request",
        "first-request",
    ]


def test_request_id_is_the_problem_instance(users, client_for):
    response = client_for(users["norole"]).post(
        "/api/v1/assets/", ASSET_PAYLOAD, format="json", HTTP_X_REQUEST_ID="req-problem-7"
    )

    body = problem_of(response, status=403, code="permission_denied")
    assert body["instance"] == "urn:request:req-problem-7"
    assert response["X-Request-ID"] == "req-problem-7"


def test_generated_request_id_is_the_problem_instance(db):
    response = Client().get("/api/v1/assets/", HTTP_X_REQUEST_ID="bad id")

    body = problem_of(response, status=401, code="not_authenticated")
    assert _is_uuid(response["X-Request-ID"])
    assert body["instance"] == f"urn:request:{response['X-Request-ID']}"


def test_request_id_context_is_cleared_after_the_request():
    Client().get("/healthz", HTTP_X_REQUEST_ID="leak-check")

    assert current_request_id() == ""
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_audit_events_written_outside_a_request_have_no_request_id(users, make_asset):
    make_asset("draft")

    assert AuditEvent.objects.last().request_id == ""
