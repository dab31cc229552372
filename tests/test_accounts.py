"""Many accounts: `together_billing.accounts`, serial and on Dask.

The states of a run: accounts given as timelines, or built from seeds by a function;
credits on or off; credits lasting or running out; one period or two; the accounts given
in any order; the serial path, and the Dask path on the synchronous scheduler and on
local processes, from a list or from a bag. Every Dask run equals the serial run exactly.
"""

from __future__ import annotations

import pickle
import random
import sys
from decimal import Decimal

import dask.bag
import pytest

from together_billing import (
    Account,
    Catalog,
    DedicatedEndpoint,
    Deploy,
    HardwarePrice,
    InvalidArgument,
    MeteringGrain,
    MissingDependency,
    Money,
    Policies,
    ServerlessPrice,
    ServerlessUsage,
    Stop,
    TokenUsageBatch,
    simulate,
)
from together_billing.accounts import (
    AccountTimeline,
    Portfolio,
    replay_accounts,
    replay_accounts_dask,
    revenue_impact,
    summaries_bag,
)
from together_billing.time import to_micros

MARKER = "marker-model-for-the-graph-test"
PRICES = Catalog(
    [
        HardwarePrice("1x_g", "2.40", "2020-01-01T00:00:00Z"),
        ServerlessPrice(MARKER, "0.50", "1.50", "2020-01-01T00:00:00Z"),
    ]
)
RAISED = PRICES.with_entries(ServerlessPrice(MARKER, "0.55", "1.65", "2020-01-01T00:00:00Z"))


def timeline(seed: int) -> AccountTimeline:
    """A generated account-month (and a bit of the next month for every third one)."""
    rng = random.Random(seed)
    resources: list[object] = [
        DedicatedEndpoint(
            "ep", model="m", hardware="1x_g", inactive_timeout_minutes=60 * 24 * 60
        ),  # no idle auto-stop within the span, whatever the default policy
        ServerlessUsage("chat", model=MARKER),
    ]
    if seed % 2:
        resources.append(Account(opening_balance=rng.choice([20, 200, 2_000])))
    day = rng.randint(1, 20)
    records = rng.randint(1, 30)
    events = [
        Deploy(f"2025-11-{day:02}T09:00:00Z", "ep"),
        Stop(f"2025-11-{day + rng.randint(0, 8):02}T17:30:00Z", "ep"),
        TokenUsageBatch(
            "chat",
            [f"2025-11-25T10:00:{second:02}Z" for second in range(records)],
            [rng.randint(0, 10**6) for _ in range(records)],
            [rng.randint(0, 10**5) for _ in range(records)],
        ),
    ]
    until = "2025-12-03T00:00:00Z" if seed % 3 == 0 else "2025-12-01T00:00:00Z"
    return AccountTimeline(
        name=f"account-{seed:03}",
        resources=resources,  # type: ignore[arg-type]
        events=events,
        until=until,
    )


SEEDS = list(range(24))


@pytest.fixture(scope="module")
def serial() -> Portfolio:
    return replay_accounts([timeline(seed) for seed in SEEDS], catalog=PRICES)


def test_each_summary_is_what_its_own_replay_billed(serial: Portfolio) -> None:
    """Totals, invoice rows and balances are those of a plain `simulate` of each account."""
    assert len(serial) == len(SEEDS)
    for seed in SEEDS:
        account = timeline(seed)
        result = simulate(account.resources, account.events, until=account.until, catalog=PRICES)
        summary = serial.summary(account.name)
        assert summary.total == result.total
        assert [row.amount for row in summary.rows] == [line.amount for line in result.lines]
        assert [(row.period, row.resource, row.quantity) for row in summary.rows] == [
            (i.period.label, line.resource, line.quantity)
            for i in result.invoices
            for line in i.lines
        ]
        assert summary.balance == result.balance
        assert [p for p, _, _ in summary.invoice_totals] == [
            i.period.label for i in result.invoices
        ]
    assert serial.total == sum((s.total for s in serial.accounts), Money.zero())


def test_runway_covers_the_three_credit_states(serial: Portfolio) -> None:
    """No account (no runway), credits that last, credits that run out."""
    without = [s for s in serial.accounts if s.balance is None]
    lasting = [s for s in serial.accounts if s.balance is not None and s.exhausted_at is None]
    out = serial.exhausted()
    assert without
    assert lasting
    assert out
    assert all(s.runway is None for s in without + lasting)
    for summary in out:
        assert summary.runway is not None
        assert summary.start + summary.runway == summary.exhausted_at
    assert [s.runway for s in out] == sorted(s.runway for s in out)  # type: ignore[type-var]


def test_aggregates_by_period_and_category(serial: Portfolio) -> None:
    by_period = serial.totals_by_period()
    assert list(by_period) == ["2025-11", "2025-12"]
    assert sum(by_period.values(), Money.zero()) == serial.total
    by_category = serial.totals_by_category()
    assert sum(by_category.values(), Money.zero()) == serial.total
    assert sum(r.amount for r in serial.rows) == serial.total.amount


def test_order_of_the_accounts_does_not_matter(serial: Portfolio) -> None:
    shuffled = [timeline(seed) for seed in SEEDS]
    random.Random(5).shuffle(shuffled)
    again = replay_accounts(shuffled, catalog=PRICES)
    assert again == serial
    assert again.to_dict() == serial.to_dict()


def test_built_from_seeds_equals_given_timelines(serial: Portfolio) -> None:
    assert replay_accounts(SEEDS, build=timeline, catalog=PRICES) == serial


