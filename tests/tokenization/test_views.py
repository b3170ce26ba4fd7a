"""The tokenization API beyond roles: PII at rest and on the wire, transfers and their refusals (one per rule of the
SPEC §4 code table, each agreeing with the dry-run check), the cap table over time, and a property test that the
dry-run check and the transfer always decide alike."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.rwa_service.problems import problem_of
from tests.tokenization.factories import InvestorFactory, WalletFactory
from tokenization.models import Account, Investor, LedgerEntry, TokenClass, Wallet
from tokenization.pii import pii_decrypt
from tokenization.services.investors import investor_update, wallet_set_frozen
from tokenization.services.ledger import TransferBlocked, token_mint, token_transfer, transfer_check
from tokenization.services.tokens import token_rules_set, token_set_paused

API = "/api/v1/"
PII = {"legal_name": "Ada Lovelace-Byron", "email": "ada.lovelace@analytical.example", "tax_id": "GB-TAX-918273"}


def _key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def _balance(token: TokenClass, wallet: Wallet) -> Decimal:
    account = Account.objects.filter(token_class=token, wallet=wallet).first()
    return account.balance if account else Decimal(0)


def _raw_pii(investor_id) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_name, email, tax_id FROM tokenization_investor WHERE id = %s",
            [investor_id.hex if connection.vendor == "sqlite" else str(investor_id)],  # SQLite keeps UUIDs as hex
        )
        return cursor.fetchone()


# --- PII ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def registered(users, client_for):
    """An investor registered through the API by compliance, linked to the `investor` user."""
    body = PII | {"type": "individual", "country": "FR", "kyc_status": "verified", "user": users["investor"].pk}
    response = client_for(users["compliance"]).post(f"{API}investors/", body, format="json")
    assert response.status_code == 201, response.content
    return Investor.objects.get(pk=response.json()["id"])


def test_pii_is_ciphertext_in_the_database_and_decrypts_to_the_clear_text(registered):
    raw = _raw_pii(registered.pk)
    assert raw is not None
    for column, stored in zip(("legal_name", "email", "tax_id"), raw, strict=True):
        assert PII[column] not in stored
        assert PII[column].lower() not in stored.lower()
        assert stored.startswith("gAAAA")  # a Fernet token
        assert pii_decrypt(stored) == PII[column]
    assert Investor.objects.get(pk=registered.pk).legal_name == PII["legal_name"]  # the ORM sees clear text


def test_pii_is_ciphertext_after_a_patch_too(registered, users, client_for):
    response = client_for(users["compliance"]).patch(
        f"{API}investors/{registered.pk}/", {"email": "new.address@example.org"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "new.address@example.org"
    legal_name, email, tax_id = _raw_pii(registered.pk)
    assert "new.address" not in email and pii_decrypt(email) == "new.address@example.org"
    assert pii_decrypt(legal_name) == PII["legal_name"] and pii_decrypt(tax_id) == PII["tax_id"]


@pytest.mark.parametrize("role, sees", [("compliance", True), ("admin", True), ("investor", True), ("auditor", False)])
def test_pii_is_read_by_compliance_and_the_owning_investor_only(registered, users, client_for, role, sees):
    client = client_for(users[role])
    detail = client.get(f"{API}investors/{registered.pk}/").json()
    listed = next(row for row in client.get(f"{API}investors/").json()["results"] if row["id"] == str(registered.pk))
    for body in (detail, listed):
        for name, value in PII.items():
            assert body[name] == (value if sees else None)
        assert (body["country"], body["kyc_status"]) == ("FR", "verified")  # not PII: everyone allowed sees it


def test_operators_and_valuers_never_reach_investor_pii(registered, users, client_for):
    for role in ("operator", "valuer"):
        client = client_for(users[role])
        for path in (f"{API}investors/", f"{API}investors/{registered.pk}/"):
            response = client.get(path)
            problem_of(response, status=403, code="permission_denied")
            assert PII["legal_name"] not in response.content.decode()


def test_another_investor_gets_404_and_no_pii(registered, client_for):
    from tests.factories import UserFactory

    stranger = UserFactory(username="stranger", roles=["investor"])
    InvestorFactory(user=stranger)
    response = client_for(stranger).get(f"{API}investors/{registered.pk}/")
    problem_of(response, status=404, code="not_found")
    assert PII["legal_name"] not in response.content.decode()


def test_audit_events_of_investors_never_hold_clear_pii(registered, users, client_for):
    compliance = client_for(users["compliance"])
    renamed = {"legal_name": "Augusta Ada King", "email": "countess@lovelace.example", "tax_id": "GB-TAX-000042"}
    assert compliance.patch(f"{API}investors/{registered.pk}/", renamed, format="json").status_code == 200
    expire = compliance.patch(f"{API}investors/{registered.pk}/", {"kyc_status": "expired"}, format="json")
    assert expire.status_code == 200
    erase = compliance.post(f"{API}investors/{registered.pk}/erase/", {"reason": "GDPR"}, format="json")
    assert erase.status_code == 200
    events = list(AuditEvent.objects.filter(object_type="investor", object_id=str(registered.pk)).order_by("seq"))
    assert [event.action for event in events] == [
        "investor.created", "investor.updated", "investor.updated", "investor.erased",
    ]  # fmt: skip
    secrets = [*PII.values(), *renamed.values(), "lovelace", "GB-TAX"]
    for recorded in AuditEvent.objects.all():  # every event of the trail, not only the investor's
        text = json.dumps([recorded.before, recorded.after, recorded.reason]).lower()
        for secret in secrets:
            assert secret.lower() not in text, (recorded.action, secret)
    assert events[0].after["legal_name"] == "***" and events[0].after["email"] == "***"
    assert events[1].before["legal_name"] == "***" and events[1].after["legal_name"] == "***"
    assert events[3].after["erased"] is True


# --- transfers through the API ----------------------------------------------------------------------------------


@dataclass
class Rig:
    token: TokenClass
    alice: Wallet  # 1000 units; her investor is linked to the `investor` user
    bob: Wallet  # empty, verified, GB
    carol: Wallet  # 1000 units, another investor


@pytest.fixture
def rig(users, make_token) -> Rig:
    token = make_token()
    alice = WalletFactory(investor=InvestorFactory(user=users["investor"]))
    bob, carol = WalletFactory(), WalletFactory()
    for wallet in (alice, carol):
        token_mint(caller=users["operator"], token_id=token.pk, to_wallet=wallet.pk, amount=1000)
    token.refresh_from_db()
    return Rig(token, alice, bob, carol)


@pytest.mark.usefixtures("transfer_path")
def test_transfer_answers_201_with_checksummed_addresses_from_lower_case_input(rig, users, client_for):
    response = client_for(users["investor"]).post(
        f"{API}tokens/{rig.token.pk}/transfers/",
        {"from_wallet": rig.alice.address.lower(), "to_wallet": rig.bob.address.lower(), "amount": "250"},
        format="json",
        **_key(),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    entry = LedgerEntry.objects.get(kind="transfer")
    assert body == {
        "seq": entry.pk,
        "token": str(rig.token.pk),
        "kind": "transfer",
        "amount": "250",
        "from_wallet": rig.alice.address,
        "to_wallet": rig.bob.address,
        "status": "settled",
        "actor": "investor-user",
        "reason": "",
        "settlement_ref": "ledger",
        "created_at": body["created_at"],
    }
    assert rig.alice.address != rig.alice.address.lower()  # the answer really is the EIP-55 form
    assert (_balance(rig.token, rig.alice), _balance(rig.token, rig.bob)) == (750, 250)
    assert AuditEvent.objects.filter(action="transfer.settled", after__seq=entry.pk).count() == 1
    listed = client_for(users["auditor"]).get(f"{API}tokens/{rig.token.pk}/transfers/").json()["results"]
    assert listed[0] == body  # newest first, same shape


@pytest.mark.usefixtures("transfer_path")
def test_blocked_transfer_is_a_422_problem_and_the_check_says_the_same(rig, users, client_for):
    client = client_for(users["investor"])
    request = {"from_wallet": str(rig.alice.pk), "to_wallet": str(rig.bob.pk), "amount": 1001}
    check = client.post(f"{API}tokens/{rig.token.pk}/transfer-check/", request, format="json")
    assert check.status_code == 200
    decision = check.json()
    assert (decision["allowed"], decision["status_code"], decision["app_code"]) == (False, "0x52", "balance")

    response = client.post(f"{API}tokens/{rig.token.pk}/transfers/", request, format="json", **_key())
    body = problem_of(response, status=422, code="transfer_blocked")
    assert (body["allowed"], body["status_code"], body["app_code"]) == (False, "0x52", "balance")
    assert body["rules"] == decision["rules"]
    assert body["detail"] == "The sending wallet holds 1000."
    names = [rule["rule"] for rule in body["rules"]]
    assert len(names) == len(set(names))  # one entry per rule
    assert {"token-active", "balance", "receiver-kyc", "country", "max-balance"} <= set(names)
    for rule in body["rules"]:
        assert {"rule", "passed", "detail"} <= set(rule) <= {"rule", "passed", "detail", "allowed_amount"}
        assert isinstance(rule["passed"], bool) and rule["detail"]
    assert next(rule for rule in body["rules"] if rule["rule"] == "balance") == {
        "rule": "balance", "passed": False, "detail": "The sending wallet holds 1000.", "allowed_amount": "1000",
    }  # fmt: skip
    assert not LedgerEntry.objects.filter(kind="transfer").exists()
    assert _balance(rig.token, rig.alice) == 1000


@dataclass
class History:
    first_mint: int  # seq of alice's mint (carol's is the next)
    moment: object  # a time after both mints and before the transfer
    moved: int  # seq of alice → bob, 400
    burned: int  # seq of the burn of 100 of carol's
    path: str


@pytest.fixture
def history(rig, users, client_for) -> History:
    first_mint = LedgerEntry.objects.filter(kind="mint").order_by("pk").first().pk
    moment = timezone.now()
    operator = client_for(users["operator"])
    moved = operator.post(
        f"{API}tokens/{rig.token.pk}/transfers/",
        {"from_wallet": str(rig.alice.pk), "to_wallet": str(rig.bob.pk), "amount": 400},
        format="json",
        **_key(),
    )
    burned = operator.post(
        f"{API}tokens/{rig.token.pk}/burn/", {"from_wallet": str(rig.carol.pk), "amount": 100}, format="json", **_key()
    )
    assert (moved.status_code, burned.status_code) == (201, 201)
    return History(
        first_mint, moment, moved.json()["seq"], burned.json()["seq"], f"{API}tokens/{rig.token.pk}/holders/"
    )


def _table(client, path: str, **params) -> tuple[dict, str]:
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["as_of"] == params.get("as_of")
    return {row["wallet"]: row["balance"] for row in body["holders"]}, body["total_supply"]


def test_cap_table_now_as_of_a_seq_and_as_of_a_time(rig, history, users, client_for):
    auditor, path = client_for(users["auditor"]), history.path
    alice, bob, carol = rig.alice.address, rig.bob.address, rig.carol.address
    assert _table(auditor, path) == ({alice: "600", bob: "400", carol: "900"}, "1900")
    assert _table(auditor, path, as_of=str(history.first_mint)) == ({alice: "1000"}, "1000")
    assert _table(auditor, path, as_of=str(history.moved - 1)) == ({alice: "1000", carol: "1000"}, "2000")
    assert _table(auditor, path, as_of=str(history.moved)) == ({alice: "600", bob: "400", carol: "1000"}, "2000")
    assert _table(auditor, path, as_of=str(history.burned)) == _table(auditor, path)
    assert _table(auditor, path, as_of=history.moment.isoformat()) == ({alice: "1000", carol: "1000"}, "2000")
    zulu = history.moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _table(auditor, path, as_of=zulu) == ({alice: "1000", carol: "1000"}, "2000")
    assert _table(auditor, path, as_of=(timezone.now() - timedelta(days=1)).isoformat()) == ({}, "0")
    assert _table(auditor, path, as_of="0") == ({}, "0")
    # an investor sees only their own rows, now and in the past
    investor = client_for(users["investor"])
    assert _table(investor, path)[0] == {alice: "600"}
    assert _table(investor, path, as_of=str(history.moved - 1))[0] == {alice: "1000"}
    assert _table(investor, path, as_of=history.moment.isoformat())[0] == {alice: "1000"}


def test_cap_table_as_of_a_time_without_offset_is_read_as_utc(rig, history, users, client_for):
    naive = history.moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    table = _table(client_for(users["auditor"]), history.path, as_of=naive)
    assert table == ({rig.alice.address: "1000", rig.carol.address: "1000"}, "2000")


def test_cap_table_total_supply_is_the_tokens_for_an_investor_too(rig, history, users, client_for):
    """The investor's rows are filtered, the token's total supply is not: as of a past point it is the supply
    then (2000), as it is for staff, not the sum of the investor's own rows."""
    investor = client_for(users["investor"])
    assert _table(investor, history.path)[1] == "1900"
    assert _table(investor, history.path, as_of=str(history.moved - 1)) == ({rig.alice.address: "1000"}, "2000")
    assert _table(investor, history.path, as_of=str(history.burned)) == ({rig.alice.address: "600"}, "1900")


