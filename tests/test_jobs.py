"""Fine-tuning jobs (FT1): charged once, with their method and training, or not at all.

Each test replays a small scenario over the tiny catalog of tests/replays.py and
asserts the exact invoice lines or the exact error of a job's events. Written
against mutation testing (docs/mutation.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.replays import CHAT, at, error_of, iso, log_of, run, serverless_lines

from together_billing import (
    Deploy,
    Event,
    FineTuningJob,
    JobCancelled,
    JobCompleted,
    TokenUsage,
    TokenUsageBatch,
)


def test_jobs_are_charged_once_with_their_method_and_training() -> None:
    """FT1: completed and cancelled jobs get one line each, named by method and LoRA/full, and a log entry."""
    sft = FineTuningJob(id="j", model="me/base", params_b=16, training_tokens=10**6, n_epochs=2)
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    result = run(
        [sft, dpo],
        [JobCompleted(at("01:00"), "j"), JobCancelled(at("02:00"), "k", tokens_processed=1200)],
    )
    assert log_of(result) == [
        (iso("01:00"), "j", "job completed", "FT1", "2000000 tokens"),
        (iso("02:00"), "k", "job cancelled", "FT1", "1200 tokens"),
    ]
    assert serverless_lines(result) == [
        (
            "j",
            "FT1",
            "fine-tuning me/base (SFT, LoRA) tokens processed",
            Decimal(2 * 10**6),
            Decimal("0.5"),
            Decimal("1.00"),
        ),
        (
            "k",
            "FT1",
            "fine-tuning me/dpo (DPO, full) tokens processed before cancellation",
            Decimal(1200),
            Decimal(2),
            Decimal("0.00"),
        ),
    ]
    assert result.lines[0].unit == "token"
    assert result.lines[0].rate_unit == "USD per 1M tokens"
    assert (result.state.status("j"), result.state.status("k")) == ("completed", "cancelled")


def test_job_cancelled_before_any_token_has_no_line() -> None:
    """FT1: a cancellation with nothing processed is logged but adds no line (no minimum charge)."""
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    result = run([dpo], [JobCancelled(at("02:00"), "k", tokens_processed=0)])
    assert log_of(result) == [(iso("02:00"), "k", "job cancelled", "FT1", "0 tokens")]
    assert result.lines == ()
    everything = run([dpo], [JobCancelled(at("02:00"), "k", tokens_processed=5000)])
    assert everything.lines[0].quantity == 5000


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [JobCancelled(at("02:00"), "k", tokens_processed=5001)],
            ("tokens_processed", 5001, "at most the job's total tokens (5000)"),
        ),
        (
            [JobCompleted(at("02:00"), "k"), JobCompleted(at("03:00"), "k")],
            ("status", "completed", "a job that has not completed or been cancelled"),
        ),
        (
            [JobCancelled(at("02:00"), "k", 5), JobCancelled(at("03:00"), "k", 5)],
            ("status", "cancelled", "a job that has not completed or been cancelled"),
        ),
        (
            [TokenUsage(at("02:00"), "k", 1)],
            ("resource", "k", "a ServerlessUsage; 'k' is a FineTuningJob"),
        ),
        (
            [TokenUsageBatch("k", [at("02:00")], [1], [1])],
            ("resource", "k", "a ServerlessUsage; 'k' is a FineTuningJob"),
        ),
        (
            [Deploy(at("02:00"), "s")],
            (
                "resource",
                "s",
                (
                    "a DedicatedEndpoint, FineTunedHosting, InstantCluster or StorageVolume; "
                    "'s' is a ServerlessUsage"
                ),
            ),
        ),
        (
            [JobCompleted(at("02:00"), "s")],
            ("resource", "s", "a FineTuningJob; 's' is a ServerlessUsage"),
        ),
    ],
)
def test_job_and_serverless_event_errors(events: list[Event], expected: tuple[object, ...]) -> None:
    """Job events are checked against the job's state and totals; event kinds against resource kinds."""
    dpo = FineTuningJob(
        id="k", model="me/dpo", params_b=16, training_tokens=5000, method="dpo", lora=False
    )
    assert error_of([dpo, CHAT], events) == expected
