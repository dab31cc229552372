"""Why each cent was charged: line explanations and the idle-charge report.

:func:`explain` gives an invoice line's derivation as data and as text: the rule
and its source, the rate and the catalog entry it comes from, the quantity and
interval, the events behind the line, the credits that paid it, and what rounding
moved. :func:`idle_report` answers the question the seed article is about ("why
am I charged when I make no API calls?"): every charge a hosted model or a
dedicated endpoint accrued while it received no requests, per resource, with what
stopping it after a given idle time would have saved.

>>> from together_billing import DedicatedEndpoint, Deploy, Requests, Stop
>>> from together_billing.scenario import Scenario
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> plan = Scenario(
...     resources=[endpoint],
...     events=[
...         Deploy("2025-11-03T09:00:00Z", "ep"),
...         Requests("2025-11-03T09:10:00Z", "ep"),
...         Stop("2025-11-03T13:00:00Z", "ep"),
...     ],
...     until="2025-11-04T00:00:00Z",
... )
>>> result = plan.run()
>>> print(explain(result.lines[0], scenario=plan, result=result).text())
ep, 2025-11: 15.96 USD
  rule DE1: billed per minute by hardware allocation while active, even with no requests
  quantity: 240 replica-minute, 2025-11-03T09:00:00+00:00 to 2025-11-03T13:00:00+00:00
  rate: 3.99 USD per replica-hour (hardware 1x_nvidia_h100_80gb_sxm, effective 2025-11-01)
  source: https://docs.together.ai/docs/dedicated-endpoints/pricing (together)
  amount: 240 x 3.99 / 60 = 15.96 exactly, rounded half-up to 15.96 (moved 0)
  events: 2025-11-03T09:00:00+00:00 Deploy; 2025-11-03T13:00:00+00:00 Stop
  credits: none (no account)
>>> report = idle_report(plan, result, stop_after_minutes=15)
>>> print(report.resources[0].idle, report.resources[0].saving)
15.8935 14.2975
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum

from together_billing._figures import cents, plain
from together_billing._text import columns
from together_billing.catalog import PriceEntry, Source
from together_billing.credits import LedgerKind
from together_billing.engine import SimulationResult
from together_billing.errors import InvalidArgument
from together_billing.invoice import Action, InvoiceLine, LogEntry, MeteredSpan
from together_billing.money import EXACT_CONTEXT, RoundingMode, exact_sum, round_to_cents
from together_billing.policies import Policies, ReservationPayment
from together_billing.resources import Category, DedicatedEndpoint, FineTunedHosting
from together_billing.scenario import Scenario
from together_billing.time import MICROS_PER_MINUTE, BillingPeriod, Interval, from_micros, to_micros
from together_billing.timeline import (
    Event,
    JobCancelled,
    JobCompleted,
    PriceChange,
    Requests,
    TokenUsage,
    TokenUsageBatch,
)

__all__ = [
    "RULES",
    "Explanation",
    "IdleReport",
    "IdleStretch",
    "ResourceIdle",
    "explain",
    "explain_all",
    "idle_report",
]

#: Every rule of the rule book, by id, in one line (see docs/rules.md for sources).
RULES: Final[dict[str, str]] = {
    "G1": "money is exact until a line is produced; each line is rounded to cents once",
    "G2": "instants are timezone-aware, intervals half-open, periods calendar months in UTC",
    "G3": "time-based charges are rate x billable duration, per started grain unit",
    "G4": "rates come from a dated, sourced price catalog; a change applies from its instant",
    "G5": "deployment charges, usage charges and credit purchases are kept apart",
    "SL1": "serverless bills only actual use: tokens x the model's rate per 1M tokens",
    "SL2": "the rate depends on the model, or its size tier when the catalog lacks it",
    "SL3": "cached input at the cached rate; batch requests at the batch discount",
    "FT1": "a fine-tuning job costs its processed tokens x the rate of its size and method",
    "FT2": "a deployed fine-tuned model bills per minute while deployed, with or without requests",
    "FT3": "hosting fees are separate from the job's cost",
    "DE1": "billed per minute by hardware allocation while active, even with no requests",
    "DE2": "charges continue while the endpoint is active; stopping it ends them",
    "DE3": "every ready replica bills; min replicas always run",
    "DE4": "auto-stop after an inactivity timeout (P-IDLE)",
    "CL1": "clusters bill as reserved or on-demand capacity",
    "CL2": "a reservation is charged for its full duration once provisioned, non-refundable",
    "CL3": "usage beyond the reserved capacity (burst) bills at on-demand rates",
    "CL4": "on-demand clusters bill only for the time they run",
    "CL5": "a reserved cluster is decommissioned when its reservation ends; extensions bill",
    "CL6": "GPU counts are multiples of 8 (P-GPU-STEP)",
    "ST1": "storage is pay-as-you-go: size x time x rate",
    "ST2": "volumes grow freely; shrinking follows P-SHRINK",
    "ST3": "volumes persist and continue at on-demand storage rates after a reservation",
    "IN1": "one invoice per period, every line attributable",
    "IN2": "reservation, burst, on-demand compute and storage are separate categories",
    "IN3": "usage covered by credits still appears on the invoice",
    "IN4": "the open period has a draft invoice at any instant",
    "CR1": "charges draw the credit balance down as they accrue",
    "CR2": "exhaustion is the exact instant the balance reaches the floor (P-FLOOR)",
    "CR3": "at exhaustion, burst capacity is decommissioned; reservations run to their end",
    "CR4": "on-demand compute is paused, then decommissioned after P-GRACE-COMPUTE",
    "CR5": "storage access is revoked, then data deleted after P-GRACE-STORAGE",
    "CR6": "alerts come before each action (P-ALERT)",
    "CR7": "restoring credits during a grace period resumes what was paused",
    "CR8": "at exhaustion API access is suspended; endpoints and hosting stop (P-EXHAUST)",
}

_BEGINNINGS: Final = ("Deploy", "Start", "Ready")


@attrs.frozen(kw_only=True)
class Explanation:
    """The derivation of one invoice line.

    ``amount_exact`` is ``quantity x rate / rate_per`` computed again, exactly;
    ``amount`` is it rounded by the scenario's rounding policy (P-ROUND). Both
    equal the line's own figures (a check the tests make for every line).
    """

    line: InvoiceLine
    period: BillingPeriod
    rule_text: str
    price: PriceEntry | None
    events: tuple[Event, ...]
    actions: tuple[LogEntry, ...]
    credits: Decimal | None
    rounding: RoundingMode

    @property
    def rule(self) -> str:
        return self.line.rule

    @property
    def source(self) -> Source:
        return self.line.source

    @property
    def amount_exact(self) -> Decimal:
        line = self.line
        return EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(line.quantity, line.rate), line.rate_per)

    @property
    def amount(self) -> Decimal:
        return round_to_cents(self.amount_exact, self.rounding)

    @property
    def rounding_adjustment(self) -> Decimal:
        """What rounding moved: ``amount - amount_exact``."""
        return self.amount - self.amount_exact

    @property
    def price_key(self) -> tuple[str, ...] | None:
        return None if self.price is None else self.price.key

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (decimal strings); see docs/explain.md for the schema."""
        line = self.line
        return {
            "period": self.period.label,
            "line": line.to_dict(),
            "rule": {"id": line.rule, "text": self.rule_text},
            "price": {
                "key": None if self.price_key is None else list(self.price_key),
                "effective_from": line.price_effective_from.isoformat(),
                "source": line.source.url,
                "source_date": line.source.date,
                "source_kind": line.source.kind.value,
                "estimated": line.estimated,
            },
            "arithmetic": {
                "quantity": str(line.quantity),
                "rate": str(line.rate),
                "rate_per": str(line.rate_per),
                "exact": plain(self.amount_exact),
                "rounding": self.rounding.value,
                "amount": str(self.amount),
                "rounding_adjustment": plain(self.rounding_adjustment),
            },
            "events": [_event_dict(event) for event in self.events],
            "actions": [entry.to_dict() for entry in self.actions],
            "credits": None if self.credits is None else plain(self.credits),
        }

    def text(self) -> str:
        """The derivation for people, one fact per line."""
        line = self.line
        interval = f"{line.interval.start.isoformat()} to {line.interval.end.isoformat()}"
        key = " ".join(self.price_key) if self.price_key else "unknown entry"
        effective = line.price_effective_from.to_date_string()
        source = line.source
        date = f"{source.date}, " if source.date else ""
        out = [
            f"{line.resource}, {self.period.label}: {line.amount} USD",
            f"  rule {line.rule}: {self.rule_text}",
            f"  quantity: {line.quantity} {line.unit}, {interval}",
            f"  rate: {line.rate} {line.rate_unit} ({key}, effective {effective})",
            f"  source: {source.url} ({date}{source.kind.value})",
            (
                f"  amount: {line.quantity} x {line.rate} / {line.rate_per} = "
                f"{plain(self.amount_exact)} exactly, rounded {self.rounding.value} to "
                f"{self.amount} (moved {plain(self.rounding_adjustment)})"
            ),
        ]
        if self.events:
            shown = "; ".join(f"{_at(e).isoformat()} {type(e).__name__}" for e in self.events[:5])
            more = f"; and {len(self.events) - 5} more" if len(self.events) > 5 else ""
            out.append(f"  events: {shown}{more}")
        out.extend(
            f"  action: {entry.at.isoformat()} {entry.action} ({entry.rule})"
            for entry in self.actions
        )
        if self.credits is None:
            out.append("  credits: none (no account)")
        else:
            paid = round_to_cents(self.credits, self.rounding)
            out.append(f"  credits: {paid} USD of it paid from credits (to the cent)")
        return "\n".join(out)


