"""The deterministic replay engine: a fold of a timeline into invoices.

:class:`Simulator` replays events in their total order (see
:mod:`together_billing.timeline`) from a state, and returns a
:class:`SimulationResult` with one invoice per billing period (the open one as a
draft), a log of what it did, and the state reached, from which a later replay
can continue.

Time-based charges are integrated analytically: a running deployment is settled
only when something happens to it (or its price) and at the end of the replay;
each settlement counts the started grain units on each constant-rate stretch in
each period with integer arithmetic. So the cost of a replay grows with the
number of events (and of periods), never with the simulated duration.

>>> from together_billing import *
>>> endpoint = DedicatedEndpoint("ep-1", model="my-model", hardware="1x_nvidia_h100_80gb_sxm")
>>> result = Simulator().run(
...     [endpoint],
...     [Deploy("2025-11-03T09:00:00Z", "ep-1"), Stop("2025-11-03T10:30:00Z", "ep-1")],
...     until="2025-12-01T00:00:00Z",
... )
>>> line = result.invoices[0].lines[0]
>>> line.quantity, line.unit, line.rate, line.amount
(Decimal('90'), 'replica-minute', Decimal('3.99'), Decimal('5.99'))
"""

from __future__ import annotations

import bisect
import copy
import decimal
import enum
import functools
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum

from together_billing.catalog import (
    Catalog,
    ClusterBilling,
    ClusterPrice,
    FineTuningPrice,
    HardwarePrice,
    PriceEntry,
    ServerlessPrice,
    StoragePrice,
    default_catalog,
)
from together_billing.credits import Account, Ledger, LedgerEntry
from together_billing.errors import InvalidArgument, InvalidTimeline, UnknownPrice
from together_billing.invoice import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LogEntry,
    MeteredSpan,
    make_line,
)
from together_billing.money import EXACT_CONTEXT, Money, RoundingMode, round_to_cents
from together_billing.policies import Policies, ReservationPayment, ShrinkPolicy
from together_billing.resources import (
    Category,
    DedicatedEndpoint,
    FineTunedHosting,
    FineTuningJob,
    InstantCluster,
    Resource,
    ServerlessUsage,
    StorageVolume,
)
from together_billing.time import (
    MICROS_PER_HOUR,
    MICROS_PER_MINUTE,
    MICROS_PER_SECOND,
    BillingPeriod,
    Interval,
    MeteringGrain,
    from_micros,
    instant,
    to_micros,
)
from together_billing.timeline import (
    PRIORITY_ACTIVITY,
    PRIORITY_ENGINE,
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    Grant,
    JobCancelled,
    JobCompleted,
    PriceChange,
    Purchase,
    Ready,
    Requests,
    ResizeVolume,
    ScaleGpus,
    ScaleReplicas,
    Start,
    Stop,
    TokenUsage,
    TokenUsageBatch,
    deduplicate,
)

__all__ = ["SimulationResult", "SimulationState", "Simulator", "simulate"]

_CATEGORY_ORDER: Final = {c: i for i, c in enumerate(Category)}
_MILLION: Final = Decimal(1_000_000)

# Deployment states.
_NEW: Final = "not deployed"
_PROVISIONING: Final = "provisioning"
_RUNNING: Final = "running"
_STOPPED: Final = "stopped"
_FAILED: Final = "failed"
_DELETED: Final = "deleted"
_DECOMMISSIONED: Final = "decommissioned"
_PAUSED: Final = "paused"
_REVOKED: Final = "access revoked"
_MICROS_PER_HOUR_D: Final = Decimal(MICROS_PER_HOUR)
_RESERVED_STORAGE: Final = ("storage", ClusterBilling.RESERVED.value)
_ON_DEMAND_STORAGE: Final = ("storage", ClusterBilling.ON_DEMAND.value)
#: Balances within 1e-30 USD of the floor (or an alert or recharge threshold) count as
#: reaching it, not as passing below it: continuous draws are quotients carried to 50
#: digits, and a replay split at any instant must find the same crossing despite their
#: last-digit noise.
_TOLERANCE: Final = Decimal("1e-30")
_RESOURCE_TYPES: Final = (
    DedicatedEndpoint,
    FineTunedHosting,
    ServerlessUsage,
    FineTuningJob,
    InstantCluster,
    StorageVolume,
)


class _Admission(enum.Enum):
    """What a begin does (see ``_Replay._admit``)."""

    BILL = "bill"
    REFUSE = "refuse"
    PAUSE = "pause"


#: How the log names an event that is ignored ("<verb> ignored").
_VERBS: Final = {
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
_ENGINE_ACTIONS: Final = {
    "DE4": "stopped by the idle timeout",
    "CR4": "credits ran out (on-demand compute is paused, then decommissioned)",
    "CR5": "credits ran out (storage access is revoked, then its data deleted)",
    "CR8": "credits ran out (API access suspended)",
    "CL5": "the reservation ended",
    "CL2": "its reservation could not be paid from credits",
    "CR3": "credits ran out (no on-demand capacity, no reservation from credits)",
}


@attrs.define
class _Group:
    """Replicas that became ready together and share one metering grid."""

    grid: int
    count: int
    accounted: int
    paid_until: int = 0
    """Credits are drawn for these units up to here already (a started unit prepaid at the
    old rate when a volume is repriced, see ``_Replay._prepay``)."""


@attrs.define
class _DeploymentState:
    status: str = _NEW
    stopped_by_idle: bool = False
    stopped_by_credits: bool = False
    ended_by: str | None = None
    """The rule of the engine action that left it in its status (see ``_Replay._expect``)."""
    groups: list[_Group] = attrs.Factory(list)
    last_activity: int = 0
    idle_generation: int = 0

    @property
    def ready(self) -> int:
        return sum(group.count for group in self.groups)


@attrs.define
class _ClusterState:
    status: str = _NEW
    gpus: int = 0
    reservation_start: int = 0
    reservation_end: int = 0
    groups: list[_Group] = attrs.Factory(list)
    """Metered GPUs: those above the reservation (burst), or all of an on-demand cluster's."""
    generation: int = 0
    ended_by: str | None = None
    grace_end: int = 0

    def reservation_paid(self, at: int) -> bool:
        """Whether ``at`` lies in the paid reservation, even if the cluster ended early (CL2)."""
        return self.reservation_start <= at < self.reservation_end


@attrs.define
class _VolumeState:
    status: str = _NEW
    billing: ClusterBilling = ClusterBilling.ON_DEMAND
    groups: list[_Group] = attrs.Factory(list)
    size: int = 0
    generation: int = 0
    deleted_by_credits: bool = False
    ended_by: str | None = None
    grace_end: int = 0


@attrs.frozen
class _LineMeta:
    category: Category
    rule: str
    description: str
    unit: str
    rate: Decimal
    rate_unit: str
    rate_per: Decimal
    scale: Decimal
    price: PriceEntry
    effective: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "effective", to_micros(self.price.effective_from))


@attrs.frozen
class _Piece:
    """A stretch of running time of one group at one price, counted into periods later."""

    resource: str
    meta: _LineMeta
    grain: MeteringGrain
    grid: int
    count: int
    start: int
    end: int


# An accrual key: (period, category order, resource, rule, description, price key, effective).
_Key = tuple[BillingPeriod, int, str, str, str, tuple[str, ...], int]


@attrs.define
class _Accrual:
    quantity: int
    start: int
    end: int


@attrs.define
class _Core:
    """The mutable state of a replay; copied on every run so results never share it."""

    start: int
    now: int
    catalog: Catalog
    resources: dict[str, Resource] = attrs.Factory(dict)
    deployments: dict[str, _DeploymentState] = attrs.Factory(dict)
    jobs: dict[str, str] = attrs.Factory(dict)
    clusters: dict[str, _ClusterState] = attrs.Factory(dict)
    volumes: dict[str, _VolumeState] = attrs.Factory(dict)
    account: Account | None = None
    ledger: Ledger | None = None
    ledger_time: int = 0
    exhausted: bool = False
    suspended: bool = False
    forecast_alerted: bool = False
    forecast_instant: int = 0
    """The run-out instant the last forecast alert announced (see ``_Replay._forecast_alert``)."""
    forecast_warning: int = 0
    """How long before ``forecast_instant`` that alert was given."""
    thresholds_alerted: set[Decimal] = attrs.Factory(set)
    credit_generation: int = 0
    accruals: dict[_Key, _Accrual] = attrs.Factory(dict)
    meta: dict[_Key, _LineMeta] = attrs.Factory(dict)
    pieces: list[_Piece] = attrs.Factory(list)
    log: list[LogEntry] = attrs.Factory(list)
    pending: list[tuple[tuple[Any, ...], int, str, Any]] = attrs.Factory(list)
    sequence: int = 0
    # Usage ids seen so far and the repeats left out (timeline.deduplicate).
    usage_ids: dict[str, Any] = attrs.Factory(dict)
    duplicates: int = 0


@attrs.frozen(eq=False)
class SimulationState:
    """Where a replay stopped: pass it to :meth:`Simulator.run` to continue from there.

    A snapshot: continuing from it never changes it.
    """

    _core: _Core = attrs.field(alias="core", repr=False)

    @property
    def at(self) -> pendulum.DateTime:
        """The instant the replay reached."""
        return from_micros(self._core.now)

    @property
    def catalog(self) -> Catalog:
        """The catalog with every price change applied so far."""
        return self._core.catalog

    @property
    def resources(self) -> dict[str, Resource]:
        return dict(self._core.resources)

    @property
    def ledger(self) -> Ledger | None:
        """A copy of the account's credit ledger here (exact buckets, debts and sums), or
        ``None`` without an Account. Changing the copy changes nothing."""
        return copy.deepcopy(self._core.ledger)

    def status(self, resource: str) -> str:
        """The lifecycle status of a deployment or job (``running``, ``stopped``...)."""
        if resource in self._core.deployments:
            return self._core.deployments[resource].status
        if resource in self._core.jobs:
            return self._core.jobs[resource]
        if resource in self._core.clusters:
            return self._core.clusters[resource].status
        if resource in self._core.volumes:
            return self._core.volumes[resource].status
        if resource in self._core.resources:
            return "active"
        raise InvalidArgument("resource", resource, f"one of {sorted(self._core.resources)}")

    def _copy(self) -> _Core:
        return copy.deepcopy(self._core)


