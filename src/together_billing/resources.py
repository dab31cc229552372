"""Typed resources: what an account runs, and what its billing depends on.

Resources are frozen values validated at construction; what happens to them
over time is told by the events of a timeline (:mod:`together_billing.timeline`).

>>> DedicatedEndpoint("ep-1", model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
...                   hardware="2x_nvidia_h100_80gb_sxm", min_replicas=1, max_replicas=3)
DedicatedEndpoint(id='ep-1', model='meta-llama/Llama-3.3-70B-Instruct-Turbo', \
hardware='2x_nvidia_h100_80gb_sxm', min_replicas=1, max_replicas=3, inactive_timeout_minutes=None)
>>> DedicatedEndpoint("ep-2", model="m", hardware="1x_nvidia_h100_80gb_sxm", min_replicas=2,
...                   max_replicas=1)
Traceback (most recent call last):
...
together_billing.errors.InvalidArgument: DedicatedEndpoint 'ep-2': max_replicas=1 is not \
valid; expected an integer >= min_replicas (2)
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeAlias

import attrs

from together_billing.catalog import ClusterBilling, FineTuningMethod, model_size
from together_billing.errors import InvalidArgument
from together_billing.policies import check_timeout

__all__ = [
    "Category",
    "DedicatedEndpoint",
    "FineTunedHosting",
    "FineTuningJob",
    "InstantCluster",
    "Resource",
    "ServerlessUsage",
    "StorageVolume",
]


class Category(StrEnum):
    """Invoice categories (IN2, G5, FT3): deployment charges are kept apart from usage."""

    SERVERLESS = "serverless"
    FINE_TUNING = "fine-tuning"
    FINE_TUNED_HOSTING = "fine-tuned-hosting"
    DEDICATED_ENDPOINT = "dedicated-endpoint"
    RESERVED_COMPUTE = "reserved-compute"
    BURST_COMPUTE = "burst-compute"
    ON_DEMAND_COMPUTE = "on-demand-compute"
    STORAGE = "storage"

    @property
    def group(self) -> str:
        """``usage`` or ``deployment`` (G5: hosting and deployment are separate from usage).

        Serverless tokens and fine-tuning jobs are usage; everything billed for being
        deployed or reserved (hosting, endpoints, cluster compute, storage) is deployment.
        """
        if self in (Category.SERVERLESS, Category.FINE_TUNING):
            return "usage"
        return "deployment"


def _check_id(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("id", value, "a non-empty string naming the resource")


def _text(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        kind = type(instance).__name__
        raise InvalidArgument(
            attribute.name, value, "a non-empty string", context=f"{kind} {instance.id!r}"
        )


def _whole(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[int], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            kind = type(instance).__name__
            raise InvalidArgument(
                attribute.name,
                value,
                f"an integer >= {minimum}",
                context=f"{kind} {instance.id!r}",
            )

    return check


def _optional_minutes(instance: Any, attribute: attrs.Attribute[int | None], value: object) -> None:
    check_timeout(attribute.name, value, context=f"{type(instance).__name__} {instance.id!r}")


@attrs.frozen
class _Deployment:
    id: str = attrs.field(validator=_check_id)
    model: str = attrs.field(kw_only=True, validator=_text)
    hardware: str = attrs.field(kw_only=True, validator=_text)
    min_replicas: int = attrs.field(kw_only=True, default=1, validator=_whole(1))
    max_replicas: int = attrs.field(kw_only=True, default=1, validator=_whole(1))
    inactive_timeout_minutes: int | None = attrs.field(
        kw_only=True, default=None, validator=_optional_minutes
    )

    def __attrs_post_init__(self) -> None:
        if self.max_replicas < self.min_replicas:
            raise InvalidArgument(
                "max_replicas",
                self.max_replicas,
                f"an integer >= min_replicas ({self.min_replicas})",
                context=f"{type(self).__name__} {self.id!r}",
            )


@attrs.frozen
class DedicatedEndpoint(_Deployment):
    """A dedicated endpoint: billed per minute per ready replica while active (DE1-DE4).

    ``hardware`` is a catalog hardware id such as ``2x_nvidia_h100_80gb_sxm``;
    ``min_replicas`` replicas always run once it is ready (DE3).
    ``inactive_timeout_minutes``: a positive number stops it after that many minutes
    without requests (DE4); unset (``None``, the one "off" value) follows the policy
    P-IDLE, itself unset by default: no idle auto-stop.
    """

    category = Category.DEDICATED_ENDPOINT


@attrs.frozen
class FineTunedHosting(_Deployment):
    """A deployed fine-tuned model: billed per minute of hosting while deployed (FT2, FT3).

    Requests or not, it accrues until explicitly stopped. ``job`` optionally names
    the :class:`FineTuningJob` it came from; its hosting lines stay separate from
    the job's cost. ``inactive_timeout_minutes``: as for :class:`DedicatedEndpoint`
    (unset: no idle auto-stop unless the policy P-IDLE sets one).
    """

    job: str | None = attrs.field(kw_only=True, default=None)

    category = Category.FINE_TUNED_HOSTING


def _optional_params(value: object) -> Decimal | None:
    return None if value is None else model_size(value, field="params_b")


@attrs.frozen
class ServerlessUsage:
    """An account's use of one serverless model, billed per token (SL1-SL3).

    ``params_b`` (billions of parameters) lets models without a catalog entry be
    priced by size tier (P-TIER).
    """

    id: str = attrs.field(validator=_check_id)
    model: str = attrs.field(kw_only=True, validator=_text)
    params_b: Decimal | None = attrs.field(kw_only=True, default=None, converter=_optional_params)

    category = Category.SERVERLESS


def _positive_params(value: object) -> Decimal:
    return model_size(value, field="params_b")


@attrs.frozen(kw_only=True)
class FineTuningJob:
    """A fine-tuning job, charged once when it completes or is cancelled (FT1).

    Tokens processed = ``n_epochs`` x ``training_tokens`` + ``n_evals`` x
    ``validation_tokens``, priced by the catalog rate for (size bracket of
    ``params_b``, ``method``, ``lora``). There is no minimum charge.
    """

    id: str = attrs.field(validator=_check_id)
    model: str = attrs.field(validator=_text)
    params_b: Decimal = attrs.field(converter=_positive_params)
    training_tokens: int = attrs.field(validator=_whole(0))
    n_epochs: int = attrs.field(default=1, validator=_whole(1))
    validation_tokens: int = attrs.field(default=0, validator=_whole(0))
    n_evals: int = attrs.field(default=0, validator=_whole(0))
    method: FineTuningMethod = attrs.field(default=FineTuningMethod.SFT, converter=FineTuningMethod)
    lora: bool = True

    category = Category.FINE_TUNING

    @property
    def total_tokens(self) -> int:
        """``n_epochs * training_tokens + n_evals * validation_tokens`` (FT1; W11, W12)."""
        return self.n_epochs * self.training_tokens + self.n_evals * self.validation_tokens


def _optional_days(instance: Any, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 90:
        raise InvalidArgument(
            attribute.name,
            value,
            "a whole number of days from 1 to 90",
            context=f"InstantCluster {instance.id!r}",
        )


@attrs.frozen
class InstantCluster:
    """An Instant GPU cluster, reserved or on-demand (CL1-CL6).

    ``billing="reserved"``: ``reserved_gpus`` GPUs are reserved for ``duration_days``
    (1-90) and charged in full once the cluster is ready (CL2); ``gpus`` above
    ``reserved_gpus`` burst at the on-demand rate (CL3). ``billing="on-demand"``: all
    ``gpus`` bill for the time they run (CL4). GPU counts go in steps of 8 (CL6,
    policy P-GPU-STEP; checked by the replay against the policy).
    """

    id: str = attrs.field(validator=_check_id)
    gpu_type: str = attrs.field(kw_only=True, validator=_text)
    billing: ClusterBilling = attrs.field(kw_only=True, converter=ClusterBilling)
    gpus: int = attrs.field(kw_only=True, validator=_whole(1))
    reserved_gpus: int = attrs.field(kw_only=True, default=0, validator=_whole(0))
    duration_days: int | None = attrs.field(kw_only=True, default=None, validator=_optional_days)

    category = Category.ON_DEMAND_COMPUTE

    def __attrs_post_init__(self) -> None:
        context = f"InstantCluster {self.id!r}"
        if self.billing is ClusterBilling.RESERVED:
            if self.duration_days is None:
                raise InvalidArgument(
                    "duration_days", None, "1 to 90 days for a reserved cluster", context=context
                )
            if self.reserved_gpus < 1:
                raise InvalidArgument(
                    "reserved_gpus",
                    self.reserved_gpus,
                    "at least one GPU for a reserved cluster",
                    context=context,
                )
            if self.gpus < self.reserved_gpus:
                raise InvalidArgument(
                    "gpus",
                    self.gpus,
                    f"at least reserved_gpus ({self.reserved_gpus}) when the cluster starts",
                    context=context,
                )
        else:
            if self.reserved_gpus:
                raise InvalidArgument(
                    "reserved_gpus",
                    self.reserved_gpus,
                    "0 for an on-demand cluster (use billing='reserved' to reserve)",
                    context=context,
                )
            if self.duration_days is not None:
                raise InvalidArgument(
                    "duration_days",
                    self.duration_days,
                    "None for an on-demand cluster: it runs until terminated",
                    context=context,
                )

    @property
    def reserved(self) -> bool:
        return self.billing is ClusterBilling.RESERVED


@attrs.frozen
class StorageVolume:
    """A shared storage volume, billed pay-as-you-go: size x time x rate (ST1-ST3).

    ``size_tib`` is whole TiB (at least 1). ``cluster`` names the cluster it is
    attached to, if any: while that cluster's reservation is active the volume is
    priced at the reserved storage rate where the catalog has one; otherwise, and
    after the reservation ends, at the on-demand rate (ST3).
    """

    id: str = attrs.field(validator=_check_id)
    size_tib: int = attrs.field(kw_only=True, validator=_whole(1))
    cluster: str | None = attrs.field(kw_only=True, default=None)

    category = Category.STORAGE


Resource: TypeAlias = (
    DedicatedEndpoint
    | FineTunedHosting
    | ServerlessUsage
    | FineTuningJob
    | InstantCluster
    | StorageVolume
)
