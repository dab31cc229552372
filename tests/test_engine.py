"""The replay itself (:mod:`together_billing.engine`): validation, atomicity, continuation, determinism, metering, invoicing and the order of events."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tests.replays import (
    CATALOG,
    CHAT,
    EP0,
    NO_ALERTS,
    ON_DEMAND,
    E,
    at,
    endpoint,
    iso,
    log_of,
    run,
)

from together_billing import (
    Account,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Deploy,
    FineTuningJob,
    HardwarePrice,
    InstantCluster,
    InvalidArgument,
    InvalidTimeline,
    JobCompleted,
    LedgerEntry,
    MeteringGrain,
    Money,
    Policies,
    PriceChange,
    Requests,
    ResizeVolume,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    Simulator,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    TokenUsage,
    TokenUsageBatch,
    UnknownPrice,
    simulate,
)
from together_billing.money import EXACT_CONTEXT
from together_billing.time import instant, to_micros

EP = DedicatedEndpoint("ep", model="m", hardware="1x_g", max_replicas=2)
UNTIL = "2025-11-10T00:00:00Z"


def sim() -> Simulator:
    return Simulator(CATALOG)


class TestValidation:
    def test_bad_event_late_in_timeline_raises_with_details(self) -> None:
        """A bad event after many good ones raises InvalidTimeline naming the event, field, value and expectation."""
        bad = ScaleReplicas("2025-11-05T00:00:00Z", "ep", replicas=3)
        events = [
            Deploy("2025-11-01T00:00:00Z", "ep"),
            *(Requests(f"2025-11-0{d}T00:00:00Z", "ep") for d in range(2, 5)),
            bad,
        ]
        with pytest.raises(InvalidTimeline) as info:
            sim().run([EP], events, until=UNTIL)
        error = info.value
        assert error.event == bad
        assert (error.field, error.value) == ("replicas", 3)
        assert "max_replicas (2)" in error.expected
        assert "ScaleReplicas" in str(error)

    def test_unknown_resource(self) -> None:
        """An event for a resource not in the scenario names the id and the known ones."""
        event = Deploy("2025-11-01T00:00:00Z", "nope")
        with pytest.raises(InvalidTimeline) as info:
            sim().run([EP], [event], until=UNTIL)
        assert info.value.event is event
        assert (info.value.field, info.value.value) == ("resource", "nope")
        assert "'ep'" in info.value.expected

    @pytest.mark.parametrize(
        "event",
        [
            TokenUsage("2025-11-01T00:00:00Z", "ep", input_tokens=1),
            JobCompleted("2025-11-01T00:00:00Z", "ep"),
        ],
    )
    def test_event_kind_must_match_resource_kind(self, event: object) -> None:
        """Token usage or job events for an endpoint are rejected naming the expected kind."""
        with pytest.raises(InvalidTimeline) as info:
            sim().run([EP], [event], until=UNTIL)  # type: ignore[list-item]
        assert "DedicatedEndpoint" in info.value.expected

    def test_deployment_event_for_serverless_rejected(self) -> None:
        """A Deploy for a serverless resource is rejected."""
        with pytest.raises(InvalidTimeline) as info:
            sim().run([CHAT], [Deploy("2025-11-01T00:00:00Z", "s")], until=UNTIL)
        assert "ServerlessUsage" in info.value.expected

    def test_events_after_until_rejected(self) -> None:
        """An event after ``until`` raises; one exactly at ``until`` is processed."""
        with pytest.raises(InvalidTimeline) as info:
            sim().run(
                [CHAT],
                [
                    TokenUsage("2025-11-01T00:00:00Z", "s", input_tokens=1),
                    TokenUsage("2025-11-10T00:00:00.000001Z", "s", input_tokens=1),
                ],
                until=UNTIL,
            )
        assert info.value.field == "at"
        assert info.value.value == "2025-11-10T00:00:00.000001+00:00"
        result = sim().run(
            [CHAT],
            [TokenUsage(UNTIL, "s", output_tokens=1_000_000)],
            start="2025-11-01T00:00:00Z",
            until=UNTIL,
        )
        assert result.total == Money("2.00")

    def test_only_event_after_until_names_the_event(self) -> None:
        """An event after until raises InvalidTimeline naming it, even when it is the first event."""
        late = TokenUsage("2025-11-10T00:00:01Z", "s", input_tokens=1)
        with pytest.raises(InvalidTimeline) as info:
            sim().run([CHAT], [late], until=UNTIL)
        assert info.value.event == late

    def test_batch_reaching_past_until_rejected(self) -> None:
        """A batch whose last record is after ``until`` is rejected."""
        batch = TokenUsageBatch(
            "s", ["2025-11-01T00:00:00Z", "2025-11-11T00:00:00Z"], [1, 1], [1, 1]
        )
        with pytest.raises(InvalidTimeline):
            sim().run([CHAT], [batch], until=UNTIL)

    def test_event_before_start_rejected(self) -> None:
        """An event before an explicit start raises."""
        with pytest.raises(InvalidTimeline):
            sim().run(
                [CHAT],
                [TokenUsage("2025-10-31T00:00:00Z", "s", input_tokens=1)],
                start="2025-11-01T00:00:00Z",
                until=UNTIL,
            )

    def test_start_after_until_rejected(self) -> None:
        """start after until is an InvalidArgument naming start."""
        with pytest.raises(InvalidArgument) as info:
            sim().run([], [], start="2025-12-01T00:00:00Z", until=UNTIL)
        assert info.value.field == "start"

    def test_duplicate_resource_ids_rejected(self) -> None:
        """Two different resources with one id are rejected."""
        with pytest.raises(InvalidArgument) as info:
            sim().run(
                [EP, DedicatedEndpoint("ep", model="other", hardware="1x_g")],
                [],
                until=UNTIL,
            )
        assert info.value.field == "id"

    def test_missing_price_raises_unknown_price(self) -> None:
        """Running hardware with no catalog price raises UnknownPrice, not a half-result."""
        ep = DedicatedEndpoint("x", model="m", hardware="1x_missing")
        with pytest.raises(UnknownPrice):
            sim().run([ep], [Deploy("2025-11-01T00:00:00Z", "x")], until=UNTIL)


class TestContinuation:
    def test_continue_from_state_equals_one_replay(self) -> None:
        """Replaying to t then continuing from result.state gives the same invoices as one replay."""
        events = [
            Deploy("2025-10-31T23:10:20Z", "ep"),
            TokenUsage("2025-10-31T23:30:00Z", "s", input_tokens=10),
            ScaleReplicas("2025-11-01T00:10:00Z", "ep", replicas=2),
            Stop("2025-11-01T02:00:00Z", "ep"),
        ]
        whole = sim().run([EP, CHAT], events, until=UNTIL)
        first = sim().run([EP, CHAT], events[:2], until="2025-11-01T00:00:30Z")
        rest = sim().run([], events[2:], until=UNTIL, state=first.state)
        assert rest.to_dict()["invoices"] == whole.to_dict()["invoices"]
        assert rest.to_dict()["log"] == whole.to_dict()["log"]

    def test_continuation_events_must_be_after_state_instant(self) -> None:
        """In a continuation, an event at exactly the state's instant (or before) is rejected."""
        first = sim().run(
            [CHAT],
            [TokenUsage("2025-11-01T00:00:00Z", "s", input_tokens=1)],
            until="2025-11-02T00:00:00Z",
        )
        for when in ("2025-11-02T00:00:00Z", "2025-11-01T12:00:00Z"):
            with pytest.raises(InvalidTimeline) as info:
                sim().run(
                    [],
                    [TokenUsage(when, "s", input_tokens=1)],
                    until=UNTIL,
                    state=first.state,
                )
            assert "after 2025-11-02T00:00:00+00:00" in info.value.expected
        ok = sim().run(
            [],
            [TokenUsage("2025-11-02T00:00:00.000001Z", "s", input_tokens=1)],
            until=UNTIL,
            state=first.state,
        )
        assert sum(line.quantity for line in ok.lines) == 2

    def test_until_before_state_rejected(self) -> None:
        """Continuing to an instant before the state's instant is rejected."""
        first = sim().run([CHAT], [], start="2025-11-01T00:00:00Z", until="2025-11-02T00:00:00Z")
        with pytest.raises(InvalidArgument) as info:
            sim().run([], [], until="2025-11-01T00:00:00Z", state=first.state)
        assert info.value.field == "until"

    def test_failed_continuation_leaves_state_unchanged(self) -> None:
        """A continuation that fails late leaves the state it started from untouched and reusable."""
        first = sim().run(
            [EP, CHAT],
            [Deploy("2025-11-01T00:00:00Z", "ep")],
            until="2025-11-01T01:00:00Z",
        )
        before = first.state.at
        bad = [
            TokenUsage("2025-11-01T02:00:00Z", "s", input_tokens=5),
            Stop("2025-11-01T03:00:00Z", "ep"),
            Start("2025-11-01T04:00:00Z", "ep"),
            Start("2025-11-01T05:00:00Z", "ep"),
        ]
        with pytest.raises(InvalidTimeline) as info:
            sim().run([], bad, until=UNTIL, state=first.state)
        assert info.value.event == bad[-1]
        assert first.state.at == before
        assert first.state.status("ep") == "running"
        good = sim().run([], bad[:2], until="2025-11-02T00:00:00Z", state=first.state)
        direct = sim().run(
            [EP, CHAT],
            [Deploy("2025-11-01T00:00:00Z", "ep"), *bad[:2]],
            until="2025-11-02T00:00:00Z",
        )
        assert good.to_dict()["invoices"] == direct.to_dict()["invoices"]

    def test_continuation_does_not_change_earlier_result(self) -> None:
        """Continuing from a state never alters the earlier result or its state."""
        first = sim().run(
            [EP], [Deploy("2025-11-01T00:00:00Z", "ep")], until="2025-11-01T01:00:00Z"
        )
        snapshot = json.dumps(first.to_dict())
        sim().run([], [Stop("2025-11-01T05:00:00Z", "ep")], until=UNTIL, state=first.state)
        assert json.dumps(first.to_dict()) == snapshot
        again = sim().run([], [], until="2025-11-01T02:00:00Z", state=first.state)
        assert again.total == Money("12.00")


