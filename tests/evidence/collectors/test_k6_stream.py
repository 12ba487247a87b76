"""Tests of the k6.stream collector against k6 --out json streams and broken inputs."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors import k6_stream
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.k6_stream import K6Stream, K6StreamParams
from assay.timeutil import parse_instant

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "k6"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
MIXED_OFFSETS = "10-k6-out-json-ndjson-mixed-offsets.ndjson"
STREAM = "k6-v0.49+-out-json.ndjson"
EXPORT = "k6-summary-export-default.json"
HANDLE_SUMMARY = "k6-handleSummary-data-default.json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def collect(path: str, workspace: Path = DATA_DIR, **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return K6Stream().collect(K6StreamParams(path=path, **params), context)


def write_lines(tmp_path: Path, lines: list[str], name: str = "out.ndjson") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def collect_lines(tmp_path: Path, lines: list[str], **params: Any) -> Collected:
    write_lines(tmp_path, lines)
    return collect("out.ndjson", workspace=tmp_path, **params)


def collect_error(tmp_path: Path, lines: list[str], **params: Any) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        collect_lines(tmp_path, lines, **params)
    return caught.value


def metric_line(name: str, type_: str = "trend", contains: str = "time") -> str:
    data = {"name": name, "type": type_, "contains": contains, "thresholds": [],
            "submetrics": None}  # fmt: skip
    return json.dumps({"type": "Metric", "data": data, "metric": name})


def point_line(
    name: str, value: Any, time: Any = "2026-12-04T20:00:00Z", tags: Any = None
) -> str:
    return json.dumps(
        {"type": "Point", "data": {"time": time, "value": value, "tags": tags}, "metric": name}
    )


def percentile(values: list[float], quantile: float) -> float:
    """Compute a percentile by linear interpolation between the closest ranks.

    The rank is quantile * (n - 1) in the sorted values, as in k6's TrendSink.P.
    """
    ordered = sorted(values)
    rank = quantile * (len(ordered) - 1)
    lower = ordered[math.floor(rank)]
    upper = ordered[math.ceil(rank)]
    return lower + (upper - lower) * (rank - math.floor(rank))


def micros(text: str) -> int:
    """Return microseconds since the Unix epoch, as the collector counts them."""
    return (parse_instant(text) - EPOCH) // timedelta(microseconds=1)


@pytest.fixture(scope="module")
def mixed() -> Collected:
    return collect(MIXED_OFFSETS)


@pytest.fixture(scope="module")
def stream() -> Collected:
    return collect(STREAM)


@pytest.fixture(scope="module")
def raw_points() -> list[dict[str, Any]]:
    """The big fixture's Point lines, parsed by the json module apart from the collector."""
    points = []
    for line in (DATA_DIR / STREAM).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["type"] == "Point":
            points.append(record)
    return points


@pytest.fixture(scope="module")
def export_metrics() -> dict[str, Any]:
    return json.loads((DATA_DIR / EXPORT).read_text(encoding="utf-8"))["metrics"]


# Case 10: local offsets, seven and nine fractional digits, tags null


def test_mixed_offsets_metric_definitions(mixed: Collected) -> None:
    assert mixed.facts["metrics_declared"] == ["http_req_duration", "http_reqs", "vus"]


def test_mixed_offsets_duration_points(mixed: Collected) -> None:
    assert mixed.facts["min_ms"] == 212.4481
    assert mixed.facts["max_ms"] == 498.0012
    assert mixed.facts["avg_ms"] == (212.4481 + 498.0012) / 2


def test_mixed_offsets_requests(mixed: Collected) -> None:
    assert mixed.facts["requests"] == 2
    assert type(mixed.facts["requests"]) is int


def test_mixed_offsets_tags_null_accepted(mixed: Collected) -> None:
    # The vus point, the only one with "tags": null, is the first point.
    assert mixed.facts["points"] == 5
    assert mixed.facts["first_point_at"] == "2020-03-06T08:48:02.783568Z"


def test_mixed_offsets_last_point_time(mixed: Collected) -> None:
    assert mixed.facts["last_point_at"] == "2020-03-06T08:48:06.901234Z"
    assert mixed.observed_at == datetime(2020, 3, 6, 8, 48, 6, 901234, tzinfo=UTC)


