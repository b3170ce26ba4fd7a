"""Fixtures of the audit tests: the tokenization and valuation fixtures too, for workloads that span every app."""

from tests.tokenization.conftest import funded, make_token
from tests.valuation.conftest import valuer2

__all__ = ["funded", "make_token", "valuer2"]
