"""Tests of the jmeter.jtl collector against JMeter 2.13 result files and broken inputs."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.jmeter import JMeterJtl, JMeterParams, percentile

DATA = Path(__file__).resolve().parents[2] / "data" / "jmeter"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)

# The same 600-sample run of JMeter 2.13, written with the default CSV
# columns and with the extended ones (failureMessage, URL, Connect, ...).
DEFAULT_COLUMNS = "jmeter-2.13-default-columns.jtl"
EXTENDED_COLUMNS = "jmeter-2.13-extended-columns.jtl"

# Hand-written in the XML layout JMeter 2.13 writes, holding the samples on
# lines 205 to 220 of DEFAULT_COLUMNS. The assertion result is what JMeter adds
# with jmeter.save.saveservice.assertion_results=all. The two sub-samples under
# the GET /api/items sample at ts 1796412456459 are not in the CSV run: they
# were added, in JMeter's "label-N" naming, to test that sub-samples are not
# counted as requests.
XML_SLICE = "jmeter-2.13-xml-slice.jtl"
XML_SLICE_LINES = range(205, 221)

# Hand-written CSV in JMeter's quoting: a label holding a comma, a label
# holding double quotes, and failure messages holding commas and line breaks.
# Its five samples end on lines 2, 3, 5, 12 and 13.
QUOTED_FIELDS = "jmeter-quoted-fields.jtl"

# Read from the files: the first sample starts at 19:27:29.135 UTC and the
# last one ends at 19:27:47.792 UTC.
FIRST_START_MS = 1796412449135
LAST_END_MS = 1796412467792

LABEL_COUNTS = {
    "GET /api/items": (120, 0),
    "GET /api/items/[id]": (120, 7),
    "GET /api/reports/daily": (120, 46),
    "POST /api/login": (120, 0),
    "POST /api/orders": (120, 0),
}


def collect(path: str, workspace: Path = DATA, label: str | None = None) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return JMeterJtl().collect(JMeterParams(path=path, label=label), context)


def collect_text(tmp_path: Path, text: str, label: str | None = None) -> Collected:
    (tmp_path / "results.jtl").write_text(text, encoding="utf-8")
    return collect("results.jtl", workspace=tmp_path, label=label)


def collect_error(tmp_path: Path, content: str | bytes) -> CollectorError:
    file = tmp_path / "results.jtl"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content, encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("results.jtl", workspace=tmp_path)
    return caught.value


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_percentile(values: list[int], percent: str) -> float:
    """Compute a percentile by linear interpolation between closest ranks, written out.

    With the n values sorted as x[0] <= ... <= x[n-1], the rank is
    h = (n - 1) * p / 100 and the percentile is x[i] + (h - i) * (x[i+1] - x[i])
    for i = floor(h). Fractions keep every step exact.
    """
    ordered = sorted(values)
    rank = (len(ordered) - 1) * Fraction(percent) / 100
    index = rank.numerator // rank.denominator
    if index == len(ordered) - 1:
        return float(ordered[index])
    return float(ordered[index] + (rank - index) * (ordered[index + 1] - ordered[index]))


@pytest.fixture(scope="module")
def default_columns() -> Collected:
    return collect(DEFAULT_COLUMNS)


@pytest.fixture(scope="module")
def extended_columns() -> Collected:
    return collect(EXTENDED_COLUMNS)


@pytest.fixture(scope="module")
def elapsed() -> list[int]:
    return [int(row["elapsed"]) for row in read_rows(DEFAULT_COLUMNS)]


# The percentile definition


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40], 90) == Fraction(37)
    assert percentile([10, 20, 30, 40], Fraction("99.9")) == Fraction(39970, 1000)


def test_percentile_ends_are_min_and_max() -> None:
    assert percentile([3, 5, 8], 0) == 3
    assert percentile([3, 5, 8], 100) == 8


def test_percentile_of_one_value() -> None:
    assert percentile([7], 99) == 7


def test_percentile_of_no_values_raises() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_percentile_matches_statistics_inclusive(elapsed: list[int]) -> None:
    cut_points = statistics.quantiles(elapsed, n=100, method="inclusive")
    ordered = sorted(elapsed)
    for percent in (1, 25, 50, 90, 95, 99):
        assert float(percentile(ordered, percent)) == cut_points[percent - 1]


# Default CSV columns of JMeter 2.13


def test_default_columns_counts(default_columns: Collected) -> None:
    assert default_columns.facts["requests"] == 600
    assert default_columns.facts["failed_requests"] == 53


def test_default_columns_counts_match_file() -> None:
    rows = read_rows(DEFAULT_COLUMNS)
    assert len(rows) == 600
    assert sum(1 for row in rows if row["success"] == "false") == 53


def test_default_columns_error_rate(default_columns: Collected) -> None:
    assert default_columns.facts["error_rate_ratio"] == 53 / 600


def test_default_columns_percentiles(default_columns: Collected, elapsed: list[int]) -> None:
    assert default_columns.facts["p50_ms"] == expected_percentile(elapsed, "50")
    assert default_columns.facts["p90_ms"] == expected_percentile(elapsed, "90")
    assert default_columns.facts["p95_ms"] == expected_percentile(elapsed, "95")
    assert default_columns.facts["p99_ms"] == expected_percentile(elapsed, "99")


def test_default_columns_percentile_values(default_columns: Collected) -> None:
    # The 95th percentile's rank is 599 * 0.95 = 569.05, and the sorted values at
    # ranks 569 and 570 are 321 and 323.
    assert default_columns.facts["p50_ms"] == 30.0
    assert default_columns.facts["p95_ms"] == 321.1
    assert default_columns.facts["p99_ms"] == 381.08


def test_default_columns_mean_min_max(default_columns: Collected, elapsed: list[int]) -> None:
    assert default_columns.facts["avg_ms"] == sum(elapsed) / len(elapsed)
    assert default_columns.facts["min_ms"] == min(elapsed) == 4
    assert default_columns.facts["max_ms"] == max(elapsed) == 400


def test_default_columns_requests_per_second(default_columns: Collected) -> None:
    span_ms = LAST_END_MS - FIRST_START_MS
    assert default_columns.facts["requests_per_second"] == 600 * 1000 / span_ms


def test_default_columns_span_matches_file() -> None:
    rows = read_rows(DEFAULT_COLUMNS)
    assert min(int(row["timeStamp"]) for row in rows) == FIRST_START_MS
    assert max(int(row["timeStamp"]) + int(row["elapsed"]) for row in rows) == LAST_END_MS


def test_default_columns_sample_times(default_columns: Collected) -> None:
    assert default_columns.facts["first_sample_at"] == "2026-12-04T19:27:29.135000Z"
    assert default_columns.facts["last_sample_at"] == "2026-12-04T19:27:47.792000Z"


def test_default_columns_observed_at_last_end(default_columns: Collected) -> None:
    assert default_columns.observed_at == datetime(2026, 12, 4, 19, 27, 47, 792000, tzinfo=UTC)


def test_default_columns_response_codes(default_columns: Collected) -> None:
    assert default_columns.facts["response_codes"] == {"200": 468, "201": 120, "404": 7, "500": 5}


def test_default_columns_by_label_counts(default_columns: Collected) -> None:
    by_label = default_columns.facts["by_label"]
    assert list(by_label) == sorted(LABEL_COUNTS)
    for label, (requests, failed) in LABEL_COUNTS.items():
        assert by_label[label]["requests"] == requests, label
        assert by_label[label]["failed_requests"] == failed, label
        assert by_label[label]["error_rate_ratio"] == failed / requests, label


def test_default_columns_by_label_percentiles(default_columns: Collected) -> None:
    rows = read_rows(DEFAULT_COLUMNS)
    by_label = default_columns.facts["by_label"]
    for label in LABEL_COUNTS:
        values = [int(row["elapsed"]) for row in rows if row["label"] == label]
        assert by_label[label]["p95_ms"] == expected_percentile(values, "95"), label
        assert by_label[label]["p99_ms"] == expected_percentile(values, "99"), label


def test_default_columns_nothing_absent(default_columns: Collected) -> None:
    assert default_columns.absent == {}
    assert default_columns.failures == []
    assert default_columns.warnings == []


def test_default_columns_artifact(default_columns: Collected) -> None:
    assert default_columns.artifacts == [(DATA / DEFAULT_COLUMNS).resolve()]


def test_facts_are_declared(default_columns: Collected) -> None:
    for name in default_columns.facts:
        assert JMeterJtl.declared(name) is not None, name
    assert set(default_columns.facts) == set(JMeterJtl.fact_names())


def test_facts_are_json(default_columns: Collected) -> None:
    text = json.dumps(default_columns.facts, allow_nan=False)
    assert json.loads(text) == default_columns.facts


# Extended CSV columns, same run


def test_extended_columns_same_facts(
    extended_columns: Collected, default_columns: Collected
) -> None:
    assert extended_columns.facts == default_columns.facts


def test_extended_columns_multiline_messages_read() -> None:
    text = (DATA / EXTENDED_COLUMNS).read_text(encoding="utf-8")
    # 600 samples and a header, but quoted failure messages span further lines.
    assert text.count("\n") > 601
    assert collect(EXTENDED_COLUMNS).facts["requests"] == 600


def test_glob_merges_files(default_columns: Collected) -> None:
    merged = collect("jmeter-2.13-*-columns.jtl")
    assert merged.facts["requests"] == 1200
    assert merged.facts["failed_requests"] == 106
    assert merged.facts["p99_ms"] == default_columns.facts["p99_ms"]
    assert len(merged.artifacts) == 2


# The label parameter


def test_label_selects_samples() -> None:
    result = collect(DEFAULT_COLUMNS, label="GET /api/reports/*")
    assert result.facts["requests"] == 120
    assert result.facts["failed_requests"] == 46
    assert list(result.facts["by_label"]) == ["GET /api/reports/daily"]


def test_label_glob_selects_several() -> None:
    result = collect(DEFAULT_COLUMNS, label="GET *")
    assert result.facts["requests"] == 360
    assert result.facts["failed_requests"] == 53


def test_label_percentiles_of_selection() -> None:
    values = [int(row["elapsed"]) for row in read_rows(DEFAULT_COLUMNS)
              if row["label"] == "POST /api/orders"]
    result = collect(DEFAULT_COLUMNS, label="POST /api/orders")
    assert result.facts["p50_ms"] == expected_percentile(values, "50")
    assert result.facts["p99_ms"] == expected_percentile(values, "99")


def test_label_is_case_sensitive() -> None:
    result = collect(DEFAULT_COLUMNS, label="get *")
    assert result.facts["requests"] == 0


def test_label_matching_nothing_fails() -> None:
    result = collect(DEFAULT_COLUMNS, label="DELETE *")
    assert result.failures == ["label 'DELETE *' matched none of the 600 samples"]
    assert result.facts["requests"] == 0
    assert result.facts["by_label"] == {}
    assert result.absent["p95_ms"] == "no samples selected"
    assert result.observed_at is None


def test_label_without_label_column_raises(tmp_path: Path) -> None:
    (tmp_path / "results.jtl").write_text("timeStamp,elapsed,success\n1796412449135,12,true\n",
                                          encoding="utf-8")
    with pytest.raises(CollectorError, match="has no label column"):
        collect("results.jtl", workspace=tmp_path, label="GET *")


# XML


def test_xml_slice_counts() -> None:
    result = collect(XML_SLICE)
    assert result.facts["requests"] == 16
    assert result.facts["failed_requests"] == 3


def test_xml_slice_percentiles() -> None:
    rows = read_rows(DEFAULT_COLUMNS)[XML_SLICE_LINES.start - 2:XML_SLICE_LINES.stop - 2]
    values = [int(row["elapsed"]) for row in rows]
    result = collect(XML_SLICE)
    for percent in ("50", "90", "95", "99"):
        assert result.facts[f"p{percent}_ms"] == expected_percentile(values, percent), percent


def test_xml_slice_equals_csv_slice(tmp_path: Path) -> None:
    lines = (DATA / DEFAULT_COLUMNS).read_text(encoding="utf-8").splitlines()
    selected = [lines[0]] + [lines[number - 1] for number in XML_SLICE_LINES]
    (tmp_path / "slice.jtl").write_text("\n".join(selected) + "\n", encoding="utf-8")
    from_csv = collect("slice.jtl", workspace=tmp_path)
    assert collect(XML_SLICE).facts == from_csv.facts


def test_xml_sub_samples_not_counted() -> None:
    result = collect(XML_SLICE)
    assert "GET /api/items-0" not in result.facts["by_label"]
    assert "302" not in result.facts["response_codes"]
    assert result.facts["by_label"]["GET /api/items"]["requests"] == 3


def test_xml_response_codes() -> None:
    assert collect(XML_SLICE).facts["response_codes"] == {"200": 13, "201": 1, "500": 2}


def test_xml_sample_element(tmp_path: Path) -> None:
    result = collect_text(tmp_path, (
        '<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n'
        '<sample t="40" ts="1796412449135" s="true" lb="Checkout" rc="200"/>\n'
        '<httpSample t="20" ts="1796412449200" s="FALSE" lb="GET /" rc="503"/>\n'
        "</testResults>\n"
    ))
    assert result.facts["requests"] == 2
    assert result.facts["failed_requests"] == 1


def test_xml_without_lb_has_no_by_label(tmp_path: Path) -> None:
    result = collect_text(tmp_path, (
        '<testResults version="1.2">\n<httpSample t="40" ts="1796412449135" s="true" rc="200"/>\n'
        "</testResults>\n"
    ))
    assert "by_label" not in result.facts
    assert result.absent["by_label"] == "1 samples in results.jtl have no lb attribute"
    assert result.facts["response_codes"] == {"200": 1}


def test_xml_unknown_declared_encoding_rejected(tmp_path: Path) -> None:
    # expat raises LookupError, not a SAX error, for an unknown encoding name.
    error = collect_error(tmp_path, b'<?xml version="1.0" encoding="TTF-8"?>\n<testResults version="1.2"/>\n')
    assert str(error) == ('results.jtl:1:1: invalid XML: unknown encoding: TTF-8; '
                          'declare encoding="UTF-8" and save the file as UTF-8')


def test_xml_empty_results_fail(tmp_path: Path) -> None:
    text = '<?xml version="1.0"?>\n<testResults version="1.2">\n</testResults>\n'
    result = collect_text(tmp_path, text)
    assert result.failures == ["no samples in results.jtl"]
    assert result.facts["requests"] == 0


# CSV quoting


def test_quoted_fields_labels() -> None:
    result = collect(QUOTED_FIELDS)
    assert result.facts["by_label"] == {
        "GET /api/items/[id]": {"requests": 2, "failed_requests": 1, "error_rate_ratio": 0.5,
                                "p95_ms": expected_percentile([8, 15], "95"),
                                "p99_ms": expected_percentile([8, 15], "99")},
        "GET /search?q=a,b": {"requests": 2, "failed_requests": 1, "error_rate_ratio": 0.5,
                              "p95_ms": expected_percentile([120, 350], "95"),
                              "p99_ms": expected_percentile([120, 350], "99")},
        'POST /api/"quoted" items': {"requests": 1, "failed_requests": 0, "error_rate_ratio": 0.0,
                                     "p95_ms": 40.0, "p99_ms": 40.0},
    }


def test_quoted_fields_success_any_case() -> None:
    result = collect(QUOTED_FIELDS)
    assert result.facts["requests"] == 5
    assert result.facts["failed_requests"] == 2


def test_error_line_counts_quoted_line_breaks(tmp_path: Path) -> None:
    text = (DATA / QUOTED_FIELDS).read_text(encoding="utf-8")
    text += "2026-12-04 19:27:49,15,GET /,200,OK,t,text,true,,1,1,1,15\n"
    error = collect_error(tmp_path, text)
    assert error.location == "14"


# Edge cases of valid files


def test_header_only_fails_no_samples(tmp_path: Path) -> None:
    result = collect_text(tmp_path, "timeStamp,elapsed,label,responseCode,success\n")
    assert result.failures == ["no samples in results.jtl"]
    assert result.facts == {"requests": 0, "failed_requests": 0, "by_label": {},
                            "response_codes": {}}
    assert result.absent["error_rate_ratio"] == "no samples selected"
    assert result.absent["p99_ms"] == "no samples selected"
    assert result.absent["first_sample_at"] == "no samples selected"
    assert result.observed_at is None


def test_columns_in_any_order(tmp_path: Path) -> None:
    result = collect_text(tmp_path, (
        "success,Latency,elapsed,label,timeStamp\n"
        "true,10,12,A,1796412449135\nfalse,30,31,A,1796412449140\n"
    ))
    assert result.facts["requests"] == 2
    assert result.facts["max_ms"] == 31
    assert result.facts["first_sample_at"] == "2026-12-04T19:27:29.135000Z"


def test_minimal_columns_leave_maps_absent(tmp_path: Path) -> None:
    result = collect_text(tmp_path, "timeStamp,elapsed,success\n1796412449135,12,true\n")
    assert result.absent["by_label"] == "results.jtl has no label column"
    assert result.absent["response_codes"] == "results.jtl has no responseCode column"
    assert "by_label" not in result.facts


def test_zero_span_has_no_rate(tmp_path: Path) -> None:
    result = collect_text(tmp_path, "timeStamp,elapsed,success\n1796412449135,0,true\n")
    assert "requests_per_second" not in result.facts
    assert "same millisecond" in result.absent["requests_per_second"]


def test_windows_line_endings(tmp_path: Path) -> None:
    text = (DATA / QUOTED_FIELDS).read_text(encoding="utf-8").replace("\n", "\r\n")
    (tmp_path / "results.jtl").write_bytes(text.encode("utf-8"))
    result = collect("results.jtl", workspace=tmp_path)
    assert result.facts == collect(QUOTED_FIELDS).facts


def test_blank_first_line(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "\ntimeStamp,elapsed,success\n1796412449135,12,true\n")
    assert error.location == "1"
    assert error.reason.startswith("the first line is blank")


def test_byte_order_mark_skipped(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbftimeStamp,elapsed,success\n1796412449135,12,true\n"
    (tmp_path / "results.jtl").write_bytes(content)
    assert collect("results.jtl", workspace=tmp_path).facts["requests"] == 1


# Broken inputs


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no-such-results.jtl", workspace=tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, b"")
    assert error.reason.startswith("file is empty; expected a JMeter JTL file")


def test_blank_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "\n  \n")
    assert error.reason.startswith("file is empty")


def test_no_header_row(tmp_path: Path) -> None:
    lines = (DATA / DEFAULT_COLUMNS).read_text(encoding="utf-8").splitlines()[1:4]
    error = collect_error(tmp_path, "\n".join(lines) + "\n")
    assert error.location == "1"
    assert "the first line is a sample, not a header row" in error.reason
    assert "print_field_names=false" in error.reason
    assert "naming at least timeStamp, elapsed, success" in error.reason


def test_missing_required_column(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,label,success\n1796412449135,A,true\n")
    assert error.reason == (
        "missing required column elapsed. The header must name at least timeStamp, elapsed, "
        "success, and the columns found are: timeStamp, label, success"
    )


def test_unknown_columns(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "metric_name,timestamp,metric_value\nhttp_reqs,1796412449,1\n")
    assert "missing required column timeStamp, elapsed, success" in error.reason
    assert "columns found are: metric_name, timestamp, metric_value" in error.reason


def test_other_delimiter_hinted(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp;elapsed;success\n1796412449135;12;true\n")
    assert "default_delimiter" in error.reason


def test_duplicate_column(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,elapsed,success,elapsed\n1,2,true,3\n")
    assert error.reason == "column 'elapsed' appears twice in the header row"


def test_truncated_row(tmp_path: Path) -> None:
    text = "timeStamp,elapsed,label,success\n1796412449135,12,A,true\n1796412449140,1"
    error = collect_error(tmp_path, text)
    assert error.location == "3"
    assert "row has 2 fields but the header has 4" in error.reason
    assert "truncated" in error.reason


def test_truncated_inside_quotes(tmp_path: Path) -> None:
    text = (DATA / QUOTED_FIELDS).read_text(encoding="utf-8")
    error = collect_error(tmp_path, text[:text.index("****** received")])
    assert error.location == "6"
    assert "unexpected end of data" in error.reason
    assert "truncated" in error.reason


def test_wrong_encoding(tmp_path: Path) -> None:
    content = "timeStamp,elapsed,label,success\n1796412449135,12,Café,true\n".encode("latin-1")
    error = collect_error(tmp_path, content)
    assert error.location == "2:21"
    assert "invalid UTF-8" in error.reason


def test_date_timestamp_names_row(tmp_path: Path) -> None:
    text = "timeStamp,elapsed,success\n1796412449135,12,true\n2026/12/04 19:27:29.135,12,true\n"
    error = collect_error(tmp_path, text)
    assert error.location == "3"
    assert "timeStamp '2026/12/04 19:27:29.135' is not milliseconds since the epoch" in error.reason
    assert "timestamp_format" in error.reason


def test_timestamp_past_year_9999(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n999999999999999999,12,true\n")
    assert error.location == "2"
    assert "past the year 9999" in error.reason


def test_elapsed_ending_past_year_9999(tmp_path: Path) -> None:
    # The timestamp alone is in range, but start plus elapsed is not.
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n1796412449135,999999999999999,true\n")
    assert str(error) == "results.jtl:2: elapsed 999999999999999 ms ends the sample past the year 9999"


def test_elapsed_of_5000_digits(tmp_path: Path) -> None:
    # int() raises ValueError beyond 4300 digits, so the length is checked first.
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n1796412449135," + "9" * 5000 + ",true\n")
    assert error.reason == f"elapsed {'9' * 40!r} is too large: it reaches past the year 9999"


def test_xml_elapsed_ending_past_year_9999(tmp_path: Path) -> None:
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n'
               '<httpSample t="999999999999999" ts="1796412449135" s="true" lb="a" rc="200"/>\n'
               '</testResults>\n')
    error = collect_error(tmp_path, content)
    assert error.reason == "t 999999999999999 ms ends the sample past the year 9999"
    assert error.path == "results.jtl"


def test_fractional_elapsed(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n1796412449135,12.5,true\n")
    assert error.reason == "elapsed '12.5' is not a whole number of milliseconds"


def test_invalid_success(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n1796412449135,12,yes\n")
    assert error.reason == "success 'yes' is neither true nor false"
    assert error.location == "2"


def test_repeated_header(tmp_path: Path) -> None:
    header = "timeStamp,elapsed,success\n"
    error = collect_error(tmp_path, header + "1796412449135,12,true\n" + header)
    assert error.location == "3"
    assert "several JTL files were joined" in error.reason


def test_xml_wrong_root(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '<?xml version="1.0"?>\n<testsuites/>\n')
    assert error.location == "2:1"
    assert error.reason.startswith("root element is <testsuites>")


def test_xml_missing_attribute(tmp_path: Path) -> None:
    text = '<testResults>\n  <httpSample t="12" s="true" lb="A"/>\n</testResults>\n'
    error = collect_error(tmp_path, text)
    assert error.location == "2:3"
    assert error.reason.startswith("<httpSample> has no ts attribute")


def test_xml_bad_timestamp(tmp_path: Path) -> None:
    text = '<testResults>\n<sample t="1" ts="x" s="true"/>\n</testResults>\n'
    error = collect_error(tmp_path, text)
    assert error.location == "2:1"
    assert "ts 'x' is not milliseconds since the epoch" in error.reason


def test_xml_truncated(tmp_path: Path) -> None:
    text = (DATA / XML_SLICE).read_text(encoding="utf-8")
    error = collect_error(tmp_path, text[:text.index("<httpSample t=\"31\"")])
    assert error.reason.startswith("invalid XML: ")
    assert error.location is not None


def test_xml_entities_rejected(tmp_path: Path) -> None:
    error = collect_error(tmp_path, (
        '<?xml version="1.0"?>\n<!DOCTYPE testResults [<!ENTITY x "y">]>\n'
        '<testResults><httpSample t="1" ts="1" s="true" lb="&x;"/></testResults>\n'
    ))
    assert "DTD" in error.reason


def test_error_names_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "timeStamp,elapsed,success\n1796412449135,12,maybe\n")
    assert str(error).startswith("results.jtl:2: ")


def test_label_counts_match_fixture() -> None:
    counted = Counter((row["label"], row["success"]) for row in read_rows(DEFAULT_COLUMNS))
    for label, (requests, failed) in LABEL_COUNTS.items():
        assert counted[(label, "true")] + counted[(label, "false")] == requests, label
        assert counted[(label, "false")] == failed, label

