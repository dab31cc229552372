"""A picture of the credit balance over time (the ``plot`` extra: matplotlib).

:func:`balance_series` is the pure part: from a replay with an
:class:`~together_billing.Account` it takes the points where the balance line
bends, with their exact Decimal balances, so that straight lines between the
points are the exact balance at every instant. A continuous draw (a running
resource, CR1) lowers the balance linearly over the span it pays for, so the
span's start is a point at the balance before it; any other movement (a
purchase, a grant, a usage charge, an expiry) is a step at its instant. The
series is defined on the replay's ``[start, end]`` and is right-continuous: at an
instant with several movements, the balance is the one after all of them.

It also carries the marks a reader looks for: the instant the credits were first
exhausted (CR2), the credit alerts (CR6) and the lifecycle actions taken by the
credit rules (suspensions, pauses, decommissions, deletions, restorations,
purchases). :func:`plot_balance` draws all of it to a PNG with matplotlib,
imported only when a picture is asked for.

>>> from together_billing import Account, DedicatedEndpoint, Deploy, Purchase, Stop, simulate
>>> endpoint = DedicatedEndpoint("ep", model="m", hardware="1x_nvidia_h100_80gb_sxm")
>>> result = simulate(
...     [endpoint, Account(opening_balance=100, linked_card=True)],
...     [
...         Deploy("2025-11-03T09:00:00Z", "ep"),
...         Stop("2025-11-03T11:00:00Z", "ep"),
...         Purchase("2025-11-03T11:30:00Z", "account", amount=20),
...     ],
...     until="2025-11-03T12:00:00Z",
... )
>>> series = balance_series(result)
>>> [(point.at.format("HH:mm"), str(point.balance)) for point in series.points]
[('09:00', '100'), ('11:00', '92.02'), ('11:30', '92.02'), ('11:30', '112.02'), ('12:00', '112.02')]
>>> series.balance_at("2025-11-03T10:00:00Z")
Decimal('96.01')
>>> [str(entry.action) for entry in series.actions]
['account opened', 'credits purchased']
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import textwrap
from collections.abc import Sequence
from decimal import Context, Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
import pendulum

from together_billing._figures import chart_dollars, fixed
from together_billing.credits import LedgerEntry
from together_billing.errors import InvalidArgument, MissingDependency
from together_billing.invoice import Action, LogEntry, exhausted_at
from together_billing.money import EXACT_CONTEXT, to_decimal
from together_billing.time import from_micros, instant, to_micros

if TYPE_CHECKING:
    from together_billing.engine import SimulationResult

__all__ = ["BalancePoint", "BalanceSeries", "balance_series", "plot_balance"]

#: Wide enough that a difference of two ledger balances (50 digits each) times a span
#: in microseconds is exact; only the final quotient is rounded, to EXACT_CONTEXT.
_WIDE: Final = Context(prec=200)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The key under the chart: its font size in points and its most lines.
_KEY_FONT: Final = 7.0
_KEY_LINES: Final = 40


@attrs.frozen
class BalancePoint:
    """A vertex of the balance line: the exact ``balance`` at ``at_micros``."""

    at_micros: int
    balance: Decimal

    @property
    def at(self) -> pendulum.DateTime:
        return from_micros(self.at_micros)

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "balance": fixed(self.balance)}


@attrs.frozen(kw_only=True)
class BalanceSeries:
    """The credit balance of a replay as a polyline, with the marks worth showing.

    ``points`` are in time order, from the replay's start to its end; two points
    may share an instant (a step). ``floor`` is the credit floor of the replay's
    policies (P-FLOOR). ``exhaustion`` is the instant credits were first exhausted
    (CR2), or ``None``; ``alerts`` are the credit alerts (CR6) and ``actions`` the
    other log entries of the credit rules (CR1-CR8), both in log order.
    """

    points: tuple[BalancePoint, ...]
    floor: Decimal
    exhaustion: pendulum.DateTime | None
    alerts: tuple[LogEntry, ...]
    actions: tuple[LogEntry, ...]
    _times: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not self.points:
            raise InvalidArgument("points", self.points, "at least one point")
        times = tuple(point.at_micros for point in self.points)
        if any(later < earlier for earlier, later in itertools.pairwise(times)):
            raise InvalidArgument("points", self.points, "points in time order")
        object.__setattr__(self, "_times", times)

    @property
    def start(self) -> pendulum.DateTime:
        return self.points[0].at

    @property
    def end(self) -> pendulum.DateTime:
        return self.points[-1].at

    @property
    def final_balance(self) -> Decimal:
        return self.points[-1].balance

    def balance_at(self, at: object) -> Decimal:
        """The exact balance at ``at`` (an aware datetime or ISO 8601 string).

        Between two points the balance is interpolated linearly; at an instant with
        several points it is the last one (after every movement at that instant).
        Points are returned as stored; an interpolated value is carried to 50
        significant digits, like the ledger's own continuous draws.
        """
        when = to_micros(instant(at, field="at"))
        times = self._times
        if not times[0] <= when <= times[-1]:
            msg = (
                f"an instant within the replay, [{self.start.isoformat()}, {self.end.isoformat()}]"
            )
            raise InvalidArgument("at", at, msg)
        index = bisect.bisect_right(times, when) - 1
        before = self.points[index]
        if before.at_micros == when:
            return before.balance
        after = self.points[index + 1]
        # The product is exact in the wide context; the one rounding is the quotient's.
        change = _WIDE.multiply(
            _WIDE.subtract(after.balance, before.balance), Decimal(when - before.at_micros)
        )
        step = _WIDE.divide(change, Decimal(after.at_micros - before.at_micros))
        return EXACT_CONTEXT.plus(_WIDE.add(before.balance, step))

    def to_dict(self) -> dict[str, Any]:
        """The series as JSON-ready data; every amount is an exact decimal string."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "floor": fixed(self.floor),
            "final_balance": fixed(self.final_balance),
            "points": [point.to_dict() for point in self.points],
            "exhaustion": None if self.exhaustion is None else self.exhaustion.isoformat(),
            "alerts": [entry.to_dict() for entry in self.alerts],
            "actions": [entry.to_dict() for entry in self.actions],
        }