def test_as_of_a_seq_beyond_the_latest_entry_is_the_current_table(rig, users, client_for):
    response = client_for(users["auditor"]).get(f"{API}tokens/{rig.token.pk}/holders/", {"as_of": str(10**12)})
    assert response.status_code == 200
    assert {row["wallet"]: row["balance"] for row in response.json()["holders"]} == {
        rig.alice.address: "1000", rig.carol.address: "1000",
    }  # fmt: skip


@pytest.mark.parametrize(
    "as_of",
    [
        "yesterday",
        "2026-13-45",
        "2026-02-30T10:00:00Z",  # well formed, not a date: parse_datetime raises ValueError
        "-1",
        "12abc",
        "1.5",
        pytest.param("\u00b2", id="superscript-two"),  # "²": str.isdigit() says yes, int() says no
        pytest.param(str(2**63), id="beyond-bigint"),  # no ledger seq is that large; SQLite overflows
    ],
)
def test_invalid_as_of_is_a_400_problem(rig, users, client_for, as_of):
    client = client_for(users["auditor"])
    client.raise_request_exception = False
    response = client.get(f"{API}tokens/{rig.token.pk}/holders/", {"as_of": as_of})
    body = problem_of(response, status=400, code="validation_error")
    assert "as_of" in body["errors"]


