"""Strict JSON for collector inputs.

Python's json module accepts NaN, Infinity, a key repeated within one
object (keeping the last value) and an escaped lone UTF-16 surrogate such
as "\\ud800". A report that relies on the first two is ambiguous, and a lone
surrogate is not a Unicode character, so facts holding one could not be
stored as canonical JSON. All three are rejected. Positions are reported as
line:col.
"""

from __future__ import annotations

import json
import re
from typing import Any

from assay.errors import CollectorError


class _StrictJsonError(ValueError):
    """Non-standard JSON that Python's json module accepts."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _StrictJsonError(f"key {key!r} appears twice in one JSON object")
        result[key] = value
    return result


# An escape of a UTF-16 surrogate code unit, paired or not. Only texts that
# contain one are searched for lone surrogates after parsing.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(value: Any) -> str | None:
    """Return the first lone surrogate in the strings and keys of `value`, or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not item.isascii():
            # json combines an escaped pair into one character, so any
            # surrogate left in a string is a lone one.
            for character in item:
                if "\ud800" <= character <= "\udfff":
                    return character
    return None


def _reject_constant(name: str) -> Any:
    raise _StrictJsonError(f"{name} is not a JSON number")


def decode_text(data: bytes, display: str) -> str:
    """Decode UTF-8 (a leading byte-order mark is skipped), naming the bad byte's line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise CollectorError(
            f"invalid UTF-8 (byte 0x{data[start]:02x}); save the file as UTF-8",
            path=display, location=f"{line}:{column}",
        ) from exc


def loads_strict(text: str, display: str, *, expected: str, hint_extra_data: str = "") -> Any:
    """Parse one strict JSON document from `text`.

    `expected` names what the file should contain, for the empty-file
    message; `hint_extra_data` is appended when data follows the first value.
    """
    if not text.strip():
        raise CollectorError(f"file is empty; expected {expected}", path=display)
    try:
        document = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = hint_extra_data if exc.msg == "Extra data" else ""
        raise CollectorError(
            f"invalid JSON: {exc.msg}{hint}", path=display, location=f"{exc.lineno}:{exc.colno}"
        ) from exc
    except _StrictJsonError as exc:
        raise CollectorError(f"invalid JSON: {exc}", path=display) from exc
    except RecursionError as exc:
        raise CollectorError("invalid JSON: nested too deeply to parse", path=display) from exc
    if _SURROGATE_ESCAPE.search(text):
        _reject_lone_surrogate(text, document, display)
    return document


def _reject_lone_surrogate(text: str, document: Any, display: str) -> None:
    surrogate = _lone_surrogate(document)
    if surrogate is None:
        return
    escape = f"\\u{ord(surrogate):04x}"
    start = text.lower().find(escape)
    location = None
    if start >= 0:
        line = text.count("\n", 0, start) + 1
        location = f"{line}:{start - (text.rfind(chr(10), 0, start) + 1) + 1}"
    raise CollectorError(
        f"invalid JSON: {escape} is a lone UTF-16 surrogate, not a Unicode character; "
        "write the character itself or a surrogate pair",
        path=display, location=location,
    )


def load_strict(data: bytes, display: str, *, expected: str, hint_extra_data: str = "") -> Any:
    """Decode and parse one strict JSON document from raw bytes."""
    return loads_strict(
        decode_text(data, display), display, expected=expected, hint_extra_data=hint_extra_data
    )
