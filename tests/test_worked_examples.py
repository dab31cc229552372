"""The worked examples of ``together-billing-facts.md`` (W1-W19, W25, W26, W29-W31), replayed
with explicit user prices.

Each test's docstring cites the example id and its source as listed in the facts
file. No option is set beyond what each example states: an endpoint bills until it is
stopped unless an idle timeout is set (P-IDLE, unset by default).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from together_billing import (
    Account,
    Catalog,
    ClusterPrice,
    DedicatedEndpoint,
    Deploy,
    DeployFailed,
    FineTuningJob,
    FineTuningPrice,
    HardwarePrice,
    InstantCluster,
    JobCompleted,
    Money,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Stop,
    StoragePrice,
    StorageVolume,
    TokenUsage,
    default_catalog,
    simulate,
)

E = "2025-01-01T00:00:00Z"
H100 = "1x_nvidia_h100_80gb_sxm"
START = "2025-11-01T00:00:00Z"
M = 1_000_000


def h100_catalog(per_hour: str = "5.49") -> Catalog:
    return Catalog([HardwarePrice(H100, per_hour, E)])


def endpoint(hardware: str = H100, replicas: int = 1) -> DedicatedEndpoint:
    return DedicatedEndpoint(
        "ep",
        model="m",
        hardware=hardware,
        min_replicas=replicas,
        max_replicas=max(replicas, 2),
    )


def run_endpoint(
    stop: str,
    *,
    catalog: Catalog,
    hardware: str = H100,
    replicas: int = 1,
    extra: tuple[object, ...] = (),
) -> SimulationResult:
    events = [Deploy(START, "ep"), *extra, Stop(stop, "ep")]
    return simulate(
        [endpoint(hardware, replicas)],
        events,
        until="2025-12-01T00:00:00Z",
        catalog=catalog,  # type: ignore[list-item]
    )


def test_W1_one_h100_replica_for_a_day() -> None:
    """W1: 1 H100 replica at $5.49/h for 24 h is exactly $131.76 (dedicated-endpoints/pricing, DOCS-2026)."""
    result = run_endpoint("2025-11-02T00:00:00Z", catalog=h100_catalog())
    (line,) = result.lines
    assert (line.quantity, line.amount_exact, line.amount) == (
        1440,
        Decimal("131.76"),
        Decimal("131.76"),
    )


def test_W2_thirty_day_month() -> None:
    """W2: the same replica running a whole 30-day month is $3,952.80 (dedicated-endpoints/pricing, DOCS-2026)."""
    result = run_endpoint("2025-12-01T00:00:00Z", catalog=h100_catalog())
    assert result.invoices[0].total == Money("3952.80")
    assert result.invoices[0].lines[0].quantity == 30 * 24 * 60


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_W3_replicas_multiply(replicas: int) -> None:
    """W3: a deployment with N replicas costs N x the single-replica rate (dedicated-endpoints/pricing, DOCS-2026)."""
    result = run_endpoint("2025-11-02T00:00:00Z", catalog=h100_catalog(), replicas=replicas)
    assert result.total == Money("131.76") * replicas


@pytest.mark.parametrize("gpus", [2, 4, 8])
def test_W4_gpu_count_multiplies(gpus: int) -> None:
    """W4: an N-GPU configuration costs N x the 1-GPU rate (dedicated-endpoints/pricing, DOCS-2026)."""
    result = run_endpoint(
        "2025-11-02T00:00:00Z",
        catalog=h100_catalog(),
        hardware=f"{gpus}x_nvidia_h100_80gb_sxm",
    )
    assert result.total == Money("131.76") * gpus
    assert result.lines[0].rate == Decimal("5.49") * gpus


def test_W5_scaling_one_to_two_doubles() -> None:
    """W5: scaling 1 -> 2 replicas doubles the GPU cost from then on (dedicated-endpoints-1, DOCS-2025-11)."""
    result = run_endpoint(
        "2025-11-01T02:00:00Z",
        catalog=h100_catalog("6"),
        extra=(ScaleReplicas("2025-11-01T01:00:00Z", "ep", replicas=2),),
    )
    # First hour $6, second hour 2 x $6.
    assert result.total == Money("18.00")


@pytest.mark.parametrize("how", ["zero-replicas", "stopped"])
def test_W6_zero_replicas_or_stopped_cost_nothing(how: str) -> None:
    """W6: a deployment at 0 replicas, or stopped, costs $0 (dedicated-endpoints/pricing, DOCS-2026)."""
    # One running hour, then a week at 0 replicas or stopped: only the hour bills.
    if how == "zero-replicas":
        events = [
            Deploy(START, "ep"),
            ScaleReplicas("2025-11-01T01:00:00Z", "ep", replicas=0),
        ]
    else:
        events = [Deploy(START, "ep"), Stop("2025-11-01T01:00:00Z", "ep")]
    result = simulate([endpoint()], events, until="2025-11-08T00:00:00Z", catalog=h100_catalog())
    assert result.total == Money("5.49")
    assert [line.quantity for line in result.lines] == [60]


def test_W7_provisioning_then_failed_costs_nothing() -> None:
    """W7: an endpoint queued/provisioning for hours that then fails costs $0 (inference/pricing, DOCS-2026)."""
    result = simulate(
        [endpoint()],
        [Deploy(START, "ep", ready=False), DeployFailed("2025-11-01T05:00:00Z", "ep")],
        until="2025-11-02T00:00:00Z",
        catalog=h100_catalog(),
    )
    assert result.total == Money("0")
    assert result.state.status("ep") == "failed"


def test_W8_cents_per_minute_to_hourly() -> None:
    """W8: cents_per_minute 10.82 is $6.492/h (SKILLS 2026-06-08 hardware-options.md)."""
    price = HardwarePrice.from_cents_per_minute(H100, "10.82", E)
    assert price.per_hour == Decimal("6.492")


def test_W9_cents_per_minute_ninety_minutes() -> None:
    """W9: cents_per_minute 6.0 is $3.60/h, and 90 minutes cost $5.40 (SKILLS 2026-03-25)."""
    catalog = Catalog([HardwarePrice.from_cents_per_minute(H100, "6.0", E)])
    result = run_endpoint("2025-11-01T01:30:00Z", catalog=catalog)
    (line,) = result.lines
    assert line.rate == Decimal("3.60")
    assert line.amount_exact == Decimal("5.4")
    assert line.amount == Decimal("5.40")


def test_W10_ninety_minutes_at_399() -> None:
    """W10: H100 at $3.99/h for 90 minutes is exactly $5.985, billed $5.99 (docs pricing table, DOCS-2026)."""
    result = run_endpoint("2025-11-01T01:30:00Z", catalog=h100_catalog("3.99"))
    (line,) = result.lines
    assert (line.amount_exact, line.amount) == (Decimal("5.985"), Decimal("5.99"))


def _job_result(job: FineTuningJob, rate: str) -> SimulationResult:
    catalog = Catalog(
        [FineTuningPrice("16", "sft", lora=True, per_1m_tokens=rate, effective_from=E)]
    )
    return simulate(
        [job],
        [JobCompleted(START, job.id)],
        until="2025-11-02T00:00:00Z",
        catalog=catalog,
    )


def test_W11_fine_tune_tokens_from_steps() -> None:
    """W11: 8192 context x batch 8 x 1000 steps + 1M validation x 10 evals = 75,536,000 tokens (fine-tuning-pricing)."""
    job = FineTuningJob(
        id="j",
        model="m",
        params_b="8",
        training_tokens=8192 * 8 * 1000,
        n_epochs=1,
        validation_tokens=M,
        n_evals=10,
    )
    assert job.total_tokens == 75_536_000
    (line,) = _job_result(job, "0.48").lines
    assert line.quantity == 75_536_000
    assert line.amount_exact == Decimal("75.536") * Decimal("0.48")


def test_W12_epochs_and_evals() -> None:
    """W12: 3 epochs x 2M + 2 evals x 0.5M = 7M tokens (fine-tuning-faqs, DOCS-2025-11)."""
    job = FineTuningJob(
        id="j",
        model="m",
        params_b="8",
        training_tokens=2 * M,
        n_epochs=3,
        validation_tokens=M // 2,
        n_evals=2,
    )
    (line,) = _job_result(job, "0.48").lines
    assert line.quantity == 7 * M
    assert line.amount_exact == Decimal("3.36")


def test_W13_no_minimum_charge() -> None:
    """W13: a 1,000-token job at $0.48/1M costs exactly $0.00048, rounded to $0.00: no minimum (fine-tuning-pricing)."""
    job = FineTuningJob(id="j", model="m", params_b="8", training_tokens=1000)
    (line,) = _job_result(job, "0.48").lines
    assert (line.amount_exact, line.amount) == (Decimal("0.00048"), Decimal("0.00"))


def _serverless(price: ServerlessPrice, usage: TokenUsage) -> SimulationResult:
    return simulate(
        [ServerlessUsage(usage.resource, model=price.model)],
        [usage],
        until="2025-11-02T00:00:00Z",
        catalog=Catalog([price]),
    )


def test_W18_cached_input() -> None:
    """W18: MiniMax M2.5, 1M input of which 0.5M cached + 1M output = $1.38 (serverless-models, DOCS-2026 mirror)."""
    price = ServerlessPrice("MiniMaxAI/MiniMax-M2.5", "0.30", "1.20", E, cached_input="0.06")
    usage = TokenUsage(START, "s", input_tokens=M, output_tokens=M, cached_input_tokens=M // 2)
    result = _serverless(price, usage)
    assert result.total == Money("1.38")
    assert sum(line.amount_exact for line in result.lines) == Decimal("1.38")


def test_W19_batch_discount() -> None:
    """W19: Llama 3.3 70B Turbo batch, 1M in + 1M out at $0.88/$0.88 with 50% off = $0.88 (batch-inference, DOCS-2025-11)."""
    price = ServerlessPrice(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "0.88",
        "0.88",
        E,
        batch_discount="0.5",
    )
    usage = TokenUsage(START, "s", input_tokens=M, output_tokens=M, batch=True)
    assert _serverless(price, usage).total == Money("0.88")


@pytest.mark.parametrize(
    ("model", "usage", "expected"),
    [
        (
            "MiniMaxAI/MiniMax-M2.5",
            {"input_tokens": M, "output_tokens": M, "cached_input_tokens": M // 2},
            "1.38",
        ),
        (
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            {"input_tokens": M, "output_tokens": M, "batch": True},
            "0.88",
        ),
    ],
)
def test_W18_W19_with_default_catalog(model: str, usage: dict[str, object], expected: str) -> None:
    """W18/W19 hold with the shipped default catalog's figures too (serverless-models, DOCS-2026 mirror)."""
    result = simulate(
        [ServerlessUsage("s", model=model)],
        [TokenUsage("2025-12-01T00:00:00Z", "s", **usage)],  # type: ignore[arg-type]
        until="2025-12-02T00:00:00Z",
        catalog=default_catalog(),
    )
    assert result.total == Money(expected)


