"""Instant GPU clusters (CL1-CL6) and their invoice breakdown (IN2).

Worked examples W27 and W28 of the facts file, then one group of tests per rule.
Every test uses a tiny catalog of user prices built here (reserved 2.50 and
on-demand 3.75 USD per GPU-hour for the GPU type ``G``), so the figures do not
depend on the default catalog; the last tests check the default catalog's
H100_SXM estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest
import yaml
from tests import replays as rp
from tests.replays import (
    CATALOG_RESERVED_STORAGE,
    LATE_RESERVED_STORAGE,
    NO_ALERTS,
    UNTIL,
    error_of,
    iso,
    lines_of,
    log_of,
)

from together_billing import (
    Account,
    Catalog,
    Category,
    ClusterBilling,
    ClusterPrice,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    InstantCluster,
    InvalidArgument,
    InvalidScenario,
    InvalidTimeline,
    InvoiceLine,
    InvoiceStatus,
    MeteringGrain,
    Policies,
    PriceChange,
    Ready,
    Requests,
    ResizeVolume,
    Resource,
    ScaleGpus,
    SimulationResult,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    UnknownPrice,
    default_catalog,
    instant,
    simulate,
)
from together_billing.scenario import ScenarioDoc

E = "2025-01-01T00:00:00Z"
DAY = "2025-11-03"
RESERVED = Decimal("2.50")
ON_DEMAND = Decimal("3.75")
STORAGE = Decimal("0.25")

CATALOG = Catalog(
    [
        ClusterPrice("G", "reserved", RESERVED, E),
        ClusterPrice("G", "on-demand", ON_DEMAND, E),
        StoragePrice("on-demand", STORAGE, E),
    ]
)


def at(hhmm: str, day: str = DAY) -> str:
    """An instant, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC, on the test day unless ``day`` is given."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


def reserved(
    ident: str = "c", *, gpus: int = 8, reserved_gpus: int = 8, days: int = 30
) -> InstantCluster:
    return InstantCluster(
        ident,
        gpu_type="G",
        billing="reserved",
        gpus=gpus,
        reserved_gpus=reserved_gpus,
        duration_days=days,
    )


def on_demand(ident: str = "c", *, gpus: int = 8) -> InstantCluster:
    return InstantCluster(ident, gpu_type="G", billing="on-demand", gpus=gpus)


def run(
    resources: Iterable[Resource],
    events: Sequence[Event],
    until: str = "2025-12-31T00:00:00Z",
    policies: Policies | None = None,
    catalog: Catalog = CATALOG,
) -> SimulationResult:
    return simulate(resources, events, until=until, catalog=catalog, policies=policies)


def amounts(result: SimulationResult, category: Category) -> Decimal:
    """The exact amount of every line of ``category``, all invoices."""
    return sum(
        (line.amount_exact for line in result.lines if line.category is category), Decimal(0)
    )


def lines(result: SimulationResult, category: Category) -> list[InvoiceLine]:
    return [line for line in result.lines if line.category is category]


def actions(result: SimulationResult) -> list[tuple[str, str, str]]:
    return [(entry.resource, entry.action, entry.rule) for entry in result.log]


# -- Worked examples -----------------------------------------------------------------------------


def test_W27_reservation_upfront_plus_burst_on_its_own_line() -> None:
    """W27: 8 GPUs reserved 30 days at r, burst to 16 for h=5 h at o: 8x720xr up front, 8x5xo apart."""
    result = run(
        [reserved(days=30)],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("10:00"), "c", 16),
            ScaleGpus(at("15:00"), "c", 8),
        ],
    )
    november = result.invoice("2025-11")
    (upfront,) = [line for line in november if line.category is Category.RESERVED_COMPUTE]
    (burst,) = [line for line in november if line.category is Category.BURST_COMPUTE]
    assert upfront.amount == 8 * 720 * RESERVED == Decimal("14400.00")
    assert (upfront.quantity, upfront.unit, upfront.rate) == (8 * 720, "GPU-hour", RESERVED)
    assert upfront.rule == "CL2"
    assert burst.amount_exact == 8 * 5 * ON_DEMAND == Decimal("150.00")
    assert (burst.quantity, burst.unit, burst.rate) == (8 * 5 * 60, "GPU-minute", ON_DEMAND)
    assert burst.rule == "CL3"
    assert burst is not upfront
    assert burst.description != upfront.description
    assert result.total.amount == Decimal("14550.00")
    # Nothing else: the reservation is not billed again in December.
    assert len(result.lines) == 2


def test_W28_reserved_cluster_cancelled_early_is_not_refunded() -> None:
    """W28: terminating a 30-day reservation after 3 days still costs the full 30 days; no refund line."""
    events: list[Event] = [Deploy(at("00:00"), "c"), ScaleGpus(at("00:00"), "c", 16)]
    kept = run([reserved(days=30)], events)
    cancelled = run([reserved(days=30)], [*events, Delete(at("00:00", "2025-11-06"), "c")])
    reserved_line = lines(cancelled, Category.RESERVED_COMPUTE)
    assert reserved_line == lines(kept, Category.RESERVED_COMPUTE)
    assert amounts(cancelled, Category.RESERVED_COMPUTE) == 8 * 720 * RESERVED
    assert all(line.amount >= 0 for line in cancelled.lines)
    # Burst stops at termination (3 days of 8 burst GPUs); the reservation does not shrink.
    assert amounts(cancelled, Category.BURST_COMPUTE) == 8 * 72 * ON_DEMAND
    (terminated,) = [e for e in cancelled.log if e.action == "terminated"]
    assert terminated.rule == "CL5"
    assert "not refunded" in terminated.detail
    assert cancelled.state.status("c") == "deleted"
    # No decommission or alert for a cluster already terminated.
    assert ("c", "decommissioned", "CL5") not in actions(cancelled)
    assert ("c", "alert", "CL5") not in actions(cancelled)


# -- CL1 billing options ---------------------------------------------------------------------------


def test_CL1_reserved_and_on_demand_bill_in_their_own_categories() -> None:
    """CL1: a reserved cluster yields a reserved-compute line, an on-demand one on-demand-compute only."""
    result = run(
        [reserved("r", days=1), on_demand("o")],
        [Deploy(at("00:00"), "r"), Deploy(at("00:00"), "o"), Stop(at("02:00"), "o")],
    )
    by_resource = {(line.resource, line.category) for line in result.lines}
    assert by_resource == {
        ("r", Category.RESERVED_COMPUTE),
        ("o", Category.ON_DEMAND_COMPUTE),
    }
    (od,) = lines(result, Category.ON_DEMAND_COMPUTE)
    assert od.rule == "CL4"
    assert od.amount == 8 * 2 * ON_DEMAND


def test_CL1_constructor_checks_each_billing_type() -> None:
    """CL1: a reservation needs days and reserved GPUs; on-demand takes neither; gpus >= reserved."""
    with pytest.raises(InvalidArgument) as error:
        InstantCluster("c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8)
    assert error.value.field == "duration_days"
    with pytest.raises(InvalidArgument) as error:
        InstantCluster("c", gpu_type="G", billing="reserved", gpus=8, duration_days=3)
    assert error.value.field == "reserved_gpus"
    with pytest.raises(InvalidArgument) as error:
        reserved(gpus=8, reserved_gpus=16)
    assert error.value.field == "gpus"
    with pytest.raises(InvalidArgument) as error:
        InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8, reserved_gpus=8)
    assert error.value.field == "reserved_gpus"
    with pytest.raises(InvalidArgument) as error:
        InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8, duration_days=3)
    assert error.value.field == "duration_days"
    assert reserved().reserved
    assert not on_demand().reserved
    assert reserved().billing is ClusterBilling.RESERVED


def test_CL1_unknown_billing_type_is_an_invalid_argument_naming_billing() -> None:
    """CL1, errors: billing='spot' raises InvalidArgument (a BillingError) with field 'billing'."""
    with pytest.raises(InvalidArgument) as error:
        InstantCluster("c", gpu_type="G", billing="spot", gpus=8)
    assert error.value.field == "billing"


