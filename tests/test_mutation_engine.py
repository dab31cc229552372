"""Precise checks of the replay engine's user-facing output, written against mutation testing.

Each test replays a small scenario with a tiny catalog of user prices and asserts
the exact lifecycle log (instant, resource, action, rule and detail text), the
exact invoice lines, or the exact ``field``, ``value`` and ``expected`` text of the
error raised. mutmut's surviving mutants of ``engine.py`` were changes to exactly
these texts, branches and boundaries that no other test pinned down; see
docs/mutation.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

import pytest

from together_billing import (
    Account,
    AutoRecharge,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    FineTunedHosting,
    FineTuningJob,
    FineTuningPrice,
    Grant,
    HardwarePrice,
    InstantCluster,
    InvalidArgument,
    InvalidTimeline,
    JobCancelled,
    JobCompleted,
    MeteringGrain,
    Policies,
    PriceChange,
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
    Simulator,
    SizeTierPrice,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    TokenUsage,
    TokenUsageBatch,
    UnknownPrice,
    simulate,
)

E = "2025-01-01T00:00:00Z"
CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "6", E),
        ServerlessPrice("chat", "1", "2", E, cached_input="0.5", batch_discount="0.5"),
        ServerlessPrice("plain", "0.20", "0.60", E),
        SizeTierPrice("small", "8", "0.10", "0.30", E),
        FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.5", effective_from=E),
        FineTuningPrice("16", "dpo", lora=False, per_1m_tokens="2", effective_from=E),
        ClusterPrice("G", "reserved", "2.50", E),
        ClusterPrice("G", "on-demand", "3.75", E),
        StoragePrice("on-demand", "0.25", E),
    ]
)
#: The same prices plus a reserved storage rate (ST3).
CATALOG_RESERVED_STORAGE = CATALOG.with_entries(StoragePrice("reserved", "0.20", E))
UNTIL = "2025-11-04T00:00:00Z"
#: The credit settings these tests were written under: a -$100 floor (an account with a
#: linked card in the 2025-11 rules) and revoked storage that stops billing.
LEGACY: Final[dict[str, Any]] = {"credit_floor": -100, "revoked_storage_bills": False}
#: Credit policies without balance alerts, for logs that show only the other actions.
NO_ALERTS = Policies(alert_thresholds=[], **LEGACY)

Log = list[tuple[str, str, str, str, str]]


def at(hhmm: str, day: str = "03") -> str:
    """An instant on 2025-11-``day``, ``"HH:MM"`` UTC."""
    return f"2025-11-{day}T{hhmm}:00Z"


def iso(hhmm: str, day: str = "03") -> str:
    """The ISO text of :func:`at`, as log entries and errors print it."""
    return f"2025-11-{day}T{hhmm}:00+00:00"


def run(
    resources: Iterable[Resource | Account],
    events: Sequence[Event],
    *,
    until: str = UNTIL,
    policies: Policies | None = None,
    catalog: Catalog = CATALOG,
    start: str | None = None,
) -> SimulationResult:
    if policies is None:
        policies = Policies(**LEGACY)
    return simulate(resources, events, until=until, start=start, catalog=catalog, policies=policies)


def log_of(result: SimulationResult) -> Log:
    """The whole log as ``(instant, resource, action, rule, detail)`` tuples."""
    return [(e.at.isoformat(), e.resource, e.action, e.rule, e.detail) for e in result.log]


def lines_of(result: SimulationResult) -> list[tuple[object, ...]]:
    """Every invoice line as ``(resource, rule, description, quantity, unit, rate, rate_unit, amount, start, end)``."""
    return [
        (
            line.resource,
            line.rule,
            line.description,
            line.quantity,
            line.unit,
            line.rate,
            line.rate_unit,
            line.amount,
            line.interval.start.isoformat(),
            line.interval.end.isoformat(),
        )
        for line in result.lines
    ]


def error_of(
    resources: Iterable[Resource | Account],
    events: Sequence[Event],
    **options: object,
) -> tuple[object, object, str]:
    """``(field, value, expected)`` of the InvalidTimeline the replay raises."""
    with pytest.raises(InvalidTimeline) as info:
        run(resources, events, **options)  # type: ignore[arg-type]
    assert info.value.event in events
    return info.value.field, info.value.value, info.value.expected


EP = DedicatedEndpoint(
    "ep", model="m", hardware="1x_g", inactive_timeout_minutes=30, max_replicas=3
)
EP0 = DedicatedEndpoint("ep", model="m", hardware="1x_g")
HOST = FineTunedHosting("h", model="me/tuned", hardware="1x_g")
CHAT = ServerlessUsage("s", model="chat")
ON_DEMAND = InstantCluster("o", gpu_type="G", billing="on-demand", gpus=8)
RESERVED = InstantCluster(
    "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=2
)


# -- dedicated endpoints and hosting (DE1-DE4, FT2) -------------------------------------------------


def test_endpoint_lifecycle_log_and_line() -> None:
    """Provisioning, ready, scaling, idle auto-stop, ignored stops, refused requests and delete, each logged."""
    result = run(
        [EP],
        [
            Deploy(at("09:00"), "ep", ready=False),
            Ready(at("09:05"), "ep"),
            ScaleReplicas(at("09:10"), "ep", 3),
            Requests(at("09:20"), "ep"),
            Stop(at("10:00"), "ep"),
            Requests(at("10:01"), "ep", count=4),
            Start(at("11:00"), "ep"),
            Stop(at("12:00"), "ep"),
            Delete(at("12:30"), "ep"),
        ],
    )
    assert log_of(result) == [
        (iso("09:00"), "ep", "deployed", "DE2", "provisioning (not billed)"),
        (iso("09:05"), "ep", "ready", "DE2", "1 replica(s) billing"),
        (iso("09:10"), "ep", "replicas changed", "DE3", "1 -> 3 ready"),
        (iso("09:50"), "ep", "auto-stopped", "DE4", "no requests for 30 minutes (P-IDLE)"),
        (iso("10:00"), "ep", "stop ignored", "DE4", "already stopped by the idle timeout"),
        (iso("10:01"), "ep", "requests refused", "DE2", "4 request(s) while stopped"),
        (iso("11:00"), "ep", "started", "DE2", ""),
        (iso("11:30"), "ep", "auto-stopped", "DE4", "no requests for 30 minutes (P-IDLE)"),
        (iso("12:00"), "ep", "stop ignored", "DE4", "already stopped by the idle timeout"),
        (iso("12:30"), "ep", "deleted", "DE2", ""),
    ]
    # 5 minutes of 1 replica, 40 of 3 (the request at 09:20 moved the deadline to 09:50),
    # then 30 of 1 after the restart.
    assert lines_of(result) == [
        (
            "ep",
            "DE1",
            "1x_g ready replicas",
            Decimal(155),
            "replica-minute",
            Decimal(6),
            "USD per replica-hour",
            Decimal("15.50"),
            iso("09:05"),
            iso("11:30"),
        )
    ]
    assert result.state.status("ep") == "deleted"


def test_idle_timeouts_come_from_the_policies_per_kind() -> None:
    """DE4: without its own timeout an endpoint uses P-IDLE; a hosted model's own timeout wins (FT2 line)."""
    hosting = FineTunedHosting("h", model="me/tuned", hardware="1x_g", inactive_timeout_minutes=120)
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
    result = run(
        [hosting, endpoint],
        [
            Deploy(at("00:00"), "h"),
            Deploy(at("00:00"), "ep"),
            Requests(at("00:30"), "ep"),
            Stop(at("05:00"), "h"),
            Stop(at("05:00"), "ep"),
        ],
        policies=Policies(inactive_timeout_minutes=45),
    )
    assert log_of(result) == [
        (iso("00:00"), "ep", "deployed", "DE2", ""),
        (iso("00:00"), "h", "deployed", "FT2", ""),
        (iso("01:15"), "ep", "auto-stopped", "DE4", "no requests for 45 minutes (P-IDLE)"),
        (iso("02:00"), "h", "auto-stopped", "DE4", "no requests for 120 minutes (P-IDLE)"),
        (iso("05:00"), "ep", "stop ignored", "DE4", "already stopped by the idle timeout"),
        (iso("05:00"), "h", "stop ignored", "DE4", "already stopped by the idle timeout"),
    ]
    assert lines_of(result) == [
        (
            "h",
            "FT2",
            "hosting me/tuned on 1x_g",
            Decimal(120),
            "replica-minute",
            Decimal(6),
            "USD per replica-hour",
            Decimal("12.00"),
            iso("00:00"),
            iso("02:00"),
        ),
        (
            "ep",
            "DE1",
            "1x_g ready replicas",
            Decimal(75),
            "replica-minute",
            Decimal(6),
            "USD per replica-hour",
            Decimal("7.50"),
            iso("00:00"),
            iso("01:15"),
        ),
    ]


