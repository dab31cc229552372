"""The ``together-billing`` command.

``together-billing simulate SCENARIO`` replays a scenario file and prints its
invoices as a table, or as JSON with ``--format json`` (schema in
``docs/cli.md``; amounts are decimal strings). ``forecast`` projects the open
period's bill and the credit runway (``--plot`` draws the balance), ``explain``
derives every line (``--idle``: the idle-charge report) and ``compare`` diffs two
scenarios or a scenario and a fork of it. ``together-billing schema`` prints the
scenario format's JSON Schema; ``together-billing catalog`` lists the bundled
price catalog with its sources (``--format yaml`` writes it as a catalog file that
loads back, to pin a test suite's prices). ``together-billing check`` is the budget
gate for CI (see :mod:`together_billing.gate`).

A real account (``docs/real-bill.md``): ``catalog pull`` reads live prices from
Together's API (or ``--from-json`` saved responses) and writes a catalog file,
``usage pull`` saves a month's usage report, and ``reconcile SCENARIO --usage
REPORT.json`` compares a replay with the report window by window.

Exit codes: 0 success, 2 invalid input (usage, scenario or timeline), 1 any
other billing error, 3 ``reconcile`` found differences beyond the tolerance or a budget
limit of ``check`` is broken.

Start-up is kept cheap (``together-billing --help`` imports neither pydantic, YAML
nor the engine): at module level this file imports only the standard library,
``_text`` and ``errors``. Each command is one function, ``_name(stream, args)``,
whose first lines import the machinery it needs (``# noqa: PLC0415 - lazy``);
``_run`` dispatches to it, ``main`` turns errors into exit codes. A new command
follows the same pattern: a ``_name_parser(commands)`` and a ``_name(stream, args)``.

A command writes plain text (or data) to ``stream``; ``_output.output`` decides what
becomes of it: unchanged in pipes and files, fitted to ``--width`` or the terminal,
coloured on a terminal (``docs/cli.md``, "On a terminal").
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from together_billing._text import columns
from together_billing.errors import (
    BillingError,
    InvalidArgument,
    InvalidScenario,
    InvalidTimeline,
    UnknownPrice,
    shown,
)

# typing.TYPE_CHECKING without importing typing, which would cost start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TextIO

    from together_billing.catalog import Catalog
    from together_billing.engine import SimulationResult
    from together_billing.invoice import Invoice, LogEntry
    from together_billing.scenario import Scenario

__all__ = ["main"]


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, sized as argparse does but without importing shutil.

    shutil (and the compression modules it loads) is a tenth of ``--help``'s start-up.
    """

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, width=max(columns, 40) - 2)


