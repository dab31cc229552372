"""The connection to a real account (issue 13, items 1, 2 and 6), offline.

The official SDK's own client runs over a mocked HTTP transport (no network); the
responses are built from the SDK's own types (examples/real-bill/responses.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from together_billing import (
    Catalog,
    DedicatedEndpoint,
    Deploy,
    InvalidArgument,
    InvalidResponse,
    MissingDependency,
    ServerlessUsage,
    Simulator,
    Stop,
    TokenUsage,
)
from together_billing.together_api import (
    MODELS_ENDPOINT,
    catalog_from_data,
    connect,
    load_catalog,
    pull_catalog,
    pull_usage,
)
from together_billing.usage import UsageReport

ROOT = Path(__file__).resolve().parent.parent
SAVED = ROOT / "examples" / "real-bill"

together = pytest.importorskip("together", reason="the `together` extra is not installed")
httpx = pytest.importorskip("httpx", reason="httpx comes with the `together` extra")


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FAKE = _load(Path(__file__).with_name("sdk_fake.py"), "sdk_fake")
RESPONSES = FAKE.responses()
catalog_server = FAKE.catalog_server
usage_server = FAKE.usage_server


NOW = "2026-12-01T09:00:00Z"
AT = "2026-12-02T00:00:00Z"


class TestPullCatalog:
    def test_both_lists_are_paged_through(self) -> None:
        server = catalog_server()
        pulled = pull_catalog(server.client(), now=NOW)
        models = server.urls("/v2/supported-models")
        assert len(models) == 2
        assert "product=PRODUCT_SERVERLESS" in models[0]
        assert "after=c2" in models[1]
        hardware = server.urls("/v2/public/inference-instance-types")
        assert len(hardware) == 2
        assert "after=h2" in hardware[1]
        assert len(pulled.catalog) == 4 + 3  # four priced models, three instance types

    def test_the_live_pull_and_the_saved_responses_give_one_catalog(self) -> None:
        live = pull_catalog(catalog_server().client(), now=NOW)
        saved = load_catalog(SAVED / "prices.json")
        assert live.catalog == saved.catalog
        assert live.read_at == saved.read_at

    def test_sdk_floats_reach_the_catalog_through_their_text(self) -> None:
        """0.15 and 0.6 are floats in the SDK; the catalog holds Decimal('0.15'), Decimal('0.6')."""
        price = pull_catalog(catalog_server().client(), now=NOW).catalog.serverless(
            "openai/gpt-oss-120b", AT
        )
        assert (price.input, price.output) == (Decimal("0.15"), Decimal("0.6"))
        assert isinstance(price.input, Decimal)

    def test_every_entry_carries_its_source_and_takes_effect_when_read(self) -> None:
        pulled = pull_catalog(catalog_server().client(), now=NOW)
        for entry in pulled.catalog.entries:
            assert entry.effective_from.isoformat() == "2026-12-01T09:00:00+00:00"
            assert entry.source.url.startswith("https://api.together.ai/v2/")
            assert entry.source.date == "2026-12-01"
            assert "read at 2026-12-01T09:00:00Z" in entry.source.note
        with pytest.raises(Exception, match="at or after 2026-12-01"):
            pulled.catalog.hardware("1xnvidia-h100-80gb", "2026-11-30T00:00:00Z")

    def test_deprecated_and_unpriced_models_are_noted(self) -> None:
        pulled = load_catalog(SAVED / "prices.json")
        assert pulled.deprecated == ("google/gemma-2b-it",)
        assert pulled.catalog.serverless("google/gemma-2b-it", AT).source.note.endswith(
            "deprecated"
        )
        assert pulled.skipped == (("acme/dedicated-only-model", "no serverless price listed"),)

    def test_hardware_ids_in_both_spellings_and_multi_gpu(self) -> None:
        """v1 and v2 ids find the pulled entry; 4x is derived (DE1/W4), 8x is listed."""
        catalog = load_catalog(SAVED / "prices.json").catalog
        v2 = catalog.hardware("1xnvidia-h100-80gb", AT)
        assert catalog.hardware("1x_nvidia_h100_80gb_sxm", AT) is v2
        assert v2.per_hour == Decimal("5.49")
        assert catalog.hardware("4x_nvidia_h100_80gb_sxm", AT).per_hour == 4 * Decimal("5.49")
        eight = catalog.hardware("8xnvidia-h100-80gb", AT)
        assert (eight.per_hour, eight.gpu_count) == (8 * Decimal("5.49"), 8)

    def test_a_pulled_catalog_file_loads_in_a_scenario(self, tmp_path: Path) -> None:
        pulled = load_catalog(SAVED / "prices.json")
        for name in ("prices.yaml", "prices.json"):
            written = pulled.write(tmp_path / name)
            assert Catalog.from_file(written) == pulled.catalog
        from together_billing.scenario import load_scenario

        scenario = tmp_path / "s.yaml"
        scenario.write_text(
            "until: '2026-12-02T00:00:00Z'\n"
            "catalog: {default: true, files: [prices.yaml]}\n"
            "resources: [{kind: serverless, id: chat, model: openai/gpt-oss-120b}]\n"
            "events: [{type: tokens, at: '2026-12-01T10:00:00Z', resource: chat,"
            " input_tokens: 1000000}]\n",
            encoding="utf-8",
        )
        result = load_scenario(scenario).run(base=tmp_path)
        assert str(result.total.amount) == "0.15"


class TestWorkedExamples:
    """A catalog pulled from responses reproduces Together's worked examples."""

    def catalog(self) -> Catalog:
        return pull_catalog(catalog_server().client(), now=NOW).catalog

    def endpoint(self, hardware: str) -> DedicatedEndpoint:
        return DedicatedEndpoint("ep", model="m", hardware=hardware)

    @pytest.mark.parametrize("hardware", ["1xnvidia-h100-80gb", "1x_nvidia_h100_80gb_sxm"])
    def test_W1_W2_one_H100_replica_for_a_day_and_a_month(self, hardware: str) -> None:
        """W1: $5.49/h for 24 h is $131.76; W2: 30 days is $3,952.80 (dedicated-endpoints/pricing)."""
        sim = Simulator(self.catalog())
        deploy = Deploy("2026-12-01T10:00:00Z", "ep")
        day = sim.run([self.endpoint(hardware)], [deploy], until="2026-12-02T10:00:00Z")
        assert day.total.amount == Decimal("131.76")
        month = sim.run([self.endpoint(hardware)], [deploy], until="2026-12-31T10:00:00Z")
        assert month.total.amount == Decimal("3952.80")

    def test_W4_a_four_GPU_configuration_costs_four_single_GPUs(self) -> None:
        sim = Simulator(self.catalog())
        events = [Deploy("2026-12-01T10:00:00Z", "ep"), Stop("2026-12-01T11:00:00Z", "ep")]
        four = sim.run([self.endpoint("4xnvidia-h100-80gb")], events, until=AT)
        one = sim.run([self.endpoint("1xnvidia-h100-80gb")], events, until=AT)
        assert four.total.amount == 4 * one.total.amount == Decimal("21.96")

    def test_W18_cached_input_at_the_pulled_cached_rate(self) -> None:
        """W18: 1M input of which 0.5M cached, 1M output on MiniMax M2.5 is $1.38."""
        chat = ServerlessUsage("chat", model="MiniMaxAI/MiniMax-M2.5")
        usage = TokenUsage("2026-12-01T12:00:00Z", "chat", 1_000_000, 1_000_000, 500_000)
        result = Simulator(self.catalog()).run([chat], [usage], until=AT)
        assert result.total.amount == Decimal("1.38")


