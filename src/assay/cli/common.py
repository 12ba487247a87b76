"""Shared pieces of the command line: consoles, common options, error exits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from assay.errors import AssayError, UsageError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

NOW_ENV = "ASSAY_NOW"
STATUS_STYLE = {
    "pass": "green", "waived": "green", "fail": "red", "error": "red",
    "missing": "yellow", "manual": "yellow", "not_applicable": "dim",
}

WorkspaceArg = Annotated[
    Path, typer.Argument(help="Workspace folder holding assay.yaml.", show_default=True)
]
NowOption = Annotated[
    Optional[str],
    typer.Option(
        "--now", envvar=NOW_ENV,
        help="Instant to judge ages against (RFC 3339, or a date meaning its UTC midnight). "
        "Default: the current time.",
    ),
]
LedgerOption = Annotated[
    Optional[str],
    typer.Option("--ledger", envvar="ASSAY_LEDGER", help="Ledger URL; overrides assay.yaml."),
]


def parse_now_option(value: str | None) -> datetime:
    from assay.timeutil import parse_now

    if value is None:
        return datetime.now(UTC)
    try:
        return parse_now(value)
    except ValueError as exc:
        raise UsageError(f"--now: {exc}; use an instant such as 2026-12-04T20:15:00Z") from exc


def fail(exc: AssayError) -> NoReturn:
    """Print the error and exit with its family's exit code."""
    err.print("error: " + str(exc), markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def fail_check(exc: AssayError) -> NoReturn:
    """Exit for a failed or impossible check (exit 4 or 5) with `FAILED:`, otherwise as `fail`."""
    if exc.exit_code not in (4, 5):
        fail(exc)
    err.print("FAILED: " + str(exc), markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def say(text: str) -> None:
    """Print one line of plain output, never wrapped and never read as markup."""
    out.print(text, markup=False, soft_wrap=True)
