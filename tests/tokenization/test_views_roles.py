"""The SPEC §3 role matrix over every tokenization endpoint: each role gets exactly its answer, the body says what
happened and the database shows it (or, for a refusal, that nothing happened at all)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from assets import services as asset_services
from assets.models import AssetStatus
from audit.models import AuditEvent
from rwa_service.idempotency.models import IdempotencyKey
from tests.factories import UserFactory
from tests.rwa_service.problems import problem_of
from tests.tokenization.factories import InvestorFactory, WalletFactory, random_address
from tokenization.models import Account, Investor, LedgerEntry, Operation, TokenClass, TransferRules, Wallet
from tokenization.services.investors import wallet_set_frozen
from tokenization.services.ledger import token_mint
from tokenization.services.operations import operation_execute
from tokenization.services.tokens import token_class_tokenize, token_set_paused

ALL = ["anonymous", "norole", "admin", "operator", "compliance", "valuer", "auditor", "investor"]
STAFF = {"admin", "operator", "compliance", "valuer", "auditor"}
EVERYONE = STAFF | {"investor"}
REGISTRY_READERS = {"admin", "compliance", "auditor", "investor"}
API = "/api/v1/"
PROBLEM_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


def _expect(allowed: set[str], ok: int, *, investor: int | None = None) -> dict[str, int]:
    """Anonymous 401; allowed roles `ok`; the investor `investor` when given (404: not theirs); others 403."""
    answers = {}
    for role in ALL:
        if role == "anonymous":
            answers[role] = 401
        elif role == "investor" and investor is not None:
            answers[role] = investor
        elif role in allowed:
            answers[role] = ok
        else:
            answers[role] = 403
    return answers


@dataclass
class World:
    """An active token over a tokenized asset. `mine` (1000 units) belongs to the investor linked to the
    `investor` user; `theirs` (1000 units) to another investor; `spare` to a third investor and holds nothing."""

    users: dict
    make_asset: Callable
    make_token: Callable
    token: TokenClass
    me: Investor
    mine: Wallet
    other: Investor
    theirs: Wallet
    spare: Wallet
    counter: list = field(default_factory=lambda: [0])

    def pending_token(self) -> TokenClass:
        """A token class whose tokenize operation has not run: its asset is approved, not tokenized."""
        self.counter[0] += 1
        asset = self.make_asset("approved")
        operation = token_class_tokenize(
            actor=self.users["operator"], asset_id=asset.pk, symbol=f"PEND{self.counter[0]}", name="Pending"
        )
        return TokenClass.objects.get(pk=operation.inputs["token"])

    def failed_operation(self) -> Operation:
        """A tokenize operation that failed: the asset was suspended before the worker ran it."""
        asset = self.make_asset("approved")
        operation = token_class_tokenize(actor=self.users["operator"], asset_id=asset.pk, symbol="FAILED", name="F")
        asset_services.asset_transition(
            actor=self.users["compliance"], asset_id=asset.pk, transition="suspend", reason="title dispute"
        )
        operation = operation_execute(operation_id=operation.pk)
        assert operation.status == "failed"
        return operation


@pytest.fixture
def world(users, make_asset, make_token) -> World:
    token = make_token()
    me = InvestorFactory(user=users["investor"], legal_name="Ivy Investor")
    mine = WalletFactory(investor=me)
    other = InvestorFactory(legal_name="Otto Other")
    theirs = WalletFactory(investor=other)
    spare = WalletFactory()
    for wallet in (mine, theirs):
        token_mint(caller=users["operator"], token_id=token.pk, to_wallet=wallet.pk, amount=1000)
    token.refresh_from_db()
    return World(users, make_asset, make_token, token, me, mine, other, theirs, spare)


@dataclass
class Call:
    method: str
    path: str
    body: dict | None = None
    key: bool = False  # an Idempotency-Key is required (SPEC §5)
    check: Callable[[Any, str], None] | None = None  # asserts the body and the database after the expected answer


def _balance(token: TokenClass, wallet: Wallet) -> Decimal:
    account = Account.objects.filter(token_class=token, wallet=wallet).first()
    return account.balance if account else Decimal(0)


# --- the calls -----------------------------------------------------------------------------------------------------


def tokenize(w: World) -> Call:
    asset = w.make_asset("approved")
    body = {"symbol": "NEWT", "name": "New token", "decimals": 2, "max_supply": "1000000", "rules": {"max_holders": 9}}

    def check(response, role):
        data = response.json()
        token = TokenClass.objects.get(symbol="NEWT")
        assert (data["kind"], data["status"], data["inputs"]["token"]) == ("tokenize", "initialized", str(token.pk))
        assert (token.status, token.asset_id, token.decimals, token.max_supply) == ("pending", asset.pk, 2, 1000000)
        assert TransferRules.objects.get(token_class=token).max_holders == 9
        assert Operation.objects.get(pk=data["id"]).inputs["asset"] == str(asset.pk)

    return Call("post", f"assets/{asset.pk}/tokenize/", body, key=True, check=check)


def tokens_list(w: World) -> Call:
    pending = w.pending_token()

    def check(response, role):
        ids = {row["id"] for row in response.json()["results"]}
        assert str(w.token.pk) in ids
        assert (str(pending.pk) in ids) is (role != "investor")  # not tokenized and not held: hidden

    return Call("get", "tokens/", check=check)


def token_retrieve(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert (data["id"], data["symbol"], data["status"]) == (str(w.token.pk), w.token.symbol, "active")
        assert (data["total_supply"], data["max_supply"], data["asset"]) == ("2000", None, str(w.token.asset_id))

    return Call("get", f"tokens/{w.token.pk}/", check=check)


def pending_token_retrieve(w: World) -> Call:
    pending = w.pending_token()

    def check(response, role):
        assert response.json()["status"] == "pending"

    return Call("get", f"tokens/{pending.pk}/", check=check)


def rules_get(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert data["require_kyc"] is True
        assert (data["allowed_countries"], data["max_holders"], data["max_balance_amount"]) == ([], None, None)

    return Call("get", f"tokens/{w.token.pk}/rules/", check=check)


def rules_put(w: World) -> Call:
    body = {"require_kyc": True, "allowed_countries": ["gb", "FR"], "max_balance_amount": "5000", "lockup_days": 3}

    def check(response, role):
        data = response.json()
        assert (data["allowed_countries"], data["max_balance_amount"], data["lockup_days"]) == (["FR", "GB"], "5000", 3)
        rules = TransferRules.objects.get(token_class=w.token)
        assert (rules.allowed_countries, rules.max_balance_amount, rules.lockup_days) == (["FR", "GB"], 5000, 3)
        assert AuditEvent.objects.filter(action="token.rules_changed", object_id=str(w.token.pk)).count() == 1

    return Call("put", f"tokens/{w.token.pk}/rules/", body, check=check)


def holders(w: World) -> Call:
    def check(response, role):
        data = response.json()
        rows = {row["wallet"]: row["balance"] for row in data["holders"]}
        if role == "investor":
            assert rows == {w.mine.address: "1000"}
        else:
            assert rows == {w.mine.address: "1000", w.theirs.address: "1000"}
            assert data["total_supply"] == "2000"

    return Call("get", f"tokens/{w.token.pk}/holders/", check=check)


def transfer_check(w: World) -> Call:
    body = {"from_wallet": w.mine.address.lower(), "to_wallet": str(w.spare.pk), "amount": 10}

    def check(response, role):
        data = response.json()
        assert (data["allowed"], data["status_code"], data["app_code"]) == (True, "0x51", "")
        assert all(rule["passed"] for rule in data["rules"])
        assert _balance(w.token, w.mine) == 1000  # a dry run

    return Call("post", f"tokens/{w.token.pk}/transfer-check/", body, check=check)


def transfers_list(w: World) -> Call:
    def check(response, role):
        received = sorted(row["to_wallet"] for row in response.json()["results"])
        mine_only = [w.mine.address]
        assert received == (mine_only if role == "investor" else sorted([w.mine.address, w.theirs.address]))

    return Call("get", f"tokens/{w.token.pk}/transfers/", check=check)


def transfer(w: World) -> Call:
    body = {"from_wallet": str(w.mine.pk), "to_wallet": w.spare.address.lower(), "amount": "10"}

    def check(response, role):
        data = response.json()
        entry = LedgerEntry.objects.get(pk=data["seq"])
        assert (data["kind"], data["amount"], data["from_wallet"], data["to_wallet"]) == (
            "transfer", "10", w.mine.address, w.spare.address,
        )  # fmt: skip
        assert (entry.kind, entry.amount, entry.from_wallet_id, entry.to_wallet_id) == ("transfer", 10, w.mine.pk,
                                                                                       w.spare.pk)  # fmt: skip
        assert (_balance(w.token, w.mine), _balance(w.token, w.spare)) == (990, 10)

    return Call("post", f"tokens/{w.token.pk}/transfers/", body, key=True, check=check)


def transfer_from_theirs(w: World) -> Call:
    """Staff move any wallet; the investor moving another investor's wallet is refused with 0x58 not-owner."""
    body = {"from_wallet": str(w.theirs.pk), "to_wallet": str(w.spare.pk), "amount": 10}

    def check(response, role):
        data = response.json()
        if role == "investor":
            problem_of(response, status=422, code="transfer_blocked")
            assert (data["allowed"], data["status_code"], data["app_code"]) == (False, "0x58", "not-owner")
            owner_rule = next(rule for rule in data["rules"] if rule["rule"] == "not-owner")
            assert owner_rule["passed"] is False
            assert (_balance(w.token, w.theirs), _balance(w.token, w.spare)) == (1000, 0)
            assert not LedgerEntry.objects.filter(kind="transfer").exists()
        else:
            assert (data["kind"], data["from_wallet"], data["amount"]) == ("transfer", w.theirs.address, "10")
            assert (_balance(w.token, w.theirs), _balance(w.token, w.spare)) == (990, 10)

    return Call("post", f"tokens/{w.token.pk}/transfers/", body, key=True, check=check)


