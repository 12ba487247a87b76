"""Collector `prometheus`: a Prometheus HTTP API query result, per series.

The input is the JSON body of `/api/v1/query` (result type vector or scalar)
or `/api/v1/query_range` (matrix), read from a saved file or fetched from a
server. Only 127.0.0.1, localhost and ::1 are contacted unless the control
sets `allow_remote: true`. Redirects are not followed, and proxies from the
environment are used only for remote servers.

Sample values are strings in the API. NaN and ±Inf samples are counted and
left out of every statistic, so facts stay finite.

The slope of a series is the ordinary least-squares fit of value on time in
seconds, times 3600, so it is in the metric's unit per hour (bytes per hour
for process_resident_memory_bytes):

    slope = sum((t - mean_t) * (v - mean_v)) / sum((t - mean_t) ** 2) * 3600

A missed scrape is a timestamp of the range query's grid (start + k * step,
up to end) at which a series has no sample. start, end and step come from
the parameters, or else from the response: its first and last sample time and
the most common gap between consecutive samples.
"""

from __future__ import annotations

import http.client
import math
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from assay import __version__
from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    Fact,
    read_input_bytes,
    relative_name,
    resolve_single_input,
)
from assay.evidence.collectors.jsonload import load_strict
from assay.timeutil import format_instant, from_epoch, parse_instant

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# NOTE: 64 MiB is a chosen bound. At about 26 bytes a sample ([1796407200,"221996053"],)
# it is an estimated 2.5 million samples.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 64 * 1024
# 9999-12-31T23:59:59Z, the last instant a Python datetime can hold.
MAX_TIMESTAMP = 253402300799

# Prometheus durations ("90s", "1h30m") and plain or decimal seconds ("60", "15.5").
_DURATION = re.compile(r"^(?:[0-9]+(?:ms|[smhdwy]))+$")
_DURATION_PART = re.compile(r"([0-9]+)(ms|[smhdwy])")
_SECONDS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_RELATIVE_TIME = re.compile(r"^now(?:-(?P<duration>\S+))?$")
# The float formats Prometheus writes, plus its spellings of NaN and infinity.
_SAMPLE_VALUE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$|^[+-]?Inf$|^NaN$")


