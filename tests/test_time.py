"""Tests of :mod:`together_billing.time` (rules G2, G3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    BillingPeriod,
    Catalog,
    DedicatedEndpoint,
    Deploy,
    HardwarePrice,
    Interval,
    InvalidArgument,
    MeteringGrain,
    NaiveDatetimeError,
    Stop,
    instant,
    simulate,
)

MINUTE = 60_000_000
SECOND = 1_000_000


class TestInstant:
    def test_naive_datetime_rejected(self) -> None:
        """A datetime without tzinfo raises NaiveDatetimeError, a ValueError naming the field."""
        with pytest.raises(NaiveDatetimeError) as info:
            instant(dt.datetime(2025, 11, 1, 12, 0), field="until")
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, InvalidArgument)
        assert info.value.field == "until"

    def test_naive_string_rejected(self) -> None:
        """An ISO string without an offset is rejected as naive."""
        with pytest.raises(NaiveDatetimeError, match="2025-11-01T00:00:00"):
            instant("2025-11-01T00:00:00")

    def test_garbage_string_rejected(self) -> None:
        """A string that is not ISO 8601 is an InvalidArgument (not a naive-datetime error)."""
        with pytest.raises(InvalidArgument) as info:
            instant("yesterday")
        assert not isinstance(info.value, NaiveDatetimeError)

    def test_events_reject_naive_instants(self) -> None:
        """Events refuse naive datetimes at construction."""
        with pytest.raises(NaiveDatetimeError):
            Deploy(dt.datetime(2025, 11, 1), "ep")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "value",
        [
            "2025-11-02T01:30:00-04:00",
            "2025-11-02T05:30:00Z",
            "2025-11-02T06:30:00+01:00",
            dt.datetime(2025, 11, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
        ],
    )
    def test_offsets_normalised_to_utc(self, value: object) -> None:
        """Any offset is converted to the same UTC instant."""
        result = instant(value)
        assert result.isoformat() == "2025-11-02T05:30:00+00:00"
        assert result.utcoffset() == dt.timedelta(0)


class TestInterval:
    def test_half_open(self) -> None:
        """An interval contains its start but not its end."""
        span = Interval("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")
        assert instant("2025-11-01T00:00:00Z") in span
        assert instant("2025-11-01T00:59:59.999999Z") in span
        assert instant("2025-11-01T01:00:00Z") not in span

    def test_seconds_exact(self) -> None:
        """Length in seconds is exact to the microsecond."""
        span = Interval("2025-11-01T00:00:00Z", "2025-11-01T00:00:01.5Z")
        assert span.seconds == Decimal("1.5")

    def test_end_before_start_rejected(self) -> None:
        """An interval ending before it starts raises, naming ``end``."""
        with pytest.raises(InvalidArgument) as info:
            Interval("2025-11-01T01:00:00Z", "2025-11-01T00:00:00Z")
        assert info.value.field == "end"

    def test_naive_bounds_rejected(self) -> None:
        """Interval bounds must be timezone-aware."""
        with pytest.raises(NaiveDatetimeError):
            Interval("2025-11-01T00:00:00", "2025-11-01T01:00:00Z")


class TestBillingPeriod:
    def test_december_ends_at_new_year(self) -> None:
        """December's period ends at 1 January of the next year, 00:00 UTC."""
        period = BillingPeriod(2025, 12)
        assert period.start.isoformat() == "2025-12-01T00:00:00+00:00"
        assert period.end.isoformat() == "2026-01-01T00:00:00+00:00"
        assert period.next() == BillingPeriod(2026, 1)

    def test_february_in_leap_year(self) -> None:
        """February 2028 (a leap year) has 29 days."""
        period = BillingPeriod(2028, 2)
        assert period.end.isoformat() == "2028-03-01T00:00:00+00:00"
        assert period.end_micros - period.start_micros == 29 * 24 * 60 * MINUTE

    def test_february_in_common_year(self) -> None:
        """February 2027 has 28 days."""
        period = BillingPeriod(2027, 2)
        assert period.end_micros - period.start_micros == 28 * 24 * 60 * MINUTE

    def test_containing_uses_utc(self) -> None:
        """An instant late on 31 Oct in New York is already in November's UTC period."""
        assert BillingPeriod.containing(instant("2025-10-31T22:00:00-04:00")).label == "2025-11"

    def test_period_end_is_in_next_period(self) -> None:
        """The end of a period belongs to the next one (half-open)."""
        period = BillingPeriod(2025, 11)
        assert period.end not in period.interval
        assert BillingPeriod.containing(period.end) == period.next()

    @pytest.mark.parametrize(("year", "month"), [(2025, 0), (2025, 13), (1969, 5)])
    def test_invalid_periods_rejected(self, year: int, month: int) -> None:
        """Months outside 1..12 and years before 1970 are rejected."""
        with pytest.raises(InvalidArgument):
            BillingPeriod(year, month)


