"""The command line's forecast, explain and compare: tables, JSON, the plot, and errors."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from together_billing.cli import main
from together_billing.compare import StopResource, compare, fork
from together_billing.explain import explain_all, idle_report
from together_billing.forecast import SteadyUsage, forecast
from together_billing.scenario import Scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IDLE = str(EXAMPLES / "idle-deployments.yaml")
CREDITS = str(EXAMPLES / "credits-run-out.yaml")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_forecast_json_is_the_library_forecast() -> None:
    """`forecast --format json` prints exactly `forecast(...).to_dict()`."""
    code, text = run("forecast", CREDITS, "--at", "2025-11-05T00:00:00Z", "--format", "json")
    assert code == 0
    expected = forecast(Scenario.from_file(CREDITS), at="2025-11-05T00:00:00Z").to_dict()
    assert json.loads(text) == json.loads(json.dumps(expected))
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert data["runway"]["already_exhausted"] is True
    assert data["runway"]["exhausted_at"] == "2025-11-08T16:11:33.750000+00:00"


def test_forecast_defaults_to_the_end_of_the_open_period() -> None:
    """Without --until, a forecast from mid-November runs to 1 December."""
    code, text = run("forecast", IDLE, "--at", "2025-11-20T00:00:00Z", "--format", "json")
    assert code == 0
    data = json.loads(text)
    assert data["until"] == "2025-12-01T00:00:00+00:00"
    assert data["open_invoice"]["period"] == "2025-11"
    assert data["next_invoices"] == []
    assert data["runway"] is None


def test_forecast_table_shows_runway_and_actions() -> None:
    """The table names the exhaustion instant and lists actions after the start."""
    code, text = run("forecast", CREDITS, "--at", "2025-11-05T00:00:00Z")
    assert code == 0
    assert "credits run out again at 2025-11-08T16:11:33.750000+00:00" in text
    assert "Alerts and actions after the start" in text
    assert "data deleted" in text


def test_forecast_steady_assumes_the_window_use() -> None:
    """`--steady` adds the window's use as events, as SteadyUsage does."""
    code, text = run(
        "forecast", IDLE, "--at", "2025-11-08T00:00:00Z", "--steady", "--format", "json"
    )
    assert code == 0
    outlook = forecast(Scenario.from_file(IDLE), at="2025-11-08T00:00:00Z", assume=SteadyUsage())
    data = json.loads(text)
    assert data["assumed_events"] == len(outlook.assumed) > 0
    assert data["open_invoice"]["total"] == str(outlook.open_invoice.total.amount)


