"""Invoicing (IN1-IN4): accruals into invoice lines, per billing period, and what credits
paid of each period.

Discrete charges (tokens, jobs, reservations) accrue into lines as they happen
(:func:`add_accrual`); running time is kept as pieces (``metering``) and counted into the
periods when the invoices are built (:func:`time_accruals`): a grain unit belongs to the
period in which it starts. Lines are rounded one by one by P-ROUND in ``make_line``;
the amount due is the exact unpaid part rounded once (:func:`credits_applied`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from together_billing._figures import cents
from together_billing.catalog import PriceEntry
from together_billing.credits import Ledger, LedgerKind
from together_billing.invoice import Invoice, InvoiceLine, InvoiceStatus, amount_of, make_line
from together_billing.money import EXACT_CONTEXT, RoundingMode
from together_billing.resources import Category
from together_billing.time import BillingPeriod, Interval, MeteringGrain, from_micros, to_micros

if TYPE_CHECKING:
    from together_billing._engine.metering import Piece

__all__ = [
    "MILLION",
    "Accrual",
    "AccrualKey",
    "LineMeta",
    "add_accrual",
    "credits_applied",
    "invoices",
    "time_accruals",
    "time_meta",
]

CATEGORY_ORDER: Final = {c: i for i, c in enumerate(Category)}
MILLION: Final = Decimal(1_000_000)


@attrs.frozen
class LineMeta:
    """What an invoice line is: its category, rule, text, unit and the price it bills at."""

    category: Category
    rule: str
    description: str
    unit: str
    rate: Decimal
    rate_unit: str
    rate_per: Decimal
    scale: Decimal
    """Accrued quantities are in units of 1/``scale`` of the line's unit."""
    price: PriceEntry
    effective: int = attrs.field(init=False)
    order: int = attrs.field(init=False)
    """Its category's place on an invoice."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "effective", to_micros(self.price.effective_from))
        object.__setattr__(self, "order", CATEGORY_ORDER[self.category])

    def quantity(self, accrued: int) -> Decimal:
        """The line quantity of ``accrued`` units of 1/``scale``."""
        return EXACT_CONTEXT.divide(Decimal(accrued), self.scale)

    def charge(self, accrued: int) -> Decimal:
        """The exact amount of ``accrued`` units (the line's own formula, IN1)."""
        return amount_of(self.quantity(accrued), self.rate, self.rate_per)


def time_meta(
    category: Category,
    rule: str,
    description: str,
    unit: str,
    per_hour: Decimal,
    price: PriceEntry,
    grain: MeteringGrain,
) -> LineMeta:
    """Line metadata of a time-based charge: ``unit``-``grain`` units at ``per_hour``."""
    return LineMeta(
        category,
        rule,
        description,
        f"{unit}-{grain.unit}",
        per_hour,
        f"USD per {unit}-hour",
        Decimal(grain.units_per_hour),
        Decimal(1) if grain.step_seconds else MILLION,
        price,
    )


# An accrual key: (period, category order, resource, rule, description, price key, effective).
AccrualKey = tuple[BillingPeriod, int, str, str, str, tuple[str, ...], int]


@attrs.define
class Accrual:
    quantity: int
    start: int
    end: int


def add_accrual(
    accruals: dict[AccrualKey, Accrual],
    metas: dict[AccrualKey, LineMeta],
    period: BillingPeriod,
    resource_id: str,
    meta: LineMeta,
    quantity: int,
    span: tuple[int, int],
) -> None:
    """Add ``quantity`` to the invoice line of ``period`` that ``meta`` describes."""
    key: AccrualKey = (
        period,
        meta.order,
        resource_id,
        meta.rule,
        meta.description,
        meta.price.key,
        meta.effective,
    )
    found = accruals.get(key)
    if found is None:
        accruals[key] = Accrual(quantity, span[0], span[1])
        metas[key] = meta
    else:
        found.quantity += quantity
        found.start = min(found.start, span[0])
        found.end = max(found.end, span[1])


def time_accruals(
    accruals: dict[AccrualKey, Accrual],
    metas: dict[AccrualKey, LineMeta],
    pieces: Iterable[Piece],
) -> tuple[dict[AccrualKey, Accrual], dict[AccrualKey, LineMeta]]:
    """All accruals: the discrete ones, plus running time counted per period (G3).

    A grain unit belongs to the period in which it starts.
    """
    accruals = {key: attrs.evolve(value) for key, value in accruals.items()}
    metas = dict(metas)
    for piece in pieces:
        grain = piece.grain
        step = (grain.step_seconds or 0) * 1_000_000
        period = BillingPeriod.of_micros(piece.start)
        lo = piece.start
        while lo < piece.end:
            hi = min(piece.end, period.end_micros)
            count = grain.count(piece.grid, lo, hi)
            if count:
                if step:
                    first = grain.unit_end(piece.grid, lo)
                    span = (first, first + count * step)
                else:
                    span = (lo, hi)
                add_accrual(
                    accruals, metas, period, piece.resource, piece.meta, count * piece.count, span
                )
            lo = hi
            period = period.next()
    return accruals, metas


def invoices(
    accruals: dict[AccrualKey, Accrual],
    metas: dict[AccrualKey, LineMeta],
    ledger: Ledger | None,
    rounding: RoundingMode,
    start: int,
    end: int,
) -> tuple[Invoice, ...]:
    """The invoices of every period from ``start`` to ``end`` (IN1-IN4)."""
    by_period: dict[BillingPeriod, list[InvoiceLine]] = {}
    # Keys sort as invoices list their lines: by period, category, resource, rule...
    for key in sorted(accruals):
        accrual = accruals[key]
        meta = metas[key]
        price = meta.price
        line = make_line(
            rounding=rounding,
            quantity=meta.quantity(accrual.quantity),
            rate=meta.rate,
            rate_per=meta.rate_per,
            resource=key[2],
            category=meta.category,
            rule=meta.rule,
            description=meta.description,
            unit=meta.unit,
            rate_unit=meta.rate_unit,
            source=price.source,
            price_effective_from=price.effective_from,
            price_key=price.key,
            interval=Interval.from_micros(accrual.start, accrual.end),
        )
        by_period.setdefault(key[0], []).append(line)
    applied: dict[BillingPeriod, Decimal] = {}
    if ledger is not None:
        for entry in ledger.entries:
            # A draw belongs to the period of the span it pays for; only the part paid from
            # credits is applied. Credits added in a period pay its debt first: that part is
            # applied too. Debt still unpaid at the period's close is due on the invoice
            # (W25), once: later credits never pay it (see credits.py).
            if entry.kind is LedgerKind.CONSUMPTION:
                paid, bucket = entry.from_credits, entry.period
            elif entry.paid_debt:
                paid, bucket = entry.paid_debt, entry.period
            else:
                continue
            applied[bucket] = EXACT_CONTEXT.add(applied.get(bucket, Decimal(0)), paid)
    made = []
    period = BillingPeriod.of_micros(start)
    as_of = from_micros(end)
    # One invoice per period from the start's to the end's (one for an empty replay).
    while True:
        status = InvoiceStatus.FINAL if period.end_micros <= end else InvoiceStatus.DRAFT
        paid = applied.get(period, Decimal(0))
        lines = tuple(by_period.get(period, ()))
        made.append(
            Invoice(
                period=period,
                status=status,
                as_of=min(as_of, period.end),
                lines=lines,
                credits_applied=credits_applied(lines, paid, rounding),
                paid_from_credits_exact=paid,
            )
        )
        if period.end_micros >= end:
            break
        period = period.next()
    return tuple(made)


def credits_applied(lines: Sequence[InvoiceLine], paid: Decimal, rounding: RoundingMode) -> Decimal:
    """What credits paid of a period's lines, in cents, so that the amount due is the
    exact unpaid part rounded once by P-ROUND (IN3, G1).

    The amount due is ``sum(amount_exact) - paid`` rounded in the replay's mode, and at
    most the total (lines are rounded one by one); credits applied is the rest of the
    total, so the two always add up to it and neither is ever negative.
    """
    exact = Decimal(0)
    total = Decimal(0)
    for line in lines:
        exact = EXACT_CONTEXT.add(exact, line.amount_exact)
        total += line.amount
    unpaid = max(EXACT_CONTEXT.subtract(exact, paid), Decimal(0))
    due = min(cents(unpaid, rounding), total)
    return total - due
