"""Request id middleware: accepts and echoes `X-Request-ID`, generates one otherwise, and binds it to logs."""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_current_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request being served on this thread/task, or '' outside a request."""
    return _current_request_id.get()


class RequestIdMiddleware:
    """Gives every request an id: the caller's `X-Request-ID` when well-formed, a new UUID otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID.fullmatch(incoming) else str(uuid.uuid4())
        request.request_id = request_id
        token = _current_request_id.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            _current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
