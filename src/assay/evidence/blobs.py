"""Content-addressed blob store: raw evidence kept under its SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from assay.errors import LedgerError

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
        descriptor, temp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(descriptor, "wb") as out, source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            final = self.path_for(digest)
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                os.unlink(temp_name)
            else:
                os.replace(temp_name, final)
        except OSError as exc:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
            raise LedgerError(f"cannot store {source} in {self.root}: {exc.strerror}") from exc
        return digest, size

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()
