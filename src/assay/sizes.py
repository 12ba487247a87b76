"""Byte sizes as people write them in settings and options: `2GiB`, `500MB`, `1048576`."""

from __future__ import annotations

import re

# Decimal (SI) and binary (IEC) size units.
SIZE_UNITS = {
    "": 1, "B": 1,
    "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
    "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4,
}
_SIZE = re.compile(r"^\s*([0-9]+)\s*([A-Za-z]*)\s*$")


class SizeError(ValueError):
    """A size that is not a whole number of bytes or a number with a known unit."""


def parse_size(text: str) -> int:
    """Parse a size such as `2GiB`, `500MB` or `1048576` (bytes) into bytes.

    Units are case-insensitive: KB, MB, GB and TB are powers of 1000, and
    KiB, MiB, GiB and TiB powers of 1024. Raises SizeError for anything
    else, and for zero.
    """
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in SIZE_UNITS:
        raise SizeError(
            f"{text!r}: invalid size; write a whole number of bytes, or a whole number "
            "followed by a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB "
            "(powers of 1024), e.g. 2GiB or 500MB"
        )
    size = int(match.group(1)) * SIZE_UNITS[unit]
    if size == 0:
        raise SizeError(f"{text!r}: the size must be larger than zero")
    return size