def _at(event: Event) -> pendulum.DateTime:
    return event.at


def _event_dict(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(event).__name__, "at": _at(event).isoformat()}
    if isinstance(event, PriceChange):
        data["price"] = list(event.price.key)
        return data
    data["resource"] = event.resource
    if isinstance(event, TokenUsageBatch):
        data["records"] = len(event)
        data["last_at"] = from_micros(event.at_micros[-1]).isoformat()
    return data


def explain(
    line: InvoiceLine, *, scenario: Scenario, result: SimulationResult | None = None
) -> Explanation:
    """Explain ``line``, a line of ``result`` (the replay of ``scenario``; replayed if omitted)."""
    replay = result if result is not None else scenario.run()
    for invoice in replay.invoices:
        if any(candidate is line or candidate == line for candidate in invoice.lines):
            return _explain(line, invoice.period, scenario, replay, _Context(scenario, replay))
    raise InvalidArgument("line", line.description, "a line of the result's invoices")


def explain_all(
    scenario: Scenario, result: SimulationResult | None = None
) -> tuple[Explanation, ...]:
    """Explain every line of every invoice, in invoice order."""
    replay = result if result is not None else scenario.run()
    context = _Context(scenario, replay)
    return tuple(
        _explain(line, invoice.period, scenario, replay, context)
        for invoice in replay.invoices
        for line in invoice.lines
    )


