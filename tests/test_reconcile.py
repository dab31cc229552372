"""Reconciliation (issue 13, item 3): a replay window by window against a usage report."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    DedicatedEndpoint,
    Deploy,
    InvalidArgument,
    ServerlessUsage,
    Stop,
    TokenUsage,
    TokenUsageBatch,
)
from together_billing.money import EXACT_CONTEXT
from together_billing.reconcile import RowStatus, reconcile, replay_usage
from together_billing.scenario import Scenario
from together_billing.strategies import scenarios, timelines
from together_billing.usage import Granularity, UsageReport

START = "2025-11-01T00:00:00Z"


def plan(**overrides) -> Scenario:
    """Serverless tokens on two days and an endpoint running across a day boundary."""
    fields = {
        "resources": [
            ServerlessUsage("chat", model="openai/gpt-oss-120b"),
            DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm"),
        ],
        "events": [
            TokenUsage("2025-11-01T10:00:00Z", "chat", 2_000_000, 1_000_000),
            TokenUsage("2025-11-02T00:00:00Z", "chat", 1_000_000, 0),
            Deploy("2025-11-01T22:00:00Z", "ep"),
            Stop("2025-11-02T01:30:00Z", "ep"),
        ],
        "start": START,
        "until": "2025-11-04T00:00:00Z",
    }
    fields.update(overrides)
    return Scenario(**fields)


def exact_total(result) -> Decimal:
    """The replay's exact (unrounded) total, summed without losing a digit."""
    total = Decimal(0)
    for line in result.lines:
        total = EXACT_CONTEXT.add(total, line.amount_exact)
    return total


#: Windows of a line are each an exact quotient carried to 50 significant digits (G1): their
#: sum can differ from the line's own quotient in the last digit (a volume billed per
#: second over several days: ...445 against ...444 in the 50th digit).
LAST_DIGITS = Decimal("1e-40")


def same_total(windows: Decimal, whole: Decimal) -> bool:
    return abs(EXACT_CONTEXT.subtract(windows, whole)) <= LAST_DIGITS


def edited(report: UsageReport, edit) -> UsageReport:
    """The report's saved data, changed by ``edit``, read back."""
    data = copy.deepcopy(report.to_data())
    edit(data)
    return UsageReport.from_data(data)


class TestWindows:
    def test_a_usage_event_bills_in_the_window_it_is_in(self) -> None:
        """Tokens at 2025-11-02T00:00 belong to the day that starts then (half-open windows)."""
        simulated = replay_usage(plan(), granularity="day")
        inputs = {
            c.start.format("YYYY-MM-DD"): c.quantity
            for c in simulated.charges
            if c.product == "Serverless Inference - Input Tokens"
        }
        assert inputs == {"2025-11-01": Decimal(2_000_000), "2025-11-02": Decimal(1_000_000)}

    def test_running_time_is_split_at_the_window_boundary(self) -> None:
        """An endpoint from 22:00 to 01:30 bills 2 h on day 1 and 1.5 h on day 2 (DE1)."""
        simulated = replay_usage(plan(), granularity="day")
        hours = {
            c.start.format("YYYY-MM-DD"): (c.quantity, c.cost)
            for c in simulated.charges
            if c.product == "Dedicated Endpoints - Hardware Hours"
        }
        assert hours == {
            "2025-11-01": (Decimal(2), Decimal("7.98")),
            "2025-11-02": (Decimal("1.5"), Decimal("5.985")),
        }
        assert {c.subject for c in simulated.charges if c.kind == "replica hours"} == {
            "1x_nvidia_h100_80gb_sxm"
        }

    def test_windows_add_up_to_the_plain_replay(self) -> None:
        scenario = plan()
        for granularity in Granularity:
            simulated = replay_usage(scenario, granularity=granularity)
            assert same_total(simulated.total, exact_total(scenario.run()))
            assert simulated.result.total == scenario.run().total

    def test_batches_are_cut_at_window_boundaries(self) -> None:
        batch = TokenUsageBatch(
            "chat",
            ["2025-11-01T23:00:00Z", "2025-11-02T00:00:00Z", "2025-11-03T05:00:00Z"],
            [1, 10, 100],
            [0, 0, 0],
        )
        simulated = replay_usage(plan(events=[batch]), granularity="day")
        assert [c.quantity for c in simulated.charges] == [1, 10, 100]

    def test_hourly_windows(self) -> None:
        simulated = replay_usage(plan(), granularity="hour")
        assert len(simulated.windows) == 72
        ep = [c for c in simulated.charges if c.kind == "replica hours"]
        assert [c.quantity for c in ep] == [1, 1, 1, Decimal("0.5")]