@pytest.mark.parametrize("days", [0, 91, -1, True, 1.5])
def test_CL2_duration_outside_1_to_90_days_is_invalid(days: object) -> None:
    """CL2: duration_days must be a whole number of days from 1 to 90."""
    with pytest.raises(InvalidArgument) as error:
        reserved(days=days)  # type: ignore[arg-type]
    assert error.value.field == "duration_days"
    assert "1 to 90" in error.value.expected


@pytest.mark.parametrize("days", [1, 90])
def test_CL2_duration_bounds_are_valid(days: int) -> None:
    """CL2: 1 and 90 days are both valid and charged days x 24 h."""
    result = run([reserved(days=days)], [Deploy(at("00:00"), "c")], until="2026-03-01T00:00:00Z")
    (line,) = lines(result, Category.RESERVED_COMPUTE)
    assert line.quantity == 8 * 24 * days


# -- CL2 reservation charge ------------------------------------------------------------------------


def test_CL2_charged_in_full_at_the_ready_instant_not_while_provisioning() -> None:
    """CL2: provisioned on Nov 30, ready on Dec 1: the whole reservation is on December's invoice."""
    result = run(
        [reserved(days=10)],
        [
            Deploy(at("20:00", "2025-11-30"), "c", ready=False),
            Ready(at("01:30", "2025-12-01"), "c"),
        ],
        until="2025-12-02T00:00:00Z",
    )
    november, december = result.invoices
    assert november.lines == ()
    assert november.status is InvoiceStatus.FINAL
    (line,) = december.lines
    assert line.category is Category.RESERVED_COMPUTE
    assert line.amount == 8 * 240 * RESERVED
    assert line.interval.start.isoformat() == "2025-12-01T01:30:00+00:00"
    assert line.interval.end.isoformat() == "2025-12-11T01:30:00+00:00"
    assert ("c", "provisioning", "CL2") in actions(result)
    assert ("c", "ready", "CL2") in actions(result)


def test_CL2_the_draft_invoice_shows_the_full_reservation_right_after_ready() -> None:
    """CL2, IN4: one minute after it is ready, the draft invoice already carries the whole reservation."""
    result = run([reserved(days=30)], [Deploy(at("00:00"), "c")], until=at("00:01"))
    assert result.draft is not None
    assert result.draft.total.amount == 8 * 720 * RESERVED


def test_CL2_failed_or_deleted_provisioning_is_never_charged() -> None:
    """CL2: a reserved cluster that fails or is deleted before it is ready costs nothing."""
    result = run(
        [reserved("a"), reserved("b")],
        [
            Deploy(at("00:00"), "a", ready=False),
            DeployFailed(at("01:00"), "a"),
            Deploy(at("00:00"), "b", ready=False),
            Delete(at("02:00"), "b"),
        ],
    )
    assert result.lines == ()
    assert result.total.amount == 0
    assert result.state.status("a") == "failed"
    assert ("a", "provisioning failed", "CL2") in actions(result)


def test_CL2_reserved_rate_in_force_at_ready_applies() -> None:
    """CL2, G4: a reserved-rate change between provisioning and ready prices the reservation."""
    result = run(
        [reserved(days=1)],
        [
            Deploy(at("00:00"), "c", ready=False),
            PriceChange(ClusterPrice("G", "reserved", "2.00", at("06:00"))),
            Ready(at("12:00"), "c"),
        ],
    )
    (line,) = lines(result, Category.RESERVED_COMPUTE)
    assert line.rate == Decimal("2.00")
    assert line.amount == 8 * 24 * Decimal("2.00")


def test_CL2_payment_policy_does_not_change_the_charge() -> None:
    """CL2 (P-RESERVE-PAY): paid up front or from credits, the reservation is charged at provisioning."""
    events = [Deploy(at("00:00"), "c")]
    upfront = run([reserved()], events)
    credits = run([reserved()], events, policies=Policies(reservation_payment="credits"))
    assert upfront.to_dict()["invoices"] == credits.to_dict()["invoices"]
    assert "credits" in credits.log[0].detail


def test_CL2_missing_reserved_rate_is_an_unknown_price() -> None:
    """CL2, G4: no reserved rate for the GPU type raises UnknownPrice naming it."""
    catalog = Catalog([ClusterPrice("G", "on-demand", ON_DEMAND, E)])
    with pytest.raises(UnknownPrice) as error:
        run([reserved()], [Deploy(at("00:00"), "c")], catalog=catalog)
    assert "reserved" in error.value.field
    assert error.value.value == "G"


# -- CL3 burst ------------------------------------------------------------------------------------


def test_CL3_gpus_above_the_reservation_from_the_start_burst() -> None:
    """CL3: a 24-GPU cluster reserving 16 bursts 8 GPUs from ready; 32 GPUs then burst 16."""
    result = run(
        [reserved(gpus=24, reserved_gpus=16, days=1)],
        [Deploy(at("00:00"), "c"), ScaleGpus(at("02:00"), "c", 32), Delete(at("03:00"), "c")],
    )
    (upfront,) = lines(result, Category.RESERVED_COMPUTE)
    assert upfront.amount == 16 * 24 * RESERVED
    (burst,) = lines(result, Category.BURST_COMPUTE)
    # 8 GPUs x 120 min + 16 GPUs x 60 min.
    assert burst.quantity == 8 * 120 + 16 * 60
    assert burst.amount_exact == (8 * 2 + 16 * 1) * ON_DEMAND
    assert burst.category.group == "deployment"


def test_CL3_scaling_below_the_reservation_bills_nothing_more() -> None:
    """CL3: scaling down to 8 of 16 reserved GPUs and back to 16 adds no line."""
    result = run(
        [reserved(gpus=16, reserved_gpus=16, days=2)],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("01:00"), "c", 8),
            ScaleGpus(at("05:00"), "c", 16),
        ],
    )
    assert [line.category for line in result.lines] == [Category.RESERVED_COMPUTE]
    assert lines(result, Category.RESERVED_COMPUTE)[0].amount == 16 * 48 * RESERVED
    (scaled, *_) = [e for e in result.log if e.action == "GPUs changed"]
    assert scaled.rule == "CL3"
    assert "0 burst" in scaled.detail


def test_CL3_burst_counts_started_minutes_of_each_gpu_group() -> None:
    """CL3 (P-GRAIN for clusters): burst from 10:00:30 to 10:02:00 is 2 started minutes per GPU."""
    result = run(
        [reserved(days=1)],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("10:00:30"), "c", 16),
            ScaleGpus(at("10:02"), "c", 8),
        ],
    )
    (burst,) = lines(result, Category.BURST_COMPUTE)
    assert burst.quantity == 8 * 2


def test_CL3_burst_uses_the_on_demand_rate_and_its_changes() -> None:
    """CL3, G4: burst is priced at the on-demand rate in force, on one line per rate."""
    result = run(
        [reserved(days=1)],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("01:00"), "c", 16),
            PriceChange(ClusterPrice("G", "on-demand", "4.00", at("02:00"))),
            ScaleGpus(at("03:00"), "c", 8),
        ],
    )
    burst = lines(result, Category.BURST_COMPUTE)
    assert sorted((line.rate, line.quantity) for line in burst) == [
        (ON_DEMAND, 8 * 60),
        (Decimal("4.00"), 8 * 60),
    ]
    (upfront,) = lines(result, Category.RESERVED_COMPUTE)
    assert upfront.rate == RESERVED


def test_CL3_burst_across_a_month_boundary_splits_by_period() -> None:
    """CL3, G3: burst running over midnight Nov 30 is billed on each month's invoice for its minutes."""
    result = run(
        [reserved(days=2)],
        [
            Deploy(at("00:00", "2025-11-30"), "c"),
            ScaleGpus(at("23:00", "2025-11-30"), "c", 16),
            ScaleGpus(at("02:00", "2025-12-01"), "c", 8),
        ],
        until="2026-01-01T00:00:00Z",
    )
    november, december = result.invoices
    assert november.subtotals()[Category.BURST_COMPUTE].amount == 8 * 1 * ON_DEMAND
    assert december.subtotals()[Category.BURST_COMPUTE].amount == 8 * 2 * ON_DEMAND
    assert Category.RESERVED_COMPUTE not in december.subtotals()


