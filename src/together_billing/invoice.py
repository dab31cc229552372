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
from together_billing._figures import plain
from together_billing.catalog import Source
from together_billing.money import EXACT_CONTEXT, Money, RoundingMode, round_to_cents
from together_billing.resources import Category
from together_billing.time import BillingPeriod, Interval, MeteringGrain, from_micros

__all__ = [
    "Action",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LogEntry",
    "MeteredSpan",
    "exhausted_at",
]

_NO_CENTS = Decimal("0.00")


class InvoiceStatus(Choice):
    """A closed period's invoice is ``final``; the open period's is a ``draft`` (IN4)."""

    __field__ = "status"

    FINAL = "final"
    DRAFT = "draft"


class Action(Choice):
    """What a replay did or noticed: the ``action`` of a :class:`LogEntry`.

    A ``StrEnum``: each member equals its text (``Action.CREDITS_EXHAUSTED ==
    "credits exhausted"``), and JSON and printed output show that text. Every text the
    engine logs is a member; the rule each one applies is in the entry's ``rule``.

    >>> Action("credits exhausted") is Action.CREDITS_EXHAUSTED
    True
    >>> str(Action.CREDITS_EXHAUSTED), Action.CREDITS_EXHAUSTED == "credits exhausted"
    ('credits exhausted', True)
    >>> Action.ignored("stop"), Action.refused("deploy")
    (<Action.STOP_IGNORED: 'stop ignored'>, <Action.DEPLOY_REFUSED: 'deploy refused'>)
    """

    __field__ = "action"

    # -- the account and its credits (CR1-CR8) ---------------------------------------------
    ACCOUNT_OPENED = "account opened"
    """An :class:`~together_billing.Account` joined the replay, with its opening balance (CR1)."""
    CREDITS_PURCHASED = "credits purchased"
    """A :class:`~together_billing.Purchase` added credits (CR1, P-MIN-BUY)."""
    CREDITS_GRANTED = "credits granted"
    """A :class:`~together_billing.Grant` added promotional credits (CR1)."""
    PROMOTIONAL_CREDITS_EXPIRED = "promotional credits expired"
    """Promotional credits reached their expiry unused (CR1, P-CONSUME)."""
    AUTO_RECHARGE = "auto-recharge"
    """Auto-recharge bought credits when the balance went below its threshold (CR1, C6)."""
    ALERT = "alert"
    """A warning before an action: a balance threshold, the forecast run-out, a grace period's
    end (CR6, P-ALERT), or a reservation's coming end (CL5)."""
    CREDITS_EXHAUSTED = "credits exhausted"
    """The balance reached the floor (CR2, P-FLOOR): the instant the credits ran out."""
    API_ACCESS_SUSPENDED = "API access suspended"
    """Credits ran out and API access is suspended (CR8, P-EXHAUST)."""
    CREDITS_RESTORED = "credits restored"
    """The balance is above the floor again; API access resumes (CR7)."""
    RESUMED = "resumed"
    """A cluster paused for want of credit runs again (CR7)."""
    ACCESS_RESTORED = "access restored"
    """A volume whose access was revoked is accessible again (CR7)."""
    PAUSED = "paused"
    """On-demand compute paused for want of credit; its grace period starts (CR4)."""
    ACCESS_REVOKED = "access revoked"
    """Storage access revoked for want of credit; its grace period starts (CR5)."""
    DATA_DELETED = "data deleted"
    """A revoked volume's data deleted at its grace period's end (CR5)."""
    BURST_CAPACITY_DECOMMISSIONED = "burst capacity decommissioned"
    """A reserved cluster's burst GPUs stopped when credits ran out (CR3)."""
    BURST_REFUSED = "burst refused"
    """A reserved cluster became ready without its burst GPUs: credits are exhausted (CR3)."""
    JOB_STOPPED_AT_THE_BILLING_LIMIT = "job stopped at the billing limit"
    """A fine-tuning job ended while credits were exhausted: not charged (CR8)."""

    # -- prices (G4) -----------------------------------------------------------------------
    PRICE_CHANGE = "price change"
    """A :class:`~together_billing.PriceChange` took effect (G4)."""

    # -- beginnings and ends (G2, DE, FT, CL, ST) ------------------------------------------
    DEPLOYED = "deployed"
    """A deployment was deployed (DE2, FT2); it bills once ready (at once when it is)."""
    STARTED = "started"
    """A stopped deployment (DE2, FT2) or on-demand cluster (CL4) started again."""
    STARTING = "starting"
    """A stopped on-demand cluster is starting: not billed until ready (CL4)."""
    PROVISIONING = "provisioning"
    """A cluster is provisioning: not billed until ready (CL2, CL4)."""
    READY = "ready"
    """A deployment's replicas (DE2, FT2) or a cluster's GPUs (CL2, CL4) are ready and bill
    from here."""
    CREATED = "created"
    """A storage volume was created and bills from here (ST1)."""
    DEPLOYMENT_FAILED = "deployment failed"
    """A deployment's provisioning failed: nothing billed (DE2, FT2)."""
    PROVISIONING_FAILED = "provisioning failed"
    """A cluster's provisioning failed: nothing charged (CL2)."""
    REPLICAS_CHANGED = "replicas changed"
    """A deployment scaled to another number of ready replicas (DE3)."""
    GPUS_CHANGED = "GPUs changed"
    """A cluster scaled to another number of GPUs (CL3, CL4)."""
    RESIZED = "resized"
    """A storage volume changed size (ST2, P-SHRINK)."""
    RESERVATION_EXTENDED = "reservation extended"
    """A reservation was extended and the extension charged (CL5)."""
    STORAGE_PRICED_RESERVED = "storage priced reserved"
    """A volume bills at the reserved storage rate while its cluster's reservation runs (ST3)."""
    STORAGE_PRICED_ON_DEMAND = "storage priced on-demand"
    """A volume bills at the on-demand storage rate again, its reservation over (ST3)."""
    STOPPED = "stopped"
    """A deployment (DE2, FT2; CR8 when credits ran out) or on-demand cluster (CL4) stopped."""
    AUTO_STOPPED = "auto-stopped"
    """A deployment stopped after its inactivity timeout (DE4, P-IDLE)."""
    DELETED = "deleted"
    """A deployment (DE2, FT2) or storage volume (ST1) was deleted."""
    TERMINATED = "terminated"
    """A cluster was deleted (CL4; CL5 for a reserved one, not refunded)."""
    DECOMMISSIONED = "decommissioned"
    """A cluster ended by the engine: its reservation ended (CL5) or its grace period did (CR4)."""
    EMPTY_RUN = "empty run"
    """Begun and ended at one instant: an empty half-open interval, not billed (G2)."""

    # -- fine-tuning jobs (FT1) ------------------------------------------------------------
    JOB_COMPLETED = "job completed"
    """A fine-tuning job completed and its tokens were charged (FT1)."""
    JOB_CANCELLED = "job cancelled"
    """A fine-tuning job was cancelled; its processed tokens were charged (FT1, P-FT-CANCEL)."""

    # -- beginnings refused while out of credit ("<action> refused", CR3-CR5, CR8, CL2, CL5) -
    DEPLOY_REFUSED = "deploy refused"
    """A deploy refused: credits exhausted (CR4, CR5, CR8), or a reservation credits cannot
    pay (CL2, CR3)."""
    START_REFUSED = "start refused"
    """A start refused: credits exhausted (CR4, CR8)."""
    READY_REFUSED = "ready refused"
    """A deployment's ready refused (CR8), or a reservation credits cannot pay (CL2, CR3)."""
    SCALE_REFUSED = "scale refused"
    """Added on-demand or burst GPUs refused: credits exhausted (CR3, CR4)."""
    EXTENSION_REFUSED = "extension refused"
    """A reservation's extension that credits cannot pay (CL5, CR3)."""
    REQUESTS_REFUSED = "requests refused"
    """Requests refused: API access suspended (CR8), or made to a deployment that is not
    running (DE2)."""
    JOB_REFUSED = "job refused"
    """A job's charge refused for want of credit (CR8). Today's engine logs
    :attr:`JOB_STOPPED_AT_THE_BILLING_LIMIT` instead; kept so every admission has its text."""

    # -- late customer events, logged no-ops ("<verb> ignored", G2 or the ending rule) -------
    DEPLOY_IGNORED = "deploy ignored"
    """A deploy of a resource already ended at this instant (G2) or by the engine (its rule)."""
    START_IGNORED = "start ignored"
    """A start of a resource already ended at this instant (G2) or by the engine (its rule)."""
    READY_IGNORED = "ready ignored"
    """A ready of a resource already ended at this instant (G2) or by the engine (its rule)."""
    DEPLOY_FAILURE_IGNORED = "deploy failure ignored"
    """A deploy failure of a resource the engine already ended (its rule: CR4, CR8, CL2...)."""
    STOP_IGNORED = "stop ignored"
    """A stop of a resource the engine already stopped or paused (DE4, CR4, CR8...)."""
    DELETE_IGNORED = "delete ignored"
    """A delete of a resource the engine already ended (CR5: its data was deleted; CL5...)."""
    SCALE_IGNORED = "scale ignored"
    """A scale of a resource the engine already ended (DE4, CR4, CR8, CL5...)."""
    EXTENSION_IGNORED = "extension ignored"
    """An extension of a reservation the engine already ended (CL5, CR3...)."""
    RESIZE_IGNORED = "resize ignored"
    """A resize of a volume the engine already ended or revoked (CR5)."""
    REQUESTS_IGNORED = "requests ignored"
    """Requests to a resource the engine already ended, with that action's rule (DE4, CR8...)."""

    @classmethod
    def ignored(cls, verb: str) -> Action:
        """The action logged when a late customer event is a no-op: ``"<verb> ignored"``."""
        return cls(f"{verb} ignored")

    @classmethod
    def refused(cls, action: str) -> Action:
        """The action logged when a beginning is refused: ``"<action> refused"``."""
        return cls(f"{action} refused")


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
    price_key: tuple[str, ...] = ()
    """The catalog key of the rate, such as ``("hardware", "1x_nvidia_h100_80gb_sxm")``
    (``key`` of the price entry it comes from; ``()`` for a line built by hand). Not part
    of :meth:`to_dict`: the JSON of a line is unchanged."""

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
            "amount_exact": plain(self.amount_exact),
            "amount": str(self.amount),
        }


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
    """Something the replay did or noticed, with its instant and the rule behind it.

    ``action`` is an :class:`Action` (text is converted on construction; an unknown text
    raises :class:`~together_billing.InvalidArgument`).
    """

    at: pendulum.DateTime
    resource: str
    action: Action = attrs.field(converter=Action)
    rule: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "resource": self.resource,
            "action": self.action.value,
            "rule": self.rule,
            "detail": self.detail,
        }