def mint(w: World) -> Call:
    body = {"to_wallet": str(w.spare.pk), "amount": 50, "reason": "subscription"}

    def check(response, role):
        data = response.json()
        assert (data["kind"], data["amount"], data["to_wallet"], data["from_wallet"]) == (
            "mint", "50", w.spare.address, None,
        )  # fmt: skip
        assert (_balance(w.token, w.spare), TokenClass.objects.get(pk=w.token.pk).total_supply) == (50, 2050)

    return Call("post", f"tokens/{w.token.pk}/mint/", body, key=True, check=check)


def burn(w: World) -> Call:
    body = {"from_wallet": w.mine.address, "amount": "100", "reason": "redemption"}

    def check(response, role):
        data = response.json()
        assert (data["kind"], data["amount"], data["from_wallet"], data["reason"]) == (
            "burn", "100", w.mine.address, "redemption",
        )  # fmt: skip
        assert (_balance(w.token, w.mine), TokenClass.objects.get(pk=w.token.pk).total_supply) == (900, 1900)

    return Call("post", f"tokens/{w.token.pk}/burn/", body, key=True, check=check)


def force_transfer(w: World) -> Call:
    body = {"from_wallet": str(w.theirs.pk), "to_wallet": str(w.spare.pk), "amount": 30, "reason": "Court order"}

    def check(response, role):
        data = response.json()
        assert (data["kind"], data["amount"], data["reason"]) == ("forced_transfer", "30", "Court order")
        assert (_balance(w.token, w.theirs), _balance(w.token, w.spare)) == (970, 30)

    return Call("post", f"tokens/{w.token.pk}/force-transfer/", body, key=True, check=check)