# -- CL4 on-demand ----------------------------------------------------------------------------------


def test_CL4_on_demand_bills_running_time_only() -> None:
    """CL4: provisioning and stopped time are free; only the running intervals bill, no upfront line."""
    result = run(
        [on_demand(gpus=16)],
        [
            Deploy(at("00:00"), "c", ready=False),
            Ready(at("01:00"), "c"),
            Stop(at("03:00"), "c"),
            Start(at("10:00"), "c"),
            ScaleGpus(at("11:00"), "c", 8),
            Delete(at("12:00"), "c"),
        ],
    )
    assert {line.category for line in result.lines} == {Category.ON_DEMAND_COMPUTE}
    # 16 GPUs x 2 h + 16 x 1 h + 8 x 1 h.
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == (32 + 16 + 8) * ON_DEMAND
    assert ("c", "stopped", "CL4") in actions(result)
    assert ("c", "started", "CL4") in actions(result)
    assert ("c", "terminated", "CL4") in actions(result)


def test_CL4_restart_with_ready_false_is_provisioning_and_not_billed() -> None:
    """CL4, DE2: Start(ready=False) provisions the cluster again, unbilled; from Ready it bills its
    GPU count as scaled before the stop (16, not the 8 it was created with)."""
    result = run(
        [on_demand()],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("00:00"), "c", 16),
            Stop(at("01:00"), "c"),
            Start(at("02:00"), "c", ready=False),
            Ready(at("02:30"), "c"),
            Delete(at("03:00"), "c"),
        ],
    )
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 16 * Decimal("1.5") * ON_DEMAND
    assert ("c", "starting", "CL4") in actions(result)
    assert ("c", "started", "CL4") not in actions(result)


def test_CL4_on_demand_runs_until_terminated() -> None:
    """CL4, CL5: an on-demand cluster is never decommissioned automatically, even after 100 days."""
    result = run([on_demand()], [Deploy(at("00:00"), "c")], until="2026-02-11T00:00:00Z")
    assert result.state.status("c") == "running"
    assert not [e for e in result.log if e.action in ("alert", "decommissioned")]
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 8 * 100 * 24 * ON_DEMAND


def test_CL4_grain_policy_per_started_minute_and_per_hour() -> None:
    """CL4 (P-GRAIN for clusters): 90.5 minutes bill 91 minutes by default, 2 hours per hour."""
    events: list[Event] = [Deploy(at("00:00"), "c"), Stop(at("01:30:30"), "c")]
    minute = run([on_demand()], events)
    hour = run([on_demand()], events, policies=Policies(cluster_grain=MeteringGrain.PER_HOUR))
    (by_minute,) = minute.lines
    (by_hour,) = hour.lines
    assert (by_minute.quantity, by_minute.unit) == (8 * 91, "GPU-minute")
    assert (by_hour.quantity, by_hour.unit) == (8 * 2, "GPU-hour")
    assert by_hour.amount == 8 * 2 * ON_DEMAND


def test_CL4_cluster_grain_does_not_follow_the_endpoint_grain() -> None:
    """CL4: the endpoint grain (P-GRAIN) leaves cluster metering on its own policy."""
    events: list[Event] = [Deploy(at("00:00"), "c"), Stop(at("00:00:30"), "c")]
    result = run([on_demand()], events, policies=Policies(grain=MeteringGrain.PER_HOUR))
    assert result.lines[0].unit == "GPU-minute"


# -- CL5 lifecycle ------------------------------------------------------------------------------


def test_CL5_decommissioned_at_the_end_after_a_24_hour_alert() -> None:
    """CL5, CR6: a 2-day reservation alerts at day 1 and is decommissioned at day 2, both CL5."""
    result = run(
        [reserved(gpus=16, days=2)],
        [Deploy(at("06:00"), "c")],
        until="2025-11-10T00:00:00Z",
    )
    log = [(e.at.isoformat(), e.action, e.rule) for e in result.log]
    assert log == [
        ("2025-11-03T06:00:00+00:00", "ready", "CL2"),
        ("2025-11-04T06:00:00+00:00", "alert", "CL5"),
        ("2025-11-05T06:00:00+00:00", "decommissioned", "CL5"),
    ]
    assert "2025-11-05T06:00:00+00:00" in result.log[1].detail
    assert result.state.status("c") == "decommissioned"
    # The 8 burst GPUs stop with the reservation: 48 hours of them.
    assert amounts(result, Category.BURST_COMPUTE) == 8 * 48 * ON_DEMAND


def test_CL5_alert_lead_time_is_a_policy() -> None:
    """CL5: reservation_alert_hours=48 moves the alert; a lead longer than the reservation alerts at ready."""
    two_days = run(
        [reserved(days=3)],
        [Deploy(at("00:00"), "c")],
        policies=Policies(reservation_alert_hours=48),
    )
    (alert,) = [e for e in two_days.log if e.action == "alert"]
    assert alert.at.isoformat() == "2025-11-04T00:00:00+00:00"
    one_day = run([reserved(days=1)], [Deploy(at("09:00"), "c")])
    (alert,) = [e for e in one_day.log if e.action == "alert"]
    assert alert.at.isoformat() == "2025-11-03T09:00:00+00:00"


def test_CL5_extension_moves_the_end_and_is_charged_like_a_reservation() -> None:
    """CL5: extending by 5 days charges 8 x 120 h at the reserved rate now and moves alert and end."""
    result = run(
        [reserved(days=2)],
        [
            Deploy(at("00:00"), "c"),
            PriceChange(ClusterPrice("G", "reserved", "2.00", at("00:00", "2025-11-04"))),
            ExtendReservation(at("12:00", "2025-11-04"), "c", 5),
        ],
    )
    first, extension = sorted(lines(result, Category.RESERVED_COMPUTE), key=lambda x: x.rule)
    assert (first.rule, first.amount) == ("CL2", 8 * 48 * RESERVED)
    assert (extension.rule, extension.quantity, extension.rate) == ("CL5", 8 * 120, Decimal("2.00"))
    assert extension.amount == 8 * 120 * Decimal("2.00")
    assert extension.interval.start.isoformat() == "2025-11-05T00:00:00+00:00"
    assert extension.interval.end.isoformat() == "2025-11-10T00:00:00+00:00"
    log = [(e.at.isoformat(), e.action) for e in result.log if e.resource == "c"]
    assert log == [
        ("2025-11-03T00:00:00+00:00", "ready"),
        ("2025-11-04T00:00:00+00:00", "alert"),
        ("2025-11-04T12:00:00+00:00", "reservation extended"),
        ("2025-11-09T00:00:00+00:00", "alert"),
        ("2025-11-10T00:00:00+00:00", "decommissioned"),
    ]


def test_CL5_each_extension_line_states_its_own_quantity() -> None:
    """CL5, IN1: two 1-day extensions: every reserved-compute line's description matches its quantity."""
    result = run(
        [reserved(days=2)],
        [
            Deploy(at("00:00"), "c"),
            ExtendReservation(at("01:00"), "c", 1),
            ExtendReservation(at("02:00"), "c", 1),
        ],
    )
    assert amounts(result, Category.RESERVED_COMPUTE) == 8 * (48 + 24 + 24) * RESERVED
    by_rule = {line.rule: line for line in lines(result, Category.RESERVED_COMPUTE)}
    assert by_rule["CL2"].quantity == 8 * 48
    assert by_rule["CL5"].quantity == 8 * (24 + 24)
    for line in by_rule.values():
        # The description names the reservation, never one event's hours, so a merged
        # line of several extensions cannot contradict its quantity.
        assert " h" not in line.description, line.description
        assert "8 GPUs" in line.description