class _Parser(argparse.ArgumentParser):
    """A parser with that help layout (argparse formats arguments as they are added)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="together-billing",
        description="Replay Together AI usage timelines into invoices, deterministically.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    parser_class: type[argparse.ArgumentParser] = _Parser
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=parser_class
    )
    simulate = commands.add_parser("simulate", help="replay a scenario and print its invoices")
    simulate.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    simulate.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format"
    )
    simulate.add_argument(
        "--until",
        help="replay only up to this instant (ISO 8601 with offset): a draft invoice (IN4)",
    )
    _catalog_dir_option(simulate)
    _forecast_parser(commands)
    _explain_parser(commands)
    _compare_parser(commands)
    _export_parser(commands)
    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    catalog = commands.add_parser("catalog", help="list the bundled price catalog")
    catalog.add_argument(
        "--format",
        choices=("table", "json", "yaml"),
        default="table",
        help="yaml: a catalog file that --billing-catalog and scenario files load back",
    )
    _account_parsers(commands, catalog)
    _check_parser(commands)
    for command in commands.choices.values():
        command.add_argument(
            "--width",
            type=int,
            metavar="COLUMNS",
            help="fit tables to this many columns (default: the terminal's width on a "
            "terminal, no limit in a pipe or file)",
        )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    from together_billing._output import output  # noqa: PLC0415 - not needed for --help

    try:
        with output(args, out) as stream:
            code = _run(stream, args)
    except InvalidTimeline as error:
        from together_billing.scenario import event_location  # noqa: PLC0415 - errors only

        where = event_location(error.event, error.field)
        prefix = f"{where}: " if where else ""
        print(f"together-billing: error: {prefix}{error}", file=sys.stderr)
        return 2
    except (InvalidScenario, InvalidArgument) as error:
        print(f"together-billing: error: {error}", file=sys.stderr)
        return 2
    except BillingError as error:
        print(f"together-billing: error: {error}", file=sys.stderr)
        return 1
    except (RecursionError, MemoryError) as error:
        # A limit of the machine, not of the input's validity: say which, never a traceback.
        print(f"together-billing: error: out of {_RESOURCE[type(error)]}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say, and nothing to report.
        # Python's recipe: point stdout at devnull so the flush at exit does not fail.
        import contextlib  # noqa: PLC0415 - this path only

        with contextlib.suppress(OSError, ValueError):  # a stream without a file (tests)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # the last resort: no traceback reaches a user
        print(
            f"together-billing: internal error ({type(error).__name__}): {shown(str(error))}; "
            "please report it with the input that caused it",
            file=sys.stderr,
        )
        return 70

    return code


_PERIOD: Final = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_RESOURCE: Final = {
    RecursionError: "stack depth (the input nests or chains too deeply)",
    MemoryError: "memory (the input asks for more than this machine has)",
}


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked for (the package
    metadata machinery is not loaded to print ``--help`` or to run a command)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.exit(message=f"{parser.prog} {_version()}\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - --version only

    try:
        return version("together-billing")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        return "unknown (not installed)"


def _run(stream: TextIO, args: argparse.Namespace) -> int:
    """Run the command, which writes plain text (or data) to ``stream``; the exit code.

    A command that has an exit code of its own (a gate) returns it from its branch.
    """
    if args.command == "schema":
        _schema(stream, args)
    elif args.command == "catalog" and args.action == "pull":
        _catalog_pull(stream, args)
    elif args.command == "catalog" and args.format == "yaml":
        _catalog_yaml(stream, args)
    elif args.command == "catalog":
        _print_catalog(stream, args.format)
    elif args.command == "check":
        return _check(stream, args)
    elif args.command == "usage" and args.action == "forecast":
        _usage_forecast(stream, args)
    elif args.command == "usage":
        _usage_pull(stream, args)
    elif args.command == "reconcile":
        return _reconcile(stream, args)
    elif args.command == "forecast":
        _forecast(stream, args)
    elif args.command == "explain":
        _explain(stream, args)
    elif args.command == "compare":
        _compare(stream, args)
    elif args.command == "export":
        _export(stream, args)
    else:
        _simulate(stream, args)
    return 0


def _stage(text: str) -> None:
    """Show what the command is doing on the terminal's progress line, if there is one."""
    from together_billing._output import stage as show  # noqa: PLC0415 - lazy

    show(text)


def _load(path: str, args: argparse.Namespace) -> Scenario:
    """Read a scenario file (a command's first stage), its catalog files found in the
    folders ``--catalog-dir`` allows besides the scenario's own."""
    from together_billing.scenario import Scenario  # noqa: PLC0415 - lazy

    _stage(f"reading {path}")
    return Scenario.from_file(path, catalog_dirs=getattr(args, "catalog_dir", None) or ())


def _simulate(stream: TextIO, args: argparse.Namespace) -> None:
    scenario = _load(args.scenario, args)
    _stage(f"replaying {len(scenario.events)} event(s)")
    result = scenario.run(until=args.until)
    if args.format == "json":
        _write_json(stream, result.to_dict())
    else:
        stream.write(render_table(result))


def _schema(stream: TextIO, args: argparse.Namespace) -> None:
    from together_billing.scenario import ScenarioDoc  # noqa: PLC0415 - lazy

    _write_json(stream, ScenarioDoc.model_json_schema())


