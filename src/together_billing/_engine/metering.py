"""Metering (G3, G4): running units on their grids, counted analytically and drawn at the
price in force at each unit's start.

A resource's running units are kept in :class:`Group` s: units that became ready together
and share one metering grid. Settling (:func:`settle`) records the running time of the
groups as :class:`Piece` s, cut at price changes; invoices later count the grain units
of each piece per period with integer arithmetic (``invoicing``), so the replay does no
work per period or per unit. A :class:`Meter` is what draws credits continuously: the
credit lifecycle integrates it with :func:`metered`; removing units draws the rest of
their started unit at once (:func:`resize`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from together_billing.catalog import Catalog, ClusterPrice, HardwarePrice, PriceEntry, StoragePrice
from together_billing.credits import Ledger
from together_billing.errors import UnknownPrice
from together_billing.money import EXACT_CONTEXT
from together_billing.time import (
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    BillingPeriod,
    MeteringGrain,
    from_micros,
)

if TYPE_CHECKING:
    from together_billing._engine.invoicing import LineMeta

__all__ = [
    "Draw",
    "Group",
    "Meter",
    "Piece",
    "add_units",
    "hourly",
    "metered",
    "next_rate_change",
    "prepay",
    "rate_at",
    "remove_units",
    "resize",
    "settle",
    "unit_start",
]

MICROS_PER_HOUR_D: Final = Decimal(MICROS_PER_HOUR)


@attrs.define
class Group:
    """Units (replicas, GPUs, TiB) that became ready together and share one metering grid."""

    grid: int
    count: int
    accounted: int
    """Settled into pieces up to here."""
    paid_until: int = 0
    """Credits are drawn for these units up to here already (a started unit prepaid at the
    old rate when a volume is repriced, see :func:`prepay`)."""


@attrs.frozen
class Piece:
    """A stretch of running time of one group at one price, counted into periods later."""

    resource: str
    meta: LineMeta
    grain: MeteringGrain
    grid: int
    count: int
    start: int
    end: int


@attrs.frozen
class Meter:
    """Running units that draw credits at ``key``'s price (G3, CR1)."""

    resource: str
    key: tuple[str, ...]
    grain: MeteringGrain
    groups: list[Group]
    fallback: tuple[str, ...] | None = None
    """The key whose price applies where ``key`` has none yet (a volume priced reserved
    bills on demand until the first reserved storage rate, ST3)."""
    ends: int | None = None
    """When the units are scheduled to stop (a reservation's end stops its burst GPUs, a
    grace period's end a paused cluster or revoked volume that bills); the run-out
    forecast takes it as a step (CR6)."""

    def price(self, catalog: Catalog, at: int) -> PriceEntry | None:
        """The rate the meter draws at, at ``at``: what its invoice line bills."""
        price = catalog.at(self.key, at)
        if price is None and self.fallback is not None:
            return catalog.at(self.fallback, at)
        return price

    def instants(self, catalog: Catalog) -> list[int]:
        """The instants at which :meth:`price` can change."""
        instants = list(catalog.history(self.key)[0])
        if self.fallback is not None:
            instants = sorted({*instants, *catalog.history(self.fallback)[0]})
        return instants

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)


def hourly(price: PriceEntry) -> Decimal:
    """The per-hour rate of a time-based price entry."""
    if isinstance(price, HardwarePrice):
        return price.per_hour
    if isinstance(price, ClusterPrice):
        return price.per_gpu_hour
    if isinstance(price, StoragePrice):
        return price.per_tib_hour
    raise AssertionError(price)


def unit_start(grain: MeteringGrain, grid: int, at: int) -> int:
    """The start of the unit of the grid from ``grid`` running at ``at``."""
    end = grain.unit_end(grid, at)
    if end == at or grain.step_seconds is None:
        return at
    return end - grain.step_seconds * MICROS_PER_SECOND


def add_units(groups: list[Group], at: int, count: int) -> None:
    """Units that start together at ``at`` get their own grid."""
    if count > 0:
        groups.append(Group(at, count, at))


