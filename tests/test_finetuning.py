"""Fine-tuning jobs (FT1) and their part of running out of credit (CR8).

Tests of the ``finetuning`` room of the engine (``together_billing._engine.finetuning``)
through the public API; see also tests/test_lifecycle.py for the exhaustion matrix.
"""

from __future__ import annotations

from decimal import Decimal

from together_billing import (
    Account,
    Catalog,
    FineTuningJob,
    FineTuningPrice,
    JobCompleted,
    Policies,
    simulate,
)

E = "2025-01-01T00:00:00Z"
CATALOG = Catalog([FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.50", effective_from=E)])
UNTIL = "2025-11-05T00:00:00Z"


# -- Pinned by mutation testing (docs/mutation.md) ----------------------------------------------


def test_CR8_a_job_ending_while_suspended_logs_why_it_was_not_charged() -> None:
    """CR8, P-EXHAUST: a job ending with the balance at the floor is stopped at the billing
    limit, and the log says why in its detail: credits exhausted, not charged."""
    job = FineTuningJob(id="j", model="b", params_b=8, training_tokens=1_000_000)
    result = simulate(
        [job, Account(opening_balance=0)],
        [JobCompleted("2025-11-03T03:00:00Z", "j")],
        until=UNTIL,
        catalog=CATALOG,
    )
    entries = [(e.action, e.rule, e.detail) for e in result.log if e.resource == "j"]
    assert entries == [
        ("job stopped at the billing limit", "CR8", "credits exhausted: not charged")
    ]
    assert result.state.status("j") == "cancelled"
    assert result.lines == ()


def test_CR8_with_P_EXHAUST_off_a_job_ending_at_the_floor_is_charged() -> None:
    """P-EXHAUST off: API access is not suspended, so a job ending at the floor is charged
    (FT1) like any other and the balance goes below it."""
    job = FineTuningJob(id="j", model="b", params_b=8, training_tokens=1_000_000)
    result = simulate(
        [job, Account(opening_balance=0)],
        [JobCompleted("2025-11-03T03:00:00Z", "j")],
        until=UNTIL,
        catalog=CATALOG,
        policies=Policies(exhaustion_suspends_api=False),
    )
    assert [line.amount for line in result.lines] == [Decimal("0.50")]
    assert result.state.status("j") == "completed"
    assert result.balance == Decimal("-0.50")