class _Context:
    """What explaining many lines of one replay shares: prices, credits, events by resource."""

    def __init__(self, scenario: Scenario, result: SimulationResult) -> None:
        self.events: dict[str, list[Event]] = {}
        self.price_changes: list[PriceChange] = []
        for event in scenario.events:
            if isinstance(event, PriceChange):
                self.price_changes.append(event)
            else:
                self.events.setdefault(event.resource, []).append(event)
        self.credits: dict[tuple[BillingPeriod, str], Decimal] | None = None
        if result.balance is not None:
            self.credits = {}
            for entry in result.ledger:
                if entry.kind is not LedgerKind.CONSUMPTION:
                    continue
                bucket = (entry.period, entry.resource)
                self.credits[bucket] = EXACT_CONTEXT.add(
                    self.credits.get(bucket, Decimal(0)), entry.from_credits
                )
        self.log: dict[str, list[LogEntry]] = {}
        for log_entry in result.log:
            self.log.setdefault(log_entry.resource, []).append(log_entry)


def _explain(
    line: InvoiceLine,
    period: BillingPeriod,
    scenario: Scenario,
    result: SimulationResult,
    context: _Context,
) -> Explanation:
    price = result.price_of(line)
    lo, hi = line.interval.start, line.interval.end
    events: list[Event] = []
    begun: Event | None = None
    for event in context.events.get(line.resource, ()):
        at = _at(event)
        if isinstance(event, TokenUsageBatch):
            last = from_micros(event.at_micros[-1])
            if at <= hi and last >= lo:
                events.append(event)
        elif isinstance(event, (TokenUsage, JobCompleted, JobCancelled, Requests)):
            if lo <= at <= hi and not isinstance(event, Requests):
                events.append(event)
        elif at < lo:
            if type(event).__name__ in _BEGINNINGS:
                begun = event
        elif at <= hi:
            events.append(event)
    if begun is not None:
        events.insert(0, begun)
    if price is not None:
        events.extend(
            change
            for change in context.price_changes
            if change.price == price and _at(change) <= hi
        )
    actions = tuple(
        entry
        for entry in context.log.get(line.resource, ())
        if lo <= entry.at <= hi and entry.rule.startswith(("CR", "DE4", "CL5"))
    )
    return Explanation(
        line=line,
        period=period,
        rule_text=RULES.get(line.rule, "not in the rule book"),
        price=price,
        events=tuple(sorted(events)),
        actions=actions,
        credits=_line_credits(line, period, result, context),
        rounding=scenario.policies.rounding,
    )