def test_tokenize_runs_as_an_operation_and_tokenizes_the_asset(
    users, client_for, make_asset, django_capture_on_commit_callbacks
):
    asset = make_asset("approved")
    operator = client_for(users["operator"])
    body = {"symbol": "harb", "name": "Harbour units", "decimals": 2, "max_supply": 10**6,
            "rules": {"allowed_countries": ["GB"], "max_holders": 50}}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator.post(f"{API}assets/{asset.pk}/tokenize/", body, format="json", **_key())
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1  # the worker is told once the request's transaction commits
    accepted = response.json()
    assert (accepted["kind"], accepted["status"], accepted["inputs"]["symbol"]) == ("tokenize", "initialized", "HARB")
    operation = client_for(users["auditor"]).get(f"{API}operations/{accepted['id']}/").json()
    assert (operation["status"], operation["attempts"], operation["error"]) == ("succeeded", 1, "")
    token = TokenClass.objects.get(pk=operation["result"]["token"])
    assert (token.symbol, token.status, token.decimals, token.max_supply) == ("HARB", "active", 2, 10**6)
    assert token.asset.status == "tokenized"
    rules = client_for(users["compliance"]).get(f"{API}tokens/{token.pk}/rules/").json()
    assert (rules["allowed_countries"], rules["max_holders"]) == (["GB"], 50)
    listed = client_for(users["investor"]).get(f"{API}tokens/").json()["results"]
    assert [row["symbol"] for row in listed] == ["HARB"]  # now tokenized: every investor sees the class


