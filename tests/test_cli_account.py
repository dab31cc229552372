"""`catalog pull`, `usage pull` and `reconcile` on the command line (issue 13, items 3 and 6).

The commands that read saved responses need no SDK; the live ones run the SDK's own
client over a mocked transport where the `together` extra is installed, and the
"without the extra" path is tested by making its import fail.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from together_billing import Catalog
from together_billing.cli import EXIT_RECONCILE_EXCEEDED, main
from together_billing.usage import UsageReport

ROOT = Path(__file__).resolve().parent.parent
SAVED = ROOT / "examples" / "real-bill"
SCENARIO = str(SAVED / "my-account.yaml")
REPORT = str(SAVED / "usage-2026-11.json")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


class TestReconcile:
    def test_differences_exceed_the_tolerance_and_exit_non_zero(self) -> None:
        code, text = run("reconcile", SCENARIO, "--usage", REPORT)
        assert code == EXIT_RECONCILE_EXCEEDED == 3
        assert "different !" in text
        assert "reported only !" in text
        assert "unknown product !" in text
        assert "reported unit price: 5.49 USD" in text
        assert "EXCEEDED: 3 row(s)" in text

    def test_json_for_programs(self) -> None:
        code, text = run("reconcile", SCENARIO, "--usage", REPORT, "--format", "json")
        data = json.loads(text)
        assert code == 3
        assert data["schema_version"] == 1
        assert data["ok"] is False
        assert data["counts"]["matched"] == 60
        different = [r for r in data["rows"] if r["status"] == "different"]
        assert different[0]["difference"] == {"quantity": "7", "cost": "50.43"}
        assert different[0]["explanation"]

    def test_a_scenario_matching_its_report_exits_0(self, tmp_path: Path) -> None:
        from together_billing.reconcile import replay_usage
        from together_billing.scenario import Scenario

        simulated = replay_usage(Scenario.from_file(SCENARIO), granularity="day")
        report = tmp_path / "report.json"
        report.write_text(json.dumps(simulated.to_report().to_data()), encoding="utf-8")
        code, text = run("reconcile", SCENARIO, "--usage", str(report), "--all")
        assert code == 0
        assert text.count("matched") >= 60
        assert "OK" in text

    def test_a_large_tolerance_lets_it_pass_except_unknown_products(self) -> None:
        code, text = run(
            "reconcile",
            SCENARIO,
            "--usage",
            REPORT,
            "--tolerance",
            "1000",
            "--quantity-tolerance",
            "100",
        )
        assert code == 3
        assert "EXCEEDED: 1 row(s)" in text

    def test_a_bad_tolerance_is_invalid_input(self, capsys) -> None:
        code, _ = run("reconcile", SCENARIO, "--usage", REPORT, "--tolerance", "lots")
        assert code == 2
        assert "tolerance" in capsys.readouterr().err

    def test_a_malformed_report_is_a_clear_error(self, tmp_path: Path, capsys) -> None:
        broken = tmp_path / "report.json"
        broken.write_text('{"pages": [{"data": [{"date": "x"}]}]}', encoding="utf-8")
        code, _ = run("reconcile", SCENARIO, "--usage", str(broken))
        err = capsys.readouterr().err
        assert code == 1
        assert "pages.0.data.0.start_time" in err
        assert "Traceback" not in err


class TestFromSavedResponses:
    def test_catalog_pull_from_json_writes_a_catalog_file(self, tmp_path: Path) -> None:
        out = tmp_path / "prices.yaml"
        code, text = run(
            "catalog", "pull", "--from-json", str(SAVED / "prices.json"), "--out", str(out)
        )
        assert code == 0
        assert "1xnvidia-h100-80gb" in text
        assert "deprecated: google/gemma-2b-it" in text
        assert "skipped: acme/dedicated-only-model" in text
        assert len(Catalog.from_file(out)) == 7

    def test_catalog_pull_json_output(self) -> None:
        code, text = run(
            "catalog", "pull", "--from-json", str(SAVED / "prices.json"), "--format", "json"
        )
        data = json.loads(text)
        assert code == 0
        assert data["read_at"] == "2026-12-01T09:00:00+00:00"
        assert {row["model"] for row in data["serverless"]} >= {"openai/gpt-oss-120b"}

    def test_usage_pull_from_json_round_trips(self, tmp_path: Path) -> None:
        out = tmp_path / "usage.json"
        code, text = run(
            "usage", "pull", "--month", "2026-11", "--from-json", REPORT, "--out", str(out)
        )
        assert code == 0
        assert "30 day windows" in text
        assert "Code Sandbox - Sessions" in text
        assert UsageReport.from_file(out).rows == UsageReport.from_file(REPORT).rows

    def test_the_bundled_catalog_listing_still_works(self) -> None:
        code, text = run("catalog")
        assert code == 0
        assert "1x_nvidia_h100_80gb_sxm" in text


class TestUsageForecast:
    def test_when_will_the_credits_run_out(self) -> None:
        code, text = run(
            "usage", "forecast", REPORT, "--balance", "20", "--until", "2027-01-31T00:00:00Z"
        )
        assert code == 0
        assert "credits run out at 2026-12-20T02:00:00+00:00" in text
        assert "the use of the 7 days before the start, at the same rate" in text

    def test_json_and_no_balance(self) -> None:
        code, text = run("usage", "forecast", REPORT, "--days", "3", "--format", "json")
        data = json.loads(text)
        assert code == 0
        assert data["runway"] is None
        assert data["open_invoice"]["period"] == "2026-12"

    def test_bad_days(self, capsys) -> None:
        code, _ = run("usage", "forecast", REPORT, "--days", "0")
        assert code == 2
        assert "days" in capsys.readouterr().err


class TestLive:
    def test_without_the_extra_the_message_says_how_to_get_it(self, monkeypatch, capsys) -> None:
        monkeypatch.setitem(sys.modules, "together", None)
        monkeypatch.setenv("TOGETHER_API_KEY", "test")
        for argv in (["catalog", "pull"], ["usage", "pull", "--month", "2026-11"]):
            code, _ = run(*argv)
            err = capsys.readouterr().err
            assert code == 1
            assert "pip install 'together-billing[together]'" in err
            assert "Traceback" not in err

    def test_without_an_api_key(self, monkeypatch, capsys) -> None:
        pytest.importorskip("together", reason="the `together` extra is not installed")
        monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
        code, _ = run("catalog", "pull")
        assert code == 2
        assert "TOGETHER_API_KEY" in capsys.readouterr().err

    def test_pulls_over_the_sdk(self, monkeypatch, tmp_path: Path) -> None:
        """`catalog pull` and `usage pull` with the SDK's client over a mocked transport."""
        pytest.importorskip("together", reason="the `together` extra is not installed")
        import importlib.util

        from together_billing import together_api

        spec = importlib.util.spec_from_file_location(
            "sdk_fake", Path(__file__).with_name("sdk_fake.py")
        )
        assert spec is not None
        assert spec.loader is not None
        fake = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fake)
        servers = iter([fake.catalog_server(), fake.usage_server()])
        monkeypatch.setattr(together_api, "connect", lambda **_: next(servers).client())
        prices = tmp_path / "prices.yaml"
        responses = tmp_path / "responses.json"
        code, text = run(
            "catalog", "pull", "--out", str(prices), "--save-responses", str(responses)
        )
        assert code == 0
        assert f"wrote {prices}" in text
        pulled = Catalog.from_file(prices)
        assert len(pulled) == 7
        assert together_api.load_catalog(responses).catalog == pulled
        usage = tmp_path / "usage.json"
        code, text = run("usage", "pull", "--month", "2026-11", "--out", str(usage))
        assert code == 0
        assert UsageReport.from_file(usage).rows == UsageReport.from_file(REPORT).rows
