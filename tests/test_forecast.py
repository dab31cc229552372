"""Forecasts (:mod:`together_billing.forecast`): a forecast is the replay of its written-out future.

Every test uses a small catalog of user prices built here: an endpoint at $6 per
replica-hour (0.10 per minute) and a serverless model at 0.20 / 0.60 USD per 1M
input / output tokens (cached input 0.05). The central check is that
``forecast(...).result`` is exactly ``forecast(...).scenario.run()``: the forecast
is the same fold as a replay, continued from the history's state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from together_billing import (
    Account,
    Catalog,
    DedicatedEndpoint,
    Deploy,
    Event,
    HardwarePrice,
    InvalidArgument,
    LedgerEntry,
    Policies,
    Purchase,
    Requests,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Start,
    Stop,
    TokenUsage,
    TokenUsageBatch,
    instant,
)
from together_billing.forecast import Forecast, SteadyUsage, forecast
from together_billing.money import EXACT_CONTEXT
from together_billing.scenario import Scenario
from together_billing.strategies import scenarios
from together_billing.time import MICROS_PER_MINUTE, BillingPeriod, from_micros, to_micros

E = "2025-01-01T00:00:00Z"
CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "6", E),  # 0.10 per replica-minute
        ServerlessPrice("chat", "0.20", "0.60", E, cached_input="0.05", batch_discount="0.5"),
    ]
)
#: Far below the trillionth of a dollar the ledger reports: continuous draws that do not
#: terminate are carried to 50 significant digits, so a draw cut in two may differ there.
ULP = Decimal("1e-40")


def endpoint(ident: str = "ep", *, max_replicas: int = 2) -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware="1x_g", max_replicas=max_replicas)


CHAT = ServerlessUsage("chat", model="chat")


def at(hhmm: str, day: str = "2025-11-03") -> str:
    """An instant, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC, on 3 November 2025 unless told."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


def plan(
    events: Sequence[Event],
    *,
    until: str = at("12:00"),
    balance: int | None = None,
    policies: Policies | None = None,
) -> Scenario:
    """The endpoint and the serverless model, with an account when ``balance`` is given."""
    resources: list[object] = [endpoint(), CHAT]
    if balance is not None:
        resources.append(Account(opening_balance=balance))
    return Scenario(
        resources=resources,  # type: ignore[arg-type]
        events=events,
        until=until,
        catalog=CATALOG,
        policies=policies if policies is not None else Policies(),
    )


# -- the replay of the written-out future ------------------------------------------------------


def merged_ledger(result: SimulationResult, cut: int) -> list[LedgerEntry]:
    """The ledger with each continuous draw that ends at ``cut`` merged into its resource's next.

    A forecast continues the replay from the state at ``cut``, which draws every running
    resource up to ``cut``: one more ledger entry per running resource than a one-piece
    replay has. Merging the two halves (amounts added, ``since`` of the first) gives the
    one-piece entry. Applied to both sides, so a draw that a one-piece replay also cuts
    at ``cut`` (an event there) is merged on both.
    """
    entries = list(result.ledger)
    dropped: set[int] = set()
    for index, entry in enumerate(entries):
        if not (entry.kind == "consumption" and entry.since_micros is not None):
            continue
        if entry.at_micros != cut:
            continue
        for later in range(index + 1, len(entries)):
            other = entries[later]
            if (
                other.kind == "consumption"
                and other.resource == entry.resource
                and other.since_micros == cut
            ):
                entries[later] = attrs.evolve(
                    other,
                    amount=EXACT_CONTEXT.add(entry.amount, other.amount),
                    from_credits=EXACT_CONTEXT.add(entry.from_credits, other.from_credits),
                    since_micros=entry.since_micros,
                )
                dropped.add(index)
                break
    return [entry for index, entry in enumerate(entries) if index not in dropped]


def balances_by_instant(entries: Sequence[LedgerEntry]) -> dict[int, Decimal]:
    """The balance after the last ledger entry at each instant."""
    return {entry.at_micros: entry.balance for entry in entries}


