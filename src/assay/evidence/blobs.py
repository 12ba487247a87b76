"""Content-addressed blob store: raw evidence kept under its SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from assay.errors import LedgerError
from assay.faults import fault_point

_CHUNK = 1024 * 1024


class BlobStore:
    """Files stored as `<root>/<first two hex digits>/<sha256 hex>`.

    A blob is written to a temporary file in the same directory, fsynced and
    renamed, so a crash never leaves a partial blob under its final name.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy `source` into the store; return its SHA-256 hex and size in bytes."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fault_point("blob.before_write")
        descriptor, temp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(descriptor, "wb") as out, source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                    fault_point("blob.during_write")
                out.flush()
                fault_point("blob.before_fsync")
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            final = self.path_for(digest)
            final.parent.mkdir(exist_ok=True)
            fault_point("blob.before_rename")
            if final.exists():
                os.unlink(temp_name)
            else:
                os.replace(temp_name, final)
                _fsync_directory(final.parent)
            fault_point("blob.after_rename")
        except OSError as exc:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
            raise LedgerError(f"cannot store {source} in {self.root}: {exc.strerror}") from exc
        return digest, size

    def check(self, digest: str) -> str | None:
        """Return None when the blob is present and intact, else what is wrong with it."""
        path = self.path_for(digest)
        if not path.is_file():
            return "missing"
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != digest:
            return "content no longer matches its SHA-256"
        return None

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry itself is on disk.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
