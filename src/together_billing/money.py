"""Money: exact amounts over :class:`decimal.Decimal`, and the one place where rounding happens.

Rule G1: amounts stay exact until an invoice line is produced; rounding to cents
happens only in :func:`round_to_cents`, with the mode of policy P-ROUND
(half-up by default).

>>> Money("0.10") + Money("0.20")
Money('0.30', 'USD')
>>> Money("10") / Money("4")
Decimal('2.5')
>>> sum([Money("1.25"), Money("2")])
Money('3.25', 'USD')
>>> round_to_cents(Decimal("0.125"))
Decimal('0.13')
>>> Money(0.1)
Traceback (most recent call last):
...
together_billing.errors.InvalidArgument: amount=0.1 is not valid; expected a Decimal, int or \
decimal string; floats are rejected because they cannot hold cents exactly
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, overload

import attrs

from together_billing._choice import Choice
from together_billing.errors import CurrencyMismatch, InvalidArgument

__all__ = [
    "CENT",
    "EXACT_CONTEXT",
    "INPUT_DIGITS",
    "INPUT_PLACES",
    "Money",
    "RoundingMode",
    "exact_sum",
    "input_decimal",
    "input_integer",
    "round_to_cents",
    "to_decimal",
]

CENT: Final = Decimal("0.01")

#: Arithmetic context for exact intermediate amounts. 50 significant digits keep
#: products of token counts and rates exact; quotients by 60 (per-minute rates)
#: that do not terminate are carried to 50 digits, far below any cent boundary.
EXACT_CONTEXT: Final = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)


#: The most digits before the point a number read from a document may have (below 10**15).
INPUT_DIGITS: Final = 15
#: The most digits after the point a number read from a document may have.
INPUT_PLACES: Final = 18

_NUMBER_EXPECTED: Final = (
    f"a finite decimal number (such as 5.49) with at most {INPUT_DIGITS} digits before the "
    f"point and {INPUT_PLACES} after; floats, booleans, NaN and infinities are refused"
)
_INTEGER_EXPECTED: Final = (
    f"a whole number (such as 3) below 10**{INPUT_DIGITS}; floats, booleans, fractions, "
    "NaN and infinities are refused"
)


class RoundingMode(Choice):
    """How an exact amount is rounded to cents (policy P-ROUND)."""

    __field__ = "rounding"

    HALF_UP = "half-up"
    HALF_EVEN = "half-even"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        return _DECIMAL_MODES[self]


_DECIMAL_MODES: Final = {
    RoundingMode.HALF_UP: decimal.ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    RoundingMode.UP: decimal.ROUND_UP,
    RoundingMode.DOWN: decimal.ROUND_DOWN,
}


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Convert an int, a Decimal or a decimal string to Decimal; refuse floats.

    >>> to_decimal("5.49")
    Decimal('5.49')
    >>> to_decimal(True, field="rate")
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: rate=True is not valid; expected a Decimal, \
int or decimal string; floats are rejected because they cannot hold cents exactly
    """
    expected = (
        "a Decimal, int or decimal string; floats are rejected because they cannot "
        "hold cents exactly"
    )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidArgument(field, value, expected) from None
    else:
        raise InvalidArgument(field, value, expected)
    if not result.is_finite():
        raise InvalidArgument(field, value, "a finite number")
    return result


def input_decimal(value: object, *, field: str = "amount") -> Decimal:
    """A number given by a user, as an exact Decimal within the input bounds.

    The one validator of every money, rate, fraction and size field of a scenario
    or catalog document: what :func:`to_decimal` accepts, and at most
    :data:`INPUT_DIGITS` digits before the point and :data:`INPUT_PLACES` after.
    The value is returned in plain form (``1E+3`` becomes ``1000``).

    >>> input_decimal("1e3")
    Decimal('1000')
    >>> input_decimal("1e400", field="per_hour")
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: per_hour='1e400' is not valid; expected a finite \
decimal number (such as 5.49) with at most 15 digits before the point and 18 after; floats, \
booleans, NaN and infinities are refused
    """
    try:
        result = to_decimal(value, field=field)
    except InvalidArgument:
        raise InvalidArgument(field, value, _NUMBER_EXPECTED) from None
    exponent = result.as_tuple().exponent
    assert isinstance(exponent, int)
    if result.adjusted() >= INPUT_DIGITS or exponent < -INPUT_PLACES:
        if result.is_zero() and exponent < -INPUT_PLACES:
            return Decimal(0)
        raise InvalidArgument(field, value, _NUMBER_EXPECTED)
    if exponent > 0:
        result = result.quantize(Decimal(1))
    return result


