"""Tests of the k6.summary collector against k6 summary files and broken inputs."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.k6_summary import K6Summary, K6SummaryParams

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "k6"
NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)
EXPORT = "k6-summary-export-default.json"
HANDLE_SUMMARY = "k6-handleSummary-data-default.json"
NO_P99 = "08-k6-summary-export-no-p99.json"
INVERTED = "09-k6-summary-export-threshold-bool-inverted.json"

EXPORT_THRESHOLDS = {
    "http_req_duration:p(95)<200": True,
    "http_req_duration:p(99)<400": True,
    "http_req_failed:rate<0.01": False,
    "checks:rate>0.95": True,
    "http_req_duration{name:POST /api/orders}:p(95)<300": True,
    "http_req_duration{name:POST /api/orders}:p(99)<150": False,
}


def collect(path: str, workspace: Path = DATA_DIR, **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return K6Summary().collect(K6SummaryParams(path=path, **params), context)


def collect_text(tmp_path: Path, text: str) -> Collected:
    (tmp_path / "summary.json").write_text(text, encoding="utf-8")
    return collect("summary.json", workspace=tmp_path)


def export_document() -> dict[str, Any]:
    return json.loads((DATA_DIR / EXPORT).read_text(encoding="utf-8"))


def handle_summary_document() -> dict[str, Any]:
    return json.loads((DATA_DIR / HANDLE_SUMMARY).read_text(encoding="utf-8"))


def collect_error(tmp_path: Path, text: str) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        collect_text(tmp_path, text)
    return caught.value


@pytest.fixture(scope="module")
def export() -> Collected:
    return collect(EXPORT)


@pytest.fixture(scope="module")
def handle_summary() -> Collected:
    return collect(HANDLE_SUMMARY)


# --summary-export, default run


def test_summary_export_layout(export: Collected) -> None:
    assert export.facts["layout"] == "summary-export"


def test_summary_export_requests(export: Collected) -> None:
    assert export.facts["requests"] == 141
    assert type(export.facts["requests"]) is int


def test_summary_export_requests_per_second(export: Collected) -> None:
    assert export.facts["requests_per_second"] == 7.032208512463468


def test_summary_export_durations(export: Collected) -> None:
    assert export.facts["p50_ms"] == 22.637968685566797
    assert export.facts["p90_ms"] == 59.5221427875087
    assert export.facts["p95_ms"] == 74.929826121548
    assert export.facts["p99_ms"] == 96.98411832017293
    assert export.facts["avg_ms"] == 30.66932457223262
    assert export.facts["min_ms"] == 6.3404992738620045
    assert export.facts["max_ms"] == 281.3461372454971


def test_summary_export_error_rate(export: Collected) -> None:
    assert export.facts["error_rate_ratio"] == 0.07092198581560284


def test_summary_export_failed_requests(export: Collected) -> None:
    assert export.facts["failed_requests"] == 10


def test_summary_export_checks(export: Collected) -> None:
    assert export.facts["checks_passed"] == 182
    assert export.facts["checks_failed"] == 6


def test_summary_export_threshold_true_means_failed(export: Collected) -> None:
    assert export.facts["thresholds"] == EXPORT_THRESHOLDS


def test_summary_export_thresholds_failed_sorted(export: Collected) -> None:
    assert export.facts["thresholds_failed"] == [
        "http_req_duration{name:POST /api/orders}:p(99)<150",
        "http_req_failed:rate<0.01",
    ]


def test_summary_export_not_all_thresholds_passed(export: Collected) -> None:
    assert export.facts["all_thresholds_passed"] is False


def test_summary_export_nothing_absent(export: Collected) -> None:
    assert export.absent == {}
    assert export.warnings == []
    assert export.failures == []


def test_summary_export_artifact_and_time(export: Collected) -> None:
    assert export.artifacts == [(DATA_DIR / EXPORT).resolve()]
    assert export.observed_at is None


def test_summary_export_facts_declared(export: Collected) -> None:
    families = {name for name in K6Summary.fact_names() if "*" in name}
    assert set(export.facts) == set(K6Summary.fact_names()) - families
    for name in export.facts:
        assert K6Summary.declared(name) is not None, name


def test_extra_percentile_declared_by_family() -> None:
    family = K6Summary.declared("p99_9_ms")
    assert family is not None
    assert family.name == "p*_ms"
    assert K6Summary.declared("p99_ms").name == "p99_ms"
    assert K6Summary.declared("p99") is None


def test_summary_export_facts_are_json(export: Collected) -> None:
    text = json.dumps(export.facts, allow_nan=False)
    assert json.loads(text) == export.facts


# handleSummary(data), same run


def test_handle_summary_layout(handle_summary: Collected) -> None:
    assert handle_summary.facts["layout"] == "handleSummary"


def test_handle_summary_same_facts_as_export(handle_summary: Collected, export: Collected) -> None:
    shared = set(export.facts) - {"layout"}
    for name in sorted(shared):
        assert handle_summary.facts[name] == export.facts[name], name


def test_handle_summary_same_fact_names(handle_summary: Collected, export: Collected) -> None:
    assert set(handle_summary.facts) == set(export.facts)


def test_handle_summary_ok_true_means_passed(handle_summary: Collected) -> None:
    assert handle_summary.facts["thresholds"] == EXPORT_THRESHOLDS


def test_handle_summary_error_rate_values_rate(handle_summary: Collected) -> None:
    assert handle_summary.facts["error_rate_ratio"] == 0.07092198581560284


def test_handle_summary_nothing_absent(handle_summary: Collected) -> None:
    assert handle_summary.absent == {}
    assert handle_summary.warnings == []


def test_handle_summary_non_time_trend_warns(tmp_path: Path) -> None:
    document = handle_summary_document()
    document["metrics"]["http_req_duration"]["contains"] = "default"
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["p95_ms"] == 74.929826121548
    assert result.warnings == [
        "metric http_req_duration contains 'default' values, not times, "
        "so its *_ms facts contain its values unconverted"
    ]


def test_handle_summary_threshold_without_ok(tmp_path: Path) -> None:
    document = handle_summary_document()
    document["metrics"]["checks"]["thresholds"]["rate>0.95"] = {"passed": True}
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.checks.thresholds.rate>0.95.ok"
    assert error.reason == "expected true or false, found null"


def test_handle_summary_string_rate(tmp_path: Path) -> None:
    document = handle_summary_document()
    document["metrics"]["http_req_failed"]["values"]["rate"] = "0.07"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_req_failed.values.rate"
    assert error.reason == 'expected a number, found a string ("0.07")'


# Case 08: no p(99) in summaryTrendStats


def test_no_p99_is_absent() -> None:
    result = collect(NO_P99)
    assert "p99_ms" not in result.facts


def test_no_p99_absent_reason() -> None:
    result = collect(NO_P99)
    assert result.absent["p99_ms"] == (
        "p(99) not present for http_req_duration; available: avg, min, med, max, p(90), p(95)"
    )


def test_no_p99_keeps_p95() -> None:
    assert collect(NO_P99).facts["p95_ms"] == 455.12


def test_no_p99_missing_http_req_failed() -> None:
    result = collect(NO_P99)
    assert "error_rate_ratio" not in result.facts
    assert result.absent["error_rate_ratio"] == "no http_req_failed metric in the file"
    assert result.absent["failed_requests"] == "no http_req_failed metric in the file"


def test_no_p99_threshold_false_means_passed() -> None:
    result = collect(NO_P99)
    assert result.facts["thresholds"] == {"http_req_duration:p(95)<500": True}
    assert result.facts["all_thresholds_passed"] is True


# Case 09: threshold booleans mean "failed"


def test_inverted_latency_threshold_failed() -> None:
    result = collect(INVERTED)
    assert result.facts["thresholds"]["http_req_duration:p(95)<500"] is False


def test_inverted_error_threshold_passed() -> None:
    result = collect(INVERTED)
    assert result.facts["thresholds"]["http_req_failed:rate<0.01"] is True


def test_inverted_thresholds_failed_list() -> None:
    assert collect(INVERTED).facts["thresholds_failed"] == ["http_req_duration:p(95)<500"]


def test_inverted_failed_requests() -> None:
    assert collect(INVERTED).facts["failed_requests"] == 4


def test_inverted_error_rate() -> None:
    assert collect(INVERTED).facts["error_rate_ratio"] == 0.004


def test_inverted_p95_over_limit() -> None:
    assert collect(INVERTED).facts["p95_ms"] == 812.6


def test_inverted_no_checks_metric() -> None:
    result = collect(INVERTED)
    assert "checks_passed" not in result.facts
    assert result.absent["checks_passed"] == "no checks metric in the file"


# The metric parameter and percentiles beyond p(99)


def test_metric_parameter_selects_tagged_trend() -> None:
    result = collect(EXPORT, metric="http_req_duration{name:POST /api/orders}")
    assert result.facts["p99_ms"] == 198.04004199847452
    assert result.facts["p50_ms"] == 46.46197879419275


def test_metric_parameter_unknown_metric() -> None:
    result = collect(EXPORT, metric="grpc_req_duration")
    assert "p95_ms" not in result.facts
    assert result.absent["p95_ms"] == "no grpc_req_duration metric in the file"
    assert result.absent["avg_ms"] == "no grpc_req_duration metric in the file"


def test_extra_percentile_becomes_fact(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_duration"]["p(99.9)"] = 150
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["p99_9_ms"] == 150
    assert type(result.facts["p99_9_ms"]) is int


def test_integer_duration_stays_int(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_duration"]["min"] = 6
    result = collect_text(tmp_path, json.dumps(document))
    assert type(result.facts["min_ms"]) is int


def test_median_missing_p50_absent(tmp_path: Path) -> None:
    document = export_document()
    del document["metrics"]["http_req_duration"]["med"]
    result = collect_text(tmp_path, json.dumps(document))
    assert "p50_ms" not in result.facts
    assert result.absent["p50_ms"] == (
        "med not present for http_req_duration; available: avg, min, max, p(90), p(95), p(99)"
    )


def test_p50_from_percentile_without_med(tmp_path: Path) -> None:
    document = export_document()
    trend = document["metrics"]["http_req_duration"]
    del trend["med"]
    trend["p(50)"] = 22.5
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["p50_ms"] == 22.5
    assert "p50_ms" not in result.absent


def test_p50_med_differs_warns(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_duration"]["p(50)"] = 99.0
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["p50_ms"] == 22.637968685566797
    assert result.warnings == ["http_req_duration has med and p(50) that differ; p50_ms is med"]


def test_no_thresholds_all_passed_absent(tmp_path: Path) -> None:
    document = export_document()
    for entry in document["metrics"].values():
        entry.pop("thresholds", None)
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["thresholds"] == {}
    assert result.facts["thresholds_failed"] == []
    assert "all_thresholds_passed" not in result.facts
    assert result.absent["all_thresholds_passed"] == "the file defines no thresholds"


def test_all_thresholds_passed_true(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_failed"]["thresholds"]["rate<0.01"] = False
    orders = document["metrics"]["http_req_duration{name:POST /api/orders}"]
    orders["thresholds"]["p(99)<150"] = False
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["all_thresholds_passed"] is True


# Broken inputs


def test_broken_empty_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "")
    assert error.reason == "file is empty; expected k6 summary JSON"
    assert error.path == "summary.json"


def test_broken_truncated_json_line_column(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{\n  "metrics": {\n    "http_reqs": {"count": 141,')
    assert error.location == "3:32"
    assert error.reason == "invalid JSON: Expecting property name enclosed in double quotes"
    assert str(error).startswith("summary.json:3:32: invalid JSON")


def test_broken_ndjson_hints_out_json(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"type": "Metric"}\n{"type": "Point"}\n')
    assert error.location == "2:1"
    assert "k6 --out json" in error.reason


def test_broken_json_array(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "[]")
    assert error.reason == (
        "expected a k6 summary JSON object, found a JSON array; "
        "pass the JSON written by k6 run --summary-export or by handleSummary()"
    )


def test_broken_metrics_missing(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"root_group": {}, "state": {}}')
    assert error.reason == (
        "not a k6 summary: 'metrics' is missing (keys found: root_group, state); "
        "pass the JSON written by k6 run --summary-export or by handleSummary()"
    )


def test_broken_metrics_empty(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"metrics": {}}')
    assert error.location == "metrics"


def test_broken_metrics_list(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"metrics": [1, 2]}')
    assert error.location == "metrics"
    assert error.reason == "expected a JSON object, found a JSON array"


def test_broken_metric_entry_not_object(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"metrics": {"http_reqs": 141}}')
    assert error.location == "metrics.http_reqs"
    assert error.reason == "expected a JSON object, found the number 141"


def test_broken_mixed_layouts(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["vus"] = {"type": "gauge", "values": {"value": 0}}
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics"
    assert "mix the handleSummary layout" in error.reason


def test_broken_count_string(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_reqs"]["count"] = "141"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_reqs.count"
    assert error.reason == 'expected a number, found a string ("141")'


def test_broken_count_boolean(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_reqs"]["count"] = True
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_reqs.count"
    assert error.reason == "expected a number, found true"


def test_broken_count_fraction(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_reqs"]["count"] = 141.5
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_reqs.count"


def test_count_integral_float_becomes_int(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_reqs"]["count"] = 141.0
    result = collect_text(tmp_path, json.dumps(document))
    assert type(result.facts["requests"]) is int
    assert result.facts["requests"] == 141


def test_broken_count_negative(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_reqs"]["count"] = -1
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_reqs.count"


def test_broken_ratio_above_one(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_failed"]["value"] = 7.09
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_req_failed.value"


def test_broken_percentile_list(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_duration"]["p(95)"] = [74.9]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_req_duration.p(95)"


def test_broken_threshold_not_boolean(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["http_req_failed"]["thresholds"]["rate<0.01"] = "true"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.http_req_failed.thresholds.rate<0.01"


def test_broken_thresholds_list(tmp_path: Path) -> None:
    document = export_document()
    document["metrics"]["checks"]["thresholds"] = ["rate>0.95"]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metrics.checks.thresholds"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_broken_non_finite_constant(tmp_path: Path, constant: str) -> None:
    text = '{"metrics": {"http_reqs": {"count": 1, "rate": %s}}}' % constant
    error = collect_error(tmp_path, text)
    assert "is not a JSON number" in error.reason


def test_broken_overflowing_number(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"metrics": {"http_reqs": {"count": 1, "rate": 1e400}}}')
    assert error.location == "metrics.http_reqs.rate"


def test_broken_integer_beyond_2_53(tmp_path: Path) -> None:
    text = '{"metrics": {"http_reqs": {"count": %d, "rate": 1}}}' % (2**53 + 1)
    error = collect_error(tmp_path, text)
    assert error.location == "metrics.http_reqs.count"


def test_broken_float_count_beyond_2_53(tmp_path: Path) -> None:
    # A whole float passed the integer size check and became the int 2**53.
    text = '{"metrics": {"http_reqs": {"count": 9007199254740992.0, "rate": 1}}}'
    error = collect_error(tmp_path, text)
    assert error.reason == "count 9007199254740992.0 exceeds 2**53 - 1"
    assert error.location == "metrics.http_reqs.count"


def test_broken_integer_count_of_2_53(tmp_path: Path) -> None:
    # RFC 8785 represents integers up to 2**53 - 1 exactly. 2**53 itself once passed.
    text = '{"metrics": {"http_reqs": {"count": 9007199254740992, "rate": 1}}}'
    error = collect_error(tmp_path, text)
    assert error.reason == "integer 9007199254740992 exceeds 2**53 - 1 in magnitude"
    assert error.location == "metrics.http_reqs.count"


def test_broken_duplicate_key(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"metrics": {"http_reqs": {"count": 1, "count": 2}}}')
    assert error.reason == "invalid JSON: key 'count' appears twice in one JSON object"


def test_broken_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_bytes(b'{"metrics": "\xff"}')
    with pytest.raises(CollectorError) as caught:
        collect("summary.json", workspace=tmp_path)
    assert caught.value.reason == "invalid UTF-8 (byte 0xff); save the file as UTF-8"
    assert caught.value.location == "1:14"


def test_broken_deep_nesting(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "[" * 100_000 + "]" * 100_000)
    assert error.path == "summary.json"


def test_broken_missing_path(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no-such-summary.json", workspace=tmp_path)


def test_broken_glob_matching_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    (tmp_path / "b.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("*.json", workspace=tmp_path)
    assert (
        caught.value.reason == "matches 2 files (a.json, b.json); name exactly one k6 summary file"
    )
    assert not isinstance(caught.value, EvidenceMissing)


def test_facts_never_nan(export: Collected, handle_summary: Collected) -> None:
    for result in (export, handle_summary):
        for value in result.facts.values():
            if isinstance(value, float):
                assert math.isfinite(value)


# k6 v1.5 machine-readable layout (--new-machine-readable-summary)
#
# The sample follows what k6 1.5 writes, read from its source (grafana/k6
# internal/lib/summary/machine_readable.go and machinereadable/types_gen.go,
# generated from schema 1.0.0 of github.com/grafana/k6-summary): keys in Go
# struct order, metrics as a list of {contains, name, type, values}, a
# counter with `count` only, a rate with `matches`, `rate` and `total`, a
# trend with avg, max, med, min, p(90) and p(95) only, and the checks_*
# metrics under results.checks. Its numbers are those of the same run as the
# other k6 samples.

MACHINE_READABLE = "k6-v1.5-machine-readable-summary.json"


def machine_readable_document() -> dict[str, Any]:
    return json.loads((DATA_DIR / MACHINE_READABLE).read_text(encoding="utf-8"))


def listed_metric(document: dict[str, Any], name: str) -> dict[str, Any]:
    for location in (document["results"]["metrics"], document["results"]["checks"]["metrics"]):
        for entry in location:
            if entry["name"] == name:
                return entry
    raise KeyError(name)


@pytest.fixture(scope="module")
def machine_readable() -> Collected:
    return collect(MACHINE_READABLE)


def test_machine_readable_layout(machine_readable: Collected) -> None:
    assert machine_readable.facts["layout"] == "machine-readable"


def test_machine_readable_same_facts_as_export(
    machine_readable: Collected, export: Collected
) -> None:
    shared = set(machine_readable.facts) - {"layout"}
    assert shared == {
        "requests", "requests_per_second", "error_rate_ratio", "failed_requests",
        "checks_passed", "checks_failed", "avg_ms", "min_ms", "max_ms",
        "p50_ms", "p90_ms", "p95_ms",
    }  # fmt: skip
    for name in sorted(shared):
        assert machine_readable.facts[name] == export.facts[name], name


def test_machine_readable_rate_from_duration(machine_readable: Collected) -> None:
    # 141 requests over config.duration 20.0506 s, as --summary-export's rate.
    assert machine_readable.facts["requests_per_second"] == 141 / 20.0506
    assert machine_readable.facts["requests_per_second"] == 7.032208512463468


def test_machine_readable_failures_from_matches(machine_readable: Collected) -> None:
    assert machine_readable.facts["failed_requests"] == 10
    assert type(machine_readable.facts["failed_requests"]) is int


def test_machine_readable_checks(machine_readable: Collected) -> None:
    assert machine_readable.facts["checks_passed"] == 182
    assert machine_readable.facts["checks_failed"] == 6


def test_machine_readable_no_p99(machine_readable: Collected) -> None:
    assert "p99_ms" not in machine_readable.facts
    assert machine_readable.absent["p99_ms"] == (
        "p(99) not present for http_req_duration; available: avg, max, med, min, p(90), p(95)"
    )


def test_machine_readable_thresholds_absent(machine_readable: Collected) -> None:
    reason = "the machine-readable summary records no thresholds"
    assert machine_readable.absent["thresholds"] == reason
    assert machine_readable.absent["thresholds_failed"] == reason
    assert machine_readable.absent["all_thresholds_passed"] == reason
    assert "thresholds" not in machine_readable.facts


def test_machine_readable_observed_at(machine_readable: Collected) -> None:
    assert machine_readable.observed_at == datetime(2026, 12, 4, 20, 0, 20, 187365, tzinfo=UTC)


def test_machine_readable_nothing_to_warn(machine_readable: Collected) -> None:
    assert machine_readable.warnings == []
    assert machine_readable.failures == []


def test_machine_readable_facts_declared(machine_readable: Collected) -> None:
    for name in machine_readable.facts:
        assert K6Summary.declared(name) is not None, name


def test_machine_readable_submetric() -> None:
    result = collect(MACHINE_READABLE, metric="http_req_duration{name:POST /api/orders}")
    assert result.facts["p95_ms"] == 90.50379513882575
    assert result.facts["p50_ms"] == 46.46197879419275


def test_machine_readable_schema_names(tmp_path: Path) -> None:
    # The k6-summary schema names a rate's true samples `passes`, gives a
    # counter its `rate` and a trend any p(N).
    document = machine_readable_document()
    failed = listed_metric(document, "http_req_failed")
    failed["values"] = {"rate": 0.07092198581560284, "passes": 10, "fails": 131}
    listed_metric(document, "http_reqs")["values"]["rate"] = 7.5
    listed_metric(document, "http_req_duration")["values"]["p(99)"] = 96.98411832017293
    listed_metric(document, "checks_succeeded")["values"] = {"rate": 1, "passes": 188, "fails": 0}
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["failed_requests"] == 10
    assert result.facts["requests_per_second"] == 7.5
    assert result.facts["p99_ms"] == 96.98411832017293
    assert result.facts["checks_passed"] == 188


def test_machine_readable_zero_duration(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["config"]["duration"] = 0
    result = collect_text(tmp_path, json.dumps(document))
    assert "requests_per_second" not in result.facts
    assert result.absent["requests_per_second"] == (
        "config.duration is 0, so the request rate is undefined"
    )


def test_machine_readable_without_checks(tmp_path: Path) -> None:
    document = machine_readable_document()
    del document["results"]["checks"]
    result = collect_text(tmp_path, json.dumps(document))
    assert result.absent["checks_passed"] == "no checks_succeeded metric in the file"
    assert result.absent["checks_failed"] == "no checks_failed metric in the file"


def test_machine_readable_newer_schema_warns(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["version"] = "2.0.0"
    result = collect_text(tmp_path, json.dumps(document))
    assert result.facts["requests"] == 141
    assert result.warnings == [
        "machine-readable summary schema 2.0.0 is not version 1.x. "
        "Its metrics were read as version 1.0.0 lays them out"
    ]


def test_machine_readable_broken_metrics_object(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["results"]["metrics"] = {"http_reqs": {}}
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics"
    assert error.reason == "expected a JSON array, found a JSON object"


def test_machine_readable_broken_metrics_empty(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["results"]["metrics"] = []
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics"


def test_machine_readable_broken_metric_name(tmp_path: Path) -> None:
    document = machine_readable_document()
    del document["results"]["metrics"][0]["name"]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics[0].name"
    assert error.reason == "expected a metric name, found null"


def test_machine_readable_broken_duplicate_metric(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["results"]["metrics"].append(document["results"]["metrics"][0])
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics[18]"
    assert error.reason == (
        "metric http_req_blocked appears twice (also at results.metrics[0])"
    )


def test_machine_readable_broken_count_string(tmp_path: Path) -> None:
    document = machine_readable_document()
    listed_metric(document, "http_reqs")["values"]["count"] = "141"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics[10].values.count"
    assert error.reason == 'expected a number, found a string ("141")'


def test_machine_readable_broken_matches_fraction(tmp_path: Path) -> None:
    document = machine_readable_document()
    listed_metric(document, "http_req_failed")["values"]["matches"] = 1.5
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "results.metrics[5].values.matches"


def test_machine_readable_broken_version(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["version"] = 1
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "version"
    assert error.reason == "expected the schema version as a string, found the number 1"


def test_machine_readable_broken_generated_at(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["metadata"]["generatedAt"] = "yesterday"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "metadata.generatedAt"
    assert error.reason == "not an RFC 3339 timestamp: 'yesterday'"


def test_machine_readable_broken_duration(tmp_path: Path) -> None:
    document = machine_readable_document()
    document["config"]["duration"] = -1
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "config.duration"
