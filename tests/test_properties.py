"""Property-based tests of the replay (Hypothesis): invariants over generated timelines.

The strategies below build small valid timelines for one dedicated endpoint, one
fine-tuned hosting deployment and one serverless resource over four days around
the October/November 2025 month boundary, with a few price changes.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Catalog,
    Category,
    DedicatedEndpoint,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    FineTunedHosting,
    HardwarePrice,
    PriceChange,
    Ready,
    Requests,
    Resource,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    Start,
    Stop,
    TokenUsage,
    TokenUsageBatch,
)
from together_billing.money import EXACT_CONTEXT
from together_billing.time import MICROS_PER_MINUTE, from_micros, to_micros

E = "2025-01-01T00:00:00Z"
SPAN_START = to_micros(from_micros(0).add(years=55, months=9, days=29))  # 2025-10-30T00:00Z
assert from_micros(SPAN_START).isoformat() == "2025-10-30T00:00:00+00:00"
SPAN = 4 * 24 * 60 * MICROS_PER_MINUTE
UNTIL = SPAN_START + SPAN
CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "5.49", E),
        HardwarePrice("1x_h", "3.99", E),
        ServerlessPrice("chat", "0.30", "1.20", E, cached_input="0.06", batch_discount="0.5"),
        ServerlessPrice("plain", "0.88", "0.88", E),
    ]
)
SIM = Simulator(CATALOG)
SERVERLESS = (ServerlessUsage("s", model="chat"), ServerlessUsage("p", model="plain"))


def instants(*, min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[list[int]]:
    """Sorted distinct instants (microseconds) in the span, mostly on whole seconds."""
    offset = st.one_of(
        st.integers(0, SPAN // 1_000_000 - 1).map(lambda s: s * 1_000_000),
        st.integers(0, SPAN - 1),
    )
    return st.lists(offset, min_size=min_size, max_size=max_size, unique=True).map(
        lambda xs: sorted(SPAN_START + x for x in xs)
    )


@st.composite
def lifecycles(draw: st.DrawFn, resource: DedicatedEndpoint | FineTunedHosting) -> list[Event]:
    """A valid lifecycle of one deployment, whatever its idle timeout does.

    Replica changes are only drawn when the idle auto-stop cannot interfere.
    """
    rid = resource.id
    can_scale = resource.inactive_timeout_minutes is None  # no idle auto-stop
    state = "new"
    events: list[Event] = []
    for micros in draw(instants(max_size=10)):
        at = from_micros(micros)
        if state == "new":
            ready = draw(st.booleans())
            events.append(Deploy(at, rid, ready=ready))
            state = "running" if ready else "provisioning"
        elif state == "provisioning":
            choice = draw(st.sampled_from(["ready", "failed", "stop"]))
            events.append({"ready": Ready, "failed": DeployFailed, "stop": Stop}[choice](at, rid))
            state = {"ready": "running", "failed": "failed", "stop": "stopped"}[choice]
        elif state == "running":
            choice = draw(
                st.sampled_from(
                    ["stop", "requests", "scale"] if can_scale else ["stop", "requests"]
                )
            )
            if choice == "stop":
                events.append(Stop(at, rid))
                state = "stopped"
            elif choice == "requests":
                events.append(Requests(at, rid, count=draw(st.integers(1, 5))))
            else:
                events.append(
                    ScaleReplicas(at, rid, replicas=draw(st.integers(0, resource.max_replicas)))
                )
        elif state == "stopped":
            if draw(st.booleans()):
                ready = draw(st.booleans())
                events.append(Start(at, rid, ready=ready))
                state = "running" if ready else "provisioning"
            else:
                events.append(Delete(at, rid))
                state = "deleted"
        elif state == "failed":
            events.append(Delete(at, rid))
            state = "deleted"
    return events


def endpoints() -> st.SearchStrategy[DedicatedEndpoint]:
    return st.builds(
        DedicatedEndpoint,
        st.just("ep"),
        model=st.just("m"),
        hardware=st.sampled_from(["1x_g", "2x_g"]),
        min_replicas=st.just(1),
        max_replicas=st.integers(1, 3),
        inactive_timeout_minutes=st.sampled_from([None, None, 7, 90]),
    )


def hostings() -> st.SearchStrategy[FineTunedHosting]:
    return st.builds(FineTunedHosting, st.just("h"), model=st.just("ft"), hardware=st.just("1x_h"))


@st.composite
def token_usages(draw: st.DrawFn, *, max_size: int = 6) -> list[TokenUsage]:
    """Token usage records on the two serverless resources."""
    records = []
    for micros in draw(instants(max_size=max_size)):
        total = draw(st.integers(0, 3_000_000))
        records.append(
            TokenUsage(
                from_micros(micros),
                draw(st.sampled_from(["s", "p"])),
                input_tokens=total,
                output_tokens=draw(st.integers(0, 2_000_000)),
                cached_input_tokens=draw(st.integers(0, total)),
                batch=draw(st.booleans()),
            )
        )
    return records


@st.composite
def price_changes(draw: st.DrawFn) -> list[PriceChange]:
    """A few hardware and serverless price changes inside the span."""
    rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(20), places=2)
    changes = [
        PriceChange(HardwarePrice("1x_g", draw(rates), from_micros(micros)))
        for micros in draw(instants(max_size=2))
    ]
    for micros in draw(instants(max_size=2)):
        cached = draw(st.none() | rates)
        changes.append(
            PriceChange(
                ServerlessPrice(
                    "chat",
                    draw(rates),
                    draw(rates),
                    from_micros(micros),
                    cached_input=cached,
                )
            )
        )
    return changes


@st.composite
def scenarios(draw: st.DrawFn, *, serverless: bool = True) -> tuple[list[Resource], list[Event]]:
    """Resources and events of a small account."""
    endpoint = draw(endpoints())
    hosting = draw(hostings())
    events: list[Event] = [
        *draw(lifecycles(endpoint)),
        *draw(lifecycles(hosting)),
        *draw(price_changes()),
    ]
    if serverless:
        events.extend(draw(token_usages()))
    return [endpoint, hosting, *SERVERLESS], events


def replay(resources: list[Resource], events: list[Event]) -> SimulationResult:
    return SIM.run(resources, events, start=from_micros(SPAN_START), until=from_micros(UNTIL))


def as_json(result: SimulationResult) -> str:
    return json.dumps(result.to_dict(), sort_keys=True)


@given(scenarios())
def test_invoice_total_is_sum_of_rounded_lines(
    scenario: tuple[list[Resource], list[Event]],
) -> None:
    """Every invoice totals its lines' amounts; each amount is within half a cent of amount_exact."""
    result = replay(*scenario)
    assert [i.period.label for i in result.invoices] == ["2025-10", "2025-11"]
    for invoice in result.invoices:
        assert invoice.total.amount == sum((line.amount for line in invoice.lines), Decimal(0))
        for line in invoice.lines:
            assert abs(line.amount - line.amount_exact) <= Decimal("0.005")
            assert line.amount == line.amount.quantize(Decimal("0.01"))
            exact = EXACT_CONTEXT.divide(
                EXACT_CONTEXT.multiply(line.quantity, line.rate), line.rate_per
            )
            assert line.amount_exact == exact


