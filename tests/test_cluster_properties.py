"""Property-based tests of Instant Clusters and storage volumes (Hypothesis, CL2-CL5, ST1-ST3).

The strategies build small valid timelines of one cluster (``c``, reserved or on
demand) and one storage volume (``v``, attached to ``c`` or not) over four days
around the October/November 2025 month boundary. Reservations of 1 to 3 days end
inside that span; 90-day ones outlast it. The catalog is tiny and user-priced:
GPU type ``G`` at 2.40 reserved and 3.60 on demand per GPU-hour, storage at 0.12
reserved and 0.30 on demand per TiB-hour (all multiples of 0.06, so per-minute
amounts are exact decimals). Where a property computes an exact expected amount,
the instants are on whole minutes.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Catalog,
    Category,
    ClusterPrice,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    InstantCluster,
    InvoiceLine,
    PriceChange,
    Ready,
    ResizeVolume,
    Resource,
    ScaleGpus,
    SimulationResult,
    Simulator,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    instant,
)
from together_billing.time import MICROS_PER_HOUR, MICROS_PER_MINUTE, from_micros, to_micros

E = "2025-01-01T00:00:00Z"
SPAN_START = to_micros(instant("2025-10-30T00:00:00Z"))
SPAN = 4 * 24 * 60 * MICROS_PER_MINUTE
UNTIL = SPAN_START + SPAN
DAY = 24 * MICROS_PER_HOUR
RESERVED = Decimal("2.40")
ON_DEMAND = Decimal("3.60")
STORAGE_RESERVED = Decimal("0.12")
STORAGE_ON_DEMAND = Decimal("0.30")
CATALOG = Catalog(
    [
        ClusterPrice("G", "reserved", RESERVED, E),
        ClusterPrice("G", "on-demand", ON_DEMAND, E),
        StoragePrice("reserved", STORAGE_RESERVED, E),
        StoragePrice("on-demand", STORAGE_ON_DEMAND, E),
    ]
)
SIM = Simulator(CATALOG)
COMPUTE = (Category.RESERVED_COMPUTE, Category.BURST_COMPUTE, Category.ON_DEMAND_COMPUTE)


def instants(
    *, min_size: int = 0, max_size: int = 8, minute: bool = False, span: int = SPAN
) -> st.SearchStrategy[list[int]]:
    """Sorted distinct instants (microseconds) from SPAN_START, on whole minutes if ``minute``."""
    if minute:
        offset = st.integers(0, span // MICROS_PER_MINUTE - 1).map(lambda m: m * MICROS_PER_MINUTE)
    else:
        offset = st.one_of(
            st.integers(0, span // 1_000_000 - 1).map(lambda s: s * 1_000_000),
            st.integers(0, span - 1),
        )
    return st.lists(offset, min_size=min_size, max_size=max_size, unique=True).map(
        lambda xs: sorted(SPAN_START + x for x in xs)
    )


@st.composite
def clusters(
    draw: st.DrawFn, *, billing: str | None = None, days: list[int] | None = None
) -> InstantCluster:
    """A reserved cluster (8 or 16 reserved, up to 16 burst GPUs) or an on-demand one."""
    kind = billing or draw(st.sampled_from(["reserved", "on-demand"]))
    if kind == "reserved":
        reserved = draw(st.sampled_from([8, 16]))
        return InstantCluster(
            "c",
            gpu_type="G",
            billing="reserved",
            gpus=reserved + draw(st.sampled_from([0, 0, 8, 16])),
            reserved_gpus=reserved,
            duration_days=draw(st.sampled_from(days or [1, 2, 3, 90])),
        )
    return InstantCluster(
        "c", gpu_type="G", billing="on-demand", gpus=draw(st.sampled_from([8, 16]))
    )


@st.composite
def cluster_lifecycles(
    draw: st.DrawFn,
    cluster: InstantCluster,
    *,
    minute: bool = False,
    max_gpus: int = 32,
    extend: bool = True,
    terminate: bool = True,
) -> list[Event]:
    """A valid lifecycle of ``cluster``: provisioning, scaling, extensions, stops, termination.

    The reservation's end is tracked so no event but Delete comes at or after it.
    """
    counts = st.sampled_from(list(range(8, max_gpus + 1, 8)))
    events: list[Event] = []
    state, end = "new", 0
    assert cluster.duration_days is not None or not cluster.reserved
    for micros in draw(instants(max_size=10, minute=minute)):
        at = from_micros(micros)
        if state == "running" and cluster.reserved and micros >= end:
            state = "decommissioned"
        if state == "new":
            ready = draw(st.booleans())
            events.append(Deploy(at, "c", ready=ready))
            state = "running" if ready else "provisioning"
            end = micros + (cluster.duration_days or 0) * DAY
        elif state == "provisioning":
            choice = draw(st.sampled_from(["ready", "ready", "failed", "delete"]))
            if choice == "ready":
                events.append(Ready(at, "c"))
                state, end = "running", micros + (cluster.duration_days or 0) * DAY
            elif choice == "failed":
                events.append(DeployFailed(at, "c"))
                state = "failed"
            elif terminate:
                events.append(Delete(at, "c"))
                state = "deleted"
        elif state == "running":
            options = ["scale", "scale", "scale"]
            if terminate:
                options.append("delete")
            if cluster.reserved and extend:
                options.append("extend")
            if not cluster.reserved:
                options.append("stop")
            choice = draw(st.sampled_from(options))
            if choice == "scale":
                events.append(ScaleGpus(at, "c", draw(counts)))
            elif choice == "extend":
                days = draw(st.integers(1, 3))
                events.append(ExtendReservation(at, "c", days))
                end += days * DAY
            elif choice == "stop":
                events.append(Stop(at, "c"))
                state = "stopped"
            else:
                events.append(Delete(at, "c"))
                state = "deleted"
        elif state == "stopped":
            if draw(st.booleans()) or not terminate:
                ready = draw(st.booleans())
                events.append(Start(at, "c", ready=ready))
                state = "running" if ready else "provisioning"
            else:
                events.append(Delete(at, "c"))
                state = "deleted"
        elif state in ("failed", "decommissioned") and terminate:
            events.append(Delete(at, "c"))
            state = "deleted"
    return events


@st.composite
def volume_lifecycles(
    draw: st.DrawFn, *, minute: bool = False, delete: bool = True, max_size: int = 8
) -> list[Event]:
    """Create ``v``, resize it up and down (ST2, shrink allowed), maybe delete it."""
    events: list[Event] = []
    state = "new"
    for micros in draw(instants(max_size=max_size, minute=minute)):
        at = from_micros(micros)
        if state == "new":
            events.append(Deploy(at, "v"))
            state = "running"
        elif state == "running":
            if delete and draw(st.integers(0, 5)) == 0:
                events.append(Delete(at, "v"))
                state = "deleted"
            else:
                events.append(ResizeVolume(at, "v", draw(st.integers(1, 8))))
    return events


@st.composite
def price_changes(draw: st.DrawFn) -> list[Event]:
    """A few cluster and storage price changes inside the span."""
    rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10), places=2)
    changes: list[Event] = []
    for micros in draw(instants(max_size=2)):
        billing = draw(st.sampled_from(["reserved", "on-demand"]))
        changes.append(PriceChange(ClusterPrice("G", billing, draw(rates), from_micros(micros))))
    for micros in draw(instants(max_size=2)):
        billing = draw(st.sampled_from(["reserved", "on-demand"]))
        changes.append(PriceChange(StoragePrice(billing, draw(rates), from_micros(micros))))
    return changes


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Resource], list[Event]]:
    """A cluster and a volume (attached to it or not), their lifecycles and price changes."""
    cluster = draw(clusters())
    volume = StorageVolume(
        "v", size_tib=draw(st.integers(1, 6)), cluster=draw(st.sampled_from(["c", "c", None]))
    )
    events = [
        *draw(cluster_lifecycles(cluster)),
        *draw(volume_lifecycles()),
        *draw(price_changes()),
    ]
    return [cluster, volume], events


def replay(resources: list[Resource], events: list[Event], until: int = UNTIL) -> SimulationResult:
    return SIM.run(resources, events, start=from_micros(SPAN_START), until=from_micros(until))


def as_json(result: SimulationResult) -> str:
    return json.dumps(result.to_dict(), sort_keys=True)


def of(result: SimulationResult, *categories: Category) -> list[InvoiceLine]:
    return [line for line in result.lines if line.category in categories]


def exact(lines: list[InvoiceLine]) -> Decimal:
    return sum((line.amount_exact for line in lines), Decimal(0))


def quantity(lines: list[InvoiceLine]) -> Decimal:
    return sum((line.quantity for line in lines), Decimal(0))


def running_units(changes: list[tuple[int, int]], end: int) -> int:
    """Sum of count x minutes for ``(instant, count)`` steps, each lasting to the next (or ``end``)."""
    total = 0
    for (start, count), (stop, _) in zip(changes, [*changes[1:], (end, 0)], strict=True):
        total += count * (stop - start) // MICROS_PER_MINUTE
    return total


# -- CL2 --------------------------------------------------------------------------------------------


@given(st.data())
def test_reservation_charge_does_not_depend_on_gpu_use(data: st.DataObject) -> None:
    """CL2: any ScaleGpus sequence (below, at, or above the reservation), or an early termination,
    leaves the reserved-compute lines exactly as with no scaling at all."""
    cluster = data.draw(clusters(billing="reserved", days=[30, 90]))
    deploy = Deploy(from_micros(SPAN_START), "c")
    within = data.draw(
        cluster_lifecycles(cluster, max_gpus=cluster.reserved_gpus, extend=False, terminate=False)
    )
    beyond = data.draw(cluster_lifecycles(cluster, extend=False))
    # Both lifecycles start with their own Deploy: re-anchor them on the common one.
    within = [e for e in within if isinstance(e, ScaleGpus)]
    beyond = [e for e in beyond if isinstance(e, (ScaleGpus, Delete)) and e.at > deploy.at]
    if any(isinstance(e, Delete) for e in beyond):
        cut = next(e.at for e in beyond if isinstance(e, Delete))
        beyond = [e for e in beyond if e.at <= cut]
    within = [e for e in within if e.at > deploy.at]
    base = replay([cluster], [deploy])
    expected = [line.to_dict() for line in of(base, Category.RESERVED_COMPUTE)]
    assert len(expected) == 1
    assert exact(of(base, Category.RESERVED_COMPUTE)) == (
        cluster.reserved_gpus * 24 * (cluster.duration_days or 0) * RESERVED
    )
    for events in (within, beyond):
        used = replay([cluster], [deploy, *events])
        assert [line.to_dict() for line in of(used, Category.RESERVED_COMPUTE)] == expected
        assert not of(used, Category.ON_DEMAND_COMPUTE)
    if cluster.gpus == cluster.reserved_gpus:
        # Never above the reservation: nothing but the reservation is billed.
        assert of(replay([cluster], [deploy, *within]), *COMPUTE) == of(base, *COMPUTE)


# -- CL3 / CL4 ---------------------------------------------------------------------------------------


@given(clusters(billing="reserved", days=[90]), st.data())
def test_burst_costs_on_demand_rate_times_gpus_above_reservation_times_time(
    cluster: InstantCluster, data: st.DataObject
) -> None:
    """CL3: burst = on-demand rate x (GPUs above the reservation) x their running minutes, exactly,
    on burst-compute lines of their own."""
    times = data.draw(instants(min_size=1, max_size=8, minute=True))
    counts = data.draw(
        st.lists(st.sampled_from([8, 16, 24, 32]), min_size=len(times) - 1, max_size=len(times) - 1)
    )
    delete = data.draw(st.booleans()) and len(times) > 1
    scales = [ScaleGpus(from_micros(t), "c", g) for t, g in zip(times[1:], counts, strict=False)]
    events: list[Event] = [Deploy(from_micros(times[0]), "c"), *scales]
    end = UNTIL
    if delete:
        events[-1] = Delete(from_micros(times[-1]), "c")
        end = times[-1]
        counts = counts[:-1]
    steps = [(times[0], cluster.gpus), *zip(times[1:], counts, strict=False)]
    above = [(t, max(0, g - cluster.reserved_gpus)) for t, g in steps]
    minutes = running_units(above, end)
    result = replay([cluster], events)
    burst = of(result, Category.BURST_COMPUTE)
    assert quantity(burst) == minutes
    assert exact(burst) == minutes * ON_DEMAND / 60
    assert all(line.rate == ON_DEMAND and line.rule == "CL3" for line in burst)
    assert all(line.unit == "GPU-minute" for line in burst)
    assert not of(result, Category.ON_DEMAND_COMPUTE)


@given(clusters(billing="on-demand"), st.data())
def test_on_demand_costs_rate_times_gpus_times_running_time(
    cluster: InstantCluster, data: st.DataObject
) -> None:
    """CL4: an on-demand cluster costs the on-demand rate x GPUs x running minutes; stopped time is free."""
    events = data.draw(cluster_lifecycles(cluster, minute=True))
    # Replay the lifecycle by hand: GPUs billing over time.
    steps: list[tuple[int, int]] = []
    gpus, running = cluster.gpus, 0
    for event in events:
        t = to_micros(event.at)
        if isinstance(event, Ready) or (isinstance(event, (Deploy, Start)) and event.ready):
            running = gpus
        elif isinstance(event, ScaleGpus):
            gpus = running = event.gpus
        elif isinstance(event, (Stop, Delete, DeployFailed)):
            running = 0
        steps.append((t, running))
    result = replay([cluster], events)
    lines = of(result, *COMPUTE)
    expected = running_units(steps, UNTIL) if steps else 0
    assert quantity(lines) == expected
    assert exact(lines) == expected * ON_DEMAND / 60
    assert {line.category for line in lines} <= {Category.ON_DEMAND_COMPUTE}


# -- CL5 ---------------------------------------------------------------------------------------------


@given(
    clusters(billing="reserved", days=[1, 2]),
    st.data(),
    st.integers(0, 40 * 24 * 60),
    st.integers(0, 40 * 24 * 60),
)
def test_decommissioned_cluster_accrues_nothing_after_its_end(
    cluster: InstantCluster, data: st.DataObject, later: int, latest: int
) -> None:
    """CL5, ST3: replaying to later and later instants after the reservation's end leaves the compute
    totals unchanged; the attached volume keeps billing, at the on-demand rate."""
    drawn = data.draw(cluster_lifecycles(cluster, minute=True, terminate=False, extend=False))
    size = data.draw(st.integers(1, 4))
    volume = StorageVolume("v", size_tib=size, cluster="c")
    end = SPAN_START + (cluster.duration_days or 0) * DAY
    events: list[Event] = [
        Deploy(from_micros(SPAN_START), "c"),
        Deploy(from_micros(SPAN_START), "v"),
        *[e for e in drawn if isinstance(e, ScaleGpus) and SPAN_START < to_micros(e.at) < end],
    ]
    untils = [end, end + later * MICROS_PER_MINUTE, end + (later + latest) * MICROS_PER_MINUTE]
    results = [replay([cluster, volume], events, until) for until in untils]
    compute = [[line.to_dict() for line in of(result, *COMPUTE)] for result in results]
    assert compute[0] == compute[1] == compute[2]
    for result in results:
        assert result.state.status("c") == "decommissioned"
        acts = [(e.resource, e.action) for e in result.log]
        assert acts.count(("c", "alert")) == 1
        assert acts.count(("c", "decommissioned")) == 1
    storage = [exact(of(result, Category.STORAGE)) for result in results]
    assert storage[1] - storage[0] == size * later * STORAGE_ON_DEMAND / 60
    assert storage[2] - storage[1] == size * latest * STORAGE_ON_DEMAND / 60
    assert storage[0] == size * 24 * (cluster.duration_days or 0) * STORAGE_RESERVED


# -- ST1 / ST2 -----------------------------------------------------------------------------------------


@given(volume_lifecycles(minute=True), st.sampled_from(["c", None]))
def test_storage_cost_is_additive_over_resizes(events: list[Event], attach: str | None) -> None:
    """ST1, ST2: a volume costs the sum of size x minutes x rate over its resizes, exactly."""
    volume = StorageVolume("v", size_tib=3, cluster=attach)
    cluster = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    steps: list[tuple[int, int]] = []
    for event in events:
        size = {Deploy: 3, Delete: 0}.get(type(event))
        if isinstance(event, ResizeVolume):
            size = event.size_tib
        assert size is not None
        steps.append((to_micros(event.at), size))
    tib_minutes = running_units(steps, UNTIL) if steps else 0
    result = replay([cluster, volume], events)
    lines = of(result, Category.STORAGE)
    assert quantity(lines) == tib_minutes
    assert exact(lines) == tib_minutes * STORAGE_ON_DEMAND / 60
    assert all(line.unit == "TiB-minute" for line in lines)
    assert len(result.lines) == len(lines)


@given(volume_lifecycles(), st.integers(0, SPAN))
def test_storage_cost_is_additive_over_any_split(events: list[Event], offset: int) -> None:
    """ST1, G3: replaying a volume to any t and continuing from the state gives the same invoices."""
    volume = StorageVolume("v", size_tib=2)
    cut = SPAN_START + offset
    whole = replay([volume], events)
    first = SIM.run(
        [volume],
        [e for e in events if to_micros(e.at) <= cut],
        start=from_micros(SPAN_START),
        until=from_micros(cut),
    )
    rest = SIM.run(
        [],
        [e for e in events if to_micros(e.at) > cut],
        until=from_micros(UNTIL),
        state=first.state,
    )
    assert rest.to_dict()["invoices"] == whole.to_dict()["invoices"]
    assert rest.total == whole.total


# -- G3 splits, order, invoice sums ----------------------------------------------------------------


@given(scenarios(), st.integers(0, SPAN))
def test_splitting_a_cluster_replay_changes_nothing(
    scenario: tuple[list[Resource], list[Event]], offset: int
) -> None:
    """G3, CL2-CL5, ST1-ST3: replay to any t (events at or before t), then continue from
    result.state with the rest: the invoices and the log equal one whole replay's."""
    resources, events = scenario
    cut = SPAN_START + offset
    whole = replay(resources, events)
    first = SIM.run(
        resources,
        [e for e in events if to_micros(e.at) <= cut],
        start=from_micros(SPAN_START),
        until=from_micros(cut),
    )
    rest = Simulator(CATALOG).run(
        [],
        [e for e in events if to_micros(e.at) > cut],
        until=from_micros(UNTIL),
        state=first.state,
    )
    assert rest.to_dict()["invoices"] == whole.to_dict()["invoices"]
    assert rest.to_dict()["log"] == whole.to_dict()["log"]


