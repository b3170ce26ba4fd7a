"""Investor services: KYC expiry, erasure, wallets, freezes, recovery and PII key rotation."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from rwa_service.exceptions import Conflict, IllegalTransition, ValidationFailed
from tests.tokenization.factories import InvestorFactory, WalletFactory, random_address
from tokenization.models import Account, Investor, LedgerEntry, Wallet
from tokenization.pii import _cipher
from tokenization.services.investors import (
    investor_create,
    investor_erase,
    investors_expire_kyc,
    investors_rotate_pii,
    wallet_create,
    wallet_recover,
    wallet_set_frozen,
)
from tokenization.services.ledger import ledger_is_balanced


def _raw(investor_id) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_name, email, tax_id FROM tokenization_investor WHERE id = %s", [investor_id.hex
                       if connection.vendor == "sqlite" else investor_id])  # fmt: skip
        return cursor.fetchone()


def test_lapsed_kyc_expires_once_with_an_event(db):
    lapsed = InvestorFactory(kyc_expires_at=timezone.now() - timedelta(days=1))
    current = InvestorFactory(kyc_expires_at=timezone.now() + timedelta(days=30))
    assert investors_expire_kyc() == 1
    assert investors_expire_kyc() == 0
    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert (lapsed.kyc_status, current.kyc_status) == ("expired", "verified")
    assert AuditEvent.objects.filter(action="investor.kyc_expired", object_id=str(lapsed.pk)).count() == 1


def test_erasure_pseudonymises_pii_and_keeps_the_ledger(users, make_token, funded):
    token = make_token()
    wallet = funded(token, 500, legal_name="Ada Lovelace", email="ada@example.com", tax_id="GB-123")
    investor = wallet.investor
    with pytest.raises(ValidationFailed):
        investor_erase(actor=users["compliance"], investor_id=investor.pk, reason="")
    investor_erase(actor=users["compliance"], investor_id=investor.pk, reason="GDPR request 42")
    investor = Investor.objects.get(pk=investor.pk)
    assert investor.legal_name.startswith("erased-") and investor.email == "" and investor.tax_id == ""
    assert Account.objects.get(token_class=token, wallet=wallet).balance == 500
    assert LedgerEntry.objects.filter(to_wallet=wallet).count() == 1
    assert "Ada" not in str(list(AuditEvent.objects.values_list("before", "after")))
    with pytest.raises(IllegalTransition):
        investor_erase(actor=users["compliance"], investor_id=investor.pk, reason="again")


def test_wallet_addresses_are_stored_checksummed_and_unique(users):
    investor = InvestorFactory()
    lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    wallet = wallet_create(actor=users["compliance"], investor_id=investor.pk, address=lower)
    assert wallet.address == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    with pytest.raises(Conflict):
        wallet_create(actor=users["compliance"], investor_id=investor.pk, address=wallet.address)
    with pytest.raises(ValidationFailed):  # mixed case with a wrong checksum
        wallet_create(
            actor=users["compliance"], investor_id=investor.pk, address="0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        )


def test_partial_freeze_stays_within_the_balance(users, make_token, funded):
    token = make_token()
    wallet = funded(token, 100)
    wallet_set_frozen(actor=users["compliance"], wallet_id=wallet.pk, frozen=True, token_id=token.pk, amount=60)
    with pytest.raises(Conflict):
        wallet_set_frozen(actor=users["compliance"], wallet_id=wallet.pk, frozen=True, token_id=token.pk, amount=41)
    wallet_set_frozen(actor=users["compliance"], wallet_id=wallet.pk, frozen=False, token_id=token.pk, amount=60)
    assert Account.objects.get(token_class=token, wallet=wallet).frozen_amount == 0
    with pytest.raises(IllegalTransition):
        wallet_set_frozen(actor=users["compliance"], wallet_id=wallet.pk, frozen=False)


def test_recovery_moves_balances_frozen_amounts_and_flags_in_one_event(users, make_token, funded):
    first, second = make_token(), make_token()
    lost = funded(first, 300)
    from tokenization.services.ledger import token_mint

    token_mint(caller=users["operator"], token_id=second.pk, to_wallet=lost.pk, amount=50)
    wallet_set_frozen(actor=users["compliance"], wallet_id=lost.pk, frozen=True, token_id=first.pk, amount=100)
    wallet_set_frozen(actor=users["compliance"], wallet_id=lost.pk, frozen=True)
    events = AuditEvent.objects.count()
    new = wallet_recover(
        actor=users["compliance"], investor_id=lost.investor_id, lost_wallet_id=lost.pk,
        new_address=random_address(), reason="Seed phrase lost",
    )  # fmt: skip
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.last().action == "wallet.recovered"
    moved = Account.objects.get(token_class=first, wallet=new)
    assert (moved.balance, moved.frozen_amount) == (300, 100)
    assert Account.objects.get(token_class=second, wallet=new).balance == 50
    assert Account.objects.get(token_class=first, wallet=lost).balance == 0
    lost = Wallet.objects.get(pk=lost.pk)
    assert (lost.status, lost.recovered_to_id, new.frozen) == ("lost", new.pk, True)
    assert ledger_is_balanced(token_id=first.pk) and ledger_is_balanced(token_id=second.pk)
    with pytest.raises(IllegalTransition):
        wallet_recover(
            actor=users["compliance"], investor_id=lost.investor_id, lost_wallet_id=lost.pk,
            new_address=random_address(), reason="again",
        )  # fmt: skip


def test_recovery_to_another_investors_address_is_refused(users, make_token, funded):
    token = make_token()
    lost, other = funded(token, 10), WalletFactory()
    with pytest.raises(Conflict):
        wallet_recover(
            actor=users["compliance"], investor_id=lost.investor_id, lost_wallet_id=lost.pk,
            new_address=other.address, reason="x",
        )  # fmt: skip


def test_pii_is_ciphertext_at_rest_and_rotates_to_a_new_key(users, settings):
    old_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old_key]
    _cipher.cache_clear()
    investor = investor_create(
        actor=users["compliance"],
        values={"type": "individual", "legal_name": "Grace Hopper", "email": "grace@example.com",
                "tax_id": "US-999", "country": "US"},
    )  # fmt: skip
    raw = _raw(investor.pk)
    assert all("Grace" not in value and "999" not in value for value in raw if value)
    assert Fernet(old_key.encode()).decrypt(raw[0].encode()) == b"Grace Hopper"
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    _cipher.cache_clear()
    assert investors_rotate_pii() == 1
    rotated = _raw(investor.pk)
    assert Fernet(new_key.encode()).decrypt(rotated[0].encode()) == b"Grace Hopper"
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    _cipher.cache_clear()
    assert Investor.objects.get(pk=investor.pk).tax_id == "US-999"
    _cipher.cache_clear()


def test_kyc_fields_and_pii_changes_are_audited_without_clear_pii(users):
    investor = investor_create(
        actor=users["compliance"],
        values={"type": "entity", "legal_name": "Secret Holdings SA", "country": "LU", "kyc_status": "verified"},
    )
    event = AuditEvent.objects.get(action="investor.created", object_id=str(investor.pk))
    assert event.after["legal_name"] == "***" and event.after["kyc_status"] == "verified"
    assert "Secret" not in str(event.after)