def _invoice_table(invoice: Invoice, *, credits: bool = False) -> list[str]:
    header = (
        f"Invoice {invoice.period.label} ({invoice.status.value}, as of "
        f"{invoice.as_of.isoformat()})"
    )
    out = [header, "=" * len(header)]
    if not invoice.lines:
        out.append("  no charges")
    else:
        rows = [["resource", "category", "rule", "description", "quantity", "rate", "amount"]]
        for line in invoice.lines:
            mark = " *" if line.estimated else ""
            rows.append(
                [
                    line.resource,
                    line.category.value,
                    line.rule,
                    line.description,
                    f"{line.quantity} {line.unit}",
                    f"{line.rate} {line.rate_unit}{mark}",
                    f"${line.amount}",
                ]
            )
        out.extend(columns(rows, right={4, 6}))
        out.append("")
        for category, money in invoice.subtotals().items():
            out.append(f"  {category.value} ({category.group}): ${money.amount}")
    out.append(f"  TOTAL: ${invoice.total.amount}")
    if credits:
        out.append(f"  credits applied: ${invoice.credits_applied.amount}")
        out.append(f"  AMOUNT DUE: ${invoice.amount_due.amount}")
    return out


def render_table(result: SimulationResult) -> str:
    """The result as plain-text tables: one per invoice, then the action log."""
    from together_billing._figures import cents, dollars  # noqa: PLC0415 - lazy

    out: list[str] = []
    credits = result.credits
    for invoice in result.invoices:
        out.extend(_invoice_table(invoice, credits=credits is not None))
        out.append("")
    if any(line.estimated for line in result.lines):
        out.append("* priced from an estimate or a third-party figure, not Together's own material")
        out.append("")
    out.append(f"Total over {len(result.invoices)} period(s): ${result.total.amount}")
    if credits is not None:
        out.append("")
        settled = " + settled" if "settled" in credits else ""
        out.append(f"Credits (purchased + granted{settled} = consumed + expired + remaining)")
        mode = result.policies.rounding
        rows = [[name, dollars(cents(value, mode))] for name, value in credits.items()]
        out.extend(columns(rows, right={1}))
    if result.log:
        out.append("")
        out.append("Log")
        rows = [["at", "resource", "action", "rule", "detail"]]
        rows.extend(
            [entry.at.isoformat(), entry.resource or "-", entry.action, entry.rule, entry.detail]
            for entry in result.log
        )
        out.extend(columns(rows, keep={0}))
    return "\n".join(out) + "\n"


def _print_catalog(stream: TextIO, fmt: str, catalog: Catalog | None = None) -> None:
    from together_billing.catalog import default_catalog  # noqa: PLC0415 - lazy

    entries = (catalog if catalog is not None else default_catalog()).entries
    rows = [["key", "effective_from", "rates", "source"]]
    data = []
    for entry in entries:
        fields = {
            name: str(value)
            for name in (
                "input",
                "cached_input",
                "output",
                "per_hour",
                "per_1m_tokens",
                "per_gpu_hour",
                "per_tib_hour",
            )
            if (value := getattr(entry, name, None)) is not None
        }
        rates = ", ".join(f"{k}={v}" for k, v in fields.items())
        rows.append(
            [" ".join(entry.key), entry.effective_from.isoformat(), rates, entry.source.describe()]
        )
        data.append(
            {
                "key": list(entry.key),
                "effective_from": entry.effective_from.isoformat(),
                "rates": fields,
                "source": entry.source.url,
                "source_date": entry.source.date,
                "source_kind": entry.source.kind.value,
                "note": entry.source.note,
            }
        )
    if fmt == "json":
        _write_json(stream, data)
    else:
        stream.write("\n".join(columns(rows, keep={1})) + "\n")


# -- forecast, explain, compare ----------------------------------------------------------------


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format"
    )
    _catalog_dir_option(parser)


def _catalog_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also let the scenario's catalog.files name files in DIR (by default only files "
        "in the scenario's own folder are read)",
    )


def _forecast_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "forecast", help="project the open period's bill, the next ones and the credit runway"
    )
    parser.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    parser.add_argument(
        "--at", help="where history ends and the forecast starts (default: the scenario's until)"
    )
    parser.add_argument(
        "--until", help="where the forecast ends (default: the end of the open period)"
    )
    parser.add_argument(
        "--steady",
        action="store_true",
        help="assume the use of a window of history goes on at the same rate",
    )
    parser.add_argument(
        "--window-days", type=int, default=7, help="with --steady: the window (default 7 days)"
    )
    parser.add_argument(
        "--step-minutes",
        type=int,
        default=60,
        help="with --steady: one assumed record per this many minutes (default 60)",
    )
    parser.add_argument("--plot", metavar="PNG", help="draw the credit balance to this PNG file")
    _format_option(parser)


