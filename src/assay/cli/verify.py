"""`assay verify`: check a pack against a pinned signer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assay.cli.common import err, fail, out
from assay.errors import AssayError, UsageError


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
        fail(UsageError(
            "pin the signer with --key PUBLIC.pem or --fingerprint SHA256:...; the key inside a "
            "pack proves nothing about who should have signed it"
        ))
    if key is not None and fingerprint is not None:
        fail(UsageError("give either --key or --fingerprint, not both"))
    try:
        report = verify_command(pack, key, fingerprint)
    except AssayError as exc:
        err.print(f"FAILED: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    for check in report.checks:
        out.print(f"ok: {check}", markup=False, soft_wrap=True)
    out.print(f"verified: {pack}", markup=False, soft_wrap=True)


