"""Readiness against the criteria catalog, and the status report built from the ledger."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay import keys
from assay.catalog import criteria
from assay.commands import run_command
from assay.controls.model import Control
from assay.engine.attestations import attest_control
from assay.engine.readiness import ControlOutcome, evidence_basis, readiness
from assay.engine.status import Status
from assay.engine.status_report import build_status
from assay.evidence.ledger import Ledger, NewRecord

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
# The example inputs describe 2026-12-04 between 19:19 and 20:01 UTC.
RUN_NOW = datetime(2026, 12, 4, 21, 15, tzinfo=UTC)
EXAMPLE_CONTROLS = (
    "cap-01-latency.yaml",                 # CAP-01 [A1.1] pass
    "bak-01-full-backup.yaml",             # BAK-01 [A1.2] pass
    "bak-03-retention.yaml",               # BAK-03 [A1.2, A1.3] fail
    "pol-01-information-security.yaml",    # POL-01 [CC1.1, CC2.2, CC5.1, CC5.3] pass
    "key-01-key-rotation.yaml",            # KEY-01 [CC6.1, C1.1] missing
)
MANUAL_CONTROL = """\
id: MAN-01
title: The board reviews the security program
criteria: [CC1.2]
manual: {attestation_every: 365d, role: security-lead}
"""
EXCLUDED_CONTROL = """\
id: NA-01
title: Physical access to the office is restricted
criteria: [CC6.4]
not_applicable: The platform runs only in a cloud provider's data centres.
"""
WAIVER = """\
control: BAK-03
scope: production
justification: The backup repository is new and reaches 30 days of backups on 2026-12-09.
owner: database-team
approver: security-lead
created: 2026-12-01
expires: 2026-12-10T00:00:00Z
remediation: Nothing to change; retention grows by itself.
"""
POLICY_EVIDENCE = {"id": "p", "collector": "policy.documents", "with": {"path": "p.md"}}
FILES_EVIDENCE = {"id": "f", "collector": "files", "with": {"paths": ["r.md"]}}
K6_EVIDENCE = {"id": "k", "collector": "k6.summary", "with": {"path": "k.json"}}
PEOPLE = """\
people:
  alice:
    public_key: people/alice/signing-key.pub.pem
    roles: [security-lead]
