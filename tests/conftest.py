"""Shared fixtures and the Hypothesis profiles of the test suite.

Profiles: ``ci`` (the default, 60 examples) and ``deep`` (2000 examples), chosen
with the environment variable ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from together_billing import (
    Catalog,
    FineTuningPrice,
    HardwarePrice,
    ServerlessPrice,
    SizeTierPrice,
)

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    print_blob=True,
    # HealthCheck.too_slow causes more trouble than good on loaded CI machines.
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: When every price in the tiny test catalogs takes effect.
EPOCH = "2025-01-01T00:00:00Z"
#: Hardware ids of the tiny catalogs.
GPU = "1x_test_gpu"
GPU_RATE = "5.49"
#: Serverless model ids of the tiny catalogs.
CHAT = "test/chat"
CACHED = "test/cached"
BATCHY = "test/batchy"


def tiny_entries() -> list[object]:
    """The entries of the tiny catalog (user prices, not the default catalog's)."""
    return [
        HardwarePrice(GPU, GPU_RATE, EPOCH),
        HardwarePrice("1x_cheap_gpu", "3.99", EPOCH),
        ServerlessPrice(CHAT, "0.20", "0.60", EPOCH),
        ServerlessPrice(CACHED, "0.30", "1.20", EPOCH, cached_input="0.06"),
        ServerlessPrice(BATCHY, "0.88", "0.88", EPOCH, batch_discount="0.5"),
        SizeTierPrice("small", "8", "0.10", "0.10", EPOCH),
        SizeTierPrice("large", "80", "0.90", "0.90", EPOCH),
        FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.48", effective_from=EPOCH),
        FineTuningPrice("16", "sft", lora=False, per_1m_tokens="0.54", effective_from=EPOCH),
        FineTuningPrice("16", "dpo", lora=True, per_1m_tokens="1.20", effective_from=EPOCH),
        FineTuningPrice("70", "sft", lora=True, per_1m_tokens="1.50", effective_from=EPOCH),
    ]


@pytest.fixture
def catalog() -> Catalog:
    """A tiny catalog of user prices, all effective from 2025-01-01."""
    return Catalog(tiny_entries())  # type: ignore[arg-type]
