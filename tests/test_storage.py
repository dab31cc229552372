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
from tests import replays as rp
from tests.replays import EP0, LATE_RESERVED_STORAGE, NO_ALERTS, error_of, iso, log_of

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


# -- Log, lines and errors of volumes (ST1-ST3), pinned down by mutation testing (docs/mutation.md) --


@pytest.mark.parametrize(
    ("events", "policies", "expected"),
    [
        (
            [Deploy(rp.at("00:00"), "v", ready=False)],
            None,
            ("ready", False, "True: a volume bills from its creation (ST1)"),
        ),
        (
            [ResizeVolume(rp.at("00:00"), "v", 3)],
            None,
            ("status", "not deployed", "an existing volume"),
        ),
        ([Delete(rp.at("00:00"), "v")], None, ("status", "not deployed", "an existing volume")),
        (
            [Deploy(rp.at("00:00"), "v"), Deploy(rp.at("01:00"), "v")],
            None,
            ("status", "running", "a volume not yet created"),
        ),
        (
            [Deploy(rp.at("00:00"), "v"), Delete(rp.at("01:00"), "v"), Delete(rp.at("02:00"), "v")],
            None,
            ("status", "deleted", "an existing volume"),
        ),
        (
            [Deploy(rp.at("00:00"), "v"), Stop(rp.at("01:00"), "v")],
            None,
            (
                "resource",
                "v",
                (
                    "a resource this event applies to; a StorageVolume takes Deploy, "
                    "ResizeVolume and Delete (it bills until deleted)"
                ),
            ),
        ),
        (
            [Deploy(rp.at("00:00"), "v"), ResizeVolume(rp.at("01:00"), "v", 1)],
            Policies(storage_shrink="forbidden"),
            ("size_tib", 1, "at least 2 TiB (P-SHRINK: forbidden)"),
        ),
        (
            [Deploy(rp.at("00:00"), "v"), ResizeVolume(rp.at("01:00"), "v", 1)],
            Policies(storage_shrink="account-team"),
            (
                "via_account_team",
                False,
                "True: below 2 TiB, volumes shrink only through the account team (P-SHRINK)",
            ),
        ),
    ],
)
def test_volume_event_errors(
    events: list[Event], policies: Policies | None, expected: tuple[object, ...]
) -> None:
    """Volume events out of place, and shrinks the P-SHRINK policy forbids, raise precisely."""
    volume = StorageVolume("v", size_tib=2)
    assert error_of([volume], events, policies=policies) == expected


@pytest.mark.parametrize(
    ("policy", "event"),
    [
        ("forbidden", ResizeVolume(rp.at("01:00"), "v", 2)),
        ("account-team", ResizeVolume(rp.at("01:00"), "v", 1, via_account_team=True)),
        ("account-team", ResizeVolume(rp.at("01:00"), "v", 3)),
        ("allowed", ResizeVolume(rp.at("01:00"), "v", 1)),
    ],
)
def test_volume_resizes_the_shrink_policy_allows(policy: str, event: ResizeVolume) -> None:
    """P-SHRINK: same size, growth, shrink through the account team, or any shrink when allowed."""
    volume = StorageVolume("v", size_tib=2)
    result = rp.run(
        [volume], [Deploy(rp.at("00:00"), "v"), event], policies=Policies(storage_shrink=policy)
    )
    assert log_of(result)[-1] == (
        iso("01:00"),
        "v",
        "resized",
        "ST2",
        f"2 -> {event.size_tib} TiB",
    )


@pytest.mark.parametrize("cluster", ["ep", "nowhere"])
def test_volume_attached_to_something_else_than_a_cluster(cluster: str) -> None:
    """A volume's cluster must be an InstantCluster of the scenario."""
    volume = StorageVolume("v", size_tib=2, cluster=cluster)
    with pytest.raises(InvalidArgument) as info:
        rp.run([volume, EP0], [])
    assert (info.value.field, info.value.value, info.value.expected) == (
        "cluster",
        cluster,
        "the id of an InstantCluster of the scenario (volume 'v')",
    )


