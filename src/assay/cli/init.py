"""`assay init`: create a workspace from the shipped control library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assay.cli import common
from assay.cli.common import fail, say
from assay.errors import AssayError


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder of the new workspace, created when it does not exist.")
    ] = Path("."),
    framework: Annotated[
        str, typer.Option("--framework", help="Control library to copy. Only soc2 ships today.")
    ] = "soc2",
    key: Annotated[
        Optional[Path],
        typer.Option(
            "--key",
            help="Existing Ed25519 private key (PEM, mode 0600) to name in assay.yaml. "
            "Default: generate one into DIRECTORY/.assay.",
        ),
    ] = None,
) -> None:
    """Create assay.yaml, the library's controls and policy templates, guides and signing keys.

    Without --key, the signing keys are an Ed25519 key pair and the ECDSA
    P-256 key and certificate that sign report.pdf, all in DIRECTORY/.assay.

    Existing files are never overwritten: they are skipped and listed, and
    the command still exits 0.
    """
    from assay import keys
    from assay.catalog.scaffold import CREATED, KEY_DIR, scaffold

    def progress(action: str, relative: str) -> None:
        suffix = "" if action == CREATED else " (exists, left unchanged)"
        common.err.print(f"{action} {relative}{suffix}", markup=False, soft_wrap=True)

    try:
        result = scaffold(directory, framework=framework, key=key, progress=progress)
    except AssayError as exc:
        fail(exc)
    noun = "file" if len(result.created) == 1 else "files"
    say(f"Created {len(result.created)} {noun} in {result.root}.")
    if result.skipped:
        say(f"Skipped {len(result.skipped)} existing files, left unchanged:")
        for relative in result.skipped:
            say(f"  {relative}")
    if result.key_fingerprint is not None:
        say(f"Signing key: {result.signing_key} ({result.key_fingerprint})")
    pdf_key_files = [f"{KEY_DIR}/{keys.PDF_KEY_NAME}", f"{KEY_DIR}/{keys.PDF_CERT_NAME}"]
    created_pdf_key_files = [relative for relative in pdf_key_files if relative in result.created]
    if created_pdf_key_files:
        say(f"PDF signing key and certificate: {', '.join(created_pdf_key_files)}")
    say("Next: edit assay.yaml, read inputs/README.md, then run "
        f"`assay lint {directory}` and `assay status {directory}`.")