class TestDeterminism:
    def test_same_inputs_same_json(self) -> None:
        """Two replays of the same inputs (in different input order) give byte-identical JSON."""
        job = FineTuningJob(id="j", model="b", params_b="8", training_tokens=1000)
        events = [
            Deploy("2025-10-31T23:59:00Z", "ep"),
            TokenUsage("2025-11-01T00:00:00Z", "s", input_tokens=10, output_tokens=3),
            PriceChange(HardwarePrice("1x_g", "7", "2025-11-01T00:00:00Z")),
            Requests("2025-11-01T00:00:00Z", "ep"),
            JobCompleted("2025-11-01T00:00:00Z", "j"),
            Stop("2025-11-01T00:30:00Z", "ep"),
        ]
        a = json.dumps(simulate([EP, CHAT, job], events, until=UNTIL, catalog=CATALOG).to_dict())
        b = json.dumps(
            simulate([job, CHAT, EP], events[::-1], until=UNTIL, catalog=CATALOG).to_dict()
        )
        assert a == b
        assert json.loads(a)["total"] == "3.60"


def test_a_result_names_the_policies_it_applied() -> None:
    """SimulationResult.policies is the Policies the replay ran under (the default or given)."""
    prepaid = Policies.for_edition("2026")
    assert sim().run([EP], [], until=UNTIL).policies == Policies()
    assert Simulator(CATALOG, prepaid).run([EP], [], until=UNTIL).policies is prepaid


