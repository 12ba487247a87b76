"""Purging a blob on purpose (retention or erasure) without breaking verification.

The blob file is deleted and a `tombstone` record names its SHA-256 and the
reason, in a run of its own closed by a checkpoint, so `assay ledger verify`
reports the blob as purged rather than altered.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from assay.errors import UsageError
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import StoredRecord
from assay.keys import SigningKey
from assay.timeutil import format_instant

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def purge_blob(
    ledger: Ledger,
    blobs: BlobStore,
    digest: str,
    *,
    reason: str,
    key: SigningKey,
    now: datetime,
    scope: str,
) -> StoredRecord:
    """Record a tombstone for `digest`, then delete the blob; return the tombstone record.

    The tombstone is committed before the file is deleted, so a crash in
    between leaves a blob that is merely still present.
    """
    if not _SHA256.match(digest):
        raise UsageError(f"{digest!r} is not a SHA-256 in lowercase hex")
    if not reason.strip():
        raise UsageError("give the reason for purging with --reason")
    referenced = any(
        artifact.get("sha256") == digest
        for record in ledger.records_of_kind("evidence")
        for artifact in (record.body_fields() or {}).get("artifacts", [])
    )
    if not referenced:
        raise UsageError(f"no evidence record names blob {digest}")
    run = uuid.uuid4().hex
    stamp = format_instant(now)
    stored = ledger.append(run=run, scope=scope, time=stamp, entries=[
        NewRecord("tombstone", {"sha256": digest, "reason": reason, "purged_at": stamp}),
    ])
    ledger.checkpoint(run=run, scope=scope, time=stamp, key=key)
    path = blobs.path_for(digest)
    if path.exists():
        path.unlink()
    return stored[0]
