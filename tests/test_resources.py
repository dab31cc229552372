"""Tests of :mod:`together_billing.resources`: validation at construction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from together_billing import (
    Category,
    DedicatedEndpoint,
    FineTunedHosting,
    FineTuningJob,
    FineTuningMethod,
    InvalidArgument,
    Policies,
    ServerlessUsage,
)


class TestDeployments:
    @pytest.mark.parametrize("kind", [DedicatedEndpoint, FineTunedHosting])
    def test_max_below_min_replicas(self, kind: type) -> None:
        """max_replicas < min_replicas raises naming max_replicas, its value and the minimum."""
        with pytest.raises(InvalidArgument) as info:
            kind("ep", model="m", hardware="1x_g", min_replicas=3, max_replicas=2)
        assert info.value.field == "max_replicas"
        assert info.value.value == 2
        assert "3" in info.value.expected
        assert "'ep'" in str(info.value)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("min_replicas", 0),
            ("max_replicas", 0),
            ("min_replicas", True),
            ("inactive_timeout_minutes", -1),
        ],
    )
    def test_bad_counts(self, field: str, value: object) -> None:
        """Zero or boolean replica counts and negative timeouts raise naming the field."""
        with pytest.raises(InvalidArgument) as info:
            DedicatedEndpoint("ep", model="m", hardware="1x_g", **{field: value})  # type: ignore[arg-type]
        assert info.value.field == field
        assert info.value.value == value

    @pytest.mark.parametrize("bad_id", ["", "   ", None, 7])
    def test_bad_ids(self, bad_id: object) -> None:
        """An empty or non-string id is rejected naming ``id``."""
        with pytest.raises(InvalidArgument) as info:
            DedicatedEndpoint(bad_id, model="m", hardware="1x_g")  # type: ignore[arg-type]
        assert info.value.field == "id"

    @pytest.mark.parametrize("field", ["model", "hardware"])
    def test_empty_text_fields(self, field: str) -> None:
        """Empty model or hardware strings are rejected naming the field."""
        fields = {"model": "m", "hardware": "1x_g", field: ""}
        with pytest.raises(InvalidArgument) as info:
            FineTunedHosting("h", **fields)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_unset_timeout_is_the_one_off_value(self) -> None:
        """P-IDLE: unset (None) is off; 0 is rejected naming the field and the valid values."""
        endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
        assert endpoint.inactive_timeout_minutes is None
        with pytest.raises(InvalidArgument) as info:
            DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=0)
        assert info.value.field == "inactive_timeout_minutes"
        assert "None (unset)" in str(info.value)
        assert "'ep'" in str(info.value)
        with pytest.raises(InvalidArgument):
            Policies(inactive_timeout_minutes=0)

    def test_categories_and_groups(self) -> None:
        """Endpoints and hosting are deployment charges; serverless and jobs are usage (G5)."""
        assert DedicatedEndpoint.category is Category.DEDICATED_ENDPOINT
        assert FineTunedHosting.category is Category.FINE_TUNED_HOSTING
        assert (
            Category.DEDICATED_ENDPOINT.group == Category.FINE_TUNED_HOSTING.group == "deployment"
        )
        assert Category.SERVERLESS.group == Category.FINE_TUNING.group == "usage"


class TestServerlessUsage:
    def test_params_b_is_decimal(self) -> None:
        """params_b given as a string is held as an exact Decimal."""
        assert ServerlessUsage("s", model="m", params_b="7.5").params_b == Decimal("7.5")

    @pytest.mark.parametrize("bad", ["0", "-1", 7.5])
    def test_bad_params_b(self, bad: object) -> None:
        """A non-positive or float size is rejected naming params_b."""
        with pytest.raises(InvalidArgument) as info:
            ServerlessUsage("s", model="m", params_b=bad)
        assert info.value.field == "params_b"


class TestFineTuningJob:
    def test_total_tokens(self) -> None:
        """total_tokens = epochs x training + evals x validation (W12: 7M)."""
        job = FineTuningJob(
            id="j",
            model="m",
            params_b="8",
            training_tokens=2_000_000,
            n_epochs=3,
            validation_tokens=500_000,
            n_evals=2,
        )
        assert job.total_tokens == 7_000_000
        assert job.method is FineTuningMethod.SFT
        assert job.lora is True

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("training_tokens", -1),
            ("n_epochs", 0),
            ("n_evals", -1),
            ("validation_tokens", -5),
        ],
    )
    def test_bad_counts(self, field: str, value: int) -> None:
        """Negative token counts or zero epochs raise naming the field and value."""
        fields: dict[str, object] = {
            "id": "j",
            "model": "m",
            "params_b": "8",
            "training_tokens": 10,
        }
        fields[field] = value
        with pytest.raises(InvalidArgument) as info:
            FineTuningJob(**fields)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == (field, value)

    def test_bad_method(self) -> None:
        """An unknown training method is rejected."""
        with pytest.raises(ValueError, match="ppo"):
            FineTuningJob(id="j", model="m", params_b="8", training_tokens=1, method="ppo")  # type: ignore[arg-type]
