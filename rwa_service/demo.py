"""Demo data (SPEC §7): six demo users and a dozen assets across types and states, made through the services so
every row has its audit event. Seeds once; refuses under production settings."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from assets import services as assets
from audit.services import Actor
from rwa_service.accounts.roles import Role
from rwa_service.accounts.services import roles_ensure, user_create
from rwa_service.exceptions import PermissionRefused

DEMO_USERS = {
    "demo-admin": Role.ADMIN,
    "demo-operator": Role.OPERATOR,
    "demo-compliance": Role.COMPLIANCE,
    "demo-valuer": Role.VALUER,
    "demo-auditor": Role.AUDITOR,
    "demo-investor": Role.INVESTOR,
}

# name, type, jurisdiction, currency, issuer, metadata, path through the lifecycle
DEMO_ASSETS = [
    ("Canary Wharf Office Tower", "real_estate", "GB", "GBP", "Thames Property Trust",
     {"address": "25 Canada Square, London E14", "property_type": "commercial", "area_sqm": 52000, "year_built": 2003},
     ["submit", "approve"]),
    ("Berlin Residential Portfolio", "real_estate", "DE", "EUR", "Spree Wohnen GmbH",
     {"address": "Friedrichstrasse 100, Berlin", "property_type": "residential", "area_sqm": 18400}, ["submit"]),
    ("Green Municipal Bond 2031", "fixed_income", "US", "USD", "City of Portland",
     {"principal": "25000000", "coupon_rate": "4.25", "coupon_frequency": "semiannual", "issue_date": "2024-06-01",
      "maturity_date": "2031-06-01"}, ["submit", "approve"]),
    ("SME Loan Pool A", "private_credit", "NL", "EUR", "Lowlands Credit Partners",
     {"borrower": "Twelve Dutch SMEs", "principal": "8000000", "interest_rate": "7.5", "maturity_date": "2029-12-31",
      "seniority": "senior_secured"}, []),
    ("LBMA Gold Bars, Zurich Vault", "commodity", "CH", "USD", "Alpine Bullion AG",
     {"commodity": "gold", "quantity": "12000", "unit": "troy_oz", "vault": "Zurich Freeport 3",
      "price_series": "XAU-USD"},
     ["submit", "approve"]),
    ("Nordic Solar Holdings", "equity", "SE", "SEK", "Nordic Solar AB",
     {"company_name": "Nordic Solar Holdings AB", "shares": 1000000, "share_class": "B"}, []),
    ("Untitled (Blue), 1962", "art", "FR", "EUR", "Galerie Lumière",
     {"artist": "Yves Klein (attributed)", "title": "Untitled (Blue)", "year": 1962, "custodian": "Geneva Freeport"},
     ["submit"]),
    ("Meseta Toll Road Concession", "infrastructure", "ES", "EUR", "Autopistas Meseta SA",
     {"sector": "transport", "location": "Madrid-Toledo", "concession_end": "2048-12-31", "useful_life_years": 40},
     ["submit", "approve", ("suspend", "Concession audit pending")]),
    ("Verra VCS Rainforest 2024", "carbon_credit", "BR", "USD", "Amazonia Carbon Ltda",
     {"registry": "verra", "project_id": "VCS-1234", "vintage": 2024, "tonnes_co2e": "150000"},
     ["submit", "approve"]),
    ("Vintage Wine Collection", "other", "IT", "EUR", "Cantina Reale",
     {"category": "wine"}, ["submit", "approve", ("retire", "Collection sold at auction")]),
    ("US Treasury Strip 2030", "fixed_income", "US", "USD", "Demo Securities LLC",
     {"principal": "1000000", "coupon_rate": "0", "coupon_frequency": "zero", "maturity_date": "2030-05-15"}, []),
    ("Singapore Logistics Hub", "real_estate", "SG", "SGD", "Lion City REIT",
     {"address": "8 Tuas Avenue, Singapore", "property_type": "industrial", "area_sqm": 31000},
     ["submit", ("reject", "Title deed missing; please attach it")]),
]  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    seeded: bool
    password: str | None
    generated: bool


@transaction.atomic
def demo_seed(*, password: str | None) -> DemoResult:
    """Creates the demo users and assets unless they exist. Returns the password when it made the users."""
    if not getattr(settings, "DEMO_ALLOWED", False):
        raise PermissionRefused("Demo data is refused under production settings.", code="demo_refused")
    if get_user_model().objects.filter(username="demo-operator").exists():
        return DemoResult(seeded=False, password=None, generated=False)
    generated = not password
    password = password or secrets.token_urlsafe(12)
    roles_ensure()
    system = Actor.system("seed_demo")
    users = {
        name: user_create(
            actor=system,
            username=name,
            password=password,
            roles=[role],
            email=f"{name}@example.com",
            staff=role != Role.INVESTOR,
        )
        for name, role in DEMO_USERS.items()
    }
    operator, compliance = users["demo-operator"], users["demo-compliance"]
    for name, asset_type, jurisdiction, currency, issuer, metadata, path in DEMO_ASSETS:
        asset = assets.asset_create(
            actor=operator,
            name=name,
            asset_type=asset_type,
            jurisdiction=jurisdiction,
            currency=currency,
            issuer_name=issuer,
            description=f"Demo asset: {name}.",
            metadata=metadata,
        )
        for step in path:
            transition, reason = step if isinstance(step, tuple) else (step, "")
            actor = operator if transition == "submit" else compliance
            assets.asset_transition(actor=actor, asset_id=asset.pk, transition=transition, reason=reason)
    _seed_tokens(users=users)
    _seed_valuations(users=users)
    return DemoResult(seeded=True, password=password, generated=generated)


DEMO_INVESTORS = [
    # legal name, type, country, accreditation, wallet address, units minted
    ("Demo Investor", "individual", "GB", "accredited", "0x1111111111111111111111111111111111111111", 40_000),
    ("Helvetia Pension Fund", "entity", "CH", "professional", "0x2222222222222222222222222222222222222222", 50_000),
    ("Marta Rossi", "individual", "IT", "qualified", "0x3333333333333333333333333333333333333333", 10_000),
]


def _seed_tokens(*, users: dict) -> None:
    """Tokenizes the gold bars (XAUZ, 2 decimals) and gives three investors holdings and a few transfers."""
    from datetime import timedelta

    from django.utils import timezone

    from assets.models import Asset
    from tokenization.services import investors, ledger, operations, tokens

    operator, compliance = users["demo-operator"], users["demo-compliance"]
    gold = Asset.objects.get(name="LBMA Gold Bars, Zurich Vault")
    operation = tokens.token_class_tokenize(
        actor=operator,
        asset_id=gold.pk,
        symbol="XAUZ",
        name="Zurich Gold Token",
        decimals=2,
        max_supply=1_000_000_00,
        rules={"blocked_countries": ["KP", "IR"], "max_holders": 500, "max_balance_amount": 60_000_00},
    )
    token = operations.operation_execute(operation_id=operation.pk).result["token"]
    wallets = []
    for legal_name, kind, country, accreditation, address, units in DEMO_INVESTORS:
        investor = investors.investor_create(
            actor=compliance,
            values={
                "type": kind,
                "legal_name": legal_name,
                "email": f"{legal_name.split()[0].lower()}@example.com",
                "country": country,
                "kyc_status": "verified",
                "kyc_expires_at": timezone.now() + timedelta(days=365),
                "accreditation": accreditation,
                "user": users["demo-investor"] if legal_name == "Demo Investor" else None,
            },
        )
        wallet = investors.wallet_create(actor=compliance, investor_id=investor.pk, address=address)
        ledger.token_mint(caller=operator, token_id=token, to_wallet=wallet.pk, amount=units * 100, reason="Issue")
        wallets.append(wallet)
    ledger.token_transfer(caller=operator, token_id=token, from_wallet=wallets[1].pk, to_wallet=wallets[2].pk,
                          amount=2_500_00)  # fmt: skip
    ledger.token_transfer(caller=users["demo-investor"], token_id=token, from_wallet=wallets[0].pk,
                          to_wallet=wallets[2].pk, amount=1_000_00)  # fmt: skip


def _seed_valuations(*, users: dict) -> None:
    """Price series (gold in USD, a London house-price index, EUR-USD), the gold bars valued by the market method
    with a policy for the nightly run (so XAUZ has a NAV), and an appraisal awaiting a second valuer."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from assets.models import Asset
    from audit.services import Actor
    from valuation import price_services, services

    valuer, system = users["demo-valuer"], Actor.system("seed_demo")
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(5, 0, -1)]
    series = [
        ("XAU-USD", "Gold, LBMA PM", "price", "troy_oz", "USD", "", ["2650.1", "2655.4", "2661", "2648.75", "2670.3"]),
        ("HPI-GB-LDN", "London house prices", "index", "", "", "", ["100.0", "100.1", "100.3", "100.2", "100.6"]),
        ("EUR-USD", "Euro in dollars", "fx", "", "USD", "EUR", ["1.0810", "1.0795", "1.0822", "1.0840", "1.0831"]),
    ]  # fmt: skip
    for code, name, kind, unit, currency, base, values in series:
        price_services.price_series_create(
            actor=system, code=code, name=name, kind=kind, unit=unit, currency=currency, base_currency=base
        )
        price_services.price_observations_add(
            actor=system,
            series_code=code,
            observations=[{"date": day, "value": Decimal(v)} for day, v in zip(days, values, strict=True)],
        )
    gold = Asset.objects.get(name="LBMA Gold Bars, Zurich Vault")
    services.valuation_policy_set(actor=valuer, asset_id=gold.pk, method="market", inputs={})
    services.valuation_record(actor=valuer, asset_id=gold.pk, method="market", as_of=days[-1], inputs={})
    office = Asset.objects.filter(status="approved", asset_type="real_estate").first()
    if office is not None:
        services.valuation_record(
            actor=valuer,
            asset_id=office.pk,
            method="appraisal",
            as_of=days[0],
            inputs={"value": "18500000.00", "appraiser": "Knight & Co", "report": "Annual external valuation"},
        )