def _explain_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "explain", help="why each line was charged; --idle: charges accrued without requests"
    )
    parser.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    parser.add_argument("--resource", help="only this resource's lines")
    parser.add_argument("--period", help="only this period's lines (YYYY-MM)")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="the idle-charge report instead: hosting and endpoint charges without requests",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=60,
        metavar="MINUTES",
        help="with --idle: the saving had each deployment stopped after this idle time",
    )
    _format_option(parser)


def _compare_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "compare", help="diff two scenarios, or a scenario and a fork of it, line by line"
    )
    parser.add_argument("scenario", help="the base scenario file")
    parser.add_argument("other", nargs="?", help="a second scenario file to compare with")
    parser.add_argument("--at", help="fork the base scenario at this instant")
    parser.add_argument(
        "--stop", action="append", default=[], metavar="RESOURCE", help="fork: stop a deployment"
    )
    parser.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="RESOURCE=REPLICAS",
        help="fork: set a deployment's replicas (0 scales to zero)",
    )
    parser.add_argument(
        "--move",
        action="append",
        default=[],
        metavar="RESOURCE=MODEL:INPUT:OUTPUT",
        help="fork: stop a deployment and send each later request to serverless MODEL as "
        "INPUT + OUTPUT tokens",
    )
    _format_option(parser)


def _write_json(stream: TextIO, data: object) -> None:
    import json  # noqa: PLC0415 - lazy

    stream.write(json.dumps(data, indent=2) + "\n")


def _forecast(stream: TextIO, args: argparse.Namespace, scenario: Scenario | None = None) -> None:
    from together_billing._figures import cents, dollars  # noqa: PLC0415 - lazy
    from together_billing.forecast import SteadyUsage, forecast  # noqa: PLC0415 - lazy

    if scenario is None:
        scenario = _load(args.scenario, args)
    _stage("replaying the history and the assumed future")
    assume = None
    if args.steady:
        assume = SteadyUsage(window_days=args.window_days, step_minutes=args.step_minutes)
    outlook = forecast(scenario, at=args.at, until=args.until, assume=assume)
    if args.plot:
        from pathlib import Path  # noqa: PLC0415 - lazy

        from together_billing.plot import plot_balance  # noqa: PLC0415 - needs matplotlib

        try:
            plot_balance(outlook.result, Path(args.plot), title=scenario.name or None)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise InvalidArgument("--plot", args.plot, f"a writable PNG path ({reason})") from None
    if args.format == "json":
        _write_json(stream, outlook.to_dict())
        return
    starts = "" if args.at else " (the scenario's until; --at starts it elsewhere)"
    ends = "" if args.until else " (the end of the open period; --until to change)"
    out = [
        f"Forecast from {outlook.at.isoformat()}{starts}",
        f"  to {outlook.until.isoformat()}{ends}",
        f"  assumed: {_assumption(args, len(outlook.assumed))}",
        "",
    ]
    credits = outlook.runway is not None
    for invoice in outlook.invoices:
        table = _invoice_table(invoice, credits=credits)
        # A forecast's invoices are projections, whatever their period's status would be.
        table[0] = f"Projected invoice {invoice.period.label} (as of {invoice.as_of.isoformat()})"
        table[1] = "=" * len(table[0])
        out.extend(table)
        out.append("")
    runway = outlook.runway
    mode = outlook.result.policies.rounding
    if runway is not None:
        out.append("Runway")
        out.append(f"  balance at start: {dollars(cents(runway.balance_at_start, mode))}")
        if runway.already_exhausted:
            out.append("  credits were already exhausted at the start")
        if runway.zero_at is not None and runway.zero_at != runway.exhausted_at:
            since = runway.zero_at - runway.start
            out.append(
                f"  balance reaches $0.00 at {runway.zero_at.isoformat()} "
                f"({_duration(since)} from the start); the floor allows more"
            )
        if runway.exhausted_at is None:
            out.append(f"  credits last to the end, {runway.end.isoformat()}")
        else:
            again = " again" if runway.already_exhausted else ""
            since = runway.exhausted_at - runway.start
            out.append(
                f"  credits run out{again} at {runway.exhausted_at.isoformat()} "
                f"({_duration(since)} from the start)"
            )
        out.append(f"  balance at end: {dollars(cents(runway.balance_at_end, mode))}")
        out.append("")
    out.append("Alerts and actions after the start")
    if outlook.log:
        rows = [["at", "resource", "action", "rule", "detail"]]
        rows.extend(_folded(outlook.log))
        out.extend(columns(rows, keep={0}))
    else:
        out.append("  none")
    stream.write("\n".join(out) + "\n")


