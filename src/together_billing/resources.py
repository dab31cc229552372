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

from together_billing.catalog import FineTuningMethod
from together_billing.errors import InvalidArgument
from together_billing.money import to_decimal

__all__ = [
    "Category",
    "DedicatedEndpoint",
    "FineTunedHosting",
    "FineTuningJob",
    "Resource",
    "ServerlessUsage",
]


class Category(StrEnum):
    """Invoice categories (IN2, G5): deployment charges are kept apart from usage."""

    SERVERLESS = "serverless"
    FINE_TUNING = "fine-tuning"
    FINE_TUNED_HOSTING = "fine-tuned-hosting"
    DEDICATED_ENDPOINT = "dedicated-endpoint"

    @property
    def group(self) -> str:
        """``usage`` or ``deployment`` (G5: hosting and deployment are separate from usage)."""
        if self in (Category.FINE_TUNED_HOSTING, Category.DEDICATED_ENDPOINT):
            return "deployment"
        return "usage"


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
    if value is None:
        return
    _whole(0)(instance, attribute, value)


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
    ``inactive_timeout_minutes``: ``None`` follows policy P-IDLE, ``0`` disables
    the idle auto-stop, a positive number stops it after that many idle minutes (DE4).
    """

    category = Category.DEDICATED_ENDPOINT


@attrs.frozen
class FineTunedHosting(_Deployment):
    """A deployed fine-tuned model: billed per minute of hosting while deployed (FT2, FT3).

    Requests or not, it accrues until explicitly stopped. ``job`` optionally names
    the :class:`FineTuningJob` it came from; its hosting lines stay separate from
    the job's cost. ``inactive_timeout_minutes``: ``None`` follows policy P-IDLE for
    hosting (disabled by default).
    """

    job: str | None = attrs.field(kw_only=True, default=None)

    category = Category.FINE_TUNED_HOSTING


def _optional_params(value: object) -> Decimal | None:
    if value is None:
        return None
    result = to_decimal(value, field="params_b")
    if result <= 0:
        raise InvalidArgument("params_b", value, "a positive number of billions of parameters")
    return result


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
    result = to_decimal(value, field="params_b")
    if result <= 0:
        raise InvalidArgument("params_b", value, "a positive number of billions of parameters")
    return result


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
        """``n_epochs * training_tokens + n_evals * validation_tokens`` (W11, W12)."""
        return self.n_epochs * self.training_tokens + self.n_evals * self.validation_tokens


Resource: TypeAlias = DedicatedEndpoint | FineTunedHosting | ServerlessUsage | FineTuningJob
