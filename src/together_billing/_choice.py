"""A string enumeration whose invalid values raise the project's own error."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from together_billing.errors import InvalidArgument


class Choice(StrEnum):
    """A ``StrEnum`` that rejects an unknown value with :class:`InvalidArgument`.

    The error names ``__field__`` (the attribute the choice is given for), the value,
    and every valid choice.
    """

    __field__: ClassVar[str] = "value"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        choices = ", ".join(repr(member.value) for member in cls)
        raise InvalidArgument(cls.__field__, value, f"one of {choices}")
