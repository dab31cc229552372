"""Storage volumes (ST1-ST3) and worked example W32.

Every test uses a tiny catalog of user prices built here: on-demand storage at
0.25 and reserved storage at 0.10 USD per TiB-hour, cluster GPU type ``G`` at 2.50
reserved and 3.75 on demand per GPU-hour. The default catalog ships no storage
price; the last test checks that it says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest

from together_billing import (
    Account,
    Catalog,
    Category,
    ClusterPrice,
    DedicatedEndpoint,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    HardwarePrice,
    InstantCluster,
    InvalidArgument,
    InvalidTimeline,
    InvoiceLine,
    MeteringGrain,
    Policies,
    Ready,
    ResizeVolume,
    Resource,
    ScaleGpus,
    ShrinkPolicy,
    SimulationResult,
    Stop,
    StoragePrice,
    StorageVolume,
    UnknownPrice,
    simulate,
)

E = "2025-01-01T00:00:00Z"
DAY = "2025-11-03"
ON_DEMAND = Decimal("0.25")
RESERVED = Decimal("0.10")

CATALOG = Catalog(
    [
        ClusterPrice("G", "reserved", "2.50", E),
        ClusterPrice("G", "on-demand", "3.75", E),
        StoragePrice("on-demand", ON_DEMAND, E),
        StoragePrice("reserved", RESERVED, E),
    ]
)
ON_DEMAND_ONLY = Catalog(
    [
        ClusterPrice("G", "reserved", "2.50", E),
        ClusterPrice("G", "on-demand", "3.75", E),
        StoragePrice("on-demand", ON_DEMAND, E),
    ]
)


def at(hhmm: str, day: str = DAY) -> str:
    """An instant, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC, on the test day unless ``day`` is given."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


def volume(ident: str = "v", size: int = 4, cluster: str | None = None) -> StorageVolume:
    return StorageVolume(ident, size_tib=size, cluster=cluster)


def reserved_cluster(ident: str = "c", days: int = 2) -> InstantCluster:
    return InstantCluster(
        ident, gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=days
    )


def run(
    resources: Iterable[Resource],
    events: Sequence[Event],
    until: str = "2025-12-01T00:00:00Z",
    policies: Policies | None = None,
    catalog: Catalog = CATALOG,
) -> SimulationResult:
    return simulate(resources, events, until=until, catalog=catalog, policies=policies)


def storage_lines(result: SimulationResult) -> list[InvoiceLine]:
    return [line for line in result.lines if line.category is Category.STORAGE]


def storage_by_rate(result: SimulationResult) -> dict[Decimal, Decimal]:
    """TiB-minutes of storage at each rate."""
    found: dict[Decimal, Decimal] = {}
    for line in storage_lines(result):
        found[line.rate] = found.get(line.rate, Decimal(0)) + line.quantity
    return found


def actions(result: SimulationResult) -> list[tuple[str, str, str]]:
    return [(entry.resource, entry.action, entry.rule) for entry in result.log]


# -- W32 ------------------------------------------------------------------------------------------


