"""The credit-exhaustion lifecycle at its edges (issue 11): begins while exhausted (CR3-CR5,
CR8, W26, W29-W31), zero-length runs (G2), late customer events after an engine action, and
the order of a customer's events and the engine's reactions at one instant.

Prices: an endpoint at $6/h, clusters at $2 (reserved) / $3 (on-demand) per GPU-hour,
storage at $0.50 per TiB-hour. A $10 prepaid account with a $6/h endpoint running from
00:00 runs out at 01:40.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from tests.replays import LIFECYCLE_CATALOG

from together_billing import (
    Account,
    DedicatedEndpoint,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    FineTunedHosting,
    FineTuningJob,
    HardwarePrice,
    InstantCluster,
    InvalidTimeline,
    JobCompleted,
    Policies,
    Purchase,
    Ready,
    Requests,
    ResizeVolume,
    Resource,
    ScaleGpus,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    TokenUsage,
    simulate,
)

E = "2025-01-01T00:00:00Z"
CATALOG = LIFECYCLE_CATALOG
PREPAID = Policies.for_edition("2026")
#: The moment a $10 account with the $6/h endpoint "burner" running from 00:00 runs out.
OUT = "2025-11-03T01:40:00Z"
UNTIL = "2025-11-05T00:00:00Z"


def at(hhmm: str, day: str = "03") -> str:
    return f"2025-11-{day}T{hhmm}:00Z"


def burner() -> DedicatedEndpoint:
    return DedicatedEndpoint("burner", model="m", hardware="1x_g")


def run(
    resources: Iterable[Resource | Account],
    events: Sequence[Event],
    *,
    balance: int | None = 10,
    policies: Policies = PREPAID,
    until: str = UNTIL,
) -> SimulationResult:
    """Replay with the burner endpoint draining ``balance`` from 00:00 (out at 01:40)."""
    account = [] if balance is None else [Account(opening_balance=balance)]
    return simulate(
        [burner(), *account, *resources],
        [Deploy(at("00:00"), "burner"), *events],
        until=until,
        catalog=CATALOG,
        policies=policies,
    )


def billed(result: SimulationResult, resource: str) -> Decimal:
    return sum((line.amount for line in result.lines if line.resource == resource), Decimal(0))


def actions(result: SimulationResult, resource: str) -> list[tuple[str, str, str]]:
    return [(e.at.isoformat(), e.action, e.rule) for e in result.log if e.resource == resource]


def kind_rule(resource: Resource) -> str:
    return "DE2" if isinstance(resource, DedicatedEndpoint) else "FT2"


def iso(text: str) -> str:
    return text.replace("Z", "+00:00")


# -- defect 1: what a begin while exhausted does, per kind -----------------------------------


@pytest.mark.parametrize("kind", [DedicatedEndpoint, FineTunedHosting])
@pytest.mark.parametrize("edition", ["2025-11", "2026"])
def test_CR8_W26_deploy_or_start_while_suspended_is_refused(kind: type, edition: str) -> None:
    """CR8, W26: with API access suspended, deploying or starting an endpoint or a hosted
    model is refused and logged: it never bills, and it can be deployed once credits return."""
    resource = kind("x", model="m", hardware="1x_g")
    result = run(
        [resource],
        [Deploy(at("03:00"), "x"), Purchase(at("05:00"), "account", 6), Deploy(at("06:00"), "x")],
        policies=Policies.for_edition(edition),
    )
    assert (iso(at("03:00")), "deploy refused", "CR8") in actions(result, "x")
    # The burner stopped at exhaustion; the $6 bought at 05:00 restores the account, and the
    # deploy at 06:00 bills one hour, until the $6 runs out and API access is suspended.
    assert [a[1:] for a in actions(result, "x")][1:] == [
        ("deployed", kind_rule(resource)),
        ("stopped", "CR8"),
    ]
    assert billed(result, "x") == 6


def test_CR8_start_of_a_stopped_endpoint_while_suspended_is_refused() -> None:
    """CR8: a stopped endpoint started while suspended stays stopped and bills nothing."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [ep],
        [Deploy(at("00:00"), "x"), Stop(at("00:30"), "x"), Start(at("03:00"), "x")],
    )
    assert (iso(at("03:00")), "start refused", "CR8") in actions(result, "x")
    assert result.state.status("x") == "stopped"
    assert billed(result, "x") == Decimal(3)


