"""Hypothesis strategies for together-billing: amounts, instants, catalogs, resources and replays.

The strategies follow Hypothesis's own API style: plural names, ``min_value`` and
``max_value`` bounds, keyword-only options, strategies (never "a value or a
strategy") as arguments, and :class:`~together_billing.InvalidArgument` raised when
the strategy is built from arguments that cannot generate anything.

The centre piece is :func:`scenarios`: it draws :class:`~together_billing.scenario.Scenario`
values (the library's one replay value: resources, a timeline of events, a
user-priced catalog covering every resource, the policies and the replay window),
and every one of them replays without error. Events are
drawn chronologically per resource from a model of what the replay will do: the
idle auto-stop and the end of reservations are predicted exactly, and when an
:class:`~together_billing.Account` is present only events that stay valid whenever
credits run out are drawn. Counts are drawn first and instants are offsets from
the start, so failing examples shrink to few events, small numbers and early
instants.

A property of every bill, checked over generated replays (this block is run by
``tests/test_strategies.py``)::

    from hypothesis import given, settings
    from together_billing.strategies import timelines


    @settings(max_examples=10, deadline=None)
    @given(timelines())
    def test_totals_are_sums_of_lines(scenario):
        result = scenario.run()
        for invoice in result.invoices:
            assert invoice.total.amount == sum(line.amount for line in invoice.lines)

With the library installed, Hypothesis's ``hypothesis`` entry point registers
:func:`strategy_for` with ``st.from_type`` for every public value type (resources,
events, prices, policies, results...), so ``st.from_type(DedicatedEndpoint)`` works
without importing this module, and without slowing sessions that never use the library
(see ``together_billing._hypothesis_hook``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import pendulum

from together_billing.errors import MissingDependency

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - the testing extra is not installed
    raise MissingDependency(
        "hypothesis", needed_by="together_billing.strategies", extra="testing"
    ) from error

from together_billing._hypothesis_hook import setup
from together_billing.catalog import (
    Catalog,
    ClusterBilling,
    ClusterPrice,
    FineTuningMethod,
    FineTuningPrice,
    HardwarePrice,
    PriceEntry,
    ServerlessPrice,
    SizeTierPrice,
    StoragePrice,
)
from together_billing.credits import Account, AutoRecharge, AutoRechargeMode
from together_billing.engine import SimulationResult, Simulator
from together_billing.errors import InvalidArgument, UnknownPrice
from together_billing.money import Money, RoundingMode, to_decimal
from together_billing.policies import EDITIONS, Edition, Policies, ReservationPayment, ShrinkPolicy
from together_billing.resources import (
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
    Interval,
    MeteringGrain,
    from_micros,
    instant,
    to_micros,
)
from together_billing.timeline import (
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
)

if TYPE_CHECKING:
    from together_billing.scenario import Scenario

__all__ = [
    "DEFAULT_START",
    "DEFAULT_UNTIL",
    "EFFECTIVE_FROM",
    "FINE_TUNING_BRACKETS",
    "GPU_TYPES",
    "HARDWARE",
    "MODELS",
    "SIZE_TIERS",
    "accounts",
    "amounts",
    "auto_recharges",
    "catalogs",
    "dedicated_endpoints",
    "fine_tuned_hostings",
    "fine_tuning_jobs",
    "grants",
    "instant_clusters",
    "instants",
    "intervals",
    "lifecycles",
    "policies",
    "price_changes",
    "purchases",
    "rates",
    "scenarios",
    "serverless_usages",
    "storage_volumes",
    "strategy_for",
    "timelines",
    "token_usages",
]

#: When every price of :func:`catalogs` takes effect unless told otherwise.
EFFECTIVE_FROM: Final = pendulum.datetime(2025, 1, 1, tz="UTC")
#: The default replay window: four days across the October/November 2025 boundary.
DEFAULT_START: Final = pendulum.datetime(2025, 10, 30, tz="UTC")
DEFAULT_UNTIL: Final = pendulum.datetime(2025, 11, 3, tz="UTC")
#: Serverless models priced by :func:`catalogs` and used by :func:`serverless_usages`.
MODELS: Final = ("test/chat", "test/coder")
#: Single-GPU hardware priced by :func:`catalogs`; endpoints use ``1x``, ``2x``, ``4x``, ``8x``.
HARDWARE: Final = ("1x_test_h100", "1x_test_l40s")
#: GPU types of Instant Clusters priced by :func:`catalogs` (reserved and on demand).
GPU_TYPES: Final = ("test-h100", "test-b200")
#: Size tiers ``(name, max_params_b)`` of :func:`catalogs`, for models without an entry.
SIZE_TIERS: Final = (("small", Decimal(8)), ("large", Decimal(80)))
#: Fine-tuning size brackets of :func:`catalogs`, each for SFT/DPO and LoRA/full.
FINE_TUNING_BRACKETS: Final = (Decimal(16), Decimal(70))

_UNLISTED_MODEL: Final = "test/unlisted"
_GPU_COUNTS: Final = (1, 2, 4, 8)
_MAX_TIB: Final = 16
_MAX_GPUS: Final = 64
_MAX_TOKENS: Final = 2_000_000
_GAP_CAPS: Final = (MICROS_PER_MINUTE, MICROS_PER_HOUR, 24 * MICROS_PER_HOUR)
_DAY: Final = 24 * MICROS_PER_HOUR

#: Deployments start ready 3 times in 4 (shrinking towards ready, the default): one left
#: provisioning bills nothing.
_MOSTLY_READY: Final = st.sampled_from([True, True, True, False])


def _tokens(top: int) -> st.SearchStrategy[int]:
    """Token counts up to ``top``: half of them large (at least a tenth of ``top``), so a
    record bills cents, not a rounding of nothing; shrinks towards 0."""
    return st.integers(0, top) | st.integers(top // 10, top)


#: Reservation lengths and extensions: short ones end inside the default window.
_DAYS: Final = st.integers(1, 3) | st.integers(1, 90)

_T = TypeVar("_T")
_D = TypeVar("_D", DedicatedEndpoint, FineTunedHosting)


# -- argument checks ---------------------------------------------------------------------------


def _check_places(places: object) -> int:
    if not isinstance(places, int) or isinstance(places, bool) or places < 0:
        raise InvalidArgument("places", places, "an integer >= 0")
    return places


def _scaled_bounds(min_value: object, max_value: object, places: int) -> tuple[int, int]:
    """The bounds as integers of ``10**-places``, checked to leave at least one value."""
    low = to_decimal(min_value, field="min_value")
    high = to_decimal(max_value, field="max_value")
    if low > high:
        raise InvalidArgument("max_value", high, f"a value >= min_value ({low})")
    scale = Decimal(10) ** places
    first = int((low * scale).to_integral_value(rounding="ROUND_CEILING"))
    last = int((high * scale).to_integral_value(rounding="ROUND_FLOOR"))
    if first > last:
        raise InvalidArgument(
            "places",
            places,
            f"enough places for a value between min_value ({low}) and max_value ({high})",
        )
    return first, last


def _check_count(name: str, value: object, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidArgument(name, value, f"an integer >= {minimum}")
    return value


def _check_names(name: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InvalidArgument(name, values, "a non-empty sequence of names")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(name, values, "non-empty strings only")
    return tuple(values)


def _check_window(
    min_value: object,
    max_value: object,
    grid_seconds: object,
    names: tuple[str, str] = ("min_value", "max_value"),
) -> tuple[int, int, int]:
    """``(first, last, grid)`` in microseconds: the grid instants inside the bounds."""
    low = to_micros(instant(min_value, field=names[0]))
    high = to_micros(instant(max_value, field=names[1]))
    if low > high:
        raise InvalidArgument(
            names[1], from_micros(high).isoformat(), f"an instant at or after {names[0]}"
        )
    grid = 1
    if grid_seconds is not None:
        grid = _check_count("grid_seconds", grid_seconds, 1) * MICROS_PER_SECOND
    first = -(-low // grid) * grid
    last = high // grid * grid
    if first > last:
        raise InvalidArgument(
            "grid_seconds",
            grid_seconds,
            f"a grid with at least one instant between {names[0]} and {names[1]}",
        )
    return first, last, grid


# -- numbers and time --------------------------------------------------------------------------


def amounts(
    *,
    min_value: Decimal | int | str = Decimal(0),
    max_value: Decimal | int | str = Decimal(10_000),
    places: int = 2,
    currency: str = "USD",
) -> st.SearchStrategy[Money]:
    """Amounts of :class:`~together_billing.Money` from ``min_value`` to ``max_value``.

    Amounts have at most ``places`` decimal places. Examples shrink towards zero,
    or towards the bound nearest zero.
    """
    first, last = _scaled_bounds(min_value, max_value, _check_places(places))
    Money(0, currency)  # raises InvalidArgument for a currency that is not an ISO code
    return st.integers(first, last).map(lambda n: Money(Decimal(n).scaleb(-places), currency))


def rates(
    *,
    min_value: Decimal | int | str = Decimal(0),
    max_value: Decimal | int | str = Decimal(100),
    places: int = 2,
) -> st.SearchStrategy[Decimal]:
    """Decimal rates (USD per unit, or fractions) from ``min_value`` to ``max_value``.

    Rates have at most ``places`` decimal places and shrink towards zero.
    """
    first, last = _scaled_bounds(min_value, max_value, _check_places(places))
    return st.integers(first, last).map(lambda n: Decimal(n).scaleb(-places))


def instants(
    *,
    min_value: dt.datetime | str = DEFAULT_START,
    max_value: dt.datetime | str = DEFAULT_UNTIL,
    grid_seconds: int | None = None,
) -> st.SearchStrategy[pendulum.DateTime]:
    """Aware UTC :class:`pendulum.DateTime` instants from ``min_value`` to ``max_value``.

    Instants have microsecond resolution; with ``grid_seconds`` they are whole
    multiples of that many seconds since the Unix epoch. Naive bounds are rejected.
    Examples shrink towards ``min_value``.
    """
    first, last, grid = _check_window(min_value, max_value, grid_seconds)
    return st.integers(0, (last - first) // grid).map(lambda n: from_micros(first + n * grid))


def intervals(
    *,
    min_value: dt.datetime | str = DEFAULT_START,
    max_value: dt.datetime | str = DEFAULT_UNTIL,
    grid_seconds: int | None = None,
) -> st.SearchStrategy[Interval]:
    """Half-open :class:`~together_billing.Interval` values inside ``[min_value, max_value]``.

    Both ends are :func:`instants` of the same grid; an interval may be empty.
    Examples shrink towards an empty interval at ``min_value``.
    """
    first, last, grid = _check_window(min_value, max_value, grid_seconds)
    return _intervals(first, last, grid)


@st.composite
def _intervals(draw: st.DrawFn, first: int, last: int, grid: int) -> Interval:
    steps = (last - first) // grid
    start = draw(st.integers(0, steps))
    length = draw(st.integers(0, steps - start))
    return Interval.from_micros(first + start * grid, first + (start + length) * grid)


# -- catalogs ----------------------------------------------------------------------------------


def catalogs(
    *,
    models: Sequence[str] = MODELS,
    hardware: Sequence[str] = HARDWARE,
    gpu_types: Sequence[str] = GPU_TYPES,
    rates: st.SearchStrategy[Decimal] | None = None,
    effective_from: dt.datetime | str = EFFECTIVE_FROM,
    max_changes: int = 0,
    changes: st.SearchStrategy[pendulum.DateTime] | None = None,
) -> st.SearchStrategy[Catalog]:
    """Catalogs of user-sourced prices covering everything the other strategies generate.

    Every catalog prices the serverless ``models`` (some with a cached-input rate or
    a batch discount), the :data:`SIZE_TIERS`, the single-GPU ``hardware`` (so
    ``Nx_`` configurations derive from it), reserved and on-demand compute of each
    of ``gpu_types``, on-demand storage (and sometimes a reserved storage rate), and
    fine-tuning for each of :data:`FINE_TUNING_BRACKETS`, method and LoRA/full, all
    effective from ``effective_from``. Rates are drawn from ``rates`` (default:
    20 rates like Together's, from 0.01 to 19.99, odd cents included). Up to
    ``max_changes`` later prices are added for keys
    already priced, at instants drawn from ``changes`` (default: :func:`instants`).
    """
    names = _check_names("models", models)
    gpus = _check_names("hardware", hardware)
    types = _check_names("gpu_types", gpu_types)
    at = instant(effective_from, field="effective_from")
    count = _check_count("max_changes", max_changes)
    return _catalogs(
        names,
        gpus,
        types,
        _default_rates() if rates is None else rates,
        at,
        count,
        _default_instants() if changes is None else changes,
    )


@st.composite
def _catalogs(
    draw: st.DrawFn,
    models: tuple[str, ...],
    hardware: tuple[str, ...],
    gpu_types: tuple[str, ...],
    rate: st.SearchStrategy[Decimal],
    at: pendulum.DateTime,
    max_changes: int,
    changes: st.SearchStrategy[pendulum.DateTime],
) -> Catalog:
    fractions = st.sampled_from([Decimal(0), Decimal("0.5"), Decimal("0.25")])
    entries: list[PriceEntry] = [
        ServerlessPrice(
            model,
            draw(rate),
            draw(rate),
            at,
            cached_input=draw(st.none() | rate),
            batch_discount=draw(fractions),
        )
        for model in models
    ]
    entries.extend(
        SizeTierPrice(name, size, draw(rate), draw(rate), at, batch_discount=draw(fractions))
        for name, size in SIZE_TIERS
    )
    entries.extend(HardwarePrice(name, draw(rate), at) for name in hardware)
    for gpu_type in gpu_types:
        entries.append(ClusterPrice(gpu_type, ClusterBilling.RESERVED, draw(rate), at))
        entries.append(ClusterPrice(gpu_type, ClusterBilling.ON_DEMAND, draw(rate), at))
    entries.append(StoragePrice(ClusterBilling.ON_DEMAND, draw(rate), at))
    if draw(st.booleans()):
        entries.append(StoragePrice(ClusterBilling.RESERVED, draw(rate), at))
    entries.extend(
        FineTuningPrice(bracket, method, lora, draw(rate), at)
        for bracket in FINE_TUNING_BRACKETS
        for method in FineTuningMethod
        for lora in (True, False)
    )
    taken = {(entry.key, to_micros(entry.effective_from)) for entry in entries}
    base = list(entries)
    for _ in range(draw(st.integers(0, max_changes))):
        entry = draw(st.sampled_from(base))
        when = draw(changes)
        if (entry.key, to_micros(when)) not in taken:
            taken.add((entry.key, to_micros(when)))
            entries.append(_repriced(draw, entry, when, rate))
    return Catalog(entries)


def _repriced(
    draw: st.DrawFn, entry: PriceEntry, at: pendulum.DateTime, rate: st.SearchStrategy[Decimal]
) -> PriceEntry:
    """``entry`` with new rates, effective from ``at``."""
    if isinstance(entry, ServerlessPrice):
        return attrs.evolve(
            entry,
            input=draw(rate),
            output=draw(rate),
            cached_input=draw(st.none() | rate),
            effective_from=at,
        )
    if isinstance(entry, SizeTierPrice):
        return attrs.evolve(entry, input=draw(rate), output=draw(rate), effective_from=at)
    if isinstance(entry, HardwarePrice):
        return attrs.evolve(entry, per_hour=draw(rate), effective_from=at)
    if isinstance(entry, FineTuningPrice):
        return attrs.evolve(entry, per_1m_tokens=draw(rate), effective_from=at)
    if isinstance(entry, ClusterPrice):
        return attrs.evolve(entry, per_gpu_hour=draw(rate), effective_from=at)
    return attrs.evolve(entry, per_tib_hour=draw(rate), effective_from=at)


def price_changes(
    catalog: Catalog,
    *,
    instants: st.SearchStrategy[pendulum.DateTime] | None = None,
    rates: st.SearchStrategy[Decimal] | None = None,
) -> st.SearchStrategy[PriceChange]:
    """:class:`~together_billing.PriceChange` events re-pricing a key ``catalog`` already has.

    The new price takes effect at an instant drawn from ``instants`` (default:
    :func:`instants`), with rates from ``rates`` (default: as :func:`catalogs`).
    """
    if not isinstance(catalog, Catalog) or not len(catalog):
        raise InvalidArgument("catalog", catalog, "a Catalog with at least one entry")
    when = _default_instants() if instants is None else instants
    rate = _default_rates() if rates is None else rates
    return _price_changes(_first_entries(catalog), when, rate)


def _first_entries(catalog: Catalog) -> tuple[PriceEntry, ...]:
    """One entry per key of ``catalog``: its earliest."""
    firsts: dict[tuple[str, ...], PriceEntry] = {}
    for entry in catalog.entries:
        firsts.setdefault(entry.key, entry)
    return tuple(firsts.values())


@st.composite
def _price_changes(
    draw: st.DrawFn,
    entries: tuple[PriceEntry, ...],
    when: st.SearchStrategy[pendulum.DateTime],
    rate: st.SearchStrategy[Decimal],
) -> PriceChange:
    entry = draw(st.sampled_from(entries))
    return PriceChange(_repriced(draw, entry, draw(when), rate))


# -- policies and accounts ---------------------------------------------------------------------


def policies() -> st.SearchStrategy[Policies]:
    """:class:`~together_billing.Policies` of either edition, with varied settings.

    Every setting a timeline's validity depends on is honoured by :func:`timelines`
    (idle timeouts, the shrink policy, the size-tier fallback, grace periods); the
    GPU step stays 8, the step :func:`instant_clusters` generates. Examples shrink
    towards the 2025-11 edition's defaults.
    """
    return _policies()


@st.composite
def _policies(draw: st.DrawFn) -> Policies:
    edition = draw(st.sampled_from(tuple(EDITIONS)))  # the default edition first: shrinks to it
    base = Policies.for_edition(edition)
    grains = [
        MeteringGrain.PER_MINUTE,
        MeteringGrain.PER_SECOND,
        MeteringGrain.PER_HOUR,
        MeteringGrain.PRORATED,
    ]
    minutes = st.none() | st.integers(1, 120)
    return attrs.evolve(
        base,
        rounding=draw(st.sampled_from(list(RoundingMode))),
        grain=draw(st.sampled_from(grains)),
        cluster_grain=draw(st.sampled_from(grains)),
        storage_grain=draw(st.sampled_from(grains)),
        inactive_timeout_minutes=draw(st.just(base.inactive_timeout_minutes) | minutes),
        size_tier_fallback=draw(st.sampled_from([True, False])),
        batch_discount=draw(st.none() | rates(max_value=1)),
        storage_shrink=draw(st.sampled_from(_first(base.storage_shrink, list(ShrinkPolicy)))),
        reservation_payment=draw(st.sampled_from(list(ReservationPayment))),
        # Mostly prepaid ($0), so that accounts run out often (issue 11).
        credit_floor=draw(st.sampled_from([Decimal(0), Decimal(0), Decimal(0), Decimal(-100)])),
        min_purchase=draw(st.sampled_from([Decimal(5), Decimal(0), Decimal(25)])),
        grace_compute_hours=draw(st.sampled_from([72, 1, 24])),
        grace_storage_hours=draw(st.sampled_from([168, 1, 48])),
        paused_cluster_bills=draw(st.booleans()),
        revoked_storage_bills=draw(st.booleans()),
        alert_thresholds=draw(st.sampled_from([(Decimal(10),), (), (Decimal(50), Decimal(0))])),
        reservation_alert_hours=draw(st.sampled_from([24, 1])),
        alert_lead_hours=draw(st.sampled_from([24, 1])),
        exhaustion_suspends_api=draw(
            st.sampled_from(_first(base.exhaustion_suspends_api, [True, False]))
        ),
    )


def _first(value: _T, choices: list[_T]) -> list[_T]:
    """``choices`` with ``value`` first, so examples shrink towards it."""
    return [value, *(choice for choice in choices if choice != value)]


def auto_recharges() -> st.SearchStrategy[AutoRecharge]:
    """:class:`~together_billing.AutoRecharge` settings of either mode (increment or top-up).

    Each recharge buys at least $5 (the default minimum purchase, P-MIN-BUY): a
    top-up target a cent above its threshold recharges once per cent consumed, a
    storm of ledger entries that makes one example cost minutes (the engine's own
    tests cover it).
    """
    return _auto_recharges()


@st.composite
def _auto_recharges(draw: st.DrawFn) -> AutoRecharge:
    threshold = draw(rates(max_value=100))
    if draw(st.booleans()):
        target = threshold + draw(rates(min_value=5, max_value=500))
        return AutoRecharge(mode=AutoRechargeMode.TOP_UP, threshold=threshold, target=target)
    amount = draw(rates(min_value=5, max_value=100))
    return AutoRecharge(mode=AutoRechargeMode.INCREMENT, threshold=threshold, amount=amount)


def accounts(
    *,
    ids: st.SearchStrategy[str] | None = None,
    opening_balances: st.SearchStrategy[Money] | None = None,
    auto_recharges: st.SearchStrategy[AutoRecharge | None] | None = None,
    linked_cards: st.SearchStrategy[bool] | None = None,
) -> st.SearchStrategy[Account]:
    """Billing :class:`~together_billing.Account` values, which turn credits on in a replay.

    Defaults: the id ``"account"``; opening balances of ``amounts(max_value=2)``,
    ``amounts(max_value=10)`` or ``amounts(max_value=50)`` five times in six and
    ``amounts(max_value=500)`` otherwise, so that most
    generated replays run out of credits (the exhaustion lifecycle is where money is at
    stake); no auto-recharge (three times in four) or one of :func:`auto_recharges`;
    a linked card (floor P-FLOOR ``linked_card_floor``) one time in eight.
    """
    # Small balances mostly: up to $2, $10 or $50 five times in six, up to $500 otherwise.
    balances = st.sampled_from([2, 10, 10, 50, 50, 500]).flatmap(lambda top: amounts(max_value=top))
    recharges = st.one_of(st.none(), st.none(), st.none(), _auto_recharges())
    cards = st.sampled_from([False] * 7 + [True])
    return st.builds(
        _account,
        st.just("account") if ids is None else ids,
        balances if opening_balances is None else opening_balances,
        recharges if auto_recharges is None else auto_recharges,
        cards if linked_cards is None else linked_cards,
    )


def _account(
    account_id: str, balance: Money, recharge: AutoRecharge | None, card: bool = False
) -> Account:
    return Account(
        account_id, opening_balance=balance.amount, auto_recharge=recharge, linked_card=card
    )


# -- resources ---------------------------------------------------------------------------------

_IDS: Final = st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True)


def _hardware_ids(hardware: Sequence[str]) -> st.SearchStrategy[str]:
    names = _check_names("hardware", hardware)

    def scaled(pair: tuple[str, int]) -> str:
        name, count = pair
        if count == 1 or not name.startswith("1x"):
            return name
        return f"{count}{name[1:]}"

    return st.tuples(st.sampled_from(names), st.sampled_from(_GPU_COUNTS)).map(scaled)


def dedicated_endpoints(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    hardware: Sequence[str] = HARDWARE,
    max_replicas: int = 4,
) -> st.SearchStrategy[DedicatedEndpoint]:
    """:class:`~together_billing.DedicatedEndpoint` resources on ``hardware`` (1x, 2x, 4x, 8x).

    Replica bounds are at most ``max_replicas``; the idle timeout is ``None`` (the
    policy's), ``0`` (disabled) or a number of minutes.
    """
    return _deployments(DedicatedEndpoint, ids, _hardware_ids(hardware), max_replicas)


def fine_tuned_hostings(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    hardware: Sequence[str] = HARDWARE,
    max_replicas: int = 4,
) -> st.SearchStrategy[FineTunedHosting]:
    """:class:`~together_billing.FineTunedHosting` deployments, like :func:`dedicated_endpoints`."""
    return _deployments(FineTunedHosting, ids, _hardware_ids(hardware), max_replicas)


def _deployments(
    kind: type[_D], ids: st.SearchStrategy[str], hardware: st.SearchStrategy[str], max_replicas: int
) -> st.SearchStrategy[_D]:
    top = _check_count("max_replicas", max_replicas, 1)
    return _deployment(kind, ids, hardware, top)


@st.composite
def _deployment(
    draw: st.DrawFn,
    kind: type[_D],
    ids: st.SearchStrategy[str],
    hardware: st.SearchStrategy[str],
    top: int,
) -> _D:
    low = draw(st.integers(1, top))
    high = draw(st.integers(low, top))
    return kind(
        draw(ids),
        model=draw(st.sampled_from(["test/model", "test/fine-tuned"])),
        hardware=draw(hardware),
        min_replicas=low,
        max_replicas=high,
        inactive_timeout_minutes=draw(st.none() | st.integers(1, 120)),
    )


def serverless_usages(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    models: Sequence[str] = MODELS,
) -> st.SearchStrategy[ServerlessUsage]:
    """:class:`~together_billing.ServerlessUsage` of one of ``models``, or of a model without
    a catalog entry and a size covered by :data:`SIZE_TIERS` (priced by its tier, P-TIER)."""
    names = _check_names("models", models)
    sizes = rates(min_value=Decimal("0.1"), max_value=SIZE_TIERS[-1][1], places=1)
    listed = st.builds(
        ServerlessUsage, ids, model=st.sampled_from(names), params_b=st.none() | sizes
    )
    unlisted = st.builds(ServerlessUsage, ids, model=st.just(_UNLISTED_MODEL), params_b=sizes)
    return listed | unlisted


def fine_tuning_jobs(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    max_tokens: int = 10_000_000,
) -> st.SearchStrategy[FineTuningJob]:
    """:class:`~together_billing.FineTuningJob` values of a size within
    :data:`FINE_TUNING_BRACKETS`, with up to ``max_tokens`` training tokens."""
    tokens = st.integers(0, _check_count("max_tokens", max_tokens))
    return st.builds(
        FineTuningJob,
        id=ids,
        model=st.just("test/base-model"),
        params_b=rates(min_value=Decimal("0.1"), max_value=FINE_TUNING_BRACKETS[-1], places=1),
        training_tokens=tokens,
        n_epochs=st.integers(1, 5),
        validation_tokens=tokens,
        n_evals=st.integers(0, 3),
        method=st.sampled_from(list(FineTuningMethod)),
        lora=st.booleans(),
    )


def instant_clusters(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    gpu_types: Sequence[str] = GPU_TYPES,
    gpu_step: int = 8,
    max_gpus: int = 32,
) -> st.SearchStrategy[InstantCluster]:
    """:class:`~together_billing.InstantCluster` values, reserved (1 to 90 days) or on demand.

    GPU counts are multiples of ``gpu_step`` up to ``max_gpus``; a reserved cluster
    starts with at least its reserved GPUs.
    """
    types = _check_names("gpu_types", gpu_types)
    step = _check_count("gpu_step", gpu_step, 1)
    top = _check_count("max_gpus", max_gpus, 1)
    if top < step:
        raise InvalidArgument("max_gpus", max_gpus, f"at least gpu_step ({step})")
    return _clusters(ids, types, step, top // step)


@st.composite
def _clusters(
    draw: st.DrawFn, ids: st.SearchStrategy[str], types: tuple[str, ...], step: int, steps: int
) -> InstantCluster:
    cluster_id = draw(ids)
    gpu_type = draw(st.sampled_from(types))
    if draw(st.booleans()):
        reserved = draw(st.integers(1, steps))
        return InstantCluster(
            cluster_id,
            gpu_type=gpu_type,
            billing=ClusterBilling.RESERVED,
            gpus=step * draw(st.integers(reserved, steps)),
            reserved_gpus=step * reserved,
            duration_days=draw(_DAYS),
        )
    return InstantCluster(
        cluster_id,
        gpu_type=gpu_type,
        billing=ClusterBilling.ON_DEMAND,
        gpus=step * draw(st.integers(1, steps)),
    )


def storage_volumes(
    *,
    ids: st.SearchStrategy[str] = _IDS,
    clusters: st.SearchStrategy[str | None] | None = None,
    max_tib: int = _MAX_TIB,
) -> st.SearchStrategy[StorageVolume]:
    """:class:`~together_billing.StorageVolume` values of 1 to ``max_tib`` TiB.

    ``clusters`` draws the id of the cluster a volume is attached to, or ``None``
    (the default: never attached). A replay requires that cluster among its resources.
    """
    top = _check_count("max_tib", max_tib, 1)
    return st.builds(
        StorageVolume,
        ids,
        size_tib=st.integers(1, top),
        cluster=st.none() if clusters is None else clusters,
    )


# -- events ------------------------------------------------------------------------------------


def token_usages(
    *,
    resources: st.SearchStrategy[str] | None = None,
    instants: st.SearchStrategy[pendulum.DateTime] | None = None,
    max_tokens: int = _MAX_TOKENS,
) -> st.SearchStrategy[TokenUsage]:
    """:class:`~together_billing.TokenUsage` records, cached tokens never above the input.

    ``resources`` draws the serverless resource id (default ``"chat"``), ``instants``
    the instant (default: :func:`instants`).
    """
    top = _check_count("max_tokens", max_tokens)
    return _token_usages(
        st.just("chat") if resources is None else resources,
        _default_instants() if instants is None else instants,
        top,
    )


@st.composite
def _token_usages(
    draw: st.DrawFn,
    resources: st.SearchStrategy[str],
    when: st.SearchStrategy[pendulum.DateTime],
    top: int,
) -> TokenUsage:
    return _token_usage(draw, draw(resources), to_micros(draw(when)), top)


def _token_usage(draw: st.DrawFn, resource: str, at: int, top: int) -> TokenUsage:
    total = draw(_tokens(top))
    return TokenUsage(
        from_micros(at),
        resource,
        input_tokens=total,
        output_tokens=draw(_tokens(top)),
        cached_input_tokens=draw(st.integers(0, total)),
        batch=draw(st.booleans()),
    )


def purchases(
    *,
    account: str = "account",
    instants: st.SearchStrategy[pendulum.DateTime] | None = None,
    min_value: Decimal | int | str = Decimal(5),
    max_value: Decimal | int | str = Decimal(1000),
) -> st.SearchStrategy[Purchase]:
    """Credit :class:`~together_billing.Purchase` events on ``account``, in whole cents.

    ``min_value`` should be at least the replay's minimum purchase (P-MIN-BUY, $5
    by default); a purchase is always of a positive amount.
    """
    low = max(to_decimal(min_value, field="min_value"), Decimal("0.01"))
    cents = amounts(min_value=low, max_value=max_value)
    when = _default_instants() if instants is None else instants
    return st.builds(lambda at, money: Purchase(at, account, money.amount), when, cents)


def grants(
    *,
    account: str = "account",
    instants: st.SearchStrategy[pendulum.DateTime] | None = None,
    min_value: Decimal | int | str = Decimal("0.01"),
    max_value: Decimal | int | str = Decimal(500),
) -> st.SearchStrategy[Grant]:
    """Promotional :class:`~together_billing.Grant` events, never or later expiring."""
    low = max(to_decimal(min_value, field="min_value"), Decimal("0.01"))
    cents = amounts(min_value=low, max_value=max_value)
    when = _default_instants() if instants is None else instants
    return _grants(account, when, cents)


@st.composite
def _grants(
    draw: st.DrawFn,
    account: str,
    when: st.SearchStrategy[pendulum.DateTime],
    cents: st.SearchStrategy[Money],
) -> Grant:
    return _grant(draw, account, to_micros(draw(when)), cents)


def _grant(draw: st.DrawFn, account: str, at: int, cents: st.SearchStrategy[Money]) -> Grant:
    after = draw(st.none() | st.integers(1, 30 * _DAY))
    expires = None if after is None else from_micros(at + after)
    return Grant(from_micros(at), account, draw(cents).amount, expires)


# -- lifecycles: valid events for one resource ---------------------------------------------------


@attrs.frozen
class _Window:
    """Where events may lie: grid instants in ``[first, last]`` of the replay window
    ``[start, until]`` (all in microseconds)."""

    first: int
    last: int
    grid: int
    start: int
    until: int

    def next(self, draw: st.DrawFn, after: int | None) -> int | None:
        """An instant after ``after`` (or the first), as a gap that shrinks towards zero."""
        low = self.first if after is None else after + self.grid
        if low > self.last:
            return None
        room = (self.last - low) // self.grid
        scale = draw(st.integers(0, len(_GAP_CAPS)))
        if scale < len(_GAP_CAPS):
            room = min(room, max(1, _GAP_CAPS[scale] // self.grid))
        return low + draw(st.integers(0, room)) * self.grid


def _window(start: object, until: object, grid_seconds: object) -> _Window:
    first, last, grid = _check_window(start, until, grid_seconds, ("start", "until"))
    return _Window(first, last, grid, to_micros(instant(start)), to_micros(instant(until)))


def lifecycles(
    resource: Resource,
    *,
    policies: Policies | None = None,
    start: dt.datetime | str = DEFAULT_START,
    until: dt.datetime | str = DEFAULT_UNTIL,
    max_events: int = 6,
    grid_seconds: int | None = None,
    credits: bool = False,
) -> st.SearchStrategy[list[Event]]:
    """Valid events of one resource in ``[start, until]``, in chronological order.

    Each event is drawn from the states the replay under ``policies`` can reach:
    provisioning before ready, stops after deploys, replicas within
    ``max_replicas``, GPU counts in steps of ``policies.gpu_step``, resizes allowed
    by the shrink policy, one completion per fine-tuning job, cached tokens within
    the input. The idle auto-stop and the end of reservations are predicted from
    the instants alone. With ``credits=True`` only events that stay valid however
    the account's credits run out are drawn (no replica or GPU changes of what
    credits may pause, no resize of a volume whose access may be revoked).

    The lifecycle does not check prices: the resource must be priced by the
    replay's catalog. Events of one resource never share an instant; examples
    shrink towards fewer events, earlier and smaller.
    """
    window = _window(start, until, grid_seconds)
    count = _check_count("max_events", max_events)
    return _lifecycle(resource, policies or Policies(), window, count, credits)


@st.composite
def _lifecycle(
    draw: st.DrawFn,
    resource: Resource,
    policies: Policies,
    window: _Window,
    max_events: int,
    credits: bool,
) -> list[Event]:
    if isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
        model: _Model = _DeploymentModel(resource, policies, credits)
    elif isinstance(resource, InstantCluster):
        model = _ClusterModel(resource, policies, credits)
    elif isinstance(resource, StorageVolume):
        model = _VolumeModel(resource, policies, credits, window)
    elif isinstance(resource, FineTuningJob):
        model = _JobModel(resource)
    elif isinstance(resource, ServerlessUsage):
        model = _ServerlessModel(resource, window)
    else:
        raise InvalidArgument("resource", resource, "one of the resource types")
    events: list[Event] = []
    after: int | None = None
    # At least one event when allowed: a resource without events is an unused resource,
    # which a shrunk example should not carry (shrinking removes the resource instead).
    for _ in range(draw(st.integers(min(1, max_events), max_events))):
        at = window.next(draw, after)
        if at is None:
            break
        event = model.step(draw, at)
        if event is None:
            break
        events.append(event)
        after = event.at_micros[-1] if isinstance(event, TokenUsageBatch) else at
    return events


class _Model:
    """What one resource's replay state can be; ``step`` draws one valid event at ``at``."""

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        raise NotImplementedError


