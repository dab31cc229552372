"""Shared storage volumes (ST1-ST3): size times time at the storage rate, per started minute,
until deleted; the reserved rate while the attached cluster's reservation is paid for; and
their part of running out of credit (CR5, CR7).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from together_billing._engine import metering
from together_billing._engine.context import (
    FamilyBase,
    Notice,
    ReservationChanged,
    ResourceState,
    micros,
)
from together_billing._engine.credits import GracedState
from together_billing._engine.invoicing import LineMeta, time_meta
from together_billing._engine.metering import Meter, add_units
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing.catalog import ClusterBilling, PriceEntry, StoragePrice
from together_billing.errors import InvalidArgument, InvalidTimeline
from together_billing.policies import ShrinkPolicy
from together_billing.resources import Category, InstantCluster, Resource, StorageVolume
from together_billing.time import MICROS_PER_HOUR, MeteringGrain
from together_billing.timeline import Delete, Deploy, Event, ResizeVolume

__all__ = ["Storage"]

_RESERVED = ("storage", ClusterBilling.RESERVED.value)
_ON_DEMAND = ("storage", ClusterBilling.ON_DEMAND.value)


@attrs.define
class VolumeState(GracedState):
    billing: ClusterBilling = ClusterBilling.ON_DEMAND
    size: int = 0
    deleted_by_credits: bool = False


class Storage(FamilyBase):
    """Shared storage volumes (ST1-ST3)."""

    kinds: ClassVar[tuple[type[Resource], ...]] = (StorageVolume,)

    def add(self, resource: Resource) -> ResourceState:
        assert isinstance(resource, StorageVolume)
        if resource.cluster is not None:
            attached = self.ctx.core.resources.get(resource.cluster)
            if not isinstance(attached, InstantCluster):
                raise InvalidArgument(
                    "cluster",
                    resource.cluster,
                    f"the id of an InstantCluster of the scenario (volume {resource.id!r})",
                )
        return VolumeState()

    def _volumes(self) -> Iterable[tuple[StorageVolume, VolumeState]]:
        core = self.ctx.core
        for resource_id, state in core.states.items():
            if isinstance(state, VolumeState):
                volume = core.resources[resource_id]
                assert isinstance(volume, StorageVolume)
                yield volume, state

    def _has_reserved_rate(self) -> bool:
        return bool(self.ctx.core.catalog.history(_RESERVED)[0])

    def meter(self, resource_id: str) -> Meter | None:
        state = self.state(resource_id, VolumeState)
        if not state.groups:
            return None
        volume = self.ctx.core.resources[resource_id]
        assert isinstance(volume, StorageVolume)
        return self._meter(volume, state)

    def _meter(self, volume: StorageVolume, state: VolumeState) -> Meter:
        """TiB at the volume's storage rate; a volume priced reserved draws on demand until
        the first reserved storage rate takes effect, as it bills (G4)."""
        grain = self.ctx.policies.storage_grain
        ends = state.grace_end if state.status is Status.REVOKED else None
        if state.billing is ClusterBilling.RESERVED and self._has_reserved_rate():
            return Meter(volume.id, _RESERVED, grain, state.groups, fallback=_ON_DEMAND, ends=ends)
        return Meter(volume.id, _ON_DEMAND, grain, state.groups, ends=ends)

    def meters(self) -> Iterable[Meter]:
        for volume, state in self._volumes():
            if state.groups:
                yield self._meter(volume, state)

    def _resize(self, volume: StorageVolume, state: VolumeState, at: int, target: int) -> None:
        core = self.ctx.core
        with self.ctx.changing(volume.id, at):
            metering.resize(core.catalog, core.ledger, self._meter(volume, state), at, target)

    # -- credits (CR5, CR7) ----------------------------------------------------------------

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """No volume is created while out of credit (CR5, W31)."""
        return Refusal("CR5", "credits exhausted: storage access is revoked")

    def on_exhausted(self, at: int) -> None:
        """Access to every volume is revoked, with its grace period (CR5); by default it
        keeps billing (P-REVOKED-BILL)."""
        for volume, state in self._volumes():
            if state.status is not Status.RUNNING:
                continue
            self._settle(volume, state, at)
            with self.ctx.changing(volume.id, at):
                self._revoke(volume, state, at)

    def _revoke(self, volume: StorageVolume, state: VolumeState, at: int) -> None:
        policies = self.ctx.policies
        self.ctx.credits.suspend(
            self._meter(volume, state),
            state,
            at,
            keep_billing=policies.revoked_storage_bills,
            status=Status.REVOKED,
            rule="CR5",
            detail="data deleted unless credits are restored within "
            f"{policies.grace_storage_hours} h (P-GRACE-STORAGE)",
            grace=policies.grace_storage_hours * MICROS_PER_HOUR,
            what="the volume's data will be deleted",
        )

    def on_grace_end(self, resource_id: str, at: int) -> None:
        """The data is deleted: credits were not restored within the grace period (CR5)."""
        volume = self.ctx.core.resources[resource_id]
        assert isinstance(volume, StorageVolume)
        state = self.state(resource_id, VolumeState)
        self._settle(volume, state, at)
        with self.ctx.changing(resource_id, at):
            self._resize(volume, state, at, 0)
            state.status = Status.DELETED
        state.deleted_by_credits = True
        state.ended_by = "CR5"
        self.ctx.log(at, resource_id, "data deleted", "CR5", "credits were not restored")

    def on_restored(self, at: int) -> None:
        """Access is restored (CR7), at the rate the volume has now."""
        for volume, state in self._volumes():
            if state.status is Status.REVOKED:
                with self.ctx.changing(volume.id, at):
                    state.status = Status.RUNNING
                    state.ended_by = None
                    state.generation += 1
                    if not state.groups:
                        add_units(state.groups, at, state.size)
                self.ctx.log(at, volume.id, "access restored", "CR7")

    # -- reserved storage (ST3) ------------------------------------------------------------

    def _billing(self, volume: StorageVolume, at: int) -> ClusterBilling:
        """Reserved storage pricing while the attached cluster's reservation is paid for,
        even after the cluster ended early (ST3, C22). Where the catalog has no reserved
        storage rate (yet), the on-demand rate applies (``_settle``)."""
        if volume.cluster is None:
            return ClusterBilling.ON_DEMAND
        window = self.ctx.core.reservations.get(volume.cluster)
        if window is not None and window[0] <= at < window[1]:
            return ClusterBilling.RESERVED
        return ClusterBilling.ON_DEMAND

    def notice(self, note: Notice, at: int) -> None:
        """A reservation began or ended: reprice its volumes (ST3)."""
        if not isinstance(note, ReservationChanged):
            return
        for volume, state in self._volumes():
            if volume.cluster != note.cluster or state.status not in (
                Status.RUNNING,
                Status.REVOKED,
            ):
                continue
            billing = self._billing(volume, at)
            if billing is state.billing:
                continue
            self._settle(volume, state, at)
            core = self.ctx.core
            with self.ctx.changing(volume.id, at):
                # The units running now are billed at their start's rate: draw their rest so.
                metering.prepay(core.catalog, core.ledger, self._meter(volume, state), at)
                state.billing = billing
            if self._has_reserved_rate():
                self.ctx.log(
                    at,
                    volume.id,
                    f"storage priced {billing.value}",
                    "ST3",
                    f"cluster {note.cluster}",
                )

    # -- events ----------------------------------------------------------------------------

    def apply(self, event: Event, resource: Resource) -> None:
        """The lifecycle of a volume: created, billing from then (ST1); resized, added TiB on
        their own grid and decreases under P-SHRINK (ST2); deleted (ST1)."""
        assert isinstance(resource, StorageVolume)
        ctx = self.ctx
        volume = resource
        state = self.state(volume.id, VolumeState)
        at = micros(event)
        if isinstance(event, Deploy):
            if ctx.empty_run(event, state):
                return
            if not ctx.expect(event, state, (Status.NEW,), "a volume not yet created"):
                return
            if not event.ready:
                raise InvalidTimeline(
                    event, "ready", event.ready, "True: a volume bills from its creation (ST1)"
                )
            if ctx.credits.admit(volume, at, Begin.DEPLOY) is Admission.REFUSE:
                return
            with ctx.changing(volume.id, at):
                state.status = Status.RUNNING
                state.ended_by = None
                state.billing = self._billing(volume, at)
                state.size = volume.size_tib
                add_units(state.groups, at, volume.size_tib)
            ctx.log(
                at, volume.id, "created", "ST1", f"{volume.size_tib} TiB, {state.billing.value}"
            )
        elif isinstance(event, ResizeVolume):
            if not ctx.expect(event, state, (Status.RUNNING,), "an existing volume"):
                return
            before = state.size
            if event.size_tib < before:
                self._check_shrink(event, before)
            self._settle(volume, state, at)
            self._resize(volume, state, at, event.size_tib)
            state.size = event.size_tib
            ctx.log(at, volume.id, "resized", "ST2", f"{before} -> {event.size_tib} TiB")
        elif isinstance(event, Delete):
            if state.status is Status.DELETED and state.deleted_by_credits:
                ctx.log(at, volume.id, "delete ignored", "CR5", "its data was already deleted")
                return
            if not ctx.expect(event, state, (Status.RUNNING, Status.REVOKED), "an existing volume"):
                return
            ctx.ended_now[volume.id] = at
            state.generation += 1
            self._settle(volume, state, at)
            self._resize(volume, state, at, 0)
            state.status = Status.DELETED
            ctx.log(at, volume.id, "deleted", "ST1")
        else:
            raise InvalidTimeline(
                event,
                "resource",
                volume.id,
                "a resource this event applies to; a StorageVolume takes Deploy, ResizeVolume "
                "and Delete (it bills until deleted)",
            )

    def _check_shrink(self, event: ResizeVolume, before: int) -> None:
        """A decrease depends on P-SHRINK (ST2)."""
        policy = self.ctx.policies.storage_shrink
        if policy is ShrinkPolicy.FORBIDDEN:
            raise InvalidTimeline(
                event, "size_tib", event.size_tib, f"at least {before} TiB (P-SHRINK: forbidden)"
            )
        if policy is ShrinkPolicy.ACCOUNT_TEAM and not event.via_account_team:
            raise InvalidTimeline(
                event,
                "via_account_team",
                event.via_account_team,
                f"True: below {before} TiB, volumes shrink only through the account team "
                "(P-SHRINK)",
            )

    # -- metering (ST1) --------------------------------------------------------------------

    def settle(self, until: int) -> None:
        for volume, state in self._volumes():
            self._settle(volume, state, until)

    def _settle(self, volume: StorageVolume, state: VolumeState, until: int) -> None:
        """Accrue size x time up to ``until`` at the volume's storage rate (ST1)."""
        if not state.groups:
            return

        def meta(price: PriceEntry, grain: MeteringGrain) -> LineMeta:
            assert isinstance(price, StoragePrice)
            description = f"shared volume storage ({price.billing.value} rate)"
            return time_meta(
                Category.STORAGE, "ST1", description, "TiB", price.per_tib_hour, price, grain
            )

        core = self.ctx.core
        grain = self.ctx.policies.storage_grain

        def record(until: int, key: tuple[str, ...]) -> None:
            metering.settle(
                core.catalog, core.pieces, volume.id, state.groups, until, key, grain, meta
            )

        if state.billing is ClusterBilling.RESERVED:
            instants, _ = core.catalog.history(_RESERVED)
            if instants:
                # On demand until the first reserved storage rate takes effect (G4).
                record(min(until, instants[0]), _ON_DEMAND)
                record(until, _RESERVED)
                return
        record(until, _ON_DEMAND)