def test_tokenize_refusals(users, client_for, make_asset, make_token):
    operator = client_for(users["operator"])
    draft = make_asset("draft")
    response = operator.post(f"{API}assets/{draft.pk}/tokenize/", {"symbol": "DRFT", "name": "D"}, format="json",
                             **_key())  # fmt: skip
    problem_of(response, status=409, code="illegal_transition")
    taken = make_token(symbol="TAKEN")
    approved = make_asset("approved")
    response = operator.post(f"{API}assets/{approved.pk}/tokenize/", {"symbol": taken.symbol, "name": "T"},
                             format="json", **_key())  # fmt: skip
    assert "symbol" in problem_of(response, status=400, code="validation_error")["errors"]
    assert not TokenClass.objects.filter(symbol="DRFT").exists()
    assert TokenClass.objects.filter(symbol="TAKEN").count() == 1


def test_supply_actions_refusals(rig, users, client_for, make_token):
    compliance, operator = client_for(users["compliance"]), client_for(users["operator"])
    response = compliance.post(
        f"{API}tokens/{rig.token.pk}/force-transfer/",
        {"from_wallet": str(rig.alice.pk), "to_wallet": str(rig.bob.pk), "amount": 5, "reason": ""},
        format="json",
        **_key(),
    )
    assert "reason" in problem_of(response, status=400, code="validation_error")["errors"]
    retire = operator.post(f"{API}tokens/{rig.token.pk}/retire/", {"reason": "done"}, format="json")
    problem_of(retire, status=409, code="supply_outstanding")
    capped = make_token(max_supply=100)
    mint = operator.post(f"{API}tokens/{capped.pk}/mint/", {"to_wallet": str(rig.bob.pk), "amount": 101},
                         format="json", **_key())  # fmt: skip
    body = problem_of(mint, status=422, code="transfer_blocked")
    assert (body["status_code"], body["app_code"]) == ("0x50", "max-supply")
    unpause = compliance.post(f"{API}tokens/{rig.token.pk}/unpause/", {"reason": "not paused"}, format="json")
    problem_of(unpause, status=409, code="illegal_transition")
    assert LedgerEntry.objects.filter(token_class=capped).count() == 0
    assert TokenClass.objects.get(pk=rig.token.pk).status == "active"


# --- one refusal per rule of the SPEC table ----------------------------------------------------------------------


def _set_rules(users, token, **rules) -> None:
    token_rules_set(actor=users["compliance"], token_id=token.pk, rules=rules)


def _set_investor(users, wallet, **values) -> None:
    investor_update(actor=users["compliance"], investor_id=wallet.investor_id, values=values)


def paused(users, rig):
    token_set_paused(actor=users["compliance"], token_id=rig.token.pk, paused=True, reason="incident")
    return rig.alice, rig.bob, 10, "0x54", "paused", "token-active"


def same_wallet(users, rig):
    return rig.alice, rig.alice, 10, "0x50", "same-wallet", "same-wallet"


def not_owner(users, rig):
    return rig.carol, rig.bob, 10, "0x58", "not-owner", "not-owner"


def sender_frozen(users, rig):
    wallet_set_frozen(actor=users["compliance"], wallet_id=rig.alice.pk, frozen=True, reason="sanctions")
    return rig.alice, rig.bob, 10, "0x56", "sender-frozen", "sender-frozen"


