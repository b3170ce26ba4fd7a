"""The tokenization admin: every change goes through the services (roles, audit); PII never shows in lists."""

import html

import pytest

from audit.models import AuditEvent
from tests.tokenization.factories import InvestorFactory, WalletFactory, random_address
from tokenization.models import Investor, LedgerEntry, Operation, TokenClass, TransferRules, Wallet
from tokenization.services.tokens import token_class_tokenize

ADMIN = "/admin/tokenization"
SECRET = {
    "legal_name": "Zebulon Quixote-Farthingale",
    "email": "zebulon.quixote@very-private.example",
    "tax_id": "TAX-SECRET-998877",
}


@pytest.fixture
def staff(users):
    for name in ["operator", "compliance", "auditor", "valuer"]:
        users[name].is_staff = True
        users[name].save(update_fields=["is_staff"])
    return users


def _login(client, user):
    client.force_login(user)
    return client


def _action(client, model, action, objects, reason=""):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], "reason": reason, "index": "0"}
    return client.post(f"{ADMIN}/{model}/", data, follow=True)


def _events(obj, action):
    return AuditEvent.objects.filter(object_id=str(obj.pk), action=action)


# --- Investors: PII -----------------------------------------------------------------------------------------------


def test_investor_list_never_shows_pii(client, staff):
    investor = InvestorFactory(**SECRET, country="FR")
    for role in ["compliance", "auditor"]:
        page = _login(client, staff[role]).get(f"{ADMIN}/investor/").content.decode()
        assert str(investor.pk) in page and "FR" in page
        for value in SECRET.values():
            assert value not in page, (role, value)


def test_investor_change_page_shows_pii_to_compliance_only(client, staff):
    investor = InvestorFactory(**SECRET)
    url = f"{ADMIN}/investor/{investor.pk}/change/"
    auditor_page = _login(client, staff["auditor"]).get(url).content.decode()
    assert "***" in auditor_page
    for value in SECRET.values():
        assert value not in auditor_page
    compliance_page = _login(client, staff["compliance"]).get(url).content.decode()
    for value in SECRET.values():
        assert value in compliance_page


def test_investor_search_by_id_and_country_not_by_pii(client, staff):
    gb, fr = InvestorFactory(**SECRET, country="GB"), InvestorFactory(country="FR")
    _login(client, staff["compliance"])
    by_country = client.get(f"{ADMIN}/investor/", {"q": "fr"}).content.decode()
    assert str(fr.pk) in by_country and str(gb.pk) not in by_country
    by_id = client.get(f"{ADMIN}/investor/", {"q": str(gb.pk)}).content.decode()
    assert str(gb.pk) in by_id and str(fr.pk) not in by_id
    by_name = client.get(f"{ADMIN}/investor/", {"q": "Zebulon"})
    assert by_name.status_code == 200 and str(gb.pk) not in by_name.content.decode()


def test_compliance_adds_and_edits_an_investor_through_the_service(client, staff):
    _login(client, staff["compliance"])
    form = {
        "type": "entity",
        "country": "de",
        "kyc_status": "verified",
        "kyc_expires_at_0": "",
        "kyc_expires_at_1": "",
        "accreditation": "qualified",
        "user": "",
        **SECRET,
    }
    response = client.post(f"{ADMIN}/investor/add/", form)
    assert response.status_code == 302, response.content[:3000]
    investor = Investor.objects.get()
    assert (investor.legal_name, investor.country, investor.accreditation) == (SECRET["legal_name"], "DE", "qualified")
    assert _events(investor, "investor.created").get().actor == "compliance-user"

    response = client.post(f"{ADMIN}/investor/{investor.pk}/change/", form | {"country": "AT", "kyc_status": "expired"})
    assert response.status_code == 302, response.content[:3000]
    investor.refresh_from_db()
    assert (investor.country, investor.kyc_status) == ("AT", "expired")
    event = _events(investor, "investor.updated").get()
    assert SECRET["legal_name"] not in str(event.after)


