"""Benchmarks of the together-billing replay engine.

Run from the repository root, after ``pip install -e .``::

    python benchmarks/run.py           # full run (about 4-5 minutes)
    python benchmarks/run.py --quick   # smaller run (about 30 seconds)

It measures:

(a) one idle dedicated endpoint (idle auto-stop disabled) replayed over one day
    and over one year: best-of-N wall time of ``simulate`` and the ratio
    year/day (target <= 1.2). When the ratio is above the target (or with
    ``--profile``) the per-period cost is attributed with cProfile;
(b) serverless usage records over 50 models in one month, as single
    ``TokenUsage`` events and as one ``TokenUsageBatch`` per model: event
    construction and replay timed separately, records per second for each path
    (target >= 250,000/s on one core), and a check that both paths produce the
    same invoices;
(c) scaling: an endpoint with N deploy/stop/start events, time per event.

Results are printed as Markdown tables. Timings use ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import random
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

try:
    import together_billing as tb
except ImportError:  # not installed: fall back to the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import together_billing as tb

from together_billing.time import (
    BillingPeriod,
    Interval,
    from_micros,
    instant,
    to_micros,
)

HARDWARE = "1x_nvidia_h100_80gb_sxm"
EFFECTIVE = "2020-01-01T00:00:00Z"
IDLE_START = "2025-01-15T09:00:00Z"
MONTH_START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
MONTH_END = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MODELS = 50
RATIO_TARGET = 1.2
RATE_TARGET = 250_000


# -- helpers ----------------------------------------------------------------------------------


def best_of(repetitions: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """The best wall time of ``repetitions`` calls of ``action``, and its last result."""
    best = float("inf")
    result = None
    for _ in range(repetitions):
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best, result


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def micros_text(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def seconds_text(seconds: float) -> str:
    return f"{seconds:,.3f} s" if seconds >= 0.1 else f"{seconds * 1e3:,.2f} ms"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f"{cpu_name()}, {os.cpu_count()} cores; {platform.python_implementation()} "
        f"{platform.python_version()}; {platform.system()} {platform.release()}; "
        f"together-billing {tb.__version__}"
    )


def catalog() -> tb.Catalog:
    entries: list[tb.PriceEntry] = [tb.HardwarePrice(HARDWARE, "3.99", EFFECTIVE)]
    for index in range(MODELS):
        cents = Decimal(10 + index)
        entries.append(
            tb.ServerlessPrice(f"model-{index:02d}", cents / 100, cents * 4 / 100, EFFECTIVE)
        )
    return tb.Catalog(entries)


# -- (a) idle endpoint: one day vs one year ------------------------------------------------------


class IdleCase:
    """One idle endpoint deployed at ``IDLE_START`` and replayed to ``until``."""

    def __init__(self, prices: tb.Catalog, days: int) -> None:
        start = instant(IDLE_START)
        self.catalog = prices
        self.endpoint = tb.DedicatedEndpoint("ep-idle", model="idle-model", hardware=HARDWARE)
        self.events = [tb.Deploy(start, "ep-idle")]
        self.until = start + dt.timedelta(days=days)

    def replay(self) -> tb.SimulationResult:
        return tb.simulate([self.endpoint], self.events, until=self.until, catalog=self.catalog)

    def replay_and_invoice(self) -> tb.SimulationResult:
        """The replay, then its invoices built (one per period: output, not replay, work)."""
        result = self.replay()
        _ = result.invoices
        return result


def bench_idle(
    catalogs: Sequence[tuple[str, tb.Catalog]], repetitions: int
) -> list[dict[str, Any]]:
    """Best-of-``repetitions`` replays of one day and one year, for each catalog."""
    found = []
    for label, prices in catalogs:
        day, year = IdleCase(prices, 1), IdleCase(prices, 365)
        day.replay_and_invoice()
        year.replay_and_invoice()  # warm caches (catalog history, imports)
        for suffix, day_action, year_action in (
            ("replay", day.replay, year.replay),
            ("replay + invoices", day.replay_and_invoice, year.replay_and_invoice),
        ):
            day_time, day_result = best_of(repetitions, day_action)
            year_time, year_result = best_of(repetitions, year_action)
            found.append(
                {
                    "catalog": f"{label}: {suffix}",
                    "day": (day_time, day_result),
                    "year": (year_time, year_result),
                    "ratio": year_time / day_time,
                    "repetitions": repetitions,
                    "cases": (day, year),
                }
            )
    return found


def report_idle(found: list[dict[str, Any]]) -> str:
    rows = []
    for item in found:
        day_time, day_result = item["day"]
        year_time, year_result = item["year"]
        extra = len(year_result.invoices) - len(day_result.invoices)
        ratio = item["ratio"]
        rows.append(
            [
                item["catalog"],
                micros_text(day_time),
                micros_text(year_time),
                f"{len(day_result.invoices)} / {len(year_result.invoices)}",
                f"{day_result.total} / {year_result.total}",
                f"**{ratio:.2f}**",
                "met" if ratio <= RATIO_TARGET else "NOT met",
                micros_text((year_time - day_time) / max(extra, 1)),
            ]
        )
    headers = [
        "catalog",
        "1 day",
        "1 year",
        "invoices (day / year)",
        "total (day / year)",
        "year/day",
        f"target <= {RATIO_TARGET}",
        "cost per extra period",
    ]
    return "\n".join(
        [
            (f"### (a) Idle endpoint, one day vs one year (best of {found[0]['repetitions']})"),
            "",
            table(headers, rows),
        ]
    )


def _profile(case: IdleCase, repetitions: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repetitions):
        case.replay()
    profiler.disable()
    return pstats.Stats(profiler)


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    if "together_billing" in parts:
        return f"together_billing/{parts[-1]}:{line} {name}"
    if "pendulum" in parts:
        return f"pendulum/{parts[-1]} {name}"
    return f"{parts[-1]} {name}"


_Row = tuple[float, float, str]


def _profile_rows(
    after: dict[Any, Any], before: dict[Any, Any], repetitions: int
) -> tuple[list[_Row], list[_Row]]:
    """Per-replay (time, calls, name) of each function, ``after`` minus ``before``.

    Returns the cumulative times of together_billing functions (and of the
    deepcopy and pendulum subtraction they call), and the self times of all.
    """
    cumulative: list[_Row] = []
    own: list[_Row] = []
    for key in set(after) | set(before):
        new, old = after.get(key), before.get(key)

        def delta(column: int, new: Any = new, old: Any = old) -> float:
            return ((new[column] if new else 0) - (old[column] if old else 0)) / repetitions

        name = _label(key)
        calls = delta(1)
        interesting = "together_billing" in name or name.startswith(
            ("copy.py deepcopy", "pendulum/datetime.py __sub__")
        )
        if interesting and delta(3) > 0:
            cumulative.append((delta(3), calls, name))
        if delta(2) > 0:
            own.append((delta(2), calls, name))
    cumulative.sort(reverse=True)
    own.sort(reverse=True)
    return cumulative, own


def _rows(items: list[_Row], count: int, per: float, total: float) -> list[list[str]]:
    """Table rows, leaving out the entry points that take (nearly) all the time."""
    return [
        [
            f"`{name}`",
            f"{calls / per:,.1f}",
            micros_text(seconds / per),
            f"{seconds / total * 100:.1f}%",
        ]
        for seconds, calls, name in [item for item in items if item[0] < 0.99 * total][:count]
    ]


def profile_idle(found: dict[str, Any], repetitions: int) -> str:
    """Attribute the extra cost of the year replay to functions, per extra period."""
    day, year = found["cases"]
    extra = len(found["year"][1].invoices) - len(found["day"][1].invoices)
    day_stats, year_stats = _profile(day, repetitions), _profile(year, repetitions)
    total = (year_stats.total_tt - day_stats.total_tt) / repetitions  # type: ignore[attr-defined]
    cumulative, own = _profile_rows(
        year_stats.stats,  # type: ignore[attr-defined]
        day_stats.stats,  # type: ignore[attr-defined]
        repetitions,
    )
    headers = ["function", "extra calls / period", "time / period (profiled)", "share"]
    return "\n".join(
        [
            "#### Where the per-period cost goes (cProfile, year minus day, 1 hardware price)",
            "",
            (
                f"{repetitions} replays of each, profiled; the year has {extra} more "
                f"billing periods than the day. Profiled extra time per replay: "
                f"{micros_text(total)}, i.e. {micros_text(total / extra)} per period "
                "(cProfile inflates it). Share = part of that extra time."
            ),
            "",
            "Cumulative time (nested, so shares overlap):",
            "",
            table(headers, _rows(cumulative, 14, extra, total)),
            "",
            "Self time (leaf functions):",
            "",
            table(headers, _rows(own, 8, extra, total)),
            "",
            "Cost of the time primitives involved (timeit, not profiled):",
            "",
            table(["call", "time per call"], primitive_costs()),
        ]
    )


def primitive_costs() -> list[list[str]]:
    pendulum_at = instant("2025-03-01T00:00:00Z")
    stdlib_at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    period = BillingPeriod(2025, 3)
    micros = to_micros(stdlib_at)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("`to_micros(pendulum.DateTime)`", lambda: to_micros(pendulum_at)),
        ("`to_micros(datetime.datetime)`", lambda: to_micros(stdlib_at)),
        ("`from_micros(int)`", lambda: from_micros(micros)),
        ("`BillingPeriod.of_micros(int)`", lambda: BillingPeriod.of_micros(micros)),
        ("`BillingPeriod.start_micros`", lambda: period.start_micros),
        ("`BillingPeriod.end_micros`", lambda: period.end_micros),
        (
            "`Interval.from_micros(int, int)`",
            lambda: Interval.from_micros(micros, micros + 1),
        ),
    ]
    rows = []
    for label, call in calls:
        number = 5_000
        best = min(timeit.repeat(call, number=number, repeat=5)) / number
        rows.append([label, micros_text(best)])
    return rows


# -- (b) one million serverless records --------------------------------------------------------


class UsageData:
    """Random usage records (fixed seed) over ``MODELS`` models in one month."""

    def __init__(self, records: int, seed: int) -> None:
        rng = random.Random(seed)
        low, high = to_micros(MONTH_START), to_micros(MONTH_END)
        self.records = records
        self.resources = [
            tb.ServerlessUsage(f"usage-{index:02d}", model=f"model-{index:02d}")
            for index in range(MODELS)
        ]
        # Per model: sorted instants and the token columns.
        self.columns: list[tuple[list[int], list[int], list[int]]] = []
        counts = [0] * MODELS
        for _ in range(records):
            counts[rng.randrange(MODELS)] += 1
        for count in counts:
            instants = sorted(rng.randrange(low, high) for _ in range(count))
            inputs = [rng.randint(1, 8_000) for _ in range(count)]
            outputs = [rng.randint(1, 2_000) for _ in range(count)]
            self.columns.append((instants, inputs, outputs))
        # Single events take datetimes; build them outside the timed construction.
        self.datetimes = [
            [EPOCH + dt.timedelta(microseconds=m) for m in instants]
            for instants, _, _ in self.columns
        ]

    def single_events(self) -> list[tb.TokenUsage]:
        events = []
        for resource, (_, inputs, outputs), stamps in zip(
            self.resources, self.columns, self.datetimes, strict=True
        ):
            rid = resource.id
            events.extend(
                tb.TokenUsage(at, rid, i, o)
                for at, i, o in zip(stamps, inputs, outputs, strict=True)
            )
        return events

    def batch_events(self) -> list[tb.TokenUsageBatch]:
        return [
            tb.TokenUsageBatch(resource.id, instants, inputs, outputs)
            for resource, (instants, inputs, outputs) in zip(
                self.resources, self.columns, strict=True
            )
            if instants
        ]

    def merged_columns(self) -> tuple[list[int], list[int], list[int]]:
        """All records sorted by instant, as columns (for the one-batch diagnostic)."""
        rows = sorted(
            row
            for instants, inputs, outputs in self.columns
            for row in zip(instants, inputs, outputs, strict=True)
        )
        instants, inputs, outputs = (list(column) for column in zip(*rows, strict=True))
        return instants, inputs, outputs

    def merged_batch(
        self, columns: tuple[list[int], list[int], list[int]]
    ) -> list[tb.TokenUsageBatch]:
        """All records as one batch on the first model (no interleaving; diagnostic)."""
        return [tb.TokenUsageBatch(self.resources[0].id, *columns)]

    def replay(self, events: Sequence[tb.Event], prices: tb.Catalog) -> tb.SimulationResult:
        return tb.simulate(
            self.resources, events, until=MONTH_END, start=MONTH_START, catalog=prices
        )


def _signature(result: tb.SimulationResult) -> list[tuple[object, ...]]:
    return [
        (line.resource, line.description, line.quantity, line.amount_exact, line.amount)
        for line in result.lines
    ]


def _time_path(
    data: UsageData, build: Callable[[], list[Any]], prices: tb.Catalog
) -> tuple[float, float, tb.SimulationResult]:
    """Construct the events and replay them, timing each step once (they are slow)."""
    gc.collect()
    began = time.perf_counter()
    events = build()
    built = time.perf_counter()
    result = data.replay(events, prices)
    replayed = time.perf_counter()
    return built - began, replayed - built, result


def bench_usage(prices: tb.Catalog, records: int, seed: int) -> dict[str, Any]:
    data = UsageData(records, seed)
    found: dict[str, Any] = {"records": records, "seed": seed}
    found["batch"] = _time_path(data, data.batch_events, prices)
    columns = data.merged_columns()  # sorted outside the timed construction
    found["merged"] = _time_path(data, lambda: data.merged_batch(columns), prices)
    found["single"] = _time_path(data, data.single_events, prices)
    single, batch = found["single"][2], found["batch"][2]
    found["same_total"] = single.total == batch.total
    found["same_lines"] = _signature(single) == _signature(batch)
    return found


def report_usage(found: dict[str, Any]) -> str:
    records = found["records"]
    rows = []
    meeting = []
    paths = (
        ("single", f"`TokenUsage` x {records:,}"),
        ("batch", f"`TokenUsageBatch` x {MODELS} (one per model)"),
        ("merged", "diagnostic: 1 `TokenUsageBatch`, all records on one model"),
    )
    for label, name in paths:
        build, replay, result = found[label]
        rate = records / replay
        meets = rate >= RATE_TARGET
        if meets and label != "merged":
            meeting.append(name)
        rows.append(
            [
                name,
                seconds_text(build),
                seconds_text(replay),
                f"{rate:,.0f}",
                f"{records / (build + replay):,.0f}",
                "yes" if meets else "no",
                f"{result.total}",
            ]
        )
    same = found["same_total"] and found["same_lines"]
    headers = [
        "path",
        "construct events",
        "replay",
        "records/s (replay)",
        "records/s (construct + replay)",
        f">= {RATE_TARGET:,}/s",
        "invoice total",
    ]
    return "\n".join(
        [
            (
                f"### (b) {records:,} serverless records, {MODELS} models, one month "
                f"(seed {found['seed']}, one run each)"
            ),
            "",
            table(headers, rows),
            "",
            (
                "Identical invoice totals (single vs batch): "
                f"**{'yes' if found['same_total'] else 'NO'}**; identical invoice lines: "
                f"**{'yes' if found['same_lines'] else 'NO'}**"
                f"{'' if same else ' (MISMATCH)'}."
            ),
            "",
            (
                "Path meeting the target with 50 models: "
                f"{', '.join(meeting) if meeting else 'none'}."
            ),
        ]
    )


def profile_usage(prices: tb.Catalog, records: int, seed: int) -> str:
    """Profile the batch path on a smaller sample: where each record's cost goes."""
    data = UsageData(records, seed)
    events = data.batch_events()
    profiler = cProfile.Profile()
    profiler.enable()
    data.replay(events, prices)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    cumulative, own = _profile_rows(stats.stats, {}, 1)  # type: ignore[attr-defined]
    runs = next((calls for _, calls, name in cumulative if name.endswith(" _usage_batch")), 0)
    headers = ["function", "calls / record", "time / record (profiled)", "share"]
    return "\n".join(
        [
            f"#### Where the batch path's time goes (cProfile, {records:,} records)",
            "",
            (
                f"`_usage_batch` ran {runs:,.0f} times for {records:,} records in "
                f"{len(events)} batches: {runs / records:.2f} runs per record."
            ),
            "",
            table(headers, _rows(cumulative, 12, records, total)),
            "",
            "Self time (leaf functions):",
            "",
            table(headers, _rows(own, 6, records, total)),
        ]
    )


