"""Columns in: `TokenUsageBatch` from arrays, and usage exports through `together_billing.columnar`.

The states: a column is a list, a tuple, a numpy array, an Arrow array (plain or chunked)
or a pandas Series; each either valid, or wrong in one of the ways the checks know
(negative, out of order, naive, finer than a microsecond, not integers, missing values).
A valid column gives the same batch whatever its container; an invalid one raises the
same kind of error naming the same element. A table in any row order gives batches that
bill exactly what the equivalent single `TokenUsage` events bill.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as arrow_csv
import pyarrow.feather as feather
import pyarrow.parquet as parquet
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
    TokenUsageBatch,
    simulate,
)
from together_billing.columnar import read_usage, usage_batches
from together_billing.time import from_micros, instant, to_micros

MARCH = to_micros(dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
HOUR = 3_600_000_000
AT = [MARCH, MARCH + HOUR, MARCH + HOUR, MARCH + 5 * HOUR]
INPUTS = [10, 0, 3_000, 7]
OUTPUTS = [1, 2, 3, 4]


def containers(values: list[int]) -> dict[str, object]:
    return {
        "list": list(values),
        "tuple": tuple(values),
        "numpy int64": np.array(values, dtype=np.int64),
        "numpy uint64": np.array(values, dtype=np.uint64) if min(values) >= 0 else None,
        "arrow": pa.array(values, type=pa.int64()),
        "arrow chunked": pa.chunked_array([values[:1], values[1:]], type=pa.int64()),
        "pandas": pd.Series(values, dtype="int64"),
    }


KINDS = list(containers([1]))


class TestBatchFromArrays:
    @pytest.mark.parametrize("kind", KINDS)
    def test_same_batch_whatever_the_container(self, kind: str) -> None:
        """A valid column gives the batch a list gives, with plain Python ints inside."""
        expected = TokenUsageBatch("s", AT, INPUTS, OUTPUTS, INPUTS)
        made = TokenUsageBatch(
            "s",
            containers(AT)[kind],
            containers(INPUTS)[kind],
            containers(OUTPUTS)[kind],
            containers(INPUTS)[kind],
        )
        assert made == expected
        assert made.sort_key() == expected.sort_key()
        for column in (made.at_micros, made.input_tokens, made.output_tokens):
            assert isinstance(column, tuple)
            assert {type(value) for value in column} == {int}

    @pytest.mark.parametrize("kind", [k for k in KINDS if k != "numpy uint64"])
    def test_negative_tokens_name_the_element(self, kind: str) -> None:
        column = containers([5, 0, -3, -1])[kind]
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT, column, OUTPUTS)
        assert info.value.field == "input_tokens[2]"
        assert info.value.value == -3

    @pytest.mark.parametrize("kind", KINDS)
    def test_instants_out_of_order_name_the_element(self, kind: str) -> None:
        column = containers([AT[0], AT[3], AT[1], AT[2]])[kind]
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", column, INPUTS, OUTPUTS)
        assert info.value.field == "at[2]"
        assert info.value.value == from_micros(AT[1]).isoformat()

    @pytest.mark.parametrize("kind", KINDS)
    def test_cached_above_input_names_the_element(self, kind: str) -> None:
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT, INPUTS, OUTPUTS, containers([10, 1, 0, 0])[kind])
        assert info.value.field == "cached_input_tokens[1]"

    @pytest.mark.parametrize(
        "column",
        [
            np.array([1.0, 2.0]),
            np.array([True, False]),
            pa.array([1.5, 2.0]),
            pd.Series([1.0, 2.0]),
            np.array(["1", "2"]),
        ],
        ids=["numpy float", "numpy bool", "arrow float", "pandas float", "numpy text"],
    )
    def test_tokens_that_are_not_integers_are_refused(self, column: object) -> None:
        """Floats are never rounded into token counts, bools never counted."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT[:2], column, [1, 1])
        assert info.value.field == "input_tokens"

    @pytest.mark.parametrize(
        "column",
        [pa.array([1, None]), pd.Series([1, None], dtype="Int64")],
        ids=["arrow", "pandas"],
    )
    def test_missing_values_are_refused(self, column: object) -> None:
        with pytest.raises(InvalidArgument, match="a value in every row"):
            TokenUsageBatch("s", AT[:2], column, [1, 1])

    def test_two_dimensional_arrays_are_refused(self) -> None:
        with pytest.raises(InvalidArgument, match="one-dimensional"):
            TokenUsageBatch("s", AT[:2], np.array([[1], [2]]), [1, 1])

    def test_unsigned_values_beyond_int64_are_refused(self) -> None:
        with pytest.raises(InvalidArgument, match="signed 64-bit"):
            TokenUsageBatch("s", AT[:1], np.array([2**63], dtype=np.uint64), [1])

    @pytest.mark.parametrize(
        "column",
        [
            np.array(AT, dtype="datetime64[us]"),
            pa.array(AT, type=pa.timestamp("us")),
            pd.Series(pd.to_datetime(AT, unit="us")),
        ],
        ids=["numpy datetime64", "arrow naive timestamp", "pandas naive datetime"],
    )
    def test_naive_timestamps_are_refused(self, column: object) -> None:
        with pytest.raises(NaiveDatetimeError):
            TokenUsageBatch("s", column, INPUTS, OUTPUTS)

    @pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
    def test_aware_timestamps_in_any_unit(self, unit: str) -> None:
        """Aware Arrow and pandas timestamps are read exactly, whatever their unit."""
        seconds = [value // 1_000_000 for value in AT]
        scale = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
        raw = [value * scale for value in seconds]
        expected = tuple(value * 1_000_000 for value in seconds)
        arrow = pa.array(raw, type=pa.timestamp(unit, tz="+02:00"))
        assert TokenUsageBatch("s", arrow, INPUTS, OUTPUTS).at_micros == expected
        series = pd.Series(pd.to_datetime(raw, unit=unit, utc=True))
        assert TokenUsageBatch("s", series, INPUTS, OUTPUTS).at_micros == expected

    def test_nanoseconds_are_never_truncated(self) -> None:
        column = pa.array([AT[0] * 1_000, AT[1] * 1_000 + 1], type=pa.timestamp("ns", tz="UTC"))
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", column, [1, 1], [1, 1])
        assert info.value.field == "at[1]"

    def test_list_elements_keep_their_checks(self) -> None:
        """The fast check of lists falls back to naming the element at fault."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT[:2], [1, True], [1, 1])
        assert info.value.field == "input_tokens[1]"
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT[:2], [1, 2], [1, "2"])
        assert info.value.field == "output_tokens[1]"
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", [AT[0], True], [1, 2], [1, 2])
        assert info.value.field == "at[1]"
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", AT[:2], "12", [1, 2])
        assert info.value.field == "input_tokens"


class TestSingleEventConstruction:
    @pytest.mark.parametrize(
        "given",
        [
            "2025-03-01T10:00:00Z",
            "2025-03-01T12:00:00+02:00",
            dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC),
            dt.datetime(2025, 3, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            instant("2025-03-01T10:00:00Z"),
            instant("2025-03-01T10:00:00Z").in_timezone("Asia/Tokyo"),
        ],
        ids=["Z text", "offset text", "UTC datetime", "offset datetime", "UTC pendulum", "Tokyo"],
    )
    def test_every_form_of_an_instant_gives_the_same_event(self, given: object) -> None:
        """The cheap paths (already UTC) and the general one agree, to the microsecond."""
        event = TokenUsage(given, "s", 5, 1)
        assert event == TokenUsage(from_micros(MARCH + 10 * HOUR), "s", 5, 1)
        assert event.at.utcoffset() == dt.timedelta(0)
        assert event.sort_key()[0] == MARCH + 10 * HOUR

    def test_naive_instants_are_still_refused(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            TokenUsage(dt.datetime(2025, 3, 1), "s", 1)
        with pytest.raises(NaiveDatetimeError):
            TokenUsage("2025-03-01T00:00:00", "s", 1)

    @pytest.mark.parametrize("value", [-1, True, 1.0, "1", Decimal(1)])
    def test_token_counts_are_still_checked(self, value: object) -> None:
        with pytest.raises(InvalidArgument) as info:
            TokenUsage("2025-03-01T00:00:00Z", "s", value)  # type: ignore[arg-type]
        assert info.value.field == "input_tokens"


# -- usage exports ------------------------------------------------------------------------------

PRICES = Catalog(
    [
        ServerlessPrice("m-a", "0.10", "0.40", "2020-01-01T00:00:00Z"),
        ServerlessPrice("m-b", "0.27", "0.85", "2020-01-01T00:00:00Z"),
    ]
)
RESOURCES = [ServerlessUsage("a", model="m-a"), ServerlessUsage("b", model="m-b")]
END = from_micros(MARCH + 31 * 24 * HOUR)

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.integers(MARCH, MARCH + 30 * 24 * HOUR),
        st.integers(0, 10**7),
        st.integers(0, 10**6),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


def single_events(records: list[tuple[str, int, int, int, bool]]) -> list[TokenUsage]:
    return [TokenUsage(from_micros(t), r, i, o, i // 2, b) for r, t, i, o, b in records]


def as_table(records: list[tuple[str, int, int, int, bool]]) -> dict[str, list[object]]:
    return {
        "resource": [r for r, *_ in records],
        "at": [t for _, t, *_ in records],
        "input_tokens": [i for _, _, i, _, _ in records],
        "output_tokens": [o for *_, o, _ in records],
        "cached": [i // 2 for _, _, i, _, _ in records],
        "batch": [b for *_, b in records],
    }


def lines(events: object) -> list[tuple[object, ...]]:
    result = simulate(RESOURCES, events, until=END, catalog=PRICES)  # type: ignore[arg-type]
    return [(x.resource, x.description, x.quantity, x.amount_exact) for x in result.lines]


@given(rows)
def test_batches_from_a_table_bill_what_single_events_bill(
    records: list[tuple[str, int, int, int, bool]],
) -> None:
    """Rows in any order, split by resource and Batch API flag: the same invoice lines."""
    batches = usage_batches(as_table(records), cached_input_tokens="cached", batch="batch")
    assert sum(len(b) for b in batches) == len(records)
    assert [(b.resource, b.batch) for b in batches] == sorted({(r, f) for r, *_, f in records})
    assert lines(batches) == lines(single_events(records))
    assert usage_batches(as_table(records[::-1]), cached_input_tokens="cached", batch="batch")


def test_one_batch_per_resource_sorted_stably() -> None:
    table = {
        "resource": ["b", "a", "b", "a"],
        "at": [AT[1], AT[3], AT[1], AT[0]],
        "input_tokens": [1, 2, 3, 4],
        "output_tokens": [0, 0, 0, 0],
    }
    a, b = usage_batches(table)
    assert (a.resource, a.at_micros, a.input_tokens) == ("a", (AT[0], AT[3]), (4, 2))
    assert (b.resource, b.at_micros, b.input_tokens) == ("b", (AT[1], AT[1]), (1, 3))
    assert not a.batch
    assert usage_batches({"resource": [], "at": [], "input_tokens": [], "output_tokens": []}) == ()


def test_pandas_and_arrow_tables_give_the_same_batches() -> None:
    table = as_table([("a", AT[0], 5, 1, False), ("b", AT[1], 6, 2, True)])
    expected = usage_batches(table, batch="batch")
    assert usage_batches(pd.DataFrame(table), batch="batch") == expected
    assert usage_batches(pa.table(table), batch="batch") == expected
    categorical = pd.DataFrame(table).astype({"resource": "category"})  # dictionary-encoded
    assert usage_batches(categorical, batch="batch") == expected


@pytest.mark.parametrize(
    ("change", "field", "where"),
    [
        ({"input_tokens": [1, -2]}, "input_tokens", "row 2"),
        ({"output_tokens": [1, None]}, "output_tokens", "row 2"),
        ({"input_tokens": [1.5, 2.0]}, "input_tokens", "row 1"),
        ({"resource": ["a", " "]}, "resource", "row 2"),
        ({"resource": [1, 2]}, "resource", "row 1"),
        ({"at": ["2025-03-01T00:00:00Z", "2025-03-01T00:00:00"]}, "at (t, row 2)", ""),
        ({"at": ["2025-03-01T00:00:00Z", "yesterday"]}, "at (t, row 2)", ""),
        ({"at": [1.0, 2.0]}, "at", "row 1"),
        ({"cached": [1, 3]}, "cached", "row 2"),
        ({"batch": [1, 0]}, "batch", "row 1"),
    ],
)
def test_bad_rows_are_named(change: dict[str, list[object]], field: str, where: str) -> None:
    table: dict[str, list[object]] = {
        "resource": ["a", "b"],
        "at": [AT[0], AT[1]],
        "input_tokens": [1, 2],
        "output_tokens": [1, 2],
        "cached": [1, 2],
        "batch": [True, False],
    }
    table.update(change)
    with pytest.raises(InvalidArgument) as info:
        usage_batches(table, cached_input_tokens="cached", batch="batch", source="t")
    assert info.value.field == field
    assert where in str(info.value)


def test_naive_timestamps_in_a_table_are_refused() -> None:
    table = pa.table(
        {
            "resource": ["a"],
            "at": pa.array([AT[0]], type=pa.timestamp("us")),
            "input_tokens": [1],
            "output_tokens": [1],
        }
    )
    with pytest.raises(InvalidArgument, match="timezone-aware"):
        usage_batches(table)


def test_missing_columns_are_named() -> None:
    with pytest.raises(InvalidArgument) as info:
        usage_batches({"resource": ["a"], "at": [AT[0]], "input_tokens": [1]})
    assert info.value.field == "output_tokens"
    with pytest.raises(InvalidArgument, match="a pyarrow Table"):
        usage_batches([1, 2, 3])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".feather"])
def test_read_usage_files(tmp_path: Path, suffix: str) -> None:
    """A usage export in each format gives the batches of the same table in memory."""
    records = [("b", AT[2], 7, 1, False), ("a", AT[0], 5, 1, True), ("a", AT[1], 6, 2, False)]
    data = as_table(records)
    data["at"] = [from_micros(t).isoformat().replace("+00:00", "Z") for t in data["at"]]
    table = pa.table(data)
    path = tmp_path / f"usage{suffix}"
    if suffix == ".csv":
        arrow_csv.write_csv(table, path)
    elif suffix == ".parquet":
        parquet.write_table(table, path)
    else:
        feather.write_feather(table, path)
    found = read_usage(path, cached_input_tokens="cached", batch="batch")
    assert found == usage_batches(as_table(records), cached_input_tokens="cached", batch="batch")


def test_read_usage_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("resource,at,input_tokens,output_tokens\na,2025-03-01T00:00:00Z,-1,0\n")
    with pytest.raises(InvalidArgument) as info:
        read_usage(path)
    assert info.value.field == "input_tokens"
    assert f"{path}, row 1" in str(info.value)
    with pytest.raises(InvalidArgument) as info:
        read_usage(path, output_tokens="completion_tokens")
    assert info.value.field == "output_tokens"
    with pytest.raises(InvalidArgument, match="an existing file"):
        read_usage(tmp_path / "nope.csv")
    with pytest.raises(InvalidArgument, match="a file ending in"):
        read_usage(tmp_path / "usage.xlsx")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(InvalidArgument, match="a readable parquet usage export"):
        read_usage(broken)
