"""tokenization.services.common: address parsing answers exactly as eth_utils' checks do, with one hash."""

import random

import pytest
from eth_utils import is_address, is_checksum_address, to_checksum_address

from rwa_service.exceptions import ValidationFailed
from tokenization.services.common import checksum_address


def _reference(value):
    """The former implementation: eth_utils' address and checksum checks, then the checksummed form."""
    text = (value or "").strip()
    body = text[2:]
    if not is_address(text) or (body != body.lower() and not is_checksum_address(text)):
        return None
    return to_checksum_address(text)


def _parsed(value):
    try:
        return checksum_address(value)
    except ValidationFailed:
        return None


def _generated(count: int) -> list:
    rng = random.Random(7)
    cases = ["", None, "0x", "0x123", " 0x" + "a" * 40 + " ", "0x" + "g" * 40, "0x" + "A" * 40, "0X" + "a" * 40,
             "a" * 40, "A" * 40, "a" * 42, "0x" + "a" * 41]  # fmt: skip
    for _ in range(count):
        body = "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(40))
        prefix = rng.choice(["0x", "0X", ""])
        good = to_checksum_address("0x" + body)
        cases += [prefix + body, prefix + body.lower(), good, good[2:], good.upper().replace("0X", "0x")]
    return cases


def test_addresses_parse_as_eth_utils_checks_them_on_generated_inputs():
    cases = _generated(600)
    assert [_parsed(case) for case in cases] == [_reference(case) for case in cases]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0x52908400098527886e0f7030069857d2e4169ee7", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("52908400098527886e0f7030069857d2e4169ee7", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("0x52908400098527886e0F7030069857D2E4169EE7", None),  # mixed case, wrong checksum
        ("0x52908400098527886E0F7030069857D2E4169EE", None),  # 39 digits
    ],
)
def test_lower_case_or_checksummed_addresses_become_eip55(text, expected):
    assert _parsed(text) == expected
