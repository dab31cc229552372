"""The typed vocabulary of a replay: log actions (`Action`) and ledger kinds (`LedgerKind`).

Every text the engine logs is an `Action` member, and every ledger movement's kind a
`LedgerKind` member; both are `StrEnum`s, so they equal their text and print and serialise
as that text (JSON and golden outputs stay byte-identical). These tests enumerate where
the texts come from: the engine's source, the golden example logs, and a broad generated
sample of replays; and they pin the one reading of a runway (`exhausted_at`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Account,
    Action,
    Catalog,
    DedicatedEndpoint,
    Deploy,
    HardwarePrice,
    InvalidArgument,
    LedgerEntry,
    LedgerKind,
    LogEntry,
    Policies,
    Purchase,
    exhausted_at,
    instant,
    simulate,
)
from together_billing.accounts import AccountSummary
from together_billing.compare import compare
from together_billing.credits import Ledger
from together_billing.forecast import forecast
from together_billing.plot import balance_series
from together_billing.scenario import Scenario
from together_billing.strategies import accounts, scenarios
from together_billing.testing import END_ACTIONS, runway

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "together_billing"
#: The engine's public face and (after the split) its private package.
ENGINE_SOURCES = [SRC / "engine.py", *sorted((SRC / "_engine").rglob("*.py"))]
RULE_ID = re.compile(r"\b(G|SL|FT|DE|CL|ST|IN|CR)\d+\b")

# -- where the action texts come from ------------------------------------------------------


def _log_calls() -> Iterator[tuple[str, ast.expr]]:
    """``(place, action argument)`` of every ``_log(...)`` call in the engine's source."""
    for path in ENGINE_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("_log", "log"):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            action = node.args[2] if len(node.args) > 2 else keywords.get("action")
            if action is not None:
                yield f"{path.name}:{node.lineno}", action


def _pattern(text: ast.JoinedStr) -> re.Pattern[str]:
    """An f-string as a pattern: its literal parts, and ``.+`` for each substitution."""
    parts = [
        re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in text.values
    ]
    return re.compile("".join(parts))


def test_every_literal_action_the_engine_logs_is_a_member() -> None:
    """Each text the engine's source passes to its log is an `Action`; each composed text
    (``f"{verb} ignored"``, ``f"job {status}"``...) names at least one member. (Texts passed
    through a variable are checked by the replays below.)"""
    values = {action.value for action in Action}
    calls = list(_log_calls())
    assert len(calls) > 40, "the engine's log calls were not found: update _log_calls"
    for place, action in calls:
        if isinstance(action, ast.Constant):
            assert action.value in values, f"{place}: {action.value!r} is not an Action"
        elif isinstance(action, ast.JoinedStr):
            pattern = _pattern(action)
            assert any(pattern.fullmatch(v) for v in values), f"{place}: {ast.unparse(action)}"


def test_the_composed_actions_have_every_member() -> None:
    """Every verb of a late event and every refused beginning has its member (G2, CR3-CR8)."""
    verbs = ["deploy", "start", "ready", "deploy failure", "stop", "delete", "scale"]
    verbs += ["extension", "resize", "requests"]
    assert {Action.ignored(verb) for verb in verbs} == {a for a in Action if a.endswith(" ignored")}
    admitted = ["deploy", "start", "ready", "scale", "extension", "requests", "job"]
    assert {Action.refused(a) for a in admitted} | {Action.BURST_REFUSED} == {
        a for a in Action if a.endswith(" refused")
    }
    assert Action("job completed") is Action.JOB_COMPLETED
    assert Action("storage priced on-demand") is Action.STORAGE_PRICED_ON_DEMAND