# -- Replay entry points, metering, invoicing and ordering, pinned down by mutation testing --


def test_missing_time_prices_name_the_price_key() -> None:
    """UnknownPrice names the key of the missing time-based price and the instant it was needed."""
    no_on_demand = Catalog([ClusterPrice("G", "reserved", "3", E)])
    with pytest.raises(UnknownPrice) as info:
        run([ON_DEMAND], [Deploy(at("00:00"), "o")], catalog=no_on_demand)
    assert (info.value.field, info.value.value, info.value.expected) == (
        "cluster G",
        "on-demand",
        f"a catalog price effective at or before {iso('00:00')}",
    )
    late = Catalog([HardwarePrice("1x_g", "6", "2025-11-03T02:00:00Z")])
    with pytest.raises(UnknownPrice) as info:
        run([EP0], [Deploy(at("01:00"), "ep")], catalog=late)
    assert (info.value.field, info.value.value, info.value.expected) == (
        "hardware",
        "1x_g",
        f"a catalog price effective at or before {iso('01:00')}",
    )


def test_price_changes_are_logged_and_split_lines() -> None:
    """G4: a price change is logged with its key and source, and later usage and time bill at the new price."""
    result = run(
        [EP0, CHAT],
        [
            Deploy(at("00:00"), "ep"),
            PriceChange(HardwarePrice("1x_g", "12", at("01:00"))),
            TokenUsage(at("00:30"), "s", 10**6),
            PriceChange(ServerlessPrice("chat", "3", "4", at("01:00"))),
            TokenUsage(at("01:30"), "s", 10**6),
            Stop(at("02:00"), "ep"),
        ],
        until=at("03:00"),
    )
    assert log_of(result) == [
        (iso("00:00"), "ep", "deployed", "DE2", ""),
        (iso("01:00"), "", "price change", "G4", "hardware 1x_g from user-supplied (undated)"),
        (iso("01:00"), "", "price change", "G4", "serverless chat from user-supplied (undated)"),
        (iso("02:00"), "ep", "stopped", "DE2", ""),
    ]
    assert [(line.resource, line.rate, line.amount) for line in result.lines] == [
        ("s", Decimal("1.00"), Decimal("1.00")),
        ("s", Decimal("3.00"), Decimal("3.00")),
        ("ep", Decimal(6), Decimal("6.00")),
        ("ep", Decimal(12), Decimal("12.00")),
    ]
    assert result.state.catalog.hardware("1x_g", at("02:00")).per_hour == 12


def test_start_after_until_is_refused() -> None:
    """Simulator.run: ``start`` must not be after ``until``."""
    with pytest.raises(InvalidArgument) as info:
        run([CHAT], [], start=at("01:00"), until=at("00:00"))
    assert (info.value.field, info.value.value, info.value.expected) == (
        "start",
        iso("01:00"),
        f"an instant at or before until {iso('00:00')}",
    )
    same = run([CHAT], [], start=at("01:00"), until=at("01:00"))
    assert [invoice.period.label for invoice in same.invoices] == ["2025-11"]


