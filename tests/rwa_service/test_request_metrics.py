"""Per-request metrics: every response counted by method, view and status, timed by view, exceptions by type."""

import pytest
from django.test import Client
from django.urls import path
from prometheus_client import REGISTRY


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_a_response_is_counted_by_view_method_and_status_and_timed(users, client_for):
    labels = {"view": "asset-list", "method": "GET"}
    before = _sample("django_http_responses_total_by_status_view_method_total", status="200", **labels)
    timed = _sample("django_http_requests_latency_seconds_by_view_method_count", **labels)
    by_method = _sample("django_http_requests_total_by_method_total", method="GET")

    assert client_for(users["operator"]).get("/api/v1/assets/").status_code == 200

    assert _sample("django_http_responses_total_by_status_view_method_total", status="200", **labels) == before + 1
    assert _sample("django_http_requests_latency_seconds_by_view_method_count", **labels) == timed + 1
    assert _sample("django_http_requests_total_by_method_total", method="GET") == by_method + 1


@pytest.mark.django_db
def test_an_unknown_path_and_an_odd_method_keep_the_label_sets_bounded():
    name = "django_http_responses_total_by_status_view_method_total"
    odd = {"status": "405", "view": "healthz", "method": "<invalid method>"}
    unknown = {"status": "404", "view": "<unnamed view>", "method": "GET"}
    before = (_sample(name, **odd), _sample(name, **unknown))
    Client().generic("BREW", "/healthz")
    Client().get("/no/such/path/")
    Client().get("/another/unknown/path/")
    assert _sample(name, **odd) == before[0] + 1  # any odd method is one label value, not one per method
    assert _sample(name, **unknown) == before[1] + 2  # every unknown path shares one view label


def _raising_view(request):
    raise LookupError("boom")


urlpatterns = [path("boom/", _raising_view, name="boom")]  # this module is the URLconf of the test below


@pytest.mark.django_db
@pytest.mark.urls("tests.rwa_service.test_request_metrics")
def test_an_exception_a_view_lets_through_is_counted_by_type_and_view():
    before = (
        _sample("django_http_exceptions_total_by_type_total", type="LookupError"),
        _sample("django_http_exceptions_total_by_view_total", view="boom"),
    )
    client = Client(raise_request_exception=False)
    assert client.get("/boom/").status_code == 500
    assert _sample("django_http_exceptions_total_by_type_total", type="LookupError") == before[0] + 1
    assert _sample("django_http_exceptions_total_by_view_total", view="boom") == before[1] + 1
