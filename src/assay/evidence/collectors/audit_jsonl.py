"""Collector for application audit logs written as JSON lines (one JSON object per line).

Every line that is not blank is one event. The `fields` parameter names the
keys of the event's time, actor, action, target, tenant and result, with dots
for nested keys (`actor.id`). Several files matched by `path` are one log
split in parts (rotated files), read in the lexical order of their paths. A
file that starts with the gzip magic bytes is decompressed.

Times are RFC 3339 with any UTC offset, or numbers of seconds or
milliseconds since the Unix epoch when `time_format` selects them. Text
times are read with `datetime.fromisoformat`, which in Python 3.11 and later
also reads other ISO 8601 forms (such as `20261204T192101Z`), and then with
`assay.timeutil.parse_instant` for RFC 3339 forms it rejects (a lowercase
`z`). A time without a UTC offset is malformed. Fractions past the
microsecond are truncated.

Each event's time is kept as seconds since the epoch in a 64-bit float. For
times from 1901 to 2106 (under 2**32 s from 1970) the float is within 0.25
microseconds of the time, so the time facts, rounded to the microsecond, are
exact. Further from 1970 they may be a few microseconds off.

A malformed line is one that is not valid UTF-8, not JSON, not a JSON object,
or has no valid time. Such lines are counted in `malformed_lines` and named
in a warning, and they are not events. With `strict: true` the first one
raises a CollectorError instead.

Hash chain. When `prev_field` or `hash_field` is set, the records are checked
as one chain across all parts, in file order, with the `hash_scheme`:

* `sha256-canonical-without-hash`: the hash of a record is the lowercase hex
  SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) form of the record
  with its top-level `hash_field` key removed. The `prev_field` key stays in,
  so each hash covers the link to the record before. A record's `hash_field`
  must equal its hash, and its `prev_field` must equal the hash of the record
  before it.
* `sha256-line`: a record's `prev_field` must equal the lowercase hex SHA-256
  of the previous line's bytes as written, without the line break. This
  scheme takes no `hash_field`.

The first record's `prev_field` is not checked, because the log may continue
a chain whose earlier parts were not read. Blank lines are skipped, and a
line that is not a JSON object breaks the chain at that line. A record
without a valid time is malformed as an event but is still a link of the
chain. Hex digests are compared ignoring case.

The chain reports the first place where verification fails. When a record
was edited and its hash left as it was, that is the edited record. When its
hash was computed again, it is the next record, whose `prev_field` no longer
matches.

Memory: each event costs 8 bytes (its time, in an array of floats), so that
`max_gap_seconds` can be computed over the events sorted by time whatever
order the lines come in. Times are sorted a chunk at a time as they are
read, and only a time earlier than every time of the chunks before it is set
aside, to be placed when the facts are built. Those set-aside times are
sorted in runs of SORT_RUN_VALUES, with a list of 32 bytes a time for one
run (8 MiB) on top. Each chunk of CHUNK_BYTES also keeps its largest gap
(about 100 bytes). The maps (`actions`, `events_by_tenant`, `results`) keep
at most `max_keys` keys each.

NOTE: a key repeated within one line is not detected (the last value wins),
because checking every line would cost more than parsing it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, islice, repeat
from operator import attrgetter, itemgetter, lt, sub, truediv, truth
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator

from assay.errors import CollectorError
from assay.evidence.collectors.streams import MAX_STREAM_BYTES, read_stream
from assay.evidence.collectors.base import (
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    relative_name,
    resolve_input,
)
from assay.evidence.records import canonical
from assay.timeutil import format_instant, parse_instant

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]


# A chosen bound on the keys of each map fact, because a field with one value
# per event (a request id mapped as the tenant) would otherwise grow without end.
DEFAULT_MAX_KEYS = 1000

# Bytes of lines read and added at once (about 300 lines of 200 bytes). A
# chunk's values stay in the CPU caches while each column is read. Of 16 KiB
# to 1 MiB, 64 and 128 KiB measured fastest with the log that
# bench/audit_jsonl_bench.py writes, on a 2-core x86_64 machine.
CHUNK_BYTES = 64 << 10

# Set-aside times sorted at once. Each run briefly needs a list of Python
# floats (32 bytes a time).
SORT_RUN_VALUES = 1 << 18

_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The range of datetime, in seconds since the Unix epoch.
_MIN_SECONDS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()
_MAX_SECONDS = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds()
_TZINFO = attrgetter("tzinfo")

HashScheme = Literal["sha256-canonical-without-hash", "sha256-line"]
TimeFormat = Literal["rfc3339", "epoch_seconds", "epoch_milliseconds"]
ROLES = ("time", "actor", "action", "target", "tenant", "result")


# The keys read for each role when `fields` does not name one.
DEFAULT_FIELDS = {role: role for role in ROLES}


class AuditJsonlParams(CollectorParams):
    """Parameters of the audit.jsonl collector."""

    path: str = Field(
        description="JSON-lines audit log (plain or gzip), or a glob matching its parts, "
        "relative to the workspace. Parts are read in the lexical order of their paths."
    )
    fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FIELDS),
        description="Map from role (time, actor, action, target, tenant, result) to the key "
        "that holds it. A role left out is read from the key of its own name, and a dotted "
        "name (actor.id) reads a nested object.",
    )
    time_format: TimeFormat = Field(
        default="rfc3339",
        description="How event times are written: rfc3339 (a string with a UTC offset), "
        "epoch_seconds or epoch_milliseconds (numbers since 1970-01-01T00:00:00Z).",
    )
    required_actions: list[str] = Field(
        default_factory=list,
        description="Actions that must appear at least once. A missing one is a failure.",
    )
    hash_field: str | None = Field(
        default=None,
        min_length=1,
        description="Top-level key of each record's own hash (hex SHA-256).",
    )
    prev_field: str | None = Field(
        default=None,
        min_length=1,
        description="Top-level key of the previous record's hash (hex SHA-256).",
    )
    hash_scheme: HashScheme = Field(
        default="sha256-canonical-without-hash",
        description="What is hashed. sha256-canonical-without-hash: the RFC 8785 canonical "
        "JSON of the record without hash_field. sha256-line: the previous line's bytes as "
        "written, without the line break, which prev_field holds (no hash_field).",
    )
    strict: bool = Field(
        default=False,
        description="Raise an error at the first malformed line instead of counting it.",
    )
    max_keys: int = Field(
        default=DEFAULT_MAX_KEYS,
        gt=0,
        description="Largest number of distinct values kept in each of actions, "
        "events_by_tenant and results. Beyond it, that fact is absent.",
    )
    max_bytes: int = Field(
        default=MAX_STREAM_BYTES,
        gt=0,
        description="Largest input read, in bytes, summed over all parts "
        "(for gzip parts, the decompressed bytes).",
    )

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role {', '.join(unknown)}; the roles are "
                             + ", ".join(ROLES))
        for role, key in fields.items():
            if not key or "" in key.split("."):
                raise ValueError(f"{role}: {key!r} is not a key or a dotted path of keys")
        return {**DEFAULT_FIELDS, **fields}

    @model_validator(mode="after")
    def _check_chain(self) -> AuditJsonlParams:
        if self.hash_scheme == "sha256-line":
            if self.hash_field is not None:
                raise ValueError("hash_scheme sha256-line hashes the previous line as written, "
                                 "so it takes no hash_field; remove hash_field")
            if self.prev_field is None:
                raise ValueError("hash_scheme sha256-line needs prev_field, the key of the "
                                 "previous line's hash")
        if self.hash_field is not None and self.hash_field == self.prev_field:
            raise ValueError("hash_field and prev_field must be different keys")
        return self


class AuditJsonl(Collector):
    name = "audit.jsonl"
    version = "1"
    summary = "Read a JSON-lines audit log: coverage, retention, gaps and hash chain."
    Params = AuditJsonlParams
    facts = (
        _fact("events", "int", "events", "Lines that are JSON objects with a valid time."),
        _fact("malformed_lines", "int", "lines", "Lines that are not blank and not events: "
              "invalid UTF-8 or JSON, not an object, or without a valid time."),
        _fact("first_event_at", "timestamp", None, "Earliest event time, RFC 3339 UTC."),
        _fact("last_event_at", "timestamp", None, "Latest event time, RFC 3339 UTC, which is "
              "also the observation time."),
        _fact("span_days", "float", "d", "last_event_at minus first_event_at, in days of "
              "86400 s: how far back the log reaches."),
        _fact("max_gap_seconds", "float", "s", "Largest time between two consecutive events, "
              "with the events sorted by time (not by line). Absent with fewer than two events."),
        _fact("max_gap_start", "timestamp", None, "Time of the event that opens the gap of "
              "max_gap_seconds (the earliest on a tie), RFC 3339 UTC."),
        _fact("out_of_order_events", "int", "events", "Events whose time is earlier than the "
              "time of the event on the line before, across parts too."),
        _fact("actions", "map", None, "Map from action to its number of events. Numbers and "
              "booleans are written as JSON text, and events without an action are left out."),
        _fact("required_actions_missing", "list", None, "The required_actions that no event "
              "has, in the order given."),
        _fact("required_actions_covered", "bool", None, "True when every required action "
              "appears."),
        _fact("actor_ratio", "float", "ratio", "Share of events with an actor, from 0 to 1. An "
              "actor that is missing, null, false, 0, \"\", {} or [] counts as none."),
        _fact("target_ratio", "float", "ratio", "Share of events whose target is present and "
              "not empty, as actor_ratio counts."),
        _fact("events_by_tenant", "map", None, "Map from tenant to its number of events. Events "
              "without a tenant are left out."),
        _fact("results", "map", None, "Map from result to its number of events, as actions "
              "counts actions."),
        _fact("chain_verified", "bool", None, "True when every record verifies against the "
              "hash chain. Present only when hash_field or prev_field is set."),
        _fact("chain_first_break", "str", None, "FILE:LINE where the hash chain first fails "
              "to verify. Absent when the chain verifies."),
    )  # fmt: skip

    def collect(self, params: AuditJsonlParams, context: CollectContext) -> Collected:
        """Read every part of one audit log and return its facts."""
        files = resolve_input(context.workspace, params.path)
        displays = [relative_name(context.workspace, file) for file in files]
        _check_total_size(files, displays, params.max_bytes, params.path)

        reader = _LogReader(params)
        budget = params.max_bytes
        for file, display in zip(files, displays, strict=True):
            budget -= reader.read_file(file, display, budget)
        return reader.result(files)


def _check_total_size(files: list[Path], displays: list[str], limit: int, pattern: str) -> None:
    total = 0
    for file, display in zip(files, displays, strict=True):
        try:
            total += file.stat().st_size
        except OSError as exc:
            raise CollectorError(f"cannot read input: {exc.strerror}", path=display) from exc
    if total > limit:
        raise CollectorError(
            f"input is {total} bytes, over the max_bytes limit of {limit}; "
            "raise max_bytes to read it",
            path=pattern,
        )


class _Malformed(Exception):
    """A line that is not an event; `column` is 1-based when the problem has one."""

    def __init__(self, reason: str, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column


class _Fallback(Exception):
    """A chunk that the column-wise path cannot read, so it is read line by line."""


class _Counts:
    """The counter of a map fact, dropped once it has more than max_keys keys.

    Its keys are strings, and None for events without a value. None and ""
    are removed when the facts are built.
    """

    def __init__(self, max_keys: int) -> None:
        self.counts: Counter[str | None] | None = Counter()
        self.max_keys = max_keys

    def add_all(self, values: Sequence[Any]) -> bool:
        """Count a chunk's values, and return whether all were strings or null.

        Strings count as they are, numbers and booleans as their JSON text,
        and objects and arrays under None.
        """
        counts = self.counts
        if counts is None:
            return set(map(type, values)) <= _STRING_OR_NULL
        size = len(counts)
        remaining = iter(values)
        try:
            # Counter counts in C, in place. Any value that is not a string or
            # null adds a key that is not a string, so only new keys need a look.
            counts.update(remaining)
        except TypeError:  # an object or an array, which cannot be a key
            counted = len(values) - operator.length_hint(remaining) - 1
            self._subtract(values[:counted])
            return self._add_converted(values)
        if len(counts) != size and not set(map(type, counts)) <= _STRING_OR_NULL:
            # True and 1 are one key to a Counter, so such chunks are counted
            # again by the JSON text of their values.
            self._subtract(values)
            return self._add_converted(values)
        if len(counts) > self.max_keys and _key_count(counts) > self.max_keys:
            self.counts = None
        return True

    def _subtract(self, values: Sequence[Any]) -> None:
        counts = self.counts
        assert counts is not None
        for key, count in Counter(values).items():
            left = counts[key] - count
            if left:
                counts[key] = left
            else:
                del counts[key]

    def _add_converted(self, values: Sequence[Any]) -> bool:
        counts = self.counts
        assert counts is not None
        counts.update(map(_map_key, values))
        if _key_count(counts) > self.max_keys:
            self.counts = None
        return False

    def result(self) -> dict[str, int] | None:
        if self.counts is None:
            return None
        return {key: count for key, count in sorted(self.counts.items(), key=_sort_key)
                if key}


_STRING_OR_NULL = frozenset({str, type(None)})


def _key_count(counts: Counter[str | None]) -> int:
    return len(counts) - (None in counts) - ("" in counts)


def _sort_key(item: tuple[str | None, int]) -> str:
    return item[0] or ""


class _LogReader:
    """State of one collection: counters, times and chain state of every part read so far.

    Lines are read in chunks of about CHUNK_BYTES. A chunk is first read
    column by column, with map() and Counter running each step in C, which
    keeps the work per event close to the cost of parsing it. A chunk with
    anything unusual (a blank or malformed line, a time that needs another
    parser) raises _Fallback and is read again line by line, with the same
    results.
    """

    def __init__(self, params: AuditJsonlParams) -> None:
        self.params = params
        self.paths = {role: tuple(params.fields[role].split(".")) for role in ROLES}
        self.top_level_keys = itemgetter(*(self.paths[role][0] for role in ROLES))
        self.getters = {role: _getter(self.paths[role]) for role in ROLES}
        self.parse_time = _TimeParser(params.time_format, params.fields["time"])
        self.events = 0
        self.malformed = 0
        self.first_malformed = ""
        self.blank_lines = 0
        self.empty_parts: list[str] = []
        self.actors = 0
        self.targets = 0
        self.actions = _Counts(params.max_keys)
        self.tenants = _Counts(params.max_keys)
        self.results = _Counts(params.max_keys)
        self.required = frozenset(params.required_actions)
        self.required_seen: set[str] = set()
        # Times of the events in seconds since the epoch. Each chunk's times are
        # sorted. Those at least as late as every time before them extend
        # `in_order`, which stays sorted, and `late` contains the rest.
        self.in_order = array("d")
        self.late = array("d")
        self.out_of_order = 0
        self.previous_time: float | None = None
        # The largest gap of each chunk's part of `in_order`.
        self.segments: list[_Segment] = []
        self.chain = _Chain(params) if params.hash_field or params.prev_field else None
        self.display = ""

    # Reading

    def read_file(self, path: Path, display: str, budget: int) -> int:
        """Read one part and return its size in bytes (decompressed for gzip)."""
        self.display = display
        return read_stream(
            path, display,
            lambda handle, compressed: self._read_chunks(handle, budget, compressed=compressed),
        )

    def _read_chunks(self, handle: IO[bytes], budget: int, *, compressed: bool) -> int:
        events_before = self.events
        size = 0
        first_line = 1
        while True:
            lines = handle.readlines(CHUNK_BYTES)
            if not lines:
                break
            if compressed:
                size += sum(map(len, lines))
                if size > budget:
                    raise CollectorError(
                        "decompressed input passes the max_bytes limit; raise max_bytes to "
                        "read it",
                        path=self.display, location=str(first_line),
                    )
            try:
                self._read_columns(lines)
            except _Fallback:
                self._read_lines(lines, first_line)
            if self.chain is not None and self.chain.intact:
                self._verify_chain(lines, first_line)
            first_line += len(lines)
        if self.events == events_before:
            self.empty_parts.append(self.display)
        return size if compressed else handle.tell()

    def _read_columns(self, lines: list[bytes]) -> None:
        """Add a chunk of lines that are all events, or raise _Fallback before changing state."""
        try:
            # Both raise TypeError when a record is not a JSON object.
            columns = self._columns(lines)
            times = self.parse_time.column(columns["time"])
        except (TypeError, ValueError, OverflowError):
            raise _Fallback from None
        actions, tenants, results = columns["action"], columns["tenant"], columns["result"]

        # Every check has passed, so the chunk's events are added.
        self._add_times(times)
        self.events += len(lines)
        self.actors += sum(map(truth, columns["actor"]))
        self.targets += sum(map(truth, columns["target"]))
        self._add_actions(actions)
        self.tenants.add_all(tenants)
        self.results.add_all(results)

    def _add_actions(self, actions: Sequence[Any]) -> None:
        """Count a chunk's actions and note the required ones among them."""
        plain = self.actions.add_all(actions)
        if self.required:
            found = actions if plain else map(_map_key, actions)
            self.required_seen.update(self.required.intersection(found))

    def _columns(self, lines: list[bytes]) -> dict[str, Sequence[Any]]:
        """Parse the lines and return each role's values, None where a value is missing.

        One itemgetter call per record reads every top-level key as the record
        is parsed, so that each record is freed at once. When a record lacks a
        key, the lines are parsed again and dict.get reads each key on its own.
        """
        try:
            rows = list(map(self.top_level_keys, map(_loads, lines)))
            values = dict(zip(ROLES, zip(*rows)))
        except KeyError:
            records = list(map(_loads, lines))
            values = {role: list(map(dict.get, records, repeat(self.paths[role][0])))
                      for role in ROLES}
        for role, path in self.paths.items():
            if len(path) > 1:
                values[role] = _nested(values[role], path[1:])
        return values

    def _add_times(self, times: Sequence[float]) -> None:
        """Add the times of a chunk's events, given in line order."""
        if self.previous_time is not None and times[0] < self.previous_time:
            self.out_of_order += 1
        self.previous_time = times[-1]

        # Sorting in C is fast on times that are nearly in order. Times earlier
        # than the latest time of earlier chunks go to `late`.
        ordered = sorted(times)
        if ordered != times:
            self.out_of_order += sum(map(lt, islice(times, 1, None), times))
        in_order = self.in_order
        if in_order:
            split = bisect_left(ordered, in_order[-1])
            if split:
                self.late.extend(ordered[:split])
                del ordered[:split]
            if not ordered:
                return
            # Gap i is in_order[i] - in_order[i - 1]; the chunk adds gaps start to stop - 1.
            start = len(in_order)
            gaps = list(map(sub, ordered, chain((in_order[-1],), ordered)))
        else:
            start = 1
            gaps = list(map(sub, islice(ordered, 1, None), ordered))
        in_order.extend(ordered)
        if gaps:
            gap = max(gaps)
            self.segments.append(_Segment(start, len(in_order), gap, start + gaps.index(gap)))

    def _read_lines(self, lines: list[bytes], first_line: int) -> None:
        """Add a chunk line by line, counting blank and malformed lines."""
        getters = self.getters
        times: list[float] = []
        columns: dict[str, list[Any]] = {role: [] for role in ROLES if role != "time"}
        for offset, line in enumerate(lines):
            line_number = first_line + offset
            try:
                record = self._parse_line(line, line_number)
                if record is None:
                    continue
                times.append(self.parse_time.value(getters["time"](record)))
            except _Malformed as exc:
                self._malformed(exc, line_number)
                continue
            for role, values in columns.items():
                values.append(getters[role](record))
        if not times:
            return

        self._add_times(times)
        self.events += len(times)
        self.actors += sum(map(truth, columns["actor"]))
        self.targets += sum(map(truth, columns["target"]))
        self._add_actions(columns["action"])
        self.tenants.add_all(columns["tenant"])
        self.results.add_all(columns["result"])

    def _parse_line(self, line: bytes, line_number: int) -> dict[str, Any] | None:
        """Parse one line into a record, return None for a blank line, or raise _Malformed."""
        try:
            record = _loads(line)
        except ValueError:
            if not line.strip():
                self.blank_lines += 1
                return None
            record = _parse_failed_line(line, line_number)
        if type(record) is not dict:
            raise _Malformed(f"expected a JSON object, found {_describe(record)}")
        return record

    def _verify_chain(self, lines: list[bytes], first_line: int) -> None:
        """Check a chunk's records against the hash chain, up to its first break."""
        chain = self.chain
        assert chain is not None
        for offset, line in enumerate(lines):
            line_number = first_line + offset
            try:
                record = _loads(line)
            except ValueError:
                if not line.strip():
                    continue
                try:
                    record = _parse_failed_line(line, line_number)
                except _Malformed as exc:
                    chain.add_invalid_line(self.display, line_number, exc.reason)
                    return
            if type(record) is not dict:
                chain.add_invalid_line(self.display, line_number,
                                       f"expected a JSON object, found {_describe(record)}")
                return
            chain.add(record, line, self.display, line_number)
            if not chain.intact:
                return

    def _malformed(self, error: _Malformed, line_number: int) -> None:
        location = str(line_number) if error.column is None else f"{line_number}:{error.column}"
        if self.params.strict:
            raise CollectorError(error.reason, path=self.display, location=location)
        self.malformed += 1
        if self.malformed == 1:
            self.first_malformed = f"{self.display}:{location}: {error.reason}"

    # Facts

    def result(self, files: list[Path]) -> Collected:
        """Build the facts, the reasons for absent ones, failures and warnings."""
        params = self.params
        facts: dict[str, Any] = {"events": self.events, "malformed_lines": self.malformed}
        absent: dict[str, str] = {}
        failures: list[str] = []
        warnings = self._warnings()

        for name, counts in (("actions", self.actions), ("events_by_tenant", self.tenants),
                             ("results", self.results)):
            counted = counts.result()
            if counted is None:
                absent[name] = (f"more than {params.max_keys} distinct values; raise max_keys "
                                "to count them")
            else:
                facts[name] = counted
        missing = [action for action in params.required_actions
                   if action not in self.required_seen]
        facts["required_actions_missing"] = missing
        facts["required_actions_covered"] = not missing
        if missing:
            failures.append("required actions missing from the audit log: " + ", ".join(missing))

        observed_at = None
        if self.events == 0:
            failures.append(f"no events in {params.path}")
            for name in ("first_event_at", "last_event_at", "span_days", "max_gap_seconds",
                         "max_gap_start", "actor_ratio", "target_ratio"):
                absent[name] = "the log has no events"
        else:
            earliest = min(self.in_order[0], min(self.late, default=math.inf))
            first, observed_at = _instant(earliest), _instant(self.in_order[-1])
            facts["first_event_at"] = format_instant(first)
            facts["last_event_at"] = format_instant(observed_at)
            facts["span_days"] = (observed_at - first) / timedelta(days=1)
            facts["actor_ratio"] = self.actors / self.events
            facts["target_ratio"] = self.targets / self.events
            self._gap_facts(facts, absent)
        facts["out_of_order_events"] = self.out_of_order

        if self.chain is not None:
            self.chain.facts(facts, absent, failures)
        return Collected(facts=facts, artifacts=files, observed_at=observed_at, absent=absent,
                         failures=failures, warnings=warnings)

    def _gap_facts(self, facts: dict[str, Any], absent: dict[str, str]) -> None:
        if self.events < 2:
            absent["max_gap_seconds"] = absent["max_gap_start"] = (
                "a gap needs two events, and the log has one"
            )
            return
        gap, start = _max_gap(self.in_order, self.late, self.segments)
        facts["max_gap_seconds"] = round(gap, 6)
        facts["max_gap_start"] = format_instant(_instant(start))

    def _warnings(self) -> list[str]:
        warnings = []
        if self.malformed:
            lines = "line" if self.malformed == 1 else "lines"
            warnings.append(f"skipped {self.malformed} malformed {lines} "
                            f"(first at {self.first_malformed})")
        if self.blank_lines:
            lines = "line" if self.blank_lines == 1 else "lines"
            warnings.append(f"skipped {self.blank_lines} blank {lines}")
        for display in self.empty_parts:
            warnings.append(f"{display} contains no events")
        return warnings