def test_CL5_extension_keeps_burst_running_to_the_new_end() -> None:
    """CL5, CL3: burst GPUs of an extended reservation run (and bill) until the new end."""
    result = run(
        [reserved(gpus=16, days=1)],
        [Deploy(at("00:00"), "c"), ExtendReservation(at("06:00"), "c", 1)],
    )
    assert amounts(result, Category.BURST_COMPUTE) == 8 * 48 * ON_DEMAND
    assert amounts(result, Category.RESERVED_COMPUTE) == 8 * 48 * RESERVED


def test_CL5_nothing_accrues_after_decommission() -> None:
    """CL5: replaying to later instants after the end leaves every compute total unchanged."""
    cluster = reserved(gpus=16, days=1)
    events = [Deploy(at("00:00"), "c")]
    totals = {
        until: (
            amounts(r, Category.RESERVED_COMPUTE),
            amounts(r, Category.BURST_COMPUTE),
        )
        for until in ("2025-11-04T00:00:00Z", "2025-11-20T00:00:00Z", "2026-03-01T00:00:00Z")
        for r in [run([cluster], events, until=until)]
    }
    assert len(set(totals.values())) == 1


def test_CL5_decommissioned_cluster_takes_no_more_events_but_can_be_deleted() -> None:
    """CL5: after its end a reserved cluster takes no scale or extension (each is a logged
    no-op: the engine decommissioned it); a Delete is accepted and free."""
    cluster = reserved(days=1)
    base = [Deploy(at("00:00"), "c")]
    late = at("00:00", "2025-11-05")
    for event, verb in (
        (ScaleGpus(late, "c", 16), "scale"),
        (ExtendReservation(late, "c", 1), "extension"),
    ):
        result = run([cluster], [*base, event])
        assert actions(result)[-1][1:] == (f"{verb} ignored", "CL5")
        assert result.total == run([cluster], base).total
    deleted = run([cluster], [*base, Delete(late, "c")])
    assert deleted.total == run([cluster], base).total
    assert deleted.state.status("c") == "deleted"


def test_CL5_terminating_at_the_reservation_end_does_not_decommission_twice() -> None:
    """CL5: at the exact end instant the customer's Delete comes first (the engine's reactions
    to an instant come after the customer's events): the cluster is terminated, not
    decommissioned, and charged nothing more."""
    alone = run([reserved(days=1)], [Deploy(at("00:00"), "c")])
    result = run(
        [reserved(days=1)], [Deploy(at("00:00"), "c"), Delete(at("00:00", "2025-11-04"), "c")]
    )
    acts = [a for _, a, _ in actions(result)]
    assert acts.count("decommissioned") == 0
    assert acts.count("terminated") == 1
    assert result.total == alone.total


@pytest.mark.parametrize("days", [91, 200])
def test_CL5_extension_of_more_than_90_days_is_invalid(days: int) -> None:
    """CL5, CL2: an extension is 1 to 90 days; more raises InvalidTimeline naming days."""
    with pytest.raises(InvalidTimeline) as error:
        run([reserved()], [Deploy(at("00:00"), "c"), ExtendReservation(at("01:00"), "c", days)])
    assert error.value.field == "days"


def test_CL5_extension_of_zero_days_is_invalid() -> None:
    """CL5: ExtendReservation(days=0) is rejected at construction."""
    with pytest.raises(InvalidArgument) as error:
        ExtendReservation(at("01:00"), "c", 0)
    assert error.value.field == "days"


# -- CL5/CL4 event errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Stop, Start])
def test_stop_or_start_on_a_reserved_cluster_names_the_resource(kind: type) -> None:
    """CL4, CL5: a reserved cluster cannot be paused or restarted; the error names field resource."""
    with pytest.raises(InvalidTimeline) as error:
        run([reserved()], [Deploy(at("00:00"), "c"), kind(at("01:00"), "c")])
    assert error.value.field == "resource"
    assert error.value.value == "c"


def test_extend_on_an_on_demand_cluster_names_the_resource() -> None:
    """CL5: only a reservation can be extended; on-demand raises InvalidTimeline field resource."""
    with pytest.raises(InvalidTimeline) as error:
        run([on_demand()], [Deploy(at("00:00"), "c"), ExtendReservation(at("01:00"), "c", 3)])
    assert error.value.field == "resource"
    assert "reserved" in error.value.expected


def test_extend_or_scale_before_ready_is_invalid() -> None:
    """CL2: a provisioning cluster cannot scale or extend (field status)."""
    for event in (ScaleGpus(at("01:00"), "c", 16), ExtendReservation(at("01:00"), "c", 1)):
        with pytest.raises(InvalidTimeline) as error:
            run([reserved()], [Deploy(at("00:00"), "c", ready=False), event])
        assert error.value.field == "status"
        assert error.value.value == "provisioning"


def test_cluster_events_of_other_resources_are_refused() -> None:
    """A cluster takes no ResizeVolume; a Deploy twice is a status error."""
    with pytest.raises(InvalidTimeline) as error:
        run([on_demand()], [Deploy(at("00:00"), "c"), ResizeVolume(at("01:00"), "c", 2)])
    assert error.value.field == "resource"
    with pytest.raises(InvalidTimeline) as error:
        run([on_demand()], [Deploy(at("00:00"), "c"), Deploy(at("01:00"), "c")])
    assert error.value.field == "status"


# -- CL6 GPU steps --------------------------------------------------------------------------------


@pytest.mark.parametrize("gpus", [4, 12, 20])
def test_CL6_gpus_not_a_multiple_of_8_name_field_gpus(gpus: int) -> None:
    """CL6 (P-GPU-STEP): a cluster of 12 GPUs, or scaling to 12, raises InvalidTimeline field gpus."""
    with pytest.raises(InvalidTimeline) as error:
        run([on_demand(gpus=gpus)], [Deploy(at("00:00"), "c")])
    assert (error.value.field, error.value.value) == ("gpus", gpus)
    with pytest.raises(InvalidTimeline) as error:
        run([on_demand()], [Deploy(at("00:00"), "c"), ScaleGpus(at("01:00"), "c", gpus)])
    assert (error.value.field, error.value.value) == ("gpus", gpus)
    assert "multiple of 8" in error.value.expected


def test_CL6_reserved_gpus_must_also_be_a_multiple_of_8() -> None:
    """CL6: reserving 4 of 8 GPUs raises InvalidTimeline field reserved_gpus when it is ready."""
    with pytest.raises(InvalidTimeline) as error:
        run([reserved(gpus=8, reserved_gpus=4)], [Deploy(at("00:00"), "c")])
    assert (error.value.field, error.value.value) == ("reserved_gpus", 4)


def test_CL6_gpu_step_is_a_policy() -> None:
    """CL6 (P-GPU-STEP): with gpu_step=4, 12 GPUs are accepted and bill 12 GPUs."""
    result = run(
        [on_demand(gpus=12)],
        [Deploy(at("00:00"), "c"), Stop(at("01:00"), "c")],
        policies=Policies(gpu_step=4),
    )
    assert result.lines[0].quantity == 12 * 60
    with pytest.raises(InvalidArgument) as error:
        Policies(gpu_step=0)
    assert error.value.field == "gpu_step"


# -- IN2 breakdown ---------------------------------------------------------------------------------


def test_IN2_reservation_burst_on_demand_and_storage_are_separate_subtotals() -> None:
    """IN2: one invoice separates reserved, burst, on-demand compute and storage, each subtotalled."""
    result = run(
        [reserved("r", gpus=16, days=1), on_demand("o"), StorageVolume("v", size_tib=2)],
        [
            Deploy(at("00:00"), "r"),
            Deploy(at("00:00"), "o"),
            Stop(at("03:00"), "o"),
            Deploy(at("00:00"), "v"),
            Delete(at("10:00"), "v"),
        ],
        until="2025-12-01T00:00:00Z",
    )
    (invoice,) = result.invoices
    subtotals = invoice.subtotals()
    assert list(subtotals) == [
        Category.RESERVED_COMPUTE,
        Category.BURST_COMPUTE,
        Category.ON_DEMAND_COMPUTE,
        Category.STORAGE,
    ]
    assert subtotals[Category.RESERVED_COMPUTE].amount == 8 * 24 * RESERVED
    assert subtotals[Category.BURST_COMPUTE].amount == 8 * 24 * ON_DEMAND
    assert subtotals[Category.ON_DEMAND_COMPUTE].amount == 8 * 3 * ON_DEMAND
    assert subtotals[Category.STORAGE].amount == 2 * 10 * STORAGE
    assert sum((m.amount for m in subtotals.values()), Decimal(0)) == invoice.total.amount
    assert invoice.total.amount == sum((line.amount for line in invoice.lines), Decimal(0))
    assert invoice.by_group() == {"deployment": invoice.total}
    assert invoice.to_dict()["subtotals"] == {
        "reserved-compute": "480.00",
        "burst-compute": "720.00",
        "on-demand-compute": "90.00",
        "storage": "5.00",
    }


