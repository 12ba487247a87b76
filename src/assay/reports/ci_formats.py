"""Output formats of `assay check` for people and CI systems.

* human: a rich table, then the detail of every control that is not met or
  that blocks: the assertion that failed, the facts it read and their values.
* json: the whole report (`"format": "assay.check"`).
* junit: one <testsuite> holding a <testcase> per control. The JUnit outcome
  follows the gate, so failures plus errors are nonzero exactly when the
  check exits 1: a blocking control in status `error` is an <error>, any
  other blocking control (fail, missing, manual, removed, changed definition)
  is a <failure>, and a control that is not met but does not block (known in
  the baseline, or `gate: warn`) or is not applicable is <skipped> with the
  reason. Passing controls are plain test cases.
* sarif: SARIF 2.1.0 with a rule per control (rule id = control id) and a
  result per control that is not met or blocks, located in the control's
  file: at the failing assertion's `expr`, else at the failing evidence, else
  at the changed field. Level `error` blocks, `warning` is a `gate: warn`
  control, `note` is a failure the baseline already has.
* github: GitHub Actions workflow commands (`::error file=...,line=...`)
  with the same levels (error, warning, notice), then a summary line.

Paths are relative to the repository root (the nearest folder at or above the
workspace holding `.git`), or to the workspace outside a repository, because
code scanning and annotations resolve them against the checkout.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from assay import __version__
from assay.engine.check import NEW, ControlVerdict, GateReport
from assay.engine.diff import ABSENT
from assay.timeutil import format_instant

FORMATS = ("human", "json", "junit", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# A fact value longer than this is cut in messages; the ledger keeps it whole.
MAX_VALUE_CHARS = 200
# Characters XML 1.0 does not allow, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def render(report: GateReport, fmt: str) -> str:
    """Render `report` in one of FORMATS; raise ValueError for another name."""
    if fmt == "human":
        from rich.console import Console

        buffer = io.StringIO()
        render_human(report, Console(file=buffer, width=120, color_system=None, highlight=False))
        return buffer.getvalue()
    renderers = {
        "json": render_json,
        "junit": render_junit,
        "sarif": render_sarif,
        "github": render_github,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


# Shared pieces ------------------------------------------------------------------


def repository_root(start: Path) -> Path:
    """Return the nearest folder at or above `start` that contains `.git`, else `start`."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def display_path(report: GateReport, source: str | None) -> str:
    """Return a control file's path relative to the repository root, with forward slashes."""
    root = report.workspace.root
    path = root / source if source else root
    base = repository_root(root)
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def locate(verdict: ControlVerdict) -> tuple[int, int]:
    """Return the 1-based line and column in the control's file that a finding points at."""
    loaded = verdict.loaded
    if loaded is None:
        return 1, 1
    result = verdict.result
    loc: tuple[str | int, ...] = ("id",)
    if result is not None:
        failing = [i for i, a in enumerate(result.assertions) if a.outcome in ("fail", "error")]
        broken = [
            i
            for i, item in enumerate(result.evidence)
            if item.status != "ok" or item.stale or (item.collected and item.collected.failures)
        ]
        if failing:
            loc = ("assert", failing[0], "expr")
        elif broken:
            index = next(
                i
                for i, spec in enumerate(loaded.control.evidence)
                if spec.id == result.evidence[broken[0]].id
            )
            loc = ("evidence", index)
        elif verdict.definition_changes:
            loc = _changed_loc(verdict)
    while loc:
        if loc in loaded.line_of:
            return loaded.line_of[loc]
        loc = loc[:-1]
    return loaded.line_of.get((), (1, 1))


def _changed_loc(verdict: ControlVerdict) -> tuple[str | int, ...]:
    assert verdict.loaded is not None
    change = verdict.definition_changes[0]
    if change.path.startswith("params.") or change.path == "params":
        name = change.path.split(".", 1)[1] if "." in change.path else ""
        reads = re.compile(rf"""params(\.{re.escape(name)}\b|\[["']{re.escape(name)}["']\])""")
        for index, assertion in enumerate(verdict.loaded.control.assert_):
            if reads.search(assertion.expr):
                return ("assert", index, "expr")
        return ("assert",)
    return path_to_loc(change.path)