def sender_kyc_pending(users, rig):
    _set_investor(users, rig.alice, kyc_status="pending")
    return rig.alice, rig.bob, 10, "0x56", "sender-kyc", "sender-kyc"


def sender_kyc_rejected(users, rig):
    _set_investor(users, rig.alice, kyc_status="rejected")
    return rig.alice, rig.bob, 10, "0x56", "sender-kyc", "sender-kyc"


def sender_kyc_past_its_expiry(users, rig):
    _set_investor(users, rig.alice, kyc_expires_at=timezone.now() - timedelta(days=1))
    return rig.alice, rig.bob, 10, "0x56", "sender-kyc-expired", "sender-kyc"


def sender_kyc_marked_expired(users, rig):
    """What the nightly sweep leaves behind: kyc_status `expired`. Still an expired KYC, still its own app code."""
    _set_investor(users, rig.alice, kyc_status="expired", kyc_expires_at=timezone.now() - timedelta(days=1))
    return rig.alice, rig.bob, 10, "0x56", "sender-kyc-expired", "sender-kyc"


def balance(users, rig):
    return rig.alice, rig.bob, 1001, "0x52", "balance", "balance"


def frozen_amount(users, rig):
    wallet_set_frozen(
        actor=users["compliance"], wallet_id=rig.alice.pk, frozen=True, token_id=rig.token.pk, amount=980, reason="x"
    )
    return rig.alice, rig.bob, 50, "0x55", "frozen-amount", "frozen-amount"


def lockup_until(users, rig):
    _set_rules(users, rig.token, lockup_until=timezone.now() + timedelta(days=90))
    return rig.alice, rig.bob, 10, "0x55", "lockup", "lockup"


def lockup_days(users, rig):
    _set_rules(users, rig.token, lockup_days=30)  # alice received her 1000 just now
    return rig.alice, rig.bob, 10, "0x55", "lockup", "lockup"


def receiver_frozen(users, rig):
    wallet_set_frozen(actor=users["compliance"], wallet_id=rig.bob.pk, frozen=True, reason="sanctions")
    return rig.alice, rig.bob, 10, "0x57", "receiver-frozen", "receiver-frozen"


def receiver_kyc(users, rig):
    _set_investor(users, rig.bob, kyc_status="pending")
    return rig.alice, rig.bob, 10, "0x57", "receiver-kyc", "receiver-kyc"


def receiver_kyc_past_its_expiry(users, rig):
    _set_investor(users, rig.bob, kyc_expires_at=timezone.now() - timedelta(hours=1))
    return rig.alice, rig.bob, 10, "0x57", "receiver-kyc-expired", "receiver-kyc"


def receiver_kyc_marked_expired(users, rig):
    _set_investor(users, rig.bob, kyc_status="expired")
    return rig.alice, rig.bob, 10, "0x57", "receiver-kyc-expired", "receiver-kyc"


def country_not_allowed(users, rig):
    _set_rules(users, rig.token, allowed_countries=["GB", "IE"])
    _set_investor(users, rig.bob, country="FR")
    return rig.alice, rig.bob, 10, "0x57", "country", "country"


def country_blocked(users, rig):
    """The rules set through the API this time: PUT tokens/{id}/rules/ by compliance."""
    client = APIClient()
    client.force_authenticate(users["compliance"])
    response = client.put(f"{API}tokens/{rig.token.pk}/rules/", {"blocked_countries": ["fr"]}, format="json")
    assert (response.status_code, response.json()["blocked_countries"]) == (200, ["FR"])
    _set_investor(users, rig.bob, country="FR")
    return rig.alice, rig.bob, 10, "0x57", "country", "country"


def accreditation(users, rig):
    _set_rules(users, rig.token, min_accreditation="accredited")
    _set_investor(users, rig.alice, accreditation="professional")
    return rig.alice, rig.bob, 10, "0x57", "accreditation", "accreditation"


def max_holders(users, rig):
    _set_rules(users, rig.token, max_holders=2)  # alice and carol hold; bob would be the third
    return rig.alice, rig.bob, 10, "0x57", "max-holders", "max-holders"


def max_balance_amount(users, rig):
    _set_rules(users, rig.token, max_balance_amount=100)
    return rig.alice, rig.bob, 150, "0x57", "max-balance", "max-balance"


def max_balance_percent(users, rig):
    _set_rules(users, rig.token, max_balance_percent="5")  # 5% of 2000 = 100
    return rig.alice, rig.bob, 150, "0x57", "max-balance", "max-balance"


def velocity(users, rig):
    _set_rules(users, rig.token, velocity_limit=100, velocity_window_hours=24)
    token_transfer(caller=users["operator"], token_id=rig.token.pk, from_wallet=rig.alice.pk, to_wallet=rig.bob.pk,
                   amount=60)  # fmt: skip
    return rig.alice, rig.bob, 50, "0x59", "velocity", "velocity"


