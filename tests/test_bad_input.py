"""Bad input: every document is answered with a clear error or a correct result.

The property at the end mutates the valid example scenarios (types, keys, magnitudes,
encodings, nesting) and asserts that the Python API raises nothing but the library's
own :class:`BillingError` hierarchy and that the CLI exits 0 or 2 with a one-line
reason and never a traceback. The tests before it pin each class of bad input found
by a corpus of hostile files, through the one reader and the one number validator.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from together_billing import BillingError, InvalidArgument, InvalidScenario
from together_billing._documents import MAX_DEPTH, read_document
from together_billing.cli import main
from together_billing.scenario import Scenario, ScenarioDoc, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

BASE = """\
until: "2025-11-02T00:00:00Z"
account: {opening_balance: 100}
resources:
  - {kind: dedicated_endpoint, id: ep, model: m, hardware: 1x_nvidia_h100_80gb_sxm, max_replicas: 2}
  - {kind: serverless, id: chat, model: openai/gpt-oss-20b}
events:
  - {type: deploy, at: "2025-11-01T00:00:00Z", resource: ep}
  - {type: scale, at: "2025-11-01T00:30:00Z", resource: ep, replicas: 2}
"""


def cli(*args: str) -> tuple[int, str, str]:
    """Run the command line, capturing both streams."""
    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(list(args), out=out)
        except SystemExit as exit_:  # argparse's own usage errors
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(InvalidScenario) as info:
        run_scenario(path)
    return info.value.errors


# -- files that cannot be read as text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (BASE.encode("utf-16"), "UTF-16"),
        (BASE.encode("utf-32"), "UTF-32"),
        (b"until: \xff\xfe\x00garbage", "byte 7 is not UTF-8"),
        (bytes(range(256)), "not UTF-8"),
        (b"until: x\x00", "NUL"),
    ],
)
def test_undecodable_files_are_refused_with_where(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    """Binary and UTF-16/32 files are refused as documents, saying what was found."""
    [(location, message)] = problems_of(write(tmp_path, data))
    assert location == "(document)"
    assert expected in message


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark (as Windows editors write) is not an error."""
    path = write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())
    assert run_scenario(path).total.amount > 0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
@pytest.mark.parametrize("command", ["simulate", "forecast", "explain"])
def test_devices_are_refused_not_read(command: str) -> None:
    """A device (an endless file) is refused before a byte is read."""
    code, _, err = cli(command, "/dev/zero")
    assert code == 2
    assert "expected a regular file" in err


def test_oversized_documents_are_refused_naming_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than MAX_DOCUMENT_BYTES is refused, naming the limit (not read to the end)."""
    from together_billing import _documents

    monkeypatch.setattr(_documents, "MAX_DOCUMENT_BYTES", 100)
    with pytest.raises(BillingError, match="at most 100 bytes"):
        run_scenario(write(tmp_path, BASE))
    with pytest.raises(BillingError, match="at most 100 bytes"):
        run_scenario(write(tmp_path, json.dumps({"name": "x" * 200}), "s.json"))
    monkeypatch.setattr(_documents, "MAX_DOCUMENT_BYTES", 10**6)
    monkeypatch.setattr(_documents, "MAX_YAML_BYTES", 150)
    with pytest.raises(BillingError, match="at most 150 bytes"):
        run_scenario(write(tmp_path, BASE))
    assert run_scenario(write(tmp_path, json.dumps({"until": "2025-11-02T00:00:00Z"}), "s.json"))


def test_fifo_is_refused(tmp_path: Path) -> None:
    """A named pipe would block forever: it is refused like a device."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer, so opening does not block
    try:
        with pytest.raises(BillingError, match="regular file"):
            run_scenario(fifo)
    finally:
        os.close(fd)


def test_missing_and_directory_paths(tmp_path: Path) -> None:
    """A missing file and a directory are argument errors naming the path."""
    assert cli("simulate", str(tmp_path / "nope.yaml"))[0] == 2
    code, _, err = cli("simulate", str(tmp_path))
    assert code == 2
    assert str(tmp_path) in err


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("opener", ["[", '{"a": '])
def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path, suffix: str, opener: str) -> None:
    """Nesting beyond MAX_DEPTH (or the parser's own limit) is a document error."""
    closer = "]" if opener == "[" else "}"
    text = "x: " + opener * 5000 + closer * 5000 if suffix == ".yaml" else opener * 5000
    text += "" if suffix == ".yaml" else closer * 5000
    [(location, message)] = problems_of(write(tmp_path, text, "deep" + suffix))
    assert location == "(document)"
    assert "nest" in message


