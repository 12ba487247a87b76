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
    trusted_keys: Annotated[
        Optional[Path],
        typer.Option(
            help="Folder of trusted public keys (*.pem); a pack signed by any of them is accepted."
        ),
    ] = None,
    checkpoint: Annotated[
        Optional[Path],
        typer.Option(
            help="A checkpoint exported with `assay ledger checkpoint --out`: the pack's records "
            "must extend it."
        ),
    ] = None,
    sample: Annotated[
        Optional[Path],
        typer.Option(
            help="A sample file written by `assay sample` beside this pack: check its signature "
            "(by the pinned signer), population and selection."
        ),
    ] = None,
) -> None:
    """Verify a pack against a signer you pinned: signatures, file hashes, record chain.

    Exits 4 when something was altered or signed by another key, 5 when it
    could not be checked, and 2 when no signer is pinned.
    """
    from assay.reports.verify import pin_from_options, verify_pack

    pins = [option for option in (key, fingerprint, trusted_keys) if option is not None]
    if not pins:
        fail(UsageError(
            "pin the signer with --key PUBLIC.pem, --fingerprint SHA256:... or --trusted-keys "
            "DIR; the key inside a pack proves nothing about who should have signed it"
        ))
    if len(pins) > 1:
        fail(UsageError("give only one of --key, --fingerprint and --trusted-keys"))
    try:
        pin = pin_from_options(key, fingerprint, trusted_keys)
        report = verify_pack(pack, pin=pin, checkpoint=checkpoint)
        checks = list(report.checks)
        if sample is not None:
            checks += _check_sample(pack, sample, {report.key_id: pin.keys.get(report.key_id)})
    except AssayError as exc:
        err.print(f"FAILED: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    for check in checks:
        out.print(f"ok: {check}", markup=False, soft_wrap=True)
    out.print(f"verified: {pack}", markup=False, soft_wrap=True)


def _check_sample(pack: Path, sample: Path, signers: dict[str, object]) -> list[str]:
    """Check a sample file against the verified pack; return the checks it passed."""
    from assay.engine.sampling import (
        check_sample_contents,
        check_sample_signature,
        open_pack,
        read_sample,
    )

    document = read_sample(sample)
    signer = check_sample_signature(document, sample, signers)  # type: ignore[arg-type]
    return [f"{sample.name} is signed by {signer}", *check_sample_contents(document, sample, open_pack(pack))]
