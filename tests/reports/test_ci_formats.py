"""The CI formats of `assay check`, checked against the vendored JUnit XSD and SARIF schema."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from rich.console import Console

from assay import keys
from assay.commands import run_command
from assay.controls.loader import load_workspace
from assay.engine.baseline import bless, latest_baseline
from assay.engine.check import GateReport, collect_results, gate_results
from assay.engine.evaluate import ControlResult
from assay.engine.status import Status
from assay.evidence.ledger import Ledger
from assay.reports.ci_formats import (
    display_path,
    path_to_loc,
    render,
    render_github,
    render_human,
    render_json,
    render_junit,
    render_sarif,
    repository_root,
)
from assay.timeutil import parse_now

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
NOW = parse_now("2026-12-04T21:15:00Z")
PASSING = (
    "cap-01-latency.yaml",
    "bak-01-full-backup.yaml",
    "dr-01-recovery-time.yaml",
    "pol-01-information-security.yaml",
)
SLOW_P99_MS = 6000.25


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads((SCHEMAS / "sarif-2.1.0.json").read_bytes()))


def make_workspace(parent: Path) -> Path:
    """Copy the example's passing controls into parent/compliance, inside a repository root."""
    (parent / ".git").mkdir()
    root = parent / "compliance"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    for path in (root / "controls").glob("*.yaml"):
        if path.name not in PASSING:
            path.unlink()
    keys.generate(root / ".assay")
    return root


def report_of(root: Path, *, baseline: bool = True, strict: bool = False) -> GateReport:
    workspace = load_workspace(root)
    blessed = None
    if baseline:
        ledger = Ledger(f"sqlite:///{root / 'evidence' / 'ledger.db'}")
        try:
            blessed = latest_baseline(ledger, "production")
        finally:
            ledger.close()
    results = collect_results(workspace, now=NOW, scope="production", attestations=[])
    verdicts = gate_results(workspace, results, blessed, strict=strict)
    return GateReport(
        workspace,
        "production",
        NOW,
        "collected",
        blessed,
        blessed.origin if blessed else None,
        strict,
        verdicts,
    )


def blessed_workspace(parent: Path) -> Path:
    """Return a workspace of passing controls with one run, blessed as the baseline."""
    root = make_workspace(parent)
    run_command(root, NOW, None, None, None, pack=False)
    ledger = Ledger(f"sqlite:///{root / 'evidence' / 'ledger.db'}")
    bless(
        ledger,
        scope="production",
        key=keys.load_signing_key_file(root / ".assay" / "signing-key.pem"),
        now=NOW,
    )
    ledger.close()
    return root


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> GateReport:
    """A report where CAP-01 regressed (slow p99), BAK-01 cannot read its input, DR-01 was removed."""
    root = blessed_workspace(tmp_path_factory.mktemp("broken"))
    summary_path = root / "inputs" / "k6-summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["metrics"]["http_req_duration"]["p(99)"] = SLOW_P99_MS
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    (root / "inputs" / "pgbackrest-info.json").write_text("{not json", encoding="utf-8")
    (root / "controls" / "dr-01-recovery-time.yaml").unlink()
    return report_of(root)


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> GateReport:
    """A report where CAP-01 passes with a lowered p99 threshold and CAP-02 is new and fails."""
    root = blessed_workspace(tmp_path_factory.mktemp("changed"))
    config = root / "assay.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("latency_p99_ms: 5000", "latency_p99_ms: 4000"), encoding="utf-8")
    shutil.copy(EXAMPLE / "controls" / "cap-02-error-rate.yaml", root / "controls")
    return report_of(root)


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> GateReport:
    return report_of(make_workspace(tmp_path_factory.mktemp("passing")), baseline=False)


@pytest.fixture(scope="module")
def warned(tmp_path_factory: pytest.TempPathFactory) -> GateReport:
    """No baseline; CAP-02 fails under `gate: warn`, POL-01 is not applicable."""
    root = make_workspace(tmp_path_factory.mktemp("warned"))
    lt02 = (EXAMPLE / "controls" / "cap-02-error-rate.yaml").read_text(encoding="utf-8")
    (root / "controls" / "cap-02-error-rate.yaml").write_text(
        lt02 + "gate: warn\n", encoding="utf-8"
    )
    pol01 = root / "controls" / "pol-01-information-security.yaml"
    pol01.write_text(
        pol01.read_text(encoding="utf-8") + "not_applicable: no policies in this test\n",
        encoding="utf-8",
    )
    return report_of(root, baseline=False)


