"""Dedicated endpoints (DE1-DE4) and fine-tuned model hosting (FT2): per started minute per
ready replica while deployed, requests or not, until stopped; stopped automatically after
the idle timeout when one is set (DE4, P-IDLE).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from together_billing._engine import metering
from together_billing._engine.context import (
    Context,
    FamilyBase,
    ResourceCheck,
    ResourceState,
    micros,
)
from together_billing._engine.invoicing import LineMeta, time_meta
from together_billing._engine.metering import Group, Meter
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing.catalog import HardwarePrice, PriceEntry
from together_billing.errors import InvalidTimeline
from together_billing.resources import DedicatedEndpoint, FineTunedHosting, Resource
from together_billing.time import MICROS_PER_MINUTE, MeteringGrain
from together_billing.timeline import (
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    Ready,
    Requests,
    ResizeVolume,
    ScaleGpus,
    ScaleReplicas,
    Start,
    Stop,
)

__all__ = ["Deployments"]

Deployment = DedicatedEndpoint | FineTunedHosting


@attrs.define
class DeploymentState(ResourceState):
    stopped_by_idle: bool = False
    stopped_by_credits: bool = False
    groups: list[Group] = attrs.Factory(list)
    last_activity: int = 0
    idle_generation: int = 0

    @property
    def ready(self) -> int:
        return sum(group.count for group in self.groups)


@attrs.frozen
class IdleStop(ResourceCheck):
    """The idle deadline of a running deployment (DE4): stop it, or look again later."""

    name: ClassVar[str] = "IdleStop"

    def generation_of(self, ctx: Context) -> int | None:
        state = ctx.core.states[self.resource]
        assert isinstance(state, DeploymentState)
        return state.idle_generation

    def run(self, ctx: Context, at: int) -> None:
        ctx.family(Deployments).idle_check(at, self.resource, self.generation)


class Deployments(FamilyBase):
    """Dedicated endpoints and fine-tuned model hosting (DE1-DE4, FT2)."""

    kinds: ClassVar[tuple[type[Resource], ...]] = (DedicatedEndpoint, FineTunedHosting)

    def add(self, resource: Resource) -> ResourceState:
        return DeploymentState()

    def _resources(self) -> Iterable[tuple[Deployment, DeploymentState]]:
        core = self.ctx.core
        for resource_id, state in core.states.items():
            if isinstance(state, DeploymentState):
                resource = core.resources[resource_id]
                assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
                yield resource, state

    def _meter(self, resource: Deployment, state: DeploymentState) -> Meter:
        return Meter(resource.id, ("hardware", resource.hardware), self.ctx.grain, state.groups)

    def meter(self, resource_id: str) -> Meter | None:
        state = self.state(resource_id, DeploymentState)
        if not state.groups:
            return None
        resource = self.ctx.core.resources[resource_id]
        assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
        return self._meter(resource, state)

    def meters(self) -> Iterable[Meter]:
        for resource, state in self._resources():
            if state.groups:
                yield self._meter(resource, state)

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """Refused while P-EXHAUST suspends API access (CR8, W26); with it off they begin
        and bill below the floor, as the running ones do."""
        if not self.ctx.policies.exhaustion_suspends_api:
            return Admission.BILL
        return Refusal("CR8", "API access is suspended")

    def on_exhausted(self, at: int) -> None:
        """Suspended API access stops every running or provisioning deployment (CR8)."""
        if not self.ctx.policies.exhaustion_suspends_api:
            return
        for resource, state in self._resources():
            if state.status in (Status.RUNNING, Status.PROVISIONING):
                self._end(resource, state, at, Status.STOPPED, "stopped", "CR8")
                state.stopped_by_credits = True
                state.ended_by = "CR8"

    # -- events --------------------------------------------------------------------------

    def apply(self, event: Event, resource: Resource) -> None:
        """The lifecycle of a deployment: it bills only while ready, not while provisioning,
        failed or stopped (DE2, FT2); replicas scale up to ``max_replicas`` (DE3)."""
        assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
        ctx = self.ctx
        state = self.state(resource.id, DeploymentState)
        at = micros(event)
        rule = "DE2" if isinstance(resource, DedicatedEndpoint) else "FT2"
        if isinstance(event, (Deploy, Start)):
            if ctx.empty_run(event, state):
                return
            new = isinstance(event, Deploy)
            wanted = (Status.NEW,) if new else (Status.STOPPED,)
            if not ctx.expect(
                event,
                state,
                wanted,
                "a resource not yet deployed" if new else "a stopped deployment",
            ):
                return
            begin = Begin.DEPLOY if new else Begin.START
            if ctx.credits.admit(resource, at, begin) is Admission.REFUSE:
                return
            self._begin(resource, state, at, event.ready, "deployed" if new else "started", rule)
        elif isinstance(event, Ready):
            if not ctx.expect(event, state, (Status.PROVISIONING,), "a provisioning deployment"):
                return
            if ctx.credits.admit(resource, at, Begin.READY) is Admission.REFUSE:
                self._end(resource, state, at, Status.STOPPED, "stopped", "CR8")
                state.stopped_by_credits = True
                state.ended_by = "CR8"
                return
            self._ready(resource, state, at, rule)
        elif isinstance(event, DeployFailed):
            if not ctx.expect(event, state, (Status.PROVISIONING,), "a provisioning deployment"):
                return
            state.status = Status.FAILED
            ctx.log(at, resource.id, "deployment failed", rule, "provisioning is not billed")
        elif isinstance(event, Stop):
            if state.status is Status.STOPPED and state.stopped_by_credits:
                ctx.log(at, resource.id, "stop ignored", "CR8", "already stopped: credits ran out")
                return
            if state.status is Status.STOPPED and state.stopped_by_idle:
                ctx.log(
                    at, resource.id, "stop ignored", "DE4", "already stopped by the idle timeout"
                )
                return
            if not ctx.expect(
                event,
                state,
                (Status.RUNNING, Status.PROVISIONING),
                "a running or provisioning deployment",
            ):
                return
            self._end(resource, state, at, Status.STOPPED, "stopped", rule)
            ctx.ended_now[resource.id] = at
        elif isinstance(event, Delete):
            if not ctx.expect(
                event,
                state,
                (Status.RUNNING, Status.PROVISIONING, Status.STOPPED, Status.FAILED),
                "a deployed resource not yet deleted",
            ):
                return
            self._end(resource, state, at, Status.DELETED, "deleted", rule)
            ctx.ended_now[resource.id] = at
        elif isinstance(event, ScaleReplicas):
            if not ctx.expect(event, state, (Status.RUNNING,), "a running deployment"):
                return
            if event.replicas > resource.max_replicas:
                raise InvalidTimeline(
                    event,
                    "replicas",
                    event.replicas,
                    f"at most max_replicas ({resource.max_replicas})",
                )
            self._scale(resource, state, at, event.replicas)
        elif isinstance(event, (ScaleGpus, ExtendReservation, ResizeVolume)):
            raise InvalidTimeline(
                event,
                "resource",
                resource.id,
                "an InstantCluster or StorageVolume; "
                f"{resource.id!r} is a {type(resource).__name__}",
            )
        elif isinstance(event, Requests):
            if state.status is not Status.RUNNING:
                ctx.log(
                    at,
                    resource.id,
                    "requests refused",
                    "DE2",
                    f"{event.count} request(s) while {state.status}",
                )
                return
            state.last_activity = at

    def _begin(
        self,
        resource: Deployment,
        state: DeploymentState,
        at: int,
        ready: bool,
        action: str,
        rule: str,
    ) -> None:
        state.stopped_by_idle = False
        state.stopped_by_credits = False
        state.ended_by = None
        if ready:
            self.ctx.log(at, resource.id, action, rule)
            self._ready(resource, state, at, rule, log=False)
        else:
            state.status = Status.PROVISIONING
            self.ctx.log(at, resource.id, action, rule, "provisioning (not billed)")

    def _ready(
        self, resource: Deployment, state: DeploymentState, at: int, rule: str, *, log: bool = True
    ) -> None:
        with self.ctx.changing(resource.id, at):
            state.status = Status.RUNNING
            state.groups = [Group(at, resource.min_replicas, at)]
        state.last_activity = at
        if log:
            self.ctx.log(
                at, resource.id, "ready", rule, f"{resource.min_replicas} replica(s) billing"
            )
        self._arm_idle(resource, state, at)

    def _end(
        self,
        resource: Deployment,
        state: DeploymentState,
        at: int,
        status: Status,
        action: str,
        rule: str,
    ) -> None:
        self._settle(resource, state, at)
        core = self.ctx.core
        with self.ctx.changing(resource.id, at):
            metering.resize(core.catalog, core.ledger, self._meter(resource, state), at, 0)
            state.status = status
        state.idle_generation += 1
        self.ctx.log(at, resource.id, action, rule)

    def _scale(self, resource: Deployment, state: DeploymentState, at: int, replicas: int) -> None:
        """Set the ready replicas (DE3): added ones on their own grid, the newest removed first."""
        self._settle(resource, state, at)
        current = state.ready
        core = self.ctx.core
        with self.ctx.changing(resource.id, at):
            metering.resize(core.catalog, core.ledger, self._meter(resource, state), at, replicas)
        self.ctx.log(at, resource.id, "replicas changed", "DE3", f"{current} -> {replicas} ready")

    # -- idle auto-stop (DE4) ------------------------------------------------------------

    def _idle_timeout(self, resource: Deployment) -> int | None:
        """The resource's own timeout, else the policy's; ``None`` (unset) is off (P-IDLE)."""
        minutes = resource.inactive_timeout_minutes
        return minutes if minutes is not None else self.ctx.policies.inactive_timeout_minutes

    def _arm_idle(self, resource: Deployment, state: DeploymentState, at: int) -> None:
        timeout = self._idle_timeout(resource)
        if timeout is None:
            return
        state.idle_generation += 1
        deadline = at + timeout * MICROS_PER_MINUTE
        self.ctx.schedule(deadline, IdleStop(resource.id, state.idle_generation))

    def idle_check(self, at: int, resource_id: str, generation: int) -> None:
        """Stop a deployment idle for its timeout (DE4), or look again at its new deadline.

        A deadline of an earlier generation never comes here (``IdleStop`` is stale)."""
        ctx = self.ctx
        state = self.state(resource_id, DeploymentState)
        if state.status is not Status.RUNNING:
            return
        resource = ctx.core.resources[resource_id]
        assert isinstance(resource, (DedicatedEndpoint, FineTunedHosting))
        timeout = self._idle_timeout(resource)
        assert timeout is not None
        deadline = state.last_activity + timeout * MICROS_PER_MINUTE
        if deadline > at:
            ctx.schedule(deadline, IdleStop(resource_id, generation))
            return
        self._end(resource, state, at, Status.STOPPED, "auto-stopped", "DE4")
        state.stopped_by_idle = True
        state.ended_by = "DE4"
        ctx.core.log[-1] = attrs.evolve(
            ctx.core.log[-1], detail=f"no requests for {timeout} minutes (P-IDLE)"
        )

    # -- metering (DE1, FT2) -------------------------------------------------------------

    def settle(self, until: int) -> None:
        for resource, state in self._resources():
            self._settle(resource, state, until)

    def _settle(self, resource: Deployment, state: DeploymentState, until: int) -> None:
        """Accrue the started grain units of every ready replica up to ``until`` (DE1, FT2)."""
        if not state.groups:
            return
        if isinstance(resource, DedicatedEndpoint):
            rule, description = "DE1", f"{resource.hardware} ready replicas"
        else:
            rule, description = "FT2", f"hosting {resource.model} on {resource.hardware}"

        def meta(price: PriceEntry, grain: MeteringGrain) -> LineMeta:
            assert isinstance(price, HardwarePrice)
            return time_meta(
                resource.category, rule, description, "replica", price.per_hour, price, grain
            )

        core = self.ctx.core
        metering.settle(
            core.catalog,
            core.pieces,
            resource.id,
            state.groups,
            until,
            ("hardware", resource.hardware),
            self.ctx.grain,
            meta,
        )
