"""Many accounts: replay independent timelines and aggregate what they bill.

Each account is an :class:`AccountTimeline` (its resources, events and span); every
account is replayed against one catalog and one set of policies, and the results
are kept as small, picklable :class:`AccountSummary` values (totals, invoice lines
as rows, credit balance and runway), gathered into a :class:`Portfolio`.

:func:`replay_accounts` runs the accounts one after the other in this process. With
the ``dask`` extra, :func:`replay_accounts_dask` runs the same replays on a Dask
scheduler: local processes, or a ``distributed`` cluster when a ``Client`` is
active. The catalog and policies go into the task graph once (one key that every
partition reads), so a cluster ships them once per worker, not once per account.
Both give the same :class:`Portfolio`, byte for byte: summaries are sorted by
account name, whatever order the partitions finish in.

:func:`revenue_impact` compares two portfolios of the same accounts, for example
before and after a price change.

>>> from together_billing import DedicatedEndpoint, Deploy, Stop
>>> endpoint = DedicatedEndpoint(
...     "ep", model="m", hardware="1x_nvidia_h100_80gb_sxm", inactive_timeout_minutes=600
... )
>>> def month(name, hours):
...     return AccountTimeline(
...         name=name,
...         resources=[endpoint],
...         events=[
...             Deploy("2025-11-03T09:00:00Z", "ep"),
...             Stop(f"2025-11-03T{9 + hours:02}:00:00Z", "ep"),
...         ],
...         until="2025-12-01T00:00:00Z",
...     )
>>> portfolio = replay_accounts([month("acme", 2), month("beta", 1)])
>>> [(s.name, str(s.total)) for s in portfolio.accounts]
[('acme', '7.98 USD'), ('beta', '3.99 USD')]
>>> str(portfolio.total)
'11.97 USD'
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import attrs
import pendulum

from together_billing.catalog import Catalog, default_catalog
from together_billing.credits import Account
from together_billing.engine import SimulationResult, Simulator
from together_billing.errors import InvalidArgument, MissingDependency
from together_billing.invoice import exhausted_at
from together_billing.money import Money
from together_billing.policies import Policies
from together_billing.resources import Resource
from together_billing.time import exact_seconds, instant
from together_billing.timeline import Event

__all__ = [
    "AccountSummary",
    "AccountTimeline",
    "AccountsDelta",
    "InvoiceRow",
    "Portfolio",
    "RevenueImpact",
    "replay_account",
    "replay_accounts",
    "replay_accounts_dask",
    "revenue_impact",
    "summaries_bag",
]


def _name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("name", value, "a non-empty account name", context="AccountTimeline")


def _until(value: object) -> pendulum.DateTime:
    return instant(value, field="until")


def _start(value: object) -> pendulum.DateTime | None:
    return None if value is None else instant(value, field="start")


@attrs.frozen(kw_only=True)
class AccountTimeline:
    """What is specific to one account: its resources, events and span.

    ``resources`` may hold an :class:`~together_billing.credits.Account` (credits on).
    The catalog and policies are not here: every account of a run shares them.
    """

    name: str = attrs.field(validator=_name)
    resources: tuple[Resource | Account, ...] = attrs.field(converter=tuple)
    events: tuple[Event, ...] = attrs.field(converter=tuple)
    until: pendulum.DateTime = attrs.field(converter=_until)
    start: pendulum.DateTime | None = attrs.field(default=None, converter=_start)


@attrs.frozen(kw_only=True)
class InvoiceRow:
    """One invoice line of one account, flat: a row for a table or a dataframe."""

    account: str
    period: str
    status: str
    resource: str
    category: str
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        data = attrs.asdict(self)
        for name in ("quantity", "rate", "amount"):
            data[name] = str(data[name])
        return data


@attrs.frozen(kw_only=True)
class AccountSummary:
    """What one account's replay billed, small enough to gather from many workers.

    ``balance`` is the credit balance at ``until`` (``None`` without an Account);
    ``exhausted_at`` the instant the credits first ran out (CR2), if they did.
    """

    name: str
    start: pendulum.DateTime
    until: pendulum.DateTime
    total: Money
    invoice_totals: tuple[tuple[str, str, Money], ...]
    rows: tuple[InvoiceRow, ...]
    balance: Decimal | None
    exhausted_at: pendulum.DateTime | None

    @property
    def runway(self) -> pendulum.Duration | None:
        """From the replay's start to the exhaustion, or ``None`` if the credits lasted."""
        return None if self.exhausted_at is None else self.exhausted_at - self.start

    @classmethod
    def of(cls, name: str, result: SimulationResult, *, start: pendulum.DateTime) -> AccountSummary:
        """The summary of a replay's result; ``start`` is where the replay began."""
        invoices = result.invoices
        rows = tuple(
            InvoiceRow(
                account=name,
                period=invoice.period.label,
                status=invoice.status.value,
                resource=line.resource,
                category=line.category.value,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                rate=line.rate,
                amount=line.amount,
            )
            for invoice in invoices
            for line in invoice.lines
        )
        exhausted = exhausted_at(result.log)
        return cls(
            name=name,
            start=start,
            until=result.state.at,
            total=result.total,
            invoice_totals=tuple(
                (invoice.period.label, invoice.status.value, invoice.total) for invoice in invoices
            ),
            rows=rows,
            balance=result.balance,
            exhausted_at=exhausted,
        )

    def to_dict(self) -> dict[str, Any]:
        runway = self.runway
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "until": self.until.isoformat(),
            "total": str(self.total.amount),
            "invoices": [
                {"period": period, "status": status, "total": str(total.amount)}
                for period, status, total in self.invoice_totals
            ],
            "balance": None if self.balance is None else str(self.balance),
            "exhausted_at": None if self.exhausted_at is None else self.exhausted_at.isoformat(),
            "runway_seconds": None if runway is None else str(exact_seconds(runway)),
        }


