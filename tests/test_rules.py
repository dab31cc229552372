"""One test per rule of the rule book (``spec/RULES.md``): G1-G5, SL1-SL3, FT1-FT3, DE1-DE4, IN1-IN4.

Every test uses a tiny catalog of user prices built here, so the figures do not
depend on the default catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest

from together_billing import (
    Catalog,
    Category,
    DedicatedEndpoint,
    Deploy,
    DeployFailed,
    Event,
    FineTunedHosting,
    FineTuningJob,
    FineTuningPrice,
    HardwarePrice,
    InvalidTimeline,
    InvoiceStatus,
    JobCancelled,
    JobCompleted,
    Money,
    NaiveDatetimeError,
    Policies,
    PriceChange,
    Ready,
    Requests,
    Resource,
    RoundingMode,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    SizeTierPrice,
    Start,
    Stop,
    TokenUsage,
    UnknownPrice,
    simulate,
)

E = "2025-01-01T00:00:00Z"
DAY = "2025-11-03"
M = 1_000_000


def at(hhmm: str, day: str = DAY) -> str:
    """An instant on the test day, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


CATALOG = Catalog(
    [
        HardwarePrice("1x_g", "6", E),  # 0.10 per replica-minute
        ServerlessPrice("chat", "0.20", "0.60", E),
        ServerlessPrice("cached", "0.30", "1.20", E, cached_input="0.06"),
        ServerlessPrice("batchy", "0.88", "0.88", E, batch_discount="0.5"),
        SizeTierPrice("small", "8", "0.10", "0.30", E),
        FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.50", effective_from=E),
        FineTuningPrice("16", "sft", lora=False, per_1m_tokens="2.00", effective_from=E),
        FineTuningPrice("16", "dpo", lora=True, per_1m_tokens="1.00", effective_from=E),
        FineTuningPrice("70", "sft", lora=True, per_1m_tokens="3.00", effective_from=E),
    ]
)


def endpoint(ident: str = "ep", **fields: object) -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware="1x_g", **fields)  # type: ignore[arg-type]


def run(
    resources: Iterable[Resource],
    events: Sequence[Event],
    until: str = "2025-11-04T00:00:00Z",
    policies: Policies | None = None,
    catalog: Catalog = CATALOG,
) -> SimulationResult:
    return simulate(resources, events, until=until, catalog=catalog, policies=policies)


def minutes(result: SimulationResult, resource: str) -> Decimal:
    return sum(
        (line.quantity for line in result.lines if line.resource == resource),
        Decimal(0),
    )


def actions(result: SimulationResult) -> list[tuple[str, str, str]]:
    return [(entry.resource, entry.action, entry.rule) for entry in result.log]


# -- Common -----------------------------------------------------------------------------------


def test_G1_exact_until_line_then_half_up_per_line() -> None:
    """G1: amounts stay exact per line (5.985), round half-up once per line, and total the lines."""
    cat = Catalog([HardwarePrice("1x_g", "3.99", E)])
    result = run(
        [endpoint("a"), endpoint("b")],
        [
            Deploy(at("09:00"), "a"),
            Stop(at("10:30"), "a"),
            Deploy(at("09:00"), "b"),
            Stop(at("10:30"), "b"),
        ],
        catalog=cat,
    )
    invoice = result.invoices[0]
    assert [line.amount_exact for line in invoice.lines] == [Decimal("5.985")] * 2
    assert [line.amount for line in invoice.lines] == [Decimal("5.99")] * 2
    # Rounded per line, not on the exact sum (11.97).
    assert invoice.total == Money("11.98")
    half_even = run(
        [endpoint("a")],
        [Deploy(at("09:00"), "a"), Stop(at("10:30"), "a")],
        catalog=cat,
        policies=Policies(rounding=RoundingMode.HALF_EVEN),
    )
    assert half_even.total == Money("5.98")


def test_G2_naive_instants_rejected_and_periods_are_utc_months() -> None:
    """G2: naive instants are rejected; usage at 23:30 on 31 Oct in UTC-4 lands in November's UTC period."""
    with pytest.raises(NaiveDatetimeError):
        simulate([], [], until="2025-11-04T00:00:00", catalog=CATALOG)
    result = run(
        [ServerlessUsage("s", model="chat")],
        [TokenUsage("2025-10-31T23:30:00-04:00", "s", input_tokens=M)],
        until="2025-11-04T00:00:00Z",
    )
    assert [i.period.label for i in result.invoices] == ["2025-11"]
    assert result.invoices[0].total == Money("0.20")