def _folded(log: Sequence[LogEntry]) -> list[list[str]]:
    """Log rows, with the refused requests of each resource shown once.

    After credits run out, a steady forecast's use is refused hour after hour; each
    resource's refusals become one row, at the first, saying how many and until when.
    """
    from together_billing.invoice import Action  # noqa: PLC0415 - lazy

    refused: dict[tuple[str, str], list[LogEntry]] = {}
    for entry in log:
        if entry.action is Action.REQUESTS_REFUSED:
            refused.setdefault((entry.resource, entry.rule), []).append(entry)
    rows: list[list[str]] = []
    for entry in log:
        detail = entry.detail
        if entry.action is Action.REQUESTS_REFUSED:
            run = refused[(entry.resource, entry.rule)]
            if entry is not run[0]:
                continue
            if len(run) > 1:
                detail = f"{len(run)} times until {run[-1].at.isoformat()}: {detail}"
        rows.append([entry.at.isoformat(), entry.resource or "-", entry.action, entry.rule, detail])
    return rows


def _assumption(args: argparse.Namespace, count: int) -> str:
    if args.steady:
        return (
            f"the use of the {args.window_days} days before the start, at the same rate "
            f"({count} event(s), one per {args.step_minutes} minutes)"
        )
    return "nothing more than the scenario's own events (deployments left running keep billing)"