def pause(w: World) -> Call:
    def check(response, role):
        assert (response.json()["status"], response.json()["status_reason"]) == ("paused", "incident")
        assert TokenClass.objects.get(pk=w.token.pk).status == "paused"

    return Call("post", f"tokens/{w.token.pk}/pause/", {"reason": "incident"}, check=check)


def unpause(w: World) -> Call:
    token_set_paused(actor=w.users["compliance"], token_id=w.token.pk, paused=True, reason="incident")

    def check(response, role):
        assert response.json()["status"] == "active"
        assert TokenClass.objects.get(pk=w.token.pk).status == "active"

    return Call("post", f"tokens/{w.token.pk}/unpause/", {"reason": "resolved"}, check=check)


def retire(w: World) -> Call:
    empty = w.make_token(symbol="EMPTY")

    def check(response, role):
        assert (response.json()["status"], response.json()["status_reason"]) == ("retired", "wound up")
        assert TokenClass.objects.get(pk=empty.pk).status == "retired"

    return Call("post", f"tokens/{empty.pk}/retire/", {"reason": "wound up"}, check=check)


def investors_list(w: World) -> Call:
    def check(response, role):
        ids = {row["id"] for row in response.json()["results"]}
        if role == "investor":
            assert ids == {str(w.me.pk)}
        else:
            assert {str(w.me.pk), str(w.other.pk), str(w.spare.investor_id)} <= ids

    return Call("get", "investors/", check=check)