def test_W32_reservation_ends_volume_persists_at_on_demand_price() -> None:
    """W32: at the end of a 2-day reservation the cluster is decommissioned after a 24 h alert;
    the attached volume persists and moves from the reserved to the on-demand storage rate."""
    result = run(
        [reserved_cluster(days=2), volume(size=4, cluster="c")],
        [Deploy(at("00:00"), "c"), Deploy(at("00:00"), "v")],
        until="2025-11-10T00:00:00Z",
    )
    log = [(e.at.isoformat(), e.resource, e.action, e.rule) for e in result.log]
    assert ("2025-11-04T00:00:00+00:00", "c", "alert", "CL5") in log
    assert ("2025-11-05T00:00:00+00:00", "c", "decommissioned", "CL5") in log
    assert ("2025-11-05T00:00:00+00:00", "v", "storage priced on-demand", "ST3") in log
    assert result.state.status("c") == "decommissioned"
    assert result.state.status("v") == "running"
    # 4 TiB x 48 h reserved, then 4 TiB x 5 days on demand.
    assert storage_by_rate(result) == {RESERVED: 4 * 48 * 60, ON_DEMAND: 4 * 120 * 60}
    lines = {line.rate: line for line in storage_lines(result)}
    assert lines[RESERVED].amount == 4 * 48 * RESERVED
    assert lines[ON_DEMAND].amount == 4 * 120 * ON_DEMAND
    assert lines[RESERVED].interval.end.isoformat() == "2025-11-05T00:00:00+00:00"
    assert lines[ON_DEMAND].interval.start.isoformat() == "2025-11-05T00:00:00+00:00"
    assert "reserved" in lines[RESERVED].description
    assert "on-demand" in lines[ON_DEMAND].description
    assert all(line.rule == "ST1" for line in lines.values())


# -- ST1 size x time x rate ------------------------------------------------------------------------


def test_ST1_size_times_time_times_rate() -> None:
    """ST1: 4 TiB for 10 hours at 0.25 per TiB-hour is 10.00, one storage line."""
    result = run([volume()], [Deploy(at("00:00"), "v"), Delete(at("10:00"), "v")])
    (line,) = result.lines
    assert line.category is Category.STORAGE
    assert (line.quantity, line.unit, line.rate, line.rate_unit) == (
        4 * 600,
        "TiB-minute",
        ON_DEMAND,
        "USD per TiB-hour",
    )
    assert line.amount == Decimal("10.00")
    assert line.category.group == "deployment"
    assert ("v", "created", "ST1") in actions(result)
    assert ("v", "deleted", "ST1") in actions(result)


def test_ST1_bills_until_deleted_and_not_after() -> None:
    """ST1: a volume bills until deleted; replaying further adds nothing."""
    events: list[Event] = [Deploy(at("00:00"), "v"), Delete(at("00:00", "2025-11-04"), "v")]
    early = run([volume()], events, until="2025-11-05T00:00:00Z")
    late = run([volume()], events, until="2026-02-01T00:00:00Z")
    assert early.total == late.total
    assert early.total.amount == 4 * 24 * ON_DEMAND
    assert late.state.status("v") == "deleted"


def test_ST1_storage_grain_is_per_started_minute_and_a_policy() -> None:
    """ST1 (P-GRAIN for storage): 30.5 minutes bill 31 minutes; per hour, 1 hour; prorated, exact."""
    events: list[Event] = [Deploy(at("00:00"), "v"), Delete(at("00:30:30"), "v")]
    minute = run([volume(size=2)], events)
    hour = run([volume(size=2)], events, policies=Policies(storage_grain=MeteringGrain.PER_HOUR))
    prorated = run(
        [volume(size=2)], events, policies=Policies(storage_grain=MeteringGrain.PRORATED)
    )
    assert minute.lines[0].quantity == 2 * 31
    assert (hour.lines[0].quantity, hour.lines[0].unit) == (2, "TiB-hour")
    assert (prorated.lines[0].quantity, prorated.lines[0].unit) == (2 * 1830, "TiB-second")
    assert prorated.lines[0].amount == Decimal("0.25")  # 0.2541666... rounded half-up


def test_ST1_a_volume_is_billed_across_month_boundaries() -> None:
    """ST1, G3: a volume running over a month end bills each period for its own minutes."""
    result = run(
        [volume(size=1)],
        [Deploy(at("22:00", "2025-11-30"), "v")],
        until="2025-12-01T03:00:00Z",
    )
    november, december = result.invoices
    assert november.total.amount == 2 * ON_DEMAND
    assert december.total.amount == 3 * ON_DEMAND


