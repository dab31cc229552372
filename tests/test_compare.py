"""What-if forks, comparisons and break-even points (:mod:`together_billing.compare`).

Forks are checked by replaying them: a fork with no changes diffs to nothing, and
each change bills what it says from the fork's instant. The break-even figures are
checked against direct replays on both sides of the point, with the default catalog
(H100 SXM endpoints at $3.99 an hour, H100_SXM clusters at $2.99 reserved and $3.49
on demand per GPU-hour). Other tests use user prices built here: an endpoint at $6
per replica-hour (0.10 per minute), a serverless model at 0.20 / 0.60 USD per 1M
input / output tokens, clusters at $2 reserved and $3 on demand per GPU-hour.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from together_billing import (
    Account,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Delete,
    Deploy,
    Event,
    HardwarePrice,
    InstantCluster,
    InvalidArgument,
    Money,
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
    default_catalog,
    instant,
)
from together_billing.compare import (
    AddEvents,
    DropEvents,
    MoveToServerless,
    ReplaceResource,
    ScaleTo,
    StopResource,
    compare,
    dedicated_vs_serverless,
    fork,
    reservation_vs_on_demand,
)
from together_billing.money import EXACT_CONTEXT, round_to_cents
from together_billing.scenario import Scenario
from together_billing.strategies import scenarios
from together_billing.time import MICROS_PER_HOUR, MICROS_PER_MINUTE, from_micros, to_micros

E = "2025-01-01T00:00:00Z"
CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "6", E),  # 0.10 per replica-minute
        ServerlessPrice("chat", "0.20", "0.60", E),
        ClusterPrice("G", "reserved", "2", E),
        ClusterPrice("G", "on-demand", "3", E),
    ]
)


def at(hhmm: str, day: str = "2025-11-03") -> str:
    """An instant, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC, on 3 November 2025 unless told."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


def endpoint(ident: str = "ep") -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware="1x_g", max_replicas=2)


def busy() -> Scenario:
    """An endpoint with requests, a scale-up and a Delete; serverless use; an account."""
    return Scenario(
        resources=[endpoint(), ServerlessUsage("chat", model="chat"), Account(opening_balance=500)],
        events=[
            Deploy(at("09:00"), "ep"),
            Requests(at("10:30"), "ep", count=3),
            ScaleReplicas(at("11:00"), "ep", 2),
            TokenUsage(at("11:30"), "chat", input_tokens=2_000_000),
            Requests(at("12:00"), "ep"),
            Delete(at("14:00"), "ep"),
        ],
        until=at("16:00"),
        catalog=CATALOG,
    )


def last_instant(event: Event) -> pendulum.DateTime:
    """The instant of an event's last record."""
    if isinstance(event, TokenUsageBatch):
        return from_micros(event.at_micros[-1])
    return event.at


def billed(result: SimulationResult, resource: str) -> Decimal:
    return sum((line.amount for line in result.lines if line.resource == resource), Decimal(0))


def quantity(result: SimulationResult, resource: str, rule: str) -> Decimal:
    return sum(
        (line.quantity for line in result.lines if line.resource == resource and line.rule == rule),
        Decimal(0),
    )


# -- a fork with no changes ------------------------------------------------------------------------


def test_fork_without_changes_diffs_to_nothing() -> None:
    """At any instant, including the start and the end, a fork with no changes compares empty."""
    scenario = busy()
    for when in (at("09:00"), at("10:30"), at("11:17:41.5"), at("16:00")):
        forked = fork(scenario, when)
        assert forked == scenario
        diff = compare(scenario, forked)
        assert diff.is_empty
        assert diff.changes == diff.log_added == diff.log_removed == ()
        assert diff.delta == Money.zero()
        assert "none" in diff.text()
        assert compare(scenario.run(), forked).is_empty


