"""Testing helpers: check a replay against the library's promises, and budget a bill.

:func:`check_invariants` checks a :class:`~together_billing.SimulationResult`
against every invariant the library promises, and raises
:class:`InvariantViolation` naming the broken invariant and the smallest offending
invoice line. Call it from your own tests, property-based ones in particular:

>>> from together_billing import *
>>> endpoint = DedicatedEndpoint("ep-1", model="my-model", hardware="1x_nvidia_h100_80gb_sxm")
>>> events = [Deploy("2025-11-03T09:00:00Z", "ep-1"), Stop("2025-11-03T10:30:00Z", "ep-1")]
>>> result = simulate([endpoint], events, until="2025-12-01T00:00:00Z")
>>> check_invariants(result, resources=[endpoint], events=events)

The budget helpers answer the questions a deployment plan's tests ask: is a
month's bill under a limit, and how long do the credits last?

>>> budget_exceeded(result, "10") is None
True
>>> print(describe_bill(result.invoices[0], limit="5"))
Invoice 2025-11 (final): total 5.99 USD, over the limit of 5.00 USD by 0.99 USD
  ep-1  1x_nvidia_h100_80gb_sxm ready replicas  90 replica-minute x 3.99 USD per \
replica-hour  5.99 USD

The pytest plugin (``together_billing.pytest_plugin``) wraps these in fixtures
and assertions; see the testing page of the documentation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import pendulum

from together_billing._figures import cents
from together_billing.credits import Account, LedgerEntry, LedgerKind
from together_billing.engine import SimulationResult, Simulator
from together_billing.errors import BillingError, InvalidArgument
from together_billing.invoice import Action, Invoice, InvoiceLine, exhausted_at
from together_billing.money import (
    CENT,
    EXACT_CONTEXT,
    Money,
    input_decimal,
    round_to_cents,
    to_decimal,
)
from together_billing.resources import Resource
from together_billing.time import BillingPeriod, from_micros, instant, to_micros
from together_billing.timeline import Event, TokenUsageBatch

if TYPE_CHECKING:
    from together_billing.compare import Comparison
    from together_billing.explain import IdleReport
    from together_billing.scenario import Scenario

__all__ = [
    "CREDIT_TOLERANCE",
    "END_ACTIONS",
    "INVARIANTS",
    "BudgetExceeded",
    "CreditsRunOut",
    "IdleChargesExceeded",
    "InvariantViolation",
    "SpikeDetected",
    "assert_credits_last",
    "assert_idle_under",
    "assert_monthly_bill_under",
    "assert_within_plan",
    "budget_exceeded",
    "check_invariants",
    "describe_bill",
    "describe_draws",
    "runway",
]

#: The invariants :func:`check_invariants` checks, in the order it checks them.
INVARIANTS: Final = (
    "lines-sum-to-total",
    "rounding",
    "credit-conservation",
    "no-charge-after-decommission",
    "replay-reproduces",
    "reordering",
    "splitting",
)

#: The log actions after which a resource must accrue nothing more (CL5, CR4, CR5, ST1).
END_ACTIONS: Final = frozenset({Action.DECOMMISSIONED, Action.DATA_DELETED, Action.DELETED})

#: How far credit sums may drift: ledger draws are quotients carried to 50 digits, and
#: ``SimulationResult.credits`` gives them to the trillionth of a dollar. A billionth of
#: a dollar is far below a cent, and far above that noise.
CREDIT_TOLERANCE: Final = Decimal("1e-9")
_MICROS_PER_SECOND: Final = 1_000_000
_UNIT_STEPS: Final = {"second": 1, "minute": 60, "hour": 3600}

_Replayable: TypeAlias = "SimulationResult | Scenario | str | Path"
"""What the assertions replay: a result, a scenario (as the strategies draw them) or a
scenario file."""

_Limit: TypeAlias = Money | Decimal | int | str
"""A budget: :class:`~together_billing.Money`, or an amount in USD (never a float)."""


class InvariantViolation(BillingError, AssertionError):
    """A replay broke one of the library's promises.

    ``invariant`` is the name of the broken invariant (one of :data:`INVARIANTS`);
    ``line`` is the smallest offending invoice line, or ``None`` when the
    violation is not about one line (then ``entry`` may hold the ledger entry).
    An ``AssertionError``, so pytest reports it as a failed check.
    """

    def __init__(
        self,
        invariant: str,
        message: str,
        *,
        line: InvoiceLine | None = None,
        entry: LedgerEntry | None = None,
    ) -> None:
        self.invariant = invariant
        self.line = line
        self.entry = entry
        msg = f"invariant {invariant!r} violated: {message}"
        if line is not None:
            msg += f"\n  offending line: {_describe_line(line)}"
        if entry is not None:
            msg += f"\n  offending ledger entry: {entry.to_dict()}"
        super().__init__(msg)


class BudgetExceeded(BillingError, AssertionError):
    """A month's bill is over its budget.

    ``invoice`` is the offending month's invoice, ``total`` its total and
    ``limit`` the budget; the message lists the lines, largest first.
    """

    def __init__(self, invoice: Invoice, limit: Money) -> None:
        self.invoice = invoice
        self.total = invoice.total
        self.limit = limit
        super().__init__(describe_bill(invoice, limit=limit))


class CreditsRunOut(BillingError, AssertionError):
    """The credits ran out sooner than required.

    ``exhausted`` is the instant they ran out, ``until`` the instant they were
    required to last to, ``start`` the replay's start (``days`` is how many days
    after ``start`` that is, when the requirement was given in days). The message
    lists what drew the credits until they ran out, per resource, largest first:
    usage paid from the balance, not charges paid another way (a reservation paid
    up front).
    """

    def __init__(
        self,
        result: SimulationResult,
        *,
        start: pendulum.DateTime,
        exhausted: pendulum.DateTime,
        until: pendulum.DateTime,
        days: int | None = None,
    ) -> None:
        self.start = start
        self.exhausted = exhausted
        self.until = until
        self.days = days
        lasted = Decimal((exhausted - start).total_seconds()) / 86400
        required = f"at least {days} days" if days is not None else f"until {until.isoformat()}"
        head = (
            f"credits ran out at {exhausted.isoformat()}, {lasted:.2f} days after the replay's "
            f"start {start.isoformat()}; expected them to last {required}"
        )
        parts = [head]
        credits = result.credits
        mode = result.policies.rounding
        if credits is not None:
            parts.append(
                "  credits: "
                + ", ".join(f"{name} {cents(value, mode)}" for name, value in credits.items())
                + " USD"
            )
        parts.append(describe_draws(result, until=exhausted))
        super().__init__("\n".join(parts))


def describe_draws(result: SimulationResult, *, until: pendulum.DateTime | None = None) -> str:
    """What drew the account's credits (up to ``until``), per resource, largest first.

    Only consumption paid from the balance counts: purchases, grants, expiries and
    charges paid another way (a reservation paid up front) are not draws.
    """
    limit = None if until is None else to_micros(until)
    drawn: dict[str, Decimal] = {}
    for entry in result.ledger:
        if entry.kind is not LedgerKind.CONSUMPTION or (
            limit is not None and entry.at_micros > limit
        ):
            continue
        drawn[entry.resource] = EXACT_CONTEXT.add(
            drawn.get(entry.resource, Decimal(0)), entry.from_credits
        )
    rows = sorted(
        ((resource, amount) for resource, amount in drawn.items() if amount),
        key=lambda pair: (-pair[1], pair[0]),
    )
    if not rows:
        return "  nothing drew the credits"
    width = max(len(resource) for resource, _ in rows)
    mode = result.policies.rounding
    lines = [f"  {resource:<{width}}  {cents(amount, mode)} USD" for resource, amount in rows]
    return "\n".join(["  drawn from the credits, largest first:", *lines])


# -- budgets -------------------------------------------------------------------------------------


def _limit(limit: _Limit) -> Money:
    if isinstance(limit, Money):
        return limit
    return Money(input_decimal(limit, field="limit"))


def _invoices_of(result: SimulationResult, period: BillingPeriod | str | None) -> list[Invoice]:
    if period is None:
        return list(result.invoices)
    return [result.invoice(period)]


def budget_exceeded(
    result: SimulationResult, limit: _Limit, *, period: BillingPeriod | str | None = None
) -> Invoice | None:
    """The invoice of the most expensive month over ``limit``, or ``None`` if none is.

    ``period`` (a :class:`~together_billing.BillingPeriod` or ``"YYYY-MM"``)
    restricts the check to one month; by default every month of the replay,
    the open month's draft included, must stay under ``limit``.
    """
    budget = _limit(limit)
    over = [i for i in _invoices_of(result, period) if i.total > budget]
    if not over:
        return None
    return max(over, key=lambda invoice: invoice.total.amount)


def describe_bill(invoice: Invoice, *, limit: _Limit | None = None) -> str:
    """The invoice's lines, largest first, and its total.

    Each line shows its resource, description, quantity x rate and amount, and says
    when its price is an estimate (not Together's own material nor the user's).
    With ``limit``, the total is compared with it.
    """
    status = invoice.status.value
    head = f"Invoice {invoice.period.label} ({status}): total {invoice.total}"
    if limit is not None:
        budget = _limit(limit)
        if invoice.total > budget:
            head += f", over the limit of {budget.rounded()} by {(invoice.total - budget)}"
        else:
            head += f", within the limit of {budget.rounded()}"
    lines = sorted(invoice.lines, key=lambda line: (-line.amount, line.resource, line.description))
    if not lines:
        return head + "\n  (no lines)"
    width_resource = max(len(line.resource) for line in lines)
    width_description = max(len(line.description) for line in lines)
    charges = [f"{line.quantity} {line.unit} x {line.rate} {line.rate_unit}" for line in lines]
    width_charge = max(len(charge) for charge in charges)
    width_amount = max(len(str(line.money)) for line in lines)
    rows = [
        (
            f"  {line.resource:<{width_resource}}  {line.description:<{width_description}}"
            f"  {charge:<{width_charge}}  {line.money!s:>{width_amount}}"
            + ("  (estimated price)" if line.estimated else "")
        ).rstrip()
        for line, charge in zip(lines, charges, strict=True)
    ]
    return "\n".join([head, *rows])


def runway(result: SimulationResult) -> pendulum.DateTime | None:
    """The instant the credits first ran out (the log's ``credits exhausted``), or ``None``.

    ``None`` also when the replay has no :class:`~together_billing.Account`. The same as
    :func:`~together_billing.exhausted_at` over the result's log.
    """
    return exhausted_at(result.log)


def assert_monthly_bill_under(
    result_or_scenario: _Replayable,
    limit: _Limit,
    *,
    period: BillingPeriod | str | None = None,
) -> SimulationResult:
    """Raise :class:`BudgetExceeded` if a month's bill is over ``limit``.

    ``result_or_scenario`` is a replay's result, a
    :class:`~together_billing.scenario.Scenario` (or a generated one) to replay, or
    the path of a scenario file (see :func:`~together_billing.scenario.run_scenario`). The message
    lists the offending month's lines, largest first, and its total against the
    limit. Returns the result, for further checks.
    """
    __tracebackhide__ = True
    result = _result_of(result_or_scenario)
    invoice = budget_exceeded(result, limit, period=period)
    if invoice is not None:
        raise BudgetExceeded(invoice, _limit(limit))
    return result


def assert_credits_last(
    result_or_scenario: _Replayable,
    until: dt.datetime | dt.date | str | None = None,
    *,
    days: int | None = None,
) -> SimulationResult:
    """Raise :class:`CreditsRunOut` if the credits run out before ``until``.

    ``until`` is an instant (an aware datetime or an ISO 8601 string) or a date
    (a :class:`datetime.date` or ``"YYYY-MM-DD"``, meaning 00:00 UTC that day);
    or give ``days`` instead: that many days after the replay's start.
    ``result_or_scenario`` is a replay's result, a
    :class:`~together_billing.scenario.Scenario` (or a generated one), or the path
    of a scenario file. The replay must have an :class:`~together_billing.Account`
    and must reach ``until``: a replay that ends earlier cannot say whether the
    credits last, and raises :class:`~together_billing.InvalidArgument`. The
    message lists what drew the credits, largest first. Returns the result.
    """
    __tracebackhide__ = True
    if (until is None) == (days is None):
        raise InvalidArgument(
            "until", until, "either an instant or date (until=...) or a number of days (days=...)"
        )
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        raise InvalidArgument("days", days, "a whole number of days, 0 or more")
    result = _result_of(result_or_scenario)
    if result.credits is None:
        raise InvalidArgument(
            "result", result, "a replay with an Account among its resources (credits on)"
        )
    start = result.start
    target = start.add(days=days) if days is not None else _horizon(until)
    end = result.state.at
    if target > end:
        field, value = ("days", days) if days is not None else ("until", target.isoformat())
        raise InvalidArgument(
            field,
            value,
            f"an instant the replay reaches: it runs from {start.isoformat()} to "
            f"{end.isoformat()}; replay further (a later until) to check {target.isoformat()}",
        )
    exhausted = runway(result)
    if exhausted is not None and exhausted < target:
        raise CreditsRunOut(result, start=start, exhausted=exhausted, until=target, days=days)
    return result


_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _horizon(value: object) -> pendulum.DateTime:
    """An instant, or a date as 00:00 UTC that day."""
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError as error:
            raise InvalidArgument("until", value, f"a real date ({error})") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pendulum.datetime(value.year, value.month, value.day, tz="UTC")
    return instant(value, field="until")


class SpikeDetected(BillingError, AssertionError):
    """A bill grew against its plan by more than allowed.

    ``comparison`` is the :class:`~together_billing.compare.Comparison` of the plan
    with the actual replay; ``growth`` the total's increase and ``allowed`` the most
    it could grow. The message lists the lines that grew, largest growth first.
    """

    def __init__(self, comparison: Comparison, *, allowed: Money) -> None:
        self.comparison = comparison
        self.growth = comparison.delta
        self.allowed = allowed
        before, after = comparison.before.total, comparison.after.total
        head = (
            f"the bill grew from {before} (plan) to {after}: +{self.growth.amount} USD, "
            f"more than the {allowed.amount} USD allowed"
        )
        grown = sorted(
            (change for change in comparison.changes if change.delta > 0),
            key=lambda change: (-change.delta, change.period, change.resource),
        )
        rows = [
            f"  {change.period}  {change.resource}  {change.description}: "
            f"{_amount_or_dash(change.before)} -> {_amount_or_dash(change.after)} "
            f"(+{change.delta} USD)"
            for change in grown
        ]
        super().__init__("\n".join([head, "  what grew, largest first:", *rows]))


def _amount_or_dash(line: InvoiceLine | None) -> str:
    return "-" if line is None else f"{line.amount} USD"


def assert_within_plan(
    result_or_scenario: _Replayable,
    plan: _Replayable,
    *,
    tolerance: _Limit | None = None,
    ratio: Decimal | int | str | None = None,
) -> SimulationResult:
    """Raise :class:`SpikeDetected` if the bill grew against ``plan`` by more than allowed.

    ``plan`` is the expected replay (a result, a Scenario or a scenario file); the
    bill may exceed the plan's total by ``tolerance`` (USD, default 0) plus
    ``ratio`` of the plan's total (e.g. ``"0.1"`` for 10%, default 0). The failure
    lists what grew, line by line (:func:`~together_billing.compare.compare`).
    Returns the actual result.
    """
    __tracebackhide__ = True
    from together_billing.compare import compare  # noqa: PLC0415 - only when used

    actual = _result_of(result_or_scenario)
    expected = _result_of(plan)
    allowed = _limit(tolerance if tolerance is not None else 0)
    if ratio is not None:
        share = to_decimal(ratio, field="ratio")
        if share < 0:
            raise InvalidArgument("ratio", ratio, "a share of the plan's total, 0 or more")
        allowed = allowed + Money(EXACT_CONTEXT.multiply(expected.total.amount, share)).rounded()
    comparison = compare(expected, actual)
    if comparison.delta > allowed:
        raise SpikeDetected(comparison, allowed=allowed)
    return actual


class IdleChargesExceeded(BillingError, AssertionError):
    """Deployments billed more than allowed while no request came.

    ``report`` is the :class:`~together_billing.explain.IdleReport`, ``limit`` the
    budget. The message lists each idle deployment, its idle intervals and their
    amounts, largest first.
    """

    def __init__(self, report: IdleReport, limit: Money) -> None:
        self.report = report
        self.limit = limit
        mode = report.rounding
        head = (
            f"{cents(report.idle, mode)} USD billed while no request came, over the limit of "
            f"{limit.rounded()}; stopping each deployment after {report.stop_after_minutes} "
            f"idle minutes saves {cents(report.saving, mode)} USD"
        )
        parts = [head]
        for resource in sorted(report.resources, key=lambda r: (-r.idle, r.resource)):
            if not resource.idle:
                continue
            parts.append(
                f"  {resource.resource} ({resource.kind}): {cents(resource.idle, mode)} USD "
                f"idle of {cents(resource.billed, mode)} USD billed, {resource.requests} requests"
            )
            stretches = sorted(
                (s for s in resource.stretches if s.idle), key=lambda s: (-s.idle, s.interval.start)
            )
            parts.extend(
                f"    [{s.interval.start.isoformat()}, {s.interval.end.isoformat()}): "
                f"{cents(s.idle, mode)} USD"
                for s in stretches
            )
        super().__init__("\n".join(parts))


def assert_idle_under(
    scenario: Scenario | str | Path,
    limit: _Limit,
    *,
    stop_after_minutes: int = 60,
) -> IdleReport:
    """Raise :class:`IdleChargesExceeded` if deployments billed over ``limit`` while idle.

    Idle charges are what hosted models and dedicated endpoints accrued while no
    request came (:func:`~together_billing.explain.idle_report`); the scenario
    (a :class:`~together_billing.scenario.Scenario` or a scenario file: its
    requests are needed) is replayed. Returns the report.
    """
    __tracebackhide__ = True
    from together_billing.explain import idle_report  # noqa: PLC0415 - only when used
    from together_billing.scenario import Scenario  # noqa: PLC0415 - pydantic is heavy

    if isinstance(scenario, str | Path):
        scenario = Scenario.from_file(scenario)
    if not isinstance(scenario, Scenario):
        raise InvalidArgument(
            "scenario", scenario, "a Scenario or a scenario file (its requests are needed)"
        )
    budget = _limit(limit)
    report = idle_report(scenario, stop_after_minutes=stop_after_minutes)
    if report.idle > budget.amount:
        raise IdleChargesExceeded(report, budget)
    return report


def _result_of(value: _Replayable) -> SimulationResult:
    if isinstance(value, str | Path):
        from together_billing.scenario import run_scenario  # noqa: PLC0415 - pydantic is heavy

        return run_scenario(value)
    if isinstance(value, SimulationResult):
        return value
    run = getattr(value, "run", None)
    if not callable(run):
        raise InvalidArgument(
            "result_or_scenario",
            value,
            "a SimulationResult, a Scenario or a scenario file's path",
        )
    result = run()
    if not isinstance(result, SimulationResult):
        raise InvalidArgument("result_or_scenario", value, "a scenario whose run() replays it")
    return result


# -- invariants ----------------------------------------------------------------------------------


def check_invariants(
    result: SimulationResult,
    *,
    resources: Iterable[Resource | Account] | None = None,
    events: Iterable[Event] | None = None,
    simulator: Simulator | None = None,
) -> None:
    """Check ``result`` against every invariant the library promises.

    Always checked, on the result alone:

    - ``lines-sum-to-total`` (IN1): each invoice's total is the sum of its lines' amounts.
    - ``rounding`` (G1, P-ROUND): each line's ``amount_exact`` is ``quantity`` x ``rate`` /
      ``rate_per``, and its ``amount`` is ``amount_exact`` rounded to whole cents in the
      result's own rounding mode (``result.policies.rounding``: half-up, half-even, up or
      down; under ``up`` and ``down`` a correct line is up to a cent away).
    - ``credit-conservation`` (CR1), with credits on: purchased + granted (+ settled) ==
      consumed + expired + remaining, and each ledger entry's balance follows from the previous one
      (to :data:`CREDIT_TOLERANCE`, far below a cent).
    - ``no-charge-after-decommission`` (CL5, CR4, CR5, ST1): once the log says a resource
      was ``decommissioned``, ``data deleted`` or ``deleted``, no invoice line bills a unit
      of it starting at or after that instant, and no ledger entry draws credits for it.

    With ``resources`` and ``events`` (the whole input of ``result``), the replay is
    run again with ``simulator`` (by default one with the result's catalog and
    policies):

    - ``replay-reproduces``: replaying the same input gives the same ``to_dict()``.
    - ``reordering``: replaying the events in reverse order (which reverses
      simultaneous events), and the resources in reverse order, gives the same
      ``to_dict()``.
    - ``splitting`` (G3): replaying to the instant of the middle event, then continuing
      from that state with the later events, gives the same invoices.

    Raises :class:`InvariantViolation` for the first invariant broken.
    """
    __tracebackhide__ = True
    _check_totals(result)
    _check_rounding(result)
    _check_credits(result)
    _check_decommission(result)
    if resources is None and events is None:
        return
    if resources is None or events is None:
        msg_field = "resources" if resources is None else "events"
        raise InvalidArgument(msg_field, None, "both resources and events, or neither")
    _check_replays(result, list(resources), list(events), simulator)


def _size(line: InvoiceLine) -> tuple[Any, ...]:
    """Order lines smallest first: by amount, then by when and what they bill."""
    return (
        abs(line.amount),
        abs(line.amount_exact),
        line.interval.start,
        line.resource,
        line.description,
    )


def _smallest(lines: Iterable[InvoiceLine]) -> InvoiceLine | None:
    return min(lines, key=_size, default=None)


def _describe_line(line: InvoiceLine) -> str:
    return (
        f"{line.resource} {line.description!r} ({line.rule}) {line.quantity} {line.unit} "
        f"x {line.rate} {line.rate_unit}, interval [{line.interval.start.isoformat()}, "
        f"{line.interval.end.isoformat()}), amount {line.amount} (exact {line.amount_exact})"
    )


def _check_totals(result: SimulationResult) -> None:
    for invoice in result.invoices:
        lines_sum = sum((line.amount for line in invoice.lines), Decimal(0))
        if invoice.total.amount != lines_sum:
            msg = (
                f"invoice {invoice.period.label} totals {invoice.total.amount} but its "
                f"{len(invoice.lines)} lines sum to {lines_sum}"
            )
            raise InvariantViolation("lines-sum-to-total", msg)


def _check_rounding(result: SimulationResult) -> None:
    mode = result.policies.rounding
    offending: list[tuple[InvoiceLine, str]] = []
    for invoice in result.invoices:
        for line in invoice.lines:
            exact = EXACT_CONTEXT.divide(
                EXACT_CONTEXT.multiply(line.quantity, line.rate), line.rate_per
            )
            if line.amount_exact != exact:
                reason = f"amount_exact {line.amount_exact} != quantity x rate / rate_per {exact}"
            elif line.amount != line.amount.quantize(CENT):
                reason = f"amount {line.amount} is not whole cents"
            elif line.amount != round_to_cents(line.amount_exact, mode):
                reason = (
                    f"amount {line.amount} is not amount_exact {line.amount_exact} rounded "
                    f"{mode.value} to cents ({round_to_cents(line.amount_exact, mode)}), the "
                    "replay's rounding policy (P-ROUND)"
                )
            else:
                continue
            offending.append((line, f"invoice {invoice.period.label}: {reason}"))
    if offending:
        line, reason = min(offending, key=lambda pair: _size(pair[0]))
        raise InvariantViolation("rounding", reason, line=line)


def _check_credits(result: SimulationResult) -> None:
    credits = result.credits
    if credits is None:
        return
    credits_in = EXACT_CONTEXT.add(credits["purchased"], credits["granted"])
    # Debt billed on a closed period's invoice is settled back into the balance.
    credits_in = EXACT_CONTEXT.add(credits_in, credits.get("settled", Decimal(0)))
    credits_out = EXACT_CONTEXT.add(
        EXACT_CONTEXT.add(credits["consumed"], credits["expired"]), credits["remaining"]
    )
    if abs(EXACT_CONTEXT.subtract(credits_in, credits_out)) > CREDIT_TOLERANCE:
        msg = (
            f"purchased {credits['purchased']} + granted {credits['granted']} = {credits_in}, "
            f"but consumed {credits['consumed']} + expired {credits['expired']} + remaining "
            f"{credits['remaining']} = {credits_out}"
        )
        raise InvariantViolation("credit-conservation", msg)
    balance = Decimal(0)
    for entry in result.ledger:
        balance = EXACT_CONTEXT.add(balance, entry.amount)
        if abs(EXACT_CONTEXT.subtract(entry.balance, balance)) > CREDIT_TOLERANCE:
            msg = f"ledger balance {entry.balance} after this entry, expected {balance}"
            raise InvariantViolation("credit-conservation", msg, entry=entry)
    if abs(EXACT_CONTEXT.subtract(balance, credits["remaining"])) > CREDIT_TOLERANCE:
        msg = f"the ledger's last balance {balance} is not the remaining {credits['remaining']}"
        raise InvariantViolation("credit-conservation", msg)


def _unit_step(line: InvoiceLine) -> int:
    """Microseconds of one billed unit of a time-based line (0 for one-off charges).

    A time-based line's interval runs to the end of its last started unit (IN1).
    """
    if line.interval.start == line.interval.end:
        return 0
    unit = line.unit.rsplit("-", 1)[-1]
    return _UNIT_STEPS.get(unit, 0) * _MICROS_PER_SECOND


def _check_decommission(result: SimulationResult) -> None:
    ended: dict[str, pendulum.DateTime] = {}
    for log_entry in result.log:
        if log_entry.action in END_ACTIONS and log_entry.resource not in ended:
            ended[log_entry.resource] = log_entry.at
    if not ended:
        return
    offending: list[tuple[InvoiceLine, str]] = []
    for invoice in result.invoices:
        for line in invoice.lines:
            end = ended.get(line.resource)
            if end is None:
                continue
            at = to_micros(end)
            last_unit_start = line.interval.end_micros - _unit_step(line)
            if line.interval.start_micros >= at or (
                line.interval.end_micros > at and last_unit_start >= at
            ):
                reason = (
                    f"{line.resource} was {_end_action(result, line.resource)} at "
                    f"{end.isoformat()}, but invoice {invoice.period.label} bills it up to "
                    f"{line.interval.end.isoformat()}"
                )
                offending.append((line, reason))
    if offending:
        line, reason = min(offending, key=lambda pair: _size(pair[0]))
        raise InvariantViolation("no-charge-after-decommission", reason, line=line)
    for entry in result.ledger:
        end = ended.get(entry.resource)
        if (
            entry.kind is LedgerKind.CONSUMPTION
            and end is not None
            and entry.at_micros > to_micros(end)
        ):
            msg = (
                f"{entry.resource} was {_end_action(result, entry.resource)} at "
                f"{end.isoformat()}, but credits were drawn for it at {entry.at.isoformat()}"
            )
            raise InvariantViolation("no-charge-after-decommission", msg, entry=entry)


def _end_action(result: SimulationResult, resource: str) -> str:
    return next(e.action for e in result.log if e.resource == resource and e.action in END_ACTIONS)


def _as_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True)


def _first_difference(expected: Any, got: Any, path: str = "") -> str:
    """Where two ``to_dict()`` values first differ, as ``path: expected != got``."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if expected.get(key) != got.get(key):
                return _first_difference(expected.get(key), got.get(key), f"{path}.{key}")
    elif isinstance(expected, list) and isinstance(got, list):
        for index, (left, right) in enumerate(zip(expected, got, strict=False)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
        if len(expected) != len(got):
            return f"{path}: {len(expected)} items != {len(got)} items"
    return f"{path or '.'}: {expected!r} != {got!r}"


def _differing_line(expected: Sequence[Invoice], got: Sequence[Invoice]) -> InvoiceLine | None:
    """The smallest line of ``expected`` (else of ``got``) that the other does not have."""
    seen_got = {_as_json(line.to_dict()) for invoice in got for line in invoice.lines}
    seen_expected = {_as_json(line.to_dict()) for invoice in expected for line in invoice.lines}
    missing = [
        line
        for invoice in expected
        for line in invoice.lines
        if _as_json(line.to_dict()) not in seen_got
    ]
    extra = [
        line
        for invoice in got
        for line in invoice.lines
        if _as_json(line.to_dict()) not in seen_expected
    ]
    return _smallest(missing) or _smallest(extra)


def _compare(
    invariant: str,
    how: str,
    result: SimulationResult,
    other: SimulationResult,
    *,
    invoices_only: bool = False,
) -> None:
    if invoices_only:
        expected: Any = [invoice.to_dict() for invoice in result.invoices]
        got: Any = [invoice.to_dict() for invoice in other.invoices]
        where = "invoices"
    else:
        expected, got = result.to_dict(), other.to_dict()
        where = ""
    if expected == got:
        return
    difference = _first_difference(expected, got, where)
    msg = f"{how} changed the result; first difference at {difference}"
    raise InvariantViolation(invariant, msg, line=_differing_line(result.invoices, other.invoices))


def _default_simulator(result: SimulationResult) -> Simulator:
    # The state's catalog holds the replay's price changes too; applying them again
    # replaces each with itself, so a replay with it bills the same.
    return Simulator(result.state.catalog, result.policies)


def _instant(event: Event) -> int:
    return to_micros(event.at)


def _split_instant(events: Sequence[Event]) -> int | None:
    """The instant of the middle event, moved forward past any batch that would straddle it."""
    if len(events) < 2:
        return None
    ordered = sorted(events, key=lambda event: event.sort_key())
    batches = [
        (event.at_micros[0], event.at_micros[-1])
        for event in ordered
        if isinstance(event, TokenUsageBatch)
    ]
    for candidate in ordered[len(ordered) // 2 :]:
        cut = _instant(candidate)
        if all(not lo <= cut < hi for lo, hi in batches):
            return cut
    return None


def _check_replays(
    result: SimulationResult,
    resources: list[Resource | Account],
    events: list[Event],
    simulator: Simulator | None,
) -> None:
    sim = simulator if simulator is not None else _default_simulator(result)
    start = result.start
    until = result.state.at
    again = sim.run(resources, events, until=until, start=start)
    _compare("replay-reproduces", "replaying the same resources and events", result, again)
    reversed_events = sim.run(resources, events[::-1], until=until, start=start)
    _compare("reordering", "replaying the events in reverse order", result, reversed_events)
    reversed_resources = sim.run(resources[::-1], events, until=until, start=start)
    _compare(
        "reordering", "replaying with the resources in reverse order", result, reversed_resources
    )
    cut = _split_instant(events)
    if cut is None:
        return
    before = [e for e in events if _last_instant(e) <= cut]
    after = [e for e in events if _last_instant(e) > cut]
    middle = from_micros(cut)
    first = sim.run(resources, before, until=middle, start=start)
    rest = sim.run([], after, until=until, state=first.state)
    _compare(
        "splitting",
        f"replaying to {middle.isoformat()} and continuing from its state",
        result,
        rest,
        invoices_only=True,
    )


def _last_instant(event: Event) -> int:
    if isinstance(event, TokenUsageBatch):
        return event.at_micros[-1]
    return _instant(event)
