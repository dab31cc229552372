"""Idempotent import (issue 13, item 5): usage events with an id bill once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from together_billing import InvalidArgument, ServerlessUsage, Simulator, TokenUsage
from together_billing.scenario import ScenarioDoc
from together_billing.timeline import deduplicate

CHAT = ServerlessUsage("chat", model="openai/gpt-oss-20b")
AT = "2025-11-01T10:00:00Z"
UNTIL = "2025-11-02T00:00:00Z"


def usage(at: str = AT, tokens: int = 1_000_000, event_id: str | None = "row-1") -> TokenUsage:
    return TokenUsage(at, "chat", tokens, tokens, id=event_id)


def test_the_same_usage_twice_bills_once_and_is_counted() -> None:
    """Importing one record twice bills it once; the result counts the repeat."""
    once = Simulator().run([CHAT], [usage()], until=UNTIL)
    twice = Simulator().run([CHAT], [usage(), usage()], until=UNTIL)
    assert twice.total == once.total
    assert twice.lines == once.lines
    assert (once.duplicates, twice.duplicates) == (0, 1)
    assert twice.to_dict()["duplicates"] == 1
    assert "duplicates" not in once.to_dict()


def test_usage_without_ids_still_bills_every_event() -> None:
    """No id, no de-duplication: two identical records are two uses."""
    result = Simulator().run([CHAT], [usage(event_id=None)] * 2, until=UNTIL)
    assert result.duplicates == 0
    assert result.lines[0].quantity == Decimal(2_000_000)


def test_overlapping_exports_bill_once_across_a_continued_replay() -> None:
    """Rows of a second export that the first already carried are dropped, even resumed."""
    first = [
        usage("2025-11-01T10:00:00Z", event_id="a"),
        usage("2025-11-01T11:00:00Z", event_id="b"),
    ]
    second = [
        usage("2025-11-01T11:00:00Z", event_id="b"),
        usage("2025-11-01T13:00:00Z", event_id="c"),
    ]
    whole = Simulator().run([CHAT], [*first, *second], until=UNTIL)
    part = Simulator().run([CHAT], first, until="2025-11-01T12:00:00Z")
    # The continuation is handed the whole second export: "b" was billed before the cut.
    rest = Simulator().run([], second, until=UNTIL, state=part.state)
    assert whole.duplicates == 1
    assert whole.lines[0].quantity == Decimal(3_000_000)
    assert rest.total == whole.total
    assert rest.duplicates == 1


def test_a_continued_replay_counts_the_duplicates_of_the_whole() -> None:
    """Like its total, a continued replay's count of repeats is the whole replay's: the one
    before the cut and the one after it."""
    first = [usage("2025-11-01T10:00:00Z", event_id="a")] * 2
    second = [
        usage("2025-11-01T10:00:00Z", event_id="a"),
        usage("2025-11-01T13:00:00Z", event_id="b"),
    ]
    whole = Simulator().run([CHAT], [*first, *second], until=UNTIL)
    part = Simulator().run([CHAT], first, until="2025-11-01T12:00:00Z")
    rest = Simulator().run([], second, until=UNTIL, state=part.state)
    assert (part.duplicates, rest.duplicates, whole.duplicates) == (1, 2, 2)
    assert rest.total == whole.total


def test_order_of_duplicates_does_not_change_the_bill() -> None:
    events = [usage(event_id="x"), usage("2025-11-01T12:00:00Z", event_id="y"), usage(event_id="x")]
    forward = Simulator().run([CHAT], events, until=UNTIL)
    backward = Simulator().run([CHAT], list(reversed(events)), until=UNTIL)
    assert forward.to_dict() == backward.to_dict()


def test_two_different_records_under_one_id_are_an_error() -> None:
    with pytest.raises(InvalidArgument, match="row-1") as caught:
        deduplicate([usage(), usage(tokens=5)])
    assert caught.value.field == "id"


def test_an_empty_id_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="id"):
        TokenUsage(AT, "chat", 1, id=" ")


def test_the_scenario_format_carries_the_id() -> None:
    """`tokens` events take an optional `id`; repeats in a file bill once."""
    row = {"type": "tokens", "at": AT, "resource": "chat", "input_tokens": 10, "id": "r1"}
    doc = ScenarioDoc.model_validate(
        {
            "until": UNTIL,
            "resources": [{"kind": "serverless", "id": "chat", "model": "openai/gpt-oss-20b"}],
            "events": [row, row],
        }
    )
    result = doc.run()
    assert result.duplicates == 1
    assert result.lines[0].quantity == 10
