"""The audited form of tokenization objects (never PII in clear)."""

from typing import Any

from tokenization.models import Investor, LedgerEntry, TokenClass, TransferRules, Wallet


def entry_snapshot(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "seq": entry.pk,
        "token": str(entry.token_class_id),
        "kind": entry.kind,
        "amount": str(entry.amount),
        "from_wallet": str(entry.from_wallet_id) if entry.from_wallet_id else None,
        "to_wallet": str(entry.to_wallet_id) if entry.to_wallet_id else None,
        "settlement_ref": entry.settlement_ref,
    }


def token_snapshot(token: TokenClass) -> dict[str, Any]:
    return {
        "id": str(token.pk),
        "asset": str(token.asset_id),
        "symbol": token.symbol,
        "name": token.name,
        "decimals": token.decimals,
        "max_supply": str(token.max_supply) if token.max_supply is not None else None,
        "total_supply": str(token.total_supply),
        "status": token.status,
        "chain": token.chain,
        "contract_address": token.contract_address,
    }


def rules_snapshot(rules: TransferRules) -> dict[str, Any]:
    return {
        "require_kyc": rules.require_kyc,
        "min_accreditation": rules.min_accreditation,
        "allowed_countries": rules.allowed_countries,
        "blocked_countries": rules.blocked_countries,
        "max_holders": rules.max_holders,
        "max_balance_amount": str(rules.max_balance_amount) if rules.max_balance_amount is not None else None,
        "max_balance_percent": str(rules.max_balance_percent) if rules.max_balance_percent is not None else None,
        "lockup_until": rules.lockup_until,
        "lockup_days": rules.lockup_days,
        "velocity_limit": str(rules.velocity_limit) if rules.velocity_limit is not None else None,
        "velocity_window_hours": rules.velocity_window_hours,
    }


def investor_snapshot(investor: Investor) -> dict[str, Any]:
    """PII is masked: the audit trail records that it changed, never its value."""
    return {
        "id": str(investor.pk),
        "type": investor.type,
        "legal_name": "***" if investor.legal_name else "",
        "email": "***" if investor.email else "",
        "tax_id": "***" if investor.tax_id else "",
        "country": investor.country,
        "kyc_status": investor.kyc_status,
        "kyc_expires_at": investor.kyc_expires_at,
        "accreditation": investor.accreditation,
        "user": investor.user_id,
        "erased": investor.erased_at is not None,
    }


def wallet_snapshot(wallet: Wallet) -> dict[str, Any]:
    return {
        "id": str(wallet.pk),
        "investor": str(wallet.investor_id),
        "address": wallet.address,
        "status": wallet.status,
        "frozen": wallet.frozen,
        "recovered_to": str(wallet.recovered_to_id) if wallet.recovered_to_id else None,
    }
