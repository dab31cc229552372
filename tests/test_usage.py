"""The usage report (issue 13, items 2 and 4): typed rows, the product table, and a forecast's
history built from what the account actually used."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from together_billing import (
    DedicatedEndpoint,
    InvalidArgument,
    InvalidResponse,
    Policies,
    ServerlessUsage,
    TokenUsage,
)
from together_billing.forecast import SteadyUsage, forecast
from together_billing.resources import Category
from together_billing.usage import Granularity, Product, ProductTable, UsageReport

SAVED = Path(__file__).resolve().parent.parent / "examples" / "real-bill" / "usage-2026-11.json"
DATA = json.loads(SAVED.read_text(encoding="utf-8"))


def report(edit=None, **options) -> UsageReport:
    data = copy.deepcopy(DATA)
    if edit is not None:
        edit(data)
    return UsageReport.from_data(data, **options)


def windows(data):
    return [w for page in data["pages"] for w in page["data"]]


class TestReading:
    def test_one_page_a_list_of_pages_or_a_saved_report(self) -> None:
        whole = report()
        pages = UsageReport.from_data(copy.deepcopy(DATA["pages"]), read_at=DATA["read_at"])
        first = UsageReport.from_data(copy.deepcopy(DATA["pages"][0]))
        assert pages.rows == whole.rows
        assert len(first.windows) == 15
        assert first.granularity is Granularity.DAY
        assert first.read_at is None
        assert first.final

    def test_saved_data_reads_back_the_same(self) -> None:
        again = UsageReport.from_data(json.loads(json.dumps(report().to_data())))
        assert again.rows == report().rows
        assert again.read_at == report().read_at

    def test_granularity_is_read_from_the_windows(self) -> None:
        def hourly(data) -> None:
            del data["granularity"]
            for w in windows(data):
                w["end_time"] = w["start_time"].replace("T00:00:00Z", "T01:00:00Z")

        assert report(hourly).granularity is Granularity.HOUR

    def test_windows_of_mixed_lengths_need_the_granularity(self) -> None:
        def mixed(data) -> None:
            del data["granularity"]
            first = windows(data)[0]
            first["end_time"] = first["start_time"].replace("T00:00:00Z", "T01:00:00Z")

        with pytest.raises(InvalidResponse, match="give the granularity"):
            report(mixed)

    def test_a_window_listed_on_two_pages_is_one_window(self) -> None:
        def overlap(data) -> None:
            data["pages"][1]["data"].insert(0, copy.deepcopy(data["pages"][0]["data"][-1]))

        doubled = report(overlap)
        assert len(doubled.windows) == 30
        # Its rows are all kept: an overlapping export is visible in the report's total.
        assert doubled.total > report().total

    def test_the_currency_must_be_usd(self) -> None:
        def euros(data) -> None:
            data["pages"][0]["currency"] = "EUR"

        with pytest.raises(InvalidResponse, match=r"pages\.0\.currency"):
            report(euros)

    def test_rows_carry_subject_and_product(self) -> None:
        rows = report().rows
        endpoint = next(r for r in rows if r.product_name.startswith("Dedicated"))
        assert endpoint.subject == "1xnvidia-h100-80gb"
        assert endpoint.product is not None
        assert endpoint.product.category is Category.DEDICATED_ENDPOINT
        assert endpoint.attributes == {"endpoint_id": "endpoint-demo"}
        assert endpoint.known


class TestProductTable:
    def test_names_and_kinds_are_unique(self) -> None:
        product = ProductTable().get("Serverless Inference - Input Tokens")
        assert product is not None
        with pytest.raises(InvalidArgument, match="one product per name"):
            ProductTable([product, product])
        twin = Product("Other name", product.category, product.kind, product.measure, "t", ())
        with pytest.raises(InvalidArgument, match="one product per kind"):
            ProductTable([product, twin])

    def test_a_table_of_your_own_names_your_products(self) -> None:
        sandbox = Product(
            "Code Sandbox - Sessions", Category.SERVERLESS, "sessions", "tokens", "session", ()
        )
        table = ProductTable([*ProductTable().products, sandbox])
        assert report(products=table).unknown == ()
        assert len(report().unknown) == 1


class TestToScenario:
    def test_the_last_days_become_the_history(self) -> None:
        scenario = report().to_scenario(days=7)
        assert (scenario.start.isoformat(), scenario.until.isoformat()) == (
            "2026-11-24T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        )
        assert scenario.resources == (
            ServerlessUsage("openai/gpt-oss-120b", model="openai/gpt-oss-120b"),
        )
        tokens = [e for e in scenario.events if isinstance(e, TokenUsage)]
        assert len(tokens) == 7
        assert {(e.input_tokens, e.output_tokens) for e in tokens} == {(3_000_000, 1_000_000)}
        assert str(scenario.run().total) == "7.35 USD"

    def test_prices_come_from_the_report(self) -> None:
        scenario = report().to_scenario(days=7)
        price = scenario.catalog.serverless("openai/gpt-oss-120b", scenario.start)
        assert (price.input, price.output) == (Decimal("0.15"), Decimal("0.6"))
        assert price.source.url == "https://api.together.ai/v1/billing/usage"

    def test_an_endpoint_running_in_the_last_window_keeps_running(self) -> None:
        """48 hours on one H100 configuration in the last day: two replicas, running."""

        def busy(data) -> None:
            last = windows(data)[-1]
            last["line_items"].append(
                {
                    "product_name": "Dedicated Endpoints - Hardware Hours",
                    "quantity": "48",
                    "unit_price": "5.49",
                    "cost": "263.52",
                    "pricing_dimensions": {"hardware": "1xnvidia-h100-80gb"},
                }
            )

        scenario = report(busy).to_scenario(days=7)
        endpoint = scenario.resource("endpoint 1xnvidia-h100-80gb")
        assert isinstance(endpoint, DedicatedEndpoint)
        assert (endpoint.min_replicas, endpoint.max_replicas) == (2, 2)
        result = scenario.run()
        assert result.state.status("endpoint 1xnvidia-h100-80gb") == "running"
        assert str(result.total) == "270.87 USD"  # 7.35 of tokens + 2 x 24 h x 5.49

    def test_the_balance_is_the_one_at_the_report_end(self) -> None:
        scenario = report().to_scenario(days=7, balance="20", policies=Policies.for_edition("2026"))
        assert scenario.run().balance == Decimal(20)
        outlook = forecast(
            scenario, until="2027-01-31T00:00:00Z", assume=SteadyUsage(window_days=7)
        )
        assert outlook.runway is not None
        assert outlook.runway.exhausted_at is not None
        assert outlook.runway.exhausted_at.isoformat() == "2026-12-20T02:00:00+00:00"

    def test_what_is_left_out_is_named(self) -> None:
        scenario = report().to_scenario(days=30)
        assert "left out: Code Sandbox - Sessions ($0.3)" in scenario.name
        assert "Dedicated" not in scenario.name

    def test_windows_not_final_are_not_history(self) -> None:
        early = report(read_at="2026-11-15T10:00:00Z").to_scenario(days=3)
        assert early.until.isoformat() == "2026-11-15T00:00:00+00:00"

    def test_bad_arguments(self) -> None:
        with pytest.raises(InvalidArgument, match="days"):
            report().to_scenario(days=0)
        with pytest.raises(InvalidArgument, match="final window"):
            report(read_at="2026-10-01T00:00:00Z").to_scenario()

        def fractional(data) -> None:
            windows(data)[-1]["line_items"][0]["quantity"] = "1.5"

        with pytest.raises(InvalidArgument, match="whole number of tokens"):
            report(fractional).to_scenario()
