"""The credit lifecycle (CR1-CR8): drawing the account's credits as charges accrue, the
instant they run out, what runs out means, alerts, and restoration.

It names no rule family: it asks each one through the :class:`Family` protocol for its
running meters (what draws continuously), what a begin does while out of credit
(:meth:`CreditLifecycle.admit`), and what to do when credits run out or come back. The
ledger itself (buckets, consumption order, debt) is ``together_billing.credits``.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from together_billing._engine import metering
from together_billing._engine.alerts import RunOutAlerts
from together_billing._engine.context import Check, Context, ResourceCheck, ResourceState, micros
from together_billing._engine.crossing import below, ceil_micros, reached
from together_billing._engine.draws import Draws
from together_billing._engine.metering import Group, Meter
from together_billing._engine.vocabulary import STARTS, Admission, Begin, Refusal, Status
from together_billing._figures import cents
from together_billing.credits import Account, Ledger, LedgerKind
from together_billing.errors import InvalidArgument, InvalidTimeline
from together_billing.money import EXACT_CONTEXT
from together_billing.resources import Resource
from together_billing.time import (
    MICROS_PER_HOUR,
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

    def run(self, ctx: Context, at: int) -> None:
        return None  # the credit rules are applied after every step (CreditLifecycle.after)


@attrs.frozen
class _GraceCheck(ResourceCheck):
    what: str
    rule: str

    def generation_of(self, ctx: Context) -> int | None:
        state = ctx.core.states.get(self.resource)
        return state.generation if isinstance(state, GracedState) else None

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

    def run(self, ctx: Context, at: int) -> None:
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

    def run(self, ctx: Context, at: int) -> None:
        if self.current(ctx) is not None:
            ctx.family_of(self.resource).on_grace_end(self.resource, at)


class CreditLifecycle:
    """The account's credits through a replay (CR1-CR8)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.account_added = False
        self.draws = Draws(ctx)
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
            core.ledger.add(core.now, LedgerKind.PURCHASE, account.opening_balance)
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
            self.draws.refresh_all(core.now)
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
            self.draws.flush_all(at)
            ledger.add(at, LedgerKind.PURCHASE, event.amount)
            ctx.log(at, event.resource, "credits purchased", "CR1", f"{event.amount} USD")
        else:
            expires = None if event.expires is None else to_micros(event.expires)
            if expires is not None and expires <= at:
                raise InvalidTimeline(
                    event, "expires", event.expires, f"an instant after {event.at.isoformat()}"
                )
            # What ran until now is drawn before promotional credits, used first (P-CONSUME).
            self.draws.flush_all(at)
            ledger.add(at, LedgerKind.GRANT, event.amount, expires=expires)
            until = "" if event.expires is None else f", expiring {event.expires.isoformat()}"
            ctx.log(at, event.resource, "credits granted", "CR1", f"{event.amount} USD{until}")

    # -- drawing (CR1: the draws room) -----------------------------------------------------

    def advance(self, until: int) -> None:
        self.draws.advance(until)

    def finish(self, end: int) -> None:
        self.draws.finish(end)

    def flush(self, resource_id: str, at: int) -> None:
        self.draws.flush(resource_id, at)

    def refresh(self, resource_id: str, at: int) -> None:
        self.draws.refresh(resource_id, at)

    def price_change(self, at: int) -> contextlib.AbstractContextManager[None]:
        return self.draws.price_change(at)

    def balance(self, at: int) -> Decimal:
        return self.draws.balance(at)

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
            self.draws.flush_all(at)
        if ledger.expire(at):
            ctx.log(at, account.id, "promotional credits expired", "CR1")
        recharge = account.auto_recharge
        # Below the threshold means below by more than the tolerance, as for the floor.
        if recharge is not None and below(self.balance(at), recharge.threshold):
            # A recharge is a purchase: never below the minimum (P-MIN-BUY).
            self.draws.flush_all(at)
            purchases = recharge.purchases(ledger.balance, minimum=ctx.policies.min_purchase)
            for amount in purchases:
                ledger.add(at, LedgerKind.RECHARGE, amount)
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
        rate = core.burn  # USD per hour drawn now, kept as draws change (draws.py)
        balance = self.balance(at)
        floor = self.floor()
        if rate > 0 and not core.exhausted:
            targets = [floor, *(t for t in ctx.policies.alert_thresholds if t > floor)]
            recharge = core.account.auto_recharge if core.account else None
            # A target within the tolerance is reached already (see after). The balance
            # falls, so the highest target not reached is crossed first. Every planned
            # instant is strictly later than now, so the replay cannot stay at one instant.
            ahead = [x for x in targets if not reached(balance, x)]
            if ahead:
                left = EXACT_CONTEXT.subtract(balance, max(ahead))
                candidates.append(max(at + 1, at + ceil_micros(left, rate)))
            if recharge is not None and not below(balance, recharge.threshold):
                # Auto-recharge fires when the balance goes *below* its threshold.
                shortfall = EXACT_CONTEXT.subtract(balance, recharge.threshold)
                candidates.append(at + ceil_micros(shortfall, rate, strict=True))
        if not core.exhausted:
            # Also with nothing drawing now: units prepaid to the end of their minute draw
            # again then, and the balance must be looked at from that instant on.
            change = self.draws.next_rate_change()
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
            ctx.log(at, core.account.id, "API access suspended", "CR8", "P-EXHAUST")
        for family in ctx.families:
            family.on_exhausted(at)

    def _restore(self, at: int) -> None:
        """Credits restored (CR7): families resume what was paused; nothing else comes back."""
        ctx = self.ctx
        core = ctx.core
        assert core.account is not None
        core.exhausted = False
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
