"""Collector for Locust's request statistics, the `PREFIX_stats.csv` that `--csv PREFIX` writes.

Tested with the file of Locust 2.47.0. Columns are found by header name, in
either of the two naming schemes Locust has used: the one written by 1.x and
2.x and the one written by 0.x releases, which Locust 1.0 renamed.

    1.x and 2.x            0.x
    Type                   Type (Method in the older _requests.csv)
    Request Count          # requests
    Failure Count          # failures
    Median Response Time   Median response time
    Average Response Time  Average response time
    Min Response Time      Min response time
    Max Response Time      Max response time
    Requests/s             Requests/s
    50%, 66%, ... 100%     the same, with 99.999th written as "99.999" by some 0.x releases

The totals come from the aggregated row: Type empty (Locust 1.1 and later
write None as "") or "None" (earlier releases), and Name "Aggregated"
(0.12.2 and later) or "Total" (earlier). Locust writes "N/A" for every
percentile of a row without requests. Such a percentile is left out of the
facts with its reason in `absent`, never set to 0.

The stats file contains no time, so observed_at is None unless the optional
`history` parameter names the sibling `PREFIX_stats_history.csv`, whose last
Timestamp (Unix seconds) becomes observed_at.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    read_input_bytes,
    relative_name,
    resolve_single_input,
)
from assay.evidence.collectors.jsonload import decode_text
from assay.evidence.records import MAX_SAFE_INTEGER
from assay.timeutil import from_epoch

# Each column the collector reads, and the header names Locust has given it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("Type", "Method"),
    "name": ("Name",),
    "requests": ("Request Count", "# requests"),
    "failures": ("Failure Count", "# failures"),
    "median": ("Median Response Time", "Median response time"),
    "avg": ("Average Response Time", "Average response time"),
    "min": ("Min Response Time", "Min response time"),
    "max": ("Max Response Time", "Max response time"),
    "rps": ("Requests/s",),
}
REQUIRED = ("type", "name", "requests", "failures")

# Columns Locust writes that no fact is read from.
IGNORED_COLUMNS = frozenset({"Average Content Size", "Failures/s", "Requests Failed/s"})

PERCENTILE_COLUMN = re.compile(r"([0-9]+(?:\.[0-9]+)?)%")
# Some Locust 0.x releases named the 99.999th percentile column without the percent sign.
PERCENTILE_WITHOUT_SIGN = "99.999"

AGGREGATED_NAMES = ("Aggregated", "Total")
AGGREGATED_TYPES = ("", "None")
NOT_AVAILABLE = "N/A"
WHOLE_NUMBER = re.compile(r"[0-9]+")
DECIMAL_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

# Ends the message of an error that finds no Locust statistics at all.
_EXPECTED_FILE = "expected the PREFIX_stats.csv that locust --csv PREFIX writes"


class LocustParams(CollectorParams):
    """Parameters of the locust.csv collector."""

    path: str = Field(description="The PREFIX_stats.csv file, relative to the workspace.")
    history: str | None = Field(default=None, description="The PREFIX_stats_history.csv of "
                                "the same run, relative to the workspace. Its last Timestamp "
                                "becomes observed_at; without it observed_at is not set.")


@dataclass
class _Row:
    """One data row: its line, Type, Name and cells by column key or percentile fact name."""

    line: int
    type: str
    name: str
    cells: dict[str, str]


@dataclass
class _Layout:
    """Positions of the columns read, by column key or percentile fact name."""

    positions: dict[str, int]
    percentiles: dict[str, str]  # fact name (p99_9_ms) -> header name (99.9%)
    ignored: list[str]


# Ends the description of every *_ms fact.
_OF_AGGREGATED = "of the aggregated row, in milliseconds, as Locust computed it."


class LocustCsv(Collector):
    name = "locust.csv"
    version = "1"
    summary = "Read Locust's request statistics CSV (PREFIX_stats.csv from --csv PREFIX)."
    Params = LocustParams
    facts = (
        _fact("requests", "int", "requests", "Requests of the aggregated row (Request Count)."),
        _fact("failed_requests", "int", "requests",
              "Failed requests of the aggregated row (Failure Count)."),
        _fact("error_rate_ratio", "number", "ratio", "failed_requests / requests, from 0 to 1. "
              "Absent when the aggregated row counts no requests."),
        _fact("requests_per_second", "number", "1/s", "Requests/s of the aggregated row, which "
              "Locust computes as requests over the seconds from the start to the last request."),
        _fact("avg_ms", "number", "ms", f"Average response time {_OF_AGGREGATED}"),
        _fact("min_ms", "number", "ms", f"Minimum response time {_OF_AGGREGATED}"),
        _fact("max_ms", "number", "ms", f"Maximum response time {_OF_AGGREGATED}"),
        _fact("p50_ms", "number", "ms", f"50% column {_OF_AGGREGATED} Median Response Time "
              "when the file has no 50% column."),
        _fact("p90_ms", "number", "ms", f"90% column {_OF_AGGREGATED}"),
        _fact("p95_ms", "number", "ms", f"95% column {_OF_AGGREGATED}"),
        _fact("p99_ms", "number", "ms", f"99% column {_OF_AGGREGATED}"),
        _fact("p*_ms", "number", "ms", "Every other percentile column of the aggregated row, "
              "named after it: 66% is p66_ms, 99.9% is p99_9_ms, 100% is p100_ms."),
        _fact("by_name", "map", None, 'Map from "Type Name" (the Name alone when Type is '
              "empty) of every other row to {requests, failed_requests, p95_ms, p99_ms}. "
              "A percentile Locust wrote as N/A is left out of its row."),
    )  # fmt: skip

    def collect(self, params: LocustParams, context: CollectContext) -> Collected:
        """Read one stats file, and the history file if given, and return the facts."""
        file = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, file)
        text = decode_text(read_input_bytes(file, display), display)
        layout, rows = _read_stats(text, display)

        aggregated = _aggregated_row(rows, display)
        facts, absent, failures = _aggregated_facts(aggregated, layout, display)
        warnings: list[str] = []
        if layout.ignored:
            warnings.append(f"{display}: columns not read: {', '.join(layout.ignored)}")
        facts["by_name"] = _by_name(rows, aggregated, layout, display, warnings)

        artifacts = [file]
        observed_at = None
        if params.history is not None:
            history = resolve_single_input(context.workspace, params.history)
            history_display = relative_name(context.workspace, history)
            history_text = decode_text(read_input_bytes(history, history_display), history_display)
            observed_at = _last_timestamp(history_text, history_display, warnings)
            artifacts.append(history)
        return Collected(facts=facts, artifacts=artifacts, observed_at=observed_at,
                         absent=absent, failures=failures, warnings=warnings)


# Reading the stats file


def _read_stats(text: str, display: str) -> tuple[_Layout, list[_Row]]:
    """Parse the header and every data row of a stats CSV."""
    if not text.strip():
        raise CollectorError(f"file is empty; {_EXPECTED_FILE}", path=display)
    if text.lstrip()[:1] in ("{", "["):
        raise CollectorError(
            f"file is JSON, not CSV (locust --json writes JSON to stdout); {_EXPECTED_FILE}",
            path=display,
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _next_row(reader, display) or []
    layout = _layout(header, display)

    rows: list[_Row] = []
    while True:
        line = reader.line_num + 1  # where the next row starts
        row = _next_row(reader, display)
        if row is None:
            return layout, rows
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            raise CollectorError(
                f"row has {len(row)} fields but the header has {len(header)}, "
                "so the file may be truncated",
                path=display, location=str(line),
            )
        cells = {key: row[position] for key, position in layout.positions.items()}
        rows.append(_Row(line, cells.pop("type"), cells.pop("name"), cells))


def _next_row(reader: Any, display: str) -> list[str] | None:
    """Return the next CSV row, or None at the end of the file."""
    line = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        hint = " (the file may be truncated)" if "unexpected end of data" in str(exc) else ""
        raise CollectorError(
            f"invalid CSV: {exc}{hint}", path=display, location=str(line)
        ) from exc


def _layout(header: list[str], display: str) -> _Layout:
    """Find each known column by name, or raise naming the columns found."""
    positions: dict[str, int] = {}
    percentiles: dict[str, str] = {}
    ignored: list[str] = []
    key_of = {name: key for key, names in COLUMNS.items() for name in names}
    for position, name in enumerate(header):
        key = key_of.get(name) or _percentile_fact(name)
        if key is None:
            if name not in IGNORED_COLUMNS:
                ignored.append(name)
            continue
        if key in positions:
            first = header[positions[key]]
            raise CollectorError(f"columns {first!r} and {name!r} are two names for the same "
                                 "value, so the file should have only one of them",
                                 path=display, location="1")
        positions[key] = position
        if key not in COLUMNS:
            percentiles[key] = name

    missing = [key for key in REQUIRED if key not in positions]
    if missing:
        missing_names = ", ".join(_alternatives(COLUMNS[key]) for key in missing)
        found = ", ".join(header[:30]) or "none"
        raise CollectorError(
            f"not a Locust stats CSV: missing columns {missing_names}. Columns found: {found}. "
            "Pass the PREFIX_stats.csv that locust --csv PREFIX writes.",
            path=display, location="1",
        )
    return _Layout(positions, percentiles, ignored)


def _alternatives(names: tuple[str, ...]) -> str:
    """Format header names as "Request Count (or # requests)"."""
    if len(names) == 1:
        return names[0]
    return f"{names[0]} (or {', '.join(names[1:])})"


def _percentile_fact(header_name: str) -> str | None:
    """Return the fact name of a percentile column ("99.9%" -> "p99_9_ms"), or None."""
    if header_name == PERCENTILE_WITHOUT_SIGN:
        number = header_name
    else:
        match = PERCENTILE_COLUMN.fullmatch(header_name)
        if match is None:
            return None
        number = match[1]
    return "p" + number.replace(".", "_") + "_ms"


# Facts


def _aggregated_row(rows: list[_Row], display: str) -> _Row:
    found = [row for row in rows
             if row.name in AGGREGATED_NAMES and row.type in AGGREGATED_TYPES]
    if not found:
        raise CollectorError(
            "no aggregated row (Name 'Aggregated' or 'Total' with an empty or 'None' Type). "
            "Locust writes it last, so the file may be truncated",
            path=display,
        )
    if len(found) > 1:
        lines = ", ".join(str(row.line) for row in found)
        raise CollectorError(f"several aggregated rows, on lines {lines}, but a stats file "
                             "has one", path=display)
    return found[0]


def _aggregated_facts(
    row: _Row, layout: _Layout, display: str
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Read the facts of the aggregated row, with a reason in `absent` for each missing one."""
    requests = _count(row, "requests", display)
    failed = _count(row, "failures", display)
    facts: dict[str, Any] = {"requests": requests, "failed_requests": failed}
    absent: dict[str, str] = {}
    failures: list[str] = []
    # NOTE: Locust releases before about 0.11 counted only successful requests in
    # "# requests". For a file from one of them, error_rate_ratio overstates the failures.
    if failed > requests:
        raise CollectorError(f"the aggregated row counts {failed} failures but only "
                             f"{requests} requests", path=display, location=str(row.line))

    if "rps" in row.cells:
        facts["requests_per_second"] = _number(row, "rps", display)
    else:
        absent["requests_per_second"] = "the file has no Requests/s column"

    if requests == 0:
        failures.append(f"the aggregated row of {display} counts no requests")
        reason = "the aggregated row counts no requests, and Locust writes 0 or N/A for its times"
        for name in ("error_rate_ratio", "avg_ms", "min_ms", "max_ms",
                     *_percentile_names(layout)):
            absent[name] = reason
        return facts, absent, failures

    facts["error_rate_ratio"] = failed / requests
    for fact, key, header in (("avg_ms", "avg", "Average Response Time"),
                              ("min_ms", "min", "Min Response Time"),
                              ("max_ms", "max", "Max Response Time")):
        if key in row.cells:
            facts[fact] = _number(row, key, display)
        else:
            absent[fact] = f"the file has no {header} column"
    _read_percentiles(row, layout, display, facts, absent)
    return facts, absent, failures


