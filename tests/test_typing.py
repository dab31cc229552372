"""The public types hold under mypy --strict (Money + Money -> Money, Money / Money -> Decimal)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_assert_type_checks_pass() -> None:
    """mypy --strict accepts tests/typing_checks.py, whose assert_type calls pin the API."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            str(HERE / "typing_checks.py"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
