"""Verify a whole ledger, and export checkpoints for someone outside the team to keep.

`verify_ledger` streams the chain once. It recomputes every hash, checks
every checkpoint signature against the trusted keys, and checks every blob
that an evidence record names. A blob purged on purpose leaves a `tombstone`
record and is reported as purged, not altered. Given a checkpoint exported
earlier, it also proves the ledger still extends it, and checks the
checkpoint's RFC 3161 timestamp token when it has one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.errors import UsageError, VerificationError, VerificationUnavailable
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import KeyLookup, Ledger, body_object, check_checkpoint, verify_chain
from assay.evidence.records import (
    GENESIS_PREV,
    ChainError,
    StoredRecord,
    canonical,
    record_hash,
    sha256_hex,
)
from assay.evidence.timestamp import TIMESTAMP_FIELD, VerifiedTimestamp, verify_timestamp
from assay.keys import fingerprint, load_public_key

CHECKPOINT_FORMAT = "assay-checkpoint"
_NAMES_ARTIFACTS = b'"artifacts":[{'
# The opening of most evidence bodies, with nothing absent and no artifact.
# Checking this prefix costs far less than searching the body.
_EMPTY_ARTIFACTS = b'{"absent":{},"artifacts":[]'
CHECKPOINT_VERSION = 1


@dataclass
class LedgerReport:
    """Counts from a successful ledger verification."""

    first_seq: int = 1
    last_seq: int = 0
    head: str = GENESIS_PREV
    records: int = 0
    checkpoints: int = 0
    runs: set[str] = field(default_factory=set)
    complete_runs: set[str] = field(default_factory=set)
    blobs_checked: int = 0
    blobs_purged: list[str] = field(default_factory=list)
    extends_checkpoint: int | None = None
    timestamp: VerifiedTimestamp | None = None

    @property
    def incomplete_runs(self) -> set[str]:
        return self.runs - self.complete_runs


def load_trusted_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Load public keys (PEM) keyed by fingerprint; an unreadable key stops verification."""
    trusted: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise VerificationUnavailable(f"{path}: cannot read trusted key: {exc.strerror}") from exc
        key = load_public_key(data, str(path))
        trusted[fingerprint(key)] = key
    return trusted


def _artifacts(record: StoredRecord) -> list[str]:
    # The SHA-256 of each artifact an evidence body names.
    artifacts = body_object(record).get("artifacts", [])
    if not isinstance(artifacts, list) or not all(
        isinstance(item, dict) and isinstance(item.get("sha256"), str) for item in artifacts
    ):
        raise ChainError(record.seq, "artifacts is not a list of objects with a sha256 string")
    return [item["sha256"] for item in artifacts]


def verify_ledger(
    ledger: Ledger,
    blobs: BlobStore,
    trusted: dict[str, Ed25519PublicKey],
    *,
    from_seq: int = 1,
    checkpoint_file: Path | None = None,
    tsa_certificate: Path | None = None,
) -> LedgerReport:
    """Verify `ledger` from `from_seq` on; raise VerificationError at the first fault.

    `tsa_certificate` (PEM) is the time-stamp authority certificate that the
    timestamp token of `checkpoint_file`, if it has one, must verify with.
    """
    exported = _read_exported(checkpoint_file) if checkpoint_file is not None else None
    if exported is not None and checkpoint_file is not None:
        check_exported_signature(exported, checkpoint_file, trusted.get)
    report = LedgerReport(first_seq=from_seq)
    if exported is not None and checkpoint_file is not None:
        report.timestamp = read_checkpoint_timestamp(exported, checkpoint_file, tsa_certificate)
    start_prev = GENESIS_PREV
    if from_seq > 1:
        before = ledger.record_at(from_seq - 1)
        if before is None:
            raise UsageError(
                f"--from {from_seq}: the ledger has no record at seq {from_seq - 1}; give a seq up "
                "to one past the last record (`assay ledger log` lists them)"
            )
        start_prev = before.hash
    referenced: dict[str, tuple[int, str]] = {}
    purged: set[str] = set()

    add_run = report.runs.add
    exported_seq = None if exported is None else exported["seq"]

    def visit(record: StoredRecord, header: dict[str, Any]) -> None:
        # Called for every record, so it does as little as it can: the
        # record count comes from the chain's last seq afterwards.
        add_run(header["run"])
        kind = header["kind"]
        if kind == "evidence":
            # Parsing every body would cost more than hashing it. In canonical
            # form a non-empty artifact list always contains _NAMES_ARTIFACTS,
            # so only bodies containing it are parsed.
            body = record.body
            if body is None or body.startswith(_EMPTY_ARTIFACTS):
                pass
            elif _NAMES_ARTIFACTS in body:
                for artifact in _artifacts(record):
                    referenced.setdefault(artifact, (record.seq, header["run"]))
        elif kind == "checkpoint":
            report.checkpoints += 1
            report.complete_runs.add(header["run"])
        elif kind == "tombstone":
            purged.add(str(body_object(record).get("sha256")))
        if record.seq == exported_seq and exported is not None:
            if record.hash != exported["hash"]:
                raise ChainError(
                    record.seq,
                    "differs from the exported checkpoint: the history was rewritten since it was taken",
                )
            report.extends_checkpoint = record.seq

    stream = ledger.records(from_seq)
    try:
        last_seq, head = verify_chain(
            stream, lambda key_id: trusted.get(key_id),
            start_seq=from_seq, start_prev=start_prev, on_record=visit,
        )
    except ChainError as exc:
        stream.close()
        run = _run_of(ledger, exc.seq)
        raise VerificationError(f"ledger record seq {exc.seq}{run}: {exc.what}") from exc
    finally:
        stream.close()
    report.last_seq, report.head = last_seq, head
    report.records = last_seq - from_seq + 1
    if exported is not None and report.extends_checkpoint is None:
        raise VerificationError(
            f"the ledger ends at seq {last_seq} and does not contain the exported checkpoint "
            f"at seq {exported['seq']}: it does not extend that checkpoint"
        )
    for digest, (seq, run) in sorted(referenced.items(), key=lambda item: item[1][0]):
        if digest in purged:
            report.blobs_purged.append(digest)
            continue
        problem = blobs.check(digest)
        if problem is not None:
            raise VerificationError(f"blob {digest} named by record seq {seq} (run {run}): {problem}")
        report.blobs_checked += 1
    return report


