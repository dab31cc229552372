"""together_billing.pytest_plugin: options, fixtures and budget assertions, run through pytester.

The plugin is loaded through its installed ``pytest11`` entry point when there is
one, else with ``-p together_billing.pytest_plugin`` (both at once would register
it twice).
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

# Loaded before pytester's in-process runs: they drop the modules a run imported from
# sys.modules afterwards, while the package keeps the public names it resolved then, so
# a later run would mix the classes of two imports of the same module.
import together_billing.scenario
import together_billing.testing  # noqa: F401

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "test_deployment_budget.py"
INSTALLED = any(
    ep.value == "together_billing.pytest_plugin" for ep in entry_points(group="pytest11")
)
PLUGIN = () if INSTALLED else ("-p", "together_billing.pytest_plugin")

CATALOG = """\
hardware:
  - {hardware: 1x_acme_gpu, per_hour: 6.00, effective_from: "2025-01-01T00:00:00Z"}
"""

BUDGET_TESTS = """
import pytest
from together_billing import DedicatedEndpoint, Deploy, Stop
from together_billing.pytest_plugin import assert_monthly_bill_under

ENDPOINT = DedicatedEndpoint(
    "chat-api", model="m", hardware="1x_nvidia_h100_80gb_sxm"
)
EVENTS = [Deploy("2025-11-03T09:00:00Z", "chat-api"), Stop("2025-11-05T09:00:00Z", "chat-api")]


def bill(simulator):
    return simulator.run([ENDPOINT], EVENTS, until="2025-12-01T00:00:00Z")


def test_under_budget(billing_simulator):
    assert_monthly_bill_under(bill(billing_simulator), 500)


def test_over_budget(billing_simulator):
    assert_monthly_bill_under(bill(billing_simulator), "150.00", period="2025-11")


@pytest.mark.billing_budget(200)
def test_marker_budget(billing_simulator, billing_budget):
    billing_budget.monthly_bill_under(bill(billing_simulator))
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", *args)


def test_options_are_grouped_in_help(pytester: pytest.Pytester) -> None:
    """`pytest --help` lists the plugin's options under one together-billing group."""
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(
        [
            "together-billing: bill forecasts and invariant checks:",
            "*--billing-catalog=PATH*",
            "*--billing-edition={2025-11,2026}*",
        ]
    )


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    """The billing_budget marker passes --strict-markers and is listed by --markers."""
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.billing_budget(limit, *, period=None)*"])


def test_budget_assertions_pass_and_fail_with_the_lines(pytester: pytest.Pytester) -> None:
    """A bill under budget passes; over budget fails listing the lines and total vs limit."""
    pytester.makepyfile(test_budget=BUDGET_TESTS)
    result = run(pytester, "--strict-markers", "-W", "error")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*BudgetExceeded: Invoice 2025-11 (final): total 191.52 USD, over the limit of*",
            (
                "*chat-api  1x_nvidia_h100_80gb_sxm ready replicas  2880 replica-minute x 3.99 USD "
                "per replica-hour  191.52 USD"
            ),
        ]
    )
    assert "def assert_monthly_bill_under" not in result.stdout.str()  # tracebacks are hidden


def test_the_catalog_and_edition_options_reach_the_fixtures(pytester: pytest.Pytester) -> None:
    """--billing-catalog adds prices to billing_catalog; --billing-edition sets the policies."""
    pytester.makefile(".yaml", prices=CATALOG)
    pytester.makepyfile(
        test_fixtures="""
        from decimal import Decimal
        from together_billing import instant

        def test_catalog(billing_catalog):
            price = billing_catalog.hardware("1x_acme_gpu", instant("2025-11-01T00:00:00Z"))
            assert price.per_hour == Decimal("6.00")

        def test_simulator(billing_simulator, billing_catalog):
            assert billing_simulator.policies.credit_floor == 0
            assert billing_simulator.policies.linked_card_floor == 0
        """
    )
    result = run(pytester, "--billing-catalog", "prices.yaml", "--billing-edition", "2026")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["together-billing: catalog=bundled + prices.yaml, edition=2026"])


def test_fixtures_default_to_the_bundled_catalog_and_2025_11(pytester: pytest.Pytester) -> None:
    """Without options: the bundled catalog and the 2025-11 edition's policies."""
    pytester.makepyfile(
        test_defaults="""
        from together_billing import default_catalog

        def test_defaults(billing_catalog, billing_simulator):
            assert billing_catalog.entries == default_catalog().entries
            assert billing_simulator.policies.linked_card_floor == -100
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "together-billing:" not in result.stdout.str()


def test_credits_last_fixture_method(pytester: pytest.Pytester) -> None:
    """billing_budget.credits_last fails when the credits run out too soon."""
    scenario = ROOT / "examples" / "credits-run-out.yaml"
    pytester.makepyfile(
        test_credits=f"""
        def test_two_days(billing_budget):
            billing_budget.credits_last({str(scenario)!r}, days=2)

        def test_a_week(billing_budget):
            billing_budget.credits_last({str(scenario)!r}, days=7)
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*CreditsRunOut: credits ran out at 2025-11-03T11:24:49.389703+00:00, 2.48 days after*"]
    )


