"""`assay verify --reevaluate`: results judged again from the pack's records alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.engine import run as run_module
from assay.engine.evaluate import ControlResult
from assay.engine.status import Status
from assay.reports.pack import MANIFEST, SIGNATURE_FILES, SUMS, record_line, seal_pack
from assay.evidence.records import StoredRecord, canonical
from support.signed_workspace import NOW, signed_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


def run_pack(workspace: Path, now: str = NOW) -> Path:
    result = runner.invoke(app, ["run", str(workspace), "--now", now])
    assert result.exit_code == 0, result.output
    return Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())


def verify(workspace: Path, pack: Path, *options: str) -> Result:
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    return runner.invoke(app, ["verify", str(pack), "--key", str(public_key), *options])


def pack_records(pack: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (pack / "records.jsonl").read_bytes().splitlines()]


def run_results(pack: Path) -> list[dict[str, Any]]:
    run = json.loads((pack / MANIFEST).read_bytes())["run"]
    return [
        item["body"] for item in pack_records(pack)
        if item["header"]["run"] == run and item["header"]["kind"] == "result"
    ]


def reseal(pack: Path, workspace: Path) -> None:
    """Sign the pack again as it now is, with the workspace's own key, as its holder could."""
    manifest = json.loads((pack / MANIFEST).read_bytes())
    for name in (*SIGNATURE_FILES, MANIFEST, SUMS):
        (pack / name).unlink()
    metadata = {
        key: value for key, value in manifest.items()
        if key not in ("format", "format_version", "key_id", "files")
    }
    seal_pack(pack, keys.load_signing_key(workspace / ".assay" / "signing-key.pem"), metadata)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    return signed_workspace(tmp_path / "ws")


# TST-04 of the workspace is a manual control, which is never re-evaluated.
MANUAL_SKIP = (
    "skipped: re-evaluation of TST-04: manual control: its attestations are checked against the "
    "public keys of the workspace's people, which the pack does not contain"
)


def expected_line(results: list[dict[str, Any]], skipped: int = 1) -> str:
    assertions = sum(len(body["assertions"]) for body in results)
    return (
        f"ok: re-evaluated {len(results) - skipped} controls ({assertions} assertions) of 1 run "
        f"from the pack's records: every status and assertion outcome matches; {skipped} controls "
        "not re-evaluable"
    )


def test_honest_pack_reevaluates_clean(workspace: Path) -> None:
    pack = run_pack(workspace)

    result = verify(workspace, pack, "--reevaluate")

    assert result.exit_code == 0, result.output
    assert expected_line(run_results(pack)) in result.stdout.splitlines()
    assert [line for line in result.stdout.splitlines() if line.startswith("skipped: re-evaluation")] == [
        MANUAL_SKIP
    ]


def test_second_run_reevaluates_with_earlier_definitions(workspace: Path) -> None:
    run_pack(workspace)
    pack = run_pack(workspace, "2026-12-04T21:45:00Z")
    run = json.loads((pack / MANIFEST).read_bytes())["run"]
    # The definitions did not change, so the second run writes no control record.
    kinds = {item["header"]["kind"] for item in pack_records(pack) if item["header"]["run"] == run}

    result = verify(workspace, pack, "--reevaluate")

    assert "control" not in kinds
    assert result.exit_code == 0, result.output
    assert expected_line(run_results(pack)) in result.stdout.splitlines()


def test_stale_evidence_judged_at_run_time(workspace: Path) -> None:
    # Half a year after the inputs' dates the evidence of a control with
    # max_age is stale at the run's now. Judged at the current clock instead,
    # the recomputed staleness message (its age in hours) would differ.
    pack = run_pack(workspace, "2027-06-01T00:00:00Z")
    stale = [
        item["body"]["stale"] for item in pack_records(pack)
        if item["header"]["kind"] == "evidence" and item["body"] and item["body"]["stale"]
    ]

    result = verify(workspace, pack, "--reevaluate")

    assert len(stale) == 1
    assert result.exit_code == 0, result.output
    assert expected_line(run_results(pack)) in result.stdout.splitlines()


def test_without_flag_no_reevaluation(workspace: Path) -> None:
    pack = run_pack(workspace)

    result = verify(workspace, pack)

    assert result.exit_code == 0, result.output
    assert "re-evaluated" not in result.stdout


def flip(outcome: str) -> str:
    return "fail" if outcome == "pass" else "pass"


def forge_first_result(monkeypatch: pytest.MonkeyPatch, *, assertion: bool) -> dict[str, str]:
    """Make `assay run` record a result that contradicts its evidence; return what was forged.

    The run still writes every record through the ledger, so the chain, the
    checkpoint signature and every pack signature stay valid.
    """
    original = run_module.judge_control
    forged: dict[str, str] = {}

    def judge_and_forge(*args: Any, **kwargs: Any) -> ControlResult:
        result = original(*args, **kwargs)
        if forged or not result.assertions:
            return result
        forged["control"] = result.control_id
        forged["status"] = result.status.value
        if assertion:
            first = result.assertions[0]
            forged["assertion"] = first.name
            forged["outcome"] = first.outcome
            first.outcome = flip(first.outcome)
        result.status = Status.FAIL if result.status is Status.PASS else Status.PASS
        return result

    monkeypatch.setattr(run_module, "judge_control", judge_and_forge)
    return forged


