"""Reading line-oriented inputs that may be gzip-compressed and larger than memory."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from assay.errors import CollectorError
from assay.evidence.regular_files import open_regular_file

GZIP_MAGIC = b"\x1f\x8b"

# Streamed inputs may be larger than MAX_INPUT_BYTES. This chosen default
# bounds the work of one collection, and each streaming collector's
# `max_bytes` parameter raises it.
MAX_STREAM_BYTES = 64 * 1024**3


def read_stream(path: Path, display: str, read: Callable[[IO[bytes], bool], int]) -> int:
    """Open `path`, decompressing gzip when its magic bytes say so, and return `read(handle, compressed)`.

    A path that is not a regular file (a FIFO, a device) is rejected before
    any read. Read errors, truncated gzip data and invalid gzip data become
    CollectorError naming `display`.
    """
    raw_file = open_regular_file(path, display)
    try:
        with raw_file as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
                    return read(handle, True)
            return read(raw, False)
    except OSError as exc:
        # gzip.BadGzipFile is an OSError without strerror.
        reason = exc.strerror or str(exc)
        raise CollectorError(f"cannot read input: {reason}", path=display) from exc
    except EOFError as exc:
        raise CollectorError("gzip data ends early; the file is truncated", path=display) from exc
    except zlib.error as exc:
        raise CollectorError(f"invalid gzip data: {exc}", path=display) from exc