def _percentile_names(layout: _Layout) -> list[str]:
    return list(dict.fromkeys(("p50_ms", "p90_ms", "p95_ms", "p99_ms", *layout.percentiles)))


def _read_percentiles(
    row: _Row, layout: _Layout, display: str, facts: dict[str, Any], absent: dict[str, str]
) -> None:
    columns = ", ".join(layout.percentiles.values()) or "none"
    for fact in _percentile_names(layout):
        header = layout.percentiles.get(fact)
        if header is None:
            if fact == "p50_ms" and "median" in row.cells:
                facts[fact] = _number(row, "median", display)
            else:
                absent[fact] = (f"the file has no {fact[1:-3]}% column "
                                f"(percentile columns found: {columns})")
        elif row.cells[fact] == NOT_AVAILABLE:
            absent[fact] = f"Locust wrote N/A in the {header} column of the aggregated row"
        else:
            facts[fact] = _number(row, fact, display)


def _by_name(
    rows: list[_Row], aggregated: _Row, layout: _Layout, display: str, warnings: list[str]
) -> dict[str, dict[str, Any]]:
    """Summarise every row except the aggregated one, keyed by "Type Name"."""
    result: dict[str, dict[str, Any]] = {}
    sums = {"requests": 0, "failed_requests": 0}
    for row in rows:
        if row is aggregated:
            continue
        key = f"{row.type} {row.name}" if row.type else row.name
        if key in result:
            raise CollectorError(f"{key!r} appears on two rows", path=display,
                                 location=str(row.line))
        entry: dict[str, Any] = {
            "requests": _count(row, "requests", display),
            "failed_requests": _count(row, "failures", display),
        }
        for fact in ("p95_ms", "p99_ms"):
            if fact in layout.percentiles and row.cells[fact] != NOT_AVAILABLE:
                entry[fact] = _number(row, fact, display)
        result[key] = entry
        sums["requests"] += entry["requests"]
        sums["failed_requests"] += entry["failed_requests"]

    # Locust adds every request to its own row and to the aggregated row alike.
    totals = {"requests": _count(aggregated, "requests", display),
              "failed_requests": _count(aggregated, "failures", display)}
    if result and sums != totals:
        warnings.append(f"{display}: the rows add up to {sums['requests']} requests and "
                        f"{sums['failed_requests']} failures, but the aggregated row counts "
                        f"{totals['requests']} and {totals['failed_requests']}")
    return dict(sorted(result.items()))


