"""Tests of :mod:`together_billing.money` (rule G1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    BillingError,
    CurrencyMismatch,
    InvalidArgument,
    Money,
    RoundingMode,
    round_to_cents,
)


class TestConstruction:
    @pytest.mark.parametrize("bad", [0.1, 1.0, True, False, None, "abc", "NaN", "Infinity"])
    def test_rejects_floats_bools_and_non_numbers(self, bad: object) -> None:
        """Money refuses floats, booleans and non-finite or non-numeric values, naming the field."""
        with pytest.raises(InvalidArgument) as info:
            Money(bad)  # type: ignore[arg-type]
        assert info.value.field == "amount"
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, BillingError)

    def test_float_message_says_why(self) -> None:
        """The float rejection message shows the value and explains floats cannot hold cents."""
        with pytest.raises(InvalidArgument, match=r"amount=0\.1 .*floats are rejected"):
            Money(0.1)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("0.10", Decimal("0.10")),
            (3, Decimal(3)),
            (Decimal("1.005"), Decimal("1.005")),
        ],
    )
    def test_accepts_strings_ints_and_decimals(self, value: object, expected: Decimal) -> None:
        """Decimal strings, ints and Decimals are taken exactly."""
        assert Money(value).amount == expected  # type: ignore[arg-type]

    @pytest.mark.parametrize("currency", ["usd", "US", "EURO", 840])
    def test_rejects_bad_currency_codes(self, currency: object) -> None:
        """The currency must be a three-letter upper-case ISO code."""
        with pytest.raises(InvalidArgument) as info:
            Money("1", currency)  # type: ignore[arg-type]
        assert info.value.field == "currency"


class TestArithmetic:
    def test_addition_is_exact(self) -> None:
        """0.10 + 0.20 is exactly 0.30 (no binary floating point)."""
        assert Money("0.10") + Money("0.20") == Money("0.30")

    @pytest.mark.parametrize(
        "combine",
        [
            lambda a, b: a + b,
            lambda a, b: a - b,
            lambda a, b: a < b,
            lambda a, b: a >= b,
            lambda a, b: a / b,
        ],
    )
    def test_currency_mismatch_names_both(self, combine: object) -> None:
        """Combining USD and EUR raises CurrencyMismatch naming both currencies."""
        with pytest.raises(CurrencyMismatch) as info:
            combine(Money("1"), Money("1", "EUR"))  # type: ignore[operator]
        assert "'USD'" in str(info.value)
        assert "'EUR'" in str(info.value)
        assert info.value.value == ("USD", "EUR")
        assert isinstance(info.value, TypeError)

    def test_money_divided_by_money_is_a_decimal(self) -> None:
        """Money / Money is a plain Decimal ratio."""
        ratio = Money("10") / Money("4")
        assert type(ratio) is Decimal
        assert ratio == Decimal("2.5")

    def test_money_divided_by_number_is_money(self) -> None:
        """Money / int stays Money, exactly."""
        assert Money("5.49") / 60 == Money("0.0915")

    def test_multiplication_by_int_and_decimal(self) -> None:
        """Money * int and Decimal * Money are exact Money."""
        assert Money("5.49") * 24 == Money("131.76")
        assert Decimal("0.5") * Money("1.76") == Money("0.88")

    def test_multiplication_by_float_is_refused(self) -> None:
        """Money * float raises TypeError instead of going inexact."""
        with pytest.raises(TypeError):
            Money("1") * 0.5  # type: ignore[operator]

    def test_sum_starts_from_zero(self) -> None:
        """sum() of Money values works from the int start 0."""
        assert sum([Money("1.25"), Money("2"), Money("0.005")]) == Money("3.255")

    def test_negation_and_subtraction(self) -> None:
        """Subtraction and negation keep the currency and are exact."""
        assert Money("1") - Money("1.01") == -Money("0.01")

    def test_ordering(self) -> None:
        """Amounts in the same currency compare by value."""
        assert Money("0.01") < Money("0.02") <= Money("0.02") < Money("1")


class TestRounding:
    @pytest.mark.parametrize(
        ("exact", "mode", "rounded"),
        [
            ("0.125", RoundingMode.HALF_UP, "0.13"),
            ("5.985", RoundingMode.HALF_UP, "5.99"),
            ("0.00048", RoundingMode.HALF_UP, "0.00"),
            ("-0.125", RoundingMode.HALF_UP, "-0.13"),
            ("5.985", RoundingMode.HALF_EVEN, "5.98"),
            ("5.995", RoundingMode.HALF_EVEN, "6.00"),
            ("0.001", RoundingMode.UP, "0.01"),
            ("0.009", RoundingMode.DOWN, "0.00"),
        ],
    )
    def test_round_to_cents_modes(self, exact: str, mode: RoundingMode, rounded: str) -> None:
        """round_to_cents applies the requested mode at the cent."""
        assert round_to_cents(Decimal(exact), mode) == Decimal(rounded)

    @pytest.mark.parametrize(("exact", "rounded"), [("0.125", "0.13"), ("5.985", "5.99")])
    def test_default_is_half_up(self, exact: str, rounded: str) -> None:
        """Without a mode, rounding is half-up (P-ROUND's default)."""
        assert round_to_cents(Decimal(exact)) == Decimal(rounded)
        assert Money(exact).rounded() == Money(rounded)

    def test_rounded_result_has_two_places(self) -> None:
        """A rounded amount is quantized to exactly two decimal places."""
        assert round_to_cents(Decimal(7)).as_tuple().exponent == -2


class TestValueSemantics:
    def test_equal_amounts_hash_equal(self) -> None:
        """Money is hashable; numerically equal amounts are equal and hash alike."""
        assert Money("1.50") == Money("1.5")
        assert hash(Money("1.50")) == hash(Money("1.5"))
        assert len({Money("1.50"), Money("1.5"), Money("2")}) == 2

    def test_currency_is_part_of_identity(self) -> None:
        """The same amount in two currencies is not equal."""
        assert Money("1") != Money("1", "EUR")

    def test_frozen(self) -> None:
        """Money cannot be mutated."""
        money = Money("1")
        with pytest.raises(AttributeError):
            money.amount = Decimal(2)  # type: ignore[misc]

    def test_repr_round_trips_the_amount(self) -> None:
        """repr shows the exact decimal string and the currency."""
        assert repr(Money("0.10")) == "Money('0.10', 'USD')"


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=30), max_size=20))
def test_exact_sum_loses_no_digit(values: list[Decimal]) -> None:
    """`money.exact_sum` is exact where `sum()` rounds to 28 digits."""
    from fractions import Fraction

    from together_billing.money import exact_sum

    assert Fraction(exact_sum(values)) == sum((Fraction(v) for v in values), Fraction(0))
