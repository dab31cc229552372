"""Replays of small scenarios over a tiny catalog, shared by the engine's subject files.

The helpers and values the tests of tests/test_deployments.py, test_clusters.py,
test_storage.py, test_serverless.py, test_jobs.py, test_credits.py and test_engine.py
use to assert a replay's exact log, invoice lines and errors (written against
mutation testing, docs/mutation.md): a catalog of user prices, the 2025-11 credit
settings they were written under, resources, and the ``run``/``log_of``/``lines_of``/
``error_of`` helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import pytest

from together_billing import (
    Account,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Event,
    FineTunedHosting,
    FineTuningPrice,
    HardwarePrice,
    InstantCluster,
    InvalidTimeline,
    Policies,
    Resource,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    SizeTierPrice,
    StoragePrice,
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


def serverless_lines(result: SimulationResult) -> list[tuple[object, ...]]:
    """``(resource, rule, description, quantity, rate, amount)`` of every line."""
    return [
        (line.resource, line.rule, line.description, line.quantity, line.rate, line.amount)
        for line in result.lines
    ]


LATE_RESERVED_STORAGE = CATALOG.with_entries(StoragePrice("reserved", "0.20", at("06:00")))


def endpoint(ident: str, timeout: int | None = None) -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware="1x_g", inactive_timeout_minutes=timeout)


#: The catalog of the credit-lifecycle tests (test_credits.py, test_lifecycle.py,
#: test_state_matrix.py): round rates, so that balances and crossings are easy to state.
#: ``1x_g`` costs 0.10 per replica-minute; ``1x_s`` makes crossings that are not whole
#: microseconds.
LIFECYCLE_CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "6", E),
        HardwarePrice("1x_s", "7", E),
        ServerlessPrice("chat", "0.20", "0.60", E),
        ClusterPrice("G", "reserved", "2", E),
        ClusterPrice("G", "on-demand", "3", E),
        StoragePrice("on-demand", "0.5", E),
        FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.50", effective_from=E),
    ]
)
