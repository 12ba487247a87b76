"""Secrets in a control's collector parameters never reach the ledger."""

import sys
from pathlib import Path

from assay.commands import run_command
from assay.evidence.ledger import Ledger
from assay.timeutil import parse_now
from support.workspace import small_workspace

SECRET = "s3cr3t-token-value"


def test_command_token_redacted_in_control_and_evidence_records(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    (workspace / "controls" / "cm-01.yaml").write_text(
        "id: CM-01\ntitle: Health probe answers\ncriteria: [A1.1]\n"
        "evidence:\n  - id: probe\n    collector: command\n    with:\n"
        f"      argv: [{sys.executable}, -c, 'print(1)', --token={SECRET}]\n"
        "assert:\n  - name: exits 0\n    expr: probe.exit_code == 0\n",
        encoding="utf-8",
    )
    outcome, _pack = run_command(workspace, parse_now("2026-12-04T21:15:00Z"), None, None, None, pack=False)
    statuses = {result.control_id: result.status.value for result in outcome.results}
    assert statuses["CM-01"] == "pass"
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        bodies = b"".join(record.body or b"" for record in ledger.records())
    finally:
        ledger.close()
    assert SECRET.encode() not in bodies
    assert b"--token=***" in bodies


def test_allow_command_false_makes_control_error(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    config = workspace / "assay.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "allow_command: false\n", encoding="utf-8")
    (workspace / "controls" / "cm-01.yaml").write_text(
        "id: CM-01\ntitle: Health probe answers\ncriteria: [A1.1]\n"
        "evidence:\n  - id: probe\n    collector: command\n    with:\n"
        f"      argv: [{sys.executable}, -c, 'print(1)']\n"
        "assert:\n  - name: exits 0\n    expr: probe.exit_code == 0\n",
        encoding="utf-8",
    )
    outcome, _pack = run_command(workspace, parse_now("2026-12-04T21:15:00Z"), None, None, None, pack=False)
    result = next(r for r in outcome.results if r.control_id == "CM-01")
    assert result.status.value == "error"
    assert "allow_command: false" in result.reasons[0]
