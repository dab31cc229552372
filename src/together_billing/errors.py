"""The exceptions together-billing raises.

Every error is a :class:`BillingError`. Each subclass also inherits the builtin
exception a caller would naturally catch (``ValueError``, ``TypeError``,
``LookupError``), and carries the offending ``field``, ``value`` and what would
have been ``expected`` as attributes, so a program can react without parsing the
message.

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
    """Base class of every error raised by together-billing."""


class InvalidArgument(BillingError, ValueError):
    """A value given to a constructor or function is not valid.

    ``field`` names the argument, ``value`` is what was given and ``expected``
    says what would be valid.
    """

    def __init__(self, field: str, value: Any, expected: str, *, context: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        where = f"{context}: " if context else ""
        msg = f"{where}{field}={shown(value)} is not valid; expected {expected}"
        super().__init__(msg)


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
        self.field = "currency"
        self.value = (left, right)
        self.expected = "amounts in the same currency"
        msg = f"cannot combine amounts in {left!r} and {right!r}; convert one of them first"
        super().__init__(msg)


class InvalidTimeline(BillingError, ValueError):
    """An event cannot be applied to the state the replay has reached.

    ``event`` is the offending event; nothing of the replay is kept when this
    is raised.
    """

    def __init__(self, event: Any, field: str, value: Any, expected: str) -> None:
        self.event = event
        self.field = field
        self.value = value
        self.expected = expected
        msg = f"{event!r}: {field}={shown(value)} is not valid; expected {expected}"
        super().__init__(msg)


class UnknownPrice(BillingError, LookupError):
    """The price catalog has no rate for what is being charged at that instant."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        msg = f"no price for {field}={shown(value)}; expected {expected}"
        super().__init__(msg)


class InvalidScenario(BillingError, ValueError):
    """A scenario file or document does not validate.

    ``errors`` holds one ``(location, message)`` pair per problem found.
    """

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.field = errors[0][0] if errors else ""
        self.value = source
        self.expected = "a scenario matching `together-billing schema`"
        self.errors = errors
        lines = "\n".join(f"  {loc}: {message}" for loc, message in errors[:_SHOWN_ERRORS])
        if len(errors) > _SHOWN_ERRORS:
            lines += f"\n  ... and {len(errors) - _SHOWN_ERRORS} more problem(s)"
        msg = f"{source} is not a valid scenario:\n{lines}"
        super().__init__(msg)


class MissingDependency(BillingError, ImportError):
    """An optional feature needs a package that is not installed.

    ``name`` (as for any ``ImportError``) and ``field`` are the missing package,
    ``value`` is the function that needs it and ``expected`` says how to install it
    through the library's extra.
    """

    def __init__(self, package: str, *, needed_by: str, extra: str) -> None:
        self.field = package
        self.value = needed_by
        self.expected = f"pip install 'together-billing[{extra}]'"
        msg = f"{needed_by} needs {package}: {self.expected}"
        super().__init__(msg, name=package)


class InvalidResponse(BillingError, ValueError):
    """A response of Together's API (live, or saved as JSON) does not have the expected shape.

    ``value`` names the response (an endpoint or a file), ``errors`` holds one
    ``(location, message)`` pair per problem, and ``field`` is the first location.
    """

    def __init__(self, source: str, errors: list[tuple[str, str]], *, expected: str) -> None:
        self.field = errors[0][0] if errors else ""
        self.value = source
        self.expected = expected
        self.errors = errors
        lines = "\n".join(f"  {loc}: {message}" for loc, message in errors)
        msg = f"{source} is not {expected}:\n{lines}"
        super().__init__(msg)
