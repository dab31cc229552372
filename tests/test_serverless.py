"""Serverless usage (SL1-SL3): token lines, batch mode, cached input, size tiers, batches.

Each test replays a small scenario over the tiny catalog of tests/replays.py and
asserts the exact invoice lines (rule, mode, discount and tier in the description)
or the exact error: the batch discount policy, the size-tier fallback, a
``TokenUsageBatch`` cut at price changes and periods and drawn record by record from
credits. Written against mutation testing (docs/mutation.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.replays import CATALOG, CHAT, EP0, NO_ALERTS, at, iso, run, serverless_lines

from together_billing import (
    Account,
    Catalog,
    Deploy,
    InvalidTimeline,
    InvoiceLine,
    Policies,
    PriceChange,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    TokenUsage,
    TokenUsageBatch,
    UnknownPrice,
    instant,
    simulate,
)
from together_billing.plot import balance_series
from together_billing.time import from_micros, to_micros


def test_serverless_lines_name_rule_mode_discount_and_tier() -> None:
    """SL1-SL3: cached input is its own SL3 line, batch lines carry the discount, size tiers say so."""
    plain = ServerlessUsage("p", model="plain")
    tiered = ServerlessUsage("t", model="org/unknown-8b", params_b=8)
    result = run(
        [CHAT, plain, tiered],
        [
            TokenUsage(at("01:00"), "s", 10**6, 2 * 10**6, 4 * 10**5),
            TokenUsage(at("02:00"), "s", 10**6, 10**6, batch=True),
            TokenUsage(at("02:00"), "p", 10**6, 10**6, batch=True),
            TokenUsage(at("02:00"), "p", 3 * 10**6, 0, 5),
            TokenUsage(at("03:00"), "t", 10**6, 10**6),
        ],
    )
    m = Decimal(10**6)
    assert serverless_lines(result) == [
        ("p", "SL1", "plain input tokens", 3 * m, Decimal("0.20"), Decimal("0.60")),
        ("p", "SL3", "plain batch input tokens", m, Decimal("0.20"), Decimal("0.20")),
        ("p", "SL3", "plain batch output tokens", m, Decimal("0.60"), Decimal("0.60")),
        ("s", "SL1", "chat input tokens", Decimal(6 * 10**5), Decimal(1), Decimal("0.60")),
        ("s", "SL1", "chat output tokens", 2 * m, Decimal(2), Decimal("4.00")),
        (
            "s",
            "SL3",
            "chat batch input tokens (50% batch discount)",
            m,
            Decimal("0.50"),
            Decimal("0.50"),
        ),
        (
            "s",
            "SL3",
            "chat batch output tokens (50% batch discount)",
            m,
            Decimal("1.00"),
            Decimal("1.00"),
        ),
        (
            "s",
            "SL3",
            "chat cached input tokens",
            Decimal(4 * 10**5),
            Decimal("0.50"),
            Decimal("0.20"),
        ),
        (
            "t",
            "SL2",
            "org/unknown-8b input tokens [size tier small]",
            m,
            Decimal("0.10"),
            Decimal("0.10"),
        ),
        (
            "t",
            "SL2",
            "org/unknown-8b output tokens [size tier small]",
            m,
            Decimal("0.30"),
            Decimal("0.30"),
        ),
    ]
    # Rates are shown to the cent at least, without trailing zeros beyond (1.00, 0.50, 0.375).
    assert [str(line.rate) for line in result.lines][3:6] == ["1.00", "2.00", "0.50"]
    (line,) = [line for line in result.lines if line.description == "chat cached input tokens"]
    assert (line.unit, line.rate_unit) == ("token", "USD per 1M tokens")
    assert line.interval.start == line.interval.end
    assert line.interval.start.isoformat() == iso("01:00")


def test_batch_discount_policy_overrides_the_catalog() -> None:
    """P-BATCH: a policy discount replaces the catalog's, also on cached input, with exact rates."""
    plain = ServerlessUsage("p", model="plain")
    result = run(
        [CHAT, plain],
        [
            TokenUsage(at("02:00"), "s", 10**6, 10**6, 10**5, batch=True),
            TokenUsage(at("02:00"), "p", 10**6, 10**6, batch=True),
        ],
        policies=Policies(batch_discount="0.25"),
    )
    m = Decimal(10**6)
    assert serverless_lines(result) == [
        (
            "p",
            "SL3",
            "plain batch input tokens (25% batch discount)",
            m,
            Decimal("0.15"),
            Decimal("0.15"),
        ),
        (
            "p",
            "SL3",
            "plain batch output tokens (25% batch discount)",
            m,
            Decimal("0.45"),
            Decimal("0.45"),
        ),
        (
            "s",
            "SL3",
            "chat batch cached input tokens (25% batch discount)",
            Decimal(10**5),
            Decimal("0.375"),
            Decimal("0.04"),
        ),
        (
            "s",
            "SL3",
            "chat batch input tokens (25% batch discount)",
            Decimal(9 * 10**5),
            Decimal("0.75"),
            Decimal("0.68"),
        ),
        (
            "s",
            "SL3",
            "chat batch output tokens (25% batch discount)",
            m,
            Decimal("1.50"),
            Decimal("1.50"),
        ),
    ]