def input_integer(value: object, *, field: str = "count") -> int:
    """A whole number given by a user: an int, or an integral Decimal or decimal string.

    >>> input_integer(Decimal("3.0"))
    3
    >>> input_integer(True, field="replicas")
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: replicas=True is not valid; expected a whole \
number (such as 3) below 10**15; floats, booleans, fractions, NaN and infinities are refused
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value) if abs(value) < 10**INPUT_DIGITS else None
    else:
        try:
            number = input_decimal(value, field=field)
        except InvalidArgument:
            number = None
    if number is None or number != number.to_integral_value():
        raise InvalidArgument(field, value, _INTEGER_EXPECTED)
    return int(number)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``values``, in :data:`EXACT_CONTEXT` (``sum()`` would round to the
    default context's 28 digits). The one summing helper of the views (explain,
    reconcile, usage).

    >>> exact_sum([Decimal("0.1"), Decimal("1E-40")])
    Decimal('0.1000000000000000000000000000000000000001')
    >>> exact_sum([])
    Decimal('0')
    """
    total = Decimal(0)
    for value in values:
        total = EXACT_CONTEXT.add(total, value)
    return total


def round_to_cents(amount: Decimal, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
    """Round an exact amount to whole cents: the only rounding step in the library (G1).

    The default mode, half-up, is policy P-ROUND's default; invoices apply it
    once per line.

    >>> round_to_cents(Decimal("5.985"))
    Decimal('5.99')
    >>> round_to_cents(Decimal("5.985"), RoundingMode.HALF_EVEN)
    Decimal('5.98')
    """
    return amount.quantize(CENT, rounding=mode.decimal_mode)


def _amount(value: object) -> Decimal:
    return to_decimal(value, field="amount")


@attrs.frozen(repr=False, order=False)
class Money:
    """An exact amount of money in one currency (USD unless said otherwise; G1).

    Frozen and hashable. Adding or comparing amounts in different currencies
    raises :class:`~together_billing.CurrencyMismatch`; ``Money / Money`` is a
    plain ratio; ``sum()`` starts from ``0`` and works.
    """

    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(default="USD")

    @currency.validator
    def _check_currency(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
            raise InvalidArgument("currency", value, "a three-letter ISO 4217 code such as 'USD'")

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(Decimal(0), currency)

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same(other)
            return Money(EXACT_CONTEXT.add(self.amount, other.amount), self.currency)
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same(other)
            return Money(EXACT_CONTEXT.subtract(self.amount, other.amount), self.currency)
        return NotImplemented

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, (int, Decimal)) and not isinstance(factor, bool):
            return Money(EXACT_CONTEXT.multiply(self.amount, Decimal(factor)), self.currency)
        return NotImplemented

    __rmul__ = __mul__

    @overload
    def __truediv__(self, other: Money) -> Decimal: ...
    @overload
    def __truediv__(self, other: int | Decimal) -> Money: ...
    def __truediv__(self, other: object) -> Money | Decimal:
        if isinstance(other, Money):
            self._same(other)
            return EXACT_CONTEXT.divide(self.amount, other.amount)
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return Money(EXACT_CONTEXT.divide(self.amount, Decimal(other)), self.currency)
        return NotImplemented

    def _cmp(self, other: object) -> Decimal | None:
        if isinstance(other, Money):
            self._same(other)
            return other.amount
        return None

    def __lt__(self, other: object) -> bool:
        amount = self._cmp(other)
        return NotImplemented if amount is None else self.amount < amount

    def __le__(self, other: object) -> bool:
        amount = self._cmp(other)
        return NotImplemented if amount is None else self.amount <= amount

    def __gt__(self, other: object) -> bool:
        amount = self._cmp(other)
        return NotImplemented if amount is None else self.amount > amount

    def __ge__(self, other: object) -> bool:
        amount = self._cmp(other)
        return NotImplemented if amount is None else self.amount >= amount

    def rounded(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        """This amount rounded to cents with :func:`round_to_cents`."""
        return Money(round_to_cents(self.amount, mode), self.currency)
