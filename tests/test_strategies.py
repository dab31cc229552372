"""The public Hypothesis strategies (`together_billing.strategies`).

Every generated scenario replays without error, with or without an account; each
registered type resolves through `st.from_type`; impossible arguments raise
`InvalidArgument` when the strategy is built; values respect their bounds; and
failing examples shrink small.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import together_billing.strategies as tbs
from together_billing import (
    Account,
    AutoRecharge,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Deploy,
    FineTunedHosting,
    FineTuningJob,
    InstantCluster,
    InvalidArgument,
    Money,
    NaiveDatetimeError,
    Policies,
    RoundingMode,
    ServerlessUsage,
    StorageVolume,
    TokenUsageBatch,
)
from together_billing._hypothesis_hook import REGISTERED, setup
from together_billing.scenario import Scenario
from together_billing.strategies import (
    DEFAULT_START,
    DEFAULT_UNTIL,
    accounts,
    amounts,
    auto_recharges,
    catalogs,
    dedicated_endpoints,
    instant_clusters,
    instants,
    intervals,
    lifecycles,
    policies,
    price_changes,
    rates,
    scenarios,
    timelines,
)
from together_billing.testing import check_invariants
from together_billing.time import to_micros

# The entry point registers the types when Hypothesis is imported; register them
# here as well, so these tests also pass where the package is not installed.
setup()


def _micros(event: Any) -> tuple[int, int]:
    """First and last instant of an event (a batch spans several)."""
    if isinstance(event, TokenUsageBatch):
        return event.at_micros[0], event.at_micros[-1]
    at = to_micros(event.at)
    return at, at


def _recharges_at_least_the_minimum(recharge: AutoRecharge) -> bool:
    margin = recharge.amount if recharge.target is None else recharge.target - recharge.threshold
    return margin >= 5


#: Accounts whose auto-recharge buys at least $5 at a time. Smaller top-ups hit the
#: engine's recharge storm (see test_top_up_recharges_respect_the_minimum_purchase),
#: which makes a replay run for minutes; the default accounts() still draws them.
CREDIT_ACCOUNTS = accounts(
    auto_recharges=st.none() | auto_recharges().filter(_recharges_at_least_the_minimum)
)


# -- every generated scenario replays ---------------------------------------------------------------


@given(timelines())
def test_every_timeline_replays_without_error(scenario: Scenario) -> None:
    """A timeline (no account) replays, with one invoice per month of the window."""
    result = scenario.run()

    assert [i.period.label for i in result.invoices] == ["2025-10", "2025-11"]
    assert scenario.account is None


@given(scenarios(accounts=CREDIT_ACCOUNTS))
def test_every_scenario_with_credits_replays_without_error(scenario: Scenario) -> None:
    """With an account (credits on, purchases, grants, maybe exhaustion) every scenario replays."""
    result = scenario.run()

    assert scenario.account is not None
    assert result.credits is not None


@given(scenarios(accounts=st.none() | CREDIT_ACCOUNTS))
def test_events_lie_in_the_window_and_never_share_an_instant_per_resource(
    scenario: Scenario,
) -> None:
    """Events are inside [start, until]; one resource's events are strictly chronological."""
    start, until = to_micros(scenario.start), to_micros(scenario.until)
    last: dict[str, int] = {}
    for event in scenario.events:
        first, end = _micros(event)
        assert start <= first <= end <= until
        if event.resource is None or isinstance(event, TokenUsageBatch):
            continue
        assert last.get(event.resource, -1) < first
        last[event.resource] = end


@given(
    scenarios(accounts=st.none() | CREDIT_ACCOUNTS, grid_seconds=60, start="2025-10-30T00:00:30Z")
)
def test_grid_aligns_every_event(scenario: Scenario) -> None:
    """With grid_seconds=60, every event instant is a whole minute (after an unaligned start)."""
    for event in scenario.events:
        for micros in _micros(event):
            assert micros % 60_000_000 == 0
    scenario.run()