SCENARIOS = [
    paused, same_wallet, not_owner, sender_frozen, sender_kyc_pending, sender_kyc_rejected,
    sender_kyc_past_its_expiry, sender_kyc_marked_expired, balance, frozen_amount, lockup_until, lockup_days,
    receiver_frozen, receiver_kyc, receiver_kyc_past_its_expiry, receiver_kyc_marked_expired, country_not_allowed,
    country_blocked, accreditation, max_holders, max_balance_amount, max_balance_percent, velocity,
]  # fmt: skip


CASES = [
    pytest.param(scenario, caller, id=f"{scenario.__name__}-by-{caller}")
    for scenario in SCENARIOS
    for caller in ("investor", "operator")
    if scenario is not not_owner or caller == "investor"  # staff may move any wallet
]


@pytest.mark.usefixtures("transfer_path")
@pytest.mark.parametrize("scenario, caller", CASES)
def test_each_rule_refuses_with_its_code_and_the_check_agrees(rig, users, client_for, scenario, caller):
    sender, receiver, amount, status_code, app_code, rule_name = scenario(users, rig)
    client = client_for(users[caller])
    request = {"from_wallet": sender.address.lower(), "to_wallet": str(receiver.pk), "amount": amount}
    balances = {wallet.pk: _balance(rig.token, wallet) for wallet in (rig.alice, rig.bob, rig.carol)}
    entries, events = LedgerEntry.objects.count(), AuditEvent.objects.count()

    check = client.post(f"{API}tokens/{rig.token.pk}/transfer-check/", request, format="json")
    assert check.status_code == 200, check.content
    decision = check.json()
    assert (decision["allowed"], decision["status_code"], decision["app_code"]) == (False, status_code, app_code)

    response = client.post(f"{API}tokens/{rig.token.pk}/transfers/", request, format="json", **_key())
    body = problem_of(response, status=422, code="transfer_blocked")
    assert (body["allowed"], body["status_code"], body["app_code"]) == (False, status_code, app_code)
    assert body["rules"] == decision["rules"]
    names = [rule["rule"] for rule in body["rules"]]
    assert len(names) == len(set(names))
    refused = next(rule for rule in body["rules"] if rule["rule"] == rule_name)
    assert refused["passed"] is False and refused["detail"]
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == (entries, events)
    assert {wallet.pk: _balance(rig.token, wallet) for wallet in (rig.alice, rig.bob, rig.carol)} == balances


@pytest.mark.usefixtures("transfer_path")
def test_not_owner_is_only_an_investor_refusal(rig, users, client_for):
    """Staff move any wallet: the transfer the investor is refused with 0x58 settles for operator and compliance."""
    for role in ("operator", "compliance"):
        response = client_for(users[role]).post(
            f"{API}tokens/{rig.token.pk}/transfers/",
            {"from_wallet": str(rig.carol.pk), "to_wallet": str(rig.bob.pk), "amount": 10},
            format="json",
            **_key(),
        )
        assert response.status_code == 201, response.content
    assert _balance(rig.token, rig.bob) == 20


@pytest.mark.usefixtures("transfer_path")
def test_an_investor_learns_nothing_of_another_investors_wallet(rig, users, client_for):
    """SPEC §3: an investor never gets someone else's data. Naming another investor's wallet as the sender is
    refused 0x58 not-owner, and neither the check nor the 422 tells that wallet's balance, frozen amount or KYC."""
    _set_investor(users, rig.carol, kyc_status="pending")
    wallet_set_frozen(
        actor=users["compliance"], wallet_id=rig.carol.pk, frozen=True, token_id=rig.token.pk, amount=13, reason="x"
    )
    client = client_for(users["investor"])
    request = {"from_wallet": rig.carol.address, "to_wallet": str(rig.bob.pk), "amount": 5}
    check = client.post(f"{API}tokens/{rig.token.pk}/transfer-check/", request, format="json")
    blocked = client.post(f"{API}tokens/{rig.token.pk}/transfers/", request, format="json", **_key())
    assert (check.status_code, blocked.status_code) == (200, 422)
    for body in (check.json(), blocked.json()):
        assert (body["allowed"], body["status_code"], body["app_code"]) == (False, "0x58", "not-owner")
        assert [rule["rule"] for rule in body["rules"] if not rule["passed"]] == ["not-owner"]
        assert not any("allowed_amount" in rule for rule in body["rules"])
        # Everything the answer says in words (ids and the request id are random, so they are left out).
        text = json.dumps([rule["detail"] for rule in body["rules"]] + [body.get("detail", "")])
        for secret in ("1000", "987", "13", "pending"):  # balance, free balance, frozen amount, KYC status
            assert secret not in text, secret