def test_invalid_investor_shows_on_the_form_and_stores_nothing(client, staff):
    form = {"type": "individual", "country": "XX", "kyc_status": "pending", "accreditation": "none", **SECRET}
    response = _login(client, staff["compliance"]).post(f"{ADMIN}/investor/add/", form)
    assert response.status_code == 200
    assert b"ISO 3166-1 alpha-2" in response.content
    assert not Investor.objects.exists()


def test_auditor_reads_investors_but_cannot_add_or_change(client, staff):
    investor = InvestorFactory(country="GB")
    _login(client, staff["auditor"])
    assert client.get(f"{ADMIN}/investor/add/").status_code == 403
    response = client.post(f"{ADMIN}/investor/{investor.pk}/change/", {"country": "FR", **SECRET})
    assert response.status_code == 403
    assert Investor.objects.get(pk=investor.pk).country == "GB"
    assert "erase_pii" not in client.get(f"{ADMIN}/investor/").content.decode()


def test_operator_and_valuer_have_no_investor_admin(client, staff):
    for role in ["operator", "valuer"]:
        assert _login(client, staff[role]).get(f"{ADMIN}/investor/").status_code == 403


def test_erase_action_pseudonymises_and_needs_a_reason(client, staff):
    investor = InvestorFactory(**SECRET)
    _login(client, staff["compliance"])
    response = _action(client, "investor", "erase_pii", [investor])
    assert b"Erasure needs a reason" in response.content
    assert Investor.objects.get(pk=investor.pk).erased_at is None

    _action(client, "investor", "erase_pii", [investor], reason="GDPR art. 17 request")
    erased = Investor.objects.get(pk=investor.pk)
    assert erased.erased_at is not None
    assert (erased.legal_name, erased.email, erased.tax_id) == (f"erased-{str(investor.pk)[:8]}", "", "")
    assert _events(investor, "investor.erased").get().reason == "GDPR art. 17 request"
    page = client.get(f"{ADMIN}/investor/{investor.pk}/change/").content.decode()
    assert SECRET["legal_name"] not in page and 'name="legal_name"' not in page  # an erased record is read-only


# --- Wallets ------------------------------------------------------------------------------------------------------


def test_freeze_and_unfreeze_actions(client, staff):
    wallet = WalletFactory()
    _login(client, staff["compliance"])
    _action(client, "wallet", "freeze_wallets", [wallet], reason="Court order")
    assert Wallet.objects.get(pk=wallet.pk).frozen is True
    assert _events(wallet, "wallet.frozen").get().reason == "Court order"
    _action(client, "wallet", "unfreeze_wallets", [wallet])
    assert Wallet.objects.get(pk=wallet.pk).frozen is False
    assert _events(wallet, "wallet.unfrozen").count() == 1


def test_auditor_is_not_offered_freeze(client, staff):
    wallet = WalletFactory()
    _login(client, staff["auditor"])
    assert "freeze_wallets" not in client.get(f"{ADMIN}/wallet/").content.decode()
    _action(client, "wallet", "freeze_wallets", [wallet], reason="x")
    assert Wallet.objects.get(pk=wallet.pk).frozen is False


def test_compliance_adds_a_wallet_through_the_service(client, staff):
    investor = InvestorFactory()
    address = random_address()
    _login(client, staff["compliance"])
    response = client.post(f"{ADMIN}/wallet/add/", {"investor": str(investor.pk), "address": address.lower()})
    assert response.status_code == 302, response.content[:3000]
    wallet = Wallet.objects.get(investor=investor)
    assert wallet.address == address  # stored checksummed
    assert _events(wallet, "wallet.created").count() == 1
    again = client.post(f"{ADMIN}/wallet/add/", {"investor": str(investor.pk), "address": address})
    assert again.status_code == 200 and b"already registered" in again.content
    bad = client.post(f"{ADMIN}/wallet/add/", {"investor": str(investor.pk), "address": "0x1234"})
    assert bad.status_code == 200 and Wallet.objects.count() == 1


# --- Token classes and rules --------------------------------------------------------------------------------------


