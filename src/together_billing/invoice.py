"""Invoices: one per billing period, every line attributable (IN1-IN4).

An :class:`InvoiceLine` names the resource, the rule it applies, the quantity and
its unit, the rate with its catalog source, and the interval it covers. Its
``amount_exact`` is kept; ``amount`` is that value rounded to cents once, by
:func:`~together_billing.money.round_to_cents` (P-ROUND). An invoice's total is
exactly the sum of its lines' amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pendulum

from together_billing._choice import Choice
from together_billing.catalog import Source
from together_billing.money import EXACT_CONTEXT, Money, RoundingMode, round_to_cents
from together_billing.resources import Category
from together_billing.time import BillingPeriod, Interval

__all__ = ["Invoice", "InvoiceLine", "InvoiceStatus", "LogEntry"]

_NO_CENTS = Decimal("0.00")


class InvoiceStatus(Choice):
    """A closed period's invoice is ``final``; the open period's is a ``draft`` (IN4)."""

    __field__ = "status"

    FINAL = "final"
    DRAFT = "draft"


@attrs.frozen(kw_only=True)
class InvoiceLine:
    """One charge on an invoice, with everything needed to explain it (IN1).

    ``amount_exact`` = ``quantity`` x ``rate`` / ``rate_per``: for example 90
    replica-minutes at 3.99 USD per replica-hour (``rate_per`` = 60 minutes).
    """

    resource: str
    category: Category
    rule: str
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    rate_unit: str
    rate_per: Decimal
    source: Source
    price_effective_from: pendulum.DateTime
    interval: Interval
    amount_exact: Decimal
    amount: Decimal

    @property
    def money(self) -> Money:
        return Money(self.amount)

    @property
    def estimated(self) -> bool:
        """True when the rate is not from Together's own material (or a user's contract)."""
        return not self.source.official

    @property
    def rounding_adjustment(self) -> Decimal:
        """What rounding moved: ``amount - amount_exact``."""
        return self.amount - self.amount_exact

    def to_dict(self) -> dict[str, Any]:
        """The line as JSON-ready data (amounts and quantities as decimal strings)."""
        return {
            "resource": self.resource,
            "category": self.category.value,
            "group": self.category.group,
            "rule": self.rule,
            "description": self.description,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "rate": str(self.rate),
            "rate_unit": self.rate_unit,
            "price": {
                "effective_from": self.price_effective_from.isoformat(),
                "source": self.source.url,
                "source_date": self.source.date,
                "source_kind": self.source.kind.value,
                "estimated": self.estimated,
            },
            "interval": {
                "start": self.interval.start.isoformat(),
                "end": self.interval.end.isoformat(),
            },
            "amount_exact": _plain(self.amount_exact),
            "amount": str(self.amount),
        }


def _plain(value: Decimal) -> str:
    """A decimal string without exponent, trailing zeros dropped."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def amount_of(quantity: Decimal, rate: Decimal, rate_per: Decimal) -> Decimal:
    """The exact amount of ``quantity`` at ``rate`` per ``rate_per`` units: the one amount
    formula of lines and of the credits they draw (IN1), to 50 digits (G1)."""
    return EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(quantity, rate), rate_per)


def make_line(
    *,
    rounding: RoundingMode,
    quantity: Decimal,
    rate: Decimal,
    rate_per: Decimal,
    **fields: Any,
) -> InvoiceLine:
    """Build a line, computing its exact amount and rounding it (the one rounding call, G1)."""
    exact = amount_of(quantity, rate, rate_per)
    return InvoiceLine(
        quantity=quantity,
        rate=rate,
        rate_per=rate_per,
        amount_exact=exact,
        amount=round_to_cents(exact, rounding),
        **fields,
    )


@attrs.frozen(kw_only=True)
class Invoice:
    """The invoice of one billing period (IN1).

    ``total`` is exactly the sum of the lines' rounded amounts. An invoice with
    no lines totals zero; usage covered by credits still appears in full (IN3).
    """

    period: BillingPeriod
    status: InvoiceStatus
    as_of: pendulum.DateTime
    lines: tuple[InvoiceLine, ...]
    credits_applied_exact: Decimal = attrs.field(default=Decimal(0), alias="credits_applied")
    """What credits paid of this period's charges, in cents (0 without an Account)."""
    paid_from_credits_exact: Decimal = attrs.field(default=Decimal(0))
    """Exactly what credits paid of this period's charges: draws from credits, and the part
    of purchases made in this period that paid its debt. Not rounded."""

    @property
    def credits_applied(self) -> Money:
        """Charges paid from the account's credits in this period (IN3).

        Not capped at the total: a difference between what credits paid and what the
        lines charge shows in :attr:`amount_due` instead of being hidden. Lines are rounded
        one by one (P-ROUND) and this sum once, so the two can differ by rounding cents.
        """
        return Money(self.credits_applied_exact)

    @property
    def amount_due(self) -> Money:
        """Charges not paid from credits: reservations paid up front, and the debt of a
        balance below zero still unpaid when the period closed (billed once, here).

        $0 when credits covered everything: the invoice still lists the usage (IN3).
        """
        return self.total - self.credits_applied

    @property
    def total(self) -> Money:
        """The exact sum of the lines' amounts, in cents (G1; $0.00 without lines)."""
        return Money(sum((line.amount for line in self.lines), _NO_CENTS))

    @property
    def total_exact(self) -> Decimal:
        return sum((line.amount_exact for line in self.lines), Decimal(0))

    def __iter__(self) -> Iterator[InvoiceLine]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def subtotals(self) -> dict[Category, Money]:
        """Totals by category, in category order (IN2)."""
        result: dict[Category, Money] = {}
        for line in self.lines:
            result[line.category] = result.get(line.category, Money.zero()) + line.money
        return result

    def by_group(self) -> dict[str, Money]:
        """Totals of ``deployment`` and ``usage`` charges, kept apart (G5)."""
        result: dict[str, Money] = {}
        for line in self.lines:
            group = line.category.group
            result[group] = result.get(group, Money.zero()) + line.money
        return result

    def lines_for(self, resource: str) -> tuple[InvoiceLine, ...]:
        return tuple(line for line in self.lines if line.resource == resource)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "status": self.status.value,
            "as_of": self.as_of.isoformat(),
            "lines": [line.to_dict() for line in self.lines],
            "subtotals": {c.value: str(m.amount) for c, m in self.subtotals().items()},
            "total": str(self.total.amount),
            "credits_applied": str(self.credits_applied.amount),
            "amount_due": str(self.amount_due.amount),
            "currency": "USD",
        }


@attrs.frozen(kw_only=True)
class LogEntry:
    """Something the replay did or noticed, with its instant and the rule behind it."""

    at: pendulum.DateTime
    resource: str
    action: str
    rule: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "resource": self.resource,
            "action": self.action,
            "rule": self.rule,
            "detail": self.detail,
        }


def sum_totals(invoices: Iterable[Invoice]) -> Money:
    return sum((invoice.total for invoice in invoices), Money.zero())
