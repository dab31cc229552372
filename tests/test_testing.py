"""together_billing.testing: invariant checks of replays, and bill-budget helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import attrs
import pytest

from together_billing import (
    Account,
    BillingError,
    Catalog,
    DedicatedEndpoint,
    Delete,
    Deploy,
    HardwarePrice,
    InvalidArgument,
    Invoice,
    LedgerEntry,
    LogEntry,
    Money,
    Policies,
    Purchase,
    RoundingMode,
    ServerlessUsage,
    SimulationResult,
    Simulator,
    Start,
    Stop,
    TokenUsage,
    instant,
    round_to_cents,
    simulate,
)
from together_billing.scenario import Scenario, load_scenario
from together_billing.testing import (
    INVARIANTS,
    BudgetExceeded,
    CreditsRunOut,
    IdleChargesExceeded,
    InvariantViolation,
    SpikeDetected,
    assert_credits_last,
    assert_idle_under,
    assert_monthly_bill_under,
    assert_within_plan,
    budget_exceeded,
    check_invariants,
    describe_bill,
    describe_draws,
    runway,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
UNTIL = "2025-12-01T00:00:00Z"
#: The hardware and the serverless model of conftest's tiny catalog.
GPU = "1x_test_gpu"
CHAT = "test/chat"


def scenario_inputs(name: str) -> tuple[SimulationResult, list, list, Simulator]:
    """Replay an example scenario, keeping its resources, events and simulator."""
    path = EXAMPLES / f"{name}.yaml"
    doc = load_scenario(path)
    resources = [r.build() for r in doc.resources]
    if doc.account is not None:
        resources.append(doc.account.build())
    events = [e.build() for e in doc.events]
    simulator = Simulator(doc.build_catalog(path.parent), doc.policies.build())
    result = simulator.run(resources, events, until=doc.until, start=doc.start)
    return result, resources, events, simulator


@pytest.fixture
def endpoint() -> DedicatedEndpoint:
    return DedicatedEndpoint("ep", model="m", hardware=GPU)


@pytest.fixture
def simulator(catalog: Catalog) -> Simulator:
    return Simulator(catalog)


@pytest.fixture
def month(simulator: Simulator, endpoint: DedicatedEndpoint) -> SimulationResult:
    """An endpoint running 90 minutes, and two serverless usage records."""
    chat = ServerlessUsage("chat", model=CHAT)
    events = [
        Deploy("2025-11-03T09:00:00Z", "ep"),
        Stop("2025-11-03T10:30:00Z", "ep"),
        TokenUsage("2025-11-04T12:00:00Z", "chat", input_tokens=1_000_000),
        TokenUsage("2025-11-05T12:00:00Z", "chat", output_tokens=100),
    ]
    return simulator.run([endpoint, chat], events, until=UNTIL)


def fake(result: SimulationResult, **overrides: object) -> SimpleNamespace:
    """A stand-in for a result, with some of its parts replaced."""
    parts = {
        "invoices": result.invoices,
        "log": result.log,
        "ledger": result.ledger,
        "credits": result.credits,
        "policies": result.policies,
    }
    return SimpleNamespace(**{**parts, **overrides})


def with_lines(invoice: Invoice, *lines: object) -> Invoice:
    return attrs.evolve(invoice, lines=tuple(lines))


# -- real results pass -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "serverless-month",
        "autoscaling-endpoint",
        "idle-deployments",
        "reserved-cluster-burst",
        "on-demand-cluster",
        "volume-resized",
    ],
)
def test_example_scenarios_keep_every_invariant(name: str) -> None:
    """The bundled scenarios (clusters and storage included) pass every check, replays too."""
    result, resources, events, simulator = scenario_inputs(name)
    check_invariants(result, resources=resources, events=events, simulator=simulator)


def test_default_simulator_replays_with_the_results_catalog_and_policies() -> None:
    """Without a simulator, the replays use the result's own catalog and policies."""
    result, resources, events, _ = scenario_inputs("reserved-cluster-burst")
    check_invariants(result, resources=resources, events=events)


def test_credit_scenario_keeps_the_result_invariants() -> None:
    """Credits run out, clusters pause and are decommissioned, data is deleted: all conserved."""
    result, *_ = scenario_inputs("credits-run-out")
    assert result.credits is not None
    check_invariants(result)