def replay_account(timeline: AccountTimeline, simulator: Simulator) -> AccountSummary:
    """Replay one account with ``simulator`` (its catalog and policies) and summarise it."""
    result = simulator.run(
        timeline.resources, timeline.events, until=timeline.until, start=timeline.start
    )
    if timeline.start is not None:
        start = timeline.start
    else:
        first = min((event.at for event in timeline.events), default=timeline.until)
        start = min(instant(first), timeline.until)
    return AccountSummary.of(timeline.name, result, start=start)


def _replay_all(
    items: Iterable[Any],
    shared: tuple[Catalog, Policies],
    build: Callable[[Any], AccountTimeline] | None,
) -> list[AccountSummary]:
    """Replay ``items`` (timelines, or what ``build`` makes them from) with shared prices."""
    simulator = Simulator(*shared)
    summaries = []
    for item in items:
        timeline = build(item) if build is not None else item
        if not isinstance(timeline, AccountTimeline):
            raise InvalidArgument(
                "accounts",
                type(timeline).__name__,
                "AccountTimeline values (or a build function that returns them)",
            )
        summaries.append(replay_account(timeline, simulator))
    return summaries


def _by_name(value: Iterable[AccountSummary]) -> tuple[AccountSummary, ...]:
    found = tuple(sorted(value, key=lambda summary: summary.name))
    for before, after in itertools.pairwise(found):
        if before.name == after.name:
            raise InvalidArgument("name", after.name, "a different name for each account")
    return found


@attrs.frozen
class Portfolio:
    """The summaries of many accounts, sorted by name, and their aggregates."""

    accounts: tuple[AccountSummary, ...] = attrs.field(converter=_by_name)

    def __len__(self) -> int:
        return len(self.accounts)

    @property
    def total(self) -> Money:
        """What every account was billed, in total."""
        return sum((summary.total for summary in self.accounts), Money.zero())

    @property
    def rows(self) -> tuple[InvoiceRow, ...]:
        """Every invoice line of every account, account by account."""
        return tuple(row for summary in self.accounts for row in summary.rows)

    def totals_by_period(self) -> dict[str, Money]:
        """Billed per period label (``2025-11``), over all accounts, oldest first."""
        found: dict[str, Money] = {}
        for summary in self.accounts:
            for period, _, total in summary.invoice_totals:
                found[period] = found.get(period, Money.zero()) + total
        return dict(sorted(found.items()))

    def totals_by_category(self) -> dict[str, Money]:
        """Billed per invoice category (``dedicated``, ``serverless``...), over all accounts."""
        found: dict[str, Decimal] = {}
        for row in self.rows:
            found[row.category] = found.get(row.category, Decimal(0)) + row.amount
        return {category: Money(amount) for category, amount in sorted(found.items())}

    def exhausted(self) -> tuple[AccountSummary, ...]:
        """The accounts whose credits ran out, soonest runway first (then by name)."""
        found = [s for s in self.accounts if s.exhausted_at is not None]
        return tuple(sorted(found, key=lambda s: (s.runway, s.name)))

    def summary(self, name: str) -> AccountSummary:
        """The summary of the account called ``name``."""
        for found in self.accounts:
            if found.name == name:
                return found
        raise InvalidArgument("name", name, f"one of the {len(self)} accounts' names")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: totals, and each account's summary."""
        return {
            "accounts": len(self),
            "total": str(self.total.amount),
            "by_period": {label: str(m.amount) for label, m in self.totals_by_period().items()},
            "summaries": [summary.to_dict() for summary in self.accounts],
        }


def replay_accounts(
    accounts: Iterable[Any],
    *,
    build: Callable[[Any], AccountTimeline] | None = None,
    catalog: Catalog | None = None,
    policies: Policies | None = None,
) -> Portfolio:
    """Replay every account here, one after the other, and gather the summaries.

    ``accounts`` are :class:`AccountTimeline` values, or anything ``build`` turns into
    one (a customer id, a file name...). ``catalog`` (default: the bundled one) and
    ``policies`` (default: ``Policies()``) apply to every account.
    """
    shared = (catalog if catalog is not None else default_catalog(), policies or Policies())
    return Portfolio(_replay_all(accounts, shared, build))


