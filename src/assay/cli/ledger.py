"""`assay ledger`: verify the ledger, export checkpoints, list runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from assay.cli.common import LedgerOption, NowOption, WorkspaceArg, fail, fail_check, out, parse_now_option, say
from assay.errors import AssayError, UsageError

ledger_app = typer.Typer(no_args_is_help=True, help="Verify the evidence ledger and list its runs.")


@ledger_app.command("verify")
def ledger_verify(
    workspace: WorkspaceArg = Path("."),
    ledger: LedgerOption = None,
    from_seq: Annotated[
        int, typer.Option("--from", min=1, help="First seq to verify; the record before it is trusted.")
    ] = 1,
    checkpoint: Annotated[
        Optional[Path],
        typer.Option(help="A checkpoint exported earlier: prove the ledger still extends it."),
    ] = None,
    trusted_keys: Annotated[
        Optional[Path],
        typer.Option(help="Folder of trusted public keys (PEM); default: trusted_keys in assay.yaml."),
    ] = None,
    tsa_cert: Annotated[
        Optional[Path],
        typer.Option(
            help="The time-stamp authority's certificate, or its CA's (PEM): the checkpoint's "
            "RFC 3161 timestamp token must be signed by it. Default: the certificate the token embeds."
        ),
    ] = None,
) -> None:
    """Recompute every record hash, check every checkpoint signature and every blob.

    With --checkpoint, also prove the ledger extends that checkpoint and
    check its RFC 3161 timestamp token, if it has one. Exits 4 naming the
    first record or token that does not verify, 5 when the check cannot be
    done (unreadable key, checkpoint or certificate file).
    """
    from assay.commands import ledger_verify_command

    if tsa_cert is not None and checkpoint is None:
        fail(UsageError("--tsa-cert checks the timestamp of a checkpoint; give --checkpoint FILE too"))
    try:
        report, source = ledger_verify_command(
            workspace, ledger, from_seq, checkpoint, trusted_keys, tsa_certificate=tsa_cert
        )
    except AssayError as exc:
        fail_check(exc)
    say(f"keys: {source}")
    say(f"ok: records {report.first_seq}..{report.last_seq} verify; head {report.head}")
    say(f"ok: {report.checkpoints} checkpoint signatures verify")
    say(f"ok: {report.blobs_checked} blobs match their SHA-256")
    for digest in report.blobs_purged:
        say(f"purged: blob {digest} (a tombstone record says it was removed on purpose)")
    if report.extends_checkpoint is not None:
        say(f"ok: the ledger extends the exported checkpoint at seq {report.extends_checkpoint}")
    if report.timestamp is not None:
        say(f"ok: {report.timestamp.describe()}")
    elif checkpoint is not None:
        say(f"skipped: {checkpoint} carries no RFC 3161 timestamp token")
    incomplete = len(report.incomplete_runs)
    say(f"runs: {len(report.complete_runs)} complete, {incomplete} incomplete (ignored)")


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    out_file: Annotated[Path, typer.Option("--out", help="File to write the checkpoint to (JSON).")],
    workspace: WorkspaceArg = Path("."),
    ledger: LedgerOption = None,
    tsa: Annotated[
        Optional[str],
        typer.Option(
            help="URL of an RFC 3161 time-stamp authority: timestamp the checkpoint there (HTTP "
            "POST, 30 s timeout) and store the token with it."
        ),
    ] = None,
) -> None:
    """Export the latest signed checkpoint, for an auditor or a protected repository to keep.

    With --tsa, exits 5 when the time-stamp authority cannot be reached or
    does not grant the request, and 4 when its token does not match the
    request. The file is then not written.
    """
    from assay.commands import ledger_checkpoint_command

    try:
        document = ledger_checkpoint_command(workspace, ledger, out_file, tsa_url=tsa)
    except AssayError as exc:
        fail(exc)
    say(f"checkpoint at seq {document['seq']} ({document['hash']}) written to {out_file}")
    if "timestamp" in document:
        say(f"timestamp: genTime {document['timestamp']['gen_time']} from {tsa}")


@ledger_app.command("log")
def ledger_log(workspace: WorkspaceArg = Path("."), ledger: LedgerOption = None) -> None:
    """List runs: time, scope, counts by status, complete or incomplete."""
    from assay.commands import ledger_log_command

    try:
        runs = ledger_log_command(workspace, ledger)
    except AssayError as exc:
        fail(exc)
    table = Table(title="Runs")
    for column in ("Run", "Time", "Scope", "Seq", "Statuses", "State"):
        # The statuses wrap; the run id, time and seq range must stay whole.
        table.add_column(column, no_wrap=column in ("Run", "Time", "Seq"))
    for run in runs:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(run.statuses.items()))
        state = "complete" if run.complete else "[yellow]incomplete[/]"
        table.add_row(run.run[:12], run.time, run.scope, f"{run.first_seq}-{run.last_seq}",
                      statuses or "-", state)
    out.print(table)


@ledger_app.command("purge")
def ledger_purge(
    digest: Annotated[str, typer.Argument(help="SHA-256 of the blob to delete.")],
    reason: Annotated[str, typer.Option(help="Why the blob is purged (retention rule, erasure request).")],
    workspace: WorkspaceArg = Path("."),
    ledger: LedgerOption = None,
    now: NowOption = None,
) -> None:
    """Delete an evidence blob on purpose, leaving a signed tombstone record in the ledger."""
    from assay.commands import ledger_purge_command

    try:
        record = ledger_purge_command(workspace, ledger, digest, reason, parse_now_option(now))
    except AssayError as exc:
        fail(exc)
    say(f"purged blob {digest}; tombstone at seq {record.seq}")
