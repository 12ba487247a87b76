"""`assay verify`: check a pack against a pinned signer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assay.cli.common import fail, fail_check, out
from assay.errors import AssayError, UsageError


def verify(
    pack: Annotated[Path, typer.Argument(help="Pack folder, or zipped pack (.zip), to verify.")],
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
            "must extend it, and its RFC 3161 timestamp token, if it has one, must verify."
        ),
    ] = None,
    tsa_cert: Annotated[
        Optional[Path],
        typer.Option(
            help="The time-stamp authority's certificate, or its CA's (PEM): the --checkpoint "
            "file's RFC 3161 timestamp token must be signed by it. Default: the certificate the "
            "token embeds."
        ),
    ] = None,
    reevaluate: Annotated[
        bool,
        typer.Option(
            "--reevaluate",
            help="Judge every control of the pack again from the pack's records alone (control "
            "definitions, params, evidence facts, the run's time) and require the recorded "
            "statuses and assertion outcomes.",
        ),
    ] = False,
    max_expanded_size: Annotated[
        Optional[str],
        typer.Option(
            help="Largest total uncompressed size of a zipped pack, checked before extraction: "
            "bytes, or a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB "
            "(powers of 1024). Default: 1GiB.",
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
    """Verify a pack against a signer you pinned: signatures, file hashes, record chain, PDF signature.

    Exits 4 when something was altered, signed by another key, or (with
    --reevaluate) recorded a result its evidence does not give; 5 when it
    could not be checked; and 2 on a usage error such as no pinned signer.
    """
    from assay.reports.archive import MAX_EXPANDED_BYTES, parse_size
    from assay.reports.pack import LATEST_POINTER
    from assay.reports.verify import pin_from_options, verify_pack

    pins = [option for option in (key, fingerprint, trusted_keys) if option is not None]
    if not pins:
        fail(UsageError(
            "pin the signer with --key PUBLIC.pem, --fingerprint SHA256:... or --trusted-keys "
            "DIR; the key inside a pack proves nothing about who should have signed it"
        ))
    if len(pins) > 1:
        fail(UsageError("give only one of --key, --fingerprint and --trusted-keys"))
    if tsa_cert is not None and checkpoint is None:
        fail(UsageError("--tsa-cert checks the timestamp of a checkpoint; give --checkpoint FILE too"))
    try:
        limit = MAX_EXPANDED_BYTES if max_expanded_size is None else parse_size(max_expanded_size)
    except AssayError as exc:
        fail(exc)
    if pack.name == LATEST_POINTER and pack.is_file():
        # reports/LATEST is a text file that names the newest pack.
        target = Path(pack.read_text(encoding="utf-8").strip())
        pack = target if target.is_absolute() else pack.parent / target
        out.print(f"checking {pack}, which {LATEST_POINTER} names", markup=False, soft_wrap=True)
    try:
        pin = pin_from_options(key, fingerprint, trusted_keys)
        report = verify_pack(
            pack, pin=pin, checkpoint=checkpoint, max_expanded_bytes=limit,
            reevaluate=reevaluate, tsa_certificate=tsa_cert,
        )
        checks = list(report.checks)
        if sample is not None:
            checks += _check_sample(pack, sample, {report.key_id: pin.keys.get(report.key_id)})
    except AssayError as exc:
        fail_check(exc)
    for check in checks:
        out.print(f"ok: {check}", markup=False, soft_wrap=True)
    for skipped in report.skipped:
        out.print(f"skipped: {skipped}", markup=False, soft_wrap=True)
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
