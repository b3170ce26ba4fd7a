"""gunicorn settings shared by `make run`, the benchmark and the container. Environment variables override."""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# One JSON object per line, carrying the request id the application echoed.
access_log_format = (
    '{"event":"request","remote":"%(h)s","method":"%(m)s","path":"%(U)s","query":"%(q)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_ms":%(M)s,"request_id":"%({x-request-id}o)s","user_agent":"%(a)s"}'
)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker: object) -> None:
    """The worker has loaded the application: the URL configuration (every view, serializer and filter it imports)
    is loaded too, then the start-up objects leave the garbage collector's walks (rwa_service.startup_objects)."""
    from django.urls import get_resolver

    from rwa_service.startup_objects import startup_objects_freeze

    get_resolver().url_patterns  # noqa: B018 (imports the URL configuration now rather than on the first request)
    startup_objects_freeze()


# gunicorn's own messages as JSON lines like the application's; access lines are JSON already (format above).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "rwa_service.logging.json_formatter"},
        "plain": {"format": "%(message)s"},
    },
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stdout"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
if accesslog is None:  # GUNICORN_ACCESS_LOG="": gunicorn logs access whenever logconfig_dict is set, so mute it
    logconfig_dict["loggers"]["gunicorn.access"] = {"handlers": [], "level": "CRITICAL", "propagate": False}

    from gunicorn.glogging import Logger

    class NoAccessLogger(Logger):
        """gunicorn's logger with the access log off: nothing is built per request (gunicorn's own would format
        every request's log atoms for the muted logger, because logconfig_dict is set)."""

        def access(self, resp, req, environ, request_time) -> None:
            return None

    logger_class = NoAccessLogger
