"""What-if forks, line-by-line comparisons, and break-even points.

:func:`fork` branches a scenario at an instant with changes (stop an endpoint,
scale it, move its traffic to serverless, replace a resource's definition, add or
drop events); :func:`compare` replays two scenarios and diffs their invoices line
by line, and their logs. A fork with no changes diffs to nothing.

The break-even helpers answer two standing questions from the price catalog:
the token volume at which a dedicated endpoint costs what serverless would
(:func:`dedicated_vs_serverless`), and the utilisation at which an Instant
Cluster reservation costs what on-demand would (:func:`reservation_vs_on_demand`).

>>> from together_billing import DedicatedEndpoint, Deploy
>>> from together_billing.scenario import Scenario
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> plan = Scenario(
...     resources=[endpoint],
...     events=[Deploy("2025-11-03T09:00:00Z", "ep")],
...     until="2025-11-04T09:00:00Z",
... )
>>> stopped = fork(plan, "2025-11-03T21:00:00Z", StopResource("ep"))
>>> diff = compare(plan, stopped)
>>> [(change.resource, str(change.delta)) for change in diff.changes]
[('ep', '-47.88')]
>>> compare(plan, fork(plan, "2025-11-03T21:00:00Z")).is_empty
True
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs
import pendulum

from together_billing._figures import plain, to_places
from together_billing._text import columns
from together_billing.catalog import Catalog, ClusterBilling, default_catalog
from together_billing.engine import SimulationResult
from together_billing.errors import InvalidArgument
from together_billing.invoice import InvoiceLine, exhausted_at
from together_billing.money import EXACT_CONTEXT, Money, to_decimal
from together_billing.resources import (
    DedicatedEndpoint,
    FineTunedHosting,
    Resource,
    ServerlessUsage,
)
from together_billing.scenario import Scenario
from together_billing.time import from_micros, instant, to_micros
from together_billing.timeline import (
    Delete,
    Event,
    Grant,
    PriceChange,
    Purchase,
    Requests,
    ScaleReplicas,
    Stop,
    TokenUsageBatch,
)

__all__ = [
    "AddEvents",
    "Change",
    "Comparison",
    "DedicatedVsServerless",
    "DropEvents",
    "LineChange",
    "MoveToServerless",
    "ReplaceResource",
    "ReservationVsOnDemand",
    "ScaleTo",
    "StopResource",
    "compare",
    "dedicated_vs_serverless",
    "fork",
    "reservation_vs_on_demand",
]

#: Decimal places of the ratios in the JSON output (rates per million tokens, utilisation).
_PLACES: Final = 6

_MILLION: Final = Decimal(1_000_000)


class Change(Protocol):
    """A change a fork applies at its instant: returns the changed scenario."""

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario: ...


class _Status(Protocol):
    def __call__(self, resource: str) -> str: ...


def _later_of(resource: str, at: int, kinds: tuple[type, ...] | None = None) -> Any:
    """A predicate: events of ``resource`` at or after ``at`` (of ``kinds``, if given)."""

    def drop(event: Event) -> bool:
        if isinstance(event, (PriceChange, Purchase, Grant)) or event.resource != resource:
            return False
        if kinds is not None and not isinstance(event, kinds):
            return False
        return to_micros(event.at) >= at

    return drop


def _deployment(scenario: Scenario, resource_id: str) -> DedicatedEndpoint | FineTunedHosting:
    resource = scenario.resource(resource_id)
    if not isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
        raise InvalidArgument(
            "resource",
            resource_id,
            f"a DedicatedEndpoint or FineTunedHosting; {resource_id!r} is a "
            f"{type(resource).__name__}",
        )
    return resource


@attrs.frozen
class StopResource:
    """Stop a deployment at the fork's instant; its later events are dropped.

    A later ``Delete`` is kept (deleting a stopped deployment is allowed).
    Requests after the stop are dropped too: a stopped deployment serves none.
    """

    resource: str

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        _deployment(scenario, self.resource)
        cut = to_micros(at)
        keep_deletes = _later_of(self.resource, cut)
        changed = scenario.without_events(
            lambda event: keep_deletes(event) and not isinstance(event, Delete)
        )
        if status(self.resource) in ("running", "provisioning"):
            changed = changed.with_events(Stop(at, self.resource))
        return changed


@attrs.frozen
class ScaleTo:
    """Set a deployment's ready replicas at the fork's instant (0: scale to zero).

    Its later replica changes are dropped, so the count holds until it stops.
    """

    resource: str
    replicas: int

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        _deployment(scenario, self.resource)
        if status(self.resource) != "running":
            raise InvalidArgument(
                "resource",
                self.resource,
                f"a deployment running at {at.isoformat()} (it is {status(self.resource)})",
                context="ScaleTo",
            )
        changed = scenario.without_events(_later_of(self.resource, to_micros(at), (ScaleReplicas,)))
        return changed.with_events(ScaleReplicas(at, self.resource, self.replicas))


@attrs.frozen
class MoveToServerless:
    """Stop a deployment at the fork's instant and send its later requests to serverless.

    Each later request becomes ``input_tokens`` + ``output_tokens`` of use of
    ``model`` on a new :class:`ServerlessUsage` resource (id ``serverless_id``,
    default ``"<resource>-serverless"``). The request counts come from the
    scenario's ``Requests`` events.
    """

    resource: str
    model: str
    input_tokens: int
    output_tokens: int
    serverless_id: str | None = None

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        for name in ("input_tokens", "output_tokens"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InvalidArgument(
                    name, value, "an integer >= 0 (tokens per request)", context="MoveToServerless"
                )
        # An unknown model is an error now, not at the first request moved (if any).
        scenario.catalog.serverless(self.model, at)
        cut = to_micros(at)
        moved = [
            event
            for event in scenario.events
            if isinstance(event, Requests)
            and event.resource == self.resource
            and to_micros(event.at) >= cut
        ]
        target = self.serverless_id or f"{self.resource}-serverless"
        changed = StopResource(self.resource).apply(scenario, at, status)
        changed = changed.with_resources(ServerlessUsage(target, model=self.model))
        if moved:
            changed = changed.with_events(
                TokenUsageBatch(
                    target,
                    [to_micros(event.at) for event in moved],
                    [event.count * self.input_tokens for event in moved],
                    [event.count * self.output_tokens for event in moved],
                )
            )
        return changed


@attrs.frozen
class ReplaceResource:
    """Replace a resource's definition (same id) for the whole scenario.

    For what-ifs that change how a resource bills from its start, such as a
    reserved versus an on-demand cluster: the fork's instant does not limit it.
    """

    resource: Resource

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        scenario.resource(self.resource.id)
        return scenario.with_resources(self.resource)


@attrs.frozen
class AddEvents:
    """Add events (each at or after the fork's instant)."""

    events: tuple[Event, ...] = attrs.field(converter=tuple)

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        for event in self.events:
            if event.at < at:
                raise InvalidArgument(
                    "events",
                    repr(event),
                    f"events at or after the fork's instant {at.isoformat()}",
                    context="AddEvents",
                )
        return scenario.with_events(*self.events)


@attrs.frozen
class DropEvents:
    """Drop a resource's events at or after the fork's instant (of ``kinds``, if given)."""

    resource: str
    kinds: tuple[type, ...] | None = None

    def apply(self, scenario: Scenario, at: pendulum.DateTime, status: _Status) -> Scenario:
        scenario.resource(self.resource)  # an unknown id raises, naming the known ones
        cut = to_micros(at)
        changed = scenario.without_events(_later_of(self.resource, cut, self.kinds))
        # A batch that began before the instant keeps only its records before it.
        spanning = [
            event
            for event in changed.events
            if isinstance(event, TokenUsageBatch)
            and event.resource == self.resource
            and (self.kinds is None or isinstance(event, self.kinds))
            and event.at_micros[-1] >= cut
        ]
        if not spanning:
            return changed
        kept = attrs.evolve(changed, events=spanning).split(from_micros(cut - 1))[0]
        return changed.without_events(lambda event: event in spanning).with_events(*kept)


def fork(scenario: Scenario, at: object, *changes: Change) -> Scenario:
    """Branch ``scenario`` at ``at`` with ``changes``, applied in the order given.

    What happened before ``at`` is kept; each change decides what happens from
    ``at`` on. The statuses the changes see are those just before ``at``.
    """
    when = instant(at, field="at")
    if (scenario.start is not None and when < scenario.start) or when > scenario.until:
        raise InvalidArgument(
            "at", when.isoformat(), f"an instant within the scenario (until {scenario.until})"
        )
    cut = to_micros(when)
    history: SimulationResult | None = None

    def status(resource: str) -> str:
        nonlocal history
        if history is None:
            before = [event for event in scenario.split(when)[0] if to_micros(event.at) < cut]
            history = scenario.simulator.run(
                scenario.resources, before, until=when, start=scenario.start
            )
        return history.state.status(resource)

    changed = scenario
    for change in changes:
        changed = change.apply(changed, when, status)
    return changed


# -- comparisons ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LineChange:
    """A line that differs between two replays (``None`` where one has no such line)."""

    period: str
    resource: str
    before: InvoiceLine | None
    after: InvoiceLine | None

    @property
    def delta(self) -> Decimal:
        """``after.amount - before.amount`` (a missing line counts as 0)."""
        old = self.before.amount if self.before is not None else Decimal(0)
        new = self.after.amount if self.after is not None else Decimal(0)
        return new - old

    @property
    def description(self) -> str:
        line = self.after if self.after is not None else self.before
        assert line is not None
        return line.description

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "resource": self.resource,
            "description": self.description,
            "before": None if self.before is None else self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
            "delta": str(self.delta),
        }