class TestAgainstItsOwnReport:
    @pytest.mark.parametrize("granularity", ["day", "hour"])
    def test_a_replay_matches_its_own_report_exactly(self, granularity: str) -> None:
        simulated = replay_usage(plan(), granularity=granularity)
        result = reconcile(simulated, simulated.to_report(), tolerance=0)
        assert result.ok
        assert {row.status for row in result.rows} == {RowStatus.MATCHED}
        assert result.simulated_total == result.reported_total == simulated.total

    @given(
        generated=st.sampled_from(["day", "hour"]).flatmap(
            lambda granularity: st.tuples(
                st.just(granularity),
                timelines(
                    max_events=8,
                    start="2025-10-31T18:00:00Z",
                    # Hourly windows over a day (24 continued replays); days over four.
                    until="2025-11-01T18:00:00Z"
                    if granularity == "hour"
                    else "2025-11-04T00:00:00Z",
                ),
            )
        )
    )
    def test_property_generated_timelines_reconcile_exactly(self, generated) -> None:
        """Any generated timeline reconciles exactly against the report made from its replay,
        at day and at hour granularity, across a month boundary."""
        granularity, generated = generated
        simulated = replay_usage(generated, granularity=granularity)
        assert same_total(simulated.total, exact_total(generated.run()))
        report = UsageReport.from_data(json.loads(json.dumps(simulated.to_report().to_data())))
        result = reconcile(simulated, report, tolerance=0)
        assert result.ok, result.table()
        assert all(row.status is RowStatus.MATCHED for row in result.rows)
        assert all(row.cost_difference == 0 == row.quantity_difference for row in result.rows)

    @given(generated=scenarios(max_events=8))
    def test_property_with_credits(self, generated) -> None:
        """With an account (credits run out, resources stop), windows still add up exactly."""
        simulated = replay_usage(generated, granularity="day")
        assert same_total(simulated.total, exact_total(generated.run()))
        assert reconcile(simulated, simulated.to_report(), tolerance=0).ok


