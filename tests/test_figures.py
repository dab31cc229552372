"""Tests of ``together_billing._figures``: the one place where a Decimal becomes text.

Each function is checked over the states a Decimal can be in (trailing zeros, a positive
exponent, a tiny value that ``str`` writes in exponent form, a negative zero, more digits
than the default context's 28) and the rounding modes of P-ROUND; a last test keeps the
formatting in this one room.
"""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Catalog,
    DedicatedEndpoint,
    Deploy,
    HardwarePrice,
    Policies,
    RoundingMode,
    Stop,
    round_to_cents,
)
from together_billing._figures import (
    at_least_cents,
    cents,
    dollars,
    fixed,
    plain,
    to_places,
    trillionths,
)
from together_billing.explain import idle_report
from together_billing.gate import check_budget
from together_billing.scenario import Scenario
from together_billing.testing import IdleChargesExceeded, assert_idle_under

SRC = Path(__file__).resolve().parents[1] / "src" / "together_billing"

#: Decimals in every shape they come in; no exponent form, no "-0", no lost digit.
SHAPES = [
    ("1.500", "1.5"),
    ("1E+2", "100"),
    ("100", "100"),
    ("0.000000001", "0.000000001"),
    ("1E-12", "0.000000000001"),
    ("-0", "0"),
    ("-0.00", "0"),
    ("0E-2", "0"),
    ("0E+3", "0"),
    ("-2.50", "-2.5"),
    ("1.00000000000000000000000000000000001", "1.00000000000000000000000000000000001"),
    ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
]


@pytest.mark.parametrize(("value", "text"), SHAPES)
def test_plain_is_exact_without_exponent_or_negative_zero(value: str, text: str) -> None:
    assert plain(Decimal(value)) == text


def test_plain_keeps_more_digits_than_the_default_context() -> None:
    """Exact output: ``normalize()`` in the default context would round to 28 digits."""
    value = Decimal(1) / Decimal(3) + Decimal("1E-40")
    assert Decimal(plain(value)) == value


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_plain_reads_back_as_the_same_number(value: Decimal) -> None:
    text = plain(value)
    assert "E" not in text.upper()
    assert text != "-0"
    assert Decimal(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [("10.50", "10.50"), ("1E+2", "100"), ("-0.00", "0.00"), ("1E-9", "0.000000001")],
)
def test_fixed_keeps_the_places_it_has(value: str, text: str) -> None:
    assert fixed(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("0.6666666666", 6, "0.666667"),
        ("0.0000005", 6, "0"),  # half-even: ties go to the even digit
        ("0.0000015", 6, "0.000002"),
        ("-0.0000001", 6, "0"),
        ("1E+3", 6, "1000"),
        ("2.500000", 6, "2.5"),
    ],
)
def test_to_places_rounds_half_even_and_drops_trailing_zeros(
    value: str, places: int, expected: str
) -> None:
    result = to_places(Decimal(value), places)
    assert str(result) == expected
    assert not result.is_signed()


def test_trillionths_is_twelve_places() -> None:
    assert trillionths(Decimal(1) / 3) == Decimal("0.333333333333")
    assert str(trillionths(Decimal("1E+3"))) == "1000"
    assert trillionths(Decimal("0.0000000000004")) == 0
    assert not trillionths(Decimal("-0.0000000000004")).is_signed()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.440", "0.44"),
        ("0.4", "0.40"),
        ("0.1234", "0.1234"),
        ("1E+2", "100.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("-1.5", "-1.50"),
        ("0.00000000012345678901234567890123", "0.00000000012345678901234567890123"),
    ],
)
def test_at_least_cents_never_rounds(value: str, expected: str) -> None:
    assert fixed(at_least_cents(Decimal(value))) == expected


@pytest.mark.parametrize("mode", list(RoundingMode))
@pytest.mark.parametrize("value", ["5.985", "5.975", "-5.985", "-0.001", "0.001", "12"])
def test_cents_is_the_one_rounding_in_the_replays_mode(mode: RoundingMode, value: str) -> None:
    """P-ROUND: the mode given decides; the result is ``round_to_cents`` without a -0.00."""
    result = cents(Decimal(value), mode)
    assert result == round_to_cents(Decimal(value), mode)
    assert result.as_tuple().exponent == -2
    assert not (result.is_zero() and result.is_signed())


def test_cents_differs_by_mode() -> None:
    assert cents(Decimal("5.985"), RoundingMode.HALF_UP) == Decimal("5.99")
    assert cents(Decimal("5.985"), RoundingMode.HALF_EVEN) == Decimal("5.98")


@pytest.mark.parametrize(
    ("value", "text"),
    [("12.50", "$12.50"), ("-3.00", "-$3.00"), ("-0.00", "$0.00"), ("1E+2", "$100")],
)
def test_dollars(value: str, text: str) -> None:
    assert dollars(Decimal(value)) == text


#: The names the old private copies of shared helpers had in each module: Decimal-to-text
#: (now ``_figures``), exact sums (``money.exact_sum``) and exact seconds of a duration
#: (``time.exact_seconds``).
FORMATTER_NAMES = {"_plain", "_cents", "_trillionths", "_dollars", "_sum", "_seconds"}


def test_decimal_to_text_lives_in_one_room() -> None:
    """No module other than ``_figures`` (and the engine, switched by its own change) defines
    its own Decimal-to-text, sum or seconds helper: a second copy would drift from the one."""
    found = []
    for path in sorted(SRC.glob("*.py")):
        if path.name in {"_figures.py", "engine.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.extend(
            f"{path.name}:{node.lineno} {node.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name in FORMATTER_NAMES
        )
    assert found == []


# -- P-ROUND in what the views show ---------------------------------------------------------------

#: 7.50 per hour is 0.125 per replica-minute: half-up shows $0.13, half-even $0.12.
_TIE_CATALOG = Catalog([HardwarePrice("1x_g", "7.50", "2025-11-01T00:00:00Z")])


def _idle_minute(mode: RoundingMode) -> Scenario:
    """One endpoint deployed for one minute without a request, replayed under ``mode``."""
    return Scenario(
        resources=[DedicatedEndpoint("ep", model="m", hardware="1x_g")],
        events=[Deploy("2025-11-03T09:00:00Z", "ep"), Stop("2025-11-03T09:01:00Z", "ep")],
        until="2025-11-04T00:00:00Z",
        catalog=_TIE_CATALOG,
        policies=Policies(rounding=mode),
    )


@pytest.mark.parametrize(
    ("mode", "shown"), [(RoundingMode.HALF_UP, "0.13"), (RoundingMode.HALF_EVEN, "0.12")]
)
def test_idle_figures_are_rounded_in_the_replays_mode(mode: RoundingMode, shown: str) -> None:
    """The idle report, the budget gate and the idle assertion show cents the replay's way."""
    scenario = _idle_minute(mode)
    report = idle_report(scenario)
    assert report.rounding is mode
    assert report.idle == Decimal("0.125")
    assert f"TOTAL idle ${shown} of ${shown} billed" in report.text()
    gate = check_budget(scenario, max_idle="0.10", stop_after_minutes=60)
    (check,) = gate.checks
    assert check.actual == f"{shown} USD billed while idle"
    with pytest.raises(IdleChargesExceeded) as raised:
        assert_idle_under(scenario, "0.10")
    assert f"{shown} USD billed while no request came" in str(raised.value)