# -- Default catalog -----------------------------------------------------------------------------


def test_default_catalog_prices_h100_sxm_clusters_as_estimates() -> None:
    """C23: the default catalog has H100_SXM reserved and on-demand rates, marked as estimates."""
    catalog = default_catalog()
    rates = {
        billing: catalog.cluster("H100_SXM", billing, instant(at("00:00"))).per_gpu_hour
        for billing in ClusterBilling
    }
    cluster = InstantCluster(
        "h", gpu_type="H100_SXM", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = simulate([cluster], [Deploy(at("00:00"), "h")], until="2025-11-05T00:00:00Z")
    assert {line.category for line in result.lines} == {
        Category.RESERVED_COMPUTE,
        Category.BURST_COMPUTE,
    }
    for line in result.lines:
        assert line.estimated is True
        assert line.to_dict()["price"]["estimated"] is True
    (upfront,) = lines(result, Category.RESERVED_COMPUTE)
    (burst,) = lines(result, Category.BURST_COMPUTE)
    assert upfront.rate == rates[ClusterBilling.RESERVED]
    assert burst.rate == rates[ClusterBilling.ON_DEMAND]
    assert upfront.amount_exact == 8 * 24 * rates[ClusterBilling.RESERVED]
    assert burst.amount_exact == 8 * 24 * rates[ClusterBilling.ON_DEMAND]


def test_default_catalog_has_no_price_for_unknown_gpu_types() -> None:
    """G4: an on-demand cluster of a GPU type with no catalog rate raises UnknownPrice."""
    cluster = InstantCluster("x", gpu_type="NO_SUCH_GPU", billing="on-demand", gpus=8)
    with pytest.raises(UnknownPrice) as error:
        simulate([cluster], [Deploy(at("00:00"), "x")], until="2025-11-04T00:00:00Z")
    assert "NO_SUCH_GPU" in str(error.value)


# -- Scenario files ------------------------------------------------------------------------------

SCENARIO_YAML = """
name: cluster with a volume
until: "2025-12-01T00:00:00Z"
catalog:
  default: false
  clusters:
    - {gpu_type: G, billing: reserved, per_gpu_hour: "2.50", effective_from: "2025-01-01T00:00:00Z"}
    - {gpu_type: G, billing: on-demand, per_gpu_hour: "3.75", effective_from: "2025-01-01T00:00:00Z"}
  storage:
    - {billing: reserved, per_tib_hour: "0.10", effective_from: "2025-01-01T00:00:00Z"}
    - {billing: on-demand, per_tib_hour: "0.25", effective_from: "2025-01-01T00:00:00Z"}
policies:
  storage_shrink: account-team
resources:
  - {kind: instant_cluster, id: c, gpu_type: G, billing: reserved, gpus: 8, reserved_gpus: 8, duration_days: 2}
  - {kind: storage_volume, id: v, size_tib: 4, cluster: c}
events:
  - {type: deploy, at: "2025-11-03T00:00:00Z", resource: c}
  - {type: deploy, at: "2025-11-03T00:00:00Z", resource: v}
  - {type: scale_gpus, at: "2025-11-03T10:00:00Z", resource: c, gpus: 16}
  - {type: scale_gpus, at: "2025-11-03T15:00:00Z", resource: c, gpus: 8}
  - {type: extend_reservation, at: "2025-11-04T12:00:00Z", resource: c, days: 1}
  - {type: resize_volume, at: "2025-11-04T00:00:00Z", resource: v, size_tib: 6}
  - {type: resize_volume, at: "2025-11-08T00:00:00Z", resource: v, size_tib: 2, via_account_team: true}
"""


def test_scenario_yaml_equals_the_python_api() -> None:
    """A YAML scenario with a cluster, a volume, scale_gpus, extend_reservation and resize_volume
    replays exactly as the same timeline through the Python API."""
    result = ScenarioDoc.model_validate(yaml.safe_load(SCENARIO_YAML)).run()
    catalog = Catalog(
        [
            ClusterPrice("G", "reserved", RESERVED, E),
            ClusterPrice("G", "on-demand", ON_DEMAND, E),
            StoragePrice("reserved", "0.10", E),
            StoragePrice("on-demand", STORAGE, E),
        ]
    )
    api = simulate(
        [reserved(days=2), StorageVolume("v", size_tib=4, cluster="c")],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "v"),
            ScaleGpus(at("10:00"), "c", 16),
            ScaleGpus(at("15:00"), "c", 8),
            ExtendReservation(at("12:00", "2025-11-04"), "c", 1),
            ResizeVolume(at("00:00", "2025-11-04"), "v", 6),
            ResizeVolume(at("00:00", "2025-11-08"), "v", 2, via_account_team=True),
        ],
        until="2025-12-01T00:00:00Z",
        catalog=catalog,
        policies=Policies(storage_shrink="account-team"),
    )
    assert result.to_dict() == api.to_dict()
    subtotals = result.invoice("2025-11").subtotals()
    assert subtotals[Category.RESERVED_COMPUTE].amount == 8 * 72 * RESERVED
    assert subtotals[Category.BURST_COMPUTE].amount == 8 * 5 * ON_DEMAND
    # 4 TiB x 24 h + 6 TiB x 48 h reserved; then 6 TiB x 48 h + 2 TiB x 23 days on demand.
    reserved_storage = (4 * 24 + 6 * 48) * Decimal("0.10")
    on_demand_storage = (6 * 48 + 2 * 23 * 24) * STORAGE
    assert subtotals[Category.STORAGE].amount == reserved_storage + on_demand_storage
    assert ("v", "storage priced on-demand", "ST3") in actions(result)


def test_scenario_rejects_a_91_day_reservation() -> None:
    """CL2: the scenario schema bounds duration_days and extension days to 1-90."""
    data = yaml.safe_load(SCENARIO_YAML)
    data["resources"][0]["duration_days"] = 91
    with pytest.raises(InvalidScenario):
        ScenarioDoc.model_validate(data)
    data = yaml.safe_load(SCENARIO_YAML)
    data["events"][4]["days"] = 0
    with pytest.raises(InvalidScenario):
        ScenarioDoc.model_validate(data)


# -- Log, lines and errors of clusters (CL1-CL6), pinned down by mutation testing (docs/mutation.md) --


