"""The pytest plugin of the mutation runs: loaded only by mutmut, never by the everyday suite.

``[tool.mutmut]`` in pyproject.toml passes ``-p tests.mutation_plugin`` to every pytest
run of mutmut, and ``scripts/mutation`` puts mutmut's copy of the repository
(``mutants/``) on ``PYTHONPATH`` so that the name imports. While mutmut tests a mutant
(``MUTANT_UNDER_TEST`` names one; its stats and clean runs are left as they are), the
plugin:

- loads the ``mutation`` Hypothesis profile: 5 examples per property test (a test's
  own ``max_examples`` scaled alike by tests/conftest.py) and no shrinking;
- fails a test that uses more than :data:`MUTANT_CPU_SECONDS` of CPU (an endless loop);
- leaves out the tests that read the engine's source files (:data:`SKIPPED_IN_MUTANTS`),
  which mutmut rewrites;
- leaves out, under a mutant of the engine, the tests that replay generated scenarios
  of the modules built on it (:data:`SKIPPED_FOR_ENGINE_MUTANTS`).

See docs/mutation.md.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

# Only pass or fail matters for a mutant: few examples, and no shrinking of a failure
# (shrinking a failing property test can take minutes).
settings.register_profile(
    "mutation",
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

#: Far beyond any test of the suite (the slowest takes a few seconds).
MUTANT_CPU_SECONDS = 60

#: Tests of modules built on the engine that replay generated scenarios (see
#: :func:`pytest_collection_modifyitems`).
SKIPPED_FOR_ENGINE_MUTANTS = ("tests/test_strategies.py", "tests/test_plot.py")


def mutant_under_test() -> str:
    """The mutant mutmut is testing in this process, or ``""`` (also in its stats and clean runs)."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else ""


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under a mutant, use the ``mutation`` profile; mutmut's stats and clean runs keep the usual one."""
    if mutant_under_test():
        settings.load_profile("mutation")


class EndlessMutant(Exception):
    """A test under a mutant used more than ``MUTANT_CPU_SECONDS`` of CPU (an endless loop)."""


@pytest.fixture(autouse=True)
def _mutant_cpu_limit() -> Iterator[None]:
    """Under a mutant, fail a test that loops: a mutant that hangs a replay is caught.

    Counts CPU time (``ITIMER_VIRTUAL``), which the tests' own wall-clock alarms
    (``ITIMER_REAL``) leave alone. Without it mutmut waits for its own timeout, minutes
    per mutant, and counts the mutant as not killed.
    """
    if not mutant_under_test():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise EndlessMutant(f"over {MUTANT_CPU_SECONDS} s of CPU under {mutant_under_test()}")

    previous = signal.signal(signal.SIGVTALRM, stop)
    signal.setitimer(signal.ITIMER_VIRTUAL, MUTANT_CPU_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


#: Tests that read the source files themselves, which mutmut's copies under ``mutants/``
#: rewrite (every mutant of a function is written out beside it): left out of every
#: mutation run, stats and clean runs included.
SKIPPED_IN_MUTANTS = (
    "tests/test_engine_rooms.py::test_every_room_is_a_few_hundred_lines",
    "tests/test_vocabulary.py::test_every_literal_action_the_engine_logs_is_a_member",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that read the (mutated) source, and under a mutant of the
    engine, the tests of the strategies and of the plot.

    The first read the line counts and log calls of the engine's files, which under
    ``mutants/`` hold every mutant beside the original. The others test strategies.py
    and plot.py with Hypothesis scenarios that are replayed (and, for the strategies,
    filtered by replaying): a mutant that breaks replays makes them reject nearly every
    example, and a surviving mutant runs them in full, which takes 40-200 s per mutant.
    The engine keeps its own deterministic and property tests. Leaving tests out can
    only lower the mutation score.

    Also lets a property test run in a second pytest session of the same process (see
    :func:`_allow_a_second_session`).
    """
    _allow_a_second_session(items)
    mutant = mutant_under_test()
    skipped = SKIPPED_IN_MUTANTS
    if ".engine." in mutant or "._engine." in mutant:
        skipped += SKIPPED_FOR_ENGINE_MUTANTS
    kept = [item for item in items if not item.nodeid.startswith(skipped)]
    if kept and len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def _allow_a_second_session(items: list[pytest.Item]) -> None:
    """Suppress Hypothesis's ``differing_executors`` health check for every property test.

    mutmut runs pytest more than once in one process (its stats run, then its clean run,
    from a fresh ``mutants/``). A property test that is a method is then called on an
    instance of the class of each session's import of its module, which that health check
    refuses: the clean run failed, and no mutant was tested. The check guards against a
    test's examples depending on its ``self``; the suite's test classes hold no state.
    """
    for item in items:
        function = getattr(item, "obj", None)
        function = getattr(function, "__func__", function)  # a method: its function
        if not hasattr(function, "hypothesis"):
            continue
        own = getattr(function, "_hypothesis_internal_use_settings", None) or settings.default
        assert own is not None
        if HealthCheck.differing_executors not in own.suppress_health_check:
            function._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
                own,
                suppress_health_check=[*own.suppress_health_check, HealthCheck.differing_executors],
            )