def path_to_loc(path: str) -> tuple[str | int, ...]:
    """Turn a flattened path (`assert[2].expr`, `evidence[0].with["a.b"]`) into a location tuple."""
    loc: list[str | int] = []
    for match in _PATH_PART.finditer(path):
        name, index, quoted = match.groups()
        if name is not None:
            loc.append(name)
        elif index is not None:
            loc.append(int(index))
        else:
            loc.append(quoted.replace('\\"', '"').replace("\\\\", "\\"))
    return tuple(loc)


def value_text(value: Any) -> str:
    """Write a fact value as JSON, cut to MAX_VALUE_CHARS."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def noteworthy(verdict: ControlVerdict) -> bool:
    """Tell whether a control is reported beyond its table row: it blocks, warns or is not met."""
    status = verdict.status
    return bool(verdict.reasons) or (
        status is not None and not verdict.met and status.value != "not_applicable"
    )


def headline(verdict: ControlVerdict) -> str:
    """Return one line on what is wrong with the control, for titles and JUnit messages."""
    if verdict.reasons:
        return verdict.reasons[0]
    status = verdict.status.value if verdict.status is not None else "removed"
    if status == "not_applicable":
        reasons = verdict.result.reasons if verdict.result is not None else []
        return f"not applicable: {reasons[0]}" if reasons else "not applicable"
    if verdict.change == NEW:
        return f"{status}, new since the baseline (not blocking)"
    if verdict.entry is not None:
        return f"{status}, {verdict.entry.status} in the baseline (not blocking)"
    return status


def findings(verdict: ControlVerdict) -> list[str]:
    """Explain a control's status: failing evidence, then each assertion that did not pass.

    An assertion line contains its name and expression. The facts it read
    follow, one per line, indented.
    """
    lines: list[str] = []
    result = verdict.result
    if result is None:
        return lines
    for item in result.evidence:
        if item.status != "ok":
            lines.append(f"evidence {item.id} ({item.collector}): {item.status}: {item.message}")
        if item.stale:
            lines.append(f"evidence {item.id}: stale: {item.stale}")
        if item.collected is not None:
            lines.extend(f"evidence {item.id}: {failure}" for failure in item.collected.failures)
    for assertion in result.assertions:
        if assertion.outcome == "pass":
            continue
        lines.append(f"{assertion.outcome}: {assertion.name}: {assertion.expr}")
        if assertion.message:
            lines.append(f"  {assertion.message}")
        lines.extend(f"  {name} = {value_text(value)}" for name, value in assertion.facts.items())
    if not lines and result.status.value != "pass":
        lines.extend(result.reasons)
    return lines


def _verdict_json(report: GateReport, verdict: ControlVerdict) -> dict[str, Any]:
    line, column = locate(verdict)
    result = verdict.result
    item: dict[str, Any] = {
        "id": verdict.control_id,
        "title": verdict.title,
        "file": display_path(report, verdict.source) if verdict.source else None,
        "line": line,
        "column": column,
        "status": verdict.status.value if verdict.status is not None else None,
        "baseline_status": verdict.entry.status if verdict.entry is not None else None,
        "change": verdict.change,
        "gate": verdict.gate,
        "blocking": verdict.blocking,
        "warning": verdict.warning,
        "gate_reasons": verdict.reasons,
        "definition_changes": [change.to_json() for change in verdict.definition_changes],
        "reasons": result.reasons if result is not None else [],
        "assertions": [a.to_json() for a in result.assertions] if result is not None else [],
        "evidence": [
            {
                "id": e.id,
                "collector": e.collector,
                "status": e.status,
                "message": e.message,
                "stale": e.stale,
            }
            for e in result.evidence
        ]
        if result is not None
        else [],
    }
    return item


def _summary(report: GateReport) -> str:
    blocking = report.blocking
    parts = []
    if blocking:
        names = ", ".join(v.control_id for v in blocking)
        noun = "control blocks" if len(blocking) == 1 else "controls block"
        parts.append(f"gate failed: {len(blocking)} {noun} the build ({names})")
    else:
        parts.append("gate passed")
    parts.append(f"{len(report.warnings)} warnings")
    if report.baseline is not None:
        parts.append(f"{report.count('improvement')} improvements")
        parts.append(f"{report.count('new')} new controls")
    return "; ".join(parts)


# human ------------------------------------------------------------------------------


def render_human(report: GateReport, console: Any) -> None:
    """Print the report on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    def say(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)

    config = report.workspace.config
    say(f"assay check: {config.name}, scope {report.scope}")
    if report.source == "ledger":
        say(
            f"evidence: replayed from run {report.replayed_run}, judged at {format_instant(report.now)}"
        )
    else:
        say(f"evidence: collected now, judged at {format_instant(report.now)}")
    if report.baseline is None:
        say(
            f"baseline: none blessed for scope {report.scope}; every control that is not met blocks"
        )
    else:
        say(
            f"baseline: {report.baseline_origin} (run {report.baseline.run[:12]}, blessed "
            f"{report.baseline.blessed_at})"
        )
    if report.strict:
        say("strict: every control that is not met blocks")

    styles = {
        "pass": "green",
        "waived": "green",
        "fail": "red",
        "error": "red",
        "missing": "yellow",
        "manual": "yellow",
        "not_applicable": "dim",
    }
    table = Table(title="Controls")
    for column in ("Control", "Status", "Baseline", "Change", "Gate"):
        table.add_column(column)
    for verdict in report.verdicts:
        status = verdict.status.value if verdict.status is not None else "-"
        style = styles.get(status)
        gate = "ok"
        if verdict.blocking:
            gate = "[red]blocks[/]"
        elif verdict.warning:
            gate = "[yellow]warning[/]"
        table.add_row(
            escape(verdict.control_id),
            f"[{style}]{status}[/]" if style else status,
            escape(verdict.entry.status) if verdict.entry is not None else "-",
            verdict.change or "-",
            gate,
        )
    console.print(table)

    for verdict in report.verdicts:
        if not noteworthy(verdict):
            continue
        line, _column = locate(verdict)
        where = display_path(report, verdict.source) if verdict.source else "?"
        say("")
        say(f"{verdict.control_id} {verdict.title} ({where}:{line})")
        label = "blocks" if verdict.blocking else "warning"
        for reason in verdict.reasons:
            say(f"  {label}: {reason}")
        for text in findings(verdict):
            say(f"  {text}")
    say("")
    say(_summary(report))