def test_events_before_the_start_or_the_continuation_point_are_refused() -> None:
    """An event before ``start`` is refused; when continuing, even one at the state's instant is."""
    early = TokenUsage(at("00:00"), "s", 10)
    with pytest.raises(InvalidTimeline) as info:
        run([CHAT], [early], start=at("01:00"), until=at("03:00"))
    assert info.value.event is early
    assert (info.value.field, info.value.value, info.value.expected) == (
        "at",
        iso("00:00"),
        f"an instant at or after {iso('01:00')}, the replay's start",
    )
    at_start = run([CHAT], [TokenUsage(at("01:00"), "s", 10)], start=at("01:00"), until=at("03:00"))
    assert at_start.lines[0].quantity == 10

    simulator = Simulator(CATALOG)
    first = simulator.run([CHAT], [TokenUsage(at("01:00"), "s", 10)], until=at("02:00"))
    with pytest.raises(InvalidTimeline) as info:
        simulator.run([], [TokenUsage(at("02:00"), "s", 10)], until=at("03:00"), state=first.state)
    assert (info.value.field, info.value.value, info.value.expected) == (
        "at",
        iso("02:00"),
        f"an instant after {iso('02:00')}, where the replay continues from",
    )
    with pytest.raises(InvalidArgument) as arg:
        simulator.run([], [], until=at("01:00"), state=first.state)
    assert (arg.value.field, arg.value.value, arg.value.expected) == (
        "until",
        iso("01:00"),
        f"an instant at or after the state's {iso('02:00')}",
    )
    same_instant = simulator.run([], [], until=at("02:00"), state=first.state)
    assert same_instant.state.at == first.state.at
    assert same_instant.lines == first.lines
    later = simulator.run(
        [],
        [TokenUsage("2025-11-03T02:00:00.000001Z", "s", 10)],
        until=at("03:00"),
        state=first.state,
    )
    assert later.lines[0].quantity == 20


@pytest.mark.parametrize(
    ("grain", "expected"),
    [
        # Started minutes on the deployment's own grid; each belongs to the month it starts in.
        (
            "minute",
            [
                (
                    Decimal(30),
                    "replica-minute",
                    Decimal("3.00"),
                    "2025-11-30T23:30:10.500000+00:00",
                    "2025-12-01T00:00:10.500000+00:00",
                ),
                (
                    Decimal(70),
                    "replica-minute",
                    Decimal("7.00"),
                    "2025-12-01T00:00:10.500000+00:00",
                    "2025-12-01T01:10:10.500000+00:00",
                ),
            ],
        ),
        (
            "hour",
            [
                (
                    Decimal(1),
                    "replica-hour",
                    Decimal("6.00"),
                    "2025-11-30T23:30:10.500000+00:00",
                    "2025-12-01T00:30:10.500000+00:00",
                ),
                (
                    Decimal(1),
                    "replica-hour",
                    Decimal("6.00"),
                    "2025-12-01T00:30:10.500000+00:00",
                    "2025-12-01T01:30:10.500000+00:00",
                ),
            ],
        ),
        # Prorated: exact seconds, cut at the month boundary.
        (
            "prorated",
            [
                (
                    Decimal("1789.5"),
                    "replica-second",
                    Decimal("2.98"),
                    "2025-11-30T23:30:10.500000+00:00",
                    "2025-12-01T00:00:00+00:00",
                ),
                (
                    Decimal(4200),
                    "replica-second",
                    Decimal("7.00"),
                    "2025-12-01T00:00:00+00:00",
                    "2025-12-01T01:10:00+00:00",
                ),
            ],
        ),
    ],
)
def test_grains_across_a_month_boundary(grain: str, expected: list[tuple[object, ...]]) -> None:
    """DE1/G3/IN4: time is counted in started grain units, each in the period it starts in."""
    result = run(
        [EP0],
        [Deploy("2025-11-30T23:30:10.5Z", "ep"), Stop("2025-12-01T01:10:00Z", "ep")],
        until="2025-12-02T00:00:00Z",
        policies=Policies(grain=MeteringGrain.named(grain)),
    )
    assert [
        (
            line.quantity,
            line.unit,
            line.amount,
            line.interval.start.isoformat(),
            line.interval.end.isoformat(),
        )
        for line in result.lines
    ] == expected
    november, december = result.invoices
    assert (november.period.label, november.status.value) == ("2025-11", "final")
    assert (december.period.label, december.status.value) == ("2025-12", "draft")
    assert november.as_of.isoformat() == "2025-12-01T00:00:00+00:00"
    assert december.as_of.isoformat() == "2025-12-02T00:00:00+00:00"
    assert result.final_invoices == (november,)
    assert result.draft is december
    assert result.invoice("2025-12") is december
    assert result.total.amount == november.total.amount + december.total.amount


def test_results_of_a_replay_ending_on_a_period_boundary() -> None:
    """IN4: a replay ending exactly at a period's end has no draft; an empty replay has one draft."""
    whole = run([CHAT], [], start="2025-11-01T00:00:00Z", until="2025-12-01T00:00:00Z")
    assert [(i.period.label, i.status.value) for i in whole.invoices] == [("2025-11", "final")]
    assert whole.draft is None
    assert whole.final_invoices == whole.invoices
    instant_only = run([CHAT], [], until="2025-11-01T00:00:00Z")
    assert [(i.period.label, i.status.value) for i in instant_only.invoices] == [
        ("2025-11", "draft")
    ]
    assert instant_only.draft is instant_only.invoices[0]
    assert instant_only.invoices[0].as_of.isoformat() == "2025-11-01T00:00:00+00:00"