def test_credit_replay_keeps_every_invariant(
    simulator: Simulator, endpoint: DedicatedEndpoint
) -> None:
    """An account whose credits run out, then are bought again: every check passes."""
    resources = [endpoint, Account(opening_balance=20)]
    events = [
        Deploy("2025-11-03T09:00:00Z", "ep"),
        Purchase("2025-11-06T00:00:00Z", "account", amount=50),
        Stop("2025-11-06T12:00:00Z", "ep"),
        Delete("2025-11-07T00:00:30Z", "ep"),
    ]
    result = simulator.run(resources, events, until=UNTIL)
    assert runway(result) is not None
    check_invariants(result, resources=resources, events=events, simulator=simulator)


def test_resource_order_never_changes_a_credit_replay() -> None:
    """Reversing the resources of credits-run-out changes nothing (reordering).

    At commit 12021a4 the engine walked clusters in the order the resources were
    given when the credits ran out, so the log and ledger order depended on it.
    """
    result, resources, events, simulator = scenario_inputs("credits-run-out")
    check_invariants(result, resources=resources, events=events, simulator=simulator)


def test_the_rest_of_a_started_minute_after_a_delete_is_not_a_violation(
    simulator: Simulator, endpoint: DedicatedEndpoint
) -> None:
    """G3: the minute started before a mid-minute Delete is billed whole; that is allowed."""
    events = [Deploy("2025-11-03T09:00:00Z", "ep"), Delete("2025-11-03T10:30:30Z", "ep")]
    result = simulator.run([endpoint], events, until=UNTIL)
    (line,) = result.lines
    assert line.interval.end == instant("2025-11-03T10:31:00Z")
    check_invariants(result, resources=[endpoint], events=events, simulator=simulator)


# -- tampered results fail ---------------------------------------------------------------------


def test_violation_is_a_billing_error_and_an_assertion_error(month: SimulationResult) -> None:
    """InvariantViolation can be caught as BillingError and reads as a failed assert."""
    invoice = month.invoices[0]
    line = invoice.lines[0]
    broken = with_lines(invoice, attrs.evolve(line, amount=line.amount + Decimal("0.01")))
    with pytest.raises(BillingError) as caught:
        check_invariants(fake(month, invoices=(broken,)))
    assert isinstance(caught.value, AssertionError)
    assert caught.value.invariant in INVARIANTS


def test_total_not_the_sum_of_lines_is_named(month: SimulationResult) -> None:
    """An invoice whose total is not its lines' sum breaks lines-sum-to-total."""
    invoice = month.invoices[0]
    forged = SimpleNamespace(
        period=invoice.period, lines=invoice.lines, total=invoice.total + Money("1")
    )
    with pytest.raises(InvariantViolation, match="lines-sum-to-total") as caught:
        check_invariants(fake(month, invoices=(forged,)))
    assert caught.value.invariant == "lines-sum-to-total"
    assert caught.value.line is None


def test_rounding_off_by_more_than_half_a_cent_names_the_line(month: SimulationResult) -> None:
    """A line whose amount is a cent off its exact value breaks rounding, naming that line."""
    invoice = month.invoices[0]
    first, *rest = invoice.lines
    tampered = attrs.evolve(first, amount=first.amount + Decimal("0.01"))
    with pytest.raises(InvariantViolation, match="rounded half-up to cents") as caught:
        check_invariants(fake(month, invoices=(with_lines(invoice, tampered, *rest),)))
    assert caught.value.invariant == "rounding"
    assert caught.value.line == tampered
    assert tampered.resource in str(caught.value)


def test_the_smallest_offending_line_is_named(month: SimulationResult) -> None:
    """Of several broken lines, the one with the smallest amount is reported."""
    invoice = month.invoices[0]
    lines = sorted(invoice.lines, key=lambda line: line.amount)
    assert len(lines) == 3
    assert lines[0].amount < lines[-1].amount
    tampered = [attrs.evolve(line, amount=line.amount + Decimal("0.02")) for line in lines]
    with pytest.raises(InvariantViolation) as caught:
        check_invariants(fake(month, invoices=(with_lines(invoice, *reversed(tampered)),)))
    assert caught.value.line == tampered[0]


def test_exact_amount_not_quantity_times_rate_breaks_rounding(month: SimulationResult) -> None:
    """amount_exact must be quantity x rate / rate_per."""
    invoice = month.invoices[0]
    line = invoice.lines[0]
    tampered = attrs.evolve(line, quantity=line.quantity + 1)
    with pytest.raises(InvariantViolation, match="quantity x rate / rate_per"):
        check_invariants(fake(month, invoices=(with_lines(invoice, tampered),)))


