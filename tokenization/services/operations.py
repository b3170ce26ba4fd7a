"""Operations: run once by a worker (idempotently), retried by hand when failed, re-queued when forgotten."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assets.services import asset_mark_tokenized
from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import DomainError, IllegalTransition
from tokenization.gateways import chain_gateway
from tokenization.models import Operation, OperationKind, OperationStatus, TokenClass, TokenStatus
from tokenization.services.common import actor_of, require_role
from tokenization.snapshots import token_snapshot

SYSTEM = Actor.system("operations")
_OPEN = (OperationStatus.INITIALIZED, OperationStatus.PENDING)


def _operation_snapshot(operation: Operation) -> dict[str, Any]:
    return {
        "id": str(operation.pk),
        "kind": operation.kind,
        "status": operation.status,
        "attempts": operation.attempts,
        "error": operation.error,
        "result": operation.result,
    }


def _tokenize(operation: Operation) -> dict[str, Any]:
    token = TokenClass.objects.select_for_update(no_key=True).get(pk=operation.inputs["token"])
    settlement = chain_gateway().issue_class(token_id=str(token.pk), symbol=token.symbol, decimals=token.decimals)
    before = token_snapshot(token)
    token.status = TokenStatus.ACTIVE
    token.contract_address = "" if settlement.reference.startswith("ledger:") else settlement.reference
    token.save(update_fields=["status", "contract_address", "updated_at"])
    asset_mark_tokenized(actor=SYSTEM, asset_id=token.asset_id)
    audit_event_record(
        actor=SYSTEM,
        action="token.issued",
        object_type="token",
        object_id=token.pk,
        before=before,
        after=token_snapshot(token),
    )
    return {"token": str(token.pk), "settlement": settlement.reference}


_HANDLERS = {OperationKind.TOKENIZE: _tokenize}


def _fail(operation_id: Any, error: str) -> Operation:
    with transaction.atomic():
        operation = Operation.objects.select_for_update(no_key=True).get(pk=operation_id)
        before = _operation_snapshot(operation)
        operation.status, operation.error = OperationStatus.FAILED, error[:2000]
        operation.save(update_fields=["status", "error", "updated_at"])
        if operation.kind == OperationKind.TOKENIZE:
            TokenClass.objects.filter(pk=operation.inputs["token"], status=TokenStatus.PENDING).update(
                status=TokenStatus.FAILED
            )
        audit_event_record(
            actor=SYSTEM,
            action="operation.failed",
            object_type="operation",
            object_id=operation.pk,
            before=before,
            after=_operation_snapshot(operation),
            reason=operation.error,
        )
    return operation


def operation_execute(*, operation_id: Any) -> Operation:
    """Runs an open operation to its end. A second delivery of the same operation finds it finished and does
    nothing; a worker that dies half-way leaves its transaction rolled back and the operation open."""
    with transaction.atomic():
        operation = Operation.objects.select_for_update(no_key=True).filter(pk=operation_id).first()
        if operation is None or operation.status not in _OPEN:
            return operation
        operation.status, operation.attempts = OperationStatus.PENDING, operation.attempts + 1
        operation.save(update_fields=["status", "attempts", "updated_at"])
    try:
        with transaction.atomic():
            operation = Operation.objects.select_for_update(no_key=True).get(pk=operation_id)
            if operation.status not in _OPEN:  # another worker finished it meanwhile
                return operation
            before = _operation_snapshot(operation)
            operation.result = _HANDLERS[operation.kind](operation)
            operation.status, operation.error = OperationStatus.SUCCEEDED, ""
            operation.save(update_fields=["status", "result", "error", "updated_at"])
            audit_event_record(
                actor=SYSTEM,
                action="operation.succeeded",
                object_type="operation",
                object_id=operation.pk,
                before=before,
                after=_operation_snapshot(operation),
            )
            return operation
    except DomainError as exc:  # a permanent refusal (the asset changed state, say): record it, do not retry
        return _fail(operation_id, exc.detail)


@transaction.atomic
def operation_retry(*, actor: AbstractBaseUser, operation_id: Any) -> Operation:
    """Reopens a failed operation and queues it again."""
    require_role(actor, Role.OPERATOR)
    operation = one_or_not_found(
        Operation.objects.select_for_update(no_key=True), "No such operation.", pk=operation_id
    )
    if operation.status != OperationStatus.FAILED:
        raise IllegalTransition(f"Only failed operations can be retried; this one is {operation.status}.")
    before = _operation_snapshot(operation)
    operation.status, operation.error = OperationStatus.INITIALIZED, ""
    operation.save(update_fields=["status", "error", "updated_at"])
    if operation.kind == OperationKind.TOKENIZE:
        TokenClass.objects.filter(pk=operation.inputs["token"], status=TokenStatus.FAILED).update(
            status=TokenStatus.PENDING
        )
    audit_event_record(
        actor=actor_of(actor),
        action="operation.retried",
        object_type="operation",
        object_id=operation.pk,
        before=before,
        after=_operation_snapshot(operation),
    )
    from tokenization.tasks import enqueue_operation

    enqueue_operation(operation_id=operation.pk)
    return operation


def operations_resume() -> int:
    """Queues again every operation left open longer than OPERATION_STALE_SECONDS (a lost message, a dead
    worker): running one twice is harmless, forgetting one is not. Returns how many were queued."""
    from tokenization.tasks import run_operation

    cutoff = timezone.now() - timedelta(seconds=settings.OPERATION_STALE_SECONDS)
    ids = list(Operation.objects.filter(status__in=_OPEN, updated_at__lt=cutoff).values_list("pk", flat=True))
    for operation_id in ids:
        run_operation.delay(str(operation_id))
    return len(ids)
