"""Tests of the locust.csv collector against Locust 2.47.0 output, the layout of
Locust before 1.0, and broken inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.locust import LocustCsv, LocustParams

DATA = Path(__file__).resolve().parents[2] / "data" / "locust"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)

# Written by Locust 2.47.0 (--csv) during one 20 s headless run.
STATS = "locust_stats.csv"
HISTORY = "locust_stats_history.csv"
FAILURES = "locust_failures.csv"
# The --json output of the same run, written to stdout after the drain.
JSON_STDOUT = "locust-json-stdout.json"

# Hand-written with the numbers of STATS, in the layout that the CSV writer in
# Locust's stats.py produced before 1.0 (as in 0.14). That layout has the old
# column names, quotes every header, writes "None" as the aggregated row's Type
# and names the 99.999th percentile column "99.999". It writes times with %i,
# which truncates them to whole milliseconds, and rates with %.2f. The 99.999
# column contains 400, the value of the 99.99% and 100% columns around it.
OLD_COLUMNS = "locust-0.14-stats-old-columns.csv"

STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)

# The aggregated row of STATS, column by column.
AGGREGATED_PERCENTILES = {
    "p50_ms": 24, "p66_ms": 30, "p75_ms": 34, "p80_ms": 39, "p90_ms": 70, "p95_ms": 140,
    "p98_ms": 300, "p99_ms": 370, "p99_9_ms": 400, "p99_99_ms": 400, "p100_ms": 400,
}
BY_NAME = {
    "GET /api/items": {"requests": 374, "failed_requests": 0, "p95_ms": 37, "p99_ms": 60},
    "GET /api/items/[id]": {"requests": 297, "failed_requests": 0, "p95_ms": 35, "p99_ms": 63},
    "GET /api/reports/daily": {"requests": 65, "failed_requests": 17, "p95_ms": 380,
                               "p99_ms": 400},
    "POST /api/login": {"requests": 20, "failed_requests": 0, "p95_ms": 56, "p99_ms": 56},
    "POST /api/orders": {"requests": 121, "failed_requests": 2, "p95_ms": 82, "p99_ms": 97},
}


def collect(path: str, workspace: Path = DATA, history: str | None = None) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return LocustCsv().collect(LocustParams(path=path, history=history), context)


def collect_text(tmp_path: Path, text: str) -> Collected:
    (tmp_path / "run_stats.csv").write_text(text, encoding="utf-8")
    return collect("run_stats.csv", workspace=tmp_path)


def collect_error(tmp_path: Path, text: str) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        collect_text(tmp_path, text)
    return caught.value


def stats_text() -> str:
    return (DATA / STATS).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def stats() -> Collected:
    return collect(STATS)


@pytest.fixture(scope="module")
def old_columns() -> Collected:
    return collect(OLD_COLUMNS)


# Locust 2.47.0


def test_stats_requests(stats: Collected) -> None:
    assert stats.facts["requests"] == 877
    assert type(stats.facts["requests"]) is int


def test_stats_failed_requests(stats: Collected) -> None:
    assert stats.facts["failed_requests"] == 19


def test_stats_error_rate(stats: Collected) -> None:
    assert stats.facts["error_rate_ratio"] == 19 / 877


def test_stats_requests_per_second(stats: Collected) -> None:
    assert stats.facts["requests_per_second"] == 45.93325964674041


def test_stats_response_times(stats: Collected) -> None:
    assert stats.facts["avg_ms"] == 40.6881985963521
    assert stats.facts["min_ms"] == 4.795961000013449
    assert stats.facts["max_ms"] == 399.5987830001013


def test_stats_percentiles(stats: Collected) -> None:
    for name, value in AGGREGATED_PERCENTILES.items():
        assert stats.facts[name] == value, name


def test_stats_by_name(stats: Collected) -> None:
    assert stats.facts["by_name"] == BY_NAME


def test_stats_nothing_absent(stats: Collected) -> None:
    assert stats.absent == {}
    assert stats.failures == []
    assert stats.warnings == []


def test_stats_without_history_has_no_time(stats: Collected) -> None:
    assert stats.observed_at is None
    assert stats.artifacts == [(DATA / STATS).resolve()]


def test_facts_are_declared(stats: Collected) -> None:
    for name in stats.facts:
        assert LocustCsv.declared(name) is not None, name


def test_fact_family_declared() -> None:
    assert LocustCsv.declared("p99_999_ms") is not None
    assert LocustCsv.declared("p99_ms") is not None
    assert LocustCsv.declared("requests_total") is None


def test_facts_are_json(stats: Collected) -> None:
    text = json.dumps(stats.facts, allow_nan=False)
    assert json.loads(text) == stats.facts


# The history file


def test_history_sets_observed_at() -> None:
    result = collect(STATS, history=HISTORY)
    # 1796412313 is the Timestamp of the file's last row.
    assert result.observed_at == datetime(2026, 12, 4, 19, 25, 13, tzinfo=UTC)
    assert result.artifacts == [(DATA / STATS).resolve(), (DATA / HISTORY).resolve()]


def test_history_last_row_timestamp() -> None:
    last = (DATA / HISTORY).read_text(encoding="utf-8").splitlines()[-1]
    assert last.startswith("1796412313,")


def test_missing_history_is_evidence_missing() -> None:
    with pytest.raises(EvidenceMissing):
        collect(STATS, history="no_such_stats_history.csv")


def test_history_header_only_warns(tmp_path: Path) -> None:
    (tmp_path / "run_stats.csv").write_text(stats_text(), encoding="utf-8")
    (tmp_path / "run_stats_history.csv").write_text("Timestamp,User Count,Type,Name\n",
                                                    encoding="utf-8")
    result = collect("run_stats.csv", workspace=tmp_path, history="run_stats_history.csv")
    assert result.observed_at is None
    assert result.warnings == ["run_stats_history.csv has no rows, so observed_at is not set"]


def test_history_without_timestamp_column(tmp_path: Path) -> None:
    (tmp_path / "run_stats.csv").write_text(stats_text(), encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("run_stats.csv", workspace=tmp_path, history="run_stats.csv")
    assert caught.value.reason.startswith("not a Locust stats history CSV: no Timestamp column")


def test_history_bad_timestamp(tmp_path: Path) -> None:
    (tmp_path / "run_stats.csv").write_text(stats_text(), encoding="utf-8")
    (tmp_path / "run_stats_history.csv").write_text(
        "Timestamp,User Count\n1796412294,0\n19:25:13,20\n", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("run_stats.csv", workspace=tmp_path, history="run_stats_history.csv")
    assert caught.value.location == "3"
    assert "Timestamp '19:25:13' is not a whole number of seconds" in caught.value.reason


# The layout written before Locust 1.0


def test_old_columns_same_counts(old_columns: Collected, stats: Collected) -> None:
    for name in ("requests", "failed_requests", "error_rate_ratio", "by_name"):
        assert old_columns.facts[name] == stats.facts[name], name


def test_old_columns_same_percentiles(old_columns: Collected) -> None:
    for name, value in AGGREGATED_PERCENTILES.items():
        assert old_columns.facts[name] == value, name


def test_old_columns_unsigned_percentile(old_columns: Collected) -> None:
    assert old_columns.facts["p99_999_ms"] == 400


def test_old_columns_rounded_as_written(old_columns: Collected) -> None:
    # Locust 0.x wrote times with %i and rates with %.2f.
    assert old_columns.facts["avg_ms"] == 40
    assert old_columns.facts["min_ms"] == 4
    assert old_columns.facts["max_ms"] == 399
    assert old_columns.facts["requests_per_second"] == 45.93


def test_old_columns_nothing_absent(old_columns: Collected) -> None:
    assert old_columns.absent == {}
    assert old_columns.warnings == []


def test_requests_csv_layout_without_percentiles(tmp_path: Path) -> None:
    # The _requests.csv that older Locust 0.x releases wrote, with a Method
    # column, a "Total" row and the percentiles in a separate file.
    result = collect_text(tmp_path, (
        '"Method","Name","# requests","# failures","Median response time",'
        '"Average response time","Min response time","Max response time",'
        '"Average Content Size","Requests/s"\n'
        '"GET","/",51,3,4,3,2,6,12274,0.89\n'
        '"None","Total",51,3,4,3,2,6,12274,0.89'
    ))
    assert result.facts["requests"] == 51
    assert result.facts["failed_requests"] == 3
    assert result.facts["p50_ms"] == 4
    assert result.absent["p95_ms"] == (
        "the file has no 95% column (percentile columns found: none)"
    )
    assert result.facts["by_name"] == {"GET /": {"requests": 51, "failed_requests": 3}}


# N/A percentiles


def test_aggregated_without_requests(tmp_path: Path) -> None:
    na = ",".join(["N/A"] * 11)
    result = collect_text(tmp_path, f"{STATS_HEADER}\n,Aggregated,0,0,0,0.0,0,0,0.0,0.0,0.0,{na}\n")
    assert result.facts == {"requests": 0, "failed_requests": 0, "requests_per_second": 0.0,
                            "by_name": {}}
    assert result.failures == ["the aggregated row of run_stats.csv counts no requests"]
    for name in ("error_rate_ratio", "avg_ms", "p50_ms", "p95_ms", "p99_9_ms", "p100_ms"):
        assert "counts no requests" in result.absent[name], name


def test_na_percentile_absent_not_zero(tmp_path: Path) -> None:
    lines = stats_text().splitlines()
    aggregated = lines[-1].split(",")
    aggregated[16] = "N/A"  # the 95% column
    lines[-1] = ",".join(aggregated)
    result = collect_text(tmp_path, "\n".join(lines) + "\n")
    assert "p95_ms" not in result.facts
    assert result.absent["p95_ms"] == "Locust wrote N/A in the 95% column of the aggregated row"
    assert result.facts["p99_ms"] == 370


def test_na_percentile_left_out_of_row(tmp_path: Path) -> None:
    na = ",".join(["N/A"] * 11)
    unused_row = f"GET,/api/unused,0,0,0,0.0,0,0,0.0,0.0,0.0,{na}"
    text = stats_text().replace("\n,Aggregated,", f"\n{unused_row}\n,Aggregated,")
    result = collect_text(tmp_path, text)
    assert result.facts["by_name"]["GET /api/unused"] == {"requests": 0, "failed_requests": 0}


def test_custom_percentiles(tmp_path: Path) -> None:
    result = collect_text(tmp_path, (
        "Type,Name,Request Count,Failure Count,Median Response Time,Requests/s,95%,99.5%\n"
        "GET,/,10,1,20,2.5,40,55\n,Aggregated,10,1,20,2.5,40,55\n"
    ))
    assert result.facts["p95_ms"] == 40
    assert result.facts["p99_5_ms"] == 55
    assert result.facts["p50_ms"] == 20
    assert result.absent["p99_ms"] == (
        "the file has no 99% column (percentile columns found: 95%, 99.5%)"
    )
    assert result.absent["avg_ms"] == "the file has no Average Response Time column"


# Checks on the rows


def test_unknown_columns_warned(tmp_path: Path) -> None:
    lines: list[str] = []
    for line in stats_text().splitlines():
        fields = line.split(",")
        fields.insert(11, "x" if lines else "Extra")
        lines.append(",".join(fields))
    result = collect_text(tmp_path, "\n".join(lines) + "\n")
    assert result.warnings == ["run_stats.csv: columns not read: Extra"]
    assert result.facts["requests"] == 877
    assert result.facts["p50_ms"] == 24


def test_rows_not_adding_up_warned(tmp_path: Path) -> None:
    text = stats_text().replace("GET,/api/items,374,", "GET,/api/items,370,")
    result = collect_text(tmp_path, text)
    assert result.warnings == [
        "run_stats.csv: the rows add up to 873 requests and 19 failures, "
        "but the aggregated row counts 877 and 19"
    ]


def test_duplicate_row(tmp_path: Path) -> None:
    lines = stats_text().splitlines()
    error = collect_error(tmp_path, "\n".join([*lines[:2], lines[1], *lines[2:]]) + "\n")
    assert error.reason == "'GET /api/items' appears on two rows"
    assert error.location == "3"


def test_two_aggregated_rows(tmp_path: Path) -> None:
    lines = stats_text().splitlines()
    error = collect_error(tmp_path, "\n".join([*lines, lines[-1]]) + "\n")
    assert error.reason == "several aggregated rows, on lines 7, 8, but a stats file has one"


def test_more_failures_than_requests(tmp_path: Path) -> None:
    text = stats_text().replace(",Aggregated,877,19,", ",Aggregated,877,900,")
    error = collect_error(tmp_path, text)
    assert error.reason == "the aggregated row counts 900 failures but only 877 requests"


def test_bad_number_names_line(tmp_path: Path) -> None:
    text = stats_text().replace(",Aggregated,877,19,24,40.6881985963521,",
                                ",Aggregated,877,19,24,fast,")
    error = collect_error(tmp_path, text)
    assert error.reason == "Average Response Time 'fast' is not a non-negative number"
    assert error.location == "7"


def test_count_beyond_two_to_53_rejected(tmp_path: Path) -> None:
    # The ledger stores facts as RFC 8785 JSON, which represents integers up to 2**53 - 1 exactly.
    text = stats_text().replace("GET,/api/items,374,", "GET,/api/items,9007199254740992,")
    error = collect_error(tmp_path, text)
    assert error.reason == "Request Count '9007199254740992' is larger than 2**53 - 1"
    assert error.location == "2"


def test_count_of_5000_digits_rejected(tmp_path: Path) -> None:
    # int() raises ValueError beyond 4300 digits, so the length is checked first.
    text = stats_text().replace("GET,/api/items,374,", "GET,/api/items," + "9" * 5000 + ",")
    error = collect_error(tmp_path, text)
    assert error.reason == f"Request Count {'9' * 40!r} is larger than 2**53 - 1"


def test_bad_count_names_line(tmp_path: Path) -> None:
    text = stats_text().replace("POST,/api/login,20,", "POST,/api/login,20.5,")
    error = collect_error(tmp_path, text)
    assert error.reason == "Request Count '20.5' is not a whole number"
    assert error.location == "4"


# Broken inputs


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no_such_stats.csv", workspace=tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "")
    assert error.reason == (
        "file is empty; expected the PREFIX_stats.csv that locust --csv PREFIX writes"
    )


def test_unknown_header_set(tmp_path: Path) -> None:
    with pytest.raises(CollectorError) as caught:
        collect(FAILURES)
    assert caught.value.reason == (
        "not a Locust stats CSV: missing columns Request Count (or # requests), "
        "Failure Count (or # failures). Columns found: Method, Name, Error, Occurrences, "
        "First Seen, Last Seen. Pass the PREFIX_stats.csv that locust --csv PREFIX writes."
    )
    assert caught.value.location == "1"


def test_history_passed_as_stats(tmp_path: Path) -> None:
    with pytest.raises(CollectorError) as caught:
        collect(HISTORY)
    assert "missing columns Request Count (or # requests)" in caught.value.reason
    assert "Columns found: Timestamp, User Count, Type, Name, " in caught.value.reason


def test_json_output_rejected() -> None:
    with pytest.raises(CollectorError) as caught:
        collect(JSON_STDOUT)
    assert caught.value.reason.startswith("file is JSON, not CSV (locust --json writes JSON")


def test_header_only(tmp_path: Path) -> None:
    error = collect_error(tmp_path, STATS_HEADER + "\n")
    assert error.reason.startswith("no aggregated row")
    assert "truncated" in error.reason


def test_truncated_before_aggregated_row(tmp_path: Path) -> None:
    lines = stats_text().splitlines()
    error = collect_error(tmp_path, "\n".join(lines[:-1]) + "\n")
    assert error.reason.startswith("no aggregated row")


def test_truncated_row(tmp_path: Path) -> None:
    text = stats_text()
    error = collect_error(tmp_path, text[:text.index(",Aggregated,") + 30])
    assert error.location == "7"
    assert error.reason.startswith("row has 6 fields but the header has 22")


def test_truncated_inside_quotes(tmp_path: Path) -> None:
    text = (DATA / OLD_COLUMNS).read_text(encoding="utf-8")
    error = collect_error(tmp_path, text[:text.index('"Aggregated"') + 5])
    assert error.location == "7"
    assert "unexpected end of data" in error.reason


def test_wrong_encoding(tmp_path: Path) -> None:
    content = stats_text().replace("/api/login", "/api/café").encode("latin-1")
    (tmp_path / "run_stats.csv").write_bytes(content)
    with pytest.raises(CollectorError) as caught:
        collect("run_stats.csv", workspace=tmp_path)
    assert "invalid UTF-8" in caught.value.reason
    assert caught.value.location == "4:14"


def test_two_names_for_one_column(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "Type,Name,Request Count,# requests,Failure Count\n")
    assert error.reason == ("columns 'Request Count' and '# requests' are two names for the "
                            "same value, so the file should have only one of them")
