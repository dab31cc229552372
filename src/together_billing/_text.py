"""Plain-text tables, the one layout every command and report prints, fitted to a width.

``columns`` lays rows out as aligned columns. By default nothing limits the width: that
is the deterministic output of pipes, files and the docs' checked examples. Inside
``fitted(width)`` (the CLI sets it on a terminal, or with ``--width``), a table wider
than ``width`` shrinks its widest text column first and wraps its cells onto
continuation lines (numbers, the right-aligned columns, are never cut), and
``fit_lines`` wraps any other line that is too long, indenting the continuation.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Collection, Sequence

__all__ = ["MIN_WIDTH", "columns", "fit_lines", "fitted"]

#: The narrowest width tables are fitted to.
MIN_WIDTH = 40
#: A text column narrows to its longest word, or to this if the word is longer.
_MAX_FLOOR = 12
_HYPHENATED = re.compile(r"[^-]*-+|[^-]+")
_INDENT = "  "
_GAP = "  "
#: A last text column narrower than this goes under its row, indented by _STACK_INDENT.
_STACK_BELOW = 20
_STACK_INDENT = "    "

_width: contextvars.ContextVar[int | None] = contextvars.ContextVar("width", default=None)


class fitted:  # noqa: N801 - used as a function: `with fitted(80):`
    """Lay out the tables rendered in this block for ``width`` columns (``None``: no limit).

    A class rather than ``contextlib.contextmanager``: this module loads on every start
    of the CLI, contextlib need not.
    """

    def __init__(self, width: int | None) -> None:
        self._width_set = width
        self._token: contextvars.Token[int | None] | None = None

    def __enter__(self) -> None:
        self._token = _width.set(self._width_set)

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None
        _width.reset(self._token)


def columns(
    rows: Sequence[Sequence[str]], right: Collection[int] = (), *, keep: Collection[int] = ()
) -> list[str]:
    """Rows as aligned lines, indented by two spaces; columns in ``right`` align right.

    >>> columns([["a", "1"], ["bbb", "22"]], right={1})
    ['  a     1', '  bbb  22']

    Within ``fitted(width)``, a table that is too wide narrows its widest columns and
    wraps their cells: text at spaces and hyphens, cutting a word only if it is longer
    than 12 characters; numbers (the right-aligned columns) and the columns in ``keep``
    (instants, ids) at spaces only, never cutting a word:

    >>> rows = [["at", "detail", "amount"], ["10:00", "forecast to run out at 11:00", "$1.25"]]
    >>> with fitted(30):
    ...     print("\\n".join(columns(rows, right={2})))
      at     detail        amount
      10:00  forecast to    $1.25
             run out at
             11:00

    A last text column that would be left narrower than 20 characters goes under its
    row instead, indented, across the whole width:

    >>> rows = [
    ...     ["at", "resource", "detail"],
    ...     ["2025-11-03T11:24:49Z", "serving", "stopped: credits exhausted (P-EXHAUST)"],
    ... ]
    >>> with fitted(40):
    ...     print("\\n".join(columns(rows, keep={0})))
      at                    resource
          detail
      2025-11-03T11:24:49Z  serving
          stopped: credits exhausted
          (P-EXHAUST)
    """
    count = len(rows[0])
    widths = [max(len(row[i]) for row in rows) for i in range(count)]
    whole = {*right, *keep}
    limit = _width.get()
    if limit is None:
        return _lines(rows, widths, right, whole)
    floors = [_floor(rows, i, i in whole) for i in range(count)]
    fitted_widths = _shrink(widths, floors, limit - len(_INDENT) - len(_GAP) * (count - 1))
    last = count - 1
    if count == 1 or last in whole or fitted_widths[last] >= min(widths[last], _STACK_BELOW):
        return _lines(rows, fitted_widths, right, whole)
    # The last column goes under each row: the others share the width without it.
    heads = _shrink(widths[:last], floors[:last], limit - len(_INDENT) - len(_GAP) * (last - 1))
    below = limit - len(_INDENT) - len(_STACK_INDENT)
    out: list[str] = []
    for row in rows:
        out.extend(_lines([row[:last]], heads, right, whole))
        if row[last]:
            out.extend(_INDENT + _STACK_INDENT + part for part in _wrap(row[last], below, cut=True))
    return out


def _lines(
    rows: Sequence[Sequence[str]], widths: Sequence[int], right: Collection[int], whole: set[int]
) -> list[str]:
    """The rows laid out in columns of ``widths``, cells wrapped onto continuation lines."""
    out: list[str] = []
    for row in rows:
        cells = [
            _wrap(cell, widths[i], cut=i not in whole) if len(cell) > widths[i] else [cell]
            for i, cell in enumerate(row)
        ]
        for depth in range(max(len(parts) for parts in cells)):
            parts = [cell[depth] if depth < len(cell) else "" for cell in cells]
            out.append(
                _INDENT
                + _GAP.join(
                    part.rjust(widths[i]) if i in right else part.ljust(widths[i])
                    for i, part in enumerate(parts)
                ).rstrip()
            )
    return out


def _words(text: str, *, hyphens: bool) -> list[str]:
    """The pieces a cell may wrap between: at spaces, and after hyphens in text."""
    if not hyphens:
        return text.split()
    return [piece for word in text.split() for piece in _HYPHENATED.findall(word)]


def _floor(rows: Sequence[Sequence[str]], column: int, whole: bool) -> int:
    """How narrow a column may become: its longest word (or piece, at most 12, in text)."""
    pieces = (piece for row in rows for piece in _words(row[column], hyphens=not whole))
    longest = max(map(len, pieces), default=1)
    return longest if whole else min(longest, _MAX_FLOOR)


def _wrap(cell: str, width: int, *, cut: bool) -> list[str]:
    import textwrap  # noqa: PLC0415 - only when fitting

    return textwrap.wrap(cell, width, break_long_words=cut, break_on_hyphens=cut) or [""]


def _shrink(widths: list[int], floors: list[int], room: int) -> list[int]:
    """Narrow the widest column, one character at a time, until the table fits."""
    widths = list(widths)
    while sum(widths) > room:
        candidates = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not candidates:
            break  # as narrow as it goes; fit_lines wraps what is left
        widest = max(candidates, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
    return widths


def fit_lines(text: str, width: int | None) -> str:
    """Wrap each line of ``text`` longer than ``width``, continuing under its indent + 2.

    >>> print(fit_lines("  TOTAL over 12 period(s) of the year: $15950.01", 30))
      TOTAL over 12 period(s) of
        the year: $15950.01
    """
    if width is None:
        return text
    import textwrap  # noqa: PLC0415 - only when fitting

    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out.extend(
            textwrap.wrap(
                line.strip(),
                width,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
            )
        )
    return "\n".join(out)
