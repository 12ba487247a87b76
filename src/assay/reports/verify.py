"""`assay verify`: check a pack against a signer the auditor pinned.

The checks run in this order. The pack's key must be the pinned one, and
manifest.sig and SHA256SUMS.sig must verify. Every file's SHA-256 and size
must match, and no file may be unlisted. The records chain must verify with
its checkpoint signed by the pinned key. The last record must be the
checkpoint of the manifest's run, and no record of that run may have its body
withheld. Every artifact that the run's evidence names must be in the pack.
A period pack (manifest kind "period") lists its runs in `runs`: none of their
records may be withheld, and its last record must be a checkpoint of any run.
The first failure raises VerificationError naming the file or record; a pinned key
that cannot be read raises VerificationUnavailable.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.errors import VerificationError, VerificationUnavailable
from assay.evidence.ledger import verify_chain
from assay.evidence.records import ChainError, StoredRecord, canonical
from assay.keys import fingerprint, load_public_key, signature_valid
from assay.reports.pack import (
    MANIFEST,
    MANIFEST_SIG,
    PACK_FORMAT,
    PACK_VERSION,
    PUBLIC_KEY,
    RECORDS,
    SIGNATURE_FILES,
    SUMS,
    SUMS_SIG,
)

_SUMS_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


@dataclass
class VerifyReport:
    """The list of checks a successful verification passed."""

    key_id: str
    checks: list[str] = field(default_factory=list)


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read(pack: Path, name: str) -> bytes:
    path = pack / name
    if not path.is_file():
        raise VerificationError(f"{name}: missing from the pack")
    return path.read_bytes()


def verify_pack(
    pack: Path, *, pinned_key: Ed25519PublicKey | None = None, pinned_fingerprint: str | None = None
) -> VerifyReport:
    """Verify the pack folder `pack` against exactly one pinned signer."""
    if (pinned_key is None) == (pinned_fingerprint is None):
        raise VerificationUnavailable("pin the signer with exactly one of --key or --fingerprint")
    if pinned_fingerprint is not None and not _FINGERPRINT.match(pinned_fingerprint):
        raise VerificationUnavailable(
            f"{pinned_fingerprint!r} is not a fingerprint of the form SHA256:<43 base64 characters>"
        )
    if not pack.is_dir():
        raise VerificationUnavailable(f"{pack}: not a pack folder")

    try:
        pack_key = load_public_key(_read(pack, PUBLIC_KEY), PUBLIC_KEY)
    except VerificationUnavailable as exc:
        raise VerificationError(f"{PUBLIC_KEY}: altered, it is no longer a valid key ({exc})") from exc
    signer = pinned_key or pack_key
    expected = fingerprint(pinned_key) if pinned_key is not None else pinned_fingerprint
    if fingerprint(pack_key) != expected:
        raise VerificationError(
            f"{PUBLIC_KEY}: the pack was signed by {fingerprint(pack_key)}, not by the pinned "
            f"signer {expected}"
        )
    if pinned_key is not None and _raw(pinned_key) != _raw(pack_key):
        raise VerificationError(f"{PUBLIC_KEY}: not the pinned key")
    report = VerifyReport(key_id=fingerprint(signer))
    report.checks.append(f"signer is the pinned key {report.key_id}")

    manifest_bytes = _read(pack, MANIFEST)
    if not signature_valid(signer, _read(pack, MANIFEST_SIG), manifest_bytes):
        raise VerificationError(f"{MANIFEST}: signature in {MANIFEST_SIG} does not verify")
    sums_bytes = _read(pack, SUMS)
    if not signature_valid(signer, _read(pack, SUMS_SIG), sums_bytes):
        raise VerificationError(f"{SUMS}: signature in {SUMS_SIG} does not verify")
    report.checks.append(f"{MANIFEST_SIG} and {SUMS_SIG} verify")

    manifest = _parse_manifest(manifest_bytes)
    listed = _check_files(pack, manifest, sums_bytes)
    report.checks.append(f"{len(listed)} files match their SHA-256 and size; no file is unlisted")

    head_seq, head_hash, run_bodies = _check_records(pack, signer, manifest)
    report.checks.append(f"records chain verifies up to seq {head_seq} ({head_hash[:16]}...)")

    artifacts = _check_artifacts(run_bodies, listed)
    report.checks.append(f"{artifacts} evidence artifacts of the run are present")
    return report


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError(f"{MANIFEST}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        raise VerificationUnavailable(f"{MANIFEST}: not an assay pack manifest")
    if manifest.get("format_version") != PACK_VERSION:
        raise VerificationUnavailable(
            f"{MANIFEST}: pack format version {manifest.get('format_version')!r} is not supported "
            f"(this assay reads version {PACK_VERSION})"
        )
    return manifest


def _check_files(pack: Path, manifest: dict[str, Any], sums_bytes: bytes) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(sums_bytes.decode("utf-8", "replace").splitlines(), start=1):
        match = _SUMS_LINE.match(line)
        if match is None:
            raise VerificationError(f"{SUMS}:{number}: not a `sha256sum` line")
        digest, name = match.groups()
        if name in sums:
            raise VerificationError(f"{SUMS}:{number}: {name} listed twice")
        sums[name] = digest
    present = {
        p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file() or p.is_symlink()
    }
    for name in sorted(present - set(sums) - SIGNATURE_FILES - {SUMS}):
        raise VerificationError(f"{name}: in the pack but not listed in {SUMS}")
    manifest_files = {entry["path"]: entry for entry in manifest.get("files", [])}
    if set(manifest_files) | {MANIFEST} != set(sums):
        differ = sorted((set(manifest_files) | {MANIFEST}) ^ set(sums))
        raise VerificationError(f"{MANIFEST}: its file list and {SUMS} differ on {', '.join(differ)}")
    for name, digest in sorted(sums.items()):
        path = pack / name
        if path.is_symlink() or not path.is_file():
            raise VerificationError(f"{name}: missing from the pack (or not a regular file)")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise VerificationError(f"{name}: SHA-256 does not match {SUMS}; the file was altered")
        entry = manifest_files.get(name)
        if entry is not None and (entry.get("sha256") != digest or entry.get("size") != path.stat().st_size):
            raise VerificationError(f"{name}: size or SHA-256 does not match {MANIFEST}")
    return sums


def _records(pack: Path) -> Iterator[tuple[StoredRecord, int]]:
    with (pack / RECORDS).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                item = json.loads(line)
                header = canonical(item["header"])
                body = None if item["body"] is None else canonical(item["body"])
                yield StoredRecord(seq=int(item["header"]["seq"]), header=header, body=body,
                                   hash=str(item["hash"])), number
            except (ValueError, KeyError, TypeError) as exc:
                raise VerificationError(f"{RECORDS}:{number}: not a record line ({exc})") from exc


def _check_records(
    pack: Path, signer: Ed25519PublicKey, manifest: dict[str, Any]
) -> tuple[int, str, list[dict[str, Any]]]:
    key_id = fingerprint(signer)
    # A period pack (kind "period") names its runs in `runs`; a run pack names one in `run`.
    period = manifest.get("kind") == "period"
    runs = set(manifest.get("runs") or []) if period else {manifest.get("run")}
    run_bodies: list[dict[str, Any]] = []
    last_header: dict[str, Any] = {}

    def stream() -> Iterator[StoredRecord]:
        nonlocal last_header
        for record, _number in _records(pack):
            header = record.header_fields()
            last_header = header
            if header.get("run") in runs:
                # A withheld body keeps every record hash, so the chain alone
                # would not reveal a hidden record of the run.
                if record.body is None:
                    raise VerificationError(
                        f"{RECORDS}: record seq {record.seq}: the body of a record of this run "
                        "is withheld"
                    )
                run_bodies.append({"kind": header.get("kind"), **(record.body_fields() or {})})
            yield record

    try:
        head_seq, head_hash = verify_chain(stream(), lambda kid: signer if kid == key_id else None)
    except ChainError as exc:
        raise VerificationError(f"{RECORDS}: record seq {exc.seq}: {exc.what}") from exc
    expected = manifest.get("ledger_head", {})
    if head_seq != expected.get("seq") or head_hash != expected.get("hash"):
        raise VerificationError(f"{RECORDS}: chain ends at seq {head_seq}, not at the manifest's ledger head")
    if period and last_header.get("kind") != "checkpoint":
        raise VerificationError(f"{RECORDS}: the last record is not a checkpoint")
    if not period and (last_header.get("kind") != "checkpoint" or last_header.get("run") not in runs):
        raise VerificationError(f"{RECORDS}: the last record is not the run's checkpoint")
    return head_seq, head_hash, run_bodies


def _check_artifacts(bodies: list[dict[str, Any]], listed: dict[str, str]) -> int:
    count = 0
    for body in bodies:
        if body.get("kind") != "evidence":
            continue
        for artifact in body.get("artifacts", []):
            name = f"evidence/sha256/{artifact['sha256']}"
            if listed.get(name) != artifact["sha256"]:
                raise VerificationError(
                    f"{name}: evidence of {body.get('control')}/{body.get('evidence')} is missing"
                )
            count += 1
    return count
