"""Manual controls and waivers in real runs (`run_command(..., pack=False)`), and their loading."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from assay import keys
from assay.commands import run_command
from assay.controls.loader import load_workspace
from assay.engine.attestations import attest_control
from assay.engine.run import RunOutcome
from assay.errors import WorkspaceErrors
from assay.evidence.ledger import Ledger, NewRecord
from assay.timeutil import format_instant
from support.workspace import EXAMPLE, small_workspace

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))

MANUAL_CONTROL = """\
id: POL-09
title: User access is reviewed every quarter
criteria: [CC6.2]
remediation: Review every account with its owner and attest the review.
manual:
  attestation_every: 90d
  role: security-lead
"""

PEOPLE = """\
people:
  alice:
    public_key: people/alice/signing-key.pub.pem
    roles: [security-lead]
"""

# CAP-02 fails on the example inputs: the load test's error rate is above 0.1 %.
WAIVER = """\
control: CAP-02
scope: production
justification: the error budget is spent while the new gateway is rolled out
owner: platform-team
approver: security-lead
created: 2026-11-20T09:00:00+02:00
expires: 2026-12-10T18:00:00+02:00
remediation: finish the gateway rollout and rerun the load test
"""
WAIVER_EXPIRY = datetime(2026, 12, 10, 18, 0, tzinfo=PLUS_TWO)
LT02_REMEDIATION = "Find the failing endpoints in the k6 output and fix them."


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASSAY_SIGNING_KEY", "ASSAY_LEDGER", "ASSAY_NOW"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with CAP-01 and BAK-01 (pass), CAP-02 (fail), manual POL-09 and person alice."""
    workspace = small_workspace(tmp_path / "ws")
    cap02 = (EXAMPLE / "controls" / "cap-02-error-rate.yaml").read_text(encoding="utf-8")
    # The test's own remediation text replaces the library's.
    cap02 = "".join(
        line for line in cap02.splitlines(keepends=True) if not line.startswith("remediation:")
    )
    (workspace / "controls" / "cap-02-error-rate.yaml").write_text(
        cap02 + f"remediation: {LT02_REMEDIATION}\n", encoding="utf-8"
    )
    (workspace / "controls" / "pol-09-access-review.yaml").write_text(MANUAL_CONTROL, encoding="utf-8")
    keys.generate(workspace / "people" / "alice", private_name="alice.pem")
    config = workspace / "assay.yaml"
    config.write_text(config.read_text(encoding="utf-8") + PEOPLE, encoding="utf-8")
    (workspace / "waivers").mkdir()
    return workspace


def run(root: Path, now: datetime = NOW, scope: str | None = None) -> RunOutcome:
    outcome, pack = run_command(root, now, None, scope, None, pack=False)
    assert pack is None
    return outcome


def results(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
    """Return the body of each result record of the run, by control id."""
    bodies = {}
    for record in outcome.records:
        if record.header_fields()["kind"] == "result":
            body = record.body_fields() or {}
            bodies[body["control"]] = body
    return bodies


def ledger_bodies(root: Path, kind: str) -> list[dict[str, Any]]:
    ledger = Ledger(f"sqlite:///{root / 'evidence' / 'ledger.db'}")
    try:
        return [record.body_fields() or {} for record in ledger.records_of_kind(kind)]
    finally:
        ledger.close()


def write_waiver(root: Path, text: str = WAIVER, name: str = "cap-02.yaml") -> Path:
    path = root / "waivers" / name
    path.write_text(text, encoding="utf-8")
    return path


def attest(root: Path, now: datetime = NOW - timedelta(days=1), **options: Any) -> None:
    attest_control(
        root, "POL-09", by="alice", note="reviewed 41 accounts, removed 3",
        key_path=root / "people" / "alice" / "alice.pem", now=now, **options,
    )


def load_problems(root: Path) -> list[str]:
    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)
    return caught.value.problems


def position(text: str, needle: str) -> str:
    """Return "line:col" (both from 1) of the only occurrence of `needle` in `text`."""
    assert text.count(needle) == 1, needle
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


# Manual controls in runs


def test_manual_control_without_attestation_is_manual(root: Path) -> None:
    body = results(run(root))["POL-09"]

    assert body["status"] == "manual"
    assert body["reasons"] == [
        "no attestation recorded; record one with `assay attest POL-09 --by NAME`"
    ]
    assert body["evidence"] == []
    assert body["attestation"] is None


