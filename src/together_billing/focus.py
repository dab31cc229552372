"""FOCUS export: every invoice line as a row of the FinOps Foundation's FOCUS 1.2 format.

`FOCUS <https://focus.finops.org>`_ (FinOps Open Cost and Usage Specification) is the
common column set that cost tools read. :func:`focus_rows` turns a replay's invoices into
FOCUS 1.2 ``CostAndUsage`` rows, :func:`write_focus_csv` writes them as CSV, and
``together-billing export --format focus`` does both. What each column holds, and why,
is on the documentation page ``docs/focus.md``.

- One **Usage** row per invoice line: ``BilledCost`` is the line's amount (rounded by
  P-ROUND), ``EffectiveCost``, ``ListCost`` and ``ContractedCost`` the same (the replay
  knows one price per line); ``PricingQuantity`` is the quantity in the rate's unit
  (``ConsumedQuantity`` / rate_per), so ``PricingQuantity x ListUnitPrice`` is the exact
  amount before rounding.
- An **upfront reservation** (rules CL2, CL5) is a **Purchase** row for its whole
  commitment period (``ChargeFrequency`` ``One-Time``, ``EffectiveCost`` 0), plus one
  amortised Usage row per billing period the commitment covers (``BilledCost`` 0,
  ``EffectiveCost`` its share), so that both ``BilledCost`` and ``EffectiveCost`` add up
  to the invoices' total.
- ``SkuId`` is ``category/rule``, ``SkuPriceId`` adds the rate; the rule id and the
  catalog source are ``x_`` tags (and ``x_`` columns).

>>> from together_billing import Catalog, HardwarePrice, DedicatedEndpoint, Deploy, simulate
>>> catalog = Catalog([HardwarePrice("1x_nvidia_h100_80gb_sxm", "5.49", "2025-01-01T00:00:00Z")])
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> result = simulate(
...     [endpoint],
...     [Deploy("2025-11-03T00:00:00Z", "ep")],
...     until="2025-11-04T00:00:00Z",
...     catalog=catalog,
... )
>>> (row,) = focus_rows(result, billing_account_id="acme")
>>> row["ChargeCategory"], row["ServiceName"], row["SkuId"], row["BilledCost"]
('Usage', 'Dedicated Endpoints', 'dedicated-endpoint/DE1', '131.76')
>>> row["ConsumedQuantity"], row["ConsumedUnit"], row["PricingQuantity"], row["PricingUnit"]
('1440.0', 'Replica-Minutes', '24.0', 'Replica-Hours')
>>> row["ChargePeriodStart"], row["ChargePeriodEnd"], row["InvoiceId"]
('2025-11-03T00:00:00Z', '2025-11-04T00:00:00Z', 'acme-2025-11')
>>> check_focus_rows([row])
[]
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TextIO

from together_billing.engine import SimulationResult
from together_billing.invoice import Invoice, InvoiceLine
from together_billing.money import EXACT_CONTEXT, RoundingMode, round_to_cents
from together_billing.resources import Category
from together_billing.time import BillingPeriod, from_micros, to_micros

__all__ = ["FOCUS_COLUMNS", "FOCUS_VERSION", "check_focus_rows", "focus_rows", "write_focus_csv"]

#: The FOCUS version the rows follow.
FOCUS_VERSION = "1.2"

#: The columns written, in order: FOCUS 1.2 columns, then our ``x_`` columns.
FOCUS_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_AmountExact",
    "x_CatalogSource",
    "x_CatalogSourceKind",
    "x_RuleId",
)

_PROVIDER = "Together AI"
_RESERVATION_RULES = frozenset({"CL2", "CL5"})

#: Per category: ServiceName, ServiceCategory, ServiceSubcategory, ResourceType. One
#: ServiceName has one subcategory (FOCUS ServiceName-C-008-C).
_SERVICES: dict[Category, tuple[str, str, str, str]] = {
    Category.SERVERLESS: (
        "Serverless Inference",
        "AI and Machine Learning",
        "Generative AI",
        "Serverless Model",
    ),
    Category.FINE_TUNING: (
        "Fine-Tuning",
        "AI and Machine Learning",
        "Generative AI",
        "Fine-Tuning Job",
    ),
    Category.FINE_TUNED_HOSTING: (
        "Fine-Tuned Model Hosting",
        "AI and Machine Learning",
        "Generative AI",
        "Fine-Tuned Model Deployment",
    ),
    Category.DEDICATED_ENDPOINT: (
        "Dedicated Endpoints",
        "AI and Machine Learning",
        "Generative AI",
        "Dedicated Endpoint",
    ),
    Category.RESERVED_COMPUTE: ("Instant Clusters", "Compute", "Other (Compute)", "GPU Cluster"),
    Category.BURST_COMPUTE: ("Instant Clusters", "Compute", "Other (Compute)", "GPU Cluster"),
    Category.ON_DEMAND_COMPUTE: ("Instant Clusters", "Compute", "Other (Compute)", "GPU Cluster"),
    Category.STORAGE: ("Shared Storage", "Storage", "File Storage", "Storage Volume"),
}

#: Our units (singular, as on invoice lines) in FOCUS's unit format (plural, capitalised).
_UNITS: dict[str, str] = {
    "token": "Tokens",
    "replica-minute": "Replica-Minutes",
    "replica-hour": "Replica-Hours",
    "GPU-minute": "GPU-Minutes",
    "GPU-hour": "GPU-Hours",
    "TiB-minute": "TiB-Minutes",
    "TiB-hour": "TiB-Hours",
    "1M tokens": "1000000 Tokens",
}


def focus_rows(
    result: SimulationResult,
    *,
    billing_account_id: str,
    billing_account_name: str | None = None,
) -> list[dict[str, str | None]]:
    """The FOCUS 1.2 rows of every invoice line of ``result``, in invoice order.

    Values are text as written to CSV (``None`` is an empty cell): decimals in plain
    notation with a decimal point (``1000000.0``, never ``1E+6``), instants in UTC as
    ``YYYY-MM-DDTHH:MM:SSZ``, ``Tags`` and ``SkuPriceDetails`` as JSON objects. A
    reservation's amortised shares are rounded in the result's own mode (P-ROUND).
    """
    account = (billing_account_id, billing_account_name or billing_account_id)
    rounding = result.policies.rounding
    rows: list[dict[str, str | None]] = []
    for invoice in result.invoices:
        for line in invoice.lines:
            if line.category is Category.RESERVED_COMPUTE and line.rule in _RESERVATION_RULES:
                rows.append(_purchase_row(invoice, line, account))
                rows.extend(_amortised_rows(line, account, rounding))
            else:
                rows.append(_usage_row(invoice, line, account))
    for row in rows:  # Together prices in the currency it bills in
        row["PricingCurrencyEffectiveCost"] = row["EffectiveCost"]
    return rows


def write_focus_csv(rows: Iterable[dict[str, str | None]], stream: TextIO) -> None:
    """Write FOCUS rows as CSV with a header of :data:`FOCUS_COLUMNS` (``\\n`` line ends)."""
    writer = csv.DictWriter(stream, fieldnames=FOCUS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


# -- rows ---------------------------------------------------------------------------------------


def _common(
    line: InvoiceLine, period: BillingPeriod, account: tuple[str, str]
) -> dict[str, str | None]:
    service, category, subcategory, resource_type = _SERVICES[line.category]
    rate_unit = _rate_unit(line)
    sku = f"{line.category.value}/{line.rule}"
    row: dict[str, str | None] = dict.fromkeys(FOCUS_COLUMNS)
    row.update(
        {
            "BillingAccountId": account[0],
            "BillingAccountName": account[1],
            "BillingCurrency": "USD",
            "BillingPeriodStart": _utc(period.start),
            "BillingPeriodEnd": _utc(period.end),
            "ChargeDescription": line.description,
            "ContractedUnitPrice": _number(line.rate),
            "InvoiceId": f"{account[0]}-{period.label}",
            "InvoiceIssuerName": _PROVIDER,
            "ListUnitPrice": _number(line.rate),
            "PricingCurrency": "USD",
            "PricingCurrencyContractedUnitPrice": _number(line.rate),
            "PricingCurrencyListUnitPrice": _number(line.rate),
            "PricingUnit": _UNITS.get(rate_unit, rate_unit),
            "ProviderName": _PROVIDER,
            "PublisherName": _PROVIDER,
            "ResourceId": line.resource,
            "ResourceName": line.resource,
            "ResourceType": resource_type,
            "ServiceCategory": category,
            "ServiceName": service,
            "ServiceSubcategory": subcategory,
            "SkuId": sku,
            "SkuMeter": _UNITS.get(line.unit, line.unit),
            "SkuPriceId": f"{sku}/{line.rate} {line.rate_unit}",
            "SkuPriceDetails": _json(
                {
                    "x_Rate": str(line.rate),
                    "x_RateUnit": line.rate_unit,
                    "x_EffectiveFrom": _utc(line.price_effective_from),
                }
            ),
            "Tags": _json(
                {
                    "x_rule": line.rule,
                    "x_catalog_source": line.source.url,
                    "x_catalog_source_kind": line.source.kind.value,
                }
            ),
            "x_CatalogSource": line.source.url,
            "x_CatalogSourceKind": line.source.kind.value,
            "x_RuleId": line.rule,
        }
    )
    return row


def _usage_row(
    invoice: Invoice, line: InvoiceLine, account: tuple[str, str]
) -> dict[str, str | None]:
    row = _common(line, invoice.period, account)
    start, end = _charge_period(line)
    cost = _number(line.amount)
    row.update(
        {
            "BilledCost": cost,
            "ChargeCategory": "Usage",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": start,
            "ChargePeriodEnd": end,
            "ConsumedQuantity": _number(line.quantity),
            "ConsumedUnit": _UNITS.get(line.unit, line.unit),
            "ContractedCost": cost,
            "EffectiveCost": cost,
            "ListCost": cost,
            "PricingCategory": "Standard",
            "PricingQuantity": _number(EXACT_CONTEXT.divide(line.quantity, line.rate_per)),
            "x_AmountExact": _number(line.amount_exact),
        }
    )
    return row


def _commitment(line: InvoiceLine) -> dict[str, str | None]:
    """The columns naming an upfront reservation (a FOCUS commitment discount)."""
    return {
        "CommitmentDiscountCategory": "Usage",
        "CommitmentDiscountId": f"{line.resource}/{line.rule}/{_utc(line.interval.start)}",
        "CommitmentDiscountName": f"{line.resource}: {line.description}",
        "CommitmentDiscountType": "Reservation",
        "CommitmentDiscountUnit": _UNITS[line.unit],
    }


def _purchase_row(
    invoice: Invoice, line: InvoiceLine, account: tuple[str, str]
) -> dict[str, str | None]:
    row = _common(line, invoice.period, account)
    start, end = _charge_period(line)
    cost = _number(line.amount)
    row.update(_commitment(line))
    row.update(
        {
            "BilledCost": cost,
            "ChargeCategory": "Purchase",
            "ChargeFrequency": "One-Time",
            "ChargePeriodStart": start,
            "ChargePeriodEnd": end,
            "CommitmentDiscountQuantity": _number(line.quantity),
            "ContractedCost": cost,
            # The purchase covers future usage: its cost is effective on the amortised rows.
            "EffectiveCost": _number(Decimal("0.00")),
            "ListCost": cost,
            "PricingCategory": "Committed",
            "PricingQuantity": _number(EXACT_CONTEXT.divide(line.quantity, line.rate_per)),
            "x_AmountExact": _number(line.amount_exact),
        }
    )
    return row


def _amortised_rows(
    line: InvoiceLine, account: tuple[str, str], rounding: RoundingMode
) -> list[dict[str, str | None]]:
    """The reservation's usage, one row per billing period, its cost spread by time.

    Shares are differences of the rounded cumulative amount, so they add up to the
    purchase's amount exactly, whatever the rounding mode.
    """
    lo, hi = to_micros(line.interval.start), to_micros(line.interval.end)
    total = hi - lo
    rows: list[dict[str, str | None]] = []
    done = Decimal("0.00")
    at = lo
    while at < hi:
        period = BillingPeriod.of_micros(at)
        end = min(hi, to_micros(period.end))
        fraction = EXACT_CONTEXT.divide(Decimal(end - lo), Decimal(total))
        cumulative = round_to_cents(EXACT_CONTEXT.multiply(line.amount, fraction), rounding)
        share = cumulative - done
        done = cumulative
        quantity = EXACT_CONTEXT.divide(
            EXACT_CONTEXT.multiply(line.quantity, Decimal(end - at)), Decimal(total)
        )
        row = _common(line, period, account)
        row.update(_commitment(line))
        row.update(
            {
                "BilledCost": _number(Decimal("0.00")),
                "ChargeCategory": "Usage",
                "ChargeFrequency": "Usage-Based",
                "ChargeDescription": f"{line.description}, amortised",
                "ChargePeriodStart": _focus_period(at, end)[0],
                "ChargePeriodEnd": _focus_period(at, end)[1],
                "CommitmentDiscountQuantity": _number(quantity),
                "CommitmentDiscountStatus": "Used",
                "ConsumedQuantity": _number(quantity),
                "ConsumedUnit": _UNITS[line.unit],
                "ContractedCost": _number(share),
                "EffectiveCost": _number(share),
                "ListCost": _number(share),
                "PricingCategory": "Committed",
                "PricingQuantity": _number(EXACT_CONTEXT.divide(quantity, line.rate_per)),
                "x_AmountExact": _number(share),
            }
        )
        rows.append(row)
        at = end
    return rows


# -- formats ------------------------------------------------------------------------------------


def _rate_unit(line: InvoiceLine) -> str:
    """The unit a rate is quoted per: ``USD per replica-hour`` -> ``replica-hour``."""
    return line.rate_unit.removeprefix("USD per ")


def _charge_period(line: InvoiceLine) -> tuple[str, str]:
    """The line's interval in whole seconds, widened outward (FOCUS has no fractions).

    A charge at an instant (tokens, a finished job) gets a one-second period, since a
    FOCUS charge period ends strictly after it starts.
    """
    return _focus_period(to_micros(line.interval.start), to_micros(line.interval.end))


def _focus_period(start: int, end: int) -> tuple[str, str]:
    """``[start, end)`` in microseconds as FOCUS instants: whole seconds, widened outward,
    at least one second long (a FOCUS charge period ends strictly after it starts)."""
    start = start // 1_000_000 * 1_000_000
    end = max(-(-end // 1_000_000) * 1_000_000, start + 1_000_000)
    return _utc(from_micros(start)), _utc(from_micros(end))


def _utc(value: dt.datetime) -> str:
    """``2025-11-01T00:00:00Z``: UTC, whole seconds, the ``Z`` designator."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Decimal) -> str:
    """Plain decimal notation with a decimal point: ``1000000.0``, ``0.36``, ``-0.5``.

    FOCUS cost and quantity columns are decimals; an integer-valued cell without a point
    is read as an integer by CSV readers (DuckDB in the FOCUS validator), so it gets one.
    """
    text = format(abs(value) if value == 0 else value, "f")
    return text if "." in text else text + ".0"


