"""Fine-tuning jobs (FT1): the job's tokens times the rate of its size bracket, method and
training type, charged when it completes or is cancelled.

(Hosting a fine-tuned model, FT2, bills like a dedicated endpoint: ``deployments``.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from together_billing._engine.context import FamilyBase, ResourceState, micros
from together_billing._engine.invoicing import MILLION, LineMeta
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing.catalog import FineTuningPrice
from together_billing.errors import InvalidTimeline
from together_billing.resources import Category, FineTuningJob, Resource
from together_billing.time import from_micros
from together_billing.timeline import Event, JobCancelled, JobCompleted

__all__ = ["FineTuning"]


class FineTuning(FamilyBase):
    """Fine-tuning jobs (FT1): ``JobCompleted`` and ``JobCancelled`` events."""

    kinds: ClassVar[tuple[type[Resource], ...]] = (FineTuningJob,)
    events: ClassVar[tuple[type[Event], ...] | None] = (JobCompleted, JobCancelled)

    def add(self, resource: Resource) -> ResourceState:
        return ResourceState(status=Status.SUBMITTED)

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """A job's charge while API access is suspended: not charged, the job stopped at the
        billing limit (CR8, fine-tuning FAQ)."""
        if not self.ctx.policies.exhaustion_suspends_api:
            return Admission.BILL
        return Refusal(
            "CR8", "credits exhausted: not charged", action="job stopped at the billing limit"
        )

    def apply(self, event: Event, resource: Resource) -> None:
        """Charge a job at completion, or its tokens processed when cancelled (FT1,
        P-FT-CANCEL), at the rate in force then."""
        assert isinstance(resource, FineTuningJob)
        assert isinstance(event, (JobCompleted, JobCancelled))
        ctx = self.ctx
        job = resource
        state = ctx.core.states[job.id]
        if state.status is not Status.SUBMITTED:
            raise InvalidTimeline(
                event, "status", str(state.status), "a job that has not completed or been cancelled"
            )
        at = micros(event)
        if isinstance(event, JobCancelled):
            if event.tokens_processed > job.total_tokens:
                raise InvalidTimeline(
                    event,
                    "tokens_processed",
                    event.tokens_processed,
                    f"at most the job's total tokens ({job.total_tokens})",
                )
            tokens, status, kind = (
                event.tokens_processed,
                Status.CANCELLED,
                "tokens processed before cancellation",
            )
        else:
            tokens, status, kind = job.total_tokens, Status.COMPLETED, "tokens processed"
        if ctx.credits.admit(job, at, Begin.JOB) is Admission.REFUSE:
            state.status = Status.CANCELLED
            return
        state.status = status
        price = ctx.core.catalog.fine_tuning(job.params_b, job.method, job.lora, from_micros(at))
        assert isinstance(price, FineTuningPrice)
        training = "LoRA" if job.lora else "full"
        meta = LineMeta(
            Category.FINE_TUNING,
            "FT1",
            f"fine-tuning {job.model} ({job.method.value.upper()}, {training}) {kind}",
            "token",
            price.per_1m_tokens,
            "USD per 1M tokens",
            MILLION,
            Decimal(1),
            price,
        )
        if tokens:
            ctx.accrue(at, job.id, meta, tokens, (at, at), debit=True)
        ctx.log(at, job.id, f"job {status}", "FT1", f"{tokens} tokens")
