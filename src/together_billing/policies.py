"""Policies: the documented, configurable choices where Together's sources are silent or disagree.

Each field names its policy id from the rule book (``P-...``) and its default.
The defaults are those of the seeds' edition (2025-11).

>>> Policies().idle_timeout_minutes
60
>>> Policies(grain=MeteringGrain.PER_SECOND).grain.unit
'second'
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import attrs

from together_billing.errors import InvalidArgument
from together_billing.money import RoundingMode, to_decimal
from together_billing.time import MeteringGrain

__all__ = ["CancelBasis", "Policies", "ReservationPayment", "ShrinkPolicy"]


class CancelBasis(StrEnum):
    """What a cancelled fine-tuning job is charged for (P-FT-CANCEL, facts C14)."""

    TOKENS = "tokens"
    """The tokens processed up to cancellation, as the job reports them."""


class ShrinkPolicy(StrEnum):
    """Whether a storage volume may be made smaller (P-SHRINK, facts C1)."""

    ALLOWED = "allowed"
    """Increase or decrease freely (the 2025-11-08 docs)."""
    ACCOUNT_TEAM = "account-team"
    """Decrease only through the account team (later docs): a ``ResizeVolume`` that
    shrinks must say ``via_account_team=True``."""
    FORBIDDEN = "forbidden"
    """Never decrease."""


class ReservationPayment(StrEnum):
    """How a reservation is paid (P-RESERVE-PAY): either way it is charged at provisioning."""

    UPFRONT = "upfront"
    CREDITS = "credits"


def _step(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument(attribute.name, value, "a whole number of GPUs >= 1")


def _optional_fraction(value: object) -> Decimal | None:
    if value is None:
        return None
    result = to_decimal(value, field="batch_discount")
    if not 0 <= result <= 1:
        raise InvalidArgument("batch_discount", value, "a fraction from 0 to 1, or None")
    return result


@attrs.frozen(kw_only=True)
class Policies:
    """The policy settings a replay runs under.

    - ``rounding`` (P-ROUND): how each invoice line's exact amount is rounded to
      cents; half-up.
    - ``grain`` (P-GRAIN): how running time of endpoints and hosting is counted;
      per started minute, on a grid anchored at the start of each continuous
      running interval of each replica.
    - ``idle_timeout_minutes`` (P-IDLE, DE4): dedicated endpoints whose own
      ``inactive_timeout_minutes`` is unset stop after this many minutes without
      requests; 60 (2025 docs, v1 API); ``None`` or 0 disables (2026 docs: no idle
      shutdown).
    - ``hosting_idle_timeout_minutes`` (P-IDLE for fine-tuned hosting): ``None``;
      hosting bills until explicitly stopped (seed, FT2).
    - ``size_tier_fallback`` (P-TIER, SL2): price serverless models without a
      catalog entry by their size tier, when their size is known; on.
    - ``batch_discount`` (P-BATCH, SL3): ``None`` uses each model's catalog
      discount (50% where the catalog marks it); a fraction overrides all models.
    - ``fine_tuning_cancel_basis`` (P-FT-CANCEL, FT1): a cancelled job is charged
      for the tokens processed.
    - ``cluster_grain`` (P-GRAIN for clusters, CL3, CL4): on-demand and burst GPUs
      bill per started minute of each GPU group's running interval (hourly rates,
      "pay per hour of runtime"; partial hours are not documented, facts C9).
    - ``storage_grain`` (P-GRAIN for storage, ST1): per started minute of each TiB
      (no granularity is documented, facts C9); a resize adds TiB on their own grid
      or removes the newest, so cost is additive over resizes and splits.
    - ``gpu_step`` (P-GPU-STEP, CL6): cluster GPU counts are multiples of 8.
    - ``storage_shrink`` (P-SHRINK, ST2): decreases allowed (2025-11-08 docs).
    - ``reservation_payment`` (P-RESERVE-PAY, CL2): upfront; ``credits`` deducts
      it from credits; either way the charge is at provisioning.
    - ``reservation_alert_hours`` (CL5, CR6): the alert before a reservation ends
      comes 24 hours ahead.
    """

    rounding: RoundingMode = attrs.field(default=RoundingMode.HALF_UP, converter=RoundingMode)
    grain: MeteringGrain = MeteringGrain.PER_MINUTE
    idle_timeout_minutes: int | None = attrs.field(default=60)
    hosting_idle_timeout_minutes: int | None = attrs.field(default=None)
    size_tier_fallback: bool = True
    batch_discount: Decimal | None = attrs.field(default=None, converter=_optional_fraction)
    fine_tuning_cancel_basis: CancelBasis = attrs.field(
        default=CancelBasis.TOKENS, converter=CancelBasis
    )
    cluster_grain: MeteringGrain = MeteringGrain.PER_MINUTE
    storage_grain: MeteringGrain = MeteringGrain.PER_MINUTE
    gpu_step: int = attrs.field(default=8, validator=_step)
    storage_shrink: ShrinkPolicy = attrs.field(default=ShrinkPolicy.ALLOWED, converter=ShrinkPolicy)
    reservation_payment: ReservationPayment = attrs.field(
        default=ReservationPayment.UPFRONT, converter=ReservationPayment
    )
    reservation_alert_hours: int = attrs.field(default=24, validator=_step)

    @idle_timeout_minutes.validator
    @hosting_idle_timeout_minutes.validator
    def _check_timeout(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidArgument(
                attribute.name, value, "a whole number of minutes >= 0, or None to disable"
            )
