"""The rule engine. One function decides every movement (dry-run check, transfer, mint's receiver side, forced
transfer's receiver side, burn's sender side) from a snapshot of the facts, so a check that says "allowed" and the
transfer that follows cannot disagree. It answers with every rule's verdict, not only the first refusal."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from rwa_service.exceptions import Unprocessable
from tokenization.models import Accreditation, KycStatus, TokenStatus, TransferRules, WalletStatus
from tokenization.models.investor import ACCREDITATION_RANK

ALLOWED = 0x51


class Mode(StrEnum):
    TRANSFER = "transfer"
    MINT = "mint"
    BURN = "burn"
    FORCED = "forced_transfer"


@dataclass(frozen=True)
class Party:
    """What the rules need to know of one side of a movement."""

    wallet_id: object
    investor_id: object
    wallet_frozen: bool
    wallet_status: str
    kyc_status: str
    kyc_expires_at: datetime | None
    country: str
    accreditation: str
    balance: Decimal  # of this wallet in this token
    frozen_amount: Decimal
    investor_total: Decimal  # across all the investor's wallets in this token
    locked_by_receipt: Decimal = Decimal(0)  # received within the lock-up days
    sent_in_window: Decimal = Decimal(0)  # sent within the velocity window


@dataclass(frozen=True)
class Facts:
    mode: Mode
    token_status: str
    total_supply: Decimal
    max_supply: Decimal | None
    amount: Decimal
    rules: TransferRules
    now: datetime
    sender: Party | None
    receiver: Party | None
    caller_owns_sender: bool = True
    holders_count: int = 0  # read only when the movement changes it (see _max_holders)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    status_code: int = ALLOWED
    app_code: str = ""
    allowed_amount: Decimal | None = None

    def as_dict(self) -> dict:
        data = {"rule": self.rule, "passed": self.passed, "detail": self.detail}
        if self.allowed_amount is not None:
            data["allowed_amount"] = str(max(self.allowed_amount, Decimal(0)))
        return data


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status_code: int
    app_code: str
    rules: list[RuleResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "status_code": f"0x{self.status_code:02X}",
            "app_code": self.app_code,
            "rules": [rule.as_dict() for rule in self.rules],
        }


def _ok(rule: str, detail: str, allowed_amount: Decimal | None = None) -> RuleResult:
    return RuleResult(rule, True, detail, allowed_amount=allowed_amount)


def _fail(rule: str, detail: str, code: int, app: str, allowed_amount: Decimal | None = None) -> RuleResult:
    return RuleResult(rule, False, detail, code, app, allowed_amount)


def _token_rules(f: Facts) -> list[RuleResult]:
    usable = {TokenStatus.ACTIVE} | ({TokenStatus.PAUSED} if f.mode in (Mode.FORCED, Mode.BURN) else set())
    if f.token_status in usable:
        results = [_ok("token-active", f"The token is {f.token_status}.")]
        if f.mode == Mode.MINT and f.max_supply is not None:
            room = f.max_supply - f.total_supply
            if f.amount > room:
                results.append(
                    _fail("max-supply", f"The supply is capped at {f.max_supply}.", 0x50, "max-supply", room)
                )
            else:
                results.append(_ok("max-supply", f"Within the cap of {f.max_supply}.", room))
        return results
    if f.token_status == TokenStatus.PAUSED:
        return [_fail("token-active", "The token is paused.", 0x54, "paused")]
    return [_fail("token-active", f"The token is {f.token_status}.", 0x50, "token-inactive")]


def _kyc(party: Party, side: str, f: Facts, code: int) -> RuleResult:
    rule = f"{side}-kyc"
    if not f.rules.require_kyc:
        return _ok(rule, "KYC is not required for this token.")
    if party.kyc_status == KycStatus.EXPIRED:  # the nightly sweep's verdict: the same code as before it ran
        return _fail(rule, f"The {side}'s KYC has expired.", code, f"{side}-kyc-expired")
    if party.kyc_status != KycStatus.VERIFIED:
        return _fail(rule, f"The {side}'s KYC is {party.kyc_status}.", code, f"{side}-kyc")
    if party.kyc_expires_at is not None and party.kyc_expires_at <= f.now:
        return _fail(rule, f"The {side}'s KYC expired on {party.kyc_expires_at:%Y-%m-%d}.", code, f"{side}-kyc-expired")
    return _ok(rule, f"The {side}'s KYC is verified.")


def _sender_rules(f: Facts) -> list[RuleResult]:
    s, amount = f.sender, f.amount
    results = []
    if f.mode == Mode.TRANSFER:
        if not f.caller_owns_sender:  # say nothing more of someone else's wallet (balance, KYC, freezes)
            return [_fail("not-owner", "The sending wallet is not the caller's.", 0x58, "not-owner")]
        results.append(_ok("not-owner", "The caller may move tokens from this wallet."))
        if s.wallet_frozen or s.wallet_status != WalletStatus.ACTIVE:
            results.append(_fail("sender-frozen", "The sending wallet is frozen or lost.", 0x56, "sender-frozen"))
        else:
            results.append(_ok("sender-frozen", "The sending wallet is not frozen."))
        results.append(_kyc(s, "sender", f, 0x56))
    if s.balance >= amount:
        results.append(_ok("balance", "The sending wallet holds enough.", s.balance))
    else:
        results.append(_fail("balance", f"The sending wallet holds {s.balance}.", 0x52, "balance", s.balance))
    if f.mode in (Mode.TRANSFER, Mode.BURN):
        free = s.balance - s.frozen_amount
        if free >= amount:
            results.append(_ok("frozen-amount", "Enough of the balance is unfrozen.", free))
        else:
            detail = f"{s.frozen_amount} of the wallet's balance is frozen."
            results.append(_fail("frozen-amount", detail, 0x55, "frozen-amount", free))
    if f.mode == Mode.TRANSFER:
        results.append(_lockup(f))
        results.append(_velocity(f))
    return results


def _lockup(f: Facts) -> RuleResult:
    s, rules = f.sender, f.rules
    if rules.lockup_until is not None and rules.lockup_until > f.now:
        return _fail("lockup", f"Tokens are locked until {rules.lockup_until:%Y-%m-%d}.", 0x55, "lockup", Decimal(0))
    if rules.lockup_days:
        available = min(s.balance - s.frozen_amount, s.investor_total - min(s.locked_by_receipt, s.investor_total))
        if f.amount > available:
            detail = f"Tokens received in the last {rules.lockup_days} days are locked."
            return _fail("lockup", detail, 0x55, "lockup", available)
    return _ok("lockup", "No lock-up applies.")


def _velocity(f: Facts) -> RuleResult:
    rules, s = f.rules, f.sender
    if rules.velocity_limit is None:
        return _ok("velocity", "No volume limit.")
    remaining = rules.velocity_limit - s.sent_in_window
    if f.amount > remaining:
        detail = f"At most {rules.velocity_limit} per {rules.velocity_window_hours} h; {s.sent_in_window} sent."
        return _fail("velocity", detail, 0x59, "velocity", remaining)
    return _ok("velocity", "Within the volume limit.", remaining)


def _receiver_rules(f: Facts) -> list[RuleResult]:
    r, rules = f.receiver, f.rules
    results = []
    if r.wallet_frozen or r.wallet_status != WalletStatus.ACTIVE:
        results.append(_fail("receiver-frozen", "The receiving wallet is frozen or lost.", 0x57, "receiver-frozen"))
    else:
        results.append(_ok("receiver-frozen", "The receiving wallet is not frozen."))
    results.append(_kyc(r, "receiver", f, 0x57))
    allowed, blocked = rules.allowed_countries or [], rules.blocked_countries or []
    if (allowed and r.country not in allowed) or r.country in blocked:
        results.append(_fail("country", f"Investors from {r.country} may not hold this token.", 0x57, "country"))
    else:
        results.append(_ok("country", f"{r.country} is allowed."))
    needed = rules.min_accreditation or Accreditation.NONE
    if ACCREDITATION_RANK.get(r.accreditation, 0) < ACCREDITATION_RANK.get(needed, 0):
        detail = f"Needs {needed} accreditation; the receiver is {r.accreditation}."
        results.append(_fail("accreditation", detail, 0x57, "accreditation"))
    else:
        results.append(_ok("accreditation", "Accreditation suffices."))
    results.append(_max_holders(f))
    results.append(_max_balance(f))
    return results


def _same_investor(f: Facts) -> bool:
    return f.sender is not None and f.receiver is not None and f.sender.investor_id == f.receiver.investor_id


def _max_holders(f: Facts) -> RuleResult:
    limit = f.rules.max_holders
    if limit is None:
        return _ok("max-holders", "No limit on holders.")
    joins = f.receiver.investor_total == 0 and not _same_investor(f)
    leaves = f.sender is not None and not _same_investor(f) and f.sender.investor_total == f.amount
    if joins == leaves:  # nobody joins or leaves (or one replaces the other): the count stays as it is
        return _ok("max-holders", f"The number of holders does not change (at most {limit}).")
    after = f.holders_count + (1 if joins else -1)
    if after > limit:
        return _fail("max-holders", f"The token may have at most {limit} holders.", 0x57, "max-holders")
    return _ok("max-holders", f"{after} of at most {limit} holders.")


def _max_balance(f: Facts) -> RuleResult:
    rules = f.rules
    limits = []
    if rules.max_balance_amount is not None:
        limits.append(rules.max_balance_amount)
    if rules.max_balance_percent is not None:
        supply_after = f.total_supply + (f.amount if f.mode == Mode.MINT else 0)
        limits.append((supply_after * rules.max_balance_percent / 100).to_integral_value(rounding="ROUND_FLOOR"))
    if not limits:
        return _ok("max-balance", "No limit on balances.")
    limit = min(limits)
    holding = f.receiver.investor_total
    room = limit - holding
    if not _same_investor(f) and f.amount > room:
        detail = f"An investor may hold at most {limit}; the receiver holds {holding}."
        return _fail("max-balance", detail, 0x57, "max-balance", room)
    return _ok("max-balance", f"Within the limit of {limit}.", room)


def decide(f: Facts) -> Decision:
    """Every rule's verdict; the answer's code is that of the first refusal in the order of SPEC's table."""
    results = _token_rules(f)
    if (
        f.mode in (Mode.TRANSFER, Mode.FORCED)
        and f.sender
        and f.receiver
        and f.sender.wallet_id == f.receiver.wallet_id
    ):
        results.append(_fail("same-wallet", "Sender and receiver are the same wallet.", 0x50, "same-wallet"))
    if f.sender is not None:
        results += _sender_rules(f)
    if f.receiver is not None:
        results += _receiver_rules(f)
    refused = [result for result in results if not result.passed]
    if not refused:
        return Decision(True, ALLOWED, "", results)
    first = min(refused, key=lambda result: _PRECEDENCE.index(result.status_code))
    return Decision(False, first.status_code, first.app_code, results)


class TransferBlocked(Unprocessable):
    """A movement the rules refuse: 422 carrying the whole decision."""

    code = "transfer_blocked"
    title = "Transfer blocked by compliance rules"

    def __init__(self, decision: Decision) -> None:
        refused = next(rule for rule in decision.rules if not rule.passed)
        super().__init__(refused.detail, extra=decision.as_dict())
        self.decision = decision


# Which refusal names the answer when several rules refuse.
_PRECEDENCE = [0x50, 0x54, 0x58, 0x56, 0x52, 0x55, 0x57, 0x59]