def test_reserved_cluster_with_volume_log_and_lines() -> None:
    """CL2/CL3/CL5 and ST1-ST3: a reserved cluster's whole lifecycle, its burst and its volume's repricing."""
    volume = StorageVolume("v", size_tib=2, cluster="c")
    result = rp.run(
        [rp.RESERVED, volume],
        [
            Deploy(rp.at("00:00"), "v"),
            Deploy(rp.at("01:00"), "c", ready=False),
            Ready(rp.at("02:00"), "c"),
            ScaleGpus(rp.at("03:00"), "c", 24),
            ScaleGpus(rp.at("04:00"), "c", 8),
            ExtendReservation(rp.at("05:00"), "c", 1),
            ResizeVolume(rp.at("00:00", "04"), "v", 3),
            ResizeVolume(rp.at("01:00", "04"), "v", 1),
        ],
        until="2025-11-07T00:00:00Z",
        catalog=CATALOG_RESERVED_STORAGE,
    )
    assert log_of(result) == [
        (iso("00:00"), "v", "created", "ST1", "2 TiB, on-demand"),
        (iso("01:00"), "c", "provisioning", "CL2", "not billed until ready"),
        (
            iso("02:00"),
            "c",
            "ready",
            "CL2",
            (
                "8 GPUs reserved for 2 days, charged in full (upfront); non-refundable; "
                "8 more GPUs burst at on-demand rates"
            ),
        ),
        (iso("02:00"), "v", "storage priced reserved", "ST3", "cluster c"),
        (
            iso("03:00"),
            "c",
            "GPUs changed",
            "CL3",
            "16 -> 24 GPUs (8 reserved, 16 burst at on-demand rates)",
        ),
        (
            iso("04:00"),
            "c",
            "GPUs changed",
            "CL3",
            "24 -> 8 GPUs (8 reserved, 0 burst at on-demand rates)",
        ),
        (
            iso("05:00"),
            "c",
            "reservation extended",
            "CL5",
            f"{iso('02:00', '05')} -> {iso('02:00', '06')}, charged now",
        ),
        (iso("00:00", "04"), "v", "resized", "ST2", "2 -> 3 TiB"),
        (iso("01:00", "04"), "v", "resized", "ST2", "3 -> 1 TiB"),
        (
            iso("02:00", "05"),
            "c",
            "alert",
            "CL5",
            f"reservation ends at {iso('02:00', '06')}; the cluster will be decommissioned",
        ),
        (iso("02:00", "06"), "c", "decommissioned", "CL5", "the reservation ended"),
        (iso("02:00", "06"), "v", "storage priced on-demand", "ST3", "cluster c"),
    ]
    assert result.state.status("c") == "decommissioned"
    assert lines_of(result) == [
        (
            "c",
            "CL2",
            "G reservation of 8 GPUs",
            Decimal(384),
            "GPU-hour",
            Decimal("2.50"),
            "USD per GPU-hour",
            Decimal("960.00"),
            iso("02:00"),
            iso("02:00", "05"),
        ),
        (
            "c",
            "CL5",
            "G reservation extensions of 8 GPUs",
            Decimal(192),
            "GPU-hour",
            Decimal("2.50"),
            "USD per GPU-hour",
            Decimal("480.00"),
            iso("02:00", "05"),
            iso("02:00", "06"),
        ),
        (
            "c",
            "CL3",
            "G burst GPUs above the reservation",
            Decimal(1440),
            "GPU-minute",
            Decimal("3.75"),
            "USD per GPU-hour",
            Decimal("90.00"),
            iso("02:00"),
            iso("04:00"),
        ),
        # On demand before the reservation (2 TiB x 2 h) and after it ended (1 TiB x 22 h).
        (
            "v",
            "ST1",
            "shared volume storage (on-demand rate)",
            Decimal(1560),
            "TiB-minute",
            Decimal("0.25"),
            "USD per TiB-hour",
            Decimal("6.50"),
            iso("00:00"),
            iso("00:00", "07"),
        ),
        # 2 TiB x 22 h + 3 TiB x 1 h + 1 TiB x 49 h at the reserved rate.
        (
            "v",
            "ST1",
            "shared volume storage (reserved rate)",
            Decimal(5760),
            "TiB-minute",
            Decimal("0.20"),
            "USD per TiB-hour",
            Decimal("19.20"),
            iso("02:00"),
            iso("02:00", "06"),
        ),
    ]


def test_reserved_cluster_terminated_early_is_not_refunded() -> None:
    """CL5: terminating a running reservation before its end says it is not refunded; burst stops."""
    result = rp.run(
        [rp.RESERVED], [Deploy(rp.at("01:00"), "c"), Delete(rp.at("05:00"), "c")], until=UNTIL
    )
    assert log_of(result)[1] == (
        iso("05:00"),
        "c",
        "terminated",
        "CL5",
        f"reservation to {iso('01:00', '05')} is not refunded (CL2)",
    )
    (burst,) = [line for line in result.lines if line.rule == "CL3"]
    assert (burst.quantity, burst.amount) == (Decimal(1920), Decimal("120.00"))


def test_reserved_cluster_terminated_after_its_end_says_nothing_of_refunds() -> None:
    """CL5: a cluster deleted after its reservation ended (decommissioned) is terminated without detail."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    result = rp.run(
        [cluster],
        [Deploy(rp.at("00:00"), "c"), Delete(rp.at("12:00", "04"), "c")],
        until=rp.at("13:00", "04"),
    )
    assert log_of(result)[-1] == (iso("12:00", "04"), "c", "terminated", "CL5", "")
    assert log_of(result)[0] == (
        iso("00:00"),
        "c",
        "ready",
        "CL2",
        "8 GPUs reserved for 1 days, charged in full (upfront); non-refundable",
    )


def test_reservation_paid_from_credits_is_logged_as_such() -> None:
    """CL2 with P-RESERVE=credits: the ready log names the payment and the ledger is debited."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    result = rp.run(
        [Account(opening_balance="1000"), cluster],
        [Deploy(rp.at("00:00"), "c")],
        until=rp.at("01:00"),
        policies=Policies(reservation_payment="credits"),
    )
    assert "charged in full (credits); non-refundable" in log_of(result)[1][4]
    (debit,) = [entry for entry in result.ledger if entry.kind == "consumption"]
    assert (debit.resource, debit.amount, debit.note) == (
        "c",
        Decimal(-480),
        "G reservation of 8 GPUs",
    )
    assert result.balance == 520


def test_on_demand_cluster_lifecycle_log_and_line() -> None:
    """CL4: ready, stopped, starting, ready again, GPUs changed and terminated, each logged."""
    result = rp.run(
        [rp.ON_DEMAND],
        [
            Deploy(rp.at("00:00"), "o"),
            Stop(rp.at("01:00"), "o"),
            Start(rp.at("02:00"), "o", ready=False),
            Ready(rp.at("02:10"), "o"),
            ScaleGpus(rp.at("03:00"), "o", 16),
            Delete(rp.at("04:00"), "o"),
        ],
    )
    assert log_of(result) == [
        (iso("00:00"), "o", "ready", "CL4", "8 GPUs on demand"),
        (iso("01:00"), "o", "stopped", "CL4", "on-demand compute stops billing"),
        (iso("02:00"), "o", "starting", "CL4", "not billed until ready"),
        (iso("02:10"), "o", "ready", "CL4", "8 GPUs on demand"),
        (iso("03:00"), "o", "GPUs changed", "CL4", "8 -> 16 GPUs"),
        (iso("04:00"), "o", "terminated", "CL4", ""),
    ]
    # 8 GPUs x 60 + 8 x 50 + 16 x 60 minutes.
    assert lines_of(result) == [
        (
            "o",
            "CL4",
            "G on-demand GPUs",
            Decimal(1840),
            "GPU-minute",
            Decimal("3.75"),
            "USD per GPU-hour",
            Decimal("115.00"),
            iso("00:00"),
            iso("04:00"),
        )
    ]


