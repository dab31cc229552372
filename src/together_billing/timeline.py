"""Events: what happens to resources over time, and the total order a replay applies them in.

Every event is a frozen value with an instant ``at`` (timezone-aware, stored in
UTC). A replay applies events in one **total order**, so the order they are given
in never changes a result:

1. the instant, to the microsecond;
2. the event's priority (the constants below): price changes first, then credit
   purchases and grants (credits bought at ``t`` pay for what happens at ``t``), then
   everything that *ends* (stop, delete, failed deployments, idle auto-stops),
   then everything that *begins* (deploy, start, ready), then replica changes,
   then activity (requests, token usage, job completion). Intervals are half-open,
   so what ends at ``t`` ends before what begins at ``t``, and usage at the
   instant a resource stops is after the stop. **The engine's own reactions come
   last** (``PRIORITY_ENGINE``): credit checks (exhaustion, restoration,
   auto-recharge, alerts), idle auto-stops, reservation ends and alerts, grace ends.
   So every event of the customer's at ``t`` is applied before the engine reacts to
   ``t``: a customer's ``Stop`` at the instant credits run out stops the resource,
   a request at an idle deadline keeps the endpoint up. A begin or a request at
   ``t`` is still judged against the balance at ``t`` (after the purchases at
   ``t``): at or below the floor, it is refused (CR8);
3. a canonical key built from the event itself: its type name, resource id and
   fields.

>>> a = Stop("2025-11-01T12:00:00Z", "ep-1")
>>> b = Deploy("2025-11-01T12:00:00Z", "ep-2")
>>> sorted([b, a]) == [a, b]
True
>>> TokenUsage("2025-11-01T12:00:00Z", "chat", input_tokens=-5)
Traceback (most recent call last):
...
together_billing.errors.InvalidArgument: TokenUsage: input_tokens=-5 is not valid; \
expected an integer >= 0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeAlias

import attrs
import pendulum

from together_billing._columns import (
    array_column,
    first_above,
    first_decrease,
    is_array,
    is_int_array,
    only_ints,
    order_error,
)
from together_billing.catalog import PriceEntry
from together_billing.errors import InvalidArgument
from together_billing.money import to_decimal
from together_billing.time import from_micros, instant, to_micros

__all__ = [
    "PRIORITY_ACTIVITY",
    "PRIORITY_BEGIN",
    "PRIORITY_CREDIT",
    "PRIORITY_END",
    "PRIORITY_ENGINE",
    "PRIORITY_PRICE",
    "PRIORITY_SCALE",
    "Delete",
    "Deploy",
    "DeployFailed",
    "Event",
    "ExtendReservation",
    "Grant",
    "JobCancelled",
    "JobCompleted",
    "PriceChange",
    "Purchase",
    "Ready",
    "Requests",
    "ResizeVolume",
    "ScaleGpus",
    "ScaleReplicas",
    "Start",
    "Stop",
    "TokenUsage",
    "TokenUsageBatch",
    "deduplicate",
]

PRIORITY_PRICE: Final = 0
PRIORITY_CREDIT: Final = 5
PRIORITY_END: Final = 10
PRIORITY_BEGIN: Final = 20
PRIORITY_SCALE: Final = 30
PRIORITY_ACTIVITY: Final = 40
#: The replay engine's reactions to an instant, after every customer event at it (the
#: credit rules, CR1 and CR2, react after the instant's last customer event).
PRIORITY_ENGINE: Final = 50


#: What an event's instant may be given as: an aware datetime or an ISO 8601 string.
#: The converters' parameters are annotated with what they accept, because attrs copies
#: them onto ``__init__``: type checkers, ``st.from_type`` and Hypothesis's ghostwriter
#: read them there.
_InstantLike: TypeAlias = dt.datetime | str


def _at(value: _InstantLike) -> pendulum.DateTime:
    return instant(value, field="at")


def _resource_id(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(
            "resource", value, "the id of a resource", context=type(instance).__name__
        )


def _count(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[int], value: object) -> None:
        if type(value) is int and value >= minimum:
            return  # the common case, checked first (bulk events build millions of these)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise InvalidArgument(
                attribute.name, value, f"an integer >= {minimum}", context=type(instance).__name__
            )

    return check


def _optional_id(instance: Any, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidArgument(
            "id", value, "a non-empty string or None", context=type(instance).__name__
        )


class _Ordered:
    """Total ordering of events by :meth:`sort_key` (see the module docs)."""

    __slots__ = ()
    priority: ClassVar[int]

    def sort_key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, _Ordered):
            return NotImplemented
        return self.sort_key() < other.sort_key()


@attrs.frozen(order=False)
class _ResourceEvent(_Ordered):
    at: pendulum.DateTime = attrs.field(converter=_at)
    resource: str = attrs.field(validator=_resource_id)
    _key: tuple[Any, ...] | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
    )

    def _fields(self) -> tuple[Any, ...]:
        return ()

    def sort_key(self) -> tuple[Any, ...]:
        """``(microseconds, priority, type name, resource, fields)``, computed once."""
        if self._key is not None:
            return self._key
        key: tuple[Any, ...] = (
            to_micros(self.at),
            self.priority,
            type(self).__name__,
            self.resource,
            self._fields(),
        )
        object.__setattr__(self, "_key", key)
        return key


@attrs.frozen(order=False)
class Deploy(_ResourceEvent):
    """A deployment, cluster or storage volume is created.

    For dedicated endpoints and fine-tuned models: deployed. For an Instant Cluster:
    provisioned; a reservation starts, and is charged, when it is ready (CL2). For a
    storage volume: created, and billing from then (ST1).

    With ``ready=True`` (the default) it is ready, and billing, at ``at``; with
    ``ready=False`` it is provisioning, unbilled (DE2), until a :class:`Ready`
    event, or a :class:`DeployFailed`.
    """

    ready: bool = True
    priority: ClassVar[int] = PRIORITY_BEGIN

    def _fields(self) -> tuple[Any, ...]:
        return (self.ready,)


@attrs.frozen(order=False)
class Ready(_ResourceEvent):
    """A provisioning deployment became ready: its ``min_replicas`` start billing (DE2)."""

    priority: ClassVar[int] = PRIORITY_BEGIN


@attrs.frozen(order=False)
class DeployFailed(_ResourceEvent):
    """A provisioning deployment failed; nothing was billed for it (DE2, W7)."""

    priority: ClassVar[int] = PRIORITY_END


@attrs.frozen(order=False)
class Start(_ResourceEvent):
    """A stopped deployment is started again (ready at ``at`` unless ``ready=False``)."""

    ready: bool = True
    priority: ClassVar[int] = PRIORITY_BEGIN

    def _fields(self) -> tuple[Any, ...]:
        return (self.ready,)


@attrs.frozen(order=False)
class Stop(_ResourceEvent):
    """A deployment is stopped: its charges end at ``at`` (DE2, FT2)."""

    priority: ClassVar[int] = PRIORITY_END


@attrs.frozen(order=False)
class Delete(_ResourceEvent):
    """A deployment, cluster or volume is deleted for good (stopping it first if it runs).

    It sorts just after the stops of its instant, so "stop, then delete" at one instant
    (as ``tg beta endpoints rm`` does) is valid.
    """

    priority: ClassVar[int] = PRIORITY_END + 1


@attrs.frozen(order=False)
class ScaleReplicas(_ResourceEvent):
    """The number of *ready* replicas changes (DE3); each ready replica bills.

    ``replicas`` may be below ``min_replicas`` (replicas not ready, e.g. while
    degraded, are not billed) but not above ``max_replicas``.
    """

    replicas: int = attrs.field(validator=_count(0))
    priority: ClassVar[int] = PRIORITY_SCALE

    def _fields(self) -> tuple[Any, ...]:
        return (self.replicas,)


@attrs.frozen(order=False)
class ScaleGpus(_ResourceEvent):
    """An Instant Cluster's GPU count changes (CL3, CL6).

    Above a reservation's ``reserved_gpus`` the extra GPUs burst at the on-demand
    rate; counts go in steps of 8 (P-GPU-STEP).
    """

    gpus: int = attrs.field(validator=_count(1))
    priority: ClassVar[int] = PRIORITY_SCALE

    def _fields(self) -> tuple[Any, ...]:
        return (self.gpus,)


@attrs.frozen(order=False)
class ExtendReservation(_ResourceEvent):
    """A reserved cluster's reservation is extended by ``days`` (CL5).

    The added time is charged like a reservation, at the reserved rate in force now.
    """

    days: int = attrs.field(validator=_count(1))
    priority: ClassVar[int] = PRIORITY_SCALE

    def _fields(self) -> tuple[Any, ...]:
        return (self.days,)


@attrs.frozen(order=False)
class ResizeVolume(_ResourceEvent):
    """A storage volume's size changes to ``size_tib`` whole TiB (ST2).

    Decreases follow policy P-SHRINK; ``via_account_team=True`` marks a decrease
    made through Together's account team, as the later docs require.
    """

    size_tib: int = attrs.field(validator=_count(1))
    via_account_team: bool = False
    priority: ClassVar[int] = PRIORITY_SCALE

    def _fields(self) -> tuple[Any, ...]:
        return (self.size_tib, self.via_account_team)


@attrs.frozen(order=False)
class Requests(_ResourceEvent):
    """``count`` requests reach a deployment at ``at`` (resets the idle timer, DE4)."""

    count: int = attrs.field(default=1, validator=_count(1))
    priority: ClassVar[int] = PRIORITY_ACTIVITY

    def _fields(self) -> tuple[Any, ...]:
        return (self.count,)


@attrs.frozen(order=False)
class TokenUsage(_ResourceEvent):
    """Tokens used on a serverless model at one instant (SL1-SL3).

    ``input_tokens`` counts all input tokens, of which ``cached_input_tokens``
    were served from the prompt cache; ``batch`` marks Batch API requests.
    ``id`` optionally names the usage record where it came from (an import's row
    or meter-event id): a replay bills each id once, see :func:`deduplicate`.
    """

    input_tokens: int = attrs.field(default=0, validator=_count(0))
    output_tokens: int = attrs.field(default=0, validator=_count(0))
    cached_input_tokens: int = attrs.field(default=0, validator=_count(0))
    batch: bool = False
    id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_id)
    priority: ClassVar[int] = PRIORITY_ACTIVITY

    def __attrs_post_init__(self) -> None:
        if self.cached_input_tokens > self.input_tokens:
            raise InvalidArgument(
                "cached_input_tokens",
                self.cached_input_tokens,
                f"at most input_tokens ({self.input_tokens}): cached tokens are part of the input",
                context="TokenUsage",
            )

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.batch,
            self.id or "",
        )

    @classmethod
    def from_micros(
        cls,
        micros: int,
        resource: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        batch: bool = False,
        *,
        id: str | None = None,
    ) -> TokenUsage:
        """The same event as ``TokenUsage(at, ...)``, its instant given as integer microseconds.

        The cheap way to build events in bulk from columns of integers (a database, an
        export): the values are checked as the constructor checks them, with the same
        errors, but in one expression, and the sort key is known at once, so no instant
        is converted back to microseconds during the replay.

        >>> event = TokenUsage.from_micros(1_740_787_200_000_000, "chat", 1_000, 200)
        >>> event == TokenUsage("2025-03-01T00:00:00Z", "chat", 1_000, 200)
        True
        >>> TokenUsage.from_micros(1.5e15, "chat")
        Traceback (most recent call last):
        ...
        together_billing.errors.InvalidArgument: TokenUsage: at=1500000000000000.0 is not \
