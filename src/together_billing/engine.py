"""The deterministic replay engine: a fold of a timeline into invoices.

:class:`Simulator` replays events in their total order (see
:mod:`together_billing.timeline`) from a state, and returns a
:class:`SimulationResult` with one invoice per billing period (the open one as a
draft), a log of what it did, and the state reached, from which a later replay
can continue.

Time-based charges are integrated analytically: a running deployment is settled
only when something happens to it (or its price) and at the end of the replay;
each settlement counts the started grain units on each constant-rate stretch in
each period with integer arithmetic. So the cost of a replay grows with the
number of events (and of periods), never with the simulated duration.

>>> from together_billing import *
>>> endpoint = DedicatedEndpoint("ep-1", model="my-model", hardware="1x_nvidia_h100_80gb_sxm")
>>> result = Simulator().run(
...     [endpoint],
...     [Deploy("2025-11-03T09:00:00Z", "ep-1"), Stop("2025-11-03T10:30:00Z", "ep-1")],
...     until="2025-12-01T00:00:00Z",
... )
>>> line = result.invoices[0].lines[0]
>>> line.quantity, line.unit, line.rate, line.amount
(Decimal('90'), 'replica-minute', Decimal('3.99'), Decimal('5.99'))
"""

from __future__ import annotations

import copy
import decimal
import functools
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs
import pendulum

from together_billing._engine.context import Core
from together_billing._engine.fold import Replay, first_instant
from together_billing._engine.invoicing import invoices, time_accruals
from together_billing._figures import cents, trillionths
from together_billing.catalog import Catalog, PriceEntry, default_catalog
from together_billing.credits import Account, Ledger, LedgerEntry
from together_billing.errors import InvalidArgument
from together_billing.invoice import Invoice, InvoiceLine, InvoiceStatus, LogEntry, MeteredSpan
from together_billing.money import EXACT_CONTEXT, Money
from together_billing.policies import Policies
from together_billing.resources import Resource
from together_billing.time import BillingPeriod, from_micros, instant, to_micros
from together_billing.timeline import Event, deduplicate

__all__ = ["SimulationResult", "SimulationState", "Simulator", "simulate"]


@attrs.frozen(eq=False)
class SimulationState:
    """Where a replay stopped: pass it to :meth:`Simulator.run` to continue from there.

    A snapshot: continuing from it never changes it.
    """

    _core: Core = attrs.field(alias="core", repr=False)

    @property
    def at(self) -> pendulum.DateTime:
        """The instant the replay reached."""
        return from_micros(self._core.now)

    @property
    def catalog(self) -> Catalog:
        """The catalog with every price change applied so far."""
        return self._core.catalog

    @property
    def resources(self) -> dict[str, Resource]:
        return dict(self._core.resources)

    @property
    def ledger(self) -> Ledger | None:
        """A copy of the account's credit ledger here (exact buckets, debts and sums), or
        ``None`` without an Account. Changing the copy changes nothing."""
        return copy.deepcopy(self._core.ledger)

    def status(self, resource: str) -> str:
        """The lifecycle status of a deployment or job (``running``, ``stopped``...)."""
        state = self._core.states.get(resource)
        if state is not None:
            return state.status.value
        raise InvalidArgument("resource", resource, f"one of {sorted(self._core.resources)}")

    def _copy(self) -> Core:
        return copy.deepcopy(self._core)