_DICT = {dict}


def _nested(values: Sequence[Any], path: tuple[str, ...]) -> Sequence[Any]:
    """Return the value at `path` below each of `values`, None where it is missing."""
    for key in path:
        if set(map(type, values)) <= _DICT:
            values = list(map(dict.get, values, repeat(key)))
        else:
            values = [value.get(key) if type(value) is dict else None for value in values]
    return values


class _Chain:
    """Verification state of the hash chain, until its first break."""

    def __init__(self, params: AuditJsonlParams) -> None:
        self.hash_field = params.hash_field
        self.prev_field = params.prev_field
        self.by_line = params.hash_scheme == "sha256-line"
        self.records = 0
        self.previous: str | None = None  # the hash that the next prev_field must equal
        self.intact = True
        self.first_break = ""
        self.reason = ""

    def add(self, record: dict[str, Any], line: bytes, display: str, line_number: int) -> None:
        """Verify one record against its own hash and the record before it."""
        reason = self._check(record, line)
        self.records += 1
        if reason is not None:
            self.intact = False
            self.first_break = f"{display}:{line_number}"
            self.reason = reason

    def add_invalid_line(self, display: str, line_number: int, reason: str) -> None:
        """Break the chain at a line that is not a JSON object, because it has no hash."""
        if self.intact:
            self.intact = False
            self.first_break = f"{display}:{line_number}"
            self.reason = f"the line is not a record ({reason}), so it cannot be verified"

    def _check(self, record: dict[str, Any], line: bytes) -> str | None:
        if self.by_line:
            own = hashlib.sha256(line.rstrip(b"\r\n")).hexdigest()
        else:
            without = record
            if self.hash_field is not None and self.hash_field in record:
                without = {key: value for key, value in record.items() if key != self.hash_field}
            try:
                own = hashlib.sha256(canonical(without)).hexdigest()
            except ValueError as exc:
                return f"the record has no canonical JSON form: {exc}"
            if self.hash_field is not None:
                stored = record.get(self.hash_field)
                if type(stored) is not str:
                    return f"{self.hash_field} is missing or not a string"
                if stored.lower() != own:
                    return (f"{self.hash_field} {stored} differs from the record's hash {own}, "
                            "so the record was changed after it was hashed")

        if self.prev_field is not None and self.previous is not None:
            link = record.get(self.prev_field)
            if type(link) is not str:
                return f"{self.prev_field} is missing or not a string"
            if link.lower() != self.previous:
                return (f"{self.prev_field} {link} differs from the hash of the record before, "
                        f"{self.previous}, so a record before this one was changed, removed or "
                        "moved")
        self.previous = own
        return None

    def facts(self, facts: dict[str, Any], absent: dict[str, str], failures: list[str]) -> None:
        if self.intact and self.records == 0:
            absent["chain_verified"] = "the log has no records to verify"
            absent["chain_first_break"] = "the log has no records to verify"
            return
        facts["chain_verified"] = self.intact
        if self.intact:
            absent["chain_first_break"] = "the hash chain verifies"
        else:
            facts["chain_first_break"] = self.first_break
            failures.append(f"hash chain breaks at {self.first_break}: {self.reason}")


