"""Shared fixtures and the Hypothesis profiles of the test suite.

Profiles: ``ci`` (the default, 60 examples) and ``deep`` (2000 examples), chosen
with the environment variable ``HYPOTHESIS_PROFILE``. A profile governs every
property test, those that set their own ``max_examples`` too: their budget is scaled
by the profile's ``max_examples`` / 60 (see :func:`scaled_settings`). Heavy property
suites carry the ``slow`` marker: the ``ci`` profile runs them with at most
:data:`SLOW_CI_EXAMPLES` examples, ``deep`` scales them like the others.

The ``mutation`` profile and the other hooks of a mutation run are not here: they are
in tests/mutation_plugin.py, which only mutmut loads (docs/mutation.md).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: The benchmarks' modules: tests/test_benchmarks.py imports them from this directory.
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_local_modules() -> list[str]:
    """Import every module Hypothesis can draw literal constants from; return their names.

    Hypothesis draws, besides random values, the literal constants of the local
    (non-test, non-installed) modules loaded so far, and it looks again whenever
    ``sys.modules`` grows. So a test's examples, and their cost, would depend on what
    the other selected tests happened to import. Loading them all up front, every module
    of the library (subpackages included) and of ``benchmarks/``, gives every test the
    same constants, whichever tests run and in which order. A checkout whose path has a
    ``test``/``tests`` directory in it gets none (Hypothesis skips such files); that is
    the same for every test too.
    """
    names = [together_billing.__name__]
    prefix = f"{together_billing.__name__}."
    for module in pkgutil.walk_packages(together_billing.__path__, prefix):
        importlib.import_module(module.name)
        names.append(module.name)
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    for module in pkgutil.iter_modules([str(BENCHMARKS)]):
        importlib.import_module(module.name)
        names.append(module.name)
    return names


LOCAL_MODULES = load_local_modules()

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
    """Scale the property tests to the profile (the mutation runs' own hooks live in
    tests/mutation_plugin.py, which only mutmut loads)."""
    _scale_property_tests(items)


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
