"""Rebuilt state against live state: every asset (its fields, version and documents) and every token class's
balances by wallet, rebuilt from the audit trail alone, must equal what the live tables hold. A difference means a
change reached the tables without its event (or an event without its change): the trail is not the whole story."""

from collections.abc import Callable
from dataclasses import dataclass, field

from assets.models import Asset
from assets.selectors import asset_state_as_of, asset_state_live
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
    """Compares rebuilt and live state for every asset and token class; `progress(n)` after each object."""
    report = ConsistencyReport()
    for asset in Asset.objects.prefetch_related("documents").order_by("pk").iterator(chunk_size=500):
        rebuilt, live = asset_state_as_of(asset_id=asset.pk), asset_state_live(asset=asset)
        if rebuilt != live:
            report.mismatches.append(f"asset {asset.pk} ({asset.reference}): {_differences(rebuilt, live)}")
        report.assets += 1
        if progress is not None:
            progress(report.assets)
    for token in TokenClass.objects.order_by("pk"):
        rebuilt, live = cap_table_rebuilt(token_id=token.pk), cap_table_balances(token=token)
        if rebuilt != live:
            wallets = sorted(wallet for wallet in set(rebuilt) | set(live) if rebuilt.get(wallet) != live.get(wallet))
            report.mismatches.append(f"token {token.pk} ({token.symbol}): balances differ for wallets {wallets}")
        report.tokens += 1
        if progress is not None:
            progress(report.assets + report.tokens)
    return report
