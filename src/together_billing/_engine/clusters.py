"""Instant GPU clusters (CL1-CL6): a reservation charged in full when the cluster becomes
ready, burst GPUs above it and on-demand clusters per started minute, decommissioning at
the reservation's end; and their part of running out of credit (CR3, CR4, CR7).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

import attrs

from together_billing._engine import metering
from together_billing._engine.context import (
    Check,
    Context,
    FamilyBase,
    ReservationChanged,
    ResourceCheck,
    ResourceState,
    micros,
)
from together_billing._engine.credits import GracedState
from together_billing._engine.invoicing import LineMeta, time_meta
from together_billing._engine.metering import Meter, add_units
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing.catalog import ClusterBilling, ClusterPrice, PriceEntry
from together_billing.errors import InvalidTimeline
from together_billing.money import EXACT_CONTEXT
from together_billing.policies import ReservationPayment
from together_billing.resources import Category, InstantCluster, Resource
from together_billing.time import MICROS_PER_HOUR, MeteringGrain, from_micros
from together_billing.timeline import (
    Delete,
    Deploy,
    DeployFailed,
    Event,
    ExtendReservation,
    Ready,
    ScaleGpus,
    Start,
    Stop,
)

__all__ = ["Clusters"]


@attrs.define
class ClusterState(GracedState):
    gpus: int = 0
    reservation_start: int = 0
    reservation_end: int = 0
    # ``groups`` are the metered GPUs: those above the reservation (burst), or all of an
    # on-demand cluster's.


@attrs.frozen
class _ReservationCheck(ResourceCheck):
    def generation_of(self, ctx: Context) -> int | None:
        state = ctx.core.states[self.resource]
        assert isinstance(state, ClusterState)
        return state.generation


@attrs.frozen
class ReservationAlert(_ReservationCheck):
    """The alert ``reservation_alert_hours`` before a reservation ends (CL5)."""

    name: ClassVar[str] = "ReservationAlert"

    def run(self, ctx: Context, at: int) -> None:
        ctx.family(Clusters).reservation_alert(at, self.resource, self.generation)


@attrs.frozen
class ReservationEnd(_ReservationCheck):
    """A reservation's end: its cluster is decommissioned (CL5)."""

    name: ClassVar[str] = "ReservationEnd"

    def run(self, ctx: Context, at: int) -> None:
        ctx.family(Clusters).reservation_end(at, self.resource, self.generation)


@attrs.frozen
class ReservationOver(Check):
    """The paid end of the reservation of a cluster terminated early: its volumes' rate
    changes then (ST3, CL2)."""

    name: ClassVar[str] = "StorageReprice"
    cluster: str

    def subject(self) -> str:
        return self.cluster

    def run(self, ctx: Context, at: int) -> None:
        ctx.notify(ReservationChanged(self.cluster), at)


