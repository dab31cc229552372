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
from together_billing.time import from_micros, to_micros

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


# -- Details pinned down by mutation testing (docs/mutation.md): errors of instants, intervals, periods and grains --
HOUR = 60 * MINUTE
#: The ``expected`` text of every naive-datetime refusal.
NAIVE_EXPECTED = (
    "a timezone-aware instant (for example 2025-11-01T00:00:00Z or a datetime with tzinfo); "
    "naive datetimes are ambiguous and rejected"
)


class _NoOffset(dt.tzinfo):
    """A tzinfo that knows no offset: a datetime carrying it is still naive."""

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta | None:
        """No offset, which makes an aware-looking datetime naive in Python's terms."""
        return None

    def dst(self, when: dt.datetime | None) -> dt.timedelta | None:
        """No daylight saving information either."""
        return None

    def tzname(self, when: dt.datetime | None) -> str | None:
        """No name."""
        return None


class TestInstantErrors:
    def test_malformed_string_names_field_value_and_format(self) -> None:
        """A string that is not ISO 8601 is refused with the string and the expected format."""
        with pytest.raises(InvalidArgument) as info:
            instant("yesterday")
        assert not isinstance(info.value, NaiveDatetimeError)
        assert info.value.field == "at"
        assert info.value.value == "yesterday"
        assert (
            info.value.expected == "an ISO 8601 instant with an offset, e.g. 2025-11-01T00:00:00Z"
        )

    def test_malformed_string_reports_the_field_given(self) -> None:
        """``field=`` is the name reported for a malformed string."""
        with pytest.raises(InvalidArgument) as info:
            instant("soon", field="until")
        assert info.value.field == "until"

    def test_naive_string_names_field_and_value(self) -> None:
        """An ISO string without an offset is a NaiveDatetimeError carrying the string."""
        with pytest.raises(NaiveDatetimeError) as info:
            instant("2025-11-01T00:00:00")
        assert info.value.field == "at"
        assert info.value.value == "2025-11-01T00:00:00"
        assert info.value.expected == NAIVE_EXPECTED
        with pytest.raises(NaiveDatetimeError) as info:
            instant("2025-11-01T00:00:00", field="until")
        assert info.value.field == "until"

    def test_naive_datetime_names_field_and_value(self) -> None:
        """A naive datetime is refused as ``at`` by default, with the datetime as value."""
        naive = dt.datetime(2025, 11, 1, 12, 0)
        with pytest.raises(NaiveDatetimeError) as info:
            instant(naive)
        assert info.value.field == "at"
        assert info.value.value is naive

    def test_tzinfo_without_offset_is_naive(self) -> None:
        """A datetime whose tzinfo gives no UTC offset is refused as naive."""
        vague = dt.datetime(2025, 11, 1, 12, 0, tzinfo=_NoOffset())
        assert vague.utcoffset() is None
        with pytest.raises(NaiveDatetimeError) as info:
            instant(vague, field="until")
        assert info.value.field == "until"
        assert info.value.value is vague
        with pytest.raises(NaiveDatetimeError) as info:
            to_micros(vague)
        assert info.value.value is vague

    @pytest.mark.parametrize("value", [None, 1_700_000_000, dt.date(2025, 11, 1), b"2025"])
    def test_non_dates_name_field_value_and_accepted_types(self, value: object) -> None:
        """Anything but a datetime or a string is refused, naming what is accepted."""
        with pytest.raises(InvalidArgument) as info:
            instant(value, field="until")
        assert not isinstance(info.value, NaiveDatetimeError)
        assert info.value.field == "until"
        assert info.value.value is value
        assert info.value.expected == "a timezone-aware datetime or an ISO 8601 string"
        with pytest.raises(InvalidArgument) as info:
            instant(value)
        assert info.value.field == "at"

    def test_to_micros_refuses_naive_datetime(self) -> None:
        """to_micros refuses a naive datetime as the ``at`` field, with the value."""
        naive = dt.datetime(2025, 11, 1)
        with pytest.raises(NaiveDatetimeError) as info:
            to_micros(naive)
        assert info.value.field == "at"
        assert info.value.value is naive
        assert info.value.expected == NAIVE_EXPECTED

    @pytest.mark.parametrize(
        "text",
        [
            " 2025-11-01T00:00:00Z ",
            "2025-11-01T00:00:00Z",
            "2025-11-01T00:00:00+00:00",
            "2025-11-01T01:00:00+01:00",
        ],
    )
    def test_strings_with_blanks_or_z_are_read(self, text: str) -> None:
        """Surrounding blanks are ignored and ``Z`` means UTC."""
        assert instant(text) == dt.datetime(2025, 11, 1, tzinfo=dt.UTC)

    def test_micros_round_trip(self) -> None:
        """to_micros and from_micros are exact inverses, to the microsecond."""
        at = dt.datetime(2025, 11, 2, 5, 30, 1, 123456, tzinfo=dt.UTC)
        micros = to_micros(at)
        assert micros == 1_762_061_401_123_456
        assert from_micros(micros) == at
        assert to_micros(dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == -SECOND


class TestIntervalDetails:
    def test_bounds_report_their_own_field(self) -> None:
        """A bad start is reported as ``start``, a bad end as ``end``."""
        with pytest.raises(InvalidArgument) as info:
            Interval("x", "2025-11-01T00:00:00Z")
        assert info.value.field == "start"
        assert info.value.value == "x"
        with pytest.raises(InvalidArgument) as info:
            Interval("2025-11-01T00:00:00Z", "y")
        assert info.value.field == "end"
        with pytest.raises(NaiveDatetimeError) as info:
            Interval("2025-11-01T00:00:00Z", "2025-11-01T01:00:00")
        assert info.value.field == "end"
        with pytest.raises(NaiveDatetimeError) as info:
            Interval("2025-11-01T00:00:00", "2025-11-01T01:00:00Z")
        assert info.value.field == "start"

    def test_end_before_start_message(self) -> None:
        """The refusal of an end before the start shows the end and names the start."""
        with pytest.raises(InvalidArgument) as info:
            Interval("2025-11-01T02:00:00+01:00", "2025-11-01T00:00:00Z")
        assert info.value.field == "end"
        assert info.value.value == "2025-11-01T00:00:00+00:00"
        assert info.value.expected == "an instant at or after start 2025-11-01T01:00:00+00:00"
        with pytest.raises(InvalidArgument) as info:
            Interval("2025-11-01T01:00:00Z", "2025-11-01T00:59:59.999999Z")
        assert info.value.value == "2025-11-01T00:59:59.999999+00:00"
        assert "at or after start 2025-11-01T01:00:00+00:00" in str(info.value)

    def test_empty_interval_is_allowed(self) -> None:
        """An interval may end at its start: it is empty and contains nothing."""
        span = Interval("2025-11-01T00:00:00Z", "2025-11-01T00:00:00Z")
        assert span.seconds == 0
        assert instant("2025-11-01T00:00:00Z") not in span

    @pytest.mark.parametrize("value", ["2025-11-01T00:30:00Z", 0, None])
    def test_non_datetimes_are_not_contained(self, value: object) -> None:
        """Membership is only for datetimes: a string or number is simply not inside."""
        span = Interval("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")
        assert (value in span) is False

    def test_membership_converts_offsets(self) -> None:
        """A datetime with an offset is inside when its UTC instant is."""
        span = Interval("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")
        inside = dt.datetime(2025, 11, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert inside in span
        before = dt.datetime(2025, 11, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert before not in span

    def test_micros_isoformat_and_from_micros(self) -> None:
        """The micros accessors, the isoformat and from_micros agree with each other."""
        span = Interval.from_micros(SECOND, 90 * MINUTE + 5)
        assert span.start_micros == SECOND
        assert span.end_micros == 90 * MINUTE + 5
        assert span.seconds == Decimal("5400.000005") - 1
        assert span.isoformat() == "[1970-01-01T00:00:01+00:00, 1970-01-01T01:30:00.000005+00:00)"


class TestBillingPeriodBoundaries:
    @pytest.mark.parametrize(("year", "month"), [(1970, 1), (9998, 12), (2025, 1), (2025, 12)])
    def test_first_and_last_valid_periods(self, year: int, month: int) -> None:
        """Years 1970 to 9998 and months 1 to 12 are valid, both ends included."""
        period = BillingPeriod(year, month)
        assert period.label == f"{year}-{month:02d}"

    @pytest.mark.parametrize("month", [0, 13, -1])
    def test_month_out_of_range(self, month: int) -> None:
        """A month outside 1..12 is refused as ``month`` with the valid range."""
        with pytest.raises(InvalidArgument) as info:
            BillingPeriod(2025, month)
        assert info.value.field == "month"
        assert info.value.value == month
        assert info.value.expected == "an integer from 1 to 12"

    @pytest.mark.parametrize("year", [1969, 9999, 0])
    def test_year_out_of_range(self, year: int) -> None:
        """A year outside 1970..9998 is refused as ``year`` with the valid range."""
        with pytest.raises(InvalidArgument) as info:
            BillingPeriod(year, 6)
        assert info.value.field == "year"
        assert info.value.value == year
        assert info.value.expected == "a year from 1970 to 9998"

    def test_last_period_ends_at_year_9999(self) -> None:
        """The last valid period, December 9998, ends on 9999-01-01."""
        period = BillingPeriod(9998, 12)
        assert period.end_micros == to_micros(dt.datetime(9999, 1, 1, tzinfo=dt.UTC))

    def test_first_period_starts_at_the_epoch(self) -> None:
        """January 1970 starts at microsecond 0 and ends 31 days later."""
        period = BillingPeriod(1970, 1)
        assert period.start_micros == 0
        assert period.end_micros == 31 * 24 * HOUR
        assert period.label == "1970-01"

    @pytest.mark.parametrize(
        ("micros", "expected"),
        [
            (0, BillingPeriod(1970, 1)),
            (31 * 24 * HOUR - 1, BillingPeriod(1970, 1)),
            (31 * 24 * HOUR, BillingPeriod(1970, 2)),
        ],
    )
    def test_of_micros(self, micros: int, expected: BillingPeriod) -> None:
        """of_micros finds the UTC month of an instant given in microseconds."""
        assert BillingPeriod.of_micros(micros) == expected

    def test_end_micros_in_and_out_of_december(self) -> None:
        """end_micros is the start of the next month, across the new year too."""
        december, november = BillingPeriod(2025, 12), BillingPeriod(2025, 11)
        assert december.end_micros == BillingPeriod(2026, 1).start_micros
        assert november.end_micros == december.start_micros
        assert november.next() == december
        assert december.interval == Interval(december.start, december.end)


class TestMeteringGrainDetails:
    @pytest.mark.parametrize("step", [None, 1, 60, 3600])
    def test_valid_steps(self, step: int | None) -> None:
        """A grain's step is 1, 60 or 3600 seconds, or None for prorated."""
        assert MeteringGrain(step, "unit").step_seconds == step

    @pytest.mark.parametrize("step", [0, 7, 30, 86_400])
    def test_other_steps_are_refused(self, step: int) -> None:
        """Any other step is refused as ``step_seconds`` with the valid choices."""
        with pytest.raises(InvalidArgument) as info:
            MeteringGrain(step, "unit")
        assert info.value.field == "step_seconds"
        assert info.value.value == step
        assert info.value.expected == "1, 60, 3600, or None for prorated"

    @pytest.mark.parametrize(
        ("name", "grain"),
        [
            ("second", MeteringGrain.PER_SECOND),
            ("minute", MeteringGrain.PER_MINUTE),
            ("hour", MeteringGrain.PER_HOUR),
            ("prorated", MeteringGrain.PRORATED),
        ],
    )
    def test_named_and_name_round_trip(self, name: str, grain: MeteringGrain) -> None:
        """Each grain is found by its name, and reports that name back."""
        assert MeteringGrain.named(name) is grain
        assert grain.name == name

    def test_unknown_name_lists_the_choices(self) -> None:
        """An unknown grain name is refused as ``grain``, listing the four names."""
        with pytest.raises(InvalidArgument) as info:
            MeteringGrain.named("fortnight")
        assert info.value.field == "grain"
        assert info.value.value == "fortnight"
        assert info.value.expected == "one of ['hour', 'minute', 'prorated', 'second']"

    @pytest.mark.parametrize(
        ("grain", "units"),
        [
            (MeteringGrain.PER_SECOND, 3600),
            (MeteringGrain.PER_MINUTE, 60),
            (MeteringGrain.PER_HOUR, 1),
            (MeteringGrain.PRORATED, 3600),
        ],
    )
    def test_units_per_hour(self, grain: MeteringGrain, units: int) -> None:
        """Hourly rates divide by the number of units in an hour (seconds when prorated)."""
        assert grain.units_per_hour == units

    @pytest.mark.parametrize(
        "grain",
        [
            MeteringGrain.PER_SECOND,
            MeteringGrain.PER_MINUTE,
            MeteringGrain.PER_HOUR,
            MeteringGrain.PRORATED,
        ],
    )
    def test_empty_or_reversed_span_counts_nothing(self, grain: MeteringGrain) -> None:
        """A span that ends at or before its start counts no unit on any grain."""
        assert grain.count(0, 5 * SECOND, 5 * SECOND) == 0
        assert grain.count(0, 5 * SECOND, 4 * SECOND) == 0
        assert grain.count(10 * HOUR, 0, 10 * HOUR) == 0

    @pytest.mark.parametrize(
        "grain", [MeteringGrain.PER_SECOND, MeteringGrain.PER_MINUTE, MeteringGrain.PER_HOUR]
    )
    def test_quantity_of_a_stepped_grain_is_the_count(self, grain: MeteringGrain) -> None:
        """With a step, the billable quantity is the number of units, as a Decimal."""
        quantity = grain.quantity(7)
        assert type(quantity) is Decimal
        assert quantity == 7

    def test_prorated_quantity_is_seconds(self) -> None:
        """Prorated, a count of microseconds is a quantity of seconds."""
        assert MeteringGrain.PRORATED.quantity(2_500_000) == Decimal("2.5")

    def test_prorated_counts_from_the_later_of_start_and_grid(self) -> None:
        """Prorated time before the grid origin does not count."""
        assert MeteringGrain.PRORATED.count(10 * SECOND, 0, 15 * SECOND) == 5 * SECOND

    def test_unit_end_per_grain(self) -> None:
        """unit_end rounds up to the grain's grid; prorated time has no grid."""
        assert MeteringGrain.PRORATED.unit_end(0, 61 * SECOND + 3) == 61 * SECOND + 3
        assert MeteringGrain.PER_HOUR.unit_end(30 * MINUTE, HOUR) == HOUR + 30 * MINUTE
        assert MeteringGrain.PER_SECOND.unit_end(0, SECOND + 1) == 2 * SECOND
        assert MeteringGrain.PER_MINUTE.unit_end(SECOND, SECOND) == SECOND