def test_credits_not_conserved_are_named(month: SimulationResult) -> None:
    """purchased + granted must equal consumed + expired + remaining."""
    credits = {
        "purchased": Decimal(100),
        "granted": Decimal(0),
        "consumed": Decimal(30),
        "expired": Decimal(0),
        "remaining": Decimal(60),
    }
    with pytest.raises(InvariantViolation, match="credit-conservation") as caught:
        check_invariants(fake(month, credits=credits))
    assert caught.value.invariant == "credit-conservation"


def test_a_ledger_balance_that_does_not_follow_is_named(month: SimulationResult) -> None:
    """Each ledger entry's balance is the previous balance plus its amount."""
    credits = dict.fromkeys(("purchased", "granted", "consumed", "expired"), Decimal(0))
    credits.update(purchased=Decimal(100), consumed=Decimal(30), remaining=Decimal(70))
    entries = (
        LedgerEntry(at_micros=0, kind="purchase", amount=Decimal(100), balance=Decimal(100)),
        LedgerEntry(at_micros=1, kind="consumption", amount=Decimal(-30), balance=Decimal(60)),
    )
    with pytest.raises(InvariantViolation, match="expected 70") as caught:
        check_invariants(fake(month, credits=credits, ledger=entries))
    assert caught.value.entry == entries[1]


def test_a_line_after_decommission_is_named(month: SimulationResult) -> None:
    """A resource billed after the log says it was deleted breaks no-charge-after-decommission."""
    deleted = LogEntry(at=instant("2025-11-03T10:00:00Z"), resource="ep", action="deleted", rule="")
    with pytest.raises(InvariantViolation, match="no-charge-after-decommission") as caught:
        check_invariants(fake(month, log=(*month.log, deleted)))
    assert caught.value.line is not None
    assert caught.value.line.resource == "ep"


@pytest.mark.parametrize("action", ["decommissioned", "data deleted"])
def test_credits_drawn_after_decommission_are_named(month: SimulationResult, action: str) -> None:
    """No ledger consumption for a resource after its end."""
    gone = LogEntry(at=instant("2025-11-20T00:00:00Z"), resource="ep", action=action, rule="")
    late = LedgerEntry(
        at_micros=instant("2025-11-21T00:00:00Z").int_timestamp * 1_000_000,
        kind="consumption",
        amount=Decimal(-1),
        balance=Decimal(-1),
        resource="ep",
    )
    credits = dict.fromkeys(("purchased", "granted", "expired"), Decimal(0))
    credits.update(consumed=Decimal(1), remaining=Decimal(-1))
    with pytest.raises(InvariantViolation, match="credits were drawn") as caught:
        check_invariants(fake(month, log=(*month.log, gone), ledger=(late,), credits=credits))
    assert caught.value.entry == late


def test_a_replay_with_another_catalog_does_not_reproduce(
    month: SimulationResult, endpoint: DedicatedEndpoint
) -> None:
    """Replaying with a simulator that bills differently is reported, with a differing line."""
    chat = ServerlessUsage("chat", model=CHAT)
    events = [
        Deploy("2025-11-03T09:00:00Z", "ep"),
        Stop("2025-11-03T10:30:00Z", "ep"),
        TokenUsage("2025-11-04T12:00:00Z", "chat", input_tokens=1_000_000),
        TokenUsage("2025-11-05T12:00:00Z", "chat", output_tokens=100),
    ]
    dearer = Simulator(
        Catalog([*month.state.catalog.entries, HardwarePrice(GPU, "9.99", "2025-06-01T00:00:00Z")])
    )
    with pytest.raises(InvariantViolation, match="replay-reproduces") as caught:
        check_invariants(month, resources=[endpoint, chat], events=events, simulator=dearer)
    assert caught.value.line is not None
    assert caught.value.line.resource == "ep"


class SplitBreakingSimulator(Simulator):
    """A simulator that forgets the events of a replay continued from a state."""

    def run(self, resources, events, *, until, start=None, state=None):
        if state is not None:
            events = []
        return super().run(resources, events, until=until, start=start, state=state)


def test_a_replay_that_splits_differently_is_named(
    catalog: Catalog, endpoint: DedicatedEndpoint
) -> None:
    """Splitting at the middle event must give the same invoices."""
    events = [
        Deploy("2025-11-03T09:00:00Z", "ep"),
        Stop("2025-11-03T10:30:00Z", "ep"),
        Start("2025-11-04T09:00:00Z", "ep"),
        Stop("2025-11-04T10:00:00Z", "ep"),
    ]
    simulator = SplitBreakingSimulator(catalog)
    result = simulator.run([endpoint], events, until=UNTIL)
    with pytest.raises(InvariantViolation, match="splitting") as caught:
        check_invariants(result, resources=[endpoint], events=events, simulator=simulator)
    assert caught.value.invariant == "splitting"


