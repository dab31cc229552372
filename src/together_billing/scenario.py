"""Scenarios: a whole replay described as a YAML or JSON document, validated by pydantic.

A scenario names the resources, the events of the timeline, the period to
replay, the price catalog (the bundled default and/or the user's own entries)
and the policies. ``together-billing schema`` prints its JSON Schema; the
scenario format is documented in ``docs/scenarios.md``.

>>> doc = ScenarioDoc.model_validate(
...     {
...         "until": "2025-11-02T00:00:00Z",
...         "resources": [{"kind": "serverless", "id": "chat", "model": "openai/gpt-oss-20b"}],
...         "events": [
...             {
...                 "type": "tokens",
...                 "at": "2025-11-01T10:00:00Z",
...                 "resource": "chat",
...                 "input_tokens": 2000000,
...                 "output_tokens": 1000000,
...             }
...         ],
...     }
... )
>>> str(doc.run().total)
'0.30 USD'
"""

from __future__ import annotations

import bisect
import contextlib
import weakref
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import attrs
import pendulum
import pydantic

from together_billing import _documents
from together_billing._documents import Amount, Count, Flag, Instant
from together_billing.catalog import (
    Catalog,
    CatalogDoc,
    ClusterDoc,
    FineTuningDoc,
    HardwareDoc,
    PriceEntry,
    ServerlessDoc,
    SizeTierDoc,
    SourceDoc,
    StorageDoc,
    default_catalog,
    entries_from_doc,
)
from together_billing.credits import Account, AutoRecharge
from together_billing.engine import SimulationResult, Simulator
from together_billing.errors import BillingError, InvalidArgument, InvalidScenario, shown
from together_billing.policies import DEFAULT_EDITION, EDITIONS, Policies
from together_billing.resources import (
    DedicatedEndpoint,
    FineTunedHosting,
    FineTuningJob,
    InstantCluster,
    Resource,
    ServerlessUsage,
    StorageVolume,
)
from together_billing.time import MeteringGrain, from_micros, instant, to_micros
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

__all__ = ["Scenario", "ScenarioDoc", "event_location", "load_scenario", "run_scenario"]