class Clusters(FamilyBase):
    """Instant GPU clusters, reserved or on demand (CL1-CL6)."""

    kinds: ClassVar[tuple[type[Resource], ...]] = (InstantCluster,)

    def add(self, resource: Resource) -> ResourceState:
        return ClusterState()

    def _clusters(self) -> Iterable[tuple[InstantCluster, ClusterState]]:
        core = self.ctx.core
        for resource_id, state in core.states.items():
            if isinstance(state, ClusterState):
                cluster = core.resources[resource_id]
                assert isinstance(cluster, InstantCluster)
                yield cluster, state

    def meter(self, resource_id: str) -> Meter | None:
        state = self.state(resource_id, ClusterState)
        if not state.groups:
            return None
        cluster = self.ctx.core.resources[resource_id]
        assert isinstance(cluster, InstantCluster)
        return self._meter(cluster, state)

    def _meter(self, cluster: InstantCluster, state: ClusterState) -> Meter:
        """Burst or on-demand GPUs at the on-demand rate (CL3, CL4)."""
        ends = None
        if state.status is Status.RUNNING:
            ends = state.reservation_end  # burst GPUs stop with the reservation
        elif state.status is Status.PAUSED:
            ends = state.grace_end
        key = ("cluster", cluster.gpu_type, ClusterBilling.ON_DEMAND.value)
        return Meter(cluster.id, key, self.ctx.policies.cluster_grain, state.groups, ends=ends)

    def meters(self) -> Iterable[Meter]:
        for cluster, state in self._clusters():
            if state.groups:
                yield self._meter(cluster, state)

    def _resize(self, cluster: InstantCluster, state: ClusterState, at: int, target: int) -> None:
        core = self.ctx.core
        with self.ctx.changing(cluster.id, at):
            metering.resize(core.catalog, core.ledger, self._meter(cluster, state), at, target)

    # -- credits (CR3, CR4, CR7) -----------------------------------------------------------

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """No on-demand capacity while out of credit (CR3, CR4, W29, W30): a deploy or start
        of an on-demand cluster and added GPUs are refused; an on-demand cluster that was
        provisioning and becomes ready begins paused, with its grace period; a reserved
        cluster paid up front begins, without burst GPUs (see ``_ready``)."""
        assert isinstance(resource, InstantCluster)
        if begin is Begin.READY and not resource.reserved:
            return Admission.PAUSE
        if resource.reserved and begin is not Begin.SCALE:
            return Admission.BILL
        return Refusal(
            "CR3" if resource.reserved else "CR4", "credits exhausted: no on-demand capacity"
        )

    def on_exhausted(self, at: int) -> None:
        """Burst GPUs are decommissioned (CR3); on-demand clusters are paused (CR4)."""
        for cluster, state in self._clusters():
            if state.status is not Status.RUNNING:
                continue
            self._settle(cluster, state, at)
            if cluster.reserved:
                if state.groups:
                    self._resize(cluster, state, at, 0)
                    state.gpus = cluster.reserved_gpus
                    self.ctx.log(
                        at,
                        cluster.id,
                        "burst capacity decommissioned",
                        "CR3",
                        f"back to the {cluster.reserved_gpus} reserved GPUs, "
                        "which run to the reservation's end",
                    )
                continue
            self._pause(cluster, state, at)

    def _pause(self, cluster: InstantCluster, state: ClusterState, at: int) -> None:
        """Pause on-demand compute for want of credit, with its grace period (CR4)."""
        self._settle(cluster, state, at)
        with self.ctx.changing(cluster.id, at):
            self._suspend(cluster, state, at)

    def _suspend(self, cluster: InstantCluster, state: ClusterState, at: int) -> None:
        policies = self.ctx.policies
        self.ctx.credits.suspend(
            self._meter(cluster, state),
            state,
            at,
            keep_billing=policies.paused_cluster_bills,
            status=Status.PAUSED,
            rule="CR4",
            detail="decommissioned unless credits are restored within "
            f"{policies.grace_compute_hours} h (P-GRACE-COMPUTE)",
            grace=policies.grace_compute_hours * MICROS_PER_HOUR,
            what="the paused cluster will be decommissioned",
        )

    def on_grace_end(self, resource_id: str, at: int) -> None:
        """Decommissioned: credits were not restored within the grace period (CR4)."""
        cluster = self.ctx.core.resources[resource_id]
        assert isinstance(cluster, InstantCluster)
        state = self.state(resource_id, ClusterState)
        self._settle(cluster, state, at)
        with self.ctx.changing(resource_id, at):
            self._resize(cluster, state, at, 0)
            state.status = Status.DECOMMISSIONED
        state.ended_by = "CR4"
        self.ctx.log(at, resource_id, "decommissioned", "CR4", "credits were not restored")

    def on_restored(self, at: int) -> None:
        """Paused clusters resume on demand (CR7); decommissioned burst does not come back."""
        for cluster, state in self._clusters():
            if state.status is Status.PAUSED:
                with self.ctx.changing(cluster.id, at):
                    state.status = Status.RUNNING
                    state.ended_by = None
                    state.generation += 1
                    if not state.groups:
                        add_units(state.groups, at, state.gpus)
                self.ctx.log(at, cluster.id, "resumed", "CR7", f"{state.gpus} GPUs on demand")

    # -- events ----------------------------------------------------------------------------

    def apply(self, event: Event, resource: Resource) -> None:
        """The lifecycle of a cluster: provisioning, ready (CL2, CL4), GPUs scaled (CL3,
        CL4), a reservation extended (CL5), an on-demand cluster stopped and started (CL4),
        terminated (CL2: nothing refunded)."""
        assert isinstance(resource, InstantCluster)
        ctx = self.ctx
        cluster = resource
        state = self.state(cluster.id, ClusterState)
        at = micros(event)
        if isinstance(event, Deploy):
            if ctx.empty_run(event, state):
                state.gpus = state.gpus or cluster.gpus  # a stopped cluster keeps its GPU count
                return
            if not ctx.expect(event, state, (Status.NEW,), "a cluster not yet provisioned"):
                return
            charge = self._reservation_charge(cluster, at) if event.ready else Decimal(0)
            admission = ctx.credits.admit(cluster, at, Begin.DEPLOY, charge=charge)
            if admission is Admission.REFUSE:
                return
            if event.ready:
                self._ready(event, cluster, state, at, admission)
            else:
                state.status = Status.PROVISIONING
                rule = "CL2" if cluster.reserved else "CL4"
                ctx.log(at, cluster.id, "provisioning", rule, "not billed until ready")
        elif isinstance(event, Ready):
            if not ctx.expect(event, state, (Status.PROVISIONING,), "a provisioning cluster"):
                return
            admission = ctx.credits.admit(
                cluster, at, Begin.READY, charge=self._reservation_charge(cluster, at)
            )
            if admission is Admission.REFUSE:
                state.status = Status.FAILED
                return
            self._ready(event, cluster, state, at, admission)
        elif isinstance(event, DeployFailed):
            if not ctx.expect(event, state, (Status.PROVISIONING,), "a provisioning cluster"):
                return
            state.status = Status.FAILED
            ctx.log(at, cluster.id, "provisioning failed", "CL2", "nothing charged")
        elif isinstance(event, ScaleGpus):
            self._scale(event, cluster, state, at)
        elif isinstance(event, ExtendReservation):
            self._extend(event, cluster, state, at)
        elif isinstance(event, Stop):
            if cluster.reserved:
                raise InvalidTimeline(
                    event,
                    "resource",
                    cluster.id,
                    "an on-demand cluster: a reserved cluster cannot be paused "
                    "(Delete terminates it)",
                )
            if state.status is Status.PAUSED:
                ctx.log(at, cluster.id, "stop ignored", "CR4", "paused: credits ran out")
                return
            if not ctx.expect(event, state, (Status.RUNNING,), "a running cluster"):
                return
            self._settle(cluster, state, at)
            with ctx.changing(cluster.id, at):
                self._resize(cluster, state, at, 0)
                state.status = Status.STOPPED
            ctx.ended_now[cluster.id] = at
            ctx.log(at, cluster.id, "stopped", "CL4", "on-demand compute stops billing")
        elif isinstance(event, Start):
            self._start(event, cluster, state, at)
        elif isinstance(event, Delete):
            self._delete(event, cluster, state, at)
        else:
            raise InvalidTimeline(
                event,
                "resource",
                cluster.id,
                "a dedicated endpoint, hosted model or serverless resource for this event; "
                f"{cluster.id!r} is an InstantCluster",
            )

    def _scale(
        self, event: ScaleGpus, cluster: InstantCluster, state: ClusterState, at: int
    ) -> None:
        """Set the GPUs (CL3, CL4): added ones on their own grid, the newest removed first."""
        ctx = self.ctx
        if not ctx.expect(event, state, (Status.RUNNING,), "a running cluster"):
            return
        self._check_gpus(event, "gpus", event.gpus)
        wanted = event.gpus - cluster.reserved_gpus if cluster.reserved else event.gpus
        if (
            wanted > sum(g.count for g in state.groups)
            and ctx.credits.admit(cluster, at, Begin.SCALE) is Admission.REFUSE
        ):
            return
        self._settle(cluster, state, at)
        before = state.gpus
        state.gpus = event.gpus
        self._resize(cluster, state, at, _metered_gpus(cluster, state))
        rule = "CL3" if cluster.reserved else "CL4"
        ctx.log(at, cluster.id, "GPUs changed", rule, _gpu_detail(cluster, before, state))

    def _start(self, event: Start, cluster: InstantCluster, state: ClusterState, at: int) -> None:
        ctx = self.ctx
        if cluster.reserved:
            raise InvalidTimeline(event, "resource", cluster.id, "an on-demand cluster")
        if ctx.empty_run(event, state):
            state.gpus = state.gpus or cluster.gpus
            return
        if not ctx.expect(event, state, (Status.STOPPED,), "a stopped cluster"):
            return
        if ctx.credits.admit(cluster, at, Begin.START) is Admission.REFUSE:
            return
        state.ended_by = None
        if not event.ready:
            state.status = Status.PROVISIONING
            ctx.log(at, cluster.id, "starting", "CL4", "not billed until ready")
            return
        with ctx.changing(cluster.id, at):
            state.status = Status.RUNNING
            add_units(state.groups, at, state.gpus)
        ctx.log(at, cluster.id, "started", "CL4", f"{state.gpus} GPUs on demand")

    def _delete(self, event: Delete, cluster: InstantCluster, state: ClusterState, at: int) -> None:
        ctx = self.ctx
        if not ctx.expect(
            event,
            state,
            (
                Status.PROVISIONING,
                Status.RUNNING,
                Status.STOPPED,
                Status.FAILED,
                Status.DECOMMISSIONED,
                Status.PAUSED,
            ),
            "a cluster not yet deleted",
        ):
            return
        ctx.ended_now[cluster.id] = at
        running = state.status is Status.RUNNING
        self._settle(cluster, state, at)
        with ctx.changing(cluster.id, at):
            self._resize(cluster, state, at, 0)
            state.generation += 1
        detail = ""
        if running and cluster.reserved and at < state.reservation_end:
            left = from_micros(state.reservation_end).isoformat()
            detail = f"reservation to {left} is not refunded (CL2)"
        state.status = Status.DELETED
        ctx.log(at, cluster.id, "terminated", "CL5" if cluster.reserved else "CL4", detail)
        if cluster.reserved and at < state.reservation_end:
            # Its volumes keep the reserved storage rate to the paid end (ST3, CL2).
            ctx.schedule(state.reservation_end, ReservationOver(cluster.id))

    def _check_gpus(self, event: Event, field: str, gpus: int) -> None:
        """GPU counts are multiples of P-GPU-STEP (CL6)."""
        step = self.ctx.policies.gpu_step
        if gpus < step or gpus % step:
            raise InvalidTimeline(event, field, gpus, f"a multiple of {step} GPUs (P-GPU-STEP)")

    # -- reservations (CL2, CL5) -----------------------------------------------------------

    def _reservation_charge(self, cluster: InstantCluster, at: int, days: int = 0) -> Decimal:
        """What a reservation (or ``days`` more of it) draws from credits at ``at``: zero
        unless it is paid from credits (P-RESERVE-PAY) and its cluster is reserved."""
        if not cluster.reserved or self.ctx.policies.reservation_payment is not (
            ReservationPayment.CREDITS
        ):
            return Decimal(0)
        assert cluster.duration_days is not None
        price = self.ctx.core.catalog.cluster(
            cluster.gpu_type, ClusterBilling.RESERVED, from_micros(at)
        )
        hours = (days or cluster.duration_days) * 24
        return EXACT_CONTEXT.multiply(Decimal(cluster.reserved_gpus * hours), price.per_gpu_hour)

    def _ready(
        self,
        event: Event,
        cluster: InstantCluster,
        state: ClusterState,
        at: int,
        admission: Admission = Admission.BILL,
    ) -> None:
        """The cluster becomes ready: a reservation is charged in full now (CL2); while out
        of credit, its burst GPUs are refused (CR3) and an on-demand one begins paused (CR4)."""
        with self.ctx.changing(cluster.id, at):
            self._begin(event, cluster, state, at, admission)

    def _begin(
        self,
        event: Event,
        cluster: InstantCluster,
        state: ClusterState,
        at: int,
        admission: Admission,
    ) -> None:
        ctx = self.ctx
        restart = state.gpus > 0  # a stopped on-demand cluster keeps its GPU count
        if not restart:
            self._check_gpus(event, "gpus", cluster.gpus)
            state.gpus = cluster.gpus
            if (
                cluster.reserved
                and cluster.gpus > cluster.reserved_gpus
                and ctx.credits.out_of_credit()
            ):
                # CR3: no on-demand capacity beyond the reservation while out of credit.
                ctx.log(
                    at,
                    cluster.id,
                    "burst refused",
                    "CR3",
                    f"credits exhausted: {cluster.gpus - cluster.reserved_gpus} burst GPUs "
                    "not started",
                )
                state.gpus = cluster.reserved_gpus
        state.status = Status.RUNNING
        state.ended_by = None
        if cluster.reserved:
            self._check_gpus(event, "reserved_gpus", cluster.reserved_gpus)
            assert cluster.duration_days is not None
            state.reservation_start = at
            state.reservation_end = at
            self._charge_reservation(cluster, state, at, cluster.duration_days, "CL2")
            paid = ctx.policies.reservation_payment.value
            ctx.log(
                at,
                cluster.id,
                "ready",
                "CL2",
                f"{cluster.reserved_gpus} GPUs reserved for {cluster.duration_days} days, "
                f"charged in full ({paid}); non-refundable"
                + (
                    f"; {cluster.gpus - cluster.reserved_gpus} more GPUs burst at on-demand rates"
                    if cluster.gpus > cluster.reserved_gpus
                    else ""
                ),
            )
            ctx.notify(ReservationChanged(cluster.id), at)
        else:
            ctx.log(at, cluster.id, "ready", "CL4", f"{state.gpus} GPUs on demand")
        add_units(state.groups, at, _metered_gpus(cluster, state))
        if admission is Admission.PAUSE:
            self._settle(cluster, state, at)
            self._suspend(cluster, state, at)

    def _charge_reservation(
        self, cluster: InstantCluster, state: ClusterState, at: int, days: int, rule: str
    ) -> None:
        """Charge ``days`` more of the reservation now, and move its end (CL2, CL5)."""
        ctx = self.ctx
        price = ctx.core.catalog.cluster(cluster.gpu_type, ClusterBilling.RESERVED, from_micros(at))
        start = state.reservation_end
        state.reservation_end = start + days * 24 * MICROS_PER_HOUR
        ctx.core.reservations[cluster.id] = (state.reservation_start, state.reservation_end)
        hours = days * 24
        what = "reservation" if rule == "CL2" else "reservation extensions"
        meta = LineMeta(
            Category.RESERVED_COMPUTE,
            rule,
            f"{cluster.gpu_type} {what} of {cluster.reserved_gpus} GPUs",
            "GPU-hour",
            price.per_gpu_hour,
            "USD per GPU-hour",
            Decimal(1),
            Decimal(1),
            price,
        )
        paid_from_credits = ctx.policies.reservation_payment is ReservationPayment.CREDITS
        ctx.accrue(
            at,
            cluster.id,
            meta,
            cluster.reserved_gpus * hours,
            (start, state.reservation_end),
            debit=paid_from_credits,
        )
        state.generation += 1
        end = state.reservation_end
        ctx.schedule(end, ReservationEnd(cluster.id, state.generation))
        alert = max(at, end - ctx.policies.reservation_alert_hours * MICROS_PER_HOUR)
        ctx.schedule(alert, ReservationAlert(cluster.id, state.generation))

    def _extend(
        self, event: ExtendReservation, cluster: InstantCluster, state: ClusterState, at: int
    ) -> None:
        """Charge the added days now, at the reserved rate in force, and move the end (CL5)."""
        ctx = self.ctx
        if not cluster.reserved:
            raise InvalidTimeline(event, "resource", cluster.id, "a reserved cluster")
        if not ctx.expect(event, state, (Status.RUNNING,), "a running reserved cluster"):
            return
        if event.days > 90:
            raise InvalidTimeline(event, "days", event.days, "an extension of 1 to 90 days")
        charge = self._reservation_charge(cluster, at, event.days)
        if (
            charge
            and ctx.credits.admit(cluster, at, Begin.EXTENSION, charge=charge, charge_rule="CL5")
            is Admission.REFUSE
        ):
            return
        old_end = from_micros(state.reservation_end).isoformat()
        with ctx.changing(cluster.id, at):  # its burst GPUs now stop later
            self._charge_reservation(cluster, state, at, event.days, "CL5")
        new_end = from_micros(state.reservation_end).isoformat()
        ctx.log(
            at, cluster.id, "reservation extended", "CL5", f"{old_end} -> {new_end}, charged now"
        )

    def reservation_alert(self, at: int, cluster_id: str, generation: int) -> None:
        """The alert ``reservation_alert_hours`` before a reservation ends (CL5, CR6)."""
        state = self.state(cluster_id, ClusterState)
        if state.status is not Status.RUNNING or generation != state.generation:
            return
        end = from_micros(state.reservation_end).isoformat()
        self.ctx.log(
            at,
            cluster_id,
            "alert",
            "CL5",
            f"reservation ends at {end}; the cluster will be decommissioned",
        )

    def reservation_end(self, at: int, cluster_id: str, generation: int) -> None:
        """The reservation ended: the cluster is decommissioned, its volumes repriced (CL5)."""
        state = self.state(cluster_id, ClusterState)
        if state.status is not Status.RUNNING or generation != state.generation:
            return
        cluster = self.ctx.core.resources[cluster_id]
        assert isinstance(cluster, InstantCluster)
        self._settle(cluster, state, at)
        with self.ctx.changing(cluster_id, at):
            self._resize(cluster, state, at, 0)
            state.status = Status.DECOMMISSIONED
        state.ended_by = "CL5"
        self.ctx.log(at, cluster_id, "decommissioned", "CL5", "the reservation ended")
        self.ctx.notify(ReservationChanged(cluster_id), at)

    # -- metering (CL3, CL4) ---------------------------------------------------------------

    def settle(self, until: int) -> None:
        for cluster, state in self._clusters():
            self._settle(cluster, state, until)

    def _settle(self, cluster: InstantCluster, state: ClusterState, until: int) -> None:
        """Accrue burst or on-demand GPU time up to ``until`` (CL3, CL4)."""
        if not state.groups:
            return
        if cluster.reserved:
            category, rule, what = Category.BURST_COMPUTE, "CL3", "burst GPUs above the reservation"
        else:
            category, rule, what = Category.ON_DEMAND_COMPUTE, "CL4", "on-demand GPUs"

        def meta(price: PriceEntry, grain: MeteringGrain) -> LineMeta:
            assert isinstance(price, ClusterPrice)
            description = f"{cluster.gpu_type} {what}"
            return time_meta(category, rule, description, "GPU", price.per_gpu_hour, price, grain)

        core = self.ctx.core
        key = ("cluster", cluster.gpu_type, ClusterBilling.ON_DEMAND.value)
        metering.settle(
            core.catalog,
            core.pieces,
            cluster.id,
            state.groups,
            until,
            key,
            self.ctx.policies.cluster_grain,
            meta,
        )


def _metered_gpus(cluster: InstantCluster, state: ClusterState) -> int:
    """The GPUs billed per minute: those above the reservation (burst, CL3), or all of an
    on-demand cluster's (CL4)."""
    if cluster.reserved:
        return max(0, state.gpus - cluster.reserved_gpus)
    return state.gpus


def _gpu_detail(cluster: InstantCluster, before: int, state: ClusterState) -> str:
    text = f"{before} -> {state.gpus} GPUs"
    if cluster.reserved:
        burst = max(0, state.gpus - cluster.reserved_gpus)
        text += f" ({cluster.reserved_gpus} reserved, {burst} burst at on-demand rates)"
    return text