def test_invoice_lookup_and_status_errors_name_the_choices() -> None:
    """SimulationResult.invoice and SimulationState.status name what is known when asked for something else."""
    result = run([CHAT], [TokenUsage(at("01:00"), "s", 10)], until=at("02:00"))
    with pytest.raises(InvalidArgument) as info:
        result.invoice("2025-10")
    assert (info.value.field, info.value.value, info.value.expected) == (
        "period",
        "2025-10",
        "one of ['2025-11']",
    )
    assert result.invoice(result.invoices[0].period) is result.invoices[0]
    with pytest.raises(InvalidArgument) as info:
        result.state.status("zz")
    assert (info.value.field, info.value.value, info.value.expected) == (
        "resource",
        "zz",
        "one of ['s']",
    )
    assert result.state.status("s") == "active"
    assert result.state.at.isoformat() == iso("02:00")
    assert result.state.resources == {"s": CHAT}
    assert result.credits is None
    assert result.balance is None
    assert result.ledger == ()


def test_statuses_of_every_kind_of_resource() -> None:
    """SimulationState.status reports deployments, jobs, clusters, volumes and other resources."""
    job = FineTuningJob(id="j", model="me/base", params_b=16, training_tokens=10)
    volume = StorageVolume("v", size_tib=1)
    result = run(
        [EP0, job, ON_DEMAND, volume, CHAT],
        [
            Deploy(at("00:00"), "ep", ready=False),
            Deploy(at("00:00"), "o"),
            Deploy(at("00:00"), "v"),
        ],
        until=at("01:00"),
    )
    assert {name: result.state.status(name) for name in ("ep", "j", "o", "v", "s")} == {
        "ep": "provisioning",
        "j": "submitted",
        "o": "running",
        "v": "running",
        "s": "active",
    }


def test_resources_must_be_resources_with_unique_ids() -> None:
    """add_resources: anything else than a resource is refused naming the types; ids are unique."""
    with pytest.raises(InvalidArgument) as info:
        run(["x"], [])  # type: ignore[list-item]
    assert (info.value.field, info.value.value, info.value.expected) == (
        "resources",
        "x",
        (
            "values of the types DedicatedEndpoint, FineTunedHosting, ServerlessUsage, "
            "FineTuningJob, InstantCluster, StorageVolume"
        ),
    )
    with pytest.raises(InvalidArgument) as info:
        run([CHAT, ServerlessUsage("s", model="plain")], [])
    assert (info.value.field, info.value.value, info.value.expected) == (
        "id",
        "s",
        "a unique id per resource (two different resources share it)",
    )
    same_twice = run([CHAT, ServerlessUsage("s", model="chat")], [], until=at("00:00"))
    assert same_twice.state.resources == {"s": CHAT}


def test_to_dict_with_credits() -> None:
    """to_dict: schema version, until, totals, log, credits in cents and the ledger."""
    result = run(
        [Account(opening_balance="10"), CHAT],
        [TokenUsage(at("01:00"), "s", 0, 10**6)],
        until=at("02:00"),
        policies=NO_ALERTS,
    )
    data = result.to_dict()
    assert data["schema_version"] == 1
    assert data["until"] == iso("02:00")
    assert data["total"] == "2.00"
    assert data["credits"] == {
        "purchased": "10.00",
        "granted": "0.00",
        "consumed": "2.00",
        "expired": "0.00",
        "remaining": "8.00",
    }
    assert [entry["kind"] for entry in data["ledger"]] == ["purchase", "consumption"]
    assert [entry["action"] for entry in data["log"]] == ["account opened"]
    assert result.invoices[0].credits_applied.amount == Decimal("2.00")
    assert "credits" not in run([CHAT], [], until=at("02:00")).to_dict()


def test_lines_follow_the_rounding_policy_and_name_their_price() -> None:
    """P-ROUND/IN1: each line is rounded by the policy's mode and names its price's source and date."""
    events = [TokenUsage(at("01:00"), "s", 10)]
    default = run([CHAT], events, until=at("02:00"))
    up = run([CHAT], events, until=at("02:00"), policies=Policies(rounding="up"))
    assert [(line.amount_exact, line.amount) for line in default.lines] == [
        (Decimal("0.00001"), Decimal("0.00"))
    ]
    assert [(line.amount_exact, line.amount) for line in up.lines] == [
        (Decimal("0.00001"), Decimal("0.01"))
    ]
    (line,) = up.lines
    assert line.source.url == "user-supplied"
    assert line.price_effective_from.isoformat() == "2025-01-01T00:00:00+00:00"
    assert line.category.value == "serverless"
    assert line.rate_per == 10**6


