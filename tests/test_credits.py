"""Credits and credit exhaustion: CR1-CR8, G3 (draw-down), G5, IN3 and the rule editions.

Worked examples W23-W26 and W29-W31 of ``together-billing-facts.md`` are replayed
with a tiny catalog of user prices built here: an endpoint at $6/h (0.10 per
minute), clusters at $2 (reserved) / $3 (on-demand) per GPU-hour, storage at
$0.50 per TiB-hour.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Sequence
from decimal import Context, Decimal, localcontext

import pendulum
import pytest
from tests import replays as rp
from tests.replays import CHAT, EP0, LEGACY, LIFECYCLE_CATALOG, NO_ALERTS, ON_DEMAND, error_of

from together_billing import (
    EDITIONS,
    Account,
    AutoRecharge,
    Catalog,
    Category,
    ClusterPrice,
    DedicatedEndpoint,
    Delete,
    Deploy,
    Event,
    FineTunedHosting,
    FineTuningJob,
    Grant,
    HardwarePrice,
    InstantCluster,
    InvalidArgument,
    InvalidTimeline,
    JobCompleted,
    LedgerEntry,
    Policies,
    PriceChange,
    Purchase,
    Requests,
    ResizeVolume,
    Resource,
    ScaleGpus,
    ScaleReplicas,
    ServerlessPrice,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    Start,
    Stop,
    StoragePrice,
    StorageVolume,
    TokenUsage,
    simulate,
)
from together_billing.credits import Ledger
from together_billing.forecast import forecast
from together_billing.money import EXACT_CONTEXT
from together_billing.plot import balance_series
from together_billing.scenario import Scenario, ScenarioDoc
from together_billing.time import MICROS_PER_HOUR, from_micros, instant, to_micros

E = "2025-01-01T00:00:00Z"
DAY = "2025-11-03"
M = 1_000_000
CATALOG = LIFECYCLE_CATALOG
PREPAID = Policies.for_edition("2026")
POSTPAID = Policies.for_edition("2025-11")
TAIL = "rest of the started"


def at(hhmm: str, day: str = DAY) -> str:
    """An instant, ``"HH:MM"`` or ``"HH:MM:SS"`` UTC, on the test day unless told."""
    return f"{day}T{hhmm if hhmm.count(':') == 2 else hhmm + ':00'}Z"


def endpoint(ident: str = "ep", hardware: str = "1x_g") -> DedicatedEndpoint:
    return DedicatedEndpoint(ident, model="m", hardware=hardware)


def on_demand(ident: str = "od", gpus: int = 8) -> InstantCluster:
    return InstantCluster(ident, gpu_type="G", billing="on-demand", gpus=gpus)


def reserved(ident: str = "rc", gpus: int = 16, days: int = 2) -> InstantCluster:
    return InstantCluster(
        ident, gpu_type="G", billing="reserved", gpus=gpus, reserved_gpus=8, duration_days=days
    )


def run(
    resources: Iterable[Resource | Account],
    events: Sequence[Event],
    until: str = "2025-11-05T00:00:00Z",
    policies: Policies = PREPAID,
) -> SimulationResult:
    return simulate(resources, events, until=until, catalog=CATALOG, policies=policies)


def log_of(result: SimulationResult) -> list[tuple[str, str, str, str]]:
    """``(instant, resource, action, rule)`` of every log entry."""
    return [(e.at.isoformat(), e.resource, e.action, e.rule) for e in result.log]


def when(result: SimulationResult, resource: str, action: str) -> list[str]:
    return [e.at.isoformat() for e in result.log if e.resource == resource and e.action == action]


def us(text: str) -> int:
    """Microseconds since the epoch of an ISO instant."""
    return to_micros(instant(text))


def iso(text: str) -> str:
    return from_micros(us(text)).isoformat()


def conserved(result: SimulationResult) -> bool:
    c = result.credits
    assert c is not None
    with localcontext(Context(prec=400)):  # exact: the default context rounds to 28 digits
        settled = c.get("settled", Decimal(0))
        return (
            c["purchased"] + c["granted"] + settled == c["consumed"] + c["expired"] + c["remaining"]
        )


def consumed_by(result: SimulationResult, resource: str) -> Decimal:
    with localcontext(Context(prec=400)):
        return -sum(
            (e.amount for e in result.ledger if e.kind == "consumption" and e.resource == resource),
            Decimal(0),
        )


def running_balance_at(ledger: Sequence[LedgerEntry], micros: int) -> Decimal:
    """The balance at ``micros`` after the continuous draws up to it, before anything else there."""
    balance = Decimal(0)
    for entry in ledger:
        if entry.at_micros < micros or (
            entry.at_micros == micros and entry.kind == "consumption" and entry.note == "running"
        ):
            balance = entry.balance
            continue
        break
    return balance


# -- CR1: the ledger -----------------------------------------------------------------------------


def test_CR1_without_an_account_nothing_changes() -> None:
    """CR1: without an Account there is no ledger, ``credits`` is None, and the lines are the same."""
    events = [Deploy(at("00:00"), "ep"), Stop(at("10:00"), "ep")]
    plain = run([endpoint()], events)
    assert plain.credits is None
    assert plain.ledger == ()
    assert all(e.rule not in {"CR1", "CR2", "CR6"} for e in plain.log)
    with_account = run([endpoint(), Account(opening_balance=1000)], events)
    assert with_account.credits is not None
    assert [line.amount for line in with_account.lines] == [line.amount for line in plain.lines]


def test_CR1_account_opens_with_its_balance() -> None:
    """CR1: the opening balance is a purchase at the replay's start, logged as the account opening."""
    result = run([Account(opening_balance=50)], [], until=at("01:00"))
    assert [(e.kind, e.amount, e.balance) for e in result.ledger] == [
        ("purchase", Decimal(50), Decimal(50))
    ]
    assert result.credits == {
        "purchased": Decimal(50),
        "granted": Decimal(0),
        "consumed": Decimal(0),
        "expired": Decimal(0),
        "remaining": Decimal(50),
    }
    assert ("account", "account opened", "CR1") in [(r, a, ru) for _, r, a, ru in log_of(result)]


def test_CR1_running_time_draws_rate_times_elapsed_time() -> None:
    """CR1, G3: a running endpoint draws $6/h continuously: $30 after 5 h (no minute tail yet)."""
    result = run(
        [endpoint(), Account(opening_balance=1000)],
        [Deploy(at("00:00"), "ep")],
        until=at("05:00"),
    )
    assert result.credits is not None
    assert result.credits["remaining"] == Decimal(970)
    assert consumed_by(result, "ep") == Decimal(30)


def test_G3_stop_draws_the_rest_of_the_started_minute() -> None:
    """G3: a stop at 00:10:30 draws the running 10.5 minutes, then the rest of minute 11 at the stop."""
    result = run(
        [endpoint(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "ep"), Stop(at("00:10:30"), "ep")],
    )
    entries = [(e.at.isoformat(), e.amount, e.note) for e in result.ledger if e.resource == "ep"]
    assert entries == [
        (iso(at("00:10:30")), Decimal("-1.05"), "running"),
        (iso(at("00:10:30")), Decimal("-0.05"), "rest of the started minute (G3)"),
    ]
    # The ledger drew exactly what the invoice bills: 11 started minutes.
    assert consumed_by(result, "ep") == result.total.amount == Decimal("1.10")


def test_CR1_usage_and_jobs_draw_at_their_instant() -> None:
    """CR1: tokens and a fine-tuning job are drawn at their instants, at their line amounts."""
    job = FineTuningJob(id="ft", model="m", params_b=8, training_tokens=2 * M)
    result = run(
        [ServerlessUsage("s", model="chat"), job, Account(opening_balance=100)],
        [TokenUsage(at("01:00"), "s", M, M), JobCompleted(at("02:00"), "ft")],
    )
    draws = [
        (e.at.isoformat(), e.resource, e.amount) for e in result.ledger if e.kind == "consumption"
    ]
    assert draws == [
        (iso(at("01:00")), "s", Decimal("-0.20")),
        (iso(at("01:00")), "s", Decimal("-0.60")),
        (iso(at("02:00")), "ft", Decimal("-1.00")),
    ]
    assert result.credits is not None
    assert result.credits["remaining"] == Decimal("98.20")


@pytest.mark.parametrize(
    ("payment", "drawn"), [("upfront", Decimal(0)), ("credits", Decimal(8 * 48 * 2))]
)
def test_CR1_reservation_drawn_at_provisioning_only_when_paid_from_credits(
    payment: str, drawn: Decimal
) -> None:
    """CR1, P-RESERVE-PAY: a 2-day, 8-GPU reservation draws $768 at ready only when paid from credits."""
    policies = Policies.for_edition("2026", reservation_payment=payment)
    result = run(
        [reserved(gpus=8), Account(opening_balance=1000)],
        [Deploy(at("00:00"), "rc")],
        until=at("00:00"),
        policies=policies,
    )
    assert consumed_by(result, "rc") == drawn
    if drawn:
        (entry,) = [e for e in result.ledger if e.kind == "consumption"]
        assert entry.at == from_micros(us(at("00:00")))


def test_CR2_reservation_from_credits_is_drawn_at_provisioning_or_refused_beyond_the_floor() -> (
    None
):
    """CR2, CL2: a reservation paid from credits is drawn at provisioning; one whose charge
    would take the balance below the floor is refused (a prepaid account could not pay it)."""
    policies = Policies.for_edition("2026", reservation_payment="credits")
    result = run(
        [reserved(gpus=8), Account(opening_balance=1000)],
        [Deploy(at("06:00"), "rc")],
        policies=policies,
    )
    assert result.credits is not None
    assert result.credits["remaining"] == 1000 - 8 * 48 * 2
    assert result.state.status("rc") == "running"
    assert when(result, "rc", "alert") == [iso(at("06:00", "2025-11-04"))]
    refused = run(
        [reserved(gpus=8), Account(opening_balance=100)],
        [Deploy(at("06:00"), "rc")],
        policies=policies,
    )
    assert when(refused, "rc", "deploy refused") == [iso(at("06:00"))]
    assert refused.state.status("rc") == "not deployed"
    assert refused.balance == 100
    assert refused.total.amount == 0


def test_G5_a_purchase_is_never_an_invoice_line() -> None:
    """G5: purchases, grants and recharges add credits but never appear on an invoice."""
    result = run(
        [
            endpoint(),
            Account(
                opening_balance=10,
                auto_recharge=AutoRecharge(mode="top-up", threshold=20, target=40),
            ),
        ],
        [
            Deploy(at("00:00"), "ep"),
            Purchase(at("01:00"), "account", 25),
            Grant(at("02:00"), "account", 5),
            Stop(at("03:00"), "ep"),
        ],
    )
    assert [line.resource for line in result.lines] == ["ep"]
    assert result.total.amount == Decimal("18.00")
    kinds = {e.kind for e in result.ledger}
    assert {"purchase", "grant", "recharge"} <= kinds


# -- conservation ---------------------------------------------------------------------------------


def test_CR1_credits_are_conserved_across_purchases_grants_and_expiry() -> None:
    """CR1: purchased + granted = consumed + expired + remaining, exactly, in a mixed replay."""
    result = run(
        [endpoint(), ServerlessUsage("s", model="chat"), Account(opening_balance=20)],
        [
            Grant(at("00:00"), "account", 60, expires=at("20:00")),
            Deploy(at("00:00"), "ep"),
            TokenUsage(at("01:00"), "s", 3 * M, M),
            Purchase(at("05:00"), "account", 10),
            Stop(at("06:00:30"), "ep"),
        ],
    )
    c = result.credits
    assert c is not None
    assert (c["purchased"], c["granted"]) == (Decimal(30), Decimal(60))
    assert c["expired"] > 0
    assert conserved(result)


def test_CR1_conservation_is_exact_with_a_top_up_after_an_uneven_draw() -> None:
    """CR1, W24: a top-up at an uneven crossing ($7/h) still conserves credits exactly."""
    policies = Policies.for_edition("2026", alert_thresholds=())
    result = run(
        [
            endpoint(hardware="1x_s"),
            Account(
                opening_balance=100,
                auto_recharge=AutoRecharge(mode="top-up", threshold=60, target=100),
            ),
        ],
        [Deploy(at("00:00"), "ep")],
        until=at("08:00"),
        policies=policies,
    )
    recharges = [e for e in result.ledger if e.kind == "recharge"]
    assert len(recharges) == 1
    assert conserved(result)
    # A card is charged in whole cents, rounded up: the balance reaches the target.
    assert recharges[0].amount == recharges[0].amount.quantize(Decimal("0.01"))
    assert Decimal(100) <= recharges[0].balance < Decimal("100.01")


def test_CR1_ledger_entries_add_up_to_the_balance() -> None:
    """CR1: the balance at any instant is explained entry by entry (sum of amounts = balance)."""
    result = run(
        [endpoint(hardware="1x_s"), Account(opening_balance=100)],
        [Deploy(at("00:00"), "ep")],
        until=at("15:00"),
    )
    # A draw booked at an uneven instant: the run-out stops the endpoint (CR8) at 14:17:08.57.
    assert any(e.at_micros % M for e in result.ledger)
    total = Decimal(0)
    with localcontext(Context(prec=400)):
        for entry in result.ledger:
            total += entry.amount
            assert abs(total - entry.balance) < Decimal("1e-40"), entry


# -- CR2: exhaustion -------------------------------------------------------------------------------


