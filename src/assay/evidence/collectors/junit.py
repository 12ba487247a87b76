"""Collector for JUnit XML test reports, tested with those of pytest 9.2.0 and gotestsum 1.8.2.

Every count comes from the <testcase> elements, never from the `tests`,
`failures`, `errors` or `skipped` attributes of a suite, because those can
disagree with the cases (a case holding both <skipped> and <failure> may be
counted twice). A case is an error when it contains <error>, skipped when it
contains <skipped> (with or without <failure>; pytest writes xfail as
`<skipped type="pytest.xfail">`), failed when it contains <failure>, and
passed otherwise.

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
class _Tally:
    """Case counts by outcome."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        self.tests += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def merge(self, other: _Tally) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class _Suite:
    """A <testsuite>. Its tally counts the selected cases at any depth below it."""

    path: tuple[str, ...]
    depth: int
    seconds: Decimal | None
    tally: _Tally = field(default_factory=_Tally)
    cases: int = 0  # every case at any depth, selected or not


@dataclass
class _Case:
    """An open <testcase> and the outcome elements found directly inside it."""

    label: str  # "classname::name", or the name alone when there is no classname
    classname: str
    file: str | None
    line: int
    depth: int
    seconds: Decimal | None
    children: set[str] = field(default_factory=set)


class _Results:
    """Totals merged over every report file read."""

    def __init__(self, select: str | None) -> None:
        self.select = select
        self.tally = _Tally()
        self.suites: dict[str, _Suite] = {}
        self.classes: dict[str, _Tally] = {}
        self.files: dict[str, _Tally] = {}
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

    def selects_case(self, case: _Case, path: tuple[str, ...]) -> bool:
        pattern = self.select
        if pattern is None or self.selects_suite(path) or fnmatchcase(case.classname, pattern):
            return True
        return case.file is not None and fnmatchcase(case.file, pattern)

    def count_case(self, case: _Case, outcome: str, path: tuple[str, ...], report: str) -> None:
        self.tally.add(outcome)
        if case.classname:
            self.classes.setdefault(case.classname, _Tally()).add(outcome)
        if case.file:
            self.files.setdefault(case.file, _Tally()).add(outcome)
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
        self.case: _Case | None = None
        self.skip_depth: int | None = None  # depth of an open element whose subtree is ignored
        self.cases = 0

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
            if depth == self.case.depth + 1 and name in ("error", "failure", "skipped"):
                self.case.children.add(name)
            return
        if self.skip_depth is not None:
            return
        if depth == 0 and name not in ("testsuites", "testsuite"):
            raise self.error(f"root element is <{name}>, expected <testsuites> or <testsuite> "
                             "(a JUnit XML report)")
        if name not in ("testsuites", "testsuite", "testcase"):
            self.skip_depth = depth  # <properties>, <system-out> and the like hold no results
        elif name == "testsuite":
            self.open_suite(attrs, depth)
        elif name == "testcase":
            classname, case_name = attrs.get("classname", ""), attrs.get("name", "")
            label = f"{classname}::{case_name}" if classname else case_name
            self.case = _Case(label, classname, attrs.get("file"), self.line(), depth,
                              self.seconds(attrs, "testcase"))

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
        timestamp = attrs.get("timestamp", "").strip()
        if timestamp:
            self.results.stamps.append((timestamp, f"{self.display}:{self.line()}"))
            if not self.suites and self.results.timestamp is None:
                self.results.timestamp = timestamp
        path = (*outer, attrs.get("name", ""))
        self.suites.append(_Suite(path, depth, self.seconds(attrs, "testsuite")))

    def close_case(self, case: _Case) -> None:
        self.cases += 1
        path: tuple[str, ...] = ()
        if self.suites:
            self.suites[-1].cases += 1
            path = self.suites[-1].path
        if not self.results.selects_case(case, path):
            return
        outcome = self.outcome(case)
        self.results.count_case(case, outcome, path, self.display)
        if self.suites:
            self.suites[-1].tally.add(outcome)

    def outcome(self, case: _Case) -> str:
        found = case.children
        where = f"{self.display}:{case.line}: test case {case.label!r}"
        if "error" in found:
            if "skipped" in found:
                self.results.warnings.append(f"{where} contains both <skipped> and <error>, "
                                             "so it is counted as an error")
            return "errors"
        if "skipped" in found:
            if "failure" in found:
                self.results.warnings.append(f"{where} contains both <skipped> and <failure>, "
                                             "so it is counted as skipped, not as failed "
                                             "or passed")
            return "skipped"
        return "failed" if "failure" in found else "passed"


def _parse_report(data: bytes, handler: _ReportHandler, display: str) -> None:
    if not data or data.isspace():
        raise CollectorError("file is empty, expected a JUnit XML report", path=display)
    try:
        defusedxml.sax.parseString(data, handler, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except SAXParseException as exc:
        location = f"{exc.getLineNumber()}:{exc.getColumnNumber() + 1}"
        raise CollectorError(f"invalid XML: {exc.getMessage()}", path=display,
                             location=location) from exc
    except DefusedXmlException as exc:
        raise handler.error("XML document type declarations (DTD), entities and external "
                            "references are rejected because they can expand or fetch "
                            "content, and JUnit reports need none of them") from exc
    except SAXException as exc:
        raise CollectorError(f"invalid XML: {exc.getMessage()}", path=display) from exc


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
        _count_fact("tests", "Selected test cases (only those matching `select`, if given)."),
        _count_fact("passed", "Selected cases with no <error>, <failure> or <skipped>."),
        _count_fact("failed", "Selected cases with <failure> and neither <error> nor <skipped>."),
        _count_fact("errors", "Selected cases with <error> (pytest: a setup or teardown error)."),
        _count_fact("skipped", "Selected cases with <skipped> and no <error>, xfail included."),
        Fact(name="failing_tests", type="list", description='Sorted "classname::name" (the '
             "name alone when a case has no classname) of every failed or errored case."),
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
        Fact(name="empty_suites", type="list", description="Sorted paths of the suites with "
             "no test case at any depth, which is how a package that failed to build shows."),
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
