"""Liveness and readiness. /healthz touches nothing; /readyz checks the database, the cache and the broker."""

import logging
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger("rwa_service.health")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_broker() -> None:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        _check_filesystem_broker()
        return
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=2,
    ) as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def _check_filesystem_broker() -> None:
    """kombu's filesystem transport "connects" to anything; check its folders really take a message file."""
    from rwa_service.celery import ensure_filesystem_broker_dirs

    ensure_filesystem_broker_dirs()
    for key in ("data_folder_in", "control_folder"):
        probe = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]) / f".readyz-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers; 503 naming each one that did not."""
    results, failed = {}, []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # any failure of a dependency means "not ready", whatever its type
            # The full message (hosts, ports, paths) goes to the log, not to an anonymous caller.
            logger.warning("readiness check %s failed: %s", name, str(exc)[:500])
            results[name] = {"ok": False, "error": type(exc).__name__}
            failed.append(name)
        else:
            results[name] = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    body = {"status": "ok" if not failed else "unavailable", "checks": results, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)
