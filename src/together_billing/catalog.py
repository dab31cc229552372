"""The price catalog: every rate with the instant it takes effect and its source (rule G4).

Rates never live in the rules' code. A :class:`Catalog` holds price entries, each
with ``effective_from`` and a :class:`Source`; a later entry for the same key
takes over at its instant, mid-period too. The default catalog ships as a data
file built from Together AI's public material, each entry with its URL and
date; entries not from Together's own material are marked (``source.official``
is false) and every invoice line priced from one says so.

>>> catalog = default_catalog()
>>> price = catalog.serverless("MiniMaxAI/MiniMax-M2.5", instant("2026-01-01T00:00:00Z"))
>>> price.input, price.cached_input, price.output
(Decimal('0.30'), Decimal('0.06'), Decimal('1.20'))
>>> catalog.hardware("4x_nvidia_h100_80gb_sxm", instant("2025-12-01T00:00:00Z")).per_hour
Decimal('15.96')

Hardware ids resolve in both of Together's spellings (v1 ``1x_nvidia_h100_80gb_sxm``,
v2 ``1xnvidia-h100-80gb``) to one entry, see :func:`hardware_key`:

>>> catalog.hardware("1xnvidia-h100-80gb", instant("2025-12-01T00:00:00Z")).per_hour
Decimal('3.99')
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from importlib import resources as _resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias

import attrs
import pendulum
import pydantic

from together_billing import _documents
from together_billing._choice import Choice
from together_billing._documents import Amount, Count, Flag, Instant
from together_billing.errors import InvalidArgument, InvalidScenario, UnknownPrice
from together_billing.money import to_decimal
from together_billing.time import from_micros, instant, to_micros

__all__ = [
    "Catalog",
    "ClusterBilling",
    "ClusterPrice",
    "FineTuningMethod",
    "FineTuningPrice",
    "HardwarePrice",
    "PriceEntry",
    "PriceKey",
    "ServerlessPrice",
    "SizeTierPrice",
    "Source",
    "SourceKind",
    "StoragePrice",
    "catalog_document",
    "default_catalog",
    "hardware_key",
    "load_data",
    "model_size",
]

PriceKey: TypeAlias = tuple[str, ...]


class SourceKind(Choice):
    """Where a price comes from."""

    __field__ = "kind"

    TOGETHER = "together"
    """Together AI's own docs, SDKs, API or support articles."""
    THIRD_PARTY = "third-party"
    """Someone else's copy or summary of Together's prices."""
    ESTIMATE = "estimate"
    """A figure chosen for illustration where no published price was found."""
    USER = "user"
    """A price supplied by the user (a contract, an invoice)."""


@attrs.frozen
class Source:
    """Where a rate was read: a URL, the date of that material, and what kind of source it is.

    ``date`` is ``None`` for undated material; ``note`` says what is uncertain.
    """

    url: str
    date: str | None = None
    kind: SourceKind = attrs.field(default=SourceKind.TOGETHER, converter=SourceKind)
    note: str = ""

    @property
    def official(self) -> bool:
        """True for Together's own material and for user-supplied (contract) prices."""
        return self.kind in (SourceKind.TOGETHER, SourceKind.USER)

    def describe(self) -> str:
        when = self.date or "undated"
        flag = "" if self.official else f" [{self.kind.value}]"
        return f"{self.url} ({when}){flag}"


USER_SOURCE: Final = Source("user-supplied", None, SourceKind.USER)


def _to_rate(value: object, field: str) -> Decimal:
    result = to_decimal(value, field=field)
    if result < 0:
        raise InvalidArgument(field, value, "a rate of zero or more")
    return result


def _input_rate(value: object) -> Decimal:
    return _to_rate(value, "input")


def _output_rate(value: object) -> Decimal:
    return _to_rate(value, "output")


def _per_hour_rate(value: object) -> Decimal:
    return _to_rate(value, "per_hour")


def _per_1m_rate(value: object) -> Decimal:
    return _to_rate(value, "per_1m_tokens")


def _effective(value: object) -> pendulum.DateTime:
    return instant(value, field="effective_from")


def _optional_rate(value: object) -> Decimal | None:
    if value is None:
        return None
    result = to_decimal(value, field="cached_input")
    if result < 0:
        raise InvalidArgument("cached_input", value, "a rate of zero or more, or None")
    return result