def test_CR8_provisioning_endpoint_stopped_at_exhaustion_ignores_its_late_ready() -> None:
    """CR8 + late events: an endpoint provisioning when credits run out is stopped; its
    Ready afterwards is a logged no-op, never a bill and never an error."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run([ep], [Deploy(at("01:00"), "x", ready=False), Ready(at("02:00"), "x")])
    assert result.state.status("x") == "stopped"
    assert (iso(at("02:00")), "ready ignored", "CR8") in actions(result, "x")
    assert billed(result, "x") == 0


def test_CR4_W30_on_demand_cluster_deploy_or_start_while_exhausted_is_refused() -> None:
    """CR4, W30: an on-demand cluster cannot be provisioned or started while credits are
    exhausted (refused and logged); a stopped one started while exhausted does not bill for
    the rest of the month."""
    fresh = InstantCluster("new", gpu_type="G", billing="on-demand", gpus=8)
    stopped = InstantCluster("old", gpu_type="G", billing="on-demand", gpus=8)
    result = run(
        [fresh, stopped],
        [
            Deploy(at("00:00"), "old"),
            Stop(at("00:10"), "old"),
            Deploy(at("03:00"), "new"),
            Start(at("03:00"), "old"),
        ],
        until="2025-12-01T00:00:00Z",
    )
    # $24/h for 10 minutes and the burner: $10 runs out at 01:00.
    assert (iso(at("03:00")), "deploy refused", "CR4") in actions(result, "new")
    assert (iso(at("03:00")), "start refused", "CR4") in actions(result, "old")
    assert result.state.status("new") == "not deployed"
    assert result.state.status("old") == "stopped"
    assert billed(result, "new") == 0
    assert billed(result, "old") == Decimal(4)  # 8 GPUs x 10 min x $3/h


def test_CR4_cluster_provisioning_at_exhaustion_begins_paused_with_grace_and_alert() -> None:
    """CR4, CR6: a cluster provisioning when credits run out that becomes ready afterwards
    begins paused (not billed), is alerted before, and decommissioned at the grace's end."""
    cluster = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    result = run(
        [cluster],
        [Deploy(at("01:00"), "c", ready=False), Ready(at("02:00"), "c")],
        policies=Policies.for_edition("2026", grace_compute_hours=24),
        until="2025-11-06T00:00:00Z",
    )
    assert actions(result, "c") == [
        (iso(at("01:00")), "provisioning", "CL4"),
        (iso(at("02:00")), "ready", "CL4"),
        (iso(at("02:00")), "paused", "CR4"),
        (iso(at("02:00")), "alert", "CR6"),
        (iso(at("02:00", "04")), "decommissioned", "CR4"),
    ]
    assert billed(result, "c") == 0


def test_CR5_volume_created_while_exhausted_is_refused() -> None:
    """CR5, W31: a volume cannot be created while credits are exhausted."""
    result = run([StorageVolume("v", size_tib=2)], [Deploy(at("03:00"), "v")])
    assert (iso(at("03:00")), "deploy refused", "CR5") in actions(result, "v")
    assert result.state.status("v") == "not deployed"
    assert billed(result, "v") == 0


@pytest.mark.parametrize("payment", ["upfront", "credits"])
def test_CR3_reserved_cluster_begun_while_exhausted(payment: str) -> None:
    """CR3, CL2: paid up front, a reservation may begin while credits are exhausted but its
    burst GPUs do not (no on-demand capacity); paid from credits, it is refused (a prepaid
    account could not pay it)."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = run(
        [cluster],
        [Deploy(at("03:00"), "r")],
        policies=Policies.for_edition("2026", reservation_payment=payment),
    )
    if payment == "upfront":
        assert result.state.status("r") == "decommissioned"  # its day ended on the 4th
        assert billed(result, "r") == 8 * 24 * 2
        assert (iso(at("03:00")), "burst refused", "CR3") in actions(result, "r")
    else:
        assert result.state.status("r") == "not deployed"
        assert billed(result, "r") == 0
        assert (iso(at("03:00")), "deploy refused", "CR3") in actions(result, "r")


def test_CR3_reservation_or_extension_from_credits_beyond_the_floor_is_refused() -> None:
    """CL2, CL5: a reservation or an extension paid from credits that would take the balance
    below the floor is refused and logged, even before exhaustion."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    policies = Policies.for_edition("2026", reservation_payment="credits")
    result = simulate(
        [cluster, Account(opening_balance=500)],
        [Deploy(at("00:00"), "r"), ExtendReservation(at("12:00"), "r", days=1)],
        until=UNTIL,
        catalog=CATALOG,
        policies=policies,
    )
    # $384 charged for the day; $116 left cannot pay another $384 day.
    assert (iso(at("12:00")), "extension refused", "CL5") in actions(result, "r")
    assert billed(result, "r") == 384
    assert result.balance == 116


def test_CR8_job_completing_while_suspended_is_not_charged() -> None:
    """CR8: a fine-tuning job ending while API access is suspended was stopped at the billing
    limit (fine-tuning FAQ: jobs are cancelled for insufficient balance): logged, not charged."""
    job = FineTuningJob(id="j", model="b", params_b=8, training_tokens=1_000_000)
    result = run([job], [JobCompleted(at("03:00"), "j")])
    assert (iso(at("03:00")), "job stopped at the billing limit", "CR8") in actions(result, "j")
    assert billed(result, "j") == 0