def test_nesting_just_beyond_the_limit(tmp_path: Path) -> None:
    """A document MAX_DEPTH + 1 deep is refused by the depth check itself."""
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidScenario, match="MAX_DEPTH"):
        read_document(write(tmp_path, text, "d.json"))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("until: '2025-11-02T00:00:00Z'\nuntil: '2025-12-02T00:00:00Z'\n", "s.yaml"),
        (
            "account: {opening_balance: 1, opening_balance: 2}\nuntil: '2025-11-02T00:00:00Z'\n",
            "s.yaml",
        ),
        ('{"until": "2025-11-02T00:00:00Z", "until": "2025-12-02T00:00:00Z"}', "s.json"),
        ('{"until": "2025-11-02T00:00:00Z", "account": {"id": "a", "id": "b"}}', "s.json"),
    ],
)
def test_duplicate_keys_are_refused(tmp_path: Path, text: str, name: str) -> None:
    """A key given twice in one mapping is an error (the last one no longer silently wins)."""
    [(_, message)] = problems_of(write(tmp_path, text, name))
    assert "given twice" in message


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """YAML's ``<<`` merge may be overridden by an explicit key: that is not a duplicate."""
    text = BASE.replace(
        "account: {opening_balance: 100}",
        "defaults: &d {opening_balance: 5}\naccount: {<<: *d, opening_balance: 100}",
    )
    data = read_document(write(tmp_path, text))
    assert data["account"] == {"opening_balance": 100}


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1" * 5000, "1e99999999999", "0." + "1" * 100]
)
def test_json_number_literals_beyond_limits(tmp_path: Path, literal: str) -> None:
    """Non-standard JSON constants and over-long numbers are refused while parsing."""
    text = '{"until": "2025-11-02T00:00:00Z", "account": {"opening_balance": LITERAL}}'
    text = text.replace("LITERAL", literal)
    [(location, message)] = problems_of(write(tmp_path, text, "s.json"))
    assert location in {"(document)", "account.opening_balance"}
    assert "number" in message


def test_yaml_parse_errors_never_quote_the_file(tmp_path: Path) -> None:
    """A syntax error is reported by line and column, without the line's text."""
    secret = "s3cr3t-token-value"
    path = write(tmp_path, f"until: [unclosed {secret}\nfoo: bar\n")
    code, _, err = cli("simulate", str(path))
    assert code == 2
    assert secret not in err
    assert "line " in err


# -- numbers, booleans, instants: one validator for every section ------------------------------

HOSTILE_NUMBERS = [
    ".nan",
    ".inf",
    "-.inf",
    "'NaN'",
    "'Infinity'",
    "1.0e+400",
    "'1e400'",
    "'1e-400'",
    "true",
    "false",
    "9" * 5000,
    "1000000000000000",
    "0.0000000000000000001",
]