def remove_units(groups: list[Group], count: int) -> list[Group]:
    """Remove ``count`` units, newest first (groups must be settled first); return them."""
    removed = []
    while count:
        newest = groups[-1]
        taken = min(newest.count, count)
        newest.count -= taken
        count -= taken
        removed.append(Group(newest.grid, taken, newest.accounted, newest.paid_until))
        if newest.count == 0:
            groups.pop()
    return removed


def segments(start: int, end: int, instants: Sequence[int]) -> list[tuple[int, int]]:
    """Split ``[start, end)`` at price changes."""
    first = bisect.bisect_right(instants, start)
    last = bisect.bisect_left(instants, end)
    return list(itertools.pairwise([start, *instants[first:last], end]))


def settle(
    catalog: Catalog,
    pieces: list[Piece],
    resource_id: str,
    groups: list[Group],
    until: int,
    key: tuple[str, ...],
    grain: MeteringGrain,
    meta_of: Callable[[PriceEntry, MeteringGrain], LineMeta],
) -> None:
    """Record the running time of ``groups`` up to ``until``, analytically (G3).

    The span since each group was last settled is cut at price changes of ``key`` (G4);
    each piece is kept whole (grid, units, interval). Invoices later count the grain
    units starting in each period with integer arithmetic (:meth:`MeteringGrain.count`),
    so the replay itself does no work per period.
    """
    instants, entries = catalog.history(key)
    for group in groups:
        start = group.accounted
        if until <= start:
            continue
        for lo, hi in segments(start, until, instants):
            index = bisect.bisect_right(instants, lo) - 1
            if index < 0 and not instants and len(key) == 2:
                # Unknown altogether (not just later): list what the catalog knows.
                known = sorted({e.key[1] for e in catalog.entries if e.key[0] == key[0]})
                shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
                expected = f"one in the catalog ({shown})" if known else "none in the catalog"
                raise UnknownPrice(key[0], key[1], f"{expected}, or a price entry for it")
            if index < 0:
                raise UnknownPrice(
                    " ".join(key[:-1]) if len(key) > 2 else key[0],
                    key[-1],
                    f"a catalog price effective at or before {from_micros(lo).isoformat()}",
                )
            if grain.count(group.grid, lo, hi):
                meta = meta_of(entries[index], grain)
                pieces.append(Piece(resource_id, meta, grain, group.grid, group.count, lo, hi))
        group.accounted = until


def metered(
    catalog: Catalog, meter: Meter, grid: int, instants: Sequence[int], lo: int, hi: int
) -> Decimal:
    """One unit's draw over ``[lo, hi)`` times an hour in microseconds.

    Each unit is drawn at the price in force at its start, as its invoice line prices it
    (G3, G4): a price change (one of ``instants``) applies to this grid from the first unit
    that starts at or after it.
    """
    grain = meter.grain
    first = bisect.bisect_right(instants, unit_start(grain, grid, lo))
    last = bisect.bisect_left(instants, hi)
    if first >= last:  # no price change reaches a unit of the span: one price
        price = meter.price(catalog, unit_start(grain, grid, lo))
        return Decimal(0) if price is None else (hi - lo) * hourly(price)
    cuts = sorted({grain.unit_end(grid, c) for c in instants[first:last]} - {lo, hi})
    amount = Decimal(0)
    for a, b in itertools.pairwise([lo, *(c for c in cuts if lo < c < hi), hi]):
        price = meter.price(catalog, unit_start(grain, grid, a))
        if price is not None:
            amount += (b - a) * hourly(price)
    return amount


