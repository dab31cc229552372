"""The credit lifecycle (CR1-CR8): drawing the account's credits as charges accrue, the
instant they run out, what runs out means, alerts, and restoration.

It names no rule family: it asks each one through the :class:`Family` protocol for its
running meters (what draws continuously), what a begin does while out of credit
(:meth:`CreditLifecycle.admit`), and what to do when credits run out or come back. The
ledger itself (buckets, consumption order, debt) is ``together_billing.credits``.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from together_billing._engine import metering
from together_billing._engine.alerts import RunOutAlerts
from together_billing._engine.context import Check, Context, ResourceState, micros
from together_billing._engine.crossing import below, ceil_micros, reached
from together_billing._engine.metering import MICROS_PER_HOUR_D, Draw, Group, Meter, unit_start
from together_billing._engine.vocabulary import STARTS, Admission, Begin, Refusal, Status
from together_billing._figures import cents
from together_billing.credits import Account, Ledger
from together_billing.errors import InvalidArgument, InvalidTimeline
from together_billing.money import EXACT_CONTEXT
from together_billing.resources import Resource
from together_billing.time import (
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    BillingPeriod,
    to_micros,
)
from together_billing.timeline import Grant, Purchase

__all__ = ["CreditCheck", "CreditLifecycle", "GracedState"]


@attrs.define
class GracedState(ResourceState):
    """A resource that credits running out suspends with a grace period (CR4, CR5)."""

    groups: list[Group] = attrs.Factory(list)
    generation: int = 0
    grace_end: int = 0


@attrs.frozen
class CreditCheck(Check):
    """The next instant the credit rules can change (CR2): the fold applies them after it."""

    name: ClassVar[str] = "CreditCheck"
    counts_as_more: ClassVar[bool] = False
    generation: int

    def tiebreak(self) -> tuple[Any, ...]:
        return (self.generation,)

    def stale(self, ctx: Context) -> bool:
        return self.generation != ctx.core.credit_generation

    def run(self, ctx: Context, at: int, horizon: tuple[Any, ...] | None) -> None:
        return None  # the credit rules are applied after every step (CreditLifecycle.after)


@attrs.frozen
class _GraceCheck(Check):
    resource: str
    generation: int
    what: str
    rule: str

    def subject(self) -> str:
        return self.resource

    def tiebreak(self) -> tuple[Any, ...]:
        return (self.generation,)

    def stale(self, ctx: Context) -> bool:
        state = ctx.core.states.get(self.resource)
        return not isinstance(state, GracedState) or state.generation != self.generation

    def current(self, ctx: Context) -> GracedState | None:
        state = ctx.core.states.get(self.resource)
        if (
            not isinstance(state, GracedState)
            or state.generation != self.generation
            or state.status not in (Status.PAUSED, Status.REVOKED)
        ):
            return None
        return state


@attrs.frozen
class GraceAlert(_GraceCheck):
    """The alert ``alert_lead_hours`` before a grace period ends (CR6)."""

    name: ClassVar[str] = "GraceAlert"

    def run(self, ctx: Context, at: int, horizon: tuple[Any, ...] | None) -> None:
        if self.current(ctx) is None:
            return
        hours = ctx.policies.alert_lead_hours
        ctx.log(
            at,
            self.resource,
            "alert",
            "CR6",
            f"{self.what} in {hours} h unless credits are restored ({self.rule})",
        )


@attrs.frozen
class GraceEnd(_GraceCheck):
    """The end of a grace period without restoration: the family ends the resource."""

    name: ClassVar[str] = "GraceEnd"

    def run(self, ctx: Context, at: int, horizon: tuple[Any, ...] | None) -> None:
        if self.current(ctx) is not None:
            ctx.family_of(self.resource).on_grace_end(self.resource, at)


class CreditLifecycle:
    """The account's credits through a replay (CR1-CR8)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.account_added = False
        self.alerts = RunOutAlerts(ctx, self)

    # -- the account and its credits (CR1) -------------------------------------------------

    def add_account(self, account: Account) -> None:
        core = self.ctx.core
        if core.account is not None:
            if core.account != account:
                raise InvalidArgument(
                    "resources", account, "one Account per replay (the account's credits)"
                )
            return
        core.account = account
        self.account_added = True
        core.ledger = Ledger()
        core.ledger_time = core.now
        if account.opening_balance > 0:
            core.ledger.add(core.now, "purchase", account.opening_balance)
        elif account.opening_balance < 0:
            core.ledger.consume(core.now, -account.opening_balance, account.id, "opening debt")
        self.ctx.log(
            core.now, account.id, "account opened", "CR1", f"balance {account.opening_balance}"
        )

    def start(self) -> None:
        """Apply the credit rules at the start, after any purchase at that instant; follow
        what runs already (a replay continued with a new account)."""
        if self.account_added:
            core = self.ctx.core
            self.refresh_all(core.now)
            core.credit_generation += 1
            self.ctx.schedule(core.now, CreditCheck(core.credit_generation))

    def _cents(self, value: Decimal) -> Decimal:
        """A figure for the log, in cents in the replay's rounding mode (P-ROUND)."""
        return cents(value, self.ctx.policies.rounding)

    def floor(self) -> Decimal:
        """The credit floor of this replay's account (P-FLOOR; see Policies.floor_for)."""
        return self.ctx.policies.floor_for(self.ctx.core.account)

    def credit_event(self, event: Purchase | Grant) -> None:
        """A purchase (at least P-MIN-BUY) or a promotional grant adds credits (CR1)."""
        ctx = self.ctx
        core = ctx.core
        if core.account is None or event.resource != core.account.id:
            known = core.account.id if core.account else "no Account"
            raise InvalidTimeline(
                event, "resource", event.resource, f"the replay's Account ({known})"
            )
        ledger = core.ledger
        assert ledger is not None
        at = micros(event)
        if isinstance(event, Purchase):
            minimum = ctx.policies.min_purchase
            if event.amount < minimum:
                raise InvalidTimeline(
                    event, "amount", event.amount, f"at least {minimum} (P-MIN-BUY)"
                )
            # Everything drawn so far is booked first: the balance a movement of credits
            # shows is the account's true balance.
            self.flush_all(at)
            ledger.add(at, "purchase", event.amount)
            ctx.log(at, event.resource, "credits purchased", "CR1", f"{event.amount} USD")
        else:
            expires = None if event.expires is None else to_micros(event.expires)
            if expires is not None and expires <= at:
                raise InvalidTimeline(
                    event, "expires", event.expires, f"an instant after {event.at.isoformat()}"
                )
            # What ran until now is drawn before promotional credits, used first (P-CONSUME).
            self.flush_all(at)
            ledger.add(at, "grant", event.amount, expires=expires)
            until = "" if event.expires is None else f", expiring {event.expires.isoformat()}"
            ctx.log(at, event.resource, "credits granted", "CR1", f"{event.amount} USD{until}")

    # -- drawing (CR1) ---------------------------------------------------------------------

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

    def burn_rate(self, at: int) -> Decimal:
        """USD per hour drawn by everything running at ``at`` (kept as draws change)."""
        return self.ctx.core.burn

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

    def _next_rate_change(self) -> int | None:
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
        meter = self.ctx.family_of(resource_id).meter(resource_id)
        if meter is not None:
            self._book(meter, draw, at)
        self._drawn(draw, at)

    def flush_all(self, at: int) -> None:
        """Book what every running resource owes up to ``at``."""
        draws = self.ctx.core.draws
        for meter in list(self.meters()):
            draw = draws.get(meter.resource)
            if draw is not None and at > draw.since:
                self._book(meter, draw, at)
                self._drawn(draw, at)

    def _book(self, meter: Meter, draw: Draw, at: int) -> None:
        """Book ``meter``'s draw since it was last booked."""
        self._draw(meter, draw.since, at)

    def _drawn(self, draw: Draw, at: int) -> None:
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
        core.draws[resource_id] = Draw(rate, offset, since, core.draw_version, meter.ends)
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

    # -- admission (CR3-CR5, CR8) ----------------------------------------------------------

    def out_of_credit(self) -> bool:
        """Whether the balance is at or below the floor now, after this instant's purchases."""
        ledger = self.ctx.core.ledger
        return ledger is not None and reached(self.balance(self.ctx.core.ledger_time), self.floor())

    def admit(
        self,
        resource: Resource,
        at: int,
        begin: Begin,
        *,
        charge: Decimal = Decimal(0),
        charge_rule: str = "CL2",
    ) -> Admission:
        """What a begin does: the one place deciding whether anything may start to bill.

        Every deploy, start and ready of every kind (CR3-CR5, CR8), a cluster's added GPUs,
        a reservation or extension paid from credits, a serverless request and a job's
        charge ask here.
        With the balance above the floor (or without an account) everything bills. At or
        below it, the resource's family answers (``Family.while_out_of_credit``; the table
        is docs/rules.md, "Beginning while out of credit"). A ``charge`` from credits (a
        reservation, ``charge_rule`` CL2, or its extension, CL5) that would take the balance
        below the floor is refused, exhausted or not (a prepaid account could not pay it).

        A refusal is logged here, as ``<begin> refused``, with its rule.
        """
        ctx = self.ctx
        ledger = ctx.core.ledger
        if ledger is None:
            return Admission.BILL
        floor = self.floor()
        balance = self.balance(at)
        out = reached(balance, floor)
        if charge:
            if not below(EXACT_CONTEXT.subtract(balance, charge), floor):
                return Admission.BILL
            answer: Admission | Refusal = Refusal(
                "CR3" if out else charge_rule,
                f"{self._cents(charge)} USD from credits would take the balance below {floor}",
            )
        elif not out:
            return Admission.BILL
        else:
            answer = ctx.family_of(resource.id).while_out_of_credit(resource, begin)
        if isinstance(answer, Admission):
            return answer
        ctx.log(at, resource.id, answer.action or f"{begin} refused", answer.rule, answer.why)
        state = ctx.core.states.get(resource.id)
        if state is not None and begin in STARTS:
            # Later events of the customer's for what was refused are logged no-ops.
            state.ended_by = answer.rule
        return Admission.REFUSE

    # -- after every step: expiry, recharge, alerts, exhaustion (CR1, CR2, CR6, CR7) --------

    def after(self, at: int) -> None:
        """Apply the credit rules at ``at`` and plan the next instant they can change: expiry
        and auto-recharge (CR1), threshold alerts (CR6), exhaustion at the floor (CR2) and
        restoration (CR7)."""
        ctx = self.ctx
        core = ctx.core
        ledger = core.ledger
        account = core.account
        if ledger is None or account is None:
            return
        if ledger.expires_by(at):
            # What ran until now is drawn from the credits that expire first (P-CONSUME).
            self.flush_all(at)
        if ledger.expire(at):
            ctx.log(at, account.id, "promotional credits expired", "CR1")
        recharge = account.auto_recharge
        # Below the threshold means below by more than the tolerance, as for the floor.
        if recharge is not None and below(self.balance(at), recharge.threshold):
            # A recharge is a purchase: never below the minimum (P-MIN-BUY).
            self.flush_all(at)
            purchases = recharge.purchases(ledger.balance, minimum=ctx.policies.min_purchase)
            for amount in purchases:
                ledger.add(at, "recharge", amount)
                ctx.log(
                    at, account.id, "auto-recharge", "CR1", f"{amount} USD ({recharge.mode.value})"
                )
        balance = self.balance(at)
        floor = self.floor()
        for threshold in ctx.policies.alert_thresholds:
            if threshold <= floor:
                continue
            if reached(balance, threshold) and threshold not in core.thresholds_alerted:
                core.thresholds_alerted.add(threshold)
                ctx.log(
                    at,
                    account.id,
                    "alert",
                    "CR6",
                    f"balance {self._cents(balance)} USD is at or below {threshold}",
                )
            elif not reached(balance, threshold):
                core.thresholds_alerted.discard(threshold)
        if not core.exhausted and reached(balance, floor):
            self._exhaust(at)
        elif core.exhausted and not reached(balance, floor):
            self._restore(at)
        self._plan(at)

    def _plan(self, at: int) -> None:
        ctx = self.ctx
        core = ctx.core
        ledger = core.ledger
        assert ledger is not None
        core.credit_generation += 1
        candidates = []
        expiry = ledger.next_expiry(at)
        if expiry is not None:
            candidates.append(expiry)
        if ledger.debts:
            # The period's close settles its debt, which can end an exhaustion (W25).
            candidates.append(BillingPeriod.of_micros(at).end_micros)
        rate = self.burn_rate(at)
        balance = self.balance(at)
        floor = self.floor()
        if rate > 0 and not core.exhausted:
            targets = [floor, *(t for t in ctx.policies.alert_thresholds if t > floor)]
            recharge = core.account.auto_recharge if core.account else None
            # A target within the tolerance is reached already (see after). Every planned
            # instant is strictly later than now, so the replay cannot stay at one instant.
            crossing = {
                x: max(at + 1, at + ceil_micros(EXACT_CONTEXT.subtract(balance, x), rate))
                for x in targets
                if not reached(balance, x)
            }
            candidates.extend(crossing.values())
            if recharge is not None and not below(balance, recharge.threshold):
                # Auto-recharge fires when the balance goes *below* its threshold.
                shortfall = EXACT_CONTEXT.subtract(balance, recharge.threshold)
                candidates.append(at + ceil_micros(shortfall, rate, strict=True))
            change = self._next_rate_change()
            if change is not None:
                candidates.append(change)
        if not core.exhausted:
            warn = self.alerts.forecast_alert(at, balance, rate)
            if warn is not None:
                candidates.append(warn)
        if candidates:
            ctx.schedule(min(candidates), CreditCheck(core.credit_generation))

    # -- running out and coming back (CR2-CR5, CR7, CR8) -----------------------------------

    def _exhaust(self, at: int) -> None:
        """Credits ran out (CR2): each family applies its part of CR3-CR5 and CR8, logged."""
        ctx = self.ctx
        core = ctx.core
        assert core.ledger is not None
        assert core.account is not None
        core.exhausted = True
        ctx.log(
            at,
            core.account.id,
            "credits exhausted",
            "CR2",
            f"balance {self._cents(self.balance(at))} USD reached the floor "
            f"{self.floor()} (P-FLOOR)",
        )
        if ctx.policies.exhaustion_suspends_api:
            core.suspended = True
            ctx.log(at, core.account.id, "API access suspended", "CR8", "P-EXHAUST")
        for family in ctx.families:
            family.on_exhausted(at)

    def _restore(self, at: int) -> None:
        """Credits restored (CR7): families resume what was paused; nothing else comes back."""
        ctx = self.ctx
        core = ctx.core
        assert core.account is not None
        core.exhausted = False
        core.suspended = False
        core.forecast_alerted = False
        ctx.log(at, core.account.id, "credits restored", "CR7", "API access resumed")
        for family in ctx.families:
            family.on_restored(at)

    def suspend(
        self,
        meter: Meter,
        state: GracedState,
        at: int,
        *,
        keep_billing: bool,
        status: Status,
        rule: str,
        detail: str,
        grace: int,
        what: str,
    ) -> None:
        """Pause compute or revoke storage access, and start the grace period (CR4, CR5):
        ``what`` happens at its end unless credits are restored."""
        ctx = self.ctx
        if not keep_billing:
            metering.resize(ctx.core.catalog, ctx.core.ledger, meter, at, 0)
        state.status = status
        state.ended_by = rule
        state.grace_end = at + grace
        state.generation += 1
        end = at + grace
        ctx.schedule(end, GraceEnd(meter.resource, state.generation, what, rule))
        warn = max(at, end - ctx.policies.alert_lead_hours * MICROS_PER_HOUR)
        ctx.schedule(warn, GraceAlert(meter.resource, state.generation, what, rule))
        action = "paused" if status is Status.PAUSED else "access revoked"
        ctx.log(at, meter.resource, action, rule, detail)