@given(st.data())
def test_input_order_never_matters(data: st.DataObject) -> None:
    """Any permutation of the events (and resources), with a batch mixed in, gives identical to_dict()."""
    resources, events = data.draw(scenarios())
    times = data.draw(instants(min_size=1, max_size=4))
    events = [
        *events,
        TokenUsageBatch("s", times, [10] * len(times), [20] * len(times), [5] * len(times)),
    ]
    shuffled = data.draw(st.permutations(events))
    shuffled_resources = data.draw(st.permutations(resources))
    assert as_json(replay(shuffled_resources, shuffled)) == as_json(replay(resources, events))


@given(scenarios(), st.integers(0, SPAN))
def test_splitting_a_replay_changes_nothing(
    scenario: tuple[list[Resource], list[Event]], offset: int
) -> None:
    """Replaying to any instant t, then continuing from the state with the rest, equals one replay."""
    resources, events = scenario
    cut = SPAN_START + offset
    before = [e for e in events if to_micros(e.at) <= cut]
    after = [e for e in events if to_micros(e.at) > cut]
    whole = replay(resources, events)
    first = SIM.run(resources, before, start=from_micros(SPAN_START), until=from_micros(cut))
    rest = SIM.run([], after, until=from_micros(UNTIL), state=first.state)
    assert rest.to_dict()["invoices"] == whole.to_dict()["invoices"]
    assert rest.to_dict()["log"] == whole.to_dict()["log"]