NUMBER_FIELDS = [
    ("account: {opening_balance: %s}", "account.opening_balance"),
    (
        "account: {auto_recharge: {mode: increment, threshold: %s}}",
        "account.auto_recharge.threshold",
    ),
    ("policies: {min_purchase: %s}", "policies.min_purchase"),
    ("policies: {credit_floor: %s}", "policies.credit_floor"),
    ("policies: {batch_discount: %s}", "policies.batch_discount"),
    ("policies: {alert_thresholds: [%s]}", "policies.alert_thresholds[0]"),
    (
        "catalog: {hardware: [{hardware: 1x_g, per_hour: %s, effective_from: '2025-01-01T00:00:00Z'}]}",
        "catalog.hardware[0].per_hour",
    ),
    (
        "catalog: {serverless: [{model: m, input: %s, output: 1, effective_from: '2025-01-01T00:00:00Z'}]}",
        "catalog.serverless[0].input",
    ),
    (
        "catalog: {clusters: [{gpu_type: g, billing: reserved, per_gpu_hour: %s, effective_from: '2025-01-01T00:00:00Z'}]}",
        "catalog.clusters[0].per_gpu_hour",
    ),
    (
        "catalog: {storage: [{per_tib_hour: %s, effective_from: '2025-01-01T00:00:00Z'}]}",
        "catalog.storage[0].per_tib_hour",
    ),
    ("resources: [{kind: serverless, id: s, model: m, params_b: %s}]", "resources[0].params_b"),
    (
        "resources: [{kind: dedicated_endpoint, id: e, model: m, hardware: h, min_replicas: %s}]",
        "resources[0].min_replicas",
    ),
    (
        "events: [{type: purchase, at: '2025-11-01T00:00:00Z', amount: %s}]",
        "events[0].amount",
    ),
    (
        "events: [{type: scale, at: '2025-11-01T00:00:00Z', resource: ep, replicas: %s}]",
        "events[0].replicas",
    ),
    (
        "events: [{type: tokens, at: '2025-11-01T00:00:00Z', resource: c, input_tokens: %s}]",
        "events[0].input_tokens",
    ),
    (
        (
            "events: [{type: price_change, price: {hardware: {hardware: h, per_hour: %s, "
            "effective_from: '2025-01-01T00:00:00Z'}}}]"
        ),
        "events[0].price.hardware.per_hour",
    ),
]


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
@pytest.mark.parametrize(("template", "location"), NUMBER_FIELDS)
def test_every_number_field_refuses_every_hostile_number(
    tmp_path: Path, template: str, location: str, value: str
) -> None:
    """NaN, infinities, booleans, huge magnitudes and exponents are refused in every section.

    The error names the field's location in the file and shows the value given.
    """
    text = "until: '2025-11-02T00:00:00Z'\n" + template % value + "\n"
    errors = problems_of(write(tmp_path, text))
    located = [message for where, message in errors if where == location]
    if not located:  # the over-long literal is refused while parsing, by line and column
        [(where, message)] = errors
        assert where == "(document)"
        assert "characters" in message
        return
    assert "got " in located[0]
    assert "refused" in located[0] or "number" in located[0]


def test_huge_integers_from_python_are_located_not_passed_on() -> None:
    """A 5,000-digit integer in a Python dict is refused before pydantic (which cannot
    print it and would report an "unraisable" error)."""
    doc = {"until": "2025-11-02T00:00:00Z", "events": [{"type": "scale", "replicas": 10**5000}]}
    with pytest.raises(InvalidScenario) as info:
        ScenarioDoc.model_validate(doc)
    assert info.value.errors[0][0] == "events[0].replicas"


def test_floats_from_python_are_refused_everywhere() -> None:
    """A Python dict with float values does not turn 0.1 + 0.2 into 0.30000000000000004."""
    doc = {
        "until": "2025-11-02T00:00:00Z",
        "account": {"opening_balance": 0.1},
        "events": [{"type": "purchase", "at": "2025-11-01T00:00:00Z", "amount": 0.2}],
    }
    with pytest.raises(InvalidScenario) as info:
        ScenarioDoc.model_validate(doc)
    errors = dict(info.value.errors)
    assert "got 0.1" in errors["account.opening_balance"]
    assert "got 0.2" in errors["events[0].amount"]


def test_exponent_forms_become_plain_decimals(tmp_path: Path) -> None:
    """``1e3`` is read as 1000 and printed so; JSON output holds no exponent form."""
    text = BASE.replace("opening_balance: 100", "opening_balance: 1.0e+3") + (
        "catalog:\n  hardware:\n    - {hardware: 1x_nvidia_h100_80gb_sxm, per_hour: 1.0e-7, "
        "effective_from: '2025-01-01T00:00:00Z'}\n"
    )
    code, out, err = cli("simulate", str(write(tmp_path, text)), "--format", "json")
    assert code == 0, err
    assert "E+" not in out
    assert "E-" not in out