def test_manual_control_passes_with_attestation(root: Path) -> None:
    attest(root)

    body = results(run(root))["POL-09"]

    assert body["status"] == "pass"
    assert body["reasons"][0].startswith("attested by alice at 2026-12-03T20:15:00.000000Z")
    assert body["attestation"]["by"] == "alice"
    assert body["attestation"]["expires"] == "2027-03-03T20:15:00.000000Z"
    assert body["attestation"]["file"] == "attestations/POL-09-20261203T201500Z.json"
    assert body["remediation"] is None


def test_manual_control_manual_again_after_expiry(root: Path) -> None:
    attest(root, expires="30d")
    expiry = NOW - timedelta(days=1) + timedelta(days=30)

    before = results(run(root, expiry - timedelta(microseconds=1)))["POL-09"]
    after = results(run(root, expiry))["POL-09"]

    assert before["status"] == "pass"
    assert after["status"] == "manual"
    assert after["reasons"] == [
        "the latest attestation, by alice at 2026-12-03T20:15:00.000000Z, expired at "
        "2027-01-02T20:15:00.000000Z"
    ]
    assert after["attestation"] is None


def test_manual_control_judged_by_people_at_run_time(root: Path) -> None:
    attest(root)
    config = root / "assay.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("roles: [security-lead]", "roles: [engineer]"),
        encoding="utf-8",
    )

    body = results(run(root))["POL-09"]

    assert body["status"] == "manual"
    assert "alice does not hold role 'security-lead', which POL-09 requires" in body["reasons"][0]


def test_manual_control_remediation_when_not_met(root: Path) -> None:
    body = results(run(root))["POL-09"]

    assert body["remediation"] == "Review every account with its owner and attest the review."


def test_manual_control_counts_toward_readiness(root: Path) -> None:
    before = run(root)
    attest(root)
    after = run(root)

    security_before = next(r for r in before.readiness if r.category == "security")
    security_after = next(r for r in after.readiness if r.category == "security")
    assert "CC6.2" in security_before.criteria_not_met
    assert "CC6.2" in security_after.criteria_met


# Waivers in runs


def test_failing_control_waived(root: Path) -> None:
    path = write_waiver(root)
    sha256 = load_workspace(root).waivers[0].sha256

    body = results(run(root))["CAP-02"]

    assert body["status"] == "waived"
    assert body["waiver_sha256"] == sha256
    assert body["waiver"] == {
        "file": "waivers/cap-02.yaml", "expires": "2026-12-10T16:00:00.000000Z",
        "approver": "security-lead", "real_status": "fail",
    }
    assert body["reasons"][0].startswith(
        "waived by waivers/cap-02.yaml until 2026-12-10T16:00:00.000000Z (approved by "
        "security-lead, owner platform-team); status without the waiver: fail"
    )
    assert body["reasons"][1].startswith("share of failed requests under target: false")
    assert path.is_file()


def test_waiver_expiry_exact_instant(root: Path) -> None:
    write_waiver(root)

    before = results(run(root, WAIVER_EXPIRY - timedelta(microseconds=1)))["CAP-02"]
    at = results(run(root, WAIVER_EXPIRY))["CAP-02"]

    assert before["status"] == "waived"
    assert at["status"] == "fail"
    assert at["waiver_sha256"] is None
    assert at["waiver"] is None


def test_waiver_not_in_force_before_created(root: Path) -> None:
    write_waiver(root)
    created = datetime(2026, 11, 20, 9, 0, tzinfo=PLUS_TWO)

    before = results(run(root, created - timedelta(microseconds=1)))["CAP-02"]

    assert before["status"] == "fail"
    assert ledger_bodies(root, "waiver") == []


def test_waiver_never_masks_pass(root: Path) -> None:
    write_waiver(root, WAIVER.replace("control: CAP-02", "control: CAP-01"), "cap-01.yaml")

    body = results(run(root))["CAP-01"]

    assert body["status"] == "pass"
    assert body["waiver_sha256"] is None
    assert body["waiver"] is None
    assert not any("waived" in reason for reason in body["reasons"])


def test_waiver_scope_mismatch_not_applied(root: Path) -> None:
    write_waiver(root, WAIVER.replace("scope: production", "scope: staging"))

    production = results(run(root))["CAP-02"]
    staging = results(run(root, scope="staging"))["CAP-02"]

    assert production["status"] == "fail"
    assert staging["status"] == "waived"


def test_waiver_on_manual_control(root: Path) -> None:
    write_waiver(root, WAIVER.replace("control: CAP-02", "control: POL-09"), "pol-09.yaml")

    body = results(run(root))["POL-09"]

    assert body["status"] == "waived"
    assert body["waiver"]["real_status"] == "manual"


