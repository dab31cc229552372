"""Forecast the November bill of a deployment plan, and keep it under budget.

The plan: a dedicated endpoint on one H100 serves a chat product during office
hours (08:00 to 20:00 UTC, weekdays from Monday 3 November), and a serverless
model answers 5M input and 1M output tokens a day. The prices are our contract's,
not the bundled catalog's. Run with ``python -m pytest examples/test_deployment_budget.py``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from together_billing import (
    Catalog,
    DedicatedEndpoint,
    Delete,
    Deploy,
    Event,
    HardwarePrice,
    ServerlessPrice,
    ServerlessUsage,
    Simulator,
    Start,
    Stop,
    TokenUsage,
)
from together_billing.testing import assert_monthly_bill_under, check_invariants

MONTHLY_BUDGET = Decimal(1200)
NOVEMBER = pendulum.datetime(2025, 11, 1, tz="UTC")
DECEMBER = pendulum.datetime(2025, 12, 1, tz="UTC")

# Our contract's prices, effective from the start of the year.
CATALOG = Catalog(
    [
        HardwarePrice("1x_nvidia_h100_80gb_sxm", "3.99", "2025-01-01T00:00:00Z"),
        ServerlessPrice("acme/chat-small", "0.20", "0.60", "2025-01-01T00:00:00Z"),
    ]
)
SIMULATOR = Simulator(CATALOG)
RESOURCES = [
    DedicatedEndpoint(
        "support-bot",
        model="acme/support-70b",
        hardware="1x_nvidia_h100_80gb_sxm",
    ),
    ServerlessUsage("chat", model="acme/chat-small"),
]


def office_hours() -> list[Event]:
    """The endpoint runs 08:00-20:00 on weekdays, from Monday 3 November."""
    events: list[Event] = []
    day = pendulum.datetime(2025, 11, 3, tz="UTC")
    while day < DECEMBER:
        if day.day_of_week < 5:  # Monday to Friday
            opening = day.add(hours=8)
            events.append(
                Start(opening, "support-bot") if events else Deploy(opening, "support-bot")
            )
            events.append(Stop(day.add(hours=20), "support-bot"))
        day = day.add(days=1)
    return events


def chat_traffic() -> list[Event]:
    """5M input and 1M output tokens a day, recorded at noon."""
    return [
        TokenUsage(
            NOVEMBER.add(days=d, hours=12), "chat", input_tokens=5_000_000, output_tokens=1_000_000
        )
        for d in range(30)
    ]


def test_november_bill_stays_under_budget() -> None:
    """20 weekdays x 12 h x $3.99 + 30 days x $1.60 of tokens = $1,005.60."""
    result = SIMULATOR.run(
        RESOURCES, office_hours() + chat_traffic(), until=DECEMBER, start=NOVEMBER
    )
    assert_monthly_bill_under(result, MONTHLY_BUDGET, period="2025-11")


@st.composite
def timelines(draw: st.DrawFn) -> list[Event]:
    """Any number of opening windows on distinct days, token usage at any minute, maybe a Delete."""
    days = draw(st.lists(st.integers(0, 29), unique=True, max_size=6).map(sorted))
    events: list[Event] = []
    for day in days:
        opening = NOVEMBER.add(days=day, minutes=draw(st.integers(0, 20 * 60)))
        closing = opening.add(minutes=draw(st.integers(1, 4 * 60)))
        events.append(Start(opening, "support-bot") if events else Deploy(opening, "support-bot"))
        events.append(Stop(closing, "support-bot"))
    if events and draw(st.booleans()):
        deleted = events[-1].at + timedelta(minutes=draw(st.integers(1, 90)))
        events.append(Delete(min(deleted, DECEMBER), "support-bot"))
    for minute in draw(st.lists(st.integers(0, 30 * 24 * 60 - 1), max_size=5)):
        tokens = draw(st.integers(0, 10_000_000))
        events.append(TokenUsage(NOVEMBER.add(minutes=minute), "chat", input_tokens=tokens))
    return events


@settings(max_examples=25, deadline=None)
@given(timelines())
def test_any_timeline_keeps_the_billing_invariants(events: list[Event]) -> None:
    """Totals add up, rounding is within half a cent, nothing bills after a Delete, and
    reordering or splitting the replay changes nothing."""
    result = SIMULATOR.run(RESOURCES, events, until=DECEMBER, start=NOVEMBER)
    check_invariants(result, resources=RESOURCES, events=events, simulator=SIMULATOR)
