"""What a rule family may use: the replay's state (:class:`Core`), its services
(:class:`Context`), scheduled checks (:class:`Check`) and the :class:`Family` protocol.

A family (one module per resource family: ``serverless``, ``finetuning``,
``deployments``, ``clusters``, ``storage``) keeps its resources' states in
``Core.states`` and talks to the rest of the replay only through the context: it logs,
schedules checks, accrues invoice lines (``invoicing``), meters running units
(``metering``), asks the credit lifecycle whether a begin may bill
(``Context.credits.admit``) and sends typed notices to the other families
(``Context.notify``). It never imports another family.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from together_billing._engine.invoicing import Accrual, AccrualKey, LineMeta, add_accrual
from together_billing._engine.metering import Draw, Meter, Piece
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing.catalog import Catalog
from together_billing.credits import Account, Ledger
from together_billing.errors import InvalidTimeline
from together_billing.invoice import LogEntry
from together_billing.policies import Policies
from together_billing.resources import Resource
from together_billing.time import BillingPeriod, from_micros
from together_billing.timeline import PRIORITY_ENGINE, Delete, Deploy, Event, Ready, Start, Stop

__all__ = [
    "Check",
    "Context",
    "Core",
    "Credits",
    "Family",
    "FamilyBase",
    "Notice",
    "ReservationChanged",
    "ResourceCheck",
    "ResourceState",
]


@attrs.define
class ResourceState:
    """What every family's resource state has: a status, and what ended it."""

    status: Status = Status.NEW
    ended_by: str | None = None
    """The rule of the engine action that left it in its status (see :meth:`Context.expect`)."""


class Check:
    """A scheduled check of the engine: when it runs, whether it is stale, what it does.

    Checks run after every customer event at their instant (``PRIORITY_ENGINE``), in the
    order of their ``name`` then resource; a check overtaken by later events is stale
    (its generation moved on) and is dropped.
    """

    name: ClassVar[str] = "Check"
    customer: ClassVar[bool] = False
    """A check that continues a customer's event (a batch's next record)."""
    counts_as_more: ClassVar[bool] = True
    """Whether a pending check makes more still to happen at its instant (a credit check
    does not: the one being planned supersedes it)."""

    def sort_key(self, at: int) -> tuple[Any, ...]:
        return (at, PRIORITY_ENGINE, self.name, self.subject(), self.tiebreak())

    def subject(self) -> str:
        return ""

    def tiebreak(self) -> tuple[Any, ...]:
        return ()

    def stale(self, ctx: Context) -> bool:
        return False

    def run(self, ctx: Context, at: int) -> None:
        raise NotImplementedError


@attrs.frozen
class ResourceCheck(Check):
    """A check about one resource, stale once that resource's ``generation`` moved on (a
    later event re-armed or cancelled what it was scheduled for)."""

    resource: str
    generation: int

    def subject(self) -> str:
        return self.resource

    def tiebreak(self) -> tuple[Any, ...]:
        return (self.generation,)

    def stale(self, ctx: Context) -> bool:
        return self.generation_of(ctx) != self.generation

    def generation_of(self, ctx: Context) -> int | None:
        """The resource's current generation for this kind of check (``None``: gone)."""
        raise NotImplementedError


class Notice:
    """A typed notification from one family to the others (see :meth:`Context.notify`)."""


@attrs.define
class Core:
    """The mutable state of a replay; copied on every run so results never share it."""

    start: int
    now: int
    catalog: Catalog
    resources: dict[str, Resource] = attrs.Factory(dict)
    states: dict[str, ResourceState] = attrs.Factory(dict)
    reservations: dict[str, tuple[int, int]] = attrs.Factory(dict)
    """Cluster id -> its paid reservation ``[start, end)``: set by the clusters room (CL2,
    CL5), read by the storage room (ST3), kept after the cluster ends (non-refundable)."""
    account: Account | None = None
    ledger: Ledger | None = None
    ledger_time: int = 0
    exhausted: bool = False
    forecast_alerted: bool = False
    forecast_instant: int = 0
    """The run-out instant the last forecast alert announced (see ``credits``)."""
    forecast_warning: int = 0
    """How long before ``forecast_instant`` that alert was given."""
    thresholds_alerted: set[Decimal] = attrs.Factory(set)
    credit_generation: int = 0
    draws: dict[str, Draw] = attrs.Factory(dict)
    """What each running resource owes the credits since it was last drawn (``credits``)."""
    burn: Decimal = attrs.Factory(Decimal)
    """The sum of the draws' rates: USD per hour drawn now."""
    burn_offset: Decimal = attrs.Factory(Decimal)
    """The sum of the draws' offsets (see ``Draw``)."""
    rate_changes: list[tuple[int, str, int]] = attrs.Factory(list)
    """A heap of (instant, resource, version): when each draw's rate changes next."""
    draw_version: int = 0
    ending: dict[str, int] = attrs.Factory(dict)
    """Resource -> when its running units are scheduled to stop (``Meter.ends``)."""
    accruals: dict[AccrualKey, Accrual] = attrs.Factory(dict)
    meta: dict[AccrualKey, LineMeta] = attrs.Factory(dict)
    pieces: list[Piece] = attrs.Factory(list)
    log: list[LogEntry] = attrs.Factory(list)
    pending: list[tuple[tuple[Any, ...], int, Check]] = attrs.Factory(list)
    sequence: int = 0
    # Usage ids seen so far and the repeats left out (timeline.deduplicate).
    usage_ids: dict[str, Any] = attrs.Factory(dict)
    duplicates: int = 0


