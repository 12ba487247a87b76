"""`assay keys`: create and rotate signing keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assay.cli.common import fail, out, say
from assay.errors import AssayError, UsageError

keys_app = typer.Typer(no_args_is_help=True, help="Create and rotate signing keys.")


@keys_app.command("generate")
def keys_generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for signing-key.pem (mode 0600) and signing-key.pub.pem.")
    ] = Path(".assay"),
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help="Encrypt both private keys with a passphrase, read from ASSAY_KEY_PASSPHRASE "
            "or asked for twice at a hidden prompt on a terminal.",
        ),
    ] = False,
) -> None:
    """Create an Ed25519 signing key pair, and an ECDSA P-256 key and certificate for PDF signatures."""
    from assay import keys

    try:
        secret = _new_passphrase() if passphrase else None
        private_path, public_path = keys.generate(out_dir, passphrase=secret)
        # The public key file, so that an encrypted private key is not decrypted again.
        public = keys.load_public_key(public_path.read_bytes(), str(public_path))
    except AssayError as exc:
        fail(exc)
    encrypted = ", encrypted with the passphrase" if passphrase else ""
    out.print(
        f"private key: {private_path} (mode 0600{encrypted}, keep it secret)",
        markup=False, soft_wrap=True,
    )
    out.print(f"public key:  {public_path}", markup=False, soft_wrap=True)
    out.print(f"fingerprint: {keys.fingerprint(public)}", markup=False, soft_wrap=True)
    pdf_key = out_dir / keys.PDF_KEY_NAME
    if pdf_key.exists():
        say(f"PDF signing key: {pdf_key} (mode 0600{encrypted}), certificate {out_dir / keys.PDF_CERT_NAME}")
    if not passphrase and keys.passphrase_from_environment() is not None:
        say(f"note: {keys.PASSPHRASE_ENV} is set, but the keys are not encrypted; "
            "pass --passphrase to encrypt them")


def _new_passphrase() -> bytes:
    """Return the passphrase for new keys: ASSAY_KEY_PASSPHRASE, else a confirmed hidden prompt."""
    from assay.keys import PASSPHRASE_ENV, passphrase_from_environment

    from_env = passphrase_from_environment()
    if from_env is not None:
        return from_env
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            f"--passphrase: set {PASSPHRASE_ENV} to the passphrase, or run on a terminal to be asked for it"
        )
    entered = typer.prompt(
        "Passphrase for the new private keys", hide_input=True, confirmation_prompt=True
    )
    if not entered:
        raise UsageError("--passphrase: the passphrase is empty; enter at least one character")
    return str(entered).encode()


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