class TestPullUsage:
    def test_the_report_is_paged_through_and_typed(self) -> None:
        server = usage_server()
        report = pull_usage(server.client(), month="2026-11", granularity="day", now=NOW)
        urls = server.urls("/v1/billing/usage")
        assert len(urls) == 2
        assert "month=2026-11" in urls[0]
        assert "granularity=day" in urls[0]
        assert "after=w16" in urls[1]
        assert len(report.windows) == 30
        assert report.billing_periods == ("2026-11",)
        row = report.rows[0]
        assert (row.product_name, row.quantity, row.unit_price, row.cost) == (
            "Serverless Inference - Input Tokens",
            Decimal(3_000_000),
            Decimal("0.00000015"),
            Decimal("0.45"),
        )
        assert row.applied_credit == "PREPAID"
        assert row.subject == "openai/gpt-oss-120b"
        assert report.final

    def test_the_live_pull_and_the_saved_report_agree(self) -> None:
        live = pull_usage(usage_server().client(), month="2026-11", now=NOW)
        saved = UsageReport.from_file(SAVED / "usage-2026-11.json")
        assert live.rows == saved.rows
        assert live.windows == saved.windows

    def test_windows_not_yet_final_are_marked(self) -> None:
        """Read on 15 November at 10:00, days up to the 14th are final; the rest are not."""
        report = pull_usage(usage_server().client(), month="2026-11", now="2026-11-15T10:00:00Z")
        finals = {w.date: w.final for w in report.windows}
        assert finals["2026-11-14"] is True
        assert finals["2026-11-15"] is False
        assert not report.final
        assert all(not r.final for r in report.rows if r.window.date >= "2026-11-15")

    def test_an_unknown_product_is_kept_with_its_amount(self) -> None:
        report = UsageReport.from_file(SAVED / "usage-2026-11.json")
        (row,) = report.unknown
        assert (row.product_name, row.cost, row.window.date) == (
            "Code Sandbox - Sessions",
            Decimal("0.3"),
            "2026-11-10",
        )
        assert report.total == sum((r.cost for r in report.rows), Decimal(0))

    def test_a_malformed_response_names_the_field(self) -> None:
        def drop_cost(pages) -> None:
            del pages[1]["data"][0]["line_items"][0]["cost"]

        with pytest.raises(InvalidResponse) as caught:
            pull_usage(usage_server(drop_cost).client(), month="2026-11", now=NOW)
        assert caught.value.field == "pages.1.data.0.line_items.0.cost"
        assert "Field required" in str(caught.value)

    def test_a_float_quantity_is_refused(self) -> None:
        data = json.loads((SAVED / "usage-2026-11.json").read_text())
        data["pages"][0]["data"][0]["line_items"][0]["quantity"] = 1.5
        with pytest.raises(InvalidResponse, match="floats are refused"):
            UsageReport.from_data(data)

    def test_bad_json_and_bad_windows(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text("{not json", encoding="utf-8")
        with pytest.raises(InvalidResponse, match="line 1"):
            UsageReport.from_file(broken)
        data = json.loads((SAVED / "usage-2026-11.json").read_text())
        window = data["pages"][0]["data"][0]
        window["end_time"] = window["start_time"]
        with pytest.raises(InvalidResponse, match="not after start_time"):
            UsageReport.from_data(data)
        data["pages"][0]["data"][0]["start_time"] = "2026-11-01T00:00:00"
        with pytest.raises(InvalidResponse, match="timezone"):
            UsageReport.from_data(data)

    def test_a_malformed_price_response_names_the_field(self) -> None:
        data = RESPONSES.catalog_responses()
        del data["hardware"][0]["data"][0]["priceCentsPerHour"]
        with pytest.raises(InvalidResponse) as caught:
            catalog_from_data(json.loads(json.dumps(data), parse_float=Decimal))
        assert caught.value.field == "hardware.0.data.0.priceCentsPerHour"

    def test_a_model_listed_twice_with_two_prices_is_an_error(self) -> None:
        data = json.loads((SAVED / "prices.json").read_text(), parse_float=Decimal)
        twin = dict(data["supported_models"][0]["data"][0])
        twin["pricing"] = {"input": Decimal("9"), "output": Decimal("9")}
        data["supported_models"][1]["data"].append(twin)
        with pytest.raises(InvalidResponse, match="listed twice"):
            catalog_from_data(data)

    def test_the_month_is_checked(self) -> None:
        with pytest.raises(InvalidArgument, match="YYYY-MM"):
            pull_usage(usage_server().client(), month="2026-13")


class TestConnect:
    def test_without_the_extra_the_message_says_how_to_get_it(self, monkeypatch) -> None:
        monkeypatch.setitem(sys.modules, "together", None)
        with pytest.raises(MissingDependency) as caught:
            connect()
        assert caught.value.expected == "pip install 'together-billing[together]'"

    def test_without_an_api_key(self, monkeypatch) -> None:
        monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
        with pytest.raises(InvalidArgument, match="TOGETHER_API_KEY"):
            connect()

    def test_with_an_api_key_it_is_the_sdk_client(self, monkeypatch) -> None:
        monkeypatch.setenv("TOGETHER_API_KEY", "test-key")
        client = connect()
        assert isinstance(client, together.Together)
        assert client.api_key == "test-key"


def test_the_saved_examples_are_made_from_the_sdk_types() -> None:
    """examples/real-bill/*.json are exactly what responses.py builds from the SDK's types."""
    for name, text in RESPONSES.files().items():
        assert (SAVED / name).read_text(encoding="utf-8") == text, name


@pytest.mark.parametrize(
    ("status", "name"), [(401, "AuthenticationError"), (429, "RateLimitError")]
)
def test_the_sdks_errors_become_the_librarys(status: int, name: str) -> None:
    """A bad key, a rate limit or no network is an ``InvalidResponse`` naming the endpoint
    and the SDK's error, never the SDK's own exception (the CLI would call it a bug)."""
    import httpx
    import together

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "no"}})

    client = together.Together(
        api_key="test",
        base_url="http://test.invalid/",
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
        max_retries=0,
    )
    with pytest.raises(InvalidResponse, match=name) as caught:
        pull_catalog(client, now=NOW)
    assert caught.value.value == MODELS_ENDPOINT
    with pytest.raises(InvalidResponse, match=name):
        pull_usage(client, month="2026-11", now=NOW)