def resize(catalog: Catalog, ledger: Ledger | None, meter: Meter, at: int, target: int) -> None:
    """Set the meter's running units to ``target``; draw removed units' started tails (G3)."""
    groups = meter.groups
    current = sum(group.count for group in groups)
    if target > current:
        add_units(groups, at, target - current)
        return
    removed = remove_units(groups, current - target)
    grain = meter.grain
    if ledger is None or not removed or grain.step_seconds is None:
        return
    # A unit begun in the previous billing period is that period's (IN3): its rest is
    # drawn now but applied to that period's invoice. Each unit at the price of its start.
    step = grain.step_seconds * MICROS_PER_SECOND
    period_start = BillingPeriod.of_micros(at).start_micros
    tails: dict[int | None, Decimal] = {}
    for group in removed:
        end = grain.unit_end(group.grid, at)
        lo = max(at, group.paid_until)
        price = meter.price(catalog, unit_start(grain, group.grid, at))
        if end <= lo or price is None:
            continue
        begun = end - step if end - step < period_start else None
        tails[begun] = tails.get(begun, Decimal(0)) + group.count * (end - lo) * hourly(price)
    for begun in sorted(tails, key=lambda b: -1 if b is None else b, reverse=True):
        if tails[begun]:
            amount = EXACT_CONTEXT.divide(tails[begun], MICROS_PER_HOUR_D)
            note = f"rest of the started {grain.unit} (G3)"
            ledger.consume(at, amount, meter.resource, note, unit_start=begun)


def prepay(catalog: Catalog, ledger: Ledger | None, meter: Meter, at: int) -> None:
    """Draw now, at the current rate, the rest of the units running at ``at`` (their invoice
    line prices them at their start), before the resource's rate key changes (G3, ST3)."""
    if ledger is None:
        return
    grain = meter.grain
    amount = Decimal(0)
    for group in meter.groups:
        end = grain.unit_end(group.grid, at)
        lo = max(at, group.paid_until)
        if end > lo:
            price = meter.price(catalog, unit_start(grain, group.grid, at))
            if price is not None:
                amount += group.count * (end - lo) * hourly(price)
            group.paid_until = end
    if amount:
        begun = min(unit_start(grain, g.grid, at) for g in meter.groups)
        period_start = BillingPeriod.of_micros(at).start_micros
        ledger.consume(
            at,
            EXACT_CONTEXT.divide(amount, MICROS_PER_HOUR_D),
            meter.resource,
            f"rest of the started {grain.unit} at its rate (G3)",
            unit_start=begun if begun < period_start else None,
        )


@attrs.define
class Draw:
    """What a resource's running units owe the credits since they were last drawn (CR1).

    Its units draw at ``rate`` (USD per hour: the units' prices at their starts, units
    prepaid to a later instant left out) until ``change``, the next instant the rate can
    change. What is owed at ``t`` is ``(rate * t - offset)`` / one hour in microseconds;
    the credit lifecycle keeps the sums of ``rate`` and ``offset`` over every resource, so
    the balance at any instant costs the same whatever the number of resources.
    """

    rate: Decimal
    offset: Decimal
    since: int
    """Drawn (booked in the ledger) up to here."""
    version: int
    """Of its entry in the queue of rate changes (older entries are stale)."""

    def owed(self, at: int) -> Decimal:
        """What is owed at ``at``, times one hour in microseconds."""
        return EXACT_CONTEXT.subtract(EXACT_CONTEXT.multiply(self.rate, at), self.offset)


def rate_at(catalog: Catalog, meter: Meter, at: int) -> Decimal:
    """USD per hour the meter's units draw at ``at`` (each at the price of its unit's start)."""
    rate = Decimal(0)
    for group in meter.groups:
        if group.paid_until > at:
            continue  # prepaid to the end of its unit
        price = meter.price(catalog, unit_start(meter.grain, group.grid, at))
        if price is not None:
            rate += group.count * hourly(price)
    return rate


def next_rate_change(catalog: Catalog, meter: Meter, at: int) -> int | None:
    """The next instant after ``at`` at which a unit's draw rate changes: a price change
    reaching the next unit that starts after it, or a prepaid unit's end (G3, G4)."""
    grain = meter.grain
    instants = meter.instants(catalog)
    found: int | None = None
    for group in meter.groups:
        candidates = [group.paid_until] if group.paid_until > at else []
        index = bisect.bisect_right(instants, unit_start(grain, group.grid, at))
        while index < len(instants):
            cut = grain.unit_end(group.grid, instants[index])
            if cut > at:
                candidates.append(cut)
                break
            index += 1
        for cut in candidates:
            found = cut if found is None else min(found, cut)
    return found
