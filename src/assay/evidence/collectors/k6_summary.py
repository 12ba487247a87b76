"""Collector for k6 end-of-test summaries written as JSON.

Three layouts are recognised by their shape:

* `k6 run --summary-export=FILE` ("summary-export") writes each
  `metrics.<name>` with its statistics directly (`avg`, `med`, `p(95)`,
  `count`, `rate`, `passes`, `value`, ...), and `thresholds` as a map from
  expression to bool in which `true` means the threshold FAILED.
* `JSON.stringify(data)` inside `handleSummary(data)` ("handleSummary") writes
  each `metrics.<name>` as `{type, contains, values: {...}, thresholds:
  {expression: {ok: bool}}}`, in which `ok: true` means the threshold passed.
* k6 v1.5 and later with `--new-machine-readable-summary` (or
  K6_NEW_MACHINE_READABLE_SUMMARY) write the "machine-readable" layout
  through both routes: `{version, metadata: {generatedAt, k6Version}, config:
  {execution, script, duration}, results: {metrics: [{name, type, contains,
  values}], checks: {metrics: [...], results: [...]}}}`, whose JSON schema
  version 1.0.0 is in github.com/grafana/k6-summary. k6 1.5 writes only
  `count` for a counter, and `matches`, `rate` and `total` for a rate, so the
  request rate is count / config.duration and failures are `matches`. The
  layout records no thresholds, so the threshold facts are absent.

All give the same facts. Durations are in milliseconds, the unit k6 uses for
time metrics in every layout. k6 writes only the percentiles listed in
`summaryTrendStats`, so a statistic the file lacks is left out of the facts
and its reason goes to `absent`. It is never set to 0 or estimated. Every
value read is type-checked, and a wrong type raises CollectorError with its
JSON path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.jsonload import load_strict
from assay.evidence.collectors.base import (
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    PathParams,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.records import MAX_SAFE_INTEGER
from assay.timeutil import parse_instant

PERCENTILE_KEY = re.compile(r"p\((\d+(?:\.\d+)?)\)")

# Ends the message of an error that finds no k6 summary at all.
_EXPECTED_FILE = "pass the JSON written by k6 run --summary-export or by handleSummary()"

LAYOUT_EXPORT = "summary-export"
LAYOUT_HANDLE_SUMMARY = "handleSummary"
LAYOUT_MACHINE_READABLE = "machine-readable"

# Major version of the machine-readable summary schema this collector reads.
MACHINE_READABLE_MAJOR = 1


class K6SummaryParams(PathParams):
    """Parameters of the k6.summary collector."""

    metric: str = Field(
        default="http_req_duration",
        description="Trend metric whose statistics become the *_ms facts, "
        "for example 'http_req_duration{name:POST /api/orders}'.",
    )


# Ends the description of every *_ms fact.
_OF_TREND = "of the trend metric named by `metric` (default http_req_duration), in milliseconds."


@dataclass
class _Metric:
    """One metric of the summary, with its statistics found in any layout."""

    values: dict[str, Any]
    location: str
    contains: Any


@dataclass
class _Summary:
    """Metrics, thresholds and run data of one summary document, in any layout."""

    layout: str
    metrics: dict[str, _Metric]
    # None when the layout records no thresholds (machine-readable).
    thresholds: dict[str, bool] | None
    # Test run duration from config.duration (machine-readable only).
    duration_seconds: int | float | None = None
    generated_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)


class K6Summary(Collector):
    name = "k6.summary"
    version = "1"
    summary = (
        "Read a k6 end-of-test summary (--summary-export or handleSummary JSON, "
        "including the k6 v1.5 machine-readable layout)."
    )
    Params = K6SummaryParams
    facts = (
        _fact("layout", "str", None,
              '"summary-export", "handleSummary" or "machine-readable" (k6 v1.5 and later).'),
        _fact("requests", "int", "requests", "HTTP requests made (http_reqs count)."),
        _fact("requests_per_second", "number", "1/s",
              "HTTP requests per second over the whole run (http_reqs rate, or its count "
              "divided by config.duration in the machine-readable layout)."),
        _fact("avg_ms", "number", "ms", f"Mean (avg) {_OF_TREND}"),
        _fact("min_ms", "number", "ms", f"Minimum (min) {_OF_TREND}"),
        _fact("max_ms", "number", "ms", f"Maximum (max) {_OF_TREND}"),
        _fact("p50_ms", "number", "ms", f"Median (med) {_OF_TREND}"),
        _fact("p90_ms", "number", "ms", f"90th percentile (p(90)) {_OF_TREND}"),
        _fact("p95_ms", "number", "ms", f"95th percentile (p(95)) {_OF_TREND}"),
        _fact("p99_ms", "number", "ms", f"99th percentile (p(99)) {_OF_TREND}"),
        _fact("p*_ms", "number", "ms", "Any other percentile the file records for the trend "
              "metric, named after it: p(99.9) is p99_9_ms."),
        _fact("error_rate_ratio", "number", "ratio",
              "Share of HTTP requests that failed, from 0 to 1 (http_req_failed rate)."),
        _fact("failed_requests", "int", "requests", "HTTP requests that failed "
              "(http_req_failed passes, or matches in the machine-readable layout, because "
              "that rate counts a failure as a pass)."),
        _fact("thresholds", "map", None,
              'Every threshold as "metric:expression" -> true when it passed.'),
        _fact("thresholds_failed", "list", None,
              'Sorted "metric:expression" names of the thresholds that failed.'),
        _fact("all_thresholds_passed", "bool", None,
              "True when every threshold passed; absent when the file defines none."),
        _fact("checks_passed", "int", "checks", "check() calls that passed (checks passes, or "
              "checks_succeeded matches in the machine-readable layout)."),
        _fact("checks_failed", "int", "checks", "check() calls that failed (checks fails, or "
              "checks_failed matches in the machine-readable layout)."),
    )  # fmt: skip

    def collect(self, params: K6SummaryParams, context: CollectContext) -> Collected:
        """Read one k6 summary file and return its facts."""
        files = resolve_input(context.workspace, params.path)
        if len(files) > 1:
            names = ", ".join(relative_name(context.workspace, file) for file in files)
            raise CollectorError(
                f"matches {len(files)} files ({names}); name exactly one k6 summary file",
                path=params.path,
            )
        file = files[0]
        display = relative_name(context.workspace, file)
        document = _parse_json(read_input_bytes(file, display), display)

        try:
            summary = _read_layout(document)
            facts: dict[str, Any] = {"layout": summary.layout}
            absent: dict[str, str] = {}
            warnings: list[str] = list(summary.warnings)
            reader = _FactReader(summary.metrics, facts, absent)
            reader.read("requests", "http_reqs", "count", _count)
            if summary.layout == LAYOUT_MACHINE_READABLE:
                _read_machine_readable(reader, summary)
            else:
                reader.read(
                    "requests_per_second", "http_reqs", "rate", partial(_number, low=0)
                )
                rate_key = "value" if summary.layout == LAYOUT_EXPORT else "rate"
                reader.read(
                    "error_rate_ratio", "http_req_failed", rate_key,
                    partial(_number, low=0, high=1),
                )
                reader.read("failed_requests", "http_req_failed", "passes", _count)
                reader.read("checks_passed", "checks", "passes", _count)
                reader.read("checks_failed", "checks", "fails", _count)
            reader.read_trend(params.metric, warnings)
        except CollectorError as exc:
            # _read_layout and _FactReader raise without a path, because only collect() has it.
            raise CollectorError(exc.reason, path=display, location=exc.location) from exc

        thresholds = summary.thresholds
        if thresholds is None:
            reason = "the machine-readable summary records no thresholds"
            for name in ("thresholds", "thresholds_failed", "all_thresholds_passed"):
                absent[name] = reason
        else:
            facts["thresholds"] = thresholds
            facts["thresholds_failed"] = sorted(key for key, ok in thresholds.items() if not ok)
            if thresholds:
                facts["all_thresholds_passed"] = all(thresholds.values())
            else:
                absent["all_thresholds_passed"] = "the file defines no thresholds"
        return Collected(
            facts=facts, artifacts=[file], observed_at=summary.generated_at, absent=absent,
            warnings=warnings,
        )


def _read_machine_readable(reader: _FactReader, summary: _Summary) -> None:
    """Read the request rate, failures and checks, which this layout names unlike the others.

    k6 1.5 writes `matches` for a rate metric's true samples, and the schema at
    github.com/grafana/k6-summary names them `passes`, so either is read.
    """
    http_reqs = summary.metrics.get("http_reqs")
    if http_reqs is not None and "rate" not in http_reqs.values and "count" in http_reqs.values:
        count = _count(http_reqs.values["count"], f"{http_reqs.location}.count")
        if summary.duration_seconds:
            reader.facts["requests_per_second"] = count / summary.duration_seconds
        else:
            reader.absent["requests_per_second"] = (
                "config.duration is 0, so the request rate is undefined"
            )
    else:
        reader.read("requests_per_second", "http_reqs", "rate", partial(_number, low=0))
    reader.read(
        "error_rate_ratio", "http_req_failed", "rate", partial(_number, low=0, high=1)
    )
    reader.read("failed_requests", "http_req_failed", ("matches", "passes"), _count)
    reader.read("checks_passed", "checks_succeeded", ("matches", "passes"), _count)
    reader.read("checks_failed", "checks_failed", ("matches", "passes"), _count)


class _FactReader:
    """Reader of metric statistics into facts, with a reason in `absent` for each missing one."""

    def __init__(self, metrics: dict[str, _Metric], facts: dict[str, Any], absent: dict[str, str]):
        self.metrics = metrics
        self.facts = facts
        self.absent = absent

    def read(
        self, fact: str, metric_name: str, statistic: str | tuple[str, ...],
        check: Callable[[Any, str], Any],
    ) -> None:
        """Read one statistic into `fact`; a tuple names alternatives, the first present wins."""
        names = (statistic,) if isinstance(statistic, str) else statistic
        metric = self.metrics.get(metric_name)
        if metric is None:
            self.absent[fact] = f"no {metric_name} metric in the file"
            return
        found = next((name for name in names if name in metric.values), None)
        if found is None:
            self.absent[fact] = _not_present(" or ".join(names), metric_name, metric)
        else:
            value = metric.values[found]
            self.facts[fact] = check(value, f"{metric.location}.{found}")

    def read_trend(self, metric_name: str, warnings: list[str]) -> None:
        """Read avg, min, max, med and every p(N) of the chosen trend metric."""
        for fact, statistic in (("avg_ms", "avg"), ("min_ms", "min"), ("max_ms", "max")):
            self.read(fact, metric_name, statistic, _number)
        self.read("p50_ms", metric_name, "med", _number)
        metric = self.metrics.get(metric_name)
        if metric is None:
            for fact in ("p90_ms", "p95_ms", "p99_ms"):
                self.absent[fact] = f"no {metric_name} metric in the file"
            return

        # NOTE: only handleSummary records whether a trend contains times (`contains`), so a
        # summary-export custom trend of other values fills the *_ms facts without a warning.
        if metric.contains not in (None, "time"):
            warnings.append(
                f"metric {metric_name} contains {metric.contains!r} values, not times, "
                "so its *_ms facts contain its values unconverted"
            )
        for statistic, value in metric.values.items():
            match = PERCENTILE_KEY.fullmatch(statistic)
            if match is None:
                continue
            fact = "p" + match[1].replace(".", "_") + "_ms"
            number = _number(value, f"{metric.location}.{statistic}")
            if fact == "p50_ms" and "p50_ms" in self.facts:
                # med is the 50th percentile, so a difference means the file was edited.
                if number != self.facts["p50_ms"]:
                    warnings.append(f"{metric_name} has med and p(50) that differ; p50_ms is med")
                continue
            self.facts[fact] = number
            self.absent.pop(fact, None)
        for fact, statistic in (("p90_ms", "p(90)"), ("p95_ms", "p(95)"), ("p99_ms", "p(99)")):
            if fact not in self.facts:
                self.absent[fact] = _not_present(statistic, metric_name, metric)


def _not_present(statistic: str, metric_name: str, metric: _Metric) -> str:
    available = ", ".join(metric.values) or "none"
    return f"{statistic} not present for {metric_name}; available: {available}"


def _parse_json(data: bytes, display: str) -> Any:
    """Parse strict JSON: no NaN or Infinity, no key repeated within an object."""
    return load_strict(
        data, display, expected="k6 summary JSON",
        hint_extra_data=(
            " after the first value; k6 --out json writes one object per line, "
            "which this collector does not read"
        ),
    )


def _read_layout(document: Any) -> _Summary:
    """Detect the layout and read its metrics and threshold results."""
    if not isinstance(document, dict):
        raise CollectorError(
            f"expected a k6 summary JSON object, found {_describe(document)}; {_EXPECTED_FILE}"
        )
    if "metrics" not in document and "results" in document:
        return _read_machine_readable_layout(document)
    if "metrics" not in document:
        keys = ", ".join(list(document)[:10]) or "none"
        raise CollectorError(
            f"not a k6 summary: 'metrics' is missing (keys found: {keys}); {_EXPECTED_FILE}"
        )
    entries = _mapping(document["metrics"], "metrics")
    if not entries:
        raise CollectorError(
            "'metrics' contains no metrics, so the file has no k6 results", location="metrics"
        )
    for name, entry in entries.items():
        _mapping(entry, f"metrics.{name}")

    nested = [name for name, entry in entries.items() if "values" in entry]
    flat = [name for name, entry in entries.items() if "values" not in entry]
    if nested and flat:
        raise CollectorError(
            f"metrics mix the handleSummary layout ({nested[0]} has 'values') and the "
            f"--summary-export layout ({flat[0]} has none); expected one layout",
            location="metrics",
        )
    layout = LAYOUT_HANDLE_SUMMARY if nested else LAYOUT_EXPORT

    metrics: dict[str, _Metric] = {}
    thresholds: dict[str, bool] = {}
    for name, entry in entries.items():
        location = f"metrics.{name}"
        if layout == LAYOUT_EXPORT:
            values = {key: value for key, value in entry.items() if key != "thresholds"}
            metrics[name] = _Metric(values, location, None)
        else:
            values = _mapping(entry["values"], f"{location}.values")
            metrics[name] = _Metric(values, f"{location}.values", entry.get("contains"))
        if "thresholds" in entry:
            found = _mapping(entry["thresholds"], f"{location}.thresholds")
            for expression, result in found.items():
                where = f"{location}.thresholds.{expression}"
                if layout == LAYOUT_EXPORT:
                    # --summary-export writes whether the threshold failed.
                    passed = not _boolean(result, where)
                else:
                    passed = _boolean(_mapping(result, where).get("ok"), f"{where}.ok")
                thresholds[f"{name}:{expression}"] = passed
    return _Summary(layout, metrics, thresholds)


def _read_machine_readable_layout(document: dict[str, Any]) -> _Summary:
    """Read the k6 v1.5 machine-readable layout: metrics as a list under `results`."""
    summary = _Summary(LAYOUT_MACHINE_READABLE, {}, None)
    version = document.get("version")
    if not isinstance(version, str):
        raise CollectorError(
            f"expected the schema version as a string, found {_describe(version)}",
            location="version",
        )
    major = version.split(".", 1)[0]
    if major != str(MACHINE_READABLE_MAJOR):
        summary.warnings.append(
            f"machine-readable summary schema {version} is not version "
            f"{MACHINE_READABLE_MAJOR}.x. Its metrics were read as version 1.0.0 lays them out"
        )

    metadata = _mapping(document.get("metadata"), "metadata")
    generated_at = metadata.get("generatedAt")
    if generated_at is not None:
        if not isinstance(generated_at, str):
            raise CollectorError(
                f"expected an RFC 3339 timestamp, found {_describe(generated_at)}",
                location="metadata.generatedAt",
            )
        try:
            summary.generated_at = parse_instant(generated_at)
        except ValueError as exc:
            raise CollectorError(str(exc), location="metadata.generatedAt") from exc

    config = _mapping(document.get("config"), "config")
    if "duration" in config:
        summary.duration_seconds = _number(config["duration"], "config.duration", low=0)

    results = _mapping(document["results"], "results")
    entries = _list(results.get("metrics"), "results.metrics")
    if not entries:
        raise CollectorError(
            "'results.metrics' contains no metrics, so the file has no k6 results",
            location="results.metrics",
        )
    _add_listed_metrics(summary.metrics, entries, "results.metrics")
    if "checks" in results:
        checks = _mapping(results["checks"], "results.checks")
        if "metrics" in checks:
            listed = _list(checks["metrics"], "results.checks.metrics")
            _add_listed_metrics(summary.metrics, listed, "results.checks.metrics")
    return summary


def _add_listed_metrics(
    metrics: dict[str, _Metric], entries: list[Any], location: str
) -> None:
    """Add metrics written as a list of {name, type, contains, values} objects."""
    for index, entry in enumerate(entries):
        where = f"{location}[{index}]"
        entry = _mapping(entry, where)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise CollectorError(
                f"expected a metric name, found {_describe(name)}", location=f"{where}.name"
            )
        if name in metrics:
            raise CollectorError(
                f"metric {name} appears twice "
                f"(also at {metrics[name].location.removesuffix('.values')})",
                location=where,
            )
        values = _mapping(entry.get("values"), f"{where}.values")
        metrics[name] = _Metric(values, f"{where}.values", entry.get("contains"))


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


def _mapping(value: Any, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CollectorError(f"expected a JSON object, found {_describe(value)}", location=location)
    return value


def _list(value: Any, location: str) -> list[Any]:
    if not isinstance(value, list):
        raise CollectorError(f"expected a JSON array, found {_describe(value)}", location=location)
    return value


def _boolean(value: Any, location: str) -> bool:
    if not isinstance(value, bool):
        raise CollectorError(f"expected true or false, found {_describe(value)}", location=location)
    return value


def _number(
    value: Any, location: str, low: float | None = None, high: float | None = None
) -> int | float:
    """Return a finite JSON number within [low, high] unchanged, so an integer stays an int."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CollectorError(f"expected a number, found {_describe(value)}", location=location)
    if isinstance(value, float) and not math.isfinite(value):
        raise CollectorError(
            "invalid number: out of the range of a 64-bit float", location=location
        )
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise CollectorError(f"integer {value} exceeds 2**53 - 1 in magnitude", location=location)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        raise CollectorError(f"expected a number {bounds}, found {value!r}", location=location)
    return value


def _count(value: Any, location: str) -> int:
    """Return a whole, non-negative count as an int, so 141.0 becomes 141."""
    number = _number(value, location, low=0)
    if isinstance(number, float):
        if not number.is_integer():
            raise CollectorError(f"expected a whole count, found {number!r}", location=location)
        # _number checks the size of integers only, and a float such as
        # 9007199254740992.0 becomes an int here.
        if number > MAX_SAFE_INTEGER:
            raise CollectorError(f"count {number!r} exceeds 2**53 - 1", location=location)
        return int(number)
    return number
