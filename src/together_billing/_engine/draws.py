"""Continuous draws (CR1): what running resources owe the credits, followed as it changes
and booked in the ledger when it must be.

Each running resource has a :class:`~together_billing._engine.metering.Draw`; the sums of
their rates and offsets give the balance at any instant in constant time, and a heap of
each draw's next rate change replaces a walk over every running unit. A draw is booked
when the resource's running units change (``Context.changing``), at each period's end,
at every movement of credits and at the end of the replay.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator
from decimal import Decimal

from together_billing._engine import metering
from together_billing._engine.context import Context
from together_billing._engine.metering import MICROS_PER_HOUR_D, Draw, Meter, unit_start
from together_billing.money import EXACT_CONTEXT
from together_billing.time import MICROS_PER_SECOND, BillingPeriod

__all__ = ["Draws"]


class Draws:
    """The continuous draws of one replay (CR1)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def meters(self) -> Iterator[Meter]:
        for family in self.ctx.families:
            yield from family.meters()

    def balance(self, at: int) -> Decimal:
        """The exact balance at ``at``: the ledger's, less what running resources owe since
        they were last booked (``Draw``), in constant time."""
        ledger = self.ctx.core.ledger
        assert ledger is not None
        return EXACT_CONTEXT.subtract(ledger.balance, self.unbooked(at))

    def unbooked(self, at: int) -> Decimal:
        """What running resources owe at ``at`` and is not yet booked in the ledger.

        Continuous draws are booked when a resource's running units change, at each
        period's end, when promotional credits are granted or expire, and at the end of
        the replay: the ledger grows with what changes the slope of the balance, not with
        events times resources.
        """
        core = self.ctx.core
        if not core.burn and not core.burn_offset:
            return Decimal(0)
        owed = EXACT_CONTEXT.subtract(EXACT_CONTEXT.multiply(core.burn, at), core.burn_offset)
        return EXACT_CONTEXT.divide(owed, MICROS_PER_HOUR_D)

    def advance(self, until: int) -> None:
        """Follow the draws up to ``until`` (CR1): each resource's rate as it changes, and,
        at each period's end, every draw booked in that period (IN3 credits applied per
        invoice) and the closed period's debt settled.

        Booking is otherwise left to the moment a resource's running units change (see
        ``Context.changing``), credits are granted or expire, or the replay ends: the
        ledger grows with what changes the slope of the balance, not with events times
        resources.
        """
        core = self.ctx.core
        ledger = core.ledger
        if ledger is None or until <= core.ledger_time:
            return
        # Month after month in a loop: a replay over decades must not recurse once a month.
        while True:
            boundary = BillingPeriod.of_micros(core.ledger_time).end_micros
            self._follow(min(boundary, until))
            if boundary > until:
                break
            self.flush_all(boundary)
            core.ledger_time = boundary
            ledger.settle(boundary)
            if boundary == until:
                break
        core.ledger_time = until
        if ledger.debts:
            # A closed period's debt is billed on its invoice (credits.py).
            ledger.settle(until)

    def finish(self, end: int) -> None:
        """At the end of the replay: everything drawn up to ``end`` is booked."""
        ledger = self.ctx.core.ledger
        if ledger is None:
            return
        self.advance(end)
        self.flush_all(end)
        if ledger.debts:
            ledger.settle(end)

    def _follow(self, until: int) -> None:
        """Apply the rate changes due up to ``until`` (a price reaching a new unit, the end
        of a prepaid unit): the owed amounts carry on at the new rates, nothing is booked."""
        core = self.ctx.core
        heap = core.rate_changes
        while heap and heap[0][0] <= until:
            at, resource_id, version = heapq.heappop(heap)
            draw = core.draws.get(resource_id)
            if draw is not None and draw.version == version:
                self.refresh(resource_id, at)

    def next_rate_change(self) -> int | None:
        core = self.ctx.core
        heap = core.rate_changes
        while heap:
            at, resource_id, version = heap[0]
            draw = core.draws.get(resource_id)
            if draw is not None and draw.version == version:
                return at
            heapq.heappop(heap)
        return None

    def flush(self, resource_id: str, at: int) -> None:
        """Book what ``resource_id``'s running units owe up to ``at`` (before they change)."""
        core = self.ctx.core
        draw = core.draws.get(resource_id)
        if draw is None or at <= draw.since:
            return
        self._book(self.ctx.family_of(resource_id).meter(resource_id), draw, at)

    def flush_all(self, at: int) -> None:
        """Book what every running resource owes up to ``at``."""
        draws = self.ctx.core.draws
        for meter in list(self.meters()):
            draw = draws.get(meter.resource)
            if draw is not None and at > draw.since:
                self._book(meter, draw, at)

    def _book(self, meter: Meter | None, draw: Draw, at: int) -> None:
        """Book ``meter``'s draw since it was last booked; it owes nothing from ``at``."""
        if meter is not None:
            self._draw(meter, draw.since, at)
        core = self.ctx.core
        offset = EXACT_CONTEXT.multiply(draw.rate, at)
        core.burn_offset = EXACT_CONTEXT.add(
            core.burn_offset, EXACT_CONTEXT.subtract(offset, draw.offset)
        )
        draw.offset = offset
        draw.since = at

    def refresh(self, resource_id: str, at: int) -> None:
        """Follow ``resource_id``'s units from ``at``: their rate, its next change and when
        they are scheduled to stop. What they owe so far carries on."""
        ctx = self.ctx
        core = ctx.core
        if core.ledger is None:
            return
        old = core.draws.pop(resource_id, None)
        core.ending.pop(resource_id, None)
        owed = Decimal(0)
        since = at
        if old is not None:
            owed = old.owed(at)
            since = old.since
            core.burn = EXACT_CONTEXT.subtract(core.burn, old.rate)
            core.burn_offset = EXACT_CONTEXT.subtract(core.burn_offset, old.offset)
        meter = ctx.family_of(resource_id).meter(resource_id)
        if meter is None:
            return
        catalog = core.catalog
        rate = metering.rate_at(catalog, meter, at)
        core.draw_version += 1
        offset = EXACT_CONTEXT.subtract(EXACT_CONTEXT.multiply(rate, at), owed)
        core.draws[resource_id] = Draw(rate, offset, since, core.draw_version)
        if meter.ends is not None:
            core.ending[resource_id] = meter.ends
        core.burn = EXACT_CONTEXT.add(core.burn, rate)
        core.burn_offset = EXACT_CONTEXT.add(core.burn_offset, offset)
        change = metering.next_rate_change(catalog, meter, at)
        if change is not None:
            heapq.heappush(core.rate_changes, (change, resource_id, core.draw_version))

    def refresh_all(self, at: int) -> None:
        for meter in list(self.meters()):
            self.refresh(meter.resource, at)

    @contextlib.contextmanager
    def price_change(self, at: int) -> Iterator[None]:
        """Around a price change: every draw booked at the old prices first, then followed
        at the new ones (G4)."""
        self.flush_all(at)
        yield
        self.refresh_all(at)

    def _draw(self, meter: Meter, start: int, until: int) -> None:
        """Book what ``meter`` draws in ``[start, until)``, inside one billing period (CR1)."""
        core = self.ctx.core
        ledger = core.ledger
        assert ledger is not None
        catalog = core.catalog
        period_start = BillingPeriod.of_micros(start).start_micros
        grain = meter.grain
        instants = meter.instants(catalog)
        # Units begun in the previous billing period (a minute from 23:59:30 to 00:00:30)
        # are that period's (IN3): the part of the draw that finishes them is booked
        # apart, for that period's invoice.
        earlier = Decimal(0)
        amount = Decimal(0)
        begun: int | None = None
        # Only a span within one unit of the period's start can finish an earlier unit.
        near = grain.step_seconds is not None and start < period_start + (
            grain.step_seconds * MICROS_PER_SECOND
        )
        for group in meter.groups:
            lo = max(start, group.paid_until)
            if lo >= until:
                continue
            amount += group.count * metering.metered(
                catalog, meter, group.grid, instants, lo, until
            )
            if not near:
                continue
            first = unit_start(grain, group.grid, period_start)
            if first < period_start and lo < grain.unit_end(group.grid, period_start):
                end = min(until, grain.unit_end(group.grid, period_start))
                earlier += group.count * metering.metered(
                    catalog, meter, group.grid, instants, lo, end
                )
                begun = first if begun is None else min(begun, first)
        if earlier:
            ledger.consume(
                until,
                EXACT_CONTEXT.divide(earlier, MICROS_PER_HOUR_D),
                meter.resource,
                "running",
                since=start,
                unit_start=begun,
            )
            amount -= earlier
        if amount:
            amount = EXACT_CONTEXT.divide(amount, MICROS_PER_HOUR_D)
            ledger.consume(until, amount, meter.resource, "running", since=start)
