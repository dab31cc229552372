"""Shared fixtures and the Hypothesis profiles of the test suite.

Profiles: ``ci`` (the default, 60 examples) and ``deep`` (2000 examples), chosen
with the environment variable ``HYPOTHESIS_PROFILE``. A profile governs every
property test, those that set their own ``max_examples`` too: their budget is scaled
by the profile's ``max_examples`` / 60 (see :func:`scaled_settings`). Heavy property
suites carry the ``slow`` marker: the ``ci`` profile runs them with at most
:data:`SLOW_CI_EXAMPLES` examples, ``deep`` scales them like the others.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

import together_billing
from together_billing import (
    Catalog,
    FineTuningPrice,
    HardwarePrice,
    ServerlessPrice,
    SizeTierPrice,
)

# The default: the examples a test gets depend only on the test (derandomize), so the
# test command passes or fails the same way on every machine and every run. New examples
# are the job of the "deep" profile (HYPOTHESIS_PROFILE=deep), documented in
# docs/testing.md.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    # HealthCheck.too_slow causes more trouble than good on loaded CI machines.
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# While mutmut tests a mutant, only pass or fail matters: few examples, and no shrinking
# of a failure (shrinking a failing property test can take minutes). See pytest_configure.
settings.register_profile(
    "mutation",
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Hypothesis also draws the literal constants of the local modules loaded so far (not of
# test files). Load every module of the library before any test runs, so that a test gets
# the same examples, and costs the same, whichever other tests were selected.
for _module in pkgutil.iter_modules(together_billing.__path__):
    importlib.import_module(f"together_billing.{_module.name}")

#: The budget the tests' own ``max_examples`` are written for (the ``ci`` profile's).
BASE_EXAMPLES = 60
#: The ``ci`` profile's cap for a test marked ``slow``.
SLOW_CI_EXAMPLES = 10


def scaled_settings(own: settings, profile: settings, *, slow: bool, name: str) -> settings:
    """A test's settings under ``profile``: its own ``max_examples`` scaled to the profile.

    A test without its own ``max_examples`` already inherits the profile's. One with
    its own (``@settings(max_examples=40)``) gets ``40 * profile / 60``, at least 1:
    unchanged under ``ci``, 1334 under ``deep``, 4 under ``mutation``. Under ``ci`` a
    ``slow`` test gets at most :data:`SLOW_CI_EXAMPLES`.
    """
    examples = own.max_examples
    if examples != profile.max_examples:
        examples = max(1, -(-examples * profile.max_examples // BASE_EXAMPLES))
    if slow and name == "ci":
        examples = min(examples, SLOW_CI_EXAMPLES)
    if examples == own.max_examples:
        return own
    return settings(own, max_examples=examples)


def _mutant_under_test() -> str:
    """The mutant mutmut is testing in this process, or ``""`` (also in its stats and clean runs)."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else ""


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under a mutant, use the ``mutation`` profile; mutmut's stats and clean runs keep the usual one."""
    if _mutant_under_test():
        settings.load_profile("mutation")


class EndlessMutant(Exception):
    """A test under a mutant used more than ``MUTANT_CPU_SECONDS`` of CPU (an endless loop)."""


#: Far beyond any test of the suite (the slowest takes a few seconds).
MUTANT_CPU_SECONDS = 60


@pytest.fixture(autouse=True)
def _mutant_cpu_limit() -> Iterator[None]:
    """Under a mutant, fail a test that loops: a mutant that hangs a replay is caught.

    Counts CPU time (``ITIMER_VIRTUAL``), which the tests' own wall-clock alarms
    (``ITIMER_REAL``) leave alone. Without it mutmut waits for its own timeout, minutes
    per mutant, and counts the mutant as not killed.
    """
    if not _mutant_under_test():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise EndlessMutant(f"over {MUTANT_CPU_SECONDS} s of CPU under {_mutant_under_test()}")

    previous = signal.signal(signal.SIGVTALRM, stop)
    signal.setitimer(signal.ITIMER_VIRTUAL, MUTANT_CPU_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


#: Tests of modules built on the engine that replay generated scenarios (see below).
_SKIPPED_FOR_ENGINE_MUTANTS = ("tests/test_strategies.py", "tests/test_plot.py")


def _scale_property_tests(items: list[pytest.Item]) -> None:
    """Apply :func:`scaled_settings` to every Hypothesis test collected (once per function)."""
    profile = settings.get_current_profile_name()
    current = settings.default
    assert current is not None
    for item in items:
        function = getattr(item, "obj", None)
        function = getattr(function, "__func__", function)  # a method: its function
        own = getattr(function, "_hypothesis_internal_use_settings", None)
        if own is None or getattr(function, "_profile_scaled", None) == profile:
            continue
        slow = item.get_closest_marker("slow") is not None
        # Hypothesis reads the test's settings when it is called: replace them there.
        function._hypothesis_internal_use_settings = scaled_settings(  # type: ignore[union-attr]
            own, current, slow=slow, name=profile
        )
        function._profile_scaled = profile  # type: ignore[union-attr]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scale the property tests to the profile; under a mutant of engine.py, leave out the
    tests of the strategies and of the plot.

    They test strategies.py and plot.py with Hypothesis scenarios that are replayed (and,
    for the strategies, filtered by replaying): a mutant that breaks replays makes them
    reject nearly every example, and a surviving mutant runs them in full, which takes
    40-200 s per mutant. The engine keeps its own deterministic and property tests.
    Leaving tests out can only lower the mutation score.
    """
    _scale_property_tests(items)
    name = _mutant_under_test()
    if ".engine." not in name and "._engine." not in name:
        return
    kept = [item for item in items if not item.nodeid.startswith(_SKIPPED_FOR_ENGINE_MUTANTS)]
    if kept and len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


#: When every price in the tiny test catalogs takes effect.
EPOCH = "2025-01-01T00:00:00Z"
#: Hardware ids of the tiny catalogs.
GPU = "1x_test_gpu"
GPU_RATE = "5.49"
#: Serverless model ids of the tiny catalogs.
CHAT = "test/chat"
CACHED = "test/cached"
BATCHY = "test/batchy"


def tiny_entries() -> list[object]:
    """The entries of the tiny catalog (user prices, not the default catalog's)."""
    return [
        HardwarePrice(GPU, GPU_RATE, EPOCH),
        HardwarePrice("1x_cheap_gpu", "3.99", EPOCH),
        ServerlessPrice(CHAT, "0.20", "0.60", EPOCH),
        ServerlessPrice(CACHED, "0.30", "1.20", EPOCH, cached_input="0.06"),
        ServerlessPrice(BATCHY, "0.88", "0.88", EPOCH, batch_discount="0.5"),
        SizeTierPrice("small", "8", "0.10", "0.10", EPOCH),
        SizeTierPrice("large", "80", "0.90", "0.90", EPOCH),
        FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.48", effective_from=EPOCH),
        FineTuningPrice("16", "sft", lora=False, per_1m_tokens="0.54", effective_from=EPOCH),
        FineTuningPrice("16", "dpo", lora=True, per_1m_tokens="1.20", effective_from=EPOCH),
        FineTuningPrice("70", "sft", lora=True, per_1m_tokens="1.50", effective_from=EPOCH),
    ]


@pytest.fixture
def catalog() -> Catalog:
    """A tiny catalog of user prices, all effective from 2025-01-01."""
    return Catalog(tiny_entries())  # type: ignore[arg-type]
