"""Dedicated endpoints and fine-tuned hosting (DE1-DE4, FT2): log, lines and errors.

Each test replays a small scenario over the tiny catalog of tests/replays.py and
asserts the exact lifecycle log (instant, resource, action, rule and detail), the
exact invoice lines, or the exact ``field``, ``value`` and ``expected`` of the error:
idle timeouts per kind, failed deployments, replicas scaled down, event errors.
Written against mutation testing (docs/mutation.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.replays import EP, EP0, NO_ALERTS, at, error_of, iso, lines_of, log_of, run

from together_billing import (
    Account,
    DedicatedEndpoint,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    FineTunedHosting,
    Policies,
    Ready,
    Requests,
    ResizeVolume,
    ScaleGpus,
    ScaleReplicas,
    Start,
    Stop,
)


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


# -- G2 across other events of the same instant -------------------------------------------------


def test_G2_a_stop_pairs_with_its_own_start_past_another_resource_s_deploy() -> None:
    """G2: a stop and a start of a stopped endpoint at one instant are an empty run even when
    another resource's deploy sorts between them (``Deploy`` before ``Start``)."""
    other = DedicatedEndpoint("a", model="m", hardware="1x_g")
    result = run(
        [EP0, other],
        [
            Deploy(at("09:00"), "ep"),
            Stop(at("09:30"), "ep"),
            Stop(at("10:00"), "ep"),
            Deploy(at("10:00"), "a"),
            Start(at("10:00"), "ep"),
        ],
    )
    ep = [entry[2:] for entry in log_of(result) if entry[1] == "ep"]
    assert ep == [
        ("deployed", "DE2", ""),
        ("stopped", "DE2", ""),
        (
            "empty run",
            "G2",
            "begun and stopped at one instant: an empty half-open interval, not billed",
        ),
    ]
    assert result.state.status("ep") == "stopped"
    assert [line[7] for line in lines_of(result) if line[0] == "ep"] == [Decimal(3)]


def test_G2_a_stop_does_not_pair_with_another_resource_s_deploy() -> None:
    """G2: only a begin of the same resource makes a stop of a stopped endpoint an empty
    run; with another resource's deploy at that instant, the stop is an error."""
    other = DedicatedEndpoint("a", model="m", hardware="1x_g")
    field, value, _ = error_of(
        [EP0, other],
        [
            Deploy(at("09:00"), "ep"),
            Stop(at("09:30"), "ep"),
            Stop(at("10:00"), "ep"),
            Deploy(at("10:00"), "a"),
        ],
    )
    assert (field, value) == ("status", "stopped")


def test_G2_a_delete_and_a_deploy_at_one_instant_are_an_empty_run() -> None:
    """G2: a deploy and a delete of an endpoint at one instant (the delete sorts first) are
    an empty run: logged, nothing billed, the endpoint deleted."""
    result = run([EP0], [Delete(at("10:00"), "ep"), Deploy(at("10:00"), "ep")])
    assert log_of(result) == [
        (
            iso("10:00"),
            "ep",
            "empty run",
            "G2",
            "begun and deleted at one instant: an empty half-open interval, not billed",
        )
    ]
    assert result.state.status("ep") == "deleted"
    assert lines_of(result) == []


def test_G2_a_ready_after_a_stop_at_its_instant_is_a_logged_no_op() -> None:
    """G2: a provisioning endpoint stopped at the instant it becomes ready never bills: the
    ready is logged as ignored, naming G2."""
    result = run(
        [EP0],
        [Deploy(at("09:00"), "ep", ready=False), Stop(at("10:00"), "ep"), Ready(at("10:00"), "ep")],
    )
    assert log_of(result)[-1] == (
        iso("10:00"),
        "ep",
        "ready ignored",
        "G2",
        "ended at this instant: nothing to bill",
    )
    assert result.state.status("ep") == "stopped"
    assert lines_of(result) == []


class _MyEndpoint(DedicatedEndpoint):
    """A user's own kind of endpoint (a subclass, e.g. with helpers of its own)."""


def test_a_subclass_of_a_resource_kind_bills_as_its_kind() -> None:
    """A subclass of a resource kind is billed by that kind's family (DE1), twice over."""
    mine = [
        _MyEndpoint("ep", model="m", hardware="1x_g"),
        _MyEndpoint("b", model="m", hardware="1x_g"),
    ]
    events = [
        Deploy(at("09:00"), "ep"),
        Deploy(at("09:00"), "b"),
        Stop(at("10:00"), "ep"),
        Stop(at("10:00"), "b"),
    ]
    result = run(mine, events)
    plain = run([EP0, DedicatedEndpoint("b", model="m", hardware="1x_g")], events)
    assert lines_of(result) == lines_of(plain)
    assert [line[7] for line in lines_of(result)] == [Decimal(6), Decimal(6)]


def test_G2_a_deploy_at_the_instant_an_endpoint_was_deleted_is_a_logged_no_op() -> None:
    """G2: an endpoint deleted and deployed again at one instant (the delete sorts first)
    stays deleted; the deploy is logged as ignored, naming G2."""
    result = run(
        [EP0], [Deploy(at("09:00"), "ep"), Delete(at("10:00"), "ep"), Deploy(at("10:00"), "ep")]
    )
    assert log_of(result)[-1] == (
        iso("10:00"),
        "ep",
        "deploy ignored",
        "G2",
        "ended at this instant: nothing to bill",
    )
    assert result.state.status("ep") == "deleted"