# json -------------------------------------------------------------------------------


def render_json(report: GateReport) -> str:
    """Return the report as indented JSON."""
    baseline = report.baseline
    document = {
        "format": "assay.check",
        "format_version": 1,
        "tool_version": __version__,
        "workspace": report.workspace.config.name,
        "scope": report.scope,
        "now": format_instant(report.now),
        "source": report.source,
        "replayed_run": report.replayed_run,
        "baseline": None
        if baseline is None
        else {
            "origin": report.baseline_origin,
            "run": baseline.run,
            "blessed_at": baseline.blessed_at,
            "ledger_record": baseline.ledger_record.model_dump()
            if baseline.ledger_record
            else None,
        },
        "strict": report.strict,
        "passed": not report.failed,
        "exit_code": report.exit_code,
        "summary": {
            "controls": len([v for v in report.verdicts if v.result is not None]),
            "blocking": [v.control_id for v in report.blocking],
            "warnings": [v.control_id for v in report.warnings],
            "statuses": _status_counts(report),
        },
        "controls": [_verdict_json(report, verdict) for verdict in report.verdicts],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _status_counts(report: GateReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for verdict in report.verdicts:
        if verdict.status is not None:
            counts[verdict.status.value] = counts.get(verdict.status.value, 0) + 1
    return dict(sorted(counts.items()))


# junit ------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def render_junit(report: GateReport) -> str:
    """Return a JUnit XML report: one testsuite, a testcase per control."""
    name = f"assay check: {report.workspace.config.name} ({report.scope})"
    suites = ET.Element("testsuites", {"name": _xml_text(name)})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": _xml_text(name),
            "timestamp": format_instant(report.now),
        },
    )
    _junit_properties(suite, report)

    outcomes = [_junit_case(suite, report, verdict) for verdict in report.verdicts]
    failures = str(outcomes.count("failure"))
    errors = str(outcomes.count("error"))
    tests = str(len(report.verdicts))
    suite.attrib.update(
        {
            "tests": tests,
            "failures": failures,
            "errors": errors,
            "skipped": str(outcomes.count("skipped")),
        }
    )
    suites.attrib.update({"tests": tests, "failures": failures, "errors": errors})

    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _junit_properties(suite: ET.Element, report: GateReport) -> None:
    properties = ET.SubElement(suite, "properties")
    source = report.source if report.replayed_run is None else f"ledger run {report.replayed_run}"
    values = {
        "scope": report.scope,
        "source": source,
        "baseline": report.baseline_origin or "none",
        "strict": "true" if report.strict else "false",
    }
    for key, value in values.items():
        ET.SubElement(properties, "property", {"name": key, "value": _xml_text(value)})


