"""Outcome rules of the junit collector, including the shapes some producers give them.

A case is an error when it contains <error>, skipped when it contains
<skipped> (with or without <failure>), failed when it contains <failure>, and
passed otherwise. pytest writes xfail as `<skipped type="pytest.xfail">`, so
it counts as skipped. Some producers need more than that:

- Placeholders for tests that never ran. go-junit-report v2 writes a Go
  package that failed to build as a case named "[build failed]" (or "[setup
  failed]"), and one whose TestMain or init failed as a case named "Failure"
  with <error message="Runtime error">. gotestsum 1.8.2 writes a package that
  failed without running a test as a case named "TestMain" with an empty
  classname. jest-junit 17.0.0, with reportTestSuiteErrors on, writes a test
  file that failed to run as cases of classname "Test suite failed to run".
  Placeholders are counted by their outcome elements, but a suite that
  contains only them ran no test.
- jest-junit 17.0.0 writes a `test.todo` as a case with time="0" and no
  outcome element, exactly like a pass, and leaves it out of the suite's
  `tests` attribute. That gap in the counters is the only trace of it.
- Maven Surefire 3.2.5 keeps the failed runs of a test that passed on a rerun
  as <flakyFailure> or <flakyError> (report schema 3.0). Such a case passed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from xml.sax.xmlreader import AttributesImpl

OUTCOME_ELEMENTS = frozenset({"error", "failure", "skipped"})
FLAKY_ELEMENTS = frozenset({"flakyFailure", "flakyError"})

# The time jest-junit writes for a case that has no duration, a todo among them.
JEST_UNKNOWN_TIME = "0"

CHARACTER_REFERENCE = re.compile(r"&#(x[0-9A-Fa-f]+|[0-9]+);")


@dataclass
class Tally:
    """Case counts by outcome."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        self.tests += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def merge(self, other: Tally) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(eq=False)  # two cases with the same attributes are still two cases
class CaseRecord:
    """A <testcase> and the elements found directly inside it."""

    label: str  # "classname::name", or the name alone (see case_label)
    name: str
    classname: str
    file: str | None
    line: int
    depth: int
    seconds: Decimal | None
    time_text: str  # the time attribute as written, stripped
    children: set[str] = field(default_factory=set)  # outcome elements: error, failure, skipped
    flaky_runs: int = 0
    messages: dict[str, str] = field(default_factory=dict)  # message attribute of each outcome

    def add_child(self, name: str, attrs: AttributesImpl) -> None:
        if name in OUTCOME_ELEMENTS:
            self.children.add(name)
            self.messages.setdefault(name, attrs.get("message", ""))
        elif name in FLAKY_ELEMENTS:
            self.flaky_runs += 1


def case_label(classname: str, name: str) -> str:
    """Return "classname::name", or the name alone when the classname is empty or the same.

    jest-junit's default templates write the same text into both attributes.
    """
    return name if not classname or classname == name else f"{classname}::{name}"


def case_outcome(case: CaseRecord, where: str, warnings: list[str]) -> str:
    """Return the tally field of a case's outcome, with a warning for mixed outcomes or reruns."""
    found = case.children
    if "error" in found:
        if "skipped" in found:
            warnings.append(f"{where} contains both <skipped> and <error>, so it is counted "
                            "as an error")
        return "errors"
    if "skipped" in found:
        if "failure" in found:
            warnings.append(f"{where} contains both <skipped> and <failure>, so it is counted "
                            "as skipped, not as failed or passed")
        return "skipped"
    if "failure" in found:
        return "failed"
    if case.flaky_runs:
        warnings.append(f"{where} passed on a rerun after {case.flaky_runs} failed run(s) kept "
                        "as <flakyFailure> or <flakyError>, so it is counted as passed")
    return "passed"


def no_run_reason(case: CaseRecord) -> tuple[str, str] | None:
    """Return (what the suite is, why no test ran) when `case` is a placeholder, else None."""
    if case.name in ("[build failed]", "[setup failed]"):
        return "package", case.name.strip("[]")
    if case.name == "Failure" and case.messages.get("error") == "Runtime error":
        return "package", "TestMain or package init failed"
    if case.name == "TestMain" and not case.classname and case.children & {"error", "failure"}:
        return "package", "build, package init or TestMain failed"
    if case.classname == "Test suite failed to run":
        return "test file", "jest could not run it"
    return None


def no_run_failures(place: str, suite: str, placeholder_reasons: list[tuple[str, str]],
                    suite_level: list[str]) -> list[str]:
    """Return the failures of a suite without real test cases, one per distinct reason.

    A suite with no case at all gives none, because a Go package without test
    files is written that way.
    """
    reasons = placeholder_reasons or [("suite", f"<{name}> outside any test case")
                                      for name in suite_level]
    return [f"{place}: {kind} {suite}: no tests ran ({reason})"
            for kind, reason in dict.fromkeys(reasons)]