@attrs.frozen(eq=False)
class SimulationResult:
    """What a replay produced.

    ``invoices`` holds one invoice per billing period from the replay's start to
    ``until``, oldest first; the last is a ``draft`` when ``until`` falls inside a
    period (IN4). ``log`` lists the lifecycle actions taken, with their rules.
    """

    state: SimulationState
    _policies: Policies = attrs.field(alias="policies", repr=False)

    @functools.cached_property
    def invoices(self) -> tuple[Invoice, ...]:
        """One invoice per period, built on first use (a replay need not build them)."""
        core = self.state._core
        return _invoices(core, self._policies, core.now)

    @property
    def policies(self) -> Policies:
        """The policies the replay applied (its credit floor, rounding, grains...)."""
        return self._policies

    @property
    def start(self) -> pendulum.DateTime:
        """The replay's first instant (its ``start``, or its first event's): where its first
        billing period is taken from. A continued replay keeps the first run's."""
        return from_micros(self.state._core.start)

    @functools.cached_property
    def spans(self) -> tuple[MeteredSpan, ...]:
        """The running time the replay metered, one :class:`MeteredSpan` per stretch of a
        group of units at one price (G3, G4), in the order the replay settled them (a
        continued replay's include those of the runs before it)."""
        return tuple(
            MeteredSpan(
                resource=piece.resource,
                category=piece.meta.category,
                rule=piece.meta.rule,
                description=piece.meta.description,
                grain=piece.grain,
                grid_micros=piece.grid,
                units=piece.count,
                start_micros=piece.start,
                end_micros=piece.end,
                price_key=piece.meta.price.key,
                rate=piece.meta.rate,
                rate_unit=piece.meta.rate_unit,
                price_effective_from=piece.meta.price.effective_from,
            )
            for piece in self.state._core.pieces
        )

    def price_of(self, line: InvoiceLine) -> PriceEntry | None:
        """The price entry a line of this replay is billed at (found by its ``price_key``
        and ``price_effective_from``), or ``None`` for a line the replay did not bill.

        The entry the replay used: a catalog entry, a price change's, or one derived from
        a size tier (P-TIER) or a ``1x`` hardware entry (DE1).
        """
        return self._prices.get((line.price_key, to_micros(line.price_effective_from)))

    @functools.cached_property
    def _prices(self) -> dict[tuple[tuple[str, ...], int], PriceEntry]:
        core = self.state._core
        prices: dict[tuple[tuple[str, ...], int], PriceEntry] = {}
        for meta in itertools.chain(core.meta.values(), (piece.meta for piece in core.pieces)):
            prices.setdefault((meta.price.key, meta.effective), meta.price)
        return prices

    @property
    def credit_floor(self) -> Decimal:
        """The balance at which this replay's credits are exhausted (P-FLOOR, CR2)."""
        return self._policies.floor_for(self.state._core.account)

    @functools.cached_property
    def log(self) -> tuple[LogEntry, ...]:
        return tuple(self.state._core.log)

    @property
    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every credit movement, in order (empty without an :class:`Account`)."""
        ledger = self.state._core.ledger
        return tuple(ledger.entries) if ledger is not None else ()

    @property
    def balance(self) -> Decimal | None:
        """The exact credit balance at the end of the replay, or ``None`` without an Account."""
        ledger = self.state._core.ledger
        return None if ledger is None else ledger.balance

    @property
    def credits(self) -> dict[str, Decimal] | None:
        """Purchased, granted, consumed, expired and remaining credits, or ``None``.

        Amounts are to the trillionth of a dollar, and ``purchased + granted (+ settled)
        == consumed + expired + remaining`` holds exactly. ``settled``, present only when
        not zero, is the debt of closed periods that their invoices billed (amount due).
        """
        ledger = self.state._core.ledger
        if ledger is None:
            return None
        consumed = _trillionths(ledger.consumed)
        expired = _trillionths(ledger.expired)
        # Continuous draws are quotients carried to 50 digits in the ledger; here they are
        # given to the trillionth of a dollar, and what remains is derived, so the identity
        # holds exactly in any decimal context.
        settled = _trillionths(ledger.settled)
        summary = {
            "purchased": ledger.purchased,
            "granted": ledger.granted,
            "consumed": consumed,
            "expired": expired,
            "remaining": EXACT_CONTEXT.subtract(
                EXACT_CONTEXT.add(EXACT_CONTEXT.add(ledger.purchased, ledger.granted), settled),
                EXACT_CONTEXT.add(consumed, expired),
            ),
        }
        if settled:
            summary["settled"] = settled
        return summary

    @property
    def duplicates(self) -> int:
        """Usage events left out because their ``id`` was already billed (imports, overlaps)."""
        return self.state._core.duplicates

    @property
    def final_invoices(self) -> tuple[Invoice, ...]:
        return tuple(i for i in self.invoices if i.status is InvoiceStatus.FINAL)

    @property
    def draft(self) -> Invoice | None:
        """The open period's draft invoice, or ``None`` if ``until`` ends a period."""
        last = self.invoices[-1] if self.invoices else None
        return last if last is not None and last.status is InvoiceStatus.DRAFT else None

    @property
    def total(self) -> Money:
        """The sum of every invoice's total."""
        return sum((invoice.total for invoice in self.invoices), Money.zero())

    @property
    def lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(line for invoice in self.invoices for line in invoice.lines)

    def invoice(self, period: BillingPeriod | str) -> Invoice:
        """The invoice of a period, given as a :class:`BillingPeriod` or ``"YYYY-MM"``."""
        label = period.label if isinstance(period, BillingPeriod) else period
        for invoice in self.invoices:
            if invoice.period.label == label:
                return invoice
        known = [i.period.label for i in self.invoices]
        raise InvalidArgument("period", period, f"one of {known}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; see the docs for the schema (``schema_version`` 1)."""
        data: dict[str, Any] = {
            "schema_version": 1,
            "until": self.state.at.isoformat(),
            "invoices": [invoice.to_dict() for invoice in self.invoices],
            "total": str(self.total.amount),
            "log": [entry.to_dict() for entry in self.log],
        }
        if self.duplicates:
            data["duplicates"] = self.duplicates
        credits = self.credits
        if credits is not None:
            data["credits"] = {name: str(_cents(value)) for name, value in credits.items()}
            data["ledger"] = [entry.to_dict() for entry in self.ledger]
        return data


class Simulator:
    """Replays timelines against a price catalog under a set of policies.

    >>> Simulator().policies.credit_floor
    Decimal('0')
    """

    def __init__(self, catalog: Catalog | None = None, policies: Policies | None = None) -> None:
        self.catalog = catalog if catalog is not None else default_catalog()
        self.policies = policies if policies is not None else Policies()

    def run(
        self,
        resources: Iterable[Resource | Account],
        events: Iterable[Event],
        *,
        until: object,
        start: object = None,
        state: SimulationState | None = None,
    ) -> SimulationResult:
        """Replay ``events`` on ``resources`` up to ``until`` and return the result.

        ``start`` (default: the first event's instant, or ``until``) is where the
        first billing period is taken from. With ``state``, continue a previous
        replay: its resources are kept, ``resources`` adds new ones, and every
        event must come after ``state.at``. Events must not be after ``until``.
        Any invalid event raises before a result exists: nothing is half-applied.
        """
        end = to_micros(instant(until, field="until"))
        seen = {} if state is None else dict(state._core.usage_ids)
        unique, duplicates = deduplicate(events, seen)
        ordered = sorted(unique, key=_sort_key)
        if state is None:
            if start is not None:
                first = to_micros(instant(start, field="start"))
            else:
                first = min(_first_instant(ordered[0]), end) if ordered else end
            if first > end:
                raise InvalidArgument(
                    "start",
                    from_micros(first).isoformat(),
                    f"an instant at or before until {from_micros(end).isoformat()}",
                )
            core = _Core(start=first, now=first, catalog=self.catalog)
        else:
            core = state._copy()
            if end < core.now:
                raise InvalidArgument(
                    "until",
                    from_micros(end).isoformat(),
                    f"an instant at or after the state's {from_micros(core.now).isoformat()}",
                )
        core.usage_ids = seen
        core.duplicates += duplicates
        replay = _Replay(core, self.policies).add_resources(resources)
        # Every amount and quantity of the replay in the documented 50 digits (G1), not
        # the default context's 28.
        with decimal.localcontext(EXACT_CONTEXT):
            replay.run(ordered, end, resumed=state is not None)
        # The replay worked on its own copy of the state, so the result can keep it.
        return SimulationResult(state=SimulationState(core=core), policies=self.policies)


def simulate(
    resources: Iterable[Resource | Account],
    events: Iterable[Event],
    *,
    until: object,
    start: object = None,
    catalog: Catalog | None = None,
    policies: Policies | None = None,
) -> SimulationResult:
    """Shorthand for ``Simulator(catalog, policies).run(resources, events, until=...)``."""
    return Simulator(catalog, policies).run(resources, events, until=until, start=start)


def _sort_key(event: Event) -> tuple[Any, ...]:
    return event.sort_key()


def _micros(event: Event) -> int:
    """The event's instant in microseconds (cached in its sort key)."""
    return int(event.sort_key()[0])


def _first_instant(event: Event) -> int:
    if isinstance(event, TokenUsageBatch):
        return event.at_micros[0]
    return _micros(event)


class _Replay:
    """One pass of the fold over a core state."""

    def __init__(self, core: _Core, policies: Policies) -> None:
        self.core = core
        self.policies = policies
        self.grain = policies.grain
        self._period_cache: tuple[int, int, BillingPeriod] = (0, 0, BillingPeriod(1970, 1))
        self._account_added = False
        self._price_keys: list[tuple[Any, ...]] = []
        # The events of the current run and the index of the next one (see _more_at).
        self._events: Sequence[Event] = ()
        self._next = 0
        self._meta_cache: dict[
            tuple[str, int, bool], tuple[_LineMeta, _LineMeta, _LineMeta | None]
        ] = {}
        # Zero-length runs (G2) within one instant: resource -> (instant, final status), and
        # the instant the customer last ended each resource.
        self._empty_runs: dict[str, tuple[int, str]] = {}
        self._ended_now: dict[str, int] = {}

    # -- set-up ------------------------------------------------------------------------------

    def _add_account(self, account: Account) -> None:
        core = self.core
        if core.account is not None:
            if core.account != account:
                raise InvalidArgument(
                    "resources", account, "one Account per replay (the account's credits)"
                )
            return
        core.account = account
        self._account_added = True
        core.ledger = Ledger()
        core.ledger_time = core.now
        if account.opening_balance > 0:
            core.ledger.add(core.now, "purchase", account.opening_balance)
        elif account.opening_balance < 0:
            core.ledger.consume(core.now, -account.opening_balance, account.id, "opening debt")
        self._log(
            core.now, account.id, "account opened", "CR1", f"balance {account.opening_balance}"
        )

    def add_resources(self, resources: Iterable[Resource | Account]) -> _Replay:
        for resource in resources:
            if isinstance(resource, Account):
                self._add_account(resource)
                continue
            if not isinstance(resource, _RESOURCE_TYPES):
                names = ", ".join(kind.__name__ for kind in _RESOURCE_TYPES)
                raise InvalidArgument("resources", resource, f"values of the types {names}")
            known = self.core.resources.get(resource.id)
            if known is not None and known != resource:
                raise InvalidArgument(
                    "id", resource.id, "a unique id per resource (two different resources share it)"
                )
            self.core.resources[resource.id] = resource
            if isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
                self.core.deployments.setdefault(resource.id, _DeploymentState())
            elif isinstance(resource, FineTuningJob):
                self.core.jobs.setdefault(resource.id, "submitted")
            elif isinstance(resource, InstantCluster):
                self.core.clusters.setdefault(resource.id, _ClusterState())
            elif isinstance(resource, StorageVolume):
                self.core.volumes.setdefault(resource.id, _VolumeState())
        # Resources are kept in id order, so nothing depends on the order they were given in.
        core = self.core
        core.resources = dict(sorted(core.resources.items()))
        core.deployments = dict(sorted(core.deployments.items()))
        core.jobs = dict(sorted(core.jobs.items()))
        core.clusters = dict(sorted(core.clusters.items()))
        core.volumes = dict(sorted(core.volumes.items()))
        for resource in self.core.resources.values():
            if isinstance(resource, StorageVolume) and resource.cluster is not None:
                attached = self.core.resources.get(resource.cluster)
                if not isinstance(attached, InstantCluster):
                    raise InvalidArgument(
                        "cluster",
                        resource.cluster,
                        f"the id of an InstantCluster of the scenario (volume {resource.id!r})",
                    )
        return self

    # -- the loop ----------------------------------------------------------------------------

    def run(self, events: Sequence[Event], end: int, *, resumed: bool) -> None:
        core = self.core
        self._price_keys = [e.sort_key() for e in events if isinstance(e, PriceChange)]
        self._events = events
        self._next = 0
        if self._account_added:
            # Apply the credit rules at the start, after any purchase at that instant.
            core.credit_generation += 1
            key = (core.now, PRIORITY_ENGINE, "CreditCheck", "", (core.credit_generation,))
            self._schedule(key, "credit-check", core.credit_generation)
        for event in events:
            self._check_window(event, end, resumed)
        index = 0
        count = len(events)
        pending = core.pending
        while True:
            next_external = events[index].sort_key() if index < count else None
            next_internal = pending[0][0] if pending else None
            if next_internal is not None and (
                next_external is None or next_internal < next_external
            ):
                if next_internal[0] > end:
                    break
                key, _, kind, payload = heapq.heappop(pending)
                if self._stale(kind, payload):
                    continue
                self._advance_ledger(key[0])
                self._internal(key, kind, payload, self._peek(events, index))
                # A batch record is the customer's: the engine reacts after the instant's last.
                if kind != "batch" or not self._customer_more_at(key[0]):
                    self._after(key[0])
                continue
            if next_external is None:
                break
            event = events[index]
            index += 1
            self._next = index
            at = _first_instant(event)
            self._advance_ledger(at)
            self._apply(event, self._peek(events, index))
            # The customer's events at an instant all come before the engine's reactions to it.
            if not self._customer_more_at(at):
                self._after(at)
        self._advance_ledger(end)
        for resource_id, deployment in core.deployments.items():
            self._settle(resource_id, deployment, end)
        for resource_id, cluster in core.clusters.items():
            self._settle_cluster(resource_id, cluster, end)
        for resource_id, volume in core.volumes.items():
            self._settle_volume(resource_id, volume, end)
        core.now = end

    def _peek(self, events: Sequence[Event], index: int) -> tuple[Any, ...] | None:
        candidates = []
        if index < len(events):
            candidates.append(events[index].sort_key())
        if self.core.pending:
            candidates.append(self.core.pending[0][0])
        return min(candidates) if candidates else None

    def _more_at(self, at: int) -> bool:
        """Whether more is still to happen at ``at``: the next event, or a scheduled check
        that is not stale. A pending credit check does not count: the one being planned
        supersedes it."""
        events, index = self._events, self._next
        if index < len(events) and events[index].sort_key()[0] == at:
            return True
        return any(
            key[0] == at and kind != "credit-check" and not self._stale(kind, payload)
            for key, _, kind, payload in self.core.pending
        )

    def _customer_more_at(self, at: int) -> bool:
        """Whether another customer event (or batch record) is still to come at ``at``."""
        events, index = self._events, self._next
        if index < len(events) and events[index].sort_key()[0] == at:
            return True
        pending = self.core.pending
        # A pending batch record at ``at`` sorts before every engine check at ``at``.
        return bool(pending) and pending[0][2] == "batch" and pending[0][0][0] == at

    def _check_window(self, event: Event, end: int, resumed: bool) -> None:
        if isinstance(event, TokenUsageBatch):
            first, last = event.at_micros[0], event.at_micros[-1]
        else:
            first = last = _micros(event)
        if last > end:
            raise InvalidTimeline(
                event,
                "at",
                from_micros(last).isoformat(),
                f"an instant at or before until ({from_micros(end).isoformat()})",
            )
        floor = self.core.now
        if first < floor or (resumed and first == floor):
            where = "after" if resumed else "at or after"
            reason = "where the replay continues from" if resumed else "the replay's start"
            raise InvalidTimeline(
                event,
                "at",
                from_micros(first).isoformat(),
                f"an instant {where} {from_micros(floor).isoformat()}, {reason}",
            )

    def _schedule(self, key: tuple[Any, ...], kind: str, payload: Any) -> None:
        self.core.sequence += 1
        heapq.heappush(self.core.pending, (key, self.core.sequence, kind, payload))

    def _stale(self, kind: str, payload: Any) -> bool:
        """Whether a scheduled check was overtaken by later events (nothing to do)."""
        core = self.core
        if kind == "credit-check":
            return bool(payload != core.credit_generation)
        if kind in ("reservation-end", "reservation-alert"):
            resource_id, generation = payload
            return bool(core.clusters[resource_id].generation != generation)
        if kind in ("grace-end", "grace-alert"):
            resource_id, generation = payload
            state = core.clusters.get(resource_id) or core.volumes.get(resource_id)
            return state is None or state.generation != generation
        if kind == "idle-check":
            resource_id, generation = payload
            return bool(core.deployments[resource_id].idle_generation != generation)
        return False

    def _internal(
        self, key: tuple[Any, ...], kind: str, payload: Any, horizon: tuple[Any, ...] | None
    ) -> None:
        if kind == "idle-check":
            resource_id, generation = payload
            self._idle_check(key[0], resource_id, generation)
        elif kind == "batch":
            batch, position = payload
            self._usage_batch(batch, position, horizon)
        elif kind == "reservation-end":
            resource_id, generation = payload
            self._reservation_end(key[0], resource_id, generation)
        elif kind == "reservation-alert":
            resource_id, generation = payload
            self._reservation_alert(key[0], resource_id, generation)
        elif kind == "grace-end":
            resource_id, generation = payload
            self._grace_end(key[0], resource_id, generation)
        elif kind == "grace-alert":
            resource_id, generation = payload
            self._grace_alert(key[0], resource_id, generation)
        elif kind == "storage-reprice":
            self._reprice_volumes(payload, key[0])

    # -- dispatch ----------------------------------------------------------------------------

    def _apply(self, event: Event, horizon: tuple[Any, ...] | None) -> None:
        if isinstance(event, PriceChange):
            self._price_change(event)
            return
        resource = self.core.resources.get(event.resource)
        if isinstance(event, (Purchase, Grant)):
            if self.core.account is None or event.resource != self.core.account.id:
                known = self.core.account.id if self.core.account else "no Account"
                raise InvalidTimeline(
                    event, "resource", event.resource, f"the replay's Account ({known})"
                )
            self._credit_event(event)
            return
        if resource is None:
            raise InvalidTimeline(
                event,
                "resource",
                event.resource,
                f"one of the scenario's resources {sorted(self.core.resources)}",
            )
        if isinstance(event, TokenUsageBatch):
            self._require_kind(event, resource, ServerlessUsage)
            self._usage_batch(event, 0, horizon)
        elif isinstance(event, TokenUsage):
            self._require_kind(event, resource, ServerlessUsage)
            assert isinstance(resource, ServerlessUsage)
            self._usage(
                resource,
                to_micros(event.at),
                event.input_tokens,
                event.output_tokens,
                event.cached_input_tokens,
                event.batch,
            )
        elif isinstance(event, (JobCompleted, JobCancelled)):
            self._require_kind(event, resource, FineTuningJob)
            assert isinstance(resource, FineTuningJob)
            self._job(event, resource)
        elif isinstance(resource, InstantCluster):
            self._cluster_event(event, resource)
        elif isinstance(resource, StorageVolume):
            self._volume_event(event, resource)
        else:
            self._require_kind(event, resource, (DedicatedEndpoint, FineTunedHosting))
            assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
            self._deployment_event(event, resource)

    @staticmethod
    def _require_kind(event: Event, resource: Resource, kinds: type | tuple[type, ...]) -> bool:
        if not isinstance(resource, kinds):
            names = (
                kinds.__name__
                if isinstance(kinds, type)
                else " or ".join(k.__name__ for k in kinds)
            )
            raise InvalidTimeline(
                event,
                "resource",
                resource.id,
                f"a {names}; {resource.id!r} is a {type(resource).__name__}",
            )
        return True

    def _log(self, at: int, resource: str, action: str, rule: str, detail: str = "") -> None:
        self.core.log.append(
            LogEntry(at=from_micros(at), resource=resource, action=action, rule=rule, detail=detail)
        )

    # -- prices ------------------------------------------------------------------------------

    def _price_change(self, event: PriceChange) -> None:
        at = _micros(event)
        self.core.catalog = self.core.catalog.with_entries(event.price)
        key = " ".join(event.price.key)
        self._log(at, "", "price change", "G4", f"{key} from {event.price.source.describe()}")

    # -- deployments (DE1-DE4, FT2) ------------------------------------------------------------

    def _deployment_event(
        self, event: Event, resource: DedicatedEndpoint | FineTunedHosting
    ) -> None:
        state = self.core.deployments[resource.id]
        at = _micros(event)
        rule = "DE2" if isinstance(resource, DedicatedEndpoint) else "FT2"
        if isinstance(event, (Deploy, Start)):
            if self._empty_run(event, state):
                return
            new = isinstance(event, Deploy)
            wanted = (_NEW,) if new else (_STOPPED,)
            if not self._expect(
                event,
                state,
                wanted,
                "a resource not yet deployed" if new else "a stopped deployment",
            ):
                return
            if self._admit(resource, at, "deploy" if new else "start") is _Admission.REFUSE:
                return
            self._begin(resource, state, at, event.ready, "deployed" if new else "started", rule)
        elif isinstance(event, Ready):
            if not self._expect(event, state, (_PROVISIONING,), "a provisioning deployment"):
                return
            if self._admit(resource, at, "ready") is _Admission.REFUSE:
                self._end(resource, state, at, _STOPPED, "stopped", "CR8")
                state.stopped_by_credits = True
                state.ended_by = "CR8"
                return
            self._ready(resource, state, at, rule)
        elif isinstance(event, DeployFailed):
            if not self._expect(event, state, (_PROVISIONING,), "a provisioning deployment"):
                return
            state.status = _FAILED
            self._log(at, resource.id, "deployment failed", rule, "provisioning is not billed")
        elif isinstance(event, Stop):
            if state.status == _STOPPED and state.stopped_by_credits:
                self._log(
                    at, resource.id, "stop ignored", "CR8", "already stopped: credits ran out"
                )
                return
            if state.status == _STOPPED and state.stopped_by_idle:
                self._log(
                    at, resource.id, "stop ignored", "DE4", "already stopped by the idle timeout"
                )
                return
            if not self._expect(
                event, state, (_RUNNING, _PROVISIONING), "a running or provisioning deployment"
            ):
                return
            self._end(resource, state, at, _STOPPED, "stopped", rule)
            self._ended_now[resource.id] = at
        elif isinstance(event, Delete):
            if not self._expect(
                event,
                state,
                (_RUNNING, _PROVISIONING, _STOPPED, _FAILED),
                "a deployed resource not yet deleted",
            ):
                return
            self._end(resource, state, at, _DELETED, "deleted", rule)
            self._ended_now[resource.id] = at
        elif isinstance(event, ScaleReplicas):
            if not self._expect(event, state, (_RUNNING,), "a running deployment"):
                return
            if event.replicas > resource.max_replicas:
                raise InvalidTimeline(
                    event,
                    "replicas",
                    event.replicas,
                    f"at most max_replicas ({resource.max_replicas})",
                )
            self._scale(resource, state, at, event.replicas)
        elif isinstance(event, (ScaleGpus, ExtendReservation, ResizeVolume)):
            raise InvalidTimeline(
                event,
                "resource",
                resource.id,
                "an InstantCluster or StorageVolume; "
                f"{resource.id!r} is a {type(resource).__name__}",
            )
        elif isinstance(event, Requests):
            if state.status != _RUNNING:
                self._log(
                    at,
                    resource.id,
                    "requests refused",
                    "DE2",
                    f"{event.count} request(s) while {state.status}",
                )
                return
            state.last_activity = at

    def _expect(
        self,
        event: Event,
        state: _DeploymentState | _ClusterState | _VolumeState,
        allowed: tuple[str, ...],
        expected: str,
    ) -> bool:
        """Whether ``event`` applies to ``state``: the one place deciding what happens to an
        event that does not fit the resource's status.

        - It fits: True.
        - A stop or delete of a resource that the customer begins at this same instant: an
          empty run (G2), applied when the begin comes (see :meth:`_empty_run`): False.
        - A begin of a resource the customer stopped at this same instant: a logged no-op.
        - The resource is where an engine action left it (idle stop, credits, reservation
          end): a logged no-op, ``<event> ignored`` with that action's rule; late events of
          real logs (an autoscaler's scale after an idle stop) are not errors.
        - Otherwise the timeline is wrong: :class:`InvalidTimeline`.
        """
        if state.status in allowed:
            return True
        at = _micros(event)
        resource = str(event.resource)
        if isinstance(event, (Stop, Delete)) and self._pair_empty_run(event):
            return False
        verb = _VERBS.get(type(event).__name__, type(event).__name__.lower())
        if isinstance(event, (Deploy, Start, Ready)) and self._ended_now.get(resource) == at:
            self._log(
                at, resource, f"{verb} ignored", "G2", "ended at this instant: nothing to bill"
            )
            return False
        if state.ended_by is not None:
            reason = _ENGINE_ACTIONS.get(state.ended_by, state.ended_by)
            self._log(at, resource, f"{verb} ignored", state.ended_by, f"{state.status}: {reason}")
            return False
        raise InvalidTimeline(event, "status", state.status, expected)

    def _pair_empty_run(self, event: Stop | Delete) -> bool:
        """A stop or delete sorts before a begin at the same instant (ends come first). If
        the customer begins this resource at this instant too, the run is empty (G2)."""
        at = _micros(event)
        events = self._events
        index = self._next
        while index < len(events) and events[index].sort_key()[0] == at:
            later = events[index]
            if isinstance(later, (Deploy, Start)) and later.resource == event.resource:
                self._empty_runs[event.resource] = (
                    at,
                    _DELETED if isinstance(event, Delete) else _STOPPED,
                )
                return True
            index += 1
        return False

    def _empty_run(
        self, event: Event, state: _DeploymentState | _ClusterState | _VolumeState
    ) -> bool:
        """Apply a begin whose end the customer gave at the same instant: nothing bills (G2)."""
        at = _micros(event)
        resource_id = str(event.resource)
        found = self._empty_runs.get(resource_id)
        if found is None or found[0] != at:
            return False
        del self._empty_runs[resource_id]
        state.status = found[1]
        resource = self.core.resources[resource_id]
        if isinstance(resource, InstantCluster) and isinstance(state, _ClusterState):
            state.gpus = state.gpus or resource.gpus  # a stopped cluster keeps its GPU count
        what = "deleted" if found[1] == _DELETED else "stopped"
        self._log(
            at,
            resource_id,
            "empty run",
            "G2",
            f"begun and {what} at one instant: an empty half-open interval, not billed",
        )
        return True

    # -- beginnings while out of credit (CR3-CR5, CR8) ----------------------------------------

    def _out_of_credit(self) -> bool:
        """Whether the balance is at or below the floor now, after this instant's purchases."""
        ledger = self.core.ledger
        return ledger is not None and _reached(ledger.balance, self._floor())

    def _admit(
        self, resource: Resource, at: int, action: str, *, charge: Decimal = Decimal(0)
    ) -> _Admission:
        """What a begin does: the one place deciding whether anything may start to bill.

        Every deploy, start and ready of every kind, a cluster's added GPUs, a reservation
        or extension paid from credits, a serverless request and a job's charge ask here.
        With the balance above the floor (or without an account) everything bills. At or
        below it (docs/credits.md, "Beginning while out of credit"):

        - endpoints and fine-tuned hosting (CR8, W26): refused while P-EXHAUST suspends API
          access; with P-EXHAUST off they begin and bill below the floor, as the running
          ones do;
        - serverless requests (CR8): refused likewise; a job's charge (CR8): not charged,
          the job stopped at the billing limit (fine-tuning FAQ);
        - an on-demand cluster (CR4, W30): a deploy or start is refused; a cluster that
          was provisioning and becomes ready begins paused, with its grace period;
        - added on-demand or burst GPUs (CR3, W29): refused;
        - a reservation (CL2) or extension (CL5) paid from credits whose charge would take
          the balance below the floor: refused, exhausted or not (a prepaid account could
          not pay it); paid up front it begins, without burst GPUs (CR3);
        - a storage volume (CR5, W31): its creation is refused.

        A refusal is logged here, as ``<action> refused``, with its rule.
        """
        ledger = self.core.ledger
        if ledger is None:
            return _Admission.BILL
        floor = self._floor()
        balance = ledger.balance
        out = _reached(balance, floor)
        rule, why = "", ""
        if charge:
            if _below(EXACT_CONTEXT.subtract(balance, charge), floor):
                rule = "CR3" if out else ("CL5" if action == "extension" else "CL2")
                why = f"{_cents(charge)} USD from credits would take the balance below {floor}"
        elif not out:
            return _Admission.BILL
        elif isinstance(resource, (DedicatedEndpoint, FineTunedHosting, ServerlessUsage)):
            if not self.policies.exhaustion_suspends_api:
                return _Admission.BILL
            rule, why = "CR8", "API access is suspended"
        elif isinstance(resource, FineTuningJob):
            if not self.policies.exhaustion_suspends_api:
                return _Admission.BILL
            self._log(
                at,
                resource.id,
                "job stopped at the billing limit",
                "CR8",
                "credits exhausted: not charged",
            )
            return _Admission.REFUSE
        elif isinstance(resource, InstantCluster):
            if action == "ready" and not resource.reserved:
                return _Admission.PAUSE
            if resource.reserved and action != "scale":
                return _Admission.BILL
            rule = "CR3" if resource.reserved else "CR4"
            why = "credits exhausted: no on-demand capacity"
        elif isinstance(resource, StorageVolume):
            rule, why = "CR5", "credits exhausted: storage access is revoked"
        if not rule:
            return _Admission.BILL
        self._log(at, resource.id, f"{action} refused", rule, why)
        core = self.core
        state = (
            core.deployments.get(resource.id)
            or core.clusters.get(resource.id)
            or core.volumes.get(resource.id)
        )
        if state is not None and action in ("deploy", "start", "ready"):
            # Later events of the customer's for what was refused are logged no-ops.
            state.ended_by = rule
        return _Admission.REFUSE

    def _begin(
        self,
        resource: DedicatedEndpoint | FineTunedHosting,
        state: _DeploymentState,
        at: int,
        ready: bool,
        action: str,
        rule: str,
    ) -> None:
        state.stopped_by_idle = False
        state.stopped_by_credits = False
        state.ended_by = None
        if ready:
            self._log(at, resource.id, action, rule)
            self._ready(resource, state, at, rule, log=False)
        else:
            state.status = _PROVISIONING
            self._log(at, resource.id, action, rule, "provisioning (not billed)")

    def _ready(
        self,
        resource: DedicatedEndpoint | FineTunedHosting,
        state: _DeploymentState,
        at: int,
        rule: str,
        *,
        log: bool = True,
    ) -> None:
        state.status = _RUNNING
        state.groups = [_Group(at, resource.min_replicas, at)]
        state.last_activity = at
        if log:
            self._log(at, resource.id, "ready", rule, f"{resource.min_replicas} replica(s) billing")
        self._arm_idle(resource, state, at)

    def _end(
        self,
        resource: DedicatedEndpoint | FineTunedHosting,
        state: _DeploymentState,
        at: int,
        status: str,
        action: str,
        rule: str,
    ) -> None:
        self._settle(resource.id, state, at)
        self._resize_units(resource.id, state.groups, at, 0)
        state.status = status
        state.idle_generation += 1
        self._log(at, resource.id, action, rule)

    def _scale(
        self,
        resource: DedicatedEndpoint | FineTunedHosting,
        state: _DeploymentState,
        at: int,
        replicas: int,
    ) -> None:
        self._settle(resource.id, state, at)
        current = state.ready
        self._resize_units(resource.id, state.groups, at, replicas)
        self._log(at, resource.id, "replicas changed", "DE3", f"{current} -> {replicas} ready")

    # -- idle auto-stop (DE4) ----------------------------------------------------------------

    def _idle_timeout(self, resource: DedicatedEndpoint | FineTunedHosting) -> int | None:
        """The resource's own timeout, else the policy's; ``None`` (unset) is off (P-IDLE)."""
        minutes = resource.inactive_timeout_minutes
        return minutes if minutes is not None else self.policies.inactive_timeout_minutes

    def _arm_idle(
        self, resource: DedicatedEndpoint | FineTunedHosting, state: _DeploymentState, at: int
    ) -> None:
        timeout = self._idle_timeout(resource)
        if timeout is None:
            return
        state.idle_generation += 1
        deadline = at + timeout * MICROS_PER_MINUTE
        self._schedule(
            (deadline, PRIORITY_ENGINE, "IdleStop", resource.id, (state.idle_generation,)),
            "idle-check",
            (resource.id, state.idle_generation),
        )

    def _idle_check(self, at: int, resource_id: str, generation: int) -> None:
        state = self.core.deployments[resource_id]
        if state.status != _RUNNING or generation != state.idle_generation:
            return
        resource = self.core.resources[resource_id]
        assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
        timeout = self._idle_timeout(resource)
        assert timeout is not None
        deadline = state.last_activity + timeout * MICROS_PER_MINUTE
        if deadline > at:
            self._schedule(
                (deadline, PRIORITY_ENGINE, "IdleStop", resource_id, (generation,)),
                "idle-check",
                (resource_id, generation),
            )
            return
        self._end(resource, state, at, _STOPPED, "auto-stopped", "DE4")
        state.stopped_by_idle = True
        state.ended_by = "DE4"
        self.core.log[-1] = attrs.evolve(
            self.core.log[-1], detail=f"no requests for {timeout} minutes (P-IDLE)"
        )

    # -- metering ----------------------------------------------------------------------------

    def _settle(self, resource_id: str, state: _DeploymentState, until: int) -> None:
        """Accrue the started grain units of every ready replica up to ``until`` (DE1, FT2)."""
        if not state.groups:
            return
        resource = self.core.resources[resource_id]
        assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
        if isinstance(resource, DedicatedEndpoint):
            rule, description = "DE1", f"{resource.hardware} ready replicas"
        else:
            rule, description = "FT2", f"hosting {resource.model} on {resource.hardware}"

        def meta(price: PriceEntry, grain: MeteringGrain) -> _LineMeta:
            assert isinstance(price, HardwarePrice)
            return _time_meta(
                resource.category, rule, description, "replica", price.per_hour, price, grain
            )

        self._settle_groups(
            resource_id, state.groups, until, ("hardware", resource.hardware), self.grain, meta
        )

    def _settle_groups(
        self,
        resource_id: str,
        groups: list[_Group],
        until: int,
        key: tuple[str, ...],
        grain: MeteringGrain,
        meta_of: Callable[[PriceEntry, MeteringGrain], _LineMeta],
    ) -> None:
        """Record the running time of ``groups`` up to ``until``, analytically.

        The span since each group was last settled is cut at price changes of ``key``;
        each piece is kept whole (grid, units, interval). Invoices later count the
        grain units starting in each period with integer arithmetic
        (:meth:`MeteringGrain.count`), so the replay itself does no work per period.
        """
        instants, entries = self.core.catalog.history(key)
        for group in groups:
            start = group.accounted
            if until <= start:
                continue
            for lo, hi in self._segments(start, until, instants):
                index = bisect.bisect_right(instants, lo) - 1
                if index < 0 and not instants and len(key) == 2:
                    # Unknown altogether (not just later): list what the catalog knows.
                    known = sorted(
                        {e.key[1] for e in self.core.catalog.entries if e.key[0] == key[0]}
                    )
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
                    self.core.pieces.append(
                        _Piece(resource_id, meta, grain, group.grid, group.count, lo, hi)
                    )
            group.accounted = until

    @staticmethod
    def _segments(start: int, end: int, instants: Sequence[int]) -> list[tuple[int, int]]:
        """Split ``[start, end)`` at price changes."""
        first = bisect.bisect_right(instants, start)
        last = bisect.bisect_left(instants, end)
        return list(itertools.pairwise([start, *instants[first:last], end]))

    def _period(self, at: int) -> BillingPeriod:
        lo, hi, period = self._period_cache
        if lo <= at < hi:
            return period
        period = BillingPeriod.of_micros(at)
        self._period_cache = (period.start_micros, period.end_micros, period)
        return period

    def _accrue(
        self,
        at: int,
        resource_id: str,
        meta: _LineMeta,
        quantity: int,
        span: tuple[int, int],
        *,
        debit: bool = False,
    ) -> None:
        """Add to an invoice line; with ``debit``, also draw the credits now (a discrete charge).

        Time-based charges are not debited here: the ledger draws them continuously.
        """
        if debit and self.core.ledger is not None:
            amount = EXACT_CONTEXT.divide(
                EXACT_CONTEXT.multiply(
                    EXACT_CONTEXT.divide(Decimal(quantity), meta.scale), meta.rate
                ),
                meta.rate_per,
            )
            self.core.ledger.consume(at, amount, resource_id, meta.description)
        _add_accrual(
            self.core.accruals, self.core.meta, self._period(at), resource_id, meta, quantity, span
        )

    # -- credits (CR1-CR8) ------------------------------------------------------------------

    def _meter_of(self, resource_id: str) -> tuple[tuple[str, ...], MeteringGrain] | None:
        """The price key and grain of a metered resource's running units."""
        resource = self.core.resources[resource_id]
        if isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
            return ("hardware", resource.hardware), self.grain
        if isinstance(resource, InstantCluster):
            key = ("cluster", resource.gpu_type, ClusterBilling.ON_DEMAND.value)
            return key, self.policies.cluster_grain
        if isinstance(resource, StorageVolume):
            billing = self.core.volumes[resource_id].billing
            reserved = ("storage", ClusterBilling.RESERVED.value)
            if billing is ClusterBilling.RESERVED and self.core.catalog.history(reserved)[0]:
                return reserved, self.policies.storage_grain
            return ("storage", ClusterBilling.ON_DEMAND.value), self.policies.storage_grain
        return None

    def _meter_price(self, key: tuple[str, ...], at: int) -> PriceEntry | None:
        """The rate a meter draws credits at, at ``at``: what its invoice line bills.

        A volume priced ``reserved`` bills on demand until the first reserved storage
        rate takes effect (:meth:`_settle_volume`), and so draws on demand too.
        """
        price = self.core.catalog.at(key, at)
        if price is None and key == _RESERVED_STORAGE:
            return self.core.catalog.at(_ON_DEMAND_STORAGE, at)
        return price

    def _meter_instants(self, key: tuple[str, ...]) -> list[int]:
        """The instants at which :meth:`_meter_price` can change."""
        instants = list(self.core.catalog.history(key)[0])
        if key == _RESERVED_STORAGE:
            instants = sorted({*instants, *self.core.catalog.history(_ON_DEMAND_STORAGE)[0]})
        return instants

    def _burners(self) -> Iterable[tuple[str, list[_Group]]]:
        core = self.core
        for states in (core.deployments, core.clusters, core.volumes):
            for resource_id, state in states.items():
                if state.groups:
                    yield resource_id, state.groups

    def _resize_units(self, resource_id: str, groups: list[_Group], at: int, target: int) -> None:
        """Set the running units to ``target``; charge removed units' started tails (G3)."""
        current = sum(group.count for group in groups)
        if target > current:
            _add_units(groups, at, target - current)
            return
        removed = _remove_units(groups, current - target)
        ledger = self.core.ledger
        meter = self._meter_of(resource_id)
        if ledger is None or meter is None or not removed:
            return
        key, grain = meter
        if grain.step_seconds is None:
            return
        # A unit begun in the previous billing period is that period's (IN3): its rest is
        # drawn now but applied to that period's invoice. Each unit at the price of its start.
        step = grain.step_seconds * MICROS_PER_SECOND
        period_start = BillingPeriod.of_micros(at).start_micros
        tails: dict[int | None, Decimal] = {}
        for group in removed:
            end = grain.unit_end(group.grid, at)
            lo = max(at, group.paid_until)
            price = self._meter_price(key, _unit_start(grain, group.grid, at))
            if end <= lo or price is None:
                continue
            begun = end - step if end - step < period_start else None
            tails[begun] = tails.get(begun, Decimal(0)) + group.count * (end - lo) * _hourly(price)
        for begun in sorted(tails, key=lambda b: -1 if b is None else b, reverse=True):
            if tails[begun]:
                amount = EXACT_CONTEXT.divide(tails[begun], _MICROS_PER_HOUR_D)
                note = f"rest of the started {grain.unit} (G3)"
                ledger.consume(at, amount, resource_id, note, unit_start=begun)

    def _burn_rate(self, at: int) -> Decimal:
        """USD per hour drawn by everything running at ``at``."""
        rate = Decimal(0)
        for resource_id, groups in self._burners():
            meter = self._meter_of(resource_id)
            assert meter is not None
            key, grain = meter
            for group in groups:
                if group.paid_until > at:
                    continue  # prepaid to the end of its unit
                price = self._meter_price(key, _unit_start(grain, group.grid, at))
                if price is not None:
                    rate += group.count * _hourly(price)
        return rate

    def _next_rate_change(self, at: int) -> int | None:
        """The next instant after ``at`` at which a running unit's draw rate changes: a price
        change reaching the next unit that starts after it, or a prepaid unit's end."""
        found: int | None = None
        for resource_id, groups in self._burners():
            meter = self._meter_of(resource_id)
            assert meter is not None
            key, grain = meter
            instants = self._meter_instants(key)
            for group in groups:
                candidates = [group.paid_until] if group.paid_until > at else []
                index = bisect.bisect_right(instants, _unit_start(grain, group.grid, at))
                while index < len(instants):
                    cut = grain.unit_end(group.grid, instants[index])
                    if cut > at:
                        candidates.append(cut)
                        break
                    index += 1
                for cut in candidates:
                    found = cut if found is None else min(found, cut)
        return found

    def _advance_ledger(self, until: int) -> None:
        """Draw the continuous charges of everything running up to ``until`` (CR1)."""
        core = self.core
        ledger = core.ledger
        if ledger is None or until <= core.ledger_time:
            return
        # Book each month's draw in that month (IN3 credits applied per invoice), month
        # after month in a loop: a replay over decades must not recurse once a month.
        while (boundary := BillingPeriod.of_micros(core.ledger_time).end_micros) < until:
            self._advance_ledger(boundary)
        start = core.ledger_time
        self._draw(start, until)
        core.ledger_time = until
        if ledger.debts:
            # A closed period's debt is billed on its invoice (credits.py).
            ledger.settle(until)

    def _draw(self, start: int, until: int) -> None:
        """Draw what runs in ``[start, until)``, inside one billing period (CR1)."""
        ledger = self.core.ledger
        assert ledger is not None
        period_start = BillingPeriod.of_micros(start).start_micros
        for resource_id, groups in list(self._burners()):
            meter = self._meter_of(resource_id)
            assert meter is not None
            key, grain = meter
            instants = self._meter_instants(key)
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
            for group in groups:
                lo = max(start, group.paid_until)
                if lo >= until:
                    continue
                amount += group.count * self._metered(key, grain, group.grid, instants, lo, until)
                if not near:
                    continue
                first = _unit_start(grain, group.grid, period_start)
                if first < period_start and lo < grain.unit_end(group.grid, period_start):
                    end = min(until, grain.unit_end(group.grid, period_start))
                    earlier += group.count * self._metered(
                        key, grain, group.grid, instants, lo, end
                    )
                    begun = first if begun is None else min(begun, first)
            if earlier:
                ledger.consume(
                    until,
                    EXACT_CONTEXT.divide(earlier, _MICROS_PER_HOUR_D),
                    resource_id,
                    "running",
                    since=start,
                    unit_start=begun,
                )
                amount -= earlier
            if amount:
                amount = EXACT_CONTEXT.divide(amount, _MICROS_PER_HOUR_D)
                ledger.consume(until, amount, resource_id, "running", since=start)

    def _metered(
        self,
        key: tuple[str, ...],
        grain: MeteringGrain,
        grid: int,
        instants: Sequence[int],
        lo: int,
        hi: int,
    ) -> Decimal:
        """One unit's draw over ``[lo, hi)`` times an hour in microseconds.

        Each unit is drawn at the price in force at its start, as its invoice line prices
        it (G3, G4): a price change (one of ``instants``) applies to this grid from the
        first unit that starts at or after it.
        """
        first = bisect.bisect_right(instants, _unit_start(grain, grid, lo))
        last = bisect.bisect_left(instants, hi)
        if first >= last:  # no price change reaches a unit of the span: one price
            price = self._meter_price(key, _unit_start(grain, grid, lo))
            return Decimal(0) if price is None else (hi - lo) * _hourly(price)
        cuts = sorted({grain.unit_end(grid, c) for c in instants[first:last]} - {lo, hi})
        amount = Decimal(0)
        for a, b in itertools.pairwise([lo, *(c for c in cuts if lo < c < hi), hi]):
            price = self._meter_price(key, _unit_start(grain, grid, a))
            if price is not None:
                amount += (b - a) * _hourly(price)
        return amount

    def _prepay(self, resource_id: str, groups: list[_Group], at: int) -> None:
        """Draw now, at the current rate, the rest of the units running at ``at`` (their
        invoice line prices them at their start), before the resource's rate key changes."""
        ledger = self.core.ledger
        meter = self._meter_of(resource_id)
        if ledger is None or meter is None:
            return
        key, grain = meter
        amount = Decimal(0)
        for group in groups:
            end = grain.unit_end(group.grid, at)
            lo = max(at, group.paid_until)
            if end > lo:
                price = self._meter_price(key, _unit_start(grain, group.grid, at))
                if price is not None:
                    amount += group.count * (end - lo) * _hourly(price)
                group.paid_until = end
        if amount:
            begun = min(_unit_start(grain, g.grid, at) for g in groups)
            period_start = BillingPeriod.of_micros(at).start_micros
            ledger.consume(
                at,
                EXACT_CONTEXT.divide(amount, _MICROS_PER_HOUR_D),
                resource_id,
                f"rest of the started {grain.unit} at its rate (G3)",
                unit_start=begun if begun < period_start else None,
            )

    def _floor(self) -> Decimal:
        """The credit floor of this replay's account (P-FLOOR; see Policies.floor_for)."""
        return self.policies.floor_for(self.core.account)

    def _credit_event(self, event: Purchase | Grant) -> None:
        ledger = self.core.ledger
        assert ledger is not None
        at = _micros(event)
        if isinstance(event, Purchase):
            if event.amount < self.policies.min_purchase:
                raise InvalidTimeline(
                    event,
                    "amount",
                    event.amount,
                    f"at least {self.policies.min_purchase} (P-MIN-BUY)",
                )
            ledger.add(at, "purchase", event.amount)
            self._log(at, event.resource, "credits purchased", "CR1", f"{event.amount} USD")
        else:
            expires = None if event.expires is None else to_micros(event.expires)
            if expires is not None and expires <= at:
                raise InvalidTimeline(
                    event, "expires", event.expires, f"an instant after {event.at.isoformat()}"
                )
            ledger.add(at, "grant", event.amount, expires=expires)
            until = "" if event.expires is None else f", expiring {event.expires.isoformat()}"
            self._log(at, event.resource, "credits granted", "CR1", f"{event.amount} USD{until}")

    def _after(self, at: int) -> None:
        """Apply the credit rules at ``at`` and plan the next instant they can change."""
        core = self.core
        ledger = core.ledger
        account = core.account
        if ledger is None or account is None:
            return
        if ledger.expire(at):
            self._log(at, account.id, "promotional credits expired", "CR1")
        recharge = account.auto_recharge
        # Below the threshold means below by more than the tolerance, as for the floor.
        if recharge is not None and _below(ledger.balance, recharge.threshold):
            # A recharge is a purchase: never below the minimum (P-MIN-BUY).
            for amount in recharge.purchases(ledger.balance, minimum=self.policies.min_purchase):
                ledger.add(at, "recharge", amount)
                self._log(
                    at, account.id, "auto-recharge", "CR1", f"{amount} USD ({recharge.mode.value})"
                )
        balance = ledger.balance
        floor = self._floor()
        for threshold in self.policies.alert_thresholds:
            if threshold <= floor:
                continue
            if _reached(balance, threshold) and threshold not in core.thresholds_alerted:
                core.thresholds_alerted.add(threshold)
                self._log(
                    at,
                    account.id,
                    "alert",
                    "CR6",
                    f"balance {_cents(balance)} USD is at or below {threshold}",
                )
            elif not _reached(balance, threshold):
                core.thresholds_alerted.discard(threshold)
        if not core.exhausted and _reached(balance, floor):
            self._exhaust(at)
        elif core.exhausted and not _reached(balance, floor):
            self._restore(at)
        self._plan_credit_check(at)

    def _plan_credit_check(self, at: int) -> None:
        core = self.core
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
        rate = self._burn_rate(at)
        balance = ledger.balance
        floor = self._floor()
        if rate > 0 and not core.exhausted:
            targets = [floor, *(t for t in self.policies.alert_thresholds if t > floor)]
            recharge = core.account.auto_recharge if core.account else None
            # A target within the tolerance is reached already (see _after). Every planned
            # instant is strictly later than now, so the replay cannot stay at one instant.
            crossing = {
                x: max(at + 1, at + _ceil_micros(EXACT_CONTEXT.subtract(balance, x), rate))
                for x in targets
                if not _reached(balance, x)
            }
            candidates.extend(crossing.values())
            if recharge is not None and not _below(balance, recharge.threshold):
                # Auto-recharge fires when the balance goes *below* its threshold.
                shortfall = EXACT_CONTEXT.subtract(balance, recharge.threshold)
                candidates.append(at + _ceil_micros(shortfall, rate, strict=True))
            change = self._next_rate_change(at)
            if change is not None:
                candidates.append(change)
        if not core.exhausted:
            warn = self._forecast_alert(at, balance, rate)
            if warn is not None:
                candidates.append(warn)
        if candidates:
            when = min(candidates)
            self._schedule(
                (when, PRIORITY_ENGINE, "CreditCheck", "", (core.credit_generation,)),
                "credit-check",
                core.credit_generation,
            )

    def _forecast_run_out(self, at: int, balance: Decimal, rate: Decimal) -> int | None:
        """When the balance reaches the floor if nothing more happens (CR6): the draw at
        ``rate`` (USD per hour), with the steps already known taken as steps: promotional
        credits expiring (their unused rest, P-CONSUME order), and the ends the replay has
        scheduled (a reservation's end stops its burst GPUs; a grace period's end stops a
        paused cluster or a revoked volume that still bills). ``None``: never."""
        ledger = self.core.ledger
        assert ledger is not None
        floor = self._floor()
        known = ledger.credit_buckets()
        remaining = [left for left, _ in known]
        expiries = [expires for _, expires in known]
        drops = self._scheduled_rate_drops(at)
        steps = sorted({e for e in expiries if e is not None and e > at} | set(drops))
        now = at
        for step in [*steps, None]:
            if _reached(balance, floor):
                return now
            if rate > 0:
                left = EXACT_CONTEXT.subtract(balance, floor)
                crossing = max(now + 1, now + _ceil_micros(left, rate))
                if step is None or crossing <= step:
                    return crossing
            if step is None:
                return None
            drawn = EXACT_CONTEXT.divide(
                EXACT_CONTEXT.multiply(rate, step - now), _MICROS_PER_HOUR_D
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
        """USD per hour that stops drawing at each scheduled end after ``at``: a reservation's
        end (its burst GPUs) and a grace period's end (a paused cluster or revoked volume
        that bills). Idle deadlines move with requests and are not counted: the forecast
        errs early, never late."""
        drops: dict[int, Decimal] = {}
        states: list[tuple[str, _ClusterState | _VolumeState, int]] = []
        for resource_id, cluster in self.core.clusters.items():
            if cluster.groups and cluster.status == _RUNNING and cluster.reservation_end > at:
                states.append((resource_id, cluster, cluster.reservation_end))
            elif cluster.groups and cluster.status == _PAUSED and cluster.grace_end > at:
                states.append((resource_id, cluster, cluster.grace_end))
        for resource_id, volume in self.core.volumes.items():
            if volume.groups and volume.status == _REVOKED and volume.grace_end > at:
                states.append((resource_id, volume, volume.grace_end))
        for resource_id, state, end in states:
            meter = self._meter_of(resource_id)
            assert meter is not None
            price = self._meter_price(meter[0], at)
            if price is not None:
                rate = sum(group.count for group in state.groups) * _hourly(price)
                drops[end] = EXACT_CONTEXT.add(drops.get(end, Decimal(0)), rate)
        return drops

    def _forecast_alert(self, at: int, balance: Decimal, rate: Decimal) -> int | None:
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
        core = self.core
        exhaustion = self._forecast_run_out(at, balance, rate)
        if exhaustion is None:
            return None
        lead = self.policies.alert_lead_hours * MICROS_PER_HOUR
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
        if not self._more_at(at):
            core.forecast_alerted = True
            core.forecast_instant = exhaustion
            core.forecast_warning = exhaustion - at
            self._log(
                at,
                core.account.id if core.account else "",
                "alert",
                "CR6",
                f"credits forecast to run out at {from_micros(exhaustion).isoformat()} "
                "at the current rate",
            )
        return None

    def _exhaust(self, at: int) -> None:
        """Credits ran out: the lifecycle of CR3-CR5 and CR8, each action logged."""
        core = self.core
        assert core.ledger is not None
        assert core.account is not None
        core.exhausted = True
        self._log(
            at,
            core.account.id,
            "credits exhausted",
            "CR2",
            f"balance {_cents(core.ledger.balance)} USD reached the floor "
            f"{self._floor()} (P-FLOOR)",
        )
        if self.policies.exhaustion_suspends_api:
            core.suspended = True
            self._log(at, core.account.id, "API access suspended", "CR8", "P-EXHAUST")
            for resource_id, state in core.deployments.items():
                if state.status in (_RUNNING, _PROVISIONING):
                    resource = core.resources[resource_id]
                    assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
                    self._end(resource, state, at, _STOPPED, "stopped", "CR8")
                    state.stopped_by_credits = True
                    state.ended_by = "CR8"
        for resource_id, cluster_state in core.clusters.items():
            cluster = core.resources[resource_id]
            assert isinstance(cluster, InstantCluster)
            if cluster_state.status != _RUNNING:
                continue
            self._settle_cluster(resource_id, cluster_state, at)
            if cluster.reserved:
                if cluster_state.groups:
                    self._resize_units(resource_id, cluster_state.groups, at, 0)
                    cluster_state.gpus = max(cluster.reserved_gpus, 0)
                    self._log(
                        at,
                        resource_id,
                        "burst capacity decommissioned",
                        "CR3",
                        f"back to the {cluster.reserved_gpus} reserved GPUs, "
                        "which run to the reservation's end",
                    )
                continue
            self._pause(resource_id, cluster_state, at)
        for resource_id, volume_state in core.volumes.items():
            if volume_state.status != _RUNNING:
                continue
            self._settle_volume(resource_id, volume_state, at)
            self._suspend(
                resource_id,
                volume_state,
                at,
                keep_billing=self.policies.revoked_storage_bills,
                status=_REVOKED,
                rule="CR5",
                detail="data deleted unless credits are restored within "
                f"{self.policies.grace_storage_hours} h (P-GRACE-STORAGE)",
                grace=self.policies.grace_storage_hours * MICROS_PER_HOUR,
            )

    def _pause(self, cluster_id: str, state: _ClusterState, at: int) -> None:
        """Pause on-demand compute for want of credit, with its grace period (CR4)."""
        self._settle_cluster(cluster_id, state, at)
        self._suspend(
            cluster_id,
            state,
            at,
            keep_billing=self.policies.paused_cluster_bills,
            status=_PAUSED,
            rule="CR4",
            detail="decommissioned unless credits are restored within "
            f"{self.policies.grace_compute_hours} h (P-GRACE-COMPUTE)",
            grace=self.policies.grace_compute_hours * MICROS_PER_HOUR,
        )

    def _suspend(
        self,
        resource_id: str,
        state: _ClusterState | _VolumeState,
        at: int,
        *,
        keep_billing: bool,
        status: str,
        rule: str,
        detail: str,
        grace: int,
    ) -> None:
        """Pause compute or revoke storage access, and start the grace period (CR4, CR5)."""
        if not keep_billing:
            self._resize_units(resource_id, state.groups, at, 0)
        state.status = status
        state.ended_by = rule
        state.grace_end = at + grace
        state.generation += 1
        self._grace(resource_id, at, grace, state.generation, rule)
        action = "paused" if status == _PAUSED else "access revoked"
        self._log(at, resource_id, action, rule, detail)

    def _grace(self, resource_id: str, at: int, length: int, generation: int, rule: str) -> None:
        end = at + length
        self._schedule(
            (end, PRIORITY_ENGINE, "GraceEnd", resource_id, (generation,)),
            "grace-end",
            (resource_id, generation),
        )
        warn = max(at, end - self.policies.alert_lead_hours * MICROS_PER_HOUR)
        self._schedule(
            (warn, PRIORITY_ENGINE, "GraceAlert", resource_id, (generation,)),
            "grace-alert",
            (resource_id, generation),
        )

    def _grace_state(
        self, resource_id: str, generation: int
    ) -> _ClusterState | _VolumeState | None:
        state: _ClusterState | _VolumeState | None = self.core.clusters.get(resource_id)
        if state is None:
            state = self.core.volumes.get(resource_id)
        if (
            state is None
            or state.generation != generation
            or state.status not in (_PAUSED, _REVOKED)
        ):
            return None
        return state

    def _grace_alert(self, at: int, resource_id: str, generation: int) -> None:
        state = self._grace_state(resource_id, generation)
        if state is None:
            return
        if isinstance(state, _ClusterState):
            what, rule = "the paused cluster will be decommissioned", "CR4"
        else:
            what, rule = "the volume's data will be deleted", "CR5"
        hours = self.policies.alert_lead_hours
        self._log(
            at,
            resource_id,
            "alert",
            "CR6",
            f"{what} in {hours} h unless credits are restored ({rule})",
        )

    def _grace_end(self, at: int, resource_id: str, generation: int) -> None:
        state = self._grace_state(resource_id, generation)
        if state is None:
            return
        if isinstance(state, _ClusterState):
            self._settle_cluster(resource_id, state, at)
            self._resize_units(resource_id, state.groups, at, 0)
            state.status = _DECOMMISSIONED
            state.ended_by = "CR4"
            self._log(at, resource_id, "decommissioned", "CR4", "credits were not restored")
        else:
            self._settle_volume(resource_id, state, at)
            self._resize_units(resource_id, state.groups, at, 0)
            state.status = _DELETED
            state.deleted_by_credits = True
            state.ended_by = "CR5"
            self._log(at, resource_id, "data deleted", "CR5", "credits were not restored")

    def _restore(self, at: int) -> None:
        """Credits restored (CR7): resume paused compute and storage access; nothing comes back."""
        core = self.core
        assert core.account is not None
        core.exhausted = False
        core.suspended = False
        core.forecast_alerted = False
        self._log(at, core.account.id, "credits restored", "CR7", "API access resumed")
        for resource_id, cluster_state in core.clusters.items():
            if cluster_state.status == _PAUSED:
                cluster_state.status = _RUNNING
                cluster_state.ended_by = None
                cluster_state.generation += 1
                if not cluster_state.groups:
                    _add_units(cluster_state.groups, at, cluster_state.gpus)
                self._log(at, resource_id, "resumed", "CR7", f"{cluster_state.gpus} GPUs on demand")
        for resource_id, volume_state in core.volumes.items():
            if volume_state.status == _REVOKED:
                volume_state.status = _RUNNING
                volume_state.ended_by = None
                volume_state.generation += 1
                if not volume_state.groups:
                    _add_units(volume_state.groups, at, volume_state.size)
                self._log(at, resource_id, "access restored", "CR7")

    # -- Instant Clusters (CL1-CL6) -------------------------------------------------------------

    def _cluster_event(self, event: Event, cluster: InstantCluster) -> None:
        state = self.core.clusters[cluster.id]
        at = _micros(event)
        if isinstance(event, Deploy):
            if self._empty_run(event, state):
                return
            if not self._expect(event, state, (_NEW,), "a cluster not yet provisioned"):
                return
            charge = self._reservation_charge(cluster, at) if event.ready else Decimal(0)
            admission = self._admit(cluster, at, "deploy", charge=charge)
            if admission is _Admission.REFUSE:
                return
            if event.ready:
                self._cluster_ready(event, cluster, state, at, admission)
            else:
                state.status = _PROVISIONING
                rule = "CL2" if cluster.reserved else "CL4"
                self._log(at, cluster.id, "provisioning", rule, "not billed until ready")
        elif isinstance(event, Ready):
            if not self._expect(event, state, (_PROVISIONING,), "a provisioning cluster"):
                return
            admission = self._admit(
                cluster, at, "ready", charge=self._reservation_charge(cluster, at)
            )
            if admission is _Admission.REFUSE:
                state.status = _FAILED
                return
            self._cluster_ready(event, cluster, state, at, admission)
        elif isinstance(event, DeployFailed):
            if not self._expect(event, state, (_PROVISIONING,), "a provisioning cluster"):
                return
            state.status = _FAILED
            self._log(at, cluster.id, "provisioning failed", "CL2", "nothing charged")
        elif isinstance(event, ScaleGpus):
            if not self._expect(event, state, (_RUNNING,), "a running cluster"):
                return
            self._check_gpus(event, "gpus", event.gpus)
            wanted = event.gpus - cluster.reserved_gpus if cluster.reserved else event.gpus
            if (
                wanted > sum(g.count for g in state.groups)
                and self._admit(cluster, at, "scale") is _Admission.REFUSE
            ):
                return
            self._settle_cluster(cluster.id, state, at)
            before = state.gpus
            state.gpus = event.gpus
            self._resize_units(cluster.id, state.groups, at, self._metered_gpus(cluster, state))
            rule = "CL3" if cluster.reserved else "CL4"
            self._log(
                at, cluster.id, "GPUs changed", rule, self._gpu_detail(cluster, before, state)
            )
        elif isinstance(event, ExtendReservation):
            self._extend(event, cluster, state, at)
        elif isinstance(event, Stop):
            if cluster.reserved:
                raise InvalidTimeline(
                    event,
                    "resource",
                    cluster.id,
                    "an on-demand cluster: a reserved cluster cannot be paused "
                    "(Delete terminates it)",
                )
            if state.status == _PAUSED:
                self._log(at, cluster.id, "stop ignored", "CR4", "paused: credits ran out")
                return
            if not self._expect(event, state, (_RUNNING,), "a running cluster"):
                return
            self._settle_cluster(cluster.id, state, at)
            self._resize_units(cluster.id, state.groups, at, 0)
            state.status = _STOPPED
            self._ended_now[cluster.id] = at
            self._log(at, cluster.id, "stopped", "CL4", "on-demand compute stops billing")
        elif isinstance(event, Start):
            if cluster.reserved:
                raise InvalidTimeline(event, "resource", cluster.id, "an on-demand cluster")
            if self._empty_run(event, state):
                return
            if not self._expect(event, state, (_STOPPED,), "a stopped cluster"):
                return
            if self._admit(cluster, at, "start") is _Admission.REFUSE:
                return
            state.ended_by = None
            if not event.ready:
                state.status = _PROVISIONING
                self._log(at, cluster.id, "starting", "CL4", "not billed until ready")
                return
            state.status = _RUNNING
            _add_units(state.groups, at, state.gpus)
            self._log(at, cluster.id, "started", "CL4", f"{state.gpus} GPUs on demand")
        elif isinstance(event, Delete):
            if not self._expect(
                event,
                state,
                (_PROVISIONING, _RUNNING, _STOPPED, _FAILED, _DECOMMISSIONED, _PAUSED),
                "a cluster not yet deleted",
            ):
                return
            self._ended_now[cluster.id] = at
            running = state.status == _RUNNING
            self._settle_cluster(cluster.id, state, at)
            self._resize_units(cluster.id, state.groups, at, 0)
            state.generation += 1
            detail = ""
            if running and cluster.reserved and at < state.reservation_end:
                left = from_micros(state.reservation_end).isoformat()
                detail = f"reservation to {left} is not refunded (CL2)"
            state.status = _DELETED
            self._log(at, cluster.id, "terminated", "CL5" if cluster.reserved else "CL4", detail)
            if cluster.reserved and at < state.reservation_end:
                # Its volumes keep the reserved storage rate to the paid end (ST3, CL2).
                self._schedule(
                    (state.reservation_end, PRIORITY_ENGINE, "StorageReprice", cluster.id, ()),
                    "storage-reprice",
                    cluster.id,
                )
        else:
            raise InvalidTimeline(
                event,
                "resource",
                cluster.id,
                "a dedicated endpoint, hosted model or serverless resource for this event; "
                f"{cluster.id!r} is an InstantCluster",
            )

    def _check_gpus(self, event: Event, field: str, gpus: int) -> None:
        step = self.policies.gpu_step
        if gpus < step or gpus % step:
            raise InvalidTimeline(event, field, gpus, f"a multiple of {step} GPUs (P-GPU-STEP)")

    @staticmethod
    def _metered_gpus(cluster: InstantCluster, state: _ClusterState) -> int:
        if cluster.reserved:
            return max(0, state.gpus - cluster.reserved_gpus)
        return state.gpus

    @staticmethod
    def _gpu_detail(cluster: InstantCluster, before: int, state: _ClusterState) -> str:
        text = f"{before} -> {state.gpus} GPUs"
        if cluster.reserved:
            burst = max(0, state.gpus - cluster.reserved_gpus)
            text += f" ({cluster.reserved_gpus} reserved, {burst} burst at on-demand rates)"
        return text

    def _reservation_charge(self, cluster: InstantCluster, at: int, days: int = 0) -> Decimal:
        """What a reservation (or ``days`` more of it) draws from credits at ``at``: zero
        unless it is paid from credits (P-RESERVE-PAY) and its cluster is reserved."""
        if not cluster.reserved or self.policies.reservation_payment is not (
            ReservationPayment.CREDITS
        ):
            return Decimal(0)
        assert cluster.duration_days is not None
        price = self.core.catalog.cluster(
            cluster.gpu_type, ClusterBilling.RESERVED, from_micros(at)
        )
        hours = (days or cluster.duration_days) * 24
        return EXACT_CONTEXT.multiply(Decimal(cluster.reserved_gpus * hours), price.per_gpu_hour)

    def _cluster_ready(
        self,
        event: Event,
        cluster: InstantCluster,
        state: _ClusterState,
        at: int,
        admission: _Admission = _Admission.BILL,
    ) -> None:
        restart = state.gpus > 0  # a stopped on-demand cluster keeps its GPU count
        if not restart:
            self._check_gpus(event, "gpus", cluster.gpus)
            state.gpus = cluster.gpus
            if cluster.reserved and cluster.gpus > cluster.reserved_gpus and self._out_of_credit():
                # CR3: no on-demand capacity beyond the reservation while out of credit.
                self._log(
                    at,
                    cluster.id,
                    "burst refused",
                    "CR3",
                    f"credits exhausted: {cluster.gpus - cluster.reserved_gpus} burst GPUs "
                    "not started",
                )
                state.gpus = cluster.reserved_gpus
        state.status = _RUNNING
        state.ended_by = None
        if cluster.reserved:
            self._check_gpus(event, "reserved_gpus", cluster.reserved_gpus)
            assert cluster.duration_days is not None
            state.reservation_start = at
            state.reservation_end = at
            self._charge_reservation(cluster, state, at, cluster.duration_days, "CL2")
            paid = self.policies.reservation_payment.value
            self._log(
                at,
                cluster.id,
                "ready",
                "CL2",
                f"{cluster.reserved_gpus} GPUs reserved for {cluster.duration_days} days, "
                f"charged in full ({paid}); non-refundable"
                + (
                    f"; {cluster.gpus - cluster.reserved_gpus} more GPUs burst at on-demand rates"
                    if cluster.gpus > cluster.reserved_gpus
                    else ""
                ),
            )
            self._reprice_volumes(cluster.id, at)
        else:
            self._log(at, cluster.id, "ready", "CL4", f"{state.gpus} GPUs on demand")
        _add_units(state.groups, at, self._metered_gpus(cluster, state))
        if admission is _Admission.PAUSE:
            self._pause(cluster.id, state, at)

    def _charge_reservation(
        self, cluster: InstantCluster, state: _ClusterState, at: int, days: int, rule: str
    ) -> None:
        """Charge ``days`` more of the reservation now, and move its end (CL2, CL5)."""
        price = self.core.catalog.cluster(
            cluster.gpu_type, ClusterBilling.RESERVED, from_micros(at)
        )
        start = state.reservation_end
        state.reservation_end = start + days * 24 * MICROS_PER_HOUR
        hours = days * 24
        what = "reservation" if rule == "CL2" else "reservation extensions"
        meta = _LineMeta(
            Category.RESERVED_COMPUTE,
            rule,
            f"{cluster.gpu_type} {what} of {cluster.reserved_gpus} GPUs",
            "GPU-hour",
            price.per_gpu_hour,
            "USD per GPU-hour",
            Decimal(1),
            Decimal(1),
            price,
        )
        paid_from_credits = self.policies.reservation_payment is ReservationPayment.CREDITS
        self._accrue(
            at,
            cluster.id,
            meta,
            cluster.reserved_gpus * hours,
            (start, state.reservation_end),
            debit=paid_from_credits,
        )
        state.generation += 1
        end = state.reservation_end
        self._schedule(
            (end, PRIORITY_ENGINE, "ReservationEnd", cluster.id, (state.generation,)),
            "reservation-end",
            (cluster.id, state.generation),
        )
        alert = max(at, end - self.policies.reservation_alert_hours * MICROS_PER_HOUR)
        self._schedule(
            (alert, PRIORITY_ENGINE, "ReservationAlert", cluster.id, (state.generation,)),
            "reservation-alert",
            (cluster.id, state.generation),
        )

    def _extend(
        self, event: ExtendReservation, cluster: InstantCluster, state: _ClusterState, at: int
    ) -> None:
        if not cluster.reserved:
            raise InvalidTimeline(event, "resource", cluster.id, "a reserved cluster")
        if not self._expect(event, state, (_RUNNING,), "a running reserved cluster"):
            return
        if event.days > 90:
            raise InvalidTimeline(event, "days", event.days, "an extension of 1 to 90 days")
        charge = self._reservation_charge(cluster, at, event.days)
        if charge and self._admit(cluster, at, "extension", charge=charge) is _Admission.REFUSE:
            return
        old_end = from_micros(state.reservation_end).isoformat()
        self._charge_reservation(cluster, state, at, event.days, "CL5")
        new_end = from_micros(state.reservation_end).isoformat()
        self._log(
            at, cluster.id, "reservation extended", "CL5", f"{old_end} -> {new_end}, charged now"
        )

    def _reservation_alert(self, at: int, cluster_id: str, generation: int) -> None:
        state = self.core.clusters[cluster_id]
        if state.status != _RUNNING or generation != state.generation:
            return
        end = from_micros(state.reservation_end).isoformat()
        self._log(
            at,
            cluster_id,
            "alert",
            "CL5",
            f"reservation ends at {end}; the cluster will be decommissioned",
        )

    def _reservation_end(self, at: int, cluster_id: str, generation: int) -> None:
        state = self.core.clusters[cluster_id]
        if state.status != _RUNNING or generation != state.generation:
            return
        self._settle_cluster(cluster_id, state, at)
        self._resize_units(cluster_id, state.groups, at, 0)
        state.status = _DECOMMISSIONED
        state.ended_by = "CL5"
        self._log(at, cluster_id, "decommissioned", "CL5", "the reservation ended")
        self._reprice_volumes(cluster_id, at)

    def _settle_cluster(self, cluster_id: str, state: _ClusterState, until: int) -> None:
        """Accrue burst or on-demand GPU time up to ``until`` (CL3, CL4)."""
        if not state.groups:
            return
        cluster = self.core.resources[cluster_id]
        assert isinstance(cluster, InstantCluster)
        if cluster.reserved:
            category, rule, what = Category.BURST_COMPUTE, "CL3", "burst GPUs above the reservation"
        else:
            category, rule, what = Category.ON_DEMAND_COMPUTE, "CL4", "on-demand GPUs"

        def meta(price: PriceEntry, grain: MeteringGrain) -> _LineMeta:
            assert isinstance(price, ClusterPrice)
            description = f"{cluster.gpu_type} {what}"
            return _time_meta(category, rule, description, "GPU", price.per_gpu_hour, price, grain)

        key = ("cluster", cluster.gpu_type, ClusterBilling.ON_DEMAND.value)
        self._settle_groups(cluster_id, state.groups, until, key, self.policies.cluster_grain, meta)

    # -- storage volumes (ST1-ST3) -------------------------------------------------------------

    def _volume_billing(self, volume: StorageVolume, at: int) -> ClusterBilling:
        """Reserved storage pricing while the attached cluster's reservation is active (C22).

        Where the catalog has no reserved storage rate (yet), the on-demand rate applies.
        """
        if volume.cluster is None:
            return ClusterBilling.ON_DEMAND
        cluster = self.core.clusters.get(volume.cluster)
        if cluster is not None and cluster.reservation_paid(at):
            return ClusterBilling.RESERVED
        return ClusterBilling.ON_DEMAND

    def _reprice_volumes(self, cluster_id: str, at: int) -> None:
        for volume_id, state in self.core.volumes.items():
            volume = self.core.resources[volume_id]
            assert isinstance(volume, StorageVolume)
            if volume.cluster != cluster_id or state.status not in (_RUNNING, _REVOKED):
                continue
            billing = self._volume_billing(volume, at)
            if billing is state.billing:
                continue
            self._settle_volume(volume_id, state, at)
            # The units running now are billed at their start's rate: draw their rest so.
            self._prepay(volume_id, state.groups, at)
            state.billing = billing
            if self.core.catalog.history(("storage", ClusterBilling.RESERVED.value))[0]:
                self._log(
                    at, volume_id, f"storage priced {billing.value}", "ST3", f"cluster {cluster_id}"
                )

    def _volume_event(self, event: Event, volume: StorageVolume) -> None:
        state = self.core.volumes[volume.id]
        at = _micros(event)
        if isinstance(event, Deploy):
            if self._empty_run(event, state):
                return
            if not self._expect(event, state, (_NEW,), "a volume not yet created"):
                return
            if not event.ready:
                raise InvalidTimeline(
                    event, "ready", event.ready, "True: a volume bills from its creation (ST1)"
                )
            if self._admit(volume, at, "deploy") is _Admission.REFUSE:
                return
            state.status = _RUNNING
            state.ended_by = None
            state.billing = self._volume_billing(volume, at)
            state.size = volume.size_tib
            _add_units(state.groups, at, volume.size_tib)
            self._log(
                at, volume.id, "created", "ST1", f"{volume.size_tib} TiB, {state.billing.value}"
            )
        elif isinstance(event, ResizeVolume):
            if not self._expect(event, state, (_RUNNING,), "an existing volume"):
                return
            before = state.size
            if event.size_tib < before:
                self._check_shrink(event, before)
            self._settle_volume(volume.id, state, at)
            self._resize_units(volume.id, state.groups, at, event.size_tib)
            state.size = event.size_tib
            self._log(at, volume.id, "resized", "ST2", f"{before} -> {event.size_tib} TiB")
        elif isinstance(event, Delete):
            if state.status == _DELETED and state.deleted_by_credits:
                self._log(at, volume.id, "delete ignored", "CR5", "its data was already deleted")
                return
            if not self._expect(event, state, (_RUNNING, _REVOKED), "an existing volume"):
                return
            self._ended_now[volume.id] = at
            state.generation += 1
            self._settle_volume(volume.id, state, at)
            self._resize_units(volume.id, state.groups, at, 0)
            state.status = _DELETED
            self._log(at, volume.id, "deleted", "ST1")
        else:
            raise InvalidTimeline(
                event,
                "resource",
                volume.id,
                "a resource this event applies to; a StorageVolume takes Deploy, ResizeVolume "
                "and Delete (it bills until deleted)",
            )

    def _check_shrink(self, event: ResizeVolume, before: int) -> None:
        policy = self.policies.storage_shrink
        if policy is ShrinkPolicy.FORBIDDEN:
            raise InvalidTimeline(
                event, "size_tib", event.size_tib, f"at least {before} TiB (P-SHRINK: forbidden)"
            )
        if policy is ShrinkPolicy.ACCOUNT_TEAM and not event.via_account_team:
            raise InvalidTimeline(
                event,
                "via_account_team",
                event.via_account_team,
                f"True: below {before} TiB, volumes shrink only through the account team "
                "(P-SHRINK)",
            )

    def _settle_volume(self, volume_id: str, state: _VolumeState, until: int) -> None:
        """Accrue size x time up to ``until`` at the volume's storage rate (ST1)."""
        if not state.groups:
            return

        def meta(price: PriceEntry, grain: MeteringGrain) -> _LineMeta:
            assert isinstance(price, StoragePrice)
            description = f"shared volume storage ({price.billing.value} rate)"
            return _time_meta(
                Category.STORAGE, "ST1", description, "TiB", price.per_tib_hour, price, grain
            )

        grain = self.policies.storage_grain
        on_demand = ("storage", ClusterBilling.ON_DEMAND.value)
        if state.billing is ClusterBilling.RESERVED:
            reserved = ("storage", ClusterBilling.RESERVED.value)
            instants, _ = self.core.catalog.history(reserved)
            if instants:
                # On demand until the first reserved storage rate takes effect (G4).
                before = min(until, instants[0])
                self._settle_groups(volume_id, state.groups, before, on_demand, grain, meta)
                self._settle_groups(volume_id, state.groups, until, reserved, grain, meta)
                return
        self._settle_groups(volume_id, state.groups, until, on_demand, grain, meta)

    # -- serverless (SL1-SL3) ----------------------------------------------------------------

    def _serverless_price(self, resource: ServerlessUsage, at: int) -> ServerlessPrice:
        found = self.core.catalog.at(("serverless", resource.model), at)
        if isinstance(found, ServerlessPrice):
            return found
        params = resource.params_b if self.policies.size_tier_fallback else None
        return self.core.catalog.serverless(resource.model, from_micros(at), params_b=params)

    def _usage_metas(
        self, resource: ServerlessUsage, price: ServerlessPrice, batch: bool
    ) -> tuple[_LineMeta, _LineMeta, _LineMeta | None]:
        """The three lines a usage record can add to, made once per resource, price and mode."""
        cache_key = (resource.id, id(price), batch)
        found = self._meta_cache.get(cache_key)
        if found is not None and found[0].price is price:
            return found
        made = self._make_usage_metas(resource, price, batch)
        self._meta_cache[cache_key] = made
        return made

    def _make_usage_metas(
        self, resource: ServerlessUsage, price: ServerlessPrice, batch: bool
    ) -> tuple[_LineMeta, _LineMeta, _LineMeta | None]:
        discount = (
            self.policies.batch_discount
            if self.policies.batch_discount is not None
            else price.batch_discount
        )
        factor = (1 - discount) if batch else Decimal(1)
        prefix = "batch " if batch else ""
        percent = format((discount * 100).normalize(), "f")
        suffix = f" ({percent}% batch discount)" if batch and discount else ""
        base_rule = "SL2" if price.tier else "SL1"
        tier = f" [size tier {price.tier}]" if price.tier else ""

        def meta(kind: str, rate: Decimal, rule: str) -> _LineMeta:
            return _LineMeta(
                Category.SERVERLESS,
                rule,
                f"{resource.model} {prefix}{kind}{suffix}{tier}",
                "token",
                _plain(rate * factor),
                "USD per 1M tokens",
                _MILLION,
                Decimal(1),
                price,
            )

        batch_rule = "SL3" if batch else base_rule
        cached = None
        if price.cached_input is not None:
            cached = meta("cached input tokens", price.cached_input, "SL3")
        return (
            meta("input tokens", price.input, batch_rule),
            meta("output tokens", price.output, batch_rule),
            cached,
        )

    def _usage(
        self,
        resource: ServerlessUsage,
        at: int,
        input_tokens: int,
        output_tokens: int,
        cached: int,
        batch: bool,
    ) -> None:
        if self._admit(resource, at, "requests") is _Admission.REFUSE:
            return
        price = self._serverless_price(resource, at)
        input_meta, output_meta, cached_meta = self._usage_metas(resource, price, batch)
        span = (at, at)
        if cached_meta is None:
            cached = 0
        if input_tokens - cached:
            self._accrue(at, resource.id, input_meta, input_tokens - cached, span, debit=True)
        if cached and cached_meta is not None:
            self._accrue(at, resource.id, cached_meta, cached, span, debit=True)
        if output_tokens:
            self._accrue(at, resource.id, output_meta, output_tokens, span, debit=True)

    def _usage_batch(
        self, batch: TokenUsageBatch, position: int, horizon: tuple[Any, ...] | None
    ) -> None:
        """Bill the batch's records from ``position`` that come before ``horizon``.

        Records after the next other event are put back in the queue, so a price
        change (or any event) between records applies exactly as for single records.
        """
        resource = self.core.resources[batch.resource]
        assert isinstance(resource, ServerlessUsage)
        times = batch.at_micros
        size = len(times)
        if self.core.ledger is not None:
            # With credits, each record may change what follows (exhaustion): one at a time.
            cached_column = batch.cached_input_tokens
            self._usage(
                resource,
                times[position],
                batch.input_tokens[position],
                batch.output_tokens[position],
                cached_column[position] if cached_column is not None else 0,
                batch.batch,
            )
            if position + 1 < size:
                key = (times[position + 1], *batch.sort_key()[1:])
                self._schedule(key, "batch", (batch, position + 1))
            return
        stop = size
        # Without credits, only a price change can alter how later records bill, so the
        # batch runs on to the next price change, not to the next event of any kind.
        here = (times[position], PRIORITY_ACTIVITY, "TokenUsageBatch", batch.resource)
        following = bisect.bisect_right(self._price_keys, here)
        horizon = self._price_keys[following] if following < len(self._price_keys) else None
        if horizon is not None:
            limit = horizon[0]
            # Records at the horizon's instant come first only if the horizon event
            # sorts after activity at that instant.
            inclusive = (PRIORITY_ACTIVITY, "TokenUsageBatch", batch.resource) <= tuple(
                horizon[1:4]
            )
            stop = (bisect.bisect_right if inclusive else bisect.bisect_left)(
                times, limit, position
            )
        instants, _ = self.core.catalog.history(("serverless", resource.model))
        cached_column = batch.cached_input_tokens
        index = position
        while index < stop:
            at = times[index]
            self._period(at)
            _, period_end, _ = self._period_cache
            # The next record where the price or the period may change.
            next_price = bisect.bisect_right(instants, at)
            boundary = min(
                period_end, instants[next_price] if next_price < len(instants) else period_end
            )
            run_end = min(stop, bisect.bisect_left(times, boundary, index, stop))
            price = self._serverless_price(resource, at)
            input_meta, output_meta, cached_meta = self._usage_metas(resource, price, batch.batch)
            cached_part = cached_column if cached_meta is not None else None
            uncached = (
                batch.input_tokens[index:run_end]
                if cached_part is None
                else [
                    i - c
                    for i, c in zip(
                        batch.input_tokens[index:run_end], cached_part[index:run_end], strict=True
                    )
                ]
            )
            columns: list[tuple[_LineMeta, Sequence[int]]] = [(input_meta, uncached)]
            if cached_part is not None and cached_meta is not None:
                columns.append((cached_meta, cached_part[index:run_end]))
            columns.append((output_meta, batch.output_tokens[index:run_end]))
            for meta, column in columns:
                total = sum(column)
                if total:
                    self._accrue(at, resource.id, meta, total, _span(times, index, column))
            index = run_end
        if stop < size:
            key = (times[stop], *batch.sort_key()[1:])
            self._schedule(key, "batch", (batch, stop))

    # -- fine-tuning jobs (FT1) ----------------------------------------------------------------

    def _job(self, event: JobCompleted | JobCancelled, job: FineTuningJob) -> None:
        status = self.core.jobs[job.id]
        if status != "submitted":
            raise InvalidTimeline(
                event, "status", status, "a job that has not completed or been cancelled"
            )
        at = _micros(event)
        if isinstance(event, JobCancelled):
            if event.tokens_processed > job.total_tokens:
                raise InvalidTimeline(
                    event,
                    "tokens_processed",
                    event.tokens_processed,
                    f"at most the job's total tokens ({job.total_tokens})",
                )
            tokens, status, kind = (
                event.tokens_processed,
                "cancelled",
                "tokens processed before cancellation",
            )
        else:
            tokens, status, kind = job.total_tokens, "completed", "tokens processed"
        if self._admit(job, at, "job") is _Admission.REFUSE:
            self.core.jobs[job.id] = "cancelled"
            return
        self.core.jobs[job.id] = status
        price = self.core.catalog.fine_tuning(job.params_b, job.method, job.lora, from_micros(at))
        assert isinstance(price, FineTuningPrice)
        training = "LoRA" if job.lora else "full"
        meta = _LineMeta(
            Category.FINE_TUNING,
            "FT1",
            f"fine-tuning {job.model} ({job.method.value.upper()}, {training}) {kind}",
            "token",
            price.per_1m_tokens,
            "USD per 1M tokens",
            _MILLION,
            Decimal(1),
            price,
        )
        if tokens:
            self._accrue(at, job.id, meta, tokens, (at, at), debit=True)
        self._log(at, job.id, f"job {status}", "FT1", f"{tokens} tokens")


def _time_meta(
    category: Category,
    rule: str,
    description: str,
    unit: str,
    per_hour: Decimal,
    price: PriceEntry,
    grain: MeteringGrain,
) -> _LineMeta:
    """Line metadata of a time-based charge: ``unit``-``grain`` units at ``per_hour``."""
    return _LineMeta(
        category,
        rule,
        description,
        f"{unit}-{grain.unit}",
        per_hour,
        f"USD per {unit}-hour",
        Decimal(grain.units_per_hour),
        Decimal(1) if grain.step_seconds else _MILLION,
        price,
    )


def _hourly(price: PriceEntry) -> Decimal:
    """The per-hour rate of a time-based price entry."""
    if isinstance(price, HardwarePrice):
        return price.per_hour
    if isinstance(price, ClusterPrice):
        return price.per_gpu_hour
    if isinstance(price, StoragePrice):
        return price.per_tib_hour
    raise AssertionError(price)


def _unit_start(grain: MeteringGrain, grid: int, at: int) -> int:
    """The start of the unit of the grid from ``grid`` running at ``at``."""
    end = grain.unit_end(grid, at)
    if end == at or grain.step_seconds is None:
        return at
    return end - grain.step_seconds * MICROS_PER_SECOND


def _reached(balance: Decimal, level: Decimal) -> bool:
    """Whether ``balance`` is at or below ``level``, within ``_TOLERANCE`` (to 50 digits:
    in the default 28-digit context, ``50 + 1e-30`` would round to ``50``)."""
    return balance <= EXACT_CONTEXT.add(level, _TOLERANCE)


def _below(balance: Decimal, level: Decimal) -> bool:
    """Whether ``balance`` is below ``level`` by more than ``_TOLERANCE``."""
    return balance < EXACT_CONTEXT.subtract(level, _TOLERANCE)


def _ceil_micros(amount: Decimal, per_hour: Decimal, *, strict: bool = False) -> int:
    """Microseconds until ``amount`` is drawn at ``per_hour``, rounded up (CR2).

    With ``strict``, until *more* than ``amount`` is drawn (the next microsecond
    when the crossing falls exactly on one).
    """
    exact = EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(amount, _MICROS_PER_HOUR_D), per_hour)
    # Drop the noise of 50-digit quotients so a split replay finds the same microsecond.
    exact = EXACT_CONTEXT.quantize(exact, Decimal("1e-26"))
    if strict:
        return int(exact.to_integral_value(rounding="ROUND_FLOOR")) + 1
    return int(exact.to_integral_value(rounding="ROUND_CEILING"))


def _trillionths(value: Decimal) -> Decimal:
    """``value`` to the trillionth of a dollar, without trailing zeros or an exponent."""
    rounded = EXACT_CONTEXT.quantize(value, Decimal("1e-12")).normalize()
    exponent = rounded.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        rounded = rounded.quantize(Decimal(1))
    return rounded + 0


def _cents(value: Decimal) -> Decimal:
    """A figure for a log or summary, in cents by the one rounding function (never -0.00)."""
    return round_to_cents(value) + 0


def _add_units(groups: list[_Group], at: int, count: int) -> None:
    """Units that start together at ``at`` get their own grid."""
    if count > 0:
        groups.append(_Group(at, count, at))


def _remove_units(groups: list[_Group], count: int) -> list[_Group]:
    """Remove ``count`` units, newest first (groups must be settled first); return them."""
    removed = []
    while count:
        newest = groups[-1]
        taken = min(newest.count, count)
        newest.count -= taken
        count -= taken
        removed.append(_Group(newest.grid, taken, newest.accounted, newest.paid_until))
        if newest.count == 0:
            groups.pop()
    return removed


def _span(times: Sequence[int], offset: int, column: Sequence[int]) -> tuple[int, int]:
    """Instants of the first and last records with a non-zero count in ``column``."""
    first = next(i for i, value in enumerate(column) if value)
    last = next(i for i in range(len(column) - 1, -1, -1) if column[i])
    return times[offset + first], times[offset + last]


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros beyond cents (0.440 -> 0.44), never in exponent form."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return normalized
    return value.quantize(Decimal("0.01"))


def _add_accrual(
    accruals: dict[_Key, _Accrual],
    metas: dict[_Key, _LineMeta],
    period: BillingPeriod,
    resource_id: str,
    meta: _LineMeta,
    quantity: int,
    span: tuple[int, int],
) -> None:
    """Add ``quantity`` to the invoice line of ``period`` that ``meta`` describes."""
    key: _Key = (
        period,
        _CATEGORY_ORDER[meta.category],
        resource_id,
        meta.rule,
        meta.description,
        meta.price.key,
        meta.effective,
    )
    found = accruals.get(key)
    if found is None:
        accruals[key] = _Accrual(quantity, span[0], span[1])
        metas[key] = meta
    else:
        found.quantity += quantity
        found.start = min(found.start, span[0])
        found.end = max(found.end, span[1])


def _time_accruals(core: _Core) -> tuple[dict[_Key, _Accrual], dict[_Key, _LineMeta]]:
    """All accruals: the discrete ones, plus running time counted per period (G3).

    A grain unit belongs to the period in which it starts.
    """
    accruals = {key: attrs.evolve(value) for key, value in core.accruals.items()}
    metas = dict(core.meta)
    for piece in core.pieces:
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
                _add_accrual(
                    accruals, metas, period, piece.resource, piece.meta, count * piece.count, span
                )
            lo = hi
            period = period.next()
    return accruals, metas


def _invoices(core: _Core, policies: Policies, end: int) -> tuple[Invoice, ...]:
    """Build the invoices of every period from the core's start to ``end``."""
    by_period: dict[BillingPeriod, list[InvoiceLine]] = {}
    accruals, metas = _time_accruals(core)
    for key in sorted(accruals, key=_accrual_order):
        accrual = accruals[key]
        meta = metas[key]
        price = meta.price
        line = make_line(
            rounding=policies.rounding,
            quantity=EXACT_CONTEXT.divide(Decimal(accrual.quantity), meta.scale),
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
    if core.ledger is not None:
        for entry in core.ledger.entries:
            # A draw belongs to the period of the span it pays for; only the part paid from
            # credits is applied. Credits added in a period pay its debt first: that part is
            # applied too. Debt still unpaid at the period's close is due on the invoice
            # (W25), once: later credits never pay it (see credits.py).
            if entry.kind == "consumption":
                paid, bucket = entry.from_credits, entry.period
            elif entry.paid_debt:
                paid, bucket = entry.paid_debt, entry.period
            else:
                continue
            applied[bucket] = EXACT_CONTEXT.add(applied.get(bucket, Decimal(0)), paid)
    invoices = []
    period = BillingPeriod.of_micros(core.start)
    as_of = from_micros(end)
    while period.start_micros < end or (period.start_micros == end == core.start):
        status = InvoiceStatus.FINAL if period.end_micros <= end else InvoiceStatus.DRAFT
        paid = applied.get(period, Decimal(0))
        lines = tuple(by_period.get(period, ()))
        invoices.append(
            Invoice(
                period=period,
                status=status,
                as_of=min(as_of, period.end),
                lines=lines,
                credits_applied=_credits_applied(lines, paid, policies.rounding),
                paid_from_credits_exact=paid,
            )
        )
        if period.end_micros >= end:
            break
        period = period.next()
    return tuple(invoices)


def _credits_applied(
    lines: Sequence[InvoiceLine], paid: Decimal, rounding: RoundingMode
) -> Decimal:
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
    due = min(round_to_cents(unpaid, rounding) + 0, total)
    return total - due


def _accrual_order(key: _Key) -> tuple[Any, ...]:
    period, category, resource, rule, description, price_key, effective = key
    return (period, category, resource, rule, description, price_key, effective)
