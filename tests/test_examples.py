"""Every bundled scenario replays to exactly its checked-in output (also a determinism check)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from together_billing.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENARIOS = sorted(EXAMPLES.glob("*.yaml"))


def test_examples_exist() -> None:
    """The seed article's case and the other examples are bundled with their outputs."""
    names = {path.stem for path in SCENARIOS}
    assert {"idle-deployments", "serverless-month", "autoscaling-endpoint"} <= names
    for path in SCENARIOS:
        assert path.with_suffix(".out").exists(), f"{path.name} has no expected output"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_example_output_is_unchanged(scenario: Path) -> None:
    """`together-billing simulate` prints byte for byte the checked-in `.out` file."""
    out = io.StringIO()
    assert main(["simulate", str(scenario)], out=out) == 0
    expected = scenario.with_suffix(".out").read_text(encoding="utf-8")
    assert out.getvalue() == expected, (
        f"output of {scenario.name} changed; if intended, regenerate with "
        f"`together-billing simulate {scenario} > {scenario.with_suffix('.out')}`"
    )


def test_seed_case_bills_idle_deployments() -> None:
    """The seed case: zero requests, yet hosting and the endpoint bill every minute deployed."""
    from together_billing.scenario import run_scenario

    result = run_scenario(EXAMPLES / "idle-deployments.yaml")
    invoice = result.invoices[0]
    by_resource = {
        line.resource: line for line in invoice.lines if line.category.group == "deployment"
    }
    # 3 Nov 09:00 -> 10 Nov 17:30 is 176.5 hours; 3 Nov 09:00 -> 1 Dec is 663 hours.
    assert by_resource["my-finetune"].quantity == 176 * 60 + 30
    assert by_resource["my-endpoint"].quantity == 663 * 60
    assert by_resource["my-endpoint"].amount == by_resource["my-endpoint"].amount_exact.quantize(
        by_resource["my-endpoint"].amount
    )
    assert invoice.by_group()["deployment"].amount == sum(
        line.amount for line in by_resource.values()
    )
