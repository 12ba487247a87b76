"""Tests of the junit collector against real pytest, gotestsum, jest-junit and Surefire
reports, a go-junit-report sample, small reports that broke other parsers, and hostile
inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.junit import MAX_SUITE_DEPTH, JUnit

DATA = Path(__file__).resolve().parents[2] / "data" / "junit"
NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)

PYTEST_XUNIT2 = "junit-pytest-9.2.0-default-xunit2.xml"
PYTEST_XUNIT1 = "junit-pytest-9.2.0-xunit1.xml"
GOTESTSUM = "junit-gotestsum.xml"
NESTED = "01-junit-nested-testsuites.xml"
MISSING_TIME = "02-junit-testcase-missing-time.xml"
SKIPPED_AND_FAILURE = "04-junit-skipped-and-failure.xml"
BARE_TESTSUITE = "05-pytest-root-testsuite-no-wrapper.xml"

# REAL: jest 30.5.2 with jest-junit 17.0.0 from npm, Node 20.20.2. One test file contains
# a pass, a failure, a test.skip and a test.todo, and a second one has a syntax error.
# The first report has jest-junit's default options, the second JEST_JUNIT_ADD_FILE_ATTRIBUTE
# and JEST_JUNIT_REPORT_TEST_SUITE_ERRORS set to true.
JEST = "jest-junit-REAL.xml"
JEST_FILE_ATTRIBUTE = "jest-junit-REAL-file-attribute-suite-errors.xml"
# REAL: gotestsum 1.8.2 (Debian package 1.8.2-1+b3) with go 1.19.8, and SAMPLE: the
# go-junit-report v2 format, for the same three packages: noinit (TestMain exits before
# any test), quota (two passes, a failure and a skip) and scope (fails to build).
GOTESTSUM_BUILD_FAILED = "gotestsum-1.8.2-build-failed-REAL.xml"
GO_JUNIT_REPORT = "go-junit-report-v2-build-failed-SAMPLE.xml"
# REAL: Maven Surefire 3.2.5 with JUnit Jupiter 5.11.4 and rerunFailingTestsCount=2: a
# failure and an error on every run, a test that passed on its second run, a skip.
SUREFIRE = "surefire-3.2.5-rerun-REAL.xml"

DECLARED = [
    "tests", "passed", "failed", "errors", "skipped", "failing_tests", "failing_cases",
    "all_passed", "suites", "classes", "files", "empty_suites", "duration_seconds", "timestamp",
]

# Counted by reading the pytest reports: 7 auth cases (one failure, one skip,
# one xfail), 9 data cases (three failures, a setup error and a teardown
# error) and 6 quota cases (one failure, one xpass that counts as passed).
PYTEST_CLASSES = {
    "tests.test_auth_isolation": {"tests": 7, "passed": 4, "failed": 1, "errors": 0, "skipped": 2},
    "tests.test_data_isolation": {"tests": 9, "passed": 4, "failed": 3, "errors": 2, "skipped": 0},
    "tests.test_quota_isolation": {"tests": 6, "passed": 5, "failed": 1, "errors": 0, "skipped": 0},
}
PYTEST_FAILING = [
    "tests.test_auth_isolation::test_admin_scope_is_tenant_bound",
    "tests.test_data_isolation::test_encrypted_at_rest",
    "tests.test_data_isolation::test_purge_leaves_no_rows",
    "tests.test_data_isolation::test_scan_wildcard_is_tenant_scoped",
    "tests.test_data_isolation::test_tenant_names_ünïcødé_special_characters"
    "[\\u30c6\\u30ca\\u30f3\\u30c8-\\u03b2]",
    "tests.test_data_isolation::test_tenant_names_ünïcødé_special_characters"
    '[tenant <&> "quoted"]',
    "tests.test_quota_isolation::test_quota_reported_in_bytes",
]


def collect(path: str, select: str | None = None, workspace: Path = DATA) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return JUnit().collect(JUnit.Params(path=path, select=select), context)


def collect_bytes(tmp_path: Path, content: bytes, select: str | None = None) -> Collected:
    (tmp_path / "report.xml").write_bytes(content)
    return collect("report.xml", select=select, workspace=tmp_path)


def reject(tmp_path: Path, content: bytes) -> CollectorError:
    (tmp_path / "report.xml").write_bytes(content)
    with pytest.raises(CollectorError) as caught:
        collect("report.xml", workspace=tmp_path)
    return caught.value


def counts(tests: int, passed: int, failed: int, errors: int, skipped: int) -> dict[str, int]:
    return {"tests": tests, "passed": passed, "failed": failed, "errors": errors,
            "skipped": skipped}


# Declarations


def test_collector_declares_fact_names() -> None:
    assert JUnit.fact_names() == DECLARED


def test_collector_name_is_junit() -> None:
    assert JUnit.name == "junit"


@pytest.mark.parametrize("file", [PYTEST_XUNIT2, PYTEST_XUNIT1, GOTESTSUM, NESTED, MISSING_TIME,
                                  SKIPPED_AND_FAILURE, BARE_TESTSUITE, JEST, JEST_FILE_ATTRIBUTE,
                                  GOTESTSUM_BUILD_FAILED, GO_JUNIT_REPORT, SUREFIRE])
def test_facts_and_absent_cover_declared(file: str) -> None:
    result = collect(file)
    assert sorted([*result.facts, *result.absent]) == sorted(DECLARED)


def test_params_reject_unknown_key() -> None:
    with pytest.raises(ValidationError):
        JUnit.Params(path="report.xml", filter="x")


def test_params_reject_non_string_select() -> None:
    with pytest.raises(ValidationError):
        JUnit.Params(path="report.xml", select=3)


# pytest 9.2.0, xunit2 (default) and xunit1


@pytest.mark.parametrize("file", [PYTEST_XUNIT2, PYTEST_XUNIT1])
@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 22), ("passed", 13), ("failed", 5), ("errors", 2), ("skipped", 2),
])
def test_pytest_totals(file: str, fact: str, expected: int) -> None:
    assert collect(file).facts[fact] == expected


@pytest.mark.parametrize("file", [PYTEST_XUNIT2, PYTEST_XUNIT1])
@pytest.mark.parametrize("classname", sorted(PYTEST_CLASSES))
def test_pytest_class_counts(file: str, classname: str) -> None:
    assert collect(file).facts["classes"][classname] == PYTEST_CLASSES[classname]


def test_pytest_classes_are_exactly_three() -> None:
    assert sorted(collect(PYTEST_XUNIT2).facts["classes"]) == sorted(PYTEST_CLASSES)


def test_pytest_failing_tests_listed() -> None:
    assert collect(PYTEST_XUNIT2).facts["failing_tests"] == PYTEST_FAILING


def test_pytest_setup_error_is_error() -> None:
    cases = collect(PYTEST_XUNIT2).facts["failing_cases"]
    outcome = {case["test"]: case["outcome"] for case in cases}
    assert outcome["tests.test_data_isolation::test_encrypted_at_rest"] == "error"


def test_pytest_teardown_error_is_error() -> None:
    cases = collect(PYTEST_XUNIT2).facts["failing_cases"]
    outcome = {case["test"]: case["outcome"] for case in cases}
    assert outcome["tests.test_data_isolation::test_purge_leaves_no_rows"] == "error"


def test_pytest_failing_case_keeps_suite_and_report() -> None:
    case = collect(PYTEST_XUNIT2).facts["failing_cases"][0]
    assert case == {"test": PYTEST_FAILING[0], "outcome": "failed",
                    "suite_path": ["tenant-isolation"], "report": PYTEST_XUNIT2}


def test_pytest_all_passed_is_false() -> None:
    assert collect(PYTEST_XUNIT2).facts["all_passed"] is False


def test_pytest_suite_counts_and_time() -> None:
    suites = collect(PYTEST_XUNIT2).facts["suites"]
    assert suites == {"tenant-isolation": {**counts(22, 13, 5, 2, 2), "duration_seconds": 0.193}}


def test_pytest_duration_sums_case_times() -> None:
    assert collect(PYTEST_XUNIT2).facts["duration_seconds"] == 0.017


def test_pytest_timestamp_kept_as_written() -> None:
    assert collect(PYTEST_XUNIT2).facts["timestamp"] == "2026-12-04T19:23:49.510753+00:00"


def test_pytest_observed_at_is_suite_timestamp() -> None:
    expected = datetime(2026, 12, 4, 19, 23, 49, 510753, tzinfo=UTC)
    assert collect(PYTEST_XUNIT2).observed_at == expected


def test_pytest_has_no_warnings() -> None:
    assert collect(PYTEST_XUNIT2).warnings == []


def test_pytest_has_no_failures() -> None:
    assert collect(PYTEST_XUNIT2).failures == []


def test_pytest_has_no_empty_suites() -> None:
    assert collect(PYTEST_XUNIT2).facts["empty_suites"] == []


def test_pytest_artifact_is_the_report() -> None:
    assert collect(PYTEST_XUNIT2).artifacts == [DATA / PYTEST_XUNIT2]


def test_pytest_xunit2_has_no_file_map() -> None:
    assert collect(PYTEST_XUNIT2).facts["files"] == {}


def test_pytest_xunit1_file_counts() -> None:
    assert collect(PYTEST_XUNIT1).facts["files"] == {
        "tests/test_auth_isolation.py": counts(7, 4, 1, 0, 2),
        "tests/test_data_isolation.py": counts(9, 4, 3, 2, 0),
        "tests/test_quota_isolation.py": counts(6, 5, 1, 0, 0),
    }


# select


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 9), ("passed", 4), ("failed", 3), ("errors", 2), ("skipped", 0),
])
def test_select_classname_totals(fact: str, expected: int) -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_data_isolation")
    assert result.facts[fact] == expected


def test_select_classname_failing_tests() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_data_isolation")
    expected = [name for name in PYTEST_FAILING if name.startswith("tests.test_data_isolation")]
    assert result.facts["failing_tests"] == expected


def test_select_classname_duration() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_data_isolation")
    assert result.facts["duration_seconds"] == 0.007


def test_select_classname_leaves_other_classes_out() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_data_isolation")
    assert list(result.facts["classes"]) == ["tests.test_data_isolation"]


def test_select_file_attribute() -> None:
    result = collect(PYTEST_XUNIT1, select="tests/test_quota_*.py")
    assert result.facts["classes"] == {"tests.test_quota_isolation": counts(6, 5, 1, 0, 0)}


def test_select_suite_name() -> None:
    assert collect(PYTEST_XUNIT2, select="tenant-*").facts["tests"] == 22


def test_select_is_case_sensitive() -> None:
    result = collect(PYTEST_XUNIT2, select="TESTS.*")
    assert result.facts["tests"] == 0


def test_select_matching_nothing_counts_zero() -> None:
    assert collect(PYTEST_XUNIT2, select="tests.test_billing*").facts["tests"] == 0


def test_select_matching_nothing_fails() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_billing*")
    assert result.failures == ["select 'tests.test_billing*' matched no test case"]


def test_select_matching_nothing_is_not_all_passed() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_billing*")
    assert result.facts["all_passed"] is False


def test_select_matching_nothing_has_no_duration() -> None:
    result = collect(PYTEST_XUNIT2, select="tests.test_billing*")
    assert result.absent["duration_seconds"] == "no selected test case has a time attribute"


# Several files through a glob


def test_glob_merges_counts() -> None:
    assert collect("junit-pytest-9.2.0-*.xml").facts["tests"] == 44


def test_glob_lists_every_report() -> None:
    result = collect("junit-pytest-9.2.0-*.xml")
    assert result.artifacts == [DATA / PYTEST_XUNIT2, DATA / PYTEST_XUNIT1]


def test_glob_failing_cases_keep_their_report() -> None:
    cases = collect("junit-pytest-9.2.0-*.xml").facts["failing_cases"]
    reports = [case["report"] for case in cases if case["test"] == PYTEST_FAILING[0]]
    assert reports == [PYTEST_XUNIT2, PYTEST_XUNIT1]


def test_glob_observed_at_is_latest() -> None:
    expected = datetime(2026, 12, 4, 19, 23, 50, 110489, tzinfo=UTC)
    assert collect("junit-pytest-9.2.0-*.xml").observed_at == expected


def test_glob_timestamp_from_first_report() -> None:
    timestamp = collect("junit-pytest-9.2.0-*.xml").facts["timestamp"]
    assert timestamp == "2026-12-04T19:23:49.510753+00:00"


def test_glob_sums_suite_times() -> None:
    suite = collect("junit-pytest-9.2.0-*.xml").facts["suites"]["tenant-isolation"]
    assert suite["duration_seconds"] == 0.318


def test_glob_reports_file_without_cases(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text('<testsuite name="a"><testcase name="t"/></testsuite>')
    (tmp_path / "b.xml").write_text("<testsuites/>")
    result = collect("*.xml", workspace=tmp_path)
    assert result.failures == ["no test cases in b.xml"]


# gotestsum 1.8.2


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 10), ("passed", 6), ("failed", 3), ("errors", 0), ("skipped", 1),
])
def test_gotestsum_totals(fact: str, expected: int) -> None:
    assert collect(GOTESTSUM).facts[fact] == expected


def test_gotestsum_failing_tests_include_subtest() -> None:
    assert collect(GOTESTSUM).facts["failing_tests"] == [
        "example.invalid/isolation/isolation::TestQuota",
        "example.invalid/isolation/isolation::TestQuota/tenant_<&>_ü",
        "example.invalid/isolation/isolation::TestScanIsTenantScoped",
    ]


def test_gotestsum_suite_counts_and_time() -> None:
    suites = collect(GOTESTSUM).facts["suites"]
    expected = {**counts(10, 6, 3, 0, 1), "duration_seconds": 0.161}
    assert suites == {"example.invalid/isolation/isolation": expected}


def test_gotestsum_duration() -> None:
    assert collect(GOTESTSUM).facts["duration_seconds"] == 0.15


def test_gotestsum_observed_at() -> None:
    assert collect(GOTESTSUM).observed_at == datetime(2026, 12, 4, 19, 28, 14, tzinfo=UTC)


def test_gotestsum_timestamp() -> None:
    assert collect(GOTESTSUM).facts["timestamp"] == "2026-12-04T19:28:14Z"


# 01: suites nested inside suites, and a case beside child suites


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 5), ("passed", 3), ("failed", 2), ("errors", 0), ("skipped", 0),
])
def test_nested_totals(fact: str, expected: int) -> None:
    assert collect(NESTED).facts[fact] == expected


def test_nested_failing_cases_keep_suite_path() -> None:
    paths = {case["test"]: case["suite_path"] for case in collect(NESTED).facts["failing_cases"]}
    assert paths == {
        "access_control.sessions::test_idle_timeout_enforced":
            ["access-control", "access-control.sessions"],
        "access_control::test_password_min_length": ["access-control"],
    }


def test_nested_suite_counts() -> None:
    assert collect(NESTED).facts["suites"] == {
        "access-control": {**counts(5, 3, 2, 0, 0), "duration_seconds": 3.5},
        "access-control / access-control.mfa": {**counts(2, 2, 0, 0, 0), "duration_seconds": 1.5},
        "access-control / access-control.sessions":
            {**counts(2, 1, 1, 0, 0), "duration_seconds": 1.25},
    }


def test_nested_select_inner_suite() -> None:
    result = collect(NESTED, select="access-control.sessions")
    assert result.facts["failing_tests"] == ["access_control.sessions::test_idle_timeout_enforced"]


def test_nested_timestamp_absent() -> None:
    reason = collect(NESTED).absent["timestamp"]
    assert reason == "no outermost <testsuite> has a timestamp attribute"


def test_nested_observed_at_unknown() -> None:
    assert collect(NESTED).observed_at is None


# 02: time missing or empty on test cases


def test_missing_time_parses_all_passed() -> None:
    assert collect(MISSING_TIME).facts["all_passed"] is True


def test_missing_time_counts_three_passed() -> None:
    assert collect(MISSING_TIME).facts["passed"] == 3


def test_missing_time_duration_is_known_case() -> None:
    assert collect(MISSING_TIME).facts["duration_seconds"] == 0.005


def test_missing_time_suite_time() -> None:
    suite = collect(MISSING_TIME).facts["suites"]["com.example.audit.RetentionPolicyTest"]
    assert suite["duration_seconds"] == 0.412


def test_missing_time_only_is_absent_not_zero(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s">\n'
                           b'  <testcase classname="c" name="a"/>\n'
                           b'  <testcase classname="c" name="b" time=""/>\n</testsuite>\n')
    assert "duration_seconds" not in result.facts
    assert result.absent["duration_seconds"] == "no selected test case has a time attribute"


def test_missing_suite_time_is_null(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase name="a"/></testsuite>')
    assert result.facts["suites"]["s"]["duration_seconds"] is None


def test_time_with_exponent_accepted(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase name="a" time="1.5E-3"/>'
                           b"</testsuite>")
    assert result.facts["duration_seconds"] == 0.0015


# 04: a case holding both <skipped> and <failure>


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 2), ("passed", 1), ("failed", 0), ("errors", 0), ("skipped", 1),
])
def test_skipped_and_failure_totals(fact: str, expected: int) -> None:
    assert collect(SKIPPED_AND_FAILURE).facts[fact] == expected


def test_skipped_and_failure_warns_naming_case() -> None:
    assert collect(SKIPPED_AND_FAILURE).warnings == [
        "04-junit-skipped-and-failure.xml:5: test case "
        "'com.example.kms.KeyRotationTest::rotationInFipsMode' contains both <skipped> and "
        "<failure>, so it is counted as skipped, not as failed or passed"
    ]


def test_skipped_and_failure_not_failing() -> None:
    assert collect(SKIPPED_AND_FAILURE).facts["failing_tests"] == []


def test_skipped_and_error_counts_error(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase classname="c" name="a">'
                           b"<skipped/><error/></testcase></testsuite>")
    assert result.facts["errors"] == 1
    assert result.warnings == ["report.xml:1: test case 'c::a' contains both <skipped> and "
                               "<error>, so it is counted as an error"]


# 05: a bare <testsuite> root with xunit1 attributes and a setup error


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 3), ("passed", 1), ("failed", 0), ("errors", 1), ("skipped", 1),
])
def test_bare_testsuite_totals(fact: str, expected: int) -> None:
    assert collect(BARE_TESTSUITE).facts[fact] == expected


def test_bare_testsuite_setup_error_is_error() -> None:
    assert collect(BARE_TESTSUITE).facts["failing_cases"] == [
        {"test": "tests.test_tls::test_hsts_header", "outcome": "error",
         "suite_path": ["pytest"], "report": BARE_TESTSUITE},
    ]


def test_bare_testsuite_file_counts() -> None:
    assert collect(BARE_TESTSUITE).facts["files"] == {"tests/test_tls.py": counts(3, 1, 0, 1, 1)}


def test_bare_testsuite_naive_timestamp_kept() -> None:
    assert collect(BARE_TESTSUITE).facts["timestamp"] == "2019-06-24T10:42:17.512345"


def test_bare_testsuite_naive_timestamp_not_utc() -> None:
    assert collect(BARE_TESTSUITE).observed_at is None


def test_bare_testsuite_naive_timestamp_warns() -> None:
    assert collect(BARE_TESTSUITE).warnings == [
        "05-pytest-root-testsuite-no-wrapper.xml:2: suite timestamp "
        "'2019-06-24T10:42:17.512345' has no UTC offset, so observed_at is not set "
        "(reading it as UTC would be a guess)"
    ]


# Timestamps


def test_timestamp_offset_converted_to_utc(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" timestamp='
                           b'"2026-12-04T21:00:00+02:00"><testcase name="a"/></testsuite>')
    assert result.observed_at == datetime(2026, 12, 4, 19, 0, tzinfo=UTC)


def test_timestamp_naive_beside_aware_unsets_observed_at(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites>'
                           b'<testsuite name="a" timestamp="2026-12-04T19:00:00Z">'
                           b'<testcase name="t"/></testsuite>'
                           b'<testsuite name="b" timestamp="2026-12-04T19:05:00">'
                           b'<testcase name="t"/></testsuite></testsuites>')
    assert result.observed_at is None


def test_timestamp_invalid_kept_and_warned(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" timestamp="yesterday">'
                           b'<testcase name="a"/></testsuite>')
    assert result.facts["timestamp"] == "yesterday"
    assert result.observed_at is None
    assert result.warnings == ["report.xml:1: suite timestamp 'yesterday' is not an RFC 3339 "
                               "timestamp, so observed_at is not set"]


# Empty suites and reports without cases


def test_empty_suite_listed(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="pkg/a"><testcase name="t"/>'
                           b'</testsuite><testsuite name="pkg/b" tests="0"/></testsuites>')
    assert result.facts["empty_suites"] == ["pkg/b"]
    assert result.facts["suites"]["pkg/b"] == {**counts(0, 0, 0, 0, 0), "duration_seconds": None}
    assert result.warnings == ["suites without any test case: 'pkg/b'"]


def test_empty_suite_nested_lists_outer_too(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="a"><testcase name="t"/>'
                           b'</testsuite><testsuite name="b"><testsuite name="c"/></testsuite>'
                           b"</testsuites>")
    assert result.facts["empty_suites"] == ["b", "b / c"]


def test_empty_suite_outside_select_left_out(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="a"><testcase name="t"/>'
                           b'</testsuite><testsuite name="b"/></testsuites>', select="a")
    assert result.facts["empty_suites"] == []


def test_report_without_cases_fails(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="a" tests="3"/></testsuites>')
    assert result.failures == ["no test cases in report.xml"]
    assert result.facts["tests"] == 0
    assert result.facts["all_passed"] is False


def test_report_without_cases_skips_select_message(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b"<testsuites/>", select="a")
    assert result.failures == ["no test cases in report.xml"]


# Structure


def test_counts_ignore_suite_attributes(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="9" failures="9">'
                           b'<testcase name="a"/></testsuite>')
    assert result.facts["tests"] == 1
    assert result.facts["failed"] == 0


def test_testcase_inside_properties_ignored(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><properties><testcase name="x">'
                           b'<failure/></testcase></properties><testcase name="a"/></testsuite>')
    assert result.facts["tests"] == 1
    assert result.facts["failed"] == 0


def test_outcome_element_below_child_ignored(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase name="a"><properties>'
                           b"<failure/></properties></testcase></testsuite>")
    assert result.facts["passed"] == 1


def test_case_without_classname_uses_name(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase name="a"><failure/>'
                           b"</testcase></testsuite>")
    assert result.facts["failing_tests"] == ["a"]
    assert result.facts["classes"] == {}


def test_nesting_limit_rejected(tmp_path: Path) -> None:
    depth = MAX_SUITE_DEPTH + 1
    content = b'<testsuite name="n">' * depth + b'<testcase name="a"/>' + b"</testsuite>" * depth
    error = reject(tmp_path, content)
    assert error.reason == f"<testsuite> elements nested more than {MAX_SUITE_DEPTH} deep"


# Broken and hostile inputs


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("reports/junit.xml", workspace=tmp_path)


def test_empty_file_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b"")
    assert error.reason == "file is empty, expected a JUnit XML report"
    assert error.path == "report.xml"


def test_blank_file_rejected(tmp_path: Path) -> None:
    assert reject(tmp_path, b"\n  \n").reason == "file is empty, expected a JUnit XML report"


def test_truncated_xml_has_line_and_column(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">\n'
                   b'  <testcase name="a" classname="c" time="0.1"/>\n  <testcase name="b" cl')
    assert error.location == "4:3"
    assert error.reason == "invalid XML: unclosed token"
    assert str(error) == "report.xml:4:3: invalid XML: unclosed token"


def test_unknown_declared_encoding_rejected(tmp_path: Path) -> None:
    # expat raises LookupError, not a SAX error, for an unknown encoding name.
    error = reject(tmp_path, b'<?xml version="1.0" encoding="ttf-8"?><testsuites name="pytest tests"/>')
    assert error.reason == ('invalid XML: unknown encoding: ttf-8; declare encoding="UTF-8" '
                            'and save the file as UTF-8')
    assert error.location == "1:1"
    assert error.path == "report.xml"


def test_truncated_after_start_tag_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<testsuite name="s">\n  <testcase name="a"/>\n')
    assert error.reason == "invalid XML: no element found"
    assert error.location == "3:1"


@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE testsuite [<!ENTITY boom "x">]>',
    b'<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/junit.dtd">',
    b'<!DOCTYPE testsuite [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
])
def test_dtd_rejected(tmp_path: Path, doctype: bytes) -> None:
    error = reject(tmp_path, b'<?xml version="1.0"?>\n' + doctype + b'\n<testsuite name="&b;"/>')
    assert error.reason.startswith("XML document type declarations (DTD), entities and external "
                                   "references are rejected")
    assert error.location is not None
    assert error.location.startswith("2:")


def test_control_character_in_attribute_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">\n'
                   b'  <testcase name="a\x01b" classname="c"/>\n</testsuite>\n')
    assert error.reason == ("invalid XML: not well-formed (invalid token): control character "
                            "U+0001 is not allowed in XML 1.0 (ANSI colour codes copied from a "
                            "terminal are a common source)")
    assert error.location == "3:20"


def test_invalid_utf8_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">\n'
                   b'  <testcase name="caf\xe9" classname="c"/>\n</testsuite>\n')
    assert error.reason == "invalid XML: not well-formed (invalid token)"
    assert error.location == "3:22"


def test_json_file_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'{"tests": 3, "failures": 0}\n')
    assert error.reason == "invalid XML: not well-formed (invalid token)"
    assert error.location == "1:1"


def test_other_root_element_named(tmp_path: Path) -> None:
    error = reject(tmp_path, b"<html><body/></html>")
    assert error.reason == ("root element is <html>, expected <testsuites> or <testsuite> "
                            "(a JUnit XML report)")


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "1,234.5", "1_000", "1e400"])
def test_non_numeric_time_rejected(tmp_path: Path, value: str) -> None:
    error = reject(tmp_path, b'<testsuite name="s">\n  <testcase name="a" time="'
                   + value.encode() + b'"/>\n</testsuite>\n')
    assert error.reason == (f"<testcase> has time={value!r}, expected a non-negative number "
                            "of seconds such as 0.25")
    assert error.location == "2:3"


def test_non_numeric_suite_time_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<testsuite name="s" time="soon"><testcase name="a"/></testsuite>')
    assert error.reason.startswith("<testsuite> has time='soon'")


# jest-junit 17.0.0, default options


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 4), ("passed", 1), ("failed", 1), ("errors", 0), ("skipped", 2),
])
def test_jest_totals(fact: str, expected: int) -> None:
    assert collect(JEST).facts[fact] == expected


def test_jest_todo_counted_as_skipped() -> None:
    classes = collect(JEST).facts["classes"]
    assert classes["tenant scope expires idle sessions after 15 minutes"] == counts(1, 0, 0, 0, 1)


def test_jest_skip_counted_as_skipped() -> None:
    classes = collect(JEST).facts["classes"]
    assert classes["tenant scope binds SSO sessions to the tenant"] == counts(1, 0, 0, 0, 1)


def test_jest_pass_stays_passed() -> None:
    classes = collect(JEST).facts["classes"]
    assert classes["tenant scope prefixes the tenant name"] == counts(1, 1, 0, 0, 0)


def test_jest_todo_warning_names_case() -> None:
    assert collect(JEST).warnings[0] == (
        "jest-junit-REAL.xml:3: suite 'tenant scope' counts tests=3 but contains 4 test cases, "
        "and 1 case(s) without an outcome element are not among its passes. jest-junit writes "
        'test.todo this way, so these cases with time="0" are counted as skipped, not passed: '
        "'tenant scope expires idle sessions after 15 minutes'."
    )


def test_jest_same_classname_and_name_labelled_once() -> None:
    assert collect(JEST).facts["failing_tests"] == ['tenant scope rejects names with <&> "quotes"']


def test_jest_suite_counts_and_time() -> None:
    suites = collect(JEST).facts["suites"]
    assert suites == {"tenant scope": {**counts(4, 1, 1, 0, 2), "duration_seconds": 0.231}}


def test_jest_timestamp_without_offset_not_utc() -> None:
    result = collect(JEST).observed_at
    assert result is None


def test_jest_timestamp_kept_as_written() -> None:
    assert collect(JEST).facts["timestamp"] == "2026-12-04T20:47:22"


def test_jest_has_no_file_map() -> None:
    assert collect(JEST).facts["files"] == {}


def test_jest_default_omits_broken_file() -> None:
    # With reportTestSuiteErrors off, jest-junit writes nothing for the test file with the
    # syntax error, so the report cannot show it and the collector reports no failure.
    result = collect(JEST)
    assert result.facts["empty_suites"] == []
    assert result.failures == []


# jest-junit 17.0.0 with addFileAttribute and reportTestSuiteErrors


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 6), ("passed", 1), ("failed", 2), ("errors", 1), ("skipped", 2),
])
def test_jest_suite_errors_totals(fact: str, expected: int) -> None:
    assert collect(JEST_FILE_ATTRIBUTE).facts[fact] == expected


def test_jest_file_attribute_counts() -> None:
    assert collect(JEST_FILE_ATTRIBUTE).facts["files"] == {
        "src/broken.test.js": counts(2, 0, 1, 1, 0),
        "src/tenant.test.js": counts(4, 1, 1, 0, 2),
    }


def test_jest_select_by_file_attribute() -> None:
    result = collect(JEST_FILE_ATTRIBUTE, select="src/tenant.test.js")
    assert result.facts["tests"] == 4
    assert result.facts["skipped"] == 2


def test_jest_broken_file_is_empty_suite() -> None:
    assert collect(JEST_FILE_ATTRIBUTE).facts["empty_suites"] == ["src/broken.test.js"]


def test_jest_broken_file_fails() -> None:
    assert collect(JEST_FILE_ATTRIBUTE).failures == [
        f"{JEST_FILE_ATTRIBUTE}:34: test file src/broken.test.js: no tests ran "
        "(jest could not run it)"
    ]


def test_jest_broken_file_cases() -> None:
    cases = collect(JEST_FILE_ATTRIBUTE).facts["failing_cases"]
    broken = [case["outcome"] for case in cases if case["suite_path"] == ["src/broken.test.js"]]
    assert sorted(broken) == ["error", "failed"]


# jest-junit todo tests in small reports


def test_todo_ambiguous_takes_last_candidates(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="s" tests="2" failures="0" '
                           b'errors="0" skipped="0">'
                           b'<testcase classname="c" name="a" time="0"/>'
                           b'<testcase classname="c" name="b" time="0"/>'
                           b'<testcase classname="d" name="todo" time="0"/>'
                           b"</testsuite></testsuites>")
    assert result.facts["classes"] == {"c": counts(2, 2, 0, 0, 0), "d": counts(1, 0, 0, 0, 1)}
    assert result.warnings[0].endswith("The report does not say which of the 3 cases with "
                                       'time="0" are todo, so the last 1 were taken.')


def test_todo_needs_time_zero_as_written(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="1">'
                           b'<testcase name="a" time="0.000"/><testcase name="b" time="0.000"/>'
                           b"</testsuite>")
    assert result.facts["passed"] == 2
    assert result.warnings == []


def test_todo_not_taken_when_tests_match_cases(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="2" failures="1" skipped="1">'
                           b'<testcase name="a" time="0"/>'
                           b'<testcase name="b" time="0"><skipped/><failure/></testcase>'
                           b"</testsuite>")
    assert result.facts["passed"] == 1
    assert result.facts["skipped"] == 1


def test_todo_not_taken_in_suite_with_child_suites(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="0"><testcase name="a" time="0"/>'
                           b'<testsuite name="t"><testcase name="b" time="0.1"/></testsuite>'
                           b"</testsuite>")
    assert result.facts["passed"] == 2


def test_todo_not_taken_with_invalid_counters(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="many">'
                           b'<testcase name="a" time="0"/></testsuite>')
    assert result.facts["passed"] == 1


def test_todo_outside_select_not_counted(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="1">'
                           b'<testcase classname="keep" name="a" time="0.5"/>'
                           b'<testcase classname="drop" name="todo" time="0"/></testsuite>',
                           select="keep")
    assert result.facts["classes"] == {"keep": counts(1, 1, 0, 0, 0)}


def test_todo_identical_cases_counted_apart(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="1"><testcase name="a" time="0"/>'
                           b'<testcase name="a" time="0"/></testsuite>')
    assert result.facts["passed"] == 1
    assert result.facts["skipped"] == 1


def test_todo_unselected_suite_not_warned(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="s" tests="0">'
                           b'<testcase classname="c" name="a" time="0"/></testsuite>'
                           b'<testsuite name="t"><testcase classname="d" name="b"/></testsuite>'
                           b"</testsuites>", select="t")
    assert result.facts["tests"] == 1
    assert result.warnings == []


# gotestsum 1.8.2 with a package that fails to build and one whose TestMain exits


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 5), ("passed", 2), ("failed", 2), ("errors", 0), ("skipped", 1),
])
def test_gotestsum_build_failed_totals(fact: str, expected: int) -> None:
    assert collect(GOTESTSUM_BUILD_FAILED).facts[fact] == expected


def test_gotestsum_testmain_package_is_empty_suite() -> None:
    empty = collect(GOTESTSUM_BUILD_FAILED).facts["empty_suites"]
    assert empty == ["example.invalid/tenancy/noinit"]


def test_gotestsum_build_failed_fails() -> None:
    assert collect(GOTESTSUM_BUILD_FAILED).failures == [
        f"{GOTESTSUM_BUILD_FAILED}:3: package example.invalid/tenancy/noinit: no tests ran "
        "(build, package init or TestMain failed)",
        f'{GOTESTSUM_BUILD_FAILED}: <testsuites> has errors="1" but only 0 test case(s) '
        "contain <error>. gotestsum 1.8.2 counts a package that failed to build there and "
        "writes no <testsuite> for it, so its build error is only in the console output.",
    ]


def test_gotestsum_testmain_placeholder_is_failing() -> None:
    assert collect(GOTESTSUM_BUILD_FAILED).facts["failing_tests"] == [
        "TestMain", "example.invalid/tenancy/quota::TestOverLimitReported",
    ]


def test_gotestsum_build_failed_not_all_passed() -> None:
    assert collect(GOTESTSUM_BUILD_FAILED).facts["all_passed"] is False


def test_root_errors_matching_cases_not_failed(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites errors="1"><testsuite name="s">'
                           b'<testcase name="a"><error/></testcase></testsuite></testsuites>')
    assert result.failures == []


# go-junit-report v2 (sample) with a package that fails to build


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 6), ("passed", 2), ("failed", 1), ("errors", 2), ("skipped", 1),
])
def test_go_junit_report_totals(fact: str, expected: int) -> None:
    assert collect(GO_JUNIT_REPORT).facts[fact] == expected


def test_go_junit_report_empty_suites() -> None:
    assert collect(GO_JUNIT_REPORT).facts["empty_suites"] == [
        "example.invalid/tenancy/noinit", "example.invalid/tenancy/scope",
    ]


def test_go_junit_report_build_failed_fails() -> None:
    assert collect(GO_JUNIT_REPORT).failures == [
        f"{GO_JUNIT_REPORT}:4: package example.invalid/tenancy/noinit: no tests ran "
        "(TestMain or package init failed)",
        f"{GO_JUNIT_REPORT}:25: package example.invalid/tenancy/scope: no tests ran "
        "(build failed)",
    ]


def test_go_junit_report_build_failed_is_error() -> None:
    cases = collect(GO_JUNIT_REPORT).facts["failing_cases"]
    outcome = {case["test"]: case["outcome"] for case in cases}
    assert outcome["example.invalid/tenancy/scope::[build failed]"] == "error"


def test_go_junit_report_suite_counts() -> None:
    suites = collect(GO_JUNIT_REPORT).facts["suites"]
    assert suites["example.invalid/tenancy/scope"] == {**counts(1, 0, 0, 1, 0),
                                                       "duration_seconds": 0.0}
    assert suites["example.invalid/tenancy/quota"] == {**counts(4, 2, 1, 0, 1),
                                                       "duration_seconds": 0.004}


def test_go_junit_report_select_other_package() -> None:
    result = collect(GO_JUNIT_REPORT, select="example.invalid/tenancy/quota")
    assert result.facts["tests"] == 4
    assert result.facts["empty_suites"] == []
    assert result.failures == []


def test_go_setup_failed_placeholder(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="p" tests="1" errors="1">'
                           b'<testcase name="[setup failed]" classname="p"><error message="Build '
                           b'error"/></testcase></testsuite><testsuite name="q">'
                           b'<testcase name="TestQ" classname="q"/></testsuite></testsuites>')
    assert result.facts["empty_suites"] == ["p"]
    assert result.failures == ["report.xml:1: package p: no tests ran (setup failed)"]


def test_failure_case_not_placeholder(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="p"><testcase name="Failure" classname="p">'
                           b'<error message="NullPointerException"/></testcase></testsuite>')
    assert result.facts["empty_suites"] == []
    assert result.failures == []


# Maven Surefire 3.2.5 with reruns


@pytest.mark.parametrize(("fact", "expected"), [
    ("tests", 6), ("passed", 3), ("failed", 1), ("errors", 1), ("skipped", 1),
])
def test_surefire_totals(fact: str, expected: int) -> None:
    assert collect(SUREFIRE).facts[fact] == expected


def test_surefire_flaky_passed_with_warning() -> None:
    assert collect(SUREFIRE).warnings == [
        f"{SUREFIRE}:119: test case 'com.example.tenancy.QuotaTest::replicaCatchesUp' passed "
        "on a rerun after 1 failed run(s) kept as <flakyFailure> or <flakyError>, so it is "
        "counted as passed"
    ]


def test_surefire_reruns_keep_outcome() -> None:
    cases = collect(SUREFIRE).facts["failing_cases"]
    assert [(case["test"], case["outcome"]) for case in cases] == [
        ("com.example.tenancy.QuotaTest::auditSinkReachable", "error"),
        ("com.example.tenancy.QuotaTest::overLimitReportedInBytes", "failed"),
    ]


def test_surefire_suite_counts_from_cases() -> None:
    # The suite's own attributes are tests="2" skipped="0", because Surefire 3.2.5
    # writes the counts of the last rerun there.
    suites = collect(SUREFIRE).facts["suites"]
    assert suites == {"com.example.tenancy.QuotaTest": {**counts(6, 3, 1, 1, 1),
                                                        "duration_seconds": 0.015}}


def test_surefire_has_no_failures_or_empty_suites() -> None:
    result = collect(SUREFIRE)
    assert result.failures == []
    assert result.facts["empty_suites"] == []


def test_surefire_has_no_timestamp() -> None:
    result = collect(SUREFIRE)
    assert result.absent["timestamp"] == "no outermost <testsuite> has a timestamp attribute"
    assert result.observed_at is None


def test_flaky_error_counts_passed(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase classname="c" name="a">'
                           b"<flakyError><stackTrace>x</stackTrace></flakyError>"
                           b"<flakyError><stackTrace>y</stackTrace></flakyError>"
                           b"</testcase></testsuite>")
    assert result.facts["passed"] == 1
    assert result.warnings == ["report.xml:1: test case 'c::a' passed on a rerun after 2 failed "
                               "run(s) kept as <flakyFailure> or <flakyError>, so it is counted "
                               "as passed"]


def test_surefire_suite_system_out_ignored(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s" tests="1"><properties>'
                           b'<property name="a" value="b"/></properties>'
                           b'<testcase classname="c" name="a"><skipped message="not on CI"/>'
                           b"</testcase><system-out><![CDATA[<failure/> printed]]></system-out>"
                           b"</testsuite>")
    assert result.facts["classes"] == {"c": counts(1, 0, 0, 0, 1)}


# <error> and <failure> outside any test case


def test_suite_level_error_counts_error(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="db" tests="2"><error message="fixture '
                           b'failed"/><testcase classname="c" name="a"/>'
                           b'<testcase classname="c" name="b"/></testsuite>')
    assert result.facts["tests"] == 3
    assert result.facts["errors"] == 1
    assert result.facts["passed"] == 2
    assert result.facts["failing_cases"] == [
        {"test": "db", "outcome": "error", "suite_path": ["db"], "report": "report.xml"},
    ]


def test_suite_level_error_warns(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="db"><error/><failure/>'
                           b'<testcase name="a"/></testsuite>')
    assert result.facts["errors"] == 1
    assert result.warnings == ["report.xml:1: suite 'db' contains <error> and <failure> outside "
                               "any test case, so it is counted as one test case named after "
                               "the suite, with outcome error"]


def test_suite_level_failure_without_cases_fails(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="db" tests="0">\n'
                           b'<failure message="setup failed"/></testsuite></testsuites>')
    assert result.facts["errors"] == 1
    assert result.facts["empty_suites"] == ["db"]
    assert result.failures == [
        "report.xml:1: suite db: no tests ran (<failure> outside any test case)",
        "no test cases in report.xml",
    ]


def test_suite_level_error_nested_suite_path(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="a"><testsuite name="b">'
                           b'<error/><testcase name="t"/></testsuite></testsuite></testsuites>')
    assert result.facts["suites"]["a"]["errors"] == 1
    assert result.facts["failing_cases"][0]["suite_path"] == ["a", "b"]


def test_suite_level_error_outside_select_left_out(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><testsuite name="a"><error/>'
                           b'<testcase name="t"/></testsuite><testsuite name="b">'
                           b'<testcase name="u"/></testsuite></testsuites>', select="b")
    assert result.facts["errors"] == 0
    assert result.warnings == []


def test_error_inside_properties_not_suite_level(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><properties><error/></properties>'
                           b'<testcase name="a"/></testsuite>')
    assert result.facts["errors"] == 0


def test_error_under_testsuites_root_ignored(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuites><error/><testsuite name="s">'
                           b'<testcase name="a"/></testsuite></testsuites>')
    assert result.facts["errors"] == 0


# Control characters that make the XML invalid


def test_escape_character_in_failure_text_located(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">\n'
                   b'  <testcase name="a"><failure>\x1b[31mexpected 2\x1b[0m</failure>'
                   b"</testcase>\n</testsuite>\n")
    assert error.reason == ("invalid XML: not well-formed (invalid token): control character "
                            "U+001B is not allowed in XML 1.0 (ANSI colour codes copied from a "
                            "terminal are a common source)")
    assert error.location == "3:31"


def test_escape_character_in_message_attribute_located(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<testsuite name="s">\n<testcase name="a">\n'
                   b'<failure message="\x1b[1mboom"/></testcase></testsuite>')
    assert error.location == "3:19"
    assert "U+001B" in error.reason


def test_escape_character_column_counts_characters(tmp_path: Path) -> None:
    error = reject(tmp_path, '<testsuite name="s">\n<testcase name="ünï\x1b"/></testsuite>'
                   .encode())
    assert error.location == "2:20"
    assert "U+001B" in error.reason


def test_escape_character_reference_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<testsuite name="s">\n<testcase name="a"><failure>&#27;[31m'
                   b"</failure></testcase></testsuite>")
    assert error.reason == ("invalid XML: reference to invalid character number: character "
                            "reference &#27; names U+001B, a control character that XML 1.0 "
                            "does not allow even as a reference")
    assert error.location == "2:29"


def test_hex_character_reference_rejected(tmp_path: Path) -> None:
    error = reject(tmp_path, b'<testsuite name="s"><testcase name="&#x1B;"/></testsuite>')
    assert "&#x1B; names U+001B" in error.reason


def test_allowed_character_references_parse(tmp_path: Path) -> None:
    result = collect_bytes(tmp_path, b'<testsuite name="s"><testcase name="a&#9;&#10;b">'
                           b"<failure>&#13;</failure></testcase></testsuite>")
    assert result.facts["failing_tests"] == ["a\t\nb"]


def test_escape_character_report_is_collector_error(tmp_path: Path) -> None:
    (tmp_path / "report.xml").write_bytes(b'<testsuite name="s"><testcase name="a">'
                                          b"<failure>\x1b</failure></testcase></testsuite>")
    with pytest.raises(CollectorError) as caught:
        collect("report.xml", workspace=tmp_path)
    assert str(caught.value).startswith("report.xml:1:")