def test_G3_per_started_minute_anchored_at_start_and_split_invariant() -> None:
    """G3: a 90 min 1 s run bills 91 started minutes on a grid anchored at the ready instant."""
    events = [Deploy(at("09:00:30"), "ep"), Stop(at("10:30:31"), "ep")]
    result = run([endpoint()], events)
    (line,) = result.lines
    assert line.quantity == 91
    assert line.interval.start.isoformat() == "2025-11-03T09:00:30+00:00"
    assert line.interval.end.isoformat() == "2025-11-03T10:31:30+00:00"
    # Splitting the replay mid-minute changes nothing.
    first = run([endpoint()], events[:1], until=at("09:45:45"))
    second = Simulator(CATALOG).run([], events[1:], until="2025-11-04T00:00:00Z", state=first.state)
    assert second.to_dict()["invoices"] == result.to_dict()["invoices"]


def test_G4_price_change_mid_period_splits_lines_at_its_instant() -> None:
    """G4: a PriceChange mid-period bills minutes started before it at the old rate, after at the new."""
    change = PriceChange(HardwarePrice("1x_g", "12", at("10:00")))
    result = run([endpoint()], [Deploy(at("09:00"), "ep"), change, Stop(at("11:00"), "ep")])
    lines = result.invoices[0].lines
    assert [(line.rate, line.quantity) for line in lines] == [
        (Decimal(6), 60),
        (Decimal(12), 60),
    ]
    assert lines[0].interval.end == lines[1].interval.start
    assert lines[1].interval.start.isoformat() == "2025-11-03T10:00:00+00:00"
    assert lines[1].price_effective_from.isoformat() == "2025-11-03T10:00:00+00:00"
    assert result.total == Money("18.00")
    assert ("", "price change", "G4") in actions(result)


def test_G5_deployment_and_usage_groups_separate() -> None:
    """G5: endpoint/hosting charges form the deployment group; serverless and jobs the usage group."""
    job = FineTuningJob(id="j", model="base", params_b="8", training_tokens=2 * M)
    result = run(
        [
            endpoint(),
            FineTunedHosting("h", model="ft", hardware="1x_g"),
            ServerlessUsage("s", model="chat"),
            job,
        ],
        [
            Deploy(at("09:00"), "ep"),
            Stop(at("10:00"), "ep"),
            Deploy(at("09:00"), "h"),
            Stop(at("09:30"), "h"),
            TokenUsage(at("09:10"), "s", input_tokens=M, output_tokens=M),
            JobCompleted(at("12:00"), "j"),
        ],
    )
    groups = result.invoices[0].by_group()
    assert groups == {"deployment": Money("9.00"), "usage": Money("1.80")}
    for line in result.lines:
        assert line.category.group == ("deployment" if line.resource in ("ep", "h") else "usage")


# -- Serverless -------------------------------------------------------------------------------


def test_SL1_tokens_times_rates_no_use_no_charge() -> None:
    """SL1: input and output at their own rates per 1M; no minimum; a resource with no use has no line."""
    result = run(
        [ServerlessUsage("s", model="chat"), ServerlessUsage("idle", model="chat")],
        [
            TokenUsage(at("09:00"), "s", input_tokens=1_500_000, output_tokens=250_000),
            TokenUsage(at("10:00"), "s", input_tokens=1),
        ],
    )
    lines = result.invoices[0].lines
    assert {(line.description, line.quantity, line.amount_exact) for line in lines} == {
        ("chat input tokens", 1_500_001, Decimal("0.3000002")),
        ("chat output tokens", 250_000, Decimal("0.15")),
    }
    assert all(line.rule == "SL1" for line in lines)
    assert not result.invoices[0].lines_for("idle")


