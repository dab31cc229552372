"""The public views of a replay that explain, testing and your code read (#12).

`SimulationResult.start`, `.spans` (`MeteredSpan`), `.price_of(line)`, `InvoiceLine.price_key`
and `SimulationState.ledger`: what the engine's private state used to be reached into for.
Each view is checked against what the invoices say, over worked cases and a broad sample.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Account,
    Catalog,
    Category,
    DedicatedEndpoint,
    Deploy,
    HardwarePrice,
    MeteredSpan,
    MeteringGrain,
    PriceChange,
    Purchase,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    SizeTierPrice,
    Start,
    Stop,
    TokenUsage,
    instant,
    simulate,
)
from together_billing.scenario import Scenario
from together_billing.strategies import accounts, scenarios
from together_billing.time import from_micros

#: Lines counted from running time; the others are discrete (tokens, jobs, reservations).
DISCRETE = {Category.SERVERLESS, Category.FINE_TUNING, Category.RESERVED_COMPUTE}
#: Sums of 50-digit quotients taken in a different order differ only in their last digits.
NOISE = Decimal("1e-40")
PRICES = Catalog(
    [
        HardwarePrice("1x_g", "6", "2025-01-01T00:00:00Z"),
        ServerlessPrice("m", "0.30", "1.20", "2025-01-01T00:00:00Z"),
        SizeTierPrice("small", "10", "0.10", "0.20", "2025-01-01T00:00:00Z"),
    ]
)
BROAD = st.one_of(
    scenarios(max_events=10),
    scenarios(accounts=accounts(), max_events=14, max_price_changes=3),
)


def _endpoint_day() -> SimulationResult:
    """An endpoint from 09:00, repriced at 10:00, scaled to 2 at 10:30, stopped at 11:00."""
    return simulate(
        [DedicatedEndpoint("ep", model="m", hardware="1x_g", max_replicas=2)],
        [
            Deploy("2025-11-03T09:00:00Z", "ep"),
            PriceChange(HardwarePrice("1x_g", "12", "2025-11-03T10:00:00Z")),
            ScaleReplicas("2025-11-03T10:30:00Z", "ep", replicas=2),
            Stop("2025-11-03T11:00:00Z", "ep"),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=PRICES,
    )


# -- start ------------------------------------------------------------------------------------


def test_start_is_the_given_start_or_the_first_event() -> None:
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
    deploy = [Deploy("2025-11-03T09:00:00Z", "ep")]
    until = "2025-11-04T00:00:00Z"
    first = simulate([endpoint], deploy, until=until, catalog=PRICES)
    assert first.start == instant("2025-11-03T09:00:00Z")
    given_start = simulate(
        [endpoint], deploy, until=until, start="2025-10-15T00:00:00Z", catalog=PRICES
    )
    assert given_start.start == instant("2025-10-15T00:00:00Z")
    assert simulate([endpoint], [], until=until).start == instant(until)


def test_a_continued_replay_keeps_the_first_runs_start_and_spans() -> None:
    first = _endpoint_day()
    later = first.state.at.add(days=2)
    restart = Start(first.state.at.add(hours=1), "ep")
    again = Simulator(PRICES).run([], [restart], until=later, state=first.state)
    assert again.start == first.start == instant("2025-11-03T09:00:00Z")
    assert again.spans[: len(first.spans)] == first.spans
    assert [span.start for span in again.spans[len(first.spans) :]] == [restart.at]


# -- spans ------------------------------------------------------------------------------------


def test_spans_are_cut_at_price_changes_and_follow_each_group_of_units() -> None:
    """G3, G4: a span per group of units, price and settlement: the first replica 09:00-10:00
    at $6, then at $12 to the scale at 10:30 (which settles it) and on to 11:00; the second
    replica 10:30-11:00 at $12, on its own grid."""
    result = _endpoint_day()
    spans = sorted(result.spans, key=lambda s: (s.start_micros, s.grid_micros))
    shown = [(s.start.format("HH:mm"), s.end.format("HH:mm"), s.units, s.rate) for s in spans]
    assert shown == [
        ("09:00", "10:00", 1, Decimal(6)),
        ("10:00", "10:30", 1, Decimal(12)),
        ("10:30", "11:00", 1, Decimal(12)),
        ("10:30", "11:00", 1, Decimal(12)),
    ]
    grids = [from_micros(s.grid_micros).format("HH:mm") for s in spans]
    assert grids == ["09:00", "09:00", "09:00", "10:30"]
    first = spans[0]
    assert first.resource == "ep"
    assert first.rule == "DE1"
    assert first.category is Category.DEDICATED_ENDPOINT
    assert first.grain is MeteringGrain.PER_MINUTE
    assert first.price_key == ("hardware", "1x_g")
    assert first.rate_unit == "USD per replica-hour"
    assert first.interval.seconds == 3600
    assert first.count() == 60
    assert first.amount(first.count()) == Decimal(6)
    # Half an hour of one replica's minutes, from inside the span.
    assert first.count(first.start_micros + 30 * 60_000_000) == 30
    assert first.amount(30) == Decimal(3)
    assert sum(s.amount(s.count()) for s in spans) == result.total.amount == Decimal(24)


def test_a_span_counts_nothing_outside_itself() -> None:
    span = min(_endpoint_day().spans, key=lambda s: s.start_micros)
    assert span.count(span.end_micros, span.end_micros + 10**9) == 0
    assert span.count(span.start_micros - 10**9, span.start_micros) == 0
    assert span.count(span.end_micros - 1, span.start_micros + 1) == 0


@given(st.data())
def test_a_spans_count_adds_up_over_any_cut(data: st.DataObject) -> None:
    """G3: the units starting in ``[a, b)`` are those in ``[a, m)`` plus those in ``[m, b)``."""
    span = data.draw(st.sampled_from(_endpoint_day().spans))
    lo, hi = span.start_micros - 10**8, span.end_micros + 10**8
    a, m, b = sorted(data.draw(st.lists(st.integers(lo, hi), min_size=3, max_size=3)))
    assert span.count(a, b) == span.count(a, m) + span.count(m, b)


def _key(item: MeteredSpan) -> tuple[object, ...]:
    return (item.resource, item.rule, item.description, item.price_key, item.price_effective_from)


@given(BROAD)
def test_spans_price_exactly_the_time_based_lines(scenario: Scenario) -> None:
    """Over a broad sample (every metered kind, price changes, credits running out): every
    time-based line comes from spans of its resource, rule, description and price, and
    the spans' exact amounts add up to the lines' (G3, IN1)."""
    result = scenario.run()
    from_spans: dict[tuple[object, ...], Decimal] = defaultdict(Decimal)
    for span in result.spans:
        assert span.start_micros < span.end_micros
        assert span.units > 0
        assert span.count() > 0
        from_spans[_key(span)] += span.amount(span.count())
    from_lines: dict[tuple[object, ...], Decimal] = defaultdict(Decimal)
    for line in result.lines:
        key = (
            line.resource,
            line.rule,
            line.description,
            line.price_key,
            line.price_effective_from,
        )
        if line.category not in DISCRETE:
            assert key in from_spans, key
        if key in from_spans:
            from_lines[key] += line.amount_exact
    assert from_lines.keys() == from_spans.keys()
    for key, amount in from_spans.items():
        assert abs(amount - from_lines[key]) < NOISE, key


# -- prices of lines ---------------------------------------------------------------------------


@given(BROAD)
def test_every_line_finds_the_price_it_is_billed_at(scenario: Scenario) -> None:
    """IN1: a line's ``price_key`` and ``price_effective_from`` find its price entry, whose
    source is the line's; a line the replay did not bill finds none."""
    result = scenario.run()
    for line in result.lines:
        assert line.price_key
        price = result.price_of(line)
        assert price is not None
        assert price.key == line.price_key
        assert price.effective_from == line.price_effective_from
        assert price.source == line.source
        assert result.price_of(attrs.evolve(line, price_key=("nowhere",))) is None


