"""Run-out alerts (CR6): when the credits will run out if nothing more happens, and the
alert given ``alert_lead_hours`` before it (P-ALERT).

(Threshold alerts and grace-period alerts are logged where their balance or grace is
decided: ``credits``.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from together_billing._engine import metering
from together_billing._engine.context import Context
from together_billing._engine.crossing import ceil_micros, reached
from together_billing._engine.metering import MICROS_PER_HOUR_D
from together_billing.money import EXACT_CONTEXT
from together_billing.time import MICROS_PER_HOUR, from_micros

if TYPE_CHECKING:
    from together_billing._engine.credits import CreditLifecycle

__all__ = ["RunOutAlerts"]


class RunOutAlerts:
    """The run-out forecast and its alert (CR6)."""

    def __init__(self, ctx: Context, credits: CreditLifecycle) -> None:
        self.ctx = ctx
        self.credits = credits

    def run_out(self, at: int, balance: Decimal, rate: Decimal) -> int | None:
        """When the balance reaches the floor if nothing more happens (CR6): the draw at
        ``rate`` (USD per hour), with the steps already known taken as steps: promotional
        credits expiring (their unused rest, P-CONSUME order), and the ends the replay has
        scheduled (``Meter.ends``: a reservation's end stops its burst GPUs; a grace
        period's end stops a paused cluster or a revoked volume that still bills).
        ``None``: never."""
        ledger = self.ctx.core.ledger
        assert ledger is not None
        floor = self.credits.floor()
        # Only the expiring credits matter, and they are used first (P-CONSUME); what runs
        # and is not yet booked in the ledger comes out of them first.
        known = ledger.expiring_buckets()
        remaining = [left for left, _ in known]
        expiries: list[int | None] = [expires for _, expires in known]
        unbooked = self.credits.draws.unbooked(at)
        for index, left in enumerate(remaining):
            taken = min(left, unbooked)
            remaining[index] = EXACT_CONTEXT.subtract(left, taken)
            unbooked = EXACT_CONTEXT.subtract(unbooked, taken)
        drops = self._scheduled_rate_drops(at)
        steps = sorted({e for e in expiries if e is not None and e > at} | set(drops))
        now = at
        for step in [*steps, None]:
            if reached(balance, floor):
                return now
            if rate > 0:
                left = EXACT_CONTEXT.subtract(balance, floor)
                crossing = max(now + 1, now + ceil_micros(left, rate))
                if step is None or crossing <= step:
                    return crossing
            if step is None:
                return None
            drawn = EXACT_CONTEXT.divide(
                EXACT_CONTEXT.multiply(rate, step - now), MICROS_PER_HOUR_D
            )
            balance = EXACT_CONTEXT.subtract(balance, drawn)
            for index, left in enumerate(remaining):
                taken = min(left, drawn)
                remaining[index] = EXACT_CONTEXT.subtract(left, taken)
                drawn = EXACT_CONTEXT.subtract(drawn, taken)
            for index, expires in enumerate(expiries):
                if expires is not None and expires <= step and remaining[index]:
                    balance = EXACT_CONTEXT.subtract(balance, remaining[index])
                    remaining[index] = Decimal(0)
            rate = max(Decimal(0), EXACT_CONTEXT.subtract(rate, drops.get(step, Decimal(0))))
            now = step
        return None

    def _scheduled_rate_drops(self, at: int) -> dict[int, Decimal]:
        """USD per hour that stops drawing at each scheduled end after ``at`` (``Meter.ends``).
        Idle deadlines move with requests and are not counted: the forecast errs early,
        never late."""
        ctx = self.ctx
        core = ctx.core
        drops: dict[int, Decimal] = {}
        for resource_id, end in core.ending.items():
            if end <= at:
                continue
            meter = ctx.family_of(resource_id).meter(resource_id)
            price = None if meter is None else meter.price(core.catalog, at)
            if meter is not None and price is not None:
                rate = meter.count * metering.hourly(price)
                drops[end] = EXACT_CONTEXT.add(drops.get(end, Decimal(0)), rate)
        return drops

    def forecast_alert(self, at: int, balance: Decimal, rate: Decimal) -> int | None:
        """Alert the forecast run-out ``alert_lead_hours`` ahead (CR6, P-ALERT); return the
        instant to look again, if the alert is still to come.

        One alert per run-out, renewed when a change moves the run-out earlier than the one
        announced by more than half the warning that alert gave (at most the lead time). An
        alert given at the lead time leaves exactly that lead, so the run-out can never
        move earlier than announced by more than the lead itself; half of it is the
        threshold: "Tuesday" turned into "in 45 minutes" is renewed, an hour of drift is not.
        A run-out moved later by as much (a purchase, a stop) re-arms the alert, given again
        at the lead time before the new run-out.
        """
        ctx = self.ctx
        core = ctx.core
        exhaustion = self.run_out(at, balance, rate)
        if exhaustion is None:
            return None
        lead = ctx.policies.alert_lead_hours * MICROS_PER_HOUR
        if core.forecast_alerted:
            moved = core.forecast_instant - exhaustion
            threshold = min(lead, core.forecast_warning // 2)
            if -moved > threshold:
                # Much later than announced (a purchase, a stop): the alert given no longer
                # warns of this run-out; a new one comes at its own lead time.
                core.forecast_alerted = False
            elif moved <= threshold:
                return None
        warn = exhaustion - lead
        if warn > at:
            return warn
        # While more is due at this instant, its last event decides, at the rate of
        # everything left running.
        if not ctx.more_at(at):
            core.forecast_alerted = True
            core.forecast_instant = exhaustion
            core.forecast_warning = exhaustion - at
            ctx.log(
                at,
                core.account.id if core.account else "",
                "alert",
                "CR6",
                f"credits forecast to run out at {from_micros(exhaustion).isoformat()} "
                "at the current rate",
            )
        return None
