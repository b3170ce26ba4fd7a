"""Celery tasks: declared for at-least-once delivery (acks_late, bounded retries of transient errors only), published
only once their transaction commits, idempotent per operation id, and an operation survives a worker killed halfway.

The crash test starts real `celery -A rwa_service worker` processes against the test's own PostgreSQL database and a
Redis broker; on SQLite (the default `make test`) the same scenario runs in-process (see that test's docstring).
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import redis
from django.conf import settings as django_settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from kombu import pools as kombu_pools

from assets.models import Asset, AssetStatus
from assets.services import asset_transition
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from rwa_service.celery import app as celery_app
from rwa_service.exceptions import DomainError
from tokenization.models import Operation, OperationKind, OperationStatus, TokenClass, TokenStatus
from tokenization.services import operations as operations_module
from tokenization.services.operations import operation_retry, operations_resume
from tokenization.services.tokens import token_class_tokenize
from tokenization.tasks import enqueue_operation, expire_kyc, resume_operations, run_operation

ROOT = Path(django_settings.BASE_DIR)
# The real-worker test gets a Redis database of its own (flushed before and after), never the broker a developer's
# worker or the suite's configured CELERY_BROKER_URL points at.
WORKER_BROKER_DB = 13
WORKER_APP_NAME = "rwa-test-celery-worker"  # the worker's PostgreSQL application_name, to find its backends
WORKER_STALE_SECONDS = 1  # the worker's OPERATION_STALE_SECONDS: the sweeper re-queues the orphan at once
WAIT_BUDGET_SECONDS = 60  # every wait of the real-worker test together (worker start-ups included)


def _events(object_id: Any, action: str) -> int:
    return AuditEvent.objects.filter(object_id=str(object_id), action=action).count()


def _tokenize(users: dict, asset: Asset, symbol: str) -> Operation:
    return token_class_tokenize(actor=users["operator"], asset_id=asset.pk, symbol=symbol, name=f"{symbol} token")


def _state(operation_id: Any) -> dict[str, Any]:
    return Operation.objects.filter(pk=operation_id).values("status", "attempts", "error", "updated_at").get()


# --- the task's declaration ---------------------------------------------------------------------------------------


def _queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


def test_run_operation_is_declared_for_at_least_once_delivery_with_bounded_transient_retries():
    assert run_operation.name == "tokenization.tasks.run_operation"
    assert _queue_of(run_operation.name) == "default"  # routed by CELERY_TASK_ROUTES, consumed by `-Q default`
    assert run_operation.acks_late is True
    assert run_operation.reject_on_worker_lost is True
    assert isinstance(run_operation.max_retries, int) and 0 < run_operation.max_retries <= 10
    assert run_operation.retry_backoff and run_operation.retry_jitter
    assert 0 < run_operation.retry_backoff_max <= 300
    retried = tuple(run_operation.autoretry_for)
    assert OperationalError in retried
    assert set(retried) <= {OperationalError, InterfaceError, ConnectionError, TimeoutError}
    # Nothing permanent is retried: a refusal, a bug or a constraint violation ends the attempt at once.
    for permanent in (DomainError, ValueError, KeyError, IntegrityError, DatabaseError, Exception):
        assert not issubclass(permanent, retried), permanent


def test_every_tokenization_task_goes_to_the_default_queue_and_is_acknowledged_late():
    names = {name for name in celery_app.tasks if name.startswith("tokenization.tasks.")}
    assert {run_operation.name, resume_operations.name, expire_kyc.name} <= names
    for name in names:
        assert _queue_of(name) == "default", name
        assert celery_app.tasks[name].acks_late is True, name


def test_a_transient_error_is_retried_up_to_the_bound_then_fails():
    with mock.patch("tokenization.tasks.operation_execute", side_effect=OperationalError("connection lost")) as run:
        result = run_operation.apply(args=[str(uuid.uuid4())])
    assert run.call_count == run_operation.max_retries + 1
    assert result.failed() and isinstance(result.result, OperationalError)


def test_a_permanent_error_is_not_retried():
    with mock.patch("tokenization.tasks.operation_execute", side_effect=ValueError("bug")) as run:
        result = run_operation.apply(args=[str(uuid.uuid4())])
    assert run.call_count == 1
    assert result.failed() and isinstance(result.result, ValueError)


# --- publishing only after commit ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_operation_publishes_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    operation_id = uuid.uuid4()
    with mock.patch.object(run_operation, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                enqueue_operation(operation_id=operation_id)
                assert delay.call_count == 0
            assert delay.call_count == 0  # still inside the test's outer transaction: nothing committed yet
        assert len(callbacks) == 1
        delay.assert_called_once_with(str(operation_id))


@pytest.mark.django_db
def test_enqueue_operation_publishes_nothing_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with mock.patch.object(run_operation, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                enqueue_operation(operation_id=uuid.uuid4())
                raise RuntimeError("rolled back")
        assert callbacks == []
        assert delay.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_tokenize_publishes_its_operation_after_a_real_commit_and_never_for_a_rollback(users, make_asset):
    asset = make_asset("approved")
    with mock.patch.object(run_operation, "delay") as delay:
        with transaction.atomic():
            operation = _tokenize(users, asset, "COMMIT1")
            assert delay.call_count == 0
        delay.assert_called_once_with(str(operation.pk))

        delay.reset_mock()
        with pytest.raises(RuntimeError), transaction.atomic():
            rolled_back = _tokenize(users, asset, "ROLLED1")
            raise RuntimeError("rolled back")
        assert delay.call_count == 0
    assert not Operation.objects.filter(pk=rolled_back.pk).exists()


# --- idempotency, failures and manual retry -----------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_task_twice_on_one_operation_succeeds_once(users, make_asset):
    asset = make_asset("approved")
    operation = _tokenize(users, asset, "TWICE1")
    token_id = operation.inputs["token"]

    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.SUCCEEDED
    first = _state(operation.pk)
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.SUCCEEDED

    assert _state(operation.pk) == first  # the second delivery changed nothing, not even updated_at
    assert first["attempts"] == 1
    assert _events(operation.pk, "operation.succeeded") == 1
    assert _events(token_id, "token.issued") == 1
    assert _events(asset.pk, "asset.tokenized") == 1
    assert TokenClass.objects.get(pk=token_id).status == TokenStatus.ACTIVE
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_an_unknown_operation_id_is_a_no_op():
    assert run_operation.apply(args=[str(uuid.uuid4())]).get() is None


@pytest.mark.django_db
def test_an_operation_whose_asset_was_retired_meanwhile_fails_with_the_reason_and_retry_reopens_it(
    users, make_asset, django_capture_on_commit_callbacks
):
    asset = make_asset("approved")
    operation = _tokenize(users, asset, "RETIRE1")
    token_id = operation.inputs["token"]
    asset_transition(actor=users["compliance"], asset_id=asset.pk, transition="retire", reason="Sold before issue")

    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.FAILED
    failed = _state(operation.pk)
    assert failed["status"] == OperationStatus.FAILED and failed["attempts"] == 1
    assert failed["error"] == "Cannot tokenize an asset that is retired."
    assert TokenClass.objects.get(pk=token_id).status == TokenStatus.FAILED
    event = AuditEvent.objects.get(object_id=str(operation.pk), action="operation.failed")
    assert event.reason == failed["error"] and event.after["status"] == OperationStatus.FAILED
    assert _events(operation.pk, "operation.succeeded") == 0 and _events(token_id, "token.issued") == 0
    # A permanent refusal is recorded once, not retried: a redelivery finds the operation finished.
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.FAILED
    assert _state(operation.pk) == failed

    with mock.patch.object(run_operation, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            reopened = operation_retry(actor=users["operator"], operation_id=operation.pk)
            assert delay.call_count == 0
        delay.assert_called_once_with(str(operation.pk))
    assert reopened.status == OperationStatus.INITIALIZED and reopened.error == ""
    assert TokenClass.objects.get(pk=token_id).status == TokenStatus.PENDING
    assert _events(operation.pk, "operation.retried") == 1

    # The asset is still retired, so the reopened operation fails again, with the same reason.
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.FAILED
    again = _state(operation.pk)
    assert again["attempts"] == 2 and again["error"] == failed["error"]
    assert _events(operation.pk, "operation.failed") == 2
    assert Asset.objects.get(pk=asset.pk).status == AssetStatus.RETIRED
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_a_failed_operation_retried_after_the_asset_is_reinstated_succeeds_once(users, make_asset):
    asset = make_asset("approved")
    operation = _tokenize(users, asset, "SUSP1")
    token_id = operation.inputs["token"]
    compliance = users["compliance"]
    asset_transition(actor=compliance, asset_id=asset.pk, transition="suspend", reason="Title query")
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.FAILED
    assert _state(operation.pk)["error"] == "Cannot tokenize an asset that is suspended."

    asset_transition(actor=compliance, asset_id=asset.pk, transition="reinstate", reason="Title cleared")
    operation_retry(actor=users["operator"], operation_id=operation.pk)
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.SUCCEEDED
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.SUCCEEDED

    done = _state(operation.pk)
    assert done["attempts"] == 2 and done["error"] == ""
    assert TokenClass.objects.get(pk=token_id).status == TokenStatus.ACTIVE
    assert Asset.objects.get(pk=asset.pk).status == AssetStatus.TOKENIZED
    for action, count in (("operation.failed", 1), ("operation.retried", 1), ("operation.succeeded", 1)):
        assert _events(operation.pk, action) == count, action
    assert _events(token_id, "token.issued") == 1
    assert audit_chain_verify().valid


@pytest.mark.django_db
def test_the_sweeper_requeues_only_operations_left_open_past_the_stale_age(users, make_asset, settings):
    stale = _tokenize(users, make_asset("approved"), "STALE1")
    fresh = _tokenize(users, make_asset("approved"), "FRESH1")
    done = _tokenize(users, make_asset("approved"), "DONE1")
    run_operation.apply(args=[str(done.pk)])
    long_ago = timezone.now() - timedelta(seconds=settings.OPERATION_STALE_SECONDS + 60)
    Operation.objects.filter(pk__in=[stale.pk, done.pk]).update(updated_at=long_ago)

    with mock.patch.object(run_operation, "delay") as delay:
        assert operations_resume() == 1
    delay.assert_called_once_with(str(stale.pk))
    assert _state(fresh.pk)["status"] == OperationStatus.INITIALIZED


# --- a worker killed mid-operation --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_operation_completes_it_exactly_once_after_a_restart(users, make_asset, settings, tmp_path):
    """A worker dies while running a tokenize operation; after a restart the operation still completes, once.

    PostgreSQL (what CI runs): real `celery -A rwa_service worker --pool=solo -Q default` processes against this
    test's own database (committed data: a transactional test) and a Redis broker database of its own. The test
    creates the operation through `token_class_tokenize` in a transaction, so the message reaches Redis only at
    commit; it holds the token row's lock from a second connection so the worker, having committed `pending`
    (attempt 1), blocks inside the operation's second transaction; then it SIGKILLs the worker's whole process
    group and releases the lock. The dead worker's transaction rolls back and its unacknowledged message would only
    come back after the broker's visibility timeout (an hour), so recovery comes from the sweeper, as in
    production: a fresh worker runs the `resume_operations` beat task (published here exactly as beat publishes
    it, with the worker's OPERATION_STALE_SECONDS at 1 s), which re-queues the orphaned operation.

    SQLite (the default `make test`, no Redis): SQLite has no row locks, only one database-wide write lock, so
    nothing outside a worker can stop it between its two transactions (a held write lock stops it before it even
    marks the operation pending). The same scenario runs in-process instead: the task, published (eagerly) at
    commit, dies mid-operation (its handler does the work, then raises a BaseException that neither the service
    nor Celery's tracer catches, as a process killed at that instant never commits), and the sweeper
    (`operations_resume`, eager) runs it again.

    Either way: exactly one `operation.succeeded` and one `token.issued` event, the token active, the asset
    tokenized, an intact audit chain, and running the task or the sweeper again afterwards changes nothing.
    """
    asset = make_asset("approved")
    if connection.vendor == "postgresql":
        operation = _kill_a_real_worker_mid_operation_then_restart(users, asset, settings, tmp_path)
    else:
        operation = _die_mid_operation_in_process_then_resume(users, asset, settings)

    token_id = operation.inputs["token"]
    done = _state(operation.pk)
    assert done["status"] == OperationStatus.SUCCEEDED and done["attempts"] == 2
    assert _events(operation.pk, "operation.succeeded") == 1
    assert _events(operation.pk, "operation.failed") == 0
    assert _events(token_id, "token.issued") == 1
    assert _events(asset.pk, "asset.tokenized") == 1
    token = TokenClass.objects.get(pk=token_id)
    assert token.status == TokenStatus.ACTIVE
    assert Asset.objects.get(pk=asset.pk).status == AssetStatus.TOKENIZED
    assert Operation.objects.get(pk=operation.pk).result == {
        "token": str(token_id),
        "settlement": f"ledger:class:{token_id}",
    }
    assert audit_chain_verify().valid


class _WorkerKilled(BaseException):
    """Stands for the process dying: not an Exception, so neither the service nor Celery's tracer handles it."""


def _die_mid_operation_in_process_then_resume(users: dict, asset: Asset, settings: Any) -> Operation:
    real_tokenize = operations_module._HANDLERS[OperationKind.TOKENIZE]

    def tokenize_then_die(operation: Operation) -> dict[str, Any]:
        real_tokenize(operation)  # token active, asset tokenized, token.issued recorded ... and then the crash
        raise _WorkerKilled

    with mock.patch.dict(operations_module._HANDLERS, {OperationKind.TOKENIZE: tokenize_then_die}):
        with pytest.raises(_WorkerKilled), transaction.atomic():
            operation = _tokenize(users, asset, "CRASH1")
            assert Operation.objects.get(pk=operation.pk).attempts == 0  # nothing runs before the commit
    token_id = operation.inputs["token"]

    crashed = _state(operation.pk)
    assert crashed["status"] == OperationStatus.PENDING and crashed["attempts"] == 1
    assert TokenClass.objects.get(pk=token_id).status == TokenStatus.PENDING  # the second transaction rolled back
    assert Asset.objects.get(pk=asset.pk).status == AssetStatus.APPROVED
    assert _events(token_id, "token.issued") == 0 and _events(operation.pk, "operation.succeeded") == 0

    settings.OPERATION_STALE_SECONDS = 0
    assert operations_resume() == 1  # what the beat task does: the orphan is queued (and, eagerly, run) again
    succeeded = _state(operation.pk)
    assert succeeded["status"] == OperationStatus.SUCCEEDED

    # Exactly once: another delivery and another sweep change nothing.
    assert run_operation.apply(args=[str(operation.pk)]).get() == OperationStatus.SUCCEEDED
    assert operations_resume() == 0
    assert _state(operation.pk) == succeeded
    return operation


def _kill_a_real_worker_mid_operation_then_restart(
    users: dict, asset: Asset, settings: Any, tmp_path: Path
) -> Operation:
    broker_url = _worker_broker_url()
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    workers: list[_Worker] = []
    lock = None
    deadline = time.monotonic() + WAIT_BUDGET_SECONDS
    try:
        with _publishing_to(broker_url):
            with transaction.atomic():
                operation = _tokenize(users, asset, "CRASH1")
                assert broker.llen("default") == 0  # nothing is published before the commit
            assert broker.llen("default") == 1  # ... and the message is there once it committed
            token_id = operation.inputs["token"]

            # Hold the token row the operation's second transaction locks, so the worker stops half-way.
            lock = psycopg.connect(**_psycopg_params(), application_name="rwa-test-lock")
            lock.execute(
                f"SELECT id FROM {TokenClass._meta.db_table} WHERE id = %s FOR UPDATE", [uuid.UUID(token_id)]
            ).fetchall()

            first = _Worker(tmp_path / "worker-1.log")
            workers.append(first)
            _wait_for(
                lambda: _state(operation.pk)["attempts"] == 1 and _worker_backends(waiting_on_lock=True),
                deadline=deadline,
                what="the first worker to mark the operation pending and block on the token row",
                workers=workers,
            )
            assert _state(operation.pk)["status"] == OperationStatus.PENDING
            first.kill()
            lock.rollback()
            lock.close()
            # The killed worker's backend gets the lock, finds its client gone and rolls back its transaction.
            _wait_for(lambda: _worker_backends() == 0, deadline=deadline, what="the dead worker's backend to end")

            orphaned = _state(operation.pk)
            assert orphaned["status"] == OperationStatus.PENDING and orphaned["attempts"] == 1
            assert TokenClass.objects.get(pk=token_id).status == TokenStatus.PENDING
            assert Asset.objects.get(pk=asset.pk).status == AssetStatus.APPROVED
            assert _events(operation.pk, "operation.succeeded") == 0 and _events(token_id, "token.issued") == 0

            second = _Worker(tmp_path / "worker-2.log")
            workers.append(second)
            stale_at = orphaned["updated_at"] + timedelta(seconds=WORKER_STALE_SECONDS + 0.5)
            time.sleep(max(0.0, (stale_at - timezone.now()).total_seconds()))
            sweep = resume_operations.delay()  # what beat publishes every minute
            _wait_for(
                lambda: _state(operation.pk)["status"] == OperationStatus.SUCCEEDED,
                deadline=deadline,
                what="the restarted worker to finish the operation",
                workers=workers,
            )
            assert second.result(sweep.id) == "1"  # the sweep found the one orphan and queued it again
            succeeded = _state(operation.pk)

            # Exactly once: a duplicate delivery and another sweep, through the real worker, change nothing.
            duplicate, sweep_again = run_operation.delay(str(operation.pk)), resume_operations.delay()
            _wait_for(
                lambda: second.result(duplicate.id) and second.result(sweep_again.id),
                deadline=deadline,
                what="the restarted worker to run the duplicate and the second sweep",
                workers=workers,
            )
            assert second.result(duplicate.id) == "'succeeded'"  # found finished: a no-op
            assert second.result(sweep_again.id) == "0"  # nothing left open
            settings.OPERATION_STALE_SECONDS = 0
            assert operations_resume() == 0  # and here, in-process: nothing is left open to re-queue
            assert _state(operation.pk) == succeeded
            assert "Traceback" not in second.output(), second.output()
        return operation
    finally:
        for worker in workers:
            worker.kill()
        if lock is not None and not lock.closed:
            lock.rollback()
            lock.close()
        _terminate_worker_backends()
        broker.flushdb()
        broker.close()


def _worker_broker_url() -> str:
    """The configured Redis (broker first, then cache, then the local default) with the worker's own database."""
    base = "redis://127.0.0.1:6379/0"
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        if os.environ.get(name, "").startswith(("redis://", "rediss://")):
            base = os.environ[name]
            break
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{WORKER_BROKER_DB}", "", ""))


def _psycopg_params() -> dict[str, Any]:
    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    return {key: value for key, value in params.items() if value not in (None, "")}


def _worker_database_url() -> str:
    """DATABASE_URL for the worker: this test's database (test_…), tagged with the worker's application_name."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}?application_name={WORKER_APP_NAME}"


def _worker_backends(*, waiting_on_lock: bool = False, query_naming: str | None = None) -> int:
    """The worker's database sessions; only those waiting on a lock, and/or whose statement names `query_naming`."""
    sql, params = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
        [WORKER_APP_NAME],
    )
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    if query_naming:
        sql, params = sql + " AND query LIKE %s", [*params, f"%{query_naming}%"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _terminate_worker_backends() -> None:
    """Whatever a killed worker left connected must not hold the test database open past the test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )


def _reset_broker_pools() -> None:
    """Celery caches its broker connection and producer pools; drop them so a changed broker URL takes effect."""
    for pool in (celery_app._pool, celery_app.__dict__.get("amqp") and celery_app.amqp._producer_pool):
        if pool:
            pool.force_close_all()
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu keeps producer pools per connection globally: a closed one would be handed out again


@contextmanager
def _publishing_to(broker_url: str) -> Iterator[None]:
    """This process publishes for real (not eagerly) to `broker_url` for the duration, then goes back."""
    conf = celery_app.conf
    keys = ("task_always_eager", "broker_url", "broker_write_url", "broker_transport_options")
    saved = {key: conf.get(key) for key in keys}
    _reset_broker_pools()
    # broker_write_url is what publishing uses; it outranks a CELERY_BROKER_URL in the environment.
    conf.update(task_always_eager=False, broker_url=broker_url, broker_write_url=broker_url)
    conf.update(broker_transport_options={"visibility_timeout": 3600})
    try:
        with mock.patch.dict(os.environ):
            os.environ.pop("CELERY_BROKER_WRITE_URL", None)
            yield
    finally:
        _reset_broker_pools()
        conf.update(saved)


class _Worker:
    """One `celery -A rwa_service worker` process (in a session of its own, so its whole group can be killed)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_BROKER_")}
        env |= {
            "DJANGO_SETTINGS_MODULE": "rwa_service.settings.test",
            "DATABASE_URL": _worker_database_url(),
            "CELERY_BROKER_URL": _worker_broker_url(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "OPERATION_STALE_SECONDS": str(WORKER_STALE_SECONDS),
            "REVALUATION_CHUNK_STALE_SECONDS": str(WORKER_STALE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", "celery", "-A", "rwa_service", "worker", "--pool=solo", "-Q", "default"]
        command += ["--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["-n", f"rwa-test-{uuid.uuid4().hex[:8]}@%h"]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the worker and any child
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def result(self, task_id: str) -> str | None:
        """What the worker logged as the task's return value (repr), or None while it has not succeeded."""
        for line in self.output().splitlines():
            if line.startswith("{") and f"[{task_id}] succeeded in " in line:
                return json.loads(line)["event"].rsplit(": ", 1)[1]
        return None

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def _wait_for(condition: Callable[[], Any], *, deadline: float, what: str, workers: list[_Worker] | tuple = ()) -> None:
    """Polls `condition` until it holds; fails (with the workers' logs) at `deadline` or when a worker exits."""
    while not condition():
        dead = [worker for worker in workers if worker.process.poll() is not None and worker.process.returncode >= 0]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {worker.log_path.name}\n{worker.output()[-4000:]}" for worker in workers)
            reason = "a worker exited" if dead else f"out of the {WAIT_BUDGET_SECONDS}s budget"
            pytest.fail(f"{reason} waiting for {what}\n{logs}")
        time.sleep(0.1)
