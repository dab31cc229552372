"""The real usage report: what Together says an account used and paid, window by window.

``client.organization.usage.costs.list(month=..., granularity="day"|"hour")`` (GET
``/v1/billing/usage``) returns time windows (``BillingUsageWindow``), each with line
items (``BillingUsageLineItem``): a Metronome product name, a quantity in the
product's own unit, a unit price and a cost, all as decimal strings. A
:class:`UsageReport` holds them as typed :class:`UsageRow` values, read from the SDK
(:func:`together_billing.together_api.pull_usage`) or from saved JSON
(:meth:`UsageReport.from_file`), never through a float.

A :class:`ProductTable` says what each product is in the library's terms: its
invoice category, the kind of charge, its unit and the rules behind it. A product
the table does not know is *unknown*: its rows stay in the report, are counted and
summed (:attr:`UsageReport.unknown`), and are never dropped or guessed at.

The report of the current month is a moving snapshot: Together finalises daily
windows through yesterday and hourly windows through the last completed hour, so
a window that ends after that horizon, at the instant the report was read, is not
final (:attr:`UsageRow.final`).

>>> report = UsageReport.from_data(
...     {
...         "granularity": "day",
...         "read_at": "2026-11-03T08:00:00Z",
...         "pages": [
...             {
...                 "billing_period": "2026-11",
...                 "data": [
...                     {
...                         "date": "2026-11-02",
...                         "start_time": "2026-11-02T00:00:00Z",
...                         "end_time": "2026-11-03T00:00:00Z",
...                         "line_items": [
...                             {
...                                 "product_name": "Serverless Inference - Input Tokens",
...                                 "quantity": "2000000",
...                                 "unit_price": "0.00000015",
...                                 "cost": "0.30",
...                                 "pricing_dimensions": {"model": "openai/gpt-oss-120b"},
...                             }
...                         ],
...                     }
...                 ],
...             }
...         ],
...     }
... )
>>> row = report.rows[0]
>>> row.product.category, row.subject, row.cost, row.final
(<Category.SERVERLESS: 'serverless'>, 'openai/gpt-oss-120b', Decimal('0.30'), True)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import attrs
import pendulum
import pydantic

from together_billing._choice import Choice
from together_billing._responses import DecimalText, ResponseModel, read_json, response_errors
from together_billing.catalog import (
    Catalog,
    HardwarePrice,
    PriceEntry,
    ServerlessPrice,
    Source,
    SourceKind,
    default_catalog,
)
from together_billing.credits import Account
from together_billing.errors import InvalidArgument, InvalidResponse
from together_billing.money import EXACT_CONTEXT, exact_sum, input_decimal
from together_billing.policies import Policies
from together_billing.resources import Category, DedicatedEndpoint, Resource, ServerlessUsage
from together_billing.scenario import Scenario
from together_billing.time import instant
from together_billing.timeline import Deploy, Event, TokenUsage

__all__ = [
    "DEFAULT_PRODUCTS",
    "USAGE_ENDPOINT",
    "Granularity",
    "Measure",
    "Product",
    "ProductTable",
    "UsageReport",
    "UsageRow",
    "UsageWindow",
]

#: The API call a usage report comes from.
USAGE_ENDPOINT: Final = "GET /v1/billing/usage"


class Granularity(Choice):
    """The size of a usage report's windows: a UTC day or a UTC hour."""

    __field__ = "granularity"

    DAY = "day"
    HOUR = "hour"

    def floor(self, at: pendulum.DateTime) -> pendulum.DateTime:
        """The start of the window holding ``at``."""
        at = instant(at)
        if self is Granularity.DAY:
            return at.start_of("day")
        return at.start_of("hour")

    def step(self, at: pendulum.DateTime) -> pendulum.DateTime:
        """The start of the window after the one starting at ``at``."""
        return at.add(days=1) if self is Granularity.DAY else at.add(hours=1)


# -- the product table ---------------------------------------------------------------------------


