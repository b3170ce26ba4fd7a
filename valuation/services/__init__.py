"""Valuation writes: valuations (record, approve, reject) and revaluation runs."""

from valuation.services.policies import valuation_policy_remove, valuation_policy_set
from valuation.services.runs import (
    revaluation_chunk_process,
    revaluation_run_cancel,
    revaluation_run_start,
    revaluation_runs_resume,
)
from valuation.services.valuations import valuation_approve, valuation_record, valuation_reject

__all__ = [
    "revaluation_chunk_process",
    "revaluation_run_cancel",
    "revaluation_run_start",
    "revaluation_runs_resume",
    "valuation_approve",
    "valuation_policy_remove",
    "valuation_policy_set",
    "valuation_record",
    "valuation_reject",
]