# -- W25-W32 with the default policies: only what each example states -----------------------------

CREDIT_CATALOG = Catalog(
    [
        HardwarePrice(H100, "6", E),
        ServerlessPrice("chat", "0.20", "0.60", E),
        ClusterPrice("G", "reserved", "2", E),
        ClusterPrice("G", "on-demand", "3", E),
        StoragePrice("on-demand", "0.5", E),
    ]
)


def _actions(result: SimulationResult, resource: str) -> list[tuple[str, str]]:
    return [(e.at.isoformat(), e.action) for e in result.log if e.resource == resource]


def test_W25_linked_card_account_runs_down_to_minus_100_with_defaults() -> None:
    """W25 (billing, DOCS-2025-11): a Tier 1-4 account with a linked card uses credit down to
    -$100, billed on the month-end invoice; nothing else set."""
    result = simulate(
        [
            DedicatedEndpoint("ep", model="m", hardware=H100),
            Account(opening_balance=100, linked_card=True),
        ],
        [Deploy("2025-11-03T00:00:00Z", "ep")],
        until="2025-12-01T00:00:00Z",
        catalog=CREDIT_CATALOG,
    )
    (invoice,) = result.invoices
    assert (invoice.total, invoice.amount_due) == (Money("200.00"), Money("100.00"))