def test_hosting_without_any_timeout_runs_until_stopped() -> None:
    """A hosted model has no idle timeout by default (P-IDLE applies to endpoints only)."""
    hosting = FineTunedHosting("h", model="me/tuned", hardware="1x_g")
    result = run([hosting], [Deploy(at("00:00"), "h"), Stop(at("05:00"), "h")])
    assert [entry.action for entry in result.log] == ["deployed", "stopped"]
    assert result.lines[0].quantity == 300


def test_failed_deployment_is_logged_and_can_be_deleted() -> None:
    """A failed provisioning logs its rule and detail; a failed deployment can still be deleted."""
    result = run(
        [EP0],
        [
            Deploy(at("00:00"), "ep", ready=False),
            DeployFailed(at("00:10"), "ep"),
            Delete(at("00:20"), "ep"),
        ],
    )
    assert log_of(result) == [
        (iso("00:00"), "ep", "deployed", "DE2", "provisioning (not billed)"),
        (iso("00:10"), "ep", "deployment failed", "DE2", "provisioning is not billed"),
        (iso("00:20"), "ep", "deleted", "DE2", ""),
    ]
    assert result.lines == ()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([Start(at("00:00"), "ep")], ("status", "not deployed", "a stopped deployment")),
        ([Ready(at("00:00"), "ep")], ("status", "not deployed", "a provisioning deployment")),
        (
            [DeployFailed(at("00:00"), "ep")],
            ("status", "not deployed", "a provisioning deployment"),
        ),
        (
            [Stop(at("00:00"), "ep")],
            ("status", "not deployed", "a running or provisioning deployment"),
        ),
        (
            [Delete(at("00:00"), "ep")],
            ("status", "not deployed", "a deployed resource not yet deleted"),
        ),
        ([ScaleReplicas(at("00:00"), "ep", 1)], ("status", "not deployed", "a running deployment")),
        (
            [Deploy(at("00:00"), "ep"), Deploy(at("01:00"), "ep")],
            ("status", "running", "a resource not yet deployed"),
        ),
        (
            [Deploy(at("00:00"), "ep"), Delete(at("01:00"), "ep"), Delete(at("02:00"), "ep")],
            ("status", "deleted", "a deployed resource not yet deleted"),
        ),
        (
            [Deploy(at("00:00"), "ep"), ScaleReplicas(at("01:00"), "ep", 2)],
            ("replicas", 2, "at most max_replicas (1)"),
        ),
        (
            [Deploy(at("00:00"), "ep"), ScaleGpus(at("01:00"), "ep", 8)],
            ("resource", "ep", "an InstantCluster or StorageVolume; 'ep' is a DedicatedEndpoint"),
        ),
        (
            [Deploy(at("00:00"), "ep"), ExtendReservation(at("01:00"), "ep", 1)],
            ("resource", "ep", "an InstantCluster or StorageVolume; 'ep' is a DedicatedEndpoint"),
        ),
        (
            [Deploy(at("00:00"), "ep"), ResizeVolume(at("01:00"), "ep", 1)],
            ("resource", "ep", "an InstantCluster or StorageVolume; 'ep' is a DedicatedEndpoint"),
        ),
    ],
)
def test_deployment_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Each deployment event out of place raises naming the status (or field) and what was expected."""
    assert error_of([EP0], events) == expected


# -- Instant Clusters (CL1-CL6) and storage volumes (ST1-ST3) --------------------------------------


def test_reserved_cluster_with_volume_log_and_lines() -> None:
    """CL2/CL3/CL5 and ST1-ST3: a reserved cluster's whole lifecycle, its burst and its volume's repricing."""
    volume = StorageVolume("v", size_tib=2, cluster="c")
    result = run(
        [RESERVED, volume],
        [
            Deploy(at("00:00"), "v"),
            Deploy(at("01:00"), "c", ready=False),
            Ready(at("02:00"), "c"),
            ScaleGpus(at("03:00"), "c", 24),
            ScaleGpus(at("04:00"), "c", 8),
            ExtendReservation(at("05:00"), "c", 1),
            ResizeVolume(at("00:00", "04"), "v", 3),
            ResizeVolume(at("01:00", "04"), "v", 1),
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
    result = run([RESERVED], [Deploy(at("01:00"), "c"), Delete(at("05:00"), "c")], until=UNTIL)
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
    result = run(
        [cluster],
        [Deploy(at("00:00"), "c"), Delete(at("12:00", "04"), "c")],
        until=at("13:00", "04"),
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
    result = run(
        [Account(opening_balance="1000"), cluster],
        [Deploy(at("00:00"), "c")],
        until=at("01:00"),
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
    result = run(
        [ON_DEMAND],
        [
            Deploy(at("00:00"), "o"),
            Stop(at("01:00"), "o"),
            Start(at("02:00"), "o", ready=False),
            Ready(at("02:10"), "o"),
            ScaleGpus(at("03:00"), "o", 16),
            Delete(at("04:00"), "o"),
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
    result = run(
        [ON_DEMAND, other],
        [
            Deploy(at("00:00"), "o"),
            Stop(at("01:00"), "o"),
            Start(at("02:00"), "o"),
            Deploy(at("00:00"), "p", ready=False),
            DeployFailed(at("00:30"), "p"),
            Delete(at("00:40"), "p"),
        ],
        until=at("03:00"),
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
        ([Ready(at("00:00"), "o")], ("status", "not deployed", "a provisioning cluster")),
        ([DeployFailed(at("00:00"), "o")], ("status", "not deployed", "a provisioning cluster")),
        ([ScaleGpus(at("00:00"), "o", 8)], ("status", "not deployed", "a running cluster")),
        ([Stop(at("00:00"), "o")], ("status", "not deployed", "a running cluster")),
        ([Start(at("00:00"), "o")], ("status", "not deployed", "a stopped cluster")),
        ([Delete(at("00:00"), "o")], ("status", "not deployed", "a cluster not yet deleted")),
        (
            [Deploy(at("00:00"), "o"), Deploy(at("01:00"), "o")],
            ("status", "running", "a cluster not yet provisioned"),
        ),
        (
            [Deploy(at("00:00"), "o"), ScaleGpus(at("01:00"), "o", 12)],
            ("gpus", 12, "a multiple of 8 GPUs (P-GPU-STEP)"),
        ),
        (
            [Deploy(at("00:00"), "o"), ScaleGpus(at("01:00"), "o", 4)],
            ("gpus", 4, "a multiple of 8 GPUs (P-GPU-STEP)"),
        ),
        (
            [Deploy(at("00:00"), "o"), ExtendReservation(at("01:00"), "o", 1)],
            ("resource", "o", "a reserved cluster"),
        ),
        (
            [Deploy(at("00:00"), "o"), Requests(at("01:00"), "o")],
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
            [Deploy(at("00:00"), "o"), Delete(at("01:00"), "o"), Delete(at("02:00"), "o")],
            ("status", "deleted", "a cluster not yet deleted"),
        ),
    ],
)
def test_on_demand_cluster_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Each cluster event out of place raises naming the status (or field) and what was expected."""
    assert error_of([ON_DEMAND], events) == expected


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [Deploy(at("00:00"), "c"), Stop(at("01:00"), "c")],
            (
                "resource",
                "c",
                "an on-demand cluster: a reserved cluster cannot be paused (Delete terminates it)",
            ),
        ),
        (
            [Deploy(at("00:00"), "c"), Start(at("01:00"), "c")],
            ("resource", "c", "an on-demand cluster"),
        ),
        (
            [ExtendReservation(at("01:00"), "c", 1)],
            ("status", "not deployed", "a running reserved cluster"),
        ),
        (
            [Deploy(at("00:00"), "c"), ExtendReservation(at("01:00"), "c", 91)],
            ("days", 91, "an extension of 1 to 90 days"),
        ),
    ],
)
def test_reserved_cluster_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Stop, Start and ExtendReservation on a reserved cluster are checked with precise messages."""
    assert error_of([RESERVED], events) == expected


def test_reservation_extension_of_90_days_is_the_maximum_allowed() -> None:
    """CL5: 90 days is a valid extension (91 is not, above)."""
    result = run(
        [RESERVED],
        [Deploy(at("00:00"), "c"), ExtendReservation(at("01:00"), "c", 90)],
        until="2025-11-03T02:00:00Z",
    )
    (extension,) = [line for line in result.lines if line.rule == "CL5"]
    assert extension.quantity == 8 * 90 * 24


def test_gpu_step_policy_checks_the_deployed_and_reserved_gpus() -> None:
    """P-GPU-STEP applies to the cluster's GPUs at provisioning and to its reserved GPUs."""
    assert error_of([ON_DEMAND], [Deploy(at("00:00"), "o")], policies=Policies(gpu_step=16)) == (
        "gpus",
        8,
        "a multiple of 16 GPUs (P-GPU-STEP)",
    )
    # Checked when the cluster becomes ready, also after a provisioning delay.
    assert error_of(
        [ON_DEMAND],
        [Deploy(at("00:00"), "o", ready=False), Ready(at("00:10"), "o")],
        policies=Policies(gpu_step=16),
    ) == ("gpus", 8, "a multiple of 16 GPUs (P-GPU-STEP)")
    odd = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=4, duration_days=2
    )
    assert error_of([odd], [Deploy(at("00:00"), "c")]) == (
        "reserved_gpus",
        4,
        "a multiple of 8 GPUs (P-GPU-STEP)",
    )


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


