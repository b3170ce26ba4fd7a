"""Every tokenization service that looks a row up by id answers a malformed id as an id that names nothing: 404,
never a 500 from the UUID field's validation (Django raises its ValidationError there, not ValueError)."""

import pytest

from rwa_service.exceptions import NotFound
from tokenization.services.investors import investor_update, wallet_set_frozen
from tokenization.services.ledger import token_transfer
from tokenization.services.operations import operation_retry
from tokenization.services.tokens import token_class_tokenize, token_rules_set, token_set_paused

pytestmark = pytest.mark.django_db

MALFORMED = "not-a-uuid"

CALLS = {
    "token_class_tokenize": ("operator", lambda actor: token_class_tokenize(actor=actor, asset_id=MALFORMED,
                                                                             symbol="XX", name="X")),
    "token_rules_set": ("compliance", lambda actor: token_rules_set(actor=actor, token_id=MALFORMED, rules={})),
    "token_set_paused": ("compliance", lambda actor: token_set_paused(actor=actor, token_id=MALFORMED, paused=True,
                                                                       reason="r")),
    "investor_update": ("compliance", lambda actor: investor_update(actor=actor, investor_id=MALFORMED, values={})),
    "wallet_set_frozen": ("compliance", lambda actor: wallet_set_frozen(actor=actor, wallet_id=MALFORMED, frozen=True,
                                                                         reason="r")),
    "operation_retry": ("operator", lambda actor: operation_retry(actor=actor, operation_id=MALFORMED)),
    "token_transfer": ("operator", lambda actor: token_transfer(caller=actor, token_id=MALFORMED, from_wallet=MALFORMED,
                                                                to_wallet=MALFORMED, amount=1)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_malformed_id_is_not_found(name, users):
    role, call = CALLS[name]
    with pytest.raises(NotFound):
        call(users[role])