class Measure(Choice):
    """How a product's quantity relates to an invoice line's (see :class:`Product`)."""

    __field__ = "measure"

    TOKENS = "tokens"
    """Tokens, as the line counts them; unit price per token."""
    HOURS = "hours"
    """Hours of the line's unit (replica-, GPU- or TiB-hours); unit price per hour."""


def _texts(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return dict(value)


@attrs.frozen
class Product:
    """What one Metronome product of the usage report is, in the library's terms.

    ``category`` and ``kind`` select the invoice lines it corresponds to (``kind``
    is the charge within the category: ``input tokens``, ``replica hours``...),
    ``measure`` how its quantity is counted and ``rules`` the rule ids that bill it.
    ``subject`` names the pricing dimension (or attribute) that says which model,
    hardware or GPU type a row is for.
    """

    name: str
    category: Category = attrs.field(converter=Category)
    kind: str
    measure: Measure = attrs.field(converter=Measure)
    unit: str
    rules: tuple[str, ...] = attrs.field(converter=_texts)
    subject: str = "model"


#: The library's assumed product names (only "Serverless Inference - Input Tokens" is
#: attested, in the SDK's docstring); replace them with a :class:`ProductTable` of your
#: own where your report names products differently.
DEFAULT_PRODUCTS: Final = (
    Product(
        "Serverless Inference - Input Tokens",
        Category.SERVERLESS,
        "input tokens",
        Measure.TOKENS,
        "token",
        ("SL1", "SL2"),
    ),
    Product(
        "Serverless Inference - Output Tokens",
        Category.SERVERLESS,
        "output tokens",
        Measure.TOKENS,
        "token",
        ("SL1", "SL2"),
    ),
    Product(
        "Serverless Inference - Cached Input Tokens",
        Category.SERVERLESS,
        "cached input tokens",
        Measure.TOKENS,
        "token",
        ("SL3",),
    ),
    Product(
        "Batch Inference - Input Tokens",
        Category.SERVERLESS,
        "batch input tokens",
        Measure.TOKENS,
        "token",
        ("SL3",),
    ),
    Product(
        "Batch Inference - Output Tokens",
        Category.SERVERLESS,
        "batch output tokens",
        Measure.TOKENS,
        "token",
        ("SL3",),
    ),
    Product(
        "Batch Inference - Cached Input Tokens",
        Category.SERVERLESS,
        "batch cached input tokens",
        Measure.TOKENS,
        "token",
        ("SL3",),
    ),
    Product(
        "Dedicated Endpoints - Hardware Hours",
        Category.DEDICATED_ENDPOINT,
        "replica hours",
        Measure.HOURS,
        "replica-hour",
        ("DE1", "DE2", "DE3"),
        "hardware",
    ),
    Product(
        "Fine-Tuned Model Hosting - Hardware Hours",
        Category.FINE_TUNED_HOSTING,
        "replica hours",
        Measure.HOURS,
        "replica-hour",
        ("FT2", "FT3"),
        "hardware",
    ),
    Product(
        "Fine-Tuning - Tokens Processed",
        Category.FINE_TUNING,
        "tokens processed",
        Measure.TOKENS,
        "token",
        ("FT1",),
    ),
    Product(
        "GPU Clusters - Reserved GPU Hours",
        Category.RESERVED_COMPUTE,
        "GPU hours",
        Measure.HOURS,
        "GPU-hour",
        ("CL2", "CL5"),
        "gpu_type",
    ),
    Product(
        "GPU Clusters - Burst GPU Hours",
        Category.BURST_COMPUTE,
        "GPU hours",
        Measure.HOURS,
        "GPU-hour",
        ("CL3",),
        "gpu_type",
    ),
    Product(
        "GPU Clusters - On-Demand GPU Hours",
        Category.ON_DEMAND_COMPUTE,
        "GPU hours",
        Measure.HOURS,
        "GPU-hour",
        ("CL4",),
        "gpu_type",
    ),
    Product(
        "GPU Clusters - Storage",
        Category.STORAGE,
        "TiB hours",
        Measure.HOURS,
        "TiB-hour",
        ("ST1", "ST3"),
        "volume",
    ),
)


class ProductTable:
    """Product names mapped to :class:`Product` values, both ways.

    >>> table = ProductTable()
    >>> table.get("Serverless Inference - Output Tokens").kind
    'output tokens'
    >>> table.find(Category.SERVERLESS, "cached input tokens").name
    'Serverless Inference - Cached Input Tokens'
    >>> table.get("Code Sandbox - Sessions") is None
    True
    """

    __slots__ = ("_by_kind", "_by_name")

    def __init__(self, products: Iterable[Product] = DEFAULT_PRODUCTS) -> None:
        self._by_name: dict[str, Product] = {}
        self._by_kind: dict[tuple[Category, str], Product] = {}
        for product in products:
            if product.name in self._by_name:
                raise InvalidArgument("name", product.name, "one product per name")
            kind = (product.category, product.kind)
            if kind in self._by_kind:
                raise InvalidArgument(
                    "kind", product.kind, f"one product per kind of {product.category.value} charge"
                )
            self._by_name[product.name] = product
            self._by_kind[kind] = product

    @property
    def products(self) -> tuple[Product, ...]:
        return tuple(self._by_name.values())

    def get(self, name: str) -> Product | None:
        """The product of this name, or ``None`` when the table does not know it."""
        return self._by_name.get(name)

    def find(self, category: Category, kind: str) -> Product | None:
        """The product billing this kind of charge of a category, or ``None``."""
        return self._by_kind.get((category, kind))


# -- rows and reports ----------------------------------------------------------------------------


@attrs.frozen
class UsageWindow:
    """One window of a report: ``[start, end)``, its UTC ``date``, and whether it is final."""

    start: pendulum.DateTime
    end: pendulum.DateTime
    date: str
    final: bool


@attrs.frozen
class UsageRow:
    """One line item of the usage report, typed.

    ``quantity`` is in the product's own unit, ``unit_price`` and ``cost`` in USD,
    all exact Decimals from the report's decimal strings. ``product`` is what the
    product table knows of ``product_name``, or ``None`` (an unknown product).
    ``subject`` is the model, hardware or GPU type the row is for (from its pricing
    dimensions or attributes, "" when absent). ``final`` is false for a window that
    Together had not finalised when the report was read.
    """

    window: UsageWindow
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    cost: Decimal
    product: Product | None
    subject: str
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)
    pricing_dimensions: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)
    applied_credit: str | None = None

    @property
    def final(self) -> bool:
        return self.window.final

    @property
    def known(self) -> bool:
        return self.product is not None