def _duration(value: object) -> str:
    import pendulum  # noqa: PLC0415

    assert isinstance(value, pendulum.Duration)
    total = int(value.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    return f"{days} d {hours} h {rest // 60} min"


def _explain(stream: TextIO, args: argparse.Namespace) -> None:
    from together_billing.explain import explain_all, idle_report  # noqa: PLC0415 - lazy

    scenario = _load(args.scenario, args)
    _stage(f"replaying {len(scenario.events)} event(s)")
    result = scenario.run()
    _stage("explaining")
    if args.idle:
        report = idle_report(scenario, result, stop_after_minutes=args.stop_after)
        if args.format == "json":
            _write_json(stream, report.to_dict())
        else:
            stream.write(report.text() + "\n")
        return
    if args.resource is not None:
        scenario.resource(args.resource)  # an unknown resource is an error, listing the known
    if args.period is not None and not _PERIOD.fullmatch(args.period):
        raise InvalidArgument("--period", args.period, "a month as YYYY-MM, e.g. 2025-11")
    explanations = [
        explanation
        for explanation in explain_all(scenario, result)
        if (args.resource is None or explanation.line.resource == args.resource)
        and (args.period is None or explanation.period.label == args.period)
    ]
    if args.format == "json":
        _write_json(
            stream,
            {"schema_version": 1, "explanations": [e.to_dict() for e in explanations]},
        )
        return
    if not explanations:
        stream.write("no lines match\n")
        return
    stream.write("\n\n".join(e.text() for e in explanations) + "\n")


def _compare(stream: TextIO, args: argparse.Namespace) -> None:
    from together_billing import compare as what_if  # noqa: PLC0415 - lazy

    base = _load(args.scenario, args)
    forked = args.at is not None or args.stop or args.scale or args.move
    if args.other is not None and forked:
        raise InvalidArgument("other", args.other, "either a second scenario or fork options")
    if args.other is not None:
        other = _load(args.other, args)
    elif forked:
        if args.at is None:
            raise InvalidArgument("--at", None, "the instant to fork at (ISO 8601 with offset)")
        changes: list[what_if.Change] = [what_if.StopResource(r) for r in args.stop]
        for text in args.scale:
            resource, _, replicas = text.partition("=")
            if not replicas.isdigit():
                raise InvalidArgument("--scale", text, "RESOURCE=REPLICAS, e.g. my-endpoint=0")
            changes.append(what_if.ScaleTo(resource, int(replicas)))
        for text in args.move:
            resource, _, spec = text.partition("=")
            model, _, tokens = spec.partition(":")
            inputs, _, outputs = tokens.partition(":")
            if not (model and inputs.isdigit() and outputs.isdigit()):
                raise InvalidArgument(
                    "--move",
                    text,
                    "RESOURCE=MODEL:INPUT:OUTPUT, e.g. ep=openai/gpt-oss-20b:800:200",
                )
            changes.append(what_if.MoveToServerless(resource, model, int(inputs), int(outputs)))
        try:
            other = what_if.fork(base, args.at, *changes)
        except UnknownPrice as error:
            # An option names what the catalog does not know: the user's input, exit 2.
            raise InvalidArgument(error.field, error.value, error.expected) from None
    else:
        raise InvalidArgument("other", None, "a second scenario file, or --at with fork options")
    _stage("replaying both and comparing")
    comparison = what_if.compare(base, other)
    if args.format == "json":
        _write_json(stream, comparison.to_dict())
    else:
        stream.write(comparison.text())


# -- export --------------------------------------------------------------------------------------


def _export_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "export", help="write every invoice line as FOCUS 1.2 rows (CSV) for cost tools"
    )
    parser.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    parser.add_argument(
        "--format",
        choices=("focus",),
        required=True,
        help="focus: FinOps FOCUS 1.2 CostAndUsage rows as CSV",
    )
    parser.add_argument("--until", help="replay only up to this instant (ISO 8601 with offset)")
    parser.add_argument("--output", metavar="CSV", help="write to this file (default: stdout)")
    parser.add_argument(
        "--account-id",
        help="BillingAccountId of every row (default: the scenario's file name, no suffix)",
    )
    parser.add_argument(
        "--account-name", help="BillingAccountName (default: the scenario's name, else the id)"
    )
    _catalog_dir_option(parser)


def _export(stream: TextIO, args: argparse.Namespace) -> None:
    import io  # noqa: PLC0415 - lazy
    from pathlib import Path  # noqa: PLC0415 - lazy

    from together_billing.focus import focus_rows, write_focus_csv  # noqa: PLC0415 - lazy

    scenario = _load(args.scenario, args)
    _stage(f"replaying {len(scenario.events)} event(s)")
    result = scenario.run(until=args.until)
    account = args.account_id or Path(args.scenario).stem
    name = args.account_name or scenario.name or account
    rows = focus_rows(result, billing_account_id=account, billing_account_name=name)
    if args.output is None:
        write_focus_csv(rows, stream)
        return
    text = io.StringIO()
    write_focus_csv(rows, text)
    try:
        Path(args.output).write_text(text.getvalue(), encoding="utf-8", newline="")
    except OSError as error:
        raise InvalidArgument(
            "--output", args.output, f"a writable file path ({error.strerror})"
        ) from None


# -- a real account: catalog pull, usage pull, reconcile --------------------------------------

#: The exit code of ``reconcile`` when a row exceeds the tolerance (a CI gate).
EXIT_RECONCILE_EXCEEDED = 3


