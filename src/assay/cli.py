"""The `assay` command line: parses arguments, calls the library, prints results."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assay.errors import AssayError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="assay: compliance evidence and policy-as-code. Collect evidence from real tool "
    "outputs, judge controls with CEL, and build signed audit packs.",
)
keys_app = typer.Typer(no_args_is_help=True, help="Create and inspect signing keys.")
app.add_typer(keys_app, name="keys")

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


def _now(value: str | None) -> datetime:
    from assay.timeutil import parse_now

    if value is None:
        return datetime.now(UTC)
    try:
        return parse_now(value)
    except ValueError as exc:
        raise UsageError(f"--now: {exc}; use an instant such as 2026-12-04T20:15:00Z") from exc


def _fail(exc: AssayError) -> None:
    err.print("error: " + str(exc), markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


@app.command()
def run(
    workspace: WorkspaceArg = Path("."),
    now: NowOption = None,
    ledger: LedgerOption = None,
    scope: Annotated[Optional[str], typer.Option(help="Scope to record; overrides assay.yaml.")] = None,
    key: Annotated[
        Optional[Path], typer.Option(help="Signing key (PEM); overrides signing_key in assay.yaml.")
    ] = None,
) -> None:
    """Collect evidence for every control, judge it, record it and write a signed pack.

    Exits 0 once the run is recorded, whatever the controls' statuses.
    """
    from assay.commands import run_command

    try:
        outcome, pack = run_command(workspace, _now(now), ledger, scope, key, _progress())
    except AssayError as exc:
        _fail(exc)
    _print_results(outcome)
    out.print(f"pack: {pack}", markup=False, soft_wrap=True)


def _progress():  # type: ignore[no-untyped-def]
    def report(message: str, done: int, total: int) -> None:
        err.print(f"[{done}/{total}] {message}", markup=False, soft_wrap=True)

    return report


def _print_results(outcome) -> None:  # type: ignore[no-untyped-def]
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
    for item in outcome.readiness:
        ratio = "n/a" if item.ratio is None else f"{item.ratio * 100:.0f} %"
        ready.add_row(item.title, f"{len(item.criteria_met)} of {item.total}", ratio,
                      ", ".join(item.criteria_not_met) or "-")
    out.print(ready)


@app.command()
def verify(
    pack: Annotated[Path, typer.Argument(help="Pack folder to verify.")],
    key: Annotated[
        Optional[Path], typer.Option(help="The signer's public key (PEM), obtained out of band.")
    ] = None,
    fingerprint: Annotated[
        Optional[str],
        typer.Option(help="The signer's key fingerprint, SHA256:... as `ssh-keygen -l` prints it."),
    ] = None,
) -> None:
    """Verify a pack against a signer you pinned: signatures, file hashes, record chain.

    Exits 4 when something was altered or signed by another key, 5 when it
    could not be checked, and 2 when no signer is pinned.
    """
    from assay.commands import verify_command

    if key is None and fingerprint is None:
        _fail(UsageError(
            "pin the signer with --key PUBLIC.pem or --fingerprint SHA256:...; the key inside a "
            "pack proves nothing about who should have signed it"
        ))
    if key is not None and fingerprint is not None:
        _fail(UsageError("give either --key or --fingerprint, not both"))
    try:
        report = verify_command(pack, key, fingerprint)
    except AssayError as exc:
        err.print(f"FAILED: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    for check in report.checks:
        out.print(f"ok: {check}", markup=False, soft_wrap=True)
    out.print(f"verified: {pack}", markup=False, soft_wrap=True)


@app.command()
def lint(workspace: WorkspaceArg = Path(".")) -> None:
    """Check assay.yaml and every control file without collecting anything."""
    from assay.controls.loader import load_workspace

    try:
        loaded = load_workspace(workspace)
    except AssayError as exc:
        _fail(exc)
    out.print(f"{len(loaded.controls)} controls OK in {loaded.root}", markup=False, soft_wrap=True)


@keys_app.command("generate")
def keys_generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for signing-key.pem (mode 0600) and signing-key.pub.pem.")
    ] = Path(".assay"),
) -> None:
    """Create an Ed25519 signing key pair."""
    from assay import keys

    try:
        private_path, public_path = keys.generate(out_dir)
        # The file, not load_signing_key, which would prefer ASSAY_SIGNING_KEY.
        public = keys.load_signing_key_file(private_path).public
    except AssayError as exc:
        _fail(exc)
    out.print(
        f"private key: {private_path} (mode 0600, keep it secret)", markup=False, soft_wrap=True
    )
    out.print(f"public key:  {public_path}", markup=False, soft_wrap=True)
    out.print(f"fingerprint: {keys.fingerprint(public)}", markup=False, soft_wrap=True)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("ASSAY_LOG", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    app()


if __name__ == "__main__":
    sys.exit(main())
