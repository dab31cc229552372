"""The benchmarks' reference implementations compute the library's invoices (not timed).

`benchmarks/run.py` reports every figure as a ratio against a plain Python loop and
pandas; the ratios mean something only if the references bill what the library bills.
Here, on small workloads of each kind (credits on and off), every reference's total, and
final balance, equals the library's to the cent; and the helpers that fit exponents and
stop growing sizes behave.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import measure  # noqa: E402
import reference  # noqa: E402
import run  # noqa: E402
import workloads  # noqa: E402

from together_billing.columnar import usage_batches  # noqa: E402


def cents(value: object) -> object:
    return value.quantize(reference.CENT) if value is not None else None  # type: ignore[attr-defined]


@pytest.mark.parametrize("credits", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_account_month_references_bill_what_the_library_bills(credits: bool, seed: int) -> None:
    month = workloads.AccountMonth(150, seed)
    prices = workloads.catalog(month.MODELS)
    result = run.replay(
        month.resources(credits=credits), month.library_events(credits=credits), prices
    )
    for ref in (
        reference.loop_account(month, credits=credits),
        reference.pandas_account(month, credits=credits),
    ):
        assert ref.total == result.total.amount
        assert cents(ref.balance) == cents(result.balance)
    assert (result.balance is not None) == credits


def test_endpoint_references_bill_what_the_library_bills() -> None:
    raw = workloads.lifecycle(20, 300, random.Random(4))
    result = run.replay(
        workloads.endpoints(20), workloads.lifecycle_events(raw), workloads.catalog(0)
    )
    assert reference.loop_lifecycle(raw, 20).total == result.total.amount
    assert reference.pandas_lifecycle(raw, 20).total == result.total.amount


def test_serverless_references_bill_what_the_library_bills() -> None:
    usage = workloads.Usage(2_000, 7, 3)
    prices = workloads.catalog(7)
    single = run.replay(usage.resources(), usage.single_events(), prices)
    batches = run.replay(usage.resources(), usage_batches(usage.arrow_table()), prices)
    assert batches.total == single.total
    columns = usage.numpy_columns()
    for ref in (
        reference.loop_usage(usage),
        reference.pandas_usage(pd.DataFrame(columns), 7),
        reference.numpy_floor(columns, 7),
    ):
        assert ref.total == single.total.amount


def test_a_mismatch_is_reported() -> None:
    report = run.Report()
    usage = workloads.Usage(50, 2, 3)
    result = run.replay(usage.resources(), usage.single_events(), workloads.catalog(2))
    wrong = reference.Reference(result.total.amount + reference.CENT)
    assert "MISMATCH" in report.same("case", result, wrong)
    assert report.mismatches
    assert "equal" in run.Report().same("case", result, reference.loop_usage(usage))


def test_fit_exponent() -> None:
    sizes = [10, 100, 1_000]
    assert measure.fit_exponent(sizes, [s * 2e-6 for s in sizes]) == pytest.approx(1.0)
    assert measure.fit_exponent(sizes, [s**2 * 1e-9 for s in sizes]) == pytest.approx(2.0)
    assert math.isnan(measure.fit_exponent([10], [1.0]))


def test_growth_stops_at_the_budget() -> None:
    """Sizes predicted to pass the budget are listed, not run."""
    ran: list[int] = []

    def quadratic(size: int) -> float:
        ran.append(size)
        return size * size * 1e-6

    done, skipped = run._grow([10, 100, 1_000, 10_000], quadratic, budget=5.0)
    assert sorted(set(ran)) == [10, 100, 1_000]  # 1,000 predicted at 1 s: within the budget
    assert ran.count(10) == 5  # short runs: the best of 5
    assert ran.count(1_000) == 1  # a run of a second or more: once
    assert [size for size, _ in done] == [10, 100, 1_000]
    assert [size for size, _ in skipped] == [10_000]
    assert skipped[0][1] == pytest.approx(100.0)  # the quadratic fit, not a linear guess


def test_short_runs_keep_their_best() -> None:
    times = iter([0.3, 0.1, 0.2, 0.5, 0.4])
    assert run._best_short(lambda size: next(times), 1) == 0.1  # stops after 1.1 s spent


def test_the_benchmark_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """`benchmarks/run.py --smoke` (tiny sizes, not timed) runs its sections and agrees.

    Start-up (fresh processes) and the Dask clusters are left to real runs; the Dask path
    itself is tested in tests/test_accounts.py.
    """
    status = run.main(["--smoke", "--only", "workloads", "--only", "scaling", "--only", "duration"])
    out = capsys.readouterr().out
    assert status == 0
    for heading in ("### Account-month", "### Scaling", "### Duration", "### Goals of issue 15"):
        assert heading in out
    assert "Every reference total equal to the library's: **yes**" in out
    assert "MISMATCH" not in out


def test_the_parallel_control_runs_plain_processes() -> None:
    """The Dask section's control (one plain process, then two together) measures both."""
    alone, pair = run.plain_processes(1_000, rounds=1)
    assert alone > 0
    assert pair > 0