S = TypeVar("S", bound=ResourceState)
F = TypeVar("F")


class Family(Protocol):
    """What the fold and the credit lifecycle ask of a rule family.

    ``kinds`` are the resource types it bills; ``events``, if not ``None``, the only
    event types it takes (and nobody else does); ``None`` means every lifecycle event
    of its resources.
    """

    kinds: ClassVar[tuple[type[Resource], ...]]
    events: ClassVar[tuple[type[Event], ...] | None]

    def add(self, resource: Resource) -> ResourceState:
        """The initial state of a resource of the family."""
        ...

    def apply(self, event: Event, resource: Resource) -> None:
        """Apply a customer event to one of the family's resources."""
        ...

    def settle(self, until: int) -> None:
        """Record the running time of every resource up to ``until`` (G3)."""
        ...

    def meters(self) -> Iterable[Meter]:
        """The running units that draw credits continuously, in resource id order."""
        ...

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """What a begin does at or below the credit floor (CR3-CR5, CR8)."""
        ...

    def on_exhausted(self, at: int) -> None:
        """Credits ran out: apply the family's part of CR3-CR5, CR8."""
        ...

    def on_restored(self, at: int) -> None:
        """Credits came back (CR7)."""
        ...

    def notice(self, note: Notice, at: int) -> None:
        """Another family's notification."""
        ...

    def on_grace_end(self, resource_id: str, at: int) -> None:
        """A grace period ended without restoration (CR4, CR5): end the resource."""
        ...

    def meter(self, resource_id: str) -> Meter | None:
        """The running units of one of the family's resources, if any draw credits."""
        ...


class Credits(Protocol):
    """What a family may ask of the credit lifecycle (``credits.CreditLifecycle``, CR1-CR8),
    so that this room, which every family uses, does not import it."""

    def admit(
        self,
        resource: Resource,
        at: int,
        begin: Begin,
        *,
        charge: Decimal = ...,
        charge_rule: str = ...,
    ) -> Admission:
        """What a begin does: bill, refuse or pause (CR3-CR5, CR8)."""
        ...

    def out_of_credit(self) -> bool:
        """Whether the balance is at or below the floor now."""
        ...

    def flush(self, resource_id: str, at: int) -> None:
        """Book what a resource's running units owe up to ``at`` (CR1)."""
        ...

    def refresh(self, resource_id: str, at: int) -> None:
        """Follow a resource's running units from ``at`` at their new rate (CR1)."""
        ...

    def suspend(
        self,
        meter: Meter,
        state: Any,
        at: int,
        *,
        keep_billing: bool,
        status: Status,
        rule: str,
        detail: str,
        grace: int,
        what: str,
    ) -> None:
        """Pause compute or revoke storage access, with its grace period (CR4, CR5)."""
        ...


class FamilyBase:
    """Defaults for the :class:`Family` protocol: nothing to settle, meter or react to."""

    kinds: ClassVar[tuple[type[Resource], ...]] = ()
    events: ClassVar[tuple[type[Event], ...] | None] = None

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def state(self, resource_id: str, kind: type[S]) -> S:
        state = self.ctx.core.states[resource_id]
        assert isinstance(state, kind)
        return state

    def settle(self, until: int) -> None:
        return None

    def meters(self) -> Iterable[Meter]:
        return ()

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        return Admission.BILL

    def on_exhausted(self, at: int) -> None:
        return None

    def on_restored(self, at: int) -> None:
        return None

    def notice(self, note: Notice, at: int) -> None:
        return None

    def on_grace_end(self, resource_id: str, at: int) -> None:
        return None

    def meter(self, resource_id: str) -> Meter | None:
        return None