@pytest.mark.parametrize(
    ("events", "policies", "expected"),
    [
        (
            [Deploy(at("00:00"), "v", ready=False)],
            None,
            ("ready", False, "True: a volume bills from its creation (ST1)"),
        ),
        (
            [ResizeVolume(at("00:00"), "v", 3)],
            None,
            ("status", "not deployed", "an existing volume"),
        ),
        ([Delete(at("00:00"), "v")], None, ("status", "not deployed", "an existing volume")),
        (
            [Deploy(at("00:00"), "v"), Deploy(at("01:00"), "v")],
            None,
            ("status", "running", "a volume not yet created"),
        ),
        (
            [Deploy(at("00:00"), "v"), Delete(at("01:00"), "v"), Delete(at("02:00"), "v")],
            None,
            ("status", "deleted", "an existing volume"),
        ),
        (
            [Deploy(at("00:00"), "v"), Stop(at("01:00"), "v")],
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
            [Deploy(at("00:00"), "v"), ResizeVolume(at("01:00"), "v", 1)],
            Policies(storage_shrink="forbidden"),
            ("size_tib", 1, "at least 2 TiB (P-SHRINK: forbidden)"),
        ),
        (
            [Deploy(at("00:00"), "v"), ResizeVolume(at("01:00"), "v", 1)],
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
        ("forbidden", ResizeVolume(at("01:00"), "v", 2)),
        ("account-team", ResizeVolume(at("01:00"), "v", 1, via_account_team=True)),
        ("account-team", ResizeVolume(at("01:00"), "v", 3)),
        ("allowed", ResizeVolume(at("01:00"), "v", 1)),
    ],
)
def test_volume_resizes_the_shrink_policy_allows(policy: str, event: ResizeVolume) -> None:
    """P-SHRINK: same size, growth, shrink through the account team, or any shrink when allowed."""
    volume = StorageVolume("v", size_tib=2)
    result = run(
        [volume], [Deploy(at("00:00"), "v"), event], policies=Policies(storage_shrink=policy)
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
        run([volume, EP0], [])
    assert (info.value.field, info.value.value, info.value.expected) == (
        "cluster",
        cluster,
        "the id of an InstantCluster of the scenario (volume 'v')",
    )


# -- serverless (SL1-SL3) and fine-tuning jobs (FT1) ------------------------------------------------


def serverless_lines(result: SimulationResult) -> list[tuple[object, ...]]:
    """``(resource, rule, description, quantity, rate, amount)`` of every line."""
    return [
        (line.resource, line.rule, line.description, line.quantity, line.rate, line.amount)
        for line in result.lines
    ]


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


def test_jobs_are_charged_once_with_their_method_and_training() -> None:
    """FT1: completed and cancelled jobs get one line each, named by method and LoRA/full, and a log entry."""
    sft = FineTuningJob(id="j", model="me/base", params_b=16, training_tokens=10**6, n_epochs=2)
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    result = run(
        [sft, dpo],
        [JobCompleted(at("01:00"), "j"), JobCancelled(at("02:00"), "k", tokens_processed=1200)],
    )
    assert log_of(result) == [
        (iso("01:00"), "j", "job completed", "FT1", "2000000 tokens"),
        (iso("02:00"), "k", "job cancelled", "FT1", "1200 tokens"),
    ]
    assert serverless_lines(result) == [
        (
            "j",
            "FT1",
            "fine-tuning me/base (SFT, LoRA) tokens processed",
            Decimal(2 * 10**6),
            Decimal("0.5"),
            Decimal("1.00"),
        ),
        (
            "k",
            "FT1",
            "fine-tuning me/dpo (DPO, full) tokens processed before cancellation",
            Decimal(1200),
            Decimal(2),
            Decimal("0.00"),
        ),
    ]
    assert result.lines[0].unit == "token"
    assert result.lines[0].rate_unit == "USD per 1M tokens"
    assert (result.state.status("j"), result.state.status("k")) == ("completed", "cancelled")


def test_job_cancelled_before_any_token_has_no_line() -> None:
    """FT1: a cancellation with nothing processed is logged but adds no line (no minimum charge)."""
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    result = run([dpo], [JobCancelled(at("02:00"), "k", tokens_processed=0)])
    assert log_of(result) == [(iso("02:00"), "k", "job cancelled", "FT1", "0 tokens")]
    assert result.lines == ()
    everything = run([dpo], [JobCancelled(at("02:00"), "k", tokens_processed=5000)])
    assert everything.lines[0].quantity == 5000


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [JobCancelled(at("02:00"), "k", tokens_processed=5001)],
            ("tokens_processed", 5001, "at most the job's total tokens (5000)"),
        ),
        (
            [JobCompleted(at("02:00"), "k"), JobCompleted(at("03:00"), "k")],
            ("status", "completed", "a job that has not completed or been cancelled"),
        ),
        (
            [JobCancelled(at("02:00"), "k", 5), JobCancelled(at("03:00"), "k", 5)],
            ("status", "cancelled", "a job that has not completed or been cancelled"),
        ),
        (
            [TokenUsage(at("02:00"), "k", 1)],
            ("resource", "k", "a ServerlessUsage; 'k' is a FineTuningJob"),
        ),
        (
            [TokenUsageBatch("k", [at("02:00")], [1], [1])],
            ("resource", "k", "a ServerlessUsage; 'k' is a FineTuningJob"),
        ),
        (
            [Deploy(at("02:00"), "s")],
            (
                "resource",
                "s",
                (
                    "a DedicatedEndpoint, FineTunedHosting, InstantCluster or StorageVolume; "
                    "'s' is a ServerlessUsage"
                ),
            ),
        ),
        (
            [JobCompleted(at("02:00"), "s")],
            ("resource", "s", "a FineTuningJob; 's' is a ServerlessUsage"),
        ),
    ],
)
def test_job_and_serverless_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Job events are checked against the job's state and totals; event kinds against resource kinds."""
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    assert error_of([dpo, CHAT], events) == expected