def test_an_unwritable_catalog_path_is_an_input_error(tmp_path: Path) -> None:
    pulled = pull_catalog(catalog_server().client(), now=NOW)
    target = tmp_path / "missing" / "prices.yaml"
    with pytest.raises(InvalidArgument, match="writable"):
        pulled.write(target)
    with pytest.raises(InvalidArgument, match="writable"):
        pulled.write_responses(target)


def test_a_pulled_catalogs_document_is_the_catalog_document() -> None:
    """One writer of catalog documents: a pulled catalog's differs from
    ``catalog.catalog_document``'s only by its sources' names, and loads back to itself."""
    from together_billing.catalog import catalog_document, load_data

    pulled = load_catalog(SAVED / "prices.json")
    pulled_doc = pulled.to_document()
    plain_doc = catalog_document(pulled.catalog)

    def resolved(doc: dict[str, Any]) -> dict[str, Any]:
        """The document with each row's source name replaced by the source itself."""
        sources = doc["sources"]
        return {
            section: [{**row, "source": sources[row["source"]]} for row in rows]
            for section, rows in doc.items()
            if section != "sources"
        }

    assert resolved(pulled_doc) == resolved(plain_doc)
    assert set(pulled_doc["sources"]) <= {
        "together-api-models",
        "together-api-models-deprecated",
        "together-api-hardware",
    }
    assert {"together-api-models", "together-api-hardware"} <= set(pulled_doc["sources"])
    assert Catalog(load_data(pulled_doc)) == pulled.catalog