def line_of_text(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def junit_cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    return {case.get("name", "").split()[0]: case for case in root.iter("testcase")}


# junit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["broken", "changed", "passing", "warned"])
def test_junit_validates_against_xsd(
    scenario: str, request: pytest.FixtureRequest, junit_schema: xmlschema.XMLSchema
) -> None:
    report = request.getfixturevalue(scenario)

    junit_schema.validate(render_junit(report))


def test_junit_outcomes_follow_gate(broken: GateReport) -> None:
    cases = junit_cases(render_junit(broken))

    assert cases["CAP-01"].find("failure") is not None
    assert cases["BAK-01"].find("error") is not None
    assert cases["DR-01"].find("failure") is not None
    assert len(list(cases["POL-01"])) == 0


def test_junit_failure_holds_assertion_and_facts(broken: GateReport) -> None:
    failure = junit_cases(render_junit(broken))["CAP-01"].find("failure")
    assert failure is not None

    assert failure.get("message") == "regression: pass in the baseline, fail now"
    assert failure.get("type") == "regression"
    assert "fail: p99 latency under target: k6.p99_ms < params.latency_p99_ms" in (failure.text or "")
    assert f"k6.p99_ms = {SLOW_P99_MS}" in (failure.text or "")
    assert "params.latency_p99_ms = 5000" in (failure.text or "")


def test_junit_counts_match_exit_code(
    broken: GateReport, passing: GateReport, warned: GateReport
) -> None:
    for report in (broken, passing, warned):
        suite = ET.fromstring(render_junit(report)).find("testsuite")
        assert suite is not None
        failing = int(suite.get("failures", "0")) + int(suite.get("errors", "0"))
        assert (failing > 0) == (report.exit_code == 1)


def test_junit_warning_and_na_skipped(warned: GateReport) -> None:
    cases = junit_cases(render_junit(warned))

    lt02 = cases["CAP-02"].find("skipped")
    pol01 = cases["POL-01"].find("skipped")
    assert lt02 is not None and (lt02.get("message") or "").startswith(
        "gate: warn, not blocking: fail"
    )
    assert pol01 is not None and pol01.get("message") == "not applicable: no policies in this test"
    assert warned.exit_code == 0


def test_junit_replaces_invalid_characters(
    passing: GateReport, junit_schema: xmlschema.XMLSchema
) -> None:
    verdict = passing.verdicts[0]
    original = verdict.result
    assert original is not None
    verdict.result = ControlResult(original.loaded, Status.FAIL, ["bell \x07 here"], [], [])
    verdict.reasons = ["bell \x07 here"]
    try:
        xml = render_junit(passing)
    finally:
        verdict.result = original
        verdict.reasons = []

    junit_schema.validate(xml)
    assert "bell \ufffd here" in xml


# sarif ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["broken", "changed", "passing", "warned"])
def test_sarif_validates_against_schema(
    scenario: str, request: pytest.FixtureRequest, sarif_validator: jsonschema.Draft4Validator
) -> None:
    log = json.loads(render_sarif(request.getfixturevalue(scenario)))

    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in sarif_validator.iter_errors(log)
    ]
    assert errors == []


def test_sarif_locates_failing_assertion(broken: GateReport) -> None:
    log = json.loads(render_sarif(broken))
    results = {result["ruleId"]: result for result in log["runs"][0]["results"]}
    control = broken.workspace.root / "controls" / "cap-01-latency.yaml"

    location = results["CAP-01"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "compliance/controls/cap-01-latency.yaml"
    assert location["region"]["startLine"] == line_of_text(
        control, "k6.p99_ms < params.latency_p99_ms"
    )
    assert results["CAP-01"]["level"] == "error"
    assert "k6.p99_ms = 6000.25" in results["CAP-01"]["message"]["text"]


def test_sarif_locates_failing_evidence(broken: GateReport) -> None:
    log = json.loads(render_sarif(broken))
    results = {result["ruleId"]: result for result in log["runs"][0]["results"]}
    control = broken.workspace.root / "controls" / "bak-01-full-backup.yaml"

    region = results["BAK-01"]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == line_of_text(control, "- id: backups")


def test_sarif_locates_changed_param(changed: GateReport) -> None:
    results = {r["ruleId"]: r for r in json.loads(render_sarif(changed))["runs"][0]["results"]}
    control = changed.workspace.root / "controls" / "cap-01-latency.yaml"

    region = results["CAP-01"]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == line_of_text(control, "k6.p99_ms < params.latency_p99_ms")
    assert results["CAP-01"]["level"] == "error"
    assert results["CAP-01"]["message"]["text"].startswith(
        "definition changed since the baseline: params.latency_p99_ms (5000 -> 4000)"
    )


def test_new_failing_control_is_note(changed: GateReport) -> None:
    results = {r["ruleId"]: r for r in json.loads(render_sarif(changed))["runs"][0]["results"]}
    skipped = junit_cases(render_junit(changed))["CAP-02"].find("skipped")

    assert results["CAP-02"]["level"] == "note"
    assert skipped is not None
    assert skipped.get("message") == "fail, new since the baseline (not blocking)"
    assert changed.exit_code == 1


def test_sarif_rules_are_controls(broken: GateReport) -> None:
    log = json.loads(render_sarif(broken))
    run = log["runs"][0]

    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        "BAK-01",
        "CAP-01",
        "POL-01",
        "DR-01",
    ]
    assert sorted(result["ruleId"] for result in run["results"]) == ["BAK-01", "CAP-01", "DR-01"]
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_levels_for_warning(warned: GateReport) -> None:
    results = json.loads(render_sarif(warned))["runs"][0]["results"]

    assert [(r["ruleId"], r["level"]) for r in results] == [("CAP-02", "warning")]


