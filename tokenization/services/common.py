"""Pieces every tokenization service shares: actors, role checks, address parsing, amounts, wallet lookup."""

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q
from eth_utils import to_checksum_address

from audit.services import Actor
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import NotFound, PermissionRefused, ValidationFailed
from tokenization.models import Wallet

SQLITE_MAX_AMOUNT = Decimal(2**63 - 1)  # SQLite keeps exact integers only up to 64 bits


def actor_of(user: AbstractBaseUser | Actor) -> Actor:
    return user if isinstance(user, Actor) else Actor.of(user)


def require_role(user: AbstractBaseUser | Actor, *roles: Role) -> None:
    if isinstance(user, Actor):
        return  # system work (scheduled tasks) is authorised by whoever scheduled it
    if not user_has_role(user, *roles):
        raise PermissionRefused(f"This action needs the {' or '.join(roles)} role.")


def checksum_address(value: str, *, field: str = "address") -> str:
    """EIP-55 form of an address given in lower case or already checksummed; anything else is a 400."""
    text = (value or "").strip()
    body = text[2:]
    if not _ADDRESS.fullmatch(text):
        raise _not_an_address(field)
    checksummed = to_checksum_address(text)  # one Keccak hash, whichever form came in
    if body != body.lower() and text != checksummed:  # mixed case must be the EIP-55 checksum itself
        raise _not_an_address(field)
    return checksummed


_ADDRESS = re.compile(r"(?:0[xX])?[0-9a-fA-F]{40}")  # as eth_utils.is_address: the prefix may be left out


def _not_an_address(field: str) -> ValidationFailed:
    return ValidationFailed(
        "Not an EVM address (0x followed by 40 hex digits, lower case or EIP-55 checksummed).",
        errors={field: ["Invalid address, or a mixed-case address with a wrong checksum."]},
    )


def parse_amount(value: Any, *, field: str = "amount") -> Decimal:
    """A positive whole number of base units, from an integer or a string of digits."""
    if isinstance(value, bool) or value is None:
        raise ValidationFailed("The amount is required.", errors={field: ["A positive integer is required."]})
    text = str(value).strip()
    try:
        amount = Decimal(text) if isinstance(value, int) or text.isdigit() else None
    except InvalidOperation:
        amount = None
    if amount is None or amount <= 0 or amount != amount.to_integral_value():
        raise ValidationFailed(
            "Amounts are positive integers in base units.", errors={field: ["A positive integer is required."]}
        )
    if len(text) > 78 or (connection.vendor == "sqlite" and amount > SQLITE_MAX_AMOUNT):
        raise ValidationFailed("The amount is too large.", errors={field: ["Too large for this ledger."]})
    return amount


@dataclass(frozen=True)
class WalletRef:
    """A wallet named by its id or its address (any case), parsed and checked but not yet looked up."""

    text: str
    field: str
    address: str | None = None
    id: uuid.UUID | None = None

    def as_q(self) -> Q:
        return Q(address=self.address) if self.address else Q(pk=self.id)

    def names(self, wallet: Wallet) -> bool:
        return wallet.address == self.address if self.address else wallet.pk == self.id

    def not_found(self) -> NotFound:
        return NotFound(f"No such wallet: {self.text or '(missing)'}.", code="wallet_not_found")


def wallet_ref(ref: Any, *, field: str) -> WalletRef:
    """Parses a wallet id or address: a malformed address is a 400, anything that can name no wallet a 404."""
    text = str(ref or "").strip()
    if text.lower().startswith("0x"):
        return WalletRef(text=text, field=field, address=checksum_address(text, field=field))
    try:
        return WalletRef(text=text, field=field, id=uuid.UUID(text))
    except ValueError:  # neither an address nor an id
        raise WalletRef(text=text, field=field).not_found() from None


def wallet_by_ref(ref: Any, *, field: str) -> Wallet:
    """A wallet named by its id or its address (any case)."""
    parsed = wallet_ref(ref, field=field)
    wallet = Wallet.objects.filter(parsed.as_q()).first()
    if wallet is None:
        raise parsed.not_found()
    return wallet
