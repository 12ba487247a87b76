"""Content-addressed blob store: raw evidence kept under its SHA-256."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from assay.errors import CollectorError, LedgerError
from assay.evidence.regular_files import open_regular_file
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
        """Copy `source` into the store; return its SHA-256 hex and size in bytes.

        Raises CollectorError when `source` cannot be read, and LedgerError
        when the store cannot be written (a full disk, a file size limit),
        after removing the temporary file.
        """
        handle = open_regular_file(source, str(source), "the file to store")
        with handle:
            try:
                return self._copy_in(handle, source)
            except OSError as exc:
                raise LedgerError(
                    f"cannot store {source} in the blob store {self.root}: {_describe(exc)}; "
                    "free space on that file system (or raise its quota or file size limit) "
                    "and run again"
                ) from exc

    def _copy_in(self, src: BinaryIO, source: Path) -> tuple[str, int]:
        # OSError from writing the store propagates; a read error of `source`
        # becomes CollectorError. Either way the temporary file is removed.
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fault_point("blob.before_write")
        descriptor, temp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(descriptor, "wb") as out:
                while chunk := _read_chunk(src, source):
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
        except BaseException:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
            raise
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


def _read_chunk(src: BinaryIO, source: Path) -> bytes:
    try:
        return src.read(_CHUNK)
    except OSError as exc:
        raise CollectorError(f"cannot read the file to store: {exc.strerror}", path=str(source)) from exc


def _describe(exc: OSError) -> str:
    """Return an OSError's message with its errno name, e.g. "File too large (EFBIG)"."""
    name = errno.errorcode.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry itself is on disk.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
