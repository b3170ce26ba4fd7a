"""Tokenization models: token classes and rules, investors and wallets, the ledger, and operations."""

from tokenization.models.investor import Accreditation, Investor, InvestorType, KycStatus, Wallet, WalletStatus
from tokenization.models.ledger import Account, AccountKind, EntryKind, LedgerEntry, LedgerLeg
from tokenization.models.operation import Operation, OperationKind, OperationStatus
from tokenization.models.token import TokenClass, TokenStatus, TransferRules

__all__ = [
    "Account",
    "AccountKind",
    "Accreditation",
    "EntryKind",
    "Investor",
    "InvestorType",
    "KycStatus",
    "LedgerEntry",
    "LedgerLeg",
    "Operation",
    "OperationKind",
    "OperationStatus",
    "TokenClass",
    "TokenStatus",
    "TransferRules",
    "Wallet",
    "WalletStatus",
]