BATCH = TokenUsageBatch(
    "s",
    [
        "2025-11-30T00:00:00Z",
        "2025-11-30T23:00:00Z",
        "2025-12-01T00:00:00Z",
        "2025-12-01T01:00:00Z",
        "2025-12-01T02:00:00Z",
        "2025-12-01T03:00:00Z",
    ],
    [10, 0, 30, 40, 50, 60],
    [1, 2, 0, 0, 5, 6],
    cached_input_tokens=[1, 0, 3, 0, 5, 0],
)


#: From 01:00 on December 1st, chat costs 3 and 4 and has no cached-input rate.
NEW_CHAT_PRICE = PriceChange(ServerlessPrice("chat", "3", "4", "2025-12-01T01:00:00Z"))


BATCH_LINES = [
    ("SL1", "chat input tokens", 9, Decimal(1), "2025-11-30T00:00:00", "2025-11-30T00:00:00"),
    ("SL1", "chat output tokens", 3, Decimal(2), "2025-11-30T00:00:00", "2025-11-30T23:00:00"),
    (
        "SL3",
        "chat cached input tokens",
        1,
        Decimal("0.5"),
        "2025-11-30T00:00:00",
        "2025-11-30T00:00:00",
    ),
    ("SL1", "chat input tokens", 27, Decimal(1), "2025-12-01T00:00:00", "2025-12-01T00:00:00"),
    # At and after the price change: all input at the new rate (no cached-input rate any more).
    ("SL1", "chat input tokens", 150, Decimal(3), "2025-12-01T01:00:00", "2025-12-01T03:00:00"),
    # The first output after the price change is at 02:00.
    ("SL1", "chat output tokens", 11, Decimal(4), "2025-12-01T02:00:00", "2025-12-01T03:00:00"),
    (
        "SL3",
        "chat cached input tokens",
        3,
        Decimal("0.5"),
        "2025-12-01T00:00:00",
        "2025-12-01T00:00:00",
    ),
]


def batch_lines(result: SimulationResult) -> list[tuple[object, ...]]:
    return [
        (
            line.rule,
            line.description,
            line.quantity,
            line.rate,
            line.interval.start.isoformat()[:19],
            line.interval.end.isoformat()[:19],
        )
        for line in result.lines
    ]


def test_token_batch_is_cut_at_price_changes_and_periods() -> None:
    """SL1/SL3/G4: a batch bills each record at its instant's price and period; spans skip empty records."""
    result = run([CHAT], [BATCH, NEW_CHAT_PRICE], until="2025-12-02T00:00:00Z")
    assert batch_lines(result) == BATCH_LINES
    assert [invoice.period.label for invoice in result.invoices] == ["2025-11", "2025-12"]
    singles = run([CHAT], [*BATCH.records(), NEW_CHAT_PRICE], until="2025-12-02T00:00:00Z")
    assert batch_lines(singles) == BATCH_LINES