# -- the response shapes (BillingUsageReport pages), as validated documents ---------------------


class _AppliedCreditDoc(ResponseModel):
    type: str


class _LineItemDoc(ResponseModel):
    product_name: str = pydantic.Field(min_length=1)
    quantity: DecimalText
    unit_price: DecimalText
    cost: DecimalText
    attributes: dict[str, str] = pydantic.Field(default_factory=dict)
    pricing_dimensions: dict[str, str] = pydantic.Field(default_factory=dict)
    applied_credit: _AppliedCreditDoc | None = None


class _WindowDoc(ResponseModel):
    date: str
    start_time: pydantic.AwareDatetime
    end_time: pydantic.AwareDatetime
    line_items: list[_LineItemDoc]


class _PageDoc(ResponseModel):
    billing_period: str | None = None
    currency: Literal["USD"] = "USD"
    data: list[_WindowDoc]
    next_cursor: str | None = None


class _SavedDoc(ResponseModel):
    granularity: Literal["day", "hour"] | None = None
    read_at: pydantic.AwareDatetime | None = None
    month: str | None = None
    pages: list[_PageDoc]


_EXPECTED: Final = f"a usage report ({USAGE_ENDPOINT} pages)"


@attrs.frozen(eq=False)
class UsageReport:
    """The usage report of an account: typed rows in windows of one granularity.

    ``windows`` lists every window the report covers, in time order (a window with
    no line items is still a window: it says nothing was used). ``read_at`` is when
    the report was read (``None`` if unknown: every window then counts as final).
    """

    granularity: Granularity = attrs.field(converter=Granularity)
    windows: tuple[UsageWindow, ...]
    rows: tuple[UsageRow, ...]
    read_at: pendulum.DateTime | None = None
    billing_periods: tuple[str, ...] = ()
    source: str = USAGE_ENDPOINT
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    """The report as saved (SDK-shaped pages), for :meth:`to_data`."""

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        read_at: object = None,
        granularity: str | None = None,
        products: ProductTable | None = None,
        source: str = USAGE_ENDPOINT,
    ) -> UsageReport:
        """A report from parsed JSON: a saved report (``{"pages": [...]}``), one page, or a list.

        A page is the API's ``BillingUsageReport`` (``data`` holds the windows). The
        granularity is read from the saved report, given, or inferred from the
        windows' length; ``read_at`` from the saved report or given.
        """
        if isinstance(data, list):
            data = {"pages": data}
        elif isinstance(data, dict) and "pages" not in data:
            data = {"pages": [data]}
        try:
            doc = _SavedDoc.model_validate(data)
        except pydantic.ValidationError as error:
            raise InvalidResponse(source, response_errors(error), expected=_EXPECTED) from None
        when = instant(read_at, field="read_at") if read_at is not None else None
        if when is None and doc.read_at is not None:
            when = instant(doc.read_at, field="read_at")
        table = products if products is not None else ProductTable()
        windows_doc = [w for page in doc.pages for w in page.data]
        kind = _granularity(granularity or doc.granularity, windows_doc, source)
        horizon = kind.floor(when) if when is not None else None
        windows: dict[tuple[pendulum.DateTime, pendulum.DateTime], UsageWindow] = {}
        rows: list[UsageRow] = []
        for index, w in enumerate(windows_doc):
            start = instant(w.start_time, field="start_time")
            end = instant(w.end_time, field="end_time")
            if not start < end:
                raise InvalidResponse(
                    source,
                    [(f"data.{index}.end_time", f"{end.isoformat()} is not after start_time")],
                    expected=_EXPECTED,
                )
            window = windows.get((start, end))
            if window is None:
                final = horizon is None or end <= horizon
                window = windows[(start, end)] = UsageWindow(start, end, w.date, final)
            for item in w.line_items:
                product = table.get(item.product_name)
                rows.append(
                    UsageRow(
                        window=window,
                        product_name=item.product_name,
                        quantity=item.quantity,
                        unit_price=item.unit_price,
                        cost=item.cost,
                        product=product,
                        subject=_subject(item, product),
                        attributes=item.attributes,
                        pricing_dimensions=item.pricing_dimensions,
                        applied_credit=None
                        if item.applied_credit is None
                        else item.applied_credit.type,
                    )
                )
        ordered = sorted(windows.values(), key=lambda w: (w.start, w.end))
        rows.sort(key=lambda r: (r.window.start, r.product_name, r.subject, r.unit_price))
        periods = sorted({p.billing_period for p in doc.pages if p.billing_period})
        saved = {
            "granularity": kind.value,
            "read_at": None if when is None else when.isoformat().replace("+00:00", "Z"),
            **({"month": doc.month} if doc.month else {}),
            "pages": copy.deepcopy(data["pages"]),
        }
        return cls(kind, tuple(ordered), tuple(rows), when, tuple(periods), source, saved)

    @classmethod
    def from_file(cls, path: str | Path, *, products: ProductTable | None = None) -> UsageReport:
        """Load a report saved by ``together-billing usage pull --out`` (or an API page)."""
        target = Path(path)
        return cls.from_data(read_json(target), products=products, source=str(target))

    # -- what it says ----------------------------------------------------------------------

    @property
    def final(self) -> bool:
        """Whether every window of the report is final."""
        return all(window.final for window in self.windows)

    @property
    def unknown(self) -> tuple[UsageRow, ...]:
        """Rows of products the product table does not know (kept, never guessed)."""
        return tuple(row for row in self.rows if row.product is None)

    @property
    def total(self) -> Decimal:
        """The sum of every row's cost, known products or not."""
        return exact_sum(row.cost for row in self.rows)

    def to_data(self) -> dict[str, Any]:
        """The report as JSON-ready data (what :meth:`from_data` reads back); a copy."""
        return copy.deepcopy(dict(self.data))

    def to_scenario(
        self,
        *,
        days: int = 7,
        balance: object = None,
        catalog: Catalog | None = None,
        policies: Policies | None = None,
    ) -> Scenario:
        """The report's last ``days`` of final windows as a scenario to forecast from.

        What the account actually used becomes the history of a forecast; with
        ``SteadyUsage(window_days=days)`` the forecast assumes it goes on at the same
        rate (see docs/real-bill.md):

        - serverless tokens: one :class:`~together_billing.TokenUsage` per window,
          model and batch flag, at the window's start (ids make a repeat bill once);
        - dedicated endpoints that ran in the last window: running at the end, with
          the replicas that window's hours give (at least one), deployed at its start.

        Prices come from the report's own unit prices (source: the usage report),
        over ``catalog`` (default: the bundled one). ``balance`` is the credit balance
        at the report's end: the scenario's account opens with it plus what the
        history charges, so the forecast starts from exactly that balance. Rows of
        other products are left out, and the scenario's ``name`` says which and how much.
        """
        if type(days) is not int or days < 1:
            raise InvalidArgument("days", days, "a whole number of days >= 1")
        finals = [w for w in self.windows if w.final]
        if not finals:
            raise InvalidArgument("report", self.source, "a report with at least one final window")
        end = finals[-1].end
        start = end.subtract(days=days)
        rows = [r for r in self.rows if r.final and start <= r.window.start < end]
        history = _History(self.source, self.read_at or end, start)
        left_out: dict[str, Decimal] = {}
        for row in rows:
            if not history.add(row):
                name = row.product_name
                left_out[name] = left_out.get(name, Decimal(0)) + row.cost
        base = catalog if catalog is not None else default_catalog()
        scenario = Scenario(
            resources=history.resources(finals[-1]),
            events=history.events(finals[-1]),
            start=start,
            until=end,
            catalog=base.with_entries(*history.prices()),
            policies=policies if policies is not None else Policies(),
            name=_history_name(self.source, days, left_out),
        )
        if balance is None:
            return scenario
        opening = input_decimal(balance, field="balance")
        spent = exact_sum(line.amount_exact for line in scenario.run().lines)
        account = Account(opening_balance=EXACT_CONTEXT.add(opening, spent))
        return scenario.with_resources(account)


