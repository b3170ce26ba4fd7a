"""Idempotent POSTs for views: the `Idempotency-Key` header, the stored first answer, bounded retries."""

from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from rwa_service.api.errors import PROBLEM_CONTENT_TYPE, problem_body
from rwa_service.exceptions import DomainError
from rwa_service.idempotency.services import AnswerSlot, idempotent_call
from rwa_service.transactions import run_with_retries

HEADER = "Idempotency-Key"


def _request_body(request: Request) -> Any:
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


def idempotent_response(
    request: Request, run: Callable[[], tuple[int, Any]], *, slot: AnswerSlot | None = None
) -> Response:
    """Runs `run` (returning status and body) at most once per user and key; replays answer identically and say
    so in `Idempotent-Replayed`. Serialization failures and deadlocks are retried a bounded number of times.
    `slot`: the service inside `run` may store the answer itself (AnswerSlot)."""

    def on_error(exc: DomainError) -> tuple[int, Any]:
        body = problem_body(
            status=exc.status_code,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            request_id=getattr(request, "request_id", ""),
            **exc.extra,
        )
        return exc.status_code, body

    status, body, replayed = run_with_retries(
        lambda: idempotent_call(
            user=request.user,
            key=request.headers.get(HEADER),
            method=request.method,
            path=request.path,
            body=_request_body(request),
            run=run,
            on_error=on_error,
            slot=slot,
        )
    )
    response = Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE if status >= 400 else None)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