def investor_own(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert (data["id"], data["user"]) == (str(w.me.pk), w.users["investor"].pk)
        assert data["legal_name"] == (None if role == "auditor" else "Ivy Investor")

    return Call("get", f"investors/{w.me.pk}/", check=check)


def investor_other(w: World) -> Call:
    def check(response, role):
        data = response.json()
        assert data["id"] == str(w.other.pk)
        assert data["legal_name"] == (None if role == "auditor" else "Otto Other")

    return Call("get", f"investors/{w.other.pk}/", check=check)


def investor_create(w: World) -> Call:
    body = {"type": "entity", "legal_name": "Acme Fund LP", "email": "ops@acme.example", "tax_id": "GB-99",
            "country": "gb", "kyc_status": "verified", "accreditation": "professional"}  # fmt: skip

    def check(response, role):
        data = response.json()
        investor = Investor.objects.get(pk=data["id"])
        assert (data["legal_name"], data["country"], data["kyc_status"]) == ("Acme Fund LP", "GB", "verified")
        assert (investor.legal_name, investor.accreditation) == ("Acme Fund LP", "professional")
        assert investor.type == "entity"
        assert AuditEvent.objects.filter(action="investor.created", object_id=str(investor.pk)).count() == 1

    return Call("post", "investors/", body, check=check)


def investor_patch(w: World) -> Call:
    def check(response, role):
        assert (response.json()["kyc_status"], response.json()["accreditation"]) == ("rejected", "qualified")
        other = Investor.objects.get(pk=w.other.pk)
        assert (other.kyc_status, other.accreditation) == ("rejected", "qualified")

    body = {"kyc_status": "rejected", "accreditation": "qualified"}
    return Call("patch", f"investors/{w.other.pk}/", body, check=check)


def investor_patch_own(w: World) -> Call:
    """An investor may read their own record but not edit it (KYC is compliance's)."""

    def check(response, role):
        assert Investor.objects.get(pk=w.me.pk).kyc_status == "rejected"

    return Call("patch", f"investors/{w.me.pk}/", {"kyc_status": "rejected"}, check=check)


def wallets_own(w: World) -> Call:
    def check(response, role):
        assert [(row["id"], row["address"]) for row in response.json()] == [(str(w.mine.pk), w.mine.address)]

    return Call("get", f"investors/{w.me.pk}/wallets/", check=check)


def wallets_other(w: World) -> Call:
    def check(response, role):
        assert [row["id"] for row in response.json()] == [str(w.theirs.pk)]

    return Call("get", f"investors/{w.other.pk}/wallets/", check=check)


def wallet_add(w: World) -> Call:
    address = random_address()

    def check(response, role):
        data = response.json()
        assert (data["address"], data["investor"], data["frozen"], data["status"]) == (
            address, str(w.other.pk), False, "active",
        )  # fmt: skip
        assert Wallet.objects.get(pk=data["id"]).address == address

    return Call("post", f"investors/{w.other.pk}/wallets/", {"address": address.lower()}, check=check)


def wallet_own(w: World) -> Call:
    def check(response, role):
        assert (response.json()["id"], response.json()["address"]) == (str(w.mine.pk), w.mine.address)

    return Call("get", f"wallets/{w.mine.pk}/", check=check)


def wallet_other(w: World) -> Call:
    def check(response, role):
        assert response.json()["id"] == str(w.theirs.pk)

    return Call("get", f"wallets/{w.theirs.pk}/", check=check)


def freeze(w: World) -> Call:
    def check(response, role):
        assert response.json()["frozen"] is True
        assert Wallet.objects.get(pk=w.theirs.pk).frozen is True
        assert AuditEvent.objects.filter(action="wallet.frozen", object_id=str(w.theirs.pk)).count() == 1

    return Call("post", f"wallets/{w.theirs.pk}/freeze/", {"reason": "sanctions"}, check=check)


def freeze_part(w: World) -> Call:
    def check(response, role):
        assert response.json()["frozen"] is False
        assert Account.objects.get(token_class=w.token, wallet=w.theirs).frozen_amount == 400

    body = {"token": str(w.token.pk), "amount": "400", "reason": "court order"}
    return Call("post", f"wallets/{w.theirs.pk}/freeze/", body, check=check)


def unfreeze(w: World) -> Call:
    wallet_set_frozen(actor=w.users["compliance"], wallet_id=w.theirs.pk, frozen=True, reason="sanctions")

    def check(response, role):
        assert response.json()["frozen"] is False
        assert Wallet.objects.get(pk=w.theirs.pk).frozen is False

    return Call("post", f"wallets/{w.theirs.pk}/unfreeze/", {"reason": "lifted"}, check=check)


def recover_wallet(w: World) -> Call:
    new_address = random_address()
    body = {"lost_wallet": w.theirs.address.lower(), "new_address": new_address.lower(), "reason": "lost keys"}

    def check(response, role):
        data = response.json()
        new = Wallet.objects.get(address=new_address)
        assert (data["id"], data["address"], data["investor"]) == (str(new.pk), new_address, str(w.other.pk))
        lost = Wallet.objects.get(pk=w.theirs.pk)
        assert (lost.status, lost.recovered_to_id) == ("lost", new.pk)
        assert (_balance(w.token, w.theirs), _balance(w.token, new)) == (0, 1000)
        assert LedgerEntry.objects.filter(kind="recovery", from_wallet=lost, to_wallet=new, amount=1000).count() == 1

    return Call("post", f"investors/{w.other.pk}/recover-wallet/", body, key=True, check=check)


def erase(w: World) -> Call:
    def check(response, role):
        other = Investor.objects.get(pk=w.other.pk)
        assert other.erased_at is not None and other.legal_name.startswith("erased-")
        assert (other.email, other.tax_id) == ("", "")
        assert _balance(w.token, w.theirs) == 1000  # the ledger stays
        assert response.json()["erased_at"] is not None

    return Call("post", f"investors/{w.other.pk}/erase/", {"reason": "GDPR request"}, check=check)


def operation_get(w: World) -> Call:
    operation = Operation.objects.get(inputs__token=str(w.token.pk))

    def check(response, role):
        data = response.json()
        assert (data["id"], data["kind"], data["status"], data["attempts"]) == (
            str(operation.pk), "tokenize", "succeeded", 1,
        )  # fmt: skip
        assert data["result"]["token"] == str(w.token.pk)

    return Call("get", f"operations/{operation.pk}/", check=check)


def operation_retry(w: World) -> Call:
    operation = w.failed_operation()

    def check(response, role):
        data = response.json()
        assert (data["id"], data["status"], data["error"]) == (str(operation.pk), "initialized", "")
        assert Operation.objects.get(pk=operation.pk).status == "initialized"
        assert TokenClass.objects.get(pk=operation.inputs["token"]).status == "pending"

    return Call("post", f"operations/{operation.pk}/retry/", None, check=check)


MATRIX: dict[str, tuple[Callable[[World], Call], dict[str, int]]] = {
    "tokenize": (tokenize, _expect({"admin", "operator"}, 202)),
    "tokens list": (tokens_list, _expect(EVERYONE, 200)),
    "token retrieve": (token_retrieve, _expect(EVERYONE, 200)),
    "token over an approved, not tokenized asset": (pending_token_retrieve, _expect(STAFF, 200, investor=404)),
    "rules read": (rules_get, _expect({"admin", "compliance", "auditor"}, 200)),
    "rules replace": (rules_put, _expect({"admin", "compliance"}, 200)),
    "holders": (holders, _expect(EVERYONE, 200)),
    "transfer-check": (transfer_check, _expect({"admin", "operator", "compliance", "investor"}, 200)),
    "transfers list": (transfers_list, _expect(EVERYONE, 200)),
    "transfer from own wallet": (transfer, _expect({"admin", "operator", "compliance", "investor"}, 201)),
    "transfer from another investor's wallet": (
        transfer_from_theirs,
        _expect({"admin", "operator", "compliance"}, 201, investor=422),
    ),
    "mint": (mint, _expect({"admin", "operator"}, 201)),
    "burn": (burn, _expect({"admin", "operator"}, 201)),
    "force-transfer": (force_transfer, _expect({"admin", "compliance"}, 201)),
    "pause": (pause, _expect({"admin", "compliance"}, 200)),
    "unpause": (unpause, _expect({"admin", "compliance"}, 200)),
    # not in SPEC §3's table: the code lets operators and compliance retire an empty class
    "retire": (retire, _expect({"admin", "operator", "compliance"}, 200)),
    "investors list": (investors_list, _expect(REGISTRY_READERS, 200)),
    "investor: own record": (investor_own, _expect(REGISTRY_READERS, 200)),
    "investor: another's record": (investor_other, _expect(REGISTRY_READERS, 200, investor=404)),
    "investor create": (investor_create, _expect({"admin", "compliance"}, 201)),
    "investor patch": (investor_patch, _expect({"admin", "compliance"}, 200)),
    "investor patch of one's own record": (investor_patch_own, _expect({"admin", "compliance"}, 200)),
    "wallets: own": (wallets_own, _expect(REGISTRY_READERS, 200)),
    "wallets: another's": (wallets_other, _expect(REGISTRY_READERS, 200, investor=404)),
    "wallet add": (wallet_add, _expect({"admin", "compliance"}, 201)),
    "wallet: own": (wallet_own, _expect(REGISTRY_READERS, 200)),
    "wallet: another's": (wallet_other, _expect(REGISTRY_READERS, 200, investor=404)),
    "freeze": (freeze, _expect({"admin", "compliance"}, 200)),
    "freeze part of a holding": (freeze_part, _expect({"admin", "compliance"}, 200)),
    "unfreeze": (unfreeze, _expect({"admin", "compliance"}, 200)),
    "recover-wallet": (recover_wallet, _expect({"admin", "compliance"}, 201)),
    "erase": (erase, _expect({"admin", "compliance"}, 200)),
    "operation read": (operation_get, _expect(STAFF, 200)),
    "operation retry": (operation_retry, _expect({"admin", "operator"}, 202)),
}


def _state() -> tuple:
    return (
        AuditEvent.objects.count(),
        LedgerEntry.objects.count(),
        IdempotencyKey.objects.count(),
        TokenClass.objects.count(),
        Investor.objects.count(),
        Wallet.objects.count(),
        Operation.objects.count(),
    )


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("role", ALL)
def test_role_gets_the_spec_answer(endpoint, role, world, users, client_for):
    make_call, answers = MATRIX[endpoint]
    call = make_call(world)
    before = _state()
    client = client_for(None if role == "anonymous" else users[role])
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())} if call.key else {}
    if call.body is None:
        response = getattr(client, call.method)(API + call.path, **headers)
    else:
        response = getattr(client, call.method)(API + call.path, call.body, format="json", **headers)
    expected = answers[role]
    assert response.status_code == expected, response.content
    if expected in PROBLEM_CODES:
        problem_of(response, status=expected, code=PROBLEM_CODES[expected])
        assert _state() == before  # a refusal changes nothing: no event, no entry, no key, no row
        if expected == 401:
            assert response["WWW-Authenticate"].startswith("Bearer")
    else:
        call.check(response, role)


