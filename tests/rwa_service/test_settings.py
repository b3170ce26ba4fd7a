"""Production settings refuse to start without their secrets and pass the deploy checks; roles exist after migrate."""

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.models import Group

from rwa_service.accounts.roles import Role
from tests.rwa_service.problems import REPO_ROOT, clean_env, last_json_line, run_python

PRODUCTION = "rwa_service.settings.production"
SETUP = "import django; django.setup()"
SHOW_SETTINGS = textwrap.dedent(
    """
    import json
    import django

    django.setup()
    from django.conf import settings

    print(json.dumps({
        "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
        "DEBUG": settings.DEBUG,
        "SIGNING_KEY_IS_SECRET_KEY": settings.SIMPLE_JWT["SIGNING_KEY"] == settings.SECRET_KEY,
        "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
        "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
        "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
        "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    }))
    """
)


def _random_key() -> str:
    return secrets.token_urlsafe(48)[:64]


def _production_env(**overrides: str | None) -> dict[str, str]:
    """Everything production requires; settings and `check --deploy` read the URLs without connecting."""
    values = {
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "SECRET_KEY": _random_key(),
        "ALLOWED_HOSTS": "api.example.com",
        "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AUDIT_CHECKPOINT_DIR": "/srv/rwa/audit-checkpoints",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rwa",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
    }
    return clean_env(**(values | overrides))


def test_production_refuses_to_start_without_the_pii_encryption_keys():
    result = run_python(SETUP, env=_production_env(PII_ENCRYPTION_KEYS=None))

    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"AUDIT_SIGNING_KEY": None}, "AUDIT_SIGNING_KEY"),  # and no AUDIT_VERIFY_KEYS either
        ({"AUDIT_SIGNING_KEY": "bm90LTMyLWJ5dGVz"}, "AUDIT_SIGNING_KEY"),
        ({"AUDIT_SIGNING_KEY": "not base64!"}, "AUDIT_SIGNING_KEY"),
        ({"AUDIT_SIGNING_KEY": None, "AUDIT_VERIFY_KEYS": "c2hvcnQ="}, "AUDIT_VERIFY_KEYS"),
        ({"AUDIT_CHECKPOINT_DIR": None}, "AUDIT_CHECKPOINT_DIR"),
    ],
)
def test_production_refuses_to_start_without_valid_audit_keys_and_checkpoint_dir(overrides, named):
    result = run_python(SETUP, env=_production_env(**overrides))

    assert result.returncode != 0
    assert named in result.stderr


def test_production_web_processes_may_hold_only_the_public_verify_keys():
    public = base64.b64encode(os.urandom(32)).decode()  # any 32 bytes pass the format check
    result = run_python(SETUP, env=_production_env(AUDIT_SIGNING_KEY=None, AUDIT_VERIFY_KEYS=public))

    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_database_url():
    result = run_python(SETUP, env=_production_env(DATABASE_URL=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr


@pytest.mark.parametrize(
    "url", ["sqlite:////tmp/rwa.sqlite3", "mysql://user:pass@db:3306/rwa"], ids=["sqlite", "mysql"]
)
def test_production_refuses_a_database_other_than_postgresql(url):
    result = run_python(SETUP, env=_production_env(DATABASE_URL=url))

    assert result.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr


def test_production_refuses_to_start_without_a_celery_broker_url():
    result = run_python(SETUP, env=_production_env(CELERY_BROKER_URL=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "CELERY_BROKER_URL" in result.stderr


@pytest.mark.parametrize("url", ["filesystem://", "memory://"])
def test_production_refuses_a_broker_other_than_redis_or_rabbitmq(url):
    result = run_python(SETUP, env=_production_env(CELERY_BROKER_URL=url))

    assert result.returncode != 0
    assert "CELERY_BROKER_URL must be a Redis" in result.stderr


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/2", "rediss://redis.internal:6380/0", "amqp://guest:guest@rabbit:5672//"]
)
def test_production_accepts_a_redis_or_rabbitmq_broker(url):
    code = SETUP + "; from django.conf import settings; print(settings.CELERY_BROKER_URL)"

    result = run_python(code, env=_production_env(CELERY_BROKER_URL=url))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == url


def test_production_refuses_to_start_without_secret_key():
    result = run_python(SETUP, env=_production_env(SECRET_KEY=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "weak_key",
    ["short-key", "insecure-" + "x" * 60],
    ids=["shorter-than-50", "insecure-prefix"],
)
def test_production_refuses_a_weak_secret_key(weak_key):
    result = run_python(SETUP, env=_production_env(SECRET_KEY=weak_key))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_python(SETUP, env=_production_env(ALLOWED_HOSTS=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_refuses_allowed_hosts_made_only_of_separators():
    result = run_python(SETUP, env=_production_env(ALLOWED_HOSTS=" , ,"))

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_both_set_and_is_hardened():
    result = run_python(SHOW_SETTINGS, env=_production_env(ALLOWED_HOSTS="api.example.com"))

    assert result.returncode == 0, result.stderr
    shown = last_json_line(result.stdout)
    assert shown == {
        "ALLOWED_HOSTS": ["api.example.com"],
        "DEBUG": False,
        "SIGNING_KEY_IS_SECRET_KEY": True,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
    }


def test_production_allowed_hosts_are_trimmed_around_commas():
    result = run_python(SHOW_SETTINGS, env=_production_env(ALLOWED_HOSTS="api.example.com, admin.example.com "))

    assert result.returncode == 0, result.stderr
    assert last_json_line(result.stdout)["ALLOWED_HOSTS"] == ["api.example.com", "admin.example.com"]


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_production_passes_check_deploy_at_warning_level():
    # Production needs a shared cache for rate limits; the check inspects the backend and does not connect.
    result = _check_deploy(_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_check_deploy_refuses_a_process_local_cache_for_rate_limits():
    result = _check_deploy(_production_env(REDIS_URL=None))

    assert result.returncode != 0
    assert "django_ratelimit.E003" in result.stderr


def test_test_settings_keep_debug_off_so_problem_handlers_apply():
    assert settings.DEBUG is False
    assert settings.ROOT_URLCONF == "rwa_service.urls"


def test_access_token_lifetime_cannot_be_configured_above_fifteen_minutes():
    code = "import json, django; django.setup(); from django.conf import settings; " + (
        "print(json.dumps(settings.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds()))"
    )
    env = clean_env(DJANGO_SETTINGS_MODULE="rwa_service.settings.test", JWT_ACCESS_MINUTES="120")

    result = run_python(code, env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == 15 * 60


def test_the_six_roles_exist_after_migrations(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}
    assert {role.value for role in Role} == {"admin", "operator", "compliance", "valuer", "auditor", "investor"}


def test_a_fresh_database_gets_the_six_roles_from_migrate(tmp_path):
    code = textwrap.dedent(
        """
        import json
        import django

        django.setup()
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        print(json.dumps(sorted(Group.objects.values_list("name", flat=True))))
        """
    )
    env = clean_env(
        DJANGO_SETTINGS_MODULE="rwa_service.settings.test", DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    )

    result = run_python(code, env=env, timeout=300)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == sorted(role.value for role in Role)