def test_waiver_recorded_once_while_unchanged(root: Path) -> None:
    write_waiver(root)
    sha256 = load_workspace(root).waivers[0].sha256

    first = run(root)
    run(root)
    run(root, NOW + timedelta(hours=1))

    recorded = ledger_bodies(root, "waiver")
    assert len(recorded) == 1
    assert recorded[0]["sha256"] == sha256
    assert recorded[0]["file"] == "waivers/cap-02.yaml"
    assert recorded[0]["waiver"]["control"] == "CAP-02"
    kinds = [record.header_fields()["kind"] for record in first.records]
    assert "waiver" in kinds


def test_waiver_record_precedes_its_result(root: Path) -> None:
    write_waiver(root)

    outcome = run(root)

    kinds = [(record.header_fields()["kind"], (record.body_fields() or {}).get("control"))
             for record in outcome.records]
    waiver_at = kinds.index(("waiver", None))
    result_at = kinds.index(("result", "CAP-02"))
    assert waiver_at < result_at


def test_edited_waiver_recorded_again(root: Path) -> None:
    write_waiver(root)
    first = results(run(root))["CAP-02"]
    write_waiver(root, WAIVER.replace("expires: 2026-12-10T18:00:00+02:00",
                                      "expires: 2026-12-12T18:00:00+02:00"))

    second = results(run(root))["CAP-02"]

    recorded = ledger_bodies(root, "waiver")
    assert len(recorded) == 2
    assert [body["sha256"] for body in recorded] == [first["waiver_sha256"], second["waiver_sha256"]]
    assert first["waiver_sha256"] != second["waiver_sha256"]
    assert recorded[0]["waiver"]["expires"] == "2026-12-10T16:00:00.000000Z"


def test_waiver_of_incomplete_run_recorded_again(root: Path) -> None:
    write_waiver(root)
    loaded = load_workspace(root).waivers[0]
    ledger = Ledger(f"sqlite:///{root / 'evidence' / 'ledger.db'}")
    try:
        ledger.append(run=uuid.uuid4().hex, scope="production", time=format_instant(NOW),
                      entries=[NewRecord("waiver", loaded.record_body())])
    finally:
        ledger.close()

    run(root)

    assert len(ledger_bodies(root, "waiver")) == 2


def test_waiver_expiry_warning_in_outcome(root: Path) -> None:
    write_waiver(root)

    # Runs are recorded in time order, so the earlier one goes first.
    early = run(root, datetime(2026, 11, 21, tzinfo=UTC))
    soon = run(root)

    assert soon.warnings == [
        "waiver waivers/cap-02.yaml for CAP-02 expires in 5 days (at 2026-12-10T16:00:00.000000Z)"
    ]
    assert early.warnings == []


def test_waiver_warning_reported_as_progress(root: Path) -> None:
    write_waiver(root)
    messages: list[str] = []

    run_command(root, NOW, None, None, None, lambda message, _done, _total: messages.append(message),
                pack=False)

    assert (
        "warning: waiver waivers/cap-02.yaml for CAP-02 expires in 5 days "
        "(at 2026-12-10T16:00:00.000000Z)"
    ) in messages


# Remediation in result records


def test_remediation_recorded_when_not_met(root: Path) -> None:
    bodies = results(run(root))

    assert bodies["CAP-02"]["status"] == "fail"
    assert bodies["CAP-02"]["remediation"] == LT02_REMEDIATION
    assert bodies["CAP-01"]["remediation"] is None


def test_remediation_not_recorded_when_waived(root: Path) -> None:
    write_waiver(root)

    body = results(run(root))["CAP-02"]

    assert body["remediation"] is None


# Loading manual controls and people


def test_manual_control_loads(root: Path) -> None:
    loaded = next(c for c in load_workspace(root).controls if c.control.id == "POL-09")

    assert loaded.control.manual is not None
    assert loaded.control.manual.attestation_every_seconds == 90 * 86400
    assert loaded.control.manual.role == "security-lead"
    assert loaded.definition()["manual"] == {"attestation_every": "90d", "role": "security-lead"}


def test_control_without_manual_keeps_its_definition(root: Path) -> None:
    loaded = next(c for c in load_workspace(root).controls if c.control.id == "CAP-01")

    assert "manual" not in loaded.definition()


def test_manual_control_with_evidence_rejected(root: Path) -> None:
    text = MANUAL_CONTROL + (
        "evidence:\n"
        "  - id: k6\n"
        "    collector: k6.summary\n"
        "    with: {path: inputs/k6-summary.json}\n"
    )
    (root / "controls" / "pol-09-access-review.yaml").write_text(text, encoding="utf-8")

    problems = load_problems(root)

    assert problems == [
        f"controls/pol-09-access-review.yaml:{position(text, 'evidence:')}: evidence: a manual "
        "control takes no evidence; remove the evidence or the manual block"
    ]