def _granularity(given: str | None, windows: Sequence[_WindowDoc], source: str) -> Granularity:
    if given is not None:
        return Granularity(given)
    lengths = {(w.end_time - w.start_time).total_seconds() for w in windows}
    if lengths <= {3600.0}:
        return Granularity.HOUR if lengths else Granularity.DAY
    if lengths <= {86400.0}:
        return Granularity.DAY
    raise InvalidResponse(
        source,
        [("data", f"windows of {sorted(lengths)} seconds; give the granularity (day or hour)")],
        expected=_EXPECTED,
    )


def _subject(item: _LineItemDoc, product: Product | None) -> str:
    key = product.subject if product is not None else "model"
    return item.pricing_dimensions.get(key) or item.attributes.get(key) or ""


# -- from the report to a forecast's history -----------------------------------------------------

_TOKEN_FIELDS: Final = {
    "input tokens": "input",
    "cached input tokens": "cached",
    "output tokens": "output",
}


def _history_name(source: str, days: int, left_out: Mapping[str, Decimal]) -> str:
    name = f"the last {days} day(s) of {source}"
    if left_out:
        parts = ", ".join(
            f"{product} (${exact_sum([cost])})" for product, cost in sorted(left_out.items())
        )
        name += f"; left out: {parts}"
    return name