def test_resources_and_events_come_together(month: SimulationResult) -> None:
    """Replay checks need both the resources and the events."""
    with pytest.raises(InvalidArgument, match="events"):
        check_invariants(month, resources=[])


# -- budgets -----------------------------------------------------------------------------------


def test_budget_exceeded_returns_the_most_expensive_month_over_the_limit(
    simulator: Simulator, endpoint: DedicatedEndpoint
) -> None:
    """Every month is checked; the dearest one over the limit is returned."""
    events = [Deploy("2025-10-31T00:00:00Z", "ep"), Stop("2025-11-03T00:00:00Z", "ep")]
    result = simulator.run([endpoint], events, until=UNTIL)
    october, november = result.invoices
    assert october.total < november.total
    assert budget_exceeded(result, "100") is november
    assert budget_exceeded(result, "100", period="2025-10") is october
    assert budget_exceeded(result, Money("1000")) is None


def test_a_float_limit_is_rejected(month: SimulationResult) -> None:
    """Budgets are exact: floats are refused, as everywhere in the library."""
    with pytest.raises(InvalidArgument, match="limit"):
        budget_exceeded(month, 10.5)  # type: ignore[arg-type]


def test_describe_bill_lists_lines_largest_first(month: SimulationResult) -> None:
    """Resource, description and amount of each line, largest first, then nothing else."""
    text = describe_bill(month.invoices[0], limit="5")
    head, *rows = text.splitlines()
    assert head.startswith("Invoice 2025-11 (final): total 8.44 USD, over the limit of 5.00 USD")
    amounts = [Decimal(row.split()[-2]) for row in rows]
    assert amounts == sorted(amounts, reverse=True)
    assert rows[0].split()[0] == "ep"


def test_assert_monthly_bill_under_fails_with_the_lines(month: SimulationResult) -> None:
    """The failure is an AssertionError listing the lines and the total against the limit."""
    with pytest.raises(BudgetExceeded) as caught:
        assert_monthly_bill_under(month, 5)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.total == Money("8.44")
    assert caught.value.limit == Money(5)
    assert "ready replicas" in str(caught.value)
    assert assert_monthly_bill_under(month, 10) is month


def test_assert_monthly_bill_under_replays_a_scenario_file() -> None:
    """A scenario path is replayed first."""
    path = EXAMPLES / "serverless-month.yaml"
    result = assert_monthly_bill_under(path, 1_000_000)
    with pytest.raises(BudgetExceeded):
        assert_monthly_bill_under(str(path), Decimal("0.01"))
    assert result.total > Money("0.01")


def test_runway_is_the_exhaustion_instant() -> None:
    """runway() is when the credits first ran out, None without an account or exhaustion."""
    result, *_ = scenario_inputs("credits-run-out")
    assert runway(result) == instant("2025-11-03T11:24:49.389703Z")
    plain, *_ = scenario_inputs("serverless-month")
    assert runway(plain) is None


def test_assert_credits_last() -> None:
    """Credits that run out within the days fail, listing what drew them; later is fine."""
    result, *_ = scenario_inputs("credits-run-out")
    assert assert_credits_last(result, days=2) is result
    with pytest.raises(CreditsRunOut, match="expected them to last at least 3 days") as caught:
        assert_credits_last(result, days=3)
    assert caught.value.exhausted == runway(result)
    assert "scratch" in str(caught.value)


@pytest.mark.parametrize(
    "until",
    [
        "2025-11-04",
        dt.date(2025, 11, 4),
        "2025-11-04T00:00:00Z",
        dt.datetime(2025, 11, 4, tzinfo=dt.UTC),
    ],
)
def test_assert_credits_last_takes_an_instant_or_a_date(until: object) -> None:
    """Credits exhausted on 3 November do not last to 4 November, however it is written."""
    result, *_ = scenario_inputs("credits-run-out")
    with pytest.raises(CreditsRunOut, match="expected them to last until 2025-11-04") as caught:
        assert_credits_last(result, until)
    assert caught.value.until == instant("2025-11-04T00:00:00Z")