class PrometheusParams(CollectorParams):
    path: str | None = Field(
        default=None,
        description="Saved JSON response of /api/v1/query or /api/v1/query_range, relative to the "
                    "workspace. Give either path or url.",
    )
    url: str | None = Field(
        default=None,
        description="Base URL of the Prometheus server, e.g. http://127.0.0.1:9090. Only 127.0.0.1, "
                    "localhost and ::1 are allowed unless allow_remote is true.",
    )
    query: str | None = Field(default=None, description="PromQL expression sent to the server (with url).")
    start: str | None = Field(
        default=None,
        description="Range start: an RFC 3339 instant with offset, or now-DURATION (now-2h) relative to "
                    "the run's time. With url, a start makes the request a range query.",
    )
    end: str | None = Field(
        default=None,
        description="Range end, in the form of start. With url it defaults to now.",
    )
    step: int | str | None = Field(
        default=None,
        description="Range query resolution: seconds (60) or a Prometheus duration (1m). Required "
                    "with url and start; for a saved file it defaults to the most common sample gap.",
    )
    timeout_seconds: float = Field(
        default=30, gt=0,
        description="Seconds to wait for the connection and for each read of the response.",
    )
    max_response_bytes: int = Field(
        default=MAX_RESPONSE_BYTES, gt=0, description="Largest response body accepted, in bytes.",
    )
    allow_remote: bool = Field(
        default=False, description="Allow a url whose host is not 127.0.0.1, localhost or ::1.",
    )

    @field_validator("start", "end")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time(value, datetime.now(UTC))
        return value

    @field_validator("step")
    @classmethod
    def _check_step(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            step_seconds(value)
        return value

    @model_validator(mode="after")
    def _check_source(self) -> PrometheusParams:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path (a saved response) or url (a Prometheus server)")
        if self.url is None:
            if self.query is not None:
                raise ValueError("query is sent only to a server; remove it or give url instead of path")
            return self
        if not self.query:
            raise ValueError("url needs a query (a PromQL expression)")
        problem = url_problem(self.url, self.allow_remote)
        if problem:
            raise ValueError(problem)
        if self.start is None and (self.end is not None or self.step is not None):
            raise ValueError("end and step belong to a range query; give start as well")
        if self.start is not None and self.step is None:
            raise ValueError("a range query needs step, e.g. step: 60 or step: 1m")
        return self


class Prometheus(Collector):
    name = "prometheus"
    version = "1"
    summary = "Read a Prometheus query result (saved file or local server): per-series statistics and slopes."
    Params = PrometheusParams
    facts = (
        Fact(name="series_count", type="int", unit="series", description="Series in the result."),
        Fact(name="series", type="map",
             description="Map from the series' labels, written as name{label=\"value\",...} with labels "
                         "sorted ({} for none), to {first, last, min, max, samples, non_finite_samples, "
                         "missed_scrapes, slope_per_hour, growth_ratio}. samples counts the finite "
                         "samples that the other statistics use. slope_per_hour is the least-squares "
                         "slope in the metric's unit per hour (null with fewer than two samples). "
                         "growth_ratio is last / first (null when first is 0)."),
        Fact(name="max_value", type="float", description="Largest finite sample value over all series."),
        Fact(name="min_value", type="float", description="Smallest finite sample value over all series."),
        Fact(name="max_slope_per_hour", type="float", unit="metric unit per hour",
             description="Largest least-squares slope over all series (the fastest growth), in the "
                         "metric's unit per hour, e.g. bytes/hour for process_resident_memory_bytes."),
        Fact(name="missed_scrapes", type="int", unit="samples",
             description="Range-query grid timestamps without a sample, summed over all series "
                         "(0 for instant queries)."),
        Fact(name="non_finite_samples", type="int", unit="samples",
             description="NaN and ±Inf samples, which every other fact leaves out."),
        Fact(name="step_seconds", type="float", unit="seconds",
             description="Range query step used to count missed scrapes: the step parameter, or the "
                         "most common gap between samples."),
    )

    def collect(self, params: PrometheusParams, context: CollectContext) -> Collected:
        if params.url is not None:
            return self._collect_from_server(params, context)
        assert params.path is not None
        path = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, path)
        data = read_input_bytes(path, display, params.max_response_bytes)
        window = _window_from_params(params, context.now)
        return _summarize(data, display, window, artifact=path)

    def _collect_from_server(self, params: PrometheusParams, context: CollectContext) -> Collected:
        assert params.url is not None and params.query is not None
        # The params were checked when they were built. This repeats the host
        # check because a host other than this machine must never be contacted
        # without allow_remote.
        problem = url_problem(params.url, params.allow_remote)
        if problem:
            raise CollectorError(problem, path=params.url)
        window = _window_from_params(params, context.now)
        if window.start is None:
            endpoint = "/api/v1/query"
            query = {"query": params.query, "time": _format_epoch(context.now.timestamp())}
        else:
            assert window.end is not None and window.step is not None
            endpoint = "/api/v1/query_range"
            query = {
                "query": params.query,
                "start": _format_epoch(window.start),
                "end": _format_epoch(window.end),
                "step": _format_epoch(window.step),
            }
        url = params.url.rstrip("/") + endpoint + "?" + urllib.parse.urlencode(query)
        body = fetch(url, params.timeout_seconds, params.max_response_bytes, params.allow_remote)
        collected = _summarize(body, params.url, window, artifact=None)
        collected.artifacts.append(_save_response(context, body))
        return collected


@dataclass
class _Window:
    """The range query's grid in epoch seconds; None where unknown."""

    start: float | None = None
    end: float | None = None
    step: float | None = None


@dataclass
class _Series:
    key: str
    # (epoch seconds, value) of the finite samples.
    samples: list[tuple[float, float]] = field(default_factory=list)
    # Epoch milliseconds of every sample, finite or not.
    times_ms: list[int] = field(default_factory=list)
    non_finite: int = 0


def parse_time(text: str, now: datetime) -> datetime:
    """Parse `now`, `now-DURATION` or an RFC 3339 instant with an offset."""
    relative = _RELATIVE_TIME.match(text.strip())
    if relative:
        duration = relative["duration"]
        if duration is None:
            return now
        if not _DURATION.match(duration):
            raise ValueError(f"invalid duration {duration!r} in {text!r}; use a Prometheus duration such as 2h or 90m")
        return now - timedelta(seconds=_duration_seconds(duration))
    try:
        return parse_instant(text)
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}; use an RFC 3339 instant with offset (2026-12-04T18:00:00Z) "
            "or now-DURATION (now-2h)"
        ) from None