def test_forged_assertion_outcome_exits_4(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forged = forge_first_result(monkeypatch, assertion=True)
    pack = run_pack(workspace)
    monkeypatch.undo()
    seq = next(
        item["header"]["seq"] for item in pack_records(pack)
        if item["header"]["kind"] == "result" and item["body"]["control"] == forged["control"]
    )

    plain = verify(workspace, pack)
    result = verify(workspace, pack, "--reevaluate")

    assert plain.exit_code == 0, plain.output
    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: records.jsonl: record seq {seq}: control {forged['control']}: assertion "
        f"{forged['assertion']!r}: recorded {flip(forged['outcome'])}, recomputed "
        f"{forged['outcome']}; the recorded result does not follow from the recorded evidence\n"
    )


def test_forged_status_exits_4(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forged = forge_first_result(monkeypatch, assertion=False)
    pack = run_pack(workspace)
    monkeypatch.undo()
    recorded = next(body["status"] for body in run_results(pack) if body["control"] == forged["control"])

    result = verify(workspace, pack, "--reevaluate")

    assert recorded != forged["status"]
    assert result.exit_code == 4, result.output
    assert f"control {forged['control']}: recorded status {recorded}, recomputed {forged['status']};" in result.stderr


def test_withheld_definitions_not_reevaluable(workspace: Path) -> None:
    run_pack(workspace)
    pack = run_pack(workspace, "2026-12-04T21:45:00Z")
    # Withhold the bodies of the control records (all from the first run),
    # then sign the pack again: every other check still passes.
    lines = []
    for item in pack_records(pack):
        body = None if item["header"]["kind"] == "control" else item["body"]
        record = StoredRecord(
            seq=item["header"]["seq"], header=canonical(item["header"]),
            body=None if body is None else canonical(body), hash=item["hash"],
        )
        lines.append(record_line(record, with_body=body is not None))
    (pack / "records.jsonl").write_bytes(b"".join(lines))
    reseal(pack, workspace)
    results = run_results(pack)

    result = verify(workspace, pack, "--reevaluate")

    assert result.exit_code == 0, result.output
    assert (
        f"ok: re-evaluated 0 controls (0 assertions) of 1 run from the pack's records: every status "
        f"and assertion outcome matches; {len(results)} controls not re-evaluable"
    ) in result.stdout.splitlines()
    for body in results:
        line = (
            f"skipped: re-evaluation of {body['control']}: the body of its control record "
            f"({body['control_sha256'][:16]}...) is withheld"
        )
        assert line in result.stdout.splitlines()


def test_zipped_pack_reevaluates(workspace: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from assay.reports.period_pack import zip_pack

    pack = run_pack(workspace)
    copy = tmp_path / "copy" / pack.name
    shutil.copytree(pack, copy)
    archive = zip_pack(copy, datetime(2026, 12, 5, tzinfo=UTC))

    result = verify(workspace, archive, "--reevaluate")

    assert result.exit_code == 0, result.output
    assert expected_line(run_results(pack)) in result.stdout.splitlines()


WAIVER = """\
control: TST-02
scope: production
justification: An administrator is being replaced this week.
owner: platform-team
approver: security-lead
created: "2026-12-01T00:00:00Z"
expires: "2027-01-31T00:00:00Z"
remediation: Remove the extra administrator.
"""


def waive_failing_control(workspace: Path) -> None:
    """Make TST-02 fail (no administrator allowed) and waive it."""
    config = (workspace / "assay.yaml").read_text(encoding="utf-8")
    (workspace / "assay.yaml").write_text(config.replace("max_admins: 2", "max_admins: 0"), encoding="utf-8")
    (workspace / "waivers").mkdir()
    (workspace / "waivers" / "tst-02.yaml").write_text(WAIVER, encoding="utf-8")


def test_waived_result_reevaluates_clean(workspace: Path) -> None:
    waive_failing_control(workspace)
    pack = run_pack(workspace)
    waived = next(body for body in run_results(pack) if body["control"] == "TST-02")

    result = verify(workspace, pack, "--reevaluate")

    assert waived["status"] == "waived"
    assert waived["waiver"]["real_status"] == "fail"
    assert result.exit_code == 0, result.output
    assert expected_line(run_results(pack)) in result.stdout.splitlines()


def test_forged_real_status_of_waiver_exits_4(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waive_failing_control(workspace)
    original = run_module._result_body

    def forge_real_status(result: ControlResult, *args: Any) -> dict[str, Any]:
        body = original(result, *args)
        if body["waiver"] is not None:
            body["waiver"]["real_status"] = "error"
        return body

    monkeypatch.setattr(run_module, "_result_body", forge_real_status)
    pack = run_pack(workspace)
    monkeypatch.undo()

    result = verify(workspace, pack, "--reevaluate")

    assert result.exit_code == 4, result.output
    assert "control TST-02: recorded status without the waiver error, recomputed fail;" in result.stderr


def test_malformed_evidence_record_exits_4(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = run_module._evidence_body

    def break_observed_at(*args: Any) -> dict[str, Any]:
        body = original(*args)
        if body["observed_at"] is not None:
            body["observed_at"] = "yesterday"
        return body

    monkeypatch.setattr(run_module, "_evidence_body", break_observed_at)
    pack = run_pack(workspace)
    monkeypatch.undo()

    result = verify(workspace, pack, "--reevaluate")

    assert result.exit_code == 4, result.output
    assert "control TST-01: a record it was judged from is malformed, so it cannot be re-evaluated" in result.stderr