def test_token_batch_with_credits_draws_each_record_at_its_instant() -> None:
    """CR1: with an Account, each record of a batch is drawn from the credits at its own instant."""
    result = run(
        [CHAT, Account(opening_balance="100")],
        [BATCH, NEW_CHAT_PRICE],
        until="2025-12-02T00:00:00Z",
        policies=NO_ALERTS,
    )
    assert batch_lines(result) == BATCH_LINES
    draws = [
        (entry.at_micros, entry.amount, entry.note)
        for entry in result.ledger
        if entry.kind == "consumption"
    ]
    assert draws == [
        (1764460800000000, Decimal("-0.000009"), "chat input tokens"),
        (1764460800000000, Decimal("-5E-7"), "chat cached input tokens"),
        (1764460800000000, Decimal("-0.000002"), "chat output tokens"),
        (1764543600000000, Decimal("-0.000004"), "chat output tokens"),
        (1764547200000000, Decimal("-0.000027"), "chat input tokens"),
        (1764547200000000, Decimal("-0.0000015"), "chat cached input tokens"),
        (1764550800000000, Decimal("-0.00012"), "chat input tokens"),
        (1764554400000000, Decimal("-0.00015"), "chat input tokens"),
        (1764554400000000, Decimal("-0.00002"), "chat output tokens"),
        (1764558000000000, Decimal("-0.00018"), "chat input tokens"),
        (1764558000000000, Decimal("-0.000024"), "chat output tokens"),
    ]


def test_token_batch_must_lie_within_the_replay() -> None:
    """A batch's last record after ``until``, or its first before ``start``, is refused naming that record."""
    with pytest.raises(InvalidTimeline) as info:
        run([CHAT], [BATCH], until="2025-12-01T02:00:00Z")
    assert (info.value.field, info.value.value, info.value.expected) == (
        "at",
        "2025-12-01T03:00:00+00:00",
        "an instant at or before until (2025-12-01T02:00:00+00:00)",
    )
    with pytest.raises(InvalidTimeline) as info:
        run([CHAT], [BATCH], start="2025-11-30T01:00:00Z", until="2025-12-03T00:00:00Z")
    assert (info.value.field, info.value.value, info.value.expected) == (
        "at",
        "2025-11-30T00:00:00+00:00",
        "an instant at or after 2025-11-30T01:00:00+00:00, the replay's start",
    )
    # The first event's instant is the default start, also for a batch.
    result = run([CHAT], [BATCH], until="2025-12-02T00:00:00Z")
    assert result.invoices[0].period.label == "2025-11"


def test_size_tier_fallback_can_be_turned_off() -> None:
    """SL2/P-TIER: without the fallback, a model missing from the catalog has no price, even with params_b."""
    tiered = ServerlessUsage("t", model="org/unknown-8b", params_b=8)
    with pytest.raises(UnknownPrice) as info:
        run(
            [tiered],
            [TokenUsage(at("01:00"), "t", 10)],
            until=at("02:00"),
            policies=Policies(size_tier_fallback=False),
        )
    assert (info.value.field, info.value.value) == ("model", "org/unknown-8b")
    fallback = run([tiered], [TokenUsage(at("01:00"), "t", 10**6)], until=at("02:00"))
    assert [(line.rule, line.amount) for line in fallback.lines] == [("SL2", Decimal("0.10"))]


def test_fully_cached_input_adds_no_input_line() -> None:
    """SL3: when every input token is cached, only the cached-input line appears (no empty input line)."""
    result = run([CHAT], [TokenUsage(at("01:00"), "s", 10**5, 0, 10**5)], until=at("02:00"))
    assert serverless_lines(result) == [
        (
            "s",
            "SL3",
            "chat cached input tokens",
            Decimal(10**5),
            Decimal("0.50"),
            Decimal("0.05"),
        )
    ]


#: Three batch-mode records, without a cached-input column.
BATCH_MODE = TokenUsageBatch(
    "s",
    ["2025-11-03T01:00:00Z", "2025-11-03T02:00:00Z", "2025-11-03T03:00:00Z"],
    [10**6, 2 * 10**6, 0],
    [0, 0, 10**6],
    batch=True,
)