def test_P_EXHAUST_off_endpoints_begin_and_bill_below_the_floor() -> None:
    """P-EXHAUST off: endpoints keep running at exhaustion, so one deployed then begins too."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [ep],
        [Deploy(at("03:00"), "x"), Stop(at("04:00"), "x")],
        policies=Policies.for_edition("2026", exhaustion_suspends_api=False),
    )
    assert billed(result, "x") == 6


# -- defect 7: zero-length runs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "end"),
    [
        (DedicatedEndpoint("x", model="m", hardware="1x_g"), Stop),
        (DedicatedEndpoint("x", model="m", hardware="1x_g"), Delete),
        (FineTunedHosting("x", model="m", hardware="1x_g"), Stop),
        (InstantCluster("x", gpu_type="G", billing="on-demand", gpus=8), Stop),
        (InstantCluster("x", gpu_type="G", billing="on-demand", gpus=8), Delete),
        (
            InstantCluster(
                "x", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            Delete,
        ),
        (StorageVolume("x", size_tib=1), Delete),
    ],
    ids=lambda value: getattr(value, "__name__", type(value).__name__),
)
def test_G2_zero_length_run_bills_nothing(resource: Resource, end: type) -> None:
    """G2: a deploy and a stop (or delete) at one instant is an empty half-open interval: $0."""
    result = run([resource], [Deploy(at("00:30"), "x"), end(at("00:30"), "x")], balance=None)
    assert billed(result, "x") == 0
    assert result.state.status("x") == ("deleted" if end is Delete else "stopped")
    assert (iso(at("00:30")), "empty run", "G2") in actions(result, "x")


def test_G2_zero_length_restart_of_a_stopped_endpoint() -> None:
    """G2: starting and stopping a stopped endpoint at one instant bills nothing."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [ep],
        [
            Deploy(at("00:00"), "x"),
            Stop(at("00:10"), "x"),
            Start(at("00:30"), "x"),
            Stop(at("00:30"), "x"),
        ],
        balance=None,
    )
    assert billed(result, "x") == 1
    assert result.state.status("x") == "stopped"


def test_G2_ready_and_stop_at_one_instant() -> None:
    """G2: a provisioning endpoint stopped at the instant it becomes ready bills nothing."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [ep],
        [Deploy(at("00:00"), "x", ready=False), Ready(at("00:30"), "x"), Stop(at("00:30"), "x")],
        balance=None,
    )
    assert billed(result, "x") == 0
    assert result.state.status("x") == "stopped"


def test_G2_a_stop_with_nothing_to_stop_is_still_an_error() -> None:
    """G2: a stop of a resource never deployed, with no deploy at that instant, stays an error."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    with pytest.raises(InvalidTimeline):
        run([ep], [Stop(at("00:30"), "x"), Deploy(at("00:31"), "x")], balance=None)


# -- defect 8: late customer events after an engine action --------------------------------------


def test_late_events_after_an_idle_stop_are_logged_no_ops() -> None:
    """DE4: a scale, a ready or a deploy-failure after an idle auto-stop (real autoscaler
    logs contain these) is a logged no-op, never an error."""
    ep = DedicatedEndpoint(
        "x", model="m", hardware="1x_g", max_replicas=3, inactive_timeout_minutes=30
    )
    result = run(
        [ep],
        [
            Deploy(at("00:00"), "x"),
            ScaleReplicas(at("01:00"), "x", replicas=2),
            Ready(at("01:10"), "x"),
            DeployFailed(at("01:20"), "x"),
            Stop(at("01:30"), "x"),
        ],
        balance=None,
    )
    assert [a[1:] for a in actions(result, "x")][2:] == [
        ("scale ignored", "DE4"),
        ("ready ignored", "DE4"),
        ("deploy failure ignored", "DE4"),
        ("stop ignored", "DE4"),
    ]
    assert billed(result, "x") == 3


def test_late_events_after_exhaustion_are_logged_no_ops_for_every_kind() -> None:
    """CR3-CR5, CR8: events for resources the engine stopped, paused or revoked are logged
    no-ops: a scale of a stopped endpoint, GPUs of a paused cluster, a resize of a revoked
    volume, requests and a stop."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g", max_replicas=2)
    cluster = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    volume = StorageVolume("v", size_tib=1)
    result = run(
        [ep, cluster, volume],
        [
            *(Deploy(at("00:00"), ident) for ident in ("x", "c", "v")),
            ScaleReplicas(at("03:00"), "x", replicas=2),
            ScaleGpus(at("03:00"), "c", gpus=16),
            Start(at("03:00"), "c"),
            ResizeVolume(at("03:00"), "v", size_tib=4),
            Requests(at("03:00"), "x"),
        ],
        balance=100,
    )
    assert ("scale ignored", "CR8") in [a[1:] for a in actions(result, "x")]
    assert ("scale ignored", "CR4") in [a[1:] for a in actions(result, "c")]
    assert ("start ignored", "CR4") in [a[1:] for a in actions(result, "c")]
    assert ("resize ignored", "CR5") in [a[1:] for a in actions(result, "v")]


def test_late_extension_after_the_reservation_ended_is_a_logged_no_op() -> None:
    """CL5: an extension after the engine decommissioned the cluster is a logged no-op."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    result = run(
        [cluster],
        [Deploy(at("00:00"), "r"), ExtendReservation(at("02:00", "04"), "r", days=1)],
        balance=None,
    )
    assert ("extension ignored", "CL5") in [a[1:] for a in actions(result, "r")]
    assert billed(result, "r") == 8 * 24 * 2