def test_volume_of_a_reserved_cluster_without_a_reserved_storage_rate() -> None:
    """ST3: without a reserved storage rate in the catalog, the volume stays at the on-demand rate, silently."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    alone = StorageVolume("w", size_tib=1)
    result = rp.run(
        [Account(opening_balance="1000"), cluster, attached, alone],
        [
            Deploy(rp.at("00:00"), "v"),
            Deploy(rp.at("00:00"), "w"),
            Deploy(rp.at("01:00"), "c"),
            Delete(rp.at("12:00"), "c"),
        ],
        until=rp.at("18:00"),
        policies=NO_ALERTS,
    )
    assert [(e.resource, e.action) for e in result.log] == [
        ("account", "account opened"),
        ("v", "created"),
        ("w", "created"),
        ("c", "ready"),
        ("c", "terminated"),
    ]
    assert [(line.resource, line.description, line.amount) for line in result.lines] == [
        ("c", "G reservation of 8 GPUs", Decimal("960.00")),
        ("v", "shared volume storage (on-demand rate)", Decimal("9.00")),
        ("w", "shared volume storage (on-demand rate)", Decimal("4.50")),
    ]
    # Both volumes draw at the on-demand rate ($0.25 per TiB-hour) all along; v's draw is
    # booked when its cluster's reservation starts (its billing is looked at again), the
    # rest at the end.
    assert [(e.at_micros, e.amount, e.resource) for e in result.ledger[1:]] == [
        (1762131600000000, Decimal("-0.50"), "v"),
        (1762192800000000, Decimal("-8.50"), "v"),
        (1762192800000000, Decimal("-4.50"), "w"),
    ]


def test_volume_bills_on_demand_until_the_reserved_storage_rate_takes_effect() -> None:
    """ST3/G4: a volume of a reserved cluster bills on demand until the first reserved storage rate exists."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    result = rp.run(
        [cluster, attached],
        [Deploy(rp.at("00:00"), "v"), Deploy(rp.at("01:00"), "c"), Delete(rp.at("12:00"), "c")],
        until=rp.at("18:00"),
        catalog=LATE_RESERVED_STORAGE,
    )
    assert [(e.at.isoformat(), e.resource, e.action, e.rule, e.detail) for e in result.log][2:] == [
        (iso("01:00"), "v", "storage priced reserved", "ST3", "cluster c"),
        (
            iso("12:00"),
            "c",
            "terminated",
            "CL5",
            f"reservation to {iso('01:00', '05')} is not refunded (CL2)",
        ),
    ]
    # On demand 00:00-06:00, reserved from 06:00: the early termination keeps the reserved
    # storage rate to the reservation's paid end (ST3, CL2).
    assert [
        (line.description, line.quantity, line.amount, line.interval.start.isoformat())
        for line in result.lines
        if line.resource == "v"
    ] == [
        ("shared volume storage (on-demand rate)", Decimal(720), Decimal("3.00"), iso("00:00")),
        ("shared volume storage (reserved rate)", Decimal(1440), Decimal("4.80"), iso("06:00")),
    ]


def test_volume_draws_what_it_bills_before_and_after_a_reserved_rate_exists() -> None:
    """CR1/IN3: what a volume draws from the credits equals what its invoice lines charge.

    Before the first reserved storage rate takes effect, a volume priced 'reserved'
    bills and draws on demand; it draws at the reserved rate once that exists.
    """
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    result = rp.run(
        [Account(opening_balance="1000"), cluster, attached],
        [Deploy(rp.at("00:00"), "v"), Deploy(rp.at("01:00"), "c"), Delete(rp.at("12:00"), "c")],
        until=rp.at("18:00"),
        catalog=LATE_RESERVED_STORAGE,
        policies=NO_ALERTS,
    )
    drawn = -sum(e.amount for e in result.ledger if e.resource == "v")
    billed = sum(line.amount_exact for line in result.lines if line.resource == "v")
    assert drawn == billed == Decimal("7.80")


def test_revoked_storage_that_bills_is_charged_until_its_data_is_deleted() -> None:
    """CR5/P-REVOKED-BILLS: a revoked volume that keeps billing is charged up to the end of its grace period."""
    volume = StorageVolume("v", size_tib=4)
    result = rp.run(
        [Account(opening_balance="5"), volume],
        [Deploy(rp.at("00:00"), "v")],
        until="2025-11-06T00:00:00Z",
        policies=Policies(
            alert_thresholds=[],
            credit_floor=0,
            grace_storage_hours=24,
            revoked_storage_bills=True,
        ),
    )
    assert log_of(result)[-3:] == [
        (
            iso("05:00"),
            "v",
            "access revoked",
            "CR5",
            "data deleted unless credits are restored within 24 h (P-GRACE-STORAGE)",
        ),
        # The grace period is no longer than the alert lead: the alert comes at once.
        (
            iso("05:00"),
            "v",
            "alert",
            "CR6",
            "the volume's data will be deleted in 24 h unless credits are restored (CR5)",
        ),
        (iso("05:00", "04"), "v", "data deleted", "CR5", "credits were not restored"),
    ]
    (line,) = result.lines
    assert (line.quantity, line.amount, line.interval.end.isoformat()) == (
        Decimal(4 * 29 * 60),
        Decimal("29.00"),
        iso("05:00", "04"),
    )


def test_storage_price_changes_do_not_split_other_draws() -> None:
    """CR1: an endpoint's credits are drawn at its own events; a storage price change is no reason to draw."""
    catalog = rp.CATALOG.with_entries(StoragePrice("on-demand", "0.30", rp.at("01:00")))
    result = rp.run(
        [Account(opening_balance="100"), EP0],
        [Deploy(rp.at("00:00"), "ep"), Stop(rp.at("02:00"), "ep")],
        until=rp.at("03:00"),
        catalog=catalog,
        policies=NO_ALERTS,
    )
    assert [(e.at_micros, e.amount) for e in result.ledger] == [
        (1762128000000000, Decimal(100)),
        (1762135200000000, Decimal(-12)),
    ]