# -- (c) scaling in the number of events -------------------------------------------------------


def cycle_events(count: int) -> list[tb.Event]:
    """Deploy, then Stop/Start alternately every 2 minutes: ``count`` events, one period."""
    step = dt.timedelta(minutes=2)
    events: list[tb.Event] = [tb.Deploy(MONTH_START, "ep-cycle")]
    for index in range(1, count):
        kind = tb.Stop if index % 2 else tb.Start
        events.append(kind(MONTH_START + index * step, "ep-cycle"))
    return events


def bench_scaling(prices: tb.Catalog, sizes: Sequence[int]) -> list[dict[str, Any]]:
    endpoint = tb.DedicatedEndpoint("ep-cycle", model="cycle-model", hardware=HARDWARE)
    found = []
    for size in sizes:
        events = cycle_events(size)
        until = MONTH_START + size * dt.timedelta(minutes=2)
        repetitions = max(3, 5_000 // size)

        def replay(events: list[tb.Event] = events, until: dt.datetime = until) -> Any:
            return tb.simulate([endpoint], events, until=until, catalog=prices)

        seconds, result = best_of(repetitions, replay)
        found.append(
            {
                "size": size,
                "seconds": seconds,
                "result": result,
                "repetitions": repetitions,
            }
        )
    return found


def report_scaling(found: list[dict[str, Any]]) -> str:
    rows = []
    base = found[0]["seconds"] / found[0]["size"]
    for item in found:
        per_event = item["seconds"] / item["size"]
        rows.append(
            [
                f"{item['size']:,}",
                item["repetitions"],
                len(item["result"].invoices),
                f"{item['result'].total}",
                seconds_text(item["seconds"]),
                micros_text(per_event),
                f"{per_event / base:.2f}",
            ]
        )
    return "\n".join(
        [
            "### (c) Scaling: one endpoint, N deploy/stop/start events (2 minutes apart)",
            "",
            table(
                [
                    "events",
                    "best of",
                    "invoices",
                    "total",
                    "replay",
                    "time per event",
                    "vs smallest N",
                ],
                rows,
            ),
        ]
    )


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--records", type=int, help="serverless records for (b)")
    parser.add_argument("--seed", type=int, default=20251101, help="random seed for (b)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile (a) even when the year/day ratio meets the target",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    records = args.records or (100_000 if quick else 1_000_000)
    idle_repetitions = 50 if quick else 200
    prices = catalog()

    print(f"## together-billing benchmarks ({'quick' if quick else 'full'} run)\n")
    print(f"Machine: {machine()}\n", flush=True)

    minimal = tb.Catalog([tb.HardwarePrice(HARDWARE, "3.99", EFFECTIVE)])
    idle = bench_idle(
        [
            ("1 hardware price", minimal),
            (f"1 hardware + {MODELS} serverless prices", prices),
        ],
        idle_repetitions,
    )
    print(report_idle(idle), end="\n\n", flush=True)
    if args.profile or any(item["ratio"] > RATIO_TARGET for item in idle):
        print(profile_idle(idle[0], 20 if quick else 100), end="\n\n", flush=True)

    usage = bench_usage(prices, records, args.seed)
    print(report_usage(usage), end="\n\n", flush=True)
    batch_rate = records / usage["batch"][1]
    if args.profile or batch_rate < RATE_TARGET:
        sample = min(records, 20_000 if quick else 50_000)
        print(profile_usage(prices, sample, args.seed), end="\n\n", flush=True)

    scaling = bench_scaling(prices, (1_000, 10_000))
    print(report_scaling(scaling), flush=True)
    return 0 if usage["same_total"] and usage["same_lines"] else 1


if __name__ == "__main__":
    sys.exit(main())