# --- what an investor sees beyond the matrix -------------------------------------------------------------------------


def test_investor_sees_a_held_token_of_a_suspended_asset_and_another_investor_does_not(world, users, client_for):
    asset_services.asset_transition(
        actor=users["compliance"], asset_id=world.token.asset_id, transition="suspend", reason="valuation dispute"
    )
    stranger = UserFactory(username="stranger-investor", roles=["investor"])
    InvestorFactory(user=stranger)
    path = f"{API}tokens/{world.token.pk}/"

    holder = client_for(users["investor"])
    assert holder.get(path).json()["id"] == str(world.token.pk)
    assert [row["id"] for row in holder.get(f"{API}tokens/").json()["results"]] == [str(world.token.pk)]

    outsider = client_for(stranger)
    problem_of(outsider.get(path), status=404, code="not_found")
    assert outsider.get(f"{API}tokens/").json()["results"] == []
    problem_of(outsider.get(f"{path}holders/"), status=404, code="not_found")


def test_investor_sees_tokens_of_tokenized_assets_but_only_their_own_rows(world, users, client_for):
    """A tokenized asset's class is visible to every investor; the cap table and transfers list only their rows."""
    stranger = UserFactory(username="stranger-investor", roles=["investor"])
    me = InvestorFactory(user=stranger)
    client = client_for(stranger)
    assert Investor.objects.get(pk=me.pk).wallets.count() == 0
    assert world.token.asset.status == AssetStatus.TOKENIZED
    assert client.get(f"{API}tokens/{world.token.pk}/").status_code == 200
    assert client.get(f"{API}tokens/{world.token.pk}/holders/").json()["holders"] == []
    assert client.get(f"{API}tokens/{world.token.pk}/transfers/").json()["results"] == []
    assert [row["id"] for row in client.get(f"{API}investors/").json()["results"]] == [str(me.pk)]
    problem_of(client.get(f"{API}wallets/{world.mine.pk}/"), status=404, code="not_found")


def test_investor_role_without_a_linked_investor_sees_no_registry_rows(world, client_for):
    unlinked = UserFactory(username="unlinked-investor", roles=["investor"])
    client = client_for(unlinked)
    assert client.get(f"{API}investors/").json()["results"] == []
    assert client.get(f"{API}tokens/{world.token.pk}/holders/").json()["holders"] == []
    problem_of(client.get(f"{API}investors/{world.me.pk}/"), status=404, code="not_found")
    before = LedgerEntry.objects.count()
    response = client.post(
        f"{API}tokens/{world.token.pk}/transfers/",
        {"from_wallet": str(world.mine.pk), "to_wallet": str(world.spare.pk), "amount": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    body = problem_of(response, status=422, code="transfer_blocked")
    assert (body["status_code"], body["app_code"]) == ("0x58", "not-owner")
    assert LedgerEntry.objects.count() == before