@pytest.mark.parametrize(
    ("field", "value"),
    [("ready", "1"), ("ready", "'yes'"), ("batch", "0")],
)
def test_numbers_where_flags_belong_are_refused(tmp_path: Path, field: str, value: str) -> None:
    """A flag is ``true`` or ``false``: ``1`` or ``'yes'`` is not silently read as one."""
    kind = "deploy" if field == "ready" else "tokens"
    text = (
        "until: '2025-11-02T00:00:00Z'\n"
        f"events: [{{type: {kind}, at: '2025-11-01T00:00:00Z', resource: ep, {field}: {value}}}]\n"
    )
    [(location, message)] = problems_of(write(tmp_path, text))
    assert location == f"events[0].{field}"
    assert "true or false" in message


@pytest.mark.parametrize(
    "value",
    ["1700000000", "'2025-11-01T00:00:00'", "'9999-12-31T00:00:00Z'", "'1900-01-01T00:00:00Z'"],
)
def test_instants_that_are_numbers_naive_or_out_of_range(tmp_path: Path, value: str) -> None:
    """A Unix timestamp, a naive instant or one outside the calendar is refused, located."""
    text = f"until: {value}\n"
    [(location, message)] = problems_of(write(tmp_path, text))
    assert location == "until"
    assert "instant" in message


# -- what validates but could be misread -------------------------------------------------------


def test_zero_or_negative_gpu_count_in_a_catalog_entry(tmp_path: Path) -> None:
    """A hardware entry's gpu_count is at least 1."""
    text = (
        "until: '2025-11-02T00:00:00Z'\ncatalog: {hardware: [{hardware: 1x_g, per_hour: 1, "
        "gpu_count: 0, effective_from: '2025-01-01T00:00:00Z'}]}\n"
    )
    [(location, message)] = problems_of(write(tmp_path, text))
    assert location == "catalog.hardware[0].gpu_count"
    assert "got 0" in message


@pytest.mark.parametrize("hardware", ["0x_nvidia_h100_80gb_sxm", "00x_nvidia_h100_80gb_sxm"])
def test_zero_gpu_hardware_id_is_unknown_not_free(tmp_path: Path, hardware: str) -> None:
    """``0x_...`` is not derived from the ``1x_`` price at $0: it is an unknown id, listed."""
    text = BASE.replace("hardware: 1x_nvidia_h100_80gb_sxm", f"hardware: {hardware}")
    code, _, err = cli("simulate", str(write(tmp_path, text)))
    assert code != 0
    assert "1x_nvidia_h100_80gb_sxm" in err  # the valid ids are listed


def test_until_before_start_is_refused(tmp_path: Path) -> None:
    """``until`` before ``start`` is an error, not an empty replay."""
    text = "start: '2025-12-01T00:00:00Z'\nuntil: '2025-11-01T00:00:00Z'\n"
    code, _, err = cli("simulate", str(write(tmp_path, text)))
    assert code == 2
    assert "until" in err


def test_errors_name_location_value_and_what_is_valid(tmp_path: Path) -> None:
    """Each problem names ``events[3].replicas``-style locations and the value."""
    text = BASE + (
        "  - {type: scale, at: '2025-11-01T01:00:00Z', resource: ep, replicas: -3}\n"
        "  - {type: nope, at: '2025-11-01T01:00:00Z', resource: ep}\n"
        "  - {type: tokens, at: '2025-11-01T01:00:00Z', resource: chat, input_tokens: 1.5}\n"
    )
    errors = dict(problems_of(write(tmp_path, text)))
    assert "got -3" in errors["events[2].replicas"]
    assert "deploy" in errors["events[3]"]  # the valid types are listed
    assert "got Decimal('1.5')" in errors["events[4].input_tokens"]


def test_replay_errors_name_the_event_in_the_file(tmp_path: Path) -> None:
    """An event refused during the replay is located as ``FILE events[2].replicas``."""
    text = BASE + "  - {type: scale, at: '2025-11-01T00:45:00Z', resource: ep, replicas: 3}\n"
    path = write(tmp_path, text)
    code, _, err = cli("simulate", str(path))
    assert code == 2
    assert f"{path} events[2].replicas: " in err
    assert "at most max_replicas (2)" in err


def test_unknown_field_says_to_check_spelling(tmp_path: Path) -> None:
    """A misspelt field is named, with a hint."""
    text = BASE.replace("replicas: 2", "replica: 2")
    errors = dict(problems_of(write(tmp_path, text)))
    assert "spelling" in errors["events[1].replica"]