def paid_by_period(entries: Sequence[LedgerEntry]) -> dict[BillingPeriod, Decimal]:
    """What credits paid of each period's charges, over all resources (IN3)."""
    paid: dict[BillingPeriod, Decimal] = {}
    for entry in entries:
        part = EXACT_CONTEXT.add(entry.from_credits, entry.paid_debt)
        paid[entry.period] = EXACT_CONTEXT.add(paid.get(entry.period, Decimal(0)), part)
    return paid


def close(a: Decimal, b: Decimal) -> bool:
    return abs(EXACT_CONTEXT.subtract(a, b)) <= ULP


def assert_same_replay(got: SimulationResult, want: SimulationResult, cut: int) -> None:
    """Invoices, log, credits and balance are equal; the ledger is equal after merging at ``cut``.

    Ledger entries are compared field by field after :func:`merged_ledger`, amounts to
    :data:`ULP`; the balance after the last entry at each instant of the one-piece
    replay's ledger is compared too (the forecast's extra instant ``cut`` is left out).
    """
    assert [i.to_dict() for i in got.invoices] == [i.to_dict() for i in want.invoices]
    assert got.log == want.log
    assert got.credits == want.credits
    assert (got.balance is None) == (want.balance is None)
    if got.balance is not None and want.balance is not None:
        assert close(got.balance, want.balance)
    a, b = merged_ledger(got, cut), merged_ledger(want, cut)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.at_micros, x.kind, x.resource, x.note, x.since_micros) == (
            y.at_micros,
            y.kind,
            y.resource,
            y.note,
            y.since_micros,
        )
        assert close(x.amount, y.amount)
    # What credits paid, per billing period (what its invoice applies, IN3). Per entry or
    # per instant it can differ where the credits run out: draws are booked when a
    # resource's units change, in resource order, so which booking gets the last credits
    # depends on where the replay was cut.
    paid_a = paid_by_period(a)
    assert paid_a.keys() == paid_by_period(b).keys()
    for period, paid in paid_by_period(b).items():
        assert close(paid_a[period], paid), period
    # An entry's balance is the ledger's running sum, which depends on where draws were
    # booked; at every movement of credits everything running is booked first, so there
    # it is the account's true balance, and equal.
    split, whole = balances_by_instant(got.ledger), balances_by_instant(want.ledger)
    movements = {e.at_micros for e in want.ledger if e.kind != "consumption"}
    for when in movements:
        assert close(split[when], whole[when]), from_micros(when)


def check_written_out(outlook: Forecast) -> SimulationResult:
    """Assert the forecast's result is the replay of its written-out scenario; return that."""
    replay = outlook.scenario.run()
    assert_same_replay(outlook.result, replay, to_micros(outlook.at))
    return replay


def test_forecast_with_explicit_events_is_the_replay_of_its_written_out_scenario() -> None:
    """Explicit assumed events: the forecast is the replay of scenario + events to ``until`` (ledger compared after merging the draw cut at ``at``)."""
    history = plan(
        [
            Deploy(at("09:00"), "ep"),
            Requests(at("09:30"), "ep"),
            TokenUsage(at("10:00"), "chat", input_tokens=3_000_000, output_tokens=1_000_000),
        ],
        balance=500,
    )
    assumed = [
        ScaleReplicas(at("13:00:30"), "ep", 2),
        TokenUsage(at("14:00"), "chat", input_tokens=1_234_567, cached_input_tokens=89),
        Requests(at("15:00"), "ep", count=4),
        Purchase(at("18:00"), "account", Decimal(50)),
        ScaleReplicas(at("20:00:10"), "ep", 1),
        Stop(at("23:00:45"), "ep"),
    ]
    outlook = forecast(history, at=at("12:00"), until="2025-11-05T00:00:00Z", assume=assumed)
    assert outlook.assumed == tuple(assumed)
    assert outlook.scenario.until == instant("2025-11-05T00:00:00Z")
    assert set(assumed) <= set(outlook.scenario.events)
    replay = check_written_out(outlook)
    # The cut is real: the endpoint ran across 12:00, so the forecast drew it there.
    assert len(outlook.result.ledger) == len(replay.ledger) + 1
    # The first replica runs 09:00-23:00:45 (841 started minutes), the second, on its
    # own grid, 13:00:30-20:00:10 (420).
    line = outlook.result.invoice("2025-11").lines_for("ep")[0]
    assert line.quantity == 841 + 420
    assert outlook.history.invoices[0].lines_for("ep")[0].quantity == 180


