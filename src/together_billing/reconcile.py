"""Reconciliation: where a replay and the real usage report agree, and where they differ.

:func:`replay_usage` replays a scenario window by window (UTC days or hours, as
Together's usage report counts them) and gives the charges of each window per
product and subject (model, hardware, GPU type): a :class:`SimulatedUsage`. It is
one replay continued from window to window (``Simulator.run(state=...)``), so the
windows add up to the plain replay exactly (G3: splitting a replay never changes
its total). :func:`reconcile` compares it with a :class:`~together_billing.usage.UsageReport`
row by row: matched, different (by how much, in quantity and in money, with the
simulated lines that explain the figure), present on one side only, of a product
the table does not know, or in a window missing from the report. A tolerance
makes it a CI gate (:attr:`Reconciliation.ok`); ``together-billing reconcile``
exits non-zero when it is exceeded.

:meth:`SimulatedUsage.to_report` writes a replay as the usage report Together would
send for it, so a replay reconciles exactly against its own report:

>>> from together_billing import ServerlessUsage, TokenUsage
>>> from together_billing.scenario import Scenario
>>> plan = Scenario(
...     resources=[ServerlessUsage("chat", model="openai/gpt-oss-120b")],
...     events=[TokenUsage("2025-11-01T10:00:00Z", "chat", 2_000_000, 1_000_000)],
...     start="2025-11-01T00:00:00Z",
...     until="2025-11-03T00:00:00Z",
... )
>>> simulated = replay_usage(plan, granularity="day")
>>> result = reconcile(simulated, simulated.to_report())
>>> result.ok, [row.status.value for row in result.rows]
(True, ['matched', 'matched'])
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs
import pendulum

from together_billing._choice import Choice
from together_billing._figures import at_least_cents, dollars, plain
from together_billing._responses import iso
from together_billing.catalog import Catalog, hardware_key
from together_billing.credits import Account
from together_billing.engine import SimulationResult, SimulationState, Simulator
from together_billing.errors import InvalidArgument
from together_billing.invoice import Invoice, InvoiceLine
from together_billing.money import EXACT_CONTEXT, exact_sum, input_decimal
from together_billing.policies import Policies
from together_billing.resources import Category, Resource
from together_billing.time import from_micros, instant, to_micros
from together_billing.timeline import Event, TokenUsageBatch
from together_billing.usage import (
    Granularity,
    Measure,
    Product,
    ProductTable,
    UsageReport,
)

__all__ = [
    "RECONCILIATION_SCHEMA_VERSION",
    "ReconciledRow",
    "Reconciliation",
    "Replayable",
    "RowStatus",
    "SimulatedCharge",
    "SimulatedUsage",
    "line_product",
    "reconcile",
    "replay_usage",
]

#: The ``schema_version`` of :meth:`Reconciliation.to_dict` (documented in docs/real-bill.md).
RECONCILIATION_SCHEMA_VERSION: Final = 1

_ONE_MICRO: Final = 1


class Replayable(Protocol):
    """What :func:`replay_usage` replays: a :class:`~together_billing.scenario.Scenario`,
    a generated scenario of :mod:`together_billing.strategies`, or any value with these."""

    @property
    def resources(self) -> Sequence[Resource | Account]: ...
    @property
    def events(self) -> Sequence[Event]: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def policies(self) -> Policies: ...
    @property
    def start(self) -> pendulum.DateTime | None: ...
    @property
    def until(self) -> pendulum.DateTime: ...


# -- invoice lines as products -------------------------------------------------------------------

_TOKEN_KINDS: Final = ("cached input tokens", "input tokens", "output tokens")


def line_product(line: InvoiceLine, products: ProductTable) -> tuple[Product | None, str, str]:
    """``(product, kind, subject)`` of an invoice line: which report product bills it.

    ``kind`` is the charge within the line's category (``input tokens``, ``batch
    output tokens``, ``replica hours``...), ``subject`` the model, hardware, GPU type
    or volume it is for; ``product`` is ``None`` when the table has no product for it.
    """
    words = line.description.split()
    category = line.category
    if category is Category.SERVERLESS:
        rest = line.description.split(" ", 1)[1] if len(words) > 1 else ""
        prefix = "batch " if rest.startswith("batch ") else ""
        body = rest[len(prefix) :]
        base = next((k for k in _TOKEN_KINDS if body.startswith(k)), body)
        kind, subject = f"{prefix}{base}", words[0]
    elif category is Category.FINE_TUNING:
        kind, subject = "tokens processed", words[1] if len(words) > 1 else ""
    elif category is Category.DEDICATED_ENDPOINT:
        kind, subject = "replica hours", words[0]
    elif category is Category.FINE_TUNED_HOSTING:
        kind, subject = "replica hours", words[-1]
    elif category is Category.STORAGE:
        kind, subject = "TiB hours", line.resource
    else:
        kind, subject = "GPU hours", words[0]
    return products.find(category, kind), kind, subject


def _product_quantity(line: InvoiceLine, measure: Measure) -> tuple[Decimal, Decimal]:
    """The line's quantity and unit price in the product's terms (tokens, or hours)."""
    if measure is Measure.TOKENS:
        return line.quantity, EXACT_CONTEXT.divide(line.rate, line.rate_per)
    return EXACT_CONTEXT.divide(line.quantity, line.rate_per), line.rate


def _measure_of(line: InvoiceLine) -> Measure:
    return Measure.TOKENS if line.unit == "token" else Measure.HOURS


# -- the simulated side --------------------------------------------------------------------------


@attrs.frozen
class SimulatedCharge:
    """What a replay charged in one window for one product, subject and unit price.

    ``product`` is the report's product name (``None`` when the product table has
    none for these lines: ``kind`` then says what they are). ``quantity`` is in the
    product's unit, ``cost`` exact (unrounded), ``lines`` explains the figure: the
    invoice lines it comes from, with their rule, rate and price source.
    """

    start: pendulum.DateTime
    end: pendulum.DateTime
    product: str | None
    category: Category
    kind: str
    subject: str
    unit_price: Decimal
    quantity: Decimal
    cost: Decimal
    resources: tuple[str, ...]
    lines: tuple[str, ...]


@attrs.define
class _Tally:
    """Quantities and costs summed exactly, with the prices, resources and lines behind them."""

    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    prices: set[Decimal] = attrs.Factory(set)
    resources: set[str] = attrs.Factory(set)
    lines: list[str] = attrs.Factory(list)

    def add(self, quantity: Decimal, cost: Decimal) -> None:
        self.quantity = EXACT_CONTEXT.add(self.quantity, quantity)
        self.cost = EXACT_CONTEXT.add(self.cost, cost)


# A line of a cumulative replay: (period, resource, rule, description, rate, rate_per, source).
_LineKey = tuple[str, str, str, str, Decimal, Decimal, str]


@attrs.frozen(eq=False)
class SimulatedUsage:
    """A replay's charges window by window: what :func:`reconcile` compares with a report.

    ``windows`` lists every window of the replay's span, ``charges`` the non-zero
    charges in them, ``result`` is the replay itself (continued to its end).
    """

    granularity: Granularity
    windows: tuple[tuple[pendulum.DateTime, pendulum.DateTime], ...]
    charges: tuple[SimulatedCharge, ...]
    result: SimulationResult
    products: ProductTable = attrs.field(repr=False)

    @property
    def total(self) -> Decimal:
        """The exact sum of every window's charges (equals the replay's exact total)."""
        return exact_sum(charge.cost for charge in self.charges)

    def to_report(self, *, read_at: object = None) -> UsageReport:
        """The usage report Together would send for this replay (SDK-shaped pages).

        One page per billing period; every window of the replay is listed, with no
        line items where nothing was charged. Charges with no product are left out
        (the report could not name them).
        """
        by_window: dict[tuple[pendulum.DateTime, pendulum.DateTime], list[dict[str, Any]]] = {}
        for charge in self.charges:
            if charge.product is None:
                continue
            product = self.products.get(charge.product)
            assert product is not None
            by_window.setdefault((charge.start, charge.end), []).append(
                {
                    "product_name": charge.product,
                    "quantity": plain(charge.quantity),
                    "unit_price": plain(charge.unit_price),
                    "cost": plain(charge.cost),
                    "attributes": {"resources": ",".join(charge.resources)},
                    "pricing_dimensions": {product.subject: charge.subject},
                }
            )
        pages: dict[str, list[dict[str, Any]]] = {}
        for start, end in self.windows:
            pages.setdefault(start.format("YYYY-MM"), []).append(
                {
                    "date": start.format("YYYY-MM-DD"),
                    "start_time": iso(start),
                    "end_time": iso(end),
                    "line_items": by_window.get((start, end), []),
                }
            )
        data = {
            "granularity": self.granularity.value,
            "read_at": None if read_at is None else iso(instant(read_at, field="read_at")),
            "pages": [
                {
                    "object": "list",
                    "billing_period": period,
                    "currency": "USD",
                    "data": windows,
                    "next_cursor": None,
                }
                for period, windows in pages.items()
            ],
        }
        return UsageReport.from_data(data, products=self.products, source="simulated report")


def replay_usage(
    scenario: Replayable,
    *,
    granularity: Granularity | str = Granularity.DAY,
    products: ProductTable | None = None,
) -> SimulatedUsage:
    """Replay ``scenario`` window by window and collect each window's charges.

    The replay stops just before each window boundary and continues from there, so
    a unit of time belongs to the window it starts in, as a usage event does (a
    replay bills an event at the instant a window starts in that window).
    """
    kind = Granularity(granularity)
    table = products if products is not None else ProductTable()
    events = sorted(scenario.events, key=lambda event: event.sort_key())
    until = instant(scenario.until, field="until")
    first = scenario.start if scenario.start is not None else _first(events, until)
    start = instant(first, field="start")
    windows: list[tuple[pendulum.DateTime, pendulum.DateTime]] = []
    cursor = kind.floor(start)
    while True:
        nxt = kind.step(cursor)
        windows.append((cursor, nxt))
        if nxt >= until:
            break
        cursor = nxt
    if start == until:
        windows = windows[:1]
    simulator = Simulator(scenario.catalog, scenario.policies)
    chunks = _chunks(events, [to_micros(end) - _ONE_MICRO for _, end in windows[:-1]])
    state: SimulationState | None = None
    previous: dict[_LineKey, tuple[Decimal, Decimal, InvoiceLine]] = {}
    charges: list[SimulatedCharge] = []
    result: SimulationResult | None = None
    for index, (window, chunk) in enumerate(zip(windows, chunks, strict=True)):
        last = index == len(windows) - 1
        stop = until if last else from_micros(to_micros(window[1]) - _ONE_MICRO)
        if state is None:
            result = simulator.run(scenario.resources, chunk, until=stop, start=start)
        else:
            result = simulator.run([], chunk, until=stop, state=state)
        state = result.state
        current = _cumulative(result.invoices)
        charges.extend(_window_charges(window, previous, current, table))
        previous = current
    assert result is not None
    return SimulatedUsage(kind, tuple(windows), tuple(charges), result, table)


def _first(events: Sequence[Event], until: pendulum.DateTime) -> pendulum.DateTime:
    if not events:
        return until
    return min(events[0].at, until)


def _chunks(events: Sequence[Event], cuts: Sequence[int]) -> list[list[Event]]:
    """The events up to each cut (inclusive), then the rest; batches are cut in two."""
    chunks: list[list[Event]] = [[] for _ in range(len(cuts) + 1)]
    for event in events:
        if isinstance(event, TokenUsageBatch):
            lo = 0
            while lo < len(event):
                index = bisect.bisect_left(cuts, event.at_micros[lo])
                bound = cuts[index] if index < len(cuts) else None
                hi = (
                    len(event)
                    if bound is None
                    else bisect.bisect_right(event.at_micros, bound, lo=lo)
                )
                chunks[index].append(event.part(lo, hi))
                lo = hi
            continue
        chunks[bisect.bisect_left(cuts, to_micros(event.at))].append(event)
    return chunks


def _line_key(period: str, line: InvoiceLine) -> _LineKey:
    return (
        period,
        line.resource,
        line.rule,
        line.description,
        line.rate,
        line.rate_per,
        line.source.describe(),
    )


def _cumulative(
    invoices: Iterable[Invoice],
) -> dict[_LineKey, tuple[Decimal, Decimal, InvoiceLine]]:
    totals: dict[_LineKey, tuple[Decimal, Decimal, InvoiceLine]] = {}
    for line, period in ((line, i.period.label) for i in invoices for line in i.lines):
        key = _line_key(period, line)
        quantity, cost, _ = totals.get(key, (Decimal(0), Decimal(0), line))
        totals[key] = (
            EXACT_CONTEXT.add(quantity, line.quantity),
            EXACT_CONTEXT.add(cost, line.amount_exact),
            line,
        )
    return totals


def _window_charges(
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    previous: Mapping[_LineKey, tuple[Decimal, Decimal, InvoiceLine]],
    current: Mapping[_LineKey, tuple[Decimal, Decimal, InvoiceLine]],
    table: ProductTable,
) -> list[SimulatedCharge]:
    grouped: dict[tuple[str | None, Category, str, str, Decimal], _Tally] = {}
    for key in sorted(current, key=_sortable):
        quantity, cost, line = current[key]
        before_quantity, before_cost, _ = previous.get(key, (Decimal(0), Decimal(0), line))
        delta_quantity = EXACT_CONTEXT.subtract(quantity, before_quantity)
        delta_cost = EXACT_CONTEXT.subtract(cost, before_cost)
        if not delta_quantity and not delta_cost:
            continue
        product, kind, subject = line_product(line, table)
        measure = product.measure if product is not None else _measure_of(line)
        amount, unit_price = _product_quantity(attrs.evolve(line, quantity=delta_quantity), measure)
        name = None if product is None else product.name
        tally = grouped.setdefault((name, line.category, kind, subject, unit_price), _Tally())
        tally.add(amount, delta_cost)
        tally.resources.add(line.resource)
        tally.lines.append(
            f"{line.resource}: {line.rule} {line.description}, {plain(delta_quantity)} "
            f"{line.unit} at {plain(line.rate)} {line.rate_unit} "
            f"({line.source.describe()})"
        )
    return [
        SimulatedCharge(
            window[0],
            window[1],
            name,
            category,
            kind,
            subject,
            unit_price,
            tally.quantity,
            tally.cost,
            tuple(sorted(tally.resources)),
            tuple(tally.lines),
        )
        for (name, category, kind, subject, unit_price), tally in sorted(
            grouped.items(), key=lambda item: _sortable(item[0])
        )
    ]


def _sortable(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if part is None else str(part) for part in key)


# A compared row: (window start, window end, product name, subject).
_RowKey = tuple[pendulum.DateTime, pendulum.DateTime, str, str]


# -- the comparison ------------------------------------------------------------------------------


class RowStatus(Choice):
    """How one (window, product, subject) compares."""

    __field__ = "status"

    MATCHED = "matched"
    DIFFERENT = "different"
    SIMULATED_ONLY = "simulated only"
    REPORTED_ONLY = "reported only"
    UNKNOWN_PRODUCT = "unknown product"
    MISSING_WINDOW = "missing window"


@attrs.frozen
class ReconciledRow:
    """One (window, product, subject) of a reconciliation.

    Quantities are in the product's unit and costs exact in USD; ``*_difference`` is
    reported minus simulated. ``explanation`` lists the simulated invoice lines behind
    the simulated figure. ``final`` is false for a window Together had not finalised.
    ``exceeds`` says whether this row fails the gate.
    """

    start: pendulum.DateTime
    end: pendulum.DateTime
    product: str
    subject: str
    status: RowStatus
    final: bool
    simulated_quantity: Decimal
    reported_quantity: Decimal
    simulated_cost: Decimal
    reported_cost: Decimal
    simulated_unit_prices: tuple[Decimal, ...]
    reported_unit_prices: tuple[Decimal, ...]
    explanation: tuple[str, ...]
    exceeds: bool

    @property
    def quantity_difference(self) -> Decimal:
        return EXACT_CONTEXT.subtract(self.reported_quantity, self.simulated_quantity)

    @property
    def cost_difference(self) -> Decimal:
        return EXACT_CONTEXT.subtract(self.reported_cost, self.simulated_cost)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start": iso(self.start),
            "window_end": iso(self.end),
            "product": self.product,
            "subject": self.subject,
            "status": self.status.value,
            "final": self.final,
            "exceeds_tolerance": self.exceeds,
            "simulated": {
                "quantity": plain(self.simulated_quantity),
                "cost": plain(self.simulated_cost),
                "unit_prices": [plain(p) for p in self.simulated_unit_prices],
            },
            "reported": {
                "quantity": plain(self.reported_quantity),
                "cost": plain(self.reported_cost),
                "unit_prices": [plain(p) for p in self.reported_unit_prices],
            },
            "difference": {
                "quantity": plain(self.quantity_difference),
                "cost": plain(self.cost_difference),
            },
            "explanation": list(self.explanation),
        }


@attrs.frozen(eq=False)
class Reconciliation:
    """The result of :func:`reconcile`: every compared row, and whether the gate passes.

    ``rows`` is in window, product and subject order. ``missing_windows`` lists the
    windows inside the report's span that the report does not have (a missing day
    or hour). ``ok`` is false when any final row exceeds the tolerance, a product is
    unknown, or a window is missing.
    """

    granularity: Granularity
    tolerance: Decimal
    quantity_tolerance: Decimal
    rows: tuple[ReconciledRow, ...]
    missing_windows: tuple[tuple[pendulum.DateTime, pendulum.DateTime], ...]
    report_source: str
    not_compared: tuple[int, int] = (0, 0)
    """Report rows outside the replay's span, and simulated charges outside the report's."""

    @property
    def exceeded(self) -> tuple[ReconciledRow, ...]:
        """The rows that fail the gate."""
        return tuple(row for row in self.rows if row.exceeds)

    @property
    def ok(self) -> bool:
        return not self.exceeded and not self.missing_windows

    @property
    def simulated_total(self) -> Decimal:
        return exact_sum(row.simulated_cost for row in self.rows)

    @property
    def reported_total(self) -> Decimal:
        return exact_sum(row.reported_cost for row in self.rows)

    def count(self, status: RowStatus) -> int:
        return sum(1 for row in self.rows if row.status is status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; the schema is documented in docs/real-bill.md."""
        return {
            "schema_version": RECONCILIATION_SCHEMA_VERSION,
            "ok": self.ok,
            "granularity": self.granularity.value,
            "tolerance": plain(self.tolerance),
            "quantity_tolerance": plain(self.quantity_tolerance),
            "report": self.report_source,
            "totals": {
                "simulated": plain(self.simulated_total),
                "reported": plain(self.reported_total),
                "difference": plain(
                    EXACT_CONTEXT.subtract(self.reported_total, self.simulated_total)
                ),
            },
            "counts": {status.value: self.count(status) for status in RowStatus},
            "not_compared": {
                "reported_rows": self.not_compared[0],
                "simulated_charges": self.not_compared[1],
            },
            "missing_windows": [
                {"window_start": iso(start), "window_end": iso(end)}
                for start, end in self.missing_windows
            ],
            "rows": [row.to_dict() for row in self.rows],
        }

    def table(self, *, all_rows: bool = False) -> str:
        """A plain-text table for people: the rows that are not matched (or all of them)."""
        shown = [r for r in self.rows if all_rows or r.status is not RowStatus.MATCHED]
        header = ("window", "product", "subject", "status", "simulated", "reported", "difference")
        body = [
            (
                r.start.format("YYYY-MM-DD HH:mm"),
                r.product,
                r.subject or "-",
                r.status.value + ("" if r.final else " (not final)") + (" !" if r.exceeds else ""),
                f"{_money(r.simulated_cost)} ({plain(r.simulated_quantity)})",
                f"{_money(r.reported_cost)} ({plain(r.reported_quantity)})",
                f"{_money(r.cost_difference)} ({plain(r.quantity_difference)})",
            )
            for r in shown
        ]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        notes = {
            index: _notes(row)
            for index, row in enumerate(shown)
            if row.status is not RowStatus.MATCHED
        }
        lines = [_cells(header, widths)]
        for index, cells in enumerate(body):
            lines.append(_cells(cells, widths))
            lines.extend(notes.get(index, ()))
        for start, end in self.missing_windows:
            lines.append(f"missing window {iso(start)} - {iso(end)}: not in the report !")
        counts = ", ".join(f"{self.count(s)} {s.value}" for s in RowStatus if self.count(s))
        verdict = "OK" if self.ok else f"EXCEEDED: {len(self.exceeded)} row(s)"
        lines.append("")
        lines.append(f"{len(self.rows)} rows: {counts or 'none'}")
        reported, simulated = self.not_compared
        if reported or simulated:
            lines.append(
                f"not compared: {reported} report row(s) outside the replay's span, "
                f"{simulated} simulated charge(s) outside the report's"
            )
        lines.append(
            f"simulated {_money(self.simulated_total)}, reported {_money(self.reported_total)}; "
            f"tolerance {_money(self.tolerance)} per row: {verdict}"
        )
        return "\n".join(lines)


