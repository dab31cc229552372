"""The CLI on a terminal and in a pipe: tables that fit, colour only on a terminal.

States: output to a pipe or file (plain, unlimited width, byte for byte the docs' and
examples' text), with ``--width`` (plain, fitted), to a terminal of 80 or 120 columns
(fitted to the terminal, coloured, a progress line on stderr that is erased), and data
formats (JSON, CSV), which are never fitted nor coloured. Every command that prints a
table is run in each.
"""

from __future__ import annotations

import collections
import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from together_billing._text import columns, fit_lines, fitted
from together_billing.cli import main

ROOT = Path(__file__).resolve().parent.parent
EX = "examples/"
AT = "2025-11-05T00:00:00Z"

#: Every command and variant that prints a table.
COMMANDS = [
    *(["simulate", f"{EX}{path.name}"] for path in sorted((ROOT / "examples").glob("*.yaml"))),
    ["simulate", f"{EX}idle-deployments.yaml", "--until", "2025-11-04T09:00:00Z"],
    ["forecast", f"{EX}forecast-steady.yaml"],
    ["forecast", f"{EX}forecast-steady.yaml", "--steady"],
    ["forecast", f"{EX}credits-run-out.yaml"],
    ["explain", f"{EX}credits-run-out.yaml"],
    ["explain", f"{EX}forecast-steady.yaml", "--resource", "support-bot"],
    ["explain", f"{EX}idle-deployments.yaml", "--idle"],
    ["explain", f"{EX}forecast-steady.yaml", "--idle"],
    ["compare", f"{EX}forecast-steady.yaml", "--at", AT, "--stop", "support-bot"],
    [
        "compare",
        f"{EX}forecast-steady.yaml",
        "--at",
        AT,
        "--move",
        "support-bot=openai/gpt-oss-120b:1500:500",
    ],
    ["compare", f"{EX}idle-deployments.yaml", f"{EX}credits-run-out.yaml"],
    ["catalog"],
]
IDS = [" ".join(argv).replace(EX, "") for argv in COMMANDS]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: An SGR sequence that sets a foreground colour (30-39, 90-97); bold and dim are not colour.
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])(?:;[0-9;]*)?m")


@pytest.fixture(autouse=True)
def _from_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(argv: list[str]) -> str:
    out = io.StringIO()
    assert main(argv, out=out) == 0
    return out.getvalue()


def _ink(text: str) -> collections.Counter[str]:
    """The characters printed, whitespace aside: fitting may move them, never lose them."""
    return collections.Counter(ch for ch in text if not ch.isspace())


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
def test_every_command_fits_the_width(argv: list[str], width: int) -> None:
    """With `--width`, no line is longer than the width, and nothing printed is lost."""
    plain = run(argv)
    text = run([*argv, "--width", str(width)])
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long[:3]
    assert _ink(text) == _ink(plain)
    if max(map(len, plain.splitlines())) <= width:
        assert text == plain  # a table that fits is left alone


def test_without_width_the_output_is_the_plain_text() -> None:
    """No `--width` and not a terminal: the unlimited layout of the checked examples."""
    path = ROOT / "examples" / "credits-run-out.yaml"
    assert run(["simulate", str(path)]) == path.with_suffix(".out").read_text(encoding="utf-8")


def test_amounts_stay_right_aligned_when_fitted() -> None:
    """Fitted to 80 columns, the amount column still ends every line it is on."""
    text = run(["simulate", f"{EX}credits-run-out.yaml", "--width", "80"])
    lines = [line for line in text.splitlines() if re.search(r"  [A-Z]+\d+  .*\$\d+\.\d\d$", line)]
    assert len(lines) == 5  # the invoice's five lines
    assert len({len(line) for line in lines}) == 1


def test_data_formats_are_never_fitted() -> None:
    """JSON and CSV are data: `--width` does not touch them."""
    for argv in (
        ["simulate", f"{EX}credits-run-out.yaml", "--format", "json"],
        ["export", f"{EX}credits-run-out.yaml", "--format", "focus"],
        ["schema"],
    ):
        assert run([*argv, "--width", "80"]) == run(argv)


def test_a_width_too_narrow_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--width", "10"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "--width=10" in err
    assert "at least 40" in err