def test_derived_prices_are_found_too() -> None:
    """P-TIER and DE1: a model priced by its size tier and a 2x configuration priced from its
    1x entry are billed at entries the catalog does not list; `price_of` finds them."""
    result = simulate(
        [
            ServerlessUsage("s", model="unlisted", params_b=7),
            DedicatedEndpoint("ep", model="m", hardware="2x_g"),
        ],
        [
            TokenUsage("2025-11-03T09:00:00Z", "s", input_tokens=1000, output_tokens=1000),
            Deploy("2025-11-03T09:00:00Z", "ep"),
            Stop("2025-11-03T10:00:00Z", "ep"),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=PRICES,
    )
    prices = {line.resource: result.price_of(line) for line in result.lines}
    tier = prices["s"]
    assert isinstance(tier, ServerlessPrice)
    assert tier.tier == "small"
    assert tier.key == ("serverless", "unlisted")
    hardware = prices["ep"]
    assert isinstance(hardware, HardwarePrice)
    assert (hardware.gpu_count, hardware.per_hour) == (2, Decimal(12))


def test_the_price_key_is_not_part_of_a_lines_json() -> None:
    """The JSON of a line (and of a result) is unchanged: `price_key` is not in it."""
    result = _endpoint_day()
    line = result.lines[0]
    assert line.price_key == ("hardware", "1x_g")
    assert "price_key" not in line.to_dict()
    assert "price_key" not in json.dumps(result.to_dict())


# -- the ledger of a state -----------------------------------------------------------------------


def test_the_states_ledger_is_an_exact_copy() -> None:
    """CR1: the exact sums of the ledger; changing the copy changes neither the state nor
    a replay continued from it."""
    result = simulate(
        [DedicatedEndpoint("ep", model="m", hardware="1x_g"), Account(opening_balance=10)],
        [Deploy("2025-11-03T00:00:00Z", "ep"), Purchase("2025-11-03T00:30:00Z", "account", 5)],
        until="2025-11-03T01:00:00Z",
        catalog=PRICES,
    )
    ledger = result.state.ledger
    assert ledger is not None
    assert (ledger.purchased, ledger.balance) == (Decimal(15), result.balance) == (15, 9)
    assert ledger.entries == list(result.ledger)
    ledger.consume(0, Decimal(100), "ep")
    assert result.state.ledger is not None
    assert result.state.ledger.balance == result.balance == 9
    assert simulate([], [], until="2025-11-04T00:00:00Z").state.ledger is None
