"""First contact: the README's commands, and the scripts they run, work on a fresh machine.

A full run of ``scripts/setup`` installs packages (a minute or more), so it is tested by
hand in a throwaway clone (see CHANGELOG and docs/getting-started.md). These tests pin
what can be checked cheaply: the README's commands are the ones the scripts implement,
the scripts parse, CI runs exactly the README's test command, and the setup script's
refusals (no interpreter, one too old, no venv module) are clear and leave nothing behind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [ROOT / "scripts" / "setup", ROOT / "scripts" / "test", ROOT / ".ci" / "run"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def bash_blocks(page: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def test_readme_first_command_sets_up_a_venv_and_runs_an_example() -> None:
    """The first command creates and uses a virtual environment (PEP 668 safe)."""
    first, test = bash_blocks(ROOT / "README.md")[:2]
    assert first.strip() == (
        "bash scripts/setup && .venv/bin/together-billing simulate examples/idle-deployments.yaml"
    )
    assert (ROOT / "examples" / "idle-deployments.yaml").exists()
    assert test.strip() == "bash scripts/test"
    assert "pip install" not in first


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """``.ci/run`` installs (scripts/setup) and then runs the README's test command."""
    lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[-2:] == ["bash scripts/setup", "bash scripts/test"]


def test_test_script_sets_up_and_uses_the_venv() -> None:
    """``scripts/test`` never calls the system Python's tools: everything runs from .venv."""
    text = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "bash scripts/setup" in text
    assert "python3 -m" not in text
    for tool in ("ruff check", "ruff format --check", "mypy --strict src", "pytest"):
        assert f'"$python" -m {tool}' in text


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script: Path) -> None:
    """Each script is valid bash."""
    subprocess.run(["bash", "-n", str(script)], check=True)