def _fraction(value: object) -> Decimal:
    result = to_decimal(value, field="batch_discount")
    if not 0 <= result <= 1:
        raise InvalidArgument("batch_discount", value, "a fraction from 0 to 1 (0.5 is 50% off)")
    return result


def _nonempty(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(attribute.name, value, "a non-empty string")


def model_size(value: object, *, field: str) -> Decimal:
    """A model's size in billions of parameters: a number above 0.

    The one check of every size: a size tier's and a fine-tuning bracket's
    ``max_params_b`` here, a resource's ``params_b`` (resources).

    >>> model_size("70", field="params_b")
    Decimal('70')
    >>> model_size(0, field="max_params_b")
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: max_params_b=0 is not valid; expected a positive \
number of billions of parameters
    """
    result = to_decimal(value, field=field)
    if result <= 0:
        raise InvalidArgument(field, value, "a positive number of billions of parameters")
    return result


def _params(value: object) -> Decimal:
    return model_size(value, field="max_params_b")


@attrs.frozen
class ServerlessPrice:
    """Serverless rates for one model, in USD per 1M tokens (rules SL1-SL3).

    ``cached_input`` is ``None`` where the model has no cached rate (cached tokens
    then bill as input); ``batch_discount`` is the fraction taken off batch
    requests (0.5 = 50%).
    """

    model: str = attrs.field(validator=_nonempty)
    input: Decimal = attrs.field(converter=_input_rate)
    output: Decimal = attrs.field(converter=_output_rate)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE
    cached_input: Decimal | None = attrs.field(default=None, converter=_optional_rate)
    batch_discount: Decimal = attrs.field(default=Decimal(0), converter=_fraction)
    tier: str | None = None
    """Set when the price was derived from a size tier (P-TIER), naming the tier."""

    @property
    def key(self) -> PriceKey:
        return ("serverless", self.model)


@attrs.frozen
class SizeTierPrice:
    """Fallback serverless rates by model size (policy P-TIER), USD per 1M tokens.

    Applies to models of up to ``max_params_b`` billions of parameters that are
    above the next smaller tier.
    """

    tier: str = attrs.field(validator=_nonempty)
    max_params_b: Decimal = attrs.field(converter=_params)
    input: Decimal = attrs.field(converter=_input_rate)
    output: Decimal = attrs.field(converter=_output_rate)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE
    batch_discount: Decimal = attrs.field(default=Decimal(0), converter=_fraction)

    @property
    def key(self) -> PriceKey:
        return ("size-tier", self.tier)


_HARDWARE_COUNT: Final = re.compile(r"^(\d+)x[_-]?(.+)$")
_HARDWARE_SEPARATORS: Final = re.compile(r"[_\-\s]+")
#: The interconnect suffix of v1 ids that v2 ids leave out (every v2 H100/H200/B200 is SXM).
_DEFAULT_LINK: Final = "sxm"


def hardware_key(hardware: str) -> str:
    """The one spelling of a hardware configuration id that the catalog looks entries up by.

    Together spells the same configuration ``1x_nvidia_h100_80gb_sxm`` (v1 API and
    docs) and ``1xnvidia-h100-80gb`` (v2 instance types): the key lower-cases the
    id, reads the GPU count prefix, treats ``_`` and ``-`` alike and drops the
    ``sxm`` interconnect suffix that v2 ids omit. Other suffixes (``pcie``) are kept,
    so different hardware never shares a key (DE1).

    >>> hardware_key("1x_nvidia_h100_80gb_sxm") == hardware_key("1xnvidia-h100-80gb")
    True
    >>> hardware_key("4xnvidia-h100-80gb")
    '4x-nvidia-h100-80gb'
    """
    text = hardware.strip().lower()
    match = _HARDWARE_COUNT.match(text)
    count, rest = (match.group(1), match.group(2)) if match else ("", text)
    parts = [part for part in _HARDWARE_SEPARATORS.split(rest) if part]
    if len(parts) > 1 and parts[-1] == _DEFAULT_LINK:
        parts.pop()
    body = "-".join(parts)
    return f"{count}x-{body}" if count else body


def _gpu_count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument("gpu_count", value, "a whole number of GPUs, at least 1")


@attrs.frozen
class HardwarePrice:
    """The rate of one dedicated hardware configuration per running replica, USD per hour.

    Rule DE1: the rate scales with GPU count. A configuration ``Nx_<gpu>`` with no
    entry of its own is priced at N times the ``1x_<gpu>`` entry.
    Use :meth:`from_cents_per_minute` for figures from ``GET /v1/hardware``.
    """

    hardware: str = attrs.field(validator=_nonempty)
    per_hour: Decimal = attrs.field(converter=_per_hour_rate)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE
    gpu_count: int = attrs.field(default=1, validator=_gpu_count)

    @classmethod
    def from_cents_per_minute(
        cls,
        hardware: str,
        cents_per_minute: Decimal | int | str,
        effective_from: object,
        source: Source = USER_SOURCE,
        gpu_count: int = 1,
    ) -> HardwarePrice:
        """Build from the v1 API's ``pricing.cents_per_minute`` (10.82 is $6.492/hour).

        That shape (GET ``/v1/hardware``, SDK 1.x-2.x) is gone from the ``together`` 3.x
        SDK, whose ``InferenceInstanceType.price_cents_per_hour`` is read by
        :func:`together_billing.together_api.pull_catalog`.

        >>> HardwarePrice.from_cents_per_minute("1x_h100", "10.82", "2026-06-08T00:00:00Z").per_hour
        Decimal('6.492')
        """
        cents = to_decimal(cents_per_minute, field="cents_per_minute")
        return cls(hardware, cents * 60 / 100, effective_from, source, gpu_count)

    @property
    def key(self) -> PriceKey:
        return ("hardware", self.hardware)


class FineTuningMethod(Choice):
    """Training method of a fine-tuning job."""

    __field__ = "method"

    SFT = "sft"
    DPO = "dpo"


@attrs.frozen
class FineTuningPrice:
    """Fine-tuning rate per 1M tokens processed for a size bracket, method and LoRA/full (FT1)."""

    max_params_b: Decimal = attrs.field(converter=_params)
    method: FineTuningMethod = attrs.field(converter=FineTuningMethod)
    lora: bool
    per_1m_tokens: Decimal = attrs.field(converter=_per_1m_rate)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE

    @property
    def key(self) -> PriceKey:
        return ("fine-tuning", _canonical(self.max_params_b), self.method.value, str(self.lora))


class ClusterBilling(Choice):
    """How Instant Cluster compute (or storage) is priced (CL1)."""

    __field__ = "billing"

    RESERVED = "reserved"
    ON_DEMAND = "on-demand"


def _per_gpu_hour(value: object) -> Decimal:
    return _to_rate(value, "per_gpu_hour")


def _per_tib_hour(value: object) -> Decimal:
    return _to_rate(value, "per_tib_hour")


@attrs.frozen
class ClusterPrice:
    """Instant Cluster compute rate for a GPU type, USD per GPU-hour (CL1-CL4).

    ``billing`` is ``reserved`` (the discounted rate a reservation is charged at)
    or ``on-demand`` (on-demand clusters, and burst above a reservation).
    """

    gpu_type: str = attrs.field(validator=_nonempty)
    billing: ClusterBilling = attrs.field(converter=ClusterBilling)
    per_gpu_hour: Decimal = attrs.field(converter=_per_gpu_hour)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE

    @property
    def key(self) -> PriceKey:
        return ("cluster", self.gpu_type, self.billing.value)


@attrs.frozen
class StoragePrice:
    """Shared-volume storage rate, USD per TiB-hour (ST1, ST3).

    ``billing`` ``reserved`` prices volumes of an active reservation where such a
    rate exists (facts C22); ``on-demand`` prices every other volume.
    """

    billing: ClusterBilling = attrs.field(converter=ClusterBilling)
    per_tib_hour: Decimal = attrs.field(converter=_per_tib_hour)
    effective_from: pendulum.DateTime = attrs.field(converter=_effective)
    source: Source = USER_SOURCE

    @property
    def key(self) -> PriceKey:
        return ("storage", self.billing.value)


def _canonical(value: Decimal) -> str:
    """One spelling per number, so ``16`` and ``16.0`` name the same bracket."""
    return format(value.normalize(), "f")


PriceEntry: TypeAlias = (
    ServerlessPrice | SizeTierPrice | HardwarePrice | FineTuningPrice | ClusterPrice | StoragePrice
)


def _entry_order(entry: PriceEntry) -> tuple[PriceKey, int]:
    return (entry.key, to_micros(entry.effective_from))


@functools.lru_cache(maxsize=1024)
def _lookup(key: PriceKey) -> PriceKey:
    """The key a catalog files an entry under: hardware by :func:`hardware_key`.

    Cached: the engine asks for a running resource's price key at every event, and the
    key is a pure function of the spelling.
    """
    return ("hardware", hardware_key(key[1])) if key[0] == "hardware" else key


class Catalog:
    """An immutable collection of price entries, looked up by key and instant (G4).

    Two entries with the same key and ``effective_from`` are ambiguous and rejected.
    """

    __slots__ = ("_derived", "_entries", "_history", "_tiers")

    def __init__(self, entries: Iterable[PriceEntry] = ()) -> None:
        ordered = sorted(entries, key=_entry_order)
        history: dict[PriceKey, tuple[list[int], list[PriceEntry]]] = {}
        for entry in sorted(ordered, key=lambda e: (_lookup(e.key), to_micros(e.effective_from))):
            instants, items = history.setdefault(_lookup(entry.key), ([], []))
            at = to_micros(entry.effective_from)
            if instants and instants[-1] == at:
                raise InvalidArgument(
                    "effective_from",
                    entry.effective_from.isoformat(),
                    f"one entry per key and instant; {entry.key!r} has two",
                )
            instants.append(at)
            items.append(entry)
        self._entries: tuple[PriceEntry, ...] = tuple(ordered)
        self._history = history
        # Multi-GPU configurations derived from their 1x entry, by the spelling asked for.
        self._derived: dict[str, tuple[list[int], list[PriceEntry]]] = {}
        tiers = [e for e in ordered if isinstance(e, SizeTierPrice)]
        self._tiers = sorted({(t.max_params_b, t.tier) for t in tiers})

    @property
    def entries(self) -> tuple[PriceEntry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Catalog(<{len(self._entries)} entries>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalog) and self._entries == other._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def __deepcopy__(self, memo: dict[int, Any]) -> Catalog:
        return self  # immutable: a copy would only cost time

    def with_entries(self, *entries: PriceEntry) -> Catalog:
        """A new catalog with ``entries`` added (a price change or an override).

        An entry with the same key and instant as an existing one replaces it.
        """
        replaced = {(_lookup(e.key), to_micros(e.effective_from)) for e in entries}
        kept = [
            e
            for e in self._entries
            if (_lookup(e.key), to_micros(e.effective_from)) not in replaced
        ]
        return Catalog([*kept, *entries])

    # -- lookups ---------------------------------------------------------------------------

    def history(self, key: PriceKey) -> tuple[Sequence[int], Sequence[PriceEntry]]:
        """Effective instants (microseconds) and entries of one key, oldest first."""
        if key[0] != "hardware":
            return self._history.get(key, ((), ()))
        found = self._history.get(_lookup(key))
        if found is not None:
            return found
        derived = self._derived.get(key[1])
        if derived is None:
            derived = self._derived_hardware(key[1])
            if derived is None:
                return ((), ())
            self._derived[key[1]] = derived
        return derived

    def _derived_hardware(self, hardware: str) -> tuple[list[int], list[PriceEntry]] | None:
        """``Nx`` of a configuration priced only as ``1x`` (DE1, W4), in the asked spelling."""
        match = _HARDWARE_COUNT.match(hardware_key(hardware))
        if match is None or int(match.group(1)) < 2:
            return None
        count = int(match.group(1))
        base = self._history.get(("hardware", f"1x-{match.group(2)}"))
        if base is None:
            return None
        instants, items = base
        derived: list[PriceEntry] = []
        for item in items:
            assert isinstance(item, HardwarePrice)
            derived.append(
                attrs.evolve(
                    item,
                    hardware=hardware,
                    per_hour=item.per_hour * count,
                    gpu_count=item.gpu_count * count,
                )
            )
        return (list(instants), derived)

    def at(self, key: PriceKey, at: int) -> PriceEntry | None:
        """The entry of ``key`` in force at ``at`` (microseconds), or ``None``."""
        instants, items = self.history(key)
        index = bisect.bisect_right(instants, at) - 1
        return items[index] if index >= 0 else None

    def _require(self, key: PriceKey, at: pendulum.DateTime, what: str) -> PriceEntry:
        at = instant(at)
        found = self.at(key, to_micros(at))
        if found is not None:
            return found
        instants, _ = self.history(key)
        if instants:
            expected = f"an instant at or after {from_micros(instants[0]).isoformat()}"
            raise UnknownPrice(f"{what} at", at.isoformat(), expected)
        known = sorted(
            {
                getattr(items[0], key[0], k[1]) if key[0] == "hardware" else k[1]
                for k, (_, items) in self._history.items()
                if k[0] == key[0]
            }
        )
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        raise UnknownPrice(what, key[1], f"one in the catalog ({shown}) or a price entry for it")

    def serverless(
        self, model: str, at: pendulum.DateTime, *, params_b: Decimal | None = None
    ) -> ServerlessPrice:
        """The serverless price of ``model`` at ``at`` (SL2).

        A model with no entry at all is priced by its size tier when ``params_b`` is
        given (P-TIER); a listed model asked for before its first entry is an error.
        """
        at = instant(at)
        found = self.at(("serverless", model), to_micros(at))
        if isinstance(found, ServerlessPrice):
            return found
        listed = bool(self.history(("serverless", model))[0])
        if params_b is not None and not listed:
            tier = self.size_tier(params_b, at)
            return ServerlessPrice(
                model,
                tier.input,
                tier.output,
                tier.effective_from,
                tier.source,
                None,
                tier.batch_discount,
                tier.tier,
            )
        entry = self._require(("serverless", model), at, "model")
        assert isinstance(entry, ServerlessPrice)
        return entry

    def size_tier(self, params_b: Decimal, at: pendulum.DateTime) -> SizeTierPrice:
        """The size tier for a model of ``params_b`` billions of parameters (SL2, P-TIER)."""
        for max_params, name in self._tiers:
            if params_b <= max_params:
                entry = self._require(("size-tier", name), at, "size tier")
                assert isinstance(entry, SizeTierPrice)
                return entry
        largest = self._tiers[-1][0] if self._tiers else None
        raise UnknownPrice(
            "params_b", params_b, f"a size up to {largest}B covered by the size tiers"
        )

    def hardware(self, hardware: str, at: pendulum.DateTime) -> HardwarePrice:
        """The hourly rate of a hardware configuration at ``at`` (DE1)."""
        entry = self._require(("hardware", hardware), at, "hardware")
        assert isinstance(entry, HardwarePrice)
        return entry

    def fine_tuning(
        self,
        params_b: Decimal,
        method: FineTuningMethod,
        lora: bool,
        at: pendulum.DateTime,
    ) -> FineTuningPrice:
        """The fine-tuning rate for a model size, method and LoRA/full at ``at`` (FT1)."""
        brackets = sorted(
            {
                Decimal(k[1])
                for k in self._history
                if k[0] == "fine-tuning" and k[2] == method.value and k[3] == str(lora)
            }
        )
        for bracket in brackets:
            if params_b <= bracket:
                key = ("fine-tuning", _canonical(bracket), method.value, str(lora))
                entry = self._require(key, at, "fine-tuning bracket")
                assert isinstance(entry, FineTuningPrice)
                return entry
        kind = f"{method.value}/{'lora' if lora else 'full'}"
        raise UnknownPrice(
            "params_b",
            params_b,
            f"a model size covered by a {kind} fine-tuning bracket "
            f"(brackets up to: {[str(b) for b in brackets]})",
        )

    def cluster(
        self, gpu_type: str, billing: ClusterBilling, at: pendulum.DateTime
    ) -> ClusterPrice:
        """The per-GPU-hour rate of a GPU type for reserved or on-demand compute (CL1)."""
        entry = self._require(("cluster", gpu_type, billing.value), at, f"{billing.value} gpu_type")
        assert isinstance(entry, ClusterPrice)
        return entry

    def storage(self, billing: ClusterBilling, at: pendulum.DateTime) -> StoragePrice:
        """The per-TiB-hour storage rate for reserved or on-demand volumes."""
        entry = self._require(("storage", billing.value), at, "storage billing")
        assert isinstance(entry, StoragePrice)
        return entry

    # -- files -----------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> Catalog:
        """Load a catalog from a YAML or JSON file (see ``docs/scenarios.md``)."""
        target = Path(path)
        return cls(load_data(read_document(target), source_name=str(target)))


# -- the file format ---------------------------------------------------------------------------


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class SourceDoc(_Model):
    url: str
    date: str | None = None
    kind: Literal["together", "third-party", "estimate", "user"] = "together"
    note: str = ""


class _EntryDoc(_Model):
    effective_from: Instant
    source: str | SourceDoc | None = None


class ServerlessDoc(_EntryDoc):
    model: str
    input: Amount
    output: Amount
    cached_input: Amount | None = None
    batch_discount: Amount = Decimal(0)


class SizeTierDoc(_EntryDoc):
    tier: str
    max_params_b: Amount
    input: Amount
    output: Amount
    batch_discount: Amount = Decimal(0)


class HardwareDoc(_EntryDoc):
    hardware: str
    per_hour: Amount | None = None
    cents_per_minute: Amount | None = None
    gpu_count: Annotated[Count, pydantic.Field(ge=1)] = 1


class FineTuningDoc(_EntryDoc):
    max_params_b: Amount
    method: Literal["sft", "dpo"]
    lora: Flag
    per_1m_tokens: Amount


class ClusterDoc(_EntryDoc):
    gpu_type: str
    billing: Literal["reserved", "on-demand"]
    per_gpu_hour: Amount


class StorageDoc(_EntryDoc):
    billing: Literal["reserved", "on-demand"] = "on-demand"
    per_tib_hour: Amount


class CatalogDoc(_Model):
    """A price catalog document (YAML or JSON)."""

    sources: dict[str, SourceDoc] = {}
    serverless: list[ServerlessDoc] = []
    size_tiers: list[SizeTierDoc] = []
    hardware: list[HardwareDoc] = []
    fine_tuning: list[FineTuningDoc] = []
    clusters: list[ClusterDoc] = []
    storage: list[StorageDoc] = []


def read_document(path: Path) -> Any:
    """Read YAML or JSON with fractional numbers as Decimal (through the one bounded reader)."""
    return _documents.read_document(path)


def _source(ref: str | SourceDoc | None, sources: Mapping[str, SourceDoc], where: str) -> Source:
    if ref is None:
        return USER_SOURCE
    if isinstance(ref, str):
        if ref not in sources:
            raise InvalidScenario(
                where, [("source", f"unknown source {ref!r}; define it under sources")]
            )
        ref = sources[ref]
    return Source(ref.url, ref.date, SourceKind(ref.kind), ref.note)


def pydantic_errors(error: pydantic.ValidationError) -> list[tuple[str, str]]:
    """``(location, message)`` pairs of a pydantic error, for :class:`InvalidScenario`."""
    return _documents.problems(error)


def load_data(data: Any, *, source_name: str = "catalog") -> list[PriceEntry]:
    """Price entries from a parsed catalog document."""
    try:
        doc = CatalogDoc.model_validate(data)
    except pydantic.ValidationError as error:
        raise InvalidScenario(source_name, pydantic_errors(error)) from None
    return entries_from_doc(doc, source_name=source_name)


def _hardware_entry(h: HardwareDoc, source: Source, source_name: str) -> HardwarePrice:
    if h.per_hour is not None and h.cents_per_minute is None:
        return HardwarePrice(h.hardware, h.per_hour, h.effective_from, source, h.gpu_count)
    if h.cents_per_minute is not None and h.per_hour is None:
        return HardwarePrice.from_cents_per_minute(
            h.hardware, h.cents_per_minute, h.effective_from, source, h.gpu_count
        )
    raise InvalidScenario(
        source_name,
        [(f"hardware {h.hardware}", "give exactly one of per_hour or cents_per_minute")],
    )


def entries_from_doc(doc: CatalogDoc, *, source_name: str = "catalog") -> list[PriceEntry]:
    """Turn a validated :class:`CatalogDoc` into price entries."""
    src = doc.sources

    def source(ref: str | SourceDoc | None) -> Source:
        return _source(ref, src, source_name)

    entries: list[PriceEntry] = [
        ServerlessPrice(
            s.model,
            s.input,
            s.output,
            s.effective_from,
            source(s.source),
            s.cached_input,
            s.batch_discount,
        )
        for s in doc.serverless
    ]
    entries.extend(
        SizeTierPrice(
            t.tier,
            t.max_params_b,
            t.input,
            t.output,
            t.effective_from,
            source(t.source),
            t.batch_discount,
        )
        for t in doc.size_tiers
    )
    entries.extend(_hardware_entry(h, source(h.source), source_name) for h in doc.hardware)
    entries.extend(
        FineTuningPrice(
            f.max_params_b,
            FineTuningMethod(f.method),
            f.lora,
            f.per_1m_tokens,
            f.effective_from,
            source(f.source),
        )
        for f in doc.fine_tuning
    )
    entries.extend(
        ClusterPrice(c.gpu_type, c.billing, c.per_gpu_hour, c.effective_from, source(c.source))
        for c in doc.clusters
    )
    entries.extend(
        StoragePrice(v.billing, v.per_tib_hour, v.effective_from, source(v.source))
        for v in doc.storage
    )
    return entries


_DEFAULT: Catalog | None = None


def default_catalog() -> Catalog:
    """The catalog shipped with the library (``together_billing/data/catalog.yaml``).

    Built from the figures in Together AI's public material, each entry with its
    source and date; see the docs' rules reference for which are estimates.
    """
    global _DEFAULT  # noqa: PLW0603 - a load-once cache of immutable data
    if _DEFAULT is None:
        text = _resources.files("together_billing").joinpath("data/catalog.yaml").read_text("utf-8")
        data = _documents.parse(text, source="default catalog", json_format=False)
        _DEFAULT = Catalog(load_data(data, source_name="default catalog"))
    return _DEFAULT


# -- writing the file format (issue 14: a pinned catalog that loads back) ---------------------


def catalog_document(
    catalog: Catalog, *, source_name: Callable[[Source], str] | None = None
) -> dict[str, Any]:
    """``catalog`` as a catalog document: what :meth:`Catalog.from_file` loads back.

    Every entry keeps its rates (as decimal strings, never floats), its
    ``effective_from`` and its source; sources are listed once under ``sources``,
    named ``s1``, ``s2``... in order of first use, or by ``source_name(source)``
    (a pulled catalog names them after the API; see ``PulledCatalog.to_document``).

    >>> doc = catalog_document(Catalog([HardwarePrice("1x_gpu", "5.49", "2025-01-01T00:00:00Z")]))
    >>> doc["hardware"]
    [{'hardware': '1x_gpu', 'per_hour': '5.49', 'effective_from': '2025-01-01T00:00:00+00:00', \
'source': 's1'}]
    >>> Catalog(load_data(doc)) == Catalog(
    ...     [HardwarePrice("1x_gpu", "5.49", "2025-01-01T00:00:00Z")]
    ... )
    True
    """
    sources: dict[Source, str] = {}

    def ref(source: Source) -> str:
        if source not in sources:
            sources[source] = f"s{len(sources) + 1}" if source_name is None else source_name(source)
        return sources[source]

    doc: dict[str, list[dict[str, Any]]] = {
        "serverless": [],
        "size_tiers": [],
        "hardware": [],
        "fine_tuning": [],
        "clusters": [],
        "storage": [],
    }
    for entry in catalog.entries:
        at = entry.effective_from.isoformat()
        if isinstance(entry, ServerlessPrice):
            row: dict[str, Any] = {"model": entry.model, "input": str(entry.input)}
            row["output"] = str(entry.output)
            if entry.cached_input is not None:
                row["cached_input"] = str(entry.cached_input)
            row["batch_discount"] = str(entry.batch_discount)
            section = "serverless"
        elif isinstance(entry, SizeTierPrice):
            row = {"tier": entry.tier, "max_params_b": str(entry.max_params_b)}
            row |= {"input": str(entry.input), "output": str(entry.output)}
            row["batch_discount"] = str(entry.batch_discount)
            section = "size_tiers"
        elif isinstance(entry, HardwarePrice):
            row = {"hardware": entry.hardware, "per_hour": str(entry.per_hour)}
            if entry.gpu_count != 1:
                row["gpu_count"] = entry.gpu_count
            section = "hardware"
        elif isinstance(entry, FineTuningPrice):
            row = {"max_params_b": str(entry.max_params_b), "method": entry.method.value}
            row |= {"lora": entry.lora, "per_1m_tokens": str(entry.per_1m_tokens)}
            section = "fine_tuning"
        elif isinstance(entry, ClusterPrice):
            row = {"gpu_type": entry.gpu_type, "billing": entry.billing.value}
            row["per_gpu_hour"] = str(entry.per_gpu_hour)
            section = "clusters"
        else:
            row = {"billing": entry.billing.value, "per_tib_hour": str(entry.per_tib_hour)}
            section = "storage"
        row |= {"effective_from": at, "source": ref(entry.source)}
        doc[section].append(row)
    listed = {
        name: {"url": s.url, "date": s.date, "kind": s.kind.value, "note": s.note}
        for s, name in sources.items()
    }
    return {"sources": listed, **{key: rows for key, rows in doc.items() if rows}}