def _count(row: _Row, key: str, display: str) -> int:
    text = row.cells[key]
    if WHOLE_NUMBER.fullmatch(text) is None:
        raise CollectorError(f"{_header_label(key)} {text!r} is not a whole number",
                             path=display, location=str(row.line))
    return _safe_integer(text, key, row, display)


def _safe_integer(text: str, key: str, row: _Row, display: str) -> int:
    """Return a whole number of at most 2**53 - 1, the largest integer the ledger's JSON represents exactly."""
    # Checking the length first keeps int() away from its 4300-digit limit.
    digits = text.lstrip("0")
    if len(digits) > len(str(MAX_SAFE_INTEGER)) or int(digits or "0") > MAX_SAFE_INTEGER:
        raise CollectorError(f"{_header_label(key)} {text[:40]!r} is larger than 2**53 - 1",
                             path=display, location=str(row.line))
    return int(text)


def _number(row: _Row, key: str, display: str) -> int | float:
    """Return a cell's number, as an int when written without a fraction or exponent."""
    text = row.cells[key]
    if DECIMAL_NUMBER.fullmatch(text) is None:
        raise CollectorError(f"{_header_label(key)} {text!r} is not a non-negative number",
                             path=display, location=str(row.line))
    if WHOLE_NUMBER.fullmatch(text):
        return _safe_integer(text, key, row, display)
    value = float(text)
    if not math.isfinite(value):
        raise CollectorError(f"{_header_label(key)} {text!r} is out of the range of a "
                             "64-bit float", path=display, location=str(row.line))
    return value