def _sandbox(tmp_path: Path) -> Path:
    """A copy of the setup script and pyproject.toml, so a run touches nothing real."""
    (tmp_path / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _setup(root: Path, python: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": python}
    return subprocess.run(
        ["bash", str(root / "scripts" / "setup")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_setup_without_the_interpreter_says_what_to_install(tmp_path: Path) -> None:
    """No such Python: exit 1, naming it and what to install; no .venv left behind."""
    root = _sandbox(tmp_path)
    run = _setup(root, "python3-that-does-not-exist")
    assert run.returncode == 1
    assert "no 'python3-that-does-not-exist' on PATH" in run.stderr
    assert "Python 3.11 or newer" in run.stderr
    assert not (root / ".venv").exists()


def _fake_python(tmp_path: Path, body: str) -> str:
    """A stand-in interpreter: a bash script answering the calls setup makes."""
    fake = tmp_path / "fake-python"
    fake.write_text("#!/usr/bin/env bash\n" + body, encoding="utf-8")
    fake.chmod(0o755)
    return str(fake)


def test_setup_refuses_a_python_too_old(tmp_path: Path) -> None:
    """Python 3.10: exit 1 saying 3.11 or newer is needed."""
    fake = _fake_python(
        tmp_path,
        'case "$1" in --version) echo "Python 3.10.13";; -c) exit 1;; esac\n',
    )
    run = _setup(_sandbox(tmp_path / "repo"), fake)
    assert run.returncode == 1
    assert "Python 3.10.13 is too old" in run.stderr


def test_setup_without_a_venv_module_says_to_install_python3_venv(tmp_path: Path) -> None:
    """Neither ``-m venv`` nor ``-m venv --without-pip`` works: name python3-venv."""
    fake = _fake_python(
        tmp_path,
        'case "$1" in --version) echo "Python 3.12.0";; -c) exit 0;; -m) exit 1;; esac\n',
    )
    root = _sandbox(tmp_path / "repo")
    run = _setup(root, fake)
    assert run.returncode == 1
    assert "apt-get install python3-venv" in run.stderr
    assert not (root / ".venv").exists()


# -- answers a person asks for -----------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    import io

    from together_billing.cli import main

    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


CREDITS = str(ROOT / "examples" / "credits-run-out.yaml")


def test_compare_with_credits_shows_amount_due_and_run_out_shift() -> None:
    """``compare`` with credits: the change in amount due and in the run-out instant."""
    code, out = _cli("compare", CREDITS, "--at", "2025-11-02T00:00:00Z", "--stop", "serving")
    assert code == 0
    credits = out[out.index("\nCredits\n") :]
    assert "amount due" in credits
    assert "$14534.41" in credits
    assert "-$0.01" in credits
    assert "2025-11-03T11:24:49.389703+00:00" in credits
    assert "0 d 2 h 28 min later" in credits


def test_compare_with_credits_in_json() -> None:
    """The JSON comparison carries the same credits block, exact."""
    import json

    code, out = _cli(
        "compare", CREDITS, "--at", "2025-11-02T00:00:00Z", "--stop", "serving", "--format", "json"
    )
    assert code == 0
    credits = json.loads(out)["credits"]
    assert credits["amount_due"]["delta"] == "-0.01"
    assert credits["run_out"] == {
        "before": "2025-11-03T11:24:49.389703+00:00",
        "after": "2025-11-03T13:53:27.042254+00:00",
    }


def test_compare_without_credits_has_no_credits_block() -> None:
    """No account, no credits block."""
    idle = str(ROOT / "examples" / "idle-deployments.yaml")
    code, out = _cli("compare", idle, "--at", "2025-11-03T10:00:00Z", "--stop", "my-endpoint")
    assert code == 0
    assert "\nCredits\n" not in out


def test_forecast_says_where_it_starts_and_ends() -> None:
    """Without ``--at``/``--until`` the forecast says they are the scenario's until and the
    open period's end; with them, it does not."""
    _, out = _cli("forecast", CREDITS)
    assert "(the scenario's until; --at starts it elsewhere)" in out.splitlines()[0]
    assert "(the end of the open period; --until to change)" in out.splitlines()[1]
    _, out = _cli("forecast", CREDITS, "--at", "2025-11-05T00:00:00Z")
    assert "--at starts" not in out


def test_runway_gives_the_zero_instant_before_the_floor(tmp_path: Path) -> None:
    """With a negative floor, the runway says when the balance reaches $0 and when the floor.

    $50 at 01:00 less one hour at $3.99 is $46.01 at 01:00: zero after 46.01 / 3.99 hours,
    the -$100 floor after 146.01 / 3.99 hours.
    """
    from decimal import Decimal

    from together_billing.forecast import forecast
    from together_billing.scenario import Scenario
    from together_billing.time import to_micros

    path = tmp_path / "s.yaml"
    path.write_text(
        "until: '2025-11-02T00:00:00Z'\naccount: {opening_balance: 50, linked_card: true}\n"
        "resources: [{kind: dedicated_endpoint, id: ep, model: m, "
        "hardware: 1x_nvidia_h100_80gb_sxm}]\n"
        "events: [{type: deploy, at: '2025-11-01T00:00:00Z', resource: ep}]\n",
        encoding="utf-8",
    )
    scenario = Scenario.from_file(path)
    runway = forecast(scenario, at="2025-11-01T01:00:00Z").runway
    assert runway is not None
    rate = scenario.catalog.hardware("1x_nvidia_h100_80gb_sxm", scenario.until).per_hour
    assert runway.zero_at is not None
    assert runway.exhausted_at is not None
    start = to_micros(runway.start)
    hours_to_zero = Decimal(to_micros(runway.zero_at) - start) / 3_600_000_000
    assert abs(hours_to_zero - runway.balance_at_start / rate) < Decimal("0.001")
    assert runway.zero_at < runway.exhausted_at
    assert runway.to_dict()["zero_at"] == runway.zero_at.isoformat()
    _, out = _cli("forecast", str(path), "--at", "2025-11-01T01:00:00Z")
    assert f"balance reaches $0.00 at {runway.zero_at.isoformat()}" in out


def test_runway_zero_is_the_floor_when_the_floor_is_zero() -> None:
    """With the 2026 edition's floor of $0 the two instants are one."""
    from together_billing.forecast import forecast
    from together_billing.scenario import Scenario

    runway = forecast(Scenario.from_file(CREDITS), at="2025-11-02T00:00:00Z").runway
    assert runway is not None
    assert runway.zero_at == runway.exhausted_at