def test_assert_credits_last_passes_up_to_the_exhaustion_instant() -> None:
    """Lasting until the very instant they run out passes; a microsecond later fails."""
    result, *_ = scenario_inputs("credits-run-out")
    exhausted = runway(result)
    assert exhausted is not None
    assert assert_credits_last(result, exhausted) is result
    with pytest.raises(CreditsRunOut):
        assert_credits_last(result, exhausted.add(microseconds=1))


@pytest.mark.parametrize(("until", "days"), [("2026-06-01", None), (None, 400)])
def test_a_replay_too_short_to_tell_is_an_error(until: object, days: int | None) -> None:
    """400 days "last" on a 30-day replay cannot pass silently: the replay must reach it."""
    result, *_ = scenario_inputs("credits-run-out")
    with pytest.raises(InvalidArgument, match="an instant the replay reaches") as caught:
        assert_credits_last(result, until, days=days)
    assert "2025-12-01T00:00:00+00:00" in str(caught.value)


def test_an_impossible_date_is_named() -> None:
    result, *_ = scenario_inputs("credits-run-out")
    with pytest.raises(
        InvalidArgument, match="until='2025-02-30' is not valid; expected a real date"
    ):
        assert_credits_last(result, "2025-02-30")


def test_until_and_days_are_exclusive() -> None:
    result, *_ = scenario_inputs("credits-run-out")
    with pytest.raises(InvalidArgument, match="either"):
        assert_credits_last(result, "2025-11-02", days=1)
    with pytest.raises(InvalidArgument, match="either"):
        assert_credits_last(result)


def test_the_assertions_take_the_librarys_scenario() -> None:
    """A Scenario value (and a generated one) is replayed, like a scenario file."""
    scenario = Scenario.from_file(EXAMPLES / "credits-run-out.yaml")
    with pytest.raises(CreditsRunOut):
        assert_credits_last(scenario, "2025-11-04")
    assert assert_credits_last(scenario, "2025-11-03").credits is not None
    with pytest.raises(BudgetExceeded):
        assert_monthly_bill_under(scenario, 100)
    with pytest.raises(InvalidArgument, match="a SimulationResult, a Scenario"):
        assert_monthly_bill_under(42, 100)  # type: ignore[arg-type]


def test_a_credits_failure_lists_what_drew_the_credits_not_the_reservation() -> None:
    """The reservation paid up front did not draw the credits: it is not listed as a draw."""
    result, *_ = scenario_inputs("credits-run-out")
    with pytest.raises(CreditsRunOut) as caught:
        assert_credits_last(result, "2025-11-04")
    message = str(caught.value)
    draws = message.split("drawn from the credits, largest first:", 1)[1].splitlines()
    drawn = {row.split()[0]: Decimal(row.split()[1]) for row in draws if row.strip()}
    assert next(iter(drawn)) == "scratch"
    assert set(drawn) == {"scratch", "training", "serving", "datasets"}
    # training's reservation line is $14,400, paid up front; only its burst drew credits.
    reservation = next(line for line in result.lines if line.rule == "CL2")
    assert drawn["training"] < Decimal(400) < reservation.amount
    assert sum(drawn.values()) <= Decimal("1550.01")
    assert describe_draws(result).startswith("  drawn from the credits")


def test_assert_credits_last_needs_an_account() -> None:
    """Without an account there are no credits to last."""
    plain, *_ = scenario_inputs("serverless-month")
    with pytest.raises(InvalidArgument, match="Account"):
        assert_credits_last(plain, days=1)


# -- rounding under the result's own policy (issue 14, defect 1) ----------------------------------

H100 = "1x_nvidia_h100_80gb_sxm"


def seven_minutes(rounding: RoundingMode) -> SimulationResult:
    """A 7-minute H100 endpoint (exact 0.5..., a cent between up and down) under ``rounding``."""
    endpoint = DedicatedEndpoint("ep", model="m", hardware=H100)
    events = [Deploy("2025-11-03T09:00:00Z", "ep"), Stop("2025-11-03T09:07:00Z", "ep")]
    return simulate([endpoint], events, until=UNTIL, policies=Policies(rounding=rounding))


@pytest.mark.parametrize("mode", list(RoundingMode))
def test_a_correct_line_passes_in_every_rounding_mode(mode: RoundingMode) -> None:
    """Under up and down a correct line is up to a cent from its exact amount: not a violation."""
    result = seven_minutes(mode)
    (line,) = result.lines
    assert line.amount == round_to_cents(line.amount_exact, mode)
    check_invariants(result)