def test_ST1_volume_takes_only_deploy_resize_delete() -> None:
    """ST1: Stop or ScaleGpus on a volume is refused with InvalidTimeline field resource."""
    for event in (Stop(at("01:00"), "v"), ScaleGpus(at("01:00"), "v", 8)):
        with pytest.raises(InvalidTimeline) as error:
            run([volume()], [Deploy(at("00:00"), "v"), event])
        assert error.value.field == "resource"


def test_ST1_resizing_a_volume_not_created_is_a_status_error() -> None:
    """ST1: ResizeVolume before Deploy, or after Delete, raises InvalidTimeline field status."""
    with pytest.raises(InvalidTimeline) as error:
        run([volume()], [ResizeVolume(at("01:00"), "v", 8)])
    assert error.value.field == "status"
    with pytest.raises(InvalidTimeline) as error:
        run(
            [volume()],
            [Deploy(at("00:00"), "v"), Delete(at("01:00"), "v"), ResizeVolume(at("02:00"), "v", 8)],
        )
    assert (error.value.field, error.value.value) == ("status", "deleted")


def test_ST1_size_must_be_whole_tib() -> None:
    """ST1: size_tib is a whole number of TiB >= 1, at construction and on resize."""
    for size in (0, -1, 1.5, True):
        with pytest.raises(InvalidArgument) as error:
            StorageVolume("v", size_tib=size)  # type: ignore[arg-type]
        assert error.value.field == "size_tib"
    with pytest.raises(InvalidArgument) as error:
        ResizeVolume(at("01:00"), "v", 0)
    assert error.value.field == "size_tib"


# -- ST2 resizing -----------------------------------------------------------------------------------


def test_ST2_increase_at_any_time_bills_each_size_for_its_time() -> None:
    """ST2: 4 TiB for 2 h, then 10 TiB for 3 h, then 6 TiB for 1 h (decrease allowed by default)."""
    result = run(
        [volume(size=4)],
        [
            Deploy(at("00:00"), "v"),
            ResizeVolume(at("02:00"), "v", 10),
            ResizeVolume(at("05:00"), "v", 6),
            Delete(at("06:00"), "v"),
        ],
    )
    assert sum(line.quantity for line in result.lines) == (4 * 2 + 10 * 3 + 6 * 1) * 60
    assert result.total.amount == (4 * 2 + 10 * 3 + 6) * ON_DEMAND
    resized = [e for e in result.log if e.action == "resized"]
    assert [e.detail for e in resized] == ["4 -> 10 TiB", "10 -> 6 TiB"]
    assert {e.rule for e in resized} == {"ST2"}


def test_ST2_shrink_through_the_account_team_policy() -> None:
    """ST2 (P-SHRINK account-team): a decrease needs via_account_team=True, else field via_account_team."""
    policies = Policies(storage_shrink="account-team")
    base = [Deploy(at("00:00"), "v")]
    with pytest.raises(InvalidTimeline) as error:
        run([volume(size=4)], [*base, ResizeVolume(at("01:00"), "v", 2)], policies=policies)
    assert (error.value.field, error.value.value) == ("via_account_team", False)
    assert "account team" in error.value.expected
    ok = run(
        [volume(size=4)],
        [*base, ResizeVolume(at("01:00"), "v", 2, via_account_team=True)],
        until="2025-11-03T02:00:00Z",
        policies=policies,
    )
    assert ok.total.amount == (4 + 2) * ON_DEMAND
    grown = run(
        [volume(size=4)],
        [*base, ResizeVolume(at("01:00"), "v", 8)],
        until="2025-11-03T02:00:00Z",
        policies=policies,
    )
    assert grown.total.amount == (4 + 8) * ON_DEMAND