def exhausted_at(
    log: Iterable[LogEntry], *, since: pendulum.DateTime | None = None
) -> pendulum.DateTime | None:
    """When the credits first ran out in ``log`` (at or after ``since``), or ``None``.

    The instant of the first :attr:`Action.CREDITS_EXHAUSTED` entry: the balance reached
    the floor (CR2, P-FLOOR). ``None`` also for the log of a replay without an
    :class:`~together_billing.Account`. The one reading of a runway from a log: the
    testing helpers, forecasts, comparisons and account summaries all use it.
    """
    for entry in log:
        if entry.action == Action.CREDITS_EXHAUSTED and (since is None or entry.at >= since):
            return entry.at
    return None


@attrs.frozen(kw_only=True)
class MeteredSpan:
    """A stretch of running time of ``units`` units at one price: what time is billed from.

    A replay keeps the running time of what it meters (a deployment's replicas, a
    cluster's on-demand or burst GPUs, a volume's TiB) as spans; each span is cut where
    its price changes (G4). The time-based invoice lines count, in each billing period,
    the grain units *starting* in the span on the grid from :attr:`grid_micros` (G3):
    :meth:`count` and :meth:`amount` redo that arithmetic for the span or any part of
    it. ``rate`` is per unit-hour (``rate_unit``), from the price entry of
    ``price_key`` effective at ``price_effective_from``.

    Instants are microseconds since the epoch (UTC), as for
    :meth:`~together_billing.MeteringGrain.count`; :attr:`start`, :attr:`end` and
    :attr:`interval` give them as instants.
    """

    resource: str
    category: Category
    rule: str
    description: str
    grain: MeteringGrain
    grid_micros: int
    """Where the units' grid starts: when they became ready together (G3)."""
    units: int
    """How many units run over the span (replicas, GPUs or TiB)."""
    start_micros: int
    end_micros: int
    price_key: tuple[str, ...]
    rate: Decimal
    rate_unit: str
    price_effective_from: pendulum.DateTime

    @property
    def start(self) -> pendulum.DateTime:
        return from_micros(self.start_micros)

    @property
    def end(self) -> pendulum.DateTime:
        return from_micros(self.end_micros)

    @property
    def interval(self) -> Interval:
        """``[start, end)``."""
        return Interval.from_micros(self.start_micros, self.end_micros)

    def count(self, start_micros: int | None = None, end_micros: int | None = None) -> int:
        """How many grain units (per unit: per replica, GPU or TiB) start in the span, or in
        its part within ``[start_micros, end_micros)``; microseconds under the prorated
        grain. A span of 60 minutes counts 60 under the per-minute grain (G3)."""
        lo = self.start_micros if start_micros is None else max(start_micros, self.start_micros)
        hi = self.end_micros if end_micros is None else min(end_micros, self.end_micros)
        return self.grain.count(self.grid_micros, lo, hi) if hi > lo else 0

    def amount(self, count: int) -> Decimal:
        """The exact charge of ``count`` grain units (a :meth:`count`) of each of the span's
        ``units``, at its rate (not rounded: lines are rounded once, P-ROUND)."""
        quantity = self.grain.quantity(count * self.units)
        return EXACT_CONTEXT.divide(
            EXACT_CONTEXT.multiply(quantity, self.rate), Decimal(self.grain.units_per_hour)
        )


def sum_totals(invoices: Iterable[Invoice]) -> Money:
    return sum((invoice.total for invoice in invoices), Money.zero())
