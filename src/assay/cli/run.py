"""`assay run` and `assay lint`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from assay.cli.common import (
    STATUS_STYLE,
    LedgerOption,
    NowOption,
    WorkspaceArg,
    err,
    fail,
    out,
    parse_now_option,
)
from assay.errors import AssayError


def run(
    workspace: WorkspaceArg = Path("."),
    now: NowOption = None,
    ledger: LedgerOption = None,
    scope: Annotated[Optional[str], typer.Option(help="Scope to record; overrides assay.yaml.")] = None,
    key: Annotated[
        Optional[Path], typer.Option(help="Signing key (PEM); overrides ASSAY_SIGNING_KEY and signing_key in assay.yaml.")
    ] = None,
    no_pack: Annotated[
        bool, typer.Option("--no-pack", help="Record the run without writing a pack.")
    ] = False,
) -> None:
    """Collect evidence for every control, judge it, record it and write a signed pack.

    Exits 0 once the run is recorded, whatever the controls' statuses.
    """
    from assay.commands import run_command

    try:
        outcome, pack = run_command(
            workspace, parse_now_option(now), ledger, scope, key, _progress(), pack=not no_pack
        )
    except AssayError as exc:
        fail(exc)
    _print_results(outcome)
    if pack is not None:
        out.print(f"pack: {pack}", markup=False, soft_wrap=True)


def _progress() -> Any:
    def report(message: str, done: int, total: int) -> None:
        err.print(f"[{done}/{total}] {message}", markup=False, soft_wrap=True)

    return report


def _print_results(outcome: Any) -> None:
    # Text from workspace files is escaped, because rich reads [word] as a
    # style tag and raises MarkupError on an unmatched [/word].
    name = escape(outcome.workspace.config.name)
    table = Table(title=f"Controls ({name}, scope {outcome.scope})")
    table.add_column("Control")
    table.add_column("Title")
    table.add_column("Criteria")
    table.add_column("Status")
    table.add_column("Reason")
    for result in outcome.results:
        status = result.status.value
        reason = escape(result.reasons[0]) if result.reasons else ""
        table.add_row(
            result.control_id, escape(result.loaded.control.title),
            ", ".join(result.loaded.control.criteria), f"[{STATUS_STYLE[status]}]{status}[/]",
            reason,
        )
    out.print(table)
    ready = Table(title="Readiness by Trust Services category")
    ready.add_column("Category")
    ready.add_column("Criteria met")
    ready.add_column("Readiness")
    ready.add_column("Not met")
    ready.add_column("No control")
    for item in outcome.readiness:
        ratio = "n/a" if item.ratio is None else f"{item.ratio * 100:.0f} %"
        # Criteria with no control are counted here; `assay status` lists them.
        judged = [c for c in item.criteria_not_met if c not in item.coverage_gaps]
        ready.add_row(item.title, f"{len(item.criteria_met)} of {item.total}", ratio,
                      ", ".join(judged) or "-", str(len(item.coverage_gaps)))
    out.print(ready)


def lint(workspace: WorkspaceArg = Path(".")) -> None:
    """Check assay.yaml and every control file without collecting anything."""
    from assay.controls.loader import load_workspace

    try:
        loaded = load_workspace(workspace)
    except AssayError as exc:
        fail(exc)
    out.print(f"{len(loaded.controls)} controls OK in {loaded.root}", markup=False, soft_wrap=True)