def test_batch_mode_records_with_credits_are_drawn_in_order_with_running_time() -> None:
    """SL3/CR1: with credits, each batch-mode record is drawn at its instant; the endpoint's
    running time is booked once, when it stops (here: at the end), and the true balance at
    each record counts the time run before it."""
    result = run(
        [Account(opening_balance="100"), EP0, CHAT],
        [Deploy(at("00:00"), "ep"), BATCH_MODE],
        until=at("04:00"),
        policies=NO_ALERTS,
    )
    assert serverless_lines(result)[:2] == [
        (
            "s",
            "SL3",
            "chat batch input tokens (50% batch discount)",
            Decimal(3 * 10**6),
            Decimal("0.50"),
            Decimal("1.50"),
        ),
        (
            "s",
            "SL3",
            "chat batch output tokens (50% batch discount)",
            Decimal(10**6),
            Decimal("1.00"),
            Decimal("1.00"),
        ),
    ]
    minute = 60_000_000
    assert [
        ((e.at_micros - 1762128000000000) // minute, e.amount, e.resource) for e in result.ledger
    ] == [
        (0, Decimal(100), ""),
        (60, Decimal("-0.50"), "s"),
        (120, Decimal("-1.00"), "s"),
        (180, Decimal("-1.00"), "s"),
        (240, Decimal(-24), "ep"),
    ]
    series = balance_series(result)
    assert [series.balance_at(at(f"0{h}:00")) for h in (1, 2, 3, 4)] == [
        Decimal("93.5"),
        Decimal("86.5"),
        Decimal("79.5"),
        Decimal("73.5"),
    ]


def test_batch_follows_catalog_prices_that_change_without_an_event() -> None:
    """G4/SL3: a catalog price taking effect mid-batch (no PriceChange event) applies from its instant."""
    catalog = CATALOG.with_entries(ServerlessPrice("chat", "3", "4", "2025-11-03T02:30:00Z"))
    result = run([CHAT], [BATCH_MODE], until=at("04:00"), catalog=catalog)
    assert serverless_lines(result) == [
        (
            "s",
            "SL3",
            "chat batch input tokens (50% batch discount)",
            Decimal(3 * 10**6),
            Decimal("0.50"),
            Decimal("1.50"),
        ),
        # The new price has no batch discount of its own.
        ("s", "SL3", "chat batch output tokens", Decimal(10**6), Decimal("4.00"), Decimal("4.00")),
    ]


class TestTokenUsageBatch:
    def _compare(self, batch: TokenUsageBatch, others: list[object]) -> None:
        kwargs = {"until": "2025-11-03T00:00:00Z", "start": "2025-10-30T00:00:00Z"}
        with_batch = Simulator(CATALOG).run([CHAT], [batch, *others], **kwargs)  # type: ignore[list-item, arg-type]
        with_records = Simulator(CATALOG).run([CHAT], [*batch.records(), *others], **kwargs)  # type: ignore[list-item, arg-type]
        assert with_batch.total == with_records.total

        def summary(lines: tuple[InvoiceLine, ...]) -> list[tuple[str, Decimal, Decimal, Decimal]]:
            return sorted((x.description, x.rate, x.quantity, x.amount_exact) for x in lines)

        for a, b in zip(with_batch.invoices, with_records.invoices, strict=True):
            assert summary(a.lines) == summary(b.lines)
        assert with_batch.to_dict()["invoices"] == with_records.to_dict()["invoices"]

    def test_batch_equals_single_records_simple(self) -> None:
        """A batch in one period with one price bills exactly like its single records."""
        batch = TokenUsageBatch(
            "s",
            ["2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z", "2025-11-01T01:00:00Z"],
            [10, 20, 30],
            [1, 2, 3],
            [5, 0, 30],
        )
        self._compare(batch, [])

    def test_batch_across_price_change_and_month_boundary(self) -> None:
        """A PriceChange between records and a month boundary inside the batch bill like single records."""
        times = [
            "2025-10-31T22:00:00Z",
            "2025-10-31T23:00:00Z",
            "2025-11-01T00:00:00Z",
            "2025-11-01T01:00:00Z",
            "2025-11-01T02:00:00Z",
        ]
        batch = TokenUsageBatch("s", times, [1_000] * 5, [2_000] * 5, [100] * 5, batch=True)
        change = PriceChange(
            ServerlessPrice("chat", "3", "4", "2025-10-31T23:00:00Z", batch_discount="0.25")
        )
        later = PriceChange(ServerlessPrice("chat", "7", "8", "2025-11-01T01:30:00Z"))
        single = TokenUsage("2025-11-01T00:00:00Z", "s", input_tokens=7, output_tokens=7)
        self._compare(batch, [change, later, single])
        result = Simulator(CATALOG).run(
            [CHAT], [batch, change, later], until="2025-11-03T00:00:00Z"
        )
        assert [i.period.label for i in result.invoices] == ["2025-10", "2025-11"]
        assert {line.rate for line in result.lines} >= {
            Decimal("0.5"),
            Decimal("3.00"),
            Decimal(8),
        }

    def test_batch_line_intervals_equal_single_records(self) -> None:
        """A batch's line intervals cover only the records that contributed to each line."""
        batch = TokenUsageBatch(
            "s", ["2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z"], [5, 0], [0, 5]
        )
        self._compare(batch, [])


_E = "2025-01-01T00:00:00Z"
_BATCH_CATALOG = Catalog([ServerlessPrice("chat", "1", "2", _E)])
_UNTIL = "2025-11-05T00:00:00Z"
_T0 = "2025-11-03T00:00:00Z"
_T1 = "2025-11-03T01:00:00Z"


# -- Pinned by mutation testing (docs/mutation.md) ----------------------------------------------


def test_SL1_every_record_of_a_batch_keeps_the_batch_s_place_in_the_total_order() -> None:
    """SL1, timeline order (instant, priority, type, resource): with credits a batch is billed
    record by record, and each later record takes the place the batch's own sort key gives
    it at its instant: ``"a"``'s second record draws before ``"b"``'s batch at that instant,
    as batches of ``"a"`` and ``"b"`` starting there would."""
    resources = [ServerlessUsage("a", model="chat"), ServerlessUsage("b", model="chat")]
    times = [to_micros(instant(_T0)), to_micros(instant(_T1))]
    batches = [
        TokenUsageBatch("b", times[1:], [4_000], [0]),
        TokenUsageBatch("a", times, [1_000, 2_000], [0, 0]),
    ]
    result = simulate(
        [*resources, Account(opening_balance=100)], batches, until=_UNTIL, catalog=_BATCH_CATALOG
    )
    drawn = [(e.at_micros, e.resource, e.amount) for e in result.ledger if e.kind == "consumption"]
    assert drawn == [
        (times[0], "a", Decimal("-0.001")),
        (times[1], "a", Decimal("-0.002")),
        (times[1], "b", Decimal("-0.004")),
    ]


def test_CR2_credits_react_after_the_last_record_of_a_batch_at_an_instant() -> None:
    """CR2, CR6, SL1: the credit rules react once the customer's last record at an instant
    is billed, as for single records: $1.25 of credits, three 50-cent records at one
    instant, all admitted, and the alert and exhaustion come after them, at -$0.25."""
    chat = ServerlessUsage("s", model="chat")
    t0 = to_micros(instant(_T0))
    times = [t0, t0, t0, t0 + 1]
    batch = TokenUsageBatch("s", times, [500_000] * 4, [0] * 4)
    singles = [TokenUsage(from_micros(t), "s", input_tokens=500_000) for t in times]
    logs = []
    for events in ([batch], singles):
        result = simulate(
            [chat, Account(opening_balance=Decimal("1.25"))],
            events,
            until=_UNTIL,
            catalog=_BATCH_CATALOG,
        )
        assert sum(line.amount for line in result.lines) == Decimal("1.5")
        logs.append([(to_micros(e.at), e.action, e.rule, e.detail) for e in result.log])
    assert logs[0] == logs[1]
    assert [entry[1:] for entry in logs[0] if entry[0] == t0][1:] == [
        ("alert", "CR6", "balance -0.25 USD is at or below 10"),
        ("credits exhausted", "CR2", "balance -0.25 USD reached the floor 0 (P-FLOOR)"),
        ("API access suspended", "CR8", "P-EXHAUST"),
    ]
