"""together-billing: Together AI's billing rules, and deterministic replays of usage into invoices.

The public API is re-exported here; see the documentation for a tour.
"""

from __future__ import annotations

from together_billing.catalog import (
    Catalog,
    FineTuningMethod,
    FineTuningPrice,
    HardwarePrice,
    PriceEntry,
    ServerlessPrice,
    SizeTierPrice,
    Source,
    SourceKind,
    default_catalog,
)
from together_billing.engine import SimulationResult, SimulationState, Simulator, simulate
from together_billing.errors import (
    BillingError,
    CurrencyMismatch,
    InvalidArgument,
    InvalidScenario,
    InvalidTimeline,
    NaiveDatetimeError,
    UnknownPrice,
)
from together_billing.invoice import Invoice, InvoiceLine, InvoiceStatus, LogEntry
from together_billing.money import Money, RoundingMode, round_to_cents
from together_billing.policies import CancelBasis, Policies
from together_billing.resources import (
    Category,
    DedicatedEndpoint,
    FineTunedHosting,
    FineTuningJob,
    Resource,
    ServerlessUsage,
)
from together_billing.time import BillingPeriod, Interval, MeteringGrain, instant
from together_billing.timeline import (
    Delete,
    Deploy,
    DeployFailed,
    Event,
    JobCancelled,
    JobCompleted,
    PriceChange,
    Ready,
    Requests,
    ScaleReplicas,
    Start,
    Stop,
    TokenUsage,
    TokenUsageBatch,
)

__version__ = "0.1.0"

__all__ = [
    "BillingError",
    "BillingPeriod",
    "CancelBasis",
    "Catalog",
    "Category",
    "CurrencyMismatch",
    "DedicatedEndpoint",
    "Delete",
    "Deploy",
    "DeployFailed",
    "Event",
    "FineTunedHosting",
    "FineTuningJob",
    "FineTuningMethod",
    "FineTuningPrice",
    "HardwarePrice",
    "Interval",
    "InvalidArgument",
    "InvalidScenario",
    "InvalidTimeline",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JobCancelled",
    "JobCompleted",
    "LogEntry",
    "MeteringGrain",
    "Money",
    "NaiveDatetimeError",
    "Policies",
    "PriceChange",
    "PriceEntry",
    "Ready",
    "Requests",
    "Resource",
    "RoundingMode",
    "ScaleReplicas",
    "ServerlessPrice",
    "ServerlessUsage",
    "SimulationResult",
    "SimulationState",
    "Simulator",
    "SizeTierPrice",
    "Source",
    "SourceKind",
    "Start",
    "Stop",
    "TokenUsage",
    "TokenUsageBatch",
    "UnknownPrice",
    "__version__",
    "default_catalog",
    "instant",
    "round_to_cents",
    "simulate",
]
