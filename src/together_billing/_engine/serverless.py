"""Serverless inference (SL1-SL3): tokens times the model's rate per million, at the instant
of use, single records or columnar batches.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

import attrs

from together_billing._engine.context import Check, Context, FamilyBase, ResourceState, micros
from together_billing._engine.invoicing import MILLION, LineMeta
from together_billing._engine.vocabulary import Admission, Begin, Refusal, Status
from together_billing._figures import at_least_cents
from together_billing.catalog import ServerlessPrice
from together_billing.resources import Category, Resource, ServerlessUsage
from together_billing.time import from_micros
from together_billing.timeline import Event, TokenUsage, TokenUsageBatch

__all__ = ["Serverless"]


@attrs.frozen
class BatchRest(Check):
    """The rest of a batch, from ``position``: put back in the queue so an event between
    its records (a price change, a credit check) applies exactly as for single records."""

    name: ClassVar[str] = "TokenUsageBatch"
    customer: ClassVar[bool] = True
    batch: TokenUsageBatch
    position: int

    def run(self, ctx: Context, at: int) -> None:
        ctx.family(Serverless).usage_batch(self.batch, self.position)


class Serverless(FamilyBase):
    """Serverless usage (SL1-SL3): ``TokenUsage`` and ``TokenUsageBatch`` events."""

    kinds: ClassVar[tuple[type[Resource], ...]] = (ServerlessUsage,)
    events: ClassVar[tuple[type[Event], ...] | None] = (TokenUsage, TokenUsageBatch)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._metas: dict[tuple[str, int, bool], tuple[LineMeta, LineMeta, LineMeta | None]] = {}

    def add(self, resource: Resource) -> ResourceState:
        return ResourceState(status=Status.ACTIVE)

    def while_out_of_credit(self, resource: Resource, begin: Begin) -> Admission | Refusal:
        """Requests are refused, not billed, while P-EXHAUST suspends API access (CR8, W26)."""
        if not self.ctx.policies.exhaustion_suspends_api:
            return Admission.BILL
        return Refusal("CR8", "API access is suspended")

    def apply(self, event: Event, resource: Resource) -> None:
        assert isinstance(resource, ServerlessUsage)
        if isinstance(event, TokenUsageBatch):
            self.usage_batch(event, 0)
            return
        assert isinstance(event, TokenUsage)
        self.usage(
            resource,
            micros(event),
            event.input_tokens,
            event.output_tokens,
            event.cached_input_tokens,
            event.batch,
        )

    def price(self, resource: ServerlessUsage, at: int) -> ServerlessPrice:
        """The model's price at ``at``: its own entry, else its size tier (SL2, P-TIER)."""
        catalog = self.ctx.core.catalog
        found = catalog.at(("serverless", resource.model), at)
        if isinstance(found, ServerlessPrice):
            return found
        params = resource.params_b if self.ctx.policies.size_tier_fallback else None
        return catalog.serverless(resource.model, from_micros(at), params_b=params)

    def metas(
        self, resource: ServerlessUsage, price: ServerlessPrice, batch: bool
    ) -> tuple[LineMeta, LineMeta, LineMeta | None]:
        """The three lines a usage record can add to, made once per resource, price and mode."""
        cache_key = (resource.id, id(price), batch)
        found = self._metas.get(cache_key)
        if found is not None and found[0].price is price:
            return found
        made = self._make_metas(resource, price, batch)
        self._metas[cache_key] = made
        return made

    def _make_metas(
        self, resource: ServerlessUsage, price: ServerlessPrice, batch: bool
    ) -> tuple[LineMeta, LineMeta, LineMeta | None]:
        """Input, output and cached-input lines: cached input at the model's cached rate
        where it has one (SL3), batch records at the batch discount (SL3, P-BATCH), a model
        priced by its size tier under SL2, else SL1."""
        policies = self.ctx.policies
        discount = (
            policies.batch_discount if policies.batch_discount is not None else price.batch_discount
        )
        factor = (1 - discount) if batch else Decimal(1)
        prefix = "batch " if batch else ""
        percent = format((discount * 100).normalize(), "f")
        suffix = f" ({percent}% batch discount)" if batch and discount else ""
        base_rule = "SL2" if price.tier else "SL1"
        tier = f" [size tier {price.tier}]" if price.tier else ""

        def meta(kind: str, rate: Decimal, rule: str) -> LineMeta:
            return LineMeta(
                Category.SERVERLESS,
                rule,
                f"{resource.model} {prefix}{kind}{suffix}{tier}",
                "token",
                at_least_cents(rate * factor),
                "USD per 1M tokens",
                MILLION,
                Decimal(1),
                price,
            )

        batch_rule = "SL3" if batch else base_rule
        cached = None
        if price.cached_input is not None:
            cached = meta("cached input tokens", price.cached_input, "SL3")
        return (
            meta("input tokens", price.input, batch_rule),
            meta("output tokens", price.output, batch_rule),
            cached,
        )

    def usage(
        self,
        resource: ServerlessUsage,
        at: int,
        input_tokens: int,
        output_tokens: int,
        cached: int,
        batch: bool,
    ) -> None:
        """Bill one usage record at its instant (SL1, SL3), drawing credits at once."""
        ctx = self.ctx
        if ctx.credits.admit(resource, at, Begin.REQUESTS) is Admission.REFUSE:
            return
        price = self.price(resource, at)
        input_meta, output_meta, cached_meta = self.metas(resource, price, batch)
        span = (at, at)
        if cached_meta is None:
            cached = 0
        if input_tokens - cached:
            ctx.accrue(at, resource.id, input_meta, input_tokens - cached, span, debit=True)
        if cached and cached_meta is not None:
            ctx.accrue(at, resource.id, cached_meta, cached, span, debit=True)
        if output_tokens:
            ctx.accrue(at, resource.id, output_meta, output_tokens, span, debit=True)

    def usage_batch(self, batch: TokenUsageBatch, position: int) -> None:
        """Bill the batch's records from ``position`` (SL1, SL3), up to the next event that can
        change how they bill.

        Records after the next other event are put back in the queue, so a price
        change (or any event) between records applies exactly as for single records.
        """
        ctx = self.ctx
        resource = ctx.core.resources[batch.resource]
        assert isinstance(resource, ServerlessUsage)
        times = batch.at_micros
        size = len(times)
        if ctx.core.ledger is not None:
            # With credits, each record may change what follows (exhaustion): one at a time.
            cached_column = batch.cached_input_tokens
            self.usage(
                resource,
                times[position],
                batch.input_tokens[position],
                batch.output_tokens[position],
                cached_column[position] if cached_column is not None else 0,
                batch.batch,
            )
            if position + 1 < size:
                self._rest(batch, position + 1)
            return
        # Without credits, only a price change can alter how later records bill, so the
        # batch runs on to the next price change, not to the next event of any kind. A
        # price change comes first at its instant (PRIORITY_PRICE): records at that
        # instant are put back, to bill at the new price.
        prices = ctx.price_instants
        following = bisect.bisect_right(prices, times[position])
        stop = (
            bisect.bisect_left(times, prices[following], position)
            if following < len(prices)
            else size
        )
        instants, _ = ctx.core.catalog.history(("serverless", resource.model))
        cached_column = batch.cached_input_tokens
        index = position
        while index < stop:
            at = times[index]
            period_end = ctx.period_end(at)
            # The next record where the price or the period may change.
            next_price = bisect.bisect_right(instants, at)
            boundary = min(
                period_end, instants[next_price] if next_price < len(instants) else period_end
            )
            run_end = bisect.bisect_left(times, boundary, index, stop)
            price = self.price(resource, at)
            input_meta, output_meta, cached_meta = self.metas(resource, price, batch.batch)
            cached_part = cached_column if cached_meta is not None else None
            uncached = (
                batch.input_tokens[index:run_end]
                if cached_part is None
                else [
                    i - c
                    for i, c in zip(
                        batch.input_tokens[index:run_end], cached_part[index:run_end], strict=True
                    )
                ]
            )
            columns: list[tuple[LineMeta, Sequence[int]]] = [(input_meta, uncached)]
            if cached_part is not None and cached_meta is not None:
                columns.append((cached_meta, cached_part[index:run_end]))
            columns.append((output_meta, batch.output_tokens[index:run_end]))
            for meta, column in columns:
                total = sum(column)
                if total:
                    ctx.accrue(at, resource.id, meta, total, _span(times, index, column))
            index = run_end
        if stop < size:
            self._rest(batch, stop)

    def _rest(self, batch: TokenUsageBatch, position: int) -> None:
        key = (batch.at_micros[position], *batch.sort_key()[1:])
        self.ctx.schedule(batch.at_micros[position], BatchRest(batch, position), key)


def _span(times: Sequence[int], offset: int, column: Sequence[int]) -> tuple[int, int]:
    """Instants of the first and last records with a non-zero count in ``column``."""
    first = next(i for i, value in enumerate(column) if value)
    last = next(i for i in range(len(column) - 1, -1, -1) if column[i])
    return times[offset + first], times[offset + last]