@pytest.mark.usefixtures("transfer_path")
def test_the_allowed_side_of_each_limit_settles(rig, users, client_for):
    """The limits refuse only beyond them: exactly at the limit the transfer goes through."""
    _set_rules(users, rig.token, max_balance_amount=100, velocity_limit=100, velocity_window_hours=24, max_holders=3)
    client = client_for(users["investor"])
    request = {"from_wallet": str(rig.alice.pk), "to_wallet": str(rig.bob.pk), "amount": 100}
    decision = client.post(f"{API}tokens/{rig.token.pk}/transfer-check/", request, format="json").json()
    assert (decision["allowed"], decision["status_code"], decision["app_code"]) == (True, "0x51", "")
    assert client.post(f"{API}tokens/{rig.token.pk}/transfers/", request, format="json", **_key()).status_code == 201
    assert (_balance(rig.token, rig.alice), _balance(rig.token, rig.bob)) == (900, 100)


# --- the dry-run check and the transfer never disagree (property) -------------------------------------------------


class _Rollback(Exception):
    """Raised at the end of each example so its savepoint rolls everything back."""


KYC = st.sampled_from(
    ["verified"] * 5 + ["pending", "rejected", "expired", "verified-but-past-expiry", "verified-until-later"]
)
COUNTRIES = st.sampled_from(["GB", "FR", "US"])
ACCREDITATION = st.sampled_from(["none", "accredited", "qualified", "professional"])


def _rarely(odds: int = 8):
    """True about once in `odds` draws (False is the simplest value), so most examples reach the later rules."""
    return st.sampled_from([False] * (odds - 1) + [True])


RULES = {
    "allowed_countries": st.lists(COUNTRIES, min_size=1, max_size=3, unique=True),
    "blocked_countries": st.lists(COUNTRIES, min_size=1, max_size=1),
    "min_accreditation": ACCREDITATION,
    "max_holders": st.integers(1, 4),
    "max_balance_amount": st.integers(1, 400),
    "max_balance_percent": st.sampled_from(["10", "25", "50", "100"]),
    "lockup_until": st.sampled_from(["past", "future"]),
    "lockup_days": st.integers(1, 30),
    "velocity_limit": st.integers(1, 400),
}


@st.composite
def situations(draw):
    chosen = draw(st.sets(st.sampled_from(sorted(RULES)), max_size=3))  # a few rules on at a time
    balance = draw(st.one_of(st.integers(20, 300), st.just(0)))
    return {
        "caller": draw(st.sampled_from(["operator", "compliance", "owner", "owner", "stranger"])),
        "same_wallet": draw(_rarely(10)),
        "same_investor": draw(_rarely(5)),
        "paused": draw(_rarely(10)),
        "sender_kyc": draw(KYC),
        "receiver_kyc": draw(KYC),
        "sender_frozen": draw(_rarely()),
        "receiver_frozen": draw(_rarely()),
        "balance": balance,
        "frozen_amount": draw(st.one_of(st.just(0), st.just(0), st.integers(0, balance))),
        "receiver_balance": draw(st.one_of(st.just(0), st.integers(0, 200))),
        "other_holder": draw(st.booleans()),
        "amount": draw(st.one_of(st.integers(1, max(balance, 1)), st.integers(1, 350))),
        "earlier_sent": draw(st.integers(0, 100)),
        "sender_country": draw(COUNTRIES),
        "receiver_country": draw(COUNTRIES),
        "receiver_accreditation": draw(ACCREDITATION),
        "rules": {"require_kyc": draw(st.booleans())} | {name: draw(RULES[name]) for name in sorted(chosen)},
    }


def _kyc_values(kind: str) -> dict:
    now = timezone.now()
    return {
        "verified": {"kyc_status": "verified", "kyc_expires_at": None},
        "pending": {"kyc_status": "pending", "kyc_expires_at": None},
        "rejected": {"kyc_status": "rejected", "kyc_expires_at": None},
        "expired": {"kyc_status": "expired", "kyc_expires_at": now - timedelta(days=3)},
        "verified-but-past-expiry": {"kyc_status": "verified", "kyc_expires_at": now - timedelta(days=3)},
        "verified-until-later": {"kyc_status": "verified", "kyc_expires_at": now + timedelta(days=300)},
    }[kind]


