"""Policies: the documented, configurable choices where Together's sources are silent or disagree.

Each field names its policy id from the rule book (``P-...``) and its default.
The defaults are those of the seeds' edition (2025-11); a rule :class:`Edition`
(:data:`EDITIONS`) is the set of defaults in force at a date, stated as what it
changes from them. This module is the one place both are written down: the
scenario schema, the CLI and the strategies derive theirs from it.

>>> Policies().inactive_timeout_minutes is None  # no idle auto-stop unless set
True
>>> Policies(grain=MeteringGrain.PER_SECOND).grain.unit
'second'
>>> EDITIONS["2026"].policies().linked_card_floor
Decimal('0')
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from together_billing._choice import Choice
from together_billing.credits import Account
from together_billing.errors import InvalidArgument
from together_billing.money import RoundingMode, to_decimal
from together_billing.time import MeteringGrain

__all__ = [
    "DEFAULT_EDITION",
    "EDITIONS",
    "CancelBasis",
    "Edition",
    "Policies",
    "ReservationPayment",
    "ShrinkPolicy",
    "check_timeout",
]


class CancelBasis(Choice):
    """What a cancelled fine-tuning job is charged for (P-FT-CANCEL, facts C14)."""

    __field__ = "fine_tuning_cancel_basis"

    TOKENS = "tokens"
    """The tokens processed up to cancellation, as the job reports them."""


class ShrinkPolicy(Choice):
    """Whether a storage volume may be made smaller (P-SHRINK, facts C1)."""

    __field__ = "storage_shrink"

    ALLOWED = "allowed"
    """Increase or decrease freely (the 2025-11-08 docs)."""
    ACCOUNT_TEAM = "account-team"
    """Decrease only through the account team (later docs): a ``ResizeVolume`` that
    shrinks must say ``via_account_team=True``."""
    FORBIDDEN = "forbidden"
    """Never decrease."""


class ReservationPayment(Choice):
    """How a reservation is paid (P-RESERVE-PAY): either way it is charged at provisioning."""

    __field__ = "reservation_payment"

    UPFRONT = "upfront"
    CREDITS = "credits"


def _step(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        unit = "GPUs" if attribute.name == "gpu_step" else "hours"
        raise InvalidArgument(attribute.name, value, f"a whole number of {unit} >= 1")


def _floor(value: object) -> Decimal:
    result = to_decimal(value, field="credit_floor")
    if result > 0:
        raise InvalidArgument("credit_floor", value, "0 (prepaid) or a negative balance limit")
    return result


def _card_floor(value: object) -> Decimal:
    result = to_decimal(value, field="linked_card_floor")
    if result > 0:
        raise InvalidArgument(
            "linked_card_floor", value, "0 or a negative balance limit such as -100"
        )
    return result


def _min_purchase(value: object) -> Decimal:
    result = to_decimal(value, field="min_purchase")
    if result < 0:
        raise InvalidArgument("min_purchase", value, "an amount of zero or more")
    return result


def _thresholds(value: object) -> tuple[Decimal, ...]:
    if not isinstance(value, (list, tuple)):
        raise InvalidArgument("alert_thresholds", value, "a sequence of balances")
    return tuple(sorted((to_decimal(v, field="alert_thresholds") for v in value), reverse=True))


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
    - ``inactive_timeout_minutes`` (P-IDLE, DE4): unset (``None``, the default in
      every edition) means no idle auto-stop: hosting and dedicated charges "continue
      to accrue until you explicitly stop the endpoints" (seed), and the API's create
      call disables the timeout when it is omitted (facts C3). A whole number of
      minutes (>= 1) stops every dedicated endpoint and fine-tuned hosting whose own
      ``inactive_timeout_minutes`` is unset after that many minutes without requests.
      ``None`` is the one "off" value, here and on resources.
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
    - ``credit_floor`` (P-FLOOR, CR2): the balance at which credits are exhausted;
      0 (a prepaid account runs out at $0) in every edition.
    - ``linked_card_floor`` (P-FLOOR for an ``Account(linked_card=True)``): the
      negative balance limit of an account with a linked card: -100 in the 2025-11
      edition (Build Tiers 1-4 are billed at month end for use down to -$100), 0 in
      the 2026 edition (fully prepaid). See :meth:`floor_for`.
    - ``min_purchase`` (P-MIN-BUY, CR1): $5.
    - ``grace_compute_hours`` (P-GRACE-COMPUTE, CR4): a paused on-demand cluster is
      decommissioned 72 hours after exhaustion unless credits are restored (not
      stated by Together, facts C8).
    - ``grace_storage_hours`` (P-GRACE-STORAGE, CR5): a revoked volume's data is
      deleted 168 hours (7 days) after exhaustion unless restored (not stated, C8).
    - ``paused_cluster_bills`` (P-PAUSED-BILL, CR4): False.
    - ``revoked_storage_bills`` (CR5): True; a volume whose access is revoked keeps
      its data and keeps billing until it is deleted (Together's later docs: volumes
      bill until deleted); False stops the charge while access is revoked.
    - ``alert_thresholds`` and ``alert_lead_hours`` (P-ALERT, CR6): an alert when the
      balance falls to each threshold ($10), when exhaustion is forecast within 24
      hours, and 24 hours before each scheduled decommission.
    - ``exhaustion_suspends_api`` (P-EXHAUST, CR8): at exhaustion serverless
      requests are refused and not billed; endpoints and hosting stop.
    """

    rounding: RoundingMode = attrs.field(default=RoundingMode.HALF_UP, converter=RoundingMode)
    grain: MeteringGrain = MeteringGrain.PER_MINUTE
    inactive_timeout_minutes: int | None = attrs.field(default=None)
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
    credit_floor: Decimal = attrs.field(default=Decimal(0), converter=_floor)
    linked_card_floor: Decimal = attrs.field(default=Decimal(-100), converter=_card_floor)
    min_purchase: Decimal = attrs.field(default=Decimal(5), converter=_min_purchase)
    grace_compute_hours: int = attrs.field(default=72, validator=_step)
    grace_storage_hours: int = attrs.field(default=168, validator=_step)
    paused_cluster_bills: bool = False
    revoked_storage_bills: bool = True
    alert_thresholds: tuple[Decimal, ...] = attrs.field(
        default=(Decimal(10),), converter=_thresholds
    )
    alert_lead_hours: int = attrs.field(default=24, validator=_step)
    exhaustion_suspends_api: bool = True

    @classmethod
    def for_edition(cls, name: str, **overrides: Any) -> Policies:
        """The policy defaults of a rule edition (``2025-11``, the default, or ``2026``).

        >>> Policies.for_edition("2026").credit_floor
        Decimal('0')
        """
        try:
            edition = EDITIONS[name]
        except KeyError:
            raise InvalidArgument("edition", name, f"one of {sorted(EDITIONS)}") from None
        return edition.policies(**overrides)

    @inactive_timeout_minutes.validator
    def _check_timeout(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        check_timeout(attribute.name, value)

    def floor_for(self, account: Account | None) -> Decimal:
        """The balance at which ``account``'s credits are exhausted (P-FLOOR, CR2).

        ``credit_floor`` ($0: prepaid), or ``linked_card_floor`` for an account with a
        linked card.

        >>> from together_billing.credits import Account
        >>> Policies().floor_for(Account()), Policies().floor_for(Account(linked_card=True))
        (Decimal('0'), Decimal('-100'))
        """
        if account is not None and account.linked_card:
            return self.linked_card_floor
        return self.credit_floor


def check_timeout(field: str, value: object, *, context: str = "") -> None:
    """Check an inactivity timeout (P-IDLE): ``None`` (off) or whole minutes >= 1."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        expected = "a whole number of minutes >= 1, or None (unset) for no idle auto-stop"
        if value == 0:
            expected += "; 0 is not an 'off' value here, leave it unset"
        raise InvalidArgument(field, value, expected, context=context)


@attrs.frozen(kw_only=True)
class Edition:
    """A named set of policy defaults, with the date of the sources they come from.

    ``settings`` holds what the edition changes from the :class:`Policies` defaults
    (those of the seeds' edition, 2025-11, which changes nothing). Pass
    ``edition.policies()`` to a simulator to replay a bill under the rules in force at
    the time; see the docs' rules reference.

    >>> edition = EDITIONS["2026"]
    >>> edition.sources_date, edition.storage_shrink.value
    ('2026-08-18', 'account-team')
    >>> edition.policies(credit_floor=-50).credit_floor
    Decimal('-50')
    """

    name: str
    sources_date: str
    description: str
    settings: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def policies(self, **overrides: Any) -> Policies:
        """The policies of this edition; keyword ``overrides`` win over its settings."""
        return Policies(**{**self.settings, **overrides})

    @property
    def credit_floor(self) -> Decimal:
        """P-FLOOR in this edition (see :attr:`Policies.credit_floor`)."""
        return self.policies().credit_floor

    @property
    def linked_card_floor(self) -> Decimal:
        """P-FLOOR for a linked card in this edition (see :attr:`Policies.linked_card_floor`)."""
        return self.policies().linked_card_floor

    @property
    def storage_shrink(self) -> ShrinkPolicy:
        """P-SHRINK in this edition (see :attr:`Policies.storage_shrink`)."""
        return self.policies().storage_shrink

    @property
    def exhaustion_suspends_api(self) -> bool:
        """P-EXHAUST in this edition (see :attr:`Policies.exhaustion_suspends_api`)."""
        return self.policies().exhaustion_suspends_api


#: The edition of the :class:`Policies` defaults (the seeds' sources).
DEFAULT_EDITION: Final = "2025-11"

#: Every rule edition by name, oldest first.
EDITIONS: Final[Mapping[str, Edition]] = {
    DEFAULT_EDITION: Edition(
        name=DEFAULT_EDITION,
        sources_date="2025-11-14",
        description=(
            "The seeds' edition: prepaid credits run out at $0; an account with a linked "
            "card may go down to a -$100 balance (Build Tiers 1-4), billed at month end; "
            "storage may shrink freely"
        ),
    ),
    "2026": Edition(
        name="2026",
        sources_date="2026-08-18",
        description=(
            "Fully prepaid: API access suspended at a zero balance, linked card or not; "
            "storage decreases only through the account team"
        ),
        settings={"linked_card_floor": Decimal(0), "storage_shrink": ShrinkPolicy.ACCOUNT_TEAM},
    ),
}
