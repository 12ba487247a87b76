"""Signed attestations of manual controls: recording them and judging them at run time.

An attestation is a document signed with Ed25519 by a person listed under
`people` in assay.yaml:

    {"control", "by", "note", "file": {"path", "sha256"} (only when a file is
     attached), "attested_at", "expires_at", "key_id"}

The signature covers ATTESTATION_DOMAIN followed by the document's canonical
JSON (RFC 8785). `assay attest` writes the document and its base64 signature
to attestations/<control>-<time>.json and appends them to the ledger as an
`attestation` record, in a run of its own closed by a checkpoint signed with
the workspace key. A run reads the attestations back from the ledger and
checks each against the people in assay.yaml as they are at that run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assay.config import BLOBS_DIR, ledger_url
from assay.controls.loader import LoadedPerson, Workspace, load_workspace
from assay.controls.model import Control, duration_seconds
from assay.errors import KeyFileError, UsageError
from assay.evidence import collectors
from assay.evidence.blobs import BlobStore
from assay.evidence.collectors.base import relative_name
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import StoredRecord, canonical
from assay.keys import (
    SigningKey,
    load_signing_key,
    load_signing_key_file,
    signature_valid,
    trust,
    trusted_key_name,
)
from assay.timeutil import format_instant, parse_now

ATTESTATION_DOMAIN = b"assay.attestation.v1\x00"
ATTESTATIONS_DIR = "attestations"
_TEXT_FIELDS = ("control", "by", "note", "attested_at", "expires_at", "key_id")


def attestation_message(document: Mapping[str, Any]) -> bytes:
    """Build the bytes an attestation signature covers."""
    return ATTESTATION_DOMAIN + canonical(dict(document))


def sign_document(document: Mapping[str, Any], key: SigningKey) -> str:
    """Sign an attestation document; return the signature in base64."""
    return base64.b64encode(key.sign(attestation_message(document))).decode()


def build_document(
    *,
    control: str,
    by: str,
    note: str,
    attested_at: datetime,
    expires_at: datetime,
    key_id: str,
    file: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build an attestation document; `file` is {"path", "sha256"} of an attached file."""
    document: dict[str, Any] = {
        "control": control,
        "by": by,
        "note": note,
        "attested_at": format_instant(attested_at),
        "expires_at": format_instant(expires_at),
        "key_id": key_id,
    }
    if file is not None:
        document["file"] = {"path": file["path"], "sha256": file["sha256"]}
    return document


@dataclass(frozen=True)
class Attestation:
    """An attestation whose signature, signer and role check out."""

    control: str
    by: str
    note: str
    attested_at: datetime
    expires_at: datetime
    key_id: str
    file: str
    attached: dict[str, str] | None
    seq: int

    def summary(self) -> dict[str, Any]:
        """Return what a result record shows about the attestation that applied to it."""
        return {
            "by": self.by,
            "attested_at": format_instant(self.attested_at),
            "expires": format_instant(self.expires_at),
            "file": self.file,
            "attached": self.attached,
            "seq": self.seq,
        }


class InvalidAttestation(Exception):
    """An attestation record that does not count, with the reason."""


@dataclass
class AttestationReview:
    """The attestations of one control as judged at one instant."""

    in_force: Attestation | None = None
    reasons: list[str] = field(default_factory=list)


