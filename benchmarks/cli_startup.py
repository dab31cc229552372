"""Start-up time of the ``together-billing`` command against ``python -c pass`` (issue 15, goal 4).

Run from the repository root, after ``pip install -e .``::

    python benchmarks/cli_startup.py            # 20 runs of each command
    python benchmarks/cli_startup.py --runs 50

Like hyperfine, it runs each command N times in a fresh process, interleaved (one run of
each command in turn, so that load on the machine hits every command alike), after one
warm-up round, and reports the best and the median wall time and their ratios to
``python -c pass`` run by the same interpreter. The targets: ``--help`` within 3x,
the bundled example simulated within 5x. The ratio of the best runs is the one to read
on a loaded machine: the median includes what other processes took.

The commands run the installed console script (``together-billing`` beside the
interpreter) when it exists, as a user would, else ``python -c 'from
together_billing.cli import main; main()'``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "idle-deployments.yaml"
TARGETS = {"--help": 3.0, "simulate (bundled example)": 5.0}


def command() -> list[str]:
    script = Path(sys.executable).parent / "together-billing"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from together_billing.cli import main; raise SystemExit(main())"]


def timed(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    runs = parser.parse_args().runs
    cli = command()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import together_billing'": [sys.executable, "-c", "import together_billing"],
        "--help": [*cli, "--help"],
        "simulate (bundled example)": [*cli, "simulate", str(EXAMPLE)],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # warm-up: compiled bytecode, the OS's file cache
        timed(argv)
    for _ in range(runs):
        for name, argv in cases.items():
            times[name].append(timed(argv))
    base_best = min(times["python -c pass"])
    base_median = statistics.median(times["python -c pass"])
    print(f"# CLI start-up, {runs} interleaved runs each")
    print()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print()
    print("| command | best | median | best / pass | median / pass | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            met = "met" if best / base_best <= target else "NOT met"
            verdict = f"<= {target:g}x: {met}"
        print(
            f"| {name} | {best * 1000:.1f} ms | {median * 1000:.1f} ms "
            f"| {best / base_best:.1f}x | {median / base_median:.1f}x | {verdict} |"
        )


if __name__ == "__main__":
    main()