"""


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv("ASSAY_LEDGER", raising=False)


def _outcome(
    criteria_ids: list[str], status: Status, basis: str | None = "automated"
) -> ControlOutcome:
    return ControlOutcome(criteria_ids, status, basis)


def _by_category(items):
    return {item.category: item for item in items}


# Readiness rules


def test_readiness_counts_every_catalog_criterion() -> None:
    result = _by_category(readiness(["availability"], [_outcome(["A1.1"], Status.PASS)]))

    assert set(result) == {"security", "availability"}
    assert result["security"].total == 33
    assert result["security"].coverage_gaps == criteria.ids_in_category("security")
    assert result["availability"].criteria_met == ["A1.1"]
    assert result["availability"].coverage_gaps == ["A1.2", "A1.3"]


def test_readiness_needs_every_control_met() -> None:
    result = _by_category(readiness(["availability"], [
        _outcome(["A1.1"], Status.PASS),
        _outcome(["A1.1", "A1.2"], Status.FAIL),
        _outcome(["A1.3"], Status.WAIVED),
    ]))["availability"]

    assert result.criteria_met == ["A1.3"]
    assert result.criteria_not_met == ["A1.1", "A1.2"]
    assert result.status_text == "In progress"


def test_readiness_excludes_not_applicable_criteria() -> None:
    result = _by_category(readiness([], [
        _outcome(["CC6.4"], Status.NOT_APPLICABLE, "none"),
        _outcome(["CC6.5"], Status.NOT_APPLICABLE, "none"),
        _outcome(["CC6.5"], Status.FAIL),
    ]))["security"]

    assert result.criteria_not_applicable == ["CC6.4"]
    assert result.total == 32
    assert "CC6.5" in result.criteria_not_met
    assert "CC6.5" not in result.coverage_gaps


def test_readiness_ignores_unknown_criteria() -> None:
    result = readiness([], [_outcome(["CC9.9"], Status.PASS)])

    assert [item.category for item in result] == ["security"]
    assert result[0].criteria_met == []


def test_readiness_status_texts() -> None:
    everything = [_outcome(criteria.ids_in_category("availability"), Status.PASS)]
    ready = _by_category(readiness(["availability"], everything))

    assert ready["availability"].status_text == "Ready"
    assert ready["security"].status_text == "Not started"


@pytest.mark.parametrize(
    ("controls", "expected"),
    [
        ([("automated", Status.PASS), ("documents", Status.PASS)], "automated"),
        ([("documents", Status.PASS), ("attestation", Status.PASS)], "documents"),
        ([("attestation", Status.PASS)], "attestation"),
        ([("automated", Status.FAIL), ("attestation", Status.PASS)], "attestation"),
        ([("automated", Status.WAIVED)], "none"),
        ([("automated", Status.MISSING)], "none"),
        ([(None, Status.PASS)], "unknown"),
    ],
)
def test_criterion_evidence_basis(controls, expected: str) -> None:
    items = [_outcome(["CC8.1"], status, basis) for basis, status in controls]

    result = _by_category(readiness([], items))["security"]

    assert result.evidenced["CC8.1"] == expected


def test_two_tuples_still_accepted() -> None:
    result = _by_category(readiness(["availability"], [(["A1.1"], Status.PASS)]))

    assert result["availability"].criteria_met == ["A1.1"]
    assert result["availability"].evidenced["A1.1"] == "unknown"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"manual": {"attestation_every": "365d"}}, "attestation"),
        ({"evidence": [POLICY_EVIDENCE, FILES_EVIDENCE]}, "documents"),
        ({"evidence": [POLICY_EVIDENCE, K6_EVIDENCE]}, "automated"),
        ({"not_applicable": "no office"}, "none"),
    ],
)
def test_evidence_basis_of_control_and_definition(fields: dict, expected: str) -> None:
    data = {"id": "X-01", "title": "t", "criteria": ["CC1.1"], **fields}
    control = Control.model_validate(data)

    assert evidence_basis(control) == expected
    assert evidence_basis(control.definition()) == expected


# Status report from a recorded run


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for folder in ("inputs", "policies"):
        shutil.copytree(EXAMPLE / folder, root / folder)
    (root / "controls").mkdir()
    for name in EXAMPLE_CONTROLS:
        shutil.copy(EXAMPLE / "controls" / name, root / "controls" / name)
    (root / "controls" / "man-01.yaml").write_text(MANUAL_CONTROL)
    (root / "controls" / "na-01.yaml").write_text(EXCLUDED_CONTROL)
    shutil.copy(EXAMPLE / "assay.yaml", root / "assay.yaml")
    keys.generate(root / ".assay")
    return root


def _security_gaps(cited: set[str]) -> list[str]:
    return [c for c in criteria.ids_in_category("security") if c not in cited]


def test_status_before_any_run(tmp_path: Path) -> None:
    root = _workspace(tmp_path)

    report = build_status(root, RUN_NOW, None)

    assert report.run is None
    assert report.controls_by_status() == {
        "missing": ["BAK-01", "BAK-03", "CAP-01", "KEY-01", "POL-01"],
        "manual": ["MAN-01"],
        "not_applicable": ["NA-01"],
    }
    assert all(item.ratio == 0 for item in report.categories)
    assert not (root / "evidence" / "ledger.db").exists()


def test_status_after_run_matches_hand_table(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    run_command(root, RUN_NOW, None, None, None, pack=False)

    report = build_status(root, RUN_NOW, None)
    by_category = _by_category(report.categories)

    assert report.controls_by_status() == {
        "fail": ["BAK-03"], "missing": ["KEY-01"], "manual": ["MAN-01"],
        "pass": ["BAK-01", "CAP-01", "POL-01"], "not_applicable": ["NA-01"],
    }
    security = by_category["security"]
    # 33 criteria, CC6.4 not applicable; met only through POL-01's policy.
    assert security.criteria_met == ["CC1.1", "CC2.2", "CC5.1", "CC5.3"]
    assert security.criteria_not_applicable == ["CC6.4"]
    assert security.total == 32
    cited = {"CC1.1", "CC1.2", "CC2.2", "CC5.1", "CC5.3", "CC6.1", "CC6.4"}
    assert security.coverage_gaps == _security_gaps(cited)
    assert len(security.coverage_gaps) == 26
    not_met_with_controls = set(security.criteria_not_met) - set(security.coverage_gaps)
    assert sorted(not_met_with_controls) == ["CC1.2", "CC6.1"]
    assert security.status_text == "In progress"
    availability = by_category["availability"]
    assert availability.criteria_met == ["A1.1"]
    assert availability.criteria_not_met == ["A1.2", "A1.3"]
    assert availability.coverage_gaps == []
    assert availability.status_text == "In progress"
    evidenced = {row["criterion"]: row["evidenced"] for row in report.criteria_rows()}
    expected = {
        "CC1.1": "documents", "CC2.2": "documents", "CC5.1": "documents", "CC5.3": "documents",
        "CC1.2": "none",
        "CC6.1": "none", "A1.1": "automated", "A1.2": "automated", "A1.3": "none",
    }
    assert {criterion: evidenced[criterion] for criterion in expected} == expected
    assert {evidenced[c] for c in security.coverage_gaps} == {"none"}
    assert report.waivers == []
    assert [(a.control, a.state, a.due) for a in report.attestations] == [("MAN-01", "none", True)]


def test_status_ignores_incomplete_and_other_scope_runs(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    outcome, _pack = run_command(root, RUN_NOW, None, None, None, pack=False)
    run_command(root, RUN_NOW, None, "staging", None, pack=False)
    ledger = Ledger(f"sqlite:///{root / 'evidence' / 'ledger.db'}")
    try:
        bk03 = next(r for r in outcome.results if r.control_id == "BAK-03")
        stamp = "2026-12-04T22:00:00.000000Z"
        ledger.append(run="interrupted", scope="production", time=stamp, entries=[
            NewRecord("run", {"now": stamp}),
            NewRecord("result", {
                "control": "BAK-03", "status": "pass",
                "control_sha256": bk03.loaded.definition_sha256,
            }),
        ])
    finally:
        ledger.close()

    report = build_status(root, RUN_NOW, None)

    assert report.run is not None
    assert report.run.run == outcome.run_id
    assert report.controls_by_status()["fail"] == ["BAK-03"]


def test_status_shows_waivers_and_attestations(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    keys.generate(root / "people" / "alice")
    config = root / "assay.yaml"
    config.write_text(config.read_text(encoding="utf-8") + PEOPLE, encoding="utf-8")
    (root / "waivers").mkdir()
    (root / "waivers" / "bak-03.yaml").write_text(WAIVER)
    alice_key = root / "people" / "alice" / "signing-key.pem"
    attest_control(root, "MAN-01", by="alice", note="Board meeting held", key_path=alice_key,
                   now=datetime(2026, 12, 4, 10, 0, tzinfo=UTC), expires="7d")
    outcome, _pack = run_command(root, RUN_NOW, None, None, None, pack=False)
    # A later attestation is a complete run of its own without results; the
    # report must still read the run above.
    attest_control(root, "MAN-01", by="alice", note="Minutes filed", key_path=alice_key,
                   now=datetime(2026, 12, 4, 21, 30, tzinfo=UTC), expires="30d")

    report = build_status(root, RUN_NOW, None)
    by_category = _by_category(report.categories)

    assert report.run is not None
    assert report.run.run == outcome.run_id
    assert report.controls_by_status()["waived"] == ["BAK-03"]
    assert report.controls_by_status()["pass"] == ["BAK-01", "CAP-01", "MAN-01", "POL-01"]
    assert by_category["availability"].criteria_met == ["A1.1", "A1.2", "A1.3"]
    assert by_category["availability"].status_text == "Ready"
    assert by_category["security"].criteria_met == ["CC1.1", "CC1.2", "CC2.2", "CC5.1", "CC5.3"]
    evidenced = by_category["availability"].evidenced
    assert evidenced == {"A1.1": "automated", "A1.2": "automated", "A1.3": "none"}
    assert by_category["security"].evidenced["CC1.2"] == "attestation"
    [waiver] = report.waivers
    assert waiver.control == "BAK-03"
    assert waiver.file == "waivers/bak-03.yaml"
    assert waiver.approver == "security-lead"
    assert waiver.expires == "2026-12-10T00:00:00.000000Z"
    assert waiver.real_status == "fail"
    assert waiver.expiring_soon
    [attestation] = report.attestations
    assert attestation.control == "MAN-01"
    assert attestation.by == "alice"
    assert attestation.state == "expires soon"
    assert attestation.due
    assert attestation.expires == "2026-12-11T10:00:00.000000Z"
    assert report.warnings == [
        "waiver waivers/bak-03.yaml for BAK-03 expires in 5.11 days (at 2026-12-10T00:00:00.000000Z)",
        "the attestation of MAN-01 expires in 6.53 days (at 2026-12-11T10:00:00.000000Z)",
    ]


def test_status_reports_expired_waiver(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    (root / "waivers").mkdir()
    (root / "waivers" / "bak-03.yaml").write_text(WAIVER)
    run_command(root, RUN_NOW, None, None, None, pack=False)

    report = build_status(root, datetime(2026, 12, 12, tzinfo=UTC), None)

    [waiver] = report.waivers
    assert waiver.expired
    assert not waiver.expiring_soon
    assert report.warnings == [
        "waiver waivers/bak-03.yaml for BAK-03 expired at 2026-12-10T00:00:00.000000Z; "
        "the next run reports the control's real status"
    ]


def test_status_json_shape(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    run_command(root, RUN_NOW, None, None, None, pack=False)

    document = build_status(root, RUN_NOW, None).to_json()

    assert set(document) == {
        "workspace", "scope", "now", "run", "categories", "coverage_gaps", "controls_by_status",
        "controls", "criteria", "waivers", "attestations", "warnings",
    }
    assert document["now"] == "2026-12-04T21:15:00.000000Z"
    assert set(document["run"]) == {"run", "now", "first_seq", "last_seq"}
    category = document["categories"][1]
    assert category["category"] == "availability"
    assert category["criteria_in_scope"] == 3
    assert category["readiness_ratio"] == pytest.approx(1 / 3)
    assert category["status"] == "In progress"
    assert document["coverage_gaps"][0] == {
        "criterion": "CC1.3", "category": "security",
        "title": criteria.title_of("CC1.3"),
    }
    assert len(document["criteria"]) == 36
    control = next(item for item in document["controls"] if item["control"] == "POL-01")
    assert control["evidenced"] == "documents"
    assert control["criteria"] == ["CC1.1", "CC2.2", "CC5.1", "CC5.3"]