def _is_credit_rule(entry: LogEntry) -> bool:
    return entry.rule.startswith("CR")


def balance_series(result: SimulationResult) -> BalanceSeries:
    """The balance of ``result``'s account over its replay, as a :class:`BalanceSeries`.

    Raises :class:`~together_billing.InvalidArgument` (``field="result"``) when the
    replay has no :class:`~together_billing.Account`: without one there is no
    balance to draw.
    """
    if result.balance is None:
        raise InvalidArgument(
            "result",
            result,
            "the result of a replay with an Account among its resources "
            "(a balance series needs the account's credit ledger)",
        )
    log = result.log
    opened = [entry.at for entry in log if entry.action is Action.ACCOUNT_OPENED]
    ledger = result.ledger
    # The account opens at the replay's start; the ledger's first movement is a fallback.
    if opened:
        start = to_micros(opened[0])
    elif ledger:
        start = ledger[0].at_micros
    else:
        start = to_micros(result.invoices[0].period.start)
    end = to_micros(result.state.at)

    points = _polyline(ledger, start, end, result.balance)
    # Right-continuous from the start: the balance there is the one after its movements.
    first = bisect.bisect_right([point.at_micros for point in points], start) - 1
    points = points[max(first, 0) :]

    return BalanceSeries(
        points=tuple(points),
        floor=result.credit_floor,
        exhaustion=exhausted_at(log),
        alerts=tuple(e for e in log if _is_credit_rule(e) and e.action is Action.ALERT),
        actions=tuple(e for e in log if _is_credit_rule(e) and e.action is not Action.ALERT),
    )


