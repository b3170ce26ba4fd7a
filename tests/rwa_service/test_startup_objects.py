"""startup_objects_freeze: what a worker built at start-up is frozen out of the collector's walks, garbage is not;
the Celery worker signals and gunicorn's post_worker_init call it."""

import gc
import runpy
from pathlib import Path

import pytest
from celery import signals

from rwa_service.celery import _freeze_startup_objects
from rwa_service.startup_objects import startup_objects_freeze

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@pytest.fixture(autouse=True)
def _unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_live_objects_are_frozen_and_garbage_is_collected_first():
    kept = [_Cycle() for _ in range(10)]
    _Cycle()  # garbage: a cycle nobody holds
    frozen = startup_objects_freeze()
    assert frozen == gc.get_freeze_count() > len(kept)
    assert not any(type(obj) is _Cycle for obj in gc.get_objects())  # the live ones are frozen, the dead one gone
    made_later = _Cycle()
    assert any(obj is made_later for obj in gc.get_objects())  # objects made afterwards are collected as before


def test_a_celery_worker_freezes_its_startup_objects():
    for signal in (signals.worker_ready, signals.worker_process_init):  # the worker itself, and a prefork child
        assert _freeze_startup_objects in [ref() if callable(ref) else ref for _, ref in signal.receivers]
    _freeze_startup_objects(sender=None)
    assert gc.get_freeze_count() > 0


def test_a_gunicorn_worker_loads_its_urls_then_freezes_its_startup_objects():
    hook = runpy.run_path(str(CONF))["post_worker_init"]
    hook(worker=None)
    assert gc.get_freeze_count() > 0
