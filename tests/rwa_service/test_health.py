"""Liveness, readiness and metrics. The "dependency down" cases run in a subprocess against a really closed port."""

import json
import textwrap

import pytest
from django.test import Client

from rwa_service.celery import ensure_filesystem_broker_dirs
from tests.rwa_service.problems import clean_env, last_json_line, run_python

PROBE = textwrap.dedent(
    """
    import json
    import django

    django.setup()
    from django.test import Client

    client = Client()
    ready = client.get("/readyz")
    health = client.get("/healthz")
    print(json.dumps({
        "readyz_status": ready.status_code,
        "readyz": json.loads(ready.content),
        "healthz_status": health.status_code,
        "healthz": json.loads(health.content),
    }))
    """
)


def _probe(tmp_path, **env_overrides) -> dict:
    """Runs the probe under test settings with SQLite and a filesystem broker in `tmp_path`, plus `env_overrides`."""
    defaults = {
        "DJANGO_SETTINGS_MODULE": "rwa_service.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
    }
    env = clean_env(**(defaults | env_overrides))
    result = run_python(PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return last_json_line(result.stdout)


@pytest.fixture
def broker_dirs():
    """kombu's filesystem transport (the default broker under test settings) needs its folders."""
    ensure_filesystem_broker_dirs()


def test_healthz_answers_ok_without_touching_dependencies():
    # No database mark: pytest-django refuses any query, so this also proves /healthz makes none.
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_refuses_post():
    response = Client().post("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET"


@pytest.mark.django_db
def test_readyz_reports_each_dependency_ok(broker_dirs):
    response = Client().get("/readyz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert isinstance(check["ms"], int | float) and check["ms"] >= 0
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_503_naming_the_cache_when_the_cache_fails(broker_dirs, monkeypatch):
    def broken_set(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr("rwa_service.health.cache.set", broken_set)

    response = Client().get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["cache"]["error"] == "ConnectionError"  # the kind of failure, never its internals
    assert "cache is down" not in response.content.decode()
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_503_naming_the_database_when_it_is_unreachable_while_healthz_stays_200(tmp_path):
    result = _probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")

    assert result["readyz_status"] == 503
    assert result["readyz"]["status"] == "unavailable"
    assert "database" in result["readyz"]["failed"]
    assert result["readyz"]["checks"]["database"]["ok"] is False
    assert result["readyz"]["checks"]["cache"]["ok"] is True
    assert result["healthz_status"] == 200
    assert result["healthz"] == {"status": "ok"}


def test_readyz_is_503_naming_the_cache_when_redis_is_unreachable_while_healthz_stays_200(tmp_path):
    result = _probe(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")

    assert result["readyz_status"] == 503
    assert result["readyz"]["failed"] == ["cache"]
    assert result["readyz"]["checks"]["cache"]["ok"] is False
    assert result["readyz"]["checks"]["database"]["ok"] is True
    assert result["healthz_status"] == 200
    assert result["healthz"] == {"status": "ok"}


def test_readyz_is_503_naming_the_broker_when_a_redis_broker_is_unreachable(tmp_path):
    result = _probe(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:1/0")

    assert result["readyz_status"] == 503
    assert result["readyz"]["failed"] == ["broker"]
    assert result["readyz"]["checks"]["broker"]["ok"] is False
    assert result["healthz_status"] == 200


def test_readyz_is_503_naming_the_broker_when_the_filesystem_broker_folder_cannot_exist(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the broker folder should be")

    result = _probe(tmp_path, CELERY_BROKER_DIR=str(blocker / "broker"))

    assert result["readyz_status"] == 503, json.dumps(result["readyz"])
    assert result["readyz"]["failed"] == ["broker"]
    assert result["healthz_status"] == 200


def test_readyz_is_200_in_a_fresh_checkout_without_broker_folders(tmp_path):
    result = _probe(tmp_path, CELERY_BROKER_DIR=str(tmp_path / "fresh" / "broker"))

    assert result["readyz_status"] == 200, json.dumps(result["readyz"])
    assert result["readyz"]["failed"] == []


@pytest.mark.django_db
def test_metrics_exposes_prometheus_text():
    Client().get("/healthz")

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "# TYPE" in text