def test_ST2_shrink_forbidden_policy() -> None:
    """ST2 (P-SHRINK forbidden): any decrease raises field size_tib, even via the account team."""
    policies = Policies(storage_shrink=ShrinkPolicy.FORBIDDEN)
    for via in (False, True):
        with pytest.raises(InvalidTimeline) as error:
            run(
                [volume(size=4)],
                [Deploy(at("00:00"), "v"), ResizeVolume(at("01:00"), "v", 3, via_account_team=via)],
                policies=policies,
            )
        assert (error.value.field, error.value.value) == ("size_tib", 3)
    same = run(
        [volume(size=4)],
        [Deploy(at("00:00"), "v"), ResizeVolume(at("01:00"), "v", 4)],
        until="2025-11-03T02:00:00Z",
        policies=policies,
    )
    assert same.total.amount == 4 * 2 * ON_DEMAND


def test_ST2_shrink_policy_default_is_allowed() -> None:
    """ST2: the default edition (2025-11-08 docs) lets a volume shrink freely."""
    assert Policies().storage_shrink is ShrinkPolicy.ALLOWED
    assert Policies(storage_shrink="forbidden").storage_shrink is ShrinkPolicy.FORBIDDEN


def test_ST2_unknown_shrink_policy_is_an_invalid_argument() -> None:
    """ST2, errors: storage_shrink='sometimes' raises InvalidArgument naming storage_shrink."""
    with pytest.raises(InvalidArgument) as error:
        Policies(storage_shrink="sometimes")
    assert error.value.field == "storage_shrink"


def test_ST2_resize_within_a_minute_keeps_started_minutes() -> None:
    """ST2, G3: growing 1 -> 3 TiB at 00:00:30 bills the 2 new TiB from their own started minute."""
    result = run(
        [volume(size=1)],
        [Deploy(at("00:00"), "v"), ResizeVolume(at("00:00:30"), "v", 3), Delete(at("00:02"), "v")],
    )
    # 1 TiB x 2 minutes + 2 TiB x 2 started minutes (00:00:30-00:01:30, 00:01:30-00:02).
    assert sum(line.quantity for line in result.lines) == 1 * 2 + 2 * 2


# -- ST3 volumes and clusters -------------------------------------------------------------------------


def test_ST3_volume_outlives_its_cluster() -> None:
    """ST3: deleting an on-demand cluster leaves its volume running and billing until deleted."""
    cluster = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    result = run(
        [cluster, volume(size=2, cluster="c")],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "v"),
            Delete(at("01:00"), "c"),
            Delete(at("05:00"), "v"),
        ],
    )
    assert result.state.status("c") == "deleted"
    assert result.state.status("v") == "deleted"
    assert storage_by_rate(result) == {ON_DEMAND: 2 * 5 * 60}
    # An on-demand cluster never makes its volume reserved, so no repricing entry.
    assert not [e for e in result.log if e.rule == "ST3"]


def test_ST3_early_termination_keeps_the_reserved_storage_rate_to_the_paid_end() -> None:
    """ST3, W28: a reserved cluster terminated early keeps its volume at the reserved storage
    rate until the reservation's paid end (non-refundable, CL2), then on demand (W32)."""
    result = run(
        [reserved_cluster(days=1), volume(size=2, cluster="c")],
        [Deploy(at("00:00"), "c"), Deploy(at("00:00"), "v"), Delete(at("06:00"), "c")],
        until="2025-11-05T00:00:00Z",
    )
    assert storage_by_rate(result) == {RESERVED: 2 * 24 * 60, ON_DEMAND: 2 * 24 * 60}
    (entry,) = [e for e in result.log if e.rule == "ST3"]
    assert (entry.at.isoformat(), entry.action) == (
        "2025-11-04T00:00:00+00:00",
        "storage priced on-demand",
    )