def reconcile(
    simulated: SimulatedUsage | Replayable,
    report: UsageReport,
    *,
    tolerance: object = Decimal("0.01"),
    quantity_tolerance: object = Decimal(0),
) -> Reconciliation:
    """Compare a replay's windows with the real report's, per product and subject.

    ``simulated`` is :func:`replay_usage`'s result, or a scenario, replayed here at
    the report's granularity. (A :class:`SimulationResult` is not enough: it holds
    each period's totals, not each window's.)

    Only windows both sides cover are compared: the replay's span and the report's
    span (its first to its last window). A row matches when the costs differ by at
    most ``tolerance`` USD and the quantities by at most ``quantity_tolerance`` (in
    the product's unit). Hardware is compared by :func:`~together_billing.catalog.hardware_key`,
    so v1 and v2 ids match. Rows of products the table does not know, and windows the
    report skips inside its span, always fail the gate; rows of windows that are not
    final are shown but never fail it (the report will still change).
    """
    if isinstance(simulated, SimulationResult):
        raise InvalidArgument(
            "simulated",
            "a SimulationResult",
            "the scenario itself, or replay_usage(scenario): a result holds each period's "
            "totals, not each window's",
        )
    if not isinstance(simulated, SimulatedUsage):
        simulated = replay_usage(simulated, granularity=report.granularity)
    money_tolerance = input_decimal(tolerance, field="tolerance")
    unit_tolerance = input_decimal(quantity_tolerance, field="quantity_tolerance")
    for name, value in (("tolerance", money_tolerance), ("quantity_tolerance", unit_tolerance)):
        if value < 0:
            raise InvalidArgument(name, value, "zero or more")
    if report.granularity is not simulated.granularity:
        raise InvalidArgument(
            "granularity",
            report.granularity.value,
            f"the replay's granularity {simulated.granularity.value!r}: replay with "
            f"granularity={report.granularity.value!r}",
        )
    sim_windows = set(simulated.windows)
    reported_windows = {(w.start, w.end): w for w in report.windows}
    if report.windows:
        span = (report.windows[0].start, report.windows[-1].end)
        grid = _grid(report.granularity, *span)
    else:
        span = None
        grid = []
    missing = tuple(w for w in grid if w not in reported_windows and w in sim_windows)
    missing_set = set(missing)

    def covered(window: tuple[pendulum.DateTime, pendulum.DateTime]) -> bool:
        return span is not None and span[0] <= window[0] and window[1] <= span[1]

    def subject_key(product: str | None, subject: str) -> str:
        known = report_products.get(product) if product is not None else None
        return (
            hardware_key(subject) if known is not None and known.subject == "hardware" else subject
        )

    report_products = simulated.products
    sim: dict[_RowKey, _Tally] = {}
    outside_simulated = outside_reported = 0
    for charge in simulated.charges:
        window = (charge.start, charge.end)
        if not covered(window):
            outside_simulated += 1
            continue
        name = charge.product if charge.product is not None else f"(no product: {charge.kind})"
        subject = subject_key(charge.product, charge.subject)
        tally = sim.setdefault((charge.start, charge.end, name, subject), _Tally())
        tally.add(charge.quantity, charge.cost)
        tally.prices.add(charge.unit_price)
        tally.lines.extend(charge.lines)
    real: dict[_RowKey, _Tally] = {}
    unknown: set[_RowKey] = set()
    finals: dict[_RowKey, bool] = {}
    for row in report.rows:
        window = (row.window.start, row.window.end)
        if window not in sim_windows:
            outside_reported += 1
            continue
        key = (
            row.window.start,
            row.window.end,
            row.product_name,
            subject_key(row.product_name, row.subject),
        )
        tally = real.setdefault(key, _Tally())
        tally.add(row.quantity, row.cost)
        tally.prices.add(row.unit_price)
        finals[key] = row.final
        if row.product is None:
            unknown.add(key)
    rows: list[ReconciledRow] = []
    for key in sorted({*sim, *real}, key=lambda k: (k[0], k[1], k[2], k[3])):
        simulated_tally = sim.get(key, _Tally())
        reported_tally = real.get(key, _Tally())
        window = (key[0], key[1])
        final = finals.get(
            key, reported_windows[window].final if window in reported_windows else True
        )
        if key in unknown:
            status = RowStatus.UNKNOWN_PRODUCT
        elif window in missing_set:
            status = RowStatus.MISSING_WINDOW
        elif key not in real:
            status = RowStatus.SIMULATED_ONLY
        elif key not in sim:
            status = RowStatus.REPORTED_ONLY
        else:
            status = RowStatus.MATCHED
        within = (
            abs(EXACT_CONTEXT.subtract(reported_tally.cost, simulated_tally.cost))
            <= money_tolerance
            and abs(EXACT_CONTEXT.subtract(reported_tally.quantity, simulated_tally.quantity))
            <= unit_tolerance
        )
        if status is RowStatus.MATCHED and not within:
            status = RowStatus.DIFFERENT
        if status is RowStatus.UNKNOWN_PRODUCT or status is RowStatus.MISSING_WINDOW:
            exceeds = True
        else:
            exceeds = final and not within
        rows.append(
            ReconciledRow(
                start=key[0],
                end=key[1],
                product=key[2],
                subject=key[3],
                status=status,
                final=final,
                simulated_quantity=simulated_tally.quantity,
                reported_quantity=reported_tally.quantity,
                simulated_cost=simulated_tally.cost,
                reported_cost=reported_tally.cost,
                simulated_unit_prices=tuple(sorted(simulated_tally.prices)),
                reported_unit_prices=tuple(sorted(reported_tally.prices)),
                explanation=tuple(simulated_tally.lines),
                exceeds=exceeds,
            )
        )
    return Reconciliation(
        simulated.granularity,
        money_tolerance,
        unit_tolerance,
        tuple(rows),
        missing,
        report.source,
        (outside_reported, outside_simulated),
    )


def _cells(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _notes(row: ReconciledRow) -> list[str]:
    """What explains a row that is not matched: the simulated lines, the reported prices."""
    notes = [f"    simulated: {line}" for line in row.explanation]
    if row.reported_unit_prices:
        prices = ", ".join(plain(p) for p in row.reported_unit_prices)
        notes.append(f"    reported unit price: {prices} USD")
    return notes


def _grid(
    kind: Granularity, start: pendulum.DateTime, end: pendulum.DateTime
) -> list[tuple[pendulum.DateTime, pendulum.DateTime]]:
    result = []
    cursor = kind.floor(start)
    while cursor < end:
        nxt = kind.step(cursor)
        result.append((cursor, nxt))
        cursor = nxt
    return result


def _money(value: Decimal) -> str:
    """Dollars with at least cents, and every further digit the exact figure has."""
    return dollars(at_least_cents(value))