@given(st.data())
def test_event_order_never_matters(data: st.DataObject) -> None:
    """Any permutation of a cluster-and-volume timeline gives an identical result."""
    resources, events = data.draw(scenarios())
    shuffled = data.draw(st.permutations(events))
    assert as_json(replay(list(reversed(resources)), shuffled)) == as_json(
        replay(resources, events)
    )


@given(scenarios())
def test_invoices_sum_exactly(scenario: tuple[list[Resource], list[Event]]) -> None:
    """G1, IN2: each invoice's total is exactly the sum of its line amounts and of its subtotals;
    every cluster or storage line is in its own category with the right rule."""
    result = replay(*scenario)
    assert [i.period.label for i in result.invoices] == ["2025-10", "2025-11"]
    rules = {
        Category.RESERVED_COMPUTE: {"CL2", "CL5"},
        Category.BURST_COMPUTE: {"CL3"},
        Category.ON_DEMAND_COMPUTE: {"CL4"},
        Category.STORAGE: {"ST1"},
    }
    for invoice in result.invoices:
        amounts = [line.amount for line in invoice.lines]
        assert invoice.total.amount == sum(amounts, Decimal(0))
        assert invoice.total.amount == sum(
            (m.amount for m in invoice.subtotals().values()), Decimal(0)
        )
        for line in invoice.lines:
            assert line.rule in rules[line.category]
            assert line.amount == line.amount.quantize(Decimal("0.01"))
            assert abs(line.amount - line.amount_exact) <= Decimal("0.005")
            assert line.amount >= 0
    assert result.total.amount == sum((line.amount for line in result.lines), Decimal(0))
