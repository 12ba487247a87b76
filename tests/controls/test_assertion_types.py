"""Type checks of assertions at load time: results that are not true or false, numbers compared with strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.controls.loader import load_workspace
from assay.errors import WorkspaceErrors
from controls.test_loader import position

CONTROL_FILE = "controls/cap-09-types.yaml"
# latency_p95_ms is a param of the SOC 2 library (a number). custom_limit and
# custom_list are not, so their types are not declared, whatever their values.
CONFIG = """\
name: Type check workspace
framework: soc2
categories: [security]
scope: test
params:
  latency_p95_ms: 3000
  custom_limit: "500"
  custom_list: [A-1]
"""
CONTROL_HEAD = """\
id: CAP-09
title: Assertion types
criteria: [A1.1]
evidence:
  - id: k6
    collector: k6.summary
    with: {path: inputs/k6.json}
  - id: tests
    collector: junit
    with: {path: inputs/junit.xml}
  - id: audit
    collector: audit.jsonl
    with: {path: inputs/audit.jsonl}
  - id: doc
    collector: json
    with: {path: inputs/doc.json, facts: {version: version}}
assert:
"""


def write_workspace(root: Path, *exprs: str, literal_block: bool = False) -> str:
    """Write assay.yaml and one control with an assertion per expression; return the control text.

    Each expression is written as YAML text after `expr: `, or as the one
    line of a literal block scalar (`|-`) when `literal_block` is set.
    """
    (root / "controls").mkdir(parents=True)
    (root / "assay.yaml").write_text(CONFIG, encoding="utf-8")
    if literal_block:
        exprs = tuple(f"|-\n      {expr}" for expr in exprs)
    assertions = "".join(f"  - name: check {i}\n    expr: {expr}\n" for i, expr in enumerate(exprs))
    text = CONTROL_HEAD + assertions
    (root / CONTROL_FILE).write_text(text, encoding="utf-8")
    return text


def load_problems(root: Path) -> list[str]:
    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)
    return caught.value.problems


# Reported

# Each case: the expression as YAML text after `expr: `, and the message
# after "FILE:LINE:COLUMN: assert[0].expr: ". The position is the start of
# the expression.
REPORTED = [
    pytest.param(
        "k6.p95_ms + 1",
        "'k6.p95_ms + 1' returns a number, not true or false, so `assay run` judges it an "
        "error; make it a condition, for example a comparison with a param",
        id="number-result",
    ),
    pytest.param(
        "k6.layout",
        "'k6.layout' returns a string (fact 'layout' of k6.summary), not true or false, so "
        "`assay run` judges it an error; make it a condition, for example a comparison with a "
        "param",
        id="bare-string-fact",
    ),
    pytest.param(
        "k6.p95_ms < \"500\"",
        "'k6.p95_ms < \"500\"' compares a number (fact 'p95_ms' of k6.summary) with a string, "
        "which CEL cannot order, so evaluating it is an error; "
        "write the number without quotes: k6.p95_ms < 500",
        id="number-fact-below-quoted-number",
    ),
    pytest.param(
        "tests.timestamp >= 2026",
        "'tests.timestamp >= 2026' compares a string (fact 'timestamp' of junit) with a "
        "number, which CEL cannot order, so evaluating it is an error; "
        "make both sides numbers or both strings",
        id="string-fact-above-number",
    ),
    pytest.param(
        "tests.failed == '0'",
        "\"tests.failed == '0'\" compares a number (fact 'failed' of junit) with a string, "
        "which CEL never finds equal, so '==' is always false; "
        "write the number without quotes: tests.failed == 0",
        id="equality-with-quoted-number",
    ),
    pytest.param(
        "k6.layout < params.latency_p95_ms",
        "'k6.layout < params.latency_p95_ms' compares a string (fact 'layout' of k6.summary) "
        "with a number (param 'latency_p95_ms'), which CEL cannot order, so evaluating it is "
        "an error; make both sides numbers or both strings",
        id="string-fact-below-library-param",
    ),
    pytest.param(
        "tests.all_passed && (k6.p99_ms <= '5000.5' || false)",
        "\"k6.p99_ms <= '5000.5'\" compares a number (fact 'p99_ms' of k6.summary) with a "
        "string, which CEL cannot order, so evaluating it is an error; "
        "write the number without quotes: k6.p99_ms <= 5000.5",
        id="comparison-inside-logical-operators",
    ),
    pytest.param(
        "tests.failed && tests.all_passed",
        "'tests.failed' is a number (fact 'failed' of junit), not true or false, which '&&' "
        "needs; make it a condition, for example a comparison with a param",
        id="number-operand-of-and",
    ),
    pytest.param(
        "'!tests.failed'",
        "'tests.failed' is a number (fact 'failed' of junit), not true or false, which '!' "
        "needs; make it a condition, for example a comparison with a param",
        id="number-operand-of-not",
    ),
]


@pytest.mark.parametrize("expr, message", REPORTED)
def test_type_mistake_reported(tmp_path: Path, expr: str, message: str) -> None:
    text = write_workspace(tmp_path, expr)

    assert load_problems(tmp_path) == [
        f"{CONTROL_FILE}:{position(text, expr)}: assert[0].expr: {message}"
    ]


def test_inequality_with_quoted_number(tmp_path: Path) -> None:
    write_workspace(tmp_path, "tests.failed != '0'")

    problems = load_problems(tmp_path)

    assert len(problems) == 1
    assert "so '!=' is always true; write the number without quotes: tests.failed != 0" in problems[0]


def test_size_compared_with_string(tmp_path: Path) -> None:
    write_workspace(tmp_path, "size(tests.failing_tests) < '3'")

    problems = load_problems(tmp_path)

    assert len(problems) == 1
    assert problems[0].endswith(
        "\"size(tests.failing_tests) < '3'\" compares a number with a string, which CEL "
        "cannot order, so evaluating it is an error; "
        "write the number without quotes: size(tests.failing_tests) < 3"
    )


def test_line_of_each_assertion(tmp_path: Path) -> None:
    text = write_workspace(tmp_path, "tests.failed == 0", "k6.requests - 1", "k6.p50_ms > 'x'")

    problems = load_problems(tmp_path)

    assert len(problems) == 2
    assert problems[0].startswith(
        f"{CONTROL_FILE}:{position(text, 'k6.requests - 1')}: assert[1].expr: 'k6.requests - 1' "
    )
    assert problems[1].startswith(
        f"{CONTROL_FILE}:{position(text, 'k6.p50_ms >')}: assert[2].expr: \"k6.p50_ms > 'x'\" "
    )


def test_block_scalar_expression_line(tmp_path: Path) -> None:
    text = write_workspace(tmp_path, "|-\n      k6.p95_ms\n      + 1")

    problems = load_problems(tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith(f"{CONTROL_FILE}:{position(text, '|-')}: assert[0].expr: ")
    assert "'k6.p95_ms\\n+ 1' returns a number, not true or false" in problems[0]


def test_lint_command_reports_type_error(runner: CliRunner, tmp_path: Path) -> None:
    text = write_workspace(tmp_path, "k6.p95_ms < \"500\"")

    result = runner.invoke(app, ["lint", str(tmp_path)])

    assert result.exit_code == 2
    assert result.stderr == (
        "error: 1 problem in the workspace:\n"
        f"{CONTROL_FILE}:{position(text, 'k6.p95_ms')}: assert[0].expr: "
        "'k6.p95_ms < \"500\"' compares a number (fact 'p95_ms' of k6.summary) with a string, "
        "which CEL cannot order, so evaluating it is an error; "
        "write the number without quotes: k6.p95_ms < 500\n"
    )


# Not reported: the types are unknown, or the assertion is well typed.


@pytest.mark.parametrize(
    "expr",
    [
        # Null checks and presence tests.
        "k6.p95_ms == null",
        "k6.p95_ms != null && k6.p95_ms < 500",
        "has(k6.p95_ms)",
        "!has(k6.p99_ms) || k6.p99_ms < params.latency_p95_ms",
        # Strings compared with strings, numbers with numbers.
        "k6.layout == \"summary-export\"",
        "k6.layout < \"z\"",
        "tests.timestamp >= '2026-01-01'",
        "k6.requests < 1.5",
        "k6.requests_per_second >= 100",
        "k6.p95_ms < params.latency_p95_ms",
        "k6.p95_ms * 2 <= k6.max_ms + 1.5",
        # size() and other functions.
        "size(tests.failing_tests) == 0",
        "size(k6.layout) > 0",
        "tests.failing_tests.size() < 3",
        "int(k6.layout) < 5",
        "k6.layout.startsWith('summary')",
        # Params whose type the library does not declare.
        "k6.p95_ms < params.custom_limit",
        "params.custom_limit < 5",
        # Facts of unknown type: dynamic facts, timestamps, paths below a map, index access.
        "doc.version < 5",
        "doc.version",
        "audit.first_event_at < 5",
        "k6.thresholds.p95 < '5'",
        "k6[\"p95_ms\"] < '5'",
        # Macro variables, even one that shadows an evidence id.
        "tests.failing_tests.all(name, name < 5)",
        "tests.failing_tests.exists(k6, k6.p95_ms < '5')",
        "tests.failing_tests.map(t, t + 1).all(n, n > 0)",
        # Results whose type is unclear.
        "tests.all_passed ? k6.p95_ms : 'x'",
        "k6.thresholds.p95",
        "timestamp(audit.last_event_at) < timestamp('2026-01-01T00:00:00Z')",
        "k6.p95_ms < -'5'",
        "k6.p95_ms < b'5'",
        # Boolean facts and operators.
        "tests.all_passed",
        "k6.all_thresholds_passed && !(k6.failed_requests > 0)",
        "'A-1' in params.custom_list",
    ],
)
def test_not_reported(tmp_path: Path, expr: str) -> None:
    write_workspace(tmp_path, expr, literal_block=True)

    workspace = load_workspace(tmp_path)

    assert [loaded.control.id for loaded in workspace.controls] == ["CAP-09"]