def _stage(s: dict, *, users, token: TokenClass) -> tuple:
    """Builds the example's world (rules off while funding, then the situation), returns (caller, from, to)."""
    operator = users["operator"]
    owner_user = users["investor"] if s["caller"] == "owner" else None
    sender_investor = InvestorFactory(user=owner_user, country=s["sender_country"])
    sender = WalletFactory(investor=sender_investor)
    if s["same_wallet"]:
        receiver = sender
    elif s["same_investor"]:
        receiver = WalletFactory(investor=sender_investor)
    else:
        receiver = WalletFactory(investor__country=s["receiver_country"],
                                 investor__accreditation=s["receiver_accreditation"])  # fmt: skip
    if s["balance"]:
        token_mint(caller=operator, token_id=token.pk, to_wallet=sender.pk, amount=s["balance"])
    if s["receiver_balance"] and receiver.pk != sender.pk:
        token_mint(caller=operator, token_id=token.pk, to_wallet=receiver.pk, amount=s["receiver_balance"])
    if s["other_holder"]:
        holder = WalletFactory()
        token_mint(caller=operator, token_id=token.pk, to_wallet=holder.pk, amount=500)
        if s["earlier_sent"] and s["balance"] >= s["earlier_sent"]:  # volume already sent in the window
            token_transfer(caller=operator, token_id=token.pk, from_wallet=sender.pk, to_wallet=holder.pk,
                           amount=s["earlier_sent"])  # fmt: skip
    frozen = min(s["frozen_amount"], _balance(token, sender))
    if frozen:
        wallet_set_frozen(actor=users["compliance"], wallet_id=sender.pk, frozen=True, token_id=token.pk,
                          amount=frozen)  # fmt: skip
    Investor.objects.filter(pk=sender.investor_id).update(**_kyc_values(s["sender_kyc"]))
    if receiver.investor_id != sender.investor_id:
        Investor.objects.filter(pk=receiver.investor_id).update(**_kyc_values(s["receiver_kyc"]))
    Wallet.objects.filter(pk=sender.pk).update(frozen=s["sender_frozen"])
    if receiver.pk != sender.pk:
        Wallet.objects.filter(pk=receiver.pk).update(frozen=s["receiver_frozen"])
    rules = dict(s["rules"])
    if "lockup_until" in rules:
        rules["lockup_until"] = timezone.now() + timedelta(days=-30 if rules["lockup_until"] == "past" else 30)
    if "velocity_limit" in rules:
        rules["velocity_window_hours"] = 24
    token_rules_set(actor=users["compliance"], token_id=token.pk, rules=rules)
    if s["paused"]:
        token_set_paused(actor=users["compliance"], token_id=token.pk, paused=True, reason="drill")
    caller = {"operator": operator, "compliance": users["compliance"], "owner": users["investor"],
              "stranger": users["investor"]}[s["caller"]]  # fmt: skip
    return caller, sender, receiver


@pytest.fixture
def property_token(make_token):
    return make_token(symbol="PROP")


def _decide_both_ways(*, caller, token: TokenClass, sender: Wallet, receiver: Wallet, amount: int, s: dict) -> None:
    """The dry run's answer, then the transfer's, on the same state; the transfer is rolled back afterwards."""
    try:
        with transaction.atomic():
            before = (_balance(token, sender), _balance(token, receiver), LedgerEntry.objects.count())
            decision = transfer_check(
                caller=caller, token_id=token.pk, from_wallet=sender.address.lower(), to_wallet=receiver.pk,
                amount=amount,
            )  # fmt: skip
            event(f"decision: {decision.app_code or 'allowed'}")
            try:
                entry = token_transfer(
                    caller=caller, token_id=token.pk, from_wallet=sender.pk, to_wallet=receiver.address,
                    amount=str(amount),
                )  # fmt: skip
            except TransferBlocked as blocked:
                assert not decision.allowed, (s, amount, decision.as_dict(), blocked.decision.as_dict())
                assert (blocked.decision.status_code, blocked.decision.app_code) == (
                    decision.status_code, decision.app_code,
                ), (s, amount)  # fmt: skip
                assert blocked.decision.as_dict() == decision.as_dict()
                assert (_balance(token, sender), _balance(token, receiver), LedgerEntry.objects.count()) == before
            else:
                assert decision.allowed, (s, amount, decision.as_dict())
                assert (decision.status_code, decision.app_code) == (0x51, "")
                assert (entry.kind, entry.amount, entry.from_wallet_id, entry.to_wallet_id) == (
                    "transfer", amount, sender.pk, receiver.pk,
                )  # fmt: skip
                assert LedgerEntry.objects.count() == before[2] + 1
                if sender.pk != receiver.pk:
                    assert _balance(token, sender) == before[0] - amount
                    assert _balance(token, receiver) == before[1] + amount
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.usefixtures("transfer_path")
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=situations())
def test_transfer_check_and_transfer_always_decide_alike(s, users, property_token):
    """Random situations (KYC, freezes, balances, countries, accreditation, rules on and off, pause, callers): the
    dry-run check's decision is the transfer's. Each situation is tried with its own amount, 1 unit and the whole
    free balance, each in a savepoint; the whole example is rolled back so examples never see each other."""
    token = property_token
    try:
        with transaction.atomic():
            caller, sender, receiver = _stage(s, users=users, token=token)
            account = Account.objects.filter(token_class=token, wallet=sender).first()
            free = int(account.balance - account.frozen_amount) if account else 0
            for amount in sorted({s["amount"], 1, max(free, 1)}):
                _decide_both_ways(caller=caller, token=token, sender=sender, receiver=receiver, amount=amount, s=s)
            raise _Rollback
    except _Rollback:
        pass
    assert not LedgerEntry.objects.filter(token_class=token).exists()  # the savepoint took the example away
    assert not Investor.objects.filter(user=users["investor"]).exists()
