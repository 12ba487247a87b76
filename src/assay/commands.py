"""Command implementations as plain functions, called by the CLI and by tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from assay.config import BLOBS_DIR, WorkspaceConfig, ledger_url
from assay.controls.loader import load_config, load_workspace
from assay.engine.run import Progress, RunOutcome, run_workspace
from assay.errors import KeyFileError, UsageError, VerificationUnavailable
from assay.evidence.audit import LedgerReport, export_checkpoint, load_trusted_keys, verify_ledger
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger, RunSummary, open_required
from assay.evidence.purge import purge_blob
from assay.evidence.records import StoredRecord
from assay.keys import SigningKey, load_public_key, load_signing_key, rotate, trust, trusted_key_name
from assay.outputs import write_output
from assay.reports.pack import build_run_pack
from assay.reports.verify import VerifyReport, verify_pack
from assay.timeutil import format_instant, parse_instant


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
    key = load_signing_key(key_path, from_option=key_option is not None)
    trusted_dir = workspace.root / config.trusted_keys
    if not (trusted_dir.is_dir() and any(trusted_dir.glob("*.pem"))):
        # Trust on first use: the first signing key becomes the workspace's
        # trusted key, so `assay ledger verify` has a list to check against.
        trust(key.public, trusted_dir)
    elif not (trusted_dir / trusted_key_name(key.public)).is_file():
        raise KeyFileError(
            f"signing key {key.key_id} is not among the trusted keys in {trusted_dir}, so its "
            "checkpoints would not verify; add its public key there (`assay keys rotate` does "
            "this when it replaces a key)"
        )
    ledger = Ledger(ledger_url(workspace.root, config, ledger_option))
    try:
        _check_time_order(ledger, now)
        outcome = run_workspace(
            workspace, ledger=ledger, blobs=BlobStore(workspace.root / BLOBS_DIR), key=key,
            now=now, scope=scope_option or config.scope, progress=progress,
        )
        pack_path = build_run_pack(outcome, ledger, key, progress) if pack else None
    finally:
        ledger.close()
    return outcome, pack_path


# A run may be dated this many seconds before the ledger's last record, for
# CI runners whose clocks differ.
CLOCK_SKEW_SECONDS = 300


def _check_time_order(ledger: Ledger, now: datetime) -> None:
    """Raise UsageError when `now` is before the ledger's last record, beyond CLOCK_SKEW_SECONDS.

    Runs are recorded in time order, so a run dated before the previous ones
    (a mistyped --now) would make the ledger's history go backwards.
    """
    last = ledger.last_time()
    if last is None:
        return
    seq, stamp = last
    if (parse_instant(stamp) - now).total_seconds() > CLOCK_SKEW_SECONDS:
        raise UsageError(
            f"--now {format_instant(now)} is before the ledger's last record (seq {seq}, "
            f"{stamp}); runs are recorded in time order, so give a later --now"
        )


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


def _open_ledger(workspace_dir: Path, ledger_option: str | None) -> tuple[WorkspaceConfig, Path, Ledger]:
    root = workspace_dir.resolve()
    config = load_config(root)
    return config, root, open_required(ledger_url(root, config, ledger_option))


def trusted_keys(root: Path, config: WorkspaceConfig, trusted_option: Path | None) -> tuple[dict, str]:
    """Return the trusted public keys by fingerprint, and where they came from.

    The keys are the *.pem files of --trusted-keys or of the workspace's
    trusted_keys folder. When that folder contains none, the public half of the
    workspace signing key is trusted instead, and the returned description states this.
    """
    folder = trusted_option or root / config.trusted_keys
    files = sorted(folder.glob("*.pem")) if folder.is_dir() else []
    if files:
        return load_trusted_keys(files), f"{len(files)} trusted keys in {folder}"
    if trusted_option is not None:
        raise VerificationUnavailable(f"{folder}: no trusted public keys (*.pem) found")
    key_path = root / config.signing_key if config.signing_key else None
    key = load_signing_key(key_path)
    return {key.key_id: key.public}, f"no keys in {folder}; trusting the signing key {key.key_id}"


def ledger_verify_command(
    workspace_dir: Path,
    ledger_option: str | None,
    from_seq: int,
    checkpoint_file: Path | None,
    trusted_option: Path | None,
    tsa_certificate: Path | None = None,
) -> tuple[LedgerReport, str]:
    """Verify the workspace's ledger and blobs; return the report and the trust source."""
    config, root, ledger = _open_ledger(workspace_dir, ledger_option)
    try:
        trusted, source = trusted_keys(root, config, trusted_option)
        report = verify_ledger(
            ledger, BlobStore(root / BLOBS_DIR), trusted, from_seq=from_seq,
            checkpoint_file=checkpoint_file, tsa_certificate=tsa_certificate,
        )
    finally:
        ledger.close()
    return report, source


def ledger_checkpoint_command(
    workspace_dir: Path, ledger_option: str | None, out: Path, tsa_url: str | None = None
) -> dict:
    """Write the ledger's latest checkpoint to `out` for someone outside the team to keep.

    With `tsa_url`, the checkpoint is first timestamped by that RFC 3161
    time-stamp authority, and the token is stored with it.
    """
    config, _root, ledger = _open_ledger(workspace_dir, ledger_option)
    try:
        document = export_checkpoint(ledger, config.name)
    finally:
        ledger.close()
    if tsa_url is not None:
        from assay.evidence.timestamp import TIMESTAMP_FIELD, request_timestamp

        document[TIMESTAMP_FIELD] = request_timestamp(document, tsa_url)
    write_output(out, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document


def ledger_log_command(workspace_dir: Path, ledger_option: str | None) -> list[RunSummary]:
    """List the ledger's runs: time, scope, counts by status, complete or not."""
    _config, _root, ledger = _open_ledger(workspace_dir, ledger_option)
    try:
        return ledger.runs()
    finally:
        ledger.close()


def keys_rotate_command(workspace_dir: Path) -> tuple[SigningKey, SigningKey, Path, Path]:
    """Rotate the workspace's signing key; both public keys join the trusted keys."""
    root = workspace_dir.resolve()
    config = load_config(root)
    if config.signing_key is None:
        raise KeyFileError("assay.yaml sets no signing_key; there is no key file to rotate")
    trusted_dir = root / config.trusted_keys
    old, new, retired = rotate(root / config.signing_key, trusted_dir)
    return old, new, retired, trusted_dir


def ledger_purge_command(
    workspace_dir: Path, ledger_option: str | None, digest: str, reason: str, now: datetime
) -> StoredRecord:
    """Delete a blob and record a tombstone for it, signed by the workspace key."""
    config, root, ledger = _open_ledger(workspace_dir, ledger_option)
    try:
        key = load_signing_key(root / config.signing_key if config.signing_key else None)
        return purge_blob(
            ledger, BlobStore(root / BLOBS_DIR), digest, reason=reason, key=key, now=now,
            scope=config.scope,
        )
    finally:
        ledger.close()