def _line_credits(
    line: InvoiceLine, period: BillingPeriod, result: SimulationResult, context: _Context
) -> Decimal | None:
    """This line's share of what its resource drew from credits in the period.

    Credits are drawn per resource (continuously while it runs, at once for usage),
    so a resource's draw in a period is shared among its lines that draw credits, in
    proportion to their exact amounts. A reservation paid up front
    (``reservation_payment: upfront``, CL2) draws none, so it gets no share.
    """
    if context.credits is None:
        return None
    if not _draws_credits(line, result.policies):
        return Decimal(0)
    drawn = context.credits.get((period, line.resource), Decimal(0))
    lines = result.invoice(period).lines_for(line.resource)
    whole = exact_sum(
        other.amount_exact for other in lines if _draws_credits(other, result.policies)
    )
    if not whole or not drawn:
        return Decimal(0)
    return EXACT_CONTEXT.divide(EXACT_CONTEXT.multiply(drawn, line.amount_exact), whole)


def _draws_credits(line: InvoiceLine, policies: Policies) -> bool:
    """Whether the charges of ``line`` are drawn from credits (all but an upfront reservation)."""
    return not (
        line.category is Category.RESERVED_COMPUTE
        and policies.reservation_payment is ReservationPayment.UPFRONT
    )


# -- the idle-charge report ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class IdleStretch:
    """Running time of one deployment with no request inside it.

    It starts when the deployment started running or at a request, and ends at the
    next request or when it stopped running. ``idle`` is what it accrued: the
    charge of every billed grain unit starting in it that no request fell in.
    ``saving`` is the part of it billed after the report's idle time.
    """

    resource: str
    interval: Interval
    after_request: bool
    until_request: bool
    idle: Decimal
    saving: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.interval.start.isoformat(),
            "end": self.interval.end.isoformat(),
            "after_request": self.after_request,
            "until_request": self.until_request,
            "idle": plain(self.idle),
            "saving": plain(self.saving),
        }


@attrs.frozen(kw_only=True)
class ResourceIdle:
    """One deployment's charges, split into idle and active (exact amounts)."""

    resource: str
    kind: str
    billed: Decimal
    idle: Decimal
    saving: Decimal
    requests: int
    stretches: tuple[IdleStretch, ...]

    @property
    def active(self) -> Decimal:
        return EXACT_CONTEXT.subtract(self.billed, self.idle)

    @property
    def idle_share(self) -> Decimal:
        """``idle / billed`` (0 when nothing was billed)."""
        return EXACT_CONTEXT.divide(self.idle, self.billed) if self.billed else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "kind": self.kind,
            "requests": self.requests,
            "billed": plain(self.billed),
            "idle": plain(self.idle),
            "active": plain(self.active),
            "saving": plain(self.saving),
            "stretches": [stretch.to_dict() for stretch in self.stretches if stretch.idle],
        }


