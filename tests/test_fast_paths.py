"""The bulk fast paths (issue 15) build and convert exactly what the general paths do.

States: an instant's zone (pendulum's UTC, the standard library's UTC, another zone with
an offset, none), and for ``TokenUsage.from_micros`` each field valid or invalid in each
way the constructor refuses (type, range, emptiness), alone or with the others valid.
Every fast result is compared with the general path's: equality, hash, sort key, and the
invoice of a replay.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from together_billing import (
    Catalog,
    InvalidArgument,
    NaiveDatetimeError,
    ServerlessPrice,
    ServerlessUsage,
    TokenUsage,
    simulate,
)
from together_billing.time import from_micros, to_micros

#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds.
FIRST = -62_135_596_800_000_000
LAST = 253_402_300_799_999_999
MARCH = 1_740_787_200_000_000  # 2025-03-01T00:00:00Z

micros = st.integers(FIRST, LAST)


def _reference_micros(value: dt.datetime) -> int:
    """The general formula (the standard library's subtraction), the fast path's oracle."""
    # dt.datetime's own subtraction: pendulum's builds an Interval (and is not exact).
    delta = dt.datetime.__sub__(value, dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    assert isinstance(delta, dt.timedelta)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class TestToMicros:
    @given(micros)
    def test_pendulum_utc_round_trips(self, value: int) -> None:
        """The library's own instants (pendulum, UTC) convert back exactly."""
        at = from_micros(value)
        assert at.tzinfo is pendulum.UTC
        assert to_micros(at) == value == _reference_micros(at)
        expected = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=value)
        assert at.replace(tzinfo=None) == expected  # the fields, not only the instant

    @given(micros)
    def test_standard_library_utc(self, value: int) -> None:
        """A ``datetime`` in ``datetime.UTC`` takes the same path and gives the same value."""
        at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=value)
        assert to_micros(at) == value

    @given(st.integers(MARCH, MARCH + 10**13), st.integers(-23 * 60, 23 * 60))
    def test_other_offsets_are_converted(self, value: int, minutes: int) -> None:
        """A wall time with an offset is converted through the offset, not read as UTC."""
        zone = dt.timezone(dt.timedelta(minutes=minutes))
        at = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=value)).astimezone(
            zone
        )
        assert to_micros(at) == value

    def test_zero_offset_zone_that_is_not_utc(self) -> None:
        """A zone at +00:00 that is not a UTC object (London in winter) still converts."""
        at = pendulum.datetime(2025, 1, 15, 12, tz="Europe/London")
        assert to_micros(at) == _reference_micros(at)

    def test_naive_rejected(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            to_micros(dt.datetime(2025, 3, 1))


def _catalog() -> Catalog:
    return Catalog([ServerlessPrice("m", Decimal("0.10"), Decimal("0.40"), "2020-01-01T00:00:00Z")])


tokens = st.integers(0, 10**12)
usage_fields = st.tuples(
    st.integers(MARCH, MARCH + 30 * 86_400_000_000),
    st.sampled_from(["chat", "usage-01", " padded "]),
    tokens,
    tokens,
    st.integers(0, 10**12),
    st.booleans(),
    st.none() | st.sampled_from(["row-1", "evt_9"]),
).filter(lambda f: f[4] <= f[2])


class TestTokenUsageFromMicros:
    @given(usage_fields)
    def test_same_event_as_the_constructor(self, fields: tuple[Any, ...]) -> None:
        """Equal, same hash, same sort key, same repr as ``TokenUsage(from_micros(t), ...)``."""
        at, resource, inp, out, cached, batch, usage_id = fields
        fast = TokenUsage.from_micros(at, resource, inp, out, cached, batch, id=usage_id)
        slow = TokenUsage(from_micros(at), resource, inp, out, cached, batch, id=usage_id)
        assert type(fast) is TokenUsage
        assert fast == slow
        assert hash(fast) == hash(slow)
        assert fast.sort_key() == slow.sort_key()
        assert repr(fast) == repr(slow)
        assert fast.at.tzinfo is pendulum.UTC

    def test_replay_bills_the_same(self) -> None:
        """A replay of fast-built events gives the constructor's invoices, line for line."""
        rows = [(MARCH + k * 7_919_000_001, 1_000 + k, 10 * k, k % 3) for k in range(200)]
        fast = [TokenUsage.from_micros(t, "m", i, o, c) for t, i, o, c in rows]
        slow = [TokenUsage(from_micros(t), "m", i, o, c) for t, i, o, c in rows]
        kwargs: dict[str, Any] = {
            "until": "2025-04-01T00:00:00Z",
            "start": "2025-03-01T00:00:00Z",
            "catalog": _catalog(),
        }
        resources = [ServerlessUsage("m", model="m")]
        a = simulate(resources, fast, **kwargs)
        b = simulate(resources, list(reversed(slow)), **kwargs)
        assert a.total == b.total
        assert a.invoices == b.invoices

    @pytest.mark.parametrize(
        "at",
        [1.5e15, Decimal(MARCH), "1740787200000000", True, None, from_micros(MARCH)],
    )
    def test_instant_must_be_integer_microseconds(self, at: Any) -> None:
        """Floats, Decimals, text, bools and datetimes are refused, naming ``at``."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsage.from_micros(at, "m", 1, 1)
        assert info.value.field == "at"
        assert "integer microseconds" in str(info.value)

    @pytest.mark.parametrize("at", [FIRST - 1, LAST + 1, 10**30, -(10**30)])
    def test_instant_out_of_range(self, at: int) -> None:
        with pytest.raises(InvalidArgument, match="between the years 1 and 9999"):
            TokenUsage.from_micros(at, "m")

    @pytest.mark.parametrize(
        ("args", "kwargs"),
        [
            (("", 1, 1), {}),
            (("  ", 1, 1), {}),
            ((None, 1, 1), {}),
            (("m", -1, 1), {}),
            (("m", 1, -1), {}),
            (("m", 1.0, 1), {}),
            (("m", 1, 2.5), {}),
            (("m", True, 1), {}),
            (("m", 1, 1, 2), {}),
            (("m", 1, 1, -1), {}),
            (("m", 1, 1, 0.5), {}),
            (("m", 1, 1), {"id": ""}),
            (("m", 1, 1), {"id": 7}),
        ],
    )
    def test_invalid_fields_raise_the_constructors_error(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Each invalid field gives exactly the error the constructor gives for it."""
        with pytest.raises(InvalidArgument) as expected:
            TokenUsage(from_micros(MARCH), *args, **kwargs)
        with pytest.raises(InvalidArgument) as found:
            TokenUsage.from_micros(MARCH, *args, **kwargs)
        assert str(found.value) == str(expected.value)

    def test_unusual_but_valid_values_take_the_constructor(self) -> None:
        """A truthy non-bool ``batch`` is what the constructor keeps too (it is not a field
        the constructor checks): the two paths still agree."""
        fast = TokenUsage.from_micros(MARCH, "m", 1, 1, 0, 1)  # type: ignore[arg-type]
        slow = TokenUsage(from_micros(MARCH), "m", 1, 1, 0, 1)  # type: ignore[arg-type]
        assert fast == slow
        assert fast.sort_key() == slow.sort_key()


class TestTimestampColumns:
    """Arrow and pandas timestamp columns, in every unit, through both readers.

    ``TokenUsageBatch`` (an ``at`` column) and ``columnar.usage_batches`` (a table) share
    one converter; each names a fractional microsecond its own way (index, or row).
    """

    @pytest.mark.parametrize(
        ("unit", "scale"), [("s", 1_000_000), ("ms", 1_000), ("us", 1), ("ns", 1)]
    )
    def test_units_convert_exactly(self, unit: str, scale: int) -> None:
        pa = pytest.importorskip("pyarrow")
        from together_billing import TokenUsageBatch
        from together_billing.columnar import usage_batches

        counts = [1_740_787_200 * 1_000_000 // scale, 1_740_787_260 * 1_000_000 // scale]
        raw = [c * 1_000 for c in counts] if unit == "ns" else counts
        column = pa.array(raw, type=pa.timestamp(unit, tz="UTC"))
        expected = (1_740_787_200_000_000, 1_740_787_260_000_000)
        assert TokenUsageBatch("m", column, [1, 2], [3, 4]).at_micros == expected
        table = pa.table(
            {"resource": ["m", "m"], "at": column, "input_tokens": [1, 2], "output_tokens": [3, 4]}
        )
        (batch,) = usage_batches(table)
        assert batch.at_micros == expected

    def test_fractional_microseconds_are_refused_by_both(self) -> None:
        pa = pytest.importorskip("pyarrow")
        from together_billing import TokenUsageBatch
        from together_billing.columnar import usage_batches

        raw = [1_740_787_200_000_000_000, 1_740_787_200_000_000_500]
        column = pa.array(raw, type=pa.timestamp("ns", tz="UTC"))
        with pytest.raises(InvalidArgument) as batch_error:
            TokenUsageBatch("m", column, [1, 2], [3, 4])
        assert batch_error.value.field == "at[1]"
        assert "whole microseconds" in str(batch_error.value)
        table = pa.table(
            {"resource": ["m", "m"], "at": column, "input_tokens": [1, 2], "output_tokens": [3, 4]}
        )
        with pytest.raises(InvalidArgument) as table_error:
            usage_batches(table)
        assert "row 2" in str(table_error.value)
        assert "whole microseconds" in str(table_error.value)

    def test_pandas_aware_nanoseconds(self) -> None:
        pd = pytest.importorskip("pandas")
        from together_billing import TokenUsageBatch

        column = pd.Series(pd.to_datetime(["2025-03-01T00:00:00Z", "2025-03-01T00:01:00Z"]))
        batch = TokenUsageBatch("m", column, [1, 2], [3, 4])
        assert batch.at_micros == (MARCH, MARCH + 60_000_000)


#: 1970-01-01T00:00:00Z to 9998-12-31T23:59:59.999999Z: the years a BillingPeriod allows.
PERIODS = st.integers(0, 253_370_764_799_999_999)


class TestPeriodOfMicros:
    @given(PERIODS)
    def test_the_calendar_month_of_the_instant(self, value: int) -> None:
        """The UTC month the instant falls in, by the standard library's calendar."""
        from together_billing import BillingPeriod

        expected = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=value)
        period = BillingPeriod.of_micros(value)
        assert (period.year, period.month) == (expected.year, expected.month)
        assert period.start_micros <= value < period.end_micros
        assert period == BillingPeriod(expected.year, expected.month)
        assert hash(period) == hash(BillingPeriod(expected.year, expected.month))

    def test_one_shared_value_per_month(self) -> None:
        from together_billing import BillingPeriod

        assert BillingPeriod.of_micros(MARCH) is BillingPeriod.of_micros(MARCH + 86_400_000_000)

    @pytest.mark.parametrize("value", [-1, 253_370_764_800_000_000])
    def test_outside_the_years_of_a_period(self, value: int) -> None:
        from together_billing import BillingPeriod

        with pytest.raises(InvalidArgument, match="year"):
            BillingPeriod.of_micros(value)


class TestIntegerArrayColumns:
    """``array.array`` columns: an integer type code vouches for the items' type, not range."""

    def test_same_batch_as_lists(self) -> None:
        import array

        from together_billing import TokenUsageBatch

        at = [MARCH, MARCH, MARCH + 5]
        fast = TokenUsageBatch(
            "m", array.array("q", at), array.array("q", [1, 2, 3]), array.array("H", [4, 5, 6])
        )
        assert fast == TokenUsageBatch("m", at, [1, 2, 3], [4, 5, 6])
        assert type(fast.at_micros) is tuple
        assert all(type(v) is int for v in fast.input_tokens + fast.output_tokens)

    def test_a_negative_count_is_named_by_index(self) -> None:
        import array

        from together_billing import TokenUsageBatch

        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("m", [MARCH, MARCH], array.array("q", [1, -2]), [0, 0])
        assert info.value.field == "input_tokens[1]"

    def test_instants_out_of_order_are_named(self) -> None:
        import array

        from together_billing import TokenUsageBatch

        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("m", array.array("q", [MARCH + 1, MARCH]), [1, 1], [1, 1])
        assert info.value.field == "at[1]"

    def test_float_arrays_are_refused(self) -> None:
        import array

        from together_billing import TokenUsageBatch

        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("m", [MARCH], array.array("d", [1.0]), [1])
        assert info.value.field == "input_tokens[0]"