def test_ST3_volume_created_before_the_cluster_is_ready_is_repriced_at_ready() -> None:
    """ST3: a volume billing on demand moves to the reserved rate when its reservation starts."""
    result = run(
        [reserved_cluster(days=1), volume(size=1, cluster="c")],
        [
            Deploy(at("00:00"), "v"),
            Deploy(at("01:00"), "c", ready=False),
            Ready(at("02:00"), "c"),
        ],
        until="2025-11-04T04:00:00Z",
    )
    # On demand 00:00-02:00 and after 02:00 next day; reserved for the 24 h in between.
    assert storage_by_rate(result) == {ON_DEMAND: (2 + 2) * 60, RESERVED: 24 * 60}
    st3 = [(e.at.isoformat(), e.action) for e in result.log if e.rule == "ST3"]
    assert st3 == [
        ("2025-11-03T02:00:00+00:00", "storage priced reserved"),
        ("2025-11-04T02:00:00+00:00", "storage priced on-demand"),
    ]


def test_ST3_volume_of_a_failed_cluster_stays_on_demand() -> None:
    """ST3: a reservation that never starts never gives its volume the reserved rate."""
    result = run(
        [reserved_cluster(), volume(size=1, cluster="c")],
        [
            Deploy(at("00:00"), "v"),
            Deploy(at("00:00"), "c", ready=False),
            DeployFailed(at("01:00"), "c"),
        ],
        until="2025-11-03T03:00:00Z",
    )
    assert storage_by_rate(result) == {ON_DEMAND: 3 * 60}


def test_ST3_volume_created_during_and_after_the_reservation() -> None:
    """ST3: created while the reservation runs, it starts reserved; created after its end, on demand."""
    result = run(
        [reserved_cluster(days=1), volume("during", 1, "c"), volume("after", 1, "c")],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("12:00"), "during"),
            Deploy(at("00:00", "2025-11-04"), "after"),
        ],
        until="2025-11-04T06:00:00Z",
    )
    during = [line for line in result.lines if line.resource == "during"]
    after = [line for line in result.lines if line.resource == "after"]
    assert sorted((line.rate, line.quantity) for line in during) == [
        (RESERVED, 12 * 60),
        (ON_DEMAND, 6 * 60),
    ]
    assert [(line.rate, line.quantity) for line in after] == [(ON_DEMAND, 6 * 60)]
    created = {e.resource: e.detail for e in result.log if e.action == "created"}
    assert created == {"during": "1 TiB, reserved", "after": "1 TiB, on-demand"}


def test_ST3_extension_keeps_the_reserved_storage_rate() -> None:
    """ST3, CL5: extending the reservation keeps its volume at the reserved rate to the new end."""
    result = run(
        [reserved_cluster(days=1), volume(size=1, cluster="c")],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "v"),
            ExtendReservation(at("12:00"), "c", 2),
        ],
        until="2025-11-07T00:00:00Z",
    )
    assert storage_by_rate(result) == {RESERVED: 72 * 60, ON_DEMAND: 24 * 60}
    st3 = [e.at.isoformat() for e in result.log if e.rule == "ST3"]
    assert st3 == ["2025-11-06T00:00:00+00:00"]


def test_ST3_without_a_reserved_storage_rate_everything_is_on_demand() -> None:
    """ST3 (facts C22): with only an on-demand storage price, a reserved cluster's volume bills on demand."""
    result = run(
        [reserved_cluster(days=1), volume(size=2, cluster="c")],
        [Deploy(at("00:00"), "c"), Deploy(at("00:00"), "v")],
        until="2025-11-05T00:00:00Z",
        catalog=ON_DEMAND_ONLY,
    )
    assert storage_by_rate(result) == {ON_DEMAND: 2 * 48 * 60}
    assert not [e for e in result.log if e.rule == "ST3"]


def test_ST3_volume_without_cluster_is_always_on_demand() -> None:
    """ST3: a volume attached to nothing is priced on demand even while a reservation runs."""
    result = run(
        [reserved_cluster(days=1), volume(size=1)],
        [Deploy(at("00:00"), "c"), Deploy(at("00:00"), "v")],
        until="2025-11-03T05:00:00Z",
    )
    assert storage_by_rate(result) == {ON_DEMAND: 5 * 60}