def _junit_case(suite: ET.Element, report: GateReport, verdict: ControlVerdict) -> str | None:
    """Add the control's testcase to `suite`; return its outcome element's name (None: passed)."""
    where = display_path(report, verdict.source) if verdict.source else report.scope
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "name": _xml_text(f"{verdict.control_id} {verdict.title}".strip()),
            "classname": _xml_text(where),
        },
    )
    outcome = _junit_outcome(verdict)
    if outcome is None:
        return None

    label = "blocks" if verdict.blocking else "warning"
    lines = [f"{label}: {reason}" for reason in verdict.reasons]
    lines.extend(findings(verdict))
    element = ET.SubElement(case, outcome, {"message": _xml_text(_junit_message(verdict))})
    if outcome != "skipped":
        element.set("type", verdict.change or "not met")
    element.text = _xml_text("\n".join(lines))
    return outcome


def _junit_outcome(verdict: ControlVerdict) -> str | None:
    if verdict.blocking:
        return (
            "error" if verdict.status is not None and verdict.status.value == "error" else "failure"
        )
    if verdict.warning or (verdict.status is not None and not verdict.met):
        return "skipped"
    return None


def _junit_message(verdict: ControlVerdict) -> str:
    if verdict.warning:
        return f"gate: warn, not blocking: {headline(verdict)}"
    return headline(verdict)


# sarif ------------------------------------------------------------------------------


def _sarif_level(verdict: ControlVerdict) -> str:
    if verdict.blocking:
        return "error"
    return "warning" if verdict.warning else "note"


def render_sarif(report: GateReport) -> str:
    """Return a SARIF 2.1.0 log with a rule per control and a result per finding."""
    rules = []
    rule_index: dict[str, int] = {}
    for verdict in report.verdicts:
        rule: dict[str, Any] = {
            "id": verdict.control_id,
            "name": verdict.control_id,
            "shortDescription": {"text": verdict.title or verdict.control_id},
        }
        loaded = verdict.loaded
        if loaded is not None:
            if loaded.control.description:
                rule["fullDescription"] = {"text": loaded.control.description.strip()}
            if loaded.control.remediation:
                rule["help"] = {"text": loaded.control.remediation.strip()}
            rule["properties"] = {
                "tags": list(loaded.control.criteria),
                "gate": loaded.control.gate,
            }
        rule_index[verdict.control_id] = len(rules)
        rules.append(rule)
    results = []
    for verdict in report.verdicts:
        if not noteworthy(verdict):
            continue
        line, column = locate(verdict)
        message = "\n".join([headline(verdict), *findings(verdict)])
        results.append(
            {
                "ruleId": verdict.control_id,
                "ruleIndex": rule_index[verdict.control_id],
                "level": _sarif_level(verdict),
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": display_path(report, verdict.source)
                                if verdict.source
                                else "assay.yaml",
                                "uriBaseId": "%SRCROOT%",
                            },
                            "region": {"startLine": line, "startColumn": column},
                        },
                    }
                ],
                "properties": {
                    "status": verdict.status.value if verdict.status is not None else None,
                    "baselineStatus": verdict.entry.status if verdict.entry is not None else None,
                    "change": verdict.change,
                    "blocking": verdict.blocking,
                },
            }
        )
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "assay", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"scope": report.scope, "passed": not report.failed},
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# github ------------------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: GateReport) -> str:
    """Return GitHub Actions workflow commands that annotate each finding's control file."""
    lines = []
    commands = {"error": "error", "warning": "warning", "note": "notice"}
    for verdict in report.verdicts:
        if not noteworthy(verdict):
            continue
        line, column = locate(verdict)
        path = display_path(report, verdict.source) if verdict.source else "assay.yaml"
        title = f"{verdict.control_id} {headline(verdict)}"
        lines_of_message = [verdict.title] if verdict.title else []
        message = "\n".join([*lines_of_message, *findings(verdict)])
        properties = ",".join(
            [
                f"file={_escape_property(path)}",
                f"line={line}",
                f"col={column}",
                f"title={_escape_property(title)}",
            ]
        )
        command = commands[_sarif_level(verdict)]
        lines.append(f"::{command} {properties}::{_escape_data(message or headline(verdict))}")
    lines.append(f"assay check: {_summary(report)}")
    return "\n".join(lines) + "\n"
