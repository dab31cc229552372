"""Timing helpers: interleaved best-of rounds, budgets, log-log fits, Markdown tables."""

from __future__ import annotations

import gc
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """One call's wall time (``perf_counter``) and its result, after a garbage collection."""
    gc.collect()
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def interleaved(
    candidates: dict[str, Callable[[], Any]], rounds: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Run the candidates in turn, ``rounds`` times; the best time of each and its result.

    Interleaving spreads the machine's load (other processes, frequency changes) over all
    candidates alike, so their ratio means something on a shared machine.
    """
    best = dict.fromkeys(candidates, math.inf)
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, action in candidates.items():
            seconds, results[name] = timed(action)
            best[name] = min(best[name], seconds)
    return best, results


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """The slope of log(seconds) against log(size): 1.0 is linear, 2.0 quadratic."""
    if len(sizes) < 2:
        return math.nan
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:,.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds * 1e6:,.1f} µs"


def ratio(value: float) -> str:
    return f"{value:,.1f}x" if value >= 10 else f"{value:,.2f}x"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine(version: str) -> str:
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB of memory"
    except OSError:
        pass
    return (
        f"{cpu_name()}, {os.cpu_count()} cores{memory}; {platform.python_implementation()} "
        f"{platform.python_version()}; {platform.system()} {platform.release()}; "
        f"together-billing {version}; load average at start {load_average()}"
    )