def test_mixed_offsets_middle_point_time(mixed: Collected) -> None:
    # The http_reqs points are at 16:48:05.5385671+08:00 and 08:48:06.901234567Z,
    # that is 08:48:05.538567Z and 08:48:06.901234Z: 1.362667 s apart.
    assert mixed.facts["requests_per_second"] == 2 / 1.362667


def test_mixed_offsets_percentiles(mixed: Collected) -> None:
    values = [212.4481, 498.0012]
    assert mixed.facts["p50_ms"] == percentile(values, 0.5)
    assert mixed.facts["p99_ms"] == percentile(values, 0.99)


def test_mixed_offsets_absent_rates(mixed: Collected) -> None:
    assert mixed.absent["error_rate_ratio"] == "no http_req_failed points in the stream"
    assert mixed.absent["checks_passed"] == "no checks points in the stream"


def test_mixed_offsets_nothing_to_warn(mixed: Collected) -> None:
    assert mixed.warnings == []
    assert mixed.failures == []


# The k6 v0.49+ fixture: the same run as the summary fixtures


def test_stream_percentiles_match_formula(
    stream: Collected, raw_points: list[dict[str, Any]]
) -> None:
    values = [p["data"]["value"] for p in raw_points if p["metric"] == "http_req_duration"]
    assert len(values) == 141
    assert stream.facts["p50_ms"] == percentile(values, 0.5)
    assert stream.facts["p90_ms"] == percentile(values, 0.9)
    assert stream.facts["p95_ms"] == percentile(values, 0.95)
    assert stream.facts["p99_ms"] == percentile(values, 0.99)


def test_stream_avg_min_max(stream: Collected, raw_points: list[dict[str, Any]]) -> None:
    values = [p["data"]["value"] for p in raw_points if p["metric"] == "http_req_duration"]
    assert stream.facts["avg_ms"] == math.fsum(values) / len(values)
    assert stream.facts["min_ms"] == min(values)
    assert stream.facts["max_ms"] == max(values)


def test_stream_matches_summary_export(stream: Collected, export_metrics: dict[str, Any]) -> None:
    # The summary was computed from the same points, so every statistic is equal to the bit.
    trend = export_metrics["http_req_duration"]
    assert stream.facts["p50_ms"] == trend["med"]
    assert stream.facts["p90_ms"] == trend["p(90)"]
    assert stream.facts["p95_ms"] == trend["p(95)"]
    assert stream.facts["p99_ms"] == trend["p(99)"]
    assert stream.facts["avg_ms"] == trend["avg"]
    assert stream.facts["min_ms"] == trend["min"]
    assert stream.facts["max_ms"] == trend["max"]


def test_stream_requests_match_summary(stream: Collected, export_metrics: dict[str, Any]) -> None:
    assert stream.facts["requests"] == 141
    assert stream.facts["requests"] == export_metrics["http_reqs"]["count"]


def test_stream_errors_match_summary(stream: Collected, export_metrics: dict[str, Any]) -> None:
    assert stream.facts["error_rate_ratio"] == export_metrics["http_req_failed"]["value"]
    assert stream.facts["failed_requests"] == export_metrics["http_req_failed"]["passes"]


def test_stream_checks_match_summary(stream: Collected, export_metrics: dict[str, Any]) -> None:
    assert stream.facts["checks_passed"] == export_metrics["checks"]["passes"]
    assert stream.facts["checks_failed"] == export_metrics["checks"]["fails"]


def test_stream_request_rate_over_point_span(
    stream: Collected, raw_points: list[dict[str, Any]]
) -> None:
    # The summary divides by the test run duration (20.0506 s, so 7.03/s). The
    # stream does not record that duration, so its rate spans the http_reqs points.
    times = [micros(p["data"]["time"]) for p in raw_points if p["metric"] == "http_reqs"]
    span_seconds = (max(times) - min(times)) / 1_000_000
    assert stream.facts["requests_per_second"] == 141 / span_seconds


def test_stream_by_name_matches_submetric(stream: Collected) -> None:
    handle_summary = json.loads((DATA_DIR / HANDLE_SUMMARY).read_text(encoding="utf-8"))
    submetric = handle_summary["metrics"]["http_req_duration{name:POST /api/orders}"]["values"]
    orders = stream.facts["by_name"]["POST /api/orders"]
    assert orders["p95_ms"] == submetric["p(95)"]
    assert orders["p99_ms"] == submetric["p(99)"]
    assert orders["requests"] == 47


