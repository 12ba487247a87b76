"""`assay attest` end to end with CliRunner, and what `assay run` then shows."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.engine.attestations import ATTESTATION_DOMAIN
from assay.evidence.ledger import Ledger
from assay.evidence.records import canonical
from support.workspace import NOW, small_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})

ATTESTED = "2026-12-03T20:15:00Z"
MANUAL_CONTROL = """\
id: POL-09
title: User access is reviewed every quarter
criteria: [CC6.2]
manual:
  attestation_every: 90d
  role: security-lead
"""
PEOPLE = """\
people:
  alice:
    public_key: people/alice/signing-key.pub.pem
    roles: [security-lead]
  bob:
    public_key: people/bob/signing-key.pub.pem
    roles: [engineer]
"""


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = small_workspace(tmp_path / "ws")
    (root / "controls" / "pol-09-access-review.yaml").write_text(MANUAL_CONTROL, encoding="utf-8")
    for name in ("alice", "bob", "mallory"):
        keys.generate(root / "people" / name, private_name=f"{name}.pem")
    config = root / "assay.yaml"
    config.write_text(config.read_text(encoding="utf-8") + PEOPLE, encoding="utf-8")
    return root


def key_of(workspace: Path, name: str) -> str:
    return str(workspace / "people" / name / f"{name}.pem")


def attest(workspace: Path, *extra: str, by: str = "alice", key: str | None = None) -> Result:
    return invoke(
        "attest", "POL-09", str(workspace), "--by", by, "--note", "reviewed 41 accounts, removed 3",
        "--key", key or key_of(workspace, by), "--now", ATTESTED, *extra,
    )


def ledger_kinds(workspace: Path) -> list[str]:
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        return [record.header_fields()["kind"] for record in ledger.records()]
    finally:
        ledger.close()


def status_row(output: str, control: str) -> list[str]:
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == control:
            return cells
    raise AssertionError(f"no row for {control} in:\n{output}")


# Recording


def test_attest_records_signed_attestation(workspace: Path) -> None:
    result = attest(workspace)

    assert result.exit_code == 0, result.output
    path = workspace / "attestations" / "POL-09-20261203T201500Z.json"
    assert result.stdout.splitlines() == [
        "attested POL-09 by alice until 2027-03-03T20:15:00.000000Z",
        f"written to {path}",
        f"ledger record seq 1, signed with key {json.loads(path.read_text())['document']['key_id']}",
        "the next `assay run` judges the control with this attestation",
    ]


def test_attest_file_holds_document_and_signature(workspace: Path) -> None:
    attest(workspace)
    alice = keys.load_signing_key_file(Path(key_of(workspace, "alice")))

    saved = json.loads((workspace / "attestations" / "POL-09-20261203T201500Z.json").read_text())

    assert sorted(saved) == ["document", "signature"]
    assert saved["document"] == {
        "control": "POL-09", "by": "alice", "note": "reviewed 41 accounts, removed 3",
        "attested_at": "2026-12-03T20:15:00.000000Z", "expires_at": "2027-03-03T20:15:00.000000Z",
        "key_id": alice.key_id,
    }
    message = ATTESTATION_DOMAIN + canonical(saved["document"])
    assert keys.signature_valid(alice.public, base64.b64decode(saved["signature"]), message)


def test_attest_appends_record_and_checkpoint(workspace: Path) -> None:
    attest(workspace)

    assert ledger_kinds(workspace) == ["attestation", "checkpoint"]
    verified = invoke("ledger", "verify", str(workspace))
    assert verified.exit_code == 0, verified.output
    assert "runs: 1 complete, 0 incomplete (ignored)" in verified.output


def test_attest_ledger_record_matches_file(workspace: Path) -> None:
    attest(workspace)
    saved = json.loads((workspace / "attestations" / "POL-09-20261203T201500Z.json").read_text())
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        body = ledger.records_of_kind("attestation")[0].body_fields()
    finally:
        ledger.close()

    assert body == {**saved, "file": "attestations/POL-09-20261203T201500Z.json"}


def test_attest_then_run_passes(workspace: Path) -> None:
    attest(workspace)

    result = invoke("run", str(workspace), "--now", NOW, "--no-pack")

    assert result.exit_code == 0, result.output
    row = status_row(result.stdout, "POL-09")
    assert row[3] == "pass"
    assert row[4].startswith("attested by alice")


def test_run_without_attestation_is_manual(workspace: Path) -> None:
    result = invoke("run", str(workspace), "--now", NOW, "--no-pack")

    assert result.exit_code == 0, result.output
    assert status_row(result.stdout, "POL-09")[3] == "manual"
    assert "[3/3] checking attestations of POL-09" in result.stderr


def test_attest_file_stored_and_packed(workspace: Path) -> None:
    minutes = workspace / "reviews" / "q4-access-review.txt"
    minutes.parent.mkdir()
    minutes.write_text("41 accounts reviewed; 3 removed\n", encoding="utf-8")

    result = attest(workspace, "--file", str(minutes))

    assert result.exit_code == 0, result.output
    saved = json.loads((workspace / "attestations" / "POL-09-20261203T201500Z.json").read_text())
    digest = saved["document"]["file"]["sha256"]
    assert saved["document"]["file"]["path"] == "reviews/q4-access-review.txt"
    assert (workspace / "evidence" / "blobs" / digest[:2] / digest).read_bytes() == minutes.read_bytes()
    assert f"attached reviews/q4-access-review.txt (sha256 {digest})" in result.stdout

    ran = invoke("run", str(workspace), "--now", NOW)
    assert ran.exit_code == 0, ran.output
    pack = Path((workspace / "reports" / "LATEST").read_text().strip())
    assert (pack / "evidence" / "sha256" / digest).read_bytes() == minutes.read_bytes()
    verified = invoke("verify", str(pack), "--key", str(workspace / ".assay" / "signing-key.pub.pem"))
    assert verified.exit_code == 0, verified.output


def test_attest_expires_duration(workspace: Path) -> None:
    result = attest(workspace, "--expires", "30d")

    assert result.exit_code == 0, result.output
    assert "until 2027-01-02T20:15:00.000000Z" in result.stdout


def test_attest_expires_instant_with_offset(workspace: Path) -> None:
    result = attest(workspace, "--expires", "2027-01-31T18:00:00+02:00")

    assert result.exit_code == 0, result.output
    assert "until 2027-01-31T16:00:00.000000Z" in result.stdout


def test_attest_first_key_becomes_trusted(workspace: Path) -> None:
    attest(workspace)

    trusted = list((workspace / "keys" / "trusted").glob("*.pem"))

    assert len(trusted) == 1


# Rejections: nothing is written or recorded


def assert_nothing_recorded(workspace: Path) -> None:
    assert not (workspace / "attestations").exists() or not any((workspace / "attestations").iterdir())
    assert not (workspace / "evidence" / "ledger.db").exists() or ledger_kinds(workspace) == []


def test_attest_unknown_control(workspace: Path) -> None:
    result = invoke("attest", "POL-90", str(workspace), "--by", "alice", "--note", "n",
                    "--key", key_of(workspace, "alice"), "--now", ATTESTED)

    assert result.exit_code == 2
    assert "error: unknown control 'POL-90' (did you mean 'POL-09'?)" in result.output
    assert_nothing_recorded(workspace)


def test_attest_control_not_manual(workspace: Path) -> None:
    result = invoke("attest", "CAP-01", str(workspace), "--by", "alice", "--note", "n",
                    "--key", key_of(workspace, "alice"), "--now", ATTESTED)

    assert result.exit_code == 2
    assert "error: CAP-01 is not a manual control" in result.output
    assert_nothing_recorded(workspace)


def test_attest_person_not_listed(workspace: Path) -> None:
    result = attest(workspace, by="mallory")

    assert result.exit_code == 2
    assert "error: --by: 'mallory' is not listed under people in assay.yaml" in result.output
    assert_nothing_recorded(workspace)


def test_attest_person_without_role(workspace: Path) -> None:
    result = attest(workspace, by="bob")

    assert result.exit_code == 2
    assert "error: --by: bob does not hold role 'security-lead', which POL-09 requires" in result.output
    assert_nothing_recorded(workspace)


def test_attest_wrong_key(workspace: Path) -> None:
    mallory = keys.load_signing_key_file(Path(key_of(workspace, "mallory")))

    result = attest(workspace, key=key_of(workspace, "mallory"))

    assert result.exit_code == 2
    assert f"key {mallory.key_id} is not the key of alice in assay.yaml" in result.output
    assert_nothing_recorded(workspace)


def test_attest_key_readable_by_others(workspace: Path) -> None:
    os.chmod(key_of(workspace, "alice"), 0o644)

    result = attest(workspace)

    assert result.exit_code == 2
    assert "private key is readable by group or others" in result.output
    assert_nothing_recorded(workspace)


def test_attest_expiry_beyond_attestation_every(workspace: Path) -> None:
    result = attest(workspace, "--expires", "91d")

    assert result.exit_code == 2
    assert "is later than attestation_every (90d) after now" in result.output
    assert_nothing_recorded(workspace)


def test_attest_expiry_in_past(workspace: Path) -> None:
    result = attest(workspace, "--expires", "2026-12-01T00:00:00Z")

    assert result.exit_code == 2
    assert "--expires: 2026-12-01T00:00:00.000000Z is not after now" in result.output
    assert_nothing_recorded(workspace)


def test_attest_invalid_expiry(workspace: Path) -> None:
    result = attest(workspace, "--expires", "next year")

    assert result.exit_code == 2
    assert "--expires: 'next year' is neither a duration (90d) nor an instant" in result.output


def test_attest_missing_file(workspace: Path) -> None:
    result = attest(workspace, "--file", str(workspace / "absent.pdf"))

    assert result.exit_code == 2
    assert "--file:" in result.output
    assert "absent.pdf is not a file" in result.output
    assert_nothing_recorded(workspace)


def test_attest_empty_note(workspace: Path) -> None:
    result = invoke("attest", "POL-09", str(workspace), "--by", "alice", "--note", "  ",
                    "--key", key_of(workspace, "alice"), "--now", ATTESTED)

    assert result.exit_code == 2
    assert "--note:" in result.output
    assert_nothing_recorded(workspace)


def test_attest_same_second_twice(workspace: Path) -> None:
    assert attest(workspace).exit_code == 0

    again = attest(workspace)

    assert again.exit_code == 2
    assert "already exists" in again.output
    assert ledger_kinds(workspace) == ["attestation", "checkpoint"]


# Waiver warnings in `assay run`


def test_run_prints_waiver_expiry_warning(workspace: Path) -> None:
    (workspace / "waivers").mkdir()
    (workspace / "waivers" / "cap-01.yaml").write_text(
        "control: CAP-01\n"
        "scope: production\n"
        "justification: the load test environment is being rebuilt\n"
        "owner: platform-team\n"
        "approver: security-lead\n"
        "created: 2026-11-01\n"
        "expires: 2026-12-10T12:00:00+02:00\n"
        "remediation: rerun the load test on the new environment\n",
        encoding="utf-8",
    )

    result = invoke("run", str(workspace), "--now", NOW, "--no-pack")

    assert result.exit_code == 0, result.output
    assert (
        "warning: waiver waivers/cap-01.yaml for CAP-01 expires in 5 days "
        "(at 2026-12-10T10:00:00.000000Z)"
    ) in result.stderr
