"""The one bridge from the strategies' generated scenarios to a :class:`Scenario`.

Used by the property tests of the forecast, compare and explain modules, which need a
``Scenario`` (the value those modules take) from ``strategies.scenarios()``.
"""

from __future__ import annotations

from together_billing.scenario import Scenario
from together_billing.strategies import GeneratedScenario


def from_generated(generated: GeneratedScenario) -> Scenario:
    """The :class:`Scenario` that replays like ``generated``."""
    return Scenario(
        resources=generated.resources,
        events=generated.events,
        until=generated.until,
        start=generated.start,
        catalog=generated.catalog,
        policies=generated.policies,
    )