@settings(max_examples=30)
@given(scenarios(max_events=8), st.integers(0, 10**6))
def test_property_fork_without_changes_diffs_to_nothing(generated: Scenario, share: int) -> None:
    """Any generated scenario forked at any instant with no changes (or only no-op ones) compares empty."""
    scenario = generated
    first, last = to_micros(generated.start), to_micros(generated.until)
    when = from_micros(first + (last - first) * share // 10**6)
    assert compare(scenario, fork(scenario, when)).is_empty
    # Dropping the later events of resources that have none, and adding nothing, changes nothing.
    done = [
        r.id
        for r in scenario.resources
        if not isinstance(r, Account)
        and all(last_instant(e) < when for e in scenario.events if e.resource == r.id)
    ]
    no_ops = [DropEvents(ident) for ident in done]
    assert compare(scenario, fork(scenario, when, AddEvents(()), *no_ops)).is_empty


def test_compare_reports_changed_lines_totals_and_log() -> None:
    """A changed scenario: changed lines with their deltas, per-period totals, log differences."""
    scenario = busy()
    diff = compare(scenario, fork(scenario, at("10:00"), StopResource("ep")))
    assert not diff.is_empty
    (change,) = diff.changes
    assert (change.period, change.resource) == ("2025-11", "ep")
    assert change.before is not None
    assert change.after is not None
    # Before: 300 minutes at one replica and 180 at two; after: 60 minutes.
    assert (change.before.quantity, change.after.quantity) == (480, 60)
    assert change.delta == Decimal("-42.00")
    assert diff.delta == Money("-42.00")
    assert diff.totals == {"2025-11": (Money("48.40"), Money("6.40"))}
    assert [(e.resource, e.action) for e in diff.log_removed] == [("ep", "replicas changed")]
    assert [(e.at, e.resource, e.action) for e in diff.log_added] == [
        (instant(at("10:00")), "ep", "stopped")
    ]
    text = diff.text()
    assert "-$42.00" in text
    assert "+ 2025-11-03T10:00:00+00:00 ep stopped" in text
    data = diff.to_dict()
    json.dumps(data)
    assert data["delta"] == "-42.00"
    assert data["changes"][0]["delta"] == "-42.00"


# -- each change does what it says ----------------------------------------------------------------


def test_stop_resource_stops_billing_and_keeps_a_later_delete() -> None:
    """StopResource: billing ends at the fork's instant, later requests and scaling go, the Delete stays."""
    forked = fork(busy(), at("10:00"), StopResource("ep"))
    ep_events = [(type(e).__name__, e.at) for e in forked.events if e.resource == "ep"]
    assert ep_events == [
        ("Deploy", instant(at("09:00"))),
        ("Stop", instant(at("10:00"))),
        ("Delete", instant(at("14:00"))),
    ]
    result = forked.run()
    assert quantity(result, "ep", "DE1") == 60
    assert [(e.at, e.action) for e in result.log if e.resource == "ep"] == [
        (instant(at("09:00")), "deployed"),
        (instant(at("10:00")), "stopped"),
        (instant(at("14:00")), "deleted"),
    ]
    # The serverless use is untouched.
    assert billed(result, "chat") == billed(busy().run(), "chat") == Decimal("0.40")


def test_stop_resource_on_a_stopped_deployment_only_drops_its_later_events() -> None:
    """A deployment already stopped at the fork gets no second Stop; its later Start is dropped."""
    scenario = Scenario(
        resources=[endpoint()],
        events=[
            Deploy(at("09:00"), "ep"),
            Stop(at("10:00"), "ep"),
            Start(at("11:00"), "ep"),
            Stop(at("12:00"), "ep"),
        ],
        until=at("13:00"),
        catalog=CATALOG,
    )
    forked = fork(scenario, at("10:30"), StopResource("ep"))
    assert [type(e).__name__ for e in forked.events] == ["Deploy", "Stop"]
    assert quantity(forked.run(), "ep", "DE1") == 60
    assert compare(scenario, forked).delta == Money("-6.00")


def test_scale_to_zero_bills_nothing_after_the_fork() -> None:
    """ScaleTo(..., 0): no replica bills after the instant; the later scale-up is dropped."""
    forked = fork(busy(), at("10:00:30"), ScaleTo("ep", 0))
    result = forked.run()
    (line,) = [line for line in result.lines if line.resource == "ep"]
    assert line.quantity == 61  # 09:00 to 10:00:30: 61 started minutes
    assert line.interval.end <= instant(at("10:01"))
    assert [e for e in forked.events if isinstance(e, ScaleReplicas)] == [
        ScaleReplicas(at("10:00:30"), "ep", 0)
    ]


def test_scale_to_two_holds_the_count_until_the_delete() -> None:
    """ScaleTo(..., 2) at 10:00: two replicas from 10:00 to the Delete at 14:00."""
    result = fork(busy(), at("10:00"), ScaleTo("ep", 2)).run()
    assert quantity(result, "ep", "DE1") == 60 + 2 * 240


def test_move_to_serverless_bills_the_moved_requests_at_the_serverless_rate() -> None:
    """MoveToServerless: the endpoint stops; each later request is billed as tokens of the model."""
    change = MoveToServerless("ep", model="chat", input_tokens=250_000, output_tokens=125_000)
    forked = fork(busy(), at("10:30"), change)
    assert forked.resource("ep-serverless") == ServerlessUsage("ep-serverless", model="chat")
    result = forked.run()
    assert quantity(result, "ep", "DE1") == 90
    moved = {line.description: line for line in result.lines if line.resource == "ep-serverless"}
    price = CATALOG.serverless("chat", instant(at("10:30")))
    # Four requests from 10:30 on (3 at the fork's instant, 1 at 12:00).
    assert {d: (line.quantity, line.rate) for d, line in moved.items()} == {
        "chat input tokens": (Decimal(1_000_000), price.input),
        "chat output tokens": (Decimal(500_000), price.output),
    }
    assert billed(result, "ep-serverless") == Decimal("0.50")
    diff = compare(busy(), forked)
    assert {c.resource for c in diff.changes} == {"ep", "ep-serverless"}
    named = fork(
        busy(), at("10:00"), MoveToServerless("ep", "chat", 1, 1, serverless_id="elsewhere")
    )
    assert named.resource("elsewhere").model == "chat"  # type: ignore[union-attr]


def test_move_to_serverless_rejects_negative_tokens() -> None:
    """Tokens per request must be whole numbers >= 0, named in the error."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("10:00"), MoveToServerless("ep", "chat", -1, 0))
    assert info.value.field == "input_tokens"


def test_replace_reserved_cluster_by_on_demand() -> None:
    """ReplaceResource: a 2-day reservation deleted after a day costs 768; on demand, that day costs 576."""
    reserved = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    scenario = Scenario(
        resources=[reserved],
        events=[Deploy(at("09:00"), "c"), Delete(at("09:00", "2025-11-04"), "c")],
        until="2025-11-06T00:00:00Z",
        catalog=CATALOG,
    )
    on_demand = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    forked = fork(scenario, at("09:00"), ReplaceResource(on_demand))
    assert forked.resource("c") == on_demand
    diff = compare(scenario, forked)
    assert {
        (c.before.rule if c.before else None, c.after.rule if c.after else None)
        for c in diff.changes
    } == {
        ("CL2", None),
        (None, "CL4"),
    }
    assert diff.totals == {"2025-11": (Money("768.00"), Money("576.00"))}
    assert diff.delta == Money("-192.00")


def test_compare_sees_a_line_that_moved_at_the_same_amount() -> None:
    """An hour billed at another time is a change, though the amount is the same."""
    early = Scenario(
        resources=[endpoint()],
        events=[Deploy(at("09:00"), "ep"), Stop(at("10:00"), "ep")],
        until=at("16:00"),
        catalog=CATALOG,
    )
    late = fork(
        early,
        at("09:00"),
        DropEvents("ep"),
        AddEvents([Deploy(at("11:00"), "ep"), Stop(at("12:00"), "ep")]),
    )
    diff = compare(early, late)
    (change,) = diff.changes
    assert change.delta == 0
    assert change.before is not None
    assert change.after is not None
    assert change.before.interval.start == instant(at("09:00"))
    assert change.after.interval.start == instant(at("11:00"))
    assert diff.delta == Money.zero()
    assert not diff.is_empty


def test_add_and_drop_events() -> None:
    """AddEvents adds events from the fork on; DropEvents drops a resource's later events of the kinds given."""
    scenario = busy()
    added = fork(
        scenario, at("15:00"), AddEvents([TokenUsage(at("15:00"), "chat", output_tokens=10**6)])
    )
    assert compare(scenario, added).delta == Money("0.60")
    dropped = fork(scenario, at("10:00"), DropEvents("ep", (ScaleReplicas,)))
    assert [type(e).__name__ for e in dropped.events if e.resource == "ep"] == [
        "Deploy",
        "Requests",
        "Requests",
        "Delete",
    ]
    assert compare(scenario, dropped).delta == Money("-18.00")


def test_drop_events_cuts_a_batch_that_spans_the_fork() -> None:
    """DropEvents drops the records of a usage batch from the fork's instant on, keeping the earlier ones."""
    scenario = Scenario(
        resources=[ServerlessUsage("chat", model="chat")],
        events=[
            TokenUsageBatch("chat", [at("09:00"), at("10:00"), at("11:00")], [10**6] * 3, [0] * 3)
        ],
        until=at("12:00"),
        catalog=CATALOG,
    )
    forked = fork(scenario, at("10:00"), DropEvents("chat"))
    (batch,) = forked.events
    assert isinstance(batch, TokenUsageBatch)
    assert batch.at_micros == (to_micros(instant(at("09:00"))),)
    assert compare(scenario, forked).delta == Money("-0.40")
    # Of another kind than the one named, the batch is kept whole.
    assert fork(scenario, at("10:00"), DropEvents("chat", (TokenUsage,))) == scenario


# -- clear errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [StopResource("nope"), ScaleTo("nope", 1), MoveToServerless("nope", "chat", 1, 1)],
    ids=["StopResource", "ScaleTo", "MoveToServerless"],
)
def test_changes_reject_an_unknown_resource(change: object) -> None:
    """A change naming no resource of the scenario raises naming ``resource``, the value and the known ids."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("10:00"), change)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == ("resource", "nope")
    assert "'ep'" in info.value.expected


def test_replace_and_drop_reject_an_unknown_resource() -> None:
    """ReplaceResource and DropEvents of an id the scenario does not have raise naming ``resource``."""
    for change in (ReplaceResource(endpoint("nope")), DropEvents("nope")):
        with pytest.raises(InvalidArgument) as info:
            fork(busy(), at("10:00"), change)
        assert (info.value.field, info.value.value) == ("resource", "nope")


def test_deployment_changes_reject_other_kinds_of_resource() -> None:
    """StopResource of a serverless resource raises naming its kind."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("10:00"), StopResource("chat"))
    assert info.value.field == "resource"
    assert "ServerlessUsage" in info.value.expected