# -- credits (CR1-CR8) -------------------------------------------------------------------------------


def test_exhaustion_and_restoration_log_of_every_kind_of_resource() -> None:
    """CR1-CR8: alerts, exhaustion, suspension, refusals, restoration and decommissioning, in order and in full.

    $10 opening balance, a $6/h endpoint, 8 GPUs at $3.75/h and 2 TiB at $0.25/h: $36.50
    per hour, so $5 is reached after 493.150685 s, $0 after twice that and the -$100
    floor after 110/36.5 h.
    """
    volume = StorageVolume("v", size_tib=2)
    result = run(
        [Account(opening_balance="10"), ON_DEMAND, volume, EP0, CHAT],
        [
            Deploy(at("00:00"), "o"),
            Deploy(at("00:00"), "v"),
            Deploy(at("00:00"), "ep"),
            Stop(at("06:00"), "o"),
            Start(at("06:30"), "ep"),
            TokenUsage(at("06:40"), "s", input_tokens=5),
            Purchase(at("07:00"), "account", "200"),
            Delete(at("08:00"), "v"),
        ],
        until="2025-11-20T00:00:00Z",
        policies=Policies(alert_thresholds=["5", "0"], **LEGACY),
    )
    exhausted = "2025-11-03T03:00:49.315069+00:00"
    again = "2025-11-03T13:38:47+00:00"
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (iso("00:00"), "ep", "deployed", "DE2", ""),
        (iso("00:00"), "o", "ready", "CL4", "8 GPUs on demand"),
        (iso("00:00"), "v", "created", "ST1", "2 TiB, on-demand"),
        # Decided after the instant's last event, at the rate of all three.
        (
            iso("00:00"),
            "account",
            "alert",
            "CR6",
            f"credits forecast to run out at {exhausted} at the current rate",
        ),
        (
            "2025-11-03T00:08:13.150685+00:00",
            "account",
            "alert",
            "CR6",
            "balance 5.00 USD is at or below 5",
        ),
        (
            "2025-11-03T00:16:26.301370+00:00",
            "account",
            "alert",
            "CR6",
            "balance 0.00 USD is at or below 0",
        ),
        (
            exhausted,
            "account",
            "credits exhausted",
            "CR2",
            "balance -100.00 USD reached the floor -100 (P-FLOOR)",
        ),
        (exhausted, "account", "API access suspended", "CR8", "P-EXHAUST"),
        (exhausted, "ep", "stopped", "CR8", ""),
        (
            exhausted,
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (
            exhausted,
            "v",
            "access revoked",
            "CR5",
            "data deleted unless credits are restored within 168 h (P-GRACE-STORAGE)",
        ),
        (iso("06:00"), "o", "stop ignored", "CR4", "paused: credits ran out"),
        (iso("06:30"), "ep", "start refused", "CR8", "API access is suspended"),
        (iso("06:40"), "s", "requests refused", "CR8", "API access is suspended"),
        (iso("07:00"), "account", "credits purchased", "CR1", "200 USD"),
        (iso("07:00"), "account", "credits restored", "CR7", "API access resumed"),
        (iso("07:00"), "o", "resumed", "CR7", "8 GPUs on demand"),
        (iso("07:00"), "v", "access restored", "CR7", ""),
        (
            iso("07:00"),
            "account",
            "alert",
            "CR6",
            "credits forecast to run out at 2025-11-03T13:33:13.770492+00:00 at the current rate",
        ),
        (iso("08:00"), "v", "deleted", "ST1", ""),
        (
            "2025-11-03T10:08:47+00:00",
            "account",
            "alert",
            "CR6",
            "balance 5.00 USD is at or below 5",
        ),
        (
            "2025-11-03T10:18:47+00:00",
            "account",
            "alert",
            "CR6",
            "balance 0.00 USD is at or below 0",
        ),
        (
            again,
            "account",
            "credits exhausted",
            "CR2",
            "balance -100.00 USD reached the floor -100 (P-FLOOR)",
        ),
        (again, "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            again,
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (
            "2025-11-05T13:38:47+00:00",
            "o",
            "alert",
            "CR6",
            "the paused cluster will be decommissioned in 24 h unless credits are restored (CR4)",
        ),
        (
            "2025-11-06T13:38:47+00:00",
            "o",
            "decommissioned",
            "CR4",
            "credits were not restored",
        ),
    ]
    assert [(line.resource, line.quantity, line.amount) for line in result.lines] == [
        ("ep", Decimal(181), Decimal("18.10")),
        ("o", Decimal(4640), Decimal("290.00")),
        ("v", Decimal(482), Decimal("2.01")),
    ]
    assert result.credits == {
        "purchased": Decimal(210),
        "granted": Decimal(0),
        "consumed": Decimal("310.108333333333"),
        "expired": Decimal(0),
        "remaining": Decimal("-100.108333333333"),
    }
    # The rest of each started minute is drawn at the instant units stop (G3).
    tails = [(e.resource, e.note) for e in result.ledger if e.note.startswith("rest of")]
    assert tails == [
        ("ep", "rest of the started minute (G3)"),
        ("o", "rest of the started minute (G3)"),
        ("v", "rest of the started minute (G3)"),
        ("o", "rest of the started minute (G3)"),
    ]
    assert result.state.status("o") == "decommissioned"
    assert result.state.status("ep") == "stopped"


def test_revoked_volume_data_is_deleted_after_the_grace_period() -> None:
    """CR5/CR6: the grace alert comes P-ALERT-LEAD hours before the data is deleted; a later Delete is ignored."""
    volume = StorageVolume("v", size_tib=4)
    result = run(
        [Account(opening_balance="5"), volume],
        [Deploy(at("00:00"), "v"), Delete(at("00:00", "10"), "v")],
        until="2025-11-11T00:00:00Z",
        policies=Policies(
            alert_thresholds=[],
            credit_floor=0,
            grace_storage_hours=48,
            alert_lead_hours=12,
            revoked_storage_bills=False,
        ),
    )
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance 5"),
        (iso("00:00"), "v", "created", "ST1", "4 TiB, on-demand"),
        (
            iso("00:00"),
            "account",
            "alert",
            "CR6",
            "credits forecast to run out at 2025-11-03T05:00:00+00:00 at the current rate",
        ),
        (
            iso("05:00"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (iso("05:00"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            iso("05:00"),
            "v",
            "access revoked",
            "CR5",
            "data deleted unless credits are restored within 48 h (P-GRACE-STORAGE)",
        ),
        (
            iso("17:00", "04"),
            "v",
            "alert",
            "CR6",
            "the volume's data will be deleted in 12 h unless credits are restored (CR5)",
        ),
        (iso("05:00", "05"), "v", "data deleted", "CR5", "credits were not restored"),
        (iso("00:00", "10"), "v", "delete ignored", "CR5", "its data was already deleted"),
    ]
    assert [(line.quantity, line.amount) for line in result.lines] == [
        (Decimal(1200), Decimal("5.00"))
    ]
    assert result.state.status("v") == "deleted"


def test_exhaustion_with_a_reserved_cluster_and_a_paused_cluster_that_bills() -> None:
    """CR3/CR4: burst is decommissioned and new burst refused; P-PAUSED-BILLS keeps a paused cluster billing."""
    reserved = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=30
    )
    result = run(
        [Account(opening_balance="40"), reserved, ON_DEMAND],
        [
            Deploy(at("00:00"), "c"),
            Deploy(at("00:00"), "o"),
            ScaleGpus(at("05:00"), "c", 24),
            ScaleGpus(at("06:00"), "c", 8),
        ],
        until=at("07:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0, paused_cluster_bills=True),
    )
    assert log_of(result)[4:] == [
        (
            iso("00:40"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (iso("00:40"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            iso("00:40"),
            "c",
            "burst capacity decommissioned",
            "CR3",
            "back to the 8 reserved GPUs, which run to the reservation's end",
        ),
        (
            iso("00:40"),
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (iso("05:00"), "c", "scale refused", "CR3", "credits exhausted: no on-demand capacity"),
        (
            iso("06:00"),
            "c",
            "GPUs changed",
            "CL3",
            "8 -> 8 GPUs (8 reserved, 0 burst at on-demand rates)",
        ),
    ]
    assert [(line.rule, line.quantity, line.amount) for line in result.lines] == [
        ("CL2", Decimal(5760), Decimal("14400.00")),
        ("CL3", Decimal(320), Decimal("20.00")),
        # The paused cluster keeps billing (P-PAUSED-BILLS): 7 hours of 8 GPUs.
        ("CL4", Decimal(3360), Decimal("210.00")),
    ]
    assert result.state.status("o") == "paused"


def test_exhaustion_without_suspension_keeps_endpoints_and_serverless_running() -> None:
    """P-EXHAUST off: no suspension, the endpoint keeps running and usage is billed; revoked storage can bill."""
    volume = StorageVolume("v", size_tib=4)
    result = run(
        [Account(opening_balance="1"), EP0, CHAT, volume],
        [Deploy(at("00:00"), "ep"), Deploy(at("00:00"), "v"), TokenUsage(at("02:00"), "s", 10**6)],
        until=at("03:00"),
        policies=Policies(
            alert_thresholds=[],
            credit_floor=0,
            exhaustion_suspends_api=False,
            revoked_storage_bills=True,
        ),
    )
    assert [entry.action for entry in result.log] == [
        "account opened",
        "deployed",
        "created",
        "alert",
        "credits exhausted",
        "access revoked",
    ]
    assert [(line.resource, line.amount) for line in result.lines] == [
        ("s", Decimal("1.00")),
        ("ep", Decimal("18.00")),
        ("v", Decimal("3.00")),
    ]
    assert result.state.status("ep") == "running"
    assert result.state.status("v") == "access revoked"


def test_grants_purchases_and_expiry_are_logged() -> None:
    """CR1: a grant names its expiry, a purchase its amount; expired promotional credits are logged."""
    result = run(
        [Account(opening_balance="10")],
        [
            Grant(at("01:00"), "account", "20", expires=at("05:00")),
            Grant(at("02:00"), "account", "3"),
            Purchase(at("03:00"), "account", "5"),
        ],
    )
    assert log_of(result) == [
        (iso("01:00"), "account", "account opened", "CR1", "balance 10"),
        (
            iso("01:00"),
            "account",
            "credits granted",
            "CR1",
            f"20 USD, expiring {iso('05:00')}",
        ),
        (iso("02:00"), "account", "credits granted", "CR1", "3 USD"),
        (iso("03:00"), "account", "credits purchased", "CR1", "5 USD"),
        (iso("05:00"), "account", "promotional credits expired", "CR1", ""),
    ]
    assert result.credits == {
        "purchased": Decimal(15),
        "granted": Decimal(23),
        "consumed": Decimal(0),
        "expired": Decimal(20),
        "remaining": Decimal(18),
    }
    assert result.balance == 18
    assert str(result.credits["expired"]) == "20"


def test_opening_debt_is_consumed_and_alerted() -> None:
    """CR1: a negative opening balance is an 'opening debt' consumption; the $10 default alert fires at once."""
    result = run([Account(opening_balance="-20")], [], start=at("00:00"))
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance -20"),
        (iso("00:00"), "account", "alert", "CR6", "balance -20.00 USD is at or below 10"),
    ]
    (debt,) = result.ledger
    assert (debt.kind, debt.amount, debt.resource, debt.note) == (
        "consumption",
        Decimal(-20),
        "account",
        "opening debt",
    )


@pytest.mark.parametrize(
    ("recharge", "expected"),
    [
        (
            AutoRecharge(mode="increment", threshold="10", amount="2"),
            [
                ("2025-11-03T00:20:00.000001+00:00", "5 USD (increment)"),
                ("2025-11-03T01:10:00.000001+00:00", "5 USD (increment)"),
            ],
        ),
        (
            AutoRecharge(mode="top-up", threshold="10", target="30"),
            [("2025-11-03T00:20:00.000001+00:00", "20.01 USD (top-up)")],
        ),
    ],
)
def test_auto_recharge_buys_at_least_the_minimum_below_the_threshold(
    recharge: AutoRecharge, expected: list[tuple[str, str]]
) -> None:
    """CR1/P-MIN-BUY: a recharge fires the microsecond the balance goes below its threshold, never under $5."""
    result = run(
        [Account(opening_balance="12", auto_recharge=recharge), EP0],
        [Deploy(at("00:00"), "ep"), Stop(at("02:00"), "ep")],
    )
    # The $10 alert fires the moment the balance reaches the threshold, the recharge a
    # microsecond later, when it is below.
    assert ("2025-11-03T00:20:00+00:00", "balance 10.00 USD is at or below 10") in [
        (when, detail) for when, _, action, _, detail in log_of(result) if action == "alert"
    ]
    recharges = [
        (at_, detail) for at_, _, action, _, detail in log_of(result) if action == "auto-recharge"
    ]
    assert recharges == expected
    assert all(
        (entry.resource, entry.rule) == ("account", "CR1")
        for entry in result.log
        if entry.action == "auto-recharge"
    )


@pytest.mark.parametrize(
    ("resources", "events", "expected"),
    [
        (
            [Account(opening_balance="10")],
            [Purchase(at("00:00"), "account", "4.99")],
            ("amount", Decimal("4.99"), "at least 5 (P-MIN-BUY)"),
        ),
        (
            [Account(opening_balance="10")],
            [Purchase(at("00:00"), "other", "10")],
            ("resource", "other", "the replay's Account (account)"),
        ),
        (
            [],
            [Purchase(at("00:00"), "account", "10")],
            ("resource", "account", "the replay's Account (no Account)"),
        ),
        (
            [Account(opening_balance="10")],
            [Grant(at("00:00"), "other", "10")],
            ("resource", "other", "the replay's Account (account)"),
        ),
    ],
)
def test_credit_event_errors(
    resources: list[Resource | Account], events: list[Event], expected: tuple[object, ...]
) -> None:
    """Purchases below P-MIN-BUY and credit events for another account raise precisely."""
    assert error_of(resources, events) == expected


def test_purchase_of_exactly_the_minimum_is_accepted() -> None:
    """P-MIN-BUY: $5 is enough."""
    result = run([Account()], [Purchase(at("00:00"), "account", "5")])
    assert result.balance == 5


def test_grant_must_expire_after_it_is_given() -> None:
    """A grant expiring at its own instant is refused, naming the grant's instant."""
    grant = Grant(at("01:00"), "account", "10", expires=at("01:00"))
    with pytest.raises(InvalidTimeline) as info:
        run([Account()], [grant])
    assert info.value.event is grant
    assert (info.value.field, info.value.value) == ("expires", grant.expires)
    assert info.value.expected == "an instant after 2025-11-03T01:00:00+00:00"


def test_one_account_per_replay() -> None:
    """Two different Accounts are refused; the same one given twice is accepted."""
    first = Account(opening_balance="10")
    other = Account(opening_balance="11")
    with pytest.raises(InvalidArgument) as info:
        run([first, other], [])
    assert (info.value.field, info.value.value, info.value.expected) == (
        "resources",
        other,
        "one Account per replay (the account's credits)",
    )
    result = run([first, Account(opening_balance="10")], [], start=at("00:00"), policies=NO_ALERTS)
    assert [entry.action for entry in result.log] == ["account opened"]


# -- replay entry points, continuation and results -------------------------------------------------


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


def test_scaling_down_removes_the_newest_replicas_and_draws_their_started_minutes() -> None:
    """DE3/G3: removed replicas (newest first) pay the rest of their started minute at once; each grid is kept."""
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g", max_replicas=3)
    result = run(
        [Account(opening_balance="100"), endpoint],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            ScaleReplicas("2025-11-03T00:00:30Z", "ep", 3),
            ScaleReplicas("2025-11-03T00:01:45Z", "ep", 2),
            ScaleReplicas("2025-11-03T00:02:10Z", "ep", 0),
            Stop("2025-11-03T00:03:20Z", "ep"),
        ],
        until=at("01:00"),
        policies=NO_ALERTS,
    )
    assert [(e.action, e.rule, e.detail) for e in result.log if e.resource == "ep"] == [
        ("deployed", "DE2", ""),
        ("replicas changed", "DE3", "1 -> 3 ready"),
        ("replicas changed", "DE3", "3 -> 2 ready"),
        ("replicas changed", "DE3", "2 -> 0 ready"),
        ("stopped", "DE2", ""),
    ]
    forecast = [e.detail for e in result.log if e.action == "alert"]
    assert forecast == [
        "credits forecast to run out at 2025-11-03T11:07:00+00:00 at the current rate"
    ]
    # The first replica's minutes start at :00 (3 started), the two added at :30 (2 each).
    (line,) = result.lines
    assert (line.quantity, line.amount) == (Decimal(7), Decimal("0.70"))
    start = 1762128000000000
    assert [
        (e.at_micros - start, e.amount, e.note, e.since_micros and e.since_micros - start)
        for e in result.ledger
        if e.kind == "consumption"
    ] == [
        (30_000_000, Decimal("-0.05"), "running", 0),
        (105_000_000, Decimal("-0.375"), "running", 30_000_000),
        # One replica on the :30 grid: 45 s to the end of its minute.
        (105_000_000, Decimal("-0.075"), "rest of the started minute (G3)", None),
        (
            130_000_000,
            Decimal("-0.083333333333333333333333333333333333333333333333333"),
            "running",
            105_000_000,
        ),
        # 20 s on the :30 grid and 50 s on the :00 grid.
        (
            130_000_000,
            Decimal("-0.11666666666666666666666666666666666666666666666667"),
            "rest of the started minute (G3)",
            None,
        ),
    ]
    assert result.credits is not None
    assert result.credits["consumed"] == Decimal("0.7")


def test_draws_are_booked_and_applied_per_month() -> None:
    """IN3: a draw spanning a month boundary is split, and each invoice applies its own month's credits."""
    result = run(
        [Account(opening_balance="10"), EP0],
        [Deploy("2025-11-30T23:00:00Z", "ep"), Stop("2025-12-01T03:00:00Z", "ep")],
        until="2025-12-02T00:00:00Z",
        policies=NO_ALERTS,
    )
    assert [
        (i.period.label, i.total.amount, i.credits_applied.amount, i.amount_due.amount)
        for i in result.invoices
    ] == [
        ("2025-11", Decimal("6.00"), Decimal("6.00"), Decimal("0.00")),
        ("2025-12", Decimal("18.00"), Decimal("4.00"), Decimal("14.00")),
    ]
    assert [
        (e.kind, e.amount, e.balance, e.from_credits, e.since_micros) for e in result.ledger
    ] == [
        ("purchase", Decimal(10), Decimal(10), Decimal(0), None),
        ("consumption", Decimal(-6), Decimal(4), Decimal(6), 1764543600000000),
        ("consumption", Decimal(-18), Decimal(-14), Decimal(4), 1764547200000000),
    ]
    assert result.ledger[2].at_micros == 1764558000000000


def test_credit_figures_are_plain_decimals() -> None:
    """The credits summary gives whole amounts without an exponent (100, not 1E+2)."""
    result = run([Account(opening_balance="-100")], [], start=at("00:00"), policies=NO_ALERTS)
    assert result.credits is not None
    assert {name: str(value) for name, value in result.credits.items()} == {
        "purchased": "0",
        "granted": "0",
        "consumed": "100",
        "expired": "0",
        "remaining": "-100",
    }
    assert result.to_dict()["credits"]["remaining"] == "-100.00"
    # A debt under half a cent shows as 0.00, never -0.00.
    tiny = run([Account(opening_balance="-0.004")], [], start=at("00:00"), policies=NO_ALERTS)
    assert tiny.to_dict()["credits"]["remaining"] == "0.00"


def test_reservation_end_with_credits_stops_the_burst_draw() -> None:
    """CL5/CR1: at the reservation's end the burst GPUs stop drawing credits; its alert comes 24 h
    ahead, and the run-out forecast knows the burst stops then."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    )
    result = run(
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


def test_volume_of_a_reserved_cluster_without_a_reserved_storage_rate() -> None:
    """ST3: without a reserved storage rate in the catalog, the volume stays at the on-demand rate, silently."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    alone = StorageVolume("w", size_tib=1)
    result = run(
        [Account(opening_balance="1000"), cluster, attached, alone],
        [
            Deploy(at("00:00"), "v"),
            Deploy(at("00:00"), "w"),
            Deploy(at("01:00"), "c"),
            Delete(at("12:00"), "c"),
        ],
        until=at("18:00"),
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
    # Both volumes draw at the on-demand rate, at each instant something happens.
    assert [(e.at_micros, e.amount, e.resource) for e in result.ledger[1:]] == [
        (1762131600000000, Decimal("-0.50"), "v"),
        (1762131600000000, Decimal("-0.25"), "w"),
        (1762171200000000, Decimal("-5.50"), "v"),
        (1762171200000000, Decimal("-2.75"), "w"),
        (1762192800000000, Decimal("-3.00"), "v"),
        (1762192800000000, Decimal("-1.50"), "w"),
    ]


LATE_RESERVED_STORAGE = CATALOG.with_entries(StoragePrice("reserved", "0.20", at("06:00")))


def test_volume_bills_on_demand_until_the_reserved_storage_rate_takes_effect() -> None:
    """ST3/G4: a volume of a reserved cluster bills on demand until the first reserved storage rate exists."""
    cluster = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=2
    )
    attached = StorageVolume("v", size_tib=2, cluster="c")
    result = run(
        [cluster, attached],
        [Deploy(at("00:00"), "v"), Deploy(at("01:00"), "c"), Delete(at("12:00"), "c")],
        until=at("18:00"),
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
    result = run(
        [Account(opening_balance="1000"), cluster, attached],
        [Deploy(at("00:00"), "v"), Deploy(at("01:00"), "c"), Delete(at("12:00"), "c")],
        until=at("18:00"),
        catalog=LATE_RESERVED_STORAGE,
        policies=NO_ALERTS,
    )
    drawn = -sum(e.amount for e in result.ledger if e.resource == "v")
    billed = sum(line.amount_exact for line in result.lines if line.resource == "v")
    assert drawn == billed == Decimal("7.80")


def test_restarted_on_demand_cluster_keeps_its_gpu_count() -> None:
    """CL4: a stopped on-demand cluster starts again with the GPUs it had, not the initial count."""
    result = run(
        [ON_DEMAND],
        [
            Deploy(at("00:00"), "o"),
            ScaleGpus(at("01:00"), "o", 16),
            Stop(at("02:00"), "o"),
            Start(at("03:00"), "o"),
            Delete(at("04:00"), "o"),
        ],
        until=at("05:00"),
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
    result = run(
        [cluster, attached],
        [
            Deploy(at("00:00"), "v"),
            Deploy(at("01:00"), "c", ready=False),
            Delete(at("02:00"), "c"),
        ],
        until=at("05:00"),
        catalog=LATE_RESERVED_STORAGE,
    )
    assert log_of(result) == [
        (iso("00:00"), "v", "created", "ST1", "2 TiB, on-demand"),
        (iso("01:00"), "c", "provisioning", "CL2", "not billed until ready"),
        (iso("02:00"), "c", "terminated", "CL5", ""),
    ]
    assert [(line.resource, line.amount) for line in result.lines] == [("v", Decimal("2.50"))]


def test_credit_checks_follow_catalog_price_changes_and_the_forecast_lead() -> None:
    """CR2/CR6/G4: the forecast alert comes P-ALERT-LEAD hours ahead; a catalog price rise moves exhaustion earlier."""
    catalog = CATALOG.with_entries(HardwarePrice("1x_g", "12", at("01:00")))
    result = run(
        [Account(opening_balance="10"), EP0],
        [Deploy(at("00:00"), "ep")],
        until=at("03:00"),
        catalog=catalog,
        policies=Policies(alert_thresholds=["5"], credit_floor=0, alert_lead_hours=1),
    )
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (iso("00:00"), "ep", "deployed", "DE2", ""),
        # At $6/h the $10 last until 01:40: warned one hour ahead.
        (
            iso("00:40"),
            "account",
            "alert",
            "CR6",
            f"credits forecast to run out at {iso('01:40')} at the current rate",
        ),
        (iso("00:50"), "account", "alert", "CR6", "balance 5.00 USD is at or below 5"),
        # From 01:00 the rate is $12/h: the remaining $4 last 20 minutes.
        (
            iso("01:20"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (iso("01:20"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (iso("01:20"), "ep", "stopped", "CR8", ""),
    ]
    assert [(e.at_micros - 1762128000000000, e.amount) for e in result.ledger] == [
        (0, Decimal(10)),
        (40 * 60_000_000, Decimal(-4)),
        (50 * 60_000_000, Decimal(-1)),
        (60 * 60_000_000, Decimal(-1)),
        (80 * 60_000_000, Decimal(-4)),
    ]
    assert [(line.rate, line.quantity) for line in result.lines] == [
        (Decimal(6), Decimal(60)),
        (Decimal(12), Decimal(20)),
    ]


def test_a_balance_exactly_at_a_threshold_alerts_once() -> None:
    """CR6: a balance equal to the threshold is 'at or below' it; it alerts once, however many checks follow."""
    result = run(
        [Account(opening_balance="10"), CHAT],
        [TokenUsage(at("01:00"), "s"), TokenUsage(at("02:00"), "s")],
        start=at("00:00"),
        until=at("03:00"),
    )
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (iso("00:00"), "account", "alert", "CR6", "balance 10.00 USD is at or below 10"),
    ]


def test_a_balance_exactly_at_the_floor_is_exhausted_and_stays_so() -> None:
    """CR2/CR6: a balance equal to the floor is exhausted at once; a threshold at the floor never alerts."""
    result = run(
        [Account(opening_balance="0"), CHAT],
        [TokenUsage(at("01:00"), "s"), TokenUsage(at("02:00"), "s")],
        start=at("00:00"),
        until=at("03:00"),
        policies=Policies(credit_floor=0, alert_thresholds=["0", "-5"]),
    )
    assert log_of(result) == [
        (iso("00:00"), "account", "account opened", "CR1", "balance 0"),
        (
            iso("00:00"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (iso("00:00"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (iso("01:00"), "s", "requests refused", "CR8", "API access is suspended"),
        (iso("02:00"), "s", "requests refused", "CR8", "API access is suspended"),
    ]
    # A zero opening balance is neither a purchase nor a debt.
    assert result.ledger == ()


def test_a_running_balance_at_a_threshold_plans_no_extra_check() -> None:
    """CR6: a balance exactly at a threshold is not 'above' it: no crossing is planned for it."""
    result = run(
        [Account(opening_balance="10"), EP0],
        [Deploy(at("00:00"), "ep"), Stop(at("01:00"), "ep")],
        until=at("02:00"),
    )
    assert [(e.at_micros - 1762128000000000, e.amount) for e in result.ledger] == [
        (0, Decimal(10)),
        (3_600_000_000, Decimal(-6)),
    ]
    assert [e.detail for e in result.log if e.action == "alert"] == [
        "balance 10.00 USD is at or below 10",
        "credits forecast to run out at 2025-11-03T18:20:00+00:00 at the current rate",
    ]


def test_exhaustion_skips_stopped_clusters_and_deleted_volumes_but_not_later_ones() -> None:
    """CR4/CR5: a stopped cluster or deleted volume is left alone; the running ones after it are paused or revoked."""
    stopped = InstantCluster("a", gpu_type="G", billing="on-demand", gpus=8)
    running = InstantCluster("b", gpu_type="G", billing="on-demand", gpus=8)
    deleted, kept = StorageVolume("u", size_tib=1), StorageVolume("w", size_tib=1)
    result = run(
        [Account(opening_balance="5"), stopped, running, deleted, kept],
        [
            Deploy(at("00:00"), "a"),
            Stop(at("00:01"), "a"),
            Deploy(at("00:00"), "b"),
            Deploy(at("00:00"), "u"),
            Delete(at("00:01"), "u"),
            Deploy(at("00:00"), "w"),
        ],
        until=at("01:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0),
    )
    exhausted = "2025-11-03T00:08:55.041323+00:00"
    assert [(e.resource, e.action) for e in result.log if e.at.isoformat() == exhausted] == [
        ("account", "credits exhausted"),
        ("account", "API access suspended"),
        ("b", "paused"),
        ("w", "access revoked"),
    ]
    assert {name: result.state.status(name) for name in "abuw"} == {
        "a": "stopped",
        "b": "paused",
        "u": "deleted",
        "w": "access revoked",
    }


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


def test_credits_applied_are_zero_without_consumption() -> None:
    """IN3: an invoice of a replay with credits but no consumption applies no credits."""
    result = run(
        [Account(opening_balance="10")],
        [Purchase(at("01:00"), "account", "5")],
        start="2025-10-31T00:00:00Z",
        until=at("02:00"),
        policies=NO_ALERTS,
    )
    assert [(i.period.label, i.credits_applied.amount) for i in result.invoices] == [
        ("2025-10", Decimal("0.00")),
        ("2025-11", Decimal("0.00")),
    ]


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
    """SL3/CR1: with credits, each batch-mode record is drawn at its instant, after the time running before it."""
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
        (60, Decimal(-6), "ep"),
        (60, Decimal("-0.50"), "s"),
        (120, Decimal(-6), "ep"),
        (120, Decimal("-1.00"), "s"),
        (180, Decimal(-6), "ep"),
        (180, Decimal("-1.00"), "s"),
        (240, Decimal(-6), "ep"),
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


def test_revoked_storage_that_bills_is_charged_until_its_data_is_deleted() -> None:
    """CR5/P-REVOKED-BILLS: a revoked volume that keeps billing is charged up to the end of its grace period."""
    volume = StorageVolume("v", size_tib=4)
    result = run(
        [Account(opening_balance="5"), volume],
        [Deploy(at("00:00"), "v")],
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


def endpoint(ident: str, timeout: int | None = None) -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware="1x_g", inactive_timeout_minutes=timeout)


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


def test_storage_price_changes_do_not_split_other_draws() -> None:
    """CR1: an endpoint's credits are drawn at its own events; a storage price change is no reason to draw."""
    catalog = CATALOG.with_entries(StoragePrice("on-demand", "0.30", at("01:00")))
    result = run(
        [Account(opening_balance="100"), EP0],
        [Deploy(at("00:00"), "ep"), Stop(at("02:00"), "ep")],
        until=at("03:00"),
        catalog=catalog,
        policies=NO_ALERTS,
    )
    assert [(e.at_micros, e.amount) for e in result.ledger] == [
        (1762128000000000, Decimal(100)),
        (1762135200000000, Decimal(-12)),
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


def test_superseded_credit_checks_do_not_run() -> None:
    """CR2: a credit check planned before a later event changed the rate is dropped: no draw at its instant."""
    result = run(
        [Account(opening_balance="10"), endpoint("a"), endpoint("b")],
        [Deploy(at("00:00"), "a"), Deploy(at("00:30"), "b")],
        until=at("03:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0, exhaustion_suspends_api=False),
    )
    # Alone, a would have exhausted the credits at 01:40; with b from 00:30 they run out at 01:05.
    assert [(e.at_micros - 1762128000000000, e.amount, e.resource) for e in result.ledger] == [
        (0, Decimal(10), ""),
        (30 * 60_000_000, Decimal(-3), "a"),
        (65 * 60_000_000, Decimal("-3.5"), "a"),
        (65 * 60_000_000, Decimal("-3.5"), "b"),
        (180 * 60_000_000, Decimal("-11.5"), "a"),
        (180 * 60_000_000, Decimal("-11.5"), "b"),
    ]
    assert [e.action for e in result.log if e.resource == "account"] == [
        "account opened",
        "alert",
        "credits exhausted",
    ]


@pytest.mark.parametrize("field", ["until", "start"])
def test_malformed_until_or_start_names_the_argument(field: str) -> None:
    """Simulator.run: an ``until`` or ``start`` that is not an instant is refused naming that argument."""
    options = {"until": at("03:00"), "start": at("00:00"), field: "not an instant"}
    with pytest.raises(InvalidArgument) as info:
        run([CHAT], [], **options)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == (field, "not an instant")
