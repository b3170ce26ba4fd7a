"""Completeness: over a scripted workload across assets, tokenization and valuation, every committed state change
leaves exactly its audit events (the count per step is the number of objects the step changes), a refused call
or a rolled-back transaction leaves none, and no event carries an investor's PII in clear."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from assets import services as assets
from audit.models import AuditEvent
from rwa_service.exceptions import DomainError
from tests.factories import REAL_ESTATE_METADATA
from tests.tokenization.factories import random_address
from tokenization.services import investors, ledger, tokens
from tokenization.services.operations import operation_execute
from valuation import price_services
from valuation.services import valuation_approve, valuation_record

PII = {"legal_name": "Ada Quartermaine-Lovelace", "email": "ada.q@example.org", "tax_id": "GB-TAX-99-1234567"}


@pytest.mark.django_db
def test_every_committed_change_is_audited_once_and_nothing_else_is(users, valuer2):
    operator, compliance, valuer = users["operator"], users["compliance"], users["valuer"]
    steps: list[tuple[str, int]] = []
    start = AuditEvent.objects.count()

    def step(name: str, changes: int, call) -> object:
        """Runs one call; it must leave exactly `changes` events (0 when it is refused)."""
        before = AuditEvent.objects.count()
        if changes:
            result = call()
        else:
            with pytest.raises(DomainError):
                call()  # refused
            result = None
        assert AuditEvent.objects.count() - before == changes, name
        steps.append((name, changes))
        return result

    asset = step("asset created", 1, lambda: assets.asset_create(
        actor=operator, name="Quay 3", asset_type="real_estate", jurisdiction="GB", currency="GBP",
        metadata=dict(REAL_ESTATE_METADATA),
    ))  # fmt: skip
    step("asset edited", 1, lambda: assets.asset_update(actor=operator, asset_id=asset.pk, changes={"name": "Q3"}))
    step("edit refused (bad field)", 0, lambda: assets.asset_update(actor=operator, asset_id=asset.pk,
                                                                    changes={"currency": "pounds"}))  # fmt: skip
    step("document added", 1, lambda: assets.document_add(actor=operator, asset_id=asset.pk, name="Deed",
                                                           kind="title_deed", uri="https://d.example/1",
                                                           sha256="b" * 64))  # fmt: skip
    step("submitted", 1, lambda: assets.asset_transition(actor=operator, asset_id=asset.pk, transition="submit"))
    step("self-approval refused", 0, lambda: assets.asset_transition(actor=operator, asset_id=asset.pk,
                                                                     transition="approve"))  # fmt: skip
    step("approved", 1, lambda: assets.asset_transition(actor=compliance, asset_id=asset.pk, transition="approve"))
    operation = step("tokenize requested (token class + operation)", 1, lambda: tokens.token_class_tokenize(
        actor=operator, asset_id=asset.pk, symbol="QY3", name="Quay 3", decimals=0, max_supply=None, rules={},
    ))  # fmt: skip
    # token issued, asset tokenized, operation succeeded: three objects change
    step("tokenize executed", 3, lambda: operation_execute(operation_id=operation.pk))
    token_id = operation.inputs["token"]
    step("rules changed", 1, lambda: tokens.token_rules_set(actor=compliance, token_id=token_id,
                                                             rules={"max_holders": 10}))  # fmt: skip
    alice = step("investor created", 1, lambda: investors.investor_create(
        actor=compliance, values={"type": "individual", "country": "GB", **PII},
    ))  # fmt: skip
    bob = step("second investor", 1, lambda: investors.investor_create(
        actor=compliance, values={"type": "entity", "country": "FR", "legal_name": "Bob SA",
                                  "email": "ops@bob.example", "tax_id": "FR-1"},
    ))  # fmt: skip
    for investor in (alice, bob):
        investors.investor_update(actor=compliance, investor_id=investor.pk, values={"kyc_status": "verified"})
        steps.append(("kyc verified", 1))
    wallet_a = step("wallet a", 1, lambda: investors.wallet_create(actor=compliance, investor_id=alice.pk,
                                                                    address=random_address()))  # fmt: skip
    wallet_b = step("wallet b", 1, lambda: investors.wallet_create(actor=compliance, investor_id=bob.pk,
                                                                    address=random_address()))  # fmt: skip
    step("minted", 1, lambda: ledger.token_mint(caller=operator, token_id=token_id, to_wallet=wallet_a.pk, amount=500))
    step("transferred", 1, lambda: ledger.token_transfer(caller=operator, token_id=token_id, from_wallet=wallet_a.pk,
                                                          to_wallet=wallet_b.pk, amount=200))  # fmt: skip
    step("overdraft refused", 0, lambda: ledger.token_transfer(caller=operator, token_id=token_id,
                                                                from_wallet=wallet_b.pk, to_wallet=wallet_a.pk,
                                                                amount=10_000))  # fmt: skip
    step("frozen", 1, lambda: investors.wallet_set_frozen(actor=compliance, wallet_id=wallet_b.pk, frozen=True,
                                                          reason="court order"))  # fmt: skip
    step("forced transfer", 1, lambda: ledger.token_force_transfer(caller=compliance, token_id=token_id,
                                                                    from_wallet=wallet_b.pk, to_wallet=wallet_a.pk,
                                                                    amount=50, reason="court order"))  # fmt: skip
    step("burned", 1, lambda: ledger.token_burn(caller=operator, token_id=token_id, from_wallet=wallet_a.pk,
                                                amount=25))  # fmt: skip
    step("paused", 1, lambda: tokens.token_set_paused(actor=compliance, token_id=token_id, paused=True,
                                                      reason="review"))  # fmt: skip
    step("recovered (one event, one entry per class)", 1, lambda: investors.wallet_recover(
        actor=compliance, investor_id=alice.pk, lost_wallet_id=wallet_a.pk, new_address=random_address(),
        reason="lost device",
    ))  # fmt: skip
    step("investor updated (PII changed)", 1, lambda: investors.investor_update(
        actor=compliance, investor_id=alice.pk, values={"email": "ada.new@example.org"},
    ))  # fmt: skip
    step("erasure refused without a reason", 0,
         lambda: investors.investor_erase(actor=compliance, investor_id=bob.pk, reason=""))  # fmt: skip
    step("investor erased (pseudonymised)", 1, lambda: investors.investor_erase(actor=compliance, investor_id=bob.pk,
                                                                                 reason="GDPR request"))  # fmt: skip
    step("series created", 1, lambda: price_services.price_series_create(actor=valuer, code="HPI-UK", kind="index"))
    day = timezone.localdate() - timedelta(days=10)
    step("observations added (one bulk change)", 1, lambda: price_services.price_observations_add(
        actor=valuer, series_code="HPI-UK", observations=[{"date": str(day), "value": "100"},
                                                          {"date": str(day + timedelta(days=5)), "value": "104"}],
    ))  # fmt: skip
    draft = step("appraisal recorded", 1, lambda: valuation_record(actor=valuer, asset_id=asset.pk,
                                                                    method="appraisal", as_of=day,
                                                                    inputs={"value": "2000000"}))  # fmt: skip
    step("self-approval refused", 0, lambda: valuation_approve(actor=valuer, valuation_id=draft.pk))
    step("appraisal approved", 1, lambda: valuation_approve(actor=valuer2, valuation_id=draft.pk))
    step("index valuation recorded", 1, lambda: valuation_record(actor=valuer, asset_id=asset.pk, method="index",
                                                                  as_of=day + timedelta(days=5),
                                                                  inputs={"series": "HPI-UK"}))  # fmt: skip

    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():  # committed by the services, rolled back by the caller
        price_services.price_series_create(actor=valuer, code="NEVER", kind="index")
        tokens.token_set_paused(actor=compliance, token_id=token_id, paused=False, reason="never")
        raise RuntimeError("the caller's transaction fails after the service calls")
    assert AuditEvent.objects.count() == before  # a rolled-back operation leaves no event

    expected = sum(changes for _, changes in steps)
    assert AuditEvent.objects.count() - start == expected
    assert all(count in (0, 1, 3) for _, count in steps)
    trail = json.dumps(list(AuditEvent.objects.values()), ensure_ascii=False, default=str)  # every column
    for value in [*PII.values(), "ada.new@example.org", "Bob SA", "ops@bob.example", "FR-1"]:
        assert value not in trail, f"PII in clear in an audit event: {value}"