# -- defect 9: a customer's events at an instant come before the engine's reactions --------------


def test_customer_stop_at_the_exhaustion_instant_stops_the_cluster() -> None:
    """Order: a Stop at the exact instant credits run out is the customer's and comes first:
    the cluster is stopped (not paused) and can be started after a purchase."""
    cluster = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=8)
    # $6/h + $24/h = $30/h: $10 lasts 20 minutes.
    result = run(
        [cluster],
        [
            Deploy(at("00:00"), "c"),
            Stop(at("00:20"), "c"),
            Purchase(at("01:00"), "account", 100),
            Start(at("02:00"), "c"),
            Stop(at("03:00"), "c"),
        ],
    )
    assert [a[1] for a in actions(result, "c")] == ["ready", "stopped", "started", "stopped"]
    assert billed(result, "c") == 8 + 24


def test_customer_stop_of_an_endpoint_at_the_idle_deadline_is_the_customers() -> None:
    """Order: an idle deadline and a Stop at one instant: the Stop is applied, not ignored."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g", inactive_timeout_minutes=30)
    result = run([ep], [Deploy(at("00:00"), "x"), Stop(at("00:30"), "x")], balance=None)
    assert [a[1] for a in actions(result, "x")] == ["deployed", "stopped"]


def test_serverless_usage_is_refused_from_the_exhaustion_instant() -> None:
    """CR8: a request at or after the instant the balance reached the floor is refused."""
    chat = ServerlessUsage("chat", model="chat")
    result = run([chat], [TokenUsage(OUT, "chat", input_tokens=1_000_000)])
    assert ("requests refused", "CR8") in [a[1:] for a in actions(result, "chat")]
    assert billed(result, "chat") == 0


# -- defects 3 and 4: credits drawn at the price the invoice uses ---------------------------------


def drawn(result: SimulationResult, resource: str) -> Decimal:
    return -sum(
        (e.amount for e in result.ledger if e.kind == "consumption" and e.resource == resource),
        Decimal(0),
    )


def invoiced(result: SimulationResult, resource: str) -> Decimal:
    return sum(
        (line.amount_exact for line in result.lines if line.resource == resource), Decimal(0)
    )


def test_G3_a_price_change_inside_a_started_minute_is_drawn_as_invoiced() -> None:
    """G3, G4, CR1: a unit is priced at its start, in the ledger as on the invoice: a price
    change at 00:01:00 inside the minute begun at 00:00:30 applies from 00:01:30."""
    from together_billing import PriceChange

    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [ep],
        [
            Deploy("2025-11-03T00:00:30Z", "x"),
            PriceChange(HardwarePrice("1x_g", "60", "2025-11-03T00:01:00Z")),
            Stop("2025-11-03T00:03:00Z", "x"),
        ],
        balance=1000,
    )
    # Minutes begun 00:00:30 ($6/h) and 00:01:30, 00:02:30 ($60/h): 0.10 + 1 + 1.
    assert invoiced(result, "x") == Decimal("2.1")
    assert drawn(result, "x") == Decimal("2.1")


def test_ST3_a_volume_repriced_inside_a_started_minute_is_drawn_as_invoiced() -> None:
    """ST3, CR1: the minute running when a reservation ends stays at the reserved rate it
    started at, in the ledger as on the invoice; later minutes draw the on-demand rate."""
    catalog = CATALOG.with_entries(StoragePrice("reserved", "0.2", E))
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    volume = StorageVolume("v", size_tib=3, cluster="r")
    result = simulate(
        [cluster, volume, Account(opening_balance=1000)],
        [
            Deploy(at("00:00"), "r"),
            Deploy("2025-11-03T00:00:30Z", "v"),
            Delete("2025-11-04T06:00:00Z", "v"),
        ],
        until=UNTIL,
        catalog=catalog,
        policies=PREPAID,
    )
    assert invoiced(result, "v") == drawn(result, "v")
    rates = {line.rate: line.quantity for line in result.lines if line.resource == "v"}
    assert rates == {Decimal("0.2"): 3 * 1440, Decimal("0.5"): 3 * 360}


def test_ST3_a_revoked_volume_is_repriced_when_the_reservation_ends() -> None:
    """ST3, defect 3: a volume whose access is revoked when its reservation ends moves to the
    on-demand rate then, and keeps it when access is restored."""
    catalog = CATALOG.with_entries(StoragePrice("reserved", "0.2", E))
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    volume = StorageVolume("v", size_tib=1, cluster="r")
    result = simulate(
        [cluster, volume, burner(), Account(opening_balance=10)],
        [
            Deploy(at("00:00"), "r"),
            Deploy(at("00:00"), "v"),
            Deploy(at("00:00"), "burner"),
            Purchase(at("06:00", "04"), "account", 100),
            Delete(at("12:00", "04"), "v"),
        ],
        until=UNTIL,
        catalog=catalog,
        policies=PREPAID,
    )
    assert ("storage priced on-demand", "ST3") in [a[1:] for a in actions(result, "v")]
    last = max(
        (line for line in result.lines if line.resource == "v"), key=lambda line: line.interval.end
    )
    assert last.rate == Decimal("0.5")
    assert invoiced(result, "v") == drawn(result, "v")


# -- defects 5 and 6: the run-out forecast alert ---------------------------------------------------


def forecasts(result: SimulationResult) -> list[tuple[str, str]]:
    """(alert instant, forecast instant) of each run-out forecast alert."""
    return [
        (e.at.isoformat(), e.detail.split(" at ")[1].split(" ")[0])
        for e in result.log
        if e.action == "alert" and e.detail.startswith("credits forecast")
    ]


def test_CR6_an_exhaustion_caused_by_a_grant_expiry_is_alerted_ahead() -> None:
    """CR6, CR1: a promotional grant's expiry is known in advance; the run-out it causes is
    forecast as a step and alerted 24 h (P-ALERT) ahead, not at the expiry."""
    from together_billing import Grant

    volume = StorageVolume("v", size_tib=1)  # $0.50/h
    result = simulate(
        [volume, Account(opening_balance=5)],
        [
            Grant(at("00:00"), "account", 100, expires=at("00:00", "05")),
            Deploy(at("00:00"), "v"),
        ],
        until="2025-11-07T00:00:00Z",
        catalog=CATALOG,
        policies=Policies.for_edition("2026", revoked_storage_bills=False),
    )
    # $24 of the grant is used by the 5th; $76 expires then; $5 lasts 10 h more.
    assert [str(e.at) for e in result.log if e.action == "credits exhausted"] == [
        "2025-11-05 10:00:00+00:00"
    ]
    assert forecasts(result)[-1] == (iso(at("10:00", "04")), iso(at("10:00", "05")))


def test_CR6_an_expiry_with_nothing_running_is_alerted_ahead() -> None:
    """CR6: with nothing running, a grant that expires takes the balance to the floor at its
    instant; the alert comes 24 h before."""
    from together_billing import Grant

    result = simulate(
        [Account()],
        [Grant(at("00:00"), "account", 20, expires=at("12:00", "05"))],
        until="2025-11-07T00:00:00Z",
        catalog=CATALOG,
        policies=PREPAID,
    )
    assert forecasts(result) == [(iso(at("12:00", "04")), iso(at("12:00", "05")))]


def test_CR6_the_forecast_alert_is_renewed_when_the_run_out_moves_much_earlier() -> None:
    """CR6: once alerted, a change that moves the forecast run-out much earlier ("Tuesday"
    into "in 41 minutes") renews the alert; a small move does not."""
    big = InstantCluster("c", gpu_type="G", billing="on-demand", gpus=64)  # $192/h
    small = StorageVolume("v", size_tib=1)  # $0.50/h
    # $6/h: $1000 lasts 166 h 40 min, to 9 Nov 22:40, alerted on the 8th at 22:40. On the
    # 9th at 00:00, $136 is left.
    runs = {
        name: simulate(
            [burner(), resource, Account(opening_balance=1000)],
            [Deploy(at("00:00"), "burner"), Deploy(at("00:00", "09"), resource.id)],
            until="2025-11-12T00:00:00Z",
            catalog=CATALOG,
            policies=Policies.for_edition("2026", revoked_storage_bills=False),
        )
        for name, resource in (("big", big), ("small", small))
    }
    first = (iso(at("22:40", "08")), iso(at("22:40", "09")))
    # $198/h: $136 lasts 41 min 12.727273 s.
    assert forecasts(runs["big"]) == [
        first,
        (iso(at("00:00", "09")), "2025-11-09T00:41:12.727273+00:00"),
    ]
    # $6.50/h: $136 lasts 20 h 55 min 23.076924 s: 1 h 45 min earlier, no renewal.
    assert forecasts(runs["small"]) == [first]


# -- defect 2: debt is collected once ------------------------------------------------------------


def test_IN3_debt_is_collected_once_by_the_invoice_not_again_by_a_later_purchase() -> None:
    """IN3, W25, defect 2: the $50 used below zero in November is November's amount due; the
    $100 bought in December stays $100 of credit (it does not pay November's debt again)."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = simulate(
        [ep, Account(opening_balance=10)],
        [
            Deploy("2025-11-30T14:00:00Z", "x"),  # $60 to midnight: $50 below zero
            Stop("2025-12-01T00:00:00Z", "x"),
            Purchase("2025-12-02T00:00:00Z", "account", 100),
        ],
        until="2025-12-03T00:00:00Z",
        catalog=CATALOG,
        policies=Policies(credit_floor=-100),
    )
    november, december = result.invoices
    assert (november.total.amount, november.amount_due.amount) == (Decimal(60), Decimal(50))
    assert december.amount_due.amount == 0
    assert result.balance == 100
    # What the customer pays (purchases and amounts due) is what was charged plus what is left.
    paid = 10 + 100 + november.amount_due.amount + december.amount_due.amount
    assert paid == result.total.amount + result.balance


