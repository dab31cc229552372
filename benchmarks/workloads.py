"""The benchmark workloads: generated data (fixed seeds), as the library and the references take it.

Each workload keeps its *raw* form (plain columns of ints and strings, as read from a
database or an export) and builds the library's events from it inside the timed path, so
the library's figures include building the events, as a user pays for them.

All lifecycle events fall on whole minutes, so per-started-minute billing (P-GRAIN) and
a continuous credit draw agree, and the references can count in integers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import together_billing as tb
from together_billing.time import from_micros, to_micros

HARDWARE = "1x_nvidia_h100_80gb_sxm"
HOURLY = Decimal("3.99")
EFFECTIVE = "2020-01-01T00:00:00Z"
MONTH_START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
MONTH_END = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
START_MICROS = to_micros(MONTH_START)
END_MICROS = to_micros(MONTH_END)
MINUTE = 60_000_000
MONTH_MINUTES = (END_MICROS - START_MICROS) // MINUTE
#: An inactivity timeout (minutes) that never fires in a benchmark (about 190 years):
#: endpoints bill until stopped, whatever the default idle policy (P-IDLE) is.
NO_IDLE_STOP = 10**8


def model_name(index: int) -> str:
    return f"model-{index:02d}"


def model_price(index: int) -> tuple[Decimal, Decimal]:
    """Input and output USD per million tokens of model ``index``."""
    cents = Decimal(10 + index)
    return cents / 100, cents * 4 / 100


def catalog(models: int) -> tb.Catalog:
    entries: list[tb.PriceEntry] = [tb.HardwarePrice(HARDWARE, str(HOURLY), EFFECTIVE)]
    entries += [
        tb.ServerlessPrice(model_name(index), *model_price(index), EFFECTIVE)
        for index in range(models)
    ]
    return tb.Catalog(entries)


# -- lifecycle timelines (endpoints) -----------------------------------------------------------

#: Raw lifecycle events: (micros, kind, endpoint index, replicas for "scale").
Lifecycle = tuple[int, str, int, int]


def lifecycle(endpoints: int, events: int, rng: random.Random) -> list[Lifecycle]:
    """About ``events`` deploy/stop/start/scale events over ``endpoints`` in one month.

    Each endpoint is deployed, then cycles through stop, start and replica changes (1 to
    4 replicas) at random whole minutes; the events of all endpoints interleave.
    """
    per = max(2, events // endpoints)
    found: list[Lifecycle] = []
    for index in range(endpoints):
        minutes = sorted(rng.sample(range(MONTH_MINUTES - 1), per))
        running = False
        deployed = False
        for minute in minutes:
            at = START_MICROS + minute * MINUTE
            if not deployed:
                found.append((at, "deploy", index, 1))
                deployed = running = True
            elif running and rng.random() < 0.5:
                found.append((at, "scale", index, rng.randint(1, 4)))
            elif running:
                found.append((at, "stop", index, 0))
                running = False
            else:
                found.append((at, "start", index, 0))
                running = True
    found.sort()
    return found


def endpoint_id(index: int) -> str:
    return f"ep-{index:05d}"


def endpoints(count: int) -> list[tb.DedicatedEndpoint]:
    return [
        tb.DedicatedEndpoint(
            endpoint_id(index),
            model="bench-model",
            hardware=HARDWARE,
            min_replicas=1,
            max_replicas=4,
            inactive_timeout_minutes=NO_IDLE_STOP,
        )
        for index in range(count)
    ]


def lifecycle_events(raw: Sequence[Lifecycle]) -> list[tb.Event]:
    """The library's events for raw lifecycle rows (built inside the timed path)."""
    events: list[tb.Event] = []
    append = events.append
    for at, kind, index, replicas in raw:
        when = from_micros(at)
        rid = endpoint_id(index)
        if kind == "deploy":
            append(tb.Deploy(when, rid))
        elif kind == "stop":
            append(tb.Stop(when, rid))
        elif kind == "start":
            append(tb.Start(when, rid))
        else:
            append(tb.ScaleReplicas(when, rid, replicas=replicas))
    # Replicas set while stopped take effect at the next start in the engine; the
    # generator never scales a stopped endpoint, so both sides agree.
    return events