def test_stream_by_name_keys(stream: Collected) -> None:
    assert sorted(stream.facts["by_name"]) == [
        "GET /api/items/{id}",
        "POST /api/orders",
        "http://127.0.0.1:18080/api/items",
    ]


def test_stream_by_name_error_rates(stream: Collected, raw_points: list[dict[str, Any]]) -> None:
    for name, entry in stream.facts["by_name"].items():
        failed = [
            p["data"]["value"]
            for p in raw_points
            if p["metric"] == "http_req_failed" and p["data"]["tags"]["name"] == name
        ]
        assert entry["error_rate_ratio"] == sum(1 for v in failed if v) / len(failed), name


def test_stream_by_scenario(stream: Collected) -> None:
    scenario = stream.facts["by_scenario"]["ramp_up"]
    assert list(stream.facts["by_scenario"]) == ["ramp_up"]
    assert scenario["requests"] == 141
    assert scenario["p95_ms"] == stream.facts["p95_ms"]
    assert scenario["p99_ms"] == stream.facts["p99_ms"]
    assert scenario["error_rate_ratio"] == stream.facts["error_rate_ratio"]


def test_stream_custom_metrics(stream: Collected, export_metrics: dict[str, Any]) -> None:
    assert stream.facts["custom_metrics"] == {
        "orders_created": {"type": "counter", "count": 41, "sum": 41.0}
    }
    assert export_metrics["orders_created"]["count"] == 41


def test_stream_points_and_times(stream: Collected) -> None:
    assert stream.facts["points"] == 1775
    assert stream.facts["first_point_at"] == "2026-12-04T20:00:00.123956Z"
    assert stream.facts["last_point_at"] == "2026-12-04T20:00:20.124056Z"
    assert stream.observed_at == datetime(2026, 12, 4, 20, 0, 20, 124056, tzinfo=UTC)


def test_stream_metrics_declared(stream: Collected) -> None:
    assert len(stream.facts["metrics_declared"]) == 18
    assert "orders_created" in stream.facts["metrics_declared"]


def test_stream_facts_declared(stream: Collected) -> None:
    assert set(stream.facts) == set(K6Stream.fact_names())
    assert stream.absent == {}
    assert stream.warnings == []


def test_stream_facts_are_json(stream: Collected) -> None:
    text = json.dumps(stream.facts, allow_nan=False)
    assert json.loads(text) == stream.facts


def test_stream_artifact(stream: Collected) -> None:
    assert stream.artifacts == [(DATA_DIR / STREAM).resolve()]


def test_stream_metric_with_tag_filter() -> None:
    result = collect(STREAM, metric="http_req_duration{name:POST /api/orders}")
    assert result.facts["p99_ms"] == 198.04004199847452
    assert result.facts["p50_ms"] == 46.46197879419275


def test_stream_metric_other_trend(raw_points: list[dict[str, Any]]) -> None:
    result = collect(STREAM, metric="http_req_waiting")
    values = [p["data"]["value"] for p in raw_points if p["metric"] == "http_req_waiting"]
    assert result.facts["p95_ms"] == percentile(values, 0.95)


def test_stream_metric_without_points() -> None:
    result = collect(STREAM, metric="grpc_req_duration")
    assert "p95_ms" not in result.facts
    assert result.absent["p95_ms"] == "no grpc_req_duration points in the stream"


# Exact percentiles where an approximation differs


def test_exact_p99_differs_from_nearest_rank(tmp_path: Path) -> None:
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 1000]
    lines = [metric_line("http_req_duration")]
    lines += [point_line("http_req_duration", value) for value in values]
    result = collect_lines(tmp_path, lines)
    # rank = 0.99 * (11 - 1) = 9.9, between the 10th value (100) and the 11th (1000).
    expected = 100 + (1000 - 100) * (0.99 * 10 - 9)
    assert result.facts["p99_ms"] == expected
    # Nearest rank (ceil(0.99 * 11) = 11th value) would give 1000, a histogram a bucket bound.
    assert result.facts["p99_ms"] != 1000
    assert 909 < result.facts["p99_ms"] < 911