def test_IN3_a_purchase_in_the_same_period_pays_that_periods_debt() -> None:
    """IN3: credits bought in the period pay its debt first, so it is not due on the invoice."""
    ep = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = simulate(
        [ep, Account(opening_balance=10)],
        [
            Deploy(at("00:00"), "x"),
            Stop(at("10:00"), "x"),  # $60: $50 below zero
            Purchase(at("12:00"), "account", 100),
        ],
        until="2025-12-01T00:00:00Z",
        catalog=CATALOG,
        policies=Policies(credit_floor=-100),
    )
    (invoice,) = result.invoices
    assert (invoice.credits_applied.amount, invoice.amount_due.amount) == (60, 0)
    assert result.balance == 50


def test_CLI_shows_the_corrected_behaviour(tmp_path: Path) -> None:
    """The CLI replays scenario files with the new settings: a linked card runs to -$100, an
    endpoint without a timeout bills until stopped, a begin while exhausted is refused."""
    import io
    import json

    from together_billing.cli import main

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        """
start: "2025-11-03T00:00:00Z"
until: "2025-11-05T00:00:00Z"
account: {opening_balance: 10, linked_card: true}
catalog:
  default: false
  hardware:
    - {hardware: 1x_g, per_hour: 6, effective_from: "2025-01-01T00:00:00Z"}
resources:
  - {kind: dedicated_endpoint, id: ep, model: m, hardware: 1x_g}
  - {kind: dedicated_endpoint, id: late, model: m, hardware: 1x_g}
events:
  - {type: deploy, at: "2025-11-03T00:00:00Z", resource: ep}
  - {type: deploy, at: "2025-11-04T20:00:00Z", resource: late}
""",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert main(["simulate", str(scenario), "--format", "json"], out=out) == 0
    data = json.loads(out.getvalue())
    actions = [(e["resource"], e["action"]) for e in data["log"]]
    # $110 at $6/h lasts 18 h 20 min: out at 18:20 with the floor at -$100.
    assert ("ep", "stopped") in actions
    assert ("late", "deploy refused") in actions
    assert data["invoices"][0]["amount_due"] == "100.00"


