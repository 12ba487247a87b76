"""Collector for the k6 `--out json` stream: one JSON object per line.

k6 writes two kinds of line, with their keys in any order:

* `{"type": "Metric", "metric": NAME, "data": {"name", "type", "contains",
  "thresholds", "submetrics"}}` declares a metric (k6 before v0.49 leaves out
  `data.name`).
* `{"type": "Point", "metric": NAME, "data": {"time", "value", "tags"}}` is one
  sample. `tags` may be null, and `time` is RFC 3339 with any offset and up to
  nine fractional digits. Times are converted to UTC and truncated to the
  microsecond.

Each line is parsed as JSON (with orjson when it is installed, otherwise with
the json module). Several files matched by `path` are one run split in parts,
read in the lexical order of their paths. A file that starts with the gzip
magic bytes is decompressed, because `k6 run --out json=FILE.gz` writes gzip.

Percentiles are exact, computed from all values as `TrendSink.P` in k6's
metrics/sink.go computes them: sort the n values, take the rank
r = q * (n - 1), and interpolate linearly between the values at floor(r) and
ceil(r). p50 is the median k6 calls `med`. The mean is the correctly rounded
sum (math.fsum) divided by n.

NOTE: a later k6 source estimates trend percentiles from an HDR histogram
(internal/ds/histogram, 0.001 resolution), so a summary from such a k6 can
differ slightly from these exact values. The first release with it was not
checked.

Memory grows with the stream. Every value of the trend metric named by
`metric` is kept as an 8-byte float in an `array('d')`. It is kept once more
for its `name` tag's breakdown and once more for its `scenario` tag's, so a
trend point costs up to 24 bytes. Every point of a custom trend metric costs
8 bytes. Other points cost nothing once read. Sorting works in runs of
SORT_RUN_VALUES values and needs a list of 32 bytes a value for one run
(32 MiB) on top.

NOTE: a key repeated within one line is not detected (the last value wins),
because checking every line would cost more than parsing it.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any, NoReturn

from pydantic import Field

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
from assay.timeutil import format_instant, parse_instant

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]


# Values sorted at once when computing percentiles. Each sorted run briefly
# needs a list of Python floats (32 bytes a value).
SORT_RUN_VALUES = 1 << 20

# A chosen bound on the keys of by_name and by_scenario, because a script that
# does not name its requests gets one `name` tag per distinct URL.
DEFAULT_MAX_BREAKDOWN_KEYS = 1000

# Metrics k6 itself emits (k6 "Built-in metrics" reference); any other
# declared metric is custom. Browser metrics all start with "browser_".
K6_BUILT_IN_METRICS = frozenset({
    "checks", "data_received", "data_sent", "dropped_iterations", "group_duration",
    "iteration_duration", "iterations", "vus", "vus_max",
    "http_req_blocked", "http_req_connecting", "http_req_duration", "http_req_failed",
    "http_req_receiving", "http_req_sending", "http_req_tls_handshaking",
    "http_req_waiting", "http_reqs",
    "ws_connecting", "ws_msgs_received", "ws_msgs_sent", "ws_ping",
    "ws_session_duration", "ws_sessions",
    "grpc_req_duration", "grpc_streams", "grpc_streams_msgs_received", "grpc_streams_msgs_sent",
})  # fmt: skip
K6_BUILT_IN_PREFIX = "browser_"
METRIC_TYPES = ("counter", "gauge", "rate", "trend")

# Roles of a metric's points, as bits, so the reading loop tests one integer.
_TREND = 1
_REQUESTS = 2
_FAILED = 4
_CHECKS = 8
_CUSTOM = 16

# Marks a metric whose first point is still to come, in lookups of handlers.
_UNSEEN = object()

_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The form k6 writes (Go's RFC3339Nano); other RFC 3339 forms go through parse_instant.
_K6_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
_SECONDS_CACHE_LIMIT = 100_000

# Microseconds in one unit of the last digit of a fraction, by its number of digits.
_FRACTION_SCALE = (1, 100_000, 10_000, 1000, 100, 10, 1)

# A \u escape of a UTF-16 surrogate, lone or in a valid pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

_QUANTILES = (("p50_ms", 0.5), ("p90_ms", 0.9), ("p95_ms", 0.95), ("p99_ms", 0.99))

# Adds one point: (value, time in microseconds, the point's data object, line number).
_PointHandler = Callable[[float, int, dict[str, Any], int], None]

_EXPECTED = "expected k6 --out json lines (one JSON object per line)"


class K6StreamParams(CollectorParams):
    """Parameters of the k6.stream collector."""

    path: str = Field(
        description="k6 --out json file (plain or gzip), or a glob matching the parts of one "
        "run, relative to the workspace. Parts are read in the lexical order of their paths."
    )
    metric: str = Field(
        default="http_req_duration",
        description="Trend metric whose points become the *_ms facts and the breakdowns, "
        "optionally with tag filters, for example 'http_req_duration{name:POST /api/orders}'.",
    )
    max_bytes: int = Field(
        default=MAX_STREAM_BYTES,
        gt=0,
        description="Largest input read, in bytes, summed over all parts "
        "(for gzip parts, the decompressed bytes).",
    )
    max_breakdown_keys: int = Field(
        default=DEFAULT_MAX_BREAKDOWN_KEYS,
        gt=0,
        description="Largest number of distinct `name` (or `scenario`) tag values kept for "
        "by_name (or by_scenario). Beyond it, that fact is absent.",
    )


_OF_TREND = (
    "of the points of the trend metric named by `metric` (default http_req_duration), "
    "in milliseconds."
)
_PERCENTILE = "exact, interpolated linearly between the closest ranks as k6 does"


class K6Stream(Collector):
    name = "k6.stream"
    version = "1"
    summary = "Read a k6 --out json stream (NDJSON, plain or gzip, one run in one or more parts)."
    Params = K6StreamParams
    facts = (
        _fact("requests", "int", "requests", "HTTP requests made (sum of http_reqs point values)."),
        _fact("requests_per_second", "number", "1/s", "requests divided by the seconds from the "
              "first to the last http_reqs point time. It is absent when that span is zero."),
        _fact("avg_ms", "number", "ms", f"Mean {_OF_TREND}"),
        _fact("min_ms", "number", "ms", f"Minimum {_OF_TREND}"),
        _fact("max_ms", "number", "ms", f"Maximum {_OF_TREND}"),
        _fact("p50_ms", "number", "ms", f"Median ({_PERCENTILE}) {_OF_TREND}"),
        _fact("p90_ms", "number", "ms", f"90th percentile ({_PERCENTILE}) {_OF_TREND}"),
        _fact("p95_ms", "number", "ms", f"95th percentile ({_PERCENTILE}) {_OF_TREND}"),
        _fact("p99_ms", "number", "ms", f"99th percentile ({_PERCENTILE}) {_OF_TREND}"),
        _fact("error_rate_ratio", "number", "ratio", "Share of http_req_failed points that are "
              "not 0, from 0 to 1."),
        _fact("failed_requests", "int", "requests", "http_req_failed points that are not 0."),
        _fact("checks_passed", "int", "checks", "checks points that are not 0."),
        _fact("checks_failed", "int", "checks", "checks points that are 0."),
        _fact("by_name", "map", None, "`name` tag -> {requests, p95_ms, p99_ms, "
              "error_rate_ratio}. A key is left out when its tag has no such points."),
        _fact("by_scenario", "map", None, "`scenario` tag -> {requests, p95_ms, p99_ms, "
              "error_rate_ratio}. A key is left out when its tag has no such points."),
        _fact("custom_metrics", "map", None, "Declared metrics that are not k6 built-ins -> "
              "{type, count} plus sum (counter), p95 (trend), rate (rate) or value (gauge, "
              "the last point)."),
        _fact("metrics_declared", "list", None, "Sorted names of the metrics that Metric lines "
              "declare."),
        _fact("points", "int", "points", "Point lines read."),
        _fact("first_point_at", "timestamp", None, "Earliest point time, RFC 3339 UTC."),
        _fact("last_point_at", "timestamp", None, "Latest point time, RFC 3339 UTC, which is "
              "also the observation time."),
    )  # fmt: skip

    def collect(self, params: K6StreamParams, context: CollectContext) -> Collected:
        """Read every part of one k6 stream and return its facts."""
        files = resolve_input(context.workspace, params.path)
        displays = [relative_name(context.workspace, file) for file in files]
        _check_total_size(files, displays, params)

        reader = _StreamReader(_TrendSelector.parse(params.metric), params.max_breakdown_keys)
        budget = params.max_bytes
        for file, display in zip(files, displays, strict=True):
            budget -= reader.read_file(file, display, budget)
        if reader.lines == 0:
            display = displays[0] if len(displays) == 1 else params.path
            raise CollectorError(f"file is empty; {_EXPECTED}", path=display)
        return reader.result(files)


def _check_total_size(files: list[Path], displays: list[str], params: K6StreamParams) -> None:
    total = 0
    for file, display in zip(files, displays, strict=True):
        try:
            total += file.stat().st_size
        except OSError as exc:
            raise CollectorError(f"cannot read input: {exc.strerror}", path=display) from exc
    if total > params.max_bytes:
        raise CollectorError(
            f"input is {total} bytes, over the max_bytes limit of {params.max_bytes}; "
            "raise max_bytes to read it",
            path=params.path,
        )


@dataclass(frozen=True)
class _TrendSelector:
    """The `metric` parameter: a metric name and the tags its points must carry."""

    name: str
    tags: tuple[tuple[str, str], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> _TrendSelector:
        """Parse `name` or `name{key:value,...}`, the k6 sub-metric syntax."""
        match = re.fullmatch(r"([^{}]+)(?:\{([^{}]*)\})?", text.strip())
        if match is None:
            raise CollectorError(
                f"metric {text!r} is not a metric name or name{{key:value,...}}"
            )
        tags = []
        for pair in (match[2] or "").split(","):
            if not pair.strip():
                continue
            key, sep, value = pair.partition(":")
            if not sep or not key.strip():
                raise CollectorError(f"metric {text!r}: tag filter {pair!r} is not key:value")
            tags.append((key.strip(), value.strip().strip("\"'")))
        return cls(match[1].strip(), tuple(tags), text)

    def matches(self, tags: Any) -> bool:
        if not self.tags:
            return True
        if not isinstance(tags, dict):
            return False
        return all(tags.get(key) == value for key, value in self.tags)


@dataclass
class _Breakdown:
    """Points of one `name` or `scenario` tag value."""

    requests: float = 0.0
    failed: int = 0
    failed_total: int = 0
    values: array = field(default_factory=lambda: array("d"))


@dataclass
class _CustomMetric:
    """Aggregates of a metric that is not a k6 built-in."""

    type: str | None = None
    count: int = 0
    total: float = 0.0
    nonzero: int = 0
    last: float = 0.0
    # Kept while the metric is a trend or not yet declared.
    values: array | None = field(default_factory=lambda: array("d"))
    first_line: str = ""


@dataclass
class _Declaration:
    type: str
    contains: Any
    where: str


class _StreamReader:
    """State of one collection: the aggregates of every part read so far."""

    def __init__(self, selector: _TrendSelector, max_breakdown_keys: int) -> None:
        self.selector = selector
        self.max_breakdown_keys = max_breakdown_keys
        # Metric name -> the function that adds its points, or None when its
        # points feed no fact beyond `points` and the point times.
        self.handlers: dict[str, _PointHandler | None] = {}
        self.declared: dict[str, _Declaration] = {}
        self.trend = array("d")
        self.by_name: dict[str, _Breakdown] | None = {}
        self.by_scenario: dict[str, _Breakdown] | None = {}
        self.custom: dict[str, _CustomMetric] = {}
        self.requests = 0.0
        self.requests_points = 0
        self.requests_first = 0
        self.requests_last = 0
        self.failed = 0
        self.failed_total = 0
        self.checks_passed = 0
        self.checks_total = 0
        self.points = 0
        self.lines = 0
        self.first_micros = 0
        self.last_micros = 0
        self.unknown_types: dict[str, tuple[int, str]] = {}
        self.blank_lines = 0
        self.empty_parts: list[str] = []
        self.seconds_cache: dict[str, int] = {}
        self.display = ""

    # Reading

    def read_file(self, path: Path, display: str, budget: int) -> int:
        """Read one part and return its size in bytes (decompressed for gzip)."""
        self.display = display
        return read_stream(
            path, display,
            lambda handle, compressed: self._read_lines(handle, budget, compressed=compressed),
        )

    def _read_lines(self, handle: IO[bytes], budget: int, *, compressed: bool) -> int:
        # This loop runs once per line of streams of many gigabytes, so it binds
        # attributes to locals, reads keys by subscript and calls out only for
        # points that feed a fact. Any exception in the fast path goes to
        # _explain_point, which checks the line step by step and raises the
        # precise CollectorError.
        display = self.display
        loads = _loads
        handlers = self.handlers
        register = self._register_metric
        declare = self._declare
        to_micros = self._micros
        unseen = _UNSEEN

        line_number = 0
        size = 0
        lines = 0
        points = self.points
        first_micros = self.first_micros
        last_micros = self.last_micros
        # A fresh object, so that the first point's time is always converted and checked.
        time_text: Any = object()
        micros = 0
        for line in handle:
            line_number += 1
            if compressed:
                size += len(line)
                if size > budget:
                    raise CollectorError(
                        "decompressed input passes the max_bytes limit; raise max_bytes to read it",
                        path=display, location=str(line_number),
                    )
            try:
                record = loads(line)
            except ValueError:
                if not line.strip():
                    self.blank_lines += 1
                    continue
                record = _parse_failed_line(line, line_number, display)
            lines += 1
            try:
                kind = record["type"]
                if kind == "Point":
                    data = record["data"]
                    value = data["value"]
                    if type(value) is float:
                        if value - value != 0.0:
                            raise ValueError("not finite")
                    elif type(value) is int:
                        value = float(value)
                    else:
                        raise TypeError("not a number")
                    time_value = data["time"]
                    if time_value != time_text:
                        micros = to_micros(time_value, line_number)
                        time_text = time_value
                        if points == 0 or micros < first_micros:
                            first_micros = micros
                        if points == 0 or micros > last_micros:
                            last_micros = micros
                    points += 1
                    metric = record["metric"]
                    handler = handlers.get(metric, unseen)
                    if handler is unseen:
                        handler = register(metric, line_number)
                    if handler is not None:
                        handler(value, micros, data, line_number)
                elif kind == "Metric":
                    declare(record, line_number)
                else:
                    self._unknown_type(kind, line_number)
            except CollectorError:
                raise
            except Exception as exc:  # noqa: BLE001 - _explain_point raises the precise error
                _explain_point(record, display, line_number, exc)

        self.points = points
        self.first_micros = first_micros
        self.last_micros = last_micros
        self.lines += lines
        if lines == 0:
            self.empty_parts.append(display)
        return size if compressed else handle.tell()

    def _register_metric(self, metric: Any, line_number: int) -> _PointHandler | None:
        """Choose and remember the handler of a metric's points, when the metric first appears."""
        if type(metric) is not str:
            raise self._error(f"metric: expected a metric name, found {_describe(metric)}",
                              line_number)
        role = 0
        if metric == self.selector.name:
            role |= _TREND
        if metric == "http_reqs":
            role |= _REQUESTS
        elif metric == "http_req_failed":
            role |= _FAILED
        elif metric == "checks":
            role |= _CHECKS
        if not _is_built_in(metric):
            role |= _CUSTOM
            self.custom.setdefault(
                metric, _CustomMetric(first_line=f"{self.display}:{line_number}")
            )
        handler: _PointHandler | None
        if role == 0:
            handler = None
        elif role == _CHECKS:
            handler = self._add_check
        elif role == _CUSTOM:
            handler = partial(self._add_custom, self.custom[metric])
        else:
            handler = partial(self._add_point, role, metric)
        self.handlers[metric] = handler
        return handler

    def _add_point(self, role: int, metric: str, value: float, micros: int,
                   data: dict[str, Any], line_number: int) -> None:
        """Add a point of the trend metric, http_reqs or http_req_failed, as its role bits select.

        One method serves the three, with the tag lookups written out once,
        because it runs for a third of the lines of a typical stream.
        """
        tags = data.get("tags")
        name_group = scenario_group = None
        if tags is not None:
            if type(tags) is not dict:
                raise self._error(
                    f"data.tags: expected a JSON object or null, found {_describe(tags)}",
                    line_number,
                )
            # A tag value that is not a string cannot be a dict key (a list) or
            # would mix with string keys, so it goes to _new_group, which rejects it.
            name = tags.get("name")
            if name is not None and self.by_name is not None:
                name_group = (self.by_name.get(name) if type(name) is str else None) or (
                    self._new_group("name", name, line_number)
                )
            scenario = tags.get("scenario")
            if scenario is not None and self.by_scenario is not None:
                scenario_group = (
                    self.by_scenario.get(scenario) if type(scenario) is str else None
                ) or self._new_group("scenario", scenario, line_number)

        if role & _TREND and (not self.selector.tags or self.selector.matches(tags)):
            self.trend.append(value)
            if name_group is not None:
                name_group.values.append(value)
            if scenario_group is not None:
                scenario_group.values.append(value)
        if role & _REQUESTS:
            if value < 0 or not value.is_integer():
                raise self._error(
                    f"data.value: an http_reqs point counts requests, so {value!r} is invalid",
                    line_number,
                )
            self.requests += value
            if self.requests_points == 0 or micros < self.requests_first:
                self.requests_first = micros
            if self.requests_points == 0 or micros > self.requests_last:
                self.requests_last = micros
            self.requests_points += 1
            if name_group is not None:
                name_group.requests += value
            if scenario_group is not None:
                scenario_group.requests += value
        if role & _FAILED:
            failed = value != 0.0
            self.failed_total += 1
            self.failed += failed
            if name_group is not None:
                name_group.failed_total += 1
                name_group.failed += failed
            if scenario_group is not None:
                scenario_group.failed_total += 1
                scenario_group.failed += failed
        if role & _CHECKS:
            self._add_check(value, micros, data, line_number)
        if role & _CUSTOM:
            self._add_custom(self.custom[metric], value, micros, data, line_number)

    def _add_check(self, value: float, micros: int, data: dict[str, Any],
                   line_number: int) -> None:
        self.checks_total += 1
        self.checks_passed += value != 0.0

    def _add_custom(self, custom: _CustomMetric, value: float, micros: int,
                    data: dict[str, Any], line_number: int) -> None:
        custom.count += 1
        custom.total += value
        custom.nonzero += value != 0.0
        custom.last = value
        if custom.values is not None:
            custom.values.append(value)

    def _new_group(self, tag: str, key: Any, line_number: int) -> _Breakdown | None:
        """Add the breakdown of a new tag value, or drop that breakdown once it has too many."""
        if type(key) is not str:
            raise self._error(
                f"data.tags.{tag}: expected a string, found {_describe(key)}", line_number
            )
        groups = self.by_name if tag == "name" else self.by_scenario
        assert groups is not None
        if len(groups) >= self.max_breakdown_keys:
            if tag == "name":
                self.by_name = None
            else:
                self.by_scenario = None
            return None
        group = groups[key] = _Breakdown()
        return group

    def _error(self, message: str, line_number: int) -> CollectorError:
        return _line_error(message, self.display, line_number)

    def _declare(self, record: dict[str, Any], line_number: int) -> None:
        """Record a Metric line: its name, type and what its values contain."""
        data = record.get("data")
        if type(data) is not dict:
            raise self._error(
                f"data: expected a JSON object, found {_describe(data)}", line_number
            )

        # k6 before v0.49 names the metric only in "metric".
        metric = record.get("metric")
        name = data.get("name", metric)
        if metric is None:
            metric = name
        if type(metric) is not str or not metric:
            raise self._error(
                f"metric: expected a metric name, found {_describe(metric)}", line_number
            )
        if name != metric:
            raise self._error(
                f"data.name {json.dumps(name)} differs from metric {json.dumps(metric)}",
                line_number,
            )

        metric_type = data.get("type")
        if metric_type not in METRIC_TYPES:
            raise self._error(
                "data.type: expected counter, gauge, rate or trend, "
                f"found {_describe(metric_type)}",
                line_number,
            )

        where = f"{self.display}:{line_number}"
        earlier = self.declared.get(metric)
        if earlier is not None:
            if earlier.type != metric_type:
                raise self._error(
                    f"metric {metric} is declared as a {metric_type} here and as a "
                    f"{earlier.type} at {earlier.where}",
                    line_number,
                )
            return

        self.declared[metric] = _Declaration(metric_type, data.get("contains"), where)
        if metric not in self.handlers:
            self._register_metric(metric, line_number)
        custom = self.custom.get(metric)
        if custom is not None:
            custom.type = metric_type
            if metric_type != "trend":
                custom.values = None

    def _unknown_type(self, kind: Any, line_number: int) -> None:
        if type(kind) is not str:
            raise self._error(
                f"type: expected \"Metric\" or \"Point\", found {_describe(kind)}",
                line_number,
            )
        count, first = self.unknown_types.get(kind, (0, f"{self.display}:{line_number}"))
        self.unknown_types[kind] = (count + 1, first)

    def _micros(self, text: Any, line_number: int) -> int:
        """Convert a point time to integer microseconds since the Unix epoch (UTC)."""
        if type(text) is not str:
            raise self._error(
                f"data.time: expected an RFC 3339 timestamp, found {_describe(text)}",
                line_number,
            )
        match = _K6_TIME.fullmatch(text)
        if match is None:
            return _micros_of(_parse_time(text, self.display, line_number))
        head, fraction, offset = match.groups()
        key = head + offset
        seconds = self.seconds_cache.get(key)
        if seconds is None:
            if len(self.seconds_cache) >= _SECONDS_CACHE_LIMIT:
                self.seconds_cache.clear()
            instant = _parse_time(key, self.display, line_number)
            seconds = self.seconds_cache[key] = _micros_of(instant) // 1_000_000
        if fraction is None:
            return seconds * 1_000_000
        if len(fraction) >= 6:
            return seconds * 1_000_000 + int(fraction[:6])
        return seconds * 1_000_000 + int(fraction) * _FRACTION_SCALE[len(fraction)]

    # Facts

    def result(self, files: list[Path]) -> Collected:
        """Build the facts, reasons for absent ones and warnings from the aggregates."""
        facts: dict[str, Any] = {}
        absent: dict[str, str] = {}
        warnings = self._warnings()

        facts["points"] = self.points
        facts["metrics_declared"] = sorted(self.declared)
        observed_at = None
        if self.points:
            observed_at = _EPOCH + self.last_micros * _MICROSECOND
            facts["first_point_at"] = format_instant(_EPOCH + self.first_micros * _MICROSECOND)
            facts["last_point_at"] = format_instant(observed_at)
        else:
            absent["first_point_at"] = absent["last_point_at"] = "the stream has no Point lines"

        self._request_facts(facts, absent)
        self._rate_facts(facts, absent)
        self._trend_facts(facts, absent)
        for fact, groups in (("by_name", self.by_name), ("by_scenario", self.by_scenario)):
            tag = fact.removeprefix("by_")
            if groups is None:
                absent[fact] = (
                    f"more than {self.max_breakdown_keys} distinct {tag} tags. Raise "
                    "max_breakdown_keys, or set a name tag in the script to group URLs"
                )
            else:
                facts[fact] = {
                    key: _breakdown_facts(group) for key, group in sorted(groups.items())
                }
        facts["custom_metrics"] = self._custom_facts(warnings)
        return Collected(
            facts=facts, artifacts=files, observed_at=observed_at, absent=absent, warnings=warnings
        )

    def _warnings(self) -> list[str]:
        warnings = []
        for kind, (count, first) in sorted(self.unknown_types.items()):
            lines = "line" if count == 1 else "lines"
            warnings.append(
                f"skipped {count} {lines} of unknown type {kind!r} (first at {first})"
            )
        if self.blank_lines:
            lines = "line" if self.blank_lines == 1 else "lines"
            warnings.append(f"skipped {self.blank_lines} blank {lines}")
        for display in self.empty_parts:
            warnings.append(f"{display} contains no lines")
        declaration = self.declared.get(self.selector.name)
        if declaration is not None and declaration.type != "trend":
            warnings.append(
                f"metric {self.selector.name} is declared as a {declaration.type}, not a trend, "
                "so its *_ms facts are statistics of its point values"
            )
        elif declaration is not None and declaration.contains not in (None, "time"):
            warnings.append(
                f"metric {self.selector.name} contains {declaration.contains!r} values, not "
                "times, so its *_ms facts contain its values unconverted"
            )
        return warnings

    def _request_facts(self, facts: dict[str, Any], absent: dict[str, str]) -> None:
        if self.requests_points == 0:
            absent["requests"] = absent["requests_per_second"] = "no http_reqs points in the stream"
            return
        facts["requests"] = int(self.requests)
        span = self.requests_last - self.requests_first
        if span == 0:
            absent["requests_per_second"] = (
                "every http_reqs point has the same time, so the span to divide by is zero"
            )
        else:
            facts["requests_per_second"] = self.requests / (span / 1_000_000)

    def _rate_facts(self, facts: dict[str, Any], absent: dict[str, str]) -> None:
        if self.failed_total:
            facts["error_rate_ratio"] = self.failed / self.failed_total
            facts["failed_requests"] = self.failed
        else:
            reason = "no http_req_failed points in the stream"
            absent["error_rate_ratio"] = absent["failed_requests"] = reason
        if self.checks_total:
            facts["checks_passed"] = self.checks_passed
            facts["checks_failed"] = self.checks_total - self.checks_passed
        else:
            absent["checks_passed"] = absent["checks_failed"] = "no checks points in the stream"

    def _trend_facts(self, facts: dict[str, Any], absent: dict[str, str]) -> None:
        names = ("avg_ms", "min_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms")
        if not self.trend:
            for name in names:
                absent[name] = f"no {self.selector.text} points in the stream"
            return
        try:
            facts["avg_ms"] = math.fsum(self.trend) / len(self.trend)
        except OverflowError:
            absent["avg_ms"] = "the sum of the values is beyond the range of a 64-bit float"
        ranks = _SortedRuns(self.trend)
        facts["min_ms"] = ranks.value_at(0)
        facts["max_ms"] = ranks.value_at(len(self.trend) - 1)
        for name, quantile in _QUANTILES:
            value = ranks.percentile(quantile)
            if math.isfinite(value):
                facts[name] = value
            else:
                absent[name] = "interpolating between the values overflows a 64-bit float"

    def _custom_facts(self, warnings: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, custom in sorted(self.custom.items()):
            if custom.type is None:
                warnings.append(
                    f"metric {name} has points (first at {custom.first_line}) but no Metric "
                    "line, so it is left out of custom_metrics"
                )
                continue
            entry: dict[str, Any] = {"type": custom.type, "count": custom.count}
            if custom.type == "counter" and math.isfinite(custom.total):
                entry["sum"] = custom.total
            elif custom.type == "rate" and custom.count:
                entry["rate"] = custom.nonzero / custom.count
            elif custom.type == "gauge" and custom.count:
                entry["value"] = custom.last
            elif custom.type == "trend" and custom.values:
                p95 = _SortedRuns(custom.values).percentile(0.95)
                if math.isfinite(p95):
                    entry["p95"] = p95
            result[name] = entry
        return result


class _SortedRuns:
    """An array('d') sorted in place in runs, with lookups by rank across the runs.

    Sorting runs of SORT_RUN_VALUES bounds the temporary list that `sorted`
    builds. The value of rank k is found by binary search over each run's
    values, counting how many values of all runs lie below a candidate.
    """

    def __init__(self, values: array) -> None:
        self.count = len(values)
        self.runs: list[memoryview] = []
        view = memoryview(values)
        for start in range(0, self.count, SORT_RUN_VALUES):
            stop = min(start + SORT_RUN_VALUES, self.count)
            values[start:stop] = array("d", sorted(view[start:stop]))
            self.runs.append(view[start:stop])

    def value_at(self, rank: int) -> float:
        """Return the value at 0-based `rank` of the sorted values."""
        if len(self.runs) == 1:
            return self.runs[0][rank]
        for run in self.runs:
            low, high = 0, len(run)
            while low < high:
                middle = (low + high) // 2
                candidate = run[middle]
                below = sum(bisect.bisect_left(other, candidate) for other in self.runs)
                through = sum(bisect.bisect_right(other, candidate) for other in self.runs)
                if below <= rank < through:
                    return candidate
                if through <= rank:
                    low = middle + 1
                else:
                    high = middle
        raise AssertionError(f"rank {rank} not found among {self.count} values")

    def percentile(self, quantile: float) -> float:
        """Interpolate linearly between the closest ranks, as k6's TrendSink.P does."""
        if self.count == 1:
            return self.value_at(0)
        rank = quantile * (self.count - 1)
        lower = self.value_at(math.floor(rank))
        upper = self.value_at(math.ceil(rank))
        return lower + (upper - lower) * (rank - math.floor(rank))


def _breakdown_facts(group: _Breakdown) -> dict[str, Any]:
    entry: dict[str, Any] = {"requests": int(group.requests)}
    if group.values:
        ranks = _SortedRuns(group.values)
        for key, quantile in (("p95_ms", 0.95), ("p99_ms", 0.99)):
            value = ranks.percentile(quantile)
            if math.isfinite(value):
                entry[key] = value
    if group.failed_total:
        entry["error_rate_ratio"] = group.failed / group.failed_total
    return entry


def _is_built_in(metric: str) -> bool:
    return metric in K6_BUILT_IN_METRICS or metric.startswith(K6_BUILT_IN_PREFIX)


def _make_loads() -> Callable[[bytes], Any]:
    """Return the fast line parser: orjson.loads, or the json module made as strict."""
    if orjson is not None:
        return orjson.loads
    decoder = json.JSONDecoder(parse_constant=_reject_constant)

    def loads(line: bytes) -> Any:
        # orjson rejects a lone surrogate escape, so such lines go to the slow path here too.
        if _SURROGATE_ESCAPE.search(line):
            raise ValueError("surrogate escape")
        return decoder.decode(line.decode("utf-8"))

    return loads


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_loads = _make_loads()


def _parse_failed_line(line: bytes, line_number: int, display: str) -> Any:
    """Parse a line the fast parser rejected with the json module, or raise why it is invalid.

    The json module decides, so that messages and columns are the same whether
    or not orjson is installed. It accepts a number beyond the float range,
    which orjson rejects, and such a line is returned for the usual checks.
    A lone surrogate escape is rejected, because it encodes no character and
    the facts must encode as UTF-8. A UTF-8 byte-order mark is skipped on line 1.
    """
    if line_number == 1 and line.startswith(_BOM):
        line = line[len(_BOM):]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollectorError(
            f"invalid UTF-8 (byte 0x{line[exc.start]:02x}); save the file as UTF-8",
            path=display, location=f"{line_number}:{exc.start + 1}",
        ) from exc
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CollectorError(
            f"invalid JSON: {exc.msg}; {_EXPECTED}",
            path=display, location=f"{line_number}:{exc.colno}",
        ) from exc
    except ValueError as exc:
        raise CollectorError(
            f"invalid JSON: {exc}", path=display, location=str(line_number)
        ) from exc
    except RecursionError as exc:
        raise CollectorError(
            "invalid JSON: nested too deeply to parse", path=display, location=str(line_number)
        ) from exc
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CollectorError(
            "invalid JSON: lone UTF-16 surrogate in a \\u escape, which encodes no character",
            path=display, location=str(line_number),
        ) from exc
    return record


def _explain_point(record: Any, display: str, line_number: int, error: Exception) -> NoReturn:
    """Raise a CollectorError naming what is wrong with a line the fast path rejected.

    Re-raises `error` when the line turns out to be well formed, because then
    the fault is in this module.
    """
    if type(record) is not dict:
        raise _line_error(
            f"expected a JSON object, found {_describe(record)}", display, line_number
        )
    kind = record.get("type")
    if type(kind) is not str:
        raise _line_error(
            f"type: expected \"Metric\" or \"Point\", found {_describe(kind)}", display, line_number
        )
    if kind != "Point":
        raise error
    data = record.get("data")
    if type(data) is not dict:
        raise _line_error(
            f"data: expected a JSON object, found {_describe(data)}", display, line_number
        )
    for key in ("time", "value"):
        if key not in data:
            raise _line_error(f"data.{key} is missing from a Point line", display, line_number)
    value = data["value"]
    if type(value) is float and not math.isfinite(value):
        raise _line_error(f"data.value: {value} is not a finite number", display, line_number)
    if type(value) is int:
        try:
            float(value)
        except OverflowError as exc:
            raise _line_error(
                f"data.value: {value} is beyond the range of a 64-bit float", display, line_number
            ) from exc
    elif type(value) is not float:
        raise _line_error(
            f"data.value: expected a number, found {_describe(value)}", display, line_number
        )
    if "metric" not in record:
        raise _line_error("metric is missing from a Point line", display, line_number)
    if type(record["metric"]) is not str:
        raise _line_error(
            f"metric: expected a metric name, found {_describe(record['metric'])}",
            display, line_number,
        )
    raise error


def _parse_time(text: str, display: str, line_number: int) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise _line_error(f"data.time: {exc}", display, line_number) from exc


def _micros_of(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


def _line_error(message: str, display: str, line_number: int) -> CollectorError:
    return CollectorError(message, path=display, location=str(line_number))


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