class TestMeteringGrain:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (0, 90 * MINUTE, 90),
            (0, 90 * MINUTE + 1, 91),
            (0, 1, 1),
            (0, 0, 0),
            (0, 59 * SECOND, 1),
            (0, 60 * SECOND, 1),
            (0, 61 * SECOND, 2),
        ],
    )
    def test_per_minute_counts_started_minutes(self, start: int, end: int, expected: int) -> None:
        """Per-minute grain counts every started minute, rounding a partial minute up."""
        assert MeteringGrain.PER_MINUTE.count(0, start, end) == expected

    def test_grid_anchored_at_interval_start(self) -> None:
        """The minute grid starts at the grid origin, not at whole clock minutes."""
        grid = 30 * SECOND
        # [0:30, 2:30) holds exactly two minutes anchored at 0:30.
        assert MeteringGrain.PER_MINUTE.count(grid, grid, grid + 2 * MINUTE) == 2
        # A stretch starting mid-unit does not count the unit already started before it.
        assert MeteringGrain.PER_MINUTE.count(grid, grid + SECOND, grid + MINUTE) == 0
        assert MeteringGrain.PER_MINUTE.count(grid, grid + SECOND, grid + MINUTE + 1) == 1

    def test_splitting_never_changes_the_count(self) -> None:
        """Counting [a, c) equals counting [a, b) plus [b, c) on the same grid, for any b."""
        grain = MeteringGrain.PER_MINUTE
        grid, end = 7 * SECOND, 5 * MINUTE + 3
        whole = grain.count(grid, grid, end)
        for cut in range(grid, end, 7_654_321):
            assert grain.count(grid, grid, cut) + grain.count(grid, cut, end) == whole

    def test_units_before_grid_do_not_count(self) -> None:
        """Only units starting at or after the grid origin are counted."""
        assert MeteringGrain.PER_MINUTE.count(10 * MINUTE, 0, 11 * MINUTE) == 1

    def test_per_hour(self) -> None:
        """Per-hour grain counts started hours."""
        assert MeteringGrain.PER_HOUR.count(0, 0, 1) == 1
        assert MeteringGrain.PER_HOUR.count(0, 0, 61 * MINUTE) == 2
        assert MeteringGrain.PER_HOUR.units_per_hour == 1

    def test_per_second(self) -> None:
        """Per-second grain counts started seconds."""
        assert MeteringGrain.PER_SECOND.count(0, 0, SECOND + 1) == 2
        assert MeteringGrain.PER_SECOND.units_per_hour == 3600

    def test_prorated_counts_microseconds(self) -> None:
        """The prorated grain returns microseconds; quantity is exact seconds."""
        count = MeteringGrain.PRORATED.count(0, 0, 90 * SECOND + 5)
        assert count == 90 * SECOND + 5
        assert MeteringGrain.PRORATED.quantity(count) == Decimal("90.000005")

    def test_named(self) -> None:
        """Grains are found by name; unknown names raise naming the field."""
        assert MeteringGrain.named("minute") is MeteringGrain.PER_MINUTE
        assert MeteringGrain.named("prorated") is MeteringGrain.PRORATED
        with pytest.raises(InvalidArgument) as info:
            MeteringGrain.named("fortnight")
        assert info.value.field == "grain"

    def test_unit_end(self) -> None:
        """unit_end is the end of the unit running at an instant (or the instant on the grid)."""
        assert MeteringGrain.PER_MINUTE.unit_end(0, 61 * SECOND) == 2 * MINUTE
        assert MeteringGrain.PER_MINUTE.unit_end(0, 2 * MINUTE) == 2 * MINUTE


def test_dst_change_bills_utc_minutes() -> None:
    """An endpoint running across the 2025-11-02 US DST change bills the UTC minutes elapsed.

    01:30 EDT (-04:00) to 01:30 EST (-05:00) is 60 minutes of wall clock "repeated",
    but 120 real minutes.
    """
    catalog = Catalog([HardwarePrice("1x_gpu", "6", "2025-01-01T00:00:00Z")])
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_gpu")
    result = simulate(
        [endpoint],
        [
            Deploy("2025-11-02T00:30:00-04:00", "ep"),
            Stop("2025-11-02T01:30:00-05:00", "ep"),
        ],
        until="2025-11-03T00:00:00Z",
        catalog=catalog,
    )
    (line,) = result.lines
    assert line.quantity == 120
    assert line.amount_exact == Decimal(12)
    assert line.interval.start.isoformat() == "2025-11-02T04:30:00+00:00"
    assert line.interval.end.isoformat() == "2025-11-02T06:30:00+00:00"


@given(st.timedeltas(min_value=dt.timedelta(days=-4000), max_value=dt.timedelta(days=4000)))
def test_exact_seconds_is_exact_to_the_microsecond(duration: dt.timedelta) -> None:
    from together_billing.time import exact_seconds

    micros = duration // dt.timedelta(microseconds=1)
    assert exact_seconds(duration) * 1_000_000 == micros
    assert exact_seconds(pendulum.duration(microseconds=micros)) == exact_seconds(duration)
