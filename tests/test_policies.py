"""The policies (:mod:`together_billing.policies`): defaults, validation and rule editions.

Every policy setting is validated where it is given, and a refusal carries the
setting's name as ``field``, the value given and what would be valid. The rule
editions fill in their documented defaults and let any setting be overridden.
Many of these details were first found loose by mutation testing (docs/mutation.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from together_billing import InvalidArgument, MeteringGrain, Policies, RoundingMode
from together_billing.policies import CancelBasis, ReservationPayment, ShrinkPolicy

#: The settings counted in whole GPUs or hours (validated alike, at least 1).
WHOLE_NUMBER_SETTINGS = (
    "gpu_step",
    "reservation_alert_hours",
    "grace_compute_hours",
    "grace_storage_hours",
    "alert_lead_hours",
)
#: The idle timeout (1 or more minutes, or None: off).
TIMEOUT_SETTINGS = ("inactive_timeout_minutes",)


class TestDefaults:
    def test_defaults_of_the_seeds_edition(self) -> None:
        """Without arguments, Policies holds the documented 2025-11 defaults."""
        policies = Policies()
        assert policies.rounding is RoundingMode.HALF_UP
        assert policies.grain is MeteringGrain.PER_MINUTE
        assert policies.inactive_timeout_minutes is None
        assert policies.batch_discount is None
        assert policies.fine_tuning_cancel_basis is CancelBasis.TOKENS
        assert policies.gpu_step == 8
        assert policies.storage_shrink is ShrinkPolicy.ALLOWED
        assert policies.reservation_payment is ReservationPayment.UPFRONT
        assert policies.reservation_alert_hours == 24
        assert policies.credit_floor == Decimal(0)
        assert policies.linked_card_floor == Decimal(-100)
        assert policies.revoked_storage_bills is True
        assert policies.min_purchase == Decimal(5)
        assert policies.grace_compute_hours == 72
        assert policies.grace_storage_hours == 168
        assert policies.alert_thresholds == (Decimal(10),)
        assert policies.alert_lead_hours == 24
        assert policies.exhaustion_suspends_api is True

    def test_choices_are_converted_from_their_names(self) -> None:
        """Choice settings accept their string values and store the enumeration member."""
        policies = Policies(
            rounding="half-even",
            fine_tuning_cancel_basis="tokens",
            storage_shrink="account-team",
            reservation_payment="credits",
        )
        assert policies.rounding is RoundingMode.HALF_EVEN
        assert policies.fine_tuning_cancel_basis is CancelBasis.TOKENS
        assert policies.storage_shrink is ShrinkPolicy.ACCOUNT_TEAM
        assert policies.reservation_payment is ReservationPayment.CREDITS

    @pytest.mark.parametrize(
        ("field", "value", "choices"),
        [
            ("rounding", "nearest", "'half-up', 'half-even', 'up', 'down'"),
            ("fine_tuning_cancel_basis", "hours", "'tokens'"),
            ("storage_shrink", "sometimes", "'allowed', 'account-team', 'forbidden'"),
            ("reservation_payment", "later", "'upfront', 'credits'"),
        ],
    )
    def test_unknown_choice_names_the_setting(self, field: str, value: str, choices: str) -> None:
        """An unknown choice is refused under the setting's own name, listing the choices."""
        with pytest.raises(InvalidArgument) as info:
            Policies(**{field: value})
        assert info.value.field == field
        assert info.value.value == value
        assert info.value.expected == f"one of {choices}"


