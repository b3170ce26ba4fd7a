"""Logs are JSON lines carrying the request id, for stdlib and structlog records alike."""

import io
import json
import logging
import sys

import pytest
import structlog
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from rwa_service.logging import json_formatter


def _record(message: str, *args, level: int = logging.WARNING, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("rwa.test", level, __file__, 1, message, args, exc_info)


@pytest.fixture
def bound_request_id():
    structlog.contextvars.bind_contextvars(request_id="rid-log-1")
    yield "rid-log-1"
    structlog.contextvars.unbind_contextvars("request_id")


@pytest.fixture
def captured_lines():
    """Adds a JSON handler to the root logger for the test; yields a function returning the parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def test_stdlib_record_formats_as_one_json_object_with_the_bound_request_id(bound_request_id):
    line = json_formatter().format(_record("hello %s", "world"))

    assert "\n" not in line
    payload = json.loads(line)
    assert payload["event"] == "hello world"
    assert payload["request_id"] == bound_request_id
    assert payload["level"] == "warning"
    assert payload["logger"] == "rwa.test"
    assert payload["timestamp"].endswith("Z")


def test_record_outside_a_request_has_no_request_id():
    payload = json.loads(json_formatter().format(_record("idle")))

    assert "request_id" not in payload
    assert payload["event"] == "idle"


def test_exception_is_rendered_inside_the_json_line(bound_request_id):
    try:
        raise ValueError("kaput")
    except ValueError:
        exc_info = sys.exc_info()

    line = json_formatter().format(_record("failed", level=logging.ERROR, exc_info=exc_info))

    assert len(line.splitlines()) == 1
    payload = json.loads(line)
    assert payload["level"] == "error"
    assert "ValueError: kaput" in payload["exception"]
    assert payload["request_id"] == bound_request_id


def test_structlog_logger_writes_json_with_its_fields_and_request_id(captured_lines, bound_request_id):
    structlog.get_logger("rwa.test.structlog").info("asset_created", asset="RE-1", version=2)

    payload = next(line for line in captured_lines() if line["event"] == "asset_created")
    assert payload["asset"] == "RE-1"
    assert payload["version"] == 2
    assert payload["request_id"] == bound_request_id
    assert payload["level"] == "info"


def test_settings_route_every_handler_through_the_json_formatter():
    logging_config = settings.LOGGING

    assert logging_config["formatters"]["json"]["()"] == "rwa_service.logging.json_formatter"
    assert all(handler["formatter"] == "json" for handler in logging_config["handlers"].values())
    assert "console" in logging_config["root"]["handlers"]


def test_log_emitted_inside_a_view_carries_the_request_id(users, monkeypatch, captured_lines):
    def explode(**kwargs):
        raise RuntimeError("boom secret")

    monkeypatch.setattr("assets.selectors.asset_scope", explode)  # what the asset list reads through
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(users["operator"])

    client.get("/api/v1/assets/", HTTP_X_REQUEST_ID="req-log-500")

    payload = next(line for line in captured_lines() if line["event"] == "unhandled_error")
    assert payload["request_id"] == "req-log-500"
    assert payload["logger"] == "rwa_service.api"
    assert "boom secret" in payload["exception"]


@pytest.mark.django_db
def test_django_request_warning_for_a_404_carries_the_request_id(captured_lines):
    response = Client().get("/api/v1/no-such-collection/", HTTP_X_REQUEST_ID="req-log-404")

    assert response.status_code == 404
    warnings = [line for line in captured_lines() if line.get("logger") == "django.request"]
    assert warnings, captured_lines()
    assert warnings[-1]["level"] == "warning"
    assert "/api/v1/no-such-collection/" in warnings[-1]["event"]
    assert warnings[-1].get("request_id") == "req-log-404"


def test_django_request_warning_for_an_api_403_carries_the_request_id(users, client_for, captured_lines):
    response = client_for(users["norole"]).post("/api/v1/assets/", {}, format="json", HTTP_X_REQUEST_ID="req-log-403")

    assert response.status_code == 403
    warnings = [line for line in captured_lines() if line.get("logger") == "django.request"]
    assert warnings
    assert warnings[-1].get("request_id") == "req-log-403"
