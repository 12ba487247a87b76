"""`assay attest`: record a person's signed attestation of a manual control."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assay.cli.common import NOW_ENV, LedgerOption, WorkspaceArg, fail, parse_now_option, say
from assay.errors import AssayError


def attest(
    control: Annotated[str, typer.Argument(help="Id of the manual control, e.g. POL-06.")],
    by: Annotated[
        str,
        typer.Option("--by", help="Name of the person attesting, as listed under people in assay.yaml."),
    ],
    note: Annotated[str, typer.Option("--note", help="What the person checked, in words.")],
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            help="The person's Ed25519 private key (PEM, mode 0600). The passphrase of an "
            "encrypted key is read from ASSAY_KEY_PASSPHRASE, or asked for on a terminal.",
        ),
    ],
    file: Annotated[
        Optional[Path],
        typer.Option(
            "--file",
            help="A file backing the attestation (minutes, a signed review); stored by SHA-256.",
        ),
    ] = None,
    expires: Annotated[
        Optional[str],
        typer.Option(
            "--expires",
            help="When the attestation stops counting: a duration from now (90d) or an RFC 3339 "
            "instant. Default and maximum: the control's manual.attestation_every.",
        ),
    ] = None,
    workspace: WorkspaceArg = Path("."),
    now: Annotated[
        Optional[str],
        typer.Option(
            "--now", envvar=NOW_ENV,
            help="Time of the attestation (RFC 3339, or a date meaning its UTC midnight). "
            "Default: the current time.",
        ),
    ] = None,
    ledger: LedgerOption = None,
) -> None:
    """Sign an attestation of a manual control with a person's key and record it in the ledger.

    The attestation is written to attestations/CONTROL-TIME.json and appended
    to the ledger in a run of its own, closed by a checkpoint signed with the
    workspace key. The control passes while the attestation is in force.
    """
    from assay.engine.attestations import attest_control

    try:
        recorded = attest_control(
            workspace, control, by=by, note=note, key_path=key, now=parse_now_option(now),
            attached=file, expires=expires, ledger_option=ledger,
        )
    except AssayError as exc:
        fail(exc)
    document = recorded.document
    say(f"attested {document['control']} by {document['by']} until {document['expires_at']}")
    say(f"written to {recorded.path}")
    say(f"ledger record seq {recorded.record.seq}, signed with key {document['key_id']}")
    if "file" in document:
        say(f"attached {document['file']['path']} (sha256 {document['file']['sha256']})")
    say("the next `assay run` judges the control with this attestation")

