"""Tests of :mod:`together_billing.money` (rule G1)."""

from __future__ import annotations

import operator
from collections.abc import Callable
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
from together_billing.money import CENT, to_decimal


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


# -- Details pinned down by mutation testing (docs/mutation.md): error contract, currency, operands, comparisons, rounding mode --
#: The ``expected`` text of every refusal of a non-numeric amount.
NUMBER_EXPECTED = (
    "a Decimal, int or decimal string; floats are rejected because they cannot hold cents exactly"
)


class TestToDecimalErrors:
    @pytest.mark.parametrize("bad", [1.5, True, None, [1]])
    def test_default_field_is_amount(self, bad: object) -> None:
        """Without ``field=``, a refused value is reported as the ``amount``."""
        with pytest.raises(InvalidArgument) as info:
            to_decimal(bad)
        assert info.value.field == "amount"
        assert info.value.value is bad
        assert info.value.expected == NUMBER_EXPECTED

    def test_field_is_the_one_given(self) -> None:
        """``field=`` names the argument in the error and its message."""
        with pytest.raises(InvalidArgument) as info:
            to_decimal(True, field="rate")
        assert info.value.field == "rate"
        assert str(info.value) == f"rate=True is not valid; expected {NUMBER_EXPECTED}"

    @pytest.mark.parametrize("bad", ["abc", "", "1.2.3", "5,49"])
    def test_malformed_string_reports_value_and_expectation(self, bad: str) -> None:
        """A string that is not a decimal number is refused with the string itself as value."""
        with pytest.raises(InvalidArgument) as info:
            to_decimal(bad, field="rate")
        assert info.value.field == "rate"
        assert info.value.value == bad
        assert info.value.expected == NUMBER_EXPECTED
        assert str(info.value) == f"rate={bad!r} is not valid; expected {NUMBER_EXPECTED}"

    @pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", Decimal("NaN"), "sNaN"])
    def test_non_finite_numbers_are_refused(self, bad: object) -> None:
        """NaN and infinities are refused as not finite, reporting the value given."""
        with pytest.raises(InvalidArgument) as info:
            to_decimal(bad, field="rate")
        assert info.value.field == "rate"
        assert info.value.value is bad
        assert info.value.expected == "a finite number"
        assert str(info.value).endswith("is not valid; expected a finite number")

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(" 5.49 ", Decimal("5.49")), (7, Decimal(7)), (Decimal("-0.5"), Decimal("-0.5"))],
    )
    def test_accepted_values(self, value: object, expected: Decimal) -> None:
        """Strings (surrounding blanks ignored), ints and Decimals are converted exactly."""
        result = to_decimal(value)
        assert type(result) is Decimal
        assert result == expected

    def test_money_reports_the_amount_field(self) -> None:
        """Money's amount conversion names the ``amount`` field and keeps the value."""
        with pytest.raises(InvalidArgument) as info:
            Money("twelve")
        assert info.value.field == "amount"
        assert info.value.value == "twelve"

    @pytest.mark.parametrize("currency", ["U2D", "U D", "US$"])
    def test_currency_must_be_letters(self, currency: str) -> None:
        """A currency code holds three letters, reported with the expected form."""
        with pytest.raises(InvalidArgument) as info:
            Money("1", currency)
        assert info.value.field == "currency"
        assert info.value.value == currency
        assert info.value.expected == "a three-letter ISO 4217 code such as 'USD'"


