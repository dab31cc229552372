"""The exceptions together-billing raises.

Every error is a :class:`BillingError`. Each subclass also inherits the builtin
exception a caller would naturally catch (``ValueError``, ``TypeError``,
``LookupError``), and carries the offending ``field``, ``value``, what would
have been ``expected`` and where it was (``location``, or ``""``) as attributes,
so a program can react without parsing the message. They share one constructor,
:class:`BillingError`'s.

>>> from together_billing import Money
>>> try:
...     Money(1.5)
... except BillingError as error:
...     print(error.field, error.value)
amount 1.5
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing: the CLI's start-up imports this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BillingError",
    "CurrencyMismatch",
    "InvalidArgument",
    "InvalidResponse",
    "InvalidScenario",
    "InvalidTimeline",
    "MissingDependency",
    "NaiveDatetimeError",
    "UnknownPrice",
]


def shown(value: Any, *, limit: int = 200) -> str:
    """``repr(value)`` for a message: at most ``limit`` characters, never raising.

    A 5,000-digit integer cannot even be turned into text by default; a long
    string would bury the message.

    >>> shown(10**5000)
    '<an integer of 5001 digits>'
    >>> shown("x" * 100, limit=12)
    "'xxxxxxxx..."
    """
    try:
        text = repr(value)
    except ValueError:
        if isinstance(value, int):
            import decimal  # noqa: PLC0415 - only here: the CLI's start-up imports this module

            digits = decimal.Decimal(value).adjusted() + 1
            return f"<an integer of {digits} digits>"
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: How many of a document's problems an :class:`InvalidScenario` message lists.
_SHOWN_ERRORS = 20


class BillingError(Exception):
    """Base class of every error raised by together-billing, and their one constructor.

    ``field`` names what was wrong, ``value`` is what was given, ``expected`` says
    what would be valid and ``location`` where the problem is (a scenario's
    ``events[3]``, a catalog file, the event being applied; ``""`` when the field
    says it all). Without a ``message``, it is
    ``"{location}: {field}={value!r} is not valid; expected {expected}"``; with one
    alone (``BillingError("...")``, as for any exception) the parts are empty.

    >>> error = BillingError(
    ...     field="replicas", value=-1, expected="an integer >= 0", location="events[2]"
    ... )
    >>> print(error)
    events[2]: replicas=-1 is not valid; expected an integer >= 0
    >>> error.field, error.value, error.expected, error.location
    ('replicas', -1, 'an integer >= 0', 'events[2]')
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str = "",
        value: Any = None,
        expected: str = "",
        location: str = "",
        **builtin: Any,
    ) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.location = location
        if message is None:
            where = f"{location}: " if location else ""
            message = f"{where}{field}={shown(value)} is not valid; expected {expected}"
        super().__init__(message, **builtin)


class InvalidArgument(BillingError, ValueError):
    """A value given to a constructor or function is not valid.

    ``field`` names the argument, ``value`` is what was given and ``expected``
    says what would be valid; ``context`` (the ``location``) says where, if the
    field does not.
    """

    def __init__(self, field: str, value: Any, expected: str, *, context: str = "") -> None:
        super().__init__(field=field, value=value, expected=expected, location=context)


class NaiveDatetimeError(InvalidArgument):
    """A datetime without a timezone was given where an instant is needed."""

    def __init__(self, field: str, value: Any, *, context: str = "") -> None:
        super().__init__(
            field,
            value,
            "a timezone-aware instant (for example 2025-11-01T00:00:00Z or a datetime "
            "with tzinfo); naive datetimes are ambiguous and rejected",
            context=context,
        )


class CurrencyMismatch(BillingError, TypeError):
    """Two amounts in different currencies were combined."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(
            f"cannot combine amounts in {left!r} and {right!r}; convert one of them first",
            field="currency",
            value=(left, right),
            expected="amounts in the same currency",
        )


class InvalidTimeline(BillingError, ValueError):
    """An event cannot be applied to the state the replay has reached.

    ``event`` is the offending event (its repr is the ``location``); nothing of the
    replay is kept when this is raised.
    """

    def __init__(self, event: Any, field: str, value: Any, expected: str) -> None:
        self.event = event
        super().__init__(field=field, value=value, expected=expected, location=repr(event))


class UnknownPrice(BillingError, LookupError):
    """The price catalog has no rate for what is being charged at that instant."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        message = f"no price for {field}={shown(value)}; expected {expected}"
        super().__init__(message, field=field, value=value, expected=expected)


def _listed(source: str, errors: list[tuple[str, str]], what: str, limit: int | None) -> str:
    """``"{source} is not {what}:"`` and one line per ``(location, message)``, up to ``limit``."""
    lines = "\n".join(f"  {loc}: {message}" for loc, message in errors[:limit])
    if limit is not None and len(errors) > limit:
        lines += f"\n  ... and {len(errors) - limit} more problem(s)"
    return f"{source} is not {what}:\n{lines}"


class InvalidScenario(BillingError, ValueError):
    """A scenario file or document does not validate.

    ``errors`` holds one ``(location, message)`` pair per problem found; ``field``
    and ``location`` are the first problem's location, ``value`` the source.
    """

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        first = errors[0][0] if errors else ""
        super().__init__(
            _listed(source, errors, "a valid scenario", _SHOWN_ERRORS),
            field=first,
            value=source,
            expected="a scenario matching `together-billing schema`",
            location=first,
        )


class MissingDependency(BillingError, ImportError):
    """An optional feature needs a package that is not installed.

    ``name`` (as for any ``ImportError``) and ``field`` are the missing package,
    ``value`` is the function that needs it and ``expected`` says how to install it
    through the library's extra.
    """

    def __init__(self, package: str, *, needed_by: str, extra: str) -> None:
        expected = f"pip install 'together-billing[{extra}]'"
        message = f"{needed_by} needs {package}: {expected}"
        super().__init__(message, field=package, value=needed_by, expected=expected, name=package)


class InvalidResponse(BillingError, ValueError):
    """A response of Together's API (live, or saved as JSON) does not have the expected shape.

    ``value`` names the response (an endpoint or a file), ``errors`` holds one
    ``(location, message)`` pair per problem, and ``field`` and ``location`` are the
    first location.
    """

    def __init__(self, source: str, errors: list[tuple[str, str]], *, expected: str) -> None:
        self.errors = errors
        first = errors[0][0] if errors else ""
        message = _listed(source, errors, expected, None)
        super().__init__(message, field=first, value=source, expected=expected, location=first)