valid; expected integer microseconds since the Unix epoch
        """
        if type(micros) is not int:
            raise InvalidArgument(
                "at", micros, "integer microseconds since the Unix epoch", context="TokenUsage"
            )
        try:
            at = from_micros(micros)
        except OverflowError:
            raise InvalidArgument(
                "at",
                micros,
                "integer microseconds between the years 1 and 9999",
                context="TokenUsage",
            ) from None
        if not (
            type(resource) is str
            and type(input_tokens) is int
            and type(output_tokens) is int
            and type(cached_input_tokens) is int
            and type(batch) is bool
            and 0 <= cached_input_tokens <= input_tokens
            and output_tokens >= 0
            and resource.strip()
            and (id is None or (type(id) is str and id.strip()))
        ):
            # Something is off (or merely unusual, e.g. an int subclass): the constructor
            # checks each field and names the one at fault.
            return cls(at, resource, input_tokens, output_tokens, cached_input_tokens, batch, id=id)
        self = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(self, "at", at)
        setattr_(self, "resource", resource)
        setattr_(self, "input_tokens", input_tokens)
        setattr_(self, "output_tokens", output_tokens)
        setattr_(self, "cached_input_tokens", cached_input_tokens)
        setattr_(self, "batch", batch)
        setattr_(self, "id", id)
        setattr_(self, "_key", None)  # built when first sorted, as for the constructor's
        return self


def _micros_column(value: Sequence[_InstantLike | int]) -> tuple[int, ...]:
    """The ``at`` column as integer microseconds, checked to be in non-decreasing order."""
    if is_array(value):
        return array_column(value, field="at", context="TokenUsageBatch", instants=True)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidArgument("at", value, "a sequence of instants", context="TokenUsageBatch")
    given = tuple(value)
    result: tuple[int, ...]
    if is_int_array(value) or only_ints(given):
        result = given  # type: ignore[assignment]  # only_ints checked every item
    else:
        result = tuple(
            item if type(item) is int else to_micros(instant(item, field=f"at[{index}]"))
            for index, item in enumerate(given)
        )
    index = first_decrease(result)
    if index is not None:
        raise order_error("at", index, result[index], result[index - 1], "TokenUsageBatch")
    return result


def _int_column(value: Sequence[int], name: str) -> tuple[int, ...]:
    """A token column as a tuple of ints >= 0, naming ``name`` (and the index) on errors."""
    if is_array(value):
        return array_column(value, field=name, context="TokenUsageBatch")
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidArgument(name, value, "a sequence of integers", context="TokenUsageBatch")
    column = tuple(value)
    if column and (is_int_array(value) or only_ints(column)) and min(column) >= 0:
        return column
    for index, item in enumerate(column):
        if type(item) is not int or item < 0:
            raise InvalidArgument(
                f"{name}[{index}]", item, "an integer >= 0", context="TokenUsageBatch"
            )
    return column


def _input_column(value: Sequence[int]) -> tuple[int, ...]:
    return _int_column(value, "input_tokens")


def _output_column(value: Sequence[int]) -> tuple[int, ...]:
    return _int_column(value, "output_tokens")


def _cached_column(value: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if value is None else _int_column(value, "cached_input_tokens")


@attrs.frozen(order=False)
class TokenUsageBatch(_Ordered):
    """Many token-usage records of one serverless resource, as columns (fast path).

    ``at`` holds the records' instants in non-decreasing order (datetimes, ISO
    strings or integer microseconds since the epoch); the token columns have one
    entry per record. Each record is billed exactly as the equivalent
    :class:`TokenUsage` would be, at its own instant.
    """

    resource: str = attrs.field(validator=_resource_id)
    at_micros: tuple[int, ...] = attrs.field(converter=_micros_column)
    input_tokens: tuple[int, ...] = attrs.field(converter=_input_column)
    output_tokens: tuple[int, ...] = attrs.field(converter=_output_column)
    cached_input_tokens: tuple[int, ...] | None = attrs.field(
        default=None, converter=_cached_column
    )
    batch: bool = False
    _key: tuple[Any, ...] | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
    )
    priority: ClassVar[int] = PRIORITY_ACTIVITY

    def __attrs_post_init__(self) -> None:
        # The converters checked each column (ints >= 0, instants in order); what is left
        # is how the columns relate.
        size = len(self.at_micros)
        if size == 0:
            raise InvalidArgument("at", (), "at least one record", context="TokenUsageBatch")
        columns = [("input_tokens", self.input_tokens), ("output_tokens", self.output_tokens)]
        cached = self.cached_input_tokens
        if cached is not None:
            columns.append(("cached_input_tokens", cached))
        for name, column in columns:
            if len(column) != size:
                raise InvalidArgument(
                    name,
                    f"<{len(column)} values>",
                    f"{size} values, one per instant",
                    context="TokenUsageBatch",
                )
        index = None if cached is None else first_above(cached, self.input_tokens)
        if index is not None:
            assert cached is not None
            raise InvalidArgument(
                f"cached_input_tokens[{index}]",
                cached[index],
                f"at most input_tokens[{index}] ({self.input_tokens[index]})",
                context="TokenUsageBatch",
            )

    @property
    def at(self) -> pendulum.DateTime:
        """The first record's instant."""
        return from_micros(self.at_micros[0])

    def __len__(self) -> int:
        return len(self.at_micros)

    def __repr__(self) -> str:
        return (
            f"TokenUsageBatch(resource={self.resource!r}, <{len(self)} records from "
            f"{self.at.isoformat()} to {from_micros(self.at_micros[-1]).isoformat()}>)"
        )

    def sort_key(self) -> tuple[Any, ...]:
        if self._key is not None:
            return self._key
        content = (
            len(self),
            self.at_micros[-1],
            sum(self.input_tokens),
            sum(self.output_tokens),
        )
        key = (self.at_micros[0], self.priority, "TokenUsageBatch", self.resource, content)
        object.__setattr__(self, "_key", key)
        return key

    def part(self, lo: int, hi: int) -> TokenUsageBatch:
        """Records ``lo`` to ``hi`` (exclusive) as a batch; the batch itself if that is all.

        How a replay split at an instant (``Scenario.split``) or into report windows
        (``reconcile``) cuts a batch without losing a record.
        """
        if lo == 0 and hi == len(self):
            return self
        cached = self.cached_input_tokens
        return TokenUsageBatch(
            self.resource,
            self.at_micros[lo:hi],
            self.input_tokens[lo:hi],
            self.output_tokens[lo:hi],
            None if cached is None else cached[lo:hi],
            self.batch,
        )

    def records(self) -> list[TokenUsage]:
        """The batch as single :class:`TokenUsage` events."""
        cached = self.cached_input_tokens or (0,) * len(self)
        return [
            TokenUsage(from_micros(t), self.resource, i, o, c, self.batch)
            for t, i, o, c in zip(
                self.at_micros, self.input_tokens, self.output_tokens, cached, strict=True
            )
        ]