def _dask(needed_by: str) -> Any:
    try:
        return importlib.import_module("dask.bag")
    except ImportError:
        raise MissingDependency("dask", needed_by=needed_by, extra="dask") from None


def summaries_bag(
    accounts: Any,
    *,
    build: Callable[[Any], AccountTimeline] | None = None,
    catalog: Catalog | None = None,
    policies: Policies | None = None,
    partitions: int | None = None,
) -> Any:
    """A ``dask.bag.Bag`` of :class:`AccountSummary`, one per account, not yet computed.

    ``accounts`` is a ``dask.bag.Bag`` (for accounts generated or read on the workers)
    or a sequence, split into ``partitions`` (default: about 100 accounts each). The
    catalog and policies are one key of the graph, read by every partition. Use the bag
    to aggregate on the cluster (``.map(...).fold(...)``, ``.to_dataframe()``) when the
    summaries of every account would not fit in one process.
    """
    bag = _dask("together_billing.accounts.summaries_bag")
    delayed = importlib.import_module("dask").delayed
    if not isinstance(accounts, bag.Bag):
        items = list(accounts)
        count = partitions or max(1, min(len(items) // 100 + 1, 1_000))
        accounts = bag.from_sequence(items, npartitions=count)
    elif partitions is not None:
        accounts = accounts.repartition(npartitions=partitions)
    shared = delayed(
        (catalog if catalog is not None else default_catalog(), policies or Policies()),
        pure=True,
        traverse=False,
    )
    return accounts.map_partitions(_replay_all, shared, build)


def replay_accounts_dask(
    accounts: Any,
    *,
    build: Callable[[Any], AccountTimeline] | None = None,
    catalog: Catalog | None = None,
    policies: Policies | None = None,
    partitions: int | None = None,
    scheduler: Any = None,
) -> Portfolio:
    """:func:`replay_accounts` on Dask: the same :class:`Portfolio`, computed in parallel.

    ``scheduler`` is passed to ``dask.compute`` (``"processes"``, ``"threads"``,
    ``"synchronous"``, or a ``distributed.Client``); by default Dask uses the active
    ``distributed`` client if there is one, and otherwise local processes. See
    :func:`summaries_bag` for ``accounts`` and ``partitions``.
    """
    summaries = summaries_bag(
        accounts, build=build, catalog=catalog, policies=policies, partitions=partitions
    )
    dask = importlib.import_module("dask")
    if scheduler is None and _active_client() is None:
        scheduler = "processes"
    (found,) = dask.compute(summaries, scheduler=scheduler)
    return Portfolio(found)


def _active_client() -> Any:
    try:
        distributed = importlib.import_module("distributed")
    except ImportError:
        return None
    try:
        return distributed.get_client()
    except ValueError:  # no client
        return None


@attrs.frozen(kw_only=True)
class AccountsDelta:
    """One account's total before and after a change."""

    name: str
    before: Money
    after: Money

    @property
    def delta(self) -> Money:
        return self.after - self.before


@attrs.frozen(kw_only=True)
class RevenueImpact:
    """What a change (a new price, a new policy) does to what many accounts pay.

    ``accounts`` holds every account's totals, largest change first (then by name).
    """

    before: Money
    after: Money
    accounts: tuple[AccountsDelta, ...]

    @property
    def delta(self) -> Money:
        return self.after - self.before

    @property
    def relative(self) -> Decimal | None:
        """The change as a fraction of ``before`` (``None`` when nothing was billed)."""
        if self.before.amount == 0:
            return None
        return self.delta.amount / self.before.amount

    @property
    def changed(self) -> tuple[AccountsDelta, ...]:
        """The accounts whose total changed."""
        return tuple(account for account in self.accounts if account.delta.amount != 0)

    def text(self, *, top: int = 5) -> str:
        """A short report: the totals and the ``top`` largest changes."""
        relative = self.relative
        share = "" if relative is None else f" ({relative * 100:+.2f}%)"
        lines = [
            f"accounts: {len(self.accounts)}, changed: {len(self.changed)}",
            f"before: {self.before}",
            f"after:  {self.after}",
            f"change: {self.delta}{share}",
        ]
        lines.extend(f"  {a.name}: {a.before} -> {a.after}" for a in self.changed[:top])
        return "\n".join(lines)


def revenue_impact(before: Portfolio, after: Portfolio) -> RevenueImpact:
    """Compare two portfolios of the same accounts, account by account."""
    if [s.name for s in before.accounts] != [s.name for s in after.accounts]:
        missing = sorted({s.name for s in before.accounts} ^ {s.name for s in after.accounts})
        raise InvalidArgument(
            "after",
            f"<{len(after)} accounts>",
            f"the same accounts as before (differ: {missing[:5]})",
        )
    deltas = [
        AccountsDelta(name=old.name, before=old.total, after=new.total)
        for old, new in zip(before.accounts, after.accounts, strict=True)
    ]
    deltas.sort(key=lambda d: (-abs(d.delta.amount), d.name))
    return RevenueImpact(before=before.total, after=after.total, accounts=tuple(deltas))