class _Segment(NamedTuple):
    """The gaps in_order[i] - in_order[i - 1] for i from start to stop - 1, and the largest."""

    start: int
    stop: int
    max_gap: float
    max_index: int  # the first i with that gap


def _max_gap(in_order: array, late: array, segments: list[_Segment]) -> tuple[float, float]:
    """Return the largest gap between consecutive times of both arrays together, sorted,
    and the time that opens it (the earliest on a tie).

    `in_order` is sorted, and `segments` names the largest gap of each of its
    parts. The late times are sorted and placed between the in-order times
    around them, so that each gap of `in_order` that contains late times is
    split there. Only a part whose largest gap is split is scanned again.
    """
    # Late times by the index i of the in-order gap (in_order[i - 1], in_order[i])
    # that contains them. Index 0 is for those before the first in-order time.
    inserted: dict[int, list[float]] = {}
    for value in _sorted_times(late):
        inserted.setdefault(bisect_right(in_order, value), []).append(value)

    candidates: list[tuple[float, float]] = []
    split = sorted(inserted)
    for segment in segments:
        if segment.max_index not in inserted:
            candidates.append((segment.max_gap, in_order[segment.max_index - 1]))
            continue
        gaps = list(map(sub, in_order[segment.start:segment.stop],
                        in_order[segment.start - 1:segment.stop - 1]))
        first = bisect_left(split, segment.start)
        for index in split[first:bisect_left(split, segment.stop, first)]:
            gaps[index - segment.start] = -1.0
        gap = max(gaps)
        if gap >= 0:
            candidates.append((gap, in_order[segment.start - 1 + gaps.index(gap)]))
    for index, values in inserted.items():
        around = [*values, in_order[index]] if index == 0 else [
            in_order[index - 1], *values, in_order[index]]
        gaps = list(map(sub, around[1:], around[:-1]))
        gap = max(gaps)
        candidates.append((gap, around[gaps.index(gap)]))
    return max(candidates, key=lambda candidate: (candidate[0], -candidate[1]))


