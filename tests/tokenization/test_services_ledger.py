"""Ledger services: mint, burn, transfer and forced transfer keep supply conserved and explain refusals."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from rwa_service.exceptions import PermissionRefused, ValidationFailed
from tokenization.models import Account, LedgerEntry, TokenClass
from tokenization.services.investors import wallet_set_frozen
from tokenization.services.ledger import (
    TransferBlocked,
    ledger_is_balanced,
    token_burn,
    token_force_transfer,
    token_mint,
    token_transfer,
    transfer_check,
)

pytestmark = pytest.mark.usefixtures("transfer_path")  # every test through both transfer paths


def _balance(token, wallet) -> Decimal:
    account = Account.objects.filter(token_class=token, wallet=wallet).first()
    return account.balance if account else Decimal(0)


def test_mint_transfer_burn_keep_supply_equal_to_holdings(users, make_token, funded):
    token = make_token()
    alice, bob = funded(token, 1000), funded(token)
    token_transfer(caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.address, amount=300)
    token_burn(caller=users["operator"], token_id=token.pk, from_wallet=bob.pk, amount="100")
    token.refresh_from_db()
    assert (_balance(token, alice), _balance(token, bob), token.total_supply) == (700, 200, 900)
    assert ledger_is_balanced(token_id=token.pk)
    kinds = list(LedgerEntry.objects.filter(token_class=token).values_list("kind", flat=True))
    assert kinds == ["mint", "transfer", "burn"]
    actions = list(
        AuditEvent.objects.filter(object_type="token", object_id=str(token.pk)).values_list("action", flat=True)
    )
    assert actions[-3:] == ["token.minted", "transfer.settled", "token.burned"]


def test_overdraft_is_refused_with_0x52_and_changes_nothing(users, make_token, funded):
    token = make_token()
    alice, bob = funded(token, 100), funded(token)
    with pytest.raises(TransferBlocked) as caught:
        token_transfer(caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=101)
    decision = caught.value.decision.as_dict()
    assert (decision["allowed"], decision["status_code"], decision["app_code"]) == (False, "0x52", "balance")
    balance_rule = next(rule for rule in decision["rules"] if rule["rule"] == "balance")
    assert balance_rule == {
        "rule": "balance",
        "passed": False,
        "detail": "The sending wallet holds 100.",
        "allowed_amount": "100",
    }
    assert (_balance(token, alice), _balance(token, bob)) == (100, 0)


def test_mint_beyond_max_supply_is_refused(users, make_token, funded):
    token = make_token(max_supply=500)
    wallet = funded(token, 400)
    with pytest.raises(TransferBlocked) as caught:
        token_mint(caller=users["operator"], token_id=token.pk, to_wallet=wallet.pk, amount=101)
    assert caught.value.decision.app_code == "max-supply"
    assert TokenClass.objects.get(pk=token.pk).total_supply == 400


@pytest.mark.parametrize("amount", [0, -5, "1.5", "abc", None, True, "1e3"])
def test_amounts_must_be_positive_integers(users, make_token, funded, amount):
    token = make_token()
    with pytest.raises(ValidationFailed) as caught:
        token_mint(caller=users["operator"], token_id=token.pk, to_wallet=funded(token).pk, amount=amount)
    assert "amount" in caught.value.errors


def test_forced_transfer_unfreezes_only_the_shortfall_and_needs_a_reason(users, make_token, funded):
    token = make_token()
    alice, bob = funded(token, 100), funded(token)
    wallet_set_frozen(actor=users["compliance"], wallet_id=alice.pk, frozen=True, token_id=token.pk, amount=80)
    with pytest.raises(ValidationFailed):
        token_force_transfer(
            caller=users["compliance"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=50, reason=""
        )
    token_force_transfer(
        caller=users["compliance"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=50, reason="Court"
    )
    account = Account.objects.get(token_class=token, wallet=alice)
    assert (account.balance, account.frozen_amount) == (50, 50)  # 20 were free, 30 unfrozen
    assert _balance(token, bob) == 50
    assert ledger_is_balanced(token_id=token.pk)


def test_forced_transfer_never_skips_the_receivers_eligibility(users, make_token, funded):
    token = make_token()
    alice = funded(token, 100)
    unverified = funded(token, kyc_status="pending")
    with pytest.raises(TransferBlocked) as caught:
        token_force_transfer(
            caller=users["compliance"], token_id=token.pk, from_wallet=alice.pk, to_wallet=unverified.pk, amount=5,
            reason="Court",
        )  # fmt: skip
    assert caught.value.decision.app_code == "receiver-kyc"


def test_only_the_right_roles_move_tokens(users, make_token, funded):
    token = make_token()
    alice, bob = funded(token, 10), funded(token)
    with pytest.raises(PermissionRefused):
        token_mint(caller=users["compliance"], token_id=token.pk, to_wallet=bob.pk, amount=1)
    with pytest.raises(PermissionRefused):
        token_force_transfer(
            caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=1, reason="x"
        )
    with pytest.raises(PermissionRefused):
        token_transfer(caller=users["valuer"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=1)


def test_dry_run_writes_nothing(users, make_token, funded):
    token = make_token()
    alice, bob = funded(token, 10), funded(token)
    entries, events = LedgerEntry.objects.count(), AuditEvent.objects.count()
    decision = transfer_check(
        caller=users["operator"], token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=5
    )
    assert decision.allowed and decision.status_code == 0x51
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == (entries, events)
    assert not Account.objects.filter(wallet=bob).exists()


def test_max_holders_blocks_only_a_movement_that_adds_a_holder(users, make_token, funded):
    """A cap lowered below today's count stops newcomers, not trading between existing holders; the dry run and
    the transfer agree."""
    from tokenization.services.ledger import TransferBlocked, token_transfer, transfer_check
    from tokenization.services.tokens import token_rules_set

    token = make_token()
    alice, bob, carol = funded(token, 100), funded(token, 100), funded(token, 100)
    newcomer = funded(token)
    token_rules_set(actor=users["compliance"], token_id=token.pk, rules={"max_holders": 2})  # 3 hold already
    operator = users["operator"]
    between = transfer_check(caller=operator, token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=10)
    verdict = next(rule for rule in between.rules if rule.rule == "max-holders")
    assert between.allowed and verdict.passed and "does not change" in verdict.detail
    token_transfer(caller=operator, token_id=token.pk, from_wallet=alice.pk, to_wallet=bob.pk, amount=10)
    joining = transfer_check(caller=operator, token_id=token.pk, from_wallet=carol.pk, to_wallet=newcomer.pk, amount=5)
    assert not joining.allowed and joining.app_code == "max-holders"
    with pytest.raises(TransferBlocked) as blocked:
        token_transfer(caller=operator, token_id=token.pk, from_wallet=carol.pk, to_wallet=newcomer.pk, amount=5)
    assert blocked.value.code == "transfer_blocked"
    # carol hands everything to the newcomer: one leaves as one joins, so the count stays at 3
    token_transfer(caller=operator, token_id=token.pk, from_wallet=carol.pk, to_wallet=newcomer.pk, amount=100)
    assert Account.objects.get(token_class=token, wallet=newcomer).balance == 100
