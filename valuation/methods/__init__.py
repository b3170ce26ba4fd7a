"""Valuation methods. Importing this package registers every built-in method."""

from valuation.methods import appraisal, dcf, depreciation, index, market  # noqa: F401  (registers)
from valuation.methods.registry import method_codes, method_for, register

__all__ = ["method_codes", "method_for", "register"]