class _History:
    """Rows of a report gathered into the resources, events and prices of a scenario."""

    def __init__(self, source: str, read_at: pendulum.DateTime, start: pendulum.DateTime) -> None:
        self.source = Source(
            "https://api.together.ai/v1/billing/usage",
            read_at.format("YYYY-MM-DD"),
            SourceKind.TOGETHER,
            f"unit prices of the usage report {source}",
        )
        self.start = start
        # (window start, model, batch) -> token counts; model -> kind -> unit price.
        self.tokens: dict[tuple[pendulum.DateTime, str, bool], dict[str, int]] = {}
        self.token_prices: dict[str, dict[str, Decimal]] = {}
        # hardware -> (window start, hours), unit price
        self.hours: dict[str, dict[pendulum.DateTime, Decimal]] = {}
        self.hardware_prices: dict[str, Decimal] = {}

    def add(self, row: UsageRow) -> bool:
        product = row.product
        if product is None or not row.subject:
            return False
        if product.category is Category.SERVERLESS:
            batch = product.kind.startswith("batch ")
            field = _TOKEN_FIELDS.get(product.kind.removeprefix("batch "))
            if field is None:
                return False
            if row.quantity != row.quantity.to_integral_value():
                raise InvalidArgument(
                    "quantity",
                    str(row.quantity),
                    f"a whole number of tokens ({row.product_name}, {row.window.date})",
                )
            counts = self.tokens.setdefault((row.window.start, row.subject, batch), {})
            counts[field] = counts.get(field, 0) + int(row.quantity)
            if not batch:
                self.token_prices.setdefault(row.subject, {})[field] = row.unit_price
            return True
        if product.category is Category.DEDICATED_ENDPOINT:
            windows = self.hours.setdefault(row.subject, {})
            windows[row.window.start] = windows.get(row.window.start, Decimal(0)) + row.quantity
            self.hardware_prices[row.subject] = row.unit_price
            return True
        return False

    def _running(self, last: UsageWindow) -> dict[str, int]:
        length = Decimal((last.end - last.start).total_seconds()) / 3600
        running = {}
        for hardware, windows in sorted(self.hours.items()):
            hours = windows.get(last.start, Decimal(0))
            if hours > 0:
                replicas = int((hours / length).to_integral_value(rounding="ROUND_HALF_UP"))
                running[hardware] = max(1, replicas)
        return running

    def resources(self, last: UsageWindow) -> list[Resource]:
        found: list[Resource] = [
            ServerlessUsage(model, model=model) for model in sorted({m for _, m, _ in self.tokens})
        ]
        for hardware, replicas in self._running(last).items():
            found.append(
                DedicatedEndpoint(
                    f"endpoint {hardware}",
                    model="(from the usage report)",
                    hardware=hardware,
                    min_replicas=replicas,
                    max_replicas=replicas,
                )
            )
        return found

    def events(self, last: UsageWindow) -> list[Event]:
        events: list[Event] = []
        for (at, model, batch), counts in sorted(self.tokens.items()):
            cached = counts.get("cached", 0)
            events.append(
                TokenUsage(
                    at,
                    model,
                    counts.get("input", 0) + cached,
                    counts.get("output", 0),
                    cached,
                    batch,
                    id=f"usage {at.isoformat()} {model}{' batch' if batch else ''}",
                )
            )
        events.extend(
            Deploy(last.start, f"endpoint {hardware}") for hardware in self._running(last)
        )
        return events

    def prices(self) -> list[PriceEntry]:
        million = Decimal(1_000_000)
        entries: list[PriceEntry] = []
        for model, prices in sorted(self.token_prices.items()):
            if "input" in prices and "output" in prices:
                cached = prices.get("cached")
                entries.append(
                    ServerlessPrice(
                        model,
                        prices["input"] * million,
                        prices["output"] * million,
                        self.start,
                        self.source,
                        None if cached is None else cached * million,
                    )
                )
        entries.extend(
            HardwarePrice(hardware, price, self.start, self.source)
            for hardware, price in sorted(self.hardware_prices.items())
        )
        return entries