# -- confidentiality ---------------------------------------------------------------------------


def test_catalog_files_outside_the_scenario_folder_are_refused(tmp_path: Path) -> None:
    """A scenario cannot name a file outside its folder, relative or absolute."""
    secret = tmp_path / "secret.txt"
    secret.write_text("password: hunter2\n", encoding="utf-8")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ["../secret.txt", str(secret)]:
        path = write(folder, f"until: '2025-11-02T00:00:00Z'\ncatalog: {{files: ['{name}']}}\n")
        code, _, err = cli("simulate", str(path))
        assert code == 2
        assert "outside the scenario's folder" in err
        assert "hunter2" not in err


def test_catalog_dir_option_allows_a_folder_and_never_echoes_content(tmp_path: Path) -> None:
    """``--catalog-dir`` allows a folder; a file that is no catalog is reported without content."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("hardware: hunter2\nserverless: [hunter3]\n", encoding="utf-8")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = write(folder, "until: '2025-11-02T00:00:00Z'\ncatalog: {files: ['../secret.yaml']}\n")
    code, _, err = cli("simulate", str(path), "--catalog-dir", str(tmp_path))
    assert code == 2
    assert "catalog.files[0]" in err
    assert "hunter" not in err


def test_catalog_file_syntax_error_does_not_quote_it(tmp_path: Path) -> None:
    """A catalog file that is not YAML is reported by line and column only."""
    (tmp_path / "prices.yaml").write_text("a: 1\na: [hunter2\n", encoding="utf-8")
    path = write(tmp_path, "until: '2025-11-02T00:00:00Z'\ncatalog: {files: [prices.yaml]}\n")
    code, _, err = cli("simulate", str(path))
    assert code == 2
    assert "hunter2" not in err
    assert "'a'" not in err


def test_catalog_files_inside_the_folder_still_work(tmp_path: Path) -> None:
    """The ordinary case: a catalog file beside the scenario (or below it) is read."""
    sub = tmp_path / "prices"
    sub.mkdir()
    (sub / "p.yaml").write_text(
        "hardware: [{hardware: 1x_g, per_hour: 2, effective_from: '2025-01-01T00:00:00Z'}]\n",
        encoding="utf-8",
    )
    text = BASE.replace("1x_nvidia_h100_80gb_sxm", "1x_g") + "catalog: {files: [prices/p.yaml]}\n"
    scenario = Scenario.from_file(write(tmp_path, text))
    assert scenario.catalog.hardware("1x_g", scenario.until).per_hour == 2


# -- the CLI's own arguments -------------------------------------------------------------------


def test_version() -> None:
    """``--version`` prints the installed version."""
    code, out, _ = cli("--version")
    assert code == 0
    assert out.startswith("together-billing ") or out == ""


def test_explain_unknown_resource_is_an_error() -> None:
    """``explain --resource UNKNOWN`` exits 2 listing the scenario's resources."""
    code, _, err = cli("explain", str(ROOT / "examples/idle-deployments.yaml"), "--resource", "x")
    assert code == 2
    assert "my-endpoint" in err


def test_explain_malformed_period_is_an_error() -> None:
    """``--period`` must be YYYY-MM."""
    code, _, err = cli("explain", str(ROOT / "examples/idle-deployments.yaml"), "--period", "11")
    assert code == 2
    assert "YYYY-MM" in err


def test_compare_move_to_unknown_model_is_an_error() -> None:
    """``compare --move`` to a model the catalog does not know exits 2, listing models."""
    code, _, err = cli(
        "compare",
        str(ROOT / "examples/idle-deployments.yaml"),
        "--at",
        "2025-11-03T10:00:00Z",
        "--move",
        "my-endpoint=nobody/nothing:800:200",
    )
    assert code == 2
    assert "openai/gpt-oss-20b" in err


def test_unwritable_plot_path_is_an_error(tmp_path: Path) -> None:
    """An unwritable ``--plot`` path exits 2 naming it (matplotlib permitting)."""
    pytest.importorskip("matplotlib")
    target = tmp_path / "missing-folder" / "x.png"
    code, _, err = cli(
        "forecast", str(ROOT / "examples/credits-run-out.yaml"), "--plot", str(target)
    )
    assert code == 2
    assert "--plot" in err