def test_exact_p99_of_long_tail(tmp_path: Path) -> None:
    # 990 fast requests and 10 slow ones of distinct durations: the p99 lies
    # between the fastest slow requests, where buckets or samples blur it.
    values = [5 + i / 1000 for i in range(990)] + [3000 + 7 * i for i in range(10)]
    lines = [metric_line("http_req_duration")]
    lines += [point_line("http_req_duration", value) for value in reversed(values)]
    result = collect_lines(tmp_path, lines)
    rank = 0.99 * 999
    ordered = sorted(values)
    expected = ordered[989] + (ordered[990] - ordered[989]) * (rank - 989)
    assert result.facts["p99_ms"] == expected
    assert result.facts["p99_ms"] == percentile(values, 0.99)


def test_sorting_in_runs_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = [((i * 7919) % 1000) / 7 for i in range(1000)] + [3.5] * 50
    lines = [metric_line("http_req_duration")]
    lines += [point_line("http_req_duration", value) for value in values]
    whole = collect_lines(tmp_path, lines)
    monkeypatch.setattr(k6_stream, "SORT_RUN_VALUES", 64)
    in_runs = collect_lines(tmp_path, lines)
    for name in ("min_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "avg_ms"):
        assert in_runs.facts[name] == whole.facts[name], name
        assert name in whole.facts
    assert whole.facts["p90_ms"] == percentile(values, 0.9)


def test_single_point_percentiles(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [point_line("http_req_duration", 42.5)])
    assert result.facts["p99_ms"] == 42.5
    assert result.facts["p50_ms"] == 42.5


# Keys in any order, times in any offset


def test_keys_in_any_order(tmp_path: Path) -> None:
    lines = [
        '{"metric":"http_reqs","data":{"tags":{"name":"a"},"value":1,'
        '"time":"2026-12-04T20:00:00Z"},"type":"Point"}',
        '{"data":{"value":1,"time":"2026-12-04T20:00:02Z","tags":{"name":"a"}},'
        '"type":"Point","metric":"http_reqs"}',
        '{"data":{"submetrics":null,"contains":"default","type":"counter","name":"http_reqs"},'
        '"metric":"http_reqs","type":"Metric"}',
    ]
    result = collect_lines(tmp_path, lines)
    assert result.facts["requests"] == 2
    assert result.facts["requests_per_second"] == 1.0
    assert result.facts["by_name"] == {"a": {"requests": 2}}
    assert result.facts["metrics_declared"] == ["http_reqs"]


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2026-12-04T20:00:00Z", "2026-12-04T20:00:00.000000Z"),
        ("2026-12-04T20:00:00.1Z", "2026-12-04T20:00:00.100000Z"),
        ("2026-12-04T20:00:00.123Z", "2026-12-04T20:00:00.123000Z"),
        ("2026-12-04T20:00:00.123456789Z", "2026-12-04T20:00:00.123456Z"),
        ("2026-12-05T01:30:00.1234567+05:30", "2026-12-04T20:00:00.123456Z"),
        ("2026-12-04T15:00:00.999999999-05:00", "2026-12-04T20:00:00.999999Z"),
        ("2026-12-04t20:00:00.5z", "2026-12-04T20:00:00.500000Z"),
        ("2026-12-04T21:00:00.25+0100", "2026-12-04T20:00:00.250000Z"),
    ],
)
def test_point_time_to_utc(tmp_path: Path, time: str, expected: str) -> None:
    result = collect_lines(tmp_path, [point_line("vus", 1, time=time)])
    assert result.facts["first_point_at"] == expected
    assert result.facts["last_point_at"] == expected


def test_points_out_of_order(tmp_path: Path) -> None:
    lines = [
        point_line("vus", 1, time="2026-12-04T20:00:05Z"),
        point_line("vus", 1, time="2026-12-04T20:00:01Z"),
        point_line("vus", 1, time="2026-12-04T20:00:09Z"),
        point_line("vus", 1, time="2026-12-04T20:00:03Z"),
    ]
    result = collect_lines(tmp_path, lines)
    assert result.facts["first_point_at"] == "2026-12-04T20:00:01.000000Z"
    assert result.facts["last_point_at"] == "2026-12-04T20:00:09.000000Z"


# Other metrics, parts and parameters


