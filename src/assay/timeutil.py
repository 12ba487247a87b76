"""RFC 3339 parsing and formatting: every stored instant is UTC with microseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# RFC 3339 with any number of fractional digits: Python's fromisoformat keeps
# at most six, and tools such as k6 (Go) and restic write up to nine.
_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_instant(text: str, *, require_offset: bool = True) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Fractional seconds past the sixth digit are truncated. A timestamp without
    an offset raises ValueError when `require_offset` is true, and is
    returned naive otherwise, because claiming it is UTC would be a guess.
    """
    match = _RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    base = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
    offset = match["offset"]
    if offset is None:
        if require_offset:
            raise ValueError(f"timestamp has no UTC offset: {text!r}")
        return base
    if offset in ("Z", "z"):
        return base.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (base - sign * delta).replace(tzinfo=UTC)


def format_instant(value: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with six fractional digits."""
    if value.tzinfo is None:
        raise ValueError("refusing to format a naive datetime as UTC")
    # isoformat pads the year to four digits, which strftime("%Y") does not
    # do on glibc for years before 1000.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_now(text: str) -> datetime:
    """Parse a `--now` value: an RFC 3339 instant, or a date meaning its UTC midnight."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    return parse_instant(text)


def from_epoch(seconds: int | float) -> datetime:
    """Convert Unix epoch seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)
