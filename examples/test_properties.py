"""Property tests of a user's own suite, built from docs/testing.md alone.

The shipped strategies and invariants together: every generated replay keeps every
invariant, in every rounding mode; `st.from_type` builds valid events; budgets and
credits assertions behave on generated scenarios. Set ``BILLING_EXAMPLES`` to change the
number of examples per test (default 100)::

    BILLING_EXAMPLES=1000 python -m pytest examples/test_properties.py
"""

from __future__ import annotations

import os

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from together_billing import Event, InvalidArgument, Policies, RoundingMode
from together_billing.strategies import amounts, policies, scenarios, timelines
from together_billing.testing import (
    CreditsRunOut,
    assert_credits_last,
    budget_exceeded,
    check_invariants,
    runway,
)

EXAMPLES = int(os.environ.get("BILLING_EXAMPLES", "100"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(scenarios())
def test_every_scenario_keeps_every_invariant(scenario):
    result = scenario.run()
    check_invariants(result, resources=scenario.resources, events=scenario.events)


@pytest.mark.parametrize("mode", list(RoundingMode))
@PROPERTY
@given(data=st.data())
def test_every_rounding_mode_keeps_every_invariant(mode, data):
    rules = policies().map(lambda drawn: attrs.evolve(drawn, rounding=mode))
    scenario = data.draw(timelines(policies=rules))
    check_invariants(scenario.run(), resources=scenario.resources, events=scenario.events)


@PROPERTY
@given(scenarios())
def test_the_credits_last_until_they_run_out(scenario):
    if scenario.account is None:
        return
    result = scenario.run()
    exhausted = runway(result)
    if exhausted is None:
        assert_credits_last(result, scenario.until)
    else:
        assert_credits_last(result, exhausted)
        with pytest.raises(CreditsRunOut):
            assert_credits_last(result, exhausted.add(microseconds=1))


@PROPERTY
@given(timelines())
def test_a_budget_of_the_largest_month_holds(scenario):
    result = scenario.run()
    largest = max(invoice.total for invoice in result.invoices)
    assert budget_exceeded(result, largest) is None


@PROPERTY
@given(st.from_type(Event), st.from_type(Policies))
def test_from_type_builds_valid_values(event, rules):
    assert event.at.tzinfo is not None
    assert isinstance(rules, Policies)


def test_float_bounds_are_refused():
    with pytest.raises(InvalidArgument):
        amounts(max_value=1.5)
