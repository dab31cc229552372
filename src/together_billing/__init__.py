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
        Account,
        AutoRecharge,
        AutoRechargeMode,
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
    from together_billing.policies import (
        EDITIONS,
        CancelBasis,
        Edition,
        Policies,
        ReservationPayment,
        ShrinkPolicy,
    )
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

#: The modules that define the public names, each after those it imports: the lookup below
#: imports them in this order until one has the name in its ``__all__``, so finding a name
#: loads little besides its own module. ``__all__`` above is the one list of public names.
_MODULES: tuple[str, ...] = (
    "errors",
    "money",
    "time",
    "credits",
    "policies",
    "catalog",
    "resources",
    "invoice",
    "timeline",
    "engine",
)


if not TYPE_CHECKING:  # type checkers see the imports above, and nothing else

    def __getattr__(name: str) -> object:
        """Import a public name from its module on first use (PEP 562)."""
        if name in __all__:
            for module_name in _MODULES:
                module = importlib.import_module(f"together_billing.{module_name}")
                if name in module.__all__:
                    value = getattr(module, name)
                    globals()[name] = value
                    return value
        raise AttributeError(f"module 'together_billing' has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


del TYPE_CHECKING  # not a public name