def test_scale_to_rejects_a_stopped_deployment() -> None:
    """ScaleTo on a deployment not running at the fork raises, saying what it is."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("15:00"), ScaleTo("ep", 1))
    assert (info.value.field, info.value.value) == ("resource", "ep")
    assert "it is deleted" in info.value.expected
    with pytest.raises(InvalidArgument) as early:
        fork(busy(), at("09:00"), ScaleTo("ep", 1))  # deployed at 09:00: not yet running before it
    assert "it is" in early.value.expected


def test_add_events_rejects_events_before_the_fork() -> None:
    """AddEvents with an event before the fork's instant raises naming ``events``."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("10:00"), AddEvents([Purchase(at("09:59:59"), "account", Decimal(10))]))
    assert info.value.field == "events"
    assert "AddEvents" in str(info.value)


def test_fork_outside_the_scenario_is_rejected() -> None:
    """A fork after the scenario's until (or before its start) raises naming ``at``."""
    with pytest.raises(InvalidArgument) as info:
        fork(busy(), at("16:00:01"))
    assert info.value.field == "at"
    started = Scenario(
        resources=[endpoint()], events=[], start=at("09:00"), until=at("10:00"), catalog=CATALOG
    )
    with pytest.raises(InvalidArgument) as early:
        fork(started, at("08:59"))
    assert early.value.field == "at"


