"""`assay status`: readiness, coverage gaps and controls of the latest complete run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from assay.cli.common import (
    STATUS_STYLE,
    LedgerOption,
    NowOption,
    WorkspaceArg,
    fail,
    out,
    parse_now_option,
    say,
)
from assay.errors import AssayError, UsageError

FORMATS = ("table", "json")
BASIS_STYLE = {"automated": "green", "documents": "cyan", "attestation": "yellow", "none": "red"}


def status(
    workspace: WorkspaceArg = Path("."),
    output_format: Annotated[
        str,
        typer.Option("--format", help="Output format: table (for people) or json (for machines)."),
    ] = "table",
    now: NowOption = None,
    ledger: LedgerOption = None,
) -> None:
    """Show readiness per category, coverage gaps, controls by status, waivers and attestations.

    Reads the latest complete run of the workspace's scope from the ledger.
    Before any run, every control is missing, manual or not applicable as
    its definition sets.
    """
    from assay.engine.status_report import build_status

    try:
        if output_format not in FORMATS:
            raise UsageError(f"--format: unknown format {output_format!r}; use table or json")
        report = build_status(workspace, parse_now_option(now), ledger)
    except AssayError as exc:
        fail(exc)
    if output_format == "json":
        say(json.dumps(report.to_json(), indent=2))
        return
    _print_report(report)


def _print_report(report: Any) -> None:
    say(f"Status of {report.workspace} (scope {report.scope})")
    if report.run is None:
        say("No complete run recorded yet: every control is reported as its definition implies.")
    else:
        say(f"Latest complete run {report.run.run} at {report.run.now} "
            f"(ledger records {report.run.first_seq} to {report.run.last_seq})")
    out.print(_readiness_table(report))
    _print_gaps(report)
    out.print(_status_table(report))
    out.print(_criteria_table(report))
    _print_waivers(report)
    _print_attestations(report)
    for warning in report.warnings:
        say(f"warning: {warning}")


def _readiness_table(report: Any) -> Table:
    table = Table(title="Readiness by Trust Services category")
    table.add_column("Category")
    table.add_column("Criteria met")
    table.add_column("Readiness")
    table.add_column("Status")
    for item in report.categories:
        ratio = "n/a" if item.ratio is None else f"{item.ratio * 100:.0f} %"
        met = f"{len(item.criteria_met)} of {item.total}"
        table.add_row(item.title, met, ratio, item.status_text)
    return table


def _print_gaps(report: Any) -> None:
    gaps = report.coverage_gaps()
    if not gaps:
        say("Coverage gaps: none. Every criterion in scope has a control.")
        return
    table = Table(title="Coverage gaps: criteria in scope with no control")
    table.add_column("Criterion")
    table.add_column("Title")
    for gap in gaps:
        table.add_row(gap["criterion"], gap["title"])
    out.print(table)


def _status_table(report: Any) -> Table:
    table = Table(title="Controls by status")
    table.add_column("Status")
    table.add_column("Count")
    table.add_column("Controls")
    for name, ids in report.controls_by_status().items():
        table.add_row(f"[{STATUS_STYLE[name]}]{name}[/]", str(len(ids)), ", ".join(ids))
    return table


def _criteria_table(report: Any) -> Table:
    table = Table(title="How each criterion is evidenced")
    table.add_column("Criterion")
    table.add_column("State")
    table.add_column("Evidenced")
    table.add_column("Controls")
    for row in report.criteria_rows():
        basis = row["evidenced"]
        style = BASIS_STYLE.get(basis, "dim")
        controls = ", ".join(row["controls"]) or "-"
        table.add_row(row["criterion"], row["state"], f"[{style}]{basis}[/]", controls)
    return table


def _print_waivers(report: Any) -> None:
    if not report.waivers:
        say("Waivers: none applied in this run.")
        return
    table = Table(title="Waivers")
    table.add_column("Control")
    table.add_column("File")
    table.add_column("Approver")
    table.add_column("Expires")
    table.add_column("Days left")
    for waiver in report.waivers:
        table.add_row(waiver.control, escape(waiver.file), escape(waiver.approver), waiver.expires,
                      f"{waiver.days_left:g}")
    out.print(table)


def _print_attestations(report: Any) -> None:
    if not report.attestations:
        say("Attestations: no manual controls.")
        return
    table = Table(title="Attestations of manual controls")
    table.add_column("Control")
    table.add_column("By")
    table.add_column("Expires")
    table.add_column("State")
    for notice in report.attestations:
        table.add_row(notice.control, escape(notice.by or "-"), notice.expires or "-", notice.state)
    out.print(table)
