"""Factories for investors and wallets."""

import secrets

import factory
from eth_utils import to_checksum_address

from tokenization.models import Investor, Wallet


def random_address() -> str:
    return to_checksum_address("0x" + secrets.token_hex(20))


class InvestorFactory(factory.django.DjangoModelFactory):
    """A KYC-verified individual in Great Britain with no accreditation."""

    class Meta:
        model = Investor

    type = "individual"
    legal_name = factory.Sequence(lambda n: f"Investor {n}")
    email = factory.Sequence(lambda n: f"investor{n}@example.com")
    tax_id = factory.Sequence(lambda n: f"TAX-{n:06d}")
    country = "GB"
    kyc_status = "verified"
    accreditation = "none"


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    investor = factory.SubFactory(InvestorFactory)
    address = factory.LazyFunction(random_address)