@given(scenarios(serverless=False))
def test_no_serverless_usage_no_serverless_charge(
    scenario: tuple[list[Resource], list[Event]],
) -> None:
    """Without token usage there are no serverless lines and the serverless subtotal is zero."""
    result = replay(*scenario)
    for invoice in result.invoices:
        assert all(line.category is not Category.SERVERLESS for line in invoice.lines)
        assert invoice.subtotals().get(Category.SERVERLESS, 0) == 0
        assert invoice.by_group().get("usage", 0) == 0


@given(
    st.sampled_from(["hosting", "endpoint"]),
    instants(min_size=1, max_size=2),
    st.lists(st.integers(0, SPAN - 1), max_size=5),
)
def test_idle_deployment_costs_rate_times_started_minutes(
    kind: str, bounds: list[int], request_offsets: list[int]
) -> None:
    """A hosted model (or endpoint without auto-stop) costs rate x started minutes, requests or not."""
    if kind == "hosting":
        resource: Resource = FineTunedHosting("d", model="ft", hardware="1x_g")
    else:
        resource = DedicatedEndpoint("d", model="m", hardware="1x_g")
    start = bounds[0]
    end = bounds[1] if len(bounds) == 2 else UNTIL
    lifecycle: list[Event] = [Deploy(from_micros(start), "d")]
    if len(bounds) == 2:
        lifecycle.append(Stop(from_micros(end), "d"))
    requests = [
        Requests(from_micros(start + o % max(end - start, 1)), "d") for o in request_offsets
    ]
    started_minutes = -(-(end - start) // MICROS_PER_MINUTE)
    expected = Decimal("5.49") * started_minutes / 60
    idle, busy = replay([resource], lifecycle), replay([resource], lifecycle + requests)
    for result in (idle, busy):
        assert sum(line.quantity for line in result.lines) == started_minutes
        assert sum(line.amount_exact for line in result.lines) == expected
    assert busy.to_dict()["invoices"] == idle.to_dict()["invoices"]


@given(scenarios(), token_usages(max_size=1).filter(bool))
def test_more_usage_never_costs_less(
    scenario: tuple[list[Resource], list[Event]], extra: list[TokenUsage]
) -> None:
    """Adding a TokenUsage record never lowers any invoice's total."""
    resources, events = scenario
    base = replay(resources, events)
    more = replay(resources, [*events, *extra])
    assert more.total >= base.total
    for a, b in zip(base.invoices, more.invoices, strict=True):
        assert b.total >= a.total


@given(token_usages(max_size=6).filter(bool), price_changes(), st.data())
def test_batch_bills_like_single_records(
    records: list[TokenUsage], changes: list[PriceChange], data: st.DataObject
) -> None:
    """A TokenUsageBatch bills the same quantities and amounts as its single records, price changes included."""
    chat = [r for r in records if r.resource == "s"] or [
        TokenUsage(records[0].at, "s", input_tokens=1)
    ]
    batch_flag = data.draw(st.booleans())
    batch = TokenUsageBatch(
        "s",
        [r.at for r in chat],
        [r.input_tokens for r in chat],
        [r.output_tokens for r in chat],
        [r.cached_input_tokens for r in chat],
        batch=batch_flag,
    )
    others = [r for r in records if r.resource != "s"]
    with_batch = replay(list(SERVERLESS), [batch, *others, *changes])
    with_records = replay(list(SERVERLESS), [*batch.records(), *others, *changes])

    def summary(result: SimulationResult) -> list[list[tuple[str, str, Decimal, Decimal]]]:
        return [
            sorted(
                (line.resource, line.description, line.quantity, line.amount_exact)
                for line in invoice.lines
            )
            for invoice in result.invoices
        ]

    assert summary(with_batch) == summary(with_records)
    assert with_batch.total == with_records.total