def test_CR6_a_run_out_moved_much_later_is_alerted_again_at_its_lead_time() -> None:
    """CR6: an alert given for a run-out minutes away, then a purchase that moves it days
    later: the new run-out gets its own alert, 24 h before it (found by the deep profile)."""
    volume = StorageVolume("v", size_tib=1)  # $0.50/h
    result = simulate(
        [volume, Account(opening_balance="0.01")],
        [Deploy(at("00:00"), "v"), Purchase("2025-11-03T00:00:00.000001Z", "account", 24)],
        until="2025-11-06T00:00:00Z",
        catalog=CATALOG,
        policies=Policies.for_edition("2026", revoked_storage_bills=False),
    )
    # $24.01 at $0.50/h: 48 h 1 min 12 s, to 5 Nov 00:01:12 (to the microsecond, rounded up).
    assert forecasts(result)[-1] == ("2025-11-04T00:01:12+00:00", "2025-11-05T00:01:12+00:00")


@pytest.mark.parametrize(
    ("tokens", "rounding", "total"),
    [
        (4_000, "half-up", "0.00"),  # two lines of $0.004: $0.00 each, $0.008 paid
        (5_000, "half-up", "0.02"),  # two lines of $0.005: $0.01 each, $0.01 paid
        (9_000, "down", "0.00"),  # two lines of $0.009 rounded down
        (1_000, "up", "0.02"),  # two lines of $0.001 rounded up
    ],
)
def test_IN3_lines_paid_by_credits_leave_nothing_due_in_any_rounding(
    tokens: int, rounding: str, total: str
) -> None:
    """IN3, G1: what credits paid in full is never due, and nothing is ever negative.

    Lines are rounded one by one; the amount due is the exact unpaid part rounded once, at
    most the total, and credits applied the rest of the total (it was the paid sum rounded
    half-up, so fully paid cents could show $-0.01 or $0.01 due).
    """
    from together_billing import Policies, ServerlessUsage, TokenUsage, simulate
    from together_billing.catalog import Catalog

    catalog = Catalog([ServerlessPrice("m", "1.00", "0", "2025-01-01T00:00:00Z")])
    result = simulate(
        [
            ServerlessUsage("a", model="m"),
            ServerlessUsage("b", model="m"),
            Account(opening_balance=10),
        ],
        [
            TokenUsage("2025-11-01T01:00:00Z", "a", tokens),
            TokenUsage("2025-11-01T01:00:00Z", "b", tokens),
        ],
        until="2025-12-01T00:00:00Z",
        catalog=catalog,
        policies=Policies(rounding=rounding),
    )
    (invoice,) = result.invoices
    assert str(invoice.total.amount) == total
    assert invoice.amount_due.amount == 0
    assert invoice.credits_applied == invoice.total


