"""The command line: simulate (table and JSON), schema, catalog, and its errors."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from together_billing.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_json_output_is_versioned_and_uses_decimal_strings() -> None:
    """`--format json` prints schema_version 1 with amounts as decimal strings that add up."""
    code, text = run("simulate", str(EXAMPLES / "idle-deployments.yaml"), "--format", "json")
    assert code == 0
    data = json.loads(text)
    assert data["schema_version"] == 1
    invoice = data["invoices"][0]
    assert isinstance(invoice["total"], str)
    assert Decimal(invoice["total"]) == sum(Decimal(line["amount"]) for line in invoice["lines"])
    assert {line["group"] for line in invoice["lines"]} == {"usage", "deployment"}
    estimated = [line for line in invoice["lines"] if line["price"]["estimated"]]
    assert [line["category"] for line in estimated] == ["fine-tuning"]


def test_until_gives_a_draft_of_the_open_period() -> None:
    """`--until` inside a month replays only that far and prints a draft invoice (IN4)."""
    code, text = run(
        "simulate",
        str(EXAMPLES / "idle-deployments.yaml"),
        "--until",
        "2025-11-04T09:00:00Z",
        "--format",
        "json",
    )
    assert code == 0
    invoice = json.loads(text)["invoices"][0]
    assert invoice["status"] == "draft"
    endpoint = next(line for line in invoice["lines"] if line["resource"] == "my-endpoint")
    assert endpoint["quantity"] == "1440"


def test_table_marks_estimated_prices() -> None:
    """The table flags lines priced from estimates with `*` and explains the mark."""
    code, text = run("simulate", str(EXAMPLES / "idle-deployments.yaml"))
    assert code == 0
    assert "USD per 1M tokens *" in text
    assert "* priced from an estimate" in text


def test_schema_is_json_schema_of_scenarios() -> None:
    """`schema` prints a JSON Schema naming the scenario's top-level fields."""
    code, text = run("schema")
    assert code == 0
    schema = json.loads(text)
    assert {"until", "resources", "events", "catalog", "policies"} <= set(schema["properties"])


def test_catalog_lists_sources() -> None:
    """`catalog --format json` lists every entry with a source URL and kind."""
    code, text = run("catalog", "--format", "json")
    assert code == 0
    entries = json.loads(text)
    assert entries
    assert all(entry["source"].startswith("https://") for entry in entries)
    assert {entry["source_kind"] for entry in entries} >= {"together", "estimate", "third-party"}


def test_invalid_scenario_exits_2_naming_the_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario with a negative token count exits 2 and names the field's location."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "until: '2025-12-01T00:00:00Z'\n"
        "resources: [{kind: serverless, id: chat, model: openai/gpt-oss-20b}]\n"
        "events: [{type: tokens, at: '2025-11-02T00:00:00Z', resource: chat, input_tokens: -1}]\n",
        encoding="utf-8",
    )
    code, _ = run("simulate", str(bad))
    assert code == 2
    err = capsys.readouterr().err
    assert "events[0].input_tokens: Input should be greater than or equal to 0 (got -1)" in err


def test_naive_instant_in_scenario_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An instant without an offset is refused with its location."""
    bad = tmp_path / "naive.yaml"
    bad.write_text("until: '2025-12-01T00:00:00'\n", encoding="utf-8")
    code, _ = run("simulate", str(bad))
    assert code == 2
    assert "until" in capsys.readouterr().err


def test_invalid_timeline_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Stopping an endpoint that was never deployed exits 2 naming the event and state."""
    bad = tmp_path / "stop.yaml"
    bad.write_text(
        "until: '2025-12-01T00:00:00Z'\n"
        "resources: [{kind: dedicated_endpoint, id: ep, model: m, "
        "hardware: 1x_nvidia_h100_80gb_sxm}]\n"
        "events: [{type: stop, at: '2025-11-02T00:00:00Z', resource: ep}]\n",
        encoding="utf-8",
    )
    code, _ = run("simulate", str(bad))
    assert code == 2
    err = capsys.readouterr().err
    assert "Stop(" in err
    assert "status='not deployed'" in err


def test_unknown_price_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A model with no price and no size exits 1 naming the model."""
    bad = tmp_path / "price.yaml"
    bad.write_text(
        "until: '2025-12-01T00:00:00Z'\n"
        "resources: [{kind: serverless, id: chat, model: nobody/unknown}]\n"
        "events: [{type: tokens, at: '2025-11-02T00:00:00Z', resource: chat, input_tokens: 5}]\n",
        encoding="utf-8",
    )
    code, _ = run("simulate", str(bad))
    assert code == 1
    assert "nobody/unknown" in capsys.readouterr().err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario path that does not exist is an input error naming the path."""
    code, _ = run("simulate", "does/not/exist.yaml")
    assert code == 2
    assert "does/not/exist.yaml" in capsys.readouterr().err


def test_credit_figures_are_rounded_by_the_replays_own_mode(tmp_path: Path) -> None:
    """P-ROUND: the credits block shows whole cents in the scenario's rounding mode.

    Seven minutes of an H100 at $3.99/hour draw $0.4655: $0.47 half-up, $0.46 down.
    """
    from together_billing.cli import main

    text = (
        "until: '2025-11-01T00:07:00Z'\n"
        "policies: {{rounding: {mode}}}\n"
        "account: {{opening_balance: 10}}\n"
        "resources: [{{kind: dedicated_endpoint, id: ep, model: m,"
        " hardware: 1x_nvidia_h100_80gb_sxm}}]\n"
        "events: [{{type: deploy, at: '2025-11-01T00:00:00Z', resource: ep}}]\n"
    )
    shown = {}
    for mode in ("half-up", "down"):
        path = tmp_path / f"{mode}.yaml"
        path.write_text(text.format(mode=mode), encoding="utf-8")
        out = io.StringIO()
        assert main(["simulate", str(path)], out=out) == 0
        block = out.getvalue().split("Credits (", 1)[1]
        rows = block.splitlines()[1:]
        shown[mode] = next(row.split()[-1] for row in rows if row.split()[0] == "consumed")
    assert shown == {"half-up": "$0.47", "down": "$0.46"}


def test_a_closed_pipe_is_not_an_internal_error() -> None:
    """``together-billing ... | head -1``: the reader leaving is not a bug to report."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "together_billing.cli", "simulate"]
    scenario = str(root / "examples" / "credits-run-out.yaml")
    with subprocess.Popen(
        [*command, scenario], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader goes away before the output comes
        error = process.stderr.read().decode()
        code = process.wait()
    assert "internal error" not in error
    assert code == 0
