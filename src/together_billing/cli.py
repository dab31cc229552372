"""The ``together-billing`` command.

``together-billing simulate SCENARIO`` replays a scenario file and prints its
invoices as a table, or as JSON with ``--format json`` (schema in
``docs/cli.md``; amounts are decimal strings). ``together-billing schema``
prints the scenario format's JSON Schema; ``together-billing catalog`` lists the
bundled price catalog with its sources.

Exit codes: 0 success, 2 invalid input (usage, scenario or timeline), 1 any
other billing error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from together_billing.catalog import default_catalog
from together_billing.engine import SimulationResult
from together_billing.errors import BillingError, InvalidArgument, InvalidScenario, InvalidTimeline
from together_billing.invoice import Invoice
from together_billing.money import round_to_cents
from together_billing.scenario import ScenarioDoc, run_scenario

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="together-billing",
        description="Replay Together AI usage timelines into invoices, deterministically.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate = commands.add_parser("simulate", help="replay a scenario and print its invoices")
    simulate.add_argument("scenario", help="a scenario file (.yaml, .yml or .json)")
    simulate.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format"
    )
    simulate.add_argument(
        "--until",
        help="replay only up to this instant (ISO 8601 with offset): a draft invoice (IN4)",
    )
    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    catalog = commands.add_parser("catalog", help="list the bundled price catalog")
    catalog.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            stream.write(json.dumps(ScenarioDoc.model_json_schema(), indent=2) + "\n")
        elif args.command == "catalog":
            _print_catalog(stream, args.format)
        else:
            result = run_scenario(args.scenario, until=args.until)
            if args.format == "json":
                stream.write(json.dumps(result.to_dict(), indent=2) + "\n")
            else:
                stream.write(render_table(result))
    except (InvalidScenario, InvalidTimeline, InvalidArgument) as error:
        print(f"together-billing: error: {error}", file=sys.stderr)
        return 2
    except BillingError as error:
        print(f"together-billing: error: {error}", file=sys.stderr)
        return 1
    return 0


def _columns(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


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
        out.extend(_columns(rows, right={4, 6}))
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
        out.append("Credits (purchased + granted = consumed + expired + remaining)")
        rows = [[name, _dollars(_cents(value))] for name, value in credits.items()]
        out.extend(_columns(rows, right={1}))
    if result.log:
        out.append("")
        out.append("Log")
        rows = [["at", "resource", "action", "rule", "detail"]]
        rows.extend(
            [entry.at.isoformat(), entry.resource or "-", entry.action, entry.rule, entry.detail]
            for entry in result.log
        )
        out.extend(_columns(rows, right=set()))
    return "\n".join(out) + "\n"


def _cents(value: Decimal) -> Decimal:
    return round_to_cents(value) + 0


def _dollars(value: Decimal) -> str:
    return f"-${-value}" if value < 0 else f"${value}"


def _print_catalog(stream: TextIO, fmt: str) -> None:
    entries = default_catalog().entries
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
        stream.write(json.dumps(data, indent=2) + "\n")
    else:
        stream.write("\n".join(_columns(rows, right=set())) + "\n")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
