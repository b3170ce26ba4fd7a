"""JSON-lines logging through structlog, with the request id bound per request (see `middleware.py`)."""

import logging

import structlog


def _request_id_from_record(logger: object, name: str, event_dict: dict) -> dict:
    """Django logs a request's 4xx/5xx line after the middleware has unbound the id; take it from the request."""
    record = event_dict.get("_record")
    request = getattr(record, "request", None)
    request_id = getattr(request, "request_id", None)
    if request_id and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    return event_dict


_SHARED = [
    structlog.contextvars.merge_contextvars,
    _request_id_from_record,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> logging.Formatter:
    """The formatter every handler uses: one JSON object per line, stdlib and structlog records alike."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


structlog.configure(
    processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