def _account_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    catalog: argparse.ArgumentParser,
) -> None:
    actions = catalog.add_subparsers(dest="action", metavar="ACTION")
    pull = actions.add_parser(
        "pull", help="read live prices from Together's API (needs TOGETHER_API_KEY)"
    )
    pull.add_argument("--out", metavar="FILE", help="write a catalog file scenarios load")
    pull.add_argument(
        "--from-json", metavar="RESPONSES", help="read saved responses instead of the API"
    )
    pull.add_argument(
        "--save-responses", metavar="FILE", help="also save the raw responses as JSON"
    )
    _format_option(pull)

    usage = commands.add_parser("usage", help="the real usage report of your account")
    usage_actions = usage.add_subparsers(dest="action", metavar="ACTION", required=True)
    usage_pull = usage_actions.add_parser(
        "pull", help="save a month's usage report (needs TOGETHER_API_KEY)"
    )
    usage_pull.add_argument("--month", required=True, help="the billing month, YYYY-MM")
    usage_pull.add_argument("--granularity", choices=("day", "hour"), default="day")
    usage_pull.add_argument(
        "--out", metavar="FILE", help="write the report here (default: print it)"
    )
    usage_pull.add_argument(
        "--from-json", metavar="REPORT", help="read a saved report instead of the API"
    )
    usage_forecast = usage_actions.add_parser(
        "forecast",
        help="forecast from a saved report's last days: when will the credits run out?",
    )
    usage_forecast.add_argument("report", help="a report saved by `usage pull`")
    usage_forecast.add_argument(
        "--days", type=int, default=7, help="the report's last N days of use (default 7)"
    )
    usage_forecast.add_argument(
        "--balance", help="your credit balance at the report's end, USD (default: no account)"
    )
    usage_forecast.add_argument(
        "--edition",
        choices=("2025-11", "2026"),
        default="2026",
        help="the rules in force (default 2026: fully prepaid)",
    )
    usage_forecast.add_argument(
        "--until", help="where the forecast ends (default: the end of the open period)"
    )
    usage_forecast.add_argument(
        "--step-minutes", type=int, default=60, help="one assumed record per this many minutes"
    )
    usage_forecast.add_argument("--plot", metavar="PNG", help="draw the credit balance")
    _format_option(usage_forecast)

    reconcile = commands.add_parser(
        "reconcile", help="compare a scenario's replay with the real usage report"
    )
    reconcile.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    reconcile.add_argument(
        "--usage", required=True, metavar="REPORT", help="a report saved by `usage pull`"
    )
    reconcile.add_argument(
        "--tolerance",
        default="0.01",
        help="USD a row's costs may differ by and still match (default 0.01)",
    )
    reconcile.add_argument(
        "--quantity-tolerance",
        default="0",
        help="how much a row's quantities may differ by, in the product's unit (default 0)",
    )
    reconcile.add_argument("--all", action="store_true", help="table: list matched rows too")
    _format_option(reconcile)


def _catalog_pull(stream: TextIO, args: argparse.Namespace) -> None:
    import json  # noqa: PLC0415 - lazy

    from together_billing import together_api  # noqa: PLC0415 - lazy: the SDK is optional

    if args.from_json:
        pulled = together_api.load_catalog(args.from_json)
    else:
        client = together_api.connect(needed_by="together-billing catalog pull")
        pulled = together_api.pull_catalog(client)
    if args.out:
        pulled.write(args.out)
    if args.save_responses:
        pulled.write_responses(args.save_responses)
    if args.format == "json":
        document = {"read_at": pulled.read_at.isoformat(), **pulled.to_document()}
        stream.write(json.dumps(document, indent=2, default=_decimal_text) + "\n")
        return
    _print_catalog(stream, "table", pulled.catalog)
    stream.write(f"\nread at {pulled.read_at.isoformat()}: {len(pulled.catalog)} prices\n")
    for model in pulled.deprecated:
        stream.write(f"deprecated: {model}\n")
    for model, reason in pulled.skipped:
        stream.write(f"skipped: {model} ({reason})\n")
    if args.out:
        stream.write(f"wrote {args.out}: add it to a scenario with catalog: {{files: [...]}}\n")