class TestWholeNumberSettings:
    @pytest.mark.parametrize("field", WHOLE_NUMBER_SETTINGS)
    @pytest.mark.parametrize("value", [1, 2, 1000])
    def test_one_or_more_is_accepted(self, field: str, value: int) -> None:
        """GPU steps and hour counts may be any whole number from 1."""
        assert getattr(Policies(**{field: value}), field) == value

    @pytest.mark.parametrize("field", WHOLE_NUMBER_SETTINGS)
    @pytest.mark.parametrize("value", [0, -1, True, 1.0, "8", None, Decimal(8)])
    def test_others_are_refused_naming_the_setting(self, field: str, value: object) -> None:
        """Zero, negatives, booleans and non-integers are refused under the setting's name."""
        with pytest.raises(InvalidArgument) as info:
            Policies(**{field: value})
        assert info.value.field == field
        assert info.value.value is value
        assert info.value.expected.startswith("a whole number of ")
        assert info.value.expected.endswith(" >= 1")

    def test_gpu_step_refusal_says_gpus(self) -> None:
        """The GPU step's refusal asks for a whole number of GPUs."""
        with pytest.raises(InvalidArgument) as info:
            Policies(gpu_step=0)
        assert info.value.expected == "a whole number of GPUs >= 1"

    @pytest.mark.parametrize(
        "field",
        [
            "reservation_alert_hours",
            "grace_compute_hours",
            "grace_storage_hours",
            "alert_lead_hours",
        ],
    )
    def test_hour_settings_refusal_says_hours(self, field: str) -> None:
        """The hour settings' refusal asks for a whole number of hours, not GPUs."""
        with pytest.raises(InvalidArgument) as info:
            Policies(**{field: 0})
        assert info.value.expected == "a whole number of hours >= 1"


class TestTimeouts:
    @pytest.mark.parametrize("field", TIMEOUT_SETTINGS)
    @pytest.mark.parametrize("value", [None, 1, 90])
    def test_none_or_minutes_is_accepted(self, field: str, value: int | None) -> None:
        """An idle timeout is None (off, the one "off" value) or a number of minutes."""
        assert getattr(Policies(**{field: value}), field) == value

    @pytest.mark.parametrize("field", TIMEOUT_SETTINGS)
    @pytest.mark.parametrize("value", [-1, 0, True, False, 1.5, "60", Decimal(60)])
    def test_others_are_refused_naming_the_setting(self, field: str, value: object) -> None:
        """Negative, boolean and non-integer timeouts are refused under the setting's name."""
        with pytest.raises(InvalidArgument) as info:
            Policies(**{field: value})
        assert info.value.field == field
        assert info.value.value is value
        assert info.value.expected.startswith(
            "a whole number of minutes >= 1, or None (unset) for no idle auto-stop"
        )


class TestAmounts:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(0, Decimal(0)), ("-100", Decimal(-100)), ("-0.01", Decimal("-0.01"))],
    )
    def test_credit_floor_zero_or_negative(self, value: object, expected: Decimal) -> None:
        """The credit floor is 0 (prepaid) or a negative balance limit, exactly."""
        floor = Policies(credit_floor=value).credit_floor
        assert type(floor) is Decimal
        assert floor == expected

    @pytest.mark.parametrize("value", ["0.01", 1, 100])
    def test_positive_credit_floor_is_refused(self, value: object) -> None:
        """A positive floor is refused as ``credit_floor``, saying what is valid."""
        with pytest.raises(InvalidArgument) as info:
            Policies(credit_floor=value)
        assert info.value.field == "credit_floor"
        assert info.value.value == value
        assert info.value.expected == "0 (prepaid) or a negative balance limit"

    def test_credit_floor_must_be_a_number(self) -> None:
        """A float floor is refused by the decimal conversion under the same name."""
        with pytest.raises(InvalidArgument) as info:
            Policies(credit_floor=-100.0)
        assert info.value.field == "credit_floor"

    @pytest.mark.parametrize(("value", "expected"), [(0, Decimal(0)), ("0.01", Decimal("0.01"))])
    def test_min_purchase_zero_or_more(self, value: object, expected: Decimal) -> None:
        """The minimum purchase is zero or a positive amount."""
        assert Policies(min_purchase=value).min_purchase == expected

    @pytest.mark.parametrize("value", ["-0.01", -5])
    def test_negative_min_purchase_is_refused(self, value: object) -> None:
        """A negative minimum purchase is refused as ``min_purchase``."""
        with pytest.raises(InvalidArgument) as info:
            Policies(min_purchase=value)
        assert info.value.field == "min_purchase"
        assert info.value.value == value
        assert info.value.expected == "an amount of zero or more"

    def test_min_purchase_must_be_a_number(self) -> None:
        """A float minimum purchase is refused under the same name."""
        with pytest.raises(InvalidArgument) as info:
            Policies(min_purchase=5.0)
        assert info.value.field == "min_purchase"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(None, None), (0, Decimal(0)), ("0.25", Decimal("0.25")), (1, Decimal(1))],
    )
    def test_batch_discount_is_a_fraction_or_none(
        self, value: object, expected: Decimal | None
    ) -> None:
        """The batch discount override is None or a fraction from 0 to 1, both ends included."""
        assert Policies(batch_discount=value).batch_discount == expected

    @pytest.mark.parametrize("value", ["-0.01", "1.01", 2])
    def test_batch_discount_outside_zero_to_one_is_refused(self, value: object) -> None:
        """A discount below 0 or above 1 is refused as ``batch_discount``."""
        with pytest.raises(InvalidArgument) as info:
            Policies(batch_discount=value)
        assert info.value.field == "batch_discount"
        assert info.value.value == value
        assert info.value.expected == "a fraction from 0 to 1, or None"

    def test_batch_discount_must_be_a_number(self) -> None:
        """A float discount is refused under the same name."""
        with pytest.raises(InvalidArgument) as info:
            Policies(batch_discount=0.5)
        assert info.value.field == "batch_discount"


