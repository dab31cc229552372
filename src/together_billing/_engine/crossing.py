"""Crossings (CR2): when a balance reaches a level (the floor, an alert or recharge
threshold), computed, never sampled, to the microsecond, within a documented tolerance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from together_billing._engine.metering import MICROS_PER_HOUR_D
from together_billing.money import EXACT_CONTEXT

__all__ = ["TOLERANCE", "below", "ceil_micros", "reached"]

#: Balances within 1e-30 USD of the floor (or an alert or recharge threshold) count as
#: reaching it, not as passing below it: continuous draws are quotients carried to 50
#: digits, and a replay split at any instant must find the same crossing despite their
#: last-digit noise.
TOLERANCE: Final = Decimal("1e-30")


def reached(balance: Decimal, level: Decimal) -> bool:
    """Whether ``balance`` is at or below ``level`` (CR2), within ``TOLERANCE`` (to 50 digits:
    in the default 28-digit context, ``50 + 1e-30`` would round to ``50``)."""
    return balance <= EXACT_CONTEXT.add(level, TOLERANCE)


def below(balance: Decimal, level: Decimal) -> bool:
    """Whether ``balance`` is below ``level`` by more than ``TOLERANCE``."""
    return balance < EXACT_CONTEXT.subtract(level, TOLERANCE)


def ceil_micros(amount: Decimal, per_hour: Decimal, *, strict: bool = False) -> int:
    """Microseconds until ``amount`` is drawn at ``per_hour``, rounded up (CR2).

    With ``strict``, until *more* than ``amount`` is drawn (the next microsecond
    when the crossing falls exactly on one).
    """
    exact = EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(amount, MICROS_PER_HOUR_D), per_hour)
    # Drop the noise of 50-digit quotients so a split replay finds the same microsecond.
    exact = EXACT_CONTEXT.quantize(exact, Decimal("1e-26"))
    if strict:
        return int(exact.to_integral_value(rounding="ROUND_FLOOR")) + 1
    return int(exact.to_integral_value(rounding="ROUND_CEILING"))