def test_custom_metrics_by_type(tmp_path: Path) -> None:
    lines = [
        metric_line("cart_value", "trend", "default"),
        metric_line("login_ok", "rate", "default"),
        metric_line("queue_depth", "gauge", "default"),
        metric_line("orders", "counter", "default"),
    ]
    lines += [point_line("cart_value", value) for value in (10, 30, 20, 40)]
    lines += [point_line("login_ok", value) for value in (1, 1, 0, 1)]
    lines += [point_line("queue_depth", value) for value in (3, 9, 4)]
    lines += [point_line("orders", value) for value in (2, 5)]
    result = collect_lines(tmp_path, lines)
    assert result.facts["custom_metrics"] == {
        "cart_value": {"type": "trend", "count": 4, "p95": percentile([10, 30, 20, 40], 0.95)},
        "login_ok": {"type": "rate", "count": 4, "rate": 0.75},
        "orders": {"type": "counter", "count": 2, "sum": 7.0},
        "queue_depth": {"type": "gauge", "count": 3, "value": 4.0},
    }


def test_custom_declared_after_points(tmp_path: Path) -> None:
    lines = [point_line("cart_value", value) for value in (10, 30)]
    lines.append(metric_line("cart_value", "trend", "default"))
    result = collect_lines(tmp_path, lines)
    assert result.facts["custom_metrics"]["cart_value"]["p95"] == percentile([10, 30], 0.95)


def test_custom_undeclared_warns(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [point_line("cart_value", 10)])
    assert result.facts["custom_metrics"] == {}
    assert result.warnings == [
        "metric cart_value has points (first at out.ndjson:1) but no Metric line, "
        "so it is left out of custom_metrics"
    ]


def test_custom_trend_as_metric(tmp_path: Path) -> None:
    lines = [metric_line("cart_value", "trend", "default")]
    lines += [point_line("cart_value", value) for value in (10, 30, 20)]
    result = collect_lines(tmp_path, lines, metric="cart_value")
    assert result.facts["p50_ms"] == 20.0
    assert result.facts["custom_metrics"]["cart_value"]["count"] == 3
    assert result.warnings == [
        "metric cart_value contains 'default' values, not times, "
        "so its *_ms facts contain its values unconverted"
    ]


def test_metric_declared_as_counter_warns(tmp_path: Path) -> None:
    lines = [metric_line("http_reqs", "counter", "default"), point_line("http_reqs", 1)]
    result = collect_lines(tmp_path, lines, metric="http_reqs")
    assert result.warnings == [
        "metric http_reqs is declared as a counter, not a trend, "
        "so its *_ms facts are statistics of its point values"
    ]
    assert result.facts["requests"] == 1


def test_unknown_type_warns(tmp_path: Path) -> None:
    lines = [
        point_line("vus", 1),
        '{"type":"Annotation","data":{},"metric":"vus"}',
        '{"type":"Annotation","data":{},"metric":"vus"}',
        '{"type":"Log","data":{}}',
    ]
    result = collect_lines(tmp_path, lines)
    assert result.facts["points"] == 1
    assert result.warnings == [
        "skipped 2 lines of unknown type 'Annotation' (first at out.ndjson:2)",
        "skipped 1 line of unknown type 'Log' (first at out.ndjson:4)",
    ]


def test_blank_lines_warn(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [point_line("vus", 1), "", "  ", point_line("vus", 2)])
    assert result.facts["points"] == 2
    assert result.warnings == ["skipped 2 blank lines"]


def test_byte_order_mark_accepted(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + point_line("vus", 1).encode() + b"\n")
    assert collect("out.ndjson", workspace=tmp_path).facts["points"] == 1


def test_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    path.write_bytes(f"{point_line('vus', 1)}\r\n{point_line('vus', 2)}\r\n".encode())
    assert collect("out.ndjson", workspace=tmp_path).facts["points"] == 2


def test_zero_span_rate_absent(tmp_path: Path) -> None:
    lines = [point_line("http_reqs", 1), point_line("http_reqs", 1)]
    result = collect_lines(tmp_path, lines)
    assert result.facts["requests"] == 2
    assert "requests_per_second" not in result.facts
    assert result.absent["requests_per_second"] == (
        "every http_reqs point has the same time, so the span to divide by is zero"
    )


def test_only_metric_lines(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [metric_line("http_req_duration")])
    assert result.facts["points"] == 0
    assert result.observed_at is None
    assert result.absent["first_point_at"] == "the stream has no Point lines"
    assert result.absent["requests"] == "no http_reqs points in the stream"
    assert result.absent["p95_ms"] == "no http_req_duration points in the stream"