def _member_docstrings(path: Path, cls: str) -> dict[str, str]:
    """The docstring under each member of ``cls`` (attribute docstrings live in the source)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    docs: dict[str, str] = {}
    for statement, following in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
        ):
            docs[statement.targets[0].id] = str(following.value.value)
    return docs


@pytest.mark.parametrize(
    ("path", "choice"), [("invoice.py", Action), ("credits.py", LedgerKind)], ids=["Action", "LK"]
)
def test_every_member_is_documented_with_its_rule(path: str, choice: type[Action]) -> None:
    """Each member has a docstring naming the rule (or rules) behind it."""
    docs = _member_docstrings(SRC / path, choice.__name__)
    for member in choice:
        assert member.name in docs, f"{choice.__name__}.{member.name} has no docstring"
        assert RULE_ID.search(docs[member.name]), f"{choice.__name__}.{member.name}: no rule id"


def _golden_actions() -> Iterator[tuple[str, str]]:
    """``(example, action)`` of every row of the ``Log`` tables of the golden outputs."""
    for path in sorted((ROOT / "examples").glob("*.out")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if line != "Log":
                continue
            header = lines[index + 1]
            lo, hi = header.index("action"), header.index("rule")
            for row in lines[index + 2 :]:
                if not row.strip():
                    break
                yield path.name, row[lo:hi].strip()


def test_every_action_of_the_golden_example_logs_is_a_member() -> None:
    """The logs printed by the bundled examples use only `Action` texts."""
    found = list(_golden_actions())
    assert len({example for example, _ in found}) >= 5
    values = {action.value for action in Action}
    assert {text for _, text in found} <= values
    assert {Action.CREDITS_EXHAUSTED, Action.DEPLOYED, Action.PAUSED} <= {
        Action(text) for _, text in found
    }


BROAD = st.one_of(
    scenarios(max_events=10),
    scenarios(accounts=accounts(), max_events=14, max_price_changes=3),
)


@given(BROAD)
def test_a_replay_logs_only_actions_and_ledger_kinds(scenario: Scenario) -> None:
    """Over a broad sample of replays (every resource kind, credits or not, price changes):
    every log entry's action is an `Action`, every ledger entry's kind a `LedgerKind`, and
    their JSON is the plain text."""
    result = scenario.run()
    for entry in result.log:
        assert type(entry.action) is Action
        data = entry.to_dict()
        assert type(data["action"]) is str
        assert data["action"] == entry.action.value
    for movement in result.ledger:
        assert type(movement.kind) is LedgerKind
        assert type(movement.to_dict()["kind"]) is str
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()


# -- Action and LogEntry ---------------------------------------------------------------------


def test_an_action_is_its_text() -> None:
    """A member equals, prints, formats and serialises as its text, and hashes like it."""
    action = Action.CREDITS_EXHAUSTED
    assert action == "credits exhausted"
    assert str(action) == f"{action}" == "credits exhausted"
    assert json.dumps({"action": action}) == '{"action": "credits exhausted"}'
    assert {"credits exhausted": 1}[action] == 1
    assert Action.DECOMMISSIONED in END_ACTIONS
    assert "decommissioned" in END_ACTIONS


def test_a_log_entry_converts_its_text_to_an_action() -> None:
    at = instant("2025-11-03T00:00:00Z")
    entry = LogEntry(at=at, resource="ep", action="stopped", rule="DE2")
    assert entry.action is Action.STOPPED
    assert attrs.evolve(entry, detail="x").action is Action.STOPPED
    assert entry.to_dict()["action"] == "stopped"
    assert LogEntry(at=at, resource="ep", action=Action.READY, rule="DE2").action is Action.READY


def test_an_unknown_action_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument, match="action") as caught:
        LogEntry(at=instant("2025-11-03T00:00:00Z"), resource="ep", action="exploded", rule="")
    assert caught.value.field == "action"
    assert caught.value.value == "exploded"
    assert "'credits exhausted'" in caught.value.expected


# -- LedgerKind ------------------------------------------------------------------------------


def test_ledger_kinds_are_members_for_every_movement() -> None:
    """Purchase, grant, recharge, consumption, debt settlement and expiry: each a member."""
    ledger = Ledger()
    ledger.add(0, "purchase", Decimal(10))
    ledger.add(0, LedgerKind.GRANT, Decimal(5), expires=10)
    ledger.add(1, "recharge", Decimal(5))
    ledger.consume(2, Decimal(30), "ep")
    ledger.expire(20)
    ledger.settle(40 * 24 * 3600 * 1_000_000)
    kinds = [entry.kind for entry in ledger.entries]
    assert kinds == [
        LedgerKind.PURCHASE,
        LedgerKind.GRANT,
        LedgerKind.RECHARGE,
        LedgerKind.CONSUMPTION,
        LedgerKind.SETTLEMENT,
    ]
    assert all(type(kind) is LedgerKind for kind in kinds)
    assert [entry.to_dict()["kind"] for entry in ledger.entries] == [k.value for k in kinds]
    with pytest.raises(InvalidArgument, match="kind"):
        ledger.add(0, "gift", Decimal(1))
    with pytest.raises(InvalidArgument, match="kind"):
        LedgerEntry(at_micros=0, kind="gift", amount=Decimal(1), balance=Decimal(1))


def test_an_expiry_is_a_ledger_kind() -> None:
    ledger = Ledger()
    ledger.add(0, "grant", Decimal(5), expires=10)
    ledger.expire(10)
    assert ledger.entries[-1].kind is LedgerKind.EXPIRY


# -- the runway: one reading of the log ------------------------------------------------------

PRICES = Catalog([HardwarePrice("1x_g", "6", "2025-01-01T00:00:00Z")])


def _runs_out_twice() -> Scenario:
    """$6/h from 00:00 on $10: out at 01:40 (CR2), the endpoint stopped (CR8, 2026); a $10
    purchase at 03:00 restores (CR7); another endpoint from 04:00 runs out again at 05:40."""
    return Scenario(
        resources=[
            DedicatedEndpoint("ep", model="m", hardware="1x_g"),
            DedicatedEndpoint("later", model="m", hardware="1x_g"),
            Account(opening_balance=10),
        ],
        events=[
            Deploy("2025-11-03T00:00:00Z", "ep"),
            Purchase("2025-11-03T03:00:00Z", "account", 10),
            Deploy("2025-11-03T04:00:00Z", "later"),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=PRICES,
        policies=Policies.for_edition("2026"),
    )


def test_exhausted_at_is_the_first_exhaustion_after_since() -> None:
    """The first `credits exhausted` entry (CR2), at or after ``since``; ``None`` without."""
    result = _runs_out_twice().run()
    instants = [e.at for e in result.log if e.action is Action.CREDITS_EXHAUSTED]
    assert len(instants) == 2
    assert exhausted_at(result.log) == instants[0] == instant("2025-11-03T01:40:00Z")
    assert exhausted_at(result.log, since=instants[0]) == instants[0]
    assert exhausted_at(result.log, since=instants[0].add(microseconds=1)) == instants[1]
    assert exhausted_at(result.log, since=instants[1].add(microseconds=1)) is None
    assert exhausted_at(()) is None
    unfunded = simulate(
        [DedicatedEndpoint("ep", model="m", hardware="1x_g")],
        [Deploy("2025-11-03T00:00:00Z", "ep")],
        until="2025-11-04T00:00:00Z",
        catalog=PRICES,
    )
    assert exhausted_at(unfunded.log) is None
    assert runway(unfunded) is None


def test_every_reader_of_the_runway_agrees() -> None:
    """testing.runway, a forecast's runway, a comparison, an account summary and the
    balance series all give the one instant `exhausted_at` reads from the log."""
    scenario = _runs_out_twice()
    result = scenario.run()
    first = exhausted_at(result.log)
    assert first is not None
    assert runway(result) == first
    assert balance_series(result).exhaustion == first
    summary = AccountSummary.of("a", result, start=result.start)
    assert summary.exhausted_at == first
    assert compare(result, result).run_outs == (first, first)
    outlook = forecast(scenario, at="2025-11-03T00:30:00Z", until="2025-11-04T00:00:00Z")
    assert outlook.runway is not None
    assert outlook.runway.exhausted_at == first