def _polyline(
    ledger: Sequence[LedgerEntry], start: int, end: int, final: Decimal
) -> list[BalancePoint]:
    """The balance as a polyline: each continuous draw spread evenly over the span it pays
    for (``since`` to ``at``), every other movement a step at its instant.

    Draws are booked when a resource's rate changes, so their spans overlap; the balance
    at an instant is the sum of every movement's part up to it, not the ledger's running
    balance. One pass over the instants where a slope or a step changes; the last point
    is ``final``, the replay's balance.
    """
    steps: dict[int, Fraction] = {}
    slopes: dict[int, Fraction] = {}
    for entry in ledger:
        since = entry.since_micros
        amount = Fraction(entry.amount)
        if since is not None and since < entry.at_micros:
            slope = amount / (entry.at_micros - since)
            slopes[since] = slopes.get(since, Fraction(0)) + slope
            slopes[entry.at_micros] = slopes.get(entry.at_micros, Fraction(0)) - slope
        else:
            steps[entry.at_micros] = steps.get(entry.at_micros, Fraction(0)) + amount
    times = sorted({start, end, *steps, *slopes})
    points: list[BalancePoint] = []
    value = Fraction(0)
    slope = Fraction(0)
    previous = times[0]
    for at in times:
        value += slope * (at - previous)
        step = steps.get(at)
        if step is not None:
            points.append(BalancePoint(at, _decimal(value)))
            value += step
        points.append(BalancePoint(at, final if at == end else _decimal(value)))
        slope += slopes.get(at, Fraction(0))
        previous = at
    return points


def _decimal(value: Fraction) -> Decimal:
    """An exact fraction as a decimal: exact where it terminates, else to 50 digits."""
    return EXACT_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def _x(micros: int) -> float:
    """matplotlib's date number of an instant (days since its configured epoch)."""
    from matplotlib import dates  # noqa: PLC0415 - imported by plot_balance already

    moment = _EPOCH + dt.timedelta(microseconds=micros)
    return float(dates.date2num(moment))  # type: ignore[no-untyped-call]


def _label(entry: LogEntry) -> str:
    if entry.resource in {"", "account"}:
        return str(entry.action)
    return f"{entry.resource}: {entry.action}"


def _key(actions: Sequence[LogEntry]) -> list[tuple[int, list[str]]]:
    """Short labels of the actions, grouped by instant, in time order.

    A resource's action that repeats its previous one (requests refused again and
    again) is not labelled again.
    """
    last: dict[str, str] = {}
    grouped: dict[int, list[str]] = {}
    for entry in actions:
        if last.get(entry.resource) == entry.action:
            continue
        last[entry.resource] = entry.action
        labels = grouped.setdefault(to_micros(entry.at), [])
        if _label(entry) not in labels:
            labels.append(_label(entry))
    return sorted(grouped.items())


def _key_lines(key: Sequence[tuple[int, list[str]]], width: float) -> list[str]:
    """The key's text, wrapped to the figure's width, at most ``_KEY_LINES`` lines."""
    # A monospace character is 0.6 em wide; the axes' margins take about 1.5 inches.
    columns = max(40, int((width - 1.5) * 72 / (_KEY_FONT * 0.6)))
    lines: list[str] = []
    for number, (micros, labels) in enumerate(key, start=1):
        head = f"{number:>2}  {from_micros(micros).format('YYYY-MM-DD HH:mm')}  "
        lines.extend(
            textwrap.wrap(
                "; ".join(labels),
                width=columns,
                initial_indent=head,
                subsequent_indent=" " * len(head),
            )
        )
    if len(lines) > _KEY_LINES:
        hidden = len(lines) - _KEY_LINES + 1
        lines = [*lines[: _KEY_LINES - 1], f"... {hidden} more lines: see balance_series().actions"]
    return lines


