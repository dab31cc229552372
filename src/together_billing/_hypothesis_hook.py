"""Hypothesis's entry point into together-billing: ``st.from_type`` for the library's types.

Hypothesis runs :func:`setup` whenever it is imported (the ``hypothesis`` entry point
in ``pyproject.toml``), and its pytest plugin imports it in *every* pytest session of
an environment where it is installed, billing tests or not. So this module imports
nothing but the standard library, and :func:`setup` imports nothing of the library:

- a module of :data:`REGISTERED` that is already imported gets its types registered
  at once;
- for the others, a finder on ``sys.meta_path`` registers a module's types right
  after the module is first imported (and does nothing for any other module).

A registered type resolves through :func:`together_billing.strategies.strategy_for`,
which is imported only when a test first asks ``st.from_type`` for one of these
types. A session that never imports the library therefore pays for one dictionary
lookup per import, not for the engine, pydantic and pendulum.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["REGISTERED", "register_module", "setup"]

#: The types ``st.from_type`` resolves with the library's strategies, by defining module.
#: Enums, ``Source`` and ``LedgerEntry`` need none: Hypothesis builds them
#: from their annotations. ``tests/test_strategies.py`` checks this table against
#: :func:`together_billing.strategies.strategy_for`.
REGISTERED: Final[dict[str, tuple[str, ...]]] = {
    "together_billing.money": ("Money",),
    "together_billing.time": ("BillingPeriod", "Interval", "MeteringGrain"),
    "together_billing.catalog": (
        "Catalog",
        "ClusterPrice",
        "FineTuningPrice",
        "HardwarePrice",
        "ServerlessPrice",
        "SizeTierPrice",
        "StoragePrice",
    ),
    "together_billing.credits": ("Account", "AutoRecharge"),
    "together_billing.policies": ("Edition", "Policies"),
    "together_billing.resources": (
        "DedicatedEndpoint",
        "FineTunedHosting",
        "FineTuningJob",
        "InstantCluster",
        "ServerlessUsage",
        "StorageVolume",
    ),
    "together_billing.timeline": (
        "Delete",
        "Deploy",
        "DeployFailed",
        "ExtendReservation",
        "Grant",
        "JobCancelled",
        "JobCompleted",
        "PriceChange",
        "Purchase",
        "Ready",
        "Requests",
        "ResizeVolume",
        "ScaleGpus",
        "ScaleReplicas",
        "Start",
        "Stop",
        "TokenUsage",
        "TokenUsageBatch",
    ),
    "together_billing.invoice": ("Invoice", "InvoiceLine", "LogEntry", "MeteredSpan"),
    "together_billing.engine": ("SimulationResult", "SimulationState", "Simulator"),
    "together_billing.scenario": ("Scenario",),
}

#: The module objects whose types are registered (a module imported again, after being
#: dropped from ``sys.modules``, defines new classes: they are registered too).
_done: dict[str, ModuleType] = {}


def _resolve(kind: type) -> SearchStrategy[Any]:
    """The library's strategy for ``kind``, imported on first use.

    Written ``just(kind).flatmap(strategy_for)`` so that its repr names only public,
    importable objects: Hypothesis's ghostwriter copies it into the tests it writes.
    """
    from hypothesis import strategies as st  # noqa: PLC0415

    from together_billing.strategies import strategy_for  # noqa: PLC0415 - on demand

    return st.sampled_from([kind]).flatmap(strategy_for)


def register_module(module: ModuleType) -> None:
    """Register the types ``module`` defines (per :data:`REGISTERED`) with ``st.from_type``.

    Does nothing for a module without registered types, for one already registered,
    or for one still being imported (its types are registered when it is complete).
    """
    names = REGISTERED.get(module.__name__, ())
    if _done.get(module.__name__) is module or not all(hasattr(module, n) for n in names):
        return
    from hypothesis import strategies as st  # noqa: PLC0415 - Hypothesis is imported by now

    for name in names:
        st.register_type_strategy(getattr(module, name), _resolve)
    _done[module.__name__] = module


class _RegisteringLoader(importlib.abc.Loader):
    """Loads a module as its own loader does, then registers its types."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        register_module(module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader, ... as the module's own loader has them.
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of the modules of :data:`REGISTERED`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in REGISTERED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _RegisteringLoader(spec.loader)
            return spec
        return None


def _installed() -> bool:
    return any(isinstance(finder, _Finder) for finder in sys.meta_path)


def setup() -> None:
    """Register the types of the library's modules imported so far, and of those to come.

    The ``hypothesis`` entry point: cheap, because it imports nothing of the library.
    """
    for name in REGISTERED:
        module = sys.modules.get(name)
        if module is not None:
            register_module(module)
    if not _installed():
        sys.meta_path.insert(0, _Finder())