@attrs.frozen(order=False)
class JobCompleted(_ResourceEvent):
    """A fine-tuning job completed: it is charged for all its tokens (FT1)."""

    priority: ClassVar[int] = PRIORITY_ACTIVITY


@attrs.frozen(order=False)
class JobCancelled(_ResourceEvent):
    """A fine-tuning job was cancelled after processing ``tokens_processed`` tokens (FT1)."""

    tokens_processed: int = attrs.field(validator=_count(0))
    priority: ClassVar[int] = PRIORITY_ACTIVITY

    def _fields(self) -> tuple[Any, ...]:
        return (self.tokens_processed,)


def _amount(value: Decimal | int | str) -> Decimal:
    result = to_decimal(value, field="amount")
    if result <= 0:
        raise InvalidArgument("amount", value, "a positive amount of USD", context="credits")
    return result


def _optional_at(value: _InstantLike | None) -> pendulum.DateTime | None:
    return None if value is None else instant(value, field="expires")


@attrs.frozen(order=False)
class Purchase(_ResourceEvent):
    """Credits bought on the account (CR1); at least the minimum purchase (P-MIN-BUY).

    A purchase is never a charge (G5). During a grace period it restores what the
    exhaustion paused or revoked (CR7).
    """

    amount: Decimal = attrs.field(converter=_amount)
    priority: ClassVar[int] = PRIORITY_CREDIT

    def _fields(self) -> tuple[Any, ...]:
        return (self.amount,)


