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
    "InvalidScenario",
    "InvalidTimeline",
    "MissingDependency",
    "NaiveDatetimeError",
    "UnknownPrice",
]


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
        msg = f"{where}{field}={value!r} is not valid; expected {expected}"
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
        msg = f"{event!r}: {field}={value!r} is not valid; expected {expected}"
        super().__init__(msg)


class UnknownPrice(BillingError, LookupError):
    """The price catalog has no rate for what is being charged at that instant."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        msg = f"no price for {field}={value!r}; expected {expected}"
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
        lines = "\n".join(f"  {loc}: {message}" for loc, message in errors)
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
