"""Figures as text: the one place where a Decimal becomes what a person or a JSON file reads.

Every function here is exact unless its name says how it rounds, never writes a
number in exponent form (``1E+2`` is ``100``) and never shows a negative zero.
Money is rounded to cents only by :func:`cents`, which takes the replay's
rounding mode (P-ROUND) and calls :func:`~together_billing.money.round_to_cents`,
the library's one rounding step. Table layout is another concern
(``together_billing._text``).

>>> plain(Decimal("0.4400")), fixed(Decimal("0.4400")), dollars(Decimal("-3.50"))
('0.44', '0.4400', '-$3.50')
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from together_billing.money import EXACT_CONTEXT, RoundingMode, round_to_cents

__all__ = [
    "at_least_cents",
    "cents",
    "chart_dollars",
    "dollars",
    "fixed",
    "plain",
    "to_places",
    "trillionths",
]

_ZERO: Final = Decimal(0)


def plain(value: Decimal) -> str:
    """``value`` exactly, without trailing zeros, exponent or a negative zero.

    The figure of JSON output and reports that must not lose a digit: an invoice
    line's ``amount_exact`` (invoice), the explanations and idle reports (explain),
    the reconciliation's quantities, prices and costs (reconcile), and, after
    :func:`to_places`, the comparisons (compare) and forecasts (forecast).

    >>> plain(Decimal("1.500")), plain(Decimal("1E+2")), plain(Decimal("-0.00"))
    ('1.5', '100', '0')
    >>> plain(Decimal("0.000000001")), plain(Decimal("1.00000000000000000000000000000000001"))
    ('0.000000001', '1.00000000000000000000000000000000001')
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0", "") else text


def fixed(value: Decimal) -> str:
    """``value`` exactly with the digits it has (trailing zeros kept), never in exponent form.

    Used by the balance chart's data (plot), whose balances keep their places.

    >>> fixed(Decimal("10.50")), fixed(Decimal("1E+2")), fixed(Decimal("-0.00"))
    ('10.50', '100', '0.00')
    """
    return format(value + _ZERO if value.is_zero() else value, "f")


def to_places(value: Decimal, places: int) -> Decimal:
    """``value`` rounded half-even to ``places`` decimal places, trailing zeros dropped.

    For figures that are exact ratios rather than money (rates per million tokens
    and utilisation in compare: 6 places). Never in exponent form when shown with
    :func:`plain`, never a negative zero.

    >>> to_places(Decimal("2") / 3, 6), to_places(Decimal("-0.0000001"), 6)
    (Decimal('0.666667'), Decimal('0'))
    """
    rounded = EXACT_CONTEXT.quantize(value, Decimal(1).scaleb(-places))
    return _without_trailing_zeros(rounded)


def trillionths(value: Decimal) -> Decimal:
    """``value`` to the trillionth (12 places), trailing zeros dropped.

    The precision of the engine's log and summary figures and of the forecast's
    balances and runway (forecast); :func:`to_places` with 12.

    >>> trillionths(Decimal("1") / 3), trillionths(Decimal("1E+3"))
    (Decimal('0.333333333333'), Decimal('1000'))
    """
    return to_places(value, 12)


def at_least_cents(value: Decimal) -> Decimal:
    """``value`` exactly, with at least cents and no trailing zeros beyond them.

    A rate or an exact cost shown as money: ``0.440`` is ``0.44``, ``0.4`` is
    ``0.40``, ``0.1234`` keeps its four places. Used by the engine's rates in log
    details and by the reconciliation's dollar amounts (reconcile, with
    :func:`dollars`). Exact: it never rounds.

    >>> at_least_cents(Decimal("0.440")), at_least_cents(Decimal("0.4"))
    (Decimal('0.44'), Decimal('0.40'))
    >>> at_least_cents(Decimal("0.1234")), at_least_cents(Decimal("1E+2"))
    (Decimal('0.1234'), Decimal('100.00'))
    """
    stripped = _without_trailing_zeros(value)
    exponent = stripped.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return stripped
    return stripped.quantize(Decimal("0.01")) + _ZERO


def cents(value: Decimal, mode: RoundingMode) -> Decimal:
    """An amount of money shown to a person: whole cents in the replay's P-ROUND ``mode``.

    Never ``-0.00``. The mode has no default on purpose: a figure from a replay is
    rounded the way that replay rounds (``result.policies.rounding``). Used by the
    CLI's credit and runway lines (cli), the budget gate's messages (gate), the
    assertion messages (testing), the idle report's table (explain) and the
    engine's logs and summaries.

    >>> half_up, half_even = RoundingMode.HALF_UP, RoundingMode.HALF_EVEN
    >>> cents(Decimal("5.985"), half_up), cents(Decimal("5.985"), half_even)
    (Decimal('5.99'), Decimal('5.98'))
    >>> cents(Decimal("-0.001"), RoundingMode.HALF_UP)
    Decimal('0.00')
    """
    return round_to_cents(value, mode) + _ZERO


def dollars(value: Decimal) -> str:
    """``value`` as dollars: ``$12.50``, ``-$3.00``, never in exponent form.

    The caller decides the places first (:func:`cents` or :func:`at_least_cents`).
    Used by the CLI (cli) and the reconciliation's text (reconcile).

    >>> dollars(Decimal("12.50")), dollars(Decimal("-3.00")), dollars(Decimal("-0.00"))
    ('$12.50', '-$3.00', '$0.00')
    """
    if value < 0:
        return f"-${format(-value, 'f')}"
    return f"${format(value + _ZERO, 'f')}"


def chart_dollars(value: float | Decimal, _position: object = None) -> str:
    """A tick or key label of the balance chart: ``$1,250.00``, ``-$3.50``.

    Matplotlib's tick formatter signature (it passes the tick as a float, and a
    position); the figure is a label on a picture, never a computed amount. Used by
    the balance chart (plot).

    >>> chart_dollars(1250.0), chart_dollars(Decimal("-3.5"))
    ('$1,250.00', '-$3.50')
    """
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _without_trailing_zeros(value: Decimal) -> Decimal:
    """``value`` exactly, without trailing zeros or a positive exponent (``1E+2`` is ``100``)."""
    return Decimal(plain(value))