# -- usage records (serverless) ------------------------------------------------------------------


class Usage:
    """Serverless usage records as columns: instant (micros), model index, tokens."""

    def __init__(self, records: int, models: int, seed: int) -> None:
        rng = random.Random(seed)
        self.models = models
        self.at = sorted(rng.randrange(START_MICROS, END_MICROS) for _ in range(records))
        self.model = [rng.randrange(models) for _ in range(records)]
        self.input = [rng.randint(1, 8_000) for _ in range(records)]
        self.output = [rng.randint(1, 2_000) for _ in range(records)]

    def __len__(self) -> int:
        return len(self.at)

    def resources(self) -> list[tb.ServerlessUsage]:
        return [
            tb.ServerlessUsage(usage_id(index), model=model_name(index))
            for index in range(self.models)
        ]

    def single_events(self) -> list[tb.TokenUsage]:
        """One ``TokenUsage`` per record, from the raw columns (``TokenUsage.from_micros``)."""
        ids = [usage_id(index) for index in range(self.models)]
        build = tb.TokenUsage.from_micros
        return [
            build(t, ids[m], i, o)
            for t, m, i, o in zip(self.at, self.model, self.input, self.output, strict=True)
        ]

    def single_events_from_instants(self) -> list[tb.TokenUsage]:
        """The same events through the constructor, each instant built first (``from_micros``)."""
        ids = [usage_id(index) for index in range(self.models)]
        return [
            tb.TokenUsage(from_micros(t), ids[m], i, o)
            for t, m, i, o in zip(self.at, self.model, self.input, self.output, strict=True)
        ]

    def numpy_columns(self) -> dict[str, Any]:
        import numpy as np

        return {
            "at": np.array(self.at, dtype=np.int64),
            "model": np.array(self.model, dtype=np.int64),
            "input": np.array(self.input, dtype=np.int64),
            "output": np.array(self.output, dtype=np.int64),
        }

    def arrow_table(self) -> Any:
        """The records as an Arrow table with resource ids, as a usage export reads."""
        import pyarrow as pa

        ids = [usage_id(index) for index in range(self.models)]
        return pa.table(
            {
                "resource": pa.array([ids[m] for m in self.model]).dictionary_encode(),
                "at": pa.array(self.at, type=pa.int64()),
                "input_tokens": pa.array(self.input, type=pa.int64()),
                "output_tokens": pa.array(self.output, type=pa.int64()),
            }
        )


def usage_id(index: int) -> str:
    return f"usage-{index:02d}"


# -- the account-month -------------------------------------------------------------------------


class AccountMonth:
    """10 resources (5 endpoints, 5 serverless models), about 1,000 mixed events, one month.

    With credits on, an ``Account`` with an opening balance that lasts the month and a
    few purchases.
    """

    ENDPOINTS = 5
    MODELS = 5

    def __init__(self, events: int, seed: int) -> None:
        rng = random.Random(seed)
        self.lifecycle = lifecycle(self.ENDPOINTS, events // 5, rng)
        self.usage = Usage(events - len(self.lifecycle), self.MODELS, seed + 1)
        self.purchases = sorted(
            START_MICROS + rng.randrange(MONTH_MINUTES) * MINUTE for _ in range(4)
        )
        self.opening = Decimal(100_000)

    @property
    def events(self) -> int:
        return len(self.lifecycle) + len(self.usage) + len(self.purchases)

    def resources(self, *, credits: bool) -> list[Any]:
        found: list[Any] = [*endpoints(self.ENDPOINTS), *self.usage.resources()]
        if credits:
            found.append(tb.Account(opening_balance=self.opening))
        return found

    def library_events(self, *, credits: bool) -> list[tb.Event]:
        events = lifecycle_events(self.lifecycle) + list(self.usage.single_events())
        if credits:
            events += [
                tb.Purchase(from_micros(at), "account", Decimal(50)) for at in self.purchases
            ]
        return events