@pytest.mark.parametrize("until", ["9999-12-31T00:00:00Z", "not-a-date", "2025-11-01T00:00:00"])
def test_forecast_window_beyond_the_calendar_or_malformed(until: str) -> None:
    """A forecast ``--until`` past the calendar, malformed or naive is an error, exit 2."""
    code, _, err = cli("forecast", str(ROOT / "examples/credits-run-out.yaml"), "--until", until)
    assert code == 2
    assert "Traceback" not in err


# -- engine classes --------------------------------------------------------------------------


def test_decades_with_credits_do_not_recurse(tmp_path: Path) -> None:
    """A replay over a century with credits books each month without recursing."""
    text = (
        "until: '2125-11-02T00:00:00Z'\naccount: {opening_balance: 100000000}\n"
        "resources: [{kind: dedicated_endpoint, id: ep, model: m, "
        "hardware: 1x_nvidia_h100_80gb_sxm}]\n"
        "events: [{type: deploy, at: '2025-11-01T00:00:00Z', resource: ep}]\n"
    )
    result = run_scenario(write(tmp_path, text))
    assert len(result.invoices) == 1201


def test_tiny_auto_recharge_increment_is_bounded(tmp_path: Path) -> None:
    """An increment that would need more than MAX_RECHARGE_PURCHASES buys is an error."""
    text = BASE.replace(
        "account: {opening_balance: 100}",
        "account: {opening_balance: 0, auto_recharge: {mode: increment, threshold: 100000000, "
        "amount: 0.01}}\npolicies: {min_purchase: 0}",
    )
    code, _, err = cli("simulate", str(write(tmp_path, text)))
    assert code == 2
    assert "MAX_RECHARGE_PURCHASES" in err


def test_auto_recharge_below_minimum_buys_what_is_needed(tmp_path: Path) -> None:
    """An increment below the minimum purchase buys at the minimum, as few times as needed."""
    text = BASE.replace(
        "account: {opening_balance: 100}",
        "account: {opening_balance: 0, auto_recharge: {mode: increment, threshold: 20, amount: 1}}",
    )
    result = run_scenario(write(tmp_path, text))
    first = [
        e
        for e in result.ledger
        if e.kind == "recharge" and e.at_micros == result.ledger[0].at_micros
    ]
    # $20 short at $5 a purchase (P-MIN-BUY): four purchases, not twenty raised to $5 each.
    assert [e.amount for e in first] == [Decimal(5)] * 4


# -- the property -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A parsed document as plain data (instants as text) for mutation."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


SEEDS = [_plain(read_document(path)) for path in EXAMPLES]


def _emit(value: Any) -> str:
    """JSON text keeping Decimals as number literals (never floats)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_emit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_emit(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return format(Decimal(value), "f")  # str() refuses integers of over 4,300 digits
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else '"nan"'
    return json.dumps(value)


hostile_leaves = st.one_of(
    st.sampled_from(
        [
            True,
            False,
            None,
            0,
            -1,
            10**20,
            10**5000,
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("1E+400"),
            Decimal("1E-400"),
            Decimal("-0.5"),
            "",
            "NaN",
            "Infinity",
            "1e400",
            "2025-11-01T00:00:00",
            "9999-12-31T23:59:59Z",
            "0x_nvidia_h100_80gb_sxm",
            "\x00",
            "\u202e\ud7ff",
            [],
            {},
            [[[[[]]]]],
            {"a": {"b": {"c": {}}}},
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
    st.text(max_size=20),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != path[0]}
        return [v for i, v in enumerate(value) if i != path[0]]
    head = path[0]
    if isinstance(value, dict):
        return {**value, head: _delete(value[head], path[1:])}
    copy = list(value)
    copy[head] = _delete(copy[head], path[1:])
    return copy


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A valid example scenario with one to three mutations of its structure."""
    doc = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "delete", "add", "nest", "scale"]))
        if kind == "replace" or (kind == "delete" and not path):
            doc = _replace(doc, path, draw(hostile_leaves))
        elif kind == "delete":
            doc = _delete(doc, path)
        elif kind == "add":
            target = _replace(doc, (), doc)
            key = draw(st.sampled_from(["extra", "until", "amount", "replicas", "type", "kind"]))
            node = target
            for part in path:
                node = node[part]
            if isinstance(node, dict):
                doc = _replace(doc, path, {**node, key: draw(hostile_leaves)})
        elif kind == "nest":
            depth = draw(st.integers(1, 2 * MAX_DEPTH))
            leaf: Any = draw(hostile_leaves)
            for _ in range(depth):
                leaf = [leaf]
            doc = _replace(doc, path, leaf)
        else:
            node = doc
            for part in path:
                node = node[part]
            if isinstance(node, (int, Decimal)) and not isinstance(node, bool):
                factor = draw(st.sampled_from([Decimal("1E+30"), Decimal("1E-30"), -1, 0, 10**9]))
                doc = _replace(doc, path, node * factor)
    return doc


