"""Benchmarks of together-billing against what a user would write instead.

Run from the repository root, after ``pip install -e '.[dev]'`` (pandas, pyarrow, dask)::

    python benchmarks/run.py                 # full run (7 to 10 minutes here)
    python benchmarks/run.py --quick         # smaller sizes and budgets (about a minute)
    python benchmarks/run.py --only accounts # one section: workloads, scaling, startup,
                                             # duration, accounts
    python benchmarks/run.py --profile       # also profile the account-month with credits

Every figure of the library is end to end, as a user sees it: building the events from
raw columns, the replay, and building the invoices (``result.total``). Every workload is
measured side by side with reference implementations (``benchmarks/reference.py``: a
plain Python loop and pandas computing the same invoice), in interleaved rounds, and
reported as a ratio; the script checks that every reference's total (and final credit
balance) equals the library's to the cent, and exits with status 1 if one does not.

Sections (goals of issue 15):

1. workloads: the account-month (10 resources, ~1,000 mixed events, credits on and off),
   1,000 endpoints with 20,000 lifecycle events, 1,000,000 serverless records as single
   ``TokenUsage`` events and as batches from a columnar table, and usage exports read from
   CSV (pyarrow against the ``csv`` module);
2. scaling: per-event cost against the number of resources, of purchases and of events,
   credits on and off, with the fitted exponent (1.0 is linear). Sizes grow until one run
   would pass the section's time budget; the sizes not run are listed with the predicted
   time;
3. startup: the command line against ``python -c pass``;
4. duration: replay cost of one day against one year, and invoice building per period;
5. accounts: 10,000 generated account-months, serial and on a local Dask cluster with 1
   and 2 workers: throughput per core, speed-up, and the cost of a million account-months.

The output is Markdown; docs/performance.md records a full run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import together_billing as tb
except ImportError:  # not installed: fall back to the source tree
    sys.path.insert(0, str(HERE.parent / "src"))
    import together_billing as tb

import reference
from measure import duration, fit_exponent, interleaved, machine, ratio, table, timed
from workloads import (
    HARDWARE,
    MINUTE,
    MONTH_END,
    MONTH_START,
    NO_IDLE_STOP,
    START_MICROS,
    AccountMonth,
    Usage,
    catalog,
    endpoints,
    lifecycle,
    lifecycle_events,
    usage_id,
)

from together_billing.time import from_micros

MODELS = 50
SECTIONS = ("workloads", "scaling", "startup", "duration", "accounts")
#: Targets of issue 15.
TARGETS = {
    "account": 10.0,  # account-month with credits: within 10x of the plain loop
    "rate": 250_000,  # single TokenUsage records per second, end to end
    "exponent": (0.9, 1.1),  # per-event cost independent of size
    "help": 3.0,  # --help within 3x of python -c pass
    "example": 5.0,  # the bundled example simulated within 5x of python -c pass
    "duration": 1.2,  # year/day replay ratio
    "speedup": 1.7,  # 2 Dask workers over 1
}


class Report:
    """Collects the Markdown of each section, the goal verdicts and the equality checks."""

    def __init__(self) -> None:
        self.goals: list[tuple[str, str, str, str]] = []
        self.mismatches: list[str] = []

    def section(self, text: str) -> None:
        print(text, end="\n\n", flush=True)

    def goal(self, name: str, target: str, measured: str, met: bool | None, note: str = "") -> None:
        verdict = "met" if met else ("not met" if met is not None else "n/a")
        self.goals.append((name, target, measured, verdict + (f": {note}" if note else "")))

    def same(self, label: str, library: tb.SimulationResult | Any, *refs: Any) -> str:
        """Check the references' totals (and balances) against the library's; say so."""
        total = library.total.amount
        balance = getattr(library, "balance", None)
        for ref in refs:
            found = ref.total.amount if isinstance(ref.total, tb.Money) else ref.total
            if found != total:
                self.mismatches.append(f"{label}: total {found} != {total}")
            if (
                balance is not None
                and ref.balance is not None
                and ref.balance.quantize(reference.CENT) != balance.quantize(reference.CENT)
            ):
                self.mismatches.append(f"{label}: balance {ref.balance} != {balance}")
        ok = not any(m.startswith(f"{label}:") for m in self.mismatches)
        shown = f"{total} USD" + (
            f", balance {balance.quantize(reference.CENT)} USD" if balance is not None else ""
        )
        return f"{shown} ({'equal' if ok else 'MISMATCH'})"


def replay(resources: Sequence[Any], events: Sequence[Any], prices: tb.Catalog) -> Any:
    """What a user does: replay, then read the total (which builds the invoices)."""
    result = tb.simulate(resources, events, until=MONTH_END, start=MONTH_START, catalog=prices)
    _ = result.total
    return result


# -- 1. workloads --------------------------------------------------------------------------------


def bench_account_month(report: Report, rounds: int, seed: int, events: int = 1_000) -> None:
    month = AccountMonth(events, seed)
    prices = catalog(month.MODELS)
    rows = []
    for credits in (True, False):
        label = f"account-month, credits {'on' if credits else 'off'}"
        candidates: dict[str, Callable[[], Any]] = {
            "library": lambda c=credits: replay(
                month.resources(credits=c), month.library_events(credits=c), prices
            ),
            "loop": lambda c=credits: reference.loop_account(month, credits=c),
            "pandas": lambda c=credits: reference.pandas_account(month, credits=c),
        }
        candidates["library"]()  # warm up imports and caches
        best, results = interleaved(candidates, rounds)
        checked = report.same(label, results["library"], results["loop"], results["pandas"])
        loop_ratio = best["library"] / best["loop"]
        rows.append(
            [
                f"{label} ({month.events:,} events, 10 resources)",
                duration(best["library"]),
                duration(best["loop"]),
                duration(best["pandas"]),
                f"**{ratio(loop_ratio)}**",
                ratio(best["library"] / best["pandas"]),
                checked,
            ]
        )
        if credits:
            report.goal(
                "1. account-month, credits on",
                f"<= {TARGETS['account']:.0f}x plain loop",
                ratio(loop_ratio),
                loop_ratio <= TARGETS["account"],
                "exact planning of every credit check (floor, thresholds, recharge, run-out "
                "forecast) at every event; see docs/performance.md",
            )
        else:
            report.goal(
                "1b. account-month, credits off (information)",
                "-",
                ratio(loop_ratio),
                None,
            )
    report.section(
        "\n".join(
            [
                f"### Account-month (best of {rounds}, interleaved)",
                "",
                table(
                    [
                        "workload",
                        "library",
                        "plain loop",
                        "pandas",
                        "library / loop",
                        "library / pandas",
                        "total (checked)",
                    ],
                    rows,
                ),
            ]
        )
    )


def bench_endpoints(report: Report, rounds: int, seed: int, count: int, events: int) -> None:
    raw = lifecycle(count, events, random.Random(seed))
    prices = catalog(0)
    resources = endpoints(count)
    candidates: dict[str, Callable[[], Any]] = {
        "library": lambda: replay(resources, lifecycle_events(raw), prices),
        "loop": lambda: reference.loop_lifecycle(raw, count),
        "pandas": lambda: reference.pandas_lifecycle(raw, count),
    }
    best, results = interleaved(candidates, rounds)
    checked = report.same("endpoints", results["library"], results["loop"], results["pandas"])
    report.section(
        "\n".join(
            [
                f"### {count:,} endpoints, {len(raw):,} deploy/start/stop/scale events "
                f"(best of {rounds}, interleaved)",
                "",
                table(
                    ["library", "plain loop", "pandas", "library / loop", "library / pandas"],
                    [
                        [
                            duration(best["library"]),
                            duration(best["loop"]),
                            duration(best["pandas"]),
                            f"**{ratio(best['library'] / best['loop'])}**",
                            ratio(best["library"] / best["pandas"]),
                        ]
                    ],
                ),
                "",
                f"Invoice total: {checked}; {duration(best['library'] / len(raw))} per event.",
            ]
        )
    )


def bench_serverless(report: Report, records: int, seed: int, rounds: int) -> None:
    import pandas as pd

    from together_billing.columnar import usage_batches

    usage = Usage(records, MODELS, seed)
    prices = catalog(MODELS)
    resources = usage.resources()
    columns = usage.numpy_columns()
    arrow = usage.arrow_table()
    frame = pd.DataFrame(columns)
    per_model = [
        (usage_id(m), [], [], []) for m in range(MODELS)
    ]  # lists per model, as a program that kept them apart would have
    for t, m, i, o in zip(usage.at, usage.model, usage.input, usage.output, strict=True):
        per_model[m][1].append(t)
        per_model[m][2].append(i)
        per_model[m][3].append(o)

    def batches_from_lists() -> Any:
        events = [tb.TokenUsageBatch(rid, at, i, o) for rid, at, i, o in per_model if at]
        return replay(resources, events, prices)

    fast: dict[str, Callable[[], Any]] = {
        "loop": lambda: reference.loop_usage(usage),
        "pandas": lambda: reference.pandas_usage(frame, MODELS),
        "pandas_built": lambda: reference.pandas_usage(pd.DataFrame(columns), MODELS),
        "numpy": lambda: reference.numpy_floor(columns, MODELS),
        "table": lambda: replay(resources, usage_batches(arrow), prices),
        "table_build": lambda: usage_batches(arrow),
        "lists": batches_from_lists,
    }
    best, results = interleaved(fast, rounds)
    # Single events: one run each (a million events take a while); the references ran above.
    single_build, built = timed(usage.single_events)
    single_replay, single = timed(lambda: replay(resources, built, prices))
    built.clear()
    single_time = single_build + single_replay
    # The same events through the constructor (each instant built first): building only.
    ctor_build, built = timed(usage.single_events_from_instants)
    built.clear()
    checked = report.same(
        "serverless",
        single,
        results["loop"],
        results["pandas"],
        results["numpy"],
        results["table"],
        results["lists"],
    )
    rate = records / single_time
    table_time = best["table"]
    rows = [
        [
            f"{records:,} `TokenUsage.from_micros` (built from the columns, then replayed)",
            duration(single_time),
            f"{duration(single_build)} + {duration(single_replay)}",
            f"{rate:,.0f}",
            f"**{ratio(single_time / best['loop'])}**",
            f"**{ratio(single_time / best['pandas'])}**",
        ],
        [
            "the same events built with the constructor (`TokenUsage(from_micros(t), ...)`), "
            "same replay",
            duration(ctor_build + single_replay),
            f"{duration(ctor_build)} + {duration(single_replay)}",
            f"{records / (ctor_build + single_replay):,.0f}",
            "",
            "",
        ],
        [
            f"{MODELS} `TokenUsageBatch` via `usage_batches(arrow_table)`",
            duration(table_time),
            "",
            f"{records / table_time:,.0f}",
            f"**{ratio(table_time / best['loop'])}**",
            f"**{ratio(table_time / best['pandas'])}**",
        ],
        [
            "of which `usage_batches(arrow_table)` alone (group, sort, columns to tuples)",
            duration(best["table_build"]),
            "",
            "",
            ratio(best["table_build"] / best["loop"]),
            ratio(best["table_build"] / best["pandas"]),
        ],
        [
            f"{MODELS} `TokenUsageBatch` from per-model lists",
            duration(best["lists"]),
            "",
            f"{records / best['lists']:,.0f}",
            ratio(best["lists"] / best["loop"]),
            ratio(best["lists"] / best["pandas"]),
        ],
        [
            "reference: plain Python dict loop",
            duration(best["loop"]),
            "",
            f"{records / best['loop']:,.0f}",
            "1",
            "",
        ],
        [
            "reference: pandas groupby (DataFrame given)",
            duration(best["pandas"]),
            "",
            f"{records / best['pandas']:,.0f}",
            "",
            "1",
        ],
        [
            "reference: pandas groupby, DataFrame built from the columns",
            duration(best["pandas_built"]),
            "",
            f"{records / best['pandas_built']:,.0f}",
            "",
            ratio(best["pandas_built"] / best["pandas"]),
        ],
        [
            "floor: numpy `bincount` on the columns",
            duration(best["numpy"]),
            "",
            f"{records / best['numpy']:,.0f}",
            ratio(best["numpy"] / best["loop"]),
            ratio(best["numpy"] / best["pandas"]),
        ],
    ]
    report.section(
        "\n".join(
            [
                f"### {records:,} serverless records, {MODELS} models, one month "
                f"(best of {rounds} interleaved; the single events once)",
                "",
                table(
                    [
                        "path (end to end)",
                        "time",
                        "build + replay",
                        "records/s",
                        "vs dict loop",
                        "vs pandas",
                    ],
                    rows,
                ),
                "",
                f"Invoice total: {checked} on every path.",
            ]
        )
    )
    report.goal(
        "3a. single `TokenUsage` records/s, end to end",
        f">= {TARGETS['rate']:,}/s",
        f"{rate:,.0f}/s",
        rate >= TARGETS["rate"],
        ""
        if rate >= TARGETS["rate"]
        else (
            f"{single_build / single_time:.0%} building ({single_build / records * 1e6:.2f} µs "
            f"per event), {single_replay / single_time:.0%} the engine's per-event replay "
            f"({single_replay / records * 1e6:.2f} µs); the target allows "
            f"{1e6 / TARGETS['rate']:.1f} µs for both"
        ),
    )
    report.goal(
        "3b. batch path from a columnar table vs pandas groupby",
        "<= 1x pandas",
        ratio(table_time / best["pandas"]),
        table_time <= best["pandas"],
        ""
        if table_time <= best["pandas"]
        else (
            f"building the batches {duration(best['table_build'])} (columns become tuples of "
            f"Python ints, the engine's storage), the engine's record-by-record batch replay "
            f"{duration(table_time - best['table_build'])}"
        ),
    )


def bench_csv(report: Report, records: int, seed: int, rounds: int) -> None:
    """Usage exports from CSV: pyarrow (the arrow extra) against Python's csv module."""
    import csv

    import pandas as pd

    from together_billing.columnar import read_usage, usage_batches

    usage = Usage(records, MODELS, seed)
    prices = catalog(MODELS)
    resources = usage.resources()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "usage.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["resource", "at", "input_tokens", "output_tokens"])
            for t, m, i, o in zip(usage.at, usage.model, usage.input, usage.output, strict=True):
                stamp = from_micros(t).isoformat().replace("+00:00", "Z")
                writer.writerow([usage_id(m), stamp, i, o])

        def with_csv_module() -> Any:
            groups: dict[str, tuple[list[Any], list[int], list[int]]] = {}
            with path.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    found = groups.setdefault(row["resource"], ([], [], []))
                    found[0].append(row["at"])
                    found[1].append(int(row["input_tokens"]))
                    found[2].append(int(row["output_tokens"]))
            events = [tb.TokenUsageBatch(rid, *columns) for rid, columns in sorted(groups.items())]
            return replay(resources, events, prices)

        def with_pandas() -> Any:
            frame = pd.read_csv(path, usecols=["resource", "input_tokens", "output_tokens"])
            sums = frame.groupby("resource")[["input_tokens", "output_tokens"]].sum()
            tokens = [
                (
                    int(sums.at[usage_id(m), "input_tokens"]),
                    int(sums.at[usage_id(m), "output_tokens"]),
                )
                if usage_id(m) in sums.index
                else (0, 0)
                for m in range(MODELS)
            ]
            return reference.Reference(reference._lines_total([], tokens))

        candidates: dict[str, Callable[[], Any]] = {
            "arrow": lambda: replay(resources, read_usage(path), prices),
            "csv": with_csv_module,
            "pandas": with_pandas,
        }
        best, results = interleaved(candidates, rounds)
        checked = report.same("csv", results["arrow"], results["csv"], results["pandas"])
        del usage_batches
    report.section(
        "\n".join(
            [
                f"### Usage export: {records:,} records read from CSV (best of {rounds})",
                "",
                table(
                    ["path (read + batches + replay)", "time", "records/s", "vs arrow"],
                    [
                        [
                            "`read_usage(path)` (pyarrow, the `arrow` extra)",
                            duration(best["arrow"]),
                            f"{records / best['arrow']:,.0f}",
                            "1",
                        ],
                        [
                            "Python `csv` module into `TokenUsageBatch` lists",
                            duration(best["csv"]),
                            f"{records / best['csv']:,.0f}",
                            ratio(best["csv"] / best["arrow"]),
                        ],
                        [
                            "reference: `pandas.read_csv` + groupby (totals only)",
                            duration(best["pandas"]),
                            f"{records / best['pandas']:,.0f}",
                            ratio(best["pandas"] / best["arrow"]),
                        ],
                    ],
                ),
                "",
                f"Invoice total: {checked}.",
            ]
        )
    )
    report.goal(
        "3c. columnar way in: pyarrow CSV reader vs Python csv",
        "wins",
        f"{ratio(best['csv'] / best['arrow'])} faster",
        best["arrow"] < best["csv"],
    )


