"""Opening input files that must be regular files, without blocking on a FIFO.

Collectors read their inputs through these functions, and so does the blob
store when it copies a file a collector named.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from assay.errors import CollectorError


def open_regular_file(path: Path, display: str, role: str = "input") -> BinaryIO:
    """Open `path` for reading in binary mode, raising CollectorError unless it is a regular file.

    `role` names the file in the error when it cannot be opened.

    The file is opened with O_NONBLOCK and checked with fstat on the open
    descriptor. So a FIFO put in place of the file after an earlier check
    (resolve_input, a glob) is rejected, where a plain open would block
    until a writer appears. O_NONBLOCK is cleared again before reading.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise CollectorError(f"cannot read {role}: {exc.strerror}", path=display) from exc
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise CollectorError(
                f"is a {file_kind(mode)}, not a regular file; point the collector at a regular file",
                path=display,
            )
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def file_kind(mode: int) -> str:
    """Name the kind of a file that is not regular, for error messages."""
    kinds = (
        (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "folder"),
    )
    return next((name for test, name in kinds if test(mode)), "special file")