def test_CR2_prepaid_endpoint_runs_out_after_16h40() -> None:
    """CR2 (2026, floor 0): $100 at $6/h runs out after exactly 16 h 40 min."""
    result = run([endpoint(), Account(opening_balance=100)], [Deploy(at("00:00"), "ep")])
    assert when(result, "account", "credits exhausted") == [iso(at("16:40"))]
    assert when(result, "ep", "stopped") == [iso(at("16:40"))]
    assert result.credits is not None
    assert result.credits["remaining"] == 0
    assert result.total.amount == Decimal(100)


def test_CR2_W25_postpaid_edition_runs_down_to_minus_100() -> None:
    """CR2, W25 (2025-11, a linked card: floor -100): $100 at $6/h runs on below zero and out
    after 33 h 20 min; the $100 below zero is due on the invoice."""
    result = run(
        [endpoint(), Account(opening_balance=100, linked_card=True)],
        [Deploy(at("00:00"), "ep")],
        until="2025-11-06T00:00:00Z",
        policies=POSTPAID,
    )
    assert when(result, "account", "credits exhausted") == [iso(at("09:20", "2025-11-04"))]
    assert result.credits is not None
    assert result.credits["remaining"] == Decimal(-100)
    assert result.total.amount == Decimal(200)
    # Below zero the draws are debt, not credits.
    assert sum(e.from_credits for e in result.ledger if e.kind == "consumption") == Decimal(100)
    assert min(e.balance for e in result.ledger) == Decimal(-100)
    (invoice,) = result.invoices
    assert (invoice.credits_applied.amount, invoice.amount_due.amount) == (100, 100)


def test_P_FLOOR_prepaid_by_default_linked_card_to_minus_100_only_in_2025_11() -> None:
    """P-FLOOR: $0 by default in both editions; -$100 only for a linked card under 2025-11."""
    for edition in ("2025-11", "2026"):
        result = run(
            [endpoint(), Account(opening_balance=100)],
            [Deploy(at("00:00"), "ep")],
            policies=Policies.for_edition(edition),
        )
        assert when(result, "account", "credits exhausted") == [iso(at("16:40"))]
    carded = run(
        [endpoint(), Account(opening_balance=100, linked_card=True)],
        [Deploy(at("00:00"), "ep")],
        policies=PREPAID,
    )
    assert when(carded, "account", "credits exhausted") == [iso(at("16:40"))]