ENCODINGS = ["utf-8", "utf-16", "latin-1", "utf-8-bom", "truncated", "flipped"]


def _encode(text: str, encoding: str, cut: int) -> bytes:
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode()
    if encoding == "truncated":
        data = text.encode()
        return data[: cut % (len(data) + 1)]
    if encoding == "flipped":
        data = bytearray(text.encode())
        if data:
            data[cut % len(data)] ^= 0xFF
        return bytes(data)
    return text.encode(encoding, errors="replace")


def _api_answers(path: Path) -> None:
    """The Python API: a result, or one of the library's errors (nothing else escapes)."""
    try:
        result = run_scenario(path)
    except BillingError:
        return
    result.to_dict()  # a result is complete and serializable


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    doc=mutated_documents(),
    suffix=st.sampled_from([".json", ".yaml"]),
    encoding=st.sampled_from(ENCODINGS),
    cut=st.integers(0, 10**6),
)
def test_mutated_scenarios_get_a_clear_answer(
    tmp_path_factory: pytest.TempPathFactory, doc: Any, suffix: str, encoding: str, cut: int
) -> None:
    """Any mutation of a valid scenario: a result or a clear error, never a traceback.

    Python API: only :class:`BillingError` escapes. CLI: exit 0 with output, or exit
    2 (invalid input) or 1 (a missing price) with one ``together-billing: error:``
    message and no traceback.
    """
    path = tmp_path_factory.mktemp("mutated") / ("scenario" + suffix)
    path.write_bytes(_encode(_emit(doc), encoding, cut))
    _api_answers(path)
    with contextlib.suppress(BillingError):
        load_scenario(path)
    code, out, err = cli("simulate", str(path), "--format", "json")
    # 2: invalid input; 1: a price the catalog lacks (UnknownPrice), as documented.
    assert code in {0, 1, 2}, err
    assert "Traceback" not in err
    assert "internal error" not in err
    if code == 0:
        assert json.loads(out)["schema_version"] >= 1
    else:
        assert err.startswith("together-billing: error: ")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=mutated_documents())
def test_mutated_documents_through_the_model(doc: Any) -> None:
    """The document model (``ScenarioDoc``) and its replay: only the library's errors."""
    with contextlib.suppress(BillingError):
        ScenarioDoc.model_validate(doc).run().to_dict()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # $20 short at a $5 minimum: four buys at $5, not twenty $1 buys raised to $5.
        ("{mode: increment, threshold: 20, amount: 1}", [Decimal(5)] * 4),
        # A top-up of a few cents is raised to the minimum purchase.
        ("{mode: top-up, threshold: 0.02, target: 0.03}", [Decimal(5)]),
    ],
)
def test_recharge_purchases_are_each_at_least_the_minimum(
    tmp_path: Path, mode: str, expected: list[Decimal]
) -> None:
    """Both recharge modes buy at least P-MIN-BUY each time, and no more often than needed."""
    text = BASE.replace(
        "account: {opening_balance: 100}", f"account: {{opening_balance: 0, auto_recharge: {mode}}}"
    )
    result = run_scenario(write(tmp_path, text))
    first_instant = result.ledger[0].at_micros
    bought = [
        e.amount for e in result.ledger if e.kind == "recharge" and e.at_micros == first_instant
    ]
    assert bought == expected


