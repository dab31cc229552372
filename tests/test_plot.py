"""The credit balance over time: `balance_series` (exact, pure) and `plot_balance` (PNG).

The series is checked against the ledger it comes from (points at every entry,
linear between them, a step at every instant movement), against the log (the
marks), and over generated replays against an independent sum of the ledger's
movements. The picture is checked for a valid, deterministic PNG, and for a clear
error when matplotlib is missing.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from together_billing import (
    Account,
    BillingError,
    DedicatedEndpoint,
    Deploy,
    InvalidArgument,
    NaiveDatetimeError,
    Purchase,
    SimulationResult,
    Stop,
    simulate,
)
from together_billing.credits import LedgerEntry
from together_billing.errors import MissingDependency
from together_billing.plot import BalancePoint, BalanceSeries, balance_series, plot_balance
from together_billing.scenario import run_scenario
from together_billing.strategies import accounts, scenarios
from together_billing.time import from_micros, instant, to_micros

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENDPOINT = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")


def _small() -> SimulationResult:
    """$100, an endpoint at $3.99/h from 09:00 to 11:00, $20 bought at 11:30, until 12:00."""
    return simulate(
        [ENDPOINT, Account(opening_balance=100, linked_card=True)],
        [
            Deploy("2025-11-03T09:00:00Z", "ep"),
            Stop("2025-11-03T11:00:00Z", "ep"),
            Purchase("2025-11-03T11:30:00Z", "account", amount=20),
        ],
        until="2025-11-03T12:00:00Z",
    )


@pytest.fixture(scope="module")
def run_out() -> SimulationResult:
    return run_scenario(ROOT / "examples" / "credits-run-out.yaml")


def _exact(entries: Sequence[LedgerEntry], probes: Iterable[int]) -> dict[int, Fraction]:
    """The balance at each probed instant, summed from the ledger's movements.

    Independent of the series (it reads the movements' amounts, not the balances): an
    instant movement counts in full from its instant on; a continuous draw counts in
    proportion to the part of its span ``[since, at]`` already past. One pass over the
    movements in time order, the probes sorted alike: a draw in progress adds
    ``rate * t - rate * since``, so three running sums (the movements complete, the
    rates and the ``rate * since`` of the draws in progress) give any instant's
    balance. Linear in the ledger, whatever the number of probes.
    """
    moves: list[tuple[int, Fraction, Fraction, Fraction]] = []  # (at, amount, rate, rate*since)
    for entry in entries:
        amount = Fraction(entry.amount)
        since = entry.since_micros
        if since is None or since >= entry.at_micros:
            moves.append((entry.at_micros, amount, Fraction(0), Fraction(0)))
            continue
        rate = amount / (entry.at_micros - since)
        moves.append((since, Fraction(0), rate, rate * since))
        moves.append((entry.at_micros, amount, -rate, -rate * since))
    moves.sort(key=lambda move: move[0])
    complete = rate_sum = offset = Fraction(0)
    balances: dict[int, Fraction] = {}
    index = 0
    for at in sorted(set(probes)):
        while index < len(moves) and moves[index][0] <= at:
            _, amount, rate, rate_since = moves[index]
            complete, rate_sum, offset = complete + amount, rate_sum + rate, offset + rate_since
            index += 1
        balances[at] = complete + rate_sum * at - offset
    return balances


def test_the_independent_sum_of_the_ledger(run_out: SimulationResult) -> None:
    """The checker itself: the naive sum halfway through a draw, the balances at entries, 0 before."""
    ledger = run_out.ledger
    draw = next(e for e in ledger if e.since_micros is not None and e.since_micros < e.at_micros)
    assert draw.since_micros is not None
    middle = (draw.since_micros + draw.at_micros) // 2
    probes = [ledger[0].at_micros - 1, draw.since_micros, middle, draw.at_micros]
    got = _exact(ledger, probes)
    assert got[ledger[0].at_micros - 1] == 0
    for at in probes[1:]:
        naive = Fraction(0)
        for entry in ledger:
            since = entry.since_micros
            if entry.at_micros <= at:
                naive += Fraction(entry.amount)
            elif since is not None and since < at:
                naive += Fraction(entry.amount) * Fraction(at - since, entry.at_micros - since)
        assert got[at] == naive, at
    # The ledger's balances are carried to 50 digits: the sum agrees with them to 10**-30.
    at_entries = _exact(ledger, [entry.at_micros for entry in ledger])
    for entry, following in itertools.pairwise((*ledger, None)):
        if following is None or following.at_micros != entry.at_micros:
            assert abs(at_entries[entry.at_micros] - Fraction(entry.balance)) < Fraction(1, 10**30)


# -- balance_series ------------------------------------------------------------------------------


def test_points_of_a_small_replay() -> None:
    """A draw is a slope from its span's start; a purchase is a step at its instant."""
    series = balance_series(_small())
    assert [(point.at.isoformat(), point.balance) for point in series.points] == [
        ("2025-11-03T09:00:00+00:00", Decimal(100)),
        ("2025-11-03T11:00:00+00:00", Decimal("92.02")),
        ("2025-11-03T11:30:00+00:00", Decimal("92.02")),
        ("2025-11-03T11:30:00+00:00", Decimal("112.02")),
        ("2025-11-03T12:00:00+00:00", Decimal("112.02")),
    ]
    assert series.start == instant("2025-11-03T09:00:00Z")
    assert series.end == instant("2025-11-03T12:00:00Z")


def test_points_are_exact_at_ledger_entries(run_out: SimulationResult) -> None:
    """At every instant with ledger movements the series is the exact sum of the movements
    up to it, each continuous draw spread over its span (draws are booked when a
    resource's rate changes, so their spans overlap), and it ends at the final balance."""
    series = balance_series(run_out)
    ledger = run_out.ledger
    exact = _exact(ledger, [entry.at_micros for entry in ledger])
    for entry in ledger:
        got = Fraction(series.balance_at(entry.at))
        assert abs(got - exact[entry.at_micros]) < Fraction(1, 10**30), entry
    assert series.final_balance == run_out.balance
    # Overlapping spans: the case the ledger's own running balance cannot show.
    spans = [(e.since_micros, e.at_micros) for e in ledger if e.since_micros is not None]
    assert any(a[1] > b[0] and a != b for a, b in itertools.pairwise(sorted(spans)))


def test_interpolation_is_exact() -> None:
    """Between points the balance is linear and exact: $3.99/h from $100."""
    series = balance_series(_small())
    assert series.balance_at("2025-11-03T10:00:00Z") == Decimal("96.01")
    assert series.balance_at("2025-11-03T09:20:00Z") == Decimal("98.67")
    one_micro = from_micros(to_micros(instant("2025-11-03T09:00:00Z")) + 1)
    got = series.balance_at(one_micro)
    assert abs(Fraction(got) - (100 - Fraction("7.98") / 7_200_000_000)) < Fraction(1, 10**45)


def test_a_step_is_right_continuous() -> None:
    """Just before a purchase the balance is the old one; at its instant, the new one."""
    series = balance_series(_small())
    assert series.balance_at("2025-11-03T11:29:59.999999Z") == Decimal("92.02")
    assert series.balance_at("2025-11-03T11:30:00Z") == Decimal("112.02")
    assert series.balance_at("2025-11-03T11:45:00Z") == Decimal("112.02")


def test_balance_at_outside_the_replay_names_the_field() -> None:
    series = balance_series(_small())
    with pytest.raises(InvalidArgument) as caught:
        series.balance_at("2025-11-03T08:59:59Z")
    assert caught.value.field == "at"
    assert "2025-11-03T09:00:00+00:00" in str(caught.value)
    with pytest.raises(InvalidArgument):
        series.balance_at("2025-11-03T12:00:00.000001Z")
    with pytest.raises(NaiveDatetimeError):
        series.balance_at("2025-11-03T10:00:00")


def test_marks_match_the_log(run_out: SimulationResult) -> None:
    """Exhaustion is the first CR2 entry; alerts and actions are the credit rules' entries."""
    series = balance_series(run_out)
    log = run_out.log
    assert series.exhaustion == instant("2025-11-03T11:24:49.389703Z")
    assert series.exhaustion == next(e.at for e in log if e.action == "credits exhausted")
    assert series.alerts == tuple(e for e in log if e.action == "alert" and e.rule == "CR6")
    assert len(series.alerts) == 6
    # The reservation's end alert (CL5) is not about credits.
    assert all(entry.rule.startswith("CR") for entry in series.alerts)
    assert series.actions == tuple(
        e for e in log if e.rule.startswith("CR") and e.action != "alert"
    )
    actions = {entry.action for entry in series.actions}
    assert {"API access suspended", "paused", "decommissioned", "data deleted"} <= actions
    assert {"credits purchased", "credits restored", "access restored"} <= actions
    assert "ready" not in actions


def test_no_exhaustion_mark_when_credits_last() -> None:
    series = balance_series(_small())
    assert series.exhaustion is None
    assert series.alerts == ()


def test_credits_run_out_example_ends_at_the_final_balance(run_out: SimulationResult) -> None:
    series = balance_series(run_out)
    assert run_out.balance is not None
    assert series.final_balance == run_out.balance
    assert series.balance_at(series.end) == run_out.balance
    assert series.end == run_out.state.at == instant("2025-12-01T00:00:00Z")
    assert series.start == instant("2025-11-01T00:00:00Z")
    assert series.points[0].balance == Decimal(1500)
    # Several resources drawing over one span make one segment: time never goes back.
    times = [point.at_micros for point in series.points]
    assert times == sorted(times)


def test_floor_comes_from_the_policies(run_out: SimulationResult) -> None:
    """2026 edition: prepaid to $0; the default (2025-11) edition: postpaid to -$100."""
    assert balance_series(run_out).floor == Decimal(0)
    assert balance_series(_small()).floor == Decimal(-100)


def test_no_account_names_the_field() -> None:
    result = simulate(
        [ENDPOINT], [Deploy("2025-11-03T09:00:00Z", "ep")], until="2025-11-04T00:00:00Z"
    )
    with pytest.raises(InvalidArgument) as caught:
        balance_series(result)
    assert caught.value.field == "result"
    assert "Account" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_to_dict_is_json_with_exact_decimal_strings(run_out: SimulationResult) -> None:
    series = balance_series(run_out)
    data = json.loads(json.dumps(series.to_dict()))
    assert data["floor"] == "0"
    assert data["exhaustion"] == "2025-11-03T11:24:49.389703+00:00"
    assert len(data["points"]) == len(series.points)
    for point, shown in zip(series.points, data["points"], strict=True):
        assert "E" not in shown["balance"]
        assert Decimal(shown["balance"]) == point.balance
        assert shown["at"] == point.at.isoformat()
    assert Decimal(data["final_balance"]) == run_out.balance
    assert [a["action"] for a in data["alerts"]] == ["alert"] * 6
    assert len(data["actions"]) == len(series.actions)


def test_a_series_needs_points_in_time_order() -> None:
    marks = {"floor": Decimal(0), "exhaustion": None, "alerts": (), "actions": ()}
    with pytest.raises(InvalidArgument) as caught:
        BalanceSeries(points=(BalancePoint(2, Decimal(1)), BalancePoint(1, Decimal(1))), **marks)
    assert caught.value.field == "points"
    with pytest.raises(InvalidArgument):
        BalanceSeries(points=(), **marks)


#: Instants probed per example, besides the first and the last. The check is one pass over
#: the ledger (see _exact), so a recharge storm of thousands of entries costs milliseconds.
PROBES = 12


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(scenarios(accounts=accounts(), max_events=8), st.data())
def test_series_matches_the_ledger_everywhere(scenario, data) -> None:
    """At any instant of any replay, the series equals the sum of the ledger's movements."""
    result = scenario.run()
    series = balance_series(result)
    times = [point.at_micros for point in series.points]
    assert times == sorted(times)
    assert series.final_balance == result.balance
    first, last = times[0], times[-1]
    points = st.sampled_from(times)
    anywhere = st.integers(first, last)
    probes = [first, last, *data.draw(st.lists(points | anywhere, max_size=PROBES - 2))]
    exact = _exact(result.ledger, probes)
    for at in probes:
        got = Fraction(series.balance_at(from_micros(at)))
        assert abs(got - exact[at]) < Fraction(1, 10**30), at


# -- plot_balance --------------------------------------------------------------------------------


def test_plot_writes_a_png(run_out: SimulationResult, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_balance(run_out, tmp_path / "balance.png", title="Credits run out")
    assert path == tmp_path / "balance.png"
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000


def test_plot_is_deterministic(tmp_path: Path) -> None:
    """Same result, same bytes: no matplotlib version or date is written into the PNG."""
    pytest.importorskip("matplotlib")
    first = plot_balance(_small(), tmp_path / "one.png", width=6, height=4, dpi=80)
    second = plot_balance(_small(), str(tmp_path / "two.png"), width=6, height=4, dpi=80)
    assert first.read_bytes() == second.read_bytes()
    assert b"matplotlib" not in first.read_bytes()


def test_plot_takes_a_floor(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_balance(_small(), tmp_path / "floor.png", floor="-50")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(InvalidArgument) as caught:
        plot_balance(_small(), tmp_path / "float.png", floor=-50.0)
    assert caught.value.field == "floor"


def test_plot_without_an_account_names_the_field(tmp_path: Path) -> None:
    result = simulate(
        [ENDPOINT], [Deploy("2025-11-03T09:00:00Z", "ep")], until="2025-11-04T00:00:00Z"
    )
    with pytest.raises(InvalidArgument) as caught:
        plot_balance(result, tmp_path / "none.png")
    assert caught.value.field == "result"


def test_plot_without_matplotlib_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependency) as caught:
        plot_balance(_small(), tmp_path / "balance.png")
    error = caught.value
    assert isinstance(error, BillingError)
    assert isinstance(error, ImportError)
    assert error.name == "matplotlib"
    assert str(error) == "plot_balance needs matplotlib: pip install 'together-billing[plot]'"
    assert not (tmp_path / "balance.png").exists()


def test_importing_the_module_does_not_import_matplotlib() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    code = "import sys, together_billing.plot; print('matplotlib' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