def test_CR2_crossing_is_rounded_up_to_the_microsecond() -> None:
    """CR2: $100 at $7/h reaches 0 at 14:17:08.571428571...: exhaustion at .571429."""
    result = run(
        [endpoint(hardware="1x_s"), Account(opening_balance=100)], [Deploy(at("00:00"), "ep")]
    )
    expected = us(at("00:00")) + -(-100 * MICROS_PER_HOUR // 7)
    assert when(result, "account", "credits exhausted") == [from_micros(expected).isoformat()]
    # Just before: above the floor; at it, before the minute tail, within 1 us of burn of it.
    before = run(
        [endpoint(hardware="1x_s"), Account(opening_balance=100)],
        [Deploy(at("00:00"), "ep")],
        until=from_micros(expected - 1),
    )
    assert before.credits is not None
    assert before.credits["remaining"] > 0
    at_floor = running_balance_at(result.ledger, expected)
    assert Decimal(-7) / MICROS_PER_HOUR < at_floor <= 0


def test_CR2_an_event_without_charge_does_not_move_the_exhaustion() -> None:
    """CR2: $7 at $7/h runs out at 01:00:00 exactly, whether or not a request arrives meanwhile."""
    for extra in ([], [Requests(at("00:00:00.000001"), "ep")]):
        result = run(
            [endpoint(hardware="1x_s"), Account(opening_balance=7)],
            [Deploy(at("00:00"), "ep"), *extra],
        )
        assert when(result, "account", "credits exhausted") == [iso(at("01:00"))], extra


def test_CR6_replay_terminates_when_the_balance_is_a_hair_above_a_threshold() -> None:
    """CR6: a balance of 10.000...01 above the $10 alert threshold replays (and alerts) normally."""

    def hang(signum: int, frame: object) -> None:
        raise TimeoutError("the replay did not end within 2 s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        result = run(
            [endpoint(), Account(opening_balance="10.000000000000000000000000000001")],
            [Deploy(at("00:00"), "ep")],
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(when(result, "account", "credits exhausted")) == 1


def test_CR2_discrete_charge_jumping_the_floor_exhausts_at_its_instant() -> None:
    """CR2: tokens that jump across the floor exhaust at their instant; they are billed in full."""
    result = run(
        [ServerlessUsage("s", model="chat"), Account(opening_balance=1)],
        [TokenUsage(at("03:00"), "s", 10 * M), TokenUsage(at("04:00"), "s", M)],
    )
    assert when(result, "account", "credits exhausted") == [iso(at("03:00"))]
    assert result.total.amount == Decimal(2)  # the crossing charge is billed, the later one is not
    assert when(result, "s", "requests refused") == [iso(at("04:00"))]


def test_CR2_job_jumping_the_floor_exhausts_at_its_instant() -> None:
    """CR2: a fine-tuning job charge that jumps across the floor exhausts at the job's instant."""
    job = FineTuningJob(id="ft", model="m", params_b=8, training_tokens=20 * M)
    result = run(
        [job, endpoint(), Account(opening_balance=10)],
        [Deploy(at("00:00"), "ep"), JobCompleted(at("00:30"), "ft")],
    )
    assert when(result, "account", "credits exhausted") == [iso(at("00:30"))]
    assert when(result, "ep", "stopped") == [iso(at("00:30"))]


# -- CR3-CR5, CR8: the exhaustion lifecycle --------------------------------------------------------


def test_CR3_W29_reserved_gpus_run_to_the_end_burst_is_decommissioned() -> None:
    """CR3, W29: reserved 8 + burst 8: at exhaustion the burst goes, the reservation runs to its end."""
    result = run([reserved(), Account(opening_balance=100)], [Deploy(at("00:00"), "rc")])
    # Burst 8 GPUs x $3 = $24/h: $100 lasts 4 h 10 min.
    assert when(result, "account", "credits exhausted") == [iso(at("04:10"))]
    assert when(result, "rc", "burst capacity decommissioned") == [iso(at("04:10"))]
    assert [e.rule for e in result.log if e.action == "burst capacity decommissioned"] == ["CR3"]
    assert when(result, "rc", "decommissioned") == [iso(at("00:00", "2025-11-05"))]
    assert "paused" not in {e.action for e in result.log if e.resource == "rc"}
    burst = [line for line in result.lines if line.category is Category.BURST_COMPUTE]
    assert [line.interval.end.isoformat() for line in burst] == [iso(at("04:10"))]
    assert [line.quantity for line in burst] == [8 * 250]


def test_CR6_reservation_end_alert_24h_before() -> None:
    """CR6, CL5: an alert comes 24 h before a reservation ends, exhaustion or not."""
    result = run([reserved(gpus=8), Account(opening_balance=100)], [Deploy(at("00:00"), "rc")])
    alerts = [e for e in result.log if e.resource == "rc" and e.action == "alert"]
    assert [e.at.isoformat() for e in alerts] == [iso(at("00:00", "2025-11-04"))]
    assert alerts[0].rule in {"CL5", "CR6"}


def test_CR4_W30_on_demand_cluster_paused_then_decommissioned_after_grace() -> None:
    """CR4, W30: a fully on-demand cluster is paused at exhaustion and decommissioned 72 h later."""
    result = run(
        [on_demand(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "od")],
        until="2025-11-08T00:00:00Z",
    )
    assert log_of(result)[-5:] == [
        (iso(at("04:10")), "account", "credits exhausted", "CR2"),
        (iso(at("04:10")), "account", "API access suspended", "CR8"),
        (iso(at("04:10")), "od", "paused", "CR4"),
        (iso(at("04:10", "2025-11-05")), "od", "alert", "CR6"),
        (iso(at("04:10", "2025-11-06")), "od", "decommissioned", "CR4"),
    ]
    # P-PAUSED-BILL default: nothing while paused.
    (line,) = result.lines
    assert line.interval.end.isoformat() == iso(at("04:10"))
    assert consumed_by(result, "od") == Decimal(100)
    assert result.state.status("od") == "decommissioned"


def test_CR4_grace_compute_hours_is_configurable() -> None:
    """CR4, P-GRACE-COMPUTE: a 30 h grace decommissions 30 h after exhaustion, alerted 24 h ahead."""
    policies = Policies.for_edition("2026", grace_compute_hours=30)
    result = run(
        [on_demand(), Account(opening_balance=100)], [Deploy(at("00:00"), "od")], policies=policies
    )
    assert when(result, "od", "alert") == [iso(at("10:10"))]
    assert when(result, "od", "decommissioned") == [iso(at("10:10", "2025-11-04"))]


def test_CR4_paused_cluster_bills_when_the_policy_says_so() -> None:
    """CR4, P-PAUSED-BILL=True: the paused cluster keeps billing until it is decommissioned."""
    policies = Policies.for_edition("2026", paused_cluster_bills=True)
    result = run(
        [on_demand(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "od")],
        until="2025-11-08T00:00:00Z",
        policies=policies,
    )
    assert when(result, "od", "decommissioned") == [iso(at("04:10", "2025-11-06"))]
    (line,) = result.lines
    assert line.interval.end.isoformat() == iso(at("04:10", "2025-11-06"))
    assert line.amount == Decimal(24 * 76 + 4)  # 76 h 10 min at $24/h
    assert consumed_by(result, "od") == line.amount
    last = max(e.at_micros for e in result.ledger if e.resource == "od")
    assert last == us(at("04:10", "2025-11-06"))


def test_CR4_a_paused_cluster_draws_each_price_in_force_while_it_bills() -> None:
    """CR4, CR1: no credit check runs while exhausted, so one draw spans the pause; the two
    price changes inside it are each drawn at their own rate, as the invoice bills them."""
    catalog = Catalog(
        [
            ClusterPrice("G", "on-demand", "3", E),
            ClusterPrice("G", "on-demand", "4", "2025-11-04T00:00:00Z"),
            ClusterPrice("G", "on-demand", "2", "2025-11-05T00:00:00Z"),
        ]
    )
    result = simulate(
        [on_demand(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "od")],
        until="2025-11-08T00:00:00Z",
        catalog=catalog,
        policies=Policies.for_edition("2026", paused_cluster_bills=True),
    )
    # $24/h for 4 h 10 min, then $24 until midnight, $32 on the 4th, $16 until 04:10 on the 6th.
    assert [line.amount for line in result.lines] == [576, 768, Decimal("450.67")]
    with localcontext(Context(prec=400)):
        billed = sum((line.amount_exact for line in result.lines), Decimal(0))
        assert abs(consumed_by(result, "od") - billed) < Decimal("1e-40")
        assert abs(billed - (576 + 768 + Decimal(16 * 169) / 6)) < Decimal("1e-40")


def test_CR5_W31_storage_access_revoked_then_data_deleted() -> None:
    """CR5, W31: the volume's access is revoked at exhaustion; its data is deleted 168 h later."""
    result = run(
        [StorageVolume("v", size_tib=4), Account(opening_balance=10)],
        [Deploy(at("00:00"), "v")],
        until="2025-11-12T00:00:00Z",
    )
    # 4 TiB x $0.50 = $2/h: $10 lasts 5 h. The data is kept while access is revoked, so the
    # volume keeps billing until its data is deleted, 168 h later: 173 h x $2 = $346, of
    # which $336 is due on the invoice (the account had $10).
    assert when(result, "v", "access revoked") == [iso(at("05:00"))]
    assert when(result, "v", "alert") == [iso(at("05:00", "2025-11-09"))]
    assert when(result, "v", "data deleted") == [iso(at("05:00", "2025-11-10"))]
    assert [e.rule for e in result.log if e.resource == "v" and e.action != "alert"][1:] == [
        "CR5",
        "CR5",
    ]
    (line,) = result.lines
    assert line.amount == Decimal(346)
    assert line.interval.end.isoformat() == iso(at("05:00", "2025-11-10"))
    (invoice,) = result.invoices
    assert (invoice.credits_applied.amount, invoice.amount_due.amount) == (10, 336)
    unbilled = run(
        [StorageVolume("v", size_tib=4), Account(opening_balance=10)],
        [Deploy(at("00:00"), "v")],
        until="2025-11-12T00:00:00Z",
        policies=Policies.for_edition("2026", revoked_storage_bills=False),
    )
    (line,) = unbilled.lines
    assert line.amount == Decimal(10)
    assert line.interval.end.isoformat() == iso(at("05:00"))


def test_CR8_W26_prepaid_suspends_api_endpoints_and_hosting_stop() -> None:
    """CR8, W26 (2026): at $0 serverless is refused and unbilled; endpoints and hosting stop."""
    hosting = FineTunedHosting("ft", model="m-ft", hardware="1x_g")
    result = run(
        [endpoint(), hosting, ServerlessUsage("s", model="chat"), Account(opening_balance=20)],
        [
            Deploy(at("00:00"), "ep"),
            Deploy(at("00:00"), "ft"),
            TokenUsage(at("00:30"), "s", M),
            TokenUsage(at("03:00"), "s", M),
            Start(at("04:00"), "ep"),
        ],
    )
    # $12/h: $20 - $0.20 of tokens lasts 1 h 39 min.
    assert when(result, "account", "credits exhausted") == [iso(at("01:39"))]
    assert when(result, "account", "API access suspended") == [iso(at("01:39"))]
    assert when(result, "ep", "stopped") == when(result, "ft", "stopped") == [iso(at("01:39"))]
    assert when(result, "s", "requests refused") == [iso(at("03:00"))]
    assert when(result, "ep", "start refused") == [iso(at("04:00"))]
    serverless = [line for line in result.lines if line.resource == "s"]
    assert [line.quantity for line in serverless] == [M]
    assert result.state.status("ep") == result.state.status("ft") == "stopped"


def test_CR8_exhaustion_suspends_api_can_be_turned_off() -> None:
    """CR8, P-EXHAUST off: serverless usage after exhaustion is billed and endpoints keep running."""
    policies = Policies.for_edition("2026", exhaustion_suspends_api=False)
    result = run(
        [endpoint(), ServerlessUsage("s", model="chat"), Account(opening_balance=6)],
        [Deploy(at("00:00"), "ep"), TokenUsage(at("03:00"), "s", M)],
        policies=policies,
    )
    assert when(result, "account", "credits exhausted") == [iso(at("01:00"))]
    assert "requests refused" not in {e.action for e in result.log}
    assert "stopped" not in {e.action for e in result.log}


# -- CR7: restoration -----------------------------------------------------------------------------


def test_CR7_purchase_in_grace_resumes_cluster_and_storage_not_endpoints() -> None:
    """CR7: a purchase in the grace period resumes the paused cluster and the volume's access; the
    endpoint stopped at exhaustion stays stopped until started again."""
    result = run(
        [on_demand(), StorageVolume("v", size_tib=4), endpoint(), Account(opening_balance=100)],
        [
            Deploy(at("00:00"), "od"),
            Deploy(at("00:00"), "v"),
            Deploy(at("00:00"), "ep"),
            Purchase(at("12:00"), "account", 500),
            Start(at("13:00"), "ep"),
        ],
        until=at("14:00"),
    )
    # $24 + $2 + $6 = $32/h: $100 lasts 3 h 7 min 30 s.
    exhausted = iso(at("03:07:30"))
    assert when(result, "account", "credits exhausted") == [exhausted]
    assert when(result, "od", "paused") == [exhausted]
    assert when(result, "od", "resumed") == [iso(at("12:00"))]
    assert when(result, "v", "access restored") == [iso(at("12:00"))]
    assert when(result, "account", "credits restored") == [iso(at("12:00"))]
    assert when(result, "ep", "started") == [iso(at("13:00"))]
    assert result.state.status("od") == "running"
    # Billing resumed at the purchase, not during the pause.
    od_lines = [line for line in result.lines if line.resource == "od"]
    assert sum(line.quantity for line in od_lines) == 8 * (188 + 120)


def test_CR7_nothing_already_decommissioned_comes_back() -> None:
    """CR7: a purchase after the compute grace ended but inside the storage grace restores only storage."""
    result = run(
        [on_demand(), StorageVolume("v", size_tib=4), Account(opening_balance=100)],
        [
            Deploy(at("00:00"), "od"),
            Deploy(at("00:00"), "v"),
            Purchase(at("12:00", "2025-11-07"), "account", 500),
        ],
        until="2025-11-08T00:00:00Z",
    )
    # $24 + $2 = $26/h: $100 lasts 3 h 50 min 46.153846... s, rounded up to the microsecond.
    assert when(result, "od", "paused") == [iso(at("03:50:46.153847"))]
    assert when(result, "od", "decommissioned") == [iso(at("03:50:46.153847", "2025-11-06"))]
    assert when(result, "od", "resumed") == []
    assert result.state.status("od") == "decommissioned"
    assert when(result, "v", "access restored") == [iso(at("12:00", "2025-11-07"))]
    assert when(result, "v", "data deleted") == []


def test_CR7_purchase_cancels_the_pending_decommission_and_its_alert() -> None:
    """CR7: after a restore inside the grace, the scheduled grace alert and decommission never come."""
    result = run(
        [on_demand(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "od"), Purchase(at("12:00"), "account", 5000)],
        until="2025-11-08T00:00:00Z",
    )
    assert when(result, "od", "decommissioned") == []
    assert [e for e in result.log if e.resource == "od" and e.action == "alert"] == []


# -- CR6: alerts ----------------------------------------------------------------------------------


def test_CR6_threshold_and_forecast_alerts() -> None:
    """CR6: forecast alert 24 h ahead of exhaustion (at once here) and the $10 threshold alert."""
    result = run([endpoint(), Account(opening_balance=100)], [Deploy(at("00:00"), "ep")])
    alerts = [(e.at.isoformat(), e.detail) for e in result.log if e.action == "alert"]
    assert [a for a, _ in alerts] == [iso(at("00:00")), iso(at("15:00"))]
    assert "forecast to run out at " + iso(at("16:40")) in alerts[0][1]
    assert "10" in alerts[1][1]
    assert all(e.rule == "CR6" for e in result.log if e.action == "alert")


@pytest.mark.parametrize("order", ["ep first", "od first"])
def test_CR6_forecast_alert_uses_the_rate_of_everything_started_at_that_instant(
    order: str,
) -> None:
    """CR6: an endpoint ($6/h) and a cluster ($24/h) start together on $100: the alert, given
    at once, forecasts the run-out at 03:20 (after both), not 16:40 (the endpoint alone)."""
    events = [Deploy(at("00:00"), "ep", ready=True), Deploy(at("00:00"), "od")]
    if order == "od first":
        events.reverse()
    result = run([endpoint(), on_demand(), Account(opening_balance=100)], events)
    (forecast,) = [e for e in result.log if e.detail.startswith("credits forecast")]
    assert (forecast.at.isoformat(), forecast.detail) == (
        iso(at("00:00")),
        f"credits forecast to run out at {iso(at('03:20'))} at the current rate",
    )
    assert when(result, "account", "credits exhausted") == [iso(at("03:20"))]
    # Logged after what happened at that instant.
    actions = [(e.resource, e.action) for e in result.log if e.at == forecast.at]
    assert actions[-1] == ("account", "alert")


def test_CR6_forecast_alert_waits_for_a_check_due_at_the_same_instant() -> None:
    """CR6, CL5: a one-day reservation's end alert is due when it is deployed; the forecast
    alert (8 burst GPUs at $3 on $100: out at 04:10) is logged after it, at that instant."""
    result = run([reserved(days=1), Account(opening_balance=100)], [Deploy(at("00:00"), "rc")])
    at_start = [
        (e.resource, e.action, e.detail) for e in result.log if e.at == instant(at("00:00"))
    ]
    assert [(resource, action) for resource, action, _ in at_start[-2:]] == [
        ("rc", "alert"),
        ("account", "alert"),
    ]
    assert (
        at_start[-1][2] == f"credits forecast to run out at {iso(at('04:10'))} at the current rate"
    )


def test_CR6_a_price_rise_at_the_planned_alert_instant_gives_the_alert_then() -> None:
    """CR6, G4: $400 at $6/h runs out after 66 h 40 min, so a check is planned for the alert
    24 h before (4 Nov, 18:40). A price rise to $12/h at that very instant replans, which
    makes the planned check stale; the alert is still given at 18:40, with the new run-out."""
    result = run(
        [endpoint(), Account(opening_balance=400)],
        [
            Deploy(at("00:00"), "ep", ready=True),
            PriceChange(HardwarePrice("1x_g", "12", at("18:40", "2025-11-04"))),
        ],
        until="2025-11-06T00:00:00Z",
    )
    (forecast,) = [e for e in result.log if e.detail.startswith("credits forecast")]
    # $144 left at 18:40 lasts 12 h at $12/h.
    assert (forecast.at.isoformat(), forecast.detail) == (
        iso(at("18:40", "2025-11-04")),
        f"credits forecast to run out at {iso(at('06:40', '2025-11-05'))} at the current rate",
    )


def test_CR6_no_forecast_alert_when_the_instant_ends_with_nothing_running() -> None:
    """CR6, DE4, G4: at 01:00 the price rises a hundredfold, then one endpoint stops idle and
    the other is stopped: nothing runs after that instant, so no run-out is forecast."""
    idle = DedicatedEndpoint("idle", model="m", hardware="1x_g", inactive_timeout_minutes=60)
    result = run(
        [idle, endpoint(), Account(opening_balance=400)],
        [
            Deploy(at("00:00"), "idle", ready=True),
            Deploy(at("00:00"), "ep", ready=True),
            PriceChange(HardwarePrice("1x_g", "600", at("01:00"))),
            Stop(at("01:00"), "ep"),
        ],
    )
    # The customer's stop comes before the engine's idle stop at the same instant.
    assert [e.action for e in result.log if e.at == instant(at("01:00"))] == [
        "price change",
        "stopped",
        "auto-stopped",
    ]
    assert not [e for e in result.log if e.detail.startswith("credits forecast")]


def test_CR6_forecast_alert_comes_alert_lead_hours_before() -> None:
    """CR6: with $1000 at $6/h (out after 166 h 40 min) the forecast alert comes 24 h before."""
    result = run(
        [endpoint(), Account(opening_balance=1000)],
        [Deploy(at("00:00"), "ep")],
        until="2025-11-12T00:00:00Z",
    )
    forecast = [e for e in result.log if e.action == "alert" and "forecast" in e.detail]
    assert [e.at.isoformat() for e in forecast] == [iso(at("22:40", "2025-11-08"))]
    assert when(result, "account", "credits exhausted") == [iso(at("22:40", "2025-11-09"))]


def test_CR6_every_threshold_alerts_once_per_fall() -> None:
    """CR6, P-ALERT: thresholds 50 and 10 each alert once, at the instant the balance reaches them."""
    policies = Policies.for_edition("2026", alert_thresholds=[50, 10], alert_lead_hours=1)
    result = run(
        [endpoint(), Account(opening_balance=100)], [Deploy(at("00:00"), "ep")], policies=policies
    )
    thresholds = [
        e.at.isoformat() for e in result.log if e.action == "alert" and "at or below" in e.detail
    ]
    assert thresholds == [iso(at("08:20")), iso(at("15:00"))]


# -- auto-recharge (C6) ---------------------------------------------------------------------------


def test_C6_W23_increment_recharge_at_the_start() -> None:
    """C6, W23: balance 5, threshold 60, increment 25: three purchases of 25 at once, balance 80."""
    recharge = AutoRecharge(mode="increment", threshold=60, amount=25)
    result = run([Account(opening_balance=5, auto_recharge=recharge)], [], until=at("01:00"))
    recharges = [(e.at.isoformat(), e.amount) for e in result.ledger if e.kind == "recharge"]
    assert recharges == [(iso(at("01:00")), Decimal(25))] * 3
    assert result.credits is not None
    assert result.credits["remaining"] == 80
    assert recharge.purchases(Decimal(5)) == [Decimal(25)] * 3


def test_C6_recharge_is_the_first_microsecond_below_the_threshold() -> None:
    """C6, CR2: $7 an hour from $100 with a $20 threshold: the balance is exactly 20 after
    41,142,857,142.857... us, so it first goes below at 41,142,857,143 us (11:25:42.857143),
    where the recharge is bought, not a microsecond later."""
    recharge = AutoRecharge(mode="increment", threshold=20, amount=25)
    result = run(
        [endpoint(hardware="1x_s"), Account(opening_balance=100, auto_recharge=recharge)],
        [Deploy(at("00:00"), "ep")],
        until=at("12:00"),
    )
    (bought,) = [e for e in result.ledger if e.kind == "recharge"]
    assert bought.at_micros - us(at("00:00")) == 41_142_857_143
    assert bought.at == instant(at("11:25:42.857143"))
    assert Decimal(20) - Decimal("7e-6") / 3600 < bought.balance - 25 < Decimal(20)


@pytest.mark.parametrize("cut", [None, "00:00:00.1"])
def test_C6_CR6_a_balance_exactly_at_a_threshold_has_reached_it_not_passed_below(
    cut: str | None,
) -> None:
    """C6, CR6, CR2: $57 at $7/h reaches exactly $50 at 01:00. The $50 alert is given at 01:00
    and the recharge ("below the threshold") one microsecond later, also when the replay is
    resumed at 00:00:00.1, whose draw of 7/36,000 USD leaves 50-digit noise on the balance.
    """
    recharge = AutoRecharge(mode="increment", threshold=50, amount=5)
    scenario = Scenario(
        resources=[endpoint(hardware="1x_s"), Account(opening_balance=57, auto_recharge=recharge)],
        events=[Deploy(at("00:00"), "ep", ready=True)],
        until=at("02:00"),
        catalog=CATALOG,
        policies=Policies.for_edition("2025-11", alert_thresholds=[50]),
    )
    result = scenario.run() if cut is None else forecast(scenario, at=at(cut)).result
    found = [
        (e.at, e.action, e.detail)
        for e in result.log
        if e.action == "auto-recharge" or e.detail.startswith("balance 50")
    ]
    assert found[:2] == [
        (instant(at("01:00")), "alert", "balance 50.00 USD is at or below 50"),
        (instant(at("01:00:00.000001")), "auto-recharge", "5 USD (increment)"),
    ]


def test_C6_W24_top_up_recharge_at_the_start() -> None:
    """C6, W24: balance 5, threshold 60, target 100: one purchase of 95, balance 100."""
    recharge = AutoRecharge(mode="top-up", threshold=60, target=100)
    result = run([Account(opening_balance=5, auto_recharge=recharge)], [], until=at("01:00"))
    assert [e.amount for e in result.ledger if e.kind == "recharge"] == [Decimal(95)]
    assert result.credits is not None
    assert result.credits["remaining"] == 100


@pytest.mark.parametrize(
    ("recharge", "amounts"),
    [
        (AutoRecharge(mode="increment", threshold=60, amount=25), 1),
        (AutoRecharge(mode="top-up", threshold=60, target=100), 1),
    ],
)
def test_C6_recharge_at_the_crossing_instant(recharge: AutoRecharge, amounts: int) -> None:
    """C6: burn at $7/h brings $100 below 60 at 05:42:51.428572: the recharge happens then."""
    policies = Policies.for_edition("2026", alert_thresholds=())
    result = run(
        [endpoint(hardware="1x_s"), Account(opening_balance=100, auto_recharge=recharge)],
        [Deploy(at("00:00"), "ep")],
        until=at("08:00"),
        policies=policies,
    )
    crossing = us(at("00:00")) + -(-40 * MICROS_PER_HOUR // 7)
    recharges = [e for e in result.ledger if e.kind == "recharge"]
    assert [e.at_micros for e in recharges] == [crossing] * amounts
    assert recharges[-1].balance >= 60
    assert when(result, "account", "credits exhausted") == []


def test_C6_recharge_when_the_crossing_is_a_whole_microsecond() -> None:
    """C6: $100 at $6/h reaches 60 at 06:40 exactly: the recharge comes at 06:40 (or 1 us later)."""
    recharge = AutoRecharge(mode="increment", threshold=60, amount=25)
    result = run(
        [endpoint(), Account(opening_balance=100, auto_recharge=recharge)],
        [Deploy(at("00:00"), "ep")],
        until=at("20:00"),
    )
    crossing = us(at("06:40"))
    first = next(e for e in result.ledger if e.kind == "recharge")
    assert crossing <= first.at_micros <= crossing + 1


def test_C6_auto_recharge_settings_are_validated() -> None:
    """C6: a top-up needs a target above the threshold; an increment needs a positive amount."""
    with pytest.raises(InvalidArgument) as excinfo:
        AutoRecharge(mode="top-up", threshold=60)
    assert excinfo.value.field == "target"
    with pytest.raises(InvalidArgument) as excinfo:
        AutoRecharge(mode="top-up", threshold=60, target=60)
    assert excinfo.value.field == "target"
    with pytest.raises(InvalidArgument) as excinfo:
        AutoRecharge(mode="increment", threshold=60, amount=0)
    assert excinfo.value.field == "amount"
    assert AutoRecharge(mode="increment", threshold=60).amount == 25  # the $25 default


# -- P-MIN-BUY, grants ------------------------------------------------------------------------------


def test_P_MIN_BUY_purchase_below_five_dollars_is_rejected() -> None:
    """P-MIN-BUY: a purchase of $4.99 raises InvalidTimeline naming ``amount``; $5 is fine."""
    with pytest.raises(InvalidTimeline) as excinfo:
        run([Account(opening_balance=10)], [Purchase(at("01:00"), "account", "4.99")])
    assert excinfo.value.field == "amount"
    assert "amount" in str(excinfo.value)
    ok = run([Account(opening_balance=10)], [Purchase(at("01:00"), "account", 5)])
    assert ok.credits is not None
    assert ok.credits["purchased"] == 15
    relaxed = Policies.for_edition("2026", min_purchase=1)
    assert run([Account()], [Purchase(at("01:00"), "account", 2)], policies=relaxed).credits


def test_CR1_purchase_needs_the_account() -> None:
    """CR1: a purchase without an Account, or for another account id, is rejected."""
    with pytest.raises(InvalidTimeline) as excinfo:
        run([endpoint()], [Purchase(at("01:00"), "account", 10)])
    assert excinfo.value.field == "resource"
    with pytest.raises(InvalidTimeline):
        run([Account()], [Purchase(at("01:00"), "other", 10)])


def test_C20_promotional_grants_are_consumed_first_and_expire() -> None:
    """C20, P-CONSUME: a $10 grant pays before purchased credits; what is left expires at its instant."""
    result = run(
        [endpoint(), Account(opening_balance=50)],
        [
            Grant(at("00:00"), "account", 10, expires=at("01:00")),
            Deploy(at("00:00"), "ep"),
            Stop(at("00:30"), "ep"),
        ],
    )
    draw = next(e for e in result.ledger if e.kind == "consumption")
    assert draw.from_credits == Decimal(3)
    expiry = [(e.at.isoformat(), e.amount) for e in result.ledger if e.kind == "expiry"]
    assert expiry == [(iso(at("01:00")), Decimal(-7))]
    assert result.credits is not None
    assert result.credits["remaining"] == 50
    assert result.credits["expired"] == 7
    assert when(result, "account", "promotional credits expired") == [iso(at("01:00"))]


def test_C20_the_grant_expiring_soonest_is_used_first() -> None:
    """C20, P-CONSUME: of two grants, the one expiring sooner pays first; purchased credits last."""
    ledger = Ledger()
    ledger.add(0, "purchase", Decimal(20))
    ledger.add(0, "grant", Decimal(5), expires=200)
    ledger.add(0, "grant", Decimal(5), expires=100)
    ledger.consume(1, Decimal(7), "x")
    assert ledger.expire(100) == 0
    assert ledger.expire(200) == Decimal(3)
    assert ledger.balance == Decimal(20)


def test_grant_expiry_must_follow_the_grant() -> None:
    """CR1: a grant expiring at or before its own instant is rejected."""
    with pytest.raises(InvalidTimeline) as excinfo:
        run([Account()], [Grant(at("01:00"), "account", 10, expires=at("01:00"))])
    assert excinfo.value.field == "expires"


# -- editions -------------------------------------------------------------------------------------


def test_editions_policy_values() -> None:
    """Rule editions: both run out at $0 with no idle stop; a linked card goes to -100 in 2025-11."""
    old, new = Policies.for_edition("2025-11"), Policies.for_edition("2026")
    assert old.credit_floor == Policies().credit_floor == new.credit_floor == 0
    assert old.linked_card_floor == Policies().linked_card_floor == Decimal(-100)
    assert new.linked_card_floor == 0
    assert old.inactive_timeout_minutes is None
    assert new.inactive_timeout_minutes is None
    assert old.storage_shrink.value == "allowed"
    assert new.storage_shrink.value == "account-team"
    assert old.exhaustion_suspends_api
    assert new.exhaustion_suspends_api
    assert set(EDITIONS) == {"2025-11", "2026"}
    assert Policies.for_edition("2026", credit_floor=-50).credit_floor == -50
    defaults = Policies()
    assert (defaults.min_purchase, defaults.grace_compute_hours, defaults.grace_storage_hours) == (
        5,
        72,
        168,
    )
    assert (defaults.paused_cluster_bills, defaults.revoked_storage_bills) == (False, True)
    assert (defaults.alert_thresholds, defaults.alert_lead_hours) == ((Decimal(10),), 24)


def test_editions_unknown_name_is_rejected() -> None:
    """Rule editions: an unknown edition raises InvalidArgument naming ``edition``."""
    with pytest.raises(InvalidArgument) as excinfo:
        Policies.for_edition("2024")
    assert excinfo.value.field == "edition"


def test_P_FLOOR_positive_floor_is_rejected() -> None:
    """P-FLOOR: the floor is 0 or negative."""
    with pytest.raises(InvalidArgument):
        Policies(credit_floor=1)


# -- IN3 ----------------------------------------------------------------------------------------


def test_IN3_invoice_covered_by_credits_has_nothing_due_and_lists_every_line() -> None:
    """IN3: usage fully covered by credits: amount due $0, every line listed, credits <= total."""
    result = run(
        [endpoint(), ServerlessUsage("s", model="chat"), Account(opening_balance=1000)],
        [Deploy(at("00:00"), "ep"), TokenUsage(at("01:00"), "s", M, M), Stop(at("02:00:30"), "ep")],
    )
    (invoice,) = result.invoices
    assert len(invoice.lines) == 3
    assert invoice.amount_due.amount == 0
    assert invoice.credits_applied == invoice.total
    assert invoice.total.amount == Decimal("12.90")


def test_IN3_credits_applied_never_exceed_the_total() -> None:
    """IN3: a reservation paid up front is due on the invoice; credits cover the rest only."""
    result = run(
        [reserved(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "rc")],
        until="2025-11-06T00:00:00Z",
    )
    (invoice,) = result.invoices
    assert invoice.credits_applied.amount == Decimal(100)
    assert invoice.amount_due.amount == Decimal(8 * 48 * 2)
    assert invoice.credits_applied.amount <= invoice.total.amount


def test_IN3_credits_cover_each_period_across_a_month_boundary() -> None:
    """IN3: an endpoint running over the Oct/Nov boundary on ample credits owes $0 in both months."""
    result = run(
        [endpoint(), Account(opening_balance=1000)],
        [Deploy("2025-10-31T12:00:00Z", "ep"), Stop("2025-11-01T12:00:00Z", "ep")],
        until="2025-11-02T00:00:00Z",
    )
    assert [i.total.amount for i in result.invoices] == [Decimal(72), Decimal(72)]
    assert [i.amount_due.amount for i in result.invoices] == [0, 0]


def test_IN3_a_minute_begun_before_midnight_is_paid_on_its_own_invoice() -> None:
    """IN3: on a grid of 23:59:30-00:00:30, October's last minute is billed in October; the
    credits drawn for its November part are applied there too, so neither month owes anything."""
    result = run(
        [endpoint(), Account(opening_balance=1000)],
        [Deploy("2025-10-31T12:00:30Z", "ep"), Stop("2025-11-01T12:00:30Z", "ep")],
        until="2025-11-02T00:00:00Z",
    )
    assert [i.total.amount for i in result.invoices] == [Decimal(72), Decimal(72)]
    assert [i.credits_applied.amount for i in result.invoices] == [Decimal(72), Decimal(72)]
    assert [i.amount_due.amount for i in result.invoices] == [0, 0]
    # The draw of 00:00:00-00:00:30 pays for October's minute; the rest of the span is November's.
    (carried,) = [e for e in result.ledger if e.unit_start_micros is not None]
    assert (carried.at, carried.since_micros, carried.unit_start_micros, carried.note) == (
        instant("2025-11-01T12:00:30Z"),
        us("2025-11-01T00:00:00Z"),
        us("2025-10-31T23:59:30Z"),
        "running",
    )
    assert carried.amount == Decimal("-0.05")
    assert carried.period.label == "2025-10"
    assert conserved(result)


@pytest.mark.parametrize("stop", ["00:00:00", "00:00:10", "00:00:30"])
def test_IN3_the_rest_of_a_minute_begun_in_october_is_applied_to_october(stop: str) -> None:
    """IN3, G3: stopped at or just after midnight, the endpoint's last minute began in October:
    whatever of it is drawn in November (running, and the rest at the stop) is October's."""
    result = run(
        [endpoint(), Account(opening_balance=100)],
        [Deploy("2025-10-31T23:00:30Z", "ep"), Stop(f"2025-11-01T{stop}Z", "ep")],
        until="2025-11-02T00:00:00Z",
    )
    october, november = result.invoices
    assert (october.total.amount, october.credits_applied.amount) == (Decimal(6), Decimal(6))
    assert october.amount_due.amount == 0
    assert (november.lines, november.credits_applied.amount) == ((), 0)
    assert {e.period.label for e in result.ledger if e.kind == "consumption"} == {"2025-10"}
    assert consumed_by(result, "ep") == Decimal(6)


def test_IN3_a_scale_down_after_midnight_splits_the_rest_by_the_minute_each_replica_began() -> None:
    """IN3, G3: two replicas on different grids, both removed at 00:00:20: the one whose minute
    began before midnight is October's, the one that began at 00:00:10 is November's."""
    result = run(
        [
            DedicatedEndpoint("ep", model="m", hardware="1x_g", min_replicas=1, max_replicas=3),
            Account(opening_balance=100),
        ],
        [
            Deploy("2025-10-31T23:58:30Z", "ep"),
            ScaleReplicas("2025-11-01T00:00:10Z", "ep", replicas=2),
            ScaleReplicas("2025-11-01T00:00:20Z", "ep", replicas=0),
        ],
        until="2025-11-01T01:00:00Z",
    )
    rests = [(e.period.label, e.amount) for e in result.ledger if e.note.startswith(TAIL)]
    # Replica 1: minute 23:59:30-00:00:30, 10 s left; replica 2: 00:00:10-00:01:10, 50 s left
    # ($0.10 a minute). The earlier month's part is booked first, as for running draws.
    assert [(label, amount * 6) for label, amount in rests] == [  # 28 digits
        ("2025-10", Decimal("-0.1")),
        ("2025-11", Decimal("-0.5")),
    ]
    october, november = result.invoices
    assert october.amount_due.amount == november.amount_due.amount == 0


def test_IN3_replicas_on_two_grids_carry_their_own_minutes_into_october() -> None:
    """IN3: replicas ready at 23:58:30 and 23:59:45 run past midnight; the November draw of
    00:00:00-00:00:30 (one replica) and 00:00:00-00:00:45 (the other) is October's, marked
    with the earlier of the two minutes' starts."""
    two = DedicatedEndpoint("ep", model="m", hardware="1x_g", max_replicas=2)
    result = run(
        [two, Account(opening_balance=100)],
        [
            Deploy("2025-10-31T23:58:30Z", "ep", ready=True),
            ScaleReplicas("2025-10-31T23:59:45Z", "ep", replicas=2),
            Stop("2025-11-01T00:30:00Z", "ep"),
        ],
        until="2025-11-01T01:00:00Z",
    )
    carried = [e for e in result.ledger if e.unit_start_micros is not None and e.note == "running"]
    (entry,) = carried
    assert entry.unit_start_micros == us("2025-10-31T23:59:30Z")
    assert entry.amount == Decimal("-0.125")  # 75 replica-seconds at $0.10 a minute
    october, november = result.invoices
    assert october.amount_due.amount == november.amount_due.amount == 0
    assert october.credits_applied == october.total


def test_IN3_a_unit_begun_at_the_months_start_is_not_marked() -> None:
    """IN3, G3: a replica removed at 00:00:20 whose minute began at 00:00:00 on 1 November:
    the rest of that minute is November's and carries no earlier unit start."""
    result = run(
        [endpoint(), Account(opening_balance=100)],
        [
            Deploy("2025-10-31T23:00:00Z", "ep", ready=True),
            Stop("2025-11-01T00:00:20Z", "ep"),
        ],
        until="2025-11-01T01:00:00Z",
    )
    (rest,) = [e for e in result.ledger if e.note.startswith(TAIL)]
    assert (rest.unit_start_micros, rest.period.label) == (None, "2025-11")
    assert [i.amount_due.amount for i in result.invoices] == [0, 0]


# -- scenario files --------------------------------------------------------------------------------

SCENARIO = """
until: "2025-11-05T00:00:00Z"
start: "2025-11-03T00:00:00Z"
policies: {edition: "2026"}
account:
  opening_balance: 40
  auto_recharge: {mode: top-up, threshold: 20, target: 50}
catalog:
  default: false
  hardware:
    - {hardware: 1x_g, per_hour: 6, effective_from: "2025-01-01T00:00:00Z"}
resources:
  - {kind: dedicated_endpoint, id: ep, model: m, hardware: 1x_g}
events:
  - {type: deploy, at: "2025-11-03T00:00:00Z", resource: ep}
  - {type: purchase, at: "2025-11-03T02:00:00Z", amount: 10}
  - {type: grant, at: "2025-11-03T03:00:00Z", amount: 5, expires: "2025-11-03T04:00:00Z"}
  - {type: stop, at: "2025-11-03T10:00:30Z", resource: ep}
"""


def test_scenario_account_purchase_grant_and_edition_match_the_python_api() -> None:
    """Scenario files: ``account:``, ``purchase``/``grant`` events and ``edition`` replay as in Python."""
    import yaml

    doc = ScenarioDoc.model_validate(yaml.safe_load(SCENARIO))
    from_file = doc.run()
    catalog = Catalog([HardwarePrice("1x_g", "6", E)])
    from_api = simulate(
        [
            endpoint(),
            Account(
                opening_balance=40,
                auto_recharge=AutoRecharge(mode="top-up", threshold=20, target=50),
            ),
        ],
        [
            Deploy(at("00:00"), "ep"),
            Purchase(at("02:00"), "account", 10),
            Grant(at("03:00"), "account", 5, expires=at("04:00")),
            Stop(at("10:00:30"), "ep"),
        ],
        until="2025-11-05T00:00:00Z",
        start=at("00:00"),
        catalog=catalog,
        policies=Policies.for_edition("2026"),
    )
    assert from_file.to_dict() == from_api.to_dict()
    assert from_file.credits == from_api.credits
    assert doc.policies.build().credit_floor == 0
    assert [e.kind for e in from_file.ledger if e.kind != "consumption"][:3] == [
        "purchase",
        "purchase",
        "grant",
    ]


def test_example_credits_run_out_exhausts_as_documented() -> None:
    """The example ``credits-run-out.yaml``: exhaustion, CR3-CR5 actions, and the CR7 restore."""
    from pathlib import Path

    from together_billing.scenario import run_scenario

    path = Path(__file__).resolve().parents[1] / "examples" / "credits-run-out.yaml"
    result = run_scenario(path)
    exhausted = when(result, "account", "credits exhausted")
    assert exhausted[0] == "2025-11-03T11:24:49.389703+00:00"
    assert when(result, "training", "burst capacity decommissioned") == exhausted[:1]
    assert when(result, "scratch", "decommissioned") == ["2025-11-06T11:24:49.389703+00:00"]
    assert when(result, "datasets", "access restored") == ["2025-11-07T00:00:00+00:00"]
    assert when(result, "scratch", "resumed") == []
    assert conserved(result)


def test_CR2_purchase_and_charge_at_one_instant_are_netted_before_the_engine_reacts() -> None:
    """CR2, CR7: a purchase and a charge at one instant are both the customer's: the usage is
    admitted against the balance the purchase made, and the engine reacts to the instant
    once, after both; the balance is still below the floor, so the account stays exhausted."""
    prices = Catalog(
        [
            HardwarePrice("1x_g", "6", "2025-01-01T00:00:00Z"),
            ServerlessPrice("m", "0.30", "1.20", "2025-01-01T00:00:00Z"),
        ]
    )
    result = simulate(
        [
            DedicatedEndpoint("ep", model="x", hardware="1x_g"),
            ServerlessUsage("s", model="m"),
            Account(opening_balance=10),
        ],
        [
            Deploy("2025-11-03T00:00:00Z", "ep"),
            Purchase("2025-11-03T03:00:00Z", "account", 5),
            TokenUsage("2025-11-03T03:00:00Z", "s", input_tokens=20_000_000),
        ],
        until="2025-11-04T00:00:00Z",
        catalog=prices,
        policies=Policies.for_edition("2026"),
    )
    runs_out = [str(e.at) for e in result.log if e.action == "credits exhausted"]
    assert runs_out == ["2025-11-03 01:40:00+00:00"]
    assert not [e for e in result.log if e.action == "credits restored"]
    assert result.balance == -1
    assert any(line.resource == "s" and line.amount == Decimal("6.00") for line in result.lines)


# -- Log and ledger of the credit rules (CR1-CR8), pinned down by mutation testing (docs/mutation.md) --


def test_exhaustion_and_restoration_log_of_every_kind_of_resource() -> None:
    """CR1-CR8: alerts, exhaustion, suspension, refusals, restoration and decommissioning, in order and in full.

    $10 opening balance, a $6/h rp.endpoint, 8 GPUs at $3.75/h and 2 TiB at $0.25/h: $36.50
    per hour, so $5 is reached after 493.150685 s, $0 after twice that and the -$100
    floor after 110/36.5 h.
    """
    volume = StorageVolume("v", size_tib=2)
    result = rp.run(
        [Account(opening_balance="10"), ON_DEMAND, volume, EP0, CHAT],
        [
            Deploy(rp.at("00:00"), "o"),
            Deploy(rp.at("00:00"), "v"),
            Deploy(rp.at("00:00"), "ep"),
            Stop(rp.at("06:00"), "o"),
            Start(rp.at("06:30"), "ep"),
            TokenUsage(rp.at("06:40"), "s", input_tokens=5),
            Purchase(rp.at("07:00"), "account", "200"),
            Delete(rp.at("08:00"), "v"),
        ],
        until="2025-11-20T00:00:00Z",
        policies=Policies(alert_thresholds=["5", "0"], **LEGACY),
    )
    exhausted = "2025-11-03T03:00:49.315069+00:00"
    again = "2025-11-03T13:38:47+00:00"
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (rp.iso("00:00"), "ep", "deployed", "DE2", ""),
        (rp.iso("00:00"), "o", "ready", "CL4", "8 GPUs on demand"),
        (rp.iso("00:00"), "v", "created", "ST1", "2 TiB, on-demand"),
        # Decided after the instant's last event, at the rate of all three.
        (
            rp.iso("00:00"),
            "account",
            "alert",
            "CR6",
            f"credits forecast to run out at {exhausted} at the current rate",
        ),
        (
            "2025-11-03T00:08:13.150685+00:00",
            "account",
            "alert",
            "CR6",
            "balance 5.00 USD is at or below 5",
        ),
        (
            "2025-11-03T00:16:26.301370+00:00",
            "account",
            "alert",
            "CR6",
            "balance 0.00 USD is at or below 0",
        ),
        (
            exhausted,
            "account",
            "credits exhausted",
            "CR2",
            "balance -100.00 USD reached the floor -100 (P-FLOOR)",
        ),
        (exhausted, "account", "API access suspended", "CR8", "P-EXHAUST"),
        (exhausted, "ep", "stopped", "CR8", ""),
        (
            exhausted,
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (
            exhausted,
            "v",
            "access revoked",
            "CR5",
            "data deleted unless credits are restored within 168 h (P-GRACE-STORAGE)",
        ),
        (rp.iso("06:00"), "o", "stop ignored", "CR4", "paused: credits ran out"),
        (rp.iso("06:30"), "ep", "start refused", "CR8", "API access is suspended"),
        (rp.iso("06:40"), "s", "requests refused", "CR8", "API access is suspended"),
        (rp.iso("07:00"), "account", "credits purchased", "CR1", "200 USD"),
        (rp.iso("07:00"), "account", "credits restored", "CR7", "API access resumed"),
        (rp.iso("07:00"), "o", "resumed", "CR7", "8 GPUs on demand"),
        (rp.iso("07:00"), "v", "access restored", "CR7", ""),
        (
            rp.iso("07:00"),
            "account",
            "alert",
            "CR6",
            "credits forecast to run out at 2025-11-03T13:33:13.770492+00:00 at the current rate",
        ),
        (rp.iso("08:00"), "v", "deleted", "ST1", ""),
        (
            "2025-11-03T10:08:47+00:00",
            "account",
            "alert",
            "CR6",
            "balance 5.00 USD is at or below 5",
        ),
        (
            "2025-11-03T10:18:47+00:00",
            "account",
            "alert",
            "CR6",
            "balance 0.00 USD is at or below 0",
        ),
        (
            again,
            "account",
            "credits exhausted",
            "CR2",
            "balance -100.00 USD reached the floor -100 (P-FLOOR)",
        ),
        (again, "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            again,
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (
            "2025-11-05T13:38:47+00:00",
            "o",
            "alert",
            "CR6",
            "the paused cluster will be decommissioned in 24 h unless credits are restored (CR4)",
        ),
        (
            "2025-11-06T13:38:47+00:00",
            "o",
            "decommissioned",
            "CR4",
            "credits were not restored",
        ),
    ]
    assert [(line.resource, line.quantity, line.amount) for line in result.lines] == [
        ("ep", Decimal(181), Decimal("18.10")),
        ("o", Decimal(4640), Decimal("290.00")),
        ("v", Decimal(482), Decimal("2.01")),
    ]
    assert result.credits == {
        "purchased": Decimal(210),
        "granted": Decimal(0),
        "consumed": Decimal("310.108333333333"),
        "expired": Decimal(0),
        "remaining": Decimal("-100.108333333333"),
    }
    # The rest of each started minute is drawn at the instant units stop (G3).
    tails = [(e.resource, e.note) for e in result.ledger if e.note.startswith("rest of")]
    assert tails == [
        ("ep", "rest of the started minute (G3)"),
        ("o", "rest of the started minute (G3)"),
        ("v", "rest of the started minute (G3)"),
        ("o", "rest of the started minute (G3)"),
    ]
    assert result.state.status("o") == "decommissioned"
    assert result.state.status("ep") == "stopped"


def test_revoked_volume_data_is_deleted_after_the_grace_period() -> None:
    """CR5/CR6: the grace alert comes P-ALERT-LEAD hours before the data is deleted; a later Delete is ignored."""
    volume = StorageVolume("v", size_tib=4)
    result = rp.run(
        [Account(opening_balance="5"), volume],
        [Deploy(rp.at("00:00"), "v"), Delete(rp.at("00:00", "10"), "v")],
        until="2025-11-11T00:00:00Z",
        policies=Policies(
            alert_thresholds=[],
            credit_floor=0,
            grace_storage_hours=48,
            alert_lead_hours=12,
            revoked_storage_bills=False,
        ),
    )
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance 5"),
        (rp.iso("00:00"), "v", "created", "ST1", "4 TiB, on-demand"),
        (
            rp.iso("00:00"),
            "account",
            "alert",
            "CR6",
            "credits forecast to run out at 2025-11-03T05:00:00+00:00 at the current rate",
        ),
        (
            rp.iso("05:00"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (rp.iso("05:00"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            rp.iso("05:00"),
            "v",
            "access revoked",
            "CR5",
            "data deleted unless credits are restored within 48 h (P-GRACE-STORAGE)",
        ),
        (
            rp.iso("17:00", "04"),
            "v",
            "alert",
            "CR6",
            "the volume's data will be deleted in 12 h unless credits are restored (CR5)",
        ),
        (rp.iso("05:00", "05"), "v", "data deleted", "CR5", "credits were not restored"),
        (rp.iso("00:00", "10"), "v", "delete ignored", "CR5", "its data was already deleted"),
    ]
    assert [(line.quantity, line.amount) for line in result.lines] == [
        (Decimal(1200), Decimal("5.00"))
    ]
    assert result.state.status("v") == "deleted"


def test_exhaustion_with_a_reserved_cluster_and_a_paused_cluster_that_bills() -> None:
    """CR3/CR4: burst is decommissioned and new burst refused; P-PAUSED-BILLS keeps a paused cluster billing."""
    reserved = InstantCluster(
        "c", gpu_type="G", billing="reserved", gpus=16, reserved_gpus=8, duration_days=30
    )
    result = rp.run(
        [Account(opening_balance="40"), reserved, ON_DEMAND],
        [
            Deploy(rp.at("00:00"), "c"),
            Deploy(rp.at("00:00"), "o"),
            ScaleGpus(rp.at("05:00"), "c", 24),
            ScaleGpus(rp.at("06:00"), "c", 8),
        ],
        until=rp.at("07:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0, paused_cluster_bills=True),
    )
    assert rp.log_of(result)[4:] == [
        (
            rp.iso("00:40"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (rp.iso("00:40"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (
            rp.iso("00:40"),
            "c",
            "burst capacity decommissioned",
            "CR3",
            "back to the 8 reserved GPUs, which run to the reservation's end",
        ),
        (
            rp.iso("00:40"),
            "o",
            "paused",
            "CR4",
            "decommissioned unless credits are restored within 72 h (P-GRACE-COMPUTE)",
        ),
        (rp.iso("05:00"), "c", "scale refused", "CR3", "credits exhausted: no on-demand capacity"),
        (
            rp.iso("06:00"),
            "c",
            "GPUs changed",
            "CL3",
            "8 -> 8 GPUs (8 reserved, 0 burst at on-demand rates)",
        ),
    ]
    assert [(line.rule, line.quantity, line.amount) for line in result.lines] == [
        ("CL2", Decimal(5760), Decimal("14400.00")),
        ("CL3", Decimal(320), Decimal("20.00")),
        # The paused cluster keeps billing (P-PAUSED-BILLS): 7 hours of 8 GPUs.
        ("CL4", Decimal(3360), Decimal("210.00")),
    ]
    assert result.state.status("o") == "paused"


def test_exhaustion_without_suspension_keeps_endpoints_and_serverless_running() -> None:
    """P-EXHAUST off: no suspension, the endpoint keeps running and usage is billed; revoked storage can bill."""
    volume = StorageVolume("v", size_tib=4)
    result = rp.run(
        [Account(opening_balance="1"), EP0, CHAT, volume],
        [
            Deploy(rp.at("00:00"), "ep"),
            Deploy(rp.at("00:00"), "v"),
            TokenUsage(rp.at("02:00"), "s", 10**6),
        ],
        until=rp.at("03:00"),
        policies=Policies(
            alert_thresholds=[],
            credit_floor=0,
            exhaustion_suspends_api=False,
            revoked_storage_bills=True,
        ),
    )
    assert [entry.action for entry in result.log] == [
        "account opened",
        "deployed",
        "created",
        "alert",
        "credits exhausted",
        "access revoked",
    ]
    assert [(line.resource, line.amount) for line in result.lines] == [
        ("s", Decimal("1.00")),
        ("ep", Decimal("18.00")),
        ("v", Decimal("3.00")),
    ]
    assert result.state.status("ep") == "running"
    assert result.state.status("v") == "access revoked"


def test_grants_purchases_and_expiry_are_logged() -> None:
    """CR1: a grant names its expiry, a purchase its amount; expired promotional credits are logged."""
    result = rp.run(
        [Account(opening_balance="10")],
        [
            Grant(rp.at("01:00"), "account", "20", expires=rp.at("05:00")),
            Grant(rp.at("02:00"), "account", "3"),
            Purchase(rp.at("03:00"), "account", "5"),
        ],
    )
    assert rp.log_of(result) == [
        (rp.iso("01:00"), "account", "account opened", "CR1", "balance 10"),
        (
            rp.iso("01:00"),
            "account",
            "credits granted",
            "CR1",
            f"20 USD, expiring {rp.iso('05:00')}",
        ),
        (rp.iso("02:00"), "account", "credits granted", "CR1", "3 USD"),
        (rp.iso("03:00"), "account", "credits purchased", "CR1", "5 USD"),
        (rp.iso("05:00"), "account", "promotional credits expired", "CR1", ""),
    ]
    assert result.credits == {
        "purchased": Decimal(15),
        "granted": Decimal(23),
        "consumed": Decimal(0),
        "expired": Decimal(20),
        "remaining": Decimal(18),
    }
    assert result.balance == 18
    assert str(result.credits["expired"]) == "20"


def test_opening_debt_is_consumed_and_alerted() -> None:
    """CR1: a negative opening balance is an 'opening debt' consumption; the $10 default alert fires at once."""
    result = rp.run([Account(opening_balance="-20")], [], start=rp.at("00:00"))
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance -20"),
        (rp.iso("00:00"), "account", "alert", "CR6", "balance -20.00 USD is at or below 10"),
    ]
    (debt,) = result.ledger
    assert (debt.kind, debt.amount, debt.resource, debt.note) == (
        "consumption",
        Decimal(-20),
        "account",
        "opening debt",
    )


@pytest.mark.parametrize(
    ("recharge", "expected"),
    [
        (
            AutoRecharge(mode="increment", threshold="10", amount="2"),
            [
                ("2025-11-03T00:20:00.000001+00:00", "5 USD (increment)"),
                ("2025-11-03T01:10:00.000001+00:00", "5 USD (increment)"),
            ],
        ),
        (
            AutoRecharge(mode="top-up", threshold="10", target="30"),
            [("2025-11-03T00:20:00.000001+00:00", "20.01 USD (top-up)")],
        ),
    ],
)
def test_auto_recharge_buys_at_least_the_minimum_below_the_threshold(
    recharge: AutoRecharge, expected: list[tuple[str, str]]
) -> None:
    """CR1/P-MIN-BUY: a recharge fires the microsecond the balance goes below its threshold, never under $5."""
    result = rp.run(
        [Account(opening_balance="12", auto_recharge=recharge), EP0],
        [Deploy(rp.at("00:00"), "ep"), Stop(rp.at("02:00"), "ep")],
    )
    # The $10 alert fires the moment the balance reaches the threshold, the recharge a
    # microsecond later, when it is below.
    assert ("2025-11-03T00:20:00+00:00", "balance 10.00 USD is at or below 10") in [
        (when, detail) for when, _, action, _, detail in rp.log_of(result) if action == "alert"
    ]
    recharges = [
        (at_, detail)
        for at_, _, action, _, detail in rp.log_of(result)
        if action == "auto-recharge"
    ]
    assert recharges == expected
    assert all(
        (entry.resource, entry.rule) == ("account", "CR1")
        for entry in result.log
        if entry.action == "auto-recharge"
    )


@pytest.mark.parametrize(
    ("resources", "events", "expected"),
    [
        (
            [Account(opening_balance="10")],
            [Purchase(rp.at("00:00"), "account", "4.99")],
            ("amount", Decimal("4.99"), "at least 5 (P-MIN-BUY)"),
        ),
        (
            [Account(opening_balance="10")],
            [Purchase(rp.at("00:00"), "other", "10")],
            ("resource", "other", "the replay's Account (account)"),
        ),
        (
            [],
            [Purchase(rp.at("00:00"), "account", "10")],
            ("resource", "account", "the replay's Account (no Account)"),
        ),
        (
            [Account(opening_balance="10")],
            [Grant(rp.at("00:00"), "other", "10")],
            ("resource", "other", "the replay's Account (account)"),
        ),
    ],
)
def test_credit_event_errors(
    resources: list[Resource | Account], events: list[Event], expected: tuple[object, ...]
) -> None:
    """Purchases below P-MIN-BUY and credit events for another account raise precisely."""
    assert error_of(resources, events) == expected


def test_purchase_of_exactly_the_minimum_is_accepted() -> None:
    """P-MIN-BUY: $5 is enough."""
    result = rp.run([Account()], [Purchase(rp.at("00:00"), "account", "5")])
    assert result.balance == 5


def test_grant_must_expire_after_it_is_given() -> None:
    """A grant expiring at its own instant is refused, naming the grant's instant."""
    grant = Grant(rp.at("01:00"), "account", "10", expires=rp.at("01:00"))
    with pytest.raises(InvalidTimeline) as info:
        rp.run([Account()], [grant])
    assert info.value.event is grant
    assert (info.value.field, info.value.value) == ("expires", grant.expires)
    assert info.value.expected == "an instant after 2025-11-03T01:00:00+00:00"


def test_one_account_per_replay() -> None:
    """Two different Accounts are refused; the same one given twice is accepted."""
    first = Account(opening_balance="10")
    other = Account(opening_balance="11")
    with pytest.raises(InvalidArgument) as info:
        rp.run([first, other], [])
    assert (info.value.field, info.value.value, info.value.expected) == (
        "resources",
        other,
        "one Account per replay (the account's credits)",
    )
    result = rp.run(
        [first, Account(opening_balance="10")], [], start=rp.at("00:00"), policies=NO_ALERTS
    )
    assert [entry.action for entry in result.log] == ["account opened"]


def test_draws_are_booked_and_applied_per_month() -> None:
    """IN3: a draw spanning a month boundary is split, and each invoice applies its own month's credits."""
    result = rp.run(
        [Account(opening_balance="10"), EP0],
        [Deploy("2025-11-30T23:00:00Z", "ep"), Stop("2025-12-01T03:00:00Z", "ep")],
        until="2025-12-02T00:00:00Z",
        policies=NO_ALERTS,
    )
    assert [
        (i.period.label, i.total.amount, i.credits_applied.amount, i.amount_due.amount)
        for i in result.invoices
    ] == [
        ("2025-11", Decimal("6.00"), Decimal("6.00"), Decimal("0.00")),
        ("2025-12", Decimal("18.00"), Decimal("4.00"), Decimal("14.00")),
    ]
    assert [
        (e.kind, e.amount, e.balance, e.from_credits, e.since_micros) for e in result.ledger
    ] == [
        ("purchase", Decimal(10), Decimal(10), Decimal(0), None),
        ("consumption", Decimal(-6), Decimal(4), Decimal(6), 1764543600000000),
        ("consumption", Decimal(-18), Decimal(-14), Decimal(4), 1764547200000000),
    ]
    assert result.ledger[2].at_micros == 1764558000000000


def test_credit_figures_are_plain_decimals() -> None:
    """The credits summary gives whole amounts without an exponent (100, not 1E+2)."""
    result = rp.run([Account(opening_balance="-100")], [], start=rp.at("00:00"), policies=NO_ALERTS)
    assert result.credits is not None
    assert {name: str(value) for name, value in result.credits.items()} == {
        "purchased": "0",
        "granted": "0",
        "consumed": "100",
        "expired": "0",
        "remaining": "-100",
    }
    assert result.to_dict()["credits"]["remaining"] == "-100.00"
    # A debt under half a cent shows as 0.00, never -0.00.
    tiny = rp.run([Account(opening_balance="-0.004")], [], start=rp.at("00:00"), policies=NO_ALERTS)
    assert tiny.to_dict()["credits"]["remaining"] == "0.00"


def test_credit_checks_follow_catalog_price_changes_and_the_forecast_lead() -> None:
    """CR2/CR6/G4: the forecast alert comes P-ALERT-LEAD hours ahead; a catalog price rise moves exhaustion earlier."""
    catalog = rp.CATALOG.with_entries(HardwarePrice("1x_g", "12", rp.at("01:00")))
    result = rp.run(
        [Account(opening_balance="10"), EP0],
        [Deploy(rp.at("00:00"), "ep")],
        until=rp.at("03:00"),
        catalog=catalog,
        policies=Policies(alert_thresholds=["5"], credit_floor=0, alert_lead_hours=1),
    )
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (rp.iso("00:00"), "ep", "deployed", "DE2", ""),
        # At $6/h the $10 last until 01:40: warned one hour ahead.
        (
            rp.iso("00:40"),
            "account",
            "alert",
            "CR6",
            f"credits forecast to run out at {rp.iso('01:40')} at the current rate",
        ),
        (rp.iso("00:50"), "account", "alert", "CR6", "balance 5.00 USD is at or below 5"),
        # From 01:00 the rate is $12/h: the remaining $4 last 20 minutes.
        (
            rp.iso("01:20"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (rp.iso("01:20"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (rp.iso("01:20"), "ep", "stopped", "CR8", ""),
    ]
    # One booking when the endpoint stops: 60 minutes at $6/h and 20 at $12/h.
    assert [(e.at_micros - 1762128000000000, e.amount) for e in result.ledger] == [
        (0, Decimal(10)),
        (80 * 60_000_000, Decimal(-10)),
    ]
    assert [(line.rate, line.quantity) for line in result.lines] == [
        (Decimal(6), Decimal(60)),
        (Decimal(12), Decimal(20)),
    ]


def test_a_balance_exactly_at_a_threshold_alerts_once() -> None:
    """CR6: a balance equal to the threshold is 'at or below' it; it alerts once, however many checks follow."""
    result = rp.run(
        [Account(opening_balance="10"), CHAT],
        [TokenUsage(rp.at("01:00"), "s"), TokenUsage(rp.at("02:00"), "s")],
        start=rp.at("00:00"),
        until=rp.at("03:00"),
    )
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance 10"),
        (rp.iso("00:00"), "account", "alert", "CR6", "balance 10.00 USD is at or below 10"),
    ]


def test_a_balance_exactly_at_the_floor_is_exhausted_and_stays_so() -> None:
    """CR2/CR6: a balance equal to the floor is exhausted at once; a threshold at the floor never alerts."""
    result = rp.run(
        [Account(opening_balance="0"), CHAT],
        [TokenUsage(rp.at("01:00"), "s"), TokenUsage(rp.at("02:00"), "s")],
        start=rp.at("00:00"),
        until=rp.at("03:00"),
        policies=Policies(credit_floor=0, alert_thresholds=["0", "-5"]),
    )
    assert rp.log_of(result) == [
        (rp.iso("00:00"), "account", "account opened", "CR1", "balance 0"),
        (
            rp.iso("00:00"),
            "account",
            "credits exhausted",
            "CR2",
            "balance 0.00 USD reached the floor 0 (P-FLOOR)",
        ),
        (rp.iso("00:00"), "account", "API access suspended", "CR8", "P-EXHAUST"),
        (rp.iso("01:00"), "s", "requests refused", "CR8", "API access is suspended"),
        (rp.iso("02:00"), "s", "requests refused", "CR8", "API access is suspended"),
    ]
    # A zero opening balance is neither a purchase nor a debt.
    assert result.ledger == ()


def test_a_running_balance_at_a_threshold_plans_no_extra_check() -> None:
    """CR6: a balance exactly at a threshold is not 'above' it: no crossing is planned for it."""
    result = rp.run(
        [Account(opening_balance="10"), EP0],
        [Deploy(rp.at("00:00"), "ep"), Stop(rp.at("01:00"), "ep")],
        until=rp.at("02:00"),
    )
    assert [(e.at_micros - 1762128000000000, e.amount) for e in result.ledger] == [
        (0, Decimal(10)),
        (3_600_000_000, Decimal(-6)),
    ]
    assert [e.detail for e in result.log if e.action == "alert"] == [
        "balance 10.00 USD is at or below 10",
        "credits forecast to run out at 2025-11-03T18:20:00+00:00 at the current rate",
    ]


def test_exhaustion_skips_stopped_clusters_and_deleted_volumes_but_not_later_ones() -> None:
    """CR4/CR5: a stopped cluster or deleted volume is left alone; the running ones after it are paused or revoked."""
    stopped = InstantCluster("a", gpu_type="G", billing="on-demand", gpus=8)
    running = InstantCluster("b", gpu_type="G", billing="on-demand", gpus=8)
    deleted, kept = StorageVolume("u", size_tib=1), StorageVolume("w", size_tib=1)
    result = rp.run(
        [Account(opening_balance="5"), stopped, running, deleted, kept],
        [
            Deploy(rp.at("00:00"), "a"),
            Stop(rp.at("00:01"), "a"),
            Deploy(rp.at("00:00"), "b"),
            Deploy(rp.at("00:00"), "u"),
            Delete(rp.at("00:01"), "u"),
            Deploy(rp.at("00:00"), "w"),
        ],
        until=rp.at("01:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0),
    )
    exhausted = "2025-11-03T00:08:55.041323+00:00"
    assert [(e.resource, e.action) for e in result.log if e.at.isoformat() == exhausted] == [
        ("account", "credits exhausted"),
        ("account", "API access suspended"),
        ("b", "paused"),
        ("w", "access revoked"),
    ]
    assert {name: result.state.status(name) for name in "abuw"} == {
        "a": "stopped",
        "b": "paused",
        "u": "deleted",
        "w": "access revoked",
    }


def test_credits_applied_are_zero_without_consumption() -> None:
    """IN3: an invoice of a replay with credits but no consumption applies no credits."""
    result = rp.run(
        [Account(opening_balance="10")],
        [Purchase(rp.at("01:00"), "account", "5")],
        start="2025-10-31T00:00:00Z",
        until=rp.at("02:00"),
        policies=NO_ALERTS,
    )
    assert [(i.period.label, i.credits_applied.amount) for i in result.invoices] == [
        ("2025-10", Decimal("0.00")),
        ("2025-11", Decimal("0.00")),
    ]


def test_superseded_credit_checks_do_not_run() -> None:
    """CR2: a credit check planned before a later event changed the rate is dropped: no draw at its instant."""
    result = rp.run(
        [Account(opening_balance="10"), rp.endpoint("a"), rp.endpoint("b")],
        [Deploy(rp.at("00:00"), "a"), Deploy(rp.at("00:30"), "b")],
        until=rp.at("03:00"),
        policies=Policies(alert_thresholds=[], credit_floor=0, exhaustion_suspends_api=False),
    )
    # Alone, a would have exhausted the credits at 01:40; with b from 00:30 they run out at
    # 01:05, and nothing happens at 01:40. (Draws are booked at the end: nothing stops.)
    assert [(e.at_micros - 1762128000000000, e.amount, e.resource) for e in result.ledger] == [
        (0, Decimal(10), ""),
        (180 * 60_000_000, Decimal(-18), "a"),
        (180 * 60_000_000, Decimal(-15), "b"),
    ]
    exhausted = [e.at for e in result.log if e.action == "credits exhausted"]
    assert exhausted == [pendulum.parse(rp.iso("01:05"))]
    assert not [e for e in result.log if e.at == pendulum.parse(rp.iso("01:40"))]
    assert [e.action for e in result.log if e.resource == "account"] == [
        "account opened",
        "alert",
        "credits exhausted",
    ]


# -- Booking continuous draws (CR1, issue 15): the ledger grows with what changes a slope ------


def test_CR1_running_draws_are_booked_when_their_slope_changes_not_at_every_event() -> None:
    """CR1: 20 endpoints run all day while 200 purchases and token charges come and go. Each
    purchase books every running draw first (its balance is the true one); token charges
    book nothing but themselves; stops book the stopping endpoint only. So the ledger
    grows with the movements of credits and the changes of running units, not with
    events times running resources, and the drawn amounts still equal what is billed."""
    endpoints = [endpoint(f"ep-{i:02}") for i in range(20)]
    chat = ServerlessUsage("chat", model=CHAT.model)
    events: list[Event] = [Deploy(at("00:00"), e.id) for e in endpoints]
    events += [
        TokenUsage(at(f"{h:02}:{m:02}"), "chat", 1000, 1000)
        for h in range(1, 11)
        for m in range(0, 60, 3)
    ]
    events += [Stop(at("12:00"), e.id) for e in endpoints[:10]]
    result = run([Account(opening_balance=10**6), *endpoints, chat], events, until=at("23:59"))
    running = [e for e in result.ledger if e.kind == "consumption" and e.note == "running"]
    # 10 endpoints booked at their stop, the other 10 at the end: 20 running draws over
    # 200 token events (a booking per event and running resource would be thousands).
    assert len(running) == 20
    assert len([e for e in result.ledger if e.resource == "chat"]) == 200 * 2
    for e in endpoints:
        billed = sum(
            (line.amount_exact for line in result.lines if line.resource == e.id), Decimal(0)
        )
        assert abs(consumed_by(result, e.id) - billed) < Decimal("1e-30")
    # The true balance at every instant is the ledger's movements spread over their spans.
    series = balance_series(result)
    assert series.final_balance == result.balance


def test_CR1_a_purchase_books_what_runs_first_so_its_balance_is_the_true_one() -> None:
    """CR1: the balance a purchase shows counts every draw up to its instant."""
    result = run(
        [Account(opening_balance=100), endpoint("a"), endpoint("b")],
        [Deploy(at("00:00"), "a"), Deploy(at("01:00"), "b"), Purchase(at("03:00"), "account", 50)],
        until=at("04:00"),
    )
    purchase = next(e for e in result.ledger if e.kind == "purchase" and e.amount == 50)
    # a: 3 h, b: 2 h at $6/h = $30 drawn by 03:00.
    assert purchase.balance == Decimal(120)
    assert result.balance == Decimal(108)


# == Credit rooms under mutation (issue 12) ========================================================
# Tests written against surviving mutants of _engine/credits.py, draws.py, alerts.py and
# crossing.py (docs/mutation.md, "Engine credit rooms"). Each pins a rule's behaviour at a
# boundary the tests above did not reach.


def test_CR2_a_balance_exactly_the_tolerance_above_the_floor_has_reached_it() -> None:
    """CR2: a balance within 1e-30 USD of the floor counts as at it, boundary included: an
    opening balance of exactly 1e-30 (floor 0) is exhausted at once; 1e-30 more is not."""
    at_tolerance = run([Account(opening_balance=Decimal("1e-30"))], [], until=at("01:00"))
    opened = when(at_tolerance, "account", "account opened")
    assert when(at_tolerance, "account", "credits exhausted") == opened
    above = run([Account(opening_balance=Decimal("2e-30"))], [], until=at("01:00"))
    assert when(above, "account", "credits exhausted") == []


def test_CR1_a_balance_the_tolerance_below_a_recharge_threshold_does_not_recharge() -> None:
    """CR1 (C6), CR2: auto-recharge fires *below* its threshold by more than the tolerance; a
    balance exactly 1e-30 under it has reached it, not passed below: no purchase. Twice the
    tolerance under it recharges (10 - 1e-30 and 10 - 2e-30, written out: 28-digit
    arithmetic would round both to 10)."""
    recharge = AutoRecharge(mode="increment", threshold=10, amount=25)
    at_tolerance = Account(opening_balance=Decimal("9." + "9" * 30), auto_recharge=recharge)
    assert when(run([at_tolerance], [], until=at("01:00")), "account", "auto-recharge") == []
    under = Account(opening_balance=Decimal("9." + "9" * 29 + "8"), auto_recharge=recharge)
    recharged = run([under], [], until=at("01:00"))
    assert when(recharged, "account", "auto-recharge") == when(
        recharged, "account", "account opened"
    )


def forecast_alerts(result: SimulationResult) -> list[tuple[str, str]]:
    """``(instant, detail)`` of every CR6 run-out forecast alert."""
    return [
        (e.at.isoformat(), e.detail)
        for e in result.log
        if e.action == "alert" and e.detail.startswith("credits forecast")
    ]


def test_CR6_the_forecast_takes_away_at_an_expiry_only_the_credits_expiring_then() -> None:
    """CR6, P-CONSUME: $10 expiring at 02:00 is used first, then $100 expiring at 20:00; at $6/h
    the $10 is gone by 01:40, so nothing is lost at 02:00 and the $110 last until 18:20. The
    forecast steps over the 02:00 expiry without taking the later grant's credits there."""
    result = run(
        [endpoint(), Account()],
        [
            Deploy(at("00:00"), "ep"),
            Grant(at("00:00"), "account", 10, expires=at("02:00")),
            Grant(at("00:00"), "account", 100, expires=at("20:00")),
        ],
    )
    forecast = "credits forecast to run out at 2025-11-03T18:20:00+00:00 at the current rate"
    assert forecast_alerts(result) == [(iso(at("00:00")), forecast)]
    assert when(result, "account", "credits exhausted") == [iso(at("18:20"))]


def test_CR6_a_run_out_closer_than_a_microsecond_is_forecast_a_microsecond_ahead() -> None:
    """CR2, CR6: 2e-30 USD above the floor, drawn at $2,000,000/h, lasts 3.6e-27 µs: the
    forecast and the exhaustion are the next microsecond, never the current one."""
    prices = Catalog([HardwarePrice("1x_x", "2000000", E)])
    result = simulate(
        [
            DedicatedEndpoint("ep", model="m", hardware="1x_x"),
            Account(opening_balance=Decimal("2e-30")),
        ],
        [Deploy(at("00:00"), "ep")],
        until=at("01:00"),
        catalog=prices,
        policies=PREPAID,
    )
    next_micro = iso(at("00:00:00.000001"))
    forecast = f"credits forecast to run out at {next_micro} at the current rate"
    assert forecast_alerts(result) == [(iso(at("00:00")), forecast)]
    assert when(result, "account", "credits exhausted") == [next_micro]


def test_CR6_credits_expired_unused_are_gone_from_the_forecast_for_good() -> None:
    """CR6, P-CONSUME: $100 bought, $10 expiring at 01:00 and $20 at 03:00, $6/h from 00:00:
    $4 and $8 expire unused, so $100 is left at 03:00 and lasts to 19:40. An expired grant
    neither absorbs later draws nor expires again at the next step."""
    result = run(
        [endpoint(), Account(opening_balance=100)],
        [
            Deploy(at("00:00"), "ep"),
            Grant(at("00:00"), "account", 10, expires=at("01:00")),
            Grant(at("00:00"), "account", 20, expires=at("03:00")),
        ],
    )
    forecast = "credits forecast to run out at 2025-11-03T19:40:00+00:00 at the current rate"
    assert forecast_alerts(result) == [(iso(at("00:00")), forecast)]
    assert when(result, "account", "credits exhausted") == [iso(at("19:40"))]


def test_CR6_the_forecast_stops_every_draw_scheduled_to_end_at_one_instant() -> None:
    """CR6, CL5: two reservations end together after two days, stopping both clusters' 8
    burst GPUs ($24/h each). $2,500 covers the $2,304 they draw until then, and nothing
    draws after: no run-out is forecast (one cluster's draw counted on would run out)."""
    result = run(
        [reserved("rc1"), reserved("rc2"), Account(opening_balance=2500)],
        [Deploy(at("00:00"), "rc1"), Deploy(at("00:00"), "rc2")],
        until="2025-11-07T00:00:00Z",
    )
    assert forecast_alerts(result) == []
    assert when(result, "account", "credits exhausted") == []
    assert result.balance == 196


def test_CR6_a_draw_that_ends_leaves_the_rest_drawing_at_their_own_rate() -> None:
    """CR6, CL5: an endpoint ($6/h) and a reservation's 8 burst GPUs ($24/h) draw $1,440 of
    $1,500 in two days; then the burst stops and the endpoint alone runs the last $60 out
    in 10 h. The alert comes 24 h before that run-out (P-ALERT)."""
    result = run(
        [endpoint(), reserved("rc1"), Account(opening_balance=1500)],
        [Deploy(at("00:00"), "ep"), Deploy(at("00:00"), "rc1")],
        until="2025-11-07T00:00:00Z",
    )
    forecast = "credits forecast to run out at 2025-11-05T10:00:00+00:00 at the current rate"
    assert forecast_alerts(result) == [("2025-11-04T10:00:00+00:00", forecast)]
    assert when(result, "account", "credits exhausted") == ["2025-11-05T10:00:00+00:00"]


FORECAST_AT_14 = "credits forecast to run out at 2025-11-03T14:00:00+00:00 at the current rate"


def test_CR6_a_run_out_moved_earlier_by_exactly_half_the_warning_is_not_alerted_again() -> None:
    """CR6: $84 at $6/h runs out at 14:00, alerted at 00:00 (a 14 h warning). At 01:00 a
    second endpoint ($7/h) moves the run-out to 07:00: exactly half the warning earlier,
    which is not *more* than half: no second alert."""
    result = run(
        [endpoint(), endpoint("s", "1x_s"), Account(opening_balance=84)],
        [Deploy(at("00:00"), "ep"), Deploy(at("01:00"), "s")],
    )
    assert forecast_alerts(result) == [(iso(at("00:00")), FORECAST_AT_14)]
    assert when(result, "account", "credits exhausted") == [iso(at("07:00"))]


def test_CR6_a_run_out_moved_later_by_exactly_half_the_warning_keeps_its_alert() -> None:
    """CR6: $84 at $6/h runs out at 14:00, alerted at 00:00; a $42 purchase at 01:00 moves
    the run-out to 21:00, exactly half the 14 h warning later: the alert given still
    stands (a new one comes only for a move of *more* than that)."""
    result = run(
        [endpoint(), Account(opening_balance=84)],
        [Deploy(at("00:00"), "ep"), Purchase(at("01:00"), "account", 42)],
    )
    assert forecast_alerts(result) == [(iso(at("00:00")), FORECAST_AT_14)]
    assert when(result, "account", "credits exhausted") == [iso(at("21:00"))]


def test_CR6_a_purchase_that_moves_the_run_out_much_later_re_arms_the_alert() -> None:
    """CR6: $100 at $6/h runs out at 16:40, alerted at once; $200 bought at 10:00 moves it
    to 02:00 the day after next, far later than announced: a new alert comes at the lead
    time (24 h) before the new run-out."""
    result = run(
        [endpoint(), Account(opening_balance=100)],
        [Deploy(at("00:00"), "ep"), Purchase(at("10:00"), "account", 200)],
    )
    first = "credits forecast to run out at 2025-11-03T16:40:00+00:00 at the current rate"
    second = "credits forecast to run out at 2025-11-05T02:00:00+00:00 at the current rate"
    assert forecast_alerts(result) == [
        (iso(at("00:00")), first),
        ("2025-11-04T02:00:00+00:00", second),
    ]


def test_CR6_after_a_re_arm_a_run_out_brought_back_near_the_first_is_alerted_again() -> None:
    """CR6: $100 at $6/h runs out at 16:40 (alerted at 00:00); $200 bought at 10:00 moves it
    far later, which re-arms the alert; at 10:30 an 8-GPU cluster ($24/h) brings it back to
    18:24, within the lead time: alerted at once, although it is near the first run-out."""
    result = run(
        [endpoint(), on_demand(), Account(opening_balance=100)],
        [
            Deploy(at("00:00"), "ep"),
            Purchase(at("10:00"), "account", 200),
            Deploy(at("10:30"), "od"),
        ],
    )
    first = "credits forecast to run out at 2025-11-03T16:40:00+00:00 at the current rate"
    again = "credits forecast to run out at 2025-11-03T18:24:00+00:00 at the current rate"
    assert forecast_alerts(result) == [(iso(at("00:00")), first), (iso(at("10:30")), again)]
    assert when(result, "account", "credits exhausted") == [iso(at("18:24"))]


def test_CR2_credits_run_out_when_a_prepaid_volume_starts_drawing_again() -> None:
    """CR2, G3, ST3: $0.10 and a 10 TiB volume ($5/h on demand) from 00:00:45; its
    reservation starts at 00:01:10 and its started minute is prepaid ($0.083333 drawn by
    then). From 00:01:45 it draws $2/h (reserved): the $0.016667 left runs out 30 s later.
    Found by a surviving metering mutant: the replay used to plan no credit check while
    nothing drew (its only units prepaid), and never exhausted the credits."""
    prices = CATALOG.with_entries(StoragePrice("reserved", "0.2", E))
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=10, cluster="c"),
            Account(opening_balance="0.1"),
        ],
        [Deploy("2025-11-03T00:00:45Z", "v"), Deploy("2025-11-03T00:01:10Z", "c")],
        until="2025-11-03T02:00:00Z",
        catalog=prices,
        policies=PREPAID,
    )
    assert when(result, "account", "credits exhausted") == ["2025-11-03T00:02:15+00:00"]


def test_CR1_a_booking_while_one_group_is_still_prepaid_books_the_others() -> None:
    """CR1, G3: the two groups of a volume (grids :45 and :20) are prepaid when the
    reservation starts at 00:02:00, to 00:02:45 and 00:02:20. A purchase at 00:02:30 books
    every draw: the older group is still prepaid, the newer has drawn 10 s at the reserved
    rate, which must be booked then. Over the replay the volume draws 1010 TiB-seconds'
    worth at $1/TiB-hour: 35 s x 10 + 40 s x 20 TiB at $0.50, the prepaid 45 s and 20 s of
    10 TiB at $0.50, then 40 s and 15 s of 10 TiB at $0.20."""
    result = simulate(
        [
            InstantCluster(
                "c", gpu_type="G", billing="reserved", gpus=8, reserved_gpus=8, duration_days=1
            ),
            StorageVolume("v", size_tib=10, cluster="c"),
            Account(opening_balance=100),
        ],
        [
            Deploy("2025-11-03T00:00:45Z", "v"),
            ResizeVolume("2025-11-03T00:01:20Z", "v", 20),
            Deploy("2025-11-03T00:02:00Z", "c"),
            Purchase("2025-11-03T00:02:30Z", "account", 10),
        ],
        until="2025-11-03T00:03:00Z",
        catalog=CATALOG.with_entries(StoragePrice("reserved", "0.2", E)),
        policies=PREPAID,
    )
    drawn = Decimal(0)
    for entry in result.ledger:
        if entry.kind == "consumption":
            drawn = EXACT_CONTEXT.subtract(drawn, entry.amount)
    assert abs(EXACT_CONTEXT.subtract(drawn, EXACT_CONTEXT.divide(1010, 3600))) < Decimal("1e-40")


def test_CR1_what_ran_before_a_price_drop_to_zero_is_still_owed() -> None:
    """CR1, G4, CR2: $72.50 and an endpoint at $6/h; the price drops to $0 at 12:00, when
    $72 is drawn but not yet booked. A $1 request at 13:00 is admitted ($0.50 left), and
    the balance it leaves, -$0.50, is below the floor: exhausted then."""
    prices = CATALOG.with_entries(HardwarePrice("1x_g", "0", at("12:00")))
    result = simulate(
        [endpoint(), ServerlessUsage("s", model="chat"), Account(opening_balance="72.5")],
        [Deploy(at("00:00"), "ep"), TokenUsage(at("13:00"), "s", input_tokens=5_000_000)],
        until="2025-11-04T00:00:00Z",
        catalog=prices,
        policies=PREPAID,
    )
    assert when(result, "account", "credits exhausted") == [iso(at("13:00"))]
    assert result.balance == Decimal("-0.50")


def test_CR6_CR7_a_restored_volume_no_longer_stops_at_its_old_grace_end() -> None:
    """CR5, CR7, CR6: a 10 TiB volume ($5/h) runs $10 out at 02:00 and is revoked (it
    still bills, until its grace ends 168 h later); $1,000 bought at 03:00 restores it.
    The forecast no longer expects it to stop at that grace end: $995 last 199 h, to
    11-11 10:00, alerted 24 h before."""
    result = run(
        [StorageVolume("v", size_tib=10), Account(opening_balance=10)],
        [Deploy(at("00:00"), "v"), Purchase(at("03:00"), "account", 1000)],
        until="2025-11-20T00:00:00Z",
    )
    forecast = "credits forecast to run out at 2025-11-11T10:00:00+00:00 at the current rate"
    assert forecast_alerts(result)[1:] == [("2025-11-10T10:00:00+00:00", forecast)]


def test_IN3_CR1_draws_are_booked_in_each_period_they_ran_in_across_months() -> None:
    """IN3, CR1: an endpoint ($6/h) runs from October 31 to January 1 at noon, with nothing
    happening between but a request at exactly December 1, 00:00. Each month's draws are
    booked at its end and applied to its own invoice: every invoice is paid in full."""
    result = simulate(
        [endpoint(), ServerlessUsage("s", model="chat"), Account(opening_balance=10000)],
        [
            Deploy("2025-10-31T00:00:00Z", "ep"),
            TokenUsage("2025-12-01T00:00:00Z", "s", input_tokens=1000),
            Stop("2026-01-01T12:00:00Z", "ep"),
        ],
        until="2026-01-02T00:00:00Z",
        catalog=CATALOG,
        policies=PREPAID,
    )
    paid = [(i.period.label, i.total.amount, i.credits_applied.amount) for i in result.invoices]
    assert paid == [
        ("2025-10", Decimal("144.00"), Decimal("144.00")),
        ("2025-11", Decimal("4320.00"), Decimal("4320.00")),
        ("2025-12", Decimal("4464.00"), Decimal("4464.00")),
        ("2026-01", Decimal("72.00"), Decimal("72.00")),
    ]
    period_ends = [
        from_micros(e.at_micros).isoformat() for e in result.ledger if e.resource == "ep"
    ]
    assert period_ends == [
        "2025-11-01T00:00:00+00:00",
        "2025-12-01T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T12:00:00+00:00",
    ]


def test_CR6_CR7_after_a_restoration_the_next_run_out_is_alerted_afresh() -> None:
    """CR6, CR7: a 10 TiB volume ($5/h) runs $10 out at 02:00, alerted at 00:00 (a 2 h
    warning); revoked, it still bills. $5 bought at 02:30 restores it with $2.50, which runs
    out at 03:00: an hour after the run-out announced before, no more than half that
    warning, yet a new run-out after a restoration is always alerted."""
    result = run(
        [StorageVolume("v", size_tib=10), Account(opening_balance=10)],
        [Deploy(at("00:00"), "v"), Purchase(at("02:30"), "account", 5)],
        until=at("06:00"),
    )
    assert when(result, "account", "credits restored") == [iso(at("02:30"))]
    forecast = "credits forecast to run out at 2025-11-03T03:00:00+00:00 at the current rate"
    assert forecast_alerts(result)[1:] == [(iso(at("02:30")), forecast)]


def test_CL2_CR1_a_reservation_paid_from_credits_is_refused_with_what_it_would_draw() -> None:
    """CL2, P-RESERVE-PAY: a reservation paid from credits (8 GPUs x $2 x 48 h = $768) with
    $100 would take the balance below the floor: the deploy is refused, and the log says how
    much and below what."""
    policies = Policies.for_edition("2026", reservation_payment="credits")
    result = run(
        [reserved("rc"), Account(opening_balance=100)],
        [Deploy(at("00:00"), "rc")],
        policies=policies,
    )
    refused = [(e.action, e.rule, e.detail) for e in result.log if e.resource == "rc"]
    assert refused == [
        ("deploy refused", "CL2", "768.00 USD from credits would take the balance below 0")
    ]


def test_CR1_G4_a_price_change_pending_for_an_endpoint_stopped_at_exhaustion_is_dropped() -> None:
    """CR1, CR8, G4: an endpoint stopped when credits ran out leaves behind the price change
    its next unit would have met (12:00); while exhausted nothing looks at it, and the next
    movement of credits (13:00) passes it without drawing anything for the endpoint."""
    catalog = Catalog(
        [HardwarePrice("1x_g", "6", E), HardwarePrice("1x_g", "12", "2025-11-03T12:00:00Z")]
    )
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
    result = simulate(
        [endpoint, Account(opening_balance=1)],
        [Deploy("2025-11-03T09:00:00Z", "ep"), Purchase("2025-11-03T13:00:00Z", "account", 5)],
        until="2025-11-04T00:00:00Z",
        catalog=catalog,
    )
    assert [line.amount for line in result.lines] == [Decimal(1)]
    assert result.balance == 5
    assert [(e.at.isoformat(), e.action) for e in result.log if e.resource == "ep"] == [
        ("2025-11-03T09:00:00+00:00", "deployed"),
        ("2025-11-03T09:10:00+00:00", "stopped"),
    ]


def test_CR1_an_account_added_to_a_continued_replay_draws_for_what_already_runs() -> None:
    """CR1, CR2: a replay continued with a new account draws its credits for the endpoint
    that was already running: $12 at $6/h from 10:00 run out at 12:00."""
    endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_g")
    catalog = Catalog([HardwarePrice("1x_g", "6", E)])
    part = Simulator(catalog).run(
        [endpoint], [Deploy("2025-11-03T09:00:00Z", "ep")], until="2025-11-03T10:00:00Z"
    )
    rest = Simulator(catalog).run(
        [Account(opening_balance=12)], [], until="2025-11-04T00:00:00Z", state=part.state
    )
    exhausted = [e.at.isoformat() for e in rest.log if e.action == "credits exhausted"]
    assert exhausted == ["2025-11-03T12:00:00+00:00"]