def step_seconds(value: int | str) -> float:
    """Return a step given as seconds or as a Prometheus duration, in seconds."""
    if isinstance(value, int) or _SECONDS.match(value):
        seconds = float(value)
    elif _DURATION.match(value):
        seconds = _duration_seconds(value)
    else:
        raise ValueError(f"invalid step {value!r}; use seconds (60) or a Prometheus duration (1m)")
    if seconds <= 0:
        raise ValueError(f"step must be positive, got {value!r}")
    return seconds


def _duration_seconds(text: str) -> float:
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))


def url_problem(url: str, allow_remote: bool) -> str | None:
    """Explain why assay must not send a request to `url`, or return None."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"invalid url {url!r}: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"url must start with http:// or https://, got {url!r}"
    if not parts.hostname:
        return f"url {url!r} has no host"
    if parts.username is not None or parts.password is not None:
        return "url must not contain credentials, because the url is recorded with the evidence"
    if parts.query or parts.fragment:
        return (f"url {url!r} must be the server's base address, such as http://127.0.0.1:9090; "
                "give the expression in query")
    if not allow_remote and parts.hostname not in LOOPBACK_HOSTS:
        return (f"url host {parts.hostname!r} is not 127.0.0.1, localhost or ::1; assay contacts "
                "other hosts only when the control sets allow_remote: true")
    return None


class _RejectRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise CollectorError(
            f"the server redirected (HTTP {code}) to {newurl}; assay does not follow redirects, "
            "so set url to the address that answers",
            path=req.full_url,
        )


def fetch(url: str, timeout: float, limit: int, allow_remote: bool) -> bytes:
    """GET `url` and return the body, or raise CollectorError quoting Prometheus' error."""
    handlers: list[urllib.request.BaseHandler] = [_RejectRedirect()]
    if not allow_remote:
        # A proxy from the environment would receive the request in place of this machine.
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": f"assay/{__version__}"}
    )
    display = url.partition("?")[0]
    try:
        with opener.open(request, timeout=timeout) as response:
            return _read_capped(response, limit, timeout, display)
    except urllib.error.HTTPError as exc:
        body = _read_capped(exc, limit, timeout, display)
        raise CollectorError(_http_error_message(exc.code, exc.reason, body), path=display) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise CollectorError(f"timed out after {timeout:g} s", path=display) from exc
        raise CollectorError(f"request failed: {exc.reason}", path=display) from exc
    except TimeoutError as exc:
        raise CollectorError(f"timed out after {timeout:g} s", path=display) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise CollectorError(f"request failed: {exc}", path=display) from exc