def test_W26_prepaid_balance_at_zero_suspends_api_access_with_defaults() -> None:
    """W26 (billing-credits, DOCS-2026): at a $0 balance API access is suspended: the endpoint
    stops and requests are refused; nothing set but the account."""
    result = simulate(
        [
            DedicatedEndpoint("ep", model="m", hardware=H100),
            ServerlessUsage("s", model="chat"),
            Account(opening_balance=10),
        ],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            TokenUsage("2025-11-03T05:00:00Z", "s", input_tokens=M),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=CREDIT_CATALOG,
    )
    assert ("2025-11-03T01:40:00+00:00", "API access suspended") in _actions(result, "account")
    assert _actions(result, "s") == [("2025-11-03T05:00:00+00:00", "requests refused")]
    assert result.total == Money("10.00")


def test_W29_W30_W31_running_out_with_defaults() -> None:
    """W29-W31 (gpu-clusters-billing): the reserved GPUs run to their end while the burst is
    decommissioned, the on-demand cluster is paused then decommissioned (72 h), the volume's
    access is revoked then its data deleted (168 h). Default policies. (W32 is in
    tests/test_storage.py; W14-W17, W20-W22, W33 and W34 price things the library does not
    model: images, PTUs, sandboxes, the SDK's nanodollars, build tiers.)"""
    reserved = InstantCluster(
        "r", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=10
    )
    on_demand = InstantCluster("o", gpu_type="G", billing="on-demand", gpus=8)
    volume = StorageVolume("v", size_tib=1)
    result = simulate(
        [reserved, on_demand, volume, Account(opening_balance=100)],
        [Deploy("2025-11-03T00:00:00Z", ident) for ident in ("r", "o", "v")],
        until="2025-11-20T00:00:00Z",
        catalog=CREDIT_CATALOG,
    )
    # $24 (burst) + $24 + $0.50 = $48.50/h: $100 lasts 2 h 3 min 42.68 s.
    out = "2025-11-03T02:03:42.680413+00:00"
    assert (out, "burst capacity decommissioned") in _actions(result, "r")
    assert ("2025-11-13T00:00:00+00:00", "decommissioned") in _actions(result, "r")
    assert (out, "paused") in _actions(result, "o")
    assert ("2025-11-06T02:03:42.680413+00:00", "decommissioned") in _actions(result, "o")
    assert (out, "access revoked") in _actions(result, "v")
    assert ("2025-11-10T02:03:42.680413+00:00", "data deleted") in _actions(result, "v")