@attrs.frozen(order=False)
class Grant(_ResourceEvent):
    """Promotional credits added to the account, optionally expiring at ``expires`` (CR1)."""

    amount: Decimal = attrs.field(converter=_amount)
    expires: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_at)
    priority: ClassVar[int] = PRIORITY_CREDIT

    def _fields(self) -> tuple[Any, ...]:
        return (self.amount, "" if self.expires is None else self.expires.isoformat())


@attrs.frozen(order=False)
class PriceChange(_Ordered):
    """A new price takes effect at its ``effective_from`` instant, mid-period too (G4)."""

    price: PriceEntry
    priority: ClassVar[int] = PRIORITY_PRICE

    @property
    def at(self) -> pendulum.DateTime:
        return self.price.effective_from

    @property
    def resource(self) -> None:
        return None

    def sort_key(self) -> tuple[Any, ...]:
        return (to_micros(self.at), self.priority, "PriceChange", "", (repr(self.price),))


Event: TypeAlias = (
    Deploy
    | Ready
    | DeployFailed
    | Start
    | Stop
    | Delete
    | ScaleReplicas
    | ScaleGpus
    | ExtendReservation
    | ResizeVolume
    | Requests
    | TokenUsage
    | TokenUsageBatch
    | JobCompleted
    | JobCancelled
    | PriceChange
    | Purchase
    | Grant
)