def test_parts_read_as_one_run(tmp_path: Path) -> None:
    lines = (DATA_DIR / STREAM).read_text(encoding="utf-8").splitlines()
    write_lines(tmp_path, lines[:900], "run-part-001.ndjson")
    write_lines(tmp_path, lines[900:], "run-part-002.ndjson")
    parts = collect("run-part-*.ndjson", workspace=tmp_path)
    whole = collect(STREAM)
    assert parts.facts == whole.facts
    assert parts.artifacts == [
        (tmp_path / "run-part-001.ndjson").resolve(),
        (tmp_path / "run-part-002.ndjson").resolve(),
    ]


def test_parts_error_names_part(tmp_path: Path) -> None:
    write_lines(tmp_path, [point_line("vus", 1)], "run-part-001.ndjson")
    write_lines(tmp_path, [point_line("vus", 1), "{oops"], "run-part-002.ndjson")
    with pytest.raises(CollectorError) as caught:
        collect("run-part-*.ndjson", workspace=tmp_path)
    assert caught.value.path == "run-part-002.ndjson"
    assert caught.value.location == "2:2"


def test_empty_part_warns(tmp_path: Path) -> None:
    write_lines(tmp_path, [point_line("vus", 1)], "run-part-001.ndjson")
    (tmp_path / "run-part-002.ndjson").write_bytes(b"")
    result = collect("run-part-*.ndjson", workspace=tmp_path)
    assert result.warnings == ["run-part-002.ndjson contains no lines"]


def test_gzip_stream(tmp_path: Path) -> None:
    (tmp_path / "out.json.gz").write_bytes(gzip.compress((DATA_DIR / STREAM).read_bytes()))
    assert collect("out.json.gz", workspace=tmp_path).facts == collect(STREAM).facts


def test_gzip_truncated(tmp_path: Path) -> None:
    data = gzip.compress((DATA_DIR / STREAM).read_bytes())
    (tmp_path / "out.json.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CollectorError) as caught:
        collect("out.json.gz", workspace=tmp_path)
    assert caught.value.reason == "gzip data ends early; the file is truncated"


def test_gzip_over_max_bytes(tmp_path: Path) -> None:
    data = (DATA_DIR / STREAM).read_bytes()
    (tmp_path / "out.json.gz").write_bytes(gzip.compress(data))
    with pytest.raises(CollectorError) as caught:
        collect("out.json.gz", workspace=tmp_path, max_bytes=len(data) // 2)
    assert "decompressed input passes the max_bytes limit" in caught.value.reason


def test_over_max_bytes(tmp_path: Path) -> None:
    write_lines(tmp_path, [point_line("vus", 1)])
    with pytest.raises(CollectorError) as caught:
        collect("out.ndjson", workspace=tmp_path, max_bytes=10)
    assert caught.value.reason.startswith("input is ")
    assert "over the max_bytes limit of 10; raise max_bytes to read it" in caught.value.reason


def test_default_max_bytes_is_64_gib() -> None:
    assert K6StreamParams(path="x").max_bytes == 64 * 1024**3


def test_breakdown_key_limit() -> None:
    result = collect(STREAM, max_breakdown_keys=2)
    assert "by_name" not in result.facts
    assert result.absent["by_name"] == (
        "more than 2 distinct name tags. Raise max_breakdown_keys, or set a name tag in the "
        "script to group URLs"
    )
    assert result.facts["by_scenario"]["ramp_up"]["requests"] == 141


def test_without_orjson_same_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    with_orjson = collect(STREAM).facts
    monkeypatch.setattr(k6_stream, "orjson", None)
    monkeypatch.setattr(k6_stream, "_loads", k6_stream._make_loads())
    assert collect(STREAM).facts == with_orjson


def test_without_orjson_same_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [point_line("vus", 1), '{"type": "Point", "data": {"time": NaN}}']
    with_orjson = collect_error(tmp_path, lines)
    monkeypatch.setattr(k6_stream, "orjson", None)
    monkeypatch.setattr(k6_stream, "_loads", k6_stream._make_loads())
    without = collect_error(tmp_path, lines)
    assert without.reason == with_orjson.reason
    assert without.location == with_orjson.location == "2"


@pytest.mark.parametrize("orjson_installed", [True, False])
def test_surrogate_pair_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orjson_installed: bool
) -> None:
    if not orjson_installed:
        monkeypatch.setattr(k6_stream, "orjson", None)
        monkeypatch.setattr(k6_stream, "_loads", k6_stream._make_loads())
    line = point_line("http_reqs", 1, tags={"name": "GET /\U0001f600"})
    assert "\\ud83d\\ude00" in line
    result = collect_lines(tmp_path, [line])
    assert result.facts["by_name"] == {"GET /\U0001f600": {"requests": 1}}


@pytest.mark.parametrize("orjson_installed", [True, False])
def test_broken_lone_surrogate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orjson_installed: bool
) -> None:
    if not orjson_installed:
        monkeypatch.setattr(k6_stream, "orjson", None)
        monkeypatch.setattr(k6_stream, "_loads", k6_stream._make_loads())
    line = point_line("http_reqs", 1, tags={"name": "x"}).replace('"x"', '"\\ud800"')
    error = collect_error(tmp_path, [point_line("vus", 1), line])
    assert error.reason == (
        "invalid JSON: lone UTF-16 surrogate in a \\u escape, which encodes no character"
    )
    assert error.location == "2"