def test_CR8_a_stop_after_credits_stopped_the_endpoint_is_a_logged_no_op() -> None:
    """CR8: the customer's stop of an endpoint that suspended API access stopped is logged,
    with why, and changes nothing."""
    result = run([], [Stop(at("03:00"), "burner")])
    entries = [(e.at.isoformat(), e.action, e.rule, e.detail) for e in result.log]
    assert (iso(at("03:00")), "stop ignored", "CR8", "already stopped: credits ran out") in entries
    assert result.state.status("burner") == "stopped"
    assert billed(result, "burner") == 10


def test_CR5_a_refused_volume_logs_why() -> None:
    """CR5: the refusal of a volume created while exhausted says why."""
    result = run([StorageVolume("v", size_tib=2)], [Deploy(at("03:00"), "v")])
    refusals = [e.detail for e in result.log if e.resource == "v" and e.action == "deploy refused"]
    assert refusals == ["credits exhausted: storage access is revoked"]


def test_CR5_events_after_the_grace_end_deleted_a_volume_are_logged_no_ops() -> None:
    """CR5: a volume whose data was deleted at the grace end takes the customer's later
    delete and resize as logged no-ops naming CR5."""
    result = run(
        [StorageVolume("v", size_tib=1)],
        [
            Deploy(at("00:00"), "v"),
            Delete(at("02:00", "05"), "v"),
            ResizeVolume(at("03:00", "05"), "v", size_tib=2),
        ],
        policies=Policies.for_edition("2026", grace_storage_hours=24),
        until="2025-11-06T00:00:00Z",
    )
    assert [(e.action, e.rule, e.detail) for e in result.log if e.resource == "v"][-3:] == [
        ("data deleted", "CR5", "credits were not restored"),
        ("delete ignored", "CR5", "its data was already deleted"),
        (
            "resize ignored",
            "CR5",
            "deleted: credits ran out (storage access is revoked, then its data deleted)",
        ),
    ]


@pytest.mark.parametrize(
    "resource",
    [
        StorageVolume("v", size_tib=1),
        InstantCluster("v", gpu_type="G", billing="on-demand", gpus=8),
    ],
    ids=["volume", "on-demand cluster"],
)
def test_CR4_CR5_a_resource_restored_by_credits_is_the_customer_s_again(resource: Resource) -> None:
    """CR4, CR5: once credits are restored, a paused cluster or a revoked volume runs again
    with no engine action left on it: an event that does not fit it is an error again, not
    a logged no-op."""
    with pytest.raises(InvalidTimeline) as info:
        run(
            [resource],
            [
                Deploy(at("00:00"), "v"),
                Purchase(at("05:00"), "account", 50),
                Deploy(at("06:00"), "v"),
            ],
        )
    assert (info.value.field, info.value.value) == ("status", "running")


@pytest.mark.parametrize(
    ("resource", "restored"),
    [
        (StorageVolume("v", size_tib=1), "access restored"),
        (InstantCluster("v", gpu_type="G", billing="on-demand", gpus=8), "resumed"),
    ],
    ids=["volume", "on-demand cluster"],
)
def test_CR4_CR5_the_grace_end_of_a_restored_resource_does_nothing(
    resource: Resource, restored: str
) -> None:
    """CR4, CR5: credits restored before the grace end cancel it: the cluster or volume
    still runs after the instant it would have been decommissioned or its data deleted."""
    result = run(
        [resource],
        [Deploy(at("00:00"), "v"), Purchase(at("05:00"), "account", 5000)],
        policies=Policies.for_edition("2026", grace_compute_hours=24, grace_storage_hours=24),
        until="2025-11-06T00:00:00Z",
    )
    assert actions(result, "v")[-1] == (iso(at("05:00")), restored, "CR7")
    assert result.state.status("v") == "running"


def test_CR8_a_deployment_ready_at_the_instant_credits_run_out_is_refused() -> None:
    """CR8: a deployment whose Ready comes at the instant the balance reaches the floor is
    refused and stopped then (the balance is read after the instant's purchases); it bills
    nothing, and the customer's later stop and scale are logged no-ops."""
    x = DedicatedEndpoint("x", model="m", hardware="1x_g")
    result = run(
        [x],
        [
            Deploy(at("00:00"), "x", ready=False),
            Ready(OUT, "x"),
            Stop(at("03:00"), "x"),
            ScaleReplicas(at("03:30"), "x", 2),
        ],
    )
    assert [
        (e.at.isoformat(), e.action, e.rule, e.detail) for e in result.log if e.resource == "x"
    ] == [
        (iso(at("00:00")), "deployed", "DE2", "provisioning (not billed)"),
        (iso(OUT), "ready refused", "CR8", "API access is suspended"),
        (iso(OUT), "stopped", "CR8", ""),
        (iso(at("03:00")), "stop ignored", "CR8", "already stopped: credits ran out"),
        (
            iso(at("03:30")),
            "scale ignored",
            "CR8",
            "stopped: credits ran out (API access suspended)",
        ),
    ]
    assert result.state.status("x") == "stopped"
    assert billed(result, "x") == 0


