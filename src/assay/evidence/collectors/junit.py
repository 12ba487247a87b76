"""Collector for JUnit XML test reports, tested with those of pytest 9.2.0, gotestsum 1.8.2,
jest-junit 17.0.0 and Maven Surefire 3.2.5, and with go-junit-report v2 samples.

Every count comes from the <testcase> elements, not from the `tests`,
`failures`, `errors` or `skipped` attributes of a suite, because those can
disagree with the cases (a case holding both <skipped> and <failure> may be
counted twice, and Surefire 3.2.5 writes the counts of the last rerun only).
The attributes are read for two checks only: a gap in a suite's counters marks
jest-junit todo tests, and a <testsuites> root that counts more errors than its
cases contain fails the control. junit_outcomes contains the outcome rules of a
case and the shapes that some producers give it: Go packages that ran no test,
jest-junit todo tests and Surefire flaky tests. An <error> or <failure> directly
inside a <testsuite> counts as one test case named after the suite, with outcome
error.

Suites nested inside suites are walked up to MAX_SUITE_DEPTH levels, and a case's suite path
lists the suite names from the outermost to its own. A glob in `path` merges
several reports. Parsing goes through defusedxml's SAX parser with DTDs,
entities and external references rejected, so that a hostile file cannot
expand or fetch content. A parse error names its line and column, counted from 1.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from xml.sax import SAXException, SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

import defusedxml.sax
from defusedxml import DefusedXmlException
from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    CollectorParams,
    Fact,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.junit_outcomes import (
    CaseRecord,
    SuiteCounters,
    Tally,
    case_label,
    case_outcome,
    describe_invalid_character,
    is_todo_candidate,
    no_run_failures,
    no_run_reason,
    pick_todo_cases,
    suite_level_warning,
    uncounted_errors_failure,
)
from assay.timeutil import parse_instant

# Real reports nest a few levels (a package, a class, a parametrised group).
# Deeper nesting is rejected because each case's suite path is kept in full.
# NOTE: 100 is a chosen bound, not a limit taken from any JUnit tool.
MAX_SUITE_DEPTH = 100

# A `time` attribute: non-negative seconds, optionally with an exponent. The
# exponent has at most two digits, so no sum of times overflows a float.
TIME_VALUE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")

SUITE_SEPARATOR = " / "


class JUnitParams(CollectorParams):
    """Parameters of the junit collector."""

    path: str = Field(description="JUnit XML file or glob, relative to the workspace. "
                      "Every matched file is read and the results are merged.")
    select: str | None = Field(default=None, description="fnmatch glob (case-sensitive). "
                               "Only cases whose classname, `file` attribute or the name of "
                               "one of their suites matches it are counted.")


@dataclass
class _Suite:
    """A <testsuite>. Its tally counts the selected cases at any depth below it."""

    path: tuple[str, ...]
    depth: int
    seconds: Decimal | None
    line: int = 0
    counters: SuiteCounters | None = None
    tally: Tally = field(default_factory=Tally)
    cases: int = 0  # every case at any depth, selected or not, placeholders left out
    own_cases: int = 0  # cases directly inside, counted like `cases`
    own_bare_cases: int = 0  # of those, the cases without an outcome element
    has_child_suites: bool = False
    # Cases that may be jest-junit todo tests, counted when the suite closes.
    todo_candidates: list[tuple[CaseRecord, bool]] = field(default_factory=list)
    # (kind, reason) of each placeholder case that stands for tests that never ran
    no_run_reasons: list[tuple[str, str]] = field(default_factory=list)
    suite_level: list[str] = field(default_factory=list)  # <error>/<failure> outside cases


class _Results:
    """Totals merged over every report file read."""

    def __init__(self, select: str | None) -> None:
        self.select = select
        self.tally = Tally()
        self.suites: dict[str, _Suite] = {}
        self.classes: dict[str, Tally] = {}
        self.files: dict[str, Tally] = {}
        self.empty_suites: set[str] = set()
        self.failing: list[dict[str, Any]] = []
        self.case_seconds = Decimal(0)
        self.timed_cases = 0
        self.timestamp: str | None = None  # of the first outermost suite that has one
        self.stamps: list[tuple[str, str]] = []  # every suite timestamp and its file:line
        self.warnings: list[str] = []
        self.failures: list[str] = []

    def selects_suite(self, path: tuple[str, ...]) -> bool:
        pattern = self.select
        return pattern is None or any(fnmatchcase(name, pattern) for name in path)

    def selects_case(self, case: CaseRecord, path: tuple[str, ...]) -> bool:
        pattern = self.select
        if pattern is None or self.selects_suite(path) or fnmatchcase(case.classname, pattern):
            return True
        return case.file is not None and fnmatchcase(case.file, pattern)

    def count_case(self, case: CaseRecord, outcome: str, path: tuple[str, ...],
                   report: str) -> None:
        self.tally.add(outcome)
        if case.classname:
            self.classes.setdefault(case.classname, Tally()).add(outcome)
        if case.file:
            self.files.setdefault(case.file, Tally()).add(outcome)
        if outcome in ("failed", "errors"):
            kind = "error" if outcome == "errors" else "failed"
            self.failing.append({"test": case.label, "outcome": kind, "suite_path": list(path),
                                 "report": report})
        if case.seconds is not None:
            self.case_seconds += case.seconds
            self.timed_cases += 1

    def add_suite(self, suite: _Suite) -> None:
        """Record a closed suite. The same path in several places or files is summed."""
        key = SUITE_SEPARATOR.join(suite.path)
        if suite.cases == 0 and self.selects_suite(suite.path):
            self.empty_suites.add(key)
        elif suite.tally.tests == 0:
            return
        total = self.suites.setdefault(key, _Suite(suite.path, 0, None))
        total.tally.merge(suite.tally)
        if suite.seconds is not None:
            total.seconds = suite.seconds + (total.seconds or 0)

    def observed_at(self) -> datetime | None:
        """Return the latest suite timestamp in UTC.

        Return None, with a warning, when any suite timestamp is not RFC 3339 or
        has no UTC offset, because converting such a time to UTC would be a guess.
        """
        instants: list[datetime] = []
        for text, place in self.stamps:
            try:
                instant = parse_instant(text, require_offset=False)
            except ValueError:
                self.warnings.append(f"{place}: suite timestamp {text!r} is not an RFC 3339 "
                                     "timestamp, so observed_at is not set")
                return None
            if instant.tzinfo is None:
                self.warnings.append(f"{place}: suite timestamp {text!r} has no UTC offset, so "
                                     "observed_at is not set (reading it as UTC would be a guess)")
                return None
            instants.append(instant)
        return max(instants, default=None)


class _ReportHandler(ContentHandler):
    """SAX handler that walks one report and adds its cases to `results`."""

    def __init__(self, results: _Results, display: str) -> None:
        super().__init__()
        self.results = results
        self.display = display
        self.locator: Locator | None = None
        self.depth = 0  # number of open elements
        self.suites: list[_Suite] = []
        self.case: CaseRecord | None = None
        self.skip_depth: int | None = None  # depth of an open element whose subtree is ignored
        self.cases = 0  # every case, selected or not, placeholders left out
        self.error_cases = 0  # cases with outcome error, selected or not
        self.root_errors: int | None = None  # the `errors` attribute of a <testsuites> root

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 (SAX API name)
        self.locator = locator

    def line(self) -> int:
        return self.locator.getLineNumber() if self.locator else 0

    def error(self, message: str) -> CollectorError:
        column = self.locator.getColumnNumber() + 1 if self.locator else 0
        return CollectorError(message, path=self.display, location=f"{self.line()}:{column}")

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        depth = self.depth
        self.depth += 1
        if self.case is not None:
            if depth == self.case.depth + 1:
                self.case.add_child(name, attrs)
            return
        if self.skip_depth is not None:
            return
        if depth == 0 and name not in ("testsuites", "testsuite"):
            raise self.error(f"root element is <{name}>, expected <testsuites> or <testsuite> "
                             "(a JUnit XML report)")
        if depth == 0 and name == "testsuites":
            errors = attrs.get("errors", "").strip()
            self.root_errors = int(errors) if errors.isascii() and errors.isdigit() else None
        if name in ("error", "failure") and self.suites and depth == self.suites[-1].depth + 1:
            self.suites[-1].suite_level.append(name)
            self.skip_depth = depth
        elif name not in ("testsuites", "testsuite", "testcase"):
            self.skip_depth = depth  # <properties>, <system-out> and the like hold no results
        elif name == "testsuite":
            self.open_suite(attrs, depth)
        elif name == "testcase":
            classname, case_name = attrs.get("classname", ""), attrs.get("name", "")
            self.case = CaseRecord(case_label(classname, case_name), case_name, classname,
                                   attrs.get("file"), self.line(), depth,
                                   self.seconds(attrs, "testcase"), attrs.get("time", "").strip())

    def endElement(self, name: str) -> None:  # noqa: N802
        self.depth -= 1
        depth = self.depth
        if self.case is not None:
            if depth == self.case.depth:
                self.close_case(self.case)
                self.case = None
        elif self.skip_depth is not None:
            if depth == self.skip_depth:
                self.skip_depth = None
        elif self.suites and depth == self.suites[-1].depth:
            suite = self.suites.pop()
            self.close_suite(suite)
            if self.suites:
                self.suites[-1].tally.merge(suite.tally)
                self.suites[-1].cases += suite.cases
            self.results.add_suite(suite)

    def seconds(self, attrs: AttributesImpl, element: str) -> Decimal | None:
        """Parse a `time` attribute in seconds. Missing or empty means unknown, not 0."""
        text = attrs.get("time", "").strip()
        if not text:
            return None
        if TIME_VALUE.fullmatch(text) is None:
            raise self.error(f"<{element}> has time={text!r}, expected a non-negative "
                             "number of seconds such as 0.25")
        return Decimal(text)

    def open_suite(self, attrs: AttributesImpl, depth: int) -> None:
        if len(self.suites) >= MAX_SUITE_DEPTH:
            raise self.error(f"<testsuite> elements nested more than {MAX_SUITE_DEPTH} deep")
        outer = self.suites[-1].path if self.suites else ()
        if self.suites:
            self.suites[-1].has_child_suites = True
        timestamp = attrs.get("timestamp", "").strip()
        if timestamp:
            self.results.stamps.append((timestamp, f"{self.display}:{self.line()}"))
            if not self.suites and self.results.timestamp is None:
                self.results.timestamp = timestamp
        path = (*outer, attrs.get("name", ""))
        self.suites.append(_Suite(path, depth, self.seconds(attrs, "testsuite"), self.line(),
                                  SuiteCounters.parse(attrs)))

    def close_case(self, case: CaseRecord) -> None:
        suite = self.suites[-1] if self.suites else None
        path = suite.path if suite else ()
        if "error" in case.children:
            self.error_cases += 1
        reason = no_run_reason(case)
        if reason is not None and suite is not None:
            suite.no_run_reasons.append(reason)
        else:
            self.cases += 1
            if suite is not None:
                suite.cases += 1
                suite.own_cases += 1
                if not case.children:
                    suite.own_bare_cases += 1
        selected = self.results.selects_case(case, path)
        if suite is not None and reason is None and is_todo_candidate(case):
            suite.todo_candidates.append((case, selected))
            return
        if selected:
            where = f"{self.display}:{case.line}: test case {case.label!r}"
            self.count(case, case_outcome(case, where, self.results.warnings), suite)

    def count(self, case: CaseRecord, outcome: str, suite: _Suite | None) -> None:
        self.results.count_case(case, outcome, suite.path if suite else (), self.display)
        if suite is not None:
            suite.tally.add(outcome)

    def close_suite(self, suite: _Suite) -> None:
        """Count the cases a suite's end decides: jest-junit todo tests and suite-level errors."""
        todo = self.todo_cases(suite)
        for case, selected in suite.todo_candidates:
            if selected:
                self.count(case, "skipped" if case in todo else "passed", suite)

        self.error_cases += bool(suite.suite_level)
        if not self.results.selects_suite(suite.path):
            return
        place = f"{self.display}:{suite.line}"
        if suite.suite_level:
            self.results.warnings.append(suite_level_warning(place, suite.path[-1],
                                                             suite.suite_level))
            synthetic = CaseRecord(suite.path[-1], suite.path[-1], "", None, suite.line,
                                   suite.depth, None, "")
            self.count(synthetic, "errors", suite)
        if suite.cases == 0:
            self.results.failures.extend(no_run_failures(place, suite.path[-1],
                                                         suite.no_run_reasons,
                                                         suite.suite_level))

    def todo_cases(self, suite: _Suite) -> list[CaseRecord]:
        candidates = [case for case, _ in suite.todo_candidates]
        if not any(selected for _, selected in suite.todo_candidates):
            return []  # covers a suite without candidates too
        if suite.has_child_suites or suite.counters is None:
            return []
        place = f"{self.display}:{suite.line}: suite {suite.path[-1]!r}"
        return pick_todo_cases(place, suite.counters, suite.own_cases, suite.own_bare_cases,
                               candidates, self.results.warnings)

    def check_root_errors(self) -> None:
        """Fail when the <testsuites> root counts errors that no test case contains."""
        if self.root_errors is not None and self.root_errors > self.error_cases:
            self.results.failures.append(
                uncounted_errors_failure(self.display, self.root_errors, self.error_cases))