def test_marker_limit_is_required_without_an_argument(pytester: pytest.Pytester) -> None:
    """monthly_bill_under() without a limit and without the marker is a usage error."""
    pytester.makepyfile(
        test_no_limit="""
        def test_no_limit(billing_budget):
            billing_budget.monthly_bill_under(None)
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs a limit*"])


def test_the_showcase_example_passes(pytester: pytest.Pytester) -> None:
    """examples/test_deployment_budget.py passes: bill under budget, invariants kept."""
    pytester.makepyfile(test_deployment_budget=EXAMPLE.read_text(encoding="utf-8"))
    result = run(pytester, "-W", "error")
    result.assert_outcomes(passed=2)


def test_the_showcase_example_over_a_lowered_budget_shows_the_lines(
    pytester: pytest.Pytester,
) -> None:
    """With a $900 budget the example's bill ($1,005.60) fails, listing its lines."""
    source = EXAMPLE.read_text(encoding="utf-8")
    lowered, count = re.subn(
        r"MONTHLY_BUDGET = Decimal\(\d+\)", "MONTHLY_BUDGET = Decimal(900)", source
    )
    assert count == 1
    pytester.makepyfile(test_deployment_budget=lowered)
    result = run(pytester, "-W", "error")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*total 1005.60 USD, over the limit of 900.00 USD by 105.60 USD",
            "*support-bot  1x_nvidia_h100_80gb_sxm ready replicas*957.60 USD",
            (
                "*chat         acme/chat-small input tokens            150000000 token x 0.20 USD "
                "per 1M tokens           30.00 USD"
            ),
            (
                "*chat         acme/chat-small output tokens           30000000 token x 0.60 USD "
                "per 1M tokens            18.00 USD"
            ),
        ]
    )


def test_loading_the_plugin_imports_nothing_heavy_itself() -> None:
    """The plugin module defers every library import to fixtures and assertions."""
    source = (ROOT / "src" / "together_billing" / "pytest_plugin.py").read_text(encoding="utf-8")
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all("together_billing" not in line for line in top_level), top_level


def test_the_example_runs_with_plain_pytest() -> None:
    """`python -m pytest examples/test_deployment_budget.py` passes, as the docs say."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


PINNED_TESTS = """
import pytest
from decimal import Decimal
from together_billing import UnknownPrice, instant

AT = instant("2025-11-01T00:00:00Z")


def test_the_files_price(billing_catalog):
    assert billing_catalog.hardware("1x_acme_gpu", AT).per_hour == Decimal("6.00")


def test_no_bundled_price(billing_catalog):
    with pytest.raises(UnknownPrice):
        billing_catalog.hardware("1x_nvidia_h100_80gb_sxm", AT)
"""


def test_the_ini_file_pins_the_catalog(pytester: pytest.Pytester) -> None:
    """billing_catalog + billing_pin_catalog in the ini file: the file's prices alone."""
    pytester.makefile(".yaml", prices=CATALOG)
    pytester.makeini("[pytest]\nbilling_catalog = prices.yaml\nbilling_pin_catalog = true\n")
    pytester.makepyfile(test_pinned=PINNED_TESTS)
    result = run(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["together-billing: catalog=prices.yaml (pinned), edition=2025-11"])


def test_the_ini_catalog_without_pinning_adds_to_the_bundled_one(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", prices=CATALOG)
    pytester.makeini("[pytest]\nbilling_catalog = prices.yaml\n")
    pytester.makepyfile(test_pinned=PINNED_TESTS)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)


def test_pinning_without_a_catalog_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pinned=PINNED_TESTS)
    result = run(pytester, "--billing-pin-catalog")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs a catalog file*together-billing catalog --format yaml*"])


def test_a_catalog_written_by_the_cli_pins_a_suite(pytester: pytest.Pytester) -> None:
    """The CLI's YAML catalog, pinned, prices exactly as the bundled catalog does."""
    written = subprocess.run(
        [sys.executable, "-m", "together_billing.cli", "catalog", "--format", "yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pytester.makefile(".yaml", prices=written)
    pytester.makeini("[pytest]\nbilling_catalog = prices.yaml\nbilling_pin_catalog = true\n")
    pytester.makepyfile(
        test_same="""
        from together_billing import default_catalog

        def test_same(billing_catalog):
            assert billing_catalog == default_catalog()
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_credits_assertion_takes_a_date(pytester: pytest.Pytester) -> None:
    scenario = ROOT / "examples" / "credits-run-out.yaml"
    pytester.makepyfile(
        test_credits=f"""
        from together_billing.pytest_plugin import assert_credits_last

        def test_to_the_third():
            assert_credits_last({str(scenario)!r}, "2025-11-03")

        def test_to_the_fourth(billing_budget):
            billing_budget.credits_last({str(scenario)!r}, "2025-11-04")
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*expected them to last until 2025-11-04T00:00:00+00:00*"])
