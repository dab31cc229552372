"""Properties of the credit lifecycle over generated timelines WITH credits and WITH price
changes in the catalogs (issue 11, section 3): the cash identity (debt collected once),
credits drawn == what the invoice charges per resource and period, no charge after a
prepaid account's exhaustion beyond what the rules allow, alerts before foreseeable actions,
and a resource's bill independent of the others except through the shared balance.

The strategies (``together_billing.strategies``) make most generated accounts run out of
credits: ``test_generated_accounts_run_out_often`` keeps them honest. CI runs these under
the ``ci`` Hypothesis profile (tests/conftest.py); ``HYPOTHESIS_PROFILE=deep`` runs more.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Context, Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from together_billing import (
    Category,
    ReservationPayment,
    SimulationResult,
    Simulator,
)
from together_billing.scenario import Scenario
from together_billing.strategies import accounts, scenarios
from together_billing.time import MICROS_PER_HOUR, BillingPeriod, to_micros

WIDE = Context(prec=400)
#: Continuous draws are 50-digit quotients; each may differ from the exact rational by 1e-50.
NOISE = Decimal("1e-30")
WITH_CREDITS = scenarios(accounts=accounts(), max_events=14, max_price_changes=3)


def _exhausted_windows(result: SimulationResult) -> list[tuple[int, int]]:
    """``[exhausted, restored)`` spans, in microseconds (the last may run to ``until``)."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for entry in result.log:
        at = to_micros(entry.at)
        if entry.action == "credits exhausted" and start is None:
            start = at
        elif entry.action == "credits restored" and start is not None:
            spans.append((start, at))
            start = None
    if start is not None:
        spans.append((start, to_micros(result.state.at) + 1))
    return spans


@given(WITH_CREDITS)
def test_cash_identity_debt_is_collected_once(scenario: Scenario) -> None:
    """IN3, defect 2: purchases + grants + amounts due == charges + credit left + expired,
    exactly, for any timeline, floor and edition. A debt collected twice (on the invoice and
    again by a later purchase) breaks it by the debt."""
    result = scenario.run()
    ledger = result.state.ledger  # the exact buckets, for an exact identity
    assert ledger is not None
    with localcontext(WIDE):
        charges = sum((i.total_exact for i in result.invoices), Decimal(0))
        due = sum((i.total_exact - i.paid_from_credits_exact for i in result.invoices), Decimal(0))
        left = sum((remaining for remaining, _ in ledger.credit_buckets()), Decimal(0))
        paid = ledger.purchased + ledger.granted + due
        assert abs(paid - (charges + left + ledger.expired)) < NOISE * (1 + len(ledger.entries))
        # In cents, as invoices show it: credits applied + amount due == total, uncapped.
        for invoice in result.invoices:
            assert invoice.credits_applied + invoice.amount_due == invoice.total


@given(WITH_CREDITS)
def test_credits_drawn_equal_what_the_invoice_charges(scenario: Scenario) -> None:
    """CR1, G3, defect 4: per resource and period, the credits drawn (credits or debt) equal
    the invoice's exact charge, price changes included; a resource still running at ``until``
    has drawn at most that (its last started unit is drawn as it elapses)."""
    result = scenario.run()
    upfront = scenario.policies.reservation_payment is ReservationPayment.UPFRONT
    invoiced: dict[tuple[str, BillingPeriod], Decimal] = defaultdict(Decimal)
    drawn: dict[tuple[str, BillingPeriod], Decimal] = defaultdict(Decimal)
    with localcontext(WIDE):
        for invoice in result.invoices:
            for line in invoice.lines:
                if upfront and line.category is Category.RESERVED_COMPUTE:
                    continue  # paid up front, not from credits (P-RESERVE-PAY)
                invoiced[line.resource, invoice.period] += line.amount_exact
        for entry in result.ledger:
            if entry.kind == "consumption" and entry.note != "opening debt":
                drawn[entry.resource, entry.period] += -entry.amount
        running = {
            resource
            for resource in scenario_ids(scenario)
            if result.state.status(resource) in ("running", "paused", "access revoked")
        }
        for key in set(invoiced) | set(drawn):
            gap = invoiced[key] - drawn[key]
            if key[0] in running:
                assert gap > -NOISE, key
            else:
                assert abs(gap) < NOISE * 100, (key, invoiced[key], drawn[key])


def scenario_ids(scenario: Scenario) -> list[str]:
    return [r.id for r in scenario.resources if not hasattr(r, "opening_balance")]


