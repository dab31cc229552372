"""Forecasts: the open period's bill, the next periods', and the credit runway.

A forecast is a replay, never a second implementation. The scenario is replayed up
to an instant ``at`` (its history); the replay then *continues* from that state
over an assumed future: the scenario's own events after ``at`` (what is already
planned), plus the assumed use, written out as ordinary events. Everything a
replay produces follows: the open period's draft becomes a projected invoice, the
next periods are invoiced, and the credit rules run, with their alerts and
lifecycle actions and the exact instant the credits run out.

The assumed use is either explicit events or :class:`SteadyUsage`: the use of a
window of history (tokens per serverless resource, requests per running
deployment) repeated at the same steady rate.

>>> from together_billing import Account, DedicatedEndpoint, Deploy, Purchase
>>> from together_billing.scenario import Scenario
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> plan = Scenario(
...     resources=[endpoint, Account(opening_balance=100, linked_card=True)],
...     events=[Deploy("2025-11-03T09:00:00Z", "ep")],
...     until="2025-11-03T12:00:00Z",
... )
>>> outlook = forecast(plan, until="2025-11-06T00:00:00Z")
>>> outlook.runway.exhausted_at.isoformat()
'2025-11-05T11:07:31.127820+00:00'
>>> [str(entry.action) for entry in outlook.actions]
['credits exhausted', 'API access suspended', 'stopped']
>>> str(outlook.open_invoice.total)
'200.03 USD'
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pendulum

from together_billing._figures import plain, trillionths
from together_billing.engine import SimulationResult
from together_billing.errors import InvalidArgument
from together_billing.invoice import Action, Invoice, LogEntry, exhausted_at
from together_billing.money import Money
from together_billing.resources import DedicatedEndpoint, FineTunedHosting, ServerlessUsage
from together_billing.scenario import Scenario
from together_billing.time import (
    MICROS_PER_MINUTE,
    BillingPeriod,
    exact_seconds,
    from_micros,
    instant,
    to_micros,
)
from together_billing.timeline import Event, Requests, TokenUsage, TokenUsageBatch

__all__ = ["Forecast", "Runway", "SteadyUsage", "forecast"]


def _positive_minutes(instance: object, attribute: Any, value: int) -> None:
    if type(value) is not int or value < 1:
        raise InvalidArgument(attribute.name, value, "an integer >= 1", context="SteadyUsage")


def _window(value: object) -> pendulum.DateTime | None:
    return None if value is None else instant(value, field="window")


@attrs.frozen(kw_only=True)
class SteadyUsage:
    """Assume the future uses what a window of history used, at the same steady rate.

    For each serverless resource, the tokens of the window (input, output and
    cached input, kept apart for batch and real-time use); for each deployment
    running at the forecast's start, the requests of the window. They are spread
    evenly over the future as one record every ``step_minutes``, with integer
    counts whose running total never drifts: after any span, the total is the
    window's rate times the span, rounded down.

    ``window_start`` and ``window_end`` bound the window (``[start, end)``); the
    default window is the 7 days before the forecast's start.
    """

    window_start: pendulum.DateTime | None = attrs.field(default=None, converter=_window)
    window_end: pendulum.DateTime | None = attrs.field(default=None, converter=_window)
    window_days: int = attrs.field(default=7, validator=_positive_minutes)
    step_minutes: int = attrs.field(default=60, validator=_positive_minutes)

    def window(self, at: pendulum.DateTime) -> tuple[pendulum.DateTime, pendulum.DateTime]:
        """The window used for a forecast starting at ``at``."""
        end = self.window_end if self.window_end is not None else at
        start = self.window_start
        if start is None:
            start = end.subtract(days=self.window_days)
        if not start < end <= at:
            raise InvalidArgument(
                "window",
                f"[{start.isoformat()}, {end.isoformat()})",
                f"a non-empty window ending at or before the forecast's start {at.isoformat()}",
                context="SteadyUsage",
            )
        return start, end

    def events(
        self, scenario: Scenario, history: SimulationResult, at: object, until: object
    ) -> tuple[Event, ...]:
        """The assumed events over ``(at, until]``, from the window's use in ``scenario``."""
        start_at = instant(at, field="at")
        lo, hi = (to_micros(x) for x in self.window(start_at))
        first = to_micros(start_at)
        last = to_micros(instant(until, field="until"))
        step = self.step_minutes * MICROS_PER_MINUTE
        instants = [*range(first + step, last, step), last] if last > first else []
        tokens: dict[tuple[str, bool], list[int]] = {}
        requests: dict[str, int] = {}
        for event in scenario.events:
            if isinstance(event, TokenUsageBatch):
                cached = event.cached_input_tokens or (0,) * len(event)
                for t, i, o, c in zip(
                    event.at_micros, event.input_tokens, event.output_tokens, cached, strict=True
                ):
                    if lo <= t < hi:
                        _add(tokens, (event.resource, event.batch), (i, o, c))
            elif isinstance(event, TokenUsage):
                if lo <= to_micros(event.at) < hi:
                    counts = (event.input_tokens, event.output_tokens, event.cached_input_tokens)
                    _add(tokens, (event.resource, event.batch), counts)
            elif isinstance(event, Requests) and lo <= to_micros(event.at) < hi:
                requests[event.resource] = requests.get(event.resource, 0) + event.count
        out: list[Event] = []
        for (resource_id, batch), (i, o, c) in sorted(tokens.items()):
            if not isinstance(scenario.resource(resource_id), ServerlessUsage):
                continue
            rows = [
                (t, *counts)
                for t, counts in zip(
                    instants,
                    zip(*(_spread(n, hi - lo, first, instants) for n in (i, o, c)), strict=True),
                    strict=True,
                )
                if any(counts)
            ]
            if rows:
                times, inputs, outputs, cached_inputs = zip(*rows, strict=True)
                out.append(
                    TokenUsageBatch(
                        resource_id,
                        times,
                        inputs,
                        outputs,
                        cached_inputs if any(cached_inputs) else None,
                        batch,
                    )
                )
        state = history.state
        for resource_id, count in sorted(requests.items()):
            resource = scenario.resource(resource_id)
            if not isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
                continue
            if state.status(resource_id) != "running":
                continue
            for t, n in zip(instants, _spread(count, hi - lo, first, instants), strict=True):
                if n:
                    out.append(Requests(from_micros(t), resource_id, n))
        return tuple(out)