# github -----------------------------------------------------------------------------------


def test_github_annotates_control_file(broken: GateReport) -> None:
    lines = render_github(broken).splitlines()
    control = broken.workspace.root / "controls" / "cap-01-latency.yaml"
    line = line_of_text(control, "k6.p99_ms < params.latency_p99_ms")

    lt01 = [item for item in lines if "cap-01-latency.yaml" in item]
    assert len(lt01) == 1
    assert lt01[0].startswith(
        f"::error file=compliance/controls/cap-01-latency.yaml,line={line},col="
    )
    assert "title=CAP-01 regression%3A pass in the baseline%2C fail now::" in lt01[0]
    assert "%0A  k6.p99_ms = 6000.25" in lt01[0]
    assert lines[-1].startswith(
        "assay check: gate failed: 3 controls block the build (BAK-01, CAP-01, DR-01)"
    )


def test_github_escapes_percent_and_newlines(passing: GateReport) -> None:
    verdict = passing.verdicts[0]
    original = verdict.result
    assert original is not None
    verdict.result = ControlResult(original.loaded, Status.FAIL, ["50% done\r\nnext"], [], [])
    verdict.reasons = ["a, b: c"]
    try:
        text = render_github(passing)
    finally:
        verdict.result = original
        verdict.reasons = []

    annotation = text.splitlines()[0]
    assert "title=BAK-01 a%2C b%3A c::" in annotation
    assert "50%25 done%0D%0Anext" in annotation


# json and human ---------------------------------------------------------------------------


def test_json_report_shape(broken: GateReport) -> None:
    document = json.loads(render_json(broken))

    assert document["format"] == "assay.check"
    assert document["passed"] is False
    assert document["exit_code"] == 1
    assert document["summary"]["blocking"] == ["BAK-01", "CAP-01", "DR-01"]
    controls = {item["id"]: item for item in document["controls"]}
    assert controls["CAP-01"]["change"] == "regression"
    assert controls["CAP-01"]["file"] == "compliance/controls/cap-01-latency.yaml"
    assert controls["DR-01"]["status"] is None
    assert controls["DR-01"]["change"] == "removed"
    assert controls["POL-01"]["blocking"] is False


def test_human_shows_assertion_facts_and_summary(broken: GateReport) -> None:
    text = render(broken, "human")

    assert "  blocks: regression: pass in the baseline, fail now" in text
    assert "  fail: p99 latency under target: k6.p99_ms < params.latency_p99_ms" in text
    assert "    k6.p99_ms = 6000.25" in text
    assert "gate failed: 3 controls block the build (BAK-01, CAP-01, DR-01)" in text


def test_human_passing_report(passing: GateReport) -> None:
    console = Console(record=True, width=120, color_system=None)

    render_human(passing, console)

    text = console.export_text()
    assert "baseline: none blessed for scope production" in text
    assert text.rstrip().endswith("gate passed; 0 warnings")


def test_render_rejects_unknown_format(passing: GateReport) -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render(passing, "xml")


# paths ------------------------------------------------------------------------------------


def test_paths_outside_repository(tmp_path: Path, passing: GateReport) -> None:
    assert repository_root(tmp_path) == tmp_path
    assert display_path(passing, "controls/x.yaml") == "compliance/controls/x.yaml"


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("assert[2].expr", ("assert", 2, "expr")),
        ("evidence[0].with.path", ("evidence", 0, "with", "path")),
        ('evidence[0].with["a.b"]', ("evidence", 0, "with", "a.b")),
        ("gate", ("gate",)),
    ],
)
def test_path_to_loc(path: str, loc: tuple) -> None:
    assert path_to_loc(path) == loc
