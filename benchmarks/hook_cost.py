"""What an unused install of together-billing costs a pytest session.

Run from the repository root, after ``pip install -e '.[testing]'``::

    python benchmarks/hook_cost.py            # 9 sessions per variant
    python benchmarks/hook_cost.py --runs 21

A project with one trivial test and no billing tests: Hypothesis's pytest plugin imports
Hypothesis, which runs every ``hypothesis`` entry point (ours among them), and pytest
loads our ``pytest11`` plugin. The sessions run in fresh interpreters, in turn:

- ``installed``: as a user's project sees it;
- ``plugin off``: with ``-p no:together_billing``;
- ``no entry points``: with ``HYPOTHESIS_NO_PLUGINS=1`` (Hypothesis runs no entry point);
- ``eager import``: what the entry point cost before it became lazy (the session imports
  ``together_billing.strategies``, as the old hook did).

It prints the median CPU time (user + system, from ``os.wait4``) and wall time of each,
and the difference to ``no entry points``. The sessions' own noise is a few milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST = "def test_unrelated():\n    assert 1 + 1 == 2\n"
EAGER = "import together_billing.strategies  # noqa: F401\n"


def session(directory: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one pytest session in a fresh interpreter."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"pytest failed: {' '.join(command)}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    base = dict(os.environ)
    base.pop("HYPOTHESIS_NO_PLUGINS", None)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain"
        plain.mkdir()
        (plain / "test_unrelated.py").write_text(TEST)
        eager = Path(tmp) / "eager"
        eager.mkdir()
        (eager / "conftest.py").write_text(EAGER)
        (eager / "test_unrelated.py").write_text(TEST)
        variants = {
            "installed": (plain, [], base),
            "plugin off": (plain, ["-p", "no:together_billing"], base),
            "no entry points": (plain, [], {**base, "HYPOTHESIS_NO_PLUGINS": "1"}),
            "eager import": (eager, [], base),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(args.runs):  # interleaved, so load changes hit every variant alike
            for name, (directory, extra, env) in variants.items():
                results[name].append(session(directory, extra, env))
    reference = statistics.median(cpu for cpu, _ in results["no entry points"])
    print(f"| session ({args.runs} runs, medians) | CPU s | wall s | CPU vs no entry points |")
    print("|---|---:|---:|---:|")
    for name, samples in results.items():
        cpu = statistics.median(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        print(f"| {name} | {cpu:.3f} | {wall:.3f} | {cpu - reference:+.3f} |")


if __name__ == "__main__":
    main()
