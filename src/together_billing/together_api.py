"""The connection to a real Together account, through the official SDK (``together`` 3.x).

Three calls of the SDK are read, each into library values:

- ``client.models.list_supported(...)`` (GET ``/v2/supported-models``): serverless
  prices per 1M tokens (``SupportedModel.pricing``: input, output, cached input);
- ``client.endpoints.hardware.list()`` (GET ``/v2/public/inference-instance-types``):
  the hourly price of each hardware configuration
  (``InferenceInstanceType.price_cents_per_hour``, ``gpu_count``, ``gpu_type``);
- ``client.organization.usage.costs.list(month=..., granularity=...)`` (GET
  ``/v1/billing/usage``): the usage report, see :mod:`together_billing.usage`.

Every price entry carries its source (the API endpoint, and the instant it was
read) and takes effect from that instant. Responses are taken as the JSON the SDK
received: an SDK float reaches the library only through its text (``str``), never
as a float. The same responses saved as JSON work offline: :func:`load_catalog`
and :meth:`~together_billing.usage.UsageReport.from_file`.

The SDK is an optional extra (``pip install 'together-billing[together]'``); without
it, pulling raises :class:`~together_billing.errors.MissingDependency`, and
everything that reads saved responses still works.

>>> from decimal import Decimal
>>> pulled = catalog_from_data(
...     {
...         "read_at": "2026-12-01T09:00:00Z",
...         "supported_models": [
...             {
...                 "data": [
...                     {
...                         "id": "m-1",
...                         "name": "MiniMaxAI/MiniMax-M2.5",
...                         "status": "SUPPORTED_MODEL_STATUS_SUPPORTED",
...                         "pricing": {
...                             "input": Decimal("0.3"),
...                             "output": Decimal("1.2"),
...                             "cachedInput": Decimal("0.06"),
...                         },
...                     }
...                 ]
...             }
...         ],
...         "hardware": [
...             {
...                 "data": [
...                     {
...                         "id": "1xnvidia-h100-80gb",
...                         "name": "1x H100 80GB",
...                         "gpuCount": 1,
...                         "gpuType": "H100",
...                         "priceCentsPerHour": 549,
...                     }
...                 ]
...             }
...         ],
...     }
... )
>>> at = "2026-12-02T00:00:00Z"
>>> pulled.catalog.hardware("4x_nvidia_h100_80gb_sxm", at).per_hour
Decimal('21.96')
>>> pulled.catalog.serverless("MiniMaxAI/MiniMax-M2.5", at).cached_input
Decimal('0.06')
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
import pendulum
import pydantic
import yaml

from together_billing._responses import (
    DecimalText,
    ResponseModel,
    dumps,
    iso,
    loads,
    read_json,
    response_errors,
)
from together_billing.catalog import (
    Catalog,
    HardwarePrice,
    PriceEntry,
    ServerlessPrice,
    Source,
    SourceKind,
    catalog_document,
)
from together_billing.errors import InvalidArgument, InvalidResponse, MissingDependency
from together_billing.time import instant
from together_billing.usage import USAGE_ENDPOINT, Granularity, ProductTable, UsageReport

__all__ = [
    "API_BASE",
    "HARDWARE_ENDPOINT",
    "MODELS_ENDPOINT",
    "PulledCatalog",
    "catalog_from_data",
    "connect",
    "load_catalog",
    "pull_catalog",
    "pull_usage",
]

#: Where Together's API lives (the SDK's default base URL).
API_BASE: Final = "https://api.together.ai"
MODELS_ENDPOINT: Final = "GET /v2/supported-models"
HARDWARE_ENDPOINT: Final = "GET /v2/public/inference-instance-types"

_DEPRECATED: Final = "SUPPORTED_MODEL_STATUS_DEPRECATED"
_HARDWARE_ID: Final = re.compile(r"^\d+x", re.IGNORECASE)
_MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- the response shapes --------------------------------------------------------------------------


class _PricingDoc(ResponseModel):
    input: DecimalText | None = None
    output: DecimalText | None = None
    cached_input: DecimalText | None = pydantic.Field(default=None, alias="cachedInput")


class _SupportedModelDoc(ResponseModel):
    id: str
    name: str = pydantic.Field(min_length=1)
    status: str = ""
    pricing: _PricingDoc | None = None


class _ModelsPageDoc(ResponseModel):
    data: list[_SupportedModelDoc]
    next_cursor: str | None = None


class _InstanceTypeDoc(ResponseModel):
    id: str = pydantic.Field(min_length=1)
    name: str = ""
    gpu_count: int = pydantic.Field(alias="gpuCount", ge=1)
    gpu_type: str = pydantic.Field(alias="gpuType")
    price_cents_per_hour: DecimalText = pydantic.Field(alias="priceCentsPerHour")


class _HardwarePageDoc(ResponseModel):
    data: list[_InstanceTypeDoc]
    next_cursor: str | None = None


class _SavedCatalogDoc(ResponseModel):
    read_at: pydantic.AwareDatetime
    supported_models: list[_ModelsPageDoc] = pydantic.Field(default_factory=list)
    hardware: list[_HardwarePageDoc] = pydantic.Field(default_factory=list)


_EXPECTED: Final = (
    f"saved price responses (read_at, and pages of {MODELS_ENDPOINT} and {HARDWARE_ENDPOINT})"
)


# -- a pulled catalog --------------------------------------------------------------------------


@attrs.frozen(eq=False)
class PulledCatalog:
    """Prices read from Together's API at ``read_at``, as a :class:`Catalog`.

    ``deprecated`` names the models whose status is deprecated (their price is kept,
    and their source's note says so); ``skipped`` lists ``(model, reason)`` for
    models listed without a serverless price. ``data`` is the responses as saved.
    """

    catalog: Catalog
    read_at: pendulum.DateTime
    deprecated: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    data: Mapping[str, Any] = attrs.field(repr=False)

    def to_document(self) -> dict[str, Any]:
        """The catalog as a catalog document (the ``catalog`` section of a scenario file).

        :func:`~together_billing.catalog.catalog_document`, with the sources named after
        the API: ``together-api-models``, ``together-api-hardware`` (``-deprecated``
        for the entries of deprecated models).
        """
        return catalog_document(self.catalog, source_name=_source_name)

    def write(self, path: str | Path) -> Path:
        """Write the catalog file (YAML, or JSON by a ``.json`` suffix) that scenarios load.

        Name it under ``catalog: files:`` in a scenario; ``default: true`` keeps the
        bundled snapshot for instants before ``read_at``.
        """
        target = Path(path)
        document = self.to_document()
        header = (
            f"# Prices pulled from Together's API ({MODELS_ENDPOINT}, {HARDWARE_ENDPOINT})\n"
            f"# at {iso(self.read_at)} by together-billing catalog pull; each entry takes\n"
            "# effect from that instant. Load it with `catalog: {files: [this file]}`.\n"
        )
        if target.suffix.lower() == ".json":
            text = dumps(document)
        else:
            text = header + yaml.safe_dump(document, sort_keys=False, width=120)
        _write(target, text)
        return target

    def write_responses(self, path: str | Path) -> Path:
        """Save the raw responses as JSON (what :func:`load_catalog` reads back)."""
        target = Path(path)
        _write(target, dumps(self.data))
        return target


def _write(target: Path, text: str) -> None:
    """Write a file the user named; a path that cannot be written is an input error."""
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidArgument("path", str(target), f"a writable file path ({reason})") from None


@contextlib.contextmanager
def _calling(endpoint: str) -> Iterator[None]:
    """Turn the SDK's own errors (a bad key, no network, a rate limit) into the library's."""
    try:
        yield
    except Exception as error:
        together = sys.modules.get("together")
        if together is None or not isinstance(error, together.TogetherError):
            raise
        problem = f"{type(error).__name__}: {error}"
        raise InvalidResponse(
            endpoint,
            [("request", problem)],
            expected="a successful answer (check TOGETHER_API_KEY and the network)",
        ) from None


def _source_name(source: Source) -> str:
    """The name of a pulled catalog's source in its document."""
    hardware = source.url.endswith(HARDWARE_ENDPOINT.split(" ", 1)[1])
    name = "together-api-" + ("hardware" if hardware else "models")
    return name + ("-deprecated" if source.note.endswith("deprecated") else "")


def _source(endpoint: str, read_at: pendulum.DateTime, note: str = "") -> Source:
    path = endpoint.split(" ", 1)[1]
    text = f"{endpoint} read at {iso(read_at)}" + (f"; {note}" if note else "")
    return Source(f"{API_BASE}{path}", read_at.format("YYYY-MM-DD"), SourceKind.TOGETHER, text)


def catalog_from_data(data: Any, *, source: str = "price responses") -> PulledCatalog:
    """A :class:`PulledCatalog` from saved responses (parsed JSON, numbers as Decimal; G4).

    ``data`` holds ``read_at`` and the pages of both calls: ``{"read_at": ...,
    "supported_models": [page, ...], "hardware": [page, ...]}``, each page as the API
    returned it. A model listed twice with the same price (pages that overlap) is
    read once; with two different prices it is an error.
    """
    try:
        doc = _SavedCatalogDoc.model_validate(data)
    except pydantic.ValidationError as error:
        raise InvalidResponse(source, response_errors(error), expected=_EXPECTED) from None
    read_at = instant(doc.read_at, field="read_at")
    entries: dict[tuple[str, ...], PriceEntry] = {}
    deprecated: list[str] = []
    skipped: list[tuple[str, str]] = []
    current = _source(MODELS_ENDPOINT, read_at)
    retired = _source(MODELS_ENDPOINT, read_at, "deprecated")
    for page_index, page in enumerate(doc.supported_models):
        for index, model in enumerate(page.data):
            where = f"supported_models.{page_index}.data.{index}"
            pricing = model.pricing
            if pricing is None or pricing.input is None:
                skipped.append((model.name, "no serverless price listed"))
                continue
            is_deprecated = model.status == _DEPRECATED
            if is_deprecated:
                deprecated.append(model.name)
            price = ServerlessPrice(
                model.name,
                pricing.input,
                pricing.output if pricing.output is not None else Decimal(0),
                read_at,
                retired if is_deprecated else current,
                pricing.cached_input,
            )
            if pricing.output is None:
                skipped.append((model.name, "no output price listed: output taken as 0"))
            _add(entries, price, where, source)
    hardware_source = _source(HARDWARE_ENDPOINT, read_at)
    for page_index, hardware_page in enumerate(doc.hardware):
        for index, item in enumerate(hardware_page.data):
            where = f"hardware.{page_index}.data.{index}"
            name = item.id if _HARDWARE_ID.match(item.id) or not item.name else item.name
            per_hour = item.price_cents_per_hour / 100
            if per_hour < 0:
                raise InvalidResponse(
                    source,
                    [(f"{where}.priceCentsPerHour", f"{item.price_cents_per_hour} is negative")],
                    expected=_EXPECTED,
                )
            _add(
                entries,
                HardwarePrice(name, per_hour, read_at, hardware_source, item.gpu_count),
                where,
                source,
            )
    return PulledCatalog(
        Catalog(entries.values()),
        read_at,
        tuple(sorted(set(deprecated))),
        tuple(sorted(set(skipped))),
        data,
    )


def _add(
    entries: dict[tuple[str, ...], PriceEntry], entry: PriceEntry, where: str, source: str
) -> None:
    earlier = entries.get(entry.key)
    if earlier is None:
        entries[entry.key] = entry
    elif earlier != entry:
        raise InvalidResponse(
            source,
            [(where, f"{entry.key[1]!r} is listed twice with different prices")],
            expected=_EXPECTED,
        )


def load_catalog(path: str | Path) -> PulledCatalog:
    """Read price responses saved by ``together-billing catalog pull --save-responses``."""
    target = Path(path)
    return catalog_from_data(read_json(target), source=str(target))


# -- the live API ------------------------------------------------------------------------------


def connect(*, api_key: str | None = None, needed_by: str = "pulling from Together's API") -> Any:
    """A ``together.Together`` client; the SDK also reads ``TOGETHER_BASE_URL``.

    Raises :class:`MissingDependency` without the ``together`` extra, and
    :class:`InvalidArgument` when no API key is given or set.
    """
    try:
        import together  # noqa: PLC0415 - an optional extra, imported when used
    except ImportError:
        raise MissingDependency("together", needed_by=needed_by, extra="together") from None
    key = api_key if api_key is not None else os.environ.get("TOGETHER_API_KEY")
    if not key:
        raise InvalidArgument(
            "TOGETHER_API_KEY",
            key,
            "your Together API key in the environment (export TOGETHER_API_KEY=...), "
            "or work offline on saved responses (--from-json)",
        )
    return together.Together(api_key=key)


def _pages(first: Any) -> Iterator[Any]:
    """Every page of an SDK cursor page, following ``next_cursor``."""
    page = first
    while True:
        yield page
        if not page.has_next_page():
            return
        page = page.get_next_page()


def _page_json(page: Any, endpoint: str) -> Any:
    """A page as the JSON the SDK received: its floats through text, never as floats."""
    return loads(page.to_json(indent=None), source=endpoint)


def _now(now: object) -> pendulum.DateTime:
    return pendulum.now("UTC") if now is None else instant(now, field="now")


def pull_catalog(
    client: Any = None,
    *,
    now: object = None,
    product: str = "PRODUCT_SERVERLESS",
    limit: int | None = None,
) -> PulledCatalog:
    """Read serverless and hardware prices from the live API, every page of both lists.

    ``client`` is a ``together.Together`` (default: :func:`connect`), ``now`` the
    instant recorded as ``read_at`` (default: the clock).
    """
    api = connect(needed_by="pull_catalog") if client is None else client
    read_at = _now(now)
    options: dict[str, Any] = {"product": product}
    if limit is not None:
        options["limit"] = limit
    with _calling(MODELS_ENDPOINT):
        models = [
            _page_json(page, MODELS_ENDPOINT)
            for page in _pages(api.models.list_supported(**options))
        ]
    hardware = []
    with _calling(HARDWARE_ENDPOINT):
        response = api.endpoints.hardware.list()
        seen: set[str] = set()
        while True:
            hardware.append(_page_json(response, HARDWARE_ENDPOINT))
            cursor = response.next_cursor
            # The list comes whole today (next_cursor is always null); follow it if it pages.
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
            response = api.endpoints.hardware.list(extra_query={"after": cursor})
    data = {"read_at": iso(read_at), "supported_models": models, "hardware": hardware}
    return catalog_from_data(data, source=f"{MODELS_ENDPOINT}, {HARDWARE_ENDPOINT}")


def pull_usage(
    client: Any = None,
    *,
    month: str,
    granularity: Granularity | str = Granularity.DAY,
    now: object = None,
    limit: int | None = None,
    products: ProductTable | None = None,
) -> UsageReport:
    """Read one month's usage report from the live API, every page.

    ``month`` is ``YYYY-MM``; windows not finalised at ``now`` (the current month's
    open day or hour) are marked not final.
    """
    if not isinstance(month, str) or not _MONTH.match(month):
        raise InvalidArgument("month", month, "a month as YYYY-MM, for example 2026-11")
    kind = Granularity(granularity)
    api = connect(needed_by="pull_usage") if client is None else client
    read_at = _now(now)
    options: dict[str, Any] = {"month": month, "granularity": kind.value}
    if limit is not None:
        options["limit"] = limit
    with _calling(USAGE_ENDPOINT):
        pages = [
            _page_json(page, USAGE_ENDPOINT)
            for page in _pages(api.organization.usage.costs.list(**options))
        ]
    data = {"granularity": kind.value, "read_at": iso(read_at), "month": month, "pages": pages}
    return UsageReport.from_data(data, products=products, source=USAGE_ENDPOINT)