def suite_level_warning(place: str, suite: str, elements: list[str]) -> str:
    """Return the warning for <error> or <failure> elements directly inside a <testsuite>."""
    names = " and ".join(f"<{name}>" for name in sorted(set(elements)))
    return (f"{place}: suite {suite!r} contains {names} outside any test case, so it is "
            "counted as one test case named after the suite, with outcome error")


def is_todo_candidate(case: CaseRecord) -> bool:
    """Return whether a case could be a jest-junit todo: no outcome, no reruns, time="0"."""
    return not case.children and not case.flaky_runs and case.time_text == JEST_UNKNOWN_TIME


@dataclass(frozen=True)
class SuiteCounters:
    """The counting attributes of a <testsuite>. A missing one is read as 0."""

    tests: int
    failures: int
    errors: int
    skipped: int

    @classmethod
    def parse(cls, attrs: AttributesImpl) -> SuiteCounters | None:
        """Parse the counters, or return None when `tests` or any other one is not an integer."""
        values: dict[str, int] = {}
        for name in ("tests", "failures", "errors", "skipped"):
            text = attrs.get(name, "").strip()
            if not text and name != "tests":
                values[name] = 0
            elif text.isascii() and text.isdigit():
                values[name] = int(text)
            else:
                return None
        return cls(**values)

    @property
    def passes(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def uncounted_todo(counters: SuiteCounters, cases: int, bare_cases: int) -> int:
    """Return how many cases without an outcome a suite's counters leave out of its passes.

    `cases` counts the suite's own cases and `bare_cases` those of them with no
    outcome element. Only cases beyond `tests` can be uncounted, so a suite whose
    counters count a case twice (a case with both <skipped> and <failure>) gives 0.
    """
    return max(0, min(cases - counters.tests, bare_cases - counters.passes))


def pick_todo_cases(place: str, counters: SuiteCounters, cases: int, bare_cases: int,
                    candidates: list[CaseRecord], warnings: list[str]) -> list[CaseRecord]:
    """Pick the `candidates` that jest-junit wrote for test.todo, with a warning naming them.

    `place` names the suite in the warning ("file:line: suite 'name'").
    """
    uncounted = uncounted_todo(counters, cases, bare_cases)
    if uncounted == 0:
        return []
    # NOTE: jest-junit writes time="0" for a todo and for a pass that took under 1 ms,
    # and no other attribute distinguishes them. With more candidates than todo tests, the
    # last ones are taken, because todo tests usually close a describe block.
    todo = candidates[-uncounted:]
    names = ", ".join(repr(case.label) for case in todo)
    message = (f"{place} counts tests={counters.tests} but contains {cases} test cases, and "
               f"{uncounted} case(s) without an outcome element are not among its passes. "
               'jest-junit writes test.todo this way, so these cases with time="0" are '
               f"counted as skipped, not passed: {names}.")
    if len(candidates) > len(todo):
        message += (f' The report does not say which of the {len(candidates)} cases with '
                    f'time="0" are todo, so the last {len(todo)} were taken.')
    warnings.append(message)
    return todo


def uncounted_errors_failure(report: str, root_errors: int, error_cases: int) -> str:
    """Return the failure for a <testsuites> root that counts more errors than its cases contain."""
    return (f'{report}: <testsuites> has errors="{root_errors}" but only {error_cases} test '
            "case(s) contain <error>. gotestsum 1.8.2 counts a package that failed to build "
            "there and writes no <testsuite> for it, so its build error is only in the "
            "console output.")


def describe_invalid_character(data: bytes, line: int, column: int) -> str | None:
    """Describe the character that XML 1.0 forbids at 1-based `line`, 0-based `column`.

    expat counts columns in characters, so the line is decoded before indexing.
    Return None when the character there is not a control character or a
    reference to one, and for a line with NUL bytes, which is likely UTF-16.
    """
    lines = data.split(b"\n")
    if not 1 <= line <= len(lines) or b"\x00" in lines[line - 1]:
        return None
    text = lines[line - 1].decode("utf-8", errors="replace")
    if column >= len(text):
        return None
    char = text[column]
    if _is_forbidden(ord(char)):
        return (f"control character U+{ord(char):04X} is not allowed in XML 1.0 "
                "(ANSI colour codes copied from a terminal are a common source)")
    reference = CHARACTER_REFERENCE.match(text, column)
    if reference is None:
        return None
    digits = reference.group(1)
    code = int(digits[1:], 16) if digits.startswith("x") else int(digits)
    if not _is_forbidden(code):
        return None
    return (f"character reference {reference.group(0)} names U+{code:04X}, a control "
            "character that XML 1.0 does not allow even as a reference")


def _is_forbidden(code: int) -> bool:
    return code < 0x20 and code not in (0x09, 0x0A, 0x0D)