def _add(totals: dict[tuple[str, bool], list[int]], key: tuple[str, bool], counts: Any) -> None:
    found = totals.setdefault(key, [0, 0, 0])
    for index, value in enumerate(counts):
        found[index] += value


def _spread(total: int, window: int, first: int, instants: Sequence[int]) -> list[int]:
    """``total`` per ``window`` microseconds, as integer counts at ``instants`` after ``first``.

    The running sum at each instant is ``floor(total * elapsed / window)``.
    """
    out = []
    done = 0
    for t in instants:
        cumulative = total * (t - first) // window
        out.append(cumulative - done)
        done = cumulative
    return out


@attrs.frozen(kw_only=True)
class Runway:
    """How long the credits last from the forecast's start.

    ``exhausted_at`` is the exact instant the balance reaches the credit floor
    (to the microsecond, P-FLOOR) during the forecast, or ``None`` when the credits
    last to its end. ``already_exhausted`` when they were exhausted at its start
    (the runway is then zero; ``exhausted_at`` is when they run out again after
    a planned purchase restores them, if that happens).
    """

    start: pendulum.DateTime
    end: pendulum.DateTime
    balance_at_start: Decimal
    balance_at_end: Decimal
    exhausted_at: pendulum.DateTime | None
    already_exhausted: bool
    zero_at: pendulum.DateTime | None = None
    """The first instant after the start at which the balance reaches zero, exact, or
    ``None`` if it stays above zero. With a negative floor (P-FLOOR) it comes before
    ``exhausted_at``: when the credits a user bought are used up, not yet when the
    account is cut off. With a floor of 0 the two are the same instant."""

    @property
    def duration(self) -> pendulum.Duration | None:
        """From the forecast's start to the exhaustion instant, or ``None``."""
        if self.already_exhausted:
            return pendulum.duration()
        if self.exhausted_at is None:
            return None
        return self.exhausted_at - self.start

    @property
    def lasts_to_end(self) -> bool:
        """True when the credits outlast the forecast."""
        return self.exhausted_at is None and not self.already_exhausted

    def to_dict(self) -> dict[str, Any]:
        duration = self.duration
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "balance_at_start": plain(trillionths(self.balance_at_start)),
            "balance_at_end": plain(trillionths(self.balance_at_end)),
            "zero_at": None if self.zero_at is None else self.zero_at.isoformat(),
            "exhausted_at": None if self.exhausted_at is None else self.exhausted_at.isoformat(),
            "already_exhausted": self.already_exhausted,
            "runway_seconds": None
            if duration is None
            else plain(trillionths(exact_seconds(duration))),
        }


