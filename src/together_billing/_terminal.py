"""What the CLI shows on a terminal, through ``rich``: width, colour, a progress line.

Imported only when a command writes to a terminal, so that ``--help`` and pipes never
load ``rich``. The text is the CLI's plain text, already fitted to the width
(:mod:`together_billing._text`); here it only gets colour, by pattern, so what a
terminal shows and what a pipe receives differ in nothing else. ``rich`` honours
``NO_COLOR``, ``TERM=dumb`` and ``COLUMNS``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import ClassVar, TextIO

from rich.console import Console
from rich.highlighter import RegexHighlighter
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.theme import Theme

__all__ = ["progress", "width", "write"]

_THEME = Theme(
    {
        "tb.heading": "bold",
        "tb.total": "bold",
        "tb.money": "green",
        "tb.negative": "bold red",
        "tb.rule": "cyan",
        "tb.estimate": "yellow",
        "tb.instant": "dim",
    }
)


_HEADINGS = "|".join(
    ("Invoice", "Projected invoice", "Forecast", "Runway", "Credits", "Log", "Alerts", "Total over")
)


class _Highlighter(RegexHighlighter):
    """Colours by pattern: headings, totals, amounts, negative amounts, rule ids, instants."""

    base_style = "tb."
    highlights: ClassVar[list[str]] = [
        rf"(?m)^(?P<heading>(?:{_HEADINGS})\b.*)$",
        r"(?P<total>TOTAL|AMOUNT DUE)",
        r"(?P<instant>\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z))",
        r"(?P<money>\$\d[\d,]*(?:\.\d+)?)",
        r"(?P<negative>-\$\d[\d,]*(?:\.\d+)?)",
        r"\b(?P<rule>(?:G|SL|FT|DE|CL|ST|IN|CR)\d+)\b",
        r"(?P<estimate> \*)(?= |$)",
    ]


def _console(stream: TextIO) -> Console:
    return Console(
        file=stream,
        theme=_THEME,
        highlighter=_Highlighter(),
        soft_wrap=True,  # the text is fitted already: rich must not wrap it again
        emoji=False,
        markup=False,
    )


def width(stream: TextIO) -> int:
    """The terminal's width in columns (``COLUMNS`` if set, else the terminal's size)."""
    return _console(stream).width


def write(stream: TextIO, text: str) -> None:
    """Write ``text`` to the terminal, coloured (unless ``NO_COLOR`` or ``TERM=dumb``)."""
    _console(stream).print(text, end="")


@contextlib.contextmanager
def progress(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner, ``label``, the current stage and the elapsed time on stderr.

    Yields the function that sets the stage; the line is erased at the end.
    """
    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    task = display.add_task(label, total=None)

    def update(stage: str) -> None:
        display.update(task, description=f"{label}: {stage}")

    with display:
        yield update
