"""The ``hypothesis`` entry point: free for sessions that never use the library (issue 14).

Hypothesis's pytest plugin imports Hypothesis in every pytest session of an environment,
and Hypothesis then runs every ``hypothesis`` entry point. These tests run real pytest
sessions (``pytester``, in a fresh interpreter each) and look at what the session
imported: modules, not timings, so they pass or fail the same way on a loaded machine.
``benchmarks/hook_cost.py`` measures the time.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

#: The hook is installed as an entry point here (an editable or a regular install).
INSTALLED = any(
    ep.value == "together_billing._hypothesis_hook:setup" for ep in entry_points(group="hypothesis")
)

#: What the library's import costs: none of these may be loaded by an unused install.
HEAVY = (
    "together_billing.strategies",
    "together_billing.engine",
    "together_billing.catalog",
    "pydantic",
    "pendulum",
    "yaml",
)

UNRELATED_TEST = f"""
import sys
import time


def test_an_unrelated_project():
    import hypothesis  # what Hypothesis's pytest plugin did already
    from together_billing._hypothesis_hook import setup

    started = time.process_time()
    setup()  # what the entry point did (again: registering is idempotent)
    cost = time.process_time() - started
    print(f"hook CPU seconds: {{cost:.6f}}")
    assert "hypothesis" in sys.modules
    loaded = [name for name in {HEAVY!r} if name in sys.modules]
    assert loaded == []
"""


@pytest.mark.parametrize("plugin", ["enabled", "disabled"])
def test_an_unused_install_imports_nothing_of_the_library(
    pytester: pytest.Pytester, plugin: str
) -> None:
    """A project without billing tests: Hypothesis is loaded, the library is not."""
    pytester.makepyfile(test_unrelated=UNRELATED_TEST)
    args = ["-s", "-p", "no:cacheprovider"]
    if plugin == "disabled":
        args += ["-p", "no:together_billing"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*hook CPU seconds: *"])


def test_the_entry_point_is_installed() -> None:
    """The measurement above is of the real entry point, where the package is installed."""
    if not INSTALLED:
        pytest.skip("not installed: the tests call setup() as the entry point would")
    (entry,) = (ep for ep in entry_points(group="hypothesis") if ep.name == "together_billing")
    assert entry.value == "together_billing._hypothesis_hook:setup"


REGISTERS_ON_IMPORT = """
from hypothesis import given, settings, strategies as st
from together_billing._hypothesis_hook import setup

setup()
# Imported after the hook ran, straight from the defining modules (no package getattr).
from together_billing.resources import DedicatedEndpoint
from together_billing.timeline import Deploy
from together_billing.catalog import default_catalog


@settings(max_examples=20, database=None)
@given(st.from_type(DedicatedEndpoint), st.from_type(Deploy))
def test_types_imported_later_are_registered(endpoint, deploy):
    assert endpoint.hardware.split("x", 1)[1] in {"_test_h100", "_test_l40s"}
    assert deploy.at.tzinfo is not None


def test_modules_loaded_through_the_hook_keep_their_data_files():
    assert len(default_catalog()) > 0
"""


def test_types_are_registered_when_their_module_is_imported_later(
    pytester: pytest.Pytester,
) -> None:
    """After the entry point ran, importing a type's module registers it: from_type works."""
    pytester.makepyfile(test_later=REGISTERS_ON_IMPORT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_ghostwriter_writes_an_importable_test_for_simulate(tmp_path: Path) -> None:
    """Hypothesis's ghostwriter writes a test for simulate() whose module imports and collects."""
    ghostwriter = pytest.importorskip("hypothesis.extra.ghostwriter")
    import together_billing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # long reprs of the strategies, by design
        source = ghostwriter.magic(together_billing.simulate)
    path = tmp_path / "test_ghostwritten.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("test_ghostwritten", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["test_ghostwritten"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["test_ghostwritten"]
    assert callable(module.test_fuzz_simulate)
    assert "strategy_for" in source


WITHOUT_THE_TESTING_EXTRA = """
import sys

sys.modules["hypothesis"] = None  # as if the testing extra were not installed
sys.modules["pytest"] = None

from together_billing import DedicatedEndpoint, Deploy, MissingDependency, Stop, simulate
from together_billing.gate import check_budget
from together_billing.scenario import Scenario
from together_billing.testing import assert_monthly_bill_under

endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
events = [Deploy("2025-11-03T09:00:00Z", "ep"), Stop("2025-11-03T10:00:00Z", "ep")]
result = simulate([endpoint], events, until="2025-12-01T00:00:00Z")
assert_monthly_bill_under(result, 10)
plan = Scenario(resources=[endpoint], events=events, until="2025-12-01T00:00:00Z")
assert check_budget(plan, max_total=10).passed
try:
    import together_billing.strategies
except MissingDependency as error:
    print("strategies:", error)
"""


def test_the_library_works_without_the_testing_extra() -> None:
    """Replays, the assertions and the gate need neither Hypothesis nor pytest; the
    strategies say which extra to install."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_TESTING_EXTRA],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == (
        "strategies: together_billing.strategies needs hypothesis: "
        "pip install 'together-billing[testing]'"
    )