def test_a_long_word_is_cut_only_in_text_columns() -> None:
    """Ids and instants (`keep`) and numbers (`right`) are never cut; text is."""
    rows = [["instant", "detail", "n"], ["2025-11-03T11:24:49.389703+00:00", "x" * 30, "1 GPU"]]
    with fitted(55):
        lines = columns(rows, right={2}, keep={0})
    assert all(len(line) <= 55 for line in lines)
    assert "2025-11-03T11:24:49.389703+00:00" in lines[1]
    assert "".join(lines).count("x") == 30


def test_fit_lines_wraps_under_the_indent() -> None:
    assert fit_lines("short", 40) == "short"
    assert fit_lines("  " + "word " * 20, 40).splitlines()[1].startswith("    word")
    assert fit_lines("anything " * 20, None) == "anything " * 20


# -- in a real pipe and on a real terminal ----------------------------------------------------


def _command() -> list[str]:
    return [sys.executable, "-c", "from together_billing.cli import main; raise SystemExit(main())"]


def _environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE"}
    }
    env["TERM"] = "xterm-256color"
    return env


def test_a_pipe_gets_plain_text_and_no_progress() -> None:
    """Piped, the output is the checked-in example byte for byte, and stderr stays empty,
    even with `COLUMNS` set (it sizes a terminal, not a pipe)."""
    path = ROOT / "examples" / "reserved-cluster-burst.yaml"
    done = subprocess.run(
        [*_command(), "simulate", str(path)],
        capture_output=True,
        check=True,
        env={**_environment(), "COLUMNS": "60"},
        timeout=120,
    )
    assert done.stdout == path.with_suffix(".out").read_bytes()
    assert done.stderr == b""


ENVIRONMENT = _environment()


def _on_a_terminal(argv: list[str], width: int) -> tuple[str, str]:
    """Run the command with stdout and stderr on terminals `width` columns wide."""
    ends = []
    for _ in range(2):
        controller, device = pty.openpty()
        fcntl.ioctl(device, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
        ends.append((controller, device))
    process = subprocess.Popen(
        [*_command(), *argv],
        stdout=ends[0][1],
        stderr=ends[1][1],
        stdin=subprocess.DEVNULL,
        env=_environment(),
        cwd=ROOT,
    )
    for _, device in ends:
        os.close(device)
    received = {controller: b"" for controller, _ in ends}
    open_ends = set(received)
    while open_ends:
        ready, _, _ = select.select(list(open_ends), [], [], 60)
        assert ready, "no output for 60 s"
        for controller in ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the other side is closed
                chunk = b""
            if chunk:
                received[controller] += chunk
            else:
                open_ends.discard(controller)
                os.close(controller)
    assert process.wait(timeout=60) == 0
    out, err = (received[controller].decode("utf-8") for controller, _ in ends)
    return out.replace("\r\n", "\n"), err


@pytest.mark.parametrize("width", [80, 120])
def test_a_terminal_gets_fitted_coloured_tables(width: int) -> None:
    """On a terminal: fitted to its width, coloured, otherwise the `--width` text."""
    argv = ["simulate", f"{EX}credits-run-out.yaml"]
    out, _ = _on_a_terminal(argv, width)
    assert COLOUR.search(out), "no colour on a terminal"
    plain = ANSI.sub("", out)
    assert max(map(len, plain.splitlines())) <= width
    assert plain == run([*argv, "--width", str(width)])


def test_a_terminal_shows_progress_on_stderr_and_erases_it() -> None:
    """While replaying, stderr shows the command; the line is erased when done."""
    _, err = _on_a_terminal(["forecast", f"{EX}forecast-steady.yaml", "--steady"], 120)
    assert "forecast examples/forecast-steady.yaml" in err
    # The last stage is drawn when the line stops, whatever the refresh timing.
    assert "replaying the history and the assumed future" in err
    assert "\x1b[2K" in err or "\r" in err  # erased (transient)


def test_json_on_a_terminal_is_data() -> None:
    """Data formats on a terminal: no colour, no wrapping, parseable."""
    out, _ = _on_a_terminal(["simulate", f"{EX}credits-run-out.yaml", "--format", "json"], 80)
    assert not ANSI.search(out)
    assert json.loads(out)["schema_version"] == 1


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """`NO_COLOR` set: a terminal still gets fitted text, without colour (bold and dim
    stay, as https://no-color.org allows)."""
    monkeypatch.setattr(
        sys.modules[__name__], "_environment", lambda: {**ENVIRONMENT, "NO_COLOR": "1"}
    )
    out, _ = _on_a_terminal(["catalog"], 80)
    assert not COLOUR.search(out)
    assert max(map(len, ANSI.sub("", out).splitlines())) <= 80
