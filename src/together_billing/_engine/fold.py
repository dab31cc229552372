"""The fold: one queue of customer events and scheduled checks, one dispatch.

In the manner of SimPy's small core: :meth:`Replay.run` takes the next of the customer's
events (in their total order, ``timeline``) and the engine's scheduled checks (a heap),
draws the credits up to its instant, hands it to the family of its resource (or runs
the check), and, once every customer event at an instant is applied, lets the credit
lifecycle react (``PRIORITY_ENGINE``: customer events at an instant come first).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

from together_billing._engine.clusters import Clusters
from together_billing._engine.context import Context, Core, Family, micros
from together_billing._engine.credits import CreditLifecycle
from together_billing._engine.deployments import Deployments
from together_billing._engine.finetuning import FineTuning
from together_billing._engine.serverless import Serverless
from together_billing._engine.storage import Storage
from together_billing.credits import Account
from together_billing.errors import InvalidArgument, InvalidTimeline
from together_billing.policies import Policies
from together_billing.resources import Resource
from together_billing.time import from_micros
from together_billing.timeline import (
    Event,
    Grant,
    PriceChange,
    Purchase,
    TokenUsageBatch,
)

__all__ = ["Replay", "first_instant"]

#: The rule families, in the order they are asked (and their ledger entries written).
FAMILIES = (Deployments, Serverless, FineTuning, Clusters, Storage)


def first_instant(event: Event) -> int:
    if isinstance(event, TokenUsageBatch):
        return event.at_micros[0]
    return micros(event)


def _names(kinds: Iterable[type]) -> str:
    names = [kind.__name__ for kind in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class Replay:
    """One pass of the fold over a core state."""

    def __init__(self, core: Core, policies: Policies) -> None:
        self.ctx = ctx = Context(core, policies)
        self.credits = ctx.credits = CreditLifecycle(ctx)
        families: list[Family] = [kind(ctx) for kind in FAMILIES]
        ctx.families = families
        self.owners: dict[type[Event], Family] = {}
        for family in families:
            for kind in family.kinds:
                ctx.by_kind[kind] = family
            for event_type in family.events or ():
                self.owners[event_type] = family
        # The resource kinds that take the lifecycle events (deploy, stop...).
        self.lifecycle = tuple(
            kind for family in families if family.events is None for kind in family.kinds
        )

    # -- set-up ------------------------------------------------------------------------------

    def add_resources(self, resources: Iterable[Resource | Account]) -> Replay:
        core = self.ctx.core
        by_kind = self.ctx.by_kind
        for resource in resources:
            if isinstance(resource, Account):
                self.credits.add_account(resource)
                continue
            if type(resource) not in by_kind:
                family = next((f for k, f in by_kind.items() if isinstance(resource, k)), None)
                if family is None:
                    names = ", ".join(kind.__name__ for kind in by_kind)
                    raise InvalidArgument("resources", resource, f"values of the types {names}")
                by_kind[type(resource)] = family
            known = core.resources.get(resource.id)
            if known is not None and known != resource:
                raise InvalidArgument(
                    "id", resource.id, "a unique id per resource (two different resources share it)"
                )
            core.resources[resource.id] = resource
        # Resources are kept in id order, so nothing depends on the order they were given in.
        core.resources = dict(sorted(core.resources.items()))
        for resource_id, resource in core.resources.items():
            if resource_id not in core.states:
                core.states[resource_id] = by_kind[type(resource)].add(resource)
        core.states = dict(sorted(core.states.items()))
        return self

    # -- the loop ----------------------------------------------------------------------------

    def run(self, events: Sequence[Event], end: int, *, resumed: bool) -> None:
        """Fold ``events`` (in their total order) and the scheduled checks up to ``end``.

        Credits are drawn up to each step's instant first (CR1); the credit rules react
        (CR2) only once every customer event at an instant is applied.
        """
        ctx = self.ctx
        core = ctx.core
        keys = [e.sort_key() for e in events]
        ctx.price_instants = [
            k[0] for k, e in zip(keys, events, strict=True) if isinstance(e, PriceChange)
        ]
        ctx.events = events
        ctx.instants = [k[0] for k in keys]
        ctx.next = 0
        self.credits.start()
        for event in events:
            self._check_window(event, end, resumed)
        index = 0
        count = len(events)
        pending = core.pending
        credits = self.credits
        while True:
            next_external = keys[index] if index < count else None
            next_internal = pending[0][0] if pending else None
            if next_internal is not None and (
                next_external is None or next_internal < next_external
            ):
                if next_internal[0] > end:
                    break
                key, _, check = heapq.heappop(pending)
                if check.stale(ctx):
                    continue
                at = key[0]
                credits.advance(at)
                check.run(ctx, at)
                # A batch record is the customer's: the engine reacts after the instant's last.
                if not check.customer or not ctx.customer_more_at(at):
                    credits.after(at)
                continue
            if next_external is None:
                break
            event = events[index]
            index += 1
            ctx.next = index
            at = event.at_micros[0] if isinstance(event, TokenUsageBatch) else next_external[0]
            credits.advance(at)
            self._apply(event)
            # The customer's events at an instant all come before the engine's reactions to it.
            if not ctx.customer_more_at(at):
                credits.after(at)
        credits.finish(end)
        for family in ctx.families:
            family.settle(end)
        core.now = end

    def _check_window(self, event: Event, end: int, resumed: bool) -> None:
        if isinstance(event, TokenUsageBatch):
            first, last = event.at_micros[0], event.at_micros[-1]
        else:
            first = last = micros(event)
        if last > end:
            raise InvalidTimeline(
                event,
                "at",
                from_micros(last).isoformat(),
                f"an instant at or before until ({from_micros(end).isoformat()})",
            )
        floor = self.ctx.core.now
        if first < floor or (resumed and first == floor):
            where = "after" if resumed else "at or after"
            reason = "where the replay continues from" if resumed else "the replay's start"
            raise InvalidTimeline(
                event,
                "at",
                from_micros(first).isoformat(),
                f"an instant {where} {from_micros(floor).isoformat()}, {reason}",
            )

    # -- dispatch ----------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        """The one dispatch: a price change applies from its instant (G4), a purchase or
        grant goes to the credit lifecycle (CR1), any other event to its resource's family."""
        ctx = self.ctx
        core = ctx.core
        if isinstance(event, PriceChange):
            # G4: a price change applies from its instant (to units starting after it).
            at = micros(event)
            with self.credits.price_change(at):
                core.catalog = core.catalog.with_entries(event.price)
            key = " ".join(event.price.key)
            ctx.log(at, "", "price change", "G4", f"{key} from {event.price.source.describe()}")
            return
        if isinstance(event, (Purchase, Grant)):
            self.credits.credit_event(event)
            return
        resource = core.resources.get(event.resource)
        if resource is None:
            raise InvalidTimeline(
                event,
                "resource",
                event.resource,
                f"one of the scenario's resources {sorted(core.resources)}",
            )
        owner = self.owners.get(type(event))
        family = ctx.by_kind[type(resource)]
        if owner is not None:
            self._require_kind(event, resource, owner.kinds)
        elif family.events is not None:
            self._require_kind(event, resource, self.lifecycle)
        family.apply(event, resource)

    @staticmethod
    def _require_kind(event: Event, resource: Resource, kinds: tuple[type, ...]) -> None:
        if not isinstance(resource, kinds):
            raise InvalidTimeline(
                event,
                "resource",
                resource.id,
                f"a {_names(kinds)}; {resource.id!r} is a {type(resource).__name__}",
            )