def test_forecast_without_assumptions_is_the_original_replay() -> None:
    """Cut at any of its instants and forecast to its end, a scenario replays unchanged (ledger merged at the cut, balances compared at every ledger instant)."""
    whole = plan(
        [
            Deploy(at("09:00:13"), "ep"),
            TokenUsage(at("10:00"), "chat", input_tokens=1_000_001),
            ScaleReplicas(at("10:30:07"), "ep", 2),
            Stop(at("11:45:59"), "ep"),
        ],
        balance=40,
    )
    want = whole.run()
    for cut in (at("09:00:13"), at("10:00"), at("10:17:31.5"), at("11:45:59"), at("12:00")):
        outlook = forecast(whole, at=cut, until=whole.until)
        assert_same_replay(outlook.result, want, to_micros(instant(cut)))
        check_written_out(outlook)


@settings(max_examples=40)
@given(scenarios(max_events=8), st.integers(0, 10**6))
def test_property_forecast_from_any_instant_is_the_one_piece_replay(
    generated: Scenario, share: int
) -> None:
    """Any generated scenario, cut at any instant and forecast to its end with no assumptions, is its one-piece replay (ledger merged at the cut)."""
    whole = generated
    first, last = to_micros(generated.start), to_micros(whole.until)
    cut = from_micros(first + (last - first) * share // 10**6)
    outlook = forecast(whole, at=cut, until=whole.until)
    assert outlook.assumed == ()
    assert_same_replay(outlook.result, whole.run(), to_micros(cut))
    check_written_out(outlook)
    history = whole.run(until=cut)
    assert [i.to_dict() for i in outlook.history.invoices] == [
        i.to_dict() for i in history.invoices
    ]


# -- the runway ---------------------------------------------------------------------------------


def test_runway_exhausted_at_is_the_instant_the_one_piece_replay_logs() -> None:
    """The runway ends where the replay of the written-out scenario logs "credits exhausted", computed exactly.

    $100 and a $6/h endpoint from 09:00 down to the -$100 floor: 33 h 20 min, less the
    20 minutes a $2 token charge at 15:00 takes: 4 Nov 18:00.
    """
    history = plan([Deploy(at("09:00"), "ep")], balance=100)
    history = attrs.evolve(
        history, resources=[*history.resources[:-1], Account(opening_balance=100, linked_card=True)]
    )
    assumed = [TokenUsage(at("15:00"), "chat", input_tokens=10_000_000)]
    outlook = forecast(history, until="2025-11-06T00:00:00Z", assume=assumed)
    runway = outlook.runway
    assert runway is not None
    replay = check_written_out(outlook)
    exhausted = [e.at for e in replay.log if e.action == "credits exhausted"]
    assert exhausted == [runway.exhausted_at]
    assert runway.exhausted_at == instant("2025-11-04T18:00:00Z")
    assert runway.balance_at_start == Decimal(82)
    assert runway.balance_at_end == outlook.result.balance
    assert not runway.already_exhausted
    assert not runway.lasts_to_end
    assert runway.duration is not None
    assert runway.duration.in_seconds() == 30 * 3600
    assert [e.action for e in outlook.actions] == [
        "credits exhausted",
        "API access suspended",
        "stopped",
    ]
    assert outlook.alerts
    assert all(e.action == "alert" for e in outlook.alerts)
    assert runway.to_dict()["runway_seconds"] == str(30 * 3600)


def test_runway_exhaustion_at_a_microsecond_matches_the_log() -> None:
    """A crossing that is not on a whole second (rate 7/h) is the log's instant to the microsecond."""
    catalog = CATALOG.with_entries(HardwarePrice("1x_s", "7", E))
    ep = DedicatedEndpoint("ep", model="m", hardware="1x_s")
    history = Scenario(
        resources=[ep, Account(opening_balance=100)],
        events=[Deploy(at("09:00:00.000007"), "ep")],
        until=at("12:00"),
        catalog=catalog,
        policies=Policies.for_edition("2026"),
    )
    outlook = forecast(history, at=at("10:17:13.123457"), until="2025-11-05T00:00:00Z")
    runway = outlook.runway
    assert runway is not None
    replay = check_written_out(outlook)
    assert [e.at for e in replay.log if e.action == "credits exhausted"] == [runway.exhausted_at]
    # 100 / 7 h = 14 h 17 min 8.5714286 s after 09:00:00.000007, rounded up to the microsecond (CR2).
    assert runway.exhausted_at == instant("2025-11-03T23:17:08.571436Z")


def test_runway_is_zero_when_the_credits_ran_out_before_the_start() -> None:
    """Credits exhausted before the start: ``already_exhausted``, runway zero; a planned purchase restores them and nothing draws them."""
    history = plan(
        [Deploy(at("09:00"), "ep"), Purchase(at("20:00"), "account", Decimal(30))],
        until=at("20:00"),
        balance=50,
        policies=Policies.for_edition("2026"),
    )
    # Out at 17:20; the purchase at 20:00 restores, but the endpoint was stopped (CR8).
    outlook = forecast(history, at=at("18:00"), until="2025-11-04T12:00:00Z")
    runway = outlook.runway
    assert runway is not None
    assert runway.already_exhausted
    assert runway.duration is not None
    assert runway.duration.in_seconds() == 0
    assert runway.exhausted_at is None
    assert runway.balance_at_end == Decimal(30)
    check_written_out(outlook)


def test_runway_after_restoration_is_the_next_exhaustion() -> None:
    """Exhausted at the start, restored by a planned purchase, a restarted endpoint runs it out again."""
    history = plan(
        [Deploy(at("09:00"), "ep")],
        until=at("18:00"),
        balance=50,
        policies=Policies.for_edition("2026"),
    )
    assumed = [Purchase(at("20:00"), "account", Decimal(30)), Start(at("20:00"), "ep")]
    outlook = forecast(history, until="2025-11-04T12:00:00Z", assume=assumed)
    runway = outlook.runway
    assert runway is not None
    assert runway.already_exhausted
    # $30 at $6/h from 20:00: out at 01:00 the next day.
    assert runway.exhausted_at == instant("2025-11-04T01:00:00Z")
    replay = check_written_out(outlook)
    assert [e.at for e in replay.log if e.action == "credits exhausted"][-1] == runway.exhausted_at


def test_runway_lasts_to_the_end_and_is_none_without_an_account() -> None:
    """Enough credits: no exhaustion instant; no Account: no runway at all."""
    funded = forecast(plan([Deploy(at("09:00"), "ep")], balance=10_000), until=at("23:00"))
    assert funded.runway is not None
    assert funded.runway.lasts_to_end
    assert funded.runway.duration is None
    assert funded.runway.balance_at_end == Decimal(10_000 - 6 * 14)
    unfunded = forecast(plan([Deploy(at("09:00"), "ep")]), until=at("23:00"))
    assert unfunded.runway is None
    assert unfunded.to_dict()["runway"] is None


# -- SteadyUsage ---------------------------------------------------------------------------------

WEEK_INPUT = 7 * 1_234_567 + 3
WEEK_OUTPUT = 2_000_003
WEEK_CACHED = 1_001
WEEK_BATCH = 999_999
WEEK_END = "2025-11-08T00:00:00Z"


def steady_history() -> Scenario:
    """A week of irregular use (1-8 Nov) by the serverless model, and requests to the endpoint."""
    events: list[Event] = [
        Deploy("2025-11-01T00:00:00Z", "ep"),
        TokenUsage(
            "2025-11-01T03:17:00Z",
            "chat",
            input_tokens=WEEK_INPUT - 7,
            output_tokens=WEEK_OUTPUT - 1,
            cached_input_tokens=WEEK_CACHED,
        ),
        # Records at the window's (closed) start and its (open) end, and inside it.
        TokenUsageBatch(
            "chat",
            ["2025-11-01T00:00:00Z", "2025-11-04T10:00:00Z", "2025-11-07T23:59:59Z", WEEK_END],
            [2, 4, 1, 10**9],
            [0, 0, 1, 10**9],
        ),
        TokenUsage("2025-11-06T12:00:00Z", "chat", output_tokens=WEEK_BATCH, batch=True),
        *(Requests(f"2025-11-0{day}T12:00:00Z", "ep", count=day) for day in range(1, 8)),
        # Outside the window: before it, and at its (open) end.
        TokenUsage("2025-10-31T23:00:00Z", "chat", input_tokens=10**9),
        TokenUsage(WEEK_END, "chat", input_tokens=10**9),
        Requests(WEEK_END, "ep", count=10**6),
    ]
    return Scenario(
        resources=[endpoint(), CHAT],
        events=events,
        start="2025-10-31T00:00:00Z",
        until="2025-11-08T00:00:00Z",
        catalog=CATALOG,
    )


def assumed_totals(events: Sequence[Event]) -> dict[tuple[str, bool], list[int]]:
    """Input, output and cached tokens per (serverless resource, batch); requests under (id, False)."""
    out: dict[tuple[str, bool], list[int]] = {}
    for event in events:
        found = out.setdefault((event.resource or "", getattr(event, "batch", False)), [0, 0, 0])
        if isinstance(event, TokenUsageBatch):
            found[0] += sum(event.input_tokens)
            found[1] += sum(event.output_tokens)
            found[2] += sum(event.cached_input_tokens or ())
        elif isinstance(event, Requests):
            found[0] += event.count
    return out


def test_steady_usage_repeats_the_window_exactly_over_the_same_span() -> None:
    """Seven days of N tokens give exactly N tokens over the next seven days, kept apart by kind."""
    outlook = forecast(
        steady_history(),
        at="2025-11-08T00:00:00Z",
        until="2025-11-15T00:00:00Z",
        assume=SteadyUsage(),
    )
    totals = assumed_totals(outlook.assumed)
    assert totals == {
        ("chat", False): [WEEK_INPUT, WEEK_OUTPUT, WEEK_CACHED],
        ("chat", True): [0, WEEK_BATCH, 0],
        ("ep", False): [sum(range(1, 8)), 0, 0],
    }
    check_written_out(outlook)

    def chat(result: SimulationResult) -> dict[str, Decimal]:
        lines = result.invoice("2025-11").lines_for("chat")
        return {line.description: line.quantity for line in lines}

    before, after = chat(outlook.history), chat(outlook.result)
    assert {d: after[d] - before.get(d, 0) for d in after} == {
        "chat input tokens": WEEK_INPUT - WEEK_CACHED,  # cached input is part of the input
        "chat output tokens": WEEK_OUTPUT,
        "chat cached input tokens": WEEK_CACHED,
        "chat batch output tokens (50% batch discount)": WEEK_BATCH,
    }


def test_steady_usage_running_total_is_the_floor_of_the_rate_times_elapsed_time() -> None:
    """At every assumed record, the running total is floor(N x elapsed / window); records every step, the last at until."""
    until = "2025-11-11T12:00:00Z"  # half the window
    outlook = forecast(
        steady_history(),
        at="2025-11-08T00:00:00Z",
        until=until,
        assume=SteadyUsage(step_minutes=45),
    )
    start = to_micros(instant("2025-11-08T00:00:00Z"))
    window = 7 * 24 * 60 * MICROS_PER_MINUTE
    (plain,) = [
        e
        for e in outlook.assumed
        if isinstance(e, TokenUsageBatch) and e.resource == "chat" and not e.batch
    ]
    running = 0
    for when, tokens in zip(plain.at_micros, plain.input_tokens, strict=True):
        running += tokens
        assert running == WEEK_INPUT * (when - start) // window
        assert (when - start) % (45 * MICROS_PER_MINUTE) == 0 or when == to_micros(instant(until))
    assert plain.at_micros[-1] == to_micros(instant(until))
    assert running == WEEK_INPUT // 2
    assert sum(plain.output_tokens) == WEEK_OUTPUT // 2
    requests = [e for e in outlook.assumed if isinstance(e, Requests)]
    assert sum(e.count for e in requests) == 28 // 2
    assert all(start < to_micros(e.at) <= to_micros(instant(until)) for e in requests)
    check_written_out(outlook)


def test_steady_usage_explicit_window_and_running_deployments_only() -> None:
    """An explicit window is used as given; a deployment stopped at the start gets no requests."""
    history = steady_history()
    stopped = attrs.evolve(history, events=(*history.events, Stop("2025-11-07T18:00:00Z", "ep")))
    window = SteadyUsage(window_start="2025-11-04T00:00:00Z", window_end="2025-11-07T00:00:00Z")
    outlook = forecast(
        stopped, at="2025-11-08T00:00:00Z", until="2025-11-11T00:00:00Z", assume=window
    )
    totals = assumed_totals(outlook.assumed)
    # In [4 Nov, 7 Nov): 4 input and 0 output tokens, the batch use, requests 4+5+6 (dropped).
    assert totals == {("chat", False): [4, 0, 0], ("chat", True): [0, WEEK_BATCH, 0]}
    check_written_out(outlook)


def test_steady_usage_window_errors_name_the_field() -> None:
    """An empty window, or one ending after the forecast's start, is rejected naming ``window``."""
    history = steady_history()
    for window in (
        SteadyUsage(window_start="2025-11-05T00:00:00Z", window_end="2025-11-05T00:00:00Z"),
        SteadyUsage(window_start="2025-11-06T00:00:00Z", window_end="2025-11-05T00:00:00Z"),
        SteadyUsage(window_end="2025-11-08T00:00:01Z"),
    ):
        with pytest.raises(InvalidArgument) as info:
            forecast(history, assume=window)
        assert info.value.field == "window"
        assert "SteadyUsage" in str(info.value)
    for name in ("window_days", "step_minutes"):
        with pytest.raises(InvalidArgument) as bad:
            SteadyUsage(**{name: 0})
        assert bad.value.field == name


# -- defaults and errors ------------------------------------------------------------------------


def test_forecast_defaults_to_the_scenario_end_and_the_open_period_end() -> None:
    """Default ``at`` is the scenario's ``until``; default ``until`` is the end of the billing period containing it."""
    history = plan([Deploy(at("09:00"), "ep")])
    outlook = forecast(history)
    assert outlook.at == history.until
    assert outlook.until == instant("2025-12-01T00:00:00Z")
    assert outlook.open_period.label == "2025-11"
    assert outlook.open_invoice.status.value == "final"
    assert outlook.next_invoices == ()
    # Left running: every minute to the end of November is billed (nothing assumed).
    minutes = (instant("2025-12-01T00:00:00Z") - instant(at("09:00"))).in_minutes()
    assert outlook.open_invoice.lines_for("ep")[0].quantity == minutes
    december = forecast(history, until="2026-01-01T00:00:00Z")
    assert [i.period.label for i in december.next_invoices] == ["2025-12"]
    assert december.next_invoices[0].total.amount == Decimal("0.10") * 31 * 24 * 60
    data = december.to_dict()
    json.dumps(data)
    assert data["total"] == str(sum(i.total.amount for i in december.invoices))


def test_forecast_log_is_what_happened_after_the_start() -> None:
    """``alerts`` and ``actions`` split the log after ``at``, which is the result's log past the history's."""
    outlook = forecast(plan([Deploy(at("09:00"), "ep")], balance=100), until="2025-11-06T00:00:00Z")
    assert outlook.log == outlook.result.log[len(outlook.history.log) :]
    assert all(entry.at >= outlook.at for entry in outlook.log)
    assert sorted(outlook.alerts + outlook.actions, key=outlook.log.index) == list(outlook.log)
    assert outlook.history.log == plan([Deploy(at("09:00"), "ep")], balance=100).run().log


def test_forecast_errors_name_the_field() -> None:
    """``until`` before ``at``, and ``at`` after the scenario's ``until``, raise naming the field."""
    history = plan([Deploy(at("09:00"), "ep")])
    with pytest.raises(InvalidArgument) as early:
        forecast(history, at=at("11:00"), until=at("10:59:59"))
    assert early.value.field == "until"
    with pytest.raises(InvalidArgument) as late:
        forecast(history, at=at("12:00:00.000001"))
    assert late.value.field == "at"
    with pytest.raises(InvalidArgument) as naive:
        forecast(history, at="2025-11-03T10:00:00")
    assert naive.value.field == "at"