def _sorted_times(values: array) -> Iterator[float]:
    """Yield the values sorted: at once when they fit one run, else in runs, merged."""
    if len(values) <= SORT_RUN_VALUES:
        yield from sorted(values)
        return
    runs = []
    for start in range(0, len(values), SORT_RUN_VALUES):
        stop = min(start + SORT_RUN_VALUES, len(values))
        values[start:stop] = array("d", sorted(values[start:stop]))
        runs.append(values[start:stop])
    yield from heapq.merge(*runs)


def _instant(seconds: float) -> datetime:
    """Convert seconds since the epoch to a datetime, rounded to the microsecond."""
    return _EPOCH + timedelta(seconds=seconds)


def _getter(path: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    """Return a function that reads the field at `path` (nested keys) of a record."""

    def get(record: dict[str, Any]) -> Any:
        value: Any = record
        for key in path:
            if type(value) is not dict:
                return None
            value = value.get(key)
        return value

    return get


def _map_key(value: Any) -> str | None:
    """Return the key under which a value is counted: strings as they are, numbers and
    booleans as JSON text, and None for null, objects and arrays."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool or kind is int or (kind is float and math.isfinite(value)):
        return json.dumps(value)
    return None


class _TimeParser:
    """Converts event times to seconds since the Unix epoch, as 64-bit floats."""

    def __init__(self, time_format: TimeFormat, key: str) -> None:
        self.time_format = time_format
        self.key = key
        self.divisor = 1.0 if time_format == "epoch_seconds" else 1000.0

    def column(self, values: list[Any]) -> list[float]:
        """Convert a chunk's times, raising TypeError or ValueError unless all are plain."""
        if self.time_format == "rfc3339":
            instants = list(map(datetime.fromisoformat, values))
            if None in set(map(_TZINFO, instants)):
                raise ValueError("a time without a UTC offset")
            return list(map(datetime.timestamp, instants))
        if not set(map(type, values)) <= _NUMBER:
            raise TypeError("not every time is a number")
        seconds = list(map(truediv, values, repeat(self.divisor)))
        # A NaN or an infinity makes the sum so; a large sum only sends the chunk
        # to the line-by-line path.
        if not math.isfinite(sum(seconds)):
            raise ValueError("a time that is not a finite number")
        if min(seconds) < _MIN_SECONDS or max(seconds) > _MAX_SECONDS:
            raise ValueError("a time outside the years 1 to 9999")
        return seconds

    def value(self, value: Any) -> float:
        """Convert one time, raising _Malformed with the reason when it is invalid."""
        if self.time_format == "rfc3339":
            return self._from_text(value)
        unit = "seconds" if self.time_format == "epoch_seconds" else "milliseconds"
        if value is None:
            raise _Malformed(f"{self.key} is missing")
        if type(value) not in (int, float):
            raise _Malformed(f"{self.key}: expected a number of {unit} since the epoch, "
                             f"found {_describe(value)}")
        try:
            seconds = value / self.divisor
        except OverflowError:
            seconds = math.inf
        if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
            raise _Malformed(f"{self.key}: {value} {unit} since the epoch is not a time in "
                             "the years 1 to 9999")
        return seconds

    def _from_text(self, value: Any) -> float:
        if value is None:
            raise _Malformed(f"{self.key} is missing")
        if type(value) is not str:
            raise _Malformed(f"{self.key}: expected an RFC 3339 time, found {_describe(value)}")
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            # RFC 3339 forms that fromisoformat rejects, such as a lowercase z.
            try:
                instant = parse_instant(value)
            except ValueError as exc:
                raise _Malformed(f"{self.key}: {exc}") from exc
        if instant.tzinfo is None:
            raise _Malformed(f"{self.key}: time has no UTC offset: {value!r}")
        return instant.timestamp()


_NUMBER = frozenset({int, float})


def _make_loads() -> Callable[[bytes], Any]:
    """Return the fast line parser: orjson.loads, or the json module made as strict."""
    if orjson is not None:
        return orjson.loads

    def loads(line: bytes) -> Any:
        # orjson rejects a lone surrogate escape, so such lines go to the slow path here too.
        if _SURROGATE_ESCAPE.search(line):
            raise ValueError("surrogate escape")
        return json.loads(line.decode("utf-8"), parse_constant=_reject_constant)

    return loads


# A \u escape of a UTF-16 surrogate, lone or in a valid pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_loads = _make_loads()


def _parse_failed_line(line: bytes, line_number: int) -> Any:
    """Parse a line the fast parser rejected with the json module, or raise why it is malformed.

    The json module decides, so that messages and columns are the same whether
    or not orjson is installed. A UTF-8 byte-order mark is skipped on line 1.
    """
    if line_number == 1 and line.startswith(_BOM):
        line = line[len(_BOM):]
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise _Malformed(f"invalid UTF-8 (byte 0x{line[exc.start]:02x}); save the log as UTF-8",
                         exc.start + 1) from exc
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _Malformed(f"invalid JSON: {exc.msg}", exc.colno) from exc
    except ValueError as exc:
        raise _Malformed(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise _Malformed("invalid JSON: nested too deeply to parse") from exc
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Malformed(
            "invalid JSON: lone UTF-16 surrogate in a \\u escape, which encodes no character"
        ) from exc
    return record


def _describe(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return f"a string ({json.dumps(value[:40])})"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return f"the number {value!r}"
