"""Usage exports as columns: Arrow tables, Parquet, CSV and Feather files into batches.

Recorded serverless usage comes as tables (one row per request: the resource, the
instant, the tokens). :func:`usage_batches` turns such a table into one
:class:`~together_billing.timeline.TokenUsageBatch` per resource (and per Batch API
flag), sorted by instant, with every check done once per column, vectorised;
:func:`read_usage` reads the file first. Each record is billed exactly as the
equivalent :class:`~together_billing.timeline.TokenUsage` would be (SL1-SL3).

Needs the ``arrow`` extra (``pip install 'together-billing[arrow]'``: pyarrow and
numpy). It wins by a wide margin over reading the same file row by row in Python:
``benchmarks/run.py`` measures both (see the performance page).

Instants are integer microseconds since the Unix epoch or timezone-aware timestamps
(a CSV column of ISO 8601 instants with ``Z`` or an offset is read as such). Naive
timestamps are rejected, as everywhere in the library. Errors name the column, the
row (counted from 1, the header not included) and the file.

>>> import pyarrow as pa
>>> table = pa.table(
...     {
...         "resource": ["chat", "code", "chat"],
...         "at": ["2025-03-01T10:00:00Z", "2025-03-01T09:00:00Z", "2025-03-01T08:00:00Z"],
...         "input_tokens": [1_000, 2_000, 3_000],
...         "output_tokens": [100, 200, 300],
...     }
... )
>>> batches = usage_batches(table)
>>> [(b.resource, len(b), b.input_tokens) for b in batches]
[('chat', 2, (3000, 1000)), ('code', 1, (2000,))]
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from together_billing._columns import timestamps_to_micros
from together_billing.errors import InvalidArgument, MissingDependency
from together_billing.time import instant, to_micros
from together_billing.timeline import TokenUsageBatch

__all__ = ["read_usage", "usage_batches"]

_COUNTS = ("input_tokens", "output_tokens", "cached_input_tokens")
_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
}


def _require(module: str, needed_by: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.partition(".")[0]
        raise MissingDependency(package, needed_by=needed_by, extra="arrow") from None


def read_usage(
    path: str | Path,
    *,
    resource: str = "resource",
    at: str = "at",
    input_tokens: str = "input_tokens",
    output_tokens: str = "output_tokens",
    cached_input_tokens: str | None = None,
    batch: str | None = None,
) -> tuple[TokenUsageBatch, ...]:
    """Read a usage export (``.csv``, ``.parquet``, ``.feather``/``.arrow``) into batches.

    The keyword arguments name the file's columns (see :func:`usage_batches`); only
    those columns are read.
    """
    target = Path(path)
    kind = _FORMATS.get(target.suffix.lower())
    if kind is None:
        raise InvalidArgument(
            "path", str(target), f"a file ending in one of {sorted(_FORMATS)}", context="usage"
        )
    if not target.is_file():
        raise InvalidArgument("path", str(target), "an existing file", context="usage")
    columns = [resource, at, input_tokens, output_tokens]
    columns += [name for name in (cached_input_tokens, batch) if name is not None]
    names = {
        "resource": resource,
        "at": at,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_input_tokens": cached_input_tokens,
        "batch": batch,
    }
    needed_by = "together_billing.columnar.read_usage"
    try:
        if kind == "csv":
            csv = _require("pyarrow.csv", needed_by)
            _check_columns(csv.open_csv(target).schema.names, names, str(target))
            only = csv.ConvertOptions(include_columns=columns)
            table = csv.read_csv(target, convert_options=only)
        elif kind == "parquet":
            parquet = _require("pyarrow.parquet", needed_by)
            _check_columns(parquet.read_schema(target).names, names, str(target))
            table = parquet.read_table(target, columns=columns)
        else:
            feather = _require("pyarrow.feather", needed_by)
            table = feather.read_table(target)
    except (InvalidArgument, MissingDependency):
        raise
    except Exception as error:  # pyarrow's parse errors: say which file, keep the reason
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidArgument(
            "path", str(target), f"a readable {kind} usage export ({reason})", context="usage"
        ) from None
    return usage_batches(
        table,
        resource=resource,
        at=at,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached_input_tokens,
        batch=batch,
        source=str(target),
    )


def _check_columns(present: list[str], names: Mapping[str, str | None], source: str) -> None:
    for role, name in names.items():
        if name is not None and name not in present:
            raise InvalidArgument(
                role, name, f"one of the columns of {source}: {sorted(present)}", context="usage"
            )


def usage_batches(
    table: Any,
    *,
    resource: str = "resource",
    at: str = "at",
    input_tokens: str = "input_tokens",
    output_tokens: str = "output_tokens",
    cached_input_tokens: str | None = None,
    batch: str | None = None,
    source: str = "table",
) -> tuple[TokenUsageBatch, ...]:
    """One :class:`TokenUsageBatch` per resource (and Batch API flag), from columns.

    ``table`` is a pyarrow ``Table``, a pandas ``DataFrame`` or a mapping of column
    names to arrays or lists. The keyword arguments name its columns: ``resource``
    (the id of the ``ServerlessUsage`` resource each row is billed to), ``at``
    (integer microseconds since the epoch, aware timestamps, or ISO 8601 strings with
    an offset), ``input_tokens``, ``output_tokens``, and optionally
    ``cached_input_tokens`` and ``batch`` (booleans: Batch API requests). Rows may be
    in any order: each resource's records are sorted by instant (stably). Batches come
    out sorted by resource id, then by the flag. ``source`` names the table in errors.
    """
    pa: Any = _require("pyarrow", "together_billing.columnar.usage_batches")
    np: Any = _require("numpy", "together_billing.columnar.usage_batches")
    frame = _as_table(table, pa, source)
    names = {
        "resource": resource,
        "at": at,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_input_tokens": cached_input_tokens,
        "batch": batch,
    }
    _check_columns(frame.column_names, names, source)
    if frame.num_rows == 0:
        return ()
    micros = _instants(frame.column(at), pa, np, at, source)
    counts = {
        role: _counts(frame.column(name), pa, np, name, source)
        for role, name in names.items()
        if role in {"input_tokens", "output_tokens", "cached_input_tokens"} and name is not None
    }
    if "cached_input_tokens" in counts:
        above = counts["cached_input_tokens"] > counts["input_tokens"]
        if above.any():
            row = int(np.flatnonzero(above)[0])
            raise _row_error(
                str(cached_input_tokens),
                row,
                int(counts["cached_input_tokens"][row]),
                f"at most {input_tokens} ({int(counts['input_tokens'][row])})",
                source,
            )
    ids, codes = _resources(frame.column(resource), pa, np, str(resource), source)
    groups = codes * 2
    if batch is not None:
        groups += _flags(frame.column(batch), pa, np, batch, source)
    if len(ids) < 2**14:
        groups = groups.astype(np.uint16)  # numpy sorts 16-bit keys by radix: much faster
    # By group, then by instant, stably: two stable sorts of integers (exports are usually
    # in time order already, and then one is enough).
    if len(micros) > 1 and bool((np.diff(micros) < 0).any()):
        by_time = np.argsort(micros, kind="stable")
        order = by_time[np.argsort(groups[by_time], kind="stable")]
    else:
        order = np.argsort(groups, kind="stable")
    groups = groups[order]
    columns = [micros[order], *(counts[role][order] for role in _COUNTS if role in counts)]
    cuts = [0, *(np.flatnonzero(np.diff(groups)) + 1).tolist(), len(order)]
    found = []
    for lo, hi in itertools.pairwise(cuts):
        group = int(groups[lo])
        at, inputs, outputs, *cached = (column[lo:hi] for column in columns)
        found.append(
            TokenUsageBatch(
                ids[group // 2],
                at,
                inputs,
                outputs,
                cached[0] if cached else None,
                bool(group % 2),
            )
        )
    return tuple(found)


def _as_table(table: Any, pa: Any, source: str) -> Any:
    if isinstance(table, pa.Table):
        return table
    if type(table).__module__.partition(".")[0] == "pandas":
        return pa.Table.from_pandas(table, preserve_index=False)
    if isinstance(table, Mapping):
        try:
            return pa.table(dict(table))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
            raise InvalidArgument(
                "table", source, f"columns of one type each ({error})", context="usage"
            ) from None
    raise InvalidArgument(
        "table",
        type(table).__name__,
        "a pyarrow Table, a pandas DataFrame or a mapping of column names to columns",
        context="usage",
    )


def _row_error(column: str, row: int, value: object, expected: str, source: str) -> InvalidArgument:
    return InvalidArgument(column, value, expected, context=f"{source}, row {row + 1}")


def _no_nulls(column: Any, name: str, source: str) -> None:
    if column.null_count:
        row = int(column.is_null().to_numpy(zero_copy_only=False).nonzero()[0][0])
        raise _row_error(name, row, None, "a value in every row", source)


def _instants(column: Any, pa: Any, np: Any, name: str, source: str) -> Any:
    _no_nulls(column, name, source)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            column = column.cast(pa.timestamp("us", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Arrow refuses naive or unusual text: read each row as the library does, which
            # names the first bad row, or accepts a form Arrow does not know.
            return np.array(
                [
                    to_micros(instant(text, field=f"{name} ({source}, row {row + 1})"))
                    for row, text in enumerate(column.to_pylist())
                ],
                dtype=np.int64,
            )
        kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise _row_error(
                name,
                0,
                str(column[0]),
                "timezone-aware timestamps (naive ones are ambiguous and rejected)",
                source,
            )
        micros, row = timestamps_to_micros(column.cast(pa.int64()).to_numpy(), kind.unit, np)
        if row is not None:
            raise _row_error(
                name, row, str(column[row]), "an instant in whole microseconds", source
            )
        return micros
    if pa.types.is_integer(kind):
        return column.cast(pa.int64()).to_numpy()
    raise _row_error(
        name, 0, f"<{kind} column>", "integer microseconds or timezone-aware instants", source
    )


def _counts(column: Any, pa: Any, np: Any, name: str, source: str) -> Any:
    _no_nulls(column, name, source)
    if not pa.types.is_integer(column.type):
        raise _row_error(name, 0, f"<{column.type} column>", "a column of integers", source)
    values = column.cast(pa.int64()).to_numpy()
    negative = values < 0
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise _row_error(name, row, int(values[row]), "an integer >= 0", source)
    return values


def _resources(column: Any, pa: Any, np: Any, name: str, source: str) -> tuple[list[str], Any]:
    """The sorted resource ids and each row's index among them."""
    _no_nulls(column, name, source)
    if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type, pa):
        column = column.cast(column.type.value_type)  # categorical ids, as Parquet keeps them
    if not _is_text(column.type, pa):
        raise _row_error(name, 0, f"<{column.type} column>", "resource ids (text)", source)
    ids = sorted(column.unique().to_pylist())
    blank = next((text for text in ids if not text.strip()), None)
    if blank is not None:
        row = column.to_pylist().index(blank)
        raise _row_error(name, row, blank, "the id of a resource", source)
    compute = _require("pyarrow.compute", "together_billing.columnar.usage_batches")
    codes = compute.index_in(column, value_set=pa.array(ids, type=column.type))
    return ids, codes.to_numpy().astype(np.int64)


def _is_text(kind: Any, pa: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _flags(column: Any, pa: Any, np: Any, name: str, source: str) -> Any:
    _no_nulls(column, name, source)
    if not pa.types.is_boolean(column.type):
        raise _row_error(name, 0, f"<{column.type} column>", "booleans (true/false)", source)
    return column.to_numpy(zero_copy_only=False).astype(np.int64)
