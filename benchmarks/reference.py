"""Reference implementations: what a user would write instead of the library.

Each computes the same invoice as the library for its workload (one line per endpoint
and two per model, each rounded half-up to the cent, as P-ROUND does) and, with credits,
the same final balance, tracking the balance and the run-out check at every event as the
library must. They are written to be fast and exact, not general: they know the workload
(whole-minute lifecycle events, one month, one price per resource, credits that last).

Money is counted in integers: ``U`` = 1/3,600,000,000 of a cent, so that a replica-hour
rate (cents per hour) times microseconds, and a price per million tokens times tokens,
are both whole numbers of ``U``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workloads import (
    END_MICROS,
    HOURLY,
    MINUTE,
    AccountMonth,
    Lifecycle,
    Usage,
    model_price,
)

CENT = Decimal("0.01")
HOURLY_CENTS = int(HOURLY * 100)
U_PER_CENT = 3_600_000_000
TOKEN_U = U_PER_CENT // 1_000_000  # U per (cent per million tokens) per token


class Reference:
    """A reference result: the invoice total and, with credits, the final balance."""

    def __init__(self, total: Decimal, balance: Decimal | None = None) -> None:
        self.total = total
        self.balance = balance


def rounded(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _model_cents(models: int) -> list[tuple[int, int]]:
    return [(int(i * 100), int(o * 100)) for i, o in (model_price(m) for m in range(models))]


def _lines_total(replica_minutes: Sequence[int], tokens: Sequence[tuple[int, int]]) -> Decimal:
    total = Decimal(0)
    for minutes in replica_minutes:
        if minutes:
            total += rounded(minutes * HOURLY / 60)
    for index, (inputs, outputs) in enumerate(tokens):
        price_in, price_out = model_price(index)
        if inputs or outputs:
            total += rounded(inputs * price_in / 1_000_000)
            total += rounded(outputs * price_out / 1_000_000)
    return total


# -- plain Python loops ----------------------------------------------------------------------------


def loop_lifecycle(raw: Sequence[Lifecycle], endpoints: int) -> Reference:
    """Replica-minutes per endpoint from lifecycle rows, one pass."""
    replicas = [0] * endpoints
    since = [0] * endpoints
    used = [0] * endpoints
    for at, kind, index, count in raw:
        used[index] += replicas[index] * (at - since[index])
        since[index] = at
        if kind == "stop":
            replicas[index] = 0
        elif kind == "scale":
            replicas[index] = count
        else:
            replicas[index] = 1
    for index in range(endpoints):
        used[index] += replicas[index] * (END_MICROS - since[index])
    return Reference(_lines_total([u // MINUTE for u in used], []))


def loop_usage(usage: Usage) -> Reference:
    """Tokens per model from the record columns, with a dict of sums."""
    sums: dict[int, list[int]] = {}
    for model, inputs, outputs in zip(usage.model, usage.input, usage.output, strict=True):
        found = sums.get(model)
        if found is None:
            sums[model] = [inputs, outputs]
        else:
            found[0] += inputs
            found[1] += outputs
    tokens = [tuple(sums.get(m, (0, 0))) for m in range(usage.models)]
    return Reference(_lines_total([], tokens))  # type: ignore[arg-type]


def loop_account(month: AccountMonth, *, credits: bool) -> Reference:
    """The account-month in one merged pass over its events, in time order.

    With credits, every event also settles the account's continuous draw (burn rate x
    elapsed time, the burn rate kept up to date by the events that change it), books token
    charges, and checks the balance and the instant it would run out.
    """
    usage = month.usage
    prices = _model_cents(usage.models)
    endpoints = month.ENDPOINTS
    replicas = [0] * endpoints
    since = [0] * endpoints
    used = [0] * endpoints
    tokens = [[0, 0] for _ in range(usage.models)]
    # The three sorted streams, merged by instant: lifecycle, usage, purchases.
    stream: list[tuple[int, int, int]] = [(at, 0, n) for n, (at, *_) in enumerate(month.lifecycle)]
    stream += [(at, 1, n) for n, at in enumerate(usage.at)]
    if credits:
        stream += [(at, 2, n) for n, at in enumerate(month.purchases)]
    stream.sort()
    balance = int(month.opening * 100) * U_PER_CENT
    burn = 0  # U per microsecond
    last = stream[0][0] if stream else 0
    lowest_runway = None
    for at, source, n in stream:
        if credits:
            balance -= burn * (at - last)
            last = at
        if source == 0:
            _, kind, index, count = month.lifecycle[n]
            used[index] += replicas[index] * (at - since[index])
            since[index] = at
            before = replicas[index]
            replicas[index] = 0 if kind == "stop" else count if kind == "scale" else 1
            burn += (replicas[index] - before) * HOURLY_CENTS
        elif source == 1:
            model = usage.model[n]
            inputs, outputs = usage.input[n], usage.output[n]
            found = tokens[model]
            found[0] += inputs
            found[1] += outputs
            if credits:
                price_in, price_out = prices[model]
                balance -= (inputs * price_in + outputs * price_out) * TOKEN_U
        else:
            balance += 50 * 100 * U_PER_CENT
        if credits:
            if balance <= 0:
                raise AssertionError("the reference workload's credits must last the month")
            if burn:
                runway = at + balance // burn  # the instant the balance would reach zero
                lowest_runway = runway if lowest_runway is None else min(lowest_runway, runway)
    for index in range(endpoints):
        used[index] += replicas[index] * (END_MICROS - since[index])
    if credits:
        balance -= burn * (END_MICROS - last)
    total = _lines_total([u // MINUTE for u in used], [tuple(t) for t in tokens])  # type: ignore[misc]
    exact = Decimal(balance) / (U_PER_CENT * 100) if credits else None
    return Reference(total, exact)


# -- pandas ------------------------------------------------------------------------------------------


def pandas_lifecycle(raw: Sequence[Lifecycle], endpoints: int) -> Reference:
    import pandas as pd

    frame = pd.DataFrame(raw, columns=["at", "kind", "ep", "count"])
    return Reference(_lines_total(_pandas_minutes(frame, endpoints, pd), []))


def _pandas_minutes(frame: Any, endpoints: int, pd: Any) -> list[int]:
    frame = frame.sort_values(["ep", "at"], kind="stable")
    after = frame["count"].where(frame["kind"] == "scale", 1).where(frame["kind"] != "stop", 0)
    following = frame.groupby("ep")["at"].shift(-1).fillna(END_MICROS).astype("int64")
    used = (after * (following - frame["at"])).groupby(frame["ep"]).sum()
    used = used.reindex(range(endpoints), fill_value=0)
    return [int(u) // MINUTE for u in used]


def pandas_usage(frame: Any, models: int) -> Reference:
    """Tokens per model with ``DataFrame.groupby(...).sum()`` on the record columns."""
    sums = frame.groupby("model", sort=True)[["input", "output"]].sum()
    tokens = [
        (int(sums.at[m, "input"]), int(sums.at[m, "output"])) if m in sums.index else (0, 0)
        for m in range(models)
    ]
    return Reference(_lines_total([], tokens))


def pandas_account(month: AccountMonth, *, credits: bool) -> Reference:
    """The account-month with dataframes: intervals by shift, tokens by groupby, the balance
    by cumulative sums over the merged events (checked at every event)."""
    import numpy as np
    import pandas as pd

    life = pd.DataFrame(month.lifecycle, columns=["at", "kind", "ep", "count"])
    minutes = _pandas_minutes(life, month.ENDPOINTS, pd)
    usage = month.usage
    records = pd.DataFrame(
        {"at": usage.at, "model": usage.model, "input": usage.input, "output": usage.output}
    )
    sums = records.groupby("model", sort=True)[["input", "output"]].sum()
    tokens = [
        (int(sums.at[m, "input"]), int(sums.at[m, "output"])) if m in sums.index else (0, 0)
        for m in range(usage.models)
    ]
    total = _lines_total(minutes, tokens)
    if not credits:
        return Reference(total)
    prices = np.array(_model_cents(usage.models), dtype=object)
    # Burn-rate changes of the lifecycle events (per endpoint: new replicas - previous).
    life = life.sort_values(["ep", "at"], kind="stable")
    after = life["count"].where(life["kind"] == "scale", 1).where(life["kind"] != "stop", 0)
    change = (after - after.groupby(life["ep"]).shift(1).fillna(0)).astype("int64")
    costs = (
        records["input"].astype(object) * prices[records["model"], 0]
        + records["output"].astype(object) * prices[records["model"], 1]
    ) * TOKEN_U
    merged = pd.concat(
        [
            pd.DataFrame({"at": life["at"], "burn": change * HOURLY_CENTS, "cost": 0}),
            pd.DataFrame({"at": records["at"], "burn": 0, "cost": costs}),
            pd.DataFrame({"at": month.purchases, "burn": 0, "cost": -50 * 100 * U_PER_CENT}),
        ]
    ).sort_values("at", kind="stable")
    at = merged["at"].to_numpy(dtype=object)
    burn = merged["burn"].cumsum().to_numpy(dtype=object)
    elapsed = np.diff(at, append=END_MICROS)
    drawn = (burn * elapsed).cumsum()
    spent = merged["cost"].to_numpy(dtype=object).cumsum()
    opening = int(month.opening * 100) * U_PER_CENT
    balance = opening - spent - np.concatenate([[0], drawn[:-1]])
    if not (balance > 0).all():
        raise AssertionError("the reference workload's credits must last the month")
    final = opening - spent[-1] - drawn[-1]
    return Reference(total, Decimal(int(final)) / (U_PER_CENT * 100))


def numpy_floor(columns: dict[str, Any], models: int) -> Reference:
    """The physical floor of the serverless case: sum the columns with ``bincount``."""
    import numpy as np

    inputs = np.bincount(columns["model"], weights=columns["input"], minlength=models)
    outputs = np.bincount(columns["model"], weights=columns["output"], minlength=models)
    # float64 sums of integers below 2**53 are exact; converted back to int at once.
    return Reference(
        _lines_total([], [(int(i), int(o)) for i, o in zip(inputs, outputs, strict=True)])
    )