# Broken inputs


def test_broken_empty_file(tmp_path: Path) -> None:
    (tmp_path / "out.ndjson").write_bytes(b"")
    with pytest.raises(CollectorError) as caught:
        collect("out.ndjson", workspace=tmp_path)
    assert caught.value.reason == (
        "file is empty; expected k6 --out json lines (one JSON object per line)"
    )
    assert caught.value.path == "out.ndjson"
    assert not isinstance(caught.value, EvidenceMissing)


def test_broken_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    text = point_line("vus", 1) + "\n" + point_line("vus", 2)[:40]
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("out.ndjson", workspace=tmp_path)
    assert caught.value.location == "2:36"
    assert caught.value.reason.startswith("invalid JSON: Unterminated string starting at")
    assert str(caught.value).startswith("out.ndjson:2:36: invalid JSON")


def test_broken_line_not_json(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1), point_line("vus", 2), "not json"])
    assert error.location == "3:1"
    assert error.reason == (
        "invalid JSON: Expecting value; expected k6 --out json lines (one JSON object per line)"
    )


def test_broken_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    good = point_line("vus", 1).encode()
    path.write_bytes(good + b"\n" + good + b"\n" + b'{"type":"Point","metric":"v\xffs"}\n')
    with pytest.raises(CollectorError) as caught:
        collect("out.ndjson", workspace=tmp_path)
    assert caught.value.reason == "invalid UTF-8 (byte 0xff); save the file as UTF-8"
    assert caught.value.location == "3:28"


def test_broken_string_value(tmp_path: Path) -> None:
    lines = [point_line("vus", 1), point_line("http_req_duration", "212.4")]
    error = collect_error(tmp_path, lines)
    assert error.location == "2"
    assert error.reason == 'data.value: expected a number, found a string ("212.4")'


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "data.value: expected a number, found true"),
        (None, "data.value: expected a number, found null"),
        ([1], "data.value: expected a number, found a JSON array"),
    ],
)
def test_broken_value_types(tmp_path: Path, value: Any, reason: str) -> None:
    error = collect_error(tmp_path, [point_line("vus", value)])
    assert error.reason == reason
    assert error.location == "1"


def test_broken_infinite_value(tmp_path: Path) -> None:
    line = (
        '{"type":"Point","data":{"time":"2026-12-04T20:00:00Z","value":1e400,"tags":null},'
        '"metric":"vus"}'
    )
    error = collect_error(tmp_path, [point_line("vus", 1), line])
    assert error.reason == "data.value: inf is not a finite number"
    assert error.location == "2"


def test_broken_integer_beyond_float(tmp_path: Path) -> None:
    line = '{"type":"Point","data":{"time":"2026-12-04T20:00:00Z","value":1%s},"metric":"vus"}'
    error = collect_error(tmp_path, [line % ("0" * 400)])
    assert error.reason == f"data.value: 1{'0' * 400} is beyond the range of a 64-bit float"


def test_broken_nan_constant(tmp_path: Path) -> None:
    line = '{"type":"Point","data":{"time":"2026-12-04T20:00:00Z","value":NaN},"metric":"vus"}'
    error = collect_error(tmp_path, [line])
    assert error.reason == "invalid JSON: NaN is not a JSON number"
    assert error.location == "1"


