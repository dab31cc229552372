"""The doctests of docs/*.md run from the repository root, wherever pytest is started.

The pages' examples name files as a reader at the root of a checkout would:
``examples/forecast-steady.yaml``, ``main(["forecast", "examples/..."])``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _run_from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make relative paths in the pages' examples resolve from the repository root."""
    monkeypatch.chdir(ROOT)