def test_top_up_recharges_respect_the_minimum_purchase() -> None:
    """Minimal counter-example: an 8-GPU on-demand cluster at $20/GPU-hour, an account
    at $0 topping up to $0.01 below $0; every recharge should be at least $5 (P-MIN-BUY)."""
    scenario = Scenario(
        resources=(
            InstantCluster("c", gpu_type="g", billing="on-demand", gpus=8),
            Account(
                opening_balance=Decimal(0),
                auto_recharge=AutoRecharge(mode="top-up", threshold=0, target=Decimal("0.01")),
            ),
        ),
        events=(Deploy(DEFAULT_START, "c"),),
        catalog=Catalog([ClusterPrice("g", "on-demand", 20, "2025-01-01T00:00:00Z")]),
        policies=Policies(),
        start=DEFAULT_START,
        until=DEFAULT_START.add(minutes=5),
    )
    recharges = [entry for entry in scenario.run().ledger if entry.kind == "recharge"]

    assert len(recharges) < 10
    assert all(entry.amount >= scenario.policies.min_purchase for entry in recharges)


def test_module_docstring_example_runs() -> None:
    """The usage example in the module docstring is real code that passes."""
    doc = tbs.__doc__ or ""
    block = re.search(r"::\n\n((?:    .*\n|\n)+)", doc)
    assert block is not None
    code = "\n".join(line.removeprefix("    ") for line in block.group(1).splitlines())
    namespace: dict[str, Any] = {}
    exec(compile(code, "strategies-docstring", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]

    assert len(tests) == 1
    tests[0]()


# -- registered types -------------------------------------------------------------------------------


def _public_types() -> list[Any]:
    """Every public type of the package (exceptions aside), its unions, and Scenario."""
    import together_billing
    from together_billing.scenario import Scenario

    kinds: list[Any] = []
    for name in together_billing.__all__:
        value = getattr(together_billing, name)
        if isinstance(value, types.UnionType) or (
            isinstance(value, type) and not issubclass(value, BaseException)
        ):
            kinds.append(value)
    return [*kinds, Scenario]


PUBLIC_TYPES = _public_types()


def test_every_public_value_type_is_listed() -> None:
    """The list is not accidentally empty: the unions, the classes and Scenario are in it."""
    from together_billing import Event, PriceEntry, Resource
    from together_billing.scenario import Scenario

    assert {Event, PriceEntry, Resource, Scenario, Money, Deploy} <= set(PUBLIC_TYPES)
    assert len(PUBLIC_TYPES) >= 60


@pytest.mark.parametrize("kind", PUBLIC_TYPES, ids=lambda k: getattr(k, "__name__", repr(k)))
@settings(max_examples=5, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_from_type_draws_every_public_type(kind: Any, data: st.DataObject) -> None:
    """`st.from_type(T)` draws a valid T for every public type (the unions too)."""
    assert isinstance(data.draw(st.from_type(kind)), kind)


def test_the_hook_registers_exactly_the_types_strategy_for_knows() -> None:
    """The entry point's table and strategy_for() agree, type for type."""
    import importlib

    listed = {
        getattr(importlib.import_module(module), name)
        for module, names in REGISTERED.items()
        for name in names
    }
    known = set(tbs._type_strategies())
    assert listed == known
    for kind in known:
        assert kind.__module__ in REGISTERED


def test_strategy_for_an_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(InvalidArgument, match="DedicatedEndpoint"):
        tbs.strategy_for(int)


@settings(max_examples=20)
@given(st.from_type(DedicatedEndpoint))
def test_from_type_uses_the_library_strategy(endpoint: DedicatedEndpoint) -> None:
    """The registered strategy is the library's: hardware the default catalogs price."""
    assert endpoint.hardware.split("x", 1)[1] in {h.split("x", 1)[1] for h in tbs.HARDWARE}


# -- impossible arguments ---------------------------------------------------------------------------

IMPOSSIBLE: list[tuple[str, Callable[[], object]]] = [
    ("amounts min > max", lambda: amounts(min_value=5, max_value=1)),
    ("amounts no value at places", lambda: amounts(min_value="0.001", max_value="0.009")),
    ("amounts negative places", lambda: amounts(places=-1)),
    ("amounts float bound", lambda: amounts(max_value=1.5)),  # type: ignore[arg-type]
    ("amounts bad currency", lambda: amounts(currency="dollars")),
    ("rates min > max", lambda: rates(min_value=3, max_value=2)),
    ("instants min > max", lambda: instants(min_value=DEFAULT_UNTIL, max_value=DEFAULT_START)),
    ("instants naive", lambda: instants(min_value="2025-11-01T00:00:00")),
    ("instants zero grid", lambda: instants(grid_seconds=0)),
    (
        "instants empty grid",
        lambda: instants(
            min_value="2025-11-01T00:00:01Z", max_value="2025-11-01T00:00:59Z", grid_seconds=60
        ),
    ),
    ("intervals min > max", lambda: intervals(min_value=DEFAULT_UNTIL, max_value=DEFAULT_START)),
    ("catalogs no models", lambda: catalogs(models=[])),
    ("catalogs a string of models", lambda: catalogs(models="test/chat")),
    ("catalogs negative changes", lambda: catalogs(max_changes=-1)),
    ("endpoints no replicas", lambda: dedicated_endpoints(max_replicas=0)),
    ("clusters max below step", lambda: instant_clusters(max_gpus=4)),
    ("price changes empty catalog", lambda: price_changes(Catalog())),
    ("timelines negative events", lambda: timelines(max_events=-1)),
    ("scenarios start after until", lambda: scenarios(start=DEFAULT_UNTIL, until=DEFAULT_START)),
    (
        "lifecycles negative events",
        lambda: lifecycles(ServerlessUsage("chat", model="test/chat"), max_events=-1),
    ),
]


@pytest.mark.parametrize(("name", "build"), IMPOSSIBLE, ids=[name for name, _ in IMPOSSIBLE])
def test_impossible_arguments_raise_when_the_strategy_is_built(
    name: str, build: Callable[[], object]
) -> None:
    """Arguments that cannot generate anything raise InvalidArgument at once, not when drawn."""
    with pytest.raises(InvalidArgument):
        build()


def test_naive_bounds_raise_the_naive_datetime_error() -> None:
    """A naive bound is reported as such, naming the argument."""
    with pytest.raises(NaiveDatetimeError) as caught:
        scenarios(until="2025-11-03T00:00:00")

    assert caught.value.field == "until"


# -- values and bounds ------------------------------------------------------------------------------


@given(instants(min_value="2025-10-31T23:59:59Z", max_value="2025-11-01T00:00:01Z"))
def test_instants_are_aware_utc_and_bounded(at: pendulum.DateTime) -> None:
    """Instants are aware pendulum DateTimes in UTC, within the bounds."""
    assert isinstance(at, pendulum.DateTime)
    assert at.tzinfo is not None
    assert at.utcoffset() == pendulum.duration(0)
    assert at.timezone_name == "UTC"
    assert pendulum.parse("2025-10-31T23:59:59Z") <= at <= pendulum.parse("2025-11-01T00:00:01Z")


@given(instants(grid_seconds=3600))
def test_instants_on_a_grid_are_whole_multiples(at: pendulum.DateTime) -> None:
    """grid_seconds=3600 gives whole hours."""
    assert (at.minute, at.second, at.microsecond) == (0, 0, 0)


@given(intervals())
def test_intervals_are_ordered_and_bounded(span: Any) -> None:
    """An interval's start is at or before its end, both in the bounds."""
    assert DEFAULT_START <= span.start <= span.end <= DEFAULT_UNTIL


@given(amounts(min_value="-2.5", max_value=3, places=1))
def test_amounts_are_bounded_with_places(money: Money) -> None:
    """Amounts stay in the bounds with at most the requested places."""
    assert Decimal("-2.5") <= money.amount <= 3
    assert money.amount == money.amount.quantize(Decimal("0.1"))
    assert money.currency == "USD"


@settings(max_examples=20)
@given(catalogs(max_changes=3), st.data())
def test_catalogs_price_every_generated_resource(catalog: Catalog, data: st.DataObject) -> None:
    """A default catalog prices every default resource strategy's values at the window start."""
    resource = data.draw(
        st.one_of(
            [
                st.from_type(kind)
                for kind in (
                    DedicatedEndpoint,
                    FineTunedHosting,
                    ServerlessUsage,
                    FineTuningJob,
                    InstantCluster,
                    StorageVolume,
                )
            ],
        )
    )
    assert tbs._priced(resource, catalog, Policies(), DEFAULT_START)


# -- shrinking --------------------------------------------------------------------------------------

#: find() without the example database: an example saved by an earlier run is replayed
#: first and can end the search on a larger example than shrinking reaches from scratch.
FRESH = settings(database=None)


def test_a_scenario_shrinks_to_exactly_the_events_needed() -> None:
    """find() for a scenario with at least three events returns one with exactly three."""
    found = find(scenarios(), lambda s: len(s.events) >= 3, settings=FRESH)

    assert len(found.events) == 3


def test_a_deploy_shrinks_to_one_event_at_the_start() -> None:
    """A scenario with a Deploy shrinks to that Deploy alone, at the window's start."""
    found = find(
        scenarios(), lambda s: any(isinstance(e, Deploy) for e in s.events), settings=FRESH
    )

    assert len(found.events) == 1
    assert found.events[0].at == DEFAULT_START
    # No unused resource: the one left is the one deployed.
    assert [resource.id for resource in found.resources] == [found.events[0].resource]


def test_amounts_and_instants_shrink_to_their_simplest() -> None:
    """Amounts shrink towards zero (or the nearest bound), instants towards min_value."""
    assert find(amounts(min_value=1), lambda m: True, settings=FRESH) == Money(1)
    assert find(amounts(min_value=-5, max_value=5), lambda m: True, settings=FRESH) == Money(0)
    assert find(instants(), lambda t: True, settings=FRESH) == DEFAULT_START


# -- the public surface -----------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    """`__all__` is in ruff's order and names every public object of the module."""

    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    defined = {
        name
        for name, value in vars(tbs).items()
        if callable(value) and getattr(value, "__module__", None) == tbs.__name__
    }
    assert list(tbs.__all__) == sorted(tbs.__all__, key=key)
    assert {name for name in defined if not name.startswith("_")} <= set(tbs.__all__)
    assert all(hasattr(tbs, name) for name in tbs.__all__)


# -- the shipped invariants accept the shipped strategies (issue 14, defect 1) --------------------


def _in_mode(mode: RoundingMode) -> st.SearchStrategy[Policies]:
    return policies().map(lambda drawn: attrs.evolve(drawn, rounding=mode))


@pytest.mark.parametrize("mode", list(RoundingMode), ids=lambda mode: mode.value)
@settings(max_examples=30)
@given(data=st.data())
def test_check_invariants_accepts_every_timeline(mode: RoundingMode, data: st.DataObject) -> None:
    """Every invariant, replays included, holds for timelines() under each rounding mode."""
    scenario = data.draw(timelines(policies=_in_mode(mode)))
    result = scenario.run()
    assert result.policies.rounding is mode
    check_invariants(result, resources=scenario.resources, events=scenario.events)


@pytest.mark.parametrize("mode", list(RoundingMode), ids=lambda mode: mode.value)
@settings(max_examples=30)
@given(data=st.data())
def test_check_invariants_accepts_every_scenario(mode: RoundingMode, data: st.DataObject) -> None:
    """Every invariant holds for scenarios() (credits on or off) under each rounding mode."""
    scenario = data.draw(scenarios(accounts=st.none() | CREDIT_ACCOUNTS, policies=_in_mode(mode)))
    check_invariants(scenario.run(), resources=scenario.resources, events=scenario.events)


# -- the distributions find the interesting cases (issue 14) ------------------------------------

SAMPLE = 200

#: Run in a fresh interpreter: Hypothesis also draws literal constants found in the
#: modules loaded so far, so a sample taken inside the suite would depend on which other
#: test modules were collected. A fresh interpreter loads the library and nothing else.
SAMPLER = """
import json, sys
from hypothesis import given, seed, settings
from together_billing import PriceChange
from together_billing.strategies import scenarios, timelines

counts = dict.fromkeys(
    ["no events", "$0", "two periods billed", "exhausted", "grace", "burst", "price change"], 0
)
events = 0


@seed(20251114)
@settings(max_examples=int(sys.argv[2]), database=None, deadline=None)
@given({"timelines": timelines, "scenarios": scenarios}[sys.argv[1]]())
def sample(scenario):
    global events
    result = scenario.run()
    actions = {entry.action for entry in result.log}
    events += len(scenario.events)
    reached = {
        "no events": not scenario.events,
        "$0": result.total.amount == 0,
        "two periods billed": all(invoice.lines for invoice in result.invoices),
        "exhausted": "credits exhausted" in actions,
        "grace": bool(actions & {"paused", "access revoked", "API access suspended"}),
        "burst": any(line.rule == "CL3" for line in result.lines),
        "price change": any(isinstance(e, PriceChange) for e in scenario.events),
    }
    for name, hit in reached.items():
        counts[name] += hit


sample()
shares = {name: count / int(sys.argv[2]) for name, count in counts.items()}
shares["events per example"] = events / int(sys.argv[2])
print(json.dumps(shares))
"""


def _sample(name: str) -> dict[str, float]:
    """Shares of a derandomized sample of ``SAMPLE`` replays that reach each state."""
    done = subprocess.run(
        [sys.executable, "-c", SAMPLER, name, str(SAMPLE)],
        capture_output=True,
        text=True,
        check=True,
    )
    shares: dict[str, float] = json.loads(done.stdout)
    return shares


@pytest.mark.slow
def test_timelines_bill_something_with_several_events() -> None:
    """Before issue 14: 3 events on average, 27% without any, 56-62% billing $0.

    Measured on a random sample of 600 (seeded differently): 4.7 events, 1% without,
    9% billing $0, 44% billing both months, 9% with burst GPUs, 43% with a price
    change. The sample here is random with a fixed seed (a derandomized one starts with
    the simplest examples and is not representative); the bounds leave room for its
    sampling error (about 3 points).
    """
    shares = _sample("timelines")
    assert shares["events per example"] >= 4.0, shares
    assert shares["no events"] <= 0.05, shares
    assert shares["$0"] <= 0.15, shares
    assert shares["burst"] >= 0.05, shares
    assert shares["two periods billed"] >= 0.3, shares
    assert shares["price change"] >= 0.3, shares


@pytest.mark.slow
def test_scenarios_run_out_of_credits_often() -> None:
    """Before issue 14 the credits ran out in 3.4% of scenarios(); in a random sample of
    600 now, in 16% (half of the examples have no account at all), with grace periods in
    11% and burst GPUs above a reservation in 4% (exhaustion refuses new burst); 15% bill
    $0. The bounds leave room for the sampling error of this seeded sample of 200."""
    shares = _sample("scenarios")
    assert shares["exhausted"] >= 0.1, shares
    assert shares["grace"] >= 0.06, shares
    assert shares["burst"] >= 0.015, shares
    assert shares["$0"] <= 0.22, shares


@settings(max_examples=3, phases=[Phase.generate], database=None)
@given(timelines())
def test_a_printed_counterexample_shows_the_catalogs_rates(scenario: Scenario) -> None:
    """The repr lists every price entry, so a counterexample can be rebuilt from it."""
    text = repr(scenario)
    assert "entries>" not in text
    for entry in scenario.catalog.entries:
        assert repr(entry) in text


@settings(max_examples=5, phases=[Phase.generate], database=None)
@given(scenarios(), st.from_type(Scenario))
def test_the_strategies_draw_the_one_scenario_value(drawn: Scenario, typed: Scenario) -> None:
    """`scenarios()` and `st.from_type(Scenario)` give the library's `Scenario` itself, with
    its window set, so every tool takes it as it is."""
    for scenario in (drawn, typed):
        assert type(scenario) is Scenario
        assert scenario.start is not None
        assert scenario.start <= scenario.until


def test_a_scenario_on_the_bundled_catalog_names_it_in_its_repr() -> None:
    plain = Scenario(resources=[], events=[], until=DEFAULT_UNTIL)
    assert "catalog=default_catalog()" in repr(plain)