def plot_balance(
    result: SimulationResult,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    floor: object = None,
    width: float = 10,
    height: float = 5,
    dpi: int = 100,
) -> Path:
    """Draw the credit balance of ``result`` to a PNG at ``path``; return the path.

    The line is :func:`balance_series`. The first exhaustion (CR2) is a vertical
    line; alerts (CR6) are triangles; the credit rules' other actions are numbered
    circles, explained in a key under the chart (one number per instant). The
    credit floor (the policies' P-FLOOR, unless ``floor`` is given) is a dashed
    line. ``width`` and ``height`` are the chart's size in inches; the key adds to
    the height. The same result gives the same bytes: no software version is
    written into the PNG.

    Needs matplotlib (``pip install 'together-billing[plot]'``); without it this
    raises :class:`~together_billing.errors.MissingDependency`.
    """
    series = balance_series(result)
    level = series.floor if floor is None else to_decimal(floor, field="floor")
    try:
        import matplotlib as mpl  # noqa: F401, PLC0415 - only a picture needs matplotlib
    except ImportError as error:
        raise MissingDependency("matplotlib", needed_by="plot_balance", extra="plot") from error
    # The Agg canvas on a bare Figure: no pyplot, no global state, no screen.
    from matplotlib import dates  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    key = _key(series.actions)
    lines = _key_lines(key, width)
    extra = 0.25 + len(lines) * _KEY_FONT * 1.45 / 72 if lines else 0.0
    figure = Figure(figsize=(width, height + extra), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    if lines:
        axes, notes = figure.subplots(2, 1, height_ratios=[height, extra])
        notes.axis("off")
        notes.text(
            0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=_KEY_FONT
        )
    else:
        axes = figure.add_subplot()

    xs = [_x(point.at_micros) for point in series.points]
    axes.plot(
        xs,
        [float(point.balance) for point in series.points],
        color="#1f5fa8",
        lw=1.6,
        label="credit balance",
    )
    axes.axhline(
        float(level), color="#7f7f7f", ls="--", lw=1, label=f"credit floor ({chart_dollars(level)})"
    )
    if series.exhaustion is not None:
        moment = _x(to_micros(series.exhaustion))
        axes.axvline(moment, color="#c0392b", lw=1.2, label="credits exhausted")
        axes.annotate(
            f"credits exhausted\n{series.exhaustion.format('YYYY-MM-DD HH:mm')} UTC",
            xy=(moment, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -4),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7,
            color="#c0392b",
        )
    if series.alerts:
        axes.plot(
            [_x(to_micros(entry.at)) for entry in series.alerts],
            [float(series.balance_at(entry.at)) for entry in series.alerts],
            ls="none",
            marker="v",
            ms=7,
            color="#e67e22",
            label="alert (CR6)",
        )
    if key:
        spots = [(_x(micros), float(series.balance_at(from_micros(micros)))) for micros, _ in key]
        axes.plot(
            [x for x, _ in spots],
            [y for _, y in spots],
            ls="none",
            marker="o",
            ms=4.5,
            mfc="white",
            color="#2c3e50",
            label="credit rule action (see key)",
        )
        for number, (x, y) in enumerate(spots, start=1):
            # Two heights in turn, so the numbers of near instants do not overlap.
            axes.annotate(
                str(number),
                xy=(x, y),
                xytext=(0, 7 if number % 2 else 17),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                color="#2c3e50",
            )

    locator = dates.AutoDateLocator(tz=dt.UTC)  # type: ignore[no-untyped-call]
    formatter = dates.ConciseDateFormatter(locator, tz=dt.UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(formatter)
    axes.yaxis.set_major_formatter(FuncFormatter(chart_dollars))
    axes.set_xlim(xs[0], xs[-1])
    axes.margins(y=0.12)
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("balance (USD)")
    axes.grid(visible=True, color="#e5e5e5", lw=0.6)
    if title is None:
        span = f"{series.start.format('YYYY-MM-DD')} to {series.end.format('YYYY-MM-DD')}"
        title = f"Credit balance, {span}"
    axes.set_title(title)
    axes.legend(loc="best", fontsize=8)

    target = Path(path)
    figure.savefig(target, format="png", metadata={"Software": None})
    return target