def _json(value: dict[str, str]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def check_focus_rows(rows: Iterable[Mapping[str, str | None]]) -> list[str]:
    """Our own checks, stricter than the FOCUS validator's: what is wrong, per row.

    Per row: every column of :data:`FOCUS_COLUMNS` present, every enum value allowed,
    instants in UTC ``Z`` format, the charge period's end after its start, decimals
    where numbers belong, ``PricingQuantity x ListUnitPrice`` within two cents of
    ``ListCost`` (P-ROUND moves a line by less than a cent, an amortised share by less
    than one more), ``BilledCost`` = ``EffectiveCost`` on the Usage rows no reservation
    covers, no negative quantity or cost. Rows read back from the CSV (empty cells as
    ``""``) are checked alike. An empty list means valid.
    """
    problems: list[str] = []
    for index, row in enumerate(rows):
        problems.extend(f"row {index}: {problem}" for problem in _row_problems(row))
    return problems


_ENUMS: dict[str, frozenset[str | None]] = {
    "ChargeCategory": frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"}),
    "ChargeClass": frozenset({None, "Correction"}),
    "ChargeFrequency": frozenset({"One-Time", "Recurring", "Usage-Based"}),
    "PricingCategory": frozenset({"Standard", "Dynamic", "Committed", "Other"}),
    "CommitmentDiscountCategory": frozenset({None, "Spend", "Usage"}),
    "CommitmentDiscountStatus": frozenset({None, "Used", "Unused"}),
    "BillingCurrency": frozenset({"USD"}),
    "PricingCurrency": frozenset({"USD"}),
    "ServiceCategory": frozenset({"AI and Machine Learning", "Compute", "Storage"}),
}
_UTC_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_INSTANTS = (
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
)
_NUMBERS = tuple(
    column
    for column in FOCUS_COLUMNS
    if column.endswith(("Cost", "Price", "Quantity")) or column == "x_AmountExact"
)
_NOT_NEGATIVE = frozenset(
    {"BilledCost", "ConsumedQuantity", "EffectiveCost", "ListCost", "PricingQuantity"}
)


def _row_problems(raw: Mapping[str, str | None]) -> Iterator[str]:
    missing = [column for column in FOCUS_COLUMNS if column not in raw]
    if missing:
        yield f"columns {missing} are missing"
        return
    row = {column: raw[column] or None for column in FOCUS_COLUMNS}  # "" is an empty cell
    for column, allowed in _ENUMS.items():
        if row[column] not in allowed:
            yield f"{column} {row[column]!r} is not one of {sorted(map(str, allowed))}"
    for column in _INSTANTS:
        if not _UTC_INSTANT.fullmatch(row[column] or ""):
            yield f"{column} {row[column]!r} is not a UTC instant YYYY-MM-DDTHH:MM:SSZ"
    for start, end in (
        ("ChargePeriodStart", "ChargePeriodEnd"),
        ("BillingPeriodStart", "BillingPeriodEnd"),
    ):
        if (row[end] or "") <= (row[start] or ""):
            yield f"{end} {row[end]!r} is not after {start} {row[start]!r}"
    numbers: dict[str, Decimal] = {}
    for column in _NUMBERS:
        text = row[column]
        if text is None:
            continue
        try:
            number = Decimal(text)
        except decimal.InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            yield f"{column} {text!r} is not a decimal number"
        elif number < 0 and column in _NOT_NEGATIVE:
            yield f"{column} {text} is negative"
        else:
            numbers[column] = number
    if {"PricingQuantity", "ListUnitPrice", "ListCost"} <= set(numbers):
        product = EXACT_CONTEXT.multiply(numbers["PricingQuantity"], numbers["ListUnitPrice"])
        if abs(product - numbers["ListCost"]) > Decimal("0.02"):
            yield f"PricingQuantity x ListUnitPrice = {product} is not ListCost {row['ListCost']}"
    if (
        row["ChargeCategory"] == "Usage"
        and row["CommitmentDiscountId"] is None
        and row["BilledCost"] != row["EffectiveCost"]
    ):
        yield f"BilledCost {row['BilledCost']} is not EffectiveCost {row['EffectiveCost']}"
