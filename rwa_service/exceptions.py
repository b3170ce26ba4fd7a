"""The one family of domain errors. Services raise these; `api/errors.py` maps them to problem+json.

Each error carries an HTTP status, a stable machine `code` and a human `detail`; validation errors add `errors`,
a mapping of field name to messages.
"""

from typing import Any


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    status_code = 400
    code = "domain_error"
    title = "Request could not be processed"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors
        self.extra = extra or {}  # further members of the problem document (e.g. a transfer decision)


class ValidationFailed(DomainError):
    status_code = 400
    code = "validation_error"
    title = "Invalid input"


class PermissionRefused(DomainError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Illegal state transition"


class PreconditionFailed(DomainError):
    status_code = 412
    code = "precondition_failed"
    title = "Precondition failed"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"
    title = "Unprocessable request"
