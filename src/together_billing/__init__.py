"""together-billing: Together AI's billing rules, and deterministic replays of usage into invoices.

The public API is re-exported here; see the documentation for a tour. Each name is
imported from its module on first use, so ``import together_billing`` (and the pytest
plugin, which lives in the package) costs almost nothing until the library is used.
"""

from __future__ import annotations

import importlib

# typing.TYPE_CHECKING without importing typing, which would cost every import of the package.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from together_billing.catalog import (
        Catalog,
        ClusterBilling,
        ClusterPrice,
        FineTuningMethod,
        FineTuningPrice,
        HardwarePrice,
        PriceEntry,
        ServerlessPrice,
        SizeTierPrice,
        Source,
        SourceKind,
        StoragePrice,
        default_catalog,
    )
    from together_billing.credits import (
        EDITIONS,
        Account,
        AutoRecharge,
        AutoRechargeMode,
        Edition,
        LedgerEntry,
        LedgerKind,
    )
    from together_billing.engine import SimulationResult, SimulationState, Simulator, simulate
    from together_billing.errors import (
        BillingError,
        CurrencyMismatch,
        InvalidArgument,
        InvalidResponse,
        InvalidScenario,
        InvalidTimeline,
        MissingDependency,
        NaiveDatetimeError,
        UnknownPrice,
    )
    from together_billing.invoice import (
        Action,
        Invoice,
        InvoiceLine,
        InvoiceStatus,
        LogEntry,
        MeteredSpan,
        exhausted_at,
    )
    from together_billing.money import Money, RoundingMode, round_to_cents
    from together_billing.policies import CancelBasis, Policies, ReservationPayment, ShrinkPolicy
    from together_billing.resources import (
        Category,
        DedicatedEndpoint,
        FineTunedHosting,
        FineTuningJob,
        InstantCluster,
        Resource,
        ServerlessUsage,
        StorageVolume,
    )
    from together_billing.time import BillingPeriod, Interval, MeteringGrain, instant
    from together_billing.timeline import (
        Delete,
        Deploy,
        DeployFailed,
        Event,
        ExtendReservation,
        Grant,
        JobCancelled,
        JobCompleted,
        PriceChange,
        Purchase,
        Ready,
        Requests,
        ResizeVolume,
        ScaleGpus,
        ScaleReplicas,
        Start,
        Stop,
        TokenUsage,
        TokenUsageBatch,
    )

__version__ = "0.1.0"

__all__ = [
    "EDITIONS",
    "Account",
    "Action",
    "AutoRecharge",
    "AutoRechargeMode",
    "BillingError",
    "BillingPeriod",
    "CancelBasis",
    "Catalog",
    "Category",
    "ClusterBilling",
    "ClusterPrice",
    "CurrencyMismatch",
    "DedicatedEndpoint",
    "Delete",
    "Deploy",
    "DeployFailed",
    "Edition",
    "Event",
    "ExtendReservation",
    "FineTunedHosting",
    "FineTuningJob",
    "FineTuningMethod",
    "FineTuningPrice",
    "Grant",
    "HardwarePrice",
    "InstantCluster",
    "Interval",
    "InvalidArgument",
    "InvalidResponse",
    "InvalidScenario",
    "InvalidTimeline",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JobCancelled",
    "JobCompleted",
    "LedgerEntry",
    "LedgerKind",
    "LogEntry",
    "MeteredSpan",
    "MeteringGrain",
    "MissingDependency",
    "Money",
    "NaiveDatetimeError",
    "Policies",
    "PriceChange",
    "PriceEntry",
    "Purchase",
    "Ready",
    "Requests",
    "ReservationPayment",
    "ResizeVolume",
    "Resource",
    "RoundingMode",
    "ScaleGpus",
    "ScaleReplicas",
    "ServerlessPrice",
    "ServerlessUsage",
    "ShrinkPolicy",
    "SimulationResult",
    "SimulationState",
    "Simulator",
    "SizeTierPrice",
    "Source",
    "SourceKind",
    "Start",
    "Stop",
    "StoragePrice",
    "StorageVolume",
    "TokenUsage",
    "TokenUsageBatch",
    "UnknownPrice",
    "__version__",
    "default_catalog",
    "exhausted_at",
    "instant",
    "round_to_cents",
    "simulate",
]

#: Where each public name is defined (its module under ``together_billing``).
_EXPORTS: dict[str, str] = {
    "Catalog": "catalog",
    "ClusterBilling": "catalog",
    "ClusterPrice": "catalog",
    "FineTuningMethod": "catalog",
    "FineTuningPrice": "catalog",
    "HardwarePrice": "catalog",
    "PriceEntry": "catalog",
    "ServerlessPrice": "catalog",
    "SizeTierPrice": "catalog",
    "Source": "catalog",
    "SourceKind": "catalog",
    "StoragePrice": "catalog",
    "default_catalog": "catalog",
    "Account": "credits",
    "AutoRecharge": "credits",
    "AutoRechargeMode": "credits",
    "EDITIONS": "credits",
    "Edition": "credits",
    "LedgerEntry": "credits",
    "LedgerKind": "credits",
    "SimulationResult": "engine",
    "SimulationState": "engine",
    "Simulator": "engine",
    "simulate": "engine",
    "BillingError": "errors",
    "CurrencyMismatch": "errors",
    "InvalidArgument": "errors",
    "InvalidResponse": "errors",
    "InvalidScenario": "errors",
    "InvalidTimeline": "errors",
    "MissingDependency": "errors",
    "NaiveDatetimeError": "errors",
    "UnknownPrice": "errors",
    "Action": "invoice",
    "Invoice": "invoice",
    "InvoiceLine": "invoice",
    "InvoiceStatus": "invoice",
    "LogEntry": "invoice",
    "MeteredSpan": "invoice",
    "exhausted_at": "invoice",
    "Money": "money",
    "RoundingMode": "money",
    "round_to_cents": "money",
    "CancelBasis": "policies",
    "Policies": "policies",
    "ReservationPayment": "policies",
    "ShrinkPolicy": "policies",
    "Category": "resources",
    "DedicatedEndpoint": "resources",
    "FineTunedHosting": "resources",
    "FineTuningJob": "resources",
    "InstantCluster": "resources",
    "Resource": "resources",
    "ServerlessUsage": "resources",
    "StorageVolume": "resources",
    "BillingPeriod": "time",
    "Interval": "time",
    "MeteringGrain": "time",
    "instant": "time",
    "Delete": "timeline",
    "Deploy": "timeline",
    "DeployFailed": "timeline",
    "Event": "timeline",
    "ExtendReservation": "timeline",
    "Grant": "timeline",
    "JobCancelled": "timeline",
    "JobCompleted": "timeline",
    "PriceChange": "timeline",
    "Purchase": "timeline",
    "Ready": "timeline",
    "Requests": "timeline",
    "ResizeVolume": "timeline",
    "ScaleGpus": "timeline",
    "ScaleReplicas": "timeline",
    "Start": "timeline",
    "Stop": "timeline",
    "TokenUsage": "timeline",
    "TokenUsageBatch": "timeline",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and nothing else

    def __getattr__(name: str) -> object:
        """Import a public name from its module on first use (PEP 562)."""
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'together_billing' has no attribute {name!r}")
        value = getattr(importlib.import_module(f"together_billing.{module}"), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


del TYPE_CHECKING  # not a public name
