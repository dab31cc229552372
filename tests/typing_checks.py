"""Static checks of the public surface's types, run by mypy (see test_typing.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import assert_type

from together_billing import Money, SimulationResult, simulate

a = Money("1.50")
b = Money("2")
assert_type(a + b, Money)
assert_type(a - b, Money)
assert_type(a * 3, Money)
assert_type(a / b, Decimal)
assert_type(a / 2, Money)
assert_type(sum([a, b], Money.zero()), Money)
assert_type(simulate([], [], until="2025-11-01T00:00:00Z"), SimulationResult)