def test_down_rounding_is_more_than_half_a_cent_from_the_exact_amount() -> None:
    """The case the old half-cent check rejected: DOWN moves this line by more than half a cent."""
    (line,) = seven_minutes(RoundingMode.DOWN).lines
    assert abs(line.amount - line.amount_exact) > Decimal("0.005")


@pytest.mark.parametrize(
    ("mode", "other"),
    [
        (RoundingMode.DOWN, RoundingMode.UP),
        (RoundingMode.UP, RoundingMode.DOWN),
        (RoundingMode.HALF_UP, RoundingMode.DOWN),
    ],
)
def test_a_line_rounded_in_another_mode_is_named(mode: RoundingMode, other: RoundingMode) -> None:
    """A line rounded with a mode other than the result's policy breaks ``rounding``."""
    result = seven_minutes(mode)
    invoice = result.invoices[0]
    (line,) = invoice.lines
    wrong = attrs.evolve(line, amount=round_to_cents(line.amount_exact, other))
    assert wrong.amount != line.amount
    tampered = fake(result, invoices=(with_lines(invoice, wrong),))
    with pytest.raises(InvariantViolation, match=f"rounded {mode.value} to cents") as caught:
        check_invariants(tampered)
    assert caught.value.line == wrong


# -- failure messages that say what to change (issue 14) -----------------------------------------


def test_describe_bill_shows_quantity_times_rate_and_the_estimate_flag() -> None:
    """Each line: quantity x rate = amount; a price not from Together's material is flagged."""
    result, *_ = scenario_inputs("idle-deployments")
    text = describe_bill(result.invoices[0])
    (job,) = [row for row in text.splitlines() if "ft-job-1" in row]
    assert "7000000 token x 0.48 USD per 1M tokens" in job
    assert job.endswith("3.36 USD  (estimated price)")
    (endpoint,) = [row for row in text.splitlines() if "my-endpoint" in row]
    assert "estimated" not in endpoint


def _grown_plan() -> tuple[Scenario, Scenario]:
    plan = Scenario.from_file(EXAMPLES / "idle-deployments.yaml")
    extra = DedicatedEndpoint("surprise", model="m", hardware=GPU_H100)
    actual = attrs.evolve(
        plan,
        resources=(*plan.resources, extra),
        events=(*plan.events, Deploy("2025-11-20T00:00:00Z", "surprise")),
    )
    return plan, actual


GPU_H100 = "1x_nvidia_h100_80gb_sxm"


def test_a_spike_shows_what_grew_against_the_plan() -> None:
    plan, actual = _grown_plan()
    with pytest.raises(SpikeDetected) as caught:
        assert_within_plan(actual, plan, ratio="0.1")
    message = str(caught.value)
    assert "more than the 599.87 USD allowed" in message
    (grown,) = [row for row in message.splitlines() if "surprise" in row]
    assert "- -> 1053.36 USD (+1053.36 USD)" in grown
    assert caught.value.growth == Money("1053.36")


@pytest.mark.parametrize(
    ("tolerance", "ratio", "passes"),
    [(None, None, False), ("1053.36", None, True), ("1053.35", None, False), (None, "0.2", True)],
)
def test_a_spike_within_the_tolerance_passes(
    tolerance: str | None, ratio: str | None, passes: bool
) -> None:
    plan, actual = _grown_plan()
    if passes:
        assert (
            assert_within_plan(actual, plan, tolerance=tolerance, ratio=ratio).total
            > plan.run().total
        )
    else:
        with pytest.raises(SpikeDetected):
            assert_within_plan(actual, plan, tolerance=tolerance, ratio=ratio)


def test_a_cheaper_bill_is_within_its_plan() -> None:
    plan, actual = _grown_plan()
    assert assert_within_plan(plan, actual).total < actual.run().total


def test_idle_charges_name_resources_intervals_and_amounts() -> None:
    scenario = Scenario.from_file(EXAMPLES / "idle-deployments.yaml")
    with pytest.raises(IdleChargesExceeded) as caught:
        assert_idle_under(scenario, 100)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("5994.98 USD billed while no request came, over the limit of")
    assert lines[1].startswith("  my-endpoint (dedicated endpoint): 5290.74 USD idle")
    assert lines[2].startswith("    [2025-11-")
    assert lines[2].endswith(" USD")
    report = assert_idle_under(EXAMPLES / "idle-deployments.yaml", 6000)
    assert report.idle > 0
    with pytest.raises(InvalidArgument, match="its requests are needed"):
        assert_idle_under(scenario.run(), 1)  # type: ignore[arg-type]