# -- break-even points, checked by replays ---------------------------------------------------------

AT = "2025-11-15T00:00:00Z"
MONTH_END = "2025-12-15T00:00:00Z"  # 30 days
H100 = "1x_nvidia_h100_80gb_sxm"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def month_of_endpoint(hardware: str, replicas: int) -> Decimal:
    """The replayed bill of an endpoint running a whole 30-day month (per-minute billing)."""
    ep = DedicatedEndpoint(
        "ep",
        model=LLAMA,
        hardware=hardware,
        min_replicas=replicas,
        max_replicas=replicas,
    )
    plan = Scenario(resources=[ep], events=[Deploy(AT, "ep")], until=MONTH_END)
    return plan.run().total.amount


def month_of_serverless(model: str, tokens_per_hour: Decimal, input_fraction: Decimal) -> Decimal:
    """The replayed bill of serverless use at ``tokens_per_hour``, one record an hour for 30 days."""
    volume = int(tokens_per_hour)
    inputs = int(volume * input_fraction)
    start = to_micros(instant(AT))
    hours = 30 * 24
    usage = TokenUsageBatch(
        "sl",
        [start + (h + 1) * MICROS_PER_HOUR - MICROS_PER_MINUTE for h in range(hours)],
        [inputs] * hours,
        [volume - inputs] * hours,
    )
    plan = Scenario(
        resources=[ServerlessUsage("sl", model=model)], events=[usage], start=AT, until=MONTH_END
    )
    return plan.run().total.amount