def test_on_demand_cluster_start_ready_and_provisioning_failure() -> None:
    """CL4: a ready Start bills again at once; a failed provisioning logs that nothing is charged."""
    other = InstantCluster("p", gpu_type="G", billing="on-demand", gpus=8)
    result = rp.run(
        [rp.ON_DEMAND, other],
        [
            Deploy(rp.at("00:00"), "o"),
            Stop(rp.at("01:00"), "o"),
            Start(rp.at("02:00"), "o"),
            Deploy(rp.at("00:00"), "p", ready=False),
            DeployFailed(rp.at("00:30"), "p"),
            Delete(rp.at("00:40"), "p"),
        ],
        until=rp.at("03:00"),
    )
    assert log_of(result) == [
        (iso("00:00"), "o", "ready", "CL4", "8 GPUs on demand"),
        (iso("00:00"), "p", "provisioning", "CL4", "not billed until ready"),
        (iso("00:30"), "p", "provisioning failed", "CL2", "nothing charged"),
        (iso("00:40"), "p", "terminated", "CL4", ""),
        (iso("01:00"), "o", "stopped", "CL4", "on-demand compute stops billing"),
        (iso("02:00"), "o", "started", "CL4", "8 GPUs on demand"),
    ]
    assert [(line.resource, line.quantity) for line in result.lines] == [("o", Decimal(960))]
    assert result.state.status("p") == "deleted"


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([Ready(rp.at("00:00"), "o")], ("status", "not deployed", "a provisioning cluster")),
        ([DeployFailed(rp.at("00:00"), "o")], ("status", "not deployed", "a provisioning cluster")),
        ([ScaleGpus(rp.at("00:00"), "o", 8)], ("status", "not deployed", "a running cluster")),
        ([Stop(rp.at("00:00"), "o")], ("status", "not deployed", "a running cluster")),
        ([Start(rp.at("00:00"), "o")], ("status", "not deployed", "a stopped cluster")),
        ([Delete(rp.at("00:00"), "o")], ("status", "not deployed", "a cluster not yet deleted")),
        (
            [Deploy(rp.at("00:00"), "o"), Deploy(rp.at("01:00"), "o")],
            ("status", "running", "a cluster not yet provisioned"),
        ),
        (
            [Deploy(rp.at("00:00"), "o"), ScaleGpus(rp.at("01:00"), "o", 12)],
            ("gpus", 12, "a multiple of 8 GPUs (P-GPU-STEP)"),
        ),
        (
            [Deploy(rp.at("00:00"), "o"), ScaleGpus(rp.at("01:00"), "o", 4)],
            ("gpus", 4, "a multiple of 8 GPUs (P-GPU-STEP)"),
        ),
        (
            [Deploy(rp.at("00:00"), "o"), ExtendReservation(rp.at("01:00"), "o", 1)],
            ("resource", "o", "a reserved cluster"),
        ),
        (
            [Deploy(rp.at("00:00"), "o"), Requests(rp.at("01:00"), "o")],
            (
                "resource",
                "o",
                (
                    "a dedicated endpoint, hosted model or serverless resource for this event; "
                    "'o' is an InstantCluster"
                ),
            ),
        ),
        (
            [Deploy(rp.at("00:00"), "o"), Delete(rp.at("01:00"), "o"), Delete(rp.at("02:00"), "o")],
            ("status", "deleted", "a cluster not yet deleted"),
        ),
    ],
)
def test_on_demand_cluster_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Each cluster event out of place raises naming the status (or field) and what was expected."""
    assert error_of([rp.ON_DEMAND], events) == expected


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [Deploy(rp.at("00:00"), "c"), Stop(rp.at("01:00"), "c")],
            (
                "resource",
                "c",
                "an on-demand cluster: a reserved cluster cannot be paused (Delete terminates it)",
            ),
        ),
        (
            [Deploy(rp.at("00:00"), "c"), Start(rp.at("01:00"), "c")],
            ("resource", "c", "an on-demand cluster"),
        ),
        (
            [ExtendReservation(rp.at("01:00"), "c", 1)],
            ("status", "not deployed", "a running reserved cluster"),
        ),
        (
            [Deploy(rp.at("00:00"), "c"), ExtendReservation(rp.at("01:00"), "c", 91)],
            ("days", 91, "an extension of 1 to 90 days"),
        ),
    ],
)
def test_reserved_cluster_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Stop, Start and ExtendReservation on a reserved cluster are checked with precise messages."""
    assert error_of([rp.RESERVED], events) == expected


def test_reservation_extension_of_90_days_is_the_maximum_allowed() -> None:
    """CL5: 90 days is a valid extension (91 is not, above)."""
    result = rp.run(
        [rp.RESERVED],
        [Deploy(rp.at("00:00"), "c"), ExtendReservation(rp.at("01:00"), "c", 90)],
        until="2025-11-03T02:00:00Z",
    )
    (extension,) = [line for line in result.lines if line.rule == "CL5"]
    assert extension.quantity == 8 * 90 * 24


def test_gpu_step_policy_checks_the_deployed_and_reserved_gpus() -> None:
    """P-GPU-STEP applies to the cluster's GPUs at provisioning and to its reserved GPUs."""
    assert error_of(
        [rp.ON_DEMAND], [Deploy(rp.at("00:00"), "o")], policies=Policies(gpu_step=16)
    ) == (
        "gpus",
        8,
        "a multiple of 16 GPUs (P-GPU-STEP)",
    )
    # Checked when the cluster becomes ready, also after a provisioning delay.
    assert error_of(
        [rp.ON_DEMAND],
        [Deploy(rp.at("00:00"), "o", ready=False), Ready(rp.at("00:10"), "o")],
        policies=Policies(gpu_step=16),
    ) == ("gpus", 8, "a multiple of 16 GPUs (P-GPU-STEP)")
    odd = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=4, duration_days=2
    )
    assert error_of([odd], [Deploy(rp.at("00:00"), "c")]) == (
        "reserved_gpus",
        4,
        "a multiple of 8 GPUs (P-GPU-STEP)",
    )


def test_reservation_end_with_credits_stops_the_burst_draw() -> None:
    """CL5/CR1: at the reservation's end the burst GPUs stop drawing credits; its alert comes 24 h
    ahead, and the run-out forecast knows the burst stops then."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = rp.run(
        [Account(opening_balance="1000"), cluster],
        [Deploy("2025-11-03T00:00:30Z", "c")],
        until="2025-11-05T00:00:00Z",
        policies=NO_ALERTS,
    )
    assert log_of(result) == [
        ("2025-11-03T00:00:30+00:00", "account", "account opened", "CR1", "balance 1000"),
        (
            "2025-11-03T00:00:30+00:00",
            "c",
            "ready",
            "CL2",
            (
                "8 GPUs reserved for 1 days, charged in full (upfront); non-refundable; "
                "8 more GPUs burst at on-demand rates"
            ),
        ),
        (
            "2025-11-03T00:00:30+00:00",
            "c",
            "alert",
            "CL5",
            "reservation ends at 2025-11-04T00:00:30+00:00; the cluster will be decommissioned",
        ),
        # No run-out forecast: at $30/h the $1000 would last past 4 Nov 12:40, but the burst
        # stops at the reservation's end, a known step of the forecast (CR6, issue 11).
        ("2025-11-04T00:00:30+00:00", "c", "decommissioned", "CL5", "the reservation ended"),
    ]
    assert [(e.at_micros, e.amount, e.note) for e in result.ledger] == [
        (1762128030000000, Decimal(1000), ""),
        (1762214430000000, Decimal("-720.00"), "running"),
    ]
    assert result.balance == 280


def test_restarted_on_demand_cluster_keeps_its_gpu_count() -> None:
    """CL4: a stopped on-demand cluster starts again with the GPUs it had, not the initial count."""
    result = rp.run(
        [rp.ON_DEMAND],
        [
            Deploy(rp.at("00:00"), "o"),
            ScaleGpus(rp.at("01:00"), "o", 16),
            Stop(rp.at("02:00"), "o"),
            Start(rp.at("03:00"), "o"),
            Delete(rp.at("04:00"), "o"),
        ],
        until=rp.at("05:00"),
    )
    assert [e.detail for e in result.log] == [
        "8 GPUs on demand",
        "8 -> 16 GPUs",
        "on-demand compute stops billing",
        "16 GPUs on demand",
        "",
    ]
    (line,) = result.lines
    assert (line.quantity, line.amount) == (Decimal(8 * 60 + 16 * 60 + 16 * 60), Decimal("150.00"))


def test_reserved_cluster_deleted_while_provisioning_is_never_charged() -> None:
    """CL2/CL5: a reservation terminated before it was ready costs nothing and reprices no volume."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    result = rp.run(
        [cluster, attached],
        [
            Deploy(rp.at("00:00"), "v"),
            Deploy(rp.at("01:00"), "c", ready=False),
            Delete(rp.at("02:00"), "c"),
        ],
        until=rp.at("05:00"),
        catalog=LATE_RESERVED_STORAGE,
    )
    assert log_of(result) == [
        (iso("00:00"), "v", "created", "ST1", "2 TiB, on-demand"),
        (iso("01:00"), "c", "provisioning", "CL2", "not billed until ready"),
        (iso("02:00"), "c", "terminated", "CL5", ""),
    ]
    assert [(line.resource, line.amount) for line in result.lines] == [("v", Decimal("2.50"))]


