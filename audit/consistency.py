"""Rebuilt state against live state: every asset (its fields, version and documents) and every token class's
balances by wallet, rebuilt from the audit trail alone, must equal what the live tables hold. A difference means a
change reached the tables without its event (or an event without its change): the trail is not the whole story."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from assets.models import Asset
from assets.selectors import asset_state_as_of, asset_state_live
from audit.models import AuditEvent
from tokenization.models import TokenClass
from tokenization.selectors import cap_table_balances, cap_table_rebuilt


@dataclass
class ConsistencyReport:
    assets: int = 0
    tokens: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.mismatches


def _differences(rebuilt: dict | None, live: dict) -> str:
    if rebuilt is None:
        return "no event recorded its creation"
    keys = sorted(key for key in set(rebuilt) | set(live) if rebuilt.get(key) != live.get(key))
    return "differs in " + ", ".join(keys)


def audit_consistency_report(*, progress: Callable[[int], None] | None = None) -> ConsistencyReport:
    """Compares rebuilt and live state for every asset and token class, in one snapshot of the database (REPEATABLE
    READ on PostgreSQL), so changes committed meanwhile by others cannot show as differences; `progress(n)` after
    each object. Objects the trail knows but the tables lack (a row deleted without its event) are reported too."""
    outermost = not connection.in_atomic_block  # inside a caller's transaction, that one's snapshot applies
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _report(progress)


def _report(progress: Callable[[int], None] | None) -> ConsistencyReport:
    report = ConsistencyReport()
    for asset in Asset.objects.prefetch_related("documents").order_by("pk").iterator(chunk_size=500):
        rebuilt, live = asset_state_as_of(asset_id=asset.pk), asset_state_live(asset=asset)
        if rebuilt != live:
            report.mismatches.append(f"asset {asset.pk} ({asset.reference}): {_differences(rebuilt, live)}")
        report.assets += 1
        if progress is not None:
            progress(report.assets)
    live_assets = {str(pk) for pk in Asset.objects.values_list("pk", flat=True)}
    for asset_id in _ids_in_trail("asset", "asset.created"):
        if asset_id not in live_assets and asset_state_as_of(asset_id=asset_id) is not None:
            report.mismatches.append(f"asset {asset_id}: in the trail, missing from the table (deleted unrecorded)")
    for token in TokenClass.objects.order_by("pk"):
        rebuilt, live = cap_table_rebuilt(token_id=token.pk), cap_table_balances(token=token)
        if rebuilt != live:
            wallets = sorted(wallet for wallet in set(rebuilt) | set(live) if rebuilt.get(wallet) != live.get(wallet))
            report.mismatches.append(f"token {token.pk} ({token.symbol}): balances differ for wallets {wallets}")
        report.tokens += 1
        if progress is not None:
            progress(report.assets + report.tokens)
    live_tokens = {str(pk) for pk in TokenClass.objects.values_list("pk", flat=True)}
    for token_id in _ids_in_trail("token", "token.created"):
        if token_id not in live_tokens:
            report.mismatches.append(f"token {token_id}: in the trail, missing from the table (deleted unrecorded)")
    return report


def _ids_in_trail(object_type: str, created_action: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type=object_type, action=created_action)
        .values_list("object_id", flat=True)
        .distinct()
    )