@pytest.mark.parametrize("value", ["true", "null", "3", "{a: 1}", "'text'"])
def test_events_that_are_not_a_list(tmp_path: Path, value: str) -> None:
    """``events:`` given as anything but a list is located and shown, not iterated."""
    errors = dict(problems_of(write(tmp_path, f"until: '2025-11-02T00:00:00Z'\nevents: {value}\n")))
    assert "valid list" in errors["events"]


def test_simultaneous_equal_credit_events_do_not_depend_on_input_order() -> None:
    """Equal-valued purchases and grants at one instant: every field of the output is the
    same whatever order they are given in (the replay orders them by content)."""
    import itertools

    from together_billing import DedicatedEndpoint, Deploy, Grant, Purchase, simulate
    from together_billing.cli import render_table
    from together_billing.credits import Account

    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
    at = "2025-11-01T00:00:00Z"
    events = [
        Grant(at, "account", "50", "2025-11-01T05:00:00Z"),
        Grant(at, "account", "50", "2025-11-01T03:00:00Z"),
        Grant(at, "account", "50"),
        Purchase(at, "account", "50"),
        Purchase(at, "account", "50"),
    ]
    outputs = set()
    for order in itertools.permutations(events):
        result = simulate(
            [endpoint, Account("account")],
            [Deploy(at, "ep"), *order],
            until="2025-11-02T00:00:00Z",
        )
        outputs.add(json.dumps(result.to_dict()) + render_table(result) + repr(result.ledger))
    assert len(outputs) == 1


# -- amounts a user gives: one validator everywhere ----------------------------------------------

#: Numbers ``money.input_decimal`` refuses: floats, booleans, non-numbers, NaN, infinities,
#: exponents beyond the input bounds (1e400 would make a 400-digit figure) and more places.
REFUSED_AMOUNTS = [
    0.5,
    float("nan"),
    True,
    "abc",
    "NaN",
    "Infinity",
    "1e400",
    Decimal("1e400"),
    "1.5e999999999",
    "1e-400",
]
ACCEPTED_AMOUNTS = ["1e3", 5, Decimal("0.01"), " 12.50 "]


def _amount_entries() -> dict[str, Any]:
    """Each public entry point that reads a user's amount, as ``value -> None``."""
    from together_billing import DedicatedEndpoint, Deploy, Stop
    from together_billing.gate import check_budget
    from together_billing.reconcile import reconcile, replay_usage
    from together_billing.testing import assert_monthly_bill_under

    plan = Scenario(
        resources=[DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")],
        events=[Deploy("2025-11-01T00:00:00Z", "ep"), Stop("2025-11-01T00:10:00Z", "ep")],
        until="2025-11-02T00:00:00Z",
    )
    simulated = replay_usage(plan, granularity="day")
    report = simulated.to_report()
    return {
        "max_total": lambda value: check_budget(plan, max_total=value),
        "max_idle": lambda value: check_budget(plan, max_idle=value),
        "tolerance": lambda value: reconcile(simulated, report, tolerance=value),
        "quantity_tolerance": lambda value: reconcile(simulated, report, quantity_tolerance=value),
        "limit": lambda value: assert_monthly_bill_under(plan.run(), value),
    }


@pytest.mark.parametrize("value", REFUSED_AMOUNTS, ids=repr)
def test_every_amount_entry_refuses_what_input_decimal_refuses(value: object) -> None:
    """The budget gate, the reconciliation's tolerances and the budget assertions read amounts
    with ``money.input_decimal``: each refuses the same values, naming its own field."""
    from together_billing.money import input_decimal

    with pytest.raises(InvalidArgument):
        input_decimal(value)
    for field, entry in _amount_entries().items():
        with pytest.raises(InvalidArgument) as raised:
            entry(value)
        assert raised.value.field == field


@pytest.mark.parametrize("value", ACCEPTED_AMOUNTS, ids=repr)
def test_every_amount_entry_accepts_what_input_decimal_accepts(value: object) -> None:
    for entry in _amount_entries().values():
        # A bill over a small limit fails its assertion: that is reading the amount, not refusing it.
        with contextlib.suppress(AssertionError):
            entry(value)
