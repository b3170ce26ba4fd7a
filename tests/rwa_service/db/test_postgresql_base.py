"""The PostgreSQL backend checks a reused connection's health at most once per DB_HEALTH_CHECK_SECONDS."""

import pytest
from django.db import connection

from rwa_service.db.postgresql.base import DatabaseWrapper


@pytest.fixture
def wrapper(monkeypatch):
    """A wrapper around a stand-in for an open connection, counting the health checks it sends."""
    db = DatabaseWrapper(
        {**connection.settings_dict, "ENGINE": "rwa_service.db.postgresql", "CONN_HEALTH_CHECKS": True}
    )
    db.connection = object()
    db.health_check_enabled = True
    db.checks = 0
    db.usable = True

    def is_usable():
        db.checks += 1
        return db.usable

    monkeypatch.setattr(db, "is_usable", is_usable)
    monkeypatch.setattr(db, "close", lambda: setattr(db, "connection", None))
    return db


def _new_request(db):
    db.health_check_done = False  # what close_if_unusable_or_obsolete does at each request boundary


def test_a_connection_seen_healthy_within_the_interval_is_not_checked_again(wrapper, settings):
    settings.DB_HEALTH_CHECK_SECONDS = 60
    for _ in range(5):
        _new_request(wrapper)
        wrapper.close_if_health_check_failed()
    assert wrapper.checks == 1 and wrapper.connection is not None


def test_after_the_interval_the_connection_is_checked_and_a_dead_one_closed(wrapper, settings):
    settings.DB_HEALTH_CHECK_SECONDS = 0
    _new_request(wrapper)
    wrapper.close_if_health_check_failed()
    wrapper.usable = False
    _new_request(wrapper)
    wrapper.close_if_health_check_failed()
    assert wrapper.checks == 2 and wrapper.connection is None


def test_a_check_is_done_once_per_request_whatever_the_interval(wrapper, settings):
    settings.DB_HEALTH_CHECK_SECONDS = 0
    _new_request(wrapper)
    wrapper.close_if_health_check_failed()
    wrapper.close_if_health_check_failed()
    assert wrapper.checks == 1