def test_compliance_pauses_and_unpauses_a_token(client, staff, make_token):
    token = make_token()
    _login(client, staff["compliance"])
    _action(client, "tokenclass", "pause_tokens", [token], reason="Corporate action")
    paused = TokenClass.objects.get(pk=token.pk)
    assert (paused.status, paused.status_reason) == ("paused", "Corporate action")
    event = _events(token, "token.paused").get()
    assert (event.actor, event.reason) == ("compliance-user", "Corporate action")
    response = _action(client, "tokenclass", "pause_tokens", [token])
    assert b"Cannot pause a token that is paused" in response.content
    _action(client, "tokenclass", "unpause_tokens", [token])
    assert TokenClass.objects.get(pk=token.pk).status == "active"
    assert _events(token, "token.unpaused").count() == 1


def test_operator_is_not_offered_pause(client, staff, make_token):
    token = make_token()
    _login(client, staff["operator"])
    page = client.get(f"{ADMIN}/tokenclass/").content.decode()
    assert token.symbol in page and "pause_tokens" not in page
    _action(client, "tokenclass", "pause_tokens", [token], reason="sneaky")
    assert TokenClass.objects.get(pk=token.pk).status == "active"
    assert not _events(token, "token.paused").exists()


def test_token_classes_are_neither_added_nor_changed_nor_deleted_here(client, staff, make_token):
    token = make_token()
    _login(client, staff["operator"])
    assert "tokenize operation" in client.get(f"{ADMIN}/tokenclass/").content.decode()
    assert client.get(f"{ADMIN}/tokenclass/add/").status_code == 403
    assert client.post(f"{ADMIN}/tokenclass/{token.pk}/change/", {"name": "Renamed"}).status_code == 403
    assert client.post(f"{ADMIN}/tokenclass/{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TokenClass.objects.get(pk=token.pk).name == token.name


def test_token_page_shows_the_cap_table_and_rules(client, staff, make_token, funded):
    token = make_token(rules={"allowed_countries": ["GB", "IE"]})
    holder = funded(token, 750)
    url = f"{ADMIN}/tokenclass/{token.pk}/change/"
    page = html.unescape(_login(client, staff["compliance"]).get(url).content.decode())
    assert f"<td>{holder.address}</td><td>{holder.investor_id}</td><td>750</td><td>0</td>" in page
    assert "Transfer rules" in page and '["GB", "IE"]' in page
    operator_page = _login(client, staff["operator"]).get(url).content.decode()
    assert holder.address in operator_page  # cap table for every staff reader
    assert "Transfer rules" not in operator_page  # rules are for compliance and auditors (as in the API)


def _rules_form(**overrides):
    return {
        "require_kyc": "on",
        "min_accreditation": "accredited",
        "allowed_countries": "gb, fr",
        "blocked_countries": "",
        "max_holders": "100",
        "max_balance_amount": "",
        "max_balance_percent": "",
        "lockup_until_0": "",
        "lockup_until_1": "",
        "lockup_days": "",
        "velocity_limit": "",
        "velocity_window_hours": "",
    } | overrides


def test_compliance_edits_rules_through_the_service(client, staff, make_token):
    token = make_token()
    url = f"{ADMIN}/transferrules/{token.pk}/change/"
    response = _login(client, staff["compliance"]).post(url, _rules_form())
    assert response.status_code == 302, response.content[:3000]
    rules = TransferRules.objects.get(pk=token.pk)
    assert (rules.min_accreditation, rules.allowed_countries, rules.max_holders) == ("accredited", ["FR", "GB"], 100)
    event = _events(token, "token.rules_changed").get()
    assert event.actor == "compliance-user"
    assert event.after["allowed_countries"] == ["FR", "GB"]


def test_an_unchanged_rules_form_records_nothing(client, staff, make_token):
    token = make_token(rules={"allowed_countries": ["GB", "IE"], "min_accreditation": "accredited", "max_holders": 100})
    url = f"{ADMIN}/transferrules/{token.pk}/change/"
    page = _login(client, staff["compliance"]).get(url).content.decode()
    assert 'name="allowed_countries" value="GB, IE"' in page
    response = client.post(url, _rules_form(allowed_countries="GB, IE"))
    assert response.status_code == 302
    assert not _events(token, "token.rules_changed").exists()


def test_invalid_rules_show_on_the_form_and_change_nothing(client, staff, make_token):
    token = make_token()
    url = f"{ADMIN}/transferrules/{token.pk}/change/"
    _login(client, staff["compliance"])
    response = client.post(url, _rules_form(allowed_countries="GB, ZZ"))
    assert response.status_code == 200 and b"Not countries: ZZ" in response.content
    response = client.post(url, _rules_form(velocity_limit="1000"))
    assert response.status_code == 200 and b"window" in response.content
    assert TransferRules.objects.get(pk=token.pk).allowed_countries == []
    assert not _events(token, "token.rules_changed").exists()


def test_auditor_reads_rules_but_cannot_change_them(client, staff, make_token):
    token = make_token()
    url = f"{ADMIN}/transferrules/{token.pk}/change/"
    _login(client, staff["auditor"])
    assert client.get(url).status_code == 200
    assert client.post(url, _rules_form()).status_code == 403
    assert not _events(token, "token.rules_changed").exists()
    assert _login(client, staff["operator"]).get(url).status_code == 403


# --- Ledger and operations ----------------------------------------------------------------------------------------


def test_ledger_is_read_only_for_everyone(client, staff, users, make_token, funded):
    token = make_token()
    funded(token, 40)
    entry = LedgerEntry.objects.get(token_class=token)
    users["admin"].is_staff = True
    users["admin"].save(update_fields=["is_staff"])
    for user in [staff["auditor"], staff["operator"], users["admin"]]:
        _login(client, user)
        assert client.get(f"{ADMIN}/ledgerentry/").status_code == 200
        page = client.get(f"{ADMIN}/ledgerentry/{entry.pk}/change/").content.decode()
        assert "40" in page and "(issuance)" in page  # with its legs
        assert client.get(f"{ADMIN}/ledgerentry/add/").status_code == 403
        assert client.post(f"{ADMIN}/ledgerentry/{entry.pk}/change/", {"amount": "999"}).status_code == 403
        assert client.post(f"{ADMIN}/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 40


def _failed_tokenize(users, make_asset):
    asset = make_asset("approved")
    operation = token_class_tokenize(actor=users["operator"], asset_id=asset.pk, symbol="RTRY", name="Retry me")
    Operation.objects.filter(pk=operation.pk).update(status="failed", error="gateway down", attempts=1)
    TokenClass.objects.filter(pk=operation.inputs["token"]).update(status="failed")
    return Operation.objects.get(pk=operation.pk)


def test_operator_retries_a_failed_operation(client, staff, users, make_asset):
    operation = _failed_tokenize(users, make_asset)
    _login(client, staff["operator"])
    page = client.get(f"{ADMIN}/operation/{operation.pk}/change/").content.decode()
    assert "gateway down" in page and "failed" in page.lower()
    _action(client, "operation", "retry_operations", [operation])
    retried = Operation.objects.get(pk=operation.pk)
    # Queued on commit: the test transaction never commits, so it waits, re-opened, for the worker.
    assert (retried.status, retried.error) == ("initialized", "")
    assert TokenClass.objects.get(pk=operation.inputs["token"]).status == "pending"
    assert _events(operation, "operation.retried").get().actor == "operator-user"
    response = _action(client, "operation", "retry_operations", [retried])
    assert b"Only failed operations can be retried" in response.content


def test_retry_is_for_operators_only_and_operations_are_read_only(client, staff, users, make_asset):
    operation = _failed_tokenize(users, make_asset)
    _login(client, staff["compliance"])
    assert "retry_operations" not in client.get(f"{ADMIN}/operation/").content.decode()
    _action(client, "operation", "retry_operations", [operation])
    assert Operation.objects.get(pk=operation.pk).status == "failed"
    assert client.get(f"{ADMIN}/operation/add/").status_code == 403
    assert client.post(f"{ADMIN}/operation/{operation.pk}/change/", {"status": "succeeded"}).status_code == 403


def test_investor_has_no_admin(client, users):
    response = _login(client, users["investor"]).get(f"{ADMIN}/investor/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