def test_manual_control_with_assertions_rejected(root: Path) -> None:
    text = MANUAL_CONTROL + "assert:\n  - name: always\n    expr: 'true'\n"
    (root / "controls" / "pol-09-access-review.yaml").write_text(text, encoding="utf-8")

    problems = load_problems(root)

    assert problems == [
        f"controls/pol-09-access-review.yaml:{position(text, 'assert:')}: assert: a manual "
        "control takes no assertions; remove the assertions or the manual block"
    ]


def test_manual_control_with_empty_evidence_loads(root: Path) -> None:
    (root / "controls" / "pol-09-access-review.yaml").write_text(
        MANUAL_CONTROL + "evidence: []\n", encoding="utf-8"
    )

    workspace = load_workspace(root)

    assert "POL-09" in [c.control.id for c in workspace.controls]


def test_manual_control_invalid_duration_rejected(root: Path) -> None:
    text = MANUAL_CONTROL.replace("attestation_every: 90d", "attestation_every: quarterly")
    (root / "controls" / "pol-09-access-review.yaml").write_text(text, encoding="utf-8")

    problems = load_problems(root)

    assert len(problems) == 1
    assert problems[0].startswith(
        f"controls/pol-09-access-review.yaml:{position(text, 'quarterly')}: "
        "manual.attestation_every: invalid duration 'quarterly'"
    )


def test_manual_and_not_applicable_rejected(root: Path) -> None:
    text = MANUAL_CONTROL + "not_applicable: no users\n"
    (root / "controls" / "pol-09-access-review.yaml").write_text(text, encoding="utf-8")

    problems = load_problems(root)

    assert problems == [
        f"controls/pol-09-access-review.yaml:{position(text, 'not_applicable')}: not_applicable: "
        "a control cannot be both manual and not applicable; remove one of them"
    ]


def test_people_keys_loaded(root: Path) -> None:
    workspace = load_workspace(root)
    public = (root / "people" / "alice" / "signing-key.pub.pem").read_bytes()

    alice = workspace.people["alice"]

    assert alice.roles == ("security-lead",)
    assert alice.key_id == keys.fingerprint(keys.load_public_key(public, "alice"))


def test_person_unreadable_key_rejected(root: Path) -> None:
    (root / "people" / "alice" / "signing-key.pub.pem").unlink()
    text = (root / "assay.yaml").read_text(encoding="utf-8")

    problems = load_problems(root)

    where = position(text, "people/alice/signing-key.pub.pem")
    assert problems == [
        f"assay.yaml:{where}: people.alice.public_key: cannot read public key "
        "people/alice/signing-key.pub.pem: No such file or directory"
    ]


def test_person_non_ed25519_key_rejected(root: Path) -> None:
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key()
    (root / "people" / "alice" / "signing-key.pub.pem").write_bytes(ecdsa.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ))
    text = (root / "assay.yaml").read_text(encoding="utf-8")

    problems = load_problems(root)

    where = position(text, "people/alice/signing-key.pub.pem")
    assert problems == [
        f"assay.yaml:{where}: people.alice.public_key: people/alice/signing-key.pub.pem: "
        "expected an Ed25519 public key; give the PEM public key of an Ed25519 key pair"
    ]


def test_person_private_key_file_rejected(root: Path) -> None:
    config = root / "assay.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "people/alice/signing-key.pub.pem", "people/alice/alice.pem"
        ),
        encoding="utf-8",
    )

    problems = load_problems(root)

    assert len(problems) == 1
    assert "people.alice.public_key: people/alice/alice.pem: not a PEM public key" in problems[0]


def test_person_unknown_field_rejected(root: Path) -> None:
    config = root / "assay.yaml"
    # Only the uncommented people entry, not the commented example above it.
    text = config.read_text(encoding="utf-8").replace(
        "\n    roles: [security-lead]", "\n    role: security-lead"
    )
    config.write_text(text, encoding="utf-8")

    problems = load_problems(root)

    assert problems == [
        f"assay.yaml:{position(text, 'role: ')}: people.alice.role: unknown field"
    ]


def test_every_result_record_has_new_fields(root: Path) -> None:
    write_waiver(root)
    attest(root)

    bodies = results(run(root))

    assert sorted(bodies) == ["BAK-01", "CAP-01", "CAP-02", "POL-09"]
    for body in bodies.values():
        assert {"waiver", "waiver_sha256", "attestation", "remediation"} <= set(body)
