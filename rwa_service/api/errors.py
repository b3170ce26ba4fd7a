"""One exception handler: every API error leaves as `application/problem+json` (RFC 9457).

Body: `type`, `title`, `status`, `detail`, `code`, `instance` (the request id) and, for validation, `errors`.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from rwa_service.exceptions import DomainError

logger = logging.getLogger("rwa_service.api")
PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://rwa-asset-service.example/problems/"
RATE_LIMIT_RETRY_AFTER_SECONDS = 60  # the login limit is per minute

_DRF_CODES: dict[type[drf.APIException], tuple[str, str]] = {
    drf.NotAuthenticated: ("not_authenticated", "Authentication required"),
    drf.AuthenticationFailed: ("authentication_failed", "Authentication failed"),
    drf.PermissionDenied: ("permission_denied", "Permission denied"),
    drf.NotFound: ("not_found", "Not found"),
    drf.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    drf.NotAcceptable: ("not_acceptable", "Not acceptable"),
    drf.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type"),
    drf.Throttled: ("rate_limited", "Too many requests"),
    drf.ParseError: ("parse_error", "Malformed request"),
    drf.ValidationError: ("validation_error", "Invalid input"),
}


def problem_body(*, status: int, code: str, title: str, detail: str, request_id: str = "", **extra: Any) -> dict:
    """The problem document for one error."""
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request_id:
        body["instance"] = f"urn:request:{request_id}"
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def _request_id(context: dict) -> str:
    request = context.get("request")
    return getattr(request, "request_id", "") if request is not None else ""


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_detail(detail[0])
    if isinstance(detail, dict) and detail:
        return _flatten_detail(next(iter(detail.values())))
    return str(detail)


def _from_api_exception(exc: drf.APIException) -> tuple[int, str, str, str, dict | None]:
    code, title = next(
        (pair for cls, pair in _DRF_CODES.items() if isinstance(exc, cls)),
        (exc.default_code, "Request could not be processed"),
    )
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return exc.status_code, code, title, "One or more fields are invalid.", detail
    return exc.status_code, code, title, _flatten_detail(exc.detail), None


def problem_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: maps domain errors, DRF errors and anything unexpected to problem+json."""
    headers: dict[str, str] = {}
    errors, extra = None, {}
    if isinstance(exc, DomainError):
        extra = exc.extra
        status, code, title, detail, errors = exc.status_code, exc.code, exc.title, exc.detail, exc.errors
    elif isinstance(exc, Ratelimited):
        status, code, title, detail = 429, "rate_limited", "Too many requests", "Rate limit exceeded; retry later."
        headers["Retry-After"] = str(RATE_LIMIT_RETRY_AFTER_SECONDS)
    elif isinstance(exc, SuspiciousOperation):
        status, code, title, detail = _suspicious(exc)
    elif isinstance(exc, Http404):
        status, code, title, detail = 404, "not_found", "Not found", "No such object."
    elif isinstance(exc, DjangoPermissionDenied):
        status, code, title, detail = 403, "permission_denied", "Permission denied", str(exc) or "Permission denied."
    elif isinstance(exc, drf.APIException):
        status, code, title, detail, errors = _from_api_exception(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        logger.exception("unhandled_error", exc_info=exc)
        status, code, title = 500, "server_error", "Internal server error"
        detail = "The server could not complete the request; it has been logged."
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    set_rollback()
    body = problem_body(
        status=status, code=code, title=title, detail=detail, request_id=_request_id(context), errors=errors, **extra
    )
    return Response(body, status=status, headers=headers, content_type=_content_type(context))


def _content_type(context: dict) -> str | None:
    """problem+json, except for a person in the browsable API: the page it renders is HTML and says so."""
    renderer = getattr(context.get("request"), "accepted_renderer", None)
    return None if getattr(renderer, "format", None) == "api" else PROBLEM_CONTENT_TYPE


def _suspicious(exc: SuspiciousOperation) -> tuple[int, str, str, str]:
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413; any other suspicious request (too many fields, a
    disallowed host, a malformed upload) is a plain 400 that names no internals."""
    if isinstance(exc, RequestDataTooBig):
        return 413, "payload_too_large", "Payload too large", "The request body is larger than the server accepts."
    return 400, "bad_request", "Bad request", "The request was malformed or not allowed."


def problem_response(request: HttpRequest, *, status: int, code: str, title: str, detail: str) -> JsonResponse:
    """A problem+json response for errors raised outside DRF (URL not found, rate-limited plain views, 500)."""
    body = problem_body(
        status=status, code=code, title=title, detail=detail, request_id=getattr(request, "request_id", "")
    )
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def ratelimited_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """RATELIMIT_VIEW: 429 as a problem document."""
    response = problem_response(
        request, status=429, code="rate_limited", title="Too many requests", detail="Rate limit exceeded."
    )
    response["Retry-After"] = str(RATE_LIMIT_RETRY_AFTER_SECONDS)
    return response


def bad_request_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """handler400: Django's answer to a SuspiciousOperation outside DRF (413 when the body was too big)."""
    status, code, title, detail = _suspicious(
        exception if isinstance(exception, SuspiciousOperation) else SuspiciousOperation()
    )
    return problem_response(request, status=status, code=code, title=title, detail=detail)


def permission_denied_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """handler403: Django's PermissionDenied outside DRF (a rate limit there is still a 429)."""
    if isinstance(exception, Ratelimited):
        return ratelimited_view(request, exception)
    return problem_response(
        request, status=403, code="permission_denied", title="Permission denied", detail="Permission denied."
    )


def csrf_failure_view(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a form post (admin, browsable API) without a valid CSRF token."""
    return problem_response(
        request,
        status=403,
        code="csrf_failed",
        title="CSRF verification failed",
        detail="CSRF verification failed; reload the form and submit it again.",
    )


def not_found_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """handler404 for URLs that match no route."""
    return problem_response(request, status=404, code="not_found", title="Not found", detail="No such resource.")


def server_error_view(request: HttpRequest) -> JsonResponse:
    """handler500: no stack trace ever leaves the server."""
    return problem_response(
        request,
        status=500,
        code="server_error",
        title="Internal server error",
        detail="The server could not complete the request; it has been logged.",
    )