def test_SL2_size_tier_fallback_and_policy_off() -> None:
    """SL2: a model without an entry is priced by size tier; with P-TIER off it has no price."""
    usage = ServerlessUsage("s", model="my/7b", params_b="7")
    events = [TokenUsage(at("09:00"), "s", input_tokens=M, output_tokens=M)]
    result = run([usage], events)
    assert result.total == Money("0.40")
    assert {line.rule for line in result.lines} == {"SL2"}
    assert all("small" in line.description for line in result.lines)
    with pytest.raises(UnknownPrice):
        run([usage], events, policies=Policies(size_tier_fallback=False))


def test_SL3_cached_rate_where_present_else_input_and_batch_discount() -> None:
    """SL3: cached tokens bill at the cached rate if the model has one, else as input; batch gets its discount."""
    result = run(
        [
            ServerlessUsage("c", model="cached"),
            ServerlessUsage("n", model="chat"),
            ServerlessUsage("b", model="batchy"),
        ],
        [
            TokenUsage(at("09:00"), "c", input_tokens=M, cached_input_tokens=M // 2),
            TokenUsage(at("09:00"), "n", input_tokens=M, cached_input_tokens=M // 2),
            TokenUsage(at("09:00"), "b", input_tokens=M, output_tokens=M, batch=True),
        ],
    )
    invoice = result.invoices[0]
    assert sum(line.amount_exact for line in invoice.lines_for("c")) == Decimal("0.18")
    assert sum(line.amount_exact for line in invoice.lines_for("n")) == Decimal("0.20")
    assert sum(line.amount_exact for line in invoice.lines_for("b")) == Decimal("0.88")
    override = run(
        [ServerlessUsage("b", model="batchy")],
        [TokenUsage(at("09:00"), "b", input_tokens=M, output_tokens=M, batch=True)],
        policies=Policies(batch_discount="0.25"),
    )
    assert override.total == Money("1.32")
    unbatched = run(
        [ServerlessUsage("b", model="batchy")],
        [TokenUsage(at("09:00"), "b", input_tokens=M, output_tokens=M)],
    )
    assert unbatched.total == Money("1.76")


# -- Fine-tuning ------------------------------------------------------------------------------


def test_FT1_job_cost_by_bracket_method_lora_at_completion_or_cancel() -> None:
    """FT1: (epochs x train + evals x validation) x bracket rate, at completion; cancelled bills tokens processed."""

    def job(ident: str, **fields: object) -> FineTuningJob:
        base: dict[str, object] = {
            "model": "base",
            "params_b": "8",
            "training_tokens": 2 * M,
            "n_epochs": 3,
            "validation_tokens": M // 2,
            "n_evals": 2,
        }
        base.update(fields)
        return FineTuningJob(id=ident, **base)  # type: ignore[arg-type]

    jobs = [
        job("lora"),
        job("full", lora=False),
        job("dpo", method="dpo"),
        job("big", params_b="20"),
        job("cx"),
        job("open"),
    ]
    result = run(
        jobs,
        [
            JobCompleted(at("10:00"), "lora"),
            JobCompleted(at("10:00"), "full"),
            JobCompleted(at("10:00"), "dpo"),
            JobCompleted(at("10:00"), "big"),
            JobCancelled(at("10:00"), "cx", tokens_processed=1_234_567),
        ],
    )
    by_job = {line.resource: line for line in result.lines}
    assert by_job["lora"].quantity == 7 * M
    assert {k: v.amount_exact for k, v in by_job.items()} == {
        "lora": Decimal("3.5"),
        "full": Decimal(14),
        "dpo": Decimal(7),
        "big": Decimal(21),
        "cx": Decimal("0.6172835"),
    }
    assert "open" not in by_job
    assert all(
        line.rule == "FT1" and line.category is Category.FINE_TUNING for line in by_job.values()
    )
    with pytest.raises(InvalidTimeline) as info:
        run(
            [job("x")],
            [
                JobCompleted(at("10:00"), "x"),
                JobCancelled(at("11:00"), "x", tokens_processed=1),
            ],
        )
    assert info.value.field == "status"
    with pytest.raises(InvalidTimeline) as info:
        run([job("x")], [JobCancelled(at("11:00"), "x", tokens_processed=7 * M + 1)])
    assert info.value.field == "tokens_processed"


def test_FT2_hosting_bills_every_minute_with_or_without_requests_until_stopped() -> None:
    """FT2: hosting accrues per minute whether idle or not, with no auto-stop by default, until stopped."""
    hosting = FineTunedHosting("h", model="ft", hardware="1x_g")
    idle = run([hosting], [Deploy(at("00:00"), "h"), Stop(at("23:00"), "h")])
    busy = run(
        [hosting],
        [
            Deploy(at("00:00"), "h"),
            Requests(at("01:00"), "h", count=50),
            Stop(at("23:00"), "h"),
        ],
    )
    assert minutes(idle, "h") == minutes(busy, "h") == 23 * 60
    assert idle.total == busy.total == Money("138.00")
    assert {line.rule for line in idle.lines} == {"FT2"}
    still_running = run([hosting], [Deploy(at("00:00"), "h")], until="2025-11-05T00:00:00Z")
    assert minutes(still_running, "h") == 2 * 24 * 60
    assert still_running.state.status("h") == "running"


def test_FT3_hosting_separate_from_job_cost() -> None:
    """FT3: a job and the hosting of its model are separate lines in separate categories."""
    job = FineTuningJob(id="j", model="base", params_b="8", training_tokens=M)
    hosting = FineTunedHosting("h", model="ft", hardware="1x_g", job="j")
    result = run(
        [job, hosting],
        [
            JobCompleted(at("09:00"), "j"),
            Deploy(at("09:00"), "h"),
            Stop(at("10:00"), "h"),
        ],
    )
    subtotals = result.invoices[0].subtotals()
    assert subtotals == {
        Category.FINE_TUNING: Money("0.50"),
        Category.FINE_TUNED_HOSTING: Money("6.00"),
    }
    assert len(result.lines) == 2


# -- Dedicated endpoints ----------------------------------------------------------------------


def test_DE1_rate_scales_with_gpu_count_and_ready_replicas() -> None:
    """DE1: billed per minute per ready replica even with no requests; a 2x config costs twice a 1x."""
    two_gpu = DedicatedEndpoint(
        "ep2",
        model="m",
        hardware="2x_g",
        min_replicas=3,
        max_replicas=3,
    )
    result = run(
        [endpoint(), two_gpu],
        [
            Deploy(at("09:00"), "ep"),
            Deploy(at("09:00"), "ep2"),
            Stop(at("10:00"), "ep"),
            Stop(at("10:00"), "ep2"),
        ],
    )
    invoice = result.invoices[0]
    assert invoice.lines_for("ep")[0].amount_exact == Decimal(6)
    (line,) = invoice.lines_for("ep2")
    assert (line.quantity, line.rate, line.amount_exact) == (
        180,
        Decimal(12),
        Decimal(36),
    )
    assert line.rule == "DE1"


def test_DE2_provisioning_failed_zero_replicas_and_stopped_cost_nothing() -> None:
    """DE2: provisioning, failed deployments, zero ready replicas and stopped time are not billed."""
    result = run(
        [endpoint("fail"), endpoint("slow"), endpoint("zero"), endpoint("stop")],
        [
            Deploy(at("09:00"), "fail", ready=False),
            DeployFailed(at("09:45"), "fail"),
            Deploy(at("09:00"), "slow", ready=False),
            Ready(at("09:30"), "slow"),
            Stop(at("10:00"), "slow"),
            Deploy(at("09:00"), "zero"),
            ScaleReplicas(at("09:10"), "zero", replicas=0),
            ScaleReplicas(at("09:40"), "zero", replicas=1),
            Stop(at("10:00"), "zero"),
            Deploy(at("09:00"), "stop"),
            Stop(at("09:15"), "stop"),
            Start(at("09:55"), "stop"),
            Stop(at("10:00"), "stop"),
        ],
    )
    assert minutes(result, "fail") == 0
    assert minutes(result, "slow") == 30
    assert minutes(result, "zero") == 30
    assert minutes(result, "stop") == 20
    assert ("fail", "deployment failed", "DE2") in actions(result)
    with pytest.raises(InvalidTimeline):
        run(
            [endpoint()],
            [
                Deploy(at("09:00"), "ep", ready=False),
                DeployFailed(at("09:10"), "ep"),
                Ready(at("09:20"), "ep"),
            ],
        )


def test_DE3_every_ready_replica_bills_up_to_max() -> None:
    """DE3: min replicas run from ready; scaling adds/removes billed replicas, never above max."""
    ep = endpoint(min_replicas=2, max_replicas=4)
    result = run(
        [ep],
        [
            Deploy(at("09:00"), "ep"),
            ScaleReplicas(at("09:30"), "ep", replicas=4),
            ScaleReplicas(at("10:00"), "ep", replicas=2),
            Stop(at("10:30"), "ep"),
        ],
    )
    assert minutes(result, "ep") == 2 * 30 + 4 * 30 + 2 * 30
    assert ("ep", "replicas changed", "DE3") in actions(result)
    with pytest.raises(InvalidTimeline) as info:
        run(
            [ep],
            [Deploy(at("09:00"), "ep"), ScaleReplicas(at("09:30"), "ep", replicas=5)],
        )
    assert (info.value.field, info.value.value) == ("replicas", 5)


class TestDE4:
    def test_DE4_no_auto_stop_by_default_in_every_edition(self) -> None:
        """DE4/P-IDLE: unset, no endpoint or hosting auto-stops, in either edition (seed; facts C3)."""
        for edition in ("2025-11", "2026"):
            policies = Policies.for_edition(edition)
            assert policies.inactive_timeout_minutes is None
            result = run(
                [endpoint(), FineTunedHosting("h", model="ft", hardware="1x_g")],
                [Deploy(at("09:00"), "ep"), Deploy(at("09:00"), "h")],
                policies=policies,
            )
            assert minutes(result, "ep") == minutes(result, "h") == 15 * 60
            assert result.state.status("ep") == result.state.status("h") == "running"

    def test_DE4_auto_stop_after_60_idle_minutes_when_set(self) -> None:
        """DE4: with no requests, an endpoint with a 60-minute timeout auto-stops 60 minutes after ready."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=60)
        result = run([ep], [Deploy(at("09:00"), "ep")])
        assert minutes(result, "ep") == 60
        assert ("ep", "auto-stopped", "DE4") in actions(result)
        assert result.log[-1].at.isoformat() == "2025-11-03T10:00:00+00:00"
        assert result.state.status("ep") == "stopped"

    def test_DE4_requests_reset_the_timer(self) -> None:
        """DE4: inactivity is measured from the last request."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=60)
        result = run(
            [ep],
            [
                Deploy(at("09:00"), "ep"),
                Requests(at("09:50"), "ep"),
                Requests(at("10:20"), "ep"),
            ],
        )
        assert minutes(result, "ep") == 140
        assert result.log[-1].at.isoformat() == "2025-11-03T11:20:00+00:00"

    def test_DE4_own_timeout_overrides_policy(self) -> None:
        """DE4: the endpoint's own inactive_timeout_minutes beats the policy default."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=15)
        policies = Policies(inactive_timeout_minutes=90)
        assert minutes(run([ep], [Deploy(at("09:00"), "ep")], policies=policies), "ep") == 15

    def test_DE4_policy_sets_it_for_endpoints_and_hosting_without_their_own(self) -> None:
        """DE4: Policies(inactive_timeout_minutes=30) applies to every deployment that sets none."""
        result = run(
            [endpoint(), FineTunedHosting("h", model="ft", hardware="1x_g")],
            [Deploy(at("09:00"), "ep"), Deploy(at("09:00"), "h")],
            policies=Policies(inactive_timeout_minutes=30),
        )
        assert minutes(result, "ep") == minutes(result, "h") == 30

    def test_DE4_stop_after_auto_stop_is_logged_noop(self) -> None:
        """DE4: stopping an endpoint the idle timeout already stopped is a logged no-op."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=60)
        result = run([ep], [Deploy(at("09:00"), "ep"), Stop(at("12:00"), "ep")])
        assert minutes(result, "ep") == 60
        assert actions(result)[-1] == ("ep", "stop ignored", "DE4")

    def test_DE4_stop_after_user_stop_raises(self) -> None:
        """DE4: stopping an endpoint the user already stopped is an invalid timeline."""
        with pytest.raises(InvalidTimeline) as info:
            run(
                [endpoint()],
                [
                    Deploy(at("09:00"), "ep"),
                    Stop(at("10:00"), "ep"),
                    Stop(at("11:00"), "ep"),
                ],
            )
        assert (info.value.field, info.value.value) == ("status", "stopped")

    def test_DE4_requests_to_stopped_endpoint_refused(self) -> None:
        """DE4: requests after an auto-stop are logged as refused and do not restart billing."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=60)
        result = run([ep], [Deploy(at("09:00"), "ep"), Requests(at("10:30"), "ep")])
        assert minutes(result, "ep") == 60
        assert actions(result)[-1] == ("ep", "requests refused", "DE2")

    def test_DE4_restart_after_auto_stop(self) -> None:
        """DE4: an auto-stopped endpoint can be started again and bills from then."""
        ep = DedicatedEndpoint("ep", model="m", hardware="1x_g", inactive_timeout_minutes=60)
        result = run(
            [ep],
            [
                Deploy(at("09:00"), "ep"),
                Start(at("12:00"), "ep"),
                Stop(at("12:30"), "ep"),
            ],
        )
        assert minutes(result, "ep") == 90


# -- Invoices ---------------------------------------------------------------------------------


def test_IN1_every_line_attributable() -> None:
    """IN1: every line names resource, rule, quantity, unit, rate with its source, interval and amount."""
    job = FineTuningJob(id="j", model="base", params_b="8", training_tokens=M)
    result = run(
        [endpoint(), ServerlessUsage("s", model="cached"), job],
        [
            Deploy(at("09:00"), "ep"),
            Stop(at("10:00"), "ep"),
            TokenUsage(
                at("09:00"),
                "s",
                input_tokens=M,
                cached_input_tokens=10,
                output_tokens=5,
            ),
            JobCompleted(at("09:00"), "j"),
        ],
    )
    assert len(result.lines) == 5
    for line in result.lines:
        data = line.to_dict()
        assert data["resource"] in {"ep", "s", "j"}
        assert data["rule"] in {"DE1", "SL1", "SL3", "FT1"}
        assert Decimal(data["quantity"]) > 0
        assert data["unit"] in {"replica-minute", "token"}
        assert Decimal(data["rate"]) > 0
        assert data["rate_unit"]
        assert data["price"]["source"] == "user-supplied"
        assert data["interval"]["start"] <= data["interval"]["end"]
        assert line.amount_exact == line.quantity * line.rate / line.rate_per


def test_IN2_breakdown_separates_categories() -> None:
    """IN2: subtotals are per category, and deployment kept apart from usage."""
    result = run(
        [endpoint(), ServerlessUsage("s", model="chat")],
        [
            Deploy(at("09:00"), "ep"),
            Stop(at("09:10"), "ep"),
            TokenUsage(at("09:05"), "s", output_tokens=M),
        ],
    )
    assert result.invoices[0].to_dict()["subtotals"] == {
        "serverless": "0.60",
        "dedicated-endpoint": "1.00",
    }


def test_IN3_invoice_even_for_zero_amounts() -> None:
    """IN3: a period with usage that rounds to $0, or with no usage at all, still gets an invoice."""
    result = run(
        [ServerlessUsage("s", model="chat")],
        [TokenUsage(at("09:00"), "s", input_tokens=10)],
        until="2026-01-01T00:00:00Z",
    )
    assert [(i.period.label, i.status) for i in result.invoices] == [
        ("2025-11", InvoiceStatus.FINAL),
        ("2025-12", InvoiceStatus.FINAL),
    ]
    assert result.invoices[0].total == Money("0")
    assert len(result.invoices[0].lines) == 1
    assert result.invoices[1].lines == ()


def test_IN4_draft_invoice_inside_the_month() -> None:
    """IN4: a replay to an instant inside a month gives that month's draft, as of that instant."""
    result = run(
        [endpoint()],
        [Deploy("2025-10-31T23:00:00Z", "ep")],
        until="2025-11-03T12:00:00Z",
    )
    assert [i.status for i in result.invoices] == [
        InvoiceStatus.FINAL,
        InvoiceStatus.DRAFT,
    ]
    draft = result.draft
    assert draft is not None
    assert draft.period.label == "2025-11"
    assert draft.as_of.isoformat() == "2025-11-03T12:00:00+00:00"
    assert minutes(result, "ep") == 60 + (2 * 24 + 12) * 60
    closed = run(
        [endpoint()],
        [Deploy("2025-10-31T23:00:00Z", "ep")],
        until="2025-12-01T00:00:00Z",
    )
    assert closed.draft is None
