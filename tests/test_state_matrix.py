"""The state matrix (issue 11, section 3): every resource kind x every state it can be in x
every event kind, each with a defined outcome: applied, refused and logged, ignored and
logged (a late event after an engine action), or a clear error (``InvalidTimeline``).

No cell may crash otherwise, and a refused or ignored event (or an error) must not change
what the resource bills. The whole matrix is documented in ``docs/state-matrix.md``, which
this test regenerates and compares byte for byte (``UPDATE_STATE_MATRIX=1`` rewrites it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import attrs
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
    InstantCluster,
    InvalidTimeline,
    JobCompleted,
    Policies,
    Ready,
    Requests,
    ResizeVolume,
    Resource,
    ScaleGpus,
    ScaleReplicas,
    ServerlessUsage,
    SimulationResult,
    Start,
    Stop,
    StorageVolume,
    TokenUsage,
    simulate,
)
from together_billing.time import instant

E = "2025-01-01T00:00:00Z"
CATALOG = LIFECYCLE_CATALOG
POLICIES = Policies.for_edition("2026", grace_compute_hours=24, grace_storage_hours=24)
UNTIL = "2025-11-07T00:00:00Z"
PAGE = Path(__file__).resolve().parents[1] / "docs" / "state-matrix.md"


def at(hhmm: str, day: str = "03") -> str:
    return f"2025-11-{day}T{hhmm}:00Z"


#: The resource of each kind, always id "x".
KINDS: dict[str, Resource] = {
    "dedicated endpoint": DedicatedEndpoint("x", model="m", hardware="1x_g", max_replicas=2),
    "fine-tuned hosting": FineTunedHosting("x", model="m", hardware="1x_g", max_replicas=2),
    "on-demand cluster": InstantCluster("x", gpu_type="G", billing="on-demand", gpus=8),
    "reserved cluster": InstantCluster(
        "x", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=1
    ),
    "storage volume": StorageVolume("x", size_tib=1),
    "serverless": ServerlessUsage("x", model="chat"),
    "fine-tuning job": FineTuningJob(id="x", model="b", params_b=8, training_tokens=1_000_000),
}


@attrs.frozen
class State:
    """How to reach a state: events before ``when``; ``credits`` runs a $10 account out at
    01:40 on 3 Nov (a $6/h burner endpoint), so from then on the API is suspended."""

    name: str
    before: tuple[Event, ...] = ()
    when: str = at("12:00")
    credits: bool = False
    idle: bool = False


def _states(kind: str) -> list[State]:
    deploy, provisioning = Deploy(at("00:00"), "x"), Deploy(at("00:00"), "x", ready=False)
    exhausted = at("03:00")
    later = at("12:00", "05")
    if kind == "serverless":
        return [State("active"), State("API suspended", credits=True, when=exhausted)]
    if kind == "fine-tuning job":
        return [
            State("submitted"),
            State("completed", (JobCompleted(at("01:00"), "x"),)),
            State("submitted, API suspended", credits=True, when=exhausted),
        ]
    common = [
        State("not deployed"),
        State("not deployed, credits exhausted", credits=True, when=exhausted),
        State("running", (deploy,)),
        State("deleted", (deploy, Delete(at("01:00"), "x"))),
    ]
    if kind == "storage volume":
        return [
            *common,
            State("access revoked (credits)", (deploy,), credits=True, when=exhausted),
            State("data deleted (credits)", (deploy,), credits=True, when=later),
        ]
    provisioned = [
        State("provisioning", (provisioning,)),
        State("failed", (provisioning, DeployFailed(at("01:00"), "x"))),
    ]
    if kind == "reserved cluster":
        return [
            *common,
            *provisioned,
            State("running, credits exhausted", (deploy,), credits=True, when=exhausted),
            State("decommissioned (reservation ended)", (deploy,), when=later),
        ]
    stopped = State("stopped", (deploy, Stop(at("01:00"), "x")))
    if kind == "on-demand cluster":
        return [
            *common,
            *provisioned,
            stopped,
            State("paused (credits)", (deploy,), credits=True, when=exhausted),
            State("decommissioned (credits)", (deploy,), credits=True, when=later),
        ]
    return [
        *common,
        *provisioned,
        stopped,
        State("stopped (idle timeout)", (deploy,), idle=True, when=at("02:00")),
        State("stopped (credits)", (deploy,), credits=True, when=exhausted),
    ]


EVENTS: dict[str, Callable[[str], Event]] = {
    "Deploy": lambda when: Deploy(when, "x"),
    "Ready": lambda when: Ready(when, "x"),
    "DeployFailed": lambda when: DeployFailed(when, "x"),
    "Start": lambda when: Start(when, "x"),
    "Stop": lambda when: Stop(when, "x"),
    "Delete": lambda when: Delete(when, "x"),
    "ScaleReplicas": lambda when: ScaleReplicas(when, "x", replicas=2),
    "ScaleGpus": lambda when: ScaleGpus(when, "x", gpus=24),
    "ExtendReservation": lambda when: ExtendReservation(when, "x", days=1),
    "ResizeVolume": lambda when: ResizeVolume(when, "x", size_tib=2),
    "Requests": lambda when: Requests(when, "x"),
    "TokenUsage": lambda when: TokenUsage(when, "x", input_tokens=1000),
    "JobCompleted": lambda when: JobCompleted(when, "x"),
}


def _run(kind: str, state: State, extra: Sequence[Event]) -> SimulationResult:
    resource = KINDS[kind]
    if state.idle:
        resource = attrs.evolve(resource, inactive_timeout_minutes=30)  # type: ignore[misc]
    resources: list[Resource | Account] = [resource]
    events = [*state.before, *extra]
    if state.credits:
        resources += [
            DedicatedEndpoint("burner", model="m", hardware="1x_g"),
            Account(opening_balance=10),
        ]
        events.append(Deploy(at("00:00"), "burner"))
    return simulate(resources, events, until=UNTIL, catalog=CATALOG, policies=POLICIES)


def _billed(result: SimulationResult) -> Decimal:
    return sum((line.amount_exact for line in result.lines if line.resource == "x"), Decimal(0))


def outcome(kind: str, state: State, event: str) -> str:
    """The cell: what the event does to the resource in that state."""
    before = _run(kind, state, [])
    try:
        after = _run(kind, state, [EVENTS[event](state.when)])
    except InvalidTimeline as error:
        return f"error ({error.field})"
    when = instant(state.when)
    actions = [e.action for e in after.log if e.resource == "x" and e.at == when]
    changed = _billed(after) != _billed(before)
    if actions and all(a.endswith(("refused", "ignored")) for a in actions):
        # Refused or ignored: it must bill exactly as without the event.
        assert not changed, (kind, state.name, event, actions)
    return ", ".join(actions) or ("billed" if changed else "no change")


def matrix() -> str:
    lines = [
        "# State matrix",
        "",
        "What every event does to every kind of resource in every state it can be in",
        "(issue 11). Generated by `tests/test_state_matrix.py` from the engine itself, which",
        "checks that no cell crashes and that a refused or ignored event bills nothing. A cell",
        "lists the log's actions for the resource at the event's instant: the event applied,",
        "`... refused` (a begin while out of credit, see [the rules](rules.md#beginning-while-out-of-credit)),",
        "`... ignored` (a late event for what the engine stopped, paused, revoked or",
        "decommissioned, or refused, see [the order of events](rules.md#the-order-of-events-at-one-instant)),",
        "`no change`, or `error (field)`: the timeline is wrong (`InvalidTimeline`).",
        "States marked *credits* are reached by a $10 prepaid account running out at 01:40,",
        "events come at 03:00 then (API access suspended), or two days later for",
        "decommissioned and deleted data (grace periods of 24 h).",
        "",
    ]
    for kind in KINDS:
        events = [e for e in EVENTS if _applies(kind, e)]
        lines += [f"## {kind.capitalize()}", ""]
        lines.append("| state | " + " | ".join(f"`{e}`" for e in events) + " |")
        lines.append("|---" * (len(events) + 1) + "|")
        for state in _states(kind):
            cells = [outcome(kind, state, e) for e in events]
            lines.append(f"| {state.name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _applies(kind: str, event: str) -> bool:
    """The event kinds shown for a resource kind: its own, and the lifecycle ones."""
    own = {
        "dedicated endpoint": {"ScaleReplicas", "Requests"},
        "fine-tuned hosting": {"ScaleReplicas", "Requests"},
        "on-demand cluster": {"ScaleGpus"},
        "reserved cluster": {"ScaleGpus", "ExtendReservation"},
        "storage volume": {"ResizeVolume"},
        "serverless": {"TokenUsage"},
        "fine-tuning job": {"JobCompleted"},
    }[kind]
    lifecycle = {"Deploy", "Ready", "DeployFailed", "Start", "Stop", "Delete"}
    if kind in ("serverless", "fine-tuning job"):
        lifecycle = set()
    if kind == "storage volume":
        lifecycle = {"Deploy", "Delete"}
    return event in own | lifecycle


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_cell_crashes_and_refusals_bill_nothing(kind: str) -> None:
    """Every state x every event kind (all of them, even foreign ones): an outcome or an
    InvalidTimeline, never another exception; refused or ignored events bill nothing."""
    for state in _states(kind):
        for event in EVENTS:
            outcome(kind, state, event)


def test_engine_states_never_error() -> None:
    """Late events for what the engine stopped, paused, revoked or decommissioned are
    logged no-ops or applied, never errors (issue 11, defect 8)."""
    engine = ("(idle timeout)", "(credits)", "(reservation ended)")
    for kind in KINDS:
        for state in _states(kind):
            if not any(word in state.name for word in engine):
                continue
            for event in EVENTS:
                # "error (resource)": the event never applies to this kind (a reserved
                # cluster cannot be stopped), whatever its state.
                if _applies(kind, event):
                    assert not outcome(kind, state, event).startswith("error (status)"), (
                        kind,
                        state.name,
                        event,
                    )


def test_the_documented_matrix_is_the_engines() -> None:
    """docs/state-matrix.md is exactly what the engine does."""
    text = matrix()
    if os.environ.get("UPDATE_STATE_MATRIX"):
        PAGE.write_text(text, encoding="utf-8")
    assert PAGE.read_text(encoding="utf-8") == text