class TestCurrencyIsKept:
    """Every operation on a non-default currency keeps it (never falls back to USD)."""

    @pytest.mark.parametrize(
        ("operation", "expected"),
        [
            (lambda m: m + Money("2", "EUR"), Money("3.5", "EUR")),
            (lambda m: Money("2", "EUR") + m, Money("3.5", "EUR")),
            (lambda m: m - Money("2", "EUR"), Money("-0.5", "EUR")),
            (lambda m: -m, Money("-1.5", "EUR")),
            (lambda m: m * 2, Money("3.0", "EUR")),
            (lambda m: Decimal("0.5") * m, Money("0.75", "EUR")),
            (lambda m: m / 3, Money("0.5", "EUR")),
            (lambda m: m / Decimal("0.5"), Money("3", "EUR")),
            (lambda m: m + 0, Money("1.5", "EUR")),
            (lambda m: 0 + m, Money("1.5", "EUR")),
            (lambda m: m.rounded(), Money("1.50", "EUR")),
            (lambda m: sum([m, m]), Money("3", "EUR")),
        ],
    )
    def test_operation_keeps_currency(
        self, operation: Callable[[Money], Money], expected: Money
    ) -> None:
        """The result of the operation is in EUR, with the exact amount."""
        result = operation(Money("1.5", "EUR"))
        assert isinstance(result, Money)
        assert result.currency == "EUR"
        assert result == expected

    def test_zero_in_a_currency(self) -> None:
        """``Money.zero`` gives zero in the currency asked for (USD by default)."""
        assert Money.zero("EUR") == Money("0", "EUR")
        assert Money.zero("EUR").currency == "EUR"
        assert Money.zero() == Money("0", "USD")

    def test_str_shows_amount_and_currency(self) -> None:
        """str() shows the exact amount, then the currency code."""
        assert str(Money("1.50", "EUR")) == "1.50 EUR"
        assert repr(Money("-2", "GBP")) == "Money('-2', 'GBP')"

    def test_mismatch_names_left_then_right(self) -> None:
        """A currency mismatch reports the left operand's currency first."""
        with pytest.raises(CurrencyMismatch) as info:
            Money("1", "EUR") - Money("1", "GBP")
        assert info.value.value == ("EUR", "GBP")
        assert info.value.field == "currency"


class TestRefusedOperands:
    @pytest.mark.parametrize("other", [5, 1, -1, True, False, 0.0, 1.0, Decimal(0), "0"])
    def test_adding_anything_but_money_or_int_zero_is_a_type_error(self, other: object) -> None:
        """Only Money and the int 0 (sum()'s start) can be added to Money."""
        with pytest.raises(TypeError):
            Money("1") + other  # type: ignore[operator]
        with pytest.raises(TypeError):
            other + Money("1")  # type: ignore[operator]

    def test_adding_int_zero_returns_the_same_amount(self) -> None:
        """Money + 0 and 0 + Money are the amount itself (sum()'s start value)."""
        money = Money("1.25")
        assert money + 0 is money
        assert 0 + money is money
        assert sum([money]) is money

    @pytest.mark.parametrize("other", [1, Decimal(1), 0.5, "1"])
    def test_subtracting_a_number_is_a_type_error(self, other: object) -> None:
        """Only Money can be subtracted from Money."""
        with pytest.raises(TypeError):
            Money("1") - other  # type: ignore[operator]

    @pytest.mark.parametrize("factor", [0.5, True, False, "2", Money("2")])
    def test_multiplying_by_float_bool_string_or_money_is_a_type_error(
        self, factor: object
    ) -> None:
        """Money multiplies only by an int or a Decimal."""
        with pytest.raises(TypeError):
            Money("1") * factor  # type: ignore[operator]
        with pytest.raises(TypeError):
            factor * Money("1")  # type: ignore[operator]

    @pytest.mark.parametrize("divisor", [2.0, True, "2"])
    def test_dividing_by_float_bool_or_string_is_a_type_error(self, divisor: object) -> None:
        """Money divides only by Money, an int or a Decimal."""
        with pytest.raises(TypeError):
            Money("1") / divisor  # type: ignore[operator]

    def test_multiplication_and_division_are_exact(self) -> None:
        """Products and quotients use the exact 50-digit context, not the default 28."""
        assert Money("1") * 7 == Money("7")
        long = "1.234567890123456789012345678901"
        assert Money(long) * 3 == Money("3.703703670370370367037037036703")
        assert Money("2") / Money("8") == Decimal("0.25")
        third = Money("1") / 3
        assert third.amount == Decimal("0." + "3" * 50)
        assert (Money("1") / Money("3")) == Decimal("0." + "3" * 50)