def test_a_stop_comes_before_the_scheduled_checks_of_its_instant() -> None:
    """Timeline order (issue 11): a customer's Stop at the instant of an idle deadline, a
    reservation alert or a reservation end is applied first; the engine reacts after it."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    result = run(
        [cluster, endpoint("ep"), endpoint("fp"), endpoint("ip", 30), endpoint("jp", 30)],
        [
            Deploy(at("00:00"), "jp"),
            Stop(at("00:30"), "jp"),
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "ep"),
            Stop(at("00:00", "04"), "ep"),
            Deploy(at("00:30", "04"), "fp"),
            Stop(at("00:00", "05"), "fp"),
            Deploy(at("00:00"), "ip"),
            Requests(at("00:10"), "ip"),
            Stop(at("00:40"), "ip"),
        ],
        until="2025-11-06T00:00:00Z",
    )
    assert [(e.at.isoformat(), e.resource, e.action) for e in result.log] == [
        (iso("00:00"), "c", "ready"),
        (iso("00:00"), "ep", "deployed"),
        (iso("00:00"), "ip", "deployed"),
        (iso("00:00"), "jp", "deployed"),
        (iso("00:30"), "jp", "stopped"),
        # The request at 00:10 moved the idle deadline to 00:40, the Stop's instant.
        (iso("00:40"), "ip", "stopped"),
        (iso("00:00", "04"), "ep", "stopped"),
        (iso("00:00", "04"), "c", "alert"),
        (iso("00:30", "04"), "fp", "deployed"),
        (iso("00:00", "05"), "fp", "stopped"),
        (iso("00:00", "05"), "c", "decommissioned"),
    ]


def test_a_stop_comes_before_the_grace_checks_of_its_instant() -> None:
    """Timeline order: a Stop at the instant of a grace alert or decommissioning comes first."""
    paused = "00:07:08.571429"
    result = run(
        [Account(opening_balance="5"), ON_DEMAND, endpoint("ep"), endpoint("fp")],
        [
            Deploy(at("00:00"), "o"),
            Deploy(at("00:00"), "ep"),
            Deploy(at("00:00"), "fp"),
            Stop(f"2025-11-05T{paused}Z", "fp"),
            Stop(f"2025-11-06T{paused}Z", "ep"),
        ],
        until="2025-11-07T00:00:00Z",
        policies=Policies(alert_thresholds=[], credit_floor=0, exhaustion_suspends_api=False),
    )
    assert [(e.at.isoformat(), e.resource, e.action) for e in result.log][-6:] == [
        (f"2025-11-03T{paused}+00:00", "account", "credits exhausted"),
        (f"2025-11-03T{paused}+00:00", "o", "paused"),
        (f"2025-11-05T{paused}+00:00", "fp", "stopped"),
        (f"2025-11-05T{paused}+00:00", "o", "alert"),
        (f"2025-11-06T{paused}+00:00", "ep", "stopped"),
        (f"2025-11-06T{paused}+00:00", "o", "decommissioned"),
    ]


def test_a_stop_at_the_exhaustion_instant_is_applied_first() -> None:
    """CR2/CR8, issue 11: credits running out at the instant of a customer's Stop: the Stop
    is applied first (a customer stop, not a credit stop), then the account is exhausted."""
    result = run(
        [Account(opening_balance="10"), EP0],
        [Deploy(at("00:00"), "ep"), Stop(at("01:40"), "ep")],
        until=at("03:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0),
    )
    assert log_of(result)[3:] == [
        (iso("01:40"), "ep", "stopped", "DE2", ""),
        (
            iso("01:40"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (iso("01:40"), "account", "API access suspended", "CR8", "P-EXHAUST"),
    ]


@pytest.mark.parametrize("field", ["until", "start"])
def test_malformed_until_or_start_names_the_argument(field: str) -> None:
    """Simulator.run: an ``until`` or ``start`` that is not an instant is refused naming that argument."""
    options = {"until": at("03:00"), "start": at("00:00"), field: "not an instant"}
    with pytest.raises(InvalidArgument) as info:
        run([CHAT], [], **options)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == (field, "not an instant")


# == Metering under mutation (issue 12) ============================================================
# Tests written against surviving mutants of _engine/metering.py (docs/mutation.md, "Engine
# credit rooms"): what running units draw from the credits (G3, G4, CR1), seen in the ledger.

STORAGE_CATALOG = Catalog(
    [
        ClusterPrice("G", "reserved", "2", E),
        ClusterPrice("G", "on-demand", "3", E),
        StoragePrice("on-demand", "0.5", E),
        StoragePrice("reserved", "0.2", E),
    ]
)


def reserved_storage_prepay(created: str) -> list[LedgerEntry]:
    """The ledger entries a volume's repricing draws at once: the volume is created at
    ``created``, its cluster's reservation starts at 2025-11-01T00:00:10 (ST3)."""
    prices = STORAGE_CATALOG
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=1, cluster="c"),
            Account(opening_balance=1000),
        ],
        [Deploy(created, "v"), Deploy("2025-11-01T00:00:10Z", "c")],
        until="2025-11-01T02:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    return [e for e in result.ledger if e.note.startswith("rest of the started")]


