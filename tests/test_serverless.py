"""Serverless inference (SL1-SL3): single records and columnar batches.

Tests of the ``serverless`` room of the engine (``together_billing._engine.serverless``)
through the public API; the batch fast path is also covered in tests/test_engine.py and
tests/test_columnar.py.
"""

from __future__ import annotations

from decimal import Decimal

from together_billing import (
    Account,
    Catalog,
    ServerlessPrice,
    ServerlessUsage,
    TokenUsageBatch,
    instant,
    simulate,
)
from together_billing.time import to_micros

E = "2025-01-01T00:00:00Z"
CATALOG = Catalog([ServerlessPrice("chat", "1", "2", E)])
UNTIL = "2025-11-05T00:00:00Z"
T0 = "2025-11-03T00:00:00Z"
T1 = "2025-11-03T01:00:00Z"


# -- Pinned by mutation testing (docs/mutation.md) ----------------------------------------------


def test_SL1_every_record_of_a_batch_keeps_the_batch_s_place_in_the_total_order() -> None:
    """SL1, timeline order (instant, priority, type, resource): with credits a batch is billed
    record by record, and each later record takes the place the batch's own sort key gives
    it at its instant: ``"a"``'s second record draws before ``"b"``'s batch at that instant,
    as batches of ``"a"`` and ``"b"`` starting there would."""
    resources = [ServerlessUsage("a", model="chat"), ServerlessUsage("b", model="chat")]
    times = [to_micros(instant(T0)), to_micros(instant(T1))]
    batches = [
        TokenUsageBatch("b", times[1:], [4_000], [0]),
        TokenUsageBatch("a", times, [1_000, 2_000], [0, 0]),
    ]
    result = simulate(
        [*resources, Account(opening_balance=100)], batches, until=UNTIL, catalog=CATALOG
    )
    drawn = [(e.at_micros, e.resource, e.amount) for e in result.ledger if e.kind == "consumption"]
    assert drawn == [
        (times[0], "a", Decimal("-0.001")),
        (times[1], "a", Decimal("-0.002")),
        (times[1], "b", Decimal("-0.004")),
    ]
