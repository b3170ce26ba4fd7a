"""deploy/gunicorn.conf.py: with the access log off (GUNICORN_ACCESS_LOG="") gunicorn's logger builds nothing per
request; with it on, gunicorn's own logger writes each request's JSON line."""

import runpy
from pathlib import Path
from unittest import mock

from gunicorn.glogging import Logger

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def _settings(monkeypatch, access_log: str) -> dict:
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", access_log)
    return runpy.run_path(str(CONF))


def test_with_the_access_log_off_no_request_is_formatted_for_it(monkeypatch):
    settings = _settings(monkeypatch, "")
    assert settings["accesslog"] is None and issubclass(settings["logger_class"], Logger)
    logger = settings["logger_class"].__new__(settings["logger_class"])
    with mock.patch.object(Logger, "atoms", side_effect=AssertionError("formatted")) as atoms:
        assert logger.access(mock.Mock(), mock.Mock(), {}, mock.Mock()) is None
    atoms.assert_not_called()
    assert settings["logconfig_dict"]["loggers"]["gunicorn.access"]["handlers"] == []


def test_with_the_access_log_on_gunicorn_logs_every_request(monkeypatch):
    settings = _settings(monkeypatch, "-")
    assert settings["accesslog"] == "-" and "logger_class" not in settings
    assert settings["logconfig_dict"]["loggers"]["gunicorn.access"]["handlers"] == ["access"]
