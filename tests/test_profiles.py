"""The Hypothesis profiles of tests/conftest.py govern every property test (issues 12, 16).

Run in a fresh pytest session on a copy of our conftest (and, for the ``mutation``
profile, of tests/mutation_plugin.py, loaded with ``-p`` as mutmut does), counting the
examples a test with its own ``max_examples`` gets under each profile.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
CONFTEST = HERE / "conftest.py"
MUTATION_PLUGIN = HERE / "mutation_plugin.py"

COUNTING = """
import pytest
from hypothesis import given, settings, strategies as st

CALLS = {"own": 0, "default": 0, "slow": 0}


@settings(max_examples=30, database=None)
@given(st.integers())
def test_own_budget(n):
    CALLS["own"] += 1


@settings(database=None)
@given(st.integers())
def test_default_budget(n):
    CALLS["default"] += 1


@pytest.mark.slow
@settings(max_examples=40, database=None)
@given(st.integers())
def test_slow_budget(n):
    CALLS["slow"] += 1


@pytest.mark.parametrize("again", [1, 2])
@settings(max_examples=30, database=None)
@given(st.integers())
def test_parametrized_budget(again, n):
    pass


def test_report():
    print("CALLS", CALLS["own"], CALLS["default"], CALLS["slow"])
"""


@pytest.mark.parametrize(
    ("profile", "own", "default", "slow"),
    [
        ("ci", 30, 60, 10),  # unchanged; slow capped
        ("deep", 1000, 2000, 1334),  # 30 * 2000 / 60; 40 * 2000 / 60
        ("mutation", 3, 5, 4),  # 30 * 5 / 60 = 2.5, rounded up
    ],
)
def test_every_property_test_follows_the_profile(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    profile: str,
    own: int,
    default: int,
    slow: int,
) -> None:
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "ci" if profile == "mutation" else profile)
    arguments = ["-s", "-p", "no:cacheprovider"]
    if profile == "mutation":
        monkeypatch.setenv("MUTANT_UNDER_TEST", "together_billing.money.x__mutmut_1")
        pytester.makepyfile(mutation_plugin=MUTATION_PLUGIN.read_text(encoding="utf-8"))
        arguments += ["-p", "mutation_plugin"]
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: heavy\n")
    pytester.makepyfile(test_counting=COUNTING)
    result = pytester.runpytest_subprocess(*arguments)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([f"*CALLS {own} {default} {slow}"])


def test_the_everyday_suite_has_no_mutation_hooks() -> None:
    """The mutation runs' hooks are in tests/mutation_plugin.py only, not in the conftest."""
    conftest = CONFTEST.read_text(encoding="utf-8")
    plugin = MUTATION_PLUGIN.read_text(encoding="utf-8")
    for hook in ("MUTANT_UNDER_TEST", 'register_profile(\n    "mutation"', "ITIMER_VIRTUAL"):
        assert hook not in conftest, hook
        assert hook in plugin, hook
