"""The asset lifecycle as data: which transition leaves which states, where it lands, and what it needs."""

from dataclasses import dataclass

from assets.models import AssetStatus
from rwa_service.accounts.roles import Role

S = AssetStatus


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str | None  # None: back to the state the asset was suspended from
    role: Role
    action: str  # the audit action recorded
    reason_required: bool = False
    maker_checker: bool = False  # the submitter may not make this transition


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", frozenset({S.DRAFT}), S.UNDER_REVIEW, Role.OPERATOR, "asset.submitted"),
        Transition(
            "approve", frozenset({S.UNDER_REVIEW}), S.APPROVED, Role.COMPLIANCE, "asset.approved", maker_checker=True
        ),
        Transition(
            "reject",
            frozenset({S.UNDER_REVIEW}),
            S.DRAFT,
            Role.COMPLIANCE,
            "asset.rejected",
            reason_required=True,
            maker_checker=True,
        ),
        Transition(
            "suspend",
            frozenset({S.APPROVED, S.TOKENIZED}),
            S.SUSPENDED,
            Role.COMPLIANCE,
            "asset.suspended",
            reason_required=True,
        ),
        Transition("reinstate", frozenset({S.SUSPENDED}), None, Role.COMPLIANCE, "asset.reinstated"),
        Transition(
            "retire",
            frozenset(set(S.values) - {S.RETIRED}),
            S.RETIRED,
            Role.COMPLIANCE,
            "asset.retired",
            reason_required=True,
        ),
    )
}

EDITABLE_STATES = frozenset({S.DRAFT})
# Documents change only while the asset is a draft, so what compliance approved is what stays on record
# (maker-checker): to change them later, the asset goes back through review.
DOCUMENT_STATES = frozenset({S.DRAFT})