class TestAlertThresholds:
    def test_thresholds_sorted_highest_first(self) -> None:
        """Thresholds become exact Decimals, highest balance first."""
        policies = Policies(alert_thresholds=[5, "20", Decimal("12.5")])
        assert policies.alert_thresholds == (Decimal(20), Decimal("12.5"), Decimal(5))
        assert all(type(t) is Decimal for t in policies.alert_thresholds)

    def test_no_thresholds(self) -> None:
        """An empty sequence means no balance alerts."""
        assert Policies(alert_thresholds=()).alert_thresholds == ()

    @pytest.mark.parametrize("value", [10, "10", None, {10}])
    def test_a_single_value_is_refused(self, value: object) -> None:
        """Thresholds must be a list or tuple, not a single balance or a set."""
        with pytest.raises(InvalidArgument) as info:
            Policies(alert_thresholds=value)
        assert info.value.field == "alert_thresholds"
        assert info.value.value is value
        assert info.value.expected == "a sequence of balances"

    def test_a_bad_threshold_names_the_setting(self) -> None:
        """A threshold that is not a decimal amount is refused as ``alert_thresholds``."""
        with pytest.raises(InvalidArgument) as info:
            Policies(alert_thresholds=[10, 2.5])
        assert info.value.field == "alert_thresholds"
        assert info.value.value == 2.5


class TestEditions:
    def test_2025_11_edition(self) -> None:
        """The seeds' edition: prepaid to $0, -$100 with a linked card, no idle stop, free shrinking."""
        policies = Policies.for_edition("2025-11")
        assert policies == Policies()
        assert policies.credit_floor == Decimal(0)
        assert policies.linked_card_floor == Decimal(-100)
        assert policies.inactive_timeout_minutes is None
        assert policies.storage_shrink is ShrinkPolicy.ALLOWED
        assert policies.exhaustion_suspends_api is True

    def test_2026_edition(self) -> None:
        """The 2026 edition: prepaid, no idle stop, shrinking through the account team."""
        policies = Policies.for_edition("2026")
        assert policies.credit_floor == Decimal(0)
        assert policies.linked_card_floor == Decimal(0)
        assert policies.inactive_timeout_minutes is None
        assert policies.storage_shrink is ShrinkPolicy.ACCOUNT_TEAM
        assert policies.exhaustion_suspends_api is True
        assert policies.min_purchase == Decimal(5)

    def test_overrides_win_over_the_edition(self) -> None:
        """Keyword overrides replace the edition's defaults, even the ones it sets."""
        policies = Policies.for_edition(
            "2026", credit_floor=-50, inactive_timeout_minutes=15, exhaustion_suspends_api=False
        )
        assert policies.credit_floor == Decimal(-50)
        assert policies.inactive_timeout_minutes == 15
        assert policies.exhaustion_suspends_api is False
        assert policies.storage_shrink is ShrinkPolicy.ACCOUNT_TEAM

    def test_unknown_edition_lists_the_editions(self) -> None:
        """An unknown edition is refused as ``edition``, listing the known ones."""
        with pytest.raises(InvalidArgument) as info:
            Policies.for_edition("2024")
        assert info.value.field == "edition"
        assert info.value.value == "2024"
        assert info.value.expected == "one of ['2025-11', '2026']"
