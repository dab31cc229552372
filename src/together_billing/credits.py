"""Credits: the account's ledger and auto-recharge (CR1-CR8, G5).

An :class:`Account` among a replay's resources turns the ledger on: purchases and
promotional grants add credits, charges draw them down as they accrue (running
resources continuously at their rate, the rest of a started minute when they
stop, usage and jobs at their instant, reservations at provisioning when paid
from credits), and every movement is a :class:`LedgerEntry`, so the balance at
any instant can be explained entry by entry. A purchase is never a charge (G5).

Consumption order (policy P-CONSUME, facts C20): promotional credits first, the
one expiring soonest first, then purchased credits in the order bought. When
all credits are used, the balance goes negative down to the floor (P-FLOOR).

Debt (a negative balance) is collected once: a purchase or grant pays the debt of
its own billing period first; whatever debt a period still has when it closes is
that period's amount due, billed on its invoice, and is then settled (a
``settlement`` entry brings the balance back up by it). Credits bought later never
pay it again: "credits bought after an invoice is generated cannot be used to pay
earlier invoices" (billing [DOCS-2025-11]). So, exactly, over any replay::

    purchased + granted + sum(amount due) == sum(charges) + remaining + expired

>>> ledger = Ledger()
>>> ledger.add(0, "purchase", Decimal("25"))
>>> ledger.add(0, "grant", Decimal("5"), expires=10)
>>> ledger.consume(5, Decimal("7"), "ep-1")
>>> ledger.balance, [(str(e.kind), str(e.amount)) for e in ledger.entries]
(Decimal('23'), [('purchase', '25'), ('grant', '5'), ('consumption', '-7')])
"""

from __future__ import annotations

import bisect
from decimal import ROUND_CEILING, Decimal
from typing import Final

import attrs
import pendulum

from together_billing._choice import Choice
from together_billing.errors import InvalidArgument
from together_billing.money import EXACT_CONTEXT, to_decimal
from together_billing.time import BillingPeriod, from_micros

__all__ = [
    "Account",
    "AutoRecharge",
    "AutoRechargeMode",
    "Ledger",
    "LedgerEntry",
    "LedgerKind",
]


#: The most purchases one auto-recharge makes at one instant.
MAX_RECHARGE_PURCHASES: Final = 1000


class AutoRechargeMode(Choice):
    """The two documented forms of auto-recharge (facts C6)."""

    __field__ = "mode"

    INCREMENT = "increment"
    """2025-11: buy ``amount`` at a time until the balance reaches ``threshold`` (W23)."""
    TOP_UP = "top-up"
    """2026: one purchase bringing the balance up to ``target`` (W24)."""


def _to_amount(value: object) -> Decimal:
    return to_decimal(value, field="amount")


def _to_threshold(value: object) -> Decimal:
    return to_decimal(value, field="threshold")


def _to_optional_target(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="target")


def _to_opening(value: object) -> Decimal:
    return to_decimal(value, field="opening_balance")


def _check_flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(attribute.name, value, "True or False")


@attrs.frozen(kw_only=True)
class AutoRecharge:
    """Auto-recharge settings: when the balance falls below ``threshold``, buy credits.

    ``mode=increment`` buys ``amount`` (default $25) repeatedly until the balance is
    at least ``threshold``; ``mode=top-up`` buys once, up to ``target``.
    """

    mode: AutoRechargeMode = attrs.field(converter=AutoRechargeMode)
    threshold: Decimal = attrs.field(converter=_to_threshold)
    amount: Decimal = attrs.field(default=Decimal(25), converter=_to_amount)
    target: Decimal | None = attrs.field(default=None, converter=_to_optional_target)

    def __attrs_post_init__(self) -> None:
        if self.mode is AutoRechargeMode.INCREMENT and self.amount <= 0:
            raise InvalidArgument("amount", self.amount, "a positive amount to buy each time")
        if self.mode is AutoRechargeMode.TOP_UP and (
            self.target is None or self.target <= self.threshold
        ):
            raise InvalidArgument(
                "target", self.target, f"an amount above the threshold ({self.threshold})"
            )

    def purchases(self, balance: Decimal, *, minimum: Decimal = Decimal(0)) -> list[Decimal]:
        """The purchases a recharge makes at ``balance`` (none at or above the threshold).

        Each purchase is at least ``minimum`` (P-MIN-BUY), and is counted at that
        amount: a recharge never buys more times than it needs. More than
        :data:`MAX_RECHARGE_PURCHASES` purchases at one instant is an error.

        >>> AutoRecharge(mode="increment", threshold=60, amount=25).purchases(Decimal(5))
        [Decimal('25'), Decimal('25'), Decimal('25')]
        >>> AutoRecharge(mode="top-up", threshold=60, target=100).purchases(Decimal(5))
        [Decimal('95.00')]
        """
        if balance >= self.threshold:
            return []
        if self.mode is AutoRechargeMode.TOP_UP:
            assert self.target is not None
            # A card is charged in cents: round up, so the balance reaches the target.
            needed = EXACT_CONTEXT.subtract(self.target, balance)
            return [max(needed.quantize(Decimal("0.01"), rounding=ROUND_CEILING), minimum)]
        amount = max(self.amount, minimum)
        shortfall = EXACT_CONTEXT.subtract(self.threshold, balance)
        count = EXACT_CONTEXT.divide_int(shortfall, amount)
        if EXACT_CONTEXT.multiply(count, amount) < shortfall:
            count += 1
        if count > MAX_RECHARGE_PURCHASES:
            raise InvalidArgument(
                "auto_recharge.amount",
                self.amount,
                f"an amount that brings the balance from {balance} up to the threshold "
                f"{self.threshold} in at most {MAX_RECHARGE_PURCHASES} purchases "
                "(MAX_RECHARGE_PURCHASES)",
            )
        return [amount] * int(count)


