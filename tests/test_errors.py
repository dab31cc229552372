"""The errors of ``together_billing.errors``: one base, one constructor, the same attributes.

Every error carries ``field``, ``value``, ``expected`` and ``location``, set in one place
(:class:`BillingError`'s constructor), and is also the builtin a caller would catch.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from together_billing import errors
from together_billing.errors import (
    BillingError,
    CurrencyMismatch,
    InvalidArgument,
    InvalidResponse,
    InvalidScenario,
    InvalidTimeline,
    MissingDependency,
    NaiveDatetimeError,
    UnknownPrice,
)

#: One instance of each error, the attributes it must carry, and the builtin it also is.
CASES = [
    (
        InvalidArgument("replicas", -1, "an integer >= 0", context="events[2]"),
        ("replicas", -1, "an integer >= 0", "events[2]"),
        ValueError,
        "events[2]: replicas=-1 is not valid; expected an integer >= 0",
    ),
    (
        InvalidArgument("replicas", -1, "an integer >= 0"),
        ("replicas", -1, "an integer >= 0", ""),
        ValueError,
        "replicas=-1 is not valid; expected an integer >= 0",
    ),
    (
        NaiveDatetimeError("at", "2025-11-01T00:00:00"),
        ("at", "2025-11-01T00:00:00", None, ""),
        ValueError,
        "at='2025-11-01T00:00:00' is not valid; expected a timezone-aware instant",
    ),
    (
        CurrencyMismatch("USD", "EUR"),
        ("currency", ("USD", "EUR"), "amounts in the same currency", ""),
        TypeError,
        "cannot combine amounts in 'USD' and 'EUR'; convert one of them first",
    ),
    (
        InvalidTimeline("Stop(ep)", "resource", "ep", "a running resource"),
        ("resource", "ep", "a running resource", "'Stop(ep)'"),
        ValueError,
        "'Stop(ep)': resource='ep' is not valid; expected a running resource",
    ),
    (
        UnknownPrice("model", "m", "a model of the catalog"),
        ("model", "m", "a model of the catalog", ""),
        LookupError,
        "no price for model='m'; expected a model of the catalog",
    ),
    (
        InvalidScenario("plan.yaml", [("events[0].at", "missing"), ("until", "missing")]),
        ("events[0].at", "plan.yaml", "a scenario matching `together-billing schema`", None),
        ValueError,
        "plan.yaml is not a valid scenario:\n  events[0].at: missing\n  until: missing",
    ),
    (
        InvalidResponse("usage.json", [("data[1].cost", "not a number")], expected="a report"),
        ("data[1].cost", "usage.json", "a report", "data[1].cost"),
        ValueError,
        "usage.json is not a report:\n  data[1].cost: not a number",
    ),
    (
        MissingDependency("hypothesis", needed_by="strategies", extra="testing"),
        ("hypothesis", "strategies", "pip install 'together-billing[testing]'", ""),
        ImportError,
        "strategies needs hypothesis: pip install 'together-billing[testing]'",
    ),
]


@pytest.mark.parametrize(("error", "attributes", "builtin", "message"), CASES)
def test_every_error_carries_field_value_expected_and_location(
    error: BillingError, attributes: tuple[object, ...], builtin: type, message: str
) -> None:
    assert isinstance(error, BillingError)
    assert isinstance(error, builtin)
    field, value, expected, location = attributes
    assert error.field == field
    assert error.value == value
    if expected is not None:
        assert error.expected == expected
    if location is not None:
        assert error.location == location
    assert str(error).startswith(message)


def test_an_invalid_scenario_locates_its_first_problem_and_lists_twenty() -> None:
    problems = [(f"events[{i}]", "bad") for i in range(25)]
    error = InvalidScenario("plan.yaml", problems)
    assert (error.field, error.location, error.errors) == ("events[0]", "events[0]", problems)
    assert str(error).count("\n  events[") == 20
    assert str(error).endswith("... and 5 more problem(s)")
    assert InvalidScenario("plan.yaml", []).location == ""


def test_missing_dependency_is_an_import_error_naming_the_package() -> None:
    assert MissingDependency("rich", needed_by="cli", extra="cli").name == "rich"


def test_the_base_error_builds_the_message_from_its_parts() -> None:
    error = BillingError(
        field="size_tib", value=0, expected="a size of 1 TiB or more", location="resources[1]"
    )
    assert str(error) == "resources[1]: size_tib=0 is not valid; expected a size of 1 TiB or more"
    assert str(BillingError("custom", field="x", value=1, expected="y")) == "custom"


def test_a_message_alone_is_an_error_with_empty_parts() -> None:
    """As for any exception, and for the testing toolkit's assertion errors."""
    error = BillingError("the bill is over budget")
    assert str(error) == "the bill is over budget"
    assert (error.field, error.value, error.expected, error.location) == ("", None, "", "")


def test_only_the_base_error_sets_the_shared_attributes() -> None:
    """One constructor: no subclass assigns ``field``, ``value``, ``expected`` or ``location``."""
    tree = ast.parse(Path(inspect.getfile(errors)).read_text(encoding="utf-8"))
    setters = {
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for assign in ast.walk(node)
        if isinstance(assign, ast.Assign)
        for target in assign.targets
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
        and target.attr in {"field", "value", "expected", "location"}
    }
    assert setters == {"BillingError"}
    public = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert public == {type(error).__name__ for error, *_ in CASES} | {"BillingError"}