class _Doc(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


NonNegative = Annotated[Count, pydantic.Field(ge=0)]
Positive = Annotated[Count, pydantic.Field(ge=1)]
Id = Annotated[str, pydantic.Field(min_length=1)]


# -- resources ---------------------------------------------------------------------------------


class _DeploymentDoc(_Doc):
    id: Id
    model: str
    hardware: str
    min_replicas: Positive = 1
    max_replicas: Positive = 1
    inactive_timeout_minutes: Positive | None = None

    def _settings(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "inactive_timeout_minutes": self.inactive_timeout_minutes,
        }


class DedicatedEndpointDoc(_DeploymentDoc):
    """A dedicated endpoint (DE1-DE4)."""

    kind: Literal["dedicated_endpoint"]

    def build(self) -> Resource:
        return DedicatedEndpoint(self.id, **self._settings())


class FineTunedHostingDoc(_DeploymentDoc):
    """A deployed fine-tuned model (FT2, FT3)."""

    kind: Literal["fine_tuned_hosting"]
    job: str | None = None

    def build(self) -> Resource:
        return FineTunedHosting(self.id, job=self.job, **self._settings())


class ServerlessDocResource(_Doc):
    """Use of one serverless model (SL1-SL3)."""

    kind: Literal["serverless"]
    id: Id
    model: str
    params_b: Amount | None = None

    def build(self) -> Resource:
        return ServerlessUsage(self.id, model=self.model, params_b=self.params_b)


class FineTuningJobDoc(_Doc):
    """A fine-tuning job (FT1)."""

    kind: Literal["fine_tuning_job"]
    id: Id
    model: str
    params_b: Amount
    training_tokens: NonNegative
    n_epochs: Positive = 1
    validation_tokens: NonNegative = 0
    n_evals: NonNegative = 0
    method: Literal["sft", "dpo"] = "sft"
    lora: Flag = True

    def build(self) -> Resource:
        return FineTuningJob(
            id=self.id,
            model=self.model,
            params_b=self.params_b,
            training_tokens=self.training_tokens,
            n_epochs=self.n_epochs,
            validation_tokens=self.validation_tokens,
            n_evals=self.n_evals,
            method=self.method,
            lora=self.lora,
        )


class InstantClusterDoc(_Doc):
    """An Instant GPU cluster, reserved or on-demand (CL1-CL6)."""

    kind: Literal["instant_cluster"]
    id: Id
    gpu_type: str
    billing: Literal["reserved", "on-demand"]
    gpus: Positive
    reserved_gpus: NonNegative = 0
    duration_days: Annotated[Count, pydantic.Field(ge=1, le=90)] | None = None

    def build(self) -> Resource:
        return InstantCluster(
            self.id,
            gpu_type=self.gpu_type,
            billing=self.billing,
            gpus=self.gpus,
            reserved_gpus=self.reserved_gpus,
            duration_days=self.duration_days,
        )


class StorageVolumeDoc(_Doc):
    """A shared storage volume (ST1-ST3)."""

    kind: Literal["storage_volume"]
    id: Id
    size_tib: Positive
    cluster: str | None = None

    def build(self) -> Resource:
        return StorageVolume(self.id, size_tib=self.size_tib, cluster=self.cluster)


ResourceDoc = Annotated[
    DedicatedEndpointDoc
    | FineTunedHostingDoc
    | ServerlessDocResource
    | FineTuningJobDoc
    | InstantClusterDoc
    | StorageVolumeDoc,
    pydantic.Field(discriminator="kind"),
]


# -- events ------------------------------------------------------------------------------------


class _EventDoc(_Doc):
    at: Instant
    resource: Id


class DeployDoc(_EventDoc):
    type: Literal["deploy"]
    ready: Flag = True

    def build(self) -> Event:
        return Deploy(self.at, self.resource, self.ready)


class StartDoc(_EventDoc):
    type: Literal["start"]
    ready: Flag = True

    def build(self) -> Event:
        return Start(self.at, self.resource, self.ready)


class ReadyDoc(_EventDoc):
    type: Literal["ready"]

    def build(self) -> Event:
        return Ready(self.at, self.resource)


class DeployFailedDoc(_EventDoc):
    type: Literal["deploy_failed"]

    def build(self) -> Event:
        return DeployFailed(self.at, self.resource)


class StopDoc(_EventDoc):
    type: Literal["stop"]

    def build(self) -> Event:
        return Stop(self.at, self.resource)


class DeleteDoc(_EventDoc):
    type: Literal["delete"]

    def build(self) -> Event:
        return Delete(self.at, self.resource)


class ScaleDoc(_EventDoc):
    type: Literal["scale"]
    replicas: NonNegative

    def build(self) -> Event:
        return ScaleReplicas(self.at, self.resource, self.replicas)


class ScaleGpusDoc(_EventDoc):
    type: Literal["scale_gpus"]
    gpus: Positive

    def build(self) -> Event:
        return ScaleGpus(self.at, self.resource, self.gpus)


class ExtendReservationDoc(_EventDoc):
    type: Literal["extend_reservation"]
    days: Annotated[Count, pydantic.Field(ge=1, le=90)]

    def build(self) -> Event:
        return ExtendReservation(self.at, self.resource, self.days)


class ResizeVolumeDoc(_EventDoc):
    type: Literal["resize_volume"]
    size_tib: Positive
    via_account_team: Flag = False

    def build(self) -> Event:
        return ResizeVolume(self.at, self.resource, self.size_tib, self.via_account_team)


class PurchaseDoc(_Doc):
    type: Literal["purchase"]
    at: Instant
    resource: Id = "account"
    amount: Annotated[Amount, pydantic.Field(gt=0)]

    def build(self) -> Event:
        return Purchase(self.at, self.resource, self.amount)


class GrantDoc(_Doc):
    type: Literal["grant"]
    at: Instant
    resource: Id = "account"
    amount: Annotated[Amount, pydantic.Field(gt=0)]
    expires: Instant | None = None

    def build(self) -> Event:
        return Grant(self.at, self.resource, self.amount, self.expires)


class RequestsDoc(_EventDoc):
    type: Literal["requests"]
    count: Positive = 1

    def build(self) -> Event:
        return Requests(self.at, self.resource, self.count)


class TokensDoc(_EventDoc):
    type: Literal["tokens"]
    input_tokens: NonNegative = 0
    output_tokens: NonNegative = 0
    cached_input_tokens: NonNegative = 0
    batch: Flag = False
    id: Id | None = None
    """The usage record's id (an import's row id): a replay bills each id once."""

    def build(self) -> Event:
        return TokenUsage(
            self.at,
            self.resource,
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.batch,
            id=self.id,
        )


class JobCompletedDoc(_EventDoc):
    type: Literal["job_completed"]

    def build(self) -> Event:
        return JobCompleted(self.at, self.resource)


class JobCancelledDoc(_EventDoc):
    type: Literal["job_cancelled"]
    tokens_processed: NonNegative

    def build(self) -> Event:
        return JobCancelled(self.at, self.resource, self.tokens_processed)


class _PriceDoc(_Doc):
    """A price change: exactly one of the price kinds."""

    serverless: ServerlessDoc | None = None
    size_tier: SizeTierDoc | None = None
    hardware: HardwareDoc | None = None
    fine_tuning: FineTuningDoc | None = None
    cluster: ClusterDoc | None = None
    storage: StorageDoc | None = None


class PriceChangeDoc(_Doc):
    type: Literal["price_change"]
    price: _PriceDoc
    sources: dict[str, SourceDoc] = {}

    def build(self) -> Event:
        doc = CatalogDoc(
            sources=self.sources,
            serverless=[self.price.serverless] if self.price.serverless else [],
            size_tiers=[self.price.size_tier] if self.price.size_tier else [],
            hardware=[self.price.hardware] if self.price.hardware else [],
            fine_tuning=[self.price.fine_tuning] if self.price.fine_tuning else [],
            clusters=[self.price.cluster] if self.price.cluster else [],
            storage=[self.price.storage] if self.price.storage else [],
        )
        entries = entries_from_doc(doc, source_name="price_change")
        if len(entries) != 1:
            raise InvalidScenario(
                "price_change",
                [
                    (
                        "price",
                        (
                            "give exactly one of serverless, size_tier, hardware, "
                            "fine_tuning, cluster, storage"
                        ),
                    )
                ],
            )
        return PriceChange(entries[0])


EventDoc = Annotated[
    DeployDoc
    | StartDoc
    | ReadyDoc
    | DeployFailedDoc
    | StopDoc
    | DeleteDoc
    | ScaleDoc
    | ScaleGpusDoc
    | ExtendReservationDoc
    | ResizeVolumeDoc
    | PurchaseDoc
    | GrantDoc
    | RequestsDoc
    | TokensDoc
    | JobCompletedDoc
    | JobCancelledDoc
    | PriceChangeDoc,
    pydantic.Field(discriminator="type"),
]


# -- catalog and policies ----------------------------------------------------------------------


class ScenarioCatalogDoc(CatalogDoc):
    """The scenario's prices: the bundled catalog (``default: true``) plus entries and files."""

    default: Flag = True
    files: list[str] = pydantic.Field(default_factory=list)


Grain = Literal["second", "minute", "hour", "prorated"]

if TYPE_CHECKING:
    EditionName = str
else:  # the names of policies.EDITIONS, as the schema's enum
    EditionName = Literal[tuple(EDITIONS)]

#: The policy defaults, stated once in :class:`~together_billing.Policies`.
_POLICY_DEFAULTS: Final = Policies()


def _policy_default(name: str) -> Any:
    """``Policies()``'s ``name`` as a scenario file writes it: the schema's default."""
    value = getattr(_POLICY_DEFAULTS, name)
    if isinstance(value, MeteringGrain):
        return value.name
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return pydantic.Field(default_factory=lambda: list(getattr(_POLICY_DEFAULTS, name)))
    return value


class PoliciesDoc(_Doc):
    """Policy settings; see the rules reference for each policy's id and default.

    ``edition`` picks a rule edition's defaults (``2025-11``, the default, or
    ``2026``); any other field given here overrides the edition.
    """

    # Editions and defaults are stated once, in policies.py; the schema shows them.

    edition: EditionName = DEFAULT_EDITION
    rounding: Literal["half-up", "half-even", "up", "down"] = _policy_default("rounding")
    grain: Grain = _policy_default("grain")
    cluster_grain: Grain = _policy_default("cluster_grain")
    storage_grain: Grain = _policy_default("storage_grain")
    gpu_step: Positive = _policy_default("gpu_step")
    storage_shrink: Literal["allowed", "account-team", "forbidden"] = _policy_default(
        "storage_shrink"
    )
    reservation_payment: Literal["upfront", "credits"] = _policy_default("reservation_payment")
    reservation_alert_hours: Positive = _policy_default("reservation_alert_hours")
    inactive_timeout_minutes: Positive | None = _policy_default("inactive_timeout_minutes")
    size_tier_fallback: Flag = _policy_default("size_tier_fallback")
    batch_discount: Annotated[Amount, pydantic.Field(ge=0, le=1)] | None = _policy_default(
        "batch_discount"
    )
    credit_floor: Annotated[Amount, pydantic.Field(le=0)] = _policy_default("credit_floor")
    linked_card_floor: Annotated[Amount, pydantic.Field(le=0)] = _policy_default(
        "linked_card_floor"
    )
    min_purchase: Annotated[Amount, pydantic.Field(ge=0)] = _policy_default("min_purchase")
    grace_compute_hours: Positive = _policy_default("grace_compute_hours")
    grace_storage_hours: Positive = _policy_default("grace_storage_hours")
    paused_cluster_bills: Flag = _policy_default("paused_cluster_bills")
    revoked_storage_bills: Flag = _policy_default("revoked_storage_bills")
    alert_thresholds: list[Amount] = _policy_default("alert_thresholds")
    alert_lead_hours: Positive = _policy_default("alert_lead_hours")
    exhaustion_suspends_api: Flag = _policy_default("exhaustion_suspends_api")

    def build(self) -> Policies:
        grains = {"grain", "cluster_grain", "storage_grain"}
        explicit: dict[str, Any] = {}
        for name in self.model_fields_set - {"edition"}:
            value = getattr(self, name)
            explicit[name] = MeteringGrain.named(value) if name in grains else value
        if "alert_thresholds" in explicit:
            explicit["alert_thresholds"] = tuple(explicit["alert_thresholds"])
        return Policies.for_edition(self.edition, **explicit)


class AutoRechargeDoc(_Doc):
    """Auto-recharge: ``increment`` (buy ``amount`` until ``threshold``) or ``top-up``."""

    mode: Literal["increment", "top-up"]
    threshold: Amount
    amount: Annotated[Amount, pydantic.Field(gt=0)] = Decimal(25)
    target: Amount | None = None


class AccountDoc(_Doc):
    """The account: credits on, with an opening balance and optional auto-recharge."""

    id: Id = "account"
    opening_balance: Amount = Decimal(0)
    auto_recharge: AutoRechargeDoc | None = None
    linked_card: Flag = False

    def build(self) -> Account:
        recharge = None
        if self.auto_recharge is not None:
            r = self.auto_recharge
            recharge = AutoRecharge(
                mode=r.mode, threshold=r.threshold, amount=r.amount, target=r.target
            )
        return Account(
            self.id,
            opening_balance=self.opening_balance,
            auto_recharge=recharge,
            linked_card=self.linked_card,
        )


class ScenarioDoc(_Doc):
    """A scenario: what to replay, over which span, with which prices and policies."""

    name: str = ""
    description: str = ""
    start: Instant | None = None
    until: Instant
    catalog: ScenarioCatalogDoc = ScenarioCatalogDoc()
    policies: PoliciesDoc = PoliciesDoc()
    account: AccountDoc | None = None
    resources: list[ResourceDoc] = []
    events: list[EventDoc] = []

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> ScenarioDoc:
        """Validate a document; a problem raises :class:`InvalidScenario` (a ``ValueError``).

        Each problem is located as in the file (``events[3].replicas``) and shows the
        value given, so the Python API raises only the library's own errors.
        """
        huge = _documents.huge_integer(obj)
        if huge is not None:
            problem = "an integer of more than 4,000 digits; expected a number below 10**15"
            raise InvalidScenario("scenario", [(huge, problem)])
        try:
            return super().model_validate(obj, **options)
        except pydantic.ValidationError as error:
            raise InvalidScenario("scenario", _problems(error)) from None

    def build_catalog(
        self, base: Path | None = None, *, catalog_dirs: Iterable[str | Path] = ()
    ) -> Catalog:
        """The scenario's prices: the bundled catalog, then ``files``, then its own entries.

        With ``base`` (the scenario file's folder), each file must lie inside it or
        inside one of ``catalog_dirs``: a scenario cannot make the tool read other files.
        """
        entries: list[PriceEntry] = list(default_catalog().entries) if self.catalog.default else []
        catalog = Catalog(entries)
        for index, name in enumerate(self.catalog.files):
            where = f"catalog.files[{index}]"
            path = _catalog_path(name, base, catalog_dirs, where)
            catalog = catalog.with_entries(*_catalog_file(path, where))
        own = entries_from_doc(self.catalog, source_name="scenario catalog")
        return catalog.with_entries(*own)

    def build(
        self,
        *,
        base: Path | None = None,
        catalog_dirs: Iterable[str | Path] = (),
        events: Iterable[Event] | None = None,
    ) -> Scenario:
        """The :class:`Scenario` this document describes (catalog files resolve from ``base``).

        ``events``, if given, replaces the document's own (already built) events.
        """
        resources: list[Resource | Account] = [
            _built(f"resources[{i}]", r.build) for i, r in enumerate(self.resources)
        ]
        if self.account is not None:
            resources.append(_built("account", self.account.build))
        if events is None:
            events = [_built(f"events[{i}]", e.build) for i, e in enumerate(self.events)]
        return Scenario(
            resources=resources,
            events=events,
            until=self.until,
            start=self.start,
            catalog=self.build_catalog(base, catalog_dirs=catalog_dirs),
            policies=self.policies.build(),
            name=self.name,
        )

    def run(
        self,
        *,
        until: object = None,
        base: Path | None = None,
        catalog_dirs: Iterable[str | Path] = (),
    ) -> SimulationResult:
        """Replay the scenario, to ``until`` if given (events after it are left out, IN4).

        Without ``until``, the scenario's own ``until`` applies and every event must
        be at or before it.
        """
        return self.build(base=base, catalog_dirs=catalog_dirs).run(until=until)


def _resources(value: Iterable[Resource | Account]) -> tuple[Resource | Account, ...]:
    return tuple(value)


def _events(value: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(sorted(value))


def _until(value: object) -> pendulum.DateTime:
    return instant(value, field="until")


def _start(value: object) -> pendulum.DateTime | None:
    return None if value is None else instant(value, field="start")


def _catalog_repr(catalog: Catalog) -> str:
    """The bundled catalog by name; any other with every entry and its rates, so that a
    printed scenario (a failing example of the strategies) can be rebuilt from it."""
    if catalog == default_catalog():
        return "default_catalog()"
    return f"Catalog([{', '.join(repr(entry) for entry in catalog.entries)}])"


@attrs.frozen(kw_only=True)
class Scenario:
    """A whole replay as a value: resources, events, span, prices and policies.

    What forecasts, explanations and forks work on. Events are kept in the
    replay's total order, so two scenarios with the same events compare equal
    whatever order they were given in. Build one in Python, or from a scenario
    file with :meth:`from_file`.

    >>> from together_billing import DedicatedEndpoint, Deploy
    >>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
    >>> plan = Scenario(
    ...     resources=[endpoint],
    ...     events=[Deploy("2025-11-01T00:00:00Z", "ep")],
    ...     until="2025-11-02T00:00:00Z",
    ... )
    >>> str(plan.run().total)
    '95.76 USD'
    >>> str(plan.run(until="2025-11-01T12:00:00Z").total)
    '47.88 USD'
    """

    resources: tuple[Resource | Account, ...] = attrs.field(converter=_resources)
    events: tuple[Event, ...] = attrs.field(converter=_events)
    until: pendulum.DateTime = attrs.field(converter=_until)
    start: pendulum.DateTime | None = attrs.field(default=None, converter=_start)
    catalog: Catalog = attrs.field(factory=default_catalog, repr=_catalog_repr)
    policies: Policies = attrs.field(factory=Policies)
    name: str = ""

    @classmethod
    def from_file(cls, path: str | Path, *, catalog_dirs: Iterable[str | Path] = ()) -> Scenario:
        """Load a scenario file (YAML or JSON).

        Its catalog files resolve beside it and must lie in its folder, or in one of
        ``catalog_dirs``.
        """
        return _from_file(path, catalog_dirs)

    @property
    def simulator(self) -> Simulator:
        """A simulator with this scenario's catalog and policies."""
        return Simulator(self.catalog, self.policies)

    def resource(self, resource_id: str) -> Resource:
        """The resource with this id (not the Account)."""
        for resource in self.resources:
            if not isinstance(resource, Account) and resource.id == resource_id:
                return resource
        known = sorted(r.id for r in self.resources if not isinstance(r, Account))
        raise InvalidArgument("resource", resource_id, f"one of the scenario's resources {known}")

    @property
    def account(self) -> Account | None:
        """The scenario's credit account, if it has one."""
        return next((r for r in self.resources if isinstance(r, Account)), None)

    def run(self, *, until: object = None) -> SimulationResult:
        """Replay the scenario to its ``until``, or to an earlier ``until``.

        With ``until``, events after it are left out: the open period's invoice is
        a draft as of that instant (IN4).
        """
        end = self.until if until is None else instant(until, field="until")
        events: Iterable[Event] = self.events
        if until is not None:
            events = self.split(end)[0]
        return self.simulator.run(self.resources, events, until=end, start=self.start)

    def split(self, at: object) -> tuple[tuple[Event, ...], tuple[Event, ...]]:
        """The events at or before ``at``, and those after it.

        A :class:`TokenUsageBatch` that spans ``at`` is cut in two, so nothing is lost.
        """
        cut = to_micros(instant(at, field="at"))
        before: list[Event] = []
        after: list[Event] = []
        for event in self.events:
            if not isinstance(event, TokenUsageBatch):
                (before if to_micros(event.at) <= cut else after).append(event)
                continue
            index = bisect.bisect_right(event.at_micros, cut)
            if index == len(event):
                before.append(event)
            elif index == 0:
                after.append(event)
            else:
                before.append(event.part(0, index))
                after.append(event.part(index, len(event)))
        return tuple(before), tuple(after)

    def with_events(self, *events: Event) -> Scenario:
        """A copy with ``events`` added (``until`` is moved out to the last of them)."""
        last = max((_last_micros(event) for event in events), default=0)
        until = max(self.until, from_micros(last)) if events else self.until
        return attrs.evolve(self, events=(*self.events, *events), until=until)

    def without_events(self, drop: Callable[[Event], bool]) -> Scenario:
        """A copy without the events for which ``drop`` returns true."""
        return attrs.evolve(self, events=[event for event in self.events if not drop(event)])

    def with_resources(self, *resources: Resource | Account) -> Scenario:
        """A copy with these resources added, or replacing those with the same id."""
        ids = {resource.id for resource in resources}
        kept = [r for r in self.resources if r.id not in ids]
        return attrs.evolve(self, resources=(*kept, *resources))


def _last_micros(event: Event) -> int:
    """The instant of an event's last record, in microseconds."""
    if isinstance(event, TokenUsageBatch):
        return event.at_micros[-1]
    return to_micros(event.at)


def _built(location: str, build: Any) -> Any:
    try:
        return build()
    except InvalidScenario as error:
        if error.value in {"price_change", "scenario catalog"}:
            raise InvalidScenario(
                "scenario", [(f"{location}.{loc}", text) for loc, text in error.errors]
            ) from None
        raise
    except BillingError as error:
        raise InvalidScenario("scenario", [(location, str(error))]) from None


def _catalog_path(
    name: str, base: Path | None, catalog_dirs: Iterable[str | Path], where: str
) -> Path:
    """The path of a catalog file a scenario names, inside the folders it may read."""
    if base is None:
        return Path(name)
    path = (base / name).resolve()
    allowed = [base.resolve(), *(Path(folder).resolve() for folder in catalog_dirs)]
    if any(path.is_relative_to(folder) for folder in allowed):
        return path
    problem = (
        f"{name!r} is outside the scenario's folder; expected a catalog file inside "
        f"{str(base) or '.'}, or allow its folder (--catalog-dir DIR, catalog_dirs=[...] in Python)"
    )
    raise InvalidScenario("scenario", [(where, problem)])


def _catalog_file(path: Path, where: str) -> list[PriceEntry]:
    """The entries of a catalog file a scenario names; errors never quote the file."""
    try:
        data = _documents.read_document(path, quiet=True)
        doc = CatalogDoc.model_validate(data)
    except pydantic.ValidationError as error:
        found = _documents.problems(error, values=False)
        raise InvalidScenario(
            "scenario", [(f"{where} {path.name}: {loc}", text) for loc, text in found]
        ) from None
    except BillingError as error:
        raise InvalidScenario("scenario", [(where, str(error))]) from None
    return entries_from_doc(doc, source_name=str(path))


def _tags(parts: list[int | str]) -> int:
    """How many parts after ``parts`` are a tagged union's tag (``resources[0].serverless``)."""
    return 1 if len(parts) == 2 and parts[0] in {"resources", "events"} else 0


def _problems(error: pydantic.ValidationError, prefix: tuple[int | str, ...] = ()) -> Any:
    return _documents.problems(error, tags=_tags, prefix=prefix)


_EVENT: Final = pydantic.TypeAdapter(EventDoc)

# Where each event read from a file was written, for errors raised during its replay.
_ORIGINS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def event_location(event: object, field: str | None = None) -> str | None:
    """Where an event read by :meth:`Scenario.from_file` is in its file, or ``None``.

    For an :class:`~together_billing.InvalidTimeline` raised during a replay: the
    file and ``events[3]`` (with ``.field`` when the event has that field), as
    the CLI reports it.
    """
    try:
        where = _ORIGINS.get(event)
    except TypeError:
        return None
    if where is None:
        return None
    return f"{where}.{field}" if field and hasattr(event, field) else where


def load_scenario(path: str | Path) -> ScenarioDoc:
    """Read and validate a scenario file (YAML, or JSON by its ``.json`` suffix)."""
    target = Path(path)
    data = _documents.read_document(target)
    try:
        return ScenarioDoc.model_validate(data)
    except InvalidScenario as error:
        raise InvalidScenario(str(target), error.errors) from None


def _from_file(path: str | Path, catalog_dirs: Iterable[str | Path]) -> Scenario:
    """Load and build a scenario, validating and building its events one at a time.

    A scenario's events are most of it: each is validated, built and dropped from
    the parsed document in turn, so no validated copy of the whole list is held.
    """
    target = Path(path)
    data = _documents.read_document(target)
    raw_events: Any = data.pop("events", []) if isinstance(data, dict) else []
    found: list[tuple[str, str]] = []
    doc: ScenarioDoc | None = None
    try:
        doc = ScenarioDoc.model_validate(data)
    except InvalidScenario as error:
        found.extend(error.errors)
    events: list[Event] = []
    if not isinstance(raw_events, list):
        found.append(("events", f"Input should be a valid list (got {shown(raw_events)})"))
        raw_events = []
    for index, raw in enumerate(raw_events):
        raw_events[index] = None  # drop the parsed copy as we go
        try:
            event = _EVENT.validate_python(raw)
        except pydantic.ValidationError as error:
            found.extend(_problems(error, ("events", index)))
            continue
        if not found:
            try:
                built = _built(f"events[{index}]", event.build)
            except InvalidScenario as error:
                found.extend(error.errors)
                continue
            events.append(built)
            with contextlib.suppress(TypeError):  # an event that cannot be weakly referenced
                _ORIGINS[built] = f"{target} events[{index}]"
    if found or doc is None:
        raise InvalidScenario(str(target), found)
    try:
        return doc.build(base=target.parent, catalog_dirs=catalog_dirs, events=events)
    except InvalidScenario as error:
        if error.value != "scenario":
            raise
        raise InvalidScenario(str(target), error.errors) from None


def run_scenario(
    path: str | Path, *, until: object = None, catalog_dirs: Iterable[str | Path] = ()
) -> SimulationResult:
    """Load a scenario file and replay it.

    Relative catalog files resolve beside it, and must lie in its folder or in one of
    ``catalog_dirs``.
    """
    return _from_file(path, catalog_dirs).run(until=until)