def _decimal_text(value: object) -> str:
    """JSON output carries amounts and rates as decimal strings, never floats."""
    from decimal import Decimal  # noqa: PLC0415 - lazy

    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _usage_pull(stream: TextIO, args: argparse.Namespace) -> None:
    from decimal import Decimal  # noqa: PLC0415 - lazy
    from pathlib import Path  # noqa: PLC0415 - lazy

    from together_billing import together_api  # noqa: PLC0415 - lazy: the SDK is optional
    from together_billing._figures import dollars  # noqa: PLC0415 - lazy
    from together_billing._responses import dumps  # noqa: PLC0415 - lazy
    from together_billing.usage import UsageReport  # noqa: PLC0415 - lazy

    if args.from_json:
        report = UsageReport.from_file(args.from_json)
    else:
        client = together_api.connect(needed_by="together-billing usage pull")
        report = together_api.pull_usage(client, month=args.month, granularity=args.granularity)
    if not args.out:
        stream.write(dumps(report.to_data()))
        return
    try:
        Path(args.out).write_text(dumps(report.to_data()), encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidArgument("--out", args.out, f"a writable file path ({reason})") from None
    open_windows = sum(1 for window in report.windows if not window.final)
    stream.write(
        f"wrote {args.out}: {len(report.windows)} {report.granularity.value} windows, "
        f"{len(report.rows)} rows, {dollars(report.total)} in all\n"
    )
    if open_windows:
        stream.write(f"{open_windows} window(s) not final yet (the month is still open)\n")
    unknown = report.unknown
    if unknown:
        names = sorted({row.product_name for row in unknown})
        total = sum((row.cost for row in unknown), Decimal(0))
        stream.write(
            f"{len(unknown)} row(s) of products the library does not know "
            f"({', '.join(names)}): {dollars(total)}\n"
        )


def _reconcile(stream: TextIO, args: argparse.Namespace) -> int:
    from together_billing.reconcile import reconcile, replay_usage  # noqa: PLC0415 - lazy
    from together_billing.usage import UsageReport  # noqa: PLC0415 - lazy

    report = UsageReport.from_file(args.usage)
    scenario = _load(args.scenario, args)
    simulated = replay_usage(scenario, granularity=report.granularity)
    result = reconcile(
        simulated,
        report,
        tolerance=args.tolerance,
        quantity_tolerance=args.quantity_tolerance,
    )
    if args.format == "json":
        _write_json(stream, result.to_dict())
    else:
        stream.write(result.table(all_rows=args.all) + "\n")
    return 0 if result.ok else EXIT_RECONCILE_EXCEEDED


def _usage_forecast(stream: TextIO, args: argparse.Namespace) -> None:
    """``forecast`` over the history a usage report gives, at a steady rate (item 4)."""
    from together_billing.policies import Policies  # noqa: PLC0415 - lazy
    from together_billing.usage import UsageReport  # noqa: PLC0415 - lazy

    report = UsageReport.from_file(args.report)
    scenario = report.to_scenario(
        days=args.days, balance=args.balance, policies=Policies.for_edition(args.edition)
    )
    args.scenario, args.at, args.steady, args.window_days = args.report, None, True, args.days
    _forecast(stream, args, scenario)


# -- the budget gate and the pinned catalog ---------------------------------------------------


def _check_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``together-billing check``: the budget gate (:mod:`together_billing.gate`)."""
    parser = commands.add_parser(
        "check",
        help="fail (exit 3) when a scenario breaks a budget: for CI",
        description="Replay a scenario and check it against spending limits. Exit codes: "
        "0 every limit holds, 3 a limit is broken, 2 invalid input, 1 other errors.",
    )
    parser.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    parser.add_argument("--max-total", metavar="USD", help="the whole replay's bill at most this")
    parser.add_argument("--max-monthly", metavar="USD", help="each month's invoice at most this")
    parser.add_argument(
        "--min-runway",
        metavar="WHEN",
        help="credits must last this long after the scenario's until (30d, 12h, 90m), or to "
        "this date (YYYY-MM-DD) or instant",
    )
    parser.add_argument(
        "--max-idle", metavar="USD", help="deployments' charges while no request came at most this"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=60,
        metavar="MINUTES",
        help="with --max-idle: the idle time after which the report counts a saving",
    )
    _format_option(parser)


def _check(stream: TextIO, args: argparse.Namespace) -> int:
    from together_billing.gate import run_check  # noqa: PLC0415 - lazy

    return run_check(stream, args)


def _catalog_yaml(stream: TextIO, args: argparse.Namespace) -> None:
    import yaml  # noqa: PLC0415 - lazy

    from together_billing.catalog import catalog_document, default_catalog  # noqa: PLC0415 - lazy

    stream.write(yaml.safe_dump(catalog_document(default_catalog()), sort_keys=False))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