def deduplicate(
    events: Iterable[Event], seen: dict[str, Event] | None = None
) -> tuple[list[Event], int]:
    """The events with every repeated usage id left out, and how many were left out.

    Importing the same usage twice, or two exports that overlap, must bill once
    (as Stripe's meter events and Lago's transaction ids do): of the events that
    carry the same ``id``, the first is kept and the identical repeats are dropped
    and counted. ``seen`` holds the ids of a replay being continued, and is updated.
    Two *different* events under one id are an error: one of them would be misread.

    >>> first = TokenUsage("2025-11-01T10:00:00Z", "chat", 100, id="row-1")
    >>> kept, dropped = deduplicate([first, first, TokenUsage("2025-11-01T10:00:00Z", "chat", 100)])
    >>> len(kept), dropped
    (2, 1)
    >>> deduplicate([first, TokenUsage("2025-11-01T10:00:00Z", "chat", 5, id="row-1")])
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: TokenUsage: id='row-1' is not valid; expected \
one event per id; it names two different usage records
    """
    known: dict[str, Event] = {} if seen is None else seen
    kept: list[Event] = []
    dropped = 0
    for event in events:
        event_id = event.id if isinstance(event, TokenUsage) else None
        if event_id is None:
            kept.append(event)
            continue
        earlier = known.get(event_id)
        if earlier is None:
            known[event_id] = event
            kept.append(event)
        elif earlier == event:
            dropped += 1
        else:
            raise InvalidArgument(
                "id",
                event_id,
                "one event per id; it names two different usage records",
                context=type(event).__name__,
            )
    return kept, dropped