@attrs.frozen(kw_only=True)
class Forecast:
    """What a scenario's assumed future would bring.

    ``scenario`` is the forecast written out: the original scenario with the
    assumed events added and ``until`` moved to the forecast's end, so
    ``forecast.scenario.run()`` gives the same invoices, log, credits and balance
    as ``forecast.result``. Only the ledger differs: it has one more entry, where
    the continuous draw of running resources is booked at the forecast's start.
    """

    at: pendulum.DateTime
    until: pendulum.DateTime
    assumed: tuple[Event, ...]
    scenario: Scenario
    history: SimulationResult
    result: SimulationResult

    @property
    def open_period(self) -> BillingPeriod:
        """The billing period the forecast starts in."""
        return BillingPeriod.containing(self.at)

    @property
    def open_invoice(self) -> Invoice:
        """The open period's invoice, projected to the period's end (or the forecast's)."""
        return self.result.invoice(self.open_period)

    @property
    def next_invoices(self) -> tuple[Invoice, ...]:
        """The invoices of the periods after the open one."""
        start = self.open_period.end
        return tuple(i for i in self.result.invoices if i.period.start >= start)

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        """The open period's invoice and the next ones."""
        return (self.open_invoice, *self.next_invoices)

    @property
    def log(self) -> tuple[LogEntry, ...]:
        """What the replay did and noticed after the forecast's start."""
        return self.result.log[len(self.history.log) :]

    @property
    def alerts(self) -> tuple[LogEntry, ...]:
        return tuple(entry for entry in self.log if entry.action is Action.ALERT)

    @property
    def actions(self) -> tuple[LogEntry, ...]:
        """Lifecycle actions after the forecast's start (every log entry but alerts)."""
        return tuple(entry for entry in self.log if entry.action is not Action.ALERT)

    @functools.cached_property
    def runway(self) -> Runway | None:
        """The credit runway, or ``None`` when the scenario has no Account."""
        start_balance = self.history.balance
        end_balance = self.result.balance
        if start_balance is None or end_balance is None:
            return None
        exhausted = _exhausted(self.history.log)
        found = exhausted_at(self.log)
        return Runway(
            start=self.at,
            end=self.until,
            balance_at_start=start_balance,
            balance_at_end=end_balance,
            exhausted_at=found,
            already_exhausted=exhausted,
            zero_at=found if self.result.credit_floor == 0 else self._zero_at(),
        )

    def _zero_at(self) -> pendulum.DateTime | None:
        """When the balance first reaches zero after the start (a negative floor).

        Up to that instant a replay with a floor of 0 is this one (the floor only acts
        once reached), so its exhaustion instant is the exact answer.
        """
        start = to_micros(self.at)
        if all(e.balance > 0 for e in self.result.ledger if e.at_micros >= start):
            return None
        policies = attrs.evolve(
            self.scenario.policies, credit_floor=Decimal(0), linked_card_floor=Decimal(0)
        )
        zero = attrs.evolve(self.scenario, policies=policies).run()
        return exhausted_at(zero.log, since=self.at)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (``schema_version`` 1; see docs/forecast.md)."""
        runway = self.runway
        return {
            "schema_version": 1,
            "at": self.at.isoformat(),
            "until": self.until.isoformat(),
            "assumed_events": len(self.assumed),
            "open_invoice": self.open_invoice.to_dict(),
            "next_invoices": [invoice.to_dict() for invoice in self.next_invoices],
            "total": str(sum((i.total for i in self.invoices), Money.zero()).amount),
            "runway": None if runway is None else runway.to_dict(),
            "alerts": [entry.to_dict() for entry in self.alerts],
            "actions": [entry.to_dict() for entry in self.actions],
        }


def _exhausted(log: Iterable[LogEntry]) -> bool:
    """Whether the credits were exhausted (and not restored) by the end of ``log``."""
    state = False
    for entry in log:
        if entry.action is Action.CREDITS_EXHAUSTED:
            state = True
        elif entry.action is Action.CREDITS_RESTORED:
            state = False
    return state


def forecast(
    scenario: Scenario,
    *,
    at: object = None,
    until: object = None,
    assume: SteadyUsage | Iterable[Event] | None = None,
) -> Forecast:
    """Project ``scenario`` from ``at`` to ``until`` under an assumed future.

    ``at`` (default: the scenario's ``until``) splits history from future: the
    scenario's events after it stay in the future as known plans. ``until``
    (default: the end of the billing period containing ``at``) ends the forecast.
    ``assume`` adds use: explicit events (each after ``at`` and at or before
    ``until``), or a :class:`SteadyUsage`; ``None`` assumes nothing more happens,
    which still bills every deployment left running.
    """
    start = scenario.until if at is None else instant(at, field="at")
    end = BillingPeriod.containing(start).end if until is None else instant(until, field="until")
    if end < start:
        raise InvalidArgument("until", end.isoformat(), f"an instant at or after {start}")
    if start > scenario.until:
        raise InvalidArgument(
            "at",
            start.isoformat(),
            f"an instant at or before the scenario's until {scenario.until}",
        )
    past, rest = scenario.split(start)
    # Planned events after the forecast's end are left out, as a replay to ``until`` does.
    planned = attrs.evolve(scenario, events=rest).split(end)[0]
    simulator = scenario.simulator
    history = simulator.run(scenario.resources, past, until=start, start=scenario.start)
    if isinstance(assume, SteadyUsage):
        assumed = assume.events(scenario, history, start, end)
    else:
        assumed = tuple(assume or ())
    future = (*planned, *assumed)
    result = simulator.run((), future, until=end, state=history.state)
    written = attrs.evolve(scenario, events=(*past, *future), until=end)
    return Forecast(
        at=start,
        until=end,
        assumed=assumed,
        scenario=written,
        history=history,
        result=result,
    )
