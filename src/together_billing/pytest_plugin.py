"""The pytest plugin of together-billing: fixtures and bill-budget assertions.

Installed with the library (the ``pytest11`` entry point ``together_billing``),
so every test suite of a project that installs together-billing gets:

- options, in the ``together-billing`` group of ``pytest --help``:
  ``--billing-catalog PATH`` adds the price entries of a catalog file to the
  bundled catalog, ``--billing-pin-catalog`` prices with that file alone (the
  bundled catalog, which changes between releases, is left out), and
  ``--billing-edition {2025-11,2026}`` picks the rule edition whose policy
  defaults the simulator uses. The same settings can live in the ini file
  (``billing_catalog``, ``billing_pin_catalog``, ``billing_edition``), so a
  suite pins its prices once: ``together-billing catalog --format yaml >
  prices.yaml`` writes a catalog file that loads back;
- fixtures ``billing_catalog`` (a :class:`~together_billing.Catalog`),
  ``billing_simulator`` (a :class:`~together_billing.Simulator` with that
  catalog and edition) and ``billing_budget`` (the assertions below, with the
  limit of the test's ``billing_budget`` marker as default);
- assertions :func:`assert_monthly_bill_under` and :func:`assert_credits_last`,
  whose failure messages list the bill's lines, largest first.

The options are prefixed ``--billing-`` rather than ``--tb-``: pytest's own
``--tb`` (traceback style) would read as their prefix.

This module imports nothing from the library at load time: fixtures and
assertions import what they need when used, and the package itself imports each
public name on first use. Loading the plugin therefore costs a test session that
does not use it a few milliseconds, not the library's import (pydantic, pendulum).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal

    from together_billing.catalog import Catalog
    from together_billing.engine import SimulationResult, Simulator
    from together_billing.money import Money
    from together_billing.scenario import Scenario
    from together_billing.time import BillingPeriod

__all__ = [
    "BillingBudget",
    "assert_credits_last",
    "assert_monthly_bill_under",
    "billing_budget",
    "billing_catalog",
    "billing_simulator",
]

GROUP: Final = "together-billing"
CATALOG_OPTION: Final = "--billing-catalog"
PIN_OPTION: Final = "--billing-pin-catalog"
EDITION_OPTION: Final = "--billing-edition"
EDITIONS: Final = ("2025-11", "2026")
MARKER: Final = "billing_budget"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "together-billing: bill forecasts and invariant checks")
    group.addoption(
        CATALOG_OPTION,
        action="store",
        dest="billing_catalog",
        metavar="PATH",
        default=None,
        help="catalog file (YAML or JSON) whose prices are added to the bundled catalog "
        "in the billing_catalog and billing_simulator fixtures",
    )
    group.addoption(
        PIN_OPTION,
        action="store_true",
        dest="billing_pin_catalog",
        default=None,
        help="price with the --billing-catalog file alone, not the bundled catalog (whose "
        "prices change between releases)",
    )
    group.addoption(
        EDITION_OPTION,
        action="store",
        dest="billing_edition",
        choices=EDITIONS,
        default=None,
        help="rule edition whose policy defaults billing_simulator uses (default: 2025-11)",
    )
    parser.addini(
        "billing_catalog",
        "catalog file (relative to the ini file) added to, or with billing_pin_catalog "
        "replacing, the bundled catalog; --billing-catalog overrides it",
        type="string",
        default="",
    )
    parser.addini(
        "billing_pin_catalog",
        "price with the billing_catalog file alone, not the bundled catalog",
        type="bool",
        default=False,
    )
    parser.addini(
        "billing_edition",
        "rule edition whose policy defaults billing_simulator uses; --billing-edition overrides",
        type="string",
        default="",
    )


def _settings(config: pytest.Config) -> tuple[Path | None, bool, str | None]:
    """The catalog file, whether it is pinned, and the edition: options over ini settings."""
    path: Path | None = None
    option = config.getoption("billing_catalog")
    if option is not None:
        path = Path(option)
        if not path.is_absolute():
            path = config.rootpath / path
    elif ini := str(config.getini("billing_catalog") or ""):
        path = Path(ini)
        if not path.is_absolute():
            base = config.inipath.parent if config.inipath is not None else config.rootpath
            path = base / path
    pinned = config.getoption("billing_pin_catalog")
    if pinned is None:
        pinned = bool(config.getini("billing_pin_catalog"))
    if pinned and path is None:
        msg = (
            f"{PIN_OPTION} (or billing_pin_catalog) needs a catalog file: pass "
            f"{CATALOG_OPTION} PATH or set billing_catalog in the ini file "
            "(together-billing catalog --format yaml writes one)"
        )
        raise pytest.UsageError(msg)
    edition = config.getoption("billing_edition") or str(config.getini("billing_edition") or "")
    if edition and edition not in EDITIONS:
        msg = f"billing_edition = {edition!r} is not valid; expected one of {', '.join(EDITIONS)}"
        raise pytest.UsageError(msg)
    return path, bool(pinned), edition or None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(limit, *, period=None): the monthly budget that the billing_budget "
        "fixture's monthly_bill_under(result) checks when given no limit",
    )


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    path, pinned, edition = _settings(config)
    if path is None and edition is None:
        return None
    shown = config.getoption("billing_catalog") or str(config.getini("billing_catalog"))
    catalog = (
        "bundled" if path is None else (f"{shown} (pinned)" if pinned else f"bundled + {shown}")
    )
    return [f"together-billing: catalog={catalog}, edition={edition or EDITIONS[0]}"]


# -- assertions ----------------------------------------------------------------------------------


def assert_monthly_bill_under(
    result_or_scenario: SimulationResult | Scenario | str | Path,
    limit: Money | Decimal | int | str,
    *,
    period: BillingPeriod | str | None = None,
) -> SimulationResult:
    """Fail the test if a month's bill is over ``limit`` (a budget in USD, never a float).

    ``result_or_scenario`` is a replay's result, a
    :class:`~together_billing.scenario.Scenario`, or the path of a scenario file.
    Every month of the replay is checked, or only ``period`` (``"YYYY-MM"``).
    The failure (:class:`~together_billing.testing.BudgetExceeded`, an
    ``AssertionError``) lists the most expensive month's lines, largest first
    (resource, description, amount), and its total against the limit. Returns
    the result.
    """
    __tracebackhide__ = True
    from together_billing import testing  # noqa: PLC0415 - keep loading the plugin cheap

    return testing.assert_monthly_bill_under(result_or_scenario, limit, period=period)


def assert_credits_last(
    result_or_scenario: SimulationResult | Scenario | str | Path,
    until: dt.datetime | dt.date | str | None = None,
    *,
    days: int | None = None,
) -> SimulationResult:
    """Fail the test if the account's credits run out before ``until`` (an instant or a date).

    Or give ``days``: that many days after the replay's start. The replay must
    reach ``until``; one that ends earlier raises
    :class:`~together_billing.InvalidArgument`. The failure
    (:class:`~together_billing.testing.CreditsRunOut`) says when the credits ran
    out and lists what drew them, largest first. Returns the result.
    """
    __tracebackhide__ = True
    from together_billing import testing  # noqa: PLC0415 - keep loading the plugin cheap

    return testing.assert_credits_last(result_or_scenario, until, days=days)


class BillingBudget:
    """The ``billing_budget`` fixture: the budget assertions, with the test's marker as default.

    ``@pytest.mark.billing_budget("500", period="2025-11")`` on a test sets the
    ``limit`` (and ``period``) that :meth:`monthly_bill_under` uses when called
    without one.
    """

    def __init__(
        self, limit: Money | Decimal | int | str | None = None, period: str | None = None
    ) -> None:
        self.limit = limit
        self.period = period

    def monthly_bill_under(
        self,
        result_or_scenario: SimulationResult | Scenario | str | Path,
        limit: Money | Decimal | int | str | None = None,
        *,
        period: BillingPeriod | str | None = None,
    ) -> SimulationResult:
        """:func:`assert_monthly_bill_under`, with the marker's limit and period as defaults."""
        __tracebackhide__ = True
        budget = limit if limit is not None else self.limit
        if budget is None:
            msg = (
                "billing_budget.monthly_bill_under() needs a limit: pass one, or mark the "
                f"test with @pytest.mark.{MARKER}(limit)"
            )
            raise pytest.UsageError(msg)
        return assert_monthly_bill_under(
            result_or_scenario, budget, period=period if period is not None else self.period
        )

    def credits_last(
        self,
        result_or_scenario: SimulationResult | Scenario | str | Path,
        until: dt.datetime | dt.date | str | None = None,
        *,
        days: int | None = None,
    ) -> SimulationResult:
        """:func:`assert_credits_last`."""
        __tracebackhide__ = True
        return assert_credits_last(result_or_scenario, until, days=days)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def billing_catalog(pytestconfig: pytest.Config) -> Catalog:
    """The price catalog the suite prices with.

    The bundled catalog, plus the entries of the ``--billing-catalog`` file (or the
    ``billing_catalog`` ini setting) if given: an entry of the file with the same
    key and effective instant as a bundled one replaces it. With
    ``--billing-pin-catalog`` (``billing_pin_catalog = true``), the file's entries
    alone: a new release's bundled prices then never change the suite's bills.
    """
    from together_billing.catalog import Catalog, default_catalog  # noqa: PLC0415

    path, pinned, _ = _settings(pytestconfig)
    if path is None:
        return default_catalog()
    loaded = Catalog.from_file(path)
    if pinned:
        return loaded
    return default_catalog().with_entries(*loaded.entries)


@pytest.fixture
def billing_simulator(pytestconfig: pytest.Config, billing_catalog: Catalog) -> Simulator:
    """A simulator with ``billing_catalog`` and the policies of ``--billing-edition``."""
    from together_billing.engine import Simulator  # noqa: PLC0415
    from together_billing.policies import Policies  # noqa: PLC0415

    edition = _settings(pytestconfig)[2] or EDITIONS[0]
    return Simulator(billing_catalog, Policies.for_edition(edition))


@pytest.fixture
def billing_budget(request: pytest.FixtureRequest) -> BillingBudget:
    """The budget assertions; the test's ``billing_budget`` marker gives the default limit."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return BillingBudget()
    limit = marker.args[0] if marker.args else marker.kwargs.get("limit")
    return BillingBudget(limit, marker.kwargs.get("period"))
