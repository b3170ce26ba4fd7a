"""Test helpers: switch off the database triggers that keep `audit_auditevent` append-only, for the tests that tamper
with the trail on purpose (to prove verification catches it) and for the test runner's own flush between
transactional tests."""

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as default_connection

_MIGRATION = importlib.import_module("audit.migrations.0002_audit_events_immutable")


@contextmanager
def audit_triggers_disabled(connection=default_connection) -> Iterator[None]:
    """PostgreSQL: DISABLE TRIGGER USER, then ENABLE. SQLite (no way to disable one): drop, then recreate."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        elif vendor == "sqlite":
            for sql in _MIGRATION.SQLITE_REVERSE:
                cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
            elif vendor == "sqlite":
                for sql in _MIGRATION.SQLITE_FORWARD:
                    cursor.execute(sql)
