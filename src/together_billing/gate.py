"""The budget gate: check a scenario against spending limits, for CI.

``together-billing check SCENARIO --max-total 500 --min-runway 30d --max-idle 50``
replays the scenario and checks each limit given; it prints a short report and
exits 0 when every limit holds, 3 when one does not (2 for invalid input, 1 for
any other billing error), the way infracost's ``--fail-on`` gates infrastructure
changes. :func:`check_budget` is the same check in Python.

>>> from together_billing import Account, DedicatedEndpoint, Deploy, Stop
>>> from together_billing.scenario import Scenario
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> plan = Scenario(
...     resources=[endpoint, Account(opening_balance=500)],
...     events=[Deploy("2025-11-03T09:00:00Z", "ep"), Stop("2025-11-04T09:00:00Z", "ep")],
...     until="2025-11-05T00:00:00Z",
... )
>>> report = check_budget(plan, max_total="80", min_runway="2025-11-05")
>>> report.exit_code
3
>>> print(report.text())
Budget check of the scenario: FAILED (1 of 2 limits)
FAIL  max-total: 95.76 USD billed (limit 80.00 USD)
        ep  1x_nvidia_h100_80gb_sxm ready replicas: 1440 replica-minute x 3.99 USD per \
replica-hour = 95.76 USD
ok    min-runway: credits last to 2025-11-05T00:00:00+00:00 (limit credits lasting to \
2025-11-05T00:00:00+00:00)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any, Final, TextIO

import attrs
import pendulum

from together_billing._figures import cents
from together_billing.errors import InvalidArgument
from together_billing.money import Money, RoundingMode, input_decimal
from together_billing.scenario import Scenario
from together_billing.time import instant

__all__ = ["EXIT_FAILED", "BudgetCheck", "BudgetReport", "check_budget"]

#: The exit code of ``together-billing check`` when a limit is broken.
EXIT_FAILED: Final = 3

_DURATION: Final = re.compile(r"(\d+)\s*([dhm])")
_UNITS: Final = {"d": "days", "h": "hours", "m": "minutes"}
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
#: How many lines, resources or months a failed check lists.
_SHOWN: Final = 5


@attrs.frozen(kw_only=True)
class BudgetCheck:
    """One limit of the gate: its name, the limit, what the scenario reached, and why."""

    name: str
    limit: str
    actual: str
    passed: bool
    details: tuple[str, ...] = ()

    def text(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        lines = [f"{mark}  {self.name}: {self.actual} (limit {self.limit})"]
        lines.extend(f"        {detail}" for detail in self.details)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limit": self.limit,
            "actual": self.actual,
            "passed": self.passed,
            "details": list(self.details),
        }


@attrs.frozen(kw_only=True)
class BudgetReport:
    """Every check of :func:`check_budget`; ``passed`` when all of them are."""

    scenario: str
    checks: tuple[BudgetCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every limit holds, :data:`EXIT_FAILED` otherwise."""
        return 0 if self.passed else EXIT_FAILED

    def text(self) -> str:
        failed = sum(not check.passed for check in self.checks)
        verdict = "passed" if not failed else f"FAILED ({failed} of {len(self.checks)} limits)"
        head = f"Budget check of {self.scenario}: {verdict}"
        return "\n".join([head, *(check.text() for check in self.checks)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "scenario": self.scenario,
            "passed": self.passed,
            "checks": [check.to_dict() for check in self.checks],
        }


def _money(value: object, field: str) -> Money:
    """A budget limit: USD, 0 or more, read by :func:`~together_billing.money.input_decimal`
    like every amount a user gives (no float, NaN, infinity or 1e400)."""
    expected = "an amount of USD, 0 or more, such as 500 or 1250.50"
    try:
        amount = input_decimal(value.amount if isinstance(value, Money) else value, field=field)
    except InvalidArgument:
        raise InvalidArgument(field, value, expected) from None
    if amount.is_signed():
        raise InvalidArgument(field, value, expected)
    return value if isinstance(value, Money) else Money(amount)


def _usd(value: Decimal, mode: RoundingMode) -> str:
    """An amount from the replay, in whole cents by its P-ROUND ``mode``, with its currency."""
    return f"{cents(value, mode)} USD"


def _target(value: object, scenario: Scenario) -> pendulum.DateTime:
    """``--min-runway``: a duration after the scenario's until (``30d``, ``12h``), a date
    (00:00 UTC) or an instant."""
    if isinstance(value, str):
        text = value.strip()
        match = _DURATION.fullmatch(text)
        if match:
            amount, unit = match.groups()
            return scenario.until.add(**{_UNITS[unit]: int(amount)})
        if _DATE.fullmatch(text):
            try:
                value = dt.date.fromisoformat(text)
            except ValueError as error:
                raise InvalidArgument("min_runway", text, f"a real date ({error})") from None
    if isinstance(value, dt.timedelta):
        return scenario.until + value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pendulum.datetime(value.year, value.month, value.day, tz="UTC")
    if isinstance(value, str) and not ("T" in value or " " in value.strip()):
        raise InvalidArgument(
            "min_runway",
            value,
            "a duration after the scenario's until (30d, 12h, 90m), a date (YYYY-MM-DD) or "
            "an ISO 8601 instant with an offset",
        )
    return instant(value, field="min_runway")


def check_budget(
    scenario: Scenario,
    *,
    max_total: object = None,
    max_monthly: object = None,
    min_runway: object = None,
    max_idle: object = None,
    stop_after_minutes: int = 60,
    name: str | None = None,
) -> BudgetReport:
    """Check ``scenario`` against each limit given (``None`` skips it).

    - ``max_total``: the replay's whole bill (every period) at most this (USD).
    - ``max_monthly``: each month's invoice at most this (USD).
    - ``min_runway``: the account's credits must last at least to this instant: a
      duration after the scenario's ``until`` (``"30d"``, ``"12h"``, a
      ``timedelta``), a date (00:00 UTC) or an instant. Beyond ``until`` the replay
      is continued with :func:`~together_billing.forecast.forecast` (deployments left
      running keep billing; no new use is assumed).
    - ``max_idle``: what hosted models and dedicated endpoints billed while no
      request came (:func:`~together_billing.explain.idle_report`) at most this.

    Limits are amounts in USD, never floats. Failed checks list what to change:
    the largest lines, months, draws on the credits or idle deployments.
    """
    result = scenario.run()
    checks: list[BudgetCheck] = []
    if max_total is not None:
        limit = _money(max_total, "max_total")
        total = result.total
        lines = sorted(result.lines, key=lambda line: (-line.amount, line.resource))
        details = tuple(
            f"{line.resource}  {line.description}: {line.quantity} {line.unit} x {line.rate} "
            f"{line.rate_unit} = {line.amount} USD{' (estimated price)' if line.estimated else ''}"
            for line in lines[:_SHOWN]
        )
        checks.append(
            BudgetCheck(
                name="max-total",
                limit=str(limit.rounded()),
                actual=f"{total} billed",
                passed=total <= limit,
                details=() if total <= limit else details,
            )
        )
    if max_monthly is not None:
        limit = _money(max_monthly, "max_monthly")
        worst = max(result.invoices, key=lambda invoice: invoice.total.amount, default=None)
        over = [invoice for invoice in result.invoices if invoice.total > limit]
        checks.append(
            BudgetCheck(
                name="max-monthly",
                limit=str(limit.rounded()),
                actual="no invoice"
                if worst is None
                else f"{worst.total} in {worst.period.label}, the most expensive month",
                passed=not over,
                details=tuple(
                    f"{invoice.period.label}: {invoice.total}, over by {invoice.total - limit}"
                    for invoice in over[:_SHOWN]
                ),
            )
        )
    if min_runway is not None:
        checks.append(_runway_check(scenario, result, _target(min_runway, scenario)))
    if max_idle is not None:
        checks.append(
            _idle_check(scenario, result, _money(max_idle, "max_idle"), stop_after_minutes)
        )
    if not checks:
        raise InvalidArgument(
            "limits", None, "at least one of max_total, max_monthly, min_runway, max_idle"
        )
    label = name if name is not None else (scenario.name or "the scenario")
    return BudgetReport(scenario=label, checks=tuple(checks))


def _runway_check(scenario: Scenario, result: Any, target: pendulum.DateTime) -> BudgetCheck:
    from together_billing.testing import describe_draws, runway  # noqa: PLC0415

    if scenario.account is None:
        raise InvalidArgument(
            "min_runway", target.isoformat(), "a scenario with an account (credits on)"
        )
    replay = result
    if target > scenario.until:
        from together_billing.forecast import forecast  # noqa: PLC0415 - only when needed

        replay = forecast(scenario, until=target).result
    exhausted = runway(replay)
    passed = exhausted is None or exhausted >= target
    if exhausted is None:
        actual = f"credits last to {target.isoformat()}"
    else:
        actual = f"credits run out at {exhausted.isoformat()}"
    details: tuple[str, ...] = ()
    if not passed:
        details = tuple(describe_draws(replay, until=exhausted).strip().splitlines())
    return BudgetCheck(
        name="min-runway",
        limit=f"credits lasting to {target.isoformat()}",
        actual=actual,
        passed=passed,
        details=tuple(detail.strip() for detail in details),
    )


def _idle_check(scenario: Scenario, result: Any, limit: Money, minutes: int) -> BudgetCheck:
    from together_billing.explain import idle_report  # noqa: PLC0415 - only when needed

    report = idle_report(scenario, result, stop_after_minutes=minutes)
    idle = report.idle
    mode = result.policies.rounding
    passed = idle <= limit.amount
    details: tuple[str, ...] = ()
    if not passed:
        worst = sorted(report.resources, key=lambda r: (-r.idle, r.resource))
        details = tuple(
            f"{r.resource} ({r.kind}): {_usd(r.idle, mode)} idle of {_usd(r.billed, mode)} billed; "
            f"stopping it after {minutes} idle minutes saves {_usd(r.saving, mode)}"
            for r in worst[:_SHOWN]
            if r.idle
        )
    return BudgetCheck(
        name="max-idle",
        limit=str(limit.rounded()),
        actual=f"{_usd(idle, mode)} billed while idle",
        passed=passed,
        details=details,
    )


# -- the command ---------------------------------------------------------------------------------


def run_check(stream: TextIO, args: argparse.Namespace) -> int:
    """Run ``together-billing check``; returns its exit code (0 or :data:`EXIT_FAILED`)."""
    if all(
        getattr(args, name) is None
        for name in ("max_total", "max_monthly", "min_runway", "max_idle")
    ):
        raise InvalidArgument(
            "limits", None, "at least one of --max-total, --max-monthly, --min-runway, --max-idle"
        )
    scenario = Scenario.from_file(args.scenario, catalog_dirs=getattr(args, "catalog_dir", ()))
    report = check_budget(
        scenario,
        max_total=args.max_total,
        max_monthly=args.max_monthly,
        min_runway=args.min_runway,
        max_idle=args.max_idle,
        stop_after_minutes=args.stop_after,
        name=str(args.scenario),
    )
    if args.format == "json":
        stream.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        stream.write(report.text() + "\n")
    return report.exit_code