def _read_capped(response: Any, limit: int, timeout: float, display: str) -> bytes:
    # The socket timeout bounds each read. This deadline also bounds a server
    # that sends a little data at a time, so reading takes at most about twice the timeout.
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise CollectorError(
                f"response is larger than max_response_bytes ({limit} bytes); narrow the query "
                "or raise max_response_bytes",
                path=display,
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise CollectorError(f"timed out after {timeout:g} s while reading the response", path=display)
    return b"".join(chunks)


def _http_error_message(code: int, reason: str, body: bytes) -> str:
    try:
        document = load_strict(body, "response", expected="a Prometheus API response")
    except CollectorError:
        document = None
    if isinstance(document, dict) and ("error" in document or "errorType" in document):
        return f"HTTP {code}: {_api_error(document)}"
    return f"HTTP {code} {reason}"


def _api_error(document: dict[str, Any]) -> str:
    return (f"Prometheus returned status {document.get('status')!r}, "
            f"errorType {document.get('errorType')!r}: {document.get('error')}")


def _window_from_params(params: PrometheusParams, now: datetime) -> _Window:
    window = _Window()
    if params.start is not None:
        window.start = parse_time(params.start, now).timestamp()
        end = parse_time(params.end, now) if params.end is not None else now
        window.end = end.timestamp()
        if window.end < window.start:
            raise CollectorError(f"end ({format_instant(end)}) is before start ({params.start})")
    elif params.end is not None:
        window.end = parse_time(params.end, now).timestamp()
    if params.step is not None:
        window.step = step_seconds(params.step)
    return window


def _format_epoch(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"


def _save_response(context: CollectContext, body: bytes) -> Path:
    """Write the fetched body under evidence/tmp so the run can store it as an artifact."""
    folder = context.workspace / "evidence" / "tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix="prometheus-", suffix=".json", delete=False
        ) as handle:
            handle.write(body)
    except OSError as exc:
        raise CollectorError(f"cannot save the response: {exc.strerror}", path=str(folder)) from exc
    return Path(handle.name)


def _summarize(data: bytes, display: str, window: _Window, *, artifact: Path | None) -> Collected:
    document = load_strict(data, display, expected="a Prometheus API response")
    result_type, all_series, warnings = _parse_response(document, display)
    if result_type == "matrix":
        _complete_window(window, all_series)

    entries: dict[str, dict[str, Any]] = {}
    for series in all_series:
        missed = _missed_scrapes(series, window) if result_type == "matrix" else 0
        entries[series.key] = _statistics(series, missed)
    facts: dict[str, Any] = {
        "series_count": len(entries),
        "series": entries,
        "missed_scrapes": sum(entry["missed_scrapes"] for entry in entries.values()),
        "non_finite_samples": sum(entry["non_finite_samples"] for entry in entries.values()),
    }
    absent = _add_totals(facts, entries, result_type, window)

    times = [t for series in all_series for t in series.times_ms]
    return Collected(
        facts=facts,
        artifacts=[artifact] if artifact is not None else [],
        observed_at=from_epoch(max(times) / 1000) if times else None,
        absent=absent,
        warnings=warnings,
    )


def _add_totals(
    facts: dict[str, Any], entries: dict[str, dict[str, Any]], result_type: str, window: _Window
) -> dict[str, str]:
    """Add the facts over all series to `facts`, and return the reasons for those left out."""
    absent: dict[str, str] = {}
    with_samples = [entry for entry in entries.values() if entry["samples"]]
    if with_samples:
        facts["max_value"] = max(entry["max"] for entry in with_samples)
        facts["min_value"] = min(entry["min"] for entry in with_samples)
    else:
        reason = "the result has no series" if not entries else "the result has no finite sample"
        absent["max_value"] = absent["min_value"] = reason

    slopes = [entry["slope_per_hour"] for entry in entries.values() if entry["slope_per_hour"] is not None]
    if slopes:
        facts["max_slope_per_hour"] = max(slopes)
    elif result_type == "matrix":
        absent["max_slope_per_hour"] = "no series has two finite samples at different times"
    else:
        absent["max_slope_per_hour"] = f"a {result_type} result has one sample per series; use a range query"

    if result_type != "matrix":
        absent["step_seconds"] = f"a {result_type} result has no step"
    elif window.step is None:
        absent["step_seconds"] = "no series has two samples, so the step is unknown"
    else:
        facts["step_seconds"] = window.step
    return absent


def _parse_response(document: Any, display: str) -> tuple[str, list[_Series], list[str]]:
    if not isinstance(document, dict):
        raise CollectorError("expected a JSON object with status and data (a Prometheus API response)",
                             path=display)
    if "status" not in document:
        raise CollectorError("status is missing; expected a Prometheus API response", path=display)
    if document["status"] != "success" or "error" in document:
        raise CollectorError(_api_error(document), path=display)
    data = document.get("data")
    if not isinstance(data, dict):
        raise CollectorError("data is missing or not an object", path=display, location="data")

    result_type = data.get("resultType")
    result = data.get("result")
    warnings = [f"Prometheus: {text}" for text in document.get("warnings") or []]
    warnings += [f"Prometheus: {text}" for text in document.get("infos") or []]
    if result_type == "scalar":
        scalar = _Series(key="{}")
        _add_sample(scalar, result, display, "data.result")
        return result_type, [scalar], warnings
    if result_type not in ("vector", "matrix"):
        raise CollectorError(
            f"resultType {result_type!r} is not supported; expected vector, matrix or scalar",
            path=display, location="data.resultType",
        )
    if not isinstance(result, list):
        raise CollectorError("expected a list of series", path=display, location="data.result")

    all_series: list[_Series] = []
    keys: set[str] = set()
    for index, item in enumerate(result):
        series = _parse_series(item, result_type, display, f"data.result[{index}]")
        if series.key in keys:
            raise CollectorError(f"series {series.key} appears twice", path=display,
                                 location=f"data.result[{index}]")
        keys.add(series.key)
        all_series.append(series)
    return result_type, all_series, warnings


def _parse_series(item: Any, result_type: str, display: str, where: str) -> _Series:
    if not isinstance(item, dict) or not isinstance(item.get("metric", {}), dict):
        raise CollectorError("expected a series object with metric labels", path=display, location=where)
    if "histogram" in item or "histograms" in item:
        raise CollectorError(
            "native histogram samples are not supported; query a float series, "
            "e.g. histogram_quantile(0.99, ...)",
            path=display, location=where,
        )
    series = _Series(key=series_key(item.get("metric", {}), display, where))
    if result_type == "vector":
        _add_sample(series, item.get("value"), display, f"{where}.value")
        return series

    values = item.get("values")
    if not isinstance(values, list):
        raise CollectorError("expected a list of samples", path=display, location=f"{where}.values")
    for number, sample in enumerate(values):
        _add_sample(series, sample, display, f"{where}.values[{number}]")
    # The API returns samples in time order, but a hand-edited file may not.
    series.samples.sort()
    series.times_ms.sort()
    return series


def series_key(labels: dict[str, Any], display: str, where: str) -> str:
    """Write a label set as Prometheus does: name{label="value",...}, labels sorted."""
    parts = []
    for name in sorted(labels):
        value = labels[name]
        if not isinstance(value, str):
            raise CollectorError(f"label {name!r} is not a string", path=display, location=f"{where}.metric")
        if name != "__name__":
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            parts.append(f'{name}="{escaped}"')
    metric = labels.get("__name__", "")
    return metric + "{" + ",".join(parts) + "}"


def _add_sample(series: _Series, sample: Any, display: str, where: str) -> None:
    if (
        not isinstance(sample, list) or len(sample) != 2
        or isinstance(sample[0], bool) or not isinstance(sample[0], (int, float))
        or not 0 <= sample[0] <= MAX_TIMESTAMP
        or not isinstance(sample[1], str) or not _SAMPLE_VALUE.match(sample[1])
    ):
        raise CollectorError(
            f"expected a sample [unix time, \"value\"], got {str(sample)[:80]}", path=display, location=where
        )
    seconds = float(sample[0])
    series.times_ms.append(round(seconds * 1000))
    value = float(sample[1])
    if math.isfinite(value):
        series.samples.append((seconds, value))
    else:
        series.non_finite += 1


def _complete_window(window: _Window, all_series: list[_Series]) -> None:
    """Fill in the grid a saved response does not state, from its samples."""
    times = [t for series in all_series for t in series.times_ms]
    if not times:
        return
    if window.start is None:
        window.start = min(times) / 1000
    if window.end is None:
        window.end = max(times) / 1000
    if window.step is None:
        gaps = Counter(
            b - a for series in all_series for a, b in zip(series.times_ms, series.times_ms[1:]) if b > a
        )
        if gaps:
            max_count = max(gaps.values())
            window.step = min(gap for gap, count in gaps.items() if count == max_count) / 1000


def _missed_scrapes(series: _Series, window: _Window) -> int:
    if window.start is None or window.end is None or window.step is None:
        return 0
    start, end, step = round(window.start * 1000), round(window.end * 1000), round(window.step * 1000)
    if step <= 0:
        return 0
    expected = (end - start) // step + 1
    on_grid = {t for t in series.times_ms if start <= t <= end and (t - start) % step == 0}
    return expected - len(on_grid)


def least_squares_slope(samples: list[tuple[float, float]]) -> float | None:
    """Return the least-squares slope of value on time, per second, or None when undefined."""
    if len(samples) < 2:
        return None
    try:
        mean_t = math.fsum(t for t, _ in samples) / len(samples)
        mean_v = math.fsum(v for _, v in samples) / len(samples)
        spread = math.fsum((t - mean_t) * (t - mean_t) for t, _ in samples)
        if spread == 0:
            return None
        slope = math.fsum((t - mean_t) * (v - mean_v) for t, v in samples) / spread
    except (OverflowError, ValueError):
        # fsum raises on values near the largest double (about 1.8e308).
        return None
    return slope if math.isfinite(slope) else None


def _statistics(series: _Series, missed: int) -> dict[str, Any]:
    values = [v for _, v in series.samples]
    slope = least_squares_slope(series.samples)
    entry: dict[str, Any] = {
        "first": values[0] if values else None,
        "last": values[-1] if values else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "samples": len(values),
        "non_finite_samples": series.non_finite,
        "missed_scrapes": missed,
        "slope_per_hour": slope * 3600 if slope is not None and math.isfinite(slope * 3600) else None,
        "growth_ratio": None,
    }
    if values and values[0] != 0 and math.isfinite(values[-1] / values[0]):
        entry["growth_ratio"] = values[-1] / values[0]
    return entry
