"""The engine's typed vocabulary: resource statuses, the begins that ask for admission, and
admission's answers.

Statuses are what :meth:`SimulationState.status` reports; each rule family sets them on
its resources' states (``state.py`` rooms), and the generic G2 transition logic
(:meth:`Context.expect`) compares them, never strings.
"""

from __future__ import annotations

import enum

import attrs

from together_billing._choice import Choice

__all__ = ["Admission", "Begin", "Refusal", "Status"]


class Status(Choice):
    """A resource's lifecycle status."""

    __field__ = "status"

    NEW = "not deployed"
    """Declared, not yet deployed, created or provisioned."""
    PROVISIONING = "provisioning"
    """Deployed with ``ready=False``: not billed until ``Ready`` (DE2, CL2, CL4)."""
    RUNNING = "running"
    """Ready and billing (DE1, FT2, CL3, CL4, ST1)."""
    STOPPED = "stopped"
    """Stopped by the customer, the idle timeout (DE4) or suspended API access (CR8)."""
    FAILED = "failed"
    """``DeployFailed``, or a provisioning cluster that could not be paid (CR3, CL2)."""
    DELETED = "deleted"
    """Deleted or terminated; a volume's data deleted at the end of its grace (CR5)."""
    DECOMMISSIONED = "decommissioned"
    """A cluster at its reservation's end (CL5) or at the end of its grace (CR4)."""
    PAUSED = "paused"
    """An on-demand cluster paused for want of credit, in its grace period (CR4)."""
    REVOKED = "access revoked"
    """A volume whose access is revoked for want of credit, in its grace period (CR5)."""
    SUBMITTED = "submitted"
    """A fine-tuning job not yet completed or cancelled (FT1)."""
    COMPLETED = "completed"
    """A fine-tuning job charged at completion (FT1)."""
    CANCELLED = "cancelled"
    """A fine-tuning job cancelled, or stopped at the billing limit (FT1, CR8)."""
    ACTIVE = "active"
    """Serverless usage: always available, billed per token (SL1)."""


class Begin(Choice):
    """What asks :meth:`CreditLifecycle.admit` whether it may start to bill."""

    __field__ = "action"

    DEPLOY = "deploy"
    START = "start"
    READY = "ready"
    SCALE = "scale"
    EXTENSION = "extension"
    JOB = "job"
    REQUESTS = "requests"


#: The begins whose refusal leaves the resource where a later customer event finds it.
STARTS = frozenset({Begin.DEPLOY, Begin.START, Begin.READY})


class Admission(enum.Enum):
    """What a begin does (see :meth:`CreditLifecycle.admit`)."""

    BILL = "bill"
    REFUSE = "refuse"
    PAUSE = "pause"


@attrs.frozen
class Refusal:
    """A family's answer for a begin while out of credit: refused, under ``rule``."""

    rule: str
    why: str
    action: str | None = None
    """The log action, if not ``"<begin> refused"``."""