@pytest.mark.parametrize(
    ("model", "fraction", "replicas"),
    [
        (LLAMA, Decimal("0.75"), 1),
        ("openai/gpt-oss-120b", Decimal("0.75"), 1),
        ("openai/gpt-oss-120b", Decimal("0.2"), 2),
    ],
)
def test_dedicated_vs_serverless_break_even_against_replays(
    model: str, fraction: Decimal, replicas: int
) -> None:
    """Serverless at 0.9x the break-even volume is cheaper than a month of the endpoint, at 1.1x dearer; ``cheaper()`` agrees."""
    point = dedicated_vs_serverless(
        model=model,
        hardware=H100,
        replicas=replicas,
        input_fraction=fraction,
        at=AT,
        catalog=default_catalog(),
    )
    assert point.dedicated_per_hour == Decimal("3.99") * replicas
    dedicated = month_of_endpoint(H100, replicas)
    assert dedicated == point.dedicated_per_hour * 720
    below = point.tokens_per_hour * Decimal("0.9")
    above = point.tokens_per_hour * Decimal("1.1")
    assert month_of_serverless(model, below, fraction) < dedicated
    assert month_of_serverless(model, above, fraction) > dedicated
    assert point.cheaper(below) == "serverless"
    assert point.cheaper(above) == "dedicated"
    assert point.cheaper(point.tokens_per_hour) == "equal"
    # At the point itself the two bills agree to within the tokens' rounding and cents.
    at_point = month_of_serverless(model, point.tokens_per_hour, fraction)
    assert abs(at_point - dedicated) <= Decimal("0.05")
    assert point.tokens_per_month == point.tokens_per_hour * 720
    json.dumps(point.to_dict())


def test_llama_break_even_volume() -> None:
    """Llama 3.3 70B at 0.88 per 1M tokens against one H100 at 3.99/h: 4,534,090.9 tokens an hour."""
    point = dedicated_vs_serverless(model=LLAMA, hardware=H100, at=AT)
    assert point.serverless_per_million == Decimal("0.88")
    assert point.tokens_per_hour.quantize(Decimal("0.1")) == Decimal("4534090.9")


def cluster_bill(cluster: InstantCluster, events: list[Event]) -> Decimal:
    plan = Scenario(resources=[cluster], events=events, start=AT, until=MONTH_END)
    return plan.run().total.amount


def test_reservation_vs_on_demand_break_even_against_replays() -> None:
    """A 30-day reservation versus an on-demand cluster running u x 30 days: on demand is cheaper below the point, dearer above."""
    point = reservation_vs_on_demand(gpu_type="H100_SXM", at=AT, catalog=default_catalog())
    assert point.utilisation == EXACT_CONTEXT.divide(Decimal("2.99"), Decimal("3.49"))
    days = 30
    reserved = InstantCluster(
        "c", gpu_type="H100_SXM", billing="reserved", gpus=8, reserved_gpus=8, duration_days=days
    )
    reservation = cluster_bill(reserved, [Deploy(AT, "c")])
    assert reservation == 8 * days * 24 * Decimal("2.99")
    on_demand = InstantCluster("c", gpu_type="H100_SXM", billing="on-demand", gpus=8)
    for factor, cheaper in ((Decimal("0.9"), "on-demand"), (Decimal("1.1"), "reserved")):
        utilisation = point.utilisation * factor
        minutes = int(utilisation * days * 24 * 60)
        stop = instant(AT).add(minutes=minutes)
        bill = cluster_bill(on_demand, [Deploy(AT, "c"), Stop(stop, "c")])
        assert bill == round_to_cents(EXACT_CONTEXT.divide(8 * minutes * Decimal("3.49"), 60))
        assert (bill < reservation) == (cheaper == "on-demand")
        assert point.cheaper(utilisation) == cheaper
    assert point.cheaper(point.utilisation) == "equal"
    json.dumps(point.to_dict())


def test_break_even_errors_name_the_field() -> None:
    """Impossible arguments raise naming the field."""
    cases = [
        (
            lambda: dedicated_vs_serverless(model=LLAMA, hardware=H100, replicas=0, at=AT),
            "replicas",
        ),
        (
            lambda: dedicated_vs_serverless(
                model=LLAMA, hardware=H100, input_fraction="1.5", at=AT
            ),
            "input_fraction",
        ),
        (
            lambda: reservation_vs_on_demand(gpu_type="H100_SXM", at=AT).cheaper("1.01"),
            "utilisation",
        ),
    ]
    for call, field in cases:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert info.value.field == field
