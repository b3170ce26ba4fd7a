"""Per-request Prometheus metrics at a fraction of django-prometheus' middleware cost.

django-prometheus' Before/After middlewares update about fifteen labelled series per request (transport, charset,
body sizes, ...), which on the API's hot reads cost more CPU than authenticating the caller. This one middleware
keeps the series that answer operational questions, under django-prometheus' own metric names (so its dashboards
still work): requests by method, responses by status/view/method, latency by view/method, exceptions by type and
view. The labelled children are looked up once per (method, view, status) and reused. /metrics is still
django-prometheus' view, which also exports its database, cache and migration metrics.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import Metrics

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_UNNAMED = "<unnamed view>"


def _labels(request: HttpRequest) -> tuple[str, str]:
    method = request.method if request.method in _METHODS else "<invalid method>"
    match = getattr(request, "resolver_match", None)
    return method, (match.view_name if match is not None and match.view_name else _UNNAMED)


class RequestMetricsMiddleware:
    """Counts and times every request; put it first in MIDDLEWARE so that the time covers the others."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = Metrics.get_instance()
        self._children: dict[tuple[str, str, int], tuple] = {}  # bounded: methods × URL patterns × statuses

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method, view = _labels(request)
        key = (method, view, response.status_code)
        children = self._children.get(key)
        if children is None:
            metrics = self.metrics
            children = self._children.setdefault(
                key,
                (
                    metrics.requests_by_method.labels(method=method),
                    metrics.responses_by_status_view_method.labels(
                        status=str(response.status_code), view=view, method=method
                    ),
                    metrics.requests_latency_by_view_method.labels(view=view, method=method),
                ),
            )
        children[0].inc()
        children[1].inc()
        children[2].observe(elapsed)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """An exception a view let through (it becomes a 500 further out): counted by type and view."""
        _, view = _labels(request)
        self.metrics.exceptions_by_type.labels(type=type(exception).__name__).inc()
        self.metrics.exceptions_by_view.labels(view=view).inc()
