"""Tests of :mod:`together_billing.timeline`: event validation and the total order."""

from __future__ import annotations

import itertools

import pytest

from together_billing import (
    Deploy,
    HardwarePrice,
    InvalidArgument,
    JobCancelled,
    NaiveDatetimeError,
    PriceChange,
    Ready,
    Requests,
    ScaleReplicas,
    Start,
    Stop,
    TokenUsage,
    TokenUsageBatch,
)

T = "2025-11-01T12:00:00Z"


class TestValidation:
    @pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "cached_input_tokens"])
    def test_negative_tokens(self, field: str) -> None:
        """Negative token counts raise naming the field and value."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsage(T, "s", **{field: -5})  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == (field, -5)

    def test_cached_more_than_input(self) -> None:
        """Cached tokens above input tokens raise: cached tokens are part of the input."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsage(T, "s", input_tokens=10, cached_input_tokens=11)
        assert info.value.field == "cached_input_tokens"
        assert "10" in info.value.expected

    def test_bool_tokens_rejected(self) -> None:
        """Booleans are not token counts."""
        with pytest.raises(InvalidArgument):
            TokenUsage(T, "s", input_tokens=True)

    @pytest.mark.parametrize("bad", ["", None])
    def test_bad_resource_id(self, bad: object) -> None:
        """An event must name a resource."""
        with pytest.raises(InvalidArgument) as info:
            Stop(T, bad)  # type: ignore[arg-type]
        assert info.value.field == "resource"

    def test_naive_instant(self) -> None:
        """Events reject naive instants."""
        with pytest.raises(NaiveDatetimeError):
            Requests("2025-11-01T12:00:00", "ep")

    def test_requests_count_at_least_one(self) -> None:
        """Requests(count=0) is rejected."""
        with pytest.raises(InvalidArgument) as info:
            Requests(T, "ep", count=0)
        assert info.value.field == "count"

    def test_scale_negative(self) -> None:
        """ScaleReplicas to a negative count is rejected; zero is allowed."""
        with pytest.raises(InvalidArgument):
            ScaleReplicas(T, "ep", replicas=-1)
        assert ScaleReplicas(T, "ep", replicas=0).replicas == 0

    def test_job_cancelled_negative(self) -> None:
        """JobCancelled with negative tokens is rejected."""
        with pytest.raises(InvalidArgument):
            JobCancelled(T, "j", tokens_processed=-1)


class TestTokenUsageBatch:
    def test_columns_must_match(self) -> None:
        """Columns of different lengths raise naming the short column."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", [T, T], [1, 2], [1])
        assert info.value.field == "output_tokens"

    def test_instants_non_decreasing(self) -> None:
        """Instants out of order raise naming the index."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", ["2025-11-02T00:00:00Z", T], [1, 1], [1, 1])
        assert info.value.field == "at[1]"

    def test_cached_above_input(self) -> None:
        """A record with more cached than input tokens raises naming its index."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", [T, T], [5, 5], [0, 0], [0, 6])
        assert info.value.field == "cached_input_tokens[1]"

    def test_negative_tokens(self) -> None:
        """Negative tokens in a column raise naming the index."""
        with pytest.raises(InvalidArgument) as info:
            TokenUsageBatch("s", [T], [-1], [0])
        assert info.value.field == "input_tokens[0]"

    def test_empty(self) -> None:
        """An empty batch is rejected."""
        with pytest.raises(InvalidArgument):
            TokenUsageBatch("s", [], [], [])

    def test_naive_instant(self) -> None:
        """A naive instant inside a batch is rejected."""
        with pytest.raises(NaiveDatetimeError):
            TokenUsageBatch("s", ["2025-11-01T00:00:00"], [1], [1])

    def test_records(self) -> None:
        """records() gives the equivalent single TokenUsage events."""
        batch = TokenUsageBatch(
            "s", [T, "2025-11-01T13:00:00Z"], [10, 20], [1, 2], [5, 0], batch=True
        )
        assert batch.records() == [
            TokenUsage(T, "s", 10, 1, 5, batch=True),
            TokenUsage("2025-11-01T13:00:00Z", "s", 20, 2, 0, batch=True),
        ]


class TestOrder:
    def test_simultaneous_events_sort_by_priority(self) -> None:
        """At one instant: price change, then stop, then deploy/start/ready, then scale, then activity."""
        price = PriceChange(HardwarePrice("1x_g", "1", T))
        stop = Stop(T, "z-ep")
        deploy = Deploy(T, "a-ep")
        scale = ScaleReplicas(T, "a-ep", replicas=2)
        requests = Requests(T, "a-ep")
        usage = TokenUsage(T, "a-s", input_tokens=1)
        expected = [price, stop, deploy, scale]
        for order in itertools.permutations([usage, requests, scale, deploy, stop, price]):
            result = sorted(order)
            assert result[:4] == expected
            assert set(result[4:]) == {requests, usage}

    def test_instant_comes_first(self) -> None:
        """An earlier instant sorts first whatever the kind of event."""
        early = TokenUsage("2025-11-01T11:59:59.999999Z", "s", input_tokens=1)
        late = PriceChange(HardwarePrice("1x_g", "1", T))
        assert sorted([late, early]) == [early, late]

    def test_order_is_total_and_independent_of_input(self) -> None:
        """Same-priority events at one instant have one canonical order."""
        events = [
            Deploy(T, "b"),
            Start(T, "a"),
            Ready(T, "c"),
            Deploy(T, "a", ready=False),
        ]
        orders = {tuple(sorted(p)) for p in itertools.permutations(events)}
        assert len(orders) == 1

    def test_offsets_compare_as_instants(self) -> None:
        """Events given with different offsets order by their UTC instant."""
        a = Stop("2025-11-01T08:00:00-05:00", "ep")  # 13:00Z
        b = Deploy("2025-11-01T14:00:00+02:00", "ep")  # 12:00Z
        assert sorted([a, b]) == [b, a]


def test_events_pickle_before_and_after_sorting() -> None:
    """Events survive pickling (for multiprocessing and caches), sorted or not."""
    import pickle

    fresh = Stop("2025-11-01T00:00:00Z", "ep")
    sorted_ = Stop("2025-11-01T00:00:00Z", "ep")
    sorted_.sort_key()
    for event in (fresh, sorted_):
        copy = pickle.loads(pickle.dumps(event))
        assert copy == event
        assert copy.sort_key() == event.sort_key()


@pytest.mark.parametrize("cached", [None, [0, 1, 2, 3]])
def test_a_batch_cut_into_parts_keeps_every_record(cached: list[int] | None) -> None:
    """`TokenUsageBatch.part`: the one way a batch is cut (scenario splits, reconcile windows)."""
    at = ["2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z", "2025-11-01T02:00:00Z", T]
    batch = TokenUsageBatch("s", at, [10, 20, 30, 40], [1, 2, 3, 4], cached, batch=True)
    assert batch.part(0, len(batch)) is batch
    for cut in range(1, len(batch)):
        head, tail = batch.part(0, cut), batch.part(cut, len(batch))
        assert (len(head), len(tail)) == (cut, len(batch) - cut)
        assert head.records() + tail.records() == batch.records()
        assert (head.batch, tail.batch) == (True, True)
        assert (head.cached_input_tokens is None) is (cached is None)
