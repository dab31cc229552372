"""The generated account-months of docs/accounts.md, for the many-accounts benchmark.

Every account uses a serverless model every day; one in four also runs a dedicated
endpoint for a few days; one in three has prepaid credits (some run out).
"""

from __future__ import annotations

import random

from together_billing import (
    Account,
    DedicatedEndpoint,
    Deploy,
    ServerlessUsage,
    Stop,
    TokenUsageBatch,
)
from together_billing.accounts import AccountTimeline

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def account_month(seed: int) -> AccountTimeline:
    rng = random.Random(seed)
    resources: list[object] = [ServerlessUsage("chat", model=MODEL)]
    events: list[object] = [
        TokenUsageBatch(
            "chat",
            [f"2025-11-{day:02}T12:00:00Z" for day in range(1, 31)],
            [rng.randint(0, 2_000_000) for _ in range(30)],
            [rng.randint(0, 400_000) for _ in range(30)],
        )
    ]
    if seed % 4 == 0:
        resources.append(
            DedicatedEndpoint(
                "ep",
                model="m",
                hardware="1x_nvidia_h100_80gb_sxm",
                inactive_timeout_minutes=60 * 24 * 31,  # no idle auto-stop this month
            )
        )
        start = rng.randint(1, 20)
        events += [
            Deploy(f"2025-11-{start:02}T09:00:00Z", "ep"),
            Stop(f"2025-11-{start + rng.randint(1, 9):02}T09:00:00Z", "ep"),
        ]
    if seed % 3 == 0:
        resources.append(Account(opening_balance=rng.choice([25, 100, 1000])))
    return AccountTimeline(
        name=f"customer-{seed:05}",
        resources=resources,  # type: ignore[arg-type]
        events=events,  # type: ignore[arg-type]
        until="2025-12-01T00:00:00Z",
    )


def busy(count: int) -> int:
    """Pure CPU work, to measure how much parallelism the machine gives right now."""
    total = 0
    for value in range(count):
        total += value * value
    return total