def test_ST3_resize_during_the_reservation_bills_the_new_size_at_the_reserved_rate() -> None:
    """ST2, ST3: a resize while reserved, then the end of the reservation: each size at its rate."""
    result = run(
        [reserved_cluster(days=1), volume(size=2, cluster="c")],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "v"),
            ResizeVolume(at("06:00"), "v", 5),
            ResizeVolume(at("02:00", "2025-11-04"), "v", 3),
        ],
        until="2025-11-04T04:00:00Z",
    )
    assert storage_by_rate(result) == {
        RESERVED: (2 * 6 + 5 * 18) * 60,
        ON_DEMAND: (5 * 2 + 3 * 2) * 60,
    }


def test_ST3_volume_attached_to_an_unknown_cluster_names_field_cluster() -> None:
    """ST3: a volume attached to a cluster not in the scenario raises InvalidArgument field cluster."""
    with pytest.raises(InvalidArgument) as error:
        run([volume(cluster="nope")], [Deploy(at("00:00"), "v")])
    assert (error.value.field, error.value.value) == ("cluster", "nope")
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
    catalog = CATALOG.with_entries(HardwarePrice("1x_g", "1", E))
    with pytest.raises(InvalidArgument) as error:
        run([endpoint, volume(cluster="ep")], [Deploy(at("00:00"), "v")], catalog=catalog)
    assert (error.value.field, error.value.value) == ("cluster", "ep")


# -- Default catalog ------------------------------------------------------------------------------


def test_default_catalog_has_no_storage_price() -> None:
    """ST1, C23: the default catalog ships no storage rate, so a volume raises UnknownPrice naming storage."""
    with pytest.raises(UnknownPrice) as error:
        simulate(
            [volume()],
            [Deploy(at("00:00"), "v")],
            until="2025-11-04T00:00:00Z",
        )
    assert error.value.field == "storage"
    assert error.value.value == "on-demand"
    assert "storage" in str(error.value)


def test_ST3_only_the_terminated_clusters_volumes_move_to_on_demand() -> None:
    """ST3: ending one cluster reprices its volume, even when another cluster's volume
    sorts first (volumes are kept in id order); the other volume keeps its reserved rate."""
    result = run(
        [
            reserved_cluster("a", days=30),
            reserved_cluster("b", days=1),
            volume("u", size=1, cluster="a"),
            volume("v", size=2, cluster="b"),
        ],
        [
            *(Deploy(at("00:00"), ident) for ident in ("a", "b", "u", "v")),
            Delete(at("06:00"), "b"),
        ],
        until="2025-11-05T00:00:00Z",
    )
    assert [(e.resource, e.action) for e in result.log if e.rule == "ST3"] == [
        ("v", "storage priced on-demand")
    ]
    by_volume = {
        ident: {
            line.rate: line.quantity for line in storage_lines(result) if line.resource == ident
        }
        for ident in ("u", "v")
    }
    assert by_volume == {
        "v": {RESERVED: 2 * 24 * 60, ON_DEMAND: 2 * 24 * 60},
        "u": {RESERVED: 48 * 60},
    }


def test_ST1_credits_are_drawn_at_the_rate_each_volume_is_billed_at() -> None:
    """ST1, ST3, CR1: with both storage rates in the catalog, a volume on no cluster draws
    credits at the on-demand rate and one attached to a reservation at the reserved rate."""
    result = run(
        [
            reserved_cluster("c", days=30),
            volume("free", size=1),
            volume("v", size=1, cluster="c"),
            Account(opening_balance=10_000),
        ],
        [Deploy(at("00:00"), ident) for ident in ("c", "free", "v")],
        until=at("10:00"),
    )
    drawn = {
        ident: -sum(e.amount for e in result.ledger if e.resource == ident)
        for ident in ("free", "v")
    }
    assert drawn == {"free": 10 * ON_DEMAND, "v": 10 * RESERVED}