def _header_label(key: str) -> str:
    """Name a column for a message: its 1.x and 2.x header, or the percentile fact."""
    return COLUMNS[key][0] if key in COLUMNS else key


# Reading the history file


def _last_timestamp(text: str, display: str, warnings: list[str]) -> datetime | None:
    """Return the Timestamp of the last row of a stats history CSV as a UTC datetime."""
    if not text.strip():
        raise CollectorError("file is empty; expected the PREFIX_stats_history.csv that "
                             "locust --csv PREFIX writes", path=display)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _next_row(reader, display) or []
    if "Timestamp" not in header:
        found = ", ".join(header[:30]) or "none"
        raise CollectorError(f"not a Locust stats history CSV: no Timestamp column. "
                             f"Columns found: {found}", path=display, location="1")
    position = header.index("Timestamp")

    last: tuple[int, str] | None = None
    while True:
        line = reader.line_num + 1
        row = _next_row(reader, display)
        if row is None:
            break
        if row:
            if len(row) != len(header):
                raise CollectorError(
                    f"row has {len(row)} fields but the header has {len(header)}, "
                    "so the file may be truncated",
                    path=display, location=str(line),
                )
            last = (line, row[position])
    if last is None:
        warnings.append(f"{display} has no rows, so observed_at is not set")
        return None

    line, value = last
    if WHOLE_NUMBER.fullmatch(value) is None:
        raise CollectorError(f"Timestamp {value!r} is not a whole number of seconds since "
                             "the Unix epoch", path=display, location=str(line))
    try:
        return from_epoch(int(value))
    except (OverflowError, ValueError, OSError) as exc:
        raise CollectorError(f"Timestamp {value!r} is out of range", path=display,
                             location=str(line)) from exc

