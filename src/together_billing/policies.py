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

__all__ = ["CancelBasis", "Policies"]


class CancelBasis(StrEnum):
    """What a cancelled fine-tuning job is charged for (P-FT-CANCEL, facts C14)."""

    TOKENS = "tokens"
    """The tokens processed up to cancellation, as the job reports them."""


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

    @idle_timeout_minutes.validator
    @hosting_idle_timeout_minutes.validator
    def _check_timeout(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidArgument(
                attribute.name, value, "a whole number of minutes >= 0, or None to disable"
            )