class _DeploymentModel(_Model):
    """Dedicated endpoints and fine-tuned hosting (DE2-DE4, FT2).

    Exact states: new, provisioning, running, stopped, failed, deleted; a running
    deployment is auto-stopped ``timeout`` minutes after its last activity (DE4).
    When credits can suspend the API (CR8), any live deployment may be stopped at
    any instant, so only events valid in every such state are drawn: ``live``
    (deployed), ``stopped`` (by the timeline), ``uncertain`` (started, maybe refused).
    """

    def __init__(
        self, resource: DedicatedEndpoint | FineTunedHosting, policies: Policies, credits: bool
    ) -> None:
        self.resource = resource
        self.safe = credits and policies.exhaustion_suspends_api
        minutes = resource.inactive_timeout_minutes
        if minutes is None:
            minutes = policies.inactive_timeout_minutes
        self.timeout = minutes * MICROS_PER_MINUTE if minutes else None
        self.state = "new"
        self.activity = 0

    def _begin(self, draw: st.DrawFn, kind: type[Deploy | Start], at: int) -> Event:
        ready = draw(_MOSTLY_READY)
        if self.safe:
            self.state = "live" if kind is Deploy else "uncertain"
        else:
            self.state = "running" if ready else "provisioning"
            self.activity = at
        return kind(from_micros(at), self.resource.id, ready=ready)

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        rid, when = self.resource.id, from_micros(at)
        if (
            self.state == "running"
            and self.timeout is not None
            and at >= self.activity + self.timeout
        ):
            self.state = "stopped"  # the idle auto-stop came first (DE4)
        options = {
            "new": ["deploy"],
            "provisioning": ["ready", "requests", "stop", "failed", "delete"],
            "running": ["requests", "scale", "stop", "delete"],
            "stopped": ["start", "requests", "delete"],
            "failed": ["requests", "delete"],
            "deleted": [],
            "live": ["requests", "stop", "delete"],
            "uncertain": ["requests", "delete"],
        }[self.state]
        if not options:
            return None
        choice = draw(st.sampled_from(options))
        if choice == "deploy":
            return self._begin(draw, Deploy, at)
        if choice == "start":
            return self._begin(draw, Start, at)
        if choice == "requests":
            if self.state == "running":
                self.activity = at
            return Requests(when, rid, draw(st.integers(1, 100)))
        if choice == "scale":
            return ScaleReplicas(when, rid, draw(st.integers(0, self.resource.max_replicas)))
        if choice == "ready":
            self.state, self.activity = "running", at
            return Ready(when, rid)
        if choice == "failed":
            self.state = "failed"
            return DeployFailed(when, rid)
        if choice == "stop":
            self.state = "stopped"
            return Stop(when, rid)
        self.state = "deleted"
        return Delete(when, rid)


