"""`assay keys`: create and rotate signing keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.cli.common import fail, out, say
from assay.errors import AssayError

keys_app = typer.Typer(no_args_is_help=True, help="Create and rotate signing keys.")


@keys_app.command("generate")
def keys_generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for signing-key.pem (mode 0600) and signing-key.pub.pem.")
    ] = Path(".assay"),
) -> None:
    """Create an Ed25519 signing key pair, and an ECDSA P-256 key and certificate for PDF signatures."""
    from assay import keys

    try:
        private_path, public_path = keys.generate(out_dir)
        # The file, not load_signing_key, which would prefer ASSAY_SIGNING_KEY.
        public = keys.load_signing_key_file(private_path).public
    except AssayError as exc:
        fail(exc)
    out.print(
        f"private key: {private_path} (mode 0600, keep it secret)", markup=False, soft_wrap=True
    )
    out.print(f"public key:  {public_path}", markup=False, soft_wrap=True)
    out.print(f"fingerprint: {keys.fingerprint(public)}", markup=False, soft_wrap=True)
    pdf_key = out_dir / keys.PDF_KEY_NAME
    if pdf_key.exists():
        say(f"PDF signing key: {pdf_key} (mode 0600), certificate {out_dir / keys.PDF_CERT_NAME}")



@keys_app.command("rotate")
def keys_rotate(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder holding assay.yaml.")] = Path("."),
) -> None:
    """Start signing with a new key; checkpoints signed by the old one stay verifiable.

    Both public keys are added to the workspace's trusted keys, and the old
    private key is kept beside the new one as NAME.retired-<fingerprint>.
    """
    from assay.commands import keys_rotate_command

    try:
        old, new, retired, trusted_dir = keys_rotate_command(workspace)
    except AssayError as exc:
        fail(exc)
    say(f"old key: {old.key_id} (private key moved to {retired})")
    say(f"new key: {new.key_id}")
    say(f"trusted keys: {trusted_dir}")
