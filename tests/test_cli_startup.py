"""The command starts at once: `--help` and the parser import none of the machinery.

Start-up is measured (not tested: timings are not assertions) by benchmarks/cli_startup.py;
what these tests hold is its cause, the modules a run imports, checked in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: What a command imports only when it runs: the validation layer, YAML, the engine and
#: everything built on it, the terminal renderer.
HEAVY = (
    "pydantic",
    "yaml",
    "pendulum",
    "attrs",
    "decimal",
    "rich",
    "together_billing.catalog",
    "together_billing.engine",
    "together_billing.scenario",
    "together_billing.forecast",
    "together_billing.explain",
    "together_billing.compare",
    "together_billing.focus",
    # The package metadata machinery (email, zipfile, csv): only `--version` needs it.
    "importlib.metadata",
)


def _imported_by(argv: list[str]) -> list[str]:
    """The HEAVY modules loaded once `main(argv)` has run, in a fresh interpreter."""
    code = (
        "import sys, json\n"
        "from together_billing.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["simulate", "--help"],
        ["forecast", "--help"],
        ["explain", "--help"],
        ["compare", "--help"],
        ["export", "--help"],
        ["catalog", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_machinery(argv: list[str]) -> None:
    """Printing help loads neither pydantic, YAML, pendulum, the engine nor rich."""
    assert _imported_by(argv) == []


def test_the_parser_module_imports_no_machinery() -> None:
    """Importing the command's module alone is as cheap: no command has run."""
    code = f"import sys, together_billing.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_a_command_imports_what_it_uses() -> None:
    """The check above is not vacuous: running a command does load its machinery."""
    assert {"pydantic", "together_billing.catalog"} <= set(_imported_by(["catalog"]))
