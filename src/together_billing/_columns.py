"""Columns of integers from arrays (numpy, Arrow, pandas), checked vectorised.

A :class:`~together_billing.timeline.TokenUsageBatch` stores its columns as tuples of
Python ints. Given a list, each element is checked in Python; given an array whose
type already says "integers" (a numpy ``int64`` array, an Arrow ``int64`` array, a
pandas integer Series), the checks are one vectorised pass (minimum, order) and the
conversion one ``tolist()``. Arrays are recognised by duck typing, so this module
imports numpy only when it is handed an array (``import together_billing`` stays cheap).

Instants in an array are integer microseconds since the Unix epoch, or timezone-aware
timestamps (Arrow ``timestamp[unit, tz=...]``, pandas ``datetime64[unit, tz]``).
Naive timestamps (numpy ``datetime64``, Arrow timestamps without a time zone) are
rejected like naive datetimes, and timestamps finer than a microsecond must be whole
microseconds: nothing is truncated silently.
"""

from __future__ import annotations

import array
import importlib
import itertools
import operator
from collections.abc import Sequence
from typing import Any

from together_billing.errors import InvalidArgument, NaiveDatetimeError
from together_billing.time import from_micros

__all__ = [
    "array_column",
    "first_above",
    "first_decrease",
    "is_array",
    "is_int_array",
    "only_ints",
    "order_error",
    "timestamps_to_micros",
]

_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


def is_array(value: object) -> bool:
    """True for numpy arrays, Arrow arrays and pandas Series (not for lists or tuples)."""
    module = type(value).__module__.partition(".")[0]
    return module in {"numpy", "pyarrow", "pandas"} and hasattr(value, "__len__")


def _numpy(value: Any, *, field: str, context: str, instants: bool) -> Any:
    """``value`` as a one-dimensional numpy array of int64 (micros for instants)."""
    import numpy as np  # noqa: PLC0415 - only when an array is given

    module = type(value).__module__.partition(".")[0]
    if module == "pyarrow":
        return _from_arrow(value, field=field, context=context, instants=instants)
    if module == "pandas":
        dtype = value.dtype
        zone = getattr(dtype, "tz", None)
        if instants and zone is not None:
            unit = getattr(dtype, "unit", "ns")
            return _scaled(np.asarray(value.array.asi8), unit, field=field, context=context, np=np)
        if getattr(dtype, "kind", "") == "i" and value.hasnans:
            _refuse_missing(field, context)
        value = value.to_numpy()
    array = np.asarray(value)
    if array.ndim != 1:
        raise InvalidArgument(
            field, f"<array of shape {array.shape}>", "a one-dimensional column", context=context
        )
    kind = array.dtype.kind
    if kind == "M":
        raise NaiveDatetimeError(field, f"<numpy {array.dtype} column>", context=context)
    if kind not in "iu":
        what = "integer microseconds or aware timestamps" if instants else "integers"
        raise InvalidArgument(
            field, f"<{array.dtype} column>", f"a column of {what}", context=context
        )
    if kind == "u" and array.dtype.itemsize == 8 and len(array) and array.max() > 2**62:
        raise InvalidArgument(
            field, int(array.max()), "values that fit a signed 64-bit integer", context=context
        )
    return array.astype(np.int64, copy=False)


def _refuse_missing(field: str, context: str) -> None:
    raise InvalidArgument(
        field, "<column with missing values>", "a value in every row", context=context
    )


def timestamps_to_micros(raw: Any, unit: str, np: Any) -> tuple[Any, int | None]:
    """Timestamps counted in ``unit`` since the epoch (an int64 numpy array), as microseconds.

    Returns the microseconds and ``None``, or, when a timestamp is not a whole number of
    microseconds (nothing is truncated silently), ``None`` and the index of the first such
    timestamp, for the caller to name in its error. The one converter of the library's
    array and table readers (``TokenUsageBatch`` columns and ``together_billing.columnar``).
    """
    if unit == "ns":
        partial = raw % 1_000 != 0
        if len(raw) and bool(partial.any()):
            return None, int(np.flatnonzero(partial)[0])
        return raw // 1_000, None
    return raw * _UNITS[unit], None