def _run_of(ledger: Ledger, seq: int) -> str:
    # The run column is stored beside the header, so the run can be named
    # even when the header bytes themselves no longer parse.
    run = ledger.run_at(seq)
    return f" (run {run})" if run else ""


def export_checkpoint(ledger: Ledger, workspace_name: str) -> dict[str, Any]:
    """Return the latest checkpoint record as a document to hand to an auditor."""
    checkpoints = ledger.records_of_kind("checkpoint")
    if not checkpoints:
        raise VerificationUnavailable("the ledger has no checkpoint yet; run `assay run` first")
    record = checkpoints[-1]
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "workspace": workspace_name,
        "seq": record.seq,
        "hash": record.hash,
        "header": json.loads(record.header),
        "body": record.body_fields(),
    }


def _read_exported(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise VerificationUnavailable(f"{path}: cannot read checkpoint: {exc.strerror}") from exc
    except ValueError as exc:
        raise VerificationUnavailable(f"{path}: not a JSON checkpoint file ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        raise VerificationUnavailable(f"{path}: not an assay checkpoint file")
    if document.get("format_version") != CHECKPOINT_VERSION:
        raise VerificationUnavailable(
            f"{path}: checkpoint format version {document.get('format_version')!r} is not supported"
        )
    if not isinstance(document.get("seq"), int) or not isinstance(document.get("hash"), str):
        raise VerificationUnavailable(f"{path}: checkpoint has no seq and hash")
    _check_exported_record(document, path)
    return document


def _check_exported_record(document: dict[str, Any], path: Path) -> None:
    # The verifier compares only `hash` with the ledger, so the header and
    # body in the file must be the record that `hash` names: otherwise a
    # changed signature or key id would go unnoticed.
    header, body = document.get("header"), document.get("body")
    altered = "; the file was altered, so use the checkpoint file as it was exported"
    try:
        header_bytes = canonical(header)
        body_bytes = canonical(body)
    except ValueError as exc:
        raise VerificationError(f"{path}: the checkpoint's header or body is not JSON that "
                                f"assay writes ({exc}){altered}") from exc
    if not isinstance(header, dict) or record_hash(header_bytes) != document["hash"]:
        raise VerificationError(
            f"{path}: the checkpoint's header does not hash to the file's hash{altered}"
        )
    if header.get("seq") != document["seq"] or header.get("kind") != "checkpoint":
        raise VerificationError(
            f"{path}: the checkpoint's header is not that of a checkpoint at seq "
            f"{document['seq']}{altered}"
        )
    if not isinstance(body, dict) or sha256_hex(body_bytes) != header.get("body_sha256"):
        raise VerificationError(
            f"{path}: the checkpoint's body does not match the body_sha256 of its header{altered}"
        )


def check_exported_signature(document: dict[str, Any], path: Path, key_for: KeyLookup) -> None:
    """Verify the signature in an exported checkpoint read by _read_exported.

    A file whose hashes were recomputed after its signature was changed is
    one record, so only its signature shows that assay did not write it.
    """
    record = StoredRecord(
        document["seq"], canonical(document["header"]), canonical(document["body"]),
        document["hash"],
    )
    try:
        check_checkpoint(record, document["header"], document["header"].get("prev"), key_for)
    except ChainError as exc:
        raise VerificationError(
            f"{path}: {exc.what}; the checkpoint file was not written by a trusted assay key "
            "or was altered"
        ) from exc


def read_checkpoint_timestamp(
    exported: dict[str, Any], path: Path, tsa_certificate: Path | None
) -> VerifiedTimestamp | None:
    """Verify the RFC 3161 timestamp token of an exported checkpoint; return None when it has none.

    Giving `tsa_certificate` for a checkpoint without a token raises
    VerificationError, because the caller requires a timestamp.
    """
    if TIMESTAMP_FIELD not in exported:
        if tsa_certificate is not None:
            raise VerificationError(
                f"{path}: the checkpoint has no RFC 3161 timestamp token to check with "
                f"{tsa_certificate}; export it with `assay ledger checkpoint --tsa URL`"
            )
        return None
    return verify_timestamp(exported, path, tsa_certificate)
