"""Machinery shared by the readers of Together's API responses (usage, prices).

Responses are JSON. Every fractional number is read as Decimal (``parse_float``),
decimal strings are read as Decimal, and a Python float is refused: an SDK float
reaches the library only through its JSON text, i.e. through ``str``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pendulum
import pydantic

from together_billing.errors import InvalidArgument, InvalidResponse

__all__ = [
    "DecimalText",
    "ResponseModel",
    "dumps",
    "iso",
    "loads",
    "read_json",
    "response_errors",
]


def _decimal_text(value: object) -> Decimal:
    """A decimal string (or a Decimal or int read from JSON) as Decimal; floats are refused."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a decimal string") from None
        if result.is_finite():
            return result
    raise ValueError(f"{value!r} is not a decimal number or string (floats are refused)")


DecimalText = Annotated[Decimal, pydantic.BeforeValidator(_decimal_text)]


class ResponseModel(pydantic.BaseModel):
    """A response shape: newer API versions may add fields, so unknown fields are ignored."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def response_errors(error: pydantic.ValidationError) -> list[tuple[str, str]]:
    """``(location, message)`` pairs of a pydantic error, for :class:`InvalidResponse`."""
    return [
        (".".join(str(part) for part in item["loc"]) or "(document)", item["msg"])
        for item in error.errors()
    ]


def loads(text: str, *, source: str) -> Any:
    """Parse JSON text with every fractional number as Decimal."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidResponse(
            source, [(f"line {error.lineno}", error.msg)], expected="a JSON document"
        ) from None


def read_json(path: Path) -> Any:
    """A JSON file, with every fractional number read as Decimal (never float)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument("path", str(path), f"a readable file ({error.strerror})") from None
    return loads(text, source=str(path))


def iso(at: pendulum.DateTime) -> str:
    """An instant as ISO 8601 with ``Z``."""
    return at.isoformat().replace("+00:00", "Z")


def dumps(value: Any) -> str:
    """JSON text (indented, keys in their given order) with Decimals written digit for digit.

    >>> print(dumps({"cost": Decimal("0.30"), "rows": [1, None]}))
    {
      "cost": 0.30,
      "rows": [
        1,
        null
      ]
    }
    <BLANKLINE>
    """
    return _dump(value, 0) + "\n"


def _dump(value: Any, depth: int) -> str:
    pad = "  " * (depth + 1)
    end = "  " * depth
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dump(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{pad}{_dump(v, depth + 1)}" for v in value) + f"\n{end}]"
    return json.dumps(value)