def test_forecast_plot_writes_a_png(tmp_path: Path) -> None:
    """`--plot` draws the balance of a scenario with an account to a PNG file."""
    pytest.importorskip("matplotlib")
    target = tmp_path / "balance.png"
    code, _ = run("forecast", CREDITS, "--at", "2025-11-05T00:00:00Z", "--plot", str(target))
    assert code == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_forecast_plot_without_account_is_invalid(tmp_path: Path) -> None:
    """A plot needs a credit balance: without an account the command fails with exit code 2."""
    pytest.importorskip("matplotlib")
    code, _ = run("forecast", IDLE, "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert not (tmp_path / "x.png").exists()


def test_explain_json_reproduces_every_line() -> None:
    """`explain --format json` has one explanation per line, each recomputing its amount."""
    code, text = run("explain", IDLE, "--format", "json")
    assert code == 0
    data = json.loads(text)
    result = Scenario.from_file(IDLE).run()
    assert len(data["explanations"]) == len(result.lines)
    for item in data["explanations"]:
        assert item["arithmetic"]["amount"] == item["line"]["amount"]
        assert Decimal(item["arithmetic"]["exact"]) == Decimal(item["line"]["amount_exact"])


def test_explain_filters_by_resource_and_period() -> None:
    """--resource and --period keep only the matching lines; none left says so."""
    code, text = run("explain", IDLE, "--resource", "my-endpoint")
    assert code == 0
    assert text.startswith("my-endpoint, 2025-11: 5290.74 USD")
    assert "my-finetune" not in text
    code, text = run("explain", IDLE, "--period", "2026-01")
    assert (code, text) == (0, "no lines match\n")


def test_explain_idle_answers_the_seed_article() -> None:
    """`explain --idle` shows both idle deployments 100% idle, as the library reports."""
    code, text = run("explain", IDLE, "--idle", "--stop-after", "30", "--format", "json")
    assert code == 0
    scenario = Scenario.from_file(IDLE)
    expected = idle_report(scenario, stop_after_minutes=30).to_dict()
    assert json.loads(text) == expected
    assert [r["idle"] for r in expected["resources"]] == [
        r["billed"] for r in expected["resources"]
    ]
    code, table = run("explain", IDLE, "--idle")
    assert "100.0%" in table
    assert "saving if stopped after 60 idle minutes" in table


def test_explain_text_names_rule_and_source() -> None:
    """Each text explanation states the rule id, its statement and the rate's source URL."""
    scenario = Scenario.from_file(IDLE)
    texts = [e.text() for e in explain_all(scenario)]
    assert any("rule FT2: a deployed fine-tuned model bills per minute" in t for t in texts)
    assert all("source: " in t for t in texts)


def test_compare_fork_options_match_the_library() -> None:
    """`compare --at --stop` diffs the scenario against its fork, as compare(fork(...)) does."""
    at = "2025-11-03T10:00:00Z"
    code, text = run("compare", IDLE, "--at", at, "--stop", "my-endpoint", "--format", "json")
    assert code == 0
    scenario = Scenario.from_file(IDLE)
    expected = compare(scenario, fork(scenario, at, StopResource("my-endpoint"))).to_dict()
    assert json.loads(text) == expected
    assert json.loads(text)["delta"] == "-5282.76"


def test_compare_two_files_that_are_the_same_diffs_to_nothing() -> None:
    """A scenario compared with itself has no changed lines and zero deltas."""
    code, text = run("compare", IDLE, IDLE)
    assert code == 0
    assert "Changed lines\n  none" in text
    assert "+$0.00" in text


def test_compare_scale_and_move_options() -> None:
    """--scale R=0 and --move R=MODEL:IN:OUT fork as ScaleTo and MoveToServerless."""
    code, text = run("compare", IDLE, "--at", "2025-11-04T00:00:00Z", "--scale", "my-endpoint=0")
    assert code == 0
    assert "my-endpoint" in text
    code, text = run(
        "compare",
        IDLE,
        "--at",
        "2025-11-04T00:00:00Z",
        "--move",
        "my-endpoint=openai/gpt-oss-120b:800:200",
        "--format",
        "json",
    )
    assert code == 0
    assert Decimal(json.loads(text)["delta"]) < 0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", IDLE], "a second scenario file, or --at with fork options"),
        (["compare", IDLE, IDLE, "--stop", "my-endpoint"], "either a second scenario"),
        (["compare", IDLE, "--stop", "my-endpoint"], "the instant to fork at"),
        (["compare", IDLE, "--at", "2025-11-04T00:00:00Z", "--scale", "ep"], "RESOURCE=REPLICAS"),
        (["compare", IDLE, "--at", "2025-11-04T00:00:00Z", "--move", "ep=m"], "MODEL:INPUT:OUTPUT"),
        (["compare", IDLE, "--at", "2025-11-04T00:00:00Z", "--stop", "nope"], "nope"),
        (["forecast", IDLE, "--until", "2025-11-01T00:00:00Z"], "until"),
        (["forecast", IDLE, "--steady", "--window-days", "0"], "window_days"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid what-if arguments exit with 2 and say what would be valid."""
    code, _ = run(*argv)
    assert code == 2
    assert needle in capsys.readouterr().err