def _parse_report(data: bytes, handler: _ReportHandler, display: str) -> None:
    if not data or data.isspace():
        raise CollectorError("file is empty, expected a JUnit XML report", path=display)
    try:
        defusedxml.sax.parseString(data, handler, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except SAXParseException as exc:
        line, column = exc.getLineNumber() or 0, exc.getColumnNumber() or 0
        message = f"invalid XML: {exc.getMessage()}"
        character = describe_invalid_character(data, line, column)
        if character is not None:
            message += f": {character}"
        raise CollectorError(message, path=display, location=f"{line}:{column + 1}") from exc
    except DefusedXmlException as exc:
        raise handler.error("XML document type declarations (DTD), entities and external "
                            "references are rejected because they can expand or fetch "
                            "content, and JUnit reports need none of them") from exc
    except SAXException as exc:
        raise CollectorError(f"invalid XML: {exc.getMessage()}", path=display) from exc
    except LookupError as exc:
        # expat raises LookupError for an encoding in the XML declaration
        # that Python does not know (encoding="utf-9").
        raise CollectorError(
            f"invalid XML: {exc}; declare encoding=\"UTF-8\" and save the file as UTF-8",
            path=display, location="1:1",
        ) from exc


def _count_fact(name: str, description: str) -> Fact:
    return Fact(name=name, type="int", unit="tests", description=description)


def _map_fact(name: str, key: str) -> Fact:
    return Fact(name=name, type="map", description=f"Map from {key} to the counts of its "
                "selected cases: {tests, passed, failed, errors, skipped}.")


class JUnit(Collector):
    name = "junit"
    version = "1"
    summary = "Read JUnit XML test reports and count their test cases by outcome."
    Params = JUnitParams
    facts = (
        _count_fact("tests", "Selected test cases (only those matching `select`, if given), "
                    "plus one per suite with <error> or <failure> outside any test case."),
        _count_fact("passed", "Selected cases with no <error>, <failure> or <skipped>, "
                    "Surefire's flaky cases (passed on a rerun) included."),
        _count_fact("failed", "Selected cases with <failure> and neither <error> nor <skipped>."),
        _count_fact("errors", "Selected cases with <error> (pytest: a setup or teardown error), "
                    "and one per suite with <error> or <failure> outside any test case."),
        _count_fact("skipped", "Selected cases with <skipped> and no <error>, xfail and "
                    "jest-junit test.todo included."),
        Fact(name="failing_tests", type="list", description='Sorted "classname::name" (the '
             "name alone when a case has no classname or the same one) of every failed or "
             "errored case."),
        Fact(name="failing_cases", type="list", description="The failed and errored cases, "
             'sorted like failing_tests, as {test, outcome ("failed" or "error"), suite_path '
             "(suite names, outermost first), report (the input file)}."),
        Fact(name="all_passed", type="bool",
             description="True when tests > 0 and failed and errors are both 0."),
        Fact(name="suites", type="map", description="Map from suite path (suite names from "
             'outermost to innermost, joined by " / ") to {tests, passed, failed, errors, '
             "skipped} of the selected cases at any depth below it, and duration_seconds: "
             "the suite's own time attribute in seconds, or null when it has none."),
        _map_fact("classes", "classname"),
        _map_fact("files", "the `file` attribute (cases without one are left out)"),
        Fact(name="empty_suites", type="list", description="Sorted paths of the suites in "
             "which no test ran: no test case at any depth, or only the placeholder cases that "
             "go-junit-report and gotestsum write for a Go package that failed to build and "
             "jest-junit for a test file that failed to run."),
        Fact(name="duration_seconds", type="number", unit="s", description="Sum of the time "
             "attributes of the selected cases that have one. Absent when none has."),
        Fact(name="timestamp", type="str", description="The timestamp attribute of the first "
             "outermost <testsuite> that has one, as written. Absent when none has."),
    )

    def collect(self, params: JUnitParams, context: CollectContext) -> Collected:
        """Read every matched report, merge their cases and return the facts."""
        files = resolve_input(context.workspace, params.path)
        results = _Results(params.select)
        all_cases = 0
        for file in files:
            display = relative_name(context.workspace, file)
            handler = _ReportHandler(results, display)
            _parse_report(read_input_bytes(file, display), handler, display)
            handler.check_root_errors()
            all_cases += handler.cases
            if handler.cases == 0:
                results.failures.append(f"no test cases in {display}")
        if params.select is not None and all_cases > 0 and results.tally.tests == 0:
            results.failures.append(f"select {params.select!r} matched no test case")
        return _collected(results, files)


def _collected(results: _Results, files: list[Path]) -> Collected:
    tally = results.tally
    facts: dict[str, Any] = asdict(tally)
    failing = sorted(results.failing, key=lambda case: (case["test"], case["report"]))
    facts["failing_tests"] = [case["test"] for case in failing]
    facts["failing_cases"] = failing
    facts["all_passed"] = tally.tests > 0 and tally.failed == 0 and tally.errors == 0
    facts["suites"] = {
        key: {**asdict(suite.tally),
              "duration_seconds": None if suite.seconds is None else float(suite.seconds)}
        for key, suite in sorted(results.suites.items())
    }
    facts["classes"] = {key: asdict(value) for key, value in sorted(results.classes.items())}
    facts["files"] = {key: asdict(value) for key, value in sorted(results.files.items())}
    facts["empty_suites"] = sorted(results.empty_suites)
    if results.empty_suites:
        names = ", ".join(repr(name) for name in facts["empty_suites"])
        results.warnings.append(f"suites without any test case: {names}")

    absent: dict[str, str] = {}
    if results.timed_cases:
        facts["duration_seconds"] = float(results.case_seconds)
    else:
        absent["duration_seconds"] = "no selected test case has a time attribute"
    if results.timestamp is not None:
        facts["timestamp"] = results.timestamp
    else:
        absent["timestamp"] = "no outermost <testsuite> has a timestamp attribute"
    return Collected(facts=facts, artifacts=files, observed_at=results.observed_at(),
                     absent=absent, warnings=results.warnings, failures=results.failures)