class TestDifferences:
    def test_an_injected_difference_is_reported_with_its_explanation(self) -> None:
        simulated = replay_usage(plan(), granularity="day")

        def inflate(data) -> None:
            item = data["pages"][0]["data"][1]["line_items"][0]
            item["cost"] = str(Decimal(item["cost"]) + Decimal("1.25"))

        result = reconcile(simulated, edited(simulated.to_report(), inflate))
        assert not result.ok
        (row,) = result.exceeded
        assert row.status is RowStatus.DIFFERENT
        assert row.cost_difference == Decimal("1.25")
        assert row.start.format("YYYY-MM-DD") == "2025-11-02"
        assert row.explanation
        assert "USD per" in row.explanation[0]
        assert result.to_dict()["counts"]["different"] == 1
        assert "different !" in result.table()

    def test_a_difference_within_the_tolerance_matches(self) -> None:
        simulated = replay_usage(plan(), granularity="day")

        def nudge(data) -> None:
            item = data["pages"][0]["data"][1]["line_items"][0]
            item["cost"] = str(Decimal(item["cost"]) + Decimal("0.004"))

        result = reconcile(simulated, edited(simulated.to_report(), nudge), tolerance="0.01")
        assert result.ok
        assert reconcile(simulated, edited(simulated.to_report(), nudge), tolerance=0).ok is False

    def test_an_unknown_product_is_reported_with_its_amount(self) -> None:
        simulated = replay_usage(plan(), granularity="day")

        def sandbox(data) -> None:
            data["pages"][0]["data"][2]["line_items"].append(
                {
                    "product_name": "Code Sandbox - Sessions",
                    "quantity": "10",
                    "unit_price": "0.03",
                    "cost": "0.30",
                }
            )

        report = edited(simulated.to_report(), sandbox)
        assert [r.cost for r in report.unknown] == [Decimal("0.30")]
        result = reconcile(simulated, report)
        (row,) = result.exceeded
        assert (row.status, row.product, row.reported_cost) == (
            RowStatus.UNKNOWN_PRODUCT,
            "Code Sandbox - Sessions",
            Decimal("0.30"),
        )

    def test_a_missing_day_is_reported_as_missing(self) -> None:
        simulated = replay_usage(plan(), granularity="day")

        def drop_day(data) -> None:
            del data["pages"][0]["data"][1]

        result = reconcile(simulated, edited(simulated.to_report(), drop_day))
        assert not result.ok
        assert [s.format("YYYY-MM-DD") for s, _ in result.missing_windows] == ["2025-11-02"]
        assert {r.status for r in result.rows if r.start.day == 2} == {RowStatus.MISSING_WINDOW}
        assert "missing window" in result.table()

    def test_a_row_on_one_side_only(self) -> None:
        simulated = replay_usage(plan(), granularity="day")

        def drop_row(data) -> None:
            data["pages"][0]["data"][0]["line_items"].pop(0)

        result = reconcile(simulated, edited(simulated.to_report(), drop_row))
        assert [r.status for r in result.exceeded] == [RowStatus.SIMULATED_ONLY]

        def add_row(data) -> None:
            data["pages"][0]["data"][2]["line_items"].append(
                {
                    "product_name": "Serverless Inference - Input Tokens",
                    "quantity": "5",
                    "unit_price": "0.00000015",
                    "cost": "0.00000075",
                    "pricing_dimensions": {"model": "openai/gpt-oss-120b"},
                }
            )

        result = reconcile(simulated, edited(simulated.to_report(), add_row), tolerance=0)
        assert [r.status for r in result.exceeded] == [RowStatus.REPORTED_ONLY]

    def test_rows_of_windows_not_final_never_fail_the_gate(self) -> None:
        """The current month is a moving snapshot: read on 2025-11-02, day 2 is not final."""
        simulated = replay_usage(plan(), granularity="day")
        report = simulated.to_report(read_at="2025-11-02T15:00:00Z")
        assert [w.final for w in report.windows] == [True, False, False]

        def inflate(data) -> None:
            item = data["pages"][0]["data"][1]["line_items"][0]
            item["cost"] = "999"

        result = reconcile(simulated, edited(report, inflate))
        assert result.ok
        assert result.count(RowStatus.DIFFERENT) == 1
        assert "(not final)" in result.table()

    def test_granularities_must_agree(self) -> None:
        simulated = replay_usage(plan(), granularity="day")
        hourly = replay_usage(plan(), granularity="hour").to_report()
        with pytest.raises(InvalidArgument, match="granularity"):
            reconcile(simulated, hourly)

    def test_negative_tolerance_is_refused(self) -> None:
        simulated = replay_usage(plan(), granularity="day")
        with pytest.raises(InvalidArgument, match="tolerance"):
            reconcile(simulated, simulated.to_report(), tolerance="-1")

    def test_the_json_is_deterministic_and_documented(self) -> None:
        simulated = replay_usage(plan(), granularity="day")
        data = reconcile(simulated, simulated.to_report()).to_dict()
        assert list(data) == [
            "schema_version",
            "ok",
            "granularity",
            "tolerance",
            "quantity_tolerance",
            "report",
            "totals",
            "counts",
            "not_compared",
            "missing_windows",
            "rows",
        ]
        assert data["schema_version"] == 1
        assert json.dumps(data) == json.dumps(reconcile(simulated, simulated.to_report()).to_dict())


def test_a_scenario_is_replayed_at_the_reports_granularity() -> None:
    """`reconcile(scenario, report)` replays the scenario itself; a bare result is refused."""
    scenario = plan()
    report = replay_usage(scenario, granularity="hour").to_report()
    result = reconcile(scenario, report, tolerance=0)
    assert result.ok
    assert result.granularity is Granularity.HOUR
    with pytest.raises(InvalidArgument, match="each window"):
        reconcile(scenario.run(), report)


def test_what_lies_outside_either_span_is_counted_not_compared() -> None:
    """A report of three days against a replay of two: the third day's rows are not compared."""
    report = replay_usage(plan(), granularity="day").to_report()
    shorter = plan(until="2025-11-03T00:00:00Z", events=plan().events)
    result = reconcile(shorter, report, tolerance=0)
    assert result.ok
    assert result.not_compared == (0, 0)

    def one_day(data) -> None:
        del data["pages"][0]["data"][1:]

    result = reconcile(plan(), edited(report, one_day))
    assert result.not_compared[1] > 0
    assert "not compared" in result.table()
    assert result.to_dict()["not_compared"]["simulated_charges"] == result.not_compared[1]
