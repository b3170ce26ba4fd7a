"""Helpers shared by the plumbing tests: reading problem+json documents and the subprocess environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

from rwa_service.api.errors import PROBLEM_TYPE_BASE

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def problem_of(response, *, status: int, code: str) -> dict:
    """Asserts `response` is an RFC 9457 problem document with `status` and `code`; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0].strip() == "application/problem+json"
    body = json.loads(response.content)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == PROBLEM_TYPE_BASE + code.replace("_", "-")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def request_id_of(response) -> str:
    """The request id the server answered with, as carried by the problem's `instance`."""
    body = json.loads(response.content)
    assert body["instance"] == f"urn:request:{response['X-Request-ID']}"
    return response["X-Request-ID"]


def clean_env(**overrides: str | None) -> dict[str, str]:
    """The current environment minus the settings the subprocess tests control, plus `overrides` (None drops)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "PII_ENCRYPTION_KEYS",
            "JWT_SIGNING_KEY",
            "CELERY_BROKER_URL",
            "CELERY_BROKER_DIR",
            "SQLITE_PATH",
            "PYTEST_CURRENT_TEST",
        }
    }
    env.update({key: value for key, value in overrides.items() if value is not None})
    return env


def run_python(code: str, *, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    """Runs `python -c code` from the repository root with exactly `env`."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def last_json_line(text: str) -> dict:
    """The last line of `text` that is a JSON object (log lines may precede it)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON line in output:\n{text}")
