"""Rule editions and policy defaults are stated once, in ``together_billing.policies``.

The scenario schema, the strategies, the CLI and the pytest plugin show or use them; these
tests fail as soon as a copy drifts from the one in ``policies.py``.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs
import pytest

from together_billing import (
    EDITIONS,
    Edition,
    InvalidArgument,
    Policies,
    ShrinkPolicy,
    pytest_plugin,
)
from together_billing.cli import _parser
from together_billing.policies import DEFAULT_EDITION
from together_billing.scenario import PoliciesDoc, ScenarioDoc
from together_billing.time import MeteringGrain

POLICY_FIELDS = [field.name for field in attrs.fields(Policies)]
#: The policies a scenario file can set: all but P-FT-CANCEL, which has one value (tokens).
DOC_FIELDS = [name for name in POLICY_FIELDS if name != "fine_tuning_cancel_basis"]


def _as_written(value: object) -> Any:
    """A policy value as a scenario file (and its JSON Schema) writes it."""
    if isinstance(value, MeteringGrain):
        return value.name
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_as_written(item) for item in value]
    return value


def test_the_document_has_every_policy_and_only_those() -> None:
    assert set(PoliciesDoc.model_fields) - {"edition"} == set(DOC_FIELDS)


@pytest.mark.parametrize("name", DOC_FIELDS)
def test_each_document_default_is_the_policies_default(name: str) -> None:
    """The schema's default of every field is ``Policies()``'s (or none, for a list)."""
    schema = ScenarioDoc.model_json_schema()["$defs"]["PoliciesDoc"]["properties"][name]
    expected = _as_written(getattr(Policies(), name))
    if isinstance(expected, list):
        assert "default" not in schema  # a default_factory: the list is built per document
        assert _as_written(tuple(getattr(PoliciesDoc(), name))) == expected
    else:
        assert _as_written(schema["default"]) == expected


def test_an_empty_policies_document_builds_the_defaults() -> None:
    assert PoliciesDoc().build() == Policies() == EDITIONS[DEFAULT_EDITION].policies()


def test_the_schema_offers_exactly_the_editions() -> None:
    schema = ScenarioDoc.model_json_schema()["$defs"]["PoliciesDoc"]["properties"]["edition"]
    assert schema["enum"] == list(EDITIONS)
    assert schema["default"] == DEFAULT_EDITION == next(iter(EDITIONS))


@pytest.mark.parametrize("name", list(EDITIONS))
def test_every_way_to_name_an_edition_gives_its_policies(name: str) -> None:
    edition = EDITIONS[name]
    assert isinstance(edition, Edition)
    assert edition.name == name
    expected = edition.policies()
    assert Policies.for_edition(name) == expected
    assert PoliciesDoc.model_validate({"edition": name}).build() == expected
    assert edition.credit_floor == expected.credit_floor
    assert edition.linked_card_floor == expected.linked_card_floor
    assert edition.storage_shrink is expected.storage_shrink
    assert edition.exhaustion_suspends_api is expected.exhaustion_suspends_api


def test_an_edition_states_only_what_it_changes() -> None:
    """2025-11 is the defaults; 2026 changes the linked card's floor and shrinking."""
    assert EDITIONS[DEFAULT_EDITION].settings == {}
    changed = EDITIONS["2026"].policies()
    differs = {
        name for name in POLICY_FIELDS if getattr(changed, name) != getattr(Policies(), name)
    }
    assert differs == {"linked_card_floor", "storage_shrink"}
    assert changed.storage_shrink is ShrinkPolicy.ACCOUNT_TEAM


def test_an_editions_settings_give_way_to_overrides() -> None:
    policies = EDITIONS["2026"].policies(storage_shrink="allowed", linked_card_floor=-20)
    assert policies.storage_shrink is ShrinkPolicy.ALLOWED
    assert policies.linked_card_floor == Decimal(-20)


def test_an_unknown_edition_names_the_editions() -> None:
    with pytest.raises(InvalidArgument) as raised:
        Policies.for_edition("2024")
    assert raised.value.field == "edition"
    assert str(sorted(EDITIONS)) in str(raised.value)


def _edition_choices(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """The ``choices`` of every ``--edition`` option, in every sub-command."""
    found = []
    for action in parser._actions:
        if "--edition" in action.option_strings:
            found.append(tuple(action.choices or ()))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_edition_choices(sub))
    return found


def test_the_cli_and_the_pytest_plugin_offer_exactly_the_editions() -> None:
    """Both keep the names as text so that start-up imports nothing: the copies must agree."""
    assert tuple(EDITIONS) == pytest_plugin.EDITIONS
    choices = _edition_choices(_parser())
    assert choices
    assert all(found == tuple(EDITIONS) for found in choices)
