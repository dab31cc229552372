"""Examples per second of together-billing's strategies against plain Hypothesis ones.

Run from the repository root, after ``pip install -e '.[testing]'``::

    python benchmarks/strategies.py            # 300 examples per strategy
    python benchmarks/strategies.py --examples 100

Each strategy feeds a ``@given`` test that does nothing (generation only) and, for the
scenario strategies, one that also replays the example. Examples per second is the
number of examples the test ran over its CPU time (``time.process_time``: the machine
may be shared). The baselines are plain Hypothesis strategies of a similar size: a list
of up to 4 resource-like records and up to 10 event-like records (aware datetimes,
decimals, ids), which is what ``timelines()`` draws before its lifecycle model makes the
events valid. Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from together_billing import DedicatedEndpoint, Deploy
from together_billing.scenario import Scenario
from together_billing.strategies import (
    catalogs,
    dedicated_endpoints,
    scenarios,
    timelines,
)

UTC = dt.UTC
WINDOW = (dt.datetime(2025, 10, 30), dt.datetime(2025, 11, 3))

#: Plain Hypothesis: records shaped like resources and events, of the same sizes.
PLAIN_RESOURCE = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True),
        "kind": st.sampled_from(["endpoint", "serverless", "cluster", "volume"]),
        "replicas": st.integers(1, 4),
        "rate": st.decimals(0, 20, places=2),
    }
)
PLAIN_EVENT = st.tuples(
    st.datetimes(*WINDOW, timezones=st.just(UTC)),
    st.sampled_from(["deploy", "stop", "requests", "tokens", "delete"]),
    st.integers(0, 2_000_000),
    st.decimals(0, 1000, places=2),
)
PLAIN_TIMELINE = st.tuples(
    st.lists(PLAIN_RESOURCE, min_size=1, max_size=4), st.lists(PLAIN_EVENT, max_size=10)
)
PLAIN_CATALOG = st.lists(
    st.tuples(st.text(min_size=1, max_size=12), st.decimals(0, 20, places=2)),
    min_size=19,
    max_size=19,
)


def _replay(scenario: Scenario) -> None:
    scenario.run()


def rate(strategy: st.SearchStrategy[Any], examples: int, body: Callable[[Any], None]) -> float:
    """Examples per CPU second of a ``@given`` test of ``strategy`` running ``body``."""
    count = 0

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal count
        count += 1
        body(value)

    started = time.process_time()
    run()
    return count / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    args = parser.parse_args()
    n = args.examples
    nothing: Callable[[Any], None] = lambda value: None  # noqa: E731
    rows = [
        ("plain: 1-4 resource records + 0-10 event records", PLAIN_TIMELINE, nothing),
        ("timelines()", timelines(), nothing),
        ("timelines(), replayed", timelines(), _replay),
        ("scenarios()", scenarios(), nothing),
        ("scenarios(), replayed", scenarios(), _replay),
        ("plain: 19 (text, decimal) price records", PLAIN_CATALOG, nothing),
        ("catalogs() (19 entries)", catalogs(), nothing),
        (
            "plain: builds(DedicatedEndpoint, ...)",
            st.builds(
                DedicatedEndpoint,
                st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True),
                model=st.just("m"),
                hardware=st.just("1x_test_h100"),
            ),
            nothing,
        ),
        ("dedicated_endpoints()", dedicated_endpoints(), nothing),
        ("st.from_type(Deploy)", st.from_type(Deploy), nothing),
    ]
    print(f"| strategy ({n} examples, derandomized) | examples/s (CPU) |")
    print("|---|---:|")
    for name, strategy, body in rows:
        print(f"| {name} | {rate(strategy, n, body):,.0f} |")


if __name__ == "__main__":
    main()