@pytest.mark.parametrize("partitions", [1, 5])
def test_dask_synchronous_equals_serial(serial: Portfolio, partitions: int) -> None:
    found = replay_accounts_dask(
        [timeline(seed) for seed in SEEDS],
        catalog=PRICES,
        partitions=partitions,
        scheduler="synchronous",
    )
    assert found == serial
    assert found.to_dict() == serial.to_dict()


def test_dask_from_a_bag_built_on_the_workers(serial: Portfolio) -> None:
    seeds = dask.bag.from_sequence(SEEDS, npartitions=3)
    found = replay_accounts_dask(seeds, build=timeline, catalog=PRICES, scheduler="synchronous")
    assert found == serial


def test_dask_on_local_processes_equals_serial(serial: Portfolio) -> None:
    """Everything crosses process boundaries (pickled both ways) and comes back equal."""
    found = replay_accounts_dask(SEEDS, build=timeline, catalog=PRICES, partitions=2)
    assert found == serial


def test_results_are_picklable(serial: Portfolio) -> None:
    assert pickle.loads(pickle.dumps(serial)) == serial
    assert pickle.loads(pickle.dumps(timeline(3))) == timeline(3)


def test_the_catalog_is_one_node_of_the_graph() -> None:
    """Catalog and policies are shipped once (one graph key), not once per account."""
    bag = summaries_bag(range(50), build=timeline, catalog=PRICES, partitions=5)
    graph = dict(bag.__dask_graph__())
    holding = [key for key, task in graph.items() if MARKER.encode() in pickle.dumps(task)]
    assert len(holding) == 1
    assert bag.npartitions == 5


def test_revenue_impact_of_a_price_change(serial: Portfolio) -> None:
    after = replay_accounts(SEEDS, build=timeline, catalog=RAISED)
    impact = revenue_impact(serial, after)
    assert impact.before == serial.total
    assert impact.after == after.total
    assert impact.delta == after.total - serial.total
    assert impact.delta.amount > 0
    assert impact.relative is not None
    assert Decimal("0") < impact.relative <= Decimal("0.10")  # serverless is a part of it
    assert sum((a.delta for a in impact.accounts), Money.zero()) == impact.delta
    deltas = [abs(a.delta.amount) for a in impact.accounts]
    assert deltas == sorted(deltas, reverse=True)
    assert "accounts: 24" in impact.text()
    assert revenue_impact(serial, serial).changed == ()


def test_revenue_impact_needs_the_same_accounts(serial: Portfolio) -> None:
    fewer = replay_accounts(SEEDS[:-1], build=timeline, catalog=PRICES)
    with pytest.raises(InvalidArgument) as info:
        revenue_impact(serial, fewer)
    assert "account-023" in str(info.value)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(InvalidArgument) as info:
        replay_accounts([timeline(1), timeline(1)], catalog=PRICES)
    assert info.value.field == "name"
    assert info.value.value == "account-001"
    with pytest.raises(InvalidArgument) as info:
        replay_accounts([1, 2], catalog=PRICES)
    assert info.value.field == "accounts"
    with pytest.raises(InvalidArgument) as info:
        AccountTimeline(name=" ", resources=[], events=[], until="2025-12-01T00:00:00Z")
    assert info.value.field == "name"
    with pytest.raises(InvalidArgument) as info:
        replay_accounts([], catalog=PRICES).summary("nobody")
    assert info.value.field == "name"


def test_policies_apply_to_every_account(serial: Portfolio) -> None:
    """Hourly metering (P-GRAIN) bills every endpoint's started hours, on both paths."""
    hourly = Policies(grain=MeteringGrain.PER_HOUR)
    found = replay_accounts(SEEDS, build=timeline, catalog=PRICES, policies=hourly)
    assert found.total.amount > serial.total.amount
    for seed in SEEDS:
        account = timeline(seed)
        result = simulate(
            account.resources,
            account.events,
            until=account.until,
            catalog=PRICES,
            policies=hourly,
        )
        assert found.summary(account.name).total == result.total
    assert found == replay_accounts_dask(
        SEEDS, build=timeline, catalog=PRICES, policies=hourly, scheduler="synchronous"
    )


def test_without_dask_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without the extra gets `MissingDependency` naming it, not an ImportError."""
    monkeypatch.setitem(sys.modules, "dask.bag", None)  # what an absent package looks like
    with pytest.raises(MissingDependency) as info:
        replay_accounts_dask(SEEDS, build=timeline)
    assert info.value.field == "dask"
    assert "together-billing[dask]" in str(info.value)


def test_to_dict_is_json_with_exact_figures(serial: Portfolio) -> None:
    import json

    data = json.loads(json.dumps(serial.to_dict()))
    assert data["accounts"] == len(SEEDS)
    assert Decimal(data["total"]) == serial.total.amount
    out = serial.exhausted()[0]
    (found,) = [s for s in data["summaries"] if s["name"] == out.name]
    assert out.runway is not None
    micros = to_micros(out.exhausted_at) - to_micros(out.start)  # type: ignore[arg-type]
    assert Decimal(found["runway_seconds"]) * 1_000_000 == micros
    assert found["exhausted_at"] == out.exhausted_at.isoformat()  # type: ignore[union-attr]
    assert "E" not in found["runway_seconds"]
    assert [row.to_dict()["amount"] for row in out.rows] == [str(r.amount) for r in out.rows]