def _scaled(raw: Any, unit: str, *, field: str, context: str, np: Any) -> Any:
    """Timestamps counted in ``unit`` since the epoch, as microseconds (exact only)."""
    micros, index = timestamps_to_micros(raw, unit, np)
    if index is not None:
        raise InvalidArgument(
            f"{field}[{index}]",
            int(raw[index]),
            "an instant in whole microseconds (nanoseconds are not billed)",
            context=context,
        )
    return micros


def _from_arrow(value: Any, *, field: str, context: str, instants: bool) -> Any:
    import numpy as np  # noqa: PLC0415 - only when an array is given

    # The value is an Arrow array, so pyarrow is installed (it ships no type hints).
    pa: Any = importlib.import_module("pyarrow")

    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if value.null_count:
        _refuse_missing(field, context)
    kind = value.type
    if pa.types.is_timestamp(kind):
        if not instants:
            raise InvalidArgument(
                field, f"<{kind} column>", "a column of integers", context=context
            )
        if kind.tz is None:
            raise NaiveDatetimeError(field, f"<Arrow {kind} column>", context=context)
        raw = value.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return _scaled(raw, kind.unit, field=field, context=context, np=np)
    if not pa.types.is_integer(kind):
        what = "integer microseconds or aware timestamps" if instants else "integers"
        raise InvalidArgument(field, f"<{kind} column>", f"a column of {what}", context=context)
    return _numpy(
        value.to_numpy(zero_copy_only=False), field=field, context=context, instants=False
    )


def array_column(
    value: object, *, field: str, context: str, instants: bool = False
) -> tuple[int, ...]:
    """An integer column given as an array, checked vectorised, as a tuple of ints.

    Integers must be ``>= 0``; instants (``instants=True``) must be in non-decreasing
    order. A failing element is named by its index, as for lists.
    """
    import numpy as np  # noqa: PLC0415 - only when an array is given

    array = _numpy(value, field=field, context=context, instants=instants)
    if len(array) == 0:
        return ()
    if instants:
        steps = np.diff(array)
        if len(steps) and int(steps.min()) < 0:
            index = int(np.flatnonzero(steps < 0)[0]) + 1
            raise order_error(field, index, int(array[index]), int(array[index - 1]), context)
    elif int(array.min()) < 0:
        index = int(np.flatnonzero(array < 0)[0])
        raise InvalidArgument(
            f"{field}[{index}]", int(array[index]), "an integer >= 0", context=context
        )
    return tuple(array.tolist())


def order_error(
    field: str, index: int, micros: int, previous: int, context: str
) -> InvalidArgument:
    """The error for an instant (``micros``) before the one preceding it in its column."""
    return InvalidArgument(
        f"{field}[{index}]",
        from_micros(micros).isoformat(),
        f"instants in non-decreasing order (after {from_micros(previous).isoformat()})",
        context=context,
    )


#: ``array.array`` type codes whose items are always Python ints.
_INT_TYPECODES = frozenset("bBhHiIlLqQ")


def is_int_array(value: object) -> bool:
    """Whether ``value`` is an ``array.array`` of integers: its type guarantees every item
    is an ``int``, so no element needs looking at for that (the range still does)."""
    return isinstance(value, array.array) and value.typecode in _INT_TYPECODES


def only_ints(column: Sequence[object]) -> bool:
    """Whether every element is exactly an ``int`` (not a bool), looked at in C."""
    return set(map(type, column)) <= {int}


def first_decrease(values: Sequence[int]) -> int | None:
    """The index of the first value below the one before it, or ``None`` if in order.

    One pass in C over the pairs; the index is looked for only when something is wrong.
    """
    if all(map(operator.le, values, itertools.islice(values, 1, None))):
        return None
    return next(i for i in range(1, len(values)) if values[i] < values[i - 1])


def first_above(values: Sequence[int], limits: Sequence[int]) -> int | None:
    """The index of the first value above its limit, or ``None`` (one pass in C)."""
    if not any(map(operator.gt, values, limits)):
        return None
    pairs = enumerate(zip(values, limits, strict=True))
    return next(i for i, (value, limit) in pairs if value > limit)
