"""Reading scenario and catalog documents: one bounded, decoding-checked reader.

Every file the library reads (scenarios, catalogs, catalog files a scenario names)
goes through :func:`read_document`. It

* reads only regular files, and at most :data:`MAX_DOCUMENT_BYTES` of JSON or
  :data:`MAX_YAML_BYTES` of YAML (a device or an endless file is refused, not read
  until memory runs out);
* decodes strict UTF-8 (a UTF-8 byte-order mark is allowed); binary or UTF-16 files
  are refused with the offset of the first bad byte;
* parses JSON (by the ``.json`` suffix) or YAML (libyaml's ``CSafeLoader`` where
  installed, else PyYAML's pure-Python ``SafeLoader``), with numbers kept exact:
  a number with a fraction or an exponent becomes a :class:`~decimal.Decimal`,
  never a float; an integer longer than :data:`MAX_NUMBER_CHARS` characters is refused;
* refuses a key given twice in one mapping (the last one would silently win), JSON's
  non-standard ``NaN`` and ``Infinity``, and nesting deeper than :data:`MAX_DEPTH`;
* never echoes the file's content in an error: a problem is reported by line and
  column only, so a scenario cannot make the tool print another file.

The shared field types (:data:`Amount`, :data:`Count`, :data:`Instant`, :data:`Flag`)
are what every number, instant and flag of every document section is validated
with: floats, booleans where numbers belong, NaN, infinities and magnitudes beyond
:data:`~together_billing.money.INPUT_DIGITS` are refused with the same message.
:func:`problems` turns a pydantic error into ``(location, message)`` pairs whose
location reads ``events[3].replicas`` and whose message shows the value given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final

import pydantic
import pydantic_core
import yaml

from together_billing.errors import InvalidArgument, InvalidScenario, shown
from together_billing.money import input_decimal, input_integer
from together_billing.time import instant

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_NUMBER_CHARS",
    "MAX_YAML_BYTES",
    "Amount",
    "Count",
    "Flag",
    "Instant",
    "decode",
    "huge_integer",
    "location",
    "parse",
    "problems",
    "read_bytes",
    "read_document",
]

#: The largest JSON document read, in bytes (64 MiB: about 570,000 events).
MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
#: The largest YAML document read, in bytes (16 MiB: about 160,000 events). Loading YAML
#: builds a node per scalar first and takes about six times the memory of JSON.
MAX_YAML_BYTES: Final = 16 * 1024 * 1024
#: The deepest nesting of lists and mappings a document may have.
MAX_DEPTH: Final = 100
#: The longest number literal read (a longer one is refused before it is converted).
MAX_NUMBER_CHARS: Final = 60

_BOMS: Final = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


class _Problem(Exception):
    """A problem found while parsing, with its line and column (1-based) if known.

    ``message`` may quote a key or a number of the document; ``quiet`` never does.
    """

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        quiet: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.quiet = quiet or message
        self.line = line
        self.column = column

    def text(self, *, quiet: bool = False) -> str:
        message = self.quiet if quiet else self.message
        if self.line is None:
            return message
        return f"line {self.line}, column {self.column}: {message}"


def read_bytes(path: Path, *, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    >>> read_bytes(Path("/dev/zero"))
    Traceback (most recent call last):
    ...
    together_billing.errors.InvalidArgument: path='/dev/zero' is not valid; expected a \
regular file (this is a device, a pipe, a socket or a directory)
    """
    try:
        with path.open("rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InvalidArgument(
                    "path",
                    str(path),
                    "a regular file (this is a device, a pipe, a socket or a directory)",
                )
            data = handle.read(limit + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidArgument("path", str(path), f"a readable file ({reason})") from None
    if len(data) > limit:
        raise InvalidArgument(
            "path",
            str(path),
            f"a document of at most {limit:,} bytes (MAX_DOCUMENT_BYTES for JSON, "
            "MAX_YAML_BYTES for YAML); write a large timeline as JSON, split it, or replay "
            "it from Python with TokenUsageBatch events",
        )
    return data


def decode(data: bytes, *, source: str) -> str:
    """Strict UTF-8 text (an initial UTF-8 byte-order mark is dropped)."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise InvalidScenario(
                source,
                [("(document)", f"the file is {name} text; save it as UTF-8")],
            )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problem = (
            f"byte {error.start} is not UTF-8 text; expected a UTF-8 YAML or JSON document, "
            "not a binary file"
        )
        raise InvalidScenario(source, [("(document)", problem)]) from None
    if "\x00" in text:
        at = text.index("\x00")
        raise InvalidScenario(
            source,
            [("(document)", f"character {at} is a NUL byte; expected a text document")],
        )
    return text


# -- YAML --------------------------------------------------------------------------------------


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """A safe YAML loader: exact numbers, duplicate keys refused."""


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _too_long(what: str, length: int) -> str:
    return (
        f"{what} of {length} characters; expected a number of at most "
        f"{MAX_NUMBER_CHARS} characters (MAX_NUMBER_CHARS)"
    )


def _yaml_decimal(loader: Any, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    text = str(node.value).replace("_", "").strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise _Problem(_too_long("a number", len(text)), *_mark(node))
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    return Decimal(special.get(text.lower(), text))


def _yaml_int(loader: Any, node: yaml.Node) -> int:
    assert isinstance(node, yaml.ScalarNode)
    if len(str(node.value)) > MAX_NUMBER_CHARS:
        raise _Problem(_too_long("an integer", len(str(node.value))), *_mark(node))
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    assert isinstance(value, int)
    return value


def _yaml_mapping(loader: Any, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.MappingNode)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            raise _Problem("a mapping key that is a list or mapping", *_mark(key_node)) from None
        if duplicate:
            raise _Problem(
                f"the key {shown(key)} is given twice in this mapping; keep one",
                *_mark(key_node),
                quiet="a key is given twice in one mapping; keep one",
            )
    return yaml.SafeLoader.construct_yaml_map(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:float", _yaml_decimal)
_Loader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _yaml_mapping)


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        # Only the problem and where it is: the default text quotes the file's content.
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not valid YAML"
        if mark is None:
            raise _Problem(f"not valid YAML: {problem}") from None
        raise _Problem(f"not valid YAML: {problem}", mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as error:
        raise _Problem(f"not valid YAML ({type(error).__name__})") from None


# -- JSON --------------------------------------------------------------------------------------


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Problem(_too_long("an integer", len(text)))
    return int(text)


def _json_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Problem(_too_long("a number", len(text)))
    return Decimal(text)


def _json_constant(text: str) -> Any:
    raise _Problem(f"{text} is not a JSON number; write a finite decimal number")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Problem(
                f"the key {shown(key)} is given twice in one object; keep one",
                quiet="a key is given twice in one object; keep one",
            )
        result[key] = value
    return result


def _load_json(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_float=_json_decimal,
            parse_int=_json_int,
            parse_constant=_json_constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as error:
        raise _Problem(f"not valid JSON: {error.msg}", error.lineno, error.colno) from None


# -- both --------------------------------------------------------------------------------------


def _depth_problem(data: Any) -> str | None:
    """Why ``data`` nests too deeply, or ``None`` (iterative, so it cannot recurse itself)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Sequence[Any] = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return f"lists and mappings nest more than {MAX_DEPTH} levels deep (MAX_DEPTH)"
        stack.extend((child, depth + 1) for child in children)
    return None


def huge_integer(data: Any) -> str | None:
    """The location of an integer too long to print (over 4,300 digits), or ``None``.

    Given from Python, such an integer makes pydantic report an error it cannot
    print; it is refused before validation (iteratively, whatever the nesting).
    """
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > _PRINTABLE_BITS:
                return location(where)
        elif isinstance(value, dict):
            stack.extend((child, (*where, str(key))) for key, child in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((child, (*where, index)) for index, child in enumerate(value))
    return None


# Python refuses to turn an integer of over 4,300 digits into text (about 14,284 bits).
_PRINTABLE_BITS: Final = 14_000


def parse(text: str, *, source: str, json_format: bool, quiet: bool = False) -> Any:
    """The data of a YAML or JSON document, numbers exact; errors carry line and column.

    With ``quiet``, errors quote nothing of the document (not even a key).
    """
    loader: Callable[[str], Any] = _load_json if json_format else _load_yaml
    try:
        data = loader(text)
    except _Problem as problem:
        raise InvalidScenario(source, [("(document)", problem.text(quiet=quiet))]) from None
    except RecursionError:
        deep = f"lists and mappings nest more than {MAX_DEPTH} levels deep (MAX_DEPTH)"
        raise InvalidScenario(source, [("(document)", deep)]) from None
    except (ValueError, ArithmeticError) as error:
        # A value a constructor cannot build (a timestamp out of range, a malformed
        # number): its type, never its text, which could echo the file.
        raise InvalidScenario(
            source, [("(document)", f"a value cannot be read ({type(error).__name__})")]
        ) from None
    deep_problem = _depth_problem(data)
    if deep_problem is not None:
        raise InvalidScenario(source, [("(document)", deep_problem)])
    return data


def read_document(path: Path, *, quiet: bool = False) -> Any:
    """Read a YAML or JSON file (JSON by its ``.json`` suffix) with the checks above.

    With ``quiet``, errors quote nothing of the file (see :func:`parse`).
    """
    source = str(path)
    json_format = path.suffix.lower() == ".json"
    limit = MAX_DOCUMENT_BYTES if json_format else min(MAX_YAML_BYTES, MAX_DOCUMENT_BYTES)
    text = decode(read_bytes(path, limit=limit), source=source)
    return parse(text, source=source, json_format=json_format, quiet=quiet)


# -- locations and messages --------------------------------------------------------------------


def location(parts: Sequence[int | str]) -> str:
    """A pydantic location as it reads in the file: ``events[3].replicas``.

    >>> location(("events", 3, "replicas"))
    'events[3].replicas'
    >>> location(())
    '(document)'
    """
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(document)"


def problems(
    error: pydantic.ValidationError,
    *,
    tags: Callable[[list[int | str]], int] | None = None,
    prefix: Sequence[int | str] = (),
    values: bool = True,
) -> list[tuple[str, str]]:
    """``(location, message)`` pairs of a pydantic error, each message with the value given.

    ``prefix`` is put before each location; ``tags`` says how many parts after a
    location's first parts are a tagged union's tag (the ``scale`` of
    ``events.3.scale.replicas``), to drop. Without ``values``, no value is shown.
    """
    found: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        loc = [*prefix, *item["loc"]]
        if tags is not None:
            loc = _drop_tags(loc, tags)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "not a field here; check its spelling and its indentation"
        elif values and item["type"] != "missing" and isinstance(item.get("input"), _SHOWN):
            message = f"{message} (got {shown(item['input'])})"
        found.append((location(loc), message))
    return found


# Values a message shows; a whole mapping or list given where a value belongs is not shown.
_SHOWN: Final = (str, int, float, Decimal, bool, type(None), dt.datetime, dt.date)


def _drop_tags(loc: list[int | str], tags: Callable[[list[int | str]], int]) -> list[int | str]:
    kept: list[int | str] = []
    index = 0
    while index < len(loc):
        kept.append(loc[index])
        index += 1 + tags(kept)
    return kept


# -- field types -------------------------------------------------------------------------------


def _number(value: Any) -> Decimal:
    try:
        return input_decimal(value)
    except InvalidArgument as error:
        raise pydantic_core.PydanticCustomError("number", error.expected) from None


def _integer(value: Any) -> int:
    try:
        return input_integer(value)
    except InvalidArgument as error:
        raise pydantic_core.PydanticCustomError("integer", error.expected) from None


_INSTANT_EXPECTED: Final = (
    "an ISO 8601 instant with an offset from 1970-01-01T00:00:00Z to before "
    "9000-01-01T00:00:00Z, e.g. 2025-11-01T00:00:00Z"
)


def _instant(value: Any) -> Any:
    if isinstance(value, (str, dt.datetime)):
        try:
            result = instant(value)
        except InvalidArgument as error:
            raise pydantic_core.PydanticCustomError("instant", error.expected) from None
        if 1970 <= result.year < _LAST_YEAR:
            return result
    raise pydantic_core.PydanticCustomError("instant", _INSTANT_EXPECTED)


# The calendar ends in 9998; forecasts and periods after the last instant need room.
_LAST_YEAR: Final = 9000


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise pydantic_core.PydanticCustomError("flag", "true or false")


#: An exact decimal number: money, a rate, a fraction, billions of parameters.
Amount = Annotated[Decimal, pydantic.BeforeValidator(_number)]
#: A whole number (a count of tokens, replicas, GPUs, minutes, TiB, days).
Count = Annotated[int, pydantic.BeforeValidator(_integer)]
#: A timezone-aware instant within the calendar's range.
Instant = Annotated[pydantic.AwareDatetime, pydantic.BeforeValidator(_instant)]
#: ``true`` or ``false`` (no numbers or strings standing for them).
Flag = Annotated[bool, pydantic.BeforeValidator(_flag)]