def test_G3_ST3_a_repriced_volume_draws_the_rest_of_its_started_minute_at_the_old_rate() -> None:
    """G3, ST3, IN3: a volume created at 23:59:45 is repriced when its cluster's reservation
    starts at 00:00:10; the minute running then began at 23:59:45 on its own grid, in
    October. Its rest (35 s at the on-demand $0.50/TiB-hour) is drawn at once, at the rate
    of its start, and marked as October's unit."""
    (entry,) = reserved_storage_prepay("2025-10-31T23:59:45Z")
    assert (entry.at_micros, entry.resource, entry.note, entry.unit_start_micros) == (
        to_micros(instant("2025-11-01T00:00:10Z")),
        "v",
        "rest of the started minute at its rate (G3)",
        to_micros(instant("2025-10-31T23:59:45Z")),
    )
    assert entry.amount == EXACT_CONTEXT.divide(Decimal("-17.5"), 3600)  # 35 s, 0.5 TiB-hour


def test_G3_ST3_a_repriced_volumes_minute_begun_at_the_months_start_is_not_marked() -> None:
    """IN3: the same repricing for a volume created at 00:00:00 on November 1: the minute it
    finishes began in November, so the drawn rest carries no earlier unit start."""
    (entry,) = reserved_storage_prepay("2025-11-01T00:00:00Z")
    assert (entry.at_micros, entry.note, entry.unit_start_micros) == (
        to_micros(instant("2025-11-01T00:00:10Z")),
        "rest of the started minute at its rate (G3)",
        None,
    )
    assert entry.amount == EXACT_CONTEXT.divide(Decimal(-25), 3600)  # 50 s at $0.50


def test_G3_CR2_a_repriced_volume_draws_again_at_its_new_rate_when_its_prepaid_minute_ends() -> (
    None
):
    """G3, ST3, CR2: $0.20; an endpoint ($6/h) and a 10 TiB volume ($5/h on demand) from
    00:00:45; the volume's reservation starts at 00:01:10, its started minute is prepaid
    ($0.125 drawn by then), and from 00:01:45 it draws at the reserved $2/h: the
    $0.016667 left at 00:01:45 runs out at $8/h 7.5 s later."""
    prices = STORAGE_CATALOG.with_entries(HardwarePrice("1x_g", "6", E))
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=10, cluster="c"),
            DedicatedEndpoint("ep", model="m", hardware="1x_g"),
            Account(opening_balance="0.2"),
        ],
        [
            Deploy("2025-11-03T00:00:45Z", "v"),
            Deploy("2025-11-03T00:00:45Z", "ep"),
            Deploy("2025-11-03T00:01:10Z", "c"),
        ],
        until="2025-11-03T02:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    exhausted = [e.at.isoformat() for e in result.log if e.action == "credits exhausted"]
    assert exhausted == ["2025-11-03T00:01:52.500000+00:00"]


def test_G3_CR2_each_group_of_a_volume_draws_again_when_its_own_prepaid_minute_ends() -> None:
    """G3, ST3, CR2: $0.45; an endpoint ($6/h) and 10 TiB from 00:00:45 (grid :45), 10 TiB
    more at 00:01:20 (grid :20); the reservation at 00:02:00 prepays both started minutes
    ($0.375 drawn by then). The newer TiB draw again from 00:02:20, the older still prepaid
    to 00:02:45: $0.041667 left at 00:02:20 runs out at $6 + $2 an hour 18.75 s later."""
    prices = STORAGE_CATALOG.with_entries(HardwarePrice("1x_g", "6", E))
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=10, cluster="c"),
            DedicatedEndpoint("ep", model="m", hardware="1x_g"),
            Account(opening_balance="0.45"),
        ],
        [
            Deploy("2025-11-03T00:00:45Z", "v"),
            Deploy("2025-11-03T00:00:45Z", "ep"),
            ResizeVolume("2025-11-03T00:01:20Z", "v", 20),
            Deploy("2025-11-03T00:02:00Z", "c"),
        ],
        until="2025-11-03T02:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    exhausted = [e.at.isoformat() for e in result.log if e.action == "credits exhausted"]
    assert exhausted == ["2025-11-03T00:02:38.750000+00:00"]


