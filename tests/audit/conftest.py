"""Fixtures of the audit tests: the tokenization fixtures too, for the workloads that span every app."""

from tests.tokenization.conftest import funded, make_token

__all__ = ["funded", "make_token"]