# -- Pinned by mutation testing (docs/mutation.md) ----------------------------------------------


def test_CL5_an_extension_from_credits_is_admitted_by_the_price_of_its_own_days() -> None:
    """CL5, P-RESERVE-PAY: an extension paid from credits asks for the days it adds, not for
    a whole reservation again: a balance that pays one more day extends by one day."""
    result = run(
        [reserved(), Account(opening_balance=15_000)],
        [Deploy(at("00:00"), "c"), ExtendReservation(at("01:00"), "c", 1)],
        policies=Policies(reservation_payment="credits"),
    )
    assert ("c", "reservation extended", "CL5") in actions(result)
    assert [line.quantity for line in result.lines if line.rule == "CL5"] == [8 * 24]
    # 30 reserved days (14,400 USD) and one more (480 USD) drawn from 15,000 USD.
    assert result.balance == 15_000 - 31 * 8 * 24 * RESERVED


def test_G2_a_stop_and_a_start_of_a_stopped_cluster_at_one_instant_are_an_empty_run() -> None:
    """G2, CL4: a stopped on-demand cluster stopped and started at one instant runs for an empty
    interval: nothing bills, it stays stopped with the GPU count it was scaled to, and its
    next start bills that count (16, not the 8 it was created with)."""
    result = run(
        [on_demand()],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("00:00"), "c", 16),
            Stop(at("01:00"), "c"),
            Stop(at("02:00"), "c"),
            Start(at("02:00"), "c"),
            Start(at("03:00"), "c"),
            Delete(at("04:00"), "c"),
        ],
    )
    assert ("c", "empty run", "G2") in actions(result)
    # 16 GPUs from 00:00 to 01:00 and again from 03:00 to 04:00.
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 32 * ON_DEMAND


def test_G2_a_cluster_started_again_carries_no_engine_action_forward() -> None:
    """G2: a customer's start clears what ended the cluster, so an event that does not fit its
    status afterwards (a second start while running) is an invalid timeline, not a logged
    no-op of an engine action."""
    with pytest.raises(InvalidTimeline) as info:
        run(
            [on_demand()],
            [
                Deploy(at("00:00"), "c"),
                Stop(at("01:00"), "c"),
                Start(at("02:00"), "c"),
                Start(at("03:00"), "c"),
            ],
        )
    assert (info.value.field, info.value.value) == ("status", "running")
    assert info.value.expected == "a stopped cluster"


def test_CR4_a_start_after_decommissioning_at_the_grace_end_is_a_logged_no_op() -> None:
    """CR4, G2: an on-demand cluster paused for want of credit and decommissioned at the end
    of its grace period was ended by the engine: a later start of the customer's is logged as
    ignored under CR4, with the reason, not an invalid timeline."""
    result = run(
        [on_demand(), Account(opening_balance=30)],
        [Deploy(at("00:00"), "c"), Start(at("00:00", "2025-11-10"), "c")],
        until="2025-11-11T00:00:00Z",
    )
    assert ("c", "decommissioned", "CR4") in actions(result)
    ignored = [e for e in result.log if e.action == "start ignored"]
    assert [(e.resource, e.rule, e.detail) for e in ignored] == [
        (
            "c",
            "CR4",
            "decommissioned: credits ran out (on-demand compute is paused, then decommissioned)",
        )
    ]


@pytest.mark.parametrize("end", ["stop", "delete"])
def test_G2_a_deploy_at_the_instant_a_cluster_ended_is_a_logged_no_op(end: str) -> None:
    """G2: a deploy of a cluster the customer stopped or deleted at the same instant (the end
    sorts first) has nothing to bill: logged as ignored, naming G2, not an error."""
    ending = Stop(at("01:00"), "c") if end == "stop" else Delete(at("01:00"), "c")
    result = run([on_demand()], [Deploy(at("00:00"), "c"), ending, Deploy(at("01:00"), "c")])
    entry = result.log[-1]
    assert (entry.resource, entry.action, entry.rule, entry.detail) == (
        "c",
        "deploy ignored",
        "G2",
        "ended at this instant: nothing to bill",
    )
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 8 * ON_DEMAND


def test_CL2_a_reservation_deleted_at_its_paid_end_has_nothing_left_to_refund() -> None:
    """CL2, CL5: a reserved cluster deleted at the instant its reservation ends is
    terminated with no unrefunded rest to report."""
    result = run(
        [reserved(days=1)], [Deploy(at("00:00"), "c"), Delete(at("00:00", "2025-11-04"), "c")]
    )
    terminated = [e for e in result.log if e.action == "terminated"]
    assert [(e.rule, e.detail) for e in terminated] == [("CL5", "")]


def test_ST3_deleting_a_cluster_after_its_reservation_ended_leaves_its_volume_alone() -> None:
    """ST3, CL2: a reserved cluster decommissioned at its reservation's end and deleted
    later changes nothing for its volume, already at the on-demand rate since that end."""
    resources = [reserved(days=1), StorageVolume("v", size_tib=4, cluster="c")]
    events: list[Event] = [Deploy(at("00:00"), "c"), Deploy(at("00:00"), "v")]
    kept = run(resources, events, catalog=CATALOG_RESERVED_STORAGE)
    deleted = run(
        resources,
        [*events, Delete(at("12:00", "2025-11-05"), "c")],
        catalog=CATALOG_RESERVED_STORAGE,
    )
    assert [line for line in deleted.lines if line.resource == "v"] == [
        line for line in kept.lines if line.resource == "v"
    ]
    assert [e for e in deleted.log if e.resource == "v"] == [
        e for e in kept.log if e.resource == "v"
    ]


def test_G2_a_deploy_at_the_instant_a_volume_was_deleted_is_a_logged_no_op() -> None:
    """G2, ST1: a volume deleted and deployed at one instant (the delete sorts first) stays
    deleted; the deploy is logged as ignored, naming G2."""
    result = run(
        [StorageVolume("v", size_tib=1)],
        [Deploy(at("00:00"), "v"), Delete(at("01:00"), "v"), Deploy(at("01:00"), "v")],
    )
    entry = result.log[-1]
    assert (entry.resource, entry.action, entry.rule, entry.detail) == (
        "v",
        "deploy ignored",
        "G2",
        "ended at this instant: nothing to bill",
    )
    assert result.state.status("v") == "deleted"


def test_CL4_a_cluster_started_again_through_provisioning_keeps_its_one_gpu() -> None:
    """CL4, P-GPU-STEP 1: a stopped on-demand cluster started again through provisioning
    (``ready=False``) becomes ready with the GPU count it was scaled to, also one GPU."""
    result = run(
        [on_demand(gpus=2)],
        [
            Deploy(at("00:00"), "c"),
            ScaleGpus(at("01:00"), "c", 1),
            Stop(at("02:00"), "c"),
            Start(at("03:00"), "c", ready=False),
            Ready(at("03:30"), "c"),
            Delete(at("04:30"), "c"),
        ],
        policies=Policies(gpu_step=1),
    )
    # 2 GPUs for an hour, then 1 GPU from 01:00 to 02:00 and from 03:30 to 04:30.
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 4 * ON_DEMAND


def test_G2_a_cluster_stopped_as_it_is_deployed_starts_later_with_its_gpus() -> None:
    """G2, CL4: an on-demand cluster deployed and stopped at one instant is an empty run and
    stays stopped; started later, it runs with the GPUs it was created with."""
    result = run(
        [on_demand()],
        [
            Stop(at("00:00"), "c"),
            Deploy(at("00:00"), "c"),
            Start(at("01:00"), "c"),
            Delete(at("02:00"), "c"),
        ],
    )
    assert ("c", "empty run", "G2") in actions(result)
    assert amounts(result, Category.ON_DEMAND_COMPUTE) == 8 * ON_DEMAND
