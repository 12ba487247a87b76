"""Strict JSON for collector inputs.

Python's json module accepts NaN, Infinity and a key repeated within one
object, keeping the last value. A report that relies on either is ambiguous,
so both are rejected. Positions are reported as line:col.
"""

from __future__ import annotations

import json
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
        return json.loads(text, object_pairs_hook=_unique_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = hint_extra_data if exc.msg == "Extra data" else ""
        raise CollectorError(
            f"invalid JSON: {exc.msg}{hint}", path=display, location=f"{exc.lineno}:{exc.colno}"
        ) from exc
    except _StrictJsonError as exc:
        raise CollectorError(f"invalid JSON: {exc}", path=display) from exc
    except RecursionError as exc:
        raise CollectorError("invalid JSON: nested too deeply to parse", path=display) from exc


def load_strict(data: bytes, display: str, *, expected: str, hint_extra_data: str = "") -> Any:
    """Decode and parse one strict JSON document from raw bytes."""
    return loads_strict(
        decode_text(data, display), display, expected=expected, hint_extra_data=hint_extra_data
    )
