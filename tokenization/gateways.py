"""The chain gateway: where a settled movement is also recorded outside this database. Narrow on purpose: issue a
class, mint, burn, transfer, force-transfer, freeze, pause. The `ledger` backend settles in the database at once."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Settlement:
    """The gateway's answer: settled now (with a reference), or pending until a receipt arrives."""

    settled: bool
    reference: str


class ChainGateway(Protocol):
    name: str

    def issue_class(self, *, token_id: str, symbol: str, decimals: int) -> Settlement: ...

    def mint(self, *, token_id: str, to_address: str, amount: Decimal, entry_id: int) -> Settlement: ...

    def burn(self, *, token_id: str, from_address: str, amount: Decimal, entry_id: int) -> Settlement: ...

    def transfer(
        self, *, token_id: str, from_address: str, to_address: str, amount: Decimal, entry_id: int
    ) -> Settlement: ...

    def force_transfer(
        self, *, token_id: str, from_address: str, to_address: str, amount: Decimal, entry_id: int
    ) -> Settlement: ...

    def freeze(self, *, token_id: str | None, address: str, amount: Decimal | None, frozen: bool) -> Settlement: ...

    def pause(self, *, token_id: str, paused: bool) -> Settlement: ...


class LedgerGateway:
    """The database is the ledger of record: every movement is final when its transaction commits."""

    name = "ledger"

    def issue_class(self, *, token_id: str, symbol: str, decimals: int) -> Settlement:
        return Settlement(True, f"ledger:class:{token_id}")

    def mint(self, *, token_id: str, to_address: str, amount: Decimal, entry_id: int) -> Settlement:
        return Settlement(True, f"ledger:{entry_id}")

    def burn(self, *, token_id: str, from_address: str, amount: Decimal, entry_id: int) -> Settlement:
        return Settlement(True, f"ledger:{entry_id}")

    def transfer(
        self, *, token_id: str, from_address: str, to_address: str, amount: Decimal, entry_id: int
    ) -> Settlement:
        return Settlement(True, f"ledger:{entry_id}")

    def force_transfer(
        self, *, token_id: str, from_address: str, to_address: str, amount: Decimal, entry_id: int
    ) -> Settlement:
        return Settlement(True, f"ledger:{entry_id}")

    def freeze(self, *, token_id: str | None, address: str, amount: Decimal | None, frozen: bool) -> Settlement:
        return Settlement(True, "ledger:freeze")

    def pause(self, *, token_id: str, paused: bool) -> Settlement:
        return Settlement(True, "ledger:pause")


_GATEWAYS = {"ledger": LedgerGateway}


def chain_gateway() -> ChainGateway:
    """The configured gateway (`CHAIN_GATEWAY`)."""
    try:
        return _GATEWAYS[settings.CHAIN_GATEWAY]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown CHAIN_GATEWAY '{settings.CHAIN_GATEWAY}'.") from exc