@pytest.mark.parametrize("balance", [383, 384])
def test_CL2_a_reservation_ready_later_is_admitted_by_its_price_from_credits(balance: int) -> None:
    """CL2, P-RESERVE-PAY credits: a reserved cluster provisioned first is charged when it is
    ready, and admitted then by that charge: $384 for its day is paid from $384 of credits
    (the floor is 0) and refused from $383, the cluster failing to start."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    result = simulate(
        [cluster, Account(opening_balance=balance)],
        [Deploy(at("00:00"), "r", ready=False), Ready(at("01:00"), "r")],
        until=UNTIL,
        catalog=CATALOG,
        policies=Policies.for_edition("2026", reservation_payment="credits"),
    )
    ready = [a[1:] for a in actions(result, "r")][1]
    if balance == 384:
        assert ready == ("ready", "CL2")
        assert billed(result, "r") == 384
    else:
        assert ready == ("ready refused", "CL2")
        assert result.state.status("r") == "failed"
        assert billed(result, "r") == 0


@pytest.mark.parametrize("gpus", [8, 16])
def test_CR3_burst_refused_names_the_GPUs_not_started(gpus: int) -> None:
    """CR3: a reservation begun while exhausted starts its reserved GPUs only; the log says
    how many burst GPUs were not started, and a cluster with no burst logs no refusal."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=gpus, reserved_gpus=8, duration_days=1
    )
    result = run(
        [cluster],
        [Deploy(at("03:00"), "r")],
        policies=Policies.for_edition("2026", reservation_payment="upfront"),
    )
    refusals = [e.detail for e in result.log if e.resource == "r" and e.action == "burst refused"]
    assert refusals == ([] if gpus == 8 else ["credits exhausted: 8 burst GPUs not started"])
    assert billed(result, "r") == 8 * 24 * 2


def test_CL2_provisioning_a_reserved_cluster_charges_nothing_yet() -> None:
    """CL2: provisioning is not charged, so it is admitted on any balance above the floor;
    the reservation is charged, and admitted, only when the cluster is ready."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
    )
    result = simulate(
        [cluster, Account(opening_balance=Decimal("0.50"))],
        [Deploy(at("00:00"), "r", ready=False)],
        until=UNTIL,
        catalog=CATALOG,
        policies=Policies.for_edition("2026", reservation_payment="credits"),
    )
    assert [a[1:] for a in actions(result, "r")] == [("provisioning", "CL2")]
    assert result.state.status("r") == "provisioning"


def test_CL5_extending_a_bursting_reservation_keeps_drawing_its_burst_from_credits() -> None:
    """CL3, CL5, CR1: the burst GPUs of a reserved cluster draw credits until the
    reservation's end, which an extension moves: two days of burst are drawn, and the
    balance is the ledger's."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = simulate(
        [cluster, Account(opening_balance=10_000)],
        [Deploy(at("00:00"), "r"), ExtendReservation(at("12:00"), "r", days=1)],
        until="2025-11-06T00:00:00Z",
        catalog=CATALOG,
        policies=Policies.for_edition("2026", reservation_payment="upfront"),
    )
    burst = [line for line in result.lines if line.resource == "r" and line.rule == "CL3"]
    assert sum(line.amount for line in burst) == 8 * 48 * 3
    assert result.balance == 10_000 - 8 * 48 * 3


def test_CR3_a_refused_scale_leaves_the_cluster_the_customer_s() -> None:
    """CR3: GPUs added while out of credit are refused, and the cluster keeps running as the
    customer left it: an event that does not fit it afterwards is an error, not a no-op."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    events: list[Event] = [Deploy(at("00:00"), "r"), ScaleGpus(at("03:00"), "r", 16)]
    policies = Policies.for_edition("2026", reservation_payment="upfront")
    result = run([cluster], events, policies=policies)
    assert (iso(at("03:00")), "scale refused", "CR3") in actions(result, "r")
    with pytest.raises(InvalidTimeline) as info:
        run([cluster], [*events, Deploy(at("04:00"), "r")], policies=policies)
    assert (info.value.field, info.value.value) == ("status", "running")


def test_CR3_burst_is_refused_while_a_revoked_volume_still_draws() -> None:
    """CR3, CR5, P-REVOKED-BILLS: after credits ran out (01:40), a revoked volume keeps
    drawing, so the balance at 03:00 is below the floor and a reservation begun then starts
    without its burst GPUs; the balance is read at the instant of the begin."""
    cluster = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = run(
        [StorageVolume("v", size_tib=10), cluster],
        [Deploy(at("00:00"), "v"), Deploy(at("03:00"), "r")],
        policies=Policies.for_edition("2026", reservation_payment="upfront"),
    )
    assert (iso(at("03:00")), "burst refused", "CR3") in actions(result, "r")