@attrs.frozen(eq=False)
class SimulationResult:
    """What a replay produced.

    ``invoices`` holds one invoice per billing period from the replay's start to
    ``until``, oldest first; the last is a ``draft`` when ``until`` falls inside a
    period (IN4). ``log`` lists the lifecycle actions taken, with their rules.
    """

    state: SimulationState
    _policies: Policies = attrs.field(alias="policies", repr=False)

    @functools.cached_property
    def invoices(self) -> tuple[Invoice, ...]:
        """One invoice per period, built on first use (a replay need not build them)."""
        core = self.state._core
        accruals, metas = time_accruals(core.accruals, core.meta, core.pieces)
        return invoices(accruals, metas, core.ledger, self._policies.rounding, core.start, core.now)

    @property
    def policies(self) -> Policies:
        """The policies the replay applied (its credit floor, rounding, grains...)."""
        return self._policies

    @property
    def start(self) -> pendulum.DateTime:
        """The replay's first instant (its ``start``, or its first event's): where its first
        billing period is taken from. A continued replay keeps the first run's."""
        return from_micros(self.state._core.start)

    @functools.cached_property
    def spans(self) -> tuple[MeteredSpan, ...]:
        """The running time the replay metered, one :class:`MeteredSpan` per stretch of a
        group of units at one price (G3, G4), in the order the replay settled them (a
        continued replay's include those of the runs before it)."""
        return tuple(
            MeteredSpan(
                resource=piece.resource,
                category=piece.meta.category,
                rule=piece.meta.rule,
                description=piece.meta.description,
                grain=piece.grain,
                grid_micros=piece.grid,
                units=piece.count,
                start_micros=piece.start,
                end_micros=piece.end,
                price_key=piece.meta.price.key,
                rate=piece.meta.rate,
                rate_unit=piece.meta.rate_unit,
                price_effective_from=piece.meta.price.effective_from,
            )
            for piece in self.state._core.pieces
        )

    def price_of(self, line: InvoiceLine) -> PriceEntry | None:
        """The price entry a line of this replay is billed at (found by its ``price_key``
        and ``price_effective_from``), or ``None`` for a line the replay did not bill.

        The entry the replay used: a catalog entry, a price change's, or one derived from
        a size tier (P-TIER) or a ``1x`` hardware entry (DE1).
        """
        return self._prices.get((line.price_key, to_micros(line.price_effective_from)))

    @functools.cached_property
    def _prices(self) -> dict[tuple[tuple[str, ...], int], PriceEntry]:
        core = self.state._core
        prices: dict[tuple[tuple[str, ...], int], PriceEntry] = {}
        for meta in itertools.chain(core.meta.values(), (piece.meta for piece in core.pieces)):
            prices.setdefault((meta.price.key, meta.effective), meta.price)
        return prices

    @property
    def credit_floor(self) -> Decimal:
        """The balance at which this replay's credits are exhausted (P-FLOOR, CR2)."""
        return self._policies.floor_for(self.state._core.account)

    @functools.cached_property
    def log(self) -> tuple[LogEntry, ...]:
        return tuple(self.state._core.log)

    @property
    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every credit movement, in order (empty without an :class:`Account`)."""
        ledger = self.state._core.ledger
        return tuple(ledger.entries) if ledger is not None else ()

    @property
    def balance(self) -> Decimal | None:
        """The exact credit balance at the end of the replay, or ``None`` without an Account."""
        ledger = self.state._core.ledger
        return None if ledger is None else ledger.balance

    @property
    def credits(self) -> dict[str, Decimal] | None:
        """Purchased, granted, consumed, expired and remaining credits, or ``None``.

        Amounts are to the trillionth of a dollar, and ``purchased + granted (+ settled)
        == consumed + expired + remaining`` holds exactly. ``settled``, present only when
        not zero, is the debt of closed periods that their invoices billed (amount due).
        """
        ledger = self.state._core.ledger
        if ledger is None:
            return None
        consumed = trillionths(ledger.consumed)
        expired = trillionths(ledger.expired)
        # Continuous draws are quotients carried to 50 digits in the ledger; here they are
        # given to the trillionth of a dollar, and what remains is derived, so the identity
        # holds exactly in any decimal context.
        settled = trillionths(ledger.settled)
        summary = {
            "purchased": ledger.purchased,
            "granted": ledger.granted,
            "consumed": consumed,
            "expired": expired,
            "remaining": EXACT_CONTEXT.subtract(
                EXACT_CONTEXT.add(EXACT_CONTEXT.add(ledger.purchased, ledger.granted), settled),
                EXACT_CONTEXT.add(consumed, expired),
            ),
        }
        if settled:
            summary["settled"] = settled
        return summary

    @property
    def duplicates(self) -> int:
        """Usage events left out because their ``id`` was already billed (imports, overlaps)."""
        return self.state._core.duplicates

    @property
    def final_invoices(self) -> tuple[Invoice, ...]:
        return tuple(i for i in self.invoices if i.status is InvoiceStatus.FINAL)

    @property
    def draft(self) -> Invoice | None:
        """The open period's draft invoice, or ``None`` if ``until`` ends a period (IN4)."""
        last = self.invoices[-1] if self.invoices else None
        return last if last is not None and last.status is InvoiceStatus.DRAFT else None

    @property
    def total(self) -> Money:
        """The sum of every invoice's total."""
        return sum((invoice.total for invoice in self.invoices), Money.zero())

    @property
    def lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(line for invoice in self.invoices for line in invoice.lines)

    def invoice(self, period: BillingPeriod | str) -> Invoice:
        """The invoice of a period, given as a :class:`BillingPeriod` or ``"YYYY-MM"``."""
        label = period.label if isinstance(period, BillingPeriod) else period
        for invoice in self.invoices:
            if invoice.period.label == label:
                return invoice
        known = [i.period.label for i in self.invoices]
        raise InvalidArgument("period", period, f"one of {known}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; see the docs for the schema (``schema_version`` 1)."""
        data: dict[str, Any] = {
            "schema_version": 1,
            "until": self.state.at.isoformat(),
            "invoices": [invoice.to_dict() for invoice in self.invoices],
            "total": str(self.total.amount),
            "log": [entry.to_dict() for entry in self.log],
        }
        if self.duplicates:
            data["duplicates"] = self.duplicates
        credits = self.credits
        if credits is not None:
            mode = self._policies.rounding
            data["credits"] = {name: str(cents(value, mode)) for name, value in credits.items()}
            data["ledger"] = [entry.to_dict() for entry in self.ledger]
        return data


class Simulator:
    """Replays timelines against a price catalog under a set of policies.

    >>> Simulator().policies.credit_floor
    Decimal('0')
    """

    def __init__(self, catalog: Catalog | None = None, policies: Policies | None = None) -> None:
        self.catalog = catalog if catalog is not None else default_catalog()
        self.policies = policies if policies is not None else Policies()

    def run(
        self,
        resources: Iterable[Resource | Account],
        events: Iterable[Event],
        *,
        until: object,
        start: object = None,
        state: SimulationState | None = None,
    ) -> SimulationResult:
        """Replay ``events`` on ``resources`` up to ``until`` and return the result.

        ``start`` (default: the first event's instant, or ``until``) is where the
        first billing period is taken from. With ``state``, continue a previous
        replay: its resources are kept, ``resources`` adds new ones, and every
        event must come after ``state.at``. Events must not be after ``until``.
        Any invalid event raises before a result exists: nothing is half-applied.
        """
        end = to_micros(instant(until, field="until"))
        seen = {} if state is None else dict(state._core.usage_ids)
        unique, duplicates = deduplicate(events, seen)
        ordered = sorted(unique, key=_sort_key)
        if state is None:
            if start is not None:
                first = to_micros(instant(start, field="start"))
            else:
                first = min(first_instant(ordered[0]), end) if ordered else end
            if first > end:
                raise InvalidArgument(
                    "start",
                    from_micros(first).isoformat(),
                    f"an instant at or before until {from_micros(end).isoformat()}",
                )
            core = Core(start=first, now=first, catalog=self.catalog)
        else:
            core = state._copy()
            if end < core.now:
                raise InvalidArgument(
                    "until",
                    from_micros(end).isoformat(),
                    f"an instant at or after the state's {from_micros(core.now).isoformat()}",
                )
        core.usage_ids = seen
        core.duplicates += duplicates
        replay = Replay(core, self.policies).add_resources(resources)
        # Every amount and quantity of the replay in the documented 50 digits (G1), not
        # the default context's 28.
        with decimal.localcontext(EXACT_CONTEXT):
            replay.run(ordered, end, resumed=state is not None)
        # The replay worked on its own copy of the state, so the result can keep it.
        return SimulationResult(state=SimulationState(core=core), policies=self.policies)


def simulate(
    resources: Iterable[Resource | Account],
    events: Iterable[Event],
    *,
    until: object,
    start: object = None,
    catalog: Catalog | None = None,
    policies: Policies | None = None,
) -> SimulationResult:
    """Shorthand for ``Simulator(catalog, policies).run(resources, events, until=...)``."""
    return Simulator(catalog, policies).run(resources, events, until=until, start=start)


def _sort_key(event: Event) -> tuple[Any, ...]:
    return event.sort_key()
