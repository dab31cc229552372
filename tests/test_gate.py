"""The budget gate (`together-billing check`, `together_billing.gate`) and the pinned catalog.

States of a check: each limit absent, held or broken; several limits together; a
runway inside the replay or beyond it (forecast); no account; invalid limits. The
command's exit code: 0 all held, 3 one broken, 2 invalid input.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

from together_billing import Account, Catalog, DedicatedEndpoint, Deploy, InvalidArgument, Requests
from together_billing.catalog import catalog_document, default_catalog, load_data
from together_billing.cli import main
from together_billing.gate import EXIT_FAILED, check_budget
from together_billing.scenario import Scenario
from together_billing.strategies import catalogs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CREDITS = EXAMPLES / "credits-run-out.yaml"
IDLE = EXAMPLES / "idle-deployments.yaml"
H100 = "1x_nvidia_h100_80gb_sxm"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def plan(balance: int | None = 500) -> Scenario:
    """An H100 endpoint deployed for two days, one request at the start of each."""
    endpoint = DedicatedEndpoint("ep", model="m", hardware=H100)
    account = [] if balance is None else [Account(opening_balance=balance)]
    return Scenario(
        resources=[endpoint, *account],
        events=[
            Deploy("2025-11-03T00:00:00Z", "ep"),
            Requests("2025-11-03T00:00:00Z", "ep"),
            Requests("2025-11-04T00:00:00Z", "ep"),
        ],
        until="2025-11-05T00:00:00Z",
    )


# -- check_budget: one limit at a time -----------------------------------------------------------


@pytest.mark.parametrize(("limit", "passed"), [("191.52", True), ("191.51", False)])
def test_max_total_holds_up_to_the_cent(limit: str, passed: bool) -> None:
    """Two days of an H100 at $3.99/hour: $191.52; the limit is inclusive."""
    report = check_budget(plan(), max_total=limit)
    (check,) = report.checks
    assert check.name == "max-total"
    assert check.passed is passed
    assert report.exit_code == (0 if passed else EXIT_FAILED)
    if not passed:
        line = (
            "ep  1x_nvidia_h100_80gb_sxm ready replicas: 2880 replica-minute x 3.99 USD per "
            "replica-hour = 191.52 USD"
        )
        assert check.details == (line,)


def test_max_monthly_names_each_month_over() -> None:
    report = check_budget(Scenario.from_file(CREDITS), max_monthly="15000")
    (check,) = report.checks
    assert not check.passed
    assert check.details == ("2025-11: 16134.41 USD, over by 1134.41 USD",)


@pytest.mark.parametrize(
    ("runway", "passed"),
    [
        ("2025-11-04", True),  # inside the replay
        ("1d", True),  # the replay's until + 1 day: forecast
        (dt.timedelta(days=2), True),
        ("30d", False),  # $500 at $3.99/hour, down to the $0 floor (P-FLOOR): 5.2 days
        ("2025-12-01T00:00:00Z", False),
    ],
)
def test_min_runway_inside_and_beyond_the_replay(runway: object, passed: bool) -> None:
    report = check_budget(plan(), min_runway=runway)
    (check,) = report.checks
    assert check.passed is passed
    if not passed:
        assert check.actual.startswith("credits run out at 2025-11-08T05:18")
        assert check.details[1].split() == ["ep", "500.00", "USD"]


def test_min_runway_needs_an_account() -> None:
    with pytest.raises(InvalidArgument, match="an account"):
        check_budget(plan(balance=None), min_runway="1d")


@pytest.mark.parametrize("bad", ["soon", "30 weeks", "2025-13-01"])
def test_an_unreadable_runway_is_named(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="min_runway"):
        check_budget(plan(), min_runway=bad)


def test_max_idle_lists_resources_and_savings() -> None:
    report = check_budget(Scenario.from_file(IDLE), max_idle="100")
    (check,) = report.checks
    assert not check.passed
    assert check.details[0].startswith("my-endpoint (dedicated endpoint): 5290.74 USD idle")
    assert "saves" in check.details[0]
    assert check_budget(Scenario.from_file(IDLE), max_idle="10000").passed


def test_limits_are_never_floats_and_at_least_one_is_given() -> None:
    with pytest.raises(InvalidArgument, match="max_total"):
        check_budget(plan(), max_total=100.5)
    with pytest.raises(InvalidArgument, match="at least one"):
        check_budget(plan())


def test_every_limit_at_once_reports_each() -> None:
    report = check_budget(
        plan(), max_total="1000", max_monthly="1000", min_runway="30d", max_idle="1000"
    )
    assert [c.name for c in report.checks] == ["max-total", "max-monthly", "min-runway", "max-idle"]
    assert [c.passed for c in report.checks] == [True, True, False, True]
    assert report.text().splitlines()[0] == "Budget check of the scenario: FAILED (1 of 4 limits)"


# -- the command -----------------------------------------------------------------------------------


def test_check_exits_0_when_every_limit_holds() -> None:
    code, text = run("check", str(CREDITS), "--max-total", "20000", "--min-runway", "2025-11-02")
    assert code == 0
    assert text.splitlines()[0].endswith(": passed")


def test_check_exits_3_with_a_short_report() -> None:
    code, text = run("check", str(CREDITS), "--min-runway", "2025-11-05", "--max-total", "20000")
    assert code == EXIT_FAILED
    lines = text.splitlines()
    assert lines[0].endswith("FAILED (1 of 2 limits)")
    assert lines[1].startswith("ok    max-total")
    assert lines[2].startswith("FAIL  min-runway: credits run out at 2025-11-03T11:24:49")


def test_check_json_report() -> None:
    code, text = run("check", str(IDLE), "--max-idle", "1", "--format", "json")
    assert code == EXIT_FAILED
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert data["passed"] is False
    assert data["checks"][0]["name"] == "max-idle"


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-total", "1.5e999999999"],
        ["--max-total", "abc"],
        ["--max-total", "NaN"],
        ["--max-total", "-5"],
        ["--max-idle", "Infinity"],
        [],
        ["--min-runway", "soon"],
        ["--min-runway", "2025-02-30"],
    ],
)
def test_check_invalid_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("check", str(CREDITS), *argv)
    assert code == 2
    assert "together-billing: error:" in capsys.readouterr().err


# -- the pinned catalog ----------------------------------------------------------------------------


def test_the_catalog_written_by_the_cli_loads_back(tmp_path: Path) -> None:
    """`together-billing catalog --format yaml` writes the bundled catalog, entry for entry."""
    code, text = run("catalog", "--format", "yaml")
    assert code == 0
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    assert Catalog.from_file(path) == default_catalog()
    assert "!!python" not in text


@settings(max_examples=30)
@given(catalogs(max_changes=4))
def test_catalog_document_round_trips_every_entry_kind(catalog: Catalog) -> None:
    """Every kind of entry (storage too, which the bundled catalog lacks) loads back."""
    again = Catalog(load_data(yaml.safe_load(yaml.safe_dump(catalog_document(catalog)))))
    assert again == catalog
    assert Decimal(catalog_document(catalog)["hardware"][0]["per_hour"]) >= 0


def test_check_reads_catalog_files_from_a_catalog_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --catalog-dir DIR`, as the other commands: a scenario may name catalog files there."""
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "own.yaml").write_text(
        "sources: {mine: {url: 'https://example.com', date: '2025-11-01', kind: user}}\n"
        "hardware:\n"
        "- {hardware: 1x_own_gpu, per_hour: '10', effective_from: '2025-11-01T00:00:00Z',"
        " source: mine}\n",
        encoding="utf-8",
    )
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario = folder / "plan.yaml"
    scenario.write_text(
        "until: '2025-11-02T00:00:00Z'\n"
        "catalog: {files: ['../prices/own.yaml']}\n"
        "resources: [{kind: dedicated_endpoint, id: ep, model: m, hardware: 1x_own_gpu}]\n"
        "events: [{type: deploy, at: '2025-11-01T00:00:00Z', resource: ep},"
        " {type: stop, at: '2025-11-01T10:00:00Z', resource: ep}]\n",
        encoding="utf-8",
    )
    refused, _ = run("check", str(scenario), "--max-total", "100")
    assert refused == 2
    assert "outside the scenario's folder" in capsys.readouterr().err
    code, text = run(
        "check",
        str(scenario),
        "--max-total",
        "99.99",
        "--catalog-dir",
        str(prices),
        "--format",
        "json",
    )
    assert code == EXIT_FAILED
    assert json.loads(text)["checks"][0]["actual"] == "100.00 USD billed"
    assert run("check", str(scenario), "--max-total", "100", "--catalog-dir", str(prices))[0] == 0


def test_every_command_that_reads_a_scenario_takes_catalog_dir() -> None:
    import argparse

    from together_billing.cli import _parser

    (commands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    reading = {
        name: sub
        for name, sub in commands.choices.items()
        if any(action.dest == "scenario" for action in sub._actions)
    }
    assert "check" in reading
    lacking = [
        name
        for name, sub in reading.items()
        if not any("--catalog-dir" in action.option_strings for action in sub._actions)
    ]
    assert lacking == []