def _line_key(period: str, line: InvoiceLine) -> tuple[str, ...]:
    return (
        period,
        line.resource,
        line.category.value,
        line.rule,
        line.description,
        line.unit,
        str(line.rate),
        line.price_effective_from.isoformat(),
    )


@attrs.frozen(kw_only=True)
class Comparison:
    """Two replays side by side: changed lines, totals per period, and log differences."""

    before: SimulationResult
    after: SimulationResult
    changes: tuple[LineChange, ...]
    log_removed: tuple[Any, ...]
    log_added: tuple[Any, ...]

    @property
    def totals(self) -> dict[str, tuple[Money, Money]]:
        """Per period label: (total before, total after)."""
        out: dict[str, tuple[Money, Money]] = {}
        for invoice in self.before.invoices:
            out[invoice.period.label] = (invoice.total, Money.zero())
        for invoice in self.after.invoices:
            old = out.get(invoice.period.label, (Money.zero(), Money.zero()))[0]
            out[invoice.period.label] = (old, invoice.total)
        return dict(sorted(out.items()))

    @property
    def delta(self) -> Money:
        """The change of the total over every period."""
        return self.after.total - self.before.total

    @property
    def is_empty(self) -> bool:
        """True when no line, total or log entry differs."""
        return not (self.changes or self.log_removed or self.log_added) and all(
            old == new for old, new in self.totals.values()
        )

    @property
    def amounts_due(self) -> tuple[Money, Money] | None:
        """With credits: what is left to pay over every period (before, after), else ``None``."""
        if self.before.credits is None and self.after.credits is None:
            return None
        before = sum((i.amount_due for i in self.before.invoices), Money.zero())
        after = sum((i.amount_due for i in self.after.invoices), Money.zero())
        return before, after

    @property
    def run_outs(self) -> tuple[pendulum.DateTime | None, pendulum.DateTime | None] | None:
        """With credits: when they run out (reach the floor) before and after, else ``None``."""
        if self.amounts_due is None:
            return None
        return exhausted_at(self.before.log), exhausted_at(self.after.log)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (``schema_version`` 1; see docs/compare.md)."""
        data = self._to_dict()
        due, run_outs = self.amounts_due, self.run_outs
        if due is not None and run_outs is not None:
            data["credits"] = {
                "amount_due": {
                    "before": str(due[0].amount),
                    "after": str(due[1].amount),
                    "delta": str((due[1] - due[0]).amount),
                },
                "run_out": {
                    "before": None if run_outs[0] is None else run_outs[0].isoformat(),
                    "after": None if run_outs[1] is None else run_outs[1].isoformat(),
                },
            }
        return data

    def _to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "totals": {
                label: {
                    "before": str(old.amount),
                    "after": str(new.amount),
                    "delta": str((new - old).amount),
                }
                for label, (old, new) in self.totals.items()
            },
            "delta": str(self.delta.amount),
            "changes": [change.to_dict() for change in self.changes],
            "log_removed": [entry.to_dict() for entry in self.log_removed],
            "log_added": [entry.to_dict() for entry in self.log_added],
        }

    def text(self) -> str:
        """The changed lines and the totals, as a table."""
        rows = [["period", "resource", "description", "before", "after", "delta"]]
        rows.extend(
            [
                change.period,
                change.resource,
                change.description,
                "-" if change.before is None else f"${change.before.amount}",
                "-" if change.after is None else f"${change.after.amount}",
                _signed(change.delta),
            ]
            for change in self.changes
        )
        out = ["Changed lines"]
        if len(rows) == 1:
            out.append("  none")
        else:
            out.extend(columns(rows, right={3, 4, 5}))
        out.append("")
        out.append("Totals")
        totals = [["period", "before", "after", "delta"]]
        totals.extend(
            [label, f"${old.amount}", f"${new.amount}", _signed((new - old).amount)]
            for label, (old, new) in self.totals.items()
        )
        totals.append(
            [
                "all",
                f"${self.before.total.amount}",
                f"${self.after.total.amount}",
                _signed(self.delta.amount),
            ]
        )
        out.extend(columns(totals, right={1, 2, 3}))
        due, run_outs = self.amounts_due, self.run_outs
        if due is not None and run_outs is not None:
            out.append("")
            out.append("Credits")
            rows = [["", "before", "after", "change"]]
            change = _signed((due[1] - due[0]).amount)
            rows.append(["amount due", f"${due[0].amount}", f"${due[1].amount}", change])
            rows.append(["run out at", *(_instant(at) for at in run_outs), _shift(*run_outs)])
            out.extend(columns(rows, right={1, 2, 3}))
        if self.log_removed or self.log_added:
            out.append("")
            out.append("Log differences")
            out.extend(
                f"  - {e.at.isoformat()} {e.resource} {e.action} ({e.rule})"
                for e in self.log_removed
            )
            out.extend(
                f"  + {e.at.isoformat()} {e.resource} {e.action} ({e.rule})" for e in self.log_added
            )
        return "\n".join(out) + "\n"


def _instant(at: pendulum.DateTime | None) -> str:
    return "never" if at is None else at.isoformat()


def _shift(before: pendulum.DateTime | None, after: pendulum.DateTime | None) -> str:
    """How the run-out instant moved, in words a person reads."""
    if before == after:
        return "unchanged"
    if before is None:
        return "now runs out"
    if after is None:
        return "no longer runs out"
    seconds = int(abs((after - before).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    way = "later" if after > before else "earlier"
    return f"{days} d {rest // 3600} h {rest % 3600 // 60} min {way}"


def _signed(value: Decimal) -> str:
    return f"-${-value}" if value < 0 else f"+${value}"


def _result(value: Scenario | SimulationResult) -> SimulationResult:
    return value.run() if isinstance(value, Scenario) else value


def compare(before: Scenario | SimulationResult, after: Scenario | SimulationResult) -> Comparison:
    """Replay both (scenarios are replayed; results are used as they are) and diff them.

    Lines are matched by period, resource, category, rule, description, unit,
    rate and the rate's effective date; a line is a change when its quantity,
    interval or amount differs, or it exists on one side only.
    """
    old, new = _result(before), _result(after)
    old_lines = _lines(old)
    new_lines = _lines(new)
    changes = []
    for key in sorted(old_lines.keys() | new_lines.keys()):
        a, b = old_lines.get(key), new_lines.get(key)
        if a is not None and b is not None and a.to_dict() == b.to_dict():
            continue
        changes.append(LineChange(period=key[0], resource=key[1], before=a, after=b))
    old_log = Counter(_log_key(entry) for entry in old.log)
    new_log = Counter(_log_key(entry) for entry in new.log)
    removed = old_log - new_log
    added = new_log - old_log
    return Comparison(
        before=old,
        after=new,
        changes=tuple(changes),
        log_removed=tuple(e for e in old.log if _take(removed, _log_key(e))),
        log_added=tuple(e for e in new.log if _take(added, _log_key(e))),
    )


def _lines(result: SimulationResult) -> dict[tuple[str, ...], InvoiceLine]:
    out: dict[tuple[str, ...], InvoiceLine] = {}
    for invoice in result.invoices:
        for line in invoice.lines:
            key = _line_key(invoice.period.label, line)
            index = 0
            while (*key, str(index)) in out:
                index += 1
            out[(*key, str(index))] = line
    return out


def _log_key(entry: Any) -> tuple[str, ...]:
    return (entry.at.isoformat(), entry.resource, entry.action, entry.rule, entry.detail)


def _take(counter: Counter[tuple[str, ...]], key: tuple[str, ...]) -> bool:
    if counter[key] > 0:
        counter[key] -= 1
        return True
    return False


# -- break-even points -----------------------------------------------------------------------


def _fraction(value: object, field: str) -> Decimal:
    result = to_decimal(value, field=field)
    if not 0 <= result <= 1:
        raise InvalidArgument(field, value, "a fraction between 0 and 1")
    return result


@attrs.frozen(kw_only=True)
class DedicatedVsServerless:
    """Where a dedicated endpoint and serverless cost the same for a model.

    ``tokens_per_hour`` is the break-even volume: above it the endpoint (billed
    per hour whatever the volume, DE1) is cheaper, below it serverless (billed
    per token, SL1) is. It assumes the endpoint can serve that volume: check its
    throughput separately.
    """

    model: str
    hardware: str
    replicas: int
    input_fraction: Decimal
    dedicated_per_hour: Decimal
    serverless_per_million: Decimal
    tokens_per_hour: Decimal

    @property
    def tokens_per_month(self) -> Decimal:
        """The break-even volume over a 30-day month."""
        return self.tokens_per_hour * 720

    def cheaper(self, tokens_per_hour: object) -> str:
        """``"dedicated"``, ``"serverless"`` or ``"equal"`` at this hourly volume."""
        volume = to_decimal(tokens_per_hour, field="tokens_per_hour")
        if volume > self.tokens_per_hour:
            return "dedicated"
        if volume < self.tokens_per_hour:
            return "serverless"
        return "equal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "replicas": self.replicas,
            "input_fraction": str(self.input_fraction),
            "dedicated_per_hour": str(self.dedicated_per_hour),
            "serverless_per_million": plain(to_places(self.serverless_per_million, _PLACES)),
            "tokens_per_hour": plain(to_places(self.tokens_per_hour, _PLACES)),
            "tokens_per_month": plain(to_places(self.tokens_per_month, _PLACES)),
        }


def dedicated_vs_serverless(
    *,
    model: str,
    hardware: str,
    replicas: int = 1,
    input_fraction: object = Decimal("0.75"),
    at: object = None,
    catalog: Catalog | None = None,
) -> DedicatedVsServerless:
    """The hourly token volume at which ``replicas`` of ``hardware`` cost what serverless would.

    ``input_fraction`` is the share of input tokens in the volume (the rest is
    output); rates are the catalog's at ``at`` (default: now).
    """
    if type(replicas) is not int or replicas < 1:
        raise InvalidArgument("replicas", replicas, "an integer >= 1")
    fraction = _fraction(input_fraction, "input_fraction")
    when = pendulum.now("UTC") if at is None else instant(at, field="at")
    prices = catalog if catalog is not None else default_catalog()
    hourly = prices.hardware(hardware, when).per_hour * replicas
    serverless = prices.serverless(model, when)
    blended = fraction * serverless.input + (1 - fraction) * serverless.output
    if blended <= 0:
        raise InvalidArgument("model", model, "a model with a non-zero serverless price")
    return DedicatedVsServerless(
        model=model,
        hardware=hardware,
        replicas=replicas,
        input_fraction=fraction,
        dedicated_per_hour=hourly,
        serverless_per_million=blended,
        tokens_per_hour=EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(hourly, _MILLION), blended),
    )


@attrs.frozen(kw_only=True)
class ReservationVsOnDemand:
    """The utilisation at which an Instant Cluster reservation pays off.

    A reservation is charged for every hour of its term at the reserved rate
    (CL2); on-demand bills only the hours the cluster runs (CL4). At a
    utilisation (share of the term the cluster runs) above ``utilisation``, the
    reservation is cheaper.
    """

    gpu_type: str
    reserved_per_gpu_hour: Decimal
    on_demand_per_gpu_hour: Decimal
    utilisation: Decimal

    def cheaper(self, utilisation: object) -> str:
        """``"reserved"``, ``"on-demand"`` or ``"equal"`` at this utilisation."""
        share = _fraction(utilisation, "utilisation")
        if share > self.utilisation:
            return "reserved"
        if share < self.utilisation:
            return "on-demand"
        return "equal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gpu_type": self.gpu_type,
            "reserved_per_gpu_hour": str(self.reserved_per_gpu_hour),
            "on_demand_per_gpu_hour": str(self.on_demand_per_gpu_hour),
            "utilisation": plain(to_places(self.utilisation, _PLACES)),
        }


def reservation_vs_on_demand(
    *, gpu_type: str, at: object = None, catalog: Catalog | None = None
) -> ReservationVsOnDemand:
    """The break-even utilisation of a reservation of ``gpu_type`` GPUs."""
    when = pendulum.now("UTC") if at is None else instant(at, field="at")
    prices = catalog if catalog is not None else default_catalog()
    reserved = prices.cluster(gpu_type, ClusterBilling.RESERVED, when).per_gpu_hour
    on_demand = prices.cluster(gpu_type, ClusterBilling.ON_DEMAND, when).per_gpu_hour
    if on_demand <= 0:
        raise InvalidArgument("gpu_type", gpu_type, "a GPU type with a non-zero on-demand rate")
    return ReservationVsOnDemand(
        gpu_type=gpu_type,
        reserved_per_gpu_hour=reserved,
        on_demand_per_gpu_hour=on_demand,
        utilisation=EXACT_CONTEXT.divide(reserved, on_demand),
    )