class TestComparisons:
    @pytest.mark.parametrize(
        ("left", "right", "lt", "le", "gt", "ge"),
        [
            ("1", "2", True, True, False, False),
            ("2", "1", False, False, True, True),
            ("1.50", "1.5", False, True, False, True),
            ("-1", "0", True, True, False, False),
        ],
    )
    def test_comparison_table(
        self, left: str, right: str, lt: bool, le: bool, gt: bool, ge: bool
    ) -> None:
        """The four orderings compare amounts in the same currency."""
        a, b = Money(left, "EUR"), Money(right, "EUR")
        assert (a < b) is lt
        assert (a <= b) is le
        assert (a > b) is gt
        assert (a >= b) is ge

    @pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
    @pytest.mark.parametrize("other", [0, Decimal(1), "1", None])
    def test_comparing_with_a_non_money_is_a_type_error(
        self, compare: Callable[[object, object], bool], other: object
    ) -> None:
        """Money orders only against Money: a number or a string raises TypeError."""
        with pytest.raises(TypeError):
            compare(Money("1"), other)
        with pytest.raises(TypeError):
            compare(other, Money("1"))

    @pytest.mark.parametrize(
        ("left", "right", "expected"),
        [("1", "2", (True, True, False, False)), ("2", "2", (False, True, False, True))],
    )
    def test_each_ordering_method_answers_for_itself(
        self, left: str, right: str, expected: tuple[bool, bool, bool, bool]
    ) -> None:
        """Each of the four methods answers on its own, without Python's reflected fallback."""
        a, b = Money(left), Money(right)
        assert (a.__lt__(b), a.__le__(b), a.__gt__(b), a.__ge__(b)) == expected

    def test_non_money_operands_are_left_to_the_other_side(self) -> None:
        """For a non-Money operand the methods return NotImplemented (the data-model protocol).

        Python then asks the other operand, so a type that knows how to compare
        itself with Money still can.
        """

        class Ruler:
            """A type that orders itself against anything, answering with the operator used."""

            def __lt__(self, other: object) -> str:
                return "ruler <"

            def __le__(self, other: object) -> str:
                return "ruler <="

            def __gt__(self, other: object) -> str:
                return "ruler >"

            def __ge__(self, other: object) -> str:
                return "ruler >="

        money, ruler = Money("1"), Ruler()
        assert (money < ruler) == "ruler >"  # type: ignore[operator]
        assert (money <= ruler) == "ruler >="  # type: ignore[operator]
        assert (money > ruler) == "ruler <"  # type: ignore[operator]
        assert (money >= ruler) == "ruler <="  # type: ignore[operator]
        for method in (money.__lt__, money.__le__, money.__gt__, money.__ge__):
            assert method(5) is NotImplemented

    @pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
    def test_comparing_currencies_is_a_mismatch(
        self, compare: Callable[[object, object], bool]
    ) -> None:
        """Ordering amounts in two currencies raises CurrencyMismatch."""
        with pytest.raises(CurrencyMismatch):
            compare(Money("1"), Money("2", "EUR"))


class TestRoundedMode:
    @pytest.mark.parametrize(
        ("mode", "expected"),
        [
            (RoundingMode.HALF_UP, "0.13"),
            (RoundingMode.HALF_EVEN, "0.12"),
            (RoundingMode.UP, "0.13"),
            (RoundingMode.DOWN, "0.12"),
        ],
    )
    def test_rounded_uses_the_mode_given(self, mode: RoundingMode, expected: str) -> None:
        """Money.rounded applies the requested mode, not the default half-up."""
        assert Money("0.125", "EUR").rounded(mode) == Money(expected, "EUR")

    def test_up_and_down_differ_from_half_modes(self) -> None:
        """UP rounds any fraction away from zero and DOWN truncates, unlike the half modes."""
        assert round_to_cents(Decimal("0.121"), RoundingMode.UP) == Decimal("0.13")
        assert round_to_cents(Decimal("0.129"), RoundingMode.DOWN) == Decimal("0.12")
        assert round_to_cents(Decimal("0.121")).as_tuple().exponent == CENT.as_tuple().exponent

    def test_unknown_mode_names_the_rounding_field(self) -> None:
        """An unknown rounding mode raises naming ``rounding`` and listing the modes."""
        with pytest.raises(InvalidArgument) as info:
            RoundingMode("nearest")
        assert info.value.field == "rounding"
        assert "'half-up', 'half-even', 'up', 'down'" in info.value.expected
