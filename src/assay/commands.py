"""Command implementations as plain functions, called by the CLI and by tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from assay.config import BLOBS_DIR, ledger_url
from assay.controls.loader import load_workspace
from assay.engine.run import Progress, RunOutcome, run_workspace
from assay.errors import VerificationUnavailable
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from assay.keys import load_public_key, load_signing_key
from assay.reports.pack import build_run_pack
from assay.reports.verify import VerifyReport, verify_pack


def run_command(
    workspace_dir: Path,
    now: datetime,
    ledger_option: str | None,
    scope_option: str | None,
    key_option: Path | None,
    progress: Progress | None = None,
    *,
    pack: bool = True,
) -> tuple[RunOutcome, Path | None]:
    """Load the workspace, run every control, record the run and write its pack.

    With `pack` false the run is recorded and no pack is written.
    """
    workspace = load_workspace(workspace_dir)
    config = workspace.config
    key_path = key_option
    if key_path is None and config.signing_key is not None:
        key_path = workspace.root / config.signing_key
    key = load_signing_key(key_path)
    ledger = Ledger(ledger_url(workspace.root, config, ledger_option))
    try:
        outcome = run_workspace(
            workspace, ledger=ledger, blobs=BlobStore(workspace.root / BLOBS_DIR), key=key,
            now=now, scope=scope_option or config.scope, progress=progress,
        )
        pack_path = build_run_pack(outcome, ledger, key, progress) if pack else None
    finally:
        ledger.close()
    return outcome, pack_path


def verify_command(pack: Path, key_path: Path | None, fingerprint: str | None) -> VerifyReport:
    """Verify `pack` against a pinned public key file or fingerprint."""
    pinned = None
    if key_path is not None:
        try:
            data = key_path.read_bytes()
        except OSError as exc:
            raise VerificationUnavailable(f"{key_path}: cannot read the key: {exc.strerror}") from exc
        pinned = load_public_key(data, str(key_path))
    return verify_pack(pack, pinned_key=pinned, pinned_fingerprint=fingerprint)
