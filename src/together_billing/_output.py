"""Where the CLI's text goes: plain in pipes and files; fitted and coloured on a terminal.

Imported by ``cli.main`` once the arguments are parsed, so that ``--help`` does not load it.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import io
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from together_billing._text import MIN_WIDTH, fit_lines, fitted
from together_billing.errors import InvalidArgument

__all__ = ["output", "stage"]

_stage: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "stage", default=None
)


def stage(text: str) -> None:
    """Say what the command is doing now (``replaying 553 events``) on the progress line.

    Does nothing when there is no progress line (not a terminal, or no scenario).
    """
    update = _stage.get()
    if update is not None:
        update(text)


@contextlib.contextmanager
def output(args: argparse.Namespace, out: TextIO | None) -> Iterator[TextIO]:
    """The stream a command writes to, and what becomes of its text afterwards.

    Table output (``--format table``) is laid out for ``--width``, or on a terminal for
    the terminal's width, and coloured on a terminal only; piped or written to a file
    (or to ``out``), it is the plain text of the docs' examples, byte for byte. Data
    (JSON, CSV) is never fitted nor coloured. While a command reads and replays a
    scenario, a terminal's stderr shows a progress line (what it is doing, the time
    elapsed), erased before the output is written.
    """
    stream = out if out is not None else sys.stdout
    terminal = out is None and stream.isatty()
    width = getattr(args, "width", None)
    if width is not None and width < MIN_WIDTH:
        raise InvalidArgument("--width", width, f"at least {MIN_WIDTH} columns")
    table = getattr(args, "format", None) == "table"
    if width is None and terminal and table:
        from together_billing import _terminal  # noqa: PLC0415 - rich, on a terminal only

        width = max(_terminal.width(stream), MIN_WIDTH)
    progress = out is None and hasattr(args, "scenario") and sys.stderr.isatty()
    if not (table or progress):
        yield stream
        return
    buffer = io.StringIO()  # the output waits until the progress line is gone
    with contextlib.ExitStack() as stack:
        if progress:
            from together_billing import _terminal  # noqa: PLC0415 - rich, on a terminal only

            update = stack.enter_context(_terminal.progress(f"{args.command} {args.scenario}"))
            token = _stage.set(update)
            stack.callback(_stage.reset, token)
        with fitted(width if table else None):
            yield buffer
    text = buffer.getvalue()
    if not table:
        stream.write(text)
        return
    text = fit_lines(text, width)
    if terminal:
        from together_billing import _terminal  # noqa: PLC0415 - rich, on a terminal only

        _terminal.write(stream, text)
    else:
        stream.write(text)