# -- 2. scaling ------------------------------------------------------------------------------------


def _grow(
    sizes: Sequence[int], run: Callable[[int], float], budget: float, within: float = 1.0
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Time ``run(size)`` for growing sizes; stop when the next would pass ``budget``.

    Returns the measured (size, seconds) and the skipped (size, predicted seconds),
    predicted from the exponent fitted so far.
    """
    done: list[tuple[int, float]] = []
    skipped: list[tuple[int, float]] = []
    for size in sizes:
        if len(done) >= 2:
            slope = fit_exponent([s for s, _ in done[-2:]], [t for _, t in done[-2:]])
            last_size, last_time = done[-1]
            predicted = last_time * (size / last_size) ** max(slope, 1.0)
            if skipped or predicted > budget:
                skipped.append((size, predicted))
                continue
        done.append((size, _best_short(run, size, within=within)))
    return done, skipped


def _best_short(run: Callable[[int], float], size: int, *, within: float = 1.0) -> float:
    """The best of up to 5 runs while they take less than ``within`` seconds in all.

    A short run is at the mercy of one garbage collection or one busy moment of the
    machine; a long one is measured once.
    """
    best = run(size)
    spent = best
    for _ in range(4):
        if spent >= within:
            break
        seconds = run(size)
        spent += seconds
        best = min(best, seconds)
    return best


#: The exponent is fitted on sizes with at least this many events: below, the fixed cost
#: of a replay (about 0.2 ms: set-up, invoices) hides the per-event cost.
FIT_FROM = 100


def _scaling_rows(
    label: str, done: list[tuple[int, float]], skipped: list[tuple[int, float]], events: Any
) -> tuple[list[list[str]], float]:
    fitted = [(events(s), t) for s, t in done if events(s) >= FIT_FROM]
    exponent = fit_exponent([n for n, _ in fitted], [t for _, t in fitted])
    rows = [
        [
            label,
            f"{size:,}",
            f"{events(size):,}",
            duration(seconds),
            duration(seconds / events(size)),
        ]
        for size, seconds in done
    ]
    rows += [
        [label, f"{size:,}", f"{events(size):,}", f"not run (predicted {duration(seconds)})", ""]
        for size, seconds in skipped
    ]
    return rows, exponent


def bench_scaling(report: Report, mode: dict[str, Any], budget: float) -> None:
    prices = catalog(4)
    rows: list[list[str]] = []
    fits: list[list[str]] = []

    # (a) resources: N endpoints, each deployed and cycled (4 lifecycle events each).
    def resources_run(count: int, *, credits: bool) -> float:
        raw = lifecycle(count, 4 * count, random.Random(count))
        extra = [tb.Account(opening_balance=10**9)] if credits else []
        seconds, _ = timed(lambda: replay(endpoints(count) + extra, lifecycle_events(raw), prices))
        return seconds

    resource_sizes = mode["resource_sizes"]

    # (b) purchases: one endpoint running all month, P purchases and P token records.
    def purchases_run(count: int) -> float:
        rng = random.Random(count)
        stamps = sorted(START_MICROS + rng.randrange(30 * 24 * 60) * MINUTE for _ in range(count))
        usage = Usage(count, 4, count)

        def build() -> Any:
            events: list[Any] = [tb.Deploy(from_micros(START_MICROS), "ep-00000")]
            events += [tb.Purchase(from_micros(at), "account", Decimal(5)) for at in stamps]
            events += usage.single_events()
            resources = [*endpoints(1), *usage.resources(), tb.Account(opening_balance=10**6)]
            return replay(resources, events, prices)

        seconds, _ = timed(build)
        return seconds

    purchase_sizes = mode["purchase_sizes"]

    # (c) events: N token records on 4 models (and one running endpoint), credits on/off.
    def events_run(count: int, *, credits: bool) -> float:
        data = Usage(count, 4, count)
        extra = [tb.Account(opening_balance=10**9)] if credits else []

        def build() -> Any:
            events = [tb.Deploy(from_micros(START_MICROS), "ep-00000"), *data.single_events()]
            return replay([*endpoints(1), *data.resources(), *extra], events, prices)

        seconds, _ = timed(build)
        return seconds

    event_sizes = mode["event_sizes"]

    cases: list[tuple[str, Sequence[int], Callable[[int], float], Callable[[int], int]]] = [
        (
            "resources, credits off",
            resource_sizes,
            lambda n: resources_run(n, credits=False),
            lambda n: 4 * n,
        ),
        (
            "resources, credits on",
            resource_sizes,
            lambda n: resources_run(n, credits=True),
            lambda n: 4 * n,
        ),
        ("purchases, credits on", purchase_sizes, purchases_run, lambda n: 2 * n + 1),
        (
            "events, credits off",
            event_sizes,
            lambda n: events_run(n, credits=False),
            lambda n: n + 1,
        ),
        ("events, credits on", event_sizes, lambda n: events_run(n, credits=True), lambda n: n + 1),
    ]
    for label, sizes, run, events in cases:
        run(sizes[0])  # warm up
        done, skipped = _grow(sizes, run, budget, mode["short_within"])
        found, exponent = _scaling_rows(label, done, skipped, events)
        rows += found
        low, high = TARGETS["exponent"]
        within = low <= exponent <= high
        met = within and not skipped
        verdict = "met" if met else "not met"
        if within and skipped:
            verdict = f"within the target up to {done[-1][0]:,}; not measured beyond"
        fitted = [size for size, _ in done if events(size) >= FIT_FROM]
        span = f"{fitted[0]:,} to {fitted[-1]:,}" if fitted else "-"
        fits.append([label, span, f"**{exponent:.2f}**", verdict])
        note = ""
        if "credits on" in label and (skipped or not within):
            note = (
                "see the scaling table: the largest sizes also pay the garbage collector's "
                "walks of a larger live heap"
            )
            if within:
                note = (
                    f"{skipped[0][0]:,} not run: predicted {duration(skipped[0][1])} "
                    f"(budget); {note}"
                )
        elif not within:
            note = "see the scaling table"
        report.goal(
            f"2. per-event cost vs {label}",
            "exponent 1.0 +- 0.1 over the whole range",
            f"{exponent:.2f}" + (f" (measured to {done[-1][0]:,})" if skipped else ""),
            met,
            note,
        )
    report.section(
        "\n".join(
            [
                "### Scaling: time against the size of the account (short runs: best of up to 5)",
                "",
                "Resources: N endpoints with 4 lifecycle events each, interleaved over a month. "
                "Purchases: one endpoint running the month, P purchases and P token records. "
                "Events: N token records on 4 models and one running endpoint. "
                f"A size is not run when the fit so far predicts more than {budget:.0f} s.",
                "",
                table(["case", "size", "events", "time (end to end)", "per event"], rows),
                "",
                "Fitted exponent of time against the number of events (1.0: the per-event "
                f"cost does not depend on the size), on the sizes with {FIT_FROM} events or "
                "more (below, the fixed cost of a replay dominates); short runs are the best "
                "of up to 5:",
                "",
                table(["case", "sizes fitted", "exponent", "target 1.0 +- 0.1"], fits),
            ]
        )
    )


# -- 3. startup ------------------------------------------------------------------------------------


#: What ``simulate`` cannot avoid importing today: the libraries the scenario loader and
#: the engine are built on. Their import alone is the floor of the start-up of ``simulate``.
STARTUP_FLOOR = "import pydantic, pendulum, attrs, yaml"


def bench_startup(report: Report, rounds: int) -> None:
    """The command line as a user starts it: the installed script, bytecode cached."""
    import cli_startup

    python = sys.executable
    example = HERE.parent / "examples" / "idle-deployments.yaml"
    script = cli_startup.command()
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import together_billing'": [python, "-c", "import together_billing"],
        f"python -c '{STARTUP_FLOOR}'": [python, "-c", STARTUP_FLOOR],
        "together-billing --help": [*script, "--help"],
        f"together-billing simulate examples/{example.name}": [*script, "simulate", str(example)],
    }

    def launcher(command: list[str]) -> Callable[[], Any]:
        return lambda: subprocess.run(
            command, capture_output=True, check=False, env=cli_startup.ENVIRONMENT
        )

    runs = {k: launcher(v) for k, v in commands.items()}
    for run in runs.values():  # the warm-up round writes the bytecode, as an install does
        run()
    best, _ = interleaved(runs, rounds)
    base = best["python -c pass"]
    rows = [
        [f"`{name}`", duration(seconds), ratio(seconds / base)] for name, seconds in best.items()
    ]
    report.section(
        "\n".join(
            [
                f"### Command-line start-up (best of {rounds}, interleaved; one process each, "
                "bytecode cached as after an install)",
                "",
                table(["command", "wall time", "vs python -c pass"], rows),
                "",
                f"`{STARTUP_FLOOR}` is what `simulate` cannot avoid today: the libraries "
                "the scenario loader and the engine are built on.",
            ]
        )
    )
    help_ratio = best["together-billing --help"] / base
    example_ratio = best[f"together-billing simulate examples/{example.name}"] / base
    floor_ratio = best[next(name for name in best if STARTUP_FLOOR in name)] / base
    report.goal(
        "4a. `together-billing --help`",
        f"<= {TARGETS['help']:.0f}x python -c pass",
        ratio(help_ratio),
        help_ratio <= TARGETS["help"],
        "" if help_ratio <= TARGETS["help"] else "cli.py imports (issue 13/14/16 work on cli.py)",
    )
    report.goal(
        "4b. bundled example simulated",
        f"<= {TARGETS['example']:.0f}x python -c pass",
        ratio(example_ratio),
        example_ratio <= TARGETS["example"],
        ""
        if example_ratio <= TARGETS["example"]
        else (
            f"importing pydantic, pendulum, attrs and PyYAML alone is {ratio(floor_ratio)}; "
            "the rest is the library's modules (pydantic models and attrs classes built at "
            "import)"
        ),
    )


# -- 4. duration ------------------------------------------------------------------------------------


def bench_duration(report: Report, rounds: int) -> None:
    prices = catalog(0)
    endpoint = tb.DedicatedEndpoint(
        "ep-idle", model="idle-model", hardware=HARDWARE, inactive_timeout_minutes=NO_IDLE_STOP
    )
    start = dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC)
    spans = {"1 day": 1, "1 year": 365, "10 years": 3_652, "100 years": 36_525}

    def replay_only(days: int) -> Any:
        return tb.simulate(
            [endpoint],
            [tb.Deploy(start, "ep-idle")],
            until=start + dt.timedelta(days=days),
            catalog=prices,
        )

    def invoices_of(days: int) -> Callable[[], Any]:
        # Invoices are built once per result (then cached): one fresh result per round.
        fresh = [replay_only(days) for _ in range(rounds)]
        return lambda: fresh.pop().invoices

    replays = {name: (lambda d=days: replay_only(d)) for name, days in spans.items()}
    invoices = {f"{name} invoices": invoices_of(days) for name, days in spans.items()}
    best, results = interleaved({**replays, **invoices}, rounds)
    rows = []
    sizes, times = [], []
    for name in spans:
        count = len(results[f"{name} invoices"])
        built = best[f"{name} invoices"]
        if name != "1 day":  # one invoice: the fixed cost of building, not a period's
            sizes.append(count)
            times.append(built)
        rows.append(
            [
                name,
                duration(best[name]),
                ratio(best[name] / best["1 day"]),
                count,
                duration(built),
                duration(built / count),
                str(results[name].total),
            ]
        )
    exponent = fit_exponent(sizes, times)
    year_ratio = best["1 year"] / best["1 day"]
    report.section(
        "\n".join(
            [
                f"### Duration: one idle endpoint, replayed over 1 day to 100 years "
                f"(best of {rounds}, interleaved)",
                "",
                table(
                    [
                        "span",
                        "replay",
                        "vs 1 day",
                        "invoices",
                        "building them",
                        "per invoice",
                        "total",
                    ],
                    rows,
                ),
                "",
                f"Invoice building against the number of periods (1 to 100 years): fitted "
                f"exponent **{exponent:.2f}** (1.0: proportional).",
            ]
        )
    )
    report.goal(
        "5a. replay cost independent of duration",
        f"year/day <= {TARGETS['duration']}",
        f"{year_ratio:.2f}",
        year_ratio <= TARGETS["duration"],
    )
    report.goal(
        "5b. invoice building proportional to periods",
        "exponent 1.0 +- 0.1",
        f"{exponent:.2f}",
        0.9 <= exponent <= 1.1,
    )


# -- 5. accounts --------------------------------------------------------------------------------------


def plain_processes(busy: int, rounds: int = 3) -> tuple[float, float]:
    """The machine's parallel ceiling without Dask: one plain Python process alone, then two.

    Returns the best wall time of one process doing ``busy`` loop steps of pure Python
    work, and of two such processes started together (both finished). On a machine that
    gives two processes twice the CPU of one, the two take as long as the one.
    """
    # The loop of accounts_workload.busy, without importing anything.
    argv = [sys.executable, "-S", "-c", f"t = 0\nfor v in range({busy}):\n    t += v * v"]

    def alone() -> None:
        subprocess.run(argv, check=True)

    def pair() -> None:
        running = [subprocess.Popen(argv) for _ in range(2)]
        for process in running:
            if process.wait() != 0:
                raise RuntimeError("the control process failed")

    best, _ = interleaved({"alone": alone, "pair": pair}, rounds)
    return best["alone"], best["pair"]


def _arrivals(client: Any, prefix: str) -> dict[str, int]:
    """How many times each worker received (computed or fetched) the keys ``prefix*``."""

    def count(dask_worker: Any) -> int:
        return sum(
            1
            for entry in dask_worker.state.log
            if str(entry[0]).startswith(prefix) and entry[1] == "put-in-memory"
        )

    found: dict[str, int] = client.run(count)
    return found


def bench_accounts(
    report: Report, count: int, core_hour_usd: Decimal, busy: int = 3_000_000
) -> None:
    import accounts_workload
    import cloudpickle
    import dask.bag
    from distributed import Client, LocalCluster

    # The workers do not have benchmarks/ on their path: ship the generator by value.
    cloudpickle.register_pickle_by_value(accounts_workload)

    from together_billing.accounts import replay_accounts, replay_accounts_dask, summaries_bag

    prices = tb.default_catalog()
    seeds = list(range(count))
    serial_time, serial = timed(
        lambda: replay_accounts(seeds, build=accounts_workload.account_month, catalog=prices)
    )
    rows = [
        [
            "serial (this process)",
            1,
            duration(serial_time),
            f"{count / serial_time:,.0f}",
            "1.00x",
            "",
        ]
    ]
    timings: dict[int, float] = {}
    ceilings: dict[int, float] = {}
    # The one graph key that holds the catalog and the policies (the same for every run).
    bag = summaries_bag(seeds[:1], build=accounts_workload.account_month, catalog=prices)
    (shared,) = (str(k) for k in bag.__dask_graph__() if str(k).startswith("tuple-"))
    arrivals: dict[int, list[int]] = {}
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            began = time.perf_counter()
            client.wait_for_workers(workers)
            ready = time.perf_counter() - began
            # Warm the workers (imports) with a small run, then time the full one.
            replay_accounts_dask(
                seeds[: 4 * workers],
                build=accounts_workload.account_month,
                catalog=prices,
                partitions=workers,
            )
            before = _arrivals(client, shared)
            seconds, found = timed(
                lambda w=workers: replay_accounts_dask(
                    seeds,
                    build=accounts_workload.account_month,
                    catalog=prices,
                    partitions=8 * w,
                )
            )
            after = _arrivals(client, shared)
            arrivals[workers] = [after[w] - before.get(w, 0) for w in sorted(after)]
            # The machine's own ceiling at this moment: the same pure-CPU work on the workers.
            work = dask.bag.from_sequence([busy] * 4, npartitions=4).map(accounts_workload.busy)
            work.compute()
            ceilings[workers], _ = timed(work.compute)
            if found != serial:
                report.mismatches.append(f"accounts: Dask with {workers} workers != serial")
            timings[workers] = seconds
            rows.append(
                [
                    f"Dask `LocalCluster`, {workers} worker process(es), 1 thread each",
                    workers,
                    duration(seconds),
                    f"{count / seconds:,.0f}",
                    ratio(serial_time / seconds),
                    f"cluster ready in {duration(ready)}",
                ]
            )
    speedup = timings[1] / timings[2]
    ceiling = ceilings[1] / ceilings[2]
    alone, pair = plain_processes(busy * 2)
    plain = 2 * alone / pair
    shipped = ", ".join(
        f"{workers} worker(s): {' and '.join(map(str, counts))}"
        for workers, counts in arrivals.items()
    )
    per_core = count / serial_time
    core_hours = Decimal(1_000_000) / Decimal(per_core) / 3600
    cost = core_hours * core_hour_usd
    report.section(
        "\n".join(
            [
                f"### Many accounts on Dask: {count:,} generated account-months "
                f"(total {serial.total}; one run each)",
                "",
                "The account-months of docs/accounts.md (a serverless model used daily, one in "
                "four also running a dedicated endpoint, one in three with credits), built on "
                "the workers from their seeds.",
                "",
                table(["run", "cores", "time", "accounts/s", "vs serial", "note"], rows),
                "",
                f"Speed-up from 1 to 2 workers: **{speedup:.2f}x**; the same two clusters ran "
                f"a pure-CPU loop {ceiling:.2f}x faster with 2 workers than with 1 (the most "
                "this machine gave two processes at that time; 2.00x on an idle machine). "
                f"Control without Dask: one plain Python process alone took {duration(alone)}, "
                f"two started together {duration(pair)}, so two processes did "
                f"**{plain:.2f}x** the work of one in the same time (2.00x where two cores are "
                "really free). "
                f"Catalog and policies (one graph key) arrived on each worker once per "
                f"computation of {count:,} accounts ({shipped}), not once per partition or "
                "account. "
                "Throughput per core "
                f"(serial): **{per_core:,.0f} account-months/s**, so a million account-months "
                f"take about **{core_hours:.2f} core-hours**: about "
                f"**{cost.quantize(Decimal('0.01'))} USD** at {core_hour_usd} USD per "
                "core-hour (on-demand cloud vCPU price; pass `--core-hour-usd`), plus the "
                "cluster's start-up. Identical portfolios serial and on Dask: "
                f"**{'yes' if not any(m.startswith('accounts') for m in report.mismatches) else 'NO'}**.",
            ]
        )
    )
    report.goal(
        "6. speed-up from 1 to 2 Dask workers",
        f">= {TARGETS['speedup']}x",
        f"{speedup:.2f}x",
        speedup >= TARGETS["speedup"],
        ""
        if speedup >= TARGETS["speedup"]
        else (
            f"the machine gave {ceiling:.2f}x to pure CPU work on the same Dask workers and "
            f"{plain:.2f}x to two plain Python processes (shared 2 cores)"
        ),
    )


# -- profile ------------------------------------------------------------------------------------------


def profile_account(seed: int) -> str:
    """Where the account-month with credits spends its time (cProfile, one replay)."""
    month = AccountMonth(1_000, seed)
    prices = catalog(month.MODELS)
    resources = month.resources(credits=True)
    events = month.library_events(credits=True)
    profiler = cProfile.Profile()
    profiler.enable()
    replay(resources, events, prices)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(15)
    return "\n".join(
        [
            "### Profile: the account-month with credits (cProfile, self time, top 15)",
            "",
            "```text",
            out.getvalue().strip(),
            "```",
        ]
    )


# -- main ------------------------------------------------------------------------------------------------


#: Sizes, rounds and budgets of each kind of run. ``smoke`` only checks that every section
#: runs and every reference agrees (tests/test_benchmarks.py); its times mean nothing.
MODES: dict[str, dict[str, Any]] = {
    "full": {
        "rounds": 7,
        "endpoints": (1_000, 20_000, 3),
        "records": 1_000_000,
        "record_rounds": 3,
        "csv": 200_000,
        "resource_sizes": (1, 10, 100, 1_000, 10_000),
        "purchase_sizes": (1, 10, 100, 1_000, 10_000),
        "event_sizes": (1_000, 10_000, 100_000, 1_000_000),
        "budget": 60.0,
        "startup_rounds": 10,
        "duration_rounds": 50,
        "accounts": 10_000,
        "short_within": 1.0,
        "account_events": 1_000,
        "busy": 3_000_000,
    },
    "quick": {
        "rounds": 3,
        "endpoints": (100, 2_000, 2),
        "records": 50_000,
        "record_rounds": 2,
        "csv": 20_000,
        "resource_sizes": (1, 10, 100, 1_000),
        "purchase_sizes": (1, 10, 100, 1_000),
        "event_sizes": (1_000, 10_000, 100_000),
        "budget": 3.0,
        "startup_rounds": 3,
        "duration_rounds": 10,
        "accounts": 500,
        "short_within": 1.0,
        "account_events": 1_000,
        "busy": 3_000_000,
    },
    "smoke": {
        "rounds": 1,
        "endpoints": (5, 40, 1),
        "records": 500,
        "record_rounds": 1,
        "csv": 200,
        "resource_sizes": (1, 30),
        "purchase_sizes": (1, 60),
        "event_sizes": (100, 300),
        "budget": 1.0,
        "startup_rounds": 1,
        "duration_rounds": 1,
        "accounts": 16,
        "short_within": 0.0,
        "account_events": 150,
        "busy": 10_000,
    },
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and budgets")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks that everything runs (tests)"
    )
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run these sections")
    parser.add_argument("--seed", type=int, default=20251101)
    parser.add_argument("--records", type=int, help="serverless records (default 1,000,000)")
    parser.add_argument("--accounts", type=int, help="account-months on Dask (default 10,000)")
    parser.add_argument(
        "--budget", type=float, help="seconds one scaling run may take (default 60; quick 3)"
    )
    parser.add_argument("--core-hour-usd", type=Decimal, default=Decimal("0.045"))
    parser.add_argument("--profile", action="store_true", help="profile the account-month")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    mode = MODES[name]
    sections = args.only or list(SECTIONS)
    report = Report()
    began = time.perf_counter()
    print(f"## together-billing benchmarks ({name} run)\n")
    print(f"Machine: {machine(tb.__version__)}\n", flush=True)
    if "workloads" in sections:
        bench_account_month(report, mode["rounds"], args.seed, mode["account_events"])
        if args.profile:
            report.section(profile_account(args.seed))
        count, events, rounds = mode["endpoints"]
        bench_endpoints(report, rounds, args.seed, count, events)
        records = args.records or mode["records"]
        bench_serverless(report, records, args.seed, mode["record_rounds"])
        bench_csv(report, mode["csv"], args.seed, mode["record_rounds"])
    if "scaling" in sections:
        bench_scaling(report, mode, args.budget or mode["budget"])
    if "startup" in sections:
        bench_startup(report, mode["startup_rounds"])
    if "duration" in sections:
        bench_duration(report, mode["duration_rounds"])
    if "accounts" in sections:
        accounts = args.accounts or mode["accounts"]
        bench_accounts(report, accounts, args.core_hour_usd, mode["busy"])
    report.section(
        "\n".join(
            [
                "### Goals of issue 15",
                "",
                table(["goal", "target", "measured", "verdict"], report.goals),
                "",
                f"Every reference total equal to the library's: "
                f"**{'yes' if not report.mismatches else 'NO: ' + '; '.join(report.mismatches)}**. "
                f"Run time {duration(time.perf_counter() - began)}; load average at the end "
                f"{os.getloadavg()[0]:.2f}.",
            ]
        )
    )
    return 1 if report.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