@attrs.frozen
class Account:
    """The billing account: its presence among a replay's resources turns credits on (CR1).

    ``opening_balance`` is the purchased credit at the replay's start;
    ``auto_recharge`` is optional.

    ``linked_card``: the account has a credit card linked. In the 2025-11 rules
    (billing [DOCS-2025-11]) such an account on Build Tiers 1-4 may use credit down
    to a -$100 balance, billed on its month-end invoice: its credits are exhausted at
    the policy ``linked_card_floor`` (-100) instead of ``credit_floor`` ($0, prepaid;
    P-FLOOR).
    The 2026 rules are fully prepaid: there the card changes nothing.
    """

    id: str = "account"
    opening_balance: Decimal = attrs.field(kw_only=True, default=Decimal(0), converter=_to_opening)
    auto_recharge: AutoRecharge | None = attrs.field(kw_only=True, default=None)
    linked_card: bool = attrs.field(kw_only=True, default=False, validator=_check_flag)


class LedgerKind(Choice):
    """What a :class:`LedgerEntry` records: credits in, credits out, or a debt billed.

    A ``StrEnum``: each member equals its text (``LedgerKind.CONSUMPTION ==
    "consumption"``), and JSON and printed output show that text.
    """

    __field__ = "kind"

    PURCHASE = "purchase"
    """Credits bought: the opening balance or a :class:`~together_billing.Purchase` (CR1, G5)."""
    GRANT = "grant"
    """Promotional credits granted, used first and possibly expiring (CR1, P-CONSUME)."""
    RECHARGE = "recharge"
    """Credits bought by auto-recharge (CR1, facts C6)."""
    CONSUMPTION = "consumption"
    """A charge drawn from the credits; beyond them, a debt (CR1, P-FLOOR)."""
    EXPIRY = "expiry"
    """Promotional credits expired unused (CR1)."""
    SETTLEMENT = "settlement"
    """A closed period's debt, billed on its invoice as amount due (IN3, W25)."""


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One movement of credits.

    ``kind`` is a :class:`LedgerKind` (text is converted on construction): ``purchase``,
    ``grant``, ``recharge``, ``consumption``, ``expiry`` or ``settlement`` (a closed
    period's debt, billed on its invoice); ``amount`` is positive for credits in and
    negative for credits out.
    """

    at_micros: int
    kind: LedgerKind = attrs.field(converter=LedgerKind)
    amount: Decimal
    balance: Decimal
    resource: str = ""
    note: str = ""
    from_credits: Decimal = Decimal(0)
    """For a consumption: the part paid from credits (the rest became debt)."""
    since_micros: int | None = None
    """For a continuous draw: the start of the span it pays for (it ends at ``at``)."""
    unit_start_micros: int | None = None
    """For a consumption that pays for part of a billed unit (a minute, an hour) begun in an
    earlier billing period: that unit's start. ``None`` for the usual case."""
    paid_debt: Decimal = Decimal(0)
    """For credits in: the part that paid the debt of the period it was bought in."""

    @property
    def at(self) -> pendulum.DateTime:
        return from_micros(self.at_micros)

    @property
    def period(self) -> BillingPeriod:
        """The billing period whose invoice this movement belongs to (IN3).

        A consumption belongs to the period of what it pays for: the unit it finishes
        (``unit_start_micros``), else the start of its span (``since_micros``), else its
        instant. A minute begun on 31 October and drawn after midnight is October's.

        >>> LedgerEntry(at_micros=0, kind="purchase", amount=Decimal(5), balance=Decimal(5)).period
        BillingPeriod(year=1970, month=1)
        """
        for when in (self.unit_start_micros, self.since_micros):
            if when is not None:
                return BillingPeriod.of_micros(when)
        return BillingPeriod.of_micros(self.at_micros)

    def to_dict(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind.value,
            "amount": _display(self.amount),
            "balance": _display(self.balance),
            "resource": self.resource,
            "note": self.note,
        }


def _display(value: Decimal) -> str:
    """A ledger amount for people: to the ten-billionth of a dollar, without an exponent."""
    shown = EXACT_CONTEXT.quantize(value, Decimal("1e-10")).normalize()
    return format(shown + 0, "f")


@attrs.define
class _Bucket:
    kind: LedgerKind
    remaining: Decimal
    added: int
    expires: int | None

    def order(self) -> tuple[bool, int, int]:
        """Promotional credits: the one expiring soonest first, then the oldest (P-CONSUME)."""
        return (self.expires is None, self.expires or 0, self.added)


@attrs.define
class Ledger:
    """Credit buckets (CR1), used in the P-CONSUME order, and the record of every movement.

    Consumption beyond the buckets leaves a negative balance: a debt, kept by the
    billing period whose invoice it belongs to. Credits added in a period pay that
    period's debt first; :meth:`settle` clears the debt of closed periods (their
    invoices bill it).

    Buckets are kept in the order they are used (P-CONSUME): promotional credits sorted
    by expiry, then purchased ones in the order bought; the credit and debt totals are
    kept as they change. So the balance is read in constant time, and a charge costs
    the buckets it empties, whatever the number of purchases.
    """

    promotional: list[_Bucket] = attrs.Factory(list)
    """Granted credits, in the order they are used (soonest expiry first)."""
    bought: list[_Bucket] = attrs.Factory(list)
    """Purchased and recharged credits, in the order bought."""
    debts: dict[BillingPeriod, Decimal] = attrs.Factory(dict)
    entries: list[LedgerEntry] = attrs.Factory(list)
    purchased: Decimal = Decimal(0)
    granted: Decimal = Decimal(0)
    consumed: Decimal = Decimal(0)
    expired: Decimal = Decimal(0)
    settled: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    """What the buckets hold in all."""
    debt: Decimal = Decimal(0)
    """The debt not yet billed on an invoice (a negative balance's size)."""

    @property
    def balance(self) -> Decimal:
        balance = EXACT_CONTEXT.subtract(self.credit, self.debt)
        return balance if balance else Decimal(0)

    def _owe(self, period: BillingPeriod, amount: Decimal) -> None:
        self.debts[period] = EXACT_CONTEXT.add(self.debts.get(period, Decimal(0)), amount)
        self.debt = EXACT_CONTEXT.add(self.debt, amount)

    def add(self, at: int, kind: str, amount: Decimal, *, expires: int | None = None) -> None:
        """Credits in: a ``purchase``, ``recharge`` or promotional ``grant``.

        A purchase is never a charge (G5); credits added in a period pay its debt first (IN3).
        """
        credit = LedgerKind(kind)
        if credit is LedgerKind.GRANT:
            self.granted = EXACT_CONTEXT.add(self.granted, amount)
        else:
            self.purchased = EXACT_CONTEXT.add(self.purchased, amount)
        # Only the open period's debt: earlier periods' debt is billed on their invoices.
        period = BillingPeriod.of_micros(at)
        owed = self.debts.get(period, Decimal(0))
        paid = min(owed, amount)
        if paid:
            left = EXACT_CONTEXT.subtract(owed, paid)
            if left:
                self.debts[period] = left
            else:
                del self.debts[period]
            self.debt = EXACT_CONTEXT.subtract(self.debt, paid)
        remaining = EXACT_CONTEXT.subtract(amount, paid)
        if remaining:
            bucket = _Bucket(credit, remaining, at, expires)
            if credit is LedgerKind.GRANT:
                bisect.insort(self.promotional, bucket, key=_Bucket.order)
            else:
                self.bought.append(bucket)
            self.credit = EXACT_CONTEXT.add(self.credit, remaining)
        self.entries.append(
            LedgerEntry(
                at_micros=at, kind=credit, amount=amount, balance=self.balance, paid_debt=paid
            )
        )

    def _take(self, amount: Decimal) -> Decimal:
        """Take ``amount`` from the buckets in P-CONSUME order; return what they lacked."""
        left = amount
        for buckets in (self.promotional, self.bought):
            emptied = 0
            for bucket in buckets:
                if not left:
                    break
                taken = min(bucket.remaining, left)
                bucket.remaining = EXACT_CONTEXT.subtract(bucket.remaining, taken)
                left = EXACT_CONTEXT.subtract(left, taken)
                if bucket.remaining:
                    break
                emptied += 1
            if emptied:
                del buckets[:emptied]
            if not left:
                break
        self.credit = EXACT_CONTEXT.subtract(self.credit, EXACT_CONTEXT.subtract(amount, left))
        return left

    def consume(
        self,
        at: int,
        amount: Decimal,
        resource: str,
        note: str = "",
        *,
        since: int | None = None,
        unit_start: int | None = None,
    ) -> None:
        """Credits out for a charge (P-CONSUME order); beyond the credits, a debt."""
        if not amount:
            return
        self.consumed = EXACT_CONTEXT.add(self.consumed, amount)
        left = self._take(amount)
        entry = LedgerEntry(
            at_micros=at,
            kind=LedgerKind.CONSUMPTION,
            amount=EXACT_CONTEXT.minus(amount),
            balance=self.balance,
            resource=resource,
            note=note,
            from_credits=EXACT_CONTEXT.subtract(amount, left),
            since_micros=since,
            unit_start_micros=unit_start,
        )
        if left:
            self._owe(entry.period, left)
            entry = attrs.evolve(entry, balance=self.balance)
        self.entries.append(entry)

    def settle(self, at: int) -> Decimal:
        """Clear the debt of the periods closed at ``at``: their invoices bill it (IN3).

        Returns the amount settled; each period settled gets a ``settlement`` entry.
        """
        current = BillingPeriod.of_micros(at)
        total = Decimal(0)
        for period in sorted(p for p in self.debts if p < current):
            amount = self.debts.pop(period)
            total = EXACT_CONTEXT.add(total, amount)
            self.debt = EXACT_CONTEXT.subtract(self.debt, amount)
            self.settled = EXACT_CONTEXT.add(self.settled, amount)
            self.entries.append(
                LedgerEntry(
                    at_micros=at,
                    kind=LedgerKind.SETTLEMENT,
                    amount=amount,
                    balance=self.balance,
                    note=f"billed on the {period.label} invoice",
                )
            )
        return total

    def expire(self, at: int) -> Decimal:
        """Expire promotional credits whose expiry is at or before ``at``; returns the amount."""
        total = Decimal(0)
        count = 0
        # Sorted by expiry: the expired ones come first.
        for bucket in self.promotional:
            if bucket.expires is None or bucket.expires > at:
                break
            total = EXACT_CONTEXT.add(total, bucket.remaining)
            count += 1
        if count:
            del self.promotional[:count]
        if total:
            self.credit = EXACT_CONTEXT.subtract(self.credit, total)
            self.expired = EXACT_CONTEXT.add(self.expired, total)
            self.entries.append(
                LedgerEntry(
                    at_micros=at,
                    kind=LedgerKind.EXPIRY,
                    amount=EXACT_CONTEXT.minus(total),
                    balance=self.balance,
                )
            )
        return total

    def credit_buckets(self) -> list[tuple[Decimal, int | None]]:
        """``(remaining, expires)`` of each credit bucket, in the order they are used
        (P-CONSUME)."""
        return [(b.remaining, b.expires) for b in (*self.promotional, *self.bought)]

    def expiring_buckets(self) -> list[tuple[Decimal, int]]:
        """``(remaining, expires)`` of the buckets that expire, in the order they are used:
        they come first (P-CONSUME), so what a forecast needs to treat expiries as steps."""
        found = []
        for bucket in self.promotional:
            if bucket.expires is None:
                break
            found.append((bucket.remaining, bucket.expires))
        return found

    def expires_by(self, at: int) -> bool:
        """Whether promotional credits expire at or before ``at``."""
        first = self.promotional[0].expires if self.promotional else None
        return first is not None and first <= at

    def next_expiry(self, after: int) -> int | None:
        for bucket in self.promotional:
            if bucket.expires is None:
                return None
            if bucket.expires > after:
                return bucket.expires
        return None