#: How the log names an event that is ignored ("<verb> ignored").
_VERBS = {
    "Deploy": "deploy",
    "Start": "start",
    "Ready": "ready",
    "DeployFailed": "deploy failure",
    "Stop": "stop",
    "Delete": "delete",
    "ScaleReplicas": "scale",
    "ScaleGpus": "scale",
    "ExtendReservation": "extension",
    "ResizeVolume": "resize",
    "Requests": "requests",
}
#: The engine actions that leave a resource where a late customer event finds it.
_ENGINE_ACTIONS = {
    "DE4": "stopped by the idle timeout",
    "CR4": "credits ran out (on-demand compute is paused, then decommissioned)",
    "CR5": "credits ran out (storage access is revoked, then its data deleted)",
    "CR8": "credits ran out (API access suspended)",
    "CL5": "the reservation ended",
    "CL2": "its reservation could not be paid from credits",
    "CR3": "credits ran out (no on-demand capacity, no reservation from credits)",
}


def micros(event: Event) -> int:
    """The event's instant in microseconds (cached in its sort key)."""
    return int(event.sort_key()[0])


class Context:
    """The services of one replay, shared by the fold, the families and the credit lifecycle."""

    def __init__(self, core: Core, policies: Policies) -> None:
        self.core = core
        self.policies = policies
        self.grain = policies.grain
        self.families: list[Family] = []
        self.by_kind: dict[type[Resource], Family] = {}
        self.credits: Credits
        # The events of the current run and the index of the next one (see more_at).
        self.events: Sequence[Event] = ()
        self.instants: Sequence[int] = ()
        """The instant of each of ``events`` (their sort keys' first part)."""
        self.next = 0
        self.price_instants: list[int] = []
        """The instants of the run's price changes, in order (how far a batch may bill)."""
        self._period_cache: tuple[int, int, BillingPeriod] = (0, 0, BillingPeriod(1970, 1))
        # Zero-length runs (G2) within one instant: resource -> (instant, final status), and
        # the instant the customer last ended each resource.
        self._empty_runs: dict[str, tuple[int, Status]] = {}
        self.ended_now: dict[str, int] = {}

    # -- services ------------------------------------------------------------------------

    def family(self, kind: type[F]) -> F:
        """The replay's family of class ``kind``."""
        for family in self.families:
            if isinstance(family, kind):
                return family
        raise LookupError(kind)

    def family_of(self, resource_id: str) -> Family:
        """The family of the resource ``resource_id``."""
        return self.by_kind[type(self.core.resources[resource_id])]

    @contextlib.contextmanager
    def changing(self, resource_id: str, at: int) -> Iterator[None]:
        """Around a change of a resource's running units, status or rate: the credits are
        drawn up to ``at`` at the old rate first, and its draw follows the new one after."""
        self.credits.flush(resource_id, at)
        yield
        self.credits.refresh(resource_id, at)

    def log(self, at: int, resource: str, action: str, rule: str, detail: str = "") -> None:
        self.core.log.append(
            LogEntry(at=from_micros(at), resource=resource, action=action, rule=rule, detail=detail)
        )

    def schedule(self, at: int, check: Check, key: tuple[Any, ...] | None = None) -> None:
        """Run ``check`` at ``at`` (its sort key, unless ``key`` is given)."""
        core = self.core
        core.sequence += 1
        heapq.heappush(core.pending, (key or check.sort_key(at), core.sequence, check))

    def notify(self, note: Notice, at: int) -> None:
        """Tell every family of ``note`` (a reservation's start or end, for its volumes)."""
        for family in self.families:
            family.notice(note, at)

    def period(self, at: int) -> BillingPeriod:
        lo, hi, period = self._period_cache
        if lo <= at < hi:
            return period
        period = BillingPeriod.of_micros(at)
        self._period_cache = (period.start_micros, period.end_micros, period)
        return period

    def period_end(self, at: int) -> int:
        """The end of the billing period of ``at`` (cached with :meth:`period`)."""
        self.period(at)
        return self._period_cache[1]

    def accrue(
        self,
        at: int,
        resource_id: str,
        meta: LineMeta,
        quantity: int,
        span: tuple[int, int],
        *,
        debit: bool = False,
    ) -> None:
        """Add to an invoice line; with ``debit``, also draw the credits now (a discrete charge,
        CR1: tokens, a job, a reservation paid from credits).

        Time-based charges are not debited here: the ledger draws them continuously.
        """
        ledger = self.core.ledger
        if debit and ledger is not None:
            ledger.consume(at, meta.charge(quantity), resource_id, meta.description)
        add_accrual(
            self.core.accruals, self.core.meta, self.period(at), resource_id, meta, quantity, span
        )

    # -- what comes next -----------------------------------------------------------------

    def more_at(self, at: int) -> bool:
        """Whether more is still to happen at ``at``: the next event, or a scheduled check
        that is not stale (a pending credit check does not count, see ``Check``)."""
        instants, index = self.instants, self.next
        if index < len(instants) and instants[index] == at:
            return True
        return any(
            key[0] == at and check.counts_as_more and not check.stale(self)
            for key, _, check in self.core.pending
        )

    def customer_more_at(self, at: int) -> bool:
        """Whether another customer event (or batch record) is still to come at ``at``: the
        credit rules (CR2) react only after the instant's last one."""
        instants, index = self.instants, self.next
        if index < len(instants) and instants[index] == at:
            return True
        pending = self.core.pending
        # A pending batch record at ``at`` sorts before every engine check at ``at``.
        return bool(pending) and pending[0][2].customer and pending[0][0][0] == at

    # -- transitions (G2) ------------------------------------------------------------------

    def expect(
        self, event: Event, state: ResourceState, allowed: tuple[Status, ...], expected: str
    ) -> bool:
        """Whether ``event`` applies to ``state``: the one place deciding what happens to an
        event that does not fit the resource's status.

        - It fits: True.
        - A stop or delete of a resource that the customer begins at this same instant: an
          empty run (G2), applied when the begin comes (see :meth:`empty_run`): False.
        - A begin of a resource the customer stopped at this same instant: a logged no-op.
        - The resource is where an engine action left it (idle stop, credits, reservation
          end): a logged no-op, ``<event> ignored`` with that action's rule; late events of
          real logs (an autoscaler's scale after an idle stop) are not errors.
        - Otherwise the timeline is wrong: :class:`InvalidTimeline`.
        """
        if state.status in allowed:
            return True
        at = micros(event)
        resource = str(event.resource)
        if isinstance(event, (Stop, Delete)) and self._pair_empty_run(event):
            return False
        verb = _VERBS[type(event).__name__]
        if isinstance(event, (Deploy, Start, Ready)) and self.ended_now.get(resource) == at:
            self.log(
                at, resource, f"{verb} ignored", "G2", "ended at this instant: nothing to bill"
            )
            return False
        if state.ended_by is not None:
            reason = _ENGINE_ACTIONS[state.ended_by]
            self.log(at, resource, f"{verb} ignored", state.ended_by, f"{state.status}: {reason}")
            return False
        raise InvalidTimeline(event, "status", str(state.status), expected)

    def _pair_empty_run(self, event: Stop | Delete) -> bool:
        """A stop or delete sorts before a begin at the same instant (ends come first). If
        the customer begins this resource at this instant too, the run is empty (G2)."""
        at = micros(event)
        events = self.events
        index = self.next
        while index < len(events) and self.instants[index] == at:
            later = events[index]
            if isinstance(later, (Deploy, Start)) and later.resource == event.resource:
                self._empty_runs[event.resource] = (
                    at,
                    Status.DELETED if isinstance(event, Delete) else Status.STOPPED,
                )
                return True
            index += 1
        return False

    def empty_run(self, event: Event, state: ResourceState) -> bool:
        """Apply a begin whose end the customer gave at the same instant: nothing bills (G2)."""
        at = micros(event)
        resource_id = str(event.resource)
        found = self._empty_runs.get(resource_id)
        if found is None or found[0] != at:
            return False
        del self._empty_runs[resource_id]
        state.status = found[1]
        what = "deleted" if found[1] is Status.DELETED else "stopped"
        self.log(
            at,
            resource_id,
            "empty run",
            "G2",
            f"begun and {what} at one instant: an empty half-open interval, not billed",
        )
        return True


@attrs.frozen
class ReservationChanged(Notice):
    """A cluster's paid reservation began or ended (CL2, CL5): what its volumes bill at may
    change (ST3). The window itself is ``Core.reservations``."""

    cluster: str
