"""Fixtures for tokenization: an active token class over an approved asset, and funded wallets."""

import pytest

from tests.tokenization.factories import WalletFactory
from tokenization.models import TokenClass
from tokenization.services.ledger import token_mint
from tokenization.services.operations import operation_execute
from tokenization.services.tokens import token_class_tokenize


@pytest.fixture
def make_token(users, make_asset):
    """`make_token(rules={...}, max_supply=None)` → an active token class (its tokenize operation run)."""
    counter = {"n": 0}

    def make(rules: dict | None = None, **fields) -> TokenClass:
        counter["n"] += 1
        asset = make_asset("approved")
        operation = token_class_tokenize(
            actor=users["operator"],
            asset_id=asset.pk,
            symbol=fields.pop("symbol", f"TK{counter['n']}"),
            name=fields.pop("name", "Test token"),
            decimals=fields.pop("decimals", 0),
            max_supply=fields.pop("max_supply", None),
            rules=rules or {},
        )
        operation_execute(operation_id=operation.pk)
        return TokenClass.objects.get(pk=operation.inputs["token"])

    return make


@pytest.fixture
def funded(users):
    """`funded(token, amount, **investor)` → a new wallet holding `amount` minted to it."""

    def make(token: TokenClass, amount: int = 0, **investor_fields):
        wallet = WalletFactory(**{f"investor__{key}": value for key, value in investor_fields.items()})
        if amount:
            token_mint(caller=users["operator"], token_id=token.pk, to_wallet=wallet.pk, amount=amount)
        return wallet

    return make


@pytest.fixture(params=["database", "orm"])
def transfer_path(request, settings):
    """Runs a test through each transfer path: the two database functions (PostgreSQL's, tokenization/services/
    transfer_sql.py) and the ORM (SQLite's, and every other movement's). On SQLite both runs take the ORM path."""
    settings.LEDGER_SQL_TRANSFERS = request.param == "database"
    return request.param