class _ClusterModel(_Model):
    """Instant Clusters (CL2-CL6): a reservation decommissions the cluster at its end.

    Credits never change a reserved cluster's state (CR3 only drops its burst), but
    an on-demand cluster may be paused and decommissioned (CR4): with credits, a
    running on-demand cluster only takes ``Delete``.
    """

    def __init__(self, cluster: InstantCluster, policies: Policies, credits: bool) -> None:
        self.cluster = cluster
        self.step_gpus = policies.gpu_step
        self.safe = credits and not cluster.reserved
        self.state = "new"
        self.end = 0
        counts = [cluster.gpus, cluster.reserved_gpus] if cluster.reserved else [cluster.gpus]
        self.usable = all(n >= self.step_gpus and n % self.step_gpus == 0 for n in counts)

    def _ready(self, at: int) -> None:
        self.state = "running"
        if self.cluster.reserved:
            assert self.cluster.duration_days is not None
            self.end = at + self.cluster.duration_days * _DAY

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        cluster, when = self.cluster, from_micros(at)
        if not self.usable:
            return None  # the replay rejects its GPU counts (P-GPU-STEP)
        if self.state == "running" and cluster.reserved and at >= self.end:
            self.state = "decommissioned"  # the reservation ended first (CL5)
        options = {
            "new": ["deploy"],
            "provisioning": ["ready", "failed", "delete"],
            "running": ["delete"]
            if self.safe
            else ["scale", "extend" if cluster.reserved else "stop", "delete"],
            "stopped": ["start", "delete"],
            "failed": ["delete"],
            "decommissioned": ["delete"],
            "deleted": [],
        }[self.state]
        if not options:
            return None
        choice = draw(st.sampled_from(options))
        if choice in ("deploy", "start"):
            ready = draw(_MOSTLY_READY)
            if ready:
                self._ready(at)
            else:
                self.state = "provisioning"
            return (Deploy if choice == "deploy" else Start)(when, cluster.id, ready=ready)
        if choice == "ready":
            self._ready(at)
            return Ready(when, cluster.id)
        if choice == "failed":
            self.state = "failed"
            return DeployFailed(when, cluster.id)
        if choice == "scale":
            steps = max(1, _MAX_GPUS // self.step_gpus)
            counts = st.integers(1, steps)
            if cluster.reserved and cluster.reserved_gpus < steps * self.step_gpus:
                # Half the time above the reservation: the extra GPUs burst (CL3).
                counts |= st.integers(cluster.reserved_gpus // self.step_gpus + 1, steps)
            return ScaleGpus(when, cluster.id, self.step_gpus * draw(counts))
        if choice == "extend":
            days = draw(_DAYS)
            self.end += days * _DAY
            return ExtendReservation(when, cluster.id, days)
        if choice == "stop":
            self.state = "stopped"
            return Stop(when, cluster.id)
        self.state = "deleted"
        return Delete(when, cluster.id)


class _VolumeModel(_Model):
    """Storage volumes (ST1, ST2): created ready, resized per P-SHRINK, deleted once.

    With credits a volume's access may be revoked (CR5), and its data deleted after
    the storage grace period: only ``Delete`` is drawn, and only before that period
    can have ended.
    """

    def __init__(
        self, volume: StorageVolume, policies: Policies, credits: bool, window: _Window
    ) -> None:
        self.volume = volume
        self.shrink = policies.storage_shrink
        self.safe = credits
        self.delete_by = window.start + policies.grace_storage_hours * MICROS_PER_HOUR
        self.state = "new"
        self.size = volume.size_tib

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        rid, when = self.volume.id, from_micros(at)
        if self.state == "new":
            self.state = "running"
            return Deploy(when, rid)
        if self.state != "running":
            return None
        options = ["resize", "delete"]
        if self.safe:
            options = ["delete"] if at < self.delete_by else []
        if not options:
            return None
        if draw(st.sampled_from(options)) == "delete":
            self.state = "deleted"
            return Delete(when, rid)
        low = self.size if self.shrink is ShrinkPolicy.FORBIDDEN else 1
        size = draw(st.integers(low, max(low, _MAX_TIB)))
        team = draw(st.booleans()) or (
            size < self.size and self.shrink is ShrinkPolicy.ACCOUNT_TEAM
        )
        self.size = size
        return ResizeVolume(when, rid, size, via_account_team=team)


class _JobModel(_Model):
    """A fine-tuning job completes or is cancelled once (FT1)."""

    def __init__(self, job: FineTuningJob) -> None:
        self.job = job
        self.done = False

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        if self.done:
            return None
        self.done = True
        if draw(st.booleans()):
            return JobCompleted(from_micros(at), self.job.id)
        tokens = draw(_tokens(self.job.total_tokens))
        return JobCancelled(from_micros(at), self.job.id, tokens)


class _ServerlessModel(_Model):
    """Serverless usage (SL1-SL3): token records, alone or as a batch, always valid."""

    def __init__(self, usage: ServerlessUsage, window: _Window) -> None:
        self.usage = usage
        self.window = window

    def step(self, draw: st.DrawFn, at: int) -> Event | None:
        if draw(st.integers(0, 3)) != 3:
            return _token_usage(draw, self.usage.id, at, _MAX_TOKENS)
        return self.batch(draw, at)

    def batch(self, draw: st.DrawFn, at: int) -> TokenUsageBatch:
        """A batch of 1 to 4 records from ``at``, within the window."""
        times = [at]
        for _ in range(draw(st.integers(0, 3))):
            room = min(self.window.last - times[-1], _GAP_CAPS[1]) // self.window.grid
            times.append(times[-1] + draw(st.integers(0, room)) * self.window.grid)
        size = len(times)
        tokens = st.lists(_tokens(_MAX_TOKENS), min_size=size, max_size=size)
        inputs = draw(tokens)
        cached = None
        if draw(st.booleans()):
            cached = tuple(draw(st.integers(0, total)) for total in inputs)
        return TokenUsageBatch(
            self.usage.id, times, inputs, draw(tokens), cached, batch=draw(st.booleans())
        )


# -- scenarios ---------------------------------------------------------------------------------


_KINDS: Final = ("serverless", "endpoint", "hosting", "job", "cluster", "volume")


@st.composite
def _resource_sets(draw: st.DrawFn, max_size: int = 4) -> list[Resource]:
    """A few resources of any kind with unique ids; volumes may attach to a drawn cluster."""
    # At least one resource: an empty replay bills nothing and tests nothing.
    kinds = draw(st.lists(st.sampled_from(_KINDS), min_size=1, max_size=max_size))
    result: list[Resource] = []
    for index, kind in enumerate(kinds):
        ids = st.just(f"{kind}-{index}")
        if kind == "serverless":
            result.append(draw(serverless_usages(ids=ids)))
        elif kind == "endpoint":
            result.append(draw(dedicated_endpoints(ids=ids)))
        elif kind == "hosting":
            result.append(draw(fine_tuned_hostings(ids=ids)))
        elif kind == "job":
            result.append(draw(fine_tuning_jobs(ids=ids)))
        elif kind == "cluster":
            result.append(draw(instant_clusters(ids=ids)))
    clusters = [r.id for r in result if isinstance(r, InstantCluster)]
    attach = st.none() | st.sampled_from(clusters) if clusters else st.none()
    for index, kind in enumerate(kinds):
        if kind == "volume":
            result.append(draw(storage_volumes(ids=st.just(f"volume-{index}"), clusters=attach)))
    return result


def _priced(
    resource: Resource, catalog: Catalog, policies: Policies, at: pendulum.DateTime
) -> bool:
    """Whether ``catalog`` prices everything ``resource`` can be charged for at ``at``."""
    try:
        if isinstance(resource, ServerlessUsage):
            fallback = resource.params_b if policies.size_tier_fallback else None
            catalog.serverless(resource.model, at, params_b=fallback)
        elif isinstance(resource, (DedicatedEndpoint, FineTunedHosting)):
            catalog.hardware(resource.hardware, at)
        elif isinstance(resource, FineTuningJob):
            catalog.fine_tuning(resource.params_b, resource.method, resource.lora, at)
        elif isinstance(resource, InstantCluster):
            catalog.cluster(resource.gpu_type, ClusterBilling.ON_DEMAND, at)
            if resource.reserved:
                catalog.cluster(resource.gpu_type, ClusterBilling.RESERVED, at)
        else:
            catalog.storage(ClusterBilling.ON_DEMAND, at)
    except UnknownPrice:
        return False
    return True


def timelines(
    *,
    resources: st.SearchStrategy[Sequence[Resource]] | None = None,
    catalogs: st.SearchStrategy[Catalog] | None = None,
    policies: st.SearchStrategy[Policies] | None = None,
    start: dt.datetime | str = DEFAULT_START,
    until: dt.datetime | str = DEFAULT_UNTIL,
    max_events: int = 10,
    max_price_changes: int = 2,
    grid_seconds: int | None = None,
) -> st.SearchStrategy[Scenario]:
    """:class:`~together_billing.scenario.Scenario` values without an account: every one
    replays without error.

    ``resources`` draws the resources (ids unique, attached volumes' clusters among
    them; default: up to four of every kind), ``catalogs`` the catalog (default:
    :func:`catalogs`), ``policies`` the policies (default: :func:`policies`). Each
    resource gets a :func:`lifecycles` timeline, at most ``max_events`` events in
    all, plus up to ``max_price_changes`` :func:`price_changes`, all in
    ``[start, until]``. A resource the catalog cannot price at ``start`` under the
    policies gets no events.
    """
    return scenarios(
        accounts=st.none(),
        resources=resources,
        catalogs=catalogs,
        policies=policies,
        start=start,
        until=until,
        max_events=max_events,
        max_price_changes=max_price_changes,
        grid_seconds=grid_seconds,
    )


def scenarios(
    *,
    accounts: st.SearchStrategy[Account | None] | None = None,
    resources: st.SearchStrategy[Sequence[Resource]] | None = None,
    catalogs: st.SearchStrategy[Catalog] | None = None,
    policies: st.SearchStrategy[Policies] | None = None,
    start: dt.datetime | str = DEFAULT_START,
    until: dt.datetime | str = DEFAULT_UNTIL,
    max_events: int = 10,
    max_price_changes: int = 2,
    grid_seconds: int | None = None,
) -> st.SearchStrategy[Scenario]:
    """Whole :class:`~together_billing.scenario.Scenario` values, with an account and
    credits or without; ``start`` is always set.

    As :func:`timelines`, and ``accounts`` draws an :class:`~together_billing.Account`
    or ``None`` (default: ``st.none() | accounts()``). With an account, the timeline
    also has :func:`purchases` of at least the policies' minimum and :func:`grants`,
    and only events valid however credits run out (see :func:`lifecycles`).
    """
    window = _window(start, until, grid_seconds)
    total = _check_count("max_events", max_events)
    changes = _check_count("max_price_changes", max_price_changes)
    return _scenarios(
        (st.none() | _default_accounts()) if accounts is None else accounts,
        _resource_sets() if resources is None else resources,
        _default_catalogs() if catalogs is None else catalogs,
        _policies() if policies is None else policies,
        window,
        total,
        changes,
    )


@st.composite
def _scenarios(
    draw: st.DrawFn,
    accounts: st.SearchStrategy[Account | None],
    resources: st.SearchStrategy[Sequence[Resource]],
    catalogs: st.SearchStrategy[Catalog],
    policies: st.SearchStrategy[Policies],
    window: _Window,
    max_events: int,
    max_price_changes: int,
) -> Scenario:
    from together_billing.scenario import Scenario  # noqa: PLC0415 - pydantic, on demand

    start, until = from_micros(window.start), from_micros(window.until)
    drawn = list(draw(resources))
    catalog = draw(catalogs)
    rules = draw(policies)
    account = draw(accounts)
    credits = account is not None
    events: list[Event] = []
    priced = [r for r in drawn if _priced(r, catalog, rules, start)]
    # A share of the events for each resource, so the first does not take them all.
    share = max(3, -(-max_events // max(1, len(priced) + credits)))
    # The account's share is kept aside: purchases after an exhaustion restore (CR7).
    kept = min(share, max_events) if credits else 0
    for resource in priced:
        budget = min(share, max_events - kept - len(events))
        events.extend(draw(_lifecycle(resource, rules, window, budget, credits)))
    if account is not None:
        budget = min(share, max_events - len(events))
        events.extend(draw(_credit_events(account.id, rules, window, budget)))
    if max_price_changes and len(catalog):
        when = st.integers(0, (window.last - window.first) // window.grid).map(
            lambda n: from_micros(window.first + n * window.grid)
        )
        change = _price_changes(_first_entries(catalog), when, _default_rates())
        events.extend(draw(st.lists(change, max_size=max_price_changes)))
    members: tuple[Resource | Account, ...] = (*drawn, account) if account else tuple(drawn)
    return Scenario(
        resources=members,
        events=events,
        until=until,
        start=start,
        catalog=catalog,
        policies=rules,
    )


@st.composite
def _credit_events(
    draw: st.DrawFn, account: str, rules: Policies, window: _Window, budget: int
) -> list[Event]:
    """Purchases (at least the minimum purchase) and grants on the account."""
    low = max(rules.min_purchase, Decimal("0.01"))
    # Mostly small, so purchases restore an account only for a while and it runs out again.
    bought = st.one_of(
        amounts(min_value=low, max_value=max(low, Decimal(20))),
        amounts(min_value=low, max_value=max(low, Decimal(20))),
        amounts(min_value=low, max_value=max(low, Decimal(1000))),
    )
    granted = st.one_of(
        amounts(min_value=Decimal("0.01"), max_value=20),
        amounts(min_value=Decimal("0.01"), max_value=20),
        amounts(min_value=Decimal("0.01"), max_value=500),
    )
    events: list[Event] = []
    # Half the time the credit events start in the window's second half: bought after the
    # credits ran out, they restore what the exhaustion paused or revoked (CR7).
    late = window.first + (window.last - window.first) // 2 // window.grid * window.grid
    after: int | None = draw(st.sampled_from([None, late]))
    for _ in range(draw(st.integers(0, budget))):
        at = window.next(draw, after)
        if at is None:
            break
        if draw(st.booleans()):
            events.append(_grant(draw, account, at, granted))
        else:
            events.append(Purchase(from_micros(at), account, draw(bought).amount))
        after = at
    return events


# -- defaults of arguments that share a strategy's name -----------------------------------------


#: Rates of :func:`catalogs` by default: prices like Together's (per hour, per GPU-hour,
#: per 1M tokens), odd cents included so that amounts round. A sampled rate shrinks in
#: one step, where an integer of cents takes a dozen: a catalog has 40-odd rates.
_CATALOG_RATES: Final = st.sampled_from(
    [
        Decimal(text)
        for text in [
            *["0.01", "0.06", "0.10", "0.18", "0.20", "0.48", "0.60", "0.88", "1.04", "1.20"],
            *["2.50", "2.99", "3.49", "3.99", "5.49", "7.15", "7.98", "9.95", "11.49", "12.34"],
            *["13.99", "14.50", "15.49", "16.80", "17.75", "18.20", "19.45", "19.99"],
        ]
    ]
)


def _default_rates() -> st.SearchStrategy[Decimal]:
    # Not zero: a zero rate bills $0, and Hypothesis draws bounds often.
    return _CATALOG_RATES


def _default_instants() -> st.SearchStrategy[pendulum.DateTime]:
    return instants()


def _default_accounts() -> st.SearchStrategy[Account]:
    # scenarios()' accounts: half of them open with at most $20, so that the credits run
    # out (and grace periods, restorations follow) in a good share of examples.
    return accounts(opening_balances=amounts(max_value=20) | amounts(max_value=500))


def _default_catalogs() -> st.SearchStrategy[Catalog]:
    return catalogs()


# -- registration ------------------------------------------------------------------------------


def strategy_for(kind: type[_T]) -> st.SearchStrategy[_T]:
    """The library's strategy for one of its public value types: what ``st.from_type`` uses.

    Resources, accounts, policies, catalogs and their prices, amounts, periods,
    intervals, every event type, replay results, invoices and their lines, log
    entries, simulators and :class:`~together_billing.scenario.Scenario` values.
    Values that only a replay makes (results, invoices, lines, log entries) are
    taken from replays of :func:`timelines`. Raises
    :class:`~together_billing.InvalidArgument` for any other type.

    >>> from together_billing import Deploy
    >>> strategy_for(Deploy)
    builds(Deploy, ...)
    """
    built = _BUILT.get(kind)
    if built is not None:
        return built
    factories = _type_strategies()
    if kind not in factories:
        known = sorted(k.__name__ for k in factories)
        raise InvalidArgument("kind", kind, f"one of the library's value types {known}")
    strategy = _BUILT[kind] = factories[kind]()
    return strategy


#: Strategies are immutable: each type's is built once (``st.from_type`` asks per draw).
_BUILT: Final[dict[type, st.SearchStrategy[Any]]] = {}


def _type_strategies() -> dict[type, Callable[[], st.SearchStrategy[Any]]]:
    from together_billing.engine import SimulationState  # noqa: PLC0415
    from together_billing.invoice import (  # noqa: PLC0415
        Invoice,
        InvoiceLine,
        LogEntry,
        MeteredSpan,
    )
    from together_billing.scenario import Scenario  # noqa: PLC0415 - pydantic, on demand
    from together_billing.time import BillingPeriod  # noqa: PLC0415

    factories: dict[type, Callable[[], st.SearchStrategy[Any]]] = {
        Money: amounts,
        BillingPeriod: lambda: st.builds(
            BillingPeriod, st.integers(2000, 2100), st.integers(1, 12)
        ),
        Interval: intervals,
        MeteringGrain: lambda: st.sampled_from(_GRAINS),
        Catalog: catalogs,
        Account: accounts,
        AutoRecharge: auto_recharges,
        Policies: policies,
        Edition: lambda: st.sampled_from(tuple(EDITIONS.values())),
        DedicatedEndpoint: dedicated_endpoints,
        FineTunedHosting: fine_tuned_hostings,
        ServerlessUsage: serverless_usages,
        FineTuningJob: fine_tuning_jobs,
        InstantCluster: instant_clusters,
        StorageVolume: storage_volumes,
        Scenario: scenarios,
        Simulator: lambda: st.builds(Simulator, catalogs(), policies()),
        SimulationResult: _results,
        SimulationState: lambda: _results().map(lambda result: result.state),
        Invoice: lambda: _results().flatmap(lambda result: st.sampled_from(result.invoices)),
        InvoiceLine: lambda: _results(lambda result: result.lines).flatmap(
            lambda result: st.sampled_from(result.lines)
        ),
        LogEntry: lambda: _results(lambda result: result.log).flatmap(
            lambda result: st.sampled_from(result.log)
        ),
        MeteredSpan: lambda: _results(lambda result: result.spans).flatmap(
            lambda result: st.sampled_from(result.spans)
        ),
        PriceChange: lambda: catalogs().flatmap(price_changes),
        TokenUsage: lambda: token_usages(resources=_IDS),
        TokenUsageBatch: _token_usage_batches,
        Purchase: purchases,
        Grant: grants,
        JobCancelled: lambda: st.builds(JobCancelled, instants(), _IDS, st.integers(0, 10_000_000)),
    }
    for price in (ServerlessPrice, SizeTierPrice, HardwarePrice, ClusterPrice, StoragePrice):
        factories[price] = functools.partial(_catalog_entries, price)
    factories[FineTuningPrice] = functools.partial(_catalog_entries, FineTuningPrice)
    for event, fields in _EVENT_FIELDS.items():
        factories[event] = functools.partial(st.builds, event, instants(), _IDS, **fields)
    return factories


#: The fields beyond ``at`` and ``resource`` of the events built directly.
_EVENT_FIELDS: Final[dict[type, dict[str, st.SearchStrategy[Any]]]] = {
    Deploy: {"ready": st.booleans()},
    Start: {"ready": st.booleans()},
    Ready: {},
    DeployFailed: {},
    Stop: {},
    Delete: {},
    JobCompleted: {},
    ScaleReplicas: {"replicas": st.integers(0, 8)},
    ScaleGpus: {"gpus": st.integers(1, 8).map(lambda n: 8 * n)},
    ExtendReservation: {"days": _DAYS},
    ResizeVolume: {"size_tib": st.integers(1, _MAX_TIB), "via_account_team": st.booleans()},
    Requests: {"count": st.integers(1, 100)},
}

_MONTHS: Final = st.integers(1, 12)
_GRAINS: Final = (
    MeteringGrain.PER_MINUTE,
    MeteringGrain.PER_SECOND,
    MeteringGrain.PER_HOUR,
    MeteringGrain.PRORATED,
)


def _catalog_entries(kind: type[_T]) -> st.SearchStrategy[_T]:
    return catalogs().flatmap(
        lambda catalog: st.sampled_from([e for e in catalog.entries if isinstance(e, kind)])
    )


def _results(
    keep: Callable[[SimulationResult], object] | None = None,
) -> st.SearchStrategy[SimulationResult]:
    results = timelines().map(lambda scenario: scenario.run())
    return results if keep is None else results.filter(keep)


def _token_usage_batches() -> st.SearchStrategy[TokenUsageBatch]:
    return _batches(_window(DEFAULT_START, DEFAULT_UNTIL, None))


@st.composite
def _batches(draw: st.DrawFn, window: _Window) -> TokenUsageBatch:
    steps = (window.last - window.first) // window.grid
    at = window.first + draw(st.integers(0, steps)) * window.grid
    usage = ServerlessUsage(draw(_IDS), model=MODELS[0])
    return _ServerlessModel(usage, window).batch(draw, at)


# This module's own type, and those of the modules it imported: registered here too, so
# st.from_type works where the package's entry point is not installed (a source checkout).
setup()