def test_broken_missing_path(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no-such-run.ndjson", workspace=tmp_path)


def test_broken_line_is_array(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1), "[1, 2]"])
    assert error.location == "2"
    assert error.reason == "expected a JSON object, found a JSON array"


def test_broken_missing_type(tmp_path: Path) -> None:
    error = collect_error(tmp_path, ['{"data": {}, "metric": "vus"}'])
    assert error.reason == 'type: expected "Metric" or "Point", found null'


def test_broken_missing_time(tmp_path: Path) -> None:
    error = collect_error(tmp_path, ['{"type":"Point","data":{"value":1},"metric":"vus"}'])
    assert error.reason == "data.time is missing from a Point line"
    assert error.location == "1"


def test_broken_time_not_rfc3339(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1, time="04/12/2026 20:00")])
    assert error.reason == "data.time: not an RFC 3339 timestamp: '04/12/2026 20:00'"


def test_broken_time_without_offset(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1, time="2026-12-04T20:00:00.5")])
    assert error.reason == "data.time: timestamp has no UTC offset: '2026-12-04T20:00:00.5'"


def test_broken_time_invalid_date(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1, time="2026-13-04T20:00:00Z")])
    assert error.reason.startswith("data.time: ")
    assert error.location == "1"


def test_broken_time_number(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("vus", 1, time=1700000000)])
    assert error.reason == "data.time: expected an RFC 3339 timestamp, found the number 1700000000"


def test_broken_metric_name_number(tmp_path: Path) -> None:
    line = '{"type":"Point","data":{"time":"2026-12-04T20:00:00Z","value":1},"metric":7}'
    error = collect_error(tmp_path, [line])
    assert error.reason == "metric: expected a metric name, found the number 7"


def test_broken_tags_list(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("http_reqs", 1, tags=["name", "a"])])
    assert error.reason == "data.tags: expected a JSON object or null, found a JSON array"


def test_broken_name_tag_number(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("http_req_duration", 5, tags={"name": 7})])
    assert error.reason == "data.tags.name: expected a string, found the number 7"


def test_broken_name_tag_list_on_request(tmp_path: Path) -> None:
    # A list is unhashable, so the breakdown lookup once raised TypeError.
    error = collect_error(tmp_path, [point_line("http_reqs", 1, tags={"name": [{"a": 0}]})])
    assert error.reason == "data.tags.name: expected a string, found a JSON array"
    assert error.location == "1"


def test_broken_scenario_tag_object(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("http_req_duration", 5, tags={"scenario": {}})])
    assert error.reason == "data.tags.scenario: expected a string, found a JSON object"


def test_broken_fractional_request(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [point_line("http_reqs", 1), point_line("http_reqs", 0.5)])
    assert error.location == "2"
    assert error.reason == "data.value: an http_reqs point counts requests, so 0.5 is invalid"


def test_broken_conflicting_declarations(tmp_path: Path) -> None:
    lines = [metric_line("cart", "trend"), metric_line("cart", "counter")]
    error = collect_error(tmp_path, lines)
    assert error.location == "2"
    assert error.reason == (
        "metric cart is declared as a counter here and as a trend at out.ndjson:1"
    )


def test_broken_metric_type_unknown(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [metric_line("cart", "histogram")])
    assert error.reason == (
        'data.type: expected counter, gauge, rate or trend, found a string ("histogram")'
    )


def test_broken_metric_name_mismatch(tmp_path: Path) -> None:
    line = '{"type":"Metric","data":{"name":"a","type":"trend"},"metric":"b"}'
    error = collect_error(tmp_path, [line])
    assert error.reason == 'data.name "a" differs from metric "b"'


def test_metric_line_without_data_name(tmp_path: Path) -> None:
    # k6 before v0.49 names the metric only in "metric".
    line = '{"type":"Metric","data":{"type":"trend","contains":"time"},"metric":"cart"}'
    result = collect_lines(tmp_path, [line])
    assert result.facts["metrics_declared"] == ["cart"]


def test_broken_metric_filter_syntax() -> None:
    with pytest.raises(CollectorError) as caught:
        collect(STREAM, metric="http_req_duration{name}")
    assert caught.value.reason == (
        "metric 'http_req_duration{name}': tag filter 'name' is not key:value"
    )
