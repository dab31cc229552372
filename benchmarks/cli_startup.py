"""Start-up time of the ``together-billing`` command against ``python -c pass`` (issue 15, goal 4).

Run from the repository root, after ``pip install -e .``::

    python benchmarks/cli_startup.py            # 20 runs of each command
    python benchmarks/cli_startup.py --runs 50

Like hyperfine, it runs each command N times in a fresh process, interleaved (one run of
each command in turn, so that load on the machine hits every command alike), after one
warm-up round, and reports the best and the median wall time, the best CPU time (user
+ system, from ``getrusage``), and their ratios to ``python -c pass`` run by the same
interpreter. The targets: ``--help`` within 3x, the bundled example simulated within
5x, judged on the best wall times. On a loaded machine read the best runs and the CPU
times: the median includes what other processes took.

Bytecode caching is on for the runs (``PYTHONDONTWRITEBYTECODE`` is dropped from their
environment), as after an install; the warm-up round writes it. The commands run the
installed console script (``together-billing`` beside the
interpreter) when it exists, as a user would, else ``python -c 'from
together_billing.cli import main; main()'``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
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


#: The commands run with bytecode caching on, as after an install (pip compiles the
#: modules): with PYTHONDONTWRITEBYTECODE set, every run would compile the package anew.
ENVIRONMENT = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENVIRONMENT)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # warm-up: writes the bytecode, fills the OS's file cache
        timed(argv)
    for _ in range(runs):
        for name, argv in cases.items():
            seconds, used = timed(argv)
            wall[name].append(seconds)
            cpu[name].append(used)
    base = "python -c pass"
    print(f"# CLI start-up, {runs} interleaved runs each")
    print()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print()
    print(
        "| command | best wall | median wall | best CPU | best wall / pass | median wall / pass "
        "| best CPU / pass | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name in cases:
        best, median, best_cpu = min(wall[name]), statistics.median(wall[name]), min(cpu[name])
        ratio = best / min(wall[base])
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g}x: {'met' if ratio <= target else 'NOT met'}"
        print(
            f"| {name} | {best * 1000:.1f} ms | {median * 1000:.1f} ms | {best_cpu * 1000:.1f} ms "
            f"| {ratio:.1f}x | {median / statistics.median(wall[base]):.1f}x "
            f"| {best_cpu / max(min(cpu[base]), 1e-9):.1f}x | {verdict} |"
        )


if __name__ == "__main__":
    main()