@attrs.frozen(kw_only=True)
class IdleReport:
    """Charges accrued by hosted models and dedicated endpoints while no request came.

    ``saving`` assumes each deployment is stopped ``stop_after_minutes`` after its
    last request (or after it started) and started again, at no cost, at the next
    request: the grain units starting after the stop and before that request are
    saved. Amounts are exact; :meth:`text` shows them in cents, rounded by ``rounding``
    (the replay's P-ROUND mode, which :func:`idle_report` takes from the scenario).
    """

    stop_after_minutes: int
    resources: tuple[ResourceIdle, ...]
    rounding: RoundingMode = RoundingMode.HALF_UP

    @property
    def billed(self) -> Decimal:
        return exact_sum(r.billed for r in self.resources)

    @property
    def idle(self) -> Decimal:
        return exact_sum(r.idle for r in self.resources)

    @property
    def saving(self) -> Decimal:
        return exact_sum(r.saving for r in self.resources)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (decimal strings; see docs/explain.md)."""
        return {
            "schema_version": 1,
            "stop_after_minutes": self.stop_after_minutes,
            "billed": plain(self.billed),
            "idle": plain(self.idle),
            "saving": plain(self.saving),
            "resources": [resource.to_dict() for resource in self.resources],
        }

    def text(self) -> str:
        """A table: per deployment, what it billed, how much while idle, what stopping saves."""
        header = ["resource", "kind", "requests", "billed", "idle", "idle share", "saving"]
        rows = [header]
        for r in self.resources:
            share = EXACT_CONTEXT.multiply(r.idle_share, Decimal(100))
            rows.append(
                [
                    r.resource,
                    r.kind,
                    str(r.requests),
                    f"${cents(r.billed, self.rounding)}",
                    f"${cents(r.idle, self.rounding)}",
                    f"{share.quantize(Decimal('0.1'))}%",
                    f"${cents(r.saving, self.rounding)}",
                ]
            )
        title = "Idle charges (no requests); saving if stopped after"
        out = [f"{title} {self.stop_after_minutes} idle minutes"]
        out.extend(columns(rows, right=range(2, len(header))))
        out.append(
            f"  TOTAL idle ${cents(self.idle, self.rounding)} of "
            f"${cents(self.billed, self.rounding)} billed;"
            f" saving ${cents(self.saving, self.rounding)}"
        )
        return "\n".join(out)


def idle_report(
    scenario: Scenario,
    result: SimulationResult | None = None,
    *,
    stop_after_minutes: int = 60,
) -> IdleReport:
    """Every charge accrued by a deployment while it received no requests.

    A billed grain unit (by default a replica-minute, P-GRAIN) is *idle* when no
    request falls inside it; under the prorated grain, one-minute buckets on the
    metering grid take the units' place. The idle amounts and the active ones add
    up exactly to the deployment's time charges (the DE1 and FT2 lines).
    """
    if type(stop_after_minutes) is not int or stop_after_minutes < 0:
        raise InvalidArgument("stop_after_minutes", stop_after_minutes, "an integer >= 0")
    replay = result if result is not None else scenario.run()
    spans: dict[str, list[MeteredSpan]] = {}
    for span in replay.spans:
        spans.setdefault(span.resource, []).append(span)
    # Requests made while a deployment was not running are refused (DE2) and not counted.
    refused = {
        (entry.resource, to_micros(entry.at))
        for entry in replay.log
        if entry.action is Action.REQUESTS_REFUSED
    }
    requests: dict[str, list[int]] = {}
    served: dict[str, int] = {}
    for event in scenario.events:
        if isinstance(event, Requests) and (event.resource, to_micros(event.at)) not in refused:
            requests.setdefault(event.resource, []).append(to_micros(event.at))
            served[event.resource] = served.get(event.resource, 0) + event.count
    resources = []
    delay = stop_after_minutes * MICROS_PER_MINUTE
    for resource in scenario.resources:
        if not isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
            continue
        own = sorted(spans.get(resource.id, []), key=lambda span: span.start_micros)
        instants = sorted(requests.get(resource.id, ()))
        found = _resource_idle(resource, own, instants, delay)
        # Count requests, not events: a Requests event carries ``count`` of them.
        resources.append(attrs.evolve(found, requests=served.get(resource.id, 0)))
    return IdleReport(
        stop_after_minutes=stop_after_minutes,
        resources=tuple(resources),
        rounding=replay.policies.rounding,
    )


def _resource_idle(
    resource: DedicatedEndpoint | FineTunedHosting,
    pieces: Sequence[MeteredSpan],
    requests: Sequence[int],
    delay: int,
) -> ResourceIdle:
    kind = "dedicated endpoint" if isinstance(resource, DedicatedEndpoint) else "hosted model"
    billed = exact_sum(piece.amount(piece.count()) for piece in pieces)
    stretches = []
    accepted = 0
    for span_start, span_end in _spans(pieces):
        first = bisect.bisect_left(requests, span_start)
        last = bisect.bisect_left(requests, span_end)
        inside = requests[first:last]
        accepted += len(inside)
        bounds = [span_start, *inside, span_end]
        for index, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if hi <= lo:
                continue
            after = index > 0
            until = index < len(bounds) - 2
            idle = _idle(pieces, lo, hi, lo, after, until)
            saving = _idle(pieces, lo, hi, lo + delay, after, until) if lo + delay < hi else None
            stretches.append(
                IdleStretch(
                    resource=resource.id,
                    interval=Interval.from_micros(lo, hi),
                    after_request=after,
                    until_request=until,
                    idle=idle,
                    saving=saving if saving is not None else Decimal(0),
                )
            )
    kept = tuple(s for s in stretches if s.idle)
    return ResourceIdle(
        resource=resource.id,
        kind=kind,
        billed=billed,
        idle=exact_sum(s.idle for s in kept),
        saving=exact_sum(s.saving for s in kept),
        requests=accepted,
        stretches=kept,
    )


def _spans(pieces: Sequence[MeteredSpan]) -> list[tuple[int, int]]:
    """The running spans of a deployment: its pieces' intervals, merged.

    A piece ends where its replicas were last settled, and they ran on until the end
    of the unit running then at the latest (no piece is kept where no grain unit
    starts, as between two changes within one unit). So each piece counts to the end
    of that unit, and a request made meanwhile lies in a span; the replay refuses the
    requests made while the deployment was not running, and those are left out.
    """
    intervals = [
        (piece.start_micros, piece.grain.unit_end(piece.grid_micros, piece.end_micros))
        for piece in pieces
    ]
    spans: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _idle(
    pieces: Sequence[MeteredSpan], lo: int, hi: int, cut: int, after: bool, until: bool
) -> Decimal:
    """The idle charge of units starting in ``[max(lo, cut), hi)`` of a stretch ``[lo, hi)``.

    The units holding the stretch's bounding requests (``lo`` when ``after``, ``hi``
    when ``until``) are active; no other request lies inside a stretch.
    """
    start = max(lo, cut)
    total = Decimal(0)
    for piece in pieces:
        a, b = max(start, piece.start_micros), min(hi, piece.end_micros)
        if piece.start_micros >= hi:
            break
        if b <= a:
            continue
        grid = piece.grid_micros
        width = (piece.grain.step_seconds or 60) * 1_000_000
        quantity = piece.count(a, b)
        buckets = {(x - grid) // width for x, flag in ((lo, after), (hi, until)) if flag}
        for bucket in buckets:
            bucket_lo = grid + bucket * width
            x, y = max(bucket_lo, a), min(bucket_lo + width, b)
            if y > x:
                quantity -= piece.count(x, y)
        if quantity:
            total = EXACT_CONTEXT.add(total, piece.amount(quantity))
    return total
