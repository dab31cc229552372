"""Instants, half-open intervals, monthly billing periods and the metering grain.

Rule G2: instants are timezone-aware (naive ones are rejected) and normalised
to UTC; intervals are half-open ``[start, end)``; billing periods are calendar
months in UTC (policy P-PERIOD). Rule G3: how running time is counted is the
metering grain (policy P-GRAIN), by default per started minute of each
continuous running interval, the minute grid anchored at the interval's start.

Internally instants are integer microseconds since the Unix epoch, so interval
arithmetic is exact and independent of daylight saving time.

>>> at = instant("2025-11-02T01:30:00-04:00")
>>> at.isoformat()
'2025-11-02T05:30:00+00:00'
>>> BillingPeriod.containing(at).label
'2025-11'
>>> MeteringGrain.PER_MINUTE.count(0, 0, 90 * 1_000_000)
2
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import ClassVar, Final

import attrs
import pendulum

from together_billing.errors import InvalidArgument, NaiveDatetimeError

__all__ = [
    "MICROS_PER_HOUR",
    "MICROS_PER_MINUTE",
    "MICROS_PER_SECOND",
    "BillingPeriod",
    "Interval",
    "MeteringGrain",
    "exact_seconds",
    "from_micros",
    "instant",
    "to_micros",
]

MICROS_PER_SECOND: Final = 1_000_000
MICROS_PER_MINUTE: Final = 60 * MICROS_PER_SECOND
MICROS_PER_HOUR: Final = 60 * MICROS_PER_MINUTE
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ZERO: Final = dt.timedelta(0)
_EPOCH_ORDINAL: Final = _EPOCH.toordinal()
_EPOCH_DATE: Final = _EPOCH.date()
_MICROS_PER_DAY: Final = 86_400 * MICROS_PER_SECOND


def instant(value: object, *, field: str = "at") -> pendulum.DateTime:
    """Return ``value`` as a UTC :class:`pendulum.DateTime`, rejecting naive values (G2).

    Accepts an aware :class:`datetime.datetime` (pendulum's included) or an ISO 8601
    string with an offset or ``Z``.

    >>> instant("2025-11-01T00:00:00")
    Traceback (most recent call last):
    ...
    together_billing.errors.NaiveDatetimeError: at='2025-11-01T00:00:00' is not valid; \
expected a timezone-aware instant (for example 2025-11-01T00:00:00Z or a datetime with \
tzinfo); naive datetimes are ambiguous and rejected
    """
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        return value  # already what this returns (immutable): the cheap path for bulk events
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(
                field, value, "an ISO 8601 instant with an offset, e.g. 2025-11-01T00:00:00Z"
            ) from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise NaiveDatetimeError(field, value)
        return _from_aware(parsed)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(field, value)
        return _from_aware(value)
    raise InvalidArgument(field, value, "a timezone-aware datetime or an ISO 8601 string")


def _from_aware(value: dt.datetime) -> pendulum.DateTime:
    if value.utcoffset() == _ZERO:
        # Already UTC wall time: copy the fields (a quarter of the microsecond round trip).
        return pendulum.DateTime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=pendulum.UTC,
        )
    return from_micros(to_micros(value))


def to_micros(value: dt.datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact)."""
    zone = value.tzinfo
    if zone is pendulum.UTC or zone is dt.UTC:
        # UTC wall time (every instant the library makes): integer arithmetic on the
        # fields, about 7 times cheaper than asking the zone for its offset and
        # subtracting datetimes (the engine converts every event's instant).
        return (
            (value.toordinal() - _EPOCH_ORDINAL) * 86_400
            + (value.hour * 60 + value.minute) * 60
            + value.second
        ) * MICROS_PER_SECOND + value.microsecond
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError("at", value)
    # The standard library's subtraction: pendulum's builds an Interval, 50 times slower.
    delta = dt.datetime.__sub__(value, _EPOCH)
    assert isinstance(delta, dt.timedelta)
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def exact_seconds(duration: dt.timedelta) -> Decimal:
    """``duration`` in seconds, exact to the microsecond (``total_seconds()`` is a float).

    The runway's length in the account summaries (accounts) and forecasts (forecast).

    >>> exact_seconds(pendulum.duration(days=1, microseconds=5))
    Decimal('86400.000005')
    """
    # As a plain timedelta: pendulum's Duration gives each part of a negative one its sign.
    whole = dt.timedelta.__add__(_ZERO, duration)
    micros = (whole.days * 86_400 + whole.seconds) * MICROS_PER_SECOND + whole.microseconds
    return Decimal(micros).scaleb(-6)


@functools.lru_cache(maxsize=4096)
def _civil_date(days: int) -> tuple[int, int, int]:
    """Year, month and day of the day ``days`` after 1970-01-01 (cached: events cluster)."""
    date = _EPOCH_DATE + dt.timedelta(days=days)
    return date.year, date.month, date.day


def from_micros(micros: int) -> pendulum.DateTime:
    """The UTC instant ``micros`` microseconds after the Unix epoch.

    Raises ``OverflowError`` outside the years 1 to 9999, as ``datetime`` does.
    """
    days, rest = divmod(micros, _MICROS_PER_DAY)
    year, month, day = _civil_date(days)
    seconds, micro = divmod(rest, MICROS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return pendulum.DateTime(year, month, day, hour, minute, second, micro, tzinfo=pendulum.UTC)


def _as_instant(value: object) -> pendulum.DateTime:
    return instant(value, field="start")


def _as_end(value: object) -> pendulum.DateTime:
    return instant(value, field="end")


@attrs.frozen(order=False)
class Interval:
    """A half-open interval of time ``[start, end)`` (G2).

    Unlike :class:`pendulum.Interval`, ``end`` itself is *not* inside.

    >>> span = Interval("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")
    >>> instant("2025-11-01T01:00:00Z") in span
    False
    >>> span.seconds
    Decimal('3600')
    """

    start: pendulum.DateTime = attrs.field(converter=_as_instant)
    end: pendulum.DateTime = attrs.field(converter=_as_end)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidArgument(
                "end",
                self.end.isoformat(),
                f"an instant at or after start {self.start.isoformat()}",
            )

    @classmethod
    def from_micros(cls, start: int, end: int) -> Interval:
        return cls(from_micros(start), from_micros(end))

    @property
    def start_micros(self) -> int:
        return to_micros(self.start)

    @property
    def end_micros(self) -> int:
        return to_micros(self.end)

    @property
    def seconds(self) -> Decimal:
        """Length in seconds, exact to the microsecond."""
        return Decimal(self.end_micros - self.start_micros) / MICROS_PER_SECOND

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, dt.datetime):
            return False
        return self.start <= instant(value) < self.end

    def isoformat(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


@attrs.frozen(order=True, cache_hash=True)
class BillingPeriod:
    """A calendar month in UTC, half-open: ``[first day 00:00Z, first of next month 00:00Z)``.

    Policy P-PERIOD (G2): Together's usage pages and invoices are monthly, dated in UTC.

    >>> period = BillingPeriod(2025, 12)
    >>> period.start.isoformat(), period.end.isoformat()
    ('2025-12-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')
    >>> period.next().label
    '2026-01'
    """

    year: int
    month: int

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidArgument("month", self.month, "an integer from 1 to 12")
        if not 1970 <= self.year <= 9998:
            raise InvalidArgument("year", self.year, "a year from 1970 to 9998")

    @classmethod
    def containing(cls, at: dt.datetime) -> BillingPeriod:
        """The period an instant falls in (its UTC calendar month)."""
        utc = instant(at)
        return cls(utc.year, utc.month)

    @classmethod
    def of_micros(cls, micros: int) -> BillingPeriod:
        """The period of an instant given in microseconds (one shared value per month)."""
        year, month, _ = _civil_date(micros // _MICROS_PER_DAY)
        if cls is BillingPeriod:
            return _period(year, month)
        return cls(year, month)

    @property
    def start(self) -> pendulum.DateTime:
        return pendulum.datetime(self.year, self.month, 1, tz="UTC")

    @property
    def end(self) -> pendulum.DateTime:
        return self.next().start

    @property
    def start_micros(self) -> int:
        return _month_start(self.year, self.month)

    @property
    def end_micros(self) -> int:
        if self.month == 12:
            return _month_start(self.year + 1, 1)
        return _month_start(self.year, self.month + 1)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> BillingPeriod:
        if self.month == 12:
            return BillingPeriod(self.year + 1, 1)
        return BillingPeriod(self.year, self.month + 1)


@functools.lru_cache(maxsize=4096)
def _period(year: int, month: int) -> BillingPeriod:
    """The one ``BillingPeriod`` of a month (immutable, so shared; its hash is cached)."""
    return BillingPeriod(year, month)


@functools.cache
def _month_start(year: int, month: int) -> int:
    return to_micros(dt.datetime(year, month, 1, tzinfo=dt.UTC))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)


@attrs.frozen
class MeteringGrain:
    """How running time is turned into a billable quantity (G3, policy P-GRAIN).

    ``step_seconds`` is the length of one billable unit, counted per *started*
    unit on a grid anchored at the start of each continuous running interval;
    ``None`` means prorated to the microsecond (quantity in seconds).

    A unit belongs to the billing period in which it starts, and is priced at
    the rate in force at its start.

    >>> MeteringGrain.PER_MINUTE.unit, MeteringGrain.PER_MINUTE.units_per_hour
    ('minute', 60)
    >>> MeteringGrain.PER_HOUR.count(0, 0, 1)
    1
    """

    step_seconds: int | None
    unit: str

    PER_SECOND: ClassVar[MeteringGrain]
    PER_MINUTE: ClassVar[MeteringGrain]
    PER_HOUR: ClassVar[MeteringGrain]
    PRORATED: ClassVar[MeteringGrain]

    def __attrs_post_init__(self) -> None:
        if self.step_seconds is not None and self.step_seconds not in (1, 60, 3600):
            raise InvalidArgument(
                "step_seconds", self.step_seconds, "1, 60, 3600, or None for prorated"
            )

    @classmethod
    def named(cls, name: str) -> MeteringGrain:
        """A grain by its name: ``second``, ``minute``, ``hour`` or ``prorated``."""
        grains = {
            "second": cls.PER_SECOND,
            "minute": cls.PER_MINUTE,
            "hour": cls.PER_HOUR,
            "prorated": cls.PRORATED,
        }
        try:
            return grains[name]
        except KeyError:
            raise InvalidArgument("grain", name, f"one of {sorted(grains)}") from None

    @property
    def name(self) -> str:
        return "prorated" if self.step_seconds is None else self.unit

    @property
    def units_per_hour(self) -> int:
        """How many quantity units make an hour (for pricing hourly rates)."""
        if self.step_seconds is None:
            return 3600
        return 3600 // self.step_seconds

    def count(self, grid_start: int, start: int, end: int) -> int:
        """Units whose start lies in ``[start, end)``, on the grid from ``grid_start``.

        All arguments are microseconds; only units at or after ``grid_start`` count.
        For the prorated grain, returns microseconds in ``[start, end)``.
        """
        start = max(start, grid_start)
        if end <= start:
            return 0
        if self.step_seconds is None:
            return end - start
        step = self.step_seconds * MICROS_PER_SECOND
        first = _ceil_div(start - grid_start, step)
        last = _ceil_div(end - grid_start, step)
        return last - first

    def quantity(self, count: int) -> Decimal:
        """The billable quantity, in :attr:`unit`, of a :meth:`count`."""
        if self.step_seconds is None:
            return Decimal(count) / MICROS_PER_SECOND
        return Decimal(count)

    def unit_end(self, grid_start: int, at: int) -> int:
        """End of the unit running at ``at`` (``at`` itself if it lies on the grid)."""
        if self.step_seconds is None:
            return at
        step = self.step_seconds * MICROS_PER_SECOND
        return grid_start + _ceil_div(at - grid_start, step) * step


MeteringGrain.PER_SECOND = MeteringGrain(1, "second")
MeteringGrain.PER_MINUTE = MeteringGrain(60, "minute")
MeteringGrain.PER_HOUR = MeteringGrain(3600, "hour")
MeteringGrain.PRORATED = MeteringGrain(None, "second")