def check_attestation(
    body: Mapping[str, Any], seq: int, control: Control, people: Mapping[str, LoadedPerson]
) -> Attestation:
    """Verify one `attestation` record body against `people`.

    The checks are: the document is well formed and names `control`, its
    signer is listed, the key id is that person's key, the signature
    verifies over the document, and the person has the control's role.
    The times are not judged here. Raises InvalidAttestation, with the
    reason, when the record does not count.
    """
    document = body.get("document")
    if not isinstance(document, dict):
        raise InvalidAttestation("the record contains no attestation document")
    for name in _TEXT_FIELDS:
        if not isinstance(document.get(name), str):
            raise InvalidAttestation(f"the document has no text field {name!r}")
    if document["control"] != control.id:
        raise InvalidAttestation(f"the document attests {document['control']}, not {control.id}")
    by = document["by"]
    person = people.get(by)
    if person is None:
        raise InvalidAttestation(f"{by!r} is not listed under people in assay.yaml")
    if document["key_id"] != person.key_id:
        raise InvalidAttestation(
            f"signed with key {document['key_id']}, which is not the key of {by} in assay.yaml "
            f"({person.key_id})"
        )
    try:
        signature = base64.b64decode(str(body.get("signature")), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAttestation("the signature is not base64") from None
    try:
        message = attestation_message(document)
    except ValueError as exc:
        raise InvalidAttestation(f"the document cannot be canonicalised ({exc})") from None
    if not signature_valid(person.public_key, signature, message):
        raise InvalidAttestation(
            f"the signature does not verify with the key of {by}, so either the document was "
            "altered after signing or another key signed it"
        )
    role = control.manual.role if control.manual is not None else None
    if role is not None and role not in person.roles:
        roles = ", ".join(person.roles) or "none"
        raise InvalidAttestation(
            f"{by} does not hold role {role!r}, which {control.id} requires (roles held: {roles})"
        )
    try:
        attested_at = parse_now(document["attested_at"])
        expires_at = parse_now(document["expires_at"])
    except ValueError as exc:
        raise InvalidAttestation(f"the document has an invalid time ({exc})") from None
    attached = document.get("file")
    return Attestation(
        control=control.id, by=by, note=document["note"], attested_at=attested_at,
        expires_at=expires_at, key_id=document["key_id"], file=str(body.get("file")),
        attached=dict(attached) if isinstance(attached, dict) else None, seq=seq,
    )


def effective_expiry(attestation: Attestation, control: Control) -> datetime:
    """Return when `attestation` stops counting: its own expiry, or attestation_every after it
    was signed if the control's current setting ends it earlier."""
    if control.manual is None:
        return attestation.expires_at
    limit = attestation.attested_at + timedelta(seconds=control.manual.attestation_every_seconds)
    return min(attestation.expires_at, limit)


def review_attestations(
    records: Iterable[StoredRecord],
    control: Control,
    people: Mapping[str, LoadedPerson],
    now: datetime,
) -> AttestationReview:
    """Pick the latest valid attestation of `control` in force at `now` (attested_at <= now < expiry).

    `records` are `attestation` records of complete runs. The reasons
    explain the outcome. They name every record that does not count and
    why, and when none is in force, why the latest valid one is not.
    """
    review = AttestationReview()
    valid: list[Attestation] = []
    seen = 0
    for record in records:
        body = record.body_fields() or {}
        document = body.get("document")
        if not isinstance(document, dict) or document.get("control") != control.id:
            continue
        seen += 1
        try:
            valid.append(check_attestation(body, record.seq, control, people))
        except InvalidAttestation as exc:
            review.reasons.append(
                f"attestation {body.get('file')} (ledger seq {record.seq}) does not count: {exc}"
            )
    in_force = [
        a for a in valid if a.attested_at <= now < effective_expiry(a, control)
    ]
    if in_force:
        chosen = max(in_force, key=lambda a: (a.attested_at, a.seq))
        review.in_force = chosen
        until = format_instant(effective_expiry(chosen, control))
        review.reasons.insert(
            0,
            f"attested by {chosen.by} at {format_instant(chosen.attested_at)}, in force until "
            f"{until}: {chosen.note}",
        )
        return review
    if seen == 0:
        review.reasons.insert(
            0, f"no attestation recorded; record one with `assay attest {control.id} --by NAME`"
        )
        return review
    earlier = [a for a in valid if a.attested_at <= now]
    if earlier:
        latest = max(earlier, key=lambda a: (a.attested_at, a.seq))
        review.reasons.insert(
            0,
            f"the latest attestation, by {latest.by} at {format_instant(latest.attested_at)}, "
            f"expired at {format_instant(effective_expiry(latest, control))}",
        )
    elif valid:
        first = min(valid, key=lambda a: a.attested_at)
        review.reasons.insert(
            0,
            f"the first attestation, by {first.by}, is dated {format_instant(first.attested_at)}, "
            "after the run's now",
        )
    return review


def recorded_attestations(ledger: Ledger) -> list[StoredRecord]:
    """Return the `attestation` records of complete runs; a run without a checkpoint counts for nothing.

    NOTE: the records of every scope are returned. An attestation is recorded
    under the workspace's scope but counts in runs of any scope.
    """
    complete = ledger.complete_runs()
    return [
        record for record in ledger.records_of_kind("attestation")
        if record.header_fields()["run"] in complete
    ]


def expiry_from_option(text: str | None, now: datetime, control: Control) -> datetime:
    """Turn `--expires` (a duration such as 90d, or an instant) into an instant after `now`.

    Without the option the attestation expires attestation_every after `now`.
    An expiry later than that is rejected, because the control requires an
    attestation at least that often.
    """
    assert control.manual is not None
    every = timedelta(seconds=control.manual.attestation_every_seconds)
    if text is None:
        return now + every
    try:
        expires_at = now + timedelta(seconds=duration_seconds(text))
    except ValueError:
        try:
            expires_at = parse_now(text)
        except ValueError:
            raise UsageError(
                f"--expires: {text!r} is neither a duration (90d) nor an instant "
                "(2027-01-31T18:00:00+02:00)"
            ) from None
    if expires_at <= now:
        raise UsageError(
            f"--expires: {format_instant(expires_at)} is not after now ({format_instant(now)})"
        )
    if expires_at > now + every:
        raise UsageError(
            f"--expires: {format_instant(expires_at)} is later than attestation_every "
            f"({control.manual.attestation_every}) after now; {control.id} must be attested at "
            "least that often"
        )
    return expires_at


@dataclass
class AttestResult:
    """A recorded attestation: its document, its file and its ledger record."""

    document: dict[str, Any]
    path: Path
    record: StoredRecord


def attest_control(
    workspace_dir: Path,
    control_id: str,
    *,
    by: str,
    note: str,
    key_path: Path,
    now: datetime,
    attached: Path | None = None,
    expires: str | None = None,
    ledger_option: str | None = None,
) -> AttestResult:
    """Sign an attestation of `control_id` with `by`'s key, write it and record it in the ledger.

    An attestation that would not count (unknown person, missing role, a key
    that is not the person's) is rejected before anything is written.
    """
    workspace = load_workspace(workspace_dir)
    control = _manual_control(workspace, control_id)
    if not note.strip():
        raise UsageError("--note: the note is empty; say what the person checked")
    person = workspace.people.get(by)
    if person is None:
        hint = collectors.suggest(by, sorted(workspace.people))
        raise UsageError(f"--by: {by!r} is not listed under people in assay.yaml{hint}")
    role = control.manual.role if control.manual is not None else None
    if role is not None and role not in person.roles:
        raise UsageError(
            f"--by: {by} does not hold role {role!r}, which {control.id} requires; "
            "add the role to the person in assay.yaml"
        )
    person_key = load_signing_key_file(key_path)
    if person_key.key_id != person.key_id:
        raise KeyFileError(
            f"{key_path}: key {person_key.key_id} is not the key of {by} in assay.yaml "
            f"({person.key_id})"
        )
    expires_at = expiry_from_option(expires, now, control)
    workspace_key = _workspace_key(workspace)

    file_entry = None
    if attached is not None:
        if not attached.is_file():
            raise UsageError(f"--file: {attached} is not a file")
        digest, _size = BlobStore(workspace.root / BLOBS_DIR).put_file(attached)
        file_entry = {"path": relative_name(workspace.root, attached), "sha256": digest}
    document = build_document(
        control=control.id, by=by, note=note, attested_at=now, expires_at=expires_at,
        key_id=person_key.key_id, file=file_entry,
    )
    signature = sign_document(document, person_key)

    # The file is written first, so that a name clash stops the command
    # before anything is recorded, and removed again if recording fails.
    path = _write_attestation_file(workspace.root, control.id, now, document, signature)
    body = {
        "document": document, "signature": signature,
        "file": path.relative_to(workspace.root).as_posix(),
    }
    try:
        ledger = Ledger(ledger_url(workspace.root, workspace.config, ledger_option))
        try:
            record = _record(ledger, body, workspace_key, workspace.config.scope, now)
        finally:
            ledger.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return AttestResult(document=document, path=path, record=record)


def _manual_control(workspace: Workspace, control_id: str) -> Control:
    by_id = {loaded.control.id: loaded.control for loaded in workspace.controls}
    control = by_id.get(control_id)
    if control is None:
        hint = collectors.suggest(control_id, sorted(by_id))
        raise UsageError(f"unknown control {control_id!r}{hint}")
    if control.manual is None:
        raise UsageError(
            f"{control_id} is not a manual control (it has no `manual:` block); only manual "
            "controls take attestations"
        )
    return control


def _workspace_key(workspace: Workspace) -> SigningKey:
    """Load the workspace signing key, which signs the checkpoint closing the attestation's run.

    As in `assay run`, the first key of a workspace becomes trusted, and a key
    that is not among the trusted keys is rejected, because its checkpoint
    would not verify.
    """
    config = workspace.config
    key = load_signing_key(workspace.root / config.signing_key if config.signing_key else None)
    trusted_dir = workspace.root / config.trusted_keys
    if not (trusted_dir.is_dir() and any(trusted_dir.glob("*.pem"))):
        trust(key.public, trusted_dir)
    elif not (trusted_dir / trusted_key_name(key.public)).is_file():
        raise KeyFileError(
            f"signing key {key.key_id} is not among the trusted keys in {trusted_dir}, so the "
            "checkpoint closing the attestation would not verify"
        )
    return key


def _write_attestation_file(
    root: Path, control_id: str, now: datetime, document: dict[str, Any], signature: str
) -> Path:
    folder = root / ATTESTATIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{control_id}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    text = json.dumps({"document": document, "signature": signature}, indent=2, sort_keys=True) + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(
            f"{path}: already exists; an attestation of {control_id} was recorded at the same "
            "second, so pass another --now or wait a second"
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _record(
    ledger: Ledger, body: dict[str, Any], key: SigningKey, scope: str, now: datetime
) -> StoredRecord:
    """Append the attestation in a run of its own and close that run with a checkpoint."""
    run = uuid.uuid4().hex
    stamp = format_instant(now)
    stored = ledger.append(run=run, scope=scope, time=stamp, entries=[NewRecord("attestation", body)])
    ledger.checkpoint(run=run, scope=scope, time=stamp, key=key)
    return stored[0]
