"""money(): the one rounding of every computed value, half-even to the 6 places stored, in the methods' precision;
a value too large to store is a ValuationError naming it, never a crash of the run."""

from decimal import Decimal

import pytest

from valuation.errors import ValuationError
from valuation.methods.common import ARITHMETIC, PRECISION, money


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.0000005", "1.000000"), ("1.0000015", "1.000002"), ("-0.0000004", "0.000000"), ("2", "2.000000"),
     ("9999999999999999999999.999999", "9999999999999999999999.999999")],
)  # fmt: skip
def test_values_are_rounded_half_even_to_six_places_and_negative_zero_is_zero(value, expected):
    rounded = money(Decimal(value))
    assert str(rounded) == expected and not rounded.is_signed()


@pytest.mark.parametrize("value", ["1E22", "-1E22", "1E35", "1E60", "Infinity", "NaN"])
def test_a_value_too_large_to_store_is_a_valuation_error_naming_it(value):
    with pytest.raises(ValuationError) as raised:
        money(Decimal(value))
    assert raised.value.code == "value_out_of_range" and "too large" in raised.value.detail


def test_the_methods_compute_at_forty_digits_whatever_the_thread_context():
    third = ARITHMETIC.divide(Decimal(1), Decimal(3))
    assert ARITHMETIC.prec == PRECISION == 40 and len(third.as_tuple().digits) == 40