@given(WITH_CREDITS)
def test_no_charge_after_a_prepaid_exhaustion(scenario: Scenario) -> None:
    """CR3-CR5, CR8, defect 1: while a prepaid account (floor $0, API suspended) is exhausted,
    nothing is drawn except the documented: the rest of units started before (drawn at the
    instant they stop), storage whose data is kept (``revoked_storage_bills``), a paused
    cluster that bills (``paused_cluster_bills``), and the customer's own charges at the
    exhaustion instant itself. Reserved capacity paid up front is not drawn at all."""
    result = scenario.run()
    policies = scenario.policies
    if result.credit_floor != 0 or not policies.exhaustion_suspends_api:
        return
    allowed = set()
    for resource in scenario.resources:
        kind = type(resource).__name__
        if kind == "StorageVolume" and policies.revoked_storage_bills:
            allowed.add(resource.id)
        if kind == "InstantCluster" and policies.paused_cluster_bills:
            allowed.add(resource.id)
    for lo, hi in _exhausted_windows(result):
        for entry in result.ledger:
            if entry.kind != "consumption" or entry.resource in allowed:
                continue
            if entry.note.startswith("rest of the started"):
                continue  # a unit begun before, drawn when it stops (G3)
            begin = entry.since_micros if entry.since_micros is not None else entry.at_micros
            # Draws over [begin, at) and charges at an instant must not fall inside (lo, hi).
            assert not lo < entry.at_micros < hi, (lo, hi, entry)
            assert not lo < begin < hi, (lo, hi, entry)


@given(WITH_CREDITS)
def test_foreseeable_actions_are_alerted_first(scenario: Scenario) -> None:
    """CR6: every decommissioning and data deletion at a grace period's end, and every
    reservation's end, has its alert before; an exhaustion with nothing changing in the
    alert's lead time before it (no customer event) has a forecast or threshold alert."""
    result = scenario.run()
    lead = scenario.policies.alert_lead_hours * MICROS_PER_HOUR
    alerts: dict[str, list[int]] = defaultdict(list)
    for entry in result.log:
        if entry.action == "alert":
            alerts[entry.resource].append(to_micros(entry.at))
    customer = sorted(to_micros(e.at) if hasattr(e, "at") else 0 for e in scenario.events)
    since = to_micros(scenario.start)
    for entry in result.log:
        at = to_micros(entry.at)
        if entry.action in ("decommissioned", "data deleted"):
            assert any(a <= at for a in alerts[entry.resource]), entry
        if entry.action == "credits exhausted":
            quiet = not any(at - lead <= t <= at for t in customer)
            if quiet and at > to_micros(scenario.start) + lead:
                # Alerted since the last run-out (or the start): possibly earlier than the
                # lead time, when the forecast then was earlier than what happened.
                assert any(since <= a < at for a in alerts[entry.resource]), entry
            since = at


@settings(max_examples=30)
@given(scenarios(accounts=st.none(), max_events=10, max_price_changes=3))
def test_a_resources_bill_does_not_depend_on_the_others(scenario: Scenario) -> None:
    """Without an account (no shared balance), each resource bills exactly what it bills
    replayed alone with its own events and the price changes (a volume with the cluster it
    is attached to, whose reservation prices it, ST3)."""
    result = scenario.run()
    simulator = Simulator(scenario.catalog, scenario.policies)
    by_id = {resource.id: resource for resource in scenario.resources}
    for resource in scenario.resources:
        ids = {resource.id, getattr(resource, "cluster", None)} - {None}
        own = [
            e
            for e in scenario.events
            if getattr(e, "resource", None) in ids or type(e).__name__ == "PriceChange"
        ]
        alone = simulator.run(
            [by_id[i] for i in sorted(ids)], own, start=scenario.start, until=scenario.until
        )
        mine = [line.to_dict() for line in result.lines if line.resource == resource.id]
        assert [line.to_dict() for line in alone.lines if line.resource == resource.id] == mine


def test_generated_accounts_run_out_often() -> None:
    """The strategies exercise the exhaustion lifecycle: at least a fifth of the generated
    replays that charge anything run out of credits (a few percent did before issue 11)."""
    charged = 0
    exhausted = 0

    @settings(max_examples=100, database=None)
    @given(WITH_CREDITS)
    def count(scenario: Scenario) -> None:
        nonlocal charged, exhausted
        result = scenario.run()
        if result.total.amount:
            charged += 1
            exhausted += any(e.action == "credits exhausted" for e in result.log)

    count()
    assert exhausted * 5 >= charged, (exhausted, charged)
