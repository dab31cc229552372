"""Plain-text tables, the one layout every command and report prints."""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["columns"]


def columns(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """Rows as aligned lines, indented by two spaces; columns in ``right`` align right.

    >>> columns([["a", "1"], ["bbb", "22"]], right={1})
    ['  a     1', '  bbb  22']
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