def test_G4_CR2_a_price_change_reaches_each_replica_at_its_first_minute_after_it() -> None:
    """G4, G3, CR2: two replicas at $6/h on grids :00 and :30; the price doubles at 12:00.
    The replica on :00 draws $12/h from 12:00, the one on :30 from 12:00:30 (each minute at
    the price of its start). $150 leaves $6.05 at 12:00 and $5.90 at 12:00:30, which lasts
    14 min 45 s at $24/h."""
    prices = CATALOG.with_entries(HardwarePrice("1x_g", "12", "2025-11-03T12:00:00Z"))
    result = simulate(
        [EP, Account(opening_balance=150)],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            ScaleReplicas("2025-11-03T00:00:30Z", "ep", replicas=2),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    exhausted = [e.at.isoformat() for e in result.log if e.action == "credits exhausted"]
    assert exhausted == ["2025-11-03T12:15:15+00:00"]


def test_G3_a_stop_draws_the_started_minute_of_every_replica_not_on_its_grid() -> None:
    """G3: replicas on grids :00 and :30 stop at 01:00:30: the newer one is on its grid (no
    started minute), the older has 30 s of its minute left, drawn at the stop ($0.05)."""
    result = simulate(
        [EP, Account(opening_balance=150)],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            ScaleReplicas("2025-11-03T00:00:30Z", "ep", replicas=2),
            Stop("2025-11-03T01:00:30Z", "ep"),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=CATALOG,
        policies=Policies.for_edition("2026"),
    )
    tails = [(e.at.isoformat(), e.amount) for e in result.ledger if e.note.startswith("rest of")]
    assert tails == [("2025-11-03T01:00:30+00:00", Decimal("-0.05"))]


def test_G3_a_resource_without_any_price_names_the_ids_the_catalog_knows() -> None:
    """G3: a deployment on hardware the catalog has never priced fails on its first
    settlement with UnknownPrice, listing the hardware ids the catalog does price."""
    prices = CATALOG.with_entries(HardwarePrice("2x_g", "12", E))
    with pytest.raises(UnknownPrice) as error:
        simulate(
            [DedicatedEndpoint("x", model="m", hardware="1x_zzz"), Account(opening_balance=5)],
            [Deploy("2025-11-03T00:00:00Z", "x")],
            until="2025-11-04T00:00:00Z",
            catalog=prices,
        )
    assert str(error.value) == (
        "no price for hardware='1x_zzz'; expected one in the catalog (1x_g, 2x_g), "
        "or a price entry for it"
    )


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "none in the catalog"),
        (12, "one in the catalog (" + ", ".join(f"1x_h{i:02}" for i in range(12)) + ")"),
        (13, "one in the catalog (" + ", ".join(f"1x_h{i:02}" for i in range(12)) + ", ...)"),
    ],
)
def test_G3_the_unknown_price_error_lists_at_most_twelve_known_ids(
    count: int, expected: str
) -> None:
    """G3: the ids listed are the catalog's hardware, sorted, twelve at most (then "...");
    a catalog without hardware says so."""
    prices = Catalog(
        [
            ServerlessPrice("chat", "1", "2", E),
            *(HardwarePrice(f"1x_h{i:02}", "6", E) for i in range(count)),
        ]
    )
    with pytest.raises(UnknownPrice) as error:
        simulate(
            [DedicatedEndpoint("x", model="m", hardware="1x_zzz"), Account(opening_balance=5)],
            [Deploy("2025-11-03T00:00:00Z", "x")],
            until="2025-11-04T00:00:00Z",
            catalog=prices,
        )
    assert str(error.value) == (
        f"no price for hardware='1x_zzz'; expected {expected}, or a price entry for it"
    )


def test_G3_ST2_a_volume_shrunk_inside_its_prepaid_minute_draws_no_rest_again() -> None:
    """G3, ST2, ST3: 20 TiB from 00:00:45; the reservation at 00:01:10 prepays the rest of
    the minute (to 00:01:45) at the on-demand rate; shrunk to 10 TiB at 00:01:20 (through
    the account team), the removed TiB's minute is paid already: nothing more is drawn."""
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=20, cluster="c"),
            Account(opening_balance=100),
        ],
        [
            Deploy("2025-11-03T00:00:45Z", "v"),
            Deploy("2025-11-03T00:01:10Z", "c"),
            ResizeVolume("2025-11-03T00:01:20Z", "v", 10, via_account_team=True),
        ],
        until="2025-11-03T00:10:00Z",
        catalog=STORAGE_CATALOG,
        policies=Policies.for_edition("2026"),
    )
    drawn = [(e.at.isoformat(), e.note) for e in result.ledger if e.kind == "consumption"]
    assert drawn == [
        ("2025-11-03T00:01:10+00:00", "running"),
        ("2025-11-03T00:01:10+00:00", "rest of the started minute at its rate (G3)"),
        ("2025-11-03T00:10:00+00:00", "running"),
    ]
    # 20 TiB for 25 s and 35 s at $0.50, then 10 TiB from 00:01:45 to 00:10 at $0.20.
    assert result.balance is not None
    expected = EXACT_CONTEXT.subtract(Decimal("99.725"), EXACT_CONTEXT.divide(1, 6))
    assert abs(EXACT_CONTEXT.subtract(result.balance, expected)) < Decimal("1e-40")


def test_G4_CR2_a_stopped_endpoints_pending_price_change_is_dropped() -> None:
    """G4, CR2: two endpoints at $6/h, a price of $12/h from 12:00; "ep" stops at 06:00, so
    only "other" meets the new price. $150: $78 left at 06:00, $42 at 12:00, which lasts
    3.5 h at $12/h."""
    prices = CATALOG.with_entries(HardwarePrice("1x_g", "12", "2025-11-03T12:00:00Z"))
    result = simulate(
        [EP, DedicatedEndpoint("other", model="m", hardware="1x_g"), Account(opening_balance=150)],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            Deploy("2025-11-03T00:00:00Z", "other"),
            Stop("2025-11-03T06:00:00Z", "ep"),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    exhausted = [e.at.isoformat() for e in result.log if e.action == "credits exhausted"]
    assert exhausted == ["2025-11-03T15:30:00+00:00"]
