"""A user's property suite built from docs/testing.md alone passes (issue 14, "done when").

``examples/test_properties.py`` combines the shipped strategies and invariants the way
the docs show. It was run once by hand at 1,000 examples per test against a regular
(non-editable) install in a fresh environment; here it runs in a fresh pytest session at
10 examples per test, so the suite stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = Path(__file__).resolve().parent.parent / "examples" / "test_properties.py"


def test_the_users_property_suite_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLING_EXAMPLES", "10")
    pytester.makepyfile(test_properties=SUITE.read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=9)
